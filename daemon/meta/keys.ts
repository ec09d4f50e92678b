// The LMDB key layout of meta/store.ts's tables: bucket and object names as UTF-8 bytes joined by
// NUL (keys hold no NUL; the router refuses them), so byte order is S3's listing order.

import type { ObjectRecord } from './records.js';
import { clientVersionId, stampOf } from './versions.js';

export const SEP = 0x00;
export const ZERO_COPY_END = Buffer.from([0xff, 0xff, 0xff, 0xff]);

// What a request may name is checked against these before it becomes part of a key: lmdb-js
// cannot build a key longer than its buffer (a 5,000-byte listing prefix or upload id was a
// RangeError, answered 500), and nothing longer can be stored anyway.

/** Object keys are at most this many UTF-8 bytes (S3's limit; the router refuses longer ones). */
export const MAX_KEY_BYTES = 1024;
/** Bucket names are at most 63 characters, all ASCII (ops/bucket.ts validBucketName). */
export const MAX_BUCKET_NAME_BYTES = 63;

/** Whether `name` could name a stored bucket (a longer one cannot: it names none). */
export function mayBeBucketName(name: string): boolean {
  return Buffer.byteLength(name) <= MAX_BUCKET_NAME_BYTES;
}

/** No upload id s3d hands out is longer (ops/multipart.ts newUploadId): no longer one is looked up. */
export const MAX_UPLOAD_ID_BYTES = 36;

/**
 * A listing prefix as key bytes, or undefined when it is longer than any key (it matches none).
 */
export function prefixBound(prefix: string): Buffer | undefined {
  const b = Buffer.from(prefix);
  return b.length > MAX_KEY_BYTES ? undefined : b;
}

/**
 * A listing's exclusive lower bound (marker, start-after, key-marker) as key bytes, cut to
 * MAX_KEY_BYTES + 1 bytes: in the store's byte order, a key (at most MAX_KEY_BYTES, so shorter
 * than the cut) sorts after the cut bound exactly when it sorts after the whole one. Within the
 * key's length the two hold the same bytes: the key differs from both at the same byte, or is a
 * prefix of both and sorts before both; it equals neither. The same holds for a common prefix (a
 * key's start). The cut stays bytes: it may end inside a character.
 */
export function markerBound(marker: string): Buffer {
  const b = Buffer.from(marker);
  return b.length > MAX_KEY_BYTES + 1 ? b.subarray(0, MAX_KEY_BYTES + 1) : b;
}

export function objectKey(bucket: string, key: string): Buffer {
  return Buffer.concat([Buffer.from(bucket), Buffer.from([SEP]), Buffer.from(key)]);
}

export function bucketRange(bucket: string): { start: Buffer; end: Buffer } {
  return { start: Buffer.concat([Buffer.from(bucket), Buffer.from([SEP])]), end: Buffer.concat([Buffer.from(bucket), Buffer.from([SEP + 1])]) };
}

/** Stamps are below 2^53: the versions table orders them newest first by `STAMP_TOP - vs`. */
export const STAMP_TOP = 2 ** 53 - 1;

/** `bucket \0 key \0`: every version of one key (keys hold no NUL; the router refuses them). */
export function versionPrefix(bucket: string, key: string): Buffer {
  return Buffer.concat([Buffer.from(bucket), Buffer.from([SEP]), Buffer.from(key), Buffer.from([SEP])]);
}

export function versionKeyOf(bucket: string, key: string, vs: number, versionId: string): Buffer {
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(STAMP_TOP - vs));
  return Buffer.concat([versionPrefix(bucket, key), t, Buffer.from(versionId)]);
}

export function versionKey(bucket: string, key: string, rec: ObjectRecord): Buffer {
  return versionKeyOf(bucket, key, stampOf(rec), clientVersionId(rec));
}

const NULL_ID = Buffer.from('null');

/**
 * The null version a versions-table key names: `bucket NUL key` (its objects-table key) and its
 * stamp; undefined for a version with an id (UUIDs are hex: none ends in `null`).
 */
export function nullVersionOfKey(k: Buffer): { owner: Buffer; vs: number } | undefined {
  const at = k.length - NULL_ID.length;
  if (at < 9 || !k.subarray(at).equals(NULL_ID) || k[at - 9] !== SEP) return undefined;
  return { owner: k.subarray(0, at - 9), vs: STAMP_TOP - Number(k.readBigUInt64BE(at - 8)) };
}

/** The object key bytes of a versions-table key (from the bucket's prefix to the next NUL). */
export function keyOfVersionKey(k: Buffer, base: number): Buffer {
  return k.subarray(base, k.indexOf(SEP, base));
}

export function partKey(uploadId: string, n: number): Buffer {
  const b = Buffer.alloc(Buffer.byteLength(uploadId) + 5);
  b.write(uploadId);
  b[b.length - 5] = SEP;
  b.writeUInt32BE(n, b.length - 4);
  return b;
}

export function uploadIndexKey(bucket: string, key: string, initiated: number, id: string): Buffer {
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(initiated));
  return Buffer.concat([Buffer.from(bucket), Buffer.from([SEP]), Buffer.from(key), Buffer.from([SEP]), t, Buffer.from(id)]);
}
