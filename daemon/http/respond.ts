// Writing responses to uWS: status lines, safe headers, streamed bodies with write
// backpressure (known and unknown length), and dropping the unread rest of a request body.
// server.ts decides what to answer; this file puts it on the wire.

import type { HttpResponse } from 'uWebSockets.js';
import { PARK_MS } from '../ops/data-gate.js';
import type { Result, StreamBody } from '../ops/types.js';
import type { UwsRequestBody } from './body.js';
import type { CorsDecorator } from './cors.js';

/** A request in flight: what the server and the response writers share. */
export interface Pending {
  res: HttpResponse;
  aborted: boolean;
  body: UwsRequestBody | undefined;
  /** Created on first use of the request's signal (most requests never look at it). */
  abortController: AbortController | undefined;
  abortReason: Error | undefined;
  /** Wakes a response writer waiting for the socket to drain (set only while it waits). */
  wakeWriter: (() => void) | undefined;
  /** The handler returned and the response body is streaming. */
  responding: boolean;
  /** The response is complete (uWS forbids touching `res` afterwards). */
  ended: boolean;
  /** Body bytes the socket has taken so far, at least (what a response cut by the client counts). */
  bytesOut: number;
  /** The raw body's Content-Length, 'chunked' (Transfer-Encoding: known only at its end), or undefined. */
  rawLength: number | 'chunked' | undefined;
  /** The client sent `Connection: close`: uWS closes the connection right after the response. */
  connectionClose: boolean;
  /** Set when the request was answered before its body was read: takes the rest, to drop it (drainBody). */
  drain: ((chunk: ArrayBuffer, isLast: boolean) => void) | undefined;
  /** Adds the CORS headers to the response when the request's Origin is allowed (bucket rules or server-wide). */
  cors: CorsDecorator | undefined;
  /** What the request names (its method from the start, the rest once routed): an error about it says which method, bucket, key, version or upload. */
  subject: { method: string; bucket?: string; key?: string; query: URLSearchParams } | undefined;
  /** The request's path as sent (still percent-encoded): an error's Resource, whenever it fails. */
  rawPath: string;
  /** The connection is TLS: a streamed body goes out in TLS_SLICE pieces (see streamBody). */
  tls: boolean;
  /** The client's address (http/client-address.ts) if known or still readable, for the access line. */
  client?: () => string | undefined;
  /** Cut by the server at the shutdown deadline, not by its client (the access line says so). */
  cutAtShutdown?: true;
  /** Refused because object data failed authentication before any byte went out (s3d_tampered_reads_total). */
  tampered?: true;
}

/**
 * A request answered before its body was read (bad signature, missing bucket, unknown upload, …)
 * has the rest of a body of up to this many bytes read and dropped, so the connection stays open
 * and the client reads the answer. Closing instead resets a client that writes its whole body
 * before reading (boto3, urllib3): over TLS that surfaces as an SSL error, not the S3 error. A
 * longer body, or one of unknown length, still closes the connection.
 */
export const DRAIN_MAX_BYTES = 16 * 1024 * 1024;

export function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? 'Status'}`;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 206: 'Partial Content', 303: 'See Other', 304: 'Not Modified', 400: 'Bad Request', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 411: 'Length Required', 412: 'Precondition Failed',
  416: 'Requested Range Not Satisfiable', 500: 'Internal Server Error', 501: 'Not Implemented', 503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

/**
 * Reads and drops what is left of an unread request body (see DRAIN_MAX_BYTES); uWS keeps
 * delivering it to the request's data handler, after the response too, then parses the next
 * request. `then`, when given, runs once: at the body's end (close = false), past the bound or
 * when the client goes away (close = true).
 */
export function drainBody(p: Pending, then: ((close: boolean) => void) | undefined): void {
  let seen = 0;
  const drain = (chunk: ArrayBuffer, isLast: boolean): void => {
    if (then === undefined) return;
    seen += chunk.byteLength;
    if (isLast || seen > DRAIN_MAX_BYTES || p.aborted) {
      const settle = then;
      then = undefined;
      settle(!isLast || p.aborted);
    }
  };
  p.drain = drain;
  // Answered before a body consumer was set up (routing or authentication failed).
  if (p.body === undefined) p.res.onData(drain);
  else {
    p.body.onAbort();
    // The body may hold the socket paused until its handler reads, which it now never will (a
    // handler that failed after an await, e.g. a 507 once statfs answered): the rest must flow.
    p.body.release();
  }
}

export function isStream(body: Result['body']): body is StreamBody {
  return typeof body === 'object' && body !== null && !Buffer.isBuffer(body);
}

/**
 * Tells a body source that nothing will read it (it closes its files). A source that fails as it
 * closes goes to `failed`: dropped, its rejection was unhandled, and the daemon's handler for
 * those (meta/commit-errors.ts) ends the process on any that is not an LMDB commit's.
 */
export function discardBody(body: StreamBody, failed: (err: unknown) => void): void {
  try {
    const it = body.chunks[Symbol.asyncIterator]();
    const closing = it.return?.();
    if (closing !== undefined) void Promise.resolve(closing).catch(failed);
  } catch (err) {
    failed(err);
  }
}

// Header names and values reach the response from clients too (a lifecycle rule ID in
// x-amz-expiration, a CORS rule's ExposeHeader, response-* overrides, Content-Type, the website
// redirect and x-amz-meta-* given as query parameters), and uWS writes them verbatim: a CR or LF
// split the response (header injection), any other control character made Node's HTTP parser,
// the AWS SDK's, refuse the whole response. A name that is not an HTTP token is left out; control
// characters in a value (HTAB aside) go out as spaces. Found by
// prod-hostile-config-handpicked.test.ts.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE_CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
const HEADER_VALUE_CTLS = /[\x00-\x08\x0a-\x1f\x7f]/g;

/** Whether `name` can go out as a header name (an RFC 9110 token). */
export function isHeaderName(name: string): boolean {
  return HEADER_NAME.test(name);
}

/** `latin1`: the value is ISO-8859-1 text, written one byte a character (uWS writes a string as UTF-8). */
export function writeHeaderSafely(res: HttpResponse, name: string, value: string, latin1 = false): void {
  if (!HEADER_NAME.test(name)) return;
  const safe = HEADER_VALUE_CTL.test(value) ? value.replace(HEADER_VALUE_CTLS, ' ') : value;
  res.writeHeader(name, latin1 ? Buffer.from(safe, 'latin1') : safe);
}

/**
 * Writes a streamed body with backpressure. Chunks may be lent (valid only until the next
 * `next()`), so a chunk is finished, from here or from the writable handler, before the next
 * is asked for; uWS copies nothing that `tryEnd` did not take.
 *
 * One writable handler per response, registered the first time the socket is full and never
 * replaced. This uWS build runs a writable handler "borrowed" and puts it back afterwards unless
 * the response ended, even when a new handler was registered meanwhile; and Node drains the
 * microtask queue inside that call, so a loop that resumes there (the next chunk already opened
 * by the crypto pool) and registers a new handler loses it: the old one comes back, finds
 * nothing left of its chunk, and the response stalls. The single handler only continues the
 * chunk the loop is waiting on; with nothing pending it writes nothing.
 *
 * While it waits, the socket is also offered the rest of the chunk every POKE_MS. uWS restarts its
 * 10-second timeout only on a writable event, and the kernel signals one only once half its send
 * buffer is free: a client reading steadily but slowly (under ~400 KB/s with a few MiB buffered
 * on loopback) went more than 10 s between events and was cut mid-body. Offered bytes the socket
 * takes are progress; a client that takes none for STALL_MS is cut, as uWS would have.
 *
 * A response that has waited PARK_MS for the socket, and whose source can be parked (a GET from
 * data files, see ops/data-gate.ts), copies the rest of its chunk and parks: it gives back its
 * place among the requests moving data, and its crypto slots, until the client has taken that rest.
 *
 * Over TLS every `tryEnd` passes at most TLS_SLICE bytes. A write OpenSSL could not finish must be
 * retried with at least the bytes it was given, and uWS reports none of them written until it
 * finishes. A corked write longer than uWS's 16 KiB cork buffer is split by uWS (the first part
 * through the cork buffer, as its own SSL_write): a poke retrying a 1 MiB write that way was
 * refused by OpenSSL on every later attempt, and a slow reader over TLS was cut after 14 s with
 * the socket empty. With writes of at most 16 KiB a retry, corked or not, repeats the pending one,
 * and the write offset moves every 16 KiB, so a slow reader's progress is seen.
 */
/** How often a response waiting for a full socket offers it the rest of its chunk. */
const POKE_MS = 2_000;
/** A response whose client takes no byte for this long is cut (uWS's own idle timeout). */
const STALL_MS = 10_000;
/** The most a TLS response passes to one `tryEnd`: uWS's cork buffer (LoopData::CORK_BUFFER_SIZE). */
const TLS_SLICE = 16 * 1024;

export async function streamBody(p: Pending, body: StreamBody, writeHead: () => void): Promise<number> {
  if (body.length === undefined) return streamOpenEnded(p, body.chunks, writeHead);
  const res = p.res;
  const total = body.length;
  let first = true;
  let sent = 0;
  // The chunk being written, and the response's write offset where it starts.
  let chunk: Buffer | undefined;
  let start = 0;
  let ok = false;
  let finished = false;
  // Set only while the loop waits for `chunk` to be taken by the writable handler.
  let wake: (() => void) | undefined;
  let handlerOn = false;
  const slice = p.tls ? TLS_SLICE : Infinity;
  /** Offers the socket `chunk` from the write offset `offset` on; false when it took not all of it. */
  const push = (offset: number): boolean => {
    p.bytesOut = offset;
    for (;;) {
      const from = offset - start;
      const to = Math.min(chunk!.length, from + slice);
      [ok, finished] = res.tryEnd(from === 0 && to === chunk!.length ? chunk! : chunk!.subarray(from, to), total);
      // What the socket took counts as sent, should the client leave before the rest: a download
      // cut in its first chunk, or before the next chunk was read, counted 0 bytes sent.
      if (!ok && !finished) {
        p.bytesOut = res.getWriteOffset();
        return false;
      }
      offset = start + to;
      p.bytesOut = offset;
      if (finished || to === chunk!.length) return true;
    }
  };
  const write = (): void => {
    if (first) {
      writeHead();
      first = false;
    }
    start = res.getWriteOffset();
    push(start);
  };
  const onWritable = (offset: number): boolean => {
    // Writing nothing is success: no chunk is waiting (the loop is between chunks or done).
    if (wake === undefined || chunk === undefined || p.aborted) return true;
    if (!push(offset)) return false;
    const w = wake;
    wake = undefined;
    p.wakeWriter = undefined;
    w();
    return true;
  };
  // Progress while waiting: the write offset, and when it last moved.
  let progressAt = 0;
  let progressOffset = 0;
  let poke: NodeJS.Timeout | undefined;
  const offer = (): void => {
    if (wake === undefined || chunk === undefined || p.aborted || p.ended) return;
    const offset = res.getWriteOffset();
    if (offset > progressOffset) {
      progressOffset = offset;
      progressAt = performance.now();
    } else if (performance.now() - progressAt >= STALL_MS) {
      // The client took nothing for STALL_MS: cut it, as uWS's own timeout would have.
      res.close();
      return;
    }
    res.cork(() => onWritable(offset));
  };
  let parkTimer: NodeJS.Timeout | undefined;
  const park = (): void => {
    if (wake === undefined || chunk === undefined || p.aborted || p.ended) return;
    body.park!(() => {
      // The lent chunk is given back: keep (a copy of) what the socket has not taken.
      const offset = res.getWriteOffset();
      chunk = Buffer.from(chunk!.subarray(offset - start));
      start = offset;
    });
  };
  const waitForSocket = (resolve: () => void): void => {
    wake = resolve;
    p.wakeWriter = resolve;
    progressAt = performance.now();
    progressOffset = res.getWriteOffset();
    if (poke === undefined) {
      poke = setInterval(offer, POKE_MS);
      poke.unref();
    }
    if (body.park !== undefined) {
      parkTimer = setTimeout(park, PARK_MS);
      parkTimer.unref();
    }
  };
  const iterator = body.chunks[Symbol.asyncIterator]();
  try {
    if (total === 0) {
      res.cork(() => {
        writeHead();
        res.end();
      });
      return 0;
    }
    for (;;) {
      const next = await iterator.next();
      if (p.aborted) throw new Error('client disconnected');
      if (next.done) break;
      const c = next.value;
      if (c.length === 0) continue;
      if (first && c.length === total) {
        // The whole body in one chunk (objects up to 1 MiB): one end(), as a plain server would;
        // uWS copies what the socket does not take at once and drains it itself (no writable
        // handler is registered on this response).
        res.cork(() => {
          writeHead();
          res.end(c);
        });
        return total;
      }
      chunk = c;
      res.cork(write);
      sent += c.length;
      if (!ok && !finished) {
        if (!handlerOn) {
          handlerOn = true;
          res.onWritable(onWritable);
        }
        await new Promise<void>(waitForSocket);
        clearTimeout(parkTimer);
        wake = undefined;
        if (p.aborted) throw new Error('client disconnected');
      }
      chunk = undefined;
      if (finished) break;
    }
    if (sent !== total) throw new Error(`response body produced ${sent} bytes, promised ${total}`);
    return sent;
  } finally {
    if (poke !== undefined) clearInterval(poke);
    clearTimeout(parkTimer);
    // The handler stays registered until the response ends: it must never see a lent chunk again.
    chunk = undefined;
    wake = undefined;
    p.wakeWriter = undefined;
    // Always: a source that finished its last chunk may still hold files until told it is done.
    await iterator.return?.();
  }
}

/**
 * A body of unknown length (event streams), sent chunked with `write`: each chunk goes out as
 * it comes; when the socket is full (uWS keeps the rest), the next chunk waits for it to drain.
 * Ends when the source ends; the source is told (`return`) when the client goes away.
 */
async function streamOpenEnded(p: Pending, chunks: AsyncIterable<Buffer>, writeHead: () => void): Promise<number> {
  const res = p.res;
  let sent = 0;
  let headOut = false;
  let wake: (() => void) | undefined;
  let handlerOn = false;
  const onWritable = (): boolean => {
    const w = wake;
    wake = undefined;
    p.wakeWriter = undefined;
    w?.();
    return true;
  };
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      // The client going away is how a listener ends: not a failure (no warning logged).
      if (p.aborted) return sent;
      if (next.done) break;
      const c = next.value;
      if (c.length === 0) continue;
      let ok = true;
      res.cork(() => {
        if (!headOut) writeHead();
        headOut = true;
        ok = res.write(c);
      });
      sent += c.length;
      p.bytesOut = sent;
      if (!ok) {
        if (!handlerOn) {
          handlerOn = true;
          res.onWritable(onWritable);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          p.wakeWriter = resolve;
        });
        if (p.aborted) return sent;
      }
    }
    res.cork(() => {
      if (!headOut) writeHead();
      res.end();
    });
    return sent;
  } finally {
    wake = undefined;
    p.wakeWriter = undefined;
    await iterator.return?.();
  }
}

/**
 * The elements S3 adds to an error about a named thing (NoSuchKey's Key, NoSuchBucket's
 * BucketName, …), from what the request named; an error that names something else (a copy's
 * source) carries its own fields, which win.
 */
export function subjectFields(code: string, subject: Pending['subject']): Record<string, string> {
  if (subject === undefined) return {};
  const { bucket, key, query } = subject;
  switch (code) {
    case 'NoSuchKey':
      return key === undefined ? {} : { Key: key };
    case 'NoSuchVersion': {
      const versionId = query.get('versionId');
      return key === undefined ? {} : { Key: key, ...(versionId === null ? {} : { VersionId: versionId }) };
    }
    case 'NoSuchUpload': {
      const uploadId = query.get('uploadId');
      return uploadId === null ? {} : { UploadId: uploadId };
    }
    case 'NoSuchBucket':
    case 'BucketNotEmpty':
    case 'BucketAlreadyOwnedByYou':
    case 'BucketAlreadyExists':
    // A bucket's missing configuration names the bucket, as S3 does.
    case 'NoSuchBucketPolicy':
    case 'NoSuchCORSConfiguration':
    case 'NoSuchLifecycleConfiguration':
    case 'NoSuchPublicAccessBlockConfiguration':
    case 'NoSuchWebsiteConfiguration':
    case 'ObjectLockConfigurationNotFoundError':
    case 'OwnershipControlsNotFoundError':
    case 'ReplicationConfigurationNotFoundError':
    case 'ServerSideEncryptionConfigurationNotFoundError':
      return bucket === undefined ? {} : { BucketName: bucket };
    case 'MethodNotAllowed':
      // A request for a delete marker names its method, as S3 does (ops/object.ts getRecord).
      return { Method: subject.method };
    case 'NoSuchTagSet':
      // Only a bucket's tag set can be missing (an object's is empty).
      return bucket === undefined || key !== undefined ? {} : { BucketName: bucket };
    default:
      return {};
  }
}
