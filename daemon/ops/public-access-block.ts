// S3 Block Public Access, per bucket (Put/Get/DeletePublicAccessBlock; Terraform's
// aws_s3_bucket_public_access_block, `aws s3api put-public-access-block`, the AWS CDK's
// BlockPublicAccess). s3d has ACLs disabled, so the two ACL settings are kept and reported and
// have nothing to act on (every ACL granting others is refused anyway, README). The two policy
// settings act as on S3: BlockPublicPolicy refuses PutBucketPolicy of a public policy
// (`403 AccessDenied`, whoever asks), and RestrictPublicBuckets keeps a public policy from granting
// anonymous requests anything (ops/policy.ts). s3d's users are all of the bucket owner's account,
// whom S3 keeps admitting. "Public" is GetBucketPolicyStatus's IsPublic (auth/bucket-policy.ts).
// S3_BLOCK_PUBLIC_ACCESS=on is S3's account-level block: all four for every bucket (`blocks`).
import { S3Error } from '../errors.js';
import type { Operation } from '../http/router.js';
import type { BucketRecord, PublicAccessBlock } from '../meta/records.js';
import { clearBucketField, requireBucket, updateSeenBucket, type OpsEnv } from './env.js';
import type { RequestContext, Result } from './types.js';
import { parseDocument, toXml, xmlFields, xmlList } from './xml.js';

const SETTINGS = [
  ['BlockPublicAcls', 'blockPublicAcls'],
  ['IgnorePublicAcls', 'ignorePublicAcls'],
  ['BlockPublicPolicy', 'blockPublicPolicy'],
  ['RestrictPublicBuckets', 'restrictPublicBuckets'],
] as const;

const OFF: PublicAccessBlock = { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false };

/** The bucket's public access block, if one was put and not deleted since. */
function publicAccessBlockOf(b: BucketRecord): PublicAccessBlock | undefined {
  return b.publicAccessBlock === 'off' ? OFF : b.publicAccessBlock;
}

/**
 * What blocks public access to the bucket: its own block, or everything when the server blocks it
 * for every bucket (S3_BLOCK_PUBLIC_ACCESS, as S3's account-level setting: the stricter of the two).
 */
export function blocks(env: OpsEnv, b: BucketRecord, setting: 'blockPublicPolicy' | 'restrictPublicBuckets'): boolean {
  return env.config.blockPublicAccess || publicAccessBlockOf(b)?.[setting] === true;
}

type OpHandler = (env: OpsEnv, ctx: RequestContext) => Promise<Result>;

const getPublicAccessBlock: OpHandler = async (env, ctx) => {
  const block = publicAccessBlockOf(requireBucket(env, ctx.bucket));
  if (block === undefined) throw new S3Error('NoSuchPublicAccessBlockConfiguration');
  const body = Object.fromEntries(SETTINGS.map(([name, field]) => [name, block[field]]));
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: toXml('PublicAccessBlockConfiguration', body) };
};

const putPublicAccessBlock: OpHandler = async (env, ctx) => {
  const seen = requireBucket(env, ctx.bucket);
  const doc = parseDocument(await ctx.body.readAll(64 * 1024), 'PublicAccessBlockConfiguration');
  const names = SETTINGS.map(([name]) => name);
  const conf = xmlFields(doc, names, 'PublicAccessBlockConfiguration');
  const block = { ...OFF } as { -readonly [K in keyof PublicAccessBlock]: boolean };
  for (const [name, field] of SETTINGS) {
    const values = xmlList(conf[name]);
    if (values.length > 1) throw new S3Error('MalformedXML', `${name} may be given once.`);
    if (values.length === 0) continue; // absent: false, as on S3
    if (values[0] !== 'true' && values[0] !== 'false') throw new S3Error('MalformedXML', `${name} must be true or false.`);
    block[field] = values[0] === 'true';
  }
  await updateSeenBucket(env, seen, (b) => ({ ...b, publicAccessBlock: block }));
  return { status: 200 };
};

export const PUBLIC_ACCESS_BLOCK_HANDLERS: Partial<Record<Operation, OpHandler>> = {
  GetPublicAccessBlock: getPublicAccessBlock,
  PutPublicAccessBlock: putPublicAccessBlock,
  DeletePublicAccessBlock: (env, ctx) => clearBucketField(env, ctx.bucket, 'publicAccessBlock'),
};
