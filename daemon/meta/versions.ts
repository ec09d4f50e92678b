// Version ids and their order. A version id is a UUIDv7 (RFC 9562): 48 bits of milliseconds,
// then 12 bits (`rand_a`) holding a sequence within the millisecond (0–1023), then random bits.
// The milliseconds and the sequence are the version's order stamp (`vs` = ms × 1024 + sequence,
// below 2^53 until the year 2248), so the versions table can be keyed newest first by stamp and a
// version found from its id with one lookup. The `null` version (written while a bucket was
// unversioned or Suspended) has no id; its stamp is kept in its record.

import { randomFillSync } from 'node:crypto';
import type { ObjectRecord } from './records.js';

export const NULL_VERSION = 'null';

const SEQ = 1024;
let last = 0;

/** A stamp later than every stamp this process made before and later than `after`. */
export function nextStamp(after = 0, now = Date.now()): number {
  const s = Math.max(now * SEQ, last + 1, after + 1);
  last = s;
  return s;
}

/** The order stamp of a record (records older than versioning: their mtime). */
export function stampOf(rec: Pick<ObjectRecord, 'vs' | 'mtime'>): number {
  return rec.vs ?? rec.mtime * SEQ;
}

/**
 * A short digest of a key's versions (newest first): any write or removal changes it (the count,
 * or with a Suspended write that replaces the null version, the newest stamp).
 */
export function versionsFingerprint(versions: ReadonlyArray<{ record: Pick<ObjectRecord, 'vs' | 'mtime'> }>): string {
  if (versions.length === 0) return '0';
  return `${versions.length}:${stampOf(versions[0]!.record)}:${stampOf(versions[versions.length - 1]!.record)}`;
}

/**
 * When a record was written (ms): its stamp's time, which is the commit's. Not its mtime, which is
 * Last-Modified: a completed multipart upload's is its initiation, as on S3, possibly days earlier.
 */
export function writtenAt(rec: Pick<ObjectRecord, 'vs' | 'mtime'>): number {
  return Math.floor(stampOf(rec) / SEQ);
}

const rand = Buffer.alloc(8 * 256);
let randPos = rand.length;

/** The UUIDv7 for stamp `vs`. */
export function versionIdFor(vs: number): string {
  const b = Buffer.alloc(16);
  const ms = Math.floor(vs / SEQ);
  const seq = vs % SEQ;
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  if (randPos === rand.length) {
    randomFillSync(rand);
    randPos = 0;
  }
  rand.copy(b, 8, randPos, randPos + 8);
  randPos += 8;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The stamp a version id names, or undefined when it is not one of ours (it then names no version). */
export function stampOfId(id: string): number | undefined {
  if (!UUID7.test(id)) return undefined;
  const h = id.replace(/-/g, '');
  const ms = parseInt(h.slice(0, 12), 16);
  const seq = parseInt(h.slice(13, 16), 16);
  // Stamps stay below 2^53 (the versions table inverts them): ids past the year 2248 are not ours.
  if (seq >= SEQ || ms >= 2 ** 43) return undefined;
  return ms * SEQ + seq;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether `id` has the shape of a version id (a UUID as s3d writes them, or `null`): anything
 * else is S3's 400 "Invalid version id specified"; a UUID that names nothing is NoSuchVersion.
 */
export function isVersionIdShape(id: string): boolean {
  return id === NULL_VERSION || UUID.test(id);
}

/** The id a client sees for a record (`null` for the null version). */
export function clientVersionId(rec: Pick<ObjectRecord, 'versionId'>): string {
  return rec.versionId ?? NULL_VERSION;
}
