// S3's default checksum: since the end of 2024 S3 adds a CRC64NVME (type FULL_OBJECT) to every
// object uploaded without a checksum (S3's Checksum, PutObject and CopyObjectResult
// ChecksumCRC64NVME: "or if the object was uploaded without a checksum (and Amazon S3 added the
// default checksum, CRC64NVME …)"; versitygw #1182 saw it on HeadObject after a plain PUT,
// mountpoint-s3 #1185 in GetObjectAttributes). PutObject (plain, presigned, signed aws-chunked)
// and POST forms without a checksum, and a CopyObject of a source that has none, keep one: the
// PUT's answer names it, HEAD and GET with checksum mode and GetObjectAttributes give it, under
// SSE-S3 and SSE-C too. A checksum the client sends is the object's only one. A multipart upload
// created without an algorithm keeps none (versitygw #1547: S3 stores no default checksum there).

import t, { type Test } from 'tap';
import { createHash, createHmac } from 'node:crypto';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ACCESS_KEY, REGION, SECRET_KEY, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { send } from '../helpers/http.js';
import { bodyBytes, clientFor, createBucket } from '../helpers/s3.js';
import { postForm, signedForm } from '../helpers/post-object.js';
import { ssec, ssecCopy } from '../helpers/sse.js';
import { deriveSigningKey } from '../../daemon/auth/sigv4.js';

async function crc64(data: Buffer): Promise<string> {
  const h = new Crc64Nvme();
  h.update(data);
  return Buffer.from(await h.digest()).toString('base64');
}

const d = await startDaemonFor(t);
// No checksum from the SDK: the object is "uploaded without a checksum".
const s3 = clientFor(d, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
const plainBucket = await createBucket(s3, 'defcrc');
const bucket = plainBucket;
// SSE-C needs TLS.
const tls = await startDaemonFor(t, { tls: true });
const s3Tls = clientFor(tls, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
const tlsBucket = await createBucket(s3Tls, 'defcrc');
const customerKey = Buffer.alloc(32, 7);

async function expectDefault(tt: Test, key: string, body: Buffer, read: Record<string, string> = {}, client = s3, bucket = plainBucket): Promise<void> {
  const want = await crc64(body);
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...read }));
  tt.equal(head.ChecksumCRC64NVME, want, 'HEAD with checksum mode: the CRC64NVME of the bytes');
  tt.equal(head.ChecksumType, 'FULL_OBJECT');
  tt.equal(head.ChecksumCRC32, undefined, 'no other checksum');
  const get = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...read }));
  tt.equal(get.ChecksumCRC64NVME, want, 'GET with checksum mode');
  tt.ok((await bodyBytes(get)).equals(body));
  const attrs = await client.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: key, ObjectAttributes: ['Checksum'], ...read }));
  tt.same(attrs.Checksum, { ChecksumCRC64NVME: want, ChecksumType: 'FULL_OBJECT' }, 'GetObjectAttributes');
}

t.test('PutObject without a checksum: CRC64NVME FULL_OBJECT, named in the answer', async (tt) => {
  for (const [name, body] of [
    ['empty', Buffer.alloc(0)],
    ['small', Buffer.from('hello default checksum')],
    ['large', testBytes(3 * 1024 * 1024 + 17, 5)],
  ] as const) {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `put/${name}`, Body: body }));
    tt.equal(put.ChecksumCRC64NVME, await crc64(body), `${name}: PutObject's answer`);
    tt.equal(put.ChecksumType, 'FULL_OBJECT');
    await expectDefault(tt, `put/${name}`, body);
  }
  // Listings name the algorithm and type of the default as of any checksum (S3's Object ChecksumAlgorithm, ChecksumType).
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'put/' }));
  const small = listed.Contents?.find((o) => o.Key === 'put/small');
  tt.same(small?.ChecksumAlgorithm, ['CRC64NVME'], 'ListObjectsV2 names the default algorithm');
  tt.equal(small?.ChecksumType, 'FULL_OBJECT');
});

t.test('PutObject with Content-MD5 only still gets the default', async (tt) => {
  const body = Buffer.from('md5 only');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'put/md5', Body: body, ContentMD5: createHash('md5').update(body).digest('base64') }));
  await expectDefault(tt, 'put/md5', body);
});

t.test('a checksum the client sends is the only one kept', async (tt) => {
  const body = Buffer.from('client crc32');
  const withCrc = clientFor(d, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
  await withCrc.send(new PutObjectCommand({ Bucket: bucket, Key: 'put/crc32', Body: body, ChecksumAlgorithm: 'CRC32' }));
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'put/crc32', ChecksumMode: 'ENABLED' }));
  tt.ok(head.ChecksumCRC32);
  tt.equal(head.ChecksumCRC64NVME, undefined);
});

t.test('SSE-S3 and SSE-C objects: the default sealed like any checksum', async (tt) => {
  const body = testBytes(100_000, 9);
  await s3Tls.send(new PutObjectCommand({ Bucket: tlsBucket, Key: 'sse/s3', Body: body, ServerSideEncryption: 'AES256' }));
  await expectDefault(tt, 'sse/s3', body, {}, s3Tls, tlsBucket);
  const put = await s3Tls.send(new PutObjectCommand({ Bucket: tlsBucket, Key: 'sse/c', Body: body, ...ssec(customerKey) }));
  tt.equal(put.ChecksumCRC64NVME, await crc64(body));
  await expectDefault(tt, 'sse/c', body, ssec(customerKey), s3Tls, tlsBucket);
  // And a copy of an SSE-C object without a checksum (an upload created without an algorithm).
  const up = await s3Tls.send(new CreateMultipartUploadCommand({ Bucket: tlsBucket, Key: 'sse/c-mp', ...ssec(customerKey) }));
  const part = await s3Tls.send(new UploadPartCommand({ Bucket: tlsBucket, Key: 'sse/c-mp', UploadId: up.UploadId, PartNumber: 1, Body: body, ...ssec(customerKey) }));
  await s3Tls.send(new CompleteMultipartUploadCommand({ Bucket: tlsBucket, Key: 'sse/c-mp', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] }, ...ssec(customerKey) }));
  const copied = await s3Tls.send(new CopyObjectCommand({ Bucket: tlsBucket, Key: 'sse/c-copy', CopySource: `${tlsBucket}/sse/c-mp`, ...ssec(customerKey), ...ssecCopy(customerKey) }));
  tt.equal(copied.CopyObjectResult?.ChecksumCRC64NVME, await crc64(body));
  await expectDefault(tt, 'sse/c-copy', body, ssec(customerKey), s3Tls, tlsBucket);
});

t.test('presigned PUT without a checksum', async (tt) => {
  const body = Buffer.from('presigned body');
  const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'put/presigned' }), { expiresIn: 300 });
  const res = await fetch(url, { method: 'PUT', body });
  tt.equal(res.status, 200);
  tt.equal(res.headers.get('x-amz-checksum-crc64nvme'), await crc64(body));
  tt.equal(res.headers.get('x-amz-checksum-type'), 'FULL_OBJECT');
  await expectDefault(tt, 'put/presigned', body);
});

t.test('signed aws-chunked PUT without a trailer', async (tt) => {
  const body = testBytes(200_000, 3);
  const chunks = [body.subarray(0, 65536), body.subarray(65536, 131072), body.subarray(131072), Buffer.alloc(0)];
  const path = `/${bucket}/put/chunked`;
  const { signRequest } = await import('../../daemon/auth/sign.js');
  const { headers, signature } = signRequest({
    method: 'PUT',
    rawPath: path,
    headers: { host: `127.0.0.1:${d.port}`, 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(body.length) },
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    region: REGION,
    payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  });
  const amzDate = headers['x-amz-date']!;
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const key = deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3');
  const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
  let prev = signature;
  const wire: Buffer[] = [];
  for (const c of chunks) {
    const sig = createHmac('sha256', key).update(['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, sha(''), sha(c)].join('\n')).digest('hex');
    wire.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${sig}\r\n`), c, Buffer.from('\r\n'));
    prev = sig;
  }
  const payload = Buffer.concat(wire);
  const res = await send(d.port, { method: 'PUT', path, headers: { ...headers, 'content-length': String(payload.length) }, sign: false, body: payload });
  tt.equal(res.status, 200, res.body.toString());
  tt.equal(res.headers['x-amz-checksum-crc64nvme'], await crc64(body));
  await expectDefault(tt, 'put/chunked', body);
});

t.test('POST form without a checksum field', async (tt) => {
  const body = Buffer.from('posted bytes');
  const res = await postForm(d, bucket, signedForm(bucket, 'post/plain', [], {}, { data: body }));
  tt.equal(res.status, 204, res.body.toString());
  tt.equal(res.headers['x-amz-checksum-crc64nvme'], await crc64(body));
  await expectDefault(tt, 'post/plain', body);
});

t.test('CopyObject: a source without a checksum gives the copy the default; one with keeps its own', async (tt) => {
  const body = Buffer.from('copy me');
  // A multipart object of an upload created without an algorithm has no checksum.
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp/none' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp/none', UploadId: up.UploadId, PartNumber: 1, Body: body }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp/none', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
  const mpHead = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mp/none', ChecksumMode: 'ENABLED' }));
  tt.equal(mpHead.ChecksumCRC64NVME, undefined, 'a multipart upload without an algorithm keeps none');
  const copied = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy/of-none', CopySource: `${bucket}/mp/none` }));
  tt.equal(copied.CopyObjectResult?.ChecksumCRC64NVME, await crc64(body), "CopyObjectResult's default");
  tt.equal(copied.CopyObjectResult?.ChecksumType, 'FULL_OBJECT');
  await expectDefault(tt, 'copy/of-none', body);
  // A source with a CRC32: the copy keeps it, nothing added.
  const withCrc = clientFor(d, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
  await withCrc.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy/src-crc32', Body: body, ChecksumAlgorithm: 'CRC32' }));
  const kept = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy/of-crc32', CopySource: `${bucket}/copy/src-crc32` }));
  tt.ok(kept.CopyObjectResult?.ChecksumCRC32);
  tt.equal(kept.CopyObjectResult?.ChecksumCRC64NVME, undefined);
});
