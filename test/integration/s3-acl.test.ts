// ACL headers and sub-resources against the real daemon, beyond api-buckets.test.ts's round trip:
// an x-amz-acl that names no canned ACL is S3's InvalidArgument on every request that takes one,
// a bucket asked with ACLs enabled (ObjectWriter) is a bucket s3d cannot make, and an object ACL
// of a key whose latest version is a delete marker is answered as S3 answers it, and the object ACL
// calls name the version they addressed (x-amz-version-id).
import t from 'tap';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectAclCommand,
  HeadBucketCommand,
  PutBucketVersioningCommand,
  PutBucketAclCommand,
  PutObjectAclCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, bucketName, startDaemonFor } from '../helpers/daemon.js';
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

t.test('an ACL document that is not XML, or not an AccessControlPolicy S3 could read, is MalformedACLError', async (t) => {
  // S3's answer (and moto's, versitygw's, Swift's s3api): neither MalformedXML nor
  // AccessControlListNotSupported, which refuses a grant a document that cannot be read never made.
  const grant = (grantee: string, permission: string): string => `<AccessControlList><Grant>${grantee}<Permission>${permission}</Permission></Grant></AccessControlList>`;
  const owner = `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${ACCESS_KEY}</ID></Grantee>`;
  const bodies: Array<[string, string]> = [
    ['not XML', 'not xml at all'],
    ['an unclosed element', '<AccessControlPolicy><AccessControlList>'],
    ['another root element', `<Tagging>${grant(owner, 'FULL_CONTROL')}</Tagging>`],
    ['a Grant without a Grantee', '<AccessControlPolicy><AccessControlList><Grant><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>'],
    ['a permission S3 does not have', `<AccessControlPolicy>${grant(owner, 'EVERYTHING')}</AccessControlPolicy>`],
    ['text for the AccessControlList', '<AccessControlPolicy><AccessControlList>FULL_CONTROL</AccessControlList></AccessControlPolicy>'],
  ];
  for (const [why, body] of bodies) {
    for (const path of [`/${bucket}`, `/${bucket}/src`]) {
      const res = await raw(d.port, { method: 'PUT', path, query: 'acl', body, headers: { 'content-type': 'application/xml' } });
      assertXmlError(t, res, 400, 'MalformedACLError', `PUT ${path}?acl with ${why}`);
    }
  }
  // A document S3 reads that grants someone else is still the grant refused.
  const other = `<AccessControlPolicy>${grant('<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>someone-else</ID></Grantee>', 'READ')}</AccessControlPolicy>`;
  assertXmlError(t, await raw(d.port, { method: 'PUT', path: `/${bucket}`, query: 'acl', body: other }), 400, 'AccessControlListNotSupported', 'a grant to someone else');
  const mine = `<AccessControlPolicy>${grant(owner, 'FULL_CONTROL')}</AccessControlPolicy>`;
  t.equal((await raw(d.port, { method: 'PUT', path: `/${bucket}/src`, query: 'acl', body: mine })).status, 200, 'the owner\'s FULL_CONTROL alone is accepted');
});

t.test('the ACL of a key whose latest version is a delete marker: PUT is 405 MethodNotAllowed, GET 404 NoSuchKey', async (t) => {
  // As S3 answers them (CloudServer's versioning/objectACL tests, run against AWS): PutObjectAcl
  // without a version id on a deleted key is 405, as the tagging calls are; GetObjectAcl is 404,
  // as GET is; naming the marker is 405 for both. The PUT was 404 NoSuchKey.
  const vb = await createBucket(s3, 'acl-marker');
  await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: 'v1' }));
  const marker = (await s3.send(new DeleteObjectCommand({ Bucket: vb, Key: 'k' }))).VersionId!;
  await expectS3Error(t, s3.send(new PutObjectAclCommand({ Bucket: vb, Key: 'k', ACL: 'private' })), 'MethodNotAllowed', 405, 'PutObjectAcl, latest a delete marker');
  await expectS3Error(t, s3.send(new GetObjectAclCommand({ Bucket: vb, Key: 'k' })), 'NoSuchKey', 404, 'GetObjectAcl, latest a delete marker');
  await expectS3Error(t, s3.send(new PutObjectAclCommand({ Bucket: vb, Key: 'k', VersionId: marker, ACL: 'private' })), 'MethodNotAllowed', 405, 'PutObjectAcl naming the marker');
  await expectS3Error(t, s3.send(new GetObjectAclCommand({ Bucket: vb, Key: 'k', VersionId: marker })), 'MethodNotAllowed', 405, 'GetObjectAcl naming the marker');
  // The 405 carries the marker's headers, as the tagging calls' does.
  const res = await raw(d.port, { method: 'PUT', path: `/${vb}/k`, query: 'acl', headers: { 'x-amz-acl': 'private' } });
  assertXmlError(t, res, 405, 'MethodNotAllowed', 'PUT ?acl of the deleted key');
  t.same([res.headers['x-amz-delete-marker'], res.headers['x-amz-version-id'], res.headers.allow], ['true', marker, 'DELETE'], 'x-amz-delete-marker, the marker\'s id, Allow');
  // A key that never existed is still NoSuchKey.
  await expectS3Error(t, s3.send(new PutObjectAclCommand({ Bucket: vb, Key: 'never', ACL: 'private' })), 'NoSuchKey', 404, 'PutObjectAcl of a key never written');
});

t.test('GetObjectAcl and PutObjectAcl name the version they addressed in x-amz-version-id, as S3 does', async (t) => {
  // S3's REST reference and CloudServer's versioning/objectACL tests (run against AWS): the
  // version's id, `null` for the null version, once the bucket has (or had) versioning; none in a
  // bucket that never had it, with versionId=null too. Neither call sent it.
  const version = async (b: string, method: 'GET' | 'PUT', versionId?: string): Promise<string | undefined> => {
    const query = `acl${versionId === undefined ? '' : `&versionId=${versionId}`}`;
    const res = await raw(d.port, { method, path: `/${b}/k`, query, ...(method === 'PUT' ? { headers: { 'x-amz-acl': 'private' } } : {}) });
    t.equal(res.status, 200, `${method} ?${query}`);
    const v = res.headers['x-amz-version-id'];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const both = async (b: string, versionId?: string): Promise<Array<string | undefined>> => [await version(b, 'GET', versionId), await version(b, 'PUT', versionId)];

  const plain = await createBucket(s3, 'acl-unversioned');
  await s3.send(new PutObjectCommand({ Bucket: plain, Key: 'k', Body: 'x' }));
  t.same(await both(plain), [undefined, undefined], 'a bucket that never had versioning: none');
  t.same(await both(plain, 'null'), [undefined, undefined], 'none either for versionId=null');

  const vb = await createBucket(s3, 'acl-versioned');
  await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: 'before' }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: 'Enabled' } }));
  t.same(await both(vb), ['null', 'null'], 'the current null version, written before versioning');
  const v1 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: 'v1' }))).VersionId!;
  const v2 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: 'v2' }))).VersionId!;
  t.same(await both(vb), [v2, v2], 'without a version id: the current version');
  t.same(await both(vb, v1), [v1, v1], 'the version named');
  t.same(await both(vb, 'null'), ['null', 'null'], 'the null version named');
  await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: 'Suspended' } }));
  t.same(await both(vb), [v2, v2], 'suspended: the current version is still v2');
  await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: 'suspended' }));
  t.same(await both(vb), ['null', 'null'], 'suspended: a new null version is current');
});
