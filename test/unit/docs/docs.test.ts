// The documentation against the code. Operators configure s3d from README.md, docs/*.md and
// systemd/s3d.env alone: a variable the daemon reads that no table lists cannot be found, and a
// variable, file or metric the docs name that does not exist (misspelt, renamed, removed) sends
// them after nothing; a metric metrics.ts registers that no metrics table lists cannot be
// alerted on. systemd/s3d.env is checked by test/unit/systemd/s3d-unit.test.ts and
// docs/prometheus-alerts.yml by test/integration/prometheus-alerts.test.ts.

import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { KNOWN_VARIABLES } from '../../../daemon/config.js';
import { WEBHOOK_VARIABLES } from '../../../daemon/notify/targets.js';
import { ROOT } from '../../helpers/root.js';

/** The documents users configure and run s3d from (performance*.md are measurements and history). */
const DOCS = ['README.md', 'docs/architecture.md', 'docs/operations.md', 'docs/kms.md', 'docs/clients.md'];
const UNIT_FILES = readdirSync(join(ROOT, 'systemd')).map((f) => `systemd/${f}`);
const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');

/**
 * S3_* names the docs give that are no daemon variable, each with the file that shows it is real:
 * the build's switch, and the variable Bun's S3 client reads (docs/clients.md).
 */
// Named by the docs but not the daemon's: the build's (read by the script named), and other
// programs' own settings (null: S3_ENDPOINT of several tools; WAL-G's, in docs/clients.md).
const NOT_DAEMON_VARIABLES: Readonly<Record<string, string | null>> = {
  S3_NATIVE_BUILD: 'scripts/prepare-native.mjs',
  S3_ENDPOINT: null,
  S3_USE_LIST_OBJECTS_V1: null,
  S3_RANGE_BATCH_ENABLED: null,
  S3_SSE_C: null,
};

const DAEMON_VARIABLES = new Set([...KNOWN_VARIABLES, ...WEBHOOK_VARIABLES]);

/** A section of a Markdown document: from its heading to the next heading of that level or above. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = /^#+/.exec(heading)![0].length;
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

/** The variables a Markdown table names in its first column. */
function tableVariables(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1];
    if (first !== undefined) for (const m of first.matchAll(/\bS3_[A-Z0-9_]*[A-Z0-9]\b/g)) out.add(m[0]);
  }
  return out;
}

t.test('the README Configuration table lists every variable the daemon reads (the KES ones in docs/kms.md)', async (t) => {
  t.ok(DAEMON_VARIABLES.size >= 40, `${DAEMON_VARIABLES.size} variables`);
  const readme = tableVariables(section(read('README.md'), '## Configuration'));
  const kms = tableVariables(section(read('docs/kms.md'), '## Configuration'));
  for (const v of [...DAEMON_VARIABLES].sort()) {
    t.ok(readme.has(v) || (v.startsWith('S3_KMS_KES_') && kms.has(v)), `${v} is documented`);
  }
  for (const v of [...readme, ...kms].sort()) t.ok(DAEMON_VARIABLES.has(v), `${v} (documented) is read by the daemon`);
});

t.test('every S3_* name the docs and unit files give is one s3d reads', async (t) => {
  const webhookPrefixes = WEBHOOK_VARIABLES.map((v) => `${v}_`);
  let names = 0;
  for (const rel of [...DOCS, ...UNIT_FILES]) {
    for (const m of read(rel).matchAll(/\bS3_[A-Z0-9_]+/g)) {
      const name = m[0];
      names++;
      if (DAEMON_VARIABLES.has(name)) continue;
      if (webhookPrefixes.some((p) => name.startsWith(p))) continue; // S3_NOTIFY_WEBHOOK_ENDPOINT_<ID>
      if (name.endsWith('_')) {
        // A family (`S3_KMS_KES_*`, `S3_NOTIFY_WEBHOOK_…`): some variable must start so.
        t.ok([...DAEMON_VARIABLES].some((v) => v.startsWith(name)), `${rel}: ${name}… names variables s3d reads`);
        continue;
      }
      if (name in NOT_DAEMON_VARIABLES) {
        const where = NOT_DAEMON_VARIABLES[name];
        if (where !== null) t.match(read(where), name, `${rel}: ${name} is read by ${where}`);
        continue;
      }
      t.fail(`${rel}: ${name} is not a variable s3d reads`);
    }
  }
  t.ok(names > 100, `${names} names checked`);
});

t.test('no S3_* assignment the docs and unit files show carries a comment after its value', async (t) => {
  // systemd's EnvironmentFile= has comments on lines of their own only: `S3_X=v   # note` sets
  // S3_X to `v   # note` (systemd issue 12527), so a webhook token pasted with its note went
  // out as `Authorization: change-me   # sent as …`. A shell line (`export S3_X=v  # note`) is
  // fine, and `export` is what tells it apart: an env file has none.
  let lines = 0;
  for (const rel of [...DOCS, ...UNIT_FILES]) {
    for (const [i, line] of read(rel).split('\n').entries()) {
      const m = /^\s*(S3_[A-Z0-9_]+)=(.*)$/.exec(line);
      if (!m) continue;
      lines++;
      t.notMatch(m[2]!, /\s#/, `${rel}:${i + 1}: ${m[1]}'s value must not be followed by a comment (systemd keeps it in the value)`);
    }
  }
  t.ok(lines > 3, `${lines} assignments checked`);
});

t.test('every S3D_* name the docs give is read by the tests, the bench or the test scripts', async (t) => {
  const sources = [...files('test', /\.ts$/), ...files('bench', /\.ts$/), ...files('scripts', /\.mjs$/)].map((f) => readFileSync(f, 'utf8')).join('\n');
  for (const rel of [...DOCS, ...UNIT_FILES, 'docs/performance.md']) {
    for (const m of read(rel).matchAll(/\bS3D_[A-Z0-9_]*[A-Z0-9]\b/g)) t.ok(sources.includes(`process.env.${m[0]}`), `${rel}: ${m[0]} is read`);
  }
});

/** Every file under `dir` (relative to the project root) whose name matches. */
function files(dir: string, match: RegExp): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (match.test(p)) out.push(p);
    }
  };
  walk(join(ROOT, dir));
  return out;
}

const SOURCE_FILES = ['daemon', 'workers', 'test', 'scripts', 'native', 'bench'].flatMap((d) => files(d, /\.(ts|mjs|c|py)$/)).map((f) => f.slice(ROOT.length + 1));

t.test('every project path the docs and unit files cite exists', async (t) => {
  let cited = 0;
  for (const rel of [...DOCS, ...UNIT_FILES]) {
    // A path from the project root, or from the build (`dist/…`); not an installed one (`/opt/s3d/dist/…`).
    for (const m of read(rel).matchAll(/(?<![\w/.-])((?:dist\/)?(?:daemon|workers|test|scripts|native|bench|docs|systemd)\/[\w./-]*\w)(?![\w<*])/g)) {
      let path = m[1]!;
      if (path.startsWith('dist/')) {
        if (!path.endsWith('.js')) continue; // a build product (dist/native/*.node)
        path = path.slice('dist/'.length).replace(/\.js$/, '.ts');
      }
      cited++;
      t.ok(existsSync(join(ROOT, path)) || existsSync(join(ROOT, `${path}.ts`)), `${rel}: ${m[1]} exists`);
    }
  }
  t.ok(cited > 50, `${cited} paths checked`);
});

/**
 * What the repository holds at its root, each for a reason a newcomer finds in the docs: the
 * folders have a row of docs/architecture.md's module table (docs/ and .ci/ are described by the
 * README), the files are the project's own configuration. A file that is none of these (a
 * debugging script committed by mistake, as dbg-tmp.mjs once was) is shipped to every clone.
 */
const ROOT_FILES = new Set(['.gitignore', '.taprc', 'README.md', 'package.json', 'package-lock.json', 'tsconfig.json']);
const ROOT_FOLDERS_WITHOUT_ROW = new Set(['docs', '.ci']);

/** The root's entries a clone holds: git's tracked files when this is a checkout, else the folder's entries but those .gitignore names. */
function rootEntries(): string[] {
  if (existsSync(join(ROOT, '.git'))) {
    const out = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
    return [...new Set(out.split('\0').filter((f) => f !== '').map((f) => f.split('/')[0]!))];
  }
  const ignored = new Set(read('.gitignore').split('\n').map((l) => l.trim().replace(/\/$/, '')).filter((l) => l !== '' && !l.includes('/') && !l.includes('*')));
  return readdirSync(ROOT).filter((e) => !ignored.has(e) && e !== '.git');
}

t.test('every entry of the repository root is a documented folder or one of the project files', async (t) => {
  const modules = read('docs/architecture.md');
  const entries = rootEntries();
  for (const e of entries) {
    if (ROOT_FILES.has(e)) continue;
    const folder = existsSync(join(ROOT, e)) && statSync(join(ROOT, e)).isDirectory();
    t.ok(folder, `${e} at the root is a folder or one of ${[...ROOT_FILES].join(', ')}`);
    if (folder && !ROOT_FOLDERS_WITHOUT_ROW.has(e)) t.match(modules, new RegExp(`^\\| \`${e}(/[\\w./-]*)?\` \\|`, 'm'), `${e}/ has a row in docs/architecture.md's module table`);
  }
  for (const f of ROOT_FOLDERS_WITHOUT_ROW) t.match(read('README.md'), new RegExp(`(?<![\\w.])${f.replace('.', '\\.')}/`), `README.md names ${f}/`);
  t.ok(entries.includes('daemon') && entries.includes('package.json'), `${entries.length} root entries checked`);
});

/**
 * The directories the docs' commands make inside the clone, where they are run: `s3d server
 * ./data` (npm start) and `npm run kes:dev -- ./kes-dev`, whose root.key is the KES admin
 * identity's private key. One git does not ignore is a `git add -A` away from being committed.
 */
function clonePathsTheDocsWrite(): Set<string> {
  const out = new Set<string>();
  for (const rel of DOCS) {
    for (const m of read(rel).matchAll(/(?:\bserver|\bkes:dev --|\bbackup(?: \S+)?|--into) \.\/([\w.-]+)/g)) out.add(m[1]!);
  }
  return out;
}

t.test('the docs say what the `s3d` of their commands is, in the clone and installed', async (t) => {
  // Every guide writes `s3d verify DIR`, `s3d backup DIR DEST`, `s3d metrics-token`, but a clone
  // or an install puts no `s3d` on the PATH, and `npx s3d` outside the clone fetches whatever npm
  // package has that name: the README must say it is package.json's bin, run with node.
  const bin = (JSON.parse(read('package.json')) as { bin?: Record<string, string> }).bin?.s3d;
  t.equal(bin, 'dist/daemon/main.js', "package.json's bin s3d");
  const unit = read('systemd/s3d.service');
  const installed = `/opt/s3d/${bin}`;
  t.match(unit, new RegExp(`^ExecStart=/usr/bin/node ${installed.replace(/\./g, '\\.')} server `, 'm'), `the unit runs ${installed}`);
  const readme = read('README.md');
  const intro = readme.slice(0, readme.indexOf('\n## '));
  t.ok(intro.includes(`\`node ${bin} `), `the README's opening says s3d is \`node ${bin} …\` in the clone`);
  t.ok(intro.includes(`\`node ${installed} `), `and \`node ${installed} …\` installed`);
  // Install's own prose, up to its first sub-section (section() would stop at the `# comment` lines of its shell block).
  const ops = read('docs/operations.md');
  const install = ops.slice(ops.indexOf('\n## Install\n'), ops.indexOf('\n### ', ops.indexOf('\n## Install\n')));
  t.ok(/`s3d` .*`(?:\/usr\/bin\/)?node /s.test(install) && install.includes(`node ${installed} `), `docs/operations.md's Install says s3d is node ${installed}`);
});

t.test("what the docs' commands write into the clone is ignored by git", async (t) => {
  const dirs = clonePathsTheDocsWrite();
  t.ok(dirs.has('data') && dirs.has('kes-dev'), `${[...dirs].sort().join(', ')} found`);
  const gitignore = new Set(read('.gitignore').split('\n').map((l) => l.trim().replace(/^\//, '').replace(/\/$/, '')));
  for (const dir of [...dirs].sort()) {
    // git's own answer where this is a checkout; else .gitignore's entry for the folder.
    const ignored = existsSync(join(ROOT, '.git'))
      ? (() => {
          try {
            execFileSync('git', ['check-ignore', '-q', '--no-index', `${dir}/root.key`], { cwd: ROOT });
            return true;
          } catch {
            return false;
          }
        })()
      : gitignore.has(dir);
    t.ok(ignored, `./${dir}/, which the docs' commands write, is in .gitignore`);
  }
});

/**
 * The folder a line of docs/architecture.md describes: a row of the module table names its folder
 * first (`rowPattern` takes it from the row); a larger folder's row points to a section of its own (`### \`daemon/ops/\``), whose lines
 * up to the next heading are about that folder.
 */
function moduleFolders(rowPattern: RegExp): Array<{ line: string; folder: string | undefined }> {
  let section: string | undefined;
  return read('docs/architecture.md')
    .split('\n')
    .map((line) => {
      if (line.startsWith('#')) section = /^### `((?:daemon|workers)(?:\/[\w-]+)*)\/?`$/.exec(line)?.[1];
      const row = rowPattern.exec(line)?.[1];
      return { line, folder: row ?? (line.startsWith('#') ? undefined : section) };
    });
}

t.test('every module docs/architecture.md names exists, in the folder its row is about', async (t) => {
  let named = 0;
  for (const { line, folder: row } of moduleFolders(/^\| `((?:daemon|workers)(?:\/[\w-]+)*)\/?` \|/)) {
    // The prose names modules under daemon/. A name with a folder of its own (`http/cors.ts` in
    // the ops section) may be anywhere.
    for (const m of line.matchAll(/`([\w./-]+\.(?:ts|mjs|c|py))`/g)) {
      const name = m[1]!;
      const folder = name.includes('/') ? undefined : row;
      named++;
      const found = SOURCE_FILES.some((f) => (f === name || f.endsWith(`/${name}`)) && (folder === undefined || f.startsWith(`${folder}/`)));
      t.ok(found, `${name}${folder === undefined ? '' : ` (row ${folder})`} exists`);
    }
  }
  t.ok(named > 150, `${named} module names checked`);
});

t.test('docs/architecture.md names every module of daemon/ and workers/ in its folder\'s row or section', async (t) => {
  // The other way round from the test above: a module split out of another (store-multipart.ts
  // out of store.ts, request-head.ts out of server.ts) must be added to the table by hand.
  // A row, or a folder's own section (each of its lines), is a `rows` entry.
  const rows: { folder: string; names: Set<string> }[] = [];
  // A module's own row (`daemon/config.ts`) counts as a row too.
  for (const { line, folder } of moduleFolders(/^\| `((?:daemon|workers)[\w./-]*?)\/?` \|/)) {
    if (folder !== undefined) rows.push({ folder, names: new Set([...line.matchAll(/`([\w./-]+\.ts)`/g)].map((m) => m[1]!)) });
  }
  t.ok(new Set(rows.map((r) => r.folder)).size >= 20, `${rows.length} rows and section lines`);
  const modules = SOURCE_FILES.filter((f) => /^(?:daemon|workers)\/.*\.ts$/.test(f));
  t.ok(modules.length > 100, `${modules.length} modules`);
  for (const f of modules) {
    // A row of its own (`daemon/config.ts`), or named in the row of its folder or one above it
    // (`format/` files in the `workers/` row), by name or by its path from the row's folder.
    const listed = rows.some(({ folder, names }) => {
      if (folder === f) return true;
      if (!f.startsWith(`${folder}/`)) return false;
      const rel = f.slice(folder.length + 1);
      return names.has(rel) || names.has(rel.slice(rel.lastIndexOf('/') + 1));
    });
    t.ok(listed, `${f} is in the module table`);
  }
});

/** The metric names a scrape can show: metrics.ts's own and prom-client's process metrics. */
async function metricNames(): Promise<Set<string>> {
  const src = read('daemon/admin/metrics.ts');
  const names = new Set([...src.matchAll(/'(s3d_[a-z0-9_]+)'/g)].map((m) => m[1]!));
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: 's3d_' });
  for (const m of await r.getMetricsAsJSON()) names.add(m.name);
  for (const n of [...names]) for (const s of ['_bucket', '_sum', '_count']) names.add(n + s);
  return names;
}

/** The metrics docs/kms.md's table names (without their s3d_kms_ prefix there), prefixed. */
function kmsTableMetrics(): string[] {
  const kms = section(read('docs/kms.md'), '## Admin API, health and metrics');
  const out: string[] = [];
  for (const first of tableFirstCells(kms.slice(kms.indexOf('| metric |')))) {
    for (const m of first.matchAll(/`([a-z0-9_]+)`/g)) out.push(`s3d_kms_${m[1]}`);
  }
  return out;
}

/** The first cells of a Markdown table's rows (its header and separator left out). */
function tableFirstCells(table: string): string[] {
  const out: string[] = [];
  for (const line of table.split('\n')) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1];
    if (first === undefined || first.includes('metric') || first.includes('---')) continue;
    out.push(first);
  }
  return out;
}

/**
 * The metrics docs/operations.md's table names: in full (`s3d_notify_events_queued_total`), as
 * a suffix of the row's first name (`_sent_total`: s3d_notify_events_sent_total), or as a
 * family (`s3d_kms_*`: whose rows are in docs/kms.md).
 */
function operationsTableMetrics(): { names: Set<string>; families: string[] } {
  const text = section(read('docs/operations.md'), '## Health and metrics');
  const names = new Set<string>();
  const families: string[] = [];
  for (const first of tableFirstCells(text.slice(text.indexOf('| metric | labels |')))) {
    let full: string | undefined;
    for (const m of first.matchAll(/`([a-z0-9_*]+)`/g)) {
      const item = m[1]!;
      if (item.endsWith('*')) families.push(item.slice(0, -1));
      else if (item.startsWith('s3d_')) {
        full ??= item;
        names.add(item);
      } else if (item.startsWith('_') && full !== undefined) {
        // The stem is some leading part of the row's first name: any such part + the suffix.
        for (let i = full.indexOf('_'); i > 0; i = full.indexOf('_', i + 1)) names.add(full.slice(0, i) + item);
      }
    }
  }
  return { names, families };
}

t.test("every metric metrics.ts registers is in docs/operations.md's table (the KMS ones in docs/kms.md's)", async (t) => {
  const registered = [...new Set([...read('daemon/admin/metrics.ts').matchAll(/'(s3d_[a-z0-9_]+)'/g)].map((m) => m[1]!))].sort();
  t.ok(registered.length >= 60, `${registered.length} metrics registered`);
  const ops = operationsTableMetrics();
  const kms = new Set(kmsTableMetrics());
  t.ok(ops.families.includes('s3d_kms_'), 'the operations table sends s3d_kms_* to docs/kms.md');
  for (const name of registered) {
    if (name.startsWith('s3d_kms_') && kms.has(name)) continue;
    t.ok(ops.names.has(name), `${name} is documented`);
  }
});

t.test('every metric the docs name exists', async (t) => {
  const names = await metricNames();
  t.ok(names.has('s3d_requests_total') && names.has('s3d_process_open_fds'), 'metrics.ts and the process metrics are read');
  for (const rel of DOCS) {
    for (const m of read(rel).matchAll(/\bs3d_[a-z0-9_]+/g)) {
      const name = m[0];
      // A family (`s3d_kms_*`, `s3d_bucket_*`): some metric must start so.
      if (name.endsWith('_')) t.ok([...names].some((n) => n.startsWith(name)), `${rel}: ${name}* names metrics`);
      else t.ok(names.has(name), `${rel}: ${name} exists`);
    }
  }
  // docs/kms.md's table names the KMS metrics without their s3d_kms_ prefix.
  const kms = kmsTableMetrics();
  for (const name of kms) t.ok(names.has(name), `docs/kms.md: ${name} exists`);
  const rows = kms.length;
  t.ok(rows >= 15, `${rows} KMS metrics checked`);
});
