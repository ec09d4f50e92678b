// Object and bucket tagging, as S3 has it: Put/Get/DeleteObjectTagging, Put/Get/DeleteBucketTagging,
// and the `x-amz-tagging` header on PutObject, CreateMultipartUpload and CopyObject (with
// `x-amz-tagging-directive`). Tags live in the object's (or bucket's) LMDB record; changing them
// never touches the object's data, its ETag or its Last-Modified, so SSE-C objects are tagged
// without their key. Every rule S3 applies to a tag set is checked before anything is stored. A
// change of an object's tags is an s3:ObjectTagging:Put or :Delete event (ops/notification.ts).
import { S3Error } from '../errors.js';
import type { BucketRecord, ObjectRecord, TagSet } from '../meta/records.js';
import { metaErrorAfterLookUp, requireBucket, requireSameBucket, updateSeenBucket, type OpsEnv } from './env.js';
import { requestEvents } from './notification.js';
import { readableRecord, readVersionHeader } from './object.js';
import { bodyAllowed } from './policy.js';
import type { RequestContext, Result } from './types.js';
import { parseDocument, toXml, xmlFields, xmlList } from './xml.js';

const XML = { 'content-type': 'application/xml' };
const MAX_XML_BODY = 64 * 1024;
export const MAX_OBJECT_TAGS = 10;
export const MAX_BUCKET_TAGS = 50;
const MAX_KEY_CHARS = 128;
const MAX_VALUE_CHARS = 256;
/** S3's documented tag alphabet: letters, numbers, spaces and `_ . : / = + - @`. */
const ALLOWED = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
/** An x-amz-tagging key or value as sent: the tag alphabet, and `%` for what it escapes. */
const ALLOWED_ESCAPED = /^[\p{L}\p{Z}\p{N}_.:/=+\-@%]*$/u;

function chars(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Throws InvalidTag unless `tags` is a tag set S3 would accept; more than `max` tags is S3's
 * 400 BadRequest for an object's or a bucket's tags (`of`), InvalidTag for a lifecycle filter's.
 * A bucket's tags are checked one by one, in order, and counted after (as S3 does, observed
 * against AWS in scality/cloudserver#4451): too many tags, one of them invalid, is that tag's InvalidTag.
 */
export function validateTags(tags: TagSet, max: number, of: 'object' | 'bucket' | 'filter' = max === MAX_OBJECT_TAGS ? 'object' : 'bucket'): void {
  const tooMany = (): S3Error =>
    of === 'filter'
      ? new S3Error('InvalidTag', `A filter can name at most ${max} tags; this one names ${tags.length}.`)
      : new S3Error('BadRequest', of === 'object' ? `Object tags cannot be greater than ${max}` : `Bucket tag count cannot be greater than ${max}`);
  if (tags.length > max && of !== 'bucket') throw tooMany();
  const seen = new Set<string>();
  // S3's texts, naming the tag (TagKey, TagValue) as S3's errors do.
  const invalid = (message: string, key: string, value?: string): S3Error => new S3Error('InvalidTag', message, { fields: { TagKey: key, ...(value !== undefined ? { TagValue: value } : {}) } });
  for (const [key, value] of tags) {
    const keyChars = chars(key);
    if (keyChars < 1) throw invalid('The TagKey you have provided is invalid', key);
    if (keyChars > MAX_KEY_CHARS) throw invalid(`The TagKey you have provided is too long, max ${MAX_KEY_CHARS}`, key);
    if (chars(value) > MAX_VALUE_CHARS) throw invalid(`The TagValue you have provided is too long, max ${MAX_VALUE_CHARS}`, key, value);
    if (key.toLowerCase().startsWith('aws:')) throw invalid(of === 'bucket' ? 'System tags cannot be added/updated by requester' : 'Your TagKey cannot be prefixed with aws:', key);
    if (!ALLOWED.test(key)) throw invalid('The TagKey you have provided is invalid', key);
    if (!ALLOWED.test(value)) throw invalid('The TagValue you have provided is invalid', key, value);
    if (seen.has(key)) throw invalid('Cannot provide multiple Tags with the same key', key);
    seen.add(key);
  }
  if (tags.length > max) throw tooMany();
}

/**
 * The object tags a write asks for in `x-amz-tagging` (URL query encoding, `k1=v1&k2=v2`;
 * presigned URLs carry it as a query parameter). Undefined when the request sets none.
 */
export function tagsFromHeader(headers: Readonly<Record<string, string>>, query: URLSearchParams): TagSet | undefined {
  const raw = headers['x-amz-tagging'] ?? query.get('x-amz-tagging') ?? undefined;
  if (raw === undefined || raw === '') return undefined;
  const tags: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const [k, v] = eq === -1 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    const key = decode(k, raw);
    const value = decode(v, raw);
    // What is no tag set in query encoding is S3's InvalidArgument on the header: an empty or
    // repeated key, or a character no tag may hold sent as it is ("k1=v1,k2=v2", LocalStack's
    // recording; "TagSet=[{Key=string,Value=string}]", aws/aws-cli#2841). Sent escaped, such a
    // character is the tag's fault, as every other rule below: InvalidTag naming the tag (S3 answered
    // "TagSet%3D%5B…" so, aws-cli#2841, and boto3's urlencode of "metal,openstack",
    // gardenlinux/gardenlinux#3720).
    if (key === '' || seen.has(key) || !ALLOWED_ESCAPED.test(k) || !ALLOWED_ESCAPED.test(v)) throw badTaggingHeader(raw);
    seen.add(key);
    tags.push([key, value]);
  }
  validateTags(tags, MAX_OBJECT_TAGS);
  return tags.length > 0 ? tags : undefined;
}

function badTaggingHeader(raw: string): S3Error {
  return new S3Error('InvalidArgument', "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", { fields: { ArgumentName: 'x-amz-tagging', ArgumentValue: raw } });
}

function decode(s: string, raw: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw badTaggingHeader(raw);
  }
}

/**
 * A copy's x-amz-tagging-directive (COPY by default); anything else is InvalidArgument, the
 * values in lower case too, as S3 and MinIO refuse them (and the metadata directive's).
 */
export function taggingDirective(headers: Readonly<Record<string, string>>): 'COPY' | 'REPLACE' {
  const directive = headers['x-amz-tagging-directive'] ?? 'COPY';
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 'Unknown tagging directive: use COPY or REPLACE.');
  return directive;
}

/**
 * The tags of a copy: the source's (`x-amz-tagging-directive: COPY`, the default) or the request's.
 * Under COPY x-amz-tagging is ignored, not read: a malformed one does not refuse the copy (as
 * MinIO; the policy checks treat it as absent there too, see condition-keys.ts).
 */
export function copyTags(ctx: RequestContext, source: TagSet | undefined): TagSet | undefined {
  return taggingDirective(ctx.headers) === 'REPLACE' ? tagsFromHeader(ctx.headers, ctx.query) : source;
}

/** `{ tags }` when there are any, for spreading into a record. */
export function tagsField(tags: TagSet | undefined): { tags?: TagSet } {
  return tags && tags.length > 0 ? { tags } : {};
}

/** Parses a `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>` document. */
export function parseTagging(body: Buffer, max: number): TagSet {
  // Values are kept exactly as sent: a tag value may begin or end with a space.
  const tagging = parseDocument(body, 'Tagging', { trim: false });
  if (typeof tagging === 'string') throw new S3Error('MalformedXML', 'The Tagging document must contain a TagSet.');
  xmlFields(tagging, ['TagSet'], 'Tagging');
  const tagSet = tagging.TagSet;
  if (tagSet === undefined) throw new S3Error('MalformedXML', 'The Tagging document must contain a TagSet.');
  // Two TagSet elements parse as a list, which has no Tag: read as an empty set, the PUT removed
  // every tag (found by prod-hostile-config-handpicked.test.ts).
  if (Array.isArray(tagSet)) throw new S3Error('MalformedXML', 'The Tagging document holds one TagSet.');
  return parseTagList(tagSet, 'TagSet', max);
}

/**
 * A list of `<Tag><Key/><Value/></Tag>` elements (a Tagging document's TagSet, CreateBucketConfiguration's
 * Tags), checked by validateTags; `element` names the list in errors.
 */
export function parseTagList(list: unknown, element: string, max: number): TagSet {
  if (typeof list === 'string') {
    if (list.trim() !== '') throw new S3Error('MalformedXML', `${element} holds only Tag elements.`);
    return [];
  }
  const tags: Array<[string, string]> = [];
  for (const tag of xmlList(xmlFields(list, ['Tag'], element).Tag)) {
    if (typeof tag !== 'object' || tag === null) throw new S3Error('MalformedXML', 'Every Tag needs a Key and a Value.');
    const { Key: key, Value: value } = xmlFields(tag, ['Key', 'Value'], 'Tag');
    if (typeof key !== 'string' || typeof value !== 'string') throw new S3Error('MalformedXML', 'Every Tag needs a Key and a Value.');
    tags.push([key, value]);
  }
  validateTags(tags, max);
  return tags;
}

function taggingXml(tags: TagSet | undefined): string {
  return toXml('Tagging', { TagSet: { Tag: (tags ?? []).map(([Key, Value]) => ({ Key, Value })) } });
}

/**
 * The record whose tags a request reads or changes. A key whose current version is a delete
 * marker is 405 MethodNotAllowed for the tagging calls, where GET and HEAD of it are 404: a marker
 * has no tags to read or set (to a requester who may not list the bucket, AccessDenied).
 */
function taggedRecord(env: OpsEnv, ctx: RequestContext): ObjectRecord {
  return readableRecord(env, ctx, ctx.key!, { bucket: ctx.bucket, versionId: ctx.query.get('versionId') }, 'not-allowed');
}

/**
 * Commits `tags` to the record `taggedRecord` found. A key deleted between that look-up and the
 * commit (a PutObjectTagging's body arrives meanwhile) answers as the look-up answers now: 405
 * MethodNotAllowed with the marker's headers when the delete left a delete marker current, 404
 * NoSuchKey when the key is simply gone (AccessDenied to a requester who may not list the bucket).
 * A bucket deleted and created again since the request began (`seen`) is another: 409
 * OperationAborted, its object keeps its tags (the request was judged by the old bucket's policy).
 */
async function commitTags(env: OpsEnv, ctx: RequestContext, seen: BucketRecord, tags: TagSet | undefined): Promise<ObjectRecord> {
  const versionId = ctx.query.get('versionId') ?? undefined;
  // s3:ObjectTagging:Put or :Delete, staged in the update's transaction (nothing when it fails).
  const events = requestEvents(env, ctx, seen);
  const rec = await env.meta
    .updateObject(ctx.bucket!, ctx.key!, (r) => withTags(r, tags), versionId, (b) => requireSameBucket(seen, b), events?.tagged(tags === undefined ? 'delete' : 'put', ctx.key!))
    .catch(metaErrorAfterLookUp(() => taggedRecord(env, ctx)));
  events?.wake();
  return rec;
}

export async function handleGetObjectTagging(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const rec = taggedRecord(env, ctx);
  return { status: 200, headers: { ...XML, ...readVersionHeader(env.meta.getBucket(ctx.bucket!)!, rec) }, body: taggingXml(rec.tags) };
}

export async function handlePutObjectTagging(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const seen = requireBucket(env, ctx.bucket);
  const tags = parseTagging(await ctx.body.readAll(MAX_XML_BODY), MAX_OBJECT_TAGS);
  // s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys are these tags: the request is judged
  // again with them, before anything changes (before its body, a policy that asks for them
  // could not decide; ops/policy.ts deferred it to here). Before the look-up too, as S3 decides:
  // a caller the body's tags refuse learns nothing of the key (NoSuchKey, NoSuchVersion, 405).
  if (!bodyAllowed(env, ctx, { tags })) throw new S3Error('AccessDenied');
  taggedRecord(env, ctx);
  const rec = await commitTags(env, ctx, seen, tags);
  return { status: 200, headers: readVersionHeader(env.meta.getBucket(ctx.bucket!)!, rec) };
}

export async function handleDeleteObjectTagging(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const seen = requireBucket(env, ctx.bucket);
  taggedRecord(env, ctx);
  const rec = await commitTags(env, ctx, seen, undefined);
  return { status: 204, headers: readVersionHeader(env.meta.getBucket(ctx.bucket!)!, rec) };
}

export async function handleGetBucketTagging(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const bucket = requireBucket(env, ctx.bucket);
  if (!bucket.tags || bucket.tags.length === 0) throw new S3Error('NoSuchTagSet');
  return { status: 200, headers: XML, body: taggingXml(bucket.tags) };
}

/** MinIO's SDKs name themselves `MinIO (os; arch) minio-go/v7…`, `… minio-js/8…`. */
function isMinioSdk(userAgent: string | undefined): boolean {
  return userAgent !== undefined && userAgent.startsWith('MinIO (');
}

export async function handlePutBucketTagging(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const seen = requireBucket(env, ctx.bucket);
  const tags = parseTagging(await ctx.body.readAll(MAX_XML_BODY), MAX_BUCKET_TAGS);
  await updateSeenBucket(env, seen, (b) => withTags(b, tags));
  // S3 answers 204, and boto 2 accepts nothing else; MinIO answers 200, and MinIO's own SDKs
  // (minio-go, so mc and restic, and minio-js) accept nothing else. Each gets what it was
  // written against; the AWS SDKs take any 2xx.
  return { status: isMinioSdk(ctx.headers['user-agent']) ? 200 : 204 };
}

export async function handleDeleteBucketTagging(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const seen = requireBucket(env, ctx.bucket);
  await updateSeenBucket(env, seen, (b) => withTags(b, undefined));
  return { status: 204 };
}

function withTags<T extends { tags?: TagSet }>(rec: T, tags: TagSet | undefined): T {
  const { tags: _old, ...rest } = rec;
  return { ...rest, ...tagsField(tags) } as T;
}
