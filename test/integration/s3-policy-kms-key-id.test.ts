// s3:x-amz-server-side-encryption-aws-kms-key-id in a Deny: s3d reads one KMS key from several
// spellings of the header (the bare name, `arn:aws:kms:NAME`, an AWS key ARN of any region and
// account, `alias/NAME`, `alias/aws/s3` for the default key), so a condition naming the key one
// way must hold for every way a request may name it: a Deny on `test-key` was passed by a request
// sending `alias/test-key`, and one could not keep users off the default key (`alias/aws/s3`).
// The built-in key of the test daemon (`test-key`, TEST_KMS_SECRET) is the key the policies name.

import t from 'tap';
import { CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { bucketName, s3Client } from '../helpers/daemon.js';
import { s3Code } from '../helpers/s3.js';
import { allow, deny, doc, DENIED, startDaemonWithUsers } from '../helpers/users.js';

const K = bucketName('kmsid');
const KEY_ID = 's3:x-amz-server-side-encryption-aws-kms-key-id';

const policies = {
  // Everything in K, but the KMS key test-key, named in any of the forms a policy may take.
  bare: doc(allow(['s3:*'], [K, `${K}/*`]), deny(['s3:PutObject'], [`${K}/*`], { StringEquals: { [KEY_ID]: 'test-key' } })),
  arn: doc(allow(['s3:*'], [K, `${K}/*`]), deny(['s3:PutObject'], [`${K}/*`], { StringEquals: { [KEY_ID]: 'arn:aws:kms:us-east-1:111122223333:key/test-key' } })),
  like: doc(allow(['s3:*'], [K, `${K}/*`]), deny(['s3:PutObject'], [`${K}/*`], { StringLike: { [KEY_ID]: 'arn:aws:kms:*:*:key/test-*' } })),
  // An allow-list: no key but other-key (StringNotEquals holds for every spelling of test-key;
  // with IfExists, a write naming no key passes, as on S3).
  only: doc(allow(['s3:*'], [K, `${K}/*`]), deny(['s3:PutObject'], [`${K}/*`], { StringNotEqualsIfExists: { [KEY_ID]: 'other-key' }, StringEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } })),
};
const users = Object.keys(policies).map((name) => ({ accessKey: `${name}-user`, secretKey: `${name}-secret-key`, policies: [name] }));

const { d } = await startDaemonWithUsers(t, { policies, users });
const root = d.s3();
await root.send(new CreateBucketCommand({ Bucket: K }));
const as = (name: string): S3Client => s3Client(d.endpoint, d.caCert, true, { credentials: { accessKeyId: `${name}-user`, secretAccessKey: `${name}-secret-key` }, maxAttempts: 1 });

const SPELLINGS = ['test-key', 'arn:aws:kms:test-key', 'arn:aws:kms:eu-west-3:999999999999:key/test-key', 'alias/test-key', 'arn:aws:kms:us-east-1:111122223333:alias/test-key', 'alias/aws/s3'];

for (const name of Object.keys(policies)) {
  t.test(`a Deny naming test-key (${name}) holds whichever way a write names the key`, async (t) => {
    const c = as(name);
    for (const id of SPELLINGS) {
      t.equal(await s3Code(c.send(new PutObjectCommand({ Bucket: K, Key: `${name}/put`, Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: id }))), DENIED, `PutObject ${id}`);
      t.equal(await s3Code(c.send(new CreateMultipartUploadCommand({ Bucket: K, Key: `${name}/mpu`, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: id }))), DENIED, `CreateMultipartUpload ${id}`);
    }
    // Without a key id the condition key is absent, as on S3: an SSE-S3 write and a plain one pass.
    t.equal(await s3Code(c.send(new PutObjectCommand({ Bucket: K, Key: `${name}/plain`, Body: 'x' }))), 'ok', 'no key id: allowed');
    t.equal(await s3Code(c.send(new PutObjectCommand({ Bucket: K, Key: `${name}/sse-s3`, Body: 'x', ServerSideEncryption: 'AES256' }))), 'ok', 'SSE-S3: allowed');
    for (const id of ['test-key', 'alias/test-key']) {
      t.equal(await s3Code(c.send(new CopyObjectCommand({ Bucket: K, Key: `${name}/copy`, CopySource: `${K}/${name}/plain`, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: id }))), DENIED, `CopyObject ${id}`);
    }
  });
}
