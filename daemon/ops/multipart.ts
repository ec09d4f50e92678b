// Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort and ListParts
// (ListMultipartUploads: multipart-list.ts). The object key is generated and sealed once at Create; each part is its
// own DARE stream under its part key. Complete is one atomic, durable LMDB commit.
// Flexible checksums of uploads and parts: multipart-checksums.ts; the CompleteMultipartUpload
// document's reading: multipart-complete-body.ts.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { createHash, type Hash } from 'node:crypto';
import { secureRandom } from '../../workers/format/random.js';
import { checksumHasher, type ChecksumAlgorithm } from '../auth/payload.js';
import { S3Error, isS3Error } from '../errors.js';
import { DEFAULT_CHECKSUM, checksumElements, checksumHeaders, digestBase64, hashing } from './checksums.js';
import { PARTS_PER_TURN, defaultObjectChecksum, expectedObjectChecksum, hasDefaultChecksums, listedDefault, objectChecksum, partDefault, partChecksum, requestedChecksum, sameObjectChecksum, uploadChecksum, uploadChecksumElements, type UploadChecksum } from './multipart-checksums.js';
import { bucketFromHost } from '../http/router.js';
import { RECORD_VERSION, type BucketRecord, type ObjectRecord, type PartRecord, type SseRecord, type UploadRecord } from '../meta/records.js';
import { abortHeaders, expirationHeader } from './lifecycle.js';
import { clientETag, createObjectEncryption, sseResponseHeaders, unsealCustomer, unsealForRead, type ObjectEncryption } from '../sse/object-encryption.js';
import { derivePartKey } from '../sse/object-key.js';
import { checksumFields, openChecksums, openPartChecksums, partChecksumFields, sealedPart, type Checksums } from '../sse/checksums.js';
import { blocksSseC, customerKeyMd5, encryptionChoiceHeader, parseCustomerKey, restatesEncryption } from '../sse/params.js';
import { MAX_COPY_SOURCE, checkCopySourceKey, copySourceTooLarge, loadCopySource, readCopySource, withDataPlace } from './copy.js';
import type { DataLease } from './data-gate.js';
import { MetaConflict } from '../meta/store.js';
import { metaError, requireBucket, requireSameBucket, type OpsEnv } from './env.js';
import { writeData, type WrittenData } from './object-data.js';
import { tagsField, tagsFromHeader } from './tagging.js';
import { requestEvents } from './notification.js';
import { collectStoredHeaders, collectUserMeta, parseCopySourceRange, quoteETag, writeConditions } from './object-headers.js';
import { writeXml } from './xml-writer.js';
import { completedLock, lockFields, lockFromHeaders, requireLockedBodyChecksum } from './object-lock.js';
import { MAX_OBJECT_SIZE, contentMd5, dataEnv, declaredLength, discardWritten, needsMd5, sseCBlocked, versionHeader, writeEncryption } from './object.js';
import { sseRequestedField } from './condition-keys.js';
import { intParam, refuseNonInteger } from './query.js';
import type { RequestContext, Result } from './types.js';
import { toXml, type XmlObject } from './xml.js';
import { MAX_PARTS, parseCompleteBody, type RequestedPart } from './multipart-complete-body.js';
import { isoDate, parseDateText } from '../dates.js';

const XML = { 'content-type': 'application/xml' };
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_SIZE = 5 * 1024 ** 3;

/** A part over 5 GiB: S3's EntityTooLarge, naming the size. */
function partTooLarge(size: number): S3Error {
  return new S3Error('EntityTooLarge', undefined, { fields: { ProposedSize: String(size), MaxSizeAllowed: String(MAX_PART_SIZE) } });
}

/** Every object and upload belongs to the one user, the root user (whoever lists them: an
 *  anonymous request admitted by a bucket policy has no identity of its own). */
export function owner(env: OpsEnv): XmlObject {
  return { ID: env.config.rootUser, DisplayName: env.config.rootUser };
}

/**
 * The request's upload. `writes` (a part, a completion): an SSE-C upload started before its bucket
 * blocked SSE-C is 403, as S3 refuses multipart requests that specify SSE-C in such a bucket, so
 * no new SSE-C object appears; aborting it stays allowed.
 */
function loadUpload(env: OpsEnv, ctx: RequestContext, writes = false): UploadRecord {
  requireBucket(env, ctx.bucket);
  const id = ctx.query.get('uploadId') ?? '';
  // An id longer than s3d's names no upload and is not looked up (MetaStore.getUpload).
  const up = id === '' ? undefined : env.meta.getUpload(id);
  if (!up || up.bucket !== ctx.bucket || up.key !== ctx.key) throw new S3Error('NoSuchUpload');
  if (writes && up.sse?.kind === 'SSE-C' && blocksSseC(env.meta.getBucket(up.bucket)?.encryption)) throw sseCBlocked();
  return up;
}

function partNumber(ctx: RequestContext): number {
  const raw = ctx.query.get('partNumber') ?? '';
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PARTS) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { fields: { ArgumentName: 'partNumber', ArgumentValue: raw } });
  }
  return Number(raw);
}

/**
 * The object key of an upload, for sealing a part. SSE-C parts must repeat the customer key.
 * `thenCheck` (UploadPartCopy's source key) runs once the request's own key headers passed, before
 * the KMS is asked for the upload's key.
 */
async function uploadObjectKey(env: OpsEnv, ctx: RequestContext, up: UploadRecord, thenCheck?: () => void): Promise<Buffer | undefined> {
  const ck = parseCustomerKey(ctx.headers);
  try {
    if (!up.sse) {
      if (ck) throw new S3Error('InvalidRequest', 'The upload was initiated without encryption: SSE-C headers are not applicable.');
      thenCheck?.();
      return undefined;
    }
    if (up.sse.kind === 'SSE-C') {
      if (!ck) throw new S3Error('InvalidRequest', 'The multipart upload was initiated with SSE-C: every part must carry the same customer key.');
      const key = unsealCustomer(up.sse, ck, up.bucket, up.key, 'upload');
      try {
        thenCheck?.();
      } catch (err) {
        key.fill(0);
        throw err;
      }
      return key;
    }
    if (ck) throw new S3Error('InvalidRequest', 'SSE-C headers are not applicable to an upload encrypted with SSE-S3 or SSE-KMS.');
    thenCheck?.();
    return await unsealForRead(env, up.sse, {}, up.bucket, up.key);
  } finally {
    ck?.key.fill(0);
  }
}

/** What an s3d upload id looks like (newUploadId's; the 32 base64url characters of older versions). */
export const UPLOAD_ID_SHAPE = /^[A-Za-z0-9_-]{32,36}$/;

/**
 * A new upload id: the initiation time (12 hex digits) and 18 random bytes. Ids of one key then
 * sort as the uploads do (by initiation), so an upload-id-marker keeps its place in a listing
 * after that upload was aborted or completed: a client aborting what it lists page by page
 * would otherwise skip the key's later uploads.
 */
function newUploadId(initiated: number): string {
  return initiated.toString(16).padStart(12, '0') + secureRandom(18).toString('base64url');
}

/**
 * The arguments of a CreateMultipartUpload, each checked: the parts of its record that come from
 * the request's headers (and a presigned URL's query).
 */
function uploadArguments(bucket: BucketRecord, ctx: RequestContext): { checksum: UploadChecksum | undefined; fields: Partial<UploadRecord> & Pick<UploadRecord, 'headers' | 'userMeta'> } {
  const checksum = requestedChecksum(ctx.headers);
  const tags = tagsFromHeader(ctx.headers, ctx.query);
  const headers = collectStoredHeaders(ctx.headers, ctx.query);
  const userMeta = collectUserMeta(ctx.headers, ctx.query);
  // Explicit Object Lock settings are kept with the upload; the bucket's default applies at completion.
  const lock = lockFromHeaders(bucket, ctx.headers, ctx.query, Date.now(), false);
  return {
    checksum,
    fields: {
      headers,
      userMeta,
      ...sseRequestedField(ctx.headers),
      ...(checksum ? { checksumAlgorithm: checksum.algorithm, checksumType: checksum.type } : {}),
      ...tagsField(tags),
      ...lockFields(lock),
    },
  };
}

export async function handleCreateMultipartUpload(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const bucket = requireBucket(env, ctx.bucket);
  const encReq = writeEncryption(env, ctx, bucket.encryption);
  let args: ReturnType<typeof uploadArguments>;
  let enc: ObjectEncryption | undefined;
  try {
    // Every argument is checked before the data key is made (as PutObject checks them): a request
    // that can never succeed costs no KMS call, and is answered its 400, not a 503, while the KMS
    // is down (a client retries a 503).
    args = uploadArguments(bucket, ctx);
    enc = encReq.kind === 'none' ? undefined : await createObjectEncryption(env, encReq, ctx.bucket!, ctx.key!);
  } finally {
    if (encReq.kind === 'SSE-C') encReq.key.fill(0);
  }
  enc?.objectKey.fill(0);
  const { checksum, fields } = args;
  const initiated = Date.now();
  const upload: UploadRecord = {
    v: RECORD_VERSION,
    id: newUploadId(initiated),
    bucket: ctx.bucket!,
    key: ctx.key!,
    initiated,
    ...fields,
    ...(enc ? { sse: enc.record } : {}),
  };
  // In the bucket the request saw: one created again under its name meanwhile is another.
  await env.meta.createUpload(upload, (b) => requireSameBucket(bucket, b)).catch(metaError);
  return {
    status: 200,
    headers: {
      ...XML,
      ...sseResponseHeaders(upload.sse, encReq.kind === 'SSE-C' ? encReq.keyMd5 : undefined),
      ...abortHeaders(bucket.lifecycle, upload),
      ...(checksum ? { 'x-amz-checksum-algorithm': checksum.algorithm, 'x-amz-checksum-type': checksum.type } : {}),
    },
    body: toXml('InitiateMultipartUploadResult', { Bucket: upload.bucket, Key: upload.key, UploadId: upload.id }),
  };
}

/** A part's checksums (the client's, or computed for the upload's algorithm), and S3's hidden default (PartRecord.defaultChecksum). */
interface PartSums {
  checksums: Checksums;
  defaultChecksum?: Checksums;
}

async function storePart(
  env: OpsEnv,
  ctx: RequestContext,
  up: UploadRecord,
  n: number,
  source: AsyncIterable<Buffer>,
  length: number | undefined,
  objectKey: Buffer | undefined,
  checksums: () => PartSums | Promise<PartSums>,
  knownMd5?: Buffer,
  lease?: DataLease,
): Promise<{ part: PartRecord } & PartSums> {
  const partKey = objectKey ? derivePartKey(objectKey, n) : undefined;
  const kind = up.sse?.kind ?? 'none';
  let written: WrittenData | undefined;
  try {
    written = await writeData(dataEnv(env, lease), source, {
      key: partKey,
      md5: needsMd5(kind) && !knownMd5,
      declaredLength: length,
      signal: ctx.signal,
      limit: { maxBytes: MAX_PART_SIZE, tooLarge: partTooLarge },
    });
    if (length !== undefined && written.size !== length) throw new S3Error('IncompleteBody');
    const etag = clientETag(kind, knownMd5 ?? written.md5, partKey);
    const { checksums: sums, defaultChecksum } = await checksums();
    const part: PartRecord = {
      v: RECORD_VERSION,
      n,
      size: written.size,
      stored: written.stored,
      etag,
      data: written.data,
      mtime: Date.now(),
      // An encrypted part's checksums are sealed under its part key, and so is S3's default.
      ...partChecksumFields(sums, objectKey, n),
      ...(defaultChecksum !== undefined ? { defaultChecksum: partChecksumFields(defaultChecksum, objectKey, n) } : {}),
    };
    await env.meta.putPart(up.id, part).catch(metaError);
    // Committed: the data file is the part's now.
    written = undefined;
    return { part, checksums: sums, ...(defaultChecksum !== undefined ? { defaultChecksum } : {}) };
  } catch (err) {
    await discardWritten(env, written);
    throw err;
  } finally {
    partKey?.fill(0);
  }
}

/**
 * Encryption is chosen when the upload is created: S3 refuses it on a part or the completion (it
 * used to be accepted, and the object stored as the upload was, unencrypted). SSE-C's key headers
 * are another matter: they must come with every part of an SSE-C upload.
 */
function refuseEncryptionChoice(headers: Readonly<Record<string, string>>): void {
  const h = encryptionChoiceHeader(headers);
  // S3's answer (as fog-aws recorded it for UploadPartCopy), with the argument named.
  if (h !== undefined) throw new S3Error('InvalidArgument', `${h} header is not supported for this operation.`, { fields: { ArgumentName: h, ArgumentValue: headers[h]! } });
}

/**
 * The completion's: SSE-S3/SSE-KMS headers that only restate the upload's own encryption are taken,
 * as MinIO takes them (minio-go sends them there, and mc's and minio-go's SSE uploads failed on
 * the completion with InvalidArgument); headers asking for anything else are refused as on a part.
 */
function refuseOtherEncryption(headers: Readonly<Record<string, string>>, sse: SseRecord | undefined): void {
  if (encryptionChoiceHeader(headers) !== undefined && restatesEncryption(headers, sse)) return;
  refuseEncryptionChoice(headers);
}

export async function handleUploadPart(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  refuseEncryptionChoice(ctx.headers);
  const n = partNumber(ctx);
  const up = loadUpload(env, ctx, true);
  const length = declaredLength(ctx);
  // As PutObject: neither header means no body, not an empty part (S3 answers 411).
  if (length === undefined && ctx.headers['transfer-encoding'] === undefined) throw new S3Error('MissingContentLength');
  if (length !== undefined && length > MAX_PART_SIZE) throw partTooLarge(length);
  // The upload's own lock settings, else the bucket's default retention (which the completed
  // object will take), as S3 judges a part.
  requireLockedBodyChecksum(completedLock(env.meta.getBucket(up.bucket), up, Date.now()), ctx.body, 'Put Part');
  const uc = uploadChecksum(up);
  const own = partChecksum(uc, ctx.headers);
  // The payload decoder hashes a part the client sent no checksum for with S3's default
  // (http/server.ts): that is the part's checksum when it is the upload's algorithm (not hashed
  // twice), nothing when the upload has another, S3's hidden default when it has none.
  const defaulted = ctx.body.defaultChecksum;
  const hasher = own !== undefined && defaulted === uc!.algorithm ? undefined : own;
  const objectKey = await uploadObjectKey(env, ctx, up);
  try {
    // A part of a checksummed upload the client sent no checksum for gets one computed here.
    const body = hasher ? hashing(ctx.body, hasher) : ctx.body;
    const sums = async (): Promise<PartSums> => {
      const { [defaulted ?? '']: dflt, ...verified } = ctx.body.verifiedChecksums();
      if (uc !== undefined) return { checksums: { ...verified, ...(hasher ? { [uc.algorithm]: await digestBase64(hasher) } : own ? { [uc.algorithm]: dflt! } : {}) } };
      return { checksums: verified, ...(dflt !== undefined ? { defaultChecksum: { [defaulted!]: dflt } } : {}) };
    };
    const { part, checksums, defaultChecksum } = await storePart(env, ctx, up, n, body, length, objectKey, sums, contentMd5(ctx));
    // S3's default is answered as a checksum of the part would be (versitygw #1547).
    return { status: 200, headers: { etag: quoteETag(part.etag), ...sseResponseHeaders(up.sse, customerKeyMd5(ctx.headers)), ...checksumHeaders({ ...checksums, ...defaultChecksum }) }, bytesIn: part.size };
  } finally {
    objectKey?.fill(0);
  }
}

/**
 * Headers UploadPartCopy refuses, as S3 answers them (400 InvalidArgument naming the header).
 * x-amz-metadata-directive: a part has no metadata of its own (the upload's was given at its
 * creation; bji/libs3#80); accepted, a client asking for REPLACE was told its metadata was taken
 * when none was. Content-MD5: there is no body for it to describe, and S3 refuses it (AWS.jl#695;
 * aws-c-s3#173 stopped sending it); ignored, a client that meant it for the copied bytes was told
 * they matched when nothing had checked them. The empty body's MD5 is accepted, though S3 refuses
 * it too: it describes the request truly, and minio-java sends it with every PUT that has no body
 * (its composeObject and copies past 5 GiB are UploadPartCopy requests).
 */
function refusePartCopyHeaders(headers: Readonly<Record<string, string>>): void {
  for (const [name, shown] of [['x-amz-metadata-directive', 'x-amz-metadata-directive'], ['content-md5', 'Content-MD5']] as const) {
    const v = headers[name];
    if (v === undefined || (name === 'content-md5' && v.trim() === EMPTY_BODY_MD5)) continue;
    throw new S3Error('InvalidArgument', 'The specified header is not valid in this context', { fields: { ArgumentName: shown, ArgumentValue: v } });
  }
}

/** Content-MD5 of an empty body. */
const EMPTY_BODY_MD5 = '1B2M2Y8AsgTpgAmY7PhCfg==';

export async function handleUploadPartCopy(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  // Its own arguments and upload judged before it waits for a place (and again once it has one),
  // as a copy's (copy.ts handleCopyObject): no 503 SlowDown for a request that can never succeed.
  partCopyArguments(env, ctx);
  return await withDataPlace(env, ctx, (lease) => uploadPartCopy(env, ctx, lease));
}

/** What UploadPartCopy checks before it looks its source up: the part number, its headers, the upload. */
function partCopyArguments(env: OpsEnv, ctx: RequestContext): { n: number; up: UploadRecord } {
  const n = partNumber(ctx);
  refusePartCopyHeaders(ctx.headers);
  const up = loadUpload(env, ctx, true);
  // The part follows the upload's encryption, as UploadPart's does.
  refuseEncryptionChoice(ctx.headers);
  return { n, up };
}

async function uploadPartCopy(env: OpsEnv, ctx: RequestContext, lease: DataLease | undefined): Promise<Result> {
  const { n, up } = partCopyArguments(env, ctx);
  const src = loadCopySource(env, ctx);
  let start = 0;
  let end = src.record.size - 1;
  const rangeHeader = ctx.headers['x-amz-copy-source-range'];
  if (rangeHeader !== undefined) ({ start, end } = parseCopySourceRange(rangeHeader, src.record.size));
  // Refused before a byte is read (not after copying 5 GiB to find the part too large).
  if (rangeHeader === undefined && src.record.size > MAX_COPY_SOURCE) throw copySourceTooLarge();
  const length = Math.max(0, end - start + 1);
  if (length > MAX_PART_SIZE) throw partTooLarge(length);
  const uc = uploadChecksum(up);
  // The source's key headers too, before the upload's key is unsealed (a KMS call).
  const objectKey = await uploadObjectKey(env, ctx, up, () => checkCopySourceKey(ctx, src));
  let source: Awaited<ReturnType<typeof readCopySource>> | undefined;
  try {
    source = await readCopySource(env, ctx, src, start, length, lease);
    // The copied bytes are checksummed as they are stored, for the upload's algorithm; without one,
    // with S3's default, kept for the completion's answer but not answered here (S3 answers it in
    // no CopyPartResult: CloudServer #6188's table of UploadPartCopy checksums, "default: no
    // (stored only)").
    const hasher = checksumHasher(uc?.algorithm ?? DEFAULT_CHECKSUM);
    const chunks = hashing(source.chunks, hasher);
    const sums = async (): Promise<PartSums> => (uc ? { checksums: { [uc.algorithm]: await digestBase64(hasher) } } : { checksums: {}, defaultChecksum: { [DEFAULT_CHECKSUM]: await digestBase64(hasher) } });
    const { part, checksums } = await storePart(env, ctx, up, n, chunks, length, objectKey, sums, source.md5, lease);
    return {
      status: 200,
      headers: { ...XML, ...src.versionHeaders, ...sseResponseHeaders(up.sse, customerKeyMd5(ctx.headers)) },
      body: toXml('CopyPartResult', { LastModified: isoDate(part.mtime), ETag: quoteETag(part.etag), ...checksumElements(checksums) }),
    };
  } finally {
    await source?.wipe();
    objectKey?.fill(0);
  }
}

/**
 * A part the commit found replaced since it was checked (MetaConflict InvalidPart naming it): the
 * same InvalidPart the check answers, naming the part as listed; any other error as it is.
 */
export function partConflict(err: unknown, requested: readonly RequestedPart[], uploadId: string): unknown {
  if (!(err instanceof MetaConflict) || err.code !== 'InvalidPart' || err.part === undefined) return err;
  const r = requested.find((x) => x.n === err.part);
  return r === undefined ? err : invalidPart(r, uploadId);
}

/** S3's InvalidPart, naming the part as listed (its ETag unquoted) and the upload. */
function invalidPart(r: RequestedPart, uploadId: string): S3Error {
  return new S3Error('InvalidPart', undefined, { fields: { ETag: r.etag.replace(/^"|"$/g, ''), PartNumber: String(r.n), UploadId: uploadId } });
}

/** S3's multipart ETag: MD5 of the concatenated binary part ETags, then "-N". */
export function multipartETag(etags: string[]): string {
  const h = createHash('md5');
  for (const e of etags) addPartETag(h, e);
  return partsETag(h, etags.length);
}

/** A part's ETag into a multipart ETag's hash (completedParts adds them a slice at a time). */
function addPartETag(h: Hash, etag: string): void {
  h.update(Buffer.from(etag, 'hex'));
}

function partsETag(h: Hash, count: number): string {
  return `${h.digest('hex')}-${count}`;
}

/** A body error that says the bytes are not the ones the client signed or digested. */
const BODY_INTEGRITY_ERRORS = new Set(['XAmzContentSHA256Mismatch', 'BadDigest', 'SignatureDoesNotMatch']);

export async function handleCompleteMultipartUpload(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  // The body is read before the upload is looked up: S3 checks it against its signed SHA-256 (or
  // digest) first, so a mismatch is 400 XAmzContentSHA256Mismatch even for an upload ID that names
  // nothing (CloudServer's xAmzContentSha256Mismatch test, which passes against AWS). Its other
  // faults (too long, malformed) still come where they did, after the upload's.
  const raw = ctx.body.readAll(4 * 1024 * 1024);
  const integrity = await raw.then(
    () => undefined,
    (err: unknown) => (isS3Error(err) && BODY_INTEGRITY_ERRORS.has(err.code) ? err : undefined),
  );
  if (integrity !== undefined) throw integrity;
  // The part list, parsed once: by the completion, or by the retry check when the upload is gone.
  let body: Promise<RequestedPart[]> | undefined;
  const requested = (): Promise<RequestedPart[]> => (body ??= raw.then(parseCompleteBody));
  try {
    return await completeUpload(env, ctx, requested);
  } catch (err) {
    // A retry of a Complete that went through (its answer lost on the way), or one that lost the
    // race to the commit: S3 answers it as the completion it repeats.
    if (isS3Error(err) && err.code === 'NoSuchUpload') {
      const done = await completedBefore(env, ctx, requested);
      if (done !== undefined) return done;
    }
    throw err;
  }
}

async function completeUpload(env: OpsEnv, ctx: RequestContext, readRequested: () => Promise<RequestedPart[]>): Promise<Result> {
  const objectSize = ctx.headers['x-amz-mp-object-size'];
  if (objectSize !== undefined && /^-\d+$/.test(objectSize.trim())) throw new S3Error('InvalidRequest', `Value for x-amz-mp-object-size header is less than zero: '${objectSize.trim()}'`);
  if (objectSize !== undefined && !/^\d{1,16}$/.test(objectSize.trim())) throw new S3Error('InvalidArgument', 'x-amz-mp-object-size must be a whole number of bytes.');
  const up = loadUpload(env, ctx, true);
  refuseOtherEncryption(ctx.headers, up.sse);
  const uc = uploadChecksum(up);
  const expected = expectedObjectChecksum(uc, ctx.headers);
  const check = writeConditions(ctx.headers);
  check?.(env.meta.getObject(up.bucket, up.key));
  const requested = await readRequested();
  // Read a slice at a time, with the bytes the commit checks them by (MetaStore.partsOfUpload).
  const read = await env.meta.partsOfUpload(up.id);
  // Aborted (or its bucket deleted) while the part list arrived or its parts were read:
  // NoSuchUpload, not its parts missing.
  if (env.meta.getUpload(up.id) === undefined) throw new S3Error('NoSuchUpload', undefined, { fields: { UploadId: up.id } });
  // The stored parts by number, and below each listed part checked against its stored one,
  // PARTS_PER_TURN to a turn of the event loop: 10,000 of each held it ~10 ms in one go.
  const stored = new Map<number, PartRecord>();
  for (const [i, p] of read.parts.entries()) {
    if (i > 0 && i % PARTS_PER_TURN === 0) await nextTurn();
    stored.set(p.n, p);
  }
  // The part list first: no key is looked at for a list that names parts out of order or not there.
  // S3 checks the order of the whole list before it looks a part up, unless the upload has no
  // part at all (then any list is InvalidPart): the Ozone smoketests' run against AWS (2020)
  // recorded parts 4 (never uploaded) then 2 as InvalidPartOrder, and 2 then 1 of an upload
  // without parts as InvalidPart.
  if (read.parts.length > 0) {
    for (let i = 1; i < requested.length; i++) {
      if (requested[i]!.n <= requested[i - 1]!.n) throw new S3Error('InvalidPartOrder', undefined, { fields: { UploadId: up.id } });
    }
  }
  const listed: PartRecord[] = [];
  let prev = 0;
  for (const [i, r] of requested.entries()) {
    if (i > 0 && i % PARTS_PER_TURN === 0) await nextTurn();
    if (r.n <= prev) throw new S3Error('InvalidPartOrder', undefined, { fields: { UploadId: up.id } });
    prev = r.n;
    const p = stored.get(r.n);
    if (!p || p.etag !== r.etag) throw invalidPart(r, up.id);
    if (r.foreign !== undefined) throw invalidPart(r, up.id);
    // A COMPOSITE checksum is formed of the part checksums the client lists: S3 requires each. A
    // checksum of another algorithm is one S3 did not receive (OpenStack Swift's
    // test_mpu_complete_mixed_checksums, run against AWS).
    const other = uc?.type === 'COMPOSITE' ? (Object.keys(r.checksums) as ChecksumAlgorithm[]).find((a) => a !== uc.algorithm) : undefined;
    if (other !== undefined) throw new S3Error('BadDigest', `The ${other.toLowerCase()} you specified for part ${r.n} did not match what we received.`);
    if (uc?.type === 'COMPOSITE' && r.checksums[uc.algorithm] === undefined) {
      throw new S3Error('InvalidRequest', `The upload was created using a ${uc.algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${r.n} in the request.`);
    }
    listed.push(p);
  }
  // A COMPOSITE checksum the client expects is held against the part checksums it lists before
  // those are against the parts: a wrong part checksum beside the right object checksum is
  // BadDigest, not InvalidPart (OpenStack Swift's test_mpu_complete_bad_part_checksum_good_global_checksum, run against AWS).
  if (expected !== undefined && uc?.type === 'COMPOSITE') {
    const claimed = await objectChecksum(uc, listed, requested.map((r) => r.checksums));
    if (claimed !== undefined && !sameObjectChecksum(expected.value, claimed)) throw new S3Error('BadDigest', `The ${expected.algorithm.toLowerCase()} you specified did not match the calculated checksum.`);
  }
  for (let i = 0; i < listed.length - 1; i++) {
    const p = listed[i]!;
    if (p.size < MIN_PART_SIZE) throw new S3Error('EntityTooSmall', undefined, { fields: { ETag: p.etag, MinSizeAllowed: String(MIN_PART_SIZE), PartNumber: String(p.n), ProposedSize: String(p.size) } });
  }
  const size = listed.reduce((a, p) => a + p.size, 0);
  // S3's largest object: 10,000 parts of up to 5 GiB each could add up to ~48.8 TiB, which was
  // completed as one object no S3 client expects to exist.
  if (size > MAX_OBJECT_SIZE) throw new S3Error('EntityTooLarge', undefined, { fields: { ProposedSize: String(size), MaxSizeAllowed: String(MAX_OBJECT_SIZE) } });
  // The size the client meant to upload (it was not checked: the object was created whatever it said).
  if (objectSize !== undefined && Number(objectSize.trim()) !== size) {
    throw new S3Error('InvalidRequest', `The object would be ${size} bytes, not the ${objectSize.trim()} given by x-amz-mp-object-size.`);
  }
  // An encrypted upload's part checksums open with its object key, and the object's checksum is
  // sealed under it. SSE-S3/SSE-KMS: the key is unsealed (through the KMS) when the upload has a
  // checksum algorithm, the request lists checksums of sealed parts, or parts an earlier version
  // stored keep theirs in clear (they are sealed now). SSE-C: the completion of an upload with a
  // checksum algorithm must carry the customer key, as S3 requires; without an algorithm it may
  // come without one (the listed part checksums of sealed parts are then not compared, and parts
  // an earlier version stored keep theirs in clear). A key it carries is checked before anything
  // is committed.
  // An upload without an algorithm whose every part has S3's default: its completion answers their
  // combined CRC64NVME, sealed under the object key when encrypted (the parts needed it too).
  const sealedListed = requested.some((r, i) => Object.keys(r.checksums).length > 0 && (listed[i]!.sealedChecksums ?? listed[i]!.defaultChecksum?.sealedChecksums) !== undefined);
  const plainParts = up.sse !== undefined && listed.some((p) => p.checksums !== undefined);
  const defaults = uc === undefined && hasDefaultChecksums(listed);
  const { shown, objectKey } = await keyForAnswer(env, ctx, up.sse, up.bucket, up.key, up.sse !== undefined && (uc !== undefined || sealedListed || plainParts || defaults));
  try {
    if (up.sse !== undefined && uc !== undefined && objectKey === undefined) {
      throw new S3Error('InvalidRequest', 'The multipart upload was initiated with SSE-C and a checksum algorithm: the completion must carry the customer key to form the object\'s checksum.');
    }
    const { parts, partSums, etag, defaults: opened } = await completedParts(requested, listed, up.id, uc, objectKey);
    const checksum = uc ? await objectChecksum(uc, parts, partSums) : undefined;
    if (expected !== undefined) {
      if (checksum === undefined) throw new S3Error('InvalidRequest', `Part checksums are missing: the object's ${expected.algorithm} cannot be checked.`);
      // In lower case here, unlike a PUT's (OpenStack Swift's test_mpu_complete_bad_checksum, run against AWS).
      if (!sameObjectChecksum(expected.value, checksum)) throw new S3Error('BadDigest', `The ${expected.algorithm.toLowerCase()} you specified did not match the calculated checksum.`);
    }
    const checksums = uc && checksum !== undefined ? { [uc.algorithm]: checksum } : undefined;
    // Answered, not kept (versitygw #1547: HEAD, GET and GetObjectAttributes show none). Formed
    // before the commit: a part default that does not open fails the completion, as a checksum would.
    const answered = checksums ?? (defaults ? await defaultObjectChecksum(parts, objectKey, opened) : undefined);
    const record: ObjectRecord = {
      v: RECORD_VERSION,
      size,
      etag,
      // "For multipart uploads, the object creation date is the date of initiation of the
      // multipart upload" (S3 User Guide, system metadata): Last-Modified, listings, conditions
      // and lifecycle ages count from CreateMultipartUpload. Versions still order by completion.
      mtime: up.initiated,
      headers: up.headers,
      userMeta: up.userMeta,
      stored: parts.reduce((a, p) => a + p.stored, 0),
      parts,
      uploadId: up.id,
      ...(up.sseRequested ? { sseRequested: up.sseRequested } : {}),
      // Sealed under the object key when the upload is encrypted (an SSE-C completion without the
      // key has no checksum to seal: its upload has no checksum algorithm).
      ...checksumFields(checksums, objectKey),
      // Without the SSE-C key MD5 an upload an earlier version created kept.
      ...(up.sse ? { sse: withoutKeyMd5(up.sse) } : {}),
      ...tagsField(up.tags),
      ...completedLock(env.meta.getBucket(up.bucket), up, Date.now()),
    };
    const events = requestEvents(env, ctx, env.meta.getBucket(up.bucket));
    const created = events?.created('s3:ObjectCreated:CompleteMultipartUpload', up.key, record);
    // Noted in the commit: an Abort arriving once it is visible, before this continues, finds it.
    const installed = await env.meta
      .completeUpload(up, record, check, (stored) => {
        noteFinished(up);
        created?.(stored);
      }, read)
      .catch((err: unknown) => metaError(partConflict(err, requested, up.id)));
    events?.wake();
    return completeResult(env, ctx, installed, shown, answered);
  } finally {
    objectKey?.fill(0);
  }
}

/**
 * The parts of a completion, as the object record keeps them (checksums an earlier version kept in
 * clear sealed now), and each one's checksums opened (undefined: none, or sealed without the key to
 * open them, an SSE-C completion without it), the listed checksums compared with them, and the
 * object's multipart ETag (multipartETag's: 10,000 part ETags hashed in one go held the event loop
 * ~18-26 ms). Done a slice of parts at a time; no transaction is open meanwhile.
 */
export async function completedParts(
  requested: readonly RequestedPart[],
  listed: readonly PartRecord[],
  uploadId: string,
  uc: UploadChecksum | undefined,
  objectKey: Buffer | undefined,
): Promise<{ parts: PartRecord[]; partSums: Array<Checksums | undefined>; etag: string; defaults: Array<Checksums | undefined> }> {
  const parts: PartRecord[] = [];
  // The defaults of the parts of an upload without an algorithm that the completion lists, opened.
  const defaults: Array<Checksums | undefined> = [];
  const etagHash = createHash('md5');
  const partSums: Array<Checksums | undefined> = [];
  for (const [i, r] of requested.entries()) {
    if (i > 0 && i % PARTS_PER_TURN === 0) await nextTurn();
    const p = listed[i]!;
    // undefined: sealed, and no key to open them (an SSE-C completion without the key).
    const sums = p.sealedChecksums === undefined ? p.checksums : objectKey !== undefined ? openPartChecksums(p, objectKey) : undefined;
    const known = p.sealedChecksums === undefined || objectKey !== undefined;
    partSums.push(sums);
    // An upload created without a checksum algorithm takes no part checksums in its completion,
    // matching or not: S3 answers InvalidPart (aws-sdk-go-v2#3005, aws-sdk-java-v2#6518;
    // CloudServer's AWS-checked completeMpuChecksum tests). But for the CRC64NVME UploadPart
    // answered as S3's default, which the SDK's lib-storage lists (CompletedPart ChecksumCRC64NVME:
    // "if the object was uploaded without a checksum (and Amazon S3 added the default checksum,
    // CRC64NVME)"): taken when it is the part's (not compared when it is sealed and no key opens it).
    if (uc === undefined && Object.keys(r.checksums).length > 0) {
      // Opened once: the completion's answer combines it (defaultObjectChecksum).
      const dflt = p.defaultChecksum === undefined ? undefined : partDefault(p, objectKey);
      if (!listedDefault(r.checksums, p, dflt)) throw invalidPart(r, uploadId);
      defaults[i] = dflt;
    } else if (known) {
      for (const [alg, value] of Object.entries(r.checksums)) {
        // A part without a checksum of that algorithm, or with another value: refused.
        if (sums?.[alg] !== value) throw invalidPart(r, uploadId);
      }
    }
    const part = objectKey !== undefined ? sealedPart(p, objectKey) : p;
    addPartETag(etagHash, part.etag);
    parts.push(part);
  }
  return { parts, partSums, etag: partsETag(etagHash, parts.length), defaults };
}

/**
 * CompleteMultipartUpload's answer for the version it installed: `shown`, whether it may show
 * what an SSE-C key guards (see keyForAnswer), and the object's checksums, opened.
 */
function completeResult(env: OpsEnv, ctx: RequestContext, installed: ObjectRecord, shown: boolean, checksums: Checksums | undefined): Result {
  const bucket = env.meta.getBucket(ctx.bucket!);
  return {
    status: 200,
    headers: { ...XML, ...versionHeader(installed), ...(shown ? sseResponseHeaders(installed.sse, customerKeyMd5(ctx.headers)) : SSE_C_ALGORITHM), ...expirationHeader(bucket?.lifecycle, ctx.key!, installed) },
    body: toXml('CompleteMultipartUploadResult', {
      Location: objectLocation(env, ctx, ctx.bucket!, ctx.key!),
      Bucket: ctx.bucket!,
      Key: ctx.key!,
      ETag: quoteETag(installed.etag),
      ...(shown ? checksumElements(checksums, true) : {}),
    }),
  };
}

function withoutKeyMd5(sse: SseRecord): SseRecord {
  const { customerKeyMd5: _old, ...rest } = sse;
  return rest;
}

const SSE_C_ALGORITHM: Readonly<Record<string, string>> = { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' };

/**
 * Whether an answer may show what an SSE-C object's key guards (the key's MD5 and the checksums
 * of its plaintext), and the object key that opens sealed checksums (the caller zeroes it). Not
 * SSE-C: shown; the key only when `needKey`, unsealed for SSE-S3/SSE-KMS through the KMS. SSE-C:
 * shown only to a request that carries the customer key, and the right one (it unseals the object
 * key; a wrong one is 400 InvalidRequest, as S3 answers the requests of an upload); S3 asks for
 * the key to show such checksums.
 */
async function keyForAnswer(env: OpsEnv, ctx: RequestContext, sse: SseRecord | undefined, bucket: string, key: string, needKey: boolean): Promise<{ shown: boolean; objectKey: Buffer | undefined }> {
  if (sse === undefined) return { shown: true, objectKey: undefined };
  if (sse.kind !== 'SSE-C') return { shown: true, objectKey: needKey ? await unsealForRead(env, sse, {}, bucket, key) : undefined };
  const ck = parseCustomerKey(ctx.headers);
  if (ck === undefined) return { shown: false, objectKey: undefined };
  try {
    return { shown: true, objectKey: unsealCustomer(sse, ck, bucket, key, 'upload') };
  } finally {
    ck.key.fill(0);
  }
}

/**
 * The key's current version, when it was completed from the upload the request names with the
 * very parts (numbers and ETags) the request lists: a repeat of that completion. A different list
 * is no retry (its sender would be told an object it did not ask for was made): NoSuchUpload.
 */
async function completedBefore(env: OpsEnv, ctx: RequestContext, readRequested: () => Promise<RequestedPart[]>): Promise<Result | undefined> {
  const id = ctx.query.get('uploadId');
  if (id === null || id === '' || ctx.bucket === undefined || ctx.key === undefined || env.meta.getBucket(ctx.bucket) === undefined) return undefined;
  const current = env.meta.getObject(ctx.bucket, ctx.key);
  if (current?.uploadId !== id || current.parts === undefined) return undefined;
  const parts = current.parts;
  const requested = await readRequested().catch(() => undefined);
  const same = requested !== undefined && requested.length === parts.length && requested.every((r, i) => r.n === parts[i]!.n && r.etag === parts[i]!.etag);
  if (!same) return undefined;
  refuseOtherEncryption(ctx.headers, current.sse);
  // An object without a checksum of an upload without an algorithm is answered S3's default again,
  // formed from its parts' as the completion formed it (the KMS asked again for an SSE-S3/SSE-KMS
  // object's key, as a checksummed one needs it).
  const defaults = current.sealedChecksums === undefined && current.checksums === undefined && hasDefaultChecksums(parts);
  const { shown, objectKey } = await keyForAnswer(env, ctx, current.sse, ctx.bucket, ctx.key, current.sealedChecksums !== undefined || defaults);
  try {
    const answered = shown ? (openChecksums(current, objectKey) ?? (defaults ? await defaultObjectChecksum(parts, objectKey) : undefined)) : undefined;
    return completeResult(env, ctx, current, shown, answered);
  } finally {
    objectKey?.fill(0);
  }
}

/**
 * The completed object's URL, as S3 writes it: the request's scheme and host, virtual-host style
 * when the request was, path style otherwise; the key's segments percent-encoded, its slashes kept.
 */
export function objectLocation(env: OpsEnv, ctx: RequestContext, bucket: string, key: string): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  const host = ctx.headers.host;
  if (host === undefined || host === '') return `/${encodeURIComponent(bucket)}/${path}`;
  const origin = `${ctx.secure ? 'https' : 'http'}://${host}`;
  return bucketFromHost(host, env.config.domains) === bucket ? `${origin}/${path}` : `${origin}/${encodeURIComponent(bucket)}/${path}`;
}

/**
 * Uploads this process saw finish (aborted or completed), by id → `bucket NUL key`, the oldest
 * forgotten past MAX_FINISHED: S3 answers a repeated AbortMultipartUpload, or one after the
 * upload completed (even once the object is gone), 204 (OpenStack Swift's AWS-checked tests), so a
 * client retrying an abort whose answer was lost does not see an error. Upload ids are random
 * UUIDs: one cannot name another's upload by chance.
 */
const finishedUploads = new Map<string, string>();
const MAX_FINISHED = 10_000;

function noteFinished(up: UploadRecord): void {
  finishedUploads.delete(up.id);
  finishedUploads.set(up.id, `${up.bucket}\0${up.key}`);
  if (finishedUploads.size > MAX_FINISHED) finishedUploads.delete(finishedUploads.keys().next().value!);
}

export async function handleAbortMultipartUpload(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  requireBucket(env, ctx.bucket);
  const id = ctx.query.get('uploadId') ?? '';
  // Already finished: the upload of the current object (completed, also before a restart), or
  // one this process aborted or completed.
  const finished = (): boolean =>
    id !== '' && env.meta.getUpload(id) === undefined && (env.meta.getObject(ctx.bucket!, ctx.key!)?.uploadId === id || finishedUploads.get(id) === `${ctx.bucket}\0${ctx.key}`);
  // Abort only the upload initiated then (it used to abort whatever the header said).
  const initiated = ctx.headers['x-amz-if-match-initiated-time'];
  const at = initiated === undefined ? undefined : parseDateText(initiated);
  if (initiated !== undefined && at === undefined) throw new S3Error('InvalidArgument', 'x-amz-if-match-initiated-time must be a date.');
  if (finished()) return { status: 204 };
  let up: UploadRecord;
  try {
    up = loadUpload(env, ctx);
  } catch (err) {
    // "If the initiated timestamp matches or if the multipart upload doesn't exist, the operation
    // returns a 204" (S3): a conditional abort of an upload this process never saw finish (one
    // aborted before a restart, or by lifecycle or stale-upload expiry) was 404 NoSuchUpload.
    if (at !== undefined && isS3Error(err) && err.code === 'NoSuchUpload') return { status: 204 };
    throw err;
  }
  if (at !== undefined && Math.floor(at / 1000) !== Math.floor(up.initiated / 1000)) {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold (x-amz-if-match-initiated-time).');
  }
  try {
    // Noted in the commit (see completeUpload): readers see the upload gone before this continues.
    await env.meta.abortUpload(up.id, () => noteFinished(up));
  } catch (err) {
    // A Complete (or another Abort) of this upload committed first, while this one waited for its
    // transaction: answered as an abort arriving just after it (it was 404 NoSuchUpload).
    if (finished()) return { status: 204 };
    metaError(err);
  }
  return { status: 204 };
}

export async function handleListParts(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  // A max-parts or part-number-marker that is no integer is refused before the bucket and the
  // upload are looked up, as S3 refuses it (recorded: backlot's tests of 2026-09-29).
  refuseNonInteger(ctx.query, 'max-parts');
  refuseNonInteger(ctx.query, 'part-number-marker');
  const up = loadUpload(env, ctx);
  const max = intParam(ctx.query, 'max-parts', 1000, 1000);
  // Any 32-bit marker, echoed as sent (as S3 echoes it); past the last part it lists nothing.
  const marker = intParam(ctx.query, 'part-number-marker', 0, 2_147_483_647);
  const parts = env.meta.listParts(up.id, marker, max + 1);
  // max-parts=0 lists nothing and is not truncated, as listings are: truncated with no next marker
  // would send a paging client round the same page forever.
  const truncated = max > 0 && parts.length > max;
  const page = parts.slice(0, max);
  // An SSE-C upload's key MD5 and its parts' checksums only with the key (keyForAnswer);
  // without it, the parts are listed without them. Sealed checksums open with the object key.
  const { shown: keyShown, objectKey } = await keyForAnswer(env, ctx, up.sse, up.bucket, up.key, page.some((p) => p.sealedChecksums !== undefined));
  const sseHeaders = keyShown ? sseResponseHeaders(up.sse, customerKeyMd5(ctx.headers)) : SSE_C_ALGORITHM;
  let listed: XmlObject[];
  try {
    listed = page.map((p) => ({
      PartNumber: p.n,
      LastModified: isoDate(p.mtime),
      ETag: quoteETag(p.etag),
      Size: p.size,
      ...(keyShown ? checksumElements(openPartChecksums(p, objectKey)) : {}),
    }));
  } finally {
    objectKey?.fill(0);
  }
  const body: XmlObject = {
    Bucket: up.bucket,
    Key: up.key,
    UploadId: up.id,
    Initiator: owner(env),
    Owner: owner(env),
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    // 0 when the page is empty, as S3 answers.
    NextPartNumberMarker: page.length > 0 ? page[page.length - 1]!.n : 0,
    MaxParts: max,
    IsTruncated: truncated,
    ...uploadChecksumElements(up),
  };
  return { status: 200, headers: { ...XML, ...sseHeaders, ...abortHeaders(env.meta.getBucket(up.bucket)?.lifecycle, up) }, body: writeXml('ListPartsResult', { ...body, Part: listed }) };
}
