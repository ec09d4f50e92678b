// The test helpers' own hygiene: a test process that tap times out (it ends by SIGALRM) or that is
// killed (SIGKILL) runs no teardown, and the daemon it started used to go on running, with its
// port, its CPU and its data directory, into the test files after it. The daemon now ends with the
// process that started it (helpers/dies-with-test.ts) and its directory goes at the next sweep.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, nodeChild } from '../helpers/daemon.js';
import { processStartTime, sweepDeadTestDirs } from '../helpers/test-dirs.js';
import { pollUntil } from '../helpers/wait.js';

const HELPER = pathToFileURL(join(ROOT, 'dist/test/helpers/daemon.js')).href;

/** A test process of its own in miniature: starts a daemon with the helper, prints it, and waits. */
const CHILD = `
const { startDaemon } = await import(process.argv[1]);
const d = await startDaemon();
process.stdout.write(JSON.stringify({ pid: d.proc.pid, dataDir: d.dataDir }) + '\\n');
setInterval(() => {}, 1 << 30);
`;

/** Whether `pid` is still the daemon on `dataDir` and not yet ended (a zombie has ended). */
function running(pid: number, dataDir: string): boolean {
  try {
    const state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    return state !== 'Z' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir);
  } catch {
    return false;
  }
}

// The two cases side by side: each is a few seconds of waiting on a start.
t.jobs = 2;
for (const signal of ['SIGKILL', 'SIGALRM'] as const) {
  const how = signal === 'SIGKILL' ? 'is killed (SIGKILL)' : "times out (tap's SIGALRM)";
  t.test(`a daemon ends with the test process that started it when that ${how}, and its directory is swept`, async (t) => {
    const child = spawn(...nodeChild(['--input-type=module', '-e', CHILD, HELPER]), { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
    const gone = new Promise((resolve) => child.once('exit', resolve));
    let out = '';
    const started = await new Promise<{ pid: number; dataDir: string }>((resolve, reject) => {
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(JSON.parse(out) as { pid: number; dataDir: string });
      });
      child.once('exit', (code) => reject(new Error(`the test process ended (${code}) before its daemon started: ${out}`)));
    });
    const { pid, dataDir } = started;
    // Should this fail, the daemon is ended here, not left to the files after this one.
    t.teardown(() => {
      if (running(pid, dataDir)) process.kill(pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });
    t.ok(running(pid, dataDir), 'the daemon runs');
    t.equal(basename(dataDir).slice(0, -6), `s3d-test-${child.pid}-${processStartTime(child.pid!)}-`, "its directory is named by the test process's pid and start time");
    child.kill(signal);
    await gone;
    t.equal(child.signalCode, signal, `the test process ended by ${signal}, no teardown run`);
    const stillRunning = await pollUntil(() => running(pid, dataDir), (r) => !r, 5_000, 20);
    t.notOk(stillRunning, 'the daemon ended within 5 s');
    // Left behind by the killed process; the sweep (this one, or that of any test process that
    // loaded the helper since, such as the other case here) removes it.
    sweepDeadTestDirs();
    t.notOk(existsSync(dataDir), 'its data directory is swept');
  });
}
