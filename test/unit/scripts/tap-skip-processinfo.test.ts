// scripts/tap-skip-processinfo.mjs (.taprc test-env): in a run without coverage it keeps
// @tapjs/processinfo's off-thread module loader from being registered, and only that; with coverage
// the loader works as tap ships it. Each case runs a child as tap runs a test file: the skip module
// in NODE_OPTIONS, processinfo's --import on the command line, _TAPJS_PROCESSINFO_COVERAGE_ as the
// runner sets it. The child imports an ES module and reports which files processinfo recorded
// (its loader records every ES module it sees) and the NODE_OPTIONS its own children would get.
// S3D_TEST_CPU_LOG: the line a test process appends as it exits (its CPU, its children's).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from '../../helpers/daemon.js';

// The module tap's runner passes (@tapjs/run, test-argv).
const processinfoImport = import.meta.resolve('@tapjs/processinfo/import');
const dir = mkdtempSync(join(tmpdir(), 's3d-tap-skip-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'dependency.mjs'), 'export const x = 1;\n');
writeFileSync(
  join(dir, 'main.mjs'),
  [
    "import { x } from './dependency.mjs';",
    // The loader reports files to the main thread over a message port: give it time to arrive.
    'await new Promise((r) => setTimeout(r, 300));',
    "const info = globalThis[Symbol.for('@tapjs/processinfo.ProcessInfoNodeData')];",
    'process.stdout.write(JSON.stringify({ x, files: info?.files ?? null, nodeOptions: process.env.NODE_OPTIONS ?? "" }));',
  ].join('\n'),
);

function run(coverage: '0' | '1'): { files: string[] | null; nodeOptions: string; x: number } {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_OPTIONS: '--import=./scripts/tap-skip-processinfo.mjs',
    _TAPJS_PROCESSINFO_COVERAGE_: coverage,
    // processinfo's own records (.tap/processinfo, .tap/coverage) go here, not into the checkout.
    _TAPJS_PROCESSINFO_CWD_: dir,
    _TAPJS_PROCESSINFO_COV_FILES_: join(dir, 'dependency.mjs'),
  };
  const r = spawnSync(process.execPath, [`--import=${processinfoImport}`, join(dir, 'main.mjs')], { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`child exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { files: string[] | null; nodeOptions: string; x: number };
}

t.test('without coverage: processinfo runs, its module loader does not', async (t) => {
  const r = run('0');
  t.equal(r.x, 1, 'the test module and its ES import loaded');
  t.ok(Array.isArray(r.files), 'processinfo itself ran (its process record exists)');
  t.notOk(r.files?.includes(join(dir, 'dependency.mjs')), `no ES module recorded by its loader (files: ${JSON.stringify(r.files)})`);
  t.notMatch(r.nodeOptions, /tap-skip-processinfo/, 'the skip module took itself out of NODE_OPTIONS (its relative path would fail in a child run elsewhere)');
});

t.test('with coverage: processinfo works as tap ships it', async (t) => {
  const r = run('1');
  t.equal(r.x, 1);
  t.ok(r.files?.includes(join(dir, 'dependency.mjs')), `its loader recorded the ES module (files: ${JSON.stringify(r.files)})`);
  t.notMatch(r.nodeOptions, /tap-skip-processinfo/);
});

t.test('S3D_TEST_CPU_LOG: one line per test process, its own CPU and that of the children it waited for', async (t) => {
  const script = join(dir, 'cpu.mjs');
  // ~0.2-1 s of CPU in a child, and a little in the process itself.
  writeFileSync(
    script,
    [
      "import { execFileSync } from 'node:child_process';",
      "execFileSync(process.execPath, ['-e', 'let x = 0; for (let i = 0; i < 2e8; i++) x += i;']);",
      'let y = 0;',
      'for (let i = 0; i < 5e7; i++) y += i;',
    ].join('\n'),
  );
  const log = join(dir, 'cpu.tsv');
  const child = (env: NodeJS.ProcessEnv): number | null =>
    spawnSync(process.execPath, [script], { cwd: ROOT, env: { PATH: process.env.PATH, NODE_OPTIONS: '--import=./scripts/tap-skip-processinfo.mjs', ...env }, timeout: 60_000 }).status;
  t.equal(child({}), 0);
  t.notOk(existsSync(log), 'no log without the variable');
  t.equal(child({ S3D_TEST_CPU_LOG: log }), 0);
  t.equal(child({ S3D_TEST_CPU_LOG: log }), 0);
  const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
  t.equal(lines.length, 2, 'a line per process, appended');
  const [file, self, children, wall, total, faults, childFaults] = lines[0]!.split('\t');
  t.equal(file, relative(ROOT, script), 'the file it ran, relative to the project root (where tap runs)');
  t.ok(Number(children) >= 0.1, `the child's CPU counted as the children's (${children} s)`);
  t.ok(Number(self) > 0, `its own CPU (${self} s)`);
  t.ok(Math.abs(Number(total) - Number(self) - Number(children)) <= 0.011, `column 5 is the sum (${total})`);
  t.ok(Number(wall) >= Number(self), `wall seconds (${wall})`);
  t.ok(Number(faults) > 1000 && Number(childFaults) > 1000, `page faults of both (${faults}, ${childFaults})`);
});

// The setting itself: this file, run by `npm test`, runs without the loader (under `npm run
// test:coverage` with it). Run outside tap, there is no processinfo to look at.
const info = (globalThis as Record<symbol, { files: string[] } | undefined>)[Symbol.for('@tapjs/processinfo.ProcessInfoNodeData')];
t.test('this test process, as .taprc has tap start it', { skip: info === undefined ? 'not run by tap' : false }, async (t) => {
  const probe = join(dir, 'probe.mjs');
  writeFileSync(probe, 'export const y = 2;\n');
  t.equal(((await import(probe)) as { y: number }).y, 2);
  await new Promise((r) => setTimeout(r, 300));
  const recorded = info!.files.includes(probe);
  if (process.env._TAPJS_PROCESSINFO_COVERAGE_ === '0') t.notOk(recorded, 'without coverage: no module loader recorded the ES module it imported');
  else t.ok(recorded, 'with coverage: the loader recorded the ES module it imported');
});
