// Dates as S3 requests and responses carry them: HTTP dates (RFC 9110) and ISO 8601 timestamps,
// parsed strictly and always in UTC. `Date.parse` is used nowhere on request input: it reads
// "hello 12" as a date in 2001, moves 30 February to 2 March, and reads a date without a zone
// (an asctime `Date` header, an ISO timestamp without `Z`) in the server's own time zone.

/** ISO 8601 to the second, as S3 writes LastModified: `2026-12-05T04:49:00.000Z` (milliseconds zeroed). */
export function isoDate(ms: number): string {
  // toISOString always ends in `.sssZ` (a RangeError for a time it cannot write); slicing it off
  // costs a listing page of 1,000 entries a fraction of the regular expression's replace.
  return new Date(ms).toISOString().slice(0, -4) + '000Z';
}

/** ISO 8601's basic format to the second, `20261205T044900Z`: SigV4's X-Amz-Date, backup names. */
export function basicIsoDateTime(time: Date): string {
  return time.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WKDAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const WEEKDAY = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const MONTH = `(${MONTHS.join('|')})`;
/**
 * IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, and the RFC 5322 dates it is a profile of, as
 * mail-era code still writes Date headers: no weekday, a one-digit day, no seconds, names in any
 * case, a numeric zone (`+0000`, as AWS's own Signature Version 2 examples write it) or one of
 * RFC 5322's obsolete US zone names (Go's time.RFC1123 of a time in New York: `… EST`), and a
 * trailing comment (`+0000 (UTC)`).
 */
const IMF_DATE = new RegExp(
  `^(?:${WKDAY}\\s*,\\s*)?(\\d{1,2})\\s+${MONTH}\\s+(\\d{4})\\s+(\\d{2}):(\\d{2})(?::(\\d{2}))?\\s+(gmt|utc?|z|[ecmp][sd]t|([+-])(\\d{2})(\\d{2}))(?:\\s*\\([^()]*\\))?$`,
  'i',
);
/** RFC 5322's obsolete zone names: hours east of UTC. */
const ZONE_HOURS: Readonly<Record<string, number>> = { gmt: 0, ut: 0, utc: 0, z: 0, est: -5, edt: -4, cst: -6, cdt: -5, mst: -7, mdt: -6, pst: -8, pdt: -7 };
/** RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (and the four-digit year cookies use). */
const RFC850_DATE = new RegExp(`^${WEEKDAY}, (\\d{2})-${MONTH}-(\\d{2}|\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`, 'i');
/** asctime: `Sun Nov  6 08:49:37 1994` (UTC, as RFC 9110 says). */
const ASCTIME_DATE = new RegExp(`^${WKDAY} ${MONTH} ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`, 'i');
/** ISO 8601 / RFC 3339: `1994-11-06T08:49:37.000Z`, seconds optional, a fraction of up to 9 digits, `Z` or ±hh[:]mm. */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|([+-])(\d{2}):?(\d{2}))?$/;

const monthOf = (name: string): number => MONTHS.indexOf(name.toLowerCase());

/** The UTC time of a calendar date and time, or undefined when the calendar has no such day or time (a leap second counts as :59). */
function utc(year: number, month: number, day: number, h: string, m: string, s: string, ms = 0): number | undefined {
  const hh = Number(h), mm = Number(m), ss = Number(s);
  if (month < 0 || month > 11 || day < 1 || hh > 23 || mm > 59 || ss > 60) return undefined;
  const d = new Date(Date.UTC(year, month, day, hh, mm, Math.min(ss, 59), ms));
  // Date.UTC rolls 31 February over into March: a day the month does not have is no date. (It
  // also reads years 0–99 as 1900–1999, hence setUTCFullYear.)
  d.setUTCFullYear(year, month, day);
  return d.getUTCDate() === day && d.getUTCMonth() === month ? d.getTime() : undefined;
}

/**
 * An ISO 8601 date and time (`2030-01-01T00:00:00Z`, `…T02:00:00.5+02:00`), checked against the
 * calendar. Without a zone it is undefined, unless `zoneless` is 'utc' (then it is UTC, whatever
 * the server's time zone).
 */
export function parseIsoDateTime(text: string, opts: { zoneless?: 'refuse' | 'utc' } = {}): number | undefined {
  const m = ISO_DATE.exec(text.trim());
  if (!m || (m[8] === undefined && opts.zoneless !== 'utc')) return undefined;
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0${m[7]}`) * 1000);
  const t = utc(Number(m[1]), Number(m[2]) - 1, Number(m[3]), m[4]!, m[5]!, m[6] ?? '00', ms);
  if (t === undefined) return undefined;
  const oh = m[10] === undefined ? 0 : Number(m[10]);
  const om = m[11] === undefined ? 0 : Number(m[11]);
  if (oh > 23 || om > 59) return undefined;
  return t - (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
}

/**
 * A date as HTTP sends one (RFC 9110 5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime
 * forms a recipient must accept), or an ISO 8601 timestamp with its zone. Anything else is
 * undefined: `Date.parse` read "1" or "Foo 12" as dates in 2001, so a conditional request with
 * a garbled date failed with 412 instead of having the header ignored.
 */
export function parseDateText(text: string): number | undefined {
  return parseHttpDate(text) ?? parseIsoDateTime(text.trim());
}

/** A date in one of HTTP's three forms (RFC 9110 5.6.7) alone, with no ISO 8601 timestamp. */
export function parseHttpDate(text: string): number | undefined {
  const v = text.trim();
  let m = IMF_DATE.exec(v);
  if (m) {
    const t = utc(Number(m[3]), monthOf(m[2]!), Number(m[1]), m[4]!, m[5]!, m[6] ?? '00');
    if (t === undefined) return undefined;
    if (m[8] === undefined) return t - ZONE_HOURS[m[7]!.toLowerCase()]! * 3_600_000;
    const oh = Number(m[9]), om = Number(m[10]);
    return oh > 23 || om > 59 ? undefined : t - (m[8] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  m = RFC850_DATE.exec(v);
  if (m) {
    let year = Number(m[3]);
    if (m[3]!.length === 2) {
      // A two-digit year more than 50 years ahead is in the past century (RFC 9110 5.6.7).
      const now = new Date().getUTCFullYear();
      year += Math.floor(now / 100) * 100;
      if (year > now + 50) year -= 100;
    }
    return utc(year, monthOf(m[2]!), Number(m[1]), m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME_DATE.exec(v);
  if (m) return utc(Number(m[6]), monthOf(m[1]!), Number(m[2]!.trim()), m[3]!, m[4]!, m[5]!);
  return undefined;
}
