// A request body fed by uWS onData: raw bytes go through the payload decoder (aws-chunked,
// signatures, checksums) and queue up for the handler, pausing the socket when the handler
// falls behind (backpressure). Nothing here holds more than a high-water mark of data.

import type { PayloadDecoder } from '../auth/payload.js';
import { S3Error } from '../errors.js';
import type { RequestBody } from '../ops/types.js';

const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1 * 1024 * 1024;

export interface SocketControl {
  pause(): void;
  resume(): void;
}

export class UwsRequestBody implements RequestBody {
  readonly declaredLength: number | undefined;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private paused = false;
  private rawEnded = false;
  private finished = false;
  private failure: unknown;
  private waiter: (() => void) | undefined;
  private started = false;
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
            const copy = Buffer.allocUnsafe(data.length);
            data.copy(copy);
            this.queue.push(copy);
            this.queuedBytes += copy.length;
          });
        }
      } catch (err) {
        this.failure = err;
      }
    }
    if (isLast) {
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

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.started = true;
    for (;;) {
      if (this.queue.length > 0) {
        const chunk = this.queue.shift()!;
        this.queuedBytes -= chunk.length;
        this.maybeResume();
        yield chunk;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.finished) return;
      this.maybeResume();
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }
}
