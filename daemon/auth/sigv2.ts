// AWS Signature Version 2 (HMAC-SHA1), by Authorization header (`AWS AccessKeyId:Signature`)
// and by presigned query (`AWSAccessKeyId`, `Expires`, `Signature`). Still what boto3's
// generate_presigned_url produces unless the client is configured for s3v4, and what older tools
// send. It signs neither the payload nor a region, so a body is checked only by Content-MD5 (or an
// x-amz-content-sha256 the client chose to send). `S3_SIGV2=off` turns it away.
//
// StringToSign = Method \n Content-MD5 \n Content-Type \n Date-or-Expires \n
//                CanonicalizedAmzHeaders CanonicalizedResource

import { createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../errors.js';
import type { AuthResult, Credentials, PayloadMode, SigV4Request } from './sigv4.js';
import { MAX_CLOCK_SKEW_MS, UNSIGNED_PAYLOAD, clockSkewed, formatAmzDate, lookupSecret, parseRequestDate } from './sigv4.js';
import { presignExpired, signatureMismatch } from './sigv4-errors.js';

/**
 * Sub-resources that are part of the canonical resource: botocore's HmacV1Auth.QSAOfInterest (the
 * signer most V2 traffic comes from today) plus what AWS and MinIO list. One list only: every one
 * of them chooses the operation (or, response-*, the answer), so a signature that left one out
 * must not be accepted with it added (a presigned download plus `&tagging` would read the tags;
 * an upload URL plus `&retention` would lock the object). Signers with a shorter list (AWS's old
 * V2 documentation) fail for requests that carry a sub-resource outside it, as on S3.
 */
export const SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl', 'delete', 'lifecycle', 'location', 'logging', 'notification', 'partNumber', 'policy', 'requestPayment', 'torrent',
  'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'website', 'response-cache-control',
  'response-content-disposition', 'response-content-encoding', 'response-content-language', 'response-content-type',
  'response-expires', 'accelerate', 'analytics', 'cors', 'defaultObjectAcl', 'encryption', 'inventory', 'legal-hold', 'metrics',
  'object-lock', 'replication', 'restore', 'retention', 'select', 'select-type', 'storageClass', 'tagging',
  // MinIO's ListenBucketNotification: a listing URL must not become a subscription to the bucket's events.
  'events',
  // Routed by s3d, outside botocore's list (its V2 signer cannot make these four requests; a
  // presigned listing plus `&ownershipControls`, a bucket DELETE plus `&publicAccessBlock`, must
  // not run them).
  'ownershipControls', 'publicAccessBlock', 'policyStatus', 'attributes',
  // S3 signs it (its StringToSign names it, as recorded by backlot's tests of 2026-09-29).
  'intelligent-tiering',
  // MinIO's listing extension (`metadata=true`): it chooses the answer, every listed object's
  // user metadata and tags the signer may read, so a presigned listing plus `&metadata=true` must
  // not have it. minio-go's V2 signer leaves it out: its WithMetadata listings need V4.
  'metadata',
]);

/**
 * Sub-resources the SDKs' V2 signers leave out of a bucket's PUT: botocore's (its QSAOfInterest
 * lacks encryption) and aws-sdk-js v2's (its `s3` signer lacks object-lock too). Unsigned, they
 * are accepted only on a PUT to the bucket whose signed Content-MD5 or SHA checksum binds the body
 * (s3d checks it against the bytes): a signature made for another request, a presigned upload,
 * cannot carry an encryption or lock document of the same digest, and the same signature without
 * the sub-resource is a CreateBucket of a bucket that exists, which changes nothing. Not on a key:
 * there the same signature is also a PutObject of the XML (botocore's V2 PutObjectRetention and
 * PutObjectLegalHold, which leave ?retention and ?legal-hold out too, replayed without them wrote
 * the document over the object's data; an upload of such a document, replayed with them, locked
 * it), so retention and legal-hold are always signed, as MinIO's resourceList signs them.
 * Reads and deletes must sign them all.
 */
const SDK_UNSIGNED = new Set(['encryption', 'object-lock']);
const SDK_SIGNED = new Set([...SUBRESOURCES].filter((n) => !SDK_UNSIGNED.has(n)));

const PRESIGN_V2_PARAMS = ['AWSAccessKeyId', 'Signature', 'Expires'] as const;

/**
 * The request carries V2 query authentication: a `Signature` parameter is enough, as S3 reads it
 * (backlot's measurements, 2026-09-29; LocalStack's AWS-validated tests). Without its
 * AWSAccessKeyId or Expires it is refused (authenticateV2Presigned), never served as anonymous: a
 * URL that lost its key (a CloudFront-signed one, `Expires&Signature&Key-Pair-Id`, passed on to the
 * bucket) was served by a public bucket, which S3 answers 403.
 */
export function hasV2PresignParams(query: ReadonlyArray<[string, string]>): boolean {
  return query.some(([n]) => n === 'Signature');
}

/** The Authorization header is a V2 one (`AWS id:signature`). */
export function isV2Authorization(authorization: string): boolean {
  return authorization.trimStart().startsWith('AWS ');
}

/**
 * A query parameter's name as the router reads it (URLSearchParams: `%74agging` is `tagging`, `+`
 * a space). Matched as sent, an encoded sub-resource name was left out of the canonical resource
 * and still chose the operation: `&%74agging` on a presigned download read the tags,
 * `&%78-amz-copy-source=…` on a presigned upload copied another object into it.
 */
function queryName(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  // After '&': URLSearchParams drops a '?' that starts its input, which this part's does not.
  return new URLSearchParams(`&${raw}=`).keys().next().value ?? raw;
}

/**
 * A query parameter's value as the router reads it (URLSearchParams: `+` is a space, `%2B` a
 * plus), as MinIO (url.QueryUnescape) and S3 read it. Decoded with its `+` kept, a value signed as
 * `image%2Fsvg%2Bxml` passed sent as `image%2Fsvg+xml` and was applied as `image/svg xml`; and a
 * client that writes a space as `+` (Go's url.Values.Encode) and signs the space was refused.
 */
function queryValue(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  return new URLSearchParams(`v=${raw}`).get('v') ?? raw;
}

/**
 * Raw query → the sub-resource part of the canonical resource, for one list ('' when none).
 * `bare`: a sub-resource sent with an empty value (`?uploads=`) is written without `=`, as MinIO
 * canonicalizes it and as rclone signs it; botocore signs what it sends.
 */
function subresources(query: string, list: ReadonlySet<string>, bare = false): string {
  if (query === '') return '';
  const picked: Array<[string, string | undefined]> = [];
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const name = queryName(eq < 0 ? part : part.slice(0, eq));
    if (list.has(name)) picked.push([name, eq < 0 ? undefined : queryValue(part.slice(eq + 1))]);
  }
  if (picked.length === 0) return '';
  picked.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `?${picked.map(([n, v]) => (v === undefined || (bare && v === '') ? n : `${n}=${v}`)).join('&')}`;
}

function canonicalAmzHeaders(headers: Record<string, string>): string {
  const names = Object.keys(headers)
    .filter((n) => n.startsWith('x-amz-'))
    .sort();
  let out = '';
  // Repeated headers arrive joined with ',' (server.ts), as V2 wants them; a value's own commas stay.
  for (const n of names) out += `${n}:${headers[n]!.trim()}\n`;
  return out;
}

/**
 * Every canonical resource a V2 signer may have used, most likely first. A bucket's resource is
 * `/bucket/` (AWS's rule, and botocore's), whether or not the request path ended in a slash; a
 * signer that signed the path exactly as sent (`/bucket`) is accepted too. `bodyBound`: a PUT
 * with a signed, non-empty Content-MD5, which may leave out the SDK_UNSIGNED sub-resources if it is
 * a bucket's.
 */
export function canonicalResources(rawPath: string, rawQuery: string, virtualHostBucket: string | undefined, bodyBound = false): string[] {
  const path = (virtualHostBucket === undefined ? '' : `/${virtualHostBucket}`) + rawPath;
  const paths = /^\/[^/]+$/.test(path) ? [`${path}/`, path] : [path];
  const subs = new Set([subresources(rawQuery, SUBRESOURCES), subresources(rawQuery, SUBRESOURCES, true)]);
  if (bodyBound && /^\/[^/]+\/?$/.test(path)) {
    subs.add(subresources(rawQuery, SDK_SIGNED));
    subs.add(subresources(rawQuery, SDK_SIGNED, true));
  }
  return paths.flatMap((p) => [...subs].map((sub) => p + sub));
}

/**
 * A PUT whose body the signature binds (see SDK_UNSIGNED): a signed Content-MD5, or an
 * x-amz-checksum-sha1/-sha256 (every x-amz-* header is signed in V2). A CRC is no binding: a
 * document with a chosen CRC is easy to write.
 */
function bodyBound(req: SigV4Request): boolean {
  if (req.method !== 'PUT') return false;
  const h = req.headers;
  return (h['content-md5'] ?? '').trim() !== '' || h['x-amz-checksum-sha256'] !== undefined || h['x-amz-checksum-sha1'] !== undefined;
}

/**
 * The request with its `x-amz-*` query parameters among its headers, as V2 signs them: boto3's
 * and aws-sdk-js v2's presigners move signed `x-amz-*` headers (metadata, SSE, ACL, tagging) into
 * the URL, and s3d applies query `x-amz-*` values like headers, so they must be signed like
 * headers too (an unsigned one added to a URL would otherwise be applied). A client that also
 * sends the header the URL names sends one value; a header with another value is refused, since
 * the header is what s3d would apply (joined to the signed value, `a` against a URL signing
 * `a,b` split in two, it could pass the signature).
 */
function withQueryAmzHeaders(req: SigV4Request): SigV4Request {
  // A name may come percent-encoded (`%78-amz-…`): the router decodes it, so this does too.
  if (!/(?:^|&)x-amz-/i.test(req.rawQuery) && !req.rawQuery.includes('%')) return req;
  const headers: Record<string, string> = { ...req.headers };
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(req.rawQuery)) {
    const n = name.toLowerCase();
    if (!n.startsWith('x-amz-')) continue;
    // V2 signs a name's values joined with ',', but s3d applies the first: a URL signing one value
    // `a,b` passed split in two parameters and stored `a`. Whichever was signed, one is ambiguous.
    if (seen.has(n)) throw new S3Error('AccessDenied', `The ${n} parameter appears more than once in the URL; a signed URL carries each x-amz-* parameter once.`);
    seen.add(n);
    const sent = req.headers[n];
    if (sent !== undefined && sent !== value) throw new S3Error('AccessDenied', `The ${n} header differs from the value the URL signs.`);
    headers[n] = value;
  }
  return { ...req, headers };
}

export function stringToSignV2(req: SigV4Request, dateOrExpires: string, resource: string): string {
  const h = req.headers;
  return `${req.method}\n${(h['content-md5'] ?? '').trim()}\n${(h['content-type'] ?? '').trim()}\n${dateOrExpires}\n${canonicalAmzHeaders(h)}${resource}`;
}

export function signV2(secret: string, toSign: string): string {
  return createHmac('sha1', secret).update(toSign, 'utf8').digest('base64');
}

function matches(secret: string, request: SigV4Request, dateOrExpires: string, resources: string[], given: string): boolean {
  const req = withQueryAmzHeaders(request);
  const givenBytes = Buffer.from(given, 'utf8');
  let ok = false;
  for (const resource of resources) {
    const expected = Buffer.from(signV2(secret, stringToSignV2(req, dateOrExpires, resource)), 'utf8');
    // Every candidate is computed, so the time taken does not tell which one came close.
    if (expected.length === givenBytes.length && timingSafeEqual(expected, givenBytes)) ok = true;
  }
  return ok;
}

/** SignatureDoesNotMatch naming the string to sign of the request's own resource form. */
function mismatch(request: SigV4Request, dateOrExpires: string, resources: string[], accessKeyId: string, given: string): S3Error {
  return signatureMismatch(accessKeyId, stringToSignV2(withQueryAmzHeaders(request), dateOrExpires, resources[0] ?? ''), given);
}

/**
 * Under Signature V2 an x-amz-content-sha256 other than UNSIGNED-PAYLOAD is only a hash the body
 * has to match, whatever it says: S3 neither checks its form nor reads a STREAMING-* mode in it
 * (OpenStack Swift's AWS-run tests: 'invalid' is ignored on a GET, and a PUT's body, aws-chunked
 * or not, is XAmzContentSHA256Mismatch against it).
 */
export function literalPayloadHash(declared: string | undefined): PayloadMode {
  if (declared === undefined || declared === UNSIGNED_PAYLOAD) return { kind: 'unsigned' };
  return { kind: 'sha256', expectedHex: declared };
}

function payloadOf(headers: Record<string, string>): PayloadMode {
  return literalPayloadHash(headers['x-amz-content-sha256']);
}

function result(accessKeyId: string, payload: PayloadMode, time: number, presigned: boolean): AuthResult {
  return { accessKeyId, payload, seedSignature: '', signingKey: Buffer.alloc(0), scope: '', amzDate: formatAmzDate(new Date(time)), presigned };
}

/** `Authorization: AWS id:signature`. The Date line is empty when x-amz-date is sent (AWS's rule). */
export function authenticateV2Header(req: SigV4Request, authorization: string, creds: Credentials, now: number, virtualHostBucket: string | undefined): AuthResult {
  // One colon and a signature after it (S3's answer, recorded 2026-09-29: a second colon is
  // refused, an empty key id goes on to the date and the key lookup; base64 has no colon).
  const parts = authorization.trim().slice('AWS '.length).trim().split(':');
  if (parts.length !== 2 || parts[1] === '') {
    throw new S3Error('InvalidArgument', 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature', { fields: { ArgumentName: 'Authorization', ArgumentValue: authorization } });
  }
  const [accessKeyId, signature] = parts as [string, string];
  const xAmzDate = req.headers['x-amz-date']?.trim();
  const date = req.headers['date']?.trim();
  const timeText = xAmzDate ?? date;
  let time: number | undefined;
  if (timeText !== undefined) {
    // ISO 8601's basic form or an HTTP date in any of its three forms, in UTC (Date.parse read
    // asctime in the server's time zone, and "hello 12" as a date in 2001: RequestTimeTooSkewed,
    // not AccessDenied); ISO 8601's extended form is no date, as S3 read it (2026-09-29).
    time = parseRequestDate(timeText);
  }
  // S3 takes a date before 1970 for no date at all (AccessDenied), not for a skewed clock.
  if (time === undefined || time < 0) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  // The clock before the key, as S3 judges them (2026-09-29).
  if (Math.abs(now - time) > MAX_CLOCK_SKEW_MS) throw clockSkewed(timeText ?? '', now);
  const secret = lookupSecret(creds, accessKeyId);
  const payload = payloadOf(req.headers);
  const resources = canonicalResources(req.rawPath, req.rawQuery, virtualHostBucket, bodyBound(req));
  const dateOrEmpty = xAmzDate === undefined ? (date ?? '') : '';
  if (!matches(secret, req, dateOrEmpty, resources, signature)) throw mismatch(req, dateOrEmpty, resources, accessKeyId, signature);
  return result(accessKeyId, payload, time, false);
}

/** The earliest time a Date holds (ms); a V2 `Expires` before it is named as that time. */
const EARLIEST_TIME_MS = -8.64e15;
const INT32_MAX = 2n ** 31n - 1n;
const LONG_MIN = -(2n ** 63n);

/**
 * A V2 query's `Expires` as S3 reads it (recorded 2026-09-29): decimal digits with an optional
 * sign and any leading zeros, up to an int32's largest (2147483648, in 2038, is no date), and any
 * negative long (an expired URL); anything else, `1e9` or ` 1` included, is no date (undefined).
 */
function v2ExpiresSeconds(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = BigInt(text);
  if (value > INT32_MAX || value < LONG_MIN) return undefined;
  return Number(value);
}

/** `?AWSAccessKeyId=…&Expires=<epoch seconds>&Signature=…`. */
export function authenticateV2Presigned(req: SigV4Request, query: ReadonlyArray<[string, string]>, creds: Credentials, now: number, virtualHostBucket: string | undefined): AuthResult {
  const params = new Map<string, string>();
  for (const [name, value] of query) {
    if (!(PRESIGN_V2_PARAMS as readonly string[]).includes(name)) continue;
    if (params.has(name)) throw new S3Error('AuthorizationQueryParametersError', `The ${name} parameter is given more than once.`);
    params.set(name, value);
  }
  const expires = params.get('Expires');
  // A missing one is S3's 403 AccessDenied (LocalStack's recording); so is one that is no number
  // of seconds (milliseconds, the common Date.now() slip, included: uppy#1130 quotes S3's answer).
  if (expires === undefined || !params.has('AWSAccessKeyId')) throw new S3Error('AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters');
  const seconds = v2ExpiresSeconds(expires);
  if (seconds === undefined) throw new S3Error('AccessDenied', `Invalid date (should be seconds since epoch): ${expires.slice(0, 64)}`);
  // Its expiry before its key, as S3 judges them (2026-09-29).
  if (now > seconds * 1000) throw presignExpired(Math.max(seconds * 1000, EARLIEST_TIME_MS), now);
  const secret = lookupSecret(creds, params.get('AWSAccessKeyId') ?? '');
  const payload = payloadOf(req.headers);
  const resources = canonicalResources(req.rawPath, req.rawQuery, virtualHostBucket, bodyBound(req));
  // Base64 has no spaces: a '+' some clients leave unescaped in the URL decoded as one.
  const signature = (params.get('Signature') ?? '').replace(/ /g, '+');
  if (!matches(secret, req, expires, resources, signature)) throw mismatch(req, expires, resources, params.get('AWSAccessKeyId')!, signature);
  return result(params.get('AWSAccessKeyId')!, payload, now, true);
}
