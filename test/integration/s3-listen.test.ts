// ListenBucketNotification / ListenNotification, MinIO's event streams (mc watch, minio-js
// listenBucketNotification, minio-go): against the real daemon, with minio-js and with raw signed
// requests read line by line. Checks the events (names, keys, sizes, version ids, filters), the
// stream's shape (chunked, a space every 500 ms or `{"Records":null}` with ping=N, alive past the
// 10 s idle close), refusals that change nothing, users' permission, that a listener which goes
// away is forgotten (s3d_notify_listeners), S3_LISTEN_MAX and its shares (per user, unsigned and
// per unsigned client network, root's, first streams'), that no way of ending a stream leaks its
// place, and that SIGTERM ends open streams at once.

import t from 'tap';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Test } from 'tap';
import { request, type IncomingMessage } from 'node:http';
import { CreateBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, DeleteBucketPolicyCommand, PutBucketPolicyCommand, DeleteObjectTaggingCommand, GetObjectCommand, HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand, PutObjectTaggingCommand, CopyObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { bucketName, prng, startDaemon, startDaemonFor } from '../helpers/daemon.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { buildHeaders, errorCode, type SignOptions, xmlField } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
import { bodyBytes, createBucket, s3Code } from '../helpers/s3.js';
import { pollUntil, sleep } from '../helpers/wait.js';

/** Waits until `cond` holds (polling every 50 ms); throws (failing the test) after `ms`. */
async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  if (!(await pollUntil(cond, (v) => v, ms, 50))) throw new Error(`condition not met within ${ms} ms: ${cond.toString()}`);
}

interface Rec {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; versionId?: string } };
}

/** An open listen request: every byte received, the JSON lines parsed as they complete. */
interface Stream {
  res: IncomingMessage;
  text(): string;
  records(): Rec[];
  ended: Promise<void>;
  close(): void;
}

/** `from`: the local address the connection comes from (another address of this machine, such as 127.0.0.2: another client). */
function openStream(port: number, path: string, query: string, sign?: SignOptions | false, extra?: Record<string, string>, from?: string): Promise<Stream | { status: number; body: string }> {
  const headers = buildHeaders(port, { method: 'GET', path, query, ...(sign !== undefined ? { sign } : {}), ...(extra ? { headers: extra } : {}) });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path: `${path}?${query}`, headers, agent: false, ...(from !== undefined ? { localAddress: from } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      const ended = new Promise<void>((r) => {
        res.on('end', () => r());
        res.on('close', () => r());
      });
      res.on('data', (c: Buffer) => chunks.push(c));
      if (res.statusCode !== 200) {
        void ended.then(() => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        return;
      }
      const text = (): string => Buffer.concat(chunks).toString();
      resolve({
        res,
        text,
        records: () =>
          text()
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l.startsWith('{'))
            .flatMap((l) => ((JSON.parse(l) as { Records: Rec[] | null }).Records ?? [])),
        ended,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function open(t: Test, port: number, path: string, query: string, sign?: SignOptions | false, extra?: Record<string, string>, from?: string): Promise<Stream> {
  const s = await openStream(port, path, query, sign, extra, from);
  if (!('res' in s)) throw new Error(`listen answered ${s.status}: ${s.body}`);
  t.teardown(() => s.close());
  return s;
}

const summary = (r: Rec): string => `${r.eventName} ${r.s3.bucket.name}/${decodeURIComponent(r.s3.object.key.replace(/\+/g, ' '))}`;

async function listeners(port: number): Promise<number> {
  return metricSample(await scrape(`http://127.0.0.1:${port}`), 's3d_notify_listeners') ?? Number.NaN;
}

const d = await startDaemonFor(t);
const s3: S3Client = d.s3();
const put = (Bucket: string, Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket, Key, Body }));

t.test('minio-js listenBucketNotification: created, accessed and removed events, filtered by prefix and suffix', async (t) => {
  const bucket = await createBucket(s3, 'listen');
  const mc = minioClient(d);
  const poller = mc.listenBucketNotification(bucket, 'photos/', '.jpg', ['s3:ObjectCreated:*', 's3:ObjectRemoved:*', 's3:ObjectAccessed:*']);
  const got: Rec[] = [];
  poller.on('notification', (r) => got.push(r as Rec));
  t.teardown(() => poller.stop());
  await waitFor(async () => (await listeners(d.port)) >= 1, 5000);
  await put(bucket, 'photos/a b.jpg', 'jpeg bytes');
  await put(bucket, 'photos/skip.png', 'png');
  await put(bucket, 'docs/c.jpg', 'other prefix');
  // Refused reads are not accesses: no event for them.
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'photos/a b.jpg', Range: 'bytes=100-200' }))), 'InvalidRange/416', 'a range past the end: 416');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'photos/a b.jpg', PartNumber: 3 }))), 'InvalidPartNumber/416', 'a part that does not exist: 416, as S3 answers');
  t.match(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'photos/a b.jpg', IfMatch: '"0123"' }))), /\/412$/, 'a HEAD whose If-Match fails');
  await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'photos/a b.jpg' })));
  await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'photos/a b.jpg' }));
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'photos/copy.jpg', CopySource: `${bucket}/photos/a%20b.jpg` }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'photos/a b.jpg' }));
  await waitFor(() => got.length >= 5, 5000);
  t.same(
    got.map(summary),
    [
      `s3:ObjectCreated:Put ${bucket}/photos/a b.jpg`,
      `s3:ObjectAccessed:Get ${bucket}/photos/a b.jpg`,
      `s3:ObjectAccessed:Head ${bucket}/photos/a b.jpg`,
      `s3:ObjectCreated:Copy ${bucket}/photos/copy.jpg`,
      `s3:ObjectRemoved:Delete ${bucket}/photos/a b.jpg`,
    ],
    'the five matching events, in order; the .png and the other prefix are filtered out',
  );
  t.equal(got[0]!.s3.object.size, 10, 'the created event carries the size');
  t.match(got[0]!.s3.object.eTag, /^[0-9a-f]{32}$/, 'and the ETag');
  t.equal(got[0]!.s3.object.key, 'photos%2Fa+b.jpg', "the key is query-escaped, as MinIO's events have it");
});

t.test('a raw listen stream: chunked text/event-stream, a space every 500 ms, events as JSON lines, alive past the idle close', async (t) => {
  const bucket = await createBucket(s3, 'listen-raw');
  const s = await open(t, d.port, `/${bucket}`, 'events=s3%3AObjectCreated%3APut');
  t.equal(s.res.headers['content-type'], 'text/event-stream');
  t.equal(s.res.headers['transfer-encoding'], 'chunked', 'chunked: no length is promised');
  await sleep(1600);
  t.ok(/^ {2,}$/.test(s.text()), `only keep-alive spaces while nothing happens (${JSON.stringify(s.text())})`);
  await put(bucket, 'k1', 'v1');
  await waitFor(() => s.records().length === 1, 5000);
  t.same(s.records().map(summary), [`s3:ObjectCreated:Put ${bucket}/k1`]);
  t.match(s.text(), /\{"Records":\[\{"eventVersion":"2\.0","eventSource":"minio:s3"[^\n]*\}\]\}\n/, 'one {"Records":[…]} line per event');
  // uWS closes idle connections after 10 s: a listener that only receives must outlive that.
  await sleep(11_000);
  t.equal(s.res.complete, false, 'still open after 12 s');
  await put(bucket, 'k2', 'v2');
  await waitFor(() => s.records().length === 2, 5000);
  t.same(s.records().map(summary), [`s3:ObjectCreated:Put ${bucket}/k1`, `s3:ObjectCreated:Put ${bucket}/k2`], 'events still arrive after the idle timeout');
});

t.test('ping=1: an empty {"Records":null} line every second instead of spaces', async (t) => {
  const bucket = await createBucket(s3, 'listen-ping');
  const s = await open(t, d.port, `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A&ping=1');
  await sleep(2300);
  const lines = s.text().split('\n').filter((l) => l !== '');
  t.ok(lines.length >= 2, `at least two ping lines in 2.3 s (${lines.length})`);
  t.ok(lines.every((l) => l === '{"Records":null}'), 'each is {"Records":null}');
  t.notOk(s.text().includes(' '), 'no spaces with ping');
});

t.test('versioned bucket: delete markers and removed versions carry their version ids; several listeners each get every event', async (t) => {
  const bucket = await createBucket(s3, 'listen-ver');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const a = await open(t, d.port, `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A&events=s3%3AObjectRemoved%3A%2A');
  const b = await open(t, d.port, `/${bucket}`, 'events=s3%3AObjectRemoved%3ADeleteMarkerCreated');
  const v1 = (await put(bucket, 'doc', 'one')).VersionId!;
  const marker = (await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doc' }))).VersionId!;
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: v1 }));
  await waitFor(() => a.records().length >= 3 && b.records().length >= 1, 5000);
  t.same(
    a.records().map((r) => `${r.eventName} ${r.s3.object.versionId}`),
    [`s3:ObjectCreated:Put ${v1}`, `s3:ObjectRemoved:DeleteMarkerCreated ${marker}`, `s3:ObjectRemoved:Delete ${v1}`],
  );
  t.same(b.records().map((r) => `${r.eventName} ${r.s3.object.versionId}`), [`s3:ObjectRemoved:DeleteMarkerCreated ${marker}`], 'the second listener only its event');
});

t.test('a suspended bucket: the null version is named "null", written and read, as MinIO streams it', async (t) => {
  const bucket = await createBucket(s3, 'listen-susp');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
  const s = await open(t, d.port, `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A&events=s3%3AObjectAccessed%3AGet');
  await put(bucket, 'doc', 'one');
  await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'doc' })));
  await waitFor(() => s.records().length >= 2, 5000);
  t.same(s.records().map((r) => `${r.eventName} ${r.s3.object.versionId}`), ['s3:ObjectCreated:Put null', 's3:ObjectAccessed:Get null']);
});

t.test("tag changes go to listeners by MinIO's names, s3:ObjectCreated:PutTagging and :DeleteTagging, which s3:ObjectCreated:* covers", async (t) => {
  const bucket = await createBucket(s3, 'listen-tags');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const all = await open(t, d.port, `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A');
  const untag = await open(t, d.port, `/${bucket}`, 'events=s3%3AObjectCreated%3ADeleteTagging');
  const v1 = (await put(bucket, 'doc', 'one')).VersionId!;
  await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'doc', Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] } }));
  t.equal(await s3Code(s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'nope', Tagging: { TagSet: [] } }))), 'NoSuchKey/404', 'a refused request');
  await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'doc', VersionId: v1 }));
  await waitFor(() => all.records().length >= 3 && untag.records().length >= 1, 5000);
  await sleep(300);
  t.same(
    all.records().map((r) => `${r.eventName} ${r.s3.object.key} ${r.s3.object.versionId}`),
    [`s3:ObjectCreated:Put doc ${v1}`, `s3:ObjectCreated:PutTagging doc ${v1}`, `s3:ObjectCreated:DeleteTagging doc ${v1}`],
    'as MinIO streams them; nothing for the refused request',
  );
  t.same(untag.records().map((r) => r.eventName), ['s3:ObjectCreated:DeleteTagging']);
});

t.test('GET /?events= listens to every bucket', async (t) => {
  const b1 = await createBucket(s3, 'listen-all');
  const b2 = await createBucket(s3, 'listen-all');
  const s = await open(t, d.port, '/', 'events=s3%3AObjectCreated%3A%2A&prefix=x');
  await put(b1, 'x1', '1');
  await put(b2, 'x2', '2');
  await put(b2, 'y', 'filtered');
  await waitFor(() => s.records().length >= 2, 5000);
  await sleep(200);
  t.same(s.records().map(summary).sort(), [`s3:ObjectCreated:Put ${b1}/x1`, `s3:ObjectCreated:Put ${b2}/x2`].sort());
});

t.test('refusals: clear S3 errors, no stream opened', async (t) => {
  const bucket = await createBucket(s3, 'listen-bad');
  const cases: Array<[string, string, string, number, SignOptions | false | undefined]> = [
    ['no events', `/${bucket}`, 'events=', 400, undefined],
    ['an event s3d never sends', `/${bucket}`, 'events=s3%3AObjectAccessed%3AGetRetention', 400, undefined],
    ['an unknown event', `/${bucket}`, 'events=s3%3ANope', 400, undefined],
    ["S3's tagging event (listeners take MinIO's names)", `/${bucket}`, 'events=s3%3AObjectTagging%3APut', 400, undefined],
    ['two prefixes', `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A&prefix=a&prefix=b', 400, undefined],
    ['ping=0', `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A&ping=0', 400, undefined],
    ['ping=abc', `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A&ping=abc', 400, undefined],
    ['a missing bucket', `/${bucketName('listen-none')}`, 'events=s3%3AObjectCreated%3A%2A', 404, undefined],
    ['anonymous', `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A', 403, false],
    ['a wrong secret', `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A', 403, { secretAccessKey: 'wrong-secret-key' }],
  ];
  for (const [what, path, query, status, sign] of cases) {
    const r = await openStream(d.port, path, query, sign);
    if ('res' in r) {
      r.close();
      t.fail(`${what}: a stream was opened`);
      continue;
    }
    t.equal(r.status, status, `${what} → ${status}`);
    t.ok(errorCode(Buffer.from(r.body)) !== undefined, `${what}: an S3 error body (${errorCode(Buffer.from(r.body))})`);
    // MinIO's message for an event it cannot send (minio-js's functional tests match it).
    if (what.includes(' event')) t.match(r.body.toString(), /<Code>InvalidArgument<\/Code><Message>A specified event is not supported for notifications\./, `${what}: MinIO's message`);
  }
});

t.test('a listener that goes away is forgotten', async (t) => {
  const bucket = await createBucket(s3, 'listen-gone');
  const before = await listeners(d.port);
  const s = await open(t, d.port, `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A');
  await waitFor(async () => (await listeners(d.port)) === before + 1, 5000);
  t.pass(`s3d_notify_listeners went up to ${before + 1}`);
  s.close();
  await waitFor(async () => (await listeners(d.port)) === before, 5000);
  t.pass('and back down once the client disconnected');
  await waitFor(() => d.logs.some((l) => l.includes('"op":"ListenBucketNotification"') && l.includes(bucket)), 5000);
  t.pass('the listen request has its access-log line once it ends');
  t.notOk(d.logs.some((l) => l.includes('response stream failed')), 'a listener going away is not logged as a failed response');
  await put(bucket, 'after', 'x');
  t.equal((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'after' })))).toString(), 'x', 'writes go on');
});

t.test('users need s3:ListenBucketNotification', async (t) => {
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 's3d-listen-iam-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const iam = join(dir, 'iam.json');
  const bucket = bucketName('listen-iam');
  const allow = (actions: string[]) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }] });
  writeFileSync(
    iam,
    JSON.stringify({
      policies: { watcher: allow(['s3:ListenBucketNotification']), reader: allow(['s3:GetObject', 's3:ListBucket']) },
      users: [
        { accessKey: 'listen-watcher', secretKey: 'listen-watcher-secret', policies: ['watcher'] },
        { accessKey: 'listen-reader', secretKey: 'listen-reader-secret1', policies: ['reader'] },
      ],
    }),
    { mode: 0o600 },
  );
  const du = await startDaemonFor(t, { env: { S3_IAM_FILE: iam } });
  await du.s3().send(new CreateBucketCommand({ Bucket: bucket }));
  const q = 'events=s3%3AObjectCreated%3A%2A';
  const denied = await openStream(du.port, `/${bucket}`, q, { accessKeyId: 'listen-reader', secretAccessKey: 'listen-reader-secret1' });
  t.equal('status' in denied ? `${denied.status} ${errorCode(Buffer.from(denied.body))}` : 'stream', '403 AccessDenied', 'a user without the action → AccessDenied');
  const all = await openStream(du.port, '/', q, { accessKeyId: 'listen-watcher', secretAccessKey: 'listen-watcher-secret' });
  t.equal('status' in all ? `${all.status} ${errorCode(Buffer.from(all.body))}` : 'stream', '403 AccessDenied', 'ListenNotification (every bucket) needs s3:ListenNotification');
  const s = await open(t, du.port, `/${bucket}`, q, { accessKeyId: 'listen-watcher', secretAccessKey: 'listen-watcher-secret' });
  await du.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'seen', Body: 'x' }));
  await waitFor(() => s.records().length === 1, 5000);
  t.same(s.records().map(summary), [`s3:ObjectCreated:Put ${bucket}/seen`], 'the watcher hears it');

  // Every bucket but one denied: the denied bucket's events (object names, sizes, ETags) stayed
  // in the stream of every bucket, though every request to that bucket was refused.
  const secret = bucketName('listen-secret');
  await du.s3().send(new CreateBucketCommand({ Bucket: secret }));
  const everyBucket = (deny: string) => ({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:ListenNotification'], Resource: ['*'] },
      { Effect: 'Deny', Action: ['s3:*'], Resource: [`arn:aws:s3:::${deny}`, `arn:aws:s3:::${deny}/*`] },
    ],
  });
  const iamWith = (users: Array<{ accessKey: string; secretKey: string; policies: string[] }>): void =>
    writeFileSync(iam, JSON.stringify({ policies: { watcher: allow(['s3:ListenBucketNotification']), reader: allow(['s3:GetObject', 's3:ListBucket']), all: everyBucket(secret) }, users }), { mode: 0o600 });
  const watcher = { accessKey: 'listen-watcher', secretKey: 'listen-watcher-secret', policies: ['watcher'] };
  const wide = { accessKey: 'listen-all', secretKey: 'listen-all-secret-key', policies: ['all'] };
  iamWith([watcher, wide]);
  const reloaded = async (): Promise<void> => {
    const before = du.jsonLogs().filter((l) => l.msg === 'users reloaded').length;
    process.kill(du.proc.pid!, 'SIGHUP');
    await waitFor(() => du.jsonLogs().filter((l) => l.msg === 'users reloaded').length > before, 5000);
  };
  await reloaded();
  const w = await open(t, du.port, '/', q, { accessKeyId: 'listen-all', secretAccessKey: 'listen-all-secret-key' });
  await du.s3().send(new PutObjectCommand({ Bucket: secret, Key: 'payroll/ceo.xlsx', Body: 'x' }));
  await du.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'open', Body: 'x' }));
  await waitFor(() => w.records().length >= 1, 5000);
  await sleep(300);
  t.same(w.records().map(summary), [`s3:ObjectCreated:Put ${bucket}/open`], 'a user listening to every bucket hears none of the bucket it is denied');

  // A users-file reload that removes a user ends its open stream; one that keeps a user keeps its stream.
  iamWith([wide]);
  await reloaded();
  await s.ended;
  t.ok(s.res.complete, 'the removed watcher\'s stream ended');
  await du.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'x' }));
  await waitFor(() => w.records().length === 2, 5000);
  t.same(s.records().map(summary), [`s3:ObjectCreated:Put ${bucket}/seen`, `s3:ObjectCreated:Put ${bucket}/open`], 'it heard nothing after its removal');
  t.equal(w.records()[1] && summary(w.records()[1]!), `s3:ObjectCreated:Put ${bucket}/after`, 'the user kept still listens');
});

t.test("a listener's access is judged as it stands at each event: its user's tags after a reload, the time now", async (t) => {
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 's3d-listen-judge-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const iam = join(dir, 'iam.json');
  const bucket = bucketName('listen-judge');
  const until = new Date(Date.now() + 4000).toISOString();
  const policies = {
    // Listening for members of the team only.
    team: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:ListenBucketNotification'], Resource: [`arn:aws:s3:::${bucket}`], Condition: { StringEquals: { 'aws:PrincipalTag/team': 'watchers' } } }] },
    // Listening granted until a moment a few seconds from now.
    window: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:ListenBucketNotification'], Resource: [`arn:aws:s3:::${bucket}`], Condition: { DateLessThan: { 'aws:CurrentTime': until } } }] },
  };
  const iamWith = (team: string): void =>
    writeFileSync(
      iam,
      JSON.stringify({
        policies,
        users: [
          { accessKey: 'listen-tagged', secretKey: 'listen-tagged-secret', policies: ['team'], tags: { team } },
          { accessKey: 'listen-window', secretKey: 'listen-window-secret', policies: ['window'] },
        ],
      }),
      { mode: 0o600 },
    );
  iamWith('watchers');
  const du = await startDaemonFor(t, { env: { S3_IAM_FILE: iam } });
  await du.s3().send(new CreateBucketCommand({ Bucket: bucket }));
  const q = 'events=s3%3AObjectCreated%3A%2A';
  const tagged = await open(t, du.port, `/${bucket}`, q, { accessKeyId: 'listen-tagged', secretAccessKey: 'listen-tagged-secret' });
  const windowed = await open(t, du.port, `/${bucket}`, q, { accessKeyId: 'listen-window', secretAccessKey: 'listen-window-secret' });
  await du.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'before', Body: 'x' }));
  await waitFor(() => tagged.records().length === 1 && windowed.records().length === 1, 5000);
  t.pass('both hear an event while allowed');

  // The user's tag changes: the policy no longer allows it to listen.
  iamWith('others');
  const before = du.jsonLogs().filter((l) => l.msg === 'users reloaded').length;
  process.kill(du.proc.pid!, 'SIGHUP');
  await waitFor(() => du.jsonLogs().filter((l) => l.msg === 'users reloaded').length > before, 5000);
  // The time window closes.
  await sleep(Math.max(0, Date.parse(until) - Date.now()) + 200);
  await du.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'x' }));
  const control = await open(t, du.port, `/${bucket}`, q);
  await du.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'control', Body: 'x' }));
  await waitFor(() => control.records().length === 1, 5000);
  await sleep(300);
  t.same(tagged.records().map(summary), [`s3:ObjectCreated:Put ${bucket}/before`], 'the user whose tag changed hears nothing after the reload');
  t.same(windowed.records().map(summary), [`s3:ObjectCreated:Put ${bucket}/before`], 'the user whose window closed hears nothing after it');
  await tagged.ended;
  t.ok(tagged.res.complete, "the reload ended the stream of the user it no longer allows to listen");
});

t.test('S3_LISTEN_MAX: one stream past the limit is 503 SlowDown and changes nothing; a closed stream frees its place', async (t) => {
  const dm = await startDaemonFor(t, { env: { S3_LISTEN_MAX: '2' } });
  const bucket = await createBucket(dm.s3(), 'listen-max');
  const q = 'events=s3%3AObjectCreated%3A%2A';
  const one = await open(t, dm.port, `/${bucket}`, q);
  const every = await open(t, dm.port, '/', q);
  await waitFor(async () => (await listeners(dm.port)) === 2, 5000);
  const refused = await openStream(dm.port, `/${bucket}`, q);
  if ('res' in refused) {
    refused.close();
    t.fail('a third stream was opened');
    return;
  }
  t.equal(refused.status, 503, 'the third: 503');
  t.equal(errorCode(Buffer.from(refused.body)), 'SlowDown');
  t.match(refused.body, /2 listening streams are open.*S3_LISTEN_MAX/, 'the message names the limit and the setting');
  const m = await scrape(`http://127.0.0.1:${dm.port}`);
  t.equal(metricSample(m, 's3d_notify_listen_refused_total'), 1, 'counted');
  t.equal(metricSample(m, 's3d_notify_listeners_max'), 2, 'the limit is a metric');
  t.equal(metricSample(m, 's3d_notify_listeners'), 2, 'still two open');
  await dm.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
  await waitFor(() => one.records().length === 1 && every.records().length === 1, 5000);
  t.pass('the open streams still get events');
  one.close();
  await waitFor(async () => (await listeners(dm.port)) === 1, 5000);
  const again = await open(t, dm.port, `/${bucket}`, q);
  await dm.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'k2', Body: 'x' }));
  await waitFor(() => again.records().length === 1, 5000);
  t.same(again.records().map(summary), [`s3:ObjectCreated:Put ${bucket}/k2`], 'a place freed: a new stream opens and hears');
});

/** An S3_IAM_FILE with the users given, each allowed s3:ListenBucketNotification on `bucket`; rewritten by `write`. */
async function listenUsers(t: Test, bucket: string, keys: string[]): Promise<{ file: string; write(keys: string[]): void; sign(key: string): SignOptions }> {
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 's3d-listen-share-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'iam.json');
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:ListenBucketNotification', 's3:PutObject'], Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }] };
  const write = (ks: string[]): void => writeFileSync(file, JSON.stringify({ policies: { watch: policy }, users: ks.map((k) => ({ accessKey: k, secretKey: `${k}-secret-key`, policies: ['watch'] })) }), { mode: 0o600 });
  write(keys);
  return { file, write, sign: (k) => ({ accessKeyId: k, secretAccessKey: `${k}-secret-key` }) };
}

async function refusedWith(t: Test, port: number, path: string, query: string, sign: SignOptions | false | undefined, message: RegExp, what: string, extra?: Record<string, string>, from?: string): Promise<void> {
  const r = await openStream(port, path, query, sign, extra, from);
  if ('res' in r) {
    r.close();
    t.fail(`${what}: a stream was opened`);
    return;
  }
  t.equal(`${r.status} ${errorCode(Buffer.from(r.body))}`, '503 SlowDown', what);
  // The message as a client shows it (XML escapes undone: `this user&apos;s`).
  const said = (xmlField(r.body, 'Message') ?? '').replace(/&(apos|quot|lt|gt|amp);/g, (_, e: string) => ({ apos: "'", quot: '"', lt: '<', gt: '>', amp: '&' })[e]!);
  t.match(said, message, `${what}: the message says why`);
}

t.test('S3_LISTEN_MAX is shared: one user holds at most half, unsigned requests a tenth, a tenth is kept for root, a tenth for first streams', async (t) => {
  const bucket = bucketName('listen-share');
  const users = await listenUsers(t, bucket, ['listen-hog', 'listen-other', 'listen-third', 'listen-fourth']);
  const dm = await startDaemonFor(t, { env: { S3_LISTEN_MAX: '10', S3_IAM_FILE: users.file } });
  await dm.s3().send(new CreateBucketCommand({ Bucket: bucket }));
  // Anyone may listen: a public policy MinIO honours for ListenBucketNotification, as s3d does.
  await dm.s3().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:ListenBucketNotification'], Resource: [`arn:aws:s3:::${bucket}`] }] }) }));
  const q = 'events=s3%3AObjectCreated%3A%2A';
  const hog = users.sign('listen-hog');
  for (let i = 0; i < 5; i++) await open(t, dm.port, `/${bucket}`, q, hog);
  // Before the shares, one access key took all ten places and root's `mc watch` got 503.
  await refusedWith(t, dm.port, `/${bucket}`, q, hog, /This user has 5 listening streams open, the most one user may hold \(half of S3_LISTEN_MAX=10\)/, "the hog's sixth");
  // A fresh STS session key is the same user: no way around the share.
  const sts = new STSClient({ endpoint: `http://127.0.0.1:${dm.port}`, region: 'us-east-1', credentials: { accessKeyId: hog.accessKeyId!, secretAccessKey: hog.secretAccessKey! }, maxAttempts: 1 });
  t.teardown(() => sts.destroy());
  const session = (await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'hog' }))).Credentials!;
  await refusedWith(t, dm.port, `/${bucket}`, q, { accessKeyId: session.AccessKeyId!, secretAccessKey: session.SecretAccessKey! }, /This user has 5 listening streams open/, "the hog's sixth through an STS session", { 'x-amz-security-token': session.SessionToken! });
  const anon = await open(t, dm.port, `/${bucket}`, q, false);
  await refusedWith(t, dm.port, `/${bucket}`, q, false, /1 listening streams of unsigned requests are open.*a tenth of S3_LISTEN_MAX=10/, 'a second unsigned stream');
  const other = users.sign('listen-other');
  const others = [await open(t, dm.port, `/${bucket}`, q, other), await open(t, dm.port, `/${bucket}`, q, other)];
  // Before, the other user's third took the last place below root's: two users (and one
  // anonymous client) held every place a user may take, and a third user got 503 until they left.
  await refusedWith(t, dm.port, `/${bucket}`, q, other, /8 listening streams are open, 2 of them this user's; the last 1 places below the root user's 1 of S3_LISTEN_MAX=10 are kept for the first stream of others; retry once one has closed\./, "another user's third, into the place kept for first streams");
  const third = await open(t, dm.port, `/${bucket}`, q, users.sign('listen-third'));
  await refusedWith(t, dm.port, `/${bucket}`, q, users.sign('listen-fourth'), /9 listening streams are open; the other 1 of S3_LISTEN_MAX=10 are kept for the root user/, "a user's stream into root's place");
  const root = await open(t, dm.port, `/${bucket}`, q);
  await refusedWith(t, dm.port, `/${bucket}`, q, undefined, /10 listening streams are open, the most this server keeps \(S3_LISTEN_MAX\)/, 'past the limit, root too');
  const m = await scrape(`http://127.0.0.1:${dm.port}`);
  t.equal(metricSample(m, 's3d_notify_listeners'), 10, 'ten open');
  t.equal(metricSample(m, 's3d_notify_listen_refused_total'), 6, 'every refusal counted');
  await dm.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
  await waitFor(() => [anon, root, third, ...others].every((s) => s.records().length === 1), 5000);
  t.pass('the streams that opened hear');
  root.close();
  others[0]!.close();
  await waitFor(async () => (await listeners(dm.port)) === 8, 5000);
  await refusedWith(t, dm.port, `/${bucket}`, q, hog, /This user has 5 listening streams open/, "a place freed by another user is not the hog's");
  await refusedWith(t, dm.port, `/${bucket}`, q, other, /8 listening streams are open, 1 of them this user's; .*kept for the first stream of others/, "nor the other user's second");
  t.ok('res' in (await open(t, dm.port, `/${bucket}`, q, users.sign('listen-fourth'))), "it is a newcomer's first");
});

t.test('unsigned streams are shared by client network: one address (an IPv6 /64), as S3_TRUSTED_PROXIES names it, leaves half the tenth to others', async (t) => {
  const bucket = bucketName('listen-anon-share');
  // A tenth of 40: four places for unsigned requests; one network's second and later streams
  // may use two, the other two are for other networks' first.
  const dm = await startDaemonFor(t, { env: { S3_LISTEN_MAX: '40', S3_TRUSTED_PROXIES: '127.0.0.1' } });
  await dm.s3().send(new CreateBucketCommand({ Bucket: bucket }));
  await dm.s3().send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:ListenBucketNotification'], Resource: [`arn:aws:s3:::${bucket}`] }] }) }));
  const q = 'events=s3%3AObjectCreated%3A%2A';
  const path = `/${bucket}`;
  const xff = (ip: string): Record<string, string> => ({ 'x-forwarded-for': ip });
  // 127.0.0.2 is no trusted proxy: what it claims in X-Forwarded-For is not its address, each
  // claim no fresh share.
  const mine = [await open(t, dm.port, path, q, false, xff('203.0.113.1'), '127.0.0.2'), await open(t, dm.port, path, q, false, xff('203.0.113.2'), '127.0.0.2')];
  // Before, one client took all four places (and any number of them had S3_LISTEN_MAX been higher).
  await refusedWith(t, dm.port, path, q, false, /2 listening streams of unsigned requests are open, 2 of them from this client's network; the other 2 of the 4 kept for unsigned requests \(a tenth of S3_LISTEN_MAX=40\) are for the first stream of other clients; sign the request, or retry once one has closed\./, "127.0.0.2's third", xff('203.0.113.3'), '127.0.0.2');
  // Through the trusted proxy, the client it names; an IPv6 client counts by its /64.
  const v6 = await open(t, dm.port, path, q, false, xff('2001:db8:1:2::1'));
  await refusedWith(t, dm.port, path, q, false, /3 listening streams of unsigned requests are open, 1 of them from this client's network/, 'another address of the same /64, through the proxy', xff('2001:db8:1:2::abcd'));
  const v6other = await open(t, dm.port, path, q, false, xff('2001:db8:1:3::1'));
  await refusedWith(t, dm.port, path, q, false, /4 listening streams of unsigned requests are open, the most this server keeps for them \(a tenth of S3_LISTEN_MAX=40\)/, 'the tenth is full', xff('198.51.100.9'));
  const m = await scrape(`http://127.0.0.1:${dm.port}`);
  t.equal(metricSample(m, 's3d_notify_listeners'), 4, 'four open');
  t.equal(metricSample(m, 's3d_notify_listen_refused_total'), 3, 'every refusal counted');
  await dm.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
  await waitFor(() => [...mine, v6, v6other].every((s) => s.records().length === 1), 5000);
  t.pass('the streams that opened hear');
  // A closed stream of the first client is a place for a network with none, not its own again.
  mine[0]!.close();
  await waitFor(async () => (await listeners(dm.port)) === 3, 5000);
  await refusedWith(t, dm.port, path, q, false, /3 listening streams of unsigned requests are open, 1 of them from this client's network/, "127.0.0.2's second again", undefined, '127.0.0.2');
  t.ok('res' in (await open(t, dm.port, path, q, false, xff('198.51.100.9'))), "a new client's first");
});

t.test('no place leaks: streams cut before, during and after their first bytes, stalled or ended by a reload, all give their place back', async (t) => {
  const bucket = bucketName('listen-leak');
  const users = await listenUsers(t, bucket, ['listen-leaky']);
  const dm = await startDaemonFor(t, { env: { S3_LISTEN_MAX: '4', S3_IAM_FILE: users.file } });
  await dm.s3().send(new CreateBucketCommand({ Bucket: bucket }));
  await dm.s3().send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const q = 'events=s3%3AObjectCreated%3A%2A&events=s3%3AObjectRemoved%3A%2A';
  const user = users.sign('listen-leaky');
  const path = `/${bucket}`;
  // Cut as the request goes out: the daemon may answer a client that is already gone.
  const cutAtOnce = (sign: SignOptions | undefined): Promise<void> =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port: dm.port, method: 'GET', path: `${path}?${q}`, headers: buildHeaders(dm.port, { method: 'GET', path, query: q, ...(sign ? { sign } : {}) }), agent: false });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.end(() => setImmediate(() => req.destroy()));
    });
  const openWhenFree = async (sign: SignOptions | undefined): Promise<Stream> => {
    let last = '';
    for (const until = Date.now() + 5000; Date.now() < until; await sleep(50)) {
      const s = await openStream(dm.port, path, q, sign);
      if ('res' in s) {
        t.teardown(() => s.close());
        return s;
      }
      last = `${s.status} ${s.body}`;
    }
    throw new Error(`no place came free within 5 s: ${last}`);
  };
  for (let round = 0; round < 25; round++) {
    // The user's whole share (2 of 4) each round: a leaked place would refuse every later round.
    // A cut request may reach its handler after the next ones (its place then taken a moment
    // later, and given back once the daemon hears of the cut): retried for a while, not forever.
    const sign = round % 2 === 0 ? user : undefined;
    await Promise.all([cutAtOnce(sign), cutAtOnce(sign)]);
    const a = await openWhenFree(sign);
    const b = await openWhenFree(sign);
    if (round % 5 === 0) {
      await dm.s3().send(new PutObjectCommand({ Bucket: bucket, Key: `r${round}`, Body: 'x' }));
      await waitFor(() => a.records().length === 1, 5000);
    }
    a.close();
    b.close();
  }
  await waitFor(async () => (await listeners(dm.port)) === 0, 5000);
  // minio-js, stopped by its client: it drops the connection at the next event it parses.
  for (let i = 0; i < 3; i++) {
    const poller = minioClient(dm).listenBucketNotification(bucket, '', '', ['s3:ObjectCreated:*']);
    await waitFor(async () => (await listeners(dm.port)) === 1, 5000);
    poller.stop();
    await dm.s3().send(new PutObjectCommand({ Bucket: bucket, Key: `minio-js-${i}`, Body: 'x' }));
    await waitFor(async () => (await listeners(dm.port)) === 0, 5000);
  }
  // A client that stops reading while events pour in, then goes away with writes pending.
  const stalled = await open(t, dm.port, path, q, user);
  stalled.res.pause();
  const long = 'k'.repeat(900);
  for (let i = 0; i < 2; i++) {
    await dm.s3().send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: Array.from({ length: 1000 }, (_, j) => ({ Key: `${long}${i}-${j}` })), Quiet: true } }));
  }
  stalled.close();
  await waitFor(async () => (await listeners(dm.port)) === 0, 5000);
  t.pass('s3d_notify_listeners back to 0');
  // Ended by the daemon: a users-file reload that removes the user.
  const held = [await open(t, dm.port, path, q, user), await open(t, dm.port, path, q, user)];
  await waitFor(async () => (await listeners(dm.port)) === 2, 5000);
  users.write(['listen-leaky-2']);
  const before = dm.jsonLogs().filter((l) => l.msg === 'users reloaded').length;
  process.kill(dm.proc.pid!, 'SIGHUP');
  await waitFor(() => dm.jsonLogs().filter((l) => l.msg === 'users reloaded').length > before, 5000);
  await Promise.all(held.map((s) => s.ended));
  await waitFor(async () => (await listeners(dm.port)) === 0, 5000);
  t.pass('the streams the reload ended gave their places back');
  // Every place is free: root takes all four (a user could not take root's).
  const fresh: Stream[] = [];
  for (let i = 0; i < 4; i++) fresh.push(await open(t, dm.port, path, q));
  await dm.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'last', Body: 'x' }));
  await waitFor(() => fresh.every((s) => s.records().some((r) => r.s3.object.key === 'last')), 5000);
  t.pass('four new streams open and hear');
});

t.test('a stream whose access is taken away ends within seconds, though its bucket stays quiet, and gives its place back', async (t) => {
  const bucket = await createBucket(s3, 'listen-revoked');
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:ListenBucketNotification'], Resource: [`arn:aws:s3:::${bucket}`] }] }) }));
  const before = await listeners(d.port);
  const q = 'events=s3%3AObjectCreated%3A%2A';
  const anon = await open(t, d.port, `/${bucket}`, q, false);
  await put(bucket, 'heard', 'x');
  await waitFor(() => anon.records().length === 1, 5000);
  await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
  const started = Date.now();
  // Before: open (keep-alives every 500 ms) until the client left, holding a place of the unsigned share.
  await Promise.race([anon.ended, sleep(8000)]);
  t.ok(anon.res.complete, `the unsigned stream ended, cleanly, ${Date.now() - started} ms after the policy was deleted`);
  await waitFor(async () => (await listeners(d.port)) === before, 5000);
  t.pass('its place was given back');
  const again = await openStream(d.port, `/${bucket}`, q, false);
  t.equal('status' in again ? `${again.status} ${errorCode(Buffer.from(again.body))}` : 'stream', '403 AccessDenied', 'and it may not open another');
});

t.test('SIGTERM ends open streams at once; the daemon exits cleanly', async (t) => {
  const d2 = await startDaemon({ env: { S3_SHUTDOWN_TIMEOUT: '30' } });
  t.teardown(() => d2.cleanup());
  const bucket = await createBucket(d2.s3(), 'listen-stop');
  const s = await open(t, d2.port, `/${bucket}`, 'events=s3%3AObjectCreated%3A%2A');
  await d2.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'last', Body: 'x' }));
  await waitFor(() => s.records().length === 1, 5000);
  const started = Date.now();
  const code = await d2.stop();
  const took = Date.now() - started;
  t.equal(code, 0, 'exit code 0');
  t.ok(took < 10_000, `stopped in ${took} ms, not after the 30 s drain deadline`);
  await s.ended;
  t.equal(s.res.complete, true, 'the stream ended with its terminating chunk (not cut)');
});

t.test('fuzzed listen queries: a stream or a 4xx S3 error, never a 5xx; no listener left behind', async (t) => {
  const bucket = await createBucket(s3, 'listen-fuzz');
  const before = await listeners(d.port);
  const rand = prng(1234567).int;
  const pieces = ['s3:ObjectCreated:*', 's3:ObjectCreated:Put', 's3:ObjectAccessed:Get', 's3:ObjectRemoved:*', 's3:*', '*', '', 's3:ObjectCreated', 'S3:OBJECTCREATED:PUT', 's3:ObjectCreated:*\u0000', '%', '\u00ff\u00fe', 'x'.repeat(2000)];
  const params = ['events', 'prefix', 'suffix', 'ping', 'events', 'events'];
  const pingValues = ['1', '0', '-1', '1e3', '999999', '9999999', ' 1', '1.5', '', '0x10'];
  const seen = new Map<number, number>();
  for (let i = 0; i < 60; i++) {
    const q = new URLSearchParams();
    const n = 1 + rand(4);
    for (let j = 0; j < n; j++) {
      const name = params[rand(params.length)]!;
      q.append(name, name === 'ping' ? pingValues[rand(pingValues.length)]! : pieces[rand(pieces.length)]!);
    }
    const query = q.toString().replace(/\+/g, '%20');
    const r = await openStream(d.port, `/${bucket}`, query);
    const status = 'res' in r ? 200 : r.status;
    seen.set(status, (seen.get(status) ?? 0) + 1);
    if ('res' in r) {
      r.close();
      continue;
    }
    if (status < 400 || status >= 500 || errorCode(Buffer.from(r.body)) === undefined) t.fail(`${query} → ${status} ${r.body.slice(0, 200)}`);
  }
  t.ok((seen.get(200) ?? 0) > 0 && (seen.get(400) ?? 0) > 0, `both outcomes seen: ${JSON.stringify([...seen])}`);
  await waitFor(async () => (await listeners(d.port)) === before, 5000);
  t.pass('every fuzzed stream was forgotten once closed');
  await put(bucket, 'still', 'works');
  t.equal((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'still' })))).toString(), 'works');
});
