// deleteSlices, the one loop DeleteObjects and lifecycle's expiry and version removals cut their
// deletes into commits with, on a real store: each slice ends where MetaStore.deleteCommitEnd
// ends it (here by the data files a commit releases, FILES_RELEASED_PER_COMMIT), at most `most`
// items; with `wholeKeys` (lifecycle's version removals) never between two versions of one key,
// a key too large for one commit going out alone, marked, for lifecycle-versions.ts to remove.
import t from 'tap';
import { deleteSlices, type DeleteSlice } from '../../../../daemon/ops/delete-commits.js';
import { FILES_RELEASED_PER_COMMIT } from '../../../../daemon/meta/store-deletes.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord } from '../../../../daemon/meta/records.js';
import { clientVersionId } from '../../../../daemon/meta/versions.js';
import type { MetaStore } from '../../../../daemon/meta/store.js';
import { obj, openStore } from '../../../helpers/meta-versions.js';

// Versions of 500 parts: ten of them release as many files as a commit may (5,000).
const PARTS = 500;
let files = 0;
const part = (n: number): PartRecord => ({ v: RECORD_VERSION, n, size: 5 << 20, stored: (5 << 20) + 32, etag: n.toString(16).padStart(32, 'a'), data: { file: `f${String(++files).padStart(31, '0')}` }, mtime: 1_765_000_000_000 + n });
const multipart = (): ObjectRecord => ({ v: RECORD_VERSION, size: PARTS * (5 << 20), etag: `${'e'.repeat(32)}-${PARTS}`, mtime: 1_765_000_000_123, headers: {}, userMeta: {}, stored: 1, parts: Array.from({ length: PARTS }, (_, i) => part(i + 1)) });

type Item = { key: string; versionId: string };

/** Every version of each key (`count` of them, of 500 parts each) as delete items, grouped by key. */
async function versionsOf(m: MetaStore, keys: ReadonlyArray<[key: string, count: number]>): Promise<Item[]> {
  for (const [key, count] of keys) for (let i = 0; i < count; i++) await m.putObject('b', key, multipart());
  return keys.flatMap(([key]) => m.keyVersions('b', key).map((v) => ({ key, versionId: clientVersionId(v.record) })));
}

/** The slices, each as its keys (`!` before a slice marked oneKeyTooLarge), and their starts. */
async function slicesOf(it: AsyncIterable<DeleteSlice<Item>>): Promise<{ keys: string[]; from: number[] }> {
  const keys: string[] = [];
  const from: number[] = [];
  for await (const s of it) {
    keys.push(`${s.oneKeyTooLarge ? '!' : ''}${s.items.map((i) => i.key).join('')}`);
    from.push(s.from);
  }
  return { keys, from };
}

t.test('at most `most` items a slice, each starting where the last ended', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const items = Array.from({ length: 7 }, (_, i) => ({ key: `k${i}` }));
  for (const { key } of items) await m.putObject('b', key, obj());
  const slices: Array<DeleteSlice<{ key: string }>> = [];
  for await (const s of deleteSlices(m, 'b', items, { most: 3 })) slices.push(s);
  t.same(slices.map((s) => s.from), [0, 3, 6]);
  t.same(slices.map((s) => s.items), [items.slice(0, 3), items.slice(3, 6), items.slice(6)]);
  t.notOk(slices.some((s) => s.oneKeyTooLarge), 'none marked');
});

t.test(`cut by the files released (${FILES_RELEASED_PER_COMMIT} a commit): between two versions of a key, or, wholeKeys, before the key; a key too large alone, marked`, async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await m.updateBucket('b', (b) => ({ ...b, versioning: 'Enabled' as const }));
  // a: 4 versions (2,000 files); b: 12 (6,000, more than a commit releases); c: 4.
  const items = await versionsOf(m, [['a', 4], ['b', 12], ['c', 4]]);
  t.equal(items.length, 20);
  const plain = await slicesOf(deleteSlices(m, 'b', items));
  t.same(plain.keys, ['aaaabbbbbb', 'bbbbbbcccc'], 'ten versions a commit, wherever the tenth falls');
  t.same(plain.from, [0, 10]);
  const whole = await slicesOf(deleteSlices(m, 'b', items, { wholeKeys: true }));
  t.same(whole.keys, ['aaaa', '!bbbbbbbbbbbb', 'cccc'], 'a, then b alone and marked (all twelve), then c');
  t.same(whole.from, [0, 4, 16]);
});

t.test('wholeKeys: a slice that ends at a key boundary is not moved', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await m.updateBucket('b', (b) => ({ ...b, versioning: 'Enabled' as const }));
  // 5 + 5 versions fill a commit exactly; the third key's go in the next.
  const items = await versionsOf(m, [['a', 5], ['b', 5], ['c', 3]]);
  const whole = await slicesOf(deleteSlices(m, 'b', items, { wholeKeys: true }));
  t.same(whole.keys, ['aaaaabbbbb', 'ccc']);
  t.same(whole.from, [0, 10]);
});
