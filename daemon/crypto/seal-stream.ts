// The ordered seal pipeline of a PUT: plaintext is copied into ~1 MiB slots, each slot is sealed
// as one batch of 64 KiB packages (on the pool, or inline when small), and the ciphertext reaches
// the sink in stream order. In-flight batches are bounded, so a slow sink pauses the writer.
import { createHash, type Hash } from 'node:crypto';
import { secureRandom } from '../../workers/format/random.js';
import { DareError, KEY_SIZE, MAX_PAYLOAD, RANDOM_SIZE, sealInto } from '../../workers/format/index.js';
import { SEAL_BATCH_BYTES, type SealTask } from '../../workers/protocol.js';
import { type Batch, discardBatches, resultLength, runInline } from './batch.js';
import { INLINE_LIMIT } from './hasher.js';
import type { CryptoPool, Md5Lane } from './pool.js';
import { type Slot, SlotArena, sharedInlineArena } from './slot-arena.js';

export interface SealerResult {
  plaintextSize: number;
  ciphertextSize: number;
  /** MD5 of the plaintext, when asked for. */
  md5?: Buffer;
}

export interface SealerOptions {
  md5?: boolean;
  /**
   * Receives the ciphertext in stream order, one call at a time. The buffer is lent: it is valid
   * until the returned promise settles (or the call returns); copy it to keep it.
   */
  sink: (ciphertext: Buffer) => Promise<void> | void;
  signal?: AbortSignal;
  /** Batches (~1 MiB each) sealing or waiting for the sink; default 2 × workers + 2 (1 inline). */
  maxInFlight?: number;
  /** The stream's 12-byte DARE random value; default 12 fresh random bytes. */
  random?: Uint8Array;
  /**
   * Sink calls allowed in flight at once (still made in stream order); default 1. More than one
   * only for a sink that places each call's bytes itself (positional file writes), so a disk
   * write does not hold back the next batch's.
   */
  concurrentSinks?: number;
}

export interface Sealer {
  /** Copies `plaintext` in; resolves when there is room again (the caller pauses its socket until then). */
  write(plaintext: Uint8Array): Promise<void>;
  /** Seals the rest, waits for the sink, and reports sizes (and MD5). */
  end(): Promise<SealerResult>;
  /** Stops: queued batches are skipped, the sink is not called again, write/end reject. */
  abort(reason?: unknown): void;
  /**
   * Gives back the slot being filled while the writer waits for more input (a slow client): its
   * bytes are kept in a heap copy, put back in a slot by the next write or end(). Not while a
   * write is pending.
   */
  park(): void;
}

export function createSealer(pool: CryptoPool | null, key: Uint8Array, opts: SealerOptions): Sealer {
  return new StreamSealer(pool, key, opts);
}

class StreamSealer implements Sealer {
  readonly #pool: CryptoPool | null;
  readonly #arena: SlotArena;
  // Own ArrayBuffers, never views of Node's shared pool: these get structured-cloned to workers.
  readonly #key: Uint8Array;
  readonly #random: Uint8Array;
  readonly #sink: SealerOptions['sink'];
  readonly #maxInFlight: number;
  readonly #concurrentSinks: number;
  /** Batches handed to the sink and not through it yet (they still hold slots), oldest first. */
  readonly #sinking: Array<{ batch: Batch; done: Promise<unknown> }> = [];
  readonly #signal: AbortSignal | undefined;
  readonly #wantMd5: boolean;
  #hash: Hash | undefined;
  #lane: Md5Lane | undefined;
  #slot: Slot | undefined;
  #fill = 0;
  /** The filled part of a slot given back by park(). */
  #held: Buffer | undefined;
  #nextSequence = 0;
  #plaintextSize = 0;
  #ciphertextSize = 0;
  /** Dispatched batches not yet through the sink, in stream order. */
  readonly #queue: Batch[] = [];
  #pumping: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #busy = false;
  #ended = false;
  #done = false;
  #failure: { error: unknown } | undefined;

  constructor(pool: CryptoPool | null, key: Uint8Array, opts: SealerOptions) {
    if (key.length !== KEY_SIZE) throw new RangeError(`sealer key must be ${KEY_SIZE} bytes`);
    const random = opts.random ?? secureRandom(RANDOM_SIZE);
    if (random.length !== RANDOM_SIZE) throw new RangeError(`sealer random value must be ${RANDOM_SIZE} bytes`);
    // Two batches per worker (see pool.ts), plus the one at the sink and one finishing.
    const maxInFlight = opts.maxInFlight ?? (pool === null ? 1 : 2 * pool.workers + 2);
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError('sealer option maxInFlight must be a positive integer');
    this.#pool = pool;
    this.#arena = pool?.arena ?? sharedInlineArena();
    this.#key = new Uint8Array(key);
    this.#random = new Uint8Array(random);
    this.#sink = opts.sink;
    this.#maxInFlight = maxInFlight;
    this.#concurrentSinks = Math.max(1, Math.floor(opts.concurrentSinks ?? 1));
    this.#wantMd5 = opts.md5 === true;
    this.#signal = opts.signal;
    if (this.#signal !== undefined) {
      if (this.#signal.aborted) this.abort(this.#signal.reason);
      else this.#signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  readonly #onAbort = (): void => this.abort(this.#signal?.reason);

  async write(plaintext: Uint8Array): Promise<void> {
    this.#check();
    if (this.#busy || this.#ended) throw new Error('Sealer.write() while a write is pending or after end()');
    this.#busy = true;
    try {
      await this.#restore();
      let pos = 0;
      while (pos < plaintext.length) {
        // A full slot is dispatched only now that more bytes exist: it cannot hold the final package.
        if (this.#slot !== undefined && this.#fill === SEAL_BATCH_BYTES) this.#dispatch(false);
        const slot = this.#slot ?? (await this.#newSlot());
        const n = Math.min(plaintext.length - pos, SEAL_BATCH_BYTES - this.#fill);
        slot.input.set(plaintext.subarray(pos, pos + n), this.#fill);
        this.#fill += n;
        pos += n;
      }
    } finally {
      this.#busy = false;
    }
  }

  async end(): Promise<SealerResult> {
    this.#check();
    if (this.#busy || this.#ended) throw new Error('Sealer.end() while a write is pending or twice');
    this.#busy = true;
    try {
      await this.#restore();
    } finally {
      this.#busy = false;
    }
    this.#ended = true;
    if (this.#slot !== undefined) this.#dispatch(true);
    while (this.#pumping !== undefined) await this.#pumping;
    this.#check();
    const result: SealerResult = { plaintextSize: this.#plaintextSize, ciphertextSize: this.#ciphertextSize };
    if (this.#wantMd5) {
      if (this.#lane !== undefined) {
        const lane = this.#lane;
        this.#lane = undefined;
        result.md5 = await lane.finish();
      } else {
        result.md5 = (this.#hash ?? createHash('md5')).digest();
      }
    }
    this.#finish();
    return result;
  }

  abort(reason?: unknown): void {
    this.#fail(reason ?? new DareError('Aborted', 'sealer aborted'));
  }

  park(): void {
    if (this.#busy || this.#ended || this.#failure !== undefined || this.#slot === undefined) return;
    this.#held = Buffer.from(this.#slot.input.subarray(0, this.#fill));
    this.#arena.release(this.#slot);
    this.#slot = undefined;
    this.#fill = 0;
  }

  /** A slot to fill, once fewer than maxInFlight batches are in flight. */
  async #newSlot(): Promise<Slot> {
    while (this.#queue.length + this.#sinking.length >= this.#maxInFlight && this.#failure === undefined) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    this.#check();
    const slot = this.#arena.acquire();
    this.#slot = slot;
    this.#fill = 0;
    return slot;
  }

  /** Puts parked bytes back into a slot (waiting for room like any new slot). */
  async #restore(): Promise<void> {
    const held = this.#held;
    if (held === undefined) return;
    const slot = await this.#newSlot();
    this.#held = undefined;
    slot.input.set(held);
    this.#fill = held.length;
  }

  #check(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  #dispatch(final: boolean): void {
    const slot = this.#slot!;
    const length = this.#fill;
    const firstSequence = this.#nextSequence;
    // A whole small body is cheaper on this thread than a pool round trip (perf-limits B3/B8).
    const inline = this.#pool === null || (firstSequence === 0 && final && length < INLINE_LIMIT);
    // The lane before the slot leaves #slot: a pool closed meanwhile (shutdown) refuses one, and
    // the stream's failure then gives the slot back with the rest.
    if (this.#wantMd5 && !inline) this.#openLane();
    this.#slot = undefined;
    this.#fill = 0;
    this.#nextSequence += Math.ceil(length / MAX_PAYLOAD);
    const batch: Batch = { slot, result: { ok: false, code: 'Aborted' } };
    if (this.#wantMd5) {
      if (inline) {
        (this.#hash ??= createHash('md5')).update(slot.input.subarray(0, length));
      } else {
        batch.readers = this.#lane!.update(slot.sab, slot.input.byteOffset, length);
        // It may fail while its batch still waits in the queue (a lane retired: pool.ts): the
        // failure surfaces when the pump reaches the batch (or discardBatches), not as unhandled.
        batch.readers.catch(() => undefined);
      }
    }
    if (inline) {
      batch.result = runInline(() =>
        sealInto(slot.output, 0, slot.input.subarray(0, length), { key: this.#key, random: this.#random, firstSequence, final }),
      );
    } else {
      // A copy per task (Piscina clones it when it posts the task, maybe after an abort wiped
      // #key). The worker wipes its clone; this one is wiped once the batch settled.
      const taskKey = new Uint8Array(this.#key);
      const task: SealTask = {
        op: 'seal',
        slot: slot.sab,
        base: slot.base,
        inLength: length,
        key: taskKey,
        random: this.#random,
        firstSequence,
        final,
      };
      batch.result = this.#pool!.run(task).finally(() => taskKey.fill(0));
    }
    this.#plaintextSize += length;
    this.#queue.push(batch);
    this.#pumping ??= this.#pump();
  }

  /** Feeds sealed batches to the sink in order, up to `concurrentSinks` calls at a time. */
  async #pump(): Promise<void> {
    const sinking = this.#sinking;
    const retire = async (): Promise<void> => {
      const s = sinking[0]!;
      await s.done;
      sinking.shift();
      this.#arena.release(s.batch.slot);
      this.#wake?.();
    };
    try {
      for (;;) {
        if (this.#failure !== undefined) break;
        if (this.#queue.length > 0 && sinking.length < this.#concurrentSinks) {
          const batch = this.#queue[0]!;
          const length = resultLength(await batch.result);
          if (this.#failure !== undefined) break;
          const done = Promise.resolve(this.#sink(batch.slot.output.subarray(0, length))).then(() => batch.readers);
          // Settled before anything awaits it: a failure surfaces through retire(), not as unhandled.
          done.catch(() => undefined);
          this.#ciphertextSize += length;
          this.#queue.shift();
          sinking.push({ batch, done });
          continue;
        }
        if (sinking.length > 0) {
          await retire();
          continue;
        }
        break;
      }
    } catch (err) {
      this.#fail(err);
    }
    // Slots of sink calls still running are released only once those calls settle.
    if (sinking.length > 0) {
      const pending = sinking.splice(0);
      void Promise.allSettled(pending.map((s) => s.done)).then(() => {
        for (const s of pending) this.#arena.release(s.batch.slot);
      });
    }
    // No await between the loop's last check and here, so a dispatch cannot be missed.
    this.#pumping = undefined;
    if (this.#failure !== undefined) void discardBatches(this.#arena, this.#queue.splice(0));
  }

  /** The stream's MD5 lane, opened on its first pool batch; a refusal fails the stream. */
  #openLane(): void {
    try {
      this.#lane ??= this.#pool!.md5Lane();
    } catch (err) {
      this.#fail(err);
      throw err;
    }
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined || this.#done) return;
    this.#failure = { error };
    for (const b of this.#queue) SlotArena.cancel(b.slot);
    if (this.#slot !== undefined) this.#arena.release(this.#slot);
    this.#slot = undefined;
    this.#held = undefined;
    // While the pump runs it owns the head batch (the sink may be reading it); it discards at exit.
    if (this.#pumping === undefined) void discardBatches(this.#arena, this.#queue.splice(0));
    this.#lane?.finish(true).catch(() => {});
    this.#lane = undefined;
    this.#wake?.();
    this.#finish();
  }

  #finish(): void {
    this.#done = true;
    this.#key.fill(0);
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}
