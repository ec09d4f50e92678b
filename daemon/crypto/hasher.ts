// MD5 for S3 ETags without serialising the main thread: bodies past 256 KiB are hashed on a
// one-thread lane fed from shared slots (MD5 ≈ 1.5 ns/B, 3.5× AES); small ones inline.
import { createHash, type Hash } from 'node:crypto';
import type { CryptoPool, Md5Lane } from './pool.js';
import type { Slot } from './slot-arena.js';

/** Below this a pool round trip (~50 µs) costs more than it saves (perf-limits B3/B8). */
export const INLINE_LIMIT = 256 * 1024;
/** Slots queued on the lane before `ready()` makes the writer wait. */
const MAX_PENDING = 3;

export interface Md5Hasher {
  /** Adds bytes; the hasher copies them, so `buf` may be reused at once. */
  update(buf: Uint8Array): void;
  /** Resolves when few enough bytes are queued; a producer faster than MD5 should await it. */
  ready(): Promise<void>;
  digest(): Promise<Buffer>;
  /** Drops the state; `digest` rejects afterwards. */
  abort(): void;
  /** Gives back any buffer it holds while the producer waits (bytes buffered are hashed now). */
  park(): void;
}

export function createMd5(pool: CryptoPool | null): Md5Hasher {
  return pool === null ? new InlineMd5() : new SlotMd5(pool);
}

class InlineMd5 implements Md5Hasher {
  #hash: Hash | undefined = createHash('md5');

  update(buf: Uint8Array): void {
    if (this.#hash === undefined) throw new Error('MD5 hasher is finished');
    this.#hash.update(buf);
  }

  async ready(): Promise<void> {}

  async digest(): Promise<Buffer> {
    const h = this.#hash;
    if (h === undefined) throw new Error('MD5 hasher is finished');
    this.#hash = undefined;
    return h.digest();
  }

  abort(): void {
    this.#hash = undefined;
  }

  park(): void {}
}

class SlotMd5 implements Md5Hasher {
  readonly #pool: CryptoPool;
  #slot: Slot | undefined;
  #fill = 0;
  #lane: Md5Lane | undefined;
  #pending: Promise<void>[] = [];
  #failure: unknown;
  #finished = false;

  constructor(pool: CryptoPool) {
    this.#pool = pool;
  }

  update(buf: Uint8Array): void {
    if (this.#finished) throw this.#failure ?? new Error('MD5 hasher is finished');
    let pos = 0;
    while (pos < buf.length) {
      const slot = (this.#slot ??= this.#pool.arena.acquire());
      const n = Math.min(buf.length - pos, slot.input.length - this.#fill);
      slot.input.set(buf.subarray(pos, pos + n), this.#fill);
      this.#fill += n;
      pos += n;
      // Once past INLINE_LIMIT the body goes to a lane: send the slot early rather than hash inline.
      if (this.#fill === slot.input.length || (this.#lane === undefined && this.#fill > INLINE_LIMIT)) this.#send();
    }
  }

  async ready(): Promise<void> {
    while (this.#pending.length >= MAX_PENDING) await Promise.race(this.#pending);
  }

  async digest(): Promise<Buffer> {
    if (this.#finished) throw this.#failure ?? new Error('MD5 hasher is finished');
    if (this.#lane === undefined) {
      // Never passed INLINE_LIMIT, so everything is still in the one slot: hash it inline.
      this.#finished = true;
      const h = createHash('md5');
      if (this.#slot !== undefined) {
        h.update(this.#slot.input.subarray(0, this.#fill));
        this.#pool.arena.release(this.#slot);
        this.#slot = undefined;
      }
      return h.digest();
    }
    if (this.#fill > 0) this.#send();
    this.#finished = true;
    const lane = this.#lane;
    const digest = lane.finish();
    // Not awaited when an update failed (that failure is thrown instead): not unhandled then.
    digest.catch(() => undefined);
    await Promise.allSettled(this.#pending);
    if (this.#failure !== undefined) throw this.#failure;
    return (await digest)!;
  }

  abort(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#slot !== undefined) this.#pool.arena.release(this.#slot);
    this.#slot = undefined;
    this.#lane?.finish(true).catch(() => {});
  }

  park(): void {
    // MD5 takes its input in any pieces: what the slot holds goes to the lane now.
    if (this.#finished || this.#slot === undefined || this.#fill === 0) return;
    try {
      this.#send();
    } catch (err) {
      // A lane refused (the pool closed: shutdown). park runs from a timer, where a throw would be
      // an uncaught exception: the hasher is finished (#send gave its slot back), its digest fails.
      this.#failure ??= err;
    }
  }

  #send(): void {
    if (this.#lane === undefined) {
      // Before the slot leaves #slot: a pool closed meanwhile (shutdown) refuses a lane, and the
      // hasher is then finished, its slot given back.
      try {
        this.#lane = this.#pool.md5Lane();
      } catch (err) {
        this.abort();
        throw err;
      }
    }
    const slot = this.#slot!;
    const length = this.#fill;
    this.#slot = undefined;
    this.#fill = 0;
    const p = this.#lane
      .update(slot.sab, slot.input.byteOffset, length)
      .catch((err: unknown) => {
        this.#failure ??= err;
      })
      .finally(() => {
        this.#pool.arena.release(slot);
        this.#pending.splice(this.#pending.indexOf(p), 1);
      });
    this.#pending.push(p);
  }
}
