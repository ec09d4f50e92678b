// daemon/admin/metrics-auth.ts: the bearer tokens the metrics take under S3_PROMETHEUS_AUTH_TYPE=jwt.
// The tokens here are written by hand (header, claims, HMAC), as mc admin prometheus generate and
// other JWT libraries write them, not by metricsToken, which is checked against them.
import t from 'tap';
import { createHmac } from 'node:crypto';
import { metricsToken, metricsTokenUser } from '../../../../daemon/admin/metrics-auth.js';

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
const USER = 'scraper';
const USER_SECRET = 'scraper-secret-key';
const secretOf = (k: string): string | undefined => (k === ROOT ? SECRET : k === USER ? USER_SECRET : undefined);
/** Why the header is refused, or undefined when it names the root user. */
const problem = (authorization: string | undefined): string | undefined => {
  const who = metricsTokenUser(authorization, secretOf, NOW);
  return 'problem' in who ? who.problem : who.accessKey === ROOT ? undefined : `taken as ${who.accessKey}`;
};
const iss = 'prometheus';
const exp = NOW / 1000 + 3600;

t.test('a token of the root user, signed with its secret: taken', async (t) => {
  t.equal(problem(`Bearer ${jwt({ exp, sub: ROOT, iss: 'prometheus' })}`), undefined, 'as mc admin prometheus generate writes it (HS512, sub, iss)');
  t.equal(problem(`Bearer ${jwt({ exp, sub: ROOT, iss }, { alg: 'HS256', hash: 'sha256' })}`), undefined, 'HS256');
  t.equal(problem(`Bearer ${jwt({ exp, sub: ROOT, iss }, { alg: 'HS384', hash: 'sha384' })}`), undefined, 'HS384');
  t.equal(problem(`Bearer ${jwt({ exp, accessKey: ROOT, iss })}`), undefined, 'MinIO\u2019s own accessKey claim');
  t.equal(problem(`Bearer ${jwt({ sub: ROOT, iss })}`), undefined, 'without an expiry (MinIO does not ask for one)');
  t.equal(problem(`bearer  ${jwt({ exp, sub: ROOT, iss })}`), undefined, 'the scheme in any case, spaces after it');
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
  t.match(problem(`Bearer ${jwt({ exp, sub: 'someone', iss })}`), /access key "someone" is not the root user's nor an S3_IAM_FILE user's/, 'an access key nobody has');
  t.match(problem(`Bearer ${jwt({ exp, iss })}`), /names no access key/, 'no subject');
  t.match(problem(`Bearer ${jwt({ exp, sub: 7, iss })}`), /names no access key/, 'a subject that is no string');
  t.match(problem(`Bearer ${jwt({ exp: NOW / 1000 - 1, sub: ROOT, iss })}`), /expired/);
  t.match(problem(`Bearer ${jwt({ exp: NOW / 1000, sub: ROOT, iss })}`), /expired/, 'expiring this second');
  t.match(problem(`Bearer ${jwt({ exp: String(exp), sub: ROOT, iss })}`), /expired/, 'an expiry that is no number');
  t.match(problem(`Bearer ${jwt({ exp, nbf: NOW / 1000 + 60, sub: ROOT, iss })}`), /not valid yet/);
  t.match(problem(`Bearer ${jwt({ exp, nbf: '0', sub: ROOT, iss })}`), /not valid yet/, 'a not-before that is no number');
  t.match(problem(`Bearer ${jwt({ exp, sub: ROOT, iss }, { alg: 'none' })}`), /algorithm "none"/, 'alg none');
  t.match(problem(`Bearer ${jwt({ exp, sub: ROOT }, { alg: 'RS256' })}`), /algorithm "RS256"/, 'a public-key algorithm');
  // The header says HS256 but the MAC is HS512's: judged by the header's algorithm, so refused.
  t.match(problem(`Bearer ${jwt({ exp, sub: ROOT }, { alg: 'HS256' })}`), /signature does not match/, 'a MAC of another algorithm');
  const good = jwt({ exp, sub: ROOT });
  const [h, b, s] = good.split('.') as [string, string, string];
  const tampered = b64({ exp, sub: ROOT, extra: 1 });
  t.match(problem(`Bearer ${h}.${tampered}.${s}`), /signature does not match/, 'claims changed after signing');
  t.match(problem(`Bearer ${h}.${b}.${s.slice(0, -2)}`), /signature does not match/, 'a cut signature');
});

t.test('the claims MinIO checks besides the signature: iss prometheus, iat not in the future', async (t) => {
  // MinIO's AuthMiddleware (cmd/metrics.go) asks for the issuer "prometheus", which mc writes.
  t.match(problem(`Bearer ${jwt({ exp, sub: ROOT })}`), /issuer \(iss\) is not "prometheus"/, 'no issuer');
  t.match(problem(`Bearer ${jwt({ exp, sub: ROOT, iss: 'console' })}`), /issuer \(iss\) is not "prometheus"/, 'another issuer');
  // jwt-go v4 (MinIO's) refuses a token issued after now; one issued before is fine.
  t.match(problem(`Bearer ${jwt({ exp, iat: NOW / 1000 + 60, sub: ROOT, iss })}`), /issued in the future \(iat\)/, 'iat a minute ahead');
  t.match(problem(`Bearer ${jwt({ exp, iat: 'yesterday', sub: ROOT, iss })}`), /issued in the future \(iat\)/, 'an iat that is no number');
  t.equal(problem(`Bearer ${jwt({ exp, iat: NOW / 1000 - 60, sub: ROOT, iss })}`), undefined, 'iat a minute ago');
  const critHead = b64({ alg: 'HS512', typ: 'JWT', crit: ['b64'] });
  const critBody = b64({ exp, sub: ROOT, iss });
  const critSig = createHmac('sha512', SECRET).update(`${critHead}.${critBody}`).digest('base64url');
  t.match(problem(`Bearer ${critHead}.${critBody}.${critSig}`), /critical header parameters/, 'crit, correctly signed: refused all the same');
});

t.test('a user\u2019s token: signed with that user\u2019s secret key, never the root user\u2019s', async (t) => {
  const who = (token: string): ReturnType<typeof metricsTokenUser> => metricsTokenUser(`Bearer ${token}`, secretOf, NOW);
  t.same(who(jwt({ exp, sub: USER, iss }, { secret: USER_SECRET })), { accessKey: USER }, 'the user\u2019s own secret');
  t.match(who(jwt({ exp, sub: USER, iss })), { problem: /signature does not match/ }, 'signed with the root user\u2019s secret: refused');
  t.match(who(jwt({ exp, sub: ROOT, iss }, { secret: USER_SECRET })), { problem: /signature does not match/ }, 'the root user named, a user\u2019s secret: refused');
  // MinIO takes its own accessKey claim before sub: the key is that one's.
  t.same(who(jwt({ exp, accessKey: USER, sub: ROOT, iss }, { secret: USER_SECRET })), { accessKey: USER }, 'accessKey over sub');
  t.match(who(jwt({ exp, accessKey: USER, sub: ROOT, iss })), { problem: /signature does not match/ }, 'accessKey over sub, signed as sub');
});
