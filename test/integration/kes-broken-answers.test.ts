// KES, or something in front of it, answering wrong, with the daemon against the fixture over real
// mTLS (found by a sweep): a decrypt answer cut short was cached and broke its objects after KES
// was right. A hung endpoint's effect on readiness is in kes-hung-endpoint.test.ts, a proxy's 500
// page and the outage's log lines in kes-outage-log.test.ts (one file took 37 s alone, 62 s beside
// a busy core: too near tap's 180 s on a loaded CI machine).

import t from 'tap';
import type { Test } from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { request as httpsRequest } from 'node:https';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { createTestPki } from '../fixtures/kes-server/certs.js';
import { autoEncryptingDaemon, KES_TEST_KEY, kesEnv, kesServer, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';

const pki = await createTestPki();

const autoEncrypting = (t: Test): ReturnType<typeof autoEncryptingDaemon> => autoEncryptingDaemon(t, pki);

/**
 * Objects written under KES (auto-encryption, a 60 s cache TTL), and a new daemon on their data
 * directory: nothing cached, so the first read of each must unwrap its data key at KES. The two
 * cold-read cases share it (one daemon pair, not two): each reads its own object, under a data
 * key of its own, so one case's fault and cache entries are not the other's.
 */
async function objectsInColdDaemon(t: Test, keys: readonly string[]): Promise<{ kes: Awaited<ReturnType<typeof kesServer>>; s3: ReturnType<typeof wideS3Client>; bucket: string; bodies: Map<string, Buffer> }> {
  const kes = await kesServer(t, { pki });
  const env = kesEnv([kes], { extra: { S3_KMS_AUTO_ENCRYPTION: 'on', S3_KMS_CACHE_TTL: '60' } });
  const first = await startDaemonFor(t, { env });
  await waitReady(first.endpoint);
  const bucket = await createBucket(wideS3Client(first));
  const bodies = new Map(keys.map((key, i) => [key, testBytes(200_000, 7 + i)]));
  for (const [key, body] of bodies) await wideS3Client(first).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  await first.stop();
  const d = await startDaemonFor(t, { env, dataDir: first.dataDir });
  await waitReady(d.endpoint);
  return { kes, s3: wideS3Client(d), bucket, bodies };
}

const cold = await objectsInColdDaemon(t, ['short', 'wrong']);

t.test('a decrypt answer cut short is refused and not cached: the object reads once KES is right', async (t) => {
  const { kes, s3, bucket, bodies } = cold;
  kes.setFaults({ shortPlaintext: true });
  t.equal(await s3Code(getBytes(s3, { Bucket: bucket, Key: 'short' })), 'ServiceUnavailable/503', 'a 16-byte data key: 503, not read');
  kes.setFaults({ shortPlaintext: false });
  t.same(await getBytes(s3, { Bucket: bucket, Key: 'short' }), bodies.get('short'), 'KES right again: the object reads at once (nothing bad was cached)');
});

t.test('a decrypt answer of the right length but the wrong key is not kept: the read after KES is right again succeeds', async (t) => {
  // A proxy that mixed up two answers: 32 bytes that do not unseal the object key. The read is
  // refused (XMinioObjectTampered: s3d cannot tell this from an edited record), and the data key was
  // cached before the unseal failed, so every read failed until the cache TTL (here 60 s) ran out.
  const { kes, s3, bucket, bodies } = cold;
  kes.setFaults({ wrongPlaintext: 1 });
  t.equal(await s3Code(getBytes(s3, { Bucket: bucket, Key: 'wrong' })), 'XMinioObjectTampered/500', 'a wrong data key: refused, no byte served');
  t.same(await getBytes(s3, { Bucket: bucket, Key: 'wrong' }), bodies.get('wrong'), 'KES right again: the next read asks it again and reads the object');
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
