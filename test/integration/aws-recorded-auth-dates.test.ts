// A Signature Version 4 header's date as S3 reads it, recorded against us-east-1 on 2026-09-29 in
// the tests of backlot (an S3-compatible layer; its `_REFUSAL_ROWS_UNIT` rows "Date alone",
// "x-amz-date in RFC 1123", "scope date in UTC" and its `_date_headers` forms, served): the date is
// `x-amz-date` when one is sent and otherwise `Date`, in ISO 8601's basic form or as an HTTP date
// (RFC 1123, RFC 850, asctime), a `Date` need not be signed, and the string to sign carries the
// date as sent — which AWS's own SignatureDoesNotMatch shows for a `Date` (ceph/s3-tests#346:
// `<StringToSign>AWS4-HMAC-SHA256\nWed, 06 May 2020 15:42:30 -0000\n20200506/…`).
import t from 'tap';
import type { Test } from 'tap';
import { canonicalRequest, deriveSigningKey, formatAmzDate, signatureHex, stringToSign } from '../../daemon/auth/sigv4.js';
import { startDaemonFor, ACCESS_KEY, REGION, SECRET_KEY } from '../helpers/daemon.js';
import { raw, type RawResponse } from '../helpers/http.js';

const d = await startDaemonFor(t);
const bucket = 'recorded-auth-dates';
if ((await raw(d.port, { method: 'PUT', path: `/${bucket}` })).status !== 200) throw new Error('PUT bucket');
const host = `127.0.0.1:${d.port}`;

const UNKNOWN = 'AKIAIOSFODNN7EXAMPLE';
const amz = (minutes = 0): string => formatAmzDate(new Date(Date.now() + minutes * 60_000));
const httpDate = (minutes = 0): string => new Date(Date.now() + minutes * 60_000).toUTCString();
/** A V4 header signed with nothing (`Signature=00`) over `host;x-amz-date`, dated `day` (yyyymmdd…). */
const v4 = (akid: string, day: string): string => `AWS4-HMAC-SHA256 Credential=${akid}/${day.slice(0, 8)}/${REGION}/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00`;

/** Status, code, message and members (ServerTime, the clock's, aside). */
function refusal(res: RawResponse): string {
  const body = res.body.toString();
  const m = /<Code>([^<]*)<\/Code>(.*?)(<Resource>|<RequestId>)/s.exec(body);
  if (!m) return `(no error) ${res.status}`;
  return `${res.status} ${m[1]}|${m[2]!.replace(/<ServerTime>[^<]*<\/ServerTime>/, '')}`;
}
const answer = (status: number, code: string, message: string, members = ''): string => `${status} ${code}|<Message>${message}</Message>${members}`;
const send = (headers: Record<string, string>): Promise<RawResponse> =>
  raw(d.port, { method: 'GET', path: `/${bucket}`, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers }, sign: false });

type Row = readonly [string, Record<string, string>, string];
async function check(t: Test, rows: readonly Row[]): Promise<void> {
  for (const [what, headers, want] of rows) t.equal(refusal(await send(headers)), want, what);
}

/** A `Date` of now in a zone whose day is not UTC's, and that day: `+1400` from ten o'clock UTC on, `-1000` (HST) before it. */
function anotherDay(): [string, string] {
  const now = new Date();
  const [zone, hours] = now.getUTCHours() >= 10 ? ['+1400', 14] : ['-1000', -10];
  const local = new Date(now.getTime() + hours * 3600_000);
  return [local.toUTCString().replace('GMT', zone), formatAmzDate(local).slice(0, 8)];
}

t.test('the date a V4 header is read by, and the key after it', async (t) => {
  const unknown = answer(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', `<AWSAccessKeyId>${UNKNOWN}</AWSAccessKeyId>`);
  const dateless = answer(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  const malformedDay = answer(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.');
  const stale = httpDate(-30);
  const [elsewhere, elsewhereDay] = anotherDay();
  await check(t, [
    // A Date that SignedHeaders does not name dates the request (S3 named the key next).
    ['Date alone, unsigned', { date: httpDate(), authorization: v4(UNKNOWN, amz()) }, unknown],
    ['x-amz-date in RFC 1123', { 'x-amz-date': httpDate(), authorization: v4(UNKNOWN, amz()) }, unknown],
    ['x-amz-date over Date', { 'x-amz-date': 'garbage', date: httpDate(), authorization: v4(UNKNOWN, amz()) }, dateless],
    ['an empty x-amz-date over Date', { 'x-amz-date': '', date: httpDate(), authorization: v4(UNKNOWN, amz()) }, dateless],
    ['Date skewed', { date: stale, authorization: v4(UNKNOWN, amz(-30)) }, answer(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', `<RequestTime>${stale}</RequestTime><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>`)],
    ['Date before 1970', { date: 'Tue, 29 Sep 1969 16:00:00 GMT', authorization: v4(UNKNOWN, amz()) }, dateless],
    // The scope's day is the date's in UTC, not in the zone it was written in.
    ['scope date in the zone sent', { date: elsewhere, authorization: v4(UNKNOWN, elsewhereDay) }, malformedDay],
    ['scope date in UTC', { date: elsewhere, authorization: v4(UNKNOWN, amz()) }, unknown],
  ]);
});

/**
 * A GET of the bucket signed for real: `dates` are the date headers sent, `signed` the ones
 * SignedHeaders names beside host and the payload hash, `line` the string to sign's date (the
 * date header as sent unless given), the scope dated by the UTC day of now.
 */
function signedGet(dates: Record<string, string>, signed: string[], line?: string): Promise<RawResponse> {
  const headers: Record<string, string> = { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...dates };
  const signedHeaders = ['host', 'x-amz-content-sha256', ...signed].sort();
  const scope = `${amz().slice(0, 8)}/${REGION}/s3/aws4_request`;
  const canonical = canonicalRequest({ method: 'GET', rawPath: `/${bucket}`, rawQuery: '', headers, signedHeaders, payloadHash: 'UNSIGNED-PAYLOAD' });
  const dateLine = line ?? dates['x-amz-date'] ?? dates['date']!;
  const signature = signatureHex(deriveSigningKey(SECRET_KEY, scope.slice(0, 8), REGION, 's3'), stringToSign(dateLine, scope, canonical));
  const authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return raw(d.port, { method: 'GET', path: `/${bucket}`, headers: { ...headers, authorization }, sign: false });
}

t.test('a V4 header dated in each form S3 served, signed as sent', async (t) => {
  const at = new Date();
  const rfc1123 = at.toUTCString();
  const pad = (n: number): string => String(n).padStart(2, '0');
  const [wk, , mon] = rfc1123.split(/[ ,]+/);
  const clock = `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
  const asctime = `${wk} ${mon} ${String(at.getUTCDate()).padStart(2, ' ')} ${clock} ${at.getUTCFullYear()}`;
  const weekday = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][at.getUTCDay()];
  const rfc850 = `${weekday}, ${pad(at.getUTCDate())}-${mon}-${String(at.getUTCFullYear()).slice(2)} ${clock} GMT`;
  const plus9 = new Date(at.getTime() + 9 * 3600_000).toUTCString().replace('GMT', '+0900');
  const cases: Array<[string, Record<string, string>, string[]]> = [
    ['x-amz-date in ISO 8601', { 'x-amz-date': formatAmzDate(at) }, ['x-amz-date']],
    ['x-amz-date in RFC 1123', { 'x-amz-date': rfc1123 }, ['x-amz-date']],
    ['x-amz-date in asctime', { 'x-amz-date': asctime }, ['x-amz-date']],
    ['x-amz-date in RFC 850', { 'x-amz-date': rfc850 }, ['x-amz-date']],
    ['x-amz-date over a Date it cannot read', { 'x-amz-date': formatAmzDate(at), date: 'x' }, ['x-amz-date']],
    ['Date, signed', { date: rfc1123 }, ['date']],
    ['Date, unsigned', { date: rfc1123 }, []],
    ['Date at +0900, unsigned', { date: plus9 }, []],
  ];
  for (const [what, dates, signed] of cases) t.equal((await signedGet(dates, signed)).status, 200, what);
});

t.test('the date signed is the date sent: an unsigned Date changed after signing is a mismatch', async (t) => {
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  const sent = at.toUTCString();
  const mismatch = (res: RawResponse): string => `${res.status} ${/<Code>([^<]*)<\/Code>/.exec(res.body.toString())?.[1]}`;
  // A request signed over one Date and sent with another: a second later, or the same instant
  // written in another zone (what S3's string to sign names as sent, ceph/s3-tests#346).
  const later = new Date(at.getTime() + 1000).toUTCString();
  const sameInstant = new Date(at.getTime() + 9 * 3600_000).toUTCString().replace('GMT', '+0900');
  t.equal(mismatch(await signedGet({ date: later }, [], sent)), '403 SignatureDoesNotMatch', 'a Date moved a second on');
  t.equal(mismatch(await signedGet({ date: sameInstant }, [], sent)), '403 SignatureDoesNotMatch', 'the same instant in another zone');
  // A signature over the ISO 8601 form of a Date is not S3's string to sign.
  t.equal(mismatch(await signedGet({ date: sent }, ['date'], formatAmzDate(at))), '403 SignatureDoesNotMatch', 'a Date signed in ISO 8601');
  t.equal(mismatch(await signedGet({ 'x-amz-date': sent }, ['x-amz-date'], formatAmzDate(at))), '403 SignatureDoesNotMatch', 'an RFC 1123 x-amz-date signed in ISO 8601');
  t.equal((await signedGet({ date: sent }, [])).status, 200, 'the same request signed over the Date it sends');
});

t.test('ISO 8601\u2019s extended form is no date, V2 and V4 alike', async (t) => {
  // S3 read `2026-09-29T15:51:47Z` as no date for a V2 Date (backlot's `_DATE_ROWS`, 2026-09-29),
  // and V4 reads its date as V2 does.
  const dateless = answer(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  const iso = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await check(t, [
    ['a V2 Date', { date: iso, authorization: `AWS ${UNKNOWN}:abc` }, dateless],
    ['a V2 x-amz-date', { 'x-amz-date': iso, authorization: `AWS ${UNKNOWN}:abc` }, dateless],
    ['a V4 x-amz-date', { 'x-amz-date': iso, authorization: v4(UNKNOWN, amz()) }, dateless],
    ['a V4 Date', { date: iso, authorization: v4(UNKNOWN, amz()) }, dateless],
  ]);
});
