// Proofs of the unwrap cache with the daemon against the KES fixture over real mTLS, counted by
// the fixture: 64 concurrent GETs of one cold SSE-S3 object → exactly one KES decrypt, a repeat
// pass → none; 64 concurrent GETs of 64 distinct cold objects → one bulk call when the server
// offers the bulk route, else one decrypt each with at most S3_KMS_MAX_IN_FLIGHT in flight;
// KES calls per SSE-S3 PUT ≤ 1 (bench target kes_calls_per_put).
// "Cold" = a freshly restarted daemon: the cache also keeps the data key from generate (PUT).
// The overlap each proof needs is forced, not hoped for (CI runs on two loaded cores): the fixture
// holds the KES calls until every GET has reached the cache, or the daemon is stopped (SIGSTOP)
// while GETs are written, so it reads them all at once.

import t from 'tap';
import type { Test } from 'tap';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { connect, type Socket } from 'node:net';
import { bucketName, startDaemon, testBytes } from '../helpers/daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import type { KesServerHandle } from '../fixtures/kes-server/server.js';
import { buildHeaders, type RawResponse } from '../helpers/http.js';
import { kesEnv, kesServer, keyCalls, metricSample, requestDelta, scrape, waitReady, wideS3Client } from '../helpers/kes.js';
import { getBytes } from '../helpers/s3.js';
import { Received, parseHttpResponse } from '../helpers/tcp.js';
import { pollUntil } from '../helpers/wait.js';

const N = 64;
/**
 * For the proofs that hold KES calls at the fixture: the daemon's per-attempt KES timeout (default
 * 10 s) must not run out while a call is held, else its retry is a second call.
 */
const LONG_KES_TIMEOUT = { S3_KMS_KES_TIMEOUT: '120' };
/** How long a proof waits for the GETs to reach the cache; a correct daemon needs well under 1 s. */
const ARRIVAL_DEADLINE_MS = 30_000;

const sample = (m: string, name: string): number => metricSample(m, name) ?? 0;
/** GETs that asked the unwrap cache and did not find the key: those that started an unwrap and those that joined one. */
const askedKms = (m: string): number => sample(m, 's3d_kms_cache_misses_total') + sample(m, 's3d_kms_cache_coalesced_total');

/** `p`, its rejection handled now too (it is awaited after some polling; an early failure must not be an unhandled rejection). */
function settleLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** A daemon on `dataDir` (new when undefined), ready, with a wide client. */
async function daemon(t: Test, env: Record<string, string>, dataDir?: string): Promise<{ d: TestDaemon; s3: S3Client }> {
  const d = await startDaemon({ env, dataDir });
  t.teardown(() => d.stop());
  await waitReady(d.endpoint);
  return { d, s3: wideS3Client(d) };
}

/** A signed request of the test credentials, as raw bytes. */
function signedRequest(d: TestDaemon, method: string, path: string): Buffer {
  const headers = buildHeaders(d.port, { method, path, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, sign: { payloadHash: 'UNSIGNED-PAYLOAD' } });
  return Buffer.from(`${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
}

/** The next whole response on `sock` (head, and a Content-Length body unless `head`). */
function nextResponse(sock: Socket, head = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const got = new Received();
    const done = (): void => {
      sock.off('data', onData);
      sock.off('close', onClose);
    };
    const onData = (c: Buffer): void => {
      if (!got.push(c)) return;
      const buf = got.bytes;
      const end = buf.indexOf('\r\n\r\n');
      const res = end < 0 ? undefined : parseHttpResponse(buf.subarray(0, end + 4));
      if (!res) return;
      const cl = res.headers['content-length'];
      const len = head || typeof cl !== 'string' ? 0 : Number(cl);
      got.need = end + 4 + len;
      if (buf.length < got.need) return;
      done();
      resolve({ status: res.status, headers: res.headers, body: buf.subarray(end + 4, end + 4 + len) });
    };
    const onClose = (): void => {
      done();
      reject(new Error(`connection closed after ${got.length} bytes of a response`));
    };
    sock.on('data', onData);
    sock.on('close', onClose);
  });
}

/** `n` kept-alive connections to `d`, each of which has answered a HEAD of `bucket`: accepted and idle. */
async function openConnections(t: Test, d: TestDaemon, bucket: string, n: number): Promise<Socket[]> {
  const socks = await Promise.all(Array.from({ length: n }, () => new Promise<Socket>((resolve, reject) => {
    const s = connect(d.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  })));
  t.teardown(() => socks.forEach((s) => s.destroy()));
  const heads = await Promise.all(socks.map((s) => {
    const res = nextResponse(s, true);
    s.write(signedRequest(d, 'HEAD', `/${bucket}`));
    return res;
  }));
  if (heads.some((r) => r.status !== 200)) throw new Error(`HEAD bucket: ${heads.map((r) => r.status).join(' ')}`);
  return socks;
}

/**
 * `requests[i]` written on `socks[i]` while the daemon is stopped (SIGSTOP), so that when it goes
 * on it finds all of them waiting at once, however slowly this process wrote them. Resolves once
 * the daemon goes on: the answers to come, and when it was let go (performance.now(), just before).
 */
async function deliverAtOnce(d: TestDaemon, socks: Socket[], requests: Buffer[]): Promise<{ answers: Promise<RawResponse[]>; continuedAt: number }> {
  const answers = settleLater(Promise.all(socks.map((s) => nextResponse(s))));
  if (!d.proc.kill('SIGSTOP')) throw new Error('could not stop the daemon');
  let continuedAt = 0;
  try {
    await Promise.all(socks.map((s, i) => new Promise<void>((resolve, reject) => s.write(requests[i]!, (err) => (err ? reject(err) : resolve())))));
  } finally {
    continuedAt = performance.now();
    d.proc.kill('SIGCONT');
  }
  return { answers, continuedAt };
}

t.test('64 concurrent GETs of one cold SSE-S3 object: exactly one KES decrypt; a repeat pass: none', async (t) => {
  const kes = await kesServer(t);
  // All 64 GETs in flight at once (S3_DATA_REQUESTS_MAX would queue half of this file-backed
  // object's readers, and those would find the key cached).
  const env = { ...kesEnv([kes], { extra: LONG_KES_TIMEOUT }), S3_DATA_REQUESTS_MAX: '128' };
  const bucket = bucketName();
  const body = testBytes(200_000, 3);
  const first = await daemon(t, env);
  await first.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await first.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hot', Body: body, ServerSideEncryption: 'AES256' }));
  await first.d.stop();

  const { d, s3 } = await daemon(t, env, first.d.dataDir); // cold cache
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const before = kes.counters();
  // The decrypt is held until all 64 GETs have asked the cache: the later GETs arriving after the
  // answer (a slow client or a stalled loop) would find the key cached and prove nothing.
  kes.setFaults({ hold: true });
  const gets = settleLater(Promise.all(Array.from({ length: N }, () => getBytes(s3, { Bucket: bucket, Key: 'hot' }))));
  const held = await pollUntil(() => scrape(d.endpoint), (m) => askedKms(m) >= N, ARRIVAL_DEADLINE_MS, 50);
  kes.setFaults({ hold: false });
  t.equal(askedKms(held), N, 'all 64 GETs asked the unwrap cache while the first KES call was held');
  const got = await gets;
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
  const { d, s3 } = await daemon(t, env);
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
  // The cache waits this long after the first cold unwrap for companions: a client's burst spreads
  // over tens of milliseconds (SigV4 signing is serial), and this proof sends its GETs in two
  // halves to show the wait covers such a spread. The default (2 ms) trades less batching for
  // latency; this proof takes the largest window allowed, for the margin below.
  const WINDOW_MS = 1000;
  const env = kesEnv([kes], { extra: { S3_KMS_BATCH_WINDOW_MS: String(WINDOW_MS) } });
  const { bucket, dataDir, bodies } = await putDistinct(t, env, kes);
  const d = await startDaemon({ env, dataDir });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  await waitReady(d.endpoint);
  const socks = await openConnections(t, d, bucket, N);
  const requests = bodies.map((_, i) => signedRequest(d, 'GET', `/${bucket}/o/${i}`));
  const half = N / 2;
  const before = kes.counters();
  // Each half reaches the daemon at once (whatever this process's pace); the second once the
  // daemon has taken the first to its unwrap cache, which opened the window.
  const first = await deliverAtOnce(d, socks.slice(0, half), requests.slice(0, half));
  const seen = await pollUntil(() => scrape(d.endpoint), (m) => sample(m, 's3d_kms_cache_misses_total') >= half, ARRIVAL_DEADLINE_MS, 20);
  t.equal(sample(seen, 's3d_kms_cache_misses_total'), half, 'the first 32 GETs asked the unwrap cache');
  const second = await deliverAtOnce(d, socks.slice(half), requests.slice(half));
  // At most this long after the window opened, the second half was in the daemon's sockets.
  const gapMs = performance.now() - first.continuedAt;
  const responses = [...(await first.answers), ...(await second.answers)];
  t.same(responses.map((r) => r.status), bodies.map(() => 200), '64 GETs answered 200');
  t.ok(responses.every((r, i) => r.body.equals(bodies[i]!)), '64 correct bodies');
  const after = kes.counters();
  const delta = requestDelta(before, after);
  delete delta.status;
  t.equal(after.bulkItems - before.bulkItems, N, 'all 64 ciphertexts went in bulk calls');
  const m = await scrape(d.endpoint);
  t.equal(metricSample(m, 's3d_kms_bulk_decrypt_size_sum'), N);
  // Typically ~50 ms apart (a few hundred on a loaded machine): half the window is a wide margin.
  // A stall of this process longer than that cannot tell a wait that ended early from a late
  // second half, so such a run proves the bulk calls only.
  if (gapMs < WINDOW_MS / 2) {
    t.same(delta, { 'bulk-decrypt': 1 }, `one KES call: a bulk decrypt (the halves ${Math.round(gapMs)} ms apart)`);
    t.equal(metricSample(m, 's3d_kms_bulk_decrypt_size_count'), 1);
    t.equal(metricSample(m, 's3d_kms_requests_total', { endpoint: kes.url, route: 'bulk-decrypt', code: '200' }), 1);
  } else {
    t.comment(`the halves were ${Math.round(gapMs)} ms apart (this process stalled): one bulk call each at most`);
    t.ok((delta['bulk-decrypt'] ?? 0) <= 2 && Object.keys(delta).length === 1, `bulk decrypts only, at most two (${JSON.stringify(delta)})`);
  }
});

t.test('64 concurrent GETs of 64 distinct cold objects, no bulk route: at most S3_KMS_MAX_IN_FLIGHT calls in flight', async (t) => {
  const kes = await kesServer(t);
  const env = kesEnv([kes], { extra: { S3_KMS_MAX_IN_FLIGHT: '4', ...LONG_KES_TIMEOUT } });
  const { bucket, dataDir, bodies } = await putDistinct(t, env, kes);
  const { d, s3 } = await daemon(t, env, dataDir);
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  kes.resetCounters();
  // The decrypts are held until every GET is waiting for its key and the daemon has sent what it
  // may: the bound is then what keeps the other 60 back (not calls too short to overlap), and
  // without it all 64 would be at the server.
  kes.setFaults({ hold: true });
  const gets = settleLater(Promise.all(bodies.map((_, i) => getBytes(s3, { Bucket: bucket, Key: `o/${i}` }))));
  const decrypts = (): number => kes.counters().requests.decrypt ?? 0;
  const held = await pollUntil(() => scrape(d.endpoint), (m) => sample(m, 's3d_kms_cache_misses_total') >= N && decrypts() >= 4, ARRIVAL_DEADLINE_MS, 50);
  const atServer = decrypts();
  kes.setFaults({ hold: false });
  t.equal(sample(held, 's3d_kms_cache_misses_total'), N, 'all 64 GETs asked the unwrap cache while the decrypts were held');
  t.equal(atServer, 4, 'with all 64 waiting, 4 decrypts had reached the server');
  const got = await gets;
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
  const { d, s3 } = await daemon(t, kesEnv([kes]));
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
