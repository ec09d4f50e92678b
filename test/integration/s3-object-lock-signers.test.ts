// Object Lock: a version the lock will protect (the bucket's default retention, or the request's
// own retention or legal hold ON) is created only by a request signed with Signature Version 4.
// PutObject and UploadPart are pinned in s3-object-lock-checksums.test.ts; here the other ways a
// version, its data or its lock reach a bucket open to anonymous writers: CopyObject,
// UploadPartCopy and CreateMultipartUpload signed with V2 (an anonymous copy or
// CreateMultipartUpload is refused before, as on S3), CompleteMultipartUpload (parts stored
// before the bucket's default retention was set) and POST Object (an unsigned or V2-signed
// form). Each anonymous or V2
// request is 400 InvalidArgument "<request> requests with Object Lock parameters require AWS
// Signature Version 4", nothing stored; the same request signed with V4 goes through, locked.

import t, { type Test } from 'tap';
import { createHmac } from 'node:crypto';
import { CreateMultipartUploadCommand, ListObjectVersionsCommand, ListPartsCommand, PutBucketPolicyCommand, PutObjectCommand, PutObjectLockConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startDaemonFor, type TestDaemon } from '../helpers/daemon.js';
import { policy, stmt } from '../helpers/bucket-policy.js';
import { raw, xmlField, type RawResponse } from '../helpers/http.js';
import { lockHelpers, rule } from '../helpers/object-lock.js';
import { formData, postForm, signedForm } from '../helpers/post-object.js';

const message = (request: string): string => `${request} requests with Object Lock parameters require AWS Signature Version 4`;

const d: TestDaemon = await startDaemonFor(t);
const s3: S3Client = d.s3();
const L = lockHelpers(s3);

/** A bucket with Object Lock (a default COMPLIANCE retention of a day when `withRule`) that anyone may write to and read. */
async function openBucket(withRule: boolean): Promise<string> {
  const b = await L.lockBucket('lksgn');
  if (withRule) await s3.send(new PutObjectLockConfigurationCommand({ Bucket: b, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: rule('COMPLIANCE', { Days: 1 }) } }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: policy(stmt('Allow', ['s3:PutObject', 's3:GetObject', 's3:PutObjectLegalHold'], [`${b}/*`])) }));
  return b;
}

const withRule = await openBucket(true);
const noRule = await openBucket(false);
await s3.send(new PutObjectCommand({ Bucket: noRule, Key: 'src', Body: 'copy me' }));
const source = `/${noRule}/src`;

function sigV4Refused(t: Test, res: RawResponse, request: string, argument: string, what: string): void {
  const text = res.body.toString();
  t.equal(res.status, 400, `${what}: 400 (${text.slice(0, 240)})`);
  t.match(text, '<Code>InvalidArgument</Code>', `${what}: InvalidArgument`);
  t.match(text, `<Message>${message(request)}</Message>`, `${what}: the message names the request`);
  t.match(text, `<ArgumentName>${argument}</ArgumentName>`, `${what}: names ${argument}`);
}

async function versions(bucket: string, key: string): Promise<number> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return (out.Versions ?? []).filter((v) => v.Key === key).length;
}

const anonymous = (method: string, path: string, headers: Record<string, string> = {}, query?: string, body?: Buffer | string): Promise<RawResponse> =>
  raw(d.port, { method, path, headers, ...(query !== undefined ? { query } : {}), ...(body !== undefined ? { body } : {}), sign: false });
const signed = (method: string, path: string, headers: Record<string, string> = {}, query?: string, body?: Buffer | string): Promise<RawResponse> =>
  raw(d.port, { method, path, headers, ...(query !== undefined ? { query } : {}), ...(body !== undefined ? { body } : {}) });

/** A request signed with Signature Version 2 by the root user, `x-amz-*` headers in the string to sign (`resource`: the path and any sub-resources). */
function v2(method: string, path: string, headers: Record<string, string>, resource = path, query?: string): Promise<RawResponse> {
  const date = new Date().toUTCString();
  const amz = Object.keys(headers).filter((h) => h.startsWith('x-amz-')).sort().map((h) => `${h}:${headers[h]}\n`).join('');
  const signature = createHmac('sha1', SECRET_KEY).update(`${method}\n\n\n${date}\n${amz}${resource}`).digest('base64');
  return anonymous(method, path, { ...headers, date, authorization: `AWS ${ACCESS_KEY}:${signature}` }, query);
}

t.test('CopyObject: a copy the lock will protect only signed with V4', async (t) => {
  // An anonymous copy never gets this far: S3 refuses every one (s3-bucket-policy-access).
  const anon = await anonymous('PUT', `/${withRule}/anon`, { 'x-amz-copy-source': source });
  t.equal(anon.status, 403, 'anonymous: 403, whatever the lock');
  t.equal(xmlField(anon.body, 'Message'), 'Anonymous users cannot copy objects.  Please authenticate.', 'anonymous: S3\'s refusal of an anonymous copy');
  sigV4Refused(t, await v2('PUT', `/${withRule}/v2`, { 'x-amz-copy-source': source }), 'Copy Object', 'Authorization', 'Signature Version 2, the default retention');
  sigV4Refused(t, await v2('PUT', `/${noRule}/held`, { 'x-amz-copy-source': source, 'x-amz-object-lock-legal-hold': 'ON' }), 'Copy Object', 'Authorization', 'Signature Version 2, a legal hold ON');
  t.equal((await versions(withRule, 'anon')) + (await versions(withRule, 'v2')) + (await versions(noRule, 'held')), 0, 'nothing stored');

  t.equal((await v2('PUT', `/${noRule}/plain`, { 'x-amz-copy-source': source })).status, 200, 'a V2 copy nothing will lock: 200');
  const v4 = await signed('PUT', `/${withRule}/v4`, { 'x-amz-copy-source': source });
  t.equal(v4.status, 200, `signed with V4: 200 (${v4.body.toString().slice(0, 200)})`);
  t.equal((await L.retentionOf(withRule, 'v4')).split(' ')[0], 'COMPLIANCE', 'the copy took the default retention');
});

t.test('multipart: CreateMultipartUpload, UploadPartCopy and CompleteMultipartUpload of a locked object only signed with V4', async (t) => {
  // An anonymous CreateMultipartUpload never gets this far: S3 refuses every one (s3-bucket-policy-access).
  const anon = await anonymous('POST', `/${withRule}/mpu`, {}, 'uploads');
  t.equal(anon.status, 403, 'anonymous: 403, whatever the lock');
  t.equal(xmlField(anon.body, 'Message'), 'Anonymous users cannot initiate multipart uploads.  Please authenticate.', "anonymous: S3's refusal of an anonymous CreateMultipartUpload");
  sigV4Refused(t, await v2('POST', `/${withRule}/mpu`, {}, `/${withRule}/mpu?uploads`, 'uploads'), 'Create Multipart Upload', 'Authorization', 'a V2 CreateMultipartUpload, the default retention');
  sigV4Refused(t, await v2('POST', `/${noRule}/mpu`, { 'x-amz-object-lock-legal-hold': 'ON' }, `/${noRule}/mpu?uploads`, 'uploads'), 'Create Multipart Upload', 'Authorization', 'a V2 CreateMultipartUpload, a legal hold ON');

  const id = (await s3.send(new CreateMultipartUploadCommand({ Bucket: withRule, Key: 'mpu' }))).UploadId!;
  const partQuery = `partNumber=1&uploadId=${encodeURIComponent(id)}`;
  sigV4Refused(t, await v2('PUT', `/${withRule}/mpu`, { 'x-amz-copy-source': source }, `/${withRule}/mpu?partNumber=1&uploadId=${id}`, partQuery), 'Copy Part', 'Authorization', 'a V2 UploadPartCopy');
  t.equal((await s3.send(new ListPartsCommand({ Bucket: withRule, Key: 'mpu', UploadId: id }))).Parts?.length ?? 0, 0, 'no part stored');
  const part = await signed('PUT', `/${withRule}/mpu`, { 'x-amz-copy-source': source }, partQuery);
  t.equal(part.status, 200, `the same UploadPartCopy signed with V4: 200 (${part.body.toString().slice(0, 200)})`);

  // An upload begun (signed with V2: an anonymous client begins none) and its part sent
  // anonymously while nothing would lock it; then the bucket gets a default retention, which the
  // completion applies: the completion must be signed with V4.
  const later = await openBucket(false);
  const created = await v2('POST', `/${later}/late`, {}, `/${later}/late?uploads`, 'uploads');
  t.equal(created.status, 200, 'a V2 CreateMultipartUpload nothing will lock: 200');
  const lateId = xmlField(created.body, 'UploadId')!;
  const body = Buffer.from('sent by anyone');
  const sent = await anonymous('PUT', `/${later}/late`, {}, `partNumber=1&uploadId=${encodeURIComponent(lateId)}`, body);
  t.equal(sent.status, 200, 'its anonymous part: 200');
  const etag = sent.headers.etag as string;
  await s3.send(new PutObjectLockConfigurationCommand({ Bucket: later, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: rule('COMPLIANCE', { Days: 1 }) } }));
  const complete = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`;
  const completeQuery = `uploadId=${encodeURIComponent(lateId)}`;
  sigV4Refused(t, await anonymous('POST', `/${later}/late`, {}, completeQuery, complete), 'Complete Multipart Upload', 'Authorization', 'an anonymous CompleteMultipartUpload under the new default retention');
  t.equal(await versions(later, 'late'), 0, 'no version created');
  const done = await signed('POST', `/${later}/late`, {}, completeQuery, complete);
  t.equal(done.status, 200, `the completion signed with V4: 200 (${done.body.toString().slice(0, 200)})`);
  t.equal((await L.retentionOf(later, 'late')).split(' ')[0], 'COMPLIANCE', 'the completed object took the default retention');
});

t.test('POST Object: a form the lock will protect only signed with AWS4-HMAC-SHA256', async (t) => {
  const file = { data: Buffer.from('posted by anyone') };
  sigV4Refused(t, await postForm(d, withRule, formData([['key', 'anon']], file)), 'Post Object', 'x-amz-algorithm', 'an unsigned form, the default retention');
  sigV4Refused(t, await postForm(d, noRule, formData([['key', 'held'], ['x-amz-object-lock-legal-hold', 'ON']], file)), 'Post Object', 'x-amz-algorithm', 'an unsigned form, a legal hold ON');
  sigV4Refused(t, await postForm(d, withRule, signedForm(withRule, 'v2', [], { v2: true }, file)), 'Post Object', 'x-amz-algorithm', 'a form signed with Version 2');
  t.equal((await versions(withRule, 'anon')) + (await versions(withRule, 'v2')) + (await versions(noRule, 'held')), 0, 'nothing stored');

  t.equal((await postForm(d, noRule, formData([['key', 'plain']], file))).status, 204, 'an unsigned form nothing will lock: 204, as the policy allows');
  const v4 = await postForm(d, withRule, signedForm(withRule, 'v4', [], {}, file));
  t.equal(v4.status, 204, `a form signed with AWS4-HMAC-SHA256: 204 (${v4.body.toString().slice(0, 200)})`);
  t.equal((await L.retentionOf(withRule, 'v4')).split(' ')[0], 'COMPLIANCE', 'the posted object took the default retention');
});

