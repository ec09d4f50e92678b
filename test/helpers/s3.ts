// @aws-sdk/client-s3 helpers shared by the integration tests: clients for a test daemon, reading a
// body to bytes, S3 error codes and assertions on them, and middleware that edits what the SDK
// sends (headers, raw bodies).

import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type GetObjectCommandInput, type S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Test } from 'tap';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { bucketName, s3Client, type TestDaemon } from './daemon.js';
import { encodeKey, raw } from './http.js';

/** d.s3() with SDK settings overridden (agents, retries, checksum modes, region). */
export function clientFor(d: Pick<TestDaemon, 'endpoint' | 'caCert'>, config: Partial<S3ClientConfig> = {}): S3Client {
  return s3Client(d.endpoint, d.caCert, true, config);
}

/** An SDK client with its defaults (response checksum validation on), on a kept-alive agent of its own. */
export function keptAliveClient(d: Pick<TestDaemon, 'endpoint' | 'caCert'>): S3Client {
  return clientFor(d, { requestHandler: { httpAgent: new HttpAgent({ keepAlive: true }) } });
}

/**
 * d.s3(), but the SDK validates response checksums only when required (no x-amz-checksum-mode).
 * Ranged GETs no longer carry the whole object's x-amz-checksum-* (object.ts drops them on 206);
 * tests that read ranges keep this client so they check ranges, not the SDK's checksum mode.
 */
export function clientWithoutResponseChecksums(d: Pick<TestDaemon, 'endpoint' | 'caCert'>): S3Client {
  return clientFor(d, { responseChecksumValidation: 'WHEN_REQUIRED' });
}

/** Creates a bucket with a fresh name (see bucketName) and returns the name. */
export async function createBucket(s3: S3Client, prefix?: string): Promise<string> {
  const bucket = bucketName(prefix);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** The whole body of a GetObject response (a Buffer over the SDK's bytes, not a copy). */
export async function bodyBytes(out: { Body?: { transformToByteArray(): Promise<Uint8Array> } }): Promise<Buffer> {
  const bytes = await out.Body!.transformToByteArray();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** GetObject and read the whole body. */
export async function getBytes(s3: S3Client, input: GetObjectCommandInput): Promise<Buffer> {
  return bodyBytes(await s3.send(new GetObjectCommand(input)));
}

/**
 * PUTs every key (`concurrency` at a time) with the body `bodyOf(key)`, by hand-signed requests on
 * kept-alive connections (HTTPS when `d` serves TLS); throws unless each answers 200. For setup
 * only: the SDK's middleware costs ~1.3 ms of CPU a request, a signed request of our own ~0.25 ms,
 * and a thousand-key setup is where a file's CPU went. Tests of the SDK's own PUT use the SDK.
 */
export async function putMany(d: Pick<TestDaemon, 'port' | 'caCert'>, bucket: string, keys: string[], bodyOf = (key: string): string => `body of ${key}`, concurrency = 32): Promise<void> {
  const agent = d.caCert === undefined ? new HttpAgent({ keepAlive: true, maxSockets: concurrency }) : new HttpsAgent({ keepAlive: true, maxSockets: concurrency, ca: d.caCert });
  let i = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (i < keys.length) {
          const key = keys[i++]!;
          const r = await raw(d.port, { method: 'PUT', path: `/${bucket}/${encodeKey(key)}`, body: bodyOf(key), agent });
          if (r.status !== 200) throw new Error(`PutObject ${bucket}/${key}: HTTP ${r.status} ${r.body.toString()}`);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
}

interface SdkError {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** `Code/status` of a rejected SDK call (`name: message` when no HTTP answer came), or 'ok'. */
export async function s3Code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    const e = err as SdkError;
    if (e.$metadata?.httpStatusCode === undefined) return `${e.name}: ${e.message}`;
    return `${e.name}/${e.$metadata.httpStatusCode}`;
  }
}

export interface S3Failure {
  name: string;
  status: number | undefined;
  message: string;
}

/** The error of an SDK call that must fail (throws when it succeeded). */
export async function sdkFailure(p: Promise<unknown>): Promise<S3Failure> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the request to fail');
}

/** One assertion: the SDK call fails with this S3 code and HTTP status (t.fail when it succeeded). */
export async function expectS3Error(t: Test, p: Promise<unknown>, code: string, status: number, what: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    t.same({ name: e.name, status: e.$metadata?.httpStatusCode }, { name: code, status }, `${what} → ${code} ${status} (${e.message})`);
    return;
  }
  t.fail(`${what}: expected ${code}, the call succeeded`);
}

/** Two assertions (code, then status) on an SDK call that must fail; returns the error. */
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

/** Overrides (or with `undefined`, removes) request headers after the SDK built them, before signing. */
export function withHeaders<C extends { middlewareStack: { add: (...a: never[]) => void } }>(cmd: C, headers: Record<string, string | undefined>): C {
  const mw = (next: (a: unknown) => Promise<unknown>) => async (args: { request: { headers: Record<string, string> } }) => {
    const h = args.request.headers;
    for (const [k, v] of Object.entries(headers)) {
      for (const existing of Object.keys(h)) if (existing.toLowerCase() === k.toLowerCase()) delete h[existing];
      if (v !== undefined) h[k] = v;
    }
    return next(args);
  };
  (cmd.middlewareStack.add as (m: unknown, o: unknown) => void)(mw, { step: 'build', name: 'testHeaders', priority: 'low' });
  return cmd;
}

/** A client of `d` whose requests carry `body` verbatim (for malformed request documents); checksum headers are dropped. */
export function rawBodyClient(d: TestDaemon, body: string): S3Client {
  const c = d.s3();
  c.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { body?: unknown; headers: Record<string, string> };
      req.body = body;
      req.headers['content-length'] = String(Buffer.byteLength(body));
      for (const h of Object.keys(req.headers)) if (h.startsWith('x-amz-checksum-') || h === 'content-md5' || h === 'x-amz-sdk-checksum-algorithm') delete req.headers[h];
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'rawBody' },
  );
  return c;
}

/** Every key of `bucket` under `prefix`, in listing order (ListObjectsV2, page by page). */
export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    out.push(...(r.Contents ?? []).map((c) => c.Key!));
    token = r.NextContinuationToken;
  } while (token);
  return out;
}
