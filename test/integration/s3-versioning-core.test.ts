// Bucket versioning (Status Enabled, then Suspended) against the built daemon, written from S3's
// documented semantics, the versions themselves: PutBucketVersioning/GetBucketVersioning, a new
// version id (UUID) per PUT, GET/HEAD/Range of older versions by id, delete markers (404 with
// x-amz-delete-marker, 405 when named), permanent deletes by version id (the previous version
// becomes current), NoSuchVersion, the null version (objects written before versioning, and while
// Suspended), ListObjectVersions (order, IsLatest, prefix, delimiter, paging with key and
// version-id markers at several page sizes), ListObjects/ListObjectsV2 hiding delete-marked keys,
// DeleteBucket with only noncurrent versions and markers left, and concurrent writers. The other
// operations on versions are in s3-versioning-ops.test.ts.
import t from 'tap';
import {
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { bucketName, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { errorCode, raw } from '../helpers/http.js';
import { bodyBytes, clientWithoutResponseChecksums, createBucket, s3Code, sdkFailure } from '../helpers/s3.js';
import { MISSING_VID, objectPath, VID, versionHelpers, versionQuery, type Row } from '../helpers/versions.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
/** For ranged GETs (see clientWithoutResponseChecksums). */
const s3r = clientWithoutResponseChecksums(d);
const { setVersioning, versionedBucket, put, putV, getString, deleteLatest, listing, historyOf, currentKeys } = versionHelpers(s3);

// ---- 1. configuration --------------------------------------------------------------------------

t.test('PutBucketVersioning Enabled and Suspended, GetBucketVersioning; MFA Delete refused', async (t) => {
  const bucket = await createBucket(s3, 'vcfg');
  const put1 = await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  t.equal(put1.$metadata.httpStatusCode, 200, 'PutBucketVersioning Enabled → 200');
  const g1 = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  t.equal(g1.Status, 'Enabled', 'GetBucketVersioning → Enabled');
  t.not(g1.MFADelete, 'Enabled', 'MFA Delete is not enabled');

  t.equal(
    await s3Code(s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Enabled' } }))),
    'NotImplemented/501',
    'MFADelete Enabled → 501 NotImplemented',
  );
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Enabled', 'still Enabled after the refused MFA Delete');

  const put2 = await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
  t.equal(put2.$metadata.httpStatusCode, 200, 'PutBucketVersioning Suspended → 200');
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Suspended', 'GetBucketVersioning → Suspended');
  await setVersioning(bucket, 'Enabled');
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Enabled', 'Enabled again after Suspended');

  t.equal(
    await s3Code(s3.send(new PutBucketVersioningCommand({ Bucket: bucketName('none'), VersioningConfiguration: { Status: 'Enabled' } }))),
    'NoSuchBucket/404',
    'PutBucketVersioning on a missing bucket',
  );
  t.equal(await s3Code(s3.send(new GetBucketVersioningCommand({ Bucket: bucketName('none') }))), 'NoSuchBucket/404', 'GetBucketVersioning on a missing bucket');

  // Another bucket is not affected.
  const other = await createBucket(s3, 'vcfg-other');
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: other }))).Status, undefined, 'a new bucket is unversioned');
});

// ---- 2. versions on PUT, GET and HEAD by id -----------------------------------------------------

t.test('each PUT makes a version; GET/HEAD read the newest or a named version, ranges included', async (t) => {
  const bucket = await versionedBucket('vput');
  const key = 'doc/a.bin';
  const bodies = [testBytes(1000, 1), testBytes(200 * 1024, 2), Buffer.from('third and newest version')];
  const types = ['application/x-v0', 'application/x-v1', 'text/plain'];
  const ids: string[] = [];
  const etags: string[] = [];
  for (let i = 0; i < bodies.length; i++) {
    const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bodies[i], ContentType: types[i], Metadata: { gen: String(i) } }));
    t.match(r.VersionId, VID, `PUT ${i}: VersionId is a UUID string`);
    t.match(r.ETag, /^"[0-9a-f]{32}"$/, `PUT ${i}: ETag`);
    ids.push(r.VersionId ?? `missing-${i}`);
    etags.push(r.ETag ?? '');
  }
  t.equal(new Set(ids).size, 3, 'three distinct version ids');
  t.equal(new Set(etags).size, 3, 'three distinct ETags');

  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  t.ok((await bodyBytes(got)).equals(bodies[2]!), 'GET without versionId reads the newest bytes');
  t.equal(got.VersionId, ids[2], 'GET: x-amz-version-id is the newest version');
  t.equal(got.ETag, etags[2]);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  t.equal(head.VersionId, ids[2], 'HEAD: x-amz-version-id is the newest version');
  t.equal(head.ContentLength, bodies[2]!.length);
  const rawGet = await raw(d.port, { method: 'GET', path: objectPath(bucket, key) });
  t.equal(rawGet.status, 200);
  t.equal(rawGet.headers['x-amz-version-id'], ids[2], 'raw GET carries x-amz-version-id');

  for (let i = 0; i < bodies.length; i++) {
    const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: ids[i] }));
    t.ok((await bodyBytes(g)).equals(bodies[i]!), `GET version ${i}: its own bytes`);
    t.equal(g.VersionId, ids[i], `GET version ${i}: VersionId echoed`);
    t.equal(g.ETag, etags[i], `GET version ${i}: its ETag`);
    t.equal(g.ContentLength, bodies[i]!.length, `GET version ${i}: its Content-Length`);
    t.equal(g.ContentType, types[i], `GET version ${i}: its Content-Type`);
    t.same(g.Metadata, { gen: String(i) }, `GET version ${i}: its metadata`);
    const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: ids[i] }));
    t.equal(h.VersionId, ids[i], `HEAD version ${i}: VersionId`);
    t.equal(h.ContentLength, bodies[i]!.length, `HEAD version ${i}: Content-Length`);
    t.equal(h.ETag, etags[i], `HEAD version ${i}: ETag`);
    t.same(h.Metadata, { gen: String(i) }, `HEAD version ${i}: metadata`);
  }

  const r0 = await s3r.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: ids[0], Range: 'bytes=100-199' }));
  t.equal(r0.$metadata.httpStatusCode, 206, 'Range GET of an old version → 206');
  t.equal(r0.ContentRange, `bytes 100-199/${bodies[0]!.length}`);
  t.equal(r0.VersionId, ids[0]);
  t.ok((await bodyBytes(r0)).equals(bodies[0]!.subarray(100, 200)), 'the old version’s range bytes');
  const r1 = await s3r.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: ids[1], Range: 'bytes=-70000' }));
  t.equal(r1.ContentRange, `bytes ${bodies[1]!.length - 70000}-${bodies[1]!.length - 1}/${bodies[1]!.length}`, 'suffix range of a file-backed old version');
  t.ok((await bodyBytes(r1)).equals(bodies[1]!.subarray(bodies[1]!.length - 70000)), 'suffix range bytes');
  const r2 = await s3r.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: ids[1], Range: 'bytes=65530-65545' }));
  t.ok((await bodyBytes(r2)).equals(bodies[1]!.subarray(65530, 65546)), 'a range across a 64 KiB package boundary of an old version');

  const l = await historyOf(bucket, key);
  t.same(l.v, [[ids[2], true], [ids[1], false], [ids[0], false]], 'listed newest first, IsLatest on the newest only');
  t.same(l.m, []);
});

// ---- 3 & 4. delete markers ---------------------------------------------------------------------

t.test('DELETE without a version id adds a delete marker; GET/HEAD of it', async (t) => {
  const bucket = await versionedBucket('vdm');
  const key = 'doc';
  const v1 = await putV(t, bucket, key, 'version one');
  const v2 = await putV(t, bucket, key, 'version two');
  await put(bucket, 'other', 'unrelated');

  const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  t.equal(del.$metadata.httpStatusCode, 204, 'DELETE → 204');
  t.equal(del.DeleteMarker, true, 'DeleteMarker: true');
  t.match(del.VersionId, VID, "the marker's VersionId");
  const m1 = del.VersionId ?? '';
  t.not(m1, v1);
  t.not(m1, v2);

  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))), 'NoSuchKey/404', 'GET after the marker → NoSuchKey');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))), 'NotFound/404', 'HEAD after the marker → 404');
  const rg = await raw(d.port, { method: 'GET', path: objectPath(bucket, key) });
  t.equal(rg.status, 404, 'raw GET → 404');
  t.equal(errorCode(rg.body), 'NoSuchKey', 'raw GET: <Code>NoSuchKey</Code>');
  t.equal(rg.headers['x-amz-delete-marker'], 'true', 'raw GET: x-amz-delete-marker: true');
  t.equal(rg.headers['x-amz-version-id'], m1, "raw GET: x-amz-version-id is the marker's");
  const rh = await raw(d.port, { method: 'HEAD', path: objectPath(bucket, key) });
  t.equal(rh.status, 404, 'raw HEAD → 404');
  t.equal(rh.headers['x-amz-delete-marker'], 'true', 'raw HEAD: x-amz-delete-marker: true');
  t.equal(rh.headers['x-amz-version-id'], m1, "raw HEAD: x-amz-version-id is the marker's");

  t.same(await currentKeys(bucket), ['other'], 'ListObjectsV2 no longer shows the key');
  t.equal(await getString(bucket, key, v1), 'version one', 'v1 still readable by id');
  t.equal(await getString(bucket, key, v2), 'version two', 'v2 still readable by id');
  t.same(await historyOf(bucket, key), { v: [[v2, false], [v1, false]], m: [[m1, true]] }, 'versions noncurrent, the marker latest');

  // A second marker on top of the first (raw, to see the DELETE response headers).
  const rd = await raw(d.port, { method: 'DELETE', path: objectPath(bucket, key) });
  t.equal(rd.status, 204, 'second DELETE → 204');
  t.equal(rd.headers['x-amz-delete-marker'], 'true', 'DELETE response: x-amz-delete-marker: true');
  const m2 = String(rd.headers['x-amz-version-id']);
  t.match(m2, VID, 'DELETE response: x-amz-version-id');
  t.not(m2, m1, 'a new marker');
  t.same(await historyOf(bucket, key), { v: [[v2, false], [v1, false]], m: [[m2, true], [m1, false]] }, 'two markers, the newest is latest');

  // 4. Naming a marker's version: 405 MethodNotAllowed with x-amz-delete-marker.
  for (const [which, id] of [
    ['latest marker', m2],
    ['noncurrent marker', m1],
  ] as const) {
    t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: id }))), 'MethodNotAllowed/405', `GET ?versionId=<${which}> → 405`);
    t.equal((await sdkFailure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: id })))).status, 405, `HEAD ?versionId=<${which}> → 405`);
    const g = await raw(d.port, { method: 'GET', path: objectPath(bucket, key), query: versionQuery(id) });
    t.equal(g.status, 405, `raw GET <${which}> → 405`);
    t.equal(errorCode(g.body), 'MethodNotAllowed', `raw GET <${which}>: <Code>MethodNotAllowed</Code>`);
    t.equal(g.headers['x-amz-delete-marker'], 'true', `raw GET <${which}>: x-amz-delete-marker: true`);
    const h = await raw(d.port, { method: 'HEAD', path: objectPath(bucket, key), query: versionQuery(id) });
    t.equal(h.status, 405, `raw HEAD <${which}> → 405`);
    t.equal(h.headers['x-amz-delete-marker'], 'true', `raw HEAD <${which}>: x-amz-delete-marker: true`);
    // S3 documents the marker's Last-Modified on this 405 (GetObject's DeleteMarker).
    for (const [verb, r] of [['GET', g], ['HEAD', h]] as const) {
      const lm = Date.parse(String(r.headers['last-modified']));
      t.ok(Math.abs(lm - Date.now()) < 10 * 60_000, `raw ${verb} <${which}>: Last-Modified is the marker's (${String(r.headers['last-modified'])})`);
    }
  }

  // S3: a DELETE of a key that never existed, in a versioned bucket, still adds a marker.
  const ghost = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'ghost' }));
  t.equal(ghost.DeleteMarker, true, 'DELETE of a key that never existed adds a marker');
  t.match(ghost.VersionId, VID);
  t.same(await historyOf(bucket, 'ghost'), { v: [], m: [[ghost.VersionId ?? '', true]] }, 'the ghost marker is listed');
  t.same(await currentKeys(bucket), ['other'], 'markers are never listed by ListObjectsV2');
});

// ---- 5. permanent deletes by version id ---------------------------------------------------------

t.test('DELETE with a version id removes exactly that version; the previous one becomes current', async (t) => {
  const bucket = await versionedBucket('vdel');
  const key = 'k';
  const v1 = await putV(t, bucket, key, 'one');
  const v2 = await putV(t, bucket, key, 'two');
  const v3 = await putV(t, bucket, key, 'three');
  const m = await deleteLatest(t, bucket, key);

  const dm = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: m }));
  t.equal(dm.$metadata.httpStatusCode, 204, 'DELETE of the marker → 204');
  t.equal(dm.VersionId, m, 'the response names the marker');
  t.equal(dm.DeleteMarker, true, 'DeleteMarker: true when the removed version was a marker');
  const g3 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  t.equal(await g3.Body?.transformToString(), 'three', 'removing the latest marker makes v3 current again');
  t.equal(g3.VersionId, v3);
  t.same(await currentKeys(bucket), [key], 'ListObjectsV2 shows the key again');
  t.same(await historyOf(bucket, key), { v: [[v3, true], [v2, false], [v1, false]], m: [] }, 'the marker is gone from the listing');

  const d3 = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: v3 }));
  t.equal(d3.$metadata.httpStatusCode, 204);
  t.equal(d3.VersionId, v3, 'the response names the removed version');
  t.not(d3.DeleteMarker, true, 'no DeleteMarker for an object version');
  const g2 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  t.equal(await g2.Body?.transformToString(), 'two', 'removing the current version makes v2 current');
  t.equal(g2.VersionId, v2);
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: v3 }))), 'NoSuchVersion/404', 'the removed version is gone');

  const d1 = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: v1 }));
  t.equal(d1.VersionId, v1);
  t.equal(await getString(bucket, key), 'two', 'removing a noncurrent version leaves the current one');
  t.same(await historyOf(bucket, key), { v: [[v2, true]], m: [] });

  const d2 = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: v2 }));
  t.equal(d2.VersionId, v2);
  t.same(await historyOf(bucket, key), { v: [], m: [] }, 'removing every version empties the key');
  t.same(await currentKeys(bucket), []);
  const rg = await raw(d.port, { method: 'GET', path: objectPath(bucket, key) });
  t.equal(rg.status, 404);
  t.equal(errorCode(rg.body), 'NoSuchKey', 'GET of the emptied key → NoSuchKey');
  t.equal(rg.headers['x-amz-delete-marker'], undefined, 'no x-amz-delete-marker when there is no marker');
  const again = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: v2 }));
  t.equal(again.VersionId, v2, 'DELETE of a version already removed: 204 with its id, as S3 answers a repeated delete');
});

// ---- 6. missing versions ----------------------------------------------------------------------

t.test('a version id that does not exist: NoSuchVersion (DELETE: done); versionId=null without a null version', async (t) => {
  const bucket = await versionedBucket('vmiss');
  const v1 = await putV(t, bucket, 'k', 'present');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', VersionId: MISSING_VID }))), 'NoSuchVersion/404', 'GET');
  const rg = await raw(d.port, { method: 'GET', path: objectPath(bucket, 'k'), query: versionQuery(MISSING_VID) });
  t.equal(rg.status, 404, 'raw GET → 404');
  t.equal(errorCode(rg.body), 'NoSuchVersion', 'raw GET: <Code>NoSuchVersion</Code>');
  t.equal((await sdkFailure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k', VersionId: MISSING_VID })))).status, 404, 'HEAD → 404');
  t.equal((await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: MISSING_VID }))).VersionId, MISSING_VID, 'DELETE: 204, nothing to remove');
  t.equal(await s3Code(s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k', VersionId: MISSING_VID }))), 'NoSuchVersion/404', 'GetObjectTagging');
  // Created after versioning was enabled: there is no null version.
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }))), 'NoSuchVersion/404', 'GET versionId=null when there is no null version');
  t.equal((await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }))).VersionId, 'null', 'DELETE versionId=null when there is no null version: 204');
  t.same(await historyOf(bucket, 'k'), { v: [[v1, true]], m: [] }, 'none of these requests changed anything');
  t.equal(await getString(bucket, 'k'), 'present');
});

// ---- 7. ListObjectVersions ----------------------------------------------------------------------

t.test('ListObjectVersions: order, IsLatest, markers, prefix, delimiter, paging', async (t) => {
  const bucket = await createBucket(s3, 'vlist');
  await put(bucket, 'c', 'c null (written before versioning)');
  await setVersioning(bucket, 'Enabled');
  const a1 = await putV(t, bucket, 'a', 'a1');
  const a2 = await putV(t, bucket, 'a', 'a2-longer');
  const a3 = await putV(t, bucket, 'a', 'a3-longest!');
  const b11 = await putV(t, bucket, 'b/1', 'b11');
  const b12 = await putV(t, bucket, 'b/1', 'b12');
  const b1m = await deleteLatest(t, bucket, 'b/1');
  const b2 = await putV(t, bucket, 'b/2', 'b2');
  const bc = await putV(t, bucket, 'b/c/3', 'bc3');
  const bcm = await deleteLatest(t, bucket, 'b/c/3');
  const c1 = await putV(t, bucket, 'c', 'c1');
  const d1 = await putV(t, bucket, 'd', 'd1');
  const dm = await deleteLatest(t, bucket, 'd');
  const d2 = await putV(t, bucket, 'd', 'd2');

  const expectedVersions: Row[] = [
    ['a', a3, true],
    ['a', a2, false],
    ['a', a1, false],
    ['b/1', b12, false],
    ['b/1', b11, false],
    ['b/2', b2, true],
    ['b/c/3', bc, false],
    ['c', c1, true],
    ['c', 'null', false],
    ['d', d2, true],
    ['d', d1, false],
  ];
  const expectedMarkers: Row[] = [
    ['b/1', b1m, true],
    ['b/c/3', bcm, true],
    ['d', dm, false],
  ];

  const all = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  t.equal(all.IsTruncated, false);
  t.same(
    (all.Versions ?? []).map((v): Row => [v.Key!, v.VersionId!, v.IsLatest === true]),
    expectedVersions,
    'Versions: keys in order, newest first per key, IsLatest on the newest only',
  );
  t.same(
    (all.DeleteMarkers ?? []).map((m): Row => [m.Key!, m.VersionId!, m.IsLatest === true]),
    expectedMarkers,
    'DeleteMarkers with IsLatest',
  );
  const sizes = Object.fromEntries((all.Versions ?? []).filter((v) => v.Key === 'a').map((v) => [v.VersionId!, v.Size]));
  t.same(sizes, { [a1]: 2, [a2]: 9, [a3]: 11 }, 'each version lists its own Size');
  for (const v of all.Versions ?? []) t.match(v.ETag, /^"[0-9a-f]{32}"$/, `ETag of ${v.Key} ${v.VersionId}`);
  for (const m of all.DeleteMarkers ?? []) t.type(m.LastModified, Date, `marker ${m.Key} has a LastModified`);
  // Exactly one IsLatest entry per key (version or marker).
  const latestPerKey = new Map<string, number>();
  for (const [k, , latest] of [...expectedVersions, ...expectedMarkers]) if (latest) latestPerKey.set(k, (latestPerKey.get(k) ?? 0) + 1);
  const listedLatest = new Map<string, number>();
  for (const x of [...(all.Versions ?? []), ...(all.DeleteMarkers ?? [])]) if (x.IsLatest) listedLatest.set(x.Key!, (listedLatest.get(x.Key!) ?? 0) + 1);
  t.same([...listedLatest.entries()].sort(), [...latestPerKey.entries()].sort(), 'one IsLatest per key');

  // The document itself interleaves versions and markers by key, newest first (as S3 does);
  // clients that keep the element order (minio-go, so mc ls --versions) show it as written.
  const rawList = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'versions' });
  t.equal(rawList.status, 200);
  const order = [...rawList.body.toString('utf8').matchAll(/<(Version|DeleteMarker)><Key>([^<]*)<\/Key><VersionId>([^<]*)<\/VersionId>/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
  t.same(
    order,
    [
      `Version a ${a3}`, `Version a ${a2}`, `Version a ${a1}`,
      `DeleteMarker b/1 ${b1m}`, `Version b/1 ${b12}`, `Version b/1 ${b11}`,
      `Version b/2 ${b2}`,
      `DeleteMarker b/c/3 ${bcm}`, `Version b/c/3 ${bc}`,
      `Version c ${c1}`, 'Version c null',
      `Version d ${d2}`, `DeleteMarker d ${dm}`, `Version d ${d1}`,
    ],
    'raw XML: Version and DeleteMarker elements interleaved in key order, newest first',
  );

  // Prefix.
  const pb = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'b/' }));
  t.equal(pb.Prefix, 'b/');
  t.same(
    (pb.Versions ?? []).map((v) => [v.Key, v.VersionId]),
    expectedVersions.filter((r) => r[0].startsWith('b/')).map((r) => [r[0], r[1]]),
    'Prefix b/: versions',
  );
  t.same(
    (pb.DeleteMarkers ?? []).map((m) => [m.Key, m.VersionId]),
    [
      ['b/1', b1m],
      ['b/c/3', bcm],
    ],
    'Prefix b/: markers',
  );
  // Delimiter.
  const top = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Delimiter: '/' }));
  t.same(
    (top.Versions ?? []).map((v) => [v.Key, v.VersionId]),
    expectedVersions.filter((r) => !r[0].includes('/')).map((r) => [r[0], r[1]]),
    'Delimiter /: versions of top-level keys only',
  );
  t.same((top.DeleteMarkers ?? []).map((m) => [m.Key, m.VersionId]), [['d', dm]], 'Delimiter /: markers of top-level keys only');
  t.same((top.CommonPrefixes ?? []).map((p) => p.Prefix), ['b/'], 'Delimiter /: CommonPrefixes');
  const inB = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'b/', Delimiter: '/' }));
  t.same(
    (inB.Versions ?? []).map((v) => [v.Key, v.VersionId]),
    [
      ['b/1', b12],
      ['b/1', b11],
      ['b/2', b2],
    ],
    'Prefix b/ Delimiter /: versions',
  );
  t.same((inB.DeleteMarkers ?? []).map((m) => [m.Key, m.VersionId]), [['b/1', b1m]], 'Prefix b/ Delimiter /: markers');
  t.same((inB.CommonPrefixes ?? []).map((p) => p.Prefix), ['b/c/'], 'Prefix b/ Delimiter /: CommonPrefixes');

  // Markers: a key's versions split across pages.
  const p1 = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 2 }));
  t.same((p1.Versions ?? []).map((v) => v.VersionId), [a3, a2], 'page of 2: the two newest versions of a');
  t.equal(p1.IsTruncated, true);
  t.equal(p1.MaxKeys, 2);
  t.equal(p1.NextKeyMarker, 'a', 'NextKeyMarker is the last key');
  t.equal(p1.NextVersionIdMarker, a2, 'NextVersionIdMarker is the last version listed');
  const p2 = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 2, KeyMarker: p1.NextKeyMarker, VersionIdMarker: p1.NextVersionIdMarker }));
  t.same((p2.Versions ?? []).map((v) => [v.Key, v.VersionId]), [['a', a1]], 'next page resumes with a1');
  t.same((p2.DeleteMarkers ?? []).map((m) => [m.Key, m.VersionId]), [['b/1', b1m]], "…then b/1's newest entry, its marker");
  t.equal(p2.KeyMarker, 'a', 'KeyMarker echoed');
  t.equal(p2.VersionIdMarker, a2, 'VersionIdMarker echoed');
  t.equal(p2.NextKeyMarker, 'b/1');
  t.equal(p2.NextVersionIdMarker, b1m);
  const afterA = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: 'a' }));
  t.notOk((afterA.Versions ?? []).some((v) => v.Key === 'a'), 'KeyMarker alone skips every version of that key');
  t.equal(afterA.Versions?.[0]?.Key, 'b/1');
  const afterC1 = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: 'c', VersionIdMarker: c1, MaxKeys: 1 }));
  t.same((afterC1.Versions ?? []).map((v) => [v.Key, v.VersionId]), [['c', 'null']], 'after c1 comes the null version of c');
  t.equal(await s3Code(s3.send(new ListObjectVersionsCommand({ Bucket: bucketName('none') }))), 'NoSuchBucket/404');

  // Following NextKeyMarker/NextVersionIdMarker visits everything exactly once, at every page size.
  for (const Delimiter of [undefined, '/']) {
    const want = Delimiter
      ? [
          ...expectedVersions.filter((r) => !r[0].includes('/')).map((r) => `V:${r[0]}:${r[1]}:${r[2]}`),
          ...expectedMarkers.filter((r) => !r[0].includes('/')).map((r) => `D:${r[0]}:${r[1]}:${r[2]}`),
          'P:b/',
        ]
      : [...expectedVersions.map((r) => `V:${r[0]}:${r[1]}:${r[2]}`), ...expectedMarkers.map((r) => `D:${r[0]}:${r[1]}:${r[2]}`)];
    for (const MaxKeys of [1, 2, 3, 1000]) {
      const seen: string[] = [];
      let KeyMarker: string | undefined;
      let VersionIdMarker: string | undefined;
      let pages = 0;
      let oversized = 0;
      let done = false;
      for (let i = 0; i < 50; i++) {
        const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Delimiter, MaxKeys, KeyMarker, VersionIdMarker }));
        pages++;
        const n = (r.Versions?.length ?? 0) + (r.DeleteMarkers?.length ?? 0) + (r.CommonPrefixes?.length ?? 0);
        if (n > MaxKeys) oversized++;
        seen.push(
          ...(r.Versions ?? []).map((v) => `V:${v.Key}:${v.VersionId}:${v.IsLatest === true}`),
          ...(r.DeleteMarkers ?? []).map((m) => `D:${m.Key}:${m.VersionId}:${m.IsLatest === true}`),
          ...(r.CommonPrefixes ?? []).map((p) => `P:${p.Prefix}`),
        );
        if (!r.IsTruncated) {
          done = true;
          break;
        }
        KeyMarker = r.NextKeyMarker;
        VersionIdMarker = r.NextVersionIdMarker;
        if (KeyMarker === undefined) break;
      }
      const what = `delimiter=${Delimiter ?? 'none'} MaxKeys=${MaxKeys}`;
      t.ok(done, `${what}: the last page says IsTruncated false`);
      t.equal(oversized, 0, `${what}: no page holds more than MaxKeys entries`);
      t.same([...seen].sort(), [...want].sort(), `${what}: every version, marker and prefix exactly once`);
      if (MaxKeys === 1) t.equal(pages, want.length, `${what}: one entry per page`);
      if (MaxKeys === 1000) t.equal(pages, 1, `${what}: a single page`);
    }
  }
});

// ---- 8. the null version of objects written before versioning ---------------------------------

t.test('objects written before versioning keep the null version', async (t) => {
  const bucket = await createBucket(s3, 'vnull');
  const before = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'before' }));
  t.equal(before.VersionId, undefined, 'an unversioned bucket answers no version id');
  t.same(await historyOf(bucket, 'k'), { v: [['null', true]], m: [] }, 'listed as the null version');
  await setVersioning(bucket, 'Enabled');
  t.equal(await getString(bucket, 'k'), 'before', 'enabling versioning changes nothing readable');
  const v1 = await putV(t, bucket, 'k', 'after enabling');
  t.not(v1, 'null');
  t.same(await historyOf(bucket, 'k'), { v: [[v1, true], ['null', false]], m: [] }, 'the null version stays, noncurrent');
  const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  t.equal(await g.Body?.transformToString(), 'before', 'GET versionId=null reads the old bytes');
  t.ok(g.VersionId === 'null' || g.VersionId === undefined, `GET versionId=null answers version id null or none (got ${g.VersionId})`);
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }))).ContentLength, 6, 'HEAD versionId=null');
  t.equal(await getString(bucket, 'k'), 'after enabling', 'GET without version reads the new version');

  const dn = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  t.equal(dn.VersionId, 'null', 'DELETE versionId=null names the null version');
  t.not(dn.DeleteMarker, true);
  t.same(await historyOf(bucket, 'k'), { v: [[v1, true]], m: [] }, 'only the null version was removed');
});

// ---- 9. Suspended after Enabled --------------------------------------------------------------

t.test('Suspended after Enabled: PUT and DELETE write the null version, real versions stay', async (t) => {
  const bucket = await versionedBucket('vsusp');
  const r1 = await putV(t, bucket, 'k', 'real one');
  const r2 = await putV(t, bucket, 'k', 'real two');
  const q1 = await putV(t, bucket, 'q', 'q real');
  await setVersioning(bucket, 'Suspended');
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Suspended');

  const n1 = await put(bucket, 'k', 'null one');
  t.ok(n1 === undefined || n1 === 'null', `PUT while Suspended answers no version id or null (got ${n1})`);
  t.same(await historyOf(bucket, 'k'), { v: [['null', true], [r2, false], [r1, false]], m: [] }, 'the null version is latest, real versions stay');
  t.equal(await getString(bucket, 'k'), 'null one');
  t.equal(await getString(bucket, 'k', r1), 'real one', 'r1 readable');
  t.equal(await getString(bucket, 'k', r2), 'real two', 'r2 readable');

  await put(bucket, 'k', 'null two, longer');
  t.same(await historyOf(bucket, 'k'), { v: [['null', true], [r2, false], [r1, false]], m: [] }, 'a second PUT replaces the null version (one null version)');
  t.equal(await getString(bucket, 'k', 'null'), 'null two, longer', 'the null version has the new bytes');

  const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
  t.equal(del.DeleteMarker, true, 'DELETE while Suspended adds a marker');
  t.equal(del.VersionId, 'null', "the marker's version id is null");
  t.same(await historyOf(bucket, 'k'), { v: [[r2, false], [r1, false]], m: [['null', true]] }, 'the null version was replaced by the null marker');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))), 'NoSuchKey/404', 'GET → NoSuchKey');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }))), 'MethodNotAllowed/405', 'GET versionId=null names the marker → 405');
  t.equal(await getString(bucket, 'k', r1), 'real one', 'r1 still readable');

  // A key with no null version: the DELETE adds a null marker and keeps the real version.
  const dq = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'q' }));
  t.equal(dq.DeleteMarker, true);
  t.equal(dq.VersionId, 'null');
  t.same(await historyOf(bucket, 'q'), { v: [[q1, false]], m: [['null', true]] }, 'q: null marker over the real version');

  // A PUT while Suspended replaces the null marker (it is the null version).
  await put(bucket, 'k', 'null three');
  t.same(await historyOf(bucket, 'k'), { v: [['null', true], [r2, false], [r1, false]], m: [] }, 'a PUT replaces the null delete marker');
  t.equal(await getString(bucket, 'k'), 'null three');

  // Enabled again: new real versions above the null version.
  await setVersioning(bucket, 'Enabled');
  const e1 = await putV(t, bucket, 'k', 'enabled again');
  t.same(await historyOf(bucket, 'k'), { v: [[e1, true], ['null', false], [r2, false], [r1, false]], m: [] }, 're-enabled: a new version above the null one');
  t.equal(await getString(bucket, 'k', 'null'), 'null three');

  // Paging one version at a time through a key whose null version sits between real ones.
  const paged: string[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (let i = 0; i < 10; i++) {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'k', MaxKeys: 1, KeyMarker, VersionIdMarker }));
    paged.push(...(r.Versions ?? []).map((v) => v.VersionId!), ...(r.DeleteMarkers ?? []).map((m) => `marker:${m.VersionId}`));
    if (!r.IsTruncated) break;
    KeyMarker = r.NextKeyMarker;
    VersionIdMarker = r.NextVersionIdMarker;
  }
  t.same(paged, [e1, 'null', r2, r1], 'MaxKeys=1 pages resume after the null version (NextVersionIdMarker null) in time order');

  // Suspended again: the PUT removes the null version from the middle and writes a new one on top.
  await setVersioning(bucket, 'Suspended');
  await put(bucket, 'k', 'null four');
  t.same(await historyOf(bucket, 'k'), { v: [['null', true], [e1, false], [r2, false], [r1, false]], m: [] }, 'one null version, now the latest');
  t.equal(await getString(bucket, 'k', e1), 'enabled again', 'e1 intact');
  await setVersioning(bucket, 'Enabled');
  const e2 = await putV(t, bucket, 'k', 'enabled twice');
  const dn = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  t.equal(dn.VersionId, 'null');
  t.same(await historyOf(bucket, 'k'), { v: [[e2, true], [e1, false], [r2, false], [r1, false]], m: [] }, 'deleting the null version from the middle');
  await setVersioning(bucket, 'Suspended');
  const dm2 = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
  t.equal(dm2.VersionId, 'null', 'Suspended DELETE over a real latest version: a null marker');
  t.same(await historyOf(bucket, 'k'), { v: [[e2, false], [e1, false], [r2, false], [r1, false]], m: [['null', true]] }, 'the real versions all stay');
});

// ---- 14. DeleteBucket --------------------------------------------------------------------------

t.test('DeleteBucket refuses while noncurrent versions or markers remain', async (t) => {
  const bucket = await versionedBucket('vdelb');
  const v1 = await putV(t, bucket, 'k', 'one');
  const v2 = await putV(t, bucket, 'k2', 'two');
  const m1 = await deleteLatest(t, bucket, 'k');
  const m2 = await deleteLatest(t, bucket, 'k2');
  t.equal((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount, 0, 'no current objects');
  t.equal(await s3Code(s3.send(new DeleteBucketCommand({ Bucket: bucket }))), 'BucketNotEmpty/409', 'noncurrent versions and markers → BucketNotEmpty');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: v1 }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k2', VersionId: v2 }));
  t.same(await listing(bucket), { versions: [], markers: [['k', m1, true], ['k2', m2, true]], prefixes: [] }, 'only markers remain');
  t.equal(await s3Code(s3.send(new DeleteBucketCommand({ Bucket: bucket }))), 'BucketNotEmpty/409', 'delete markers alone → BucketNotEmpty');
  // S3's words for a versioned bucket (LocalStack's recording against AWS), which the aws CLI shows.
  t.equal(
    (await sdkFailure(s3.send(new DeleteBucketCommand({ Bucket: bucket })))).message,
    'The bucket you tried to delete is not empty. You must delete all versions in the bucket.',
    'the message says every version must go',
  );
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: m1 }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k2', VersionId: m2 }));
  t.same(await listing(bucket), { versions: [], markers: [], prefixes: [] }, 'nothing left');
  const del = await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  t.equal(del.$metadata.httpStatusCode, 204, 'the empty bucket deletes');
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: bucket }))), 'NotFound/404', 'the bucket is gone');
});

// ---- 18. concurrency ---------------------------------------------------------------------------

t.test('20 concurrent PUTs to one key: 20 versions, one latest', async (t) => {
  const bucket = await versionedBucket('vconc');
  const results = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hot', Body: `writer ${i}` }));
      return { i, id: r.VersionId };
    }),
  );
  const ids = results.map((r) => r.id);
  t.ok(
    ids.every((id) => VID.test(id ?? '')),
    'every PUT returned a version id',
  );
  t.equal(new Set(ids).size, 20, '20 distinct version ids');
  const h = await historyOf(bucket, 'hot');
  t.equal(h.v.length, 20, '20 versions listed');
  t.same(h.v.map((x) => x[0]).sort(), [...ids].sort(), 'exactly the returned ids are listed');
  t.equal(h.v.filter((x) => x[1]).length, 1, 'exactly one IsLatest');
  t.equal(h.v[0]?.[1], true, 'the latest is listed first');
  const latestId = h.v.find((x) => x[1])?.[0];
  const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hot' }));
  t.equal(g.VersionId, latestId, 'GET reads the IsLatest version');
  const writer = results.find((r) => r.id === latestId)?.i;
  t.equal(await g.Body?.transformToString(), `writer ${writer}`, 'with the bytes its writer sent');
  for (const r of results.slice(0, 5)) t.equal(await getString(bucket, 'hot', r.id), `writer ${r.i}`, `version of writer ${r.i} by id`);
});

// ---- more S3 semantics around versions ---------------------------------------------------------

t.test('listings hide keys and prefixes whose latest version is a delete marker', async (t) => {
  const bucket = await versionedBucket('vhide');
  const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
  for (const k of keys) await put(bucket, k, k);
  await put(bucket, 'dir/only', 'hidden soon');
  await put(bucket, 'mixed/live', 'stays');
  await put(bucket, 'mixed/dead', 'hidden soon');
  for (const k of ['k1', 'k2', 'k3', 'k5', 'k8', 'dir/only', 'mixed/dead']) await deleteLatest(t, bucket, k);
  const live = ['k0', 'k4', 'k6', 'k7', 'k9', 'mixed/live'];
  t.same(await currentKeys(bucket), live, 'ListObjectsV2: only keys with a live latest version');
  const rolled = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
  t.same((rolled.CommonPrefixes ?? []).map((p) => p.Prefix), ['mixed/'], 'a prefix holding only hidden keys is not a CommonPrefix');
  t.equal(rolled.KeyCount, 6, 'KeyCount: five keys and one prefix');
  for (const MaxKeys of [1, 2, 4]) {
    const seen: string[] = [];
    let token: string | undefined;
    let emptyTruncated = 0;
    for (let i = 0; i < 30; i++) {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys, ContinuationToken: token }));
      const n = (r.Contents ?? []).length;
      if (n === 0 && r.IsTruncated) emptyTruncated++;
      t.ok(n <= MaxKeys, `MaxKeys=${MaxKeys}: page within MaxKeys`);
      seen.push(...(r.Contents ?? []).map((c) => c.Key!));
      token = r.NextContinuationToken;
      if (!r.IsTruncated || !token) break;
    }
    t.same(seen, live, `ListObjectsV2 MaxKeys=${MaxKeys}: every live key once, in order`);
    t.equal(emptyTruncated, 0, `MaxKeys=${MaxKeys}: no empty truncated page`);
  }
  const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket }));
  t.same((v1.Contents ?? []).map((c) => c.Key), live, 'ListObjects (v1): only live keys');
  const v1p = await s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 2, Marker: 'k0' }));
  t.same((v1p.Contents ?? []).map((c) => c.Key), ['k4', 'k6'], 'ListObjects (v1) after a marker skips hidden keys');
});

t.test('concurrent PUTs and DELETEs on one key: one latest entry, versions and markers all listed', async (t) => {
  const bucket = await versionedBucket('vmix');
  const ops = await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      if (i % 4 === 3) {
        const r = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'hot' }));
        return { kind: 'D' as const, id: r.VersionId ?? '', i };
      }
      const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hot', Body: `w${i}` }));
      return { kind: 'V' as const, id: r.VersionId ?? '', i };
    }),
  );
  const h = await historyOf(bucket, 'hot');
  t.same(h.v.map((x) => x[0]).sort(), ops.filter((o) => o.kind === 'V').map((o) => o.id).sort(), 'every PUT is a listed version');
  t.same(h.m.map((x) => x[0]).sort(), ops.filter((o) => o.kind === 'D').map((o) => o.id).sort(), 'every DELETE is a listed marker');
  const latest = [...h.v.filter((x) => x[1]).map((x) => ['V', x[0]]), ...h.m.filter((x) => x[1]).map((x) => ['D', x[0]])];
  t.equal(latest.length, 1, 'exactly one IsLatest across versions and markers');
  const rg = await raw(d.port, { method: 'GET', path: objectPath(bucket, 'hot') });
  if (latest[0]?.[0] === 'D') {
    t.equal(rg.status, 404, 'the latest is a marker: GET → 404');
    t.equal(rg.headers['x-amz-version-id'], latest[0][1], "with the marker's id");
  } else {
    t.equal(rg.status, 200, 'the latest is a version: GET → 200');
    t.equal(rg.headers['x-amz-version-id'], latest[0]?.[1], 'of that version');
    t.equal(rg.body.toString(), `w${ops.find((o) => o.id === latest[0]?.[1])?.i}`, 'with its writer’s bytes');
  }
});
