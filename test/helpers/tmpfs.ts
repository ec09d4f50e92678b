// A fresh tmpfs of a given size, for tests of full disks (mounting needs root: the reason it
// cannot is returned, for the test to skip with).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  dir: string;
  unmount(): void;
}

/** Mounts a tmpfs of `bytes` (with `,extra` mount options) on a new temp directory; the reason it cannot, as a string. */
export function mountTmpfs(bytes: number, extra = ''): string | Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 's3d-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}${extra}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs (needs root): ${((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim()}`;
  }
  return {
    dir,
    unmount() {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether a tmpfs can be mounted here: false, or the reason it cannot (for `skip`). */
export function tmpfsUnavailable(): false | string {
  const probe = mountTmpfs(1024 * 1024);
  if (typeof probe === 'string') return probe;
  probe.unmount();
  return false;
}
