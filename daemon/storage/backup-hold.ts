// The backup hold: while `s3d backup` copies the data files its metadata snapshot references,
// the daemon must not delete any of them. A file the snapshot names may be released by a commit
// right after it, and the reaper deletes released files 5 s later: a backup of a large store
// would find it gone. So the backup holds an exclusive flock(2) on DIR/.s3d/backup-hold, taken
// before the snapshot, and every deleter of released files (the reaper, the start-up sweep of the
// deletion queue) asks, after reading what it would delete and before deleting it, whether the
// lock is held; while it is, the files stay queued.
//
// Why this is safe:
//  - The deleter reads its list, then probes. If the probe finds the lock free, any backup takes
//    it later, and its snapshot later still: every file on the list was released before that
//    snapshot, which therefore does not name it. If the probe finds it held, nothing is deleted.
//  - The lock is the kernel's, held through util-linux `flock` in a child process tied to the
//    backup by a pipe (flock-child.ts, as dir-lock.ts holds the daemon's lock): when the backup
//    ends, SIGKILL included, the pipe closes, the child exits and the kernel drops the lock. A stale hold file
//    is then just a file whose lock is free: the daemon deletes again on its next pass.
//  - A daemon that crashes and restarts during a backup probes again before its start-up sweep.
//
// Cheap for the daemon: the file exists only while a backup runs (the backup removes it, still
// holding the lock, when it ends) or after one was killed; the probe (one short `sh` + `flock`
// process) runs only when the file exists and some file is due for deletion. The probe opens the
// file read-only and never creates it, and takes a shared lock without waiting, so a backup that
// starts meanwhile waits for it (`--wait`) instead of failing.

import { spawn } from 'node:child_process';
import { closeSync, fchmodSync, openSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CONFLICT, NOT_FOUND, spawnFlock } from './flock-child.js';

export function holdFile(dataDir: string): string {
  return join(dataDir, '.s3d', 'backup-hold');
}

/** Another backup of the same directory holds the hold. */
export class HoldBusyError extends Error {
  constructor(file: string) {
    super(`another s3d backup of this data directory is running (it holds ${file}); wait for it to end`);
    this.name = 'HoldBusyError';
  }
}

/** The hold cannot be taken at all (no sh or no flock program). */
export class HoldUnavailableError extends Error {
  constructor(why: string) {
    super(`cannot hold the daemon's deletions during the backup: ${why}`);
    this.name = 'HoldUnavailableError';
  }
}

export interface BackupHold {
  readonly file: string;
  /** Removes the hold file (still holding it) and lets the lock go; resolves once it is released. */
  release(): Promise<void>;
}

/** The file at the path is no longer the one locked (a backup ending removed it): try again. */
const REPLACED = 76;
/** How long a backup waits, by default, for a daemon's probe or another backup to let go of the lock. */
const WAIT_SECONDS = 10;
const ATTEMPTS = 5;

/**
 * Takes the hold for a backup of `dataDir`. The hold file is made readable by all (it is empty),
 * so a daemon running as another user than the backup can still probe it.
 */
export async function takeBackupHold(dataDir: string, opts: { waitSeconds?: number; signal?: AbortSignal } = {}): Promise<BackupHold> {
  const file = holdFile(dataDir);
  for (let attempt = 1; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'a', 0o644);
    } catch (err) {
      // Left behind by a backup run as another user (root): reading is all a lock needs.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM') throw err;
      try {
        fd = openSync(file, 'r');
      } catch {
        throw err;
      }
    }
    try {
      fchmodSync(fd, 0o644);
    } catch {
      // a file of another user's: it can be read already, or the probe says why not
    } finally {
      closeSync(fd);
    }
    const hold = await lockOnce(file, opts.waitSeconds ?? WAIT_SECONDS, opts.signal);
    if (hold !== undefined) return hold;
    if (attempt >= ATTEMPTS) throw new Error(`could not lock ${file}: it was replaced ${ATTEMPTS} times while being locked`);
  }
}

/** One attempt: the hold, or undefined when the file was replaced under the lock (try again). */
async function lockOnce(file: string, waitSeconds: number, signal?: AbortSignal): Promise<BackupHold | undefined> {
  // The lock is taken on descriptor 9 of this shell, which stays open while `cat` reads the pipe
  // from the backup. After locking, the file at the path must still be the one locked: a backup
  // that was ending removed it while this one waited, and a lock on a removed file holds nothing
  // (the daemon finds no file and deletes).
  const r = await spawnFlock(
    `exec 9<"$0"; flock --exclusive --wait ${waitSeconds} --conflict-exit-code ${CONFLICT} 9 || exit $?; ` +
      `[ /proc/self/fd/9 -ef "$0" ] || exit ${REPLACED}; echo locked; cat >/dev/null`,
    file,
    signal,
  );
  if ('held' in r) {
    const { held } = r;
    let released: Promise<void> | undefined;
    return {
      file,
      release: () => {
        released ??= (async () => {
          // Removed while still locked: no daemon probes a file that no backup holds.
          try {
            unlinkSync(file);
          } catch {
            // gone already; nothing else to do
          }
          await held.release();
        })();
        return released;
      },
    };
  }
  const { failed } = r;
  if ('error' in failed) throw new HoldUnavailableError(failed.error.code === 'ENOENT' ? 'no sh program' : failed.error.message);
  if (failed.code === CONFLICT) throw new HoldBusyError(file);
  if (failed.code === NOT_FOUND) throw new HoldUnavailableError('no flock program: install util-linux');
  // Replaced, or removed before the shell opened it (2: sh could not open it).
  if (failed.code === REPLACED || (failed.code === 2 && statSync(file, { throwIfNoEntry: false }) === undefined)) return undefined;
  throw new Error(`locking ${file} failed (status ${failed.code}): ${failed.stderr.trim()}`);
}

type ProbeResult = { held: boolean; problem?: string };

/** Probes the lock on `file` without waiting and without creating the file. */
function probe(file: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const command = `exec 9<"$0" && exec flock --nonblock --shared --conflict-exit-code ${CONFLICT} 9`;
    const child = spawn('sh', ['-c', command, file], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: PROBE_TIMEOUT_MS });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    child.once('error', (err) => resolve({ held: true, problem: err.message }));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve({ held: false });
      if (code === CONFLICT) return resolve({ held: true });
      // Without flock no backup can take the hold either.
      if (code === NOT_FOUND) return resolve({ held: false, problem: 'no flock program' });
      // Removed meanwhile (a backup ending): nothing holds.
      if (statSync(file, { throwIfNoEntry: false }) === undefined) return resolve({ held: false });
      // Unknown: keep the files (a backup may need them) and say why.
      resolve({ held: true, problem: signal !== null ? `the probe was ended by ${signal}` : `status ${code}: ${stderr.trim()}` });
    });
  });
}

const PROBE_TIMEOUT_MS = 10_000;

/**
 * The daemon's side: whether a backup holds deletions now. Ask it after reading the list of files
 * to delete (see the top of this file), and delete none of them when it says so.
 */
export class DeletionHold {
  readonly file: string;
  readonly #log: Logger;
  #holding = false;
  #problem: string | undefined;

  constructor(dataDir: string, log: Logger) {
    this.file = holdFile(dataDir);
    this.#log = log;
  }

  /** Whether deletions wait now; logs (once) when holding starts and ends. */
  async held(): Promise<boolean> {
    const result: ProbeResult = statSync(this.file, { throwIfNoEntry: false }) === undefined ? { held: false } : await probe(this.file);
    if (result.problem !== this.#problem) {
      this.#problem = result.problem;
      if (result.problem !== undefined) {
        this.#log.warn({ file: this.file, problem: result.problem }, result.held ? 'cannot tell whether a backup holds deletions: released data files stay on disk meanwhile' : 'cannot probe the backup hold; s3d backup cannot run here either');
      }
    }
    if (result.held !== this.#holding) {
      this.#holding = result.held;
      if (result.held) this.#log.info({ file: this.file }, 'a backup holds deletions (s3d backup): released data files stay on disk until it ends');
      else this.#log.info({ file: this.file }, 'the backup hold is released: deleting released data files again');
    }
    return result.held;
  }
}
