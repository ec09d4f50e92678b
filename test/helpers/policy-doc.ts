// Policy documents for the unit tests of auth/bucket-policy.ts (no daemon): a document of
// statements, an Allow for anyone, and whether a bucket policy admits an anonymous request.
import { allowsAnonymous, parseBucketPolicy } from '../../daemon/auth/bucket-policy.js';

/** The bucket the unit tests' policies are of. */
export const B = 'pics';

/** A policy document (Version 2012-10-17) of `Statement`. */
export const doc = (...Statement: unknown[]): string => JSON.stringify({ Version: '2012-10-17', Statement });

/** An Allow for anyone of `Action` on `Resource`, with `extra` elements. */
export const allow = (Action: unknown, Resource: unknown, extra: Record<string, unknown> = {}) => ({ Effect: 'Allow', Principal: { AWS: ['*'] }, Action, Resource, ...extra });

/** Whether bucket B's `policy` admits an anonymous request of `action` on `resource`. */
export const ask = (policy: string, action: string, resource: string, context: Record<string, string> = {}): boolean =>
  allowsAnonymous(parseBucketPolicy(policy, B), { action, resource, context: new Map(Object.entries(context)) });
