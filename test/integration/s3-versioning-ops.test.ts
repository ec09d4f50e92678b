// Bucket versioning against the built daemon, written from S3's documented semantics: the other
// operations on versions. Conditional requests, CopyObject and UploadPartCopy from a version (an
// old version copied over its key, also from under a delete marker), multipart, DeleteObjects with
// version ids, tagging per version, a recreated bucket, data files kept for noncurrent versions
// and freed by deletes, encryption per version (SSE-S3, none, SSE-C, SSE-KMS over TLS; no
// plaintext of the encrypted ones on disk), and a restart. The versions themselves (markers,
// deletes by id, the null version, Suspended, listings) are in s3-versioning-core.test.ts.
import t from 'tap';
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { startDaemon, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { countFiles, filesContaining, inspectDataDir, waitForFileCounts } from '../helpers/files.js';
import { md5Base64 } from '../helpers/hash.js';
import { raw } from '../helpers/http.js';
import { bodyBytes, clientWithoutResponseChecksums, createBucket, getBytes, s3Code, sdkFailure } from '../helpers/s3.js';
import { ssec } from '../helpers/sse.js';
import { MISSING_VID, objectPath, VID, versionHelpers, versionQuery } from '../helpers/versions.js';
import { sleep } from '../helpers/wait.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const { setVersioning, versionedBucket, put, putV, getString, deleteLatest, listing, historyOf, currentKeys } = versionHelpers(s3);

// ---- 10. CopyObject -----------------------------------------------------------------------------

t.test('CopyObject from a version, onto a versioned destination, and from delete markers', async (t) => {
  const src = await versionedBucket('vcpys');
  const dst = await versionedBucket('vcpyd');
  const s1 = await putV(t, src, 'src', 'source one', { Metadata: { gen: '1' } });
  const s2 = await putV(t, src, 'src', 'source two!', { Metadata: { gen: '2' } });

  const c1 = await s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'copy', CopySource: `${src}/src?versionId=${s1}` }));
  t.equal(c1.CopySourceVersionId, s1, 'CopySourceVersionId is the version copied');
  t.match(c1.VersionId, VID, 'the destination gets a new version id');
  t.not(c1.VersionId, s1);
  t.not(c1.VersionId, s2);
  const g = await s3.send(new GetObjectCommand({ Bucket: dst, Key: 'copy' }));
  t.equal(await g.Body?.transformToString(), 'source one', 'the old version’s bytes were copied');
  t.same(g.Metadata, { gen: '1' }, 'and its metadata');
  t.equal(g.VersionId, c1.VersionId);

  const c2 = await s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'copy', CopySource: `${src}/src` }));
  t.equal(c2.CopySourceVersionId, s2, 'a copy without versionId names the latest source version');
  t.match(c2.VersionId, VID);
  t.same(await historyOf(dst, 'copy'), { v: [[c2.VersionId ?? '', true], [c1.VersionId ?? '', false]], m: [] }, 'two versions at the destination');
  t.equal(await getString(dst, 'copy', c1.VersionId), 'source one');
  t.equal(await getString(dst, 'copy'), 'source two!');

  // Restoring an old version: copy it onto its own key.
  const restore = await s3.send(new CopyObjectCommand({ Bucket: src, Key: 'src', CopySource: `${src}/src?versionId=${s1}` }));
  t.equal(restore.CopySourceVersionId, s1);
  t.match(restore.VersionId, VID);
  t.equal(await getString(src, 'src'), 'source one', 'the restored copy is the latest');
  t.same(await historyOf(src, 'src'), { v: [[restore.VersionId ?? '', true], [s2, false], [s1, false]], m: [] }, 'the restore is a new version; the others stay');

  const sm = await deleteLatest(t, src, 'src');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'x', CopySource: `${src}/src` }))), 'NoSuchKey/404', 'copy of a key whose latest is a marker → NoSuchKey');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'x', CopySource: `${src}/src?versionId=${sm}` }))), 'InvalidRequest/400', "copy naming a marker's version → InvalidRequest");
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'x', CopySource: `${src}/src?versionId=${MISSING_VID}` }))), 'NoSuchVersion/404', 'copy of a version that does not exist → NoSuchVersion');
  t.same(await historyOf(dst, 'x'), { v: [], m: [] }, 'the refused copies wrote nothing');
  const c3 = await s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'x', CopySource: `${src}/src?versionId=${s2}` }));
  t.equal(c3.CopySourceVersionId, s2, 'an older version still copies behind the marker');
  t.equal(await getString(dst, 'x'), 'source two!');
});

// ---- 11. multipart ---------------------------------------------------------------------------

t.test('CompleteMultipartUpload in a versioned bucket returns a new version id', async (t) => {
  const bucket = await versionedBucket('vmpu');
  const v1 = await putV(t, bucket, 'mp', 'small single-part first version');
  const part1 = testBytes(5 * 1024 * 1024, 31);
  const part2 = testBytes(1000, 32);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));
  const e1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: part1 }));
  const e2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 2, Body: part2 }));
  const done = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: 'mp',
      UploadId: up.UploadId,
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: e1.ETag },
          { PartNumber: 2, ETag: e2.ETag },
        ],
      },
    }),
  );
  t.match(done.VersionId, VID, 'CompleteMultipartUpload returns a VersionId');
  t.not(done.VersionId, v1);
  t.match(done.ETag, /^"[0-9a-f]{32}-2"$/);
  const whole = Buffer.concat([part1, part2]);
  const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp' }));
  t.equal(g.VersionId, done.VersionId, 'the multipart object is the latest version');
  t.ok((await bodyBytes(g)).equals(whole), 'its bytes');
  const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mp', VersionId: done.VersionId }));
  t.equal(h.ContentLength, whole.length, 'HEAD by id: Content-Length');
  t.equal(h.ETag, done.ETag);
  t.equal(await getString(bucket, 'mp', v1), 'small single-part first version', 'the previous version remains readable');
  t.same(await historyOf(bucket, 'mp'), { v: [[done.VersionId ?? '', true], [v1, false]], m: [] });
});

// S3 versions a multipart object by the bucket's state at completion, not at initiation, and a
// Suspended completion answers no x-amz-version-id (CloudServer's "Complete MPU" tests; the
// PutObject reference's Suspended sample): it is the null version and replaces the key's null one.
t.test('CompleteMultipartUpload across a versioning change: the state at completion decides', async (t) => {
  const bucket = await createBucket(s3, 'vmpus');
  await put(bucket, 'k', 'unversioned');
  await setVersioning(bucket, 'Enabled');
  const start = async (): Promise<() => Promise<string | undefined>> => {
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'k' }));
    const p = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'k', UploadId: up.UploadId, PartNumber: 1, Body: `part of ${up.UploadId}` }));
    const Parts = [{ PartNumber: 1, ETag: p.ETag }];
    return async () => (await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'k', UploadId: up.UploadId, MultipartUpload: { Parts } }))).VersionId;
  };
  const startedEnabled = await start();
  const v1 = await putV(t, bucket, 'k', 'v1');
  await setVersioning(bucket, 'Suspended');
  t.equal(await startedEnabled(), undefined, 'started Enabled, completed Suspended: no version id answered');
  t.same(await historyOf(bucket, 'k'), { v: [['null', true], [v1, false]], m: [] }, 'the null version, replacing the unversioned one; v1 stays');
  t.match(await getString(bucket, 'k', 'null'), /^part of /, 'versionId=null reads the multipart object');
  const startedSuspended = await start();
  await setVersioning(bucket, 'Enabled');
  const v2 = await startedSuspended();
  t.match(v2, VID, 'started Suspended, completed Enabled: a new version id');
  t.same(await historyOf(bucket, 'k'), { v: [[v2 ?? '', true], ['null', false], [v1, false]], m: [] }, 'the null version stays, noncurrent');
});

// ---- 12. DeleteObjects ------------------------------------------------------------------------

t.test('DeleteObjects with and without version ids', async (t) => {
  const bucket = await versionedBucket('vbatch');
  const x1 = await putV(t, bucket, 'x', 'x1');
  const x2 = await putV(t, bucket, 'x', 'x2');
  const y1 = await putV(t, bucket, 'y', 'y1');
  const z1 = await putV(t, bucket, 'z', 'z1');
  const w1 = await putV(t, bucket, 'w', 'w1');
  const wm = await deleteLatest(t, bucket, 'w');

  const r = await s3.send(
    new DeleteObjectsCommand({
      Bucket: bucket,
      Delete: {
        Objects: [{ Key: 'x', VersionId: x1 }, { Key: 'y' }, { Key: 'w', VersionId: wm }, { Key: 'z', VersionId: z1 }],
      },
    }),
  );
  t.equal(r.Errors, undefined, 'no errors');
  const byKey = new Map((r.Deleted ?? []).map((e) => [e.Key, e]));
  t.same([...byKey.keys()].sort(), ['w', 'x', 'y', 'z'], 'every entry reported deleted');
  t.equal(byKey.get('x')?.VersionId, x1, 'x: VersionId echoed');
  t.not(byKey.get('x')?.DeleteMarker, true, 'x: an object version, no marker');
  t.equal(byKey.get('z')?.VersionId, z1, 'z: VersionId echoed');
  t.equal(byKey.get('w')?.VersionId, wm, 'w: the marker’s VersionId echoed');
  t.equal(byKey.get('w')?.DeleteMarker, true, 'w: DeleteMarker true (a marker was removed)');
  const wdmv = byKey.get('w')?.DeleteMarkerVersionId;
  t.ok(wdmv === undefined || wdmv === wm, `w: DeleteMarkerVersionId absent or the marker (got ${wdmv})`);
  t.equal(byKey.get('y')?.DeleteMarker, true, 'y: a marker was created');
  const ym = byKey.get('y')?.DeleteMarkerVersionId;
  t.match(ym, VID, 'y: DeleteMarkerVersionId is the new marker');
  t.not(ym, y1);

  t.same(await historyOf(bucket, 'x'), { v: [[x2, true]], m: [] }, 'x: only x1 removed');
  t.same(await historyOf(bucket, 'y'), { v: [[y1, false]], m: [[ym ?? '', true]] }, 'y: the new marker is latest');
  t.same(await historyOf(bucket, 'w'), { v: [[w1, true]], m: [] }, 'w: the marker removed, w1 current again');
  t.same(await historyOf(bucket, 'z'), { v: [], m: [] }, 'z: its only version removed');
  t.same(await currentKeys(bucket), ['w', 'x'], 'ListObjectsV2 after the batch');
  t.equal(await getString(bucket, 'w'), 'w1');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'y' }))), 'NoSuchKey/404');

  // Quiet: nothing reported, the work still done.
  const q = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Quiet: true, Objects: [{ Key: 'x', VersionId: x2 }, { Key: 'y', VersionId: ym }] } }));
  t.equal(q.Deleted, undefined, 'Quiet lists no successes');
  t.equal(q.Errors, undefined);
  t.same(await historyOf(bucket, 'x'), { v: [], m: [] }, 'Quiet: x2 removed');
  t.same(await historyOf(bucket, 'y'), { v: [[y1, true]], m: [] }, 'Quiet: the y marker removed, y1 current again');
});

// ---- 13. tagging per version ----------------------------------------------------------------

t.test('object tagging per version', async (t) => {
  const bucket = await versionedBucket('vtag');
  const v1 = await putV(t, bucket, 'tg', 'one', { Tagging: 'gen=1' });
  const v2 = await putV(t, bucket, 'tg', 'two', { Tagging: 'gen=2' });
  const tags = async (VersionId?: string): Promise<{ set: Array<[string, string]>; id: string | undefined }> => {
    const r = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tg', ...(VersionId ? { VersionId } : {}) }));
    return { set: (r.TagSet ?? []).map((x): [string, string] => [x.Key!, x.Value!]), id: r.VersionId };
  };
  t.same(await tags(v1), { set: [['gen', '1']], id: v1 }, 'GetObjectTagging v1');
  t.same(await tags(), { set: [['gen', '2']], id: v2 }, 'GetObjectTagging latest → v2');

  const p1 = await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'tg', VersionId: v1, Tagging: { TagSet: [{ Key: 'k', Value: 'old' }] } }));
  t.equal(p1.VersionId, v1, 'PutObjectTagging echoes the version');
  t.same((await tags(v1)).set, [['k', 'old']], 'v1 retagged');
  t.same((await tags(v2)).set, [['gen', '2']], 'v2 untouched');

  const p2 = await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'tg', Tagging: { TagSet: [{ Key: 'k', Value: 'new' }, { Key: 'n', Value: '2' }] } }));
  t.equal(p2.VersionId, v2, 'PutObjectTagging without a version tags the latest');
  t.same((await tags(v2)).set, [['k', 'new'], ['n', '2']]);
  t.same((await tags(v1)).set, [['k', 'old']], 'v1 untouched');

  const dtag = await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'tg', VersionId: v1 }));
  t.equal(dtag.VersionId, v1, 'DeleteObjectTagging echoes the version');
  t.same((await tags(v1)).set, [], 'v1 tags gone');
  t.same((await tags(v2)).set, [['k', 'new'], ['n', '2']], 'v2 tags kept');

  const g1 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'tg', VersionId: v1 }));
  t.notOk(g1.TagCount, 'GET v1: no tag count');
  const g2 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'tg', VersionId: v2 }));
  t.equal(g2.TagCount, 2, 'GET v2: x-amz-tagging-count 2');
  t.same(await historyOf(bucket, 'tg'), { v: [[v2, true], [v1, false]], m: [] }, 'tagging made no new versions');
  t.equal(await getString(bucket, 'tg', v1), 'one', 'v1 data untouched by tagging');

  // With a delete marker on top, the tagging calls without a version id are 405, as S3 answers
  // them (LocalStack's AWS-checked recordings, moto, CloudServer); s3d said 404 NoSuchKey.
  const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'tg' }));
  const tagDoc = '<Tagging><TagSet><Tag><Key>x</Key><Value>y</Value></Tag></TagSet></Tagging>';
  for (const [method, body] of [['GET', undefined], ['PUT', tagDoc], ['DELETE', undefined]] as const) {
    const r = await raw(d.port, { method, path: `/${bucket}/tg`, query: 'tagging', ...(body !== undefined ? { body, headers: { 'content-md5': createHash('md5').update(body).digest('base64') } } : {}) });
    t.equal(r.status, 405, `${method} ?tagging on a delete marker: 405`);
    t.match(r.body.toString(), /<Code>MethodNotAllowed<\/Code>/, `${method}: MethodNotAllowed`);
    t.same([r.headers['x-amz-delete-marker'], r.headers['x-amz-version-id'], r.headers.allow], ['true', del.VersionId, 'DELETE'], `${method}: the marker's headers`);
  }
  t.same((await tags(v2)).set, [['k', 'new'], ['n', '2']], 'v2 keeps its tags');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'tg' }))), 'NoSuchKey/404', 'GET of the key stays 404');
});

// ---- more S3 semantics around versions ---------------------------------------------------------

t.test('conditional PUTs and GETs see the latest version (a delete marker means no object)', async (t) => {
  const bucket = await versionedBucket('vcond');
  const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'first', IfNoneMatch: '*' }));
  t.match(first.VersionId, VID, 'If-None-Match: * on a new key creates a version');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x', IfNoneMatch: '*' }))), 'PreconditionFailed/412', 'If-None-Match: * with a live latest version');
  const second = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'second', IfMatch: first.ETag }));
  t.match(second.VersionId, VID, 'If-Match with the latest ETag');
  t.equal(
    await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x', IfMatch: first.ETag }))),
    'PreconditionFailed/412',
    'If-Match with the ETag of a noncurrent version',
  );
  const marker = await deleteLatest(t, bucket, 'k');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x', IfMatch: second.ETag }))), 'NoSuchKey/404', 'If-Match when the latest is a delete marker');
  const third = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'third', IfNoneMatch: '*' }));
  t.match(third.VersionId, VID, 'If-None-Match: * succeeds when the latest is a delete marker');
  t.same(
    await historyOf(bucket, 'k'),
    {
      v: [
        [third.VersionId ?? '', true],
        [second.VersionId ?? '', false],
        [first.VersionId ?? '', false],
      ],
      m: [[marker, false]],
    },
    'the refused writes made no versions',
  );

  // Conditional GETs against a named version use that version's ETag.
  const notModified = await raw(d.port, { method: 'GET', path: objectPath(bucket, 'k'), query: versionQuery(first.VersionId ?? ''), headers: { 'if-none-match': first.ETag ?? '' } });
  t.equal(notModified.status, 304, "GET ?versionId=v1 with If-None-Match: <v1's ETag> → 304");
  const matched = await raw(d.port, { method: 'GET', path: objectPath(bucket, 'k'), query: versionQuery(first.VersionId ?? ''), headers: { 'if-match': first.ETag ?? '' } });
  t.equal(matched.status, 200, "GET ?versionId=v1 with If-Match: <v1's ETag> → 200");
  t.equal(matched.body.toString(), 'first');
  const failed = await raw(d.port, { method: 'GET', path: objectPath(bucket, 'k'), query: versionQuery(first.VersionId ?? ''), headers: { 'if-match': third.ETag ?? '' } });
  t.equal(failed.status, 412, "GET ?versionId=v1 with If-Match: <latest's ETag> → 412");

  const attrs = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'k', VersionId: first.VersionId, ObjectAttributes: ['ETag', 'ObjectSize'] }));
  t.equal(attrs.VersionId, first.VersionId, 'GetObjectAttributes by version: VersionId');
  t.equal(attrs.ObjectSize, 5, 'GetObjectAttributes by version: its size');
  t.equal(`"${attrs.ETag}"`, first.ETag, 'GetObjectAttributes by version: its ETag');
});

t.test('copy onto the same key, UploadPartCopy from a version, and a recreated bucket', async (t) => {
  const bucket = await versionedBucket('vcp2');
  const v1 = await putV(t, bucket, 'k', 'original', { Metadata: { gen: '1' }, ContentType: 'text/x-one' });
  const self = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'k', CopySource: `${bucket}/k`, MetadataDirective: 'REPLACE', Metadata: { gen: '2' }, ContentType: 'text/x-two' }));
  t.match(self.VersionId, VID, 'a metadata-replacing copy onto itself makes a new version');
  t.not(self.VersionId, v1);
  t.equal(self.CopySourceVersionId, v1);
  const h1 = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k', VersionId: v1 }));
  t.same([h1.Metadata, h1.ContentType], [{ gen: '1' }, 'text/x-one'], 'the old version keeps its metadata');
  const h2 = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));
  t.same([h2.Metadata, h2.ContentType, h2.VersionId], [{ gen: '2' }, 'text/x-two', self.VersionId], 'the new version has the new metadata');
  t.equal(await getString(bucket, 'k'), 'original', 'same bytes');

  // A copy source naming a version, the current one too, is a plain copy: S3 refuses a copy onto
  // itself that changes nothing only when no version is named (moto #7303, checked against AWS).
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'k', CopySource: `${bucket}/k` }))), 'InvalidRequest/400', 'no version named, nothing changed → InvalidRequest');
  const named = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'k', CopySource: `${bucket}/k?versionId=${self.VersionId}` }));
  t.match(named.VersionId, VID, 'naming the current version: a new version');
  t.not(named.VersionId, self.VersionId);
  t.equal(named.CopySourceVersionId, self.VersionId);
  const h3 = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));
  t.same([h3.Metadata, h3.ContentType, h3.VersionId], [{ gen: '2' }, 'text/x-two', named.VersionId], 'it copies the named version as it is');
  t.equal(await getString(bucket, 'k'), 'original', 'same bytes again');

  // UploadPartCopy from an old version.
  const big1 = testBytes(5 * 1024 * 1024 + 100, 41);
  const big2 = testBytes(5 * 1024 * 1024 + 100, 42);
  const b1 = await putV(t, bucket, 'big', big1);
  await putV(t, bucket, 'big', big2);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'assembled' }));
  const pc = await s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'assembled', UploadId: up.UploadId, PartNumber: 1, CopySource: `${bucket}/big?versionId=${b1}` }));
  t.equal(pc.CopySourceVersionId, b1, 'UploadPartCopy: CopySourceVersionId');
  const p2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'assembled', UploadId: up.UploadId, PartNumber: 2, Body: 'tail' }));
  const done = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: 'assembled',
      UploadId: up.UploadId,
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: pc.CopyPartResult?.ETag },
          { PartNumber: 2, ETag: p2.ETag },
        ],
      },
    }),
  );
  t.match(done.VersionId, VID);
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'assembled' })).equals(Buffer.concat([big1, Buffer.from('tail')])), 'the part was copied from the old version');

  // A deleted and recreated bucket starts unversioned and empty.
  const gone = await versionedBucket('vrecreate');
  const g1 = await putV(t, gone, 'x', 'x');
  await s3.send(new DeleteObjectCommand({ Bucket: gone, Key: 'x', VersionId: g1 }));
  await s3.send(new DeleteBucketCommand({ Bucket: gone }));
  await s3.send(new CreateBucketCommand({ Bucket: gone }));
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: gone }))).Status, undefined, 'the recreated bucket is unversioned');
  t.same(await listing(gone), { versions: [], markers: [], prefixes: [] }, 'and lists no versions');
  t.equal(await put(gone, 'x', 'new'), undefined, 'and a PUT answers no version id');
});

t.test('noncurrent versions keep their data files; deleting a version by id frees its file', async (t) => {
  const own = await startDaemonFor(t);
  const c = own.s3();
  const bucket = await versionedBucket('vfiles', c);
  const big = (n: number): Buffer => testBytes(300 * 1024, 100 + n);
  const v1 = await putV(t, bucket, 'f', big(1), {}, c);
  const v2 = await putV(t, bucket, 'f', big(2), {}, c);
  const base = countFiles(own.dataDir).data;
  t.equal(base, 2, 'each file-backed version has its own data file');
  const m = await deleteLatest(t, bucket, 'f', c);
  // Delete v1 by id; then, Suspended, write the null version twice (the second replaces the first).
  await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'f', VersionId: v1 }));
  await setVersioning(bucket, 'Suspended', c);
  await put(bucket, 'f', big(3), {}, c);
  await put(bucket, 'f', big(4), {}, c);
  t.same(await historyOf(bucket, 'f', c), { v: [['null', true], [v2, false]], m: [[m, false]] }, 'v2, the marker and one null version');
  // The reaper deletes queued files ~5 s after their commit: v1's and the first null version's.
  const settled = await waitForFileCounts(own.dataDir, (x) => x.data <= 2, 12_000);
  await sleep(1000);
  t.equal(countFiles(own.dataDir).data, 2, `the freed files are gone, the live ones stay (${settled.data})`);
  t.ok((await getBytes(c, { Bucket: bucket, Key: 'f', VersionId: v2 })).equals(big(2)), 'v2 (noncurrent since the overwrite and the marker) reads back after the grace');
  t.ok((await getBytes(c, { Bucket: bucket, Key: 'f', VersionId: 'null' })).equals(big(4)), 'the null version reads back');
  t.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: bucket, Key: 'f', VersionId: v1 }))), 'NoSuchVersion/404', 'v1 is gone');

  for (const id of ['null', v2, m]) await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'f', VersionId: id }));
  await own.stop();
  // Stopped: no record points at a data file any more, and every file left is queued for the reaper.
  const state = await inspectDataDir(own.dataDir);
  t.equal(state.referenced.size, 0, 'deleting every version leaves no referenced data file');
  t.same(
    state.data.filter((f) => !state.queued.includes(f)),
    [],
    `every remaining data file is queued for deletion (${state.data.length} files, ${state.queued.length} queued)`,
  );
  t.same(state.missing, [], 'no record points at a missing file');
});

// ---- 15 & 16. encryption per version, then a restart (TLS for SSE-C) ---------------------------

function patterned(unit: string, size: number): Buffer {
  const u = Buffer.from(unit);
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += u.length) u.copy(b, i, 0, Math.min(u.length, size - i));
  return b;
}

t.test('versions keep their own encryption; versions, markers and status survive a restart', async (t) => {
  let d1: TestDaemon | undefined = await startDaemon({ tls: true });
  const dataDir = d1.dataDir;
  let d2: TestDaemon | undefined;
  t.teardown(async () => {
    await d1?.stop();
    await d2?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}-certs`, { recursive: true, force: true });
  });
  const c1 = clientWithoutResponseChecksums(d1);
  const customerKey = randomBytes(32);
  const otherKey = randomBytes(32);
  const bucket = await versionedBucket('venc', c1);
  const key = 'enc/object';
  const bodies = {
    s3: patterned('<<v1-SSE-S3-PLAINTEXT-CANARY>>', 200 * 1024),
    none: patterned('<<v2-NONE-PLAINTEXT-CANARY>>', 3000),
    ssec: patterned('<<v3-SSE-C-PLAINTEXT-CANARY>>', 200 * 1024),
    kms: patterned('<<v4-SSE-KMS-PLAINTEXT-CANARY>>', 5000),
  };

  const p1 = await c1.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bodies.s3, ServerSideEncryption: 'AES256' }));
  t.equal(p1.ServerSideEncryption, 'AES256', 'v1 PUT: SSE-S3');
  const p2 = await c1.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bodies.none }));
  const p3 = await c1.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bodies.ssec, ...ssec(customerKey) }));
  t.equal(p3.SSECustomerAlgorithm, 'AES256', 'v3 PUT: SSE-C');
  const p4 = await c1.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bodies.kms, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'test-key' }));
  t.equal(p4.ServerSideEncryption, 'aws:kms', 'v4 PUT: SSE-KMS');
  const [v1, v2, v3, v4] = [p1.VersionId ?? 'v1?', p2.VersionId ?? 'v2?', p3.VersionId ?? 'v3?', p4.VersionId ?? 'v4?'];
  for (const v of [v1, v2, v3, v4]) t.match(v, VID, 'encrypted PUT returns a version id');
  t.equal(new Set([v1, v2, v3, v4]).size, 4);

  const readAll = async (c: S3Client, what: string): Promise<void> => {
    const g1 = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: v1 }));
    t.ok((await bodyBytes(g1)).equals(bodies.s3), `${what}: v1 (SSE-S3) bytes`);
    t.equal(g1.ServerSideEncryption, 'AES256', `${what}: v1 reports AES256`);
    const g2 = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: v2 }));
    t.ok((await bodyBytes(g2)).equals(bodies.none), `${what}: v2 (no SSE header) bytes, no key needed`);
    t.equal(g2.SSECustomerAlgorithm, undefined, `${what}: v2 is not SSE-C`);
    t.not(g2.ServerSideEncryption, 'aws:kms', `${what}: v2 is not SSE-KMS`);
    const g3 = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: v3, ...ssec(customerKey) }));
    t.ok((await bodyBytes(g3)).equals(bodies.ssec), `${what}: v3 (SSE-C) bytes with its key`);
    t.equal(g3.SSECustomerKeyMD5, md5Base64(customerKey), `${what}: v3 echoes the key MD5`);
    const g3r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: v3, Range: 'bytes=70000-70099', ...ssec(customerKey) }));
    t.ok((await bodyBytes(g3r)).equals(bodies.ssec.subarray(70000, 70100)), `${what}: v3 range`);
    t.equal(await s3Code(c.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: v3 }))), 'InvalidRequest/400', `${what}: v3 without its key → InvalidRequest`);
    t.equal((await sdkFailure(c.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: v3 })))).status, 400, `${what}: HEAD v3 without its key → 400`);
    const wrong = await sdkFailure(c.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: v3, ...ssec(otherKey) })));
    t.equal(wrong.status, 403, `${what}: v3 with another key → 403`);
    const g4 = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: v4 }));
    t.ok((await bodyBytes(g4)).equals(bodies.kms), `${what}: v4 (SSE-KMS) bytes`);
    t.equal(g4.ServerSideEncryption, 'aws:kms', `${what}: v4 reports aws:kms`);
  };
  await readAll(c1, 'before restart');
  t.equal((await c1.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).VersionId, v4, 'latest is v4');

  // The SSE-C version as latest needs its key.
  const p5 = await c1.send(new PutObjectCommand({ Bucket: bucket, Key: 'c-latest', Body: 'customer keyed', ...ssec(customerKey) }));
  t.equal(await s3Code(c1.send(new GetObjectCommand({ Bucket: bucket, Key: 'c-latest' }))), 'InvalidRequest/400', 'latest SSE-C version without its key → InvalidRequest');
  const g5 = await c1.send(new GetObjectCommand({ Bucket: bucket, Key: 'c-latest', ...ssec(customerKey) }));
  t.equal(await g5.Body?.transformToString(), 'customer keyed');
  t.ok(p5.VersionId, 'the SSE-C PUT got a version id');
  t.equal(g5.VersionId, p5.VersionId);

  // A marker on top, a suspended bucket with a null version, and a plain bucket.
  const marker = await deleteLatest(t, bucket, key, c1);
  const suspended = await versionedBucket('vencs', c1);
  const sv = await putV(t, suspended, 'k', 'real', {}, c1);
  await setVersioning(suspended, 'Suspended', c1);
  await put(suspended, 'k', 'null version', {}, c1);

  // At rest: the unencrypted version is stored as sent (the control: the scan sees plaintext where
  // it is), the encrypted versions leave no plaintext anywhere under the data dir.
  const unitOf = (body: Buffer): Buffer => body.subarray(0, body.indexOf('>>') + 2);
  t.not(filesContaining(dataDir, unitOf(bodies.none)).length, 0, 'control: the unencrypted version is visible on disk');
  for (const [name, body] of Object.entries(bodies)) {
    if (name === 'none') continue;
    t.same(filesContaining(dataDir, unitOf(body)), [], `no plaintext of the ${name} version on disk`);
  }

  const before = await listing(bucket, {}, c1);
  const beforeSusp = await listing(suspended, {}, c1);
  t.same(
    before.versions.filter((r) => r[0] === key).map((r) => [r[1], r[2]]),
    [
      [v4, false],
      [v3, false],
      [v2, false],
      [v1, false],
    ],
    'four noncurrent versions',
  );
  t.same(before.markers, [[key, marker, true]], 'the marker is latest');

  t.equal(await d1.stop(), 0, 'first daemon stopped cleanly');
  d1 = undefined;
  const state = await inspectDataDir(dataDir);
  t.same(state.missing, [], 'stopped: every version record has its data file');
  t.same(
    state.orphans.filter((f) => !state.queued.includes(f)),
    [],
    'stopped: no data file is unreferenced (other than queued for deletion)',
  );
  d2 = await startDaemon({ tls: true, dataDir });
  const c2 = clientWithoutResponseChecksums(d2);
  t.equal((await c2.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Enabled', 'Enabled survives the restart');
  t.equal((await c2.send(new GetBucketVersioningCommand({ Bucket: suspended }))).Status, 'Suspended', 'Suspended survives the restart');
  t.same(await listing(bucket, {}, c2), before, 'the versioned bucket lists the same versions and markers');
  t.same(await listing(suspended, {}, c2), beforeSusp, 'the suspended bucket lists the same versions');
  t.same(beforeSusp.versions, [
    ['k', 'null', true],
    ['k', sv, false],
  ]);
  await readAll(c2, 'after restart');
  t.equal(await s3Code(c2.send(new GetObjectCommand({ Bucket: bucket, Key: key }))), 'NoSuchKey/404', 'the marker still hides the key');
  t.equal(await s3Code(c2.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: marker }))), 'MethodNotAllowed/405', 'the marker by id → 405');
  t.equal(await getString(suspended, 'k', 'null', c2), 'null version');
  t.equal(await getString(suspended, 'k', sv, c2), 'real');

  const v6 = await putV(t, bucket, key, 'after restart', {}, c2);
  t.notOk([v1, v2, v3, v4, marker].includes(v6), 'a new, distinct version id after the restart');
  const h = await historyOf(bucket, key, c2);
  t.same(h.v.map((x) => x[0]), [v6, v4, v3, v2, v1], 'the new version is listed first');
  t.equal(h.v[0]?.[1], true, 'and is latest');
  t.same(h.m, [[marker, false]], 'the marker is now noncurrent');
  t.equal(await getString(bucket, key, undefined, c2), 'after restart');
});

t.test('an old version copied over its key restores it, also when a delete marker is on top', async (t) => {
  const b = await versionedBucket('restore');
  const v1 = await putV(t, b, 'k', 'first');
  await putV(t, b, 'k', 'second');
  await deleteLatest(t, b, 'k');
  const restored = await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'k', CopySource: `${b}/k?versionId=${v1}` }));
  t.equal(restored.CopySourceVersionId, v1, 'the source version is named');
  t.ok(restored.VersionId && restored.VersionId !== v1, 'a new version is made');
  t.equal(await getString(b, 'k'), 'first', 'the key reads the restored body');
});
