// Browser-form uploads (POST Object) against the real daemon, with forms made by real clients: an
// HTML form posted as multipart/form-data to the bucket URL, authenticated by a signed POST policy
// instead of an Authorization header, from minio-js presignedPostPolicy, from the JavaScript SDK's
// createPresignedPost (@aws-sdk/s3-presigned-post) and from boto3 generate_presigned_post (SigV4
// and the default client's Signature V2), sent the way a browser
// sends them (fetch with a FormData, the file last): what is stored, and what their policies'
// conditions refuse. The boto3 part runs test/fixtures/boto3/presigned_post.py and is skipped
// without python3/boto3. Forms signed here by hand (every success status and refusal, SSE, large
// and aborted uploads, CORS): s3-post-object-handmade.test.ts.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_KEY, ROOT, SECRET_KEY, startDaemon, testBytes } from '../helpers/daemon.js';
import { md5Hex, sha256Hex } from '../helpers/hash.js';
import { assertXmlError, xmlField } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
import { checksumHasher } from '../../daemon/auth/payload.js';
import { digestBase64 } from '../../daemon/ops/checksums.js';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { HeadObjectCommand, ListObjectsV2Command, PutBucketEncryptionCommand } from '@aws-sdk/client-s3';
import { createBucket } from '../helpers/s3.js';
import { PYTHON_BIN } from '../helpers/python.js';
import { formData, getObject, headCode, locationPath, postForm, quoted, unquote, type Field } from '../helpers/post-object.js';

const MiB = 1024 * 1024;
const FIXTURE = join(ROOT, 'test/fixtures/boto3/presigned_post.py');

const plain = await startDaemon({ env: { S3_DOMAIN: 's3.test' } });
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) console.error(plain.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await plain.stop();
  plain.cleanup();
});
const s3 = plain.s3();

// ==================================================================================================

t.test('minio-js presignedPostPolicy: a browser form sent with fetch stores the object exactly', async (t) => {
  const mc = minioClient(plain);
  const bucket = await createBucket(s3, 'post');
  const data = testBytes(70_000, 11);

  const policy = mc.newPostPolicy();
  policy.setBucket(bucket);
  policy.setKey('forms/photo.jpg');
  policy.setExpires(new Date(Date.now() + 600_000));
  policy.setContentType('image/jpeg');
  policy.setContentLengthRange(1, MiB);
  policy.setUserMetaData({ album: 'summer' });
  const { postURL, formData: fields } = await mc.presignedPostPolicy(policy);
  t.equal(new URL(postURL).pathname.replace(/\/$/, ''), `/${bucket}`, 'minio-js posts to the bucket URL');
  t.ok('x-amz-signature' in fields && 'policy' in fields, 'a SigV4 form');

  // The part's own type differs: the form's Content-Type field wins.
  const fd = formData(Object.entries(fields), { data, filename: 'IMG_0001.jpg', type: 'application/octet-stream' });
  const res = await fetch(postURL, { method: 'POST', body: fd });
  t.equal(res.status, 204, 'no success_action_status: 204');
  t.equal(res.headers.get('etag'), quoted(md5Hex(data)), 'ETag header = MD5 of the file');
  t.equal(locationPath(res.headers.get('location') ?? undefined), `/${bucket}/forms/photo.jpg`, 'Location header names the object');
  t.equal((await res.arrayBuffer()).byteLength, 0, '204 has no body');

  const { out, body } = await getObject(s3, bucket, 'forms/photo.jpg');
  t.equal(sha256Hex(body), sha256Hex(data), 'bytes stored exactly');
  t.equal(out.ContentType, 'image/jpeg', 'Content-Type from the form field');
  t.same(out.Metadata, { album: 'summer' }, 'x-amz-meta-* fields as user metadata');
  t.equal(out.ETag, quoted(md5Hex(data)));

  // A key prefix policy: any key under the prefix, nothing outside it.
  const prefixed = mc.newPostPolicy();
  prefixed.setBucket(bucket);
  prefixed.setKeyStartsWith('user-42/');
  prefixed.setExpires(new Date(Date.now() + 600_000));
  prefixed.setContentLengthRange(10, 100);
  const pre = await mc.presignedPostPolicy(prefixed);
  const withKey = (key: string): Field[] => Object.entries({ ...pre.formData, key });
  const inside = await fetch(pre.postURL, { method: 'POST', body: formData(withKey('user-42/avatar.png'), { data: testBytes(100, 1), type: 'image/png' }) });
  t.equal(inside.status, 204, 'key under the prefix, file at the range maximum');
  const got = await getObject(s3, bucket, 'user-42/avatar.png');
  t.equal(got.out.ContentType, 'binary/octet-stream', 'no Content-Type field: binary/octet-stream, as on S3 (the file part\'s image/png is no field the policy judged)');
  t.same(got.body, testBytes(100, 1));
  const atMin = await fetch(pre.postURL, { method: 'POST', body: formData(withKey('user-42/min.bin'), { data: testBytes(10, 2) }) });
  t.equal(atMin.status, 204, 'file at the range minimum');

  const outside = await postForm(plain, bucket, formData(withKey('user-43/avatar.png'), { data: testBytes(50, 1) }));
  assertXmlError(t, outside, 403, 'AccessDenied', 'key outside the starts-with prefix');
  t.equal(await headCode(s3, bucket, 'user-43/avatar.png'), 'NotFound/404', 'nothing stored outside the prefix');
  const tooBig = await postForm(plain, bucket, formData(withKey('user-42/big.bin'), { data: testBytes(101, 1) }));
  assertXmlError(t, tooBig, 400, 'EntityTooLarge', 'file one byte over content-length-range');
  const tooSmall = await postForm(plain, bucket, formData(withKey('user-42/small.bin'), { data: testBytes(9, 1) }));
  assertXmlError(t, tooSmall, 400, 'EntityTooSmall', 'file one byte under content-length-range');
  t.equal(await headCode(s3, bucket, 'user-42/big.bin'), 'NotFound/404');
  t.equal(await headCode(s3, bucket, 'user-42/small.bin'), 'NotFound/404');
});

t.test('encryption and checksum fields a client adds to the form only (minio-go SetEncryption, SetChecksum): accepted, as MinIO accepts them', async (t) => {
  // minio-go's PostPolicy.SetEncryption and SetChecksum put their fields in the form and not in
  // the policy; minio-js has no setter, so its users add them to formData the same way.
  const mc = minioClient(plain);
  const bucket = await createBucket(s3, 'post-sse');
  const data = testBytes(40_000, 21);
  const crc = checksumHasher('CRC32C');
  crc.update(data);
  const crc32c = await digestBase64(crc);
  const post = async (key: string, extra: Record<string, string>): Promise<Response> => {
    const policy = mc.newPostPolicy();
    policy.setBucket(bucket);
    policy.setKey(key);
    policy.setExpires(new Date(Date.now() + 600_000));
    Object.assign(policy.formData, extra);
    const { postURL, formData: fields } = await mc.presignedPostPolicy(policy);
    t.notOk(Buffer.from(fields.policy!, 'base64').toString().includes('encryption'), `${key}: the policy names no SSE field`);
    return fetch(postURL, { method: 'POST', body: formData(Object.entries(fields), { data }) });
  };
  const cases: Array<[string, Record<string, string>, string]> = [
    ['sse-s3.bin', { 'X-Amz-Server-Side-Encryption': 'AES256' }, 'AES256'],
    ['sse-kms.bin', { 'X-Amz-Server-Side-Encryption': 'aws:kms', 'X-Amz-Server-Side-Encryption-Context': Buffer.from('{"app":"forms"}').toString('base64') }, 'aws:kms'],
  ];
  for (const [key, extra, algorithm] of cases) {
    const res = await post(key, extra);
    t.equal(res.status, 204, `${key}: stored (${res.status === 204 ? '' : await res.text()})`);
    const { out, body } = await getObject(s3, bucket, key);
    t.equal(out.ServerSideEncryption, algorithm, `${key}: encrypted as the form asked`);
    t.equal(sha256Hex(body), sha256Hex(data), `${key}: bytes read back`);
  }
  const summed = await post('summed.bin', { 'X-Amz-Checksum-Algorithm': 'CRC32C', 'X-Amz-Checksum-Crc32c': crc32c });
  t.equal(summed.status, 204, 'a checksum field and its algorithm');
  t.equal(summed.headers.get('x-amz-checksum-crc32c'), crc32c, 'checked and kept');
  const wrong = await post('wrong-sum.bin', { 'X-Amz-Checksum-Algorithm': 'CRC32C', 'X-Amz-Checksum-Crc32c': 'AAAAAA==' });
  t.equal(wrong.status, 400, 'a checksum the file does not match: BadDigest');
  t.equal(await headCode(s3, bucket, 'wrong-sum.bin'), 'NotFound/404', 'not stored');
  // The KMS key id chooses which key seals the object: a holder of the form may not pick it.
  const keyed = await post('kms-key.bin', { 'X-Amz-Server-Side-Encryption': 'aws:kms', 'X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id': 'test-key' });
  t.equal(keyed.status, 403, 'a KMS key id no condition names: 403');
  t.match(await keyed.text(), /Extra input fields: x-amz-server-side-encryption-aws-kms-key-id/);
  t.equal(await headCode(s3, bucket, 'kms-key.bin'), 'NotFound/404', 'not stored');

  // Nor may an SSE field move an object off the KMS key the bucket's default encryption names.
  const keyedBucket = await createBucket(s3, 'post-kms');
  await s3.send(new PutBucketEncryptionCommand({ Bucket: keyedBucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'test-key' } }] } }));
  const intoKeyed = async (key: string, extra: Record<string, string>, conditions: string[] = []): Promise<Response> => {
    const policy = mc.newPostPolicy();
    policy.setBucket(keyedBucket);
    policy.setKey(key);
    policy.setExpires(new Date(Date.now() + 600_000));
    for (const name of conditions) policy.policy.conditions.push(['eq', `$${name}`, extra[name]!]);
    Object.assign(policy.formData, extra);
    const { postURL, formData: fields } = await mc.presignedPostPolicy(policy);
    return fetch(postURL, { method: 'POST', body: formData(Object.entries(fields), { data }) });
  };
  const displaced = await intoKeyed('sse-s3.bin', { 'x-amz-server-side-encryption': 'AES256' });
  t.equal(displaced.status, 403, 'SSE-S3 without a condition where the bucket names a KMS key: 403');
  t.match(await displaced.text(), /Extra input fields: x-amz-server-side-encryption/);
  t.equal(await headCode(s3, keyedBucket, 'sse-s3.bin'), 'NotFound/404', 'not stored');
  const allowed = await intoKeyed('sse-s3.bin', { 'x-amz-server-side-encryption': 'AES256' }, ['x-amz-server-side-encryption']);
  t.equal(allowed.status, 204, 'with its condition: the signer chose it');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: keyedBucket, Key: 'sse-s3.bin' }))).ServerSideEncryption, 'AES256');
  const plainForm = await intoKeyed('default.bin', {});
  t.equal(plainForm.status, 204, 'a form without SSE fields takes the bucket\'s key');
  const head = await s3.send(new HeadObjectCommand({ Bucket: keyedBucket, Key: 'default.bin' }));
  t.same([head.ServerSideEncryption, head.SSEKMSKeyId?.endsWith('test-key')], ['aws:kms', true]);
});

t.test('minio-go PutObjectFanOut (an x-minio-fanout-list field): 501 NotImplemented, nothing stored', async (t) => {
  // MinIO writes the file once under every key the list names. s3d has no fan-out: it answered
  // 403 AccessDenied ("Extra input fields"), which sent callers to check their credentials and
  // policies; were the field covered by a condition, the file would have been stored once under
  // the policy's placeholder key, the list ignored.
  const mc = minioClient(plain);
  const bucket = await createBucket(s3, 'post-fanout');
  // minio-go's form: bucket, a placeholder key (the time in hex), a 15-minute expiry, then the list
  // (one JSON object a line) and the file.
  const policy = mc.newPostPolicy();
  policy.setBucket(bucket);
  policy.setKey(Date.now().toString(16));
  policy.setExpires(new Date(Date.now() + 900_000));
  const { postURL, formData: fields } = await mc.presignedPostPolicy(policy);
  const list = `${JSON.stringify({ key: 'a.txt' })}\n${JSON.stringify({ key: 'b.txt', tags: { team: 'x' } })}\n`;
  const res = await fetch(postURL, { method: 'POST', body: formData([...Object.entries(fields), ['x-minio-fanout-list', list]], { data: Buffer.from('fan out'), filename: 'fanout-content' }) });
  const text = await res.text();
  t.equal(res.status, 501, `501 (${text})`);
  t.equal(xmlField(text, 'Code'), 'NotImplemented');
  t.match(xmlField(text, 'Message'), /PutObjectFanOut/, 'the message names the feature');
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  t.equal(listed.KeyCount, 0, 'no object stored, under the list\'s keys or the placeholder');
});

// ---- boto3 --------------------------------------------------------------------------------------

const pyWork = mkdtempSync(join(tmpdir(), 's3d-post-boto3-'));
t.teardown(() => rmSync(pyWork, { recursive: true, force: true }));
const pyEnv: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: pyWork,
  AWS_CONFIG_FILE: join(pyWork, 'no-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(pyWork, 'no-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
  PYTHONDONTWRITEBYTECODE: '1',
  S3D_ACCESS_KEY: ACCESS_KEY,
  S3D_SECRET_KEY: SECRET_KEY,
};
for (const k of ['PYENV_ROOT', 'PYENV_VERSION', 'VIRTUAL_ENV', 'PYTHONPATH']) if (process.env[k]) pyEnv[k] = process.env[k]!;
const userBase = spawnSync(PYTHON_BIN, ['-c', 'import site; print(site.getuserbase())'], { encoding: 'utf8' });
if (userBase.status === 0 && userBase.stdout.trim() !== '') pyEnv.PYTHONUSERBASE = userBase.stdout.trim();
const probe = spawnSync(PYTHON_BIN, ['-c', 'import boto3'], { env: pyEnv, encoding: 'utf8' });
const NO_BOTO3 = probe.error ? 'python3 is not on PATH' : probe.status !== 0 ? 'python3 cannot import boto3' : false;

interface PresignedPost {
  url: string;
  fields: Record<string, string>;
}

function boto3Posts(endpoint: string, requests: unknown[]): Promise<PresignedPost[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON_BIN, [FIXTURE, endpoint], { env: pyEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as PresignedPost[]) : reject(new Error(`presigned_post.py exited ${code}: ${err}`))));
    child.stdin.end(JSON.stringify(requests));
  });
}

t.test('JavaScript SDK createPresignedPost: ${filename} keys, SSE-S3 and a type prefix; the conditions hold', async (t) => {
  const bucket = await createBucket(s3, 'sdkpost');
  const { url, fields } = await createPresignedPost(s3, {
    Bucket: bucket,
    Key: 'uploads/${filename}',
    Conditions: [['content-length-range', 1, 100_000], ['starts-with', '$Content-Type', 'image/']],
    Fields: { 'Content-Type': 'image/png', 'x-amz-server-side-encryption': 'AES256' },
    Expires: 600,
  });
  t.equal(new URL(url).pathname.replace(/\/$/, ''), `/${bucket}`, 'the SDK posts to the bucket URL');
  const data = testBytes(50_000, 31);
  const res = await fetch(url, { method: 'POST', body: formData(Object.entries(fields), { data, filename: 'holiday pic.png', type: 'image/png' }) });
  t.equal(res.status, 204, 'stored: 204');
  const { out, body } = await getObject(s3, bucket, 'uploads/holiday pic.png');
  t.equal(sha256Hex(body), sha256Hex(data), '${filename} became the file name, bytes stored exactly');
  t.equal(out.ContentType, 'image/png');
  t.equal(out.ServerSideEncryption, 'AES256', 'encrypted as the form asked');
  const tooBig = await fetch(url, { method: 'POST', body: formData(Object.entries(fields), { data: testBytes(100_001, 32), filename: 'big.png', type: 'image/png' }) });
  t.equal(tooBig.status, 400, 'a file over content-length-range: 400');
  const otherType = await fetch(url, { method: 'POST', body: formData(Object.entries({ ...fields, 'Content-Type': 'text/html' }), { data, filename: 'x.html', type: 'text/html' }) });
  t.equal(otherType.status, 403, 'a Content-Type outside image/: 403');
  t.equal(await headCode(s3, bucket, 'uploads/big.png'), 'NotFound/404', 'the refused file was not stored');
  t.equal(await headCode(s3, bucket, 'uploads/x.html'), 'NotFound/404', 'nor the other');
});

t.test('boto3 generate_presigned_post: SigV4 and the default client\'s Signature V2', { skip: NO_BOTO3 }, async (t) => {
  const bucket = await createBucket(s3, 'post');
  const [v4, v2, v4exact] = await boto3Posts(plain.endpoint, [
    {
      style: 'v4',
      bucket,
      key: 'boto/${filename}',
      fields: { 'Content-Type': 'text/plain', success_action_status: '201' },
      conditions: [{ 'Content-Type': 'text/plain' }, { success_action_status: '201' }, ['content-length-range', 1, 4096]],
    },
    { style: 'default', bucket, key: 'v2/${filename}', fields: { 'x-amz-meta-origin': 'boto3-v2' }, conditions: [{ 'x-amz-meta-origin': 'boto3-v2' }] },
    { style: 'v4', bucket, key: 'boto/exact.bin' },
  ]);
  t.equal(v4!.url, `${plain.endpoint}/${bucket}`, 'path-style bucket URL');
  t.equal(v4!.fields['x-amz-algorithm'], 'AWS4-HMAC-SHA256', 's3v4 client: SigV4 form');
  t.ok(v2!.fields.AWSAccessKeyId !== undefined && v2!.fields.signature !== undefined && v2!.fields['x-amz-signature'] === undefined, `default client: Signature V2 form (${Object.keys(v2!.fields).join(', ')})`);

  // SigV4, ${filename}, success_action_status 201.
  const notes = testBytes(3000, 21);
  const res = await postForm(plain, bucket, formData(Object.entries(v4!.fields), { data: notes, filename: 'notes 1.txt', type: 'application/octet-stream' }));
  t.equal(res.status, 201, 'success_action_status 201');
  t.match(String(res.headers['content-type']), /xml/, 'XML body');
  t.match(res.body.toString(), /<PostResponse[\s>]/, 'a PostResponse document');
  t.equal(xmlField(res.body, 'Bucket'), bucket, 'PostResponse Bucket');
  t.equal(xmlField(res.body, 'Key'), 'boto/notes 1.txt', '${filename} replaced by the file\'s name');
  t.equal(unquote(xmlField(res.body, 'ETag')), md5Hex(notes), 'PostResponse ETag');
  t.equal(locationPath(xmlField(res.body, 'Location')), `/${bucket}/boto/notes 1.txt`, 'PostResponse Location');
  t.equal(res.headers.etag, quoted(md5Hex(notes)), 'ETag header');
  const { out, body } = await getObject(s3, bucket, 'boto/notes 1.txt');
  t.same(body, notes, 'stored exactly');
  t.equal(out.ContentType, 'text/plain');
  const big = await postForm(plain, bucket, formData(Object.entries(v4!.fields), { data: testBytes(4097, 1), filename: 'big.txt' }));
  assertXmlError(t, big, 400, 'EntityTooLarge', 'boto3 content-length-range');

  // Signature V2 (AWSAccessKeyId + signature).
  const v2data = testBytes(5000, 22);
  const v2res = await postForm(plain, bucket, formData(Object.entries(v2!.fields), { data: v2data, filename: 'legacy.bin' }));
  t.equal(v2res.status, 204, 'V2 form accepted');
  t.equal(v2res.headers.etag, quoted(md5Hex(v2data)));
  const v2got = await getObject(s3, bucket, 'v2/legacy.bin');
  t.same(v2got.body, v2data, 'V2 upload stored exactly');
  t.same(v2got.out.Metadata, { origin: 'boto3-v2' });
  const tamperedV2 = await postForm(plain, bucket, formData(Object.entries({ ...v2!.fields, 'x-amz-meta-origin': 'evil' }), { data: v2data, filename: 'evil.bin' }));
  assertXmlError(t, tamperedV2, 403, 'AccessDenied', 'V2 form with a field changed against its policy');
  const badSigV2 = await postForm(plain, bucket, formData(Object.entries({ ...v2!.fields, signature: createHmac('sha1', 'wrong').update('x').digest('base64') }), { data: v2data, filename: 'evil2.bin' }));
  assertXmlError(t, badSigV2, 403, 'SignatureDoesNotMatch', 'V2 form with a wrong signature');
  t.equal(await headCode(s3, bucket, 'v2/evil.bin'), 'NotFound/404');
  t.equal(await headCode(s3, bucket, 'v2/evil2.bin'), 'NotFound/404');

  // An exact-key form does not write another key.
  const other = await postForm(plain, bucket, formData(Object.entries({ ...v4exact!.fields, key: 'boto/other.bin' }), { data: testBytes(10, 3) }));
  assertXmlError(t, other, 403, 'AccessDenied', 'exact-key policy, other key');
  const exact = await postForm(plain, bucket, formData(Object.entries(v4exact!.fields), { data: testBytes(10, 3) }));
  t.equal(exact.status, 204, 'exact-key policy, its key');
  t.equal(await headCode(s3, bucket, 'boto/other.bin'), 'NotFound/404');
});

