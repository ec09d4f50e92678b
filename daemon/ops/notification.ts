// Bucket event notifications to webhooks, as MinIO has them: Put/GetBucketNotificationConfiguration
// (QueueConfiguration entries naming a configured webhook target's ARN, event names, an S3Key
// prefix/suffix filter), and staging the events of object writes and deletes. An event is written
// to the outbox (meta/notify-queue.ts) inside the metadata transaction of the change itself, so
// it is exactly as durable as the change; notify/webhook.ts delivers it after the response.
// Buckets without a configuration pay one property check per write.

import { randomUUID } from 'node:crypto';
import { S3Error } from '../errors.js';
import type { BucketRecord, NotificationRule } from '../meta/records.js';
import { eventRecord, nextSequencer, webhookBody, type EventInput, type EventObject, type EventOrigin } from '../notify/event.js';
import type { EventListeners } from '../notify/listen.js';
import type { VersionedDelete } from '../meta/store.js';
import { NULL_VERSION } from '../meta/versions.js';
import { compileRules, expiryTargets, matchTargets, SUPPORTED_EVENTS, TAGGING_NAMES, type CompiledRule, type EventName, type RemovedName } from '../notify/rules.js';
import { parseArn } from '../notify/targets.js';
import type { WebhookNotifier } from '../notify/webhook.js';
import { requireBucket, updateSeenBucket, type OpsEnv } from './env.js';
import type { RequestContext, Result } from './types.js';
import { parseDocument, toXml, xmlElement, xmlFields, xmlList, xmlText, type XmlObject } from './xml.js';

const MAX_XML_BODY = 256 * 1024;
const MAX_CONFIGURATIONS = 1000;
/**
 * The elements and attributes a notification configuration may hold (parseXml refuses more before
 * the parse): MAX_CONFIGURATIONS of up to 20 each. A configuration has ~11 besides its Events
 * (Id, Queue, a Filter of two FilterRules); the 256 KiB read holds ~13,000 elements of legal ones
 * (an Event is 33 bytes and more, a QueueConfiguration with its Queue ~80).
 */
const MAX_NOTIFICATION_MARKUP = 2 + MAX_CONFIGURATIONS * 20;
const MAX_ID_CHARS = 255;
/** The longest prefix or suffix filter value (rules here, listen requests in ops/listen.ts). */
export const MAX_FILTER_VALUE_BYTES = 1024;

// MinIO's answers (cmd/api-errors.go).
const ARN_ERROR = 'A specified destination ARN does not exist or is not well-formed. Verify the destination ARN.';
export const EVENT_ERROR = 'A specified event is not supported for notifications.';
const REGION_ERROR = 'A specified destination is in a different region than the bucket. You must use a destination that resides in the same region as the bucket.';
const OVERLAP_ERROR = 'Configurations overlap. Configurations on the same bucket cannot share a common event type.';

export interface TargetLookup {
  readonly region: string;
  has(id: string): boolean;
}

function parseFilter(raw: unknown): { prefix?: string; suffix?: string } {
  const filter = xmlFields(raw, ['S3Key'], 'Filter');
  const out: { prefix?: string; suffix?: string } = {};
  for (const r of xmlList(xmlFields(filter.S3Key, ['FilterRule'], 'S3Key').FilterRule)) {
    const rule = xmlFields(r, ['Name', 'Value'], 'FilterRule');
    const name = xmlText(rule.Name ?? '', 'FilterRule Name').trim().toLowerCase();
    if (name !== 'prefix' && name !== 'suffix') throw new S3Error('InvalidArgument', 'filter rule name must be either prefix or suffix');
    if (out[name] !== undefined) throw new S3Error('InvalidArgument', `Cannot specify more than one ${name} rule in a filter.`);
    // The value exactly as sent (the document is parsed untrimmed): a key may begin or end with
    // spaces, and a prefix "logs " trimmed to "logs" would match "logs2/..." as well.
    const value = rule.Value === undefined ? '' : xmlText(rule.Value, 'FilterRule Value');
    if (Buffer.byteLength(value) > MAX_FILTER_VALUE_BYTES) throw new S3Error('InvalidArgument', `A filter rule value is at most ${MAX_FILTER_VALUE_BYTES} bytes.`);
    if (value !== '') out[name] = value;
  }
  return out;
}

/**
 * Parses a NotificationConfiguration document into the rules to store ([] removes the
 * configuration). Topic, CloudFunction and EventBridge configurations are NotImplemented; a Queue
 * ARN must name a configured webhook target in this region (or in none, as MinIO prints ARNs).
 */
export function parseNotificationConfiguration(body: Buffer, targets: TargetLookup): NotificationRule[] {
  // Untrimmed: filter values are kept exactly (parseFilter); the other texts are trimmed here.
  const raw = xmlElement(parseDocument(body, 'NotificationConfiguration', { trim: false, maxMarkup: MAX_NOTIFICATION_MARKUP }), 'NotificationConfiguration');
  for (const k of ['TopicConfiguration', 'CloudFunctionConfiguration', 'EventBridgeConfiguration']) {
    if (raw[k] !== undefined) throw new S3Error('NotImplemented', 's3d sends bucket notifications to webhooks (QueueConfiguration with an arn:minio:sqs ARN) only; Topic, CloudFunction and EventBridge configurations are not supported.');
  }
  const conf = xmlFields(raw, ['QueueConfiguration'], 'NotificationConfiguration');
  const queues = xmlList(conf.QueueConfiguration);
  if (queues.length > MAX_CONFIGURATIONS) throw new S3Error('MalformedXML', `At most ${MAX_CONFIGURATIONS} QueueConfiguration entries are allowed.`);
  const rules: NotificationRule[] = [];
  const seen = new Set<string>();
  const ids = new Set<string>();
  for (const q of queues) {
    const c = xmlFields(q, ['Id', 'Queue', 'Event', 'Filter'], 'QueueConfiguration');
    const id = c.Id === undefined ? undefined : xmlText(c.Id, 'Id').trim();
    if (id !== undefined && id.length > MAX_ID_CHARS) throw new S3Error('InvalidArgument', `Id is at most ${MAX_ID_CHARS} characters.`);
    // S3's answer (events name their rule by Id: two rules with one Id could not be told apart).
    if (id !== undefined && id !== '' && ids.has(id)) throw new S3Error('InvalidArgument', 'Same ID used for multiple configurations. IDs must be unique.');
    if (id !== undefined) ids.add(id);
    const arnText = c.Queue === undefined ? '' : xmlText(c.Queue, 'Queue').trim();
    const arn = parseArn(arnText);
    if (arn === undefined || arn.type !== 'webhook') throw new S3Error('InvalidArgument', ARN_ERROR);
    if (arn.region !== '' && arn.region !== targets.region) throw new S3Error('InvalidArgument', REGION_ERROR);
    if (!targets.has(arn.id)) throw new S3Error('InvalidArgument', ARN_ERROR);
    const events = xmlList(c.Event).map((e) => xmlText(e, 'Event').trim());
    if (events.length === 0) throw new S3Error('MalformedXML', 'Each QueueConfiguration needs at least one Event.');
    for (const e of events) if (!SUPPORTED_EVENTS.has(e)) throw new S3Error('InvalidArgument', EVENT_ERROR);
    if (new Set(events).size !== events.length) throw new S3Error('InvalidArgument', OVERLAP_ERROR);
    const filter = parseFilter(c.Filter);
    // MinIO refuses only exact repeats (same target, events and filter); S3 also refuses rules of
    // one event type whose prefixes and suffixes overlap (operations.md, deliberate differences).
    const sig = JSON.stringify([arn.id, [...events].sort(), filter.prefix ?? '', filter.suffix ?? '']);
    if (seen.has(sig)) throw new S3Error('InvalidArgument', OVERLAP_ERROR);
    seen.add(sig);
    // "If you don't provide one, Amazon S3 will assign an ID" (S3's NotificationConfiguration
    // reference); S3's look like base64 of a UUID. Events then name it as their configurationId.
    rules.push({ id: id !== undefined && id !== '' ? id : Buffer.from(randomUUID()).toString('base64'), arn: arnText, events, ...filter });
  }
  return rules;
}

/** The stored rules as a GetBucketNotificationConfiguration document. */
export function notificationXml(rules: readonly NotificationRule[]): string {
  return toXml('NotificationConfiguration', {
    QueueConfiguration: rules.map((r) => {
      const out: XmlObject = {};
      if (r.id !== undefined) out.Id = r.id;
      const filterRules: XmlObject[] = [];
      if (r.prefix !== undefined) filterRules.push({ Name: 'prefix', Value: r.prefix });
      if (r.suffix !== undefined) filterRules.push({ Name: 'suffix', Value: r.suffix });
      if (filterRules.length > 0) out.Filter = { S3Key: { FilterRule: filterRules } };
      out.Event = [...r.events];
      out.Queue = r.arn;
      return out;
    }),
  });
}

// ---- handlers

export async function handlePutBucketNotification(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const seen = requireBucket(env, ctx.bucket);
  const lookup: TargetLookup = { region: env.config.region, has: (id) => env.notify?.has(id) ?? false };
  const rules = parseNotificationConfiguration(await ctx.body.readAll(MAX_XML_BODY), lookup);
  await updateSeenBucket(env, seen, (b) => {
    const { notification: _drop, ...rest } = b;
    return rules.length > 0 ? { ...rest, notification: rules } : rest;
  });
  return { status: 200 };
}

export async function handleGetBucketNotification(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = requireBucket(env, ctx.bucket);
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: notificationXml(b.notification ?? []) };
}

// ---- staging events

/** The lifecycle scan's identity in events (MinIO's user agent for ILM expiry). */
export const LIFECYCLE_ORIGIN: EventOrigin = Object.freeze({ requestId: '', hostId: '', principalId: '', sourceIp: '', userAgent: 'Internal: [ILM-Expiry]' });

type Heard = Array<{ readonly name: string; readonly key: string; readonly record: unknown }>;

/** What an event says besides its name and key, and who gets it by which name. */
interface StageOptions {
  /** A created or tagged object, as stored. */
  readonly object?: EventObject;
  /** A removal: the version removed or the delete marker created (undefined: the null version). */
  readonly versionId?: string;
  /** A removal done by the lifecycle (targets asking for s3:LifecycleExpiration:* get that name). */
  readonly lifecycle?: boolean;
  /** The name listeners hear it by (MinIO's), when not the event's own. */
  readonly heardAs?: EventName;
}

/**
 * The version id an event names: the version's own, or "null" for the null version of a bucket
 * that has (or had) versioning, as MinIO names it there (its ToObjectInfo gives the null version
 * of a versioned or suspended bucket the id "null", which its events carry) and as a read's
 * x-amz-version-id does (readVersionHeader); none in a bucket never versioned, as S3 and MinIO.
 */
function eventVersionId(versioned: boolean, versionId: string | undefined): string | undefined {
  return versionId ?? (versioned ? NULL_VERSION : undefined);
}

function isRemoval(name: EventName): name is RemovedName {
  return name === 's3:ObjectRemoved:Delete' || name === 's3:ObjectRemoved:DeleteMarkerCreated';
}

/**
 * The events one operation on one bucket causes. stage*() build the webhook bodies and return the
 * hook a MetaStore mutation runs inside its transaction (undefined when no rule matches and
 * nobody listens, so the transaction does nothing extra); wake() tells the senders once the
 * mutation has committed, and hands the events to the listeners (ListenBucketNotification).
 */
export class ObjectEvents {
  private readonly woken = new Set<string>();
  private readonly heard: Heard = [];
  private originValue: EventOrigin | undefined;

  constructor(
    private readonly notify: WebhookNotifier | undefined,
    private readonly region: string,
    private readonly bucket: string,
    private readonly rules: readonly CompiledRule[],
    private readonly origin: () => EventOrigin,
    /** Whether the bucket has (or had) versioning: its null version is named "null" (eventVersionId). */
    private readonly versioned: boolean,
    private readonly listeners?: EventListeners,
  ) {}

  private input(name: EventName, key: string, time: number, configurationId: string, sequencer: bigint, opts: StageOptions): EventInput {
    this.originValue ??= this.origin();
    const { object } = opts;
    const versionId = eventVersionId(this.versioned, object !== undefined ? object.versionId : opts.versionId);
    return { name, region: this.region, bucket: this.bucket, key, configurationId, origin: this.originValue, object, time, sequencer, ...(versionId !== undefined ? { versionId } : {}) };
  }

  /** Target id → the name and configuration id it gets the event by (a lifecycle removal: expiryTargets). */
  private targetsOf(name: EventName, key: string, lifecycle: boolean): ReadonlyMap<string, { readonly name: EventName; readonly configurationId: string }> {
    if (lifecycle && isRemoval(name)) return expiryTargets(this.rules, name, key);
    return new Map([...matchTargets(this.rules, name, key)].map(([t, configurationId]) => [t, { name, configurationId }]));
  }

  /**
   * Called in the commit transaction, in commit order: the event's sequencer is taken here. The
   * targets get it by `name` (S3's; a removal by the lifecycle as s3:LifecycleExpiration:* to the
   * targets that ask for it), the listeners by opts.heardAs (MinIO's) when given.
   */
  private stage(name: EventName, key: string, time: number, opts: StageOptions = {}): void {
    const sequencer = nextSequencer(time);
    if (this.notify !== undefined) {
      for (const [target, sent] of this.targetsOf(name, key, opts.lifecycle === true)) {
        if (!this.notify.has(target)) continue;
        this.notify.queue.push(target, webhookBody(this.input(sent.name, key, time, sent.configurationId, sequencer, opts)), time);
        this.woken.add(target);
      }
    }
    // Listeners get the event after the commit (wake), as MinIO's listen streams carry it.
    const heardAs = opts.heardAs ?? name;
    if (this.listeners?.wants(this.bucket, heardAs, key)) this.heard.push({ name: heardAs, key, record: eventRecord(this.input(heardAs, key, time, 'Config', sequencer, opts)) });
  }

  private wanted(name: EventName, key: string, heardAs: EventName = name): boolean {
    return (this.notify !== undefined && matchTargets(this.rules, name, key).size > 0) || this.listeners?.wants(this.bucket, heardAs, key) === true;
  }

  private removalWanted(key: string, lifecycle: boolean): boolean {
    const names: EventName[] = ['s3:ObjectRemoved:Delete', 's3:ObjectRemoved:DeleteMarkerCreated'];
    if (lifecycle) names.push('s3:LifecycleExpiration:Delete', 's3:LifecycleExpiration:DeleteMarkerCreated');
    return names.some((n) => this.wanted(n, key));
  }

  /**
   * An object was written (PutObject, POST, CopyObject, CompleteMultipartUpload): the hook, called
   * in the write's transaction with the record as stored (its version id), stages the events.
   */
  created(name: EventName, key: string, object: EventObject): ((stored?: EventObject) => void) | undefined {
    if (!this.wanted(name, key)) return undefined;
    return (stored) => this.stage(name, key, Date.now(), { object: stored ?? object });
  }

  /**
   * PutObjectTagging (`put`) or DeleteObjectTagging changed the tags of an object: the hook, called
   * in the update's transaction with the record as stored (its version id, in a versioned bucket
   * the version addressed), stages s3:ObjectTagging:Put or :Delete for webhook rules and MinIO's
   * s3:ObjectCreated:PutTagging or :DeleteTagging for listeners.
   */
  tagged(kind: keyof typeof TAGGING_NAMES, key: string): ((stored: EventObject) => void) | undefined {
    const { s3, minio } = TAGGING_NAMES[kind];
    if (!this.wanted(s3, key, minio)) return undefined;
    return (stored) => this.stage(s3, key, Date.now(), { object: stored, heardAs: minio });
  }

  /**
   * Keys a request (DeleteObject, DeleteObjects) or the lifecycle (`lifecycle`) deletes, in order:
   * the hook gets what each delete did (undefined: nothing, a version that did not exist) and
   * stages Delete or DeleteMarkerCreated (for the lifecycle, S3's LifecycleExpiration names to the
   * targets that ask for them: see stage).
   */
  deleted(keys: readonly string[], lifecycle = false): ((results: ReadonlyArray<VersionedDelete | undefined>) => void) | undefined {
    if (!keys.some((k) => this.removalWanted(k, lifecycle))) return undefined;
    return (results) => {
      const time = Date.now();
      keys.forEach((key, i) => {
        const r = results[i];
        if (r === undefined || r.locked || r.refused !== undefined || r.absent) return;
        if (r.marker !== undefined) this.stage('s3:ObjectRemoved:DeleteMarkerCreated', key, time, { versionId: r.marker.versionId, lifecycle });
        else this.stage('s3:ObjectRemoved:Delete', key, time, { versionId: r.removed?.versionId, lifecycle });
      });
    };
  }

  /** After the commit: the senders of every target that got an event look at the queue; listeners hear it. */
  wake(): void {
    if (this.woken.size > 0) this.notify?.wake(this.woken);
    if (this.heard.length > 0) this.listeners?.publish(this.bucket, this.heard.splice(0));
  }
}

/**
 * Events of bucket `b` by whoever `origin` names; undefined (no work at all) when it has no
 * notification rules and nobody listens to it.
 */
export function bucketEvents(notify: WebhookNotifier | undefined, region: string, b: BucketRecord | undefined, origin: () => EventOrigin, listeners?: EventListeners): ObjectEvents | undefined {
  if (b === undefined) return undefined;
  const rules = b.notification === undefined || notify === undefined ? [] : compileRules(b.notification);
  if (rules.length === 0 && listeners?.watching(b.name) !== true) return undefined;
  return new ObjectEvents(notify, region, b.name, rules, origin, b.versioning !== undefined, listeners);
}

/**
 * Who an event names for a request signed with `accessKey`: the user whose STS session it is, as
 * MinIO names a session's parent user; the session's temporary key means nothing once it expires.
 */
export function principalOf(env: OpsEnv, accessKey: string): string {
  if (accessKey === '') return accessKey;
  return env.users?.().get(accessKey)?.session?.parent ?? accessKey;
}

function requestOrigin(env: OpsEnv, ctx: RequestContext, accessKey: string): () => EventOrigin {
  return () => ({ requestId: ctx.requestId, hostId: ctx.hostId ?? '', principalId: principalOf(env, accessKey), sourceIp: ctx.remoteAddress ?? '', userAgent: ctx.headers['user-agent'] ?? '' });
}

/** The events a request on bucket `b` causes (see bucketEvents); a form upload names its policy's signer. */
export function requestEvents(env: OpsEnv, ctx: RequestContext, b: BucketRecord | undefined, accessKey = ctx.accessKey): ObjectEvents | undefined {
  return bucketEvents(env.notify, env.config.region, b, requestOrigin(env, ctx, accessKey), env.listeners);
}

/** A read (GET or HEAD of an object) for the listeners that asked for s3:ObjectAccessed events. */
export function objectAccessed(env: OpsEnv, ctx: RequestContext, name: 's3:ObjectAccessed:Get' | 's3:ObjectAccessed:Head', key: string, object: EventObject): void {
  const l = env.listeners;
  if (l === undefined || !l.wants(ctx.bucket!, name, key)) return;
  const origin = requestOrigin(env, ctx, ctx.accessKey)();
  const versionId = eventVersionId(env.meta.getBucket(ctx.bucket!)?.versioning !== undefined, object.versionId);
  const record = eventRecord({ name, region: env.config.region, bucket: ctx.bucket!, key, configurationId: 'Config', origin, object, time: Date.now(), ...(versionId !== undefined ? { versionId } : {}) });
  l.publish(ctx.bucket!, [{ name, key, record }]);
}
