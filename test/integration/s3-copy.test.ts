// CopyObject against the built daemon (over TLS, so SSE-C works): within and across buckets,
// COPY vs REPLACE metadata, copy onto itself, x-amz-copy-source-if-* (412), URL-encoded source
// keys, copy-source parameters other than versionId and sources naming no valid bucket or no key,
// not percent-encoded UTF-8 or an access point ARN (InvalidArgument; UploadPartCopy's before its
// upload id), the CopyObjectResult document, a 64 MiB copy with bounded daemon RSS, and an SSE-C
// key rotation in place that still reads back after the deletion reaper has run.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { bucketName, rssKiB, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { md5Hex } from '../helpers/hash.js';
import { createBucket, getBytes, s3Code, sdkFailure, withHeaders } from '../helpers/s3.js';
import { KMS_KEY_ID, ssec, ssecCopy } from '../helpers/sse.js';
import { sleep } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const d = await startDaemonFor(t, { tls: true });
const s3 = d.s3();
const A = await createBucket(s3, 'cpa');
const B = await createBucket(s3, 'cpb');

/** A client that keeps the raw body of its last response (the XML the daemon wrote). */
function capturingClient(): { client: S3Client; last: () => string } {
  const client = d.s3();
  let last = '';
  client.middlewareStack.add(
    (next) => async (args) => {
      const r = (await next(args)) as { response: { body: AsyncIterable<Buffer> | Readable } };
      const chunks: Buffer[] = [];
      for await (const c of r.response.body as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
      const buf = Buffer.concat(chunks);
      last = buf.toString('utf8');
      r.response.body = Readable.from([buf]);
      return r as never;
    },
    { step: 'deserialize', priority: 'low', name: 'captureBody' },
  );
  return { client, last: () => last };
}

const SRC = testBytes(300_000, 3);
let srcETag = '';
let srcMtime: Date;
await (async () => {
  const put = await s3.send(
    new PutObjectCommand({ Bucket: A, Key: 'src', Body: SRC, ContentType: 'text/x-src', ContentLanguage: 'de', CacheControl: 'max-age=5', Metadata: { color: 'blue', shape: 'round' } }),
  );
  srcETag = put.ETag!;
  srcMtime = (await s3.send(new HeadObjectCommand({ Bucket: A, Key: 'src' }))).LastModified!;
})();

t.test('within and across buckets; CopyObjectResult', async (t) => {
  const cap = capturingClient();
  const r = await cap.client.send(new CopyObjectCommand({ Bucket: A, Key: 'dst', CopySource: `${A}/src` }));
  t.equal(r.CopyObjectResult?.ETag, srcETag, 'plain copy keeps the MD5 ETag');
  t.equal(r.CopyObjectResult?.ETag, `"${md5Hex(SRC)}"`);
  t.ok(r.CopyObjectResult?.LastModified instanceof Date);
  t.ok(Math.abs(r.CopyObjectResult!.LastModified!.getTime() - Date.now()) < 60_000, 'LastModified is the copy time');
  t.match(cap.last(), /^<\?xml version="1\.0" encoding="UTF-8"\?>\s*<CopyObjectResult xmlns="http:\/\/s3\.amazonaws\.com\/doc\/2006-03-01\/"><LastModified>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z<\/LastModified><ETag>(&quot;|")[0-9a-f]{32}(&quot;|")<\/ETag><ChecksumCRC32>[A-Za-z0-9+/]{6}==<\/ChecksumCRC32><ChecksumType>FULL_OBJECT<\/ChecksumType><\/CopyObjectResult>$/);
  // The SDK sent a CRC32 with the source (its default); S3 gives the copy's checksum back.
  t.equal(r.CopyObjectResult?.ChecksumCRC32, (await s3.send(new HeadObjectCommand({ Bucket: A, Key: 'src', ChecksumMode: 'ENABLED' }))).ChecksumCRC32, 'the source\u2019s CRC32');
  t.ok((await getBytes(s3, { Bucket: A, Key: 'dst' })).equals(SRC), 'same bucket: exact bytes');

  const x = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'nested/dst', CopySource: `/${A}/src` }));
  t.equal(x.CopyObjectResult?.ETag, srcETag);
  t.ok((await getBytes(s3, { Bucket: B, Key: 'nested/dst' })).equals(SRC), 'across buckets (leading slash in the source): exact bytes');

  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'x', CopySource: `${A}/missing` }))), 'NoSuchKey/404');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'x', CopySource: `${bucketName('none')}/src` }))), 'NoSuchBucket/404');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: bucketName('none'), Key: 'x', CopySource: `${A}/src` }))), 'NoSuchBucket/404');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'x', CopySource: A }))), 'InvalidArgument/400', 'source without a key');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'x', CopySource: `${A}/src?versionId=null` }))), 'ok', 'versionId=null is the only version');
});

t.test('metadata directive COPY keeps the source metadata; REPLACE takes the request\u2019s', async (t) => {
  await s3.send(new CopyObjectCommand({ Bucket: A, Key: 'm-copy', CopySource: `${A}/src`, ContentType: 'ignored/type', Metadata: { ignored: 'yes' } }));
  const c = await s3.send(new HeadObjectCommand({ Bucket: A, Key: 'm-copy' }));
  t.equal(c.ContentType, 'text/x-src');
  t.equal(c.ContentLanguage, 'de');
  t.equal(c.CacheControl, 'max-age=5');
  t.same(c.Metadata, { color: 'blue', shape: 'round' });

  await s3.send(new CopyObjectCommand({ Bucket: A, Key: 'm-replace', CopySource: `${A}/src`, MetadataDirective: 'REPLACE', ContentType: 'application/x-new', Metadata: { fresh: '1' } }));
  const r = await s3.send(new HeadObjectCommand({ Bucket: A, Key: 'm-replace' }));
  t.equal(r.ContentType, 'application/x-new');
  t.equal(r.ContentLanguage, undefined, 'REPLACE drops the source headers');
  t.same(r.Metadata, { fresh: '1' });
  t.ok((await getBytes(s3, { Bucket: A, Key: 'm-replace' })).equals(SRC));

  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'x', CopySource: `${A}/src`, MetadataDirective: 'MERGE' as 'COPY' }))), 'InvalidArgument/400');
  // The request's own arguments are checked before the source: a missing one does not hide them.
  for (const source of [`${A}/src`, `${A}/no-such-source`]) {
    t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'x', CopySource: source, MetadataDirective: 'MERGE' as 'COPY' }))), 'InvalidArgument/400', `metadata directive MERGE, ${source}`);
    t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'x', CopySource: source, TaggingDirective: 'MERGE' as 'COPY' }))), 'InvalidArgument/400', `tagging directive MERGE, ${source}`);
    // Lower case is no directive either: S3 answers "copy" InvalidArgument (it was taken as COPY).
    t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'x', CopySource: source, MetadataDirective: 'replace' as 'COPY' }))), 'InvalidArgument/400', `metadata directive replace, ${source}`);
    t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'x', CopySource: source, TaggingDirective: 'replace' as 'COPY' }))), 'InvalidArgument/400', `tagging directive replace, ${source}`);
    t.match(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'x', CopySource: source, ChecksumAlgorithm: 'MD4' as 'CRC32' }))), /\/400$/, `checksum algorithm MD4, ${source}`);
  }
});

t.test('copy onto itself under auto-encryption: an SSE-S3 object copied as it is changes nothing (InvalidRequest), as on S3', async (t) => {
  // S3 stores every object SSE-S3 by default and refuses such a copy (LocalStack's recording);
  // s3d with S3_KMS_AUTO_ENCRYPTION=on accepted it, so a no-op "touch" rewrote the object.
  const auto = await startDaemonFor(t, { env: { S3_KMS_AUTO_ENCRYPTION: 'on' } });
  const c = auto.s3();
  const b = await createBucket(c, 'autoself');
  await c.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'auto body' }));
  t.equal((await c.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }))).ServerSideEncryption, 'AES256', 'stored SSE-S3');
  t.equal(await s3Code(c.send(new CopyObjectCommand({ Bucket: b, Key: 'k', CopySource: `${b}/k` }))), 'InvalidRequest/400', 'no change: InvalidRequest');
  t.equal(await s3Code(c.send(new CopyObjectCommand({ Bucket: b, Key: 'k', CopySource: `${b}/k`, ServerSideEncryption: 'AES256' }))), 'ok', 'asking for SSE-S3 again: a change (a new object key)');
  t.equal(await s3Code(c.send(new CopyObjectCommand({ Bucket: b, Key: 'k', CopySource: `${b}/k`, ChecksumAlgorithm: 'SHA256' }))), 'ok', 'a checksum algorithm: a change');
  await c.send(new PutObjectCommand({ Bucket: b, Key: 'kms', Body: 'kms body', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ID }));
  t.equal(await s3Code(c.send(new CopyObjectCommand({ Bucket: b, Key: 'kms', CopySource: `${b}/kms` }))), 'ok', 'an SSE-KMS source: allowed, as on S3');
  await c.send(new PutBucketEncryptionCommand({ Bucket: b, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
  t.equal(await s3Code(c.send(new CopyObjectCommand({ Bucket: b, Key: 'k', CopySource: `${b}/k` }))), 'ok', "the bucket's own default encryption: allowed, as on S3");
  t.equal((await getBytes(c, { Bucket: b, Key: 'k' })).toString(), 'auto body');
});

t.test('copy onto itself: InvalidRequest without a change, allowed with REPLACE', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: A, Key: 'self', Body: 'self body', Metadata: { v: '1' } }));
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'self', CopySource: `${A}/self` }))), 'InvalidRequest/400');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: A, Key: 'self', CopySource: `${A}/self`, MetadataDirective: 'COPY' }))), 'InvalidRequest/400');
  const r = await s3.send(new CopyObjectCommand({ Bucket: A, Key: 'self', CopySource: `${A}/self`, MetadataDirective: 'REPLACE', Metadata: { v: '2' } }));
  t.equal(r.CopyObjectResult?.ETag, `"${md5Hex(Buffer.from('self body'))}"`);
  const h = await s3.send(new HeadObjectCommand({ Bucket: A, Key: 'self' }));
  t.same(h.Metadata, { v: '2' });
  t.equal((await getBytes(s3, { Bucket: A, Key: 'self' })).toString(), 'self body');
});

t.test('x-amz-copy-source-if-* conditions', async (t) => {
  const copy = (extra: Record<string, unknown>): Promise<string> => s3Code(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'cond', CopySource: `${A}/src`, ...extra })));
  const before = new Date(srcMtime.getTime() - 3600_000);
  const after = new Date(srcMtime.getTime() + 3600_000);
  t.equal(await copy({ CopySourceIfMatch: srcETag }), 'ok', 'if-match with the ETag');
  t.equal(await copy({ CopySourceIfMatch: '"0123456789abcdef0123456789abcdef"' }), 'PreconditionFailed/412', 'if-match another ETag');
  t.equal(await copy({ CopySourceIfMatch: '*' }), 'ok', 'if-match *');
  t.equal(await copy({ CopySourceIfNoneMatch: srcETag }), 'PreconditionFailed/412', 'if-none-match the ETag');
  t.equal(await copy({ CopySourceIfNoneMatch: '"0123456789abcdef0123456789abcdef"' }), 'ok', 'if-none-match another ETag');
  t.equal(await copy({ CopySourceIfModifiedSince: before }), 'ok', 'modified since an earlier time');
  t.equal(await copy({ CopySourceIfModifiedSince: new Date() }), 'PreconditionFailed/412', 'not modified since a later time');
  t.equal(await copy({ CopySourceIfModifiedSince: after }), 'ok', 'a modified-since date in the future is ignored (RFC 7232 3.3, as S3 does)');
  t.equal(await copy({ CopySourceIfUnmodifiedSince: after }), 'ok', 'unmodified since a later time');
  t.equal(await copy({ CopySourceIfUnmodifiedSince: before }), 'PreconditionFailed/412', 'modified after an earlier time');
  // RFC 7232 precedence, as S3 documents for copies: a true if-match overrides a false
  // if-unmodified-since; a false if-none-match with a true if-modified-since still fails.
  t.equal(await copy({ CopySourceIfMatch: srcETag, CopySourceIfUnmodifiedSince: before }), 'ok', 'if-match true + unmodified-since false → copy');
  t.equal(await copy({ CopySourceIfNoneMatch: srcETag, CopySourceIfModifiedSince: before }), 'PreconditionFailed/412', 'if-none-match false + modified-since true → 412');
  t.ok((await getBytes(s3, { Bucket: B, Key: 'cond' })).equals(SRC));
});

t.test('URL-encoded copy-source keys with spaces, unicode and reserved characters', async (t) => {
  for (const key of ['dir/with space/file.txt', 'ünïcödé/€ 😀.bin', 'pct%20literal+plus&amp;=?#.txt', 'a//b/./../c']) {
    const body = Buffer.from(`body of ${key}`);
    await s3.send(new PutObjectCommand({ Bucket: A, Key: key, Body: body }));
    const encoded = key.split('/').map(encodeURIComponent).join('/');
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: `copied/${key}`, CopySource: `${A}/${encoded}` }));
    t.ok((await getBytes(s3, { Bucket: B, Key: `copied/${key}` })).equals(body), `copy of ${JSON.stringify(key)}`);
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: `copied2/${key}`, CopySource: encodeURIComponent(`${A}/${key}`) }));
    t.ok((await getBytes(s3, { Bucket: B, Key: `copied2/${key}` })).equals(body), `fully encoded source ${JSON.stringify(key)}`);
  }
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'bad', CopySource: `${A}/%E0%A4%A` }))), 'InvalidArgument/400', 'broken percent-encoding');
});

t.test('a copy source naming a parameter other than versionId is InvalidArgument, nothing copied', async (t) => {
  // A key holding an unencoded `?` (`a?b` sent as is) reached s3d as the key `a` and a parameter
  // it ignored: the copy took another object, or answered NoSuchKey for one that exists.
  await s3.send(new PutObjectCommand({ Bucket: A, Key: 'q', Body: 'the object q' }));
  await s3.send(new PutObjectCommand({ Bucket: A, Key: 'q?x', Body: 'the object q?x' }));
  for (const source of [`${A}/q?x`, `${A}/q?nonsense=1`, `${A}/q?versionId=null&nonsense`, `${A}/q?versionId=null&versionId=null`]) {
    t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'unsupported', CopySource: source }))), 'InvalidArgument/400', source);
  }
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'unsupported' }))), 'NotFound/404', 'nothing was copied');
  // The one parameter S3 takes there, and an empty query, still copy.
  await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'supported', CopySource: `${A}/q?versionId=null` }));
  t.equal((await getBytes(s3, { Bucket: B, Key: 'supported' })).toString(), 'the object q');
  await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'supported', CopySource: `${A}/${encodeURIComponent('q?x')}?` }));
  t.equal((await getBytes(s3, { Bucket: B, Key: 'supported' })).toString(), 'the object q?x');
});

t.test('a copy source naming no valid bucket, or no key, is 400 InvalidArgument with S3\u2019s texts', async (t) => {
  // An invalid source bucket name was 404 NoSuchBucket; S3 refuses the header itself.
  for (const source of ['192.168.1.1/foo', 'my-buc@k&()t/obj', `${A.toUpperCase()}/q`, '', '/']) {
    t.same(await sdkFailure(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'nope', CopySource: source }))), { name: 'InvalidArgument', status: 400, message: 'Invalid copy source bucket name' }, JSON.stringify(source));
  }
  for (const source of [A, `${A}/`, `/${A}/`]) {
    t.same(await sdkFailure(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'nope', CopySource: source }))), { name: 'InvalidArgument', status: 400, message: 'Invalid copy source object key' }, JSON.stringify(source));
  }
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'nope' }))), 'NotFound/404', 'nothing was copied');
});

t.test('a copy source that is not percent-encoded UTF-8 is 400 InvalidArgument "Invalid copy source encoding", nothing copied', async (t) => {
  // S3's answer to a source with a bare % (paws-r/paws#819: `bucket/rm/%01file%/output.txt`;
  // versitygw's CopyObject_invalid_copy_source); s3d said the source must name a bucket and key.
  const message = 'Invalid copy source encoding';
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'enc' }));
  for (const source of [`${A}/%ZZ`, `${A}/%A/bar`, `${A}/%1`, `${A}/%C3%`, `${A}/rm/%01file%/output.txt`, '100%/foo/bar', '%']) {
    t.same(await sdkFailure(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'enc', CopySource: source }))), { name: 'InvalidArgument', status: 400, message }, `CopyObject ${JSON.stringify(source)}`);
    t.same(await sdkFailure(s3.send(new UploadPartCopyCommand({ Bucket: B, Key: 'enc', UploadId: up.UploadId, PartNumber: 1, CopySource: source }))), { name: 'InvalidArgument', status: 400, message }, `UploadPartCopy ${JSON.stringify(source)}`);
  }
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'enc' }))), 'NotFound/404', 'nothing was copied');
  t.same((await s3.send(new ListPartsCommand({ Bucket: B, Key: 'enc', UploadId: up.UploadId }))).Parts ?? [], [], 'no part was copied');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'enc', UploadId: up.UploadId }));
});

t.test('UploadPartCopy judges the copy source after the bucket and before the upload id', async (t) => {
  // versitygw's UploadPartCopy tests, checked against S3: a source naming no source is refused
  // under an upload id that names no upload; a missing bucket is NoSuchBucket first. s3d answered
  // NoSuchUpload, whatever the copy source said.
  const part = (Bucket: string, CopySource: string): Promise<unknown> => s3.send(new UploadPartCopyCommand({ Bucket, Key: 'part', UploadId: 'no-such-upload', PartNumber: 1, CopySource }));
  for (const [source, message] of [
    ['bucket/%ZZ', 'Invalid copy source encoding'],
    ['192.168.1.1/foo', 'Invalid copy source bucket name'],
    ['my-buc@k&()t/obj', 'Invalid copy source bucket name'],
    [A, 'Invalid copy source object key'],
    [`${A}/`, 'Invalid copy source object key'],
  ] as const) {
    t.same(await sdkFailure(part(B, source)), { name: 'InvalidArgument', status: 400, message }, JSON.stringify(source));
  }
  t.equal(await s3Code(part(bucketName('cp-none'), 'Copy-Source')), 'NoSuchBucket/404', 'a missing bucket before the copy source');
  t.equal(await s3Code(part(B, `${A}/q`)), 'NoSuchUpload/404', 'a well-formed source: the upload id is judged');
});

t.test('an access point ARN as the copy source is 400 InvalidArgument saying s3d has none', async (t) => {
  // S3 answers an ARN it cannot use "Invalid copy source bucket name" (aws-sdk-php#2299); a
  // well-formed one names an access point there, which s3d does not have: the answer says so
  // rather than call a well-formed ARN a bad bucket name.
  const message = 'Invalid copy source bucket name: s3d has no access points; name the source bucket/key.';
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'arn' }));
  for (const source of [
    'arn:aws:s3:us-east-1:123456789012:accesspoint/my-ap/object/q',
    `/arn:aws:s3:us-east-1:123456789012:accesspoint/my-ap/object/${encodeURIComponent('q?x')}?versionId=null`,
    encodeURIComponent('arn:aws:s3-outposts:us-east-1:123456789012:outpost/op-01ac5d28a6a232904/accesspoint/ap/object/q'),
    'arn:aws:s3-object-lambda:us-east-1:123456789012:accesspoint/olap/object/q',
  ]) {
    t.same(await sdkFailure(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'arn', CopySource: source }))), { name: 'InvalidArgument', status: 400, message }, `CopyObject ${source}`);
    t.same(await sdkFailure(s3.send(new UploadPartCopyCommand({ Bucket: B, Key: 'arn', UploadId: up.UploadId, PartNumber: 1, CopySource: source }))), { name: 'InvalidArgument', status: 400, message }, `UploadPartCopy ${source}`);
  }
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'arn' }))), 'NotFound/404', 'nothing was copied');
  t.equal((await s3.send(new ListPartsCommand({ Bucket: B, Key: 'arn', UploadId: up.UploadId }))).Parts, undefined, 'no part was stored');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'arn', UploadId: up.UploadId }));
});

t.test('a copy of a multipart object is a single-part object with the MD5 ETag', async (t) => {
  const p1 = testBytes(5 * MiB, 71);
  const p2 = testBytes(1000, 72);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: A, Key: 'mp-src' }));
  const e1 = (await s3.send(new UploadPartCommand({ Bucket: A, Key: 'mp-src', UploadId: up.UploadId, PartNumber: 1, Body: p1 }))).ETag;
  const e2 = (await s3.send(new UploadPartCommand({ Bucket: A, Key: 'mp-src', UploadId: up.UploadId, PartNumber: 2, Body: p2 }))).ETag;
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: A, Key: 'mp-src', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] } }));
  const r = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'mp-copy', CopySource: `${A}/mp-src` }));
  const all = Buffer.concat([p1, p2]);
  t.equal(r.CopyObjectResult?.ETag, `"${md5Hex(all)}"`);
  t.ok((await getBytes(s3, { Bucket: B, Key: 'mp-copy' })).equals(all));
  const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'mp-copy' }));
  t.equal(h.PartsCount, undefined);
  // x-amz-copy-source-range is UploadPartCopy's: CopyObject does not read it, well-formed or not,
  // and copies the whole source (README; no record of S3's answer to it on CopyObject was found).
  for (const range of ['bytes=0-9', 'bytes=abc']) {
    const ranged = await s3.send(withHeaders(new CopyObjectCommand({ Bucket: B, Key: 'mp-copy-ranged', CopySource: `${A}/mp-src` }), { 'x-amz-copy-source-range': range }));
    t.equal(ranged.CopyObjectResult?.ETag, `"${md5Hex(all)}"`, `x-amz-copy-source-range ${range} on CopyObject: the whole source copied`);
  }
});

t.test('an SSE-C key rotation in place of a multipart object keeps it as it was: its ETag and parts (as MinIO’s; README)', async (t) => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const p1 = testBytes(5 * MiB, 73);
  const p2 = testBytes(1000, 74);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: A, Key: 'mp-rot', ...ssec(keyA) }));
  const e1 = (await s3.send(new UploadPartCommand({ Bucket: A, Key: 'mp-rot', UploadId: up.UploadId, PartNumber: 1, Body: p1, ...ssec(keyA) }))).ETag;
  const e2 = (await s3.send(new UploadPartCommand({ Bucket: A, Key: 'mp-rot', UploadId: up.UploadId, PartNumber: 2, Body: p2, ...ssec(keyA) }))).ETag;
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: A, Key: 'mp-rot', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] }, ...ssec(keyA) }));
  const rot = await s3.send(new CopyObjectCommand({ Bucket: A, Key: 'mp-rot', CopySource: `${A}/mp-rot`, ...ssecCopy(keyA), ...ssec(keyB) }));
  t.equal(rot.CopyObjectResult?.ETag, done.ETag, 'the multipart ETag kept');
  const h = await s3.send(new HeadObjectCommand({ Bucket: A, Key: 'mp-rot', PartNumber: 2, ...ssec(keyB) }));
  t.same([h.PartsCount, h.ContentLength, h.ETag], [2, p2.length, done.ETag], 'its parts kept: part 2 read by number with the new key');
});

t.test('a 64 MiB copy streams: exact bytes, daemon RSS grows far less than the object', async (t) => {
  const big = testBytes(64 * MiB, 81);
  await s3.send(new PutObjectCommand({ Bucket: A, Key: 'big', Body: big }));
  // A first copy allocates what every copy reuses (crypto slots, body pieces): not measured.
  await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'warm-up', CopySource: `${A}/big` }));
  await sleep(500);
  const base = rssKiB(d.proc.pid!);
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKiB(d.proc.pid!));
  }, 10);
  try {
    const r = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'big-copy', CopySource: `${A}/big` }));
    t.equal(r.CopyObjectResult?.ETag, `"${md5Hex(big)}"`);
  } finally {
    clearInterval(sampler);
  }
  const growthMiB = (peak - base) / 1024;
  t.comment(`daemon RSS ${Math.round(base / 1024)} MiB before, peak +${growthMiB.toFixed(1)} MiB during the copy`);
  t.ok(growthMiB < 32, `RSS growth ${growthMiB.toFixed(1)} MiB < 32 MiB (the object is 64 MiB)`);
  t.ok((await getBytes(s3, { Bucket: B, Key: 'big-copy' })).equals(big), 'exact bytes');
});

t.test('SSE-C key rotation in place: the object still reads after the reaper grace', async (t) => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const body = testBytes(400_000, 91);
  await s3.send(new PutObjectCommand({ Bucket: A, Key: 'rot', Body: body, ...ssec(keyA) }));
  await s3.send(new CopyObjectCommand({ Bucket: A, Key: 'rot', CopySource: `${A}/rot`, ...ssecCopy(keyA), ...ssec(keyB) }));
  // The reaper deletes queued files 5 s after first seeing them (passes every 2 s).
  await sleep(8_000);
  t.ok((await getBytes(s3, { Bucket: A, Key: 'rot', ...ssec(keyB) })).equals(body), 'the rotated object still has its data file');
});

t.test('an SSE-C key rotation in place announces the expiry a lifecycle rule gives the object, as every other copy does', async (t) => {
  const bucket = await createBucket(s3, 'cprot');
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: { Rules: [{ ID: 'month', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 30 } }] },
    }),
  );
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'rot', Body: 'rotate me', ...ssec(keyA) }));
  t.match(put.Expiration ?? '', /^expiry-date="[^"]+ 00:00:00 GMT", rule-id="month"$/, 'PutObject announces the expiry');
  const rot = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'rot', CopySource: `${bucket}/rot`, ...ssecCopy(keyA), ...ssec(keyB) }));
  t.match(rot.Expiration ?? '', /^expiry-date="[^"]+ 00:00:00 GMT", rule-id="month"$/, 'the rotation (a CopyObject) announces it too');
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'rot', ...ssec(keyB) }));
  t.equal(rot.Expiration, head.Expiration, 'the same expiry HEAD announces for the rotated object');
});

t.test('x-amz-checksum-algorithm on a copy: the copy gets that checksum of its bytes, in the result and on HEAD', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: A, Key: 'sum-src', Body: 'hello', ChecksumAlgorithm: 'SHA256' }));
  // CRC32C("hello"), as S3 gives it.
  const out = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'sum-dst', CopySource: `${A}/sum-src`, ChecksumAlgorithm: 'CRC32C' }));
  t.equal(out.CopyObjectResult?.ChecksumCRC32C, 'mnG7TA==', 'CopyObjectResult carries the CRC32C of the bytes');
  const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'sum-dst', ChecksumMode: 'ENABLED' }));
  t.equal(head.ChecksumCRC32C, 'mnG7TA==', 'HEAD with ChecksumMode returns it');
  t.equal(head.ChecksumSHA256, undefined, 'and not the source\u2019s SHA-256');
  // SSE-C key rotation onto itself with a new algorithm reads the bytes to compute it; the SDK
  // checks the value against the bytes it downloads (ChecksumMode ENABLED).
  const body = testBytes(300_000, 93);
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  await s3.send(new PutObjectCommand({ Bucket: A, Key: 'sum-rot', Body: body, ...ssec(keyA) }));
  const rot = await s3.send(new CopyObjectCommand({ Bucket: A, Key: 'sum-rot', CopySource: `${A}/sum-rot`, ...ssecCopy(keyA), ...ssec(keyB), ChecksumAlgorithm: 'CRC32' }));
  t.type(rot.CopyObjectResult?.ChecksumCRC32, 'string', 'an SSE-C rotation asked for a checksum computes it');
  const got = await s3.send(new GetObjectCommand({ Bucket: A, Key: 'sum-rot', ChecksumMode: 'ENABLED', ...ssec(keyB) }));
  t.equal(got.ChecksumCRC32, rot.CopyObjectResult?.ChecksumCRC32, 'GET returns the same value');
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), 'and the SDK found it matches the bytes');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'bad', CopySource: `${A}/sum-src`, ChecksumAlgorithm: 'MD4' as never }))), 'InvalidRequest/400', 'an unknown algorithm is refused');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'bad', CopySource: `${A}/sum-src`, ChecksumAlgorithm: 'MD5' as never }))), 'NotImplemented/501', 'one S3 computes and s3d does not: 501');
});
