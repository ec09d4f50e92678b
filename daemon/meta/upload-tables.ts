// The multipart tables: uploads by id, the upload index (bucket, key, initiation time, id → id;
// ListMultipartUploads' order), parts (upload id, part number) and finished uploads (upload id →
// the part numbers a completion kept: uploads completed or aborted whose part records are still
// being removed, a batch at a time, after the commit that ended them). Reads, and changes made inside
// MetaStore's write transactions: MetaStore owns the transactions and the deletion queue, so a
// change here returns the data files it released instead of queueing them.

import type { Database, RootDatabase, Transaction } from 'lmdb';
import { MetaConflict } from './commit-errors.js';
import { orAbsent } from './absent-table.js';
import { bucketRange, MAX_UPLOAD_ID_BYTES, partKey, uploadIndexKey } from './keys.js';
import type { UploadListingTables } from './listing.js';
import { filesOf, storedFilesOf, type ObjectRecord, type PartRecord, type StoredFile, type UploadRecord } from './records.js';

/**
 * Part records as a completion read them (MetaStore.partsOfUpload), each with the bytes it was
 * stored as: its commit compares those bytes with the part as it is then (currentParts), rather
 * than decoding 10,000 parts again inside the transaction, where they held the event loop ~40 ms.
 */
export interface StoredParts {
  readonly parts: PartRecord[];
  readonly bytes: ReadonlyMap<number, Buffer>;
  /**
   * The upload's part-write count (UploadRecord.partWrites) read before the first part: while it
   * is the same in the commit no part was written since, and the parts are not compared at all.
   * Undefined for an upload no part was stored for by a version that counts them.
   */
  readonly partWrites?: number;
}

/**
 * An upload's part-write count as a commit may trust it: a safe integer, which every part write
 * changes. One past 2^53 (+1 leaves a double unchanged), not finite or not a number is none: the
 * parts are compared, and the next part write starts the count again.
 */
export function partWriteCount(v: unknown): number | undefined {
  return Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined;
}

/** What decodes a part record: the msgpack decoder lmdb-js made for the table. */
interface PartDecoder {
  decode(bytes: Uint8Array): PartRecord;
}

/**
 * A finished upload whose part records are still to be removed (UploadTables.finish): the part
 * numbers the completed object keeps, whose files are the object's; the other parts' files are
 * released as their records go. An abort keeps none.
 */
interface FinishedUpload {
  readonly keep: number[];
}

export class UploadTables implements UploadListingTables {
  readonly uploads: Database<UploadRecord, string>;
  readonly #finished: Database<FinishedUpload, string>;
  readonly uploadIndex: Database<string, Buffer>;
  readonly parts: Database<PartRecord, Buffer>;
  /** A second handle of the parts table, never written: the records as stored, undecoded. */
  readonly #partBytes: Database<Buffer, Buffer>;

  /** `uploadRead` counts one upload record read by a listing or a scan (MetaStore.uploadEntriesRead). */
  constructor(
    root: RootDatabase,
    values: { useRecords: false },
    readonly uploadRead: () => void,
  ) {
    this.uploads = root.openDB({ name: 'uploads', ...values });
    this.uploadIndex = root.openDB({ name: 'upload-index', keyEncoding: 'binary' });
    this.parts = root.openDB({ name: 'parts', keyEncoding: 'binary', ...values });
    this.#partBytes = root.openDB({ name: 'parts', keyEncoding: 'binary', encoding: 'binary' });
    // Missing from a store opened read-only that an earlier version wrote: read as empty (absent-table.ts).
    this.#finished = orAbsent(root.openDB({ name: 'finished-uploads', ...values }), 'finished-uploads');
  }

  /**
   * The data files the part records name, one record at a time (the reference snapshot), but for
   * the parts a completed upload's object keeps while their records wait for sweepFinished: those
   * files are the object's, released with it (an object deleted before the sweep got to them queued
   * them; a record still naming one made `s3d backup` take it, once reaped, for a missing file).
   */
  *partFiles(transaction?: Transaction): Generator<StoredFile[]> {
    const opts = transaction === undefined ? {} : { transaction };
    const kept = new Map<string, ReadonlySet<number>>();
    for (const { key, value } of this.#finished.getRange(opts)) if (value.keep.length > 0) kept.set(key, new Set(value.keep));
    for (const { key, value } of this.parts.getRange(opts)) {
      if (kept.size > 0) {
        const k = key as Buffer;
        if (kept.get(k.toString('utf8', 0, k.length - 5))?.has(k.readUInt32BE(k.length - 4)) === true) continue;
      }
      yield storedFilesOf({ parts: [value] });
    }
  }

  /** Whether finished uploads still have part records to remove (sweepFinished). */
  hasFinished(): boolean {
    for (const _ of this.#finished.getKeys({ limit: 1 })) return true;
    return false;
  }

  /** The upload `id` names; undefined for an id longer than s3d's are (it is not looked up). */
  getUpload(id: string): UploadRecord | undefined {
    return Buffer.byteLength(id) > MAX_UPLOAD_ID_BYTES ? undefined : this.uploads.get(id);
  }

  /**
   * Uploads initiated before `time` (ms), in id order: among `limit` after id `after` (`next`:
   * where the following page starts; `read`: upload records read), in `transaction` if given.
   */
  initiatedBefore(time: number, after: string, limit: number, transaction?: Transaction): { uploads: UploadRecord[]; next?: string; read: number } {
    const out: UploadRecord[] = [];
    let read = 0;
    let last: string | undefined;
    for (const { key, value } of this.uploads.getRange({ ...(after === '' ? {} : { start: after }), ...(transaction === undefined ? {} : { transaction }) })) {
      if (key === after) continue;
      if (read++ === limit) return { uploads: out, next: last, read };
      last = key;
      if (value.initiated < time) out.push(value);
    }
    return { uploads: out, read };
  }

  /** A bucket's uploads, in index order. */
  *ofBucket(bucket: string): Generator<UploadRecord> {
    const { start, end } = bucketRange(bucket);
    for (const { value: id } of this.uploadIndex.getRange({ start, end })) {
      const upload = this.uploads.get(id);
      if (upload) yield upload;
    }
  }

  /**
   * A bucket's uploads removed in index order, stopping after the one whose parts bring those
   * removed to `maxParts` (parts counted as removeSome counts them). `more`: whether any remain.
   */
  removeOfBucket(bucket: string, maxParts: number): { released: string[]; more: boolean } {
    const released: string[] = [];
    let parts = 0;
    for (const upload of this.ofBucket(bucket)) {
      if (parts >= maxParts) return { released, more: true };
      parts += Math.max(1, this.#remove(upload, new Set(), released));
    }
    return { released, more: false };
  }

  listParts(uploadId: string, afterPart: number, limit: number): PartRecord[] {
    const start = partKey(uploadId, afterPart + 1);
    const end = partKey(uploadId, 0xffffffff);
    return [...this.parts.getRange({ start, end, limit }).map(({ value }) => value)];
  }

  /** listParts, each part with the bytes it is stored as (decoded by the table's decoder). */
  readParts(uploadId: string, afterPart: number, limit: number): Array<{ part: PartRecord; bytes: Buffer }> {
    const start = partKey(uploadId, afterPart + 1);
    const end = partKey(uploadId, 0xffffffff);
    const decoder = (this.parts as unknown as { decoder: PartDecoder }).decoder;
    return [...this.#partBytes.getRange({ start, end, limit }).map(({ value }) => ({ part: decoder.decode(value), bytes: value }))];
  }

  // ---- inside a write transaction

  add(upload: UploadRecord): void {
    void this.uploads.put(upload.id, upload);
    void this.uploadIndex.put(uploadIndexKey(upload.bucket, upload.key, upload.initiated, upload.id), upload.id);
  }

  /** Stores part `part.n` of the upload; the files of the part it replaces are released. */
  putPart(uploadId: string, part: PartRecord): string[] {
    const up = this.uploads.get(uploadId);
    if (!up) throw new MetaConflict('NoSuchUpload');
    // Counted in the same transaction: a completion that read the parts with another count
    // compares them in its commit (currentParts).
    // From 0 again past the largest safe count: a completion reading one of them then was
    // 2^53 part writes ago.
    const w = partWriteCount(up.partWrites) ?? 0;
    void this.uploads.put(uploadId, { ...up, partWrites: w < Number.MAX_SAFE_INTEGER ? w + 1 : 0 });
    const k = partKey(uploadId, part.n);
    const old = this.parts.get(k);
    void this.parts.put(k, part);
    return old ? filesOf({ parts: [old] }) : [];
  }

  /**
   * `record`'s parts as they are now. The caller read them before this transaction: a part
   * re-uploaded since then has had its old file released, so the record must not point at it.
   * Re-uploaded with the same bytes (an MD5 ETag, the same sizes) it is still the part the client
   * listed, as on S3: the record takes it as it is now. Another part is InvalidPart. A part
   * whose stored bytes are still those `read` (the read the record was made from) has not changed:
   * it is not decoded again. None is looked at when `now` (the upload as it is in this
   * transaction) counts as many part writes as `read` did: nothing changed the parts since
   * (10,000 compared held the event loop ~20 ms). Every change to an upload's parts is a putPart,
   * which counts it, or removes the upload.
   */
  currentParts(uploadId: string, record: ObjectRecord, read?: StoredParts, now?: UploadRecord): ObjectRecord {
    if (record.parts === undefined) return record;
    const counted = partWriteCount(read?.partWrites);
    if (counted !== undefined && now?.partWrites === counted) return record;
    let changed = false;
    const parts = record.parts.map((p) => {
      const k = partKey(uploadId, p.n);
      const was = read?.bytes.get(p.n);
      if (was !== undefined && this.#storedAs(k, was)) return p;
      const cur = this.parts.get(k);
      if (!cur || cur.etag !== p.etag || cur.size !== p.size || cur.stored !== p.stored) throw new MetaConflict('InvalidPart', p.n);
      if (filesOf({ parts: [cur] }).join() === filesOf({ parts: [p] }).join()) return p;
      changed = true;
      return cur;
    });
    // The record itself when none changed: it was encoded before the transaction (record-encoding.ts).
    return changed ? { ...record, parts } : record;
  }

  /** Whether the record stored under `k` is `bytes`. */
  #storedAs(k: Buffer, bytes: Buffer): boolean {
    // lmdb-js's shared read buffer, compared before the next read overwrites it; its `length` is
    // the value's (an own property), the buffer under it longer.
    const now = this.#partBytes.getBinaryFast(k);
    return now !== undefined && now.length === bytes.length && bytes.equals(now.subarray(0, now.length));
  }

  /**
   * The uploads of `ids` still in progress removed in order, stopping after the one whose parts
   * bring those removed to `maxParts` (the stale-upload sweep's batch: its commit stays bounded
   * however many parts its uploads have). Parts are counted, not their files: an inline part has
   * none, yet its record (with its data) is removed too. `done`: how many of `ids` it went through.
   */
  removeSome(ids: readonly string[], maxParts: number): { done: number; aborted: number; released: string[] } {
    const released: string[] = [];
    let done = 0;
    let aborted = 0;
    for (let parts = 0; done < ids.length && parts < maxParts; done++) {
      const upload = this.uploads.get(ids[done]!);
      if (upload === undefined) continue;
      parts += Math.max(1, this.#remove(upload, new Set(), released));
      aborted++;
    }
    return { done, aborted, released };
  }

  /**
   * The upload ended (completed or aborted): its record and index entry removed, and it noted as
   * finished, so that its part records go in later transactions (sweepFinished), a batch at a
   * time: removed here, 10,000 of them held the event loop ~100-170 ms in one commit (bench/mpu-stall.ts). Nothing reads
   * the parts of an upload that is gone (a part stored for it is refused: putPart), and until they
   * go the records of the parts no object keeps keep their files from being taken for leftovers
   * (storage/orphan-scan.ts; partFiles).
   * `keep`: the part numbers a completed object keeps (their files are its own).
   */
  finish(upload: UploadRecord, keep: readonly number[] = []): void {
    void this.#finished.put(upload.id, { keep: [...keep] });
    void this.uploads.remove(upload.id);
    void this.uploadIndex.remove(uploadIndexKey(upload.bucket, upload.key, upload.initiated, upload.id));
  }

  /**
   * Up to `maxParts` part records of finished uploads removed, the files of those a completed
   * object does not keep released; an upload whose parts are all gone is no longer noted as
   * finished. `more`: whether any remain.
   */
  sweepFinished(maxParts: number): { released: string[]; more: boolean } {
    const released: string[] = [];
    let left = maxParts;
    for (const { key: id, value } of this.#finished.getRange({})) {
      if (left === 0) return { released, more: true };
      const keep = new Set(value.keep);
      // The keys first: a table is not changed under the cursor reading it.
      const keys = [...this.parts.getKeys({ start: partKey(id, 1), end: partKey(id, 0xffffffff), limit: left + 1 })] as Buffer[];
      for (const k of keys.slice(0, left)) {
        if (!keep.has(k.readUInt32BE(k.length - 4))) {
          const p = this.parts.get(k);
          if (p !== undefined) released.push(...filesOf({ parts: [p] }));
        }
        void this.parts.remove(k);
      }
      if (keys.length > left) return { released, more: true };
      // An upload without parts counts as one, so that a batch stays bounded.
      left -= Math.max(1, keys.length);
      void this.#finished.remove(id);
    }
    return { released, more: false };
  }

  /**
   * An upload and its part records removed at once (removeSome, removeOfBucket: the stale-upload
   * sweep and DeleteBucket), the released files pushed to `released`: returns how many parts it
   * removed. A completion or abort goes through finish and sweepFinished instead.
   */
  #remove(upload: UploadRecord, kept: ReadonlySet<string>, released: string[], keptParts?: ReadonlySet<number>): number {
    // The keys first: a table is not changed under the cursor reading it.
    const keys = [...this.parts.getKeys({ start: partKey(upload.id, 1), end: partKey(upload.id, 0xffffffff) })] as Buffer[];
    for (const k of keys) {
      if (keptParts?.has(k.readUInt32BE(k.length - 4)) !== true) {
        const p = this.parts.get(k);
        if (p !== undefined) for (const f of filesOf({ parts: [p] })) if (!kept.has(f)) released.push(f);
      }
      void this.parts.remove(k);
    }
    void this.uploads.remove(upload.id);
    void this.uploadIndex.remove(uploadIndexKey(upload.bucket, upload.key, upload.initiated, upload.id));
    return keys.length;
  }
}
