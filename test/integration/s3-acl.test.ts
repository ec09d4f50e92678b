// ACL headers and sub-resources against the real daemon, beyond api-buckets.test.ts's round trip:
// an x-amz-acl that names no canned ACL is S3's InvalidArgument on every request that takes one,
// and a bucket asked with ACLs enabled (ObjectWriter) is a bucket s3d cannot make.
import t from 'tap';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadBucketCommand,
  PutBucketAclCommand,
  PutObjectAclCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { bucketName, startDaemonFor } from '../helpers/daemon.js';
import { createBucket, expectS3Error, listKeys, s3Code } from '../helpers/s3.js';
import { assertXmlError, raw, xmlField } from '../helpers/http.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const bucket = await createBucket(s3);
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: 'source' }));

t.test('an x-amz-acl that is no canned ACL is InvalidArgument, as on S3 (a typo, not a grant refused)', async (t) => {
  const ACL = 'privat' as never;
  await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'typo', Body: 'x', ACL })), 'InvalidArgument', 400, 'PutObject');
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'typo', CopySource: `${bucket}/src`, ACL })), 'InvalidArgument', 400, 'CopyObject');
  await expectS3Error(t, s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'typo', ACL })), 'InvalidArgument', 400, 'CreateMultipartUpload');
  await expectS3Error(t, s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: 'src', ACL })), 'InvalidArgument', 400, 'PutObjectAcl');
  await expectS3Error(t, s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL })), 'InvalidArgument', 400, 'PutBucketAcl');
  // S3 names the header and the value it refused.
  const res = await raw(d.port, { method: 'PUT', path: `/${bucket}/typo`, body: 'x', headers: { 'x-amz-acl': 'public' } });
  assertXmlError(t, res, 400, 'InvalidArgument', 'PutObject x-amz-acl: public');
  t.same([xmlField(res.body, 'ArgumentName'), xmlField(res.body, 'ArgumentValue')], ['x-amz-acl', 'public'], 'ArgumentName and ArgumentValue');
  // A canned ACL that grants others is still refused as S3 refuses it with ACLs disabled.
  await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'typo', Body: 'x', ACL: 'bucket-owner-read' })), 'AccessControlListNotSupported', 400, 'PutObject bucket-owner-read');
  t.same(await listKeys(s3, bucket), ['src'], 'nothing was stored');
});

t.test('CreateBucket of an ObjectWriter bucket with a public ACL is NotImplemented, not a clash with BucketOwnerEnforced', async (t) => {
  // S3 makes this bucket (ACLs enabled by the request's own ownership); s3d cannot. Its
  // InvalidBucketAclWithObjectOwnership named a BucketOwnerEnforced setting the request did not ask for.
  const name = bucketName('acl-writer');
  await expectS3Error(t, s3.send(new CreateBucketCommand({ Bucket: name, ObjectOwnership: 'ObjectWriter', ACL: 'public-read' })), 'NotImplemented', 501, 'ObjectWriter + public-read');
  await expectS3Error(t, s3.send(new CreateBucketCommand({ Bucket: name, ObjectOwnership: 'BucketOwnerPreferred', GrantRead: 'uri=http://acs.amazonaws.com/groups/global/AllUsers' })), 'NotImplemented', 501, 'BucketOwnerPreferred + a grant');
  // Without an ownership, or with BucketOwnerEnforced, the ACL is the clash S3 names.
  await expectS3Error(t, s3.send(new CreateBucketCommand({ Bucket: name, ObjectOwnership: 'BucketOwnerEnforced', ACL: 'public-read' })), 'InvalidBucketAclWithObjectOwnership', 400, 'BucketOwnerEnforced + public-read');
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: name }))), 'NotFound/404', 'no bucket was created');
});
