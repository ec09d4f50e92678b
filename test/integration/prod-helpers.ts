// Shared by the prod-*.test.ts suites (shutdown, crash, hostile, metrics): hand-signed raw
// requests with full control over timing and bytes, data-dir inspection against LMDB, a seeded
// PRNG. Not a test file itself (tap runs *.test.ts only).

import { request, type IncomingHttpHeaders, type ClientRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { signRequest } from '../../daemon/auth/sigv4.js';
import { MetaStore } from '../../daemon/meta/store.js';
import { ACCESS_KEY, REGION, SECRET_KEY } from '../helpers/daemon.js';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SignedOptions {
  method: string;
  /** Percent-encoded path as sent. */
  path: string;
  /** Raw query without '?'. */
  query?: string;
  /** Lower-case names. */
  headers?: Record<string, string>;
  /** x-amz-content-sha256 (default UNSIGNED-PAYLOAD). */
  payloadHash?: string;
  secretKey?: string;
}

/** Request headers with host and a SigV4 Authorization for the test credentials. */
export function signedHeaders(port: number, o: SignedOptions): Record<string, string> {
  return signRequest({
    method: o.method,
    rawPath: o.path,
    rawQuery: o.query ?? '',
    headers: { host: `127.0.0.1:${port}`, ...(o.headers ?? {}) },
    accessKeyId: ACCESS_KEY,
    secretAccessKey: o.secretKey ?? SECRET_KEY,
    region: REGION,
    ...(o.payloadHash !== undefined ? { payloadHash: o.payloadHash } : {}),
  }).headers;
}

/** One signed request on a fresh connection; resolves with the whole response. */
export function send(port: number, o: SignedOptions & { body?: Buffer | string; sign?: boolean }): Promise<RawResponse> {
  const headers = o.sign === false ? { host: `127.0.0.1:${port}`, ...(o.headers ?? {}) } : signedHeaders(port, o);
  if (o.body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
    headers['content-length'] = String(Buffer.byteLength(o.body));
  }
  const path = o.query ? `${o.path}?${o.query}` : o.path;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: o.method, path, headers, agent: false }, (res) => collect(res, resolve, reject));
    req.on('error', reject);
    req.end(o.body);
  });
}

function collect(res: import('node:http').IncomingMessage, resolve: (r: RawResponse) => void, reject: (e: Error) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
  res.on('error', reject);
}

export interface OpenUpload {
  readonly req: ClientRequest;
  /** Writes and waits until the socket took the bytes (or failed). */
  write(buf: Buffer): Promise<void>;
  end(buf?: Buffer): void;
  /** Settles with the response, or rejects when the connection is cut. */
  readonly response: Promise<RawResponse>;
}

/** A signed PUT whose body the test streams by hand (declared Content-Length `total`). */
export function openPut(port: number, path: string, total: number, opts: { query?: string; headers?: Record<string, string> } = {}): OpenUpload {
  const headers = signedHeaders(port, { method: 'PUT', path, ...(opts.query ? { query: opts.query } : {}), headers: { ...(opts.headers ?? {}), 'content-length': String(total) } });
  const fullPath = opts.query ? `${path}?${opts.query}` : path;
  const req = request({ host: '127.0.0.1', port, method: 'PUT', path: fullPath, headers, agent: false });
  const response = new Promise<RawResponse>((resolve, reject) => {
    req.on('response', (res) => collect(res, resolve, reject));
    req.on('error', reject);
  });
  response.catch(() => undefined);
  return {
    req,
    response,
    write: (buf) =>
      new Promise<void>((resolve) => {
        if (req.destroyed) return resolve();
        req.write(buf, () => resolve());
      }),
    end: (buf) => {
      if (!req.destroyed) req.end(buf);
    },
  };
}

/**
 * Raw bytes on one TCP connection; collects everything the server sends until it closes, `idleMs`
 * passes without data, or (untilResponse) one complete response with a final status arrived.
 */
export function tcpExchange(port: number, bytes: Buffer | string, opts: { idleMs?: number; timeoutMs?: number; untilResponse?: boolean; head?: boolean } = {}): Promise<{ data: Buffer; closed: boolean; error?: string }> {
  const idleMs = opts.idleMs ?? 1000;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const sock: Socket = connect(port, '127.0.0.1');
    let idle: NodeJS.Timeout | undefined;
    const finish = (closed: boolean, error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      clearTimeout(hard);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks), closed, ...(error ? { error } : {}) });
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
      chunks.push(c);
      arm();
      if (opts.untilResponse) {
        const data = Buffer.concat(chunks);
        const end = data.indexOf('\r\n\r\n');
        const res = end < 0 ? undefined : parseHttpResponse(data.subarray(0, end + 4));
        if (res && res.status >= 200) {
          const cl = res.headers['content-length'];
          const len = opts.head || res.status === 204 || res.status === 304 ? 0 : typeof cl === 'string' ? Number(cl) : 0;
          if (data.length >= end + 4 + len) finish(false);
        }
      }
    });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(true, e.code ?? e.message));
  });
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

/** The S3 error code in an XML error body, or undefined. */
export function errorCode(body: Buffer | string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body.toString())?.[1];
}

/** Resolves once `predicate` is true for some log line (JSON-parsed), or rejects after `ms`. */
export async function waitForLog(logs: string[], predicate: (line: Record<string, unknown>) => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  let seen = 0;
  while (Date.now() - start < ms) {
    for (; seen < logs.length; seen++) {
      try {
        if (predicate(JSON.parse(logs[seen]!) as Record<string, unknown>)) return;
      } catch {
        // not JSON
      }
    }
    await sleep(10);
  }
  throw new Error(`log line not seen within ${ms} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
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

export interface DataDirState {
  /** Files in .s3d/tmp. */
  temp: string[];
  /** Data file ids under .s3d/objects. */
  data: string[];
  /** Ids LMDB records (objects and pending parts) point at. */
  referenced: Set<string>;
  /** Ids still in the deletion queue. */
  queued: string[];
  /** Data files no record points at. */
  orphans: string[];
  /** Referenced ids with no file. */
  missing: string[];
}

/** Inspects a stopped daemon's data dir (opens its LMDB read-mostly; never while it runs). */
export async function inspectDataDir(dataDir: string): Promise<DataDirState> {
  const root = join(dataDir, '.s3d');
  const tmpDir = join(root, 'tmp');
  const objDir = join(root, 'objects');
  const temp = existsSync(tmpDir) ? readdirSync(tmpDir) : [];
  const data: string[] = [];
  if (existsSync(objDir)) for (const sub of readdirSync(objDir)) data.push(...readdirSync(join(objDir, sub)));
  const meta = new MetaStore(root);
  try {
    const referenced = meta.referencedFiles();
    const queued = meta.queuedFiles(100_000);
    const onDisk = new Set(data);
    return {
      temp,
      data,
      referenced,
      queued,
      orphans: data.filter((f) => !referenced.has(f)),
      missing: [...referenced].filter((f) => !onDisk.has(f)),
    };
  } finally {
    await meta.close();
  }
}

/** mulberry32: a small deterministic PRNG for seeded tests. */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(a: readonly T[]): T; bool(p?: number): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)]!,
    bool: (p = 0.5) => next() < p,
  };
}

/**
 * Requests one after another on a single kept-alive TCP connection, each sent once the previous
 * response is complete (uWS does not pipeline requests whose handlers answer asynchronously).
 */
export function tcpConversation(port: number, steps: Array<{ bytes: Buffer; head?: boolean }>, timeoutMs = 5000): Promise<{ responses: RawResponse[]; closed: boolean }> {
  return new Promise((resolve) => {
    const responses: RawResponse[] = [];
    let buf = Buffer.alloc(0);
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
      buf = Buffer.concat([buf, c]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const res = parseHttpResponse(buf.subarray(0, end + 4))!;
        const noBody = steps[step]?.head || res.status === 204 || res.status === 304;
        const cl = res.headers['content-length'];
        const len = noBody ? 0 : typeof cl === 'string' ? Number(cl) : 0;
        if (buf.length < end + 4 + len) return;
        responses.push({ status: res.status, headers: res.headers, body: buf.subarray(end + 4, end + 4 + len) });
        buf = buf.subarray(end + 4 + len);
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
