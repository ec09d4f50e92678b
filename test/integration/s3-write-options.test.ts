// Write options s3d would not honour are refused before anything is stored, never accepted and
// ignored: storage classes other than STANDARD, Object Lock retention and legal holds on a bucket
// without Object Lock, ACLs that grant access to others (s3d has ACLs disabled, like S3's default
// BucketOwnerEnforced buckets), buckets with ACLs; and the website redirect location is kept and
// returned. (Buckets with Object Lock: s3-object-lock-settings.test.ts and -protection.test.ts.)
// Through the AWS SDK, minio-js and the aws CLI against the real daemon.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { NO_AWS, awsCli } from '../helpers/aws-cli.js';
import { REGION, bucketName, startDaemonFor } from '../helpers/daemon.js';
import { minioClient } from '../helpers/minio.js';
import { createBucket, expectS3Error, s3Code, sdkFailure } from '../helpers/s3.js';
import { raw } from '../helpers/http.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const bucket = await createBucket(s3);
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: 'source' }));

async function keys(): Promise<string[]> {
  return ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((c) => c.Key!).sort();
}

t.test('storage classes other than STANDARD are refused', async (t) => {
  const ok = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'std', Body: 'x', StorageClass: 'STANDARD' }));
  t.ok(ok.ETag, 'STANDARD is accepted');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'std' }))).StorageClass, undefined, 'HEAD reports no class for STANDARD, as S3');
  for (const StorageClass of ['GLACIER', 'STANDARD_IA', 'REDUCED_REDUNDANCY', 'DEEP_ARCHIVE'] as const) {
    await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: `c-${StorageClass}`, Body: 'x', StorageClass })), 'InvalidStorageClass', 400, `PutObject ${StorageClass}`);
  }
  await expectS3Error(t, s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', StorageClass: 'GLACIER' })), 'InvalidStorageClass', 400, 'CreateMultipartUpload GLACIER');
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/src`, StorageClass: 'GLACIER' })), 'InvalidStorageClass', 400, 'CopyObject GLACIER');
  t.same(await keys(), ['src', 'std'], 'nothing was stored');
  t.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads, undefined, 'no upload was started');
});

t.test('Object Lock retention and legal holds are refused on a bucket without Object Lock', async (t) => {
  const until = new Date(Date.now() + 86_400_000);
  await expectS3Error(
    t,
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'locked', Body: 'x', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until })),
    'InvalidRequest',
    400,
    'PutObject with retention',
  );
  await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'held', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })), 'InvalidRequest', 400, 'PutObject with a legal hold');
  await expectS3Error(
    t,
    s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'locked-mp', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until })),
    'InvalidRequest',
    400,
    'CreateMultipartUpload with retention',
  );
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'locked-copy', CopySource: `${bucket}/src`, ObjectLockLegalHoldStatus: 'ON' })), 'InvalidRequest', 400, 'CopyObject with a legal hold');
  // A mode without a date, or a date without a mode, is S3's InvalidArgument naming the pair even
  // here, before the missing Object Lock (versitygw#2028): it was InvalidRequest, the bucket's answer.
  const both = 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.';
  for (const [what, lock] of [['a mode alone', { ObjectLockMode: 'GOVERNANCE' as const }], ['a date alone', { ObjectLockRetainUntilDate: until }]] as const) {
    t.same(await sdkFailure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'locked', Body: 'x', ...lock }))), { name: 'InvalidArgument', status: 400, message: both }, `PutObject with ${what}`);
    t.same(await sdkFailure(s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'locked-mp', ...lock }))), { name: 'InvalidArgument', status: 400, message: both }, `CreateMultipartUpload with ${what}`);
    t.same(await sdkFailure(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'locked-copy', CopySource: `${bucket}/src`, ...lock }))), { name: 'InvalidArgument', status: 400, message: both }, `CopyObject with ${what}`);
  }
  t.same(await keys(), ['src', 'std'], 'nothing was stored');

  // A bucket made with Object Lock takes them (minio-js makeBucket with ObjectLocking, as mc mb --with-lock).
  const name = bucketName('lock');
  const mc = minioClient(d);
  const mcLock = await mc.makeBucket(name, REGION, { ObjectLocking: true }).then(
    () => 'created',
    (err: { code?: string }) => err.code,
  );
  t.equal(mcLock, 'created', 'minio-js makeBucket with ObjectLocking creates a lock-enabled bucket');
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: name }))), 'ok');
  const put = await s3.send(new PutObjectCommand({ Bucket: name, Key: 'held', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }));
  t.ok(put.VersionId, 'the legal hold is accepted there, on a new version');
  await expectS3Error(t, s3.send(new CreateBucketCommand({ Bucket: bucketName('lockbad'), ObjectLockEnabledForBucket: 'maybe' as unknown as boolean })), 'InvalidArgument', 400, 'a lock header that is neither true nor false');
});

t.test('ACLs that grant access to others are refused; owner-only ones are accepted', async (t) => {
  for (const ACL of ['private', 'bucket-owner-full-control'] as const) {
    t.ok((await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `acl-${ACL}`, Body: 'x', ACL }))).ETag, `ACL ${ACL} is accepted`);
  }
  for (const ACL of ['public-read', 'public-read-write', 'authenticated-read'] as const) {
    await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: `acl-${ACL}`, Body: 'x', ACL })), 'AccessControlListNotSupported', 400, `PutObject ACL ${ACL}`);
  }
  await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'grant', Body: 'x', GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' })), 'AccessControlListNotSupported', 400, 'a read grant');
  await expectS3Error(t, s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'grant-mp', ACL: 'public-read' })), 'AccessControlListNotSupported', 400, 'CreateMultipartUpload public-read');
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'grant-copy', CopySource: `${bucket}/src`, ACL: 'public-read' })), 'AccessControlListNotSupported', 400, 'CopyObject public-read');
  // An empty x-amz-acl (`aws s3api put-object --acl ''`) grants nothing: S3 ignores it.
  const emptyAcl = await raw(d.port, { method: 'PUT', path: `/${bucket}/acl-empty`, body: 'x', headers: { 'x-amz-acl': '' } });
  t.equal(emptyAcl.status, 200, 'PutObject with an empty x-amz-acl is stored');
  t.same(await keys(), ['acl-bucket-owner-full-control', 'acl-empty', 'acl-private', 'src', 'std'], 'only the owner-only writes stored anything');
  const emptyBucket = bucketName('acl-empty');
  t.equal((await raw(d.port, { method: 'PUT', path: `/${emptyBucket}`, headers: { 'x-amz-acl': '' } })).status, 200, 'CreateBucket with an empty x-amz-acl');

  const name = bucketName('acl');
  await expectS3Error(t, s3.send(new CreateBucketCommand({ Bucket: name, ACL: 'public-read' })), 'InvalidBucketAclWithObjectOwnership', 400, 'a public-read bucket');
  await expectS3Error(t, s3.send(new CreateBucketCommand({ Bucket: name, ObjectOwnership: 'ObjectWriter' })), 'NotImplemented', 501, 'ObjectWriter ownership');
  // Values that are no ACL or ownership at all: S3's InvalidArgument, not "not implemented".
  await expectS3Error(t, s3.send(new CreateBucketCommand({ Bucket: name, ObjectOwnership: 'invalid_ownership' as never })), 'InvalidArgument', 400, 'an unknown ownership');
  await expectS3Error(t, s3.send(new CreateBucketCommand({ Bucket: name, ACL: 'invalid_acl' as never })), 'InvalidArgument', 400, 'an unknown canned ACL');
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: name }))), 'NotFound/404', 'the bucket was not created');
  await s3.send(new CreateBucketCommand({ Bucket: name, ACL: 'private', ObjectOwnership: 'BucketOwnerEnforced' }));
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: name }))), 'ok', 'private with BucketOwnerEnforced creates the bucket');
});

t.test('the website redirect location is kept and returned', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'page', Body: 'x', WebsiteRedirectLocation: '/other/page.html' }));
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'page' }))).WebsiteRedirectLocation, '/other/page.html', 'HEAD returns it');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'page2', Body: 'x', WebsiteRedirectLocation: 'https://example.com/x' }));
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'page2' }))).WebsiteRedirectLocation, 'https://example.com/x', 'an absolute URL');
  await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'page3', Body: 'x', WebsiteRedirectLocation: 'ftp://example.com/x' })), 'InvalidRedirectLocation', 400, 'another scheme');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'page3' }))), 'NotFound/404', 'not stored');

  // As on S3, a copy never takes the source's redirect; it gets the one the request gives.
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'page-copy', CopySource: `${bucket}/page` }));
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'page-copy' }))).WebsiteRedirectLocation, undefined, 'a copy does not take the source\'s redirect');
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'page-copy2', CopySource: `${bucket}/page`, WebsiteRedirectLocation: '/new.html' }));
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'page-copy2' }))).WebsiteRedirectLocation, '/new.html', 'the request\'s redirect, under the COPY directive too');
  // A copy onto itself that changes only the redirect or names the storage class is allowed.
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'page', CopySource: `${bucket}/page`, WebsiteRedirectLocation: '/moved.html' }));
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'page' }))).WebsiteRedirectLocation, '/moved.html', 'in place: a new redirect');
  const before = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'page2' }))).LastModified!;
  await new Promise((r) => setTimeout(r, 1100));
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'page2', CopySource: `${bucket}/page2`, StorageClass: 'STANDARD' }));
  t.ok((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'page2' }))).LastModified! > before, 'in place with StorageClass STANDARD: "touched"');
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'page2', CopySource: `${bucket}/page2` })), 'InvalidRequest', 400, 'in place changing nothing is still refused');
});

t.test('the aws CLI: cp --storage-class GLACIER and --acl public-read fail, STANDARD works', { skip: NO_AWS }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 's3d-wopts-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const file = join(work, 'f.txt');
  writeFileSync(file, 'hello');
  const { run } = awsCli(d.endpoint, work, { pathStyle: true });
  const glacier = await run('s3', 'cp', file, `s3://${bucket}/cli-glacier`, '--storage-class', 'GLACIER');
  t.not(glacier.code, 0, 'cp --storage-class GLACIER fails');
  t.match(glacier.stderr, /InvalidStorageClass/, 'with InvalidStorageClass');
  const pub = await run('s3', 'cp', file, `s3://${bucket}/cli-public`, '--acl', 'public-read');
  t.not(pub.code, 0, 'cp --acl public-read fails');
  t.match(pub.stderr, /AccessControlListNotSupported/, 'with AccessControlListNotSupported');
  const std = await run('s3', 'cp', file, `s3://${bucket}/cli-std`, '--storage-class', 'STANDARD');
  t.equal(std.code, 0, 'cp --storage-class STANDARD works');
  t.ok((await keys()).includes('cli-std') && !(await keys()).includes('cli-glacier'), 'only the STANDARD copy is stored');
});
