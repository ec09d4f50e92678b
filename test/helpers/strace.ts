// strace attached to a running daemon, tampering with the system calls on one file (the fdatasync
// calls of LMDB's data file, the reads of a data file): delayed or failed, to show what a slow or
// failing disk does to commits and reads. Tests using it
// are skipped where strace is missing or may not attach (ptrace).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { diesWithTest } from './dies-with-test.js';

export function straceMissing(): false | string {
  const r = spawnSync('strace', ['-e', 'trace=none', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
  return r.status === 0 ? false : 'strace is missing or may not trace here';
}
export const NO_STRACE = straceMissing();

/** Attaches strace to every thread of `pid`, tampering with fdatasync on `file`; resolves once attached. */
export function tamper(pid: number, file: string, inject: string): Promise<ChildProcess> {
  return tamperCalls(pid, file, ['fdatasync'], inject);
}

/**
 * Attaches strace to every thread of `pid`, tampering with `calls` (system call names) on `file`
 * as `inject` says (`error=EIO`, `error=EIO:when=4`, `delay_exit=…`); resolves once attached.
 */
export async function tamperCalls(pid: number, file: string, calls: readonly string[], inject: string): Promise<ChildProcess> {
  const list = calls.join(',');
  const child = spawn(...diesWithTest('strace', ['-f', '-p', String(pid), '-P', file, '-e', `trace=${list}`, '-e', `inject=${list}:${inject}`, '-o', '/dev/null']), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (/attached/.test(err)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`strace exited (${code}): ${err}`)));
  });
  return child;
}

export async function detach(child: ChildProcess): Promise<void> {
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await gone;
}
