// MetaStore over a real LMDB in a temp dir: listing is a range scan that reads one page (not the
// bucket) and skips whole common prefixes; UTF-8 binary order and paging by `next`; the deletion
// queue of object overwrites, deletes and multipart uploads; parts and upload listings; bucket
// identity (`created`) across re-creation and reopening.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaConflict, MetaStore, type ListOptions } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, sameBucket, type ObjectRecord, type PartRecord, type UploadRecord } from '../../../../daemon/meta/records.js';

let fileSeq = 0;
/** A fresh 32-hex data file id. */
function fid(): string {
  return (++fileSeq).toString(16).padStart(32, '0');
}

function obj(over: Partial<ObjectRecord> = {}): ObjectRecord {
  return { v: RECORD_VERSION, size: 1, etag: 'e', mtime: 1, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1, ...over };
}

function fileObj(file = fid()): ObjectRecord {
  return obj({ data: { file } });
}

function part(n: number, file = fid(), etag = `etag${n}`): PartRecord {
  return { v: RECORD_VERSION, n, size: 5, stored: 5, etag, data: { file }, mtime: 1 };
}

function upload(bucket: string, key: string, id: string, initiated: number): UploadRecord {
  return { v: RECORD_VERSION, id, bucket, key, initiated, headers: {}, userMeta: {} };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof MetaConflict) return err.code;
    if (err instanceof Error && err.message === 'hook failed') return err.message;
    throw err;
  }
}

function openStore(t: Test): MetaStore {
  const dir = mkdtempSync(join(tmpdir(), 's3d-meta-'));
  const m = new MetaStore(dir);
  t.teardown(async () => {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return m;
}

/** Entries read by one listObjects call, and its result. */
function countedList(m: MetaStore, bucket: string, opts: Partial<ListOptions>): { read: number; r: ReturnType<MetaStore['listObjects']> } {
  const before = m.listEntriesRead;
  const r = m.listObjects(bucket, { prefix: '', delimiter: '', after: '', maxKeys: 1000, ...opts });
  return { read: m.listEntriesRead - before, r };
}

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** What a complete listing must yield: keys and common prefixes (tagged) in UTF-8 order. */
function reference(keys: string[], prefix: string, delimiter: string, after: string): string[] {
  const out: string[] = [];
  for (const k of [...keys].sort(utf8Order)) {
    if (!k.startsWith(prefix)) continue;
    let entry = `K:${k}`;
    if (delimiter !== '') {
      const i = k.indexOf(delimiter, prefix.length);
      if (i >= 0) entry = `P:${k.slice(0, i + delimiter.length)}`;
    }
    const name = entry.slice(2);
    if (after !== '' && utf8Order(name, after) <= 0) continue;
    if (out[out.length - 1] !== entry) out.push(entry);
  }
  return out;
}

/** Pages through a listing by feeding `next` back as `after`, as ListObjects markers do. */
function pageAll(m: MetaStore, bucket: string, prefix: string, delimiter: string, maxKeys: number, after = ''): { entries: string[]; pages: number } {
  const entries: string[] = [];
  let pages = 0;
  for (;;) {
    pages++;
    if (pages > 200) throw new Error(`listing does not terminate (prefix=${prefix} delimiter=${delimiter} max=${maxKeys})`);
    const r = m.listObjects(bucket, { prefix, delimiter, after, maxKeys });
    const page = [...r.contents.map((c) => `K:${c.key}`), ...r.commonPrefixes.map((p) => `P:${p}`)].sort((a, b) => utf8Order(a.slice(2), b.slice(2)));
    if (page.length > maxKeys) throw new Error(`page of ${page.length} entries exceeds max ${maxKeys}`);
    entries.push(...page);
    if (!r.isTruncated) return { entries, pages };
    if (r.next === undefined) throw new Error('truncated page without next');
    after = r.next;
  }
}

t.test('listing one page reads about one page of entries, whatever the bucket size', async (t) => {
  const m = openStore(t);
  await m.createBucket('small');
  await m.createBucket('big');
  // A neighbouring bucket whose name extends "big" must not leak into its range.
  await m.createBucket('big2');
  const rec = obj();
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 1000; i++) writes.push(m.putObject('small', `k${String(i).padStart(5, '0')}`, rec));
  // 100,000 keys under 100 prefixes of 1,000 keys each.
  for (let d = 0; d < 100; d++) {
    for (let i = 0; i < 1000; i++) writes.push(m.putObject('big', `d${String(d).padStart(3, '0')}/k${String(i).padStart(4, '0')}`, rec));
  }
  writes.push(m.putObject('big2', 'a', rec));
  await Promise.all(writes);

  const PAGE = 1000;
  const bound = PAGE + 2;
  const small = countedList(m, 'small', {});
  t.equal(small.r.contents.length, 1000);
  t.equal(small.r.isTruncated, false);
  t.ok(small.read <= bound, `1,000-key bucket: ${small.read} entries read`);

  const big = countedList(m, 'big', {});
  t.equal(big.r.contents.length, 1000);
  t.equal(big.r.isTruncated, true);
  t.equal(big.r.next, 'd000/k0999');
  t.ok(big.read <= bound, `100,000-key bucket: ${big.read} entries read`);
  t.ok(Math.abs(big.read - small.read) <= 2, 'the same work for 1,000 and 100,000 keys');

  const middle = countedList(m, 'big', { after: 'd050/k0500' });
  t.equal(middle.r.contents[0]!.key, 'd050/k0501');
  t.equal(middle.r.contents.length, 1000);
  t.ok(middle.read <= bound, `page from a marker in the middle: ${middle.read} entries read`);

  const last = countedList(m, 'big', { after: 'd099/k0998' });
  t.same(last.r.contents.map((c) => c.key), ['d099/k0999'], 'last page stops at the bucket end (big2 is not read)');
  t.ok(last.read <= 2, `last page: ${last.read} entries read`);

  const underPrefix = countedList(m, 'big', { prefix: 'd042/', delimiter: '/' });
  t.equal(underPrefix.r.contents.length, 1000);
  t.equal(underPrefix.r.isTruncated, false);
  t.same(underPrefix.r.commonPrefixes, []);
  t.ok(underPrefix.read <= bound, `prefix + delimiter page: ${underPrefix.read} entries read`);

  const smallDelim = countedList(m, 'small', { delimiter: '/' });
  t.equal(smallDelim.r.contents.length, 1000);
  t.ok(smallDelim.read <= bound, `delimiter page over flat keys: ${smallDelim.read} entries read`);

  const noMatch = countedList(m, 'big', { delimiter: '|' });
  t.equal(noMatch.r.contents.length, 1000);
  t.ok(noMatch.read <= bound, `delimiter absent from keys: ${noMatch.read} entries read`);

  // The delimiter listing of 100,000 keys under 100 prefixes reads one entry per prefix.
  const rolled = countedList(m, 'big', { delimiter: '/' });
  t.equal(rolled.r.commonPrefixes.length, 100);
  t.equal(rolled.r.commonPrefixes[0], 'd000/');
  t.equal(rolled.r.commonPrefixes[99], 'd099/');
  t.same(rolled.r.contents, []);
  t.equal(rolled.r.isTruncated, false);
  t.ok(rolled.read <= 100 + 2, `delimiter listing over 100 prefixes: ${rolled.read} entries read`);

  const rolledPage = countedList(m, 'big', { delimiter: '/', maxKeys: 10 });
  t.equal(rolledPage.r.commonPrefixes.length, 10);
  t.equal(rolledPage.r.isTruncated, true);
  t.equal(rolledPage.r.next, 'd009/');
  t.ok(rolledPage.read <= 10 + 2, `10 common prefixes: ${rolledPage.read} entries read`);

  // Resuming from a common prefix (NextMarker) skips the rest of that prefix, cheaply.
  const resumed = countedList(m, 'big', { delimiter: '/', maxKeys: 10, after: 'd009/' });
  t.equal(resumed.r.commonPrefixes[0], 'd010/', 'the marker prefix is not listed again');
  t.equal(resumed.r.commonPrefixes.length, 10);
  t.ok(resumed.read <= 10 + 3, `resumed from a common prefix: ${resumed.read} entries read`);
});

t.test('UTF-8 binary order and complete paging with every page size', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const keys = ['a', 'B', 'é', '\u{1F600}', '\uFFFD', 'a/b', 'a/c', 'a/b/c', 'a%2F', 'a b', 'a+b', 'b/', 'b//x', 'b/y/z', 'c', 'c/d', 'z'];
  for (const k of keys) await m.putObject('b', k, obj());
  const all = m.listObjects('b', { prefix: '', delimiter: '', after: '', maxKeys: 1000 });
  t.same(all.contents.map((c) => c.key), [...keys].sort(utf8Order), 'UTF-8 byte order');
  t.same(all.contents.slice(-2).map((c) => c.key), ['\uFFFD', '\u{1F600}'], 'U+FFFD (EF BF BD) sorts before U+1F600 (F0 9F 98 80), unlike UTF-16 order');

  for (const [prefix, delimiter] of [['', ''], ['', '/'], ['a', '/'], ['a/', '/'], ['b/', '/'], ['', 'b'], ['a', ''], ['zz', '/'], ['', '//']] as const) {
    const want = reference(keys, prefix, delimiter, '');
    for (const max of [1, 2, 3, 5, 1000]) {
      const got = pageAll(m, 'b', prefix, delimiter, max);
      t.same(got.entries, want, `prefix=${JSON.stringify(prefix)} delimiter=${JSON.stringify(delimiter)} max=${max}`);
    }
    // Starting after an arbitrary key (start-after) of the same listing.
    for (const after of ['a', 'a/b', 'b/', 'b0', '\uFFFD']) {
      t.same(pageAll(m, 'b', prefix, delimiter, 2, after).entries, reference(keys, prefix, delimiter, after), `after=${after} prefix=${JSON.stringify(prefix)} delimiter=${JSON.stringify(delimiter)}`);
    }
  }
});

t.test('putObject and deleteObject queue the replaced files; checks abort the commit', async (t) => {
  const m = openStore(t);
  t.equal(await code(m.putObject('nb', 'k', obj())), 'NoSuchBucket');
  await m.createBucket('b');
  t.equal(await code(m.createBucket('b')), 'BucketAlreadyOwnedByYou');
  const f1 = fid();
  await m.putObject('b', 'k', fileObj(f1));
  t.same(m.queuedFiles(), [], 'a first write queues nothing');
  const f2 = fid();
  await m.putObject('b', 'k', fileObj(f2));
  t.same(m.queuedFiles(), [f1], 'overwrite queues the old file');
  t.same(m.getObject('b', 'k')!.data, { file: f2 });

  // A record that keeps the old data file (SSE-C key rotation in place) must not queue it.
  await m.putObject('b', 'k', obj({ data: { file: f2 }, etag: 'rotated' }));
  t.same(m.queuedFiles(), [f1], 'a file the new record still uses is not queued');

  // A failing check aborts the whole commit.
  const f3 = fid();
  await t.rejects(
    m.putObject('b', 'k', fileObj(f3), () => {
      throw new MetaConflict('PreconditionFailed');
    }),
    { code: 'PreconditionFailed' },
  );
  t.same(m.getObject('b', 'k')!.data, { file: f2 }, 'record unchanged');
  t.same(m.queuedFiles(), [f1], 'queue unchanged');

  t.ok((await m.deleteObject('b', 'k')).removed, 'deleting reports the removed record');
  t.same(await m.deleteObject('b', 'k'), {}, 'deleting a missing key removes nothing');
  t.same(m.queuedFiles().sort(), [f1, f2].sort());
  t.equal(m.getObject('b', 'k'), undefined);

  const fa = fid();
  await m.putObject('b', 'x', fileObj(fa));
  await m.putObject('b', 'y', obj());
  t.same((await m.deleteObjects('b', [{ key: 'x' }, { key: 'nope' }, { key: 'y' }])).map((r) => r?.removed !== undefined), [true, false, true]);
  t.same(m.queuedFiles().sort(), [f1, f2, fa].sort(), 'inline records queue nothing');
  t.same(m.queuedFiles(2).length, 2, 'queuedFiles honours its limit');

  await m.dequeueFiles([f1, fa]);
  t.same(m.queuedFiles(), [f2]);

  const live = fid();
  await m.putObject('b', 'live', fileObj(live));
  t.same([...m.referencedFiles()], [live]);
  t.equal(await code(m.deleteBucket('b')), 'BucketNotEmpty');
  await m.deleteObject('b', 'live');
  await m.deleteBucket('b');
  t.equal(m.getBucket('b'), undefined);
  t.equal(await code(m.deleteBucket('b')), 'NoSuchBucket');
});

t.test('updateObject rewrites the current record in place and never its data files', async (t) => {
  const m = openStore(t);
  t.equal(await code(m.updateObject('nb', 'k', (r) => r)), 'NoSuchBucket');
  await m.createBucket('b');
  t.equal(await code(m.updateObject('b', 'k', (r) => r)), 'NoSuchKey');
  const f = fid();
  await m.putObject('b', 'k', fileObj(f));
  const tagged = await m.updateObject('b', 'k', (r) => ({ ...r, tags: [['a', '1'], ['b', '']] }));
  t.same(tagged.tags, [['a', '1'], ['b', '']]);
  t.same(m.getObject('b', 'k')!.tags, [['a', '1'], ['b', '']], 'tags stored, in order');
  t.same(m.getObject('b', 'k')!.data, { file: f }, 'data reference kept');
  t.same(m.queuedFiles(), [], 'nothing queued: the data file is still in use');
  // A rewrite that points at other data would orphan or lose a file: refused, nothing changes.
  await t.rejects(m.updateObject('b', 'k', (r) => ({ ...r, data: { file: fid() }, tags: [] })), /must not change the data files/);
  t.same(m.getObject('b', 'k')!.tags, [['a', '1'], ['b', '']], 'record unchanged after the refused rewrite');
  t.same(m.getObject('b', 'k')!.data, { file: f });
  // The update function sees the record current at commit time.
  await m.putObject('b', 'k', obj({ etag: 'newer' }));
  const seen = await m.updateObject('b', 'k', (r) => ({ ...r, tags: [['c', r.etag]] }));
  t.same(seen.tags, [['c', 'newer']]);
  t.same(m.queuedFiles(), [f], 'the overwrite (not the update) queued the old file');
});

t.test('deleteObjectsIfUnchanged deletes only the versions that were judged', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const [fa, fb] = [fid(), fid()];
  await m.putObject('b', 'a', obj({ data: { file: fa }, etag: 'ea', mtime: 10 }));
  await m.putObject('b', 'b', obj({ data: { file: fb }, etag: 'eb', mtime: 10 }));
  const judged = [
    { key: 'a', etag: 'ea', mtime: 10 },
    { key: 'b', etag: 'eb', mtime: 10 },
    { key: 'gone', etag: 'x', mtime: 1 },
  ];
  // b is rewritten after it was judged: the new version must survive.
  const fb2 = fid();
  await m.putObject('b', 'b', obj({ data: { file: fb2 }, etag: 'eb', mtime: 11 }));
  t.equal(await m.deleteObjectsIfUnchanged('b', judged), 1, 'only a');
  t.equal(m.getObject('b', 'a'), undefined);
  t.same(m.getObject('b', 'b')!.data, { file: fb2 }, 'the rewritten b stays');
  t.same(m.queuedFiles().sort(), [fa, fb].sort(), "a's file and b's replaced file are queued, b's live file is not");
});

t.test('multipart: parts replace, complete and abort queue exactly the unused files', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  t.equal(await code(m.createUpload(upload('nb', 'k', 'u0', 1))), 'NoSuchBucket');
  const u = upload('b', 'k', 'u1', 1000);
  await m.createUpload(u);
  t.same(m.getUpload('u1'), u);
  t.equal(await code(m.putPart('nope', part(1))), 'NoSuchUpload');

  const p1a = part(1);
  await m.putPart('u1', p1a);
  const p1b = part(1, fid(), 'etag1b');
  await m.putPart('u1', p1b);
  t.same(m.queuedFiles(), [(p1a.data as { file: string }).file], 're-uploading a part queues the replaced part');
  const p2 = part(2);
  const p3 = part(3);
  const p10 = part(10);
  await m.putPart('u1', p10);
  await m.putPart('u1', p3);
  await m.putPart('u1', p2);
  t.same(m.listParts('u1').map((p) => [p.n, p.etag]), [[1, 'etag1b'], [2, 'etag2'], [3, 'etag3'], [10, 'etag10']], 'parts in number order');
  t.same(m.listParts('u1', 2).map((p) => p.n), [3, 10], 'after a part-number marker');
  t.same(m.listParts('u1', 0, 2).map((p) => p.n), [1, 2], 'limit');
  t.same(m.listParts('u1', 10), []);
  // A bucket whose only content is pending uploads is deleted with them, as on S3.
  await m.createBucket('c');
  await m.createUpload(upload('c', 'k', 'uc', 1000));
  const pc = part(1);
  await m.putPart('uc', pc);
  await m.deleteBucket('c');
  t.equal(m.getBucket('c'), undefined, 'a bucket with only a pending upload is deleted');
  t.equal(m.getUpload('uc'), undefined, '… and the upload with it');
  t.same(m.listParts('uc'), [], '… and its parts');
  t.ok(m.queuedFiles().includes((pc.data as { file: string }).file), "… the part's file queued");

  // An existing object at the key, replaced by the completion.
  const oldFile = fid();
  await m.putObject('b', 'k', fileObj(oldFile));
  await m.dequeueFiles(m.queuedFiles());
  const used = [p1b, p2, p10];
  await m.completeUpload(u, obj({ parts: used, data: undefined }));
  // The part records go after the commit, a batch at a time (store-multipart.ts sweepFinished).
  await m.sweepFinishedUploads();
  t.same(m.queuedFiles().sort(), [(p3.data as { file: string }).file, oldFile].sort(), 'unused part 3 and the old object go');
  t.same(m.getObject('b', 'k')!.parts!.map((p) => p.n), [1, 2, 10]);
  t.same(m.listParts('u1'), [], 'part records removed');
  t.equal(m.getUpload('u1'), undefined);
  t.equal(await code(m.completeUpload(u, obj())), 'NoSuchUpload', 'complete twice');
  t.equal(await code(m.abortUpload('u1')), 'NoSuchUpload', 'abort after complete');
  t.same(
    [...m.referencedFiles()].sort(),
    used.map((p) => (p.data as { file: string }).file).sort(),
    'the object references exactly the used parts',
  );

  await m.dequeueFiles(m.queuedFiles());
  const v = upload('b', 'k2', 'u2', 2000);
  await m.createUpload(v);
  const q1 = part(1);
  const q2 = part(2);
  await m.putPart('u2', q1);
  await m.putPart('u2', q2);
  await m.abortUpload('u2');
  await m.sweepFinishedUploads();
  t.same(m.queuedFiles().sort(), [q1, q2].map((p) => (p.data as { file: string }).file).sort(), 'abort queues every part');
  t.equal(m.getUpload('u2'), undefined);
  t.equal(await code(m.abortUpload('u2')), 'NoSuchUpload');
  t.equal(await code(m.putPart('u2', part(3))), 'NoSuchUpload', 'no parts after abort');
});

t.test('abortUploads: many uploads in one commit, bounded by the parts it releases; gone ones skipped', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const files: Record<string, string[]> = {};
  for (const [id, parts] of [['a', 1], ['b', 3], ['c', 0], ['d', 2], ['e', 1]] as const) {
    await m.createUpload(upload('b', id, id, 1));
    files[id] = [];
    for (let n = 1; n <= parts; n++) {
      const p = part(n);
      await m.putPart(id, p);
      files[id]!.push((p.data as { file: string }).file);
    }
  }
  await m.abortUpload('b');
  const before = m.lastTxnId()!;
  // 'b' is gone already (skipped); 'c' has no part (counts as one); the batch stops after 'd',
  // whose parts bring the count past 3.
  t.same(await m.abortUploads(['a', 'b', 'c', 'd', 'e'], 3), { done: 4, aborted: 3 });
  t.equal(m.lastTxnId()! - before, 1, 'one commit');
  for (const id of ['a', 'c', 'd']) t.equal(m.getUpload(id), undefined, `${id} aborted`);
  t.ok(m.getUpload('e'), 'e is left for the next batch');
  t.same(m.listParts('d'), [], "d's parts are gone");
  const queued = new Set(m.queuedFiles());
  t.ok([...files.a!, ...files.d!].every((f) => queued.has(f)), 'their files are queued');
  t.notOk(files.e!.some((f) => queued.has(f)), "e's are not");
  t.same(await m.abortUploads(['e'], 1000), { done: 1, aborted: 1 });
});

t.test('abortUploads: inline parts count toward the batch bound like parts with files', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  // Parts of a few bytes are stored inline (no file): the commit still removes each one's record.
  for (const id of ['x', 'y', 'z']) {
    await m.createUpload(upload('b', id, id, 1));
    for (let n = 1; n <= 3; n++) await m.putPart(id, { ...part(n), data: { inline: new Uint8Array(5) } });
  }
  t.same(await m.abortUploads(['x', 'y', 'z'], 4), { done: 2, aborted: 2 }, 'stops once 4 parts are removed');
  t.ok(m.getUpload('z'), 'z is left for the next batch');
});

t.test('completeUpload refuses a part that was replaced after the parts were read', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const u = upload('b', 'k', 'u1', 1);
  await m.createUpload(u);
  const first = part(1);
  await m.putPart('u1', first);
  const seen = m.listParts('u1');
  // A concurrent UploadPart replaces part 1 (queuing its old file) before Complete commits.
  const second = part(1, fid(), 'etag1-new');
  await m.putPart('u1', second);
  t.equal(await code(m.completeUpload(u, obj({ parts: seen, data: undefined }))), 'InvalidPart');
  t.ok(m.getUpload('u1'), 'the upload stays');
  t.equal(m.getObject('b', 'k'), undefined, 'no object points at the queued file');
});

t.test('listUploads: key order then initiation order, prefix, key and upload-id markers', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await m.createBucket('c');
  const ups = [upload('b', 'a/1', 'x1', 30), upload('b', 'a/1', 'x0', 40), upload('b', 'a/2', 'x2', 10), upload('b', 'b', 'x3', 5), upload('b', 'b', 'x4', 6), upload('c', 'a/1', 'y', 1)];
  for (const u of ups) await m.createUpload(u);
  const ids = (r: { uploads: UploadRecord[] }): string[] => r.uploads.map((u) => u.id);
  const all = { prefix: '', keyMarker: '', uploadIdMarker: '', limit: 1000 };
  t.same(ids(m.listUploads('b', all)), ['x1', 'x0', 'x2', 'x3', 'x4']);
  t.same(ids(m.listUploads('b', { ...all, prefix: 'a/' })), ['x1', 'x0', 'x2']);
  t.same(ids(m.listUploads('b', { ...all, prefix: 'b' })), ['x3', 'x4']);
  t.same(ids(m.listUploads('b', { ...all, keyMarker: 'a/1' })), ['x2', 'x3', 'x4'], 'key marker alone: keys after it');
  t.same(ids(m.listUploads('b', { ...all, keyMarker: 'a/1', uploadIdMarker: 'x1' })), ['x0', 'x2', 'x3', 'x4'], 'upload-id marker: later uploads of the marker key');
  const p = m.listUploads('b', { ...all, limit: 2 });
  t.same(ids(p), ['x1', 'x0']);
  t.equal(p.isTruncated, true);
  t.equal(m.listUploads('b', { ...all, limit: 5 }).isTruncated, false);
  await m.abortUpload('x0');
  t.same(ids(m.listUploads('b', { ...all, prefix: 'a/' })), ['x1', 'x2'], 'aborted upload leaves the index');

  // Markers and prefixes compare in UTF-8 byte order, like the index (UTF-16 order differs).
  await m.createUpload(upload('c', '\uFFFD', 'fffd', 1));
  await m.createUpload(upload('c', '\u{1F600}', 'emoji', 1));
  t.same(ids(m.listUploads('c', all)), ['y', 'fffd', 'emoji']);
  t.same(ids(m.listUploads('c', { ...all, keyMarker: '\uFFFD' })), ['emoji'], 'key marker U+FFFD: U+1F600 sorts after it');
  t.same(ids(m.listUploads('c', { ...all, keyMarker: 'a/1', prefix: '\uFFFD' })), ['fffd'], 'prefix past the marker');
  t.same(ids(m.listUploads('b', { ...all, keyMarker: 'a/1', uploadIdMarker: 'x0' })), ['x1', 'x2', 'x3', 'x4'], 'an upload-id marker since aborted: the uploads of its key whose ids sort after it, then the next keys');
  t.same([...m.uploadsAfter('b', { ...all, pastPrefix: 'a/' })].map((u) => u.id), ['x3', 'x4'], 'pastPrefix: past every key starting with it');
  const before = m.uploadEntriesRead;
  t.same(ids(m.listUploads('b', { ...all, keyMarker: 'b', uploadIdMarker: 'x3' })), ['x4']);
  t.equal(m.uploadEntriesRead - before, 1, 'a page after an upload-id marker reads from the marker on, not the key\'s earlier uploads');

  // The stale-upload sweep reads the uploads a page at a time.
  const pages: string[][] = [];
  let after = '';
  for (;;) {
    const page = m.uploadsInitiatedBefore(35, after, 2);
    pages.push(page.uploads.map((u) => u.id));
    if (page.next === undefined) break;
    after = page.next;
  }
  t.same(pages.flat().sort(), ['emoji', 'fffd', 'x1', 'x2', 'x3', 'x4', 'y'], 'every upload initiated before 35 (not x0, aborted; x1 at 30 yes), across pages');
  t.ok(pages.length >= 4, `in pages of at most 2 read (${pages.length})`);
});

t.test('bucket records are cached but never stale after a bucket write', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-meta-bcache-'));
  const store = new MetaStore(dir);
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  t.equal(store.getBucket('cb'), undefined, 'absent');
  await store.createBucket('cb', 1);
  t.equal(store.getBucket('cb')?.created, 1, 'a cached miss does not hide the created bucket');
  const first = store.getBucket('cb');
  t.equal(store.getBucket('cb'), first, 'served from memory');
  await store.updateBucket('cb', (b) => ({ ...b, encryption: { algorithm: 'AES256' } as never }));
  t.same(store.getBucket('cb')?.encryption, { algorithm: 'AES256' }, 'an update is seen at once');
  await t.rejects(store.updateBucket('cb', () => {
    throw new Error('refused');
  }), /^refused$/, "the update function's own error");
  t.same(store.getBucket('cb')?.encryption, { algorithm: 'AES256' }, 'a failed update changes nothing');
  await store.deleteBucket('cb');
  t.equal(store.getBucket('cb'), undefined, 'a deleted bucket is gone at once');
  await store.createBucket('cb', 2);
  t.equal(store.getBucket('cb')?.created, 2, 're-created: the new record');
});

t.test('a bucket created again under its name is told apart, in the same millisecond and across a reopen with the clock set back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-meta-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const at = Date.now();
  let m = new MetaStore(dir);
  await m.createBucket('b', at);
  const first = m.getBucket('b')!;
  await m.deleteBucket('b');
  await m.createBucket('b', at);
  const second = m.getBucket('b')!;
  t.not(second.created, first.created, 'same millisecond, same process: another `created`');
  t.notOk(sameBucket(first, second), 'sameBucket tells them apart');
  await m.close();
  m = new MetaStore(dir);
  t.teardown(() => m.close());
  await m.deleteBucket('b');
  await m.createBucket('b', at - 60_000); // the clock went back a minute across the restart
  const third = m.getBucket('b')!;
  t.ok(third.created > second.created, `after a reopen it is later than every bucket the store held (${third.created} > ${second.created})`);
  t.ok(sameBucket(third, m.getBucket('b')!), 'and the same record is the same bucket');
});

t.test('stats().entries counts records, each once: a multipart upload is one (its index entry is no record)', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await m.putObject('b', 'k', obj());
  t.equal(m.stats().entries, 2, 'the bucket and the object');
  await m.createUpload(upload('b', 'k', 'u1', 1000));
  t.equal(m.stats().entries, 3, 'and the upload');
  await m.putPart('u1', part(1));
  t.equal(m.stats().entries, 4, 'and its part');
});

t.test('a mutation that throws after it wrote leaves nothing of it, alone or batched with others into one commit', async (t) => {
  // lmdb-js runs the transactions queued together in one LMDB transaction; a callback that threw
  // after its writes left them in the shared commit. Each runs as a child transaction now.
  const m = openStore(t);
  await m.createBucket('b');
  const fx = fid();
  await m.putObject('b', 'x', fileObj(fx));
  await m.putObject('b', 'y', obj());
  const boom = (): never => {
    throw new Error('hook failed');
  };
  // DeleteObjects' in-transaction hook runs after its deletes are written.
  t.equal(await code(m.deleteObjects('b', [{ key: 'x' }], boom)), 'hook failed', 'alone: the hook\u2019s error');
  t.ok(m.getObject('b', 'x'), 'alone: the object is still there');
  t.same(m.queuedFiles(), [], 'and its file not queued for deletion');
  // Batched: queued in one turn, so lmdb-js runs them in one transaction.
  const [failed, ok, put] = await Promise.all([code(m.deleteObjects('b', [{ key: 'x' }], boom)), code(m.deleteObjects('b', [{ key: 'y' }])), code(m.putObject('b', 'z', obj()))]);
  t.same([failed, ok, put], ['hook failed', 'ok', 'ok']);
  t.ok(m.getObject('b', 'x'), 'batched: the failed delete left the object');
  t.same(m.queuedFiles(), [], 'and queued nothing');
  t.equal(m.getObject('b', 'y'), undefined, 'the others in its commit took effect');
  t.ok(m.getObject('b', 'z'));
});
