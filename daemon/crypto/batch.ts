// One batch of a seal or open stream: the slot it travels in and its pending worker result.
// Shared by seal-stream.ts and open-stream.ts, which keep batches in stream order.
import { DareError } from '../../workers/format/index.js';
import type { CryptoResult } from '../../workers/protocol.js';
import { SlotArena, type Slot } from './slot-arena.js';

export interface Batch {
  slot: Slot;
  /** Settled result of the seal/open task (a value when it ran inline). */
  result: Promise<CryptoResult> | CryptoResult;
  /** Other work still reading the slot (the MD5 lane). */
  readers?: Promise<unknown>;
}

/** Runs a codec call on the main thread, with the same result shape a worker returns. */
export function runInline(fn: () => number): CryptoResult {
  try {
    return { ok: true, length: fn() };
  } catch (err) {
    if (err instanceof DareError) return { ok: false, code: err.code };
    throw err;
  }
}

/** The written length of a settled result, or the DareError its code stands for. */
export function resultLength(r: CryptoResult): number {
  if (r.ok) return r.length;
  throw new DareError(r.code);
}

/**
 * Gives up on batches: workers that have not started skip them (cancel flag), and each slot
 * returns to the arena only once nothing can write or read it any more.
 */
export function discardBatches(arena: SlotArena, batches: Batch[]): Promise<void> {
  for (const b of batches) SlotArena.cancel(b.slot);
  return Promise.all(
    batches.map(async (b) => {
      await Promise.allSettled([b.result, b.readers]);
      arena.release(b.slot);
    }),
  ).then(() => undefined);
}

/** Resolves with `p`, or rejects as soon as `signal` aborts. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
