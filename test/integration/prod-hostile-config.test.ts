// Hostile input for the bucket and object sub-resources added after prod-hostile.test.ts: lifecycle,
// CORS documents and preflights, notifications, tagging, bucket policies, GetObjectAttributes,
// versionId, ListBuckets paging, the configurations s3d reads as absent, and the write options it
// refuses. Hand-picked nasty documents per parser first (external entities and DTDs that must never
// be fetched, entity expansion, two root elements, stored values that would split a response, a
// policy wildcard that backtracks), then a seeded, bounded fuzzer. Every answer is a well-formed S3
// XML error with a 4xx status (501 only as NotImplemented) or a valid 2xx, within a deadline, and
// the kept-alive connection serves the next request; a refused PUT leaves the stored
// configuration byte-identical; the daemon ends healthy, with flat memory and no error lines.

import t, { type Test } from 'tap';
import { XMLValidator } from 'fast-xml-parser';
import { Agent } from 'node:http';
import { prng, rssKiB, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { errorCode } from '../helpers/http.js';
import { answerProblems, errorProblems, exchange as hostileExchange, recorder, type Answer, type Recorder, type Req as HostileReq } from '../helpers/hostile.js';
import { pollUntil, sleep } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const REQUEST_TIMEOUT_MS = 15_000;
const FUZZ_SEED = 0xc0f16;
const FUZZ_CASES = 3000;
const FUZZ_BUDGET_MS = 20_000;

// ---- local servers: a canary no request may ever reach (external entities and DTDs), and the
// webhook target notifications need (answers 200 to everything).

let d: TestDaemon;
let canary: Recorder;
let webhook: Recorder;
let agent: Agent;
const BUCKET = 'hostile-cfg';
const POLICY_BUCKET = 'hostile-pol';
const NO_CORS_BUCKET = 'hostile-nocors';

t.before(async () => {
  canary = await recorder();
  webhook = await recorder();
  d = await startDaemon({ env: { S3_NOTIFY_WEBHOOK_ENABLE_T: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_T: `http://127.0.0.1:${webhook.port}/hook` } });
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
});
t.teardown(async () => {
  agent.destroy();
  await d.stop('SIGKILL');
  d.cleanup();
  canary.server.close();
  webhook.server.close();
});

// ---- requests

interface Req extends HostileReq {
  /** Default: the shared kept-alive agent; true: a fresh connection. */
  fresh?: boolean;
}

/** One request, signed unless anonymous, with a deadline. */
function exchange(o: Req): Promise<Answer> {
  return hostileExchange(d.port, o.fresh ? false : agent, o, REQUEST_TIMEOUT_MS);
}

function expectError(t: Test, r: Answer, what: string, codes?: readonly string[]): void {
  t.same(errorProblems(r), [], `${what}: a well-formed S3 error (${r.status} ${errorCode(r.body) ?? ''})`);
  if (codes) t.ok(codes.includes(errorCode(r.body) ?? ''), `${what}: code ${errorCode(r.body)} (want ${codes.join(' or ')})`);
}

// ---- the configurations under test: a known-good document each, and how it is read back.

interface Sub {
  name: string;
  path: string;
  query: string;
  /** A document s3d accepts; set before the hostile ones and compared after each. */
  good: string;
  /** Its body limit (hostile bodies go a little past it). */
  limit: number;
  json?: boolean;
  /** A configuration s3d does not keep (absent-config.ts): GET answers the same whatever PUT did. */
  absent?: boolean;
}

function subs(): Sub[] {
  const webhookArn = 'arn:minio:sqs::T:webhook';
  return [
    {
      name: 'lifecycle',
      path: `/${BUCKET}`,
      query: 'lifecycle=',
      limit: MiB,
      good:
        '<LifecycleConfiguration><Rule><ID>logs</ID><Filter><And><Prefix>logs/</Prefix><Tag><Key>class</Key><Value>tmp</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>100000</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>' +
        '<Rule><ID>uploads</ID><Filter><Prefix>up/</Prefix></Filter><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>',
    },
    {
      name: 'cors',
      path: `/${BUCKET}`,
      query: 'cors=',
      limit: 64 * KiB,
      good:
        '<CORSConfiguration><CORSRule><ID>app</ID><AllowedHeader>x-amz-*</AllowedHeader><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedOrigin>https://*.example.com</AllowedOrigin><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>' +
        '<CORSRule><AllowedMethod>HEAD</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>',
    },
    {
      name: 'notification',
      path: `/${BUCKET}`,
      query: 'notification=',
      limit: 256 * KiB,
      good: `<NotificationConfiguration><QueueConfiguration><Id>n1</Id><Filter><S3Key><FilterRule><Name>prefix</Name><Value>in/</Value></FilterRule><FilterRule><Name>suffix</Name><Value>.csv</Value></FilterRule></S3Key></Filter><Event>s3:ObjectCreated:*</Event><Queue>${webhookArn}</Queue></QueueConfiguration></NotificationConfiguration>`,
    },
    {
      name: 'bucket tagging',
      path: `/${BUCKET}`,
      query: 'tagging=',
      limit: 64 * KiB,
      good: '<Tagging><TagSet><Tag><Key>team</Key><Value>storage</Value></Tag><Tag><Key>cost center</Key><Value> 42 </Value></Tag></TagSet></Tagging>',
    },
    {
      name: 'object tagging',
      path: `/${BUCKET}/obj`,
      query: 'tagging=',
      limit: 64 * KiB,
      good: '<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>',
    },
    {
      name: 'policy',
      path: `/${BUCKET}`,
      query: 'policy=',
      limit: 20 * KiB,
      json: true,
      good: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'read', Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${BUCKET}/public/*`], Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } },
          { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: `arn:aws:s3:::${BUCKET}/public/secret*` },
        ],
      }),
    },
    { name: 'logging', path: `/${BUCKET}`, query: 'logging=', limit: 64 * KiB, absent: true, good: '<BucketLoggingStatus xmlns="http://doc.s3.amazonaws.com/2006-03-01"/>' },
    { name: 'accelerate', path: `/${BUCKET}`, query: 'accelerate=', limit: 64 * KiB, absent: true, good: '<AccelerateConfiguration><Status>Suspended</Status></AccelerateConfiguration>' },
    { name: 'requestPayment', path: `/${BUCKET}`, query: 'requestPayment=', limit: 64 * KiB, absent: true, good: '<RequestPaymentConfiguration><Payer>BucketOwner</Payer></RequestPaymentConfiguration>' },
  ];
}

/** The stored configuration as GET returns it. */
async function readBack(s: Sub): Promise<Answer> {
  return exchange({ method: 'GET', path: s.path, query: s.query });
}

const baseline = new Map<string, Buffer>();

async function putGood(t: Test, s: Sub): Promise<void> {
  const r = await exchange({ method: 'PUT', path: s.path, query: s.query, body: s.good });
  t.ok(r.status === 200 || r.status === 204, `${s.name}: the known-good document is accepted (${r.status} ${errorCode(r.body) ?? ''})`);
  const back = await readBack(s);
  t.equal(back.status, 200, `${s.name}: read back`);
  baseline.set(s.name, back.body);
}

/**
 * Sends one hostile PUT and checks everything that must hold after it; returns the problems ([]
 * when none). Refused: a well-formed error, and the stored configuration is byte-identical.
 * Accepted: what is stored reads back, PUTs back unchanged, and the known-good one is restored.
 */
async function hostilePut(s: Sub, body: Buffer | string, extraHeaders: Record<string, string> = {}): Promise<{ problems: string[]; status: number; code: string | undefined }> {
  const problems: string[] = [];
  let r: Answer;
  try {
    r = await exchange({ method: 'PUT', path: s.path, query: s.query, body, headers: extraHeaders });
  } catch (err) {
    return { problems: [(err as Error).message], status: 0, code: undefined };
  }
  const code = errorCode(r.body);
  problems.push(...answerProblems(r).map((p) => `answer: ${p}`));
  let back: Answer;
  try {
    back = await readBack(s);
  } catch (err) {
    return { problems: [...problems, `read-back: ${(err as Error).message}`], status: r.status, code };
  }
  const closed = r.headers.connection === 'close';
  if (!closed && back.connection !== r.connection) problems.push('the kept-alive connection did not carry the next request');
  if (back.status !== 200) problems.push(`read-back: HTTP ${back.status} ${errorCode(back.body) ?? ''}`);
  if (r.status >= 300 || s.absent) {
    if (!back.body.equals(baseline.get(s.name)!)) problems.push(`${r.status >= 300 ? `refused (${r.status} ${code})` : 'not kept'} but the stored configuration changed: ${back.body.toString().slice(0, 200)}`);
  } else {
    // Accepted: valid, stable and re-usable; then the known-good document again.
    if (!s.json && XMLValidator.validate(back.body.toString()) !== true) problems.push('accepted, reads back as malformed XML');
    if (s.json) {
      try {
        JSON.parse(back.body.toString());
      } catch {
        problems.push('accepted, reads back as invalid JSON');
      }
    }
    const again = await exchange({ method: 'PUT', path: s.path, query: s.query, body: back.body });
    if (again.status >= 300) problems.push(`accepted, but its read-back is refused when PUT again (${again.status} ${errorCode(again.body)})`);
    const second = await readBack(s);
    if (!second.body.equals(back.body)) problems.push('accepted, but PUT of its read-back stores something else');
    const restore = await exchange({ method: 'PUT', path: s.path, query: s.query, body: s.good });
    const restored = await readBack(s);
    if (restore.status >= 300 || !restored.body.equals(baseline.get(s.name)!)) problems.push('could not restore the known-good configuration');
  }
  return { problems, status: r.status, code };
}

// ---- setup shared by the subtests

const objBody = testBytes(3000, 11);

t.test('setup: buckets, objects and known-good configurations', async (t) => {
  for (const b of [BUCKET, POLICY_BUCKET, NO_CORS_BUCKET, 'hostile-list-a', 'hostile-list-b', 'hostile-list-c']) {
    t.equal((await exchange({ method: 'PUT', path: `/${b}` })).status, 200, `bucket ${b}`);
  }
  t.equal((await exchange({ method: 'PUT', path: `/${BUCKET}/obj`, body: objBody })).status, 200, 'an object');
  // A one-part multipart object: GetObjectAttributes pages its parts.
  const up = await exchange({ method: 'POST', path: `/${BUCKET}/mp`, query: 'uploads=' });
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(up.body.toString())![1]!;
  const q = `uploadId=${encodeURIComponent(uploadId)}`;
  const part = await exchange({ method: 'PUT', path: `/${BUCKET}/mp`, query: `partNumber=1&${q}`, body: testBytes(5000, 12) });
  const done = await exchange({ method: 'POST', path: `/${BUCKET}/mp`, query: q, body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.etag}</ETag></Part></CompleteMultipartUpload>` });
  t.equal(done.status, 200, 'a multipart object');
  for (const s of subs()) await putGood(t, s);
});

// ---- hand-picked documents

const LAUGHS_DTD =
  '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">' +
  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">' +
  '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">' +
  '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">' +
  '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>';

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
  for (const max of ['0', '10001', '-1', '1e3', '', 'abc', '9007199254740993', '1.0', ' 1', '%00']) {
    expectError(t, await exchange({ method: 'GET', path: '/', query: `max-buckets=${encodeURIComponent(max)}` }), `max-buckets=${JSON.stringify(max)}`, ['InvalidArgument']);
  }
  const tokens: Array<[string, boolean]> = [
    ['', false],
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
    ['max-parts past 32 bits', { 'x-amz-max-parts': '4294967296' }, 400],
    ['negative max-parts', { 'x-amz-max-parts': '-1' }, 400],
    ['max-parts 1e3', { 'x-amz-max-parts': '1e3' }, 400],
    ['1000 attribute names', { 'x-amz-object-attributes': Array.from({ length: 1000 }, () => 'ETag').join(',') }, 200],
    ['an unknown attribute', { 'x-amz-object-attributes': 'ETag,Owner' }, 400],
    ['only commas', { 'x-amz-object-attributes': ',,,' }, 400],
  ] as Array<[string, Record<string, string>, number]>) {
    const r = await attrs(headers);
    t.equal(r.status, status, `GetObjectAttributes, ${what}: ${r.status} ${errorCode(r.body) ?? ''}`);
    t.same(answerProblems(r), [], `GetObjectAttributes, ${what}: a valid answer`);
  }
});

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

/** Open-tag positions of a document's elements with a matching close tag (no same-name nesting in these documents). */
function elements(doc: string): Array<{ name: string; start: number; end: number }> {
  const out: Array<{ name: string; start: number; end: number }> = [];
  for (const m of doc.matchAll(/<([A-Za-z][\w:.-]*)(\s[^>]*)?>/g)) {
    const close = doc.indexOf(`</${m[1]}>`, m.index);
    if (close > 0) out.push({ name: m[1]!, start: m.index, end: close + m[1]!.length + 3 });
  }
  return out;
}

function texts(doc: string): Array<{ start: number; end: number }> {
  return [...doc.matchAll(/>([^<]+)</g)].map((m) => ({ start: m.index + 1, end: m.index + 1 + m[1]!.length }));
}

function splice(doc: string, start: number, end: number, insert: string): string {
  return doc.slice(0, start) + insert + doc.slice(end);
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
      if (kind === 'preflight' && r.status !== 200 && r.status !== 403 && req.headers?.['access-control-request-method'] !== undefined && req.headers.origin !== undefined) {
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
  t.ok(done >= Math.min(FUZZ_CASES, 300), `${done} cases run`);
  t.same(problems.slice(0, 25), [], `no problem in ${done} cases (${problems.length} in all)`);
  t.equal(d.proc.exitCode, null, 'the daemon survived');
  await sleep(300);
  const endRss = rssKiB(d.proc.pid!);
  t.comment(`RSS ${Math.round(warmRss / 1024)} → ${Math.round(endRss / 1024)} MiB over the fuzzer`);
  t.ok(endRss < warmRss * 1.5 + 96 * 1024, `RSS stayed bounded (${warmRss} → ${endRss} KiB)`);
});

t.test('afterwards: configurations intact, daemon healthy, log clean', async (t) => {
  for (const s of subs()) {
    const back = await readBack(s);
    t.ok(back.body.equals(baseline.get(s.name)!), `${s.name}: still the known-good configuration`);
  }
  const obj = await exchange({ method: 'GET', path: `/${BUCKET}/obj` });
  t.ok(obj.status === 200 && obj.body.equals(objBody), 'the object reads back byte-identical');
  // The notification configuration still works: a matching write reaches the webhook.
  const before = webhook.requests.length;
  t.equal((await exchange({ method: 'PUT', path: `/${BUCKET}/in/after.csv`, body: 'a,b' })).status, 200, 'a write the notification rule matches');
  const seen = await pollUntil(() => webhook.requests.length, (n) => n > before, 5000, 50);
  t.ok(seen > before, `its event reached the webhook (${seen - before} request(s))`);
  const live = await exchange({ method: 'GET', path: '/minio/health/live', fresh: true });
  t.equal(live.status, 200, 'GET /minio/health/live: 200');
  t.equal(d.proc.exitCode, null, 'the process has not exited');
  t.equal(d.proc.signalCode, null, 'and was not killed');
  t.same(canary.requests, [], 'no external entity or DTD was ever fetched');
  const errors = d.jsonLogs().filter((l) => typeof l.level === 'number' && l.level >= 50);
  t.same(errors.slice(0, 3), [], `no error-level log lines (${errors.length})`);
  const warnings = d.jsonLogs().filter((l) => l.level === 40);
  t.comment(`log: ${d.logs.length} lines, ${warnings.length} warnings ${JSON.stringify([...new Set(warnings.map((l) => l.msg))])}`);
  const stacks = d.logs.filter((l) => /\n\s+at |^\s+at \S+ \(|"stack":/.test(l));
  t.same(stacks.slice(0, 3), [], `no stack traces in the log (${stacks.length})`);
});
