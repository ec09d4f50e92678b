// The Authorization header's shape, read as S3 reads it before any key is looked up: one space
// after the scheme, the scheme itself, the three components of a Signature V4 header, and the
// headers a signature has to cover. S3's words for each refusal were recorded against us-east-1
// on 2026-09-29 (backlot's `_REFUSAL_ROWS_UNIT`; test/integration/aws-recorded-auth.test.ts).

import { S3Error } from '../errors.js';

const V4_SCHEME = 'AWS4-HMAC-SHA256';

function invalidAuthorization(message: string, authorization: string): S3Error {
  return new S3Error('InvalidArgument', message, { fields: { ArgumentName: 'Authorization', ArgumentValue: authorization } });
}

/**
 * S3's first look at any Authorization header: a scheme with nothing after it (`AWS4-HMAC-SHA256`
 * alone, or any other word), and a Signature Version 2 header with more than its one space
 * (`AWS  id:signature`), are refused before the scheme is read. An empty header is left to the
 * scheme's check.
 */
export function requireOneSpace(authorization: string): void {
  const value = authorization.trim();
  if (value === '') return;
  const space = value.indexOf(' ');
  if (space < 0 || (value.slice(0, space) === 'AWS' && value.indexOf(' ', space + 1) >= 0)) {
    throw invalidAuthorization("Authorization header is invalid -- one and only one ' ' (space) required", authorization);
  }
}

/**
 * The scheme of a header `authenticate` did not take for Signature V2: SigV4's, or a refusal.
 * SigV4a, and Signature Version 2 when S3_SIGV2=off, are mechanisms S3 knows and s3d does not take.
 */
export function requireV4Scheme(authorization: string): void {
  const trimmed = authorization.trim();
  const space = trimmed.search(/\s/);
  const scheme = space < 0 ? trimmed : trimmed.slice(0, space);
  if (scheme === 'AWS4-ECDSA-P256-SHA256' || scheme === 'AWS') {
    throw new S3Error('InvalidSignatureTypeError', `The authorization mechanism you have provided is not supported. Please use ${V4_SCHEME}.`);
  }
  // Any other scheme (a Bearer token, a header whose Credential= went missing): S3's answer,
  // checked against s3.amazonaws.com by SeaweedFS's error-compatibility script.
  if (scheme !== V4_SCHEME) throw invalidAuthorization('Unsupported Authorization Type', authorization);
}

export interface AuthorizationHeader {
  credential: string;
  signedHeaders: string;
  signature: string;
}

function malformed(message: string): S3Error {
  return new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${message}`);
}

/** The three components of a SigV4 header (its scheme already checked by requireV4Scheme). */
export function parseAuthorizationHeader(value: string): AuthorizationHeader {
  const trimmed = value.trim();
  const space = trimmed.search(/\s/);
  const rest = space < 0 ? '' : trimmed.slice(space + 1).trim();
  const three = (): S3Error => malformed('the authorization header requires three components: Credential, SignedHeaders, and Signature.');
  const fields = new Map<string, string>();
  if (rest !== '') {
    for (const raw of rest.split(',')) {
      const part = raw.trim();
      const eq = part.indexOf('=');
      // A component that is no `name=value` at all (`AWS4-HMAC-SHA256 nonsense`, S3's answer).
      if (eq < 0 && part !== '') throw three();
      const key = eq < 0 ? '' : part.slice(0, eq);
      if ((key !== 'Credential' && key !== 'SignedHeaders' && key !== 'Signature') || fields.has(key)) {
        throw malformed(`the authorization component "${part}" is malformed.`);
      }
      fields.set(key, part.slice(eq + 1));
    }
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) throw three();
  return { credential, signedHeaders, signature };
}

/**
 * Headers a signature has to cover and did not, refused with S3's AccessDenied naming them in
 * HeadersNotSigned: every x-amz-* header sent (`exempt` names those S3 lets through unsigned),
 * with `strict` (an Authorization header's signature) a Content-MD5 sent, and with `strict` or
 * `host` (a presigned URL's) `host` whether sent or not. S3 lists the x-amz-* names first,
 * sorted, then the others.
 */
export function requireHeadersSigned(headers: Record<string, string>, signed: readonly string[], options: { exempt?: ReadonlySet<string>; strict?: boolean; host?: boolean } = {}): void {
  const set = new Set(signed);
  const unsigned = Object.keys(headers)
    .filter((name) => name.startsWith('x-amz-') && !set.has(name) && options.exempt?.has(name) !== true)
    .sort();
  if (options.strict === true && headers['content-md5'] !== undefined && !set.has('content-md5')) unsigned.push('content-md5');
  if ((options.strict === true || options.host === true) && !set.has('host')) unsigned.push('host');
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', { fields: { HeadersNotSigned: unsigned.join(', ') } });
  }
}
