// One key's changes inside a write transaction of the metadata store: a record made its current
// version (install: MetaStore.putObject, and store-multipart.ts's completeUpload), one delete
// (deleteOne: MetaStore's deletes), and the entries of the versions table and the null-version
// index they move. Each keeps the Versions invariant (docs/architecture.md) within the caller's
// transaction, whose reads see its writes; MetaStore owns the transactions and the buckets table.
// The per-key version reads they build on: store-key-versions.ts.

import { asBinary } from 'lmdb';
import type { DeletionQueue } from './deletion-queue.js';
import type { EncodedRecord } from './record-encoding.js';
import { objectKey, STAMP_TOP, versionKey, versionKeyOf, versionPrefix } from './keys.js';
import type { NullVersionIndex } from './null-index.js';
import { filesOf, isLocked, RECORD_VERSION, type BucketRecord, type ObjectRecord, type VersionedDelete } from './records.js';
import { keyRangeEnd, storedVersions, type KeyTables } from './store-key-versions.js';
import { clientVersionId, nextStamp, stampOf, stampOfId, versionIdFor, NULL_VERSION } from './versions.js';

/** What of MetaStore one key's changes use. */
export interface KeyWriteTables extends KeyTables {
  /** Where a change queues the data files it releases. */
  readonly gc: DeletionQueue;
  /**
   * The null-version index, written with every entry the versions table gains or loses; undefined
   * only in a store opened read-only (MetaStore.nullVersions), which writes nothing.
   */
  readonly nullVersions: NullVersionIndex | undefined;
  /**
   * The current record under an objects-table key, as `objects.get` returns it: from MetaStore's
   * record cache, where a delete or overwrite of a record of many parts decoded it ahead, a slice
   * of its parts to a turn (record-cache.ts prefetch), rather than in one go in the transaction.
   */
  readonly current: (k: Buffer) => ObjectRecord | undefined;
  /** The record under a versions-table key, as `versions.get` returns it: from its own record cache, likewise decoded ahead by a delete. */
  readonly version: (k: Buffer) => ObjectRecord | undefined;
  /** A record just stored as `bytes` under `k` of the objects or versions table, kept decoded (RecordCache.remember). */
  readonly remember: (table: 'objects' | 'versions', k: Buffer, bytes: Buffer, record: ObjectRecord) => void;
}

/** The versions-table keys of bucket/key from `start` on (newest first; older first with `reverse`, towards the key's prefix), up to `limit`, without their records. */
function versionKeys(t: KeyWriteTables, bucket: string, key: string, start: Buffer, limit: number, reverse = false): Buffer[] {
  const end = reverse ? versionPrefix(bucket, key) : keyRangeEnd(bucket, key);
  return [...t.versions.getKeys({ start, end, limit, reverse })].map((k) => Buffer.from(k));
}

/**
 * The newest stamp of bucket/key's versions table, read from its key (STAMP_TOP - stamp, after
 * the prefix): a version of 10,000 parts decoded for it held the event loop ~10-20 ms of a delete
 * marker's commit.
 */
function newestStamp(t: KeyWriteTables, bucket: string, key: string): number {
  const prefix = versionPrefix(bucket, key);
  const [k] = versionKeys(t, bucket, key, prefix, 1);
  return k === undefined ? 0 : STAMP_TOP - Number(k.readBigUInt64BE(prefix.length));
}

/**
 * The versions-table keys whose records a delete of bucket/key (`versionId`, or a delete marker)
 * may read in its transaction: the two newest (the one made current again, the neighbour of a
 * version removed), and the version named (the null version, which a delete marker under
 * Suspended replaces) with its neighbours, whose files releaseFiles keeps. Read without their
 * records, for a delete to decode those of many parts ahead (record-cache.ts prefetch); a record
 * it did not, it decodes in its transaction, as it always could.
 */
export function versionsADeleteReads(t: KeyWriteTables, bucket: string, key: string, versionId: string | undefined): Buffer[] {
  const out = versionKeys(t, bucket, key, versionPrefix(bucket, key), 2);
  const vs = versionStamp(t, bucket, key, versionId ?? NULL_VERSION);
  if (vs !== undefined) {
    const at = versionKeyOf(bucket, key, vs, '');
    out.push(...versionKeys(t, bucket, key, at, 2), ...versionKeys(t, bucket, key, at, 1, true));
  }
  return out;
}

/**
 * The stamp of version `versionId` of bucket/key, its place in the versions table: the one its id
 * carries, or for `null` the null-version index's (undefined without the index, or when the key has
 * no null version there).
 */
export function versionStamp(t: Pick<KeyWriteTables, 'nullVersions'>, bucket: string, key: string, versionId: string): number | undefined {
  return versionId === NULL_VERSION ? t.nullVersions?.stamp(bucket, key) : stampOfId(versionId);
}

/** The newest entry of the versions table for bucket/key. */
export function firstVersion(t: KeyWriteTables, bucket: string, key: string): { k: Buffer; rec: ObjectRecord } | undefined {
  const [k] = versionKeys(t, bucket, key, versionPrefix(bucket, key), 1);
  const rec = k === undefined ? undefined : t.version(k);
  if (k === undefined || rec === undefined) return undefined;
  t.read(1);
  return { k, rec };
}

/** The entry of the versions table holding version `versionId` (`null` too) of bucket/key. */
export function findVersion(t: KeyWriteTables, bucket: string, key: string, versionId: string): { k: Buffer; rec: ObjectRecord } | undefined {
  if (versionId === NULL_VERSION && t.nullVersions === undefined) return storedVersions(t, bucket, key).find((v) => v.rec.versionId === undefined);
  const vs = versionStamp(t, bucket, key, versionId);
  if (vs === undefined) return undefined;
  const k = versionKeyOf(bucket, key, vs, versionId);
  const rec = t.version(k);
  if (rec === undefined) return undefined;
  t.read(1);
  return { k, rec };
}

/**
 * Puts `rec` into the versions table of bucket/key, and indexes it when it is the null version.
 * `bytes`: `rec` as stored in the objects table, written as they are: both tables encode a record
 * the same way (plain msgpack, no shared structures, no compression), and encoding a retired
 * record of 10,000 parts again held the event loop ~30-50 ms of the overwrite's or delete's commit.
 */
function putVersion(t: KeyWriteTables, bucket: string, key: string, rec: ObjectRecord, bytes?: Buffer): void {
  void t.versions.put(versionKey(bucket, key, rec), bytes === undefined ? rec : (asBinary(bytes) as unknown as ObjectRecord));
  t.nullVersions!.added(bucket, key, rec);
}

/** Removes an entry `storedVersions` (store-key-versions.ts) or `findVersion` returned from the versions table, and from the null-version index. */
function removeVersion(t: KeyWriteTables, bucket: string, key: string, v: { k: Buffer; rec: ObjectRecord }): void {
  void t.versions.remove(v.k);
  t.nullVersions!.removed(bucket, key, v.rec);
}

/** `record` as the newest version of bucket/key: its stamp, and its id when versioning is Enabled. */
function stamped(t: KeyWriteTables, b: BucketRecord, key: string, record: ObjectRecord, cur: ObjectRecord | undefined): ObjectRecord {
  const vs = nextStamp(Math.max(cur ? stampOf(cur) : 0, newestStamp(t, b.name, key)));
  const { versionId: _id, vs: _vs, ...rest } = record;
  return b.versioning === 'Enabled' ? { ...rest, vs, versionId: versionIdFor(vs) } : { ...rest, vs };
}

/**
 * Makes way for a new latest version of bucket/key: the current object becomes noncurrent,
 * except under Suspended, where the null version (current or not) is replaced. Returns the
 * versions replaced (to release their files once the transaction's writes are staged).
 */
function retire(t: KeyWriteTables, b: BucketRecord, key: string, cur: ObjectRecord | undefined): ObjectRecord[] {
  const replaced: ObjectRecord[] = [];
  const suspended = b.versioning === 'Suspended';
  if (cur) {
    if (suspended && cur.versionId === undefined) replaced.push(cur);
    else {
      const bytes = t.objects.getBinary(objectKey(b.name, key));
      putVersion(t, b.name, key, cur, bytes);
      if (bytes !== undefined) t.remember('versions', versionKey(b.name, key, cur), bytes, cur);
    }
  }
  if (suspended) {
    const nullVersion = findVersion(t, b.name, key, NULL_VERSION);
    if (nullVersion !== undefined) {
      removeVersion(t, b.name, key, nullVersion);
      replaced.push(nullVersion.rec);
    }
  }
  return replaced;
}

/**
 * Queues the files of `gone` (a version just removed from bucket/key) that no remaining version
 * points at. Versions share a data file only through SSE-C key rotation, which makes the new
 * version the old one's newer neighbour; a run of sharing versions stays contiguous, so the
 * current object and the two versions next to where `gone` stood are all there is to check.
 */
function releaseFiles(t: KeyWriteTables, bucket: string, key: string, gone: ObjectRecord): void {
  const files = filesOf(gone);
  if (files.length === 0) return;
  const held = new Set<string>();
  const cur = t.current(objectKey(bucket, key));
  if (cur) for (const f of filesOf(cur)) held.add(f);
  const at = versionKeyOf(bucket, key, stampOf(gone), '');
  // Through the record cache: a neighbour of 10,000 parts was decoded ahead (versionsADeleteReads).
  for (const k of [...versionKeys(t, bucket, key, at, 1), ...versionKeys(t, bucket, key, at, 1, true)]) {
    t.read(1);
    const value = t.version(k);
    if (value) for (const f of filesOf(value)) held.add(f);
  }
  t.gc.add(files.filter((f) => !held.has(f)));
}

/** Puts `record` as the current object under `k`: as `encoded`'s bytes when they are its own (record-encoding.ts). */
function putCurrent(t: KeyWriteTables, k: Buffer, record: ObjectRecord, encoded: EncodedRecord | undefined): void {
  const bytes = encoded?.bytesOf(record);
  void t.objects.put(k, bytes === undefined ? record : (asBinary(bytes) as unknown as ObjectRecord));
}

/**
 * Makes `record` the current version of bucket/key and returns it as stored (see MetaStore.putObject).
 * `encoded`: the record encoded before the transaction (a completion's: record-encoding.ts), its
 * bytes written when the record stored is it, with or without its version stamp.
 */
export function install(t: KeyWriteTables, b: BucketRecord, key: string, record: ObjectRecord, encoded?: EncodedRecord): ObjectRecord {
  const k = objectKey(b.name, key);
  const cur = t.current(k);
  if (b.versioning === undefined) {
    // A record may keep the old data file (SSE-C key rotation reseals only the key).
    const kept = new Set(filesOf(record));
    if (cur) t.gc.add(filesOf(cur).filter((f) => !kept.has(f)));
    putCurrent(t, k, record, encoded);
    return record;
  }
  const stored = stamped(t, b, key, record, cur);
  const replaced = retire(t, b, key, cur);
  putCurrent(t, k, stored, encoded);
  for (const r of replaced) releaseFiles(t, b.name, key, r);
  return stored;
}

/** One delete (see MetaStore.deleteObject); undefined when `versionId` names no version, `locked` when Object Lock keeps it. */
export function deleteOne(t: KeyWriteTables, b: BucketRecord, key: string, versionId: string | undefined, now: number, bypassGovernance = false): VersionedDelete | undefined {
  const k = objectKey(b.name, key);
  const cur = t.current(k);
  if (versionId === undefined && b.versioning === undefined) {
    if (!cur) return {};
    t.gc.add(filesOf(cur));
    void t.objects.remove(k);
    return { removed: cur };
  }
  if (versionId === undefined) {
    const marker = stamped(t, b, key, { v: RECORD_VERSION, size: 0, etag: '', mtime: now, headers: {}, userMeta: {}, stored: 0, deleteMarker: true }, cur);
    const replaced = retire(t, b, key, cur);
    if (cur) void t.objects.remove(k);
    putVersion(t, b.name, key, marker);
    for (const r of replaced) releaseFiles(t, b.name, key, r);
    return { marker };
  }
  let removed: ObjectRecord;
  if (cur !== undefined && clientVersionId(cur) === versionId) {
    if (isLocked(cur, now, bypassGovernance)) return { locked: true };
    removed = cur;
    void t.objects.remove(k);
  } else {
    const found = findVersion(t, b.name, key, versionId);
    if (!found) return undefined;
    if (isLocked(found.rec, now, bypassGovernance)) return { locked: true };
    removed = found.rec;
    removeVersion(t, b.name, key, found);
  }
  // With no current object left, the newest remaining version becomes current unless it is a marker.
  let emptied = false;
  if (!t.objects.doesExist(k)) {
    const head = firstVersion(t, b.name, key);
    emptied = head === undefined;
    if (head && !head.rec.deleteMarker) {
      // Moved as its bytes (both tables encode a record alike: putVersion), and kept decoded for
      // releaseFiles' read of the current object: encoding and decoding a version of 10,000 parts
      // again held the event loop ~40-90 ms of the commit.
      const bytes = t.versions.getBinary(head.k);
      removeVersion(t, b.name, key, head);
      void t.objects.put(k, bytes === undefined ? head.rec : (asBinary(bytes) as unknown as ObjectRecord));
      if (bytes !== undefined) t.remember('objects', k, bytes, head.rec);
    }
  }
  // A null version's id carries no place: where it sat is kept for ListObjectVersions' `null`
  // markers while the key keeps other versions (an unversioned bucket's key keeps none).
  if (emptied) t.nullVersions!.keyGone(b.name, key);
  else if (removed.versionId === undefined) t.nullVersions!.nullGone(b.name, key, stampOf(removed));
  releaseFiles(t, b.name, key, removed);
  return { removed };
}
