// A DeleteObjects of 1,000 keys commits them KEYS_DELETED_PER_COMMIT (250) at a time, each commit
// awaited before the next is asked for. All 1,000 went in one transaction, run on the event loop:
// in a versioned bucket (a delete marker written for each long key) that held every other request
// back ~50-70 ms in one stretch (a GET behind it waited ~130 ms). S3 promises no atomicity across
// a batch's keys. Counted here on a real store, through the handler, by the keys the store's
// deleteObjects took on in each turn of the event loop; and the answers are those of one commit.
import t from 'tap';
import { handleDeleteObjects } from '../../../../daemon/ops/delete-objects.js';
import type { OpsEnv } from '../../../../daemon/ops/env.js';
import type { RequestContext, Result } from '../../../../daemon/ops/types.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { clientVersionId } from '../../../../daemon/meta/versions.js';
import type { MetaStore } from '../../../../daemon/meta/store.js';
import { openStore } from '../../../helpers/meta-versions.js';
import { countByTurn, most } from '../../../helpers/turns.js';

const KEYS = 1000;
const keyOf = (i: number): string => `k/${String(i).padStart(4, '0')}/${'x'.repeat(900)}`;
const record = (extra: Partial<ObjectRecord> = {}): ObjectRecord => ({ v: RECORD_VERSION, size: 1, etag: 'd41d8cd98f00b204e9800998ecf8427e', mtime: 1_700_000_000_000, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 0, ...extra });

function ctx(bucket: string, objects: string, quiet: boolean): RequestContext {
  const body = Buffer.from(`<Delete><Quiet>${quiet}</Quiet>${objects}</Delete>`);
  return { bucket, query: new URLSearchParams('delete'), headers: {}, accessKey: 'root', secure: false, body: { readAll: () => Promise.resolve(body) } } as unknown as RequestContext;
}

/** Keys the store's deleteObjects took on, by the turn of the event loop, until `run` answered. */
async function deletesByTurn(m: MetaStore, run: () => Promise<Result>): Promise<{ turns: number[]; body: string }> {
  const { turns, result } = await countByTurn(() => m.batchKeysDeleted, run);
  return { turns, body: String(result.body) };
}

const MOST_A_TURN = 250;

t.test('1,000 keys of a versioned bucket: at most 250 deleted a turn; a marker for each, all answered', async (t) => {
  const m = openStore(t);
  await m.createBucket('vb');
  await m.updateBucket('vb', (b) => ({ ...b, versioning: 'Enabled' as const }));
  await Promise.all(Array.from({ length: KEYS }, (_, i) => m.putObject('vb', keyOf(i), record())));
  const objects = Array.from({ length: KEYS }, (_, i) => `<Object><Key>${keyOf(i)}</Key></Object>`).join('');
  const { turns, body } = await deletesByTurn(m, () => handleDeleteObjects({ meta: m, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv, ctx('vb', objects, false)));
  t.equal(turns.reduce((a, b) => a + b), KEYS, 'every key deleted once');
  t.ok(most(turns) <= MOST_A_TURN, `at most ${MOST_A_TURN} keys deleted a turn (${turns.filter((n) => n > 0).join(' ')})`);
  const answered = [...body.matchAll(/<Deleted><Key>([^<]*)<\/Key><DeleteMarker>true<\/DeleteMarker><DeleteMarkerVersionId>([^<]*)<\/DeleteMarkerVersionId><\/Deleted>/g)];
  t.equal(answered.length, KEYS, '1,000 Deleted, each with its delete marker');
  t.notMatch(body, '<Error>');
  answered.forEach(([, key, marker], i) => {
    if (key !== keyOf(i)) t.fail(`entry ${i} names ${key!.slice(0, 6)}`);
    const latest = m.keyVersions('vb', key!)[0];
    if (latest?.record.deleteMarker !== true || clientVersionId(latest.record) !== marker) t.fail(`${key!.slice(0, 6)}: its newest version is not the marker answered`);
  });
  t.equal(m.getObject('vb', keyOf(999)), undefined, 'the last key deleted too');
});

t.test('1,000 versions under a legal hold, quiet: at most 250 judged a turn; each answered AccessDenied; none removed', async (t) => {
  const m = openStore(t);
  await m.createBucket('lb');
  await m.updateBucket('lb', (b) => ({ ...b, versioning: 'Enabled' as const }));
  const stored = await Promise.all(Array.from({ length: KEYS }, (_, i) => m.putObject('lb', keyOf(i), record({ legalHold: 'ON' }))));
  const objects = stored.map((r, i) => `<Object><Key>${keyOf(i)}</Key><VersionId>${clientVersionId(r)}</VersionId></Object>`).join('');
  const { turns, body } = await deletesByTurn(m, () => handleDeleteObjects({ meta: m, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv, ctx('lb', objects, true)));
  t.equal(turns.reduce((a, b) => a + b), KEYS, 'every version judged once');
  t.ok(most(turns) <= MOST_A_TURN, `at most ${MOST_A_TURN} versions judged a turn (${turns.filter((n) => n > 0).join(' ')})`);
  t.equal(body.match(/<Error><Key>[^<]*<\/Key><VersionId>[^<]*<\/VersionId><Code>AccessDenied<\/Code>/g)?.length, KEYS, '1,000 errors');
  t.notMatch(body, '<Deleted>');
  t.equal(stored.filter((r, i) => m.getObject('lb', keyOf(i))?.versionId !== r.versionId).length, 0, 'every version still current');
});

/**
 * The store `m` as the handler sees it, but `before` runs when the second commit is asked for:
 * what happens between two commits (they come a commit apart, so a test places it there).
 */
function beforeSecondCommit(m: MetaStore, before: () => Promise<void> | void): { meta: MetaStore; calls: () => number } {
  let calls = 0;
  const meta = new Proxy(m, {
    get(target, name) {
      const v = Reflect.get(target, name, target) as unknown;
      if (name !== 'deleteObjects') return typeof v === 'function' ? v.bind(target) : v;
      return async (...args: Parameters<MetaStore['deleteObjects']>) => {
        if (calls++ === 1) await before();
        return m.deleteObjects(...args);
      };
    },
  });
  return { meta, calls: () => calls };
}

t.test('the bucket deleted and created again between two commits: the keys committed answer Deleted, the others OperationAborted', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  // 250 keys there (the first commit's), 250 not: the bucket is empty after the first commit.
  await Promise.all(Array.from({ length: 250 }, (_, i) => m.putObject('b', keyOf(i), record())));
  const { meta, calls } = beforeSecondCommit(m, async () => {
    await m.deleteBucket('b');
    await m.createBucket('b');
    await m.putObject('b', keyOf(350), record());
  });
  const objects = Array.from({ length: 500 }, (_, i) => `<Object><Key>${keyOf(i)}</Key></Object>`).join('');
  const body = String((await handleDeleteObjects({ meta, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv, ctx('b', objects, false))).body);
  t.equal(calls(), 2, 'two commits asked for');
  t.equal(body.match(/<Deleted>/g)?.length, 250, 'the first 250 Deleted');
  t.equal(body.match(/<Error><Key>[^<]*<\/Key><Code>OperationAborted<\/Code>/g)?.length, 250, 'the others OperationAborted');
  t.ok(m.getObject('b', keyOf(350)), "the new bucket's object left alone");
});

t.test('a later commit failing otherwise (a disk error): its keys answer InternalError, the keys committed before Deleted; logged once', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  await Promise.all(Array.from({ length: 500 }, (_, i) => m.putObject('b', keyOf(i), record())));
  const { meta, calls } = beforeSecondCommit(m, () => {
    throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  });
  const logged: string[] = [];
  const log = { error: (_fields: unknown, msg: string) => void logged.push(msg) };
  const objects = Array.from({ length: 500 }, (_, i) => `<Object><Key>${keyOf(i)}</Key></Object>`).join('');
  const r = await handleDeleteObjects({ meta, log, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv, ctx('b', objects, false));
  const body = String(r.body);
  t.equal(r.status, 200, 'answered per key, not a 500 for the request');
  t.equal(calls(), 2, 'two commits asked for');
  t.equal(body.match(/<Deleted>/g)?.length, 250, 'the first 250 Deleted');
  t.equal(body.match(/<Error><Key>[^<]*<\/Key><Code>InternalError<\/Code>/g)?.length, 250, 'the others InternalError');
  t.equal(logged.length, 1, 'one log line');
  t.equal(Array.from({ length: 500 }, (_, i) => m.getObject('b', keyOf(i))).filter((o) => o !== undefined).length, 250, "the second commit's keys still there");
});
