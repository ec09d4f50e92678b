// Hostile input for the bucket and object sub-resources added after prod-hostile.test.ts, a
// seeded, bounded fuzzer: mutated lifecycle, CORS, notification, tagging, policy and
// absent-configuration documents, and header- and query-driven requests (GetObjectAttributes,
// versionId, ListBuckets paging, the write options s3d refuses, CORS preflights and requests
// carrying Origin). The hand-picked documents are prod-hostile-config-handpicked.test.ts.
//
// Every answer is a well-formed S3 XML error with a 4xx status (501 only as NotImplemented) or a
// valid 2xx, within a deadline, and the kept-alive connection serves the next request; a refused
// PUT leaves the stored configuration byte-identical; the daemon ends healthy,
// with flat memory and no error lines.

import t from 'tap';
import { prng, rssKiB, testBytes } from '../helpers/daemon.js';
import { errorCode } from '../helpers/http.js';
import { answerProblems, elements, splice, texts, type Answer } from '../helpers/hostile.js';
import { sleep } from '../helpers/wait.js';
import { afterwards, BUCKET, canary, d, exchange, hostilePut, LAUGHS_DTD, NO_CORS_BUCKET, setup, start, stop, subs, type Req, type Sub } from '../helpers/hostile-config.js';

const FUZZ_SEED = 0xc0f16;
const FUZZ_CASES = 3000;
const FUZZ_BUDGET_MS = 20_000;

t.before(start);
t.teardown(stop);

t.test('setup: buckets, objects and known-good configurations', setup);

// ---- the fuzzer

type Rnd = ReturnType<typeof prng>;

const NUMBERS = ['-1', '0', '1', '-0', '1e309', '-1e309', '9007199254740993', '18446744073709551616', '99999999999999999999999999', '2147483648', '4294967296', '1.5', '0x10', '1e3', 'NaN', 'Infinity', ' 7 ', '+1', '\uff11', '007', ''];
const UNICODE = ['ключ', '\u{1F525}'.repeat(40), 'e\u0301'.repeat(50), '\u202eevil', '\uffff\ufffe', '\u2028\u2029', '\u200b', '\uff21', '\ud7ff', '\u{10ffff}', 'mañana/日本'];
const CONTROL = ['\n', '\r\n', '\t', 'a\nSet-Cookie: x=1', '&#13;&#10;X-Evil: 1', '\u0001', '\u007f', '&#x1;', '&#xFFFE;', '&#xD800;', '&#99999999;'];
const SPECIAL = ['&amp;', '&lt;x&gt;', '&quot;&apos;', '&bogus;', '&', '<', ']]>', '<![CDATA[<a>]]>', '<!-- c -->', '<?pi x?>', '*', '*'.repeat(500), '?*?*?*?*', '(a+)+$', '.*', '%00', '%2e%2e%2f', '../../etc/passwd', 'arn:minio:sqs::T:webhook', 'arn:minio:sqs:eu-west-1:T:webhook', 's3:ObjectCreated:*', 'Enabled', 'GET', 'prefix', 'suffix'];

function hostileText(rnd: Rnd): string {
  const kind = rnd.int(6);
  if (kind === 0) return rnd.pick(NUMBERS);
  if (kind === 1) return rnd.pick(UNICODE);
  if (kind === 2) return rnd.pick(CONTROL);
  if (kind === 3) return rnd.pick(SPECIAL);
  if (kind === 4) return rnd.pick(['x', '\u00e9', 'ab', '\u{1F525}']).repeat(rnd.pick([129, 256, 257, 1025, 5000, 70_000]));
  return Array.from({ length: 1 + rnd.int(30) }, () => String.fromCharCode(32 + rnd.int(95))).join('');
}

/** One mutation of an XML document (may return bytes that are not UTF-8). */
function mutateXml(rnd: Rnd, doc: string, s: Sub): Buffer | string {
  const els = elements(doc);
  const txt = texts(doc);
  const el = els.length > 0 ? rnd.pick(els) : { name: 'X', start: 0, end: doc.length };
  const root = /^<(\w+)/.exec(s.good)?.[1] ?? 'X';
  switch (rnd.int(20)) {
    case 0:
      return doc.slice(0, rnd.int(doc.length));
    case 1: {
      const b = Buffer.from(doc);
      for (let i = 1 + rnd.int(6); i > 0; i--) b[rnd.int(b.length)] = rnd.int(256);
      return b;
    }
    case 2: {
      const n = rnd.pick([50, 1000, 5000, 60_000]);
      return splice(doc, el.start, el.start, '<a>'.repeat(n) + (rnd.bool(0.8) ? '</a>'.repeat(n) : ''));
    }
    case 3: {
      // Huge element counts: the element repeated up to a little past the body limit.
      const one = doc.slice(el.start, el.end);
      const n = Math.min(rnd.pick([2, 11, 51, 101, 1001, 10_001, 100_001]), Math.ceil((s.limit * 1.1) / Math.max(one.length, 1)));
      return splice(doc, el.start, el.end, one.repeat(n));
    }
    case 4:
      return splice(doc, el.start, el.end, doc.slice(el.start, el.end).repeat(2));
    case 5:
      return splice(doc, el.start, el.end, '');
    case 6:
      return doc.replace(new RegExp(`(</?)${root}\\b`, 'g'), `$1${rnd.pick(['Foo', 'Tagging', 'CORSConfiguration', 'LifecycleConfiguration', 'NotificationConfiguration', root.toLowerCase(), `${root}s`, 'Error'])}`);
    case 7: {
      const tx = txt.length > 0 ? rnd.pick(txt) : { start: el.start, end: el.start };
      return splice(doc, tx.start, tx.end, hostileText(rnd));
    }
    case 8: {
      const tx = txt.length > 0 ? rnd.pick(txt) : { start: el.start, end: el.start };
      return splice(doc, tx.start, tx.end, rnd.pick(NUMBERS));
    }
    case 9: {
      const value = rnd.pick(['evil', 'a\nX-Evil: 1', '<Rule/>', 'x'.repeat(5000), '&#38;#10;']);
      const dtd = `<!DOCTYPE ${root} [<!ENTITY e "${value}">${rnd.bool() ? `<!ENTITY x SYSTEM "http://127.0.0.1:${canary.port}/fuzz">` : ''}]>`;
      const tx = txt.length > 0 ? rnd.pick(txt) : { start: el.start, end: el.start };
      return dtd + splice(doc, tx.start, tx.end, rnd.pick(['&e;', '&x;', '&e;&e;&e;', '&undefined;']));
    }
    case 10: {
      const bad = rnd.pick([[0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]);
      const at = txt.length > 0 ? rnd.pick(txt).start : rnd.int(doc.length);
      const b = Buffer.from(doc);
      const cut = Buffer.byteLength(doc.slice(0, at));
      return Buffer.concat([b.subarray(0, cut), Buffer.from(bad), b.subarray(cut)]);
    }
    case 11:
      // Duplicate a child inside its parent (Status twice, Days twice, ...).
      return splice(doc, el.end, el.end, doc.slice(el.start, el.end).replace(/>([^<]+)</, `>${rnd.bool() ? '$1' : hostileText(rnd)}<`));
    case 12:
      return splice(doc, el.start + 1 + el.name.length, el.start + 1 + el.name.length, rnd.pick([' a="1" a="2"', ' xmlns="urn:x"', ' xmlns:p="urn:p" p:x="y"', ` ${'a'.repeat(5000)}="1"`, ' =', ' x="<"']));
    case 13:
      return splice(doc, el.start, el.end, doc.slice(el.start, el.end).replace(new RegExp(el.name, 'g'), rnd.pick([el.name.toLowerCase(), el.name.toUpperCase(), `x:${el.name}`, `${el.name}\u00e9`])));
    case 14:
      return rnd.pick(['', ' ', '\ufeff', '<?xml version="1.0"?>', '<', '<>', '</x>', `<${root}>`, `<${root}/>`, `<${root}></${root}>`, `<${root}>text</${root}>`, '{}', '[]', 'null']);
    case 15:
      return JSON.stringify(rnd.bool() ? { [root]: doc } : [doc, 1e308, null]);
    case 16:
      return splice(doc, el.end, el.end, rnd.pick(['mixed text', '<Unknown>1</Unknown>', '<!-- comment -->', '<?pi?>', '<![CDATA[x]]>', '<Rule/>', '<Tag/>', '<And/>']));
    case 17: {
      const tx = txt.length > 0 ? rnd.pick(txt) : { start: el.start, end: el.start };
      return splice(doc, tx.start, tx.end, `<![CDATA[${hostileText(rnd).replace(/]]>/g, '')}]]>`);
    }
    case 18:
      return `${LAUGHS_DTD.replace('lolz', root)}${splice(doc, el.end, el.end, '')}`.replace(/>([^<]+)</, '>&lol5;<');
    default: {
      // Two mutations.
      const first = mutateXml(rnd, doc, s);
      return typeof first === 'string' ? mutateXml(rnd, first, s) : first;
    }
  }
}

/** One mutation of a JSON policy document. */
function mutatePolicy(rnd: Rnd, doc: string, s: Sub): Buffer | string {
  const parsed = JSON.parse(doc) as { Version: unknown; Statement: Array<Record<string, unknown>> };
  const stmt = parsed.Statement[0]!;
  const field = rnd.pick(['Sid', 'Effect', 'Principal', 'Action', 'Resource', 'Condition', 'Version', 'Statement']);
  const weird = (): unknown =>
    rnd.pick<() => unknown>([
      () => hostileText(rnd),
      () => null,
      () => Number(rnd.pick(['1e308', '-1', '9007199254740993', '0.1'])),
      () => true,
      () => [],
      () => ({}),
      () => [[hostileText(rnd)]],
      () => ({ AWS: hostileText(rnd) }),
      () => ({ StringLike: { 'aws:UserAgent': hostileText(rnd) } }),
      () => ({ IpAddress: { 'aws:SourceIp': rnd.pick(['1.2.3.4/33', '::/129', '300.1.1.1', '1.2.3.4/', '::ffff:1.2.3.4/96', 'fe80::1%eth0', hostileText(rnd)]) } }),
      () => ({ [hostileText(rnd)]: { [hostileText(rnd)]: 'x' } }),
      () => `arn:aws:s3:::${BUCKET}/${hostileText(rnd)}`,
      () => `s3:${hostileText(rnd)}`,
      () => Array.from({ length: rnd.pick([100, 2000]) }, () => 's3:GetObject'),
    ])();
  switch (rnd.int(12)) {
    case 0:
      return doc.slice(0, rnd.int(doc.length));
    case 1: {
      const b = Buffer.from(doc);
      for (let i = 1 + rnd.int(6); i > 0; i--) b[rnd.int(b.length)] = rnd.int(256);
      return b;
    }
    case 2: {
      const n = rnd.pick([100, 3000, 100_000]);
      return rnd.bool() ? '['.repeat(n) + ']'.repeat(n) : doc.replace('"Statement":', `"Deep":${'{"a":'.repeat(n)}1${'}'.repeat(n)},"Statement":`);
    }
    case 3:
      parsed.Statement = Array.from({ length: rnd.pick([2, 50, 1000, 10_000]) }, () => stmt);
      return JSON.stringify(parsed);
    case 4:
      if (field === 'Version' || field === 'Statement') (parsed as Record<string, unknown>)[field] = weird();
      else stmt[field] = weird();
      return JSON.stringify(parsed);
    case 5:
      // Duplicate keys, prototype keys.
      return doc.replace('{"Sid"', rnd.pick(['{"Effect":"Deny","Sid"', '{"__proto__":{"Effect":"Deny"},"Sid"', '{"constructor":{"prototype":{}},"Sid"', '{"NotAction":"s3:*","Sid"', '{"NotPrincipal":"*","Sid"'])).replace('"Version":"2012-10-17"', rnd.pick(['"Version":"2012-10-17","Version":"2008-10-17"', '"Version":"2012-10-17","Version":2012', '"Version":"2012-10-17"']));
    case 6: {
      const bad = rnd.pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x80], [0x00]]);
      const at = doc.indexOf('"', rnd.int(doc.length));
      const b = Buffer.from(doc);
      return Buffer.concat([b.subarray(0, at + 1), Buffer.from(bad), b.subarray(at + 1)]);
    }
    case 7:
      return rnd.pick(['', ' ', '\ufeff', '{', '}', 'null', 'true', '0', '1e309', '"x"', '[]', '{}', subs()[rnd.int(3)]!.good, `<Policy>${doc}</Policy>`]);
    case 8:
      return doc.replace(/"s3:GetObject"/, JSON.stringify(rnd.pick(['s3:GetObject\u0000', 's3:*Object*', 'S3:GETOBJECT', 's3:', 's3:??????????', '\\u0073\\u0033:GetObject']))).replace(/\\\\u/g, '\\u');
    case 9:
      return doc.replace(/"Sid":"read"/, `"Sid":${rnd.pick(['"\\ud800"', '"\\u0000"', '"\\uffff"', '1e309', '-1', '"' + 'x'.repeat(s.limit) + '"'])}`);
    case 10:
      return `${doc}${rnd.pick([doc, ' ', '//c', '/* c */', ',', '\u0000'])}`;
    default: {
      const first = mutatePolicy(rnd, doc, s);
      return typeof first === 'string' && rnd.bool() ? mutatePolicy(rnd, doc, s) : first;
    }
  }
}

/** A header value Node's client can send (no control characters, Latin-1). */
function sendable(v: string): string {
  return v.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}

function headerText(rnd: Rnd): string {
  return sendable(hostileText(rnd)).slice(0, rnd.pick([64, 512, 4000]));
}

/** One header-driven or query-driven request, and what else to check of its answer. */
function headerCase(rnd: Rnd, counter: number): { req: Req; kind: string } {
  const enc = encodeURIComponent;
  const object = rnd.pick(['obj', 'mp', 'missing', `scratch-${counter % 3}`]);
  switch (rnd.int(6)) {
    case 0: {
      const names = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize', 'etag', 'OBJECTSIZE', 'Nope', '', ' ', 'ETag,ETag', '*'];
      const attrs = rnd.bool(0.2) ? headerText(rnd) : Array.from({ length: rnd.pick([1, 2, 5, 500]) }, () => rnd.pick(names)).join(rnd.pick([',', ', ', ' ,', ',,']));
      const headers: Record<string, string> = { 'x-amz-object-attributes': attrs };
      if (rnd.bool(0.6)) headers['x-amz-max-parts'] = rnd.bool(0.7) ? sendable(rnd.pick(NUMBERS)) : headerText(rnd);
      if (rnd.bool(0.6)) headers['x-amz-part-number-marker'] = rnd.bool(0.7) ? sendable(rnd.pick(NUMBERS)) : headerText(rnd);
      if (rnd.bool(0.1)) delete headers['x-amz-object-attributes'];
      const query = `attributes=${rnd.bool(0.2) ? `&versionId=${rnd.pick(['null', 'x', ''])}` : ''}`;
      return { kind: 'GetObjectAttributes', req: { method: 'GET', path: `/${BUCKET}/${object}`, query, headers } };
    }
    case 1: {
      const versionId = rnd.bool(0.3) ? rnd.pick(['null%00', '%ED%A0%80', '%FF', '%', '%zz', 'a+b']) : enc(rnd.pick(['null', 'null', 'NULL', '', ' null', '0', '3HL4kqtJlcpXroDTDmJ', hostileText(rnd).slice(0, 2000)]));
      const query = rnd.pick([`versionId=${versionId}`, `versionId=${versionId}&versionId=null`, `tagging=&versionId=${versionId}`, `attributes=&versionId=${versionId}`, `acl=&versionId=${versionId}`, `retention=&versionId=${versionId}`, `legal-hold=&versionId=${versionId}`, `uploads=&versionId=${versionId}`, `lifecycle=&versionId=${versionId}`]);
      const method = rnd.pick(['GET', 'HEAD', 'DELETE', 'PUT', 'POST']);
      // DELETE only ever names a scratch key: versionId=null deletes the object.
      const key = method === 'DELETE' || method === 'PUT' || method === 'POST' ? `scratch-${counter % 3}` : object;
      const headers: Record<string, string> = method === 'GET' && query.startsWith('attributes') ? { 'x-amz-object-attributes': 'ETag' } : {};
      const body = method === 'PUT' ? (query.startsWith('tagging') ? subs()[4]!.good : 'scratch') : undefined;
      return { kind: `versionId ${method}`, req: { method, path: `/${BUCKET}/${key}`, query, headers, ...(body !== undefined ? { body } : {}) } };
    }
    case 2: {
      const params: string[] = [];
      if (rnd.bool(0.6)) params.push(`max-buckets=${enc(rnd.bool(0.7) ? rnd.pick(NUMBERS) : hostileText(rnd)).slice(0, 3000)}`);
      if (rnd.bool(0.5)) params.push(`continuation-token=${rnd.pick([Buffer.from('hostile-list-a').toString('base64url'), Buffer.from('hostile-list-a').toString('base64'), Buffer.from('..').toString('base64url'), enc(hostileText(rnd)).slice(0, 3000), Buffer.from(testBytes(rnd.int(40) + 1, counter)).toString('base64url'), ''])}`);
      if (rnd.bool(0.5)) params.push(`prefix=${enc(rnd.bool() ? rnd.pick(['hostile-list-', 'h', '']) : hostileText(rnd)).slice(0, 3000)}`);
      if (rnd.bool(0.2)) params.push(`bucket-region=${enc(rnd.pick(['us-east-1', 'eu-west-1', '', hostileText(rnd)])).slice(0, 500)}`);
      return { kind: 'ListBuckets', req: { method: 'GET', path: '/', query: params.join('&') } };
    }
    case 3: {
      const headers: Record<string, string> = {};
      const opts: Array<[string, () => string]> = [
        ['x-amz-storage-class', () => rnd.pick(['STANDARD', 'standard', 'GLACIER', 'REDUCED_REDUNDANCY', 'EXPRESS_ONEZONE', '', headerText(rnd)])],
        ['x-amz-acl', () => rnd.pick(['private', 'bucket-owner-full-control', 'public-read', 'public-read-write', 'authenticated-read', 'PRIVATE', '', headerText(rnd)])],
        ['x-amz-grant-read', () => rnd.pick(['uri="http://acs.amazonaws.com/groups/global/AllUsers"', headerText(rnd)])],
        ['x-amz-object-lock-mode', () => rnd.pick(['GOVERNANCE', 'COMPLIANCE', '', headerText(rnd)])],
        ['x-amz-object-lock-retain-until-date', () => rnd.pick(['2030-01-01T00:00:00Z', 'yesterday', headerText(rnd)])],
        ['x-amz-object-lock-legal-hold', () => rnd.pick(['ON', 'OFF', headerText(rnd)])],
        ['x-amz-website-redirect-location', () => rnd.pick(['/ok', 'https://example.com/x', 'http://' + 'a'.repeat(2100), 'javascript:alert(1)', '//evil.example', '', headerText(rnd)])],
      ];
      for (let i = 1 + rnd.int(3); i > 0; i--) {
        const [name, value] = rnd.pick(opts);
        headers[name] = value();
      }
      const where = rnd.int(3);
      const key = `wo-${counter}`;
      if (where === 0) return { kind: 'PutObject write options', req: { method: 'PUT', path: `/${BUCKET}/${key}`, headers, body: 'w' } };
      if (where === 1) return { kind: 'CreateMultipartUpload write options', req: { method: 'POST', path: `/${BUCKET}/${key}`, query: 'uploads=', headers } };
      return { kind: 'CopyObject write options', req: { method: 'PUT', path: `/${BUCKET}/${key}`, headers: { ...headers, 'x-amz-copy-source': `/${BUCKET}/obj` } } };
    }
    case 4: {
      // CORS preflights, unsigned, with odd headers.
      const headers: Record<string, string> = {};
      if (rnd.bool(0.9)) headers.origin = rnd.pick(['https://a.example.com', 'https://example.com', 'null', '*', '', 'https://a.example.com.evil', 'HTTPS://A.EXAMPLE.COM', 'file://', headerText(rnd)]);
      if (rnd.bool(0.9)) headers['access-control-request-method'] = rnd.pick(['GET', 'get', 'PUT', 'HEAD', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', '', ' GET ', 'GET, PUT', headerText(rnd)]);
      if (rnd.bool(0.6)) headers['access-control-request-headers'] = rnd.pick(['x-amz-date', 'X-Amz-Date, Authorization', 'x-amz-meta-a,,,', ',', '*', Array.from({ length: 300 }, (_, i) => `x-amz-h${i}`).join(','), headerText(rnd)]);
      const path = rnd.pick([`/${BUCKET}/obj`, `/${BUCKET}`, `/${NO_CORS_BUCKET}/k`, '/no-such-bucket-hc/k', '/', `/${BUCKET}/${enc(hostileText(rnd)).slice(0, 900)}`, '/%zz/k']);
      return { kind: 'preflight', req: { method: 'OPTIONS', path, headers, anonymous: true } };
    }
    default: {
      // Requests carrying Origin (the bucket-CORS look-up runs for them), signed.
      const origin = rnd.pick(['https://a.example.com', 'https://evil.example', headerText(rnd)]);
      const headers: Record<string, string> = { origin };
      if (rnd.bool(0.5)) headers['access-control-request-method'] = rnd.pick(['PUT', 'GET', headerText(rnd)]);
      if (rnd.bool(0.3)) headers['access-control-request-headers'] = headerText(rnd);
      return { kind: 'request with Origin', req: { method: rnd.pick(['GET', 'HEAD']), path: rnd.pick([`/${BUCKET}/obj`, `/${BUCKET}`, `/${NO_CORS_BUCKET}`]), query: rnd.pick(['', 'cors=', 'tagging=']), headers } };
    }
  }
}

t.test('seeded fuzzer: config documents, header-driven operations and preflights', async (t) => {
  const rnd = prng(FUZZ_SEED);
  const all = subs();
  const problems: string[] = [];
  const counts: Record<string, number> = {};
  const slowest = { ms: 0, what: '' };
  const started = Date.now();
  const warmRss = rssKiB(d.proc.pid!);
  let done = 0;
  for (let i = 0; i < FUZZ_CASES && Date.now() - started < FUZZ_BUDGET_MS && d.proc.exitCode === null; i++) {
    if (rnd.bool(0.55)) {
      const s = rnd.pick(all);
      const body = s.json ? mutatePolicy(rnd, s.good, s) : mutateXml(rnd, s.good, s);
      const extra: Record<string, string> = rnd.bool(0.1) ? { 'content-type': rnd.pick(['application/json', 'text/xml', 'application/x-www-form-urlencoded', headerText(rnd)]) } : {};
      const t0 = Date.now();
      const r = await hostilePut(s, body, extra);
      const ms = Date.now() - t0;
      if (ms > slowest.ms) Object.assign(slowest, { ms, what: `${s.name} (${Buffer.byteLength(body)} bytes)` });
      const key = `${s.name} ${r.status} ${r.code ?? ''}`;
      counts[key] = (counts[key] ?? 0) + 1;
      for (const p of r.problems) problems.push(`#${i} ${s.name} ${JSON.stringify(Buffer.from(body).subarray(0, 160).toString('latin1'))}: ${p}`);
    } else {
      const { req, kind } = headerCase(rnd, i);
      let r: Answer;
      try {
        r = await exchange(req);
      } catch (err) {
        problems.push(`#${i} ${kind}: ${(err as Error).message}`);
        continue;
      }
      if (r.ms > slowest.ms) Object.assign(slowest, { ms: r.ms, what: kind });
      const key = `${kind} ${r.status} ${errorCode(r.body) ?? ''}`;
      counts[key] = (counts[key] ?? 0) + 1;
      const what = `#${i} ${kind} ${req.method} ${req.path.slice(0, 60)}?${(req.query ?? '').slice(0, 100)} ${JSON.stringify(req.headers ?? {}).slice(0, 200)}`;
      // A HEAD answer has no body to hold an error code: any 4xx, or 501.
      const own = req.method === 'HEAD' ? (r.status < 500 || r.status === 501 ? [] : [`HEAD ${r.status}`]) : answerProblems(r);
      for (const p of own) problems.push(`${what}: ${p}`);
      if (kind === 'ListBuckets' && r.status === 200) {
        const max = /(?:^|&)max-buckets=(\d+)(?:&|$)/.exec(req.query ?? '')?.[1];
        const n = (r.body.toString().match(/<Bucket>/g) ?? []).length;
        if (max !== undefined && n > Number(max)) problems.push(`${what}: ${n} buckets listed, max-buckets ${max}`);
      }
      // A preflight is 200 or 403; 400 BadRequest only without an Origin or one of S3's methods, or
      // asking for a header name that is no HTTP token.
      const askedMethod = req.headers?.['access-control-request-method']?.trim();
      const askedHeaders = (req.headers?.['access-control-request-headers'] ?? '').split(',').map((h) => h.trim());
      const complete =
        (req.headers?.origin ?? '') !== '' && ['GET', 'PUT', 'HEAD', 'POST', 'DELETE'].includes(askedMethod ?? '') && askedHeaders.every((h) => h === '' || /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(h));
      if (kind === 'preflight' && (complete ? r.status !== 200 && r.status !== 403 : r.status !== 400)) {
        problems.push(`${what}: a preflight answered ${r.status}`);
      }
      // The kept-alive connection serves the next request.
      if (r.headers.connection !== 'close') {
        const next = await exchange({ method: 'GET', path: '/minio/health/live' }).catch((e: Error) => e);
        if (next instanceof Error || next.status !== 200 || next.connection !== r.connection) {
          problems.push(`${what}: the next request on the connection ${next instanceof Error ? `failed: ${next.message}` : `got ${next.status} on connection ${next.connection}, not ${r.connection}`}`);
        }
      }
    }
    done++;
  }
  const elapsed = Date.now() - started;
  t.comment(`fuzzer: ${done} cases in ${elapsed} ms; slowest ${slowest.ms} ms (${slowest.what})`);
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(Object.entries(counts).sort()))}`);
  // A floor that shows the fuzzer ran, not a speed test: a loaded CI machine runs fewer cases in the budget.
  t.ok(done >= 100, `${done} cases run (at least 100)`);
  t.same(problems.slice(0, 25), [], `no problem in ${done} cases (${problems.length} in all)`);
  t.equal(d.proc.exitCode, null, 'the daemon survived');
  await sleep(300);
  const endRss = rssKiB(d.proc.pid!);
  t.comment(`RSS ${Math.round(warmRss / 1024)} → ${Math.round(endRss / 1024)} MiB over the fuzzer`);
  t.ok(endRss < warmRss * 1.5 + 96 * 1024, `RSS stayed bounded (${warmRss} → ${endRss} KiB)`);
});

t.test('afterwards: configurations intact, daemon healthy, log clean', afterwards);
