// systemd/s3d-verify.service and .timer: the scheduled `s3d verify --deep` runs what s3d.service
// runs (same program, data directory, user and environment file) under the same sandbox, passes
// `systemd-analyze verify` without a word, and its ExecStart, run here, checks a real store.

import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../daemon/meta/store.js';
import { ROOT, TEST_KMS_SECRET } from '../../helpers/daemon.js';
import { get, inCheckout, parseUnit } from '../../helpers/systemd.js';

const serviceText = readFileSync(join(ROOT, 'systemd/s3d.service'), 'utf8');
const verifyText = readFileSync(join(ROOT, 'systemd/s3d-verify.service'), 'utf8');
const timerText = readFileSync(join(ROOT, 'systemd/s3d-verify.timer'), 'utf8');
const service = parseUnit(serviceText);
const verify = parseUnit(verifyText);
const timer = parseUnit(timerText);
const serverArgv = (get(service, 'Service', 'ExecStart') ?? '').split(/\s+/);
const verifyArgv = (get(verify, 'Service', 'ExecStart') ?? '').split(/\s+/);
const dataDir = serverArgv[serverArgv.length - 1]!;

t.test('it runs s3d verify --deep on the daemon\'s data directory, as its user, with its environment', async (t) => {
  t.equal(get(verify, 'Service', 'Type'), 'oneshot');
  // env(1) sets the thread count: EnvironmentFile= (the daemon's s3d.env) overrides Environment=.
  t.same(verifyArgv.slice(0, 2), ['/usr/bin/env', 'S3_CRYPTO_WORKERS=1'], 'one decrypting thread, whatever s3d.env says');
  t.same(verifyArgv.slice(2, 4), serverArgv.slice(0, 2), 'the same node and main.js as s3d.service');
  t.same(verifyArgv.slice(4), ['verify', dataDir, '--deep'], `verify ${dataDir} --deep`);
  for (const k of ['User', 'Group', 'EnvironmentFile']) t.equal(get(verify, 'Service', k), get(service, 'Service', k) ?? `(${k} unset in s3d.service)`, `${k} as s3d.service`);
  t.ok((get(verify, 'Service', 'ReadWritePaths') ?? '').split(/\s+/).includes(dataDir), 'the data dir is writable (LMDB\'s reader table in its lock file)');
  t.notOk(get(verify, 'Service', 'Environment'), 'no Environment= (s3d.env would override it)');
  t.equal(get(verify, 'Service', 'IOSchedulingClass'), 'idle');
});

t.test('the same sandbox as s3d.service', async (t) => {
  const keys = [
    'NoNewPrivileges', 'CapabilityBoundingSet', 'AmbientCapabilities', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices',
    'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectClock', 'ProtectHostname',
    'ProtectProc', 'RestrictSUIDSGID', 'RestrictRealtime', 'RestrictNamespaces', 'LockPersonality', 'SystemCallArchitectures',
    'RestrictAddressFamilies', 'SystemCallFilter', 'SystemCallErrorNumber', 'UMask',
  ];
  // Unset in both would compare undefined with undefined: a key s3d.service lacks fails here.
  for (const k of keys) t.equal(get(verify, 'Service', k), get(service, 'Service', k) ?? `(${k} unset in s3d.service)`, `${k}=${get(service, 'Service', k)}`);
});

t.test('the timer: weekly, catching up after downtime', async (t) => {
  t.equal(get(timer, 'Timer', 'OnCalendar'), 'weekly');
  t.equal(get(timer, 'Timer', 'Persistent'), 'true');
  t.equal(get(timer, 'Install', 'WantedBy'), 'timers.target');
  t.notOk(get(timer, 'Timer', 'Unit'), 'it starts the service of its own name');
});

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

t.test('systemd-analyze verify and security', { skip: analyze ? false : 'systemd-analyze not installed (Debian package: systemd)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-verify-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 's3d-verify.service');
  const text = existsSync(verifyArgv[0]!) ? verifyText : verifyText.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`);
  writeFileSync(file, text);
  copyFileSync(join(ROOT, 'systemd/s3d-verify.timer'), join(dir, 's3d-verify.timer'));
  const r = spawnSync(analyze!, ['verify', '--man=no', file, join(dir, 's3d-verify.timer')], { encoding: 'utf8' });
  t.equal(r.status, 0, 'systemd-analyze verify passes');
  t.equal((r.stdout + r.stderr).trim(), '', 'and prints nothing');
  writeFileSync(join(dir, 's3d-verify.timer'), timerText.replace('Persistent=true', 'Persistant=true'));
  const bad = spawnSync(analyze!, ['verify', '--man=no', file, join(dir, 's3d-verify.timer')], { encoding: 'utf8' });
  t.match(bad.stdout + bad.stderr, /Unknown key/, 'a misspelt directive is reported (the check is not vacuous)');
  const sec = spawnSync(analyze!, ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
  const m = /Overall exposure level for s3d-verify\.service: ([\d.]+)/.exec(sec.stdout);
  t.ok(m && Number(m[1]) <= 2.5, `overall exposure ${m?.[1]} ≤ 2.5`);
});

t.test('ExecStart, run on a real (empty) store, checks it and exits 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-verify-run-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const meta = new MetaStore(join(dir, '.s3d'));
  await meta.createBucket('empty-bucket');
  await meta.close();
  // As systemd runs it: env(1), then this checkout's node and main.js in place of /usr/bin and /opt.
  const argv = verifyArgv.map((a, i) => (i < 2 ? a : i === 2 ? process.execPath : a === dataDir ? dir : inCheckout(a)));
  const r = await new Promise<{ code: number; out: string; err: string }>((resolve) =>
    execFile(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH, S3_KMS_SECRET_KEY: TEST_KMS_SECRET }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    ),
  );
  t.equal(r.code, 0, `exit 0 ${r.err}`);
  t.match(r.out, /^s3d verify: 0 version\(s\) in 1 bucket\(s\) checked in [0-9.]+ s \(deep: 0\.0 MiB read and authenticated\): no problems$/m);
});
