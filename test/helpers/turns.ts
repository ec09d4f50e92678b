// What a counter of our own (records read, keys deleted) grew by in each turn of the event loop
// while one call ran: the slice tests' measure of how much work a request does before it lets
// other requests in (ops/list.ts, multipart-list.ts, delete-objects.ts read and commit in slices).
import { setImmediate as nextTurn } from 'node:timers/promises';

/** `count()`'s growth per turn of the event loop until `run` settled, and what it gave. */
export async function countByTurn<T>(count: () => number, run: () => Promise<T>): Promise<{ turns: number[]; result: T }> {
  const turns: number[] = [];
  let at = count();
  let done = false;
  const answer = run().finally(() => (done = true));
  while (!done) {
    turns.push(count() - at);
    at = count();
    await nextTurn();
  }
  turns.push(count() - at);
  return { turns, result: await answer };
}

/**
 * The largest of `turns`. Not Math.max(...turns): a commit that waits seconds for the disk on a
 * loaded machine spans a hundred thousand turns or more, and spread into arguments that many
 * overflowed the call stack (RangeError, a CI run of 2026-12-07).
 */
export function most(turns: readonly number[]): number {
  let m = -Infinity;
  for (const n of turns) if (n > m) m = n;
  return m;
}
