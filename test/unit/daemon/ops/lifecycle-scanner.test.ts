// ops/lifecycle-scanner.ts over a real MetaStore (LMDB in a temp dir), scanning at chosen clocks
// (scan(now)): in versioned buckets (Enabled and Suspended) noncurrent versions and markers past
// NoncurrentDays are removed for good, NewerNoncurrentVersions kept, their data files queued for
// deletion; a lone latest delete marker goes under ExpiredObjectDeleteMarker; Expiration on a
// versioned bucket adds one delete marker, and no second one at later scans; unversioned buckets
// keep their objects under noncurrent rules; a key with more versions than a listing page is judged
// whole (the page cut falls inside it), and the keys around it too. Each page is judged by the
// bucket as it is then: not by a deleted bucket's rules (one created again under its name), nor
// by rules removed since the pass began. A tag removal or a rule change committed after a page was
// read but before its deletes is judged in their commit: it keeps what it no longer selects; so
// are upload aborts, each in its own commit.
import t, { type Test } from 'tap';
import type { Logger } from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { parseLifecycle } from '../../../../daemon/ops/lifecycle.js';
import { LifecycleScanner } from '../../../../daemon/ops/lifecycle-scanner.js';
import { clientVersionId } from '../../../../daemon/meta/versions.js';
import { decodedBytes } from '../../../helpers/meta-decoded.js';

const DAY = 86_400_000;
const log = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

let fileSeq = 0;
function fid(): string {
  return (++fileSeq).toString(16).padStart(32, '0');
}

function obj(mtime: number, over: Partial<ObjectRecord> = {}): ObjectRecord {
  return { v: RECORD_VERSION, size: 1, etag: `e${mtime}`, mtime, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1, ...over };
}

function openStore(t: Test): MetaStore {
  const dir = mkdtempSync(join(tmpdir(), 's3d-lcscan-'));
  const m = new MetaStore(dir);
  t.teardown(async () => {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return m;
}

const rules = (...inner: string[]): ReturnType<typeof parseLifecycle> =>
  parseLifecycle(Buffer.from(`<LifecycleConfiguration>${inner.map((r) => `<Rule>${r}</Rule>`).join('')}</LifecycleConfiguration>`));

async function bucket(m: MetaStore, name: string, versioning: 'Enabled' | 'Suspended' | undefined, lifecycle: ReturnType<typeof parseLifecycle>): Promise<void> {
  await m.createBucket(name);
  await m.updateBucket(name, (b) => ({ ...b, ...(versioning ? { versioning: 'Enabled' as const } : {}), lifecycle }));
  if (versioning === 'Suspended') await m.updateBucket(name, (b) => ({ ...b, versioning: 'Suspended' }));
}

/** What is left of a key: `V<mtime offset in days>` for a version, `DM` for a marker, newest first. */
function left(m: MetaStore, b: string, key: string, base: number): string[] {
  return m.keyVersions(b, key).map((v) => (v.record.deleteMarker ? 'DM' : `V${Math.round((v.record.mtime - base) / DAY)}`));
}

t.test('noncurrent versions and markers go NoncurrentDays after their successor, the newest kept', async (t) => {
  const m = openStore(t);
  const now = Date.now();
  const base = now - 100 * DAY;
  await bucket(
    m,
    'vb',
    'Enabled',
    rules(
      '<ID>nc</ID><Filter><Prefix>nc/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>10</NoncurrentDays></NoncurrentVersionExpiration>',
      '<ID>keep</ID><Filter><Prefix>keep/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>',
      '<ID>dm</ID><Filter><Prefix>dm/</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>',
    ),
  );
  const f1 = fid();
  // nc/a: written at base+0 (a data file), +20, +30, +95: noncurrent since +20, +30 and +95.
  await m.putObject('vb', 'nc/a', obj(base, { data: { file: f1 } }));
  for (const d of [20, 30, 95]) await m.putObject('vb', 'nc/a', obj(base + d * DAY));
  // keep/a: six versions a day apart; keep/b: a marker among them.
  for (let d = 0; d < 6; d++) await m.putObject('vb', 'keep/a', obj(base + d * DAY));
  await m.putObject('vb', 'keep/b', obj(base));
  await m.putObject('vb', 'keep/b', obj(base + DAY));
  await m.deleteObject('vb', 'keep/b'); // a marker written now
  await m.putObject('vb', 'keep/b', obj(now + 1));
  // dm/lone: only a marker left; dm/two: a marker over a version; other/a: no rule.
  await m.putObject('vb', 'dm/lone', obj(base));
  const v = m.keyVersions('vb', 'dm/lone')[0]!.record.versionId!;
  await m.deleteObject('vb', 'dm/lone');
  await m.deleteObject('vb', 'dm/lone', undefined, v);
  await m.putObject('vb', 'dm/two', obj(base));
  await m.deleteObject('vb', 'dm/two');
  for (const d of [0, 1]) await m.putObject('vb', 'other/a', obj(base + d * DAY));
  t.same(left(m, 'vb', 'dm/lone', base), ['DM'], 'set up: a lone marker');

  const scanner = new LifecycleScanner(m, log, 3_600_000);
  // At base + 45 days: the versions noncurrent since +20 and +30 are past 10 days (due at the
  // midnights after +30 and +40), the one noncurrent since +95 is not.
  const r1 = await scanner.scan(base + 45 * DAY);
  t.same(left(m, 'vb', 'nc/a', base), ['V95', 'V30'], 'nc/a: the two noncurrent for more than 10 days went, the one noncurrent since +95 stayed');
  t.ok(m.queuedFiles().includes(f1), "the removed version's data file is queued for deletion");
  t.same(left(m, 'vb', 'keep/a', base), ['V5', 'V4', 'V3'], 'keep/a: the two newest noncurrent versions kept, three older removed');
  t.same(left(m, 'vb', 'dm/lone', base), [], 'dm/lone: the lone marker is gone');
  t.same(left(m, 'vb', 'dm/two', base), ['DM', 'V0'], 'dm/two: a marker over a version stays');
  t.same(left(m, 'vb', 'other/a', base), ['V1', 'V0'], 'other/a: no rule, nothing removed');
  t.same(r1, { expired: 0, versions: 2 + 3 + 1 + 1, aborted: 0 }, 'the scan counts the removed versions');
  // keep/b: [current, marker, V1, V0]: V0 is the third-newest noncurrent version, noncurrent since +1.
  t.same(left(m, 'vb', 'keep/b', base), ['V100', 'DM', 'V1'], 'keep/b: the marker counts among the two kept');

  // Far later everything noncurrent outside the kept ones goes, markers included.
  await scanner.scan(now + 200 * DAY);
  t.same(left(m, 'vb', 'nc/a', base), ['V95'], 'nc/a: only the current version is left');
  t.same(left(m, 'vb', 'keep/b', base), ['V100', 'DM', 'V1'], 'keep/b: still two kept');
  t.same(scanner.totals, { expired: 0, versions: 8, aborted: 0 }, 'totals add up');
});

t.test('Suspended buckets too; unversioned buckets keep their objects; one marker per expiry', async (t) => {
  const m = openStore(t);
  const now = Date.now();
  const base = now - 100 * DAY;
  const nc1 = rules('<ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>');
  await m.createBucket('sb');
  await m.updateBucket('sb', (b) => ({ ...b, versioning: 'Enabled', lifecycle: nc1 }));
  await m.putObject('sb', 'k', obj(base));
  await m.putObject('sb', 'k', obj(base + DAY));
  await m.updateBucket('sb', (b) => ({ ...b, versioning: 'Suspended' }));
  await m.putObject('sb', 'k', obj(base + 2 * DAY));
  t.same(m.keyVersions('sb', 'k').map((v) => v.record.versionId === undefined), [true, false, false], 'set up: a null version over two');

  await bucket(m, 'ub', undefined, nc1);
  await m.putObject('ub', 'k', obj(base));
  await m.putObject('ub', 'k', obj(base + DAY));

  await bucket(m, 'eb', 'Enabled', rules('<ID>exp</ID><Filter><Prefix>exp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'));
  await m.putObject('eb', 'exp/a', obj(base));
  await m.putObject('eb', 'exp/b', obj(base));
  await m.deleteObject('eb', 'exp/b');
  const markerB = m.keyVersions('eb', 'exp/b')[0]!.record.versionId;

  const scanner = new LifecycleScanner(m, log, 3_600_000);
  const r = await scanner.scan(now + 10 * DAY);
  t.same(left(m, 'sb', 'k', base), ['V2'], 'Suspended: the noncurrent versions went, the null version stays');
  t.same(left(m, 'ub', 'k', base), ['V1'], 'unversioned: the object stays');
  t.same(left(m, 'eb', 'exp/a', base), ['DM', 'V0'], 'Expiration on a versioned bucket puts a marker on the current version');
  t.same(left(m, 'eb', 'exp/b', base), ['DM', 'V0'], 'a key whose latest is a marker gets no second one');
  t.equal(m.keyVersions('eb', 'exp/b')[0]!.record.versionId, markerB, 'the same marker');
  t.same(r, { expired: 1, versions: 2, aborted: 0 });
  const again = await scanner.scan(now + 20 * DAY);
  t.same(left(m, 'eb', 'exp/a', base), ['DM', 'V0'], 'no second marker at a later scan');
  t.same(again, { expired: 0, versions: 0, aborted: 0 }, 'a later scan has nothing to do');
});

t.test('a key with more versions than a listing page is judged whole', async (t) => {
  const m = openStore(t);
  const now = Date.now();
  const base = now - 100 * DAY;
  await bucket(m, 'pb', 'Enabled', rules('<ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration>'));
  for (let i = 0; i < 3; i++) await m.putObject('pb', 'a/0', obj(base + i));
  // 1200 versions: the first page (1000 entries) holds a/0's three and 997 of these.
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < 1200; i++) writes.push(m.putObject('pb', 'a/many', obj(base + i)));
  await Promise.all(writes);
  for (let i = 0; i < 3; i++) await m.putObject('pb', 'z/1', obj(base + i));
  t.equal(m.keyVersions('pb', 'a/many').length, 1200, 'set up');
  const first = m.listVersions('pb', { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 });
  t.ok(first.isTruncated && first.nextKey === 'a/many', 'set up: the first page ends inside a/many');

  const r = await new LifecycleScanner(m, log, 3_600_000).scan(now + 10 * DAY);
  t.equal(m.keyVersions('pb', 'a/many').length, 2, 'a/many: the current version and the one kept');
  t.equal(m.keyVersions('pb', 'a/0').length, 2, 'the key before the cut');
  t.equal(m.keyVersions('pb', 'z/1').length, 2, 'the key after it');
  t.equal(r.versions, 1198 + 1 + 1, 'the scan counts every removed version');
});

t.test('AbortIncompleteMultipartUpload aborts the old uploads of the rule\'s bucket and prefix only', async (t) => {
  const m = openStore(t);
  const now = Date.now();
  await bucket(m, 'ab', undefined, rules('<ID>a</ID><Status>Enabled</Status><Filter><Prefix>tmp/</Prefix></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>'));
  await bucket(m, 'other', undefined, []);
  const up = (id: string, b: string, key: string, ageDays: number) => m.createUpload({ v: RECORD_VERSION, id, bucket: b, key, initiated: now - ageDays * DAY, headers: {}, userMeta: {} });
  await up('old-tmp', 'ab', 'tmp/a', 5);
  await up('old-tmp-2', 'ab', 'tmp/b', 3);
  await up('young-tmp', 'ab', 'tmp/c', 1);
  await up('old-keep', 'ab', 'keep/a', 5);
  await up('old-other', 'other', 'tmp/a', 5);
  const scanner = new LifecycleScanner(m, log, 3_600_000);
  const r = await scanner.scan(now);
  t.equal(r.aborted, 2, 'two uploads aborted');
  for (const id of ['old-tmp', 'old-tmp-2']) t.equal(m.getUpload(id), undefined, `${id} is gone`);
  for (const id of ['young-tmp', 'old-keep', 'old-other']) t.ok(m.getUpload(id), `${id} stays (too young, another prefix, another bucket)`);
  t.same((await scanner.scan(now)).aborted, 0, 'a second scan has nothing to abort');
});

/** `m` as a pass that started earlier sees it: its bucket list is the snapshot taken then. */
function passStartedWith(m: MetaStore, snapshot: ReturnType<MetaStore['listBuckets']>): MetaStore {
  return new Proxy(m, {
    get(target, prop) {
      if (prop === 'listBuckets') return () => snapshot;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

t.test('a pass judges each page by the bucket as it is now: never by a deleted bucket\'s rules, nor by rules since removed', async (t) => {
  const m = openStore(t);
  const now = Date.now();
  const expireAll = rules('<ID>all</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Date>2020-01-01T00:00:00Z</Date></Expiration>');
  await bucket(m, 'zzz', undefined, expireAll);
  const snapshot = m.listBuckets();
  // Deleted and created again under its name (in the same millisecond: still another bucket), without rules.
  await m.deleteBucket('zzz');
  await m.createBucket('zzz', snapshot[0]!.created);
  t.not(m.getBucket('zzz')!.created, snapshot[0]!.created, 'the new bucket is told from the old one');
  await m.putObject('zzz', 'victim', obj(now - 10 * DAY));
  const r = await new LifecycleScanner(passStartedWith(m, snapshot), log, 3_600_000).scan(now);
  t.equal(r.expired, 0, 'the old bucket\'s rule expired nothing in the new one');
  t.ok(m.getObject('zzz', 'victim'), 'the new bucket\'s object is there');

  // The same bucket, its rules removed after the pass started: nothing expires either.
  await m.updateBucket('zzz', (b) => ({ ...b, lifecycle: expireAll }));
  const withRules = m.listBuckets();
  await m.updateBucket('zzz', ({ lifecycle: _l, ...b }) => b);
  t.equal((await new LifecycleScanner(passStartedWith(m, withRules), log, 3_600_000).scan(now)).expired, 0, 'rules removed during the pass apply no more');
  t.ok(m.getObject('zzz', 'victim'), 'the object is still there');

  // Control: the rules on the bucket as it is expire the object.
  await m.updateBucket('zzz', (b) => ({ ...b, lifecycle: expireAll }));
  t.equal((await new LifecycleScanner(m, log, 3_600_000).scan(now)).expired, 1, 'with the rule in place the object expires');
  t.notOk(m.getObject('zzz', 'victim'), 'and is gone');
});

t.test('a change committed between a page\'s look and its deletes is judged: tags removed or rules narrowed keep the object', async (t) => {
  const m = openStore(t);
  const now = Date.now();
  const base = now - 100 * DAY;
  const tagRule = '<ID>t</ID><Filter><Tag><Key>expire</Key><Value>yes</Value></Tag></Filter><Status>Enabled</Status>';
  await bucket(m, 'ub', undefined, rules(`${tagRule}<Expiration><Days>1</Days></Expiration>`));
  await m.putObject('ub', 'tagged', obj(base, { tags: [['expire', 'yes']] }));
  // The tag removal is queued before the pass reads the page, and commits before its deletes.
  const untag = m.updateObject('ub', 'tagged', (r) => ({ ...r, tags: [] }));
  const r1 = await new LifecycleScanner(m, log, 3_600_000).scan(now);
  await untag;
  t.equal(r1.expired, 0, 'the object whose tag was removed is not expired');
  t.ok(m.getObject('ub', 'tagged'), 'and is still there');

  // The rules narrowed to another prefix, committed between the look and the deletes.
  await m.updateBucket('ub', (b) => ({ ...b, lifecycle: rules('<ID>all</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>') }));
  const narrow = m.updateBucket('ub', (b) => ({ ...b, lifecycle: rules('<ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>') }));
  const r2 = await new LifecycleScanner(m, log, 3_600_000).scan(now);
  await narrow;
  t.equal(r2.expired, 0, 'nothing outside the narrowed rule is expired');
  t.ok(m.getObject('ub', 'tagged'), 'the object is still there');

  // A noncurrent version whose tag is removed meanwhile stays too.
  await bucket(m, 'vb', 'Enabled', rules(`${tagRule}<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`));
  const old = await m.putObject('vb', 'k', obj(base, { tags: [['expire', 'yes']] }));
  await m.putObject('vb', 'k', obj(base + DAY));
  const untagVersion = m.updateObject('vb', 'k', (r) => ({ ...r, tags: [] }), clientVersionId(old));
  const r3 = await new LifecycleScanner(m, log, 3_600_000).scan(now);
  await untagVersion;
  t.equal(r3.versions, 0, 'the noncurrent version whose tag was removed is not removed');
  t.same(left(m, 'vb', 'k', base), ['V1', 'V0'], 'both versions are there');

  // Control: untagged by a commit before the pass looks, or still tagged, the rules act as they say.
  await m.updateObject('vb', 'k', (r) => ({ ...r, tags: [['expire', 'yes']] }), clientVersionId(old));
  t.equal((await new LifecycleScanner(m, log, 3_600_000).scan(now)).versions, 1, 'the tagged noncurrent version goes');
  await m.updateObject('ub', 'tagged', (r) => ({ ...r, tags: [['expire', 'yes']] }));
  await m.updateBucket('ub', (b) => ({ ...b, lifecycle: rules(`${tagRule}<Expiration><Days>1</Days></Expiration>`) }));
  t.equal((await new LifecycleScanner(m, log, 3_600_000).scan(now)).expired, 1, 'the tagged object expires');
});

t.test('uploads are judged in the commit of their abort: a rule removed while a page is aborted aborts no more', async (t) => {
  const m = openStore(t);
  const now = Date.now();
  await bucket(m, 'ab', undefined, rules('<ID>a</ID><Status>Enabled</Status><Filter><Prefix></Prefix></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>'));
  for (const id of ['u1', 'u2', 'u3', 'u4']) await m.createUpload({ v: RECORD_VERSION, id, bucket: 'ab', key: `k/${id}`, initiated: now - 5 * DAY, headers: {}, userMeta: {} });
  // The pass starts aborting the page; the configuration's removal commits behind its first abort.
  const scan = new LifecycleScanner(m, log, 3_600_000).scan(now);
  const removal = m.updateBucket('ab', ({ lifecycle: _l, ...b }) => b);
  const r = await scan;
  await removal;
  t.ok(r.aborted <= 1, `at most the abort committed before the removal (${r.aborted})`);
  t.equal(['u1', 'u2', 'u3', 'u4'].filter((id) => m.getUpload(id) !== undefined).length, 4 - r.aborted, 'the uploads after it are kept');
});

t.test('a pass that fails part-way counts what it did before the failure (metrics stay true)', async (t) => {
  const m = openStore(t);
  const now = Date.now();
  const expireAll = rules('<ID>all</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>');
  await bucket(m, 'fails', undefined, expireAll);
  for (const k of ['a', 'b', 'c']) await m.putObject('fails', k, obj(now - 10 * DAY));
  await m.createUpload({ v: RECORD_VERSION, id: 'u1', bucket: 'fails', key: 'k', initiated: now - 5 * DAY, headers: {}, userMeta: {} });
  // The objects' expiry commits; then listing the uploads fails (a disk error, say).
  const failing = new Proxy(m, {
    get(target, prop) {
      if (prop === 'listUploads') return () => { throw new Error('listing failed'); };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const errors: unknown[] = [];
  const scanner = new LifecycleScanner(failing, { ...log, error: (o: unknown) => errors.push(o) } as unknown as Logger, 3_600_000);
  const r = await scanner.scan(now);
  t.equal(errors.length, 1, 'the failure is logged');
  for (const k of ['a', 'b', 'c']) t.notOk(m.getObject('fails', k), `${k} was expired before the failure`);
  t.same(r, { expired: 3, versions: 0, aborted: 0 }, 'the pass answers what it did');
  t.same(scanner.totals, { expired: 3, versions: 0, aborted: 0 }, 'and the totals (s3d_lifecycle_*) count it');
  t.ok(m.getUpload('u1'), 'the upload the failure kept from the pass is still there');
});

t.test('a scan judges listed records without their inline data; only what is due is read whole, in its commit', async (t) => {
  const m = openStore(t);
  const now = Date.now();
  const inline = (mtime: number): ObjectRecord => obj(mtime, { size: 65536, stored: 65536, data: { inline: new Uint8Array(65536).fill(1) } });
  await bucket(m, 'ub', undefined, rules('<ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>10</Days></Expiration>'));
  for (let i = 0; i < 10; i++) await m.putObject('ub', `old/${i}`, inline(now - 30 * DAY));
  for (let i = 0; i < 10; i++) await m.putObject('ub', `new/${i}`, inline(now));
  await bucket(m, 'vb', 'Enabled', rules('<ID>nc</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>10</NoncurrentDays></NoncurrentVersionExpiration>'));
  for (let i = 0; i < 5; i++) for (let v = 0; v < 3; v++) await m.putObject('vb', `k${i}`, inline(now));
  const scanner = new LifecycleScanner(m, log, 3_600_000);

  // Nothing is due yet in the versioned bucket; 10 objects are in the other.
  const decoded = decodedBytes(m);
  const r1 = await scanner.scan(now);
  t.same(r1, { expired: 10, versions: 0, aborted: 0 }, 'the old objects expire');
  t.same(m.listObjects('ub', { prefix: '', delimiter: '', after: '', maxKeys: 100 }).contents.map((e) => e.key.slice(0, 4)), Array(10).fill('new/'), 'the new ones stay');

  // Nothing due: 10 objects and 15 versions of 64 KiB judged by their metadata alone (the objects
  // expired above were read whole in the commit that expired them: that is where they are judged last).
  const first = decoded();
  t.same(await scanner.scan(now), { expired: 0, versions: 0, aborted: 0 });
  t.ok(decoded() - first < 65536, `a scan that removes nothing decodes no data (${decoded() - first} bytes)`);

  // The noncurrent versions, due 11 days on, go: judged the same from listed records.
  t.same(await scanner.scan(now + 11 * DAY), { expired: 10, versions: 10, aborted: 0 }, 'the rest expire, and the noncurrent versions go');
  t.same(m.keyVersions('vb', 'k0').length, 1, 'the current version of each key is kept');
});
