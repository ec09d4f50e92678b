// One dispatch from the Operation the router named to its handler.

import { S3Error } from '../errors.js';
import { isVersionIdShape } from '../meta/versions.js';
import type { Operation } from '../http/router.js';
import {
  handleCreateBucket,
  handleDeleteBucket,
  handleDeleteBucketEncryption,
  handleGetBucketEncryption,
  handleGetBucketLocation,
  handleGetBucketVersioning,
  handleHeadBucket,
  handleListBuckets,
  handlePutBucketEncryption,
  handlePutBucketVersioning,
} from './bucket.js';
import { bucketOwner, type OpsEnv } from './env.js';
import { handleListObjectVersions, handleListObjects, handleListObjectsV2 } from './list.js';
import { handleGetObjectLegalHold, handleGetObjectLockConfiguration, handleGetObjectRetention, handlePutObjectLegalHold, handlePutObjectLockConfiguration, handlePutObjectRetention } from './object-lock.js';
import { handleDeleteObject, handleGetObject, handleHeadObject, handlePutObject } from './object.js';
import { handleCopyObject } from './copy.js';
import { handlePostObject } from './post-object.js';
import { ABSENT_CONFIG_HANDLERS } from './absent-config.js';
import { PUBLIC_ACCESS_BLOCK_HANDLERS } from './public-access-block.js';
import { handleUpdateObjectEncryption } from './update-encryption.js';
import { handleGetObjectAttributes } from './attributes.js';
import { handleDeleteBucketCors, handleGetBucketCors, handlePutBucketCors } from './bucket-cors.js';
import { handleDeleteBucketLifecycle, handleGetBucketLifecycle, handlePutBucketLifecycle } from './lifecycle.js';
import { handleDeleteBucketPolicy, handleGetBucketPolicy, handleGetBucketPolicyStatus, handlePutBucketPolicy } from './policy.js';
import { handleGetBucketAcl, handleGetObjectAcl, handlePutBucketAcl, handlePutObjectAcl } from './acl.js';
import { handleDeleteObjects } from './delete-objects.js';
import { handleGetBucketNotification, handlePutBucketNotification } from './notification.js';
import { handleListen } from './listen.js';
import {
  handleDeleteBucketTagging,
  handleDeleteObjectTagging,
  handleGetBucketTagging,
  handleGetObjectTagging,
  handlePutBucketTagging,
  handlePutObjectTagging,
} from './tagging.js';
import {
  handleAbortMultipartUpload,
  handleCreateMultipartUpload,
  handleListParts,
  handleUploadPart,
  handleUploadPartCopy,
} from './multipart.js';
import { handleCompleteMultipartUpload } from './multipart-complete.js';
import { handleListMultipartUploads } from './multipart-list.js';
import type { Handler, RequestContext, Result } from './types.js';

type OpHandler = (env: OpsEnv, ctx: RequestContext) => Promise<Result>;

export type ExtraHandlers = Partial<Record<Operation, Handler>>;

const HANDLERS: Partial<Record<Operation, OpHandler>> = {
  ...ABSENT_CONFIG_HANDLERS,
  ...PUBLIC_ACCESS_BLOCK_HANDLERS,
  GetObjectAttributes: handleGetObjectAttributes,
  UpdateObjectEncryption: handleUpdateObjectEncryption,
  ListBuckets: handleListBuckets,
  CreateBucket: handleCreateBucket,
  DeleteBucket: handleDeleteBucket,
  HeadBucket: handleHeadBucket,
  GetBucketLocation: handleGetBucketLocation,
  GetBucketVersioning: handleGetBucketVersioning,
  PutBucketVersioning: handlePutBucketVersioning,
  GetObjectLockConfiguration: handleGetObjectLockConfiguration,
  PutObjectLockConfiguration: handlePutObjectLockConfiguration,
  GetObjectRetention: handleGetObjectRetention,
  PutObjectRetention: handlePutObjectRetention,
  GetObjectLegalHold: handleGetObjectLegalHold,
  PutObjectLegalHold: handlePutObjectLegalHold,
  GetBucketEncryption: handleGetBucketEncryption,
  PutBucketEncryption: handlePutBucketEncryption,
  DeleteBucketEncryption: handleDeleteBucketEncryption,
  GetBucketAcl: handleGetBucketAcl,
  PutBucketAcl: handlePutBucketAcl,
  GetObjectAcl: handleGetObjectAcl,
  PutObjectAcl: handlePutObjectAcl,
  GetBucketLifecycleConfiguration: handleGetBucketLifecycle,
  PutBucketLifecycleConfiguration: handlePutBucketLifecycle,
  DeleteBucketLifecycle: handleDeleteBucketLifecycle,
  GetBucketCors: handleGetBucketCors,
  PutBucketCors: handlePutBucketCors,
  DeleteBucketCors: handleDeleteBucketCors,
  GetBucketNotificationConfiguration: handleGetBucketNotification,
  ListenBucketNotification: handleListen,
  ListenNotification: handleListen,
  PutBucketNotificationConfiguration: handlePutBucketNotification,
  GetBucketPolicy: handleGetBucketPolicy,
  PutBucketPolicy: handlePutBucketPolicy,
  DeleteBucketPolicy: handleDeleteBucketPolicy,
  GetBucketPolicyStatus: handleGetBucketPolicyStatus,
  GetBucketTagging: handleGetBucketTagging,
  PutBucketTagging: handlePutBucketTagging,
  DeleteBucketTagging: handleDeleteBucketTagging,
  GetObjectTagging: handleGetObjectTagging,
  PutObjectTagging: handlePutObjectTagging,
  DeleteObjectTagging: handleDeleteObjectTagging,
  ListObjects: handleListObjects,
  ListObjectsV2: handleListObjectsV2,
  ListObjectVersions: handleListObjectVersions,
  PutObject: handlePutObject,
  PostObject: handlePostObject,
  GetObject: handleGetObject,
  HeadObject: handleHeadObject,
  DeleteObject: handleDeleteObject,
  DeleteObjects: handleDeleteObjects,
  CopyObject: handleCopyObject,
  CreateMultipartUpload: handleCreateMultipartUpload,
  UploadPart: handleUploadPart,
  UploadPartCopy: handleUploadPartCopy,
  CompleteMultipartUpload: handleCompleteMultipartUpload,
  AbortMultipartUpload: handleAbortMultipartUpload,
  ListParts: handleListParts,
  ListMultipartUploads: handleListMultipartUploads,
};

/**
 * x-amz-expected-bucket-owner (and x-amz-source-expected-bucket-owner for a copy's source): a
 * client's guard against writing to or reading from a bucket someone else owns. Every s3d bucket is
 * the root user's (the ID its ACLs and listings name); any other value is 403 AccessDenied, as on
 * S3, before the request does anything.
 */
function checkExpectedOwner(env: OpsEnv, ctx: RequestContext): void {
  const owner = bucketOwner(env).ID;
  const expected = ctx.headers['x-amz-expected-bucket-owner'];
  if (expected !== undefined && ctx.bucket !== undefined && expected.trim() !== owner) {
    throw new S3Error('AccessDenied', 'The bucket is not owned by the account x-amz-expected-bucket-owner names.');
  }
  const source = ctx.headers['x-amz-source-expected-bucket-owner'];
  if (source !== undefined && ctx.headers['x-amz-copy-source'] !== undefined && source.trim() !== owner) {
    throw new S3Error('AccessDenied', 'The source bucket is not owned by the account x-amz-source-expected-bucket-owner names.');
  }
}

/**
 * MinIO's x-minio-extract: true (mc's `--zip`: `mc ls/cat/cp/stat --zip`) reads inside a zip
 * object: a GET or HEAD of `a.zip/inner`, a listing under the prefix `a.zip/`. s3d does not open
 * zips, and answered as plain requests these were an empty listing and NoSuchKey, which read as a
 * zip with nothing in it. Where MinIO ignores the header (no `.zip/` in the key or prefix, other
 * operations) s3d does too.
 */
function refuseZipExtract(ctx: RequestContext): void {
  if (ctx.headers['x-minio-extract']?.trim() !== 'true') return;
  const inside = ctx.op === 'GetObject' || ctx.op === 'HeadObject' ? ctx.key : ctx.op === 'ListObjects' || ctx.op === 'ListObjectsV2' ? ctx.query.get('prefix') : undefined;
  if (inside?.includes('.zip/')) throw new S3Error('NotImplemented', "MinIO's x-minio-extract (reading inside a zip object, mc's --zip) is not implemented: get the zip object whole.");
}

export function createDispatcher(env: OpsEnv, extra: ExtraHandlers): Handler {
  return async (ctx) => {
    const own = extra[ctx.op];
    if (own) return own(ctx);
    const h = HANDLERS[ctx.op];
    if (!h) throw new S3Error('NotImplemented', `${ctx.op} is not implemented.`);
    refuseZipExtract(ctx);
    checkExpectedOwner(env, ctx);
    // A version id that cannot be one (S3: 400, not NoSuchVersion).
    const versionId = ctx.key === undefined ? null : ctx.query.get('versionId');
    if (versionId !== null && !isVersionIdShape(versionId)) throw new S3Error('InvalidArgument', versionId === '' ? 'Version id cannot be the empty string' : 'Invalid version id specified', { fields: { ArgumentName: 'versionId', ArgumentValue: versionId } });
    return h(env, ctx);
  };
}
