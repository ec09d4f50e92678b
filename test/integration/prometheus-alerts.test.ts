// docs/prometheus-alerts.yml, the alerting rules shipped for operators: a rule file Prometheus
// can load (groups of rules, each an alert with an expression, a severity and a summary), whose
// every expression names only metrics a daemon exports. The daemon here serves TLS and uses KES
// (the fixture, over real mTLS), so that the metrics that exist only then are there too; a
// misspelt or renamed metric fails this test instead of leaving an alert that never fires.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { startDaemonFor } from '../helpers/daemon.js';
import { kesEnv, kesServer, scrape } from '../helpers/kes.js';
import { projectPath } from '../helpers/root.js';

interface Rule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: { severity?: unknown };
  annotations?: { summary?: unknown; description?: unknown };
}

const doc = parse(readFileSync(projectPath('docs/prometheus-alerts.yml'), 'utf8')) as { groups?: Array<{ name?: unknown; rules?: Rule[] }> };
const rules = (doc.groups ?? []).flatMap((g) => g.rules ?? []);

t.test('the rule file has the shape Prometheus loads', async (t) => {
  t.equal(doc.groups?.length, 1, 'one group');
  t.equal(doc.groups?.[0]?.name, 's3d');
  t.ok(rules.length >= 10, `${rules.length} rules`);
  const names = new Set<string>();
  for (const r of rules) {
    t.match(r.alert, /^S3d[A-Za-z]+$/, `alert name ${String(r.alert)}`);
    t.notOk(names.has(String(r.alert)), 'named once');
    names.add(String(r.alert));
    t.type(r.expr, 'string', `${String(r.alert)}: an expression`);
    t.ok(['warning', 'critical'].includes(String(r.labels?.severity)), `${String(r.alert)}: severity warning or critical`);
    t.type(r.annotations?.summary, 'string', `${String(r.alert)}: a summary`);
    if (r.for !== undefined) t.match(r.for, /^\d+[smh]$/, `${String(r.alert)}: a duration in for:`);
    // Balanced brackets and quotes: the cheap half of a syntax check without promtool.
    const e = String(r.expr);
    for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}']] as const) t.equal(e.split(open).length, e.split(close).length, `${String(r.alert)}: ${open}${close} balanced`);
    t.equal((e.match(/"/g) ?? []).length % 2, 0, `${String(r.alert)}: quotes balanced`);
  }
});

t.test('every metric the rules name is exported by a daemon with TLS and KES', async (t) => {
  const kes = await kesServer(t);
  const d = await startDaemonFor(t, { tls: true, env: kesEnv([kes]) });
  const text = await scrape(d.endpoint, d.caCert);
  const families = new Set([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap((m) => (m[2] === 'histogram' || m[2] === 'summary' ? [m[1]!, `${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!])));
  t.ok(families.size > 50, `${families.size} metric names exported`);
  const named = new Set(rules.flatMap((r) => [...String(r.expr).matchAll(/\bs3d_[a-z0-9_]+/g)].map((m) => m[0])));
  t.ok(named.size >= 12, `${named.size} metrics named by the rules`);
  for (const m of [...named].sort()) t.ok(families.has(m), `${m} is exported`);
});
