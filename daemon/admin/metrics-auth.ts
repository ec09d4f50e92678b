// Who may scrape the metrics (S3_PROMETHEUS_AUTH_TYPE, as MinIO's MINIO_PROMETHEUS_AUTH_TYPE):
// `jwt` (the default) asks for `Authorization: Bearer <token>`, a JSON Web Token signed with
// HMAC-SHA256/384/512 under the root user's secret key, whose `sub` is the root user's access key
// (what `mc admin prometheus generate` writes into a scrape job, and `s3d metrics-token` prints);
// `public` answers anyone. The metrics name every bucket, its usage and the KMS keys in use: not
// for whoever reaches the port.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type PrometheusAuth = 'jwt' | 'public';
export const PROMETHEUS_AUTH_TYPES: readonly PrometheusAuth[] = ['jwt', 'public'];

const ALGORITHMS: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/** A token lives 100 years unless told otherwise, as mc's do. */
const DEFAULT_LIFETIME_S = 100 * 365 * 24 * 3600;

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A token for `accessKey` signed with `secretKey` (HS512, issuer `prometheus`, as mc writes them). */
export function metricsToken(accessKey: string, secretKey: string, nowMs = Date.now(), lifetimeS = DEFAULT_LIFETIME_S): string {
  const head = base64url(JSON.stringify({ alg: 'HS512', typ: 'JWT' }));
  const body = base64url(JSON.stringify({ exp: Math.floor(nowMs / 1000) + lifetimeS, sub: accessKey, iss: 'prometheus' }));
  const signature = createHmac('sha512', secretKey).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

/** A base64url JSON object, or undefined. */
function jsonPart(part: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a scrape's Authorization header does not let it read the metrics, or undefined when it
 * does: a bearer token whose `sub` is `rootUser`, signed with `rootSecret` (HS256, HS384 or HS512;
 * `none` and public-key algorithms are refused), not expired (`exp`) and already valid (`nbf`).
 */
export function metricsAuthProblem(authorization: string | undefined, rootUser: string, rootSecret: string, nowMs = Date.now()): string | undefined {
  const m = /^Bearer +(\S+)$/i.exec(authorization?.trim() ?? '');
  if (m === null) return 'no bearer token (Authorization: Bearer <JWT>)';
  const parts = m[1]!.split('.');
  if (parts.length !== 3) return 'the bearer token is no JSON Web Token';
  const [headPart, bodyPart, signaturePart] = parts as [string, string, string];
  const head = jsonPart(headPart);
  const body = jsonPart(bodyPart);
  if (head === undefined || body === undefined || !/^[A-Za-z0-9_-]+$/.test(signaturePart)) return 'the bearer token is no JSON Web Token';
  const hash = typeof head.alg === 'string' ? ALGORITHMS[head.alg] : undefined;
  if (hash === undefined) return `the token's algorithm ${JSON.stringify(head.alg)} is not HS256, HS384 or HS512`;
  // MinIO reads the access key from `sub`, or from its own `accessKey` claim.
  const subject = typeof body.sub === 'string' ? body.sub : body.accessKey;
  if (subject !== rootUser) return 'the token is not the root user\u2019s';
  const expected = createHmac(hash, rootSecret).update(`${headPart}.${bodyPart}`).digest();
  const given = Buffer.from(signaturePart, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the token\u2019s signature does not match';
  const now = nowMs / 1000;
  if (body.exp !== undefined && !(typeof body.exp === 'number' && now < body.exp)) return 'the token has expired';
  if (body.nbf !== undefined && !(typeof body.nbf === 'number' && now >= body.nbf)) return 'the token is not valid yet';
  return undefined;
}
