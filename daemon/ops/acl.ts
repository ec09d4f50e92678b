// Bucket and object ACLs, as MinIO has them: s3d has one owner and no ACLs, so every bucket and
// object reads back as the canned `private` ACL (the owner with FULL_CONTROL), and setting one is
// accepted only when it asks for exactly that. Tools that read or reset ACLs as part of ordinary
// work (rclone, s3fs, Cyberduck, `aws s3api put-object-acl --acl private`) then work; any grant
// to someone else is refused with NotImplemented rather than silently dropped.
import { S3Error } from '../errors.js';
import { requireBucket, type OpsEnv } from './env.js';
import { getRecord } from './object.js';
import type { RequestContext, Result } from './types.js';
import { toXml } from './xml.js';

const XML = { 'content-type': 'application/xml' };
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

function privateAcl(ctx: RequestContext): Result {
  const owner = { ID: ctx.accessKey, DisplayName: ctx.accessKey };
  const body = toXml('AccessControlPolicy', {
    Owner: owner,
    AccessControlList: {
      Grant: { Grantee: { '@_xmlns:xsi': XSI, '@_xsi:type': 'CanonicalUser', ...owner }, Permission: 'FULL_CONTROL' },
    },
  });
  return { status: 200, headers: XML, body };
}

/** Only the canned `private` ACL, by header or by an empty body, can be set. */
async function acceptPrivateOnly(ctx: RequestContext): Promise<Result> {
  const canned = ctx.headers['x-amz-acl'];
  const grants = Object.keys(ctx.headers).filter((h) => h.startsWith('x-amz-grant-'));
  const body = await ctx.body.readAll(64 * 1024);
  if ((canned !== undefined && canned.trim() !== 'private') || grants.length > 0 || body.length > 0) {
    throw new S3Error('NotImplemented', 's3d has no ACLs: only the canned ACL "private" (x-amz-acl: private) can be set.');
  }
  return { status: 200 };
}

export async function handleGetBucketAcl(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  requireBucket(env, ctx.bucket);
  return privateAcl(ctx);
}

export async function handlePutBucketAcl(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  requireBucket(env, ctx.bucket);
  return acceptPrivateOnly(ctx);
}

export async function handleGetObjectAcl(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  getRecord(env, ctx.bucket, ctx.key!, ctx.query.get('versionId'));
  return privateAcl(ctx);
}

export async function handlePutObjectAcl(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  getRecord(env, ctx.bucket, ctx.key!, ctx.query.get('versionId'));
  return acceptPrivateOnly(ctx);
}
