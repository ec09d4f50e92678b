// CopyObject (and the copy-source half of UploadPartCopy): the source is decrypted whatever its
// kind and re-encrypted as the destination asks; SSE-C key rotation in place reseals the object
// key only and leaves the data file untouched. Large copies stream, never buffered whole.

import { S3Error } from '../errors.js';
import { filesOf, type BucketRecord, type ObjectRecord, type PartRecord } from '../meta/records.js';
import { newObjectRecord } from './new-object.js';
import { clientETag, createObjectEncryption, etagContentMd5, customerKeyMissing, refuseCustomerKey, sseResponseHeaders, unsealCustomer } from '../sse/object-encryption.js';
import { sealObjectKey } from '../sse/object-key.js';
import { checksumFields, checksumTypes, openChecksums, sealedPart } from '../sse/checksums.js';
import { parseCustomerKey } from '../sse/params.js';
import { inSameBucket, metaError, requireBucket, type OpsEnv } from './env.js';
import { partsInRange, readData, writeData, type WrittenData } from './object-data.js';
import { createMd5, type Md5Hasher } from '../crypto/hasher.js';
import { DareError, isDareError } from '../../workers/format/index.js';
import { copyTags, taggingDirective, tagsField } from './tagging.js';
import { expirationHeader } from './lifecycle.js';
import { requestEvents } from './notification.js';
import { checkConditions, checkWriteOptions, collectStoredHeaders, collectUserMeta, quoteETag, writeConditions } from './object-headers.js';
import { dataEnv, discardWritten, READ_LOOKUPS, readableRecord, stillNames, needsMd5, openFiles, closeFiles, readKey, readVersionHeader, requireKmsReadSigV4, versionHeader, withCleanup, writeEncryption } from './object.js';
import type { RequestContext, Result } from './types.js';
import type { DataLease } from './data-gate.js';
import { lockAt, lockFields, lockFromHeaders, requireLockedSigV4 } from './object-lock.js';
import { clientVersionId, isVersionIdShape } from '../meta/versions.js';
import { toXml } from './xml.js';
import { isoDate } from '../dates.js';
import { checksumHasher, type ChecksumAlgorithm } from '../auth/payload.js';
import { checksumElements, DEFAULT_CHECKSUM, digestBase64, hashing, parseChecksumAlgorithm } from './checksums.js';
import { requestFacts, userMay } from './policy.js';
import { validBucketName } from './bucket.js';
import { keyTooLongError, MAX_KEY_BYTES } from '../http/router.js';

export interface CopySource {
  bucket: string;
  key: string;
  record: ObjectRecord;
  /** The version the source header named (undefined: the current one). */
  versionId: string | undefined;
  /** Response headers naming the source version (`x-amz-copy-source-version-id`, versioned buckets only). */
  versionHeaders: Record<string, string>;
}

/** Parses `x-amz-copy-source` (`/bucket/key` or `bucket/key`, URL-encoded, optional `?versionId=`). */
export function parseCopySource(header: string): { bucket: string; key: string; versionId?: string } {
  let raw = header;
  let versionId: string | undefined;
  const q = raw.indexOf('?');
  if (q >= 0) {
    const params = new URLSearchParams(raw.slice(q + 1));
    // versionId, once, is the only parameter S3 takes here; anything else is InvalidArgument, as
    // S3 answers it. Ignored, it made a key with an unencoded `?` (`a?b`) name another key (`a`).
    const names = [...params.keys()];
    if (names.length > 1 || (names.length === 1 && names[0] !== 'versionId')) {
      throw new S3Error('InvalidArgument', 'Unsupported copy source parameter.', { fields: { ArgumentName: 'x-amz-copy-source', ArgumentValue: header } });
    }
    versionId = params.get('versionId') ?? undefined;
    if (versionId === '') throw new S3Error('InvalidArgument', 'The copy source version id is empty.');
    if (versionId !== undefined && !isVersionIdShape(versionId)) throw new S3Error('InvalidArgument', 'Invalid version id specified');
    raw = raw.slice(0, q);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // A `%` that starts no escape (`a/100%`, `a/%ZZ`, `a/%C3%`) or escapes that spell no UTF-8:
    // S3's own words for it (paws-r/paws#819, versitygw#1401). The text that said the source must
    // name a bucket and key sent the client looking at a source that did name both.
    throw new S3Error('InvalidArgument', 'Invalid copy source encoding');
  }
  if (decoded.startsWith('/')) decoded = decoded.slice(1);
  // An ARN (`arn:aws:s3:…:accesspoint/ap/object/key`: an access point, an Outposts or Object
  // Lambda one) names no bucket here, as no bucket name holds a `:`. S3's answer to an ARN it
  // cannot use (aws-sdk-php#2299), with why: the bare "invalid bucket name" sent the client
  // looking for a typo in a well-formed ARN.
  if (decoded.startsWith('arn:')) throw new S3Error('InvalidArgument', 'Invalid copy source bucket name: s3d has no access points; name the source bucket/key.');
  const slash = decoded.indexOf('/');
  const bucket = slash < 0 ? decoded : decoded.slice(0, slash);
  // S3's answers (aws-sdk-cpp#1647, versitygw#1388/#1389): a source bucket no bucket could be
  // named (none, an IP address, `my-buc@k`) is 400 InvalidArgument, not 404 NoSuchBucket; a
  // source naming no key is InvalidArgument too, with its own text.
  if (!validBucketName(bucket)) throw new S3Error('InvalidArgument', 'Invalid copy source bucket name');
  if (slash < 0 || slash === decoded.length - 1) throw new S3Error('InvalidArgument', 'Invalid copy source object key');
  const key = decoded.slice(slash + 1);
  const keyBytes = Buffer.byteLength(key);
  if (keyBytes > MAX_KEY_BYTES) throw keyTooLongError(keyBytes);
  if (key.includes('\u0000')) throw new S3Error('InvalidArgument', 'Object keys must not contain NUL (U+0000).');
  return { bucket, key, ...(versionId !== undefined ? { versionId } : {}) };
}

/** Looks the source up (the version it names, if any) and applies the x-amz-copy-source-if-* conditions. */
export function loadCopySource(env: OpsEnv, ctx: RequestContext): CopySource {
  const { bucket, key, versionId } = parseCopySource(ctx.headers['x-amz-copy-source']!);
  let record: ObjectRecord;
  try {
    // A missing source is AccessDenied to one who may not list its bucket, as a GET of it is.
    record = readableRecord(env, ctx, key, { bucket, versionId });
  } catch (err) {
    if (err instanceof S3Error && err.code === 'MethodNotAllowed') throw new S3Error('InvalidRequest', 'The source of a copy request may not specifically refer to a delete marker by version id.');
    throw err;
  }
  // An SSE-KMS source is read only for a V4-signed copy, as a GET of it is.
  requireKmsReadSigV4(record, ctx);
  checkConditions(ctx.headers, record, { prefix: 'x-amz-copy-source-if-' });
  const v = readVersionHeader(env.meta.getBucket(bucket)!, record)['x-amz-version-id'];
  return { bucket, key, record, versionId, versionHeaders: v === undefined ? {} : { 'x-amz-copy-source-version-id': v } };
}

/**
 * The copy source's customer-key headers, judged as readCopySource will judge them, before the
 * copy spends anything (the destination's data key, an upload's key, both KMS calls): an SSE-C
 * source needs its key, and the right one; any other source takes none. Cheap (no KMS call), and a
 * copy that can never succeed is then answered its 4xx, not a KMS error while the KMS is down.
 */
export function checkCopySourceKey(ctx: RequestContext, src: CopySource): void {
  const sse = src.record.sse;
  if (sse?.kind !== 'SSE-C') return refuseCustomerKey(ctx.headers, true);
  const ck = parseCustomerKey(ctx.headers, true);
  if (!ck) throw customerKeyMissing();
  try {
    unsealCustomer(sse, ck, src.bucket, src.key).fill(0);
  } finally {
    ck.key.fill(0);
  }
}

/**
 * Plaintext of [start, start+length) of the copy source, decrypting with the copy-source SSE-C
 * key if needed, and (opts.checksums) the source's own checksums, opened (sealed under its key
 * when encrypted).
 * `lease`: the copy's place in the data gate, taken by the handler before it looked the source up
 * (see withDataPlace); the copy's write shares it. Runs inside withDataPlace: a source replaced
 * since its lookup, its data file gone, sends the copy round again from there (SourceReplaced).
 */
export async function readCopySource(
  env: OpsEnv,
  ctx: RequestContext,
  src: CopySource,
  start: number,
  length: number,
  lease: DataLease | undefined,
  opts: { checksums?: boolean } = {},
): Promise<{ chunks: AsyncIterable<Buffer>; wipe: () => Promise<void>; checksums: Record<string, string> | undefined; md5: Buffer | undefined }> {
  const objectKey = await readKey(env, src.record, ctx.headers, src.bucket, src.key, true);
  let checksums: Record<string, string> | undefined;
  // Opened only for a caller that keeps them (sealed under the source's key when encrypted).
  if (opts.checksums === true) {
    try {
      checksums = openChecksums(src.record, objectKey);
    } catch (err) {
      objectKey?.fill(0);
      throw err;
    }
  }
  // Like GET: claim the source files now, so an overwrite of the source cannot pull them away.
  let files: Awaited<ReturnType<typeof openFiles>>;
  try {
    files = await openFiles(env, src.record, start, length);
  } catch (err) {
    objectKey?.fill(0);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // Replaced (or deleted) since it was looked up, and its old data file reaped: the copy starts
      // over from the lookup (withDataPlace), which finds what is there now.
      if (!stillStored(env, ctx, src)) throw new SourceReplaced();
      // The source's record is unchanged and its data file is missing: an internal error, as GET answers it (logged).
      throw new S3Error('InternalError', `The data of the copy source /${src.bucket}/${src.key} is missing.`, { cause: err });
    }
    throw err;
  }
  let closed = false;
  const wipe = async (): Promise<void> => {
    objectKey?.fill(0);
    if (closed) return;
    closed = true;
    closeFiles(files);
  };
  // Nothing authenticates an unencrypted object's bytes but its MD5 ETag. A copy of the whole of
  // one is checked against it: the copy would otherwise store damaged bytes under a fresh ETag
  // that vouches for them, and a copy onto itself would hide the damage from `s3d verify --deep`.
  // A multipart one has each part's MD5 (its part ETag): the parts the copy reads whole are checked.
  const r = src.record;
  const checked = r.sse === undefined && r.parts === undefined && start === 0 && length === r.size && etagContentMd5('none', r.etag) !== undefined;
  const segments = checked ? [{ length, etag: r.etag, what: 'an unencrypted object' }] : r.sse === undefined && r.parts !== undefined ? partSegments(r.parts, start, length) : undefined;
  const verify = segments?.some((seg) => seg.etag !== undefined) === true;
  /** The source's plaintext; lent: views of the open pipeline's slots, each valid until the next is asked for. */
  const plaintext = (lend: boolean): AsyncIterable<Buffer> => {
    const read = readData({ ...dataEnv(env, lease), handles: files.handles, lend }, r, objectKey, start, length, ctx.signal);
    return withCleanup(namingSource(verify ? matchingMd5s(read, segments!, () => createMd5(env.pool)) : read, src), wipe);
  };
  // A writer that copies each chunk before it asks for the next (writeData's file path, as for a
  // request body) reads it lent: one copy less per byte (the open pipeline's into fresh 64 KiB
  // buffers) and no garbage. Anything else (the inline path keeps its chunks) gets its own copies.
  const chunks: AsyncIterable<Buffer> & { lend(): AsyncIterable<Buffer> } = {
    [Symbol.asyncIterator]: () => plaintext(false)[Symbol.asyncIterator](),
    lend: () => plaintext(true),
  };
  return { chunks, wipe, checksums, md5: provenMd5(r, start, length) };
}

/**
 * The MD5 of the copy's bytes, [start, start + length) of `r`, when the record holds it and the
 * read proves the bytes have it: the range is one whole stored stream (a single-part object, or
 * one part) whose ETag is its content MD5 (unencrypted or SSE-S3), and the read checks them
 * against it (unencrypted: matchingMd5s fails the stream before its end otherwise) or
 * authenticates them (SSE-S3: every DARE package under the object key, the final one included).
 * The writer need not hash them again for the copy's own ETag: on one lane, MD5 is what bounds a
 * copy's throughput.
 */
function provenMd5(r: ObjectRecord, start: number, length: number): Buffer | undefined {
  const kind = r.sse?.kind ?? 'none';
  let etag: string | undefined;
  if (r.parts === undefined) {
    if (start === 0 && length === r.size) etag = etagContentMd5(kind, r.etag);
  } else {
    const touched = [...partsInRange(r.parts, start, length)];
    const only = touched.length === 1 ? touched[0]! : undefined;
    if (only !== undefined && only.from === 0 && only.to === only.part.size) etag = etagContentMd5(kind, only.part.etag);
  }
  return etag === undefined ? undefined : Buffer.from(etag, 'hex');
}

/**
 * `source`, its failures on damaged data naming the copy source: the request's error line names
 * the copy's destination, which is not the object an operator has to restore.
 */
async function* namingSource(source: AsyncGenerator<Buffer>, src: CopySource): AsyncGenerator<Buffer> {
  try {
    yield* source;
  } catch (err) {
    if (!isDareError(err) || err.code === 'Aborted') throw err;
    const version = src.versionId === undefined ? '' : ` version ${src.versionId}`;
    throw new DareError(err.code, `copy source /${src.bucket}/${src.key}${version}: ${err.message}`, { cause: err });
  }
}

/** A stretch of a copy's read: `etag`, the MD5 hex its bytes must have (undefined: not checked). */
interface Segment {
  readonly length: number;
  readonly etag: string | undefined;
  /** What it is, for the failure: "part 3 of an unencrypted object". */
  readonly what: string;
}

/** The stretches of [start, start + length) that the parts of an unencrypted object cover: only a part read whole has its MD5 checked. */
function partSegments(parts: readonly PartRecord[], start: number, length: number): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const p of parts) {
    const from = Math.max(at, start);
    const to = Math.min(at + p.size, start + length);
    const whole = from === at && to === at + p.size;
    // An empty part has nothing to read, nor to check.
    if (to > from) out.push({ length: to - from, etag: whole ? etagContentMd5('none', p.etag) : undefined, what: `part ${p.n} of an unencrypted object` });
    at += p.size;
  }
  return out;
}

/**
 * `source` (the plaintext `segments` cover, in order), failing, before the consumer sees its
 * end, when a segment's MD5 is not its `etag`: the copy's write fails and nothing is stored. The
 * failure is a DareError, as for encrypted data that fails authentication: answered
 * XMinioObjectTampered, logged and counted as such.
 */
async function* matchingMd5s(source: AsyncGenerator<Buffer>, segments: readonly Segment[], newMd5: () => Md5Hasher): AsyncGenerator<Buffer> {
  let i = -1;
  let left = 0;
  let md5: Md5Hasher | undefined;
  /** Checks segment i (if it is checked), then starts the next. */
  const next = async (): Promise<void> => {
    const seg = segments[i];
    if (md5 !== undefined && seg?.etag !== undefined) {
      const h = md5;
      md5 = undefined;
      const got = (await h.digest()).toString('hex');
      if (got !== seg.etag) throw new DareError('NotAuthentic', `content MD5 ${got} of ${seg.what}, its ETag says ${seg.etag}: modified or damaged on disk`);
    }
    i++;
    left = segments[i]?.length ?? 0;
    md5 = segments[i]?.etag !== undefined ? newMd5() : undefined;
  };
  try {
    await next();
    for await (const chunk of source) {
      for (let off = 0; off < chunk.length; ) {
        while (left === 0 && i < segments.length) await next();
        // Bytes past the segments (none are read): passed on unchecked.
        const n = i < segments.length ? Math.min(left, chunk.length - off) : chunk.length - off;
        if (md5 !== undefined) {
          md5.update(chunk.subarray(off, off + n));
          await md5.ready();
        }
        off += n;
        left -= n;
      }
      yield chunk;
    }
    // The last segments (and empty ones at the end), checked before the consumer sees the end.
    while (i < segments.length) await next();
  } finally {
    md5?.abort();
  }
}

/** Whether the copy source's record is still the one looked up (same version, same data). */
function stillStored(env: OpsEnv, ctx: RequestContext, src: CopySource): boolean {
  return stillNames(env, ctx, src.key, src.record, { bucket: src.bucket, versionId: src.versionId });
}

/** x-amz-metadata-directive, in capitals as S3 takes it ("copy" is S3's InvalidArgument, as MinIO's). */
function directive(ctx: RequestContext): 'COPY' | 'REPLACE' {
  const d = ctx.headers['x-amz-metadata-directive'] ?? 'COPY';
  if (d !== 'COPY' && d !== 'REPLACE') throw new S3Error('InvalidArgument', 'Unknown metadata directive.');
  return d;
}

/**
 * The copy's ETag is in the body, as on S3, and in an ETag header as well, as MinIO sends it:
 * minio-js's copyObject(CopySourceOptions, CopyDestinationOptions) reads only the header (its
 * result's Etag was '').
 */
function copyResult(etag: string, mtime: number, extra: Record<string, string>, checksums?: Record<string, string>): Result {
  return {
    status: 200,
    headers: { 'content-type': 'application/xml', etag: quoteETag(etag), ...extra },
    body: toXml('CopyObjectResult', { LastModified: isoDate(mtime), ETag: quoteETag(etag), ...checksumElements(checksums, true) }),
  };
}

/** readCopySource's: the source's record changed since the lookup and its data file is gone. */
class SourceReplaced extends Error {
  constructor() {
    super('the copy source was replaced during the copy');
  }
}

/**
 * Runs a copy on its place among the requests moving data through files, taken before the
 * source is looked up: looked up first, a source replaced during a long wait for the place would
 * have lost its data file to the reaper. A source replaced later (while the copy waited on the
 * KMS for its key, say) and reaped sends `run` round again, from its source's lookup, as a GET
 * looks its object up again: the copy is then judged as a fresh request would be (the source's
 * conditions, its customer key, its size), against what the key holds now, and answers
 * NoSuchKey or NoSuchVersion only when that is gone. A copy answered NoSuchKey for a key that was
 * merely overwritten gave up for good (no client retries a 404). After READ_LOOKUPS, 503
 * SlowDown, which the SDKs retry.
 */
export async function withDataPlace(env: OpsEnv, ctx: RequestContext, run: (lease: DataLease | undefined) => Promise<Result>): Promise<Result> {
  const lease = env.dataGate?.lease();
  await lease?.enter(ctx.signal);
  try {
    for (let lookup = 1; ; lookup++) {
      try {
        return await run(lease);
      } catch (err) {
        if (!(err instanceof SourceReplaced)) throw err;
        if (lookup >= READ_LOOKUPS) {
          // A source (or version) deleted by then answers as a fresh request would: 404.
          loadCopySource(env, ctx);
          throw new S3Error('SlowDown', 'The copy source was replaced again and again during the copy; please retry.');
        }
      }
    }
  } finally {
    lease?.leave();
  }
}

export async function handleCopyObject(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  // Its own arguments judged before it waits for a place (and again once it has one): a copy that
  // can never succeed is answered at once, not after the wait, nor as the wait's 503 SlowDown
  // (which clients retry) while the gate is full.
  copyArguments(env, ctx);
  return await withDataPlace(env, ctx, (lease) => copyObject(env, ctx, lease));
}

/**
 * What a copy checks before it looks its source up, in this order: the destination bucket, the
 * write options, the destination's conditions (If-Match, If-None-Match: checked again in the
 * commit), the directives and the checksum algorithm.
 */
function copyArguments(env: OpsEnv, ctx: RequestContext): { dstBucket: BucketRecord; check: ReturnType<typeof writeConditions>; mode: 'COPY' | 'REPLACE'; askedAlgorithm: ChecksumAlgorithm | undefined } {
  const dstBucket = requireBucket(env, ctx.bucket);
  checkWriteOptions(ctx.headers, ctx.query);
  // If-Match / If-None-Match name the destination, as on PutObject (checked again in the commit).
  const check = writeConditions(ctx.headers);
  check?.(env.meta.getObject(ctx.bucket!, ctx.key!));
  // The request's own arguments before the source: a bad one is 400 whether or not it exists.
  const mode = directive(ctx);
  taggingDirective(ctx.headers);
  const rawAlgorithm = ctx.headers['x-amz-checksum-algorithm'];
  const askedAlgorithm = rawAlgorithm !== undefined ? parseChecksumAlgorithm(rawAlgorithm) : undefined;
  return { dstBucket, check, mode, askedAlgorithm };
}

/** The largest source CopyObject copies (and UploadPartCopy without a range): S3's 5 GiB. */
export const MAX_COPY_SOURCE = 5 * 1024 ** 3;

/** S3's answer to a copy of a larger source: the client must copy it in ranges (UploadPartCopy). */
export function copySourceTooLarge(): S3Error {
  return new S3Error('InvalidRequest', `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_SOURCE}`);
}

async function copyObject(env: OpsEnv, ctx: RequestContext, lease: DataLease | undefined): Promise<Result> {
  const dstKey = ctx.key!;
  const { dstBucket, check, mode, askedAlgorithm } = copyArguments(env, ctx);
  const src = loadCopySource(env, ctx);
  // Before anything is read: S3 refuses these at once, whatever the copy would change.
  if (src.record.size > MAX_COPY_SOURCE) throw copySourceTooLarge();
  const encReq = writeEncryption(env, ctx, dstBucket.encryption);
  // The destination's SSE-C key is zeroed however the copy ends.
  try {
    // The same object: the same key, and the current version (copying an older version over its key restores it).
    const current = src.versionId === undefined ? src.record : env.meta.getObject(src.bucket, src.key);
    const sameObject = src.bucket === ctx.bucket && src.key === dstKey && current !== undefined && clientVersionId(current) === clientVersionId(src.record);
    const sseRequested = encReq.kind === 'SSE-C' || ctx.headers['x-amz-server-side-encryption'] !== undefined;

    const requested = collectStoredHeaders(ctx.headers, ctx.query);
    const redirect = requested['x-amz-website-redirect-location'];
    // A website redirect belongs to its object: S3 never copies it, the copy gets the request's.
    const { 'x-amz-website-redirect-location': _sourceRedirect, ...sourceHeaders } = src.record.headers;
    const headers = mode === 'REPLACE' ? requested : { ...sourceHeaders, ...(redirect !== undefined ? { 'x-amz-website-redirect-location': redirect } : {}) };
    const userMeta = mode === 'REPLACE' ? collectUserMeta(ctx.headers, ctx.query) : src.record.userMeta;
    const tags = copyTags(ctx, src.record.tags);
    // Copying the source's tags reads them and writes them: as on S3, a requester needs
    // s3:GetObjectTagging on the source and s3:PutObjectTagging on the copy for that, besides the
    // read and write every copy needs (a user denied the tags could otherwise copy them out).
    if (tags !== undefined && tags.length > 0 && tags === src.record.tags) {
      const who = requestFacts(ctx);
      const read = src.versionId === undefined ? 's3:GetObjectTagging' : 's3:GetObjectVersionTagging';
      if (!userMay(env, ctx.accessKey, read, src.bucket, src.key, who, { existing: { versionId: src.versionId } }) || !userMay(env, ctx.accessKey, 's3:PutObjectTagging', ctx.bucket!, dstKey, who)) {
        throw new S3Error('AccessDenied', 'Copying the source object\'s tags needs s3:GetObjectTagging on it and s3:PutObjectTagging on the copy (or x-amz-tagging-directive: REPLACE).');
      }
    }
    // The copy's own Object Lock settings (or the destination's default), never the source's.
    const lock = lockFromHeaders(dstBucket, ctx.headers, ctx.query, Date.now());
    // A copy the lock will protect only from a request signed with V4, as PutObject (before a byte is read).
    requireLockedSigV4(lock, ctx, 'Copy Object');

    // A copy onto itself must change something: metadata (REPLACE), encryption, the website
    // redirect or the storage class (x-amz-storage-class: STANDARD is how tools "touch" an object),
    // or the checksum. Encryption changes when the request asks for some, when the bucket has its
    // own default (re-encrypting under it), when the source is SSE-KMS (a fresh data key), or when
    // the copy would be stored otherwise than the source is (an unencrypted object under
    // auto-encryption); an SSE-S3 object copied onto itself under auto-encryption alone changes
    // nothing, as S3 (whose every object is SSE-S3 by default) answers it. A copy source naming
    // a version (the current one too) is a plain copy, which S3 accepts as it is: it refuses a
    // copy onto itself only when no version is named (moto #7303, checked against AWS by its
    // maintainer; versitygw #2418).
    const sourceKind = src.record.sse?.kind ?? 'none';
    const encryptionChanges = sseRequested || dstBucket.encryption !== undefined || sourceKind === 'SSE-KMS' || encReq.kind !== sourceKind;
    const changes = redirect !== undefined || ctx.headers['x-amz-storage-class'] !== undefined || askedAlgorithm !== undefined || encryptionChanges;
    if (sameObject && src.versionId === undefined && mode === 'COPY' && !changes) {
      throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.');
    }

    // x-amz-checksum-algorithm (askedAlgorithm): the checksum the copy gets, computed from its
    // bytes. Without one, a multipart source's algorithm: its COMPOSITE value does not describe
    // the copy (a single-part object), so the copy gets a FULL_OBJECT checksum of that algorithm,
    // as on S3.
    const sourceTypes = checksumTypes(src.record);
    const sourceAlgorithm = src.record.parts ? Object.keys(sourceTypes)[0] : undefined;
    const namedAlgorithm = askedAlgorithm ?? (sourceAlgorithm !== undefined ? parseChecksumAlgorithm(sourceAlgorithm) : undefined);
    // SSE-C key rotation in place: reseal the object key under the new customer key, keep the data
    // (unless a checksum the object does not have is asked for: that needs its bytes).
    if (sameObject && src.record.sse?.kind === 'SSE-C' && encReq.kind === 'SSE-C' && (namedAlgorithm === undefined || sourceTypes[namedAlgorithm] !== undefined)) {
      const oldKey = parseCustomerKey(ctx.headers, true);
      if (!oldKey) throw customerKeyMissing();
      let objectKey: Buffer;
      try {
        objectKey = unsealCustomer(src.record.sse, oldKey, src.bucket, src.key);
      } catch (err) {
        oldKey.key.fill(0);
        throw err;
      }
      try {
        const sealed = sealObjectKey(objectKey, encReq.key, 'SSE-C', ctx.bucket!, dstKey);
        const mtime = Date.now();
        const { tags: _sourceTags, retention: _r, legalHold: _h, checksums: _c, sealedChecksums: _s, parts: sourceParts, ...kept } = src.record;
        // The object key stays: checksums sealed under it still open; those an earlier version
        // kept in clear are sealed now (the object's, and each part's under its part key).
        const checksums = openChecksums(src.record, objectKey);
        const record: ObjectRecord = {
          ...kept,
          ...checksumFields(checksums, objectKey),
          ...(sourceParts ? { parts: sourceParts.map((p) => sealedPart(p, objectKey)) } : {}),
          headers,
          userMeta,
          mtime,
          sse: { kind: 'SSE-C', algorithm: sealed.algorithm, iv: sealed.iv, sealedKey: sealed.sealedKey },
          ...tagsField(tags),
          ...lockFields(lockAt(dstBucket, lock, mtime)),
        };
        const events = requestEvents(env, ctx, dstBucket);
        const stored = await env.meta
          .putObject(ctx.bucket!, dstKey, record, inSameBucket(dstBucket, (current) => {
            check?.(current);
            // The data file is shared with the record being replaced: only proceed if it still is that
            // record, judged by its data files (a new write has new ones, whatever its time and ETag:
            // two writes of one millisecond with equal ETags would otherwise pass, and the rotated
            // record would name a file the replaced one had queued for removal).
            if (!current || current.mtime !== src.record.mtime || current.etag !== src.record.etag || !sameFiles(current, src.record)) throw new S3Error('PreconditionFailed', 'The object changed during the key rotation; retry.');
          }), events?.created('s3:ObjectCreated:Copy', dstKey, record))
          .catch(metaError);
        events?.wake();
        // The rotated object is a new one to lifecycle rules (its Last-Modified is now): announced
        // as every other copy announces its expiry.
        return copyResult(record.etag, mtime, { ...versionHeader(stored), ...src.versionHeaders, ...sseResponseHeaders(record.sse, encReq.keyMd5), ...expirationHeader(dstBucket.lifecycle, dstKey, record) }, checksums);
      } finally {
        objectKey.fill(0);
        oldKey.key.fill(0);
        encReq.key.fill(0);
      }
    }

    // A copy that writes the bytes again, of a source with no checksum at all: the copy gets S3's
    // default, a CRC64NVME of its bytes (CopyObjectResult's ChecksumCRC64NVME: present "if the
    // object was uploaded without a checksum (and Amazon S3 added the default checksum,
    // CRC64NVME …)"). A key rotation in place above keeps the object as it is, data and checksums.
    const checksumAlgorithm = namedAlgorithm ?? (Object.keys(sourceTypes).length === 0 ? DEFAULT_CHECKSUM : undefined);
    checkCopySourceKey(ctx, src);
    const enc = encReq.kind === 'none' ? undefined : await createObjectEncryption(env, encReq, ctx.bucket!, dstKey);
    let written: WrittenData | undefined;
    let source: Awaited<ReturnType<typeof readCopySource>> | undefined;
    try {
      // The source's own checksums are kept only when no other is computed and it is single-part.
      source = await readCopySource(env, ctx, src, 0, src.record.size, lease, { checksums: checksumAlgorithm === undefined && !src.record.parts });
      const hasher = checksumAlgorithm === undefined ? undefined : checksumHasher(checksumAlgorithm);
      written = await writeData(dataEnv(env, lease), hasher ? hashing(source.chunks, hasher) : source.chunks, {
        key: enc?.objectKey,
        md5: needsMd5(encReq.kind) && source.md5 === undefined,
        declaredLength: src.record.size,
        signal: ctx.signal,
      });
      // The checksum asked for, or the source's own (a single-part object's is of the same bytes).
      const checksums = hasher !== undefined ? { [checksumAlgorithm!]: await digestBase64(hasher) } : !src.record.parts ? source.checksums : undefined;
      const etag = clientETag(encReq.kind, source.md5 ?? written.md5, enc?.objectKey);
      const mtime = Date.now();
      const record = newObjectRecord(written, { etag, mtime, headers, userMeta, checksums, enc, tags, lock: lockAt(dstBucket, lock, mtime) });
      const events = requestEvents(env, ctx, dstBucket);
      const stored = await env.meta.putObject(ctx.bucket!, dstKey, record, inSameBucket(dstBucket, check), events?.created('s3:ObjectCreated:Copy', dstKey, record)).catch(metaError);
      // Committed: the data file is the object's now, whatever happens to the answer.
      written = undefined;
      events?.wake();
      return copyResult(etag, mtime, { ...versionHeader(stored), ...src.versionHeaders, ...sseResponseHeaders(enc?.record, encReq.kind === 'SSE-C' ? encReq.keyMd5 : undefined), ...expirationHeader(dstBucket.lifecycle, dstKey, record) }, checksums);
    } catch (err) {
      await discardWritten(env, written);
      throw err;
    } finally {
      await source?.wipe();
      enc?.objectKey.fill(0);
    }
  } finally {
    if (encReq.kind === 'SSE-C') encReq.key.fill(0);
  }
}

/** Whether two records name the same data files, in the same order (inline data: none). */
function sameFiles(a: ObjectRecord, b: ObjectRecord): boolean {
  const fa = filesOf(a);
  const fb = filesOf(b);
  return fa.length === fb.length && fa.every((f, i) => f === fb[i]);
}
