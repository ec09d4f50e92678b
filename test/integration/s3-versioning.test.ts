// Bucket versioning (Status Enabled, then Suspended) against the built daemon, written from S3's
// documented semantics: PutBucketVersioning/GetBucketVersioning, a new version id (UUID) per PUT,
// GET/HEAD/Range of older versions by id, delete markers (404 with x-amz-delete-marker, 405 when
// named), permanent deletes by version id (the previous version becomes current), NoSuchVersion,
// the null version (objects written before versioning, and while Suspended), ListObjectVersions
// (order, IsLatest, prefix, delimiter, paging with key and version-id markers at several page
// sizes), ListObjects/ListObjectsV2 hiding delete-marked keys, conditional requests, CopyObject and
// UploadPartCopy from a version, multipart, DeleteObjects with version ids, tagging per version,
// DeleteBucket with only noncurrent versions and markers left (and a recreated bucket), data files
// kept for noncurrent versions and freed by deletes, encryption per version (SSE-S3, none, SSE-C,
// SSE-KMS over TLS; no plaintext of the encrypted ones on disk), a restart, and concurrent writers.
import t from 'tap';
import type { Test } from 'tap';
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
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ListObjectVersionsCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { bucketName, startDaemon, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { countFiles, filesUnder, inspectDataDir, waitForFileCounts } from '../helpers/files.js';
import { md5Base64 } from '../helpers/hash.js';
import { encodeKey, errorCode, raw } from '../helpers/http.js';
import { bodyBytes, clientWithoutResponseChecksums, createBucket, getBytes, s3Code, sdkFailure } from '../helpers/s3.js';
import { ssec } from '../helpers/sse.js';
import { sleep } from '../helpers/wait.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
/** For ranged GETs (see clientWithoutResponseChecksums). */
const s3r = clientWithoutResponseChecksums(d);

/** What a version id looks like: a UUID string. */
const VID = /^[0-9a-f-]{36}$/;
/** A well-formed version id this daemon never issued. */
const MISSING_VID = '01890a5d-ac96-774b-bcce-b302099a8057';

// ---- helpers ---------------------------------------------------------------------------------

async function setVersioning(bucket: string, Status: 'Enabled' | 'Suspended', c: S3Client = s3): Promise<void> {
  await c.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }));
}

/** A new bucket with versioning Enabled. */
async function versionedBucket(prefix: string, c: S3Client = s3): Promise<string> {
  const bucket = await createBucket(c, prefix);
  await setVersioning(bucket, 'Enabled', c);
  return bucket;
}

/** PutObject; returns the response's VersionId. */
async function put(bucket: string, key: string, body: string | Buffer, extra: Record<string, unknown> = {}, c: S3Client = s3): Promise<string | undefined> {
  const r = await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
  return r.VersionId;
}

/** PutObject that must return a version id (the id, or '' so later checks fail loudly). */
async function putV(t: Test, bucket: string, key: string, body: string | Buffer, extra: Record<string, unknown> = {}, c: S3Client = s3): Promise<string> {
  const id = await put(bucket, key, body, extra, c);
  t.match(id, VID, `PUT ${key} returns a version id`);
  return id ?? '';
}

async function getString(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<string> {
  return (await getBytes(c, { Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) })).toString();
}

/** DeleteObject without a version id; returns the delete marker's version id. */
async function deleteLatest(t: Test, bucket: string, key: string, c: S3Client = s3): Promise<string> {
  const r = await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  t.equal(r.DeleteMarker, true, `DELETE ${key} creates a delete marker`);
  t.match(r.VersionId, VID, `DELETE ${key}: the marker's version id`);
  return r.VersionId ?? '';
}

type Row = [key: string, versionId: string, isLatest: boolean];

/** The whole ListObjectVersions answer (following pages), versions and markers as [key, id, isLatest]. */
async function listing(bucket: string, input: Partial<ListObjectVersionsCommandInput> = {}, c: S3Client = s3): Promise<{ versions: Row[]; markers: Row[]; prefixes: string[] }> {
  const versions: Row[] = [];
  const markers: Row[] = [];
  const prefixes: string[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (let i = 0; i < 200; i++) {
    const r = await c.send(new ListObjectVersionsCommand({ Bucket: bucket, ...input, KeyMarker, VersionIdMarker }));
    versions.push(...(r.Versions ?? []).map((v): Row => [v.Key!, v.VersionId!, v.IsLatest === true]));
    markers.push(...(r.DeleteMarkers ?? []).map((m): Row => [m.Key!, m.VersionId!, m.IsLatest === true]));
    prefixes.push(...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
    if (!r.IsTruncated) break;
    KeyMarker = r.NextKeyMarker;
    VersionIdMarker = r.NextVersionIdMarker;
  }
  return { versions, markers, prefixes };
}

/** One key's versions and markers as [id, isLatest], in listed order. */
async function historyOf(bucket: string, key: string, c: S3Client = s3): Promise<{ v: Array<[string, boolean]>; m: Array<[string, boolean]> }> {
  const l = await listing(bucket, { Prefix: key }, c);
  return {
    v: l.versions.filter((r) => r[0] === key).map((r) => [r[1], r[2]]),
    m: l.markers.filter((r) => r[0] === key).map((r) => [r[1], r[2]]),
  };
}

async function currentKeys(bucket: string, c: S3Client = s3): Promise<string[]> {
  const r = await c.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (r.Contents ?? []).map((x) => x.Key!);
}

function objectPath(bucket: string, key: string): string {
  return `/${bucket}/${encodeKey(key)}`;
}

function versionQuery(versionId: string): string {
  return `versionId=${encodeURIComponent(versionId)}`;
}

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

const MiB = 1024 * 1024;

/** Files under dir containing needle (read in chunks with overlap: LMDB files may be large). */
function filesContaining(dir: string, needle: Buffer): string[] {
  const hits: string[] = [];
  const CHUNK = 4 * MiB;
  const buf = Buffer.alloc(CHUNK + needle.length);
  for (const f of filesUnder(dir)) {
    const fd = openSync(f, 'r');
    try {
      let carry = 0;
      let pos = 0;
      for (;;) {
        const n = readSync(fd, buf, carry, CHUNK, pos);
        if (n === 0) break;
        pos += n;
        const view = buf.subarray(0, carry + n);
        if (view.indexOf(needle) >= 0) {
          hits.push(f);
          break;
        }
        carry = Math.min(needle.length - 1, view.length);
        view.copy(buf, 0, view.length - carry);
      }
    } finally {
      closeSync(fd);
    }
  }
  return hits;
}

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
