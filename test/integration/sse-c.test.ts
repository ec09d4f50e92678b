// SSE-C end to end over HTTPS: PUT/GET/HEAD through @aws-sdk/client-s3 and minio-js, header
// validation with exact S3 error codes, multipart (every part repeats the key), UploadPartCopy and
// CopyObject from an SSE-C source, key rotation in place (the data file is not rewritten), and
// refusal of customer keys over plain HTTP.
import t from 'tap';
import type { Test } from 'tap';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  type ListPartsCommandOutput,
  type CompleteMultipartUploadCommandOutput,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { randomBytes } from 'node:crypto';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { bucketName, startDaemon, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { md5Base64, md5Hex, sha256Hex } from '../helpers/hash.js';
import { assertXmlError, raw, xmlField } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
import { clientWithoutResponseChecksums, createBucket, expectS3Error, getBytes, sdkFailure, withHeaders } from '../helpers/s3.js';
import { ssec, ssecCopy, ssecHeaders } from '../helpers/sse.js';

const MiB = 1024 * 1024;

/** HEAD errors have no body: only the status is meaningful. */
async function expectHeadStatus(t: Test, p: Promise<unknown>, status: number, what: string): Promise<void> {
  const f = await sdkFailure(p);
  t.equal(f.status, status, `${what} → ${status}`);
}

/** Every data file with its SHA-256. */
function dataFiles(d: TestDaemon): Map<string, string> {
  return new Map(dataFilePaths(d.dataDir).map((f) => [f, sha256Hex(readFileSync(f))]));
}

let d: TestDaemon;
let s3: S3Client;
const bucket = bucketName('ssec');
const keyA = randomBytes(32);
const keyB = randomBytes(32);

t.before(async () => {
  d = await startDaemon({ tls: true });
  d.proc.once('exit', (code, signal) => {
    if (!stopping) t.comment(`daemon exited unexpectedly (${code ?? signal}):\n${d.logs.slice(-40).join('\n')}`);
  });
  s3 = clientWithoutResponseChecksums(d);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
let stopping = false;
t.teardown(async () => {
  stopping = true;
  await d?.stop();
  d?.cleanup();
});

t.test('PUT/GET/HEAD with SSE-C via the SDK, inline and file-backed', async (t) => {
  for (const [name, size] of [['small', 1000], ['large', 300_000], ['empty', 0]] as const) {
    const body = testBytes(size, 11);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `sdk/${name}`, Body: body, ...ssec(keyA) }));
    t.equal(put.SSECustomerAlgorithm, 'AES256', `${name}: PUT echoes the algorithm`);
    t.equal(put.SSECustomerKeyMD5, md5Base64(keyA), `${name}: PUT echoes the key MD5`);
    t.match(put.ETag, /^"[0-9a-f]{32}"$/, `${name}: ETag is 32 hex`);
    t.not(put.ETag, `"${md5Hex(body)}"`, `${name}: SSE-C ETag is not the plaintext MD5`);

    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `sdk/${name}`, ...ssec(keyA) }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    t.ok(bytes.equals(body), `${name}: GET returns the exact bytes`);
    t.equal(got.ContentLength, size, `${name}: GET Content-Length is the plaintext size`);
    t.equal(got.SSECustomerAlgorithm, 'AES256');
    t.equal(got.SSECustomerKeyMD5, md5Base64(keyA));
    t.equal(got.ETag, put.ETag, `${name}: GET ETag equals PUT ETag`);
    t.equal(got.ServerSideEncryption, undefined, 'no x-amz-server-side-encryption on SSE-C');

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `sdk/${name}`, ...ssec(keyA) }));
    t.equal(head.ContentLength, size, `${name}: HEAD Content-Length is the plaintext size`);
    t.equal(head.SSECustomerAlgorithm, 'AES256');
    t.equal(head.SSECustomerKeyMD5, md5Base64(keyA));
    t.equal(head.ETag, put.ETag);
  }
  // Range on an encrypted object spanning a package boundary.
  const body = testBytes(300_000, 11);
  const part = await getBytes(s3, { Bucket: bucket, Key: 'sdk/large', Range: 'bytes=65000-140000', ...ssec(keyA) });
  t.ok(part.equals(body.subarray(65000, 140001)), 'ranged GET across package boundaries');
});

t.test('missing and wrong keys on an SSE-C object', async (t) => {
  const key = 'sdk/large';
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })), 'InvalidRequest', 400, 'GET without key');
  await expectHeadStatus(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), 400, 'HEAD without key');
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...ssec(keyB) })), 'AccessDenied', 403, 'GET with wrong key');
  await expectHeadStatus(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...ssec(keyB) })), 403, 'HEAD with wrong key');
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'sdk/small', ...ssec(keyB) })), 'AccessDenied', 403, 'GET inline object with wrong key');
  // SSE-C headers on an unencrypted object.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: 'plain' }));
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'plain', ...ssec(keyA) })), 'InvalidRequest', 400, 'GET plain object with SSE-C key');
  // x-amz-server-side-encryption on a read is not allowed.
  await expectS3Error(
    t,
    s3.send(withHeaders(new GetObjectCommand({ Bucket: bucket, Key: key, ...ssec(keyA) }), { 'x-amz-server-side-encryption': 'AES256' })),
    'InvalidArgument',
    400,
    'GET with x-amz-server-side-encryption',
  );
});

t.test('SSE-C header validation', async (t) => {
  const put = (headers: Record<string, string | undefined>): Promise<unknown> =>
    s3.send(withHeaders(new PutObjectCommand({ Bucket: bucket, Key: 'bad', Body: 'x', ...ssec(keyA) }), headers));
  // An algorithm other than AES256 is S3's InvalidEncryptionAlgorithmError, naming the value (recorded
  // from AWS in minio/minio#4894 for a GET with AES251, and aws/aws-cli#1349); a key without any
  // algorithm stays InvalidArgument.
  await expectS3Error(t, put({ 'x-amz-server-side-encryption-customer-algorithm': 'AES128' }), 'InvalidEncryptionAlgorithmError', 400, 'algorithm AES128');
  await expectS3Error(t, put({ 'x-amz-server-side-encryption-customer-algorithm': 'aes256' }), 'InvalidEncryptionAlgorithmError', 400, 'algorithm in lower case');
  await expectS3Error(t, put({ 'x-amz-server-side-encryption-customer-algorithm': undefined }), 'InvalidArgument', 400, 'algorithm missing');
  const badAlgorithm = await raw(d.port, {
    method: 'GET',
    path: `/${bucket}/sdk/small`,
    agent: new HttpsAgent({ ca: d.caCert! }),
    headers: { ...ssecHeaders(keyA), 'x-amz-server-side-encryption-customer-algorithm': 'AES251' },
  });
  assertXmlError(t, badAlgorithm, 400, 'InvalidEncryptionAlgorithmError', 'GET with algorithm AES251');
  t.equal(xmlField(badAlgorithm.body, 'Message'), 'The Encryption request you specified is not valid. Supported value: AES256.', 'S3\'s message');
  t.same([xmlField(badAlgorithm.body, 'ArgumentName'), xmlField(badAlgorithm.body, 'ArgumentValue')], ['x-amz-server-side-encryption', 'AES251'], 'S3 names the value sent');
  const short = randomBytes(16);
  await expectS3Error(
    t,
    put({ 'x-amz-server-side-encryption-customer-key': short.toString('base64'), 'x-amz-server-side-encryption-customer-key-md5': md5Base64(short) }),
    'InvalidArgument',
    400,
    '16-byte key',
  );
  const long = randomBytes(33);
  await expectS3Error(
    t,
    put({ 'x-amz-server-side-encryption-customer-key': long.toString('base64'), 'x-amz-server-side-encryption-customer-key-md5': md5Base64(long) }),
    'InvalidArgument',
    400,
    '33-byte key',
  );
  await expectS3Error(t, put({ 'x-amz-server-side-encryption-customer-key': '!!!not base64!!!' }), 'InvalidArgument', 400, 'key not base64');
  await expectS3Error(t, put({ 'x-amz-server-side-encryption-customer-key': undefined }), 'InvalidArgument', 400, 'key missing');
  await expectS3Error(t, put({ 'x-amz-server-side-encryption-customer-key-md5': md5Base64(keyB) }), 'InvalidArgument', 400, 'MD5 of another key');
  await expectS3Error(t, put({ 'x-amz-server-side-encryption-customer-key-md5': undefined }), 'InvalidArgument', 400, 'MD5 missing');
  await expectS3Error(t, put({ 'x-amz-server-side-encryption': 'AES256' }), 'InvalidArgument', 400, 'SSE-C together with AES256');
  await expectS3Error(t, put({ 'x-amz-server-side-encryption': 'aws:kms' }), 'InvalidArgument', 400, 'SSE-C together with aws:kms');
  // The same validation applies on GET.
  await expectS3Error(
    t,
    s3.send(withHeaders(new GetObjectCommand({ Bucket: bucket, Key: 'sdk/small', ...ssec(keyA) }), { 'x-amz-server-side-encryption-customer-key-md5': md5Base64(keyB) })),
    'InvalidArgument',
    400,
    'GET with MD5 mismatch',
  );
  await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad' })), 'NotFound', 404, 'no object was created by the refused PUTs');
});

t.test('minio-js over HTTPS with SSE-C', async (t) => {
  const mc = minioClient(d);
  const body = testBytes(200_000, 21);
  const headers = ssecHeaders(keyB);
  const put = await mc.putObject(bucket, 'minio/obj', body, body.length, headers);
  t.match(put.etag, /^[0-9a-f]{32}$/);
  const getOpts = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: keyB.toString('base64'), SSECustomerKeyMD5: md5Base64(keyB) };
  const stream = await mc.getObject(bucket, 'minio/obj', getOpts);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  t.ok(Buffer.concat(chunks).equals(body), 'minio-js getObject returns the exact bytes');
  const pstream = await mc.getPartialObject(bucket, 'minio/obj', 70_000, 100_000, getOpts);
  const pchunks: Buffer[] = [];
  for await (const c of pstream) pchunks.push(c as Buffer);
  t.ok(Buffer.concat(pchunks).equals(body.subarray(70_000, 170_000)), 'minio-js getPartialObject returns the exact slice');
  // The SDK reads what minio-js wrote.
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'minio/obj', ...ssec(keyB) })).equals(body), 'SDK reads the minio-js object');
  await t.rejects(mc.getObject(bucket, 'minio/obj'), { code: 'InvalidRequest' }, 'minio-js GET without key → InvalidRequest');
  await t.rejects(
    mc.getObject(bucket, 'minio/obj', { SSECustomerAlgorithm: 'AES256', SSECustomerKey: keyA.toString('base64'), SSECustomerKeyMD5: md5Base64(keyA) }),
    { code: 'AccessDenied' },
    'minio-js GET with wrong key → AccessDenied',
  );
});

/** A multipart upload of `sizes` parts with SSE-C; returns the uploadId and the plaintext. */
async function startSsecUpload(key: string, ck: Buffer): Promise<string> {
  const create = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...ssec(ck) }));
  return create.UploadId!;
}

/** Sends `cmd`; resolves with its output and the SSE-C key MD5 response header (undefined when absent). */
async function withKeyMd5<O>(cmd: { middlewareStack: { add: (...a: never[]) => void }; __out?: O } | object): Promise<[O, string | undefined]> {
  const c = cmd as { middlewareStack: { add: (...a: never[]) => void } };
  let md5: string | undefined;
  (c.middlewareStack.add as (m: unknown, o: unknown) => void)(
    (next: (a: unknown) => Promise<{ response: { headers: Record<string, string> } }>) => async (args: unknown) => {
      const out = await next(args);
      md5 = out.response.headers['x-amz-server-side-encryption-customer-key-md5'];
      return out;
    },
    { step: 'deserialize', name: 'keyMd5Header' },
  );
  const out = (await s3.send(cmd as never)) as O;
  return [out, md5];
}

t.test('multipart upload with SSE-C', async (t) => {
  const key = 'mp/obj';
  const uploadId = await startSsecUpload(key, keyA);
  const p1 = testBytes(5 * MiB, 31);
  const p2 = testBytes(700_000, 32);
  const up1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: p1, ...ssec(keyA) }));
  t.equal(up1.SSECustomerAlgorithm, 'AES256', 'UploadPart echoes the algorithm');
  t.equal(up1.SSECustomerKeyMD5, md5Base64(keyA), 'UploadPart echoes the key MD5');
  // Rejected parts carry small bodies (large early-rejected bodies: http-rejected-bodies.test.ts).
  await expectS3Error(t, s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 2, Body: 'tiny' })), 'InvalidRequest', 400, 'part without key');
  await expectS3Error(
    t,
    s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 2, Body: 'tiny', ...ssec(keyB) })),
    'InvalidRequest',
    400,
    'part with a different key (S3 and ceph s3-tests: 400, not the 403 of a GET)',
  );
  const src = `${key}-plain-source`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: src, Body: 'copy me' }));
  await expectS3Error(
    t,
    s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 2, CopySource: `${bucket}/${src}`, ...ssec(keyB) })),
    'InvalidRequest',
    400,
    'UploadPartCopy with a different destination key',
  );
  const up2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 2, Body: p2, ...ssec(keyA) }));

  // ListParts: the key's MD5 and the parts' checksums (of the plaintext) only with the key; anyone
  // allowed to list parts got both before.
  const listParts = async (extra: object): Promise<{ md5: string | undefined; checksums: unknown[] }> => {
    const [r, md5] = await withKeyMd5<ListPartsCommandOutput>(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, ...extra }));
    return { md5, checksums: (r.Parts ?? []).map((p) => p.ChecksumCRC32 ?? p.ChecksumCRC64NVME ?? p.ChecksumCRC32C) };
  };
  const without = await listParts({});
  t.equal(without.md5, undefined, 'ListParts without the key: no key MD5');
  t.same(without.checksums, [undefined, undefined], 'and no part checksums');
  const withKey = await listParts(ssec(keyA));
  t.equal(withKey.md5, md5Base64(keyA), 'ListParts with the key: its MD5');
  t.ok(withKey.checksums.every((c) => typeof c === 'string'), 'and the part checksums');
  await expectS3Error(t, s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, ...ssec(keyB) })), 'InvalidRequest', 400, 'ListParts with another key (S3: "The provided encryption parameters did not match the ones used originally.")');

  const complete = (extra: object) =>
    withKeyMd5<CompleteMultipartUploadCommandOutput>(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: up1.ETag }, { PartNumber: 2, ETag: up2.ETag }] },
        ...extra,
      }),
    );
  const [done, doneMd5] = await complete({});
  t.match(done.ETag, /^"[0-9a-f]{32}-2"$/);
  t.equal(doneMd5, undefined, 'CompleteMultipartUpload without the key: no key MD5');
  t.equal((await complete(ssec(keyA)))[1], md5Base64(keyA), 'its retry with the key: the key MD5');
  await expectS3Error(t, complete(ssec(keyB)), 'InvalidRequest', 400, 'its retry with another key');
  const whole = Buffer.concat([p1, p2]);
  const got = await getBytes(s3, { Bucket: bucket, Key: key, ...ssec(keyA) });
  t.ok(got.equals(whole), 'multipart SSE-C object reads back exactly');
  const cross = await getBytes(s3, { Bucket: bucket, Key: key, Range: `bytes=${5 * MiB - 100_000}-${5 * MiB + 100_000}`, ...ssec(keyA) });
  t.ok(cross.equals(whole.subarray(5 * MiB - 100_000, 5 * MiB + 100_001)), 'range across the part boundary');
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...ssec(keyA) }));
  t.equal(head.ContentLength, whole.length, 'HEAD reports the plaintext size');
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...ssec(keyB) })), 'AccessDenied', 403, 'multipart GET with wrong key');

  // A plain upload refuses SSE-C parts.
  const plain = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp/plain' }));
  await expectS3Error(
    t,
    s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp/plain', UploadId: plain.UploadId, PartNumber: 1, Body: 'x', ...ssec(keyA) })),
    'InvalidRequest',
    400,
    'SSE-C part into a plain upload',
  );
});

t.test('UploadPartCopy from an SSE-C source', async (t) => {
  const srcBody = testBytes(6 * MiB, 41);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'upc/src', Body: srcBody, ...ssec(keyA) }));
  const key = 'upc/dst';
  const uploadId = await startSsecUpload(key, keyB);
  const copySource = `${bucket}/upc/src`;
  await expectS3Error(
    t,
    s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, CopySource: copySource, ...ssec(keyB) })),
    'InvalidRequest',
    400,
    'copy part without copy-source key',
  );
  await expectS3Error(
    t,
    s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, CopySource: copySource, ...ssec(keyB), ...ssecCopy(keyB) })),
    'AccessDenied',
    403,
    'copy part with the wrong copy-source key',
  );
  await expectS3Error(
    t,
    s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, CopySource: copySource, ...ssecCopy(keyA) })),
    'InvalidRequest',
    400,
    'copy part into an SSE-C upload without the upload key',
  );
  const c1 = await s3.send(
    new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, CopySource: copySource, CopySourceRange: `bytes=0-${5 * MiB - 1}`, ...ssec(keyB), ...ssecCopy(keyA) }),
  );
  const c2 = await s3.send(
    new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 2, CopySource: copySource, CopySourceRange: `bytes=${5 * MiB}-${6 * MiB - 1}`, ...ssec(keyB), ...ssecCopy(keyA) }),
  );
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: c1.CopyPartResult!.ETag }, { PartNumber: 2, ETag: c2.CopyPartResult!.ETag }] },
    }),
  );
  t.ok((await getBytes(s3, { Bucket: bucket, Key: key, ...ssec(keyB) })).equals(srcBody), 'copied parts read back with the upload key');
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...ssec(keyA) })), 'AccessDenied', 403, 'source key does not open the destination');

  // Into a plain upload: the copy-source key decrypts, the part is stored plain.
  const plain = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'upc/plain' }));
  const pc = await s3.send(
    new UploadPartCopyCommand({ Bucket: bucket, Key: 'upc/plain', UploadId: plain.UploadId, PartNumber: 1, CopySource: copySource, CopySourceRange: 'bytes=1000-99999', ...ssecCopy(keyA) }),
  );
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'upc/plain', UploadId: plain.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pc.CopyPartResult!.ETag }] } }),
  );
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'upc/plain' })).equals(srcBody.subarray(1000, 100_000)), 'plain part copied from an SSE-C range');
});

t.test('CopyObject from an SSE-C source', async (t) => {
  const body = testBytes(250_000, 51);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'co/src', Body: body, ...ssec(keyA) }));
  const src = `${bucket}/co/src`;
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'co/x', CopySource: src })), 'InvalidRequest', 400, 'copy without copy-source key');
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'co/x', CopySource: src, ...ssecCopy(keyB) })), 'AccessDenied', 403, 'copy with the wrong copy-source key');
  await expectS3Error(
    t,
    s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'co/x', CopySource: `${bucket}/plain`, ...ssecCopy(keyA) })),
    'InvalidRequest',
    400,
    'copy-source key on a plain source',
  );

  const toPlain = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'co/plain', CopySource: src, ...ssecCopy(keyA) }));
  t.equal(toPlain.CopyObjectResult?.ETag, `"${md5Hex(body)}"`, 'plain destination ETag is the MD5');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'co/plain' })).equals(body), 'SSE-C → plain');

  const toC = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'co/ssec', CopySource: src, ...ssecCopy(keyA), ...ssec(keyB) }));
  t.equal(toC.SSECustomerKeyMD5, md5Base64(keyB), 'CopyObject echoes the destination key MD5');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'co/ssec', ...ssec(keyB) })).equals(body), 'SSE-C(A) → SSE-C(B)');
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'co/ssec', ...ssec(keyA) })), 'AccessDenied', 403, 'old key does not open the copy');

  const toS3 = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'co/sses3', CopySource: src, ...ssecCopy(keyA), ServerSideEncryption: 'AES256' }));
  t.equal(toS3.ServerSideEncryption, 'AES256');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'co/sses3' })).equals(body), 'SSE-C → SSE-S3');
});

t.test('key rotation: copy onto itself with a new key reseals only the object key', async (t) => {
  const key = 'rot/obj';
  const body = testBytes(400_000, 61);
  const before = dataFiles(d);
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...ssec(keyA) }));
  const afterPut = dataFiles(d);
  const mine = [...afterPut.keys()].filter((f) => !before.has(f));
  t.equal(mine.length, 1, 'the PUT wrote exactly one data file');
  const file = mine[0]!;
  const hash = afterPut.get(file)!;

  // Wrong old key: refused, nothing changes.
  await expectS3Error(
    t,
    s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/${key}`, ...ssecCopy(keyB), ...ssec(keyB) })),
    'AccessDenied',
    403,
    'rotation with a wrong old key',
  );
  const rot = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/${key}`, ...ssecCopy(keyA), ...ssec(keyB) }));
  t.equal(rot.SSECustomerKeyMD5, md5Base64(keyB));
  const after = dataFiles(d);
  t.equal(after.get(file), hash, 'the data file is byte-identical after the rotation');
  t.same([...after.keys()].filter((f) => !afterPut.has(f)), [], 'no new data file was written');

  t.ok((await getBytes(s3, { Bucket: bucket, Key: key, ...ssec(keyB) })).equals(body), 'reads back with the new key');
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...ssec(keyA) })), 'AccessDenied', 403, 'the old key no longer opens it');
  await expectHeadStatus(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...ssec(keyA) })), 403, 'HEAD with the old key');
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...ssec(keyB) }));
  t.equal(head.ETag, put.ETag, 'the ETag survives the rotation');
  t.equal(head.ContentLength, body.length);
  t.equal(head.SSECustomerKeyMD5, md5Base64(keyB));
});

t.test('key rotation of a multipart object keeps every part file', async (t) => {
  const key = 'mp/obj'; // written by the multipart test with keyA
  const before = dataFiles(d);
  const whole = Buffer.concat([testBytes(5 * MiB, 31), testBytes(700_000, 32)]);
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/${key}`, ...ssecCopy(keyA), ...ssec(keyB) }));
  t.same(dataFiles(d), before, 'no data file was written, removed or changed');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: key, ...ssec(keyB) })).equals(whole), 'reads back with the new key');
  const cross = await getBytes(s3, { Bucket: bucket, Key: key, Range: `bytes=${5 * MiB - 10}-${5 * MiB + 10}`, ...ssec(keyB) });
  t.ok(cross.equals(whole.subarray(5 * MiB - 10, 5 * MiB + 11)), 'range across the part boundary with the new key');
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...ssec(keyA) })), 'AccessDenied', 403, 'the old key no longer opens it');
});

/** A request to a URL on the TLS daemon: status and body. */
function fetchTls(url: string, opts: { method: string; headers?: Record<string, string>; body?: Buffer }): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: opts.method, headers: opts.headers, ca: d.caCert }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

// "Presigned URLs and SSE-C" (S3's user guide): the URL signs the algorithm, whoever uses it adds
// the key and its MD5 unsigned, so the key never appears in a URL. The SDK for .NET's integration
// tests do so against S3; s3d refused the unsigned key headers (HeadersNotSigned).
t.test('presigned URLs with SSE-C: the key and its MD5 are sent unsigned beside a URL that signs the algorithm', async (t) => {
  const data = testBytes(300_000, 91);
  // The JavaScript presigner signs the algorithm as a header (the user sends it as signed); the
  // key and its MD5 go beside it unsigned.
  const keyHeaders = ssecHeaders;
  const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'presigned/ssec', SSECustomerAlgorithm: 'AES256' }), { expiresIn: 300 });
  t.notMatch(putUrl, /customer-key/i, 'the URL holds no key');
  const put = await fetchTls(putUrl, { method: 'PUT', headers: keyHeaders(keyA), body: data });
  t.equal(put.status, 200, 'presigned PUT with the key headers unsigned: 200');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'presigned/ssec', ...ssec(keyA) })).equals(data), 'stored under that key');

  const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'presigned/ssec', SSECustomerAlgorithm: 'AES256' }), { expiresIn: 300 });
  const got = await fetchTls(getUrl, { method: 'GET', headers: keyHeaders(keyA) });
  t.same([got.status, got.body.equals(data)], [200, true], 'presigned GET with the key headers unsigned: the bytes');
  const wrong = await fetchTls(getUrl, { method: 'GET', headers: keyHeaders(keyB) });
  t.same([wrong.status, xmlField(wrong.body, 'Code')], [403, 'AccessDenied'], 'with another key: 403, as a signed request with it');
  const none = await fetchTls(getUrl, { method: 'GET', headers: { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' } });
  t.same([none.status, xmlField(none.body, 'Code')], [400, 'InvalidArgument'], 'the algorithm without the key: 400');
  // The algorithm itself must be signed: a URL without it, the three headers beside it.
  const plainUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'presigned/ssec' }), { expiresIn: 300 });
  const unsignedAlg = await fetchTls(plainUrl, { method: 'GET', headers: ssecHeaders(keyA) });
  t.same([unsignedAlg.status, xmlField(unsignedAlg.body, 'HeadersNotSigned')], [403, 'x-amz-server-side-encryption-customer-algorithm'], 'an unsigned algorithm header is still named');
  const other = await fetchTls(getUrl, { method: 'GET', headers: { ...keyHeaders(keyA), 'x-amz-meta-extra': '1' } });
  t.same([other.status, xmlField(other.body, 'HeadersNotSigned')], [403, 'x-amz-meta-extra'], 'other unsigned x-amz-* headers are still refused');
});

t.test('SSE-C over plain HTTP is refused with InvalidRequest', async (t) => {
  const plain = await startDaemonFor(t);
  const c = clientWithoutResponseChecksums(plain);
  const b = await createBucket(c, 'ssecplain');
  await c.send(new PutObjectCommand({ Bucket: b, Key: 'obj', Body: 'hello' }));
  await expectS3Error(t, c.send(new PutObjectCommand({ Bucket: b, Key: 'c', Body: 'secret', ...ssec(keyA) })), 'InvalidRequest', 400, 'PUT with SSE-C over HTTP');
  await expectS3Error(t, c.send(new GetObjectCommand({ Bucket: b, Key: 'obj', ...ssec(keyA) })), 'InvalidRequest', 400, 'GET with SSE-C over HTTP');
  await expectHeadStatus(t, c.send(new HeadObjectCommand({ Bucket: b, Key: 'obj', ...ssec(keyA) })), 400, 'HEAD with SSE-C over HTTP');
  await expectS3Error(t, c.send(new CopyObjectCommand({ Bucket: b, Key: 'copy', CopySource: `${b}/obj`, ...ssecCopy(keyA) })), 'InvalidRequest', 400, 'copy-source SSE-C over HTTP');
  await expectS3Error(t, c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mp', ...ssec(keyA) })), 'InvalidRequest', 400, 'CreateMultipartUpload with SSE-C over HTTP');
  await expectS3Error(t, c.send(new HeadObjectCommand({ Bucket: b, Key: 'c' })), 'NotFound', 404, 'nothing was stored');
});

t.test('SSE-C keys as query parameters over plain HTTP are refused too, a copy source\'s included', async (t) => {
  // The SSE-C source is written over TLS; the same data dir is then served over plain HTTP.
  const tls = await startDaemon({ tls: true });
  const dataDir = tls.dataDir;
  t.teardown(() => tls.cleanup());
  const b = await createBucket(clientWithoutResponseChecksums(tls), 'ssecquery');
  await clientWithoutResponseChecksums(tls).send(new PutObjectCommand({ Bucket: b, Key: 'src', Body: 'customer secret', ...ssec(keyA) }));
  await tls.stop();
  const plain = await startDaemon({ dataDir });
  t.teardown(() => plain.stop());
  const asQuery = (headers: Record<string, string>, name = (n: string): string => n): string => Object.entries(headers).map(([n, v]) => `${name(n)}=${encodeURIComponent(v)}`).join('&');
  const refused = async (what: string, opts: Parameters<typeof raw>[1]): Promise<void> => {
    const r = await raw(plain.port, opts);
    assertXmlError(t, r, 400, 'InvalidRequest', what);
    t.match(xmlField(r.body, 'Message'), /must be made over a secure connection/, `${what}: the message says why`);
  };
  await refused('CopyObject with the copy source\'s key in the query', {
    method: 'PUT', path: `/${b}/copy`, query: asQuery(ssecHeaders(keyA, 'x-amz-copy-source-server-side-encryption-customer-')), headers: { 'x-amz-copy-source': `/${b}/src` },
  });
  await refused('GetObject with the key in the query', { method: 'GET', path: `/${b}/src`, query: asQuery(ssecHeaders(keyA)) });
  await refused('CopyObject with the copy source\'s key in the query, names in upper case', { method: 'PUT', path: `/${b}/copy`, query: asQuery(ssecHeaders(keyA, 'x-amz-copy-source-server-side-encryption-customer-'), (n) => n.toUpperCase()), headers: { 'x-amz-copy-source': `/${b}/src` } });
  t.equal((await raw(plain.port, { method: 'HEAD', path: `/${b}/copy` })).status, 404, 'no copy was made');
});

t.test('ranged GET through the SDK with its default checksum validation', async (t) => {
  const sdk = d.s3();
  const body = testBytes(300_000, 71);
  await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'range/plain', Body: body }));
  const got = await getBytes(sdk, { Bucket: bucket, Key: 'range/plain', Range: 'bytes=100-199' });
  t.ok(got.equals(body.subarray(100, 200)));
});

t.test('an UploadPart rejected before its 2 MiB body is read leaves the daemon running', async (t) => {
  const own = await startDaemonFor(t, { tls: true });
  const c = clientWithoutResponseChecksums(own);
  const b = await createBucket(c, 'ssecbody');
  const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'k', ...ssec(keyA) }));
  for (let i = 0; i < 3; i++) {
    await expectS3Error(t, c.send(new UploadPartCommand({ Bucket: b, Key: 'k', UploadId, PartNumber: 1, Body: testBytes(2 * MiB, i) })), 'InvalidRequest', 400, `part ${i} without key`);
  }
  await new Promise((r) => setTimeout(r, 200));
  t.equal(own.proc.exitCode, null, 'the daemon is still running');
});

t.test('no customer key material in the daemon logs', async (t) => {
  const logs = d.logs.join('\n');
  t.ok(logs.length > 0, 'there are logs to search');
  for (const k of [keyA, keyB]) {
    t.notOk(logs.includes(k.toString('base64')), 'no base64 customer key');
    t.notOk(logs.includes(k.toString('hex')), 'no hex customer key');
  }
});
