// Many concurrent requests on one key (and a few keys), against the built daemon over TLS with
// enough sockets for real concurrency: every acknowledged PUT of a versioned bucket is a version
// with its own bytes; on an unversioned bucket PUT, DELETE and CopyObject (onto itself and from
// another key) race GETs that must never see a mixed body, a wrong ETag or a 500; DeleteObjects
// races PUTs of its keys; a GET reading a large object slowly survives the key's overwrite and
// delete past the reaper's grace; and after it all, a stopped daemon's data directory holds
// exactly the files its records name (s3d verify agrees).

import t from 'tap';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type ObjectVersion,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import { runS3d, startDaemon, testBytes, TEST_KMS_SECRET } from '../helpers/daemon.js';
import { inspectDataDir } from '../helpers/files.js';
import { md5Hex } from '../helpers/hash.js';
import { clientFor, createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { ssec, sseReadInput, sseWriteInput, type SseKind } from '../helpers/sse.js';
import { md5Base64 as md5B64 } from '../helpers/hash.js';
import { sleep } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const d = await startDaemon({ tls: true });
t.teardown(async () => {
  await d.stop().catch(() => undefined);
  d.cleanup();
});
const s3: S3Client = clientFor(d, {
  requestHandler: { httpsAgent: new HttpsAgent({ ca: d.caCert, keepAlive: true, maxSockets: 64 }) },
  maxAttempts: 1,
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const CKEY = Buffer.alloc(32, 0x5c);
let seed = 7000;

/** One write of the storm: what it sends, and how to read it back. */
interface Put {
  body: Buffer;
  kind: SseKind;
  multipart: boolean;
}

async function put(bucket: string, key: string, p: Put): Promise<{ VersionId?: string; ETag?: string }> {
  const sse = sseWriteInput(p.kind, CKEY);
  if (!p.multipart) return s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: p.body, ...sse }));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sse }));
  const cut = p.body.length > 5 * MiB ? 5 * MiB : p.body.length;
  const pieces = [p.body.subarray(0, cut), p.body.subarray(cut)].filter((b) => b.length > 0);
  const parts = [];
  for (let i = 0; i < pieces.length; i++) {
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: i + 1, Body: pieces[i], ...sseReadInput(p.kind, CKEY) }));
    parts.push({ PartNumber: i + 1, ETag: r.ETag });
  }
  return s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: parts }, ...sseReadInput(p.kind, CKEY) }));
}

const KINDS: SseKind[] = ['none', 'SSE-S3', 'SSE-C'];
const SIZES = [0, 1000, 200_000, 600_000];

function mixedPut(i: number): Put {
  const multipart = i % 7 === 3;
  const size = multipart ? (i % 2 === 0 ? 5 * MiB + 1000 : 150_000) : SIZES[i % SIZES.length]!;
  return { body: testBytes(size, seed++), kind: KINDS[i % KINDS.length]!, multipart };
}

async function allVersions(bucket: string, prefix?: string): Promise<ObjectVersion[]> {
  const out: ObjectVersion[] = [];
  let km: string | undefined;
  let vm: string | undefined;
  for (;;) {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: km, VersionIdMarker: vm, MaxKeys: 17 }));
    out.push(...(r.Versions ?? []));
    if (!r.IsTruncated) return out;
    km = r.NextKeyMarker;
    vm = r.NextVersionIdMarker;
  }
}

t.test('versioned: concurrent mixed PUTs on one key are each a version with their own bytes', async (t) => {
  const bucket = await createBucket(s3, 'racev');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const keys = ['hot', 'hot2', 'hot3'];
  const sent = new Map<string, { key: string; p: Put; etag: string }>();
  for (let round = 0; round < 2; round++) {
    const jobs = Array.from({ length: 42 }, (_, i) => ({ key: keys[i % 3 === 0 ? 1 + (i % 2) : 0]!, p: mixedPut(i + round) }));
    const results = await Promise.all(jobs.map((j) => put(bucket, j.key, j.p).then((r) => ({ ok: true as const, r }), (e: Error) => ({ ok: false as const, e }))));
    const failed = results.filter((r) => !r.ok).map((r) => (r.ok ? '' : `${r.e.name}: ${r.e.message}`));
    t.same(failed, [], `round ${round}: every PUT acknowledged`);
    results.forEach((r, i) => {
      if (r.ok) sent.set(r.r.VersionId!, { key: jobs[i]!.key, p: jobs[i]!.p, etag: r.r.ETag! });
    });
  }
  const listed = await allVersions(bucket);
  t.equal(listed.length, sent.size, 'as many versions as acknowledged PUTs');
  t.same(new Set(listed.map((v) => v.VersionId)), new Set(sent.keys()), 'exactly the acknowledged version ids');
  const wrong: string[] = [];
  for (const v of listed) {
    const s = sent.get(v.VersionId!);
    if (s === undefined) continue;
    if (v.Key !== s.key) wrong.push(`${v.VersionId}: under ${v.Key}, sent to ${s.key}`);
    if (v.ETag !== s.etag) wrong.push(`${v.VersionId}: listed ETag ${v.ETag}, PUT answered ${s.etag}`);
    const got = await getBytes(s3, { Bucket: bucket, Key: s.key, VersionId: v.VersionId, ...sseReadInput(s.p.kind, CKEY) }).catch((e: Error) => e.name);
    if (typeof got === 'string' || !got.equals(s.p.body)) wrong.push(`${v.VersionId}: ${typeof got === 'string' ? got : `${got.length} other bytes`}`);
  }
  t.same(wrong, [], 'each version reads back as its PUT sent it');
  for (const key of keys) {
    const latest = listed.filter((v) => v.Key === key && v.IsLatest === true);
    t.equal(latest.length, 1, `${key}: one latest`);
    const s = sent.get(latest[0]!.VersionId!)!;
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...sseReadInput(s.p.kind, CKEY) }));
    t.equal(out.VersionId, latest[0]!.VersionId, `${key}: GET reads the latest listed`);
    t.equal(out.ETag, s.etag, `${key}: with its ETag`);
    t.ok(Buffer.from(await out.Body!.transformToByteArray()).equals(s.p.body), `${key}: and its bytes`);
  }
});

t.test('unversioned: PUT, DELETE and copies race GETs: whole bodies only, right ETags, no 500', async (t) => {
  const bucket = await createBucket(s3, 'raceu');
  const bodies = new Map<string, Buffer>();
  const remember = (b: Buffer): Buffer => (bodies.set(md5Hex(b), b), b);
  for (let i = 0; i < 4; i++) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `src${i}`, Body: remember(testBytes(300_000 + i, seed++)) }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: remember(testBytes(250_000, seed++)) }));
  const bad: string[] = [];
  let reads = 0;
  let storming = true;
  const readers = Array.from({ length: 6 }, async () => {
    while (storming) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));
        const body = Buffer.from(await out.Body!.transformToByteArray());
        reads++;
        const md5 = md5Hex(body);
        if (!bodies.has(md5)) bad.push(`mixed body of ${body.length} bytes`);
        else if (out.ETag !== `"${md5}"`) bad.push(`ETag ${out.ETag} for a body of md5 ${md5}`);
        if (out.ContentLength !== body.length) bad.push(`Content-Length ${out.ContentLength}, ${body.length} bytes`);
      } catch (err) {
        const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
        if (e.name !== 'NoSuchKey') bad.push(`GET ${e.name}/${e.$metadata?.httpStatusCode}`);
      }
    }
  });
  const outcomes: string[] = [];
  for (let round = 0; round < 2; round++) {
    const ops: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < 6; i++) {
      const body = remember(testBytes(i % 2 === 0 ? 5000 : 300_000 + i, seed++));
      ops.push(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: body })));
    }
    for (let i = 0; i < 3; i++) ops.push(() => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' })));
    for (let i = 0; i < 4; i++) ops.push(() => s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'k', CopySource: `${bucket}/k`, MetadataDirective: 'REPLACE', Metadata: { n: String(i) } })));
    for (let i = 0; i < 4; i++) ops.push(() => s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'k', CopySource: `${bucket}/src${i}` })));
    const answers = await Promise.all(ops.map((op) => s3Code(op())));
    for (const a of answers) if (a !== 'ok' && a !== 'NoSuchKey/404') outcomes.push(a);
    const final = await getBytes(s3, { Bucket: bucket, Key: 'k' }).catch((e: Error) => e.name);
    t.ok(final === 'NoSuchKey' || (typeof final !== 'string' && bodies.has(md5Hex(final))), `round ${round}: the key ends as one of the writes left it`);
  }
  storming = false;
  await Promise.all(readers);
  t.same(outcomes, [], 'every write is acknowledged (a self-copy of a deleted key is NoSuchKey)');
  t.same(bad, [], `no mixed body, wrong ETag or error in ${reads} GETs`);
  t.ok(reads > 10);
});

t.test('DeleteObjects of many keys racing PUTs of the same keys', async (t) => {
  const bucket = await createBucket(s3, 'raced');
  const keys = Array.from({ length: 40 }, (_, i) => `k/${i}`);
  const bodyOf = new Map<string, Set<string>>(keys.map((k) => [k, new Set()]));
  const wrong: string[] = [];
  for (let round = 0; round < 2; round++) {
    const ops: Array<Promise<string>> = [];
    for (const [i, key] of keys.entries()) {
      const body = testBytes(i % 3 === 0 ? 200_000 : 3000, seed++);
      bodyOf.get(key)!.add(md5Hex(body));
      ops.push(s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))));
      if (i % 10 === 0) ops.push(s3Code(s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } })).then((r) => {
        if ((r.Errors ?? []).length > 0) throw new Error(JSON.stringify(r.Errors));
      })));
    }
    for (const a of await Promise.all(ops)) if (a !== 'ok') wrong.push(a);
    for (const key of keys) {
      const got = await getBytes(s3, { Bucket: bucket, Key: key }).catch((e: Error) => e.name);
      if (got !== 'NoSuchKey' && (typeof got === 'string' || !bodyOf.get(key)!.has(md5Hex(got)))) wrong.push(`${key}: ${typeof got === 'string' ? got : 'other bytes'}`);
    }
  }
  t.same(wrong, [], 'every request acknowledged; each key absent or holding one PUT\u2019s body');
});

t.test('suspended and versioned: PUTs, deletes by version id, SSE-C rotations and part uploads racing completions and aborts', async (t) => {
  const bucket = await createBucket(s3, 'racex');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const KEY2 = Buffer.alloc(32, 0x33);
  const errors: string[] = [];
  const keep = (what: string, ok: (a: string) => boolean) => (a: string): void => void (ok(a) || errors.push(`${what}: ${a}`));
  for (let round = 0; round < 4; round++) {
    if (round === 2) await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
    const first = await put(bucket, 'x', { body: testBytes(300_000, seed++), kind: 'SSE-C', multipart: false });
    const ops: Array<Promise<void>> = [];
    for (let i = 0; i < 8; i++) ops.push(s3Code(put(bucket, 'x', mixedPut(i + round))).then(keep('put', (a) => a === 'ok')));
    for (let i = 0; i < 3; i++) {
      const [from, to] = i % 2 === 0 ? [CKEY, KEY2] : [KEY2, CKEY];
      ops.push(s3Code(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'x', CopySource: `${bucket}/x`, ...sseWriteInput('SSE-C', to), CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: from.toString('base64'), CopySourceSSECustomerKeyMD5: md5B64(from) }))).then(keep('rotate', () => true)));
    }
    if (first.VersionId !== undefined) ops.push(s3Code(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'x', VersionId: first.VersionId }))).then(keep('delete version', (a) => a === 'ok')));
    ops.push(s3Code(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'x' }))).then(keep('delete', (a) => a === 'ok')));
    // Part uploads racing the completion and an abort of their upload.
    for (let u = 0; u < 3; u++) {
      const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `mp${u}` }));
      const p1 = testBytes(5 * MiB, seed++);
      const e1 = (await s3.send(new UploadPartCommand({ Bucket: bucket, Key: `mp${u}`, UploadId: up.UploadId, PartNumber: 1, Body: p1 }))).ETag;
      const e2 = (await s3.send(new UploadPartCommand({ Bucket: bucket, Key: `mp${u}`, UploadId: up.UploadId, PartNumber: 2, Body: testBytes(300_000, seed++) }))).ETag;
      for (let j = 0; j < 3; j++) ops.push(s3Code(s3.send(new UploadPartCommand({ Bucket: bucket, Key: `mp${u}`, UploadId: up.UploadId, PartNumber: 2 + j, Body: testBytes(200_000, seed++) }))).then(keep('part', (a) => a === 'ok' || a === 'NoSuchUpload/404')));
      ops.push(s3Code(s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: `mp${u}`, UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] } }))).then(keep('complete', () => true)));
      if (u === 1) ops.push(s3Code(s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: `mp${u}`, UploadId: up.UploadId }))).then(keep('abort', (a) => a === 'ok')));
      if (u !== 1) ops.push(sleep(30).then(() => s3Code(s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: `mp${u}`, UploadId: up.UploadId })))).then(keep('late abort', (a) => a === 'ok')));
    }
    await Promise.all(ops);
  }
  t.same(errors.filter((e) => /\/5\d\d|Error: /.test(e) || !e.startsWith('rotate') && !e.startsWith('complete')), [], 'no 5xx, every write acknowledged');
  t.comment(errors.join('\n'));
  for (const v of await allVersions(bucket)) {
    if (!v.Key!.startsWith('x')) continue;
    const a = await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId, ...ssec(CKEY) })));
    const b = a === 'ok' ? a : await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId, ...ssec(KEY2) })));
    const c = b === 'ok' ? b : await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId })));
    t.equal(c, 'ok', `version ${v.VersionId} of ${v.Key} reads (${a}, ${b})`);
  }
});

/** Reads `n` bytes of a paused stream (or what is left), then pauses it again. */
function readSome(stream: Readable, n: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let have = 0;
    const done = (): void => {
      stream.pause();
      stream.off('data', onData).off('end', onEnd).off('error', onError);
      resolve(got);
    };
    const onData = (c: Buffer): void => {
      got.push(c);
      have += c.length;
      if (have >= n) done();
    };
    const onEnd = (): void => done();
    const onError = (e: Error): void => {
      stream.off('data', onData).off('end', onEnd);
      reject(e);
    };
    stream.on('data', onData).once('end', onEnd).once('error', onError);
    stream.resume();
  });
}

t.test('a slow GET of a large object outlives its overwrite and delete past the reaper grace', async (t) => {
  const bucket = await createBucket(s3, 'races');
  const cases: Array<{ key: string; p: Put }> = [
    { key: 'big-plain', p: { body: testBytes(24 * MiB, seed++), kind: 'none', multipart: false } },
    { key: 'big-ssec', p: { body: testBytes(24 * MiB, seed++), kind: 'SSE-C', multipart: false } },
    { key: 'big-mp', p: { body: testBytes(5 * MiB + 300_000, seed++), kind: 'SSE-S3', multipart: true } },
  ];
  for (const c of cases) await put(bucket, c.key, c.p);
  const streams = await Promise.all(cases.map(async (c) => {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: c.key, ...sseReadInput(c.p.kind, CKEY) }));
    const stream = out.Body as Readable;
    stream.pause();
    return { c, out, stream, got: await readSome(stream, 100_000) };
  }));
  for (const c of cases) {
    await put(bucket, c.key, { body: testBytes(300_000, seed++), kind: c.p.kind, multipart: false });
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: c.key }));
  }
  // The reaper runs every 2 s and deletes 5 s after the release.
  await sleep(9000);
  for (const s of streams) {
    const rest = await readSome(s.stream, Infinity).catch((e: Error) => [Buffer.from(`ERR ${e.message}`)]);
    const body = Buffer.concat([...s.got, ...rest]);
    t.equal(s.out.ContentLength, s.c.p.body.length, `${s.c.key}: 200 with the old length`);
    t.ok(body.equals(s.c.p.body), `${s.c.key}: the old body whole (${body.length} bytes)`);
  }
});

t.test('afterwards: a stopped daemon holds exactly the files its records name, and s3d verify agrees', async (t) => {
  await sleep(7500); // past the grace of the last releases, so the reaper has run
  t.equal(await d.stop(), 0, 'a clean stop');
  const state = await inspectDataDir(d.dataDir);
  const queued = new Set(state.queued);
  t.same(state.missing, [], 'no referenced file is missing');
  t.same(state.orphans.filter((f) => !queued.has(f)), [], 'no data file that neither a record nor the deletion queue names');
  t.same(state.temp, [], 'no temp file');
  const v = await runS3d(['verify', d.dataDir, '--deep'], { S3_KMS_SECRET_KEY: TEST_KMS_SECRET, S3_CRYPTO_WORKERS: '2' });
  t.equal(v.code, 0, `s3d verify --deep: ${v.stdout.trim()} ${v.stderr.trim().slice(0, 2000)}`);
});
