// The CompleteMultipartUpload document read into its parts (parseCompleteBody): each answer, the
// error's code, message and fields, as S3 gives it, the same for a document parsed inline and one
// parsed on the parsing thread (over OFF_LOOP_MIN_BYTES), and the first fault in document order
// the answer when the Parts are checked a slice (PARTS_PER_TURN) at a time. The count of Parts
// comes before anything else, on either side of the thread: a document of too many is refused
// before it is checked for UTF-8, markup or well-formedness.

import t, { type Test } from 'tap';
import { MAX_PARTS, parseCompleteBody } from '../../../../daemon/ops/multipart-complete-body.js';
import { PARTS_PER_TURN } from '../../../../daemon/ops/multipart-checksums.js';
import { OFF_LOOP_MIN_BYTES } from '../../../../daemon/ops/xml-thread.js';

const ETAG = '"0123456789abcdef0123456789abcdef"';
const part = (n: number | string, extra = ''): string => `<Part><PartNumber>${n}</PartNumber><ETag>${ETAG}</ETag>${extra}</Part>`;
const parts = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => part(from + i)).join('');
const doc = (inner: string): string => `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</CompleteMultipartUpload>`;
// Put before the Parts, it takes a document over OFF_LOOP_MIN_BYTES, to the parsing thread.
const PAD = `<!--${'x'.repeat(OFF_LOOP_MIN_BYTES + 1)}-->`;

async function answer(body: Buffer): Promise<unknown> {
  return parseCompleteBody(body).then(
    (r) => ({ parts: r.length, first: r[0], last: r[r.length - 1] }),
    (e: unknown) => {
      const err = e as { code?: string; status?: number; message?: string; fields?: Record<string, string> };
      return { code: err.code, status: err.status, message: err.message, fields: err.fields };
    },
  );
}

/** The answer to `body`, and to it padded onto the parsing thread: the same. */
async function both(t: Test, body: string | Buffer, what: string): Promise<unknown> {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const at = b.indexOf('<Part');
  const inline = await answer(b);
  if (at >= 0) {
    const padded = Buffer.concat([b.subarray(0, at), Buffer.from(PAD), b.subarray(at)]);
    t.ok(padded.length > OFF_LOOP_MIN_BYTES);
    t.same(await answer(padded), inline, `${what}: the same on the parsing thread`);
  }
  return inline;
}

const malformed = (message: string): unknown => ({ code: 'MalformedXML', status: 400, message, fields: {} });
const TOO_MANY = malformed(`Too many parts: at most ${MAX_PARTS}.`);

t.test('too many Parts: refused before anything else, inline and on the thread', async (t) => {
  t.same(await both(t, doc(parts(1, MAX_PARTS + 1)), 'one too many'), TOO_MANY);
  t.match(await both(t, doc(parts(1, MAX_PARTS)), 'at the limit'), { parts: MAX_PARTS, last: { n: MAX_PARTS } });
  // Not UTF-8, not well-formed, more markup than any such document: still the count's answer.
  const broken = Buffer.concat([Buffer.from(doc('<Part/>'.repeat(MAX_PARTS + 1) + '<a/>'.repeat(90_000))), Buffer.from([0xff]), Buffer.from('</Broken>')]);
  t.same(await both(t, broken, 'broken as well'), TOO_MANY);
  t.same(await answer(Buffer.from('<Part/>'.repeat(MAX_PARTS + 1))), TOO_MANY, 'Parts without a root');
});

t.test('each fault of the document: S3\u2019s error, inline and on the thread', async (t) => {
  const crc = 'AAAAAA==';
  const cases: Array<[string, string | Buffer, unknown]> = [
    ['no body', '', { code: 'InvalidRequest', status: 400, message: 'You must specify at least one part', fields: {} }],
    ['not UTF-8', Buffer.concat([Buffer.from(doc(part(1))), Buffer.from([0xff])]), malformed('The XML you provided was not well-formed: it is not valid UTF-8.')],
    ['a document type', `<!DOCTYPE a>${doc(part(1)).replace(/^<\?xml[^>]*>/, '')}`, malformed('The XML you provided has a document type declaration; S3 documents have none.')],
    ['a processing instruction', doc(`<?pi x?>${part(1)}`), malformed('The XML you provided has a processing instruction; S3 documents have none.')],
    ['too many elements', doc(`<Part><PartNumber>1</PartNumber><ETag>a</ETag>${'<a/>'.repeat(80_001)}</Part>`), malformed('The XML you provided holds more than 80002 elements and attributes, more than any such S3 document.')],
    ['no PartNumber', doc(`<Part><ETag>${ETAG}</ETag></Part>`), malformed('Each Part needs a PartNumber and an ETag.')],
    ['PartNumber 0', doc(part(0)), { code: 'InvalidArgument', status: 400, message: 'PartNumber must be >= 1', fields: { ArgumentName: 'PartNumber', ArgumentValue: '0' } }],
    ['PartNumber -1', doc(part(' -1 ')), { code: 'InvalidArgument', status: 400, message: 'PartNumber must be >= 1', fields: { ArgumentName: 'PartNumber', ArgumentValue: '-1' } }],
    ['a checksum of the wrong size', doc(part(1, '<ChecksumCRC32>AAAA</ChecksumCRC32>')), { code: 'InvalidArgument', status: 400, message: 'Invalid Base64 or multiple checksums present in request', fields: { ArgumentName: 'Checksum', ArgumentValue: 'CRC32:AAAA;' } }],
    ['a checksum twice', doc(part(1, `<ChecksumCRC32>${crc}</ChecksumCRC32><ChecksumCRC32>${crc}</ChecksumCRC32>`)), malformed("A Part's ChecksumCRC32 must be a single value.")],
    ['no Part', doc(''), malformed('The XML you provided was not well-formed or did not validate against our published schema')],
  ];
  for (const [what, body, expected] of cases) t.same(await both(t, body, what), expected, what);
  // Taken as listed: the order, and a number listed twice, are the completion's to judge.
  t.match(await both(t, doc(part(2) + part(1) + part(1)), 'descending, then twice'), { parts: 3, first: { n: 2 }, last: { n: 1 } });
  t.match(await both(t, doc(part(1, '<ChecksumSHA512>x</ChecksumSHA512><Foo/>')), 'a foreign checksum, a foreign element'), { parts: 1, first: { n: 1, foreign: 'ChecksumSHA512', checksums: {} } });
});

t.test('Parts checked a slice at a time: the first fault in the document is the answer', async (t) => {
  const late = PARTS_PER_TURN * 2 + 7;
  // A PartNumber 0 in the third slice, a Part without an ETag after it: the 0's answer.
  const body = doc(parts(1, late - 1) + part(0) + '<Part><PartNumber>9999</PartNumber></Part>');
  t.same(await both(t, body, 'late faults'), { code: 'InvalidArgument', status: 400, message: 'PartNumber must be >= 1', fields: { ArgumentName: 'PartNumber', ArgumentValue: '0' } });
  const other = doc(parts(1, late - 1) + '<Part><PartNumber>9999</PartNumber></Part>' + part(0));
  t.same(await both(t, other, 'late faults, the other way round'), malformed('Each Part needs a PartNumber and an ETag.'));
});
