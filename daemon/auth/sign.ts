// Signing requests with SigV4 (the Authorization header, presigned URLs): for tests, the bench
// and tools that talk to the daemon. The daemon verifies signatures in sigv4.ts.
import { ALGORITHM, MAX_PRESIGNED_EXPIRES, UNSIGNED_PAYLOAD, canonicalRequest, deriveSigningKey, formatAmzDate, signatureHex, stringToSign, uriEncode } from './sigv4.js';

export interface SigningInput {
  method: string;
  /** percent-encoded path as it will be sent */
  rawPath: string;
  rawQuery?: string;
  /** lower-case names; must include host */
  headers: Record<string, string>;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  now?: Date;
  service?: string;
}

/**
 * Signs a request with the Authorization header. Adds x-amz-date and x-amz-content-sha256
 * (default UNSIGNED-PAYLOAD) and signs every header given. Returns the headers to send.
 */
export function signRequest(input: SigningInput & { payloadHash?: string }): { headers: Record<string, string>; signature: string } {
  const service = input.service ?? 's3';
  const amzDate = formatAmzDate(input.now ?? new Date());
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...input.headers, 'x-amz-date': amzDate };
  headers['x-amz-content-sha256'] ??= input.payloadHash ?? UNSIGNED_PAYLOAD;
  const signedHeaders = Object.keys(headers).sort();
  const scope = `${date}/${input.region}/${service}/aws4_request`;
  const canonical = canonicalRequest({
    method: input.method,
    rawPath: input.rawPath,
    rawQuery: input.rawQuery ?? '',
    headers,
    signedHeaders,
    payloadHash: headers['x-amz-content-sha256'],
  });
  const signature = signatureHex(deriveSigningKey(input.secretAccessKey, date, input.region, service), stringToSign(amzDate, scope, canonical));
  headers['authorization'] = `${ALGORITHM} Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return { headers, signature };
}

/**
 * Builds a presigned URL's path and query ("/path?query"). Every header given is signed.
 * The payload hash is UNSIGNED-PAYLOAD unless payloadHash is given (then sent as X-Amz-Content-Sha256).
 */
export function presignUrl(input: SigningInput & { expiresIn: number; payloadHash?: string }): string {
  // 0 is refused as S3 refuses it: a URL that has expired when it is made.
  if (!Number.isInteger(input.expiresIn) || input.expiresIn < 1 || input.expiresIn > MAX_PRESIGNED_EXPIRES) {
    throw new RangeError(`presignUrl: expiresIn must be an integer in 1..${MAX_PRESIGNED_EXPIRES}`);
  }
  const service = input.service ?? 's3';
  const amzDate = formatAmzDate(input.now ?? new Date());
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${service}/aws4_request`;
  const signedHeaders = Object.keys(input.headers).sort();
  const params: Array<[string, string]> = [
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${input.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(input.expiresIn)],
    ['X-Amz-SignedHeaders', signedHeaders.join(';')],
  ];
  if (input.payloadHash !== undefined) params.push(['X-Amz-Content-Sha256', input.payloadHash]);
  const added = params.map(([n, v]) => `${n}=${uriEncode(v)}`).join('&');
  const rawQuery = input.rawQuery === undefined || input.rawQuery === '' ? added : `${input.rawQuery}&${added}`;
  const canonical = canonicalRequest({
    method: input.method,
    rawPath: input.rawPath,
    rawQuery,
    headers: input.headers,
    signedHeaders,
    payloadHash: input.payloadHash ?? UNSIGNED_PAYLOAD,
    presigned: true,
  });
  const signature = signatureHex(deriveSigningKey(input.secretAccessKey, date, input.region, service), stringToSign(amzDate, scope, canonical));
  return `${input.rawPath}?${rawQuery}&X-Amz-Signature=${signature}`;
}
