// `s3d backup DIR --into ROOT --keep N` beside a serving daemon: each run makes a new
// ROOT/<UTC timestamp>; after it ended well the oldest finished backups beyond N go, and so do
// unfinished ones older than it; anything else in ROOT stays, and a refused or failed run removes
// nothing. Two backups within one second get distinct names (the unit test of
// daemon/backup-rotate.ts pins the names; here two runs back to back).

import t from 'tap';
import { MetaStore } from '../../daemon/meta/store.js';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { runS3d, startDaemonFor, testBytes, type S3dRun } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { createBucket, getBytes } from '../helpers/s3.js';

const s3d = (args: string[]): Promise<S3dRun> => runS3d(args, {}, 30_000);

const STAMP = /^\d{8}T\d{6}Z(-\d+)?$/;

/** A backup-looking directory: s3d metadata, with the unfinished marker or not. */
function fakeBackup(dir: string, unfinished: boolean): void {
  mkdirSync(join(dir, '.s3d', 'meta'), { recursive: true });
  writeFileSync(join(dir, '.s3d', 'meta', 'data.mdb'), 'x');
  if (unfinished) writeFileSync(join(dir, '.s3d', 'backup-incomplete'), 'killed');
}

t.test('--into ROOT --keep 2, three times beside a serving daemon', async (t) => {
  const d = await startDaemonFor(t, { dev: true, kms: false });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'rot');
  const base = mkdtempSync(join(tmpdir(), 's3d-backup-rotate-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  mkdirSync(root);
  // Not backups: a stray file, a directory of another name, a timestamp-named directory without s3d's files.
  writeFileSync(join(root, 'README'), 'mine');
  mkdirSync(join(root, 'manual-copy'));
  fakeBackup(join(root, 'manual-copy'), false);
  mkdirSync(join(root, '20200101T000000Z'));
  writeFileSync(join(root, '20200101T000000Z', 'notes'), 'mine');
  // Backups: an old finished one (pruned once two newer exist), an unfinished one older than
  // every run (removed by the first), and an unfinished one dated after them (a backup running
  // now, as far as a run can tell: left alone).
  fakeBackup(join(root, '20240101T000000Z'), false);
  fakeBackup(join(root, '20250101T000000Z'), true);
  fakeBackup(join(root, '29991231T235959Z'), true);
  const others = ['20200101T000000Z', '29991231T235959Z', 'README', 'manual-copy'];
  const stamps = (): string[] => readdirSync(root).filter((e) => STAMP.test(e) && !others.includes(e)).sort();

  const names: string[] = [];
  for (let i = 0; i < 3; i++) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `obj-${i}`, Body: testBytes(300_001 + i, i + 1) }));
    const r = await s3d(['backup', d.dataDir, '--into', root, '--keep', '2']);
    t.equal(r.code, 0, `run ${i + 1}: exit 0 ${r.stderr.trim()}`);
    const into = /^s3d backup: backing up into (.+)$/m.exec(r.stdout)?.[1];
    t.ok(into !== undefined && STAMP.test(into.slice(root.length + 1)), `run ${i + 1}: into ${into}`);
    names.push(into!.slice(root.length + 1));
    t.equal(statSync(into!).mode & 0o777, 0o700, 'the new directory is 0700');
    if (i === 0) {
      t.match(r.stdout, new RegExp(`^s3d backup: removed unfinished backup ${root}/20250101T000000Z$`, 'm'), 'the older unfinished backup is removed, and said so');
      t.match(r.stdout, /^s3d backup: 0 old and 1 unfinished backup\(s\) removed from .* \(keeping the newest 2\)$/m);
      t.same(stamps(), ['20240101T000000Z', names[0]], 'two finished: none pruned yet');
    }
    if (i === 1) t.match(r.stdout, new RegExp(`^s3d backup: removed old backup ${root}/20240101T000000Z$`, 'm'), 'the oldest finished one is removed');
    if (i === 2) t.match(r.stdout, new RegExp(`^s3d backup: removed old backup ${root}/${names[0]}$`, 'm'), "the first run's backup is removed");
  }
  t.equal(new Set(names).size, 3, `three distinct names (${names.join(', ')}): two runs within one second get -2`);
  t.same(stamps(), [names[1], names[2]], 'ROOT holds exactly the two newest backups');
  for (const e of others) t.ok(existsSync(join(root, e)), `${e} is untouched`);
  t.ok(existsSync(join(root, '20200101T000000Z', 'notes')), 'with its contents');

  // The newest serves the last object.
  const newest = join(root, names[2]!);
  const d2 = await startDaemonFor(t, { dataDir: newest, dev: true, kms: false });
  t.ok((await getBytes(d2.s3(), { Bucket: bucket, Key: 'obj-2' })).equals(testBytes(300_003, 3)), 'the newest backup serves the last object');

  // A refused run (DIR without s3d data) and a failed one (a data file missing in DIR) remove nothing, not even with --keep 1.
  const before = readdirSync(root).sort();
  const empty = join(base, 'empty');
  mkdirSync(empty);
  const refused = await s3d(['backup', empty, '--into', root, '--keep', '1']);
  t.equal(refused.code, 2, 'refused: exit 2');
  t.match(refused.stderr, /no s3d data in /);
  t.same(readdirSync(root).sort(), before, 'refused: ROOT as it was (its own new directory removed too)');
  // The middle backup, as a DIR with one data file gone: the copy fails.
  const damaged = join(root, names[1]!);
  rmSync(dataFilePaths(damaged)[0]!);
  const failed = await s3d(['backup', damaged, '--into', root, '--keep', '1']);
  t.equal(failed.code, 1, `failed: exit 1`);
  t.match(failed.stderr, /failed: data file .* is missing/);
  t.notMatch(failed.stdout, /removed/, 'says nothing was removed');
  t.same(readdirSync(root).sort(), before, 'failed: ROOT as it was, every earlier backup kept');
});

t.test('a ROOT shared by two data directories: each run counts and removes only its own store\'s backups', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 's3d-backup-rotate-shared-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  const [a, b] = [join(base, 'a'), join(base, 'b')];
  for (const dir of [a, b]) await new MetaStore(join(dir, '.s3d')).close();
  // A backup from before store ids: its owner unknown, so kept once ROOT is seen to be shared.
  fakeBackup(join(root, '20240101T000000Z'), false);
  const into = async (dir: string): Promise<string> => {
    const r = await s3d(['backup', dir, '--into', root, '--keep', '1']);
    t.equal(r.code, 0, `backup of ${dir}: exit 0 ${r.stderr.trim()}`);
    return /^s3d backup: backing up into (.+)$/m.exec(r.stdout)![1]!.slice(root.length + 1);
  };
  const idOf = (dir: string): string | undefined => (existsSync(join(dir, '.s3d', 'store-id')) ? readFileSync(join(dir, '.s3d', 'store-id'), 'utf8') : undefined);
  const a1 = await into(a);
  const idA = idOf(a);
  t.match(idA, /^[0-9a-f]{32}\n$/, 'the first backup gives DIR a store id');
  t.equal(idOf(join(root, a1)), idA, 'and the backup carries it');
  t.notOk(existsSync(join(root, '20240101T000000Z')), 'ROOT not yet shared: the backup from before ids counts as A\'s and goes beyond --keep 1');
  fakeBackup(join(root, '20240101T000000Z'), false);
  const b1 = await into(b);
  t.not(idOf(b), idA, 'B has an id of its own');
  t.ok(existsSync(join(root, a1)), "B's run leaves A's backup");
  t.ok(existsSync(join(root, '20240101T000000Z')), 'and the one without an id, ROOT being shared');
  // B's backup running now (unfinished, older than A's next run): A's run must not remove it.
  const running = '20250101T000000Z';
  fakeBackup(join(root, running), true);
  writeFileSync(join(root, running, '.s3d', 'store-id'), idOf(b) ?? '');
  const a2 = await into(a);
  t.same(readdirSync(root).sort(), ['20240101T000000Z', running, a2, b1].sort(), "A's run removed its older backup only: B's and B's running one are kept");
  const b2 = await into(b);
  t.same(readdirSync(root).sort(), ['20240101T000000Z', a2, b2].sort(), "B's run removed B's older and unfinished ones only");
});

t.test('usage errors: exit 2', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 's3d-backup-rotate-usage-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  for (const args of [
    ['d', '--into', root, '--keep', '0'],
    ['d', '--into', root, '--keep', 'x'],
    ['d', '--into', root, '--keep', '-1'],
    ['d', '--into', root, '--keep'],
    ['d', 'dest', '--into', root],
    ['d', 'dest', '--keep', '2'],
    ['d', '--into'],
    ['d', '--into', root, '--into', root],
    ['d', '--into', root, '--no-space-check', '--no-space-check'],
    ['d', '--no-space-check'],
  ]) {
    const r = await s3d(['backup', ...args]);
    t.equal(r.code, 2, `s3d backup ${args.join(' ')}: exit 2`);
    t.match(r.stderr, /^s3d backup: (--keep takes a whole number|--keep needs|--into needs|--into given twice|--no-space-check given twice|with --into ROOT, give DIR alone|no DEST given)[^\n]*\n\nusage: s3d backup DIR DEST \[--no-space-check\]\n {7}s3d backup DIR --into ROOT \[--keep N\] \[--no-space-check\]/, 'what is wrong, then the usage');
  }
  t.notOk(existsSync(root), 'ROOT was not made');
  // A ROOT inside DIR's .s3d was made there (with the new backup's directory, removed again)
  // before the backup was refused: a stray directory among the daemon's own files.
  const store = join(base, 'store');
  // A real (empty) metadata store: a file LMDB would crash on is refused before the paths are looked at.
  await new MetaStore(join(store, '.s3d')).close();
  const inside = await s3d(['backup', store, '--into', join(store, '.s3d', 'backups')]);
  t.equal(inside.code, 2, 'ROOT inside the data directory\'s .s3d: exit 2');
  t.match(inside.stderr, `s3d backup: ROOT ${join(store, '.s3d', 'backups')} is inside the data directory's .s3d`);
  t.same(readdirSync(join(store, '.s3d')), ['meta'], 'nothing was made there');
  const help = await s3d(['backup', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--into ROOT: the backup goes into a new directory ROOT\/<UTC timestamp>/);
});
