// Processes under a test daemon, read from /proc (Linux): the lock child and what it runs.
import { readdirSync, readFileSync } from 'node:fs';

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
