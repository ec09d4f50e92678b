// Aborts multipart uploads nobody completed or aborted: an abandoned upload otherwise keeps its
// parts on disk forever. Like MinIO (`api.stale_uploads_expiry`, 24 h, checked every 6 h): every
// `intervalMs`, uploads initiated more than `expiryMs` ago are aborted, many to a transaction
// (up to BATCH_PARTS parts' records), and their part files go to the deletion queue like any
// abort's. The start-up pass runs once the daemon serves (cli.ts): one synced commit per upload
// kept a daemon with 10,000 stale uploads from answering for 11 s, long enough, with more uploads
// or a slower disk, for systemd's TimeoutStartSec to kill it in a loop.

import type { Logger } from 'pino';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MetaStore } from './store.js';
import { every, type Every } from '../schedule.js';

/** Uploads read per page of a pass: 100 between two turns, as a listing reads (ops/list.ts). */
const PAGE = 100;
/**
 * Parts (or part-less uploads) removed per transaction: one commit, and one hold of the event
 * loop, bounded. 1,000 held every request back ~15 ms on average, up to 80 ms on a loaded machine.
 */
const BATCH_PARTS = 100;

export class UploadExpiry {
  private timer: Every | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;
  /** Uploads aborted since start-up (metrics). */
  aborted = 0;

  constructor(
    private readonly meta: MetaStore,
    private readonly log: Logger,
    private readonly expiryMs: number,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.expiryMs <= 0) return;
    // every(): S3_API_STALE_UPLOADS_CLEANUP_INTERVAL may be longer than a Node timer holds.
    this.timer = every(this.intervalMs, () => void this.sweep());
  }

  /** One pass now (unless one runs): resolves to the number of uploads aborted. Never rejects: the next pass tries again. */
  sweep(now = Date.now()): Promise<number> {
    if (this.stopped || this.expiryMs <= 0) return Promise.resolve(0);
    this.running ??= this.pass(now)
      .catch((err: unknown) => {
        this.log.warn({ err }, 'the stale multipart upload sweep failed; the next pass tries again');
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(now: number): Promise<number> {
    let n = 0;
    // A page of uploads at a time, with a turn of the event loop between pages: one read of
    // every upload held requests back (~1 s per 100,000 uploads).
    let after = '';
    pages: for (;;) {
      const page = this.meta.uploadsInitiatedBefore(now - this.expiryMs, after, PAGE);
      const ids = page.uploads.map((u) => u.id);
      while (ids.length > 0) {
        if (this.stopped) break pages;
        let batch: { done: number; aborted: number };
        try {
          // Uploads completed or aborted by their clients meanwhile are skipped in the transaction.
          batch = await this.meta.abortUploads(ids, BATCH_PARTS);
        } catch (err) {
          // A commit that failed (a full disk): the next pass tries again.
          this.log.warn({ err }, 'could not abort stale multipart uploads; the next pass tries again');
          break pages;
        }
        n += batch.aborted;
        ids.splice(0, batch.done);
        // Requests get the event loop between two batches.
        if (ids.length > 0) await nextTurn();
      }
      if (page.next === undefined || this.stopped) break;
      after = page.next;
      await nextTurn();
    }
    if (n > 0) {
      this.aborted += n;
      this.log.info({ aborted: n, olderThanSeconds: Math.round(this.expiryMs / 1000) }, 'aborted stale multipart uploads');
    }
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.clear();
    await this.running?.catch(() => undefined);
  }
}
