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
//
// A request whose client is slow gives its place back (it is "parked"): a GET waiting on its
// socket (parkable(), http/respond.ts), an upload receiving less than 256 KiB/s (object-data.ts,
// parkWhenSlow). It keeps its open files and at most ~2 MiB of heap (the rest of a batch, bytes
// collected from its client), no crypto slots. When it has work again, it takes a place ahead of
// new requests. Slow and stalled transfers used to hold their places for as long as their
// clients took, so 32 of them made every other large request wait and then fail with SlowDown.
// At most PARKED_PER_PLACE × the limit requests are parked at once; beyond that a slow request
// keeps its place, as before. A copy (two streams on one lease) never parks.

import { S3Error } from '../errors.js';

/** How long a request must have waited on its client (a GET), or received too little from it (an upload), to park. */
export const PARK_MS = 1_000;

/** Parked requests allowed per place of S3_DATA_REQUESTS_MAX (see above). */
export const PARKED_PER_PLACE = 4;

export class DataGate {
  #inUse = 0;
  #waiting: Array<{ grant: () => void }> = [];
  #refused = 0;
  #parked = 0;

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

  /** Requests waiting on a slow client without a place (see above). */
  get parked(): number {
    return this.#parked;
  }

  /** @internal DataLease's: counts one more parked request, if the bound allows it. */
  park(): boolean {
    if (this.limit === 0 || this.#parked >= this.limit * PARKED_PER_PLACE) return false;
    this.#parked++;
    return true;
  }

  /** @internal DataLease's: a parked request is done waiting (it takes a place again, or ends). */
  unpark(): void {
    this.#parked--;
  }

  /**
   * @internal DataLease's: one place, waiting up to waitMs (SlowDown) or until `signal` aborts.
   * `first`: ahead of the other waiters (a response resuming after it was parked).
   */
  acquire(signal: AbortSignal | undefined, first = false): Promise<void> {
    if (this.limit === 0) {
      // No limit: counted all the same (s3d_data_requests_in_flight).
      this.#inUse++;
      return Promise.resolve();
    }
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
      if (first) this.#waiting.unshift(entry);
      else this.#waiting.push(entry);
    });
  }

  /** @internal DataLease's: gives the place to the longest waiter, or frees it. */
  release(): void {
    if (this.limit === 0) {
      this.#inUse--;
      return;
    }
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

  /**
   * Waits for the request's place (at once when another of its streams holds it). Pair with
   * leave(). `first`: ahead of the requests waiting (a parked response resuming).
   */
  async enter(signal?: AbortSignal, first = false): Promise<void> {
    this.#streams++;
    try {
      this.#entered ??= this.gate.acquire(signal, first);
      await this.#entered;
    } catch (err) {
      this.#streams--;
      if (this.#streams === 0) this.#entered = undefined;
      throw err;
    }
  }

  /**
   * Counts the request as parked if it may park now: it runs one stream (a copy, reading while it
   * writes, never parks) and holds its place. The caller then gives back what it holds and
   * leave()s; resume() or parkedEnd() ends the parking.
   */
  park(): boolean {
    return this.#streams === 1 && this.#entered !== undefined && this.gate.park();
  }

  /** A parked request goes on: it takes a place again, ahead of the requests waiting. */
  async resume(signal?: AbortSignal): Promise<void> {
    this.gate.unpark();
    await this.enter(signal, true);
  }

  /** A parked request ends without taking a place again. */
  parkedEnd(): void {
    this.gate.unpark();
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

/** A response body whose place can be given back while its client is slow (see parkable()). */
export interface ParkableChunks extends AsyncIterable<Buffer> {
  /**
   * Gives the request's place (and the crypto slots of its read) back until the next chunk is
   * asked for, if the gate takes one more parked request. `before` runs first: the current lent
   * chunk is invalid once this returns true, so the caller copies what it still needs of it.
   * False: nothing changed.
   */
  park(before: () => void): boolean;
}

/**
 * The chunks of a read that holds `lease`, as `read(offset, slow)` yields them from `offset` on,
 * which can be parked: the read is stopped and its place given back; the next chunk asked for
 * takes a place again, ahead of new requests, and restarts the read where it stopped, with `slow`
 * set (a client that was slow once needs no prefetch). `cleanup` runs once, at the end (the read's
 * files, key and place). One iteration only, as a response body.
 */
export function parkable(lease: DataLease, read: (offset: number, slow: boolean) => AsyncGenerator<Buffer>, cleanup: () => Promise<void>, signal?: AbortSignal): ParkableChunks {
  let source = read(0, false);
  let offset = 0;
  let parked = false;
  let stopping: Promise<void> | undefined;
  let finished = false;
  const finish = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    try {
      if (stopping !== undefined) await stopping;
      if (parked) {
        parked = false;
        lease.parkedEnd();
      } else await source.return(undefined);
    } finally {
      await cleanup();
    }
  };
  const iterator: AsyncIterator<Buffer> = {
    next: async () => {
      try {
        if (stopping !== undefined) await stopping;
        if (parked) {
          parked = false;
          await lease.resume(signal);
          source = read(offset, true);
        }
        const r = await source.next();
        if (r.done) await finish();
        else offset += r.value.length;
        return r;
      } catch (err) {
        await finish();
        throw err;
      }
    },
    return: async () => {
      await finish();
      return { done: true, value: undefined };
    },
  };
  return {
    [Symbol.asyncIterator]: () => iterator,
    park: (before) => {
      if (finished || parked || stopping !== undefined || !lease.park()) return false;
      before();
      parked = true;
      const stopped = source;
      stopping = (async () => {
        try {
          // Its slots go back to the arena (batches in flight are waited for and dropped).
          await stopped.return(undefined);
        } catch {
          // Whatever failed is read again, and reported then, when the read restarts.
        } finally {
          stopping = undefined;
          lease.leave();
        }
      })();
      return true;
    },
  };
}
