// systemd/s3d-backup.service and .timer: the scheduled `s3d backup --into --keep` runs what
// s3d.service runs (same program, data directory, user and environment file) under the same
// sandbox, passes `systemd-analyze verify` without a word, and its ExecStart, run here, backs up
// a real store into a backup root it makes.

import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../daemon/meta/store.js';
import { ROOT } from '../../helpers/daemon.js';
import { ANALYZE, checkAnalyze, checkSameSandbox, get, inCheckout, parseUnit } from '../../helpers/systemd.js';

const serviceText = readFileSync(join(ROOT, 'systemd/s3d.service'), 'utf8');
const backupText = readFileSync(join(ROOT, 'systemd/s3d-backup.service'), 'utf8');
const timerText = readFileSync(join(ROOT, 'systemd/s3d-backup.timer'), 'utf8');
const service = parseUnit(serviceText);
const backup = parseUnit(backupText);
const timer = parseUnit(timerText);
const serverArgv = (get(service, 'Service', 'ExecStart') ?? '').split(/\s+/);
const backupArgv = (get(backup, 'Service', 'ExecStart') ?? '').split(/\s+/);
const dataDir = serverArgv[serverArgv.length - 1]!;
const backupRoot = '/var/backups/s3d';

t.test("it runs s3d backup --into on the daemon's data directory, as its user, with its environment", async (t) => {
  t.equal(get(backup, 'Service', 'Type'), 'oneshot');
  t.same(backupArgv.slice(0, 2), serverArgv.slice(0, 2), 'the same node and main.js as s3d.service');
  t.same(backupArgv.slice(2), ['backup', dataDir, '--into', backupRoot, '--keep', '14'], `backup ${dataDir} --into ${backupRoot} --keep 14`);
  for (const k of ['User', 'Group', 'EnvironmentFile']) t.equal(get(backup, 'Service', k), get(service, 'Service', k) ?? `(${k} unset in s3d.service)`, `${k} as s3d.service`);
  const rw = (get(backup, 'Service', 'ReadWritePaths') ?? '').split(/\s+/);
  t.ok(rw.includes(dataDir), 'the data dir is writable (the hold file, LMDB\'s reader table)');
  t.ok(rw.includes(backupRoot), 'the backup root is writable');
  t.match(get(backup, 'Unit', 'RequiresMountsFor') ?? '', backupRoot, 'it waits for the backup disk');
  t.equal(get(backup, 'Service', 'IOSchedulingClass'), 'idle');
  t.equal(get(backup, 'Service', 'Nice'), '10');
  t.match(backupText, /another disk/, 'says the root belongs on another disk');
  t.match(backupText, /KMS key is not in the backup: back up S3_KMS_SECRET_KEY/, 'and that the KMS key is backed up separately');
});

t.test('the same sandbox as s3d.service', async (t) => {
  checkSameSandbox(t, backup, service);
});

t.test('the timer: daily, spread, catching up after downtime', async (t) => {
  t.equal(get(timer, 'Timer', 'OnCalendar'), 'daily');
  t.equal(get(timer, 'Timer', 'Persistent'), 'true');
  t.ok(get(timer, 'Timer', 'RandomizedDelaySec'), 'RandomizedDelaySec set');
  t.equal(get(timer, 'Install', 'WantedBy'), 'timers.target');
  t.notOk(get(timer, 'Timer', 'Unit'), 'it starts the service of its own name');
});

t.test('systemd-analyze verify and security', { skip: ANALYZE ? false : 'systemd-analyze not installed (Debian package: systemd)' }, async (t) => {
  checkAnalyze(t, 's3d-backup');
});

t.test('ExecStart, run on a real store, makes ROOT and a timestamped backup in it', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 's3d-backup-run-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, 'data');
  const root = join(base, 'backups');
  const meta = new MetaStore(join(dir, '.s3d'));
  await meta.createBucket('some-bucket');
  await meta.close();
  // As systemd runs it: this checkout's node and main.js in place of /usr/bin and /opt, temp dirs for the data and the root.
  const argv = backupArgv.map((a, i) => (i === 0 ? process.execPath : a === dataDir ? dir : a === backupRoot ? root : inCheckout(a)));
  const r = await new Promise<{ code: number; out: string; err: string }>((resolve) =>
    execFile(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    ),
  );
  t.equal(r.code, 0, `exit 0 ${r.err}`);
  t.match(r.out, /^s3d backup: done: 0 object\(s\), /m);
  t.match(r.out, /^s3d backup: 0 old and 0 unfinished backup\(s\) removed from .* \(keeping the newest 14\)$/m);
  const made = readdirSync(root);
  t.equal(made.length, 1, 'one backup in the root it made');
  t.match(made[0], /^\d{8}T\d{6}Z$/, 'named by its UTC timestamp');
  t.ok(existsSync(join(root, made[0]!, '.s3d', 'meta', 'data.mdb')), 'with the metadata');
  t.notOk(existsSync(join(root, made[0]!, '.s3d', 'backup-incomplete')), 'finished');
});
