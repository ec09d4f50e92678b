// Two `s3d backup DIR DEST` runs given the same new DEST at once (a hand-run backup beside a
// script's): both find DEST new, one makes DEST/.s3d first. The other must refuse (exit 2) and
// leave DEST alone; it used to take the EEXIST for a failure of its own and remove DEST/.s3d, the
// first run's backup, even after that run had said `done` and exited 0. The second run is held up
// by strace, only in its mkdir of DEST/.s3d, until the first has finished.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MAIN, nodeChild, runS3d, startDaemonFor, testBytes, type S3dRun } from '../helpers/daemon.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

function straceMissing(): false | string {
  const r = spawnSync('strace', ['-e', 'trace=none', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
  return r.status === 0 ? false : 'strace is missing or may not trace here';
}

/** `s3d backup DIR DEST` whose mkdir of DEST/.s3d (and only that) waits `delayMs` first. */
function delayedBackup(dir: string, dest: string, delayMs: number): Promise<S3dRun> {
  const [cmd, args] = nodeChild([MAIN, 'backup', dir, dest]);
  const p = spawn('strace', ['-f', '-o', '/dev/null', '-P', join(dest, '.s3d'), '-e', 'trace=mkdir,mkdirat', '-e', `inject=mkdir,mkdirat:delay_enter=${delayMs * 1000}:when=1`, cmd, ...args], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
  return new Promise((resolve) => p.once('close', (code) => resolve({ code, stdout, stderr })));
}

t.test('a second backup into the same new DEST refuses and leaves the first one\'s backup alone', { skip: straceMissing() }, async (t) => {
  const d = await startDaemonFor(t, { dev: true, kms: false });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'same-dest');
  const body = testBytes(300_011, 5);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: body }));
  const base = mkdtempSync(join(tmpdir(), 's3d-same-dest-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const dest = join(base, 'dest');

  // The second run makes DEST, then waits in its mkdir of DEST/.s3d while the first runs whole.
  const second = delayedBackup(d.dataDir, dest, 8_000);
  await pollUntil(() => existsSync(dest), (made) => made, 20_000, 20);
  const first = await runS3d(['backup', d.dataDir, dest]);
  t.equal(first.code, 0, `the first backup: exit 0 (${first.stderr.trim()})`);
  t.match(first.stdout, /s3d backup: done: /);
  const r = await second;
  t.equal(r.code, 2, `the second: exit 2, refused (${r.stderr.trim()})`);
  t.match(r.stderr, /another s3d backup into DEST .* began meanwhile/, 'saying why');
  t.ok(existsSync(join(dest, '.s3d', 'meta', 'data.mdb')), "the first run's backup is still there");

  const verified = await runS3d(['verify', dest, '--deep', '--dev'], { S3_CRYPTO_WORKERS: '2' });
  t.equal(verified.code, 0, `s3d verify DEST --deep: exit 0 (${verified.stdout.trim()} ${verified.stderr.trim()})`);
  const restored = await startDaemonFor(t, { dataDir: dest, dev: true, kms: false });
  t.ok((await getBytes(restored.s3(), { Bucket: bucket, Key: 'obj' })).equals(body), 'and it serves the object');
});
