// s3:x-amz-server-side-encryption-aws-kms-key-id in a Deny: s3d reads one KMS key from several
// spellings of the header (the bare name, `arn:aws:kms:NAME`, an AWS key ARN of any region and
// account, `alias/NAME`, `alias/aws/s3` for the default key), so a condition naming the key one
// way must hold for every way a request may name it: a Deny on `test-key` was passed by a request
// sending `alias/test-key`, and one could not keep users off the default key (`alias/aws/s3`).
// The policies name `test-key`, the daemon's default key at the KES fixture, which holds
// `other-key` and `old-key` too. UpdateObjectEncryption names its new key in its XML body, not in the header:
// the body's key is the condition key of its s3:UpdateObjectEncryption and s3:PutObject checks.

import t from 'tap';
import { CopyObjectCommand, CreateBucketCommand, DeleteBucketEncryptionCommand, PutBucketEncryptionCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, UpdateObjectEncryptionCommand, type S3Client } from '@aws-sdk/client-s3';
import { bucketName, s3Client } from '../helpers/daemon.js';
import { KES_MASTER_KEY, kesEnv, kesServer } from '../helpers/kes.js';
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
  // UpdateObjectEncryption's own action denied on test-key, by its name and by an ARN.
  'uoe-bare': doc(allow(['s3:*'], [K, `${K}/*`]), deny(['s3:UpdateObjectEncryption'], [`${K}/*`], { StringEquals: { [KEY_ID]: 'test-key' } })),
  'uoe-arn': doc(allow(['s3:*'], [K, `${K}/*`]), deny(['s3:UpdateObjectEncryption'], [`${K}/*`], { StringEquals: { [KEY_ID]: 'arn:aws:kms:us-east-1:111122223333:key/test-key' } })),
  only: doc(allow(['s3:*'], [K, `${K}/*`]), deny(['s3:PutObject'], [`${K}/*`], { StringNotEqualsIfExists: { [KEY_ID]: 'other-key' }, StringEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } })),
  // The allow-list without IfExists, as AWS's examples write it: a write naming no key is denied.
  strict: doc(allow(['s3:*'], [K, `${K}/*`]), deny(['s3:PutObject'], [`${K}/*`], { StringNotEquals: { [KEY_ID]: 'other-key' } })),
};
const users = Object.keys(policies).map((name) => ({ accessKey: `${name}-user`, secretKey: `${name}-secret-key`, policies: [name] }));

const kes = await kesServer(t, { keys: [{ name: 'test-key', key: KES_MASTER_KEY }, { name: 'other-key', key: Buffer.alloc(32, 0x17) }, { name: 'old-key', key: Buffer.alloc(32, 0x29) }] });
const { d } = await startDaemonWithUsers(t, { policies, users }, kesEnv([kes], { keyName: 'test-key' }));
const root = d.s3();
await root.send(new CreateBucketCommand({ Bucket: K }));
const as = (name: string): S3Client => s3Client(d.endpoint, d.caCert, true, { credentials: { accessKeyId: `${name}-user`, secretAccessKey: `${name}-secret-key` }, maxAttempts: 1 });

const SPELLINGS = ['test-key', 'arn:aws:kms:test-key', 'arn:aws:kms:eu-west-3:999999999999:key/test-key', 'alias/test-key', 'arn:aws:kms:us-east-1:111122223333:alias/test-key', 'alias/aws/s3'];

for (const name of Object.keys(policies).filter((n) => !n.startsWith('uoe-') && n !== 'strict')) {
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

// UpdateObjectEncryption's key is in its body: a Deny of s3:PutObject (which it also needs) or of
// s3:UpdateObjectEncryption on test-key keeps objects from being moved under test-key, however the
// body spells it, and changes nothing; another key is allowed.
for (const name of ['bare', 'arn', 'uoe-bare', 'uoe-arn']) {
  t.test(`a Deny naming test-key (${name}) holds for the key UpdateObjectEncryption's body names`, async (t) => {
    const c = as(name);
    const Key = `${name}/update`;
    await root.send(new PutObjectCommand({ Bucket: K, Key, Body: 'kept', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'old-key' }));
    const update = (KMSKeyArn: string): Promise<unknown> => c.send(new UpdateObjectEncryptionCommand({ Bucket: K, Key, ObjectEncryption: { SSEKMS: { KMSKeyArn } } }));
    const state = async (): Promise<[string | undefined, string]> => [
      (await root.send(new HeadObjectCommand({ Bucket: K, Key }))).SSEKMSKeyId,
      await (await root.send(new GetObjectCommand({ Bucket: K, Key }))).Body!.transformToString(),
    ];
    for (const id of ['arn:aws:kms:us-east-1:111122223333:key/test-key', 'test-key', 'alias/test-key', 'arn:aws:kms:test-key', 'arn:aws:kms:eu-west-3:999999999999:alias/test-key']) {
      t.equal(await s3Code(update(id)), DENIED, `UpdateObjectEncryption to ${id}`);
      t.same(await state(), ['arn:aws:kms:old-key', 'kept'], `${id}: the object is unchanged`);
    }
    t.equal(await s3Code(update('arn:aws:kms:us-east-1:111122223333:key/other-key')), 'ok', 'to another key: allowed');
    t.same(await state(), ['arn:aws:kms:other-key', 'kept'], 'readable under other-key');
  });
}

// A bucket default names a key, but the request does not: as on S3, whose policies see the
// request's own headers (the default is applied after them), the upload has no
// s3:x-amz-server-side-encryption-aws-kms-key-id. A Deny on the default's key does not hold for
// it, an allow-list without IfExists refuses it even when the default is the listed key, and a
// request naming the key is judged by what it names.
t.test('uploads that rely on a bucket default have no key id condition key, as on S3', async (t) => {
  const setDefault = (keyId: string): Promise<unknown> =>
    root.send(new PutBucketEncryptionCommand({ Bucket: K, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyId } }] } }));
  t.teardown(() => root.send(new DeleteBucketEncryptionCommand({ Bucket: K })));
  const keyOf = async (Key: string): Promise<string | undefined> => (await root.send(new HeadObjectCommand({ Bucket: K, Key }))).SSEKMSKeyId;
  await setDefault('test-key');
  for (const name of ['bare', 'arn', 'like']) {
    t.equal(await s3Code(as(name).send(new PutObjectCommand({ Bucket: K, Key: `${name}/default`, Body: 'x' }))), 'ok', `${name}: a PUT without SSE headers is allowed`);
    t.equal(await keyOf(`${name}/default`), 'arn:aws:kms:test-key', `${name}: and sealed under the bucket default's test-key`);
    t.equal(await s3Code(as(name).send(new PutObjectCommand({ Bucket: K, Key: `${name}/named`, Body: 'x', SSEKMSKeyId: 'test-key', ServerSideEncryption: 'aws:kms' }))), DENIED, `${name}: naming test-key is denied`);
  }
  await setDefault('other-key');
  t.equal(await s3Code(as('strict').send(new PutObjectCommand({ Bucket: K, Key: 'strict/default', Body: 'x' }))), DENIED, 'StringNotEquals other-key: a PUT naming no key is denied, the bucket default being other-key too');
  t.equal(await s3Code(as('strict').send(new PutObjectCommand({ Bucket: K, Key: 'strict/named', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'other-key' }))), 'ok', 'naming other-key: allowed');
  t.equal(await keyOf('strict/named'), 'arn:aws:kms:other-key', 'sealed under it');
});
