// Listing: ListObjects (v1), ListObjectsV2 (current objects) and ListObjectVersions (every
// version and delete marker; objects of an unversioned bucket are `null` versions). Each page is
// LMDB range scans of up to 100 entries (meta/store.ts), a turn of the event loop between two.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { secureRandom } from '../../workers/format/random.js';
import { S3Error } from '../errors.js';
import type { ListedRecord } from '../meta/listed-record.js';
import type { BucketRecord } from '../meta/records.js';
import type { ListResult, VersionEntry, VersionListResult } from '../meta/store.js';
import type { VersionListOptions } from '../meta/listing.js';
import { clientVersionId, NULL_VERSION, stampOfId } from '../meta/versions.js';
import { bucketOwner, requireBucket, requireBucketStill, type OpsEnv } from './env.js';
import { checksumTypes } from '../sse/checksums.js';
import { intParam, keyEncoder, refuseNonInteger } from './query.js';
import { requesterJudge } from './policy.js';
import type { RequestContext, Result } from './types.js';
import type { XmlObject } from './xml.js';
import { XmlWriter, xmlEscape } from './xml-writer.js';
import { isoDate } from '../dates.js';

const XML = { 'content-type': 'application/xml' };

/**
 * A page lists at most MAX_KEYS entries, whatever max-keys asks; the answer's MaxKeys echoes what
 * it asked, as S3's does (max-keys=1001 is `<MaxKeys>1001</MaxKeys>` over at most 1,000 entries,
 * in the three listings: backlot's measurements, 2026-09-14 and 09-29). s3d echoed the cap.
 */
const MAX_KEYS = 1000;
const INT32_MAX = 2 ** 31 - 1;

/**
 * ListObjects and ListObjectsV2 answer with the bucket's region in `x-amz-bucket-region`, as S3
 * does on every successful one (undocumented; seen on S3's answers, versitygw#1814).
 */
function objectListHeaders(env: OpsEnv): Record<string, string> {
  return { ...XML, 'x-amz-bucket-region': env.config.region };
}

// A page is read and written ENTRIES_PER_TURN entries to a turn of the event loop: a slice of at
// most that many is read (one LMDB snapshot, as a client paging with max-keys=100 reads it), its
// entries written and taken as bytes, and the next slice read after a turn from where it ended,
// as the next page would be. A page of 1,000 objects of 1 KiB keys with 2 KB of metadata each
// (metadata=true, ~3.8 MB) held the event loop ~80-140 ms written in one go; written a slice at a
// time from a page read whole, the read (~5 ms of CPU for 1,000 records, ~20 ms for four
// listings come together) still went in one stretch, and the page's 1,000 records and its text
// (a rope of ~20,000 strings) lived on across its ten turns: every scavenge meanwhile copied them,
// and four concurrent listings of 1,000 long keys spent about as long in the garbage collector
// as listing, in pauses of 40-100 ms on a loaded machine. A page read in slices is one snapshot
// a slice, not as a whole: a key written between two is listed as a client paging would list it.
const ENTRIES_PER_TURN = 100;

/**
 * A ListObjects(V2) page of at most `max` entries after `after`, read a slice at a time: each
 * slice's objects handed to `write` as they are read, the common prefixes returned (written after
 * every object, as S3 lists them), with what the page's head says.
 */
async function objectPage(env: OpsEnv, seen: BucketRecord, prefix: string, delimiter: string, after: string, max: number, write: (key: string, record: ListedRecord) => void, slice: () => void): Promise<{ keyCount: number; commonPrefixes: string[]; isTruncated: boolean; next: string | undefined }> {
  const bucket = seen.name;
  const commonPrefixes: string[] = [];
  let keyCount = 0;
  let isTruncated = false;
  let next: string | undefined;
  for (let from = after, left = max; left > 0; ) {
    const r: ListResult<ListedRecord> = env.meta.listObjectsWithoutData(bucket, { prefix, delimiter, after: from, maxKeys: Math.min(left, ENTRIES_PER_TURN) });
    for (const { key, record } of r.contents) write(key, record);
    commonPrefixes.push(...r.commonPrefixes);
    const listed = r.contents.length + r.commonPrefixes.length;
    keyCount += listed;
    left -= listed;
    isTruncated = r.isTruncated;
    if (r.next !== undefined) next = r.next;
    // Untruncated, the listing ends here; truncated, the slice listed all it was asked for, and the page goes on after it unless full.
    if (!r.isTruncated || r.next === undefined || left <= 0) break;
    from = r.next;
    slice();
    await nextTurn();
    requireBucketStill(env, seen);
  }
  return { keyCount, commonPrefixes, isTruncated, next };
}

/** objectPage of ListObjectVersions: the versions after the markers, a slice at a time. */
async function versionPage(env: OpsEnv, seen: BucketRecord, opts: VersionListOptions, write: (entry: VersionEntry<ListedRecord>) => void, slice: () => void): Promise<{ commonPrefixes: string[]; isTruncated: boolean; nextKey: string | undefined; nextVersionId: string | undefined }> {
  const bucket = seen.name;
  const commonPrefixes: string[] = [];
  let isTruncated = false;
  let nextKey: string | undefined;
  let nextVersionId: string | undefined;
  let { keyMarker, versionIdMarker, markerStamp } = opts;
  for (let left = opts.maxKeys; left > 0; ) {
    const r: VersionListResult<ListedRecord> = env.meta.listVersionsWithoutData(bucket, { ...opts, keyMarker, versionIdMarker, markerStamp, maxKeys: Math.min(left, ENTRIES_PER_TURN) });
    for (const e of r.entries) write(e);
    commonPrefixes.push(...r.commonPrefixes);
    left -= r.entries.length + r.commonPrefixes.length;
    isTruncated = r.isTruncated;
    if (r.nextKey !== undefined) [nextKey, nextVersionId] = [r.nextKey, r.nextVersionId];
    if (!r.isTruncated || r.nextKey === undefined || left <= 0) break;
    // As the next page's markers (a common prefix's key marker has no version id), and the last
    // version's place: the next slice goes on strictly after it even when that version is deleted
    // or, a `null` one, replaced meanwhile. The marker alone named the version as it then was: a
    // null version replaced by a Suspended write was the newest, and one deleted had no place left,
    // so the key's versions before it were listed again in the same page.
    [keyMarker, versionIdMarker, markerStamp] = [r.nextKey, r.nextVersionId ?? '', r.nextStamp];
    slice();
    await nextTurn();
    requireBucketStill(env, seen);
  }
  return { commonPrefixes, isTruncated, nextKey, nextVersionId };
}

/** ChecksumAlgorithm and ChecksumType of an object stored with a checksum, as S3 lists them. */
function writeChecksum(doc: XmlWriter, record: ListedRecord): void {
  // The algorithm and type only: known without the key of an encrypted object (sealed values).
  const types = checksumTypes(record);
  for (const alg in types) {
    doc.text('ChecksumAlgorithm', alg).text('ChecksumType', types[alg]);
    return;
  }
}

/**
 * One object of a listing page (Contents of v1/v2, Version of ListObjectVersions), `extra` after
 * its Key. The owner, when listed, is every object's: the root user (bucketOwner).
 */
function writeEntry(doc: XmlWriter, tag: string, key: string, record: ListedRecord, enc: (s: string) => string, extra: XmlObject | undefined, owner: XmlObject | undefined): void {
  doc.open(tag).text('Key', enc(key));
  if (extra !== undefined) for (const k in extra) doc.element(k, extra[k]);
  // The ETag's quotes written escaped as they are: escaping every quoted ETag took a regular
  // expression's replaces per entry.
  doc.text('LastModified', isoDate(record.mtime)).raw(`<ETag>&quot;${xmlEscape(record.etag)}&quot;</ETag>`);
  writeChecksum(doc, record);
  doc.text('Size', record.size).element('Owner', owner).text('StorageClass', 'STANDARD').close(tag);
}

/** A page's CommonPrefixes, each its own element as S3 lists them. */
function writePrefixes(doc: XmlWriter, prefixes: readonly string[], enc: (s: string) => string): void {
  for (const p of prefixes) doc.open('CommonPrefixes').text('Prefix', enc(p)).close('CommonPrefixes');
}

/**
 * A paging parameter of the other listing version, refused as S3 refuses it rather than ignored
 * (the listing would start from the beginning again, and a client paging with it would loop): 400
 * InvalidArgument naming the parameter but not its value, an empty one too, before the bucket is
 * looked up (as s3rver's and others' measurements of S3 record). A V1 listing carrying both V2
 * parameters is refused for continuation-token.
 */
function refuseOtherVersionParams(q: URLSearchParams, v2: boolean): void {
  const refused: Array<[string, string]> = v2
    ? [['marker', 'Marker unsupported with REST.GET.BUCKET in list-type=2']]
    : [
        ['continuation-token', 'continuation-token only supported in REST.GET.BUCKET with list-type=2'],
        ['start-after', 'startAfter only supported in REST.GET.BUCKET with list-type=2'],
      ];
  for (const [name, message] of refused) {
    if (q.has(name)) throw new S3Error('InvalidArgument', message, { fields: { ArgumentName: name } });
  }
}

// ListObjects and ListObjectsV2 refuse bad input in S3's order (measured by backlot's tests,
// 2026-09-14 and 09-17), as ListObjectVersions does: a max-keys that is no integer first, before
// the other version's parameters and the bucket lookup; after the lookup encoding-type, then the
// continuation token, then a negative max-keys. s3d judged max-keys whole after the lookup and
// before the rest, so `?list-type=2&max-keys=abc` on a missing bucket was NoSuchBucket, and a
// request with two faults was refused for the other one.

export async function handleListObjects(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const q = ctx.query;
  refuseNonInteger(q, 'max-keys');
  refuseOtherVersionParams(q, false);
  const seen = requireBucket(env, ctx.bucket);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const marker = q.get('marker') ?? '';
  const { encodingType, enc } = keyEncoder(q);
  const asked = intParam(q, 'max-keys', 1000, INT32_MAX);
  const max = Math.min(asked, MAX_KEYS);
  const owner = bucketOwner(env);
  const entries = new XmlWriter('ListBucketResult', true);
  const parts: Buffer[] = [];
  const r = await objectPage(env, seen, prefix, delimiter, marker, max, (key, record) => writeEntry(entries, 'Contents', key, record, enc, undefined, owner), () => parts.push(entries.take()));
  writePrefixes(entries, r.commonPrefixes, enc);
  parts.push(entries.take());
  const doc = new XmlWriter('ListBucketResult')
    .text('Name', ctx.bucket!)
    .text('Prefix', enc(prefix))
    .text('Marker', enc(marker))
    .text('MaxKeys', asked)
    .text('Delimiter', delimiter !== '' ? enc(delimiter) : undefined)
    .text('IsTruncated', r.isTruncated)
    // As on S3, only with a delimiter: without one, the next marker is the last key (and
    // minio-js, which prefers NextMarker, re-encoded it and paged forever).
    .text('NextMarker', r.isTruncated && r.next !== undefined && delimiter !== '' ? enc(r.next) : undefined)
    .text('EncodingType', encodingType);
  return { status: 200, headers: objectListHeaders(env), body: doc.endWith(parts) };
}

/**
 * ListObjectsV2 continuation tokens: base64url of a MAC and the key to list after. S3's tokens are
 * opaque and S3 refuses one it did not issue; s3d's were the bare key, so a made-up or damaged
 * token listed from wherever it pointed and silently skipped keys. The MAC (HMAC-SHA-256 cut to
 * 96 bits, over the bucket and the key) is keyed by a random secret kept in the store's state, so
 * tokens survive restarts; tokens of versions before it are refused.
 */
const TOKEN_MAC_BYTES = 12;

function tokenMac(env: OpsEnv, bucket: string, key: Buffer): Buffer {
  const secret = env.meta.state.value('list-token-key', () => secureRandom(32).toString('hex'));
  return createHmac('sha256', Buffer.from(secret, 'hex')).update(bucket).update('\0').update(key).digest().subarray(0, TOKEN_MAC_BYTES);
}

function encodeToken(env: OpsEnv, bucket: string, after: string): string {
  const key = Buffer.from(after);
  return Buffer.concat([tokenMac(env, bucket, key), key]).toString('base64url');
}

function decodeToken(env: OpsEnv, bucket: string, token: string): string {
  const raw = Buffer.from(token, 'base64url');
  const key = raw.subarray(TOKEN_MAC_BYTES);
  if (raw.length <= TOKEN_MAC_BYTES || raw.toString('base64url') !== token || !timingSafeEqual(raw.subarray(0, TOKEN_MAC_BYTES), tokenMac(env, bucket, key))) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { fields: { ArgumentName: 'continuation-token' } });
  }
  return key.toString('utf8');
}

export async function handleListObjectsV2(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const q = ctx.query;
  refuseNonInteger(q, 'max-keys');
  refuseOtherVersionParams(q, true);
  const seen = requireBucket(env, ctx.bucket);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const startAfter = q.get('start-after') ?? '';
  const token = q.get('continuation-token');
  const { encodingType, enc } = keyEncoder(q);
  // A continuation token carries on where its page ended, whatever start-after says (S3 then
  // ignores start-after, and leaves it out of the answer; recorded by LocalStack against AWS). An
  // empty one is refused as a made-up one is.
  const after = token !== null ? decodeToken(env, ctx.bucket!, token) : startAfter;
  const asked = intParam(q, 'max-keys', 1000, INT32_MAX);
  const max = Math.min(asked, MAX_KEYS);
  const fetchOwner = q.get('fetch-owner') === 'true';
  // Each object's metadata and tags only to a requester who may read them (s3:GetObject,
  // s3:GetObjectTagging on that key), as MinIO decides: s3:ListBucket alone shows neither.
  const may = q.get('metadata') === 'true' ? requesterJudge(env, ctx) : undefined;

  const owner = fetchOwner ? bucketOwner(env) : undefined;
  const entries = new XmlWriter('ListBucketResult', true);
  const parts: Buffer[] = [];
  const write = (key: string, record: ListedRecord): void => writeEntry(entries, 'Contents', key, record, enc, may ? listedMetadata(record, may('s3:GetObject', key), may('s3:GetObjectTagging', key)) : undefined, owner);
  const r = await objectPage(env, seen, prefix, delimiter, after, max, write, () => parts.push(entries.take()));
  writePrefixes(entries, r.commonPrefixes, enc);
  parts.push(entries.take());
  const doc = new XmlWriter('ListBucketResult')
    .text('Name', ctx.bucket!)
    .text('Prefix', enc(prefix))
    // Echoed when sent, an empty one too, and not beside a token (backlot's measurements, 2026-09-17).
    .text('StartAfter', q.has('start-after') && token === null ? enc(startAfter) : undefined)
    .text('ContinuationToken', token ?? undefined)
    .text('KeyCount', r.keyCount)
    .text('MaxKeys', asked)
    .text('Delimiter', delimiter !== '' ? enc(delimiter) : undefined)
    .text('IsTruncated', r.isTruncated)
    .text('NextContinuationToken', r.isTruncated && r.next !== undefined ? encodeToken(env, ctx.bucket!, r.next) : undefined)
    .text('EncodingType', encodingType);
  return { status: 200, headers: objectListHeaders(env), body: doc.endWith(parts) };
}

/**
 * MinIO's `metadata=true` listing extension (minio-js listObjectsV2WithMetadata, the MinIO
 * console, minio-go's WithMetadata on ListObjectsV2 and ListObjectVersions): each object's user metadata and stored content headers, and its tags as a query
 * string, from the record the listing read anyway. Metadata only when the requester may read the
 * object (`withMeta`), tags only when it may read its tags (`withTags`).
 */
function listedMetadata(record: ListedRecord, withMeta: boolean, withTags: boolean): XmlObject {
  const out: XmlObject = {};
  if (withMeta) out.UserMetadata = userMetadata(record);
  if (withTags && record.tags && record.tags.length > 0) out.UserTags = new URLSearchParams(record.tags.map(([k, v]): [string, string] => [k, v])).toString();
  return out;
}

function userMetadata(record: ListedRecord): XmlObject {
  const meta: XmlObject = {};
  for (const [name, v] of Object.entries(record.headers)) if (v !== undefined) meta[name] = v;
  for (const [name, v] of Object.entries(record.userMeta)) {
    // Element names: a header name may hold characters no XML name can (`a&b`); those are left out.
    if (/^[a-z][a-z0-9._-]*$/.test(name)) meta[name.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase())] = v;
  }
  return meta;
}

export async function handleListObjectVersions(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const q = ctx.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarkerParam = q.get('key-marker');
  const keyMarker = keyMarkerParam ?? '';
  // As S3 answers (observed against it by gofakes3's s3assumer): a version-id marker without a key
  // marker is refused, an empty one beside a key marker too, and one beside an empty key marker is
  // ignored (the first page).
  // S3's order (recorded: backlot's tests of 2026-09-29): a max-keys that is no integer first,
  // then the markers, then encoding-type, and a negative max-keys last, in words of its own. The
  // first three (max-keys' parse, a version-id marker without a key marker, an empty one beside
  // one) come before the bucket is looked up; the marker's shape and the rest after it.
  const maxSent = q.get('max-keys');
  const negative = maxSent !== null && /^-\d+$/.test(maxSent) && Number(maxSent) !== 0 && Number(maxSent) >= -(2 ** 31);
  const asked = negative ? 0 : intParam(q, 'max-keys', 1000, INT32_MAX);
  const max = Math.min(asked, MAX_KEYS);
  const versionIdParam = q.get('version-id-marker');
  if (versionIdParam === '' && keyMarker !== '') throw new S3Error('InvalidArgument', 'A version-id marker cannot be empty.', { fields: { ArgumentName: 'version-id-marker', ArgumentValue: '' } });
  if (versionIdParam !== null && versionIdParam !== '' && keyMarkerParam === null) throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', { fields: { ArgumentName: 'version-id-marker', ArgumentValue: versionIdParam } });
  const seen = requireBucket(env, ctx.bucket);
  // Its shape is checked even where it is then ignored (OpenStack Swift's AWS-checked tests:
  // `key-marker=&version-id-marker=bogus` is 400 there).
  if (versionIdParam !== null && versionIdParam !== '' && versionIdParam !== NULL_VERSION && stampOfId(versionIdParam) === undefined) throw new S3Error('InvalidArgument', 'Invalid version id specified', { fields: { ArgumentName: 'version-id-marker', ArgumentValue: versionIdParam } });
  const versionIdMarker = keyMarker === '' ? '' : (versionIdParam ?? '');
  const { encodingType, enc } = keyEncoder(q);
  if (negative) throw new S3Error('InvalidArgument', 'max-keys cannot be negative', { fields: { ArgumentName: 'max-keys' } });
  // MinIO's metadata=true here too (minio-go WithVersions and WithMetadata: mc find --versions
  // --metadata/--tags): each version's own metadata and tags, judged as in ListObjectsV2 (an
  // older version's by the version actions, below).
  const may = q.get('metadata') === 'true' ? requesterJudge(env, ctx) : undefined;
  // S3 lists versions and delete markers together, by key and newest first within a key; clients
  // that keep the document's order (minio-go, so mc ls --versions) rely on it.
  const owner = bucketOwner(env);
  const entries = new XmlWriter('ListVersionsResult', true);
  const parts: Buffer[] = [];
  const write = ({ key, record, isLatest }: VersionEntry<ListedRecord>): void => {
    if (record.deleteMarker) {
      entries.open('DeleteMarker').text('Key', enc(key)).text('VersionId', clientVersionId(record)).text('IsLatest', isLatest);
      entries.text('LastModified', isoDate(record.mtime)).element('Owner', owner).close('DeleteMarker');
      return;
    }
    // An older version's as a read naming it is judged (s3:GetObjectVersion,
    // s3:GetObjectVersionTagging, its own tags for s3:ExistingObjectTag): s3:GetObject alone showed them.
    const id = clientVersionId(record);
    const meta = !may ? {} : isLatest ? listedMetadata(record, may('s3:GetObject', key), may('s3:GetObjectTagging', key)) : listedMetadata(record, may('s3:GetObjectVersion', key, id), may('s3:GetObjectVersionTagging', key, id));
    writeEntry(entries, 'Version', key, record, enc, { VersionId: id, IsLatest: isLatest, ...meta }, owner);
  };
  const r = max === 0 ? { commonPrefixes: [], isTruncated: false, nextKey: undefined, nextVersionId: undefined } : await versionPage(env, seen, { prefix, delimiter, keyMarker, versionIdMarker, maxKeys: max }, write, () => parts.push(entries.take()));
  writePrefixes(entries, r.commonPrefixes, enc);
  parts.push(entries.take());
  const doc = new XmlWriter('ListVersionsResult')
    .text('Name', ctx.bucket!)
    .text('Prefix', enc(prefix))
    .text('KeyMarker', enc(keyMarker))
    .text('VersionIdMarker', versionIdMarker)
    .text('MaxKeys', asked)
    // Whenever one was sent, an empty one too (backlot's measurements, 2026-09-29).
    .text('Delimiter', q.has('delimiter') ? enc(delimiter) : undefined)
    .text('IsTruncated', r.isTruncated);
  if (r.isTruncated && r.nextKey !== undefined) doc.text('NextKeyMarker', enc(r.nextKey)).text('NextVersionIdMarker', r.nextVersionId);
  doc.text('EncodingType', encodingType);
  return { status: 200, headers: XML, body: doc.endWith(parts) };
}
