// One s3d per data directory. A second daemon on the same directory (started by hand beside the
// service, two containers sharing a volume during a rolling update) would sweep the data files of
// the first one's uploads in flight as crash leftovers at its start, and then both would write the
// same store. The lock is an exclusive flock(2) on DIR/.s3d/lock, taken before anything else
// touches the directory, and held by a `flock` child tied to this process (flock-child.ts): it
// goes when the daemon ends, however it ends, and nothing is left behind to go stale.
//
// The child ignores the signals a whole process group gets (flock-child.ts): a signal to the
// daemon's group (Ctrl-C in a terminal, `kill -- -PGID`, a supervisor that stops the group) killed
// it at once and let a second s3d in while this one was still draining, whose start-up sweep then
// removed the data file of an upload this one went on to acknowledge.
import { closeSync, openSync } from 'node:fs';
import { CONFLICT, NOT_FOUND, spawnFlock } from './flock-child.js';

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

/**
 * Takes the lock on `lockFile` (created if missing) for `dir`, or fails with DataDirInUseError.
 * Without a `flock` program, `onUnavailable` is told and an unlocked handle is returned: the
 * daemon still runs, as it did before the lock existed.
 */
export async function lockDataDir(dir: string, lockFile: string, onUnavailable: (reason: string) => void, onLost: (reason: string) => void = () => undefined): Promise<DirLock> {
  closeSync(openSync(lockFile, 'a', 0o600));
  // flock holds the lock until the `sh -c` it runs (reading the pipe) exits.
  const r = await spawnFlock(`exec flock --nonblock --conflict-exit-code ${CONFLICT} "$0" sh -c 'echo locked && exec cat >/dev/null'`, lockFile);
  if ('held' in r) {
    const { held } = r;
    let released = false;
    void held.exited.then(({ code, signal }) => {
      if (!released) onLost(`the data directory lock on ${lockFile} was lost (its flock process ended: ${signal ?? `status ${code}`}): a second s3d could start on ${dir} now; restart this one`);
    });
    return {
      release: () => {
        released = true;
        void held.release();
      },
    };
  }
  const { failed } = r;
  const unavailable = (why: string): DirLock => {
    onUnavailable(`the data directory cannot be locked against a second s3d (${why})`);
    return { release: () => undefined };
  };
  if ('error' in failed) return unavailable(failed.error.code === 'ENOENT' ? 'no sh program' : failed.error.message);
  if (failed.code === NOT_FOUND) return unavailable('no flock program: install util-linux');
  if (failed.code === CONFLICT) throw new DataDirInUseError(dir);
  throw new Error(`flock exited with status ${failed.code} before taking the lock on ${lockFile}`);
}
