// Every copy combination between none, SSE-C, SSE-S3 and SSE-KMS (4 × 4) through CopyObject and
// through UploadPartCopy, for an inline and a file-backed source, and CopyObject from a multipart
// source (one DARE stream per part): the destination reads back the exact source bytes and HEAD
// reports the destination's kind (and only it).
import t from 'tap';
import type { Test } from 'tap';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { bucketName, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { md5Base64, md5Hex } from '../helpers/hash.js';
import { bodyBytes, clientWithoutResponseChecksums } from '../helpers/s3.js';
import { KMS_KEY_ARN, sseCopySourceInput, sseReadInput, sseWriteInput, type SseKind } from '../helpers/sse.js';

const KINDS: SseKind[] = ['none', 'SSE-C', 'SSE-S3', 'SSE-KMS'];
const SIZES = { inline: 1_000, file: 200_000 } as const;

const srcKey = randomBytes(32);
const dstKey = randomBytes(32);

let d: TestDaemon;
let s3: S3Client;
const bucket = bucketName('ssecopy');

t.before(async () => {
  d = await startDaemon({ tls: true });
  s3 = clientWithoutResponseChecksums(d);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [size, n] of Object.entries(SIZES)) {
    for (const kind of KINDS) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `src/${size}/${kind}`, Body: testBytes(n, n + KINDS.indexOf(kind)), ...sseWriteInput(kind, srcKey) }));
    }
  }
});
t.teardown(async () => {
  await d?.stop();
  d?.cleanup();
});

async function checkDestination(t: Test, key: string, dst: SseKind, want: Buffer, what: string): Promise<void> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...sseReadInput(dst, dstKey) }));
  const bytes = await bodyBytes(got);
  t.ok(bytes.equals(want), `${what}: identical bytes`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...sseReadInput(dst, dstKey) }));
  t.equal(head.ContentLength, want.length, `${what}: HEAD plaintext size`);
  const seen = {
    sse: head.ServerSideEncryption,
    kmsKey: head.SSEKMSKeyId,
    ssecAlgorithm: head.SSECustomerAlgorithm,
    ssecMd5: head.SSECustomerKeyMD5,
  };
  const expected = {
    sse: dst === 'SSE-S3' ? 'AES256' : dst === 'SSE-KMS' ? 'aws:kms' : undefined,
    kmsKey: dst === 'SSE-KMS' ? KMS_KEY_ARN : undefined,
    ssecAlgorithm: dst === 'SSE-C' ? 'AES256' : undefined,
    ssecMd5: dst === 'SSE-C' ? md5Base64(dstKey) : undefined,
  };
  t.same(seen, expected, `${what}: HEAD shows ${dst}`);
  if (dst === 'SSE-C') {
    // The source's key must not open the copy.
    const f = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...sseReadInput(dst, srcKey) })).then(
      () => 0,
      (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode,
    );
    t.equal(f, 403, `${what}: the source key does not open the copy`);
  }
}

for (const [size, n] of Object.entries(SIZES)) {
  t.test(`CopyObject matrix, ${size} source (${n} bytes)`, async (t) => {
    for (const src of KINDS) {
      const want = testBytes(n, n + KINDS.indexOf(src));
      for (const dst of KINDS) {
        const key = `co/${size}/${src}->${dst}`;
        const r = await s3.send(
          new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/src/${size}/${src}`, ...sseCopySourceInput(src, srcKey), ...sseWriteInput(dst, dstKey) }),
        );
        if (dst === 'none' || dst === 'SSE-S3') t.equal(r.CopyObjectResult?.ETag, `"${md5Hex(want)}"`, `${src} → ${dst}: ETag is the MD5`);
        await checkDestination(t, key, dst, want, `${src} → ${dst}`);
      }
    }
  });

  t.test(`UploadPartCopy matrix, ${size} source (${n} bytes)`, async (t) => {
    for (const src of KINDS) {
      const want = testBytes(n, n + KINDS.indexOf(src));
      for (const dst of KINDS) {
        const key = `upc/${size}/${src}->${dst}`;
        const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sseWriteInput(dst, dstKey) }));
        // A ranged part copy and a whole-object part copy.
        const half = Math.floor(n / 3);
        const p1 = await s3.send(
          new UploadPartCopyCommand({
            Bucket: bucket,
            Key: key,
            UploadId: c.UploadId,
            PartNumber: 1,
            CopySource: `${bucket}/src/${size}/${src}`,
            CopySourceRange: `bytes=${half}-${n - 1}`,
            ...sseCopySourceInput(src, srcKey),
            ...sseReadInput(dst, dstKey),
          }),
        );
        t.same(
          { sse: p1.ServerSideEncryption, kmsKey: p1.SSEKMSKeyId, ssec: p1.SSECustomerAlgorithm },
          {
            sse: dst === 'SSE-S3' ? 'AES256' : dst === 'SSE-KMS' ? 'aws:kms' : undefined,
            kmsKey: dst === 'SSE-KMS' ? KMS_KEY_ARN : undefined,
            ssec: dst === 'SSE-C' ? 'AES256' : undefined,
          },
          `part copy ${src} → ${dst}: UploadPartCopy response shows the upload's kind`,
        );
        await s3.send(
          new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult!.ETag }] } }),
        );
        await checkDestination(t, key, dst, want.subarray(half), `part copy ${src} → ${dst}`);
      }
    }
  });
}

t.test('CopyObject matrix, multipart source (two parts, 5 MiB + 100 000 bytes)', async (t) => {
  const p1 = testBytes(5 * 1024 * 1024, 901);
  const p2 = testBytes(100_000, 902);
  const want = Buffer.concat([p1, p2]);
  for (const src of KINDS) {
    const key = `src/mp/${src}`;
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sseWriteInput(src, srcKey) }));
    const parts = [];
    for (const [i, body] of [p1, p2].entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, PartNumber: i + 1, Body: body, ...sseReadInput(src, srcKey) }));
      parts.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: parts } }));
    for (const dst of KINDS) {
      const dkey = `co/mp/${src}->${dst}`;
      await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: dkey, CopySource: `${bucket}/${key}`, ...sseCopySourceInput(src, srcKey), ...sseWriteInput(dst, dstKey) }));
      await checkDestination(t, dkey, dst, want, `multipart ${src} → ${dst}`);
    }
  }
});
