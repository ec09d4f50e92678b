// Processes under a test daemon, read from /proc (Linux): the lock child and what it runs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The direct children of `pid` (of all its threads). */
export function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number),
  );
}

/** Every process below `pid`, children before grandchildren. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of childrenOf(p)) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** For the rest of test `t`, a PATH holding `sh` and nothing else (no util-linux `flock`). */
export function pathWithOnlySh(t: { teardown(fn: () => void): void }): void {
  const bin = mkdtempSync(join(tmpdir(), 's3d-no-flock-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  const path = process.env.PATH;
  process.env.PATH = bin;
  t.teardown(() => {
    process.env.PATH = path;
  });
}

/** Why a test needing prlimit(1) (util-linux) to lower a running process's limits must skip, or false when it is there. */
export function prlimitMissing(): false | string {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'pipe' });
    return false;
  } catch {
    return 'no prlimit program (util-linux)';
  }
}
