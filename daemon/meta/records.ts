// Versioned record shapes stored in LMDB (msgpack). Every record carries `v`; decoders for
// older versions stay here when the shape changes.

export const RECORD_VERSION = 1;

/** Where an object's (or part's) stored bytes live. */
export type DataRef =
  | { readonly inline: Uint8Array }
  | { readonly file: string };

export type SseKind = 'SSE-S3' | 'SSE-KMS' | 'SSE-C';

export interface SseRecord {
  readonly kind: SseKind;
  readonly algorithm: string;
  /** 32-byte IV used to derive the key-encryption key. */
  readonly iv: Uint8Array;
  /** 64-byte DARE-sealed object key. */
  readonly sealedKey: Uint8Array;
  /** KMS key name and KMS ciphertext of the data key (SSE-S3 / SSE-KMS). */
  readonly kmsKey?: string;
  readonly kmsCiphertext?: Uint8Array;
  /** Base64 canonical JSON of the client's SSE-KMS context, when it sent one. */
  readonly kmsContext?: string;
  /** SSE-KMS written with an S3 Bucket Key (request header or bucket default): announced on reads as on S3. */
  readonly bucketKey?: boolean;
  /**
   * SSE-C, records of earlier versions only: base64 MD5 of the customer key. Records written now
   * keep nothing of the key: a request's key is checked by unsealing `sealedKey` with it.
   */
  readonly customerKeyMd5?: string;
}

/**
 * The checksums of an encrypted object or part as they are stored (sse/checksums.ts seals and
 * opens them): the values sealed, the algorithms and their types in clear (listings show them
 * without the key, as S3 does).
 */
export interface SealedChecksums {
  /** Algorithm → type of its value (COMPOSITE: a multipart object's value, which ends in "-N"). */
  readonly types: Readonly<Record<string, 'COMPOSITE' | 'FULL_OBJECT'>>;
  /**
   * DARE 2.0 of the JSON object { algorithm: value as clients see it } under
   * HMAC-SHA256(K, "object-checksum"), K the object key (an object's) or the part key (a part's).
   */
  readonly sealed: Uint8Array;
}

/** Where a record keeps its checksums: in clear, or sealed (never both). */
export interface ChecksumFields {
  /** In clear: unencrypted objects and parts, and encrypted ones an earlier version wrote. */
  readonly checksums?: Record<string, string>;
  /** Encrypted objects and parts. */
  readonly sealedChecksums?: SealedChecksums;
}

export interface PartRecord extends ChecksumFields {
  readonly v: number;
  readonly n: number;
  /** Plaintext size. */
  readonly size: number;
  /** Stored (possibly encrypted) size. */
  readonly stored: number;
  /** Client-visible ETag, unquoted. */
  readonly etag: string;
  /** MD5 hex of the part plaintext when known (multipart ETag of SSE-S3 / plain uploads). */
  readonly md5?: string;
  readonly data: DataRef;
  readonly mtime: number;
  /**
   * S3's default checksum (a CRC64NVME) of a part of an upload created without a checksum algorithm
   * that the client sent no checksum for (UploadPart, UploadPartCopy): answered by UploadPart, and
   * combined into the CompleteMultipartUpload answer's FULL_OBJECT CRC64NVME, but the part's checksum
   * nowhere else (ListParts, GetObjectAttributes, HEAD/GET ?partNumber= show none: versitygw #1547);
   * s3d verify --deep checks it. In clear or sealed under the part key as the part's checksums are.
   * Absent from parts of earlier versions, and from parts with a checksum of the client's.
   */
  readonly defaultChecksum?: ChecksumFields;
}

export interface ObjectRecord extends ChecksumFields {
  readonly v: number;
  /** Plaintext size. */
  readonly size: number;
  /** Client-visible ETag, unquoted. */
  readonly etag: string;
  readonly mtime: number;
  /** Content-Type and the other stored representation headers (lower-case names). */
  readonly headers: Record<string, string>;
  /** x-amz-meta-* headers, lower-case full names. */
  readonly userMeta: Record<string, string>;
  /** Single-part data, or undefined for multipart objects. */
  readonly data?: DataRef;
  /** Stored size of the single-part data. */
  readonly stored: number;
  /** Multipart objects: parts in order (each its own DARE stream when encrypted). */
  readonly parts?: readonly PartRecord[];
  /** The multipart upload this version was completed from: a repeated Complete is answered again. */
  readonly uploadId?: string;
  /**
   * That upload's encryption headers (UploadRecord.sseRequested), kept so that the policies judge a
   * repeated Complete, whose upload is gone, by the condition keys they judged the completion by.
   */
  readonly sseRequested?: Readonly<Record<string, string>>;
  readonly sse?: SseRecord;
  /** Object tags (key, value) in the order the client gave them; absent when there are none. */
  readonly tags?: TagSet;
  /**
   * The version's id (a UUIDv7, see meta/versions.ts); absent for the `null` version (written
   * while the bucket was unversioned or versioning was Suspended).
   */
  readonly versionId?: string;
  /** Version order stamp (ms × 1024 + sequence, meta/versions.ts); absent on records written before versioning: mtime × 1024. */
  readonly vs?: number;
  /** A delete marker (only ever in the versions table): no data, no headers. */
  readonly deleteMarker?: true;
  /** Object Lock retention of this version (ops/object-lock.ts). */
  readonly retention?: Retention;
  /** Object Lock legal hold of this version, once set. */
  readonly legalHold?: 'ON' | 'OFF';
}

export type LockMode = 'GOVERNANCE' | 'COMPLIANCE';

export interface Retention {
  readonly mode: LockMode;
  /** Retain-until date, ms since the epoch. */
  readonly until: number;
}

/** Tags as (key, value) pairs, in the client's order. */
export type TagSet = ReadonlyArray<readonly [string, string]>;

export interface BucketEncryption {
  readonly algorithm: 'AES256' | 'aws:kms';
  readonly kmsKeyId?: string;
  /** KMSMasterKeyID exactly as PutBucketEncryption gave it (an ARN form, or `alias/aws/s3` for the default key), when not kmsKeyId itself. */
  readonly kmsKeyIdAsGiven?: string;
  readonly bucketKeyEnabled?: boolean;
  /**
   * S3's BlockedEncryptionTypes as PutBucketEncryption gave it (`NONE` or `SSE-C`): with `SSE-C`,
   * writes asking for SSE-C are refused (objects already stored stay readable).
   */
  readonly blockedEncryptionTypes?: ReadonlyArray<'NONE' | 'SSE-C'>;
}

export interface BucketRecord {
  readonly v: number;
  readonly name: string;
  readonly created: number;
  readonly encryption?: BucketEncryption;
  readonly tags?: TagSet;
  /** The bucket policy as the client put it (JSON text). */
  readonly policy?: string;
  /** Absent until versioning is first configured; a bucket never returns to unversioned. */
  readonly versioning?: 'Enabled' | 'Suspended';
  /** MfaDelete Disabled was put (S3 gives MfaDelete back once the bucket was configured with it). */
  readonly mfaDelete?: 'Disabled';
  /** Present once Object Lock is enabled (never disabled again); its default retention, if any. */
  readonly objectLock?: { readonly defaultRetention?: { readonly mode: LockMode; readonly days?: number; readonly years?: number } };
  /** Lifecycle (expiration) rules, in the order given. */
  readonly lifecycle?: readonly LifecycleRule[];
  /**
   * The lifecycle configuration's x-amz-transition-default-minimum-object-size, when it was put
   * with one other than S3's default (all_storage_classes_128K); it governs transitions only.
   */
  readonly lifecycleTransitionDefault?: 'varies_by_storage_class';
  /** Event notification rules (PutBucketNotificationConfiguration), in the order given. */
  readonly notification?: readonly NotificationRule[];
  /** CORS rules (PutBucketCors), in the order given: the first that matches a request applies. */
  readonly cors?: readonly CorsRule[];
  /**
   * The bucket's public access block (PutPublicAccessBlock), until deleted. `'off'`, all four
   * settings false, is how versions before 2026-12-05 stored the only one they accepted.
   */
  readonly publicAccessBlock?: 'off' | PublicAccessBlock;
  /** Transfer acceleration written Suspended (what s3d does anyway), so that it reads back as S3's does. */
  readonly accelerate?: 'Suspended';
}

/** S3's Block Public Access settings of one bucket (an absent setting is false). */
export interface PublicAccessBlock {
  /** Refuse writes that carry a public ACL (s3d refuses every ACL granting others anyway). */
  readonly blockPublicAcls: boolean;
  /** Ignore public ACLs (s3d has none). */
  readonly ignorePublicAcls: boolean;
  /** Refuse PutBucketPolicy of a public policy (403 AccessDenied). */
  readonly blockPublicPolicy: boolean;
  /** While the bucket's policy is public, it grants anonymous requests nothing. */
  readonly restrictPublicBuckets: boolean;
}

/** One CORSRule, its values as the client wrote them (GetBucketCors gives them back unchanged). */
export interface CorsRule {
  readonly id?: string;
  /** GET, PUT, POST, DELETE and/or HEAD. */
  readonly allowedMethods: readonly string[];
  /** Origins, each with at most one `*` standing for any run of characters. */
  readonly allowedOrigins: readonly string[];
  /** Headers a preflight may ask for (case-insensitive, at most one `*` each). */
  readonly allowedHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  readonly maxAgeSeconds?: number;
}

/** One QueueConfiguration: which events of which keys go to which webhook target. */
export interface NotificationRule {
  readonly id?: string;
  /** The Queue ARN as the client wrote it (arn:minio:sqs:<region>:<target id>:webhook). */
  readonly arn: string;
  /** Event names as written (s3:ObjectCreated:*, s3:ObjectRemoved:Delete, …). */
  readonly events: readonly string[];
  readonly prefix?: string;
  readonly suffix?: string;
}

export interface LifecycleRule {
  readonly id: string;
  readonly enabled: boolean;
  /** Key prefix the rule applies to ('' = every key). */
  readonly prefix: string;
  /** Tags an object must all carry. */
  readonly tags: TagSet;
  readonly sizeGreaterThan?: number;
  readonly sizeLessThan?: number;
  /** Written as <Prefix> directly in the Rule (the old form), given back the same way. */
  readonly legacyPrefix?: boolean;
  /** Written with an empty <Filter/>, given back the same way (not as <Prefix></Prefix>). */
  readonly emptyFilter?: boolean;
  /**
   * Written with the conditions in <And>, given back the same way, with And's <Prefix> when it
   * had one (even empty): declarative tools compare what they read with what they wrote. Two or
   * more conditions since 2026-12-06 (ops/lifecycle.ts); a rule an earlier version stored with
   * an And of one condition is kept and applied, and given back as that condition without And
   * (ops/lifecycle.ts lifecycleXml).
   */
  readonly andFilter?: { readonly prefix: boolean };
  readonly expirationDays?: number;
  /** Midnight UTC, ms since the epoch. */
  readonly expirationDate?: number;
  readonly expiredObjectDeleteMarker?: boolean;
  readonly abortIncompleteDays?: number;
  /** NoncurrentVersionExpiration: days after a version became noncurrent (its successor was written). */
  readonly noncurrentDays?: number;
  /** NoncurrentVersionExpiration: how many of a key's newest noncurrent versions are kept whatever their age. */
  readonly newerNoncurrentVersions?: number;
}

export interface UploadRecord {
  readonly v: number;
  readonly id: string;
  readonly bucket: string;
  readonly key: string;
  readonly initiated: number;
  readonly headers: Record<string, string>;
  readonly userMeta: Record<string, string>;
  readonly sse?: SseRecord;
  /**
   * The encryption headers CreateMultipartUpload was sent (x-amz-server-side-encryption and its
   * -aws-kms-key-id and -customer-algorithm, as sent): the condition keys bucket and user policies
   * judge UploadPart, UploadPartCopy and CompleteMultipartUpload by, which carry none of their own.
   */
  readonly sseRequested?: Readonly<Record<string, string>>;
  readonly checksumAlgorithm?: string;
  /** How the object checksum is formed from the parts' (absent on older records: the algorithm's default). */
  readonly checksumType?: 'COMPOSITE' | 'FULL_OBJECT';
  /** Tags for the completed object (x-amz-tagging on CreateMultipartUpload). */
  readonly tags?: TagSet;
  /** Object Lock settings given at CreateMultipartUpload (the bucket's default applies at completion otherwise). */
  readonly retention?: Retention;
  readonly legalHold?: 'ON' | 'OFF';
  /**
   * Part writes stored for the upload (UploadTables.putPart counts each in its transaction): a
   * completion whose parts were read under the same count takes them without comparing them again.
   * Absent on an upload no part was stored for since (or by an earlier version): they are compared.
   */
  readonly partWrites?: number;
  /**
   * Who signed the CreateMultipartUpload, when not the root user: a user of S3_IAM_FILE (`user`,
   * its access key), or temporary credentials (`session`, the session name, beside the user who
   * assumed the role). ListMultipartUploads and ListParts name it as the upload's Initiator, as S3
   * names an IAM user there by its ARN. Absent: the root user, an anonymous request (the Initiator
   * is then the owner), or an upload created by an earlier version.
   */
  readonly initiator?: { readonly user: string; readonly session?: string };
}

/** Every data file a record points at (for gc and the orphan sweep). */
export function filesOf(rec: { data?: DataRef; parts?: readonly PartRecord[] }): string[] {
  const out: string[] = [];
  if (rec.data && 'file' in rec.data) out.push(rec.data.file);
  for (const p of rec.parts ?? []) if ('file' in p.data) out.push(p.data.file);
  return out;
}

/**
 * A data file a record points at, and its length as the record gives it (`stored`: the sealed
 * DARE stream's length when encrypted); s3d backup checks each file it copies against it.
 */
export interface StoredFile {
  readonly file: string;
  readonly stored: number;
}

/** filesOf, each file with its stored length. */
export function storedFilesOf(rec: { data?: DataRef; stored?: number; parts?: readonly PartRecord[] }): StoredFile[] {
  const out: StoredFile[] = [];
  if (rec.data && 'file' in rec.data) out.push({ file: rec.data.file, stored: rec.stored ?? 0 });
  for (const p of rec.parts ?? []) if ('file' in p.data) out.push({ file: p.data.file, stored: p.stored });
  return out;
}

/** What a versioned delete did: the marker it added, or the version it removed. */
export interface VersionedDelete {
  /** The delete marker created (a delete without a version id in a versioned bucket). */
  marker?: ObjectRecord;
  /** The version permanently removed (a delete naming a version, or any delete in an unversioned bucket). */
  removed?: ObjectRecord;
  /** The version named is under Object Lock (retention or legal hold): nothing was changed. */
  locked?: true;
  /** A condition of the request did not hold (its S3 error code): nothing was changed. */
  refused?: string;
  /** The version named does not exist: nothing was changed (S3 answers such a delete as done). */
  absent?: true;
}

/**
 * Whether Object Lock keeps `rec` from being removed at `now`: a legal hold always, a COMPLIANCE
 * retention until its date, a GOVERNANCE one until its date unless `bypassGovernance`.
 */
export function isLocked(rec: Pick<ObjectRecord, 'legalHold' | 'retention'>, now: number, bypassGovernance: boolean): boolean {
  if (rec.legalHold === 'ON') return true;
  const r = rec.retention;
  return r !== undefined && r.until > now && (r.mode === 'COMPLIANCE' || !bypassGovernance);
}

/**
 * Whether two records under one bucket name are the same bucket, not one deleted and another
 * created under its name since (MetaStore.createBucket gives each a `created` later than any
 * bucket's the store has held since it was opened).
 */
export function sameBucket(a: BucketRecord, b: BucketRecord): boolean {
  return a.created === b.created;
}
