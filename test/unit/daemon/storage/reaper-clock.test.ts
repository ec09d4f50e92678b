// The reaper's grace period (storage/reaper.ts, meta/deletion-queue.ts) over a real MetaStore and
// FileStore: files an earlier process queued (the queue a stop left) are due at once, files this
// process releases wait out the grace period, timed on the monotonic clock: a wall clock stepped
// forward an hour must not make them due at once (under reads that just looked their records up),
// nor one stepped back keep them on disk for the hour. Only Date.now is stepped. And a pass that
// keeps failing (its dequeue refused) is warned about once a minute, on a stepped performance.now.
import t from 'tap';
import type { Test } from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { FileStore } from '../../../../daemon/storage/files.js';
import { Reaper } from '../../../../daemon/storage/reaper.js';
import { DeletionQueue, RELEASE_MEMORY_MS } from '../../../../daemon/meta/deletion-queue.js';
import { open, type RootDatabase } from 'lmdb';
import { monotonicClock, wallClock } from '../../../helpers/stepped-clock.js';

const HOUR = 3_600_000;
const rec = (file: string): ObjectRecord => ({ v: RECORD_VERSION, size: 4, etag: 'e', mtime: 1, headers: {}, userMeta: {}, data: { file }, stored: 4 });

/** A data directory with its FileStore; `open()` opens (again) its MetaStore. */
async function store(t: Test): Promise<{ files: FileStore; open(): MetaStore; release(meta: MetaStore, key: string): Promise<string> }> {
  const dir = mkdtempSync(join(tmpdir(), 's3d-reaper-clock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = new FileStore(dir, { warmBytes: 0 });
  await files.init();
  const dataFile = async (): Promise<string> => {
    const w = await files.create();
    await w.write(Buffer.from('data'));
    await w.commit();
    return w.id;
  };
  return {
    files,
    open: () => new MetaStore(join(dir, '.s3d')),
    // Stores `key`, then deletes it: its data file is queued for deletion now. Its id.
    async release(meta, key) {
      if (meta.getBucket('b') === undefined) await meta.createBucket('b');
      const id = await dataFile();
      await meta.putObject('b', key, rec(id));
      await meta.deleteObject('b', key);
      return id;
    },
  };
}


t.test('files an earlier process queued are due at once; those this one releases keep their grace', async (t) => {
  const s = await store(t);
  const before = s.open();
  const old = await s.release(before, 'old');
  await before.close();
  const meta = s.open();
  t.teardown(() => meta.close());
  const fresh = await s.release(meta, 'fresh');
  const reaper = new Reaper(meta, s.files, pino({ level: 'silent' }));
  t.equal(await reaper.kick(), 1, 'one file deleted');
  t.notOk(existsSync(s.files.pathOf(old)), 'the one the earlier process queued');
  t.ok(existsSync(s.files.pathOf(fresh)), 'not the one released just now');
  t.same(meta.queuedFiles(), [fresh], 'which stays queued');
  await reaper.stop();
});

t.test('a wall clock stepped forward does not cut the grace period short', async (t) => {
  const wall = wallClock(t);
  const s = await store(t);
  const meta = s.open();
  t.teardown(() => meta.close());
  const id = await s.release(meta, 'k');
  wall.step(HOUR);
  const reaper = new Reaper(meta, s.files, pino({ level: 'silent' }));
  t.equal(await reaper.kick(), 0, 'nothing due');
  t.ok(existsSync(s.files.pathOf(id)), 'the file released just now is kept');
  await reaper.stop();
});

t.test('a wall clock stepped back does not hold released files past the grace period', async (t) => {
  const wall = wallClock(t);
  const s = await store(t);
  const meta = s.open();
  t.teardown(() => meta.close());
  const id = await s.release(meta, 'k');
  wall.step(-HOUR);
  await new Promise((r) => setTimeout(r, 120));
  const reaper = new Reaper(meta, s.files, pino({ level: 'silent' }));
  t.equal(await reaper.kick(50), 1, 'due once 50 ms passed');
  t.notOk(existsSync(s.files.pathOf(id)), 'deleted');
  await reaper.stop();
});

/** A deletion queue over an LMDB environment of its own, closed and removed when the test ends. */
function deletionQueue(t: Test): { root: RootDatabase; gc: DeletionQueue } {
  const dir = mkdtempSync(join(tmpdir(), 's3d-deletion-queue-'));
  const root = open({ path: dir });
  t.teardown(async () => {
    await root.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { root, gc: new DeletionQueue(root) };
}

t.test('releases are remembered only as long as a grace period can need them', async (t) => {
  const { root, gc } = deletionQueue(t);
  const clock = monotonicClock(t);
  root.transactionSync(() => gc.add(['f1', 'f2']));
  t.equal(gc.remembered, 2);
  clock.advance(RELEASE_MEMORY_MS + 1);
  root.transactionSync(() => gc.add(['f3']));
  // A backup holding deletions for hours kept one entry per released file in memory.
  t.equal(gc.remembered, 1, 'the releases past the memory span are forgotten');
  t.same(gc.due(5_000, 10), ['f1', 'f2'], 'and stay due; the one released just now waits');
});

t.test('the grace period starts when the releasing commit lands, not when its transaction queued the file', async (t) => {
  const { root, gc } = deletionQueue(t);
  const clock = monotonicClock(t);
  let fate: ReturnType<DeletionQueue['end']>;
  root.transactionSync(() => {
    gc.begin();
    gc.add(['slow', 'undone']);
    fate = gc.end();
  });
  // A commit that took 4 s (fsync under load): reads found the old records all that time.
  clock.advance(4_000);
  fate!.committed();
  clock.advance(2_000);
  t.same(gc.due(5_000, 10), [], '2 s after the commit, nothing is due (6 s after the release)');
  clock.advance(3_001);
  t.same(gc.due(5_000, 10), ['slow', 'undone'], 'due once the grace has passed since the commit');
});

t.test('a release is never due between its commit landing and MetaStore hearing it did', async (t) => {
  const { root, gc } = deletionQueue(t);
  const clock = monotonicClock(t);
  const release = (files: string[]): ReturnType<DeletionQueue['end']> => {
    let fate: ReturnType<DeletionQueue['end']>;
    root.transactionSync(() => {
      gc.begin();
      gc.add(files);
      fate = gc.end();
    });
    return fate;
  };
  const slow = release(['slow']);
  // The commit took 6 s and is visible (lmdb-js shows it to a timer before the write's promise
  // resolves): the reaper lists the file, stamped at its release.
  clock.advance(6_000);
  t.same(gc.queued(10), ['slow'], 'the commit is visible');
  t.same(gc.due(5_000, 10), [], 'not due before the commit is heard of');
  slow!.committed();
  t.same(gc.due(5_000, 10), [], 'nor just after');
  clock.advance(5_001);
  t.same(gc.due(5_000, 10), ['slow'], 'due once the grace has passed since the commit');

  // A commit slower than the memory span: a release meanwhile forgets the pending one's stamp.
  const slower = release(['slower']);
  clock.advance(RELEASE_MEMORY_MS + 1_000);
  root.transactionSync(() => gc.add(['other']));
  t.same(gc.due(5_000, 10), ['slow'], 'the pending release is not due though forgotten');
  slower!.committed();
  t.same(gc.due(5_000, 10), ['slow'], 'and is remembered again from its commit');
  clock.advance(5_001);
  t.same(gc.due(5_000, 10), ['other', 'slow', 'slower'], 'all due once the grace has passed');
});

// due() walked the whole table on every reaper pass (every 2 s), past every file still in its
// grace period: 10,000 recent releases cost 3-5 ms of the event loop a pass. Now the remembered
// releases, in time order, are read up to the first still in its grace, and the table is walked
// only while it may hold files not remembered (an earlier process's queue, forgotten releases, a
// dequeue that did not commit). Counted with DeletionQueue.visited.
t.test('a pass reads what it lists, not the files still in their grace period', async (t) => {
  const { root, gc } = deletionQueue(t);
  const clock = monotonicClock(t);
  const ids = Array.from({ length: 10_000 }, (_, i) => `f${String((i * 7919) % 10_000).padStart(5, '0')}`);
  for (let i = 0; i < ids.length; i += 1000) root.transactionSync(() => gc.add(ids.slice(i, i + 1000)));
  const pass = (limit = 1000, skip?: (id: string) => boolean): { due: string[]; visited: number } => {
    const before = gc.visited;
    const due = gc.due(5_000, limit, skip);
    return { due, visited: gc.visited - before };
  };
  t.same(pass().due, [], 'none due: the first pass walks the table once (an earlier process may have queued files)');
  const idle = pass();
  t.same(idle.due, [], 'none due');
  t.ok(idle.visited <= 1, `and the next looks at no file in its grace (${idle.visited} visited)`);
  clock.advance(5_001);
  const sorted = [...ids].sort();
  const first = pass(100);
  t.same(first.due.length, 100, 'past the grace: a batch');
  t.same(first.due, [...first.due].sort(), 'in id order');
  t.ok(first.visited <= 101, `reading about the batch (${first.visited} visited)`);
  root.transactionSync(() => gc.remove(first.due));
  const skipped = new Set(sorted.filter((id) => !first.due.includes(id)).slice(0, 5));
  const rest = pass(20_000, (id) => skipped.has(id));
  t.same(rest.due, sorted.filter((id) => !first.due.includes(id) && !skipped.has(id)), 'the rest, but those skipped');

  // A dequeue that does not commit leaves its files queued and forgotten: found at once.
  let fate: ReturnType<DeletionQueue['end']>;
  t.throws(() =>
    root.transactionSync(() => {
      gc.begin();
      gc.remove(rest.due);
      fate = gc.end();
      throw new Error('aborted');
    }),
  );
  fate!.undo();
  root.transactionSync(() => gc.add(['g1']));
  t.same(pass(20_000).due, [...rest.due, ...skipped].sort(), 'the files of the undone dequeue, still queued, are due; the new release waits');
  root.transactionSync(() => gc.remove([...rest.due, ...skipped]));
  pass();
  const quiet = pass();
  t.same(quiet.due, [], 'once they are dequeued, none');
  t.ok(quiet.visited <= 1, `and the table is no longer walked (${quiet.visited} visited)`);

  // Forgotten past the memory span: due, found by a walk of the table.
  clock.advance(RELEASE_MEMORY_MS + 1);
  root.transactionSync(() => gc.add(['g2']));
  t.same(pass().due, ['g1'], 'a release forgotten is due; the new one waits');
  // Those an earlier process queued (a queue opened again): due at once.
  const again = new DeletionQueue(root);
  t.same(again.due(5_000, 10), ['g1', 'g2'], 'an earlier process\u2019s queue is due at once');
});

/**
 * A Reaper over `meta` whose dequeue commits fail (EIO, as on a failing disk) while `failing.on`,
 * and the failedPasses of each "could not update the deletion queue" line it warned.
 */
function failingReaper(meta: MetaStore, files: FileStore): { reaper: Reaper; failing: { on: boolean }; warned(): number[] } {
  const failing = { on: true };
  const eio = (): Error => Object.assign(new Error('input/output error'), { code: 'EIO' });
  const failingMeta = new Proxy(meta, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop === 'dequeueFiles' && failing.on) return () => Promise.reject(eio());
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const lines: Array<{ msg: string; failedPasses?: number }> = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l) as { msg: string; failedPasses?: number }) });
  return {
    reaper: new Reaper(failingMeta, files, log),
    failing,
    warned: () => lines.filter((l) => l.msg.startsWith('could not update the deletion queue')).map((l) => l.failedPasses ?? -1),
  };
}

t.test('a deletion queue that cannot be updated is warned about once a minute, not at every pass', async (t) => {
  const clock = monotonicClock(t);
  const s = await store(t);
  const meta = s.open();
  t.teardown(() => meta.close());
  const id = await s.release(meta, 'k');
  // The commit that dequeues the deleted files fails, as on a failing disk, until `failing.on` ends.
  const { reaper, failing, warned } = failingReaper(meta, s.files);

  t.equal(await reaper.kick(0), 0, 'the pass failed');
  t.same(warned(), [1], 'the first failure is warned about at once');
  // A pass every 2 s (the timer's interval) for 58 s: each failed the same way.
  for (let i = 0; i < 29; i++) {
    clock.advance(2_000);
    await reaper.kick(0);
  }
  t.same(warned(), [1], 'the passes within the minute are not (they were: one line every 2 s)');
  clock.advance(2_000);
  await reaper.kick(0);
  t.same(warned(), [1, 30], 'a minute on, one line tells the 30 failed passes since the last');
  t.same(meta.queuedFiles(), [id], 'the file stayed queued');
  failing.on = false;
  clock.advance(2_000);
  await reaper.kick(0);
  t.same(meta.queuedFiles(), [], 'once the commit goes through, it is dequeued');
  t.same(warned(), [1, 30], 'and nothing more is warned about');
  await reaper.stop();
});

// Once a pass goes through again the failure is over: the next one (a new failure, seconds later)
// is warned about at once, with its own count, as the disk's other warnings (write-probe.ts) and
// the webhook's (notify/webhook.ts) start again once their condition ended.
t.test('a failure after a pass that went through is warned about at once, counted alone', async (t) => {
  const clock = monotonicClock(t);
  const s = await store(t);
  const meta = s.open();
  t.teardown(() => meta.close());
  await s.release(meta, 'k');
  const { reaper, failing, warned } = failingReaper(meta, s.files);

  await reaper.kick(0);
  clock.advance(2_000);
  await reaper.kick(0);
  t.same(warned(), [1], 'two failed passes: the first warned about');
  failing.on = false;
  clock.advance(2_000);
  t.equal(await reaper.kick(0), 1, 'a pass goes through: the file is deleted');
  t.same(meta.queuedFiles(), [], 'and dequeued');
  // Another file, and the disk fails again ten seconds later.
  await s.release(meta, 'k2');
  failing.on = true;
  clock.advance(10_000);
  await reaper.kick(0);
  t.same(warned(), [1, 1], 'the new failure is warned about at once, counting itself alone (not the pass before the recovery)');
  await reaper.stop();
});
