// HEAD and conditional reads of SSE-S3/SSE-KMS objects answer from the object record: no KMS call
// even cold (caches off, counted at the KES fixture), and they keep working while KES is down. A
// conditional GET answered 304 or 412 unseals nothing either. SSE-C HEAD still checks the
// customer key (missing → 400, wrong → 403), as on S3.

import t from 'tap';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { createTestPki } from '../fixtures/kes-server/certs.js';
import { KES_TEST_KEY, keyCalls, kesEnv, kesServer, requestDelta, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { ssec } from '../helpers/sse.js';

const pki = await createTestPki();

/** HTTP status of an SDK call (bodyless HEAD/304 errors carry no S3 code the SDK could name). */
async function statusOf(p: Promise<unknown>): Promise<number | string> {
  const code = await s3Code(p);
  return code === 'ok' ? 200 : Number(code.split('/').pop()) || code;
}

t.test('HEAD and 304/412 of SSE-S3/SSE-KMS objects cost no KMS call and survive a KES outage; SSE-C HEAD checks the key', async (t) => {
  const kes = await kesServer(t, { pki });
  // Both caches off: every unseal would be a cold KES decrypt.
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_CACHE_TTL: '0' } }), tls: true });
  await waitReady(d.endpoint, 200, 30_000, d.caCert);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  const body = testBytes(70_000, 9);
  const ck = ssec(Buffer.alloc(32, 0x33));
  const kinds = {
    's3': { ServerSideEncryption: 'AES256' as const },
    'kms': { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: KES_TEST_KEY },
  };
  const etags: Record<string, string> = {};
  for (const [key, sse] of Object.entries(kinds)) {
    etags[key] = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...sse }))).ETag!;
  }
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ssec', Body: body, ...ck }));

  const reads = async (phase: string): Promise<void> => {
    for (const key of Object.keys(kinds)) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      t.match(head, { ETag: etags[key], ContentLength: body.length, ServerSideEncryption: kinds[key as keyof typeof kinds].ServerSideEncryption }, `${phase}: HEAD ${key}`);
      t.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: etags[key] }))), 304, `${phase}: HEAD ${key} If-None-Match → 304`);
      t.equal(await statusOf(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: etags[key] }))), 304, `${phase}: GET ${key} If-None-Match → 304`);
      t.equal(await statusOf(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: '"0123456789abcdef0123456789abcdef"' }))), 412, `${phase}: GET ${key} If-Match → 412`);
      t.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...ck }))), 400, `${phase}: HEAD ${key} with SSE-C headers refused`);
    }
    t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ssec', ...ck })), { ContentLength: body.length }, `${phase}: SSE-C HEAD with the key`);
    t.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ssec' }))), 400, `${phase}: SSE-C HEAD without the key`);
    t.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ssec', ...ssec(Buffer.alloc(32, 0x34)) }))), 403, `${phase}: SSE-C HEAD with a wrong key`);
  };

  const before = kes.counters();
  await reads('KES up');
  t.equal(keyCalls(requestDelta(before, kes.counters())), 0, `cold HEADs and conditional failures: no KES key call (${JSON.stringify(requestDelta(before, kes.counters()))})`);
  const beforeGet = kes.counters();
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 's3' })).equals(body), 'a GET reads the body');
  t.same(requestDelta(beforeGet, kes.counters()), { decrypt: 1 }, 'a cold GET does cost its decrypt (the caches really are off)');

  await kes.stop();
  await waitReady(d.endpoint, 503, 10_000, d.caCert);
  await reads('KES down');
  t.equal(await s3Code(getBytes(s3, { Bucket: bucket, Key: 's3' })), 'ServiceUnavailable/503', 'KES down: a GET of the body still needs the KMS');
});
