// Bucket versioning in the MetaStore over a real LMDB in a temp dir, checked against S3's rules,
// what writes and deletes do: unversioned buckets unchanged; Enabled puts make new versions (UUIDv7
// ids, newest first) and keep the old ones and their files; delete markers; deletes by version id
// and the promotion of the next older version; the `null` version (records from before
// versioning, and Suspended writes); data files shared between versions; updates of one version;
// deleteBucket; conditional deletes and completed uploads; and a restart. ListObjectVersions:
// versioning-list.test.ts.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, filesOf, type ObjectRecord, type PartRecord, type UploadRecord } from '../../../../daemon/meta/records.js';
import { clientVersionId, nextStamp, stampOf, stampOfId, versionIdFor } from '../../../../daemon/meta/versions.js';
import { conflictCode, ids, obj, openStore, show, versioned } from '../../../helpers/meta-versions.js';

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let fileSeq = 0;
/** A fresh 32-hex data file id. */
function fid(): string {
  return (++fileSeq).toString(16).padStart(32, '0');
}

function fileObj(file = fid(), over: Partial<ObjectRecord> = {}): ObjectRecord {
  return obj({ data: { file }, ...over });
}

function part(n: number, file = fid()): PartRecord {
  return { v: RECORD_VERSION, n, size: 5, stored: 5, etag: `etag${n}`, data: { file }, mtime: 1 };
}

function upload(bucket: string, key: string, id: string): UploadRecord {
  return { v: RECORD_VERSION, id, bucket, key, initiated: 1, headers: {}, userMeta: {} };
}

/** The data file of a single-part record. */
function fileOf(r: ObjectRecord | undefined): string | undefined {
  return r?.data !== undefined && 'file' in r.data ? r.data.file : undefined;
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 's3d-versioning-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sorted = (a: string[]): string[] => [...a].sort();

// ---------------------------------------------------------------------------------------------

t.test('unversioned bucket: overwrite queues the old file, delete removes, records carry no version', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const f1 = fid();
  const s1 = await m.putObject('b', 'k', fileObj(f1));
  t.equal(s1.versionId, undefined, 'no version id');
  t.equal(s1.vs, undefined, 'no stamp');
  t.equal(m.getObject('b', 'k')!.versionId, undefined, 'stored without a version id');
  const f2 = fid();
  await m.putObject('b', 'k', fileObj(f2));
  t.same(m.queuedFiles(), [f1], 'overwrite queues the old file');
  t.same(ids(m, 'b', 'k'), ['null'], 'one version, the null version');
  t.equal(m.keyVersions('b', 'k')[0]!.isLatest, true);
  const nv = m.getVersion('b', 'k', 'null');
  t.equal(fileOf(nv?.record), f2, "getVersion 'null' is the current record");
  t.equal(nv?.isLatest, true);
  t.equal(m.getVersion('b', 'k', versionIdFor(nextStamp())), undefined, 'a real-looking id names nothing');
  t.same([...m.referencedFiles()], [f2]);

  const d = await m.deleteObject('b', 'k');
  t.equal(d.marker, undefined, 'no delete marker');
  t.equal(fileOf(d.removed), f2, 'the removed record is reported');
  t.equal(m.getObject('b', 'k'), undefined);
  t.equal(m.latestDeleteMarker('b', 'k'), undefined);
  t.same(ids(m, 'b', 'k'), [], 'nothing left of the key');
  t.same(sorted(m.queuedFiles()), sorted([f1, f2]), 'delete queues the file');
  t.same(await m.deleteObject('b', 'missing'), {}, 'deleting a missing key is no error and changes nothing');
  const all = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 });
  t.same(all.entries, [], 'no versions listed');
  await m.deleteBucket('b');
  t.equal(m.getBucket('b'), undefined, 'the emptied bucket can be deleted');
});

t.test('Enabled: each put is a new version with its own UUIDv7; old versions stay readable and keep their files', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b');
  const files = [fid(), fid(), fid()];
  const stored: ObjectRecord[] = [];
  for (const f of files) stored.push(await m.putObject('b', 'k', fileObj(f, { etag: f })));
  for (const s of stored) {
    t.match(s.versionId, UUID7, 'a UUIDv7 version id');
    t.equal(stampOfId(s.versionId!), s.vs, 'the id carries the stamp');
  }
  t.ok(stored[0]!.vs! < stored[1]!.vs! && stored[1]!.vs! < stored[2]!.vs!, 'stamps increase');
  t.equal(new Set(stored.map((s) => s.versionId)).size, 3, 'ids are distinct');
  const [v1, v2, v3] = stored.map((s) => s.versionId!) as [string, string, string];
  t.same(m.queuedFiles(), [], 'no data file is queued: every version still needs its own');
  t.equal(m.getObject('b', 'k')!.versionId, v3, 'the newest is current');
  t.same(m.getObject('b', 'k'), stored[2], 'the current record is what putObject returned');
  t.same(ids(m, 'b', 'k'), [v3, v2, v1], 'versions newest first');
  t.same(m.keyVersions('b', 'k').map((v) => v.isLatest), [true, false, false], 'only the newest is latest');
  const old = m.getVersion('b', 'k', v1);
  t.equal(fileOf(old?.record), files[0], 'the oldest version is readable by id');
  t.equal(old?.isLatest, false);
  t.same(old?.record, stored[0], 'as it was stored');
  t.equal(m.getVersion('b', 'k', v2)?.record.etag, files[1]);
  t.equal(m.getVersion('b', 'k', v3)?.isLatest, true, 'the current version is latest');
  t.equal(m.getVersion('b', 'k', 'null'), undefined, 'no null version');
  t.equal(m.getVersion('b', 'other', v1), undefined, "an id does not name another key's version");
  t.same(sorted([...m.referencedFiles()]), sorted(files), 'every version holds its file');
  t.equal(m.latestDeleteMarker('b', 'k'), undefined, 'no delete marker while there is a current version');

  // A record that arrives with an id and stamp (a copy of another version) gets fresh ones.
  const copy = await m.putObject('b', 'k', { ...stored[0]!, etag: 'copy' });
  t.not(copy.versionId, v1, 'the copied id is not kept');
  t.ok(copy.vs! > stored[2]!.vs!, 'the copy is the newest version');
  t.equal(stampOfId(copy.versionId!), copy.vs);
  t.same(ids(m, 'b', 'k'), [copy.versionId, v3, v2, v1]);
  t.equal(m.getVersion('b', 'k', v1)?.record.etag, files[0], 'the original version is untouched');
  t.same(m.queuedFiles(), [], 'the copy shares the oldest version\'s file: still nothing queued');
});

t.test('Enabled: many puts in a tight loop get distinct, strictly increasing stamps (several per millisecond)', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b');
  const N = 400;
  const stored = await Promise.all(Array.from({ length: N }, (_, i) => m.putObject('b', 'k', obj({ etag: `e${i}` }))));
  const vids = stored.map((s) => s.versionId!);
  t.equal(new Set(vids).size, N, `${N} distinct version ids`);
  t.ok(vids.every((id) => UUID7.test(id)), 'all UUIDv7');
  t.ok(stored.every((s) => stampOfId(s.versionId!) === s.vs), 'each id carries its stamp');
  const stamps = stored.map((s) => s.vs!);
  t.equal(new Set(stamps).size, N, 'distinct stamps');
  const ms = stamps.map((s) => Math.floor(s / 1024));
  const sameMs = ms.filter((x, i) => i > 0 && x === ms[i - 1]).length;
  t.ok(sameMs > 0, `several versions were made within one millisecond (${sameMs} pairs)`);
  const listed = m.keyVersions('b', 'k');
  t.equal(listed.length, N, 'every version is kept');
  let desc = true;
  for (let i = 1; i < listed.length; i++) if (!(stampOf(listed[i - 1]!.record) > stampOf(listed[i]!.record))) desc = false;
  t.ok(desc, 'listed strictly newest first');
  const newest = [...stored].sort((a, b) => b.vs! - a.vs!)[0]!;
  t.equal(m.getObject('b', 'k')!.versionId, newest.versionId, 'the current version is the one with the highest stamp');
  t.same(listed.map((v) => clientVersionId(v.record)), [...vids].sort().reverse(), 'ids sort lexically in version order');
  // Calls made in one turn commit in call order: the last call's version is current.
  t.equal(m.getObject('b', 'k')!.etag, `e${N - 1}`, 'the last put is current');
});

t.test('Enabled: delete without id adds a delete marker; deleting the marker restores the previous version', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b');
  const f1 = fid();
  const f2 = fid();
  const a = await m.putObject('b', 'k', fileObj(f1));
  const b = await m.putObject('b', 'k', fileObj(f2));
  const d = await m.deleteObject('b', 'k');
  t.equal(d.removed, undefined, 'nothing removed');
  const marker = d.marker!;
  t.ok(marker, 'a delete marker is made');
  t.equal(marker.deleteMarker, true);
  t.match(marker.versionId, UUID7, 'the marker has its own version id');
  t.ok(marker.vs! > b.vs!, 'the marker is newer than every version');
  t.equal(filesOf(marker).length, 0, 'the marker holds no data');
  t.equal(m.getObject('b', 'k'), undefined, 'no current object');
  t.equal(m.latestDeleteMarker('b', 'k')?.versionId, marker.versionId, 'the marker is latest');
  const gm = m.getVersion('b', 'k', marker.versionId!);
  t.equal(gm?.isLatest, true, 'getVersion: the marker is latest');
  t.equal(gm?.record.deleteMarker, true);
  t.equal(m.getVersion('b', 'k', b.versionId!)?.isLatest, false, 'the former current is noncurrent');
  t.equal(fileOf(m.getVersion('b', 'k', b.versionId!)?.record), f2, 'and still readable');
  t.same(ids(m, 'b', 'k'), [marker.versionId, b.versionId, a.versionId]);
  t.same(m.keyVersions('b', 'k').map((v) => v.isLatest), [true, false, false]);
  t.same(m.queuedFiles(), [], 'a delete marker queues nothing');
  t.same(sorted([...m.referencedFiles()]), sorted([f1, f2]));

  // A second delete stacks a second marker.
  const d2 = await m.deleteObject('b', 'k');
  t.ok(d2.marker!.vs! > marker.vs!, 'a second marker on top');
  t.equal(m.latestDeleteMarker('b', 'k')?.versionId, d2.marker!.versionId);
  const r2 = await m.deleteObject('b', 'k', undefined, d2.marker!.versionId);
  t.equal(r2.removed?.versionId, d2.marker!.versionId, 'the newer marker is removed');
  t.equal(r2.removed?.deleteMarker, true);
  t.equal(m.getObject('b', 'k'), undefined, 'the older marker keeps the key deleted');
  t.equal(m.latestDeleteMarker('b', 'k')?.versionId, marker.versionId, 'the older marker is latest again');

  const r = await m.deleteObject('b', 'k', undefined, marker.versionId);
  t.equal(r.marker, undefined);
  t.equal(r.removed?.versionId, marker.versionId, 'the marker is removed');
  t.equal(m.getObject('b', 'k')?.versionId, b.versionId, 'the previous version is current again');
  t.same(m.getObject('b', 'k'), b, 'unchanged');
  t.equal(m.latestDeleteMarker('b', 'k'), undefined);
  t.equal(m.getVersion('b', 'k', b.versionId!)?.isLatest, true);
  t.same(ids(m, 'b', 'k'), [b.versionId, a.versionId]);
  t.same(m.queuedFiles(), [], 'removing markers queues nothing');

  // A delete of a key that never existed still leaves a marker (S3 does).
  const g = await m.deleteObject('b', 'ghost');
  t.equal(g.marker?.deleteMarker, true);
  t.equal(m.latestDeleteMarker('b', 'ghost')?.versionId, g.marker?.versionId);
  t.same(ids(m, 'b', 'ghost'), [g.marker!.versionId]);
});

t.test('Enabled: delete by id — the current promotes the next older; a noncurrent one queues its file', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b');
  const [f1, f2, f3] = [fid(), fid(), fid()];
  const v1 = await m.putObject('b', 'k', fileObj(f1));
  const v2 = await m.putObject('b', 'k', fileObj(f2));
  const v3 = await m.putObject('b', 'k', fileObj(f3));

  const r3 = await m.deleteObject('b', 'k', undefined, v3.versionId);
  t.equal(r3.removed?.versionId, v3.versionId, 'the current version is removed');
  t.equal(r3.marker, undefined, 'no marker for a delete by id');
  t.equal(m.getObject('b', 'k')?.versionId, v2.versionId, 'the next older is current');
  t.equal(m.getVersion('b', 'k', v2.versionId!)?.isLatest, true);
  t.equal(m.getVersion('b', 'k', v3.versionId!), undefined, 'the removed version is gone');
  t.same(m.queuedFiles(), [f3], "the removed version's file is queued");
  t.same(ids(m, 'b', 'k'), [v2.versionId, v1.versionId]);

  const r1 = await m.deleteObject('b', 'k', undefined, v1.versionId);
  t.equal(r1.removed?.versionId, v1.versionId);
  t.equal(m.getObject('b', 'k')?.versionId, v2.versionId, 'removing a noncurrent version leaves the current');
  t.same(sorted(m.queuedFiles()), sorted([f1, f3]), "the noncurrent version's file is queued");
  t.same([...m.referencedFiles()], [f2]);

  await m.deleteObject('b', 'k', undefined, v2.versionId);
  t.equal(m.getObject('b', 'k'), undefined, 'the last version removed: no object');
  t.equal(m.latestDeleteMarker('b', 'k'), undefined, 'and no marker');
  t.same(ids(m, 'b', 'k'), []);
  t.same(sorted(m.queuedFiles()), sorted([f1, f2, f3]));

  // Promotion stops at a delete marker: the key stays deleted.
  const a = await m.putObject('b', 'p', fileObj());
  const dm = (await m.deleteObject('b', 'p')).marker!;
  const a2 = await m.putObject('b', 'p', fileObj());
  await m.deleteObject('b', 'p', undefined, a2.versionId);
  t.equal(m.getObject('b', 'p'), undefined, 'a marker below the removed current is not made current');
  t.equal(m.latestDeleteMarker('b', 'p')?.versionId, dm.versionId, 'the marker is latest');
  t.same(ids(m, 'b', 'p'), [dm.versionId, a.versionId]);
  t.same(m.keyVersions('b', 'p').map((v) => v.isLatest), [true, false]);
  // Removing that marker then makes the version below it current.
  await m.deleteObject('b', 'p', undefined, dm.versionId);
  t.equal(m.getObject('b', 'p')?.versionId, a.versionId, 'the version under the marker becomes current');
});

t.test('unknown and malformed version ids: NoSuchVersion, absent, undefined, and nothing changes', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b');
  const f1 = fid();
  const f2 = fid();
  const v1 = await m.putObject('b', 'k', fileObj(f1));
  const v2 = await m.putObject('b', 'k', fileObj(f2));
  const other = await m.putObject('b', 'other', fileObj());
  const before = ids(m, 'b', 'k');
  const bad: Array<[string, string]> = [
    [versionIdFor(nextStamp()), 'a well-formed id of no version'],
    [versionIdFor(v1.vs!), "v1's stamp with other random bits"],
    [other.versionId!, "another key's version"],
    ['null', 'null, when there is no null version'],
    ['garbage', 'not a UUID'],
    [v1.versionId!.toUpperCase(), "v1's id in upper case"],
    [`${v1.versionId!.slice(0, 14)}4${v1.versionId!.slice(15)}`, 'a UUIDv4'],
    ['', 'empty'],
  ];
  for (const [id, why] of bad) {
    // S3 answers a delete of a version that is not there as done: the store says `absent`.
    t.same(await m.deleteObject('b', 'k', undefined, id), { absent: true }, `deleteObject: ${why}`);
    t.equal(m.getVersion('b', 'k', id), undefined, `getVersion: ${why}`);
    t.equal(await conflictCode(m.updateObject('b', 'k', (r) => ({ ...r, etag: 'x' }), id)), 'NoSuchVersion', `updateObject: ${why}`);
  }
  t.same(ids(m, 'b', 'k'), before, 'no version changed');
  t.equal(m.getObject('b', 'k')?.etag, v2.etag, 'the current record is unchanged');
  t.same(m.queuedFiles(), [], 'nothing queued');
  t.same(await m.deleteObject('b', 'nokey', undefined, versionIdFor(nextStamp())), { absent: true }, 'a version of a key that has none');
  t.equal(await conflictCode(m.deleteObject('nobucket', 'k', undefined, v1.versionId)), 'NoSuchBucket');

  // deleteObjects: one result per item, undefined for the versions that do not exist.
  const res = await m.deleteObjects('b', [
    { key: 'k', versionId: v1.versionId },
    { key: 'k', versionId: 'garbage' },
    { key: 'k', versionId: v1.versionId },
    { key: 'other' },
    { key: 'nokey', versionId: versionIdFor(nextStamp()) },
  ]);
  t.equal(res.length, 5);
  t.equal(res[0]?.removed?.versionId, v1.versionId, 'the existing version is removed');
  t.equal(res[1], undefined, 'a malformed id: undefined');
  t.equal(res[2], undefined, 'the same version again, already removed in this call: undefined');
  t.equal(res[3]?.marker?.deleteMarker, true, 'a delete without id: a marker');
  t.equal(res[4], undefined, 'an unknown version: undefined');
  t.same(ids(m, 'b', 'k'), [v2.versionId], 'only the named version went');
  t.same(m.queuedFiles(), [f1], "its file is queued");
  t.equal(m.getObject('b', 'other'), undefined, 'the key deleted without id has a marker on top');
  t.same(ids(m, 'b', 'other'), [res[3]!.marker!.versionId, other.versionId]);
});

t.test("a record written before versioning is the 'null' version", async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const f0 = fid();
  const legacy = await m.putObject('b', 'k', fileObj(f0, { mtime: 1_000_000 }));
  t.equal(legacy.vs, undefined, 'written unversioned: no stamp');
  await versioned(m, 'b', 'Enabled');
  t.equal(m.getVersion('b', 'k', 'null')?.isLatest, true, "before any put it is the current 'null' version");
  t.same(ids(m, 'b', 'k'), ['null']);

  const f1 = fid();
  const v1 = await m.putObject('b', 'k', fileObj(f1));
  t.ok(v1.vs! > stampOf(legacy), 'the new version is newer than the legacy record');
  t.same(m.queuedFiles(), [], 'the legacy record is demoted, its file kept');
  const nv = m.getVersion('b', 'k', 'null');
  t.equal(fileOf(nv?.record), f0, "getVersion 'null' finds the demoted record");
  t.equal(nv?.isLatest, false);
  t.equal(nv?.record.versionId, undefined, 'it still has no id');
  t.same(ids(m, 'b', 'k'), [v1.versionId, 'null']);
  t.same(sorted([...m.referencedFiles()]), sorted([f0, f1]));

  const f2 = fid();
  const v2 = await m.putObject('b', 'k', fileObj(f2));
  t.same(ids(m, 'b', 'k'), [v2.versionId, v1.versionId, 'null'], 'newer versions go above it');

  const r = await m.deleteObject('b', 'k', undefined, 'null');
  t.equal(fileOf(r.removed), f0, "a delete of 'null' removes it");
  t.same(m.queuedFiles(), [f0]);
  t.same(ids(m, 'b', 'k'), [v2.versionId, v1.versionId]);
  t.equal(m.getVersion('b', 'k', 'null'), undefined);

  // A legacy current record deleted by 'null' while it is still current.
  await m.createBucket('c');
  const fc = fid();
  await m.putObject('c', 'k', fileObj(fc));
  await versioned(m, 'c', 'Enabled');
  const rc = await m.deleteObject('c', 'k', undefined, 'null');
  t.equal(fileOf(rc.removed), fc, 'the current null version is removed by id');
  t.equal(m.getObject('c', 'k'), undefined);
  t.ok(m.queuedFiles().includes(fc));
});

t.test('new versions go above a version whose stamp is ahead of the clock (a legacy record with a future mtime)', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  // Written unversioned by a host whose clock ran a day ahead: its stamp is mtime × 1024.
  const future = Date.now() + 86_400_000;
  const legacy = await m.putObject('b', 'k', fileObj(fid(), { mtime: future }));
  await versioned(m, 'b', 'Enabled');
  const d = await m.deleteObject('b', 'k');
  t.ok(d.marker!.vs! > stampOf(legacy), 'the marker is stamped after the legacy record');
  t.equal(m.latestDeleteMarker('b', 'k')?.versionId, d.marker!.versionId, 'the marker is the latest version');
  t.same(ids(m, 'b', 'k'), [d.marker!.versionId, 'null']);
  const v = await m.putObject('b', 'k', fileObj());
  t.ok(v.vs! > d.marker!.vs!, 'a put is stamped after the marker');
  t.same(ids(m, 'b', 'k'), [v.versionId, d.marker!.versionId, 'null']);
  await m.deleteObject('b', 'k', undefined, v.versionId);
  t.equal(m.getObject('b', 'k'), undefined, 'removing the current leaves the marker latest, not the legacy record');
  t.equal(m.latestDeleteMarker('b', 'k')?.versionId, d.marker!.versionId);
});

t.test('Suspended: put writes the null version, replacing any null version and keeping real ones', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  const [f1, f2, f3, f4, f5, f6, f7] = [fid(), fid(), fid(), fid(), fid(), fid(), fid()];
  const v1 = await m.putObject('b', 'k', fileObj(f1));
  await versioned(m, 'b', 'Suspended');

  const n1 = await m.putObject('b', 'k', fileObj(f2));
  t.equal(n1.versionId, undefined, 'a Suspended put has no version id');
  t.ok(n1.vs! > v1.vs!, 'but a stamp above the older versions');
  t.same(ids(m, 'b', 'k'), ['null', v1.versionId], 'the real version is kept below it');
  t.same(m.queuedFiles(), [], 'the real version keeps its file');

  await m.putObject('b', 'k', fileObj(f3));
  t.same(ids(m, 'b', 'k'), ['null', v1.versionId], 'the current null version is replaced, not stacked');
  t.same(m.queuedFiles(), [f2], "the replaced null version's file is queued");
  t.equal(fileOf(m.getVersion('b', 'k', 'null')?.record), f3);

  // The null version noncurrent below a real version is replaced too.
  await versioned(m, 'b', 'Enabled');
  const v3 = await m.putObject('b', 'k', fileObj(f4));
  t.same(ids(m, 'b', 'k'), [v3.versionId, 'null', v1.versionId]);
  t.same(m.queuedFiles(), [f2], 'Enabled demotes the null version without queueing');
  await versioned(m, 'b', 'Suspended');
  const n3 = await m.putObject('b', 'k', fileObj(f5));
  t.same(ids(m, 'b', 'k'), ['null', v3.versionId, v1.versionId], 'the noncurrent null version is replaced; real versions stay');
  t.same(sorted(m.queuedFiles()), sorted([f2, f3]), "the noncurrent null version's file is queued");
  t.equal(fileOf(m.getObject('b', 'k')), f5);
  t.ok(n3.vs! > v3.vs!);
  t.equal(fileOf(m.getVersion('b', 'k', v1.versionId!)?.record), f1, 'real versions stay readable');
  t.equal(fileOf(m.getVersion('b', 'k', v3.versionId!)?.record), f4);

  // A delete without id: a null delete marker, which removes the null version.
  const d = await m.deleteObject('b', 'k');
  t.equal(d.marker?.deleteMarker, true, 'a delete marker');
  t.equal(d.marker?.versionId, undefined, "the marker is the 'null' version");
  t.ok(d.marker!.vs! > n3.vs!);
  t.equal(m.getObject('b', 'k'), undefined);
  t.same(ids(m, 'b', 'k'), ['null', v3.versionId, v1.versionId], 'the null version is now the marker');
  t.equal(m.getVersion('b', 'k', 'null')?.record.deleteMarker, true, "'null' names the marker");
  t.equal(m.getVersion('b', 'k', 'null')?.isLatest, true);
  t.equal(clientVersionId(m.latestDeleteMarker('b', 'k')!), 'null');
  t.same(sorted(m.queuedFiles()), sorted([f2, f3, f5]), "the null version's file is queued");

  // A second delete replaces the null marker rather than stacking another.
  await m.deleteObject('b', 'k');
  t.same(ids(m, 'b', 'k'), ['null', v3.versionId, v1.versionId], 'still one null version');

  // A put replaces the null marker.
  await m.putObject('b', 'k', fileObj(f6));
  t.same(ids(m, 'b', 'k'), ['null', v3.versionId, v1.versionId]);
  t.equal(m.latestDeleteMarker('b', 'k'), undefined, 'no marker left');
  t.equal(fileOf(m.getObject('b', 'k')), f6);

  // Suspended delete over a real current version: it is kept, under a null marker.
  await versioned(m, 'b', 'Enabled');
  const v4 = await m.putObject('b', 'k', fileObj(f7));
  await versioned(m, 'b', 'Suspended');
  const queuedBefore = sorted(m.queuedFiles());
  await m.deleteObject('b', 'k');
  t.same(ids(m, 'b', 'k'), ['null', v4.versionId, v3.versionId, v1.versionId], 'the real version is demoted below a null marker; the old null version went');
  t.equal(m.getVersion('b', 'k', 'null')?.record.deleteMarker, true);
  t.same(sorted(m.queuedFiles()), sorted([...queuedBefore, f6]), "only the replaced null version's file is queued");
  t.ok(m.referencedFiles().has(f7), 'the demoted real version keeps its file');

  // Suspended: a delete by id still removes exactly that version.
  await m.deleteObject('b', 'k', undefined, v3.versionId);
  t.same(ids(m, 'b', 'k'), ['null', v4.versionId, v1.versionId]);
  t.ok(m.queuedFiles().includes(f4));
});

t.test('shared data files: a file two versions point at is queued only when the last of them goes', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');

  // Removing the noncurrent one first.
  const F = fid();
  const a1 = await m.putObject('b', 'a', fileObj(F, { etag: 'one' }));
  const a2 = await m.putObject('b', 'a', fileObj(F, { etag: 'rotated' }));
  t.same(m.queuedFiles(), [], 'a new version on the same file queues nothing');
  await m.deleteObject('b', 'a', undefined, a1.versionId);
  t.same(m.queuedFiles(), [], 'the file is still referenced by the current version');
  t.ok(m.referencedFiles().has(F));
  await m.deleteObject('b', 'a', undefined, a2.versionId);
  t.same(m.queuedFiles(), [F], 'queued once the last version referencing it goes');

  // Removing the current one first (the older is promoted and still holds the file).
  const G = fid();
  const b1 = await m.putObject('b', 'b', fileObj(G));
  const b2 = await m.putObject('b', 'b', fileObj(G, { etag: 'rotated' }));
  await m.deleteObject('b', 'b', undefined, b2.versionId);
  t.notOk(m.queuedFiles().includes(G), 'the promoted version still holds the file');
  t.equal(m.getObject('b', 'b')?.versionId, b1.versionId);
  await m.deleteObject('b', 'b', undefined, b1.versionId);
  t.ok(m.queuedFiles().includes(G), 'queued when the promoted version goes');

  // Both in one deleteObjects call.
  const H = fid();
  const c1 = await m.putObject('b', 'c', fileObj(H));
  const c2 = await m.putObject('b', 'c', fileObj(H));
  const c3 = await m.putObject('b', 'c', fileObj(fid()));
  await m.deleteObjects('b', [{ key: 'c', versionId: c1.versionId }]);
  t.notOk(m.queuedFiles().includes(H), 'one of two versions on the file removed: not queued');
  await m.deleteObjects('b', [{ key: 'c', versionId: c2.versionId }, { key: 'c', versionId: c3.versionId }]);
  t.ok(m.queuedFiles().includes(H), 'the second removed: queued');
  t.ok(m.queuedFiles().includes(fileOf(c3)!), "the third version's own file too");

  // A delete marker over shared versions queues nothing.
  const J = fid();
  const d1 = await m.putObject('b', 'd', fileObj(J));
  await m.putObject('b', 'd', fileObj(J));
  await m.deleteObject('b', 'd');
  t.notOk(m.queuedFiles().includes(J), 'a marker never queues');
  await m.deleteObject('b', 'd', undefined, d1.versionId);
  t.notOk(m.queuedFiles().includes(J), 'the other version still holds it');

  // Suspended: replacing a null version whose file a real version shares keeps the file.
  const K = fid();
  const e1 = await m.putObject('b', 'e', fileObj(K));
  await versioned(m, 'b', 'Suspended');
  await m.putObject('b', 'e', fileObj(K, { etag: 'rotated' }));
  t.same(ids(m, 'b', 'e'), ['null', e1.versionId]);
  await m.putObject('b', 'e', fileObj(fid()));
  t.notOk(m.queuedFiles().includes(K), "the replaced null version's file is still the real version's");
  await m.deleteObject('b', 'e', undefined, e1.versionId);
  t.ok(m.queuedFiles().includes(K), 'queued once the real version goes');

  // Suspended: a key-rotation put (the null version rewritten on its own file) keeps the file.
  const L = fid();
  await m.putObject('b', 'f', fileObj(L));
  await m.putObject('b', 'f', fileObj(L, { etag: 'rotated' }));
  t.notOk(m.queuedFiles().includes(L), 'the new null version reuses the file: not queued');
  t.equal(fileOf(m.getObject('b', 'f')), L);
});

t.test('updateObject with a version id updates only that version', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  const v1 = await m.putObject('b', 'k', fileObj());
  const v2 = await m.putObject('b', 'k', fileObj());
  const v3 = await m.putObject('b', 'k', fileObj());
  const tag = (v: string) => (r: ObjectRecord): ObjectRecord => ({ ...r, tags: [['t', v]] });

  const u2 = await m.updateObject('b', 'k', tag('two'), v2.versionId);
  t.same(u2.tags, [['t', 'two']], 'the updated record is returned');
  t.equal(u2.versionId, v2.versionId);
  t.same(m.getVersion('b', 'k', v2.versionId!)?.record.tags, [['t', 'two']], 'the noncurrent version is updated');
  t.equal(m.getVersion('b', 'k', v1.versionId!)?.record.tags, undefined, 'the older version is not');
  t.equal(m.getObject('b', 'k')?.tags, undefined, 'the current version is not');
  t.same(ids(m, 'b', 'k'), [v3.versionId, v2.versionId, v1.versionId], 'ids and order unchanged');
  t.equal(m.getVersion('b', 'k', v2.versionId!)?.isLatest, false);

  await m.updateObject('b', 'k', tag('three'), v3.versionId);
  t.same(m.getObject('b', 'k')?.tags, [['t', 'three']], "the current version by its id");
  t.same(m.getVersion('b', 'k', v2.versionId!)?.record.tags, [['t', 'two']], 'the other update stays');
  await m.updateObject('b', 'k', tag('cur'));
  t.same(m.getObject('b', 'k')?.tags, [['t', 'cur']], 'without id: the current version');
  t.equal(m.getVersion('b', 'k', v1.versionId!)?.record.tags, undefined, 'v1 never touched');

  await t.rejects(m.updateObject('b', 'k', (r) => ({ ...r, data: { file: fid() } }), v1.versionId), { message: /must not change the data files/ }, "a noncurrent version's files cannot change");
  t.same(m.getVersion('b', 'k', v1.versionId!)?.record, v1, 'the refused update changed nothing');

  // The null version, noncurrent.
  await m.createBucket('n');
  await m.putObject('n', 'k', fileObj());
  await versioned(m, 'n', 'Enabled');
  const n1 = await m.putObject('n', 'k', fileObj());
  await m.updateObject('n', 'k', tag('null'), 'null');
  t.same(m.getVersion('n', 'k', 'null')?.record.tags, [['t', 'null']], "'null' names the noncurrent null version");
  t.equal(m.getObject('n', 'k')?.tags, undefined);
  t.equal(m.getObject('n', 'k')?.versionId, n1.versionId);

  // Delete markers cannot be updated.
  const d = (await m.deleteObject('b', 'k')).marker!;
  t.equal(await conflictCode(m.updateObject('b', 'k', tag('x'), d.versionId)), 'MethodNotAllowed', 'a marker named by id: MethodNotAllowed');
  t.equal(await conflictCode(m.updateObject('b', 'k', tag('x'))), 'NoSuchKey', 'without id, when a marker is latest: NoSuchKey');
  t.equal(m.latestDeleteMarker('b', 'k')?.tags, undefined, 'the marker is unchanged');
  await m.updateObject('b', 'k', tag('under-marker'), v3.versionId);
  t.same(m.getVersion('b', 'k', v3.versionId!)?.record.tags, [['t', 'under-marker']], 'a version under a marker can still be updated');
  t.equal(m.getObject('b', 'k'), undefined, 'which does not make it current');
});

t.test('deleteBucket refuses while noncurrent versions or delete markers remain; referencedFiles counts them', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  const f1 = fid();
  const v1 = await m.putObject('b', 'k', fileObj(f1));
  const dm = (await m.deleteObject('b', 'k')).marker!;
  t.equal(m.getObject('b', 'k'), undefined, 'no current object');
  t.ok(m.referencedFiles().has(f1), "referencedFiles includes a noncurrent version's file");
  t.equal(await conflictCode(m.deleteBucket('b')), 'BucketNotEmpty', 'a noncurrent version and a marker');
  await m.deleteObject('b', 'k', undefined, v1.versionId);
  t.same(ids(m, 'b', 'k'), [dm.versionId]);
  t.notOk(m.referencedFiles().has(f1), 'the removed version is no longer referenced');
  t.equal(await conflictCode(m.deleteBucket('b')), 'BucketNotEmpty', 'only a delete marker');
  await m.deleteObject('b', 'k', undefined, dm.versionId);
  t.same(ids(m, 'b', 'k'), []);

  // A null delete marker (Suspended) alone also keeps the bucket.
  await versioned(m, 'b', 'Suspended');
  await m.deleteObject('b', 'x');
  t.equal(await conflictCode(m.deleteBucket('b')), 'BucketNotEmpty', 'only a null delete marker');
  await m.deleteObject('b', 'x', undefined, 'null');

  // Versions in a bucket whose name extends this one's do not count.
  await versioned(m, 'b2', 'Enabled');
  await m.putObject('b2', 'k', obj());
  await m.deleteObject('b2', 'k');
  await m.deleteBucket('b');
  t.equal(m.getBucket('b'), undefined, 'the bucket goes once nothing is left');
  t.equal(await conflictCode(m.deleteBucket('b2')), 'BucketNotEmpty', 'the neighbour still has its versions');
});

t.test('restart: versions, markers, ids, stamps and order survive closing and reopening', async (t) => {
  const dir = tempDir(t);
  let m = new MetaStore(dir);
  let closed = false;
  t.teardown(async () => {
    if (!closed) await m.close();
  });
  await m.createBucket('b');
  await m.putObject('b', 'legacy', fileObj());
  await versioned(m, 'b', 'Enabled');
  for (const k of ['x', 'y/1', 'y/2']) {
    await m.putObject('b', k, fileObj());
    await m.putObject('b', k, fileObj());
  }
  await m.deleteObject('b', 'x');
  await m.putObject('b', 'legacy', fileObj());
  await versioned(m, 'b', 'Suspended');
  await m.putObject('b', 'y/1', fileObj());
  await m.deleteObject('b', 'y/2');
  await versioned(m, 'b', 'Enabled');

  const snapshot = (s: MetaStore): unknown => ({
    list: s.listVersions('b', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 }).entries.map((e) => ({ show: show(e), vs: e.record.vs, mtime: e.record.mtime, files: filesOf(e.record) })),
    current: ['legacy', 'x', 'y/1', 'y/2'].map((k) => s.getObject('b', k)?.vs ?? null),
    markers: ['legacy', 'x', 'y/1', 'y/2'].map((k) => (s.latestDeleteMarker('b', k) ? clientVersionId(s.latestDeleteMarker('b', k)!) : null)),
    referenced: [...s.referencedFiles()].sort(),
    versioning: s.getBucket('b')?.versioning,
  });
  const before = snapshot(m) as { list: Array<{ show: string; vs: number }> };
  t.equal(before.list.length, 11, 'a varied bucket: 11 versions and markers');
  t.ok(before.list.some((e) => e.show.includes('|M')), 'with markers');
  t.ok(before.list.some((e) => e.show.includes('|null|')), 'and null versions');
  await m.close();
  m = new MetaStore(dir);
  const after = snapshot(m) as typeof before;
  t.same(after, before, 'everything reads back the same');
  let stampsExact = true;
  for (const e of after.list) {
    const id = e.show.split('|')[1]!;
    if (id !== 'null' && stampOfId(id) !== e.vs) stampsExact = false;
  }
  t.ok(stampsExact, 'stamps (above 2^32) read back exactly and still match their ids');
  const xv = m.keyVersions('b', 'x');
  t.equal(m.getVersion('b', 'x', clientVersionId(xv[2]!.record))?.record.vs, xv[2]!.record.vs, 'a version is found by id after the restart');
  // Writes after the restart go on top.
  const newest = Math.max(...m.keyVersions('b', 'x').map((v) => stampOf(v.record)));
  const nx = await m.putObject('b', 'x', fileObj());
  t.ok(nx.vs! > newest, 'a put after the restart is the newest version');
  t.same(ids(m, 'b', 'x')[0], nx.versionId);
  await m.deleteObject('b', 'x', undefined, xv[0]!.record.versionId);
  t.equal(m.getObject('b', 'x')?.versionId, nx.versionId, 'a delete by id after the restart removes only that version');
  await m.close();
  closed = true;
});

t.test('deleteObjectsIfUnchanged: a delete marker in an Enabled bucket, the null version replaced when Suspended', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  const f1 = fid();
  const f2 = fid();
  const v1 = await m.putObject('b', 'k', fileObj(f1, { etag: 'one', mtime: 1000 }));
  const v2 = await m.putObject('b', 'k', fileObj(f2, { etag: 'two', mtime: 2000 }));
  t.equal(await m.deleteObjectsIfUnchanged('b', [{ key: 'k', etag: 'one', mtime: 1000 }]), 0, 'a noncurrent version is not what is judged');
  t.same(ids(m, 'b', 'k'), [v2.versionId, v1.versionId], 'nothing changed');
  t.equal(await m.deleteObjectsIfUnchanged('b', [{ key: 'k', etag: 'two', mtime: 2000 }]), 1);
  t.equal(m.getObject('b', 'k'), undefined, 'no current object');
  const marker = m.latestDeleteMarker('b', 'k');
  t.ok(marker?.deleteMarker, 'a delete marker is latest');
  t.same(ids(m, 'b', 'k'), [marker?.versionId, v2.versionId, v1.versionId], 'the versions are kept under it');
  t.same(m.queuedFiles(), [], 'nothing is queued');
  t.equal(await m.deleteObjectsIfUnchanged('b', [{ key: 'k', etag: 'two', mtime: 2000 }]), 0, 'a marker is never expired again');
  t.equal(ids(m, 'b', 'k').length, 3, 'no second marker');

  await versioned(m, 'b', 'Suspended');
  const f3 = fid();
  await m.putObject('b', 's', fileObj(f3, { etag: 's', mtime: 3000 }));
  t.equal(await m.deleteObjectsIfUnchanged('b', [{ key: 's', etag: 's', mtime: 3000 }]), 1);
  t.same(ids(m, 'b', 's'), ['null'], 'Suspended: a null marker replaces the null version');
  t.equal(m.latestDeleteMarker('b', 's')?.versionId, undefined);
  t.ok(m.latestDeleteMarker('b', 's')?.deleteMarker);
  t.same(m.queuedFiles(), [f3], "the null version's file is queued");
});

t.test('removeVersionsIfUnchanged removes only the noncurrent versions still as expected', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  const [f1, f2, f3] = [fid(), fid(), fid()];
  const v1 = await m.putObject('b', 'k', fileObj(f1));
  const v2 = await m.putObject('b', 'k', fileObj(f2));
  const v3 = await m.putObject('b', 'k', fileObj(f3));
  const dm = (await m.deleteObject('b', 'm')).marker!;
  const n = await m.removeVersionsIfUnchanged('b', [
    { key: 'k', versionId: v1.versionId!, vs: v1.vs! },
    { key: 'k', versionId: v2.versionId!, vs: v2.vs! + 1 },
    { key: 'k', versionId: v3.versionId!, vs: v3.vs! },
    { key: 'm', versionId: dm.versionId!, vs: dm.vs! },
    { key: 'k', versionId: 'garbage', vs: 0 },
  ]);
  t.equal(n, 2, 'the matching noncurrent version and the marker');
  t.same(ids(m, 'b', 'k'), [v3.versionId, v2.versionId], 'v1 went; v2 (stamp mismatch) and the current v3 stay');
  t.same(ids(m, 'b', 'm'), [], 'the marker went');
  t.same(m.queuedFiles(), [f1], "the removed version's file is queued");
  t.equal(m.getObject('b', 'k')?.versionId, v3.versionId);
  t.equal(await m.removeVersionsIfUnchanged('nobucket', [{ key: 'k', versionId: v2.versionId!, vs: v2.vs! }]), 0);
});

t.test('removeVersionsIfUnchanged keeps a latest marker while a version it hides stays (Object Lock)', async (t) => {
  // Lifecycle asked for both; the locked version stays, so the marker must too, or the deleted
  // object would come back.
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  const locked = await m.putObject('b', 'k', fileObj(fid(), { retention: { mode: 'COMPLIANCE', until: Date.now() + 86_400_000 } }));
  const dm = (await m.deleteObject('b', 'k')).marker!;
  const n = await m.removeVersionsIfUnchanged('b', [
    { key: 'k', versionId: locked.versionId!, vs: locked.vs! },
    { key: 'k', versionId: dm.versionId!, vs: dm.vs! },
  ]);
  t.equal(n, 0, 'nothing removed');
  t.same(ids(m, 'b', 'k'), [dm.versionId, locked.versionId], 'the marker still hides the locked version');
  t.equal(m.getObject('b', 'k'), undefined, 'no current object came back');
});

t.test('completeUpload in an Enabled bucket makes a new version like putObject', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  const f0 = fid();
  const v0 = await m.putObject('b', 'k', fileObj(f0));
  await m.createUpload(upload('b', 'k', 'u1'));
  const p1 = part(1);
  const p2 = part(2);
  await m.putPart('u1', p1);
  await m.putPart('u1', p2);
  const rec = obj({ data: undefined, parts: [p1], etag: 'mp-1' });
  const mp = await m.completeUpload(upload('b', 'k', 'u1'), rec);
  t.match(mp.versionId, UUID7, 'the completed object has a version id');
  t.ok(mp.vs! > v0.vs!);
  t.equal(stampOfId(mp.versionId!), mp.vs);
  t.same(ids(m, 'b', 'k'), [mp.versionId, v0.versionId], 'the previous version is kept');
  await m.sweepFinishedUploads();
  t.same(m.queuedFiles(), [(p2.data as { file: string }).file], "only the unused part's file is queued, not the previous version's");
  t.same(m.getVersion('b', 'k', mp.versionId!)?.record.parts, [p1]);
  t.ok(m.referencedFiles().has(f0));

  await m.createUpload(upload('b', 'k', 'u2'));
  const q1 = part(1);
  await m.putPart('u2', q1);
  const mp2 = await m.completeUpload(upload('b', 'k', 'u2'), obj({ data: undefined, parts: [q1], etag: 'mp-2' }));
  t.same(ids(m, 'b', 'k'), [mp2.versionId, mp.versionId, v0.versionId]);
  const p1file = (p1.data as { file: string }).file;
  t.notOk(m.queuedFiles().includes(p1file), "the demoted multipart version's part file is kept");
  await m.deleteObject('b', 'k', undefined, mp.versionId);
  t.ok(m.queuedFiles().includes(p1file), "removing the multipart version queues its part's file");
  t.equal(m.getObject('b', 'k')?.versionId, mp2.versionId);
});
