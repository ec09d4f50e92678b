// A data directory that became read-only while s3d serves (a filesystem remounted read-only
// after errors, a volume detached and mounted back read-only): here a read-only bind mount over
// the data directory (root only; skipped otherwise), so every file opened after it is refused
// with EROFS. An upload is answered 503 ServiceUnavailable (retryable, and saying why), not a 500
// with an error line per request; the readiness probe answers 503 with the reason, so a load
// balancer stops sending traffic; reads go on; the log says it once. Once the directory is
// writable again, readiness is 200 and uploads succeed.

import t from 'tap';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, testBytes } from '../helpers/daemon.js';
import { raw } from '../helpers/http.js';
import { clientFor, createBucket, getBytes } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

function mount(args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe' });
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
}

/** Whether a read-only bind mount can be made here: false, or why not (for `skip`). */
function bindUnavailable(): false | string {
  const dir = mkdtempSync(join(tmpdir(), 's3d-bind-'));
  try {
    mount(['--bind', dir, dir]);
    unmount(dir);
    return false;
  } catch (err) {
    return `cannot bind-mount (needs root): ${((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim()}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function putResult(s3: S3Client, bucket: string, key: string, body: Buffer): Promise<string> {
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    return 'ok';
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return `${e.name}/${e.$metadata?.httpStatusCode}: ${e.message}`;
  }
}

t.test('a data directory turned read-only: uploads 503, readiness 503 with the reason, back to normal after', { skip: bindUnavailable() }, async (t) => {
  const d = await startDaemon({ env: { S3_LOG_LEVEL: 'info' } });
  let bound = false;
  t.teardown(async () => {
    if (bound) unmount(d.dataDir);
    await d.stop();
    d.cleanup();
  });
  const s3 = clientFor(d, { maxAttempts: 1 });
  const bucket = await createBucket(s3, 'ro');
  const kept = testBytes(MiB, 1);
  t.equal(await putResult(s3, bucket, 'kept', kept), 'ok', 'an object stored before');
  const ready = () => raw(d.port, { method: 'GET', path: '/minio/health/ready', sign: false });
  t.equal((await ready()).status, 200, 'ready while the directory is writable');

  mount(['--bind', d.dataDir, d.dataDir]);
  bound = true;
  mount(['-o', 'remount,bind,ro', d.dataDir]);

  const refused = await putResult(s3, bucket, 'new', testBytes(MiB, 2));
  t.match(refused, /^ServiceUnavailable\/503: .*read-only/, `an upload is answered 503 ServiceUnavailable, saying why (${refused})`);
  t.match(await putResult(s3, bucket, 'new2', testBytes(MiB, 3)), /^ServiceUnavailable\/503/, 'and so is the next');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'kept' })).equals(kept), 'reads go on');
  const r = await pollUntil(ready, (res) => res.status === 503, 5000, 100);
  t.equal(r.status, 503, 'readiness answers 503');
  t.match(String(r.headers['x-s3d-not-ready']), /data directory not writable \(EROFS\)/, 'naming the reason');
  t.equal((await raw(d.port, { method: 'GET', path: '/minio/health/live', sign: false })).status, 200, 'liveness stays 200: the process serves');
  t.equal((await raw(d.port, { method: 'GET', path: '/minio/health/cluster', sign: false })).status, 503, 'MinIO\u2019s write-quorum probe: 503 as readiness');
  t.equal((await raw(d.port, { method: 'GET', path: '/minio/health/cluster/read', sign: false })).status, 200, 'its read-quorum probe: 200, reads go on');
  t.notOk(d.logs.some((l) => l.includes('"level":50') && l.includes('EROFS')), 'no error line per failed request');
  t.equal(d.logs.filter((l) => l.includes('data directory is not writable')).length, 1, 'one warning says it');

  unmount(d.dataDir);
  bound = false;
  t.equal((await pollUntil(ready, (res) => res.status === 200, 5000, 100)).status, 200, 'ready again once the directory is writable');
  t.equal(await putResult(s3, bucket, 'new', testBytes(MiB, 2)), 'ok', 'uploads succeed again');
  t.ok(d.logs.some((l) => l.includes('data directory is writable again')), 'and the log says so');
});
