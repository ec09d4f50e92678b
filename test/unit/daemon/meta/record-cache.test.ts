// meta/record-cache.ts through MetaStore.getObject: a current record of many parts is decoded
// once and served decoded while its stored bytes are unchanged; any write of the key (another
// record of as many parts, the same parts in another order, a small record, a delete) is seen at
// the next lookup, field for field as the table decodes it.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { KEPT_BYTES_MAX, KEPT_RECORD_MIN_BYTES, type RecordCache } from '../../../../daemon/meta/record-cache.js';
import { objectKey } from '../../../../daemon/meta/keys.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord } from '../../../../daemon/meta/records.js';

function part(n: number, tag: string): PartRecord {
  return { v: RECORD_VERSION, n, size: 5 << 20, stored: 5 << 20, etag: `${tag}${n}`.padEnd(32, '0'), data: { file: `${tag}-file-${n}` }, mtime: 1_700_000_000_000 + n };
}

function multipart(parts: PartRecord[], etag: string): ObjectRecord {
  const size = parts.reduce((a, p) => a + p.size, 0);
  return { v: RECORD_VERSION, size, stored: size, etag, mtime: 1_700_000_000_000, headers: { 'content-type': 'x/y' }, userMeta: {}, parts };
}

/** The fields a GET reads of a record (its version stamp and id are the store's). */
function seen(r: ObjectRecord | undefined): unknown {
  return r === undefined ? undefined : { etag: r.etag, size: r.size, parts: r.parts?.map((p) => [p.n, p.etag, p.size, 'file' in p.data ? p.data.file : 'inline']), data: r.data };
}

/** A MetaStore on a fresh directory with bucket `b`, closed and removed when `t` ends. */
async function storeWithBucket(t: Test): Promise<MetaStore> {
  const dir = mkdtempSync(join(tmpdir(), 's3d-record-cache-'));
  const m = new MetaStore(dir);
  t.teardown(async () => {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await m.createBucket('b');
  return m;
}

t.test('getObject: a many-part record served decoded while unchanged, every write seen', async (t) => {
  const m = await storeWithBucket(t);
  const a = multipart(Array.from({ length: 2000 }, (_, i) => part(i + 1, 'a')), 'a'.repeat(32) + '-2000');
  await m.putObject('b', 'k', a);
  const first = m.getObject('b', 'k');
  t.same(seen(first), seen(a), 'the record as written');
  t.equal(m.getObject('b', 'k'), first, 'unchanged: the record decoded before, not decoded again');

  // As many parts, bytes of the same length: other files (a re-completed upload).
  const b = multipart(Array.from({ length: 2000 }, (_, i) => part(i + 1, 'b')), 'b'.repeat(32) + '-2000');
  await m.putObject('b', 'k', b);
  const second = m.getObject('b', 'k');
  t.same(seen(second), seen(b), 'overwritten by a record of the same length: the new one');
  t.not(second, first);
  t.equal(m.getObject('b', 'k'), second);

  // The same parts, two of them swapped: one byte pattern moved, nothing else.
  const swapped = [...b.parts!];
  [swapped[10], swapped[11]] = [swapped[11]!, swapped[10]!];
  await m.putObject('b', 'k', { ...b, parts: swapped });
  t.same(seen(m.getObject('b', 'k')), seen({ ...b, parts: swapped }), 'two parts swapped: seen');

  await m.putObject('b', 'k', { v: RECORD_VERSION, size: 3, stored: 3, etag: 'c'.repeat(32), mtime: 1, headers: {}, userMeta: {}, data: { inline: new Uint8Array([1, 2, 3]) } });
  t.same(seen(m.getObject('b', 'k')), { etag: 'c'.repeat(32), size: 3, parts: undefined, data: { inline: new Uint8Array([1, 2, 3]) } }, 'a small record in its place: seen');

  await m.putObject('b', 'k', a);
  t.same(seen(m.getObject('b', 'k')), seen(a), 'the first record again');
  await m.deleteObject('b', 'k');
  t.equal(m.getObject('b', 'k'), undefined, 'deleted: gone');
  t.ok(KEPT_RECORD_MIN_BYTES < 2000 * 60, 'the records above were large enough to be kept');
});

t.test('getObject: a small record decoded from lmdb-js\'s shared read buffer keeps its bytes after later reads', async (t) => {
  const m = await storeWithBucket(t);
  const small = (fill: number): ObjectRecord => ({ v: RECORD_VERSION, size: 1000, stored: 1000, etag: String(fill).repeat(32).slice(0, 32), mtime: 1, headers: { 'content-type': `t/${fill}` }, userMeta: { 'x-amz-meta-n': String(fill) }, data: { inline: new Uint8Array(1000).fill(fill) } });
  await m.putObject('b', 'one', small(1));
  await m.putObject('b', 'two', small(2));
  const one = m.getObject('b', 'one');
  const two = m.getObject('b', 'two');
  // The second read reuses the buffer the first was decoded from: what the first kept must be its own.
  const bytes = (r: ObjectRecord | undefined): string => (r?.data !== undefined && 'inline' in r.data ? Buffer.from(r.data.inline).toString('hex') : 'none');
  t.equal(bytes(one), Buffer.alloc(1000, 1).toString('hex'), 'the first record\'s bytes, after another was read');
  t.same([one?.etag, one?.headers, one?.userMeta], [small(1).etag, { 'content-type': 't/1' }, { 'x-amz-meta-n': '1' }], 'and its other fields');
  t.equal(bytes(two), Buffer.alloc(1000, 2).toString('hex'), 'the second record\'s bytes');
  t.equal(m.getObject('b', 'gone'), undefined, 'an absent key');
});

// Records pinned for a delete's commit (store-deletes.ts #prepare) stay kept past KEPT_BYTES_MAX,
// up to 16 MiB pinned; a preparation wanting more waits (room) for other writes' pins, never for
// its own, and goes on once they are released.
// A delete commit counts the files it releases by fileCount (store-deletes.ts commitEnd), no decode.
t.test('fileCount: a file a part, one for a record without parts, none for a key not stored; nothing decoded or kept', async (t) => {
  const m = await storeWithBucket(t);
  const cache = (m as unknown as { currentRecords: RecordCache }).currentRecords;
  for (const n of [1, 30, 500, 3000]) await m.putObject('b', `p${n}`, multipart(Array.from({ length: n }, (_, j) => part(j + 1, `f${n}-`)), `${'c'.repeat(32)}-${n}`));
  await m.putObject('b', 'file', { v: RECORD_VERSION, size: 1, stored: 1, etag: 'e'.repeat(32), mtime: 1, headers: {}, userMeta: {}, data: { file: 'one' } });
  t.same([1, 30, 500, 3000].map((n) => cache.fileCount(objectKey('b', `p${n}`))), [1, 30, 500, 3000], 'a file a part');
  t.equal(cache.fileCount(objectKey('b', 'file')), 1, 'a record of one file');
  t.equal(cache.fileCount(objectKey('b', 'none')), 0, 'no record');
  t.equal(cache.size, 0, 'none decoded and kept');
});

t.test('pin: pinned records are not dropped; room waits for others\' pins only, until unpinned', async (t) => {
  const m = await storeWithBucket(t);
  const cache = (m as unknown as { currentRecords: RecordCache }).currentRecords;
  // 40 records of 2,000 parts (~260 KB each, ~10 MB): past what the cache keeps.
  const keys: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    await m.putObject('b', `k${i}`, multipart(Array.from({ length: 2000 }, (_, j) => part(j + 1, `r${i}-`)), `${'c'.repeat(32)}-2000`));
    keys.push(objectKey('b', `k${i}`));
  }
  const size = (k: Buffer): number => cache.decodeCost(k).kept;
  const ids: string[] = [];
  let pinned = 0;
  // Pinned as a delete's preparation would, up to KEPT_BYTES_MAX: then read the rest (pushing out what is not pinned).
  for (const k of keys) {
    if (pinned + size(k) > KEPT_BYTES_MAX) break;
    const id = await cache.prefetchPinned(k);
    if (id === undefined) t.fail('a record of many parts pinned');
    else ids.push(id);
    pinned += size(k);
  }
  for (const k of keys.slice(ids.length)) cache.get(k);
  t.ok(keys.slice(0, ids.length).every((k) => !cache.wantsPrefetch(k)), `the ${ids.length} records pinned still kept after reads of ${keys.length - ids.length} others`);
  // Another preparation: no wait within 16 MiB pinned; past it, a wait until the first's are released.
  let roomed = false;
  await cache.room(2 * KEPT_BYTES_MAX - pinned, 0);
  t.pass('no wait within 16 MiB pinned in all');
  const waiting = cache.room(2 * KEPT_BYTES_MAX - pinned + 1, 0).then(() => (roomed = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(roomed, false, 'waits while another write\'s pins and its own would pass 16 MiB');
  let own = false;
  await cache.room(2 * KEPT_BYTES_MAX, pinned).then(() => (own = true));
  t.ok(own, 'its own pins are never waited for');
  cache.unpin(ids);
  await waiting;
  t.ok(roomed, 'goes on once they are released');
  t.ok(cache.size * 200_000 <= KEPT_BYTES_MAX * 1.5, 'unpinned, the cache back within what it keeps');
});
