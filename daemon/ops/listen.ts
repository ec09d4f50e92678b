// ListenBucketNotification (`GET /bucket?events=…`) and ListenNotification (`GET /?events=…`),
// MinIO's extension that mc watch, minio-js and minio-go use: the request stays open and receives
// the bucket's events as JSON lines (notify/listen.ts).

import { S3Error } from '../errors.js';
import { clientNetwork } from '../ip-ranges.js';
import { LISTEN_EVENTS, type ListenHolder } from '../notify/listen.js';
import { requireBucket, type OpsEnv } from './env.js';
import { EVENT_ERROR, MAX_FILTER_VALUE_BYTES, principalOf } from './notification.js';
import { listenJudge, requestFacts } from './policy.js';
import type { RequestContext, Result } from './types.js';

function single(q: URLSearchParams, name: string): string {
  const all = q.getAll(name);
  if (all.length > 1) throw new S3Error('InvalidArgument', `Only one ${name} may be given.`);
  const v = all[0] ?? '';
  if (Buffer.byteLength(v) > MAX_FILTER_VALUE_BYTES) throw new S3Error('InvalidArgument', `The ${name} filter is longer than ${MAX_FILTER_VALUE_BYTES} bytes.`);
  return v;
}

export async function handleListen(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  if (ctx.bucket !== undefined) requireBucket(env, ctx.bucket);
  const q = ctx.query;
  const prefix = single(q, 'prefix');
  const suffix = single(q, 'suffix');
  const events = q.getAll('events');
  if (events.length === 0) throw new S3Error('InvalidArgument', 'Name the events to listen to (events=s3:ObjectCreated:* and so on).');
  for (const e of events) {
    // MinIO's message first (minio-js's own tests match it), then what s3d sends.
    if (!LISTEN_EVENTS.has(e)) throw new S3Error('InvalidArgument', `${EVENT_ERROR} s3d cannot send the event ${JSON.stringify(e)} to listeners; it sends ${[...LISTEN_EVENTS].join(', ')}.`);
  }
  const ping = q.get('ping');
  let pingSeconds: number | undefined;
  if (ping !== null) {
    if (!/^\d{1,6}$/.test(ping) || Number(ping) < 1) throw new S3Error('InvalidArgument', 'ping must be a whole number of seconds, at least 1.');
    pingSeconds = Number(ping);
  }
  if (env.listeners === undefined) throw new S3Error('NotImplemented', 'Listening to events is not available.');
  // Each open stream costs a match per event and up to ~1 MiB of waiting events: S3_LISTEN_MAX,
  // shared out so that no one user, nor one anonymous client, nor a few of them together, can
  // take every place. A user's STS sessions are that user: a fresh session key per stream would
  // otherwise escape the share. Unsigned requests are told apart by the client's network, as
  // client-address.ts names the client (behind S3_TRUSTED_PROXIES, X-Forwarded-For's), read now
  // while the request is live.
  const holder: ListenHolder =
    ctx.accessKey === env.config.rootUser ? { kind: 'root' } : ctx.accessKey === '' ? { kind: 'anonymous', client: clientNetwork(ctx.remoteAddress ?? '') } : { kind: 'user', principal: principalOf(env, ctx.accessKey) };
  const refused = env.listeners.refusal(holder);
  if (refused !== undefined) throw new S3Error('SlowDown', refused);
  // The socket's address now, while the request is live: the judge asks for it with every event.
  const may = listenJudge(env, { accessKey: ctx.accessKey, ...(ctx.bucket !== undefined ? { bucket: ctx.bucket } : {}), ...requestFacts(ctx) });
  const filter = { bucket: ctx.bucket, events, prefix, suffix, ...(pingSeconds !== undefined ? { pingSeconds } : {}), ...(may !== undefined ? { may } : {}) };
  const chunks = env.listeners.listen(filter, ctx.signal, holder);
  if (chunks === undefined) throw new S3Error('ServiceUnavailable', 'The server is shutting down.');
  return {
    status: 200,
    // MinIO's event-stream headers: proxies must pass each line on at once.
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
    body: { length: undefined, chunks },
  };
}
