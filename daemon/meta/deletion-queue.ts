// The deletion queue (the `gc` table): data files a commit released (replaced or deleted
// versions, aborted uploads' parts), keyed by file id, valued by the time of the commit. Added to
// and removed from inside MetaStore's write transactions, so a file is queued in the very commit
// that stops referencing it; the reaper (storage/reaper.ts) deletes those past their grace period
// and the start-up sweep those left at a stop.

import type { Database, RootDatabase, Transaction } from 'lmdb';

export class DeletionQueue {
  readonly db: Database<number, string>;

  constructor(root: RootDatabase) {
    this.db = root.openDB({ name: 'gc' });
  }

  /** Inside a write transaction: queues `files`, released now. */
  add(files: string[]): void {
    const now = Date.now();
    for (const f of files) void this.db.put(f, now);
  }

  /** Inside a write transaction: forgets `files` (deleted). */
  remove(files: string[]): void {
    for (const f of files) void this.db.remove(f);
  }

  /** Up to `limit` queued file ids, in id order (for MetaStore.queuedFiles, a test and diagnostic API). */
  queued(limit: number): string[] {
    return [...this.db.getKeys({ limit })];
  }

  /** Every queued file id, as `transaction` (a read snapshot) sees them. */
  all(transaction: Transaction): string[] {
    return [...this.db.getKeys({ transaction })];
  }

  /** Queued file ids whose releasing commit is at least `graceMs` old. */
  due(graceMs: number, now: number, limit: number): string[] {
    const out: string[] = [];
    for (const { key, value } of this.db.getRange({})) {
      if (now - value >= graceMs) out.push(key);
      if (out.length >= limit) break;
    }
    return out;
  }
}
