// The temporary directories startDaemon makes (a data directory, its TLS certificates' beside it)
// are named after the test process that made them, by its pid and its start time, and swept once
// that process is gone without its exit handler (killed, crashed, ended by tap at its timeout).
// Judged by the pid alone, a dead process's directories were kept for as long as the kernel had
// given its pid to another process: they leaked, run after run, on a busy machine.

import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * When process `pid` started: field 22 of /proc/<pid>/stat (clock ticks since boot), which a later
 * process given the same pid does not share. Undefined when it cannot be read (no such process,
 * no /proc, a /proc that hides other users' processes).
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2, the command name in parentheses, may itself hold spaces and parentheses: field 3 is
  // the first after the last ')'.
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/**
 * mkdtemp's prefix for a directory this process owns: s3d-test-<pid>-<start time>- (mkdtemp adds
 * six characters; the certificates' directory is that name with `-certs`), or s3d-test-<pid>-
 * where the start time cannot be read.
 */
export function testDirPrefix(): string {
  const start = processStartTime(process.pid);
  return `s3d-test-${process.pid}-${start === undefined ? '' : `${start}-`}`;
}

/**
 * The names testDirPrefix makes, with or without the start time (without: made where /proc could
 * not be read, or by a checkout from before it was recorded). Nothing else matches, such as an
 * `s3d-test-XXXXXX` directory a test makes itself with mkdtemp.
 */
const OWNED_DIR = /^s3d-test-(\d+)-(?:(\d+)-)?[A-Za-z0-9]{6}(?:-certs)?$/;

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process that made a directory may still be running: a process of that pid exists
 * and, where the name records a start time, started then. One whose start time cannot be read
 * now (it ended a moment ago, or /proc hides it) is given the benefit of the doubt: a later sweep
 * judges its directory again. A live owner's directories are never taken: a process's start time
 * does not change while it runs.
 */
export function ownerMayRun(pid: number, start: string | undefined): boolean {
  if (!processExists(pid)) return false;
  if (start === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === start;
}

/**
 * Removes the directories in `dir` (the temp dir) of test processes that are gone without their
 * exit handler (their daemons ended with them: dies-with-test.ts). Returns the paths removed.
 * helpers/daemon.ts runs it when a test process first loads it (one listing of the temp dir), and
 * .ci/run after the suite; S3D_KEEP_TEST_DIRS=1 turns it off, so keep that set while the
 * directories of a killed test are being looked at.
 */
export function sweepDeadTestDirs(dir = tmpdir()): string[] {
  if (process.env.S3D_KEEP_TEST_DIRS) return [];
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = OWNED_DIR.exec(name);
    if (!m || ownerMayRun(Number(m[1]), m[2])) continue;
    const path = join(dir, name);
    try {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Another test process sweeping the same directory at once: left to it.
    }
  }
  return removed;
}
