// A persistent fault (a data file whose every read fails with EIO, injected by strace as in
// get-read-eio.test.ts) under many GETs: the daemon's log has a few lines in full per kind, the
// rest counted in one summary line (written at shutdown here, where its timer would not run), not
// one error line per request, which flooded journald until it dropped lines. s3d_requests_total
// still counts every request (the access log has a bound of its own:
// access-log-failure-flood.test.ts); another kind (another operation) is logged in full on its
// own. Skipped where strace is missing or may not trace.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { INTERNAL_BURST } from '../../daemon/http/error-answer.js';
import { ACCESS_FAILURE_BURST } from '../../daemon/http/access-log.js';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { errorCode, send } from '../helpers/http.js';
import { metricSample } from '../helpers/kes.js';
import { NO_STRACE, detach, tamperCalls } from '../helpers/strace.js';

const GETS = 200;


t.test(`${GETS} GETs of an object whose data file fails every read: a few error lines and a count, every request in the access log and metrics`, { skip: NO_STRACE }, async (t) => {
  const d = await startDaemonFor(t, { env: { UV_THREADPOOL_SIZE: '1', S3_SYNC_READ_MAX: '0' } });
  t.equal((await send(d.port, { method: 'PUT', path: '/flood' })).status, 200, 'bucket created');
  t.equal((await send(d.port, { method: 'PUT', path: '/flood/k', body: testBytes(256 * 1024, 5) })).status, 200, 'an object in a data file');
  const objects = join(d.dataDir, '.s3d', 'objects');
  const file = readdirSync(objects).flatMap((sub) => readdirSync(join(objects, sub)).map((f) => join(objects, sub, f)))[0]!;

  const strace = await tamperCalls(d.proc.pid!, file, ['pread64', 'read'], 'error=EIO');
  const statuses: number[] = [];
  for (let i = 0; i < GETS; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, () => send(d.port, { method: 'GET', path: '/flood/k' })));
    for (const r of batch) {
      statuses.push(r.status);
      if (r.status !== 500 || errorCode(r.body) !== 'InternalError') t.fail(`a GET answered ${r.status} ${r.body.toString()}`);
    }
  }
  t.equal(statuses.filter((s) => s === 500).length, GETS, `all ${GETS} GETs answered 500 InternalError`);
  // Another operation failing alike is another kind: its first line in full, whatever GET's count.
  const copy = await send(d.port, { method: 'PUT', path: '/flood/copy', headers: { 'x-amz-copy-source': '/flood/k' } });
  await detach(strace);
  t.equal(copy.status, 500, 'a CopyObject from the failing data file: 500 too');

  const metrics = (await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster', sign: false })).body.toString();
  t.equal(metricSample(metrics, 's3d_requests_total', { op: 'GetObject', status: '500' }), GETS, 's3d_requests_total counts every one');

  const lines = () => d.jsonLogs();
  const full = lines().filter((l) => l.msg === 'internal error' && l.op === 'GetObject');
  t.equal(full.length, INTERNAL_BURST, `${INTERNAL_BURST} GET failures logged in full, not ${GETS}`);
  const first = full[0] as { err?: { code?: string; syscall?: string; stack?: string }; level?: number; key?: string; requestId?: string };
  t.equal(first.level, 50, 'at error level');
  t.equal(first.err?.code, 'EIO', 'with the errno');
  t.match(first.err?.stack ?? '', /EIO/, 'and the stack');
  t.ok(first.key === 'k' && typeof first.requestId === 'string', 'naming the request and the object');
  const copyLines = lines().filter((l) => l.msg === 'internal error' && l.op === 'CopyObject');
  t.equal(copyLines.length, 1, 'the CopyObject failure, another kind, logged in full');
  const access = lines().filter((l) => l.msg === 'request' && l.op === 'GetObject' && l.status === 500);
  t.equal(access.length, ACCESS_FAILURE_BURST, `the access log (S3_ACCESS_LOG=errors) has the first ${ACCESS_FAILURE_BURST} failed GETs, the rest counted`);

  t.notOk(lines().some((l) => typeof l.msg === 'string' && l.msg.includes('more like it')), 'no summary before its minute is up');
  t.equal(await d.stop(), 0, 'the daemon stops cleanly');
  const summary = lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('internal error … and') && l.op === 'GetObject');
  t.equal(summary.length, 1, 'at shutdown, one summary line for the GETs not logged one by one');
  t.equal(summary[0]?.suppressed, GETS - INTERNAL_BURST, `counting the ${GETS - INTERNAL_BURST} others`);
  t.match(summary[0], { level: 50, code: 'EIO', msg: new RegExp(`^internal error … and ${GETS - INTERNAL_BURST} more like it in the last \\d+ s`) }, 'saying what they were');
  t.ok(lines().filter((l) => l.level === 50).length <= INTERNAL_BURST + 3, `error lines in all: ${lines().filter((l) => l.level === 50).length}, not one per request`);
});
