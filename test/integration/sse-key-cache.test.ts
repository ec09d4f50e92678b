// The unsealed object-key cache on the GET path (sse/key-cache.ts), against the real daemon with
// the built-in KMS: SSE-S3 and SSE-KMS objects (inline, file-backed read synchronously, file-backed
// read on the thread pool, multipart) read correctly again and again, sequentially and
// concurrently, whole and ranged; an object replaced under the same name (overwrite, delete and
// put, copy onto itself, another kind) never reads with a stale key; a deleted object is gone;
// S3_KMS_CACHE_TTL=0 and a short TTL keep every read correct; a restart reads everything back;
// a malformed S3_KMS_CACHE_TTL with the built-in KMS stops start-up with a message naming it.

import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { md5Base64 } from '../helpers/hash.js';
import { encodeKey, errorCode, send, type RawResponse } from '../helpers/http.js';
import { sleep } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;
type Kind = 'none' | 'SSE-S3' | 'SSE-KMS';

/** Sizes that take each read path: inline in LMDB, a data file read synchronously (≤ S3_SYNC_READ_MAX), one read on the thread pool. */
const SIZES = { inline: 20 * KiB, small: 300_000, large: 3 * MiB + 555 } as const;

function sseHeaders(kind: Kind): Record<string, string> {
  switch (kind) {
    case 'none':
      return {};
    case 'SSE-S3':
      return { 'x-amz-server-side-encryption': 'AES256' };
    case 'SSE-KMS':
      return { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'test-key' };
  }
}

function path(bucket: string, key: string): string {
  return `/${bucket}/${encodeKey(key)}`;
}

async function put(d: TestDaemon, bucket: string, key: string, body: Buffer, kind: Kind): Promise<void> {
  const r = await send(d.port, { method: 'PUT', path: path(bucket, key), body, headers: sseHeaders(kind) });
  if (r.status !== 200) throw new Error(`PUT ${key}: HTTP ${r.status} ${r.body.toString()}`);
  const sse = r.headers['x-amz-server-side-encryption'];
  const want = kind === 'SSE-S3' ? 'AES256' : kind === 'SSE-KMS' ? 'aws:kms' : undefined;
  if (sse !== want) throw new Error(`PUT ${key}: x-amz-server-side-encryption ${String(sse)}, want ${String(want)}`);
}

function get(d: TestDaemon, bucket: string, key: string, range?: string): Promise<RawResponse> {
  return send(d.port, { method: 'GET', path: path(bucket, key), headers: range ? { range } : {} });
}

/** Asserts a full GET answers 200 with exactly `body`; returns whether it did. */
async function expectObject(t: Test, d: TestDaemon, bucket: string, key: string, body: Buffer, what: string): Promise<boolean> {
  const r = await get(d, bucket, key);
  const ok = r.status === 200 && r.body.equals(body);
  t.ok(ok, `${what}: ${ok ? `${body.length} bytes` : `HTTP ${r.status}, ${r.body.length} bytes (${errorCode(r.body) ?? 'wrong bytes'})`}`);
  return ok;
}

async function expectRange(t: Test, d: TestDaemon, bucket: string, key: string, body: Buffer, a: number, b: number, what: string): Promise<void> {
  const r = await get(d, bucket, key, `bytes=${a}-${b}`);
  t.ok(r.status === 206 && r.body.equals(body.subarray(a, b + 1)), `${what}: bytes=${a}-${b} (HTTP ${r.status}, ${r.body.length} bytes)`);
}

async function expectNoSuchKey(t: Test, d: TestDaemon, bucket: string, key: string, what: string): Promise<void> {
  const r = await get(d, bucket, key);
  t.same({ status: r.status, code: errorCode(r.body) }, { status: 404, code: 'NoSuchKey' }, what);
}

async function newBucket(d: TestDaemon, prefix: string): Promise<string> {
  const bucket = `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
  const r = await send(d.port, { method: 'PUT', path: `/${bucket}` });
  if (r.status !== 200) throw new Error(`CreateBucket: HTTP ${r.status}`);
  return bucket;
}

/** The object-key cache's counters from the Prometheus endpoint. */
async function cacheCounters(d: TestDaemon): Promise<{ hits: number; misses: number; size: number }> {
  const r = await send(d.port, { method: 'GET', path: '/metrics', sign: false });
  const text = r.body.toString();
  const sample = (name: string): number => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!m) throw new Error(`metric ${name} not exported`);
    return Number(m[1]);
  };
  return { hits: sample('s3d_sse_object_key_cache_hits_total'), misses: sample('s3d_sse_object_key_cache_misses_total'), size: sample('s3d_sse_object_key_cache_size') };
}

async function counted(d: TestDaemon, fn: () => Promise<void>): Promise<{ hits: number; misses: number }> {
  const a = await cacheCounters(d);
  await fn();
  const b = await cacheCounters(d);
  return { hits: b.hits - a.hits, misses: b.misses - a.misses };
}

/** The read/replace rounds every cache setting must pass. */
async function readAndReplaceRounds(t: Test, d: TestDaemon, label: string): Promise<void> {
  const bucket = await newBucket(d, 'kcache');
  let seed = 1000;
  for (const kind of ['SSE-S3', 'SSE-KMS'] as const) {
    for (const [name, size] of Object.entries(SIZES)) {
      const key = `${kind}/${name}`;
      const what = `${label} ${kind} ${name}`;
      const v1 = testBytes(size, seed++);
      await put(d, bucket, key, v1, kind);
      for (let i = 1; i <= 3; i++) await expectObject(t, d, bucket, key, v1, `${what}: read ${i}`);
      await expectRange(t, d, bucket, key, v1, 1, Math.min(size - 1, 70_000), what);
      await expectRange(t, d, bucket, key, v1, size - 10, size - 1, what);
      const heads = await send(d.port, { method: 'HEAD', path: path(bucket, key) });
      t.equal(heads.headers['content-length'], String(size), `${what}: HEAD`);

      // Overwrite with new content under the same name: a new object key, a new sealed record.
      const v2 = testBytes(size, seed++);
      await put(d, bucket, key, v2, kind);
      await expectObject(t, d, bucket, key, v2, `${what}: after an overwrite, the new content`);
      await expectObject(t, d, bucket, key, v2, `${what}: and again`);

      // Overwrite with another size class (inline ↔ file) and back.
      const other = testBytes(size === SIZES.inline ? SIZES.small : SIZES.inline, seed++);
      await put(d, bucket, key, other, kind);
      await expectObject(t, d, bucket, key, other, `${what}: overwritten with ${other.length} bytes`);

      // Delete, then put new data under the same name.
      t.equal((await send(d.port, { method: 'DELETE', path: path(bucket, key) })).status, 204, `${what}: deleted`);
      await expectNoSuchKey(t, d, bucket, key, `${what}: gone after the delete (no read from a cached key)`);
      const v3 = testBytes(size, seed++);
      await put(d, bucket, key, v3, kind);
      await expectObject(t, d, bucket, key, v3, `${what}: delete + put: the new content`);
      await expectObject(t, d, bucket, key, v3, `${what}: delete + put: and again`);
    }
  }

  // The same name across kinds: SSE-S3 → SSE-KMS → plain → SSE-S3, read after each step.
  const key = 'kinds';
  let n = 0;
  for (const kind of ['SSE-S3', 'SSE-KMS', 'none', 'SSE-S3', 'SSE-KMS'] as const) {
    const body = testBytes(SIZES.small, 5000 + n++);
    await put(d, bucket, key, body, kind);
    await expectObject(t, d, bucket, key, body, `${label} kind change #${n} to ${kind}`);
    await expectObject(t, d, bucket, key, body, `${label} kind change #${n} to ${kind}: again`);
  }
}

/**
 * One daemon with the default cache for the four tests of it: each takes its own bucket and the
 * counted one compares counters before and after, so what the others left in the cache does not
 * matter (tap runs the tests one after another).
 */
let defaultDaemon: Promise<TestDaemon> | undefined;
function defaultCacheDaemon(): Promise<TestDaemon> {
  defaultDaemon ??= startDaemonFor(t);
  return defaultDaemon;
}

t.test('default cache: repeated reads, overwrites, delete + put', async (t) => {
  const d = await defaultCacheDaemon();
  await readAndReplaceRounds(t, d, 'default TTL');
});

t.test('default cache, counted: repeat reads hit; an overwritten or re-created object misses first', async (t) => {
  const d = await defaultCacheDaemon();
  const bucket = await newBucket(d, 'kcount');
  for (const [kind, size] of [
    ['SSE-S3', SIZES.small],
    ['SSE-KMS', SIZES.inline],
  ] as const) {
    const key = `${kind}/counted`;
    const v1 = testBytes(size, 1);
    await put(d, bucket, key, v1, kind);
    t.same(await counted(d, async () => void (await expectObject(t, d, bucket, key, v1, `${kind}: cold read`))), { hits: 0, misses: 1 }, `${kind}: the first read unseals`);
    t.same(
      await counted(d, async () => {
        for (let i = 0; i < 3; i++) await expectObject(t, d, bucket, key, v1, `${kind}: warm read ${i + 1}`);
      }),
      { hits: 3, misses: 0 },
      `${kind}: three warm reads are cache hits`,
    );
    const v2 = testBytes(size, 2);
    await put(d, bucket, key, v2, kind);
    t.same(await counted(d, async () => void (await expectObject(t, d, bucket, key, v2, `${kind}: read after overwrite`))), { hits: 0, misses: 1 }, `${kind}: after an overwrite the first read is a miss (the old key is not used)`);
    t.same(await counted(d, async () => void (await expectObject(t, d, bucket, key, v2, `${kind}: read after overwrite, again`))), { hits: 1, misses: 0 }, `${kind}: then a hit`);
    t.equal((await send(d.port, { method: 'DELETE', path: path(bucket, key) })).status, 204);
    t.same(await counted(d, () => expectNoSuchKey(t, d, bucket, key, `${kind}: deleted`)), { hits: 0, misses: 0 }, `${kind}: a deleted object does not reach the cache`);
    const v3 = testBytes(size, 3);
    await put(d, bucket, key, v3, kind);
    t.same(await counted(d, async () => void (await expectObject(t, d, bucket, key, v3, `${kind}: re-created`))), { hits: 0, misses: 1 }, `${kind}: a re-created object misses first`);
  }
  t.ok((await cacheCounters(d)).size >= 2, 'the cache holds keys');
});

t.test('default cache: concurrent reads of the same objects all get the right bytes', async (t) => {
  const d = await defaultCacheDaemon();
  const bucket = await newBucket(d, 'kconc');
  const objects = [
    { key: 'a', body: testBytes(SIZES.small, 1), kind: 'SSE-S3' as const },
    { key: 'b', body: testBytes(SIZES.large, 2), kind: 'SSE-S3' as const },
    { key: 'c', body: testBytes(SIZES.inline, 3), kind: 'SSE-KMS' as const },
    { key: 'd', body: testBytes(1 * MiB, 4), kind: 'SSE-KMS' as const },
  ];
  for (const o of objects) await put(d, bucket, o.key, o.body, o.kind);
  for (let round = 0; round < 2; round++) {
    // Round 0 starts cold (every GET races to unseal), round 1 is served from the cache.
    const reads = objects.flatMap((o) => Array.from({ length: 6 }, () => o));
    const results = await Promise.all(reads.map(async (o) => ({ o, r: await get(d, bucket, o.key) })));
    const bad = results.filter(({ o, r }) => r.status !== 200 || !r.body.equals(o.body)).map(({ o, r }) => `${o.key}: HTTP ${r.status} ${r.body.length} bytes`);
    t.same(bad, [], `round ${round}: ${results.length} concurrent GETs return their objects`);
  }
  // Concurrent overwrites and reads of one name: every read returns one of the versions, whole.
  const versions = Array.from({ length: 5 }, (_, i) => testBytes(SIZES.small, 100 + i));
  await put(d, bucket, 'hot', versions[0]!, 'SSE-S3');
  const ops: Array<Promise<unknown>> = [];
  const seen: RawResponse[] = [];
  for (let i = 1; i < versions.length; i++) {
    ops.push(put(d, bucket, 'hot', versions[i]!, i % 2 === 0 ? 'SSE-KMS' : 'SSE-S3'));
    for (let j = 0; j < 3; j++) ops.push(get(d, bucket, 'hot').then((r) => seen.push(r)));
  }
  await Promise.all(ops);
  const torn = seen.filter((r) => r.status !== 200 || !versions.some((v) => v.equals(r.body)));
  t.same(
    torn.map((r) => `HTTP ${r.status} ${errorCode(r.body) ?? ''} ${r.body.length} bytes`),
    [],
    `${seen.length} GETs during overwrites: each is one whole version`,
  );
  const last = await get(d, bucket, 'hot');
  t.ok(last.status === 200 && versions.some((v) => v.equals(last.body)), 'after the concurrent overwrites: one whole version');
  const final = testBytes(SIZES.small, 199);
  await put(d, bucket, 'hot', final, 'SSE-S3');
  await expectObject(t, d, bucket, 'hot', final, 'then a sequential overwrite reads back');
});

t.test('default cache: multipart, copies and bucket default encryption', async (t) => {
  const d = await defaultCacheDaemon();
  const bucket = await newBucket(d, 'kmp');
  // Multipart SSE-S3: part keys derive from the (cached) object key.
  const parts = [testBytes(5 * MiB, 11), testBytes(200_000, 12)];
  const create = await send(d.port, { method: 'POST', path: path(bucket, 'mp'), query: 'uploads=', headers: sseHeaders('SSE-S3') });
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(create.body.toString())?.[1];
  t.ok(uploadId, 'upload created');
  const etags: string[] = [];
  for (const [i, body] of parts.entries()) {
    const r = await send(d.port, { method: 'PUT', path: path(bucket, 'mp'), query: `partNumber=${i + 1}&uploadId=${encodeURIComponent(uploadId!)}`, body });
    t.equal(r.status, 200, `part ${i + 1} uploaded`);
    etags.push(r.headers.etag as string);
  }
  const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  t.equal((await send(d.port, { method: 'POST', path: path(bucket, 'mp'), query: `uploadId=${encodeURIComponent(uploadId!)}`, body: xml })).status, 200, 'completed');
  const whole = Buffer.concat(parts);
  for (let i = 1; i <= 3; i++) await expectObject(t, d, bucket, 'mp', whole, `multipart SSE-S3: read ${i}`);
  await expectRange(t, d, bucket, 'mp', whole, 5 * MiB - 100, 5 * MiB + 100, 'multipart SSE-S3 across the part boundary');

  // CopyObject to a new name (its own key), and onto itself with new metadata (a new key again).
  const src = testBytes(SIZES.small, 21);
  await put(d, bucket, 'src', src, 'SSE-S3');
  await expectObject(t, d, bucket, 'src', src, 'copy source read (key cached)');
  const cp = await send(d.port, { method: 'PUT', path: path(bucket, 'dst'), headers: { 'x-amz-copy-source': `/${bucket}/src`, ...sseHeaders('SSE-KMS') } });
  t.equal(cp.status, 200, 'CopyObject src → dst (SSE-KMS)');
  await expectObject(t, d, bucket, 'dst', src, 'the copy reads');
  await expectObject(t, d, bucket, 'src', src, 'the source still reads');
  const self = await send(d.port, {
    method: 'PUT',
    path: path(bucket, 'src'),
    headers: { 'x-amz-copy-source': `/${bucket}/src`, 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-round': '2', ...sseHeaders('SSE-S3') },
  });
  t.equal(self.status, 200, 'CopyObject onto itself (REPLACE)');
  await expectObject(t, d, bucket, 'src', src, 'after the copy onto itself: same bytes under the new key');
  const head = await send(d.port, { method: 'HEAD', path: path(bucket, 'src') });
  t.equal(head.headers['x-amz-meta-round'], '2', 'the new record is what is read');

  // Bucket default encryption: PUT without SSE headers stores SSE-S3.
  const cfg = '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>';
  const enc = await send(d.port, { method: 'PUT', path: `/${bucket}`, query: 'encryption=', body: cfg, headers: { 'content-md5': md5Base64(cfg) } });
  t.equal(enc.status, 200, 'PutBucketEncryption SSE-S3');
  const dflt = testBytes(SIZES.small, 31);
  const p = await send(d.port, { method: 'PUT', path: path(bucket, 'default'), body: dflt });
  t.equal(p.headers['x-amz-server-side-encryption'], 'AES256', 'stored SSE-S3 by the bucket default');
  for (let i = 1; i <= 2; i++) await expectObject(t, d, bucket, 'default', dflt, `bucket default SSE-S3: read ${i}`);
});

t.test('S3_KMS_CACHE_TTL=0: every read unseals, and every read is right', async (t) => {
  const d = await startDaemonFor(t, { env: { S3_KMS_CACHE_TTL: '0' } });
  const before = await cacheCounters(d);
  await readAndReplaceRounds(t, d, 'TTL 0');
  const after = await cacheCounters(d);
  t.same({ hits: after.hits - before.hits, size: after.size }, { hits: 0, size: 0 }, 'the cache is off: no hits, nothing held');
});

t.test('a short TTL: reads before and after expiry are right; a restart reads everything back', async (t) => {
  const d = await startDaemon({ env: { S3_KMS_CACHE_TTL: '0.3' } });
  let restarted: TestDaemon | undefined;
  t.teardown(async () => {
    await d.stop();
    await restarted?.stop();
    d.cleanup();
  });
  const bucket = await newBucket(d, 'kttl');
  const objects = [
    { key: 's3-small', body: testBytes(SIZES.small, 41), kind: 'SSE-S3' as const },
    { key: 'kms-large', body: testBytes(SIZES.large, 42), kind: 'SSE-KMS' as const },
    { key: 's3-inline', body: testBytes(SIZES.inline, 43), kind: 'SSE-S3' as const },
  ];
  for (const o of objects) await put(d, bucket, o.key, o.body, o.kind);
  for (const o of objects) await expectObject(t, d, bucket, o.key, o.body, `${o.key}: first read`);
  for (const o of objects) await expectObject(t, d, bucket, o.key, o.body, `${o.key}: within the TTL`);
  await sleep(500);
  for (const o of objects) await expectObject(t, d, bucket, o.key, o.body, `${o.key}: after the TTL`);
  const v2 = testBytes(SIZES.small, 44);
  await put(d, bucket, 's3-small', v2, 'SSE-S3');
  await expectObject(t, d, bucket, 's3-small', v2, 'overwritten after expiry: the new content');
  objects[0]!.body = v2;

  t.equal(await d.stop(), 0, 'clean stop');
  restarted = await startDaemon({ dataDir: d.dataDir });
  for (const o of objects) await expectObject(t, restarted, bucket, o.key, o.body, `${o.key}: after a restart (empty cache)`);
});

t.test('a malformed S3_KMS_CACHE_TTL with the built-in KMS stops start-up, naming the variable', async (t) => {
  for (const value of ['abc', '-1']) {
    const dataDir = mkdtempSync(join(tmpdir(), 's3d-test-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const started = startDaemon({ dataDir, env: { S3_KMS_CACHE_TTL: value } });
    const err = await started.then(
      async (d) => {
        await d.stop();
        d.cleanup();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    t.ok(err, `S3_KMS_CACHE_TTL=${value}: the daemon does not start`);
    t.match(err?.message ?? '', /exited with 2/, `S3_KMS_CACHE_TTL=${value}: exit code 2 (configuration error)`);
    t.match(err?.message ?? '', /S3_KMS_CACHE_TTL/, `S3_KMS_CACHE_TTL=${value}: the message names the variable`);
  }
});
