// Aborts multipart uploads nobody completed or aborted: an abandoned upload otherwise keeps its
// parts on disk forever. Like MinIO (`api.stale_uploads_expiry`, 24 h, checked every 6 h): every
// `intervalMs`, uploads initiated more than `expiryMs` ago are aborted, each in its own
// transaction, and their part files go to the deletion queue like any abort's.

import type { Logger } from 'pino';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MetaConflict, type MetaStore } from './store.js';
import { every, type Every } from '../schedule.js';

/** Uploads read per page of a pass. */
const PAGE = 1000;

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

  /** One pass now (unless one runs): resolves to the number of uploads aborted. */
  sweep(now = Date.now()): Promise<number> {
    if (this.stopped || this.expiryMs <= 0) return Promise.resolve(0);
    this.running ??= this.pass(now).finally(() => {
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
      for (const upload of page.uploads) {
        if (this.stopped) break pages;
        try {
          await this.meta.abortUpload(upload.id);
          n++;
        } catch (err) {
          // Completed or aborted by its client meanwhile: nothing left to do.
          if (!(err instanceof MetaConflict)) this.log.warn({ err, uploadId: upload.id }, 'could not abort a stale multipart upload');
        }
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
