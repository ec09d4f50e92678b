// Hostile input for the bucket and object sub-resources added after prod-hostile.test.ts
// (lifecycle, CORS, notifications, tagging, bucket policies, GetObjectAttributes, ListBuckets
// paging, the configurations s3d reads as absent), hand-picked nasty documents per parser:
// external entities and DTDs that must never be fetched, entity expansion, two root elements and
// wrong roots, stored values that would split a response, a policy wildcard that backtracks,
// source-IP ranges that would read as anywhere, oversized, empty and odd-encoding documents, and
// paging at its edges. The seeded fuzzer over the same surface is prod-hostile-config-fuzz.test.ts.
//
// Every answer is a well-formed S3 XML error with a 4xx status (501 only as NotImplemented) or a
// valid 2xx, within a deadline, and the kept-alive connection serves the next request; a refused
// PUT leaves the stored configuration byte-identical; the daemon ends healthy, with no error lines.

import t from 'tap';
import { rssKiB } from '../helpers/daemon.js';
import { errorCode } from '../helpers/http.js';
import { answerProblems, type Answer } from '../helpers/hostile.js';
import { sleep } from '../helpers/wait.js';
import { afterwards, BUCKET, canary, d, exchange, expectError, hostilePut, LAUGHS_DTD, POLICY_BUCKET, setup, start, stop, subs, type Req } from '../helpers/hostile-config.js';

t.before(start);
t.teardown(stop);

t.test('setup: buckets, objects and known-good configurations', setup);

// ---- hand-picked documents

/** The first text node of a document replaced by `text` (markup allowed). */
function withFirstText(doc: string, text: string): string {
  return doc.replace(/>([^<]+)</, `>${text}<`);
}

t.test('external entities and DTDs are never fetched; entity expansion stays bounded', async (t) => {
  const url = (what: string): string => `http://127.0.0.1:${canary.port}/${what}`;
  const rssBefore = rssKiB(d.proc.pid!);
  for (const s of subs()) {
    const xmlGood = s.json ? subs()[0]!.good : s.good;
    const root = /^<(\w+)/.exec(xmlGood)![1]!;
    const docs: Array<[string, string]> = [
      ['external entity (XXE)', `<?xml version="1.0"?><!DOCTYPE ${root} [<!ENTITY xxe SYSTEM "${url(`xxe-${s.name}`)}">]>${withFirstText(xmlGood, '&xxe;')}`],
      ['external entity to a file', `<!DOCTYPE ${root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${withFirstText(xmlGood, '&xxe;')}`],
      ['public external entity', `<!DOCTYPE ${root} [<!ENTITY xxe PUBLIC "-//x//y" "${url(`public-${s.name}`)}">]>${withFirstText(xmlGood, '&xxe;')}`],
      ['external DTD', `<!DOCTYPE ${root} SYSTEM "${url(`dtd-${s.name}`)}">${xmlGood}`],
      ['parameter entity', `<!DOCTYPE ${root} [<!ENTITY % pe SYSTEM "${url(`pe-${s.name}`)}"> %pe;]>${xmlGood}`],
      ['xinclude', xmlGood.replace(/>([^<]+)</, `><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="${url(`xi-${s.name}`)}"/><`)],
      ['billion laughs', `<?xml version="1.0"?>${LAUGHS_DTD}${withFirstText(xmlGood, '&lol9;')}`],
      ['quadratic blowup', `<!DOCTYPE ${root} [<!ENTITY a "${'a'.repeat(10_000)}">]>${withFirstText(xmlGood, '&a;'.repeat(Math.min(3000, Math.floor(s.limit / 4))))}`],
    ];
    for (const [what, body] of docs) {
      const r = await hostilePut(s, body);
      t.same(r.problems, [], `${s.name}, ${what}: ${r.status} ${r.code ?? ''}`);
    }
  }
  await sleep(300);
  t.same(canary.requests, [], 'the canary server was never asked for anything');
  const rssAfter = rssKiB(d.proc.pid!);
  t.comment(`RSS ${Math.round(rssBefore / 1024)} → ${Math.round(rssAfter / 1024)} MiB around the entity documents`);
  t.ok(rssAfter < rssBefore + 96 * 1024, `entity expansion did not blow up memory (${rssBefore} → ${rssAfter} KiB)`);
});

t.test('two root elements, duplicated elements, wrong roots, JSON for XML and XML for JSON', async (t) => {
  for (const s of subs()) {
    const root = s.json ? 'Policy' : /^<(\w+)/.exec(s.good)![1]!;
    const cases: Array<[string, string]> = s.json
      ? [
          ['an XML document', subs()[0]!.good],
          ['XML with the JSON inside', `<Policy>${s.good}</Policy>`],
          ['two JSON documents', `${s.good}${s.good}`],
          ['JSON then junk', `${s.good}<x/>`],
          ['a JSON array', `[${s.good}]`],
          ['a JSON string', JSON.stringify(s.good)],
          ['null', 'null'],
        ]
      : [
          ['a second self-closed root', `${s.good}<${root}/>`],
          ['a second root', `${s.good}${s.good}`],
          ['a self-closed root, then the document', `<${root}/>${s.good}`],
          ['a different second root', `${s.good}<Other/>`],
          ['text after the root', `${s.good}junk`],
          ['JSON', JSON.stringify({ [root]: { Rule: [{ ID: 'x' }] } })],
          ['a JSON policy', subs().find((x) => x.json)!.good],
          ['a lower-case root', s.good.replace(new RegExp(root, 'g'), root.toLowerCase())],
          ['a namespaced root', s.good.replace(new RegExp(`<${root}`), `<x:${root} xmlns:x="urn:evil"`).replace(new RegExp(`</${root}>`), `</x:${root}>`)],
        ];
    for (const [what, body] of cases) {
      const r = await hostilePut(s, body);
      t.same(r.problems, [], `${s.name}, ${what}: ${r.status} ${r.code ?? ''}`);
    }
  }
  // Duplicated elements that were read as something else: two TagSets removed every tag.
  for (const s of subs().filter((x) => x.name.endsWith('tagging'))) {
    const r = await hostilePut(s, '<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet><TagSet><Tag><Key>b</Key><Value>2</Value></Tag></TagSet></Tagging>');
    t.same(r.problems, [], `${s.name}, two TagSet elements: ${r.status} ${r.code ?? ''}`);
    t.equal(r.code, 'MalformedXML', `${s.name}, two TagSet elements: MalformedXML`);
  }
  // Accepted before: a logging document that enables logging, behind a second root.
  const logging = subs().find((s) => s.name === 'logging')!;
  const enable = '<BucketLoggingStatus><LoggingEnabled><TargetBucket>x</TargetBucket><TargetPrefix>p</TargetPrefix></LoggingEnabled></BucketLoggingStatus>';
  expectError(t, await exchange({ method: 'PUT', path: logging.path, query: logging.query, body: `${enable}<BucketLoggingStatus/>` }), 'logging enabled behind a second root', ['MalformedXML']);
  const accel = subs().find((s) => s.name === 'accelerate')!;
  expectError(t, await exchange({ method: 'PUT', path: accel.path, query: accel.query, body: '<AccelerateConfiguration><Status>Enabled</Status></AccelerateConfiguration><AccelerateConfiguration/>' }), 'acceleration enabled behind a second root', ['MalformedXML']);
});

t.test('stored and echoed values never split a response or break a client', async (t) => {
  const lifecycle = subs().find((s) => s.name === 'lifecycle')!;
  const cors = subs().find((s) => s.name === 'cors')!;
  const checkHead = async (what: string, o: Req): Promise<void> => {
    const r = await exchange({ ...o, fresh: true }).catch((e: Error) => e);
    if (r instanceof Error) {
      t.fail(`${what}: ${r.message}`);
      return;
    }
    t.ok(r.status < 500, `${what}: HTTP ${r.status}, the response parses`);
    t.equal(r.headers['set-cookie'], undefined, `${what}: no injected header`);
    t.equal(r.headers['x-evil'], undefined, `${what}: no injected header (x-evil)`);
  };
  const ids = ['a\nSet-Cookie: evil=1', 'a&#13;&#10;Set-Cookie: evil=1', 'b\r\nX-Evil: 1', 'tab\tand\u0001ctl\u007f', 'ключ "quoted" \\ back'];
  for (const id of ids) {
    const doc = `<LifecycleConfiguration><Rule><ID>${id}</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>`;
    const r = await exchange({ method: 'PUT', path: lifecycle.path, query: lifecycle.query, body: doc });
    t.same(answerProblems(r), [], `lifecycle rule ID ${JSON.stringify(id)}: ${r.status} ${errorCode(r.body) ?? ''}`);
    await checkHead(`HEAD of an object under rule ID ${JSON.stringify(id)}`, { method: 'HEAD', path: `/${BUCKET}/obj` });
    await checkHead(`GET of an object under rule ID ${JSON.stringify(id)}`, { method: 'GET', path: `/${BUCKET}/obj` });
  }
  t.same((await hostilePut(lifecycle, lifecycle.good)).problems, [], 'lifecycle restored');

  const exposes = ['x-a\nSet-Cookie: evil=2', 'x-b\r\nX-Evil: 2', 'x-c\u0001', '&#10;X-Evil: 3', '<![CDATA[x\nX-Evil: 4]]>'];
  for (const e of exposes) {
    const doc = `<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedOrigin>*</AllowedOrigin><ExposeHeader>${e}</ExposeHeader><MaxAgeSeconds>5</MaxAgeSeconds></CORSRule></CORSConfiguration>`;
    const r = await exchange({ method: 'PUT', path: cors.path, query: cors.query, body: doc });
    t.same(answerProblems(r), [], `CORS ExposeHeader ${JSON.stringify(e)}: ${r.status} ${errorCode(r.body) ?? ''}`);
    await checkHead(`preflight under ExposeHeader ${JSON.stringify(e)}`, { method: 'OPTIONS', path: `/${BUCKET}/obj`, anonymous: true, headers: { origin: 'https://a.example', 'access-control-request-method': 'GET' } });
    await checkHead(`GET with Origin under ExposeHeader ${JSON.stringify(e)}`, { method: 'GET', path: `/${BUCKET}/obj`, headers: { origin: 'https://a.example' } });
  }
  t.same((await hostilePut(cors, cors.good)).problems, [], 'CORS restored');

  // Values that reach response headers from the query string.
  await checkHead('response-content-type with CR LF', { method: 'GET', path: `/${BUCKET}/obj`, query: `response-content-type=${encodeURIComponent('text/plain\r\nSet-Cookie: evil=3')}` });
  await checkHead('response-content-disposition with LF', { method: 'GET', path: `/${BUCKET}/obj`, query: `response-content-disposition=${encodeURIComponent('inline\nX-Evil: 3')}` });
  const stored: Array<[string, string]> = [
    ['content-type', `content-type=${encodeURIComponent('text/plain\nX-Evil: 4')}`],
    ['x-amz-website-redirect-location', `x-amz-website-redirect-location=${encodeURIComponent('/a\r\nSet-Cookie: evil=5')}`],
    ['a user-metadata name', `x-amz-meta-${encodeURIComponent('a\nX-Evil')}=1`],
    ['a user-metadata value', `x-amz-meta-v=${encodeURIComponent('\u0001\u00ff\u4e2d\nX-Evil: 6')}`],
  ];
  for (const [what, query] of stored) {
    const r = await exchange({ method: 'PUT', path: `/${BUCKET}/q-${what.replace(/\W/g, '')}`, query, body: 'x' });
    t.same(answerProblems(r), [], `PUT with ${what} given in the query: ${r.status} ${errorCode(r.body) ?? ''}`);
    if (r.status === 200) await checkHead(`HEAD of the object stored with ${what} in the query`, { method: 'HEAD', path: `/${BUCKET}/q-${what.replace(/\W/g, '')}` });
  }
});

t.test('a bucket policy wildcard cannot stall the daemon', async (t) => {
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${POLICY_BUCKET}/*/*/*/*.jpg` },
      { Effect: 'Allow', Principal: '*', Action: 's3:Get*', Resource: `arn:aws:s3:::${POLICY_BUCKET}/ua/*`, Condition: { StringLike: { 'aws:UserAgent': '*a*a*a*a*a*a*a*a*a*a*b', 'aws:Referer': ['*?*?*?*?*?*?*?*!', '*x*x*x*x*x*x*y'] } } },
    ],
  });
  const put = await exchange({ method: 'PUT', path: `/${POLICY_BUCKET}`, query: 'policy=', body: policy });
  t.equal(put.status, 204, 'the policy is accepted');
  t.equal((await exchange({ method: 'PUT', path: `/${POLICY_BUCKET}/a/b/c/d.jpg`, body: 'jpg' })).status, 200, 'an object the policy makes public');
  const pub = await exchange({ method: 'GET', path: `/${POLICY_BUCKET}/a/b/c/d.jpg`, anonymous: true });
  t.equal(pub.status, 200, 'the wildcard still matches: anonymous GET of a/b/c/d.jpg');
  t.equal(pub.body.toString(), 'jpg', 'with its body');
  const keys = ['/'.repeat(1000) + 'x', `${'a/'.repeat(500)}jp`, `${'/a'.repeat(500)}.jpgx`];
  for (const key of keys) {
    const probe = exchange({ method: 'GET', path: '/minio/health/live', fresh: true });
    const r = await exchange({ method: 'GET', path: `/${POLICY_BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`, anonymous: true, fresh: true });
    const live = await probe;
    expectError(t, r, `anonymous GET of a ${key.length}-byte key built to backtrack`, ['AccessDenied']);
    t.ok(r.ms < 3000, `answered in ${r.ms} ms`);
    t.ok(live.status === 200 && live.ms < 3000, `a health probe meanwhile: ${live.status} in ${live.ms} ms`);
  }
  const ua = await exchange({ method: 'GET', path: `/${POLICY_BUCKET}/ua/k`, anonymous: true, fresh: true, headers: { 'user-agent': 'a'.repeat(1800), referer: '?'.repeat(1000) } });
  expectError(t, ua, 'anonymous GET with a User-Agent built to backtrack', ['AccessDenied', 'NoSuchKey']);
  t.ok(ua.ms < 3000, `answered in ${ua.ms} ms`);
});

t.test('policy source-IP ranges that would read as "anywhere" are refused', async (t) => {
  const policy = subs().find((s) => s.json)!;
  for (const cidr of ['127.0.0.0/', '127.0.0.0/ ', '127.0.0.0/8/junk', '127.0.0.0/0x8', '127.0.0.0/1e1', '::1/', '127.0.0.1/33']) {
    const r = await hostilePut(policy, policy.good.replace('127.0.0.0/8', cidr));
    t.same(r.problems, [], `aws:SourceIp ${JSON.stringify(cidr)}: ${r.status} ${r.code ?? ''}`);
    t.equal(r.code, 'MalformedPolicy', `aws:SourceIp ${JSON.stringify(cidr)}: MalformedPolicy`);
  }
});

t.test('oversized, empty and odd-encoding documents per parser', async (t) => {
  for (const s of subs()) {
    const root = s.json ? 'x' : /^<(\w+)/.exec(s.good)![1]!;
    const pad = (n: number): string => (s.json ? s.good.replace(/^\{/, `{"Sid0":"${'p'.repeat(n)}",`) : s.good.replace(`</${root}>`, `<!--${'p'.repeat(n)}--></${root}>`));
    const cases: Array<[string, Buffer | string]> = [
      ['empty', ''],
      ['whitespace', ' \n\t '],
      ['a BOM only', '\ufeff'],
      ['an XML declaration only', '<?xml version="1.0" encoding="UTF-8"?>'],
      ['one byte past the limit', pad(s.limit + 1 - s.good.length)],
      ['4× the limit', pad(4 * s.limit)],
      ['UTF-16 with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s.good, 'utf16le')])],
      ['declared ISO-8859-1 with Latin-1 bytes', Buffer.concat([Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?>'), Buffer.from(withFirstText(s.good, 'caf\u00e9'), 'latin1')])],
      ['an overlong UTF-8 NUL', Buffer.concat([Buffer.from(s.good.slice(0, s.good.indexOf('>') + 1)), Buffer.from([0xc0, 0x80]), Buffer.from(s.good.slice(s.good.indexOf('>') + 1))])],
      ['a NUL byte', s.good.replace('>', '>\u0000')],
      ['a character reference to NUL', withFirstText(s.good, '&#0;')],
    ];
    for (const [what, body] of cases) {
      const r = await hostilePut(s, body);
      t.same(r.problems, [], `${s.name}, ${what}: ${r.status} ${r.code ?? ''}`);
    }
  }
});

t.test('ListBuckets paging and GetObjectAttributes paging at their edges', async (t) => {
  const all = await exchange({ method: 'GET', path: '/' });
  const names = [...all.body.toString().matchAll(/<Name>([^<]+)<\/Name>/g)].map((m) => m[1]!);
  const paged: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < 20; page++) {
    const r = await exchange({ method: 'GET', path: '/', query: `max-buckets=1${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}` });
    t.same(answerProblems(r), [], `page ${page}: a valid answer`);
    paged.push(...[...r.body.toString().matchAll(/<Name>([^<]+)<\/Name>/g)].map((m) => m[1]!));
    token = /<ContinuationToken>([^<]+)<\/ContinuationToken>/.exec(r.body.toString())?.[1];
    if (token === undefined) break;
  }
  t.same(paged, names, `max-buckets=1 pages through all ${names.length} buckets once each`);
  // An empty one is none, as S3 reads it (aws-recorded-answers.test.ts).
  for (const max of ['0', '10001', '-1', '1e3', 'abc', '9007199254740993', '1.0', ' 1', '%00']) {
    expectError(t, await exchange({ method: 'GET', path: '/', query: `max-buckets=${encodeURIComponent(max)}` }), `max-buckets=${JSON.stringify(max)}`, ['InvalidArgument']);
  }
  const tokens: Array<[string, boolean]> = [
    ['', true],
    ['!!', false],
    [Buffer.from('hostile-list-a').toString('base64'), false],
    [Buffer.from('..').toString('base64url'), false],
    [Buffer.from('\u0000').toString('base64url'), false],
    [Buffer.from('zz-not-a-bucket-yet').toString('base64url'), true],
  ];
  for (const [tok, ok] of tokens) {
    const r = await exchange({ method: 'GET', path: '/', query: `continuation-token=${encodeURIComponent(tok)}` });
    if (ok) t.same(answerProblems(r), [], `continuation-token ${JSON.stringify(tok)}: ${r.status}`);
    else expectError(t, r, `continuation-token ${JSON.stringify(tok)}`, ['InvalidArgument']);
  }
  for (const prefix of ['\u0001', '\uffff', '<&>', 'x'.repeat(4000), '\u{1F525}']) {
    const r = await exchange({ method: 'GET', path: '/', query: `prefix=${encodeURIComponent(prefix)}` });
    t.same(answerProblems(r), [], `prefix ${JSON.stringify(prefix.slice(0, 10))}: ${r.status}`);
  }

  const attrs = (headers: Record<string, string>): Promise<Answer> => exchange({ method: 'GET', path: `/${BUCKET}/mp`, query: 'attributes=', headers: { 'x-amz-object-attributes': 'ObjectParts,ETag', ...headers } });
  for (const [what, headers, status] of [
    ['max-parts 0', { 'x-amz-max-parts': '0' }, 200],
    ['marker at the last 32-bit value', { 'x-amz-part-number-marker': '2147483647' }, 200],
    ['marker past 32 bits', { 'x-amz-part-number-marker': '2147483648' }, 400],
    // A max-parts that is no count is ignored, as S3 ignores it (the default page of 1,000).
    ['max-parts past 32 bits', { 'x-amz-max-parts': '4294967296' }, 200],
    ['negative max-parts', { 'x-amz-max-parts': '-1' }, 200],
    ['max-parts 1e3', { 'x-amz-max-parts': '1e3' }, 200],
    ['1000 attribute names', { 'x-amz-object-attributes': Array.from({ length: 1000 }, () => 'ETag').join(',') }, 200],
    ['an unknown attribute', { 'x-amz-object-attributes': 'ETag,Owner' }, 400],
    ['only commas', { 'x-amz-object-attributes': ',,,' }, 400],
  ] as Array<[string, Record<string, string>, number]>) {
    const r = await attrs(headers);
    t.equal(r.status, status, `GetObjectAttributes, ${what}: ${r.status} ${errorCode(r.body) ?? ''}`);
    t.same(answerProblems(r), [], `GetObjectAttributes, ${what}: a valid answer`);
  }
});

t.test('afterwards: configurations intact, daemon healthy, log clean', afterwards);
