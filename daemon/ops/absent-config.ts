// Bucket configurations s3d does not keep (website, logging, replication,
// ownership controls, transfer acceleration, requester pays; analytics, inventory, metrics and
// Intelligent-Tiering, which are listed empty and whose PUTs and DELETEs the router answers 501
// NotImplemented). Reading
// one answers exactly what S3 answers for a bucket that never had it, deleting one succeeds (there
// is nothing to delete), and writing the "off" value (an empty logging document,
// Suspended acceleration, BucketOwner pays, BucketOwnerEnforced ownership) is accepted because
// it is what s3d does anyway.
// Writing anything else stays 501 NotImplemented: a configuration is never stored and ignored.
// Tools that read every bucket setting (Terraform's aws_s3_bucket, mc stat, s3api scripts) then
// work against s3d. Ownership controls read as BucketOwnerEnforced, what s3d is (ACLs disabled).
// One thing is kept, so that it reads back as on S3: Suspended acceleration. (The public access
// block, once here, is kept and enforced: public-access-block.ts.)
import { S3Error, type S3ErrorCode } from '../errors.js';
import { torrentNotAllowed, type Operation } from '../http/router.js';
import { requireBucket, updateSeenBucket, type OpsEnv } from './env.js';
import type { RequestContext, Result } from './types.js';
import { parseDocument, toXml, xmlElement, xmlFields, xmlList, type XmlObject } from './xml.js';

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

/** The request's document under `root`: its children (none for an empty root element). */
async function readConfig(ctx: RequestContext, root: string): Promise<Record<string, unknown>> {
  return xmlElement(parseDocument(await ctx.body.readAll(MAX_XML_BODY), root), root);
}

/**
 * Accepts a PUT whose document sets what s3d already does (`isOff` says whether it does), else
 * NotImplemented naming the feature.
 */
function acceptOff(root: string, feature: string, isOff: (conf: Record<string, unknown>) => boolean): OpHandler {
  return async (env, ctx) => {
    requireBucket(env, ctx.bucket);
    if (!isOff(await readConfig(ctx, root))) throw new S3Error('NotImplemented', `${feature} is not implemented.`);
    return { status: 200 };
  };
}

// Ownership controls: s3d has ACLs disabled and the bucket owner owns every object, which S3 calls
// BucketOwnerEnforced (the setting of every AWS bucket created since April 2023).
const OBJECT_OWNERSHIPS: ReadonlySet<string> = new Set(['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter']);

const getOwnershipControls = empty('OwnershipControls', { Rule: { ObjectOwnership: 'BucketOwnerEnforced' } });

const putOwnershipControls: OpHandler = async (env, ctx) => {
  requireBucket(env, ctx.bucket);
  const rules = xmlList(xmlFields(await readConfig(ctx, 'OwnershipControls'), ['Rule'], 'OwnershipControls').Rule);
  if (rules.length !== 1) throw new S3Error('MalformedXML', 'OwnershipControls must hold exactly one Rule.');
  const ownership = xmlFields(rules[0], ['ObjectOwnership'], 'Rule').ObjectOwnership;
  if (typeof ownership !== 'string' || !OBJECT_OWNERSHIPS.has(ownership)) {
    throw new S3Error('MalformedXML', `ObjectOwnership must be one of ${[...OBJECT_OWNERSHIPS].join(', ')}.`);
  }
  if (ownership !== 'BucketOwnerEnforced') throw new S3Error('NotImplemented', `ObjectOwnership ${ownership} is not implemented: s3d's buckets are BucketOwnerEnforced (ACLs disabled).`);
  return { status: 200 };
};

/**
 * A setting's value must be one of its enumeration (S3 answers MalformedXML otherwise, before
 * anything else); `on` is the one s3d does not implement.
 */
function enumValue(conf: Record<string, unknown>, name: string, values: readonly [off: string, on: string], feature: string): string {
  const v = conf[name];
  if (typeof v !== 'string' || !values.includes(v)) throw new S3Error('MalformedXML', `${name} must be ${values.join(' or ')}.`);
  if (v === values[1]) throw new S3Error('NotImplemented', `${feature} is not implemented.`);
  return v;
}

// Transfer acceleration: Suspended is what s3d does; once written it reads back, as on S3 (a bucket
// that never had a configuration reads empty).
const getAccelerate: OpHandler = async (env, ctx) => {
  const b = requireBucket(env, ctx.bucket);
  return { status: 200, headers: XML, body: toXml('AccelerateConfiguration', b.accelerate === undefined ? {} : { Status: b.accelerate }) };
};

const putAccelerate: OpHandler = async (env, ctx) => {
  const seen = requireBucket(env, ctx.bucket);
  enumValue(xmlFields(await readConfig(ctx, 'AccelerateConfiguration'), ['Status'], 'AccelerateConfiguration'), 'Status', ['Suspended', 'Enabled'], 'Transfer acceleration');
  await updateSeenBucket(env, seen, (b) => ({ ...b, accelerate: 'Suspended' }));
  return { status: 200 };
};

const putRequestPayment: OpHandler = async (env, ctx) => {
  requireBucket(env, ctx.bucket);
  enumValue(xmlFields(await readConfig(ctx, 'RequestPaymentConfiguration'), ['Payer'], 'RequestPaymentConfiguration'), 'Payer', ['BucketOwner', 'Requester'], 'Requester pays');
  return { status: 200 };
};

/**
 * The list of a configuration S3 keeps several of by id (analytics, inventory, metrics,
 * Intelligent-Tiering), none here: IsTruncated false, and an empty continuation token echoed; a
 * token, never handed out, is S3's MalformedContinuationToken (recorded against S3: backlot's
 * tests of 2026-09-29).
 */
function emptyList(root: string): OpHandler {
  return async (env, ctx) => {
    requireBucket(env, ctx.bucket);
    const token = ctx.query.get('continuation-token');
    if (token !== null && token !== '') throw new S3Error('MalformedContinuationToken');
    return { status: 200, headers: XML, body: toXml(root, { IsTruncated: false, ...(token === null ? {} : { ContinuationToken: '' }) }) };
  };
}

/** One of them by id: there is none (S3's answer names no member, as recorded). */
const noSuchConfiguration = absent('NoSuchConfiguration');

// GetObjectTorrent: S3 answers its 405 once the bucket is found, for a key it holds or not.
const getTorrent: OpHandler = async (env, ctx) => {
  requireBucket(env, ctx.bucket);
  throw torrentNotAllowed();
};

export const ABSENT_CONFIG_HANDLERS: Partial<Record<Operation, OpHandler>> = {
  GetBucketWebsite: absent('NoSuchWebsiteConfiguration'),
  DeleteBucketWebsite: deleted,
  GetBucketLogging: empty('BucketLoggingStatus'),
  PutBucketLogging: acceptOff('BucketLoggingStatus', 'Server access logging', (c) => c.LoggingEnabled === undefined),
  GetBucketReplication: absent('ReplicationConfigurationNotFoundError'),
  DeleteBucketReplication: deleted,
  GetBucketOwnershipControls: getOwnershipControls,
  PutBucketOwnershipControls: putOwnershipControls,
  DeleteBucketOwnershipControls: deleted,
  GetBucketAccelerateConfiguration: getAccelerate,
  PutBucketAccelerateConfiguration: putAccelerate,
  GetBucketRequestPayment: empty('RequestPaymentConfiguration', { Payer: 'BucketOwner' }),
  PutBucketRequestPayment: putRequestPayment,
  GetObjectTorrent: getTorrent,
  ListBucketAnalyticsConfigurations: emptyList('ListBucketAnalyticsConfigurationsResult'),
  GetBucketAnalyticsConfiguration: noSuchConfiguration,
  ListBucketInventoryConfigurations: emptyList('ListInventoryConfigurationsResult'),
  GetBucketInventoryConfiguration: noSuchConfiguration,
  ListBucketMetricsConfigurations: emptyList('ListMetricsConfigurationsResult'),
  GetBucketMetricsConfiguration: noSuchConfiguration,
  ListBucketIntelligentTieringConfigurations: emptyList('ListIntelligentTieringConfigurationsResult'),
  GetBucketIntelligentTieringConfiguration: noSuchConfiguration,
};
