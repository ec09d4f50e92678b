// A webhook that answers with a redirect, against the real daemon and a real HTTP server: the 3xx
// is a failed delivery, logged with where it points (as its origin), never followed (no GET of the
// Location, which would lose the event as MinIO's Go client does for 301/302/303), and the event
// waits in the queue until the endpoint answers 2xx.

import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutBucketNotificationConfigurationCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemon } from '../helpers/daemon.js';
import { createBucket } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

/** Every request the server saw (method and path); it redirects while `status` is a 3xx. */
const seen: string[] = [];
let status = 302;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    seen.push(`${req.method} ${req.url}`);
    if (status >= 300) res.writeHead(status, { location: '/final/secret-path' }).end();
    else res.end('ok');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;

const d = await startDaemon({
  env: { S3_NOTIFY_WEBHOOK_ENABLE_R: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_R: `http://127.0.0.1:${port}/hook`, S3_NOTIFY_WEBHOOK_AUTH_TOKEN_R: 'tok' },
});
t.teardown(async () => {
  await d.stop();
  d.cleanup();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

for (const code of [302, 307]) {
  t.test(`a ${code} is a failed delivery, logged with its target, not followed; the event waits`, async (t) => {
    const s3 = d.s3();
    status = code;
    seen.length = 0;
    const bucket = await createBucket(s3, `noteredir${code}`);
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:minio:sqs::R:webhook', Events: ['s3:ObjectCreated:*'] }] },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
    const logged = await pollUntil(
      () => d.jsonLogs().find((l) => l.msg === 'webhook delivery failed: events stay queued and are retried' && String(l.failure).startsWith(`HTTP ${code}`)),
      (l) => l !== undefined,
      10_000,
      50,
    );
    t.match(logged?.failure, `HTTP ${code} redirect to http://127.0.0.1:${port}/…, not followed`, 'the log says it was a redirect, and to where (its origin only)');
    t.notOk(d.logs.some((l) => l.includes('secret-path')), "the Location's path is not logged");
    t.ok(seen.length >= 1 && seen.every((r) => r === 'POST /hook'), `only POSTs to the endpoint, no request to the Location (${seen.join(', ')})`);
    const redirected = seen.length;
    status = 200;
    t.ok(await pollUntil(() => seen.length > redirected, (v) => v, 10_000, 50), 'sent again, and answered 200');
    // The sender records the delivery before the next test redirects again.
    await pollUntil(() => d.jsonLogs().filter((l) => l.msg === 'webhook target reachable again: delivering queued events').length, (n) => n >= (code === 302 ? 1 : 2), 5000, 50);
  });
}
