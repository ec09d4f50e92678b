// The LMDB key layout of meta/store.ts's tables: bucket and object names as UTF-8 bytes joined by
// NUL (keys hold no NUL; the router refuses them), so byte order is S3's listing order.

import type { ObjectRecord } from './records.js';
import { clientVersionId, stampOf } from './versions.js';

export const SEP = 0x00;
export const ZERO_COPY_END = Buffer.from([0xff, 0xff, 0xff, 0xff]);

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
