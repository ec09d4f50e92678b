// A request body fed by uWS onData: raw bytes go through the payload decoder (aws-chunked,
// signatures, checksums) and queue up for the handler, pausing the socket when the handler
// falls behind (backpressure). Nothing here holds more than a high-water mark of data.

import type { PayloadDecoder } from '../auth/payload.js';
import { S3Error } from '../errors.js';
import type { RequestBody } from '../ops/types.js';

const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1 * 1024 * 1024;

/**
 * Receive buffers. uWS lends each chunk only for the duration of onData, so it is copied; copies
 * are packed into 512 KiB pieces, and a consumer that reads in lent mode (`lend()`) hands each
 * piece back for the next request once past its last chunk. A fresh buffer per chunk made the
 * garbage collector's helper threads as busy as the main thread at 1 MiB PUTs.
 */
const PIECE_SIZE = 512 * 1024;
const MAX_FREE_PIECES = 16;
/** Bodies declared at most this long are copied chunk by chunk, not into pieces. */
const SMALL_BODY = 128 * 1024;
/**
 * Every copy lands at an address congruent, modulo this, to its offset in the body. Consumers
 * copy on into the crypto slots, which are shared memory, at the same offset modulo 1 MiB; V8
 * copies into shared memory with relaxed atomics, word by word only when source and target are
 * equally aligned, byte by byte otherwise (measured: `relaxed_memmove` was 7 % of an SSE-C PUT
 * over TLS, whose chunks have odd lengths).
 */
const ALIGN = 64;
const freePieces: Piece[] = [];

interface Piece {
  buf: Buffer;
  fill: number;
  /** Chunks cut from it that the consumer has not finished with. */
  pending: number;
  /** No longer the piece new chunks go into. */
  sealed: boolean;
  /** Some chunk of it went to a consumer that may keep it: never reuse. */
  kept: boolean;
}

interface Chunk {
  data: Buffer;
  piece: Piece | undefined;
}

/** The least n ≥ fill with n ≡ shift (mod ALIGN). */
function alignUp(fill: number, shift: number): number {
  return fill + ((shift - (fill % ALIGN) + ALIGN) % ALIGN);
}

function recycle(p: Piece): void {
  if (p.kept || !p.sealed || p.pending > 0) return;
  p.fill = 0;
  p.sealed = false;
  if (freePieces.length < MAX_FREE_PIECES) freePieces.push(p);
}

export interface SocketControl {
  pause(): void;
  resume(): void;
}

export class UwsRequestBody implements RequestBody {
  readonly declaredLength: number | undefined;
  private readonly queue: Chunk[] = [];
  private piece: Piece | undefined;
  private queuedBytes = 0;
  private paused = false;
  private rawEnded = false;
  private finished = false;
  private failure: unknown;
  private waiter: (() => void) | undefined;
  private started = false;
  /** Decoded body bytes copied in so far (the next copy's offset in the body). */
  private copied = 0;
  private readonly decoder: PayloadDecoder;
  private readonly socket: SocketControl;
  /** True once the whole raw body has arrived (or there was none). */
  complete = false;

  constructor(decoder: PayloadDecoder, socket: SocketControl, declaredLength: number | undefined) {
    this.decoder = decoder;
    this.socket = socket;
    this.declaredLength = declaredLength;
  }

  /** uWS onData: `chunk` is only valid during this call. */
  onRaw(chunk: ArrayBuffer, isLast: boolean): void {
    if (this.failure === undefined) {
      try {
        if (chunk.byteLength > 0) {
          this.decoder.push(Buffer.from(chunk), (data) => {
            // The decoder hands out views into uWS's buffer: copy what we keep.
            this.copyIn(data);
            this.queuedBytes += data.length;
          });
        }
      } catch (err) {
        this.failure = err;
      }
    }
    if (isLast) {
      // The whole raw body is in: a pause taken on an earlier chunk of this same read (uWS hands a
      // chunked body's last data and its terminating chunk over as two calls) has nothing left to
      // hold back, and left paused the connection never reads its next request.
      this.unpause();
      if (this.failure === undefined) {
        this.end();
        return;
      }
      this.rawEnded = true;
      this.complete = true;
    } else if (!this.paused && (this.queuedBytes >= HIGH_WATER || !this.started)) {
      // Until the handler starts reading, hold the socket after the first chunk: a request that
      // is rejected early (missing bucket, bad SSE headers) is answered without reading its body.
      this.paused = true;
      this.socket.pause();
    }
    this.wake();
  }

  /**
   * Queues a copy of `data`. Small bodies (XML, objects stored inline) get a copy of their own: a
   * 512 KiB piece for a 4 KiB body would cost more than it saves. Everything else is packed into
   * pieces, a chunk larger than what is left of the current piece continuing in the next one; a
   * fresh buffer per large chunk (plain-HTTP reads bring up to 512 KiB) was external memory that
   * set off a full garbage collection of the main isolate every few tens of MiB received.
   */
  private copyIn(data: Buffer): void {
    const small = this.declaredLength !== undefined && this.declaredLength <= SMALL_BODY;
    if (small) {
      const shift = this.copied % ALIGN;
      this.copied += data.length;
      const copy = Buffer.allocUnsafe(shift + data.length).subarray(shift);
      data.copy(copy);
      this.queue.push({ data: copy, piece: undefined });
      return;
    }
    let pos = 0;
    while (pos < data.length) {
      const shift = this.copied % ALIGN;
      let p = this.piece;
      // A new piece when this one cannot take at least a cache line more (or none is open).
      if (p === undefined || alignUp(p.fill, shift) + Math.min(ALIGN, data.length - pos) > PIECE_SIZE) {
        if (p !== undefined) {
          p.sealed = true;
          recycle(p);
        }
        p = freePieces.pop() ?? { buf: Buffer.allocUnsafeSlow(PIECE_SIZE), fill: 0, pending: 0, sealed: false, kept: false };
        this.piece = p;
      }
      p.fill = alignUp(p.fill, shift);
      const n = Math.min(data.length - pos, PIECE_SIZE - p.fill);
      const view = p.buf.subarray(p.fill, p.fill + n);
      data.copy(view, 0, pos, pos + n);
      p.fill += n;
      p.pending++;
      pos += n;
      this.copied += n;
      this.queue.push({ data: view, piece: p });
    }
  }

  /** Lets the current piece be reused once its chunks are done (called when the body is over). */
  private releasePiece(): void {
    const p = this.piece;
    this.piece = undefined;
    if (p !== undefined) {
      p.sealed = true;
      recycle(p);
    }
  }

  /**
   * The handler will never read (it failed or answered without the body): let the rest of the
   * body flow to whoever drains it. Resumes the socket only if this body paused it: resuming a
   * socket that is not paused stalls uWS's next request on the connection.
   */
  release(): void {
    this.unpause();
  }

  private unpause(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** The client went away. */
  onAbort(): void {
    if (this.failure === undefined && !this.finished) this.failure = new S3Error('IncompleteBody', 'The client closed the connection before sending the whole body.');
    this.wake();
  }

  /** The request has no body at all. */
  markEmpty(): void {
    this.end();
  }

  /** The raw body is complete: the decoder verifies framing, trailers and digests. */
  private end(): void {
    this.rawEnded = true;
    this.complete = true;
    this.decoder.finish().then(
      () => {
        this.finished = true;
        this.wake();
      },
      (err: unknown) => {
        this.failure = err;
        this.wake();
      },
    );
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private maybeResume(): void {
    if (this.paused && !this.rawEnded && this.queuedBytes <= LOW_WATER) {
      this.paused = false;
      this.socket.resume();
    }
  }

  get digested(): boolean {
    return this.decoder.digested;
  }

  get defaultChecksum(): string | undefined {
    return this.decoder.defaultChecksum;
  }

  verifiedChecksums(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [alg, value] of Object.entries(this.decoder.checksums)) if (value !== undefined) out[alg] = value;
    return out;
  }

  async readAll(limit: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let total = 0;
    for await (const chunk of this) {
      total += chunk.length;
      if (total > limit) throw new S3Error('EntityTooLarge', `The request body exceeds ${limit} bytes.`);
      parts.push(chunk);
    }
    return Buffer.concat(parts, total);
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.chunks(false);
  }

  /**
   * The body as lent chunks: each is valid only until the next one is asked for (its buffer is
   * then reused). For consumers that copy or write a chunk before reading on.
   */
  lend(): AsyncIterable<Buffer> {
    return { [Symbol.asyncIterator]: () => this.chunks(true) };
  }

  private async *chunks(lent: boolean): AsyncGenerator<Buffer> {
    this.started = true;
    let out: Chunk | undefined;
    const done = (): void => {
      if (out?.piece !== undefined) {
        out.piece.pending--;
        if (lent) recycle(out.piece);
        else out.piece.kept = true;
      }
      out = undefined;
    };
    try {
      for (;;) {
        done();
        if (this.queue.length > 0) {
          out = this.queue.shift()!;
          this.queuedBytes -= out.data.length;
          this.maybeResume();
          yield out.data;
          continue;
        }
        if (this.failure !== undefined) throw this.failure;
        if (this.finished) return;
        this.maybeResume();
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
      }
    } finally {
      done();
      if (this.finished || this.failure !== undefined) this.releasePiece();
    }
  }
}
