// Shared by the hostile sub-resource suites (prod-hostile-config-handpicked and -fuzz): one real
// daemon with a webhook notification target, a canary no request may reach, the configurations
// under test (a known-good document each, and how it is read back), one hostile PUT with
// everything checked after it (a refused PUT leaves the stored configuration byte-identical; an
// accepted one reads back, PUTs back unchanged and is replaced by the known-good one again), and
// the setup and final checks of both suites.

import type { Test } from 'tap';
import { XMLValidator } from 'fast-xml-parser';
import { Agent } from 'node:http';
import { startDaemon, testBytes, type TestDaemon } from './daemon.js';
import { errorCode } from './http.js';
import { answerProblems, errorProblems, exchange as hostileExchange, recorder, type Answer, type Recorder, type Req as HostileReq } from './hostile.js';
import { pollUntil } from './wait.js';

/** Sizes. */
export const KiB = 1024;
export const MiB = 1024 * KiB;
const REQUEST_TIMEOUT_MS = 15_000;

// ---- local servers: a canary no request may ever reach (external entities and DTDs), and the
// webhook target notifications need (answers 200 to everything).

/** The daemon and the canary no request may reach (set by `start`). */
export let d: TestDaemon;
export let canary: Recorder;
let webhook: Recorder;
let agent: Agent;
/** The buckets: the configurations' own, one for a policy's wildcards, one without CORS. */
export const BUCKET = 'hostile-cfg';
export const POLICY_BUCKET = 'hostile-pol';
export const NO_CORS_BUCKET = 'hostile-nocors';

/** Starts the canary, the webhook target, the daemon and the kept-alive connection (each suite's t.before). */
export async function start(): Promise<void> {
  canary = await recorder();
  webhook = await recorder();
  d = await startDaemon({ env: { S3_NOTIFY_WEBHOOK_ENABLE_T: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_T: `http://127.0.0.1:${webhook.port}/hook` } });
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
}

/** Stops them again (t.teardown). */
export async function stop(): Promise<void> {
  agent.destroy();
  await d.stop('SIGKILL');
  d.cleanup();
  canary.server.close();
  webhook.server.close();
}

// ---- requests

/** A request of the suites. */
export interface Req extends HostileReq {
  /** Default: the shared kept-alive agent; true: a fresh connection. */
  fresh?: boolean;
}

/** One request, signed unless anonymous, with a deadline. */
export function exchange(o: Req): Promise<Answer> {
  return hostileExchange(d.port, o.fresh ? false : agent, o, REQUEST_TIMEOUT_MS);
}

/** Asserts a well-formed S3 error (with one of `codes`). */
export function expectError(t: Test, r: Answer, what: string, codes?: readonly string[]): void {
  t.same(errorProblems(r), [], `${what}: a well-formed S3 error (${r.status} ${errorCode(r.body) ?? ''})`);
  if (codes) t.ok(codes.includes(errorCode(r.body) ?? ''), `${what}: code ${errorCode(r.body)} (want ${codes.join(' or ')})`);
}

// ---- the configurations under test: a known-good document each, and how it is read back.

/** A configuration under test. */
export interface Sub {
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

/** The configurations under test, each with a known-good document. */
export function subs(): Sub[] {
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
export async function hostilePut(s: Sub, body: Buffer | string, extraHeaders: Record<string, string> = {}): Promise<{ problems: string[]; status: number; code: string | undefined }> {
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

// ---- setup and the end

const objBody = testBytes(3000, 11);

/** The body of each suite's setup subtest: buckets, objects and known-good configurations. */
export async function setup(t: Test): Promise<void> {
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
}

/** The body of each suite's last subtest: configurations intact, daemon healthy, log clean. */
export async function afterwards(t: Test): Promise<void> {
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
}

// ---- documents both suites send

/** A billion-laughs DTD. */
export const LAUGHS_DTD =
  '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">' +
  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">' +
  '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">' +
  '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">' +
  '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>';
