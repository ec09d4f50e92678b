// Cross-origin requests (CORS), as MinIO serves them: one server-wide list of allowed origins
// (S3_API_CORS_ALLOW_ORIGIN, default every origin), preflights answered without authentication
// (browsers never sign them), and every response to an allowed origin, errors included, readable
// by the page: all of its headers are exposed, so a browser upload can read the ETag and a
// download its x-amz-meta-* headers. S3 authenticates by signature, never by cookie, so
// allowing an origin grants it nothing a signed request would not have anyway.
import { S3Error } from '../errors.js';
import type { Result } from '../ops/types.js';

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
  for (const a of allowed) {
    const star = a.indexOf('*');
    if (star === -1 ? o === a : o.length >= a.length - 1 && o.startsWith(a.slice(0, star)) && o.endsWith(a.slice(star + 1))) return origin;
  }
  return undefined;
}

/** Whether a request is a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method). */
export function isPreflight(method: string, headers: Readonly<Record<string, string>>): boolean {
  return method === 'OPTIONS' && headers.origin !== undefined && headers['access-control-request-method'] !== undefined;
}

/** The answer to a preflight: 200 with what may be sent, or 403 AccessForbidden. */
export function preflight(headers: Readonly<Record<string, string>>, allowed: readonly string[]): Result {
  const origin = allowedOrigin(headers.origin, allowed);
  const method = (headers['access-control-request-method'] ?? '').trim().toUpperCase();
  if (origin === undefined || !METHODS.includes(method)) {
    throw new S3Error('AccessForbidden', 'CORSResponse: This CORS request is not allowed: the origin or the requested method is not allowed on this server (S3_API_CORS_ALLOW_ORIGIN).');
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
  const expose = new Set(['x-amz-request-id']);
  for (const h of Object.keys(headers)) if (!h.startsWith('access-control-') && h !== 'vary') expose.add(h);
  return {
    ...headers,
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': [...expose].join(', '),
    vary: headers.vary ?? 'Origin',
  };
}
