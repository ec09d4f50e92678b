// FileIdList (daemon/storage/file-id-list.ts): the ids `s3d backup` copies. sortUnique() yields
// exactly the ids added, each once, in the order of their hex strings, whatever their pattern
// (ids sharing any prefix stay apart: a backup copies both), each with the length its record
// gave it (which the backup checks the copy against); other strings are refused; the buffer stays
// within 36 bytes an id outside the V8 heap.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { CONFLICTING_LENGTHS, FileIdList, UNKNOWN_LENGTH } from '../../../../daemon/storage/file-id-list.js';

/** n random ids (one randomBytes call). */
const randomIds = (n: number): string[] => {
  const bytes = randomBytes(16 * n);
  return Array.from({ length: n }, (_, i) => bytes.toString('hex', 16 * i, 16 * i + 16));
};
const listOf = (ids: readonly string[]): FileIdList => {
  const list = new FileIdList();
  for (const id of ids) list.add(id);
  return list;
};
const contents = (list: FileIdList): string[] => Array.from({ length: list.length }, (_, i) => list.at(i));
/** What the list must hold: each id once, sorted as strings. */
const expected = (ids: readonly string[]): string[] => [...new Set(ids)].sort();
/** Compares the list with what it must hold, naming the first difference (a diff of 100,000 lines would stall tap). */
const holds = (t: Test, list: FileIdList, want: readonly string[], what: string): void => {
  const got = contents(list);
  const at = got.findIndex((id, i) => id !== want[i]);
  t.same(
    { length: got.length, firstDifference: at === -1 ? undefined : { at, got: got[at], want: want[at] } },
    { length: want.length, firstDifference: undefined },
    what,
  );
};

t.test('random ids with duplicates: each once, sorted, through many growths', async (t) => {
  const ids = randomIds(150_000);
  const withDuplicates = [...ids, ...ids.slice(0, 20_000), ...ids.slice(-7)];
  const list = listOf(withDuplicates);
  t.equal(list.length, withDuplicates.length, 'before sorting, every add is held');
  list.sortUnique();
  t.equal(list.length, ids.length, 'duplicates dropped');
  holds(t, list, expected(ids), 'exactly the ids added, in string order');
  t.ok(list.bufferBytes <= 36 * ids.length, `the buffer takes ${list.bufferBytes} bytes for ${ids.length} ids (at most 36 each)`);
  holds(t, list.sortUnique(), expected(ids), 'sorting again changes nothing');
});

t.test('ids differing only in one byte, at every position, stay apart and sort by it', async (t) => {
  // Each of the 16 bytes (each radix digit, both of its bytes) decides the order of some pair;
  // and ids sharing their first 64 bits (one entry in the start-up scan's FileIdSet) are two here.
  const base = '0123456789abcdef0123456789abcdef';
  const ids: string[] = [];
  for (let pos = 0; pos < 32; pos += 2) {
    for (const byte of ['00', '7f', '80', 'ff']) ids.push(base.slice(0, pos) + byte + base.slice(pos + 2));
  }
  const shuffled = [...ids].sort(() => Math.random() - 0.5);
  const list = listOf([...shuffled, ...shuffled]).sortUnique();
  t.same(contents(list), expected(ids));
  const shared = listOf([`${'f'.repeat(16)}${'2'.repeat(16)}`, `${'f'.repeat(16)}${'1'.repeat(16)}`]).sortUnique();
  t.same(contents(shared), [`${'f'.repeat(16)}${'1'.repeat(16)}`, `${'f'.repeat(16)}${'2'.repeat(16)}`], 'a shared 64-bit prefix: both kept');
});

t.test('all-zero, all-one and sequential ids (the passes a constant digit skips)', async (t) => {
  const seq = Array.from({ length: 70_000 }, (_, i) => i.toString(16).padStart(32, '0')).reverse();
  const list = listOf([...seq, 'f'.repeat(32), '0'.repeat(32)]).sortUnique();
  holds(t, list, expected([...seq, 'f'.repeat(32)]), 'sequential ids');
  const one = listOf(['a'.repeat(32), 'a'.repeat(32), 'a'.repeat(32)]).sortUnique();
  t.same(contents(one), ['a'.repeat(32)], 'one id added three times');
  t.equal(new FileIdList().sortUnique().length, 0, 'an empty list');
});

t.test('adding after a sort, then sorting again', async (t) => {
  const first = randomIds(3000);
  const second = randomIds(3000);
  const list = listOf(first).sortUnique();
  for (const id of [...second, ...first.slice(0, 10)]) list.add(id);
  holds(t, list.sortUnique(), expected([...first, ...second]), 'both batches, each once');
});

t.test('strings that are not data file ids are refused, and at() checks its index', async (t) => {
  const list = new FileIdList();
  for (const odd of ['ABCDEF0123456789ABCDEF0123456789', 'abc', `${'a'.repeat(32)}.part1`, '', 'zz'.repeat(16), `${'a'.repeat(31)}`]) {
    t.throws(() => list.add(odd), { message: `invalid data file id ${JSON.stringify(odd)}` }, JSON.stringify(odd));
  }
  t.equal(list.length, 0, 'nothing was added');
  list.add('b'.repeat(32));
  t.equal(list.at(0), 'b'.repeat(32));
  for (const i of [-1, 1, 0.5, NaN]) t.throws(() => list.at(i), RangeError, `at(${i})`);
});

t.test('each id keeps its length through the sort; duplicates agree, or say they do not', async (t) => {
  // Lengths up to S3's 5 TiB object and beyond 2^32, derived from the id so they can be checked after the sort.
  const ids = randomIds(100_000);
  const lengthOf = (id: string): number => parseInt(id.slice(0, 12), 16) % (6 * 2 ** 40);
  const list = new FileIdList();
  for (const id of [...ids, ...ids.slice(0, 5000)]) list.add(id, lengthOf(id));
  list.sortUnique();
  let wrong = 0;
  for (let i = 0; i < list.length; i++) if (list.storedAt(i) !== lengthOf(list.at(i))) wrong++;
  t.equal(list.length, ids.length);
  t.equal(wrong, 0, 'every id carries its own length');

  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => x.repeat(32)) as [string, string, string, string];
  const merged = new FileIdList().add(b).add(a, 10).add(b, 20).add(a, 10).add(c, 5).add(c, 6).add(c, 5).add(d).add(d).sortUnique();
  t.same(
    Array.from({ length: merged.length }, (_, i) => [merged.at(i), merged.storedAt(i)]),
    [
      [a, 10],
      [b, 20],
      [c, CONFLICTING_LENGTHS],
      [d, UNKNOWN_LENGTH],
    ],
    'the same length twice: kept; one known and one not: the known one; two that differ: conflicting; none: unknown',
  );
  for (const bad of [-1, 1.5, NaN, 2 ** 53]) t.throws(() => new FileIdList().add(a, bad), { message: `invalid stored length ${bad} for data file ${a}` }, `length ${bad} refused`);
  t.throws(() => merged.storedAt(4), RangeError, 'storedAt() checks its index');
});
