// Bucket and object ACLs, as S3 has them with ACLs disabled (BucketOwnerEnforced, S3's default
// for new buckets): s3d has one owner and no ACLs, so every bucket and object reads back as the
// owner with FULL_CONTROL, and setting an ACL is accepted when it grants exactly that: the canned
// `private` or `bucket-owner-full-control`, or a document granting only the owner FULL_CONTROL
// (what GetObjectAcl returned, written back by tools that copy ACLs). Tools that read or reset ACLs
// as part of ordinary work (rclone, s3fs, Cyberduck, `aws s3api put-object-acl --acl private`)
// then work; a grant to anyone else is refused with AccessControlListNotSupported, as S3 refuses
// it, rather than silently dropped.
import { S3Error } from '../errors.js';
import { bucketOwner, requireBucket, type OpsEnv } from './env.js';
import { readableRecord } from './object.js';
import type { RequestContext, Result } from './types.js';
import { OWNER_ONLY_ACLS, checkCannedAcl } from './object-headers.js';
import { parseXml, toXml, xmlElement, xmlList } from './xml.js';

const XML = { 'content-type': 'application/xml' };
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

function privateAcl(env: OpsEnv): Result {
  const owner = bucketOwner(env);
  const body = toXml('AccessControlPolicy', {
    Owner: owner,
    AccessControlList: {
      Grant: { Grantee: { '@_xmlns:xsi': XSI, '@_xsi:type': 'CanonicalUser', ...owner }, Permission: 'FULL_CONTROL' },
    },
  });
  return { status: 200, headers: XML, body };
}

function refuse(what: string): never {
  throw new S3Error('AccessControlListNotSupported', `The bucket does not allow ACLs: s3d has ACLs disabled (as S3 buckets with BucketOwnerEnforced); ${what}. Grant access with a bucket policy.`);
}

/** Accepts an ACL that grants the owner FULL_CONTROL and nothing else; refuses any other. */
async function acceptOwnerOnly(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const canned = ctx.headers['x-amz-acl']?.trim() || undefined; // empty: none, as S3 reads it
  checkCannedAcl(canned);
  if (canned !== undefined && !OWNER_ONLY_ACLS.has(canned)) refuse(`only the canned ACLs private and bucket-owner-full-control can be set, not ${JSON.stringify(canned)}`);
  if (Object.keys(ctx.headers).some((h) => h.startsWith('x-amz-grant-'))) refuse('x-amz-grant-* headers cannot be set');
  const body = await ctx.body.readAll(64 * 1024);
  if (body.length === 0) {
    // Nothing to set: S3 asks for the ACL.
    if (canned === undefined) throw new S3Error('MissingSecurityHeader', 'Your request was missing a required header', { fields: { MissingHeaderName: 'x-amz-acl' } });
    return { status: 200 };
  }
  if (canned !== undefined) throw new S3Error('UnexpectedContent', 'This request does not support content when x-amz-acl is given.');
  const policy = xmlElement(parseXml(body).AccessControlPolicy, 'AccessControlPolicy');
  // The owner is the root user (what GetBucketAcl and GetObjectAcl name); a user granting itself
  // FULL_CONTROL grants someone else than the owner.
  const owners = new Set([env.config.rootUser]);
  const grants = xmlList(xmlElement(policy.AccessControlList, 'AccessControlList').Grant);
  if (grants.length === 0) refuse('an ACL without the owner\'s FULL_CONTROL grant cannot be set');
  for (const g of grants) {
    const grant = xmlElement(g, 'Grant');
    const grantee = xmlElement(grant.Grantee, 'Grantee');
    const id = grantee.ID;
    if (grant.Permission !== 'FULL_CONTROL' || typeof id !== 'string' || !owners.has(id.trim())) refuse('only a grant of FULL_CONTROL to the owner can be set');
  }
  return { status: 200 };
}

export async function handleGetBucketAcl(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  requireBucket(env, ctx.bucket);
  return privateAcl(env);
}

export async function handlePutBucketAcl(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  requireBucket(env, ctx.bucket);
  return acceptOwnerOnly(env, ctx);
}

export async function handleGetObjectAcl(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  readableRecord(env, ctx);
  return privateAcl(env);
}

export async function handlePutObjectAcl(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  readableRecord(env, ctx);
  return acceptOwnerOnly(env, ctx);
}
