// systemd/s3d-verify.service and .timer: the scheduled `s3d verify --deep` runs what s3d.service
// runs (same program, data directory, user and environment file) under the same sandbox, passes
// `systemd-analyze verify` without a word, and its ExecStart, run here, checks a real store.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../daemon/meta/store.js';
import { ROOT, TEST_KMS_SECRET } from '../../helpers/daemon.js';
import { ANALYZE, checkAnalyze, checkSameSandbox, get, inCheckout, parseUnit } from '../../helpers/systemd.js';

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
  checkSameSandbox(t, verify, service);
});

t.test('the timer: weekly, catching up after downtime', async (t) => {
  t.equal(get(timer, 'Timer', 'OnCalendar'), 'weekly');
  t.equal(get(timer, 'Timer', 'Persistent'), 'true');
  t.equal(get(timer, 'Install', 'WantedBy'), 'timers.target');
  t.notOk(get(timer, 'Timer', 'Unit'), 'it starts the service of its own name');
});

t.test('systemd-analyze verify and security', { skip: ANALYZE ? false : 'systemd-analyze not installed (Debian package: systemd)' }, async (t) => {
  checkAnalyze(t, 's3d-verify');
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
