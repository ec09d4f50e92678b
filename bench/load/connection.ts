// A minimal keep-alive HTTP/1.1 client connection for the load generator: one request at a time,
// bodies written from one shared buffer with backpressure, responses read into one reused 1 MiB
// buffer (`onread`) and counted, not copied, unless the caller asks for the (small) body.

import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';

export interface HttpTarget {
  host: string;
  port: number;
  tls: boolean;
  /** PEM of the CA (or self-signed certificate) to trust when tls */
  ca?: string;
}

/** A body of `size` bytes made of `chunk` repeated (no per-request allocation). */
export interface BodySource {
  size: number;
  chunk: Buffer;
  /** chunk.subarray(0, size) when size < chunk.length, made once */
  exact?: Buffer;
}

export interface RequestOptions {
  /** HEAD request: the response has headers only */
  headOnly?: boolean;
  /** keep the response body (up to this many bytes); errors keep 2 KiB regardless */
  captureBytes?: number;
  timeoutMs: number;
  /** fail when no byte moved either way for this long (default 20 s): a stall, not a slow server */
  idleTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  /** lower-case name → value */
  headers: Record<string, string>;
  bodyBytes: number;
  body: Buffer | undefined;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const DEFAULT_IDLE_TIMEOUT_MS = 20_000;
const ERROR_CAPTURE = 2048;

type BodyState = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'close';

export class ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionError';
  }
}

/** Parses the status line and headers of a response head (without the final CRLFCRLF). */
export function parseResponseHead(text: string): { status: number; headers: Record<string, string> } {
  // "HTTP/1.1 200 …": checked by position, no regex or split on the hot path.
  const status = text.startsWith('HTTP/1.') && text.charCodeAt(8) === 32 ? Number(text.slice(9, 12)) : Number.NaN;
  if (!(status >= 100 && status <= 999)) throw new ConnectionError(`malformed status line: ${JSON.stringify(text.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  let at = text.indexOf('\r\n');
  // Bounded by the head's length: each pass moves past one line.
  while (at >= 0 && at < text.length) {
    const start = at + 2;
    const end = text.indexOf('\r\n', start);
    const stop = end < 0 ? text.length : end;
    const colon = text.indexOf(':', start);
    if (colon > start && colon < stop) {
      const name = text.slice(start, colon).trim().toLowerCase();
      const value = text.slice(colon + 1, stop).trim();
      const prev = headers[name];
      headers[name] = prev === undefined ? value : `${prev}, ${value}`;
    }
    at = end;
  }
  return { status, headers };
}

/** One interval per thread checks every busy connection's deadline (no timer per request). */
const watched = new Set<HttpConnection>();
let watchdog: NodeJS.Timeout | undefined;
function watch(c: HttpConnection): void {
  watched.add(c);
  watchdog ??= setInterval(() => {
    const now = Date.now();
    for (const w of watched) if (!w.checkDeadline(now)) watched.delete(w);
    if (watched.size === 0) {
      clearInterval(watchdog);
      watchdog = undefined;
    }
  }, 250);
}

export class HttpConnection {
  readonly #target: HttpTarget;
  readonly #readBuffer: Buffer;
  #socket: Socket | undefined;
  #connected: Promise<void> | undefined;
  // Response parser state for the request in flight.
  #pending: { resolve(r: HttpResponse): void; reject(e: Error): void; opts: RequestOptions } | undefined;
  #state: BodyState = 'head';
  #headText = '';
  #status = 0;
  #headers: Record<string, string> = {};
  #remaining = 0;
  #bodyBytes = 0;
  #captured: Buffer[] = [];
  #capturedBytes = 0;
  #captureLimit = 0;
  #sizeLine = '';
  /** a large body is still being written for the request in flight */
  #bodyInFlight = false;
  #seq = 0;
  #deadline = 0;
  #lastActivity = 0;
  /** connections opened so far (1 = kept alive throughout) */
  connects = 0;
  readonly #onProgress: (bytes: number) => void;

  /** onProgress sees body bytes as they are handed to the socket or read from it. */
  constructor(target: HttpTarget, readBuffer: Buffer, onProgress: (bytes: number) => void = () => undefined) {
    this.#target = target;
    this.#readBuffer = readBuffer;
    this.#onProgress = onProgress;
  }

  get hostHeader(): string {
    return `${this.#target.host}:${this.#target.port}`;
  }

  #open(): Promise<void> {
    this.connects++;
    const onread = { buffer: this.#readBuffer, callback: (n: number, buf: Uint8Array): boolean => this.#onData(buf as Buffer, n) };
    return new Promise<void>((resolve, reject) => {
      const t = this.#target;
      // tls.connect accepts onread like net.connect (Node ≥ 14.5) although its typings omit it.
      const tlsOptions: ConnectionOptions & { onread: typeof onread } = {
        host: t.host,
        port: t.port,
        ca: t.ca,
        rejectUnauthorized: t.ca !== undefined,
        onread,
      };
      const socket: Socket = t.tls ? tlsConnect(tlsOptions) : netConnect({ host: t.host, port: t.port, onread });
      socket.setNoDelay(true);
      this.#socket = socket;
      const ready = t.tls ? 'secureConnect' : 'connect';
      const onError = (err: Error): void => reject(err);
      socket.once(ready, () => {
        socket.off('error', onError);
        socket.on('error', (err) => this.#fail(err));
        resolve();
      });
      socket.once('error', onError);
      socket.on('close', () => {
        if (this.#socket === socket) {
          this.#socket = undefined;
          this.#connected = undefined;
        }
        if (this.#state === 'close' && this.#pending !== undefined) this.#finish();
        else this.#fail(new ConnectionError('connection closed by the server'));
      });
    });
  }

  /** Sends one request (head is the full request head including the final CRLFCRLF). */
  request(head: string, body: BodySource | null, opts: RequestOptions): Promise<HttpResponse> {
    if (this.#pending !== undefined) return Promise.reject(new ConnectionError('request already in flight on this connection'));
    const socket = this.#socket;
    // Kept-alive connection: no extra promise or microtask on the hot path.
    if (socket !== undefined && !socket.destroyed && this.#connected === undefined) return this.#send(socket, head, body, opts);
    return this.#connectThenSend(head, body, opts);
  }

  async #connectThenSend(head: string, body: BodySource | null, opts: RequestOptions): Promise<HttpResponse> {
    if (this.#socket === undefined || this.#socket.destroyed) this.#connected = this.#open();
    await this.#connected;
    this.#connected = undefined;
    return this.#send(this.#socket!, head, body, opts);
  }

  #send(socket: Socket, head: string, body: BodySource | null, opts: RequestOptions): Promise<HttpResponse> {
    const done = new Promise<HttpResponse>((resolve, reject) => {
      this.#pending = { resolve, reject, opts };
    });
    this.#state = 'head';
    this.#headText = '';
    this.#bodyBytes = 0;
    if (this.#capturedBytes > 0) this.#captured = [];
    this.#capturedBytes = 0;
    const seq = ++this.#seq;
    this.#deadline = Date.now() + opts.timeoutMs;
    this.#lastActivity = Date.now();
    watch(this);
    if (body === null || body.size === 0) {
      socket.write(head, 'latin1');
    } else if (body.size <= body.chunk.length) {
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body.size === body.chunk.length ? body.chunk : (body.exact ??= body.chunk.subarray(0, body.size)));
      socket.uncork();
      this.#onProgress(body.size);
    } else {
      socket.write(head, 'latin1');
      this.#bodyInFlight = true;
      void this.#writeLargeBody(socket, body, seq);
    }
    return done;
  }

  /** Called by the watchdog: fails the request in flight once its deadline has passed. */
  checkDeadline(now: number): boolean {
    const p = this.#pending;
    if (p === undefined) return false;
    const idle = p.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (now > this.#deadline || now - this.#lastActivity > idle) {
      const why = now > this.#deadline ? `no response within ${p.opts.timeoutMs} ms` : `stalled: no byte moved for ${idle} ms (${this.#bodyBytes} response body bytes so far)`;
      this.#fail(new ConnectionError(why), true);
      return false;
    }
    return true;
  }

  async #writeLargeBody(socket: Socket, body: BodySource, seq: number): Promise<void> {
    let left = body.size;
    // Bounded: one iteration per chunk of the body.
    while (left > 0 && !socket.destroyed && this.#seq === seq && this.#pending !== undefined) {
      const n = Math.min(left, body.chunk.length);
      left -= n;
      const ok = socket.write(n === body.chunk.length ? body.chunk : body.chunk.subarray(0, n));
      this.#onProgress(n);
      this.#lastActivity = Date.now();
      if (!ok && left > 0) {
        await new Promise<void>((resolve) => {
          const go = (): void => {
            socket.off('drain', go);
            socket.off('close', go);
            resolve();
          };
          socket.on('drain', go);
          socket.on('close', go);
        });
      }
    }
    if (this.#seq === seq) this.#bodyInFlight = false;
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #fail(err: Error, destroy = false): void {
    const p = this.#pending;
    this.#pending = undefined;
    this.#bodyInFlight = false;
    if (destroy || p !== undefined) {
      this.#socket?.destroy();
      this.#socket = undefined;
    }
    p?.reject(err);
  }

  #finish(): void {
    const p = this.#pending;
    if (p === undefined) return;
    this.#pending = undefined;
    const body = this.#capturedBytes > 0 ? Buffer.concat(this.#captured) : undefined;
    // A response that arrives before its request body was fully sent leaves the connection out of sync.
    if (this.#bodyInFlight || this.#headers['connection']?.toLowerCase() === 'close') {
      this.#bodyInFlight = false;
      this.#socket?.destroy();
      this.#socket = undefined;
    }
    p.resolve({ status: this.#status, headers: this.#headers, bodyBytes: this.#bodyBytes, body });
  }

  #capture(buf: Buffer, start: number, end: number): void {
    const room = this.#captureLimit - this.#capturedBytes;
    if (room <= 0) return;
    const n = Math.min(room, end - start);
    this.#captured.push(Buffer.from(buf.subarray(start, start + n)));
    this.#capturedBytes += n;
  }

  /** onread callback: `buf` is the shared read buffer, valid only during this call. */
  #onData(buf: Buffer, n: number): boolean {
    this.#lastActivity = Date.now();
    try {
      let i = 0;
      // Bounded by n: every branch consumes at least one byte or finishes the response.
      while (i < n) {
        if (this.#pending === undefined) throw new ConnectionError(`unexpected ${n - i} bytes with no request in flight`);
        switch (this.#state) {
          case 'head': {
            i = this.#readHead(buf, i, n);
            break;
          }
          case 'length': {
            i = this.#body(buf, i, Math.min(i + this.#remaining, n));
            if (this.#remaining === 0) this.#finish();
            break;
          }
          case 'close': {
            i = this.#body(buf, i, n);
            break;
          }
          case 'chunk-data': {
            i = this.#body(buf, i, Math.min(i + this.#remaining, n));
            if (this.#remaining === 0) {
              this.#state = 'chunk-crlf';
              this.#remaining = 2;
            }
            break;
          }
          case 'chunk-crlf': {
            const take = Math.min(this.#remaining, n - i);
            this.#remaining -= take;
            i += take;
            if (this.#remaining === 0) this.#state = 'chunk-size';
            break;
          }
          case 'chunk-size':
          case 'trailer': {
            const nl = buf.indexOf(10, i);
            const end = nl < 0 || nl >= n ? n : nl + 1;
            this.#sizeLine += buf.toString('latin1', i, end);
            i = end;
            if (!this.#sizeLine.endsWith('\n')) break;
            const line = this.#sizeLine.trim();
            this.#sizeLine = '';
            if (this.#state === 'trailer') {
              if (line === '') this.#finish();
              break;
            }
            const size = parseInt(line.split(';')[0] ?? '', 16);
            if (!Number.isFinite(size)) throw new ConnectionError(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
            if (size === 0) this.#state = 'trailer';
            else {
              this.#state = 'chunk-data';
              this.#remaining = size;
            }
            break;
          }
        }
      }
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)), true);
    }
    return true;
  }

  /** Body bytes buf[from, to) of the response: kept if asked for, counted; returns `to`. */
  #body(buf: Buffer, from: number, to: number): number {
    this.#capture(buf, from, to);
    this.#bodyBytes += to - from;
    this.#onProgress(to - from);
    this.#remaining -= to - from;
    return to;
  }

  #readHead(buf: Buffer, i: number, n: number): number {
    let headEnd: number;
    let next: number;
    if (this.#headText === '') {
      const at = buf.subarray(i, n).indexOf(CRLFCRLF);
      if (at < 0) {
        this.#headText = buf.toString('latin1', i, n);
        return n;
      }
      headEnd = i + at;
      this.#headText = buf.toString('latin1', i, headEnd);
      next = headEnd + 4;
    } else {
      const before = this.#headText.length;
      this.#headText += buf.toString('latin1', i, n);
      const at = this.#headText.indexOf('\r\n\r\n', Math.max(0, before - 3));
      if (at < 0) {
        if (this.#headText.length > 64 * 1024) throw new ConnectionError('response head larger than 64 KiB');
        return n;
      }
      next = i + (at + 4 - before);
      this.#headText = this.#headText.slice(0, at);
    }
    const { status, headers } = parseResponseHead(this.#headText);
    const p = this.#pending!;
    this.#status = status;
    this.#headers = headers;
    this.#captureLimit = Math.max(p.opts.captureBytes ?? 0, status >= 300 ? ERROR_CAPTURE : 0);
    const noBody = p.opts.headOnly === true || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (status === 100) {
      // 100-continue is never requested; skip an unsolicited interim response.
      this.#headText = '';
      return next;
    }
    const te = headers['transfer-encoding'];
    if (noBody) {
      this.#finish();
    } else if (te !== undefined && te.toLowerCase().includes('chunked')) {
      this.#state = 'chunk-size';
      this.#sizeLine = '';
    } else if (headers['content-length'] !== undefined) {
      this.#remaining = Number(headers['content-length']);
      if (!Number.isSafeInteger(this.#remaining) || this.#remaining < 0) throw new ConnectionError('bad content-length');
      this.#state = 'length';
      if (this.#remaining === 0) this.#finish();
    } else {
      this.#state = 'close';
    }
    return next;
  }
}
