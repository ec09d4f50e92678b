// Bucket policies: Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus, and the question the HTTP
// layer asks of every unsigned request: does this bucket's policy admit it? Each operation
// maps to the S3 action and resource(s) a policy names (a request naming a version needs the
// *Version action; a copy needs s3:GetObject on its source
// as well as s3:PutObject on its destination); operations with no entry here (listing buckets,
// bucket configuration, DeleteObjects) are never anonymous.
import { allowsAnonymous, isPublic, parseBucketPolicy, type BucketPolicy } from '../auth/bucket-policy.js';
import type { Operation, Route } from '../http/router.js';
import { S3Error } from '../errors.js';
import type { BucketRecord } from '../meta/records.js';
import { parseCopySource } from './copy.js';
import { metaError, requireBucket, type OpsEnv } from './env.js';
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
};

const BUCKET_ACTIONS: Partial<Record<Operation, string>> = {
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  HeadBucket: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  GetBucketLocation: 's3:GetBucketLocation',
};

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
    p = parseBucketPolicy(record.policy, record.name);
    parsed.set(record, p);
  }
  return p;
}

/** Whether an unsigned request is admitted by the policies of every bucket it touches. */
export function anonymousAllowed(env: OpsEnv, req: AnonymousRequest): boolean {
  const { route } = req;
  if (route.bucket === undefined) return false;
  const context = new Map<string, string>([
    ['aws:sourceip', req.remoteAddress],
    ['aws:securetransport', String(req.secure)],
  ]);
  if (req.headers.referer !== undefined) context.set('aws:referer', req.headers.referer);
  if (req.headers['user-agent'] !== undefined) context.set('aws:useragent', req.headers['user-agent']);
  const checks: Array<{ bucket: string; action: string; resource: string }> = [];
  const objectAction = route.key === undefined ? undefined : req.query.has('versionId') ? (VERSION_ACTIONS[route.op] ?? OBJECT_ACTIONS[route.op]) : OBJECT_ACTIONS[route.op];
  const bucketAction = route.key === undefined ? BUCKET_ACTIONS[route.op] : undefined;
  if (objectAction !== undefined) {
    checks.push({ bucket: route.bucket, action: objectAction, resource: `${route.bucket}/${route.key}` });
    if (route.op === 'CopyObject' || route.op === 'UploadPartCopy') {
      let src: { bucket: string; key: string; versionId?: string };
      try {
        src = parseCopySource(req.headers['x-amz-copy-source'] ?? '');
      } catch {
        return false;
      }
      checks.push({ bucket: src.bucket, action: src.versionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion', resource: `${src.bucket}/${src.key}` });
    }
  } else if (bucketAction !== undefined) {
    if (bucketAction === 's3:ListBucket' || bucketAction === 's3:ListBucketVersions') {
      context.set('s3:prefix', req.query.get('prefix') ?? '');
      const delimiter = req.query.get('delimiter');
      if (delimiter !== null) context.set('s3:delimiter', delimiter);
      context.set('s3:max-keys', req.query.get('max-keys') ?? '1000');
    }
    checks.push({ bucket: route.bucket, action: bucketAction, resource: route.bucket });
  } else {
    return false;
  }
  for (const c of checks) {
    const record = env.meta.getBucket(c.bucket);
    const policy = record && policyOf(record);
    if (!policy || !allowsAnonymous(policy, { action: c.action, resource: c.resource, context })) return false;
  }
  return true;
}

export async function handlePutBucketPolicy(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  requireBucket(env, ctx.bucket);
  const text = (await ctx.body.readAll(64 * 1024)).toString('utf8');
  parseBucketPolicy(text, ctx.bucket!);
  await env.meta.updateBucket(ctx.bucket!, (b) => ({ ...b, policy: text })).catch(metaError);
  return { status: 204 };
}

export async function handleGetBucketPolicy(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = requireBucket(env, ctx.bucket);
  if (b.policy === undefined) throw new S3Error('NoSuchBucketPolicy');
  return { status: 200, headers: { 'content-type': 'application/json' }, body: b.policy };
}

export async function handleDeleteBucketPolicy(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  requireBucket(env, ctx.bucket);
  await env.meta
    .updateBucket(ctx.bucket!, (b) => {
      const { policy: _drop, ...rest } = b;
      return rest;
    })
    .catch(metaError);
  return { status: 204 };
}

export async function handleGetBucketPolicyStatus(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = requireBucket(env, ctx.bucket);
  const policy = policyOf(b);
  const body = toXml('PolicyStatus', { IsPublic: String(policy !== undefined && isPublic(policy)) });
  return { status: 200, headers: { 'content-type': 'application/xml' }, body };
}
