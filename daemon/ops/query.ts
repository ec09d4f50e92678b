// Query parameters shared by the listing operations: bounded integers and encoding-type=url.

import { S3Error } from '../errors.js';

const INT32_MAX = 2 ** 31 - 1;

/**
 * A non-negative integer parameter, `fallback` when absent, capped at `max`. S3 reads these as
 * 32-bit signed integers: a value past 2147483647 is 400 InvalidArgument there, not a big page.
 */
export function intParam(q: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  // S3's two answers (as moto and LocalStack recorded them): a value that is no 32-bit integer
  // names the parameter as written; a negative one names it as S3's code does (`maxKeys` for
  // max-keys, the others as written), and its value as read (`-01` as `-1`: backlot's tests,
  // measured 2026-09-11 and 09-14).
  refuseNonInteger(q, name);
  if (raw.startsWith('-') && Number(raw) !== 0) {
    const argument = name === 'max-keys' ? 'maxKeys' : name;
    throw new S3Error('InvalidArgument', `Argument ${argument} must be an integer between 0 and ${INT32_MAX}`, { fields: { ArgumentName: argument, ArgumentValue: String(Number(raw)) } });
  }
  return Math.min(max, Number(raw) + 0); // + 0: `-0` is 0
}

/**
 * The first of intParam's two refusals alone, a value that is no 32-bit integer: what S3 refuses
 * before it looks the bucket up where the range is judged after it.
 */
export function refuseNonInteger(q: URLSearchParams, name: string): void {
  const raw = q.get(name);
  if (raw === null || raw === '') return;
  if (!/^-?\d+$/.test(raw) || Number(raw) > INT32_MAX || Number(raw) < -INT32_MAX - 1) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, { fields: { ArgumentName: name, ArgumentValue: raw } });
  }
}

/**
 * How keys and prefixes are written back: URL-encoded when `encoding-type=url`, in any case.
 * `encodingType`: the answer's EncodingType, the value as sent (`URL` as `URL`), as S3 echoes it in
 * the four listings (backlot's measurements, 2026-09-29: both spellings); absent when not asked.
 */
export function keyEncoder(q: URLSearchParams): { encodingType?: string; enc: (s: string) => string } {
  const e = q.get('encoding-type');
  if (e === null) return { enc: (s) => s };
  // An empty value is refused as an unknown one is, naming the argument: S3's answers to both, as
  // LocalStack recorded them against AWS for the four listings.
  if (e.toLowerCase() !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { fields: { ArgumentName: 'encoding-type', ArgumentValue: e } });
  return { encodingType: e, enc: uriEncode };
}

/**
 * S3's encoding of listed names (MinIO's s3URLEncode copies it): the UTF-8 bytes, percent-encoded
 * in upper-case hex, except letters, digits, `-_.` and `/` and `*`; a space is `+`, so `+` itself
 * is `%2B`. Measured on S3: `a b` → `a+b`, `a+b` → `a%2Bb`, `100%` → `100%25`, `한글/x` →
 * `%ED%95%9C%EA%B8%80/x`. A `/` encoded reached users: botocore decodes Key, CommonPrefixes and
 * markers (unquote_plus) but not a v1 listing's Prefix, so `aws s3api list-objects --prefix x/`
 * printed `x%2F`.
 */
function uriEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/');
}
