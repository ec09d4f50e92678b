// Bucket configurations s3d does not keep (website, logging, replication,
// ownership controls, public access block, transfer acceleration, requester pays). Reading
// one answers exactly what S3 answers for a bucket that never had it, deleting one succeeds (there
// is nothing to delete), and writing the "off" value (an empty logging document,
// Suspended acceleration, BucketOwner pays) is accepted because it is what s3d does anyway.
// Writing anything else stays 501 NotImplemented: a configuration is never stored and ignored.
// Tools that read every bucket setting (Terraform's aws_s3_bucket, mc stat, s3api scripts) then
// work against s3d.
import { S3Error, type S3ErrorCode } from '../errors.js';
import type { Operation } from '../http/router.js';
import { requireBucket, type OpsEnv } from './env.js';
import type { RequestContext, Result } from './types.js';
import { parseXml, toXml, type XmlObject } from './xml.js';

const XML = { 'content-type': 'application/xml' };
const MAX_XML_BODY = 64 * 1024;

type OpHandler = (env: OpsEnv, ctx: RequestContext) => Promise<Result>;

/** 404 with S3's error for a configuration the bucket does not have. */
function absent(code: S3ErrorCode): OpHandler {
  return async (env, ctx) => {
    requireBucket(env, ctx.bucket);
    throw new S3Error(code);
  };
}

/** 200 with the document S3 returns for a bucket without the configuration. */
function empty(root: string, body: XmlObject = {}): OpHandler {
  return async (env, ctx) => {
    requireBucket(env, ctx.bucket);
    return { status: 200, headers: XML, body: toXml(root, body) };
  };
}

/** 204: nothing to delete. */
const deleted: OpHandler = async (env, ctx) => {
  requireBucket(env, ctx.bucket);
  return { status: 204 };
};

/**
 * Accepts a PUT whose document sets what s3d already does (`isOff` says whether it does), else
 * NotImplemented naming the feature.
 */
function acceptOff(root: string, feature: string, isOff: (conf: Record<string, unknown>) => boolean): OpHandler {
  return async (env, ctx) => {
    requireBucket(env, ctx.bucket);
    const doc = parseXml(await ctx.body.readAll(MAX_XML_BODY));
    const raw = doc[root];
    if (raw === undefined) throw new S3Error('MalformedXML', `Expected a ${root} document.`);
    const conf = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    if (typeof raw === 'string' && raw.trim() !== '') throw new S3Error('MalformedXML', `${root} must be an element with children.`);
    if (!isOff(conf)) throw new S3Error('NotImplemented', `${feature} is not implemented.`);
    return { status: 200 };
  };
}


export const ABSENT_CONFIG_HANDLERS: Partial<Record<Operation, OpHandler>> = {
  GetBucketWebsite: absent('NoSuchWebsiteConfiguration'),
  DeleteBucketWebsite: deleted,
  GetBucketLogging: empty('BucketLoggingStatus'),
  PutBucketLogging: acceptOff('BucketLoggingStatus', 'Server access logging', (c) => c.LoggingEnabled === undefined),
  GetBucketReplication: absent('ReplicationConfigurationNotFoundError'),
  DeleteBucketReplication: deleted,
  GetBucketOwnershipControls: absent('OwnershipControlsNotFoundError'),
  DeleteBucketOwnershipControls: deleted,
  GetPublicAccessBlock: absent('NoSuchPublicAccessBlockConfiguration'),
  DeletePublicAccessBlock: deleted,
  GetBucketAccelerateConfiguration: empty('AccelerateConfiguration'),
  PutBucketAccelerateConfiguration: acceptOff('AccelerateConfiguration', 'Transfer acceleration', (c) => c.Status === 'Suspended'),
  GetBucketRequestPayment: empty('RequestPaymentConfiguration', { Payer: 'BucketOwner' }),
  PutBucketRequestPayment: acceptOff('RequestPaymentConfiguration', 'Requester pays', (c) => c.Payer === 'BucketOwner'),
};
