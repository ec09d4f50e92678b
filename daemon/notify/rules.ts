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
  // Only to listeners (notify/listen.ts), not to webhooks.
  | 's3:ObjectAccessed:Get'
  | 's3:ObjectAccessed:Head';

/**
 * Event names a QueueConfiguration may list. Others MinIO knows (ObjectAccessed:*, tagging, replication, …) are refused: s3d would never send them.
 */
export const SUPPORTED_EVENTS: ReadonlySet<string> = new Set([
  's3:ObjectCreated:*',
  's3:ObjectCreated:Put',
  's3:ObjectCreated:Post',
  's3:ObjectCreated:Copy',
  's3:ObjectCreated:CompleteMultipartUpload',
  's3:ObjectRemoved:*',
  's3:ObjectRemoved:Delete',
  's3:ObjectRemoved:DeleteMarkerCreated',
]);

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
