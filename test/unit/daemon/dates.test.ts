// Dates in requests: the three HTTP-date forms and ISO 8601, strictly (a calendar day that does
// not exist is no date) and always in UTC, whatever the server's time zone (Date.parse read an
// asctime date or a zone-less ISO one as local time).
import t from 'tap';
import { parseDateText, parseIsoDateTime } from '../../../daemon/dates.js';

t.test('parseDateText: the three HTTP-date forms and ISO 8601, nothing else', async (t) => {
  const iso = (v: string): string | undefined => {
    const ms = parseDateText(v);
    return ms === undefined ? undefined : new Date(ms).toISOString();
  };
  t.equal(iso('Sun, 06 Nov 1994 08:49:37 GMT'), '1994-11-06T08:49:37.000Z', 'IMF-fixdate');
  t.equal(iso('Sunday, 06-Nov-94 08:49:37 GMT'), '1994-11-06T08:49:37.000Z', 'RFC 850, two-digit year in the past century');
  t.equal(iso('Friday, 06-Nov-26 08:49:37 GMT'), '2026-11-06T08:49:37.000Z', 'RFC 850, two-digit year this century');
  t.equal(iso('Sun Nov  6 08:49:37 1994'), '1994-11-06T08:49:37.000Z', 'asctime, one-digit day');
  t.equal(iso('Wed Nov 16 08:49:37 1994'), '1994-11-16T08:49:37.000Z', 'asctime, two-digit day');
  t.equal(iso('1994-11-06T08:49:37Z'), '1994-11-06T08:49:37.000Z', 'ISO 8601');
  t.equal(iso('1994-11-06T08:49:37.123456Z'), '1994-11-06T08:49:37.123Z', 'ISO 8601 with fractions');
  t.equal(iso('1994-11-06T10:49:37+02:00'), '1994-11-06T08:49:37.000Z', 'ISO 8601 with an offset');
  t.equal(iso('  Sun, 06 Nov 1994 08:49:37 GMT '), '1994-11-06T08:49:37.000Z', 'surrounding blanks');
  // RFC 5322, of which IMF-fixdate is a profile (AWS's Signature Version 2 examples use +0000).
  t.equal(iso('Tue, 27 Mar 2007 19:36:42 +0000'), '2007-03-27T19:36:42.000Z', 'a numeric zone');
  t.equal(iso('Tue, 27 Mar 2007 21:36:42 +0200'), '2007-03-27T19:36:42.000Z', 'a numeric offset');
  t.equal(iso('Sun, 6 Nov 1994 08:49:37 GMT'), '1994-11-06T08:49:37.000Z', 'a one-digit day');
  t.equal(iso('06 Nov 1994 08:49:37 UTC'), '1994-11-06T08:49:37.000Z', 'no weekday, UTC');
  // What real clients write that Date.parse took (a SigV2 Date header refused is a 403).
  t.equal(iso('Sun, 06 Nov 1994 03:49:37 EST'), '1994-11-06T08:49:37.000Z', 'an obsolete US zone name (Go time.RFC1123 in New York)');
  t.equal(iso('Sun, 06 Nov 1994 01:49:37 PDT'), '1994-11-06T08:49:37.000Z', 'PDT');
  t.equal(iso('sun, 06 nov 1994 08:49:37 gmt'), '1994-11-06T08:49:37.000Z', 'names in any case');
  t.equal(iso('SUN, 06 NOV 1994 08:49 GMT'), '1994-11-06T08:49:00.000Z', 'no seconds');
  t.equal(iso('Sun, 06 Nov 1994 08:49:37 +0000 (UTC)'), '1994-11-06T08:49:37.000Z', 'a trailing comment');
  t.equal(iso('Sunday, 06-Nov-1994 08:49:37 GMT'), '1994-11-06T08:49:37.000Z', 'RFC 850 with a four-digit year');
  t.equal(iso('1994-11-06T08:49Z'), '1994-11-06T08:49:00.000Z', 'ISO 8601 without seconds');
  for (const bad of ['1', '12', '2020', 'Foo 1', 'garbage', '', 'Sun, 06 Nov 1994 08:49:37', 'Sun, 06 Nov 1994 08:49:37 +2400', 'Sun, 06 Nov 1994 08:49:37 XST', 'Sun, 06 Nov 1994 08:49 ', 'Sunday, 06-Nov-994 08:49:37 GMT',
    'Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 24:00:00 GMT', '1994-11-06', '1994-13-01T00:00:00Z',
    '1994-11-06T08:49:37', 'Sun Nov 31 08:49:37 1994']) {
    t.equal(parseDateText(bad), undefined, `${JSON.stringify(bad)} is no date`);
  }
});

t.test('parseIsoDateTime: the calendar, zones, and zone-less dates only when asked', async (t) => {
  const iso = (v: string, zoneless?: 'utc'): string | undefined => {
    const ms = parseIsoDateTime(v, zoneless === undefined ? {} : { zoneless });
    return ms === undefined ? undefined : new Date(ms).toISOString();
  };
  t.equal(iso('2028-02-29T00:00:00Z'), '2028-02-29T00:00:00.000Z', 'a leap day');
  t.equal(iso('2030-01-01T00:00:00.5-05:30'), '2030-01-01T05:30:00.500Z', 'a fraction and a negative offset');
  t.equal(iso('2030-01-01T00:00:00+0200'), '2029-12-31T22:00:00.000Z', 'an offset without a colon');
  t.equal(iso('0050-06-01T00:00:00Z'), '0050-06-01T00:00:00.000Z', 'a year below 100 is that year, not 1950');
  for (const bad of ['2027-02-29T00:00:00Z', '2030-02-30T00:00:00Z', '2030-04-31T00:00:00Z', '2029-12-31T24:00:00Z', '2030-00-10T00:00:00Z',
    '2030-01-00T00:00:00Z', '2030-01-01T00:60:00Z', '2030-01-01T00:00:00+24:00', '2030-01-01T00:00:00.1234567890Z', '2030-01-01', '2030-01-01 00:00:00Z']) {
    t.equal(iso(bad), undefined, `${bad} is no date`);
    t.equal(iso(bad, 'utc'), undefined, `${bad} is no date, zone-less allowed or not`);
  }
  t.equal(iso('2030-01-01T00:00:00'), undefined, 'without a zone: refused by default');
  t.equal(iso('2030-01-01T00:00:00', 'utc'), '2030-01-01T00:00:00.000Z', '… or UTC when asked');
});

t.test('no result depends on the server\'s time zone', async (t) => {
  const saved = process.env.TZ;
  t.teardown(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });
  const inputs = ['Sun Nov  6 08:49:37 1994', 'Sun, 06 Nov 1994 08:49:37 GMT', '1994-11-06T08:49:37Z'];
  process.env.TZ = 'UTC';
  const utc = inputs.map((v) => parseDateText(v));
  const zoneless = parseIsoDateTime('2030-01-01T00:00:00', { zoneless: 'utc' });
  for (const tz of ['America/New_York', 'Asia/Tokyo']) {
    process.env.TZ = tz;
    t.not(new Date(2030, 0, 1).getTime(), Date.UTC(2030, 0, 1), `${tz} is in effect (the test would prove nothing otherwise)`);
    t.same(inputs.map((v) => parseDateText(v)), utc, `${tz}: the same instants (asctime included)`);
    t.equal(parseIsoDateTime('2030-01-01T00:00:00', { zoneless: 'utc' }), zoneless, `${tz}: a zone-less ISO date is UTC`);
  }
});
