// A request's headers as server.ts copies them out of uWS, in its handler (uWS's request object is
// gone once it returns), and what they say before anything else is done with the request: a body
// framed two ways is refused with the connection closed (possible request smuggling); a header
// section past S3's bound, or a header name HTTP does not allow, is answered with an S3 error once
// the request is routed (headError).

import { S3Error } from '../errors.js';
import { headerName } from './uws.js';

/** Headers a request may carry once: two of them let two HTTP parsers frame or route it differently. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'host']);

/** S3's bound on a request's header section (names, values, `: ` and CRLF). */
const MAX_HEADER_SECTION_BYTES = 8192;

/** What the headers are read from: uWS's HttpRequest, in its handler. */
export interface HeaderSource {
  forEach(cb: (key: string, value: string) => void): void;
}

export interface RequestHead {
  /** Names as uws.ts spells them (headerName), repeated lines joined with `,`; no prototype. */
  headers: Record<string, string>;
  /** Set when two HTTP parsers could frame the body differently: the header, and why (logged). */
  smuggling?: { header: string; why: string };
  /** The body's length: Content-Length, `chunked`, or undefined without either. */
  rawLength: number | 'chunked' | undefined;
  /** The header section's length in UTF-16 units as read (names, values, `: ` and CRLF). */
  sectionChars: number;
  /** The first header name with a `/`, which the parser takes (uws.ts) and HTTP does not allow. */
  badName: string | undefined;
}

/** Copies a request's headers out of `req` and judges its framing. */
export function readHead(req: HeaderSource): RequestHead {
  // No prototype: a header named `__proto__` is kept (an assignment on a plain object dropped it)
  // and a look-up of `constructor` finds nothing.
  const headers = Object.create(null) as Record<string, string>;
  let repeated: string | undefined;
  let sectionChars = 0;
  let badName: string | undefined;
  req.forEach((k, v) => {
    sectionChars += k.length + v.length + 4;
    k = headerName(k);
    if (k.includes('/')) badName ??= k;
    // A Content-Length line listing values (`5, 5`) is refused below like two different values.
    if (k === 'content-length' && v.includes(',')) repeated = k;
    if (headers[k] === undefined) headers[k] = v;
    else {
      // Content-Length lines that repeat one value are that value (RFC 9110 8.6): every parser
      // frames the body alike. rclone's presigned uploads send it twice.
      if (k === 'content-length' && v === headers[k]) return;
      if (FRAMING_HEADERS.has(k)) repeated = k;
      headers[k] = `${headers[k]},${v}`;
    }
  });
  // An empty Authorization header (what a proxy that blanks it leaves) is no credential: S3
  // treats the request as anonymous (403 AccessDenied, or what a bucket policy grants, and a
  // presigned URL's query signs it), not as an unknown scheme (400 "Unsupported Authorization
  // Type").
  if (headers.authorization !== undefined && headers.authorization.trim() === '') delete headers.authorization;
  // A Content-Length that is no number (uWS takes an empty one as 0 and parses the body after it
  // as the next request) is refused as a repeated one is.
  const invalidLength = repeated === undefined && headers['content-length'] !== undefined && !/^\d+$/.test(headers['content-length']);
  // uWS decodes any Transfer-Encoding as chunked (`identity`, `gzip`, `xchunked`); a proxy in
  // front that reads such a value otherwise frames the body differently (RFC 9112 6.1: a final
  // coding that is not chunked is refused, the connection closed).
  const te = headers['transfer-encoding'];
  const invalidCoding = repeated === undefined && te !== undefined && te.trim().toLowerCase() !== 'chunked';
  const contentLength = headers['content-length'];
  const rawLength = te !== undefined ? 'chunked' : contentLength !== undefined && /^\d+$/.test(contentLength) ? Number(contentLength) : undefined;
  const head: RequestHead = { headers, rawLength, sectionChars, badName };
  if (repeated !== undefined || invalidLength || invalidCoding) {
    const why = invalidLength ? 'a request framed by a Content-Length that is no number' : invalidCoding ? 'a request framed by a Transfer-Encoding other than chunked' : 'a request repeated a header that frames it';
    head.smuggling = { header: repeated ?? (invalidCoding ? 'transfer-encoding' : 'content-length'), why };
  }
  return head;
}

/** The error a routed request is answered with for its header section; undefined when there is none. */
export function headError(head: RequestHead): S3Error | undefined {
  // S3's bound on the header section. Beyond it an object could be stored with headers (say a
  // 20 KB Content-Disposition) that clients cannot read back: Node's HTTP client stops at
  // 16 KiB of response headers, botocore at 64 KiB per line.
  // Counted in characters while reading (cheap); a UTF-8 character is at most 3 bytes per
  // UTF-16 unit, so only a section past a third of the bound is counted again in bytes.
  if (head.sectionChars > MAX_HEADER_SECTION_BYTES / 3 && headerSectionBytes(head.headers) > MAX_HEADER_SECTION_BYTES) {
    return new S3Error('RequestHeaderSectionTooLarge', undefined, { fields: { MaxSizeAllowed: String(MAX_HEADER_SECTION_BYTES) } });
  }
  // The parser takes `/` in a header name (uws.ts), which HTTP does not allow.
  if (head.badName !== undefined) return new S3Error('InvalidArgument', `The header name ${JSON.stringify(head.badName)} is not a valid HTTP field name.`);
  return undefined;
}

/** The header section's size in bytes as sent (UTF-8), repeated headers joined as they arrived. */
function headerSectionBytes(headers: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
  return n;
}
