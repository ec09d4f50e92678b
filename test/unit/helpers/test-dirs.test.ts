// The sweep of test processes' leftover directories (helpers/test-dirs.ts) judges their owner by
// pid and start time: a dead process's directories go even when its pid is another process's now
// (by the pid alone they were kept as long as that process ran), a live process's stay.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStartTime, sweepDeadTestDirs, testDirPrefix } from '../../helpers/test-dirs.js';

/** Past the kernel's largest pid (PID_MAX_LIMIT, 2^22): no process ever has it. */
const NO_SUCH_PID = 4_194_305;

/** A directory to sweep, with `names` made in it; removed at the end. */
function dirWith(t: Test, names: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 's3d-sweep-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of names) mkdirSync(join(dir, name, 'nested'), { recursive: true });
  return dir;
}

/**
 * A process that runs until killed, named `name` in /proc (its comm, at most 15 bytes): node
 * itself, renamed by process.title (prctl PR_SET_NAME). It was `sleep` through a link of that
 * name, which needed a sleep on PATH and one that is its own program: busybox's (Alpine) and a
 * multi-call coreutils pick their applet by the name they are run under, and know no "odd ) (name 1 2".
 */
async function sleeper(t: Test, name = 'test-sleeper'): Promise<ChildProcess & { pid: number }> {
  const code = `process.title = ${JSON.stringify(name)}; process.stdout.write('ready'); setInterval(() => {}, 3_600_000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], env: {} });
  t.teardown(() => void child.kill('SIGKILL'));
  // Renamed once it says so: /proc read before that would show node's own name.
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('error', reject).once('exit', (code, signal) => reject(new Error(`the sleeper exited (${code ?? signal}) before it was ready`)));
  });
  return child as ChildProcess & { pid: number };
}

const self = processStartTime(process.pid)!;
// Set for a post-mortem of other tests, it would turn these sweeps off too.
const keep = process.env.S3D_KEEP_TEST_DIRS;
delete process.env.S3D_KEEP_TEST_DIRS;
t.teardown(() => void (keep === undefined || (process.env.S3D_KEEP_TEST_DIRS = keep)));

t.test('the start time is /proc/<pid>/stat field 22, read past a command name holding spaces and parentheses', async (t) => {
  t.match(self, /^\d+$/, 'this process: clock ticks since boot');
  const { pid } = await sleeper(t, 'odd ) (name 1 2');
  t.match(readFileSync(`/proc/${pid}/stat`, 'utf8'), /^\d+ \(odd \) \(name 1 2\) [A-Za-z] /, 'the name as the kernel writes it');
  const start = processStartTime(pid);
  t.match(start, /^\d+$/, 'a process named "odd ) (name 1 2": a number too');
  t.ok(Number(start) >= Number(self), 'it started after this process');
  t.equal(processStartTime(NO_SUCH_PID), undefined, 'no such process: undefined');
});

t.test('testDirPrefix names this process by pid and start time', async (t) => {
  t.equal(testDirPrefix(), `s3d-test-${process.pid}-${self}-`);
});

t.test("a dead process's directories go, also when its pid is a live process's now", async (t) => {
  const reused = `s3d-test-${process.pid}-${Number(self) - 1}-Ab12Cd`;
  const dead = `s3d-test-${NO_SUCH_PID}-${self}-Ab12Cd`;
  const deadOld = `s3d-test-${NO_SUCH_PID}-Zz9Yx8`;
  const dir = dirWith(t, [reused, `${reused}-certs`, dead, `${dead}-certs`, deadOld, `${deadOld}-certs`]);
  t.same(sweepDeadTestDirs(dir).sort(), [reused, `${reused}-certs`, dead, `${dead}-certs`, deadOld, `${deadOld}-certs`].map((n) => join(dir, n)).sort(), 'all six removed');
  t.same(readdirSync(dir), [], 'nothing left');
});

t.test("a live process's directories stay: its pid with its start time, or its pid alone (an older name)", async (t) => {
  const child = await sleeper(t);
  const pid = child.pid;
  const mine = `${testDirPrefix()}Ab12Cd`;
  const other = `s3d-test-${pid}-${processStartTime(pid)!}-123456`;
  const older = `s3d-test-${pid}-Zz9Yx8`;
  const names = [mine, `${mine}-certs`, other, `${other}-certs`, older];
  const dir = dirWith(t, names);
  t.same(sweepDeadTestDirs(dir), [], 'none removed');
  t.same(readdirSync(dir).sort(), [...names].sort(), 'all there');
  // The process ends (and is reaped): the next sweep takes its directories.
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  t.same(sweepDeadTestDirs(dir).sort(), [other, `${other}-certs`, older].map((n) => join(dir, n)).sort(), 'once it is gone, its directories go');
  t.ok(existsSync(join(dir, mine)), "this process's stay");
});

t.test('names the helper does not make are left alone', async (t) => {
  const names = ['s3d-test-Ab12Cd', 's3d-test-groups-Ab12Cd', `s3d-test-${NO_SUCH_PID}-Ab12C`, `s3d-test-${NO_SUCH_PID}-x-Ab12Cd`, `s3d-test-${NO_SUCH_PID}-Ab12Cd-keys`, `other-${NO_SUCH_PID}-Ab12Cd`];
  const dir = dirWith(t, names);
  t.same(sweepDeadTestDirs(dir), [], 'none removed');
  t.same(readdirSync(dir).sort(), [...names].sort());
});

t.test('S3D_KEEP_TEST_DIRS=1 keeps every directory', async (t) => {
  const dead = `s3d-test-${NO_SUCH_PID}-${self}-Ab12Cd`;
  const dir = dirWith(t, [dead]);
  process.env.S3D_KEEP_TEST_DIRS = '1';
  try {
    t.same(sweepDeadTestDirs(dir), []);
  } finally {
    delete process.env.S3D_KEEP_TEST_DIRS;
  }
  t.ok(existsSync(join(dir, dead)));
});
