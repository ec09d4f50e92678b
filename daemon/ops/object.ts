// Single-object operations: PutObject, GetObject, HeadObject, DeleteObject.

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { DataFile } from '../storage/files.js';
import type { VersionedDelete } from '../meta/store.js';
import { S3Error, isS3Error } from '../errors.js';
import { mayList, requesterJudge } from './policy.js';
import { filesOf, type ObjectRecord, type PartRecord } from '../meta/records.js';
import { newObjectRecord } from './new-object.js';
import { clientETag, createObjectEncryption, refuseCustomerKey, sseResponseHeaders, unsealForRead } from '../sse/object-encryption.js';
import { checksumTypes, openChecksums, openPartChecksums } from '../sse/checksums.js';
import { blocksSseC, customerKeyMd5, parseEncryptionRequest, rejectSseOnRead, resolveEncryption, type EncryptionRequest } from '../sse/params.js';
import { inSameBucket, metaError, requireBucket, type OpsEnv } from './env.js';
import { isInline, partsInRange, readData, readInlineSync, writeData, type DataEnv, type ReadableObject, type WrittenData } from './object-data.js';
import { checksumHeaders } from './checksums.js';
import { type DataLease, parkable } from './data-gate.js';
import { checkConditions, minioForceDelete, checksumModeEnabled, collectStoredHeaders, deleteConditionFailure, parseDeleteConditions, collectUserMeta, ifRangeHolds, latin1Overrides, objectResponseHeaders, OVERRIDE_PARAMS, parseRange, quoteETag, rangeSent, writeConditions } from './object-headers.js';
import { tagsFromHeader } from './tagging.js';
import { expirationHeader } from './lifecycle.js';
import { objectAccessed, requestEvents } from './notification.js';
import { clientVersionId } from '../meta/versions.js';
import { bypassGovernance, lockAt, lockFromHeaders, lockHeaders, refuseBypassWithoutLock, requireLockedBodyChecksum, requireLockedSigV4, signedWithV4 } from './object-lock.js';
import type { BucketRecord } from '../meta/records.js';
import type { RequestContext, Result, StreamBody } from './types.js';
import { httpDate } from '../dates.js';

export const MAX_OBJECT_SIZE = 5 * 1024 ** 4;
const MAX_SINGLE_PUT = 5 * 1024 ** 3;

/** What the data path needs; `lease`: the request's place in the data gate, when it already has one (a copy's read and write share it). */
export function dataEnv(env: OpsEnv, lease?: DataLease): DataEnv {
  const l = lease ?? env.dataGate?.lease();
  return { pool: env.pool, files: env.files, inlineThreshold: env.config.inlineThreshold, disk: env.disk, ...(l !== undefined ? { lease: l } : {}) };
}

/**
 * S3's answer to a request not signed with Signature Version 4 (V2, header or presigned URL, or
 * anonymous) that would write or read an SSE-KMS object, as AWS sends it (aws-cli#1006, a V2
 * GetObject; pottava/aws-s3-proxy#46, an unsigned one: `Authorization` named, its value `null`).
 */
export function kmsNeedsSigV4(): S3Error {
  return new S3Error('InvalidArgument', 'Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4.', { fields: { ArgumentName: 'Authorization', ArgumentValue: 'null' } });
}

/**
 * A read of an SSE-KMS object (GetObject, HeadObject, the source of CopyObject or UploadPartCopy)
 * only by a request signed with V4: "All GET and PUT requests for an object protected by AWS KMS
 * fail if they're not made via SSL or using SigV4" (AWS, SSEKMSKeyId in the SDK references); the
 * AWS knowledge center's "s3-kms-signature-version-error" names anonymous requests too. Served
 * here, a client learnt only on S3 that its V2 signer, presigned V2 URLs or public links did not
 * work. Checked before the customer key and the conditions: no KMS call is made for it.
 */
export function requireKmsReadSigV4(rec: ObjectRecord, ctx: Pick<RequestContext, 'accessKey' | 'headers' | 'query'>): void {
  if (rec.sse?.kind === 'SSE-KMS' && !signedWithV4(ctx)) throw kmsNeedsSigV4();
}

/**
 * The encryption a write asks for, after bucket default and auto-encryption. `signedV4`: whether
 * the request (a form: its policy) is signed with Signature Version 4, as S3 wants one that makes
 * an SSE-KMS object.
 */
export function writeEncryption(env: OpsEnv, ctx: RequestContext, bucketEncryption: Parameters<typeof resolveEncryption>[1], signedV4 = signedWithV4(ctx)): EncryptionRequest {
  if (ctx.op !== 'CopyObject' && ctx.op !== 'UploadPartCopy') refuseCustomerKey(ctx.headers, true);
  const req = parseEncryptionRequest(ctx.headers);
  // S3's block on SSE-C (BlockedEncryptionTypes): PutObject, CopyObject, PostObject and
  // CreateMultipartUpload asking for it are 403 AccessDenied; stored objects stay readable.
  if (req.kind === 'SSE-C' && blocksSseC(bucketEncryption)) {
    req.key.fill(0);
    throw sseCBlocked();
  }
  const resolved = resolveEncryption(req, bucketEncryption, env.config.autoEncryption);
  // S3 makes an SSE-KMS object only for a request signed with V4, whether the request asks for
  // SSE-KMS (botocore#377, a V2 PutObject; AWS knowledge center "s3-kms-signature-version-error":
  // anonymous requests too) or only the bucket's default (aws:kms) makes it one: AWS refuses every
  // PUT "for an object protected by AWS KMS" not signed with V4. Checked once, after the default
  // is applied (resolveEncryption keeps a request's own SSE-KMS as it is).
  if (resolved.kind === 'SSE-KMS' && !signedV4) throw kmsNeedsSigV4();
  return resolved;
}

/** S3's answer to a write asking for SSE-C in a bucket whose BlockedEncryptionTypes lists SSE-C. */
export function sseCBlocked(): S3Error {
  return new S3Error('AccessDenied', 'Server-side encryption with customer-provided keys (SSE-C) is blocked for this bucket: its default encryption configuration lists SSE-C in BlockedEncryptionTypes.');
}

/** Whether a write must hash the plaintext with MD5 (plain and SSE-S3 ETags are the MD5). */
export function needsMd5(kind: EncryptionRequest['kind']): boolean {
  return kind === 'none' || kind === 'SSE-S3';
}

/**
 * The body's MD5 when the client sent Content-MD5. The payload decoder verifies it (BadDigest
 * otherwise) before the body ends, so the write path need not hash the body a second time.
 */
export function contentMd5(ctx: RequestContext): Buffer | undefined {
  const h = ctx.headers['content-md5'];
  return h === undefined ? undefined : Buffer.from(h, 'base64');
}

/** A PutObject body over 5 GiB: S3's EntityTooLarge, naming the size (declared, or read so far). */
function singlePutTooLarge(size: number): S3Error {
  return new S3Error('EntityTooLarge', undefined, { fields: { ProposedSize: String(size), MaxSizeAllowed: String(MAX_SINGLE_PUT) } });
}

export function declaredLength(ctx: RequestContext): number | undefined {
  const n = ctx.body.declaredLength;
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw new S3Error('InvalidArgument', 'The declared content length is not valid.');
  return n;
}

/** Removes a data file that was written but will never be committed. */
export async function discardWritten(env: OpsEnv, w: WrittenData | undefined): Promise<void> {
  if (w && 'file' in w.data) await env.files.remove(w.data.file).catch(() => undefined);
}

export async function handlePutObject(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const bucket = requireBucket(env, ctx.bucket);
  const key = ctx.key!;
  const declared = declaredLength(ctx);
  if (declared === undefined && ctx.headers['transfer-encoding'] === undefined) throw new S3Error('MissingContentLength');
  if (declared !== undefined && declared > MAX_SINGLE_PUT) throw singlePutTooLarge(declared);
  const check = writeConditions(ctx.headers);
  check?.(env.meta.getObject(ctx.bucket!, key));
  const encReq = writeEncryption(env, ctx, bucket.encryption);
  try {
    return await putObject(env, ctx, bucket, key, declared, check, encReq);
  } finally {
    // The customer key sealed the object key: wiped as soon as the request is done with it.
    if (encReq.kind === 'SSE-C') encReq.key.fill(0);
  }
}

async function putObject(
  env: OpsEnv,
  ctx: RequestContext,
  bucket: BucketRecord,
  key: string,
  declared: number | undefined,
  check: ReturnType<typeof writeConditions>,
  encReq: EncryptionRequest,
): Promise<Result> {
  const headers = collectStoredHeaders(ctx.headers, ctx.query);
  const userMeta = collectUserMeta(ctx.headers, ctx.query);
  const tags = tagsFromHeader(ctx.headers, ctx.query);
  const lock = lockFromHeaders(bucket, ctx.headers, ctx.query, Date.now());
  requireLockedBodyChecksum(lock, ctx.body, 'Put Object');
  requireLockedSigV4(lock, ctx, 'Put Object');
  const enc = encReq.kind === 'none' ? undefined : await createObjectEncryption(env, encReq, ctx.bucket!, key);
  let written: WrittenData | undefined;
  try {
    const known = contentMd5(ctx);
    // The signal is a getter: inline (small) writes never look at it, so never pay for an AbortController.
    written = await writeData(dataEnv(env), ctx.body, {
      key: enc?.objectKey,
      md5: needsMd5(encReq.kind) && !known,
      declaredLength: declared,
      limit: { maxBytes: MAX_SINGLE_PUT, tooLarge: singlePutTooLarge },
      get signal() {
        return ctx.signal;
      },
    });
    if (declared !== undefined && written.size !== declared) throw new S3Error('IncompleteBody');
    const etag = clientETag(encReq.kind, known ?? written.md5, enc?.objectKey);
    // The client's checksum, or S3's default one the payload decoder computed (http/server.ts).
    const checksums = ctx.body.verifiedChecksums();
    const mtime = Date.now();
    const record = newObjectRecord(written, { etag, mtime, headers, userMeta, checksums, enc, tags, lock: lockAt(bucket, lock, mtime) });
    const events = requestEvents(env, ctx, bucket);
    const stored = await env.meta.putObject(ctx.bucket!, key, record, inSameBucket(bucket, check), events?.created('s3:ObjectCreated:Put', key, record)).catch(metaError);
    // Committed: the data file is the object's now, whatever happens to the answer.
    const size = written.size;
    written = undefined;
    events?.wake();
    return {
      status: 200,
      // "For PutObject uploads, the checksum type is always FULL_OBJECT" (S3's PutObject ChecksumType):
      // a PUT's verified values carry no "-N".
      headers: { etag: quoteETag(etag), ...versionHeader(stored), ...sseResponseHeaders(enc?.record, encReq.kind === 'SSE-C' ? encReq.keyMd5 : undefined), ...checksumHeaders(checksums, true), ...expirationHeader(bucket.lifecycle, key, record) },
      bytesIn: size,
    };
  } catch (err) {
    await discardWritten(env, written);
    throw err;
  } finally {
    enc?.objectKey.fill(0);
  }
}

/** `x-amz-version-id` for a version a write created (none for the null version). */
export function versionHeader(rec: ObjectRecord): Record<string, string> {
  return rec.versionId === undefined ? {} : { 'x-amz-version-id': rec.versionId };
}

/** `x-amz-version-id` of a version read from a bucket that has (or had) versioning: `null` included. */
export function readVersionHeader(b: BucketRecord, rec: ObjectRecord): Record<string, string> {
  return b.versioning === undefined && rec.versionId === undefined ? {} : { 'x-amz-version-id': clientVersionId(rec) };
}

/** The headers S3 puts on an error about a delete marker. */
export function markerHeaders(marker: ObjectRecord): Record<string, string> {
  return { 'x-amz-delete-marker': 'true', 'x-amz-version-id': clientVersionId(marker) };
}

/** S3's 405 for a request aimed at a delete marker, with the marker's Last-Modified (GetObject and HeadObject document it). */
function markerNotAllowed(marker: ObjectRecord): S3Error {
  return new S3Error('MethodNotAllowed', undefined, { headers: { ...markerHeaders(marker), 'last-modified': httpDate(marker.mtime), allow: 'DELETE' }, fields: { ResourceType: 'DeleteMarker' } });
}

/**
 * The object a request names: the current version, or the one `versionId` names (`null` is the
 * null version). A key whose latest version is a delete marker is NoSuchKey with the marker's
 * headers (GET, HEAD), or MethodNotAllowed with `currentMarker: 'not-allowed'` (the tagging calls
 * and PutObjectAcl, as S3 answers them: LocalStack's AWS-checked recordings, moto, CloudServer); naming a delete
 * marker's version is MethodNotAllowed, as on S3.
 */
export function getRecord(env: OpsEnv, bucket: string | undefined, key: string, versionId?: string | null, currentMarker: 'not-found' | 'not-allowed' = 'not-found'): ObjectRecord {
  const b = requireBucket(env, bucket);
  if (versionId === undefined || versionId === null) {
    const rec = env.meta.getObject(bucket!, key);
    if (rec) return rec;
    const marker = b.versioning === undefined ? undefined : env.meta.latestDeleteMarker(bucket!, key);
    if (marker && currentMarker === 'not-allowed') throw markerNotAllowed(marker);
    // The key named (a copy's source names its own, not the request's).
    if (marker) throw new S3Error('NoSuchKey', undefined, { headers: markerHeaders(marker), fields: { Key: key } });
    throw new S3Error('NoSuchKey', undefined, { fields: { Key: key } });
  }
  const v = env.meta.getVersion(bucket!, key, versionId);
  if (!v) throw new S3Error('NoSuchVersion', undefined, { fields: { Key: key, VersionId: versionId } });
  if (v.record.deleteMarker) throw markerNotAllowed(v.record);
  return v.record;
}

/** Unseals the object key for a read; refuses SSE-C headers on objects that are not SSE-C. */
export async function readKey(env: OpsEnv, rec: ObjectRecord, headers: Readonly<Record<string, string>>, bucket: string, key: string, copySource = false): Promise<Buffer | undefined> {
  if (!rec.sse) {
    refuseCustomerKey(headers, copySource);
    return undefined;
  }
  return unsealForRead(env, rec.sse, headers, bucket, key, copySource);
}

/** A GET's or HEAD's partNumber, checked as S3 checks it (before the object is looked up). */
function partNumberOf(raw: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : 0;
  if (n < 1 || n > 10000) throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { fields: { ArgumentName: 'partNumber', ArgumentValue: raw } });
  return n;
}

/** Part number → its plaintext byte range within the object. */
export function partRange(rec: ObjectRecord, partNumber: string): { start: number; end: number; count: number } {
  const n = partNumberOf(partNumber);
  // As S3 answers it: how many parts there are, and which was asked for.
  const unsatisfiable = (): S3Error => new S3Error('InvalidPartNumber', undefined, { fields: { PartNumberRequested: String(n), ActualPartCount: String(rec.parts?.length ?? 1) } });
  if (!rec.parts) {
    if (n !== 1) throw unsatisfiable();
    return { start: 0, end: rec.size - 1, count: 1 };
  }
  // The Nth part of the object, whatever number it was uploaded as: S3 counts 1..PartsCount
  // (OpenStack Swift's AWS-checked tests; CloudServer's), so a client reading parts 1 to
  // x-amz-mp-parts-count gets them all when the upload skipped numbers.
  if (n > rec.parts.length) throw unsatisfiable();
  let start = 0;
  for (let i = 0; i < n - 1; i++) start += rec.parts[i]!.size;
  return { start, end: start + rec.parts[n - 1]!.size - 1, count: rec.parts.length };
}

/** The part whose bytes are exactly [start, end] (inclusive), if the range is one part's. */
function alignedPart(parts: readonly PartRecord[], start: number, end: number): PartRecord | undefined {
  let offset = 0;
  for (const p of parts) {
    if (offset > start) return undefined;
    if (offset === start && p.size === end - start + 1) return p;
    offset += p.size;
  }
  return undefined;
}

/** Objects with up to this many data files in the range read have them all opened up front. */
const OPEN_AHEAD_MAX = 4;

/** The data files a read checks to exist between two turns of the event loop (openFiles). */
export const CHECKS_PER_TURN = 500;

/** The data files a read of [start, start+length) of the object reads, in order. */
function filesInRange(rec: ReadableObject, start: number, length: number): string[] {
  if (!rec.parts) return filesOf(rec);
  return [...partsInRange(rec.parts, start, length)].flatMap(({ part }) => ('file' in part.data ? [part.data.file] : []));
}

/** The data files a read holds: those open so far (the rest are opened as the read reaches them). */
export interface ReadFiles {
  handles: Map<string, DataFile>;
  release(): void;
}

/**
 * Claims the data files a read of [start, start+length) needs, so a later overwrite cannot pull
 * them away: pinned against the reaper, and checked to exist (ENOENT when the record read was
 * already stale). A few files are opened now; an object of many parts has each opened when the
 * read reaches it, so a GET of a 10,000-part object holds one descriptor, not 10,000. Those are
 * checked CHECKS_PER_TURN to a turn of the event loop: the 10,000 files of a whole GET or copy of
 * such an object, checked in one go, held it ~55-70 ms of CPU (~100-170 ms on a loaded VM).
 */
export async function openFiles(env: OpsEnv, rec: ReadableObject, start: number, length: number): Promise<ReadFiles> {
  const ids = filesInRange(rec, start, length);
  const release = env.files.pin(ids);
  const handles = new Map<string, DataFile>();
  try {
    if (ids.length <= OPEN_AHEAD_MAX) for (const f of ids) handles.set(f, env.files.open(f));
    else {
      for (let i = 0; i < ids.length; i++) {
        if (i > 0 && i % CHECKS_PER_TURN === 0) await nextTurn();
        env.files.mustExist(ids[i]!);
      }
    }
  } catch (err) {
    closeFiles({ handles, release });
    throw err;
  }
  return { handles, release };
}

export function closeFiles(files: ReadFiles): void {
  for (const h of files.handles.values()) h.close();
  files.release();
}

/** An iterable whose cleanup also runs when the consumer gives up before the first chunk. */
export function withCleanup(source: AsyncGenerator<Buffer>, cleanup: () => Promise<void>): AsyncIterable<Buffer> {
  let cleaned = false;
  const clean = async (): Promise<void> => {
    if (!cleaned) {
      cleaned = true;
      await cleanup();
    }
  };
  return {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        try {
          const r = await source.next();
          if (r.done) await clean();
          return r;
        } catch (err) {
          await clean();
          throw err;
        }
      },
      return: async () => {
        await source.return(undefined);
        await clean();
        return { done: true, value: undefined };
      },
    }),
  };
}

/**
 * The record a request on the object `key` (GET, HEAD, and the sub-resources: attributes, tagging,
 * ACL, retention, legal hold) reads, by the request's `versionId`; `where` names another (a
 * copy's source, judged by the right to list its own bucket). A missing key or version is
 * 403 AccessDenied, as on S3, to a requester who may not list the bucket (an anonymous reader under
 * a GetObject-only policy, a user limited to a prefix): NoSuchKey or NoSuchVersion would tell them
 * which keys exist.
 */
export function readableRecord(
  env: OpsEnv,
  ctx: RequestContext,
  key: string = ctx.key!,
  where: { bucket: string | undefined; versionId: string | null | undefined } = { bucket: ctx.bucket, versionId: ctx.query.get('versionId') },
  currentMarker: 'not-found' | 'not-allowed' = 'not-found',
): ObjectRecord {
  try {
    return getRecord(env, where.bucket, key, where.versionId, currentMarker);
  } catch (err) {
    // A current delete marker's 405 tells as much as a 404 would.
    const missing = isS3Error(err) && (err.code === 'NoSuchKey' || err.code === 'NoSuchVersion' || (err.code === 'MethodNotAllowed' && (where.versionId ?? null) === null));
    if (missing && !mayList(env, { ...ctx, bucket: where.bucket })) throw new S3Error('AccessDenied');
    throw err;
  }
}

/** How many times a read (GET, or a copy's source: copy.ts) looks its object up, each record replaced and reaped before its files were claimed, before 503 SlowDown. */
export const READ_LOOKUPS = 4;

/**
 * Whether the object a read looked up (`rec`) still names the same data files: false once it was
 * replaced or deleted (then looked up again, the read answers as a fresh request would).
 */
export function stillNames(
  env: OpsEnv,
  ctx: RequestContext,
  key: string,
  rec: ObjectRecord,
  where: { bucket: string | undefined; versionId: string | null | undefined } = { bucket: ctx.bucket, versionId: ctx.query.get('versionId') },
): boolean {
  try {
    return filesOf(readableRecord(env, ctx, key, where)).join() === filesOf(rec).join();
  } catch {
    return false;
  }
}

async function getOrHead(env: OpsEnv, ctx: RequestContext, head: boolean): Promise<Result> {
  const key = ctx.key!;
  rejectSseOnRead(ctx.headers);
  // As on S3: response-* overrides need a signed request. Anonymously, anyone could make a public
  // object come back as text/html from this origin (stored XSS).
  if (ctx.accessKey === '' && OVERRIDE_PARAMS.some((p) => ctx.query.has(p))) {
    throw new S3Error('InvalidRequest', 'Request specific response headers cannot be used for anonymous GET requests.');
  }
  // The request's own arguments before the object: a bad one is 400 whether or not it exists.
  for (const [name, value] of ctx.query) {
    if (name.startsWith('response-') && !OVERRIDE_PARAMS.includes(name)) {
      throw new S3Error('InvalidArgument', `${name} is not in the set of overridable response headers. Please refer to the S3 API documentation for a complete list of overridable response headers.`, { fields: { ArgumentName: name, ArgumentValue: value } });
    }
  }
  const latin1 = latin1Overrides(ctx.query);
  const latin1Headers = latin1.length > 0 ? { latin1Headers: latin1 } : {};
  const askedPart = ctx.query.get('partNumber');
  // The clash first, as S3 answers it, then the number.
  if (askedPart !== null && rangeSent(ctx.headers.range)) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  if (askedPart !== null) partNumberOf(askedPart);
  // A GET from data files takes a place among the requests moving data through files, and it
  // takes it before the record it reads is looked up for good: a wait can outlast the reaper's
  // grace for the file of an object replaced meanwhile. The place is the stream's once returned.
  let lease: DataLease | undefined;
  try {
    // A concurrent overwrite may delete the old file between the lookup and the open: look again.
    for (let attempt = 0; ; attempt++) {
      const rec = readableRecord(env, ctx, key);
      if (!head && lease === undefined && env.dataGate !== undefined && !isInline(rec)) {
        lease = env.dataGate.lease();
        await lease.enter(ctx.signal);
        attempt--;
        continue;
      }
      // SSE-C: the customer key is checked first, HEAD included (as on S3). The KMS kinds are
      // unsealed only for a body: HEAD and a 304/412 answer from the record (ETag and sizes are
      // there) and cost no KMS call, so they work while the KMS is down.
      requireKmsReadSigV4(rec, ctx);
      const customerKey = rec.sse?.kind === 'SSE-C';
      let objectKey: Buffer | undefined;
      if (customerKey) objectKey = await readKey(env, rec, ctx.headers, ctx.bucket!, key);
      else refuseCustomerKey(ctx.headers);
      try {
        checkConditions(ctx.headers, rec, { query: ctx.query });
        const withChecksums = checksumModeEnabled(ctx.headers);
        // Heard once the read is answered: not for a refused range or part, nor twice when a
        // concurrent overwrite sends the loop round again.
        const accessed = (): void => objectAccessed(env, ctx, head ? 's3:ObjectAccessed:Head' : 's3:ObjectAccessed:Get', key, rec);
        const b = env.meta.getBucket(ctx.bucket!)!;
        // Added to objectResponseHeaders' own fresh object, not spread into another: four spreads
        // in one literal took V8's slow path on every GET and HEAD (~0.6 µs). Same keys, same order.
        const headers = Object.assign(objectResponseHeaders(rec, ctx.query), readVersionHeader(b, rec), lockHeaders(rec), sseResponseHeaders(rec.sse, customerKeyMd5(ctx.headers)), b.lifecycle === undefined ? undefined : expirationHeader(b.lifecycle, key, rec, ctx.query.get('versionId') === null));
        // The tag count only to a requester who may read the tags, the lock's mode and date only to
        // one who may read the retention, the legal hold likewise: as S3 sends them.
        const lockMode = headers['x-amz-object-lock-mode'] !== undefined;
        const legalHold = headers['x-amz-object-lock-legal-hold'] !== undefined;
        if (headers['x-amz-tagging-count'] !== undefined || lockMode || legalHold) {
          const may = requesterJudge(env, ctx);
          if (headers['x-amz-tagging-count'] !== undefined && !may(ctx.query.get('versionId') === null ? 's3:GetObjectTagging' : 's3:GetObjectVersionTagging', key, ctx.query.get('versionId') ?? undefined)) delete headers['x-amz-tagging-count'];
          if (lockMode && !may('s3:GetObjectRetention', key)) {
            delete headers['x-amz-object-lock-mode'];
            delete headers['x-amz-object-lock-retain-until-date'];
          }
          if (legalHold && !may('s3:GetObjectLegalHold', key)) delete headers['x-amz-object-lock-legal-hold'];
        }
        let start = 0;
        let end = rec.size - 1;
        let status = 200;
        const partNumber = ctx.query.get('partNumber');
        if (partNumber !== null) {
          if (rangeSent(ctx.headers.range)) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
          const pr = partRange(rec, partNumber);
          start = pr.start;
          end = pr.end;
          // A part is a range: 206 with its Content-Range (a single-part object has one part, the
          // whole object). The parts count only here, with partNumber, and only for multipart
          // objects: S3 documents PartsCount as "only returned if you specify partNumber".
          if (rec.parts) headers['x-amz-mp-parts-count'] = String(pr.count);
          // An empty part (or object) has no byte range to name: 200, as for an empty object
          // (`bytes 0--1/0` was sent, which Content-Range parsers read as garbage).
          if (end >= start) {
            status = 206;
            headers['content-range'] = `bytes ${start}-${end}/${rec.size}`;
          }
        } else {
          const range = ifRangeHolds(ctx.headers['if-range'], rec) ? parseRange(ctx.headers.range, rec.size) : undefined;
          if (range) {
            start = range.start;
            end = range.end;
            status = 206;
            headers['content-range'] = `bytes ${start}-${end}/${rec.size}`;
          }
        }
        const length = Math.max(0, end - start + 1);
        if (withChecksums) {
          // Checksums describe the whole object: a partial body must not claim them. A Range that
          // covers the whole object (`bytes=0-`, one past the end, a suffix as long) sends it
          // whole, and its checksums with it, as S3 does. A whole part of a multipart object has
          // a checksum of its own (its upload's algorithm), as on S3, asked for by partNumber or by
          // a Range that is exactly that part's bytes ("a part number or byte range that aligns
          // with a single part", S3's user guide): the aws CLI's and boto3's ranged downloads of
          // an object they uploaded use the same part size and validate each range against it.
          const wholeRange = partNumber === null && start === 0 && end === rec.size - 1;
          const partial = (status === 206 && !wholeRange) || (partNumber !== null && rec.parts !== undefined);
          const part = !partial || rec.parts === undefined ? undefined : partNumber !== null ? rec.parts[Number(partNumber) - 1] : alignedPart(rec.parts, start, end);
          // A part of a COMPOSITE object: its own checksum, typed COMPOSITE, as S3 answers it. A
          // part of a FULL_OBJECT object: none (S3 shows none: the parts' CRCs are not the
          // object's), unless it is the whole object, which shows the object's own. A part of an
          // object without a checksum (its upload created without an algorithm) shows none either,
          // though it may have one: the SDKs send a CRC32 with every part by default.
          const objectType = part !== undefined ? Object.values(checksumTypes(rec))[0] : undefined;
          const whole = !partial || (objectType === 'FULL_OBJECT' && rec.parts?.length === 1);
          const shown = whole ? rec : objectType === 'COMPOSITE' ? part : undefined;
          // Sealed under the object's key: showing them costs an SSE-S3/SSE-KMS object the unseal
          // of its key (through the KMS and its caches), HEAD included, and fails as a GET does
          // while the KMS is unusable. Nothing is unsealed for checksums the answer does not show.
          if (shown?.sealedChecksums !== undefined && objectKey === undefined && rec.sse) objectKey = await readKey(env, rec, ctx.headers, ctx.bucket!, key);
          if (whole) Object.assign(headers, checksumHeaders(openChecksums(rec, objectKey), true));
          else if (shown !== undefined && part !== undefined) {
            Object.assign(headers, checksumHeaders(openPartChecksums(part, objectKey)), { 'x-amz-checksum-type': 'COMPOSITE' });
          }
        }
        if (head) {
          objectKey?.fill(0);
          accessed();
          return { status, headers, headLength: length, ...latin1Headers };
        }
        if (objectKey === undefined && rec.sse) objectKey = await readKey(env, rec, ctx.headers, ctx.bucket!, key);
        const inline = readInlineSync(rec, objectKey, start, length);
        if (inline) {
          objectKey?.fill(0);
          lease?.leave();
          accessed();
          return { status, headers, body: inline, ...latin1Headers };
        }
        const data = dataEnv(env, lease);
        let files: ReadFiles;
        try {
          files = await openFiles(env, rec, start, length);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          // Found unchanged, the record names data that is gone: lost, an internal error (logged),
          // never a retryable answer. Else replaced or deleted since, and its old file reaped.
          if (stillNames(env, ctx, key, rec)) throw new S3Error('InternalError', `The data of /${ctx.bucket!}/${key} is missing.`, { cause: err });
          objectKey?.fill(0);
          if (attempt + 1 < READ_LOOKUPS) continue;
          // Overwritten again before each lookup could claim its files: a busy key, not a fault.
          // 503 SlowDown, as a copy answers it, which the SDKs retry (500 was logged as an error).
          // A key (or version) deleted by then answers as a fresh request would: 404.
          readableRecord(env, ctx, key);
          throw new S3Error('SlowDown', 'The object was replaced again and again during the read; please retry.');
        }
        // The response writer is done with each chunk before it asks for the next: lend buffers.
        const read = (offset: number, slow: boolean): AsyncGenerator<Buffer> =>
          readData({ ...data, handles: files.handles, lend: true, ...(slow ? { maxInFlight: 1 } : {}) }, rec, objectKey, start + offset, length - offset, ctx.signal);
        const cleanup = async (): Promise<void> => {
          objectKey?.fill(0);
          closeFiles(files);
          lease?.leave();
        };
        let body: StreamBody;
        if (lease !== undefined) {
          // A slow client's response gives its place back while it waits (ops/data-gate.ts).
          const chunks = parkable(lease, read, cleanup, ctx.signal);
          body = { length, chunks, park: (before) => chunks.park(before) };
        } else body = { length, chunks: withCleanup(read(0, false), cleanup) };
        accessed();
        return { status, headers, body, ...latin1Headers };
      } catch (err) {
        objectKey?.fill(0);
        throw err;
      }
    }
  } catch (err) {
    lease?.leave();
    throw err;
  }
}

export function handleGetObject(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  return getOrHead(env, ctx, false);
}

export function handleHeadObject(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  return getOrHead(env, ctx, true);
}

export async function handleDeleteObject(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  // MinIO's force delete removes everything under the key as a prefix: answering 204 after
  // deleting one key would say it was done.
  if (minioForceDelete(ctx.headers)) {
    throw new S3Error('NotImplemented', "MinIO's x-minio-force-delete (every object under a prefix) is not implemented: delete the objects with DeleteObjects.");
  }
  const b = requireBucket(env, ctx.bucket);
  refuseBypassWithoutLock(b, ctx.headers);
  const events = requestEvents(env, ctx, b);
  const hook = events?.deleted([ctx.key!]);
  const versionId = ctx.query.get('versionId') ?? undefined;
  const bypass = versionId !== undefined && bypassGovernance(env, ctx, ctx.key!);
  const cond = deleteConditions(ctx.headers);
  if (cond !== undefined && versionId !== undefined) refuseVersionCondition(ctx.headers);
  const check = cond === undefined ? undefined : (current: ObjectRecord | undefined) => deleteConditionFailure(cond, current);
  const r = await env.meta.deleteObject(ctx.bucket!, ctx.key!, hook && ((res) => hook([res])), versionId, bypass, check).catch(metaError);
  events?.wake();
  return { status: 204, headers: deleteHeaders(r, versionId) };
}

/**
 * A DeleteObject's conditions on the current version: If-Match, and the size and last-modified
 * time (x-amz-if-match-size, x-amz-if-match-last-modified-time; DeleteObjects has them per key),
 * which used to be ignored: the object was deleted whatever they said.
 */
function deleteConditions(headers: Readonly<Record<string, string>>): { ifMatch?: string; size?: number; lastModified?: number } | undefined {
  return parseDeleteConditions(
    { ifMatch: headers['if-match'], size: headers['x-amz-if-match-size'], lastModified: headers['x-amz-if-match-last-modified-time'] },
    (what) => new S3Error('InvalidArgument', what === 'size' ? 'x-amz-if-match-size must be a whole number of bytes.' : 'x-amz-if-match-last-modified-time must be a date.'),
  );
}

/**
 * A DeleteObject naming a version with a condition: S3 answers 501 NotImplemented, naming the
 * header, even for the current version and its own ETag (LocalStack's AWS-validated recording,
 * issue 13894). The conditions judge the key's current version; taken with a version id they
 * removed the version named, which they had said nothing about.
 */
function refuseVersionCondition(headers: Readonly<Record<string, string>>): never {
  const header = headers['if-match'] !== undefined ? 'If-Match' : headers['x-amz-if-match-size'] !== undefined ? 'x-amz-if-match-size' : 'x-amz-if-match-last-modified-time';
  throw new S3Error('NotImplemented', 'A header you provided implies functionality that is not implemented', { fields: { Header: header } });
}

/** What a delete answers: the marker it created, or the version it removed by id. */
export function deleteHeaders(r: VersionedDelete, versionId: string | undefined): Record<string, string> {
  if (r.marker) return markerHeaders(r.marker);
  if (versionId === undefined) return {};
  return { 'x-amz-version-id': versionId, ...(r.removed?.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}) };
}
