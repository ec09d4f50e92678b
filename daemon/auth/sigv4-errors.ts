// The error answers of Signature Version 4 (and the V2 and POST checks that share them), in S3's
// words and with the fields S3 puts in them: malformed Authorization headers and query
// parameters, SignatureDoesNotMatch with its strings to sign (secrets masked), expired URLs.
import { S3Error } from '../errors.js';

/**
 * A request signed for another region names the right one twice, as S3 does: `<Region>` in the
 * body, and `x-amz-bucket-region` for a HEAD, which has no body. botocore (the aws CLI, boto3) and
 * the JavaScript SDK's followRegionRedirects re-sign a HEAD only when that header is there.
 */
function wrongRegion(region: string | undefined): { fields: Record<string, string>; headers: Record<string, string> } | undefined {
  return region === undefined ? undefined : { fields: { Region: region }, headers: { 'x-amz-bucket-region': region } };
}

export function noDate(): S3Error {
  return new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
}

export function headerMalformed(message: string, region?: string): S3Error {
  return new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${message}`, wrongRegion(region));
}

export function queryMalformed(message: string, region?: string): S3Error {
  return new S3Error('AuthorizationQueryParametersError', message, wrongRegion(region));
}

/**
 * SignatureDoesNotMatch with what S3 puts in it: the access key, the string to sign and the
 * canonical request the server computed, and the signature given (what a client's author compares
 * with their own signer's), with SSE-C keys and session tokens masked.
 */
export function signatureMismatch(accessKeyId: string, stringToSign: string, signatureProvided: string, canonicalRequest?: string): S3Error {
  const toSign = maskCustomerKeys(stringToSign);
  const canonical = canonicalRequest === undefined ? undefined : maskCustomerKeys(canonicalRequest);
  // S3 adds each text's UTF-8 bytes in hex ("47 45 54 0a …"): a client comparing its own string to
  // sign sees there a non-ASCII or invisible character the text hides.
  return new S3Error('SignatureDoesNotMatch', undefined, {
    fields: {
      AWSAccessKeyId: accessKeyId,
      StringToSign: toSign,
      SignatureProvided: signatureProvided,
      StringToSignBytes: hexBytes(toSign),
      ...(canonical === undefined ? {} : { CanonicalRequest: canonical, CanonicalRequestBytes: hexBytes(canonical) }),
    },
  });
}

function hexBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

/**
 * SSE-C keys and session tokens in a canonical request or V2 string to sign (header lines
 * `name:value`, query parameters `name=value`) as `***`: an error body ends up in SDK debug logs,
 * proxies and application logs, which must not hold the key or the token (a presigned URL's
 * X-Amz-Security-Token included). The key's MD5 stays.
 */
function maskCustomerKeys(text: string): string {
  return text.replace(/(x-amz-(?:copy-source-)?server-side-encryption-customer-key|x-amz-security-token)([:=])[^\n&]*/gi, '$1$2***');
}

/** A time as S3's error bodies write it: ISO 8601 to the second (`2025-09-03T16:21:50Z`), no milliseconds. */
export function errorTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** An expired presigned URL: AccessDenied with when it expired and the server's time, as on S3. */
export function presignExpired(expiresAt: number, now: number, expiresSeconds?: number): S3Error {
  return new S3Error('AccessDenied', 'Request has expired', {
    fields: {
      ...(expiresSeconds === undefined ? {} : { 'X-Amz-Expires': String(expiresSeconds) }),
      Expires: errorTime(expiresAt),
      ServerTime: errorTime(now),
    },
  });
}

export function credentialQueryMalformed(message: string, region?: string): S3Error {
  return queryMalformed(`Error parsing the X-Amz-Credential parameter; ${message}`, region);
}
