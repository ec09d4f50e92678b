// Every copy combination between none, SSE-C, SSE-S3 and SSE-KMS (4 × 4) through CopyObject and
// through UploadPartCopy, for an inline and a file-backed source, and CopyObject from a multipart
// source (one DARE stream per part): the destination reads back the exact source bytes and HEAD
// reports the destination's kind (and only it). A copy-source SSE-C key that is missing, wrong,
// malformed or not wanted gets the same answer from CopyObject and UploadPartCopy, S3's.
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
  AbortMultipartUploadCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { bucketName, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { md5Base64, md5Hex } from '../helpers/hash.js';
import { bodyBytes, clientWithoutResponseChecksums, expectS3Error, withHeaders } from '../helpers/s3.js';
import { KMS_KEY_ARN, ssecCopy, ssecHeaders, sseCopySourceInput, sseReadInput, sseWriteInput, type SseKind } from '../helpers/sse.js';

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

t.test('UploadPartCopy of whole parts of a multipart source: the part ETag is the MD5 of the bytes copied', async (t) => {
  // The sources of the test above. A range that is exactly one part takes its MD5 from the part's
  // ETag (an SSE-S3 part's bytes authenticated as they are decrypted, an unencrypted part's
  // checked); any other range is hashed. Either way the ETag is the copied bytes' MD5.
  const p1 = testBytes(5 * 1024 * 1024, 901);
  const p2 = testBytes(100_000, 902);
  const MiB5 = p1.length;
  for (const src of KINDS) {
    for (const dst of ['none', 'SSE-S3'] as const) {
      const key = `upc/mp/${src}->${dst}`;
      const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sseWriteInput(dst, dstKey) }));
      const copy = async (n: number, from: number, to: number): Promise<string | undefined> => {
        const r = await s3.send(
          new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, PartNumber: n, CopySource: `${bucket}/src/mp/${src}`, CopySourceRange: `bytes=${from}-${to}`, ...sseCopySourceInput(src, srcKey) }),
        );
        return r.CopyPartResult?.ETag;
      };
      const across = Buffer.concat([p1, p2]).subarray(MiB5 - 10, MiB5 + 10);
      t.equal(await copy(3, MiB5 - 10, MiB5 + 9), `"${md5Hex(across)}"`, `${src} → ${dst}: a range across two parts`);
      t.equal(await copy(2, MiB5, MiB5 + p2.length - 1), `"${md5Hex(p2)}"`, `${src} → ${dst}: the whole second part`);
      const e1 = await copy(1, 0, MiB5 - 1);
      t.equal(e1, `"${md5Hex(p1)}"`, `${src} → ${dst}: the whole first part`);
      const e2 = await copy(2, MiB5, MiB5 + p2.length - 1);
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] } }));
      await checkDestination(t, key, dst, Buffer.concat([p1, p2]), `part copies ${src} → ${dst}`);
    }
  }
});

t.test('copy-source SSE-C faults: CopyObject and UploadPartCopy answer alike, as S3 does', async (t) => {
  const COPY_PREFIX = 'x-amz-copy-source-server-side-encryption-customer-';
  const short = randomBytes(16);
  const faults: { what: string; src: SseKind; input: Record<string, string>; headers?: Record<string, string>; code: string; status: number }[] = [
    // S3's words for a GET without the key, and for a copy of such a source (AWS's answer to opendal's copy, 400).
    { what: 'an SSE-C source without the copy-source key', src: 'SSE-C', input: {}, code: 'InvalidRequest', status: 400 },
    // Another key does not open the source: 403, as a GET with the wrong key (LocalStack recorded it against AWS for CopyObject).
    { what: 'an SSE-C source with another key', src: 'SSE-C', input: ssecCopy(dstKey), code: 'AccessDenied', status: 403 },
    // A key for a source that has none: the encryption parameters do not apply, as on GET.
    { what: 'a copy-source key for an unencrypted source', src: 'none', input: ssecCopy(srcKey), code: 'InvalidRequest', status: 400 },
    { what: 'a copy-source key for an SSE-S3 source', src: 'SSE-S3', input: ssecCopy(srcKey), code: 'InvalidRequest', status: 400 },
    { what: 'a copy-source key for an SSE-KMS source', src: 'SSE-KMS', input: ssecCopy(srcKey), code: 'InvalidRequest', status: 400 },
    // Headers that are no key: InvalidArgument, whatever the source.
    { what: 'a 16-byte copy-source key', src: 'SSE-C', input: {}, headers: ssecHeaders(short, COPY_PREFIX), code: 'InvalidArgument', status: 400 },
    { what: 'a copy-source key MD5 that is not the key\u2019s', src: 'SSE-C', input: {}, headers: { ...ssecHeaders(srcKey, COPY_PREFIX), [`${COPY_PREFIX}key-md5`]: md5Base64(dstKey) }, code: 'InvalidArgument', status: 400 },
    { what: 'a copy-source algorithm other than AES256', src: 'SSE-C', input: {}, headers: { ...ssecHeaders(srcKey, COPY_PREFIX), [`${COPY_PREFIX}algorithm`]: 'AES128' }, code: 'InvalidEncryptionAlgorithmError', status: 400 },
  ];
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'faults/upc' }));
  for (const f of faults) {
    const source = `${bucket}/src/inline/${f.src}`;
    const copy = new CopyObjectCommand({ Bucket: bucket, Key: 'faults/co', CopySource: source, ...f.input });
    await expectS3Error(t, s3.send(f.headers ? withHeaders(copy, f.headers) : copy), f.code, f.status, `CopyObject, ${f.what}`);
    const part = new UploadPartCopyCommand({ Bucket: bucket, Key: 'faults/upc', UploadId: up.UploadId, PartNumber: 1, CopySource: source, ...f.input });
    await expectS3Error(t, s3.send(f.headers ? withHeaders(part, f.headers) : part), f.code, f.status, `UploadPartCopy, ${f.what}`);
  }
  // The SSE-C key rotation (a copy onto itself with a new key) checks the old key the same way.
  const self = `src/inline/SSE-C`;
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: self, CopySource: `${bucket}/${self}`, ...sseWriteInput('SSE-C', dstKey) })), 'InvalidRequest', 400, 'key rotation without the old key');
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: self, CopySource: `${bucket}/${self}`, ...ssecCopy(dstKey), ...sseWriteInput('SSE-C', dstKey) })), 'AccessDenied', 403, 'key rotation with another old key');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'faults/upc', UploadId: up.UploadId }));
  await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'faults/co' })), 'NotFound', 404, 'no refused copy stored anything');
  // The source still opens with its own key after the refused rotations.
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: self, ...sseReadInput('SSE-C', srcKey) }));
  t.ok((await bodyBytes(got)).equals(testBytes(SIZES.inline, SIZES.inline + KINDS.indexOf('SSE-C'))), 'the SSE-C source is unchanged');
});
