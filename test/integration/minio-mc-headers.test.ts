// MinIO's own request headers that mc sends, replayed by hand as mc (minio-go) sends them.
// `mc rb --force` deletes every version and delete marker itself (ListObjectVersions, then
// DeleteObjects with version ids), then DeleteBucket; only when that is BucketNotEmpty does it
// send DeleteBucket again with x-minio-force-delete: true, which s3d does not honour and now
// refuses by name (it was a second BucketNotEmpty). mc's `--zip` (x-minio-extract: true) reads
// inside zip objects, which s3d does not: it was an empty listing and NoSuchKey, now 501.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { CreateMultipartUploadCommand, PutBucketVersioningCommand, PutObjectCommand, DeleteObjectCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { clientFor, createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { assertXmlError, raw, type RawResponse } from '../helpers/http.js';

const d = await startDaemonFor(t);
const s3: S3Client = clientFor(d, { maxAttempts: 1 });

/** A bucket as `mc rb --force` meets it: versions, delete markers, an upload in progress. */
async function busyBucket(prefix: string): Promise<string> {
  const b = await createBucket(s3, prefix);
  await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
  for (const k of ['a', 'a', 'dir/b', 'dir/c']) await s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: k }));
  await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'dir/c' }));
  await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'big' }));
  return b;
}

/** Every (key, version id) of a ListObjectVersions answer: versions and delete markers. */
function listedVersions(res: RawResponse): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const m of res.body.toString().matchAll(/<(?:Version|DeleteMarker)>(.*?)<\/(?:Version|DeleteMarker)>/gs)) {
    out.push([/<Key>(.*?)<\/Key>/s.exec(m[1]!)![1]!, /<VersionId>(.*?)<\/VersionId>/s.exec(m[1]!)![1]!]);
  }
  return out;
}

/** mc's deletion pass: list all versions, delete them with one DeleteObjects (minio-go: Quiet, Content-MD5). */
async function mcDeleteAllVersions(t: Test, b: string): Promise<void> {
  const listed = await raw(d.port, { method: 'GET', path: `/${b}`, query: 'versions=' });
  t.equal(listed.status, 200, 'ListObjectVersions');
  const versions = listedVersions(listed);
  t.equal(versions.length, 5, 'four versions and a delete marker listed');
  const body = `<Delete><Quiet>true</Quiet>${versions.map(([k, v]) => `<Object><Key>${k}</Key><VersionId>${v}</VersionId></Object>`).join('')}</Delete>`;
  const md5 = createHash('md5').update(body).digest('base64');
  const del = await raw(d.port, { method: 'POST', path: `/${b}`, query: 'delete=', headers: { 'content-md5': md5, 'content-type': 'application/xml' }, body });
  t.equal(del.status, 200, 'DeleteObjects');
  t.notMatch(del.body.toString(), /<Error>/, 'no key failed');
}

t.test('mc rb --force: its own deletion pass then a plain DeleteBucket removes a bucket with versions, markers and an upload (no force header needed)', async (t) => {
  const b = await busyBucket('mcrb');
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${b}` })).status, 200, 'Stat: HeadBucket');
  await mcDeleteAllVersions(t, b);
  const gone = await raw(d.port, { method: 'DELETE', path: `/${b}` });
  t.equal(gone.status, 204, 'DeleteBucket without the header: the upload in progress goes with the bucket');
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: b }))), 'NotFound/404', 'the bucket is gone');
});

t.test('mc rb --force when a write lands after its deletion pass: the force retry is 501 naming the header, nothing deleted', async (t) => {
  const b = await busyBucket('mcrbw');
  await mcDeleteAllVersions(t, b);
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'late', Body: 'late' }));
  assertXmlError(t, await raw(d.port, { method: 'DELETE', path: `/${b}` }), 409, 'BucketNotEmpty', 'the plain DeleteBucket');
  const forced = await raw(d.port, { method: 'DELETE', path: `/${b}`, headers: { 'x-minio-force-delete': 'true' } });
  assertXmlError(t, forced, 501, 'NotImplemented', 'DeleteBucket with x-minio-force-delete: true on a bucket that is not empty');
  t.match(forced.body.toString(), /x-minio-force-delete/, 'the message names the header');
  t.equal((await getBytes(s3, { Bucket: b, Key: 'late' })).toString(), 'late', 'the object is still there');
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: b }))), 'ok', 'and so is the bucket');
});

t.test('DeleteBucket with x-minio-force-delete: true on an empty bucket deletes it, as MinIO does (minio-go RemoveBucketWithOptions ForceDelete)', async (t) => {
  const b = await createBucket(s3, 'mcrbe');
  await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'pending' }));
  t.equal((await raw(d.port, { method: 'DELETE', path: `/${b}`, headers: { 'x-minio-force-delete': 'true' } })).status, 204, 'deleted');
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: b }))), 'NotFound/404', 'the bucket is gone');
});

t.test("mc's --zip (x-minio-extract: true) inside a zip object is 501, not an empty listing or NoSuchKey; elsewhere the header changes nothing, as on MinIO", async (t) => {
  const b = await createBucket(s3, 'mczip');
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'docs/a.zip', Body: 'PK not really a zip' }));
  const extract = { 'x-minio-extract': 'true' };
  for (const query of ['list-type=2&prefix=docs%2Fa.zip%2F', 'prefix=docs%2Fa.zip%2F&delimiter=%2F']) {
    assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${b}`, query, headers: extract }), 501, 'NotImplemented', `listing ?${query}`);
  }
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${b}/docs/a.zip/inner.txt`, headers: extract }), 501, 'NotImplemented', 'GET of a file inside the zip');
  const head = await raw(d.port, { method: 'HEAD', path: `/${b}/docs/a.zip/inner.txt`, headers: extract });
  t.same([head.status, head.headers['x-minio-error-code']], [501, 'NotImplemented'], 'HEAD of a file inside the zip');
  // mc stat --zip first HEADs the zip itself; a listing or GET outside a zip is a plain one.
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${b}/docs/a.zip`, headers: extract })).status, 200, 'HEAD of the zip object');
  const plain = await raw(d.port, { method: 'GET', path: `/${b}`, query: 'list-type=2&prefix=docs%2F', headers: extract });
  t.equal(plain.status, 200, 'a listing outside a zip');
  t.match(plain.body.toString(), /<Key>docs\/a.zip<\/Key>/, 'lists the zip object');
  t.equal((await raw(d.port, { method: 'GET', path: `/${b}/docs/a.zip`, headers: extract })).body.toString(), 'PK not really a zip', 'GET of the zip object');
  t.equal((await raw(d.port, { method: 'GET', path: `/${b}`, query: 'list-type=2&prefix=docs%2Fa.zip%2F' })).status, 200, 'without the header the prefix is a plain one');
});
