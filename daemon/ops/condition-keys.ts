// The condition keys of a request, as bucket and user policies see them (ops/policy.ts judges
// with them): the keys every request has (source address, TLS, Referer, User-Agent, how it was
// signed and when), the request headers that are keys of the actions AWS's Service Authorization
// Reference gives them (SSE, ACL, copy source, Object Lock, preconditions, …), the listing
// parameters, the tags a write sets and the tags of the object it acts on (read only when a
// statement asks), a multipart upload's keys from its CreateMultipartUpload, and the keys a
// request's body holds, known only once its handler has parsed it (`deferred`, bodyAllowed).
import type { ConditionContext } from '../auth/policy-conditions.js';
import { ACTION_BOUND_KEYS, actionHasKey, AWS_REQUEST_TAG, EXISTING_TAG, LOCK_KEYS, REQUEST_TAG, TLS_VERSIONS } from '../auth/policy-keys.js';
import { hasPresignParams, parseAmzDate, parseRequestDate } from '../auth/sigv4.js';
import { hasV2PresignParams, isV2Authorization } from '../auth/sigv2.js';
import { parseIsoDateTime } from '../dates.js';
import type { Operation } from '../http/router.js';
import type { TagSet, UploadRecord } from '../meta/records.js';
import { normalizeKmsKeyId } from '../sse/params.js';
import { parseCopySource } from './copy.js';
import type { OpsEnv } from './env.js';
import type { AnonymousRequest } from './policy.js';
import { taggingDirective, tagsFromHeader } from './tagging.js';

/** Request headers that are condition keys of the same name under `s3:`. */
const SSE_CONDITION_HEADERS = ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-server-side-encryption-customer-algorithm'] as const;

/**
 * A request's condition keys: the fixed ones in `keys`, and the tags it sets, parsed only when a
 * statement that applies asks for them. `requestTags` 'body': they come in the body
 * (PutObjectTagging), which is read after this judgement; a statement asking for them then sets
 * `deferred`, and the handler judges again once it has parsed the body (`bodyAllowed`). Likewise
 * `bodyKeys`, the Object Lock keys of PutObjectRetention's and PutObjectLegalHold's bodies and
 * the KMS key of UpdateObjectEncryption's.
 */
export interface RequestKeys {
  keys: Map<string, string>;
  /** The request's time for aws:CurrentTime, aws:EpochTime and the remaining retention days, taken when first asked. */
  now?: number;
  requestTags?: (() => TagSet | undefined) | 'body';
  bodyKeys?: ReadonlySet<string>;
  /** When the request's signature was made (its x-amz-date, Date or X-Amz-Date), for s3:signatureAge. */
  signedAt?: number;
  deferred: boolean;
}

/**
 * What a request's body says that condition keys judge, once the handler has parsed it: the tags
 * PutObjectTagging sets, the Object Lock keys (LOCK_KEYS, but the remaining days, which follow
 * from the date) PutObjectRetention or PutObjectLegalHold set, the KMS key UpdateObjectEncryption
 * moves an object under.
 */
export interface BodyFacts {
  tags?: TagSet;
  lock?: Readonly<Record<string, string>>;
  /** UpdateObjectEncryption's new key (KMSKeyArn) as written: s3:x-amz-server-side-encryption-aws-kms-key-id. */
  kmsKeyId?: string;
}

/**
 * s3:ObjectCreationOperation, as on S3: true for the writes that create an object, false for the
 * multipart calls before the completion (which cannot carry If-None-Match: S3's "enforce
 * conditional writes" policy pairs its Null on s3:if-none-match with this key being true).
 */
const OBJECT_CREATION: Partial<Record<Operation, 'true' | 'false'>> = {
  PutObject: 'true',
  CopyObject: 'true',
  CompleteMultipartUpload: 'true',
  CreateMultipartUpload: 'false',
  UploadPart: 'false',
  UploadPartCopy: 'false',
};

/** The operations whose body holds Object Lock condition keys (read after the first judgement). */
const LOCK_BODY_KEYS: Partial<Record<Operation, ReadonlySet<string>>> = {
  PutObjectRetention: new Set(['s3:object-lock-mode', 's3:object-lock-retain-until-date', 's3:object-lock-remaining-retention-days']),
  PutObjectLegalHold: new Set(['s3:object-lock-legal-hold']),
};

const KMS_KEY_ID_KEY = 's3:x-amz-server-side-encryption-aws-kms-key-id';
/** UpdateObjectEncryption's KMS key, in its body (its header of the name is no part of the request). */
const UPDATE_ENCRYPTION_BODY_KEYS: ReadonlySet<string> = new Set([KMS_KEY_ID_KEY]);

/** A write's Object Lock headers, with the condition keys they are. */
const LOCK_HEADERS = [
  ['x-amz-object-lock-mode', 's3:object-lock-mode'],
  ['x-amz-object-lock-retain-until-date', 's3:object-lock-retain-until-date'],
  ['x-amz-object-lock-legal-hold', 's3:object-lock-legal-hold'],
] as const;

/**
 * A retain-until date as the condition key holds it: ISO 8601 in UTC when it is a date (a header
 * may write it in another zone; the Date operators parse either), else as sent (the handler
 * refuses it).
 */
function lockDateKey(value: string): string {
  const t = parseIsoDateTime(value);
  return t === undefined ? value : new Date(t).toISOString();
}

/** The request's time, for every key that depends on it: taken when first asked, then the same. */
function requestTime(req: RequestKeys): number {
  return (req.now ??= Date.now());
}

/**
 * s3:object-lock-remaining-retention-days: whole days from the request to the retain-until date,
 * rounded up (a retention asked for as "now + 30 days" reaches here a moment later and still
 * counts 30), 0 for a date passed; undefined without a date.
 */
function remainingDays(req: RequestKeys): string | undefined {
  const until = req.keys.get('s3:object-lock-retain-until-date');
  const t = until === undefined ? undefined : parseIsoDateTime(until);
  if (t === undefined) return undefined;
  return String(Math.max(0, Math.ceil((t - requestTime(req)) / 86_400_000)));
}

/** Request headers that are condition keys of the same name under `s3:`, of the actions KEY_ACTIONS says. */
const HEADER_KEYS = [
  'x-amz-acl', 'x-amz-grant-read', 'x-amz-grant-write', 'x-amz-grant-read-acp', 'x-amz-grant-write-acp', 'x-amz-grant-full-control',
  'x-amz-metadata-directive', 'x-amz-storage-class', 'x-amz-content-sha256',
] as const;

/** How a request was signed, for s3:authType and s3:signatureversion (undefined: anonymous). */
export interface SignedBy {
  authType: 'REST-HEADER' | 'REST-QUERY-STRING' | 'POST';
  signatureVersion: 'AWS' | 'AWS4-HMAC-SHA256';
}

/**
 * How a request that passed authentication was signed, read from what carries the signature, by
 * the tests authentication itself makes: the Authorization header (V2's `AWS …`, else V4), or a
 * presigned URL's query (V4's or V2's parameters). Undefined for an unsigned request.
 */
export function signedBy(headers: Readonly<Record<string, string>>, query: URLSearchParams | undefined): SignedBy | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) return { authType: 'REST-HEADER', signatureVersion: isV2Authorization(authorization) ? 'AWS' : 'AWS4-HMAC-SHA256' };
  const params = query === undefined ? [] : [...query];
  if (hasPresignParams(params)) return { authType: 'REST-QUERY-STRING', signatureVersion: 'AWS4-HMAC-SHA256' };
  if (hasV2PresignParams(params)) return { authType: 'REST-QUERY-STRING', signatureVersion: 'AWS' };
  return undefined;
}

/**
 * A presigned V4 URL's user may add an x-amz-content-sha256 its URL does not sign: authentication
 * ignores it (the payload stays the URL's), so it is no s3:x-amz-content-sha256 either.
 */
function presignedUnsignedHash(query: URLSearchParams | undefined, signer: SignedBy | undefined): boolean {
  if (signer?.authType !== 'REST-QUERY-STRING' || signer.signatureVersion !== 'AWS4-HMAC-SHA256') return false;
  return !(query?.get('X-Amz-SignedHeaders') ?? '').split(';').includes('x-amz-content-sha256');
}

/**
 * When a signature was made, for s3:signatureAge (milliseconds from then to the request): a V4
 * signature's x-amz-date (or Date without it), a presigned V4 URL's X-Amz-Date, a V2
 * signature's x-amz-date or Date. A V2 presigned URL and a form upload carry no signing time.
 */
function signatureTime(headers: Readonly<Record<string, string>>, query: URLSearchParams | undefined, signer: SignedBy): number | undefined {
  if (signer.authType === 'REST-QUERY-STRING') return signer.signatureVersion === 'AWS4-HMAC-SHA256' ? parseAmzDate(query?.get('X-Amz-Date') ?? '') : undefined;
  if (signer.authType !== 'REST-HEADER') return undefined;
  // Read as authentication reads them (sigv4.ts, sigv2.ts): x-amz-date when sent, else Date, in
  // ISO 8601's basic form or as an HTTP date.
  const text = (headers['x-amz-date'] ?? headers.date)?.trim();
  if (text === undefined) return undefined;
  return parseRequestDate(text);
}

/**
 * The condition keys every request has (`s3:` listing keys are added per request). `ownTls`: the request reached s3d's own TLS listener (not HTTPS that a trusted proxy reports,
 * whose TLS version s3d cannot know): only then has it s3:TlsVersion.
 */
export function requestContext(req: { headers: Readonly<Record<string, string>>; remoteAddress: string; secure: boolean; query?: URLSearchParams }, ownTls: boolean, signer = signedBy(req.headers, req.query)): RequestKeys {
  const keys = new Map<string, string>([
    ['aws:sourceip', req.remoteAddress],
    ['aws:securetransport', String(req.secure)],
  ]);
  // Over s3d's TLS, the lowest version the listener speaks: the conditions taken hold alike for every one (TLS_VERSIONS).
  // Not when a trusted proxy says the client's leg was plain HTTP (client-address.ts): then s3d's
  // TLS is the proxy's, not the client's.
  if (ownTls && req.secure) keys.set('s3:tlsversion', TLS_VERSIONS[0]);
  if (req.headers.referer !== undefined) keys.set('aws:referer', req.headers.referer);
  if (req.headers['user-agent'] !== undefined) keys.set('aws:useragent', req.headers['user-agent']);
  for (const name of SSE_CONDITION_HEADERS) {
    const v = req.headers[name];
    if (v !== undefined) keys.set(`s3:${name}`, v);
  }
  for (const name of HEADER_KEYS) {
    const v = req.headers[name];
    if (v !== undefined && !(name === 'x-amz-content-sha256' && presignedUnsignedHash(req.query, signer))) keys.set(`s3:${name}`, v);
  }
  for (const [name, key] of LOCK_HEADERS) {
    const v = req.headers[name];
    if (v !== undefined) keys.set(key, key === 's3:object-lock-retain-until-date' ? lockDateKey(v) : v);
  }
  // A copy's source as S3's examples write it (`bucket/public/*`): bucket and key decoded, without
  // a leading `/` or the versionId, however the client wrote the header; a malformed one as sent
  // (the handler refuses it).
  const copySource = req.headers['x-amz-copy-source'];
  if (copySource !== undefined) keys.set('s3:x-amz-copy-source', copySourceKey(copySource));
  // A conditional write's preconditions (ACTION_BOUND_KEYS keeps them from a GET's).
  if (req.headers['if-match'] !== undefined) keys.set('s3:if-match', req.headers['if-match']);
  if (req.headers['if-none-match'] !== undefined) keys.set('s3:if-none-match', req.headers['if-none-match']);
  if (signer !== undefined) {
    keys.set('s3:authtype', signer.authType);
    keys.set('s3:signatureversion', signer.signatureVersion);
  }
  const at = signer === undefined ? undefined : signatureTime(req.headers, req.query, signer);
  return { keys, deferred: false, ...(at !== undefined ? { signedAt: at } : {}) };
}

/**
 * The tags a request sets, for s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys: a write's
 * `x-amz-tagging` (a copy's only with `x-amz-tagging-directive: REPLACE`: with COPY, S3 ignores the
 * header and the copy keeps its source's tags, which copy.ts judges as s3:GetObjectTagging and
 * s3:PutObjectTagging), PutObjectTagging's body. A malformed header is the 400 the handler would
 * give it.
 */
function requestTagsOf(op: Operation, headers: Readonly<Record<string, string>>, query: URLSearchParams): RequestKeys['requestTags'] {
  if (op === 'PutObjectTagging') return 'body';
  if (op !== 'PutObject' && op !== 'CreateMultipartUpload' && op !== 'CopyObject') return undefined;
  return () => (op === 'CopyObject' && taggingDirective(headers) === 'COPY' ? undefined : tagsFromHeader(headers, query));
}

/** Where a check's s3:ExistingObjectTag/<key> reads: the object (the version `versionId`) it acts on. */
export interface ObjectRef {
  bucket: string;
  key: string;
  versionId?: string | undefined;
}

/**
 * The tags of the object a check acts on; undefined when it has none, or there is no such
 * object or version (the handler answers that; a condition sees no key).
 */
function existingTags(env: OpsEnv, o: ObjectRef): TagSet | undefined {
  try {
    const rec = o.versionId === undefined ? env.meta.getObject(o.bucket, o.key) : env.meta.getVersion(o.bucket, o.key, o.versionId)?.record;
    return rec?.deleteMarker ? undefined : rec?.tags;
  } catch {
    // A version id that is none (the handler refuses it).
    return undefined;
  }
}

/**
 * The condition keys one check sees. The object-tag keys are looked up only when a statement
 * whose action and resource match asks for one (the evaluator asks for a condition's key only
 * then): no LMDB read for a request no such statement applies to; at most one per check.
 */
export function checkContext(env: OpsEnv, req: RequestKeys, action: string, object: ObjectRef | undefined): ConditionContext {
  let existing: TagSet | undefined | null = null;
  let requested: TagSet | undefined | null = null;
  const tagsAsked = (): TagSet | undefined => {
    if (req.requestTags === undefined) return undefined;
    if (req.requestTags === 'body') {
      req.deferred = true;
      return undefined;
    }
    if (requested === null) requested = req.requestTags();
    return requested;
  };
  return {
    kmsKey: (sent) => kmsKeyNamed(env, sent),
    get(key) {
      if (ACTION_BOUND_KEYS.has(key) && !actionHasKey(key, action)) return undefined;
      // The version the check's object action names (a copy source's for its read).
      if (key === 's3:versionid') return object?.versionId;
      if (req.bodyKeys?.has(key)) {
        req.deferred = true;
        return undefined;
      }
      if (key === 's3:object-lock-remaining-retention-days') return remainingDays(req);
      if (key === 's3:signatureage') return req.signedAt === undefined ? undefined : String(Math.max(0, requestTime(req) - req.signedAt));
      const fixed = req.keys.get(key);
      if (fixed !== undefined) return fixed;
      if (key === 'aws:currenttime') return new Date(requestTime(req)).toISOString();
      if (key === 'aws:epochtime') return String(Math.floor(requestTime(req) / 1000));
      if (key.startsWith(EXISTING_TAG)) {
        if (object === undefined || !actionHasKey(EXISTING_TAG, action)) return undefined;
        if (existing === null) existing = existingTags(env, object);
        return existing?.find(([k]) => k === key.slice(EXISTING_TAG.length))?.[1];
      }
      // An AssumeRole's session tags (sts:TagSession): tag keys without case, as IAM's.
      if (key.startsWith(AWS_REQUEST_TAG) || key === 'aws:tagkeys') {
        if (!actionHasKey(key === 'aws:tagkeys' ? key : AWS_REQUEST_TAG, action)) return undefined;
        if (key === 'aws:tagkeys') return tagsAsked()?.map(([k]) => k);
        return tagsAsked()?.find(([k]) => k.toLowerCase() === key.slice(AWS_REQUEST_TAG.length))?.[1];
      }
      if (!actionHasKey(REQUEST_TAG, action)) return undefined;
      if (key.startsWith(REQUEST_TAG)) return tagsAsked()?.find(([k]) => k === key.slice(REQUEST_TAG.length))?.[1];
      if (key === 's3:requestobjecttagkeys') return tagsAsked()?.map(([k]) => k);
      return undefined;
    },
  };
}

/**
 * The KMS key an x-amz-server-side-encryption-aws-kms-key-id names, as the write will read it
 * (normalizeKmsKeyId; `alias/aws/s3` the default key), for conditions on the key id
 * (policy-conditions.ts, holdsForKmsKey); undefined for one the write refuses, or without a KMS.
 */
function kmsKeyNamed(env: OpsEnv, sent: string): { name: string; isDefault: boolean } | undefined {
  const defaultName = env.kms?.defaultKeyName;
  let id: string | undefined;
  try {
    id = normalizeKmsKeyId(sent);
  } catch {
    return undefined;
  }
  const name = id ?? defaultName;
  return name === undefined ? undefined : { name, isDefault: name === defaultName };
}

/** s3:x-amz-copy-source: `bucket/key` of the header (see requestContext). */
function copySourceKey(header: string): string {
  try {
    const src = parseCopySource(header);
    return `${src.bucket}/${src.key}`;
  } catch {
    return header;
  }
}

/** CreateMultipartUpload's encryption headers, kept with the upload (UploadRecord.sseRequested). */
export function sseRequestedField(headers: Readonly<Record<string, string>>): { sseRequested?: Record<string, string> } {
  const asked: Record<string, string> = {};
  for (const name of SSE_CONDITION_HEADERS) if (headers[name] !== undefined) asked[name] = headers[name];
  return Object.keys(asked).length > 0 ? { sseRequested: asked } : {};
}

/** The operations that write an open multipart upload's parts or complete it (all s3:PutObject). */
const UPLOAD_WRITES: ReadonlySet<Operation> = new Set<Operation>(['UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload']);

/**
 * The upload whose keys judge the request: the one its uploadId names for its key, in progress;
 * for a CompleteMultipartUpload, also the one the key's current version was completed from, gone
 * since (a retry whose answer was lost, answered as the completion it repeats: judged without them,
 * a "deny uploads without x-amz-server-side-encryption" policy refused it 403, and the client
 * reported its completed upload as failed). Such a version keeps the upload's encryption headers
 * and tags; its Object Lock settings stand for the upload's (the bucket's default retention included).
 */
function judgedUpload(env: OpsEnv, req: AnonymousRequest): Pick<UploadRecord, 'sseRequested' | 'tags' | 'retention' | 'legalHold'> | undefined {
  const id = req.query.get('uploadId') ?? '';
  const { bucket, key } = req.route;
  if (id === '' || bucket === undefined || key === undefined) return undefined;
  const up = env.meta.getUpload(id);
  if (up !== undefined) return up.bucket === bucket && up.key === key ? up : undefined;
  if (req.route.op !== 'CompleteMultipartUpload' || env.meta.getBucket(bucket) === undefined) return undefined;
  const done = env.meta.getObject(bucket, key);
  return done?.uploadId === id ? done : undefined;
}

/**
 * UploadPart, UploadPartCopy and CompleteMultipartUpload carry no encryption headers for SSE-S3 and
 * SSE-KMS (S3 refuses them there; a completion from minio-go may restate the upload's own, which
 * s3d takes): the upload's encryption was asked for by CreateMultipartUpload.
 * Its headers are their encryption condition keys, so the usual "deny uploads without
 * x-amz-server-side-encryption" policy lets an upload begun with it finish (it refused every
 * part). Keys the request sends itself (SSE-C parts send their key) stay as sent.
 */
export function uploadContext(env: OpsEnv, req: AnonymousRequest, context: RequestKeys): void {
  if (!UPLOAD_WRITES.has(req.route.op)) return;
  const up = judgedUpload(env, req);
  if (up === undefined) return;
  for (const [name, value] of Object.entries(up.sseRequested ?? {})) if (!context.keys.has(`s3:${name}`)) context.keys.set(`s3:${name}`, value);
  // Likewise the tags CreateMultipartUpload asked for (x-amz-tagging), which the object gets, and
  // its Object Lock headers (a "deny uploads without a COMPLIANCE retention" policy must let the
  // parts of an upload begun with one through).
  const tags = up.tags;
  context.requestTags = () => tags;
  const lock: Array<[string, string | undefined]> = [
    ['s3:object-lock-mode', up.retention?.mode],
    ['s3:object-lock-retain-until-date', up.retention && new Date(up.retention.until).toISOString()],
    ['s3:object-lock-legal-hold', up.legalHold],
  ];
  for (const [key, value] of lock) if (value !== undefined && !context.keys.has(key)) context.keys.set(key, value);
}

/**
 * The keys of the operation (s3:ObjectCreationOperation) and of its body: those the handler parsed
 * (`body`), else none yet: a statement asking for one defers its judgement to the handler
 * (bodyAllowed).
 */
export function bodyContext(context: RequestKeys, op: Operation, req: AnonymousRequest, body: BodyFacts | undefined): void {
  const creation = OBJECT_CREATION[op];
  if (creation !== undefined) context.keys.set('s3:objectcreationoperation', creation);
  context.requestTags = body?.tags !== undefined ? () => body.tags : requestTagsOf(op, req.headers, req.query);
  if (body?.lock !== undefined) {
    for (const key of LOCK_KEYS) context.keys.delete(key);
    for (const [key, value] of Object.entries(body.lock)) context.keys.set(key, value);
  } else {
    const pending = LOCK_BODY_KEYS[op];
    if (pending !== undefined) context.bodyKeys = pending;
  }
  if (op === 'UpdateObjectEncryption') {
    context.keys.delete(KMS_KEY_ID_KEY);
    if (body?.kmsKeyId !== undefined) context.keys.set(KMS_KEY_ID_KEY, body.kmsKeyId);
    else context.bodyKeys = UPDATE_ENCRYPTION_BODY_KEYS;
  }
}

/** A listing's condition keys: those of the parameters it sends (as on S3, none are made up for the others). */
export function listingContext(context: Map<string, string>, query: URLSearchParams): void {
  for (const name of ['prefix', 'delimiter', 'max-keys']) {
    const value = query.get(name);
    if (value !== null) context.set(`s3:${name}`, value);
  }
}
