// MetaStore.listBuckets with a range (meta/bucket-listing.ts), what ListBuckets pages with: the
// same buckets the whole list filtered by prefix and continuation gives, in name order, and a page
// reads the buckets it lists and at most two more (the token's own and the one after the page),
// not every bucket: ListBuckets with max-buckets read them all for each page.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';

const dir = mkdtempSync(join(tmpdir(), 's3d-bucket-listing-'));
const m = new MetaStore(dir);
t.teardown(async () => {
  await m.close();
  rmSync(dir, { recursive: true, force: true });
});

const names: string[] = [];
for (const p of ['a', 'ab', 'b-0', 'b.x', 'b0', 'c']) for (let i = 0; i < 200; i++) names.push(`${p}${String(i).padStart(3, '0')}`);
names.push('abc', 'b-', 'zzz');
t.before(async () => {
  for (const n of names) await m.createBucket(n);
});

/** What ListBuckets took before: every bucket, filtered. */
function reference(prefix: string, after: string, limit: number): string[] {
  return names.filter((n) => n.startsWith(prefix) && n > after).sort().slice(0, limit);
}

t.test('pages: the buckets the filtered whole list gives, reading about as many', async (t) => {
  const sorted = [...names].sort();
  t.same(m.listBuckets().map((b) => b.name), sorted, 'no range: every bucket, in name order');
  const cases: Array<[string, string, number]> = [
    ['', '', 1],
    ['', '', 5],
    ['', '', Infinity],
    ['', 'b0150', 3],
    ['', 'b0199', 2],
    ['', 'zzz', 10],
    ['b', '', 7],
    ['b', 'b-0199', 3],
    ['b-', '', 2],
    ['b-', 'b-', 2],
    ['b.', 'a000', 4],
    ['b0', 'c000', 4],
    ['ab', 'ab', 3],
    ['ab', 'ab199', 3],
    ['zz', '', 3],
    ['x', '', 3],
    ['c', 'c198', 10],
  ];
  for (const [prefix, after, limit] of cases) {
    let read = 0;
    const got = m.listBuckets({ prefix, after, limit, read: () => read++ }).map((b) => b.name);
    const want = reference(prefix, after, limit);
    t.same(got, want, `prefix ${JSON.stringify(prefix)} after ${JSON.stringify(after)} limit ${limit}`);
    if (limit !== Infinity) t.ok(read <= want.length + 2, `read ${read} for ${want.length}`);
  }
});

t.test('paging through every bucket, page by page, visits each once', async (t) => {
  for (const size of [1, 7, 200, 5000]) {
    const seen: string[] = [];
    let after = '';
    let read = 0;
    for (;;) {
      const page = m.listBuckets({ after, limit: size + 1, read: () => read++ });
      seen.push(...page.slice(0, size).map((b) => b.name));
      if (page.length <= size) break;
      after = page[size - 1]!.name;
    }
    t.same(seen, [...names].sort(), `pages of ${size}`);
    t.ok(read <= names.length + 2 * Math.ceil(names.length / size) + 2, `reading about each once (${read})`);
  }
});

t.test('a prefix longer than any bucket name matches none and reads nothing', async (t) => {
  // Past a few KiB such a prefix was no key lmdb-js could build: a RangeError (ListBuckets' 500).
  const longest = 'a'.repeat(63);
  await m.createBucket(longest);
  t.same(m.listBuckets({ prefix: longest }).map((b) => b.name), [longest], 'a 63-byte prefix still finds its bucket');
  for (const prefix of [longest + 'a', 'a'.repeat(5000), 'é'.repeat(2500)]) {
    let read = 0;
    t.same(m.listBuckets({ prefix, read: () => read++ }), [], `a ${Buffer.byteLength(prefix)}-byte prefix: none`);
    t.same(m.listBuckets({ prefix, after: 'a000', limit: 2 }), [], `… with a token and a limit`);
    t.equal(read, 0, '… and no bucket read');
  }
});
