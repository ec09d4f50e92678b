// Per-domain TLS certificates (SNI), as MinIO's certs directory has them: each sub-directory of
// S3_CERTS_DIR holding a public.crt and private.key is served to clients whose TLS server name
// (SNI) is one of the DNS names of its certificate's subjectAltName; the top-level pair is the
// default, served without SNI or for a name no sub-directory's certificate holds. The whole set
// (default and per-domain) is checked, loaded, reloaded and reported together.

import { X509Certificate, createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type * as Uws from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { reportValidity, type CertificateSubject, type CertificateValidity } from '../cert-validity.js';
import { ConfigError, type Config } from '../config.js';
import { quietStdio } from './stdio-quiet.js';
import { TLS12_CIPHERS, TLS_CERTIFICATE, checkTls, refuseExpiredReplacement, reportKeyAccess, reportRsaKeySize, sslApp, withUnlinkedCopies, type CheckedTls } from './tls.js';

type TlsConfig = NonNullable<Config['tls']>;

/** A sub-directory's certificate: checked as the default one is, and the server names it is served for. */
export interface CheckedDomain {
  /** The sub-directory's name (the `certificate` label of s3d_tls_certificate_expiry_timestamp_seconds). */
  dir: string;
  certFile: string;
  keyFile: string;
  /** Lower-case DNS names of its subjectAltName (`*.example.com` included), each an SNI server name. */
  serverNames: string[];
  checked: CheckedTls;
}

/** Every certificate S3_CERTS_DIR holds, checked. */
export interface CheckedTlsSet {
  main: CheckedTls;
  domains: CheckedDomain[];
  /** One digest of every file's bytes (and sub-directory names): a reload finding the same changes nothing. */
  files: string;
}

/**
 * Sub-directories not looked into: hidden ones (Kubernetes' `..data` of a mounted secret, a
 * `.git`) and `CAs`, where MinIO keeps the CA certificates it trusts as a client (s3d verifies
 * no client certificates, and its outgoing TLS trusts the system's CAs and NODE_EXTRA_CA_CERTS).
 */
function skipped(name: string): boolean {
  return name.startsWith('.') || name === 'CAs';
}

/**
 * The sub-directories of `certsDir` holding a certificate pair, sorted by name. One holding
 * neither file is not a certificate's and is passed over (as MinIO does); one holding only one of
 * them, or that cannot be searched, is a configuration error naming it.
 */
export function findDomainPairs(certsDir: string): Array<{ dir: string; certFile: string; keyFile: string }> {
  const pairs: Array<{ dir: string; certFile: string; keyFile: string }> = [];
  let names: string[];
  try {
    names = readdirSync(certsDir).sort();
  } catch (err) {
    throw new ConfigError(`S3_CERTS_DIR (${certsDir}) cannot be listed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  for (const dir of names) {
    if (skipped(dir)) continue;
    const path = join(certsDir, dir);
    try {
      if (!statSync(path).isDirectory()) continue; // public.crt, private.key, other files
    } catch {
      continue; // A dangling link: nothing to serve.
    }
    try {
      accessSync(path, constants.X_OK);
    } catch (err) {
      throw new ConfigError(`S3_CERTS_DIR: ${path} may not be read by this user (${(err as NodeJS.ErrnoException).code ?? ''}): give the service's user access to it, or move it out of S3_CERTS_DIR`);
    }
    const certFile = join(path, 'public.crt');
    const keyFile = join(path, 'private.key');
    const hasCert = existsSync(certFile);
    const hasKey = existsSync(keyFile);
    if (!hasCert && !hasKey) continue;
    if (hasCert !== hasKey) throw new ConfigError(`S3_CERTS_DIR: ${path} must hold both public.crt and private.key, found only ${hasCert ? 'public.crt' : 'private.key'}`);
    pairs.push({ dir, certFile, keyFile });
  }
  return pairs;
}

/**
 * The SNI server names a certificate is served for: the DNS names of its subjectAltName, lower
 * case, without a trailing dot. A wildcard is kept when it is a whole first label (`*.example.com`,
 * matching one label, as TLS clients match it); a partial one (`s3*.example.com`) no client
 * matches is dropped. The subject's CN is not a name (browsers, Go and MinIO ignore it too).
 */
export function serverNamesOf(x509: X509Certificate): string[] {
  const names = new Set<string>();
  for (const entry of (x509.subjectAltName ?? '').split(/,\s*/)) {
    if (!entry.startsWith('DNS:')) continue;
    const name = entry.slice(4).trim().toLowerCase().replace(/\.$/, '');
    if (!/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

/** Whether `name` (lower case) is matched by server name `pattern` (a wildcard matching one label). */
export function matchesServerName(pattern: string, name: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === name;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

/**
 * Checks every certificate in S3_CERTS_DIR: the top-level pair and each sub-directory's
 * (checkTls: readable, the key unencrypted, of a type uWS serves, the certificate's). A
 * sub-directory whose certificate names no DNS host name, or names one another sub-directory's
 * certificate names too, is a configuration error: it could not be served as meant.
 */
export function checkTlsSet(tls: TlsConfig): CheckedTlsSet {
  const main = checkTls(tls);
  const domains: CheckedDomain[] = [];
  const owner = new Map<string, string>();
  const digest = createHash('sha256').update(main.files);
  for (const pair of findDomainPairs(tls.dir)) {
    const checked = checkTls(pair);
    const serverNames = serverNamesOf(new X509Certificate(checked.pem.cert));
    if (serverNames.length === 0) throw new ConfigError(`S3_CERTS_DIR: ${pair.certFile} names no DNS host name in its subjectAltName, which is what a client's TLS server name (SNI) is matched with: it would never be served (a sub-directory's certificate must name its hosts; the subject's CN is not used)`);
    for (const name of serverNames) {
      const other = owner.get(name);
      if (other !== undefined) throw new ConfigError(`S3_CERTS_DIR: ${join(tls.dir, other, 'public.crt')} and ${pair.certFile} both name ${name}: s3d serves one certificate per server name (remove one, or the name from one)`);
      owner.set(name, pair.dir);
    }
    domains.push({ ...pair, serverNames, checked });
    digest.update(`\0${pair.dir}\0${checked.files}`);
  }
  return { main, domains, files: digest.digest('hex') };
}

/**
 * Throws when a reload would replace a certificate in service, valid now, by an expired one.
 * What a certificate replaces is what its server names are served now: the same sub-directory's
 * certificate, and for each name that one does not hold, the sub-directory certificate that holds
 * it now (a sub-directory renamed), or the default one when it names the host (a client naming a
 * host no sub-directory holds is served the default). Nothing is changed then.
 */
export function refuseExpiredSet(next: CheckedTlsSet, current: CheckedTlsSet | undefined, now = Date.now()): void {
  refuseExpiredReplacement(next.main.validity, current?.main.validity, now);
  if (current === undefined) return;
  const defaultNames = serverNamesOf(new X509Certificate(current.main.pem.cert));
  const covers = (patterns: readonly string[], name: string): boolean => patterns.some((p) => p === name || matchesServerName(p, name));
  for (const d of next.domains) {
    const same = current.domains.find((c) => c.dir === d.dir);
    const replaced: Array<[CertificateValidity, string | undefined]> = same !== undefined ? [[same.checked.validity, undefined]] : [];
    // Its names the same sub-directory does not serve now: whoever serves them.
    for (const name of d.serverNames) {
      if (same !== undefined && covers(same.serverNames, name)) continue;
      const holder = current.domains.find((c) => covers(c.serverNames, name));
      if (holder !== undefined) replaced.push([holder.checked.validity, name]);
      else if (covers(defaultNames, name)) replaced.push([current.main.validity, name]);
    }
    for (const [served, name] of replaced) {
      try {
        refuseExpiredReplacement(d.checked.validity, served, now);
      } catch (err) {
        throw new Error(`${d.certFile}${name !== undefined ? ` (for ${name})` : ''}: ${(err as Error).message}; no certificate was changed`);
      }
    }
  }
}

/** At most this many upper-case spellings of server names get their own entry per listener (missingServerName). */
const MAX_CASE_VARIANTS = 64;

/**
 * uWS's app serving the checked set: the default certificate, and each sub-directory's for its
 * server names (addServerName), with `handler` on every route: uWS routes a connection whose SNI
 * picked a server name through that name's own router (app.domain), and answers nothing on it
 * otherwise. Server names are matched as sent, and case matters to uWS: a name sent in another
 * case (`S3.Example.com`, RFC 6066 says names are case-insensitive) is added when it is first
 * met, up to MAX_CASE_VARIANTS per app; past that, such a name gets the default certificate.
 */
export function sniApp(uws: typeof Uws, tls: TlsConfig, set: CheckedTlsSet, handler: (res: HttpResponse, req: HttpRequest) => void, log: Pick<Logger, 'warn'>): TemplatedApp {
  const app = sslApp(uws, tls, set.main.pem);
  app.any('/*', handler);
  // uWS prints debugging lines through C stdio as a name is added: kept off standard output.
  const addNames = (d: CheckedDomain, names: string[]): void =>
    withUnlinkedCopies([d.checked.pem.cert, d.checked.pem.key], ([cert, key]) => {
      const options = { cert_file_name: cert, key_file_name: key, ssl_ciphers: TLS12_CIPHERS };
      for (const name of names) {
        quietStdio(() => {
          app.addServerName(name, options);
          app.domain(name).any('/*', handler);
        });
      }
    });
  for (const d of set.domains) {
    // addServerName crashes the process (a null context) on a certificate its TLS library
    // refuses, where SSLApp throws: each pair is tried on an app of its own first (kept by uWS
    // until the process ends, as every app is: one per sub-directory per load).
    sslApp(uws, d, d.checked.pem);
    addNames(d, d.serverNames);
  }
  if (set.domains.length === 0) return app;
  let variants = 0;
  app.missingServerName((sent) => {
    const name = sent.toLowerCase();
    if (name === sent || variants >= MAX_CASE_VARIANTS) return;
    const d = set.domains.find((c) => c.serverNames.some((p) => matchesServerName(p, name)));
    if (d === undefined) return;
    variants += 1;
    try {
      addNames(d, [sent]);
    } catch (err) {
      log.warn({ serverName: sent, err: { message: (err as Error).message } }, 'TLS: could not add a server name sent in upper case; the connection gets the default certificate');
    }
  });
  return app;
}

/** Lines for the certificates of sub-directories: what listen() logs and a reload answers. */
export function domainSummaries(set: CheckedTlsSet): Array<{ certFile: string; serverNames: string[]; subject: string; validTo: string; fingerprint: string }> {
  return set.domains.map((d) => ({ certFile: d.certFile, serverNames: d.serverNames, ...d.checked.certificate }));
}

/** The sub-directories' what: the words of validityProblem naming which certificate. */
const domainCertificate = (d: CheckedDomain): CertificateSubject => ({ ...TLS_CERTIFICATE, what: `the TLS certificate for ${d.serverNames.join(', ')}` });

/**
 * Logs an expired, not yet valid or soon expiring certificate, a private key every user may read
 * and an RSA key too small: of the default certificate and each sub-directory's.
 */
export function reportTlsSet(log: Pick<Logger, 'warn' | 'error'>, set: CheckedTlsSet, tls: TlsConfig): void {
  const each: Array<[CertificateValidity, CertificateSubject, string, string, number | undefined]> = [
    [set.main.validity, TLS_CERTIFICATE, tls.certFile, tls.keyFile, set.main.rsaBits],
    ...set.domains.map((d): [CertificateValidity, CertificateSubject, string, string, number | undefined] => [d.checked.validity, domainCertificate(d), d.certFile, d.keyFile, d.checked.rsaBits]),
  ];
  for (const [validity, subject, certFile, keyFile, rsaBits] of each) {
    reportValidity(log, validity, subject, certFile);
    reportKeyAccess(log, keyFile);
    reportRsaKeySize(log, certFile, rsaBits);
  }
}
