// daemon/admin/metrics-auth.ts: the bearer tokens the metrics take under S3_PROMETHEUS_AUTH_TYPE=jwt.
// The tokens here are written by hand (header, claims, HMAC), as mc admin prometheus generate and
// other JWT libraries write them, not by metricsToken, which is checked against them.
import t from 'tap';
import { createHmac } from 'node:crypto';
import { metricsAuthProblem, metricsToken } from '../../../../daemon/admin/metrics-auth.js';

const ROOT = 'rootuser';
const SECRET = 'root-secret-key';
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
function jwt(claims: Record<string, unknown>, opts: { alg?: string; hash?: string; secret?: string } = {}): string {
  const head = b64({ alg: opts.alg ?? 'HS512', typ: 'JWT' });
  const body = b64(claims);
  const sig = createHmac(opts.hash ?? 'sha512', opts.secret ?? SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}
const problem = (authorization: string | undefined): string | undefined => metricsAuthProblem(authorization, ROOT, SECRET, NOW);
const exp = NOW / 1000 + 3600;

t.test('a token of the root user, signed with its secret: taken', async (t) => {
  t.equal(problem(`Bearer ${jwt({ exp, sub: ROOT, iss: 'prometheus' })}`), undefined, 'as mc admin prometheus generate writes it (HS512, sub, iss)');
  t.equal(problem(`Bearer ${jwt({ exp, sub: ROOT }, { alg: 'HS256', hash: 'sha256' })}`), undefined, 'HS256');
  t.equal(problem(`Bearer ${jwt({ exp, sub: ROOT }, { alg: 'HS384', hash: 'sha384' })}`), undefined, 'HS384');
  t.equal(problem(`Bearer ${jwt({ exp, accessKey: ROOT })}`), undefined, 'MinIO\u2019s own accessKey claim');
  t.equal(problem(`Bearer ${jwt({ sub: ROOT })}`), undefined, 'without an expiry');
  t.equal(problem(`bearer  ${jwt({ exp, sub: ROOT })}`), undefined, 'the scheme in any case, spaces after it');
  t.equal(problem(`Bearer ${metricsToken(ROOT, SECRET, NOW)}`), undefined, 'metricsToken (s3d metrics-token)');
  const claims = JSON.parse(Buffer.from(metricsToken(ROOT, SECRET, NOW).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  t.same(claims, { exp: Math.floor(NOW / 1000) + 100 * 365 * 24 * 3600, sub: ROOT, iss: 'prometheus' }, 'its claims: mc\u2019s, 100 years');
});

t.test('anything else: refused, saying why', async (t) => {
  t.match(problem(undefined), /no bearer token/);
  t.match(problem('Basic dXNlcjpwYXNz'), /no bearer token/);
  t.match(problem('Bearer abc'), /no JSON Web Token/);
  t.match(problem('Bearer a.b.c'), /no JSON Web Token/);
  t.match(problem(`Bearer ${jwt({ exp, sub: ROOT }, { secret: 'another-secret' })}`), /signature does not match/, 'another secret');
  t.match(problem(`Bearer ${jwt({ exp, sub: 'someone' })}`), /not the root user/, 'another access key');
  t.match(problem(`Bearer ${jwt({ exp })}`), /not the root user/, 'no subject');
  t.match(problem(`Bearer ${jwt({ exp: NOW / 1000 - 1, sub: ROOT })}`), /expired/);
  t.match(problem(`Bearer ${jwt({ exp: String(exp), sub: ROOT })}`), /expired/, 'an expiry that is no number');
  t.match(problem(`Bearer ${jwt({ exp, nbf: NOW / 1000 + 60, sub: ROOT })}`), /not valid yet/);
  t.match(problem(`Bearer ${jwt({ exp, sub: ROOT }, { alg: 'none' })}`), /algorithm "none"/, 'alg none');
  t.match(problem(`Bearer ${jwt({ exp, sub: ROOT }, { alg: 'RS256' })}`), /algorithm "RS256"/, 'a public-key algorithm');
  // The header says HS256 but the MAC is HS512's: judged by the header's algorithm, so refused.
  t.match(problem(`Bearer ${jwt({ exp, sub: ROOT }, { alg: 'HS256' })}`), /signature does not match/, 'a MAC of another algorithm');
  const good = jwt({ exp, sub: ROOT });
  const [h, b, s] = good.split('.') as [string, string, string];
  const tampered = b64({ exp, sub: ROOT, extra: 1 });
  t.match(problem(`Bearer ${h}.${tampered}.${s}`), /signature does not match/, 'claims changed after signing');
  t.match(problem(`Bearer ${h}.${b}.${s.slice(0, -2)}`), /signature does not match/, 'a cut signature');
});
