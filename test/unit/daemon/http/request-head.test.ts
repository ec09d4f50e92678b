// The header names readHead takes from the patched parser (daemon/http/uws.ts): `_` back from
// DEL, names HTTP does not allow kept for headError's 400, and the names the parser's lower-casing
// made two spellings of (`~` from `^` or `~`, `|` from `\` or `|`, `` ` `` from `@` or `` ` ``)
// spelled as the signature names them.
import t from 'tap';
import { headError, readHead, requestQuery, type HeaderSource } from '../../../../daemon/http/request-head.js';
import { SUBRESOURCES, canonicalResources } from '../../../../daemon/auth/sigv2.js';
import { authKind, parseQuery } from '../../../../daemon/auth/sigv4.js';
import { OPERATION_SUBRESOURCES } from '../../../../daemon/http/router.js';

/** Headers as the patched parser hands them over: names lower-cased, `^\@` as `~|``, `_` as DEL. */
function source(lines: Array<[string, string]>): HeaderSource {
  const handed = (name: string): string => name.toLowerCase().replace(/[\^\\@[\]_]/g, (c) => (c === '_' ? '\x7f' : String.fromCharCode(c.charCodeAt(0) | 0x20)));
  return { forEach: (cb) => lines.forEach(([k, v]) => cb(handed(k), v)) };
}

const auth = (signed: string): [string, string] => ['Authorization', `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=${signed}, Signature=00`];

t.test('unsigned names with ~ | and ` are taken as they arrive', async (t) => {
  const head = readHead(source([['host', 'h'], ['x-a~b', '1'], ['x-a|b', '2'], ['x-a`b', '3'], ['x-a^c', '4']]));
  t.strictSame({ ...head.headers }, { host: 'h', 'x-a~b': '1', 'x-a|b': '2', 'x-a`b': '3', 'x-a~c': '4' });
  t.equal(head.badName, undefined);
});

t.test('a signed name with ^ is respelled as signed, in its place; one signed with ~ is left alone', async (t) => {
  const head = readHead(source([['host', 'h'], ['x-amz-meta-a^b', '1'], ['x-amz-meta-c~d', '2'], ['x-amz-meta-e^f~g', '3'], ['x-amz-meta-z', '4'], auth('host;x-amz-meta-a^b;x-amz-meta-c~d;x-amz-meta-e^f~g;x-amz-meta-z')]));
  t.strictSame(Object.keys(head.headers), ['host', 'x-amz-meta-a^b', 'x-amz-meta-c~d', 'x-amz-meta-e^f~g', 'x-amz-meta-z', 'authorization'], 'the order kept');
  t.strictSame([head.headers['x-amz-meta-a^b'], head.headers['x-amz-meta-e^f~g']], ['1', '3']);
  t.equal(head.badName, undefined);
  t.equal(headError(head), undefined);
});

t.test("a presigned URL's X-Amz-SignedHeaders respells as the Authorization header's does", async (t) => {
  const head = readHead(source([['host', 'h'], ['x-amz-meta-a^b', '1']]), 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host%3Bx-amz-meta-a%5Eb&X-Amz-Signature=00');
  t.strictSame({ ...head.headers }, { host: 'h', 'x-amz-meta-a^b': '1' });
});

t.test('a signed name holding \\ or @ (no token characters) is a bad name, named as signed', async (t) => {
  for (const name of ['x-amz-meta-a\\b', 'x-amz-meta-a@b']) {
    const head = readHead(source([['host', 'h'], [name, '1'], auth(`host;${name}`)]));
    t.equal(head.badName, name, name);
    t.match(headError(head), { code: 'InvalidArgument', message: `The header name ${JSON.stringify(name)} is not a valid HTTP field name.` });
  }
});

t.test('names with "(),/{} (and [ ] arriving as { }) are bad names, signed or not', async (t) => {
  for (const [sent, named] of [['a"b', 'a"b'], ['a(b', 'a(b'], ['a)b', 'a)b'], ['a,b', 'a,b'], ['a/b', 'a/b'], ['a{b', 'a{b'], ['a}b', 'a}b'], ['a[b', 'a{b'], ['a]b', 'a}b']]) {
    t.equal(readHead(source([['host', 'h'], [sent!, '1']])).badName, named, sent);
    t.equal(readHead(source([['host', 'h'], [sent!, '1'], auth(`host;${sent}`)])).badName, named, `${sent}, signed`);
  }
  t.equal(readHead(source([['x-a(b', '1'], ['x-c"d', '2']])).badName, 'x-a(b', 'the first one');
});

t.test('both spellings signed and sent: which line was which is lost, so the request is refused, naming both', async (t) => {
  const head = readHead(source([['host', 'h'], ['x-amz-meta-a^b', '1'], ['x-amz-meta-a~b', '2'], auth('host;x-amz-meta-a^b;x-amz-meta-a~b')]));
  t.strictSame({ ...head.headers, authorization: undefined }, { host: 'h', 'x-amz-meta-a~b': '1,2', authorization: undefined }, 'left as received');
  t.strictSame(head.nameClash, ['x-amz-meta-a~b', 'x-amz-meta-a^b']);
  t.match(headError(head), { code: 'InvalidArgument', message: 'The header names "x-amz-meta-a~b" and "x-amz-meta-a^b" cannot both be sent to this server: its HTTP parser reads ^ as ~, \\ as | and @ as `.' });
  const two = readHead(source([['host', 'h'], ['x-a^~', '1'], ['x-a~^', '2'], auth('host;x-a^~;x-a~^')]));
  t.strictSame(two.nameClash, ['x-a^~', 'x-a~^'], 'two names with ^ that are one received name');
  t.equal(readHead(source([['host', 'h'], ['x-a~b', '1'], auth('host;x-a~b')])).nameClash, undefined, 'one spelling: no clash');
});

t.test('a signed name with ^ not sent changes nothing', async (t) => {
  const head = readHead(source([['host', 'h'], ['x-amz-meta-a~c', '1'], auth('host;x-amz-meta-a^b')]));
  t.strictSame(Object.keys(head.headers), ['host', 'x-amz-meta-a~c', 'authorization']);
});

t.test('a name holding a byte above 0x7f (handed over mangled, decoded as UTF-8) is refused, its ASCII start told', async (t) => {
  // `x-amz-meta-café` sent as UTF-8 (c3 a9) arrives as e3 a9 (the parser's `| 0x20`), which
  // decodes to U+FFFD; other bytes may decode to other characters past ASCII, astral ones too.
  for (const [name, told] of [['x-amz-meta-caf\uFFFD', ' (the name begins "x-amz-meta-caf")'], ['x-amz-meta-\u00e9t\u00e9', ' (the name begins "x-amz-meta-")'], ['\u{1F600}x', ''], ['x-a\x7fb\uFFFD', ' (the name begins "x-a_b")']] as const) {
    const head = readHead(source([['host', 'h'], [name, '1']]));
    t.equal(head.badName, undefined, `${name}: not told as a name HTTP does not allow otherwise`);
    t.match(headError(head), { code: 'InvalidArgument', message: `A header name holds a byte outside printable ASCII${told}: a header name, a user metadata name among them, must be ASCII.` }, name);
  }
  t.equal(readHead(source([['host', 'h'], ['x-amz-meta-cafe', '1']])).nonAsciiName, undefined, 'an ASCII name is not');
});

t.test('a signed name holding a byte above 0x7f gets the same 400, whatever else the signature names', async (t) => {
  const head = readHead(source([['host', 'h'], ['x-amz-meta-a^b', '1'], ['x-amz-meta-caf\uFFFD', '2'], ['x-amz-meta-c/d', '3'], auth('host;x-amz-meta-a^b;x-amz-meta-café;x-amz-meta-c/d')]));
  t.match(headError(head), { code: 'InvalidArgument', message: /^A header name holds a byte outside printable ASCII \(the name begins "x-amz-meta-caf"\)/ });
  const presigned = readHead(source([['host', 'h'], ['x-amz-meta-caf\uFFFD~', '1']]), 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host%3Bx-amz-meta-caf%C3%A9%5E&X-Amz-Signature=00');
  t.match(headError(presigned), { code: 'InvalidArgument', message: /^A header name holds a byte outside printable ASCII/ });
});

t.test('requestQuery: the router, V2, V4 and presigned detection read the same parameters', async (t) => {
  t.equal(requestQuery(''), '');
  t.equal(requestQuery('?'), '', 'a URL ending in "??" has no query');
  t.equal(requestQuery('?tagging'), 'tagging', 'the "?" uWS leaves on `/b/k??tagging` is dropped');
  t.equal(requestQuery('???tagging'), 'tagging', 'and any number of them: none is left for URLSearchParams to drop once more');
  t.equal(requestQuery('a=1&?b'), 'a=1&?b', 'a "?" inside the query stays part of a name');
  t.equal(requestQuery('%3Ftagging'), '%3Ftagging', 'an encoded one too');
  // Each sub-resource the router routes by or V2 signs, in the spellings that once split the
  // readers: the names URLSearchParams gives the router are V4's names, and V2 signs the name
  // exactly when the router sees it. A sub-resource added to either list is checked here too.
  const disagreed: string[] = [];
  const names = [...new Set([...OPERATION_SUBRESOURCES, ...SUBRESOURCES, 'X-Amz-Credential'])];
  for (const name of names) {
    const encoded = `%${name.charCodeAt(0).toString(16).toUpperCase()}${name.slice(1)}`;
    for (const sent of [name, `?${name}`, `??${name}`, `???${name}=v`, `?${encoded}`, `x=1&?${name}`, `?%3F${name}`, `&${name}=`, `?&${name}`]) {
      const query = requestQuery(sent);
      const router = [...new URLSearchParams(query).keys()];
      const v4 = parseQuery(query).map(([n]) => n);
      if (router.join('\n') !== v4.join('\n')) disagreed.push(`${sent}: router ${JSON.stringify(router)}, V4 ${JSON.stringify(v4)}`);
      const resource = canonicalResources('/b/k', query, undefined)[0]!;
      const v2Signs = new RegExp(`[?&]${name.replace(/[-]/g, '\\-')}(=|&|$)`).test(resource);
      if (SUBRESOURCES.has(name) && v2Signs !== router.includes(name)) disagreed.push(`${sent}: router sees ${name}: ${router.includes(name)}, V2 signs it: ${v2Signs}`);
      if (name === 'X-Amz-Credential' && (authKind({ method: 'GET', rawPath: '/b/k', rawQuery: query, headers: {} }) === 'presigned') !== router.includes(name)) disagreed.push(`${sent}: presigned detection differs from the router`);
    }
  }
  t.same(disagreed, [], `${names.length} names in 9 spellings: one reading`);
});
