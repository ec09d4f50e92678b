// A request's headers as server.ts copies them out of uWS, in its handler (uWS's request object is
// gone once it returns), and what they say before anything else is done with the request: a body
// framed two ways is refused with the connection closed (possible request smuggling); a header
// section past S3's bound, or a header name HTTP does not allow, is answered with an S3 error once
// the request is routed (headError); a name the parser's lower-casing made ambiguous is spelled as
// the request's SigV4 signature names it (respellSigned); and the query string every component
// reads (requestQuery).

import { S3Error } from '../errors.js';
import { headerName } from './uws.js';

/** Headers a request may carry once: two of them let two HTTP parsers frame or route it differently. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'host']);

/**
 * The bytes the patched parser (uws.ts) hands over in a name that HTTP does not allow there:
 * `"(),/{}`, `[` and `]` arriving as `{` and `}`.
 */
const NOT_TOKEN = /["(),/{}]/;
/** Those, the bytes the parser's `| 0x20` made of two: `~` (`^`, `~`), `|` (`\`, `|`), `` ` `` (`@`, `` ` ``), and any character past ASCII. */
const UNUSUAL = /["(),/{}~|`\u0080-\uffff]/;
/**
 * A name holding a byte above 0x7f, which HTTP does not allow (`curl -H 'x-amz-meta-café: 1'` sends
 * one; boto3 and Node's HTTP client refuse such names before sending): the parser takes it,
 * mangled by its `| 0x20` (uws.ts), and it is handed over decoded as UTF-8, never as ASCII. Such a
 * name cannot be known: refused.
 */
const NOT_ASCII = /[^\x00-\x7f]/;
/** A signed name's bytes that the parser hands over as others: `^`, `\`, `@`. */
const SPELLED_OTHERWISE = /[\^\\@]/;
const AS_HANDED_OVER: Readonly<Record<string, string>> = { '^': '~', '\\': '|', '@': '`' };

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
  /** The first header name HTTP does not allow that the parser takes (uws.ts): NOT_TOKEN, or signed with `\` or `@`. */
  badName: string | undefined;
  /** The first name holding a byte above 0x7f, as handed over (its bytes past ASCII mangled): NOT_ASCII. */
  nonAsciiName: string | undefined;
  /** Signed names the parser hands over as one (`a^b` and `a~b`, both sent): see respellSigned. */
  nameClash: string[] | undefined;
}

/**
 * The request's query string as every component reads it: the router and the policy (through
 * URLSearchParams), both signature readers (V2's canonical resource, V4's canonical query),
 * presigned-URL and session-token detection. uWS hands the query over from the first '?', so
 * `/b/k??tagging` comes as `?tagging`, and URLSearchParams drops one '?' that starts its input
 * while a reader that splits on '&' keeps it: read both ways, the router took `??tagging` for
 * GetObjectTagging while V2 signed no sub-resource (a download URL read the tags), and took
 * `??X-Amz-Signature=x` for a presigned URL while V4 saw none (s3:authType judged an unsigned
 * request presigned). Every '?' that starts it is dropped here, once, so no reader meets one:
 * the readers have no reading of their own to disagree on, and `???x` is not `?x` to one and `x`
 * to another. S3 and MinIO (Go's url.ParseQuery) read `??tagging` as a parameter named
 * `?tagging` instead, and an AWS signer signs `%3Ftagging=`: s3d refuses such a signature
 * (SignatureDoesNotMatch) rather than route by a name the signer did not sign. No SDK sends `??`.
 */
export function requestQuery(rawQuery: string): string {
  let start = 0;
  while (rawQuery.charCodeAt(start) === 0x3f) start++;
  return start === 0 ? rawQuery : rawQuery.slice(start);
}

/**
 * Copies a request's headers out of `req` and judges its framing. `rawQuery` is read only when a
 * name holds `~`, `|` or `` ` `` (a presigned URL's X-Amz-SignedHeaders, see respellSigned).
 */
export function readHead(req: HeaderSource, rawQuery = ''): RequestHead {
  // No prototype: a header named `__proto__` is kept (an assignment on a plain object dropped it)
  // and a look-up of `constructor` finds nothing.
  const headers = Object.create(null) as Record<string, string>;
  let repeated: string | undefined;
  let sectionChars = 0;
  let badName: string | undefined;
  let nonAsciiName: string | undefined;
  let ambiguous = false;
  req.forEach((k, v) => {
    sectionChars += k.length + v.length + 4;
    k = headerName(k);
    if (UNUSUAL.test(k)) {
      if (NOT_ASCII.test(k)) nonAsciiName ??= k;
      else if (NOT_TOKEN.test(k)) badName ??= k;
      else ambiguous = true;
    }
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
  let nameClash: string[] | undefined;
  if (ambiguous) {
    const found = respellSigned(headers, rawQuery);
    badName ??= found.bad;
    nameClash = found.clash;
  }
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
  const head: RequestHead = { headers, rawLength, sectionChars, badName, nonAsciiName, nameClash };
  if (repeated !== undefined || invalidLength || invalidCoding) {
    const why = invalidLength ? 'a request framed by a Content-Length that is no number' : invalidCoding ? 'a request framed by a Transfer-Encoding other than chunked' : 'a request repeated a header that frames it';
    head.smuggling = { header: repeated ?? (invalidCoding ? 'transfer-encoding' : 'content-length'), why };
  }
  return head;
}

/**
 * The parser hands `^`, `\` and `@` in a name over as `~`, `|` and `` ` `` (uws.ts). A SigV4
 * signature names every header it signs as the client sent it (the Authorization header's
 * `SignedHeaders=`, a presigned URL's `X-Amz-SignedHeaders`): a received name that is a signed
 * name with those bytes put for its `^`, `\` and `@` is that header, and is renamed to it (in its
 * place among the headers) before the signature is checked and metadata stored. A signed name
 * holding `\` or `@`, no token characters, is refused instead (`bad`), as names with `/` are. A
 * received name that several signed names are (`a^b` and `a~b`, both sent: their lines were
 * joined, which value was whose is lost) is refused too (`clash`), rather than left to fail the
 * signature check as if the key were wrong. Names no signature lists (anonymous requests,
 * Signature V2, which lists none) stay as they arrived. Runs only when a name holds `~`, `|` or
 * `` ` ``.
 */
function respellSigned(headers: Record<string, string>, rawQuery: string): { bad?: string; clash?: string[] } {
  const listed = headers.authorization !== undefined ? /SignedHeaders=([^,\s]*)/.exec(headers.authorization)?.[1] : rawQuery.includes('X-Amz-SignedHeaders=') ? new URLSearchParams(rawQuery).get('X-Amz-SignedHeaders') : undefined;
  if (listed === undefined || listed === null) return {};
  const signed = listed.split(';');
  // Received name → the signed names it is.
  const spelled = new Map<string, string[]>();
  for (const name of signed) {
    if (!SPELLED_OTHERWISE.test(name)) continue;
    const received = name.replace(/[\^\\@]/g, (c) => AS_HANDED_OVER[c]!);
    if (headers[received] === undefined) continue;
    const names = spelled.get(received);
    if (names === undefined) spelled.set(received, signed.includes(received) ? [received, name] : [name]);
    else names.push(name);
  }
  const found: { bad?: string; clash?: string[] } = {};
  const renames = new Map<string, string>();
  for (const [received, names] of spelled) {
    const name = names[0]!;
    if (names.length > 1) found.clash ??= names;
    else if (name.includes('\\') || name.includes('@')) found.bad ??= name;
    else renames.set(received, name);
  }
  if (renames.size > 0) {
    // Rebuilt in order: metadata is stored, and given back, in the order it was sent.
    const entries = Object.entries(headers);
    for (const [k] of entries) delete headers[k];
    for (const [k, v] of entries) headers[renames.get(k) ?? k] = v;
  }
  return found;
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
  // The parser takes bytes above 0x7f in a header name (uws.ts), mangled: the name is not known,
  // only its ASCII start (lower-cased, as every name is handed over) is told.
  if (head.nonAsciiName !== undefined) {
    const start = head.nonAsciiName.slice(0, head.nonAsciiName.search(NOT_ASCII));
    return new S3Error('InvalidArgument', `A header name holds a byte outside printable ASCII${start === '' ? '' : ` (the name begins ${JSON.stringify(start)})`}: a header name, a user metadata name among them, must be ASCII.`);
  }
  // The parser takes `"(),/{}` in a header name (uws.ts), which HTTP does not allow; and `\` and `@`,
  // handed over as `|` and `` ` ``, which a signature can tell (respellSigned).
  if (head.badName !== undefined) return new S3Error('InvalidArgument', `The header name ${JSON.stringify(head.badName)} is not a valid HTTP field name.`);
  if (head.nameClash !== undefined) {
    const names = head.nameClash.map((n) => JSON.stringify(n)).join(' and ');
    return new S3Error('InvalidArgument', `The header names ${names} cannot both be sent to this server: its HTTP parser reads ^ as ~, \\ as | and @ as \`.`);
  }
  return undefined;
}

/** The header section's size in bytes as sent (UTF-8), repeated headers joined as they arrived. */
function headerSectionBytes(headers: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
  return n;
}
