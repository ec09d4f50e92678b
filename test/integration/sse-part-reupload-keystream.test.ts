// A part uploaded again under the same upload and part number is sealed under the same part key
// (MinIO's scheme: HMAC of the upload's object key and the part number), so only the DARE
// stream's random nonce keeps its keystream apart from the first upload's. Were it reused,
// AES-GCM would give the XOR of the two plaintexts to anyone who reads both files (the first is
// only queued for deletion). Checked on the stored files themselves, for every SSE kind and for
// UploadPartCopy as well as UploadPart.
import t from 'tap';
import type { Test } from 'tap';
import { CreateBucketCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand, UploadPartCopyCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bucketName, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { clientWithoutResponseChecksums } from '../helpers/s3.js';
import { sseReadInput, sseWriteInput, type SseKind } from '../helpers/sse.js';

const HEADER = 16; // DARE 2.0: version, cipher, length, 12-byte nonce (sequence-mixed per package)
const PKG_STORED = 64 * 1024 + 32;
const SIZE = 300_000; // over S3_INLINE_THRESHOLD: a data file of its own
const customerKey = randomBytes(32);

/** Whatever data file appeared since `before` (exactly one). */
function newFile(d: TestDaemon, before: Set<string>): Buffer {
  const added = dataFilePaths(d.dataDir).filter((p) => !before.has(p));
  if (added.length !== 1) throw new Error(`expected one new data file, found ${added.length}`);
  return readFileSync(added[0]!);
}

/** XOR of the first package's payload (after its header) of two ciphertexts, and of two plaintexts. */
function xorFirstPayload(a: Buffer, b: Buffer, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = a[offset + i]! ^ b[offset + i]!;
  return out;
}

async function uploadTwice(t: Test, d: TestDaemon, s3: S3Client, bucket: string, kind: Exclude<SseKind, 'none'>, copy: boolean): Promise<void> {
  const key = `${kind}-${copy ? 'copy' : 'put'}`;
  const first = testBytes(SIZE, 1);
  const second = testBytes(SIZE, 2);
  // UploadPartCopy reads plain sources of the two bodies.
  if (copy) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src-1', Body: first }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src-2', Body: second }));
  }
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sseWriteInput(kind, customerKey) }));
  const stored: Buffer[] = [];
  for (const [i, body] of [first, second].entries()) {
    const before = new Set(dataFilePaths(d.dataDir));
    const common = { Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: 1, ...sseReadInput(kind, customerKey) };
    if (copy) await s3.send(new UploadPartCopyCommand({ ...common, CopySource: `${bucket}/src-${i + 1}` }));
    else await s3.send(new UploadPartCommand({ ...common, Body: body }));
    stored.push(newFile(d, before));
  }
  const [a, b] = stored as [Buffer, Buffer];
  t.equal(a.length, b.length, `${key}: both uploads stored the same size`);
  t.not(a.subarray(4, HEADER).toString('hex'), b.subarray(4, HEADER).toString('hex'), `${key}: the two streams' nonces differ`);
  const payload = PKG_STORED - HEADER - 16;
  t.not(
    xorFirstPayload(a, b, HEADER, payload).toString('hex'),
    xorFirstPayload(first, second, 0, payload).toString('hex'),
    `${key}: the two ciphertexts do not share a keystream`,
  );
}

t.test('a part uploaded twice under one part number is sealed with a fresh nonce each time', async (t) => {
  const d = await startDaemonFor(t, { tls: true });
  const s3 = clientWithoutResponseChecksums(d);
  const bucket = bucketName('reup');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const kind of ['SSE-S3', 'SSE-KMS', 'SSE-C'] as const) {
    await uploadTwice(t, d, s3, bucket, kind, false);
    await uploadTwice(t, d, s3, bucket, kind, true);
  }
});
