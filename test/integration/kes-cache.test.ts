// Proofs of the unwrap cache with the daemon against the KES fixture over real mTLS, counted by
// the fixture: 64 concurrent GETs of one cold SSE-S3 object → exactly one KES decrypt, a repeat
// pass → none; 64 concurrent GETs of 64 distinct cold objects → one bulk call when the server
// offers the bulk route, else one decrypt each with at most S3_KMS_MAX_IN_FLIGHT in flight;
// KES calls per SSE-S3 PUT ≤ 1 (bench target kes_calls_per_put).
// "Cold" = a freshly restarted daemon: the cache also keeps the data key from generate (PUT).

import t from 'tap';
import type { Test } from 'tap';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadBucketCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { bucketName, startDaemon, testBytes } from '../helpers/daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import type { KesServerHandle } from '../fixtures/kes-server/server.js';
import { kesEnv, kesServer, keyCalls, metricSample, requestDelta, scrape, waitReady, wideS3Client } from '../helpers/kes.js';
import { getBytes } from '../helpers/s3.js';

const N = 64;

/** A daemon on `dataDir` (new when undefined), ready, with a wide client whose sockets are open. */
async function daemon(t: Test, env: Record<string, string>, bucket: string, dataDir?: string): Promise<{ d: TestDaemon; s3: S3Client }> {
  const d = await startDaemon({ env, dataDir });
  t.teardown(() => d.stop());
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  if (dataDir !== undefined) {
    // Open N keep-alive connections first, so the measured GETs arrive together.
    await Promise.all(Array.from({ length: N }, () => s3.send(new HeadBucketCommand({ Bucket: bucket }))));
  }
  return { d, s3 };
}

t.test('64 concurrent GETs of one cold SSE-S3 object: exactly one KES decrypt; a repeat pass: none', async (t) => {
  const kes = await kesServer(t);
  // All 64 GETs in flight at once (S3_DATA_REQUESTS_MAX would queue half of this file-backed
  // object's readers, and those would find the key cached).
  const env = { ...kesEnv([kes]), S3_DATA_REQUESTS_MAX: '128' };
  const bucket = bucketName();
  const body = testBytes(200_000, 3);
  const first = await daemon(t, env, bucket);
  await first.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await first.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hot', Body: body, ServerSideEncryption: 'AES256' }));
  await first.d.stop();

  const { d, s3 } = await daemon(t, env, bucket, first.d.dataDir); // cold cache
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const before = kes.counters();
  const got = await Promise.all(Array.from({ length: N }, () => getBytes(s3, { Bucket: bucket, Key: 'hot' })));
  t.ok(got.every((b) => b.equals(body)), '64 correct bodies');
  const cold = requestDelta(before, kes.counters());
  delete cold.status;
  t.same(cold, { decrypt: 1 }, 'exactly one KES call, a decrypt, for 64 concurrent cold GETs');

  const mid = kes.counters();
  const again = await Promise.all(Array.from({ length: N }, () => getBytes(s3, { Bucket: bucket, Key: 'hot' })));
  t.ok(again.every((b) => b.equals(body)));
  t.equal(keyCalls(requestDelta(mid, kes.counters())), 0, 'repeat pass: no KES call at all');

  const m = await scrape(d.endpoint);
  t.equal(metricSample(m, 's3d_kms_cache_misses_total'), 1, 'metrics: one miss');
  t.equal(metricSample(m, 's3d_kms_cache_coalesced_total'), N - 1, 'metrics: 63 joined it');
  // The repeat pass is answered by the unsealed object-key cache in front of the KMS cache.
  t.equal(metricSample(m, 's3d_sse_object_key_cache_hits_total'), N, 'metrics: 64 object-key cache hits on the repeat pass');
  t.equal(metricSample(m, 's3d_kms_cache_hits_total'), 0, 'metrics: so the KMS cache was not even asked');
  t.equal(metricSample(m, 's3d_sse_object_key_cache_misses_total'), N, 'metrics: the 64 cold GETs missed the object-key cache');
  t.equal(metricSample(m, 's3d_kms_requests_total', { endpoint: kes.url, route: 'decrypt', code: '200' }), 1);
});

async function putDistinct(t: Test, env: Record<string, string>, kes: KesServerHandle): Promise<{ bucket: string; dataDir: string; bodies: Buffer[] }> {
  const bucket = bucketName();
  const { d, s3 } = await daemon(t, env, bucket);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const bodies = Array.from({ length: N }, (_, i) => testBytes(1000 + i, i + 1));
  const before = kes.counters();
  await Promise.all(bodies.map((b, i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `o/${i}`, Body: b, ServerSideEncryption: 'AES256' }))));
  const delta = requestDelta(before, kes.counters());
  delete delta.status;
  t.same(delta, { generate: N }, `${N} SSE-S3 PUTs: ${N} generate calls, nothing else`);
  await d.stop();
  return { bucket, dataDir: d.dataDir, bodies };
}

t.test('64 concurrent GETs of 64 distinct cold objects, bulk route offered: one bulk call', async (t) => {
  const kes = await kesServer(t, { bulkDecrypt: true });
  // A burst from one client spreads over tens of milliseconds (SigV4 signing is serial in the
  // client): the window the cache waits for companions must cover it. The default (2 ms) trades
  // less batching for latency; this proof states its window.
  const env = kesEnv([kes], { extra: { S3_KMS_BATCH_WINDOW_MS: '250' } });
  const { bucket, dataDir, bodies } = await putDistinct(t, env, kes);
  const { d, s3 } = await daemon(t, env, bucket, dataDir);
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const before = kes.counters();
  const got = await Promise.all(bodies.map((_, i) => getBytes(s3, { Bucket: bucket, Key: `o/${i}` })));
  t.ok(got.every((b, i) => b.equals(bodies[i]!)), '64 correct bodies');
  const after = kes.counters();
  const delta = requestDelta(before, after);
  delete delta.status;
  t.same(delta, { 'bulk-decrypt': 1 }, 'one KES call: a bulk decrypt');
  t.equal(after.bulkItems - before.bulkItems, N, 'carrying all 64 ciphertexts');
  const m = await scrape(d.endpoint);
  t.equal(metricSample(m, 's3d_kms_bulk_decrypt_size_count'), 1);
  t.equal(metricSample(m, 's3d_kms_bulk_decrypt_size_sum'), N);
  t.equal(metricSample(m, 's3d_kms_requests_total', { endpoint: kes.url, route: 'bulk-decrypt', code: '200' }), 1);
});

t.test('64 concurrent GETs of 64 distinct cold objects, no bulk route: at most S3_KMS_MAX_IN_FLIGHT calls in flight', async (t) => {
  const kes = await kesServer(t);
  const env = kesEnv([kes], { extra: { S3_KMS_MAX_IN_FLIGHT: '4' } });
  const { bucket, dataDir, bodies } = await putDistinct(t, env, kes);
  const { d, s3 } = await daemon(t, env, bucket, dataDir);
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  kes.resetCounters();
  kes.setFaults({ latencyMs: 25 }); // long enough for the calls to overlap
  const got = await Promise.all(bodies.map((_, i) => getBytes(s3, { Bucket: bucket, Key: `o/${i}` })));
  kes.setFaults({ latencyMs: 0 });
  t.ok(got.every((b, i) => b.equals(bodies[i]!)), '64 correct bodies');
  const c = kes.counters();
  delete c.requests.status;
  t.same(c.requests, { decrypt: N }, 'one decrypt per distinct object');
  t.equal(c.maxInFlight.decrypt, 4, 'never more than 4 decrypts in flight at the server, and the bound was reached');
  const m = await scrape(d.endpoint);
  t.equal(metricSample(m, 's3d_kms_unwraps_in_flight'), 0);
  t.equal(metricSample(m, 's3d_kms_calls_total', { route: 'decrypt' }), N);
});

t.test('KES calls per SSE-S3 PUT ≤ 1 (kes_calls_per_put), multipart included', async (t) => {
  const kes = await kesServer(t);
  const bucket = bucketName();
  const { d, s3 } = await daemon(t, kesEnv([kes]), bucket);
  t.teardown(() => d.cleanup());
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const puts = 32;
  const before = kes.counters();
  for (let i = 0; i < puts; i++) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `p/${i}`, Body: testBytes(4096, i), ServerSideEncryption: 'AES256' }));
  }
  const single = requestDelta(before, kes.counters());
  const perPut = keyCalls(single) / puts;
  t.ok(perPut <= 1, `kes_calls_per_put = ${perPut} (${JSON.stringify(single)})`);
  t.equal(single.generate, puts, 'one generate per PUT');

  const mpBefore = kes.counters();
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', ServerSideEncryption: 'AES256' }));
  const part = testBytes(5 * 1024 * 1024, 9);
  const etags: string[] = [];
  for (let n = 1; n <= 3; n++) {
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: n, Body: n === 3 ? part.subarray(0, 1000) : part }));
    etags.push(r.ETag!);
  }
  await s3.send(new CompleteMultipartUploadCommand({
    Bucket: bucket, Key: 'mp', UploadId: up.UploadId,
    MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
  }));
  const mp = requestDelta(mpBefore, kes.counters());
  t.equal(keyCalls(mp), 1, `a 3-part SSE-S3 multipart upload: one KES call (${JSON.stringify(mp)})`);
  const got = await getBytes(s3, { Bucket: bucket, Key: 'mp' });
  t.equal(got.length, 2 * part.length + 1000);
});
