// Reaper (daemon/storage/reaper.ts) over a real MetaStore and FileStore in a temp dir: a released
// data file is deleted and dequeued after the grace period, but not one a read pins after the pass
// read its list (here: while the pass waits on the backup probe); that one stays on disk and
// queued, and goes in the pass after the read lets go. The grace period against clock steps and
// restarts: reaper-clock.test.ts.
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, promises as fsp, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { FileStore } from '../../../../daemon/storage/files.js';
import { Reaper } from '../../../../daemon/storage/reaper.js';

const dir = mkdtempSync(join(tmpdir(), 's3d-reaper-'));
const files = new FileStore(dir, { warmBytes: 0 });
await files.init();
const meta = new MetaStore(join(dir, '.s3d'));
t.teardown(async () => {
  await meta.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A committed data file of a few bytes; its id. */
async function dataFile(): Promise<string> {
  const w = await files.create();
  await w.write(Buffer.from('data'));
  await w.commit();
  return w.id;
}
const rec = (file: string): ObjectRecord => ({ v: RECORD_VERSION, size: 4, etag: 'e', mtime: 1, headers: {}, userMeta: {}, data: { file }, stored: 4 });

t.test('a file pinned after the pass read its list is neither deleted nor dequeued', async (t) => {
  await meta.createBucket('b');
  const [a, b, c] = [await dataFile(), await dataFile(), await dataFile()];
  await meta.putObject('b', 'k', rec(a));
  await meta.putObject('b', 'k', rec(b));
  await meta.putObject('b', 'k', rec(c));
  t.same(meta.queuedFiles().sort(), [a, b].sort(), 'the overwritten files are queued');
  let unpin: (() => void) | undefined;
  // The probe runs after the list was read: a read pins `a` meanwhile.
  const reaper = new Reaper(meta, files, pino({ level: 'silent' }), {
    held: async () => {
      unpin ??= files.pin([a]);
      return false;
    },
  });
  await reaper.kick(0);
  t.ok(existsSync(files.pathOf(a)), 'the pinned file is still on disk');
  t.same(meta.queuedFiles(), [a], 'and still queued');
  t.notOk(existsSync(files.pathOf(b)), 'the other released file is deleted');
  t.ok(existsSync(files.pathOf(c)), 'the current object’s file is kept');
  unpin!();
  await reaper.kick(0);
  t.notOk(existsSync(files.pathOf(a)), 'once the read let go, the next pass deletes it');
  t.same(meta.queuedFiles(), [], 'and dequeues it');
  await reaper.stop();
});

t.test('a pass goes on while batches come full', async (t) => {
  // 2,500 released files: one pass used to delete 1,000 and leave the rest to later ticks of its
  // 2 s timer (500 files a second, fewer than deletes release).
  const N = 2500;
  await meta.createBucket('many');
  const released: string[] = [];
  for (let i = 0; i < N; i++) released.push(await dataFile());
  await Promise.all(released.map((f, i) => meta.putObject('many', `k${i}`, rec(f))));
  await Promise.all(released.map((_, i) => meta.deleteObject('many', `k${i}`)));
  const reaper = new Reaper(meta, files, pino({ level: 'silent' }));
  t.equal(await reaper.kick(0), N, 'one pass deletes every released file');
  t.same(meta.queuedFiles(), [], 'and dequeues them');
  t.notOk(released.some((f) => existsSync(files.pathOf(f))), 'all gone');
  await reaper.stop();
});

t.test('the directories of the deleted files are fsynced before the files are dequeued', async (t) => {
  await meta.createBucket('sync');
  const released: string[] = [];
  for (let i = 0; i < 6; i++) released.push(await dataFile());
  for (const [i, f] of released.entries()) await meta.putObject('sync', `k${i}`, rec(f));
  for (let i = 0; i < released.length; i++) await meta.deleteObject('sync', `k${i}`);
  // Watches (changes nothing): which directories were fsynced, and which by the time of the dequeue.
  const synced = new Set<string>();
  const realOpen = fsp.open;
  fsp.open = async (...args: Parameters<typeof realOpen>) => {
    const fh = await realOpen(...args);
    const realSync = fh.sync.bind(fh);
    fh.sync = async () => {
      await realSync();
      if (typeof args[0] === 'string' && statSync(args[0]).isDirectory()) synced.add(args[0]);
    };
    return fh;
  };
  t.teardown(() => {
    fsp.open = realOpen;
  });
  let syncedAtDequeue: string[] | undefined;
  const watched = new Proxy(meta, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop === 'dequeueFiles') syncedAtDequeue ??= [...synced];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const reaper = new Reaper(watched, files, pino({ level: 'silent' }));
  t.equal(await reaper.kick(0), released.length, 'the released files are deleted');
  await reaper.stop();
  const dirs = [...new Set(released.map((f) => dirname(files.pathOf(f))))];
  t.same(dirs.filter((d) => !syncedAtDequeue?.includes(d)), [], `each of their ${dirs.length} directories was fsynced before the dequeue`);
  t.same(meta.queuedFiles(), [], 'and they are dequeued');
});

t.test('a queued file whose directory is gone is dequeued, and the pass goes on with the rest', async (t) => {
  // Its directory removed (by hand, or a data directory copied without its empty directories):
  // there is no removal to make durable. The directory's fsync failed the pass with ENOENT, the
  // same file came first in every later batch, and the queue never drained again.
  await meta.createBucket('nodir');
  const [lost, other] = [await dataFile(), await dataFile()];
  await meta.putObject('nodir', 'a', rec(lost));
  await meta.putObject('nodir', 'b', rec(other));
  await meta.deleteObject('nodir', 'a');
  await meta.deleteObject('nodir', 'b');
  t.same(meta.queuedFiles().sort(), [lost, other].sort(), 'set up: both queued');
  // Its directory, and whatever else was in it, gone.
  const lostDir = dirname(files.pathOf(lost));
  const inLostDir = other.slice(0, 2) === lost.slice(0, 2);
  rmSync(lostDir, { recursive: true, force: true });
  const reaper = new Reaper(meta, files, pino({ level: 'silent' }));
  t.equal(await reaper.kick(0), 2, 'the pass went through');
  await reaper.stop();
  t.same(meta.queuedFiles(), [], 'both are dequeued');
  if (!inLostDir) t.notOk(existsSync(files.pathOf(other)), 'the other file is deleted');
});

t.test('a file that cannot be removed stays queued, is retried later, and does not hold up the rest', async (t) => {
  // Its removal fails (EIO, EACCES: here a non-empty directory in its place, which rm without
  // `recursive` refuses even as root). It was dequeued anyway and stayed on disk for good. More
  // failing files than a batch, first in id order: kept queued and listed again at once, they
  // would fill every batch and the other files would never be deleted.
  await meta.createBucket('stuck');
  const stuck: string[] = [];
  for (let i = 0; i < 1001; i++) stuck.push(`00${i.toString(16).padStart(30, '0')}`);
  for (const id of stuck) {
    mkdirSync(files.pathOf(id), { recursive: true });
    writeFileSync(join(files.pathOf(id), 'x'), 'x');
  }
  await Promise.all(stuck.map((f, i) => meta.putObject('stuck', `s${i}`, rec(f))));
  await Promise.all(stuck.map((_, i) => meta.deleteObject('stuck', `s${i}`)));
  const ok = await dataFile();
  await meta.putObject('stuck', 'ok', rec(ok));
  await meta.deleteObject('stuck', 'ok');
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
  const reaper = new Reaper(meta, files, log, undefined, { retryMs: 300 });
  t.equal(await reaper.kick(0), 1, 'the pass deletes the file it can');
  t.notOk(existsSync(files.pathOf(ok)), 'which is gone');
  t.equal(meta.queuedFiles(2000).length, stuck.length, 'the files it could not remove stay queued');
  t.ok(stuck.every((f) => existsSync(files.pathOf(f))), 'and on disk');
  t.equal(lines.length, 1, `the failures are logged once (${lines.length})`);
  // Released after the failures: the next pass deletes it, the failed ones wait for their retry.
  const ok2 = await dataFile();
  await meta.putObject('stuck', 'ok2', rec(ok2));
  await meta.deleteObject('stuck', 'ok2');
  t.equal(await reaper.kick(0), 1, 'a later pass deletes a file released since');
  t.notOk(existsSync(files.pathOf(ok2)), 'which is gone');
  t.equal(lines.length, 1, 'nothing more logged');
  for (const f of stuck) rmSync(files.pathOf(f), { recursive: true });
  for (const f of stuck.slice(0, 3)) writeFileSync(files.pathOf(f), 'data');
  await new Promise((r) => setTimeout(r, 400));
  t.equal(await reaper.kick(0), stuck.length, 'once removable, a pass after the retry delay removes them');
  t.notOk(stuck.slice(0, 3).some((f) => existsSync(files.pathOf(f))), 'they are gone');
  t.same(meta.queuedFiles(), [], 'and dequeued');
  await reaper.stop();
});

t.test('a file whose removal has begun is gone to a read that pins it meanwhile (ENOENT: it looks its record up again)', async (t) => {
  const a = await dataFile();
  const removal = files.remove(a);
  // The unlink has not run yet: the file is still on disk, but a read must not count on it.
  t.ok(existsSync(files.pathOf(a)), 'still on disk while the removal waits on the thread pool');
  const unpin = files.pin([a]);
  t.throws(() => files.mustExist(a), { code: 'ENOENT' }, 'mustExist answers ENOENT');
  unpin();
  await removal;
  t.throws(() => files.mustExist(a), { code: 'ENOENT' }, 'and after the unlink, as before');
  const b = await dataFile();
  t.doesNotThrow(() => files.mustExist(b), 'a file no removal touches exists');
  await files.remove(b);
  t.throws(() => files.mustExist(b), { code: 'ENOENT' }, 'removed');
});
