// The background passes over every bucket (usage scan, lifecycle scan; the KMS key check has its
// own test) run while the daemon serves: they read the buckets a page at a time, with a turn of
// the event loop between pages (meta/bucket-listing.ts bucketsByPage). Read all at once, 100,000
// buckets cost ~0.1 s of one synchronous read, a million ~1 s; and the lifecycle scan looked into
// each bucket without rules one after the other without a turn. Proved by the reads the passes
// make (a page of at most BUCKET_PAGE each, through the real store) and the turns between pages,
// not by timing, and that each pass still reaches the last bucket.

import t, { type Test } from 'tap';
import type { Logger } from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { BUCKET_PAGE, bucketsByPage } from '../../../../daemon/meta/bucket-listing.js';
import { UsageScanner } from '../../../../daemon/meta/usage.js';
import { LifecycleScanner } from '../../../../daemon/ops/lifecycle-scanner.js';
import { parseLifecycle } from '../../../../daemon/ops/lifecycle.js';
import { turnsDuring } from '../../../helpers/wait.js';

const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;
const N = 3000;

function obj(mtime: number): ObjectRecord {
  return { v: RECORD_VERSION, size: 1, etag: 'e', mtime, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1 };
}

/** A store of N empty buckets (`empty-00000`…), then `zz-last` holding one object written at `mtime`. */
async function manyBuckets(t: Test, mtime = Date.now()): Promise<MetaStore> {
  const dir = mkdtempSync(join(tmpdir(), 's3d-bucket-pages-'));
  const m = new MetaStore(dir);
  t.teardown(async () => {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < N; i += 1000) await Promise.all(Array.from({ length: 1000 }, (_, j) => m.createBucket(`empty-${String(i + j).padStart(5, '0')}`)));
  await m.createBucket('zz-last');
  await m.putObject('zz-last', 'o', obj(mtime));
  return m;
}

/** Records the ranges `m.listBuckets` is called with (the real method still answers). */
function bucketReads(m: MetaStore): Array<{ after?: string; limit?: number } | undefined> {
  const calls: Array<{ after?: string; limit?: number } | undefined> = [];
  const real = m.listBuckets.bind(m);
  m.listBuckets = (range) => (calls.push(range), real(range));
  return calls;
}

/** Every read a page of at most BUCKET_PAGE, enough of them to cover `total` buckets. */
function assertPaged(t: Test, calls: ReturnType<typeof bucketReads>, total: number): void {
  t.ok(calls.length >= Math.ceil(total / BUCKET_PAGE), `the buckets were read in ${calls.length} pages`);
  t.ok(calls.every((r) => r?.limit !== undefined && r.limit <= BUCKET_PAGE), `each of at most ${BUCKET_PAGE} buckets`);
}

t.test('bucketsByPage: every bucket once, in name order, a page at a time with a turn between', async (t) => {
  const names = Array.from({ length: 2 * BUCKET_PAGE + 1 }, (_, i) => `b-${String(i).padStart(4, '0')}`);
  const calls: Array<string | undefined> = [];
  const list = (range: { after?: string; limit?: number }): Array<{ name: string }> => {
    calls.push(range.after);
    return names.filter((n) => n > (range.after ?? '')).slice(0, range.limit).map((name) => ({ name }));
  };
  const seen: string[] = [];
  const { turns } = await turnsDuring(async () => {
    for await (const b of bucketsByPage({ listBuckets: list } as never)) seen.push((b as { name: string }).name);
  });
  t.strictSame(seen, names);
  t.strictSame(calls, ['', names[BUCKET_PAGE - 1], names[2 * BUCKET_PAGE - 1]], 'a page of BUCKET_PAGE at a time, each after the last');
  t.ok(turns >= 2, `the event loop turned between the pages (${turns} turns)`);
});

t.test('the usage scan reads many buckets a page at a time', async (t) => {
  const m = await manyBuckets(t);
  const calls = bucketReads(m);
  const usage = new UsageScanner(m, log, 0);
  await usage.scan();
  t.equal(usage.usage.size, N + 1, 'every bucket counted');
  t.equal(usage.usage.get('zz-last')?.objects, 1, 'the last one too');
  assertPaged(t, calls, N + 1);
});

t.test('the lifecycle scan reads many buckets without rules a page at a time, turning the event loop', async (t) => {
  const DAY = 86_400_000;
  const m = await manyBuckets(t, Date.now() - 10 * DAY);
  const lifecycle = parseLifecycle(Buffer.from('<LifecycleConfiguration><Rule><ID>r</ID><Filter></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>'));
  await m.updateBucket('zz-last', (b) => ({ ...b, lifecycle }));
  const calls = bucketReads(m);
  const scanner = new LifecycleScanner(m, log, 3_600_000);
  const { result, turns } = await turnsDuring(() => scanner.scan());
  t.equal(result.expired, 1, 'the last bucket, after every page, had its due object expired');
  assertPaged(t, calls, N + 1);
  t.ok(turns >= N / BUCKET_PAGE, `the event loop turned at least once a page (${turns} turns)`);
});
