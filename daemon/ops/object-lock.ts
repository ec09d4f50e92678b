// S3 Object Lock (WORM) on versioned buckets: the bucket's lock configuration (enabled at
// CreateBucket or on a versioned bucket; an optional default retention), each version's
// retention (GOVERNANCE or COMPLIANCE until a date) and legal hold, set with the upload's
// x-amz-object-lock-* headers or later with PutObjectRetention / PutObjectLegalHold. A locked
// version cannot be removed by id (meta/store.ts refuses it inside the delete's transaction):
// a legal hold always protects, COMPLIANCE until its date, GOVERNANCE until its date unless the
// request sets x-amz-bypass-governance-retention and may (root, or s3:BypassGovernanceRetention).
// Deletes without a version id only add a delete marker, as on S3.

import { S3Error } from '../errors.js';
import type { BucketRecord, LockMode, ObjectRecord, Retention } from '../meta/records.js';
import { OBJECT_LOCKED_MESSAGE, metaErrorAfterLookUp, requireBucket, requireSameBucket, updateSeenBucket, type OpsEnv } from './env.js';
import { readableRecord, readVersionHeader } from './object.js';
import { bodyAllowed, requestFacts, userMay } from './policy.js';
import type { RequestContext, Result } from './types.js';
import { parseDocument, toXml, xmlFields, xmlList, xmlText, type XmlObject } from './xml.js';
import { isoDate, parseIsoDateTime } from '../dates.js';
import { hasV2PresignParams, isV2Authorization } from '../auth/sigv2.js';

const XML = { 'content-type': 'application/xml' };
const MAX_XML_BODY = 64 * 1024;
const DAY = 86_400_000;
const MODES: ReadonlySet<string> = new Set(['GOVERNANCE', 'COMPLIANCE']);

/** The lock settings a write asks for (or the bucket's default retention gives it). */
export interface LockRequest {
  retention?: Retention;
  legalHold?: 'ON' | 'OFF';
  /** The retention is the bucket's default, counted from when the request was read: lockAt counts it from the version's creation. */
  fromDefault?: true;
}

function header(headers: Readonly<Record<string, string>>, query: URLSearchParams, name: string): string | undefined {
  return headers[name] ?? query.get(name) ?? undefined;
}

const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * An ISO 8601 date-time (what S3 takes), as ms since the epoch: a real calendar date and time (no
 * February 30th quietly moved to March), its instant in years 1970–9999. InvalidArgument otherwise,
 * saying `message`.
 */
function parseDate(text: string, message: string, argument?: { fields: Record<string, string> }): number {
  const t = parseIsoDateTime(text);
  if (t === undefined || t < 0 || t > LATEST) throw new S3Error('InvalidArgument', message, argument);
  return t;
}

/** What a date that is none is told, in years 1970–9999 (RetainUntilDate). */
const dateMessage = (what: string): string => `${what} must be an ISO 8601 date and time in years 1970–9999, e.g. 2030-01-01T00:00:00Z.`;

/**
 * The ArgumentName and ArgumentValue of a refused x-amz-object-lock-* upload header, as S3 gives
 * them (`<ArgumentName>x-amz-object-lock-mode</ArgumentName><ArgumentValue>abc</ArgumentValue>`
 * beside "Unknown wormMode directive.", recorded against S3 in versity/versitygw#1736; the others
 * name their header the same way). A header missing beside its pair is named without a value.
 */
function lockArgument(name: string, value?: string): { fields: Record<string, string> } {
  return { fields: value === undefined ? { ArgumentName: name } : { ArgumentName: name, ArgumentValue: value } };
}

/**
 * S3's Object Lock event holds (2026): a version held until an event releases it, then retained
 * for a duration. s3d has no holds, so a request for one is refused rather than stored unprotected
 * (the upload headers are refused in object-headers.ts); `OFF` is what every version already has.
 */
function eventHoldNotImplemented(what: string): S3Error {
  return new S3Error('NotImplemented', `Object Lock event holds (${what}) are not implemented; s3d protects versions with retention and legal holds.`);
}

function noLock(): S3Error {
  return new S3Error('InvalidRequest', 'Bucket is missing Object Lock Configuration');
}

/** The bucket's default retention applied to a version written at `now`. */
export function defaultRetention(b: BucketRecord, now: number): Retention | undefined {
  const d = b.objectLock?.defaultRetention;
  if (d === undefined) return undefined;
  if (d.days !== undefined) return { mode: d.mode, until: now + d.days * DAY };
  const until = new Date(now);
  until.setUTCFullYear(until.getUTCFullYear() + d.years!);
  return { mode: d.mode, until: until.getTime() };
}

/**
 * The x-amz-object-lock-* options of an upload (PutObject, CopyObject, CreateMultipartUpload, a
 * form's fields), checked before any data is read. Without explicit retention the bucket's
 * default applies when `withDefault` (uploads completed later take it at completion instead).
 */
export function lockFromHeaders(b: BucketRecord, headers: Readonly<Record<string, string>>, query: URLSearchParams, now: number, withDefault = true): LockRequest {
  const mode = header(headers, query, 'x-amz-object-lock-mode');
  const date = header(headers, query, 'x-amz-object-lock-retain-until-date');
  const hold = header(headers, query, 'x-amz-object-lock-legal-hold');
  if (mode === undefined && date === undefined && hold === undefined) {
    const retention = withDefault ? defaultRetention(b, now) : undefined;
    return retention === undefined ? {} : { retention, fromDefault: true };
  }
  // A mode without a date (or a date without a mode) is refused as such before the bucket is
  // asked about Object Lock: S3 answers it InvalidArgument on a bucket without Object Lock too
  // (versitygw#2028, s3transfer#224), where the bucket's refusal is InvalidRequest.
  if ((mode === undefined) !== (date === undefined)) {
    const missing = mode === undefined ? 'x-amz-object-lock-mode' : 'x-amz-object-lock-retain-until-date';
    throw new S3Error('InvalidArgument', 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.', lockArgument(missing));
  }
  if (b.objectLock === undefined) throw noLock();
  const out: LockRequest = {};
  if (mode !== undefined && date !== undefined) {
    // S3's words, to the letter (the SDKs show the message; scripts match it).
    if (!MODES.has(mode)) throw new S3Error('InvalidArgument', 'Unknown wormMode directive.', lockArgument('x-amz-object-lock-mode', mode));
    // S3's words, as for the mode (versity/versitygw#1733, recorded against S3).
    const until = parseDate(date, 'The retain until date must be provided in ISO 8601 format', lockArgument('x-amz-object-lock-retain-until-date', date));
    if (until <= now) throw new S3Error('InvalidArgument', 'The retain until date must be in the future!', lockArgument('x-amz-object-lock-retain-until-date', date));
    out.retention = { mode: mode as LockMode, until };
  } else if (withDefault) {
    const retention = defaultRetention(b, now);
    if (retention !== undefined) {
      out.retention = retention;
      out.fromDefault = true;
    }
  }
  if (hold !== undefined) {
    if (hold !== 'ON' && hold !== 'OFF') throw new S3Error('InvalidArgument', "Legal Hold must be either of 'ON' or 'OFF'", lockArgument('x-amz-object-lock-legal-hold', hold));
    out.legalHold = hold;
  }
  return out;
}

/**
 * `lock` for a version created at `created` (its Last-Modified): S3 adds the bucket's default
 * retention period to "the object version's creation timestamp". Counted from when the request's
 * headers were read, a default retention ended earlier than that by however long the body took
 * to arrive (or the copy to be made). An explicit retain-until date stays as asked.
 */
export function lockAt(b: BucketRecord, lock: LockRequest, created: number): LockRequest {
  if (lock.fromDefault !== true) return lock;
  const retention = defaultRetention(b, created);
  return retention === undefined ? lock : { ...lock, retention };
}

/**
 * Whether a version written with `lock` is under Object Lock from the start: a retention (its own
 * or the bucket's default) or a legal hold ON. A legal hold OFF protects nothing.
 */
function locksVersion(lock: { retention?: Retention; legalHold?: 'ON' | 'OFF' }): boolean {
  return lock.retention !== undefined || lock.legalHold === 'ON';
}

/**
 * S3 refuses the body of a version Object Lock will protect (the upload's x-amz-object-lock-*
 * headers, or just the bucket's default retention) unless the request carries an integrity check
 * of its own: Content-MD5, an x-amz-checksum-* header or a checksum trailer. Its answer, to the
 * letter (supabase/storage#423, kopia#711; "Put Part" for UploadPart, s3cmd#1436, opendal#4527),
 * since clients match it. Checked before any byte is read, so nothing is stored.
 * S3 does not count a signed SHA-256 payload hash (aws-sdk-php#1694, s3cmd#1436); s3d does, and
 * signed aws-chunked chunks (`body.digested`): the bytes are checked all the same, and minio-js
 * over plain HTTP signs a SHA-256 and sends no Content-MD5 (docs/operations.md, Object Lock).
 */
export function requireLockedBodyChecksum(lock: { retention?: Retention; legalHold?: 'ON' | 'OFF' }, body: { readonly digested: boolean }, request: 'Put Object' | 'Put Part'): void {
  if (!locksVersion(lock) || body.digested) return;
  throw new S3Error('InvalidRequest', `Content-MD5 OR x-amz-checksum- HTTP header is required for ${request} requests with Object Lock parameters`);
}

/**
 * The requests that may create a version Object Lock protects, as named in the refusal below.
 * "Put Object" and "Put Part" are S3's own words (versitygw#1542; the integrity check's message
 * names UploadPart "Put Part"); the others are s3d's, in the same pattern: S3's answer to those
 * requests is not on record (an anonymous copy it refuses outright, AccessDenied "Anonymous users
 * cannot copy objects.  Please authenticate.", Seagate/cortx-prvsnr#2908).
 */
export type LockedWrite = 'Put Object' | 'Put Part' | 'Copy Object' | 'Copy Part' | 'Create Multipart Upload' | 'Complete Multipart Upload' | 'Post Object';

/** Whether a request (not a form) is signed with Signature Version 4: a known signer, neither a V2 header nor a V2 presigned URL. */
export function signedWithV4(ctx: Pick<RequestContext, 'accessKey' | 'headers' | 'query'>): boolean {
  if (ctx.accessKey === '') return false;
  const authorization = ctx.headers.authorization;
  return !((authorization !== undefined && isV2Authorization(authorization)) || hasV2PresignParams([...ctx.query]));
}

function sigV4Required(request: LockedWrite, argument: string): S3Error {
  return new S3Error('InvalidArgument', `${request} requests with Object Lock parameters require AWS Signature Version 4`, { fields: { ArgumentName: argument } });
}

/**
 * S3 takes a version Object Lock will protect (the same versions as requireLockedBodyChecksum: the
 * bucket's default retention alone included) only from a request signed with Signature Version 4:
 * an anonymous one is 400 InvalidArgument naming Authorization, in S3's words (versitygw#1542: an
 * anonymous PutObject, Content-MD5 sent, into a public bucket with a default COMPLIANCE
 * retention). Without it, anyone a bucket policy lets write stored versions the default retention
 * locked, COMPLIANCE ones past the root user's reach. The message names the signature version, so
 * a V2 request (header or presigned) is refused the same way. Every request that makes such a
 * version, or its data, or chooses its lock is asked: PutObject and UploadPart (checked after the
 * integrity check, which S3 answers first to an anonymous request without one, versitygw#1535,
 * before any byte is read), CopyObject and UploadPartCopy (before the source is read), the
 * CreateMultipartUpload that would lock its object and the CompleteMultipartUpload that creates
 * it (an upload's parts may predate the bucket's default retention, which the completion applies:
 * anonymous parts, then an anonymous completion, made a locked version of anonymous bytes). Form
 * uploads: requireLockedFormSigV4.
 */
export function requireLockedSigV4(lock: { retention?: Retention; legalHold?: 'ON' | 'OFF' }, ctx: Pick<RequestContext, 'accessKey' | 'headers' | 'query'>, request: Exclude<LockedWrite, 'Post Object'>): void {
  if (!locksVersion(lock) || signedWithV4(ctx)) return;
  throw sigV4Required(request, 'Authorization');
}

/**
 * requireLockedSigV4 for a form upload (POST Object): only a form signed with AWS4-HMAC-SHA256 by
 * a known signer (`signedV4`) may create a version the lock protects; an anonymous form (no policy,
 * no signature: whatever the bucket's policy lets anyone post) or a V2 form is refused before a
 * byte of the file is stored. The form's x-amz-algorithm field is what a V4 form names, so the
 * refusal names it.
 */
export function requireLockedFormSigV4(lock: { retention?: Retention; legalHold?: 'ON' | 'OFF' }, signedV4: boolean): void {
  if (!locksVersion(lock) || signedV4) return;
  throw sigV4Required('Post Object', 'x-amz-algorithm');
}

/** The record fields of a lock request. */
export function lockFields(lock: LockRequest | undefined): Pick<ObjectRecord, 'retention' | 'legalHold'> {
  return { ...(lock?.retention !== undefined ? { retention: lock.retention } : {}), ...(lock?.legalHold !== undefined ? { legalHold: lock.legalHold } : {}) };
}

/**
 * The lock of a completed multipart upload: what CreateMultipartUpload asked for, else the bucket's
 * default retention (as the bucket has it at completion, when the version is created) counted from
 * the upload's initiation: S3 adds the default period to "the object version's creation
 * timestamp", and a multipart object's is its initiation ("the object creation date is the date of
 * initiation of the multipart upload"), its Last-Modified here as on S3. MinIO also counts it from
 * CreateMultipartUpload. Counted from the completion, the retain-until date was later than
 * Last-Modified plus the period by however long the upload took.
 */
export function completedLock(b: BucketRecord | undefined, up: { initiated: number; retention?: Retention; legalHold?: 'ON' | 'OFF' }): Pick<ObjectRecord, 'retention' | 'legalHold'> {
  const retention = up.retention ?? (b === undefined ? undefined : defaultRetention(b, up.initiated));
  return lockFields({ ...(retention !== undefined ? { retention } : {}), ...(up.legalHold !== undefined ? { legalHold: up.legalHold } : {}) });
}

/** The response headers that describe a version's lock. */
export function lockHeaders(rec: ObjectRecord): Record<string, string> {
  const h: Record<string, string> = {};
  if (rec.retention !== undefined) {
    h['x-amz-object-lock-mode'] = rec.retention.mode;
    h['x-amz-object-lock-retain-until-date'] = isoDate(rec.retention.until);
  }
  if (rec.legalHold !== undefined) h['x-amz-object-lock-legal-hold'] = rec.legalHold;
  return h;
}

/**
 * x-amz-bypass-governance-retention on a bucket without Object Lock (true or false): 400, as S3
 * answers it; it would bypass nothing, and a client sending it expects a lock to be there.
 */
export function refuseBypassWithoutLock(b: BucketRecord, headers: Readonly<Record<string, string>>): void {
  if (b.objectLock === undefined && headers['x-amz-bypass-governance-retention'] !== undefined) {
    throw new S3Error('InvalidArgument', 'x-amz-bypass-governance-retention is only applicable to Object Lock enabled buckets.', { fields: { ArgumentName: 'x-amz-bypass-governance-retention' } });
  }
}

/** Whether the request asks to bypass GOVERNANCE retention and its signer may. */
export function bypassGovernance(env: OpsEnv, ctx: RequestContext, key: string): boolean {
  if ((ctx.headers['x-amz-bypass-governance-retention'] ?? '').toLowerCase() !== 'true') return false;
  return userMay(env, ctx.accessKey, 's3:BypassGovernanceRetention', ctx.bucket!, key, requestFacts(ctx));
}

// ---- bucket configuration

function lockConfigXml(b: BucketRecord): string {
  const d = b.objectLock?.defaultRetention;
  const body: XmlObject = { ObjectLockEnabled: 'Enabled' };
  if (d !== undefined) body.Rule = { DefaultRetention: { Mode: d.mode, ...(d.days !== undefined ? { Days: d.days } : { Years: d.years! }) } };
  return toXml('ObjectLockConfiguration', body);
}

export async function handleGetObjectLockConfiguration(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = requireBucket(env, ctx.bucket);
  if (b.objectLock === undefined) throw new S3Error('ObjectLockConfigurationNotFoundError');
  return { status: 200, headers: XML, body: lockConfigXml(b) };
}

/**
 * A default retention's Days or Years: a whole number from 1 to `most`. Outside it, S3's
 * InvalidArgument in its words, naming the element (`<ArgumentName>Days</ArgumentName>`, recorded
 * against S3 in versity/versitygw#1738 and storj/edge#528; "too large" past 36,500 days or 100 years).
 */
function period(v: unknown, what: 'Days' | 'Years', most: number): number {
  const s = xmlText(v, what).trim();
  const argument = { fields: { ArgumentName: what } };
  if (!/^-?\d+$/.test(s) || Number(s) < 1) throw new S3Error('InvalidArgument', 'Default retention period must be a positive integer value.', argument);
  if (Number(s) > most) throw new S3Error('InvalidArgument', 'Default retention period too large.', argument);
  return Number(s);
}

export async function handlePutObjectLockConfiguration(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const seen = requireBucket(env, ctx.bucket);
  const conf = parseDocument(await ctx.body.readAll(MAX_XML_BODY), 'ObjectLockConfiguration', { childless: 'missing' });
  xmlFields(conf, ['ObjectLockEnabled', 'Rule'], 'ObjectLockConfiguration');
  if (conf.ObjectLockEnabled !== undefined && xmlText(conf.ObjectLockEnabled, 'ObjectLockEnabled').trim() !== 'Enabled') throw new S3Error('MalformedXML', 'ObjectLockEnabled must be Enabled.');
  // Always required, on a bucket that has Object Lock too (S3 answers MalformedXML without it).
  if (conf.ObjectLockEnabled === undefined) throw new S3Error('MalformedXML', 'An ObjectLockConfiguration needs ObjectLockEnabled (Enabled).');
  let defaultRetention: NonNullable<BucketRecord['objectLock']>['defaultRetention'];
  if (conf.Rule !== undefined) {
    const rules = xmlList(conf.Rule);
    if (rules.length !== 1) throw new S3Error('MalformedXML', 'An ObjectLockConfiguration has at most one Rule.');
    const rule = xmlFields(rules[0], ['DefaultRetention'], 'Rule');
    if (rule.DefaultRetention === undefined) throw new S3Error('MalformedXML', 'A Rule needs a DefaultRetention.');
    const d = xmlFields(rule.DefaultRetention, ['Mode', 'Days', 'Years', 'DefaultEventHold'], 'DefaultRetention');
    if (d.DefaultEventHold !== undefined) throw eventHoldNotImplemented('DefaultEventHold');
    const mode = d.Mode === undefined ? undefined : xmlText(d.Mode, 'Mode').trim();
    if (mode === undefined || !MODES.has(mode)) throw new S3Error('MalformedXML', 'DefaultRetention needs a Mode of GOVERNANCE or COMPLIANCE.');
    if ((d.Days === undefined) === (d.Years === undefined)) throw new S3Error('MalformedXML', 'DefaultRetention needs either Days or Years.');
    defaultRetention = d.Days !== undefined ? { mode: mode as LockMode, days: period(d.Days, 'Days', 36500) } : { mode: mode as LockMode, years: period(d.Years, 'Years', 100) };
  }
  await updateSeenBucket(env, seen, (cur) => {
    // S3 turns Object Lock on only for a bucket whose versioning is Enabled (and never off again).
    if (cur.objectLock === undefined && cur.versioning !== 'Enabled') throw new S3Error('InvalidBucketState', 'Versioning must be \'Enabled\' on the bucket to apply a Object Lock configuration');
    return { ...cur, objectLock: defaultRetention === undefined ? {} : { defaultRetention } };
  });
  return { status: 200 };
}

// ---- retention and legal hold of a version

function lockedBucket(env: OpsEnv, ctx: RequestContext): BucketRecord {
  const b = requireBucket(env, ctx.bucket);
  if (b.objectLock === undefined) throw noLock();
  return b;
}

export async function handleGetObjectRetention(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = lockedBucket(env, ctx);
  const rec = readableRecord(env, ctx);
  if (rec.retention === undefined) throw new S3Error('NoSuchObjectLockConfiguration');
  return { status: 200, headers: { ...XML, ...readVersionHeader(b, rec) }, body: toXml('Retention', { Mode: rec.retention.mode, RetainUntilDate: isoDate(rec.retention.until) }) };
}

/**
 * Whether `next` may replace `cur` as a version's retention at `now`: extending (a later or equal
 * date, the same mode) always may; anything else only once `cur` has passed, or for GOVERNANCE with
 * the bypass. That includes GOVERNANCE → COMPLIANCE: it alters a governance lock, which S3 (tested
 * by Ceph against it, ceph/ceph#42505) and MinIO allow only with the bypass.
 */
export function retentionChangeAllowed(cur: Retention | undefined, next: Retention | undefined, now: number, bypass: boolean): boolean {
  if (cur === undefined || cur.until <= now) return true;
  // Compared in whole seconds, the precision dates are reported in (`….000Z`): writing back the
  // date GetObjectRetention gave is no shortening (a default retention carries milliseconds).
  const extends_ = next !== undefined && seconds(next.until) >= seconds(cur.until) && next.mode === cur.mode;
  if (extends_) return true;
  return cur.mode === 'GOVERNANCE' && bypass;
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** The retention `next` sets over `cur`: never earlier than `cur` within the second both report (see retentionChangeAllowed). */
function keptRetention(cur: Retention | undefined, next: Retention): Retention {
  return cur !== undefined && next.until < cur.until && seconds(next.until) === seconds(cur.until) ? { ...next, until: cur.until } : next;
}

export async function handlePutObjectRetention(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  // Whether the bucket has Object Lock is told only once the body is allowed (below).
  const b = requireBucket(env, ctx.bucket);
  const versionId = ctx.query.get('versionId') ?? undefined;
  const r = parseDocument(await ctx.body.readAll(MAX_XML_BODY), 'Retention');
  // An empty <Retention/> removes it; anything s3d does not know is refused, never read as "remove".
  const fields = xmlFields(r, ['Mode', 'RetainUntilDate', 'EventHold', 'EventHoldDuration'], 'Retention');
  if (fields.EventHoldDuration !== undefined) throw eventHoldNotImplemented('EventHoldDuration');
  const eventHold = fields.EventHold === undefined ? undefined : xmlText(fields.EventHold, 'EventHold').trim();
  if (eventHold !== undefined && eventHold !== 'ON' && eventHold !== 'OFF') throw new S3Error('MalformedXML', 'EventHold must be ON or OFF.');
  if (eventHold === 'ON') throw eventHoldNotImplemented('EventHold ON');
  const mode = fields.Mode === undefined ? undefined : xmlText(fields.Mode, 'Mode').trim();
  const date = fields.RetainUntilDate === undefined ? undefined : xmlText(fields.RetainUntilDate, 'RetainUntilDate').trim();
  const now = Date.now();
  let next: Retention | undefined;
  if (mode !== undefined || date !== undefined) {
    if (mode === undefined || date === undefined) throw new S3Error('MalformedXML', 'Retention needs both Mode and RetainUntilDate (or neither, to remove it).');
    if (!MODES.has(mode)) throw new S3Error('MalformedXML', 'Mode must be GOVERNANCE or COMPLIANCE.');
    // A RetainUntilDate that is no date-time the schema takes (`notadate`, seconds since 1970, a
    // February 30th) is MalformedXML, as S3 answers it (floci-io/floci#1614, checked against AWS
    // on the wire); s3d said InvalidArgument. A real date in the past is S3's InvalidArgument below.
    // One without a zone is UTC, as S3 takes it (versity/versitygw#855, sent to S3 directly).
    const until = parseIsoDateTime(date, { zoneless: 'utc' });
    if (until === undefined || until > LATEST) throw new S3Error('MalformedXML', dateMessage('RetainUntilDate'));
    if (until <= now) throw new S3Error('InvalidArgument', 'The retain until date must be in the future!');
    next = { mode: mode as LockMode, until };
  }
  // s3:object-lock-mode, -retain-until-date and -remaining-retention-days are this body's: the
  // request is judged again with them before anything changes (ops/policy.ts deferred it here).
  const lockKeys: Record<string, string> = next === undefined ? {} : { 's3:object-lock-mode': next.mode, 's3:object-lock-retain-until-date': new Date(next.until).toISOString() };
  // Before the look-up, as S3 decides: a caller the body refuses learns nothing of the key.
  // So is whether the bucket has Object Lock at all: a caller the policy refuses learns nothing of its configuration.
  if (!bodyAllowed(env, ctx, { lock: lockKeys })) throw new S3Error('AccessDenied');
  if (b.objectLock === undefined) throw noLock();
  const found = readableRecord(env, ctx);
  // EventHold OFF alone releases a hold, which no s3d version has: nothing changes (it must not be
  // read as the empty Retention that removes the retention).
  if (eventHold === 'OFF' && next === undefined) return { status: 200, headers: readVersionHeader(b, found) };
  const bypass = bypassGovernance(env, ctx, ctx.key!);
  const rec = await env.meta
    .updateObject(
      ctx.bucket!,
      ctx.key!,
      (cur) => {
        // Judged inside the transaction, against the version as it is now.
        if (!retentionChangeAllowed(cur.retention, next, Date.now(), bypass)) throw new S3Error('AccessDenied', OBJECT_LOCKED_MESSAGE);
        const { retention: _old, ...rest } = cur;
        return next === undefined ? rest : { ...rest, retention: keptRetention(cur.retention, next) };
      },
      versionId,
      // Not on a bucket deleted and created again since the request began (OperationAborted).
      (cur) => requireSameBucket(b, cur),
    )
    .catch(metaErrorAfterLookUp(() => readableRecord(env, ctx)));
  return { status: 200, headers: readVersionHeader(b, rec) };
}

export async function handleGetObjectLegalHold(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = lockedBucket(env, ctx);
  const rec = readableRecord(env, ctx);
  if (rec.legalHold === undefined) throw new S3Error('NoSuchObjectLockConfiguration');
  return { status: 200, headers: { ...XML, ...readVersionHeader(b, rec) }, body: toXml('LegalHold', { Status: rec.legalHold }) };
}

export async function handlePutObjectLegalHold(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = requireBucket(env, ctx.bucket);
  const versionId = ctx.query.get('versionId') ?? undefined;
  const body = await ctx.body.readAll(MAX_XML_BODY);
  // No body (an SDK call without LegalHold) is S3's MalformedXML here, not the MissingRequestBodyError
  // of the configuration PUTs (LocalStack's AWS recording put-object-retention-empty).
  if (body.length === 0) throw new S3Error('MalformedXML');
  const h = xmlFields(parseDocument(body, 'LegalHold'), ['Status'], 'LegalHold');
  const status = h.Status !== undefined ? xmlText(h.Status, 'Status').trim() : undefined;
  if (status !== 'ON' && status !== 'OFF') throw new S3Error('MalformedXML', "Legal Hold must be either of 'ON' or 'OFF'");
  // s3:object-lock-legal-hold is this body's Status (judged again with it, as a retention is).
  if (!bodyAllowed(env, ctx, { lock: { 's3:object-lock-legal-hold': status } })) throw new S3Error('AccessDenied');
  // Only then the bucket's Object Lock and the key (as for a retention): a caller the body refuses learns nothing of them.
  if (b.objectLock === undefined) throw noLock();
  readableRecord(env, ctx);
  const rec = await env.meta
    .updateObject(ctx.bucket!, ctx.key!, (cur) => ({ ...cur, legalHold: status }), versionId, (cur) => requireSameBucket(b, cur))
    .catch(metaErrorAfterLookUp(() => readableRecord(env, ctx)));
  return { status: 200, headers: readVersionHeader(b, rec) };
}
