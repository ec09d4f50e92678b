// Per-domain TLS certificates (SNI), as MinIO's certs directory has them, against the real daemon:
// a sub-directory of S3_CERTS_DIR holding public.crt and private.key is served to clients whose
// TLS server name is one of its certificate's DNS names (a wildcard matching one label, any
// case), the top-level pair to clients without SNI or naming another host; signed S3 requests on
// such connections are answered (uWS routes them through a router of their own, which s3d fills);
// hidden sub-directories and CAs/ are not looked into; a sub-directory that is not a usable pair
// fails start-up naming it; SIGHUP replaces a per-domain certificate, and refuses an expired
// replacement of a valid one; the expiry metric has a series per sub-directory; standard output
// holds nothing but the JSON log (uWS's debugging lines about server names kept off it).
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, runS3d, startDaemonFor, testPki, testServerCert } from '../helpers/daemon.js';
import { scrapeMetricsTls } from '../helpers/http.js';
import { stdioQuietImplementation } from '../../daemon/http/stdio-quiet.js';

const DAY = 86_400_000;
const pki = await testPki();
const work = mkdtempSync(join(tmpdir(), 's3d-tls-sni-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'ca.crt'), pki.caCert);
writeFileSync(join(work, 'ca.key'), pki.caKey, { mode: 0o600 });

/** A pair made by the openssl CLI in `dir` (made), signed by the test CA, for `dnsNames` (and `ips`). */
function opensslPair(dir: string, cn: string, dnsNames: string[], ips: string[] = []): string {
  mkdirSync(dir, { recursive: true });
  const san = [...dnsNames.map((n) => `DNS:${n}`), ...ips.map((a) => `IP:${a}`)].join(',');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'private.key'), '-out', join(dir, 'public.crt'), '-days', '30', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`, '-addext', 'extendedKeyUsage=serverAuth', '-CA', join(work, 'ca.crt'), '-CAkey', join(work, 'ca.key')], { stdio: 'pipe' });
  chmodSync(join(dir, 'private.key'), 0o600);
  return new X509Certificate(execFileSync('cat', [join(dir, 'public.crt')])).fingerprint256;
}

function install(dir: string, pair: { cert: string; key: string }): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'public.crt'), pair.cert);
  writeFileSync(join(dir, 'private.key'), pair.key, { mode: 0o600 });
}

/** The certificate a new connection sending `servername` (none when undefined) is presented, verified against the test CA when `verify`. */
function presented(port: number, servername: string | undefined): Promise<{ subject: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername !== undefined ? { servername } : {}) }, () => {
      const c = s.getPeerX509Certificate()!;
      s.end();
      resolve({ subject: c.subject, fingerprint: c.fingerprint256 });
    });
    s.on('error', reject);
  });
}

/** An SDK client for https://`host`:`port` (resolved to 127.0.0.1), verifying the server's certificate for that host against the test CA. */
function clientFor(host: string, port: number, forcePathStyle: boolean): S3Client {
  const httpsAgent = new Agent({
    ca: pki.caCert,
    lookup: ((_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => (opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4))) as never,
  });
  return new S3Client({ endpoint: `https://${host}:${port}`, region: REGION, forcePathStyle, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, requestHandler: { httpsAgent } });
}


const METRIC = 's3d_tls_certificate_expiry_timestamp_seconds';
const notAfter = (fingerprintCert: string): number => Math.floor(Date.parse(new X509Certificate(fingerprintCert).validTo) / 1000);

t.test('each sub-directory certificate is served for its names, the top-level one otherwise; S3 requests on SNI connections are answered; SIGHUP replaces one', async (t) => {
  const certs = join(work, 'certs');
  install(certs, pki.server); // the default: localhost, 127.0.0.1
  const alpha = opensslPair(join(certs, 'alpha'), 'alpha', ['s3.alpha.test', '*.s3.alpha.test']);
  const beta = opensslPair(join(certs, 'beta'), 'beta', ['s3.beta.test']);
  // Not looked into: a hidden directory (a Kubernetes secret's ..data) and MinIO's CAs/, each
  // holding a pair that would fail start-up (a key not the certificate's) if it were loaded.
  for (const skipped of ['..data', 'CAs']) install(join(certs, skipped), { cert: pki.server.cert, key: (await testServerCert('other')).key });
  const d = await startDaemonFor(t, { env: { S3_CERTS_DIR: certs, S3_DOMAIN: 's3.alpha.test,s3.beta.test' } });
  const defaultFp = new X509Certificate(pki.server.cert).fingerprint256;

  const loaded = d.jsonLogs().filter((l) => l.msg === 'TLS certificate for server names loaded');
  t.same(loaded.map((l) => [l.certFile, l.serverNames]), [[join(certs, 'alpha', 'public.crt'), ['s3.alpha.test', '*.s3.alpha.test']], [join(certs, 'beta', 'public.crt'), ['s3.beta.test']]], 'a line per sub-directory at start-up, naming its server names');

  t.equal((await presented(d.port, 's3.alpha.test')).fingerprint, alpha, 's3.alpha.test: alpha/');
  t.equal((await presented(d.port, 'bucket.s3.alpha.test')).fingerprint, alpha, 'bucket.s3.alpha.test: alpha/ (its wildcard)');
  t.equal((await presented(d.port, 's3.beta.test')).fingerprint, beta, 's3.beta.test: beta/');
  t.equal((await presented(d.port, 'S3.Beta.TEST')).fingerprint, beta, 'S3.Beta.TEST: beta/ (server names are case-insensitive)');
  t.equal((await presented(d.port, 'a.b.s3.alpha.test')).fingerprint, defaultFp, 'a.b.s3.alpha.test: the default (a wildcard matches one label)');
  t.equal((await presented(d.port, 'localhost')).fingerprint, defaultFp, 'localhost: the default');
  t.equal((await presented(d.port, 'other.example')).fingerprint, defaultFp, 'a name no certificate holds: the default');
  t.equal((await presented(d.port, undefined)).fingerprint, defaultFp, 'no SNI: the default');

  // Signed requests over SNI-selected connections, the certificate verified for the host by the
  // SDK's agent: virtual-host style under the wildcard, path style on beta's name.
  const bucket = bucketName('sni');
  const vhost = clientFor('s3.alpha.test', d.port, false);
  t.teardown(() => vhost.destroy());
  await vhost.send(new CreateBucketCommand({ Bucket: bucket }));
  await vhost.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'over alpha' }));
  const viaBeta = clientFor('s3.beta.test', d.port, true);
  t.teardown(() => viaBeta.destroy());
  const got = await viaBeta.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));
  t.equal(await got.Body!.transformToString(), 'over alpha', 'written through bucket.s3.alpha.test, read through s3.beta.test');
  const upper = clientFor('S3.BETA.test', d.port, true);
  t.teardown(() => upper.destroy());
  t.equal(await (await upper.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))).Body!.transformToString(), 'over alpha', 'and through the name in upper case');

  const metrics = await scrapeMetricsTls(d.port, pki.caCert);
  t.ok(metrics.includes(`\n${METRIC} ${notAfter(pki.server.cert)}\n`), 'the metric: the default certificate without labels');
  t.match(metrics, new RegExp(`\\n${METRIC}\\{certificate="alpha"\\} \\d+\\n`), 'alpha/ by its sub-directory');
  t.match(metrics, new RegExp(`\\n${METRIC}\\{certificate="beta"\\} \\d+\\n`), 'beta/ by its sub-directory');

  // SIGHUP: beta/ gets a new certificate (renewed: the helper's writer this time).
  const now = Date.now();
  const renewed = await testServerCert('beta-renewed', { notBefore: new Date(now - DAY), notAfter: new Date(now + 60 * DAY) }, undefined, { dnsNames: ['s3.beta.test'] });
  install(join(certs, 'beta'), renewed);
  d.proc.kill('SIGHUP');
  const reloaded = await d.waitForLog((l) => l.msg === 'TLS certificate reloaded', 20_000);
  t.same((reloaded.domains as Array<{ fingerprint: string }>).map((x) => x.fingerprint), [alpha, renewed.fingerprint], 'the reload line lists the per-domain certificates');
  t.equal((await presented(d.port, 's3.beta.test')).fingerprint, renewed.fingerprint, 'beta/ now presents the renewed certificate');
  t.equal((await presented(d.port, 'x.s3.alpha.test')).fingerprint, alpha, 'alpha/ still its own');
  t.equal((await presented(d.port, undefined)).fingerprint, defaultFp, 'no SNI: still the default');
  const afterReload = clientFor('s3.beta.test', d.port, true);
  t.teardown(() => afterReload.destroy());
  t.equal(await (await afterReload.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }))).Body!.transformToString(), 'over alpha', 'requests on the new listener are answered');
  t.match(await scrapeMetricsTls(d.port, pki.caCert), new RegExp(`\\n${METRIC}\\{certificate="beta"\\} ${notAfter(renewed.cert)}\\n`), 'the metric follows the reload');

  // An expired replacement of beta/'s valid certificate: refused, nothing changed.
  const expired = await testServerCert('beta-expired', { notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) }, undefined, { dnsNames: ['s3.beta.test'] });
  install(join(certs, 'beta'), expired);
  d.proc.kill('SIGHUP');
  const refused = await d.waitForLog((l) => l.msg === 'TLS certificate reload failed: still serving the previous certificate', 20_000);
  t.match(String((refused.err as { message?: string }).message), new RegExp(`${join(certs, 'beta', 'public.crt')}: the new certificate expired on .* kept the one in service`), 'naming the sub-directory\'s file and why');
  t.equal((await presented(d.port, 's3.beta.test')).fingerprint, renewed.fingerprint, 'the valid one is still served');

  // Standard output is s3d's JSON log alone: uWS's own debugging lines (`finding NAME`, `Browsed
  // to SNI: NAME`), printed as server names are added at start, at each reload and when a name is
  // first sent in another case (here, to the listener the reload made), do not reach it. Without
  // the stdio binding (no C compiler where this was built) they do, and start-up warns so.
  t.equal((await presented(d.port, 'S3.ALPHA.test')).fingerprint, alpha, 'S3.ALPHA.test after the reload: alpha/');
  const quiet = stdioQuietImplementation().native;
  const how = quiet ? /kept off standard output through the native binding$/ : /will appear on standard output/;
  t.ok(d.jsonLogs().some((l) => typeof l.msg === 'string' && l.msg.startsWith('uWebSockets.js\'s debugging lines about TLS server names') && how.test(l.msg)), `the start-up log says ${quiet ? 'how' : 'so'}`);
  // Stopped, and its standard output read to the end: whatever the daemon wrote last is there.
  t.equal(await d.stop(), 0, 'a clean stop');
  const stdout = d.proc.stdout!;
  if (!stdout.closed) await new Promise((resolve) => stdout.once('close', resolve));
  if (!quiet) return;
  const notJson = d.stdoutLines.filter((l) => {
    try {
      return typeof JSON.parse(l) !== 'object';
    } catch {
      return true;
    }
  });
  t.ok(d.stdoutLines.length > 10, `standard output read (${d.stdoutLines.length} lines)`);
  t.same(notJson, [], 'every line of standard output is a JSON object');
  t.notMatch(d.logs.join('\n'), /finding |Browsed to SNI/, 'no debugging line of uWS on standard output or standard error');
});

t.test('a sub-directory that is not a usable pair fails start-up, naming it', async (t) => {
  const alphaKeyDir = join(work, 'alpha-key');
  opensslPair(alphaKeyDir, 'alpha', ['s3.alpha.test']);
  const cases: Array<[string, (certs: string) => void, RegExp]> = [
    ['only a certificate', (c) => void (opensslPair(join(c, 'one'), 'one', ['one.test']), rmSync(join(c, 'one', 'private.key'))), /S3_CERTS_DIR: \S+\/one must hold both public\.crt and private\.key, found only public\.crt/],
    ['a key not the certificate\'s', (c) => {
      opensslPair(join(c, 'mixed'), 'mixed', ['mixed.test']);
      writeFileSync(join(c, 'mixed', 'private.key'), execFileSync('cat', [join(alphaKeyDir, 'private.key')]), { mode: 0o600 });
    }, /S3_CERTS_DIR: \S+\/mixed\/public\.crt and \S+\/mixed\/private\.key are not a usable certificate and key: .*key values mismatch/],
    ['no DNS name', (c) => void opensslPair(join(c, 'iponly'), 'iponly', [], ['10.0.0.1']), /S3_CERTS_DIR: \S+\/iponly\/public\.crt names no DNS host name in its subjectAltName/],
    ['a name twice', (c) => {
      opensslPair(join(c, 'first'), 'first', ['s3.dup.test']);
      opensslPair(join(c, 'second'), 'second', ['other.test', 'S3.dup.test']);
    }, /S3_CERTS_DIR: \S+\/first\/public\.crt and \S+\/second\/public\.crt both name s3\.dup\.test/],
  ];
  for (const [name, make, message] of cases) {
    const certs = join(work, `bad-${name.replace(/\W/g, '')}`);
    install(certs, pki.server);
    make(certs);
    const r = await runS3d(['server', join(work, `data-${name.replace(/\W/g, '')}`)], { S3_ROOT_USER: ACCESS_KEY, S3_ROOT_PASSWORD: SECRET_KEY, S3_ADDRESS: '127.0.0.1:0', S3_CERTS_DIR: certs }, 30_000);
    t.equal(r.code, 2, `${name}: exit 2 (a configuration error)`);
    t.match(r.stderr, message, `${name}: the message names the sub-directory`);
    t.notMatch(r.stdout, /"msg":"listening"/, `${name}: never listened`);
  }
});
