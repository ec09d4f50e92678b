// Raw bytes on TCP connections to a test daemon: one exchange collected until the server closes,
// goes idle or has answered; a sequence of requests on one kept-alive connection; parsing the
// responses out of the bytes; and probing whether the port still accepts connections.

import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { RawResponse } from './http.js';

/**
 * The bytes a connection received, joined into one buffer (`bytes`) only once `need` bytes are
 * in: joining on every chunk copies a large body over and over (quadratic: 13 of the 17 s of CPU
 * a leak-sweep test took). With `need` 0 (until a head says how long its response is) every chunk
 * is joined.
 */
export class Received {
  bytes: Buffer = Buffer.alloc(0);
  need = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** All bytes received and not consumed, joined or not. */
  get length(): number {
    return this.bytes.length + this.pendingBytes;
  }

  /** Adds a chunk; true when `need` bytes are in, all of them then in `bytes`. */
  push(chunk: Buffer): boolean {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.length < this.need) return false;
    this.all();
    return true;
  }

  /** Every byte received and not consumed, joined (into `bytes`). */
  all(): Buffer {
    if (this.pending.length > 0) {
      this.bytes = Buffer.concat([this.bytes, ...this.pending]);
      this.pending = [];
      this.pendingBytes = 0;
    }
    return this.bytes;
  }

  /** Drops the first `n` bytes (a response taken), and `need` with them. */
  consume(n: number): void {
    this.bytes = this.bytes.subarray(n);
    this.need = 0;
  }
}

/**
 * Raw bytes on one TCP connection; collects everything the server sends until it closes, `idleMs`
 * passes without data, or (untilResponse) one complete response with a final status arrived.
 */
export function tcpExchange(port: number, bytes: Buffer | string, opts: { idleMs?: number; timeoutMs?: number; untilResponse?: boolean; head?: boolean } = {}): Promise<{ data: Buffer; closed: boolean; error?: string }> {
  const idleMs = opts.idleMs ?? 1000;
  return new Promise((resolve) => {
    const got = new Received();
    // Without untilResponse nothing is looked at before the end: joined once, then.
    if (!opts.untilResponse) got.need = Infinity;
    let settled = false;
    const sock: Socket = connect(port, '127.0.0.1');
    let idle: NodeJS.Timeout | undefined;
    const finish = (closed: boolean, error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      clearTimeout(hard);
      sock.destroy();
      resolve({ data: got.all(), closed, ...(error ? { error } : {}) });
    };
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(false), idleMs);
    };
    const hard = setTimeout(() => finish(false, 'timeout'), opts.timeoutMs ?? 10_000);
    sock.on('connect', () => {
      sock.write(bytes);
      arm();
    });
    sock.on('data', (c: Buffer) => {
      arm();
      if (!got.push(c)) return;
      const data = got.bytes;
      // Past interim responses ("100 Continue"): the final one is what the caller waits for.
      let from = 0;
      for (;;) {
        const end = data.indexOf('\r\n\r\n', from);
        const res = end < 0 ? undefined : parseHttpResponse(data.subarray(from, end + 4));
        if (!res) break;
        if (res.status < 200) {
          from = end + 4;
          continue;
        }
        const cl = res.headers['content-length'];
        const len = opts.head || res.status === 204 || res.status === 304 ? 0 : typeof cl === 'string' ? Number(cl) : 0;
        got.need = end + 4 + len;
        if (data.length >= got.need) finish(false);
        break;
      }
    });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(true, e.code ?? e.message));
  });
}

/** The first response's whole length in `data` (head and Content-Length body) once its head is in, else -1. */
export function responseLength(data: Buffer): number {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return -1;
  return end + 4 + Number(parseHttpResponse(data.subarray(0, end + 4))?.headers['content-length'] ?? 0);
}

/** Parses the first HTTP/1.1 response out of raw bytes. */
export function parseHttpResponse(data: Buffer): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = data.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
  if (!m) return undefined;
  const headers: IncomingHttpHeaders = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = data.subarray(end + 4);
  const cl = headers['content-length'];
  if (typeof cl === 'string' && /^\d+$/.test(cl)) body = body.subarray(0, Number(cl));
  return { status: Number(m[1]), headers, body };
}

/** Refused or accepted: tries one TCP connection. */
export function tryConnect(port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/**
 * Requests one after another on a single kept-alive TCP connection, each sent once the previous
 * response is complete (uWS does not pipeline requests whose handlers answer asynchronously).
 */
export function tcpConversation(port: number, steps: Array<{ bytes: Buffer; head?: boolean }>, timeoutMs = 5000): Promise<{ responses: RawResponse[]; closed: boolean }> {
  return new Promise((resolve) => {
    const responses: RawResponse[] = [];
    const got = new Received();
    let step = 0;
    let closed = false;
    const sock: Socket = connect(port, '127.0.0.1');
    const finish = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ responses, closed });
    };
    const timer = setTimeout(finish, timeoutMs);
    const sendNext = (): void => {
      if (step >= steps.length) return finish();
      sock.write(steps[step]!.bytes);
    };
    sock.on('connect', sendNext);
    sock.on('data', (c: Buffer) => {
      if (!got.push(c)) return;
      for (;;) {
        const buf = got.bytes;
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const res = parseHttpResponse(buf.subarray(0, end + 4))!;
        const noBody = steps[step]?.head || res.status === 204 || res.status === 304;
        const cl = res.headers['content-length'];
        const len = noBody ? 0 : typeof cl === 'string' ? Number(cl) : 0;
        got.need = end + 4 + len;
        if (buf.length < got.need) return;
        responses.push({ status: res.status, headers: res.headers, body: buf.subarray(end + 4, end + 4 + len) });
        got.consume(end + 4 + len);
        step++;
        sendNext();
      }
    });
    sock.on('close', () => {
      closed = true;
      finish();
    });
    sock.on('error', () => undefined);
  });
}

/**
 * Sends `request` on `sock` once it is connected (`ready`: 'connect', or 'secureConnect' for TLS)
 * and reads the response at `rate` bytes/s for `slowMs` (with rate 0: not at all after its first
 * MiB), then as fast as it comes: the bytes after the response head, its status, and when the
 * server closed the connection first.
 */
export function readSlowly(sock: Socket, ready: 'connect' | 'secureConnect', request: string, rate: number, slowMs: number): Promise<{ status: number; body: Buffer; closedAfterMs: number | undefined }> {
  const MiB = 1024 * 1024;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    let want = -1;
    let closedAfterMs: number | undefined;
    let finished = false;
    const started = Date.now();
    const done = (): void => {
      if (finished) return;
      finished = true;
      sock.destroy();
      const data = Buffer.concat(chunks);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data.subarray(0, 20).toString('latin1'))?.[1] ?? 0);
      resolve({ status, body: data.subarray(data.indexOf('\r\n\r\n') + 4), closedAfterMs });
    };
    sock.setNoDelay(true);
    sock.on(ready, () => sock.write(request));
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (want < 0) want = responseLength(Buffer.concat(chunks));
      if (want >= 0 && got >= want) return done();
      const elapsed = Date.now() - started;
      if (elapsed >= slowMs) return;
      // Ahead of the rate (or past the first MiB of a reader that stops): wait before reading on.
      const ahead = rate === 0 ? (got > MiB ? slowMs - elapsed : 0) : (got / rate) * 1000 - elapsed;
      if (ahead > 0) {
        sock.pause();
        setTimeout(() => sock.resume(), Math.min(ahead, slowMs - elapsed));
      }
    });
    sock.on('end', () => {
      closedAfterMs ??= Date.now() - started;
      done();
    });
    sock.on('close', () => done());
    sock.on('error', () => done());
  });
}

/**
 * `request` written on `sock` in two pieces 60 ms apart (the first `cut` bytes, then the rest), as a
 * network or a TLS client may deliver a request head: what came back once a whole response with a
 * Content-Length arrived, the server closed, or `timeoutMs` passed ('' when nothing came).
 */
export function sendInTwoPieces(sock: Socket, ready: 'connect' | 'secureConnect', request: Buffer, cut: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(data);
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on(ready, () => {
      sock.write(request.subarray(0, cut));
      setTimeout(() => sock.write(request.subarray(cut)), 60);
    });
    sock.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(data.slice(0, end))?.[1];
      if (end >= 0 && data.length >= end + 4 + Number(length ?? 0)) finish();
    });
    sock.on('close', finish);
    sock.on('error', finish);
  });
}
