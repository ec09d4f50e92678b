// loadKesConfig: S3_KMS_KES_* validation with real files (errors name the variable), encrypted
// keys in both PEM formats, API keys (kes-api.md §3.4 vector), CAPATH file and directory, and
// the system's roots (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS) beside Node's.

import t from 'tap';
import type { Test } from 'tap';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { SYSTEM_CA_FILES, loadKesConfig, parseEndpoints, readCaPath } from '../../../../daemon/kms/kes-config.js';
import { certificateForApiKey, identityOfCertificate, parseApiKey } from '../../../../daemon/kms/kes-identity.js';
import { KmsConfigError } from '../../../../daemon/kms/provider.js';
import { createTestPki, encryptKeyPem } from '../../../fixtures/kes-server/certs.js';

const pki = await createTestPki();
const dir = mkdtempSync(join(tmpdir(), 's3d-kes-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const certFile = file('client.crt', pki.admin.cert);
const keyFile = file('client.key', pki.admin.key);
const keyPkcs8Enc = file('client-pkcs8.key', encryptKeyPem(pki.admin.key, 's3cret', 'pkcs8'));
const keyLegacyEnc = file('client-legacy.key', encryptKeyPem(pki.admin.key, 's3cret', 'legacy'));
const caFile = file('ca.crt', pki.caCert);
const API_KEY = 'kes:v1:AAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f';

const base = { S3_KMS_KES_ENDPOINT: 'https://127.0.0.1:7373', S3_KMS_KES_KEY_NAME: 'my-minio-key' };

async function configError(t: Test, env: NodeJS.ProcessEnv, variable: string, msg: RegExp): Promise<void> {
  const err: unknown = await loadKesConfig(env).then(() => undefined, (e: unknown) => e);
  t.type(err, KmsConfigError, `rejects naming ${variable}`);
  t.equal((err as KmsConfigError | undefined)?.variable, variable, `names ${variable}`);
  t.match((err as Error | undefined)?.message ?? '', msg);
}

t.test('certificate + key files', async (t) => {
  const c = await loadKesConfig({ ...base, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: keyFile });
  t.same(c.endpoints, ['https://127.0.0.1:7373']);
  t.equal(c.defaultKeyName, 'my-minio-key');
  t.equal(c.auth, 'certificate');
  t.equal(c.identity, pki.admin.identity);
  t.ok(c.ca.includes(rootCertificates[0]!) && c.ca.length >= rootCertificates.length, 'no CAPATH: Node\'s roots and the system\'s');
  t.match(c.trust, [/^Node's \d+ roots$/], 'the log says where the roots came from');
  t.equal(c.requestTimeoutMs, 10_000);
  t.same(c.warnings, [], 'nothing to warn about');
  t.ok(Object.isFrozen(c));
});

t.test('a CA:TRUE client certificate (plain `openssl req -x509`) is refused naming S3_KMS_KES_CERT_FILE', async (t) => {
  const caCert = file('ca-true.crt', pki.strangerCa.cert);
  const caKey = file('ca-true.key', pki.strangerCa.key);
  await configError(t, { ...base, S3_KMS_KES_CERT_FILE: caCert, S3_KMS_KES_KEY_FILE: caKey }, 'S3_KMS_KES_CERT_FILE', /is a CA certificate \(basic constraints CA:TRUE.*KES refuses/);
});

t.test('S3_KMS_KES_KEY_PASSWORD with an unencrypted key: a warning, not an error', async (t) => {
  const c = await loadKesConfig({ ...base, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: keyFile, S3_KMS_KES_KEY_PASSWORD: 'unused' });
  t.equal(c.identity, pki.admin.identity);
  t.equal(c.warnings.length, 1);
  t.match(c.warnings[0], /^S3_KMS_KES_KEY_PASSWORD is set but the key in S3_KMS_KES_KEY_FILE .* is not encrypted/);
  const enc = await loadKesConfig({ ...base, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: keyPkcs8Enc, S3_KMS_KES_KEY_PASSWORD: 's3cret' });
  t.same(enc.warnings, [], 'an encrypted key with its password: no warning');
});

t.test('password-protected keys: encrypted PKCS#8 and legacy Proc-Type PEM', async (t) => {
  t.match(encryptKeyPem(pki.admin.key, 'x', 'legacy'), /Proc-Type: 4,ENCRYPTED/);
  t.match(encryptKeyPem(pki.admin.key, 'x', 'pkcs8'), /BEGIN ENCRYPTED PRIVATE KEY/);
  for (const kf of [keyPkcs8Enc, keyLegacyEnc]) {
    const c = await loadKesConfig({ ...base, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: kf, S3_KMS_KES_KEY_PASSWORD: 's3cret' });
    t.match(c.key, /^-----BEGIN PRIVATE KEY-----/, 'decrypted into memory');
    t.ok(new X509Certificate(c.cert).checkPrivateKey(createPrivateKey(c.key)));
    await configError(t, { ...base, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: kf, S3_KMS_KES_KEY_PASSWORD: 'wrong' },
      'S3_KMS_KES_KEY_PASSWORD', /cannot decrypt/);
    await configError(t, { ...base, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: kf }, 'S3_KMS_KES_KEY_PASSWORD', /is encrypted/);
  }
});

t.test('KES configured in part: the error names every variable missing and every one set', async (t) => {
  // S3_KMS_KES_KEY_FILE alone was answered "S3_KMS_KES_ENDPOINT: not set": the operator fixed
  // that, to be told of S3_KMS_KES_KEY_NAME at the next start, then of S3_KMS_KES_CERT_FILE, and
  // was never told that the variable set had selected KES (unset it for no KES).
  const needs = 'KES needs S3_KMS_KES_ENDPOINT, S3_KMS_KES_KEY_NAME, and S3_KMS_KES_API_KEY or S3_KMS_KES_CERT_FILE with S3_KMS_KES_KEY_FILE: set the missing, or unset every S3_KMS_KES_* variable to run without KES';
  const cases: Array<[NodeJS.ProcessEnv, string, string, string]> = [
    [{ S3_KMS_KES_KEY_FILE: keyFile }, 'S3_KMS_KES_ENDPOINT', 'S3_KMS_KES_KEY_FILE', 'S3_KMS_KES_ENDPOINT, S3_KMS_KES_KEY_NAME, S3_KMS_KES_CERT_FILE'],
    [{ S3_KMS_KES_KEY_NAME: 'k', S3_KMS_KES_CAPATH: caFile }, 'S3_KMS_KES_ENDPOINT', 'S3_KMS_KES_KEY_NAME, S3_KMS_KES_CAPATH', 'S3_KMS_KES_ENDPOINT, S3_KMS_KES_CERT_FILE and S3_KMS_KES_KEY_FILE (or S3_KMS_KES_API_KEY)'],
    [{ S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_TIMEOUT: '5' }, 'S3_KMS_KES_ENDPOINT', 'S3_KMS_KES_API_KEY, S3_KMS_KES_TIMEOUT', 'S3_KMS_KES_ENDPOINT, S3_KMS_KES_KEY_NAME'],
    [{ S3_KMS_KES_ENDPOINT: 'https://127.0.0.1:7373', S3_KMS_KES_CERT_FILE: certFile }, 'S3_KMS_KES_KEY_NAME', 'S3_KMS_KES_ENDPOINT, S3_KMS_KES_CERT_FILE', 'S3_KMS_KES_KEY_NAME, S3_KMS_KES_KEY_FILE'],
  ];
  for (const [env, variable, set, missing] of cases) {
    const err: unknown = await loadKesConfig(env).then(() => undefined, (e: unknown) => e);
    t.type(err, KmsConfigError);
    t.equal((err as KmsConfigError).variable, variable, `${Object.keys(env).join(', ')}: names ${variable} first`);
    t.equal((err as Error).message, `${variable}: not set; KES is configured in part (any S3_KMS_KES_* variable selects it): set ${set}; missing ${missing}. ${needs}`);
  }
});

t.test('validation errors name the variable', async (t) => {
  await configError(t, {}, 'S3_KMS_KES_ENDPOINT', /not set/);
  await configError(t, { ...base, S3_KMS_KES_KEY_NAME: '' , S3_KMS_KES_API_KEY: API_KEY }, 'S3_KMS_KES_KEY_NAME', /^S3_KMS_KES_KEY_NAME: not set; KES is configured in part .*: set S3_KMS_KES_ENDPOINT, S3_KMS_KES_API_KEY; missing S3_KMS_KES_KEY_NAME\./);
  await configError(t, { ...base, S3_KMS_KES_KEY_NAME: 'bad name', S3_KMS_KES_API_KEY: API_KEY }, 'S3_KMS_KES_KEY_NAME', /invalid characters/);
  // KES's rule beyond the characters: the message says it (it named only the characters and the length).
  for (const name of ['-lead', 'trail-', '_']) {
    await configError(t, { ...base, S3_KMS_KES_KEY_NAME: name, S3_KMS_KES_API_KEY: API_KEY }, 'S3_KMS_KES_KEY_NAME', /neither starting nor ending with '-', not '_' alone/);
  }
  await configError(t, { ...base }, 'S3_KMS_KES_CERT_FILE', /S3_KMS_KES_API_KEY/);
  await configError(t, { ...base, S3_KMS_KES_CERT_FILE: certFile }, 'S3_KMS_KES_KEY_FILE', /required with S3_KMS_KES_CERT_FILE/);
  await configError(t, { ...base, S3_KMS_KES_KEY_FILE: keyFile }, 'S3_KMS_KES_CERT_FILE', /required with S3_KMS_KES_KEY_FILE/);
  await configError(t, { ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: keyFile },
    'S3_KMS_KES_API_KEY', /cannot be combined with S3_KMS_KES_CERT_FILE, S3_KMS_KES_KEY_FILE/);
  await configError(t, { ...base, S3_KMS_KES_API_KEY: 'kes:v1:AAEC' }, 'S3_KMS_KES_API_KEY', /length/);
  await configError(t, { ...base, S3_KMS_KES_API_KEY: 'kes:v1:' + Buffer.concat([Buffer.of(1), Buffer.alloc(32)]).toString('base64') },
    'S3_KMS_KES_API_KEY', /unsupported API key type 1/);
  await configError(t, { ...base, S3_KMS_KES_CERT_FILE: join(dir, 'missing.crt'), S3_KMS_KES_KEY_FILE: keyFile },
    'S3_KMS_KES_CERT_FILE', /cannot read .*ENOENT/);
  await configError(t, { ...base, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: join(dir, 'missing.key') },
    'S3_KMS_KES_KEY_FILE', /cannot read/);
  await configError(t, { ...base, S3_KMS_KES_CERT_FILE: keyFile, S3_KMS_KES_KEY_FILE: keyFile }, 'S3_KMS_KES_CERT_FILE', /no PEM certificate/);
  await configError(t, { ...base, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: certFile }, 'S3_KMS_KES_KEY_FILE', /not a PEM private key/);
  const otherKey = file('other.key', pki.app.key);
  await configError(t, { ...base, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: otherKey }, 'S3_KMS_KES_KEY_FILE', /does not belong/);
  await configError(t, { ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_CAPATH: join(dir, 'nope') }, 'S3_KMS_KES_CAPATH', /cannot read/);
  await configError(t, { ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_CAPATH: keyFile }, 'S3_KMS_KES_CAPATH', /no PEM certificate/);
  await configError(t, { ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_TIMEOUT: 'soon' }, 'S3_KMS_KES_TIMEOUT', /seconds/);
  await configError(t, { ...base, S3_KMS_KES_ENDPOINT: 'http://kes:7373', S3_KMS_KES_API_KEY: API_KEY }, 'S3_KMS_KES_ENDPOINT', /https/);
  if (process.getuid?.() !== 0) {
    const unreadable = file('unreadable.key', pki.admin.key);
    chmodSync(unreadable, 0);
    await configError(t, { ...base, S3_KMS_KES_CERT_FILE: certFile, S3_KMS_KES_KEY_FILE: unreadable }, 'S3_KMS_KES_KEY_FILE', /EACCES/);
  }
});

t.test('API key: kes-api.md §3.4 vector, Ed25519 self-signed client certificate', async (t) => {
  const k = parseApiKey(API_KEY);
  t.equal(k.identity, 'a050837d85070582ccf7394b0988847cc312cb88259b894899f6f239cf1791a5');
  t.equal(k.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'),
    '302a300506032b657003210003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8');
  t.equal(parseApiKey(API_KEY.slice('kes:v1:'.length)).identity, k.identity, 'prefix optional');
  const now = new Date('2026-01-01T00:00:00Z');
  const cert = await certificateForApiKey(k, now);
  const x = new X509Certificate(cert.certPem);
  t.equal(identityOfCertificate(cert.certPem), k.identity);
  t.equal(x.subject, `CN=${k.identity}`);
  t.equal(x.issuer, x.subject, 'self-signed');
  t.ok(x.verify(k.publicKey), 'signature verifies with the API key');
  t.equal(x.ca, false);
  t.equal(x.keyUsage?.includes('1.3.6.1.5.5.7.3.2'), true, 'clientAuth');
  t.equal(new Date(x.validTo).getTime() - new Date(x.validFrom).getTime(), 90 * 86400_000);
  const c = await loadKesConfig({ ...base, S3_KMS_KES_API_KEY: API_KEY });
  t.equal(c.auth, 'api-key');
  t.equal(c.identity, k.identity);
});

t.test('CAPATH: file or directory, added to the root store', async (t) => {
  const caDir = join(dir, 'cas');
  mkdirSync(caDir);
  writeFileSync(join(caDir, 'a.crt'), pki.caCert);
  writeFileSync(join(caDir, 'b.pem'), pki.server.cert + pki.caCert);
  writeFileSync(join(caDir, 'README'), 'not a certificate');
  t.equal(readCaPath(caDir).length, 3);
  t.equal(readCaPath(caFile).length, 1);
  const noSystem = file('no-certificates.pem', 'no certificate here');
  const c = await loadKesConfig({ ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_CAPATH: caDir, SSL_CERT_FILE: noSystem });
  t.equal(c.ca.length, rootCertificates.length + 3);
  t.ok(c.ca.includes(rootCertificates[0]!), 'Node\'s roots kept');
  t.same(c.trust, [`Node's ${rootCertificates.length} roots`, `${noSystem}: 0 (0 not among Node's)`, `S3_KMS_KES_CAPATH ${caDir}: 3`]);
});

t.test('the system\'s roots are trusted as Go (MinIO\'s KES client) trusts them: SSL_CERT_FILE, else the distribution\'s bundle; NODE_EXTRA_CA_CERTS too', async (t) => {
  const has = (ca: readonly string[], pem: string): boolean => ca.some((c) => c.replace(/\s+/g, '') === pem.replace(/\s+/g, ''));
  // A private CA "installed in the system's store": the file SSL_CERT_FILE names, with a public
  // root Node already ships (counted once) and a block that does not parse (left out).
  const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
  const bundle = file('system-bundle.crt', rootCertificates[0]! + '\n' + broken + pki.caCert);
  const c = await loadKesConfig({ ...base, S3_KMS_KES_API_KEY: API_KEY, SSL_CERT_FILE: bundle });
  t.ok(has(c.ca, pki.caCert), 'the CA in SSL_CERT_FILE is trusted without CAPATH (it was not: Node\'s roots only)');
  t.equal(c.ca.length, rootCertificates.length + 1, 'Node\'s root in the bundle counted once, the broken block left out');
  t.same(c.trust, [`Node's ${rootCertificates.length} roots`, `${bundle}: 2 (1 not among Node's)`]);
  t.same(c.warnings, []);

  const extra = file('extra.crt', pki.strangerCa.cert);
  const e = await loadKesConfig({ ...base, S3_KMS_KES_API_KEY: API_KEY, SSL_CERT_FILE: bundle, NODE_EXTRA_CA_CERTS: extra, S3_KMS_KES_CAPATH: caFile });
  t.ok(has(e.ca, pki.strangerCa.cert), 'NODE_EXTRA_CA_CERTS is kept (Node drops it once a connection names its roots)');
  t.ok(has(e.ca, pki.caCert), 'with CAPATH too');

  const missing = join(dir, 'no-such-bundle.crt');
  const m = await loadKesConfig({ ...base, S3_KMS_KES_API_KEY: API_KEY, SSL_CERT_FILE: missing });
  t.equal(m.ca.length, rootCertificates.length, 'an unreadable SSL_CERT_FILE leaves Node\'s roots');
  t.match(m.warnings, [new RegExp(`SSL_CERT_FILE ${missing} cannot be read \\(ENOENT\\)`)], 'with a warning, not a refusal (Go ignores it too)');

  // Without SSL_CERT_FILE, the first bundle of Go's list that exists (this machine's, if any).
  const system = SYSTEM_CA_FILES.find((f) => existsSync(f));
  const d = await loadKesConfig({ ...base, S3_KMS_KES_API_KEY: API_KEY });
  t.equal(d.trust.length, system === undefined ? 1 : 2, `the distribution's bundle: ${system ?? 'none here'}`);
  if (system !== undefined) t.match(d.trust[1], `${system}: `);
});

t.test('endpoints: comma-separated, trimmed, deduplicated origins', async (t) => {
  t.same(parseEndpoints(' https://a:7373, https://b:7373/ ,,https://a:7373'), ['https://a:7373', 'https://b:7373']);
  t.throws(() => parseEndpoints('https://a:7373/v1'), { variable: 'S3_KMS_KES_ENDPOINT', message: /without path/ });
  t.throws(() => parseEndpoints(' , '), { message: /no endpoint/ });
  t.equal((await loadKesConfig({ ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_TIMEOUT: '2.5' })).requestTimeoutMs, 2500);
  // It rounded to a timeout of 0 ms.
  await configError(t, { ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_TIMEOUT: '0.0001' }, 'S3_KMS_KES_TIMEOUT', /from 0\.001 to 600/);
  t.equal((await loadKesConfig({ ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_TIMEOUT: '0.001' })).requestTimeoutMs, 1);
  // Number() read hex, binary and exponents as seconds.
  for (const raw of ['0x10', '0b11', '1e1', '+5', '1_0']) {
    await configError(t, { ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_TIMEOUT: raw }, 'S3_KMS_KES_TIMEOUT', /seconds/);
  }
  // `1e1` is ten seconds, in range: the refusal says it is the notation that is wrong.
  await configError(t, { ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_TIMEOUT: '1e1' }, 'S3_KMS_KES_TIMEOUT', /^S3_KMS_KES_TIMEOUT: '1e1' must be a plain decimal number of seconds from 0\.001 to 600$/);
  t.equal((await loadKesConfig({ ...base, S3_KMS_KES_API_KEY: API_KEY, S3_KMS_KES_TIMEOUT: ' 5 ' })).requestTimeoutMs, 5000);
});
