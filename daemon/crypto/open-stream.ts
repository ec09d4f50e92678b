// The ordered open pipeline of a GET: ciphertext from any chunking is cut into ~1 MiB batches
// of whole packages, opened on the pool (or inline when small) with bounded prefetch, and
// trimmed to the requested range. A batch's plaintext is yielded only after all of it verified.
import { DareError, KEY_SIZE, MAX_PAYLOAD, PACKAGE_SIZE, openInto, readStreamIdentity, type StreamIdentity } from '../../workers/format/index.js';
import { OPEN_BATCH_BYTES, type OpenTask } from '../../workers/protocol.js';
import { type Batch, abortable, discardBatches, resultLength, runInline } from './batch.js';
import { INLINE_LIMIT } from './hasher.js';
import type { CryptoPool } from './pool.js';
import { type Slot, sharedInlineArena } from './slot-arena.js';

/** Reads ciphertext straight into the pipeline's buffers (no intermediate chunk, no copy). */
export interface CiphertextReader {
  /** Reads up to `length` bytes at `position`; fewer only at the end of the data. */
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Where the planned ciphertext starts, and how long it is. */
  position: number;
  length: number;
}

export interface OpenStreamOptions {
  /** Ciphertext starting at a package boundary, any chunking (read exactly the planned bytes). Or `reader`. */
  source?: AsyncIterable<Uint8Array>;
  reader?: CiphertextReader;
  /** Sequence number of the first package in `source` (planRange().firstSequence). */
  firstSequence: number;
  /** Plaintext bytes to drop from the first package. */
  skip: number;
  /** Plaintext bytes to yield after `skip`. */
  length: number;
  /** The read reaches the end of the stream, which must then end with a final package. */
  expectFinal: boolean;
  signal?: AbortSignal;
  /** Batches opening or waiting to be consumed; default 2 × workers + 2 (1 inline). */
  maxInFlight?: number;
  /**
   * Yield views of the pipeline's own buffers, valid only until the next `next()` call, instead
   * of fresh ≤ 64 KiB copies. For consumers that finish with a chunk before asking for the next.
   */
  lend?: boolean;
}

/**
 * Plaintext of the range in order. Throws a DareError ('NotAuthentic', 'Truncated', …) and
 * never yields a byte of a batch that failed authentication.
 */
export function openStream(pool: CryptoPool | null, key: Uint8Array, opts: OpenStreamOptions): AsyncIterable<Buffer> {
  return { [Symbol.asyncIterator]: () => openGenerator(pool, key, opts) };
}

function checkCount(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`openStream option ${name} must be a non-negative safe integer`);
}

const COPY_PIECE = 64 * 1024;

async function* openGenerator(pool: CryptoPool | null, keyIn: Uint8Array, opts: OpenStreamOptions): AsyncGenerator<Buffer, void, undefined> {
  const { firstSequence, skip, length, expectFinal, signal } = opts;
  if (keyIn.length !== KEY_SIZE) throw new RangeError(`openStream key must be ${KEY_SIZE} bytes`);
  if ((opts.source === undefined) === (opts.reader === undefined)) throw new RangeError('openStream needs exactly one of source and reader');
  checkCount('firstSequence', firstSequence);
  checkCount('skip', skip);
  checkCount('length', length);
  if (skip >= MAX_PAYLOAD && length > 0) throw new RangeError('openStream option skip must lie in the first package');
  const maxInFlight = opts.maxInFlight ?? (pool === null ? 1 : 2 * pool.workers + 2);
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError('openStream option maxInFlight must be a positive integer');
  signal?.throwIfAborted();

  const want = skip + length; // plaintext from the first package's start to the range end
  // Without the final package the range needs exactly the packages that hold it; with it, all
  // input up to the end of the source is checked (data after the final package is an error).
  const cipherNeeded = expectFinal ? Infinity : Math.ceil(want / MAX_PAYLOAD) * PACKAGE_SIZE;
  if (cipherNeeded === 0) return;

  const arena = pool?.arena ?? sharedInlineArena();
  const key = new Uint8Array(keyIn); // own ArrayBuffer: structured-cloned into tasks
  const queue: Batch[] = [];
  const iterator = opts.source?.[Symbol.asyncIterator]();
  let sourceDone = false;
  let identity: StreamIdentity | undefined;
  let slot: Slot | undefined;
  let fill = 0;
  let consumed = 0; // ciphertext bytes taken from the source
  let nextSequence = firstSequence;
  let plainPos = 0; // plaintext offset (from the first package) of the head batch

  const dispatch = (final: boolean): void => {
    const s = slot!;
    const inLength = fill;
    // The main thread reads the stream's identity once; every batch then checks against it.
    const id = (identity ??= readStreamIdentity(s.input.subarray(0, inLength)));
    slot = undefined;
    fill = 0;
    const seq = nextSequence;
    nextSequence += Math.ceil(inLength / PACKAGE_SIZE);
    const last = final || consumed >= cipherNeeded;
    const inline = pool === null || (seq === firstSequence && last && inLength < INLINE_LIMIT);
    let result: Batch['result'];
    if (inline) {
      result = runInline(() =>
        openInto(s.output, 0, s.input.subarray(0, inLength), { key, firstSequence: seq, final, random: id.random, suite: id.suite }),
      );
    } else {
      // The worker wipes the clone it is sent; this copy is wiped once the batch settled.
      const taskKey = new Uint8Array(key);
      const task: OpenTask = { op: 'open', slot: s.sab, base: s.base, inLength, key: taskKey, firstSequence: seq, final, random: id.random, suite: id.suite };
      result = pool.run(task).finally(() => taskKey.fill(0));
    }
    queue.push({ slot: s, result });
  };

  // Yields the head batch's part of the range once it has verified.
  async function* emitHead(): AsyncGenerator<Buffer, void, undefined> {
    const batch = queue[0]!;
    const n = resultLength(await abortable(Promise.resolve(batch.result), signal));
    queue.shift();
    try {
      const from = Math.max(skip, plainPos) - plainPos;
      const to = Math.min(want, plainPos + n) - plainPos;
      plainPos += n;
      if (to <= from) return;
      if (opts.lend === true) yield batch.slot.output.subarray(from, to);
      else for (let p = from; p < to; p += COPY_PIECE) yield Buffer.from(batch.slot.output.subarray(p, Math.min(p + COPY_PIECE, to)));
    } finally {
      arena.release(batch.slot);
    }
  }

  try {
    const reader = opts.reader;
    if (reader !== undefined) {
      sourceDone = true;
      const total = Math.min(reader.length, cipherNeeded);
      while (consumed < total) {
        while (queue.length >= maxInFlight) yield* emitHead();
        slot = arena.acquire();
        fill = 0;
        const n = Math.min(OPEN_BATCH_BYTES, total - consumed);
        // Never abandon a read in flight: it writes into the slot until it settles.
        const got = await reader.read(slot.input, 0, n, reader.position + consumed);
        signal?.throwIfAborted();
        fill = got;
        consumed += got;
        // Short: the stored data ends before the record says it does. Fail now, before any of
        // this batch (or batches still queued) reaches the client, so a response not yet begun
        // becomes an S3 error instead of a body cut short.
        if (got < n) throw new DareError('Truncated', 'DARE: the stored ciphertext is shorter than the object');
        // Every pass ends here or in a throw, so no slot is left filling after the loop.
        dispatch(consumed >= total && expectFinal);
      }
    }
    while (iterator !== undefined && consumed < cipherNeeded) {
      const step = await abortable(iterator.next(), signal);
      if (step.done === true) {
        sourceDone = true;
        break;
      }
      const chunk = step.value;
      let pos = 0;
      while (pos < chunk.length && consumed < cipherNeeded) {
        // A full slot goes out only once more bytes exist, so `final` is known for it.
        if (slot !== undefined && fill === OPEN_BATCH_BYTES) dispatch(false);
        if (slot === undefined) {
          while (queue.length >= maxInFlight) yield* emitHead();
          slot = arena.acquire();
          fill = 0;
        }
        const n = Math.min(chunk.length - pos, OPEN_BATCH_BYTES - fill, cipherNeeded - consumed);
        slot.input.set(chunk.subarray(pos, pos + n), fill);
        fill += n;
        pos += n;
        consumed += n;
      }
      if (!expectFinal && consumed >= cipherNeeded) {
        // Stop reading: the rest of the source is not part of the range.
        dispatch(false);
        break;
      }
    }
    if (slot !== undefined) dispatch(expectFinal);
    else if (consumed === 0 && want > 0) throw new DareError('Truncated', 'DARE: no ciphertext where the range needs some');
    while (queue.length > 0) yield* emitHead();
    if (plainPos < want) throw new DareError('Truncated', 'DARE: stream shorter than the requested range');
    // The range may end inside the final package; only whole packages beyond it are extra data.
    if (expectFinal && plainPos > Math.ceil(want / MAX_PAYLOAD) * MAX_PAYLOAD) throw new DareError('UnexpectedData', 'DARE: stream longer than the object');
  } finally {
    if (slot !== undefined) arena.release(slot);
    await discardBatches(arena, queue.splice(0));
    key.fill(0);
    if (!sourceDone) await iterator?.return?.();
  }
}
