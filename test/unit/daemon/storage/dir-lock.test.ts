// The data-directory lock (daemon/storage/dir-lock.ts) with real flock processes: a second taker
// is refused; a lock child gone is reported; without a flock program the daemon is told, and gets an
// unlocked handle, instead of failing to start.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathWithOnlySh } from '../../../helpers/proc.js';
import { join } from 'node:path';
import { DataDirInUseError, lockDataDir } from '../../../../daemon/storage/dir-lock.js';

const dir = mkdtempSync(join(tmpdir(), 's3d-dir-lock-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const lockFile = join(dir, 'lock');

t.test('one holder at a time; released, the next one takes it', async (t) => {
  const first = await lockDataDir(dir, lockFile, () => t.fail('flock is installed'));
  await t.rejects(lockDataDir(dir, lockFile, () => undefined), DataDirInUseError, 'a second taker is refused');
  first.release();
  // The child sees its pipe end and exits: the lock is free again (within moments).
  let second;
  for (let i = 0; i < 50 && second === undefined; i++) {
    second = await lockDataDir(dir, lockFile, () => undefined).catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)));
  }
  t.ok(second, 'the next taker gets it');
  second?.release();
});

t.test('without a flock program: told why, and an unlocked handle', async (t) => {
  pathWithOnlySh(t);
  const reasons: string[] = [];
  const lock = await lockDataDir(dir, join(dir, 'lock2'), (why) => reasons.push(why));
  t.match(reasons, [/no flock program: install util-linux/], 'the reason names the package');
  lock.release();
});
