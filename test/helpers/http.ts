// Hand-made HTTP requests to a test daemon (node:http, a fresh connection each unless an agent is
// given; `raw` goes over TLS when that agent is an https one), SigV4-signed with the test credentials or anonymous, and S3 XML error bodies. Two
// flavours: `raw` signs every header it sends (content-length included) and streams bodies;
// `send`/`openPut` sign first and add content-length after, and let the test pace the body.
// `cutAwareGet` reports a response cut after its head (what arrived, and that it was cut).

import type { Test } from 'tap';
import { request, type Agent, type IncomingHttpHeaders, type IncomingMessage, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { signRequest } from '../../daemon/auth/sign.js';
import { ACCESS_KEY, REGION, SECRET_KEY } from './daemon.js';
import { sha256Hex } from './hash.js';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The request went out on a kept-alive connection of the agent (set by `raw`). */
  reusedSocket?: boolean;
}

export interface SignOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  now?: Date;
  /** x-amz-content-sha256; 'hash' computes the hex SHA-256 of a Buffer/string body. Default UNSIGNED-PAYLOAD. */
  payloadHash?: string;
  /** The service of the credential scope (default s3). */
  service?: string;
}

export interface RawOptions {
  method: string;
  /** Percent-encoded path as sent on the wire. */
  path: string;
  /** Raw query without '?'. */
  query?: string;
  /** Lower-case header names. */
  headers?: Record<string, string>;
  body?: Buffer | string | AsyncIterable<Buffer>;
  /** Sign with the test credentials (default) or these overrides; false sends the request anonymously. */
  sign?: SignOptions | false;
  /** Host header (default 127.0.0.1:port). */
  host?: string;
  /** Connection pool to use (default: a fresh connection per request); an https.Agent (with the daemon's CA) for a TLS daemon. */
  agent?: Agent;
}

/** Headers for a request: host, content-length for in-memory bodies, and the SigV4 signature. */
export function buildHeaders(port: number, opts: RawOptions): Record<string, string> {
  const headers: Record<string, string> = { host: opts.host ?? `127.0.0.1:${port}`, ...(opts.headers ?? {}) };
  if ((typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
    headers['content-length'] = String(Buffer.byteLength(opts.body));
  }
  if (opts.sign === false) return headers;
  const s = opts.sign ?? {};
  let payloadHash = s.payloadHash;
  if (payloadHash === 'hash') {
    if (typeof opts.body !== 'string' && !Buffer.isBuffer(opts.body) && opts.body !== undefined) throw new Error('payloadHash "hash" needs an in-memory body');
    payloadHash = sha256Hex(opts.body ?? '');
  }
  return signRequest({
    method: opts.method,
    rawPath: opts.path,
    rawQuery: opts.query ?? '',
    headers,
    accessKeyId: s.accessKeyId ?? ACCESS_KEY,
    secretAccessKey: s.secretAccessKey ?? SECRET_KEY,
    region: s.region ?? REGION,
    ...(s.now ? { now: s.now } : {}),
    ...(payloadHash !== undefined ? { payloadHash } : {}),
    ...(s.service !== undefined ? { service: s.service } : {}),
  }).headers;
}

/** Sends one request (on a fresh connection unless `agent`; over TLS when it is an https.Agent) and reads the whole response. */
export function raw(port: number, opts: RawOptions): Promise<RawResponse> {
  const headers = buildHeaders(port, opts);
  const path = opts.query ? `${opts.path}?${opts.query}` : opts.path;
  const send = opts.agent instanceof HttpsAgent ? httpsRequest : request;
  return new Promise((resolve, reject) => {
    const req = send({ host: '127.0.0.1', port, method: opts.method, path, headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), reusedSocket: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const body = opts.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      void (async () => {
        try {
          for await (const chunk of body) {
            if (!req.write(chunk)) await new Promise<void>((r) => req.once('drain', r));
          }
          req.end();
        } catch (err) {
          req.destroy(err as Error);
        }
      })();
    }
  });
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

/** A signed request without a body as raw HTTP/1.1 text, for a socket the test drives by hand. */
export function signedRequestText(port: number, o: SignedOptions): string {
  const target = o.query ? `${o.path}?${o.query}` : o.path;
  return `${o.method} ${target} HTTP/1.1\r\n${Object.entries(signedHeaders(port, o))
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** One signed request on a fresh connection (content-length added unsigned); resolves with the whole response. */
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

function collect(res: IncomingMessage, resolve: (r: RawResponse) => void, reject: (e: Error) => void): void {
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

/** A signed PUT (or `opts.method`) whose body the test streams by hand (declared Content-Length `total`). */
export function openPut(port: number, path: string, total: number, opts: { query?: string; headers?: Record<string, string>; method?: string } = {}): OpenUpload {
  const method = opts.method ?? 'PUT';
  const headers = signedHeaders(port, { method, path, ...(opts.query ? { query: opts.query } : {}), headers: { ...(opts.headers ?? {}), 'content-length': String(total) } });
  const fullPath = opts.query ? `${path}?${opts.query}` : path;
  const req = request({ host: '127.0.0.1', port, method, path: fullPath, headers, agent: false });
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

/** One element's text from an XML body (first occurrence), or undefined. */
export function xmlField(body: Buffer | string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(body.toString());
  return m?.[1];
}

/** The S3 error code in an XML error body, or undefined. */
export function errorCode(body: Buffer | string): string | undefined {
  return xmlField(body, 'Code');
}

/** Asserts an S3 XML error response: status, Code, and the request id matching the header. */
export function assertXmlError(t: Test, res: RawResponse, status: number, code: string, what: string): void {
  t.equal(res.status, status, `${what}: HTTP ${status}`);
  t.equal(xmlField(res.body, 'Code'), code, `${what}: <Code>${code}</Code>`);
  const id = res.headers['x-amz-request-id'];
  t.match(id, /^[0-9A-F]{16}$/, `${what}: x-amz-request-id`);
  t.equal(xmlField(res.body, 'RequestId'), id, `${what}: <RequestId> matches the header`);
}

/** Encodes an S3 key for a path (each segment percent-encoded, slashes kept). */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** What a GET read before its connection ended: everything that arrived, and whether that was all of it. */
export interface CutAwareGet {
  /** HTTP status, undefined when no response head arrived. */
  status: number | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body arrived whole (Content-Length bytes, then the message ended). */
  complete: boolean;
  error?: string;
}

/**
 * A GET on a fresh connection (HTTPS when `ca` is given) that reports a cut connection instead of
 * rejecting: the tests of reads that fail after the response began (damaged or lost data) look at
 * exactly what arrived. `onResponse` sees the response before its first byte (to pause it).
 */
export function cutAwareGet(port: number, o: { path: string; headers: Record<string, string>; ca?: string | Buffer; timeoutMs?: number; onResponse?: (res: IncomingMessage) => void }): Promise<CutAwareGet> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (g: Omit<CutAwareGet, 'body'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...g, body: Buffer.concat(chunks) });
    };
    const opts = { host: '127.0.0.1', port, method: 'GET', path: o.path, headers: o.headers, agent: false as const };
    const onResponse = (res: IncomingMessage): void => {
      res.on('data', (c: Buffer) => chunks.push(c));
      o.onResponse?.(res);
      res.on('error', (err) => done({ status: res.statusCode, headers: res.headers, complete: false, error: err.message }));
      res.on('close', () => done({ status: res.statusCode, headers: res.headers, complete: res.complete, error: res.complete ? undefined : 'closed early' }));
    };
    const req = o.ca !== undefined ? httpsRequest({ ...opts, ca: o.ca }, onResponse) : request(opts, onResponse);
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: undefined, headers: {}, complete: false, error: 'timeout: the GET hung' });
    }, o.timeoutMs ?? 15_000);
    req.on('error', (err) => done({ status: undefined, headers: {}, complete: false, error: err.message }));
    req.end();
  });
}

/** The metrics page of a daemon serving HTTPS under a certificate `ca` signed, asked for as `localhost`. */
export function scrapeMetricsTls(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/minio/v2/metrics/cluster', ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
