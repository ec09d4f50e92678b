// The background passes read and change the store a bounded slice to a turn of the event loop,
// as listings do (list-slices.test.ts): at most ~100 records read between two turns, and at most
// ~100 records removed by one commit (a transaction's callback runs on the event loop: the
// lifecycle scan's commit of a page of 1,000 expirations held every request back ~10 ms on
// average and up to 130 ms on a loaded machine, the stale-upload sweep's of 1,000 parts up to 80 ms;
// a usage scan page of 1,000 records ~5 ms, up to 40 ms). Counted on a real store: the records
// each turn reads (the store's read counters) and those each turn's commit removes (the tables'
// entry counts, which change only when a commit lands).

import t from 'tap';
import type { Logger } from 'pino';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import type { MetaStore } from '../../../../daemon/meta/store.js';
import { UsageScanner } from '../../../../daemon/meta/usage.js';
import { UploadExpiry } from '../../../../daemon/meta/upload-expiry.js';
import { parseLifecycle } from '../../../../daemon/ops/lifecycle.js';
import { LifecycleScanner } from '../../../../daemon/ops/lifecycle-scanner.js';
import { openStore } from '../../../helpers/meta-versions.js';

const DAY = 86_400_000;
const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;
const OLD = Date.now() - 100 * DAY;

function obj(i: number): ObjectRecord {
  return { v: RECORD_VERSION, size: 10 + (i % 7), etag: `e${i}`, mtime: OLD + i, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1 };
}

const keyOf = (i: number): string => `k/${String(i).padStart(5, '0')}`;

/** Writes `n` keys of `versions` versions each into bucket `b`, a thousand writes queued at a time (one commit). */
async function fill(m: MetaStore, b: string, n: number, versions = 1): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const w: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) for (let v = 0; v < versions; v++) w.push(m.putObject(b, keyOf(j), obj(j * 10 + v)));
    await Promise.all(w);
  }
}

/** Per turn of the event loop until `run` settles: records read, and records (objects, versions, uploads) removed. */
async function workByTurn(m: MetaStore, run: () => Promise<unknown>): Promise<{ read: number[]; removed: number[] }> {
  const reads = (): number => m.listEntriesRead + m.versionEntriesRead + m.uploadEntriesRead;
  const held = (): number => {
    const c = m.recordCounts();
    return c.objects + c.versions + c.uploads;
  };
  const read: number[] = [];
  const removed: number[] = [];
  let r = reads();
  let h = held();
  let done = false;
  const p = run().finally(() => (done = true));
  for (;;) {
    read.push(reads() - r);
    removed.push(h - held());
    r = reads();
    h = held();
    if (done) break;
    await nextTurn();
  }
  await p;
  return { read, removed };
}

// A slice of 100 reads a few more: the record after it (is there more?) and a marker's.
const MOST_READ = 110;
const MOST_REMOVED = 100;

t.test('lifecycle: expirations and noncurrent versions read and removed ~100 to a turn', async (t) => {
  const m = openStore(t);
  await m.createBucket('lc');
  await fill(m, 'lc', 2500);
  await m.createBucket('lv');
  await m.updateBucket('lv', (b) => ({ ...b, versioning: 'Enabled' as const }));
  await fill(m, 'lv', 800, 4);
  await m.updateBucket('lc', (b) => ({ ...b, lifecycle: parseLifecycle(Buffer.from('<LifecycleConfiguration><Rule><ID>e</ID><Filter/><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule></LifecycleConfiguration>')) }));
  await m.updateBucket('lv', (b) => ({ ...b, lifecycle: parseLifecycle(Buffer.from('<LifecycleConfiguration><Rule><ID>v</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>')) }));
  const scanner = new LifecycleScanner(m, log, DAY);
  t.teardown(() => scanner.stop());
  let result: unknown;
  const { read, removed } = await workByTurn(m, async () => (result = await scanner.scan()));
  t.same(result, { expired: 2500, versions: 800 * 2, aborted: 0 }, 'every due object and version went');
  t.same(m.recordCounts(), { objects: 800, versions: 800, uploads: 0 }, 'the newest version and one noncurrent one of each lv key kept');
  // A page's listing and its commit (which reads each key's versions again to judge them there) may come in one turn.
  t.ok(Math.max(...read) <= 2 * MOST_READ, `at most ${2 * MOST_READ} records read a turn (most: ${Math.max(...read)})`);
  t.ok(Math.max(...removed) <= MOST_REMOVED, `at most ${MOST_REMOVED} records removed a commit (most: ${Math.max(...removed)})`);
});

t.test('stale-upload sweep: uploads read ~100 to a turn and aborted ~100 parts to a commit', async (t) => {
  const m = openStore(t);
  await m.createBucket('ub');
  for (let i = 0; i < 1200; i += 400) {
    const w: Array<Promise<unknown>> = [];
    for (let j = i; j < i + 400; j++) {
      const id = `up${String(j).padStart(6, '0')}`;
      w.push(m.createUpload({ v: RECORD_VERSION, id, bucket: 'ub', key: `u/${j}`, initiated: OLD, headers: {}, userMeta: {} })
        .then(() => m.putPart(id, { v: RECORD_VERSION, n: 1, size: 1, stored: 1, etag: 'p', data: { inline: new Uint8Array(1) }, mtime: OLD })));
    }
    await Promise.all(w);
  }
  const expiry = new UploadExpiry(m, log, DAY, DAY);
  t.teardown(() => expiry.stop());
  let aborted = 0;
  const { read, removed } = await workByTurn(m, async () => (aborted = await expiry.sweep()));
  t.equal(aborted, 1200, 'every stale upload aborted');
  t.equal(m.recordCounts().uploads, 0);
  t.ok(Math.max(...read) <= MOST_READ, `at most ${MOST_READ} uploads read a turn (most: ${Math.max(...read)})`);
  // Counted: upload records (each with its one part).
  t.ok(Math.max(...removed) <= MOST_REMOVED, `at most ${MOST_REMOVED} uploads of one part aborted a commit (most: ${Math.max(...removed)})`);
});

t.test('usage scan: records read ~100 to a turn, figures of one snapshot of the store', async (t) => {
  const m = openStore(t);
  await m.createBucket('a');
  await fill(m, 'a', 1500);
  await m.createBucket('v');
  await m.updateBucket('v', (b) => ({ ...b, versioning: 'Enabled' as const }));
  await fill(m, 'v', 600, 2);
  for (let j = 0; j < 250; j++) await m.createUpload({ v: RECORD_VERSION, id: `up${String(j).padStart(6, '0')}`, bucket: 'a', key: `u/${j}`, initiated: OLD, headers: {}, userMeta: {} });
  const usage = new UsageScanner(m, log, 0);
  t.teardown(() => usage.stop());
  const { read } = await workByTurn(m, () => usage.scan());
  t.ok(Math.max(...read) <= MOST_READ, `at most ${MOST_READ} records read a turn (most: ${Math.max(...read)})`);
  const sizes = (n: number): number => Array.from({ length: n }, (_, i) => 10 + ((i * 10) % 7)).reduce((a, b) => a + b, 0);
  t.same(usage.usage.get('a'), { objects: 1500, bytes: sizes(1500), versions: 0, versionBytes: 0, deleteMarkers: 0 });

  // Overwrites between the scan's pages: each of v's records is counted once, as current or as
  // noncurrent, where it was at one instant. Read page by page from the live store, a key
  // overwritten after its current version was counted had that version counted again as
  // noncurrent, and the new one not at all. The i-th write is of size 1000 + i, so the figures
  // are those of an instant (the first k writes done, k from the count) only if their bytes are
  // those of the first k writes.
  const v0 = usage.usage.get('v')!;
  t.same([v0.objects, v0.versions, v0.deleteMarkers], [600, 600, 0], 'v before the writes');
  let writing = true;
  const pending: Array<Promise<unknown>> = [];
  const writes = (async () => {
    for (let i = 0; writing; i++) {
      // Not awaited: several land in a commit, commits land in their order.
      pending.push(m.putObject('v', keyOf((i * 7) % 600), { ...obj(i), size: 1000 + i }));
      await nextTurn();
    }
  })();
  let mixed = 0;
  for (let pass = 0; pass < 8; pass++) {
    await usage.scan();
    const u = usage.usage.get('v')!;
    const k = u.objects + u.versions - 1200;
    const want = v0.bytes + v0.versionBytes + k * 1000 + (k * (k - 1)) / 2;
    t.equal(u.objects, 600, `pass ${pass}: 600 current objects`);
    t.equal(u.bytes + u.versionBytes, want, `pass ${pass}: the bytes of the first ${k} writes`);
    if (k > 0) mixed++;
  }
  writing = false;
  await writes;
  await Promise.all(pending);
  t.ok(mixed > 0, `writes landed during the scans (${mixed} of 8)`);
});
