// `s3d backup DIR DEST` SIGKILLed right after it made DEST/.s3d, before it had copied anything:
// DEST must already be recognisable as an unfinished backup, so that a retry into it is refused
// as one (not as a mere "not empty") and the next `--into ROOT` run removes it. The run is
// stopped at a known point: DIR's .s3d/store-id is a FIFO, so the backup blocks reading it (the
// step right after DEST/.s3d is made); opening the FIFO for writing without blocking succeeds
// only once the backup is reading it.

import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MAIN, nodeChild, runS3d, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { createBucket } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

/** Opens `fifo` for writing once a reader has it open (ENXIO until then). */
async function writerOnceRead(fifo: string): Promise<number> {
  const tryOpen = (): number => {
    try {
      return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
      return -1;
    }
  };
  return pollUntil(tryOpen, (fd) => fd >= 0, 20_000, 20);
}

t.test('a backup killed right after making DEST/.s3d leaves an unfinished backup', async (t) => {
  const d = await startDaemonFor(t, { dev: true, kms: false });
  const bucket = await createBucket(d.s3(), 'early');
  await d.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: testBytes(200_000) }));
  const base = mkdtempSync(join(tmpdir(), 's3d-backup-early-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  mkdirSync(root);
  const dest = join(root, '20200101T000000Z');
  const fifo = join(d.dataDir, '.s3d', 'store-id');
  rmSync(fifo, { force: true });
  execFileSync('mkfifo', [fifo]);

  const [cmd, argv] = nodeChild([MAIN, 'backup', d.dataDir, dest]);
  const child = spawn(cmd, argv, { env: { PATH: process.env.PATH }, stdio: 'ignore' });
  const ended = new Promise((resolve) => child.once('close', resolve));
  // Held open: the backup stays blocked in its read (no end of file) until it is killed.
  const fd = await writerOnceRead(fifo);
  child.kill('SIGKILL');
  await ended;
  closeSync(fd);
  rmSync(fifo);
  t.ok(existsSync(join(dest, '.s3d', 'backup-incomplete')), `DEST carries the unfinished marker (DEST/.s3d holds: ${readdirSync(join(dest, '.s3d')).join(', ') || 'nothing'})`);

  const retry = await runS3d(['backup', d.dataDir, dest], {}, 30_000);
  t.equal(retry.code, 2, 'a retry into DEST is refused');
  t.match(retry.stderr, /is an unfinished backup/, `as an unfinished backup: ${retry.stderr.trim()}`);

  const r = await runS3d(['backup', d.dataDir, '--into', root], {}, 30_000);
  t.equal(r.code, 0, `the next rotated backup ends well ${r.stderr.trim()}`);
  t.match(r.stdout, /removed unfinished backup .*20200101T000000Z$/m, 'and removes the killed one');
  t.notOk(existsSync(dest), 'which is gone');
});

// Killed a step earlier, between `mkdir DEST/.s3d` (or `--into`'s `mkdir ROOT/<timestamp>`) and
// the marker: DEST holds only an empty .s3d (or nothing). A retry said "not empty" and rotation
// never removed it; the states are built by hand (no step blocks between those two).
t.test('a backup killed before its marker: an empty .s3d, an empty timestamp directory', async (t) => {
  const d = await startDaemonFor(t, { dev: true, kms: false });
  const bucket = await createBucket(d.s3(), 'earlier');
  await d.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: testBytes(1000) }));
  const base = mkdtempSync(join(tmpdir(), 's3d-backup-earlier-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  const dest = join(root, '20200101T000000Z');
  mkdirSync(join(dest, '.s3d'), { recursive: true });
  mkdirSync(join(root, '20200101T000001Z'));
  // Not empty: kept.
  mkdirSync(join(root, '20200101T000002Z', '.s3d'), { recursive: true });
  writeFileSync(join(root, '20200101T000002Z', '.s3d', 'notes'), 'mine');

  const retry = await runS3d(['backup', d.dataDir, dest], {}, 30_000);
  t.equal(retry.code, 2, 'a retry into DEST is refused');
  t.match(retry.stderr, /is an unfinished backup/, `as an unfinished backup: ${retry.stderr.trim()}`);

  const r = await runS3d(['backup', d.dataDir, '--into', root], {}, 30_000);
  t.equal(r.code, 0, `the next rotated backup ends well ${r.stderr.trim()}`);
  t.match(r.stdout, /removed unfinished backup .*20200101T000000Z$/m, 'removes the one with an empty .s3d');
  t.match(r.stdout, /removed unfinished backup .*20200101T000001Z$/m, 'and the empty one');
  t.notOk(existsSync(dest), 'gone');
  t.notOk(existsSync(join(root, '20200101T000001Z')), 'gone');
  t.ok(existsSync(join(root, '20200101T000002Z', '.s3d', 'notes')), 'a timestamp directory holding a file stays');
});
