// UpdateObjectEncryption (ops/update-encryption.ts) against the real daemon and the KES fixture
// over mTLS: SSE-S3 and SSE-KMS objects (single-part, multipart with checksums, a noncurrent
// version, an SSE-KMS context) re-keyed to SSE-KMS under another KES key without their data being
// rewritten: ETag, Last-Modified, checksums and bytes unchanged, reads after a restart (cold
// caches) working with the old key deleted at KES while an object left alone no longer reads.
// Refused as S3 refuses, changing nothing: unencrypted and SSE-C objects, a new type other than
// SSE-KMS, a key KES does not have, an object under a legal hold, a user without s3:PutObject.
// The aws CLI's update-object-encryption where its botocore knows the operation.

import t from 'tap';
import {
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  UpdateObjectEncryptionCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { bucketName, s3Client, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { KES_MASTER_KEY, KES_TEST_KEY, kesEnv, kesServer, metricSample, nextUsageScan } from '../helpers/kes.js';
import { bodyBytes, rawBodyClient, s3Code } from '../helpers/s3.js';
import { allow, doc, writeIam } from '../helpers/users.js';
import { awsCli, NO_AWS } from '../helpers/aws-cli.js';
import { md5Hex } from '../helpers/hash.js';

const NEW_KEY = 'rotated-key';
const ARN = `arn:aws:kms:us-east-1:000000000000:key/${NEW_KEY}`;
const MiB = 1024 * 1024;
const B = bucketName('uoe');
const LOCKED = bucketName('uoelock');
const USER = { accessKey: 'uoe-user', secretKey: 'uoe-user-secret-1', policies: ['update-only'] };

const kes = await kesServer(t, { keys: [{ name: KES_TEST_KEY, key: KES_MASTER_KEY }, { name: NEW_KEY, key: Buffer.alloc(32, 0x17) }] });
const work = mkdtempSync(join(tmpdir(), 's3d-uoe-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const iamFile = writeIam(join(work, 'iam.json'), { policies: { 'update-only': doc(allow(['s3:UpdateObjectEncryption', 's3:GetObject'], [`${B}/*`])) }, users: [USER] });
const env = { ...kesEnv([kes]), S3_IAM_FILE: iamFile, S3_USAGE_SCAN_INTERVAL: '1s' };
let d: TestDaemon = await startDaemon({ tls: true, env });
t.teardown(() => d.stop());
let s3: S3Client = d.s3();

const update = (Key: string, extra: { VersionId?: string; KMSKeyArn?: string; client?: S3Client } = {}): Promise<unknown> =>
  (extra.client ?? s3).send(new UpdateObjectEncryptionCommand({ Bucket: B, Key, ...(extra.VersionId ? { VersionId: extra.VersionId } : {}), ObjectEncryption: { SSEKMS: { KMSKeyArn: extra.KMSKeyArn ?? ARN, BucketKeyEnabled: true } } }));
const head = (Key: string, VersionId?: string) => s3.send(new HeadObjectCommand({ Bucket: B, Key, VersionId, ChecksumMode: 'ENABLED' }));
const read = async (Key: string, VersionId?: string): Promise<Buffer> => bodyBytes(await s3.send(new GetObjectCommand({ Bucket: B, Key, VersionId })));

const bodies = { sses3: testBytes(300_000, 1), ssekms: testBytes(70_000, 2), old: testBytes(1000, 3), plain: testBytes(500, 4), left: testBytes(2000, 5) };
const mpParts = [testBytes(5 * MiB, 6), testBytes(123_456, 7)];
let oldVersion: string;

t.before(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'sse-s3', Body: bodies.sses3, ServerSideEncryption: 'AES256', ChecksumAlgorithm: ChecksumAlgorithm.CRC32 }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'sse-kms', Body: bodies.ssekms, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KES_TEST_KEY, SSEKMSEncryptionContext: Buffer.from('{"team":"blue"}').toString('base64') }));
  oldVersion = (await s3.send(new PutObjectCommand({ Bucket: B, Key: 'versioned', Body: bodies.old, ServerSideEncryption: 'AES256' }))).VersionId!;
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'versioned', Body: testBytes(10, 8), ServerSideEncryption: 'AES256' }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'plain', Body: bodies.plain }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'left-alone', Body: bodies.left, ServerSideEncryption: 'AES256' }));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'multipart', ServerSideEncryption: 'AES256', ChecksumAlgorithm: ChecksumAlgorithm.SHA256 }));
  const parts = [];
  for (const [i, Body] of mpParts.entries()) {
    const p = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'multipart', UploadId: up.UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: ChecksumAlgorithm.SHA256 }));
    parts.push({ PartNumber: i + 1, ETag: p.ETag, ChecksumSHA256: p.ChecksumSHA256 });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'multipart', UploadId: up.UploadId, MultipartUpload: { Parts: parts } }));
});

t.test('SSE-S3 and SSE-KMS objects re-keyed to SSE-KMS under another key, data, ETag, dates and checksums kept', async (t) => {
  for (const [Key, VersionId] of [['sse-s3'], ['sse-kms'], ['multipart'], ['versioned', 'old']] as Array<[string, string?]>) {
    const v = VersionId === 'old' ? oldVersion : undefined;
    const before = await head(Key, v);
    await update(Key, { VersionId: v });
    const after = await head(Key, v);
    t.equal(after.ServerSideEncryption, 'aws:kms', `${Key}: SSE-KMS now`);
    t.equal(after.SSEKMSKeyId, `arn:aws:kms:${NEW_KEY}`, `${Key}: under the new key`);
    t.equal(after.BucketKeyEnabled, true, `${Key}: BucketKeyEnabled as asked`);
    t.same([after.ETag, after.LastModified?.getTime(), after.ContentLength, after.ChecksumCRC32, after.ChecksumSHA256, after.VersionId], [before.ETag, before.LastModified?.getTime(), before.ContentLength, before.ChecksumCRC32, before.ChecksumSHA256, before.VersionId], `${Key}: ETag, Last-Modified, size, checksums and version unchanged`);
  }
  t.equal((await head('versioned')).SSEKMSKeyId, undefined, 'the current version of that key was left alone (SSE-S3)');
  // What each KMS key still seals (s3d_kms_key_objects): the old key, the two objects left alone
  // and an upload in progress; the new key, the four re-keyed.
  await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'in-progress', ServerSideEncryption: 'AES256' }));
  const text = await nextUsageScan(d.endpoint, d.caCert);
  t.equal(metricSample(text, 's3d_kms_key_objects', { key: KES_TEST_KEY }), 3, 'the old key still seals two versions and an upload in progress');
  t.equal(metricSample(text, 's3d_kms_key_objects', { key: NEW_KEY }), 4, 'the new key seals the four re-keyed');
});

t.test('after a restart (cold caches), with the old key deleted at KES, the re-keyed objects read; one left alone does not', async (t) => {
  t.equal(await d.stop(), 0);
  kes.api.delete(KES_TEST_KEY);
  d = await startDaemon({ tls: true, env, dataDir: d.dataDir });
  s3 = d.s3();
  t.ok((await read('sse-s3')).equals(bodies.sses3), 'the SSE-S3 object');
  t.ok((await read('sse-kms')).equals(bodies.ssekms), 'the SSE-KMS object (its context kept)');
  t.ok((await read('versioned', oldVersion)).equals(bodies.old), 'the noncurrent version');
  const mp = await read('multipart');
  t.equal(md5Hex(mp), md5Hex(Buffer.concat(mpParts)), 'the multipart object');
  t.notOk((await s3Code(read('left-alone'))).startsWith('ok'), 'an object still under the deleted key does not read (the test can tell)');
});

t.test('refused as S3 refuses them, and nothing changes', async (t) => {
  const plainBefore = await head('plain');
  t.equal(await s3Code(update('plain')), 'InvalidRequest/400', 'an unencrypted object');
  t.equal((await head('plain')).ServerSideEncryption, plainBefore.ServerSideEncryption, 'still unencrypted');
  t.equal(await s3Code(update('sse-s3', { KMSKeyArn: 'arn:aws:kms:us-east-1:000000000000:key/no-such-key' })), 'KMS.NotFoundException/400', 'a key KES does not have');
  t.equal((await head('sse-s3')).SSEKMSKeyId, `arn:aws:kms:${NEW_KEY}`, 'the object keeps its key');
  t.equal(await s3Code(update('missing')), 'NoSuchKey/404', 'a key that does not exist');
  for (const body of ['<ObjectEncryption><SSE-S3/></ObjectEncryption>', '<ObjectEncryption><SSE-KMS><BucketKeyEnabled>true</BucketKeyEnabled></SSE-KMS></ObjectEncryption>', `<ObjectEncryption><SSE-KMS><KMSKeyArn>${ARN}</KMSKeyArn><BucketKeyEnabled>maybe</BucketKeyEnabled></SSE-KMS></ObjectEncryption>`]) {
    const code = await s3Code(rawBodyClient(d, body).send(new UpdateObjectEncryptionCommand({ Bucket: B, Key: 'sse-s3', ObjectEncryption: { SSEKMS: { KMSKeyArn: ARN } } })));
    t.equal(code, 'InvalidRequest/400', `refused: ${body}`);
  }
  t.equal((await head('sse-s3')).BucketKeyEnabled, true, 'unchanged by the refused documents');
  // A user allowed s3:UpdateObjectEncryption but not s3:PutObject (S3 asks for both).
  const user = s3Client(d.endpoint, d.caCert, true, { credentials: { accessKeyId: USER.accessKey, secretAccessKey: USER.secretKey }, maxAttempts: 1 });
  t.equal(await s3Code(update('sse-s3', { client: user })), 'AccessDenied/403', 'a user without s3:PutObject');
});

t.test('an SSE-C object and an object under a legal hold are refused', async (t) => {
  const key = Buffer.alloc(32, 9);
  const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: (await import('node:crypto')).createHash('md5').update(key).digest('base64') };
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'ssec', Body: 'customer', ...ssec }));
  t.equal(await s3Code(update('ssec')), 'InvalidRequest/400', 'SSE-C');
  await s3.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
  await s3.send(new PutObjectCommand({ Bucket: LOCKED, Key: 'held', Body: 'held', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: NEW_KEY }));
  await s3.send(new PutObjectLegalHoldCommand({ Bucket: LOCKED, Key: 'held', LegalHold: { Status: 'ON' } }));
  const code = await s3Code(s3.send(new UpdateObjectEncryptionCommand({ Bucket: LOCKED, Key: 'held', ObjectEncryption: { SSEKMS: { KMSKeyArn: ARN } } })));
  t.equal(code, 'AccessDenied/403', 'a legal hold');
});

t.test('the aws CLI: s3api update-object-encryption', { skip: NO_AWS }, async (t) => {
  const ca = join(work, 'ca.crt');
  writeFileSync(ca, d.caCert!);
  const aws = awsCli(d.endpoint, work, { pathStyle: true, global: ['--ca-bundle', ca] });
  const help = await aws.run('s3api', 'update-object-encryption', 'help');
  // An aws CLI older than the call is a skip (counted and named as one), not a pass; a CLI that
  // fails otherwise is a failure.
  if (help.code !== 0) t.match(help.stderr, /Invalid choice/, `the aws CLI only lacks the call (exit ${help.code})`);
  const tooOld = help.code !== 0 ? 'this aws CLI does not know update-object-encryption' : false;
  await t.test('update-object-encryption re-keys an object', { skip: tooOld }, async (t) => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'cli', Body: 'by the CLI', ServerSideEncryption: 'AES256' }));
    await aws.ok('s3api', 'update-object-encryption', '--bucket', B, '--key', 'cli', '--object-encryption', JSON.stringify({ SSEKMS: { KMSKeyArn: ARN } }));
    t.equal((await head('cli')).SSEKMSKeyId, `arn:aws:kms:${NEW_KEY}`, 're-keyed');
  });
});
