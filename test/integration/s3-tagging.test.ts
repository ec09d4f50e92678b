// Object and bucket tagging against the real daemon: PutObjectTagging/GetObjectTagging/
// DeleteObjectTagging (order kept, whole set replaced, ETag/Last-Modified/metadata/data untouched,
// SSE-C objects tagged without their key), x-amz-tagging on PutObject, CreateMultipartUpload and
// CopyObject (x-amz-tagging-directive COPY/REPLACE), x-amz-tagging-count on GET/HEAD, AWS's tag
// limits and character set (InvalidTag, nothing changed), MalformedXML, bucket tagging
// (NoSuchTagSet when there is none), a key deleted while its tagging body arrives (404, or 405
// under a versioned bucket's new delete marker), persistence across a restart, and round trips through
// minio-js and the aws CLI (skipped when `aws` is not on PATH).

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CopyDestinationOptions, CopySourceOptions, type S3Error } from 'minio';
import { REGION, bucketName, startDaemon, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { md5Base64, md5Hex } from '../helpers/hash.js';
import { assertXmlError, encodeKey, openPut, raw, xmlField, type RawResponse } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
import { createBucket, expectSdkError, getBytes, s3Code } from '../helpers/s3.js';
import { KMS_KEY_ID, ssec } from '../helpers/sse.js';
import { sleep } from '../helpers/wait.js';
import { NO_AWS, awsCli } from '../helpers/aws-cli.js';

type Pair = [string, string];


const d = await startDaemon();
const work = mkdtempSync(join(tmpdir(), 's3d-tagging-'));
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await d.stop();
  d.cleanup();
  rmSync(work, { recursive: true, force: true });
});
const s3 = d.s3();

// ---- helpers ---------------------------------------------------------------------------------

const toTagSet = (pairs: Pair[]): Array<{ Key: string; Value: string }> => pairs.map(([Key, Value]) => ({ Key, Value }));
/** The URL-query form of x-amz-tagging. */
const qs = (pairs: Pair[]): string => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
/** n distinct valid tags. */
const many = (n: number, prefix = 'k'): Pair[] => Array.from({ length: n }, (_, i): Pair => [`${prefix}${i}`, `v${i}`]);
const sortPairs = (p: Pair[]): Pair[] => [...p].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

async function tagsOf(Bucket: string, Key: string, client: S3Client = s3): Promise<Pair[]> {
  const out = await client.send(new GetObjectTaggingCommand({ Bucket, Key }));
  return (out.TagSet ?? []).map((x): Pair => [x.Key ?? '<no Key>', x.Value ?? '<no Value>']);
}

function putTags(Bucket: string, Key: string, pairs: Pair[], client: S3Client = s3) {
  return client.send(new PutObjectTaggingCommand({ Bucket, Key, Tagging: { TagSet: toTagSet(pairs) } }));
}

/** Bucket tags, sorted by key (GetBucketTagging promises the set, not an order). */
async function bucketTagsOf(Bucket: string, client: S3Client = s3): Promise<Pair[]> {
  const out = await client.send(new GetBucketTaggingCommand({ Bucket }));
  return sortPairs((out.TagSet ?? []).map((x): Pair => [x.Key ?? '<no Key>', x.Value ?? '<no Value>']));
}

function putBucketTags(Bucket: string, pairs: Pair[], client: S3Client = s3) {
  return client.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: toTagSet(pairs) } }));
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
function taggingXml(pairs: Pair[]): string {
  return `<Tagging><TagSet>${pairs.map(([k, v]) => `<Tag><Key>${xmlEscape(k)}</Key><Value>${xmlEscape(v)}</Value></Tag>`).join('')}</TagSet></Tagging>`;
}

const objectPath = (bucket: string, key: string): string => `/${bucket}/${encodeKey(key)}`;

/** A signed PUT ?tagging with this body verbatim (Content-MD5 and the payload hash are the body's). */
function putTaggingRaw(daemon: TestDaemon, path: string, body: string): Promise<RawResponse> {
  return raw(daemon.port, {
    method: 'PUT',
    path,
    query: 'tagging',
    headers: { 'content-md5': md5Base64(body), 'content-type': 'application/xml' },
    body,
    sign: { payloadHash: 'hash' },
  });
}

/** x-amz-tagging-count of a raw HEAD and a raw GET (undefined when absent). */
async function tagCountHeaders(bucket: string, key: string, headers: Record<string, string> = {}): Promise<{ head: unknown; get: unknown }> {
  const head = await raw(d.port, { method: 'HEAD', path: objectPath(bucket, key), headers });
  const get = await raw(d.port, { method: 'GET', path: objectPath(bucket, key), headers });
  if (head.status !== 200 || get.status !== 200) throw new Error(`HEAD/GET ${bucket}/${key}: ${head.status}/${get.status} ${get.body.toString()}`);
  return { head: head.headers['x-amz-tagging-count'], get: get.headers['x-amz-tagging-count'] };
}

// ---- object tagging --------------------------------------------------------------------------

t.test('PutObjectTagging / GetObjectTagging / DeleteObjectTagging: order, replace, x-amz-tagging-count, object untouched', async (t) => {
  const bucket = await createBucket(s3, 'tag');
  const key = 'dir/obj one.txt';
  const body = 'a tagged body';
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/x-tagged', Metadata: { color: 'blue' } }));

  t.strictSame(await tagsOf(bucket, key), [], 'a new object has an empty TagSet');
  const emptyRaw = await raw(d.port, { method: 'GET', path: objectPath(bucket, key), query: 'tagging' });
  t.equal(emptyRaw.status, 200, 'GetObjectTagging of an untagged object: 200');
  t.match(emptyRaw.body.toString(), /<Tagging[^>]*>\s*<TagSet\s*(\/>|>\s*<\/TagSet>)\s*<\/Tagging>/, 'an empty <TagSet> in <Tagging>');
  t.strictSame(await tagCountHeaders(bucket, key), { head: undefined, get: undefined }, 'no x-amz-tagging-count without tags');

  const before = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  await sleep(1100); // Last-Modified has whole seconds: a rewrite of the record now would show.

  const tags: Pair[] = [
    ['zeta', 'last letter'],
    ['alpha', 'first'],
    ['empty', ''],
  ];
  const r = await putTags(bucket, key, tags);
  t.equal(r.$metadata.httpStatusCode, 200, 'PutObjectTagging: 200');
  t.strictSame(await tagsOf(bucket, key), tags, 'GetObjectTagging returns the tags in the order given, the empty value kept');

  const after = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  t.equal(after.ETag, put.ETag, 'ETag unchanged');
  t.equal(after.LastModified?.getTime(), before.LastModified?.getTime(), 'Last-Modified unchanged');
  t.equal(after.ContentType, 'text/x-tagged', 'Content-Type unchanged');
  t.strictSame(after.Metadata, { color: 'blue' }, 'user metadata unchanged');
  t.equal(after.ContentLength, body.length, 'Content-Length unchanged');
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  t.equal(await got.Body?.transformToString(), body, 'content unchanged');
  t.equal(got.TagCount, 3, 'GetObject TagCount 3');
  t.strictSame(await tagCountHeaders(bucket, key), { head: '3', get: '3' }, 'x-amz-tagging-count: 3 on HEAD and GET');

  await putTags(bucket, key, [['only', 'one']]);
  t.strictSame(await tagsOf(bucket, key), [['only', 'one']], 'a second PutObjectTagging replaces the whole set');
  t.strictSame(await tagCountHeaders(bucket, key), { head: '1', get: '1' }, 'x-amz-tagging-count: 1');

  const del = await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: key }));
  t.equal(del.$metadata.httpStatusCode, 204, 'DeleteObjectTagging: 204');
  t.strictSame(await tagsOf(bucket, key), [], 'no tags after DeleteObjectTagging');
  const untagged = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  t.equal(untagged.TagCount, undefined, 'GetObject has no TagCount');
  await untagged.Body?.transformToString();
  t.strictSame(await tagCountHeaders(bucket, key), { head: undefined, get: undefined }, 'no x-amz-tagging-count after the delete');
  await putTags(bucket, key, [['again', 'x']]);
  const emptySet = await putTags(bucket, key, []);
  t.equal(emptySet.$metadata.httpStatusCode, 200, 'PutObjectTagging with an empty TagSet: 200');
  t.strictSame(await tagsOf(bucket, key), [], 'an empty TagSet replaces the tags with none');
  t.strictSame(await tagCountHeaders(bucket, key), { head: undefined, get: undefined }, 'and no x-amz-tagging-count');
  const last = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  t.same([last.ETag, last.LastModified?.getTime(), last.Metadata], [put.ETag, before.LastModified?.getTime(), { color: 'blue' }], 'ETag, Last-Modified, metadata still unchanged');
});

t.test('object tagging on a missing key or bucket; tags die with their object', async (t) => {
  const bucket = await createBucket(s3, 'tag-missing');
  const nob = bucketName('nob');
  await expectSdkError(t, s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'nope' })), 'NoSuchKey', 404, 'GetObjectTagging of a missing key');
  await expectSdkError(t, putTags(bucket, 'nope', [['a', 'b']]), 'NoSuchKey', 404, 'PutObjectTagging of a missing key');
  await expectSdkError(t, s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'nope' })), 'NoSuchKey', 404, 'DeleteObjectTagging of a missing key');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'nope' }))), 'NotFound/404', 'PutObjectTagging created no object');
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${bucket}/nope`, query: 'tagging' }), 404, 'NoSuchKey', 'raw GET ?tagging of a missing key');

  await expectSdkError(t, s3.send(new GetObjectTaggingCommand({ Bucket: nob, Key: 'k' })), 'NoSuchBucket', 404, 'GetObjectTagging in a missing bucket');
  await expectSdkError(t, putTags(nob, 'k', [['a', 'b']]), 'NoSuchBucket', 404, 'PutObjectTagging in a missing bucket');
  await expectSdkError(t, s3.send(new DeleteObjectTaggingCommand({ Bucket: nob, Key: 'k' })), 'NoSuchBucket', 404, 'DeleteObjectTagging in a missing bucket');

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'gone', Body: 'x', Tagging: 'a=1' }));
  t.strictSame(await tagsOf(bucket, 'gone'), [['a', '1']]);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'gone' }));
  await expectSdkError(t, s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'gone' })), 'NoSuchKey', 404, 'GetObjectTagging after DeleteObject');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'gone', Body: 'y' }));
  t.strictSame(await tagsOf(bucket, 'gone'), [], 'a new object under a deleted key does not inherit its tags');
});

t.test('a key deleted while its PutObjectTagging body arrives: 404 NoSuchKey, or 405 under the delete marker of a versioned bucket', async (t) => {
  for (const versioned of [false, true]) {
    const bucket = await createBucket(s3, versioned ? 'tag-race-v' : 'tag-race');
    if (versioned) await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
    const body = Buffer.from(taggingXml([['a', 'b']]));
    const put = openPut(d.port, objectPath(bucket, 'k'), body.length, { query: 'tagging', headers: { 'content-md5': md5Base64(body) } });
    await put.write(body.subarray(0, 10));
    // The handler has found the object and is reading the body: delete the key.
    await sleep(200);
    const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
    put.end(body.subarray(10));
    const res = await put.response;
    const what = versioned ? 'versioned' : 'unversioned';
    if (!versioned) {
      // The key is simply gone: the answer a PutObjectTagging of a missing key gets.
      assertXmlError(t, res, 404, 'NoSuchKey', `${what}: the tagging of a key deleted meanwhile`);
      t.equal(res.headers['x-amz-delete-marker'], undefined, `${what}: no delete-marker header`);
    } else {
      // A delete marker is current: the answer the tagging calls get on one (it said 404 NoSuchKey).
      assertXmlError(t, res, 405, 'MethodNotAllowed', `${what}: the tagging of a key deleted meanwhile`);
      t.same([res.headers['x-amz-delete-marker'], res.headers['x-amz-version-id']], ['true', del.VersionId], `${what}: the marker's headers`);
    }
    t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))), 'NotFound/404', `${what}: the tagging brought no object back`);
  }
});

t.test('tagging never touches data: SSE-S3, SSE-KMS, SSE-C without its key, multipart (HTTPS)', async (t) => {
  // SSE-C needs TLS: this test has a daemon of its own serving HTTPS.
  const td = await startDaemonFor(t, { tls: true });
  const c = td.s3();
  const bucket = await createBucket(c, 'tag-sse');
  const body = testBytes(200 * 1024, 3); // above the inline threshold: a data file of its own

  for (const [kind, input] of [
    ['SSE-S3', { ServerSideEncryption: 'AES256' }],
    ['SSE-KMS', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ID }],
  ] as const) {
    const key = `${kind}.bin`;
    const put = await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...input }));
    await putTags(bucket, key, [['kind', kind]], c);
    t.strictSame(await tagsOf(bucket, key, c), [['kind', kind]], `${kind}: tags read back`);
    const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    t.same([head.ETag, head.ServerSideEncryption, head.TagCount], [put.ETag, input.ServerSideEncryption, 1], `${kind}: ETag and encryption unchanged, HeadObject TagCount 1`);
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    t.equal(got.TagCount, 1, `${kind}: GetObject TagCount 1`);
    t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), `${kind}: content unchanged`);
  }

  // SSE-C: no tagging request carries the customer key, and the data file is never rewritten.
  const customerKey = randomBytes(32);
  const filesBefore = new Set(dataFilePaths(td.dataDir));
  const put = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'ssec.bin', Body: body, ...ssec(customerKey) }));
  const mine = dataFilePaths(td.dataDir).filter((p) => !filesBefore.has(p)).sort();
  t.ok(mine.length > 0, 'the SSE-C object has a data file');
  const digests = mine.map((p) => md5Hex(readFileSync(p)));

  const r = await putTags(bucket, 'ssec.bin', [['secret', 'no key needed'], ['n', '2']], c);
  t.equal(r.$metadata.httpStatusCode, 200, 'PutObjectTagging on an SSE-C object without the key: 200');
  t.strictSame(await tagsOf(bucket, 'ssec.bin', c), [['secret', 'no key needed'], ['n', '2']], 'GetObjectTagging on an SSE-C object without the key');
  t.strictSame(mine.map((p) => (existsSync(p) ? md5Hex(readFileSync(p)) : 'gone')), digests, 'the data file is byte for byte the same');
  t.strictSame(dataFilePaths(td.dataDir).filter((p) => !filesBefore.has(p)).sort(), mine, 'tagging wrote no data file');

  const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'ssec.bin', ...ssec(customerKey) }));
  t.equal(got.TagCount, 2, 'SSE-C GetObject with the key: TagCount 2');
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), 'the SSE-C object still reads back with its key');
  t.equal(got.ETag, put.ETag, 'SSE-C ETag unchanged');
  const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ssec.bin', ...ssec(customerKey) }));
  t.same([head.ETag, head.TagCount], [put.ETag, 2], 'SSE-C HeadObject with the key: same ETag, TagCount 2');
  const del = await c.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'ssec.bin' }));
  t.equal(del.$metadata.httpStatusCode, 204, 'DeleteObjectTagging on an SSE-C object without the key: 204');
  t.strictSame(await tagsOf(bucket, 'ssec.bin', c), []);
  const afterDel = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'ssec.bin', ...ssec(customerKey) }));
  t.equal(afterDel.TagCount, undefined, 'no TagCount after DeleteObjectTagging');
  t.ok(Buffer.from(await afterDel.Body!.transformToByteArray()).equals(body), 'and it still reads back');

  // A multipart object keeps its -N ETag.
  const up = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp.bin' }));
  const p1 = await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp.bin', UploadId: up.UploadId, PartNumber: 1, Body: body }));
  const done = await c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp.bin', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } }));
  await putTags(bucket, 'mp.bin', [['mp', 'yes']], c);
  const mpHead = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mp.bin' }));
  t.equal(mpHead.ETag, done.ETag, 'multipart ETag unchanged');
  t.ok((await getBytes(c, { Bucket: bucket, Key: 'mp.bin' })).equals(body), 'multipart content unchanged');
  t.strictSame(await tagsOf(bucket, 'mp.bin', c), [['mp', 'yes']]);
});

t.test('x-amz-tagging on PutObject and CreateMultipartUpload; an overwrite without it has no tags', async (t) => {
  const bucket = await createBucket(s3, 'tag-hdr');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'one', Tagging: 'a=1&b=two%20words' }));
  t.strictSame(await tagsOf(bucket, 'k'), [['a', '1'], ['b', 'two words']], 'x-amz-tagging is URL-query decoded, order kept');
  t.strictSame(await tagCountHeaders(bucket, 'k'), { head: '2', get: '2' }, 'x-amz-tagging-count: 2');

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'two' }));
  t.strictSame(await tagsOf(bucket, 'k'), [], 'an overwrite without x-amz-tagging leaves no tags');
  t.strictSame(await tagCountHeaders(bucket, 'k'), { head: undefined, get: undefined }, 'and no x-amz-tagging-count');

  // Raw: reserved characters percent-encoded in keys and values, an empty value, Unicode.
  const tags: Pair[] = [
    ['path/key', 'v=x+y'],
    ['empty', ''],
    ['Ünïcödé', 'é à'],
  ];
  const res = await raw(d.port, { method: 'PUT', path: objectPath(bucket, 'raw'), headers: { 'x-amz-tagging': qs(tags) }, body: 'raw body' });
  t.equal(res.status, 200, 'raw PutObject with x-amz-tagging: 200');
  t.strictSame(await tagsOf(bucket, 'raw'), tags, 'percent-encoded keys and values decoded');

  // SSE-S3 PutObject with tags.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'enc', Body: testBytes(150 * 1024, 4), ServerSideEncryption: 'AES256', Tagging: 'enc=sse-s3' }));
  t.strictSame(await tagsOf(bucket, 'enc'), [['enc', 'sse-s3']], 'SSE-S3 PutObject with x-amz-tagging');

  // Multipart: the tags given at CreateMultipartUpload apply to the completed object.
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', Tagging: 'mp=yes&stage=final%20cut' }));
  const part = testBytes(64 * 1024, 5);
  const p1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: part }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } }));
  t.strictSame(await tagsOf(bucket, 'mp'), [['mp', 'yes'], ['stage', 'final cut']], 'CreateMultipartUpload tags on the completed object');
  t.strictSame(await tagCountHeaders(bucket, 'mp'), { head: '2', get: '2' }, 'multipart object: x-amz-tagging-count: 2');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'mp' })).equals(part), 'multipart content');

  // A multipart upload without x-amz-tagging completing over a tagged object: no tags.
  const up2 = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));
  const p2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up2.UploadId, PartNumber: 1, Body: part }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: up2.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p2.ETag }] } }));
  t.strictSame(await tagsOf(bucket, 'mp'), [], 'a multipart overwrite without x-amz-tagging leaves no tags');
});

t.test('CopyObject: x-amz-tagging-directive COPY (default) and REPLACE; anything else is InvalidArgument', async (t) => {
  const bucket = await createBucket(s3, 'tag-copy');
  const src: Pair[] = [['src', '1'], ['from', 'source']];
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: 'source body', Tagging: qs(src) }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: 'untagged source' }));
  const CopySource = `${bucket}/src`;

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'd-default', Body: 'old', Tagging: 'old=tags' }));
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd-default', CopySource }));
  t.strictSame(await tagsOf(bucket, 'd-default'), src, 'no directive: the source’s tags replace the destination’s');
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'd-default' }))).Body?.transformToString(), 'source body', 'and the body was copied');

  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd-copy', CopySource, TaggingDirective: 'COPY', Tagging: 'ignored=yes' }));
  t.strictSame(await tagsOf(bucket, 'd-copy'), src, 'COPY: the source’s tags, x-amz-tagging ignored');
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd-nodir', CopySource, Tagging: 'ignored=yes' }));
  t.strictSame(await tagsOf(bucket, 'd-nodir'), src, 'x-amz-tagging without a directive is ignored (COPY is the default)');
  // Ignored means not read: a malformed x-amz-tagging under COPY is no reason to refuse the copy
  // (MinIO reads it only under REPLACE; s3d's policy checks already treat it as absent there).
  for (const [label, directive] of [['COPY', { TaggingDirective: 'COPY' as const }], ['no directive', {}]] as const) {
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd-badtag', CopySource, ...directive, Tagging: 'a=b&a=c&=' }));
    t.strictSame(await tagsOf(bucket, 'd-badtag'), src, `${label}: a malformed x-amz-tagging is ignored, the source's tags copied`);
  }
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd-meta', CopySource, MetadataDirective: 'REPLACE', ContentType: 'text/x-new' }));
  t.strictSame(await tagsOf(bucket, 'd-meta'), src, 'x-amz-metadata-directive REPLACE does not drop the tags');

  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd-replace', CopySource, TaggingDirective: 'REPLACE', Tagging: 'r=2&why=re%20placed' }));
  t.strictSame(await tagsOf(bucket, 'd-replace'), [['r', '2'], ['why', 're placed']], 'REPLACE: the request’s x-amz-tagging');
  t.strictSame(await tagCountHeaders(bucket, 'd-replace'), { head: '2', get: '2' }, 'copy: x-amz-tagging-count: 2');
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd-none', CopySource, TaggingDirective: 'REPLACE' }));
  t.strictSame(await tagsOf(bucket, 'd-none'), [], 'REPLACE without x-amz-tagging: no tags');
  t.strictSame(await tagCountHeaders(bucket, 'd-none'), { head: undefined, get: undefined }, 'and no x-amz-tagging-count');

  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd-plain', CopySource: `${bucket}/plain` }));
  t.strictSame(await tagsOf(bucket, 'd-plain'), [], 'COPY from an untagged source: no tags');
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd-plain2', CopySource: `${bucket}/plain`, TaggingDirective: 'REPLACE', Tagging: 'new=one' }));
  t.strictSame(await tagsOf(bucket, 'd-plain2'), [['new', 'one']], 'REPLACE onto a copy of an untagged source');
  t.strictSame(await tagsOf(bucket, 'src'), src, 'the source’s tags are untouched by all of it');

  for (const directive of ['BOGUS', 'copy-ish']) {
    const res = await raw(d.port, {
      method: 'PUT',
      path: objectPath(bucket, 'd-bad'),
      headers: { 'x-amz-copy-source': `/${bucket}/src`, 'x-amz-tagging-directive': directive },
    });
    assertXmlError(t, res, 400, 'InvalidArgument', `x-amz-tagging-directive: ${directive}`);
  }
  await expectSdkError(
    t,
    s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd-bad', CopySource, TaggingDirective: 'MERGE' as 'COPY', Tagging: 'a=1' })),
    'InvalidArgument',
    400,
    'SDK CopyObject with TaggingDirective MERGE',
  );
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'd-bad' }))), 'NotFound/404', 'a refused copy created nothing');
});

// ---- validation ------------------------------------------------------------------------------

const e128 = 'é'.repeat(128);
const INVALID_SETS: Array<[string, Pair[]]> = [
  ['an empty key', [['', 'v']]],
  ['a key of 129 characters', [['a'.repeat(129), 'v']]],
  ['a key of 129 é', [['é'.repeat(129), 'v']]],
  ['a value of 257 characters', [['k', 'v'.repeat(257)]]],
  ['a value of 257 é', [['k', 'é'.repeat(257)]]],
  ['duplicate keys', [['dup', '1'], ['other', 'x'], ['dup', '2']]],
  ['a key starting with aws:', [['aws:createdBy', 'me']]],
  ['a key with *', [['a*b', 'v']]],
  ['a key with #', [['a#b', 'v']]],
  ['a key with a question mark', [['why?', 'v']]],
  ['a value with *', [['k', 'a*b']]],
  ['a value with &', [['k', 'fish&chips']]],
];
const VALID_SETS: Array<[string, Pair[]]> = [
  ['10 tags', many(10)],
  ['a key of 128 é and a value of 256 é (characters, not bytes)', [[e128, 'é'.repeat(256)]]],
  ['a key of 128 ASCII characters, a value of 256', [['k'.repeat(128), 'v'.repeat(256)]]],
  ['an empty value', [['k', '']]],
  ['every allowed kind of character', [['Ünïcödé 1+1=2 a@b:c/d_e.f-g', 'Ünïcödé 1+1=2 a@b:c/d_e.f-g']]],
  ['aws: not at the start of the key', [['my-aws:key', 'v']]],
  ['leading and trailing spaces kept', [[' padded key ', '  padded value ']]],
];

t.test('PutObjectTagging validation: InvalidTag and nothing changed; the limits themselves are valid', async (t) => {
  const bucket = await createBucket(s3, 'tag-valid');
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'keep', Tagging: 'keep=me' }));
  for (const [what, pairs] of INVALID_SETS) {
    await expectSdkError(t, putTags(bucket, 'k', pairs), 'InvalidTag', 400, `PutObjectTagging: ${what}`);
    t.strictSame(await tagsOf(bucket, 'k'), [['keep', 'me']], `${what}: the previous tags still read back`);
  }
  // Too many tags is S3's BadRequest, with S3's message (Terraform users quote it).
  const eleven = await expectSdkError(t, putTags(bucket, 'k', many(11)), 'BadRequest', 400, 'PutObjectTagging: 11 tags on an object');
  t.equal(eleven?.message, 'Object tags cannot be greater than 10');
  t.strictSame(await tagsOf(bucket, 'k'), [['keep', 'me']], '11 tags: the previous tags still read back');
  // The same through a raw request, to check the XML error document.
  assertXmlError(t, await putTaggingRaw(d, objectPath(bucket, 'k'), taggingXml([['aws:x', '1']])), 400, 'InvalidTag', 'raw PUT ?tagging with an aws: key');
  t.strictSame(await tagsOf(bucket, 'k'), [['keep', 'me']], 'raw: the previous tags still read back');
  // Which tag, as S3 names it (LocalStack's recordings): TagKey, and TagValue for a bad value.
  for (const [what, pairs, message, fields] of [
    ['a bad value', [['Key1', 'Val1,Val2']], 'The TagValue you have provided is invalid', { TagKey: 'Key1', TagValue: 'Val1,Val2' }],
    ['a bad key', [['Key1,Key2', 'v']], 'The TagKey you have provided is invalid', { TagKey: 'Key1,Key2' }],
    ['a repeated key', [['Key1', 'a'], ['Key1', 'b']], 'Cannot provide multiple Tags with the same key', { TagKey: 'Key1' }],
    ['an aws: key', [['aws:prefixed', 'v']], 'Your TagKey cannot be prefixed with aws:', { TagKey: 'aws:prefixed' }],
  ] as Array<[string, Pair[], string, Record<string, string>]>) {
    const e = await expectSdkError(t, putTags(bucket, 'k', pairs), 'InvalidTag', 400, what);
    t.equal(e?.message, message, `${what}: S3's text`);
    for (const [name, value] of Object.entries(fields)) t.equal((e as unknown as Record<string, string>)?.[name], value, `${what}: <${name}>`);
  }
  const system = await expectSdkError(t, putBucketTags(bucket, [['aws:prefixed', 'v']]), 'InvalidTag', 400, 'an aws: key on a bucket');
  t.equal(system?.message, 'System tags cannot be added/updated by requester', "a bucket's aws: key: S3's text");

  for (const [what, pairs] of VALID_SETS) {
    const r = await s3Code(putTags(bucket, 'k', pairs));
    t.equal(r, 'ok', `valid: ${what}`);
    if (r === 'ok') t.strictSame(await tagsOf(bucket, 'k'), pairs, `${what}: read back exactly`);
  }
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));
  t.equal(head.ETag, put.ETag, 'the object itself never changed');
});

t.test('MalformedXML: not well-formed or another root; nothing changed', async (t) => {
  const bucket = await createBucket(s3, 'tag-xml');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'keep', Tagging: 'keep=me' }));
  await putBucketTags(bucket, [['bucket', 'tag']]);
  const bodies: Array<[string, string]> = [
    ['not XML at all', 'this is not xml'],
    ['an unclosed root', '<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet>'],
    ['mismatched tags', '<Tagging><TagSet><Tag><Key>a</Value></Tag></TagSet></Tagging>'],
    ['a root other than Tagging', '<NotTagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></NotTagging>'],
    // Elements s3d does not read were dropped.
    ['an unknown element in a Tag', '<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value><Kind>x</Kind></Tag></TagSet></Tagging>'],
    ['an unknown element in the TagSet', '<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tags><Key>b</Key><Value>2</Value></Tags></TagSet></Tagging>'],
    ['an unknown element beside the TagSet', '<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet><Version>2</Version></Tagging>'],
  ];
  for (const [what, body] of bodies) {
    assertXmlError(t, await putTaggingRaw(d, objectPath(bucket, 'k'), body), 400, 'MalformedXML', `PutObjectTagging: ${what}`);
    assertXmlError(t, await putTaggingRaw(d, `/${bucket}`, body), 400, 'MalformedXML', `PutBucketTagging: ${what}`);
  }
  t.strictSame(await tagsOf(bucket, 'k'), [['keep', 'me']], 'object tags unchanged');
  t.strictSame(await bucketTagsOf(bucket), [['bucket', 'tag']], 'bucket tags unchanged');

  // A well-formed document with a namespace (as the SDKs send it) is accepted.
  const ok = await putTaggingRaw(d, objectPath(bucket, 'k'), '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>ns</Key><Value>ok</Value></Tag></TagSet></Tagging>');
  t.equal(ok.status, 200, 'raw PUT ?tagging with the S3 namespace: 200');
  t.strictSame(await tagsOf(bucket, 'k'), [['ns', 'ok']]);
});

t.test('x-amz-tagging validation on PutObject, CreateMultipartUpload and CopyObject: S3\'s errors, nothing stored', async (t) => {
  const bucket = await createBucket(s3, 'tag-hval');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'old', Body: 'old body', Tagging: 'keep=me' }));
  // A header that is no tag set in query encoding, or holds a character no tag may, is
  // InvalidArgument (S3, as the aws CLI shows it); a tag set breaking another tag rule
  // InvalidTag; too many tags BadRequest.
  const cases: Array<[string, string, string]> = [
    ['11 tags', qs(many(11)), 'BadRequest'],
    ['duplicate keys', 'a=1&a=2', 'InvalidArgument'],
    ['an empty key', '=v', 'InvalidArgument'],
    ['a bad escape', 'key%', 'InvalidArgument'],
    ['an aws: key', qs([['aws:k', 'v']]), 'InvalidTag'],
    ['a key of 129 characters', qs([['a'.repeat(129), 'v']]), 'InvalidTag'],
    ['a value of 257 characters', qs([['k', 'v'.repeat(257)]]), 'InvalidTag'],
    // A character no tag may hold is InvalidArgument on the header, as S3 answers
    // 'key1=val1,key2=val2' (LocalStack's recording against AWS).
    ['a key with *', qs([['a*b', 'v']]), 'InvalidArgument'],
    ['comma-separated pairs', 'key1=val1,key2=val2', 'InvalidArgument'],
    ['the CLI shorthand as the header', 'TagSet=[{Key=string,Value=string}]', 'InvalidArgument'],
    // Sent escaped, such a character is the tag's fault: InvalidTag, as S3 answered the same
    // shorthand URL-encoded (aws/aws-cli#2841) and boto3's urlencode of a value with a comma
    // (gardenlinux/gardenlinux#3720).
    ['the shorthand URL-encoded', 'TagSet%3D%5B%7BKey%3Dstring%2CValue%3Dstring%7D%5D', 'InvalidTag'],
    ['an escaped comma in a value', 'platform=metal%2Copenstackbaremetal', 'InvalidTag'],
  ];
  for (const [what, header, code] of cases) {
    await expectSdkError(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'new', Body: 'new body', Tagging: header })), code, 400, `PutObject new key, ${what}`);
    t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'new' }))), 'NotFound/404', `${what}: no object stored`);
    await expectSdkError(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'old', Body: 'replacement', Tagging: header })), code, 400, `PutObject over an object, ${what}`);
  }
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'old' })).toString(), 'old body', 'the old object is intact');
  t.strictSame(await tagsOf(bucket, 'old'), [['keep', 'me']], 'with its old tags');

  const comma = await raw(d.port, { method: 'PUT', path: objectPath(bucket, 'new'), headers: { 'x-amz-tagging': 'platform=metal%2Copenstackbaremetal' }, body: 'x' });
  t.same(['Code', 'Message', 'TagKey', 'TagValue'].map((f) => xmlField(comma.body, f)), ['InvalidTag', 'The TagValue you have provided is invalid', 'platform', 'metal,openstackbaremetal'], 'an escaped comma: S3\'s InvalidTag, naming the tag');

  const raw11 = await raw(d.port, { method: 'PUT', path: objectPath(bucket, 'new'), headers: { 'x-amz-tagging': qs(many(11)) }, body: 'x' });
  assertXmlError(t, raw11, 400, 'BadRequest', 'raw PutObject with 11 tags');
  t.match(raw11.body.toString(), '<Message>Object tags cannot be greater than 10</Message>');

  await expectSdkError(t, s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', Tagging: 'aws:k=v' })), 'InvalidTag', 400, 'CreateMultipartUpload with an aws: tag');
  await expectSdkError(t, s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', Tagging: qs(many(11)) })), 'BadRequest', 400, 'CreateMultipartUpload with 11 tags');
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  t.strictSame(uploads.Uploads ?? [], [], 'no upload was started');

  await expectSdkError(
    t,
    s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/old`, TaggingDirective: 'REPLACE', Tagging: 'a=1&a=2' })),
    'InvalidArgument',
    400,
    'CopyObject REPLACE with duplicate keys',
  );
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy' }))), 'NotFound/404', 'the refused copy stored nothing');
});

// ---- bucket tagging --------------------------------------------------------------------------

t.test('bucket tagging: Put/Get/Delete, NoSuchTagSet, limit 50, NoSuchBucket', async (t) => {
  const bucket = await createBucket(s3, 'tag-bkt');
  await expectSdkError(t, s3.send(new GetBucketTaggingCommand({ Bucket: bucket })), 'NoSuchTagSet', 404, 'GetBucketTagging without tags');
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'tagging' }), 404, 'NoSuchTagSet', 'raw GET ?tagging of an untagged bucket');

  const tags: Pair[] = [['team', 'storage'], ['env', 'test run'], ['Ünïcödé 1+1=2 a@b:c/d_e.f-g', '']];
  const r = await putBucketTags(bucket, tags);
  t.equal(r.$metadata.httpStatusCode, 204, 'PutBucketTagging: 204, as S3 answers (boto 2 accepts nothing else)');
  t.strictSame(await bucketTagsOf(bucket), sortPairs(tags), 'GetBucketTagging returns the set');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: 'x' }));
  t.strictSame(await tagsOf(bucket, 'obj'), [], 'bucket tags are not object tags');

  await putBucketTags(bucket, [['replaced', 'yes']]);
  t.strictSame(await bucketTagsOf(bucket), [['replaced', 'yes']], 'PutBucketTagging replaces the whole set');

  // MinIO answers 200 and its SDKs accept nothing else; every other client gets S3's 204.
  const byAgent = async (userAgent: string): Promise<number> => {
    const body = taggingXml([['agent', userAgent.slice(0, 5)]]);
    const r = await raw(d.port, {
      method: 'PUT', path: `/${bucket}`, query: 'tagging', body,
      headers: { 'content-md5': md5Base64(body), 'content-type': 'application/xml', 'user-agent': userAgent },
      sign: { payloadHash: 'hash' },
    });
    return r.status;
  };
  t.equal(await byAgent('MinIO (linux; amd64) minio-go/v7.0.95 mc/RELEASE.2025-08-13T08-35-41Z'), 200, 'minio-go (mc): 200');
  t.strictSame(await bucketTagsOf(bucket), [['agent', 'MinIO']], 'and the tags are stored');
  t.equal(await byAgent('Boto/2.49.0 Python/3.11.2 Linux/6.1.0'), 204, 'boto 2: 204');
  t.strictSame(await bucketTagsOf(bucket), [['agent', 'Boto/']], 'and the tags are stored');

  const fifty = many(50, 'b');
  t.equal(await s3Code(putBucketTags(bucket, fifty)), 'ok', '50 tags on a bucket are valid');
  t.strictSame(await bucketTagsOf(bucket), sortPairs(fifty), 'all 50 read back');
  await expectSdkError(t, putBucketTags(bucket, many(51, 'b')), 'BadRequest', 400, 'PutBucketTagging: 51 tags');
  for (const [what, pairs] of [
    ['duplicate keys', [['x', '1'], ['x', '2']]],
    ['an aws: key', [['aws:cloudformation:stack-name', 's']]],
    ['a key with #', [['a#b', 'v']]],
    ['a key of 129 characters', [['a'.repeat(129), 'v']]],
    ['a value of 257 characters', [['k', 'v'.repeat(257)]]],
  ] as Array<[string, Pair[]]>) {
    await expectSdkError(t, putBucketTags(bucket, pairs), 'InvalidTag', 400, `PutBucketTagging: ${what}`);
  }
  // S3 checks each tag, in order, before it counts them (observed against AWS in
  // scality/cloudserver#4451): 51 tags, one of them invalid, are that tag's InvalidTag.
  for (const [what, bad] of [
    ['an aws: key', ['aws:cloudformation:stack-name', 's']],
    ['a duplicate key', ['b0', 'again']],
  ] as Array<[string, Pair]>) {
    await expectSdkError(t, putBucketTags(bucket, [...many(50, 'b'), bad]), 'InvalidTag', 400, `PutBucketTagging: 51 tags, one with ${what}`);
  }
  const raw51 = await putTaggingRaw(d, `/${bucket}`, taggingXml(many(51, 'b')));
  assertXmlError(t, raw51, 400, 'BadRequest', 'raw PUT bucket ?tagging with 51 tags');
  t.match(raw51.body.toString(), '<Message>Bucket tag count cannot be greater than 50</Message>');
  t.strictSame(await bucketTagsOf(bucket), sortPairs(fifty), 'refused puts left the 50 tags');

  const del = await s3.send(new DeleteBucketTaggingCommand({ Bucket: bucket }));
  t.equal(del.$metadata.httpStatusCode, 204, 'DeleteBucketTagging: 204');
  await expectSdkError(t, s3.send(new GetBucketTaggingCommand({ Bucket: bucket })), 'NoSuchTagSet', 404, 'GetBucketTagging after DeleteBucketTagging');

  // Tags die with the bucket.
  await putBucketTags(bucket, [['short', 'lived']]);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'obj' }));
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await expectSdkError(t, s3.send(new GetBucketTaggingCommand({ Bucket: bucket })), 'NoSuchTagSet', 404, 'a re-created bucket has no tags');

  const nob = bucketName('nob');
  await expectSdkError(t, s3.send(new GetBucketTaggingCommand({ Bucket: nob })), 'NoSuchBucket', 404, 'GetBucketTagging of a missing bucket');
  await expectSdkError(t, putBucketTags(nob, [['a', 'b']]), 'NoSuchBucket', 404, 'PutBucketTagging of a missing bucket');
  await expectSdkError(t, s3.send(new DeleteBucketTaggingCommand({ Bucket: nob })), 'NoSuchBucket', 404, 'DeleteBucketTagging of a missing bucket');
});

// ---- clients ---------------------------------------------------------------------------------

t.test('minio-js: object and bucket tagging round trip, copyObject with UserTags', async (t) => {
  const mc = minioClient(d);
  const bucket = bucketName('tag-minio');
  await mc.makeBucket(bucket, REGION);
  await mc.putObject(bucket, 'obj', Buffer.from('minio body'), 10, { 'Content-Type': 'text/plain' });

  t.strictSame(await mc.getObjectTagging(bucket, 'obj'), [], 'minio getObjectTagging: no tags');
  await mc.setObjectTagging(bucket, 'obj', { project: 'alpha', 'with space': 'x y' });
  const got = (await mc.getObjectTagging(bucket, 'obj')).map((x) => [String(x.Key), String(x.Value)]);
  t.strictSame(got, [['project', 'alpha'], ['with space', 'x y']], 'minio setObjectTagging → getObjectTagging');
  t.strictSame(await tagsOf(bucket, 'obj'), [['project', 'alpha'], ['with space', 'x y']], 'the SDK sees the same tags');
  await mc.removeObjectTagging(bucket, 'obj', {} as Parameters<typeof mc.removeObjectTagging>[2]); // minio types versionId as required
  t.strictSame(await mc.getObjectTagging(bucket, 'obj'), [], 'minio removeObjectTagging');

  // minio-js 8 cannot tag in putObject: an `X-Amz-Tagging` metadata entry goes out as
  // x-amz-meta-x-amz-tagging (prependXAMZMeta). It sends x-amz-tagging, with the REPLACE
  // directive, through copyObject's UserTags.
  const copied = await mc.copyObject(new CopySourceOptions({ Bucket: bucket, Object: 'obj' }), new CopyDestinationOptions({ Bucket: bucket, Object: 'copy', UserTags: { copied: 'by minio', n: 'two' } }));
  t.strictSame(await tagsOf(bucket, 'copy'), [['copied', 'by minio'], ['n', 'two']], 'minio copyObject with UserTags');
  // This form of copyObject reads the ETag from a header, as MinIO sends it (S3 has it only in the body).
  t.equal((copied as { Etag?: string }).Etag, (await mc.statObject(bucket, 'copy')).etag, "minio copyObject's result has the copy's ETag");
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'copy' })).toString(), 'minio body');

  // minio-js accepts only 200 from PUT ?tagging (it builds its error from the empty body otherwise).
  let setBucket = 'ok';
  await mc.setBucketTagging(bucket, { owner: 'minio', purpose: 'test' }).catch((err: S3Error) => {
    setBucket = `${err.name} code=${JSON.stringify(err.code)}: ${err.message}`;
  });
  t.equal(setBucket, 'ok', 'minio setBucketTagging succeeds');
  const bt = (await mc.getBucketTagging(bucket)).map((x): Pair => [String(x.Key), String(x.Value)]);
  t.strictSame(sortPairs(bt), [['owner', 'minio'], ['purpose', 'test']], 'minio setBucketTagging → getBucketTagging');
  await mc.removeBucketTagging(bucket);
  try {
    await mc.getBucketTagging(bucket);
    t.fail('getBucketTagging after removeBucketTagging should fail');
  } catch (err) {
    t.equal((err as S3Error).code, 'NoSuchTagSet', 'minio getBucketTagging after remove: NoSuchTagSet');
  }
});

t.test('aws CLI: s3api put-object --tagging, put/get/delete-object-tagging, put/get-bucket-tagging', { skip: NO_AWS }, async (t) => {
  const aws = awsCli(d.endpoint, work, { pathStyle: true }).run;
  /** The TagSet of a get-*-tagging answer (other fields of the JSON are not compared). */
  const tagSet = (out: { code: number; stdout: string; stderr: string }): unknown => {
    if (out.code !== 0) throw new Error(`aws failed (${out.code}): ${out.stderr}`);
    return (JSON.parse(out.stdout) as { TagSet?: unknown }).TagSet;
  };

  const bucket = await createBucket(s3, 'tag-cli');
  const file = join(work, 'cli.txt');
  writeFileSync(file, 'cli body\n');
  const put = await aws('s3api', 'put-object', '--bucket', bucket, '--key', 'cli.txt', '--body', file, '--tagging', 'cli=yes&who=aws%20cli');
  t.equal(put.code, 0, `aws s3api put-object --tagging (${put.stderr.trim()})`);
  t.strictSame(tagSet(await aws('s3api', 'get-object-tagging', '--bucket', bucket, '--key', 'cli.txt')), [{ Key: 'cli', Value: 'yes' }, { Key: 'who', Value: 'aws cli' }], 'get-object-tagging after put-object --tagging');

  const set = await aws('s3api', 'put-object-tagging', '--bucket', bucket, '--key', 'cli.txt', '--tagging', JSON.stringify({ TagSet: [{ Key: 'k1', Value: 'v1' }, { Key: 'k0', Value: 'v0' }] }));
  t.equal(set.code, 0, `aws s3api put-object-tagging (${set.stderr.trim()})`);
  t.strictSame(await tagsOf(bucket, 'cli.txt'), [['k1', 'v1'], ['k0', 'v0']], 'the SDK sees the CLI’s tags in order');
  const bad = await aws('s3api', 'put-object-tagging', '--bucket', bucket, '--key', 'cli.txt', '--tagging', JSON.stringify({ TagSet: [{ Key: 'aws:no', Value: 'v' }] }));
  t.not(bad.code, 0, 'put-object-tagging with an aws: key fails');
  t.match(bad.stderr, /InvalidTag/, 'with InvalidTag');

  const del = await aws('s3api', 'delete-object-tagging', '--bucket', bucket, '--key', 'cli.txt');
  t.equal(del.code, 0, `aws s3api delete-object-tagging (${del.stderr.trim()})`);
  t.strictSame(tagSet(await aws('s3api', 'get-object-tagging', '--bucket', bucket, '--key', 'cli.txt')), [], 'get-object-tagging after delete: empty TagSet');

  const bput = await aws('s3api', 'put-bucket-tagging', '--bucket', bucket, '--tagging', JSON.stringify({ TagSet: [{ Key: 'cli-bucket', Value: 'tagged' }] }));
  t.equal(bput.code, 0, `aws s3api put-bucket-tagging (${bput.stderr.trim()})`);
  t.strictSame(tagSet(await aws('s3api', 'get-bucket-tagging', '--bucket', bucket)), [{ Key: 'cli-bucket', Value: 'tagged' }], 'get-bucket-tagging');
});

// ---- persistence -----------------------------------------------------------------------------

t.test('tags persist across a restart: objects, SSE-C objects, pending uploads, buckets', async (t) => {
  // HTTPS, for the SSE-C object.
  let d1: TestDaemon | undefined = await startDaemon({ tls: true });
  const dataDir = d1.dataDir;
  let d2: TestDaemon | undefined;
  t.teardown(async () => {
    await d1?.stop();
    await d2?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const c1 = d1.s3();
  const bucket = await createBucket(c1, 'tag-restart');
  const customerKey = randomBytes(32);
  const big = testBytes(200 * 1024, 9);
  await c1.send(new PutObjectCommand({ Bucket: bucket, Key: 'hdr', Body: 'header tags', Tagging: 'from=header&n=1' }));
  await c1.send(new PutObjectCommand({ Bucket: bucket, Key: 'ssec', Body: big, ...ssec(customerKey) }));
  await putTags(bucket, 'ssec', [['enc', 'sse-c'], ['big', 'yes']], c1);
  await c1.send(new PutObjectCommand({ Bucket: bucket, Key: 'cleared', Body: 'x', Tagging: 'gone=soon' }));
  await c1.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'cleared' }));
  await putBucketTags(bucket, [['persist', 'bucket']], c1);
  const up = await c1.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', Tagging: 'pending=upload' }));
  const p1 = await c1.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: big }));
  t.equal(await d1.stop(), 0, 'first daemon stopped cleanly');
  d1 = undefined;

  d2 = await startDaemon({ tls: true, dataDir });
  const c2 = d2.s3();
  t.strictSame(await tagsOf(bucket, 'hdr', c2), [['from', 'header'], ['n', '1']], 'x-amz-tagging tags after restart');
  t.strictSame(await tagsOf(bucket, 'ssec', c2), [['enc', 'sse-c'], ['big', 'yes']], 'SSE-C object tags after restart');
  const got = await c2.send(new GetObjectCommand({ Bucket: bucket, Key: 'ssec', ...ssec(customerKey) }));
  t.equal(got.TagCount, 2, 'TagCount after restart');
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(big), 'SSE-C object reads back after restart');
  t.strictSame(await tagsOf(bucket, 'cleared', c2), [], 'deleted tags stay deleted');
  t.strictSame(await bucketTagsOf(bucket, c2), [['persist', 'bucket']], 'bucket tags after restart');
  await c2.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } }));
  t.strictSame(await tagsOf(bucket, 'mp', c2), [['pending', 'upload']], 'an upload created before the restart completes with its tags');
});
