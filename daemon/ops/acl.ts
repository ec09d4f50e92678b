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
import { readableRecord, readVersionHeader } from './object.js';
import type { ObjectRecord } from '../meta/records.js';
import type { RequestContext, Result } from './types.js';
import { OWNER_ONLY_ACLS, checkCannedAcl } from './object-headers.js';
import { parseXml, toXml, xmlList } from './xml.js';

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

const PERMISSIONS: ReadonlySet<string> = new Set(['FULL_CONTROL', 'READ', 'WRITE', 'READ_ACP', 'WRITE_ACP']);

function malformed(why: string): never {
  throw new S3Error('MalformedACLError', `The XML you provided was not well-formed or did not validate against our published schema: ${why}.`);
}

/**
 * The grants of an AccessControlPolicy document. A document that is not XML, or not an
 * AccessControlPolicy of Grants each with a Grantee and one of S3's permissions, is S3's
 * MalformedACLError (not MalformedXML, nor a refused grant): an ACL that cannot be read grants
 * nothing to refuse.
 */
function parseAclGrants(body: Buffer): Array<{ permission: string; id: string | undefined }> {
  let doc: Record<string, unknown>;
  try {
    doc = parseXml(body);
  } catch (err) {
    if (err instanceof S3Error && err.code === 'MalformedXML') throw new S3Error('MalformedACLError', err.message);
    throw err;
  }
  if (doc.AccessControlPolicy === undefined) malformed('the root element is not AccessControlPolicy');
  const element = (v: unknown, what: string): Record<string, unknown> => {
    if (v === undefined || (typeof v === 'string' && v.trim() === '')) return {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) malformed(`${what} must be one element with children`);
    return v as Record<string, unknown>;
  };
  const policy = element(doc.AccessControlPolicy, 'AccessControlPolicy');
  return xmlList(element(policy.AccessControlList, 'AccessControlList').Grant).map((g) => {
    const grant = element(g, 'Grant');
    if (grant.Grantee === undefined) malformed('a Grant has no Grantee');
    const id = element(grant.Grantee, 'Grantee').ID;
    if (typeof grant.Permission !== 'string' || !PERMISSIONS.has(grant.Permission)) malformed(`a Grant's Permission must be one of ${[...PERMISSIONS].join(', ')}`);
    return { permission: grant.Permission, id: typeof id === 'string' ? id : undefined };
  });
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
  const grants = parseAclGrants(body);
  // The owner is the root user (what GetBucketAcl and GetObjectAcl name); a user granting itself
  // FULL_CONTROL grants someone else than the owner.
  const owners = new Set([env.config.rootUser]);
  if (grants.length === 0) refuse('an ACL without the owner\'s FULL_CONTROL grant cannot be set');
  for (const { permission, id } of grants) {
    if (permission !== 'FULL_CONTROL' || id === undefined || !owners.has(id.trim())) refuse('only a grant of FULL_CONTROL to the owner can be set');
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

/**
 * The version an object ACL call addressed, as S3 names it in `x-amz-version-id` on GetObjectAcl
 * and PutObjectAcl (its REST reference; CloudServer's versioning tests, run against AWS): in a
 * bucket that has or had versioning, the version's id, `null` for the null version; none in a
 * bucket that never had it. The SDKs do not model it, but tools reading the raw headers do.
 */
function aclVersionHeader(env: OpsEnv, ctx: RequestContext, rec: ObjectRecord): Record<string, string> {
  return readVersionHeader(env.meta.getBucket(ctx.bucket!)!, rec);
}

export async function handleGetObjectAcl(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const rec = readableRecord(env, ctx);
  const acl = privateAcl(env);
  return { ...acl, headers: { ...acl.headers, ...aclVersionHeader(env, ctx, rec) } };
}

export async function handlePutObjectAcl(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  // A key whose latest version is a delete marker is 405 MethodNotAllowed here, as S3 answers a
  // PutObjectAcl of it (GetObjectAcl of it is 404, as GET is): CloudServer's AWS-run tests.
  const rec = readableRecord(env, ctx, ctx.key!, { bucket: ctx.bucket, versionId: ctx.query.get('versionId') }, 'not-allowed');
  const result = await acceptOwnerOnly(env, ctx);
  return { ...result, headers: { ...result.headers, ...aclVersionHeader(env, ctx, rec) } };
}
