// Object headers: Range parsing (RFC 7233 as S3 applies it), conditional requests (RFC 7232
// precedence, S3's 304/412 split, copy-source variants), stored headers and response-* overrides.
import t from 'tap';
import { S3Error } from '../../../../daemon/errors.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { checksumHeaders } from '../../../../daemon/ops/checksums.js';
import {
  checkConditions,
  collectStoredHeaders,
  collectUserMeta,
  decodeEncodedWords,
  mailSafe,
  objectResponseHeaders,
  parseRange,
  rangeSent,
  quoteETag,
} from '../../../../daemon/ops/object-headers.js';

const ETAG = '9e107d9d372bb6826bd81d3542a419d6';
// 2024-05-01T12:00:00.750Z: sub-second part on purpose (HTTP dates have whole seconds).
const MTIME = Date.UTC(2024, 4, 1, 12, 0, 0, 750);
const LAST_MODIFIED = new Date(Math.floor(MTIME / 1000) * 1000).toUTCString();

function rec(over: Partial<ObjectRecord> = {}): ObjectRecord {
  return { v: RECORD_VERSION, size: 10, etag: ETAG, mtime: MTIME, headers: { 'content-type': 'text/plain' }, userMeta: {}, data: { inline: new Uint8Array(10) }, stored: 10, ...over };
}

function outcome(fn: () => unknown): string {
  try {
    const v = fn();
    return v === undefined ? 'ignored' : JSON.stringify(v);
  } catch (err) {
    if (err instanceof S3Error) return `${err.code}/${err.status}`;
    throw err;
  }
}

function cond(headers: Record<string, string>, r: ObjectRecord = rec(), prefix?: string): string {
  try {
    checkConditions(headers, r, { prefix });
    return 'pass';
  } catch (err) {
    if (err instanceof S3Error) return `${err.code}/${err.status}`;
    throw err;
  }
}

function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

t.test('parseRange: the three single-range forms', async (t) => {
  t.strictSame(parseRange('bytes=0-0', 10), { start: 0, end: 0 });
  t.strictSame(parseRange('bytes=2-5', 10), { start: 2, end: 5 });
  t.strictSame(parseRange('bytes=0-9', 10), { start: 0, end: 9 });
  t.strictSame(parseRange('bytes=3-', 10), { start: 3, end: 9 });
  t.strictSame(parseRange('bytes=9-', 10), { start: 9, end: 9 });
  t.strictSame(parseRange('bytes=-3', 10), { start: 7, end: 9 });
  t.strictSame(parseRange('bytes=-10', 10), { start: 0, end: 9 });
  t.strictSame(parseRange('bytes=-1', 1), { start: 0, end: 0 });
});

t.test('parseRange: clamping and unsatisfiable ranges', async (t) => {
  t.strictSame(parseRange('bytes=5-100', 10), { start: 5, end: 9 }, 'end past the object is clamped');
  t.strictSame(parseRange('bytes=0-99999999999999999999', 10), { start: 0, end: 9 }, 'huge end clamps');
  t.strictSame(parseRange('bytes=-11', 10), { start: 0, end: 9 }, 'suffix longer than the object = whole object');
  t.strictSame(parseRange('bytes=-99999999999999999999', 10), { start: 0, end: 9 });
  t.equal(outcome(() => parseRange('bytes=10-', 10)), 'InvalidRange/416', 'start == size');
  t.equal(outcome(() => parseRange('bytes=10-20', 10)), 'InvalidRange/416');
  t.equal(outcome(() => parseRange('bytes=11-11', 10)), 'InvalidRange/416');
  t.equal(outcome(() => parseRange('bytes=99999999999999999999-', 10)), 'InvalidRange/416', 'start beyond 2^53');
  t.equal(outcome(() => parseRange('bytes=-0', 10)), 'InvalidRange/416', 'empty suffix');
  t.equal(outcome(() => parseRange('bytes=0-', 0)), 'InvalidRange/416', 'nothing is satisfiable in an empty object');
  t.equal(outcome(() => parseRange('bytes=0-0', 0)), 'InvalidRange/416');
  t.equal(parseRange('bytes=-5', 0), undefined, 'the last 5 bytes of an empty object are all of it: the whole (empty) object, 200, as on S3');
  t.equal(parseRange('bytes=20-5', 10), undefined, 'an end before the start is no range at all, even past the size');
  t.equal(parseRange('bytes=9007199254740993-9007199254740992', 10), undefined, 'an end before the start by one, past 2^53');
  t.equal(parseRange('bytes=100000000000000000001-100000000000000000000', 10), undefined, 'and past 2^64');
  t.equal(outcome(() => parseRange('bytes=100000000000000000000-100000000000000000000', 10)), 'InvalidRange/416', 'equal positions past the end are a range');
  t.equal(outcome(() => parseRange('bytes=0100-100', 10)), 'InvalidRange/416', 'leading zeros do not make a start larger');
});

t.test('parseRange: headers S3 ignores (full object, 200)', async (t) => {
  t.equal(parseRange(undefined, 10), undefined);
  for (const h of ['', 'bytes=', 'bytes=-', 'bytes=5-3', 'bytes=0-1,3-4', 'bytes=a-b', 'bytes=1.5-2', 'bytes=0x1-2', 'items=0-1', 'bytes 0-1', 'bytes=+1-2', 'bytes=--1', 'bytes=1-2-3']) {
    t.equal(outcome(() => parseRange(h, 10)), 'ignored', JSON.stringify(h));
  }
  t.strictSame(parseRange('  bytes=1-2  ', 10), { start: 1, end: 2 }, 'surrounding whitespace is trimmed');
});

t.test('rangeSent: an empty Range is none (beside partNumber), any other is one', async (t) => {
  t.equal(rangeSent(undefined), false);
  t.equal(rangeSent(''), false);
  t.equal(rangeSent('  '), false);
  for (const h of ['bytes=0-9', 'BYTES=0-9', 'bytes=0-1,3-4', 'bytes=5-3', 'x']) t.equal(rangeSent(h), true, JSON.stringify(h));
});

t.test('checkConditions: If-Match / If-Unmodified-Since → 412', async (t) => {
  t.equal(cond({}), 'pass');
  t.equal(cond({ 'if-match': quoteETag(ETAG) }), 'pass');
  t.equal(cond({ 'if-match': ETAG }), 'pass', 'unquoted');
  t.equal(cond({ 'if-match': '*' }), 'pass');
  t.equal(cond({ 'if-match': `"nope", ${quoteETag(ETAG)}` }), 'pass', 'list with a match');
  t.equal(cond({ 'if-match': `W/${quoteETag(ETAG)}` }), 'PreconditionFailed/412', 'strong comparison: a weak tag never matches');
  t.equal(cond({ 'if-none-match': `W/${quoteETag(ETAG)}` }), 'NotModified/304', 'If-None-Match compares weakly');
  t.equal(cond({ 'if-match': '"nope"' }), 'PreconditionFailed/412');
  t.equal(cond({ 'if-match': `"${ETAG.toUpperCase()}"` }), 'PreconditionFailed/412', 'ETags are compared exactly');
  t.equal(cond({ 'if-match': `"${ETAG}x"` }), 'PreconditionFailed/412');
  t.equal(cond({ 'if-unmodified-since': LAST_MODIFIED }), 'pass', 'equal to Last-Modified (sub-second part ignored)');
  t.equal(cond({ 'if-unmodified-since': httpDate(MTIME + 60_000) }), 'pass');
  t.equal(cond({ 'if-unmodified-since': httpDate(MTIME - 1000) }), 'PreconditionFailed/412');
  t.equal(cond({ 'if-unmodified-since': 'not a date' }), 'pass', 'invalid dates are ignored');
  // Date.parse read these as dates in 2001 (and "2020" as 2020-01-01): a garbled date failed the
  // request with 412 instead of being ignored (RFC 9110 13.1.4).
  for (const garbled of ['1', '12', '2020', 'Foo 1', 'Sun, 31 Feb 2000 00:00:00 GMT']) {
    t.equal(cond({ 'if-unmodified-since': garbled }), 'pass', `${JSON.stringify(garbled)} is no date: ignored`);
  }
  // The obsolete forms a recipient must accept, and ISO 8601.
  const before = new Date(MTIME - 86400_000);
  t.equal(cond({ 'if-unmodified-since': 'Tuesday, 30-Apr-24 12:00:00 GMT' }), 'PreconditionFailed/412', 'RFC 850 date');
  t.equal(cond({ 'if-unmodified-since': 'Tue Apr 30 12:00:00 2024' }), 'PreconditionFailed/412', 'asctime date');
  t.equal(cond({ 'if-unmodified-since': before.toISOString() }), 'PreconditionFailed/412', 'ISO 8601');
});

t.test('checkConditions: If-None-Match / If-Modified-Since → 304 with the ETag', async (t) => {
  t.equal(cond({ 'if-none-match': '"nope"' }), 'pass');
  t.equal(cond({ 'if-none-match': quoteETag(ETAG) }), 'NotModified/304');
  t.equal(cond({ 'if-none-match': '*' }), 'NotModified/304');
  t.equal(cond({ 'if-none-match': `"a", "b", ${quoteETag(ETAG)}` }), 'NotModified/304');
  try {
    checkConditions({ 'if-none-match': '*' }, rec());
    t.fail('expected NotModified');
  } catch (err) {
    t.equal((err as S3Error).headers.etag, quoteETag(ETAG), '304 carries the ETag');
  }
  t.equal(cond({ 'if-modified-since': LAST_MODIFIED }), 'NotModified/304', 'equal to Last-Modified');
  t.equal(cond({ 'if-modified-since': httpDate(MTIME + 60_000) }), 'NotModified/304');
  t.equal(cond({ 'if-modified-since': httpDate(MTIME - 1000) }), 'pass');
  t.equal(cond({ 'if-modified-since': 'garbage' }), 'pass');
  t.equal(cond({ 'if-modified-since': '1' }), 'pass', '"1" (2001 to Date.parse) is no date');
});

t.test('checkConditions: precedence between the headers (RFC 7232 section 6, S3 docs)', async (t) => {
  const before = httpDate(MTIME - 3600_000);
  const after = httpDate(MTIME + 3600_000);
  // If-Match true + If-Unmodified-Since false → 200.
  t.equal(cond({ 'if-match': quoteETag(ETAG), 'if-unmodified-since': before }), 'pass');
  // If-Match false wins over everything.
  t.equal(cond({ 'if-match': '"nope"', 'if-unmodified-since': after }), 'PreconditionFailed/412');
  t.equal(cond({ 'if-match': '"nope"', 'if-none-match': quoteETag(ETAG) }), 'PreconditionFailed/412');
  // If-None-Match false (it matches) + If-Modified-Since true → 304.
  t.equal(cond({ 'if-none-match': quoteETag(ETAG), 'if-modified-since': before }), 'NotModified/304');
  // If-None-Match true (no match) makes If-Modified-Since irrelevant → 200.
  t.equal(cond({ 'if-none-match': '"nope"', 'if-modified-since': after }), 'pass');
  // If-Unmodified-Since false is still 412 before If-None-Match is looked at.
  t.equal(cond({ 'if-unmodified-since': before, 'if-none-match': quoteETag(ETAG) }), 'PreconditionFailed/412');
  // If-Match true then If-None-Match match → 304.
  t.equal(cond({ 'if-match': quoteETag(ETAG), 'if-none-match': quoteETag(ETAG) }), 'NotModified/304');
});

t.test('checkConditions: x-amz-copy-source-if-* fail with 412 only', async (t) => {
  const p = 'x-amz-copy-source-if-';
  t.equal(cond({ 'x-amz-copy-source-if-match': quoteETag(ETAG) }, rec(), p), 'pass');
  t.equal(cond({ 'x-amz-copy-source-if-match': '"nope"' }, rec(), p), 'PreconditionFailed/412');
  t.equal(cond({ 'x-amz-copy-source-if-none-match': quoteETag(ETAG) }, rec(), p), 'PreconditionFailed/412');
  t.equal(cond({ 'x-amz-copy-source-if-modified-since': httpDate(MTIME + 60_000) }, rec(), p), 'PreconditionFailed/412');
  t.equal(cond({ 'x-amz-copy-source-if-unmodified-since': httpDate(MTIME - 60_000) }, rec(), p), 'PreconditionFailed/412');
  t.equal(cond({ 'if-none-match': '*' }, rec(), p), 'pass', 'plain if-* headers do not apply to the copy source');
});

t.test('stored headers and user metadata', async (t) => {
  const q = new URLSearchParams();
  t.strictSame(collectStoredHeaders({}, q), { 'content-type': 'binary/octet-stream' }, 'default Content-Type');
  const all = {
    'content-type': 'text/html; charset=utf-8',
    'content-encoding': 'gzip',
    'content-disposition': 'attachment; filename="a b.txt"',
    'content-language': 'de-CH',
    'cache-control': 'max-age=60',
    expires: 'Wed, 21 Oct 2037 07:28:00 GMT',
    'content-length': '5',
    authorization: 'x',
    'x-amz-meta-a': '1',
  };
  t.strictSame(collectStoredHeaders(all, q), {
    'content-type': 'text/html; charset=utf-8',
    'content-encoding': 'gzip',
    'content-disposition': 'attachment; filename="a b.txt"',
    'content-language': 'de-CH',
    'cache-control': 'max-age=60',
    expires: 'Wed, 21 Oct 2037 07:28:00 GMT',
  });
  // aws-chunked is dropped only from a STREAMING-* upload's Content-Encoding; any other request's is kept as sent, as on S3.
  const encoding = (ce: string, sha: string): string | undefined => collectStoredHeaders({ 'content-encoding': ce, 'x-amz-content-sha256': sha }, q)['content-encoding'];
  t.equal(encoding('aws-chunked', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'), undefined, 'streaming: aws-chunked alone is not stored');
  t.equal(encoding('gzip, aws-chunked', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'), 'gzip', 'streaming: the other codings are');
  t.equal(encoding('aws-chunked', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'), 'aws-chunked', 'a signed hash: kept as sent');
  t.equal(encoding('gzip, aws-chunked', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'), 'gzip, aws-chunked', 'a signed hash: kept as sent, with others');
  t.strictSame(collectUserMeta({ 'x-amz-meta-a': '1', 'x-amz-meta-b-c': 'two words', 'x-amz-date': 'x', 'content-type': 'y' }, q), { 'x-amz-meta-a': '1', 'x-amz-meta-b-c': 'two words' });
  // Presigned PUTs carry metadata in the query.
  t.strictSame(collectUserMeta({}, new URLSearchParams('X-Amz-Meta-Color=blue')), { 'x-amz-meta-color': 'blue' });
  // 2 KiB of user metadata (names without the prefix + values) is the limit.
  t.strictSame(Object.keys(collectUserMeta({ 'x-amz-meta-k': 'v'.repeat(2047) }, q)), ['x-amz-meta-k'], 'exactly 2048 bytes');
  t.equal(outcome(() => collectUserMeta({ 'x-amz-meta-k': 'v'.repeat(2048) }, q)), 'MetadataTooLarge/400');
  t.equal(outcome(() => collectUserMeta({ 'x-amz-meta-k': 'é'.repeat(1024) }, q)), 'MetadataTooLarge/400', 'counted in UTF-8 bytes');
  // Names that cannot go out as header names: possible in a query parameter (presigned PUT) or a
  // POST form field, and used to be stored and then silently left out of every GET.
  t.equal(outcome(() => collectUserMeta({}, new URLSearchParams('x-amz-meta-a%20b=1'))), 'InvalidArgument/400', 'a space');
  t.equal(outcome(() => collectUserMeta({}, new URLSearchParams('x-amz-meta-%C3%BC=1'))), 'InvalidArgument/400', 'non-ASCII');
  t.equal(outcome(() => collectUserMeta({ 'x-amz-meta-a:b': '1' }, q)), 'InvalidArgument/400', 'a form field with a colon');
  t.strictSame(collectUserMeta({}, new URLSearchParams('x-amz-meta-a_b.c~d=1')), { 'x-amz-meta-a_b.c~d': '1' }, 'token characters are fine');
});

// S3 decodes RFC 2047 encoded words in a metadata value before storing it (User Guide, Working
// with object metadata): the stored text is what mailSafe encodes again on the way out.
t.test('user metadata: RFC 2047 encoded words are decoded before they are stored', async (t) => {
  const q = new URLSearchParams();
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  t.equal(decodeEncodedWords(`=?UTF-8?B?${b64('café')}?=`), 'café', 'B, UTF-8');
  t.equal(decodeEncodedWords('=?utf-8?q?caf=C3=A9_au_lait?='), 'café au lait', 'Q in lower case: =XX bytes, _ a space');
  t.equal(decodeEncodedWords('=?ISO-8859-1?Q?caf=E9?='), 'café', 'ISO-8859-1');
  t.equal(decodeEncodedWords('=?US-ASCII?B?YWJj?='), 'abc', 'US-ASCII');
  t.equal(decodeEncodedWords('=?UTF-8*en?Q?hi?='), 'hi', 'a charset with an RFC 2231 language');
  t.equal(decodeEncodedWords(`a =?UTF-8?B?${b64('é')}?= =?UTF-8?B?${b64('è')}?= z`), 'a éè z', 'blanks between two words dropped, around them kept');
  t.equal(decodeEncodedWords(`=?UTF-8?B?${b64('\u00e9').slice(0, 2)}?= x`), `=?UTF-8?B?${b64('\u00e9').slice(0, 2)}?= x`, 'malformed base64: kept as sent');
  t.equal(decodeEncodedWords('=?UTF-8?B?/w==?='), '=?UTF-8?B?/w==?=', 'bytes that are not UTF-8: kept as sent');
  t.equal(decodeEncodedWords('=?UTF-8?Q?a=ZZ?='), '=?UTF-8?Q?a=ZZ?=', 'a bad =XX: kept as sent');
  t.equal(decodeEncodedWords('=?Shift_JIS?B?gqA=?='), '=?Shift_JIS?B?gqA=?=', 'another charset: kept as sent');
  t.equal(decodeEncodedWords('=?UTF-8?X?abc?='), '=?UTF-8?X?abc?=', 'another encoding: kept as sent');
  t.equal(decodeEncodedWords('x=?y and =? z ?='), 'x=?y and =? z ?=', 'text that only looks like one');
  t.strictSame(collectUserMeta({ 'x-amz-meta-a': '=?UTF-8?Q?caf=C3=A9?=', 'x-amz-meta-b': '=?UTF-8?B?YWJj?=' }, q), { 'x-amz-meta-a': 'café', 'x-amz-meta-b': 'abc' }, 'headers');
  t.strictSame(collectUserMeta({}, new URLSearchParams('x-amz-meta-a=%3D%3FUTF-8%3FQ%3Fcaf%3DC3%3DA9%3F%3D')), { 'x-amz-meta-a': 'café' }, 'query parameters (presigned)');
  t.equal(mailSafe(collectUserMeta({ 'x-amz-meta-a': '=?UTF-8?Q?caf=C3=A9?=' }, q)['x-amz-meta-a']!), `=?UTF-8?B?${b64('café')}?=`, 'read back encoded again');
  // The limit counts the text: 1,000 é are 2,000 bytes, their B encoding 2,680 characters.
  const long = `=?UTF-8?B?${b64('é'.repeat(1000))}?=`;
  t.ok(long.length > 2048, 'the encoding is past 2 KB');
  t.strictSame(Object.keys(collectUserMeta({ 'x-amz-meta-k': long }, q)), ['x-amz-meta-k'], 'its text is not: stored');
  t.equal(outcome(() => collectUserMeta({ 'x-amz-meta-k': `=?UTF-8?B?${b64('é'.repeat(1024))}?=` }, q)), 'MetadataTooLarge/400', 'text past 2 KB is refused');
});

// S3 returns a value of US-ASCII alone as it is (User Guide, Working with object metadata): a
// TAB, which a header value may hold, included. Other control characters cannot go out as they are.
t.test('user metadata: mailSafe encodes only what a header cannot carry', async (t) => {
  t.equal(mailSafe('two words'), 'two words', 'printable ASCII as it is');
  t.equal(mailSafe('a\tb'), 'a\tb', 'a TAB as it is');
  t.equal(mailSafe('a\x01b'), `=?UTF-8?B?${Buffer.from('a\x01b').toString('base64')}?=`, 'another control character: encoded');
  t.equal(mailSafe('a\x7fb'), `=?UTF-8?B?${Buffer.from('a\x7fb').toString('base64')}?=`, 'DEL: encoded');
  t.equal(mailSafe('é'), `=?UTF-8?B?${Buffer.from('é').toString('base64')}?=`, 'non-ASCII: encoded');
});

t.test('response headers and response-* overrides', async (t) => {
  const r = rec({
    headers: { 'content-type': 'text/plain', 'content-language': 'en', 'cache-control': 'no-cache' },
    userMeta: { 'x-amz-meta-color': 'blue' },
    checksums: { CRC32: 'AAAAAA==' },
  });
  // Checksums come with x-amz-checksum-mode: ENABLED, from checksumHeaders (ops/object.ts adds them).
  const h = { ...objectResponseHeaders(r, new URLSearchParams()), ...checksumHeaders(r.checksums, true) };
  t.equal(h.etag, `"${ETAG}"`);
  t.equal(h['last-modified'], LAST_MODIFIED);
  t.equal(h['accept-ranges'], 'bytes');
  t.equal(h['content-type'], 'text/plain');
  t.equal(h['content-language'], 'en');
  t.equal(h['cache-control'], 'no-cache');
  t.equal(h['x-amz-meta-color'], 'blue');
  t.equal(h['x-amz-checksum-crc32'], 'AAAAAA==', 'checksums when asked for');
  t.equal(h['x-amz-checksum-type'], 'FULL_OBJECT');
  t.equal(h['x-amz-mp-parts-count'], undefined);
  t.equal(h['x-amz-missing-meta'], undefined);
  // Metadata stored before unsendable names were refused: counted, as S3 counts what it cannot return.
  const odd = objectResponseHeaders(rec({ userMeta: { 'x-amz-meta-ok': '1', 'x-amz-meta-a b': '2', 'x-amz-meta-\u00fc': '3' } }), new URLSearchParams());
  t.equal(odd['x-amz-meta-ok'], '1');
  t.equal(odd['x-amz-missing-meta'], '2');
  t.equal(odd['x-amz-meta-a b'], undefined);
  const plain = objectResponseHeaders(r, new URLSearchParams());
  t.same(Object.keys(plain).filter((k) => k.startsWith('x-amz-checksum-')), [], 'none without x-amz-checksum-mode: ENABLED');
  const o = objectResponseHeaders(
    r,
    new URLSearchParams({
      'response-content-type': 'application/json',
      'response-content-language': 'fr',
      'response-expires': 'Thu, 01 Jan 2037 00:00:00 GMT',
      'response-cache-control': 'max-age=5',
      'response-content-disposition': 'inline; filename="x.json"',
      'response-content-encoding': 'identity',
    }),
  );
  t.equal(o['content-type'], 'application/json');
  t.equal(o['content-language'], 'fr');
  t.equal(o.expires, 'Thu, 01 Jan 2037 00:00:00 GMT');
  t.equal(o['cache-control'], 'max-age=5');
  t.equal(o['content-disposition'], 'inline; filename="x.json"');
  t.equal(o['content-encoding'], 'identity');
  t.equal(o.etag, `"${ETAG}"`, 'overrides leave the ETag alone');
});
