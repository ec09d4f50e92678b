// The condition keys of the IAM policy language as s3d knows them (bucket-policy.ts and
// policy-conditions.ts parse and judge policies with them): their names and spellings, which are numbers, dates, sets or ARNs,
// the object-tag and session-tag key families, and which S3 actions have which keys. Pure: no I/O.
import { STS_TAG_SESSION } from './s3-actions.js';

/**
 * Keys that are numbers (Numeric operators) and dates (Date operators), as IAM types them.
 * aws:EpochTime is both (seconds since 1970). s3:max-keys, a number typed as a string before
 * s3d had Numeric operators, keeps the string operators; the other typed keys take only theirs
 * (and Null): the text of aws:CurrentTime is no stable thing to match a pattern against.
 */
export const NUMERIC_KEYS: ReadonlySet<string> = new Set(['s3:max-keys', 'aws:epochtime', 's3:object-lock-remaining-retention-days', 's3:signatureage', 's3:tlsversion']);
/**
 * TLS versions s3d's listener speaks (1.0 and 1.1 are refused). uWebSockets.js does not say which
 * of them a connection uses, so s3:TlsVersion is taken only in conditions that hold alike for
 * each (AWS's "NumericLessThan 1.2" does; "NumericLessThan 1.3" would need the version).
 */
export const TLS_VERSIONS = ['1.2', '1.3'] as const;
export const DATE_KEYS: ReadonlySet<string> = new Set(['aws:currenttime', 'aws:epochtime', 's3:object-lock-retain-until-date', 'aws:tokenissuetime']);
export const STRING_TYPED_NUMBERS: ReadonlySet<string> = new Set(['s3:max-keys']);
/**
 * The Object Lock settings a write asks for (its x-amz-object-lock-* headers) or PutObjectRetention
 * and PutObjectLegalHold set (their body): what S3's "Setting limits on retention periods" policy
 * judges (NumericGreaterThan on s3:object-lock-remaining-retention-days, …).
 */
export const LOCK_KEYS = ['s3:object-lock-mode', 's3:object-lock-retain-until-date', 's3:object-lock-remaining-retention-days', 's3:object-lock-legal-hold'] as const;
/**
 * The ACL grant headers of a write (x-amz-grant-*), as keys: AWS's "deny grants" policies test
 * them (s3d keeps ACLs disabled and refuses grants to others whatever a policy says).
 */
export const GRANT_KEYS = ['s3:x-amz-grant-read', 's3:x-amz-grant-write', 's3:x-amz-grant-read-acp', 's3:x-amz-grant-write-acp', 's3:x-amz-grant-full-control'] as const;
/**
 * The SSE keys carry the request's own encryption headers, as on S3: what the classic "deny
 * unencrypted uploads" policy tests (`Null` or `StringNotEquals` on s3:x-amz-server-side-encryption).
 */
export const KEYS: ReadonlySet<string> = new Set([
  's3:prefix', 's3:delimiter', 's3:max-keys', 'aws:sourceip', 'aws:securetransport', 'aws:referer', 'aws:useragent',
  's3:x-amz-server-side-encryption', 's3:x-amz-server-side-encryption-aws-kms-key-id', 's3:x-amz-server-side-encryption-customer-algorithm',
  's3:requestobjecttagkeys', 'aws:currenttime', 'aws:epochtime',
  // The session tags an AssumeRole asks for (sts:TagSession's keys, with aws:RequestTag/<key>).
  'aws:tagkeys',
  's3:x-amz-acl', ...GRANT_KEYS, 's3:x-amz-metadata-directive', 's3:x-amz-storage-class', 's3:x-amz-content-sha256', 's3:versionid', 's3:authtype', 's3:signatureversion',
  ...LOCK_KEYS, 's3:if-match', 's3:if-none-match', 's3:objectcreationoperation', 's3:x-amz-copy-source', 's3:signatureage',
  // Who signed: a user's access key (aws:username, aws:userid), `anonymous` (aws:userid of an
  // unsigned request); aws:PrincipalType `User` or `Anonymous`; temporary credentials' issue time;
  // the signer's account and the bucket's (s3d has one: the root user's access key).
  'aws:username', 'aws:userid', 'aws:principaltype', 's3:tlsversion', 'aws:tokenissuetime', 'aws:principalaccount', 'aws:resourceaccount', 'aws:principalarn',
]);
/**
 * Keys an action without them does not see (KEY_ACTIONS), for the request keys that are headers
 * every request may send: x-amz-acl on a GetObject is no s3:x-amz-acl, and x-amz-server-side-encryption
 * on a DeleteObject or a listing no s3:x-amz-server-side-encryption (an "Allow s3:* when SSE-S3 is
 * asked for" admitted any request that sent the header).
 */
export const ACTION_BOUND_KEYS: ReadonlySet<string> = new Set([
  's3:x-amz-server-side-encryption', 's3:x-amz-server-side-encryption-aws-kms-key-id', 's3:x-amz-server-side-encryption-customer-algorithm',
  's3:x-amz-acl', ...GRANT_KEYS, 's3:x-amz-metadata-directive', 's3:x-amz-storage-class', 's3:versionid', ...LOCK_KEYS, 's3:if-match', 's3:if-none-match', 's3:objectcreationoperation', 's3:x-amz-copy-source']);
/** Keys followed by a tag key: the value of that tag on the object (existing) or in the request. */
export const EXISTING_TAG = 's3:existingobjecttag/';
export const REQUEST_TAG = 's3:requestobjecttag/';
/** The signer's tags (S3_IAM_FILE, or an STS session's): tag keys without case, as IAM compares them. */
export const PRINCIPAL_TAG = 'aws:principaltag/';
/** The session tags an AssumeRole asks for (sts:TagSession), tag keys without case as PRINCIPAL_TAG's. */
export const AWS_REQUEST_TAG = 'aws:requesttag/';
export const TAG_KEY_PREFIXES = [EXISTING_TAG, REQUEST_TAG] as const;
export const CASELESS_TAG_PREFIXES = [PRINCIPAL_TAG, AWS_REQUEST_TAG] as const;
/** Keys whose value is a set: only ForAnyValue:/ForAllValues: say what a condition on them means. */
export const MULTI_VALUED: ReadonlySet<string> = new Set(['s3:requestobjecttagkeys', 'aws:tagkeys']);
export const KEY_SPELLING: Readonly<Record<string, string>> = { 's3:requestobjecttagkeys': 's3:RequestObjectTagKeys', 'aws:tagkeys': 'aws:TagKeys', 'aws:currenttime': 'aws:CurrentTime', 'aws:epochtime': 'aws:EpochTime', 's3:authtype': 's3:authType', 's3:objectcreationoperation': 's3:ObjectCreationOperation', 's3:signatureage': 's3:signatureAge', 'aws:principaltype': 'aws:PrincipalType', 's3:tlsversion': 's3:TlsVersion', 'aws:tokenissuetime': 'aws:TokenIssueTime', 'aws:principalaccount': 'aws:PrincipalAccount', 'aws:resourceaccount': 'aws:ResourceAccount', 'aws:principalarn': 'aws:PrincipalArn' };
/** Keys whose values are ARNs: the Arn operators compare them (and only them). */
export const ARN_KEYS: ReadonlySet<string> = new Set(['aws:principalarn']);
export const SUPPORTED_KEYS = [...KEYS].map((k) => KEY_SPELLING[k] ?? k).concat(['s3:ExistingObjectTag/<tag-key>', 's3:RequestObjectTag/<tag-key>', 'aws:PrincipalTag/<tag-key>', 'aws:RequestTag/<tag-key>']).join(', ');

/** The key a condition names, without the tag key of the object-tag keys. */
export function keyFamily(key: string): string {
  return TAG_KEY_PREFIXES.find((p) => key.startsWith(p)) ?? (key.startsWith(AWS_REQUEST_TAG) ? AWS_REQUEST_TAG : key);
}

export const KMS_KEY_ID = 's3:x-amz-server-side-encryption-aws-kms-key-id';
const ACL_KEY_ACTIONS = ['s3:PutObject', 's3:PutObjectAcl', 's3:PutObjectVersionAcl', 's3:PutBucketAcl', 's3:CreateBucket', 's3:BypassGovernanceRetention'];
const REQUEST_TAG_ACTIONS = ['s3:PutObject', 's3:PutObjectTagging', 's3:PutObjectVersionTagging', 's3:BypassGovernanceRetention'];
const RETENTION_KEY_ACTIONS = ['s3:PutObject', 's3:PutObjectRetention', 's3:BypassGovernanceRetention'];

/**
 * Condition keys that only some actions have (the aws: keys every request has), as AWS's Service
 * Authorization Reference for Amazon S3 lists them; S3_ACTIONS' names are lower-case.
 */
export const KEY_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  's3:prefix': ['s3:ListBucket', 's3:ListBucketVersions'],
  's3:delimiter': ['s3:ListBucket', 's3:ListBucketVersions'],
  's3:max-keys': ['s3:ListBucket', 's3:ListBucketVersions'],
  's3:x-amz-server-side-encryption': ['s3:PutObject'],
  // UpdateObjectEncryption's: the key its body names (ops/update-encryption.ts).
  's3:x-amz-server-side-encryption-aws-kms-key-id': ['s3:PutObject', 's3:UpdateObjectEncryption'],
  's3:x-amz-server-side-encryption-customer-algorithm': ['s3:PutObject'],
  // Not PutObject, DeleteObject(Version) or the Object Lock actions: S3 does not judge those by the
  // tags of the object they replace, delete or lock.
  [EXISTING_TAG]: [
    's3:GetObject', 's3:GetObjectVersion', 's3:GetObjectAcl', 's3:GetObjectVersionAcl', 's3:GetObjectAttributes', 's3:GetObjectVersionAttributes',
    's3:GetObjectTagging', 's3:GetObjectVersionTagging', 's3:PutObjectTagging', 's3:PutObjectVersionTagging', 's3:DeleteObjectTagging',
    's3:DeleteObjectVersionTagging', 's3:PutObjectAcl', 's3:PutObjectVersionAcl',
  ],
  [REQUEST_TAG]: REQUEST_TAG_ACTIONS,
  's3:requestobjecttagkeys': REQUEST_TAG_ACTIONS,
  // The session tags of an AssumeRole: no S3 action has them.
  [AWS_REQUEST_TAG]: [STS_TAG_SESSION],
  'aws:tagkeys': [STS_TAG_SESSION],
  's3:x-amz-acl': ACL_KEY_ACTIONS,
  ...Object.fromEntries(GRANT_KEYS.map((k) => [k, ACL_KEY_ACTIONS])),
  's3:x-amz-metadata-directive': ['s3:PutObject', 's3:BypassGovernanceRetention'],
  's3:x-amz-storage-class': ['s3:PutObject', 's3:PutObjectAcl', 's3:PutObjectVersionAcl', 's3:BypassGovernanceRetention'],
  // The retention keys: writes and PutObjectRetention; the hold: writes and PutObjectLegalHold.
  's3:object-lock-mode': RETENTION_KEY_ACTIONS,
  's3:object-lock-retain-until-date': RETENTION_KEY_ACTIONS,
  's3:object-lock-remaining-retention-days': RETENTION_KEY_ACTIONS,
  's3:object-lock-legal-hold': ['s3:PutObject', 's3:PutObjectLegalHold', 's3:BypassGovernanceRetention'],
  // A conditional write's If-Match and If-None-Match (a GET's are no such keys).
  's3:if-match': ['s3:PutObject'],
  's3:if-none-match': ['s3:PutObject'],
  // true for the writes that create an object (PutObject, CopyObject, CompleteMultipartUpload),
  // false for the multipart calls that cannot carry a precondition.
  's3:objectcreationoperation': ['s3:PutObject'],
  // A copy's source (CopyObject, UploadPartCopy: both s3:PutObject), as `bucket/key`.
  's3:x-amz-copy-source': ['s3:PutObject', 's3:BypassGovernanceRetention'],
  's3:versionid': [
    's3:GetObjectVersion', 's3:GetObjectVersionAcl', 's3:GetObjectVersionAttributes', 's3:GetObjectVersionTagging', 's3:GetObjectVersionTorrent',
    's3:PutObjectVersionAcl', 's3:PutObjectVersionTagging', 's3:DeleteObjectVersion', 's3:DeleteObjectVersionTagging',
  ],
};

const KEY_ACTION_SETS = new Map(Object.entries(KEY_ACTIONS).map(([k, actions]) => [k, new Set(actions.map((a) => a.toLowerCase()))]));

/**
 * Whether the request of `action` has the key `family` (a key, or the prefix of the object-tag
 * keys): on S3 a key an action lacks is absent from its request, so a statement naming `s3:*`
 * and s3:ExistingObjectTag/<key> sees no such key for a PutObject.
 */
export function actionHasKey(family: string, action: string): boolean {
  return KEY_ACTION_SETS.get(family)?.has(action.toLowerCase()) ?? true;
}

/**
 * A condition key as the context names it: lower case, but the tag key of the object-tag keys as
 * written (tag keys are case-sensitive: `Env` and `env` are two tags of one object). Undefined
 * for a key s3d does not know.
 */
export function conditionKey(name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const prefix of CASELESS_TAG_PREFIXES) {
    if (!lower.startsWith(prefix)) continue;
    const tag = lower.slice(prefix.length);
    return tag.length > 0 && [...tag].length <= 128 ? lower : undefined;
  }
  for (const prefix of TAG_KEY_PREFIXES) {
    if (!lower.startsWith(prefix)) continue;
    const tag = name.slice(prefix.length);
    // A tag key is 1–128 characters; a longer or empty one names no tag any object can carry.
    return tag.length > 0 && [...tag].length <= 128 ? prefix + tag : undefined;
  }
  return KEYS.has(lower) ? lower : undefined;
}

/**
 * A policy variable's key as the context names it (see conditionKey); undefined for a key with
 * no single value to put in its place (s3:RequestObjectTagKeys is a set).
 */
export function variableKey(name: string): string | undefined {
  const key = conditionKey(name);
  return key === undefined || MULTI_VALUED.has(key) ? undefined : key;
}
