// An upload's options need their own permissions, whoever uploads and however: tags
// (s3:PutObjectTagging), Object Lock retention (s3:PutObjectRetention) and a legal hold
// (s3:PutObjectLegalHold). A COMPLIANCE retention or a hold set with an upload cannot be undone,
// not even by root, so a writer allowed only s3:PutObject must never set one. Found by a security
// review:
//   - a form upload (POST) signed by a user with only s3:PutObject set COMPLIANCE retention and a
//     legal hold (PutObject with the same headers was already refused);
//   - an anonymous writer of a bucket whose policy grants only s3:PutObject set retention, holds
//     and tags;
//   - a form upload's policy conditions on s3:x-amz-server-side-encryption were judged on the
//     POST's HTTP headers, while the object's encryption comes from the form's fields: a header
//     beside a form without the field passed a "deny unencrypted uploads" policy, and the object
//     was stored unencrypted.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectLegalHoldCommand, GetObjectRetentionCommand, GetObjectTaggingCommand, HeadObjectCommand, PutBucketPolicyCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { bucketName, startDaemon } from '../helpers/daemon.js';
import { raw } from '../helpers/http.js';
import { formData, policyFields, postForm, type Field } from '../helpers/post-object.js';
import { s3Code } from '../helpers/s3.js';
import { allow, arn, doc, writeIam } from '../helpers/users.js';

const LOCKED = bucketName('optlock');
const PUBLIC = bucketName('optpub');
const ENCRYPTED = bucketName('optsse');
const work = mkdtempSync(join(tmpdir(), 's3d-upload-options-'));
const iam = writeIam(join(work, 'iam.json'), {
  policies: {
    'put-only': doc(allow(['s3:PutObject', 's3:GetObject', 's3:ListBucket'], [LOCKED, `${LOCKED}/*`, ENCRYPTED, `${ENCRYPTED}/*`])),
    'put-and-lock': doc(allow(['s3:PutObject', 's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:GetObject'], [`${LOCKED}/*`])),
    // AWS's "require Signature Version 4": the uploads of this user must be signed with V4.
    'put-v4-only': doc(allow(['s3:PutObject'], [`${LOCKED}/v4/*`], { StringEquals: { 's3:signatureversion': 'AWS4-HMAC-SHA256' } })),
  },
  users: [
    { accessKey: 'put-only', secretKey: 'put-only-secret', policies: ['put-only'] },
    { accessKey: 'put-and-lock', secretKey: 'put-and-lock-secret', policies: ['put-and-lock'] },
    { accessKey: 'put-v4-only', secretKey: 'put-v4-only-secret', policies: ['put-v4-only'] },
  ],
});
const d = await startDaemon({ env: { S3_IAM_FILE: iam } });
t.teardown(async () => {
  await d.stop();
  d.cleanup();
  rmSync(work, { recursive: true, force: true });
});
const root = d.s3();
const client = (accessKeyId: string, secretAccessKey: string): S3Client =>
  new S3Client({ endpoint: d.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
const putOnly = client('put-only', 'put-only-secret');
const putAndLock = client('put-and-lock', 'put-and-lock-secret');
t.teardown(() => {
  putOnly.destroy();
  putAndLock.destroy();
});
await root.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
await root.send(new CreateBucketCommand({ Bucket: PUBLIC, ObjectLockEnabledForBucket: true }));
await root.send(new CreateBucketCommand({ Bucket: ENCRYPTED }));
await root.send(new PutBucketPolicyCommand({ Bucket: PUBLIC, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:PutObject'], Resource: [arn(`${PUBLIC}/*`)] }] }) }));
await root.send(
  new PutBucketPolicyCommand({
    Bucket: ENCRYPTED,
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: ['s3:PutObject'], Resource: [arn(`${ENCRYPTED}/*`)], Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } } }],
    }),
  }),
);

const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const lockFields: Array<[string, Field[]]> = [
  ['COMPLIANCE retention', [['x-amz-object-lock-mode', 'COMPLIANCE'], ['x-amz-object-lock-retain-until-date', inAYear]]],
  ['a legal hold', [['x-amz-object-lock-legal-hold', 'ON']]],
];

/** A form signed by `signer` (its policy names every field), with the file last. */
async function signedForm(signer: S3Client, bucket: string, key: string, extra: Field[]): Promise<FormData> {
  const { fields } = await createPresignedPost(signer, { Bucket: bucket, Key: key, Fields: Object.fromEntries(extra) });
  return formData(Object.entries(fields), { data: Buffer.from(`body of ${key}`) });
}

const exists = async (bucket: string, key: string): Promise<string> => s3Code(root.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));

t.test('form uploads: Object Lock fields need the lock actions, as PutObject headers do', async (t) => {
  for (const [what, fields] of lockFields) {
    const key = `post-${what.replace(/\W+/g, '-')}`;
    const denied = await postForm(d, LOCKED, await signedForm(putOnly, LOCKED, key, fields));
    t.equal(denied.status, 403, `${what} in a form signed by a user with only s3:PutObject: 403`);
    t.equal(await exists(LOCKED, key), 'NotFound/404', 'nothing stored');
    const allowed = await postForm(d, LOCKED, await signedForm(putAndLock, LOCKED, key, fields));
    t.equal(allowed.status, 204, `${what} in a form signed by a user allowed the lock actions: stored`);
  }
  t.equal((await root.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: 'post-COMPLIANCE-retention' }))).Retention?.Mode, 'COMPLIANCE', 'with its retention');
  t.equal((await root.send(new GetObjectLegalHoldCommand({ Bucket: LOCKED, Key: 'post-a-legal-hold' }))).LegalHold?.Status, 'ON', 'with its hold');
  t.equal((await postForm(d, LOCKED, await signedForm(putOnly, LOCKED, 'post-plain', []))).status, 204, 'a plain form by the s3:PutObject-only user is stored');
});

t.test('anonymous writers of a bucket open to s3:PutObject set no tags, retention or hold', async (t) => {
  const cases: Array<[string, Record<string, string>]> = [
    ['tags', { 'x-amz-tagging': 'a=b' }],
    ['COMPLIANCE retention', { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': inAYear }],
    ['a legal hold', { 'x-amz-object-lock-legal-hold': 'ON' }],
  ];
  for (const [what, headers] of cases) {
    const key = `anon-${what.replace(/\W+/g, '-')}`;
    const res = await raw(d.port, { method: 'PUT', path: `/${PUBLIC}/${key}`, headers, body: 'x', sign: false });
    t.equal(res.status, 403, `anonymous PutObject with ${what}: 403`);
    t.equal(await exists(PUBLIC, key), 'NotFound/404', 'nothing stored');
    // Refused whatever its options, as every anonymous CreateMultipartUpload is on S3 (s3-bucket-policy-access).
    const mpu = await raw(d.port, { method: 'POST', path: `/${PUBLIC}/${key}`, query: 'uploads', headers, sign: false });
    t.equal(mpu.status, 403, `anonymous CreateMultipartUpload with ${what}: 403`);
  }
  const plain = await raw(d.port, { method: 'PUT', path: `/${PUBLIC}/anon-plain`, body: 'x', sign: false });
  t.equal(plain.status, 200, 'a plain anonymous upload is stored, as the policy allows');
  t.same((await root.send(new GetObjectTaggingCommand({ Bucket: PUBLIC, Key: 'anon-plain' }))).TagSet, [], 'without tags');
});

t.test("a form upload's SSE conditions are judged on its fields, which decide the encryption", async (t) => {
  const header = await postForm(d, ENCRYPTED, await signedForm(putOnly, ENCRYPTED, 'header-only', []), { 'x-amz-server-side-encryption': 'AES256' });
  t.equal(header.status, 403, 'an SSE header beside a form without the SSE field: 403 (the object would be stored unencrypted)');
  t.equal(await exists(ENCRYPTED, 'header-only'), 'NotFound/404', 'nothing stored');
  const field = await postForm(d, ENCRYPTED, await signedForm(putOnly, ENCRYPTED, 'field', [['x-amz-server-side-encryption', 'AES256']]));
  t.equal(field.status, 204, 'the SSE field: stored');
  t.equal((await root.send(new HeadObjectCommand({ Bucket: ENCRYPTED, Key: 'field' }))).ServerSideEncryption, 'AES256', 'encrypted');
  t.equal(await s3Code(putOnly.send(new CreateMultipartUploadCommand({ Bucket: ENCRYPTED, Key: 'mpu', ServerSideEncryption: 'AES256' }))), 'ok', 'the same policy admits an encrypted multipart upload');
});

t.test('a copy keeping its source\'s tags (x-amz-tagging-directive COPY, the default) sets none of x-amz-tagging: no s3:PutObjectTagging asked', async (t) => {
  await root.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'untagged-src', Body: 'src' }));
  const copy = (Key: string, TaggingDirective?: 'COPY' | 'REPLACE'): Promise<string> =>
    s3Code(putOnly.send(new CopyObjectCommand({ Bucket: LOCKED, Key, CopySource: `${LOCKED}/untagged-src`, Tagging: 'a=b', ...(TaggingDirective ? { TaggingDirective } : {}) })));
  // S3 ignores x-amz-tagging unless the directive is REPLACE: the copy gets the source's (no) tags.
  t.equal(await copy('copy-default'), 'ok', 'default directive: copied by a user with only s3:PutObject');
  t.same((await root.send(new GetObjectTaggingCommand({ Bucket: LOCKED, Key: 'copy-default' }))).TagSet, [], 'without the header\'s tags');
  t.equal(await copy('copy-explicit', 'COPY'), 'ok', 'COPY: likewise');
  t.equal(await copy('copy-replace', 'REPLACE'), 'AccessDenied/403', 'REPLACE sets them: s3:PutObjectTagging is needed');
  t.equal(await exists(LOCKED, 'copy-replace'), 'NotFound/404', 'nothing stored');
});

t.test('s3:signatureversion of a form upload is how its policy was signed, whatever x-amz-* fields it carries', async (t) => {
  const v4Only = client('put-v4-only', 'put-v4-only-secret');
  t.teardown(() => v4Only.destroy());
  t.equal((await postForm(d, LOCKED, await signedForm(v4Only, LOCKED, 'v4/signed-v4', []))).status, 204, 'a form signed with V4: stored');
  const v2Form = (key: string, extra: Field[]): FormData => {
    const conditions = [{ key }, ...extra.map(([name]) => ['starts-with', `$${name}`, ''])];
    return formData([['key', key], ...extra, ...policyFields({ bucket: LOCKED, v2: true, accessKey: 'put-v4-only', secret: 'put-v4-only-secret', conditions })], { data: Buffer.from('v2') });
  };
  t.equal((await postForm(d, LOCKED, v2Form('v4/signed-v2', []))).status, 403, 'a form signed with V2: 403');
  // The V2 signature is what authenticated it: an x-amz-algorithm field its policy allows made it count as V4.
  const disguised = await postForm(d, LOCKED, v2Form('v4/signed-v2-disguised', [['x-amz-algorithm', 'AWS4-HMAC-SHA256']]));
  t.equal(disguised.status, 403, 'a V2-signed form with an x-amz-algorithm field: 403 all the same');
  t.equal(await exists(LOCKED, 'v4/signed-v2-disguised'), 'NotFound/404', 'nothing stored');
});
