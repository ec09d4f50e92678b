// When a certificate s3d presents is valid, and what to say when it is not, or soon will not be:
// the TLS certificate the S3 endpoint serves (http/tls.ts, http/listener.ts) and the client certificate
// s3d shows KES (kms/kes-config.ts). Both are looked at when loaded and twice a day (cli.ts), and
// exported as metrics, so that an expiry is seen coming rather than met as an outage.

import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';

/** A certificate's notBefore and notAfter, as instants and as the certificate writes them. */
export interface CertificateValidity {
  notBeforeMs: number;
  notAfterMs: number;
  validFrom: string;
  validTo: string;
}

export function validityOf(x509: X509Certificate): CertificateValidity {
  return { notBeforeMs: Date.parse(x509.validFrom), notAfterMs: Date.parse(x509.validTo), validFrom: x509.validFrom, validTo: x509.validTo };
}

/** A certificate that expires within this many days is warned about (certbot renews at 30 days left). */
export const EXPIRY_WARNING_DAYS = 14;
/** How often the certificates in use are looked at again while the daemon runs. */
export const VALIDITY_CHECK_MS = 12 * 3600_000;
const DAY_MS = 86_400_000;

/**
 * What is wrong with `what`'s validity at `now`, as a log level and message: expired or not yet
 * valid (its peer refuses it: error), or expiring within EXPIRY_WARNING_DAYS (warn). `renew` says
 * what to do.
 */
export function validityProblem(v: CertificateValidity, what: string, renew: string, now = Date.now()): { level: 'error' | 'warn'; msg: string } | undefined {
  if (now >= v.notAfterMs) return { level: 'error', msg: `${what} expired on ${v.validTo}: it is refused; ${renew}` };
  if (now < v.notBeforeMs) return { level: 'error', msg: `${what} is not valid before ${v.validFrom}: it is refused until then (is this machine's clock right?)` };
  const days = (v.notAfterMs - now) / DAY_MS;
  if (days < EXPIRY_WARNING_DAYS) return { level: 'warn', msg: `${what} expires on ${v.validTo}, in ${days < 1 ? 'less than a day' : `${Math.floor(days)} day(s)`}: ${renew}` };
  return undefined;
}

/** Which certificate, and what to do about it: the words validityProblem uses. */
export interface CertificateSubject {
  what: string;
  renew: string;
}

/** Logs what validityProblem finds (error or warn, naming the file and the dates); nothing when the certificate is fine. */
export function reportValidity(log: Pick<Logger, 'warn' | 'error'>, v: CertificateValidity, subject: CertificateSubject, certFile: string | undefined, now = Date.now()): void {
  const problem = validityProblem(v, subject.what, subject.renew, now);
  if (problem !== undefined) log[problem.level]({ certFile, validFrom: v.validFrom, validTo: v.validTo }, problem.msg);
}
