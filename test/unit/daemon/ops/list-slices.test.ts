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
import { countByTurn } from '../../../helpers/turns.js';

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
    t.ok(Math.max(...turns) <= MOST_A_TURN, `${what}: at most ${MOST_A_TURN} records read a turn (${turns.join(' ')})`);
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
