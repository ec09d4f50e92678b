// What an operation handler receives and returns. The HTTP adapter builds the context and
// writes the result; handlers never touch uWS.

import type { Operation } from '../http/router.js';

/** A request body: decoded payload bytes (aws-chunked framing removed, signatures and checksums
 *  verified as they stream). Iterating pulls from the socket; not iterating leaves it paused. */
export interface RequestBody extends AsyncIterable<Buffer> {
  /** Decoded length the client declared (Content-Length or x-amz-decoded-content-length). */
  readonly declaredLength: number | undefined;
  /** Checksums verified for this body (algorithm → base64), known once the body ended. */
  verifiedChecksums(): Record<string, string>;
  /** Whether every byte is checked against a digest the client sent or signed (auth/payload.ts PayloadDecoder.digested). */
  readonly digested: boolean;
  /**
   * The algorithm of the checksum in verifiedChecksums() that is S3's default, computed because the
   * client sent none (auth/payload.ts PayloadDecoder.defaultChecksum; PutObject, UploadPart).
   */
  readonly defaultChecksum?: string;
  /** Reads the whole body into memory: only for small XML bodies (bounded by `limit`). */
  readAll(limit: number): Promise<Buffer>;
}

export interface RequestContext {
  readonly requestId: string;
  /** The x-amz-id-2 the response carries (which server answered); events name it too. */
  readonly hostId?: string;
  readonly op: Operation;
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  readonly method: string;
  readonly rawPath: string;
  readonly query: URLSearchParams;
  /**
   * The query as sent (requestQuery: still percent-encoded, no '?'), which a signature checked in
   * a handler (STS's) must be read from: `query` re-encoded is not the bytes the client signed.
   */
  readonly rawQuery: string;
  /** Lower-case header names; duplicates joined with ','. */
  readonly headers: Readonly<Record<string, string>>;
  readonly secure: boolean;
  readonly body: RequestBody;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  readonly accessKey: string;
  /** The client's IP address (read from the socket only when asked: event notifications). */
  readonly remoteAddress?: string;
}

export interface StreamBody {
  /** Undefined: not known in advance (an endless event stream), sent with chunked encoding. */
  readonly length: number | undefined;
  readonly chunks: AsyncIterable<Buffer>;
  /**
   * Lets a response whose client is slow give back its data-gate place while it waits on the
   * socket (ops/data-gate.ts, parkable()): `before` copies what the writer still needs of the
   * current chunk. False: not parked.
   */
  readonly park?: (before: () => void) => boolean;
}

export interface Result {
  status: number;
  headers?: Record<string, string>;
  /**
   * Headers whose values are ISO-8859-1 text, sent one byte a character (GET's response-*
   * overrides, as S3 sends them); the others go out as UTF-8, as their bytes arrived.
   */
  latin1Headers?: readonly string[];
  body?: Buffer | string | StreamBody;
  /** For HEAD: the Content-Length to report without sending a body. */
  headLength?: number;
  /** Filled by handlers for the access log. */
  bytesIn?: number;
  /** An error answer's code and message (http/error-answer.ts): a HEAD, which has no body, sends them as headers. */
  error?: { code: string; message: string };
}

export type Handler = (ctx: RequestContext) => Promise<Result>;
