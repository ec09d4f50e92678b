// Request XML parsing: well-formed documents with one root element parse; anything else is
// MalformedXML, including several roots (which fast-xml-parser's validator lets through). The
// element count taken before a parse (hasMoreElements) agrees with the parser's; a document of more
// elements and attributes than any S3 document is refused unparsed (MAX_MARKUP). A configuration
// document is read through its root element (parseDocument). parseXml reads fast-xml-parser's
// ordered form into the object form the library itself gives: the same objects, keys in the same order.
import t from 'tap';
import { XMLParser } from 'fast-xml-parser';
import { S3Error } from '../../../../daemon/errors.js';
import { MAX_MARKUP, MAX_TEXT, decodeXmlReferences, hasMoreElements, parseDocument, parseXml, toXml, toXmlInOrder } from '../../../../daemon/ops/xml.js';

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
    // fast-xml-parser's validator sets its end-of-root mark on a closing tag only: after a
    // self-closing root it let any text through (its PR #846), and the parser dropped it.
    ['<R/>text', 'text after a self-closing root'],
    ['<R/> text <!-- c -->', 'text after a self-closing root, then a comment'],
    ['<Delete/>\u00a0', 'a non-XML space after a self-closing root'],
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

t.test('character references: every Unicode scalar value decodes as itself; others are MalformedXML', async (t) => {
  const text = (s: string, trim = true): unknown => (parseXml(`<?xml version="1.0" encoding="UTF-8"?><R><k>${s}</k></R>`, { trim }).R as { k: unknown }).k;
  t.equal(text('a&#1;b'), 'a\u0001b', 'decimal C0 control');
  t.equal(text('a&#x1;b&#x1F;'), 'a\u0001b\u001f', 'hexadecimal C0 controls');
  t.equal(text('&#13;&#x85;&#x2028;&#x1F600;&#xFFFF;&#x10FFFF;'), '\r\u0085\u2028\u{1F600}\uffff\u{10ffff}', 'CR, NEL, LS, astral and the last code points');
  t.equal(text('&lt;&gt;&amp;&apos;&quot;&amp;#1;'), '<>&\'"&#1;', 'the five named entities; &amp;#1; is text');
  t.equal(text(' &#1; ', false), ' \u0001 ', 'exact mode');
  t.equal(text('<![CDATA[&#1;]]>'), '&#1;', 'CDATA is literal');
  for (const ref of ['&#0;', '&#x0;', '&#xD800;', '&#xDFFF;', '&#55296;', '&#x110000;', '&#1114112;', '&#x;', '&#;', '&#99999999999;']) t.equal(code(`<R><k>a${ref}b</k></R>`), 'MalformedXML', ref);
});

t.test('hasMoreElements counts the elements the parser sees, and stops past the limit', async (t) => {
  const more = (doc: string, max: number): boolean => hasMoreElements(Buffer.from(doc), 'Object', max);
  const objects = (n: number): string => '<Object><Key>k</Key></Object>'.repeat(n);
  t.equal(more(`<Delete>${objects(3)}</Delete>`, 3), false, '3 of at most 3');
  t.equal(more(`<Delete>${objects(4)}</Delete>`, 3), true, '4 of at most 3');
  t.equal(more('<Delete><Object/><Object\n><Object\tx="1"></Object></Object></Delete>', 2), true, 'empty tags, white space and attributes after the name');
  t.equal(more('<s3:Delete><s3:Object/><a:b:Object/><x:Object></x:Object></s3:Delete>', 2), true, 'under any prefix');
  t.equal(more('<Delete><Objects/><MyObject/><ObjectX/><Object:a/><object/></Delete>', 0), false, 'other names (Objects, MyObject, a prefix Object:, object) are not counted');
  t.equal(more(`<Delete><!-- ${objects(5)} --><Key><![CDATA[${objects(5)}]]></Key><?pi ${objects(5)}?></Delete>`, 0), false, 'nor anything in comments, CDATA sections and processing instructions');
  t.equal(more('<Delete><Key>a > b &lt;Object&gt;</Key></Delete>', 0), false, 'nor text, where a `<` is always escaped');
  t.equal(more(`<Delete>${objects(1)}<!-- unterminated ${objects(5)}`, 0), true, 'an unterminated comment ends the scan');
  t.equal(more('é<Object>'.repeat(3), 2), true, 'bytes, whatever the characters around');
  const doc = `<Delete><Quiet>true</Quiet><!-- <Object/> -->${objects(7)}<Object><Key><![CDATA[<Object>]]></Key></Object></Delete>`;
  const parsed = (parseXml(doc).Delete as { Object: unknown[] }).Object.length;
  t.equal(parsed, 8, 'the parser finds 8');
  t.same([more(doc, 7), more(doc, 8)], [true, false], 'and so does the scan');
});

t.test('markup no S3 document has is refused before the validator (which took seconds over 8 MiB of it)', async (t) => {
  const refused = (doc: string, reason: RegExp, what: string): void => {
    try {
      parseXml(Buffer.from(doc));
      t.fail(`${what}: accepted`);
    } catch (err) {
      t.equal((err as S3Error).code, 'MalformedXML', `${what}: MalformedXML`);
      t.match((err as Error).message, reason, `${what}: says why`);
    }
  };
  refused(`<Delete>${'<?a b?>'.repeat(100_000)}</Delete>`, /processing instruction/, 'processing instructions');
  refused('<?xml version="1.0"?><?other x?><Delete/>', /processing instruction/, 'a second one after the declaration');
  refused('<!DOCTYPE d [<!ENTITY e "x">]><Delete>&e;</Delete>', /document type/, 'a document type');
  refused(`<Delete>${'<'.repeat(1_000_000)}</Delete>`, /starts no markup/, 'a run of "<"');
  refused('<Delete>< Object/></Delete>', /starts no markup/, '"< " ');
  // `<!` opens a comment, a CDATA section or a document type; the parser took any other as an
  // element named `!ENTITY`, `!foo`, `!`, and `<![CDATAx[y]]>` as the text "[y".
  refused('<Delete><!ENTITY e "x"></Delete>', /neither a comment nor a CDATA section/, 'an entity declaration in an element');
  refused('<Delete><!ELEMENT a ANY><Quiet>true</Quiet></Delete>', /neither a comment nor a CDATA section/, 'an element declaration');
  refused('<Delete><!foo></Delete>', /neither a comment nor a CDATA section/, '"<!foo>"');
  refused('<Delete><![CDATAx[y]]></Delete>', /neither a comment nor a CDATA section/, 'a misspelt CDATA section');
  refused('<Delete><!-- unterminated </Delete>', /neither a comment nor a CDATA section|not well-formed/, 'an unterminated comment');
  t.same(parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<Delete><!-- c --><Quiet>true</Quiet></Delete>'), { '?xml': '', Delete: { Quiet: 'true' } }, 'the declaration and comments are fine');
  // CDATA sections and comments may hold any of it (the review found these refused).
  t.same(parseXml('<Tagging><TagSet><Tag><Key><![CDATA[a<1 <?b <!DOCTYPE]]></Key><Value>v</Value></Tag></TagSet></Tagging>'), { Tagging: { TagSet: { Tag: { Key: 'a<1 <?b <!DOCTYPE', Value: 'v' } } } }, 'CDATA with "<", "<?" and "<!DOCTYPE" in it');
  t.same(parseXml('<Delete><!-- a <= b, <?x?> --><Quiet>true</Quiet></Delete>'), { Delete: { Quiet: 'true' } }, 'a comment with "<" and "<?"');
  refused(`<Delete><!-- c -->${'<?a b?>'.repeat(10)}</Delete>`, /processing instruction/, 'processing instructions beside a comment');
});


t.test('MalformedXML says why in a few words, never by echoing the document', async (t) => {
  // The validator names the tag it stopped at: in `<a<a<a…` that is everything after the first
  // `<`, so a 1 MiB body came back as a 1 MiB Message (an 8 MiB Delete as 8 MiB); a reference
  // that is no character was quoted whole.
  for (const [doc, what] of [
    [`<Delete>${'<a'.repeat(100_000)}</Delete>`, 'a tag name running through the document'],
    [`<Delete><Object><Key>&#${'1'.repeat(60_000)};</Key></Object></Delete>`, 'a character reference of 60,000 digits'],
  ] as const) {
    let message = '';
    try {
      parseXml(doc);
    } catch (err) {
      message = (err as Error).message;
    }
    t.match(message, /not well-formed/, `${what}: MalformedXML`);
    t.ok(message.length <= 300, `${what}: a message of ${message.length} characters`);
  }
});

t.test('unterminated comments and CDATA sections are refused in one pass', async (t) => {
  // Their removal (a lazy regex, `<!--[\s\S]*?-->`) searched the rest of the document for an end
  // from every one: 256 KiB of `<!--` took ~6 s, 64 KiB (parsed on the event loop) ~0.5 s, and
  // an 8 MiB Delete would have held the parsing thread for hours.
  for (const unit of ['<!--', '<![CDATA[']) {
    const doc = Buffer.from(`<Delete>${unit.repeat(Math.floor((256 * 1024) / unit.length))}</Delete>`);
    const started = performance.now();
    let answer = 'ok';
    try {
      parseXml(doc);
    } catch (err) {
      answer = (err as S3Error).code;
    }
    const took = performance.now() - started;
    t.equal(answer, 'MalformedXML', `${unit} repeated over 256 KiB: MalformedXML`);
    t.ok(took < 200, `${unit} repeated over 256 KiB: refused in ${took.toFixed(0)} ms`);
  }
  t.same(parseXml('<R><!-- a --><a>1</a><![CDATA[x]]><!-- <![CDATA[ --></R>'), { R: { a: '1', '#text': 'x' } }, 'terminated ones still parse');
});

t.test('a stretch of more than MAX_TEXT characters without markup is refused before the parse', async (t) => {
  const outcome = (doc: string): string => {
    try {
      parseXml(doc);
      return 'parsed';
    } catch (err) {
      return /characters without markup/.test((err as Error).message) ? `refused ${(err as S3Error).code}` : `other ${(err as Error).message}`;
    }
  };
  t.equal(MAX_TEXT, 65_536);
  const key = (n: number): string => `<Delete><Object><Key>${'k'.repeat(n)}</Key></Object></Delete>`;
  t.equal(outcome(key(MAX_TEXT)), 'parsed', 'a text of MAX_TEXT characters');
  t.equal(outcome(key(MAX_TEXT + 1)), 'refused MalformedXML', 'one more');
  t.equal(outcome(`<Delete>${' '.repeat(MAX_TEXT + 1)}<Quiet>true</Quiet></Delete>`), 'refused MalformedXML', 'space between elements');
  t.equal(outcome(`<Delete><Object><Key>${'a>'.repeat(MAX_TEXT / 2 + 1)}</Key></Object></Delete>`), 'refused MalformedXML', 'a text holding ">"');
  t.equal(outcome(`<Delete><Object><Key k="1">${'k'.repeat(MAX_TEXT)}</Key></Object></Delete>`), 'parsed', 'a text of MAX_TEXT characters after attributes');
  // Comments and CDATA sections the parser skips or takes whole (~0.1 s over 8 MiB): counted as tags.
  t.equal(outcome(`<Delete><!--${'c'.repeat(MAX_TEXT)}--><Quiet>true</Quiet></Delete>`), 'parsed', 'a long comment');
  t.equal(outcome(`<Delete><Quiet>true</Quiet></Delete>${' '.repeat(MAX_TEXT + 1)}`), 'refused MalformedXML', 'after the root');
  t.equal(outcome(`<Delete>${'<Object><Key>k</Key></Object>'.repeat(1000)}</Delete>`), 'parsed', 'a long document of short texts');
  // Inside a tag the parser builds its name and attributes a character at a time as well
  // (an 8 MiB attribute value, name or run of spaces held the event loop 1.3-3.3 s).
  t.equal(outcome(`<Delete><Object><Key a="${'v'.repeat(MAX_TEXT + 1)}">k</Key></Object></Delete>`), 'refused MalformedXML', 'a long attribute value');
  t.equal(outcome(`<Delete><Object><Key${' '.repeat(MAX_TEXT + 1)}>k</Key></Object></Delete>`), 'refused MalformedXML', 'a long run of spaces in a tag');
  t.equal(outcome(`<Delete><Object><K${'k'.repeat(MAX_TEXT)}>k</K${'k'.repeat(MAX_TEXT)}></Object></Delete>`), 'refused MalformedXML', 'a long element name');
  t.equal(outcome(`<Delete><Object><Key>k</Key${' '.repeat(MAX_TEXT + 1)}></Object></Delete>`), 'refused MalformedXML', 'a long end tag');
  t.equal(outcome(`<Delete><Object><Key a="${'v'.repeat(MAX_TEXT - 10)}">${'k'.repeat(MAX_TEXT)}</Key></Object></Delete>`), 'parsed', 'a tag and a text each within MAX_TEXT');
});

t.test('more elements and attributes than MAX_MARKUP (or the reader\'s maxMarkup) are refused before the parse', async (t) => {
  const count = (doc: string, maxMarkup?: number): string => {
    try {
      parseXml(doc, maxMarkup === undefined ? {} : { maxMarkup });
      return 'parsed';
    } catch (err) {
      return /more than \d+ elements and attributes/.test((err as Error).message) ? `refused ${(err as S3Error).code}` : `other ${(err as Error).message}`;
    }
  };
  const empty = (n: number): string => `<R>${'<a/>'.repeat(n - 1)}</R>`;
  t.equal(MAX_MARKUP, 10_000);
  t.equal(count(empty(MAX_MARKUP)), 'parsed', 'MAX_MARKUP elements');
  t.equal(count(empty(MAX_MARKUP + 1)), 'refused MalformedXML', 'one more');
  t.equal(count(`<R>${'<a></a>'.repeat(MAX_MARKUP)}</R>`), 'refused MalformedXML', 'start and end tags count once');
  t.equal(count(`<R a="1" b='2'>${'<a/>'.repeat(MAX_MARKUP - 3)}</R>`), 'parsed', 'attributes count: 2 + 1 + 9,997');
  t.equal(count(`<R a="1" b='2' c="3">${'<a/>'.repeat(MAX_MARKUP - 3)}</R>`), 'refused MalformedXML', 'one attribute more');
  t.equal(count(`<R><a b=" c=d e='f' > ">x = y</a>${'<a/>'.repeat(MAX_MARKUP - 3)}</R>`), 'parsed', '"=" and ">" in quoted values and in text do not count');
  t.equal(count(`<?xml version="1.0" encoding="UTF-8"?><R><!-- ${'<a b="1"/>'.repeat(20_000)} --><k><![CDATA[${'<a/>'.repeat(20_000)}]]></k>${'<a/>'.repeat(MAX_MARKUP - 2)}</R>`), 'parsed', 'nor the declaration, comments and CDATA sections');
  t.equal(count(`<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${'<x:a/>'.repeat(MAX_MARKUP)}</R>`), 'refused MalformedXML', 'prefixed names count');
  t.equal(count(`<R ${Array.from({ length: MAX_MARKUP }, (_, i) => `a${i}="1"`).join(' ')}/>`), 'refused MalformedXML', 'attributes of one element');
  t.equal(count(empty(50_000), 50_000), 'parsed', 'a reader may allow more');
  t.equal(count(empty(50_001), 50_000), 'refused MalformedXML', 'and no more than that');
  t.equal(count(`<R>${'<a>'.repeat(MAX_MARKUP)}`), 'refused MalformedXML', 'nested (not well-formed either)');
  t.match(count('<R><a/></a></R>'), /^other /, 'a document within the bound is still validated');
  // A megabyte of empty elements held the event loop for ~1 s; refused, it costs one pass over it.
  const megabyte = empty(262_000);
  const before = process.cpuUsage();
  t.equal(count(megabyte), 'refused MalformedXML', '262,000 empty elements (1 MiB)');
  const used = process.cpuUsage(before);
  t.ok((used.user + used.system) / 1000 < 150, `refusing them took ${((used.user + used.system) / 1000).toFixed(0)} ms of CPU (< 150; parsed: ~800)`);
});

t.test('parseDocument: the root element\'s content, or MalformedXML naming the document expected', async (t) => {
  const doc = (s: string): Buffer => Buffer.from(s);
  // What a call throws: code and message.
  const thrown = (f: () => unknown): string => {
    try {
      f();
      return 'ok';
    } catch (err) {
      return err instanceof S3Error ? `${err.code}: ${err.message}` : 'not an S3Error';
    }
  };
  t.same(parseDocument(doc('<?xml version="1.0" encoding="UTF-8"?><Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet/></Tagging>'), 'Tagging'), { TagSet: '' }, 'children, after a declaration and a namespace');
  t.same(parseDocument(doc('<s3:Tagging xmlns:s3="x"><s3:TagSet/></s3:Tagging>'), 'Tagging'), { TagSet: '' }, 'under a namespace prefix');
  for (const [body, what] of [['<Wrong><TagSet/></Wrong>', 'another root'], ['<tagging/>', 'the root in other case'], ['<Outer><Tagging/></Outer>', 'the element below the root']]) {
    t.equal(thrown(() => parseDocument(doc(body), 'Tagging')), 'MalformedXML: Expected a Tagging document.', what);
  }
  for (const root of ['ObjectLockConfiguration', 'ObjectEncryption', 'OwnershipControls', 'AccelerateConfiguration']) {
    t.equal(thrown(() => parseDocument(doc('<Wrong/>'), root)), `MalformedXML: Expected an ${root} document.`, `"an" before ${root}`);
  }
  t.equal(thrown(() => parseDocument(doc('<Wrong/>'), 'LegalHold', { childless: 'missing' })), 'MalformedXML: Expected a LegalHold document.', '"a" before a consonant');

  // A root without children: its text, for the caller to judge, unless it counts as no document.
  t.equal(parseDocument(doc('<Retention/>'), 'Retention'), '', 'an empty root is ""');
  t.equal(parseDocument(doc('<Retention>  </Retention>'), 'Retention'), '', 'blank text is trimmed away');
  t.equal(parseDocument(doc('<Retention>text</Retention>'), 'Retention'), 'text', 'text only');
  for (const body of ['<ObjectLockConfiguration/>', '<ObjectLockConfiguration></ObjectLockConfiguration>', '<ObjectLockConfiguration> </ObjectLockConfiguration>', '<ObjectLockConfiguration>Enabled</ObjectLockConfiguration>']) {
    t.equal(thrown(() => parseDocument(doc(body), 'ObjectLockConfiguration', { childless: 'missing' })), 'MalformedXML: Expected an ObjectLockConfiguration document.', `childless 'missing': ${body}`);
  }
  t.same(parseDocument(doc('<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>'), 'ObjectLockConfiguration', { childless: 'missing' }), { ObjectLockEnabled: 'Enabled' }, "childless 'missing': children are returned");

  t.same(parseDocument(doc('<Tagging><TagSet><Tag><Key> k </Key><Value> v </Value></Tag></TagSet></Tagging>'), 'Tagging', { trim: false }), { TagSet: { Tag: [{ Key: ' k ', Value: ' v ' }] } }, 'trim: false keeps spaces in values');
  t.equal(parseDocument(doc('<Tagging>  </Tagging>'), 'Tagging', { trim: false }), '  ', 'and in the root\'s own text');
  t.same(parseDocument(doc('<Tagging><TagSet><Tag><Key> k </Key><Value> v </Value></Tag></TagSet></Tagging>'), 'Tagging'), { TagSet: { Tag: { Key: 'k', Value: 'v' } } }, 'values are trimmed by default');

  t.equal(thrown(() => parseDocument(Buffer.alloc(0), 'Tagging')), 'MissingRequestBodyError: Request Body is empty', 'no body: MissingRequestBodyError, as parseConfigXml');
  t.equal(thrown(() => parseDocument(Buffer.alloc(0), 'ObjectLockConfiguration', { childless: 'missing' })), 'MissingRequestBodyError: Request Body is empty', "no body, childless 'missing'");
  t.match(thrown(() => parseDocument(doc('<Tagging/><Tagging/>'), 'Tagging')), /^MalformedXML: The XML you provided has more than one root element/, 'two roots: refused by the parse first');
});

// fast-xml-parser's object form, with the options parseXml's parsers had before they gave the
// ordered form (which parseXml converts itself, faster).
const entityDecoder = { decode: decodeXmlReferences, reset: (): void => {}, setXmlVersion: (): void => {}, addInputEntities: (): void => {}, setExternalEntities: (): void => {} };
const libraryForm = (trim: boolean): XMLParser =>
  new XMLParser({
    ignoreAttributes: true,
    removeNSPrefix: true,
    parseTagValue: false,
    trimValues: trim,
    processEntities: true,
    entityDecoder,
    isArray: trim ? (name) => name === 'Object' || name === 'Part' || name === 'Rule' : (name) => name === 'Tag' || name === 'Object',
  });

// A well-formed document of random elements: names that are listed, repeated, prototype
// properties or the library's renamed ones, under prefixes, with attributes, text between and
// around children, white space, references, comments and CDATA sections.
function randomDocument(next: () => number): string {
  const names = ['Part', 'Object', 'Rule', 'Tag', 'Key', 'a', 'b', 's3:a', 'x:Part', 'toString', 'valueOf', 'isPrototypeOf', 'hasOwnProperty', '__proto__x'];
  const texts = ['', ' ', '\n  ', 'v', ' v w ', '&amp;&lt;&#1;&#x2028;', '<![CDATA[ <c> ]]>', '<!-- note -->', '<![CDATA[]]>', '0', 'true'];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const element = (depth: number): string => {
    const name = pick(names);
    const attrs = next() < 0.2 ? ' id="1" xmlns:x="u"' : '';
    if (next() < 0.15) return `<${name}${attrs}/>`;
    let body = '';
    const n = depth >= 4 ? 0 : Math.floor(next() * 5);
    for (let i = 0; i < n; i++) body += (next() < 0.4 ? pick(texts) : '') + element(depth + 1);
    if (n === 0 || next() < 0.3) body += pick(texts);
    return `<${name}${attrs}>${body}</${name}>`;
  };
  return (next() < 0.5 ? '<?xml version="1.0" encoding="UTF-8"?>\n' : '') + `<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${element(0)}${element(0)}</R>`;
}

t.test('parseXml gives what fast-xml-parser\'s own object form gives, in both modes', async (t) => {
  let seed = 12345;
  const next = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const fixed = [
    '<R/>',
    '<R>text</R>',
    '<R> </R>',
    '<R><a/></R>',
    '<R>x<a>1</a>y<a>2</a>z</R>',
    '<R><Part><PartNumber>1</PartNumber></Part></R>',
    '<R><Tag><Key> k </Key></Tag><Tag/></R>',
    '<R><Object/><Object>o</Object><Object><Key>k</Key></Object></R>',
    '<R><a>1</a><b/><a><c/></a><a/></R>',
    '<R><toString>1</toString><toString>2</toString><valueOf/><isPrototypeOf>p</isPrototypeOf></R>',
    '<R><a><![CDATA[]]></a><b><![CDATA[c]]>d<!-- e -->f</b></R>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<s3:R xmlns:s3="u"><s3:a x="1">v</s3:a></s3:R>\n',
    toXml('Delete', { Object: [{ Key: ' a ' }, { Key: 'b', VersionId: 'v' }], Quiet: 'true' }),
  ];
  const docs = [...fixed, ...Array.from({ length: 400 }, () => randomDocument(next))];
  let compared = 0;
  for (const trim of [true, false]) {
    const library = libraryForm(trim);
    for (const doc of docs) {
      const ours = parseXml(doc, { trim });
      const theirs = library.parse(doc) as Record<string, unknown>;
      // JSON for the order of keys as well; t.strictSame to show how they differ.
      if (JSON.stringify(ours) === JSON.stringify(theirs)) compared++;
      else t.strictSame(ours, theirs, `trim ${trim}: ${doc}`);
    }
  }
  t.equal(compared, docs.length * 2, 'the same objects, keys in the same order, for every document');
});
