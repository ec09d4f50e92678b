// The backup hold (daemon/storage/backup-hold.ts) with real flock processes: the daemon's probe
// sees it held and free, a hold file left behind holds nothing, a second backup is refused, one
// that waited for a backup ending gets a hold on the new file (not the removed one), and without
// a flock program the backup cannot take it and the daemon is not held.
import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathWithOnlySh } from '../../../helpers/proc.js';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DeletionHold, HoldBusyError, HoldUnavailableError, holdFile, takeBackupHold } from '../../../../daemon/storage/backup-hold.js';

function dataDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 's3d-backup-hold-'));
  mkdirSync(join(dir, '.s3d'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function recorder(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (_obj: unknown, msg: string) => void lines.push(`${level}: ${msg}`);
  return { log: { info: at('info'), warn: at('warn') } as unknown as Logger, lines };
}

t.test('held while a backup holds it, free once released; said once each way', async (t) => {
  const dir = dataDir(t);
  const { log, lines } = recorder();
  const hold = new DeletionHold(dir, log);
  t.equal(await hold.held(), false, 'no hold file: not held');
  const backup = await takeBackupHold(dir);
  t.ok(existsSync(holdFile(dir)), 'the hold file is there');
  t.equal(await hold.held(), true, 'held');
  t.equal(await hold.held(), true, 'still held');
  await backup.release();
  t.notOk(existsSync(holdFile(dir)), 'released: the file is removed');
  t.equal(await hold.held(), false, 'not held');
  t.same(lines, ['info: a backup holds deletions (s3d backup): released data files stay on disk until it ends', 'info: the backup hold is released: deleting released data files again']);
});

t.test('a hold file nobody holds (a backup killed) holds nothing', async (t) => {
  const dir = dataDir(t);
  writeFileSync(holdFile(dir), '');
  const { log, lines } = recorder();
  t.equal(await new DeletionHold(dir, log).held(), false);
  t.same(lines, []);
  t.ok(existsSync(holdFile(dir)), 'the probe leaves the file alone');
});

t.test('one backup at a time', async (t) => {
  const dir = dataDir(t);
  const first = await takeBackupHold(dir);
  await t.rejects(takeBackupHold(dir, { waitSeconds: 1 }), HoldBusyError, 'a second backup is refused after its wait');
  await first.release();
});

t.test('a backup that waited for one ending holds the new file, not the removed one', async (t) => {
  const dir = dataDir(t);
  const { log } = recorder();
  const first = await takeBackupHold(dir);
  // Opens the file and waits in flock while the first holds it.
  const second = takeBackupHold(dir, { waitSeconds: 5 });
  await new Promise((r) => setTimeout(r, 300));
  await first.release();
  const hold = await second;
  t.ok(existsSync(holdFile(dir)), 'the hold file is there again');
  t.equal(await new DeletionHold(dir, log).held(), true, 'and the daemon finds it held');
  await hold.release();
  t.equal(await new DeletionHold(dir, log).held(), false);
});

t.test('without a flock program: no backup, and the daemon is not held', async (t) => {
  const dir = dataDir(t);
  pathWithOnlySh(t);
  await t.rejects(takeBackupHold(dir), HoldUnavailableError, 'the backup cannot hold');
  const { log, lines } = recorder();
  t.equal(await new DeletionHold(dir, log).held(), false, 'a hold file without flock holds nothing');
  t.match(lines, [/^warn: cannot probe the backup hold/]);
});
