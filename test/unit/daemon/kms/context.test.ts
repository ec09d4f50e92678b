// Canonical KMS context bytes against the contexts recorded in kes-wire.json and MinIO's escaping.

import t from 'tap';
import { canonicalContext, canonicalContextText, goJsonString } from '../../../../daemon/kms/context.js';
import { wire } from '../../../fixtures/kes-server/wire.js';

t.test('every kes-wire.json context encodes to its recorded bytes', async (t) => {
  const ids = Object.keys(wire.contexts);
  t.ok(ids.length >= 5, 'vector file has contexts');
  for (const id of ids) {
    const c = wire.contexts[id]!;
    const bytes = canonicalContext(c.source_map);
    t.equal(bytes.toString('hex'), c.bytes_hex, `${id} bytes`);
    t.equal(bytes.toString('base64'), c.base64, `${id} base64`);
    t.equal(canonicalContextText(c.source_map), c.canonical_text, `${id} text`);
  }
});

t.test('empty context is "{}" and a Map gives the same bytes as an object', async (t) => {
  t.equal(canonicalContextText({}), '{}');
  t.equal(canonicalContextText(new Map()), '{}');
  const m = new Map([['b', '2'], ['a', '1']]);
  t.same(canonicalContext(m), canonicalContext({ a: '1', b: '2' }));
  t.equal(canonicalContextText(m), '{"a":"1","b":"2"}');
});

t.test('keys sort by UTF-8 bytes, not by UTF-16 code units', async (t) => {
  // U+FF01 is EF BC 81 in UTF-8 and sorts before 😀 (F0 …); in UTF-16 the surrogate D83D sorts first.
  t.equal(canonicalContextText({ '😀': 'x', '\uff01': 'y' }), '{"\uff01":"y","😀":"x"}');
  t.equal(canonicalContextText({ b: '', B: '', a: '' }), '{"B":"","a":"","b":""}');
});

t.test('escaping follows Go encoding/json with HTML escaping', async (t) => {
  t.equal(goJsonString('\b\f\u0000\u001f'), '"\\u0008\\u000c\\u0000\\u001f"');
  t.equal(goJsonString('<&>'), '"\\u003c\\u0026\\u003e"');
  t.equal(goJsonString('a"b\\c\n\r\t'), '"a\\"b\\\\c\\n\\r\\t"');
  t.equal(goJsonString('\u2028\u2029'), '"\\u2028\\u2029"');
  t.equal(goJsonString('\u007f é 日 😀 \ufffd'), '"\u007f é 日 😀 \ufffd"', 'DEL and non-ASCII stay raw');
  t.equal(goJsonString('x\ud800y'), '"x\\ufffdy"', 'lone high surrogate = invalid UTF-8');
  t.equal(goJsonString('\udc00'), '"\\ufffd"', 'lone low surrogate');
  t.equal(goJsonString("'/"), `"'/"`, 'quote and slash are not escaped');
});

t.test('non-string values are refused', async (t) => {
  t.throws(() => canonicalContext({ a: 1 } as unknown as Record<string, string>), TypeError);
});
