// Access decisions and bucket policies: Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus, and
// the questions the HTTP layer asks of every request that is not the root user's: does the
// bucket's policy admit this unsigned request (`anonymousAllowed`), do this user's policies and
// the bucket's allow this signed one (`userAllowed`)? Each operation maps to the S3 action and
// resource(s) a policy names (a request naming a version needs the *Version action; a copy needs
// s3:GetObject on its source as well as s3:PutObject on its destination). Anonymous requests get
// the few object and listing operations below, and DeleteObjects, judged key by key as for users
// (bucket configuration, listing buckets, copies and starting a multipart upload are never
// anonymous, as on S3); users get every S3 operation their policies allow.
import { decide, isPublic, namedUsers, parseBucketPolicy, principalUser, type BucketPolicy, type RequestFacts } from '../auth/bucket-policy.js';
import { PRINCIPAL_TAG } from '../auth/policy-keys.js';
import type { User } from '../auth/users.js';
import { ANONYMOUS_OPERATIONS, type Operation, type Route } from '../http/router.js';
import { S3Error } from '../errors.js';
import type { BucketRecord, TagSet } from '../meta/records.js';
import { utf8Text } from '../utf8.js';
import { bodyContext, checkContext, listingContext, requestContext, signedBy, uploadContext, type BodyFacts, type ObjectRef, type RequestKeys, type SignedBy } from './condition-keys.js';
import { parseCopySource } from './copy.js';
import { accountId, clearBucketField, userArn, requireBucket, updateSeenBucket, type OpsEnv } from './env.js';
import { blocks } from './public-access-block.js';
import type { RequestContext, Result } from './types.js';
import { toXml } from './xml.js';

const OBJECT_ACTIONS: Partial<Record<Operation, string>> = {
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  PutObject: 's3:PutObject',
  CopyObject: 's3:PutObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  UploadPartCopy: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  ListParts: 's3:ListMultipartUploadParts',
  DeleteObject: 's3:DeleteObject',
  GetObjectTagging: 's3:GetObjectTagging',
  GetObjectAttributes: 's3:GetObjectAttributes',
  PutObjectTagging: 's3:PutObjectTagging',
  DeleteObjectTagging: 's3:DeleteObjectTagging',
};

/** What a request naming a version (`versionId`) needs instead, as on S3. */
const VERSION_ACTIONS: Partial<Record<Operation, string>> = {
  GetObject: 's3:GetObjectVersion',
  HeadObject: 's3:GetObjectVersion',
  DeleteObject: 's3:DeleteObjectVersion',
  GetObjectTagging: 's3:GetObjectVersionTagging',
  GetObjectAttributes: 's3:GetObjectVersionAttributes',
  PutObjectTagging: 's3:PutObjectVersionTagging',
  DeleteObjectTagging: 's3:DeleteObjectVersionTagging',
  GetObjectAcl: 's3:GetObjectVersionAcl',
  PutObjectAcl: 's3:PutObjectVersionAcl',
};

const BUCKET_ACTIONS: Partial<Record<Operation, string>> = {
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  HeadBucket: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  GetBucketLocation: 's3:GetBucketLocation',
  ListenBucketNotification: 's3:ListenBucketNotification',
};

/**
 * What each operation needs when a user (an access key of S3_IAM_FILE) signs it: the IAM action,
 * on the bucket (`bucket`) or on the object (`object`), or on no resource (`service`).
 * Operations missing here are root-only. DeleteObjects and PostObject are checked per key in
 * their handlers (`userMay`); health, metrics and the admin endpoints decide for themselves.
 */
const USER_ACTIONS: Partial<Record<Operation, readonly [string, 'service' | 'bucket' | 'object']>> = {
  ListBuckets: ['s3:ListAllMyBuckets', 'service'],
  CreateBucket: ['s3:CreateBucket', 'bucket'],
  DeleteBucket: ['s3:DeleteBucket', 'bucket'],
  HeadBucket: ['s3:ListBucket', 'bucket'],
  GetBucketLocation: ['s3:GetBucketLocation', 'bucket'],
  ListObjects: ['s3:ListBucket', 'bucket'],
  ListObjectsV2: ['s3:ListBucket', 'bucket'],
  ListObjectVersions: ['s3:ListBucketVersions', 'bucket'],
  ListMultipartUploads: ['s3:ListBucketMultipartUploads', 'bucket'],
  GetBucketVersioning: ['s3:GetBucketVersioning', 'bucket'],
  PutBucketVersioning: ['s3:PutBucketVersioning', 'bucket'],
  GetBucketEncryption: ['s3:GetEncryptionConfiguration', 'bucket'],
  PutBucketEncryption: ['s3:PutEncryptionConfiguration', 'bucket'],
  DeleteBucketEncryption: ['s3:PutEncryptionConfiguration', 'bucket'],
  GetBucketAcl: ['s3:GetBucketAcl', 'bucket'],
  PutBucketAcl: ['s3:PutBucketAcl', 'bucket'],
  GetBucketTagging: ['s3:GetBucketTagging', 'bucket'],
  PutBucketTagging: ['s3:PutBucketTagging', 'bucket'],
  DeleteBucketTagging: ['s3:PutBucketTagging', 'bucket'],
  GetBucketPolicy: ['s3:GetBucketPolicy', 'bucket'],
  PutBucketPolicy: ['s3:PutBucketPolicy', 'bucket'],
  DeleteBucketPolicy: ['s3:DeleteBucketPolicy', 'bucket'],
  GetBucketPolicyStatus: ['s3:GetBucketPolicyStatus', 'bucket'],
  GetBucketLifecycleConfiguration: ['s3:GetLifecycleConfiguration', 'bucket'],
  PutBucketLifecycleConfiguration: ['s3:PutLifecycleConfiguration', 'bucket'],
  DeleteBucketLifecycle: ['s3:PutLifecycleConfiguration', 'bucket'],
  GetBucketCors: ['s3:GetBucketCORS', 'bucket'],
  PutBucketCors: ['s3:PutBucketCORS', 'bucket'],
  DeleteBucketCors: ['s3:PutBucketCORS', 'bucket'],
  GetBucketWebsite: ['s3:GetBucketWebsite', 'bucket'],
  DeleteBucketWebsite: ['s3:DeleteBucketWebsite', 'bucket'],
  GetBucketLogging: ['s3:GetBucketLogging', 'bucket'],
  PutBucketLogging: ['s3:PutBucketLogging', 'bucket'],
  GetBucketNotificationConfiguration: ['s3:GetBucketNotification', 'bucket'],
  // MinIO's actions for its listen extension.
  ListenBucketNotification: ['s3:ListenBucketNotification', 'bucket'],
  ListenNotification: ['s3:ListenNotification', 'service'],
  PutBucketNotificationConfiguration: ['s3:PutBucketNotification', 'bucket'],
  GetBucketReplication: ['s3:GetReplicationConfiguration', 'bucket'],
  DeleteBucketReplication: ['s3:PutReplicationConfiguration', 'bucket'],
  GetObjectLockConfiguration: ['s3:GetBucketObjectLockConfiguration', 'bucket'],
  PutObjectLockConfiguration: ['s3:PutBucketObjectLockConfiguration', 'bucket'],
  GetBucketOwnershipControls: ['s3:GetBucketOwnershipControls', 'bucket'],
  PutBucketOwnershipControls: ['s3:PutBucketOwnershipControls', 'bucket'],
  DeleteBucketOwnershipControls: ['s3:PutBucketOwnershipControls', 'bucket'],
  GetPublicAccessBlock: ['s3:GetBucketPublicAccessBlock', 'bucket'],
  PutPublicAccessBlock: ['s3:PutBucketPublicAccessBlock', 'bucket'],
  DeletePublicAccessBlock: ['s3:PutBucketPublicAccessBlock', 'bucket'],
  GetBucketAccelerateConfiguration: ['s3:GetAccelerateConfiguration', 'bucket'],
  PutBucketAccelerateConfiguration: ['s3:PutAccelerateConfiguration', 'bucket'],
  GetBucketRequestPayment: ['s3:GetBucketRequestPayment', 'bucket'],
  PutBucketRequestPayment: ['s3:PutBucketRequestPayment', 'bucket'],
  // A List takes the Get's action (AWS's Service Authorization Reference).
  ListBucketAnalyticsConfigurations: ['s3:GetAnalyticsConfiguration', 'bucket'],
  GetBucketAnalyticsConfiguration: ['s3:GetAnalyticsConfiguration', 'bucket'],
  ListBucketInventoryConfigurations: ['s3:GetInventoryConfiguration', 'bucket'],
  GetBucketInventoryConfiguration: ['s3:GetInventoryConfiguration', 'bucket'],
  ListBucketMetricsConfigurations: ['s3:GetMetricsConfiguration', 'bucket'],
  GetBucketMetricsConfiguration: ['s3:GetMetricsConfiguration', 'bucket'],
  ListBucketIntelligentTieringConfigurations: ['s3:GetIntelligentTieringConfiguration', 'bucket'],
  GetBucketIntelligentTieringConfiguration: ['s3:GetIntelligentTieringConfiguration', 'bucket'],
  GetObject: ['s3:GetObject', 'object'],
  HeadObject: ['s3:GetObject', 'object'],
  PutObject: ['s3:PutObject', 'object'],
  CopyObject: ['s3:PutObject', 'object'],
  CreateMultipartUpload: ['s3:PutObject', 'object'],
  UploadPart: ['s3:PutObject', 'object'],
  UploadPartCopy: ['s3:PutObject', 'object'],
  CompleteMultipartUpload: ['s3:PutObject', 'object'],
  AbortMultipartUpload: ['s3:AbortMultipartUpload', 'object'],
  ListParts: ['s3:ListMultipartUploadParts', 'object'],
  DeleteObject: ['s3:DeleteObject', 'object'],
  GetObjectAcl: ['s3:GetObjectAcl', 'object'],
  PutObjectAcl: ['s3:PutObjectAcl', 'object'],
  GetObjectTagging: ['s3:GetObjectTagging', 'object'],
  PutObjectTagging: ['s3:PutObjectTagging', 'object'],
  DeleteObjectTagging: ['s3:DeleteObjectTagging', 'object'],
  GetObjectAttributes: ['s3:GetObjectAttributes', 'object'],
  GetObjectTorrent: ['s3:GetObjectTorrent', 'object'],
  GetObjectRetention: ['s3:GetObjectRetention', 'object'],
  GetObjectLegalHold: ['s3:GetObjectLegalHold', 'object'],
  PutObjectRetention: ['s3:PutObjectRetention', 'object'],
  PutObjectLegalHold: ['s3:PutObjectLegalHold', 'object'],
  UpdateObjectEncryption: ['s3:UpdateObjectEncryption', 'object'],
};

/**
 * Operations a user's signature is enough for: their handlers check what they must (ListBuckets
 * which buckets it names, bucketListJudge).
 */
const SELF_CHECKED: ReadonlySet<Operation> = new Set<Operation>(['ListBuckets', 'DeleteObjects', 'PostObject', 'AdminKmsStatus', 'AdminKmsKeyStatus', 'AdminKmsCreateKey', 'STS']);

export interface AnonymousRequest {
  route: Route;
  query: URLSearchParams;
  headers: Readonly<Record<string, string>>;
  remoteAddress: string;
  secure: boolean;
}

/** Parsed policies, per bucket record (records are replaced, never changed, on every write). */
const parsed = new WeakMap<BucketRecord, BucketPolicy>();

function policyOf(record: BucketRecord): BucketPolicy | undefined {
  if (record.policy === undefined) return undefined;
  let p = parsed.get(record);
  if (p === undefined) {
    p = parseBucketPolicy(record.policy, record.name, true);
    parsed.set(record, p);
  }
  return p;
}

/**
 * Buckets whose stored policy this version does not accept (one another version wrote, e.g.
 * with a condition key this one lacks), and why: every request it would judge is refused with
 * MalformedPolicy, root's excepted, until it is replaced or deleted. Also those whose policy names
 * IP ranges this version no longer takes (`::ffff:10.0.0.0/8`, which an earlier one read as
 * 10.0.0.0/8): those are read, the ranges `ranges`, whose conditions allow nothing and deny
 * everything (policy-conditions.ts holdsOne). And those with condition operators that name no key
 * (`emptyConditions`, which PutBucketPolicy now refuses), read failing closed the same way, and
 * those with operators not spelt as IAM spells them (`miscasedOperators`: `stringequals`, which
 * PutBucketPolicy now refuses too), read as the operator they name, as before. Start-up logs them.
 */
export function unreadableBucketPolicies(buckets: readonly BucketRecord[]): StoredPolicyFaults[] {
  const out: StoredPolicyFaults[] = [];
  for (const b of buckets) {
    if (b.policy === undefined) continue;
    try {
      const { unreadableRanges: ranges, emptyConditions, miscasedOperators } = parseBucketPolicy(b.policy, b.name, true);
      if (ranges !== undefined || emptyConditions !== undefined || miscasedOperators !== undefined) {
        out.push({ bucket: b.name, ...(ranges !== undefined ? { ranges } : {}), ...(emptyConditions !== undefined ? { emptyConditions } : {}), ...(miscasedOperators !== undefined ? { miscasedOperators } : {}) });
      }
    } catch (err) {
      out.push({ bucket: b.name, error: (err as Error).message });
    }
  }
  return out;
}

/** What unreadableBucketPolicies says of a bucket's stored policy. */
export interface StoredPolicyFaults {
  bucket: string;
  error?: string;
  ranges?: readonly string[];
  emptyConditions?: readonly string[];
  miscasedOperators?: readonly string[];
}

interface Check {
  /** The bucket whose policy has a say (none for ListBuckets). */
  bucket: string | undefined;
  action: string;
  resource: string;
  /** The object the action acts on, for s3:ExistingObjectTag/<key>. */
  object?: ObjectRef;
}

/**
 * Whether `user` (undefined: anonymous) may do `check`: some policy of the user or the bucket's
 * policy allows it and none denies it (an explicit Deny anywhere wins), as S3 evaluates a request
 * within one account.
 */
function permits(env: OpsEnv, user: User | undefined, check: Check, req: RequestKeys): boolean {
  return judged(env, user, check, req) === 'allow';
}

/** permits' answer, telling an explicit Deny (`deny`) from no Allow at all (`none`). */
function judged(env: OpsEnv, user: User | undefined, check: Check, req: RequestKeys): 'allow' | 'deny' | 'none' {
  principalKeys(req.keys, user, accountId(env));
  const facts: RequestFacts = { action: check.action, resource: check.resource, context: checkContext(env, req, check.action, check.object) };
  // The signer as a bucket policy's Principal names it (aws:PrincipalArn).
  const principal = req.keys.get('aws:principalarn');
  if (principal !== undefined) facts.principal = principal;
  // Temporary credentials: their session policy limits whatever else allows (and may deny).
  const session = user?.session?.policy;
  const limited = session === undefined ? 'allow' : decide(session, facts);
  if (limited === 'deny') return 'deny';
  let allowed = false;
  for (const p of user?.policies ?? []) {
    const d = decide(p, facts);
    if (d === 'deny') return 'deny';
    if (d === 'allow') allowed = true;
  }
  const record = check.bucket === undefined ? undefined : env.meta.getBucket(check.bucket);
  const policy = record && policyOf(record);
  if (policy) {
    const d = decide(policy, facts);
    if (d === 'deny') return 'deny';
    // RestrictPublicBuckets: a public policy grants nothing to anonymous requests (its Deny stays).
    if (d === 'allow' && !(user === undefined && blocks(env, record, 'restrictPublicBuckets') && isPublic(policy))) allowed = true;
  }
  return allowed && limited === 'allow' ? 'allow' : 'none';
}

/**
 * Which buckets ListBuckets names for the requester of `ctx`: every one (`all`: the root user, or
 * a user allowed s3:ListAllMyBuckets), none (`denied`: anonymous, a key the users file no longer
 * has, or an explicit Deny of s3:ListAllMyBuckets), or, as MinIO answers a user without
 * s3:ListAllMyBuckets, those it may list (s3:ListBucket, judged with s3:prefix "" and
 * s3:delimiter "/" as MinIO judges it) or locate (s3:GetBucketLocation), by its policies and each
 * bucket's: the judge. `mc ls ALIAS/` then works for a user given one bucket, and names no bucket
 * the user may do neither on.
 */
export function bucketListJudge(env: OpsEnv, ctx: Requester): 'all' | 'denied' | ((bucket: string) => boolean) {
  if (ctx.accessKey === env.config.rootUser) return 'all';
  const user = ctx.accessKey === '' ? undefined : env.users?.().get(ctx.accessKey);
  if (user === undefined) return 'denied';
  const req = { headers: ctx.headers, remoteAddress: ctx.remoteAddress ?? '', secure: ctx.secure, ...(ctx.query ? { query: ctx.query } : {}) };
  const context = requestContext(req, env.config.tls !== null);
  const all = judged(env, user, { bucket: undefined, action: 's3:ListAllMyBuckets', resource: '*' }, context);
  if (all !== 'none') return all === 'allow' ? 'all' : 'denied';
  // ListBuckets' own query (prefix, max-buckets) is about bucket names, not a listing's keys.
  const listing = requestContext(req, env.config.tls !== null);
  listingContext(listing.keys, new URLSearchParams({ prefix: '', delimiter: '/' }));
  return (bucket) =>
    permits(env, user, { bucket, action: 's3:ListBucket', resource: bucket }, listing) ||
    permits(env, user, { bucket, action: 's3:GetBucketLocation', resource: bucket }, context);
}

/**
 * The keys that say who signed, as IAM gives them: for a user, its access key as aws:username and
 * aws:userid (s3d's users have no other name or id; MinIO's are the same), aws:PrincipalType
 * `User` (temporary credentials: their user's, and `AssumedRole`, and aws:TokenIssueTime), its tags as
 * aws:PrincipalTag/<key>, s3d's one account as aws:PrincipalAccount and the user's ARN as
 * aws:PrincipalArn (temporary credentials: their user's, as a bucket policy's Principal matches
 * them); for an unsigned request aws:userid `anonymous` and aws:PrincipalType `Anonymous`, no
 * aws:username, aws:PrincipalAccount or aws:PrincipalArn (as on AWS). Every request has aws:ResourceAccount, the account owning every bucket. The root
 * user is never judged.
 */
function principalKeys(keys: Map<string, string>, user: User | undefined, account: string): void {
  if (keys.has('aws:principaltype')) return;
  keys.set('aws:resourceaccount', account);
  if (user === undefined) {
    keys.set('aws:userid', 'anonymous');
    keys.set('aws:principaltype', 'Anonymous');
    return;
  }
  // Temporary credentials act as their user (MinIO's reading), typed as AWS types a role session.
  const name = user.session?.parent ?? user.accessKey;
  keys.set('aws:username', name);
  keys.set('aws:userid', name);
  keys.set('aws:principalaccount', account);
  keys.set('aws:principalarn', userArn(account, name));
  keys.set('aws:principaltype', user.session === undefined ? 'User' : 'AssumedRole');
  // AWS's way to revoke temporary credentials: a Deny on DateLessThan aws:TokenIssueTime.
  if (user.session?.issuedAt !== undefined) keys.set('aws:tokenissuetime', new Date(user.session.issuedAt).toISOString());
  for (const [lower, tag] of user.tags ?? []) keys.set(`${PRINCIPAL_TAG}${lower}`, tag.value);
}

/** What userMay judges of the request `ctx` (its headers, query, client address and transport). */
export function requestFacts(ctx: RequestContext): { headers: Readonly<Record<string, string>>; query: URLSearchParams; remoteAddress: string; secure: boolean } {
  return { headers: ctx.headers, query: ctx.query, remoteAddress: ctx.remoteAddress ?? '', secure: ctx.secure };
}

/**
 * Whether the access key `accessKey` may do `action` on bucket/key (key undefined: the bucket;
 * bucket undefined: no bucket, Resource `*`, as STS's sts:TagSession), for the checks handlers
 * make themselves (each key of DeleteObjects, a form upload's key, AssumeRole's session tags).
 * The root user always may; unknown keys never.
 */
export function userMay(
  env: OpsEnv,
  accessKey: string,
  action: string,
  bucket: string | undefined,
  key: string | undefined,
  req: { headers: Readonly<Record<string, string>>; remoteAddress: string; secure: boolean; query?: URLSearchParams },
  opts: { existing?: { versionId?: string | undefined }; requestTags?: TagSet | undefined; signer?: SignedBy | undefined } = {},
): boolean {
  if (accessKey === env.config.rootUser) return true;
  // An unsigned request (no access key): only the bucket's policy can allow it.
  const user = accessKey === '' ? undefined : env.users?.().get(accessKey);
  if (user === undefined && accessKey !== '') return false;
  // A form upload's signer is in its fields (`signer`), not in the request's headers.
  const context = requestContext(req, env.config.tls !== null, 'signer' in opts ? opts.signer : signedBy(req.headers, req.query));
  // The tags the upload sets (a form's `tagging` field), when the caller has them.
  if (opts.requestTags !== undefined) {
    const tags = opts.requestTags;
    context.requestTags = () => tags;
  }
  // `existing`: the action acts on the stored object (the version named), whose tags are then
  // s3:ExistingObjectTag/<key>; not for one a write creates.
  const object = bucket === undefined || key === undefined || opts.existing === undefined ? undefined : { bucket, key, versionId: opts.existing.versionId };
  const resource = bucket === undefined ? '*' : key === undefined ? bucket : `${bucket}/${key}`;
  return permits(env, user, { bucket, action, resource, ...(object ? { object } : {}) }, context);
}

/**
 * Whether a request signed by a user (not root) is allowed by its policies and the buckets'
 * policies. `body`: what its body sets, once parsed (bodyAllowed).
 */
export function userAllowed(env: OpsEnv, req: AnonymousRequest & { accessKey: string }, body?: BodyFacts): boolean {
  if (req.accessKey === env.config.rootUser) return true;
  const { route } = req;
  if (ANONYMOUS_OPERATIONS.has(route.op) || SELF_CHECKED.has(route.op)) return true;
  const user = env.users?.().get(req.accessKey);
  const entry = USER_ACTIONS[route.op];
  if (user === undefined || entry === undefined) return false;
  const [plain, scope] = entry;
  const action = scope === 'object' && req.query.has('versionId') ? (VERSION_ACTIONS[route.op] ?? plain) : plain;
  const context = requestContext(req, env.config.tls !== null);
  bodyContext(context, route.op, req, body);
  uploadContext(env, req, context);
  const checks: Check[] = [];
  if (scope === 'service') checks.push({ bucket: undefined, action, resource: '*' });
  else if (route.bucket === undefined) return false;
  else if (scope === 'bucket') {
    if (action === 's3:ListBucket' || action === 's3:ListBucketVersions') listingContext(context.keys, req.query);
    checks.push({ bucket: route.bucket, action, resource: route.bucket });
  } else if (route.key === undefined) {
    // GetObjectTorrent at a bucket's path, the one object operation routed without a key: S3's 405
    // whatever key, so judged as asking for every key (a user allowed s3:* got 403, root the 405).
    if (route.op !== 'GetObjectTorrent') return false;
    checks.push({ bucket: route.bucket, action, resource: `${route.bucket}/*` });
  } else {
    checks.push({ bucket: route.bucket, action, resource: `${route.bucket}/${route.key}`, object: objectOf(route, req.query) });
    checks.push(...attributesReadCheck(route, req.query));
    checks.push(...conditionReadCheck(route, req.headers));
    const src = copySourceCheck(route.op, req.headers);
    if (src !== undefined) checks.push(src);
    checks.push(...uploadOptionChecks(route, req.headers));
  }
  return allowedOrDeferred(checks.every((c) => permits(env, user, c, context)), context);
}

/** The object a request acts on (the version its versionId names). */
function objectOf(route: Route, query: URLSearchParams): ObjectRef {
  return { bucket: route.bucket!, key: route.key!, versionId: query.get('versionId') ?? undefined };
}

/**
 * A refusal that rests on keys still in the body is not given yet: the handler judges the
 * request again, whole, once it has parsed them, before it changes anything (bodyAllowed).
 */
function allowedOrDeferred(allowed: boolean, context: RequestKeys): boolean {
  return allowed || context.deferred;
}

/**
 * For PutObjectTagging, PutObjectRetention, PutObjectLegalHold and UpdateObjectEncryption, after the body is parsed and
 * before anything is stored: whether the requester may set what it says, judged as the request
 * was before its body (userAllowed, anonymousAllowed) with the body's keys now known
 * (s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys; the Object Lock keys; the KMS key). The root user
 * always may.
 */
export function bodyAllowed(env: OpsEnv, ctx: RequestContext, body: BodyFacts): boolean {
  if (ctx.accessKey === env.config.rootUser) return true;
  const req: AnonymousRequest & { accessKey: string } = {
    route: { op: ctx.op, ...(ctx.bucket !== undefined ? { bucket: ctx.bucket } : {}), ...(ctx.key !== undefined ? { key: ctx.key } : {}) },
    query: ctx.query,
    headers: ctx.headers,
    remoteAddress: ctx.remoteAddress ?? '',
    secure: ctx.secure,
    accessKey: ctx.accessKey,
  };
  return ctx.accessKey === '' ? anonymousAllowed(env, req, body) : userAllowed(env, req, body);
}

/**
 * UpdateObjectEncryption's s3:PutObject check (S3 asks for it besides s3:UpdateObjectEncryption) on
 * the object it re-keys, with the KMS key its body names as
 * s3:x-amz-server-side-encryption-aws-kms-key-id (`body`). Before the body is parsed, a refusal
 * resting on that key is not given yet: the handler asks again with it, before changing anything.
 */
export function updateEncryptionWriteAllowed(env: OpsEnv, ctx: RequestContext, body?: BodyFacts): boolean {
  if (ctx.key === undefined) return false;
  return requesterJudge(env, ctx, { op: ctx.op, facts: body })('s3:PutObject', ctx.key, ctx.query.get('versionId') ?? undefined);
}

/**
 * The actions an upload's options need besides s3:PutObject, as on S3: tags (x-amz-tagging),
 * Object Lock retention and a legal hold. A retention or hold set with an upload cannot be undone
 * (COMPLIANCE: not even by root), so it must never ride on s3:PutObject alone — for users, for
 * anonymous writers of a public bucket, and for form uploads (ops/post-object.ts).
 */
export function uploadOptionActions(headers: Readonly<Record<string, string>>): string[] {
  const actions: string[] = [];
  if (headers['x-amz-tagging'] !== undefined) actions.push('s3:PutObjectTagging');
  if (headers['x-amz-object-lock-mode'] !== undefined || headers['x-amz-object-lock-retain-until-date'] !== undefined) actions.push('s3:PutObjectRetention');
  if (headers['x-amz-object-lock-legal-hold'] !== undefined) actions.push('s3:PutObjectLegalHold');
  return actions;
}

/**
 * The checks of an upload's options (uploadOptionActions) on the key a PutObject, CopyObject or
 * CreateMultipartUpload writes. A copy's x-amz-tagging sets nothing unless its tagging directive is
 * REPLACE (with COPY, the default, S3 ignores it; copy.ts judges copying the source's tags).
 */
function uploadOptionChecks(route: Route, headers: Readonly<Record<string, string>>): Check[] {
  if (route.op !== 'PutObject' && route.op !== 'CopyObject' && route.op !== 'CreateMultipartUpload') return [];
  const ignoredTags = route.op === 'CopyObject' && (headers['x-amz-tagging-directive'] ?? 'COPY') === 'COPY';
  return uploadOptionActions(headers)
    .filter((action) => !(ignoredTags && action === 's3:PutObjectTagging'))
    .map((action) => ({ bucket: route.bucket, action, resource: `${route.bucket}/${route.key}` }));
}

/**
 * GetObjectAttributes needs the read of the object besides its own action, as on S3
 * (s3:GetObject, or s3:GetObjectVersion with a versionId): the ETag, size and checksums it tells
 * are a digest of the content, which a Deny of s3:GetObject must keep from the requester.
 */
function attributesReadCheck(route: Route, query: URLSearchParams): Check[] {
  if (route.op !== 'GetObjectAttributes') return [];
  return [{ bucket: route.bucket, action: query.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', resource: `${route.bucket}/${route.key}`, object: objectOf(route, query) }];
}

/**
 * A write or delete that compares the object's ETag (If-Match naming one, not `*`) or, for a
 * delete, its size or last-modified time needs the read of the object besides its own action, as
 * on S3 ("to perform a conditional write with the HTTP If-Match header, you must have the
 * s3:PutObject and s3:GetObject permissions"; a conditional delete naming an ETag needs
 * s3:DeleteObject and s3:GetObject): its answer tells whether the ETag, a digest of the content,
 * is the one guessed. A writer denied the read used If-Match as that oracle. Whether the key exists
 * (If-None-Match: *, If-Match: *) the write alone may ask. The current version is compared, whatever
 * version a delete names. DeleteObjects judges its Objects' conditions itself (conditionsReadable in delete-objects.ts).
 */
function conditionReadCheck(route: Route, headers: Readonly<Record<string, string>>): Check[] {
  if (!CONDITIONAL_WRITES.has(route.op)) return [];
  const ifMatch = headers['if-match'];
  const compares = (ifMatch !== undefined && ifMatch.trim() !== '*') || (route.op === 'DeleteObject' && (headers['x-amz-if-match-size'] !== undefined || headers['x-amz-if-match-last-modified-time'] !== undefined));
  if (!compares) return [];
  return [{ bucket: route.bucket, action: 's3:GetObject', resource: `${route.bucket}/${route.key}`, object: { bucket: route.bucket!, key: route.key! } }];
}

/** The operations whose If-Match names the object they write or delete. */
const CONDITIONAL_WRITES: ReadonlySet<Operation> = new Set<Operation>(['PutObject', 'CopyObject', 'CompleteMultipartUpload', 'DeleteObject']);

/**
 * The read a copy needs on its source; undefined when the operation is no copy, or when its source
 * header names no object: the handler refuses that with the parse's 400 before it reads anything
 * (users got 403 AccessDenied for a typo the root user saw explained).
 */
function copySourceCheck(op: Operation, headers: Readonly<Record<string, string>>): Check | undefined {
  if (op !== 'CopyObject' && op !== 'UploadPartCopy') return undefined;
  try {
    const src = parseCopySource(headers['x-amz-copy-source'] ?? '');
    return { bucket: src.bucket, action: src.versionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion', resource: `${src.bucket}/${src.key}`, object: { bucket: src.bucket, key: src.key, versionId: src.versionId } };
  } catch {
    return undefined;
  }
}

type Requester = { accessKey: string; bucket?: string; headers: Readonly<Record<string, string>>; query?: URLSearchParams; remoteAddress?: string; secure: boolean };

/**
 * A judge of what the requester of `ctx` may do in its bucket, for answers a handler shapes per
 * object (a listing's metadata and tags): `(action, key)` (key undefined: the bucket itself). The
 * root user always may; a user as its policies and the bucket's decide; an anonymous requester
 * (accessKey '') as the bucket's policy alone does; an unknown key never. The request's condition
 * keys are read once; `versionId` names the version an object action acts on.
 */
export function requesterJudge(
  env: OpsEnv,
  ctx: Requester,
  body?: { readonly op: Operation; readonly facts: BodyFacts | undefined },
): (action: string, key: string | undefined, versionId?: string) => boolean {
  if (ctx.accessKey === env.config.rootUser) return () => true;
  const bucket = ctx.bucket;
  if (bucket === undefined) return () => false;
  let user: User | undefined;
  if (ctx.accessKey !== '') {
    user = env.users?.().get(ctx.accessKey);
    if (user === undefined) return () => false;
  }
  const facts = { headers: ctx.headers, remoteAddress: ctx.remoteAddress ?? '', secure: ctx.secure, ...(ctx.query ? { query: ctx.query } : {}) };
  const context = requestContext(facts, env.config.tls !== null);
  // `body`: the operation's body keys (bodyContext); a refusal resting on one not read yet is
  // deferred (allowedOrDeferred) until the handler asks again with the body's facts.
  if (body !== undefined) bodyContext(context, body.op, { route: { op: body.op, bucket }, query: ctx.query ?? new URLSearchParams(), ...facts }, body.facts);
  return (action, key, versionId) => allowedOrDeferred(permits(env, user, { bucket, action, resource: key === undefined ? bucket : `${bucket}/${key}`, ...(key !== undefined ? { object: { bucket, key, versionId } } : {}) }, context), context);
}

/**
 * For a listen request (ops/listen.ts): whether its requester may receive events of `bucket`, or
 * (undefined) keep listening at all, asked again for every event, so that access is judged as it
 * stands then. A bucket listener needs s3:ListenBucketNotification on its bucket; one listening
 * to every bucket needs s3:ListenNotification, and on each event's bucket as well: an explicit
 * Deny of a bucket (`s3:*` on it) kept its object names out of every other request but not out
 * of this stream. A user the users file no longer has may do nothing. Undefined for the root user.
 */
export function listenJudge(env: OpsEnv, ctx: Requester): ((bucket: string | undefined) => boolean) | undefined {
  if (ctx.accessKey === env.config.rootUser) return undefined;
  const facts = { headers: ctx.headers, remoteAddress: ctx.remoteAddress ?? '', secure: ctx.secure, ...(ctx.query ? { query: ctx.query } : {}) };
  const action = ctx.bucket === undefined ? 's3:ListenNotification' : 's3:ListenBucketNotification';
  const asked = Date.now();
  return (bucket) => {
    let user: User | undefined;
    if (ctx.accessKey !== '') {
      user = env.users?.().get(ctx.accessKey);
      if (user === undefined) return false;
    }
    // A context per judgement: one context keeps the principal keys of the user it first judged
    // (aws:PrincipalTag/* of a user a reload re-tagged) and its first aws:CurrentTime, so that a
    // listener kept hearing events its changed tags or a closed time window no longer allowed.
    // s3:signatureAge stays the listen request's (the time passed since is not the signature's).
    const context = requestContext(facts, env.config.tls !== null);
    context.now = Date.now();
    if (context.signedAt !== undefined) context.signedAt += context.now - asked;
    if (ctx.bucket === undefined && !permits(env, user, { bucket: undefined, action, resource: '*' }, context)) return false;
    const b = bucket ?? ctx.bucket;
    return b === undefined || permits(env, user, { bucket: b, action, resource: b }, context);
  };
}

/**
 * Whether the requester may list `bucket` (s3:ListBucket, no prefix). S3 answers a read of a
 * missing key with 403 AccessDenied to one who may not, so that existence does not leak.
 */
export function mayList(env: OpsEnv, ctx: Requester): boolean {
  return requesterJudge(env, ctx)('s3:ListBucket', undefined);
}

/** Whether an unsigned request is admitted by the policies of every bucket it touches (`body`: as userAllowed). */
export function anonymousAllowed(env: OpsEnv, req: AnonymousRequest, body?: BodyFacts): boolean {
  const { route } = req;
  if (route.bucket === undefined) return false;
  // As on S3: an unsigned request to a bucket that does not exist is 404 NoSuchBucket, not 403
  // (a bucket name's existence is public on S3; anonymous CreateBucket stays AccessDenied).
  if (route.op !== 'CreateBucket' && env.meta.getBucket(route.bucket) === undefined) throw new S3Error('NoSuchBucket');
  // S3 copies for no anonymous requester, whatever the policies allow on either side: 403
  // AccessDenied in these words, two spaces as S3 sends them (Seagate/cortx-prvsnr#2908, seen on
  // AWS with a public-read source and a public-read-write destination; SeaweedFS answers the same
  // with one). UploadPartCopy is a copy of an object too, and is answered alike (S3's own answer
  // to it is not on record).
  if (route.op === 'CopyObject' || route.op === 'UploadPartCopy') throw new S3Error('AccessDenied', 'Anonymous users cannot copy objects.  Please authenticate.');
  // S3 starts no multipart upload for an anonymous requester either, whatever the policy allows
  // (`"Action": "*"` to anyone, a public-read-write bucket): 403 AccessDenied in these words, two
  // spaces as S3 sends them (scylladb/scylladb#13425, AWS's XML; aws/aws-sdk-cpp#1575;
  // awsdocs/amazon-s3-userguide#91). The parts, completion, abort and listing of an upload a
  // signer started stay as the policy allows: S3 is not on record refusing those (versitygw
  // refuses the creation alone and judges them by the policy).
  if (route.op === 'CreateMultipartUpload') throw new S3Error('AccessDenied', 'Anonymous users cannot initiate multipart uploads.  Please authenticate.');
  // DeleteObjects is judged key by key in its handler (userMay with no access key), as S3 judges
  // it: keys the bucket's policy does not let anyone delete are AccessDenied entries of a 200.
  if (route.op === 'DeleteObjects') return true;
  const context = requestContext(req, env.config.tls !== null);
  bodyContext(context, route.op, req, body);
  uploadContext(env, req, context);
  const checks: Check[] = [];
  // A version's action only for an operation anonymous requests get at all: GetObjectAcl and
  // PutObjectAcl are never anonymous, and with a versionId they were (s3:GetObjectVersionAcl).
  const objectAction = route.key === undefined || OBJECT_ACTIONS[route.op] === undefined ? undefined : req.query.has('versionId') ? (VERSION_ACTIONS[route.op] ?? OBJECT_ACTIONS[route.op]) : OBJECT_ACTIONS[route.op];
  const bucketAction = route.key === undefined ? BUCKET_ACTIONS[route.op] : undefined;
  if (objectAction !== undefined) {
    checks.push({ bucket: route.bucket, action: objectAction, resource: `${route.bucket}/${route.key}`, object: objectOf(route, req.query) });
    checks.push(...attributesReadCheck(route, req.query));
    checks.push(...conditionReadCheck(route, req.headers));
    const src = copySourceCheck(route.op, req.headers);
    if (src !== undefined) checks.push(src);
    checks.push(...uploadOptionChecks(route, req.headers));
  } else if (bucketAction !== undefined) {
    if (bucketAction === 's3:ListBucket' || bucketAction === 's3:ListBucketVersions') listingContext(context.keys, req.query);
    checks.push({ bucket: route.bucket, action: bucketAction, resource: route.bucket });
  } else {
    return false;
  }
  // Anonymous: only bucket policies can allow.
  return allowedOrDeferred(checks.every((c) => permits(env, undefined, c, context)), context);
}

export async function handlePutBucketPolicy(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const seen = requireBucket(env, ctx.bucket);
  const text = utf8Text(await ctx.body.readAll(64 * 1024));
  if (text === undefined) throw new S3Error('MalformedPolicy', 'The policy is not valid UTF-8.');
  const policy = parseBucketPolicy(text, ctx.bucket!);
  // As on AWS, a Principal must name a user that exists (of this account: s3d has one).
  const account = accountId(env);
  const users = env.users?.();
  for (const arn of namedUsers(policy)) {
    const named = principalUser(arn)!;
    const user = users?.get(named.name);
    // Temporary credentials' access keys are no users (they act as theirs).
    if (named.account !== account || user === undefined || user.session !== undefined) {
      throw new S3Error('MalformedPolicy', `Invalid principal in policy: ${arn} (s3d's users are ${userArn(account, 'ACCESS_KEY')}, the access keys of S3_IAM_FILE).`);
    }
  }
  const update = (b: BucketRecord): BucketRecord => {
    // As on S3, for every requester: checked in the commit, against the block in force then.
    if (blocks(env, b, 'blockPublicPolicy') && isPublic(policy)) {
      throw new S3Error('AccessDenied', 'Access Denied: public policies are blocked by the BlockPublicPolicy block public access setting.');
    }
    return { ...b, policy: text };
  };
  await updateSeenBucket(env, seen, update);
  return { status: 204 };
}

export async function handleGetBucketPolicy(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = requireBucket(env, ctx.bucket);
  if (b.policy === undefined) throw new S3Error('NoSuchBucketPolicy');
  return { status: 200, headers: { 'content-type': 'application/json' }, body: b.policy };
}

export async function handleDeleteBucketPolicy(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  return clearBucketField(env, ctx.bucket, 'policy');
}

export async function handleGetBucketPolicyStatus(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = requireBucket(env, ctx.bucket);
  const policy = policyOf(b);
  // As on S3: a bucket without a policy has no policy status.
  if (policy === undefined) throw new S3Error('NoSuchBucketPolicy');
  const body = toXml('PolicyStatus', { IsPublic: String(isPublic(policy)) });
  return { status: 200, headers: { 'content-type': 'application/xml' }, body };
}
