// FileStore (storage/files.ts) after a failed fsync of objects/, with the failure injected by strace
// into a real process: the fan-out directory made just before it stays failed, and every later
// file that lands in it fails at commit, until a restart. Before, the next file there synced
// objects/ again through a new descriptor, which Linux lets succeed whatever became of the
// directory's entry (a writeback error is reported once, to the descriptors open when it
// happened), and uploads acknowledged into a directory a power loss could take. A failure to open
// objects/ for that sync ran no fsync, and is tried again by the next file in the directory
// (prod-fanout-open-failure.test.ts shows it in the daemon), unless an fsync of objects/ for
// another directory failed meanwhile: that error may have been this directory's. Skipped where
// strace is missing or may not trace.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NO_STRACE } from '../../../helpers/strace.js';

const filesModule = fileURLToPath(new URL('../../../../daemon/storage/files.js', import.meta.url));

// The child: the first file's commit meets the injected EIO (its new directory's entry in
// objects/); then files are made until one lands in that same directory, and its commit is told.
const child = `
import { FileStore } from ${JSON.stringify(filesModule)};
const store = new FileStore(process.argv[1]);
await store.init();
const first = await store.create();
await first.write(Buffer.from('first'));
let firstResult = 'committed';
try { await first.commit(); } catch (e) { firstResult = e.code + ': ' + e.message; await first.discard().catch(() => {}); }
const dir = first.id.slice(0, 2);
for (let i = 0; i < 20000; i++) {
  const w = await store.create();
  await w.write(Buffer.from('later'));
  if (w.id.slice(0, 2) !== dir) { await w.commit(); continue; }
  let later = 'committed';
  try { await w.commit(); } catch (e) { later = e.code + ': ' + e.message; }
  console.log(JSON.stringify({ firstResult, later, tries: i + 1 }));
  process.exit(0);
}
console.log(JSON.stringify({ firstResult, later: 'no file landed in ' + dir }));
`;

t.test('a failed fsync of objects/ is not retried: files landing in the directory made before it fail until a restart', { skip: NO_STRACE }, async (t) => {
  const data = mkdtempSync(join(tmpdir(), 's3d-dirsync-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  const objects = join(data, '.s3d', 'objects');
  const r = spawnSync(
    'strace',
    ['-f', '--seccomp-bpf', '-P', objects, '-e', 'trace=fsync', '-e', 'inject=fsync:error=EIO:when=1', '-o', '/dev/null', process.execPath, '--input-type=module', '-e', child, data],
    // One libuv thread: strace counts calls per thread, and \`when=1\` must be the first sync of all.
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, UV_THREADPOOL_SIZE: '1' } },
  );
  t.equal(r.status, 0, `the child ran (${r.stderr.slice(-500)})`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { firstResult: string; later: string; tries?: number };
  t.match(out.firstResult, /^EIO: fsync of .*objects failed \(EIO\) after .* was made in it/, 'the first file: the injected EIO, at commit');
  t.match(out.later, /^EIO: fsync of .*objects failed \(EIO\).*uploads into .* fail until s3d restarts/, `a later file in the same directory (after ${out.tries} files) fails too, naming why`);
  // A new store (a restart) syncs the directory's entry again, and takes files into it.
  const again = spawnSync(process.execPath, ['--input-type=module', '-e', `import { FileStore } from ${JSON.stringify(filesModule)}; const s = new FileStore(process.argv[1]); await s.init(); const w = await s.create(); await w.write(Buffer.from('x')); await w.commit(); console.log('ok');`, data], { encoding: 'utf8' });
  t.equal(again.stdout.trim(), 'ok', 'after a restart files are committed again');
});

// The child: the first file's directory (A) cannot open objects/ to sync its entry (the first
// openat, EIO); a file in another new directory (B) then meets a failed fsync of objects/ (the
// first fsync, EIO); a file in a third new directory commits; then a file landing in A, whose
// sync would now succeed, is told.
const reopenChild = `
import { FileStore } from ${JSON.stringify(filesModule)};
const store = new FileStore(process.argv[1]);
await store.init();
const result = async (w) => { try { await w.commit(); return 'committed'; } catch (e) { await w.discard().catch(() => {}); return e.code + ': ' + e.message; } };
const first = await store.create();
await first.write(Buffer.from('first'));
const out = { a: await result(first) };
const dirA = first.id.slice(0, 2);
const seen = new Set([dirA]);
let dirB;
for (let i = 0; i < 20000 && out.a2 === undefined; i++) {
  const w = await store.create();
  await w.write(Buffer.from('later'));
  const dir = w.id.slice(0, 2);
  if (dir === dirA) out.a2 = await result(w);
  else if (dirB === undefined) { dirB = dir; seen.add(dir); out.b = await result(w); }
  else if (!seen.has(dir) && out.c === undefined) { seen.add(dir); out.c = await result(w); }
  else await result(w);
}
console.log(JSON.stringify(out));
`;

t.test('a failed open of objects/ is tried again, unless an fsync of objects/ for another directory failed meanwhile', { skip: NO_STRACE }, async (t) => {
  const data = mkdtempSync(join(tmpdir(), 's3d-dirsync-'));
  t.teardown(() => rmSync(data, { recursive: true, force: true }));
  const objects = join(data, '.s3d', 'objects');
  const r = spawnSync(
    'strace',
    ['-f', '--seccomp-bpf', '-P', objects, '-e', 'trace=openat,fsync', '-e', 'inject=openat:error=EIO:when=1', '-e', 'inject=fsync:error=EIO:when=1', '-o', '/dev/null', process.execPath, '--input-type=module', '-e', reopenChild, data],
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, UV_THREADPOOL_SIZE: '1' } },
  );
  t.equal(r.status, 0, `the child ran (${r.stderr.slice(-500)})`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { a?: string; b?: string; c?: string; a2?: string };
  t.match(out.a, /^EIO: opening .*objects to fsync it failed \(EIO\) after .* was made in it: the next upload into .* tries again/, 'the first file: objects/ could not be opened, so not acknowledged');
  t.match(out.b, /^EIO: fsync of .*objects failed \(EIO\) after .* was made in it/, 'a file in another new directory: the injected fsync EIO');
  t.equal(out.c, 'committed', 'a file in a directory made after that failure is committed');
  t.match(out.a2, /^EIO: an fsync of .*objects for another directory failed \(EIO\) after .* was made in it: .*uploads into .* fail until s3d restarts/, 'a later file in the first directory fails: the other directory\'s sync error may have been its entry\'s');
});
