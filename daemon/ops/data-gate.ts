// Bounds the requests that move object data through data files at once (S3_DATA_REQUESTS_MAX).
// Each such request holds a few crypto slots (~2 MiB of shared memory each: a batch being
// written, a hashing buffer, batches in flight to the workers), and the slot arena keeps its peak
// for reuse: 200 concurrent 2 MiB uploads took the daemon to ~800 MiB, and it stayed there. With
// the gate, a request beyond the limit waits for a place before it touches any slot or reads its
// body (the client's bytes wait in the socket); after S3_DATA_REQUESTS_WAIT it gets 503 SlowDown,
// which every AWS SDK retries with backoff, as MinIO's MINIO_API_REQUESTS_MAX does.
// A request takes its place before it looks up the record it reads (GET, the source of a copy):
// a wait can outlast the reaper's grace for the data file of an object replaced meanwhile.
//
// A request takes one place however many data streams it runs (a copy reads its source while it
// writes the copy): a lease enters the gate once and leaves when its last stream is done, so no
// request ever waits for a place while holding one, and the gate cannot deadlock.

import { S3Error } from '../errors.js';

export class DataGate {
  #inUse = 0;
  #waiting: Array<{ grant: () => void }> = [];
  #refused = 0;

  /** `limit` 0: no limit. */
  constructor(
    readonly limit: number,
    readonly waitMs: number,
  ) {}

  /** A request's claim on one place (see DataLease). */
  lease(): DataLease {
    return new DataLease(this);
  }

  get inUse(): number {
    return this.#inUse;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Requests answered SlowDown because no place came free in time. */
  get refused(): number {
    return this.#refused;
  }

  /** @internal DataLease's: one place, waiting up to waitMs (SlowDown) or until `signal` aborts. */
  acquire(signal: AbortSignal | undefined): Promise<void> {
    if (this.limit === 0) return Promise.resolve();
    signal?.throwIfAborted();
    if (this.#inUse < this.limit) {
      this.#inUse++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        grant: (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const leave = (): void => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        signal?.removeEventListener('abort', onAbort);
      };
      const timer = setTimeout(() => {
        leave();
        this.#refused++;
        reject(new S3Error('SlowDown', `Too many requests are moving object data at once (S3_DATA_REQUESTS_MAX=${this.limit}); please retry.`));
      }, this.waitMs);
      const onAbort = (): void => {
        clearTimeout(timer);
        leave();
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  /** @internal DataLease's: gives the place to the longest waiter, or frees it. */
  release(): void {
    if (this.limit === 0) return;
    const next = this.#waiting.shift();
    if (next !== undefined) next.grant();
    else this.#inUse--;
  }
}

/** One request's place in the gate: entered by each of its data streams, held until the last leaves. */
export class DataLease {
  #streams = 0;
  #entered: Promise<void> | undefined;

  constructor(private readonly gate: DataGate) {}

  /** Waits for the request's place (at once when another of its streams holds it). Pair with leave(). */
  async enter(signal?: AbortSignal): Promise<void> {
    this.#streams++;
    try {
      this.#entered ??= this.gate.acquire(signal);
      await this.#entered;
    } catch (err) {
      this.#streams--;
      if (this.#streams === 0) this.#entered = undefined;
      throw err;
    }
  }

  leave(): void {
    if (this.#streams === 0) return;
    this.#streams--;
    if (this.#streams === 0 && this.#entered !== undefined) {
      this.#entered = undefined;
      this.gate.release();
    }
  }
}
