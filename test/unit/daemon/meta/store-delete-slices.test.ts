// An unversioned delete or overwrite of an object of 10,000 parts, and a PutObject of such a
// record (a copy of a multipart object onto itself), in slices: the record replaced is decoded
// ahead of the transaction 500 parts to a turn of the event loop (record-cache.ts prefetch), the
// record written encoded ahead the same way (record-encoding.ts), and the 10,000 files released
// go into the deletion queue 500 to a commit after the delete's (deletion-queue.ts batches). Each
// was done in the commit, in one turn: ~15-40 ms, ~30-70 ms and ~15-40 ms of a loaded 2-core VM.
// Counted here on a real store, by the parts its table decoded and encoded and the files it
// queued in each turn; what the store holds and queues afterwards is what it was.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, filesOf, type ObjectRecord, type PartRecord } from '../../../../daemon/meta/records.js';
import { countByTurn } from '../../../helpers/turns.js';

const PARTS = 10_000;
const MOST_A_TURN = 500;
let files = 0;
const part = (n: number): PartRecord => ({ v: RECORD_VERSION, n, size: 5 << 20, stored: (5 << 20) + 32, etag: n.toString(16).padStart(32, 'a'), data: { file: `f${String(++files).padStart(31, '0')}` }, mtime: 1_765_000_000_000 + n, ...(n % 3 === 0 ? { checksums: { CRC32: 'AAAAAA==' } } : {}) });
const big = (): ObjectRecord => ({ v: RECORD_VERSION, size: PARTS * (5 << 20), etag: `${'f'.repeat(32)}-${PARTS}`, mtime: 1_765_000_000_123, headers: { 'content-type': 'x/y' }, userMeta: { ü: 'välue' }, stored: 1, parts: Array.from({ length: PARTS }, (_, i) => part(i + 1)), tags: [['a', 'b']] });
const small = (): ObjectRecord => ({ v: RECORD_VERSION, size: 1, etag: 'd41d8cd98f00b204e9800998ecf8427e', mtime: 1_765_000_001_000, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 0 });

interface Codec {
  decode(b: Uint8Array): unknown;
  encode(v: unknown, ...rest: unknown[]): unknown;
}
interface Inside {
  objects: { decoder: Codec; encoder: Codec };
  gc: { filesQueued: number; sweepBatches?(): Promise<void> };
}
const inside = (m: MetaStore): Inside => m as unknown as Inside;

/** Parts in a value the objects table decodes or encodes: a record's, or a slice of them. */
function partsIn(v: unknown): number {
  if (Array.isArray(v)) return v.length > 0 && typeof v[0] === 'object' && v[0] !== null && 'n' in v[0] ? v.length : 0;
  return (v as ObjectRecord | undefined)?.parts?.length ?? 0;
}

/** Counts the parts the objects table decodes and encodes (its codec is shared with the record cache and lmdb-js's put). */
function countParts(m: MetaStore): { decoded: () => number; encoded: () => number } {
  const { decoder, encoder } = inside(m).objects;
  let decoded = 0;
  let encoded = 0;
  const decode = decoder.decode;
  const encode = encoder.encode;
  decoder.decode = function (this: unknown, b: Uint8Array) {
    const v = decode.call(this, b);
    decoded += partsIn(v);
    return v;
  };
  encoder.encode = function (this: unknown, v: unknown, ...rest: unknown[]) {
    encoded += partsIn(v);
    return encode.call(this, v, ...rest);
  };
  return { decoded: () => decoded, encoded: () => encoded };
}

function storeDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 's3d-delete-slices-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function openStore(t: Test, dir = storeDir(t)): MetaStore {
  const m = new MetaStore(dir);
  t.teardown(() => m.close());
  return m;
}

/** Runs `run`, then waits for the released files to be queued; the counts by turn throughout. */
async function byTurn(m: MetaStore, run: () => Promise<unknown>): Promise<{ decoded: number[]; encoded: number[]; queued: number[] }> {
  const parts = countParts(m);
  const gc = inside(m).gc;
  const all = async (): Promise<void> => {
    await run();
    await gc.sweepBatches?.();
  };
  // Three counters over the same turns: countByTurn's count reads all three, its own figure unused.
  const turns: Array<[number, number, number]> = [];
  let at: [number, number, number] = [parts.decoded(), parts.encoded(), gc.filesQueued];
  await countByTurn(
    () => {
      const now: [number, number, number] = [parts.decoded(), parts.encoded(), gc.filesQueued];
      turns.push([now[0] - at[0], now[1] - at[1], now[2] - at[2]]);
      at = now;
      return 0;
    },
    all,
  );
  return { decoded: turns.map((x) => x[0]), encoded: turns.map((x) => x[1]), queued: turns.map((x) => x[2]) };
}

const most = (turns: number[]): number => turns.reduce((a, b) => Math.max(a, b), 0);
const sum = (turns: number[]): number => turns.reduce((a, b) => a + b, 0);

for (const [what, replace] of [
  ['deleted', (m: MetaStore) => m.deleteObject('b', 'k')],
  ['overwritten by a small object', (m: MetaStore) => m.putObject('b', 'k', small())],
] as const) {
  t.test(`unversioned, an object of 10,000 parts ${what}: at most 500 parts decoded and 500 files queued a turn; every file queued`, async (t) => {
    const m = openStore(t);
    await m.createBucket('b');
    const stored = await m.putObject('b', 'k', big());
    const released = filesOf(stored);
    const r = await byTurn(m, () => replace(m));
    t.ok(most(r.decoded) <= MOST_A_TURN, `at most ${MOST_A_TURN} parts decoded a turn (most: ${most(r.decoded)})`);
    t.ok(sum(r.decoded) >= PARTS, 'the record replaced was decoded');
    t.ok(most(r.queued) <= MOST_A_TURN, `at most ${MOST_A_TURN} files queued a turn (most: ${most(r.queued)})`);
    t.equal(sum(r.queued), PARTS, 'every part file queued once');
    t.same(m.queuedFiles(PARTS + 10).sort(), released.sort(), 'the queue holds the part files, and nothing else');
    t.same(m.getObject('b', 'k'), what === 'deleted' ? undefined : small(), 'the key as the write left it');
  });
}

t.test('a PutObject of a record of 10,000 parts over one: at most 500 parts encoded and decoded a turn; stored as given', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const first = await m.putObject('b', 'k', big());
  const next = big();
  const r = await byTurn(m, () => m.putObject('b', 'k', next));
  t.ok(most(r.encoded) <= MOST_A_TURN, `at most ${MOST_A_TURN} parts encoded a turn (most: ${most(r.encoded)})`);
  t.ok(sum(r.encoded) >= PARTS, 'the record was encoded');
  t.ok(most(r.decoded) <= MOST_A_TURN, `at most ${MOST_A_TURN} parts decoded a turn (most: ${most(r.decoded)})`);
  t.ok(most(r.queued) <= MOST_A_TURN, `at most ${MOST_A_TURN} files queued a turn (most: ${most(r.queued)})`);
  t.same(m.queuedFiles(2 * PARTS).sort(), filesOf(first).sort(), 'the replaced record\u2019s files queued, none of the new one\u2019s');
  t.same(m.getObject('b', 'k'), next, 'read back field for field as given');
});

t.test('an overwrite keeping the data files (SSE-C key rotation of a 10,000-part object) queues none of them', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const first = await m.putObject('b', 'k', big());
  await byTurn(m, () => m.putObject('b', 'k', { ...first, etag: 'other', userMeta: {} }));
  t.same(m.queuedFiles(10), [], 'nothing queued');
});

t.test('a delete marker over a 10,000-part object decodes it ahead; a versioned put of one encodes it ahead', async (t) => {
  const m = openStore(t);
  await m.createBucket('v');
  await m.updateBucket('v', (b) => ({ ...b, versioning: 'Enabled' as const }));
  const r1 = await byTurn(m, () => m.putObject('v', 'k', big()));
  t.ok(most(r1.encoded) <= MOST_A_TURN, `put: at most ${MOST_A_TURN} parts encoded a turn (most: ${most(r1.encoded)})`);
  const r2 = await byTurn(m, () => m.deleteObject('v', 'k'));
  t.ok(most(r2.decoded) <= MOST_A_TURN, `delete: at most ${MOST_A_TURN} parts decoded a turn (most: ${most(r2.decoded)})`);
  t.equal(m.keyVersions('v', 'k')[0]?.record.deleteMarker, true, 'a delete marker on top');
  t.equal(m.keyVersions('v', 'k')[1]?.record.parts?.length, PARTS, 'the object a noncurrent version, its parts all there');
});

t.test('writes are asked for in the order they came, whichever of them prepares: a delete after a slow overwrite deletes it', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await m.putObject('b', 'k', big());
  // The overwrite decodes the current record and encodes its own ahead, over many turns; the
  // delete, asked for after it, must not be committed before it.
  const put = m.putObject('b', 'k', big());
  const del = m.deleteObject('b', 'k');
  await Promise.all([put, del]);
  t.equal(m.getObject('b', 'k'), undefined, 'the key deleted: the delete went after the overwrite');
});

t.test('a stop before the batch is swept: the files wait in it, counted as queued, and the next open queues them', async (t) => {
  const dir = storeDir(t);
  const m = new MetaStore(dir);
  await m.createBucket('b');
  const released = filesOf(await m.putObject('b', 'k', big()));
  await m.deleteObject('b', 'k');
  // Closed at once: the sweep stops after the commit it is in (if it began one).
  await m.close();
  const again = new MetaStore(dir, { readOnly: true });
  const snapshot = again.referenceSnapshot({ queued: true });
  const seen = await snapshot.files(new Set<string>(), () => false);
  snapshot.release();
  t.ok(released.every((f) => seen!.has(f)), 'a snapshot counts every released file as queued (the start-up scan leaves them alone)');
  t.same(again.queuedFiles(PARTS + 10).sort(), released.sort(), 'queued or waiting: every released file, once');
  await again.close();
  const reopened = openStore(t, dir);
  await inside(reopened).gc.sweepBatches?.();
  t.same(reopened.dueFiles(0, PARTS + 10).sort(), released.sort(), 'all due from the queue once the open swept the batch');
});

t.test('a store an earlier version wrote (no gc-batches table) opens read-only (s3d verify beside a daemon of that version)', async (t) => {
  const dir = storeDir(t);
  const m = new MetaStore(dir);
  await m.createBucket('b');
  await m.close();
  const root = open({ path: join(dir, 'meta'), maxDbs: 16 });
  await root.openDB({ name: 'gc-batches' }).drop();
  await root.close();
  const ro = new MetaStore(dir, { readOnly: true });
  t.same(ro.queuedFiles(10), [], 'nothing queued');
  const snapshot = ro.referenceSnapshot({ queued: true });
  t.same([...(await snapshot.files(new Set<string>(), () => false))!], [], 'no file referenced');
  snapshot.release();
  await ro.close();
});

t.test('stats().entries (s3d_lmdb_entries) counts a batch of released files not yet queued as one record', async (t) => {
  const dir = storeDir(t);
  const m = new MetaStore(dir);
  await m.createBucket('b');
  await m.putObject('b', 'k', big());
  await m.deleteObject('b', 'k');
  // Closed at once: the sweep stops after the commit it is in, the rest of the batch left.
  await m.close();
  const root = open({ path: join(dir, 'meta'), maxDbs: 16, readOnly: true });
  const entries = (name: string): number => (root.openDB({ name }).getStats() as { entryCount: number }).entryCount;
  const [queued, batches] = [entries('gc'), entries('gc-batches')];
  await root.close();
  t.equal(batches, 1, 'the batch is still there');
  const ro = new MetaStore(dir, { readOnly: true });
  t.equal(ro.stats().entries, 1 + queued + batches, 'the bucket, the files queued so far, and the batch');
  await ro.close();
});

// The bound is a commit's, not one release's: a DeleteObjects commit (up to 250 keys,
// ops/delete-objects.ts) of objects of 500 parts each, a lifecycle batch, released each key's files
// in a release of its own, under the bound, and all of them went into the queue in that one commit.
const SOME_PARTS = 500;
const KEYS = 100;
const multipart = (parts: number): ObjectRecord => ({ ...big(), size: parts * (5 << 20), etag: `${'e'.repeat(32)}-${parts}`, parts: Array.from({ length: parts }, (_, i) => part(i + 1)) });
const oneFile = (): ObjectRecord => ({ ...small(), data: { file: `f${String(++files).padStart(31, '0')}` }, stored: 33 });

async function manyObjects(m: MetaStore, n: number, record: () => ObjectRecord): Promise<{ keys: string[]; released: string[] }> {
  await m.createBucket('b');
  const keys: string[] = [];
  const released: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = `k${String(i).padStart(4, '0')}`;
    keys.push(key);
    released.push(...filesOf(await m.putObject('b', key, record())));
  }
  return { keys, released };
}

t.test(`DeleteObjects of ${KEYS} objects of ${SOME_PARTS} parts each: at most 500 files queued a turn (the commit's bound, not a release's); every file queued once`, async (t) => {
  const m = openStore(t);
  const { keys, released } = await manyObjects(m, KEYS, () => multipart(SOME_PARTS));
  const r = await byTurn(m, () => m.deleteObjects('b', keys.map((key) => ({ key }))));
  t.ok(most(r.queued) <= MOST_A_TURN, `at most ${MOST_A_TURN} files queued a turn (most: ${most(r.queued)})`);
  t.equal(sum(r.queued), KEYS * SOME_PARTS, 'every part file queued once');
  t.same(m.queuedFiles(KEYS * SOME_PARTS + 10).sort(), released.sort(), 'the queue holds the part files, and nothing else');
  t.equal(m.getObject('b', keys[0]!), undefined, 'deleted');
});

t.test('a lifecycle expiration of 1,000 objects of one data file each: at most 500 files queued a turn; every file queued once', async (t) => {
  const m = openStore(t);
  const { keys, released } = await manyObjects(m, 1000, oneFile);
  const expected = keys.map((key) => ({ key, etag: m.getObject('b', key)!.etag, mtime: m.getObject('b', key)!.mtime }));
  const r = await byTurn(m, () => m.deleteObjectsIfUnchanged('b', expected));
  t.ok(most(r.queued) <= MOST_A_TURN, `at most ${MOST_A_TURN} files queued a turn (most: ${most(r.queued)})`);
  t.equal(sum(r.queued), 1000, 'every file queued once');
  t.same(m.queuedFiles(2000).sort(), released.sort(), 'the queue holds their files, and nothing else');
});

t.test('a stop right after a DeleteObjects of many multipart objects: every released file named by the queue or a batch, and the next open queues them', async (t) => {
  const dir = storeDir(t);
  const m = new MetaStore(dir);
  const { keys, released } = await manyObjects(m, KEYS, () => multipart(SOME_PARTS));
  await m.deleteObjects('b', keys.map((key) => ({ key })));
  // Closed at once: the sweep stops after the commit it is in (if it began one).
  await m.close();
  const root = open({ path: join(dir, 'meta'), maxDbs: 16, readOnly: true });
  const batches = (root.openDB({ name: 'gc-batches' }).getStats() as { entryCount: number }).entryCount;
  await root.close();
  // 49,500 files past the bound: five entries of up to 10,000 (one of them all, each sweep commit
  // rewrote what was left of it: megabytes), the sweep stopped after at most a commit of 500.
  t.ok(batches >= 4 && batches <= 5, `the commit\u2019s releases past the bound in entries of 10,000 files (${batches} left)`);
  const again = new MetaStore(dir, { readOnly: true });
  const snapshot = again.referenceSnapshot({ queued: true });
  const seen = await snapshot.files(new Set<string>(), () => false);
  snapshot.release();
  t.ok(released.every((f) => seen!.has(f)), 'a snapshot counts every released file as queued (the start-up scan leaves them alone)');
  t.same(again.queuedFiles(KEYS * SOME_PARTS + 10).sort(), released.sort(), 'queued or waiting: every released file, once');
  await again.close();
  const reopened = openStore(t, dir);
  await inside(reopened).gc.sweepBatches?.();
  t.same(reopened.dueFiles(0, KEYS * SOME_PARTS + 10).sort(), released.sort(), 'all due from the queue once the open swept the batch');
});

// The daemon's stop records its clean-shutdown token as the store's last commit, after
// stopSweeping(): a batch sweep still moving files into the queue went on committing after it (it
// stopped only at close), and the next start took the store for one written since its clean stop.
t.test('stopSweeping() stops the batch sweep too: no commit after it, the batches kept for the next open', async (t) => {
  const m = openStore(t);
  const { keys } = await manyObjects(m, KEYS, () => multipart(SOME_PARTS));
  await m.deleteObjects('b', keys.map((key) => ({ key })));
  await m.stopSweeping();
  const txn = m.lastTxnId();
  // ~100 sweep commits of 500 files were waiting: a sweep still running commits within a few turns.
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(m.lastTxnId(), txn, 'no commit after stopSweeping()');
  t.ok((inside(m).gc as unknown as { hasBatches(): boolean }).hasBatches(), 'batches left for the next open');
});

// A commit reading more records of many parts than the caches keep (a removal of versions, or a
// store caller that does not cut its batch by MetaStore.deleteCommitEnd): those decoded ahead are
// at most what the caches keep. One more, and the caches dropped the first (least recently used):
// the commit, reading in the same order, decoded it again and dropped the next, and so on: every
// record decoded twice, all of them in the commit's one turn.
t.test('one commit of 200 objects of 500 parts (~13 MB of records, more than the caches keep): each record decoded once, ahead or in the commit', async (t) => {
  const m = openStore(t);
  const { keys } = await manyObjects(m, 200, () => multipart(SOME_PARTS));
  const r = await byTurn(m, () => m.deleteObjects('b', keys.map((key) => ({ key }))));
  t.equal(sum(r.decoded), 200 * SOME_PARTS, `every part decoded once (${sum(r.decoded)})`);
  t.ok(most(r.decoded) < 200 * SOME_PARTS, `the commit decoded only those not decoded ahead (most a turn: ${most(r.decoded)})`);
  t.equal(m.getObject('b', keys[199]!), undefined, 'deleted');
});
