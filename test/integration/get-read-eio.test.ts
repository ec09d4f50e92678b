// A data file whose read fails (EIO, a failing disk) during GetObject, the failure injected by
// strace into the daemon's one thread-pool thread (UV_THREADPOOL_SIZE=1, S3_SYNC_READ_MAX=0: every
// read there, counted on that thread). The first read failing: an S3 error, 500 InternalError,
// before any byte. The fourth failing (three 1 MiB batches out, the headers with them): the
// connection is cut, short of Content-Length, every byte sent the object's, counted in
// s3d_responses_cut_total{reason="failed"} and logged; never a body that ends as if complete.
// The daemon serves the whole object once the disk reads again. Skipped where strace is missing
// or may not trace.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { cutAwareGet, errorCode, send, signedHeaders } from '../helpers/http.js';
import { metricSample } from '../helpers/kes.js';
import { NO_STRACE, detach, tamperCalls } from '../helpers/strace.js';

const MiB = 1024 * 1024;


t.test('a data file read failing with EIO: an S3 error before the headers, a cut connection after them', { skip: NO_STRACE }, async (t) => {
  const d = await startDaemonFor(t, { env: { UV_THREADPOOL_SIZE: '1', S3_SYNC_READ_MAX: '0' } });
  t.equal((await send(d.port, { method: 'PUT', path: '/eio' })).status, 200, 'bucket created');
  const body = testBytes(8 * MiB, 3);
  t.equal((await send(d.port, { method: 'PUT', path: '/eio/k', body })).status, 200, 'an object in a data file');
  const objects = join(d.dataDir, '.s3d', 'objects');
  const file = readdirSync(objects).flatMap((sub) => readdirSync(join(objects, sub)).map((f) => join(objects, sub, f)))[0]!;
  const cutFailed = async (): Promise<number> => metricSample((await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster', sign: false })).body.toString(), 's3d_responses_cut_total', { op: 'GetObject', reason: 'failed' }) ?? 0;
  const get = () => cutAwareGet(d.port, { path: '/eio/k', headers: signedHeaders(d.port, { method: 'GET', path: '/eio/k' }) });

  let strace = await tamperCalls(d.proc.pid!, file, ['pread64', 'read'], 'error=EIO:when=1');
  const first = await get();
  await detach(strace);
  t.equal(first.status, 500, 'the first read failing: 500 before any byte of the object');
  t.equal(errorCode(first.body), 'InternalError', 'an S3 error');

  const cutBefore = await cutFailed();
  strace = await tamperCalls(d.proc.pid!, file, ['pread64', 'read'], 'error=EIO:when=4');
  const later = await get();
  await detach(strace);
  t.equal(later.status, 200, 'a later read failing: the status line had gone out');
  t.equal(later.headers['content-length'], String(body.length), 'announcing the whole object');
  t.notOk(later.complete, `the connection was cut, not ended as if complete (${later.error})`);
  t.ok(later.body.length < body.length, `short of Content-Length (${later.body.length} of ${body.length} bytes)`);
  t.ok(later.body.equals(body.subarray(0, later.body.length)), 'every byte sent is the object’s');
  t.equal(await cutFailed(), cutBefore + 1, 's3d_responses_cut_total{reason="failed"} counts it');
  t.ok(d.logs.some((l) => l.includes('response stream failed after the response began') && l.includes('"code":"EIO"')), 'the log says why');

  const again = await get();
  t.ok(again.complete && again.body.equals(body), 'the disk reading again, the daemon serves the whole object');
});
