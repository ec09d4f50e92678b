// ops/lifecycle-scanner.ts with keys of very many versions, over a real MetaStore: a key of
// 20,000 versions (a frequently overwritten key of a versioned bucket) loses exactly the versions
// versionsDue picks on the whole key (NewerNoncurrentVersions kept, the recent ones kept, those
// under a legal hold kept), but in many commits of bounded size rather than one, with turns of
// the event loop between them in which other writes complete; a key of 2,500 versions under a
// delete marker loses them all and then the marker, which goes last.
import t, { type Test } from 'tap';
import type { Logger } from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { parseLifecycle, versionsDue } from '../../../../daemon/ops/lifecycle.js';
import { LifecycleScanner } from '../../../../daemon/ops/lifecycle-scanner.js';
import { clientVersionId } from '../../../../daemon/meta/versions.js';
import { KEY_PAGE } from '../../../../daemon/ops/lifecycle-versions.js';

const DAY = 86_400_000;
const log = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;

function obj(mtime: number, over: Partial<ObjectRecord> = {}): ObjectRecord {
  return { v: RECORD_VERSION, size: 1, etag: `e${mtime}`, mtime, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1, ...over };
}

function openStore(t: Test): MetaStore {
  const dir = mkdtempSync(join(tmpdir(), 's3d-lcscale-'));
  const m = new MetaStore(dir);
  t.teardown(async () => {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return m;
}

/** Writes `n` versions of bucket/key (in order: each a newer version), `rec(i)` the i-th. */
async function versions(m: MetaStore, bucket: string, key: string, n: number, rec: (i: number) => ObjectRecord): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) batch.push(m.putObject(bucket, key, rec(j)));
    await Promise.all(batch);
  }
}

/** Creates versioned bucket `name` with the lifecycle configuration `xml`; its rules. */
async function versionedBucket(m: MetaStore, name: string, xml: string): Promise<ReturnType<typeof parseLifecycle>> {
  const lifecycle = parseLifecycle(Buffer.from(xml));
  await m.createBucket(name);
  await m.updateBucket(name, (b) => ({ ...b, versioning: 'Enabled' as const, lifecycle }));
  return lifecycle;
}

const ids = (m: MetaStore, b: string, key: string): string[] => m.keyVersions(b, key).map((v) => clientVersionId(v.record));

t.test('a key of 20,000 versions: the versions versionsDue picks go, in bounded commits with turns between', async (t) => {
  const m = openStore(t);
  const scanAt = Date.now() + 10 * DAY;
  const base = scanAt - 200 * DAY;
  const lifecycle = await versionedBucket(m, 'vb',
    '<LifecycleConfiguration>' +
    '<Rule><ID>all</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>' +
    '<Rule><ID>dm</ID><Filter><Prefix>dm/</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>' +
    '</LifecycleConfiguration>',
  );
  await m.createBucket('other');
  // 20,000 versions: written over 200 days, the newest ten one day before the scan (not yet
  // noncurrent for 30 days: neither they nor the version under them go), every 1,500th held.
  const N = 20_000;
  await versions(m, 'vb', 'hot', N, (i) => obj(i >= N - 10 ? scanAt - DAY : base + i * 60_000, i % 1500 === 7 ? { legalHold: 'ON' } : {}));
  // 2,500 versions under a delete marker, all past the dm/ rule: everything goes, the marker last.
  await versions(m, 'vb', 'dm/k', 2500, (i) => obj(base + i));
  await m.deleteObject('vb', 'dm/k');

  const hot = m.keyVersions('vb', 'hot');
  t.equal(hot.length, N, 'set up');
  const due = new Set(versionsDue(lifecycle, 'hot', hot, scanAt).map(clientVersionId));
  const kept = hot.map((v) => clientVersionId(v.record)).filter((id) => !due.has(id));
  t.ok(due.size > 19_900 && kept.length > 20, `set up: ${due.size} due, ${kept.length} kept`);
  t.equal(versionsDue(lifecycle, 'dm/k', m.keyVersions('vb', 'dm/k'), scanAt).length, 2501, 'set up: every dm/k version and its marker due');

  // Other work during the pass: a write started once the first removal has committed.
  const txn0 = m.lastTxnId() ?? 0;
  const txns = new Set<number>();
  let passDone = false;
  let writeDoneFirst: boolean | undefined;
  let hotLeftThen = 0;
  const started = Date.now();
  const pass = new LifecycleScanner(m, log, 3_600_000).scan(scanAt).finally(() => {
    passDone = true;
  });
  let write: Promise<unknown> | undefined;
  while (!passDone) {
    const id = m.lastTxnId() ?? 0;
    if (id !== txn0) txns.add(id);
    if (write === undefined && id !== txn0) {
      write = m.putObject('other', 'during', obj(Date.now())).then(() => {
        writeDoneFirst ??= !passDone;
        hotLeftThen = m.keyVersions('vb', 'hot').length;
      });
    }
    await nextTurn();
  }
  const r = await pass;
  await write;
  t.comment(`pass: ${Date.now() - started} ms, ${(m.lastTxnId() ?? 0) - txn0} transactions, ${txns.size} seen between turns`);

  t.same(ids(m, 'vb', 'hot'), kept, 'hot: exactly the versions judged on the whole key are left');
  t.same(ids(m, 'vb', 'dm/k'), [], 'dm/k: every version and then the marker went');
  t.equal(r.versions, due.size + 2501, 'the pass counts every removed version');
  t.ok((m.lastTxnId() ?? 0) - txn0 >= 20, `the removals took many commits (at most ${KEY_PAGE} versions each)`);
  t.ok(txns.size >= 10, 'the event loop turned between commits');
  t.equal(writeDoneFirst, true, 'a write started during the pass completed before it ended');
  t.ok(hotLeftThen > kept.length, `... while hot still had versions to lose (${hotLeftThen} left then)`);
});

t.test('a version is judged by its successor as it was, when an earlier commit of the pass removed it', async (t) => {
  // Under one commit for the whole key, the first version of tag b (kept 30 days; it starts a
  // page, 1,000 being a multiple of KEY_PAGE) had an old successor and was due; judged again after the earlier pages' removals, it
  // would have the held version 10 days old above it and stay.
  const m = openStore(t);
  const scanAt = Date.now() + 10 * DAY;
  const base = scanAt - 200 * DAY;
  const lifecycle = await versionedBucket(m, 'vb',
    '<LifecycleConfiguration>' +
    '<Rule><ID>a</ID><Filter><Tag><Key>t</Key><Value>a</Value></Tag></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>' +
    '<Rule><ID>b</ID><Filter><Tag><Key>t</Key><Value>b</Value></Tag></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration></Rule>' +
    '</LifecycleConfiguration>',
  );
  // Newest first: the current version, a held one of 10 days, 998 of tag a, then 100 of tag b.
  const n = 1100;
  await versions(m, 'vb', 'edge', n, (i) => {
    const at = n - 1 - i;
    if (at === 0) return obj(scanAt - 20 * DAY);
    if (at === 1) return obj(scanAt - 10 * DAY, { legalHold: 'ON', tags: [['t', 'a']] });
    return obj(base + i, { tags: [['t', at < 1000 ? 'a' : 'b']] });
  });
  const all = m.keyVersions('vb', 'edge');
  const due = new Set(versionsDue(lifecycle, 'edge', all, scanAt).map(clientVersionId));
  t.ok(due.has(clientVersionId(all[1000]!.record)), 'set up: the first version of tag b (a page\'s first) is due on the whole key');
  const r = await new LifecycleScanner(m, log, 3_600_000).scan(scanAt);
  t.same(ids(m, 'vb', 'edge'), all.map((v) => clientVersionId(v.record)).filter((id) => !due.has(id)), 'exactly the versions judged on the whole key went');
  t.equal(ids(m, 'vb', 'edge').length, 2, 'the current and the held version are left');
  t.equal(r.versions, n - 2);
});

/** Scans, and runs `meanwhile` once the pass's first removal has committed. */
async function scanWith(m: MetaStore, at: number, meanwhile: () => Promise<unknown>): Promise<number> {
  const txn0 = m.lastTxnId() ?? 0;
  let done = false;
  const pass = new LifecycleScanner(m, log, 3_600_000).scan(at).finally(() => {
    done = true;
  });
  let action: Promise<unknown> | undefined;
  while (!done) {
    if (action === undefined && (m.lastTxnId() ?? 0) !== txn0) action = meanwhile();
    await nextTurn();
  }
  await action;
  return (await pass).versions;
}

t.test('a key written or pruned during the pass keeps the rest of its versions until the next scan', async (t) => {
  const m = openStore(t);
  const scanAt = Date.now() + 10 * DAY;
  const base = scanAt - 200 * DAY;
  await versionedBucket(m, 'vb',
    '<LifecycleConfiguration><Rule><ID>all</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>',
  );
  const N = 6000;
  await versions(m, 'vb', 'w', N, (i) => obj(base + i));
  await versions(m, 'vb', 'x', N, (i) => obj(base + i));

  // Written: its newest version is another.
  const removedW = await scanWith(m, scanAt, () => m.putObject('vb', 'w', obj(scanAt)));
  const leftW = m.keyVersions('vb', 'w').length;
  t.ok(removedW >= KEY_PAGE - 10 && leftW > 5 + KEY_PAGE, `w: the pass stopped at the write (${removedW} removed, ${leftW} left)`);
  t.equal(m.keyVersions('vb', 'x').length, 4, 'x, judged after the write, lost all but four');

  // Pruned: a kept version above the pages still to come is removed by id.
  const second = clientVersionId(m.keyVersions('vb', 'w')[2]!.record);
  const before = m.keyVersions('vb', 'w').length;
  await m.putObject('vb', 'x', obj(scanAt));
  const removed = await scanWith(m, scanAt + 1, () => m.deleteObject('vb', 'w', undefined, second));
  const leftAfter = m.keyVersions('vb', 'w').length;
  t.notOk(ids(m, 'vb', 'w').includes(second), 'set up: the prune went');
  // (x, written too, loses one version: the one under its three newest noncurrent.)
  t.ok(leftAfter > 4 + KEY_PAGE && leftAfter < before - (KEY_PAGE - 10), `w: the pass stopped at the prune (${removed} removed, ${leftAfter} left of ${before})`);

  // The next scan, with nothing written meanwhile, finishes the job.
  await new LifecycleScanner(m, log, 3_600_000).scan(scanAt + 2);
  t.equal(m.keyVersions('vb', 'w').length, 4, 'the next scan removed the rest');
});
