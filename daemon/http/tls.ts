// TLS for the S3 endpoint: the certificate check at start-up and reload (and the checked bytes
// handed to uWS), the warnings about the key (open to other users, RSA too small), an expired
// certificate refused as a reload's replacement, the TLS 1.2 cipher list, and which requests may
// not travel in clear text (SSE-C customer keys).

import { X509Certificate, createHash, createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createSecureContext } from 'node:tls';
import type * as Uws from 'uWebSockets.js';
import { validityOf, type CertificateValidity } from '../cert-validity.js';
import { ConfigError, type Config } from '../config.js';

/**
 * TLS 1.2 suites offered: forward-secret ECDHE with AEAD ciphers only (Mozilla's "intermediate"
 * list without DHE, which needs DH parameters s3d has none of). CBC-mode and static-RSA suites
 * stay off, as TLS scanners (mint's security suite among them) expect. TLS 1.3 suites are all
 * AEAD and not governed by this list; TLS 1.0 and 1.1 are refused by the OpenSSL build.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** What checkTls found in the certificate and key files. */
export interface CheckedTls {
  certificate: { subject: string; validTo: string; fingerprint: string };
  validity: CertificateValidity;
  files: string;
  /** The key's size in bits when it is RSA (reportRsaKeySize). */
  rsaBits?: number;
  /** The bytes checked: what uWS is given (sslApp), not the files read again. */
  pem: { cert: Buffer; key: Buffer };
}

/**
 * The TLS certificate in use: checked before use (readable, a PEM certificate and its key), so a
 * bad file is reported with its name rather than failing deep inside uWS. `files` is one digest of
 * the two files' bytes: a reload that finds the same files changes nothing.
 */
export function checkTls(tls: Pick<NonNullable<Config['tls']>, 'certFile' | 'keyFile'>): CheckedTls {
  // A configuration matter (exit 2 at start-up: systemd does not restart into the same error).
  try {
    const cert = readFileSync(tls.certFile);
    const key = readFileSync(tls.keyFile);
    // OpenSSL's own words for it are "bad decrypt" (or a passphrase prompt, uWS having none).
    if (ENCRYPTED_PEM.test(key.toString('latin1'))) throw new Error('the private key is encrypted (protected by a passphrase), which s3d takes none of: store it decrypted (openssl pkey -in KEY -out private.key), readable by the service alone');
    createSecureContext({ cert, key });
    const x509 = new X509Certificate(cert);
    // createSecureContext misses a key of another type than the certificate's (an EC key beside an
    // RSA certificate, as one certbot renewal with another --key-type leaves): uWS then fails
    // with no reason given.
    const privateKey = createPrivateKey(key);
    const unservable = unservableKey(privateKey);
    if (unservable !== undefined) throw new Error(`the private key is ${unservable}, which the TLS library of uWebSockets.js cannot serve: use an RSA, ECDSA (P-256, P-384, P-521) or Ed25519 key`);
    if (!x509.checkPrivateKey(privateKey)) throw new Error('the private key does not belong to the certificate');
    return {
      certificate: { subject: x509.subject.replace(/\n/g, ', '), validTo: x509.validTo, fingerprint: x509.fingerprint256 },
      validity: validityOf(x509),
      files: createHash('sha256').update(cert).update('\0').update(key).digest('hex'),
      ...(privateKey.asymmetricKeyType === 'rsa' ? { rsaBits: privateKey.asymmetricKeyDetails?.modulusLength } : {}),
      pem: { cert, key },
    };
  } catch (err) {
    throw new ConfigError(`S3_CERTS_DIR: ${tls.certFile} and ${tls.keyFile} are not a usable certificate and key: ${(err as Error).message}`);
  }
}

/**
 * uWS's app serving `pem`, the bytes checkTls checked: uWS takes only file names, and reading
 * `tls`'s files again could serve a certificate swapped in after the check, other than the one
 * checked and logged. uWS may refuse what Node took: its bare "App construction failed" becomes
 * the same configuration error, naming the files (exit 2 at start-up; at a reload, the previous
 * certificate stays).
 */
export function sslApp(uws: typeof Uws, tls: Pick<NonNullable<Config['tls']>, 'certFile' | 'keyFile'>, pem: CheckedTls['pem']): Uws.TemplatedApp {
  try {
    return withUnlinkedCopies([pem.cert, pem.key], ([cert, key]) => uws.SSLApp({ cert_file_name: cert, key_file_name: key, ssl_ciphers: TLS12_CIPHERS }));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`S3_CERTS_DIR: ${tls.certFile} and ${tls.keyFile} are not a certificate and key uWebSockets.js can serve (${(err as Error).message})`);
  }
}

/**
 * Where the copies go: /dev/shm (memory, never a disk; writable under the unit's
 * ProtectSystem=strict, which spares /dev), else the temp directory (PrivateTmp= in the unit).
 */
const COPY_DIRS = ['/dev/shm', tmpdir()];

/**
 * Runs `use` with a path for each of `contents` that reads exactly those bytes: a file in one of
 * COPY_DIRS, opened, removed at once (before the key is written into it: no name ever shows it)
 * and read through /proc/self/fd while this process holds it open. Closed after `use`.
 */
export function withUnlinkedCopies<T>(contents: Buffer[], use: (paths: string[]) => T): T {
  const fds: number[] = [];
  try {
    for (const bytes of contents) fds.push(unlinkedCopy(bytes));
    return use(fds.map((fd) => `/proc/self/fd/${fd}`));
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/**
 * An open descriptor of a nameless file holding `bytes` (withUnlinkedCopies), in the first of
 * `dirs` that takes it: one that cannot be opened, or fills up while the bytes are written (a
 * full /dev/shm), is passed over for the next, not taken for a bad certificate (exit 2 at
 * start-up, which systemd does not restart).
 */
export function unlinkedCopy(bytes: Buffer, dirs: readonly string[] = COPY_DIRS): number {
  const failures: string[] = [];
  for (const dir of dirs) {
    const file = join(dir, `s3d-tls-${process.pid}-${randomUUID()}`);
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      failures.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    try {
      unlinkSync(file);
      writeFileSync(fd, bytes);
      return fd;
    } catch (err) {
      closeSync(fd);
      rmSync(file, { force: true });
      failures.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  throw new ConfigError(`S3_CERTS_DIR: no directory to hand the certificate to uWebSockets.js through (${failures.join('; ')})`);
}

/** An encrypted PEM private key: PKCS#8's own label, or the traditional forms' header. */
const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: *4, *ENCRYPTED/m;

/** The EC curves uWebSockets.js's TLS library (BoringSSL) signs handshakes with. */
const SERVABLE_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/**
 * What kind of key `key` is when uWS cannot serve it, else undefined. Node's OpenSSL loads and
 * checks more (RSA-PSS, Ed448, DSA, EC keys on other curves) than uWS's BoringSSL serves, and uWS
 * refuses those with a bare "App construction failed".
 */
function unservableKey(key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  if (type === 'rsa' || type === 'ed25519') return undefined;
  if (type !== 'ec') return `a key of type ${String(type)}`;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve !== undefined && SERVABLE_CURVES.has(curve) ? undefined : `an EC key on curve ${String(curve)}`;
}

/**
 * Warns when the private key may be read or written by every account on the machine (a copy made
 * with the default umask, 0644): whoever reads it can impersonate the endpoint. Warned, not
 * refused: the key is already exposed, and refusing would only take the service down with it.
 */
export function reportKeyAccess(log: Pick<Logger, 'warn'>, keyFile: string): void {
  let mode: number;
  try {
    mode = statSync(keyFile).mode & 0o777;
  } catch {
    return; // Gone since it was read: the next load reports that.
  }
  if ((mode & 0o007) === 0) return;
  const octal = mode.toString(8).padStart(4, '0');
  log.warn({ keyFile, mode: octal }, `the TLS private key ${keyFile} is open to every user of this machine (mode ${octal}): chmod o-rwx it (0600 owned by the service's user, or 0640 with its group; docs/operations.md, TLS)`);
}

/** The smallest RSA key clients still take: CA/Browser Forum rules, OpenSSL's security level 2. */
export const MIN_RSA_BITS = 2048;

/**
 * Warns when the served key is RSA under MIN_RSA_BITS. OpenSSL at security level 2 (the default of
 * Debian, Ubuntu and RHEL, so of the AWS CLI, boto3 and curl there) refuses such a server key
 * when it verifies the certificate ("certificate verify failed: EE certificate key too weak";
 * "ee key too small" is what OpenSSL says loading such a key of its own), and no public CA issues
 * one. Warned, not refused: clients at a lower level, or not verifying, still connect, and
 * refusing would only take the service down.
 */
export function reportRsaKeySize(log: Pick<Logger, 'warn'>, certFile: string, rsaBits: number | undefined): void {
  if (rsaBits === undefined || rsaBits >= MIN_RSA_BITS) return;
  log.warn({ certFile, rsaBits }, `the TLS key is RSA of ${rsaBits} bits: clients refuse keys under ${MIN_RSA_BITS} bits (OpenSSL at its default security level on Debian, Ubuntu and RHEL: "EE certificate key too weak"); issue a certificate with an RSA key of ${MIN_RSA_BITS} bits or more, or an ECDSA P-256 key`);
}

/**
 * Throws when a reload would replace the certificate in service, valid now, by an expired one (an
 * old copy put back, a renewal copied from the wrong place): every client would refuse the
 * endpoint, so the valid one stays. When the one in service is not valid either, nothing is lost
 * by taking the new one (it is logged as an error then). Not yet valid is taken: it may be this
 * machine's clock that is wrong.
 */
export function refuseExpiredReplacement(next: CertificateValidity, current: CertificateValidity | undefined, now = Date.now()): void {
  if (current === undefined || now < next.notAfterMs) return;
  if (now < current.notBeforeMs || now >= current.notAfterMs) return;
  throw new Error(`the new certificate expired on ${next.validTo}, while the certificate in service is valid until ${current.validTo}: kept the one in service (renew the new one, copy it into S3_CERTS_DIR and reload again)`);
}

/** What to do about the served certificate's validity (validityProblem). */
export const TLS_CERTIFICATE = {
  what: 'the TLS certificate',
  renew: 'renew it, copy it into S3_CERTS_DIR and run systemctl reload s3d (docs/operations.md, TLS)',
} as const;

// The customer key of the object written or read, and of a copy's source.
const SSE_C_PREFIXES = ['x-amz-server-side-encryption-customer-', 'x-amz-copy-source-server-side-encryption-customer-'] as const;

function isSseCName(name: string): boolean {
  return SSE_C_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/**
 * SSE-C headers demand TLS (S3 and MinIO refuse customer keys sent in clear text), and so do the
 * same names as query parameters (withQueryAmzHeaders makes them headers).
 */
export function isSecureAllowed(headers: Record<string, string>, query: URLSearchParams): boolean {
  for (const name of Object.keys(headers)) if (isSseCName(name)) return false;
  for (const name of query.keys()) if (isSseCName(name.toLowerCase())) return false;
  return true;
}
