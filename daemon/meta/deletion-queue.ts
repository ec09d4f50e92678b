// The deletion queue (the `gc` table): data files a commit released (replaced or deleted
// versions, the parts of aborted or completed uploads), keyed by file id, valued by the time of the
// commit. Added to and removed from inside MetaStore's write transactions, so a file is queued in
// the very commit that stops referencing it; the reaper (storage/reaper.ts) deletes those past
// their grace period, and those an earlier process left, or queued due at once (addDue), at once.
//
// The grace period is timed on the monotonic clock, from when the commit that released the file
// landed (in this process): the stored wall-clock time (kept for diagnostics) is not, as a wall
// clock stepped forward an hour made every file due at once, under reads that had just looked
// their records up, and one stepped back kept them all on disk for the hour.

import type { Database, RootDatabase, Transaction } from 'lmdb';

/**
 * How long a release is remembered: past any grace period the reaper asks for (5 s), when a file
 * not remembered is due anyway. Bounds the map while the queue is held (a backup holds deletions
 * for its whole run: at 1,000 deletes/s an hour would otherwise keep 3.6 million entries).
 */
export const RELEASE_MEMORY_MS = 60_000;

export class DeletionQueue {
  readonly db: Database<number, string>;
  /** The files this process queued: performance.now() when their releasing commit landed. */
  readonly #releasedAt = new Map<string, number>();
  /** Those the write transaction running now queued (undone if it does not commit). */
  #staged: string[] | undefined;
  /**
   * Those released by transactions whose fate this process has not heard yet: never due. The
   * commit is visible to reads (and the reaper's listing) an event-loop turn or more before
   * MetaStore.write hears it landed; a reaper pass in between found the file stamped at its
   * release, and after a slow commit deleted it at once.
   */
  readonly #pending = new Set<string>();
  /**
   * Whether the table may hold files not remembered and not pending, due at once: an earlier
   * process's queue, releases forgotten past RELEASE_MEMORY_MS, dequeues that did not commit,
   * files queued with addDue.
   * Only then does due() walk the table; else the remembered releases are all there is to list.
   */
  #unknown = true;
  /** The write transaction running now dequeued files (forgotten at once: see end). */
  #dequeued = false;
  /** The write transaction running now queued files due at once (addDue). */
  #stagedDue = false;
  /** Table keys and remembered releases due() looked at (tests: a pass costs what it lists). */
  visited = 0;

  constructor(root: RootDatabase) {
    this.db = root.openDB({ name: 'gc' });
  }

  /** MetaStore: a write transaction's callback starts. */
  begin(): void {
    this.#staged = [];
    this.#dequeued = false;
    this.#stagedDue = false;
  }

  /**
   * MetaStore: the callback ended. Returns what to do once the transaction's fate is known: forget
   * its releases if it did not commit, or start their grace period again when it did. A commit can
   * take seconds under fsync load, and until it lands reads still find the records that name the
   * released files: timed from the release, such a read had only what was left of the grace.
   */
  end(): { committed(): void; undo(): void } | undefined {
    const staged = this.#staged;
    const dequeued = this.#dequeued;
    const due = this.#stagedDue;
    this.#staged = undefined;
    this.#dequeued = false;
    this.#stagedDue = false;
    if ((staged === undefined || staged.length === 0) && !dequeued && !due) return undefined;
    return {
      committed: () => {
        // One dequeued meanwhile (a later transaction deleted it) is not brought back.
        if (staged !== undefined) this.#released(staged.filter((f) => this.#pending.delete(f)));
        // Only once the commit landed: a pass walking the table before would find none of them
        // and take the table for all remembered.
        if (due) this.#unknown = true;
      },
      undo: () => {
        for (const f of staged ?? []) this.#pending.delete(f);
        // Its dequeued files stay queued, no longer remembered: due() finds them in the table.
        if (dequeued) this.#unknown = true;
      },
    };
  }

  /**
   * Inside a write transaction: queues `files`. Within MetaStore.write (begin/end) they are pending
   * until the commit lands, their grace timed from then; outside one, released now.
   */
  add(files: string[]): void {
    const now = Date.now();
    for (const f of files) void this.db.put(f, now);
    if (this.#staged === undefined) return this.#released(files);
    for (const f of files) {
      this.#staged.push(f);
      this.#pending.add(f);
    }
  }

  /**
   * Inside a write transaction: queues `files` due at once, without a grace period: files nothing
   * can be reading, the parts of an upload that is gone (store-multipart.ts sweepFinished: no
   * request reads a part's data but a completion's, which never reads it). The reaper's next pass
   * after the commit lands finds them as it finds an earlier process's.
   */
  addDue(files: string[]): void {
    if (files.length === 0) return;
    const now = Date.now();
    for (const f of files) void this.db.put(f, now);
    if (this.#staged === undefined) this.#unknown = true;
    else this.#stagedDue = true;
  }

  /**
   * Starts the grace period of `files` now, and forgets releases older than RELEASE_MEMORY_MS (the
   * map keeps insertion order, which is time order: each is deleted before it is set again).
   */
  #released(files: readonly string[]): void {
    const at = performance.now();
    for (const f of files) {
      this.#releasedAt.delete(f);
      this.#releasedAt.set(f, at);
    }
    for (const [f, t] of this.#releasedAt) {
      if (at - t < RELEASE_MEMORY_MS) return;
      this.#releasedAt.delete(f);
      this.#unknown = true;
    }
  }

  /** How many releases are remembered (tests: the map stays bounded). */
  get remembered(): number {
    return this.#releasedAt.size;
  }

  /** Inside a write transaction: forgets `files` (deleted). */
  remove(files: string[]): void {
    if (this.#staged !== undefined && files.length > 0) this.#dequeued = true;
    for (const f of files) {
      void this.db.remove(f);
      this.#releasedAt.delete(f);
      this.#pending.delete(f);
    }
  }

  /** Up to `limit` queued file ids, in id order (for MetaStore.queuedFiles, a test and diagnostic API). */
  queued(limit: number): string[] {
    return [...this.db.getKeys({ limit })];
  }

  /** Every queued file id, as `transaction` (a read snapshot) sees them. */
  all(transaction: Transaction): string[] {
    return [...this.db.getKeys({ transaction })];
  }

  /**
   * Queued file ids this process released at least `graceMs` ago, and those an earlier process
   * queued (a stop, a crash): no read of this one can have looked their records up. Those `skip`
   * names (the reaper's failed removals, waiting for their retry) are passed over, not counted.
   * Returned in id order.
   *
   * The remembered releases are in time order: those past their grace are a prefix, read up to
   * the first still in it. The table (keyed by file id, not time) is walked only while it may hold
   * files not remembered (#unknown): walking it on every pass also went past every file still in
   * its grace period (measured 2026-12-05: 10,000 recent releases, 3-5 ms a pass; 50,000, 25 ms).
   */
  due(graceMs: number, limit: number, skip?: (id: string) => boolean): string[] {
    const now = performance.now();
    const out: string[] = [];
    for (const [key, at] of this.#releasedAt) {
      if (out.length >= limit) return out.sort();
      this.visited++;
      if (now - at < graceMs) break;
      if (!this.#pending.has(key) && skip?.(key) !== true) out.push(key);
    }
    if (this.#unknown && out.length < limit) this.#unremembered(limit, out, skip);
    return out.sort();
  }

  /** Adds to `out` the table's files neither remembered nor pending; clears #unknown if it has none. */
  #unremembered(limit: number, out: string[], skip?: (id: string) => boolean): void {
    let found = false;
    for (const key of this.db.getKeys({})) {
      this.visited++;
      if (this.#pending.has(key) || this.#releasedAt.has(key)) continue;
      found = true;
      if (skip?.(key) !== true) out.push(key);
      if (out.length >= limit) return;
    }
    // The whole table, and every file in it remembered or pending: none is until one is forgotten.
    if (!found) this.#unknown = false;
  }
}
