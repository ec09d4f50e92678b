// Versioned deletes over records of 10,000 parts, and the batch deletes, in slices: a delete
// marker over a key whose newest noncurrent version has 10,000 parts, a version of 10,000 parts
// made current again (its current version or delete marker deleted), one deleted by its version
// id, and DeleteObjects' and lifecycle's deletes of such records. Each decoded (and, made current
// again, encoded) its record whole in the commit, in one turn of the event loop: ~10-20 ms each
// (~30-70 ms encoded) of a loaded 2-core VM. Now the records a delete reads are decoded ahead,
// 500 parts to a turn, and taken in the transaction if their bytes are still those; a version made
// current again is moved as its bytes. Counted on a real store, by the parts its tables decoded
// and encoded in each turn; what the store holds and queues afterwards is what it was.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, filesOf, type ObjectRecord, type PartRecord } from '../../../../daemon/meta/records.js';
import { stampOf } from '../../../../daemon/meta/versions.js';
import type { ListedRecord } from '../../../../daemon/meta/listed-record.js';
import { countByTurn } from '../../../helpers/turns.js';

const PARTS = 10_000;
const MOST_A_TURN = 500;
let files = 0;
const part = (n: number): PartRecord => ({ v: RECORD_VERSION, n, size: 5 << 20, stored: (5 << 20) + 32, etag: n.toString(16).padStart(32, 'a'), data: { file: `f${String(++files).padStart(31, '0')}` }, mtime: 1_765_000_000_000 + n, ...(n % 3 === 0 ? { checksums: { CRC32: 'AAAAAA==' } } : {}) });
const big = (): ObjectRecord => ({ v: RECORD_VERSION, size: PARTS * (5 << 20), etag: `${'f'.repeat(32)}-${PARTS}`, mtime: 1_765_000_000_123, headers: { 'content-type': 'x/y' }, userMeta: { ü: 'välue' }, stored: 1, parts: Array.from({ length: PARTS }, (_, i) => part(i + 1)), tags: [['a', 'b']] });
const small = (): ObjectRecord => ({ v: RECORD_VERSION, size: 1, etag: 'd41d8cd98f00b204e9800998ecf8427e', mtime: 1_765_000_001_000, headers: {}, userMeta: {}, data: { file: `s${String(++files).padStart(31, '0')}` }, stored: 33 });

interface Codec {
  decode(b: Uint8Array): unknown;
  encode(v: unknown, ...rest: unknown[]): unknown;
}
interface Inside {
  objects: { decoder: Codec; encoder: Codec };
  versions: { decoder: Codec; encoder: Codec };
  gc: { sweepBatches?(): Promise<void> };
}
const inside = (m: MetaStore): Inside => m as unknown as Inside;

/** Parts in a value a table decodes or encodes: a record's, or a slice of them. */
function partsIn(v: unknown): number {
  if (Array.isArray(v)) return v.length > 0 && typeof v[0] === 'object' && v[0] !== null && 'n' in v[0] ? v.length : 0;
  return (v as ObjectRecord | undefined)?.parts?.length ?? 0;
}

/** Counts the parts the objects and versions tables decode and encode (a table's encoder is its decoder; each method wrapped once). */
function countParts(m: MetaStore): { decoded: () => number; encoded: () => number } {
  let decoded = 0;
  let encoded = 0;
  const seen = new Set<string>();
  const ids = new Map<Codec, number>();
  for (const table of [inside(m).objects, inside(m).versions]) {
    for (const [codec, which] of [[table.decoder, 'd'], [table.encoder, 'e']] as const) {
      const id = `${ids.get(codec) ?? ids.set(codec, ids.size).size - 1}${which}`;
      if (seen.has(id)) continue;
      seen.add(id);
      if (which === 'd') {
        const decode = codec.decode;
        codec.decode = function (this: unknown, b: Uint8Array) {
          const v = decode.call(this, b);
          decoded += partsIn(v);
          return v;
        };
      } else {
        const encode = codec.encode;
        codec.encode = function (this: unknown, v: unknown, ...rest: unknown[]) {
          encoded += partsIn(v);
          return encode.call(this, v, ...rest);
        };
      }
    }
  }
  return { decoded: () => decoded, encoded: () => encoded };
}

const dirs = new WeakMap<MetaStore, string>();

function openStore(t: Test, dir = mkdtempSync(join(tmpdir(), 's3d-version-slices-'))): MetaStore {
  const m = new MetaStore(dir);
  dirs.set(m, dir);
  t.teardown(() => m.close());
  return m;
}

/**
 * `m` closed and opened again: nothing kept decoded (a version retired by a write is kept as it is
 * moved), as for a delete long after the writes. Its directory goes when the test ends.
 */
async function cold(t: Test, m: MetaStore): Promise<MetaStore> {
  const dir = dirs.get(m)!;
  await m.close();
  const again = openStore(t, dir);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return again;
}

/** The parts decoded and encoded in each turn while `run` (and the sweep of the files it released) ran. */
async function byTurn(m: MetaStore, run: () => Promise<unknown>): Promise<{ decoded: number[]; encoded: number[] }> {
  const parts = countParts(m);
  const turns: Array<[number, number]> = [];
  let at: [number, number] = [parts.decoded(), parts.encoded()];
  await countByTurn(
    () => {
      const now: [number, number] = [parts.decoded(), parts.encoded()];
      turns.push([now[0] - at[0], now[1] - at[1]]);
      at = now;
      return 0;
    },
    async () => {
      await run();
      await inside(m).gc.sweepBatches?.();
    },
  );
  return { decoded: turns.map((x) => x[0]), encoded: turns.map((x) => x[1]) };
}

const most = (turns: number[]): number => turns.reduce((a, b) => Math.max(a, b), 0);

function sliced(t: Test, r: { decoded: number[]; encoded: number[] }): void {
  t.ok(most(r.decoded) <= MOST_A_TURN, `at most ${MOST_A_TURN} parts decoded a turn (most: ${most(r.decoded)})`);
  t.ok(most(r.encoded) <= MOST_A_TURN, `at most ${MOST_A_TURN} parts encoded a turn (most: ${most(r.encoded)})`);
}

async function versionedBucket(m: MetaStore, state: 'Enabled' | 'Suspended' = 'Enabled'): Promise<void> {
  await m.createBucket('v');
  await m.updateBucket('v', (b) => ({ ...b, versioning: state }));
}

/** The key's versions as (version id, delete marker, parts) newest first, the current one marked. */
const shape = (m: MetaStore, key = 'k'): Array<[string | undefined, boolean, number, boolean]> => m.keyVersions('v', key).map((v) => [v.record.versionId, v.record.deleteMarker === true, v.record.parts?.length ?? 0, v.isLatest]);

t.test('a delete marker over a small object whose noncurrent version has 10,000 parts: that version not decoded in the commit', async (t) => {
  let m = openStore(t);
  await versionedBucket(m);
  const old = await m.putObject('v', 'k', big());
  const cur = await m.putObject('v', 'k', small());
  m = await cold(t, m);
  sliced(t, await byTurn(m, () => m.deleteObject('v', 'k')));
  const [marker, ...rest] = shape(m);
  t.equal(marker?.[1], true, 'a delete marker on top');
  t.same(rest, [[cur.versionId, false, 0, false], [old.versionId, false, PARTS, false]], 'both versions kept, noncurrent');
  t.ok(stampOf(m.keyVersions('v', 'k')[0]!.record) > stampOf(cur), 'the marker stamped after the newest version');
  t.same(m.queuedFiles(10), [], 'nothing released');
});

t.test('Suspended, a delete marker replacing a small null version next to one of 10,000 parts: sliced, the null version\u2019s file released', async (t) => {
  let m = openStore(t);
  await versionedBucket(m);
  const old = await m.putObject('v', 'k', big());
  await m.updateBucket('v', (b) => ({ ...b, versioning: 'Suspended' as const }));
  const nul = await m.putObject('v', 'k', small());
  m = await cold(t, m);
  sliced(t, await byTurn(m, () => m.deleteObject('v', 'k')));
  const [marker, ...rest] = shape(m);
  t.same(marker?.slice(1), [true, 0, true], 'a null delete marker on top, the latest');
  t.same(rest, [[old.versionId, false, PARTS, false]], 'the versioned object kept');
  t.same(m.queuedFiles(10), filesOf(nul), 'the null version\u2019s file queued');
});

for (const [what, hide] of [
  ['its current version', async (m: MetaStore) => (await m.putObject('v', 'k', small())).versionId!],
  ['the delete marker over it', async (m: MetaStore) => (await m.deleteObject('v', 'k')).marker!.versionId!],
] as const) {
  t.test(`a version of 10,000 parts made current again (${what} deleted): neither decoded nor encoded in the commit`, async (t) => {
    let m = openStore(t);
    await versionedBucket(m);
    const old = await m.putObject('v', 'k', big());
    const gone = await hide(m);
    const hidden = m.keyVersions('v', 'k').find((v) => v.record.versionId === gone)!.record;
    m = await cold(t, m);
  sliced(t, await byTurn(m, () => m.deleteObject('v', 'k', undefined, gone)));
    t.same(m.getObject('v', 'k'), old, 'the old version current again, field for field');
    t.same(shape(m), [[old.versionId, false, PARTS, true]], 'and the only version');
    t.same(m.queuedFiles(10), filesOf(hidden), 'only the deleted version\u2019s files queued');
  });
}

t.test('a noncurrent version of 10,000 parts deleted by its version id: sliced, its files queued', async (t) => {
  let m = openStore(t);
  await versionedBucket(m);
  const old = await m.putObject('v', 'k', big());
  const cur = await m.putObject('v', 'k', small());
  m = await cold(t, m);
  sliced(t, await byTurn(m, () => m.deleteObject('v', 'k', undefined, old.versionId)));
  t.same(shape(m), [[cur.versionId, false, 0, true]], 'the small object left');
  t.same(m.queuedFiles(PARTS + 10).sort(), filesOf(old).sort(), 'the deleted version\u2019s files queued');
});

t.test('DeleteObjects of two objects of 10,000 parts, unversioned and versioned: sliced', async (t) => {
  let m = openStore(t);
  await m.createBucket('b');
  const a = await m.putObject('b', 'a', big());
  const b = await m.putObject('b', 'b', big());
  m = await cold(t, m);
  sliced(t, await byTurn(m, () => m.deleteObjects('b', [{ key: 'a' }, { key: 'b', check: (cur) => (cur?.etag === b.etag ? undefined : 'PreconditionFailed') }])));
  t.equal(m.getObject('b', 'a'), undefined, 'a deleted');
  t.equal(m.getObject('b', 'b'), undefined, 'b deleted');
  t.same(m.queuedFiles(3 * PARTS).sort(), [...filesOf(a), ...filesOf(b)].sort(), 'their files queued');
  await versionedBucket(m);
  const old = await m.putObject('v', 'k', big());
  const cur = await m.putObject('v', 'k', small());
  m = await cold(t, m);
  sliced(t, await byTurn(m, () => m.deleteObjects('v', [{ key: 'k', versionId: cur.versionId! }])));
  t.same(m.getObject('v', 'k'), old, 'the old version current again');
});

t.test('lifecycle: an expiration of an object of 10,000 parts, and a removal of such a noncurrent version: sliced', async (t) => {
  let m = openStore(t);
  await m.createBucket('b');
  const a = await m.putObject('b', 'a', big());
  m = await cold(t, m);
  const n = await byTurn(m, () => m.deleteObjectsIfUnchanged('b', [{ key: 'a', etag: a.etag, mtime: a.mtime }], undefined, (_b, _k, cur) => cur.parts?.length === PARTS));
  sliced(t, n);
  t.equal(m.getObject('b', 'a'), undefined, 'expired');
  t.same(m.queuedFiles(2 * PARTS).sort(), filesOf(a).sort(), 'its files queued');
  await versionedBucket(m);
  const old = await m.putObject('v', 'k', big());
  await m.putObject('v', 'k', big());
  m = await cold(t, m);
  sliced(t, await byTurn(m, () => m.deleteObjectsIfUnchanged('v', [{ key: 'k', etag: old.etag, mtime: old.mtime }])));
  t.equal(shape(m)[0]?.[1], true, 'a delete marker on top');
  m = await cold(t, m);
  // Judged again in the commit as the lifecycle scanner does, by the key's versions as they are
  // there: by metadata (the judge reads them without data and parts, as lifecycle lists them).
  const noncurrent = (_b: unknown, _key: string, versions: () => Array<{ record: ListedRecord; isLatest: boolean }>): ReadonlySet<number> => new Set(versions().filter((v) => !v.isLatest && v.record.size === PARTS * (5 << 20)).map((v) => stampOf(v.record)));
  sliced(t, await byTurn(m, () => m.removeVersionsIfUnchanged('v', [{ key: 'k', versionId: old.versionId!, vs: stampOf(old) }], undefined, undefined, noncurrent)));
  t.same(shape(m).map((v) => v[2]), [0, PARTS], 'the marker and the newer version left');
});
