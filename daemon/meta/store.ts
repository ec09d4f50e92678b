// The only LMDB opener: buckets, object records, multipart uploads and parts, and the
// deletion queue. Writes are async transactions that lmdb-js batches into shared commits, each a
// child transaction of the commit (one that throws is rolled back alone);
// a write's promise resolves only once its commit is flushed to disk.
// Key layout: keys.ts; listing pages: listing.ts; the multipart tables: upload-tables.ts, and
// the multipart write transactions: store-multipart.ts; one key's versions read a page at a time:
// store-key-versions.ts, and changed inside a transaction (a record made current, one delete):
// store-key-writes.ts; the delete operations: store-deletes.ts; its errors: commit-errors.ts;
// the start-up scan's snapshot: reference-snapshot.ts.

import { open, type Database, type RootDatabase, type Transaction } from 'lmdb';
import { ReferenceSnapshot } from './reference-snapshot.js';
import { recordsNaming, type FileOwner } from './file-owners.js';
import { MetaConflict, commitFailure, tolerateOrphanCommitRejections } from './commit-errors.js';
import type { CleanMarker } from '../storage/clean-shutdown.js';
import { StoreState } from './state.js';
import { NullVersionIndex, openNullVersionIndex } from './null-index.js';
import { orAbsent } from './absent-table.js';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { filesOf, RECORD_VERSION, sameBucket, storedFilesOf, type BucketRecord, type StoredFile, type ObjectRecord, type PartRecord, type UploadRecord, type VersionedDelete } from './records.js';
import { NotificationQueue } from './notify-queue.js';
import { RecordCache } from './record-cache.js';
import { UploadTables, type StoredParts } from './upload-tables.js';
import { clientVersionId } from './versions.js';
import { bucketRange, mayBeBucketName, objectKey } from './keys.js';
import { listObjects, listUploads, listVersions, uploadsAfter, type ListingTables, type ListOptions, type ListResult, type UploadListOptions, type VersionEntry, type VersionListOptions, type VersionListResult } from './listing.js';
import { DeletionQueue } from './deletion-queue.js';
import { bucketsPage, type BucketRange } from './bucket-listing.js';
import { UploadWrites } from './store-multipart.js';
import { count, storeStats, type StoreStats } from './store-stats.js';
import { countNewerVersions, keyVersionsPage } from './store-key-versions.js';
import { listedRecordCodec, type ListedRecord, type RecordDecoder } from './listed-record.js';
import { findVersion, firstVersion, install, type KeyWriteTables } from './store-key-writes.js';
import { ObjectDeletes } from './store-deletes.js';
import { encodeAhead, ENCODE_PARTS_PER_TURN, type EncodedRecord, type ValueEncoder } from './record-encoding.js';

export type { ListEntry, ListOptions, ListResult, VersionEntry, VersionListResult } from './listing.js';
export type { ReferenceSnapshot } from './reference-snapshot.js';
export type { StoredParts } from './upload-tables.js';
export { MetaCommitError, MetaConflict } from './commit-errors.js';
export { STORE_FORMAT, StoreFormatError } from './state.js';
export { isLocked, type VersionedDelete } from './records.js';

/** Parts (or part-less uploads) DeleteBucket removes per transaction, as the stale-upload sweep does. */
const BUCKET_DELETE_BATCH_PARTS = 1000;

/**
 * Part records partsOfUpload reads between two turns of the event loop (~3-7 µs each, with the
 * garbage they leave: 1,000 held it ~10-20 ms, as long as the rest of a completion's stretches).
 */
const PARTS_PER_TURN = 500;

export class MetaStore {
  private readonly root: RootDatabase;
  private readonly buckets: Database<BucketRecord, string>;
  private readonly objects: Database<ObjectRecord, Buffer>;
  /** getObject's reads: records of many parts kept decoded (record-cache.ts). */
  private readonly currentRecords: RecordCache;
  /** Versions-table records of many parts, kept decoded for the deletes that read them (record-cache.ts). */
  private readonly versionRecords: RecordCache;
  private readonly multipart: UploadTables;
  private readonly uploadWrites: UploadWrites;
  private readonly gc: DeletionQueue;
  /** Noncurrent versions and delete markers of versioned buckets, newest first per key. */
  private readonly versions: Database<ObjectRecord, Buffer>;
  /**
   * The null-version index (null-index.ts), written in the transactions that write `versions`
   * (store-key-writes.ts putVersion, removeVersion). Undefined when it is not complete, which only a store opened
   * read-only can find (an earlier version wrote it and nothing opened it for writing since): a
   * null version is then looked for among all versions of its key.
   */
  private readonly nullVersions: NullVersionIndex | undefined;
  /** Null versions indexed when this open (re)built the index (a store an earlier version wrote); undefined when it was complete. */
  readonly nullIndexRebuilt: number | undefined;
  /** The `state` table: the store's format, the clean-shutdown token, values kept for good (state.ts). */
  readonly state: StoreState;
  /** Bucket-notification events waiting for delivery; written by the in-transaction hooks (`inTxn`) of mutations. */
  readonly notifications: NotificationQueue;
  /** Object entries visited by listings and the usage scan since start (proves listing reads pages, not buckets). */
  listEntriesRead = 0;
  /**
   * Records of the versions table read since start, by look-ups, listings and writes (proves a
   * version look-up or a listing page reads what it needs, not every version of a key).
   */
  versionEntriesRead = 0;
  /** The tables one key's reads and changes use (store-key-versions.ts, store-key-writes.ts). */
  private readonly keyTables: KeyWriteTables;
  /** DeleteObject, DeleteObjects and lifecycle's deletes (store-deletes.ts). */
  private readonly deletes: ObjectDeletes;
  /** Upload records read by ListMultipartUploads and the background scans (proves a page reads what it lists). */
  uploadEntriesRead = 0;
  /** Keys (or versions) deleteObjects judged and deleted in its transactions since start (proves a DeleteObjects commits a slice at a time). */
  batchKeysDeleted = 0;
  /** Part records read by listParts (ListParts, verify) since start (proves a ListParts slice reads what it lists). */
  partEntriesRead = 0;
  private readonly listing: ListingTables;
  /** The same tables read through views that decode records without their data and parts (listed-record.ts). */
  private readonly listingWithoutData: ListingTables<ListedRecord>;
  /** Those views as the per-key reads take them: lifecycle's judges of a key's versions, in its scan and in its commits. */
  private readonly keyTablesWithoutData: { objects: Database<ListedRecord, Buffer>; versions: Database<ListedRecord, Buffer>; read: (n: number) => void };

  /**
   * The clean-shutdown marker given to the constructor describes this store as it is: its token,
   * and no commit since (storage/clean-shutdown.ts). The start-up sweep then skips its scan.
   */
  readonly cleanStop: boolean;
  /**
   * The marker's token is this store's but the store was committed to after it: a version that
   * does not know the marker ran on it, and may have crashed. The sweep scans, and the null-version
   * index is rebuilt (neither the token nor the index's mark could tell).
   */
  readonly writtenSinceCleanStop: boolean;

  /**
   * `readOnly`: for tools beside a serving daemon (s3d verify); every write then fails.
   * `cleanMarker`: the clean-shutdown marker found at start-up (see cleanStop).
   * `onSweepError`, `onBatchError`: a commit of the finished uploads' sweep, or of the deletion
   * queue's batches (deletion-queue.ts sweepBatches), failed (each is tried again 5 s later).
   */
  constructor(dir: string, opts: { readOnly?: boolean; cleanMarker?: CleanMarker; onSweepError?: (err: unknown) => void; onBatchError?: (err: unknown) => void } = {}) {
    tolerateOrphanCommitRejections();
    // overlappingSync (lmdb-js's default on Linux) is off: with it a commit is visible to every
    // reader before its fdatasync, and a failed fdatasync leaves it in effect. Readers then saw
    // objects and deletes that a power loss would undo, the reaper deleted the files a not yet
    // durable overwrite released, and after an injected EIO a write answered 500 stayed
    // visible while its data file was discarded. Without it LMDB syncs the pages first and then
    // writes the meta page with O_DSYNC: a commit is visible once durable, and a failed sync
    // aborts it whole.
    this.root = open({ path: join(dir, 'meta'), compression: false, separateFlushed: true, overlappingSync: false, maxDbs: 16, readOnly: opts.readOnly === true } as never) as RootDatabase;
    const openedTxnId = this.lastTxnId();
    // Values as plain msgpack maps: without shared structures, msgpackr's default records carry
    // their definition inline and decoding rebuilds it every time (~20 % slower gets, measured).
    // Values written either way decode either way.
    const plain = { useRecords: false } as const;
    this.buckets = this.root.openDB({ name: 'buckets', ...plain });
    this.objects = this.root.openDB({ name: 'objects', keyEncoding: 'binary', ...plain });
    this.currentRecords = new RecordCache(this.root.openDB({ name: 'objects', keyEncoding: 'binary', encoding: 'binary' }), this.objects);
    this.multipart = new UploadTables(this.root, plain, () => void this.uploadEntriesRead++);
    this.gc = new DeletionQueue(this.root, (fn) => this.write(fn), opts.onBatchError);
    this.uploadWrites = new UploadWrites({ write: (fn) => this.write(fn), buckets: this.buckets, objects: this.objects, multipart: this.multipart, gc: this.gc, install: (b, key, record, encoded) => install(this.keyTables, b, key, record, encoded), onSweepError: opts.onSweepError });
    // Tables added since the first store format are missing from a store an earlier version wrote
    // until a read-write open creates them: read-only, such a table reads as empty (absent-table.ts).
    this.versions = orAbsent(this.root.openDB({ name: 'versions', keyEncoding: 'binary', ...plain }), 'versions');
    this.versionRecords = new RecordCache(orAbsent(this.root.openDB({ name: 'versions', keyEncoding: 'binary', encoding: 'binary' }), 'versions'), this.versions);
    this.notifications = new NotificationQueue(this.root);
    this.state = new StoreState(this.root, (fn) => this.write(fn));
    // From the newest bucket on: a clock set back since, or a restored store, repeats no `created`.
    for (const { value } of this.buckets.getRange({})) this.lastCreated = Math.max(this.lastCreated, value.created);
    try {
      this.state.checkFormat(opts.readOnly === true);
    } catch (err) {
      void this.root.close();
      throw err;
    }
    const token = this.state.shutdownToken();
    const marker = opts.cleanMarker;
    const sameStore = marker !== undefined && marker.token !== '' && marker.token === token;
    this.cleanStop = sameStore && marker.txnId !== undefined && marker.txnId === openedTxnId;
    this.writtenSinceCleanStop = sameStore && !this.cleanStop;
    const nulls = openNullVersionIndex(this.root, this.state, token, this.cleanStop, opts.readOnly === true, () => this.versions.getKeys() as Iterable<Buffer>);
    this.nullVersions = nulls.index;
    this.nullIndexRebuilt = nulls.rebuilt;
    this.keyTables = { objects: this.objects, versions: this.versions, read: (n) => void (this.versionEntriesRead += n), gc: this.gc, nullVersions: this.nullVersions, current: (k) => this.currentRecords.get(k),
      version: (k) => this.versionRecords.get(k),
      remember: (table, k, bytes, record) => (table === 'objects' ? this.currentRecords : this.versionRecords).remember(k, bytes, record),
    };
    // Second handles of the same LMDB databases (read in the same transactions), never written;
    // what they keep is decoded by the msgpack decoder lmdb-js made for the table.
    const listed = (name: string, full: Database<ObjectRecord, Buffer>): Database<ListedRecord, Buffer> =>
      orAbsent(this.root.openDB({ name, keyEncoding: 'binary', encoder: listedRecordCodec((full as unknown as { decoder: RecordDecoder }).decoder) } as never) as Database<ListedRecord, Buffer>, name);
    const withoutData = { objects: listed('objects', this.objects), versions: listed('versions', this.versions) };
    this.keyTablesWithoutData = { ...withoutData, read: this.keyTables.read };
    this.deletes = new ObjectDeletes({
      write: (fn) => this.write(fn),
      keyTablesWithoutData: this.keyTablesWithoutData,
      inOrder: (prepare, ask) => this.inOrder(prepare, ask),
      buckets: this.buckets,
      objects: this.objects,
      currentRecords: this.currentRecords,
      versionRecords: this.versionRecords,
      keyTables: this.keyTables,
      keyJudged: () => void this.batchKeysDeleted++,
    });
    this.listing = {
      objects: this.objects,
      versions: this.versions,
      versionKey: (bucket, key, versionId) => findVersion(this.keyTables, bucket, key, versionId)?.k,
      nullGoneAt: (bucket, key) => this.nullVersions?.goneAt(bucket, key),
      entryRead: () => void this.listEntriesRead++,
      versionRead: () => void this.versionEntriesRead++,
    };
    this.listingWithoutData = { ...this.listing, ...withoutData };
    // Part records a completion or abort left when the process ended before its sweep did.
    if (opts.readOnly !== true && this.multipart.hasFinished()) void this.uploadWrites.sweepFinished();
    // Released files a commit left in a batch when the process ended before they were all queued.
    if (opts.readOnly !== true && this.gc.hasBatches()) void this.gc.sweepBatches();
  }

  /**
   * Closes LMDB also when a step before fails: after a commit that failed (a full disk) `flushed`
   * rejects, and the close stopped there, leaving the environment open for lmdb-js's cleanup hook
   * to close in Node's teardown of the exiting process. Rejects then with the first failure, a
   * failed commit as its cause (MetaCommitError: ENOSPC), not lmdb-js's "Commit failed".
   */
  async close(): Promise<void> {
    let failed: { err: unknown } | undefined;
    const settle = async (fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        failed ??= { err };
      }
    };
    // The sweeps (the deletion queue's among them: gc.close) stopped before the last commits.
    await settle(() => this.stopSweeping());
    // Acknowledged notification rows still waiting for their batched removal go first: a timer
    // firing after close would write to a closed environment.
    await settle(() => this.notifications.flush());
    await settle(() => this.root.flushed);
    await settle(() => this.root.close());
    if (failed !== undefined) throw await commitFailure(failed.err);
  }

  /** Runs `fn` inside one write transaction; resolves after the commit is durable. */
  private async write<T>(fn: () => T): Promise<T> {
    let out!: T;
    let failure: unknown;
    let undoEvents: (() => void) | undefined;
    let releases: ReturnType<DeletionQueue['end']>;
    // A child transaction, not transaction(): lmdb-js runs the callbacks queued together in one
    // LMDB transaction, and one that threw after it wrote left its writes in the shared commit
    // (a DeleteObjects whose in-transaction hook failed deleted its keys yet answered an error).
    const p = this.root.childTransaction(() => {
      this.notifications.begin();
      this.gc.begin();
      try {
        out = fn();
        // The releases past the commit's bound, stored as a batch in this same transaction.
        this.gc.flush();
      } catch (err) {
        failure = err;
        // Throwing aborts the transaction: nothing of it is written.
        throw err;
      } finally {
        undoEvents = this.notifications.end();
        releases = this.gc.end();
      }
    });
    // Without overlappingSync (see the constructor) the commit is durable when it resolves.
    try {
      await p;
    } catch (err) {
      // Not committed: the events its hooks queued were not either.
      undoEvents?.();
      releases?.undo();
      if (failure !== undefined) throw failure;
      throw await commitFailure(err);
    }
    releases?.committed();
    return out;
  }

  // ---- buckets

  /**
   * Bucket records are read on every request: they are kept decoded in memory, and every bucket
   * mutation (when it is staged, and again once its transaction has settled) makes them stale.
   */
  private bucketGeneration = 0;
  private lastCreated = 0;
  private readonly bucketCache = new Map<string, { gen: number; record: BucketRecord | undefined }>();

  getBucket(name: string): BucketRecord | undefined {
    // A name no bucket can have is looked up nowhere (a long one is no LMDB key).
    if (!mayBeBucketName(name)) return undefined;
    const hit = this.bucketCache.get(name);
    if (hit !== undefined && hit.gen === this.bucketGeneration) return hit.record;
    const record = this.buckets.get(name);
    if (this.bucketCache.size >= 4096) this.bucketCache.clear();
    this.bucketCache.set(name, { gen: this.bucketGeneration, record });
    return record;
  }

  private async bucketWrite<T>(fn: () => T): Promise<T> {
    try {
      return await this.write(() => {
        this.bucketGeneration++;
        return fn();
      });
    } finally {
      this.bucketGeneration++;
    }
  }

  listBuckets(range?: BucketRange): BucketRecord[] {
    return bucketsPage(this.buckets, range);
  }

  /**
   * `init`: settings the bucket is created with (versioning and Object Lock, for a lock-enabled
   * bucket). `created` is later than every bucket's in the store when it was opened and every one
   * created since: it tells a bucket from one deleted before it under its name (sameBucket), whose
   * requests in flight must not write into this one.
   */
  createBucket(name: string, now = Date.now(), init: Pick<BucketRecord, 'versioning' | 'objectLock' | 'tags'> = {}): Promise<void> {
    return this.bucketWrite(() => {
      if (this.buckets.get(name)) throw new MetaConflict('BucketAlreadyOwnedByYou');
      this.lastCreated = Math.max(now, this.lastCreated + 1);
      void this.buckets.put(name, { v: RECORD_VERSION, name, created: this.lastCreated, ...init });
    });
  }

  updateBucket(name: string, update: (b: BucketRecord) => BucketRecord): Promise<BucketRecord> {
    return this.bucketWrite(() => {
      const b = this.buckets.get(name);
      if (!b) throw new MetaConflict('NoSuchBucket');
      const nb = update(b);
      void this.buckets.put(name, nb);
      return nb;
    });
  }

  /**
   * Deletes a bucket without objects, versions or delete markers. Its unfinished multipart uploads
   * go with it (their parts' files to the deletion queue), as on S3, which deletes a bucket with
   * uploads in progress: an interrupted upload must not keep `aws s3 rb --force` from working.
   * They go 1,000 parts' worth to a transaction, a turn of the event loop between two, the bucket
   * with the last (one transaction held the event loop ~3.6 s per 100,000 uploads). Each finds the
   * bucket the same and empty: one that gained an object meanwhile is BucketNotEmpty.
   */
  async deleteBucket(name: string): Promise<void> {
    let seen: BucketRecord | undefined;
    for (;;) {
      const more = await this.bucketWrite(() => {
        const b = this.buckets.get(name);
        if (!b || (seen !== undefined && !sameBucket(b, seen))) throw new MetaConflict('NoSuchBucket');
        seen = b;
        const { start, end } = bucketRange(name);
        for (const _ of this.objects.getKeys({ start, end, limit: 1 })) throw new MetaConflict('BucketNotEmpty');
        for (const _ of this.versions.getKeys({ start, end, limit: 1 })) throw new MetaConflict('BucketNotEmpty');
        const { released, more } = this.multipart.removeOfBucket(name, BUCKET_DELETE_BATCH_PARTS);
        this.gc.add(released);
        if (!more) void this.buckets.remove(name);
        return more;
      });
      if (!more) return;
      await nextTurn();
    }
  }

  // ---- objects

  getObject(bucket: string, key: string): ObjectRecord | undefined {
    return this.currentRecords.get(objectKey(bucket, key));
  }

  /** The version `versionId` (`null` for the null version) of bucket/key, current or not. */
  getVersion(bucket: string, key: string, versionId: string): { record: ObjectRecord; isLatest: boolean } | undefined {
    const cur = this.objects.get(objectKey(bucket, key));
    if (cur !== undefined && clientVersionId(cur) === versionId) return { record: cur, isLatest: true };
    const found = findVersion(this.keyTables, bucket, key, versionId);
    if (found === undefined) return undefined;
    return { record: found.rec, isLatest: cur === undefined && firstVersion(this.keyTables, bucket, key)?.k.equals(found.k) === true };
  }

  /** The delete marker that is the latest version of bucket/key, when it is one (no current object). */
  latestDeleteMarker(bucket: string, key: string): ObjectRecord | undefined {
    if (this.objects.get(objectKey(bucket, key)) !== undefined) return undefined;
    const head = firstVersion(this.keyTables, bucket, key);
    return head?.rec.deleteMarker ? head.rec : undefined;
  }

  /**
   * Makes `record` the current version of bucket/key and returns it as stored (with its version
   * id and stamp in a versioned bucket). Unversioned, the replaced version's files go to the
   * deletion queue in the same transaction; Enabled, it becomes a noncurrent version; Suspended,
   * the new record is the null version and replaces any other. `check` runs inside the
   * transaction against the current record (conditional writes) and the bucket (still the one
   * the request saw?); throwing aborts the commit.
   */
  putObject(bucket: string, key: string, record: ObjectRecord, check?: (current: ObjectRecord | undefined, bucket: BucketRecord) => void, inTxn?: (stored: ObjectRecord) => void): Promise<ObjectRecord> {
    const k = objectKey(bucket, key);
    // A record of many parts (a copy of a multipart object onto itself) is encoded ahead, and one
    // of many parts it replaces decoded ahead, each a slice of parts to a turn (record-encoding.ts):
    // in the commit, each held the event loop ~15-70 ms for 10,000 parts.
    let encoded: EncodedRecord | undefined;
    const many = (record.parts?.length ?? 0) > ENCODE_PARTS_PER_TURN;
    const prepare = many || this.currentRecords.wantsPrefetch(k)
      ? async () => {
          await this.currentRecords.prefetch(k);
          if (many) encoded = await encodeAhead((this.objects as unknown as { encoder: ValueEncoder }).encoder, record);
        }
      : undefined;
    return this.inOrder(prepare, () =>
      this.write(() => {
        const b = this.buckets.get(bucket);
        if (!b) throw new MetaConflict('NoSuchBucket');
        check?.(this.currentRecords.get(k), b);
        const stored = install(this.keyTables, b, key, record, encoded);
        inTxn?.(stored);
        return stored;
      }),
    );
  }

  /**
   * The last putObject or deleteObject still preparing its transaction (a record of many parts
   * encoded or decoded ahead, over several turns), until it asks for its write: those that come
   * after it wait for it, so that LMDB is asked for them in the order they came, as it was when
   * every one asked at once (a delete marker is dated when its commit is asked for: deleteObject).
   */
  private preparing: Promise<void> | undefined;

  /** Runs `prepare` (if any) after the writes before it asked, then asks for the write (`ask`). */
  private inOrder<T>(prepare: (() => Promise<void>) | undefined, ask: () => Promise<T>): Promise<T> {
    const before = this.preparing;
    if (before === undefined && prepare === undefined) return ask();
    let asked!: () => void;
    const mine = new Promise<void>((resolve) => (asked = resolve));
    this.preparing = mine;
    return (async () => {
      try {
        await before;
        await prepare?.();
      } catch {
        // Nothing prepared: the transaction decodes and encodes what it needs, as it always could.
      } finally {
        if (this.preparing === mine) this.preparing = undefined;
        asked();
      }
      return ask();
    })();
  }

  /**
   * Rewrites the current record of bucket/key (or, given `versionId`, that version) in one
   * transaction (the object's data is never touched: `update` must keep its files). NoSuchKey when
   * the key has no object, NoSuchVersion when the version does not exist, MethodNotAllowed for a
   * delete marker. `check` judges the bucket first (still the one the request saw?); throwing aborts.
   * `inTxn` gets the record as stored, inside the transaction (events of the change).
   */
  updateObject(bucket: string, key: string, update: (current: ObjectRecord) => ObjectRecord, versionId?: string, check?: (bucket: BucketRecord) => void, inTxn?: (stored: ObjectRecord) => void): Promise<ObjectRecord> {
    return this.write(() => {
      const b = this.buckets.get(bucket);
      if (!b) throw new MetaConflict('NoSuchBucket');
      check?.(b);
      const k = objectKey(bucket, key);
      const cur = this.objects.get(k);
      let old: ObjectRecord;
      let at: { db: Database<ObjectRecord, Buffer>; k: Buffer };
      if (versionId === undefined || (cur !== undefined && clientVersionId(cur) === versionId)) {
        if (!cur) throw new MetaConflict('NoSuchKey');
        old = cur;
        at = { db: this.objects, k };
      } else {
        const found = findVersion(this.keyTables, bucket, key, versionId);
        if (!found) throw new MetaConflict('NoSuchVersion');
        if (found.rec.deleteMarker) throw new MetaConflict('MethodNotAllowed');
        old = found.rec;
        at = { db: this.versions, k: found.k };
      }
      const next = update(old);
      if (filesOf(next).join('\n') !== filesOf(old).join('\n')) throw new Error('updateObject must not change the data files of a record');
      void at.db.put(at.k, next);
      inTxn?.(next);
      return next;
    });
  }

  /**
   * Deletes bucket/key as S3 does (store-deletes.ts deleteObject): unversioned, the object goes;
   * versioned, a delete marker becomes the latest version; given `versionId`, that version goes.
   */
  deleteObject(bucket: string, key: string, inTxn?: (result: VersionedDelete) => void, versionId?: string, bypassGovernance = false, check?: (current: ObjectRecord | undefined) => 'NoSuchKey' | 'PreconditionFailed' | undefined): Promise<VersionedDelete> {
    return this.deletes.deleteObject(bucket, key, inTxn, versionId, bypassGovernance, check);
  }

  /** Deletes many keys (or versions) in one commit (store-deletes.ts deleteObjects). */
  deleteObjects(...args: Parameters<ObjectDeletes['deleteObjects']>): ReturnType<ObjectDeletes['deleteObjects']> {
    return this.deletes.deleteObjects(...args);
  }

  /** Where a delete commit of `items` from `from` ends: at most `most` keys, the records it reads decoded ahead, the files it releases bounded (store-deletes.ts commitEnd). */
  deleteCommitEnd(...args: Parameters<ObjectDeletes['commitEnd']>): ReturnType<ObjectDeletes['commitEnd']> {
    return this.deletes.commitEnd(...args);
  }

  /** Lifecycle expiration's deletes of current objects still as expected (store-deletes.ts deleteObjectsIfUnchanged). */
  deleteObjectsIfUnchanged(...args: Parameters<ObjectDeletes['deleteObjectsIfUnchanged']>): ReturnType<ObjectDeletes['deleteObjectsIfUnchanged']> {
    return this.deletes.deleteObjectsIfUnchanged(...args);
  }

  /** Lifecycle's removals of noncurrent versions still as expected (store-deletes.ts removeVersionsIfUnchanged). */
  removeVersionsIfUnchanged(...args: Parameters<ObjectDeletes['removeVersionsIfUnchanged']>): ReturnType<ObjectDeletes['removeVersionsIfUnchanged']> {
    return this.deletes.removeVersionsIfUnchanged(...args);
  }

  /** Every version of bucket/key, newest first (the current object, when there is one, first). */
  keyVersions(bucket: string, key: string): VersionEntry[] {
    return keyVersionsPage(this.keyTables, bucket, key);
  }

  /** A page of them, and a count of those newer than a stamp (store-key-versions.ts). */
  /**
   * Up to `limit` versions of bucket/key newest first, without their data and parts
   * (listed-record.ts): lifecycle judges a key's versions by metadata, and a page of 100 versions
   * of 500 parts read whole was 50,000 parts decoded in one turn of the event loop, and again in
   * the commit that judged it.
   */
  keyVersionsPageWithoutData(bucket: string, key: string, opts: { below?: number; limit: number }): Array<VersionEntry<ListedRecord>> {
    return keyVersionsPage(this.keyTablesWithoutData, bucket, key, opts);
  }
  countNewerVersions(bucket: string, key: string, stamp: number): number {
    return countNewerVersions(this.keyTables, bucket, key, stamp);
  }

  /** One page of a bucket listing (listing.ts). */
  listObjects(bucket: string, opts: ListOptions): ListResult {
    return listObjects(this.listing, bucket, opts);
  }

  /** One page of ListObjectVersions (listing.ts). */
  listVersions(bucket: string, opts: VersionListOptions): VersionListResult {
    return listVersions(this.listing, bucket, opts);
  }

  /** listObjects' page with records as a client's listing shows them: without data and parts (listings, and the scans that judge by metadata: lifecycle, the KMS key check). */
  listObjectsWithoutData(bucket: string, opts: ListOptions): ListResult<ListedRecord> {
    return listObjects(this.listingWithoutData, bucket, opts);
  }

  /** listVersions' page with records as a client's listing shows them: without data and parts (ListObjectVersions, lifecycle's version scan). */
  listVersionsWithoutData(bucket: string, opts: VersionListOptions): VersionListResult<ListedRecord> {
    return listVersions(this.listingWithoutData, bucket, opts);
  }

  /**
   * Up to `limit` records of a bucket's current objects or versions after key `after` (next in
   * byte order: `after`, 0x00), for scans (usage.ts). Without their data and parts
   * (listed-record.ts): the usage scan reads sizes, markers and KMS keys, and a page of inline
   * objects read whole copied their data out.
   */
  bucketRecords(table: 'objects' | 'versions', bucket: string, after: Buffer | undefined, limit: number, transaction?: Transaction): Array<{ key: Buffer; value: ListedRecord }> {
    const { start, end } = bucketRange(bucket);
    const range = { start: after === undefined ? start : Buffer.concat([after, Buffer.from([0])]), end, limit, ...(transaction === undefined ? {} : { transaction }) };
    const page = [...this.listingWithoutData[table].getRange(range).map(({ key, value }) => ({ key: Buffer.from(key), value }))];
    if (table === 'objects') this.listEntriesRead += page.length;
    else this.versionEntriesRead += page.length;
    return page;
  }

  /**
   * The store as it is now, for a scan that adds figures up a page at a time across turns of the
   * event loop (usage.ts): every page is read in one LMDB read transaction, so a record that moves
   * between tables meanwhile (an overwrite making the current version noncurrent, an upload
   * completed into an object) is counted once, where it was when the snapshot was taken. `done()`
   * it when the scan ends: LMDB keeps the pages the snapshot sees (the map grows by what is
   * rewritten meanwhile) until then.
   */
  scanSnapshot(): {
    bucketRecords(table: 'objects' | 'versions', bucket: string, after: Buffer | undefined, limit: number): Array<{ key: Buffer; value: ListedRecord }>;
    uploads(after: string, limit: number): { uploads: UploadRecord[]; next?: string };
    done(): void;
  } {
    const txn = this.root.useReadTransaction();
    let open = true;
    return {
      bucketRecords: (table, bucket, after, limit) => this.bucketRecords(table, bucket, after, limit, txn),
      uploads: (after, limit) => {
        const { read, ...page } = this.multipart.initiatedBefore(Number.MAX_SAFE_INTEGER, after, limit, txn);
        this.uploadEntriesRead += read;
        return page;
      },
      done: () => {
        if (open) txn.done();
        open = false;
      },
    };
  }

  // ---- multipart (the write transactions: store-multipart.ts)

  /** `check` runs inside the transaction against the bucket (still the one the request saw?). */
  createUpload(upload: UploadRecord, check?: (bucket: BucketRecord) => void): Promise<void> {
    return this.uploadWrites.createUpload(upload, check);
  }

  /** Uploads initiated before `time` (ms), in id order: among `limit` after id `after` (`next`: where the following page starts). */
  uploadsInitiatedBefore(time: number, after = '', limit = Number.MAX_SAFE_INTEGER): { uploads: UploadRecord[]; next?: string } {
    const { read, ...page } = this.multipart.initiatedBefore(time, after, limit);
    this.uploadEntriesRead += read;
    return page;
  }

  /** The upload `id` names; undefined for an id longer than s3d's are (it is not looked up). */
  getUpload(id: string): UploadRecord | undefined {
    return this.multipart.getUpload(id);
  }

  putPart(uploadId: string, part: PartRecord): Promise<void> {
    return this.uploadWrites.putPart(uploadId, part);
  }

  listParts(uploadId: string, afterPart = 0, limit = 10000): PartRecord[] {
    const parts = this.multipart.listParts(uploadId, afterPart, limit);
    this.partEntriesRead += parts.length;
    return parts;
  }

  /**
   * Every part of an upload, for its completion: read PARTS_PER_TURN to a turn of the event loop
   * (10,000 read in one took ~35-70 ms), each with the bytes completeUpload's commit compares.
   */
  async partsOfUpload(uploadId: string): Promise<StoredParts> {
    const parts: PartRecord[] = [];
    const bytes = new Map<number, Buffer>();
    // Before the first part: a part written while they are read changes it (upload-tables.ts currentParts).
    const partWrites = this.multipart.getUpload(uploadId)?.partWrites;
    // Each page in a turn of its own, the first after the event loop has polled for I/O once: a
    // completion calls this straight after the 10,000 Parts of its document are checked (in the
    // poll phase, when the parsing thread's answer arrives), and an immediate queued there runs in
    // the same turn; with the first page that held the event loop ~30-45 ms in one stretch
    // (bench/mpu-stall.ts).
    await nextTurn();
    for (let after = 0; ; ) {
      await nextTurn();
      const page = this.multipart.readParts(uploadId, after, PARTS_PER_TURN);
      for (const { part, bytes: b } of page) {
        parts.push(part);
        bytes.set(part.n, b);
      }
      if (page.length < PARTS_PER_TURN) return { parts, bytes, partWrites };
      after = page[page.length - 1]!.part.n;
    }
  }

  /**
   * Completes an upload atomically, the object made current; its part records are removed after
   * the commit, the unused parts' files queued with them (store-multipart.ts). `check` judges the
   * current record first. `read`: the parts as partsOfUpload read them, to which `record`'s parts
   * belong.
   */
  completeUpload(upload: UploadRecord, record: ObjectRecord, check?: (current: ObjectRecord | undefined) => void, inTxn?: (stored: ObjectRecord) => void, read?: StoredParts): Promise<ObjectRecord> {
    return this.uploadWrites.completeUpload(upload, record, check, inTxn, read);
  }

  /**
   * The part records of completed and aborted uploads removed (store-multipart.ts sweepFinished):
   * resolves once none are left. Started by every completion and abort, and at open.
   */
  sweepFinishedUploads(): Promise<void> {
    return this.uploadWrites.sweepFinished();
  }

  /**
   * Stops the background sweeps after their current commit: this one, and the deletion queue's
   * moving of batched files into the queue (a stop: the next open goes on with both). Before the
   * clean-shutdown token, which must be the last commit: a batch sweep still running (some 200
   * commits for a DeleteObjects of 100,000 part files) committed after it, and the next start took
   * the store for one written since its clean stop (full start-up scan, null-version index rebuilt).
   */
  async stopSweeping(): Promise<void> {
    await Promise.all([this.uploadWrites.close(), this.gc.close()]);
  }

  /** Whether completed or aborted uploads still have part records to remove (tests, diagnostics). */
  finishedUploadsPending(): boolean {
    return this.multipart.hasFinished();
  }

  /** Drops an upload, its parts removed and queued after the commit (store-multipart.ts); with `stillDue`, only if still due in the commit. */
  abortUpload(uploadId: string, inTxn?: () => void, stillDue?: (b: BucketRecord, upload: UploadRecord) => boolean): Promise<boolean> {
    return this.uploadWrites.abortUpload(uploadId, inTxn, stillDue);
  }

  /** The stale-upload sweep's batch, in one transaction (upload-tables.ts removeSome). */
  abortUploads(ids: readonly string[], maxParts: number): Promise<{ done: number; aborted: number }> {
    return this.uploadWrites.abortUploads(ids, maxParts);
  }

  /** Uploads of a bucket in key order, then initiation order (listing.ts). */
  listUploads(bucket: string, opts: UploadListOptions): { uploads: UploadRecord[]; isTruncated: boolean } {
    return listUploads(this.multipart, bucket, opts);
  }

  /** A bucket's uploads from just past the markers, read as they are taken (meta/listing.ts uploadsAfter). */
  uploadsAfter(bucket: string, opts: Omit<UploadListOptions, 'limit'> & { pastPrefix?: string }): Generator<UploadRecord> {
    return uploadsAfter(this.multipart, bucket, opts);
  }

  // ---- deletion queue and sweep support

  /**
   * Test and diagnostic API, not used by the daemon: up to `limit` queued file ids, in id order,
   * however recent (the tests' view of what a commit released; the reaper reads dueFiles).
   */
  queuedFiles(limit = 1000): string[] {
    return this.gc.queued(limit);
  }

  /** Queued file ids released by this process at least `graceMs` ago, or by an earlier one, but not those `skip` names (meta/deletion-queue.ts). */
  dueFiles(graceMs: number, limit = 1000, skip?: (id: string) => boolean): string[] {
    return this.gc.due(graceMs, limit, skip);
  }

  dequeueFiles(files: string[]): Promise<void> {
    return this.write(() => this.gc.remove(files));
  }

  /** LMDB's last committed transaction id (undefined if lmdb-js does not say). */
  lastTxnId(): number | undefined {
    const id = (this.root.getStats() as { lastTxnId?: unknown }).lastTxnId;
    return typeof id === 'number' ? id : undefined;
  }

  /** The data files of every record (current objects, versions, pending parts) with their stored lengths, one record at a time. */
  private *recordFiles(transaction?: Transaction): Generator<StoredFile[]> {
    const opts = transaction === undefined ? {} : { transaction };
    for (const { value } of this.objects.getRange(opts)) yield storedFilesOf(value);
    for (const { value } of this.versions.getRange(opts)) yield storedFilesOf(value);
    yield* this.multipart.partFiles(transaction);
  }

  /**
   * Diagnostic, for s3d backup's failures: the object versions and parts whose records name one
   * of `files` (every record read: a store's worth of time, once).
   */
  recordsNaming(files: ReadonlySet<string>): FileOwner[] {
    return recordsNaming(files, { objects: this.objects, versions: this.versions, parts: this.multipart.parts, upload: (id) => this.multipart.getUpload(id) });
  }

  /**
   * Test and diagnostic API, not used by the daemon: every file id some record points at
   * (objects, versions and pending parts), read at once (the daemon reads a referenceSnapshot a
   * slice at a time).
   */
  referencedFiles(): Set<string> {
    const out = new Set<string>();
    for (const files of this.recordFiles()) for (const f of files) out.add(f.file);
    return out;
  }

  /**
   * The records as they are now, for the start-up scan (storage/orphan-scan.ts) to read while the
   * daemon serves, and for `s3d backup` to read from its copy: one read transaction over the three
   * tables, so a record that moves between them meanwhile (a version made current again, an
   * upload completed) is seen exactly once. `queued`: the files of the deletion queue count as
   * referenced too (the start-up scan leaves them to the reaper: a start during a backup keeps
   * them queued, storage/backup-hold.ts). `release()` it when done: LMDB keeps the pages it sees
   * until then.
   */
  referenceSnapshot(opts: { queued?: boolean } = {}): ReferenceSnapshot {
    const txn = this.root.useReadTransaction();
    const queued = opts.queued === true ? this.gc.all(txn) : [];
    return new ReferenceSnapshot(this.recordFiles(txn), () => txn.done(), queued);
  }

  /**
   * Copies the LMDB environment into `dir` (an existing directory without a data.mdb): one
   * consistent snapshot, LMDB's last committed transaction, read while writers go on
   * (mdb_env_copy2; it holds the writers back only while it copies the two meta pages). Not
   * compacted: a compacting copy walks every tree and refuses a store with leaked pages. Not
   * synced: the caller fsyncs the file and its directory.
   */
  async backup(dir: string): Promise<void> {
    await this.root.backup(dir, false);
  }

  /** How many current objects, noncurrent versions and delete markers, and uploads in progress the store holds. */
  recordCounts(): { objects: number; versions: number; uploads: number } {
    return { objects: count(this.objects), versions: count(this.versions), uploads: count(this.multipart.uploads) };
  }

  /** Approximate size of the LMDB map in use, for metrics (the upload index holds a second entry per upload, not a record of its own: not counted). */
  stats(): StoreStats {
    const { uploads, parts } = this.multipart;
    return storeStats(this.root, [this.buckets, this.objects, this.versions, uploads, parts, ...this.gc.tables()]);
  }
}
