// storage/disk-space.ts with a scripted statfs and clock: the reserve (bytes, percentage, the
// smaller of both, off), admission against the last statfs less what was written since and what
// writes in progress hold, when statfs is asked again (age, bytes written, before a refusal, after
// a failed write's file was deleted), the warning when free space crosses below the reserve and
// the info line back above, the rate-limited "disk full" warning (its last count told at stop()), a failing statfs, and which
// errors mean the disk is full.

import t from 'tap';
import type { Logger } from 'pino';
import { DiskSpace, isNoSpaceError, type FsUsage } from '../../../../daemon/storage/disk-space.js';
import { MetaCommitError } from '../../../../daemon/meta/store.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

interface Line {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  msg: string;
}

function harness(minFree: { bytes: number; percent: number }, usage: FsUsage) {
  const lines: Line[] = [];
  const rec = (level: Line['level']) => (fields: Record<string, unknown> | string, msg?: string) => {
    if (typeof fields === 'string') lines.push({ level, fields: {}, msg: fields });
    else lines.push({ level, fields, msg: msg ?? '' });
  };
  const log = { info: rec('info'), warn: rec('warn'), error: rec('error') } as unknown as Logger;
  const fs = { usage: { ...usage }, calls: 0, fail: undefined as Error | undefined };
  let now = 0;
  const disk = new DiskSpace('/data', {
    minFree,
    log,
    now: () => now,
    statfs: async () => {
      fs.calls++;
      if (fs.fail) throw fs.fail;
      return { ...fs.usage };
    },
  });
  return {
    disk,
    fs,
    lines,
    advance(ms: number) {
      now += ms;
    },
    /** Lets a refresh kicked off in the background finish. */
    settle: () => new Promise<void>((r) => setImmediate(r)),
  };
}

t.test('the reserve: bytes, a share of the filesystem, the smaller of both, or off', async (t) => {
  const total = 100 * MiB;
  const reserve = async (minFree: { bytes: number; percent: number }): Promise<number> => {
    const h = harness(minFree, { free: 50 * MiB, total });
    await h.disk.refresh();
    return h.disk.minFreeBytes;
  };
  t.equal(await reserve({ bytes: 10 * MiB, percent: Infinity }), 10 * MiB, 'a size');
  t.equal(await reserve({ bytes: Infinity, percent: 5 }), 5 * MiB, 'a percentage of the total');
  t.equal(await reserve({ bytes: GiB, percent: 1 }), Math.ceil(total / 100), 'the default on a small disk: 1 %');
  const big = harness({ bytes: GiB, percent: 1 }, { free: 500 * GiB, total: 1000 * GiB });
  await big.disk.refresh();
  t.equal(big.disk.minFreeBytes, GiB, 'the default on a large disk: 1 GiB');
  t.equal(await reserve({ bytes: 0, percent: 0 }), 0, 'off');
  const unread = harness({ bytes: Infinity, percent: 5 }, { free: 0, total: 0 });
  t.equal(unread.disk.minFreeBytes, 0, 'a percentage before the first statfs is 0, not NaN');
});

t.test('admission: the last statfs, less what was written since and what writes in progress hold', async (t) => {
  const h = harness({ bytes: 10 * MiB, percent: Infinity }, { free: 50 * MiB, total: 100 * MiB });
  await h.disk.refresh();
  t.ok(h.disk.admits(40 * MiB), 'exactly down to the reserve');
  t.notOk(h.disk.admits(40 * MiB + 1), 'one byte more is refused');
  const a = await h.disk.hold(20 * MiB);
  t.ok(a, 'a 20 MiB write is admitted');
  t.equal(h.disk.estimatedFree, 30 * MiB, 'and held against the free space');
  t.equal(await h.disk.hold(25 * MiB), undefined, 'a second write that would eat into the reserve is refused');
  const b = await h.disk.hold(15 * MiB);
  t.ok(b, 'one that fits is admitted');
  a!.release();
  a!.release();
  t.equal(h.disk.estimatedFree, 15 * MiB, 'a released write counts as written until statfs sees it (release is idempotent)');
  h.fs.usage.free = 30 * MiB;
  h.advance(2000);
  await h.disk.refresh();
  t.equal(h.disk.estimatedFree, 15 * MiB, 'after statfs: its figure, less the write still in progress');
  b!.release();
  t.equal(h.disk.estimatedFree, 15 * MiB);
});

t.test('statfs is asked again when the snapshot is a second old or 64 MiB were written, and before a refusal', async (t) => {
  const h = harness({ bytes: MiB, percent: Infinity }, { free: 500 * MiB, total: GiB });
  await h.disk.refresh();
  const calls = h.fs.calls;
  for (let i = 0; i < 100; i++) h.disk.admits(MiB);
  await h.settle();
  t.equal(h.fs.calls, calls, 'a hundred admissions within the second: no statfs');
  h.advance(1001);
  h.disk.admits(MiB);
  h.disk.admits(MiB);
  await h.settle();
  t.equal(h.fs.calls, calls + 1, 'a second later: one statfs for both');

  for (let i = 0; i < 66; i++) (await h.disk.hold(MiB))!.release();
  await h.settle();
  t.equal(h.fs.calls, calls + 2, 'more than 64 MiB written: statfs again, within the second');

  // Space freed by someone else is seen before a write is refused, without waiting for the poll.
  h.fs.usage.free = 2 * MiB;
  h.advance(1001);
  await h.disk.refresh();
  t.notOk(h.disk.admits(2 * MiB), 'refused on the snapshot');
  h.fs.usage.free = 100 * MiB;
  h.advance(150);
  t.ok(await h.disk.admitsNow(2 * MiB), 'admitsNow looks again before refusing');
  h.fs.usage.free = 2 * MiB;
  h.advance(150);
  t.ok(await h.disk.hold(2 * MiB), 'the snapshot admits without looking');
  h.advance(150);
  t.equal(await h.disk.hold(200 * MiB), undefined, 'hold looks again and still refuses');
});

t.test('a failed write\'s file deleted: the next refusal looks again, however new the snapshot', async (t) => {
  // A 16 MiB write in progress when statfs ran; it failed and its file was deleted.
  const h = harness({ bytes: 8 * MiB, percent: Infinity }, { free: 24 * MiB, total: 32 * MiB });
  await h.disk.refresh();
  const w = (await h.disk.hold(16 * MiB))!;
  h.fs.usage.free = 8 * MiB;
  h.advance(150);
  await h.disk.refresh();
  h.fs.usage.free = 24 * MiB;
  w.release(false);
  h.advance(10);
  t.equal(await h.disk.hold(MiB), undefined, 'before freed(): the 10 ms old snapshot still counts the deleted file');
  const calls = h.fs.calls;
  h.disk.freed();
  t.ok(await h.disk.hold(MiB), 'after freed(): statfs again, and the write is admitted');
  t.equal(h.fs.calls, calls + 1, 'with one statfs');
  t.equal(await h.disk.hold(30 * MiB), undefined, 'a refusal after that needs no new statfs');
  t.equal(h.fs.calls, calls + 1, 'and asks none');

  // A statfs issued before the file was deleted (its answer still counts the file) is not the
  // second look: the scripted statfs reads the usage when called, the answer comes later.
  const slow = harness({ bytes: 8 * MiB, percent: Infinity }, { free: 8 * MiB, total: 32 * MiB });
  await slow.disk.refresh();
  slow.advance(150);
  const inFlight = slow.disk.refresh();
  slow.fs.usage.free = 24 * MiB;
  slow.disk.freed();
  await inFlight;
  const before = slow.fs.calls;
  t.ok(await slow.disk.hold(MiB), 'admitted: statfs asked again after the deletion');
  t.equal(slow.fs.calls, before + 1, 'once');
});

t.test('without a reserve every write is admitted and statfs is not asked per write', async (t) => {
  const h = harness({ bytes: 0, percent: 0 }, { free: 0, total: 100 * MiB });
  await h.disk.refresh();
  const calls = h.fs.calls;
  h.advance(10_000);
  t.ok(h.disk.admits(GiB), 'admitted on a full disk');
  t.ok(await h.disk.hold(GiB), 'held too');
  await h.settle();
  t.equal(h.fs.calls, calls, 'no statfs');
});

t.test('crossing the reserve: one warning below, one info line back above', async (t) => {
  const h = harness({ bytes: 10 * MiB, percent: Infinity }, { free: 50 * MiB, total: 100 * MiB });
  await h.disk.start();
  t.teardown(() => h.disk.stop());
  t.match(h.lines[0], { level: 'info', fields: { freeBytes: 50 * MiB, totalBytes: 100 * MiB, minFreeBytes: 10 * MiB } }, 'start-up line with the figures');
  h.fs.usage.free = 9 * MiB;
  await h.disk.refresh();
  await h.disk.refresh();
  h.fs.usage.free = 8 * MiB;
  await h.disk.refresh();
  const below = h.lines.filter((l) => /below S3_MIN_FREE_DISK/.test(l.msg));
  t.equal(below.length, 1, 'one warning however many looks');
  t.match(below[0], { level: 'warn', fields: { freeBytes: 9 * MiB, minFreeBytes: 10 * MiB } });
  h.fs.usage.free = 12 * MiB;
  await h.disk.refresh();
  await h.disk.refresh();
  const above = h.lines.filter((l) => /above S3_MIN_FREE_DISK again/.test(l.msg));
  t.equal(above.length, 1, 'one info line back above');
  t.equal(above[0]!.level, 'info');
  h.fs.usage.free = 1 * MiB;
  await h.disk.refresh();
  t.equal(h.lines.filter((l) => /below S3_MIN_FREE_DISK/.test(l.msg)).length, 2, 'the next crossing warns again');
});

t.test('a write that met a full disk: warned at most once a minute, with the count', async (t) => {
  const h = harness({ bytes: 0, percent: 0 }, { free: 0, total: 100 * MiB });
  await h.disk.refresh();
  const err = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  h.disk.noteFull(err, 'PutObject');
  await h.settle();
  h.disk.noteFull(err, 'PutObject');
  h.advance(30_000);
  h.disk.noteFull(err, 'UploadPart');
  await h.settle();
  let full = h.lines.filter((l) => /data disk is full/.test(l.msg));
  t.equal(full.length, 1, 'one warning in the first minute');
  t.match(full[0], { level: 'warn', fields: { op: 'PutObject', code: 'ENOSPC', syscall: 'write', failedWrites: 1 } });
  t.notOk('stack' in full[0]!.fields || 'err' in full[0]!.fields, 'no stack trace');
  h.advance(31_000);
  h.disk.noteFull(err, 'CopyObject');
  await h.settle();
  full = h.lines.filter((l) => /data disk is full/.test(l.msg));
  t.equal(full.length, 2, 'again after a minute');
  t.match(full[1], { fields: { op: 'CopyObject', failedWrites: 3 } }, 'counting the writes that failed since the last warning');
});

t.test('stop(): the writes failed since the last "disk full" warning are told, none left for a warning that never comes', async (t) => {
  const h = harness({ bytes: 0, percent: 0 }, { free: 0, total: 100 * MiB });
  await h.disk.start();
  const err = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  h.disk.noteFull(err, 'PutObject');
  await h.settle();
  h.disk.noteFull(err, 'PutObject');
  h.disk.noteFull(err, 'UploadPart');
  await h.settle();
  t.equal(h.lines.filter((l) => /data disk is full/.test(l.msg)).length, 1, 'one warning within the minute');
  h.disk.stop();
  const full = h.lines.filter((l) => /data disk is full/.test(l.msg));
  t.equal(full.length, 2, 'a second at stop');
  t.match(full[1], { level: 'warn', fields: { op: 'UploadPart', code: 'ENOSPC', failedWrites: 2 } }, 'with the two held back');
  h.disk.stop();
  t.equal(h.lines.filter((l) => /data disk is full/.test(l.msg)).length, 2, 'told once');
});

t.test('a failing statfs: warned once, the last figures kept', async (t) => {
  const h = harness({ bytes: 10 * MiB, percent: Infinity }, { free: 50 * MiB, total: 100 * MiB });
  await h.disk.refresh();
  h.fs.fail = Object.assign(new Error('EIO: i/o error, statfs'), { code: 'EIO' });
  h.advance(2000);
  await h.disk.refresh();
  h.advance(2000);
  await h.disk.refresh();
  t.equal(h.lines.filter((l) => /statfs/.test(l.msg)).length, 1, 'one warning');
  t.equal(h.disk.freeBytes, 50 * MiB, 'the last figures stay');
  t.ok(h.disk.admits(MiB), 'and admission goes on with them');
});

t.test('isNoSpaceError', async (t) => {
  const e = (code: unknown): Error => Object.assign(new Error(String(code)), { code });
  t.ok(isNoSpaceError(e('ENOSPC')), 'ENOSPC');
  t.ok(isNoSpaceError(e('EDQUOT')), 'EDQUOT (quota)');
  t.ok(isNoSpaceError(new MetaCommitError('ENOSPC', e(28))), 'an LMDB commit that failed with ENOSPC');
  t.ok(isNoSpaceError(new MetaCommitError('MDB_MAP_FULL', e(-30792))), 'MDB_MAP_FULL');
  t.ok(isNoSpaceError(new Error('wrapped', { cause: e('ENOSPC') })), 'as the cause of another error');
  t.notOk(isNoSpaceError(new MetaCommitError('EIO', e(5))), 'EIO alone is not (statfs decides)');
  t.notOk(isNoSpaceError(e('ENOENT')), 'ENOENT');
  t.notOk(isNoSpaceError(e(28)), 'a bare errno number is not an fs error code');
  t.notOk(isNoSpaceError(undefined));
  t.notOk(isNoSpaceError('ENOSPC'));
});
