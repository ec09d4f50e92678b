// A KES outage shows in the log at the default level (info), once per state change and never per
// request: a warn when the endpoint starts failing, a warn when every endpoint failed, a warn when
// expired cached keys start bridging the outage; info lines when KES works again. The requests it
// fails are one `KMS request failed` line per 10 s, counting them, and a proxy's 500 page is such an
// outage (it was an internal error with a stack trace per request; both tests came from
// kes-broken-answers.test.ts, which ran too near tap's 180 s on a loaded machine).

import t from 'tap';
import type { Test } from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { createTestPki } from '../fixtures/kes-server/certs.js';
import { autoEncryptingDaemon, kesEnv, kesServer, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { sleep } from '../helpers/wait.js';

const pki = await createTestPki();
const WARN = 40;
const INFO = 30;

const autoEncrypting = (t: Test): ReturnType<typeof autoEncryptingDaemon> => autoEncryptingDaemon(t, pki);

t.test('KES down then back: one warn per transition (endpoint, all endpoints, grace cache), info when back', async (t) => {
  const kes = await kesServer(t, { pki });
  // 1 s TTL: a key cached before the outage is past its TTL (within the default grace) during it.
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_CACHE_TTL: '1' } }) });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  const body = testBytes(20_000, 5);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cached', Body: body, ServerSideEncryption: 'AES256' }));
  const count = (level: number, msg: RegExp): number => d.jsonLogs().filter((l) => l.level === level && msg.test(String(l.msg))).length;

  await kes.stop();
  await sleep(1200);
  for (let i = 0; i < 4; i++) {
    t.ok((await getBytes(s3, { Bucket: bucket, Key: 'cached' })).equals(body), `GET ${i} served from the grace cache`);
    t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: `new-${i}`, Body: 'x', ServerSideEncryption: 'AES256' }))), 'ServiceUnavailable/503', `PUT ${i} refused`);
  }
  const failed = d.jsonLogs().filter((l) => l.level === WARN && l.msg === 'KES endpoint failed');
  t.equal(failed.length, 1, 'one warn for the endpoint going from working to failing');
  t.match(failed[0], { endpoint: kes.url, err: /ECONNREFUSED|ECONNRESET|socket|closed/ });
  t.equal(count(WARN, /^KES unreachable: every endpoint failed/), 1, 'one warn for all endpoints unreachable');
  t.equal(count(WARN, /^KMS unavailable: serving cached data keys past their TTL/), 1, 'one warn for the grace cache');

  await kes.start();
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'y', ServerSideEncryption: 'AES256' }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'cached' })).equals(body), 'GET after recovery');
  t.equal(count(INFO, /^KES endpoint works again$/), 1, 'one info: the endpoint works again');
  t.equal(count(INFO, /^KES reachable again$/), 1, 'one info: KES reachable again');
  t.equal(count(INFO, /^KMS answers again/), 1, 'one info: the grace cache is no longer needed');
  t.equal(count(WARN, /^KES endpoint failed$/), 1, 'no further warn after recovery');
});

t.test("a proxy's 500 page is a 503 outage to clients, logged once, not an internal error per request", async (t) => {
  const { kes, d, s3, bucket } = await autoEncrypting(t);
  kes.setFaults({ fail500: 1000 });
  const codes: string[] = [];
  for (let i = 0; i < 10; i++) codes.push(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: `k${i}`, Body: 'x' }))));
  t.strictSame([...new Set(codes)], ['ServiceUnavailable/503'], '10 PUTs: 503 ServiceUnavailable each');
  kes.setFaults({ fail500: 0 });
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'x' }))), 'ok', 'KES right again: the PUT works');
  const errors = d.jsonLogs().filter((l) => (l.level as number) >= 50);
  t.strictSame(errors.map((l) => l.msg), [], 'no error-level log line');
  const warned = d.jsonLogs().filter((l) => l.msg === 'KMS request failed');
  t.ok(warned.length <= 2, `the failure logged at most once per 10 s (${warned.length})`);
  t.ok(d.logs.every((l) => l.length < 4000), 'no log line carries the proxy page whole');
});

t.test('a KMS outage failing every PUT: one line per 10 s, each counting the requests it stands for, the last at shutdown', async (t) => {
  const { kes, d, s3, bucket } = await autoEncrypting(t);
  kes.setFaults({ fail500: 1000 });
  for (let i = 0; i < 5; i++) await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: `a${i}`, Body: 'x' })));
  await sleep(10_500);
  let warned = d.jsonLogs().filter((l) => l.msg === 'KMS request failed');
  t.equal(warned.length, 2, 'two lines, 10 s apart, with no request after the five');
  t.equal(warned[0]?.failedRequests, 1, 'the first stands for itself');
  t.equal(warned[1]?.failedRequests, 4, 'the second, when the 10 s are up, for the 4 PUTs failed after the first line');
  t.equal(warned[1]?.code, warned[0]?.code, 'the same S3 code');
  await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'b', Body: 'x' })));
  kes.setFaults({ fail500: 0 });
  t.equal(d.jsonLogs().filter((l) => l.msg === 'KMS request failed').length, 2, 'one more failed within 10 s of the last line: counted, not logged');
  t.equal(await d.stop(), 0, 'SIGTERM: a clean stop');
  warned = d.jsonLogs().filter((l) => l.msg === 'KMS request failed');
  t.equal(warned.length, 3, 'at shutdown, a line for what was still counted');
  t.equal(warned[2]?.failedRequests, 1, 'the PUT failed after the second line');
});
