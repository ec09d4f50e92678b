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
//
// A commit puts at most FILES_PER_COMMIT files into the queue: the releases (adds) past that bound
// (one of 10,000 parts deleted or overwritten, the uploads a DeleteBucket transaction removes, the
// keys of a DeleteObjects or lifecycle commit past the first 500 files) are stored in entries of
// the `gc-batches` table (10,000 files each at most), in that same commit; later commits move them
// into the queue FILES_PER_COMMIT at a time (sweepBatches), a turn of the event loop between two:
// 10,000 puts into the queue held the event loop ~15-40 ms of the commit. The bound was a release's until
// 2026-12-07: a DeleteObjects commit of 200 objects of 500 parts queued all 100,000 files itself.
// A file waiting in a batch is no record's and is not due: the reaper deletes only what the queue
// holds, and the start-up scan counts batches as queued (all).
//
// "A commit" is one MetaStore.write callback (begin() starts its count). lmdb-js runs the
// callbacks queued while the transaction before was committing one after another in one LMDB
// transaction and one turn of the event loop (node_modules/lmdb/write.js executeTxnCallbacks), so
// a turn may queue 500 files for each: measured 2026-12-07, 8 DeleteObjects commits of 500
// one-file objects asked at once, at most 2,500 files queued in one turn. Left so: every bound on
// a commit's work is a callback's (250 keys of a DeleteObjects, a lifecycle page, the bytes
// decoded in it), and such a turn holds each callback's keys too; counted across callbacks,
// the files past 500 would go to a batch, ~1 µs a file against ~10 µs a put, while those
// callbacks' other work stayed, and each callback's undo on a failure (a child transaction
// rolled back alone) would have to give back what it counted.

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database, RootDatabase, Transaction } from 'lmdb';
import { orAbsent } from './absent-table.js';
import { CommitSweep } from './commit-sweep.js';

/**
 * How long a release is remembered: past any grace period the reaper asks for (5 s), when a file
 * not remembered is due anyway. Bounds the map while the queue is held (a backup holds deletions
 * for its whole run: at 1,000 deletes/s an hour would otherwise keep 3.6 million entries).
 */
export const RELEASE_MEMORY_MS = 60_000;

/** Files a commit (one write callback: see the header) puts into the queue: the releases past them go to a batch, moved into the queue this many to a commit. */
export const FILES_PER_COMMIT = 500;

/**
 * Files a batch entry holds at most: each sweep commit writes back what is left of the first one,
 * so one entry of a whole commit's files (100,000 and more) rewrote megabytes a commit. 10,000:
 * the parts of the largest object, what one entry held before 2026-12-07.
 */
const FILES_PER_BATCH = 10_000;

/** A failed commit of the batch sweep is tried again this much later. */
const BATCH_RETRY_MS = 5_000;

/** A batch's value: the byte offset in the list of the first file not moved yet, then the file ids, each ended by a newline. */
function batchValue(offset: number, list: Buffer): Buffer {
  const v = Buffer.allocUnsafe(4 + list.length);
  v.writeUInt32BE(offset, 0);
  list.copy(v, 4);
  return v;
}

/** The file ids of a batch's value not moved yet. */
function batchFiles(v: Buffer): string[] {
  const rest = v.subarray(4 + v.readUInt32BE(0)).toString('utf8');
  return rest === '' ? [] : rest.slice(0, -1).split('\n');
}

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
  /** Files put into the queue since start (tests: a commit queues at most FILES_PER_COMMIT). */
  filesQueued = 0;
  /**
   * Files commits released past FILES_PER_COMMIT, waiting to be moved into the queue: key →
   * batchValue. In a store opened read-only that has no such table (an earlier version's: lmdb-js
   * creates no table there), the empty stand-in of absent-table.ts.
   */
  readonly #batches: Database<Buffer, number>;
  /** The key the next batch gets (one past the last stored). */
  #nextBatch = 1;
  /** The write transaction running now stored a batch. */
  #stagedBatch = false;
  /** Files the write transaction running now put into the queue with add (towards FILES_PER_COMMIT). */
  #stagedCount = 0;
  /** The releases of the write transaction running now past FILES_PER_COMMIT: its batch, stored by flush. */
  #spilled: string[][] = [];
  /** MetaStore's write: the batch sweep's commits (without it, no release is batched). */
  readonly #write: (<T>(fn: () => T) => Promise<T>) | undefined;
  /** The batch sweep (a batch stored while it runs has it look once more); none without `write`. */
  readonly #sweep: CommitSweep | undefined;

  constructor(root: RootDatabase, write?: <T>(fn: () => T) => Promise<T>, onSweepError?: (err: unknown) => void) {
    this.db = root.openDB({ name: 'gc' });
    this.#batches = orAbsent(root.openDB({ name: 'gc-batches', keyEncoding: 'uint32', encoding: 'binary' }) as unknown as Database<Buffer, number> | undefined, 'gc-batches');
    this.#write = write;
    const batches = this.#batches;
    // A turn of the event loop before each commit: the sweep starts from a commit's `committed`.
    this.#sweep = write && new CommitSweep(async () => (await nextTurn(), write(() => this.#moveSome(batches))), BATCH_RETRY_MS, onSweepError);
    for (const key of this.#batches.getKeys({ reverse: true, limit: 1 })) this.#nextBatch = key + 1;
  }

  /** Whether batches wait to be moved into the queue (an earlier process's: MetaStore sweeps them at open). */
  hasBatches(): boolean {
    for (const _ of this.#batches.getKeys({ limit: 1 })) return true;
    return false;
  }

  /**
   * Its tables, for MetaStore.stats's record count (s3d_lmdb_entries): the queue, and the batches
   * (each one record, however many files it holds; none in a store an earlier version wrote).
   */
  tables(): Array<{ getStats(): unknown }> {
    return [this.db, this.#batches];
  }

  /** MetaStore: a write transaction's callback starts. */
  begin(): void {
    this.#staged = [];
    this.#dequeued = false;
    this.#stagedDue = false;
    this.#stagedBatch = false;
    this.#stagedCount = 0;
    this.#spilled = [];
  }

  /**
   * MetaStore: the callback returned, its writes all asked for; a write of the transaction still.
   * The releases past the commit's bound are stored together, in entries of FILES_PER_BATCH files
   * (not one each: the sweep would move a few files a commit), a write of their joined ids each
   * (47-133 ms for 99,500 on a 2-core VM at load ~19, where their puts into the queue took
   * 0.85-1.3 s).
   * Not in end(), which runs after a callback that threw too: its transaction is not committed.
   */
  flush(): void {
    const spilled = this.#spilled;
    this.#spilled = [];
    if (spilled.length > 0) this.#addBatch(this.#batches, spilled);
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
    const batched = this.#stagedBatch;
    this.#staged = undefined;
    this.#dequeued = false;
    this.#stagedDue = false;
    this.#stagedBatch = false;
    this.#stagedCount = 0;
    this.#spilled = [];
    if ((staged === undefined || staged.length === 0) && !dequeued && !due && !batched) return undefined;
    return {
      committed: () => {
        if (batched) void this.sweepBatches();
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
    // Within a MetaStore write: a release that would take the commit past its bound goes to the
    // commit's batch, moved into the queue after the commit. (Whole: the next, smaller, may fit.)
    if (this.#staged !== undefined && this.#write !== undefined) {
      if (this.#stagedCount + files.length > FILES_PER_COMMIT) {
        this.#spilled.push(files);
        return;
      }
      this.#stagedCount += files.length;
    }
    const now = Date.now();
    this.filesQueued += files.length;
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
    this.filesQueued += files.length;
    for (const f of files) void this.db.put(f, now);
    if (this.#staged === undefined) this.#unknown = true;
    else this.#stagedDue = true;
  }

  /** Inside a MetaStore write: the files of the releases `spilled` stored as batches of up to FILES_PER_BATCH. */
  #addBatch(batches: Database<Buffer, number>, spilled: string[][]): void {
    let chunk: string[] = [];
    const store = (): void => {
      void batches.put(this.#nextBatch++, batchValue(0, Buffer.from(chunk.join('\n') + '\n')));
      this.#stagedBatch = true;
      chunk = [];
    };
    for (const files of spilled) {
      for (const f of files) {
        chunk.push(f);
        if (chunk.length === FILES_PER_BATCH) store();
      }
    }
    if (chunk.length > 0) store();
  }

  /**
   * Moves the files of the batches into the queue, FILES_PER_COMMIT to a commit, a turn of the
   * event loop between two, each commit queueing its files (their grace period timed from it, as
   * any release's) and taking them off their batch. Started by a commit that stored a batch, and
   * at open. Resolves once none is left, the store closes, or a commit fails (tried again
   * BATCH_RETRY_MS later; until then the files wait in their batch, which nothing deletes).
   */
  sweepBatches(): Promise<void> {
    return this.#sweep?.run() ?? Promise.resolve();
  }

  /** Inside a write transaction: moves up to FILES_PER_COMMIT files of the first batch into the queue; whether any batch is left. */
  #moveSome(batches: Database<Buffer, number>): boolean {
    let first: { key: number; value: Buffer } | undefined;
    for (const e of batches.getRange({ limit: 1 })) first = { key: e.key, value: Buffer.from(e.value) };
    if (first === undefined) return false;
    const v = first.value;
    const start = 4 + v.readUInt32BE(0);
    let end = start;
    const files: string[] = [];
    while (files.length < FILES_PER_COMMIT && end < v.length) {
      const nl = v.indexOf(0x0a, end);
      files.push(v.toString('utf8', end, nl));
      end = nl + 1;
    }
    this.add(files);
    if (end >= v.length) void batches.remove(first.key);
    else {
      v.writeUInt32BE(end - 4, 0);
      void batches.put(first.key, v);
    }
    if (end < v.length) return true;
    for (const _ of batches.getKeys({ start: first.key + 1, limit: 1 })) return true;
    return false;
  }

  /** Stops the batch sweep after its current commit (MetaStore.close: the next open goes on with it). */
  async close(): Promise<void> {
    await this.#sweep?.close();
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

  /**
   * Up to `limit` queued file ids, in id order, then those of batches not moved yet (for
   * MetaStore.queuedFiles, a test and diagnostic API: what commits released).
   */
  queued(limit: number): string[] {
    const out = [...this.db.getKeys({ limit })];
    for (const { value } of this.#batches.getRange({})) {
      if (out.length >= limit) break;
      out.push(...batchFiles(Buffer.from(value)).slice(0, limit - out.length));
    }
    return out;
  }

  /** Every queued file id, batches' too, as `transaction` (a read snapshot) sees them. */
  all(transaction: Transaction): string[] {
    const out = [...this.db.getKeys({ transaction })];
    for (const { value } of this.#batches.getRange({ transaction })) out.push(...batchFiles(Buffer.from(value)));
    return out;
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
