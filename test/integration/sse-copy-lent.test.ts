// CopyObject and UploadPartCopy lend the source's plaintext to the data writer: each chunk is a
// view of the open pipeline's slot, valid only until the writer asks for the next. Everything that
// looks at a chunk (the sealer of an SSE-C/SSE-S3/SSE-KMS destination, the plain write batch, the
// MD5 of the ETag, the hasher of x-amz-checksum-algorithm) must take its bytes before then: a stale
// view would store (or checksum) the next batch's bytes in place of these. Sources here span
// several 1 MiB batches and end in a partial 64 KiB package, ranges start and end off every
// boundary and across parts, in every SSE combination, each with a checksum algorithm: the copy's
// bytes, its ETag (the MD5, where S3 gives one) and its checksum must all be the source's.
import t from 'tap';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { bucketName, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { crc32Base64, md5Hex } from '../helpers/hash.js';
import { bodyBytes, clientWithoutResponseChecksums } from '../helpers/s3.js';
import { sseCopySourceInput, sseReadInput, sseWriteInput, type SseKind } from '../helpers/sse.js';

const KINDS: SseKind[] = ['none', 'SSE-C', 'SSE-S3', 'SSE-KMS'];
const ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
const MiB = 1024 * 1024;
const PACKAGE = 64 * 1024;
/** A single-part source: two whole batches and then some, its last package partial. */
const SINGLE = 2 * MiB + 3 * PACKAGE + 1;
/** A multipart source's parts (each its own DARE stream). */
const PART1 = 5 * MiB;
const PART2 = PACKAGE + 1;

const srcKey = randomBytes(32);
const dstKey = randomBytes(32);
const bucket = bucketName('lent');
let d: TestDaemon;
let s3: S3Client;

async function digest(algorithm: ChecksumAlgorithm, data: Buffer): Promise<string> {
  switch (algorithm) {
    case 'CRC32':
      return crc32Base64(data);
    case 'CRC32C':
    case 'CRC64NVME': {
      const h = algorithm === 'CRC32C' ? new Crc32c() : new Crc64Nvme();
      h.update(data);
      return Buffer.from(await h.digest()).toString('base64');
    }
    default:
      return createHash(algorithm === 'SHA1' ? 'sha1' : 'sha256').update(data).digest('base64');
  }
}

/** The Checksum<ALG> member of a response or result. */
function checksumOf(r: object | undefined, algorithm: ChecksumAlgorithm): unknown {
  return (r as Record<string, unknown> | undefined)?.[`Checksum${algorithm}`];
}

const single = (kind: SseKind): Buffer => testBytes(SINGLE, 11 + KINDS.indexOf(kind));
const parts = (kind: SseKind): [Buffer, Buffer] => [testBytes(PART1, 21 + KINDS.indexOf(kind)), testBytes(PART2, 31 + KINDS.indexOf(kind))];

t.before(async () => {
  d = await startDaemon({ tls: true });
  s3 = clientWithoutResponseChecksums(d);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const kind of KINDS) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `single/${kind}`, Body: single(kind), ...sseWriteInput(kind, srcKey) }));
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `mp/${kind}`, ...sseWriteInput(kind, srcKey) }));
    const done = [];
    for (const [i, body] of parts(kind).entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: `mp/${kind}`, UploadId: c.UploadId, PartNumber: i + 1, Body: body, ...sseReadInput(kind, srcKey) }));
      done.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: `mp/${kind}`, UploadId: c.UploadId, MultipartUpload: { Parts: done } }));
  }
});
t.teardown(async () => {
  await d?.stop();
  d?.cleanup();
});

async function readBack(key: string, kind: SseKind): Promise<Buffer> {
  return bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...sseReadInput(kind, dstKey) })));
}

t.test('CopyObject of a source of several batches, every SSE combination, with a checksum', async (t) => {
  let n = 0;
  for (const src of KINDS) {
    const want = single(src);
    for (const dst of KINDS) {
      const algorithm = ALGORITHMS[n++ % ALGORITHMS.length]!;
      const key = `co/${src}->${dst}`;
      const what = `${src} → ${dst} (${algorithm})`;
      const r = await s3.send(
        new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/single/${src}`, ChecksumAlgorithm: algorithm, ...sseCopySourceInput(src, srcKey), ...sseWriteInput(dst, dstKey) }),
      );
      t.equal(checksumOf(r.CopyObjectResult, algorithm), await digest(algorithm, want), `${what}: the copy's checksum is the source bytes'`);
      if (dst === 'none' || dst === 'SSE-S3') t.equal(r.CopyObjectResult?.ETag, `"${md5Hex(want)}"`, `${what}: the ETag is their MD5`);
      t.ok((await readBack(key, dst)).equals(want), `${what}: identical bytes`);
    }
  }
});

t.test('UploadPartCopy across parts and off every boundary, and of one whole part, every SSE combination, with a checksum', async (t) => {
  let n = 0;
  for (const src of KINDS) {
    const [p1, p2] = parts(src);
    const whole = Buffer.concat([p1, p2]);
    // From inside the first package to past the first part's end: 5 MiB + 1 bytes, off every batch and package boundary.
    const from = PACKAGE - 1;
    const to = PART1 + PACKAGE - 1;
    const across = whole.subarray(from, to + 1);
    for (const dst of KINDS) {
      const algorithm = ALGORITHMS[n++ % ALGORITHMS.length]!;
      const key = `upc/${src}->${dst}`;
      const what = `${src} → ${dst} (${algorithm})`;
      const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: algorithm, ...sseWriteInput(dst, dstKey) }));
      try {
        const copy = (partNumber: number, range: string) =>
          s3.send(
            new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, PartNumber: partNumber, CopySource: `${bucket}/mp/${src}`, CopySourceRange: range, ...sseCopySourceInput(src, srcKey), ...sseReadInput(dst, dstKey) }),
          );
        const r1 = await copy(1, `bytes=${from}-${to}`);
        const r2 = await copy(2, `bytes=0-${PART1 - 1}`);
        t.equal(checksumOf(r1.CopyPartResult, algorithm), await digest(algorithm, across), `${what}: a range across parts: the part's checksum`);
        t.equal(checksumOf(r2.CopyPartResult, algorithm), await digest(algorithm, p1), `${what}: one whole part: the part's checksum`);
        if (dst === 'none' || dst === 'SSE-S3') {
          t.equal(r1.CopyPartResult?.ETag, `"${md5Hex(across)}"`, `${what}: a range across parts: the part ETag is the MD5`);
          t.equal(r2.CopyPartResult?.ETag, `"${md5Hex(p1)}"`, `${what}: one whole part: the part ETag is the MD5`);
        }
        await s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: c.UploadId,
            MultipartUpload: { Parts: [r1, r2].map((r, i) => ({ PartNumber: i + 1, ETag: r.CopyPartResult!.ETag, [`Checksum${algorithm}`]: checksumOf(r.CopyPartResult, algorithm) })) },
            ...sseReadInput(dst, dstKey),
          }),
        );
      } catch (err) {
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId })).catch(() => undefined);
        throw err;
      }
      t.ok((await readBack(key, dst)).equals(Buffer.concat([across, p1])), `${what}: identical bytes`);
    }
  }
});
