// S3 APIs s3d does not implement, sent by the JavaScript SDK as real clients send them, are
// answered 501 NotImplemented and change nothing. Their sub-resources used to fall through to the
// plain object or bucket operation: PutObjectAnnotation overwrote the object with the annotation,
// DeleteObjectAnnotation deleted it (with a version id, that version for good),
// UpdateObjectEncryption replaced its data with the request's XML, DeleteBucketMetadataConfiguration
// deleted an empty bucket, PutBucketAbac created one, and the reads answered the object's bytes or
// a listing that the SDK parsed as an empty success.
import t from 'tap';
import {
  CreateBucketMetadataConfigurationCommand,
  CreateMultipartUploadCommand,
  DeleteBucketMetadataConfigurationCommand,
  DeleteObjectAnnotationCommand,
  GetBucketAbacCommand,
  GetBucketMetadataConfigurationCommand,
  GetObjectAnnotationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectAnnotationsCommand,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutBucketAbacCommand,
  PutBucketVersioningCommand,
  PutObjectAnnotationCommand,
  PutObjectCommand,
  S3Client,
  UpdateBucketMetadataJournalTableConfigurationCommand,
  UpdateObjectEncryptionCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { bucketName, startDaemonFor } from '../helpers/daemon.js';
import { clientFor, createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { assertXmlError, raw } from '../helpers/http.js';

const d = await startDaemonFor(t);
const s3: S3Client = clientFor(d, { maxAttempts: 1 });
const bucket = await createBucket(s3, 'unsup');
const versioned = await createBucket(s3, 'unsupv');
await s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: 'original' }));
const v1 = (await s3.send(new PutObjectCommand({ Bucket: versioned, Key: 'obj', Body: 'one' }))).VersionId!;
await s3.send(new PutObjectCommand({ Bucket: versioned, Key: 'obj', Body: 'two' }));

async function versionsOf(key: string): Promise<string[]> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: versioned, Prefix: key }));
  return [...(out.Versions ?? []).map((v) => `v:${v.VersionId}`), ...(out.DeleteMarkers ?? []).map((m) => `m:${m.VersionId}`)].sort();
}

t.test('object annotations: 501 (UpdateObjectEncryption: S3\u2019s errors), the object untouched', async (t) => {
  const before = await versionsOf('obj');
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['PutObjectAnnotation', () => s3.send(new PutObjectAnnotationCommand({ Bucket: bucket, Key: 'obj', AnnotationName: 'note', AnnotationPayload: 'annotation text' }))],
    ['PutObjectAnnotation (missing key)', () => s3.send(new PutObjectAnnotationCommand({ Bucket: bucket, Key: 'ghost', AnnotationName: 'note', AnnotationPayload: 'x' }))],
    ['DeleteObjectAnnotation', () => s3.send(new DeleteObjectAnnotationCommand({ Bucket: bucket, Key: 'obj', AnnotationName: 'note' }))],
    ['DeleteObjectAnnotation (versioned)', () => s3.send(new DeleteObjectAnnotationCommand({ Bucket: versioned, Key: 'obj', AnnotationName: 'note' }))],
    ['DeleteObjectAnnotation (a version)', () => s3.send(new DeleteObjectAnnotationCommand({ Bucket: versioned, Key: 'obj', AnnotationName: 'note', VersionId: v1 }))],
    ['GetObjectAnnotation', () => s3.send(new GetObjectAnnotationCommand({ Bucket: bucket, Key: 'obj', AnnotationName: 'note' }))],
    ['ListObjectAnnotations', () => s3.send(new ListObjectAnnotationsCommand({ Bucket: bucket, Key: 'obj' }))],
  ];
  for (const [name, send] of cases) t.equal(await s3Code(send()), 'NotImplemented/501', name);
  // UpdateObjectEncryption is implemented (sse-update-encryption.test.ts): an unencrypted object is S3's InvalidRequest.
  const encrypt = (Key: string): Promise<unknown> => s3.send(new UpdateObjectEncryptionCommand({ Bucket: bucket, Key, ObjectEncryption: { SSEKMS: { KMSKeyArn: 'arn:aws:kms:us-east-1:1:key/k' } } }));
  t.equal(await s3Code(encrypt('obj')), 'InvalidRequest/400', 'UpdateObjectEncryption of an unencrypted object');
  t.equal(await s3Code(encrypt('ghost2')), 'NoSuchKey/404', 'UpdateObjectEncryption of a missing key');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'obj' })).toString(), 'original', 'the object still holds its data');
  t.equal(await s3Code(getBytes(s3, { Bucket: bucket, Key: 'ghost' })), 'NoSuchKey/404', 'nothing was created under a missing key');
  t.equal(await s3Code(getBytes(s3, { Bucket: bucket, Key: 'ghost2' })), 'NoSuchKey/404', 'nor by UpdateObjectEncryption');
  t.same(await versionsOf('obj'), before, 'no version removed, no delete marker added');
  t.equal((await getBytes(s3, { Bucket: versioned, Key: 'obj', VersionId: v1 })).toString(), 'one', 'the first version reads as before');
});

t.test('bucket ABAC and metadata configurations: 501, no bucket deleted or created', async (t) => {
  const empty = await createBucket(s3, 'unsupe');
  const fresh = bucketName('unsupn');
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['DeleteBucketMetadataConfiguration', () => s3.send(new DeleteBucketMetadataConfigurationCommand({ Bucket: empty }))],
    ['GetBucketMetadataConfiguration', () => s3.send(new GetBucketMetadataConfigurationCommand({ Bucket: bucket }))],
    ['CreateBucketMetadataConfiguration', () => s3.send(new CreateBucketMetadataConfigurationCommand({ Bucket: bucket, MetadataConfiguration: { JournalTableConfiguration: { RecordExpiration: { Expiration: 'DISABLED' } } } }))],
    ['GetBucketAbac', () => s3.send(new GetBucketAbacCommand({ Bucket: bucket }))],
    ['PutBucketAbac', () => s3.send(new PutBucketAbacCommand({ Bucket: bucket, AbacStatus: { Status: 'Enabled' } }))],
    // The SDK sends no body when AbacStatus is left out: that created the bucket.
    ['PutBucketAbac (no body, new name)', () => s3.send(new PutBucketAbacCommand({ Bucket: fresh } as never))],
    ['UpdateBucketMetadataJournalTableConfiguration', () => s3.send(new UpdateBucketMetadataJournalTableConfigurationCommand({ Bucket: fresh } as never))],
  ];
  for (const [name, send] of cases) t.equal(await s3Code(send()), 'NotImplemented/501', name);
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: empty }))), 'ok', 'the empty bucket still exists');
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: fresh }))), 'NotFound/404', 'no bucket was created');
});

t.test("MinIO's x-minio-force-delete: 501 on DeleteObject (it would delete a prefix), nothing deleted", async (t) => {
  const b = await createBucket(s3, 'unsupf');
  for (const k of ['dir', 'dir/a', 'dir/b']) await s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: k }));
  const res = await raw(d.port, { method: 'DELETE', path: `/${b}/dir`, headers: { 'x-minio-force-delete': 'true' } });
  assertXmlError(t, res, 501, 'NotImplemented', 'DeleteObject with x-minio-force-delete: true');
  for (const k of ['dir', 'dir/a', 'dir/b']) t.equal((await getBytes(s3, { Bucket: b, Key: k })).toString(), k, `${k} is still there`);
  const bucketDelete = await raw(d.port, { method: 'DELETE', path: `/${b}`, headers: { 'x-minio-force-delete': 'true' } });
  assertXmlError(t, bucketDelete, 501, 'NotImplemented', 'DeleteBucket with the header: MinIO would delete the objects too (minio-mc-headers.test.ts)');
});

t.test('a query parameter with an empty name (`?=`, the AWS SDK for Java can send it) is ignored, as S3 ignores it', async (t) => {
  for (const path of ['/', `/${bucket}`, `/${bucket}/obj`]) {
    const r = await raw(d.port, { method: 'GET', path, query: '=' });
    t.equal(r.status, 200, `GET ${path}?=: 200`);
  }
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}/obj`, query: '=' })).body.toString(), 'original', 'GetObject answers the object');
  // A named parameter without a value is still a sub-resource s3d does not know.
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${bucket}/obj`, query: 'nosuch' }), 501, 'NotImplemented', 'an unknown sub-resource');
});

t.test('GetPart (GET with uploadId and partNumber) is 501: it was answered as ListParts, the part listing\'s XML as the part\'s bytes', async (t) => {
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu' }));
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu', UploadId: up.UploadId, PartNumber: 1, Body: 'part one' }));
  const query = `partNumber=1&uploadId=${encodeURIComponent(up.UploadId!)}`;
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${bucket}/mpu`, query }), 501, 'NotImplemented', 'GetPart');
  const ranged = await raw(d.port, { method: 'GET', path: `/${bucket}/mpu`, query, headers: { range: 'bytes=0-3' } });
  assertXmlError(t, ranged, 501, 'NotImplemented', 'GetPart with a Range');
  const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'mpu', UploadId: up.UploadId }));
  t.same(listed.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, 8]], 'ListParts (uploadId alone) still lists the part');
});

t.test('PUT with an uploadId and no partNumber is S3\'s 405 for the upload (it was 400 InvalidArgument on the part number), and changes nothing', async (t) => {
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu-put' }));
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu-put', UploadId: up.UploadId, PartNumber: 1, Body: 'part one' }));
  const query = `uploadId=${encodeURIComponent(up.UploadId!)}`;
  for (const [what, headers] of [['a body', {}], ['a copy source', { 'x-amz-copy-source': `/${bucket}/obj` }]] as const) {
    const res = await raw(d.port, { method: 'PUT', path: `/${bucket}/mpu-put`, query, headers, body: 'not a part' });
    assertXmlError(t, res, 405, 'MethodNotAllowed', `PUT ?uploadId with ${what}`);
    t.equal(res.headers.allow, 'DELETE, POST, GET', `${what}: Allow names the upload's methods`);
    t.match(res.body.toString(), /<Method>PUT<\/Method><ResourceType>UPLOAD<\/ResourceType>/, `${what}: Method and ResourceType, as S3 writes them`);
  }
  // A HEAD naming the upload is S3's same 405 (it was HeadObject: the object's headers, or a 404,
  // for a request about the upload).
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'mpu-head', Body: 'an object' }));
  for (const key of ['mpu-put', 'mpu-head']) {
    const head = await raw(d.port, { method: 'HEAD', path: `/${bucket}/${key}`, query });
    t.same([head.status, head.headers.allow, head.headers.etag], [405, 'DELETE, POST, GET', undefined], `HEAD /${key}?uploadId: 405 naming the upload's methods, no object headers`);
  }
  t.equal(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mpu-put' })).catch((e: Error) => e.name), 'NotFound', 'no object was stored');
  const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'mpu-put', UploadId: up.UploadId }));
  t.same(listed.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, 8]], 'the upload keeps its one part');
  assertXmlError(t, await raw(d.port, { method: 'POST', path: `/${bucket}/obj` }), 405, 'MethodNotAllowed', 'POST on an object');
  t.match((await raw(d.port, { method: 'POST', path: `/${bucket}/obj` })).body.toString(), /<Method>POST<\/Method><ResourceType>OBJECT<\/ResourceType>/, 'POST on an object: ResourceType OBJECT, as S3 writes it');
  // Every 405 the router gives names the method, as S3 writes it (the server knows it before routing).
  const service = await raw(d.port, { method: 'POST', path: '/' });
  assertXmlError(t, service, 405, 'MethodNotAllowed', 'POST on the service');
  t.match(service.body.toString(), /<Method>POST<\/Method>/, 'POST on the service: Method POST');
  t.match((await raw(d.port, { method: 'DELETE', path: `/${bucket}`, query: 'notification' })).body.toString(), /<Code>MethodNotAllowed<\/Code>.*<Method>DELETE<\/Method>/, 'DELETE ?notification (S3 has no such call): Method DELETE');
});
