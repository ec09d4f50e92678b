// KES, or something in front of it, answering wrong, with the daemon against the fixture over real
// mTLS (found by a sweep): an endpoint that accepts TCP and never speaks TLS held readiness for
// 10.5 s beside a working one; a proxy's 500 page was an internal error logged with a stack trace
// per request; a decrypt answer cut short was cached and broke its objects after KES was right.

import t from 'tap';
import type { Test } from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { request as httpsRequest } from 'node:https';
import { createServer, type Socket } from 'node:net';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { createTestPki } from '../fixtures/kes-server/certs.js';
import { KES_TEST_KEY, kesEnv, kesServer, readyStatus, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { sleep } from '../helpers/wait.js';

const pki = await createTestPki();

/** A listener that takes connections and never answers (no TLS handshake): a hung KES. */
async function hungListener(t: Test): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address();
  return `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
}

/** A fixture, a daemon on it that encrypts every object with its default key (ready), and a bucket. */
async function autoEncrypting(t: Test): Promise<{ kes: Awaited<ReturnType<typeof kesServer>>; d: Awaited<ReturnType<typeof startDaemonFor>>; s3: ReturnType<typeof wideS3Client>; bucket: string }> {
  const kes = await kesServer(t, { pki });
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_AUTO_ENCRYPTION: 'on' } }) });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  return { kes, d, s3, bucket: await createBucket(s3) };
}

t.test('readiness answers at once when one of two endpoints hangs before TLS and the other is online', async (t) => {
  const good = await kesServer(t, { pki });
  const hung = await hungListener(t);
  const env = kesEnv([good]);
  env.S3_KMS_KES_ENDPOINT = `${hung},${good.url}`;
  const d = await startDaemonFor(t, { env });
  await waitReady(d.endpoint, 200, 60_000);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(1200); // past the readiness memo
    const started = Date.now();
    t.equal(await readyStatus(d.endpoint), 200, `probe ${i + 1}: ready`);
    times.push(Date.now() - started);
  }
  t.ok(Math.max(...times) < 2500, `each probe answered in under 2.5 s (${times.join(', ')} ms; was 10.5 s)`);
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

/**
 * An object written under KES (auto-encryption, a 60 s cache TTL), and a new daemon on its data
 * directory: nothing cached, so its first read must unwrap the object's data key at KES.
 */
async function objectInColdDaemon(t: Test, seed: number): Promise<{ kes: Awaited<ReturnType<typeof kesServer>>; s3: ReturnType<typeof wideS3Client>; bucket: string; body: Buffer }> {
  const kes = await kesServer(t, { pki });
  const env = kesEnv([kes], { extra: { S3_KMS_AUTO_ENCRYPTION: 'on', S3_KMS_CACHE_TTL: '60' } });
  const first = await startDaemonFor(t, { env });
  await waitReady(first.endpoint);
  const bucket = await createBucket(wideS3Client(first));
  const body = testBytes(200_000, seed);
  await wideS3Client(first).send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: body }));
  await first.stop();
  const d = await startDaemonFor(t, { env, dataDir: first.dataDir });
  await waitReady(d.endpoint);
  return { kes, s3: wideS3Client(d), bucket, body };
}

t.test('a decrypt answer cut short is refused and not cached: the object reads once KES is right', async (t) => {
  const { kes, s3, bucket, body } = await objectInColdDaemon(t, 7);
  kes.setFaults({ shortPlaintext: true });
  t.equal(await s3Code(getBytes(s3, { Bucket: bucket, Key: 'obj' })), 'ServiceUnavailable/503', 'a 16-byte data key: 503, not read');
  kes.setFaults({ shortPlaintext: false });
  t.same(await getBytes(s3, { Bucket: bucket, Key: 'obj' }), body, 'KES right again: the object reads at once (nothing bad was cached)');
});

t.test('a decrypt answer of the right length but the wrong key is not kept: the read after KES is right again succeeds', async (t) => {
  // A proxy that mixed up two answers: 32 bytes that do not unseal the object key. The read is
  // refused (XMinioObjectTampered: s3d cannot tell this from an edited record), and the data key was
  // cached before the unseal failed, so every read failed until the cache TTL (here 60 s) ran out.
  const { kes, s3, bucket, body } = await objectInColdDaemon(t, 8);
  kes.setFaults({ wrongPlaintext: 1 });
  t.equal(await s3Code(getBytes(s3, { Bucket: bucket, Key: 'obj' })), 'XMinioObjectTampered/500', 'a wrong data key: refused, no byte served');
  t.same(await getBytes(s3, { Bucket: bucket, Key: 'obj' }), body, 'KES right again: the next read asks it again and reads the object');
});

t.test('a generate answer whose ciphertext no KES can open is refused: the PUT is a 503 and stores nothing', async (t) => {
  // The data key would seal the object, and its ciphertext (what the record keeps to get the key
  // back) would be unreadable for good: the object lost once the data key left the cache.
  const { kes, s3, bucket } = await autoEncrypting(t);
  kes.setFaults({ shortCiphertext: true });
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: 'x' }))), 'ServiceUnavailable/503', 'a 40-byte ciphertext: 503');
  t.equal(await s3Code(getBytes(s3, { Bucket: bucket, Key: 'obj' })), 'NoSuchKey/404', 'nothing was stored');
  kes.setFaults({ shortCiphertext: false });
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: 'x' }))), 'ok', 'KES right again: the PUT works');
});

t.test('the default key deleted at KES: SSE-S3 writes are refused, and the log says why', async (t) => {
  const { kes, d, s3, bucket } = await autoEncrypting(t);
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: Number(new URL(kes.url).port), path: `/v1/key/delete/${KES_TEST_KEY}`, method: 'DELETE', key: kes.certs.admin.key, cert: kes.certs.admin.cert, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(status, 200, 'the key is deleted at KES');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }))), 'KMS.NotFoundException/400', 'an SSE-S3 PUT: KMS.NotFoundException');
  const message = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' })).then(() => '', (e: Error) => e.message);
  t.equal(message, `The KMS key "${KES_TEST_KEY}" does not exist.`, 'the client is told which key, not KES\'s words');
  const line = await d.waitForLog((l) => l.msg === 'KMS request failed', 5000);
  t.equal(line.level, 40, 'a warning');
  t.match(JSON.stringify(line.err), /does not exist/, 'naming the missing key');
});
