// Who may scrape the metrics (S3_PROMETHEUS_AUTH_TYPE, as MinIO's MINIO_PROMETHEUS_AUTH_TYPE):
// `jwt` (the default) asks for `Authorization: Bearer <token>`, a JSON Web Token (what
// `mc admin prometheus generate` writes into a scrape job, and `s3d metrics-token` prints) of the
// root user or of an S3_IAM_FILE user whose policies allow `admin:Prometheus`, signed with HMAC-SHA
// 256/384/512 under that user's secret key, issuer `prometheus`; `public` answers anyone. The
// metrics name every bucket, its usage and the KMS keys in use: not for whoever reaches the port.
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

/** The issuer MinIO asks of a metrics token (cmd/metrics.go AuthMiddleware), which mc writes. */
export const METRICS_TOKEN_ISSUER = 'prometheus';

/**
 * Who a scrape's Authorization header is (the access key its token names and is signed for), or
 * why it does not let it read the metrics. As MinIO checks one (cmd/jwt.go
 * metricsRequestAuthenticate, internal/jwt, jwt-go v4's MapClaims.Valid): `Bearer <JWT>`, the
 * algorithm HS256, HS384 or HS512 (`none` and public-key algorithms refused: the key is always the
 * named user's secret, whatever the header says), the access key from `accessKey` or else `sub`,
 * the HMAC under `secretOf(accessKey)` (undefined: no such user), `iss` exactly `prometheus`; then
 * `exp` (optional, as mc always writes it and MinIO does not ask for it) not past, `nbf` and `iat`
 * (optional) not in the future; a time claim that is no number is refused. Whether that user may
 * read the metrics (admin:Prometheus) is the caller's question.
 */
export function metricsTokenUser(authorization: string | undefined, secretOf: (accessKey: string) => string | undefined, nowMs = Date.now()): { accessKey: string } | { problem: string } {
  const m = /^Bearer +(\S+)$/i.exec(authorization?.trim() ?? '');
  if (m === null) return { problem: 'no bearer token (Authorization: Bearer <JWT>)' };
  const parts = m[1]!.split('.');
  if (parts.length !== 3) return { problem: 'the bearer token is no JSON Web Token' };
  const [headPart, bodyPart, signaturePart] = parts as [string, string, string];
  const head = jsonPart(headPart);
  const body = jsonPart(bodyPart);
  if (head === undefined || body === undefined || !/^[A-Za-z0-9_-]+$/.test(signaturePart)) return { problem: 'the bearer token is no JSON Web Token' };
  const hash = typeof head.alg === 'string' ? ALGORITHMS[head.alg] : undefined;
  if (hash === undefined) return { problem: `the token's algorithm ${JSON.stringify(head.alg)} is not HS256, HS384 or HS512` };
  // A header parameter that must be understood (RFC 7515 §4.1.11): none is, so such a token is not taken.
  if (head.crit !== undefined) return { problem: 'the token has critical header parameters ("crit")' };
  // MinIO reads the access key from its own `accessKey` claim, or from `sub`.
  const named = typeof body.accessKey === 'string' ? body.accessKey : body.sub;
  if (typeof named !== 'string' || named === '') return { problem: 'the token names no access key (sub)' };
  const secret = secretOf(named);
  if (secret === undefined) return { problem: `the token's access key ${JSON.stringify(named)} is not the root user's nor an S3_IAM_FILE user's` };
  const expected = createHmac(hash, secret).update(`${headPart}.${bodyPart}`).digest();
  const given = Buffer.from(signaturePart, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { problem: 'the token\u2019s signature does not match' };
  if (body.iss !== METRICS_TOKEN_ISSUER) return { problem: `the token's issuer (iss) is not "${METRICS_TOKEN_ISSUER}"` };
  const now = nowMs / 1000;
  const time = (claim: unknown): number | undefined | null => (claim === undefined ? undefined : typeof claim === 'number' && Number.isFinite(claim) ? claim : null);
  const [exp, nbf, iat] = [time(body.exp), time(body.nbf), time(body.iat)];
  if (exp === null || (exp !== undefined && now >= exp)) return { problem: 'the token has expired' };
  if (nbf === null || (nbf !== undefined && now < nbf)) return { problem: 'the token is not valid yet (nbf)' };
  if (iat === null || (iat !== undefined && now < iat)) return { problem: 'the token was issued in the future (iat)' };
  return { accessKey: named };
}
