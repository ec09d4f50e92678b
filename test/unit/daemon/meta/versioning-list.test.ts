// Bucket versioning in the MetaStore over a real LMDB in a temp dir, checked against S3's rules:
// ListObjectVersions (listVersions) order, isLatest, markers, prefixes, delimiters and paging, with
// versions deleted between pages. What writes and deletes do to versions:
// versioning-writes.test.ts.

import t from 'tap';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { clientVersionId } from '../../../../daemon/meta/versions.js';
import { ids, obj, openStore, show, versioned } from '../../../helpers/meta-versions.js';

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

// ---------------------------------------------------------------------------------------------

t.test('listVersions: key byte order, newest first, isLatest, markers, prefix and delimiter', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  // A neighbouring bucket whose name extends "b" must not leak into the listing.
  await versioned(m, 'b2', 'Enabled');
  await m.putObject('b2', 'a', obj());
  await m.deleteObject('b2', 'zz');

  /** key → ids newest first, as S3 must list them (the model). */
  const model = new Map<string, Array<{ id: string; marker: boolean }>>();
  const put = async (key: string): Promise<void> => {
    const s = await m.putObject('b', key, obj());
    model.set(key, [{ id: s.versionId!, marker: false }, ...(model.get(key) ?? [])]);
  };
  const del = async (key: string): Promise<void> => {
    const s = (await m.deleteObject('b', key)).marker!;
    model.set(key, [{ id: s.versionId!, marker: true }, ...(model.get(key) ?? [])]);
  };
  const keys = ['a', 'B', 'é', '\u{1F600}', '\uFFFD', 'a/b', 'a/c', 'a/b/c', 'a b', 'b', 'c/d', 'z'];
  // Interleave writes so that versions of one key are not written together.
  for (let round = 0; round < 3; round++) {
    for (const [i, k] of keys.entries()) {
      if ((i + round) % 4 === 3) await del(k);
      else if (round === 0 || (i + round) % 3 !== 0) await put(k);
    }
  }
  await del('only-marker');

  const expected = (filter: (k: string) => boolean): string[] =>
    [...model.keys()]
      .filter(filter)
      .sort(utf8Order)
      .flatMap((k) => model.get(k)!.map((v, i) => `${k}|${v.id}|${i === 0 ? 'L' : '-'}|${v.marker ? 'M' : 'O'}`));

  const all = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 });
  t.same(all.entries.map(show), expected(() => true), 'every version of every key: keys in UTF-8 byte order, newest first, only the newest latest');
  t.equal(all.isTruncated, false);
  t.same(all.commonPrefixes, []);
  const keysListed = [...new Set(all.entries.map((e) => e.key))];
  t.same(keysListed.slice(-2), ['\uFFFD', '\u{1F600}'], 'U+FFFD sorts before U+1F600 (UTF-8, not UTF-16, order)');
  t.ok(all.entries.some((e) => e.key === 'only-marker' && e.isLatest && e.record.deleteMarker), 'a key with only a delete marker is listed');
  t.ok(all.entries.some((e) => e.record.deleteMarker && !e.isLatest), 'noncurrent delete markers are listed');
  t.ok(all.entries.some((e) => e.record.deleteMarker && e.isLatest && e.key !== 'only-marker'), 'latest delete markers over versions are listed');
  const last = all.entries[all.entries.length - 1]!;
  t.equal(all.nextKey, last.key, 'nextKey is the last key listed');
  t.equal(all.nextVersionId, clientVersionId(last.record));
  // Every listed record is the one getVersion gives.
  let agree = true;
  for (const e of all.entries) {
    const g = m.getVersion('b', e.key, clientVersionId(e.record));
    if (g === undefined || g.isLatest !== e.isLatest || g.record.vs !== e.record.vs) agree = false;
  }
  t.ok(agree, 'getVersion agrees with the listing on every entry (record and isLatest)');

  const pre = m.listVersions('b', { prefix: 'a/', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 });
  t.same(pre.entries.map(show), expected((k) => k.startsWith('a/')), 'prefix a/');
  t.same(pre.commonPrefixes, []);

  const delim = m.listVersions('b', { prefix: '', delimiter: '/', keyMarker: '', versionIdMarker: '', maxKeys: 1000 });
  t.same(delim.entries.map(show), expected((k) => !k.includes('/')), 'delimiter: keys without it are listed');
  t.same(delim.commonPrefixes, ['a/', 'c/'], 'keys with it roll up into common prefixes');

  const pd = m.listVersions('b', { prefix: 'a', delimiter: '/', keyMarker: '', versionIdMarker: '', maxKeys: 1000 });
  t.same(pd.entries.map(show), expected((k) => k.startsWith('a') && !k.slice(1).includes('/')), 'prefix a + delimiter /');
  t.same(pd.commonPrefixes, ['a/']);

  const pd2 = m.listVersions('b', { prefix: 'a/', delimiter: '/', keyMarker: '', versionIdMarker: '', maxKeys: 1000 });
  t.same(pd2.entries.map(show), expected((k) => k === 'a/b' || k === 'a/c'));
  t.same(pd2.commonPrefixes, ['a/b/']);

  const none = m.listVersions('b', { prefix: 'nothing', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 });
  t.same(none.entries, []);
  t.equal(none.isTruncated, false);

  // A key marker alone starts after every version of that key.
  const afterKey = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: 'a/b', versionIdMarker: '', maxKeys: 1000 });
  t.same(afterKey.entries.map(show), expected((k) => utf8Order(k, 'a/b') > 0), 'keyMarker without versionIdMarker: strictly after the key');
  // A key marker that is no key.
  const between = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: 'a/bb', versionIdMarker: '', maxKeys: 1000 });
  t.same(between.entries.map(show), expected((k) => utf8Order(k, 'a/bb') > 0));
  // Key and version markers: the versions of that key older than the marker, then later keys.
  const ab = model.get('a/b')!;
  const mid = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: 'a/b', versionIdMarker: ab[0]!.id, maxKeys: 1000 });
  t.same(mid.entries.map(show), expected((k) => utf8Order(k, 'a/b') >= 0).slice(1), 'versionIdMarker: the versions after it');
});

/** Every entry of a listing paged by nextKey / nextVersionId, with the checks each page must pass. */
function pageVersions(m: MetaStore, bucket: string, prefix: string, delimiter: string, maxKeys: number): { items: string[]; pages: number; splits: number; problems: string[] } {
  const items: string[] = [];
  const problems: string[] = [];
  let keyMarker = '';
  let versionIdMarker = '';
  let pages = 0;
  let splits = 0;
  let lastKey: string | undefined;
  for (;;) {
    pages++;
    if (pages > 1000) {
      problems.push('listing does not terminate');
      break;
    }
    const r = m.listVersions(bucket, { prefix, delimiter, keyMarker, versionIdMarker, maxKeys });
    const page = [...r.entries.map((e) => ({ name: e.key, s: show(e) })), ...r.commonPrefixes.map((p) => ({ name: p, s: `P:${p}` }))].sort((a, b) => utf8Order(a.name, b.name));
    if (page.length > maxKeys) problems.push(`page ${pages}: ${page.length} items > ${maxKeys}`);
    if (r.isTruncated && page.length !== maxKeys) problems.push(`page ${pages}: truncated but only ${page.length} of ${maxKeys}`);
    if (page.length > 0 && page[0]!.name === lastKey && !page[0]!.s.startsWith('P:')) splits++;
    items.push(...page.map((p) => p.s));
    if (!r.isTruncated) break;
    if (r.nextKey === undefined) {
      problems.push(`page ${pages}: truncated without nextKey`);
      break;
    }
    const lastItem = page[page.length - 1]!;
    if (r.nextKey !== lastItem.name) problems.push(`page ${pages}: nextKey ${r.nextKey} is not the last item ${lastItem.name}`);
    lastKey = r.nextKey;
    keyMarker = r.nextKey;
    versionIdMarker = r.nextVersionId ?? '';
  }
  return { items, pages, splits, problems };
}

t.test('listVersions paging: every page size yields every version exactly once, in order', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  const keys = ['a', 'a/1', 'a/2', 'a/x/1', 'b', 'c/1', 'c/2', 'd', 'é', '\uFFFD', '\u{1F600}', 'z'];
  // 1 to 5 versions per key, with markers between.
  for (const [i, k] of keys.entries()) {
    const n = (i % 5) + 1;
    for (let j = 0; j < n; j++) {
      if ((i + j) % 3 === 2) await m.deleteObject('b', k);
      else await m.putObject('b', k, obj());
    }
  }
  // A key with a null version in the middle of its versions.
  await m.putObject('b', 'n', obj());
  await versioned(m, 'b', 'Suspended');
  await m.putObject('b', 'n', obj());
  await versioned(m, 'b', 'Enabled');
  await m.putObject('b', 'n', obj());
  t.same(ids(m, 'b', 'n')[1], 'null');

  for (const [prefix, delimiter] of [['', ''], ['', '/'], ['a', ''], ['a/', '/'], ['c', '/']] as const) {
    const big = m.listVersions('b', { prefix, delimiter, keyMarker: '', versionIdMarker: '', maxKeys: 1000 });
    const want = [...big.entries.map((e) => ({ name: e.key, s: show(e) })), ...big.commonPrefixes.map((p) => ({ name: p, s: `P:${p}` }))]
      .sort((a, b) => utf8Order(a.name, b.name))
      .map((p) => p.s);
    t.equal(new Set(want).size, want.length, `prefix=${JSON.stringify(prefix)} delimiter=${JSON.stringify(delimiter)}: the one big page has no duplicates`);
    if (prefix === '' && delimiter === '') {
      const count = keys.reduce((n, k) => n + m.keyVersions('b', k).length, 0) + m.keyVersions('b', 'n').length;
      t.equal(want.length, count, 'the big page holds every version of every key');
    }
    for (const size of [1, 2, 3, 7, 1000]) {
      const got = pageVersions(m, 'b', prefix, delimiter, size);
      const label = `prefix=${JSON.stringify(prefix)} delimiter=${JSON.stringify(delimiter)} size=${size}`;
      t.same(got.problems, [], `${label}: pages are well formed`);
      t.same(got.items, want, `${label}: the same entries in the same order as one page`);
      t.equal(got.pages, Math.max(1, Math.ceil(want.length / size)), `${label}: full pages`);
      if (prefix === '' && delimiter === '' && size < 1000) t.ok(got.splits > 0, `${label}: some pages split one key's versions`);
    }
  }
});

t.test('listVersions paging: a versionIdMarker whose version was deleted between pages', async (t) => {
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  const k: string[] = [];
  for (let i = 0; i < 5; i++) k.unshift((await m.putObject('b', 'k', obj())).versionId!);
  const l: string[] = [];
  for (let i = 0; i < 2; i++) l.unshift((await m.putObject('b', 'l', obj())).versionId!);
  // k: k[0] newest … k[4] oldest.
  const p1 = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 2 });
  t.same(p1.entries.map((e) => clientVersionId(e.record)), [k[0], k[1]]);
  t.equal(p1.nextKey, 'k');
  t.equal(p1.nextVersionId, k[1]);
  await m.deleteObject('b', 'k', undefined, k[1]);
  const p2 = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: 'k', versionIdMarker: k[1]!, maxKeys: 2 });
  t.same(p2.entries.map((e) => `${e.key}:${clientVersionId(e.record)}`), [`k:${k[2]}`, `k:${k[3]}`], 'the next page continues with the versions older than the deleted marker');
  // The marker and the version after it both deleted.
  await m.deleteObject('b', 'k', undefined, k[3]);
  await m.deleteObject('b', 'k', undefined, k[2]);
  const p3 = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: 'k', versionIdMarker: k[3]!, maxKeys: 2 });
  t.same(p3.entries.map((e) => `${e.key}:${clientVersionId(e.record)}`), [`k:${k[4]}`, `l:${l[0]}`], 'older versions of the key, then the next key');
  // The marker was the oldest version of its key.
  await m.deleteObject('b', 'k', undefined, k[4]);
  const p4 = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: 'k', versionIdMarker: k[4]!, maxKeys: 5 });
  t.same(p4.entries.map((e) => `${e.key}:${clientVersionId(e.record)}`), [`l:${l[0]}`, `l:${l[1]}`], 'the next key follows');
  // A newer version added between pages is not listed after the marker.
  const fresh = await m.putObject('b', 'k', obj());
  const p5 = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: 'k', versionIdMarker: k[1]!, maxKeys: 5 });
  t.notOk(p5.entries.some((e) => e.record.versionId === fresh.versionId), 'a version newer than the marker is not listed after it');
  t.same(p5.entries.map((e) => `${e.key}:${clientVersionId(e.record)}`), [`l:${l[0]}`, `l:${l[1]}`]);
  // All versions of the marker's key gone.
  await m.deleteObject('b', 'k', undefined, fresh.versionId);
  await m.deleteObject('b', 'k', undefined, k[0]);
  t.same(ids(m, 'b', 'k'), []);
  const p6 = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: 'k', versionIdMarker: k[0]!, maxKeys: 5 });
  t.same(p6.entries.map((e) => e.key), ['l', 'l'], 'the key is gone: the next key follows');
});

// A page that ends at the null version, which is then deleted: its id carries no stamp, but the
// store kept where it sat (null-index.ts goneAt), so the next page goes on with the versions older
// than it, as S3 goes on after a version-id marker deleted between pages.
t.test(
  "listVersions paging: a 'null' versionIdMarker whose null version was deleted between pages",
  async (t) => {
    const m = openStore(t);
    await versioned(m, 'b', 'Enabled');
    const v1 = await m.putObject('b', 'k', obj());
    await versioned(m, 'b', 'Suspended');
    await m.putObject('b', 'k', obj());
    await versioned(m, 'b', 'Enabled');
    const v3 = await m.putObject('b', 'k', obj());
    await m.putObject('b', 'l', obj());
    t.same(ids(m, 'b', 'k'), [v3.versionId, 'null', v1.versionId]);
    const p1 = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 2 });
    t.equal(p1.nextVersionId, 'null', 'the first page ends at the null version');
    await m.deleteObject('b', 'k', undefined, 'null');
    const p2 = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: 'k', versionIdMarker: 'null', maxKeys: 3 });
    t.same(p2.entries.map((e) => `${e.key}:${clientVersionId(e.record)}`), [`k:${v1.versionId}`, 'l:' + clientVersionId(m.getObject('b', 'l')!)], 'the versions older than the null version, then the next key: v3 is not listed again');
  },
);


t.test('listVersions: a key that another extends by a low byte lists in byte order beside its versions', async (t) => {
  // The page merges the objects table (`bucket NUL key`) with the versions table (`bucket NUL key
  // NUL stamp id`): `a`'s versions sort before `a\x01`'s object, which sorts before its versions.
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  const keys = ['a', 'a\x01', 'a\x01b', 'a b', 'a\x01\x01', 'b'];
  await m.putObject('b', 'a', obj());
  await m.deleteObject('b', 'a'); // versions only: a marker is the latest
  await m.putObject('b', 'a\x01', obj());
  await m.putObject('b', 'a\x01', obj()); // a current object over a version
  await m.putObject('b', 'a\x01b', obj()); // a current object alone
  await m.deleteObject('b', 'a b'); // a lone marker
  await m.putObject('b', 'a\x01\x01', obj());
  await m.deleteObject('b', 'a\x01\x01');
  await m.putObject('b', 'a\x01\x01', obj()); // current over a marker over a version
  await m.putObject('b', 'b', obj());
  const want = [...keys].sort(utf8Order).flatMap((k) => m.keyVersions('b', k).map((v, i) => show({ key: k, record: v.record, isLatest: i === 0 })));
  t.equal(want.length, 10);
  const all = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 });
  t.same(all.entries.map(show), want, 'one page: byte order, each key newest first, its first entry latest');
  for (const size of [1, 2, 3]) t.same(pageVersions(m, 'b', '', '', size).items, want, `pages of ${size}`);
  t.same(pageVersions(m, 'b', 'a\x01', '', 2).items, want.filter((s) => s.startsWith('a\x01')), 'under a prefix');
});

t.test('listVersions: a page that stops inside its scan leaves no read snapshot pinned', async (t) => {
  // lmdb-js keeps an abandoned range's cursor, and the read transaction under it, open until the
  // garbage collector finds it: LMDB could not reuse the pages freed since (the file grows).
  const m = openStore(t);
  await versioned(m, 'b', 'Enabled');
  for (const k of ['a', 'b', 'c/1', 'c/2', 'd', 'e']) {
    await m.putObject('b', k, obj());
    await m.putObject('b', k, obj());
  }
  const root = (m as unknown as { root: { readerList(): string } }).root;
  const pinned = (): number => root.readerList().split('\n').filter((l) => /\s\d+\s*$/.test(l)).length;
  const first = m.listVersions('b', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 3 });
  const pages = [
    { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 3 }, // truncated inside a key
    { prefix: '', delimiter: '/', keyMarker: '', versionIdMarker: '', maxKeys: 1000 }, // seeks past c/
    { prefix: 'a', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 }, // stops past the prefix
    { prefix: '', delimiter: '', keyMarker: first.nextKey!, versionIdMarker: first.nextVersionId!, maxKeys: 1000 }, // the marker's key apart
  ];
  for (const opts of pages) {
    m.listVersions('b', opts);
    // A later turn and a commit: lmdb-js then lets go of the read transaction unless a cursor holds it.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await m.putObject('b', 'z', obj());
    await new Promise((resolve) => setTimeout(resolve, 5));
    t.equal(pinned(), 0, `no reader holds a snapshot after ${JSON.stringify(opts)}`);
  }
});
