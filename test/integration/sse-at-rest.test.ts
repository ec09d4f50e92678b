// What is on disk and what a damaged disk gives back: objects of all three SSE kinds (inline in
// LMDB, file-backed, multipart) filled with a distinctive ASCII pattern leave no trace of it in any
// file under the data dir; a flipped byte in a data file cuts the GET short without releasing any
// plaintext of the damaged package; many random ranges equal the plaintext slices; a restart with
// the same S3_KMS_SECRET_KEY reads everything back, a different key fails cleanly (SSE-C still reads).
import t from 'tap';
import type { Test } from 'tap';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { basename, dirname, join } from 'node:path';
import { signRequest } from '../../daemon/auth/sign.js';
import { ACCESS_KEY, REGION, SECRET_KEY, TEST_KMS_SECRET, bucketName, startDaemon, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths, filesContaining, filesUnder } from '../helpers/files.js';
import { crc32Base64 } from '../helpers/hash.js';
import { cutAwareGet, signedHeaders, type CutAwareGet } from '../helpers/http.js';
import { postForm, signedForm } from '../helpers/post-object.js';
import { bodyBytes, clientWithoutResponseChecksums } from '../helpers/s3.js';
import { ssec, ssecHeaders, sseCopySourceInput, sseReadInput, sseWriteInput, type SseKind } from '../helpers/sse.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const PKG = 64 * KiB; // DARE plaintext per package
const PKG_STORED = PKG + 32; // header + payload + tag

type Kind = Exclude<SseKind, 'none'>;
const KINDS: Kind[] = ['SSE-C', 'SSE-S3', 'SSE-KMS'];
const customerKey = randomBytes(32);

/** SDK input for writing (and, for SSE-C, reading) an object of this kind, with `customerKey`. */
function sseInput(kind: Kind | 'none', forRead = false): Record<string, string> {
  return forRead ? sseReadInput(kind, customerKey) : sseWriteInput(kind, customerKey);
}
function rawSseHeaders(kind: Kind | 'none'): Record<string, string> {
  return kind === 'SSE-C' ? ssecHeaders(customerKey) : {};
}

// The canary: one unit must never appear in any file. The control pattern is stored plain, to
// prove the scan would see plaintext where it is (LMDB for inline objects, data files otherwise).
const CANARY = Buffer.from('<<s3d-at-rest-canary:PLAINTEXT-MUST-NOT-HIT-DISK>>');
const CONTROL = Buffer.from('<<s3d-control:this-one-is-stored-plain-on-purpose>>');
function patterned(unit: Buffer, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += unit.length) unit.copy(b, i, 0, Math.min(unit.length, size - i));
  return b;
}

function dataFileIds(d: TestDaemon): Set<string> {
  return new Set(dataFilePaths(d.dataDir));
}

/** A signed GET over TLS on its own connection that reports exactly what arrived before any failure. */
function rawGet(d: TestDaemon, bucket: string, key: string, headers: Record<string, string> = {}): Promise<CutAwareGet> {
  const path = `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const signed = signRequest({
    method: 'GET',
    rawPath: path,
    headers: { host: `127.0.0.1:${d.port}`, ...headers },
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    region: REGION,
  }).headers;
  return cutAwareGet(d.port, { path, headers: signed, ca: d.caCert });
}

/** A signed PUT over TLS of `body` (the whole of it, or with `cut` only it, then the connection cut); the status. */
function tlsPut(d: TestDaemon, path: string, headers: Record<string, string>, body: Buffer, cut = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: d.port, method: 'PUT', path, headers: cut ? headers : { ...headers, 'content-length': String(body.length) }, ca: d.caCert, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    if (!cut) return void req.end(body);
    req.write(body, () => setTimeout(() => req.destroy(new Error('cut')), 300));
  });
}

async function readObject(s3: S3Client, bucket: string, key: string, kind: Kind | 'none', range?: string): Promise<{ bytes: Buffer; contentRange: string | undefined }> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...sseInput(kind, true), ...(range ? { Range: range } : {}) }));
  return { bytes: await bodyBytes(r), contentRange: r.ContentRange };
}

async function putMultipart(s3: S3Client, bucket: string, key: string, kind: Kind | 'none', parts: Buffer[]): Promise<void> {
  const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sseInput(kind) }));
  const done = [];
  for (const [i, body] of parts.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, PartNumber: i + 1, Body: body, ...sseInput(kind, true) }));
    done.push({ PartNumber: i + 1, ETag: r.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: done } }));
}

/** A small seeded PRNG so a failing range can be reproduced from the logged seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

// Objects written by the first test and read back after each restart.
interface Stored {
  key: string;
  kind: Kind | 'none';
  body: Buffer;
}
const stored: Stored[] = [];
let d: TestDaemon;
let s3: S3Client;
let dataDir: string;
const bucket = bucketName('atrest');

t.before(async () => {
  d = await startDaemon({ tls: true });
  dataDir = d.dataDir;
  s3 = clientWithoutResponseChecksums(d);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
t.teardown(async () => {
  await d?.stop();
  if (dataDir) {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(join(dirname(dataDir), `${basename(dataDir)}-certs`), { recursive: true, force: true });
  }
});

t.test('no file under the data dir contains the plaintext pattern', async (t) => {
  const SIZES = { inline: 20 * KiB, file: 1 * MiB + 4321 };
  for (const kind of KINDS) {
    for (const [name, size] of Object.entries(SIZES)) {
      const body = patterned(CANARY, size);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `canary/${kind}/${name}`, Body: body, ...sseInput(kind) }));
      stored.push({ key: `canary/${kind}/${name}`, kind, body });
    }
    const parts = [patterned(CANARY, 5 * MiB), patterned(CANARY, 10_000)];
    await putMultipart(s3, bucket, `canary/${kind}/multipart`, kind, parts);
    stored.push({ key: `canary/${kind}/multipart`, kind, body: Buffer.concat(parts) });
  }
  // An SSE upload left open (parts stored, never completed) must not leak either.
  const open = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'canary/open-upload', ServerSideEncryption: 'AES256' }));
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'canary/open-upload', UploadId: open.UploadId, PartNumber: 1, Body: patterned(CANARY, 300_000) }));
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'canary/open-upload', UploadId: open.UploadId, PartNumber: 2, Body: patterned(CANARY, 2_000) }));
  // Controls, stored plain.
  for (const [name, size] of Object.entries(SIZES)) {
    const body = patterned(CONTROL, size);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `control/${name}`, Body: body }));
    stored.push({ key: `control/${name}`, kind: 'none', body });
  }
  for (const s of stored) t.ok((await readObject(s3, bucket, s.key, s.kind)).bytes.equals(s.body), `${s.key} reads back`);

  const files = filesUnder(dataDir);
  t.ok(files.some((f) => f.endsWith('data.mdb')), 'the scan covers LMDB (data.mdb)');
  const controlHits = filesContaining(dataDir, CONTROL);
  t.ok(controlHits.some((f) => f.endsWith('data.mdb')), 'control: the plain inline object is visible in data.mdb');
  t.ok(controlHits.some((f) => f.includes(`${join('.s3d', 'objects')}/`)), 'control: the plain file object is visible in a data file');
  t.same(filesContaining(dataDir, CANARY), [], `no file of ${files.length} contains the pattern`);
  for (const [name, needle] of [
    ['raw bytes', customerKey],
    ['base64', Buffer.from(customerKey.toString('base64'))],
    ['hex', Buffer.from(customerKey.toString('hex'))],
    ['the KMS master key (base64)', Buffer.from(TEST_KMS_SECRET.split(':')[1]!)],
  ] as const) {
    t.same(filesContaining(dataDir, needle), [], `no file contains the SSE-C customer key or KMS key: ${name}`);
  }
});

t.test('random ranges equal the plaintext slices', async (t) => {
  // Parts whose sizes are not multiples of 64 KiB, so part and package boundaries interleave.
  const parts = [testBytes(5 * MiB + 1000, 301), testBytes(5 * MiB + 12_345, 302), testBytes(70_000, 303)];
  const objects: Array<{ key: string; kind: Kind; body: Buffer; cuts: number[] }> = [];
  await putMultipart(s3, bucket, 'ranges/multipart-kms', 'SSE-KMS', parts);
  objects.push({ key: 'ranges/multipart-kms', kind: 'SSE-KMS', body: Buffer.concat(parts), cuts: [parts[0]!.length, parts[0]!.length + parts[1]!.length] });
  const single = testBytes(1 * MiB + 777, 304);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ranges/single-c', Body: single, ...sseInput('SSE-C') }));
  objects.push({ key: 'ranges/single-c', kind: 'SSE-C', body: single, cuts: [] });
  const small = testBytes(100_000, 305);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ranges/inline-s3', Body: small, ...sseInput('SSE-S3') }));
  objects.push({ key: 'ranges/inline-s3', kind: 'SSE-S3', body: small, cuts: [] });
  for (const o of objects) stored.push({ key: o.key, kind: o.kind, body: o.body });

  const seed = Number(process.env.S3D_RANGE_SEED ?? Date.now() % 1_000_000);
  t.comment(`range seed ${seed} (S3D_RANGE_SEED=${seed} reproduces)`);
  const rand = prng(seed);
  for (const o of objects) {
    const n = o.body.length;
    const ranges: Array<[number, number]> = [
      [0, 0],
      [n - 1, n - 1],
      [0, n - 1],
    ];
    // Around every package boundary in the first few packages and near the end, and around part boundaries.
    for (const b of [PKG, 2 * PKG, Math.floor(n / PKG) * PKG, ...o.cuts]) {
      if (b <= 0 || b >= n) continue;
      ranges.push([b - 1, b], [b, b], [b - 1, b - 1], [Math.max(0, b - 100), Math.min(n - 1, b + 100)], [Math.max(0, b - PKG - 5), Math.min(n - 1, b + PKG + 5)]);
    }
    for (const c of o.cuts) {
      // Spanning a whole part boundary by several packages, and starting exactly at a part.
      ranges.push([c - 3 * PKG - 17, Math.min(n - 1, c + 2 * PKG + 9)], [c, Math.min(n - 1, c + 3 * PKG)]);
    }
    for (let i = 0; i < 40; i++) {
      const a = Math.floor(rand() * n);
      const len = 1 + Math.floor(rand() * (rand() < 0.5 ? 2 * PKG : 3 * MiB));
      ranges.push([a, Math.min(n - 1, a + len - 1)]);
    }
    let bad = 0;
    for (const [a, b] of ranges) {
      const r = await readObject(s3, bucket, o.key, o.kind, `bytes=${a}-${b}`);
      const ok = r.bytes.equals(o.body.subarray(a, b + 1)) && r.contentRange === `bytes ${a}-${b}/${n}`;
      if (!ok) {
        bad++;
        t.fail(`${o.key} bytes=${a}-${b}: got ${r.bytes.length} bytes, Content-Range ${r.contentRange}`);
      }
    }
    // Suffix and open-ended forms.
    const suffix = await readObject(s3, bucket, o.key, o.kind, 'bytes=-70000');
    t.ok(suffix.bytes.equals(o.body.subarray(n - 70_000)), `${o.key}: bytes=-70000`);
    const open = await readObject(s3, bucket, o.key, o.kind, `bytes=${n - PKG - 3}-`);
    t.ok(open.bytes.equals(o.body.subarray(n - PKG - 3)), `${o.key}: open-ended range`);
    t.equal(bad, 0, `${o.key}: ${ranges.length} ranges equal the plaintext slices`);
  }
});

t.test('the inline threshold: stored size 128 KiB stays in LMDB, one byte more goes to a file', async (t) => {
  // encrypted(131008) = 65568 + 65504 = 131072 = S3_INLINE_THRESHOLD; encrypted(131009) = 131073.
  for (const kind of KINDS) {
    for (const [size, files] of [
      [131_008, 0],
      [131_009, 1],
    ] as const) {
      const body = testBytes(size, 600 + size);
      const key = `threshold/${kind}/${size}`;
      const before = dataFileIds(d);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...sseInput(kind) }));
      t.equal([...dataFileIds(d)].filter((f) => !before.has(f)).length, files, `${kind} ${size}: ${files} new data file(s)`);
      t.ok((await readObject(s3, bucket, key, kind)).bytes.equals(body), `${kind} ${size}: reads back`);
      t.ok((await readObject(s3, bucket, key, kind, `bytes=${PKG - 5}-${size - 1}`)).bytes.equals(body.subarray(PKG - 5)), `${kind} ${size}: range across the package boundary to the end`);
      stored.push({ key, kind, body });
    }
  }
});

async function tamperTest(t: Test, kind: Kind): Promise<void> {
  const PACKAGES = 48; // 3 MiB: the first ~1 MiB batches are sent before the damaged one is reached
  const DAMAGED = 40;
  const body = testBytes(PACKAGES * PKG, 400 + KINDS.indexOf(kind));
  const key = `tamper/${kind}`;
  const before = dataFileIds(d);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...sseInput(kind) }));
  const mine = [...dataFileIds(d)].filter((f) => !before.has(f));
  t.equal(mine.length, 1, 'the PUT wrote one data file');
  const file = mine[0]!;
  t.equal(statSync(file).size, PACKAGES * PKG_STORED, 'stored size is the DARE size');
  // Flip one byte in the middle of the damaged package's payload.
  const at = DAMAGED * PKG_STORED + 16 + PKG / 2;
  const fd = openSync(file, 'r+');
  const one = Buffer.alloc(1);
  readSync(fd, one, 0, 1, at);
  one[0] = one[0]! ^ 0x01;
  writeSync(fd, one, 0, 1, at);
  closeSync(fd);

  const whole = await rawGet(d, bucket, key, rawSseHeaders(kind));
  t.equal(whole.complete, false, `full GET is cut short (${whole.error})`);
  t.ok(whole.body.length < DAMAGED * PKG, `${whole.body.length} bytes arrived, all before the damaged package at ${DAMAGED * PKG}`);
  t.ok(whole.body.equals(body.subarray(0, whole.body.length)), 'what arrived is a prefix of the plaintext');
  if (whole.status !== undefined) t.equal(whole.status, 200, 'if headers went out, they were the 200 of a full GET');

  const beforeDamage = await rawGet(d, bucket, key, { ...rawSseHeaders(kind), range: `bytes=0-${DAMAGED * PKG - 1}` });
  t.same({ status: beforeDamage.status, complete: beforeDamage.complete }, { status: 206, complete: true }, 'a range wholly before the damaged package works');
  t.ok(beforeDamage.body.equals(body.subarray(0, DAMAGED * PKG)), 'and returns the exact bytes');
  const afterDamage = await rawGet(d, bucket, key, { ...rawSseHeaders(kind), range: `bytes=${(DAMAGED + 1) * PKG}-` });
  t.same({ status: afterDamage.status, complete: afterDamage.complete }, { status: 206, complete: true }, 'a range wholly after the damaged package works');
  t.ok(afterDamage.body.equals(body.subarray((DAMAGED + 1) * PKG)), 'and returns the exact bytes');
  const inside = await rawGet(d, bucket, key, { ...rawSseHeaders(kind), range: `bytes=${DAMAGED * PKG + 10}-${DAMAGED * PKG + 20}` });
  // Nothing was sent before the failure, so the daemon can still answer with a real S3 error.
  t.equal(inside.status, 500, `a range inside the damaged package fails with an S3 error (${inside.error})`);
  t.match(inside.body.toString(), /<Code>XMinioObjectTampered<\/Code>/, 'naming the tampering');
  t.notOk(inside.body.includes(body.subarray(DAMAGED * PKG + 10, DAMAGED * PKG + 20)), 'and sends no byte of it');
  const s3c = await readObject(s3, bucket, 'ranges/inline-s3', 'SSE-S3');
  t.equal(s3c.bytes.length, 100_000, 'the daemon keeps serving other objects');
}

for (const kind of KINDS) t.test(`a flipped byte in a ${kind} data file: no plaintext of the damaged package`, (t) => tamperTest(t, kind));

async function restart(env: Record<string, string> = {}): Promise<void> {
  await d.stop();
  d = await startDaemon({ tls: true, dataDir, env });
  s3 = clientWithoutResponseChecksums(d);
}

t.test('restart with the same S3_KMS_SECRET_KEY reads everything back', async (t) => {
  await restart();
  t.same(filesContaining(dataDir, CANARY), [], 'after a clean shutdown still no file contains the pattern');
  for (const s of stored) t.ok((await readObject(s3, bucket, s.key, s.kind)).bytes.equals(s.body), `${s.key} (${s.kind}) reads back`);
  t.notOk(d.logs.some((l) => l.includes('was S3_KMS_SECRET_KEY changed')), 'the start-up key check found the key right');
});

t.test('restart with a different S3_KMS_SECRET_KEY: KMS objects fail cleanly, SSE-C still reads', async (t) => {
  await restart({ S3_KMS_SECRET_KEY: `test-key:${Buffer.alloc(32, 9).toString('base64')}` });
  t.not(TEST_KMS_SECRET.split(':')[1], Buffer.alloc(32, 9).toString('base64'), 'the key really differs');
  // Said once at start-up, before any read fails: the operator learns it from the log, not from clients.
  const warned = await d.waitForLog((l) => l.level === 40 && String(l.msg).includes('was S3_KMS_SECRET_KEY changed'));
  t.ok(warned.bucket === bucket && typeof warned.key === 'string', 'a start-up warning names a stored object the key does not open');
  for (const s of stored) {
    if (s.kind === 'SSE-S3' || s.kind === 'SSE-KMS') {
      const r = await rawGet(d, bucket, s.key);
      const code = /<Code>([^<]*)<\/Code>/.exec(r.body.toString('latin1'))?.[1];
      t.same({ status: r.status, code, complete: r.complete }, { status: 500, code: 'InternalError', complete: true }, `${s.key}: an S3 error`);
      t.equal(r.headers['content-type'], 'application/xml', `${s.key}: the body is the XML error`);
      t.equal(r.body.indexOf(s.body.subarray(0, 32)), -1, `${s.key}: no plaintext in the response`);
      t.equal(r.body.indexOf(CANARY), -1, `${s.key}: no pattern in the response`);
    } else {
      t.ok((await readObject(s3, bucket, s.key, s.kind)).bytes.equals(s.body), `${s.key} (${s.kind}) still reads back`);
    }
  }
  t.same(d.jsonLogs().filter((l) => typeof l.level === 'number' && l.level >= 50), [], 'no error-level log lines (no stack traces for a KMS mismatch)');
});

// Every write path of a daemon with S3_KMS_AUTO_ENCRYPTION=on, each with a marker of its own so a
// hit names the path; sizes on both sides of the inline threshold. Besides the plaintext (raw, hex
// and base64 at each of the three alignments), a small object's checksum or SSE-C MD5 on disk is an
// oracle for its plaintext: none of those may be stored in clear either.
t.test('S3_KMS_AUTO_ENCRYPTION=on: no write path leaves plaintext, a checksum or an SSE-C MD5 on disk', async (t) => {
  const ad = await startDaemonFor(t, { tls: true, env: { S3_KMS_AUTO_ENCRYPTION: 'on' } });
  const as3 = clientWithoutResponseChecksums(ad);
  const ab = bucketName('autoenc');
  await as3.send(new CreateBucketCommand({ Bucket: ab }));
  const markers = new Map<string, Buffer>(); // path → its marker unit
  const oracles = new Map<string, Buffer>(); // "what" → bytes that must not be on disk
  const marker = (path: string): Buffer => {
    const m = Buffer.from(`<<s3d-auto-${path}-${randomBytes(4).toString('hex')}>>`);
    markers.set(path, m);
    return m;
  };
  const noteChecksums = (what: string, out: object): void => {
    for (const [k, v] of Object.entries(out)) {
      if (!/^Checksum(CRC|SHA)/.test(k) || typeof v !== 'string' || v.includes('-')) continue;
      oracles.set(`${what} ${k} (base64)`, Buffer.from(v));
      // A 4-byte CRC32 turns up by chance in megabytes of ciphertext; the longer ones do not.
      if (Buffer.from(v, 'base64').length >= 8) oracles.set(`${what} ${k} (raw)`, Buffer.from(v, 'base64'));
    }
  };
  const SIZES = [1, 100, 127 * KiB, 129 * KiB, 5 * MiB + 3];

  // PutObject, the SDK's default CRC32 and each algorithm asked for.
  for (const size of SIZES) {
    const body = patterned(marker(`put-${size}`), size);
    const out = await as3.send(new PutObjectCommand({ Bucket: ab, Key: `put/${size}`, Body: body }));
    noteChecksums(`put/${size}`, out);
    t.equal(out.ServerSideEncryption, 'AES256', `put/${size} is encrypted`);
  }
  for (const alg of ['CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'] as const) {
    for (const size of [1, 100]) {
      const body = patterned(marker(`put-${alg}-${size}`), size);
      const out = await as3.send(new PutObjectCommand({ Bucket: ab, Key: `put-${alg}/${size}`, Body: body, ChecksumAlgorithm: alg }));
      noteChecksums(`put-${alg}/${size}`, out);
    }
  }
  // SSE-C: its ETag is no MD5 of the plaintext in S3's answer, and none may be on disk.
  // (Every marker starts with the same byte, so the 1-byte SSE-C body is another one: its MD5 is a
  // 1-byte SSE-S3 object's ETag otherwise. The copies below re-encrypt other SSE-C sources as SSE-S3,
  // whose ETag is, rightly, the MD5.)
  for (const size of [1, 100, 129 * KiB]) {
    const body = size === 1 ? Buffer.from('#') : patterned(marker(`ssec-${size}`), size);
    await as3.send(new PutObjectCommand({ Bucket: ab, Key: `ssec/${size}`, Body: body, ...sseInput('SSE-C') }));
    await as3.send(new PutObjectCommand({ Bucket: ab, Key: `ssec-src/${size}`, Body: patterned(marker(`ssec-src-${size}`), size), ...sseInput('SSE-C') }));
    oracles.set(`ssec/${size} MD5 (hex)`, Buffer.from(createHash('md5').update(body).digest('hex')));
    oracles.set(`ssec/${size} MD5 (raw)`, createHash('md5').update(body).digest());
  }
  // aws-chunked with a trailing checksum.
  for (const size of [100, 129 * KiB]) {
    const body = patterned(marker(`chunked-${size}`), size);
    const crc = crc32Base64(body);
    const framed = Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), body, Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`)]);
    const headers = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(size), 'x-amz-trailer': 'x-amz-checksum-crc32' };
    const r = await tlsPut(ad, `/${ab}/chunked/${size}`, signedHeaders(ad.port, { method: 'PUT', path: `/${ab}/chunked/${size}`, payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', headers }), framed);
    t.equal(r, 200, `chunked/${size}: 200`);
    oracles.set(`chunked/${size} CRC32 (base64)`, Buffer.from(crc));
  }
  // POST Object (form uploads).
  for (const size of [100, 129 * KiB]) {
    const body = patterned(marker(`post-${size}`), size);
    const r = await postForm(ad, ab, signedForm(ab, `post/${size}`, [], {}, { data: body }));
    t.equal(r.status, 204, `post/${size}: 204 (${r.body.toString()})`);
  }
  // Multipart: parts stored before completion, one upload left open, UploadPartCopy.
  const c = await as3.send(new CreateMultipartUploadCommand({ Bucket: ab, Key: 'mp/done', ChecksumAlgorithm: 'CRC32C' }));
  const done = [];
  const upload = async (n: number, body: Buffer): Promise<void> => {
    const r = await as3.send(new UploadPartCommand({ Bucket: ab, Key: 'mp/done', UploadId: c.UploadId, PartNumber: n, Body: body, ChecksumAlgorithm: 'CRC32C' }));
    noteChecksums(`mp part ${n}`, r);
    done.push({ PartNumber: n, ETag: r.ETag, ChecksumCRC32C: r.ChecksumCRC32C });
  };
  await upload(1, patterned(marker('mp-part1'), 5 * MiB + 1));
  const copied = await as3.send(new UploadPartCopyCommand({ Bucket: ab, Key: 'mp/done', UploadId: c.UploadId, PartNumber: 2, CopySource: `${ab}/put/${5 * MiB + 3}` }));
  done.push({ PartNumber: 2, ETag: copied.CopyPartResult?.ETag, ChecksumCRC32C: copied.CopyPartResult?.ChecksumCRC32C });
  noteChecksums('mp part 2 (copy)', copied.CopyPartResult ?? {});
  await upload(3, patterned(marker('mp-part3'), 100));
  await as3.send(new CompleteMultipartUploadCommand({ Bucket: ab, Key: 'mp/done', UploadId: c.UploadId, MultipartUpload: { Parts: done } }));
  const open = await as3.send(new CreateMultipartUploadCommand({ Bucket: ab, Key: 'mp/open' }));
  for (const [n, size] of [[1, 100], [2, 129 * KiB]] as const) {
    const r = await as3.send(new UploadPartCommand({ Bucket: ab, Key: 'mp/open', UploadId: open.UploadId, PartNumber: n, Body: patterned(marker(`mp-open-${size}`), size) }));
    noteChecksums(`mp/open part ${n}`, r);
  }
  const openCopy = await as3.send(new UploadPartCopyCommand({ Bucket: ab, Key: 'mp/open', UploadId: open.UploadId, PartNumber: 3, CopySource: `${ab}/put/1` }));
  noteChecksums('mp/open part 3 (copy)', (openCopy.CopyPartResult ?? {}));
  // CopyObject: plain, metadata replaced, SSE-C source re-encrypted, SSE-C key rotated.
  for (const size of [100, 129 * KiB]) {
    const r = await as3.send(new CopyObjectCommand({ Bucket: ab, Key: `copy/${size}`, CopySource: `${ab}/put/${size}`, MetadataDirective: 'REPLACE', ChecksumAlgorithm: 'SHA256' }));
    noteChecksums(`copy/${size}`, (r.CopyObjectResult ?? {}));
    await as3.send(new CopyObjectCommand({ Bucket: ab, Key: `copy-from-ssec/${size}`, CopySource: `${ab}/ssec-src/${size}`, ...sseCopySourceInput('SSE-C', customerKey) }));
  }
  const newKey = randomBytes(32);
  await as3.send(new CopyObjectCommand({ Bucket: ab, Key: 'ssec/100', CopySource: `${ab}/ssec/100`, ...sseCopySourceInput('SSE-C', customerKey), ...ssec(newKey) }));
  // Uploads cut mid-way: whatever a cut leaves behind holds no plaintext either.
  for (const size of [100 * KiB, 3 * MiB]) {
    const body = patterned(marker(`cut-${size}`), size);
    const path = `/${ab}/cut/${size}`;
    await tlsPut(ad, path, signedHeaders(ad.port, { method: 'PUT', path, headers: { 'content-length': String(size) } }), body.subarray(0, Math.floor(size / 2)), true).catch(() => undefined);
  }
  await new Promise((r) => setTimeout(r, 500));

  const hits = (needle: Buffer): string[] => filesContaining(ad.dataDir, needle).map((f) => f.slice(ad.dataDir.length + 1));
  const check = (): void => {
    for (const [path, m] of markers) {
      const forms: Array<[string, Buffer]> = [
        ['raw', m],
        ['hex', Buffer.from(m.toString('hex'))],
      ];
      // base64 of the repeated marker at each alignment: a whole unit's worth from the middle.
      const three = Buffer.concat([m, m, m, m]);
      for (const a of [0, 1, 2]) forms.push([`base64@${a}`, Buffer.from(three.subarray(a).toString('base64').slice(8, 8 + Math.floor((m.length * 4) / 3) - 8))]);
      for (const [form, needle] of forms) t.same(hits(needle), [], `${path}: no file holds its plaintext (${form})`);
    }
    for (const [what, needle] of oracles) t.same(hits(needle), [], `no file holds ${what}`);
  };
  check();
  if (process.env.S3D_AT_REST_DUMP) console.error(JSON.stringify({ dir: ad.dataDir, oracles: [...oracles].map(([k, v]) => [k, v.toString('hex')]) }));
  await ad.stop();
  t.comment('after a clean shutdown');
  check();
});

// S3_KMS_AUTO_ENCRYPTION off: a bucket's default encryption applies to every write that starts
// after PutBucketEncryption answered (the bucket record cached in memory is no older), while the
// objects stored before it stay as they were: unencrypted (README, Encryption at rest).
t.test('bucket default encryption: every write after PutBucketEncryption is sealed, older objects stay plain', async (t) => {
  const pd = await startDaemonFor(t, { tls: true, env: { S3_KMS_AUTO_ENCRYPTION: 'off' } });
  const ps3 = clientWithoutResponseChecksums(pd);
  const pb = bucketName('defenc');
  await ps3.send(new CreateBucketCommand({ Bucket: pb }));
  const before = Buffer.from(`<<s3d-before-default-${randomBytes(4).toString('hex')}>>`);
  await ps3.send(new PutObjectCommand({ Bucket: pb, Key: 'before/inline', Body: patterned(before, 100) }));
  await ps3.send(new PutObjectCommand({ Bucket: pb, Key: 'before/file', Body: patterned(before, 129 * KiB) }));
  const early = await ps3.send(new CreateMultipartUploadCommand({ Bucket: pb, Key: 'before/upload' }));
  await ps3.send(new PutBucketEncryptionCommand({ Bucket: pb, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
  const after = Buffer.from(`<<s3d-after-default-${randomBytes(4).toString('hex')}>>`);
  for (const size of [1, 100, 127 * KiB, 129 * KiB]) {
    const out = await ps3.send(new PutObjectCommand({ Bucket: pb, Key: `after/${size}`, Body: patterned(after, size) }));
    t.equal(out.ServerSideEncryption, 'AES256', `after/${size}: SSE-S3`);
  }
  const r = await postForm(pd, pb, signedForm(pb, 'after/post', [], {}, { data: patterned(after, 100) }));
  t.equal(r.status, 204, 'POST after the default');
  for (const src of ['inline', 'file']) await ps3.send(new CopyObjectCommand({ Bucket: pb, Key: `after/copy-${src}`, CopySource: `${pb}/before/${src}` }));
  const late = await ps3.send(new CreateMultipartUploadCommand({ Bucket: pb, Key: 'after/upload' }));
  t.equal(late.ServerSideEncryption, 'AES256', 'an upload created after the default is SSE-S3');
  await ps3.send(new UploadPartCommand({ Bucket: pb, Key: 'after/upload', UploadId: late.UploadId, PartNumber: 1, Body: patterned(after, 129 * KiB) }));
  await ps3.send(new UploadPartCopyCommand({ Bucket: pb, Key: 'after/upload', UploadId: late.UploadId, PartNumber: 2, CopySource: `${pb}/before/inline` }));
  // An upload created before the default keeps its encryption (none), as on S3.
  await ps3.send(new UploadPartCommand({ Bucket: pb, Key: 'before/upload', UploadId: early.UploadId, PartNumber: 1, Body: patterned(before, 100) }));
  t.same(filesContaining(pd.dataDir, after), [], 'no file holds the plaintext of a write after the default');
  t.ok(filesContaining(pd.dataDir, before).length > 0, 'the objects stored before it stay plain (the control)');
});
