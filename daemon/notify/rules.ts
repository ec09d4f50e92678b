// Which notification rules an event matches: event names (MinIO's spelling, `s3:` included),
// the `*` wildcards, and the S3Key prefix/suffix filter. Pure; the parsed rules of a bucket are
// compiled once per bucket record.

import type { NotificationRule } from '../meta/records.js';
import { parseArn } from './targets.js';

/** The events s3d fires. */
export type EventName =
  | 's3:ObjectCreated:Put'
  | 's3:ObjectCreated:Post'
  | 's3:ObjectCreated:Copy'
  | 's3:ObjectCreated:CompleteMultipartUpload'
  | 's3:ObjectRemoved:Delete'
  | 's3:ObjectRemoved:DeleteMarkerCreated'
  // Lifecycle expiry, to rules that ask for these names (expiryTargets).
  | 's3:LifecycleExpiration:Delete'
  | 's3:LifecycleExpiration:DeleteMarkerCreated'
  // PutObjectTagging and DeleteObjectTagging: S3's names to webhook rules, MinIO's to listeners
  // (TAGGING_NAMES).
  | 's3:ObjectTagging:Put'
  | 's3:ObjectTagging:Delete'
  | 's3:ObjectCreated:PutTagging'
  | 's3:ObjectCreated:DeleteTagging'
  // Only to listeners (notify/listen.ts), not to webhooks.
  | 's3:ObjectAccessed:Get'
  | 's3:ObjectAccessed:Head';

/** Object event names a QueueConfiguration or a listener (notify/listen.ts) may list. */
export const OBJECT_EVENTS: ReadonlySet<string> = new Set([
  's3:ObjectCreated:*',
  's3:ObjectCreated:Put',
  's3:ObjectCreated:Post',
  's3:ObjectCreated:Copy',
  's3:ObjectCreated:CompleteMultipartUpload',
  's3:ObjectRemoved:*',
  's3:ObjectRemoved:Delete',
  's3:ObjectRemoved:DeleteMarkerCreated',
]);

/**
 * Event names a QueueConfiguration may list: the object events and S3's lifecycle expiry, object
 * tagging and object ACL names (MinIO knows none of these; listeners keep MinIO's names).
 * s3:ObjectAcl:Put is accepted but never sent: S3 sends it only when a PutObjectAcl changes the
 * ACL, and the one ACL s3d accepts (the owner's FULL_CONTROL, ops/acl.ts) is the one every object
 * already has. Others S3 or MinIO know (ObjectAccessed:*, replication, restore, transition,
 * intelligent tiering, …) are refused: s3d would never send them.
 */
export const SUPPORTED_EVENTS: ReadonlySet<string> = new Set([
  ...OBJECT_EVENTS,
  's3:LifecycleExpiration:*',
  's3:LifecycleExpiration:Delete',
  's3:LifecycleExpiration:DeleteMarkerCreated',
  's3:ObjectTagging:*',
  's3:ObjectTagging:Put',
  's3:ObjectTagging:Delete',
  's3:ObjectAcl:Put',
]);

/**
 * A change of an object's tags, by its S3 name (webhook rules) and MinIO's (listeners; MinIO
 * counts it as a write, so a listener's s3:ObjectCreated:* covers it, where S3's
 * s3:ObjectCreated:* does not).
 */
export const TAGGING_NAMES = {
  put: { s3: 's3:ObjectTagging:Put', minio: 's3:ObjectCreated:PutTagging' },
  delete: { s3: 's3:ObjectTagging:Delete', minio: 's3:ObjectCreated:DeleteTagging' },
} as const satisfies Record<string, { s3: EventName; minio: EventName }>;

export type RemovedName = 's3:ObjectRemoved:Delete' | 's3:ObjectRemoved:DeleteMarkerCreated';

/** S3's name for a removal done by the lifecycle. */
const EXPIRY_NAME: Readonly<Record<RemovedName, EventName>> = {
  's3:ObjectRemoved:Delete': 's3:LifecycleExpiration:Delete',
  's3:ObjectRemoved:DeleteMarkerCreated': 's3:LifecycleExpiration:DeleteMarkerCreated',
};

/** Whether a rule's event name (possibly `s3:<Family>:*`) covers the event. */
export function eventCovers(ruleEvent: string, name: string): boolean {
  if (ruleEvent === name) return true;
  return ruleEvent.endsWith(':*') && name.startsWith(ruleEvent.slice(0, -1));
}

export interface CompiledRule {
  readonly target: string;
  /** The rule's Id, or MinIO's constant "Config" when it has none. */
  readonly configurationId: string;
  readonly events: readonly string[];
  readonly prefix: string;
  readonly suffix: string;
}

const compiled = new WeakMap<readonly NotificationRule[], readonly CompiledRule[]>();

/** The rules with their target ids (rules whose ARN no longer parses are left out). */
export function compileRules(rules: readonly NotificationRule[]): readonly CompiledRule[] {
  let out = compiled.get(rules);
  if (out === undefined) {
    out = rules.flatMap((r) => {
      const arn = parseArn(r.arn);
      if (arn === undefined) return [];
      return [{ target: arn.id, configurationId: r.id ?? 'Config', events: r.events, prefix: r.prefix ?? '', suffix: r.suffix ?? '' }];
    });
    compiled.set(rules, out);
  }
  return out;
}

/** Prefix and suffix as MinIO matches them (the pattern prefix*suffix: they may not overlap). */
export function keyMatches(f: { readonly prefix: string; readonly suffix: string }, key: string): boolean {
  return key.length >= f.prefix.length + f.suffix.length && key.startsWith(f.prefix) && key.endsWith(f.suffix);
}

/** Target id → the configuration id of the first rule sending it the event (one delivery per target, as MinIO). */
export function matchTargets(rules: readonly CompiledRule[], name: EventName, key: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rules) {
    if (out.has(r.target) || !keyMatches(r, key)) continue;
    if (r.events.some((e) => eventCovers(e, name))) out.set(r.target, r.configurationId);
  }
  return out;
}

/**
 * Target id → the event and configuration id of a removal done by the lifecycle. A target with a
 * rule asking for the s3:LifecycleExpiration name gets that event (as S3 sends it, which sends no
 * ObjectRemoved event for lifecycle deletes); one without, but with a rule asking for the
 * s3:ObjectRemoved name, gets that (as MinIO sends it). One event per target either way.
 */
export function expiryTargets(rules: readonly CompiledRule[], removed: RemovedName, key: string): Map<string, { readonly name: EventName; readonly configurationId: string }> {
  const name = EXPIRY_NAME[removed];
  const out = new Map<string, { readonly name: EventName; readonly configurationId: string }>();
  for (const [target, configurationId] of matchTargets(rules, name, key)) out.set(target, { name, configurationId });
  for (const [target, configurationId] of matchTargets(rules, removed, key)) if (!out.has(target)) out.set(target, { name: removed, configurationId });
  return out;
}
