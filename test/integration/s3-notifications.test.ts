// Bucket event notifications to webhooks against the real daemon and a real HTTP receiver (a
// node:http server here): targets from S3_NOTIFY_WEBHOOK_* (a suffixed one with a Bearer token, the
// default `_` one with a token that names its own scheme, one over mTLS), configured with the AWS SDK's
// PutBucketNotificationConfiguration and minio-js setBucketNotification, read back by both.
// Events of PutObject, POST Object, CopyObject, CompleteMultipartUpload, DeleteObject and
// DeleteObjects, PutObjectTagging and DeleteObjectTagging (S3's s3:ObjectTagging names), and lifecycle expiry arrive with MinIO's fields (version ids and DeleteMarkerCreated in a
// versioned bucket; lifecycle expiry as S3's s3:LifecycleExpiration:* to rules asking for those names,
// as MinIO's s3:ObjectRemoved:* to the others); prefix/suffix filters and event types select them;
// buckets without a configuration send nothing; an unknown ARN is refused; a write with an STS
// session's credentials names the session's user. Delivery never holds a
// request (a receiver that hangs), survives an outage (503s, then a closed port) and a restart of
// the daemon with events undelivered, in order; the configuration survives the restart too.

import t from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { NotificationConfig, QueueConfig } from 'minio';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ACCESS_KEY, s3Client, startDaemon, testPki, type TestDaemon } from '../helpers/daemon.js';
import { minioClient } from '../helpers/minio.js';
import { createBucket, expectS3Error, expectSdkError } from '../helpers/s3.js';
import { pollUntil, sleep } from '../helpers/wait.js';

// ---- the receiver ------------------------------------------------------------------------------

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: { EventName: string; Key: string; Records: Array<Record<string, any>> };
}

type Mode = 'ok' | '503' | 'hang';

class Receiver {
  readonly events: Received[] = [];
  /** Requests answered with anything but 200 (the outage as the daemon saw it). */
  refused = 0;
  mode: Mode = 'ok';
  private readonly hanging: ServerResponse[] = [];
  private readonly server = createServer((req, res) => this.onRequest(req, res));
  port = 0;

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting connections and cuts the open ones (connection refused from now on). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.mode === 'hang') {
        this.hanging.push(res);
        // Recorded once answered: the daemon may not count it as delivered before.
        res.on('finish', () => this.events.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) }));
        return;
      }
      if (this.mode === '503') {
        this.refused++;
        res.writeHead(503).end('down');
        return;
      }
      this.events.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      res.end('ok');
    });
  }

  /** Answers every hanging request with 200 and goes back to answering at once. */
  release(): void {
    this.mode = 'ok';
    for (const res of this.hanging.splice(0)) res.end('ok');
  }

  get hangingCount(): number {
    return this.hanging.length;
  }

  /** Events received so far for `bucket`, as "EventName key" (after waiting until there are `n`). */
  async of(bucket: string, n: number, ms = 10_000): Promise<Received[]> {
    const pick = (): Received[] => this.events.filter((e) => e.body.Records[0]!.s3.bucket.name === bucket);
    return pollUntil(pick, (l) => l.length >= n, ms, 20);
  }

  async shutdown(): Promise<void> {
    this.release();
    await this.close();
  }
}

const short = (e: Received): string => `${e.body.EventName} ${e.body.Key}`;

const receiver = new Receiver();
await receiver.listen();

// An HTTPS receiver that requires a client certificate from the test CA (the daemon trusts the CA
// through NODE_EXTRA_CA_CERTS, as an operator would for a private CA).
const pki = await testPki();
const pem = mkdtempSync(join(tmpdir(), 's3d-notify-pki-'));
for (const [name, text] of [['ca.crt', pki.caCert], ['client.crt', pki.app.cert], ['client.key', pki.app.key]] as const) writeFileSync(join(pem, name), text, { mode: 0o600 });
const mtlsSeen: Array<{ cn: string; key: string }> = [];
const mtls = createHttpsServer({ cert: pki.server.cert, key: pki.server.key, ca: pki.caCert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    mtlsSeen.push({ cn: String((req.socket as TLSSocket).getPeerCertificate().subject?.CN), key: (JSON.parse(Buffer.concat(chunks).toString()) as Received['body']).Key });
    res.end('ok');
  });
});
await new Promise<void>((resolve) => mtls.listen(0, '127.0.0.1', resolve));
const WRITER = { accessKey: 'note-writer', secretKey: 'note-writer-secret-1' };
writeFileSync(
  join(pem, 'iam.json'),
  JSON.stringify({
    policies: { writer: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject'], Resource: ['arn:aws:s3:::*/*'] }] } },
    users: [{ ...WRITER, policies: ['writer'] }],
  }),
  { mode: 0o600 },
);
const env = {
  S3_NOTIFY_WEBHOOK_ENABLE_PRIMARY: 'on',
  S3_NOTIFY_WEBHOOK_ENDPOINT_PRIMARY: `http://127.0.0.1:${receiver.port}/primary`,
  S3_NOTIFY_WEBHOOK_AUTH_TOKEN_PRIMARY: 'sekret-token',
  S3_NOTIFY_WEBHOOK_ENABLE: 'on',
  S3_NOTIFY_WEBHOOK_ENDPOINT: `http://127.0.0.1:${receiver.port}/default?src=s3d`,
  S3_NOTIFY_WEBHOOK_AUTH_TOKEN: 'Custom opaque-value',
  S3_NOTIFY_WEBHOOK_ENABLE_MTLS: 'on',
  S3_NOTIFY_WEBHOOK_ENDPOINT_MTLS: `https://127.0.0.1:${(mtls.address() as AddressInfo).port}/`,
  S3_NOTIFY_WEBHOOK_CLIENT_CERT_MTLS: join(pem, 'client.crt'),
  S3_NOTIFY_WEBHOOK_CLIENT_KEY_MTLS: join(pem, 'client.key'),
  NODE_EXTRA_CA_CERTS: join(pem, 'ca.crt'),
  S3_LIFECYCLE_SCAN_INTERVAL: '1s',
  // A user (and its STS sessions) whose writes name it in their events.
  S3_IAM_FILE: join(pem, 'iam.json'),
};
const PRIMARY = 'arn:minio:sqs::PRIMARY:webhook';
const DEFAULT = 'arn:minio:sqs:us-east-1:_:webhook';

let d: TestDaemon = await startDaemon({ env });
let s3: S3Client = d.s3();
t.teardown(async () => {
  await d.stop();
  d.cleanup();
  await receiver.shutdown();
  mtls.closeAllConnections();
  await new Promise<void>((resolve) => mtls.close(() => resolve()));
  rmSync(pem, { recursive: true, force: true });
});

/** A bucket whose every object event goes to PRIMARY. */
async function watchedBucket(prefix: string): Promise<string> {
  const bucket = await createBucket(s3, prefix);
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { QueueConfigurations: [{ Id: 'all', QueueArn: PRIMARY, Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }] },
    }),
  );
  return bucket;
}

t.test('the targets are logged at start-up with their ARNs, without the tokens', async (t) => {
  const line = d.jsonLogs().find((l) => l.msg === 'bucket notification webhook targets');
  t.ok(line, 'logged');
  t.match(line?.targets, [
    { id: 'MTLS' },
    // Origin only: a webhook URL's path or query often holds its credential.
    { id: 'PRIMARY', arn: 'arn:minio:sqs:us-east-1:PRIMARY:webhook', endpoint: `http://127.0.0.1:${receiver.port}/…` },
    { id: '_', arn: 'arn:minio:sqs:us-east-1:_:webhook' },
  ]);
  t.notOk(d.logs.some((l) => l.includes('sekret-token') || l.includes('opaque-value')), 'no token in the log');
});

t.test('configuration: AWS SDK and minio-js write and read it; unknown ARNs and Topic configurations are refused', async (t) => {
  const bucket = await createBucket(s3, 'notecfg');
  const B = { Bucket: bucket };
  t.same((await s3.send(new GetBucketNotificationConfigurationCommand(B))).QueueConfigurations, undefined, 'none at first');
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      ...B,
      NotificationConfiguration: {
        QueueConfigurations: [
          { Id: 'jpegs', QueueArn: PRIMARY, Events: ['s3:ObjectCreated:Put', 's3:ObjectRemoved:Delete'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'img/' }, { Name: 'suffix', Value: '.jpg' }] } } },
          { QueueArn: DEFAULT, Events: ['s3:ObjectCreated:*'] },
        ],
      },
    }),
  );
  const got = await s3.send(new GetBucketNotificationConfigurationCommand(B));
  t.same(got.QueueConfigurations, [
    { Id: 'jpegs', QueueArn: PRIMARY, Events: ['s3:ObjectCreated:Put', 's3:ObjectRemoved:Delete'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'img/' }, { Name: 'suffix', Value: '.jpg' }] } } },
    { Id: got.QueueConfigurations?.[1]?.Id, QueueArn: DEFAULT, Events: ['s3:ObjectCreated:*'] },
  ]);
  // A configuration without an Id gets one, as on S3 ("If you don't provide one, Amazon S3 will
  // assign an ID"); it stays the same from one read to the next.
  const assigned = got.QueueConfigurations?.[1]?.Id;
  t.match(assigned, /^[A-Za-z0-9+/]{40,}={0,2}$/, 'an Id was assigned to the configuration without one');
  t.equal((await s3.send(new GetBucketNotificationConfigurationCommand(B))).QueueConfigurations?.[1]?.Id, assigned, 'and it is stored, not made up per read');

  const mc = minioClient(d);
  const fromMinio = await mc.getBucketNotification(bucket);
  t.same(fromMinio.QueueConfiguration, [
    { Id: 'jpegs', Queue: PRIMARY, Event: ['s3:ObjectCreated:Put', 's3:ObjectRemoved:Delete'], Filter: [{ Name: 'prefix', Value: 'img/' }, { Name: 'suffix', Value: '.jpg' }] },
    { Id: assigned, Queue: DEFAULT, Event: ['s3:ObjectCreated:*'], Filter: [] },
  ]);

  // What `mc event add ALIAS/bucket arn:minio:sqs::PRIMARY:webhook --event put,delete --suffix .log` sends.
  const config = new NotificationConfig();
  const q = new QueueConfig(PRIMARY);
  q.addEvent('s3:ObjectCreated:*');
  q.addEvent('s3:ObjectRemoved:*');
  q.addFilterSuffix('.log');
  config.add(q);
  await mc.setBucketNotification(bucket, config);
  const replaced = (await mc.getBucketNotification(bucket)).QueueConfiguration;
  t.notSame(replaced[0]?.Id, assigned, 'the replacement has an Id of its own');
  t.same(replaced, [{ Id: replaced[0]?.Id, Queue: PRIMARY, Event: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], Filter: [{ Name: 'suffix', Value: '.log' }] }], 'minio-js replaced it');

  await expectS3Error(
    t,
    s3.send(new PutBucketNotificationConfigurationCommand({ ...B, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:minio:sqs::NOSUCH:webhook', Events: ['s3:ObjectCreated:*'] }] } })),
    'InvalidArgument',
    400,
    'an ARN no target has',
  );
  // S3's x-amz-skip-destination-validation skips its test message to the queue; here there is
  // nothing to skip: an ARN no configured target has would get no event ever (MinIO refuses it too).
  await expectS3Error(
    t,
    s3.send(new PutBucketNotificationConfigurationCommand({ ...B, SkipDestinationValidation: true, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:minio:sqs::NOSUCH:webhook', Events: ['s3:ObjectCreated:*'] }] } })),
    'InvalidArgument',
    400,
    'an ARN no target has, with x-amz-skip-destination-validation: true',
  );
  await expectS3Error(
    t,
    s3.send(new PutBucketNotificationConfigurationCommand({ ...B, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: PRIMARY, Events: ['s3:ObjectRestore:Post'] }] } })),
    'InvalidArgument',
    400,
    'an event s3d never sends',
  );
  // Events name their rule by Id: S3 refuses two with one Id (they were both stored).
  const duplicateIds = await expectSdkError(
    t,
    s3.send(new PutBucketNotificationConfigurationCommand({ ...B, NotificationConfiguration: { QueueConfigurations: [
      { Id: 'same', QueueArn: PRIMARY, Events: ['s3:ObjectCreated:*'] },
      { Id: 'same', QueueArn: DEFAULT, Events: ['s3:ObjectRemoved:*'] },
    ] } })),
    'InvalidArgument',
    400,
    'two configurations with one Id',
  );
  t.equal(duplicateIds?.message, 'Same ID used for multiple configurations. IDs must be unique.', "S3's message");
  await expectS3Error(
    t,
    s3.send(new PutBucketNotificationConfigurationCommand({ ...B, NotificationConfiguration: { TopicConfigurations: [{ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Events: ['s3:ObjectCreated:*'] }] } })),
    'NotImplemented',
    501,
    'a Topic configuration',
  );
  t.equal((await mc.getBucketNotification(bucket)).QueueConfiguration.length, 1, 'refused documents changed nothing');

  await mc.removeAllBucketNotification(bucket);
  t.same((await s3.send(new GetBucketNotificationConfigurationCommand(B))).QueueConfigurations, undefined, 'an empty document removes it');
  t.same(await mc.getBucketNotification(bucket), { TopicConfiguration: [], QueueConfiguration: [], CloudFunctionConfiguration: [] });
});

t.test('every object write and delete sends its event with MinIO\'s fields', async (t) => {
  const bucket = await watchedBucket('noteops');
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.txt', Body: 'hello', ContentType: 'text/plain', Metadata: { color: 'blue' } }));
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy.txt', CopySource: `${bucket}/dir/a%20b%2Bc.txt` }));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi.bin', ContentType: 'application/x-test' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'multi.bin', UploadId: up.UploadId, PartNumber: 1, Body: Buffer.alloc(1000, 1) }));
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'multi.bin', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
  // A browser form (POST Object), signed by minio-js.
  const mc = minioClient(d);
  const policy = mc.newPostPolicy();
  policy.setBucket(bucket);
  policy.setKey('form.txt');
  policy.setExpires(new Date(Date.now() + 600_000));
  const { postURL, formData: fields } = await mc.presignedPostPolicy(policy);
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', new Blob(['posted']), 'form.txt');
  t.equal((await fetch(postURL, { method: 'POST', body: fd })).status, 204);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'copy.txt' }));
  await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'multi.bin' }, { Key: 'never-existed' }] } }));

  const got = await receiver.of(bucket, 7);
  t.strictSame(got.map(short), [
    `s3:ObjectCreated:Put ${bucket}/dir/a b+c.txt`,
    `s3:ObjectCreated:Copy ${bucket}/copy.txt`,
    `s3:ObjectCreated:CompleteMultipartUpload ${bucket}/multi.bin`,
    `s3:ObjectCreated:Post ${bucket}/form.txt`,
    `s3:ObjectRemoved:Delete ${bucket}/copy.txt`,
    `s3:ObjectRemoved:Delete ${bucket}/multi.bin`,
    `s3:ObjectRemoved:Delete ${bucket}/never-existed`,
  ], 'in order, one per key (a key that did not exist included, as S3 and MinIO do)');

  const first = got[0]!;
  t.equal(first.path, '/primary');
  t.equal(first.headers.authorization, 'Bearer sekret-token', 'a bare token goes out as a Bearer token');
  t.equal(first.headers['content-type'], 'application/json');
  const r = first.body.Records[0]!;
  t.match(r, {
    eventVersion: '2.0',
    eventSource: 'minio:s3',
    awsRegion: 'us-east-1',
    eventName: 's3:ObjectCreated:Put',
    userIdentity: { principalId: ACCESS_KEY },
    requestParameters: { principalId: ACCESS_KEY, region: 'us-east-1', sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': put.$metadata.requestId },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'all',
      bucket: { name: bucket, ownerIdentity: { principalId: ACCESS_KEY }, arn: `arn:aws:s3:::${bucket}` },
      object: { key: 'dir%2Fa+b%2Bc.txt', size: 5, eTag: put.ETag!.replace(/"/g, ''), contentType: 'text/plain', userMetadata: { 'content-type': 'text/plain', 'X-Amz-Meta-Color': 'blue' } },
    },
    source: { host: '127.0.0.1', userAgent: /aws-sdk-js/ },
  });
  // AWS's event message structure and MinIO both carry the answering host's x-amz-id-2 beside the
  // request id (receivers quote the pair to support, as for any S3 request).
  t.ok(put.$metadata.extendedRequestId, 'the PUT was answered with an x-amz-id-2');
  t.equal(r.responseElements['x-amz-id-2'], put.$metadata.extendedRequestId, 'responseElements name the host id the PUT was answered with');
  t.match(r.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'eventTime in ISO 8601 with milliseconds, as S3 and MinIO write it');
  t.ok(Math.abs(Date.parse(r.eventTime) - Date.now()) < 60_000, 'eventTime is an ISO time of now');
  t.match(r.s3.object.sequencer, /^[0-9A-F]+$/);
  t.match(got[2]!.body.Records[0], { s3: { object: { size: 1000, eTag: done.ETag!.replace(/"/g, ''), contentType: 'application/x-test' } } });
  t.match(got[3]!.body.Records[0], { s3: { object: { size: 6 } }, requestParameters: { principalId: ACCESS_KEY } });
  const removed = got[4]!.body.Records[0]!.s3.object;
  t.strictSame(Object.keys(removed).sort(), ['key', 'sequencer'], 'a removed event names the key only');
});

t.test('sequencers grow in commit order and never repeat: a completed upload after a PUT, racing writes and deletes', async (t) => {
  const bucket = await watchedBucket('noteseq');
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'k' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'k', UploadId: up.UploadId, PartNumber: 1, Body: Buffer.alloc(100, 1) }));
  await sleep(1100);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'put after the upload began' }));
  // Completed last, it is the object now: its event must order after the PUT's (it carried the upload's start time).
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'k', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
  const racing = Array.from({ length: 24 }, (_, i) => (i % 3 === 2 ? s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' })) : s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: `w${i}` }))));
  await Promise.all(racing);
  const events = await receiver.of(bucket, 26);
  t.equal(events.length, 26, 'one event per write and delete');
  t.same(events.slice(0, 2).map((e) => e.body.EventName), ['s3:ObjectCreated:Put', 's3:ObjectCreated:CompleteMultipartUpload'], 'delivered in commit order');
  const seqs = events.map((e) => BigInt(`0x${e.body.Records[0]!.s3.object.sequencer as string}`));
  t.ok(seqs.every((v, i) => i === 0 || v > seqs[i - 1]!), 'each sequencer is greater than the one before (commit order)');
  t.equal(new Set(seqs).size, seqs.length, 'no two events share a sequencer');
});

t.test('a versioned bucket: events carry version ids, a delete without one is DeleteMarkerCreated', async (t) => {
  const bucket = await watchedBucket('notever');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const v1 = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'one' }));
  const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: v1.VersionId }));
  const batch = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'k', VersionId: marker.VersionId }, { Key: 'other' }] } }));
  const otherMarker = batch.Deleted!.find((x) => x.Key === 'other')!.DeleteMarkerVersionId;
  t.ok(v1.VersionId && marker.VersionId && otherMarker, 'version ids came back');
  const got = await receiver.of(bucket, 5);
  t.strictSame(got.map((e) => [e.body.EventName, e.body.Records[0]!.s3.object.versionId]), [
    ['s3:ObjectCreated:Put', v1.VersionId],
    ['s3:ObjectRemoved:DeleteMarkerCreated', marker.VersionId],
    ['s3:ObjectRemoved:Delete', v1.VersionId],
    ['s3:ObjectRemoved:Delete', marker.VersionId],
    ['s3:ObjectRemoved:DeleteMarkerCreated', otherMarker],
  ], 'each event names the version it created or removed (s3:ObjectRemoved:* covers DeleteMarkerCreated)');
});

t.test("userMetadata holds the stored headers MinIO reports (not Expires) and the x-amz-meta-* ones", async (t) => {
  // It held Content-Type and x-amz-meta-* only; MinIO's holds every header it stores with the
  // object but Expires (its cleanMetadata drops that one).
  const bucket = await watchedBucket('notemeta');
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'k',
      Body: 'gz',
      ContentType: 'text/csv',
      ContentEncoding: 'gzip',
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="k.csv"',
      ContentLanguage: 'de',
      Expires: new Date('2030-01-01T00:00:00Z'),
      Metadata: { 'team-name': 'blue' },
    }),
  );
  const [e] = await receiver.of(bucket, 1);
  t.strictSame(e!.body.Records[0]!.s3.object.userMetadata, {
    'content-type': 'text/csv',
    'content-encoding': 'gzip',
    'cache-control': 'max-age=60',
    'content-disposition': 'attachment; filename="k.csv"',
    'content-language': 'de',
    'X-Amz-Meta-Team-Name': 'blue',
  });
});

t.test('null versions: named "null" once the bucket has versioning (as MinIO names them), without a version id before', async (t) => {
  // Suspended-bucket events said no version id, where MinIO's say "null" (its ToObjectInfo names the
  // null version of a versioned or suspended bucket so) and a read's x-amz-version-id says "null".
  const bucket = await watchedBucket('notesusp');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'before', Body: 'unversioned' }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'one' }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  // The null version written before versioning, removed once the bucket is Enabled.
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'before', VersionId: 'null' }));
  const got = await receiver.of(bucket, 5);
  t.strictSame(got.map((e) => [e.body.EventName, e.body.Key, e.body.Records[0]!.s3.object.versionId]), [
    ['s3:ObjectCreated:Put', `${bucket}/before`, undefined],
    ['s3:ObjectCreated:Put', `${bucket}/k`, 'null'],
    ['s3:ObjectRemoved:DeleteMarkerCreated', `${bucket}/k`, 'null'],
    ['s3:ObjectRemoved:Delete', `${bucket}/k`, 'null'],
    ['s3:ObjectRemoved:Delete', `${bucket}/before`, 'null'],
  ], 'a never-versioned bucket names no version; a suspended or enabled one names the null version "null"');
});

t.test('prefix, suffix and event types select events; buckets without a configuration send none', async (t) => {
  const bucket = await createBucket(s3, 'notefilter');
  const quiet = await createBucket(s3, 'notequiet');
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: [
          { Id: 'jpg', QueueArn: PRIMARY, Events: ['s3:ObjectCreated:Put'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'img/' }, { Name: 'suffix', Value: '.jpg' }] } } },
          { Id: 'end', QueueArn: PRIMARY, Events: ['s3:ObjectRemoved:Delete'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'zz-' }] } } },
        ],
      },
    }),
  );
  for (const key of ['img/a.jpg', 'img/a.png', 'doc/a.jpg', 'img/b.jpg']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
  await s3.send(new PutObjectCommand({ Bucket: quiet, Key: 'img/a.jpg', Body: 'x' }));
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'img/c.jpg', CopySource: `${bucket}/img/a.jpg` }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'img/a.jpg' }));
  await s3.send(new DeleteObjectCommand({ Bucket: quiet, Key: 'img/a.jpg' }));
  // Last, and events of one target arrive in order: everything before it has arrived too.
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'zz-sentinel' }));
  const got = await receiver.of(bucket, 3);
  t.strictSame(got.map(short), [`s3:ObjectCreated:Put ${bucket}/img/a.jpg`, `s3:ObjectCreated:Put ${bucket}/img/b.jpg`, `s3:ObjectRemoved:Delete ${bucket}/zz-sentinel`]);
  t.strictSame(got.map((e) => e.body.Records[0]!.s3.configurationId), ['jpg', 'jpg', 'end'], 'configurationId is the rule Id');
  t.strictSame(await receiver.of(quiet, 0), [], 'no event from a bucket without a configuration');
});

t.test('a filter value keeps its spaces: a prefix ending in one matches only keys that have it', async (t) => {
  const bucket = await createBucket(s3, 'notespace');
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { QueueConfigurations: [{ Id: 'spaced', QueueArn: PRIMARY, Events: ['s3:ObjectCreated:Put'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'dir /' }, { Name: 'suffix', Value: ' end' }] } } }] },
    }),
  );
  const read = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  t.strictSame(read.QueueConfigurations?.[0]?.Filter?.Key?.FilterRules?.map((r) => r.Value), ['dir /', ' end'], 'read back as written');
  for (const key of ['dir /end', 'dir /a end', 'dir/b end', 'dir /cend']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir /sentinel end', Body: 'x' }));
  const got = await receiver.of(bucket, 2);
  t.strictSame(got.map(short), [`s3:ObjectCreated:Put ${bucket}/dir /a end`, `s3:ObjectCreated:Put ${bucket}/dir /sentinel end`]);
});

t.test("a write with an STS session's credentials names the session's user as its principal, as MinIO does", async (t) => {
  // The session's temporary access key (ASIA…) was sent: a key that means nothing once it expires.
  const bucket = await watchedBucket('notests');
  const creds = (await new STSClient({ endpoint: d.endpoint, region: 'us-east-1', credentials: { accessKeyId: WRITER.accessKey, secretAccessKey: WRITER.secretKey }, maxAttempts: 1 }).send(
    new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'notes' }),
  )).Credentials!;
  t.not(creds.AccessKeyId, WRITER.accessKey, 'the session has a key of its own');
  const asUser = s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId: WRITER.accessKey, secretAccessKey: WRITER.secretKey }, maxAttempts: 1 });
  const asSession = s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! }, maxAttempts: 1 });
  await asUser.send(new PutObjectCommand({ Bucket: bucket, Key: 'by-user', Body: 'u' }));
  await asSession.send(new PutObjectCommand({ Bucket: bucket, Key: 'by-session', Body: 's' }));
  const got = await receiver.of(bucket, 2);
  t.strictSame(
    got.map((e) => [e.body.Key, e.body.Records[0]!.userIdentity.principalId, e.body.Records[0]!.requestParameters.principalId]),
    [
      [`${bucket}/by-user`, WRITER.accessKey, WRITER.accessKey],
      [`${bucket}/by-session`, WRITER.accessKey, WRITER.accessKey],
    ],
    'both name the user',
  );
});

t.test('the default target: its own path, and a token that names its scheme goes out as given', async (t) => {
  const bucket = await createBucket(s3, 'notedefault');
  await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:minio:sqs::_:webhook', Events: ['s3:ObjectCreated:*'] }] } }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v' }));
  const [e] = await receiver.of(bucket, 1);
  t.equal(e?.path, '/default?src=s3d');
  t.equal(e?.headers.authorization, 'Custom opaque-value');
  const id = (await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }))).QueueConfigurations?.[0]?.Id;
  t.ok(id, 'the configuration without an Id was assigned one');
  t.equal(e?.body.Records[0]!.s3.configurationId, id, 'the event names the assigned Id as its configurationId, as on S3');
});

t.test('a target over mTLS presents its client certificate', async (t) => {
  const bucket = await createBucket(s3, 'notemtls');
  await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:minio:sqs::MTLS:webhook', Events: ['s3:ObjectCreated:Put'] }] } }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'secure', Body: 's' }));
  const seen = await pollUntil(() => mtlsSeen.filter((e) => e.key === `${bucket}/secure`), (l) => l.length > 0, 10_000, 20);
  t.strictSame(seen, [{ cn: 'minio-app', key: `${bucket}/secure` }], 'delivered over TLS with the configured client certificate');
});

t.test('lifecycle expiry is notified as s3:ObjectRemoved:Delete by MinIO\'s ILM user agent', async (t) => {
  const bucket = await watchedBucket('notelifecycle');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'old/a', Body: 'a' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'new/b', Body: 'b' }));
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: { Rules: [{ ID: 'expire-old', Status: 'Enabled', Filter: { Prefix: 'old/' }, Expiration: { Date: new Date('2020-01-01T00:00:00Z') } }] },
    }),
  );
  const got = await receiver.of(bucket, 3);
  t.strictSame(got.map(short), [`s3:ObjectCreated:Put ${bucket}/old/a`, `s3:ObjectCreated:Put ${bucket}/new/b`, `s3:ObjectRemoved:Delete ${bucket}/old/a`]);
  t.match(got[2]!.body.Records[0], { userIdentity: { principalId: '' }, source: { userAgent: 'Internal: [ILM-Expiry]' } });
});

t.test("S3's s3:LifecycleExpiration rules get S3's events for lifecycle expiry; s3:ObjectRemoved rules still get MinIO's", async (t) => {
  const expireOld = { Rules: [{ ID: 'expire-old', Status: 'Enabled' as const, Filter: { Prefix: 'old/' }, Expiration: { Date: new Date('2020-01-01T00:00:00Z') } }] };
  const at = (e: Received): string => `${e.path.startsWith('/primary') ? 'PRIMARY' : 'DEFAULT'} ${e.body.EventName} ${e.body.Key} ${e.body.Records[0]!.s3.configurationId} ${e.body.Records[0]!.source.userAgent === 'Internal: [ILM-Expiry]' ? ILM : UA}`;
  const ILM = 'by-ILM';
  const UA = 'by-request';

  // PRIMARY asks for both kinds (as an S3 configuration may): a lifecycle expiry reaches it once,
  // as S3 sends it; a DeleteObject as s3:ObjectRemoved. DEFAULT asks for s3:ObjectRemoved only.
  const bucket = await createBucket(s3, 'notelcaws');
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: [
          { Id: 'aws-lc', QueueArn: PRIMARY, Events: ['s3:LifecycleExpiration:*'] },
          { Id: 'aws-removed', QueueArn: PRIMARY, Events: ['s3:ObjectRemoved:*'] },
          { Id: 'minio', QueueArn: DEFAULT, Events: ['s3:ObjectRemoved:*'] },
        ],
      },
    }),
  );
  const read = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  t.strictSame(read.QueueConfigurations?.map((q) => q.Events), [['s3:LifecycleExpiration:*'], ['s3:ObjectRemoved:*'], ['s3:ObjectRemoved:*']], 'stored and read back');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'old/a', Body: 'a' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'keep/b', Body: 'b' }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'keep/b' }));
  await receiver.of(bucket, 2);
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: expireOld }));
  const got = await receiver.of(bucket, 4);
  await sleep(1500); // a second event for one target would have come in the same delivery
  t.strictSame(receiver.events.filter((e) => e.body.Key.startsWith(`${bucket}/`)).map(at).sort(), [
    `DEFAULT s3:ObjectRemoved:Delete ${bucket}/keep/b minio ${UA}`,
    `DEFAULT s3:ObjectRemoved:Delete ${bucket}/old/a minio ${ILM}`,
    `PRIMARY s3:LifecycleExpiration:Delete ${bucket}/old/a aws-lc ${ILM}`,
    `PRIMARY s3:ObjectRemoved:Delete ${bucket}/keep/b aws-removed ${UA}`,
  ]);
  const lc = got.find((e) => e.body.EventName === 's3:LifecycleExpiration:Delete')!;
  t.equal(lc.body.Records[0]!.eventName, 's3:LifecycleExpiration:Delete', "the record's eventName too (s3: prefixed, as every s3d event)");
  t.match(lc.body.Records[0], { userIdentity: { principalId: '' }, s3: { object: { key: 'old%2Fa' } } });

  // A versioned bucket: the lifecycle's delete marker is s3:LifecycleExpiration:DeleteMarkerCreated.
  const versioned = await createBucket(s3, 'notelcver');
  await s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: versioned,
      NotificationConfiguration: {
        QueueConfigurations: [
          { Id: 'aws-lc', QueueArn: PRIMARY, Events: ['s3:LifecycleExpiration:Delete', 's3:LifecycleExpiration:DeleteMarkerCreated'] },
          { Id: 'minio', QueueArn: DEFAULT, Events: ['s3:ObjectRemoved:*'] },
        ],
      },
    }),
  );
  await s3.send(new PutObjectCommand({ Bucket: versioned, Key: 'old/v', Body: 'v' }));
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: versioned, LifecycleConfiguration: expireOld }));
  const markers = await receiver.of(versioned, 2);
  const versionIds = markers.map((e) => e.body.Records[0]!.s3.object.versionId);
  t.strictSame(markers.map(at).sort(), [`DEFAULT s3:ObjectRemoved:DeleteMarkerCreated ${versioned}/old/v minio ${ILM}`, `PRIMARY s3:LifecycleExpiration:DeleteMarkerCreated ${versioned}/old/v aws-lc ${ILM}`]);
  t.ok(versionIds[0] !== undefined && versionIds[0] === versionIds[1], 'both name the delete marker created');
});

t.test("PutObjectTagging and DeleteObjectTagging send S3's s3:ObjectTagging events with the version changed; refused requests and PutObjectAcl send none", async (t) => {
  const at = (e: Received): string => `${e.path.startsWith('/primary') ? 'PRIMARY' : 'DEFAULT'} ${e.body.EventName} ${e.body.Records[0]!.eventName} ${e.body.Records[0]!.s3.configurationId} ${e.body.Records[0]!.s3.object.versionId}`;
  const bucket = await createBucket(s3, 'notetags');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  // PRIMARY asks for S3's tagging and ACL names; DEFAULT for s3:ObjectCreated:*, which (as S3's)
  // does not cover tag changes.
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: [
          { Id: 'tags', QueueArn: PRIMARY, Events: ['s3:ObjectTagging:*', 's3:ObjectAcl:Put'] },
          { Id: 'created', QueueArn: DEFAULT, Events: ['s3:ObjectCreated:*'] },
        ],
      },
    }),
  );
  const read = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  t.strictSame(read.QueueConfigurations?.map((q) => q.Events), [['s3:ObjectTagging:*', 's3:ObjectAcl:Put'], ['s3:ObjectCreated:*']], 'stored and read back');
  const v1 = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc', Body: 'one' }))).VersionId!;
  const v2 = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc', Body: 'two!' }))).VersionId!;
  const tagging = { TagSet: [{ Key: 'team', Value: 'blue' }] };
  await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'doc', Tagging: tagging }));
  await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'doc', VersionId: v1, Tagging: tagging }));
  // Refused: no event. PutObjectAcl of the owner-only ACL changes nothing (S3 then sends no event).
  await expectS3Error(t, s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'missing', Tagging: tagging })), 'NoSuchKey', 404, 'tagging a missing key');
  await expectS3Error(t, s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'missing' })), 'NoSuchKey', 404, 'untagging a missing key');
  await expectS3Error(t, s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'doc', Tagging: { TagSet: [{ Key: 'aws:x', Value: 'y' }] } })), 'InvalidTag', 400, 'a refused tag');
  await s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: 'doc', ACL: 'private' }));
  await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'doc' }));
  await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'doc', VersionId: v1 }));
  const got = await receiver.of(bucket, 6);
  await sleep(1000); // an event of a refused request or of the ACL would be among the ones above (one outbox per target, in order)
  const sent = receiver.events.filter((e) => e.body.Key === `${bucket}/doc` || e.body.Key === `${bucket}/missing`);
  const to = (target: string): string[] => sent.map(at).filter((l) => l.startsWith(target));
  t.strictSame(to('DEFAULT'), [`DEFAULT s3:ObjectCreated:Put s3:ObjectCreated:Put created ${v1}`, `DEFAULT s3:ObjectCreated:Put s3:ObjectCreated:Put created ${v2}`], 's3:ObjectCreated:* gets no tag changes');
  t.strictSame(to('PRIMARY'), [
    `PRIMARY s3:ObjectTagging:Put s3:ObjectTagging:Put tags ${v2}`,
    `PRIMARY s3:ObjectTagging:Put s3:ObjectTagging:Put tags ${v1}`,
    `PRIMARY s3:ObjectTagging:Delete s3:ObjectTagging:Delete tags ${v2}`,
    `PRIMARY s3:ObjectTagging:Delete s3:ObjectTagging:Delete tags ${v1}`,
  ], 'in order, each naming the version its request changed; nothing for the refused requests nor the ACL');
  const put = got.find((e) => e.body.EventName === 's3:ObjectTagging:Put')!;
  t.match(put.body.Records[0]!.s3.object, { key: 'doc', size: 4, eTag: /^[0-9a-f]{32}$/, versionId: v2 }, 'the object as tagged');
});

t.test('a receiver that hangs does not slow PUTs; its events follow in order once it answers', async (t) => {
  const bucket = await watchedBucket('notehang');
  receiver.mode = 'hang';
  const times: number[] = [];
  for (const key of ['h1', 'h2', 'h3']) {
    const started = performance.now();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    times.push(performance.now() - started);
  }
  await pollUntil(() => receiver.hangingCount, (n) => n >= 1, 20_000, 20);
  t.equal(receiver.hangingCount, 1, 'the receiver holds the first event; the others wait behind it');
  // A PUT waiting on the webhook would hang until the receiver answers (after this check) or the
  // 10 s webhook timeout: 5 s tells that apart from a PUT slowed by a loaded machine (1 s did not).
  t.ok(Math.max(...times) < 5000, `every PUT answered while the webhook hangs (${times.map((x) => x.toFixed(0)).join(', ')} ms)`);
  receiver.release();
  t.strictSame((await receiver.of(bucket, 3)).map(short), ['h1', 'h2', 'h3'].map((k) => `s3:ObjectCreated:Put ${bucket}/${k}`));
});

t.test('an outage (503s, then a closed port) delays events, never loses or reorders them', async (t) => {
  const bucket = await watchedBucket('noteoutage');
  receiver.mode = '503';
  receiver.refused = 0;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'o1', Body: '1' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'o2', Body: '2' }));
  await pollUntil(() => receiver.refused, (n) => n >= 2, 20_000, 20);
  t.ok(receiver.refused >= 2, `the daemon retried (${receiver.refused} attempts refused)`);
  const port = receiver.port;
  await receiver.close();
  receiver.mode = 'ok';
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'o1' }));
  await sleep(700);
  t.strictSame(await receiver.of(bucket, 0), [], 'nothing delivered while the receiver is down');
  // The gauge counts every undelivered event, the one being retried included (it read one short).
  const during = await (await fetch(`${d.endpoint}/minio/v2/metrics/cluster`)).text();
  t.match(during, /s3d_notify_queue_length\{target="PRIMARY"\} 3\n/, 'three events undelivered: s3d_notify_queue_length 3');
  await receiver.listen(port);
  const got = await receiver.of(bucket, 3, 20_000);
  t.strictSame(got.map(short), [`s3:ObjectCreated:Put ${bucket}/o1`, `s3:ObjectCreated:Put ${bucket}/o2`, `s3:ObjectRemoved:Delete ${bucket}/o1`]);

  const metrics = await (await fetch(`${d.endpoint}/minio/v2/metrics/cluster`)).text();
  t.match(metrics, /s3d_notify_events_sent_total\{target="PRIMARY"\} [1-9]/);
  t.match(metrics, /s3d_notify_events_failed_total\{target="PRIMARY"\} [1-9]/);
  t.match(metrics, /s3d_notify_queue_length\{target="PRIMARY"\} 0/);
  t.match(metrics, /s3d_notify_events_dropped_total\{target="PRIMARY"\} 0/);
});

t.test('events undelivered at shutdown are delivered after a restart; the configuration survives it', async (t) => {
  const bucket = await watchedBucket('noterestart');
  const before = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  receiver.mode = '503';
  receiver.refused = 0;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'r1', Body: '1' }));
  await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'r1' }, { Key: 'r2' }] } }));
  await pollUntil(() => receiver.refused, (n) => n >= 1, 20_000, 20);
  t.equal(await d.stop(), 0, 'a clean shutdown with events queued');
  receiver.mode = 'ok';
  d = await startDaemon({ env, dataDir: d.dataDir });
  s3 = d.s3();
  const got = await receiver.of(bucket, 3);
  t.strictSame(got.map(short), [`s3:ObjectCreated:Put ${bucket}/r1`, `s3:ObjectRemoved:Delete ${bucket}/r1`, `s3:ObjectRemoved:Delete ${bucket}/r2`]);
  const after = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  t.same(after.QueueConfigurations, before.QueueConfigurations, 'the configuration is kept');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'r3', Body: '3' }));
  t.equal(short((await receiver.of(bucket, 4))[3]!), `s3:ObjectCreated:Put ${bucket}/r3`, 'and new events follow');
});

t.test('a queue limit lowered at restart: the events one write drops are logged with their number', async (t) => {
  // A target that is down (a closed port): events wait in its queue.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const downEnv = { S3_NOTIFY_WEBHOOK_ENABLE_DOWN: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_DOWN: `http://127.0.0.1:${port}/`, S3_NOTIFY_WEBHOOK_QUEUE_LIMIT_DOWN: '100' };
  let down = await startDaemon({ env: downEnv });
  const bucket = await createBucket(down.s3(), 'notedrop');
  await down.s3().send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:minio:sqs::DOWN:webhook', Events: ['s3:ObjectCreated:*'] }] } }));
  for (let i = 0; i < 20; i++) await down.s3().send(new PutObjectCommand({ Bucket: bucket, Key: `k${i}`, Body: 'x' }));
  t.equal(await down.stop(), 0);
  down = await startDaemon({ env: { ...downEnv, S3_NOTIFY_WEBHOOK_QUEUE_LIMIT_DOWN: '5' }, dataDir: down.dataDir });
  t.teardown(async () => {
    await down.stop();
    down.cleanup();
  });
  await down.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'one-more', Body: 'x' }));
  const line = await down.waitForLog((l) => l.msg === 'webhook queue full: oldest undelivered events dropped', 20_000);
  // 21 queued, 5 kept beside the one the sender holds in flight: 15 dropped by the one write.
  t.equal(line.dropped, 15, 'the line counts all 15 events the one write dropped (it said 1)');
});
