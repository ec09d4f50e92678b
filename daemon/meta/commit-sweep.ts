// Work a store does in the background a commit at a time, a turn of the event loop between two:
// moving a large release's files into the deletion queue (deletion-queue.ts sweepBatches),
// removing finished uploads' part records (store-multipart.ts sweepFinished). One run at a time;
// asked again while it runs, it looks once more before it ends; a failed commit (nothing of it
// was) is tried again `retryMs` later; close() stops it after its current commit.

import { setImmediate as nextTurn } from 'node:timers/promises';

export class CommitSweep {
  #running: Promise<void> | undefined;
  #again = false;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  /**
   * @param commit One commit of the work; resolves to whether any is left.
   * @param retryMs How much later a run that a failed commit ended is tried again.
   * @param onError Told of each failed commit.
   */
  constructor(
    private readonly commit: () => Promise<boolean>,
    private readonly retryMs: number,
    private readonly onError?: (err: unknown) => void,
  ) {}

  /** Runs the work until none is left, the store closes or a commit fails. Never rejects. */
  run(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          for (let more = true; more && !this.#closed; ) {
            more = await this.commit();
            if (more) await nextTurn();
          }
        } while (this.#again && !this.#closed);
      } catch (err) {
        this.onError?.(err);
        if (!this.#closed && this.#retry === undefined) {
          this.#retry = setTimeout(() => {
            this.#retry = undefined;
            void this.run();
          }, this.retryMs);
          this.#retry.unref();
        }
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** Stops the work after its current commit (MetaStore.close). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#running;
  }
}
