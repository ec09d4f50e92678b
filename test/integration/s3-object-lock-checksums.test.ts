// Object Lock uploads must carry an integrity check, as S3 requires: a PutObject or UploadPart
// whose version Object Lock will protect (x-amz-object-lock-* headers, the upload's lock, or only
// the bucket's default retention) without Content-MD5, an x-amz-checksum-* header or a checksum
// trailer is 400 InvalidRequest with S3's message, nothing stored. s3d also takes a signed
// SHA-256 payload hash (S3 does not; minio-js over plain HTTP sends only that). Hand-signed
// requests for the shapes no client chooses, SDK presigned URLs, and the SDK's defaults; the
// third-party clients against a locked bucket: s3-object-lock-clients.test.ts. Such a body must
// also come signed with Signature Version 4: anonymous or V2, 400 InvalidArgument (the other
// requests that create a locked version: s3-object-lock-signers.test.ts).

import t, { type Test } from 'tap';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, ListObjectVersionsCommand, ListPartsCommand, PutBucketPolicyCommand, PutObjectCommand, PutObjectLockConfigurationCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ACCESS_KEY, SECRET_KEY, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { createHash, createHmac } from 'node:crypto';
import { policy, stmt } from '../helpers/bucket-policy.js';
import { crc32Base64, md5Base64 } from '../helpers/hash.js';
import { raw, type RawResponse } from '../helpers/http.js';
import { lockHelpers, rule } from '../helpers/object-lock.js';

const PUT_MESSAGE = 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters';
const PART_MESSAGE = 'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters';
const SIGV4_MESSAGE = 'Put Object requests with Object Lock parameters require AWS Signature Version 4';
const sha256Base64 = (b: Buffer): string => createHash('sha256').update(b).digest('base64');
const UNTIL = (): string => new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const d: TestDaemon = await startDaemonFor(t);
const s3: S3Client = d.s3();
const L = lockHelpers(s3);

/** A bucket with Object Lock and, when `withRule`, a default GOVERNANCE retention of one day. */
async function lockedBucket(withRule: boolean): Promise<string> {
  const bucket = await L.lockBucket('lkck');
  if (withRule) await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: rule('GOVERNANCE', { Days: 1 }) } }));
  return bucket;
}

function refused(t: Test, res: RawResponse, message: string, what: string): void {
  const body = res.body.toString();
  t.equal(res.status, 400, `${what}: 400 (${body.slice(0, 200)})`);
  t.match(body, '<Code>InvalidRequest</Code>', `${what}: InvalidRequest`);
  t.match(body, `<Message>${message}</Message>`, `${what}: S3's message`);
}

async function versions(bucket: string, key: string): Promise<number> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return (out.Versions ?? []).filter((v) => v.Key === key).length;
}

/** An aws-chunked body (unsigned chunks) with a CRC32 trailer, and its headers. */
function trailerBody(body: Buffer): { framed: Buffer; headers: Record<string, string> } {
  const framed = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc32Base64(body)}\r\n\r\n`)]);
  return { framed, headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(body.length), 'x-amz-trailer': 'x-amz-checksum-crc32' } };
}

t.test('PutObject into a bucket with a default retention: without an integrity check refused, nothing stored; each check S3 takes accepted', async (t) => {
  const bucket = await lockedBucket(true);
  const body = testBytes(5000, 3);
  const put = (key: string, o: { headers?: Record<string, string>; payloadHash?: string; body?: Buffer } = {}): Promise<RawResponse> =>
    raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, body: o.body ?? body, headers: o.headers ?? {}, sign: { payloadHash: o.payloadHash ?? 'UNSIGNED-PAYLOAD' } });

  refused(t, await put('bare'), PUT_MESSAGE, 'UNSIGNED-PAYLOAD, no Content-MD5 or checksum');
  t.equal(await versions(bucket, 'bare'), 0, 'nothing stored');
  refused(t, await put('empty', { body: Buffer.alloc(0) }), PUT_MESSAGE, 'an empty body is no exception');

  const ok = async (key: string, o: Parameters<typeof put>[1], what: string): Promise<void> => {
    const res = await put(key, o);
    t.equal(res.status, 200, `${what}: 200 (${res.body.toString().slice(0, 200)})`);
    t.equal((await L.retentionOf(bucket, key)).split(' ')[0], 'GOVERNANCE', `${what}: the default retention applied`);
  };
  await ok('md5', { headers: { 'content-md5': md5Base64(body) } }, 'Content-MD5');
  await ok('crc32', { headers: { 'x-amz-checksum-crc32': crc32Base64(body) } }, 'x-amz-checksum-crc32');
  await ok('sha256', { headers: { 'x-amz-checksum-sha256': sha256Base64(body), 'x-amz-sdk-checksum-algorithm': 'SHA256' } }, 'x-amz-checksum-sha256 with x-amz-sdk-checksum-algorithm');
  const { framed, headers } = trailerBody(body);
  await ok('trailer', { body: framed, headers, payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' }, 'a CRC32 trailer (aws-chunked)');
  // s3d's one leniency: the signed payload hash checks every byte as well.
  await ok('signed', { payloadHash: 'hash' }, 'a signed SHA-256 payload hash');

  // A check that fails is still the check's error.
  const bad = await put('badmd5', { headers: { 'content-md5': md5Base64(Buffer.from('other')) } });
  t.match(bad.body.toString(), '<Code>BadDigest</Code>', 'a wrong Content-MD5: BadDigest');
  t.equal(await versions(bucket, 'badmd5'), 0, 'nothing stored');
});

t.test('explicit lock headers need the check in a bucket without a default rule; no lock (or a legal hold OFF) does not', async (t) => {
  const bucket = await lockedBucket(false);
  const body = Buffer.from('locked by headers');
  const put = (key: string, headers: Record<string, string>): Promise<RawResponse> => raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, body, headers, sign: { payloadHash: 'UNSIGNED-PAYLOAD' } });
  refused(t, await put('retained', { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': UNTIL() }), PUT_MESSAGE, 'mode and retain-until-date');
  refused(t, await put('held', { 'x-amz-object-lock-legal-hold': 'ON' }), PUT_MESSAGE, 'a legal hold ON');
  t.equal(await versions(bucket, 'retained') + (await versions(bucket, 'held')), 0, 'nothing stored');
  // A malformed lock header is still that header's error, whatever the body's checks.
  const worm = await put('worm', { 'x-amz-object-lock-mode': 'SOMETIMES', 'x-amz-object-lock-retain-until-date': UNTIL() });
  t.match(worm.body.toString(), '<Code>InvalidArgument</Code>', 'an unknown mode: InvalidArgument');
  t.equal((await put('plain', {})).status, 200, 'no lock header, no default rule: 200');
  t.equal((await put('off', { 'x-amz-object-lock-legal-hold': 'OFF' })).status, 200, 'a legal hold OFF locks nothing: 200');
  const md5 = await put('retained', { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': UNTIL(), 'content-md5': md5Base64(body) });
  t.equal(md5.status, 200, 'with Content-MD5: 200');
  t.equal((await L.retentionOf(bucket, 'retained')).split(' ')[0], 'COMPLIANCE', 'the retention asked for');
});

t.test('a presigned PUT URL (UNSIGNED-PAYLOAD) into a bucket with a default retention: refused without Content-MD5, taken with it', async (t) => {
  const bucket = await lockedBucket(true);
  const body = Buffer.from('through a presigned URL');
  const bare = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'bare' }), { expiresIn: 300 });
  const res = await fetch(bare, { method: 'PUT', body });
  t.equal(res.status, 400, 'refused');
  t.match(await res.text(), PUT_MESSAGE, "S3's message");
  t.equal(await versions(bucket, 'bare'), 0, 'nothing stored');
  const signedMd5 = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'md5', ContentMD5: md5Base64(body) }), { expiresIn: 300 });
  const ok = await fetch(signedMd5, { method: 'PUT', body, headers: { 'content-md5': md5Base64(body) } });
  t.equal(ok.status, 200, `with the Content-MD5 it signed: 200 (${await ok.text()})`);
});

t.test('UploadPart of a locked upload (its own headers or the bucket default): refused without a check, with "Put Part"', async (t) => {
  const withRule = await lockedBucket(true);
  const noRule = await lockedBucket(false);
  const part = testBytes(6000, 9);
  const upload = async (bucket: string, key: string, lock: boolean): Promise<string> =>
    (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...(lock ? { ObjectLockLegalHoldStatus: 'ON' } : {}) }))).UploadId!;
  const putPart = (bucket: string, key: string, id: string, headers: Record<string, string> = {}): Promise<RawResponse> =>
    raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, query: `partNumber=1&uploadId=${encodeURIComponent(id)}`, body: part, headers, sign: { payloadHash: 'UNSIGNED-PAYLOAD' } });

  const byDefault = await upload(withRule, 'default', false);
  refused(t, await putPart(withRule, 'default', byDefault), PART_MESSAGE, 'the bucket default retention');
  const held = await upload(noRule, 'held', true);
  refused(t, await putPart(noRule, 'held', held), PART_MESSAGE, 'the upload’s legal hold ON');
  for (const [bucket, key, id] of [[withRule, 'default', byDefault], [noRule, 'held', held]] as const) {
    t.equal((await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: id }))).Parts?.length ?? 0, 0, `${key}: no part stored`);
  }
  t.equal((await putPart(withRule, 'default', byDefault, { 'content-md5': md5Base64(part) })).status, 200, 'with Content-MD5: 200');
  t.equal((await putPart(noRule, 'held', held, { 'x-amz-checksum-crc32': crc32Base64(part) })).status, 200, 'with x-amz-checksum-crc32: 200');
  const free = await upload(noRule, 'free', false);
  t.equal((await putPart(noRule, 'free', free)).status, 200, 'an upload nothing will lock: no check needed');
});

t.test('the SDK with its default checksums (header for a buffer, trailer for a stream) uploads into a bucket with a default retention', async (t) => {
  const bucket = await lockedBucket(true);
  const body = testBytes(70_000, 5);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'buffer', Body: body }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'stream', Body: Readable.from([body]), ContentLength: body.length }));
  const id = (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu' }))).UploadId!;
  const p = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu', UploadId: id, PartNumber: 1, Body: body }));
  t.ok(p.ETag, 'UploadPart with the SDK default');
  for (const key of ['buffer', 'stream']) t.equal((await L.retentionOf(bucket, key)).split(' ')[0], 'GOVERNANCE', `${key}: retained`);
});

t.test('a locked version\'s body only signed with Signature Version 4: anonymous or V2 is 400 InvalidArgument (Authorization), nothing stored', async (t) => {
  // A bucket anyone may write to, with a default COMPLIANCE retention: what an anonymous writer
  // stored was locked past the root user's reach (S3 refuses it: versitygw#1542).
  const withRule = await L.lockBucket('lksig');
  await s3.send(new PutObjectLockConfigurationCommand({ Bucket: withRule, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: rule('COMPLIANCE', { Days: 1 }) } }));
  const noRule = await lockedBucket(false);
  for (const b of [withRule, noRule]) await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: policy(stmt('Allow', ['s3:PutObject'], [`${b}/*`])) }));
  const body = Buffer.from('written by anyone');
  const md5 = md5Base64(body);
  const anonymous = (bucket: string, key: string, headers: Record<string, string> = { 'content-md5': md5 }, query?: string): Promise<RawResponse> =>
    raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, ...(query !== undefined ? { query } : {}), body, headers, sign: false });
  const sigV4Refused = (res: RawResponse, message: string, what: string): void => {
    const text = res.body.toString();
    t.equal(res.status, 400, `${what}: 400 (${text.slice(0, 200)})`);
    t.match(text, '<Code>InvalidArgument</Code>', `${what}: InvalidArgument`);
    t.match(text, `<Message>${message}</Message>`, `${what}: S3's message`);
    t.match(text, '<ArgumentName>Authorization</ArgumentName>', `${what}: names Authorization`);
  };

  sigV4Refused(await anonymous(withRule, 'anon'), SIGV4_MESSAGE, 'anonymous, Content-MD5 sent, the default retention');
  refused(t, await anonymous(withRule, 'anon', {}), PUT_MESSAGE, 'anonymous without an integrity check: that check first');
  t.equal(await versions(withRule, 'anon'), 0, 'nothing stored');
  t.equal((await anonymous(noRule, 'anon')).status, 200, 'anonymous where nothing will lock the version: 200, as the policy allows');

  // Signature Version 2 (header), by the root user, Content-MD5 binding the body.
  const v2 = (bucket: string, key: string): Promise<RawResponse> => {
    const date = new Date().toUTCString();
    const signature = createHmac('sha1', SECRET_KEY).update(`PUT\n${md5}\n\n${date}\n/${bucket}/${key}`).digest('base64');
    return raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, body, headers: { date, 'content-md5': md5, authorization: `AWS ${ACCESS_KEY}:${signature}` }, sign: false });
  };
  sigV4Refused(await v2(withRule, 'v2'), SIGV4_MESSAGE, 'Signature Version 2, the default retention');
  t.equal(await versions(withRule, 'v2'), 0, 'nothing stored');
  t.equal((await v2(noRule, 'v2')).status, 200, 'Signature Version 2 where nothing will lock the version: 200');

  // Multipart: an anonymous part of an upload the default retention will lock ("Put Part").
  const id = (await s3.send(new CreateMultipartUploadCommand({ Bucket: withRule, Key: 'mpu' }))).UploadId!;
  sigV4Refused(await anonymous(withRule, 'mpu', { 'content-md5': md5 }, `partNumber=1&uploadId=${encodeURIComponent(id)}`), SIGV4_MESSAGE.replace('Put Object', 'Put Part'), 'an anonymous UploadPart');
  t.equal((await s3.send(new ListPartsCommand({ Bucket: withRule, Key: 'mpu', UploadId: id }))).Parts?.length ?? 0, 0, 'no part stored');
  const signed = await raw(d.port, { method: 'PUT', path: `/${withRule}/mpu`, query: `partNumber=1&uploadId=${encodeURIComponent(id)}`, body, headers: { 'content-md5': md5 } });
  t.equal(signed.status, 200, 'the same part signed with V4: 200');
});
