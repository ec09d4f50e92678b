// Presigned URLs as the JavaScript SDK (@aws-sdk/s3-request-presigner's getSignedUrl) and the aws
// CLI (`aws s3 presign`) make them, fetched with plain HTTP clients that know nothing of S3: GET
// and PUT of keys with characters each signer escapes its own way, response-* overrides, an
// SSE-S3 header and a Content-MD5 the presigner signs, and the refusals (expired, tampered, moved to another key)
// that must change nothing. The SDK's presigned PutObject URLs carry the CRC32 of an empty body
// (x-amz-checksum-crc32=AAAAAA==, its default since 3.729): S3 ignores checksums in a URL, and
// s3d used to answer every such upload BadDigest; it neither checks nor keeps them, for PutObject
// and UploadPart (a COMPOSITE upload's part needs its checksum signed as a header), while one the
// URL signs as a header is checked and kept. Nor are the checksum settings the presigner leaves in
// the query (x-amz-checksum-mode on every GET and HEAD URL, x-amz-checksum-algorithm and -type on
// CreateMultipartUpload and CopyObject URLs). boto3's presigned URLs are in s3-boto3.test.ts.
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListPartsCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ACCESS_KEY, REGION, SECRET_KEY, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { presignUrl } from '../../daemon/auth/sign.js';
import { awsCli, NO_AWS } from '../helpers/aws-cli.js';
import { bodyBytes, createBucket, s3Code } from '../helpers/s3.js';
import { errorCode, xmlField } from '../helpers/http.js';
import { sleep } from '../helpers/wait.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const bucket = await createBucket(s3, 'presign');
const keys = ['plain.txt', 'dir/a b+c=d~e.txt', 'ünï/cödé €.bin', "quote's & (paren) [x].txt", 'semi;colon,comma@at$dollar!.txt'];

async function fetchUrl(url: string, init: RequestInit = {}): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const r = await fetch(url, init);
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()), headers: r.headers };
}

t.test('getSignedUrl: PUT then GET, every key, with fetch', async (t) => {
  for (const [i, key] of keys.entries()) {
    const body = testBytes(1000 + i * 70_000, i + 1);
    const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
    // The SDK signs the CRC32 of the empty body it had into the URL; S3 ignores checksums in a
    // URL's query, and so must s3d (it answered BadDigest to every such upload).
    if (i === 0) t.match(put, /x-amz-checksum-crc32=AAAAAA%3D%3D/, 'the URL carries the SDK\u2019s empty-body CRC32');
    const p = await fetchUrl(put, { method: 'PUT', body });
    t.equal(p.status, 200, `${key}: presigned PUT 200`);
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
    const g = await fetchUrl(get);
    t.ok(g.status === 200 && g.body.equals(body), `${key}: presigned GET returns the bytes (${g.status}, ${g.body.length})`);
  }
});

t.test('getSignedUrl: a multipart upload whose parts go through presigned UploadPart URLs (the browser pattern)', async (t) => {
  const key = 'multi part.bin';
  const parts = [testBytes(5 * 1024 * 1024, 21), testBytes(123_457, 22)];
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const done = [];
  for (const [i, part] of parts.entries()) {
    const url = await getSignedUrl(s3, new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: i + 1 }), { expiresIn: 300 });
    const r = await fetchUrl(url, { method: 'PUT', body: part });
    t.equal(r.status, 200, `part ${i + 1}: 200`);
    done.push({ PartNumber: i + 1, ETag: r.headers.get('etag') ?? '' });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: done } }));
  t.ok((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })))).equals(Buffer.concat(parts)), 'the object is the parts in order');
});

// Content-MD5 is no x-amz-* header: the presigner signs it as a header (X-Amz-SignedHeaders
// content-md5;host), so the uploader must send it, and the body must match it. A URL need not sign
// one (only an Authorization header's signature must, aws-recorded-auth.test.ts): a Content-MD5 the
// uploader adds beside a URL that does not sign it is the body's digest all the same, checked.
t.test('getSignedUrl PutObject with ContentMD5: sent it stores, left out it fails the signature, another body is BadDigest; unsigned it is checked', async (t) => {
  const body = 'a presigned upload with its MD5';
  const md5 = createHash('md5').update(body).digest('base64');
  const signedMd5 = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'md5-signed', ContentMD5: md5 }), { expiresIn: 300 });
  t.equal(new URL(signedMd5).searchParams.get('X-Amz-SignedHeaders'), 'content-md5;host', 'the presigner signs Content-MD5 as a header');
  const left = await fetchUrl(signedMd5, { method: 'PUT', body });
  t.same([left.status, errorCode(left.body)], [403, 'SignatureDoesNotMatch'], 'the signed Content-MD5 left out: SignatureDoesNotMatch');
  const other = await fetchUrl(signedMd5, { method: 'PUT', body: 'another body', headers: { 'content-md5': md5 } });
  t.same([other.status, errorCode(other.body)], [400, 'BadDigest'], 'another body under the signed Content-MD5: BadDigest');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'md5-signed' }))), 'NotFound/404', 'neither stored anything');
  const sent = await fetchUrl(signedMd5, { method: 'PUT', body, headers: { 'content-md5': md5 } });
  t.equal(sent.status, 200, 'sent with the body it digests: 200');
  t.equal(sent.headers.get('etag'), `"${Buffer.from(md5, 'base64').toString('hex')}"`, 'the ETag is that MD5');

  const plain = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'md5-unsigned' }), { expiresIn: 300 });
  t.notMatch(new URL(plain).searchParams.get('X-Amz-SignedHeaders') ?? '', /content-md5/, 'a URL without ContentMD5 does not sign it');
  const wrong = await fetchUrl(plain, { method: 'PUT', body: 'not the digested body', headers: { 'content-md5': md5 } });
  t.same([wrong.status, errorCode(wrong.body)], [400, 'BadDigest'], 'an unsigned Content-MD5 that does not match: BadDigest');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'md5-unsigned' }))), 'NotFound/404', 'nothing stored');
  t.equal((await fetchUrl(plain, { method: 'PUT', body, headers: { 'content-md5': md5 } })).status, 200, 'an unsigned Content-MD5 that matches: 200');
});

// What S3 does with the flexible checksums a presigner leaves in the query (the JavaScript SDK's
// getSignedUrl hoists x-amz-checksum-* and x-amz-sdk-checksum-algorithm there; boto3's V2
// presigner too): nothing. A wrong one uploads all the same and the object keeps none of it
// (aws/aws-sdk-go-v2#2610, a wrong X-Amz-Checksum-Sha256 in the query answered 200 by S3
// ap-southeast-2, the object's "Additional checksums: Off"; aws/aws-sdk#480 against eu-west-1),
// which is why the Go SDK stopped hoisting them (aws-sdk-go-v2#3522). A checksum the URL signs as a
// header, which the uploader sends, is checked and kept; sent unsigned beside the URL it is refused.
t.test('getSignedUrl PutObject: a checksum in the query is neither checked nor kept; one signed as a header is', async (t) => {
  const body = testBytes(70_000, 41);
  const sha = createHash('sha256').update(body).digest('base64');
  const wrong = createHash('sha256').update('something else').digest('base64');
  const crc64 = async (b: Buffer): Promise<string> => {
    const h = new Crc64Nvme();
    h.update(b);
    return Buffer.from(await h.digest()).toString('base64');
  };
  const head = (Key: string) => s3.send(new HeadObjectCommand({ Bucket: bucket, Key, ChecksumMode: 'ENABLED' }));
  for (const [what, input] of [
    ['a wrong ChecksumSHA256', { ChecksumSHA256: wrong }],
    ['the right ChecksumSHA256', { ChecksumSHA256: sha }],
    ['ChecksumAlgorithm SHA256 (the SHA-256 of the empty body it had)', { ChecksumAlgorithm: 'SHA256' as const }],
    ['the default CRC32 of the empty body', {}],
  ] as const) {
    const key = `query-checksum ${what}`;
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key, ...input }), { expiresIn: 300 });
    t.match(new URL(url).searchParams.get('X-Amz-SignedHeaders'), /^host$/, `${what}: only host is a signed header`);
    t.ok([...new URL(url).searchParams.keys()].some((k) => k.startsWith('x-amz-checksum-')), `${what}: the checksum is in the query`);
    const r = await fetchUrl(url, { method: 'PUT', body });
    t.equal(r.status, 200, `${what}: 200, as on S3 (${r.body.toString().slice(0, 200)})`);
    t.equal(r.headers.get('x-amz-checksum-sha256'), null, `${what}: the answer names no SHA-256`);
    const h = await head(key);
    t.equal(h.ChecksumSHA256, undefined, `${what}: the object keeps no SHA-256`);
    t.equal(h.ChecksumCRC32, undefined, `${what}: nor the query's CRC32`);
    t.equal(h.ChecksumCRC64NVME, await crc64(body), `${what}: it has the default CRC64NVME of its bytes, as any upload without a checksum`);
  }

  // The checksum signed as a header (unhoistableHeaders), as S3 checks it: the uploader sends it.
  const signedAsHeader = { expiresIn: 300, unhoistableHeaders: new Set(['x-amz-checksum-sha256']) };
  const good = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'header-checksum', ChecksumSHA256: sha }), signedAsHeader);
  t.match(new URL(good).searchParams.get('X-Amz-SignedHeaders'), /x-amz-checksum-sha256/, 'x-amz-checksum-sha256 is a signed header');
  t.equal(new URL(good).searchParams.get('x-amz-checksum-sha256'), null, 'and not in the query');
  const ok = await fetchUrl(good, { method: 'PUT', body, headers: { 'x-amz-checksum-sha256': sha } });
  t.equal(ok.status, 200, 'the signed checksum header, right: 200');
  t.equal(ok.headers.get('x-amz-checksum-sha256'), sha, 'the answer names it');
  t.equal((await head('header-checksum')).ChecksumSHA256, sha, 'and the object keeps it');
  const bad = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'header-checksum', ChecksumSHA256: wrong }), signedAsHeader);
  const refused = await fetchUrl(bad, { method: 'PUT', body: testBytes(500, 42), headers: { 'x-amz-checksum-sha256': wrong } });
  t.equal(refused.status, 400, 'the signed checksum header, wrong: 400');
  t.equal(errorCode(refused.body), 'BadDigest', 'BadDigest');
  t.ok((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'header-checksum' })))).equals(body), 'the refused PUT changed nothing');
  // The query's checksum sent again as an unsigned header: S3 names it (aws-sdk-js-v3#3906).
  const hoisted = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'header-checksum', ChecksumSHA256: sha }), { expiresIn: 300 });
  const unsigned = await fetchUrl(hoisted, { method: 'PUT', body, headers: { 'x-amz-checksum-sha256': sha } });
  t.equal(unsigned.status, 403, 'the checksum as an unsigned header beside the URL: 403');
  t.equal(xmlField(unsigned.body, 'HeadersNotSigned'), 'x-amz-checksum-sha256', 'named in HeadersNotSigned');
});

// UploadPart the same: a checksum in the query is not the part's. Into a COMPOSITE upload (whose
// object checksum is formed from the part checksums the client sends) a part whose only checksum
// is in the URL's query is sent without one: 400 InvalidRequest "actual checksum Type: null", as
// S3 answers a part without one (0d30a1da), not BadDigest for the default URL's empty-body CRC32
// nor "actual checksum Type: crc32" for its x-amz-sdk-checksum-algorithm. The checksum signed as
// a header is checked, kept, and makes the object's. A FULL_OBJECT upload computes the part's own.
t.test('getSignedUrl UploadPart: a checksum in the query is not the part\u2019s; COMPOSITE parts need one signed as a header', async (t) => {
  const key = 'composite-presigned';
  const part = testBytes(70_000, 43);
  const sha = createHash('sha256').update(part).digest('base64');
  const wrong = createHash('sha256').update('something else').digest('base64');
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'SHA256' }));
  const partUrl = (input: object, options: object = {}) => getSignedUrl(s3, new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: 1, ...input }), { expiresIn: 300, ...options });
  for (const [what, input] of [
    ['the right ChecksumSHA256 in the query', { ChecksumSHA256: sha }],
    ['the default CRC32 of the empty body in the query', {}],
  ] as const) {
    const r = await fetchUrl(await partUrl(input), { method: 'PUT', body: part });
    t.equal(r.status, 400, `${what}: 400`);
    t.equal(errorCode(r.body), 'InvalidRequest', what);
    t.equal(xmlField(r.body, 'Message'), 'Checksum Type mismatch occurred, expected checksum Type: sha256, actual checksum Type: null', `${what}: sent without a checksum`);
  }
  t.same((await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId }))).Parts ?? [], [], 'no part was stored');

  const signedAsHeader = { unhoistableHeaders: new Set(['x-amz-checksum-sha256']) };
  const bad = await fetchUrl(await partUrl({ ChecksumSHA256: wrong }, signedAsHeader), { method: 'PUT', body: part, headers: { 'x-amz-checksum-sha256': wrong } });
  t.equal(bad.status, 400, 'a wrong checksum signed as a header: 400');
  t.equal(errorCode(bad.body), 'BadDigest', 'BadDigest');
  t.same((await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId }))).Parts ?? [], [], 'still no part');
  const ok = await fetchUrl(await partUrl({ ChecksumSHA256: sha }, signedAsHeader), { method: 'PUT', body: part, headers: { 'x-amz-checksum-sha256': sha } });
  t.equal(ok.status, 200, 'the right one: 200');
  t.equal(ok.headers.get('x-amz-checksum-sha256'), sha, 'the answer names the part checksum');
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: ok.headers.get('etag') ?? '', ChecksumSHA256: sha }] } }));
  const composite = `${createHash('sha256').update(Buffer.from(sha, 'base64')).digest('base64')}-1`;
  t.equal(done.ChecksumSHA256, composite, 'the object checksum is formed from it');
  t.equal(done.ChecksumType, 'COMPOSITE', 'typed COMPOSITE');

  // FULL_OBJECT: a part without a checksum gets its own (S3 adds it), whatever the query said.
  const full = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'full-presigned', ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' }));
  const url = await getSignedUrl(s3, new UploadPartCommand({ Bucket: bucket, Key: 'full-presigned', UploadId: full.UploadId, PartNumber: 1, ChecksumCRC32: 'AAAAAA==' }), { expiresIn: 300 });
  const r = await fetchUrl(url, { method: 'PUT', body: part });
  t.equal(r.status, 200, 'FULL_OBJECT, a wrong CRC32 in the query: 200');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(part));
  const listed = (await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'full-presigned', UploadId: full.UploadId }))).Parts ?? [];
  t.equal(listed[0]?.ChecksumCRC32, crc.toString('base64'), 'the part has the CRC32 of its bytes, not the query\u2019s');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'full-presigned', UploadId: full.UploadId }));
});

// The checksum settings a presigner leaves in the query are not the request's either. S3 answers an
// object's checksums to x-amz-checksum-mode sent as a header only (aws/aws-sdk-java-v2#7035, AWS's
// SDK team: S3 returns them only when the request has x-amz-checksum-mode as an HTTP header, so the
// Java SDK now sends the header its URL signs; boto/boto3#3465: a presigned GET with ChecksumMode
// answered none), and MinIO reads the header only. The JavaScript presigner puts
// x-amz-checksum-mode=ENABLED in every presigned GetObject and HeadObject URL (its default response
// validation asks for it), the Go SDK's too (aws-sdk-go-v2#3530), boto3's V2 presigner where
// ChecksumMode is given: s3d answered such plain downloads with the checksums, and a value S3
// refuses as a header with 400 InvalidRequest.
t.test('getSignedUrl GetObject and HeadObject: x-amz-checksum-mode in the query asks for nothing; signed as a header it does', async (t) => {
  const key = 'mode-presigned';
  const body = testBytes(9000, 44);
  const sha = createHash('sha256').update(body).digest('base64');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ChecksumSHA256: sha }));
  for (const [op, method, command] of [
    ['GetObject', 'GET', () => new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' })],
    ['HeadObject', 'HEAD', () => new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' })],
  ] as const) {
    const url = await getSignedUrl(s3, command(), { expiresIn: 300 });
    t.equal(new URL(url).searchParams.get('x-amz-checksum-mode'), 'ENABLED', `${op}: the presigner put x-amz-checksum-mode in the query`);
    const r = await fetchUrl(url, { method });
    t.equal(r.status, 200, `${op}: 200`);
    if (method === 'GET') t.ok(r.body.equals(body), `${op}: the bytes`);
    t.equal(r.headers.get('x-amz-checksum-sha256'), null, `${op}: no checksum in the answer, as on S3`);
    t.equal(r.headers.get('x-amz-checksum-type'), null, `${op}: nor its type`);
    // Signed as a header (unhoistableHeaders) the downloader sends, as the Java SDK now does.
    const signed = await getSignedUrl(s3, command(), { expiresIn: 300, unhoistableHeaders: new Set(['x-amz-checksum-mode']) });
    t.match(new URL(signed).searchParams.get('X-Amz-SignedHeaders'), /x-amz-checksum-mode/, `${op}: x-amz-checksum-mode signed as a header`);
    const s = await fetchUrl(signed, { method, headers: { 'x-amz-checksum-mode': 'ENABLED' } });
    t.equal(s.status, 200, `${op} with the signed header: 200`);
    t.equal(s.headers.get('x-amz-checksum-sha256'), sha, `${op} with the signed header: the checksum`);
  }
  // A value S3 refuses as a header (400 InvalidRequest) is nothing in the query.
  const host = `127.0.0.1:${d.port}`;
  const path = presignUrl({ method: 'GET', rawPath: `/${bucket}/${key}`, rawQuery: 'x-amz-checksum-mode=bogus', headers: { host }, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: REGION, expiresIn: 300 });
  const bogus = await fetchUrl(`http://${host}${path}`);
  t.equal(bogus.status, 200, `x-amz-checksum-mode=bogus in the query: 200 (${bogus.body.toString().slice(0, 200)})`);
  t.equal(bogus.headers.get('x-amz-checksum-sha256'), null, 'and no checksum');
});

// CreateMultipartUpload the same: ChecksumAlgorithm and ChecksumType, which the JavaScript presigner
// (and boto3's V2 one) put in the query as x-amz-checksum-algorithm and x-amz-checksum-type, do not
// give the upload an algorithm there, as the flexible checksums beside them in UploadPart and
// PutObject URLs are not the request's (the Go SDK moved them all out of the query for that,
// aws-sdk-go-v2#3522). s3d made such an upload COMPOSITE SHA-256, and then refused every part sent
// through a presigned UploadPart URL (its checksum in the query too): "expected checksum Type:
// sha256, actual checksum Type: null", so the all-presigned browser upload could never complete.
t.test('getSignedUrl CreateMultipartUpload and CopyObject: x-amz-checksum-algorithm and -type in the query are not the request\u2019s', async (t) => {
  const key = 'algorithm-presigned';
  const part = testBytes(70_000, 45);
  const create = await getSignedUrl(s3, new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'SHA256' }), { expiresIn: 300 });
  t.equal(new URL(create).searchParams.get('x-amz-checksum-algorithm'), 'SHA256', 'the presigner put x-amz-checksum-algorithm in the query');
  const c = await fetchUrl(create, { method: 'POST' });
  t.equal(c.status, 200, `presigned CreateMultipartUpload: 200 (${c.body.toString().slice(0, 200)})`);
  t.equal(c.headers.get('x-amz-checksum-algorithm'), null, 'the upload has no checksum algorithm');
  const uploadId = xmlField(c.body, 'UploadId') ?? '';
  t.equal((await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))).ChecksumAlgorithm, undefined, 'ListParts names none');
  const partUrl = await getSignedUrl(s3, new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, ChecksumAlgorithm: 'SHA256' }), { expiresIn: 300 });
  const p = await fetchUrl(partUrl, { method: 'PUT', body: part });
  t.equal(p.status, 200, `a part through a presigned UploadPart URL: 200 (${p.body.toString().slice(0, 200)})`);
  const completed = await s3Code(s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.headers.get('etag') ?? '' }] } })));
  t.equal(completed, 'ok', 'the upload completes');
  if (completed === 'ok') {
    t.ok((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })))).equals(part), 'the object is the part');
    t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }))).ChecksumSHA256, undefined, 'it has no SHA-256');
  } else {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
  }

  // FULL_OBJECT CRC32, and a type without an algorithm (refused as headers): nothing either.
  for (const [what, input] of [
    ['CRC32 FULL_OBJECT', { ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' }],
    ['FULL_OBJECT without an algorithm', { ChecksumType: 'FULL_OBJECT' }],
  ] as const) {
    const url = await getSignedUrl(s3, new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...input }), { expiresIn: 300 });
    t.equal(new URL(url).searchParams.get('x-amz-checksum-type'), 'FULL_OBJECT', `${what}: x-amz-checksum-type in the query`);
    const r = await fetchUrl(url, { method: 'POST' });
    t.equal(r.status, 200, `${what}: 200 (${r.body.toString().slice(0, 200)})`);
    t.equal(r.headers.get('x-amz-checksum-algorithm'), null, `${what}: no algorithm`);
    t.equal(r.headers.get('x-amz-checksum-type'), null, `${what}: no type`);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: xmlField(r.body, 'UploadId') }));
  }

  // CopyObject's ChecksumAlgorithm (the copy's checksum) in the query: the copy keeps the source's.
  const src = testBytes(3000, 46);
  const srcSha = createHash('sha256').update(src).digest('base64');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'algorithm-copy-src', Body: src, ChecksumSHA256: srcSha }));
  const copy = await getSignedUrl(s3, new CopyObjectCommand({ Bucket: bucket, Key: 'algorithm-copy', CopySource: `${bucket}/algorithm-copy-src`, ChecksumAlgorithm: 'CRC32' }), { expiresIn: 300 });
  t.equal(new URL(copy).searchParams.get('x-amz-checksum-algorithm'), 'CRC32', 'CopyObject: x-amz-checksum-algorithm in the query');
  const cr = await fetchUrl(copy, { method: 'PUT' });
  t.equal(cr.status, 200, `presigned CopyObject: 200 (${cr.body.toString().slice(0, 200)})`);
  const copied = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'algorithm-copy', ChecksumMode: 'ENABLED' }));
  t.equal(copied.ChecksumCRC32, undefined, 'the copy has no CRC32');
  t.equal(copied.ChecksumSHA256, srcSha, 'it keeps the source\u2019s SHA-256');
});

t.test('getSignedUrl: a presigned CopyObject (its source in the query) copies; a copy source on a DELETE is refused', async (t) => {
  const src = testBytes(70_000, 31);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy-src', Body: src }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy-dst', Body: 'keep me' }));
  const url = await getSignedUrl(s3, new CopyObjectCommand({ Bucket: bucket, Key: 'copy-dst', CopySource: `${bucket}/copy-src` }), { expiresIn: 300 });
  t.match(url, /[?&]x-amz-copy-source=/, 'the presigner puts the source in the query');
  const r = await fetchUrl(url, { method: 'PUT' });
  t.equal(r.status, 200, `presigned CopyObject: 200 (${r.body.toString().slice(0, 200)})`);
  t.match(r.body.toString(), /<CopyObjectResult[ >]/, 'answered as a copy');
  t.ok((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'copy-dst' })))).equals(src), 'the destination is the source (it was replaced by an empty object)');
  const del = await getSignedUrl(s3, new DeleteObjectCommand({ Bucket: bucket, Key: 'copy-dst' }), { expiresIn: 300 });
  const refused = await fetchUrl(`${del}&x-amz-copy-source=${encodeURIComponent(`${bucket}/copy-src`)}`, { method: 'DELETE' });
  t.equal(refused.status, 400, 'a DELETE with a copy source in its query: 400 (unsigned extra parameter or not, nothing is deleted)');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy-dst' }))), 'ok', 'the object is still there');
});

t.test('getSignedUrl: response overrides, a hoisted SSE-S3 header, and refusals that change nothing', async (t) => {
  const key = 'over ride.bin';
  const body = testBytes(5000, 9);
  const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key, ServerSideEncryption: 'AES256' }), { expiresIn: 300 });
  t.match(put, /X-Amz-SignedHeaders=host%3Bx-amz-server-side-encryption/, 'the presigner signs the SSE header (the uploader must send it)');
  const unsent = await fetchUrl(put, { method: 'PUT', body });
  t.equal(unsent.status, 403, 'without the signed header: 403');
  t.equal((await fetchUrl(put, { method: 'PUT', body, headers: { 'x-amz-server-side-encryption': 'AES256' } })).status, 200, 'with it: presigned SSE-S3 PUT 200');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ServerSideEncryption, 'AES256', 'the object is stored with SSE-S3');
  const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentType: 'application/x-over', ResponseContentDisposition: 'attachment; filename="o r.bin"' }), { expiresIn: 300 });
  const g = await fetchUrl(get);
  t.equal(g.status, 200);
  t.equal(g.headers.get('content-type'), 'application/x-over', 'response-content-type honoured');
  t.equal(g.headers.get('content-disposition'), 'attachment; filename="o r.bin"', 'response-content-disposition honoured');

  // Tampered signature, another key, an expired URL: 403, nothing stored.
  const victim = 'victim.txt';
  const putVictim = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: victim }), { expiresIn: 300 });
  const tampered = putVictim.replace(/X-Amz-Signature=([0-9a-f])/, (_, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
  const bad = await fetchUrl(tampered, { method: 'PUT', body: 'x' });
  t.equal(bad.status, 403, 'tampered signature: 403');
  t.equal(errorCode(bad.body), 'SignatureDoesNotMatch');
  const moved = await fetchUrl(putVictim.replace('/victim.txt', '/other.txt'), { method: 'PUT', body: 'x' });
  t.equal(moved.status, 403, 'the URL moved to another key: 403');
  const short = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: victim }), { expiresIn: 1 });
  await sleep(2100);
  const late = await fetchUrl(short, { method: 'PUT', body: 'x' });
  t.equal(late.status, 403, 'expired: 403');
  t.equal(errorCode(late.body), 'AccessDenied', 'AccessDenied, as S3 answers an expired URL');
  t.match(late.body.toString(), /expired/i, 'saying it expired');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: victim }))), 'NotFound/404', 'nothing was stored under the victim key');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'other.txt' }))), 'NotFound/404', 'nor under the other key');
});

// From LocalStack's tests recorded against AWS: what S3 does with headers around a presigned URL.
t.test('presigned URLs: an unsigned x-amz-content-sha256 is ignored, other unsigned x-amz-* are named, signed headers may come in the query', async (t) => {
  const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'hashed.txt' }), { expiresIn: 300 });
  // A client or proxy that adds x-amz-content-sha256 to every request: S3 takes the upload.
  const withHash = await fetchUrl(put, { method: 'PUT', body: 'hashed', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  t.equal(withHash.status, 200, 'an unsigned x-amz-content-sha256 beside a presigned URL: 200');
  // Unsigned, its value is not the payload hash (a wrong one does not fail the upload).
  const wrongHash = await fetchUrl(put, { method: 'PUT', body: 'hashed', headers: { 'x-amz-content-sha256': '0'.repeat(64) } });
  t.equal(wrongHash.status, 200, 'an unsigned hash is not checked');
  const meta = await fetchUrl(put, { method: 'PUT', body: 'other', headers: { 'x-amz-meta-wrong': '1', 'x-amz-date': '20261202T000000Z' } });
  t.equal(meta.status, 403, 'an unsigned x-amz-meta-*: 403');
  t.equal(xmlField(meta.body, 'Message'), 'There were headers present in the request which were not signed');
  t.equal(xmlField(meta.body, 'HeadersNotSigned'), 'x-amz-date, x-amz-meta-wrong', '<HeadersNotSigned> lists them');
  t.equal(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hashed.txt' }))).Body!.transformToByteArray()).toString(), 'hashed', 'the refused PUT changed nothing');

  // X-Amz-SignedHeaders names x-amz-server-side-encryption, whose value is in the query only (as
  // hand-built and some presigners' URLs have it): signed with the query's value, applied as the header.
  const host = `127.0.0.1:${d.port}`;
  const path = presignUrl({ method: 'PUT', rawPath: `/${bucket}/in-query.txt`, rawQuery: 'x-amz-server-side-encryption=AES256', headers: { host, 'x-amz-server-side-encryption': 'AES256' }, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: REGION, expiresIn: 300 });
  t.match(path, /X-Amz-SignedHeaders=host%3Bx-amz-server-side-encryption/, 'the header is signed');
  const inQuery = await fetchUrl(`http://${host}${path}`, { method: 'PUT', body: 'q' });
  t.equal(inQuery.status, 200, 'the signed header taken from the query: 200');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'in-query.txt' }))).ServerSideEncryption, 'AES256', 'and applied: stored SSE-S3');
  const otherValue = await fetchUrl(`http://${host}${path.replace('x-amz-server-side-encryption=AES256', 'x-amz-server-side-encryption=aws%3Akms')}`, { method: 'PUT', body: 'q' });
  t.equal(otherValue.status, 403, 'another value in the query: SignatureDoesNotMatch');
});

t.test('aws s3 presign: the URL serves the object to a plain client', { skip: NO_AWS }, async (t) => {
  const home = mkdtempSync(join(tmpdir(), 's3d-presign-cli-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const aws = awsCli(d.endpoint, home, { pathStyle: true });
  for (const key of keys) {
    const url = (await aws.ok('s3', 'presign', `s3://${bucket}/${key}`, '--expires-in', '300')).trim();
    const g = await fetchUrl(url);
    const want = await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    t.ok(g.status === 200 && g.body.equals(want), `${key}: ${g.status}, ${g.body.length} bytes`);
  }
});
