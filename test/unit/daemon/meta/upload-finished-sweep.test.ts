// The part records of a completed or aborted upload: removed after the commit that ended it, a
// batch to a transaction (store-multipart.ts sweepFinished), not all in that commit, where 10,000
// held the event loop ~60-100 ms. The commit notes the upload finished (upload-tables.ts finish), so
// a store closed, or a process ended, before the sweep was done goes on with it when opened again:
// no part record is left, and the files of parts no object keeps are released, those the
// completed object keeps are not.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { SWEEP_BATCH_PARTS } from '../../../../daemon/meta/store-multipart.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord, type UploadRecord } from '../../../../daemon/meta/records.js';

let fileSeq = 0;
const fid = (): string => (++fileSeq).toString(16).padStart(32, '0');
const part = (n: number): PartRecord => ({ v: RECORD_VERSION, n, size: 5, stored: 5, etag: `etag${n}`, data: { file: fid() }, mtime: 1 });
const upload = (id: string, key = 'k'): UploadRecord => ({ v: RECORD_VERSION, id, bucket: 'b', key, initiated: 1, headers: {}, userMeta: {} });
const fileOf = (p: PartRecord): string => (p.data as { file: string }).file;
const multipart = (parts: PartRecord[]): ObjectRecord => ({ v: RECORD_VERSION, size: 5 * parts.length, etag: 'mp', mtime: 1, headers: {}, userMeta: {}, stored: 5 * parts.length, parts });
const sorted = (a: string[]): string[] => [...a].sort();

function storeDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 's3d-sweep-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function withParts(m: MetaStore, id: string, n: number, key = 'k'): Promise<PartRecord[]> {
  await m.createUpload(upload(id, key));
  const parts = Array.from({ length: n }, (_, i) => part(i + 1));
  await Promise.all(parts.map((p) => m.putPart(id, p)));
  return parts;
}

t.test('an abort removes the upload in its commit, its parts in batches after it', async (t) => {
  const m = new MetaStore(storeDir(t));
  t.teardown(() => m.close());
  await m.createBucket('b');
  const n = SWEEP_BATCH_PARTS * 3 + 7;
  const parts = await withParts(m, 'u', n);
  // The commits the sweep makes, counted as lmdb-js's transaction ids advance.
  const before = m.lastTxnId()!;
  t.equal(await m.abortUpload('u'), true);
  t.equal(m.getUpload('u'), undefined, 'the upload is gone with the commit');
  await m.sweepFinishedUploads();
  t.ok(m.lastTxnId()! - before >= 1 + Math.ceil(n / SWEEP_BATCH_PARTS), `the parts went over ${m.lastTxnId()! - before - 1} more commits`);
  t.same(m.listParts('u'), [], 'no part record is left');
  t.equal(m.finishedUploadsPending(), false, 'nor the note');
  t.same(sorted(m.queuedFiles(10_000)), sorted(parts.map(fileOf)), 'every part file is released');
  // Nothing reads a part of an upload that is gone: its files are due at once, with no grace
  // period (one left queued past a clean stop was a file no record names until the next start).
  t.same(sorted(m.dueFiles(3_600_000, 10_000)), sorted(parts.map(fileOf)), 'due at once, whatever the grace');
  // A file a commit releases from a record still has its grace period.
  await m.putObject('b', 'plain', { v: RECORD_VERSION, size: 1, etag: 'e', mtime: 1, headers: {}, userMeta: {}, stored: 1, data: { file: 'f'.repeat(32) } } as ObjectRecord);
  await m.deleteObject('b', 'plain');
  t.notOk(m.dueFiles(3_600_000, 10_000).includes('f'.repeat(32)), 'a deleted object\'s file waits out its grace');
  await t.rejects(m.putPart('u', part(1)), { code: 'NoSuchUpload' }, 'a part stored for it meanwhile is refused');
});

t.test('closed before the sweep is done: the next open removes the rest, releasing only what no object keeps', async (t) => {
  const dir = storeDir(t);
  let m = new MetaStore(dir);
  await m.createBucket('b');
  const n = SWEEP_BATCH_PARTS * 4;
  const aborted = await withParts(m, 'ua', n, 'ka');
  const completed = await withParts(m, 'uc', n, 'kc');
  const read = await m.partsOfUpload('uc');
  // The last part is left out of the object: its file goes, the others are the object's.
  const kept = read.parts.slice(0, n - 1);
  await m.completeUpload(upload('uc', 'kc'), multipart(kept), undefined, undefined, read);
  await m.abortUpload('ua');
  // Closed at once: the sweep stops after the batch it is in (a stop, or a crash, between two).
  await m.close();
  m = new MetaStore(dir);
  t.teardown(() => m.close());
  t.ok(m.finishedUploadsPending(), 'opened again with part records left to remove');
  t.ok(m.listParts('ua').length > 0 && m.listParts('uc').length > 0, 'of both uploads');
  t.equal(m.getUpload('ua'), undefined);
  t.equal(m.getUpload('uc'), undefined);
  t.same(m.getObject('b', 'kc')!.parts!.map(fileOf), kept.map(fileOf), 'the completed object is whole');
  await m.sweepFinishedUploads();
  t.same([m.listParts('ua'), m.listParts('uc')], [[], []], 'no part record is left of either');
  t.equal(m.finishedUploadsPending(), false);
  t.same(sorted(m.queuedFiles(10_000)), sorted([...aborted.map(fileOf), fileOf(completed[n - 1]!)]), "the aborted upload's files and the part left out, not the object's");
});

t.test("the completed object deleted before the sweep removed its parts' records: no record names its files", async (t) => {
  // Those records are left when the sweep lags (a store closed or a process ended mid-sweep, a
  // failed sweep commit). The object's deletion queues its files, past their grace the reaper
  // deletes them; a record still naming one made `s3d backup` take it for a missing file of a
  // damaged store (MissingDataFile), and the start-up scan keep it as referenced.
  const dir = storeDir(t);
  let m = new MetaStore(dir);
  await m.createBucket('b');
  const n = SWEEP_BATCH_PARTS * 4;
  const completed = await withParts(m, 'uc', n, 'kc');
  const read = await m.partsOfUpload('uc');
  const kept = read.parts.slice(0, n - 1);
  await m.completeUpload(upload('uc', 'kc'), multipart(kept), undefined, undefined, read);
  await m.close();
  m = new MetaStore(dir);
  t.teardown(() => m.close());
  await m.deleteObject('b', 'kc');
  await m.close();
  m = new MetaStore(dir, { readOnly: true });
  t.ok(m.finishedUploadsPending() && m.listParts('uc').length > 0, 'part records left to remove');
  const queued = new Set(m.queuedFiles(10_000));
  t.same(sorted(kept.map(fileOf).filter((f) => queued.has(f))), sorted(kept.map(fileOf)), "the object's files are queued for deletion");
  const named = m.referencedFiles();
  t.same(kept.map(fileOf).filter((f) => named.has(f)), [], 'no record names them');
  t.ok(named.has(fileOf(completed[n - 1]!)) || queued.has(fileOf(completed[n - 1]!)), 'the part left out is named until its record goes, or queued');
});
