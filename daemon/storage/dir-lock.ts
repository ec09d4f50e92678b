// One s3d per data directory. A second daemon on the same directory (started by hand beside the
// service, two containers sharing a volume during a rolling update) would sweep the data files of
// the first one's uploads in flight as crash leftovers at its start, and then both would write the
// same store. The lock is an exclusive flock(2) on DIR/.s3d/lock, taken before anything else
// touches the directory. Node has no flock, and no maintained npm package offers one without a
// native build, so util-linux's `flock` holds it in a child process whose stdin is a pipe from
// this one: when this process ends, however it ends (SIGKILL included), the pipe closes, the child
// exits and the kernel releases the lock. Nothing is left behind to go stale.
//
// The child runs in a session of its own with INT, TERM, HUP and QUIT ignored: a signal to the
// daemon's whole process group (Ctrl-C in a terminal, `kill -- -PGID`, a supervisor that stops
// the group) killed it at once and let a second s3d in while this one was still draining, whose
// start-up sweep then removed the data file of an upload this one went on to acknowledge.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

/** Another process holds the lock: the directory is in use. */
export class DataDirInUseError extends Error {
  constructor(dir: string) {
    super(`the data directory ${dir} is in use by another s3d (its lock ${dir}/.s3d/lock is held); stop that one first, or give this one another directory`);
    this.name = 'DataDirInUseError';
  }
}

export interface DirLock {
  /** Lets go of the lock (at the end of a graceful shutdown). */
  release(): void;
}

const CONFLICT = 75;
/** sh's status for a command it cannot find. */
const NOT_FOUND = 127;

/**
 * Takes the lock on `lockFile` (created if missing) for `dir`, or fails with DataDirInUseError.
 * Without a `flock` program, `onUnavailable` is told and an unlocked handle is returned: the
 * daemon still runs, as it did before the lock existed.
 */
export function lockDataDir(dir: string, lockFile: string, onUnavailable: (reason: string) => void, onLost: (reason: string) => void = () => undefined): Promise<DirLock> {
  closeSync(openSync(lockFile, 'a', 0o600));
  return new Promise((resolve, reject) => {
    // `cat` reads the pipe until this process closes it; `flock` holds the lock until `cat` exits.
    // Ignored signals stay ignored across exec: flock, and the cat it runs, ignore them too.
    const command = `trap '' INT TERM HUP QUIT; exec flock --nonblock --conflict-exit-code ${CONFLICT} "$0" sh -c 'echo locked && exec cat >/dev/null'`;
    const child = spawn('sh', ['-c', command, lockFile], {
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
      // Not the daemon's environment: it holds the root password and KMS secrets, which this
      // long-lived child (and its /proc/PID/environ) has no use for.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    let settled = false;
    let released = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    child.stdin.on('error', () => undefined);
    child.stdout.once('data', (d: Buffer) => {
      if (!d.toString().startsWith('locked')) return;
      // The child and its pipes must not keep the event loop alive once the daemon is done.
      child.unref();
      (child.stdout as unknown as { unref?: () => void }).unref?.();
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      child.once('exit', (code, signal) => {
        if (!released) onLost(`the data directory lock on ${lockFile} was lost (its flock process ended: ${signal ?? `status ${code}`}): a second s3d could start on ${dir} now; restart this one`);
      });
      settle(() => resolve({
        release: () => {
          released = true;
          child.stdin.end();
        },
      }));
    });
    const unavailable = (why: string): void => {
      settle(() => {
        onUnavailable(`the data directory cannot be locked against a second s3d (${why})`);
        resolve({ release: () => undefined });
      });
    };
    child.once('error', (err: NodeJS.ErrnoException) => unavailable(err.code === 'ENOENT' ? 'no sh program' : err.message));
    child.once('exit', (code) => {
      if (code === NOT_FOUND) return unavailable('no flock program: install util-linux');
      settle(() => (code === CONFLICT ? reject(new DataDirInUseError(dir)) : reject(new Error(`flock exited with status ${code} before taking the lock on ${lockFile}`))));
    });
  });
}
