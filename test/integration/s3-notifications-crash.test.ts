// Bucket notification delivery across a crash and a configuration change, against the real daemon
// and two real HTTP receivers: events committed while one target hangs survive a SIGKILL and reach
// it after the restart, each once and in commit order, while the other target kept receiving
// throughout (a hanging target holds back no one else; after the crash it may get again what it
// had not yet been recorded as having, as operations.md says: at least once). Events of a target
// removed from the configuration stay stored (a warning names them) and are delivered once it is
// configured again.

import t from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutBucketNotificationConfigurationCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createBucket, putMany } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

interface Event {
  EventName: string;
  Key: string;
  Records: Array<{ s3: { object: { sequencer: string } } }>;
}

/** A webhook receiver: answers 200, or 503, or holds every request unanswered. */
class Receiver {
  readonly events: Event[] = [];
  mode: 'ok' | '503' | 'hang' = 'ok';
  refused = 0;
  readonly held: ServerResponse[] = [];
  private readonly server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.mode === 'hang') return void this.held.push(res);
      if (this.mode === '503') {
        this.refused++;
        return void res.writeHead(503).end();
      }
      this.events.push(JSON.parse(Buffer.concat(chunks).toString()) as Event);
      res.end('ok');
    });
  });
  port = 0;

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  keys(): string[] {
    return this.events.map((e) => e.Key.slice(e.Key.indexOf('/') + 1));
  }

  async close(): Promise<void> {
    for (const res of this.held.splice(0)) res.destroy();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

const a = new Receiver();
const b = new Receiver();
await a.listen();
await b.listen();
const targetA = { S3_NOTIFY_WEBHOOK_ENABLE_A: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_A: `http://127.0.0.1:${a.port}/a` };
const targetB = { S3_NOTIFY_WEBHOOK_ENABLE_B: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_B: `http://127.0.0.1:${b.port}/b` };
const both = { ...targetA, ...targetB };

let d: TestDaemon = await startDaemon({ env: both });
t.teardown(async () => {
  await d.stop();
  d.cleanup();
  await a.close();
  await b.close();
});

async function bucketFor(targets: string[]): Promise<string> {
  const bucket = await createBucket(d.s3(), 'notecrash');
  await d.s3().send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { QueueConfigurations: targets.map((id) => ({ QueueArn: `arn:minio:sqs::${id}:webhook`, Events: ['s3:ObjectCreated:*'] })) },
    }),
  );
  return bucket;
}

t.test('SIGKILL with events undelivered: after the restart each reaches its target once, in commit order; a hanging target held back no other', async (t) => {
  const bucket = await bucketFor(['A', 'B']);
  a.mode = 'hang';
  const keys = Array.from({ length: 300 }, (_, i) => `k${String(i).padStart(3, '0')}`);
  // Concurrent writes: the commit order is whatever it is, B's deliveries show it.
  await putMany(d, bucket, keys, undefined, 8);
  const atB = await pollUntil(() => b.events.length, (n) => n >= keys.length, 30_000, 50);
  t.equal(atB, keys.length, 'B received every event while A held its first one unanswered');
  t.equal(a.held.length, 1, 'A holds one request; the rest wait behind it');
  const commitOrder = b.keys().slice(0, keys.length);
  t.strictSame([...commitOrder].sort(), keys, 'B got each key once');

  t.equal(await d.stop('SIGKILL'), null, 'killed');
  for (const res of a.held.splice(0)) res.destroy();
  a.mode = 'ok';
  d = await startDaemon({ env: both, dataDir: d.dataDir });
  await pollUntil(() => a.events.length, (n) => n >= keys.length, 60_000, 50);
  t.strictSame(a.keys(), commitOrder, 'A got all 300, each once, in the order they committed');
  const seq = a.events.map((e) => BigInt(`0x${e.Records[0]!.s3.object.sequencer}`));
  t.ok(seq.every((s, i) => i === 0 || s > seq[i - 1]!), 'their sequencers rise');
  // B may get again the tail whose delivery was not yet recorded when the process died, but only
  // events it already had, and in the same order.
  const again = b.keys().slice(keys.length);
  t.strictSame(again, commitOrder.slice(commitOrder.length - again.length), `what B got again (${again.length}) is the tail of what it had, in order`);
});

t.test('a target removed from the configuration keeps its events until it is configured again', async (t) => {
  const bucket = await bucketFor(['A', 'B']);
  a.events.length = 0;
  a.mode = '503';
  a.refused = 0;
  for (const key of ['x1', 'x2', 'x3']) await d.s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
  await pollUntil(() => a.refused, (n) => n >= 1, 20_000, 20);
  t.equal(await d.stop(), 0);

  // Without A: its events are kept, and said to be; B's deliveries go on.
  d = await startDaemon({ env: targetB, dataDir: d.dataDir });
  const kept = d.jsonLogs().find((l) => l.msg === 'undelivered notification events for a webhook target that is no longer configured: kept until it is');
  t.match(kept, { target: 'A', events: 3 }, 'the warning names the target and its events');
  await d.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'x4', Body: 'x4' }));
  await pollUntil(() => b.keys().includes('x4'), (v) => v, 20_000, 20);
  t.equal(await d.stop(), 0);

  a.mode = 'ok';
  d = await startDaemon({ env: both, dataDir: d.dataDir });
  await pollUntil(() => a.events.length, (n) => n >= 3, 20_000, 20);
  await d.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'x5', Body: 'x5' }));
  await pollUntil(() => a.events.length, (n) => n >= 4, 20_000, 20);
  t.strictSame(a.keys(), ['x1', 'x2', 'x3', 'x5'], 'the kept events, in order, then the new one (x4 was written while A did not exist)');
});
