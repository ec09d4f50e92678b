// The `null` version in the MetaStore over a real LMDB in a temp dir: a look-up of versionId=null
// (and a Suspended write, which replaces the null version wherever it sits) reads the null
// version's own entry, not every version of its key, through every path that adds or removes a
// null version (a seeded walk of writes, deletes, versioning changes, uploads, lifecycle removals
// and reopenings, checked after each step against a scan of all versions); a store written
// without the null-version index (an earlier version) finds its null versions once opened; and a
// ListObjectVersions page reads about its own size however many versions its keys have.
// Counted with MetaStore.versionEntriesRead.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaConflict, MetaStore, type VersionEntry } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord, type UploadRecord } from '../../../../daemon/meta/records.js';
import { clientVersionId, stampOf, stampOfId } from '../../../../daemon/meta/versions.js';
import { prng } from '../../../helpers/daemon.js';
import { forgetNullIndex, ids, indexKeeperStop, obj, show, versioned } from '../../../helpers/meta-versions.js';

/** A store in a temp dir that the test may close and reopen: `dir` stays until the end of `t`. */
function storeDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 's3d-null-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What `fn` returned, and the versions-table records it read. */
function counted<T>(m: MetaStore, fn: () => T): { out: T; read: number } {
  const before = m.versionEntriesRead;
  const out = fn();
  return { out, read: m.versionEntriesRead - before };
}

/** The null version of bucket/key as a scan of all its versions finds it (and how many there are). */
function scannedNull(m: MetaStore, bucket: string, key: string): { entry: VersionEntry | undefined; nulls: number } {
  const all = m.keyVersions(bucket, key).filter((v) => v.record.versionId === undefined);
  return { entry: all[0], nulls: all.length };
}

/**
 * Checks versionId=null on bucket/key against a scan: the same record, the same isLatest, at most
 * one null version, and the look-up reads two records at most (its own, and the newest version
 * when there is no current object, to tell whether it is the latest).
 */
/** How often checkNull met a null version in the versions table (noncurrent, or a latest delete marker). */
let nullsStored = 0;

function checkNull(t: Test, m: MetaStore, bucket: string, key: string, step: string): boolean {
  const { entry, nulls } = scannedNull(m, bucket, key);
  const { out: got, read } = counted(m, () => m.getVersion(bucket, key, 'null'));
  const cur = m.getObject(bucket, key);
  if (entry !== undefined && (cur === undefined || cur.versionId !== undefined)) nullsStored++;
  const ok = nulls <= 1 && got?.record.vs === entry?.record.vs && got?.record.mtime === entry?.record.mtime && got?.record.etag === entry?.record.etag && got?.isLatest === entry?.isLatest && read <= 2;
  if (!ok) t.fail(`${step}: ${key}'s null version`, { found: got === undefined ? 'none' : show({ key, ...got }), scanned: entry === undefined ? 'none' : show(entry), nulls, read });
  return ok;
}

let etagSeq = 0;
const rec = (): ObjectRecord => obj({ etag: `e${++etagSeq}` });
const upload = (bucket: string, key: string, id: string): UploadRecord => ({ v: RECORD_VERSION, id, bucket, key, initiated: 1, headers: {}, userMeta: {} });

async function settle(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof MetaConflict)) throw err;
  }
}

const OPS = ['put', 'put', 'put', 'delete', 'delete-id', 'delete-id', 'delete-objects', 'versioning', 'upload', 'lifecycle', 'expire', 'reopen'] as const;

t.test('versionId=null through every path that adds or removes a null version, against a scan of all versions', async (t) => {
  const dir = storeDir(t);
  let m = new MetaStore(dir);
  t.teardown(() => m.close());
  const keys = ['k', 'k/2', 'ké'];
  const random = prng(0x0a11);
  await m.createBucket('b');
  // Null versions written while the bucket was unversioned.
  for (const k of keys) await m.putObject('b', k, rec());
  await versioned(m, 'b', 'Enabled');
  let state: 'Enabled' | 'Suspended' = 'Enabled';
  const steps: string[] = [];
  let failures = 0;
  let uploads = 0;
  const counts = new Map<string, number>();
  for (let step = 0; step < 500 && failures < 5; step++) {
    const key = random.pick(keys);
    // Ids that exist (null included when there is one), and sometimes `null` anyway.
    const existing = m.keyVersions('b', key).map((v) => clientVersionId(v.record));
    const someId = (): string => (existing.length > 0 && random.bool(0.8) ? random.pick(existing) : 'null');
    const op = random.pick(OPS);
    counts.set(op, (counts.get(op) ?? 0) + 1);
    switch (op) {
      case 'put':
        await m.putObject('b', key, rec());
        break;
      case 'delete':
        await m.deleteObject('b', key);
        break;
      case 'delete-id':
        await settle(m.deleteObject('b', key, undefined, someId()));
        break;
      case 'delete-objects':
        await m.deleteObjects('b', [{ key, versionId: someId() }, { key, versionId: 'null' }, { key: random.pick(keys), versionId: 'null' }, { key }]);
        break;
      case 'versioning':
        state = state === 'Enabled' ? 'Suspended' : 'Enabled';
        await versioned(m, 'b', state);
        break;
      case 'upload': {
        const id = `u${++uploads}`;
        await m.createUpload(upload('b', key, id));
        await m.completeUpload(upload('b', key, id), rec());
        break;
      }
      case 'lifecycle': {
        // NoncurrentVersionExpiration: a noncurrent version (or marker), judged with its key's fingerprint.
        const noncurrent = m.keyVersions('b', key).filter((v) => !v.isLatest);
        if (noncurrent.length === 0) break;
        const v = random.pick(noncurrent);
        await m.removeVersionsIfUnchanged('b', [{ key, versionId: clientVersionId(v.record), vs: stampOf(v.record) }]);
        break;
      }
      case 'expire': {
        // Expiration of the current version: a delete marker (the null one when Suspended).
        const cur = m.getObject('b', key);
        if (cur !== undefined) await m.deleteObjectsIfUnchanged('b', [{ key, etag: cur.etag, mtime: cur.mtime }]);
        break;
      }
      case 'reopen':
        await m.close();
        m = new MetaStore(dir);
        break;
    }
    steps.push(`${op} ${key}`);
    for (const k of keys) if (!checkNull(t, m, 'b', k, `step ${step} (${steps.slice(-3).join(', ')})`)) failures++;
  }
  t.equal(failures, 0, 'after every step, versionId=null finds the null version a scan finds (or none), reading at most two records');
  t.equal(counts.size, new Set(OPS).size, `every kind of step ran: ${JSON.stringify(Object.fromEntries(counts))}`);
  t.ok(nullsStored > 100, `the null versions checked were often in the versions table (${nullsStored} times)`);
});

t.test('a null version deep under many versions: look-ups, deletes and Suspended overwrites read its entry alone', async (t) => {
  const dir = storeDir(t);
  const m = new MetaStore(dir);
  t.teardown(() => m.close());
  await m.createBucket('b');
  await m.putObject('b', 'hot', rec());
  await versioned(m, 'b', 'Enabled');
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < 2000; i++) pending.push(m.putObject('b', 'hot', rec()));
  await Promise.all(pending);
  t.equal(ids(m, 'b', 'hot').at(-1), 'null', 'the null version is the oldest of 2001');

  let r = counted(m, () => m.getVersion('b', 'hot', 'null'));
  t.equal(r.out?.record.versionId, undefined, 'found');
  t.ok(r.read <= 1, `a look-up reads its own entry (${r.read} read)`);

  const del = async (items: Array<{ key: string; versionId?: string }>): Promise<number> => {
    const before = m.versionEntriesRead;
    await m.deleteObjects('b', items);
    return m.versionEntriesRead - before;
  };
  const read = await del(Array.from({ length: 300 }, () => ({ key: 'hot', versionId: 'null' })));
  t.ok(read <= 10, `DeleteObjects of 300 × versionId=null removes the one null version and reads a few records (${read} read)`);
  t.equal(ids(m, 'b', 'hot').length, 2000, 'only the null version went');
  r = counted(m, () => m.getVersion('b', 'hot', 'null'));
  t.equal(r.out, undefined, 'no null version now');
  t.ok(r.read <= 1, `a look-up of a missing null version reads nothing much (${r.read} read)`);

  await versioned(m, 'b', 'Suspended');
  for (let i = 0; i < 3; i++) {
    const before = m.versionEntriesRead;
    await m.putObject('b', 'hot', rec());
    t.ok(m.versionEntriesRead - before <= 4, `a Suspended overwrite reads a few records (${m.versionEntriesRead - before} read)`);
  }
  await versioned(m, 'b', 'Enabled');
  await m.putObject('b', 'hot', rec());
  const v = ids(m, 'b', 'hot');
  t.equal(v.filter((id) => id === 'null').length, 1, 'one null version');
  t.equal(v[1], 'null', 'under the newest version');
  const before = m.versionEntriesRead;
  await m.deleteObject('b', 'hot');
  await m.deleteObject('b', 'hot', undefined, v[0]);
  t.ok(m.versionEntriesRead - before <= 8, 'a delete marker and a delete by id read a few records');
  r = counted(m, () => m.getVersion('b', 'hot', 'null'));
  t.ok(r.out !== undefined && !r.out.isLatest && r.read <= 2, 'the null version is found under the marker');
});

for (const how of ['no index', 'stale index'] as const) {
  t.test(`a store written without the null-version index (${how}) finds its null versions once opened`, async (t) => {
    const dir = storeDir(t);
    let m = new MetaStore(dir);
    await m.createBucket('b');
    for (const k of ['a', 'b', 'c']) await m.putObject('b', k, rec());
    await versioned(m, 'b', 'Enabled');
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < 300; i++) pending.push(m.putObject('b', 'a', rec()), m.putObject('b', 'b', rec()));
    await Promise.all(pending);
    await m.deleteObject('b', 'b', undefined, 'null');
    await versioned(m, 'b', 'Suspended');
    await m.deleteObject('b', 'c');
    await versioned(m, 'b', 'Enabled');
    await m.putObject('b', 'c', rec());
    t.same([ids(m, 'b', 'a').at(-1), ids(m, 'b', 'b').includes('null'), ids(m, 'b', 'c')[1]], ['null', false, 'null'], 'a: null oldest of 301; b: none; c: a null delete marker');
    await m.state.recordShutdownToken('a clean stop');
    await m.close();
    await forgetNullIndex(dir, how);

    // Read-only (s3d verify beside a daemon of the earlier version): the index is not trusted.
    const ro = new MetaStore(dir, { readOnly: true });
    t.equal(ro.nullIndexRebuilt, undefined, 'a read-only store builds nothing');
    t.ok(ro.getVersion('b', 'a', 'null') !== undefined, 'read-only: the null version is found by a scan');
    t.equal(ro.getVersion('b', 'b', 'null'), undefined);
    t.ok(ro.getVersion('b', 'c', 'null')?.record.deleteMarker, 'read-only: the null delete marker too');
    await ro.close();

    m = new MetaStore(dir);
    t.teardown(() => m.close());
    t.equal(m.nullIndexRebuilt, 2, 'opened for writing, the store indexes its two null versions');
    for (const k of ['a', 'b', 'c']) checkNull(t, m, 'b', k, 'after the upgrade');
    const r = counted(m, () => m.getVersion('b', 'a', 'null'));
    t.ok(r.out !== undefined && r.read <= 1, `the null version under 300 others is read alone (${r.read} read)`);
    await versioned(m, 'b', 'Suspended');
    await m.putObject('b', 'a', rec());
    t.same(ids(m, 'b', 'a').filter((id) => id === 'null').length, 1, 'a Suspended write replaces the indexed null version');
    // A clean stop (the token, and the marker naming the last transaction, as cli.ts writes them).
    await m.state.recordShutdownToken('this version stopped cleanly');
    const txnId = m.lastTxnId();
    await m.close();
    m = new MetaStore(dir, { cleanMarker: { token: 'this version stopped cleanly', txnId } });
    t.equal(m.nullIndexRebuilt, undefined, 'reopened after a clean stop: the index is complete, not rebuilt');
    for (const k of ['a', 'b', 'c']) checkNull(t, m, 'b', k, 'reopened');
    // No marker (a crash: the start consumed it): nothing vouches for the index; it is rebuilt.
    await m.close();
    m = new MetaStore(dir);
    t.equal(m.nullIndexRebuilt, 1, 'reopened without a clean-stop marker: the index is rebuilt (c\'s null marker; a\'s null version is current now)');
    for (const k of ['a', 'b', 'c']) checkNull(t, m, 'b', k, 'rebuilt after a stop without a marker');
  });
}

t.test('ListObjectVersions reads a page, not every version of the keys it lists', async (t) => {
  const dir = storeDir(t);
  const m = new MetaStore(dir);
  t.teardown(() => m.close());
  await m.createBucket('b');
  await versioned(m, 'b', 'Enabled');
  const many = async (n: number): Promise<void> => {
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i++) pending.push(m.putObject('b', 'hot', rec()));
    await Promise.all(pending);
  };
  await many(1000);
  await versioned(m, 'b', 'Suspended');
  await m.putObject('b', 'hot', rec());
  await versioned(m, 'b', 'Enabled');
  await many(1000);
  await m.putObject('b', 'next', rec());
  await m.deleteObject('b', 'hot');
  const all = m.keyVersions('b', 'hot').map((v) => show(v));
  t.equal(all.length, 2002);
  t.equal(all[1001], `hot|null|-|O`, 'the null version in the middle');

  const page = (keyMarker: string, versionIdMarker: string, maxKeys: number): { r: ReturnType<MetaStore['listVersions']>; read: number } => {
    const { out: r, read } = counted(m, () => m.listVersions('b', { prefix: '', delimiter: '', keyMarker, versionIdMarker, maxKeys }));
    return { r, read };
  };
  const first = page('', '', 1);
  t.same(first.r.entries.map(show), [all[0]], 'MaxKeys=1: the latest (a delete marker)');
  t.ok(first.read <= 2, `MaxKeys=1 reads one record and the next (${first.read} read)`);

  // Paging through all of hot, 100 at a time: each page reads about 100 records.
  const got: string[] = [];
  let marker = { key: '', id: '' };
  let pages = 0;
  let maxRead = 0;
  for (;;) {
    const p = page(marker.key, marker.id, 100);
    pages++;
    maxRead = Math.max(maxRead, p.read);
    got.push(...p.r.entries.map(show));
    if (!p.r.isTruncated) break;
    marker = { key: p.r.nextKey!, id: p.r.nextVersionId! };
  }
  t.same(got.filter((s) => s.startsWith('hot|')), all, 'every version of hot once, in order, the first latest');
  t.match(got.at(-1), /^next\|[^|]+\|L\|O$/, 'then the next key');
  t.equal(pages, 21);
  t.ok(maxRead <= 102, `a page of 100 reads at most 102 records (${maxRead} read)`);

  // The marker names the null version (found through the index) or a version deleted since.
  const afterNull = page('hot', 'null', 3);
  t.same(afterNull.r.entries.map(show), all.slice(1002, 1005), 'after the null version');
  t.ok(afterNull.read <= 5, `a page after the null version reads its own records, and the null version (${afterNull.read} read)`);
  const victim = all[1000]!.split('|')[1]!;
  await m.deleteObject('b', 'hot', undefined, victim);
  const afterGone = page('hot', victim, 2);
  t.same(afterGone.r.entries.map(show), [all[1001], all[1002]], 'after a version deleted since: the versions older than it');
  t.ok(afterGone.read <= 3, `and reads its own records (${afterGone.read} read)`);
});

/** A ListObjectVersions page (no prefix or delimiter) from every version of every key, as a scan gives it. */
/**
 * A ListObjectVersions page as a scan of every version gives it. `gone`: per key, where its null
 * version removed last sat while the key kept other versions (S3 goes on after a version-id
 * marker deleted between pages; `null` carries no stamp, so that place is all there is).
 */
function scannedPage(m: MetaStore, bucket: string, keys: readonly string[], keyMarker: string, versionIdMarker: string, maxKeys: number, gone: ReadonlyMap<string, number> = new Map()): { entries: string[]; isTruncated: boolean } {
  const entries: string[] = [];
  for (const key of [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const order = Buffer.compare(Buffer.from(key), Buffer.from(keyMarker));
    if (keyMarker !== '' && (order < 0 || (order === 0 && versionIdMarker === ''))) continue;
    const versions = m.keyVersions(bucket, key);
    let i = 0;
    if (versionIdMarker !== '' && order === 0) {
      const at = versions.findIndex((v) => clientVersionId(v.record) === versionIdMarker);
      const stamp = versionIdMarker === 'null' ? gone.get(key) : stampOfId(versionIdMarker);
      // A marker that is gone: the versions older than it, or all of them when it has no place.
      i = at >= 0 ? at + 1 : stamp === undefined ? 0 : versions.findIndex((v) => stampOf(v.record) < stamp);
      if (i < 0) i = versions.length;
    }
    for (; i < versions.length; i++) {
      if (entries.length >= maxKeys) return { entries, isTruncated: true };
      entries.push(show(versions[i]!));
    }
  }
  return { entries, isTruncated: false };
}

t.test('ListObjectVersions pages from any marker are what a scan of every version gives, and read about their size', async (t) => {
  const m = new MetaStore(storeDir(t));
  t.teardown(() => m.close());
  const keys = ['a', 'a/b', 'b', 'é'];
  const random = prng(0x1157);
  await m.createBucket('b');
  for (const k of keys) await m.putObject('b', k, rec());
  await versioned(m, 'b', 'Enabled');
  let state: 'Enabled' | 'Suspended' = 'Enabled';
  /** Every version id this history made, those deleted since too (markers naming them), and `null`. */
  const made = new Set<string>(['null']);
  const gone = new Map<string, number>();
  let goneNullProbes = 0;
  let failures = 0;
  let checked = 0;
  for (let step = 0; step < 400 && failures < 5; step++) {
    const key = random.pick(keys);
    const r = random.next();
    if (r < 0.6) made.add(clientVersionId(await m.putObject('b', key, rec())));
    else if (r < 0.75) made.add(clientVersionId((await m.deleteObject('b', key)).marker!));
    else if (r < 0.9) {
      // `null` is one id of many: picked as often as a third of the others, for the pages after it.
      const id = random.bool(0.3) ? 'null' : random.pick([...made]);
      const nullStamp = m.keyVersions('b', key).find((v) => v.record.versionId === undefined)?.record;
      await m.deleteObject('b', key, undefined, id);
      if (m.keyVersions('b', key).length === 0) gone.delete(key);
      else if (id === 'null' && nullStamp !== undefined) gone.set(key, stampOf(nullStamp));
    } else {
      state = state === 'Enabled' ? 'Suspended' : 'Enabled';
      await versioned(m, 'b', state);
    }
    if (step % 4 !== 3) continue;
    for (let probe = 0; probe < 6; probe++) {
      const keyMarker = random.bool(0.15) ? '' : random.pick(keys);
      const versionIdMarker = random.bool(0.2) ? '' : random.bool(0.3) ? 'null' : random.pick([...made]);
      const maxKeys = 1 + random.int(4);
      const want = scannedPage(m, 'b', keys, keyMarker, versionIdMarker, maxKeys, gone);
      const placed = gone.get(keyMarker);
      // A `null` marker whose version is gone, its place above some version of the key.
      if (versionIdMarker === 'null' && placed !== undefined && !m.keyVersions('b', keyMarker).some((v) => v.record.versionId === undefined) && m.keyVersions('b', keyMarker).some((v) => stampOf(v.record) > placed)) goneNullProbes++;
      const { out: got, read } = counted(m, () => m.listVersions('b', { prefix: '', delimiter: '', keyMarker, versionIdMarker, maxKeys }));
      checked++;
      const same = JSON.stringify(got.entries.map(show)) === JSON.stringify(want.entries) && got.isTruncated === want.isTruncated;
      if (same && read <= maxKeys + 2) continue;
      failures++;
      t.fail(`step ${step}: page after ${JSON.stringify(keyMarker)} / ${versionIdMarker}, ${maxKeys} keys`, { got: got.entries.map(show), want: want.entries, truncated: [got.isTruncated, want.isTruncated], read });
    }
  }
  t.ok(goneNullProbes >= 5, `pages after a null version gone from under newer versions among them (${goneNullProbes})`);
  t.equal(failures, 0, `${checked} pages from random markers (versions that exist, that are gone, the current one, null) are the scan's, each reading at most MaxKeys + 2 records`);
});

t.test('a `null` version-id marker whose version is gone: the page goes on after the place it had, kept while its key has versions and across clean stops of this version', async (t) => {
  const dir = storeDir(t);
  let m = new MetaStore(dir);
  t.teardown(() => m.close());
  await versioned(m, 'b', 'Enabled');
  const id = async (key = 'k'): Promise<string> => clientVersionId(await m.putObject('b', key, rec()));
  const put = async (state: 'Enabled' | 'Suspended'): Promise<string> => {
    await versioned(m, 'b', state);
    return id();
  };
  const v0 = await put('Enabled');
  await put('Suspended');
  const v1 = await put('Enabled');
  const v2 = await id();
  await id('z');
  t.same(ids(m, 'b', 'k'), [v2, v1, 'null', v0]);
  const afterNull = (): string[] => m.listVersions('b', { prefix: '', delimiter: '', keyMarker: 'k', versionIdMarker: 'null', maxKeys: 10 }).entries.map((e) => `${e.key} ${clientVersionId(e.record)}`);
  const z = `z ${ids(m, 'b', 'z')[0]}`;
  t.same(afterNull(), [`k ${v0}`, z], 'after the null version: v0, then z');
  await m.deleteObject('b', 'k', undefined, 'null');
  t.same(afterNull(), [`k ${v0}`, z], 'after the null version deleted: the versions older than its place, not k from its newest again');
  /** A clean stop of this version and a start (the token and marker cli.ts writes). */
  const cleanRestart = async (token: string): Promise<void> => {
    await m.state.recordShutdownToken(token);
    const txnId = m.lastTxnId();
    await m.close();
    m = new MetaStore(dir, { cleanMarker: { token, txnId } });
  };
  await cleanRestart('one');
  t.same(afterNull(), [`k ${v0}`, z], 'the place is kept across a clean stop');

  // An earlier version that keeps the index but not these places may have removed a null
  // version since: a place kept before would be too old (versions after it missed). Forgotten.
  await m.state.recordShutdownToken('two');
  await m.close();
  m = new MetaStore(dir, { cleanMarker: await indexKeeperStop(dir, 'an earlier version') });
  t.equal(m.nullIndexRebuilt, undefined, 'the index itself is complete: not rebuilt');
  t.same(afterNull(), [`k ${v2}`, `k ${v1}`, `k ${v0}`, z], 'after an earlier version ran: no place, k again from its newest version (none missed)');
  await put('Suspended');
  const v3 = await put('Enabled');
  await m.deleteObject('b', 'k', undefined, 'null');
  await cleanRestart('three');
  t.same(afterNull(), [`k ${v2}`, `k ${v1}`, `k ${v0}`, z], 'a place kept again once this version removes a null version (under v3), and across its clean stop');

  // A key whose last version goes keeps no place: made again, its versions are not behind one.
  for (const v of [v3, v2, v1, v0]) await m.deleteObject('b', 'k', undefined, v);
  t.same(ids(m, 'b', 'k'), []);
  const w = await id();
  t.same(afterNull(), [`k ${w}`, z], 'k emptied and written again: no place kept, k from its newest version');
});

t.test('ListObjectVersions slices: whatever is written or deleted between two, the second goes on after the first ends (markerStamp), no version twice, none there throughout missed', async (t) => {
  // ops/list.ts reads a page in slices, each the next after the last version the one before
  // listed, given by its place (markerStamp): the marker alone named the version as it then was,
  // and a null version replaced or deleted between two slices had k's versions listed twice.
  const m = new MetaStore(storeDir(t));
  t.teardown(() => m.close());
  const keys = ['a', 'k', 'k/x', 'z'];
  const random = prng(0x5117);
  await m.createBucket('b');
  for (const k of keys) await m.putObject('b', k, rec());
  await versioned(m, 'b', 'Enabled');
  const made = new Set<string>(['null']);
  /** One change of a key (`focus` half the time), as the seeded walk above makes them. */
  const change = async (focus?: string): Promise<void> => {
    const key = focus !== undefined && random.bool(0.5) ? focus : random.pick(keys);
    const r = random.next();
    if (r < 0.45) made.add(clientVersionId(await m.putObject('b', key, rec())));
    else if (r < 0.6) made.add(clientVersionId((await m.deleteObject('b', key)).marker!));
    else if (r < 0.85) await m.deleteObject('b', key, undefined, random.bool(0.4) ? 'null' : random.pick([...made]));
    else await versioned(m, 'b', m.getBucket('b')!.versioning === 'Enabled' ? 'Suspended' : 'Enabled');
  };
  for (let i = 0; i < 30; i++) await change();
  // A version as its key, id and stamp: a null version replaced is another version.
  const named = (e: VersionEntry): string => `${e.key}|${clientVersionId(e.record)}|${stampOf(e.record)}`;
  const all = (): string[] => m.listVersions('b', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 }).entries.map(named);
  let failures = 0;
  let nullEnds = 0;
  for (let round = 0; round < 400 && failures < 5; round++) {
    const before = all();
    if (before.length < 2) {
      await change();
      continue;
    }
    // The first slice ends on a null version more often than not, when there is one.
    const nulls = before.flatMap((e, i) => (e.split('|')[1] === 'null' && i < before.length - 1 ? [i + 1] : []));
    const size = nulls.length > 0 && random.bool(0.7) ? random.pick(nulls) : 1 + random.int(before.length - 1);
    const first = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: size });
    if (first.nextVersionId === 'null') nullEnds++;
    // Most often to the key the first slice ended on.
    for (let c = 1 + random.int(3); c > 0; c--) await change(first.nextKey);
    const after = all();
    const second = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: first.nextKey!, versionIdMarker: first.nextVersionId!, markerStamp: first.nextStamp, maxKeys: 1000 });
    const got = [...first.entries, ...second.entries].map(named);
    const twice = got.filter((e, i) => got.indexOf(e) !== i);
    const missed = before.filter((e) => after.includes(e) && !got.includes(e));
    const secondIds = second.entries.map(named);
    const inOrder = secondIds.every((e, i) => i === 0 || after.indexOf(e) > after.indexOf(secondIds[i - 1]!));
    if (twice.length === 0 && missed.length === 0 && inOrder && secondIds.every((e) => after.includes(e))) continue;
    failures++;
    t.fail(`round ${round}: a first slice of ${first.entries.length} ending on ${first.nextKey} ${first.nextVersionId}`, { twice, missed, inOrder, before, after, got });
  }
  t.ok(nullEnds >= 100, `first slices ending on a null version among them (${nullEnds})`);
  t.equal(failures, 0, 'no version listed twice, none there before and after missed, the second slice in the listing order');
});
