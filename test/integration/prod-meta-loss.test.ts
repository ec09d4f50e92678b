// The start-up sweep deletes data files no record references: crash leftovers. A data directory
// whose metadata store is missing or empty (a restore or copy that missed .s3d/meta, a store
// truncated to nothing) made every data file look like one, and the first start deleted them all,
// turning a restore-from-backup into permanent loss. Now the daemon refuses to start (exit 2,
// nothing touched), starts normally once the store is back, and a store that references far fewer
// files than lie beside it (an old backup) gets them moved aside into .s3d/orphans/, not deleted.
// After a clean shutdown of the same store the sweep skips its scan of every record (a restart of
// a large store is not proportional to it); after a crash, or with a store restored from a backup,
// it scans, and so it does when the store was committed to after the marker was written (by a
// version that does not know it). A lock file, metadata store or clean-stop marker left or restored by another user
// (root) is a configuration error too (exit 2, not 1).
import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { open as openLmdb } from 'lmdb';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MAIN, nodeChild, runS3d, startDaemon, testBytes } from '../helpers/daemon.js';
import { dataFilePaths, filesUnder } from '../helpers/files.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { PutObjectCommand } from '@aws-sdk/client-s3';

// A child run as another user goes through nodeChild too (runuser keeps the environment): else
// it carried tap's --import hook, ~0.45 s of CPU more a start (0.66 s against 0.20 s, measured).
function run(dataDir: string, asUser?: string): Promise<{ code: number | null; stderr: string }> {
  const [node, argv] = nodeChild([MAIN, 'server', dataDir, '--dev']);
  const [cmd, args] = asUser === undefined ? [node, argv] : ['runuser', ['-u', asUser, '--', node, ...argv]];
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { PATH: process.env.PATH, S3_ADDRESS: '127.0.0.1:0' }, timeout: 20_000 }, (err, _o, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
    });
  });
}

/** Why the tests that run the daemon as `nobody` skip (false: they run): not root, or runuser cannot start it as nobody here. */
function cannotRunAsNobody(): false | string {
  if (process.getuid?.() !== 0) return 'needs root to play both users';
  const [node, argv] = nodeChild([MAIN, '--version']);
  const r = spawnSync('runuser', ['-u', 'nobody', '--', node, ...argv], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? false : `runuser cannot start s3d as nobody here: ${(r.error?.message ?? r.stderr).trim()}`;
}
const AS_NOBODY = cannotRunAsNobody();

const d = await startDaemon();
t.teardown(() => d.cleanup());
const s3 = d.s3();
const bucket = await createBucket(s3, 'metaloss');
const bodies = new Map<string, Buffer>();
for (let i = 0; i < 6; i++) {
  const body = testBytes(200_000 + i, 40 + i); // above the inline threshold: one data file each
  bodies.set(`obj-${i}`, body);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `obj-${i}`, Body: body, ...(i % 2 === 1 ? { ServerSideEncryption: 'AES256' as const } : {}) }));
}
await d.stop();
const files = dataFilePaths(d.dataDir).sort();
const metaDir = join(d.dataDir, '.s3d', 'meta');
const saved = `${d.dataDir}-meta-backup`;
cpSync(metaDir, saved, { recursive: true });
t.teardown(() => rmSync(saved, { recursive: true, force: true }));

t.test('a missing or empty metadata store beside data files: exit 2, every data file kept', async (t) => {
  t.equal(files.length, 6, 'six data files before');
  for (const [what, damage] of [
    ['.s3d/meta removed', () => rmSync(metaDir, { recursive: true, force: true })],
    ['data.mdb truncated to nothing', () => writeFileSync(join(metaDir, 'data.mdb'), '')],
  ] as const) {
    rmSync(metaDir, { recursive: true, force: true });
    cpSync(saved, metaDir, { recursive: true });
    damage();
    const r = await run(d.dataDir);
    t.equal(r.code, 2, `${what}: exit 2 (systemd does not restart into it)`);
    t.match(r.stderr, /metadata store .*data\.mdb is missing or empty, but 6 data file\(s\) exist .*restore \.s3d\/meta from a backup/, `${what}: says why and what to do`);
    t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
    t.same(dataFilePaths(d.dataDir).sort(), files, `${what}: every data file is still there`);
  }
});

// LMDB trusts its meta pages: a data.mdb of garbage or cut short crashed every command that
// opened it with SIGSEGV or SIGBUS (no message; systemd restarting into it). Refused by name now.
t.test('a metadata store LMDB would crash on: the daemon, verify and backup refuse it by name', async (t) => {
  const mdb = join(metaDir, 'data.mdb');
  const size = statSync(join(saved, 'data.mdb')).size;
  t.ok(size >= 4 * 4096, 'the store spans more than its two meta pages');
  for (const [what, damage, reason] of [
    ['zeros', () => writeFileSync(mdb, Buffer.alloc(8192)), /is not an LMDB store/],
    ['random bytes', () => writeFileSync(mdb, randomBytes(100)), /is not an LMDB store/],
    ['cut to its first page', () => truncateSync(mdb, 4096), /is cut short/],
    ['cut to half', () => truncateSync(mdb, Math.floor(size / 2 / 4096) * 4096), /is cut short/],
  ] as const) {
    rmSync(metaDir, { recursive: true, force: true });
    cpSync(saved, metaDir, { recursive: true });
    damage();
    const r = await run(d.dataDir);
    t.equal(r.code, 2, `${what}: the daemon exits 2 (it was killed by a signal)`);
    t.match(r.stderr, reason, `${what}: and says why`);
    t.match(r.stderr, /restore \.s3d\/meta from a backup/, `${what}: and what to do`);
    const v = await runS3d(['verify', d.dataDir]);
    t.equal(v.code, 2, `${what}: s3d verify exits 2`);
    t.match(v.stderr, reason, `${what}: naming the damage`);
    const dest = `${d.dataDir}-damaged-backup`;
    const b = await runS3d(['backup', d.dataDir, dest]);
    rmSync(dest, { recursive: true, force: true });
    t.equal(b.code, 2, `${what}: s3d backup exits 2`);
    t.match(b.stderr, reason, `${what}: naming the damage`);
    t.same(dataFilePaths(d.dataDir).sort(), files, `${what}: every data file is still there`);
  }
});

t.test('with the store restored, the daemon starts and serves every object', async (t) => {
  rmSync(metaDir, { recursive: true, force: true });
  cpSync(saved, metaDir, { recursive: true });
  const again = await startDaemon({ dataDir: d.dataDir });
  for (const [key, body] of bodies) t.ok((await getBytes(again.s3(), { Bucket: bucket, Key: key })).equals(body), `${key} reads back`);
  await again.stop();
});

t.test('far more unreferenced files than a crash leaves: moved to .s3d/orphans/, not deleted', async (t) => {
  // An old backup of the store: it knows the six objects, not the 300 files written since. (It
  // holds an older clean-shutdown token than the marker: the sweep scans.)
  rmSync(metaDir, { recursive: true, force: true });
  cpSync(saved, metaDir, { recursive: true });
  const planted: string[] = [];
  for (let i = 0; i < 300; i++) {
    const id = randomBytes(16).toString('hex');
    const dir = join(d.dataDir, '.s3d', 'objects', id.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, id), `data of ${id}`);
    planted.push(id);
  }
  const again = await startDaemon({ dataDir: d.dataDir });
  const line = await again.waitForLog((l) => l.level === 50 && typeof l.msg === 'string' && l.msg.startsWith('start-up sweep found far more data files without a record'));
  t.ok(line, 'an error-level line says so');
  t.equal(line?.files, 300, 'with the count');
  const orphans = filesUnder(join(d.dataDir, '.s3d', 'orphans'));
  t.equal(orphans.length, 300, 'all 300 are in .s3d/orphans/');
  t.same(new Set(orphans.map((p) => p.split('/').pop())), new Set(planted), 'the planted files, by name');
  t.same(dataFilePaths(d.dataDir).sort(), files, 'the referenced data files stay in place');
  for (const [key, body] of bodies) t.ok((await getBytes(again.s3(), { Bucket: bucket, Key: key })).equals(body), `${key} reads back`);
  // A few, as a crash leaves: deleted as before.
  t.equal(await again.stop('SIGKILL'), null, 'killed: no clean shutdown');
  rmSync(join(d.dataDir, '.s3d', 'orphans'), { recursive: true, force: true });
  const few = randomBytes(16).toString('hex');
  mkdirSync(join(d.dataDir, '.s3d', 'objects', few.slice(0, 2)), { recursive: true });
  writeFileSync(join(d.dataDir, '.s3d', 'objects', few.slice(0, 2), few), 'leftover');
  const third = await startDaemon({ dataDir: d.dataDir });
  t.equal((await third.waitForLog((l) => l.msg === 'start-up sweep removed crash leftovers')).orphans, 1, 'one leftover: removed and reported');
  t.notOk(existsSync(join(d.dataDir, '.s3d', 'objects', few.slice(0, 2), few)), 'it is gone');
  t.notOk(existsSync(join(d.dataDir, '.s3d', 'orphans')), 'nothing set aside');
  await third.stop();
});

t.test('after a clean shutdown the sweep skips its scan; after a crash it scans', async (t) => {
  const marker = join(d.dataDir, '.s3d', 'clean-shutdown');
  const first = await startDaemon({ dataDir: d.dataDir });
  t.notOk(existsSync(marker), 'a running daemon has no marker (a crash from now on is seen as one)');
  t.equal(await first.stop(), 0, 'stopped cleanly');
  t.ok(existsSync(marker), 'a clean shutdown leaves the marker');
  // A file no record names, beside a cleanly stopped store: not a crash leftover, so not looked for.
  const stray = randomBytes(16).toString('hex');
  const strayPath = join(d.dataDir, '.s3d', 'objects', stray.slice(0, 2), stray);
  mkdirSync(join(strayPath, '..'), { recursive: true });
  writeFileSync(strayPath, 'stray');
  writeFileSync(join(d.dataDir, '.s3d', 'tmp', 'left'), 'temp');
  const second = await startDaemon({ dataDir: d.dataDir });
  t.ok(second.jsonLogs().some((l) => typeof l.msg === 'string' && l.msg.startsWith('the last shutdown was clean: start-up sweep skipped its scan') && l.temp === 1), 'the log says the scan was skipped (and the temp file removed)');
  t.ok(existsSync(strayPath), 'the scan did not run');
  t.notOk(existsSync(join(d.dataDir, '.s3d', 'tmp', 'left')), 'temp files are removed all the same');
  for (const [key, body] of bodies) t.ok((await getBytes(second.s3(), { Bucket: bucket, Key: key })).equals(body), `${key} reads back`);
  t.equal(await second.stop('SIGKILL'), null, 'then killed');
  t.notOk(existsSync(marker), 'a crash leaves no marker');
  const third = await startDaemon({ dataDir: d.dataDir });
  t.equal((await third.waitForLog((l) => l.msg === 'start-up sweep removed crash leftovers')).orphans, 1, 'after the crash the sweep scans and removes the stray file');
  t.notOk(existsSync(strayPath), 'it is gone');
  await third.stop();
});

t.test('a store written after its clean shutdown (by a version that ignores the marker) is scanned', async (t) => {
  // An earlier version, started on a cleanly stopped store, leaves the marker where it is; if it
  // then crashes, its leftovers would go unseen. The marker names LMDB's last transaction, so a
  // store committed to since is scanned.
  const marker = join(d.dataDir, '.s3d', 'clean-shutdown');
  const first = await startDaemon({ dataDir: d.dataDir });
  t.equal(await first.stop(), 0, 'stopped cleanly');
  t.match(readFileSync(marker, 'utf8'), /^[0-9a-f]{32} \d+\n$/, 'the marker holds the token and the transaction id');
  const stray = randomBytes(16).toString('hex');
  const strayPath = join(d.dataDir, '.s3d', 'objects', stray.slice(0, 2), stray);
  mkdirSync(join(strayPath, '..'), { recursive: true });
  writeFileSync(strayPath, 'left by the other version');
  // The other version's write: any commit to the store.
  const root = openLmdb({ path: join(d.dataDir, '.s3d', 'meta') });
  await root.openDB<string, string>({ name: 'state' }).put('written-by', 'another version');
  await root.close();
  const second = await startDaemon({ dataDir: d.dataDir });
  t.ok(second.jsonLogs().some((l) => l.msg === 'the store was written after its clean shutdown (by another version?): the start-up sweep scans it'), 'the log says why it scans');
  t.equal((await second.waitForLog((l) => l.msg === 'start-up sweep removed crash leftovers')).orphans, 1, 'the sweep scans and removes the stray file');
  t.notOk(existsSync(strayPath), 'it is gone');
  // A marker as earlier versions of s3d wrote it (the token alone) is not trusted either.
  t.equal(await second.stop(), 0);
  writeFileSync(marker, `${readFileSync(marker, 'utf8').split(' ')[0]}\n`);
  writeFileSync(strayPath.replace(stray, `${stray.slice(0, 31)}0`), 'another');
  const third = await startDaemon({ dataDir: d.dataDir });
  t.equal((await third.waitForLog((l) => l.msg === 'start-up sweep removed crash leftovers')).orphans, 1, 'a token-only marker: scanned');
  await third.stop();
});

t.test('a lock file left by a run as another user: exit 2 with the advice, not a stack trace', { skip: AS_NOBODY }, async (t) => {
  const lock = join(d.dataDir, '.s3d', 'lock');
  writeFileSync(lock, '');
  chmodSync(lock, 0o600); // root's, as a run as root leaves it
  // Everything else belongs to the service's user (nobody here).
  chmodSync(d.dataDir, 0o755);
  const own = (p: string): void => {
    chownSync(p, 65534, 65534);
    for (const e of readdirSync(p, { withFileTypes: true })) if (e.name !== 'lock' || p !== join(d.dataDir, '.s3d')) (e.isDirectory() ? own : (f: string) => chownSync(f, 65534, 65534))(join(p, e.name));
  };
  own(d.dataDir);
  const r = await run(d.dataDir, 'nobody');
  t.equal(r.code, 2, `exit 2 (${r.stderr.split('\n').slice(0, 3).join(' ')})`);
  t.match(r.stderr, /holds files this user \(.*\) may not open: .*lock.*chown -R/, 'names the file and the fix');
  t.notMatch(r.stderr, /at lockDataDir/, 'no stack trace of ours');
  t.same(dataFilePaths(d.dataDir).sort(), files, 'no data file touched');
});

t.test('a metadata store restored as another user (root): exit 2 with the advice, not 1 with a stack trace', { skip: AS_NOBODY }, async (t) => {
  const meta = join(d.dataDir, '.s3d', 'meta');
  const own = (p: string, uid: number): void => {
    chownSync(p, uid, uid);
    for (const e of readdirSync(p, { withFileTypes: true })) (e.isDirectory() ? (f: string) => own(f, uid) : (f: string) => chownSync(f, uid, uid))(join(p, e.name));
  };
  own(d.dataDir, 65534);
  // `sudo cp -a` of a backup's .s3d/meta: the directory and LMDB's files root's (mode 0700/0600).
  own(meta, 0);
  const cases: Array<[string, () => void, RegExp]> = [
    ['.s3d/meta root\'s', () => undefined, /may not open: .*\.s3d\/meta/],
    ['only LMDB\'s files root\'s', () => chownSync(meta, 65534, 65534), /may not open: .*\.s3d\/meta/],
    [
      'the clean-shutdown marker root\'s',
      () => {
        own(meta, 65534);
        writeFileSync(join(d.dataDir, '.s3d', 'clean-shutdown'), 'x\n', { mode: 0o600 });
        chownSync(join(d.dataDir, '.s3d', 'clean-shutdown'), 0, 0);
        chmodSync(join(d.dataDir, '.s3d', 'clean-shutdown'), 0o600);
      },
      /may not open: .*clean-shutdown/,
    ],
  ];
  for (const [what, arrange, names] of cases) {
    arrange();
    const r = await run(d.dataDir, 'nobody');
    t.equal(r.code, 2, `${what}: exit 2 (${r.stderr.split('\n').slice(0, 2).join(' ')})`);
    t.match(r.stderr, /holds files this user \(uid 65534\) may not open/, `${what}: says so`);
    t.match(r.stderr, names, `${what}: names the file`);
    t.match(r.stderr, /chown -R/, `${what}: and the fix`);
  }
  t.same(dataFilePaths(d.dataDir).sort(), files, 'no data file touched');
});
