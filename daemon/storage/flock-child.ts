// A flock(2) held for this process by a child. Node has no flock, and no maintained npm package
// offers one without a native build, so util-linux's `flock` takes the lock in a `sh` child, which
// then prints `locked` and reads a pipe from this process until it closes: when this process
// ends, however it ends (SIGKILL included), the pipe closes, the child exits and the kernel drops
// the lock. Nothing is left behind to go stale. Used by dir-lock.ts (one daemon per data
// directory) and backup-hold.ts (a backup's hold on the daemon's deletions), which each give the
// shell script that takes their lock.
//
// The child runs in a session of its own (detached), and the scripts ignore INT, TERM, HUP and
// QUIT: a signal to this process's whole group (Ctrl-C in a terminal, `kill -- -PGID`, a
// supervisor that stops the group) would otherwise end the lock before this process lets go.

import { spawn } from 'node:child_process';

/** flock's exit status for a lock held elsewhere (`--conflict-exit-code`). */
export const CONFLICT = 75;
/** sh's status for a command it cannot find (no flock program). */
export const NOT_FOUND = 127;

export interface FlockChild {
  /** Ends the child (the lock goes with it); resolves once it has exited. */
  release(): Promise<void>;
  /** Resolves when the child exits, released or not (a lost lock when not). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** How the child ended before it held the lock: its status and stderr, or why it did not start. */
export type FlockFailure = { code: number | null; stderr: string } | { error: NodeJS.ErrnoException };

/**
 * Runs `sh -c SCRIPT FILE` ($0 is FILE in the script). The script must take the lock, print
 * `locked` and then read stdin until it ends (`cat >/dev/null`), or exit with a status the caller
 * reads. Resolves with the held lock, or with how the child failed before it held it. `signal`
 * aborts the wait for the lock (the child is killed: a failure without a status).
 */
export function spawnFlock(script: string, file: string, signal?: AbortSignal): Promise<{ held: FlockChild } | { failed: FlockFailure }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', `trap '' INT TERM HUP QUIT; ${script}`, file], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      // Not this process's environment: the daemon's holds the root password and KMS secrets,
      // which this long-lived child (and its /proc/PID/environ) has no use for.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    let settled = false;
    let stderr = '';
    // Given up while waiting for the lock: SIGKILL, since the script ignores the polite signals.
    const abort = (): void => void child.kill('SIGKILL');
    signal?.addEventListener('abort', abort, { once: true });
    child.once('exit', () => signal?.removeEventListener('abort', abort));
    child.stdin.on('error', () => undefined);
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    child.stdout.once('data', (d: Buffer) => {
      if (settled || !d.toString().startsWith('locked')) return;
      settled = true;
      // Held: the holder lets go through release(), not through the signal.
      signal?.removeEventListener('abort', abort);
      // The child and its pipes must not keep the event loop alive while the lock is held.
      child.unref();
      for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
      let released: Promise<void> | undefined;
      resolve({
        held: {
          exited,
          release: () => {
            released ??= (() => {
              child.stdin.end();
              // Referenced again: an unreferenced child alone would let the event loop end first.
              child.ref();
              return exited.then(() => undefined);
            })();
            return released;
          },
        },
      });
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      resolve({ failed: { error } });
    });
    void exited.then(({ code }) => {
      if (settled) return;
      settled = true;
      resolve({ failed: { code, stderr } });
    });
  });
}
