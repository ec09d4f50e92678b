// NotAction and NotResource in bucket policies and users' policies, and a bucket policy's
// NotPrincipal (a Deny's), against one real daemon: the statement applies to the S3 actions
// NotAction does not name, the resources NotResource does not name and every requester but those
// NotPrincipal names (IAM's elements), for anonymous requests and signed ones. All three were
// refused as unsupported (400 MalformedPolicy, a users file that did not load). The parser and
// evaluator alone: unit/daemon/auth/bucket-policy.test.ts.

import t from 'tap';
import { CreateBucketCommand, GetBucketPolicyStatusCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ACCESS_KEY, bucketName, s3Client } from '../helpers/daemon.js';
import { arn, objectPath } from '../helpers/bucket-policy.js';
import { raw } from '../helpers/http.js';
import { s3Code } from '../helpers/s3.js';
import { DENIED, startDaemonWithUsers } from '../helpers/users.js';

const B = bucketName('notel');
const OTHER = bucketName('notelo');
// Everything but deletes, on every bucket; writes only under B's uploads/.
const writer = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', NotAction: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:DeleteBucket'], Resource: [arn('*')] },
    { Effect: 'Deny', Action: 's3:PutObject', NotResource: [arn(`${B}/uploads/*`)] },
  ],
};
const users = [
  { accessKey: 'notel-writer', secretKey: 'notel-writer-secret', policies: ['writer'] },
  { accessKey: 'notel-reader', secretKey: 'notel-reader-secret', policies: ['readonly'] },
];
const { d } = await startDaemonWithUsers(t, { policies: { writer }, users });
const root = d.s3();
const user: S3Client = s3Client(d.endpoint, d.caCert, true, { credentials: { accessKeyId: users[0]!.accessKey, secretAccessKey: users[0]!.secretKey }, maxAttempts: 1 });
const anonymous = (method: string, bucket: string, key: string | undefined, body?: string): Promise<number> =>
  raw(d.port, { method, path: key === undefined ? `/${bucket}` : objectPath(bucket, key), sign: false, ...(body !== undefined ? { body } : {}) }).then((r) => r.status);
const signed = (method: string, bucket: string, key: string, body?: string, as = users[0]!): Promise<number> =>
  raw(d.port, { method, path: objectPath(bucket, key), sign: { accessKeyId: as.accessKey, secretAccessKey: as.secretKey }, ...(body !== undefined ? { body } : {}) }).then((r) => r.status);

await Promise.all([B, OTHER].map((Bucket) => root.send(new CreateBucketCommand({ Bucket }))));
for (const key of ['public/a', 'uploads/a', 'secret']) await root.send(new PutObjectCommand({ Bucket: B, Key: key, Body: `body of ${key}` }));

t.test("a bucket policy's NotAction and NotResource (anonymous requests and a user alike)", async (t) => {
  // Anyone may do all but write and delete; reads only of public/ and uploads/.
  const text = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: '*', NotAction: ['s3:PutObject', 's3:DeleteObject'], Resource: [arn(B), arn(`${B}/*`)] },
      { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', NotResource: [arn(`${B}/public/*`), arn(`${B}/uploads/*`)] },
    ],
  });
  t.equal(await s3Code(root.send(new PutBucketPolicyCommand({ Bucket: B, Policy: text }))), 'ok', 'PutBucketPolicy takes them, as S3 does');
  t.equal((await root.send(new GetBucketPolicyStatusCommand({ Bucket: B }))).PolicyStatus?.IsPublic, true, 'an Allow to anyone of the actions NotAction leaves is public');
  t.equal(await anonymous('GET', B, 'public/a'), 200, 'anonymous GET: an action NotAction leaves, a resource the Deny leaves out');
  t.equal(await anonymous('GET', B, undefined), 200, 'anonymous ListObjects: s3:ListBucket is left too');
  t.equal(await anonymous('GET', B, 'secret'), 403, 'anonymous GET outside NotResource: denied');
  t.equal(await anonymous('PUT', B, 'public/new', 'x'), 403, 'anonymous PUT: an action NotAction names is not allowed');
  t.equal(await anonymous('DELETE', B, 'public/a'), 403, 'anonymous DELETE: likewise');
  t.equal(await signed('GET', B, 'secret'), 403, "the user: the bucket's Deny applies to it as to anyone");
  t.equal(await signed('GET', B, 'uploads/a'), 200, 'the user: what the Deny leaves out');
});

t.test("a user's NotAction and NotResource", async (t) => {
  t.equal(await signed('PUT', B, 'uploads/b', 'b'), 200, 'PUT under uploads/: allowed by NotAction, left by the Deny NotResource');
  t.equal(await signed('PUT', B, 'elsewhere', 'x'), 403, 'PUT elsewhere in the bucket: the Deny applies');
  t.equal(await signed('PUT', OTHER, 'x', 'x'), 403, 'PUT in another bucket: denied too');
  t.equal(await signed('DELETE', B, 'uploads/b'), 403, 'DELETE: an action NotAction names, allowed nowhere');
  t.equal(await s3Code(user.send(new PutObjectCommand({ Bucket: B, Key: 'uploads/c', Body: 'c' }))), 'ok', 'the SDK writes under uploads/');
  t.equal(await s3Code(user.send(new PutObjectCommand({ Bucket: OTHER, Key: 'c', Body: 'c' }))), DENIED);
});

t.test("a bucket policy's NotPrincipal: a Deny for everyone but the users it names", async (t) => {
  const b = bucketName('notelp');
  await root.send(new CreateBucketCommand({ Bucket: b }));
  for (const key of ['open/x', 'held/x']) await root.send(new PutObjectCommand({ Bucket: b, Key: key, Body: `body of ${key}` }));
  const reader = `arn:aws:iam::${ACCESS_KEY}:user/${users[1]!.accessKey}`;
  const text = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: arn(`${b}/*`) },
      // A role of another account, as such policies name: it leaves nobody s3d has out.
      { Effect: 'Deny', NotPrincipal: { AWS: [reader, 'arn:aws:iam::123456789012:role/backup'] }, Action: 's3:GetObject', Resource: arn(`${b}/held/*`) },
    ],
  });
  t.equal(await s3Code(root.send(new PutBucketPolicyCommand({ Bucket: b, Policy: text }))), 'ok', 'PutBucketPolicy takes it, as S3 does');
  t.equal(await signed('GET', b, 'held/x', undefined, users[1]), 200, 'the user NotPrincipal names: the Deny does not apply');
  t.equal(await signed('GET', b, 'held/x'), 403, 'another user: denied');
  t.equal(await anonymous('GET', b, 'held/x'), 403, 'anonymous: denied');
  t.equal(await anonymous('GET', b, 'open/x'), 200, 'outside its Resource: the Allow stands');
  const allowing = text.replace('"Effect":"Deny","NotPrincipal"', '"Effect":"Allow","NotPrincipal"');
  t.equal(await s3Code(root.send(new PutBucketPolicyCommand({ Bucket: b, Policy: allowing }))), 'MalformedPolicy/400', 'in an Allow: refused, as AWS takes it in a Deny only');
  const ghost = text.replace(users[1]!.accessKey, 'notel-nobody');
  t.equal(await s3Code(root.send(new PutBucketPolicyCommand({ Bucket: b, Policy: ghost }))), 'MalformedPolicy/400', 'a user that does not exist: refused, as for Principal');
  t.equal(await anonymous('GET', b, 'held/x'), 403, 'the policy in force is still the first');
});
