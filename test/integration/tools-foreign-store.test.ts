// `s3d verify` and `s3d backup` run as the service user on a data directory whose metadata store
// file belongs to root (0600: restored or copied by root, the rest chowned back). The daemon
// refuses that store with exit 2 and the fix; both tools opened the file for their first look at
// it (meta/store-file.ts) without asking why that failed, and stopped with a stack trace and
// exit 1, which the timers' units (s3d-verify.service, s3d-backup.service) report as a failed
// check or a failed backup rather than as a configuration matter.

import t from 'tap';
import { chmodSync, chownSync, existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MAIN, nodeChild, startDaemonFor, TEST_KMS_SECRET, testBytes } from '../helpers/daemon.js';
import { createBucket } from '../helpers/s3.js';

const nobodyUsable = process.getuid?.() === 0 && spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '--version']).status === 0;

/** `s3d ARGS` as `nobody`, with only PATH and the KMS key in its environment. */
function asNobody(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const [cmd, argv] = nodeChild([MAIN, ...args], { NODE_OPTIONS: '' });
  const r = spawnSync('runuser', ['-u', 'nobody', '--', cmd, ...argv], { env: { PATH: process.env.PATH, S3_KMS_SECRET_KEY: TEST_KMS_SECRET, S3_CRYPTO_WORKERS: '1' }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('a metadata store file owned by root: verify and backup refuse it by name (exit 2), no stack trace', { skip: nobodyUsable ? false : 'needs root and runuser -u nobody' }, async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'foreign');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: testBytes(200_000, 1) }));
  t.equal(await d.stop(), 0, 'daemon stopped');
  // The service user's directory (nobody here), its store file root's.
  chmodSync(d.dataDir, 0o755);
  t.equal(spawnSync('chown', ['-R', '65534:65534', d.dataDir]).status, 0, 'chown -R to nobody');
  const mdb = join(d.dataDir, '.s3d', 'meta', 'data.mdb');
  chownSync(mdb, 0, 0);
  chmodSync(mdb, 0o600);

  for (const args of [['verify', d.dataDir], ['verify', d.dataDir, '--deep']]) {
    const r = asNobody(args);
    t.notMatch(r.stderr, /fatal|\n\s+at /, `${args.join(' ')}: no stack trace (${r.stderr.trim()})`);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, `s3d verify: cannot open ${mdb} (EACCES)`, 'names the file');
    t.match(r.stderr, /chown -R/, 'and the fix');
  }

  const dest = `${d.dataDir}-copy`;
  t.teardown(() => spawnSync('rm', ['-rf', dest]));
  const b = asNobody(['backup', d.dataDir, dest]);
  t.notMatch(b.stderr, /fatal|\n\s+at /, `backup: no stack trace (${b.stderr.trim()})`);
  t.equal(b.code, 2, 'backup: exit 2 (refused)');
  t.match(b.stderr, `s3d backup: cannot open ${mdb} (EACCES)`, 'names the file');
  t.match(b.stderr, /chown -R/, 'and the fix');
  t.notOk(existsSync(dest), 'DEST was not made');

  // Given back to the service user, both run.
  chownSync(mdb, 65534, 65534);
  t.equal(asNobody(['verify', d.dataDir, '--deep']).code, 0, 'verify --deep: exit 0 once the file is the service user\'s');
  const ok = asNobody(['backup', d.dataDir, dest]);
  t.equal(ok.code, 0, `backup: exit 0 (${ok.stderr.trim()})`);

  // A development KMS key left root's: refused before any data file is copied (it was found only
  // after all of them, exit 1, the copy thrown away).
  const devKey = join(d.dataDir, '.s3d', 'kms-dev.key');
  writeFileSync(devKey, Buffer.alloc(32, 7), { mode: 0o600 });
  chownSync(devKey, 0, 0);
  const dest2 = `${d.dataDir}-copy2`;
  t.teardown(() => spawnSync('rm', ['-rf', dest2]));
  const k = asNobody(['backup', d.dataDir, dest2]);
  t.notMatch(k.stderr, /fatal|\n\s+at /, `backup with root's development key: no stack trace (${k.stderr.trim()})`);
  t.equal(k.code, 2, 'backup with root\'s development key: exit 2 (refused)');
  t.match(k.stderr, `s3d backup: cannot read ${devKey} (EACCES)`, 'names the key file');
  t.notOk(existsSync(dest2), 'DEST was not made');
});
