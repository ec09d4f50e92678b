// createCertificate (@peculiar/x509): the test PKI and the kes:v1 API-key certificate as Node and,
// when installed, `openssl verify` / `openssl x509 -text` read them.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateForApiKey, parseApiKey } from '../../../../daemon/kms/kes-identity.js';
import { createCertificate } from '../../../../daemon/kms/x509-writer.js';
import { createTestPki } from '../../../fixtures/kes-server/certs.js';

const API_KEY = 'kes:v1:AAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f';
const API_KEY_IDENTITY = 'a050837d85070582ccf7394b0988847cc312cb88259b894899f6f239cf1791a5';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

const pki = await createTestPki();
const apiKeyCert = await certificateForApiKey(parseApiKey(API_KEY), new Date('2026-01-01T00:00:00Z'));

t.test('test PKI: P-256 CA, server leaf with SANs, CA:FALSE client leaves, CA:TRUE stranger', async (t) => {
  const ca = new X509Certificate(pki.caCert);
  t.equal(ca.ca, true);
  t.equal(ca.subject, 'CN=S3D Test CA');
  t.equal(ca.issuer, ca.subject, 'CA self-signed');
  t.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.ok(ca.verify(ca.publicKey));

  const server = new X509Certificate(pki.server.cert);
  t.equal(server.ca, false);
  t.ok(server.checkIssued(ca), 'server issued by the CA');
  t.ok(server.verify(ca.publicKey), 'server signed by the CA key');
  t.equal(server.checkHost('localhost'), 'localhost');
  t.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
  t.equal(server.checkIP('::1'), '::1');
  t.same(server.keyUsage, [SERVER_AUTH]);
  t.equal(server.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.ok(server.checkPrivateKey(createPrivateKey(pki.server.key)));

  for (const leaf of [pki.admin, pki.app]) {
    const x = new X509Certificate(leaf.cert);
    t.equal(x.ca, false);
    t.ok(x.checkIssued(ca) && x.verify(ca.publicKey), `${x.subject} issued by the CA`);
    t.same(x.keyUsage, [CLIENT_AUTH]);
    t.ok(x.checkPrivateKey(createPrivateKey(leaf.key)));
  }
  t.not(pki.admin.identity, pki.app.identity);

  const stranger = new X509Certificate(pki.stranger.cert);
  t.equal(stranger.ca, false);
  t.notOk(stranger.checkIssued(ca), 'stranger not issued by the CA');
  t.ok(stranger.verify(stranger.publicKey), 'stranger self-signed');
  const strangerCa = new X509Certificate(pki.strangerCa.cert);
  t.equal(strangerCa.ca, true);
  t.ok(strangerCa.verify(strangerCa.publicKey), 'CA:TRUE stranger self-signed');
});

t.test('API key certificate: Ed25519 self-signed, kes-api.md §3.4 identity, 90 days, clientAuth', async (t) => {
  const x = new X509Certificate(apiKeyCert.certPem);
  t.equal(apiKeyCert.identity, API_KEY_IDENTITY);
  t.equal(x.publicKey.asymmetricKeyType, 'ed25519');
  t.equal(x.subject, `CN=${API_KEY_IDENTITY}`);
  t.equal(x.issuer, x.subject);
  t.ok(x.verify(x.publicKey));
  t.equal(x.ca, false);
  t.same(x.keyUsage, [CLIENT_AUTH]);
  t.equal(new Date(x.validFrom).toISOString(), '2026-01-01T00:00:00.000Z');
  t.equal(new Date(x.validTo).toISOString(), '2026-04-01T00:00:00.000Z');
  const serial = BigInt(`0x${x.serialNumber}`);
  t.ok(serial > 0n && serial < 2n ** 128n, 'random positive 128-bit serial');
  t.not(new X509Certificate((await certificateForApiKey(parseApiKey(API_KEY))).certPem).serialNumber, x.serialNumber);
  t.ok(x.checkPrivateKey(createPrivateKey(apiKeyCert.keyPem)));
});

t.test('createCertificate: explicit serial and validity, unsupported signing keys reject', async (t) => {
  const { privateKey: key, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const pem = await createCertificate({
    subjectCN: 'a, b = c', publicKey: key, signingKey: key, serialHex: '0102',
    notBefore: new Date('2030-01-01T00:00:00Z'), notAfter: new Date('2060-01-01T00:00:00Z'),
  });
  const x = new X509Certificate(pem);
  t.equal(x.serialNumber, '0102');
  t.equal(x.subject, 'CN=a\\, b = c', 'CN with separators kept as one attribute');
  t.equal(new Date(x.validTo).toISOString(), '2060-01-01T00:00:00.000Z', 'GeneralizedTime past 2049');
  t.ok(x.verify(publicKey));
  const x25519 = generateKeyPairSync('x25519').privateKey;
  await t.rejects(createCertificate({ subjectCN: 'x', publicKey: x25519, signingKey: x25519 }), TypeError);
});

const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
t.test('openssl verify and x509 -text accept the output', { skip: openssl.status === 0 ? false : 'openssl not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-x509-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, pem: string): string => {
    const p = join(dir, name);
    writeFileSync(p, pem);
    return p;
  };
  const run = (...args: string[]): { status: number | null; out: string } => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  };
  const ca = file('ca.pem', pki.caCert);
  const server = file('server.pem', pki.server.cert);
  const admin = file('admin.pem', pki.admin.cert);
  const app = file('app.pem', pki.app.cert);
  const stranger = file('stranger.pem', pki.stranger.cert);
  const strangerCa = file('stranger-ca.pem', pki.strangerCa.cert);
  const apiKey = file('api-key.pem', apiKeyCert.certPem);

  t.equal(run('verify', '-x509_strict', '-CAfile', ca, server, admin, app).status, 0, 'leaves chain to the CA (strict)');
  t.equal(run('verify', '-purpose', 'sslserver', '-CAfile', ca, server).status, 0, 'server: serverAuth');
  t.equal(run('verify', '-purpose', 'sslclient', '-CAfile', ca, admin, app).status, 0, 'clients: clientAuth');
  t.not(run('verify', '-purpose', 'sslclient', '-CAfile', ca, server).status, 0, 'server is not a client cert');
  t.not(run('verify', '-CAfile', ca, stranger).status, 0, 'stranger does not chain to the CA');
  t.equal(run('verify', '-x509_strict', '-CAfile', strangerCa, strangerCa).status, 0, 'CA:TRUE stranger is a valid root');
  t.equal(run('verify', '-purpose', 'sslclient', '-CAfile', apiKey, '-attime', '1767312000', apiKey).status, 0,
    'API key certificate verifies under its own key');

  const caText = run('x509', '-in', ca, '-noout', '-text');
  t.equal(caText.status, 0);
  t.match(caText.out, /Basic Constraints: critical\s+CA:TRUE/);
  t.match(caText.out, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
  t.match(caText.out, /ASN1 OID: prime256v1/);
  const serverText = run('x509', '-in', server, '-noout', '-text');
  t.match(serverText.out, /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
  t.match(serverText.out, /TLS Web Server Authentication/);
  t.match(serverText.out, /Signature Algorithm: ecdsa-with-SHA256/);
  const apiText = run('x509', '-in', apiKey, '-noout', '-text');
  t.equal(apiText.status, 0);
  t.match(apiText.out, /Signature Algorithm: ED25519/);
  t.match(apiText.out, new RegExp(`Subject: CN = ${API_KEY_IDENTITY}`));
  t.match(apiText.out, /Basic Constraints: critical\s+CA:FALSE/);
  t.match(apiText.out, /Key Usage: critical\s+Digital Signature\n/);
  t.match(apiText.out, /TLS Web Client Authentication/);
});
