// The S3 actions a policy may name, with the kind of resource each applies to (AWS's Service
// Authorization Reference for Amazon S3, plus MinIO's ListenBucketNotification and
// ListenNotification), STS's sts:TagSession and MinIO's admin:Prometheus. A policy naming an action outside this list, or
// actions none of which apply to any of its statement's resources, is refused as S3 refuses it:
// such a statement would otherwise be kept and match nothing, and a Deny that matches nothing
// protects nothing.

export type ResourceKind = 'object' | 'bucket' | 'service';

/** The permission AssumeRole's session tags need (AWS: in the role's trust policy; s3d has no roles). */
export const STS_TAG_SESSION = 'sts:TagSession';

/**
 * MinIO's permission to read the Prometheus metrics with a bearer token (`mc admin prometheus
 * generate`): the one admin action s3d judges. Named by a user's identity policy, alone in its
 * statement (MinIO refuses a statement mixing admin and S3 actions) and with no Resource to
 * match (MinIO ignores an admin statement's); granted by "admin:*", not by "s3:*" nor "*".
 */
export const ADMIN_PROMETHEUS = 'admin:Prometheus';

const OBJECT = [
  'AbortMultipartUpload', 'BypassGovernanceRetention', 'DeleteObject', 'DeleteObjectTagging', 'DeleteObjectVersion',
  'DeleteObjectVersionTagging', 'GetObject', 'GetObjectAcl', 'GetObjectAttributes', 'GetObjectLegalHold', 'GetObjectRetention',
  'GetObjectTagging', 'GetObjectTorrent', 'GetObjectVersion', 'GetObjectVersionAcl', 'GetObjectVersionAttributes',
  'GetObjectVersionForReplication', 'GetObjectVersionTagging', 'GetObjectVersionTorrent', 'InitiateReplication',
  'ListMultipartUploadParts', 'ObjectOwnerOverrideToBucketOwner', 'PutObject', 'PutObjectAcl', 'PutObjectLegalHold',
  'PutObjectRetention', 'PutObjectTagging', 'PutObjectVersionAcl', 'PutObjectVersionTagging', 'ReplicateDelete',
  'ReplicateObject', 'ReplicateTags', 'RestoreObject', 'UpdateObjectEncryption',
];

const BUCKET = [
  'CreateBucket', 'DeleteBucket', 'DeleteBucketOwnershipControls', 'DeleteBucketPolicy', 'DeleteBucketWebsite',
  'GetAccelerateConfiguration', 'GetAnalyticsConfiguration', 'GetBucketAcl', 'GetBucketCORS', 'GetBucketLocation',
  'GetBucketLogging', 'GetBucketNotification', 'GetBucketObjectLockConfiguration', 'GetBucketOwnershipControls',
  'GetBucketPolicy', 'GetBucketPolicyStatus', 'GetBucketPublicAccessBlock', 'GetBucketRequestPayment', 'GetBucketTagging',
  'GetBucketVersioning', 'GetBucketWebsite', 'GetEncryptionConfiguration', 'GetIntelligentTieringConfiguration',
  'GetInventoryConfiguration', 'GetLifecycleConfiguration', 'GetMetricsConfiguration', 'GetReplicationConfiguration',
  'ListBucket', 'ListBucketMultipartUploads', 'ListBucketVersions', 'ListenBucketNotification', 'PutAccelerateConfiguration',
  'PutAnalyticsConfiguration', 'PutBucketAcl', 'PutBucketCORS', 'PutBucketLogging', 'PutBucketNotification',
  'PutBucketObjectLockConfiguration', 'PutBucketOwnershipControls', 'PutBucketPolicy', 'PutBucketPublicAccessBlock',
  'PutBucketRequestPayment', 'PutBucketTagging', 'PutBucketVersioning', 'PutBucketWebsite', 'PutEncryptionConfiguration',
  'PutIntelligentTieringConfiguration', 'PutInventoryConfiguration', 'PutLifecycleConfiguration', 'PutMetricsConfiguration',
  'PutReplicationConfiguration',
];

const SERVICE = ['ListAllMyBuckets', 'ListenNotification'];

/** Lower-cased `s3:Name` → the kind of resource it applies to (IAM action names ignore case). */
export const S3_ACTIONS: ReadonlyMap<string, ResourceKind> = new Map([
  ...OBJECT.map((a) => [`s3:${a}`.toLowerCase(), 'object'] as const),
  ...BUCKET.map((a) => [`s3:${a}`.toLowerCase(), 'bucket'] as const),
  ...SERVICE.map((a) => [`s3:${a}`.toLowerCase(), 'service'] as const),
  // STS's one action s3d judges: giving AssumeRole session tags (which become aws:PrincipalTag/<key>
  // of the session, over its user's). Named by a user's identity policy, with Resource "*"; not
  // granted by "s3:*" nor by "*", which in s3d's policies means every S3 action.
  [STS_TAG_SESSION.toLowerCase(), 'service'],
  [ADMIN_PROMETHEUS.toLowerCase(), 'service'],
]);
