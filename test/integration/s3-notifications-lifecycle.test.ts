// Lifecycle removals of versions as events, against the real daemon, a real HTTP receiver and a
// minio-js listener. Versions are made noncurrent three days ago by a first daemon whose clock runs
// behind (helpers/clock.ts), then a daemon with the real clock scanning every second removes them
// under NoncurrentVersionExpiration: a target asking for S3's s3:LifecycleExpiration:* gets
// s3:LifecycleExpiration:Delete, one asking for s3:ObjectRemoved:* and the listeners get MinIO's
// s3:ObjectRemoved:Delete, each naming the version removed, by the lifecycle's user agent. An
// Expiration of a Suspended bucket's null version puts a null delete marker, named "null", and
// removes it once it is a lone expired marker.

import t from 'tap';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { PutBucketLifecycleConfigurationCommand, PutBucketNotificationConfigurationCommand, PutBucketVersioningCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { shiftedClient, shiftedClockEnv } from '../helpers/clock.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { minioClient } from '../helpers/minio.js';
import { createBucket } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

const OFFSET_MS = -3 * 86_400_000;
const ILM = 'Internal: [ILM-Expiry]';

interface Rec {
  eventName: string;
  s3: { configurationId: string; object: { key: string; versionId?: string } };
  source: { userAgent: string };
}

/** What the webhooks received: the path (which target) and the one record of each POST. */
const received: Array<{ path: string; rec: Rec }> = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({ path: req.url ?? '', rec: (JSON.parse(Buffer.concat(chunks).toString()) as { Records: Rec[] }).Records[0]! });
    res.end('ok');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;

const work = mkdtempSync(join(tmpdir(), 's3d-notify-lc-'));
const targets = {
  S3_NOTIFY_WEBHOOK_ENABLE_AWS: 'on',
  S3_NOTIFY_WEBHOOK_ENDPOINT_AWS: `http://127.0.0.1:${port}/aws`,
  S3_NOTIFY_WEBHOOK_ENABLE_MINIO: 'on',
  S3_NOTIFY_WEBHOOK_ENDPOINT_MINIO: `http://127.0.0.1:${port}/minio`,
};
let d: TestDaemon = await startDaemon({ env: { ...targets, ...shiftedClockEnv(work, OFFSET_MS), S3_LIFECYCLE_SCAN_INTERVAL: '1h' } });
let s3: S3Client = shiftedClient(d, OFFSET_MS);
t.teardown(async () => {
  await d.stop();
  d.cleanup();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(work, { recursive: true, force: true });
});

async function watch(bucket: string): Promise<void> {
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: [
          { Id: 'aws', QueueArn: 'arn:minio:sqs::AWS:webhook', Events: ['s3:LifecycleExpiration:*'] },
          { Id: 'minio', QueueArn: 'arn:minio:sqs::MINIO:webhook', Events: ['s3:ObjectRemoved:*'] },
        ],
      },
    }),
  );
}

const line = (r: Rec): string => `${r.eventName} ${r.s3.object.key} ${r.s3.object.versionId} ${r.source.userAgent}`;

let versioned = '';
let suspended = '';
let v1 = '';

t.test('the first daemon writes three days in the past', async (t) => {
  versioned = await createBucket(s3, 'notelcnc');
  await s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
  await watch(versioned);
  v1 = (await s3.send(new PutObjectCommand({ Bucket: versioned, Key: 'k', Body: 'one' }))).VersionId!;
  await s3.send(new PutObjectCommand({ Bucket: versioned, Key: 'k', Body: 'two' }));
  suspended = await createBucket(s3, 'notelcsusp');
  await s3.send(new PutBucketVersioningCommand({ Bucket: suspended, VersioningConfiguration: { Status: 'Suspended' } }));
  await watch(suspended);
  await s3.send(new PutObjectCommand({ Bucket: suspended, Key: 'k', Body: 'null version' }));
  t.ok(v1, 'a version id');
  t.equal(received.length, 0, 'writes are not what these rules ask for');
});

t.test('NoncurrentVersionExpiration: s3:LifecycleExpiration:Delete to S3 rules, s3:ObjectRemoved:Delete to MinIO rules and listeners', async (t) => {
  const dataDir = d.dataDir;
  t.equal(await d.stop(), 0, 'the first daemon stops cleanly');
  d = await startDaemon({ dataDir, env: { ...targets, S3_LIFECYCLE_SCAN_INTERVAL: '1s' } });
  s3 = d.s3();
  const poller = minioClient(d).listenBucketNotification(versioned, '', '', ['s3:ObjectRemoved:*']);
  const heard: Rec[] = [];
  poller.on('notification', (r) => heard.push(r as Rec));
  t.teardown(() => poller.stop());
  await pollUntil(async () => metricSample(await scrape(`http://127.0.0.1:${d.port}`), 's3d_notify_listeners') ?? 0, (n) => n >= 1, 5000, 50);

  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: versioned,
      LifecycleConfiguration: { Rules: [{ ID: 'nc', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }] },
    }),
  );
  const ok = await pollUntil(() => received.length >= 2 && heard.length >= 1, (v) => v, 15_000, 50);
  t.ok(ok, 'the events arrived');
  const sent = received.filter((e) => e.rec.s3.object.key === 'k').map((e) => `${e.path} ${line(e.rec)} ${e.rec.s3.configurationId}`);
  t.strictSame(sent.sort(), [`/aws s3:LifecycleExpiration:Delete k ${v1} ${ILM} aws`, `/minio s3:ObjectRemoved:Delete k ${v1} ${ILM} minio`], 'each target once, naming the version removed');
  t.strictSame(heard.map(line), [`s3:ObjectRemoved:Delete k ${v1} ${ILM}`], "the listener by MinIO's name");
});

t.test("Expiration of a Suspended bucket's null version: a null delete marker, then its removal, named \"null\"", async (t) => {
  received.length = 0;
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: suspended,
      LifecycleConfiguration: { Rules: [{ ID: 'exp', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Date: new Date('2020-01-01T00:00:00Z') } }] },
    }),
  );
  // The marker is then a lone expired delete marker, which the rule removes at a later scan.
  t.ok(await pollUntil(() => received.length >= 4, (v) => v, 15_000, 50), 'the events arrived');
  const to = (path: string): string[] => received.filter((e) => e.path === path).map((e) => line(e.rec));
  t.strictSame(to('/aws'), [`s3:LifecycleExpiration:DeleteMarkerCreated k null ${ILM}`, `s3:LifecycleExpiration:Delete k null ${ILM}`]);
  t.strictSame(to('/minio'), [`s3:ObjectRemoved:DeleteMarkerCreated k null ${ILM}`, `s3:ObjectRemoved:Delete k null ${ILM}`]);
});
