// Query parameters shared by the listing operations: bounded integers and encoding-type=url.

import { S3Error } from '../errors.js';

/** A non-negative integer parameter, `fallback` when absent, capped at `max`. */
export function intParam(q: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer.`);
  return Math.min(max, Number(raw));
}

/** How keys and prefixes are written back: URL-encoded when `encoding-type=url`. */
export function keyEncoder(q: URLSearchParams): { url: boolean; enc: (s: string) => string } {
  const e = q.get('encoding-type');
  if (e === null || e === '') return { url: false, enc: (s) => s };
  if (e.toLowerCase() !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request');
  return { url: true, enc: uriEncode };
}

/**
 * RFC 3986 encoding of everything but the unreserved characters (what SigV4 canonicalises to):
 * clients such as minio-js send a listing's encoded marker back as it is and sign it raw, so a
 * `(` left unencoded (encodeURIComponent keeps `!'()*`) made the next page SignatureDoesNotMatch.
 */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
