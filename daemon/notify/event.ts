// The JSON a webhook receives for one event, in MinIO's shape: `{"EventName", "Key", "Records":
// [one S3 event record]}`, the record as AWS documents it with MinIO's values (eventVersion 2.0,
// eventSource minio:s3, `s3:`-prefixed eventName, the key query-escaped, a `source` block).
// Pure.

import type { EventName } from './rules.js';

/** Who caused the event. */
export interface EventOrigin {
  readonly requestId: string;
  /** The answering host's x-amz-id-2 ('' for the lifecycle scan), which S3 and MinIO put beside the request id. */
  readonly hostId: string;
  /** Access key of the request's user (of an STS session: its user's), '' for anonymous requests and the lifecycle scan. */
  readonly principalId: string;
  readonly sourceIp: string;
  readonly userAgent: string;
}

/** What a created event says about the object (removed events carry the key only). */
export interface EventObject {
  readonly size: number;
  readonly etag: string;
  readonly mtime: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly userMeta: Readonly<Record<string, string>>;
  /** The version created (absent for the null version). */
  readonly versionId?: string;
}

export interface EventInput {
  readonly name: EventName;
  readonly region: string;
  readonly bucket: string;
  readonly key: string;
  readonly configurationId: string;
  readonly origin: EventOrigin;
  /** For created events. */
  readonly object?: EventObject;
  /** The version named when the object's own is absent: the version removed or delete marker created, "null" for a versioned bucket's null version. */
  readonly versionId?: string;
  /** Event time, ms since the epoch. */
  readonly time: number;
  /** Orders the events of a key (nextSequencer); absent: from the object's mtime (read events). */
  readonly sequencer?: bigint;
}

/** Go's url.QueryEscape, which MinIO applies to the key: only A-Z a-z 0-9 - _ . ~ stay, space is '+'. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

/**
 * The stored headers MinIO's userMetadata holds, under their lower-case names as it stores them
 * (its supportedHeaders; Expires is among those but its cleanMetadata leaves it out).
 */
const METADATA_HEADERS = ['content-type', 'content-encoding', 'cache-control', 'content-disposition', 'content-language'] as const;

/** x-amz-meta-foo-bar → X-Amz-Meta-Foo-Bar (Go's canonical header form, as MinIO reports it). */
function canonicalHeader(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

/** A hex nanosecond timestamp, as MinIO's sequencer (the object's modification time). */
function sequencer(ms: number): string {
  return (BigInt(Math.trunc(ms)) * 1_000_000n).toString(16).toUpperCase();
}

/**
 * In memory only: a clock stepped back across a restart can give a later event a smaller
 * sequencer than one sent before the restart. Not persisted, deliberately: S3 promises order only
 * among the events of one key (and says nothing across keys), a key's events across a restart are
 * ordered unless the clock went back, and storing it would add a write to every commit that
 * stages an event to guard against a misconfigured clock, which breaks Last-Modified too.
 */
let lastSequencer = 0n;

/**
 * The sequencer of a write or delete event, taken in its commit transaction: nanoseconds of the
 * commit, and always above the one before, so that of two events of a key the later commit has the
 * greater sequencer (as S3 promises receivers that order by it) and no two events share one. The
 * object's mtime was not: a completed upload carries its initiation time, and a PUT's mtime is
 * taken before its commit queues behind others.
 */
export function nextSequencer(ms: number): bigint {
  const at = BigInt(Math.trunc(ms)) * 1_000_000n;
  lastSequencer = at > lastSequencer ? at : lastSequencer + 1n;
  return lastSequencer;
}

export function eventRecord(e: EventInput): Record<string, unknown> {
  const o = e.object;
  const object: Record<string, unknown> = { key: queryEscape(e.key) };
  if (o !== undefined) {
    object.size = o.size;
    object.eTag = o.etag;
    const contentType = o.headers['content-type'];
    if (contentType !== undefined) object.contentType = contentType;
    const meta: Record<string, string> = {};
    for (const name of METADATA_HEADERS) if (o.headers[name] !== undefined) meta[name] = o.headers[name];
    for (const [k, v] of Object.entries(o.userMeta)) meta[canonicalHeader(k)] = v;
    object.userMetadata = meta;
  }
  const versionId = o?.versionId ?? e.versionId;
  if (versionId !== undefined) object.versionId = versionId;
  object.sequencer = e.sequencer !== undefined ? e.sequencer.toString(16).toUpperCase() : sequencer(o?.mtime ?? e.time);
  return {
    eventVersion: '2.0',
    eventSource: 'minio:s3',
    awsRegion: e.region,
    eventTime: new Date(e.time).toISOString(),
    eventName: e.name,
    userIdentity: { principalId: e.origin.principalId },
    requestParameters: { principalId: e.origin.principalId, region: e.region, sourceIPAddress: e.origin.sourceIp },
    responseElements: { 'x-amz-request-id': e.origin.requestId, 'x-amz-id-2': e.origin.hostId },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: e.configurationId,
      bucket: { name: e.bucket, ownerIdentity: { principalId: e.origin.principalId }, arn: `arn:aws:s3:::${e.bucket}` },
      object,
    },
    source: { host: e.origin.sourceIp, port: '', userAgent: e.origin.userAgent },
  };
}

/** The body POSTed to a webhook for one event. */
export function webhookBody(e: EventInput): string {
  return JSON.stringify({ EventName: e.name, Key: `${e.bucket}/${e.key}`, Records: [eventRecord(e)] });
}
