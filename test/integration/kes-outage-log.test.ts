// A KES outage shows in the log at the default level (info), once per state change and never per
// request: a warn when the endpoint starts failing, a warn when every endpoint failed, a warn when
// expired cached keys start bridging the outage; info lines when KES works again.

import t from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { createTestPki } from '../fixtures/kes-server/certs.js';
import { kesEnv, kesServer, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { sleep } from '../helpers/wait.js';

const pki = await createTestPki();
const WARN = 40;
const INFO = 30;

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
