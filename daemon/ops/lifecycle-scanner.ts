// Carries out bucket lifecycle rules: every `intervalMs` (and once shortly after start-up), each
// bucket with enabled rules is listed page by page, and the objects whose expiry (lifecycle.ts)
// has come are deleted, a page per commit, each only if it is still the version that was judged
// (an object rewritten meanwhile is a new object with its own expiry). Uploads past an
// AbortIncompleteMultipartUpload rule are aborted. Deleted data files take the usual deletion
// queue. The scan yields to the event loop between pages, so requests keep being served.

import type { Logger } from 'pino';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expiryOf, uploadExpired } from './lifecycle.js';
import { MetaConflict, type MetaStore } from '../meta/store.js';
import type { WebhookNotifier } from '../notify/webhook.js';
import { bucketEvents, LIFECYCLE_ORIGIN } from './notification.js';

const PAGE = 1000;
const FIRST_SCAN_DELAY_MS = 5_000;

export interface ScanResult {
  expired: number;
  aborted: number;
}

export class LifecycleScanner {
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private running: Promise<ScanResult> | undefined;
  private stopped = false;
  /** Totals since start-up (metrics). */
  readonly totals: ScanResult = { expired: 0, aborted: 0 };

  constructor(
    private readonly meta: MetaStore,
    private readonly log: Logger,
    private readonly intervalMs: number,
    /** Expired objects are notified as s3:ObjectRemoved:Delete (as MinIO does) to these targets. */
    private readonly notify?: { readonly notifier: WebhookNotifier; readonly region: string },
  ) {}

  start(): void {
    this.first = setTimeout(() => void this.scan(), Math.min(FIRST_SCAN_DELAY_MS, this.intervalMs));
    this.first.unref();
    this.timer = setInterval(() => void this.scan(), this.intervalMs);
    this.timer.unref();
  }

  /** One pass now unless one is running (then that one's result). */
  scan(now = Date.now()): Promise<ScanResult> {
    if (this.stopped) return Promise.resolve({ expired: 0, aborted: 0 });
    this.running ??= this.pass(now)
      .catch((err: unknown) => {
        this.log.error({ err }, 'lifecycle scan failed');
        return { expired: 0, aborted: 0 };
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(now: number): Promise<ScanResult> {
    const result: ScanResult = { expired: 0, aborted: 0 };
    for (const bucket of this.meta.listBuckets()) {
      const rules = bucket.lifecycle?.filter((r) => r.enabled);
      if (!rules || rules.length === 0) continue;
      if (rules.some((r) => r.expirationDays !== undefined || r.expirationDate !== undefined)) {
        let after = '';
        for (;;) {
          if (this.stopped) return result;
          const page = this.meta.listObjects(bucket.name, { prefix: '', delimiter: '', after, maxKeys: PAGE });
          const due = page.contents.filter(({ key, record }) => {
            const e = expiryOf(rules, key, record);
            return e !== undefined && e.at <= now;
          });
          if (due.length > 0) {
            const events = bucketEvents(this.notify?.notifier, this.notify?.region ?? '', this.meta.getBucket(bucket.name), () => LIFECYCLE_ORIGIN);
            const n = await this.meta.deleteObjectsIfUnchanged(
              bucket.name,
              due.map(({ key, record }) => ({ key, etag: record.etag, mtime: record.mtime })),
              events?.removed(due.map(({ key }) => key)),
            );
            events?.wake();
            result.expired += n;
          }
          if (!page.isTruncated || page.next === undefined) break;
          after = page.next;
          await nextTurn();
        }
      }
      if (rules.some((r) => r.abortIncompleteDays !== undefined)) {
        for (const up of this.meta.uploadsInitiatedBefore(now)) {
          if (this.stopped) return result;
          if (up.bucket !== bucket.name || !uploadExpired(rules, up, now)) continue;
          try {
            await this.meta.abortUpload(up.id);
            result.aborted++;
          } catch (err) {
            if (!(err instanceof MetaConflict)) throw err;
          }
        }
      }
    }
    this.totals.expired += result.expired;
    this.totals.aborted += result.aborted;
    if (result.expired + result.aborted > 0) this.log.info(result, 'lifecycle: expired objects deleted, incomplete uploads aborted');
    return result;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.first) clearTimeout(this.first);
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
