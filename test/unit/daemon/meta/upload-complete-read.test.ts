// A completion's parts, read for it a slice at a time (MetaStore.partsOfUpload) with the bytes
// each is stored as, and its commit, which takes a part unchanged since that read without decoding
// it again and removes the parts the object keeps undecoded. Read in one listParts and decoded
// again in the commit, 10,000 parts held the event loop ~40-70 ms before the commit and ~125 ms in
// it. A part re-uploaded between the read and the commit is judged as it is then, as before.
import t from 'tap';
import { conflictCode, openStore } from '../../../helpers/meta-versions.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord, type UploadRecord } from '../../../../daemon/meta/records.js';
import { turnsDuring } from '../../../helpers/wait.js';
import { MetaConflict } from '../../../../daemon/meta/store.js';
import { metaError } from '../../../../daemon/ops/env.js';
import { partConflict } from '../../../../daemon/ops/multipart-complete.js';
import { S3Error } from '../../../../daemon/errors.js';

/** The S3 error a meta conflict is answered as. */
function wireError(conflict: unknown): { code: string; status: number; fields: Record<string, string> } | undefined {
  try {
    metaError(conflict);
  } catch (err) {
    if (err instanceof S3Error) return { code: err.code, status: err.status, fields: { ...err.fields } };
  }
  return undefined;
}

let fileSeq = 0;
const fid = (): string => (++fileSeq).toString(16).padStart(32, '0');
const part = (n: number, file = fid(), etag = `etag${n}`): PartRecord => ({ v: RECORD_VERSION, n, size: 5, stored: 5, etag, data: { file }, mtime: 1 });
const upload = (id: string, key = 'k'): UploadRecord => ({ v: RECORD_VERSION, id, bucket: 'b', key, initiated: 1, headers: {}, userMeta: {} });
const fileOf = (p: PartRecord): string => (p.data as { file: string }).file;
const multipart = (parts: PartRecord[]): ObjectRecord => ({ v: RECORD_VERSION, size: 5 * parts.length, etag: 'mp', mtime: 1, headers: {}, userMeta: {}, stored: 5 * parts.length, parts });

t.test('10,000 parts: read while the event loop turns, in order, each with its bytes; completed from that read', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await m.createUpload(upload('u'));
  const stored = Array.from({ length: 10_000 }, (_, i) => part(i + 1));
  await Promise.all(stored.map((p) => m.putPart('u', p)));
  const { result: read, turns } = await turnsDuring(() => m.partsOfUpload('u'));
  t.ok(turns >= 9, `the event loop turned ${turns} times meanwhile`);
  t.same(read.parts, stored, 'every part, in order, as stored');
  t.same([read.bytes.size, read.bytes.get(1)!.length > 0], [10_000, true], 'the bytes of each');
  // Part 10,000 left out: its file goes, the others stay the object's.
  const used = read.parts.slice(0, 9_999);
  await m.completeUpload(upload('u'), multipart(used), undefined, undefined, read);
  t.same(m.getObject('b', 'k')!.parts, used, 'the object has the parts listed');
  t.equal(m.getUpload('u'), undefined, 'the upload is gone with the commit');
  // The part records go after the commit, a batch at a time (store-multipart.ts sweepFinished).
  await m.sweepFinishedUploads();
  t.same(m.queuedFiles(), [fileOf(stored[9_999]!)], 'only the part left out is released');
  t.same(m.listParts('u'), [], 'the part records are gone');
  t.equal(m.getUpload('u'), undefined, 'and the upload');
});

t.test('a part replaced after the read: InvalidPart, or (the same ETag and sizes) taken as it is now', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await m.createUpload(upload('u1', 'k1'));
  await m.putPart('u1', part(1));
  await m.putPart('u1', part(2));
  const read = await m.partsOfUpload('u1');
  await m.putPart('u1', part(2, fid(), 'etag2-new'));
  const conflict = await m.completeUpload(upload('u1', 'k1'), multipart(read.parts), undefined, undefined, read).then(() => undefined, (err: unknown) => err);
  t.ok(conflict instanceof MetaConflict && conflict.code === 'InvalidPart', 'another ETag: InvalidPart');
  // S3's InvalidPart names the part the list gave, as the check before the commit does (ops/multipart-complete.ts).
  t.equal((conflict as MetaConflict).part, 2, 'naming the part');
  const listed = [{ n: 1, etag: 'etag1', checksums: {} }, { n: 2, etag: 'etag2', checksums: {} }];
  t.same(wireError(partConflict(conflict, listed, 'u1')), { code: 'InvalidPart', status: 400, fields: { ETag: 'etag2', PartNumber: '2', UploadId: 'u1' } }, 'answered naming the upload, the part and the ETag listed');
  t.ok(m.getUpload('u1'), 'the upload stays');

  await m.createUpload(upload('u2', 'k2'));
  await m.putPart('u2', part(1));
  const old = part(2);
  await m.putPart('u2', old);
  const read2 = await m.partsOfUpload('u2');
  // The same bytes uploaded again: a new file, the same ETag and sizes.
  const again = part(2);
  await m.putPart('u2', again);
  await m.completeUpload(upload('u2', 'k2'), multipart(read2.parts), undefined, undefined, read2);
  await m.sweepFinishedUploads();
  t.same(m.getObject('b', 'k2')!.parts!.map(fileOf), [fileOf(read2.parts[0]!), fileOf(again)], 'the part as it is now, not the file its re-upload released');
  t.ok(m.queuedFiles().includes(fileOf(old)), 'the replaced file is released');
  t.notOk(m.queuedFiles().includes(fileOf(again)), 'the file the object keeps is not');
});

// Each part write counts in the upload record (UploadRecord.partWrites, in putPart's transaction);
// partsOfUpload reads the count before the first part, and a commit that finds it unchanged takes
// the parts without comparing them (10,000 compared held the event loop ~20 ms). A count that
// changed, or an upload without one (no part stored for it by a version that counts), compares them.
t.test('a part replaced while the parts are read (after the count, after its own page): InvalidPart', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await m.createUpload(upload('u'));
  await Promise.all(Array.from({ length: 3_000 }, (_, i) => m.putPart('u', part(i + 1))));
  t.equal(m.getUpload('u')!.partWrites, 3_000, 'each part write counted');
  let replaced: Promise<void> | undefined;
  // Part 1 replaced once its page is read, before the read is done.
  const { result: read } = await turnsDuring(async (turns) => {
    const p = m.partsOfUpload('u');
    while (turns() < 2) await new Promise((r) => setImmediate(r));
    replaced = m.putPart('u', part(1, fid(), 'etag1-new'));
    return p;
  });
  await replaced;
  t.equal(read.parts[0]!.etag, 'etag1', 'the read has part 1 as it was');
  t.equal(read.partWrites, 3_000, 'and the count before it');
  t.equal(await conflictCode(m.completeUpload(upload('u'), multipart(read.parts), undefined, undefined, read)), 'InvalidPart', 'the commit finds part 1 replaced');
  t.ok(m.getUpload('u'), 'the upload stays');
});

t.test('an upload without a count (its parts stored by an earlier version): its parts compared', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await m.createUpload(upload('u'));
  await m.putPart('u', part(1));
  await m.putPart('u', part(2));
  // As an earlier version left it: no count.
  const uploads = (m as unknown as { multipart: { uploads: { put(k: string, v: UploadRecord): Promise<boolean> } } }).multipart.uploads;
  await uploads.put('u', upload('u'));
  const read = await m.partsOfUpload('u');
  t.equal(read.partWrites, undefined, 'no count read');
  await m.putPart('u', part(2, fid(), 'etag2-new'));
  t.equal(await conflictCode(m.completeUpload(upload('u'), multipart(read.parts), undefined, undefined, read)), 'InvalidPart', 'a part replaced since: InvalidPart');
  const again = await m.partsOfUpload('u');
  t.equal(again.partWrites, 1, 'counted from the first part write of this version');
  await m.completeUpload(upload('u'), multipart(again.parts), undefined, undefined, again);
  t.same(m.getObject('b', 'k')!.parts!.map((p) => p.etag), ['etag1', 'etag2-new'], 'completed with the parts as they are');
});

// A count the commit may trust must change with every part write: past 2^53 (+1 is no change in
// a double) or not finite it would not, and a part replaced after the read went unnoticed (the
// object kept the replaced part's file, which its re-upload had released). Such a count counts
// as none (the parts are compared), and a part write after it starts the count again.
t.test('a count that no longer changes (2^53, Infinity, past MAX_SAFE_INTEGER): the parts are compared', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const uploads = (m as unknown as { multipart: { uploads: { put(k: string, v: UploadRecord): Promise<boolean> } } }).multipart.uploads;
  for (const [i, count] of [2 ** 53, Infinity, Number.MAX_SAFE_INTEGER, 'x'].entries()) {
    const id = `u${i}`;
    const key = `k${i}`;
    await m.createUpload(upload(id, key));
    await m.putPart(id, part(1));
    await m.putPart(id, part(2));
    // As a store could hold it: the count as given (the last, the largest safe one, counted once more).
    await uploads.put(id, { ...m.getUpload(id)!, partWrites: count as number });
    if (count === Number.MAX_SAFE_INTEGER) await m.putPart(id, part(3));
    const read = await m.partsOfUpload(id);
    const replaced = part(2, fid(), 'etag2-new');
    await m.putPart(id, replaced);
    t.not(m.getUpload(id)!.partWrites, read.partWrites, `${String(count)}: the part write changed the count`);
    t.equal(await conflictCode(m.completeUpload(upload(id, key), multipart(read.parts.slice(0, 2)), undefined, undefined, read)), 'InvalidPart', `${String(count)}: the commit finds part 2 replaced`);
    t.ok(m.getUpload(id), `${String(count)}: the upload stays`);
    t.equal(m.getObject('b', key), undefined, `${String(count)}: no object`);
  }
});
