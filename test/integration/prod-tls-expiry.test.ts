// The validity of the certificates s3d presents, which their peers check and an operator must see
// coming. The TLS certificate: one that expires within 14 days is warned about at start-up (and on
// each reload, and twice a day), an expired or not yet valid one is logged as an error when loaded
// (the daemon still serves it: refusing to start would not help a client), a reload refuses an
// expired certificate while the one in service is valid (keeping that one), and
// s3d_tls_certificate_expiry_timestamp_seconds always holds the served certificate's notAfter,
// following reloads, for alerts. Without TLS the metric is absent. The KES client certificate
// (S3_KMS_KES_CERT_FILE), against a KES-API server over real mTLS: the same warning and error at
// start-up, naming the variable, and s3d_kms_client_certificate_expiry_timestamp_seconds.

import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createClientCert } from '../fixtures/kes-server/certs.js';
import { servedFingerprint, startDaemonFor, testPki, testServerCert } from '../helpers/daemon.js';
import { kesEnv, kesServer, waitReady } from '../helpers/kes.js';
import { createBucket } from '../helpers/s3.js';
import { scrapeMetricsTls, send } from '../helpers/http.js';
import { pollUntil } from '../helpers/wait.js';

const DAY = 86_400_000;
const pki = await testPki();
const METRIC = 's3d_tls_certificate_expiry_timestamp_seconds';


const sample = (metrics: string): string | undefined => metrics.split('\n').find((l) => l.startsWith(`${METRIC} `));
const notAfterSeconds = (cert: string): number => Math.floor(Date.parse(new X509Certificate(cert).validTo) / 1000);

t.test('a certificate near its end is warned about; an expired or future one is an error; the metric follows reloads', async (t) => {
  const certs = mkdtempSync(join(tmpdir(), 's3d-tls-expiry-'));
  t.teardown(() => rmSync(certs, { recursive: true, force: true }));
  const install = (c: { cert: string; key: string }): void => {
    writeFileSync(join(certs, 'public.crt'), c.cert);
    writeFileSync(join(certs, 'private.key'), c.key, { mode: 0o600 });
  };
  const now = Date.now();
  const soon = await testServerCert('s3d-soon', { notBefore: new Date(now - DAY), notAfter: new Date(now + 3 * DAY + 3600_000) });
  install(soon);
  const d = await startDaemonFor(t, { env: { S3_CERTS_DIR: certs } });

  const warned = await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('the TLS certificate expires on'), 20_000);
  t.equal(warned.level, 40, 'a warning at start-up');
  t.match(warned.msg, /expires on .* 20\d\d GMT, in 3 day\(s\): renew it, copy it into S3_CERTS_DIR and run systemctl reload s3d/, 'naming the date, the days left and what to do');
  t.equal(warned.validTo, new X509Certificate(soon.cert).validTo, 'with the validTo field');
  t.equal(sample(await scrapeMetricsTls(d.port, pki.caCert)), `${METRIC} ${notAfterSeconds(soon.cert)}`, 'the metric holds its notAfter');

  // Expired (an old copy put back by mistake) while the one in service is valid: the reload
  // refuses it and keeps serving the valid one; every client would refuse the expired one.
  const expired = await testServerCert('s3d-expired', { notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) });
  install(expired);
  d.proc.kill('SIGHUP');
  const refused = await d.waitForLog((l) => l.msg === 'TLS certificate reload failed: still serving the previous certificate', 20_000);
  t.equal(refused.level, 50, 'an expired replacement of a valid certificate: an error');
  t.match(String((refused.err as { message?: string } | undefined)?.message), /expired on .* while the certificate in service is valid until .*: kept the one in service/, 'saying why the one in service stays');
  t.equal(await servedFingerprint(d.port), soon.fingerprint, 'the valid certificate is still served');
  t.equal(sample(await scrapeMetricsTls(d.port, pki.caCert)), `${METRIC} ${notAfterSeconds(soon.cert)}`, 'and the metric still holds its notAfter');
  t.notOk(d.jsonLogs().some((l) => l.msg === 'TLS certificate reloaded'), 'nothing was reloaded');

  // Not yet valid (a clock behind, or a certificate issued for later): taken (the clock may be
  // what is wrong), with an error.
  const future = await testServerCert('s3d-future', { notBefore: new Date(now + 2 * DAY), notAfter: new Date(now + 400 * DAY) });
  install(future);
  d.proc.kill('SIGHUP');
  await d.waitForLog((l) => l.msg === 'TLS certificate reloaded' && l.fingerprint === future.fingerprint, 20_000);
  const early = await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('the TLS certificate is not valid before'), 20_000);
  t.equal(early.level, 50, 'a certificate not yet valid: an error');
  t.match(early.msg, /it is refused until then \(is this machine's clock right\?\)/, 'asking about the clock');

  // Expired, replacing one that is not valid either: taken (nothing valid is lost), with an error.
  install(expired);
  d.proc.kill('SIGHUP');
  await d.waitForLog((l) => l.msg === 'TLS certificate reloaded' && l.fingerprint === expired.fingerprint, 20_000);
  const error = await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('the TLS certificate expired on'), 20_000);
  t.equal(error.level, 50, 'an expired certificate: an error at the reload');
  t.match(error.msg, /: it is refused; renew it/, 'saying clients refuse it');
  // The metric is read over TLS, which the expired certificate fails: read it over the socket
  // without checking the certificate.
  const expiredScrape = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: d.port, path: '/minio/v2/metrics/cluster', rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(sample(expiredScrape), `${METRIC} ${notAfterSeconds(expired.cert)}`, 'the metric follows the reload: in the past now');

  // A good certificate: reloaded with no problem line after it.
  const good = await testServerCert('s3d-good', { notBefore: new Date(now - DAY), notAfter: new Date(now + 90 * DAY) });
  install(good);
  const linesBefore = d.jsonLogs().length;
  d.proc.kill('SIGHUP');
  await d.waitForLog((l) => l.msg === 'TLS certificate reloaded' && l.fingerprint === good.fingerprint, 20_000);
  t.equal(sample(await scrapeMetricsTls(d.port, pki.caCert)), `${METRIC} ${notAfterSeconds(good.cert)}`, 'a good certificate: the metric holds its notAfter');
  const after = d.jsonLogs().slice(linesBefore);
  t.notOk(after.some((l) => typeof l.msg === 'string' && /^the TLS certificate (expire|is not valid)/.test(l.msg)), 'and no warning or error about it');

  // An unchanged reload of a certificate near its end warns again (someone reloading to fix it).
  install(soon);
  d.proc.kill('SIGHUP');
  await d.waitForLog((l) => l.msg === 'TLS certificate reloaded' && l.fingerprint === soon.fingerprint, 20_000);
  const warnings = (): number => d.jsonLogs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('the TLS certificate expires on')).length;
  const before = await pollUntil(warnings, (n) => n >= 2, 20_000, 50);
  t.equal(before, 2, 'the reload back to it warned (once at start-up, once now)');
  d.proc.kill('SIGHUP');
  await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('TLS certificate and key files unchanged'), 20_000);
  t.equal(await pollUntil(warnings, (n) => n > before, 20_000, 50), before + 1, 'an unchanged reload warns again');
});

t.test('without TLS the metric is absent', async (t) => {
  const d = await startDaemonFor(t, {});
  const metrics = (await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster' })).body.toString();
  t.match(metrics, /s3d_build_info/, 'the metrics are there');
  t.notMatch(metrics, new RegExp(METRIC), `but not ${METRIC}`);
});

t.test('the KES client certificate: a warning near its end, an error once expired, and its metric', async (t) => {
  const kes = await kesServer(t);
  const dir = mkdtempSync(join(tmpdir(), 's3d-kes-cert-expiry-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = { cert: kes.certs.caCert, key: kes.certs.caKey };
  const now = Date.now();
  // The admin identity (KES knows identities by their public key) in certificates of other validity.
  const clientWith = async (name: string, notBefore: Date, notAfter: Date): Promise<{ file: string; cert: string }> => {
    const pair = await createClientCert('s3d-admin', ca, { key: kes.certs.admin.key, notBefore, notAfter });
    const file = join(dir, `${name}.crt`);
    writeFileSync(file, pair.cert);
    return { file, cert: pair.cert };
  };

  const soon = await clientWith('soon', new Date(now - DAY), new Date(now + 5 * DAY + 3600_000));
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_KES_CERT_FILE: soon.file } }) });
  const warned = await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('the KES client certificate (S3_KMS_KES_CERT_FILE) expires on'), 20_000);
  t.equal(warned.level, 40, 'a warning at start-up');
  t.match(warned.msg, /in 5 day\(s\): KES refuses s3d with it, .*renew it and restart s3d/, 'naming the days left, what happens then and what to do');
  t.equal(warned.certFile, soon.file, 'and the file');
  await waitReady(d.endpoint);
  const s3 = d.s3();
  const bucket = await createBucket(s3);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x', ServerSideEncryption: 'AES256' }));
  t.pass('KES takes it meanwhile: an SSE-S3 PUT works');
  const metrics = (await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster' })).body.toString();
  const line = metrics.split('\n').find((l) => l.startsWith('s3d_kms_client_certificate_expiry_timestamp_seconds '));
  t.equal(line, `s3d_kms_client_certificate_expiry_timestamp_seconds ${notAfterSeconds(soon.cert)}`, 'the metric holds its notAfter');
  await d.stop();

  const expired = await clientWith('expired', new Date(now - 30 * DAY), new Date(now - DAY));
  const d2 = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_KES_CERT_FILE: expired.file } }) });
  const error = await d2.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('the KES client certificate (S3_KMS_KES_CERT_FILE) expired on'), 20_000);
  t.equal(error.level, 50, 'an expired one: an error at start-up');
  t.match(error.msg, /: it is refused; KES refuses s3d with it/, 'saying KES refuses it');
});
