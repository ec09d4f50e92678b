// A DeleteObjects of many multipart objects ends each commit before the records it reads would be
// more than the store decodes ahead (MetaStore.deleteCommitEnd, KEPT_BYTES_MAX of stored bytes),
// not only at KEYS_DELETED_PER_COMMIT keys. Cut by the key count alone, a commit of 250 objects of
// 500 parts (~80 KB a record, ~20 MB in all) had ~100 decoded ahead, a slice of parts to a turn,
// and the others decoded whole inside the commit, in one turn of the event loop: 200 such objects
// held it ~0.35-0.95 s on a loaded 2-core VM. Counted here on a real store, through the handler,
// by the parts the objects table decoded in each turn; the answers are those of one commit.
// Lifecycle expiry cuts its pages (100 keys) the same way, and so do its removals of noncurrent versions.
import t from 'tap';
import type { Logger } from 'pino';
import { parseLifecycle } from '../../../../daemon/ops/lifecycle.js';
import { LifecycleScanner } from '../../../../daemon/ops/lifecycle-scanner.js';
import { handleDeleteObjects } from '../../../../daemon/ops/delete-objects.js';
import type { OpsEnv } from '../../../../daemon/ops/env.js';
import type { RequestContext } from '../../../../daemon/ops/types.js';
import { DECODE_PARTS_PER_TURN } from '../../../../daemon/meta/record-encoding.js';
import { FILES_RELEASED_PER_COMMIT } from '../../../../daemon/meta/store-deletes.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord } from '../../../../daemon/meta/records.js';
import { clientVersionId } from '../../../../daemon/meta/versions.js';
import type { MetaStore } from '../../../../daemon/meta/store.js';
import { openStore } from '../../../helpers/meta-versions.js';
import { countByTurn, most } from '../../../helpers/turns.js';

// What a commit decodes itself of records kept by no cache (IN_COMMIT_DECODE_BYTES, 512 KiB): some
// 3,800 parts of these records; a bound with room.
const IN_COMMIT_PARTS = 4_500;
const KEYS = 200;
const PARTS = 500;
let files = 0;
const part = (n: number): PartRecord => ({ v: RECORD_VERSION, n, size: 5 << 20, stored: (5 << 20) + 32, etag: n.toString(16).padStart(32, 'a'), data: { file: `f${String(++files).padStart(31, '0')}` }, mtime: 1_765_000_000_000 + n });
const multipart = (parts = PARTS): ObjectRecord => ({ v: RECORD_VERSION, size: parts * (5 << 20), etag: `${'e'.repeat(32)}-${parts}`, mtime: 1_765_000_000_123, headers: {}, userMeta: {}, stored: 1, parts: Array.from({ length: parts }, (_, i) => part(i + 1)) });
const keyOf = (i: number): string => `k${String(i).padStart(4, '0')}`;

function ctx(bucket: string, objects: string): RequestContext {
  const body = Buffer.from(`<Delete>${objects}</Delete>`);
  return { bucket, query: new URLSearchParams('delete'), headers: {}, accessKey: 'root', secure: false, body: { readAll: () => Promise.resolve(body) } } as unknown as RequestContext;
}

/** Counts the parts the objects table decodes, whole records or slices of parts (its codec is the record caches'). */
function partsDecoded(m: MetaStore): () => number {
  return countParts((m as unknown as { objects: { decoder: Decoder } }).objects.decoder);
}

interface Decoder {
  decode(b: Uint8Array): unknown;
}

/** Counts the parts `decoder` decodes from now on, whole records or slices of parts. */
function countParts(decoder: Decoder): () => number {
  const decode = decoder.decode;
  let n = 0;
  decoder.decode = function (this: unknown, b: Uint8Array) {
    const v = decode.call(this, b);
    if (Array.isArray(v)) n += v.length > 0 && typeof v[0] === 'object' && v[0] !== null && 'n' in v[0] ? v.length : 0;
    else n += (v as ObjectRecord | undefined)?.parts?.length ?? 0;
    return v;
  };
  return () => n;
}

/**
 * Counts the data files `m`'s deletes release (the deletion queue's add, as the key writes call
 * it: queued, or spilled to a batch past a commit's first 500), what each removed version costs
 * its commit besides its records (store-key-writes.ts releaseFiles). Not the batch sweep's
 * moves into the queue, which call the queue's own add.
 */
function filesReleased(m: MetaStore): () => number {
  const tables = (m as unknown as { keyTables: { gc: { add(files: string[]): void } } }).keyTables;
  const gc = tables.gc;
  let n = 0;
  tables.gc = new Proxy(gc, {
    get(target, name) {
      if (name === 'add') return (files: string[]) => ((n += files.length), target.add(files));
      const v = Reflect.get(target, name, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return () => n;
}

/** countByTurn of `count`, and `also`'s growth between the same looks (a look each turn, and one right after it that sees none). */
async function countTwoByTurn<T>(count: () => number, also: () => number, run: () => Promise<T>): Promise<{ turns: number[]; also: number[]; result: T }> {
  const alsoTurns: number[] = [];
  let at = also();
  const { turns, result } = await countByTurn(() => {
    const n = also();
    alsoTurns.push(n - at);
    at = n;
    return count();
  }, run);
  return { turns, also: alsoTurns, result };
}

/** `m` as the handler's store, counting its deleteObjects calls (one a commit). */
function countingCommits(m: MetaStore): { meta: MetaStore; commits: () => number } {
  let n = 0;
  const meta = new Proxy(m, {
    get(target, name) {
      const v = Reflect.get(target, name, target) as unknown;
      if (name === 'deleteObjects') n++;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { meta, commits: () => n };
}

for (const versioned of [false, true]) {
  t.test(`${versioned ? 'versioned' : 'unversioned'}: ${KEYS} objects of ${PARTS} parts: at most ${DECODE_PARTS_PER_TURN} parts decoded and ${FILES_RELEASED_PER_COMMIT} files released a turn; each answered as deleted, in order`, async (t) => {
    const m = openStore(t);
    await m.createBucket('b');
    if (versioned) await m.updateBucket('b', (b) => ({ ...b, versioning: 'Enabled' as const }));
    for (let i = 0; i < KEYS; i++) await m.putObject('b', keyOf(i), multipart());
    const decoded = partsDecoded(m);
    const released = filesReleased(m);
    const objects = Array.from({ length: KEYS }, (_, i) => `<Object><Key>${keyOf(i)}</Key></Object>`).join('');
    const { turns: partsByTurn, also: filesByTurn, result } = await countTwoByTurn(decoded, released, () => handleDeleteObjects({ meta: m, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv, ctx('b', objects)));
    t.ok(most(partsByTurn) <= DECODE_PARTS_PER_TURN, `at most ${DECODE_PARTS_PER_TURN} parts decoded a turn (most: ${most(partsByTurn)})`);
    // Unversioned, each object's 500 files go (~60,000 in a commit cut by bytes alone); versioned, none (a marker each).
    t.ok(most(filesByTurn) <= FILES_RELEASED_PER_COMMIT, `at most ${FILES_RELEASED_PER_COMMIT} files released a turn (most: ${most(filesByTurn)})`);
    t.equal(filesByTurn.reduce((a, b) => a + b, 0), versioned ? 0 : KEYS * PARTS, 'every file of the objects released, once');
    const body = String(result.body);
    t.notMatch(body, '<Error>');
    const answered = [...body.matchAll(/<Deleted><Key>([^<]*)<\/Key>(?:<DeleteMarker>true<\/DeleteMarker><DeleteMarkerVersionId>([^<]*)<\/DeleteMarkerVersionId>)?<\/Deleted>/g)];
    t.same(answered.map(([, key]) => key), Array.from({ length: KEYS }, (_, i) => keyOf(i)), 'every key answered Deleted, in the order sent');
    for (const [, key, marker] of answered) {
      if (m.getObject('b', key!) !== undefined) t.fail(`${key}: still there`);
      if (!versioned) continue;
      const [latest, under] = m.keyVersions('b', key!);
      if (latest?.record.deleteMarker !== true || clientVersionId(latest.record) !== marker) t.fail(`${key}: its newest version is not the marker answered`);
      if (under?.record.parts?.length !== PARTS) t.fail(`${key}: the object is not a noncurrent version of ${PARTS} parts`);
    }
  });
}

t.test('lifecycle expiry of a page of 100 objects of 1,000 parts (~13 MB of records): at most 500 parts decoded a turn; every one expired', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const lifecycle = parseLifecycle(Buffer.from('<LifecycleConfiguration><Rule><ID>all</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>'));
  await m.updateBucket('b', (b) => ({ ...b, lifecycle }));
  for (let i = 0; i < 100; i++) await m.putObject('b', keyOf(i), multipart(1000));
  const decoded = partsDecoded(m);
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
  const { turns, result } = await countByTurn(decoded, () => new LifecycleScanner(m, log, 3_600_000).scan(Date.now()));
  t.ok(most(turns) <= DECODE_PARTS_PER_TURN, `at most ${DECODE_PARTS_PER_TURN} parts decoded a turn (most: ${most(turns)})`);
  t.equal(result.expired, 100, 'every object expired');
  t.equal(Array.from({ length: 100 }, (_, i) => m.getObject('b', keyOf(i))).filter((o) => o !== undefined).length, 0, 'none left');
});

t.test('250 objects stored inline, 100 KB each (~25 MB of records, no parts): one commit, as before', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const inline = (): ObjectRecord => ({ v: RECORD_VERSION, size: 100_000, etag: 'd41d8cd98f00b204e9800998ecf8427e', mtime: 1_765_000_000_123, headers: {}, userMeta: {}, data: { inline: new Uint8Array(100_000).fill(7) }, stored: 0 });
  for (let i = 0; i < 250; i++) await m.putObject('b', keyOf(i), inline());
  // The records caches keep none of them (no parts), and decoding one is a copy: nothing to decode
  // ahead, so no reason for more commits (each a durable write).
  const { meta, commits } = countingCommits(m);
  const objects = Array.from({ length: 250 }, (_, i) => `<Object><Key>${keyOf(i)}</Key></Object>`).join('');
  const body = String((await handleDeleteObjects({ meta, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv, ctx('b', objects))).body);
  t.equal(commits(), 1, 'one commit');
  t.equal(body.match(/<Deleted>/g)?.length, 250, 'every key answered Deleted');
  t.equal(Array.from({ length: 250 }, (_, i) => m.getObject('b', keyOf(i))).filter((o) => o !== undefined).length, 0, 'none left');
});

// Records under KEPT_RECORD_MIN_BYTES (up to some 450 parts) are kept by no cache, so none is
// decoded ahead: each is decoded whole in the commit. 250 of 450 parts, ~60 KB each, were 112,500
// parts decoded in the commit's one turn (264-537 ms on a loaded 2-core VM). A commit now takes
// such records up to IN_COMMIT_DECODE_BYTES; records of a few parts, as most uploads have, cost
// no extra commits.
t.test(`250 objects of 450 parts (records kept by no cache): at most ${IN_COMMIT_PARTS} parts decoded in a commit's turn; 250 of 10 parts: one commit`, async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  for (let i = 0; i < 250; i++) await m.putObject('b', keyOf(i), multipart(450));
  const decoded = partsDecoded(m);
  const env = { meta: m, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv;
  const objects = Array.from({ length: 250 }, (_, i) => `<Object><Key>${keyOf(i)}</Key></Object>`).join('');
  const { turns, result } = await countByTurn(decoded, () => handleDeleteObjects(env, ctx('b', objects)));
  t.ok(most(turns) <= IN_COMMIT_PARTS, `at most ${IN_COMMIT_PARTS} parts decoded a turn (most: ${most(turns)})`);
  t.equal(String(result.body).match(/<Deleted>/g)?.length, 250, 'every key answered Deleted');
  t.equal(Array.from({ length: 250 }, (_, i) => m.getObject('b', keyOf(i))).filter((o) => o !== undefined).length, 0, 'none left');

  await m.createBucket('c');
  for (let i = 0; i < 250; i++) await m.putObject('c', keyOf(i), multipart(10));
  const { meta, commits } = countingCommits(m);
  const body = String((await handleDeleteObjects({ meta, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv, ctx('c', objects))).body);
  t.equal(commits(), 1, '250 objects of 10 parts: one commit, as before');
  t.equal(body.match(/<Deleted>/g)?.length, 250, 'every key answered Deleted');
});

/** Counts the parts the objects and versions tables decode (each has its own decoder; lifecycle reads noncurrent versions). */
function partsDecodedBoth(m: MetaStore): () => number {
  const tables = m as unknown as { objects: { decoder: Decoder }; versions: { decoder: Decoder } };
  const counters = [...new Set([tables.objects.decoder, tables.versions.decoder])].map(countParts);
  return () => counters.reduce((sum, c) => sum + c(), 0);
}

const DAY = 86_400_000;
const noncurrentRule = '<LifecycleConfiguration><Rule><ID>old</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>';

// Lifecycle's removal of noncurrent versions (NoncurrentVersionExpiration) is cut as expiry is: a
// page of the version listing (100 entries: 50 keys, a current object and a noncurrent version
// each) was one commit whatever their records. Of 1,500 parts (~200 KB each, ~20 MB), those that
// did not fit what is decoded ahead were decoded whole in the commit's one turn (244,500 parts);
// of 400 parts (~52 KB, kept by no cache, never decoded ahead), every read (four a version) was
// (80,000 parts).
for (const [parts, bound] of [[1500, DECODE_PARTS_PER_TURN], [400, IN_COMMIT_PARTS]] as const) {
  t.test(`lifecycle: the noncurrent versions of 50 keys of ${parts} parts (a listing page): at most ${bound} parts decoded a turn; every one removed`, async (t) => {
    const m = openStore(t);
    await m.createBucket('b');
    await m.updateBucket('b', (b) => ({ ...b, versioning: 'Enabled' as const, lifecycle: parseLifecycle(Buffer.from(noncurrentRule)) }));
    for (let i = 0; i < 50; i++) {
      await m.putObject('b', keyOf(i), multipart(parts));
      await m.putObject('b', keyOf(i), multipart(parts));
    }
    const decoded = partsDecodedBoth(m);
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
    const { turns, result } = await countByTurn(decoded, () => new LifecycleScanner(m, log, 3_600_000).scan(Date.now() + 3 * DAY));
    t.ok(most(turns) <= bound, `at most ${bound} parts decoded a turn (most: ${most(turns)})`);
    t.equal(result.versions, 50, 'every noncurrent version removed');
    t.same(Array.from({ length: 50 }, (_, i) => m.keyVersions('b', keyOf(i)).length), Array.from({ length: 50 }, () => 1), 'each key keeps its current object only');
  });
}

// A key of more versions than a listing page is read, judged and removed a page of its versions at
// a time (lifecycle-versions.ts): those pages were read whole, parts and all, and each commit read
// its page again the same way, 100 versions of 500 parts (~6.5 MB of records) decoded in one turn.
t.test(`lifecycle: one key of 130 versions of 500 parts (more than a page): at most 500 parts decoded and ${FILES_RELEASED_PER_COMMIT} files released a turn; every noncurrent version removed`, async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await m.updateBucket('b', (b) => ({ ...b, versioning: 'Enabled' as const, lifecycle: parseLifecycle(Buffer.from(noncurrentRule)) }));
  for (let i = 0; i < 130; i++) await m.putObject('b', 'hot', multipart(PARTS));
  const decoded = partsDecodedBoth(m);
  const released = filesReleased(m);
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
  const { turns, also: files, result } = await countTwoByTurn(decoded, released, () => new LifecycleScanner(m, log, 3_600_000).scan(Date.now() + 3 * DAY));
  t.ok(most(turns) <= DECODE_PARTS_PER_TURN, `at most ${DECODE_PARTS_PER_TURN} parts decoded a turn (most: ${most(turns)})`);
  // Cut by records' bytes alone, a commit took a page of the key's versions (100, ~50,000 files).
  t.ok(most(files) <= FILES_RELEASED_PER_COMMIT, `at most ${FILES_RELEASED_PER_COMMIT} files released a turn (most: ${most(files)})`);
  t.equal(files.reduce((a, b) => a + b, 0), 129 * PARTS, 'the files of every noncurrent version released, once');
  t.equal(result.versions, 129, 'every noncurrent version removed');
  t.equal(m.keyVersions('b', 'hot').length, 1, 'the key keeps its current object only');
});

// A delete's records decoded ahead are held for its commit (RecordCache.pin): the next request's
// preparation starts as soon as one asks for its commit, and lmdb-js runs that commit only once
// the one before has landed; meanwhile the others' records pushed its own out of the caches
// (least recently used first), and the commit decoded them whole. Four DeleteObjects at once, of
// 30 objects of 2,000 parts each (~7.8 MB of records a request, within what one commit decodes
// ahead): 60,500 parts decoded in one turn.
t.test('4 DeleteObjects at once, 30 objects of 2,000 parts each: at most 500 parts decoded a turn; each record decoded once', async (t) => {
  const m = openStore(t);
  const buckets = ['b0', 'b1', 'b2', 'b3'];
  for (const b of buckets) {
    await m.createBucket(b);
    for (let i = 0; i < 30; i++) await m.putObject(b, keyOf(i), multipart(2000));
  }
  const decoded = partsDecoded(m);
  const env = { meta: m, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv;
  const objects = Array.from({ length: 30 }, (_, i) => `<Object><Key>${keyOf(i)}</Key></Object>`).join('');
  const { turns, result } = await countByTurn(decoded, () => Promise.all(buckets.map((b) => handleDeleteObjects(env, ctx(b, objects)))));
  t.ok(most(turns) <= DECODE_PARTS_PER_TURN, `at most ${DECODE_PARTS_PER_TURN} parts decoded a turn (most: ${most(turns)})`);
  t.equal(turns.reduce((a, b) => a + b, 0), 4 * 30 * 2000, 'each record decoded once');
  t.same(result.map((r) => String(r.body).match(/<Deleted>/g)?.length), [30, 30, 30, 30], 'every key answered Deleted');
  t.equal(buckets.flatMap((b) => Array.from({ length: 30 }, (_, i) => m.getObject(b, keyOf(i)))).filter((o) => o !== undefined).length, 0, 'none left');
});
