// Request XML parsing: well-formed documents with one root element parse; anything else is
// MalformedXML, including several roots (which fast-xml-parser's validator lets through).
import t from 'tap';
import { S3Error } from '../../../../daemon/errors.js';
import { parseXml, toXml, toXmlInOrder } from '../../../../daemon/ops/xml.js';

function code(s: string): string {
  try {
    parseXml(s);
    return 'ok';
  } catch (err) {
    return err instanceof S3Error ? err.code : 'not an S3Error';
  }
}

t.test('one root element parses, with or without a declaration', async (t) => {
  t.same(parseXml('<?xml version="1.0" encoding="UTF-8"?><R><a>1</a></R>').R, { a: '1' });
  t.same(parseXml('<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><a> x </a></R>').R, { a: 'x' }, 'values trimmed');
  t.same(parseXml(Buffer.from('<R><a> x </a></R>'), { trim: false }).R, { a: ' x ' }, 'exact mode keeps spaces');
  t.same(parseXml(toXml('Tagging', { TagSet: { Tag: [{ Key: 'k', Value: 'v' }] } })).Tagging, { TagSet: { Tag: { Key: 'k', Value: 'v' } } }, 'what toXml builds parses back');
});

t.test('anything but one well-formed root is MalformedXML', async (t) => {
  const bad: Array<[string, string]> = [
    ['', 'empty'],
    ['   ', 'whitespace'],
    ['<R>', 'unclosed'],
    ['<R></Q>', 'mismatched'],
    ['<R>1</R>text', 'text after the root'],
    ['<R><a/></R><R/>', 'two roots of the same name (parsed as a list)'],
    ['<R/><Q/>', 'two roots of different names'],
    ['<?xml version="1.0"?><R/><R><x>1</x></R>', 'two roots after a declaration'],
    ['not xml', 'plain text'],
  ];
  for (const [doc, what] of bad) t.equal(code(doc), 'MalformedXML', what);
});

t.test('toXmlInOrder writes what toXml writes, in the order given', async (t) => {
  const body = { Name: 'b<&>', Empty: '', Skipped: undefined, Flag: true, N: 3, Nested: { A: 'x', B: ['1', '2'] }, List: [{ P: 'p1' }, { P: 'p2' }], None: [] };
  t.equal(toXmlInOrder('R', Object.entries(body)), toXml('R', body), 'same bytes as toXml for the same elements');
  const xml = toXmlInOrder('R', [['V', { K: 'a' }], ['M', { K: 'a' }], ['V', { K: 'b' }], ['M', [{ K: 'c' }, { K: 'd' }]]]);
  t.equal(xml, '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><V><K>a</K></V><M><K>a</K></M><V><K>b</K></V><M><K>c</K></M><M><K>d</K></M></R>', 'elements interleave');
});
