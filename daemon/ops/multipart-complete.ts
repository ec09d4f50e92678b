// CompleteMultipartUpload: the part list checked against the stored parts, the object's checksum
// and multipart ETag formed, and the object installed in one atomic, durable LMDB commit; a retry
// of a completion that went through answered as it was. The uploads and their parts: multipart.ts.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createHash, type Hash } from 'node:crypto';
import type { ChecksumAlgorithm } from '../auth/payload.js';
import { S3Error, isS3Error } from '../errors.js';
import { checksumElements } from './checksums.js';
import { PARTS_PER_TURN, defaultObjectChecksum, expectedObjectChecksum, hasDefaultChecksums, listedDefault, objectChecksum, partDefault, sameObjectChecksum, uploadChecksum, type UploadChecksum } from './multipart-checksums.js';
import { bucketFromHost } from '../http/router.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord, type SseRecord } from '../meta/records.js';
import { expirationHeader } from './lifecycle.js';
import { sseResponseHeaders } from '../sse/object-encryption.js';
import { checksumFields, openChecksums, openPartChecksums, sealedPart, type Checksums } from '../sse/checksums.js';
import { customerKeyMd5 } from '../sse/params.js';
import { MetaConflict } from '../meta/store.js';
import { metaError, type OpsEnv } from './env.js';
import { tagsField } from './tagging.js';
import { requestEvents } from './notification.js';
import { quoteETag, writeConditions } from './object-headers.js';
import { completedLock, requireLockedSigV4 } from './object-lock.js';
import { MAX_OBJECT_SIZE, versionHeader } from './object.js';
import type { RequestContext, Result } from './types.js';
import { toXml } from './xml.js';
import { parseCompleteBody, type RequestedPart } from './multipart-complete-body.js';
import { MIN_PART_SIZE, SSE_C_ALGORITHM, keyForAnswer, loadUpload, noteFinished, refuseOtherEncryption } from './multipart.js';

const XML = { 'content-type': 'application/xml' };

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
  // The completion creates the version, with the bucket's default retention as it is now: parts
  // stored before that default was set (anonymous ones too) became a locked version here.
  requireLockedSigV4(completedLock(env.meta.getBucket(up.bucket), up), ctx, 'Complete Multipart Upload');
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
      ...completedLock(env.meta.getBucket(up.bucket), up),
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

