// The minio-js Client methods the other suites do not call, against one real daemon: each works,
// or (replication, S3 Select) is a clean 501 NotImplemented that changes nothing.
import t from 'tap';
import { Readable } from 'node:stream';
import { CopyDestinationOptions, CopySourceOptions, type Client as MinioClient } from 'minio';
import { bucketName, startDaemonFor } from '../helpers/daemon.js';
import { minioClient } from '../helpers/minio.js';

const d = await startDaemonFor(t);
const mc: MinioClient = minioClient(d);
const b = bucketName('mjs');
const vb = bucketName('mjsv');
await mc.makeBucket(b);
await mc.makeBucket(vb);
await mc.setBucketVersioning(vb, { Status: 'Enabled' });
await mc.putObject(b, 'a', 'hello a', 7, { 'x-amz-meta-foo': 'bar', 'Content-Type': 'text/plain' });
await mc.putObject(b, 'dir/b', 'hello b');

const collect = <T>(s: NodeJS.ReadableStream): Promise<T[]> =>
  new Promise((resolve, reject) => {
    const out: T[] = [];
    s.on('data', (x: T) => out.push(x));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
// listParts is protected in the typings, public in the class (and documented).
const listParts = (key: string, id: string): Promise<Array<{ part: number; size: number; etag: string }>> =>
  (mc as unknown as { listParts(b: string, k: string, id: string): Promise<Array<{ part: number; size: number; etag: string }>> }).listParts(b, key, id);
const read = async (bucket: string, key: string, opts?: { versionId?: string }): Promise<string> => Buffer.concat(await collect<Buffer>(await mc.getObject(bucket, key, opts))).toString();
// Some of minio-js's typings declare void for calls that return promises.
const codeOf = (p: unknown): Promise<string> => Promise.resolve(p).then(() => 'ok', (e: { code?: string; name?: string }) => e.code ?? e.name ?? 'error');

t.test('listBuckets, listObjectsV2 and its metadata extension, getBucketRegion', async (t) => {
  const names = (await mc.listBuckets()).map((x) => x.name);
  t.ok(names.includes(b) && names.includes(vb), 'listBuckets names both buckets');
  t.same((await collect<{ name: string }>(mc.listObjectsV2(b, '', true))).map((o) => o.name), ['a', 'dir/b'], 'listObjectsV2, recursive');
  t.same((await collect<{ name?: string; prefix?: string }>(mc.listObjectsV2(b, '', false, 'a'))).map((o) => o.prefix), ['dir/'], 'listObjectsV2 after a start key, by delimiter');
  const [first] = await collect<{ name: string; metadata: Record<string, string> }>(mc.extensions.listObjectsV2WithMetadata(b, 'a', true));
  t.match(first, { name: 'a', metadata: { 'content-type': 'text/plain', 'X-Amz-Meta-Foo': 'bar' } }, "listObjectsV2WithMetadata (MinIO's metadata=true) lists the user metadata");
  t.equal(await mc.getBucketRegionAsync(b), 'us-east-1', 'getBucketRegion');
});

t.test('composeObject (UploadPartCopy with ranges and source ETags)', async (t) => {
  const big = Buffer.alloc(5 * 1024 * 1024 + 3, 7);
  big[0] = 1;
  await mc.putObject(b, 's1', big);
  await mc.putObject(b, 's2', 'tail bytes');
  const sources = [new CopySourceOptions({ Bucket: b, Object: 's1' }), new CopySourceOptions({ Bucket: b, Object: 's2', MatchRange: true, Start: 0, End: 3 })];
  const out = await mc.composeObject(new CopyDestinationOptions({ Bucket: b, Object: 'composed', UserMetadata: { x: 'y' } }), sources);
  t.match(out, { etag: /-2$/ }, 'a two-part object');
  const got = Buffer.concat(await collect<Buffer>(await mc.getObject(b, 'composed')));
  t.ok(got.equals(Buffer.concat([big, Buffer.from('tail')])), 'its bytes are the sources, in order');
  t.match((await mc.statObject(b, 'composed')).metaData, { x: 'y' }, 'with the destination metadata');
});

t.test('presignedPutObject and presignedUrl', async (t) => {
  const put = await fetch(await mc.presignedPutObject(b, 'presigned', 60), { method: 'PUT', body: 'presigned body' });
  t.equal(put.status, 200, 'a presigned PUT stores');
  t.equal(await read(b, 'presigned'), 'presigned body', 'the presigned PUT body');
  const get = await fetch(await mc.presignedUrl('GET', b, 'a', 60, { 'response-content-type': 'x/y' }));
  t.same([get.status, get.headers.get('content-type'), await get.text()], [200, 'x/y', 'hello a'], 'a presigned GET with a response override');
  t.equal((await fetch(await mc.presignedUrl('DELETE', b, 'presigned', 60), { method: 'DELETE' })).status, 204, 'a presigned DELETE');
  t.equal(await codeOf(mc.statObject(b, 'presigned')), 'NotFound', 'deleted');
});

t.test('the multipart calls one by one, removeIncompleteUpload, abortMultipartUpload', async (t) => {
  const id = await mc.initiateNewMultipartUpload(b, 'mp', {});
  const part = await mc.uploadPart({ bucketName: b, objectName: 'mp', uploadID: id, partNumber: 1, headers: {} }, Buffer.from('part one'));
  t.match(await listParts('mp', id), [{ part: 1, size: 8, etag: part.etag }], 'listParts');
  await mc.completeMultipartUpload(b, 'mp', id, [{ part: 1, etag: part.etag }]);
  t.equal(await read(b, 'mp'), 'part one', 'completed');
  await mc.initiateNewMultipartUpload(b, 'inc', {});
  t.equal((await collect(mc.listIncompleteUploads(b, 'inc', true))).length, 1, 'an open upload');
  await mc.removeIncompleteUpload(b, 'inc');
  t.equal((await collect(mc.listIncompleteUploads(b, 'inc', true))).length, 0, 'removeIncompleteUpload aborted it');
  const other = await mc.initiateNewMultipartUpload(b, 'ab', {});
  await mc.abortMultipartUpload(b, 'ab', other);
  t.equal(await codeOf(listParts('ab', other)), 'NoSuchUpload', 'abortMultipartUpload');
  const big = Buffer.alloc(6 * 1024 * 1024, 1);
  await mc.putObject(b, 'streamed', Readable.from([big, Buffer.from('end')]));
  t.equal((await mc.statObject(b, 'streamed')).size, big.length + 3, 'a stream of unknown length, uploaded in parts');
});

t.test('versions: statObject, getObject, listObjects and removeObject with a versionId', async (t) => {
  const v1 = (await mc.putObject(vb, 'k', 'one')).versionId!;
  await mc.putObject(vb, 'k', 'two');
  t.equal((await mc.statObject(vb, 'k', { versionId: v1 })).size, 3, 'statObject of the first version');
  t.equal(await read(vb, 'k', { versionId: v1 }), 'one', 'getObject of the first version');
  const listed = await collect<{ versionId: string; isLatest: boolean }>(mc.listObjects(vb, 'k', true, { IncludeVersion: true }));
  t.same(listed.map((v) => v.isLatest), [true, false], 'both versions listed');
  await mc.removeObject(vb, 'k', { versionId: v1 });
  t.equal(await codeOf(mc.getObject(vb, 'k', { versionId: v1 })), 'NoSuchVersion', 'that version is gone');
  t.equal(await read(vb, 'k'), 'two', 'the other reads on');
});

t.test('replication and S3 Select: 501, nothing changed', async (t) => {
  const replication = { role: 'arn:aws:iam::1:role/r', rules: [{ ID: 'r', Status: 'Enabled', Priority: 1, DeleteMarkerReplication: { Status: 'Disabled' }, Destination: { Bucket: 'arn:aws:s3:::dest' } }] };
  t.equal(await codeOf(mc.setBucketReplication(b, replication as never)), 'NotImplemented', 'setBucketReplication');
  t.equal(await codeOf(mc.getBucketReplication(b)), 'ReplicationConfigurationNotFoundError', 'no replication configuration was kept');
  t.equal(await codeOf(mc.removeBucketReplication(b)), 'ok', 'removeBucketReplication (there is none)');
  const select = { expression: 'select * from s3object', expressionType: 'SQL', inputSerialization: { CSV: {} }, outputSerialization: { CSV: {} } };
  t.equal(await codeOf(mc.selectObjectContent(b, 'a', select)), 'NotImplemented', 'selectObjectContent');
  t.equal(await read(b, 'a'), 'hello a', 'the object is untouched');
});

t.test('makeBucket with object locking, removeBucket', async (t) => {
  const locked = bucketName('mjsl');
  await mc.makeBucket(locked, 'us-east-1', { ObjectLocking: true });
  t.same(await mc.getObjectLockConfig(locked), { objectLockEnabled: 'Enabled' }, 'a lock-enabled bucket');
  t.equal(await codeOf(mc.removeBucket(b)), 'BucketNotEmpty', 'removeBucket of a bucket with objects');
  await mc.removeBucket(locked);
  t.equal(await mc.bucketExists(locked), false, 'removeBucket of an empty one');
});
