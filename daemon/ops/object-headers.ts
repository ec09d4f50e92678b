// Object representation headers: what PUT stores (Content-Type and friends, x-amz-meta-*),
// what GET/HEAD return (with response-* overrides), Range parsing and conditional requests.

import { S3Error } from '../errors.js';
import { isHeaderName } from '../http/respond.js';
import type { ObjectRecord } from '../meta/records.js';
import { httpDate, parseDateText } from '../dates.js';
import { utf8Text } from '../utf8.js';

const STORED_HEADERS = ['content-type', 'content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires', 'x-amz-website-redirect-location'] as const;
const MAX_USER_META_BYTES = 2048;

/** Headers the request carries as headers, or (presigned URLs hoist them) as query params. */
function requestHeader(headers: Readonly<Record<string, string>>, query: URLSearchParams, name: string): string | undefined {
  return headers[name] ?? query.get(name) ?? undefined;
}

/** Canned ACLs that grant nothing beyond the owner: what a bucket with ACLs disabled accepts. */
export const OWNER_ONLY_ACLS: ReadonlySet<string> = new Set(['private', 'bucket-owner-full-control']);
/** S3's canned ACL names. */
const CANNED_ACLS: ReadonlySet<string> = new Set(['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control', 'log-delivery-write']);

/**
 * Refuses an x-amz-acl that names no canned ACL (`privat`, `public`): S3's 400 InvalidArgument
 * naming the header, before it asks whether the bucket takes ACLs (a typo is not a grant refused).
 */
export function checkCannedAcl(acl: string | undefined): void {
  if (acl !== undefined && !CANNED_ACLS.has(acl)) {
    throw new S3Error('InvalidArgument', `${JSON.stringify(acl)} is not a canned ACL.`, { fields: { ArgumentName: 'x-amz-acl', ArgumentValue: acl } });
  }
}

/** Whether a header, or an x-amz-* query parameter standing for one, starts with `prefix` (lower-case). */
function hasRequestHeaderPrefix(headers: Readonly<Record<string, string>>, query: URLSearchParams, prefix: string): boolean {
  return Object.keys(headers).some((h) => h.startsWith(prefix)) || [...query.keys()].some((k) => k.toLowerCase().startsWith(prefix));
}

/**
 * Refuses write options s3d would not honour, before any data is read, rather than storing the
 * object without them: a storage class other than STANDARD and ACLs granting access to others
 * (s3d has ACLs disabled, as S3's default BucketOwnerEnforced buckets do; bucket policies grant
 * public access). PutObject, CreateMultipartUpload, CopyObject and POST uploads all check.
 */
export function checkWriteOptions(headers: Readonly<Record<string, string>>, query: URLSearchParams): void {
  const storageClass = requestHeader(headers, query, 'x-amz-storage-class');
  if (storageClass !== undefined && storageClass !== 'STANDARD') {
    throw new S3Error('InvalidStorageClass', 'The storage class you specified is not valid (s3d has one, STANDARD)', { fields: { StorageClassRequested: storageClass } });
  }
  // An empty x-amz-acl (`--acl ''`) grants nothing: S3 ignores it, as if it were absent.
  const acl = requestHeader(headers, query, 'x-amz-acl') || undefined;
  checkCannedAcl(acl);
  const grants = hasRequestHeaderPrefix(headers, query, 'x-amz-grant-');
  if ((acl !== undefined && !OWNER_ONLY_ACLS.has(acl)) || grants) {
    throw new S3Error('AccessControlListNotSupported', 'The bucket does not allow ACLs: s3d has ACLs disabled (as S3 buckets with BucketOwnerEnforced); grant access with a bucket policy.');
  }
  const redirect = requestHeader(headers, query, 'x-amz-website-redirect-location');
  if (redirect !== undefined && (!/^(\/|https?:\/\/)/.test(redirect) || Buffer.byteLength(redirect) > 2048)) {
    throw new S3Error('InvalidRedirectLocation');
  }
  // An append (a directory-bucket feature) was run as an overwrite of the whole object.
  if (requestHeader(headers, query, 'x-amz-write-offset-bytes') !== undefined) {
    throw new S3Error('NotImplemented', 'Appends (x-amz-write-offset-bytes) are not implemented: s3d objects are written whole.');
  }
  // Event holds were dropped: the version could be deleted at once.
  if (hasRequestHeaderPrefix(headers, query, 'x-amz-object-lock-event-hold')) {
    throw new S3Error('NotImplemented', 'Object Lock event holds (x-amz-object-lock-event-hold) are not implemented; use a legal hold or a retention period.');
  }
}

export function collectStoredHeaders(headers: Readonly<Record<string, string>>, query: URLSearchParams): Record<string, string> {
  checkWriteOptions(headers, query);
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = requestHeader(headers, query, name);
    if (v !== undefined) out[name] = v;
  }
  // aws-chunked is transport framing of a STREAMING-* upload, not a property of the object. On any
  // other request S3 keeps it as sent (OpenStack Swift's AWS-run tests: a PUT signed by its SHA-256
  // with Content-Encoding aws-chunked reads back with it; versity/versitygw#2400, checked on S3).
  const streaming = (requestHeader(headers, query, 'x-amz-content-sha256') ?? query.get('X-Amz-Content-Sha256'))?.startsWith('STREAMING-') === true;
  if (out['content-encoding'] !== undefined && streaming) {
    // Kept as sent when it names no aws-chunked; the others joined as S3 joins them (`foo,
    // aws-chunked, bar` is stored as `foo, bar`: Swift's AWS-checked tests).
    const all = out['content-encoding'].split(',').map((c) => c.trim());
    const codings = all.filter((c) => c !== '' && c.toLowerCase() !== 'aws-chunked');
    if (codings.length === 0) delete out['content-encoding'];
    else if (codings.length !== all.length) out['content-encoding'] = codings.join(', ');
  }
  // No type, S3's default. An empty one (the SDK's ContentType '', a browser's File.type for an
  // unknown extension sent as the header, fog's String bodies) is no media type either: stored
  // empty it went out as `Content-Type:` with no value, which browsers sniff. A form's empty
  // Content-Type field is the default on S3 (ops/post-object.ts); PUT, copies and uploads alike.
  if (out['content-type'] === undefined || out['content-type'].trim() === '') out['content-type'] = 'binary/octet-stream';
  return out;
}

/**
 * The request's x-amz-meta-* entries, from headers and (presigned URLs, POST form fields) query
 * parameters, their values' encoded words decoded (decodeEncodedWords). A name that cannot go out
 * as a header name (a space, non-ASCII: possible only in a query parameter or a form field) is
 * refused: GET could never return it.
 */
export function collectUserMeta(headers: Readonly<Record<string, string>>, query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  const add = (name: string, sent: string, asSent: string): void => {
    if (!isHeaderName(name)) {
      throw new S3Error('InvalidArgument', "A metadata name (x-amz-meta-*) must be a valid HTTP header name: letters, digits and !#$%&'*+-.^_`|~ only.", {
        fields: { ArgumentName: 'x-amz-meta-*', ArgumentValue: asSent },
      });
    }
    const value = decodeEncodedWords(sent);
    out[name] = value;
    bytes += name.length - 11 + Buffer.byteLength(value);
  };
  for (const [k, v] of Object.entries(headers)) if (k.startsWith('x-amz-meta-')) add(k, v, k);
  for (const [k, v] of query) {
    const lk = k.toLowerCase();
    if (lk.startsWith('x-amz-meta-') && out[lk] === undefined) add(lk, v, k);
  }
  if (bytes > MAX_USER_META_BYTES) throw new S3Error('MetadataTooLarge');
  return out;
}

const OVERRIDES: Array<[string, string]> = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];

/** The response-* query parameters (GET and HEAD of signed requests only). */
export const OVERRIDE_PARAMS: readonly string[] = OVERRIDES.map(([param]) => param);

/**
 * The headers response-* overrides set with characters past ASCII, to be written in ISO-8859-1
 * (Result.latin1Headers). S3 sends a response-* value as ISO-8859-1 text, and refuses one it
 * cannot write so (an en dash or an emoji in a filename) with 400 InvalidArgument: sent as UTF-8
 * instead, `café` read back as `cafÃ©` in the SDKs (Node's and Python's HTTP clients read header
 * bytes as Latin-1).
 */
export function latin1Overrides(query: URLSearchParams): string[] {
  const out: string[] = [];
  for (const [param, header] of OVERRIDES) {
    const v = query.get(param);
    if (v === null || !/[^\x00-\x7f]/.test(v)) continue;
    if (/[^\x00-\xff]/.test(v)) {
      throw new S3Error('InvalidArgument', 'Header value cannot be represented using ISO-8859-1.', { fields: { ArgumentName: param, ArgumentValue: v } });
    }
    out.push(header);
  }
  return out;
}

/**
 * Whether a GET or HEAD asked for the object's checksums (`x-amz-checksum-mode: ENABLED`). Another
 * value is 400 InvalidRequest, as S3 answers it (OpenStack Swift's
 * test_full_content_with_checksum_checksum_mode_invalid, run against AWS).
 */
export function checksumModeEnabled(headers: Readonly<Record<string, string>>): boolean {
  const mode = headers['x-amz-checksum-mode']?.trim().toUpperCase();
  if (mode !== undefined && mode !== '' && mode !== 'ENABLED') throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-mode header is invalid.');
  return mode === 'ENABLED';
}

export function quoteETag(etag: string): string {
  return `"${etag}"`;
}

/**
 * RFC 2047 encoded words (`=?charset?B|Q?text?=`), as section 6 reads them: one that cannot be decoded is left as
 * written; white space between two adjacent ones is not text. The encoding may be in either case;
 * the charset may carry an RFC 2231 language (`UTF-8*en`).
 */
const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;

/**
 * A user metadata value as S3 stores it: its RFC 2047 encoded words decoded ("Values of such
 * headers are character decoded as per RFC 2047 before storing and encoded as per RFC 2047 to
 * make them mail-safe before returning", S3 User Guide, Working with object metadata; LocalStack
 * models it on AWS's answers, localstack#13663). A client that sends non-ASCII text the one way
 * a header carries it, encoded, stores the text, not its encoding: a value that decodes to ASCII
 * reads back plain, one Q-encoded reads back as mailSafe writes it, and the 2 KB limit counts
 * the text (which an encoding lengthens by a third or more). Charsets are those Go's mime.WordDecoder knows without help (UTF-8, US-ASCII,
 * ISO-8859-1); a word in another, or malformed, is kept as it was sent. Not libmime's decodeWords:
 * it decodes `=?UTF-8?B?!!!?=` to nothing and bytes that are not UTF-8 to U+FFFD, so a value
 * would be stored changed, silently (tried 2026-12-07).
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes('=?')) return value;
  let out = '';
  let last = 0;
  for (const m of value.matchAll(ENCODED_WORD)) {
    const text = decodeWord(m[1]!, m[2]!, m[3]!);
    if (text === undefined) continue;
    const between = value.slice(last, m.index);
    // After a decoded word, blanks alone before the next are the words' separator, not text.
    if (!(last > 0 && /^[ \t]+$/.test(between))) out += between;
    out += text;
    last = m.index + m[0].length;
  }
  return last === 0 ? value : out + value.slice(last);
}

function decodeWord(charset: string, encoding: string, text: string): string | undefined {
  let bytes: Buffer;
  if (encoding === 'B' || encoding === 'b') {
    if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
    bytes = Buffer.from(text, 'base64');
  } else {
    // Q: printable ASCII, `_` for a space, `=XX` for any byte.
    if (!/^[\x21-\x7e]*$/.test(text) || /=(?![0-9A-Fa-f]{2})/.test(text)) return undefined;
    bytes = Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  }
  switch (charset.toLowerCase()) {
    case 'utf-8':
    case 'utf8':
      return utf8Text(bytes);
    case 'us-ascii':
      return bytes.every((b) => b < 0x80) ? bytes.toString('latin1') : undefined;
    case 'iso-8859-1':
    case 'latin1':
      return bytes.toString('latin1');
    default:
      return undefined;
  }
}

/** Printable ASCII and TAB only (what a header value can carry as it is, RFC 9110 5.5). */
const PRINTABLE_ASCII = /^[\t\x20-\x7e]*$/;

/**
 * A user metadata value as S3 returns it: as stored when it is ASCII a header carries as it is
 * (printable, or TAB: "If the string contains only US-ASCII characters, it is presented as is"),
 * else one RFC 2047 encoded word (`=?UTF-8?B?…?=`), which is what S3 documents and what code
 * written for S3 decodes (raw UTF-8 in a header reads as Latin-1 in most HTTP stacks).
 */
export function mailSafe(value: string): string {
  return PRINTABLE_ASCII.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/**
 * Headers GET and HEAD return for an object (without SSE, range and checksum headers: ops/object.ts
 * adds the checksums when the request asks with `x-amz-checksum-mode: ENABLED`, as on S3 and MinIO).
 */
export function objectResponseHeaders(rec: ObjectRecord, query: URLSearchParams): Record<string, string> {
  const h: Record<string, string> = {
    etag: quoteETag(rec.etag),
    'last-modified': httpDate(rec.mtime),
    'accept-ranges': 'bytes',
  };
  for (const name of STORED_HEADERS) {
    const v = rec.headers[name];
    if (v !== undefined) h[name] = v;
  }
  let missing = 0;
  for (const [k, v] of Object.entries(rec.userMeta)) {
    if (isHeaderName(k)) h[k] = mailSafe(v);
    else missing++;
  }
  // Entries stored before such names were refused cannot go out as headers: S3 counts metadata
  // it cannot return in x-amz-missing-meta.
  if (missing > 0) h['x-amz-missing-meta'] = String(missing);
  // An empty override (`?response-content-type=`, what an SDK sends for an empty string) leaves
  // the stored header as it is, as S3 answers it (floci#923, modelled on S3's answers; LocalStack
  // takes only non-empty ones): it replaced the object's Content-Type with an empty one.
  for (const [param, header] of OVERRIDES) {
    const v = query.get(param);
    if (v !== null && v !== '') h[header] = v;
  }
  if (rec.tags && rec.tags.length > 0) h['x-amz-tagging-count'] = String(rec.tags.length);
  return h;
}

export interface ByteRange {
  start: number;
  /** Inclusive end. */
  end: number;
}

/**
 * Whether a request carries a Range at all, as S3 judges it beside partNumber: an empty one (or
 * only whitespace) is none, as MinIO and LocalStack read it; any other, even one parseRange would
 * ignore, is a Range.
 */
export function rangeSent(header: string | undefined): boolean {
  return header !== undefined && header.trim() !== '';
}

/**
 * Parses one `bytes=` range against an object size. Returns undefined when the header should be
 * ignored (absent, or syntactically not a single byte range, as S3 does); throws InvalidRange
 * when it is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) throw new S3Error('InvalidRange', undefined, unsatisfiable(size, header));
    // The last N bytes of an empty object are all of it: 200 with no body, as on S3 (tail
    // readers such as Parquet footer readers ask for that of every file).
    if (size === 0) return undefined;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  // first > last is not a valid range at all: ignored, whatever the size (RFC 9110 14.1.1).
  // Compared exactly: past 2^53 two positions can round to one double.
  if (m[2] !== '' && digitsLess(m[2], m[1])) return undefined;
  if (!Number.isSafeInteger(start) || start >= size) throw new S3Error('InvalidRange', undefined, unsatisfiable(size, header));
  if (m[2] === '') return { start, end: size - 1 };
  const end = Number(m[2]);
  return { start, end: Math.min(end, size - 1) };
}

/**
 * UploadPartCopy's `x-amz-copy-source-range` against the source's size, as S3 answers it (not a
 * GET's 416): a range that is no range, or ends before it starts, is InvalidArgument in its form;
 * one starting past the source is InvalidRequest; one starting inside it but reaching past its end,
 * InvalidArgument naming the size.
 */
export function parseCopySourceRange(header: string, size: number): ByteRange {
  const argument = { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header };
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  // Compared exactly: past 2^53 two positions can round to one double.
  if (!m || digitsLess(m[2]!, m[1]!)) throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', { fields: argument });
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first >= size) throw new S3Error('InvalidRequest', 'The specified copy range is invalid for the source object size');
  if (last >= size) throw new S3Error('InvalidArgument', `Range specified is not valid for source object of size: ${size}`, { fields: argument });
  return { start: first, end: last };
}

/**
 * Whether one run of decimal digits is a smaller number than another, exactly at any length (in
 * linear time: BigInt would take a millisecond for a header of 16,000 digits). Range and
 * x-amz-copy-source-range positions past 2^53 round to one double.
 */
function digitsLess(a: string, b: string): boolean {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  return x.length !== y.length ? x.length < y.length : x < y;
}

/**
 * A 416 names the object's size twice, as S3 sends it: Content-Range (RFC 9110 14.4) and the
 * body's ActualObjectSize, beside the range asked for. The AWS CRT's downloaders (aws-c-s3: the
 * Java CRT client and transfer manager, mountpoint-s3, boto3 with the CRT) open with a ranged GET
 * and read ActualObjectSize 0 as "an empty object": without it, no empty object downloads.
 */
function unsatisfiable(size: number, asked: string): { headers: Record<string, string>; fields: Record<string, string> } {
  return { headers: { 'content-range': `bytes */${size}` }, fields: { RangeRequested: asked.trim(), ActualObjectSize: String(size) } };
}

/** A conditional header's date; one that is not a date is ignored (RFC 9110 13.1.3, 13.1.4). */
function parseHttpDate(v: string | undefined): number | undefined {
  return v === undefined ? undefined : parseDateText(v);
}

/**
 * Whether an If-Match / If-None-Match list names the ETag. If-Match compares strongly (RFC 9110
 * 13.1.1): a weak tag (`W/"…"`) never matches, so a write or read conditioned on it fails rather
 * than proceeding on a validator that does not promise identical bytes. If-None-Match compares
 * weakly (13.1.2): `W/` is ignored, as a browser sends it back for a compressed response.
 */
function etagMatches(list: string, etag: string, weak = false): boolean {
  return list.split(',').some((e) => {
    const t = e.trim();
    if (t === '*') return true;
    if (t.startsWith('W/') && !weak) return false;
    return t.replace(/^W\//, '').replace(/^"|"$/g, '') === etag;
  });
}

/**
 * Whether a GET's Range applies under its If-Range (RFC 9110 13.1.5, which S3 honours): without
 * If-Range it does; with one, only when it names this object, by its ETag (strong comparison: a
 * weak tag never matches) or by its Last-Modified exactly. Otherwise the whole object is sent
 * (200): a client resuming a download of an object replaced meanwhile gets the new one whole,
 * not a piece of it spliced onto the old.
 */
export function ifRangeHolds(value: string | undefined, rec: ObjectRecord): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  if (v.startsWith('"')) return v.length >= 2 && v.endsWith('"') && v.slice(1, -1) === rec.etag;
  if (v.startsWith('W/')) return false;
  // An ETag sent without its quotes, as If-Match takes it too (no date looks like one).
  if (/^[0-9a-f]{32}(?:-\d+)?$/.test(v)) return v === rec.etag;
  const t = parseDateText(v);
  return t !== undefined && t === Math.floor(rec.mtime / 1000) * 1000;
}

/** Runs against the key's current record inside the commit transaction; throws to refuse the write. */
export type WriteCheck = (current: ObjectRecord | undefined) => void;

/**
 * Conditional writes (PutObject, CopyObject's destination, CompleteMultipartUpload), as S3 has
 * them: `If-None-Match: *` refuses with 412 when the key exists, and `If-Match: <etag>` refuses
 * with 404 NoSuchKey when it does not exist and 412 when its ETag differs. `If-None-Match` with
 * anything but `*` (an ETag: "replace unless it is this version") is 501 NotImplemented, as S3
 * answers it, before the body is read. Callers check once before reading the body, to fail fast,
 * and pass the check to the metadata commit, where it runs in the write transaction: no other
 * write can slip in between.
 */
export function writeConditions(headers: Readonly<Record<string, string>>): WriteCheck | undefined {
  const ifNoneMatch = headers['if-none-match'];
  const ifMatch = headers['if-match'];
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new S3Error('NotImplemented', 'A header you provided implies functionality that is not implemented', { fields: { Header: 'If-None-Match' } });
  }
  return (current) => {
    if (ifNoneMatch !== undefined && current !== undefined) {
      throw new S3Error('PreconditionFailed', undefined, { fields: { Condition: 'If-None-Match' } });
    }
    if (ifMatch !== undefined) {
      if (current === undefined) throw new S3Error('NoSuchKey');
      if (!etagMatches(ifMatch, current.etag)) throw new S3Error('PreconditionFailed', undefined, { fields: { Condition: 'If-Match' } });
    }
  };
}

/**
 * 304 Not Modified: with the ETag and Last-Modified the client compares (as S3 sends them), and the
 * Cache-Control and Expires a 200 to the same request would carry (stored, or a response-*
 * override's), which RFC 9110 §15.4.5 requires of a 304: a cache revalidating with it takes on the
 * headers it brings, and kept an expired freshness without. (An override past ASCII, which a 200
 * writes in ISO-8859-1, is left out: an error's headers are written as ASCII.)
 */
function notModified(rec: ObjectRecord, query: URLSearchParams | undefined): S3Error {
  const headers: Record<string, string> = { etag: quoteETag(rec.etag), 'last-modified': httpDate(rec.mtime) };
  for (const name of ['cache-control', 'expires'] as const) {
    const override = query?.get(`response-${name}`) ?? undefined;
    const v = override !== undefined ? (PRINTABLE_ASCII.test(override) ? override : undefined) : rec.headers[name];
    if (v !== undefined) headers[name] = v;
  }
  return new S3Error('NotModified', undefined, { headers });
}

/**
 * A conditional delete's condition on the key's current version (not a delete marker), as S3
 * has them since 2025: `If-Match` (an ETag, or `*`: the key exists), and in DeleteObjects also
 * `Size` and `LastModifiedTime`. The error code of the first that fails: NoSuchKey when there is
 * no current version, PreconditionFailed otherwise; undefined when all hold.
 */
/**
 * A conditional delete's conditions from their texts (DeleteObject's headers, an Object of
 * DeleteObjects): undefined when none is given; a size or time that cannot be read is `bad`'s error.
 */
export function parseDeleteConditions(
  texts: { ifMatch: string | undefined; size: string | undefined; lastModified: string | undefined },
  bad: (what: 'size' | 'lastModified') => S3Error,
): { ifMatch?: string; size?: number; lastModified?: number } | undefined {
  const { ifMatch, size, lastModified } = texts;
  if (ifMatch === undefined && size === undefined && lastModified === undefined) return undefined;
  if (size !== undefined && !/^\d{1,16}$/.test(size.trim())) throw bad('size');
  const time = lastModified === undefined ? undefined : parseDateText(lastModified);
  if (lastModified !== undefined && time === undefined) throw bad('lastModified');
  return {
    ...(ifMatch !== undefined ? { ifMatch } : {}),
    ...(size !== undefined ? { size: Number(size.trim()) } : {}),
    ...(time !== undefined ? { lastModified: time } : {}),
  };
}

export function deleteConditionFailure(
  cond: { ifMatch?: string; size?: number; lastModified?: number },
  current: ObjectRecord | undefined,
): 'NoSuchKey' | 'PreconditionFailed' | undefined {
  if (cond.ifMatch === undefined && cond.size === undefined && cond.lastModified === undefined) return undefined;
  if (current === undefined) return 'NoSuchKey';
  if (cond.ifMatch !== undefined && !etagMatches(cond.ifMatch, current.etag)) return 'PreconditionFailed';
  if (cond.size !== undefined && cond.size !== current.size) return 'PreconditionFailed';
  // Last-Modified has whole seconds on the wire.
  if (cond.lastModified !== undefined && Math.floor(cond.lastModified / 1000) !== Math.floor(current.mtime / 1000)) return 'PreconditionFailed';
  return undefined;
}

/** How checkConditions reads a request. */
export interface ConditionOptions {
  /** The headers' prefix: `if-` (GET, HEAD; the default) or `x-amz-copy-source-if-` (a copy's source). */
  prefix?: string;
  /** The time a modified-since date is in the future of (default: now). */
  now?: number;
  /** The request's query: a 304 carries the response-cache-control / response-expires it asks for. */
  query?: URLSearchParams;
}

/**
 * GET/HEAD conditional headers per RFC 7232 as S3 applies them: If-Match / If-Unmodified-Since
 * fail with 412, If-None-Match / If-Modified-Since with 304 (a copy's x-amz-copy-source-if-*
 * all with 412). A 412 names the condition that failed (`Condition`), as S3's does. A
 * modified-since date in the future is ignored (RFC 7232 3.3: it is invalid), as S3 ignores it.
 */
export function checkConditions(headers: Readonly<Record<string, string>>, rec: ObjectRecord, opts: ConditionOptions = {}): void {
  const { prefix = 'if-', now = Date.now(), query } = opts;
  const ifMatch = headers[`${prefix}match`];
  const ifNoneMatch = headers[`${prefix}none-match`];
  const modifiedSince = parseHttpDate(headers[`${prefix}modified-since`]);
  const ifModifiedSince = modifiedSince !== undefined && modifiedSince > now ? undefined : modifiedSince;
  const ifUnmodifiedSince = parseHttpDate(headers[`${prefix}unmodified-since`]);
  const mtimeSec = Math.floor(rec.mtime / 1000) * 1000;
  const copy = prefix !== 'if-';
  const failed = (condition: string): S3Error => new S3Error('PreconditionFailed', undefined, { fields: { Condition: copy ? `x-amz-copy-source-${condition}` : condition } });
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, rec.etag)) throw failed('If-Match');
  } else if (ifUnmodifiedSince !== undefined && mtimeSec > ifUnmodifiedSince) {
    throw failed('If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, rec.etag, true)) throw copy ? failed('If-None-Match') : notModified(rec, query);
  } else if (ifModifiedSince !== undefined && mtimeSec <= ifModifiedSince) {
    throw copy ? failed('If-Modified-Since') : notModified(rec, query);
  }
}

/** Whether a request carries MinIO's `x-minio-force-delete: true` (DeleteObject, DeleteBucket: neither is honoured). */
export function minioForceDelete(headers: Readonly<Record<string, string>>): boolean {
  return headers['x-minio-force-delete']?.trim().toLowerCase() === 'true';
}
