// Multipart uploads: Create, UploadPart, UploadPartCopy, Abort and ListParts
// (ListMultipartUploads: multipart-list.ts). The object key is generated and sealed once at Create; each part is its
// own DARE stream under its part key.
// Flexible checksums of uploads and parts: multipart-checksums.ts; CompleteMultipartUpload:
// multipart-complete.ts (its document's reading: multipart-complete-body.ts).

import { setImmediate as nextTurn } from 'node:timers/promises';
import { secureRandom } from '../../workers/format/random.js';
import { checksumHasher } from '../auth/payload.js';
import { S3Error, isS3Error } from '../errors.js';
import { DEFAULT_CHECKSUM, checksumElements, checksumHeaders, digestBase64, hashing } from './checksums.js';
import { partChecksum, requestedChecksum, uploadChecksum, uploadChecksumElements, type UploadChecksum } from './multipart-checksums.js';
import { RECORD_VERSION, type BucketRecord, type PartRecord, type SseRecord, type UploadRecord } from '../meta/records.js';
import { abortHeaders } from './lifecycle.js';
import { clientETag, createObjectEncryption, sseResponseHeaders, unsealCustomer, unsealForRead, type ObjectEncryption } from '../sse/object-encryption.js';
import { derivePartKey } from '../sse/object-key.js';
import { openPartChecksums, partChecksumFields, type Checksums } from '../sse/checksums.js';
import { blocksSseC, customerKeyMd5, encryptionChoiceHeader, parseCustomerKey, restatesEncryption } from '../sse/params.js';
import { MAX_COPY_SOURCE, checkCopySourceKey, copySourceTooLarge, loadCopySource, parseCopySource, readCopySource, withDataPlace } from './copy.js';
import type { DataLease } from './data-gate.js';
import { accountId, assumedRoleArn, metaError, requireBucket, requireSameBucket, userArn, type OpsEnv } from './env.js';
import { writeData, type WrittenData } from './object-data.js';
import { tagsField, tagsFromHeader } from './tagging.js';
import { collectStoredHeaders, collectUserMeta, parseCopySourceRange, quoteETag } from './object-headers.js';
import { XmlWriter } from './xml-writer.js';
import { completedLock, lockFields, lockFromHeaders, requireLockedBodyChecksum, requireLockedSigV4, signedWithV4 } from './object-lock.js';
import { contentMd5, dataEnv, declaredLength, discardWritten, kmsNeedsSigV4, needsMd5, sseCBlocked, writeEncryption } from './object.js';
import { sseRequestedField } from './condition-keys.js';
import { intParam, refuseNonInteger } from './query.js';
import type { RequestContext, Result } from './types.js';
import { toXml, type XmlObject } from './xml.js';
import { MAX_PARTS } from './multipart-complete-body.js';
import { isoDate, parseDateText } from '../dates.js';

const XML = { 'content-type': 'application/xml' };

/** A ListParts page is read and written this many parts to a turn of the event loop (handleListParts). */
const PARTS_PER_TURN = 100;
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
 * The signer of a CreateMultipartUpload as the upload keeps it (UploadRecord.initiator): a user
 * of S3_IAM_FILE or temporary credentials; nothing for the root user and anonymous requests.
 */
function initiatorField(env: OpsEnv, ctx: RequestContext): Pick<UploadRecord, 'initiator'> {
  if (ctx.accessKey === '' || ctx.accessKey === env.config.rootUser) return {};
  const user = env.users?.().get(ctx.accessKey);
  if (user === undefined) return {};
  const session = user.session;
  return { initiator: session === undefined ? { user: user.accessKey } : { user: session.parent, session: session.name ?? session.parent } };
}

/**
 * An upload's Initiator, as ListMultipartUploads and ListParts name it: S3 gives an IAM user's
 * ARN (and its name) there, the account's owner element only when the account itself started the
 * upload. So a user's upload names the user (`arn:aws:iam::ACCOUNT:user/KEY`, as GetCallerIdentity
 * does), temporary credentials their assumed-role ARN; the root user's, an anonymous one's, and one
 * created before initiators were kept name the owner.
 */
export function initiator(env: OpsEnv, up: UploadRecord): XmlObject {
  const i = up.initiator;
  if (i === undefined) return owner(env);
  const account = accountId(env);
  return i.session === undefined ? { ID: userArn(account, i.user), DisplayName: i.user } : { ID: assumedRoleArn(account, i.user, i.session), DisplayName: `${i.user}/${i.session}` };
}

/**
 * The request's upload. `writes` (a part, a completion): an SSE-C upload started before its bucket
 * blocked SSE-C is 403, as S3 refuses multipart requests that specify SSE-C in such a bucket, so
 * no new SSE-C object appears; aborting it stays allowed. An SSE-KMS upload takes parts and its
 * completion only from requests signed with V4, as S3 takes the writes of an SSE-KMS object
 * (writeEncryption): its creation needed one, and a V2 or anonymous part was not to slip in.
 */
export function loadUpload(env: OpsEnv, ctx: RequestContext, writes = false): UploadRecord {
  requireBucket(env, ctx.bucket);
  const id = ctx.query.get('uploadId') ?? '';
  // An id longer than s3d's names no upload and is not looked up (MetaStore.getUpload).
  const up = id === '' ? undefined : env.meta.getUpload(id);
  if (!up || up.bucket !== ctx.bucket || up.key !== ctx.key) throw new S3Error('NoSuchUpload');
  if (writes && up.sse?.kind === 'SSE-C' && blocksSseC(env.meta.getBucket(up.bucket)?.encryption)) throw sseCBlocked();
  if (writes && up.sse?.kind === 'SSE-KMS' && !signedWithV4(ctx)) throw kmsNeedsSigV4();
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
  const now = Date.now();
  const lock = lockFromHeaders(bucket, ctx.headers, ctx.query, now, false);
  // An upload whose object the lock would protect is refused at once to a request not signed with
  // V4: none of its parts, nor its completion, would be taken from such a request.
  requireLockedSigV4(completedLock(bucket, { initiated: now, ...lockFields(lock) }), ctx, 'Create Multipart Upload');
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
    ...initiatorField(env, ctx),
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
export function refuseOtherEncryption(headers: Readonly<Record<string, string>>, sse: SseRecord | undefined): void {
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
  const lock = completedLock(env.meta.getBucket(up.bucket), up);
  requireLockedBodyChecksum(lock, ctx.body, 'Put Part');
  requireLockedSigV4(lock, ctx, 'Put Part');
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
 * x-amz-tagging: a part has no tags either (the upload's were given at its creation). S3 refuses
 * it on a part with this answer (boto3#2675, reproduced against S3 by an SDK maintainer);
 * accepted, a client sending tags was told they were taken when none were. x-amz-tagging-directive
 * is taken and does nothing: S3's answer to it here is not on record, and the AWS CRT's multipart
 * copy sends a CopyObject's directive on every UploadPartCopy (aws-c-s3 strips x-amz-tagging from
 * them, not the directive), so refusing it could break copies S3 may well take.
 */
function refusePartCopyHeaders(headers: Readonly<Record<string, string>>): void {
  for (const [name, shown] of PART_COPY_REFUSED) {
    const v = headers[name];
    if (v === undefined || (name === 'content-md5' && v.trim() === EMPTY_BODY_MD5)) continue;
    throw new S3Error('InvalidArgument', 'The specified header is not valid in this context', { fields: { ArgumentName: shown, ArgumentValue: v } });
  }
}

/** The headers refusePartCopyHeaders refuses, as stored (lower case) and as named in the answer. */
const PART_COPY_REFUSED: ReadonlyArray<readonly [string, string]> = [
  ['x-amz-metadata-directive', 'x-amz-metadata-directive'],
  ['x-amz-tagging', 'x-amz-tagging'],
  ['content-md5', 'Content-MD5'],
];

/** Content-MD5 of an empty body. */
const EMPTY_BODY_MD5 = '1B2M2Y8AsgTpgAmY7PhCfg==';

export async function handleUploadPartCopy(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  // Its own arguments and upload judged before it waits for a place (and again once it has one),
  // as a copy's (copy.ts handleCopyObject): no 503 SlowDown for a request that can never succeed.
  partCopyArguments(env, ctx);
  return await withDataPlace(env, ctx, (lease) => uploadPartCopy(env, ctx, lease));
}

/**
 * What UploadPartCopy checks before it looks its source up: the part number, its headers, the
 * bucket, the form of x-amz-copy-source, the upload.
 */
function partCopyArguments(env: OpsEnv, ctx: RequestContext): { n: number; up: UploadRecord } {
  const n = partNumber(ctx);
  refusePartCopyHeaders(ctx.headers);
  // A copy source that names no source is refused after the bucket and before the upload is
  // looked up, as S3 refuses it (versitygw's UploadPartCopy tests, checked against S3: the
  // header's faults under an upload id that names none, NoSuchBucket first): it was NoSuchUpload
  // beside a stale upload id, which sent the client looking at the wrong argument.
  requireBucket(env, ctx.bucket);
  parseCopySource(ctx.headers['x-amz-copy-source'] ?? '');
  const up = loadUpload(env, ctx, true);
  // The part follows the upload's encryption, as UploadPart's does.
  refuseEncryptionChoice(ctx.headers);
  // A part of an upload the lock will protect, as UploadPart's (before the source is looked up).
  requireLockedSigV4(completedLock(env.meta.getBucket(up.bucket), up), ctx, 'Copy Part');
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

export const SSE_C_ALGORITHM: Readonly<Record<string, string>> = { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' };

/**
 * Whether an answer may show what an SSE-C object's key guards (the key's MD5 and the checksums
 * of its plaintext), and the object key that opens sealed checksums (the caller zeroes it). Not
 * SSE-C: shown; the key only when `needKey`, unsealed for SSE-S3/SSE-KMS through the KMS. SSE-C:
 * shown only to a request that carries the customer key, and the right one (it unseals the object
 * key; a wrong one is 400 InvalidRequest, as S3 answers the requests of an upload); S3 asks for
 * the key to show such checksums.
 */
export async function keyForAnswer(env: OpsEnv, ctx: RequestContext, sse: SseRecord | undefined, bucket: string, key: string, needKey: boolean): Promise<{ shown: boolean; objectKey: Buffer | undefined }> {
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
 * Uploads this process saw finish (aborted or completed), by id → `bucket NUL key`, the oldest
 * forgotten past MAX_FINISHED: S3 answers a repeated AbortMultipartUpload, or one after the
 * upload completed (even once the object is gone), 204 (OpenStack Swift's AWS-checked tests), so a
 * client retrying an abort whose answer was lost does not see an error. Upload ids are random
 * UUIDs: one cannot name another's upload by chance.
 */
const finishedUploads = new Map<string, string>();
const MAX_FINISHED = 10_000;

export function noteFinished(up: UploadRecord): void {
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
    // Noted in the commit (see multipart-complete.ts completeUpload): readers see the upload gone before this continues.
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
  // The page is read and written a slice of at most PARTS_PER_TURN parts to a turn of the event
  // loop (as listings are, ops/list.ts): each slice its own read after the last part of the one
  // before, as the next page would read after its NextPartNumberMarker. 1,000 parts read and
  // written in one go held every other request back (docs/performance.md).
  const entries = new XmlWriter('ListPartsResult', true);
  const written: Buffer[] = [];
  let answer: { shown: boolean; objectKey: Buffer | undefined } | undefined;
  let listed = 0;
  let last = 0;
  let truncated = false;
  try {
    for (let after = marker; ; ) {
      const want = Math.min(max - listed, PARTS_PER_TURN);
      // One more than wanted: whether more follow.
      const read = env.meta.listParts(up.id, after, want + 1);
      const slice = read.length > want ? read.slice(0, want) : read;
      // Between two slices the upload may have been completed or aborted (its parts gone): not
      // answered as a page that ends there untruncated.
      if (after !== marker && env.meta.getUpload(up.id) === undefined) throw new S3Error('NoSuchUpload');
      // An SSE-C upload's key MD5 and its parts' checksums only with the key (keyForAnswer);
      // without it, the parts are listed without them. Sealed checksums open with the object key,
      // unsealed (through the KMS for SSE-S3/SSE-KMS) once a listed part has them.
      const sealed = slice.some((p) => p.sealedChecksums !== undefined);
      if (answer === undefined || (sealed && answer.shown && answer.objectKey === undefined && up.sse !== undefined)) {
        answer = await keyForAnswer(env, ctx, up.sse, up.bucket, up.key, sealed);
      }
      for (const p of slice) {
        entries.open('Part').text('PartNumber', p.n).text('LastModified', isoDate(p.mtime)).text('ETag', quoteETag(p.etag)).text('Size', p.size);
        if (answer.shown) entries.elements(checksumElements(openPartChecksums(p, answer.objectKey)), 'Part');
        entries.close('Part');
      }
      listed += slice.length;
      if (slice.length > 0) last = slice[slice.length - 1]!.n;
      if (read.length <= want) break;
      // max-parts=0 lists nothing and is not truncated, as listings are: truncated with no next
      // marker would send a paging client round the same page forever.
      if (listed >= max) {
        truncated = max > 0;
        break;
      }
      after = last;
      written.push(entries.take());
      await nextTurn();
    }
  } finally {
    answer?.objectKey?.fill(0);
  }
  written.push(entries.take());
  const keyShown = answer?.shown ?? true;
  const sseHeaders = keyShown ? sseResponseHeaders(up.sse, customerKeyMd5(ctx.headers)) : SSE_C_ALGORITHM;
  const body: XmlObject = {
    Bucket: up.bucket,
    Key: up.key,
    UploadId: up.id,
    Initiator: initiator(env, up),
    Owner: owner(env),
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    // 0 when the page is empty, as S3 answers.
    NextPartNumberMarker: last,
    MaxParts: max,
    IsTruncated: truncated,
    ...uploadChecksumElements(up),
  };
  return { status: 200, headers: { ...XML, ...sseHeaders, ...abortHeaders(env.meta.getBucket(up.bucket)?.lifecycle, up) }, body: new XmlWriter('ListPartsResult').elements(body).endWith(written) };
}
