// Arguments longer than anything s3d stores, against the built daemon: listing prefixes and
// markers past the 1,024-byte key limit, upload ids of another shape than s3d's, bucket names
// and ListBuckets prefixes longer than any bucket's name. Each used to reach an LMDB key lmdb-js could not build (a RangeError,
// 500 InternalError logged with its stack); S3's answers instead: a prefix longer than any key
// matches nothing, a longer marker bounds the listing as it is (keys compare as UTF-8 bytes), and
// the response echoes each argument as it was given; NoSuchUpload, NoSuchBucket.

import t from 'tap';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { errorCode, send, xmlField } from '../helpers/http.js';
import { createBucket, expectS3Error } from '../helpers/s3.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const BUCKET = await createBucket(s3, 'long');

const utf8After = (key: string, marker: string): boolean => Buffer.compare(Buffer.from(key), Buffer.from(marker)) > 0;
const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

// Keys at the 1,024-byte limit that share the markers' first bytes: one is a prefix of a marker
// (it sorts before it), the others differ from it in their last byte or character.
const KEYS = [
  'k'.repeat(1024),
  'k'.repeat(1023) + 'l',
  'k'.repeat(10),
  'l',
  'é'.repeat(512),
  'é'.repeat(511) + 'f',
  'é'.repeat(511) + 'ê',
].sort(utf8Order);
// 5,000 bytes each; the second is cut (to 1,025 bytes) inside a two-byte character.
const MARKERS = ['k'.repeat(5000), 'é'.repeat(2500), 'k'.repeat(1025)];
const LONG_PREFIX = 'k'.repeat(5000);

for (const key of KEYS) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
const uploads = new Map<string, string>();
for (const key of KEYS) uploads.set(key, (await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }))).UploadId!);

t.test('a listing prefix longer than any key matches nothing, and is echoed', async (t) => {
  const v2 = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: LONG_PREFIX }));
  t.same([v2.Prefix, v2.KeyCount, v2.Contents ?? [], v2.IsTruncated], [LONG_PREFIX, 0, [], false], 'ListObjectsV2');
  const v1 = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: LONG_PREFIX, Delimiter: '/' }));
  t.same([v1.Prefix, v1.Contents ?? [], v1.CommonPrefixes ?? [], v1.IsTruncated], [LONG_PREFIX, [], [], false], 'ListObjects');
  const ver = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: LONG_PREFIX }));
  t.same([ver.Prefix, ver.Versions ?? [], ver.IsTruncated], [LONG_PREFIX, [], false], 'ListObjectVersions');
  const up = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: LONG_PREFIX }));
  t.same([up.Prefix, up.Uploads ?? [], up.IsTruncated], [LONG_PREFIX, [], false], 'ListMultipartUploads');
});

t.test('a marker longer than any key lists the keys after it, and is echoed', async (t) => {
  for (const marker of MARKERS) {
    const want = KEYS.filter((k) => utf8After(k, marker));
    const what = `a ${Buffer.byteLength(marker)}-byte marker of ${marker[0]}`;
    const v2 = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, StartAfter: marker }));
    t.same([v2.StartAfter, (v2.Contents ?? []).map((c) => c.Key)], [marker, want], `ListObjectsV2 start-after, ${what}`);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Marker: marker }));
    t.same([v1.Marker, (v1.Contents ?? []).map((c) => c.Key)], [marker, want], `ListObjects marker, ${what}`);
    const ver = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, KeyMarker: marker }));
    t.same([ver.KeyMarker, (ver.Versions ?? []).map((v) => v.Key)], [marker, want], `ListObjectVersions key-marker, ${what}`);
    const verId = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, KeyMarker: marker, VersionIdMarker: 'null' }));
    t.same([verId.KeyMarker, (verId.Versions ?? []).map((v) => v.Key)], [marker, want], `ListObjectVersions key-marker and version-id-marker, ${what}`);
    const up = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, KeyMarker: marker }));
    t.same([up.KeyMarker, (up.Uploads ?? []).map((u) => u.Key)], [marker, want], `ListMultipartUploads key-marker, ${what}`);
    // An upload-id marker of s3d's shape naming no upload (aborted or completed since) places the
    // marker by its initiation time: never a key past the 1,024-byte limit (no upload has one).
    const goneId = '018f00000000' + 'A'.repeat(24);
    const gone = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, KeyMarker: marker, UploadIdMarker: goneId }));
    t.same([gone.KeyMarker, gone.UploadIdMarker, (gone.Uploads ?? []).map((u) => u.Key)], [marker, goneId, want], `ListMultipartUploads key-marker and a gone upload-id-marker, ${what}`);
    // An upload-id marker longer than s3d's ids cannot mark a place: 400, as S3 answers one.
    await expectS3Error(t, s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, KeyMarker: marker, UploadIdMarker: 'u'.repeat(5000) })), 'InvalidArgument', 400, `ListMultipartUploads key-marker and a long upload-id-marker, ${what}`);
  }
});

t.test('an upload id s3d never made (one longer than its ids among them) is NoSuchUpload', async (t) => {
  const key = KEYS[0]!;
  const real = uploads.get(key)!;
  const parts = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: real }));
  t.equal(parts.UploadId, real, 'an id s3d made is still found');
  for (const id of ['u'.repeat(5000), real + 'x'.repeat(5000), `${real}/`, 'u'.repeat(36)]) {
    const what = `a ${id.length}-character upload id`;
    await expectS3Error(t, s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 1, Body: 'x' })), 'NoSuchUpload', 404, `UploadPart, ${what}`);
    await expectS3Error(t, s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 1, CopySource: `${BUCKET}/l` })), 'NoSuchUpload', 404, `UploadPartCopy, ${what}`);
    await expectS3Error(t, s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id })), 'NoSuchUpload', 404, `ListParts, ${what}`);
    await expectS3Error(t, s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id })), 'NoSuchUpload', 404, `AbortMultipartUpload, ${what}`);
    await expectS3Error(
      t,
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"0cc175b9c0f1b6a831c399e269772661"' }] } })),
      'NoSuchUpload',
      404,
      `CompleteMultipartUpload, ${what}`,
    );
  }
});

t.test('a bucket name longer than any bucket\'s names no bucket', async (t) => {
  const long = 'b'.repeat(5000);
  for (const [method, path, query] of [
    ['GET', `/${long}`, ''],
    ['HEAD', `/${long}`, ''],
    ['GET', `/${long}`, 'uploads='],
    ['DELETE', `/${long}`, ''],
    ['PUT', `/${long}/k`, ''],
    ['GET', `/${long}/k`, ''],
  ] as const) {
    const res = await send(d.port, { method, path, query, ...(method === 'PUT' ? { body: 'x' } : {}) });
    t.same([res.status, method === 'HEAD' ? 'NoSuchBucket' : errorCode(res.body)], [404, 'NoSuchBucket'], `${method} ${query === '' ? '' : `?${query} `}on a 5,000-character bucket name`);
  }
  // A copy source no bucket could be named by is S3's 400 InvalidArgument, never looked up (s3-copy).
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy', CopySource: `${long}/k` })), 'InvalidArgument', 400, 'CopyObject from a 5,000-character bucket name');
});

t.test('nothing was logged as an internal error', async (t) => {
  t.same(
    d.jsonLogs().filter((l) => typeof l.level === 'number' && l.level >= 50).map((l) => l.msg),
    [],
  );
});

t.test('a ListBuckets prefix longer than any bucket name matches no bucket, and is echoed', async (t) => {
  // Past a few KiB the prefix was no key lmdb-js could build: 500 InternalError, its stack logged.
  for (const prefix of ['b'.repeat(64), 'l'.repeat(5000), 'é'.repeat(2500)]) {
    const what = `a ${Buffer.byteLength(prefix)}-byte prefix of ${prefix[0]}`;
    const all = await s3.send(new ListBucketsCommand({ Prefix: prefix }));
    t.same([all.Prefix, all.Buckets ?? [], all.ContinuationToken], [prefix, [], undefined], `ListBuckets, ${what}`);
    const paged = await s3.send(new ListBucketsCommand({ Prefix: prefix, MaxBuckets: 1 }));
    t.same([paged.Prefix, paged.Buckets ?? [], paged.ContinuationToken], [prefix, [], undefined], `ListBuckets with MaxBuckets, ${what}`);
  }
  // The bucket's own name as the prefix still finds it (the bound is a bucket name's length).
  t.same((await s3.send(new ListBucketsCommand({ Prefix: BUCKET }))).Buckets?.map((b) => b.Name), [BUCKET], 'its name as the prefix lists the bucket');
  const res = await send(d.port, { method: 'GET', path: '/', query: `prefix=${'l'.repeat(5000)}&max-buckets=2` });
  t.same([res.status, xmlField(res.body, 'Prefix')], [200, 'l'.repeat(5000)], 'raw: 200, the prefix echoed');
  t.notOk(d.jsonLogs().some((l) => l.op === 'ListBuckets' && l.level === 50), 'no internal error logged');
});
