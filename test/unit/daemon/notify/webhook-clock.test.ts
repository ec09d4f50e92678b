// The webhook sender's log limiters (failures while a target stays down, events dropped at the
// queue limit) time their interval on the monotonic clock: after the wall clock stepped back an
// hour, they must not go silent for the hour. A real LMDB outbox and a target that refuses
// connections; only Date.now is stepped.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { WebhookNotifier } from '../../../../daemon/notify/webhook.js';

const HOUR = 3_600_000;
const obj = (): ObjectRecord => ({ v: RECORD_VERSION, size: 1, etag: 'e', mtime: 1, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1 });

/** A port nothing listens on (taken, then released): the target refuses connections. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** Waits (on the monotonic clock: Date.now is stepped here) until `done()` or `ms` passed. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!done() && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
}

t.test('failure and drop log lines keep coming after the wall clock stepped back', async (t) => {
  const realNow = Date.now;
  let offset = 0;
  Date.now = () => realNow() + offset;
  t.teardown(() => {
    Date.now = realNow;
  });
  const dir = mkdtempSync(join(tmpdir(), 's3d-webhook-clock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const meta = new MetaStore(dir);
  await meta.createBucket('bkt');
  const lines: Array<{ msg: string }> = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) });
  const count = (msg: string): number => lines.filter((l) => l.msg.startsWith(msg)).length;
  const target = { id: 'A', arn: 'arn:minio:sqs:us-east-1:A:webhook', endpoint: `http://127.0.0.1:${await closedPort()}/`, queueLimit: 1 };
  const notifier = new WebhookNotifier({ targets: [target], warnings: [] }, meta.notifications, log, { timeoutMs: 500, retryBaseMs: 10, retryMaxMs: 20, logEveryMs: 200 });
  t.teardown(async () => {
    await notifier.stop();
    await meta.close();
  });
  const push = async (...bodies: string[]): Promise<void> => {
    await meta.putObject('bkt', 'k', obj(), undefined, () => bodies.forEach((b) => meta.notifications.push('A', b)));
    notifier.wake(['A']);
  };

  notifier.start();
  await push('e1');
  await until(() => count('webhook delivery failed') >= 1, 2_000);
  t.ok(count('webhook delivery failed') >= 1, 'the first failure is logged');
  await push('e2', 'e3', 'e4');
  await until(() => count('webhook queue full') >= 1, 2_000);
  t.equal(count('webhook queue full'), 1, 'the first drops are logged');

  offset = -HOUR;
  const failures = count('webhook delivery failed');
  await new Promise((r) => setTimeout(r, 300));
  await push('e5', 'e6');
  await until(() => count('webhook queue full') >= 2 && count('webhook delivery failed') > failures, 1_000);
  t.ok(count('webhook delivery failed') > failures, 'failures still logged, once per interval');
  t.equal(count('webhook queue full'), 2, 'later drops logged once the interval is up');
});
