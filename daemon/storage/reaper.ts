// Deletes data files that committed transactions queued for deletion, after a grace period
// (a GET that looked the old record up just before the overwrite can still open its file), never
// while a read in progress has them pinned (FileStore.pin), and none while `s3d backup` holds
// deletions (storage/backup-hold.ts). A pass goes on batch after batch while batches come full
// (a burst of deletes, or the queue a stop left, which start-up hands it once the daemon serves).
// Only files this process released wait for the grace period, timed on the monotonic clock
// (meta/deletion-queue.ts): those an earlier process queued are due at once. A file whose removal
// fails (EIO, EACCES) stays queued and is retried later, with a backoff (RetryList below).

import type { Logger } from 'pino';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MetaStore } from '../meta/store.js';
import type { FileStore } from './files.js';
import { KeyedLogLimit, LogLimit } from '../log-limit.js';

/** Whether a backup holds deletions now (storage/backup-hold.ts DeletionHold). */
export interface HoldProbe {
  held(): Promise<boolean>;
}

const GRACE_MS = 5_000;
const INTERVAL_MS = 2_000;
/** Queued files read, deleted and dequeued (one commit) per batch of a pass. */
const BATCH = 1000;
/** A file whose removal failed is retried after this, then twice as long each time, up to RETRY_MAX_MS. */
const RETRY_MS = 30_000;
const RETRY_MAX_MS = 3_600_000;
/** Failed files remembered: past this, the oldest are forgotten (retried at the next pass). */
const RETRY_MEMORY = 100_000;
/** Removal failures are logged at most once a minute per reason (error code), failed passes once a minute. */
const LOG_EVERY_MS = 60_000;

/**
 * The files whose removal failed, skipped by the queue listing until their retry is due. Kept
 * queued, they would otherwise come first in every batch (the oldest releases lead the listing): a batch
 * full of files that always fail would stop the pass before the others.
 */
class RetryList {
  /** id -> when to retry (performance.now()) and the delay to double next time; insertion order is failure order. */
  readonly #files = new Map<string, { at: number; delay: number }>();
  readonly #firstMs: number;

  constructor(firstMs: number) {
    this.#firstMs = firstMs;
  }

  failed(id: string): void {
    const delay = Math.min(2 * (this.#files.get(id)?.delay ?? this.#firstMs / 2), RETRY_MAX_MS);
    this.#files.delete(id);
    this.#files.set(id, { at: performance.now() + delay, delay });
    if (this.#files.size > RETRY_MEMORY) this.#files.delete(this.#files.keys().next().value!);
  }

  removed(id: string): void {
    this.#files.delete(id);
  }

  /** Whether `id` failed and is not due to be tried again yet. */
  waiting(id: string): boolean {
    const f = this.#files.get(id);
    return f !== undefined && performance.now() < f.at;
  }
}

export class Reaper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;
  private readonly retries: RetryList;
  /**
   * Removal failures per reason, with the count of those not logged since. No bound on the keys:
   * they are the errno names fs.rm fails with (a message only for an error without one), never
   * anything a client chose.
   */
  private readonly failureLines = new KeyedLogLimit(LOG_EVERY_MS, { maxKeys: Infinity });
  /**
   * Failed passes (the commit that dequeues failing, on a failing disk), logged with the count of
   * those since the last line: a pass runs every 2 s, and each logged its line while the failure
   * lasted. Reset by a pass that goes through.
   */
  private readonly passFailureLines = new LogLimit(LOG_EVERY_MS);

  constructor(
    private readonly meta: MetaStore,
    private readonly files: FileStore,
    private readonly log: Logger,
    private readonly hold?: HoldProbe,
    opts: { retryMs?: number } = {},
  ) {
    this.retries = new RetryList(opts.retryMs ?? RETRY_MS);
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * Runs one pass now unless one is running; resolves to the files it deleted. Never rejects: a
   * failed pass is retried by the next.
   */
  kick(graceMs = GRACE_MS): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    this.running ??= this.pass(graceMs)
      .then((deleted) => {
        // The failure (if any) is over: the next is warned about at once, counted alone, as the
        // data directory's warnings start again (write-probe.ts).
        this.passFailureLines.reset();
        return deleted;
      })
      .catch((err: unknown) => {
        // A full disk can fail the commit that dequeues the deleted files: they stay queued.
        if (this.passFailureLines.hit()) {
          // This pass and those not logged since the last line.
          const failedPasses = this.passFailureLines.take();
          this.log.warn({ err: { message: (err as Error).message, code: (err as { code?: unknown }).code }, failedPasses }, 'could not update the deletion queue; retrying (this warning repeats at most once a minute)');
        }
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(graceMs: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const listed = this.meta.dueFiles(graceMs, BATCH, (id) => this.retries.waiting(id));
      // A file a read in progress still needs waits for the next pass after the read.
      const due = listed.filter((id) => !this.files.pinned(id));
      if (due.length === 0) return deleted;
      // Asked after the list was read, never before: a backup that takes the hold after this
      // answer snapshots the store after every release on the list (backup-hold.ts).
      if (this.hold !== undefined && (await this.hold.held())) return deleted;
      const removed: string[] = [];
      let failed = 0;
      for (const id of due) {
        // Asked again at each file: a read may pin one after the list was read (its record looked
        // up before the release, then slowed past the grace period, say by a KMS unwrap), and the
        // backup probe and the removals before it take time. Such a file waits for a later pass.
        if (this.files.pinned(id)) continue;
        try {
          await this.files.remove(id);
        } catch (err) {
          // Left queued (dequeued, nothing would delete it again), and skipped until its retry.
          this.retries.failed(id);
          this.logFailure(err, id);
          failed++;
          continue;
        }
        this.retries.removed(id);
        removed.push(id);
      }
      // Durable before they are dequeued: else a power loss could bring back files no queue names.
      await this.files.syncRemovals(removed);
      await this.meta.dequeueFiles(removed);
      deleted += removed.length;
      // A full batch: more may be due. The next follows at once (a stop ends the pass here),
      // after a turn of the event loop for requests: one batch per tick of the timer deleted 500
      // files a second, fewer than deletes can release.
      // A batch whose files all failed goes on too: they are skipped now, so the next lists others.
      if (listed.length < BATCH || removed.length + failed === 0 || this.stopped) return deleted;
      await nextTurn();
    }
  }

  private logFailure(err: unknown, file: string): void {
    const reason = String((err as { code?: unknown }).code ?? (err as Error).message);
    if (!this.failureLines.hit(reason)) return;
    // The count includes this failure, which the line names.
    const others = this.failureLines.take(reason) - 1;
    this.log.warn({ err, file, othersSinceLastLog: others }, 'could not delete data file; it stays queued and is retried later');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
