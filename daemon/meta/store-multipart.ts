// The multipart write transactions of the metadata store (MetaStore's createUpload, putPart,
// completeUpload, abortUpload and abortUploads, which hand over to these): an upload created, a
// part stored, an upload completed into an object or aborted, the stale-upload sweep's batches,
// and the sweep of the part records completed and aborted uploads leave (sweepFinished).
// MetaStore owns the transactions and the buckets and objects tables, and hands over how a record
// becomes current (store-key-writes.ts install); the upload tables (upload-tables.ts) return the
// data files a change releases, queued here in the same transaction.

import type { Database } from 'lmdb';
import { MetaConflict } from './commit-errors.js';
import type { DeletionQueue } from './deletion-queue.js';
import { objectKey } from './keys.js';
import { encodeAhead, type EncodedRecord, type ValueEncoder } from './record-encoding.js';
import { type BucketRecord, type ObjectRecord, type PartRecord, type UploadRecord } from './records.js';
import type { StoredParts, UploadTables } from './upload-tables.js';
import { CommitSweep } from './commit-sweep.js';

/** What of MetaStore the multipart transactions use. */
export interface UploadStoreParts {
  /** MetaStore's durable write: one transaction, resolved once its commit is flushed. */
  write<T>(fn: () => T): Promise<T>;
  readonly buckets: Database<BucketRecord, string>;
  readonly objects: Database<ObjectRecord, Buffer>;
  readonly multipart: UploadTables;
  readonly gc: DeletionQueue;
  /**
   * Inside a transaction: makes `record` the current version of key in bucket `b` (store-key-writes.ts
   * install), written as `encoded`'s bytes when they are the record's.
   */
  install(b: BucketRecord, key: string, record: ObjectRecord, encoded?: EncodedRecord): ObjectRecord;
  /** Told of a sweep commit that failed (it is tried again SWEEP_RETRY_MS later). */
  onSweepError?: (err: unknown) => void;
}

/**
 * Part records of finished uploads one sweep transaction removes (upload-tables.ts sweepFinished):
 * ~3-6 ms of the event loop for 500, where a 10,000-part completion or abort removed them all in
 * its own commit.
 */
export const SWEEP_BATCH_PARTS = 500;

/**
 * How long after a failed sweep commit (a full or failing disk) the sweep is tried again: the
 * files of an aborted upload are what frees the space, and without a retry they waited for the
 * next completion, abort or start. Until then the records keep their files; nothing is lost.
 */
export const SWEEP_RETRY_MS = 5_000;

export class UploadWrites {
  readonly #s: UploadStoreParts;
  /** The sweep of finished uploads' parts (an upload finished while it ran has it look once more). */
  readonly #sweep: CommitSweep;

  constructor(store: UploadStoreParts) {
    this.#s = store;
    this.#sweep = new CommitSweep(
      () =>
        store.write(() => {
          const r = store.multipart.sweepFinished(SWEEP_BATCH_PARTS);
          store.gc.addDue(r.released);
          return r.more;
        }),
      SWEEP_RETRY_MS,
      (err) => store.onSweepError?.(err),
    );
  }

  /** `check` runs inside the transaction against the bucket (still the one the request saw?). */
  createUpload(upload: UploadRecord, check?: (bucket: BucketRecord) => void): Promise<void> {
    const s = this.#s;
    return s.write(() => {
      const b = s.buckets.get(upload.bucket);
      if (!b) throw new MetaConflict('NoSuchBucket');
      check?.(b);
      s.multipart.add(upload);
    });
  }

  putPart(uploadId: string, part: PartRecord): Promise<void> {
    const s = this.#s;
    return s.write(() => s.gc.add(s.multipart.putPart(uploadId, part)));
  }

  /**
   * Completes an upload atomically: the object record becomes visible, the upload goes (noted
   * finished) and the replaced object's files are queued; the part records go after the commit,
   * the files of parts not used by the object queued with them (sweepFinished).
   * `check` runs first against the current record (conditional writes); throwing changes nothing.
   * `read`: the parts as read before (the record's parts among them); when no part was written
   * since (the upload's part-write count is still the one read with them), they are not looked at
   * again; otherwise those whose stored bytes are unchanged are not decoded again. The parts the
   * object keeps are later removed undecoded.
   * The record is encoded before the transaction, a slice of its parts to a turn of the event loop
   * (record-encoding.ts): in it, 10,000 parts held the event loop ~30 ms.
   */
  async completeUpload(upload: UploadRecord, record: ObjectRecord, check?: (current: ObjectRecord | undefined) => void, inTxn?: (stored: ObjectRecord) => void, read?: StoredParts): Promise<ObjectRecord> {
    const s = this.#s;
    const encoded = await encodeAhead((s.objects as unknown as { encoder: ValueEncoder }).encoder, record);
    const stored = await s.write(() => {
      const now = s.multipart.uploads.get(upload.id);
      if (!now) throw new MetaConflict('NoSuchUpload');
      const b = s.buckets.get(upload.bucket);
      if (!b) throw new MetaConflict('NoSuchBucket');
      check?.(s.objects.get(objectKey(upload.bucket, upload.key)));
      const current = s.multipart.currentParts(upload.id, record, read, now);
      // The object's parts are the stored ones (currentParts): their files are all kept; the
      // part records go after the commit, the others' files with them (sweepFinished).
      s.multipart.finish(upload, current.parts?.map((p) => p.n));
      const stored = s.install(b, upload.key, current, encoded);
      inTxn?.(stored);
      return stored;
    });
    void this.sweepFinished();
    return stored;
  }

  /**
   * `inTxn` runs in the transaction once the upload is dropped (before any reader sees it gone).
   * With `stillDue`, the upload is judged in the commit, by its bucket as it is there, and kept
   * (false returned) unless it is still due: for background aborts, which judged it earlier.
   */
  async abortUpload(uploadId: string, inTxn?: () => void, stillDue?: (b: BucketRecord, upload: UploadRecord) => boolean): Promise<boolean> {
    const s = this.#s;
    const aborted = await s.write(() => {
      const upload = s.multipart.uploads.get(uploadId);
      if (!upload) throw new MetaConflict('NoSuchUpload');
      if (stillDue !== undefined) {
        const b = s.buckets.get(upload.bucket);
        if (b === undefined || !stillDue(b, upload)) return false;
      }
      s.multipart.finish(upload);
      inTxn?.();
      return true;
    });
    if (aborted) void this.sweepFinished();
    return aborted;
  }

  /**
   * Removes the part records of finished uploads (upload-tables.ts finish, sweepFinished),
   * SWEEP_BATCH_PARTS to a transaction, a turn of the event loop between two, each transaction
   * queueing the files of the parts it removes that no completed object keeps, due at once
   * (nothing reads a part of an upload that is gone: DeletionQueue.addDue). Started after
   * every completion and abort, and when the store opens with some left (a crash or stop before
   * they were all removed). Resolves once none are left, the store closes, or a commit fails (the
   * sweep is tried again SWEEP_RETRY_MS later; until then their records keep their files).
   */
  sweepFinished(): Promise<void> {
    return this.#sweep.run();
  }

  /** Stops the sweep after its current batch (MetaStore.close). */
  close(): Promise<void> {
    return this.#sweep.close();
  }

  /** The stale-upload sweep's batch, in one transaction (upload-tables.ts removeSome). */
  abortUploads(ids: readonly string[], maxParts: number): Promise<{ done: number; aborted: number }> {
    const s = this.#s;
    return s.write(() => {
      const { released, ...r } = s.multipart.removeSome(ids, maxParts);
      s.gc.add(released);
      return r;
    });
  }
}
