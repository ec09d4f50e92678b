// Which certificate keys the S3 endpoint can serve, against the real daemon. Node's OpenSSL takes
// keys that uWebSockets.js's TLS library does not (RSA-PSS, Ed448, EC keys on other curves than
// P-256/P-384/P-521): such a key must be refused by name, at start-up (exit 2: systemd does not
// restart into it) and at a reload (the previous certificate stays), not met as uWS's bare
// "App construction failed" (exit 1, restarted five times by systemd). A key encrypted with a
// passphrase (s3d takes none) is refused saying so, not with OpenSSL's "bad decrypt"; one other
// users may read is warned about, and so is an RSA key under 2048 bits (served all the same). The
// certificate served is the one checked and logged (the files are read once). A public.crt
// holding the chain is served whole, and TLS 1.0 and 1.1 handshakes are refused with a
// protocol_version alert (the TLS 1.2 cipher list, all AEAD, has no suite for them either).
import t from 'tap';
import { X509Certificate, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import { createCertificate } from '../../daemon/kms/x509-writer.js';
import { ACCESS_KEY, SECRET_KEY, runS3d, servedFingerprint, startDaemonFor, testPki, testServerCert } from '../helpers/daemon.js';
import { pollUntil } from '../helpers/wait.js';

const pki = await testPki();


/** Keys Node's OpenSSL loads and checks against their certificate, but uWS's TLS library refuses. */
const UNSERVABLE: Array<[string, () => KeyObject, RegExp]> = [
  ['RSA-PSS', () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey, /a key of type rsa-pss/],
  ['Ed448', () => generateKeyPairSync('ed448').privateKey, /a key of type ed448/],
  ['EC secp256k1', () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey, /an EC key on curve secp256k1/],
];


t.test('a key uWS cannot serve is a configuration error at start-up, naming the key type', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 's3d-tls-keys-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  for (const [name, make, reason] of UNSERVABLE) {
    const certs = join(work, `certs-${name.replace(/\W/g, '')}`);
    mkdirSync(certs);
    const pair = await testServerCert(name, {}, make());
    writeFileSync(join(certs, 'public.crt'), pair.cert);
    writeFileSync(join(certs, 'private.key'), pair.key, { mode: 0o600 });
    const r = await runS3d(['server', join(work, `data-${name.replace(/\W/g, '')}`)], { S3_ROOT_USER: ACCESS_KEY, S3_ROOT_PASSWORD: SECRET_KEY, S3_ADDRESS: '127.0.0.1:0', S3_CERTS_DIR: certs }, 30_000);
    t.equal(r.code, 2, `${name}: exit 2 (a configuration error systemd does not restart into)`);
    t.match(r.stderr, /S3_CERTS_DIR: .*private\.key/, `${name}: stderr names the files`);
    t.match(r.stderr, reason, `${name}: and the key type`);
    t.notMatch(r.stderr, /App construction failed/, `${name}: not uWS's bare error`);
  }
});

t.test('at a reload, such a key is reported and the previous certificate stays in service', async (t) => {
  const d = await startDaemonFor(t, { tls: true });
  const certsDir = join(d.dataDir, '..', `${d.dataDir.split('/').pop()}-certs`);
  const original = new X509Certificate(pki.server.cert).fingerprint256;
  t.equal(await servedFingerprint(d.port), original, 'the original certificate is served');
  const pss = await testServerCert('rsa-pss', {}, UNSERVABLE[0]![1]());
  writeFileSync(join(certsDir, 'public.crt'), pss.cert);
  writeFileSync(join(certsDir, 'private.key'), pss.key, { mode: 0o600 });
  d.proc.kill('SIGHUP');
  const failed = await d.waitForLog((l) => l.msg === 'TLS certificate reload failed: still serving the previous certificate', 20_000);
  t.match(String((failed.err as { message?: string } | undefined)?.message), /a key of type rsa-pss/, 'the log line names the key type');
  t.equal(await servedFingerprint(d.port), original, 'the previous certificate is still served');
  t.equal(d.proc.exitCode, null, 'and the daemon runs');
  // A usable pair afterwards is taken up: the failed attempt left nothing half-done.
  const p384 = await testServerCert('p384', {}, generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
  writeFileSync(join(certsDir, 'public.crt'), p384.cert);
  writeFileSync(join(certsDir, 'private.key'), p384.key, { mode: 0o600 });
  d.proc.kill('SIGHUP');
  await d.waitForLog((l) => l.msg === 'TLS certificate reloaded' && l.fingerprint === p384.fingerprint, 20_000);
  t.equal(await servedFingerprint(d.port), p384.fingerprint, 'an EC P-384 certificate then replaces it');
});

t.test('a key protected by a passphrase is refused at start-up saying so, not "bad decrypt"', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 's3d-tls-encrypted-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const pair = await testServerCert('encrypted', {}, key);
  // PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY) and the traditional form (Proc-Type: 4,ENCRYPTED).
  const forms: Array<[string, string]> = [
    ['PKCS#8', key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString()],
    ['SEC1', key.export({ type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString()],
  ];
  for (const [name, pem] of forms) {
    const certs = join(work, `certs-${name.replace(/\W/g, '')}`);
    mkdirSync(certs);
    writeFileSync(join(certs, 'public.crt'), pair.cert);
    writeFileSync(join(certs, 'private.key'), pem, { mode: 0o600 });
    const r = await runS3d(['server', join(work, `data-${name.replace(/\W/g, '')}`)], { S3_ROOT_USER: ACCESS_KEY, S3_ROOT_PASSWORD: SECRET_KEY, S3_ADDRESS: '127.0.0.1:0', S3_CERTS_DIR: certs }, 30_000);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.match(r.stderr, /private\.key .*the private key is encrypted \(protected by a passphrase\)/, `${name}: stderr says the key is encrypted`);
  }
});

t.test('a private key every user may read is warned about, at start-up and at a reload', async (t) => {
  const certs = mkdtempSync(join(tmpdir(), 's3d-tls-keymode-'));
  t.teardown(() => rmSync(certs, { recursive: true, force: true }));
  writeFileSync(join(certs, 'public.crt'), pki.server.cert);
  writeFileSync(join(certs, 'private.key'), pki.server.key);
  chmodSync(join(certs, 'private.key'), 0o644); // what cp or install leave with the default umask
  const exposed = (l: Record<string, unknown>): boolean => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('the TLS private key ');
  const d = await startDaemonFor(t, { env: { S3_CERTS_DIR: certs } });
  const line = await d.waitForLog(exposed, 20_000);
  t.same([line.keyFile, line.mode], [join(certs, 'private.key'), '0644'], 'start-up warns, naming the file and its mode');
  t.match(String(line.msg), /chmod o-rwx/, 'and says what to do');
  chmodSync(join(certs, 'private.key'), 0o640);
  const before = d.jsonLogs().filter(exposed).length;
  d.proc.kill('SIGHUP');
  await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('TLS certificate and key files unchanged'), 20_000);
  t.equal(d.jsonLogs().filter(exposed).length, before, 'once it is 0640, a reload says nothing more');
  chmodSync(join(certs, 'private.key'), 0o604);
  d.proc.kill('SIGHUP');
  await pollUntil(() => d.jsonLogs().filter(exposed).length, (n) => n > before, 20_000, 50);
  t.pass('made readable by others again, the next reload warns');
  t.equal(await servedFingerprint(d.port), new X509Certificate(pki.server.cert).fingerprint256, 'the key is served all the while (a warning, not a refusal)');
});

t.test('an RSA key under 2048 bits is warned about, at start-up and at a reload, and still served', async (t) => {
  const certs = mkdtempSync(join(tmpdir(), 's3d-tls-weak-'));
  t.teardown(() => rmSync(certs, { recursive: true, force: true }));
  const install = (pair: { cert: string; key: string }): void => {
    writeFileSync(join(certs, 'public.crt'), pair.cert);
    writeFileSync(join(certs, 'private.key'), pair.key, { mode: 0o600 });
  };
  const weak = await testServerCert('rsa1024', {}, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
  install(weak);
  const isWeak = (l: Record<string, unknown>): boolean => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('the TLS key is RSA of 1024 bits');
  const d = await startDaemonFor(t, { env: { S3_CERTS_DIR: certs } });
  const line = await d.waitForLog(isWeak, 20_000);
  t.equal(line.certFile, join(certs, 'public.crt'), 'start-up warns, naming the file');
  t.match(String(line.msg), /2048/, 'and the size clients ask for');
  t.equal(await servedFingerprint(d.port), weak.fingerprint, 'and serves it (a warning, not a refusal)');
  const weak2 = await testServerCert('rsa1024-2', {}, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
  install(weak2);
  d.proc.kill('SIGHUP');
  await d.waitForLog((l) => l.msg === 'TLS certificate reloaded' && l.fingerprint === weak2.fingerprint, 20_000);
  await pollUntil(() => d.jsonLogs().filter(isWeak).length, (n) => n >= 2, 20_000, 50);
  t.pass('a reload to another 1024-bit key warns again');
  const strong = await testServerCert('rsa2048', {}, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
  install(strong);
  const before = d.jsonLogs().filter(isWeak).length;
  d.proc.kill('SIGHUP');
  await d.waitForLog((l) => l.msg === 'TLS certificate reloaded' && l.fingerprint === strong.fingerprint, 20_000);
  d.proc.kill('SIGHUP');
  await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('TLS certificate and key files unchanged'), 20_000);
  t.equal(d.jsonLogs().filter(isWeak).length, before, 'a 2048-bit key: no warning');
});

t.test('the certificate served is the one checked and logged, even if the file changes after the check', async (t) => {
  // public.crt as a FIFO that gives one certificate to its first reader and another (for the same
  // key) to the next: the daemon's check is the first read; uWS, reading the path again, was the
  // second and served a certificate other than the one checked and logged. (`exec`: the open that
  // waits for a reader is the shell's own, ended by the teardown.)
  const certs = mkdtempSync(join(tmpdir(), 's3d-tls-once-'));
  t.teardown(() => rmSync(certs, { recursive: true, force: true }));
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const first = await testServerCert('checked', {}, key);
  const second = await testServerCert('swapped-in', {}, key);
  writeFileSync(join(certs, 'first.pem'), first.cert);
  writeFileSync(join(certs, 'second.pem'), second.cert);
  writeFileSync(join(certs, 'private.key'), first.key, { mode: 0o600 });
  execFileSync('mkfifo', [join(certs, 'public.crt')]);
  const writer = spawn('/bin/sh', ['-c', 'cat first.pem > public.crt && exec cat second.pem > public.crt'], { cwd: certs, stdio: 'ignore' });
  t.teardown(() => {
    writer.kill('SIGKILL');
  });
  const d = await startDaemonFor(t, { env: { S3_CERTS_DIR: certs } });
  const loaded = await d.waitForLog((l) => l.msg === 'TLS certificate loaded', 20_000);
  t.equal(loaded.fingerprint, first.fingerprint, 'the check read the first certificate');
  t.equal(await servedFingerprint(d.port), first.fingerprint, 'and it is the one served');
});

/** How a handshake with `opts` ends: the protocol negotiated and the chain the server sent, or the error code. */
function handshake(port: number, opts: ConnectionOptions): Promise<{ protocol: string | null; chain: string[] } | string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ca: pki.caCert, servername: 'localhost', ...opts }, () => {
      const chain: string[] = [];
      const seen = new Set<string>(); // a root is its own issuer
      for (let c = s.getPeerCertificate(true); c?.subject !== undefined && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
        seen.add(c.fingerprint256);
        chain.push(String(c.subject.CN));
      }
      const protocol = s.getProtocol();
      s.end();
      resolve({ protocol, chain });
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

t.test('a leaf and its intermediate in public.crt are served whole; TLS 1.0 and 1.1 are refused', async (t) => {
  const caKey = createPrivateKey(pki.caKey);
  const intKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const intermediate = await createCertificate({ subjectCN: 'S3D Test Intermediate', issuerCN: 'S3D Test CA', publicKey: intKey, signingKey: caKey, ca: true, keyUsage: ['keyCertSign', 'cRLSign'], keyIdentifiers: true });
  const leafKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const leaf = await createCertificate({ subjectCN: 'chained', issuerCN: 'S3D Test Intermediate', publicKey: leafKey, signingKey: intKey, keyUsage: ['digitalSignature', 'keyEncipherment'], extKeyUsage: ['serverAuth'], dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], keyIdentifiers: true });
  const certs = mkdtempSync(join(tmpdir(), 's3d-tls-chain-'));
  t.teardown(() => rmSync(certs, { recursive: true, force: true }));
  writeFileSync(join(certs, 'public.crt'), leaf + intermediate); // certbot's fullchain.pem
  writeFileSync(join(certs, 'private.key'), leafKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  const d = await startDaemonFor(t, { env: { S3_CERTS_DIR: certs } });
  // The client trusts the root alone: it verifies only if the intermediate came with the leaf.
  t.same(await handshake(d.port, {}), { protocol: 'TLSv1.3', chain: ['chained', 'S3D Test Intermediate', 'S3D Test CA'] }, 'TLS 1.3: leaf and intermediate served, verified up to the root');
  t.same(await handshake(d.port, { maxVersion: 'TLSv1.2' }), { protocol: 'TLSv1.2', chain: ['chained', 'S3D Test Intermediate', 'S3D Test CA'] }, 'TLS 1.2 (RSA key): the same');
  // The client offers every suite, security level 0: only the server can be what refuses.
  for (const v of ['TLSv1', 'TLSv1.1'] as const) {
    t.equal(await handshake(d.port, { minVersion: v, maxVersion: v, ciphers: 'ALL:@SECLEVEL=0' }), 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', `${v}: refused with a protocol_version alert`);
  }
});
