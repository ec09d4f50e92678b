// Cross-origin requests (CORS), as MinIO serves them: one server-wide list of allowed origins
// (S3_API_CORS_ALLOW_ORIGIN, default every origin), preflights answered without authentication
// (browsers never sign them), and every response to an allowed origin, errors included, readable
// by the page: all of its headers are exposed, so a browser upload can read the ETag and a
// download its x-amz-meta-* headers. S3 authenticates by signature, never by cookie, so
// allowing an origin grants it nothing a signed request would not have anyway. A bucket with its
// own CORS rules (PutBucketCors) is answered by those instead, as S3 evaluates them.
import { S3Error } from '../errors.js';
import type { CorsRule } from '../meta/records.js';
import type { Result } from '../ops/types.js';

/** An HTTP field name (RFC 9110 token). */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Methods a preflight may ask for. */
const METHODS = ['GET', 'PUT', 'HEAD', 'POST', 'DELETE'];
const MAX_AGE_SECONDS = '3600';

/**
 * Parses S3_API_CORS_ALLOW_ORIGIN: `*` (any origin, the default), `off` (none), or a comma list
 * of origins (`https://app.example.com`), each with at most one `*` standing for any run of
 * characters (`https://*.example.com`). Throws a message naming what is wrong.
 */
export function parseCorsOrigins(raw: string | undefined): readonly string[] {
  const value = (raw ?? '').trim();
  if (value === '' || value === '*') return ['*'];
  if (value.toLowerCase() === 'off') return [];
  const out: string[] = [];
  for (const entry of value.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    if (entry === '*') return ['*'];
    if ((entry.match(/\*/g) ?? []).length > 1) throw new Error(`"${entry}" has more than one "*"`);
    if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i.test(entry)) throw new Error(`"${entry}" is not an origin like https://app.example.com`);
    out.push(entry.toLowerCase());
  }
  return out;
}

/** The Origin value to echo when `origin` is allowed, else undefined. */
export function allowedOrigin(origin: string | undefined, allowed: readonly string[]): string | undefined {
  if (origin === undefined || origin === '' || allowed.length === 0) return undefined;
  if (allowed[0] === '*') return origin;
  const o = origin.toLowerCase();
  for (const a of allowed) if (wildcardMatch(a, o)) return origin;
  return undefined;
}

/** Whether `value` matches `pattern` (both lower-case), where one `*` stands for any run of characters. */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*');
  if (star === -1) return value === pattern;
  return value.length >= pattern.length - 1 && value.startsWith(pattern.slice(0, star)) && value.endsWith(pattern.slice(star + 1));
}

/**
 * The answer to an OPTIONS request, which S3 takes as a CORS preflight (RESTOPTIONSobject: Origin
 * and Access-Control-Request-Method are required): 400 BadRequest without an Origin or with a
 * method that is not one of S3's, else 200 with what may be sent, or 403 AccessForbidden. With the
 * rules of a bucket that has some, they decide; the matching rule's headers come with the response
 * as with every response to the request (`responseCors`).
 */
export function preflight(headers: Readonly<Record<string, string>>, allowed: readonly string[], bucketRules?: readonly CorsRule[], resourceType: 'BUCKET' | 'OBJECT' = 'BUCKET'): Result {
  if ((headers.origin ?? '') === '') throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  // Methods are case-sensitive (RFC 9110); browsers send S3's in upper case.
  const asked = headers['access-control-request-method'];
  if (asked === undefined || !METHODS.includes(asked.trim())) {
    throw new S3Error('BadRequest', `Invalid Access-Control-Request-Method: ${asked ?? 'null'}`);
  }
  for (const name of requestedHeaders(headers) ?? []) {
    if (!HTTP_TOKEN.test(name)) throw new S3Error('BadRequest', `Access-Control-Request-Headers "${name}" contains invalid character.`);
  }
  // A refusal names the method asked for and what the path names, as S3's does.
  const refused = { Method: asked.trim(), ResourceType: resourceType };
  if (bucketRules !== undefined) {
    if (matchBucketCors(bucketRules, 'OPTIONS', headers) === undefined) throw new S3Error('AccessForbidden', BUCKET_REFUSAL, { fields: refused });
    return { status: 200 };
  }
  // The method is one of S3's (checked above): the origin decides.
  const origin = allowedOrigin(headers.origin, allowed);
  if (origin === undefined) {
    throw new S3Error('AccessForbidden', 'CORSResponse: This CORS request is not allowed: the origin is not allowed on this server (S3_API_CORS_ALLOW_ORIGIN).', { fields: refused });
  }
  const out: Record<string, string> = {
    'access-control-allow-methods': METHODS.join(', '),
    'access-control-max-age': MAX_AGE_SECONDS,
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  };
  // Any request header may be sent: signatures, x-amz-* and checksums are all needed by clients.
  const requested = headers['access-control-request-headers'];
  if (requested !== undefined && requested.trim() !== '') out['access-control-allow-headers'] = requested;
  return { status: 200, headers: out };
}

/** `headers` plus what makes the response readable by `origin`'s page: every header it carries. */
export function withCorsHeaders(origin: string, headers: Readonly<Record<string, string>>): Record<string, string> {
  const expose = new Set(['x-amz-request-id', 'x-amz-id-2']);
  for (const h of Object.keys(headers)) if (!h.startsWith('access-control-') && h !== 'vary') expose.add(h);
  return {
    ...headers,
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': [...expose].join(', '),
    vary: headers.vary ?? 'Origin',
  };
}

// ---- per-bucket rules (PutBucketCors)

/** S3's words for a request no rule of the bucket admits. */
const BUCKET_REFUSAL =
  "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";
const BUCKET_VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';

/** The header names of Access-Control-Request-Headers, lower-case, or undefined when none were asked for. */
function requestedHeaders(headers: Readonly<Record<string, string>>): string[] | undefined {
  const raw = headers['access-control-request-headers'];
  if (raw === undefined) return undefined;
  const names = raw.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  return names.length === 0 ? undefined : names;
}

/**
 * The first of a bucket's rules that admits the request, as S3 evaluates them: the Origin matches
 * one of its AllowedOrigin (one `*` standing for any run of characters; compared as sent,
 * case and all, as S3 does: minio-go's CORS suite, written against S3, has a rule for
 * `http://UPPERCASEEXAMPLE.com` refuse the origin `http://uppercaseexample.com`, which is what a
 * browser sends), the method is one of its AllowedMethod, and every header named in
 * Access-Control-Request-Headers matches one of its AllowedHeader. The method is
 * Access-Control-Request-Method whenever that is sent, on any request (S3 evaluates a GET that
 * carries it as a preflight too), else the request's own.
 */
export function matchBucketCors(rules: readonly CorsRule[], method: string, headers: Readonly<Record<string, string>>): CorsRule | undefined {
  const origin = headers.origin;
  if (origin === undefined || origin === '') return undefined;
  const m = headers['access-control-request-method']?.trim().toUpperCase() ?? method;
  const asked = requestedHeaders(headers);
  return rules.find(
    (r) =>
      r.allowedMethods.includes(m) &&
      r.allowedOrigins.some((o) => wildcardMatch(o, origin)) &&
      (asked === undefined || asked.every((h) => (r.allowedHeaders ?? []).some((a) => wildcardMatch(a.toLowerCase(), h)))),
  );
}

/**
 * What S3 adds to the response when a rule admits the request: the origin (`*` when the rule
 * allows every origin, then without credentials), the rule's methods, the headers asked for, the
 * rule's ExposeHeader and MaxAgeSeconds.
 */
function bucketCorsHeaders(rule: CorsRule, headers: Readonly<Record<string, string>>): Record<string, string> {
  const any = rule.allowedOrigins.includes('*');
  const out: Record<string, string> = { 'access-control-allow-origin': any ? '*' : headers.origin! };
  if (!any) out['access-control-allow-credentials'] = 'true';
  out['access-control-allow-methods'] = rule.allowedMethods.join(', ');
  const asked = requestedHeaders(headers);
  if (asked !== undefined) out['access-control-allow-headers'] = asked.join(', ');
  if (rule.exposeHeaders !== undefined && rule.exposeHeaders.length > 0) out['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) out['access-control-max-age'] = String(rule.maxAgeSeconds);
  out.vary = BUCKET_VARY;
  return out;
}

/** Adds the CORS headers of one request to each of its responses (errors included). */
export type CorsDecorator = (headers: Readonly<Record<string, string>>) => Record<string, string>;

/**
 * How the responses to a request that carries Origin become readable by the page: by the bucket's
 * first matching rule when the bucket has rules, else by the server-wide list. A refused origin
 * gets no CORS header (the request itself still goes ahead) but the same Vary as an allowed one:
 * the answer depends on Origin either way, and a shared cache that stored a refused origin's
 * answer without it would serve that to an allowed origin's page (S3 sends Vary only when a rule
 * matches; MinIO's server-wide CORS sends `Vary: Origin` on every response). Undefined (nothing
 * added) only when nothing could be allowed: no bucket rules and the server-wide list `off`.
 */
export function responseCors(
  method: string,
  headers: Readonly<Record<string, string>>,
  allowed: readonly string[],
  bucketRules: readonly CorsRule[] | undefined,
): CorsDecorator | undefined {
  if (bucketRules !== undefined) {
    const rule = matchBucketCors(bucketRules, method, headers);
    if (rule === undefined) return (h) => ({ ...h, vary: h.vary ?? BUCKET_VARY });
    const extra = bucketCorsHeaders(rule, headers);
    return (h) => ({ ...h, ...extra });
  }
  if (allowed.length === 0) return undefined;
  const origin = allowedOrigin(headers.origin, allowed);
  return origin === undefined ? (h) => ({ ...h, vary: h.vary ?? 'Origin' }) : (h) => withCorsHeaders(origin, h);
}
