// ACL headers and sub-resources against the real daemon, beyond api-buckets.test.ts's round trip:
// an x-amz-acl that names no canned ACL is S3's InvalidArgument on every request that takes one.
import t from 'tap';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  PutBucketAclCommand,
  PutObjectAclCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { createBucket, expectS3Error, listKeys } from '../helpers/s3.js';
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
