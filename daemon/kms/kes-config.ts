// KES client configuration from S3_KMS_KES_* variables: endpoints, key name, mTLS material (cert +
// possibly encrypted key, or a kes:v1: API key), trust (Node's roots, the system's roots, CAPATH).
// Validated up front.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { validityOf, type CertificateValidity } from '../cert-validity.js';
import { certificateForApiKey, identityOfCertificate, parseApiKey } from './kes-identity.js';
import { KmsConfigError, plainDecimal } from './provider.js';
import { KEY_NAME_RULE, isValidKeyName } from './static-provider.js';

export const KES_ENV = {
  endpoint: 'S3_KMS_KES_ENDPOINT',
  keyName: 'S3_KMS_KES_KEY_NAME',
  certFile: 'S3_KMS_KES_CERT_FILE',
  keyFile: 'S3_KMS_KES_KEY_FILE',
  keyPassword: 'S3_KMS_KES_KEY_PASSWORD',
  caPath: 'S3_KMS_KES_CAPATH',
  apiKey: 'S3_KMS_KES_API_KEY',
  timeout: 'S3_KMS_KES_TIMEOUT',
} as const;

/** Per-attempt request timeout when S3_KMS_KES_TIMEOUT is unset (KES's own route deadline is 15 s). */
export const DEFAULT_KES_TIMEOUT_MS = 10_000;

export interface KesConfig {
  /** https origins, in configured order. */
  readonly endpoints: readonly string[];
  /** Key for SSE-S3 and SSE-KMS without a key id; created when missing. */
  readonly defaultKeyName: string;
  /** Client certificate (chain) PEM. */
  readonly cert: string;
  /** Client private key, decrypted, PKCS#8 PEM (kept in memory only). */
  readonly key: string;
  /** Trusted roots: Node's, the system's (systemRoots), NODE_EXTRA_CA_CERTS's and CAPATH's. */
  readonly ca: readonly string[];
  /** Where the roots came from, with counts, for the start-up log. */
  readonly trust: readonly string[];
  /** Our KES identity (SHA-256 of the client certificate's SPKI), for logs and policy setup. */
  readonly identity: string;
  readonly auth: 'api-key' | 'certificate';
  readonly requestTimeoutMs: number;
  /** Harmless oddities worth a warning at start-up (e.g. a password for an unencrypted key). */
  readonly warnings: readonly string[];
  /** When S3_KMS_KES_CERT_FILE's certificate is valid (undefined with an API key, whose certificate s3d makes). */
  readonly clientCertificate?: CertificateValidity;
}

/** What to do about the KES client certificate's validity (validityProblem). */
export const KES_CLIENT_CERTIFICATE = {
  what: `the KES client certificate (${KES_ENV.certFile})`,
  renew: 'KES refuses s3d with it, and SSE-S3 and SSE-KMS objects can be neither written nor read; renew it and restart s3d (systemctl restart s3d)',
} as const;

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

function readText(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new KmsConfigError(variable, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

export function parseEndpoints(value: string, variable: string = KES_ENV.endpoint): string[] {
  const out: string[] = [];
  for (const [i, part] of value.split(',').map((s) => s.trim()).filter(Boolean).entries()) {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      throw new KmsConfigError(variable, `entry ${i + 1} is not a URL (expected https://host:port)`);
    }
    // Errors show the origin only: a path, query or user part may hold a credential.
    const shown = `'${url.protocol}//${url.host}'`;
    if (url.protocol !== 'https:') throw new KmsConfigError(variable, `${shown} must use https (KES only speaks TLS)`);
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
      throw new KmsConfigError(variable, `${shown} must be an origin without path, query or credentials`);
    }
    if (!out.includes(url.origin)) out.push(url.origin);
  }
  if (out.length === 0) throw new KmsConfigError(variable, 'no endpoint given');
  return out;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Where Go's crypto/x509 looks for the system's root certificates on Linux, in its order. MinIO's
 * KES client trusts those and CAPATH's; Node trusts only the roots it ships (Mozilla's list), so a
 * private CA installed in the operating system's store (update-ca-certificates) would not be.
 * SSL_CERT_FILE names another file, as it does for Go and OpenSSL.
 */
export const SYSTEM_CA_FILES: readonly string[] = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL 6
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/pki/tls/cacert.pem', // OpenELEC
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS, RHEL 7+
  '/etc/ssl/cert.pem', // Alpine
];

/** The PEM certificates in `text` (each ending in a newline), with the error of each that does not parse. */
function pemCertificates(text: string): { pem: string; error?: unknown }[] {
  return (text.match(PEM_CERT) ?? []).map((pem) => {
    try {
      new X509Certificate(pem);
      return { pem: pem + '\n' };
    } catch (error) {
      return { pem: pem + '\n', error: error ?? new Error('unparsable') };
    }
  });
}

/**
 * The roots s3d trusts for KES beyond CAPATH: Node's, the system's (SSL_CERT_FILE, else the first
 * of SYSTEM_CA_FILES that exists) and NODE_EXTRA_CA_CERTS's, which Node drops once a connection
 * names its own roots. A named file that cannot be read is a warning, as Go ignores it.
 */
export function systemRoots(env: NodeJS.ProcessEnv, warnings: string[]): { certs: string[]; trust: string[] } {
  const certs = [...rootCertificates];
  const trust = [`Node's ${rootCertificates.length} roots`];
  const bare = (pem: string): string => pem.replace(/\s+/g, '');
  const seen = new Set(certs.map(bare));
  const add = (variable: string | undefined, file: string): void => {
    let found: string[];
    try {
      // A certificate of a system bundle that does not parse is left out, not ours to refuse.
      found = pemCertificates(readFileSync(file, 'utf8')).filter((c) => c.error === undefined).map((c) => c.pem);
    } catch (err) {
      warnings.push(`${variable ?? 'the system\'s CA file'} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): its certificates are not trusted for KES`);
      return;
    }
    const fresh = found.filter((pem) => !seen.has(bare(pem)));
    for (const pem of fresh) seen.add(bare(pem));
    certs.push(...fresh);
    trust.push(`${file}: ${found.length} (${fresh.length} not among Node's)`);
  };
  const named = nonEmpty(env, 'SSL_CERT_FILE');
  const system = named ?? SYSTEM_CA_FILES.find((f) => existsSync(f));
  if (system !== undefined) add(named === undefined ? undefined : 'SSL_CERT_FILE', system);
  const extra = nonEmpty(env, 'NODE_EXTRA_CA_CERTS');
  if (extra !== undefined) add('NODE_EXTRA_CA_CERTS', extra);
  return { certs, trust };
}

/**
 * CA certificates from a PEM file or every PEM file in a directory (non-certificate files skipped;
 * a file of the directory this user may not read is skipped with a warning in `warnings`).
 */
export function readCaPath(path: string, variable: string = KES_ENV.caPath, warnings: string[] = []): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw new KmsConfigError(variable, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  let files: string[];
  try {
    files = isDir ? readdirSync(path, { withFileTypes: true }).filter((d) => d.isFile() || d.isSymbolicLink()).map((d) => join(path, d.name)).sort() : [path];
  } catch (err) {
    // A directory this user may stat but not list (mode 0311, a root-owned 0700 inside a 0711
    // parent): it was a bare EACCES naming no variable, exit 1 and systemd restarting into it.
    throw new KmsConfigError(variable, `cannot list ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  const certs: string[] = [];
  const unreadable: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      // A dangling symlink (ENOENT) or a link to a directory (EISDIR) holds no certificate; a
      // file this user may not read may hold the very CA KES's certificate needs, and its loss
      // showed only later, as a TLS failure on every KES request.
      const code = (err as NodeJS.ErrnoException).code;
      if (isDir && code !== 'ENOENT' && code !== 'EISDIR') {
        warnings.push(`${variable}: cannot read ${f} (${code ?? String(err)}): its certificates are not trusted for KES`);
        unreadable.push(`${f} (${code ?? String(err)})`);
      }
      if (isDir) continue;
      throw new KmsConfigError(variable, `cannot read ${f}: ${String(err)}`, { cause: err });
    }
    for (const { pem, error } of pemCertificates(text)) {
      if (error !== undefined) throw new KmsConfigError(variable, `${f} contains an unparsable certificate`, { cause: error });
      certs.push(pem);
    }
  }
  // Only unreadable files (a CA installed 0600 root): say so, not that the directory holds none.
  if (certs.length === 0) throw new KmsConfigError(variable, `no PEM certificate found in ${path}${unreadable.length > 0 ? `; cannot read ${unreadable.join(', ')}` : ''}`);
  return certs;
}

/** An encrypted PKCS#8 (`BEGIN ENCRYPTED PRIVATE KEY`) or legacy OpenSSL (`Proc-Type: 4,ENCRYPTED`) PEM. */
export function isEncryptedKeyPem(pem: string): boolean {
  return /ENCRYPTED/.test(pem);
}

/** Decrypt (if needed) and normalise a client key: encrypted PKCS#8 and legacy Proc-Type PEM both work. */
export function loadPrivateKey(pem: string, password: string | undefined, fileVar: string, passwordVar: string): string {
  const encrypted = isEncryptedKeyPem(pem);
  if (encrypted && password === undefined) {
    throw new KmsConfigError(passwordVar, `the key in ${fileVar} is encrypted; set ${passwordVar}`);
  }
  try {
    const key = createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase: password } : { key: pem, format: 'pem' });
    return key.export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch (err) {
    if (encrypted) throw new KmsConfigError(passwordVar, `cannot decrypt the key in ${fileVar} (wrong password?)`, { cause: err });
    throw new KmsConfigError(fileVar, 'not a PEM private key', { cause: err });
  }
}

function parseTimeout(env: NodeJS.ProcessEnv): number {
  const raw = nonEmpty(env, KES_ENV.timeout);
  if (raw === undefined) return DEFAULT_KES_TIMEOUT_MS;
  const seconds = plainDecimal(raw);
  // At least a millisecond: `0.0001` rounded to a timeout of 0 ms.
  if (!Number.isFinite(seconds) || seconds < 0.001 || seconds > 600) {
    throw new KmsConfigError(KES_ENV.timeout, `'${raw}' must be a plain decimal number of seconds from 0.001 to 600`);
  }
  return Math.round(seconds * 1000);
}

/** What KES takes at the least, for the errors of a KES configured in part. */
const KES_NEEDS = `${KES_ENV.endpoint}, ${KES_ENV.keyName}, and ${KES_ENV.apiKey} or ${KES_ENV.certFile} with ${KES_ENV.keyFile}`;

/**
 * The variables KES needs that `env` lacks, in KES_NEEDS's order (the client's credentials as the
 * pair of files unless one of them, or the API key, is set).
 */
function missingKesVariables(env: NodeJS.ProcessEnv): string[] {
  const missing = [KES_ENV.endpoint, KES_ENV.keyName].filter((name) => nonEmpty(env, name) === undefined);
  if (nonEmpty(env, KES_ENV.apiKey) !== undefined) return missing;
  const files = [KES_ENV.certFile, KES_ENV.keyFile].filter((name) => nonEmpty(env, name) === undefined);
  if (files.length === 2) return [...missing, `${KES_ENV.certFile} and ${KES_ENV.keyFile} (or ${KES_ENV.apiKey})`];
  return [...missing, ...files];
}

/**
 * A KES configured in part, `variable` (the first of them) among the missing: every variable
 * missing and every one set is named, so that one start, not one per variable, says what to fix
 * (S3_KMS_KES_KEY_FILE alone was answered with S3_KMS_KES_ENDPOINT only), and that any of them
 * selects KES: an operator who set one by mistake learns how to have no KES.
 */
function partialKesError(env: NodeJS.ProcessEnv, variable: string): KmsConfigError {
  const set = Object.values(KES_ENV).filter((name) => nonEmpty(env, name) !== undefined);
  const missing = missingKesVariables(env);
  return new KmsConfigError(
    variable,
    `not set; KES is configured in part (any S3_KMS_KES_* variable selects it): set ${set.length > 0 ? set.join(', ') : 'none'}; missing ${missing.join(', ')}. ` +
      `KES needs ${KES_NEEDS}: set the missing, or unset every S3_KMS_KES_* variable to run without KES`,
  );
}

/**
 * Read and validate the KES variables. Rejects with KmsConfigError naming the variable at fault.
 * Async because an API key's client certificate is signed through WebCrypto.
 */
export async function loadKesConfig(env: NodeJS.ProcessEnv): Promise<KesConfig> {
  const endpointRaw = nonEmpty(env, KES_ENV.endpoint);
  if (endpointRaw === undefined) throw partialKesError(env, KES_ENV.endpoint);
  const endpoints = parseEndpoints(endpointRaw);
  const keyName = nonEmpty(env, KES_ENV.keyName)?.trim();
  if (keyName === undefined) throw partialKesError(env, KES_ENV.keyName);
  if (!isValidKeyName(keyName)) {
    throw new KmsConfigError(KES_ENV.keyName, `'${keyName}' is empty, too long or contains invalid characters (${KEY_NAME_RULE})`);
  }
  const certFile = nonEmpty(env, KES_ENV.certFile);
  const keyFile = nonEmpty(env, KES_ENV.keyFile);
  const password = env[KES_ENV.keyPassword] === undefined || env[KES_ENV.keyPassword] === '' ? undefined : env[KES_ENV.keyPassword];
  const apiKeyRaw = nonEmpty(env, KES_ENV.apiKey);
  const warnings: string[] = [];

  let cert: string;
  let key: string;
  let auth: KesConfig['auth'];
  let clientCertificate: CertificateValidity | undefined;
  if (apiKeyRaw !== undefined) {
    if (certFile !== undefined || keyFile !== undefined || password !== undefined) {
      const others = [certFile && KES_ENV.certFile, keyFile && KES_ENV.keyFile, password !== undefined && KES_ENV.keyPassword].filter(Boolean);
      throw new KmsConfigError(KES_ENV.apiKey, `cannot be combined with ${others.join(', ')}: use either an API key or a client certificate`);
    }
    const generated = await certificateForApiKey(parseApiKey(apiKeyRaw, KES_ENV.apiKey));
    cert = generated.certPem;
    key = generated.keyPem;
    auth = 'api-key';
  } else {
    if (certFile === undefined && keyFile === undefined) {
      throw new KmsConfigError(KES_ENV.certFile, `set ${KES_ENV.certFile} and ${KES_ENV.keyFile}, or ${KES_ENV.apiKey}`);
    }
    if (certFile === undefined) throw new KmsConfigError(KES_ENV.certFile, `required with ${KES_ENV.keyFile}`);
    if (keyFile === undefined) throw new KmsConfigError(KES_ENV.keyFile, `required with ${KES_ENV.certFile}`);
    cert = readText(KES_ENV.certFile, certFile);
    if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new KmsConfigError(KES_ENV.certFile, `${certFile} holds no PEM certificate`);
    const keyPem = readText(KES_ENV.keyFile, keyFile);
    key = loadPrivateKey(keyPem, password, KES_ENV.keyFile, KES_ENV.keyPassword);
    if (password !== undefined && !isEncryptedKeyPem(keyPem)) {
      warnings.push(`${KES_ENV.keyPassword} is set but the key in ${KES_ENV.keyFile} (${keyFile}) is not encrypted: the password is not used`);
    }
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(cert);
    } catch (err) {
      throw new KmsConfigError(KES_ENV.certFile, `${certFile} holds an unparsable certificate`, { cause: err });
    }
    // KES refuses a CA certificate as client identity ("tls: client certificate is required"):
    // every request would fail later with a confusing error, so refuse it here.
    if (leaf.ca) {
      throw new KmsConfigError(KES_ENV.certFile,
        `${certFile} is a CA certificate (basic constraints CA:TRUE, as plain \`openssl req -x509\` makes) and KES refuses those as client ` +
        'certificates: use a leaf certificate (`kes identity new`, or openssl with `-addext basicConstraints=critical,CA:FALSE`)');
    }
    if (!leaf.checkPrivateKey(createPrivateKey(key))) {
      throw new KmsConfigError(KES_ENV.keyFile, `the key does not belong to the certificate in ${KES_ENV.certFile}`);
    }
    auth = 'certificate';
    clientCertificate = validityOf(leaf);
  }
  const caPath = nonEmpty(env, KES_ENV.caPath);
  const roots = systemRoots(env, warnings);
  const own = caPath === undefined ? [] : readCaPath(caPath, KES_ENV.caPath, warnings);
  if (caPath !== undefined) roots.trust.push(`${KES_ENV.caPath} ${caPath}: ${own.length}`);
  return Object.freeze({
    endpoints: Object.freeze(endpoints),
    defaultKeyName: keyName,
    cert,
    key,
    ca: Object.freeze([...roots.certs, ...own]),
    trust: Object.freeze(roots.trust),
    identity: identityOfCertificate(cert),
    auth,
    requestTimeoutMs: parseTimeout(env),
    warnings: Object.freeze(warnings),
    ...(clientCertificate !== undefined ? { clientCertificate } : {}),
  });
}
