// S3 Object Lock through the SDK, shared by the s3-object-lock-* suites: lock-enabled and versioned
// buckets, PUTs with lock headers, retention, legal holds and lock configurations set and read back
// (as short strings, or the error's `Code/status`), deletes with or without the bypass.

import type { Test } from 'tap';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type ObjectLockLegalHoldStatus,
  type ObjectLockMode,
  type ObjectLockRetentionMode,
  type ObjectLockRule,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { bucketName } from './daemon.js';
import { bodyBytes, createBucket, s3Code } from './s3.js';

/** Time units. */
export const SEC = 1000;
export const MIN = 60 * SEC;
export const DAY = 86_400_000;
/** What a version id looks like: a UUID string. */
export const VID = /^[0-9a-f-]{36}$/;
/** What s3Code / the helpers below give for a success, a denial, a bucket without Object Lock. */
export const OK = 'ok';
export const DENIED = 'AccessDenied/403';
export const NO_LOCK_CONFIG = 'NoSuchObjectLockConfiguration/404';
/** What a malformed Object Lock document may be refused with. */
export const MALFORMED = ['MalformedXML/400', 'InvalidArgument/400'];

/** A whole second `ms` from now (from `base`): what the daemon gives back at second precision. */
export function at(ms: number, base = Date.now()): Date {
  return new Date(Math.ceil((base + ms) / SEC) * SEC);
}

/** ISO 8601 to the second ('none' when absent). */
export function isoS(x: Date | string | undefined): string {
  if (x === undefined) return 'none';
  const date = new Date(x);
  return Number.isNaN(date.getTime()) ? `invalid(${String(x)})` : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** How retentionOf shows a retention. */
export const lock = (mode: string, until: Date): string => `${mode} ${isoS(until)}`;

/** `Code/status` of an SDK error (as s3Code). */
export function codeOf(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (e.$metadata?.httpStatusCode === undefined) return `${e.name}: ${e.message}`;
  return `${e.name}/${e.$metadata.httpStatusCode}`;
}

/** One assertion: `got` is one of `allowed`. */
export function oneOf(t: Test, got: string, allowed: string[], what: string): void {
  t.ok(allowed.includes(got), `${what} → ${allowed.join(' or ')} (got ${got})`);
}

/** Lock headers of PutObject/CopyObject/CreateMultipartUpload. */
export function retain(mode: string, until: Date, hold?: string): Partial<PutObjectCommandInput> {
  return { ObjectLockMode: mode as ObjectLockMode, ObjectLockRetainUntilDate: until, ...(hold !== undefined ? { ObjectLockLegalHoldStatus: hold as ObjectLockLegalHoldStatus } : {}) };
}

/** A default retention rule. */
export const rule = (Mode: string, unit: { Days?: number; Years?: number }): ObjectLockRule => ({ DefaultRetention: { Mode: Mode as ObjectLockRetentionMode, ...unit } });

/** The Object Lock helpers, on the client `s3` unless another is passed (`c`). */
export function lockHelpers(s3: S3Client) {
  /** CreateBucket with Object Lock. */
  async function lockBucket(prefix: string, c: S3Client = s3): Promise<string> {
    const bucket = bucketName(prefix);
    await c.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    return bucket;
  }

  /** CreateBucket, then versioning Enabled. */
  async function versionedBucket(prefix: string, c: S3Client = s3): Promise<string> {
    const bucket = await createBucket(c, prefix);
    await c.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    return bucket;
  }

  /** PutObject with the body `<key> <label>`; returns the version id. */
  async function put(bucket: string, key: string, label: string, extra: Partial<PutObjectCommandInput> = {}, c: S3Client = s3): Promise<string> {
    const r = await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key} ${label}`, ...extra }));
    return r.VersionId ?? 'no-version-id';
  }

  /** `MODE retain-until` of GetObjectRetention, or the error. */
  async function retentionOf(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<string> {
    try {
      const r = await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) }));
      return `${r.Retention?.Mode ?? 'none'} ${isoS(r.Retention?.RetainUntilDate)}`;
    } catch (err) {
      return codeOf(err);
    }
  }

  /** GetObjectRetention's retain-until in ms (NaN when refused). */
  async function retainUntilMs(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<{ mode: string; until: number }> {
    try {
      const r = await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) }));
      return { mode: r.Retention?.Mode ?? 'none', until: r.Retention?.RetainUntilDate ? new Date(r.Retention.RetainUntilDate).getTime() : NaN };
    } catch (err) {
      return { mode: codeOf(err), until: NaN };
    }
  }

  /** GetObjectLegalHold's status, or the error. */
  async function holdOf(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<string> {
    try {
      const r = await c.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) }));
      return r.LegalHold?.Status ?? 'none';
    } catch (err) {
      return codeOf(err);
    }
  }

  /** PutObjectLegalHold; `Code/status` or ok. */
  function setHold(bucket: string, key: string, Status: string, VersionId?: string, c: S3Client = s3): Promise<string> {
    return s3Code(c.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key: key, LegalHold: { Status: Status as ObjectLockLegalHoldStatus }, ...(VersionId !== undefined ? { VersionId } : {}) })));
  }

  /** PutObjectRetention (Retention {} when mode is undefined: removing it). */
  function setRetention(bucket: string, key: string, VersionId: string | undefined, mode: string | undefined, until: Date | undefined, bypass = false, c: S3Client = s3): Promise<string> {
    return s3Code(
      c.send(
        new PutObjectRetentionCommand({
          Bucket: bucket,
          Key: key,
          ...(VersionId !== undefined ? { VersionId } : {}),
          Retention: mode === undefined ? {} : { Mode: mode as ObjectLockRetentionMode, ...(until ? { RetainUntilDate: until } : {}) },
          ...(bypass ? { BypassGovernanceRetention: true } : {}),
        }),
      ),
    );
  }

  /** `MODE retain-until hold=STATUS` of a HEAD ('-' for what it lacks), or the error. */
  async function headLock(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<string> {
    try {
      const r = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) }));
      return `${r.ObjectLockMode ?? '-'} ${r.ObjectLockRetainUntilDate ? isoS(r.ObjectLockRetainUntilDate) : '-'} hold=${r.ObjectLockLegalHoldStatus ?? '-'}`;
    } catch (err) {
      return codeOf(err);
    }
  }

  /** The body of a GET (of a version), or the error. */
  async function readable(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<string> {
    try {
      return (await bodyBytes(await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) })))).toString();
    } catch (err) {
      return codeOf(err);
    }
  }

  /** DeleteObject (of a version, with the bypass); `Code/status` or ok. */
  function del(bucket: string, key: string, VersionId: string | undefined, bypass = false, c: S3Client = s3): Promise<string> {
    return s3Code(c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}), ...(bypass ? { BypassGovernanceRetention: true } : {}) })));
  }

  /** `Enabled MODE days=N years=N` (or `Enabled no-rule`) of GetObjectLockConfiguration, or the error. */
  async function lockConfigOf(bucket: string, c: S3Client = s3): Promise<string> {
    try {
      const r = await c.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
      const conf = r.ObjectLockConfiguration;
      const dr = conf?.Rule?.DefaultRetention;
      return `${conf?.ObjectLockEnabled ?? 'none'} ${dr ? `${dr.Mode ?? '-'} days=${dr.Days ?? '-'} years=${dr.Years ?? '-'}` : 'no-rule'}`;
    } catch (err) {
      return codeOf(err);
    }
  }

  /** PutObjectLockConfiguration, Enabled with this rule; `Code/status` or ok. */
  function putLockConfig(bucket: string, Rule?: ObjectLockRule, c: S3Client = s3): Promise<string> {
    return s3Code(c.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', ...(Rule ? { Rule } : {}) } })));
  }

  /** GetBucketVersioning's status ('unversioned' without one). */
  async function versioningOf(bucket: string, c: S3Client = s3): Promise<string> {
    return (await c.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status ?? 'unversioned';
  }

  /** Version ids of `key` (newest first, delete markers excluded). */
  async function versionsOf(bucket: string, key: string, c: S3Client = s3): Promise<string[]> {
    const r = await c.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    return (r.Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId!);
  }

  return { lockBucket, versionedBucket, put, retentionOf, retainUntilMs, holdOf, setHold, setRetention, headLock, readable, del, lockConfigOf, putLockConfig, versioningOf, versionsOf };
}
