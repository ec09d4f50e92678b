// daemon/backup-rotate.ts: the names of new backups (distinct within one second, and sorting
// after every earlier name of that second) and what pruning removes: a removal that failed
// half-way is finished by the next run; a backup this user cannot read is reported, not touched.

import t, { type Test } from 'tap';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newBackupDir, pruneBackups, timestampOf } from '../../../daemon/backup-rotate.js';

function tempRoot(t: Test): string {
  const base = mkdtempSync(join(tmpdir(), 's3d-rotate-unit-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  return join(base, 'a', 'root');
}

function finish(dir: string, unfinished = false): void {
  mkdirSync(join(dir, '.s3d', 'meta'), { recursive: true });
  writeFileSync(join(dir, '.s3d', 'meta', 'data.mdb'), 'x');
  if (unfinished) writeFileSync(join(dir, '.s3d', 'backup-incomplete'), 'x');
}

const NOW = new Date('2026-12-05T04:49:00.123Z');

t.test('names: the UTC timestamp, then -2, -3 within the same second', async (t) => {
  t.equal(timestampOf(NOW), '20261205T044900Z');
  const root = tempRoot(t);
  const a = await newBackupDir(root, NOW);
  t.equal(a.name, '20261205T044900Z', 'ROOT and its parents made');
  t.equal(statSync(join(root, '..')).mode & 0o777, 0o700, 'made 0700');
  t.equal(statSync(a.dir).mode & 0o777, 0o700);
  const b = await newBackupDir(root, NOW);
  t.equal(b.name, '20261205T044900Z-2', 'the second in the same second');
  // After the bare name was pruned, the next still sorts after -2.
  rmSync(a.dir, { recursive: true });
  t.equal((await newBackupDir(root, NOW)).name, '20261205T044900Z-3');
  t.equal((await newBackupDir(root, new Date(NOW.getTime() + 1000))).name, '20261205T044901Z');
});

t.test('pruning: finished beyond keep, older unfinished; -10 sorts after -9; nothing else', async (t) => {
  const root = tempRoot(t);
  mkdirSync(root, { recursive: true });
  for (const n of ['20261205T044900Z-9', '20261205T044900Z-10', '20261205T044901Z']) finish(join(root, n));
  finish(join(root, '20261205T044800Z'), true);
  finish(join(root, '20261205T045000Z'), true);
  // The marker without metadata: a run killed before its snapshot.
  mkdirSync(join(root, '20261205T044700Z', '.s3d'), { recursive: true });
  writeFileSync(join(root, '20261205T044700Z', '.s3d', 'backup-incomplete'), 'x');
  mkdirSync(join(root, '20261205T040000Z'));
  writeFileSync(join(root, '20261205T040000Z', 'notes'), 'mine');
  finish(join(root, '20261205T040000Z.old'));
  finish(join(root, '20261205T040000Z-0'));
  writeFileSync(join(root, '20261205T030000Z'), 'a file');
  const removed: string[] = [];
  const r = await pruneBackups(root, '20261205T044901Z', 2, (name) => removed.push(name));
  t.same(r, { removed: ['20261205T044900Z-9'], unfinished: ['20261205T044700Z', '20261205T044800Z'], leftovers: [], unreadable: [], others: [], unknown: [] });
  t.same(removed.sort(), ['20261205T044700Z', '20261205T044800Z', '20261205T044900Z-9']);
  t.same(readdirSync(root).sort(), ['20261205T030000Z', '20261205T040000Z', '20261205T040000Z-0', '20261205T040000Z.old', '20261205T044900Z-10', '20261205T044901Z', '20261205T045000Z']);
  t.same(await pruneBackups(root, '20261205T044901Z', undefined), { removed: [], unfinished: [], leftovers: [], unreadable: [], others: [], unknown: [] }, 'no --keep: none removed');
  // A finished backup dated after the new one (a clock set back) still never pushes the new one out.
  finish(join(root, '29990101T000000Z'));
  t.same((await pruneBackups(root, '20261205T044901Z', 1)).removed, ['20261205T044900Z-10']);
  t.ok(readdirSync(root).includes('20261205T044901Z'), 'the new backup is kept');
});

t.test('a removal that failed half-way is finished by the next run', async (t) => {
  const root = tempRoot(t);
  mkdirSync(root, { recursive: true });
  finish(join(root, '20261205T044901Z'));
  // What a failed removal leaves: the renamed directory, its metadata already gone.
  mkdirSync(join(root, '20261205T040000Z.removing', '.s3d', 'objects', 'ab'), { recursive: true });
  writeFileSync(join(root, '20261205T040000Z.removing', '.s3d', 'objects', 'ab', 'f'), 'data');
  // Not ours: no timestamp name, or a file.
  mkdirSync(join(root, 'photos.removing'));
  writeFileSync(join(root, '20261205T030000Z.removing'), 'a file');
  const kinds: string[] = [];
  const r = await pruneBackups(root, '20261205T044901Z', 1, (name, kind) => kinds.push(`${kind} ${name}`));
  t.same(r.leftovers, ['20261205T040000Z'], 'found and removed');
  t.same(kinds, ['leftover 20261205T040000Z'], 'and said so');
  t.same(readdirSync(root).sort(), ['20261205T030000Z.removing', '20261205T044901Z', 'photos.removing'], 'nothing else touched');

  // An old backup is renamed before it is removed: its removal, cut short, leaves `.removing`.
  finish(join(root, '20261205T050000Z'));
  const before = (await pruneBackups(root, '20261205T050000Z', 1)).removed;
  t.same(before, ['20261205T044901Z'], 'the older backup beyond --keep 1 is removed');
  t.notOk(existsSync(join(root, '20261205T044901Z.removing')), 'with its renamed directory');
});

const RUNUSER = spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status === 0 ? false : 'runuser -u nobody does not work here';

/** pruneBackups(root, current, keep) run as the user nobody, in a child (its stdout: the result as JSON). */
function pruneAsNobody(root: string, current: string, keep: number): SpawnSyncReturns<string> {
  const mod = pathToFileURL(join(import.meta.dirname, '../../../daemon/backup-rotate.js')).href;
  const code = `const m = await import(${JSON.stringify(mod)}); console.log(JSON.stringify(await m.pruneBackups(${JSON.stringify(root)}, ${JSON.stringify(current)}, ${keep})));`;
  return spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8' });
}

/** A backup ROOT the user nobody can reach (its parents opened to it), and nobody's uid. */
function nobodysRoot(t: Test): { root: string; nobody: number } {
  const root = tempRoot(t);
  mkdirSync(root, { recursive: true });
  chmodSync(join(root, '..', '..'), 0o755);
  chmodSync(join(root, '..'), 0o755);
  return { root, nobody: Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim()) };
}

t.test('a backup this user cannot read is reported, neither counted nor removed', { skip: RUNUSER }, async (t) => {
  // ROOT and the new backup are nobody's; an old backup made by root is closed to nobody.
  const { root, nobody } = nobodysRoot(t);
  finish(join(root, '20261205T040000Z'));
  chmodSync(join(root, '20261205T040000Z'), 0o700);
  for (const n of ['20261205T044900Z', '20261205T044901Z']) finish(join(root, n));
  for (const p of [root, join(root, '20261205T044900Z'), join(root, '20261205T044901Z')]) chownSync(p, nobody, nobody);
  for (const n of ['20261205T044900Z', '20261205T044901Z']) spawnSync('chown', ['-R', 'nobody', join(root, n)]);
  const r = pruneAsNobody(root, '20261205T044901Z', 1);
  t.equal(r.status, 0, `pruned as nobody (${r.stderr.trim()})`);
  t.same(JSON.parse(r.stdout), { removed: ['20261205T044900Z'], unfinished: [], leftovers: [], unreadable: ['20261205T040000Z'], others: [], unknown: [] }, "root's backup is reported unreadable; nobody's older one beyond --keep 1 is removed");
  t.ok(existsSync(join(root, '20261205T040000Z', '.s3d', 'meta', 'data.mdb')), "root's backup is untouched");
});

// A timestamp directory this user may read whose .s3d it may not (root's backup, the directory
// alone handed to s3d by a chown without -R): looking for an empty .s3d (a run killed before its
// marker) read that .s3d, and its EACCES failed the whole rotation, on every run from then on.
t.test("a backup whose .s3d this user cannot read is reported, and the rotation goes on", { skip: RUNUSER }, async (t) => {
  const { root, nobody } = nobodysRoot(t);
  finish(join(root, '20261205T040000Z'));
  chmodSync(join(root, '20261205T040000Z'), 0o755);
  chmodSync(join(root, '20261205T040000Z', '.s3d'), 0o700);
  for (const n of ['20261205T044900Z', '20261205T044901Z']) finish(join(root, n));
  chownSync(root, nobody, nobody);
  for (const n of ['20261205T044900Z', '20261205T044901Z']) spawnSync('chown', ['-R', 'nobody', join(root, n)]);
  const r = pruneAsNobody(root, '20261205T044901Z', 1);
  t.equal(r.status, 0, `pruned as nobody (${r.stderr.trim()})`);
  t.same(r.status === 0 ? JSON.parse(r.stdout) : undefined, { removed: ['20261205T044900Z'], unfinished: [], leftovers: [], unreadable: ['20261205T040000Z'], others: [], unknown: [] }, "root's backup is reported unreadable; nobody's older one beyond --keep 1 is removed");
  t.ok(existsSync(join(root, '20261205T040000Z', '.s3d', 'meta', 'data.mdb')), "root's backup is untouched");
});

// A run killed between making ROOT/<timestamp> and writing its marker leaves that directory empty,
// or holding only an empty .s3d: no file says it is a backup, so it was never removed. Now it is
// an unfinished one (older than the new backup: removed; newer: a run going on), whoever's store
// (it holds nothing), and removed only while it is empty: anything holding a file stays.
t.test('a run killed before its marker: an empty directory or an empty .s3d is unfinished', async (t) => {
  const root = tempRoot(t);
  mkdirSync(root, { recursive: true });
  const ID = 'a'.repeat(32);
  const OTHER = 'b'.repeat(32);
  finish(join(root, '20261205T044901Z'));
  writeFileSync(join(root, '20261205T044901Z', '.s3d', 'store-id'), ID);
  // ROOT shared with another store: ids matter, but not for empty directories.
  finish(join(root, '20261205T040000Z'));
  writeFileSync(join(root, '20261205T040000Z', '.s3d', 'store-id'), OTHER);
  mkdirSync(join(root, '20261205T044700Z'));
  mkdirSync(join(root, '20261205T044800Z', '.s3d'), { recursive: true });
  // Newer than the new backup: a run going on now.
  mkdirSync(join(root, '20261205T045000Z', '.s3d'), { recursive: true });
  mkdirSync(join(root, '20261205T045100Z'));
  // Not empty: left alone.
  mkdirSync(join(root, '20261205T044600Z', '.s3d', 'meta'), { recursive: true });
  mkdirSync(join(root, '20261205T044500Z', '.s3d'), { recursive: true });
  writeFileSync(join(root, '20261205T044500Z', '.s3d', 'x'), 'mine');
  mkdirSync(join(root, '20261205T044400Z', '.s3d'), { recursive: true });
  writeFileSync(join(root, '20261205T044400Z', 'notes'), 'mine');
  const kinds: string[] = [];
  const r = await pruneBackups(root, '20261205T044901Z', 1, (name, kind) => kinds.push(`${kind} ${name}`), ID);
  t.same(r, { removed: [], unfinished: ['20261205T044700Z', '20261205T044800Z'], leftovers: [], unreadable: [], others: ['20261205T040000Z'], unknown: [] });
  t.same(kinds, ['unfinished 20261205T044700Z', 'unfinished 20261205T044800Z'], 'said so');
  t.same(readdirSync(root).sort(), ['20261205T040000Z', '20261205T044400Z', '20261205T044500Z', '20261205T044600Z', '20261205T044901Z', '20261205T045000Z', '20261205T045100Z']);
  t.ok(existsSync(join(root, '20261205T044500Z', '.s3d', 'x')), 'a file in .s3d is kept');
});
