// validityProblem at its edges: the instant of notAfter is expired, notBefore itself is valid,
// the 14-day warning starts strictly inside 14 days and counts whole days down, with "less than
// a day" in the last one; validityOf reads a real certificate's dates.
import t from 'tap';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { EXPIRY_WARNING_DAYS, validityOf, validityProblem, type CertificateValidity } from '../../../daemon/cert-validity.js';
import { createCertificate } from '../../../daemon/kms/x509-writer.js';

const DAY = 86_400_000;
const notBeforeMs = Date.UTC(2026, 0, 1);
const notAfterMs = Date.UTC(2026, 11, 31, 12);
const v: CertificateValidity = { notBeforeMs, notAfterMs, validFrom: 'Jan  1 00:00:00 2026 GMT', validTo: 'Dec 31 12:00:00 2026 GMT' };
const problem = (now: number): ReturnType<typeof validityProblem> => validityProblem(v, 'the cert', 'renew it', now);

t.test('validityProblem', async (t) => {
  t.equal(EXPIRY_WARNING_DAYS, 14);
  t.equal(problem(notAfterMs - 14 * DAY), undefined, 'exactly 14 days left: nothing to say');
  t.same(problem(notAfterMs - 14 * DAY + 1), { level: 'warn', msg: 'the cert expires on Dec 31 12:00:00 2026 GMT, in 13 day(s): renew it' }, 'inside 14 days: a warning with whole days');
  t.same(problem(notAfterMs - DAY), { level: 'warn', msg: 'the cert expires on Dec 31 12:00:00 2026 GMT, in 1 day(s): renew it' }, 'one day left');
  t.same(problem(notAfterMs - 1), { level: 'warn', msg: 'the cert expires on Dec 31 12:00:00 2026 GMT, in less than a day: renew it' }, 'the last day');
  t.same(problem(notAfterMs), { level: 'error', msg: 'the cert expired on Dec 31 12:00:00 2026 GMT: it is refused; renew it' }, 'at notAfter: expired');
  t.equal(problem(notBeforeMs), undefined, 'at notBefore: valid');
  t.same(problem(notBeforeMs - 1), { level: 'error', msg: "the cert is not valid before Jan  1 00:00:00 2026 GMT: it is refused until then (is this machine's clock right?)" }, 'before notBefore: an error');
});

t.test('validityOf a certificate', async (t) => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const cert = await createCertificate({ subjectCN: 'x', publicKey: key, signingKey: key, notBefore: new Date(notBeforeMs), notAfter: new Date(notAfterMs) });
  const got = validityOf(new X509Certificate(cert));
  t.same(got, { notBeforeMs, notAfterMs, validFrom: 'Jan  1 00:00:00 2026 GMT', validTo: 'Dec 31 12:00:00 2026 GMT' }, 'its notBefore and notAfter, as instants and as written');
});
