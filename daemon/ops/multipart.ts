// Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts and
// ListMultipartUploads. The object key is generated and sealed once at Create; each part is its
// own DARE stream under its part key. Complete is one atomic, durable LMDB commit.

import { createHash } from 'node:crypto';
import { secureRandom } from '../../workers/format/random.js';
import { S3Error } from '../errors.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord, type UploadRecord } from '../meta/records.js';
import { clientETag, createObjectEncryption, sseResponseHeaders, unsealCustomer, unsealForRead } from '../sse/object-encryption.js';
import { derivePartKey } from '../sse/object-key.js';
import { parseCustomerKey } from '../sse/params.js';
import { loadCopySource, readCopySource } from './copy.js';
import { metaError, requireBucket, type OpsEnv } from './env.js';
import { writeData, type WrittenData } from './object-data.js';
import { tagsField, tagsFromHeader } from './tagging.js';
import { requestEvents } from './notification.js';
import { collectStoredHeaders, collectUserMeta, parseRange, quoteETag, writeConditions } from './object-headers.js';
import { completedLock, lockFields, lockFromHeaders } from './object-lock.js';
import { checksumHeaders, contentMd5, dataEnv, declaredLength, discardWritten, needsMd5, versionHeader, writeEncryption } from './object.js';
import { intParam, keyEncoder } from './query.js';
import type { RequestContext, Result } from './types.js';
import { isoDate, parseXml, toXml, type XmlObject } from './xml.js';

const XML = { 'content-type': 'application/xml' };
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_SIZE = 5 * 1024 ** 3;
const MAX_PARTS = 10000;

/** Every object and upload belongs to the one user, the root user (whoever lists them: an
 *  anonymous request admitted by a bucket policy has no identity of its own). */
function owner(env: OpsEnv): XmlObject {
  return { ID: env.config.rootUser, DisplayName: env.config.rootUser };
}

function loadUpload(env: OpsEnv, ctx: RequestContext): UploadRecord {
  requireBucket(env, ctx.bucket);
  const id = ctx.query.get('uploadId') ?? '';
  const up = id === '' ? undefined : env.meta.getUpload(id);
  if (!up || up.bucket !== ctx.bucket || up.key !== ctx.key) throw new S3Error('NoSuchUpload');
  return up;
}

function partNumber(ctx: RequestContext): number {
  const raw = ctx.query.get('partNumber') ?? '';
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PARTS) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.');
  }
  return Number(raw);
}

/** The object key of an upload, for sealing a part. SSE-C parts must repeat the customer key. */
async function uploadObjectKey(env: OpsEnv, ctx: RequestContext, up: UploadRecord): Promise<Buffer | undefined> {
  const ck = parseCustomerKey(ctx.headers);
  if (!up.sse) {
    if (ck) throw new S3Error('InvalidRequest', 'The upload was initiated without encryption: SSE-C headers are not applicable.');
    return undefined;
  }
  if (up.sse.kind === 'SSE-C') {
    if (!ck) throw new S3Error('InvalidRequest', 'The multipart upload was initiated with SSE-C: every part must carry the same customer key.');
    return unsealCustomer(up.sse, ck, up.bucket, up.key);
  }
  if (ck) throw new S3Error('InvalidRequest', 'SSE-C headers are not applicable to an upload encrypted with SSE-S3 or SSE-KMS.');
  return unsealForRead(env, up.sse, {}, up.bucket, up.key);
}

export async function handleCreateMultipartUpload(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const bucket = requireBucket(env, ctx.bucket);
  const encReq = writeEncryption(env, ctx, bucket.encryption);
  const enc = encReq.kind === 'none' ? undefined : await createObjectEncryption(env, encReq, ctx.bucket!, ctx.key!);
  enc?.objectKey.fill(0);
  if (encReq.kind === 'SSE-C') encReq.key.fill(0);
  const checksumAlgorithm = ctx.headers['x-amz-checksum-algorithm']?.toUpperCase();
  const tags = tagsFromHeader(ctx.headers, ctx.query);
  // Explicit Object Lock settings are kept with the upload; the bucket's default applies at completion.
  const lock = lockFromHeaders(bucket, ctx.headers, ctx.query, Date.now(), false);
  const upload: UploadRecord = {
    v: RECORD_VERSION,
    id: secureRandom(24).toString('base64url'),
    bucket: ctx.bucket!,
    key: ctx.key!,
    initiated: Date.now(),
    headers: collectStoredHeaders(ctx.headers, ctx.query),
    userMeta: collectUserMeta(ctx.headers, ctx.query),
    ...(enc ? { sse: enc.record } : {}),
    ...(checksumAlgorithm ? { checksumAlgorithm } : {}),
    ...tagsField(tags),
    ...lockFields(lock),
  };
  await env.meta.createUpload(upload).catch(metaError);
  return {
    status: 200,
    headers: { ...XML, ...sseResponseHeaders(upload.sse, bucket.encryption?.bucketKeyEnabled), ...(checksumAlgorithm ? { 'x-amz-checksum-algorithm': checksumAlgorithm } : {}) },
    body: toXml('InitiateMultipartUploadResult', { Bucket: upload.bucket, Key: upload.key, UploadId: upload.id }),
  };
}

async function storePart(
  env: OpsEnv,
  ctx: RequestContext,
  up: UploadRecord,
  n: number,
  source: AsyncIterable<Buffer>,
  length: number | undefined,
  objectKey: Buffer | undefined,
  checksums: () => Record<string, string>,
  knownMd5?: Buffer,
): Promise<PartRecord> {
  const partKey = objectKey ? derivePartKey(objectKey, n) : undefined;
  const kind = up.sse?.kind ?? 'none';
  let written: WrittenData | undefined;
  try {
    written = await writeData(dataEnv(env), source, { key: partKey, md5: needsMd5(kind) && !knownMd5, declaredLength: length, signal: ctx.signal });
    if (length !== undefined && written.size !== length) throw new S3Error('IncompleteBody');
    if (written.size > MAX_PART_SIZE) throw new S3Error('EntityTooLarge');
    const etag = clientETag(kind, knownMd5 ?? written.md5, partKey);
    const sums = checksums();
    const part: PartRecord = {
      v: RECORD_VERSION,
      n,
      size: written.size,
      stored: written.stored,
      etag,
      data: written.data,
      mtime: Date.now(),
      ...(Object.keys(sums).length > 0 ? { checksums: sums } : {}),
    };
    await env.meta.putPart(up.id, part).catch(metaError);
    return part;
  } catch (err) {
    await discardWritten(env, written);
    throw err;
  } finally {
    partKey?.fill(0);
  }
}

export async function handleUploadPart(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const n = partNumber(ctx);
  const up = loadUpload(env, ctx);
  const length = declaredLength(ctx);
  if (length !== undefined && length > MAX_PART_SIZE) throw new S3Error('EntityTooLarge');
  const objectKey = await uploadObjectKey(env, ctx, up);
  try {
    const part = await storePart(env, ctx, up, n, ctx.body, length, objectKey, () => ctx.body.verifiedChecksums(), contentMd5(ctx));
    return { status: 200, headers: { etag: quoteETag(part.etag), ...sseResponseHeaders(up.sse), ...checksumHeaders(part.checksums) }, bytesIn: part.size };
  } finally {
    objectKey?.fill(0);
  }
}

export async function handleUploadPartCopy(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const n = partNumber(ctx);
  const up = loadUpload(env, ctx);
  if (ctx.headers['x-amz-server-side-encryption-aws-kms-key-id'] !== undefined) {
    throw new S3Error('NotImplemented', 'SSE-KMS headers are not applicable to UploadPartCopy: the part follows the upload.');
  }
  const src = loadCopySource(env, ctx);
  let start = 0;
  let end = src.record.size - 1;
  const rangeHeader = ctx.headers['x-amz-copy-source-range'];
  if (rangeHeader !== undefined) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim());
    if (!m) throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last.');
    const r = parseRange(rangeHeader, src.record.size);
    if (!r || Number(m[2]) >= src.record.size) throw new S3Error('InvalidRange', 'The x-amz-copy-source-range is not satisfiable.');
    start = r.start;
    end = r.end;
  }
  const length = Math.max(0, end - start + 1);
  const objectKey = await uploadObjectKey(env, ctx, up);
  const source = await readCopySource(env, ctx, src, start, length);
  try {
    const part = await storePart(env, ctx, up, n, source.chunks, length, objectKey, () => ({}));
    return {
      status: 200,
      headers: { ...XML, ...src.versionHeaders, ...sseResponseHeaders(up.sse) },
      body: toXml('CopyPartResult', { LastModified: isoDate(part.mtime), ETag: quoteETag(part.etag) }),
    };
  } finally {
    await source.wipe();
    objectKey?.fill(0);
  }
}

interface RequestedPart {
  n: number;
  etag: string;
}

function parseCompleteBody(body: Buffer): RequestedPart[] {
  const doc = parseXml(body);
  const root = doc.CompleteMultipartUpload as Record<string, unknown> | undefined;
  if (!root || typeof root !== 'object') throw new S3Error('MalformedXML');
  const parts = root.Part as unknown[] | undefined;
  if (!Array.isArray(parts) || parts.length === 0) throw new S3Error('MalformedXML', 'The CompleteMultipartUpload document must list at least one Part.');
  if (parts.length > MAX_PARTS) throw new S3Error('MalformedXML', 'Too many parts.');
  return parts.map((p) => {
    const rec = p as Record<string, unknown>;
    const num = rec.PartNumber;
    const etag = rec.ETag;
    if (typeof num !== 'string' || !/^\d+$/.test(num) || typeof etag !== 'string') throw new S3Error('MalformedXML', 'Each Part needs a PartNumber and an ETag.');
    return { n: Number(num), etag: etag.replace(/^"|"$/g, '').replace(/^&quot;|&quot;$/g, '') };
  });
}

/** S3's multipart ETag: MD5 of the concatenated binary part ETags, then "-N". */
export function multipartETag(etags: string[]): string {
  const h = createHash('md5');
  for (const e of etags) h.update(Buffer.from(e, 'hex'));
  return `${h.digest('hex')}-${etags.length}`;
}

export async function handleCompleteMultipartUpload(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const up = loadUpload(env, ctx);
  const check = writeConditions(ctx.headers);
  check?.(env.meta.getObject(up.bucket, up.key));
  const requested = parseCompleteBody(await ctx.body.readAll(4 * 1024 * 1024));
  const stored = new Map(env.meta.listParts(up.id).map((p) => [p.n, p]));
  const parts: PartRecord[] = [];
  let prev = 0;
  for (const r of requested) {
    if (r.n <= prev) throw new S3Error('InvalidPartOrder');
    prev = r.n;
    const p = stored.get(r.n);
    if (!p || p.etag !== r.etag) throw new S3Error('InvalidPart', `Part ${r.n} was not uploaded or its ETag does not match.`);
    parts.push(p);
  }
  for (let i = 0; i < parts.length - 1; i++) {
    if (parts[i]!.size < MIN_PART_SIZE) throw new S3Error('EntityTooSmall', `Part ${parts[i]!.n} is smaller than the 5 MiB minimum.`);
  }
  const etag = multipartETag(parts.map((p) => p.etag));
  const record: ObjectRecord = {
    v: RECORD_VERSION,
    size: parts.reduce((a, p) => a + p.size, 0),
    etag,
    mtime: Date.now(),
    headers: up.headers,
    userMeta: up.userMeta,
    stored: parts.reduce((a, p) => a + p.stored, 0),
    parts,
    ...(up.sse ? { sse: up.sse } : {}),
    ...tagsField(up.tags),
    ...completedLock(env.meta.getBucket(up.bucket), up, Date.now()),
  };
  const events = requestEvents(env, ctx, env.meta.getBucket(up.bucket));
  const installed = await env.meta.completeUpload(up, record, check, events?.created('s3:ObjectCreated:CompleteMultipartUpload', up.key, record)).catch(metaError);
  events?.wake();
  const bucket = env.meta.getBucket(up.bucket);
  return {
    status: 200,
    headers: { ...XML, ...versionHeader(installed), ...sseResponseHeaders(up.sse, bucket?.encryption?.bucketKeyEnabled) },
    body: toXml('CompleteMultipartUploadResult', {
      Location: `/${up.bucket}/${encodeURIComponent(up.key)}`,
      Bucket: up.bucket,
      Key: up.key,
      ETag: quoteETag(etag),
    }),
  };
}

export async function handleAbortMultipartUpload(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const up = loadUpload(env, ctx);
  await env.meta.abortUpload(up.id).catch(metaError);
  return { status: 204 };
}

export async function handleListParts(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const up = loadUpload(env, ctx);
  const max = intParam(ctx.query, 'max-parts', 1000, 1000);
  const marker = intParam(ctx.query, 'part-number-marker', 0, MAX_PARTS);
  const parts = env.meta.listParts(up.id, marker, max + 1);
  const truncated = parts.length > max;
  const page = parts.slice(0, max);
  const body: XmlObject = {
    Bucket: up.bucket,
    Key: up.key,
    UploadId: up.id,
    Initiator: owner(env),
    Owner: owner(env),
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    ...(page.length > 0 ? { NextPartNumberMarker: page[page.length - 1]!.n } : {}),
    MaxParts: max,
    IsTruncated: truncated,
    ...(up.checksumAlgorithm ? { ChecksumAlgorithm: up.checksumAlgorithm } : {}),
    Part: page.map((p) => ({
      PartNumber: p.n,
      LastModified: isoDate(p.mtime),
      ETag: quoteETag(p.etag),
      Size: p.size,
      ...Object.fromEntries(Object.entries(p.checksums ?? {}).map(([alg, v]) => [`Checksum${alg}`, v])),
    })),
  };
  return { status: 200, headers: { ...XML, ...sseResponseHeaders(up.sse) }, body: toXml('ListPartsResult', body) };
}

export async function handleListMultipartUploads(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  requireBucket(env, ctx.bucket);
  const q = ctx.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const uploadIdMarker = q.get('upload-id-marker') ?? '';
  const max = intParam(q, 'max-uploads', 1000, 1000);
  const { enc } = keyEncoder(q);
  const uploads: UploadRecord[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  // Where the next page starts: the last upload, or the last common prefix (no upload id).
  let nextKey: string | undefined;
  let nextId: string | undefined;
  let cursorKey = keyMarker;
  let cursorId = uploadIdMarker;
  const markerBytes = Buffer.from(keyMarker);
  // Common prefixes collapse many uploads into one entry: read until max entries are collected
  // and one more entry proves the listing is truncated.
  page: for (;;) {
    const r = env.meta.listUploads(ctx.bucket!, { prefix, keyMarker: cursorKey, uploadIdMarker: cursorId, limit: max + 1 });
    for (const u of r.uploads) {
      cursorKey = u.key;
      cursorId = u.id;
      const i = delimiter === '' ? -1 : u.key.indexOf(delimiter, prefix.length);
      if (i >= 0) {
        const cp = u.key.slice(0, i + delimiter.length);
        if (prefixes[prefixes.length - 1] === cp) continue;
        // A key marker at or inside this prefix: an earlier page already listed it.
        if (keyMarker !== '' && Buffer.compare(Buffer.from(cp), markerBytes) <= 0) continue;
        if (uploads.length + prefixes.length >= max) {
          truncated = true;
          break page;
        }
        prefixes.push(cp);
        nextKey = cp;
        nextId = undefined;
      } else {
        if (uploads.length + prefixes.length >= max) {
          truncated = true;
          break page;
        }
        uploads.push(u);
        nextKey = u.key;
        nextId = u.id;
      }
    }
    if (!r.isTruncated) break;
  }
  const body: XmlObject = {
    Bucket: ctx.bucket!,
    KeyMarker: enc(keyMarker),
    UploadIdMarker: uploadIdMarker,
    ...(truncated && nextKey !== undefined ? { NextKeyMarker: enc(nextKey), ...(nextId !== undefined ? { NextUploadIdMarker: nextId } : {}) } : {}),
    ...(prefix !== '' ? { Prefix: enc(prefix) } : {}),
    ...(delimiter !== '' ? { Delimiter: enc(delimiter) } : {}),
    MaxUploads: max,
    IsTruncated: truncated,
    Upload: uploads.map((u) => ({
      Key: enc(u.key),
      UploadId: u.id,
      Initiator: owner(env),
      Owner: owner(env),
      StorageClass: 'STANDARD',
      Initiated: isoDate(u.initiated),
    })),
    CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
  };
  return { status: 200, headers: XML, body: toXml('ListMultipartUploadsResult', body) };
}
