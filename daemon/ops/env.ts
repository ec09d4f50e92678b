// The concrete parts every operation handler works with, wired once by cli.ts.

import type { Logger } from 'pino';
import type { AuthOptions, Credentials } from '../auth/sigv4.js';
import type { UserDirectory } from '../auth/users.js';
import type { Config } from '../config.js';
import type { CryptoPool } from '../crypto/pool.js';
import { S3Error } from '../errors.js';
import type { DataGate } from './data-gate.js';
import type { KeyProvider } from '../kms/provider.js';
import { MetaConflict, type MetaStore } from '../meta/store.js';
import { sameBucket, type BucketRecord, type ObjectRecord } from '../meta/records.js';
import type { FileStore } from '../storage/files.js';
import type { DiskSpace } from '../storage/disk-space.js';
import type { ObjectKeyCache } from '../sse/key-cache.js';
import type { WebhookNotifier } from '../notify/webhook.js';
import type { EventListeners } from '../notify/listen.js';

export interface OpsEnv {
  readonly config: Config;
  readonly log: Logger;
  readonly meta: MetaStore;
  readonly files: FileStore;
  /** Free space of the data filesystem (the S3_MIN_FREE_DISK reserve); absent: not checked. */
  readonly disk?: DiskSpace;
  readonly pool: CryptoPool | null;
  readonly kms: KeyProvider | null;
  readonly objectKeys?: ObjectKeyCache;
  /** Bucket-notification webhook targets (ops/notification.ts stages events for them); absent: none. */
  readonly notify?: WebhookNotifier;
  /** Open ListenBucketNotification streams (notify/listen.ts); absent: none can be opened. */
  readonly listeners?: EventListeners;
  /** The access keys, for requests that authenticate inside their body (POST form uploads). */
  readonly credentials: Credentials;
  /** Opens temporary credentials' session tokens (auth/sts.ts), for form uploads signed with them. */
  readonly sessions?: AuthOptions['sessions'];
  /** The users of S3_IAM_FILE as they are now (the file is reloaded on SIGHUP); absent: root only. */
  readonly users?: () => UserDirectory;
  /** Bounds the requests that move object data through files at once (ops/data-gate.ts); absent: none. */
  readonly dataGate?: DataGate;
}

/**
 * A commit check: the bucket is still the one the request started with. A bucket deleted and
 * created again under its name meanwhile is another (its own policy, Object Lock, encryption,
 * notifications): the write answers 409 OperationAborted, as S3 answers a write that conflicts
 * with a bucket's deletion or creation (retry: it is judged by the new bucket then). When the
 * bucket is just gone, the store answers NoSuchBucket. `check`: the request's own conditions on
 * the current record, run after.
 */
export function inSameBucket(seen: BucketRecord, check?: (current: ObjectRecord | undefined) => void): (current: ObjectRecord | undefined, bucket: BucketRecord) => void {
  return (current, bucket) => {
    requireSameBucket(seen, bucket);
    check?.(current);
  };
}

/** inSameBucket's test alone, for a write that has no current object to judge (CreateMultipartUpload). */
export function requireSameBucket(seen: BucketRecord, bucket: BucketRecord): void {
  if (!sameBucket(bucket, seen)) throw new S3Error('OperationAborted', `The bucket ${seen.name} was deleted and created again while this request ran; retry.`, { fields: { BucketName: seen.name } });
}

/**
 * Between two slices of a page read a slice at a time (a listing, ops/list.ts): the bucket the page
 * began in is still there and is still that bucket. Deleted meanwhile: NoSuchBucket; deleted and
 * created again: OperationAborted, rather than a page that ends early as if complete, or lists
 * the old bucket's entries and then the new one's.
 */
export function requireBucketStill(env: OpsEnv, seen: BucketRecord): void {
  requireSameBucket(seen, requireBucket(env, seen.name));
}

/**
 * updateBucket of the bucket the request started with (`seen`, as requireBucket found it). A
 * bucket deleted and created again under its name while the request's document arrived is
 * another: the configuration, judged by the old bucket's policy, must not land on the new one (a
 * lifecycle rule expiring its objects, a public policy, versioning or Object Lock turned on for
 * good). It answers 409 OperationAborted, as object writes do (inSameBucket); a bucket just gone
 * is NoSuchBucket.
 */
export function updateSeenBucket(env: OpsEnv, seen: BucketRecord, update: (b: BucketRecord) => BucketRecord): Promise<BucketRecord> {
  return env.meta
    .updateBucket(seen.name, (b) => {
      requireSameBucket(seen, b);
      return update(b);
    })
    .catch(metaError);
}

export function requireBucket(env: OpsEnv, name: string | undefined): BucketRecord {
  if (name === undefined) throw new S3Error('InvalidBucketName');
  const b = env.meta.getBucket(name);
  if (!b) throw new S3Error('NoSuchBucket', undefined, { fields: { BucketName: name } });
  return b;
}

/**
 * Delete<Something> of a bucket sub-resource kept in the bucket record (policy, CORS, lifecycle,
 * encryption, public access block): removes the field; 204 whether or not it was set, as on S3.
 */
export async function clearBucketField(env: OpsEnv, bucket: string | undefined, field: keyof BucketRecord & ('policy' | 'cors' | 'lifecycle' | 'encryption' | 'publicAccessBlock'), also?: keyof BucketRecord & 'lifecycleTransitionDefault'): Promise<{ status: 204 }> {
  const b = requireBucket(env, bucket);
  if (b[field] !== undefined || (also !== undefined && b[also] !== undefined)) {
    await updateSeenBucket(env, b, (rec) => {
      const rest = { ...rec };
      delete rest[field];
      if (also !== undefined) delete rest[also];
      return rest;
    });
  }
  return { status: 204 };
}

/**
 * S3's refusal of a change Object Lock forbids (a locked version's delete, a retention shortened
 * without the bypass), in its words: the aws CLI and the SDKs show them, and they tell the lock
 * from a policy's plain 'Access Denied'.
 */
export const OBJECT_LOCKED_MESSAGE = 'Access Denied because object protected by object lock.';

/** Meta-layer conflicts surface as their S3 errors. */
export function metaError(err: unknown): never {
  if (err instanceof MetaConflict) {
    if (err.code === 'ObjectLocked') throw new S3Error('AccessDenied', OBJECT_LOCKED_MESSAGE);
    throw new S3Error(err.code);
  }
  throw err;
}

/**
 * metaError for a commit to a record `lookUp` found before the request's body arrived: a key
 * deleted meanwhile (NoSuchKey from the commit) answers as the look-up answers now (a delete
 * marker's headers, AccessDenied to a requester who may not list the bucket).
 */
export function metaErrorAfterLookUp(lookUp: () => unknown): (err: unknown) => never {
  return (err) => {
    if (err instanceof MetaConflict && err.code === 'NoSuchKey') lookUp();
    return metaError(err);
  };
}

/**
 * The owner every bucket and object reports (ACLs, listings, ListBuckets): the root user, as the
 * one account of an S3 bucket with ACLs disabled. x-amz-expected-bucket-owner is checked against it.
 */
export function bucketOwner(env: OpsEnv): { ID: string; DisplayName: string } {
  return { ID: env.config.rootUser, DisplayName: env.config.rootUser };
}

/**
 * The account s3d's ARNs and policies name (STS's GetCallerIdentity, aws:PrincipalAccount,
 * aws:ResourceAccount): the root user's access key, the one owner of every bucket, which
 * x-amz-expected-bucket-owner names too (s3d has no 12-digit account number).
 */
export function accountId(env: OpsEnv): string {
  return env.config.rootUser;
}

/** A user's ARN, as GetCallerIdentity gives it and a bucket policy's Principal names it. */
export function userArn(account: string, accessKey: string): string {
  return `arn:aws:iam::${account}:user/${accessKey}`;
}

/** Temporary credentials' ARN, as GetCallerIdentity gives it: the user who assumed the role, and the session's name. */
export function assumedRoleArn(account: string, user: string, sessionName: string): string {
  return `arn:aws:sts::${account}:assumed-role/${user}/${sessionName}`;
}

