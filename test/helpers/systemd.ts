// Reading systemd unit files (key=value lines under [Section] headers) for the unit tests.

import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './root.js';

/** Where docs/operations.md installs s3d; the units name files there. */
export const INSTALL_ROOT = '/opt/s3d';

/** A path under INSTALL_ROOT as the same file in this checkout (other paths unchanged). */
export function inCheckout(path: string): string {
  return path.startsWith(`${INSTALL_ROOT}/`) ? join(ROOT, path.slice(INSTALL_ROOT.length + 1)) : path;
}

export type Unit = Map<string, Array<[string, string]>>;

export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      if (!unit.has(section)) unit.set(section, []);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`not a key=value line: ${line}`);
    unit.get(section)!.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** Last assignment wins, as in systemd (an empty assignment resets list settings). */
export function get(unit: Unit, section: string, key: string): string | undefined {
  const all = (unit.get(section) ?? []).filter(([k]) => k === key);
  return all.length === 0 ? undefined : all[all.length - 1]![1];
}

/** The sandbox directives a scheduled unit (s3d-verify, s3d-backup) must share with s3d.service. */
const SANDBOX_KEYS = [
  'NoNewPrivileges', 'CapabilityBoundingSet', 'AmbientCapabilities', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices',
  'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectClock', 'ProtectHostname',
  'ProtectProc', 'RestrictSUIDSGID', 'RestrictRealtime', 'RestrictNamespaces', 'LockPersonality', 'SystemCallArchitectures',
  'RestrictAddressFamilies', 'SystemCallFilter', 'SystemCallErrorNumber', 'UMask',
];

/** `unit` has s3d.service's sandbox, directive for directive. */
export function checkSameSandbox(t: Test, unit: Unit, service: Unit): void {
  // Unset in both would compare undefined with undefined: a key s3d.service lacks fails here.
  for (const k of SANDBOX_KEYS) t.equal(get(unit, 'Service', k), get(service, 'Service', k) ?? `(${k} unset in s3d.service)`, `${k}=${get(service, 'Service', k)}`);
}

/** systemd-analyze, when installed (Debian package: systemd). */
export const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

/**
 * systemd/NAME.service and NAME.timer pass `systemd-analyze verify` without a word (a misspelt
 * directive shown to be reported, so the check is not vacuous), and the service's exposure is at
 * most 2.5. Needs ANALYZE.
 */
export function checkAnalyze(t: Test, name: string): void {
  const dir = mkdtempSync(join(tmpdir(), `${name}-unit-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const serviceText = readFileSync(join(ROOT, `systemd/${name}.service`), 'utf8');
  const timerText = readFileSync(join(ROOT, `systemd/${name}.timer`), 'utf8');
  const file = join(dir, `${name}.service`);
  const timer = join(dir, `${name}.timer`);
  const program = /^ExecStart=(\S+)/m.exec(serviceText)?.[1] ?? '';
  writeFileSync(file, existsSync(program) ? serviceText : serviceText.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
  writeFileSync(timer, timerText);
  const r = spawnSync(ANALYZE!, ['verify', '--man=no', file, timer], { encoding: 'utf8' });
  t.equal(r.status, 0, 'systemd-analyze verify passes');
  t.equal((r.stdout + r.stderr).trim(), '', 'and prints nothing');
  writeFileSync(timer, timerText.replace('Persistent=true', 'Persistant=true'));
  const bad = spawnSync(ANALYZE!, ['verify', '--man=no', file, timer], { encoding: 'utf8' });
  t.match(bad.stdout + bad.stderr, /Unknown key/, 'a misspelt directive is reported (the check is not vacuous)');
  const sec = spawnSync(ANALYZE!, ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
  const m = new RegExp(`Overall exposure level for ${name}\\.service: ([\\d.]+)`).exec(sec.stdout);
  t.ok(m && Number(m[1]) <= 2.5, `overall exposure ${m?.[1]} ≤ 2.5`);
}
