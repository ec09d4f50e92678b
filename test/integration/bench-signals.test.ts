// Stopping the bench and the soak early: SIGTERM to the launcher (what npm, `timeout` and `kill`
// send) ends the command within seconds, with no daemon or null server left running and no
// temporary data left on disk. (A terminal's Ctrl-C, SIGINT to the whole process group, takes the
// same path; it is not run here: it needs a bench that got as far as measuring, which on two
// cores shared with the rest of the suite takes a minute of CPU.)
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/root.js';
import { pollUntil } from '../helpers/wait.js';

/** Pids of the processes whose command line mentions `dir` (the servers the command started). */
function processesUsing(dir: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

interface Launched {
  pid: number;
  output(): string;
  exit: Promise<{ code: number | null; signal: string | null }>;
}

/** `node dist/bench/run.js ARGS` in its own process group (as a terminal would run it), TMPDIR=tmp. */
function launch(t: Test, args: string[], tmp: string): Launched {
  let text = '';
  const child = spawn(process.execPath, [join(ROOT, 'dist/bench/run.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, TMPDIR: tmp },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr.on('data', (b: Buffer) => (text += b.toString()));
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(async () => {
    // Whatever the outcome, leave nothing running: the group, then anything still using tmp.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    for (const p of processesUsing(tmp)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  });
  return { pid: child.pid!, output: () => text, exit };
}

async function exitWithin(l: Launched, ms: number): Promise<{ code: number | null; signal: string | null } | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), ms)));
  // Cleared once settled: a pending timer would keep this file's process alive for its full minute.
  return Promise.race([l.exit, late]).finally(() => clearTimeout(timer));
}

async function assertNothingLeft(t: Test, tmp: string, what: string): Promise<void> {
  const procs = await pollUntil(() => processesUsing(tmp), (p) => p.length === 0, 5000, 200);
  t.same(procs, [], `no server of the ${what} left running`);
  t.same(readdirSync(tmp), [], `the ${what}'s temporary data is removed`);
}

t.test('SIGTERM to the bench launcher during start-up stops the bench and its servers', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 's3d-bench-sig-'));
  const out = join(tmp, 'out');
  const b = launch(t, ['--quick', '--tmp', tmp, '--out', out], tmp);
  const started = await pollUntil(() => b.output(), (o) => o.includes('starting the null servers'), 30_000, 50);
  t.match(started, /starting the null servers/);
  process.kill(b.pid, 'SIGTERM');
  const r = await exitWithin(b, 60_000);
  t.same(r, { code: 143, signal: null }, `exits 128 + 15\n${b.output()}`);
  await assertNothingLeft(t, tmp, 'bench');
});

t.test('SIGTERM to the launcher stops a soak: its daemon stops, its data directory goes', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 's3d-soak-sig-'));
  const s = launch(t, ['soak', '--minutes', '5', '--out', join(tmp, 'out')], tmp);
  const seen = await pollUntil(() => s.output(), (o) => /min at concurrency/.test(o) || /^bench:/m.test(o), 60_000, 100);
  t.match(seen, /min at concurrency/, 'the soak is running');
  process.kill(s.pid, 'SIGTERM');
  const r = await exitWithin(s, 60_000);
  t.same(r, { code: 143, signal: null }, `exits 128 + 15\n${s.output()}`);
  rmSync(join(tmp, 'out'), { recursive: true, force: true });
  await assertNothingLeft(t, tmp, 'soak');
});
