// storage/write-probe.ts on its own: the verdict on the data directory, probed at most once per
// memo period, a probe that stalls answered as ETIMEDOUT (and not started again while stuck), the
// warning when writes start failing and the line when they work again, and which errors mean the
// directory refuses writes (not a read's: CopyObject failing to open its source is no 503).
import t from 'tap';
import type { Logger } from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaCommitError } from '../../../../daemon/meta/store.js';
import { WriteProbe, notWritableCode } from '../../../../daemon/storage/write-probe.js';
import { FileStore } from '../../../../daemon/storage/files.js';

function recorder(): { log: Logger; lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const rec = (level: string) => (fields: unknown, msg?: string) => lines.push({ level, msg: typeof fields === 'string' ? fields : (msg ?? '') });
  return { log: { info: rec('info'), warn: rec('warn'), error: rec('error') } as unknown as Logger, lines };
}

const errno = (code: string, syscall = 'open') => Object.assign(new Error(`${code}: refused`), { code, syscall });

t.test('a writable directory, for real: writable, and the probe file is gone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-probe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const probe = new WriteProbe(dir, { log: recorder().log });
  t.same(await probe.check(), { writable: true });
  t.same(await import('node:fs').then((fs) => fs.readdirSync(dir)), [], 'nothing left behind');
});

t.test('refused, memoised, warned once, then writable again', async (t) => {
  let now = 0;
  let calls = 0;
  let fail: Error | undefined = errno('EROFS');
  const { log, lines } = recorder();
  const probe = new WriteProbe('/nowhere', { log, now: () => now, touch: async () => {
    calls++;
    if (fail) throw fail;
  } });
  t.same(await probe.check(), { writable: false, code: 'EROFS' });
  t.same(await probe.check(), { writable: false, code: 'EROFS' }, 'the same verdict within the memo period');
  t.equal(calls, 1, 'one probe');
  now += 1000;
  await probe.check();
  probe.noteFailure('EROFS', 'PutObject');
  t.equal(lines.filter((l) => l.level === 'warn').length, 1, 'one warning while it stays so');
  fail = undefined;
  now += 1000;
  t.same(await probe.check(), { writable: true });
  t.match(lines.at(-1), { level: 'info', msg: 'data directory is writable again' });
  t.equal(lines.filter((l) => l.level === 'warn').length, 2, 'the failure held back told before that line');
  probe.noteFailure('EACCES', 'PutObject');
  t.equal(lines.filter((l) => l.level === 'warn').length, 3, 'a new failure is warned about again');
  fail = Object.assign(new Error('EMFILE'), { code: 'EMFILE' });
  now += 1000;
  t.same(await probe.check(), { writable: true }, 'no descriptor left is no verdict on the directory');
});

t.test('a probe that stalls: ETIMEDOUT after its time, and no second probe while it is stuck', async (t) => {
  let calls = 0;
  const { log, lines } = recorder();
  const probe = new WriteProbe('/nowhere', { log, memoMs: 0, timeoutMs: 50, touch: () => {
    calls++;
    return new Promise<void>(() => undefined);
  } });
  t.same(await probe.check(), { writable: false, code: 'ETIMEDOUT' });
  t.same(await probe.check(), { writable: false, code: 'ETIMEDOUT' }, 'at once, the next time');
  t.equal(calls, 1, 'the stuck probe is not started again');
  t.equal(lines.filter((l) => l.level === 'warn').length, 1, 'warned');
});

t.test('the memo is timed on the monotonic clock: a wall clock stepped back keeps no verdict for the step', async (t) => {
  const real = Date.now;
  let offset = 0;
  Date.now = () => real() + offset;
  t.teardown(() => {
    Date.now = real;
  });
  let fail: Error | undefined = errno('EROFS');
  const probe = new WriteProbe('/nowhere', { log: recorder().log, memoMs: 50, touch: async () => {
    if (fail) throw fail;
  } });
  t.same(await probe.check(), { writable: false, code: 'EROFS' });
  offset = -3_600_000;
  fail = undefined;
  await new Promise((resolve) => setTimeout(resolve, 100));
  // On the wall clock the verdict was an hour in the future: readiness stayed 503 for the hour.
  t.same(await probe.check(), { writable: true }, 'probed again once the memo period passed');
});

t.test('notWritableCode: system calls and LMDB commits refused so, not any EPERM', async (t) => {
  t.equal(notWritableCode(errno('EROFS')), 'EROFS');
  t.equal(notWritableCode(errno('EACCES', 'mkdir')), 'EACCES');
  t.equal(notWritableCode(new Error('wrapped', { cause: errno('EPERM') })), 'EPERM', 'as the cause of another error');
  t.equal(notWritableCode(new MetaCommitError('EROFS', new Error('Read-only file system'))), 'EROFS', 'an LMDB commit');
  t.equal(notWritableCode(Object.assign(new Error('no'), { code: 'EPERM' })), undefined, 'an EPERM that is no system call');
  t.equal(notWritableCode(errno('ENOSPC')), undefined, 'a full disk is not this');
});

t.test('notWritableCode: a read refused is not the directory refusing writes', async (t) => {
  t.equal(notWritableCode(errno('EACCES', 'read')), undefined, 'a read');
  t.equal(notWritableCode(errno('EPERM', 'stat')), undefined, 'a stat');
  t.equal(notWritableCode(new Error('wrapped', { cause: errno('EACCES', 'access') })), undefined, 'wrapped');
  t.equal(notWritableCode(errno('EACCES', 'rename')), 'EACCES', 'a rename still is');
  // As root no open for reading is refused: a real failure of FileStore.open (ENOENT) stands in,
  // given EACCES, as a data file made unreadable would fail.
  const dir = mkdtempSync(join(tmpdir(), 's3d-probe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = new FileStore(dir);
  let err: unknown;
  try {
    files.open('0123456789abcdef0123456789abcdef');
  } catch (e) {
    err = e;
  }
  t.match(err, { code: 'ENOENT', syscall: 'open' }, 'opening a missing data file fails');
  Object.assign(err as object, { code: 'EACCES' });
  t.equal(notWritableCode(err), undefined, "a data file's open for reading is a read");
  t.equal(notWritableCode(errno('EACCES', 'open')), 'EACCES', 'another open (a file created) still is');
});

t.test("failures held back by the once-a-minute warning are told when writes work again, and at stop() (the minute's timer is LogLimit's)", async (t) => {
  let now = 0;
  let fail: Error | undefined = errno('EROFS');
  const counts: number[] = [];
  const lines: Array<{ level: string; msg: string }> = [];
  const rec = (level: string) => (fields: unknown, msg?: string) => {
    lines.push({ level, msg: typeof fields === 'string' ? fields : (msg ?? '') });
    if (level === 'warn') counts.push((fields as { failures: number }).failures);
  };
  const log = { info: rec('info'), warn: rec('warn'), error: rec('error') } as unknown as Logger;
  const probe = new WriteProbe('/nowhere', { log, now: () => now, memoMs: 0, touch: async () => {
    if (fail) throw fail;
  } });
  probe.noteFailure('EROFS', 'PutObject');
  probe.noteFailure('EROFS', 'PutObject');
  probe.noteFailure('EROFS', 'PutObject');
  t.same(counts, [1], 'one warning at once, two failures held back');
  // Writes work again: the two held back are told before the line that says so.
  fail = undefined;
  now += 1000;
  t.same(await probe.check(), { writable: true });
  t.same(counts, [1, 2], 'the held-back failures told when writes work again');
  t.match(lines.at(-1), { level: 'info', msg: 'data directory is writable again' });
  // A new episode, then the daemon stops within the minute.
  probe.noteFailure('EACCES', 'PutObject');
  probe.noteFailure('EACCES', 'PutObject');
  t.same(counts, [1, 2, 1], 'warned at once again');
  probe.stop();
  t.same(counts, [1, 2, 1, 1], 'the one held back told at stop()');
  probe.stop();
  t.same(counts, [1, 2, 1, 1], 'and only once');
});
