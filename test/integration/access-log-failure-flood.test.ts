// The access log under a persistent fault (a data file whose every read fails with EIO, injected
// by strace as in get-read-eio.test.ts): with S3_ACCESS_LOG=errors (the default) the 500s of one
// kind get ACCESS_FAILURE_BURST lines in full and one summary line counting the rest (written at
// shutdown here, where its timer would not run), not one line each, which flooded the journal
// just when it had to be read; the client's refusals (403s) keep a line each, and another kind
// (another operation) gets its own first lines. S3_ACCESS_LOG=all keeps a line for every request.
// Skipped where strace is missing or may not trace.
import t, { type Test } from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ACCESS_FAILURE_BURST } from '../../daemon/http/access-log.js';
import { startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { send } from '../helpers/http.js';
import { metricSample } from '../helpers/kes.js';
import { NO_STRACE, detach, tamperCalls } from '../helpers/strace.js';

const GETS = 60;
const REFUSED = 30;

/** A bucket with one object in a data file, then `GETS` GETs of it while its every read fails, and `REFUSED` anonymous GETs (403). */
async function failingReads(t: Test, d: TestDaemon): Promise<void> {
  t.equal((await send(d.port, { method: 'PUT', path: '/flood' })).status, 200, 'bucket created');
  t.equal((await send(d.port, { method: 'PUT', path: '/flood/k', body: testBytes(256 * 1024, 5) })).status, 200, 'an object in a data file');
  const objects = join(d.dataDir, '.s3d', 'objects');
  const file = readdirSync(objects).flatMap((sub) => readdirSync(join(objects, sub)).map((f) => join(objects, sub, f)))[0]!;
  const strace = await tamperCalls(d.proc.pid!, file, ['pread64', 'read'], 'error=EIO');
  let failed = 0;
  for (let i = 0; i < GETS; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, () => send(d.port, { method: 'GET', path: '/flood/k' })));
    failed += batch.filter((r) => r.status === 500).length;
  }
  t.equal(failed, GETS, `all ${GETS} GETs answered 500`);
  // Another operation failing alike is another kind.
  const copy = await send(d.port, { method: 'PUT', path: '/flood/copy', headers: { 'x-amz-copy-source': '/flood/k' } });
  await detach(strace);
  t.equal(copy.status, 500, 'a CopyObject from the failing data file: 500 too');
  const refused = await Promise.all(Array.from({ length: REFUSED }, () => send(d.port, { method: 'GET', path: '/flood/k', sign: false })));
  t.ok(refused.every((r) => r.status === 403), `${REFUSED} anonymous GETs refused 403`);
  const metrics = (await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster', sign: false })).body.toString();
  t.equal(metricSample(metrics, 's3d_requests_total', { op: 'GetObject', status: '500' }), GETS, 's3d_requests_total counts every failed GET');
}

const requestLines = (d: TestDaemon, op: string, status: number) => d.jsonLogs().filter((l) => l.msg === 'request' && l.op === op && l.status === status);
const summaries = (d: TestDaemon) => d.jsonLogs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('request … and'));

t.test(`S3_ACCESS_LOG=errors: ${GETS} GETs failing alike get ${ACCESS_FAILURE_BURST} lines and a count; every refusal its line`, { skip: NO_STRACE }, async (t) => {
  const d = await startDaemonFor(t, { env: { UV_THREADPOOL_SIZE: '1', S3_SYNC_READ_MAX: '0' } });
  await failingReads(t, d);
  const full = requestLines(d, 'GetObject', 500);
  t.equal(full.length, ACCESS_FAILURE_BURST, `${ACCESS_FAILURE_BURST} failed GETs logged in full, not ${GETS}`);
  t.match(full[0], { level: 30, code: 'InternalError', bucket: 'flood', key: 'k' }, 'each with its request, object and S3 error code');
  t.ok(typeof full[0]?.requestId === 'string', 'and its request ID');
  t.equal(requestLines(d, 'CopyObject', 500).length, 1, 'the CopyObject failure, another kind, logged in full');
  t.equal(requestLines(d, 'GetObject', 403).length, REFUSED, 'every 403 (the client\'s) logged in full');
  t.equal(summaries(d).length, 0, 'no summary before its minute is up');
  t.equal(await d.stop(), 0, 'the daemon stops cleanly');
  const summary = summaries(d);
  t.equal(summary.length, 1, 'at shutdown, one summary line: the GETs not logged one by one');
  t.match(summary[0], { level: 30, op: 'GetObject', status: 500, code: 'InternalError', suppressed: GETS - ACCESS_FAILURE_BURST }, `counting the ${GETS - ACCESS_FAILURE_BURST} others`);
  t.match(summary[0]?.msg, new RegExp(`^request … and ${GETS - ACCESS_FAILURE_BURST} more like it in the last \\d+ s \\(not logged one by one\\)$`), 'saying so');
});

t.test('S3_ACCESS_LOG=all: every failed request gets its line', { skip: NO_STRACE }, async (t) => {
  const d = await startDaemonFor(t, { env: { UV_THREADPOOL_SIZE: '1', S3_SYNC_READ_MAX: '0', S3_ACCESS_LOG: 'all' } });
  await failingReads(t, d);
  t.equal(requestLines(d, 'GetObject', 500).length, GETS, `all ${GETS} failed GETs logged`);
  t.equal(requestLines(d, 'GetObject', 403).length, REFUSED, 'and every 403');
  t.equal(await d.stop(), 0, 'the daemon stops cleanly');
  t.equal(summaries(d).length, 0, 'no summary: nothing was left out');
});
