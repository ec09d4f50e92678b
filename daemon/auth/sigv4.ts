// AWS Signature Version 4 for S3 (pure): Authorization-header and presigned-URL parsing, the
// canonical request and string to sign, cached signing keys, chunk/trailer signatures.

import * as cryptoModule from 'node:crypto';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../errors.js';
import { basicIsoDateTime, parseHttpDate } from '../dates.js';
import { parseAuthorizationHeader, requireHeadersSigned, requireOneSpace, requireV4Scheme } from './authorization-header.js';
import { credentialQueryMalformed, errorTime, headerMalformed, noDate, presignExpired, queryMalformed, signatureMismatch } from './sigv4-errors.js';
import { authenticateV2Header, authenticateV2Presigned, hasV2PresignParams, isV2Authorization, literalPayloadHash } from './sigv2.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_PAYLOAD_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_PAYLOAD_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
/** Longest lifetime of a presigned URL (seven days), in seconds. */
export const MAX_PRESIGNED_EXPIRES = 604800;
/** Largest accepted difference between the request time and ours. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export interface SigV4Request {
  method: string;
  /** raw path as received, percent-encoded, without query */
  rawPath: string;
  /** raw query string as server.ts reads it (requestQuery): no '?' starts it */
  rawQuery: string;
  /** lower-case header names → value (duplicate headers already joined with ',') */
  headers: Record<string, string>;
}

export interface Credentials {
  /** The secret for an access key id, or undefined when the key is unknown. */
  lookup(accessKeyId: string): string | undefined;
}

export type PayloadMode =
  | { kind: 'unsigned' }
  /**
   * `expectedHex` as the client spelled it (an error echoes it so); compare it lowercased.
   * `presigned`: the hash is part of a presigned URL's signature, so a body that does not match it
   * fails that signature (SignatureDoesNotMatch, as S3 answers), not a header check.
   */
  | { kind: 'sha256'; expectedHex: string; presigned?: boolean }
  | { kind: 'streaming-signed'; trailer: boolean }
  | { kind: 'streaming-unsigned-trailer' };

export interface AuthResult {
  accessKeyId: string;
  /** how the body must be checked */
  payload: PayloadMode;
  /** seed for streaming chunk signatures (the request signature, lower-case hex) */
  seedSignature: string;
  /** shared with the key cache: never mutate */
  signingKey: Buffer;
  /** credential scope: date/region/service/aws4_request */
  scope: string;
  /** request time, ISO 8601 basic (yyyyMMddTHHmmssZ) */
  amzDate: string;
  presigned: boolean;
  /** The canonical request the signature was checked on (Authorization-header SigV4): what a chunk's SignatureDoesNotMatch names too. */
  canonicalRequest?: string;
}

export interface AuthOptions {
  region: string;
  /**
   * Accept a credential scoped to any region (signed with that region). Clients that know no
   * region sign GetBucketLocation and ListBuckets with us-east-1 to find it out (as MinIO does).
   */
  anyRegion?: boolean;
  now?: Date;
  service?: 's3' | 'sts';
  /**
   * The body's SHA-256 (hex), read before authentication (STS's form bodies): the payload hash
   * of a request without x-amz-content-sha256, which AWS's other services do not send.
   */
  payloadHash?: string;
  /**
   * Opens a session token (x-amz-security-token): its access key and secret, the only key it
   * signs with; throws InvalidToken or ExpiredToken. Without it every token is InvalidToken.
   */
  sessions?: { open(token: string, now: number): { accessKeyId: string; secretKey: string } };
  /** Accept AWS Signature Version 2 (header and presigned); default false. */
  sigV2?: boolean;
  /** The bucket when the request named it in the Host header (V2 signs it as part of the path). */
  virtualHostBucket?: string;
}

// ---------------------------------------------------------------------------------------------
// URI encoding (RFC 3986 unreserved characters kept, everything else %XX upper-case, per byte)

const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~') UNRESERVED[c.charCodeAt(0)] = 1;
const ESCAPED: readonly string[] = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`);
const UNRESERVED_ONLY = /^[A-Za-z0-9\-_.~]*$/;

function encodeBytes(bytes: Uint8Array, encodeSlash: boolean): string {
  let out = '';
  for (const b of bytes) {
    out += UNRESERVED[b] === 1 || (b === 0x2f && !encodeSlash) ? String.fromCharCode(b) : ESCAPED[b];
  }
  return out;
}

/** S3's UriEncode of a decoded string (UTF-8 bytes); '/' kept unless encodeSlash. */
export function uriEncode(value: string, encodeSlash = true): string {
  if (UNRESERVED_ONLY.test(value)) return value;
  return encodeBytes(Buffer.from(value, 'utf8'), encodeSlash);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Percent-decodes to bytes. A '%' not followed by two hex digits stays literal. */
function percentDecode(value: string, plusIsSpace: boolean): Buffer {
  const src = Buffer.from(value, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let j = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length) {
      const hi = hexValue(src[i + 1]!);
      const lo = hexValue(src[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[j++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    out[j++] = plusIsSpace && c === 0x2b ? 0x20 : c;
  }
  return out.subarray(0, j);
}

/** One component of a query string, canonically re-encoded ('+' means space, as in forms). */
function canonicalComponent(raw: string): string {
  if (UNRESERVED_ONLY.test(raw)) return raw;
  return encodeBytes(percentDecode(raw, true), true);
}

/**
 * The canonical URI for S3: each path segment decoded and encoded once (no double encoding,
 * no dot-segment normalisation; an encoded '/' inside a segment stays encoded).
 */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  if (UNRESERVED_ONLY.test(rawPath.replaceAll('/', ''))) return rawPath;
  return rawPath
    .split('/')
    .map((segment) => (UNRESERVED_ONLY.test(segment) ? segment : encodeBytes(percentDecode(segment, false), true)))
    .join('/');
}

/**
 * Splits a raw query string into [name, value] pairs, still encoded. 'a' gives ['a', ''].
 * The query comes as server.ts hands it to every reader (requestQuery: no '?' starts it), so
 * split on '&' it is the pairs the router reads with URLSearchParams.
 */
function splitQuery(query: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (query === '') return pairs;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push(eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  return pairs;
}

/** Decoded query parameters, in order ('+' means space). */
export function parseQuery(rawQuery: string): Array<[string, string]> {
  return splitQuery(rawQuery).map(([n, v]) => [percentDecode(n, true).toString('utf8'), percentDecode(v, true).toString('utf8')]);
}

/** The canonical query string: names and values re-encoded, sorted by name then value. */
export function canonicalQuery(rawQuery: string, options: { omitSignature?: boolean } = {}): string {
  const pairs: Array<[string, string]> = [];
  for (const [n, v] of splitQuery(rawQuery)) {
    const name = canonicalComponent(n);
    if (options.omitSignature === true && name === 'X-Amz-Signature') continue;
    pairs.push([name, canonicalComponent(v)]);
  }
  return joinSorted(pairs);
}

/** Query pairs sorted by name then value, joined as `n=v&…`. */
function joinSorted(pairs: Array<[string, string]>): string {
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/**
 * The query as the client wrote it, in canonical order but not re-encoded: what a client that
 * signs its query string as sent signed. minio-js sends a version listing's NextKeyMarker back as
 * the listing encoded it (`photo+%281%29.jpg`, `a/b`: S3's listing encoding keeps `/` and writes
 * a space as `+`) and signs those bytes; the canonical form re-encodes them (`%20`, `%2F`).
 */
function literalQuery(rawQuery: string): string {
  return joinSorted(splitQuery(rawQuery));
}

/** Header value as signed: trimmed, runs of spaces and tabs collapsed to one space. */
export function canonicalHeaderValue(value: string): string {
  return value.replace(/[ \t]+/g, ' ').trim();
}

export interface CanonicalRequestInput {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string>;
  /** lower-case names, in the order they were signed */
  signedHeaders: readonly string[];
  payloadHash: string;
  /** presigned requests leave X-Amz-Signature out of the canonical query */
  presigned?: boolean;
  /** the query as sent, not re-encoded (literalQuery) */
  literalQuery?: boolean;
}

export function canonicalRequest(input: CanonicalRequestInput): string {
  // Own entries only: a signed name such as `constructor` found Object's constructor (a 500).
  const headerLines = input.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(Object.hasOwn(input.headers, name) ? input.headers[name]! : '')}\n`).join('');
  return [
    input.method,
    canonicalUri(input.rawPath),
    input.literalQuery === true ? literalQuery(input.rawQuery) : canonicalQuery(input.rawQuery, { omitSignature: input.presigned === true }),
    headerLines,
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

// crypto.hash (Node ≥ 20.12): one call, no Hash object — about 2.5× cheaper for short inputs.
const oneShotHash = (cryptoModule as { hash?: (alg: string, data: string | Uint8Array, enc: 'hex') => string }).hash;

export function sha256Hex(data: string | Uint8Array): string {
  if (oneShotHash !== undefined) return oneShotHash('sha256', data, 'hex');
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

export function signatureHex(signingKey: Uint8Array, toSign: string): string {
  return createHmac('sha256', signingKey).update(toSign, 'utf8').digest('hex');
}

/** String to sign of one aws-chunked data chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunkSha256Hex: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
}

/** String to sign of the trailer section; canonicalTrailer is "name:value\n" per trailer. */
export function trailerStringToSign(amzDate: string, scope: string, previousSignature: string, canonicalTrailer: string): string {
  return `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${previousSignature}\n${sha256Hex(canonicalTrailer)}`;
}

/** Compares a computed lower-case hex signature with a client's, in constant time. */
export function signaturesEqual(expectedHex: string, givenHex: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(givenHex) || expectedHex.length !== 64) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(givenHex, 'hex'));
}

// ---------------------------------------------------------------------------------------------
// Signing keys: one HMAC chain per access key, day, region and service

export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

const MAX_CACHED_KEYS = 1024;
const signingKeys = new Map<string, { secret: string; key: Buffer }>();

/** The signing key, derived at most once per (key id, day, region, service) while the secret is unchanged. */
export function signingKeyFor(accessKeyId: string, secret: string, date: string, region: string, service: string): Buffer {
  const id = `${accessKeyId}\n${date}\n${region}\n${service}`;
  const cached = signingKeys.get(id);
  if (cached !== undefined && cached.secret === secret) return cached.key;
  const key = deriveSigningKey(secret, date, region, service);
  if (cached !== undefined) signingKeys.delete(id);
  else if (signingKeys.size >= MAX_CACHED_KEYS) signingKeys.delete(signingKeys.keys().next().value!);
  signingKeys.set(id, { secret, key });
  return key;
}

// ---------------------------------------------------------------------------------------------
// Parsing

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** Milliseconds since the epoch of an ISO 8601 basic timestamp, or undefined when invalid. */
let lastAmzDate = '';
let lastAmzTime: number | undefined;

export function parseAmzDate(value: string): number | undefined {
  // Requests signed in the same second carry the same timestamp.
  if (value === lastAmzDate) return lastAmzTime;
  const t = parseAmzDateUncached(value);
  lastAmzDate = value;
  lastAmzTime = t;
  return t;
}

function parseAmzDateUncached(value: string): number | undefined {
  const m = AMZ_DATE.exec(value);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(t);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return t;
}

/**
 * A header request's date, x-amz-date or Date, V4 and V2 alike, as S3 reads it (recorded
 * 2026-09-29): ISO 8601's basic form or an HTTP date (RFC 1123, RFC 850, asctime); undefined for
 * anything else, ISO 8601's extended form included.
 */
export function parseRequestDate(text: string): number | undefined {
  return parseAmzDate(text) ?? parseHttpDate(text);
}

export function formatAmzDate(time: Date): string {
  return basicIsoDateTime(time);
}

interface ParsedCredential {
  accessKeyId: string;
  date: string;
  region: string;
  scope: string;
}

/** `region` undefined: any region is accepted (AuthOptions.anyRegion). */
function parseCredential(value: string, fail: (message: string, region?: string) => S3Error, region: string | undefined, service: string): ParsedCredential {
  const parts = value.split('/');
  if (parts.length !== 5 || parts[0] === '') {
    throw fail('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  const [accessKeyId, date, credRegion, credService, terminal] = parts as [string, string, string, string, string];
  if (!/^\d{8}$/.test(date) || parseAmzDate(`${date}T000000Z`) === undefined) {
    throw fail(`incorrect date format "${date}". This date in the credential must be in the format "yyyyMMdd".`);
  }
  if (credRegion === '') throw fail('a non-empty region must be provided in the credential.');
  // The error names the right region: clients that guessed retry with it (minio-js, minio-go).
  if (region !== undefined && credRegion !== region) throw fail(`the region '${credRegion}' is wrong; expecting '${region}'`, region);
  if (credService !== service) throw fail(`incorrect service "${credService}". This endpoint belongs to "${service}".`);
  if (terminal !== 'aws4_request') throw fail(`incorrect terminal "${terminal}". This endpoint uses "aws4_request".`);
  return { accessKeyId, date, region: credRegion, scope: `${date}/${credRegion}/${credService}/aws4_request` };
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * `emptyOk`: a presigned URL's empty X-Amz-SignedHeaders is a list of none, which S3 answers as
 * leaving host unsigned (requireHeadersSigned; amazonka#272 quotes its answer).
 */
function parseSignedHeaders(value: string, fail: (message: string) => S3Error, emptyOk = false): string[] {
  if (emptyOk && value === '') return [];
  const names = value.split(';');
  const seen = new Set<string>();
  for (const name of names) {
    if (!HEADER_NAME.test(name) || seen.has(name)) throw fail(`the SignedHeaders value "${value}" is malformed.`);
    seen.add(name);
  }
  return names;
}

/** RequestTimeTooSkewed with S3's fields: the request's time as sent, the server's, the allowed skew. */
export function clockSkewed(requestTime: string, now: number): S3Error {
  return new S3Error('RequestTimeTooSkewed', undefined, {
    fields: { RequestTime: requestTime, ServerTime: errorTime(now), MaxAllowedSkewMilliseconds: String(MAX_CLOCK_SKEW_MS) },
  });
}

/** Parses an x-amz-content-sha256 value (header or presigned query) into how the body is checked. */
export function parsePayloadMode(value: string): PayloadMode {
  switch (value) {
    case UNSIGNED_PAYLOAD:
      return { kind: 'unsigned' };
    case STREAMING_SIGNED_PAYLOAD:
      return { kind: 'streaming-signed', trailer: false };
    case STREAMING_SIGNED_PAYLOAD_TRAILER:
      return { kind: 'streaming-signed', trailer: true };
    case STREAMING_UNSIGNED_PAYLOAD_TRAILER:
      return { kind: 'streaming-unsigned-trailer' };
    default:
      if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: 'sha256', expectedHex: value };
      throw new S3Error(
        'InvalidArgument',
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
        { fields: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value } },
      );
  }
}

/** Streaming modes whose chunks chain from the request's signature (SigV4's and SigV4a's). */
const SIGNED_STREAMING: ReadonlySet<string> = new Set([
  STREAMING_SIGNED_PAYLOAD,
  STREAMING_SIGNED_PAYLOAD_TRAILER,
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER',
]);

/**
 * How an anonymous (unsigned) request's body is checked: as its x-amz-content-sha256 says, as S3
 * checks it (versitygw's AWS-matched PublicBucket tests). Any value but the two unsigned modes is
 * a hash the body has to match (XAmzContentSHA256Mismatch); signed chunks, which have no
 * signature to chain from, are S3's InvalidRequest. Ignored, a wrong hash was stored under a 200
 * (a policy's s3:x-amz-content-sha256 condition trusting it), and signed chunks with their framing.
 */
export function anonymousPayloadMode(value: string | undefined): PayloadMode {
  if (value === STREAMING_UNSIGNED_PAYLOAD_TRAILER) return { kind: 'streaming-unsigned-trailer' };
  if (value !== undefined && SIGNED_STREAMING.has(value)) {
    throw new S3Error('InvalidRequest', "Anonymous requests don't support this x-amz-content-sha256 value. Please use UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER.");
  }
  return literalPayloadHash(value);
}

const PAYLOAD_HASH_ONLY: ReadonlySet<string> = new Set(['x-amz-content-sha256']);

/**
 * The x-amz-* headers a presigned URL's user may send unsigned. Besides x-amz-content-sha256, the
 * SSE-C key and its MD5: the URL signs the algorithm and whoever holds the key adds it when using
 * the URL, so the key is never in a URL (S3's "Presigned URLs and SSE-C"; the SDK for .NET's
 * integration tests do it against S3). An unsigned key still has to be the object's.
 */
const PRESIGNED_UNSIGNED_OK: ReadonlySet<string> = new Set([
  'x-amz-content-sha256',
  'x-amz-server-side-encryption-customer-key',
  'x-amz-server-side-encryption-customer-key-md5',
  'x-amz-copy-source-server-side-encryption-customer-key',
  'x-amz-copy-source-server-side-encryption-customer-key-md5',
]);

/**
 * A presigned URL's signed headers as the canonical request has them: a signed x-amz-* header the
 * request does not send is taken from the query parameter of that name, where presigners hoist
 * them (S3 reads it there too; the server applies such parameters as headers afterwards, which it
 * does for x-amz-* alone, hence only those).
 */
function withSignedQueryHeaders(headers: Record<string, string>, signed: readonly string[], query: ReadonlyArray<[string, string]>): Record<string, string> {
  const missing = signed.filter((name) => name.startsWith('x-amz-') && headers[name] === undefined);
  if (missing.length === 0) return headers;
  const out = { ...headers };
  for (const name of missing) {
    const param = query.find(([q]) => q.toLowerCase() === name);
    if (param !== undefined) out[name] = param[1];
  }
  return out;
}

const PRESIGN_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'] as const;

export type AuthKind = 'header' | 'presigned' | 'token' | 'none';

/**
 * Which mechanism (SigV4, or V2 when enabled) a request uses, without validating it. `token`: a
 * session token (X-Amz-Security-Token) and no signature, which authenticate refuses: temporary
 * credentials' holder meant to sign, and is never taken for anonymous.
 */
export function authKind(req: SigV4Request): AuthKind {
  if (req.headers['authorization'] !== undefined) return 'header';
  const query = parseQuery(req.rawQuery);
  if (hasPresignParams(query) || hasV2PresignParams(query)) return 'presigned';
  return sessionTokenOf(req.headers, query) !== undefined ? 'token' : 'none';
}

/** The session token of temporary credentials, in the header or a presigned URL's query. */
function sessionTokenOf(headers: Readonly<Record<string, string>>, query: ReadonlyArray<[string, string]>): string | undefined {
  return headers['x-amz-security-token'] ?? query.find(([n]) => n === 'X-Amz-Security-Token' || n === 'x-amz-security-token')?.[1];
}

/**
 * The query carries a presigned V4 URL's parameters. An `X-Amz-Signature` without the other two
 * is none: S3 reads such a request as unsigned (backlot's measurements against us-east-1,
 * 2026-09-29: a public bucket's listing answered it), and its own refusal of two mechanisms names
 * "the X-Amz-Algorithm query parameter" as V4's. An `X-Amz-Credential` alone is still read as an
 * incomplete presigned URL and refused: no answer of S3's to it is recorded.
 */
export function hasPresignParams(query: ReadonlyArray<[string, string]>): boolean {
  return query.some(([n]) => n === 'X-Amz-Algorithm' || n === 'X-Amz-Credential');
}

// ---------------------------------------------------------------------------------------------
// Authentication

/**
 * Authenticates a request signed with SigV4, by Authorization header or presigned query.
 * Throws S3Error. The body is checked afterwards by a payload decoder built from the result.
 */
export function authenticate(req: SigV4Request, creds: Credentials, opts: AuthOptions): AuthResult {
  const now = (opts.now ?? new Date()).getTime();
  const service = opts.service ?? 's3';
  const region = opts.anyRegion === true ? undefined : opts.region;
  const query = parseQuery(req.rawQuery);
  const authorization = req.headers['authorization'];
  const presignedParams = hasPresignParams(query);
  const v2Params = hasV2PresignParams(query);
  // Two mechanisms at once, as S3 counts them: the header beside a V4 query or a `Signature`
  // parameter alone, or the two query forms together; the header is named when there is one.
  const v2Signature = query.some(([n]) => n === 'Signature');
  if (authorization !== undefined ? presignedParams || v2Signature : v2Signature && query.some(([n]) => n === 'X-Amz-Algorithm')) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { fields: { ArgumentName: 'Authorization', ...(authorization === undefined ? {} : { ArgumentValue: authorization }) } },
    );
  }
  if (authorization !== undefined) requireOneSpace(authorization);
  // A session token (temporary credentials, auth/sts.ts), in the header or a presigned URL's
  // query: the request must be signed with its key, and with V4. One that is not valid is refused,
  // never ignored for the access key alone (a stale AWS_SESSION_TOKEN beside s3d's keys then says so).
  const token = sessionTokenOf(req.headers, query);
  if (token !== undefined && (authorization !== undefined || presignedParams || v2Params)) {
    if (v2Params || (authorization !== undefined && isV2Authorization(authorization))) throw new S3Error('InvalidToken', `Temporary credentials sign with ${ALGORITHM}, not Signature Version 2.`);
    creds = sessionCredentials(opts.sessions, token, now);
  }
  if (authorization !== undefined) {
    if (opts.sigV2 === true && isV2Authorization(authorization)) return authenticateV2Header(req, authorization, creds, now, opts.virtualHostBucket);
    return authenticateHeader(req, authorization, creds, now, region, service, opts.payloadHash);
  }
  if (presignedParams) return authenticatePresigned(req, query, creds, now, region, service);
  if (v2Params) {
    if (opts.sigV2 === true) return authenticateV2Presigned(req, query, creds, now, opts.virtualHostBucket);
    throw new S3Error('InvalidSignatureTypeError', `The authorization mechanism you have provided is not supported. Please use ${ALGORITHM}.`);
  }
  if (token !== undefined) throw new S3Error('AccessDenied', 'A request with a session token (X-Amz-Security-Token) must be signed with its temporary credentials.');
  throw new S3Error('AccessDenied');
}

/**
 * The only credentials a request carrying a session token may sign with: the access key and
 * secret the token holds. Throws InvalidToken (or ExpiredToken) for a token that opens to none,
 * and for any token where s3d issues none (`sessions` absent).
 */
export function sessionCredentials(sessions: AuthOptions['sessions'], token: string, now: number): Credentials {
  if (sessions === undefined) throw new S3Error('InvalidToken');
  const session = sessions.open(token, now);
  return { lookup: (id) => (id === session.accessKeyId ? session.secretKey : undefined) };
}

export function lookupSecret(creds: Credentials, accessKeyId: string): string {
  const secret = creds.lookup(accessKeyId);
  if (secret === undefined) throw new S3Error('InvalidAccessKeyId', undefined, { fields: { AWSAccessKeyId: accessKeyId } });
  return secret;
}

/**
 * Parsed Credential and SignedHeaders of recent Authorization headers, by the header's text up to
 * its Signature (the same for every request a client signs on one day with one header set).
 * Parsing is a pure function of that text, and only successful parses are kept.
 */
const parsedAuthorizations = new Map<string, { credential: ParsedCredential; signedHeaders: string[] }>();
const MAX_PARSED_AUTHORIZATIONS = 256;

function parseAuthorizationCached(authorization: string, region: string | undefined, service: string): { credential: ParsedCredential; signedHeaders: string[]; signature: string } {
  // Cacheable only when Signature is the last component: the prefix then holds everything else.
  const at = authorization.lastIndexOf('Signature=');
  const tail = at < 0 ? ',' : authorization.slice(at + 'Signature='.length);
  const id = tail.includes(',') ? undefined : `${region ?? '*'}\n${service}\n${authorization.slice(0, at)}`;
  const cached = id === undefined ? undefined : parsedAuthorizations.get(id);
  // Fields named, not spread: on this Node a spread followed by another property takes V8's slow
  // path (~0.5 µs, on every signed request).
  if (cached !== undefined) return { credential: cached.credential, signedHeaders: cached.signedHeaders, signature: tail.trim() };
  const parsed = parseAuthorizationHeader(authorization);
  const credential = parseCredential(parsed.credential, headerMalformed, region, service);
  const signedHeaders = parseSignedHeaders(parsed.signedHeaders, headerMalformed);
  if (id !== undefined && parsed.signature === tail.trim()) {
    if (parsedAuthorizations.size >= MAX_PARSED_AUTHORIZATIONS) parsedAuthorizations.delete(parsedAuthorizations.keys().next().value!);
    parsedAuthorizations.set(id, { credential, signedHeaders });
  }
  return { credential, signedHeaders, signature: parsed.signature };
}

function authenticateHeader(req: SigV4Request, authorization: string, creds: Credentials, now: number, region: string | undefined, service: string, bodyHash?: string): AuthResult {
  // S3's order (recorded 2026-09-29): the scheme, the payload hash, the date and the clock, and
  // only then the header's components, its credential, the headers it leaves unsigned and its key.
  requireV4Scheme(authorization);
  const payloadHash = req.headers['x-amz-content-sha256'] ?? bodyHash;
  if (payloadHash === undefined) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  const payload = parsePayloadMode(payloadHash);

  // The date is x-amz-date when one is sent, readable or not, and otherwise Date; either may be in
  // ISO 8601's basic form or an HTTP date, and the string to sign names it as sent (S3's answers,
  // recorded 2026-09-29; its StringToSign for a Date, ceph/s3-tests#346). A Date need not be
  // signed, as S3 lets it: the string to sign holds it, so one changed after signing is a mismatch.
  const dateLine = (req.headers['x-amz-date'] ?? req.headers['date'])?.trim();
  const time = dateLine === undefined ? undefined : parseRequestDate(dateLine);
  // S3 takes a date before 1970 for no date at all (AccessDenied), not for a skewed clock.
  if (dateLine === undefined || time === undefined || time < 0) throw noDate();
  if (Math.abs(now - time) > MAX_CLOCK_SKEW_MS) throw clockSkewed(dateLine, now);

  const parsed = parseAuthorizationCached(authorization, region, service);
  const credential = parsed.credential;
  const signedHeaders = parsed.signedHeaders;
  // The scope's day is the date's in UTC, whatever zone it was written in (an ISO 8601 date's
  // first eight characters, which no HTTP date's are: the credential's day is eight digits).
  if (credential.date !== dateLine.slice(0, 8) && credential.date !== formatAmzDate(new Date(time)).slice(0, 8)) throw headerMalformed('Invalid credential date. Date is not the same as X-Amz-Date.');
  // x-amz-content-sha256 may go unsigned, as S3 lets it (2026-09-29): the canonical request's
  // last line is the hash, so the signature covers it anyway.
  // A header's signature covers host and a Content-MD5 sent, as well as every x-amz-* header.
  requireHeadersSigned(req.headers, signedHeaders, { exempt: PAYLOAD_HASH_ONLY, strict: true });
  const secret = lookupSecret(creds, credential.accessKeyId);
  if (bodyHash !== undefined && payload.kind === 'sha256' && payload.expectedHex.toLowerCase() !== bodyHash) throw new S3Error('XAmzContentSHA256Mismatch');

  const signingKey = signingKeyFor(credential.accessKeyId, secret, credential.date, credential.region, service);
  const input = { method: req.method, rawPath: req.rawPath, rawQuery: req.rawQuery, headers: req.headers, signedHeaders, payloadHash };
  const canonical = canonicalRequest(input);
  const toSign = stringToSign(dateLine, credential.scope, canonical);
  let expected = signatureHex(signingKey, toSign);
  let signedCanonical = canonical;
  if (!signaturesEqual(expected, parsed.signature)) {
    // Also the query as sent (literalQuery): the signature still covers every byte the request
    // is read from, so this admits no request its signer did not sign.
    const mismatch = signatureMismatch(credential.accessKeyId, toSign, parsed.signature, canonical);
    if (literalQuery(req.rawQuery) === canonicalQuery(req.rawQuery)) throw mismatch;
    signedCanonical = canonicalRequest({ ...input, literalQuery: true });
    expected = signatureHex(signingKey, stringToSign(dateLine, credential.scope, signedCanonical));
    if (!signaturesEqual(expected, parsed.signature)) throw mismatch;
  }

  return { accessKeyId: credential.accessKeyId, payload, seedSignature: expected, signingKey, scope: credential.scope, amzDate: dateLine, presigned: false, canonicalRequest: signedCanonical };
}

function authenticatePresigned(
  req: SigV4Request,
  query: ReadonlyArray<[string, string]>,
  creds: Credentials,
  now: number,
  region: string | undefined,
  service: string,
): AuthResult {
  const params = new Map<string, string>();
  for (const [name, value] of query) {
    if (!name.startsWith('X-Amz-')) continue;
    if (params.has(name)) throw queryMalformed(`The ${name} parameter is given more than once.`);
    params.set(name, value);
  }
  // S3's order: the algorithm, the parameters, the date and lifetime, whether the URL is valid
  // now, and only then the credential (an expired URL is 'Request has expired' whatever its
  // scope), the headers it leaves unsigned and its key.
  const algorithm = params.get('X-Amz-Algorithm');
  if (algorithm !== undefined && algorithm !== ALGORITHM) {
    // S3's words name the two algorithms it takes (versitygw's s3err/presigned-urls.go, backlot's
    // measurements of 2026-09-29); a SigV4a URL, which S3 would take, is told s3d takes one alone.
    if (algorithm === 'AWS4-ECDSA-P256-SHA256') throw queryMalformed(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
    throw queryMalformed(`X-Amz-Algorithm only supports "${ALGORITHM} and AWS4-ECDSA-P256-SHA256"`);
  }
  const missing = PRESIGN_PARAMS.some((name) => !params.has(name));
  if (missing) {
    throw queryMalformed(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const get = (name: (typeof PRESIGN_PARAMS)[number]): string => params.get(name) ?? '';

  const amzDate = get('X-Amz-Date');
  const time = parseAmzDate(amzDate);
  if (time === undefined) throw queryMalformed(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  const expiresText = get('X-Amz-Expires');
  if (!/^-?\d+$/.test(expiresText)) throw queryMalformed('X-Amz-Expires should be a number');
  const expires = Number(expiresText);
  if (expires < 0) throw queryMalformed('X-Amz-Expires must be non-negative');
  if (expires > MAX_PRESIGNED_EXPIRES) {
    throw queryMalformed('X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds');
  }
  if (now < time - MAX_CLOCK_SKEW_MS) {
    throw new S3Error('AccessDenied', 'Request is not yet valid', {
      fields: { 'X-Amz-Date': String(time), Expires: errorTime(time + expires * 1000), ServerTime: errorTime(now) },
    });
  }
  // S3 takes 1..604800 and answers 0 as expired, however soon the URL comes (ceph/s3-tests'
  // test_object_raw_get_x_amz_expires_out_range_zero); judged as a lifetime, a URL of 0 dated
  // within the skew ahead was served until its date.
  if (expires === 0 || now > time + expires * 1000) throw presignExpired(time + expires * 1000, now, expires);

  const credential = parseCredential(get('X-Amz-Credential'), credentialQueryMalformed, region, service);
  if (credential.date !== amzDate.slice(0, 8)) {
    throw queryMalformed(`Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  }
  const signedHeaders = parseSignedHeaders(get('X-Amz-SignedHeaders'), queryMalformed, true);
  // An unsigned x-amz-content-sha256 beside a presigned URL is ignored, as S3 ignores it (a
  // client or proxy adds one to every request it sends); signed, it is the payload hash. A list
  // without host is S3's AccessDenied naming host in HeadersNotSigned, as for a header (a 400
  // AuthorizationQueryParametersError of s3d's own words before).
  requireHeadersSigned(req.headers, signedHeaders, { exempt: PRESIGNED_UNSIGNED_OK, host: true });
  const secret = lookupSecret(creds, credential.accessKeyId);

  // Signers hoist x-amz-content-sha256 into the query under whatever case they were given it.
  const hashParam = query.find(([name]) => name.toLowerCase() === 'x-amz-content-sha256');
  const hashHeader = signedHeaders.includes('x-amz-content-sha256') ? req.headers['x-amz-content-sha256'] : undefined;
  const payloadHash = hashParam?.[1] ?? hashHeader ?? UNSIGNED_PAYLOAD;
  let payload: PayloadMode;
  if (hashParam === undefined) {
    // Signed as a header, it is only a hash the body has to match, as under Signature V2 (OpenStack
    // Swift's AWS-run tests of presigned URLs: no check of its form, no STREAMING-* mode, a body
    // that differs is XAmzContentSHA256Mismatch).
    payload = literalPayloadHash(payloadHash);
  } else {
    const parsed = parsePayloadMode(payloadHash);
    payload = parsed.kind === 'sha256' ? { ...parsed, presigned: true } : parsed;
  }

  const signingKey = signingKeyFor(credential.accessKeyId, secret, credential.date, credential.region, service);
  const canonical = canonicalRequest({
    method: req.method,
    rawPath: req.rawPath,
    rawQuery: req.rawQuery,
    headers: withSignedQueryHeaders(req.headers, signedHeaders, query),
    signedHeaders,
    payloadHash,
    presigned: true,
  });
  const toSign = stringToSign(amzDate, credential.scope, canonical);
  const expected = signatureHex(signingKey, toSign);
  if (!signaturesEqual(expected, get('X-Amz-Signature'))) throw signatureMismatch(credential.accessKeyId, toSign, get('X-Amz-Signature'), canonical);

  return { accessKeyId: credential.accessKeyId, payload, seedSignature: expected, signingKey, scope: credential.scope, amzDate, presigned: true };
}
