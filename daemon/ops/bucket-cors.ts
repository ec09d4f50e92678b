// Per-bucket CORS configuration: Put/Get/DeleteBucketCors, kept in the bucket's LMDB record, and
// the synchronous look-up the HTTP layer makes for a request that carries Origin (http/cors.ts
// evaluates the rules). Documents are checked as S3 checks them; a refused one changes nothing.
import { S3Error } from '../errors.js';
import { HTTP_TOKEN } from '../http/cors.js';
import type { CorsRule } from '../meta/records.js';
import { validBucketName } from './bucket.js';
import { clearBucketField, requireBucket, updateSeenBucket, type OpsEnv } from './env.js';
import type { RequestContext, Result } from './types.js';
import { parseDocument, toXml, xmlList, xmlText, type XmlObject } from './xml.js';

const MAX_RULES = 100;
const MAX_ID_CHARS = 255;
/** S3's bound on a CORS configuration document. */
const MAX_XML_BODY = 64 * 1024;
const METHODS: ReadonlySet<string> = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD']);
const RULE_ELEMENTS: ReadonlySet<string> = new Set(['ID', 'AllowedMethod', 'AllowedOrigin', 'AllowedHeader', 'ExposeHeader', 'MaxAgeSeconds']);

function texts(v: unknown, what: string): string[] {
  return xmlList(v).map((x) => xmlText(x, what));
}

function parseRule(raw: unknown, i: number): CorsRule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new S3Error('MalformedXML', `CORSRule ${i + 1} must have AllowedMethod and AllowedOrigin.`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!RULE_ELEMENTS.has(k)) throw new S3Error('MalformedXML', `CORSRule ${i + 1}: unknown element ${k}.`);
  const methods = texts(r.AllowedMethod, 'AllowedMethod');
  const origins = texts(r.AllowedOrigin, 'AllowedOrigin');
  if (methods.length === 0 || origins.length === 0) throw new S3Error('MalformedXML', `CORSRule ${i + 1} needs at least one AllowedMethod and one AllowedOrigin.`);
  for (const m of methods) {
    if (!METHODS.has(m)) throw new S3Error('InvalidRequest', `Found unsupported HTTP method in CORS config. Unsupported method is ${m}`);
  }
  for (const o of origins) {
    if (o.split('*').length > 2) throw new S3Error('InvalidRequest', `AllowedOrigin "${o}" can not have more than one wildcard.`);
  }
  const headers = texts(r.AllowedHeader, 'AllowedHeader');
  for (const h of headers) {
    if (h.split('*').length > 2) throw new S3Error('InvalidRequest', `AllowedHeader "${h}" can not have more than one wildcard.`);
    if (!HTTP_TOKEN.test(h)) throw new S3Error('InvalidRequest', `AllowedHeader "${h}" contains invalid character.`);
  }
  const expose = texts(r.ExposeHeader, 'ExposeHeader');
  for (const h of expose) {
    // S3's refusal: a `*` (which browsers read as every header) or a pattern is no header name here.
    if (h.includes('*')) throw new S3Error('InvalidRequest', `ExposeHeader "${h}" contains wildcard. We currently do not support wildcard for ExposeHeader.`);
    if (!HTTP_TOKEN.test(h)) throw new S3Error('InvalidRequest', `ExposeHeader "${h}" contains invalid character.`);
  }
  const rule: { -readonly [K in keyof CorsRule]: CorsRule[K] } = { allowedMethods: methods, allowedOrigins: origins };
  if (r.ID !== undefined) {
    const [id] = texts(r.ID, 'ID');
    if (xmlList(r.ID).length > 1) throw new S3Error('MalformedXML', `CORSRule ${i + 1} has more than one ID.`);
    if ([...id!].length > MAX_ID_CHARS) throw new S3Error('InvalidArgument', `CORSRule ${i + 1}: ID can be at most ${MAX_ID_CHARS} characters.`);
    rule.id = id!;
  }
  if (headers.length > 0) rule.allowedHeaders = headers;
  if (expose.length > 0) rule.exposeHeaders = expose;
  if (r.MaxAgeSeconds !== undefined) {
    const [age] = texts(r.MaxAgeSeconds, 'MaxAgeSeconds');
    // S3 takes any 32-bit number, negative ones too.
    if (xmlList(r.MaxAgeSeconds).length > 1 || !/^-?\d{1,10}$/.test(age!) || Math.abs(Number(age)) > 2 ** 31 - 1) {
      throw new S3Error('MalformedXML', `CORSRule ${i + 1}: MaxAgeSeconds must be a whole number of seconds.`);
    }
    rule.maxAgeSeconds = Number(age);
  }
  return rule;
}

/** Parses a CORSConfiguration document into rules (throws the S3 error S3 would). */
export function parseCorsConfiguration(body: Buffer): CorsRule[] {
  const c = parseDocument(body, 'CORSConfiguration');
  if (typeof c === 'string') throw new S3Error('MalformedXML', 'A CORS configuration needs at least one CORSRule.');
  for (const k of Object.keys(c)) if (k !== 'CORSRule') throw new S3Error('MalformedXML', `CORSConfiguration: unknown element ${k}.`);
  const raws = xmlList(c.CORSRule);
  if (raws.length === 0) throw new S3Error('MalformedXML', 'A CORS configuration needs at least one CORSRule.');
  if (raws.length > MAX_RULES) throw new S3Error('MalformedXML', `A CORS configuration can hold at most ${MAX_RULES} rules.`);
  return raws.map(parseRule);
}

/** The GetBucketCors document, elements in S3's order. */
export function corsXml(rules: readonly CorsRule[]): string {
  return toXml('CORSConfiguration', {
    CORSRule: rules.map((r) => {
      const out: XmlObject = {};
      if (r.id !== undefined) out.ID = r.id;
      if (r.allowedHeaders !== undefined) out.AllowedHeader = [...r.allowedHeaders];
      out.AllowedMethod = [...r.allowedMethods];
      out.AllowedOrigin = [...r.allowedOrigins];
      if (r.exposeHeaders !== undefined) out.ExposeHeader = [...r.exposeHeaders];
      if (r.maxAgeSeconds !== undefined) out.MaxAgeSeconds = r.maxAgeSeconds;
      return out;
    }),
  });
}

/**
 * The CORS rules of a bucket, for a request that carries Origin (asked synchronously before
 * routing; bucket records are kept decoded in memory). Undefined: the bucket has none, or does
 * not exist, and the server-wide setting applies.
 */
export function bucketCorsRules(env: OpsEnv, bucket: string): readonly CorsRule[] | undefined {
  if (!validBucketName(bucket)) return undefined;
  const rules = env.meta.getBucket(bucket)?.cors;
  return rules !== undefined && rules.length > 0 ? rules : undefined;
}

// ---- handlers

export async function handlePutBucketCors(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const seen = requireBucket(env, ctx.bucket);
  const rules = parseCorsConfiguration(await ctx.body.readAll(MAX_XML_BODY));
  await updateSeenBucket(env, seen, (b) => ({ ...b, cors: rules }));
  return { status: 200 };
}

export async function handleGetBucketCors(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = requireBucket(env, ctx.bucket);
  if (!b.cors || b.cors.length === 0) throw new S3Error('NoSuchCORSConfiguration');
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: corsXml(b.cors) };
}

export async function handleDeleteBucketCors(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  return clearBucketField(env, ctx.bucket, 'cors');
}
