// The metrics for users of S3_IAM_FILE (S3_PROMETHEUS_AUTH_TYPE=jwt, the default), as MinIO lets
// `mc admin prometheus generate ALIAS` make a scrape job's bearer token for any user and then
// checks it (cmd/metrics.go AuthMiddleware): the token signed with that user's secret key, issuer
// "prometheus", and the user's policies allowing admin:Prometheus, judged at each scrape. Tokens
// are written here as mc writes them (HS512 over {exp, sub, iss}), by hand.

import t from 'tap';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECRET_KEY, REGION, startDaemonFor } from '../helpers/daemon.js';
import { send } from '../helpers/http.js';
import { pollUntil } from '../helpers/wait.js';
import { signRequest } from '../../daemon/auth/sign.js';

const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
function mcToken(secret: string, claims: Record<string, unknown>): string {
  const unsigned = `${part({ alg: 'HS512', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha512', secret).update(unsigned).digest('base64url')}`;
}

const scraper = { accessKey: 'prom-scraper', secretKey: 'prom-scraper-secret-key', policies: ['prometheus'] };
const reader = { accessKey: 'prom-reader', secretKey: 'prom-reader-secret-key', policies: ['readwrite'] };
const everything = { accessKey: 'prom-all', secretKey: 'prom-all-secret-key', policies: ['readwrite', 'admin'] };
const fenced = { accessKey: 'prom-fenced', secretKey: 'prom-fenced-secret-key', policies: ['prometheus', 'not-from-loopback'] };
const policies = {
  prometheus: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['admin:Prometheus'] }] },
  admin: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['admin:*'], Resource: ['arn:minio:admin:::*'] }] },
  'not-from-loopback': { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'admin:Prometheus', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } }] },
};

t.test('S3_IAM_FILE users: a bearer token or signature of one whose policies allow admin:Prometheus reads the metrics; anyone else 403', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-metrics-users-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const iam = join(dir, 'iam.json');
  const iamWith = (users: unknown[]): void => writeFileSync(iam, JSON.stringify({ policies, users }), { mode: 0o600 });
  iamWith([scraper, reader, everything, fenced]);
  const d = await startDaemonFor(t, { env: { S3_PROMETHEUS_AUTH_TYPE: undefined, S3_IAM_FILE: iam } });
  const get = async (path: string, authorization?: string): Promise<{ status: number; body: string }> => {
    const r = await send(d.port, { method: 'GET', path, sign: false, ...(authorization === undefined ? {} : { headers: { authorization } }) });
    return { status: r.status, body: r.body.toString() };
  };
  const inAnHour = Math.floor(Date.now() / 1000) + 3600;
  const tokenOf = (u: { accessKey: string; secretKey: string }, extra: Record<string, unknown> = {}): string => `Bearer ${mcToken(u.secretKey, { exp: inAnHour, sub: u.accessKey, iss: 'prometheus', ...extra })}`;

  for (const path of ['/minio/v2/metrics/cluster', '/minio/v2/metrics/node', '/minio/v2/metrics/bucket', '/metrics']) {
    const ok = await get(path, tokenOf(scraper));
    t.equal(ok.status, 200, `${path}: the token of a user allowed admin:Prometheus`);
    t.match(ok.body, /^s3d_build_info\{/m, 'the metrics');
  }
  t.equal((await get('/metrics', tokenOf(everything))).status, 200, 'admin:* allows it too (its Resource, not S3\u2019s, is not matched)');

  const refused = await get('/metrics', tokenOf(reader));
  t.equal(refused.status, 403, 'a user whose policies do not allow admin:Prometheus (readwrite: s3:*): 403');
  t.match(refused.body, /<Code>AccessDenied<\/Code>.*no policy of &quot;prom-reader&quot; allows admin:Prometheus/s, 'saying so');
  t.notMatch(refused.body, /s3d_/, 'no metric in the answer');
  t.equal((await get('/metrics', tokenOf(fenced))).status, 403, 'a Deny of admin:Prometheus whose condition holds (aws:SourceIp) wins');

  // The key is the named user's own secret: never the root user's, nor another user's.
  t.equal((await get('/metrics', `Bearer ${mcToken(SECRET_KEY, { exp: inAnHour, sub: scraper.accessKey, iss: 'prometheus' })}`)).status, 403, 'the user named, signed with the root user\u2019s secret');
  t.equal((await get('/metrics', `Bearer ${mcToken(reader.secretKey, { exp: inAnHour, sub: scraper.accessKey, iss: 'prometheus' })}`)).status, 403, 'signed with another user\u2019s secret');
  t.equal((await get('/metrics', `Bearer ${mcToken('whatever', { exp: inAnHour, sub: 'nobody', iss: 'prometheus' })}`)).status, 403, 'an access key nobody has');
  // The claims MinIO checks besides the signature.
  const noIssuer = await get('/metrics', `Bearer ${mcToken(scraper.secretKey, { exp: inAnHour, sub: scraper.accessKey })}`);
  t.equal(noIssuer.status, 403, 'no issuer');
  t.match(noIssuer.body, /issuer \(iss\) is not &quot;prometheus&quot;/);
  const future = await get('/metrics', tokenOf(scraper, { iat: Math.floor(Date.now() / 1000) + 3600 }));
  t.equal(future.status, 403, 'issued an hour from now (iat)');
  t.match(future.body, /issued in the future \(iat\)/);
  t.equal((await get('/metrics', tokenOf(scraper, { exp: Math.floor(Date.now() / 1000) - 1 }))).status, 403, 'expired');
  t.equal((await get('/metrics', tokenOf(scraper, { nbf: Math.floor(Date.now() / 1000) + 3600 }))).status, 403, 'not valid before an hour from now (nbf)');

  // A request the user signed for AWS: judged by the same policies.
  const signedBy = async (u: { accessKey: string; secretKey: string }): Promise<number> => {
    const headers = signRequest({ method: 'GET', rawPath: '/minio/v2/metrics/cluster', rawQuery: '', headers: { host: `127.0.0.1:${d.port}` }, accessKeyId: u.accessKey, secretAccessKey: u.secretKey, region: REGION }).headers;
    return (await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster', sign: false, headers })).status;
  };
  t.equal(await signedBy(scraper), 200, 'signed by the user allowed admin:Prometheus');
  t.equal(await signedBy(reader), 403, 'signed by a user it is not allowed');

  // Removed from the file (SIGHUP reloads it): the token it was given no longer reads them.
  const token = tokenOf(scraper);
  iamWith([reader, everything, fenced]);
  const reloads = (): number => d.jsonLogs().filter((l) => l.msg === 'users reloaded').length;
  const before = reloads();
  d.proc.kill('SIGHUP');
  await pollUntil(reloads, (n) => n > before, 5000, 20);
  const gone = await get('/metrics', token);
  t.equal(gone.status, 403, 'a user removed from S3_IAM_FILE: its token is refused');
  t.match(gone.body, /access key &quot;prom-scraper&quot; is not the root user&apos;s nor an S3_IAM_FILE user&apos;s/, 'saying so');
});
