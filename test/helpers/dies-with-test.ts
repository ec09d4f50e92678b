// Children that end with the test process that started them. A test file that tap times out (an
// IPC message, then SIGALRM, then SIGKILL) or that crashes never runs its teardowns, and a daemon,
// KES dev server, nginx or strace it started would go on holding CPU, ports and a data directory
// into the test files after it. The daemon is not told anything: the kernel ends the child.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';
let usable: boolean | undefined;

/**
 * Whether setpriv can set a parent-death signal here (util-linux >= 2.33, Debian's util-linux:
 * Essential). Asked once per test process, when a child is first started (~2 ms).
 */
function setprivUsable(): boolean {
  usable ??= existsSync(SETPRIV) && spawnSync(SETPRIV, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' }).status === 0;
  return usable;
}

/**
 * `cmd args` run through `setpriv --pdeathsig KILL`: PR_SET_PDEATHSIG, which execve keeps, so the
 * command (same pid: setpriv execs it) gets SIGKILL from the kernel when the thread that spawned it
 * ends: this process's main thread, where child_process.spawn forks (not a worker thread's spawn).
 * SIGKILL rather than SIGTERM: a daemon wedged enough for its test to time out may not finish a
 * graceful stop. Without a usable setpriv, the command as it is (.ci/run still ends and reports
 * what is left when the tests are done).
 */
export function diesWithTest(cmd: string, args: readonly string[]): [string, string[]] {
  if (!setprivUsable()) return [cmd, [...args]];
  return [SETPRIV, ['--pdeathsig', 'KILL', '--', cmd, ...args]];
}
