// Presigned URLs as the JavaScript SDK (@aws-sdk/s3-request-presigner's getSignedUrl) and the aws
// CLI (`aws s3 presign`) make them, fetched with plain HTTP clients that know nothing of S3: GET
// and PUT of keys with characters each signer escapes its own way, response-* overrides, an
// SSE-S3 header the presigner signs, and the refusals (expired, tampered, moved to another key)
// that must change nothing. The SDK's presigned PutObject URLs carry the CRC32 of an empty body
// (x-amz-checksum-crc32=AAAAAA==, its default since 3.729): S3 ignores checksums in a URL, and
// s3d used to answer every such upload BadDigest. boto3's presigned URLs are in s3-boto3.test.ts.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
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
