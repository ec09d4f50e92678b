// A listing page of 1,000 entries is read and written a slice of at most 100 entries to a turn of
// the event loop (ops/list.ts). It was read whole before its first turn: ~5 ms of CPU for 1,000
// records of long keys, ~20 ms for four listings come together, in one stretch, and the page's
// records lived on across the ten turns its writing took (every scavenge copying them): four
// concurrent listings of 1,000 long keys held every other request back 0.1-0.3 s at a time.
// Counted here on a real store by the records each turn reads; the bytes are list-xml's to check.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type BucketRecord, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { clientVersionId } from '../../../../daemon/meta/versions.js';
import { handleListObjects, handleListObjectsV2, handleListObjectVersions } from '../../../../daemon/ops/list.js';
import type { OpsEnv } from '../../../../daemon/ops/env.js';
import type { RequestContext, Result } from '../../../../daemon/ops/types.js';
import { countByTurn, most } from '../../../helpers/turns.js';

const dir = mkdtempSync(join(tmpdir(), 's3d-list-slices-'));
const m = new MetaStore(dir);
t.teardown(async () => {
  await m.close();
  rmSync(dir, { recursive: true, force: true });
});
const env = { meta: m, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv;

function record(): ObjectRecord {
  return { v: RECORD_VERSION, size: 1, etag: 'd41d8cd98f00b204e9800998ecf8427e', mtime: 1_700_000_000_000, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 0 };
}

const keyOf = (i: number): string => `k/${String(i).padStart(4, '0')}/${'x'.repeat(900)}`;

t.before(async () => {
  await m.createBucket('b');
  await m.createBucket('vb');
  await m.updateBucket('vb', (b) => ({ ...b, versioning: 'Enabled' as const }));
  // Queued together: lmdb-js commits them in one transaction.
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < 1500; i++) writes.push(m.putObject('b', keyOf(i), record()));
  for (let i = 0; i < 500; i++) for (let n = 0; n < 3; n++) writes.push(m.putObject('vb', keyOf(i), record()));
  await Promise.all(writes);
  // Null versions: written unversioned, then two versions over each; a slice ends on a key's
  // newest version, its middle one and its null one in turn (3 entries a key, 100 a slice).
  await m.createBucket('nb');
  await Promise.all(Array.from({ length: 400 }, (_, i) => m.putObject('nb', keyOf(i), record())));
  await m.updateBucket('nb', (b) => ({ ...b, versioning: 'Enabled' as const }));
  const more: Array<Promise<unknown>> = [];
  for (let i = 0; i < 400; i++) for (let n = 0; n < 2; n++) more.push(m.putObject('nb', keyOf(i), record()));
  await Promise.all(more);
});

/** Records read by the store (keys and versions), by the turn of the event loop they were read in, until `run` answered. */
async function readsByTurn(run: () => Promise<Result>): Promise<{ turns: number[]; body: string }> {
  const { turns, result: r } = await countByTurn(() => m.listEntriesRead + m.versionEntriesRead, run);
  return { turns, body: Buffer.isBuffer(r.body) ? r.body.toString() : String(r.body) };
}

const ctx = (bucket: string, query: string): RequestContext => ({ bucket, query: new URLSearchParams(query), headers: {}, accessKey: 'root', secure: false }) as unknown as RequestContext;

// A slice of 100 entries reads a few records more: the one after them (is the page truncated?),
// and where the next slice starts, its marker's (102 seen; 103 for versions, the marker's key and
// the version it names). A page read whole read all 1,000 and more in its first turn.
const MOST_A_TURN = 105;

t.test('ListObjects, ListObjectsV2 (objects or common prefixes) and ListObjectVersions of 1,000 entries: at most ~100 records read a turn', async (t) => {
  const cases: Array<[string, string, string, () => Promise<Result>]> = [
    ['ListObjects', 'b', '<Contents>', () => handleListObjects(env, ctx('b', ''))],
    ['ListObjectsV2', 'b', '<Contents>', () => handleListObjectsV2(env, ctx('b', 'list-type=2'))],
    ['ListObjectsV2 of common prefixes', 'b', '<CommonPrefixes>', () => handleListObjectsV2(env, ctx('b', 'list-type=2&prefix=k/&delimiter=/'))],
    ['ListObjectsV2 metadata=true', 'b', '<Contents>', () => handleListObjectsV2(env, ctx('b', 'list-type=2&metadata=true'))],
    ['ListObjectVersions', 'vb', '<Version>', () => handleListObjectVersions(env, ctx('vb', 'versions='))],
  ];
  for (const [what, , tag, run] of cases) {
    const { turns, body } = await readsByTurn(run);
    t.equal(body.split(tag).length - 1, 1000, `${what}: 1,000 entries`);
    t.match(body, '<IsTruncated>true</IsTruncated>', `${what}: truncated`);
    t.ok(most(turns) <= MOST_A_TURN, `${what}: at most ${MOST_A_TURN} records read a turn (${turns.filter((n) => n > 0).join(' ')})`);
  }
});

t.test('ListObjectVersions read in slices: the versions (null ones too) and markers the page read whole gives', async (t) => {
  for (const [what, query] of [
    ['the first page', 'versions='],
    ['after a null version', `versions=&key-marker=${encodeURIComponent(keyOf(5))}&version-id-marker=null`],
  ]) {
    const q = new URLSearchParams(query);
    const whole = m.listVersionsWithoutData('nb', { prefix: '', delimiter: '', keyMarker: q.get('key-marker') ?? '', versionIdMarker: q.get('version-id-marker') ?? '', maxKeys: 1000 });
    const want = whole.entries.map((e) => `${e.key.slice(0, 6)} ${clientVersionId(e.record)} ${e.isLatest}`);
    const { body } = await readsByTurn(() => handleListObjectVersions(env, ctx('nb', query)));
    const got = [...body.matchAll(/<Version><Key>([^<]*)<\/Key><VersionId>([^<]*)<\/VersionId><IsLatest>([^<]*)<\/IsLatest>/g)].map((x) => `${x[1]!.slice(0, 6)} ${x[2]} ${x[3]}`);
    t.equal(want.filter((w) => w.includes(' null ')).length > 100, true, `${what}: null versions among them`);
    t.same(got, want, `${what}: the same ${want.length} versions in the same order`);
    t.same([/<NextKeyMarker>([^<]*)</.exec(body)?.[1]?.slice(0, 6), /<NextVersionIdMarker>([^<]*)</.exec(body)?.[1]], [whole.nextKey?.slice(0, 6), whole.nextVersionId], `${what}: the same next markers`);
  }
});

t.test('the bucket deleted, or deleted and created again, between two slices: NoSuchBucket / OperationAborted, not a page that ends early or goes on in another bucket', async (t) => {
  // The store's own answers, but once the first slice is read its getBucket says what a delete
  // (and a create) committed between two turns would make it say: the slices come a turn apart,
  // faster than any commit, so a real delete cannot be placed between two of them.
  for (const [name, after, code] of [
    ['deleted', () => undefined, 'NoSuchBucket'],
    ['deleted and created again', (b: BucketRecord) => ({ ...b, created: b.created + 1 }), 'OperationAborted'],
  ] as const) {
    for (const [op, handler, query] of [
      ['ListObjectsV2', handleListObjectsV2, 'list-type=2'],
      ['ListObjectVersions', handleListObjectVersions, 'versions'],
    ] as const) {
      let sliced = false;
      const meta = new Proxy(m, {
        get(target, prop) {
          const v = Reflect.get(target, prop, target) as unknown;
          if (typeof v !== 'function') return v;
          if (prop === 'getBucket') return (n: string) => (sliced ? after(target.getBucket(n)!) : target.getBucket(n));
          if (prop === 'listObjectsWithoutData' || prop === 'listVersionsWithoutData') {
            return (...args: unknown[]) => {
              sliced = true;
              return (v as (...a: unknown[]) => unknown).apply(target, args);
            };
          }
          return (v as (...a: unknown[]) => unknown).bind(target);
        },
      });
      const err = await handler({ ...env, meta } as unknown as OpsEnv, ctx('b', query)).then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      t.equal(err?.code, code, `${op}, bucket ${name} after the first slice: ${code}`);
    }
  }
});

/** A version of a listing as text: `key id`; with the entries of its page. */
const versionsOf = (body: string): string[] => [...body.matchAll(/<(?:Version|DeleteMarker)><Key>([^<]*)<\/Key><VersionId>([^<]*)<\/VersionId>/g)].map((x) => `${x[1]} ${x[2]}`);

/** Sets bucket `b`'s versioning state. */
const versioning = (b: string, state: 'Enabled' | 'Suspended'): Promise<unknown> => m.updateBucket(b, (r) => ({ ...r, versioning: state }));

t.test("ListObjectVersions: a null version replaced or deleted between two slices that end on it: the page goes on after its place, each version once, none skipped", async (t) => {
  // 98 keys of one version, then k: its newest version (the 99th entry), its null version (the
  // 100th: the first slice ends on it) and two older versions; then z. Between the two slices,
  // each change of a bucket of its own. The marker alone named the null version as it then was:
  // replaced by a Suspended write, the null version was k's newest (its older versions and the one
  // just listed were listed again); deleted, it had no place (k was listed again from its newest).
  const changes: Array<[string, (b: string, ids: Record<string, string>) => Promise<unknown>]> = [
    ['the null version deleted', (b) => m.deleteObject(b, 'k', undefined, 'null')],
    ['the null version replaced by a Suspended write', async (b) => {
      await versioning(b, 'Suspended');
      await m.putObject(b, 'k', record());
    }],
    ['the null version replaced by a Suspended delete (a null delete marker)', async (b) => {
      await versioning(b, 'Suspended');
      await m.deleteObject(b, 'k');
    }],
    ['a newer version written', (b) => m.putObject(b, 'k', record())],
    ['the newest version deleted (the null version current again)', (b, ids) => m.deleteObject(b, 'k', undefined, ids.newest)],
    ['the null version and the one after it deleted', async (b, ids) => {
      await m.deleteObject(b, 'k', undefined, 'null');
      await m.deleteObject(b, 'k', undefined, ids.old2);
    }],
  ];
  let n = 0;
  for (const [what, change] of changes) {
    const b = `race${n++}`;
    await m.createBucket(b);
    await versioning(b, 'Enabled');
    await Promise.all(Array.from({ length: 98 }, (_, i) => m.putObject(b, `f/${String(i).padStart(3, '0')}`, record())));
    const ids: Record<string, string> = {};
    ids.old1 = clientVersionId(await m.putObject(b, 'k', record()));
    ids.old2 = clientVersionId(await m.putObject(b, 'k', record()));
    await versioning(b, 'Suspended');
    await m.putObject(b, 'k', record());
    await versioning(b, 'Enabled');
    ids.newest = clientVersionId(await m.putObject(b, 'k', record()));
    await m.putObject(b, 'z', record());

    const listed = (opts: { keyMarker?: string; versionIdMarker?: string; maxKeys?: number } = {}): string[] =>
      m.listVersionsWithoutData(b, { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000, ...opts }).entries.map((e) => `${e.key} ${clientVersionId(e.record)}`);
    const before = listed();
    t.same(before.slice(98, 102), [`k ${ids.newest}`, 'k null', `k ${ids.old2}`, `k ${ids.old1}`], `${what}: k's versions, the null one the 100th entry`);
    // The page's first slice, as the store answers it before the change; then the change, committed
    // before the second slice is read (they come a turn apart, faster than any commit: a test places it there).
    const firstSlice = m.listVersionsWithoutData(b, { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 100 });
    t.equal(firstSlice.nextVersionId, 'null', `${what}: the first slice ends on k's null version`);
    await change(b, ids);
    const afterwards = listed();
    let slices = 0;
    const meta = new Proxy(m, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (prop === 'listVersionsWithoutData') return (...args: Parameters<MetaStore['listVersionsWithoutData']>) => (slices++ === 0 ? firstSlice : target.listVersionsWithoutData(...args));
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    for (const max of [1000, 101]) {
      slices = 0;
      const r = await handleListObjectVersions({ ...env, meta } as unknown as OpsEnv, ctx(b, `versions=&max-keys=${max}`));
      const body = String(r.body);
      const got = versionsOf(body);
      t.equal(slices, 2, `${what}, max-keys=${max}: read in two slices`);
      t.same(got.filter((e, i) => got.indexOf(e) !== i), [], `${what}, max-keys=${max}: no version listed twice`);
      t.same(got.slice(0, 100), before.slice(0, 100), `${what}, max-keys=${max}: the first slice's 100`);
      // Every version there before and after the change, and after the null version's place, is
      // listed, in order; a version written meanwhile newer than that place is not (a page after
      // the marker would not list it either).
      const rest = afterwards.filter((e) => !before.slice(0, 100).includes(e) && (e.startsWith('z ') || (e.startsWith('k ') && before.slice(100).includes(e))));
      const want = max === 1000 ? rest : rest.slice(0, 1);
      t.same(got.slice(100), want, `${what}, max-keys=${max}: then k's versions after the null one's place that are still there, and z`);
      if (max === 101) {
        t.match(body, '<IsTruncated>true</IsTruncated>');
        t.same([/<NextKeyMarker>([^<]*)</.exec(body)?.[1], /<NextVersionIdMarker>([^<]*)</.exec(body)?.[1]], want[0]!.split(' '), `${what}, max-keys=101: the next markers name the page's last version`);
      } else t.match(body, '<IsTruncated>false</IsTruncated>');
    }
  }
});
