// Shared by the api-*.test.ts files: raw HTTP requests signed by hand (node:http, one
// connection each), S3 XML error parsing, and SDK error assertions with exact codes.
import type { Test } from 'tap';
import { createHash } from 'node:crypto';
import { request, type Agent, type IncomingHttpHeaders } from 'node:http';
import { signRequest } from '../../daemon/auth/sigv4.js';
import { ACCESS_KEY, REGION, SECRET_KEY } from '../helpers/daemon.js';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The request went out on a kept-alive connection of the agent. */
  reusedSocket: boolean;
}

export interface SignOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  now?: Date;
  /** x-amz-content-sha256; 'hash' computes the hex SHA-256 of a Buffer/string body. Default UNSIGNED-PAYLOAD. */
  payloadHash?: string;
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
  /** Connection pool to use (default: a fresh connection per request). */
  agent?: Agent;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function md5Base64(data: Buffer | string): string {
  return createHash('md5').update(data).digest('base64');
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
  }).headers;
}

/** Sends one request on a fresh connection and reads the whole response. */
export function raw(port: number, opts: RawOptions): Promise<RawResponse> {
  const headers = buildHeaders(port, opts);
  const path = opts.query ? `${opts.path}?${opts.query}` : opts.path;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method, path, headers, agent: opts.agent ?? false }, (res) => {
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

/** One element's text from an XML body (first occurrence), or undefined. */
export function xmlField(body: Buffer | string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(body.toString());
  return m?.[1];
}

/** Asserts an S3 XML error response: status, Code, and the request id matching the header. */
export function assertXmlError(t: Test, res: RawResponse, status: number, code: string, what: string): void {
  t.equal(res.status, status, `${what}: HTTP ${status}`);
  t.equal(xmlField(res.body, 'Code'), code, `${what}: <Code>${code}</Code>`);
  const id = res.headers['x-amz-request-id'];
  t.match(id, /^[0-9A-F]{16}$/, `${what}: x-amz-request-id`);
  t.equal(xmlField(res.body, 'RequestId'), id, `${what}: <RequestId> matches the header`);
}

interface SdkError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** Awaits an SDK call that must fail with this S3 code and HTTP status; returns the error. */
export async function expectSdkError(t: Test, p: Promise<unknown>, code: string, status: number, what: string): Promise<SdkError | undefined> {
  try {
    await p;
  } catch (err) {
    const e = err as SdkError;
    t.equal(e.name, code, `${what}: ${code}`);
    t.equal(e.$metadata?.httpStatusCode, status, `${what}: HTTP ${status}`);
    return e;
  }
  t.fail(`${what}: expected ${code}, the call succeeded`);
  return undefined;
}

/** Encodes an S3 key for a path (each segment percent-encoded, slashes kept). */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}
