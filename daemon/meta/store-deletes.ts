// Object deletes inside MetaStore's write transactions: DeleteObject, DeleteObjects, and the
// lifecycle scanner's conditional expirations and version removals. Each judges the bucket and the
// key's records in its transaction and changes them through store-key-writes.ts (deleteOne);
// MetaStore owns the store, the transactions and the order writes are asked in (inOrder).

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database } from 'lmdb';
import { MetaConflict } from './commit-errors.js';
import { objectKey, versionKeyOf } from './keys.js';
import type { VersionEntry } from './listing.js';
import { KEPT_BYTES_MAX, type RecordCache } from './record-cache.js';

/**
 * Stored bytes of records a delete commit decodes itself, whole, in its one turn: those no cache
 * keeps (under KEPT_RECORD_MIN_BYTES, up to some 450 parts), never decoded ahead. 250 of 450 parts
 * (~60 KB each, 112,500 parts) held the event loop 264-537 ms in one commit on a loaded 2-core VM;
 * 512 KiB is some 3,800 parts, a few tens of ms. Records of a few parts (under 4 KiB) are not counted.
 */
const IN_COMMIT_DECODE_BYTES = 512 * 1024;
/**
 * Data files a delete commit releases at most (but for its first key): each file released is
 * queued or spilled to a batch (deletion-queue.ts), and a noncurrent version's also checked
 * against the files of the current object and the version's two neighbours (store-key-writes.ts
 * releaseFiles), all in the commit's one turn. Cut by records' bytes only, lifecycle's removal of
 * one key's 129 noncurrent versions of 500 parts took ~100 versions (~50,000 files) a commit and
 * held the event loop 127-494 ms on a loaded 2-core VM, no part decoded (60-75 ms at load ~3,
 * against 12-21 ms cut here; docs/performance.md). 5,000 files are ten such versions; a
 * DeleteObjects of 250 objects of up to 20 parts is still one commit. Each commit more is a
 * durable write: that scan took 142-168 ms in all, now 266-325 ms.
 */
export const FILES_RELEASED_PER_COMMIT = 5_000;
import type { BucketRecord, ObjectRecord, VersionedDelete } from './records.js';
import type { ListedRecord } from './listed-record.js';
import { keyRangeEnd, keyVersionsPage } from './store-key-versions.js';
import { deleteOne, findVersion, versionsADeleteReads, versionStamp, type KeyWriteTables } from './store-key-writes.js';
import { versionPrefix } from './keys.js';
import { NULL_VERSION, stampOf, versionsFingerprint } from './versions.js';

/** What of MetaStore the deletes use. */
export interface DeleteTables {
  write<T>(fn: () => T): Promise<T>;
  /** Asks for a write after `prepare`, in the order writes came (MetaStore.inOrder). */
  inOrder<T>(prepare: (() => Promise<void>) | undefined, ask: () => Promise<T>): Promise<T>;
  readonly buckets: Database<BucketRecord, string>;
  readonly objects: Database<ObjectRecord, Buffer>;
  readonly currentRecords: RecordCache;
  readonly versionRecords: RecordCache;
  readonly keyTables: KeyWriteTables;
  /** The objects and versions tables read without data and parts (listed-record.ts), for judges that read a key's versions by metadata. */
  readonly keyTablesWithoutData: { readonly objects: Database<ListedRecord, Buffer>; readonly versions: Database<ListedRecord, Buffer>; readonly read: (n: number) => void };
  /** A key (or version) deleteObjects judged (MetaStore.batchKeysDeleted). */
  keyJudged(): void;
}

/** Keys a delete's preparation looks at in one turn of the event loop (~10 µs each). */
const LOOKED_AT_ONCE = 100;

export class ObjectDeletes {
  readonly #s: DeleteTables;

  constructor(s: DeleteTables) {
    this.#s = s;
  }

  /**
   * What deletes of `items` of `bucket` will read of records of many parts, decoded ahead a slice
   * of their parts to a turn (record-cache.ts prefetch), for their transaction to take by comparing
   * bytes: each key's current record and, in a versioned bucket or given a version id, the versions
   * versionsADeleteReads names. Undefined when none is of many parts. At most KEPT_BYTES_MAX bytes
   * (about five records of 10,000 parts, what the caches keep): the others, and any written since,
   * are decoded in the transaction, as they always were; DeleteObjects and lifecycle expiry cut
   * their commits so that there are none (commitEnd). Looking for them costs ~10 µs a key: a
   * batch of more than LOOKED_AT_ONCE keys is looked at that many to a turn, in the preparation.
   * Those it decodes and those kept already are held for the commit (RecordCache.pin) until
   * `release` (after the commit, #inOrder): neither the next write's preparation nor reads of
   * other records meanwhile push them out. Pinned in `run` only, in the order writes are asked
   * in (MetaStore.inOrder): a preparation waiting for room (RecordCache.room) waits only for the
   * pins of writes that asked before it.
   */
  #prepare(bucket: string, items: ReadonlyArray<{ key: string; versionId?: string | undefined }>): { run: (() => Promise<void>) | undefined; release: () => void } {
    const versioned = this.#s.buckets.get(bucket)?.versioning !== undefined;
    const wanted: Array<[RecordCache, Buffer]> = [];
    // Those a cache keeps already: pinned first.
    const kept: Array<[RecordCache, Buffer]> = [];
    const pins = new Map<RecordCache, { ids: string[]; bytes: number }>();
    // `bytes`: the record's stored length as decodeCost counted it (read once, by the caller).
    const hold = (cache: RecordCache, bytes: number, id: string | undefined): void => {
      if (id === undefined) return;
      let mine = pins.get(cache);
      if (mine === undefined) pins.set(cache, (mine = { ids: [], bytes: 0 }));
      mine.ids.push(id);
      mine.bytes += bytes;
    };
    const release = (): void => {
      for (const [cache, mine] of pins) cache.unpin(mine.ids);
      pins.clear();
    };
    // Once each: the keys of a commit may be versions of one key, each reading its current record
    // and newest versions (commitEnd counts them once too).
    const seen = new Set<string>();
    const look = (i: { key: string; versionId?: string | undefined }): void => {
      for (const [cache, k] of this.#reads(bucket, versioned, i)) {
        const id = this.#readId(cache, k);
        if (!seen.has(id)) {
          if (cache.wantsPrefetch(k)) wanted.push([cache, k]);
          else if (cache.keeps(k)) kept.push([cache, k]);
        }
        seen.add(id);
      }
    };
    const decode = async (): Promise<void> => {
      for (const [cache, k] of kept) {
        const id = cache.pin(k);
        if (id !== undefined) hold(cache, cache.decodeCost(k).kept, id);
      }
      let bytes = 0;
      for (const [cache, k] of wanted) {
        // Stopped before the caches would drop one decoded here (least recently used first): the
        // commit, reading in this order, dropped the next one with each it decoded again, and so
        // decoded every one of them whole (200 records of 500 parts, ~13 MB, in one turn).
        const cost = cache.decodeCost(k).kept;
        bytes += cost;
        if (bytes > KEPT_BYTES_MAX) break;
        await cache.room(cost, pins.get(cache)?.bytes ?? 0);
        hold(cache, cost, await cache.prefetchPinned(k));
      }
    };
    if (items.length > LOOKED_AT_ONCE) {
      const run = async (): Promise<void> => {
        for (let from = 0; from < items.length; from += LOOKED_AT_ONCE) {
          if (from > 0) await nextTurn();
          for (const i of items.slice(from, from + LOOKED_AT_ONCE)) look(i);
        }
        await decode();
      };
      return { run, release };
    }
    for (const i of items) look(i);
    return { run: wanted.length === 0 && kept.length === 0 ? undefined : decode, release };
  }

  /** MetaStore.inOrder for a delete prepared by #prepare: its pins released once its commit settles. */
  #inOrder<T>(prepared: { run: (() => Promise<void>) | undefined; release: () => void }, ask: () => Promise<T>): Promise<T> {
    return this.#s.inOrder(prepared.run, ask).finally(prepared.release);
  }

  /**
   * The records a delete of `i` reads that a cache may keep decoded: the key's current record and,
   * in a versioned bucket or given a version id, the versions versionsADeleteReads names.
   */
  #reads(bucket: string, versioned: boolean, i: { key: string; versionId?: string | undefined }): Array<[RecordCache, Buffer]> {
    const s = this.#s;
    const out: Array<[RecordCache, Buffer]> = [[s.currentRecords, objectKey(bucket, i.key)]];
    if (versioned || i.versionId !== undefined) for (const v of versionsADeleteReads(s.keyTables, bucket, i.key, i.versionId)) out.push([s.versionRecords, v]);
    return out;
  }

  /**
   * How many data files a delete of `i` may release (RecordCache.fileCount: no decode), as
   * deleteOne releases them: the version named (or the current record, when it is that one); with
   * no version named, the current object in an unversioned bucket, the current object and the
   * null version under Suspended (those a marker replaces), none under Enabled (the object
   * becomes noncurrent). An overcount (the current object under Suspended may be no null version)
   * only cuts a commit shorter.
   */
  #filesReleased(bucket: string, versioning: BucketRecord['versioning'], i: { key: string; versionId?: string | undefined }): number {
    const s = this.#s;
    const current = objectKey(bucket, i.key);
    const version = (id: string): Buffer | undefined => {
      const vs = versionStamp(s.keyTables, bucket, i.key, id);
      return vs === undefined ? undefined : versionKeyOf(bucket, i.key, vs, id);
    };
    if (i.versionId !== undefined) {
      const v = version(i.versionId);
      const n = v === undefined ? 0 : s.versionRecords.fileCount(v);
      return n > 0 ? n : s.currentRecords.fileCount(current);
    }
    if (versioning === undefined) return s.currentRecords.fileCount(current);
    if (versioning === 'Enabled') return 0;
    const nullVersion = version(NULL_VERSION);
    return s.currentRecords.fileCount(current) + (nullVersion === undefined ? 0 : s.versionRecords.fileCount(nullVersion));
  }

  /** keyTables, versions read without data and parts (for findVersion's look at a version's stamp and kind). */
  get #withoutData(): KeyWriteTables {
    const listed = this.#s.keyTablesWithoutData.versions as unknown as Database<ObjectRecord, Buffer>;
    return { ...this.#s.keyTables, version: (k) => listed.get(k) };
  }

  /** A record #reads names, told apart by its table. */
  #readId(cache: RecordCache, k: Buffer): string {
    return `${cache === this.#s.currentRecords ? 'c' : 'v'}${k.toString('latin1')}`;
  }

  /**
   * Where a delete commit of `items` from `from` should end (exclusive): after at most `most`
   * keys, and before the key whose records of many parts would take those the commit reads past
   * KEPT_BYTES_MAX stored bytes (their stored lengths, no decode), so that #prepare decodes ahead
   * every one of them and the caches keep them all until the commit takes them, and before the
   * records it decodes itself (kept by no cache: RecordCache.decodeCost) pass IN_COMMIT_DECODE_BYTES,
   * and before the data files its deletes release pass FILES_RELEASED_PER_COMMIT (#filesReleased:
   * each record's part count read from its bytes, no decode); at least one key.
   * Cut only by the key count, a DeleteObjects commit of 200 objects of 500 parts (~67 KB stored
   * each, ~13 MB) had some 120 decoded ahead and the others decoded whole in the commit, in one
   * turn of the event loop (177-452 ms on a loaded 2-core VM, against 24-105 ms cut here; see
   * docs/architecture.md). Records kept already are counted too: the prefetch of the others
   * would push them out (least recently used first).
   * A record the cache keeps is counted once a commit, however many of its keys read it (versions
   * of one key each read its current record and newest versions: lifecycle's removals of a key's
   * noncurrent versions, a DeleteObjects of them by id); one it does not keep, once a key.
   * Looked at LOOKED_AT_ONCE keys to a turn, as #prepare looks. DeleteObjects and lifecycle
   * (expiry, and removals of noncurrent versions and markers) cut their batches here; what each
   * key's delete does is judged in its commit as before.
   */
  async commitEnd(bucket: string, items: ReadonlyArray<{ key: string; versionId?: string | undefined }>, from: number, most: number): Promise<number> {
    const versioning = this.#s.buckets.get(bucket)?.versioning;
    const versioned = versioning !== undefined;
    const last = Math.min(items.length, from + most);
    let bytes = 0;
    let inCommit = 0;
    let files = 0;
    // The records kept counted so far in this commit.
    const counted = new Set<string>();
    for (let i = from; i < last; i++) {
      if (i > from && (i - from) % LOOKED_AT_ONCE === 0) await nextTurn();
      let reads = 0;
      let decodedIn = 0;
      const mine: string[] = [];
      // A version may be named twice (the newest, and a neighbour of the one removed): once.
      const seen = new Set<string>();
      // Removing a version, deleteOne reads the key's current record twice (before, and in
      // releaseFiles after, as a version may have become current): one no cache keeps is decoded twice.
      const currentReads = items[i]!.versionId !== undefined ? 2 : 1;
      for (const [cache, k] of this.#reads(bucket, versioned, items[i]!)) {
        const id = this.#readId(cache, k);
        if (!seen.has(id) && !counted.has(id)) {
          const cost = cache.decodeCost(k);
          reads += cost.kept;
          decodedIn += cost.inCommit * (cache === this.#s.currentRecords ? currentReads : 1);
          if (cost.kept > 0) mine.push(id);
        }
        seen.add(id);
      }
      const released = this.#filesReleased(bucket, versioning, items[i]!);
      if (i > from && (bytes + reads > KEPT_BYTES_MAX || inCommit + decodedIn > IN_COMMIT_DECODE_BYTES || files + released > FILES_RELEASED_PER_COMMIT)) return i;
      bytes += reads;
      inCommit += decodedIn;
      files += released;
      for (const id of mine) counted.add(id);
    }
    return last;
  }

  /**
   * Every version of bucket/key newest first, without data and parts (listed-record.ts: skipped,
   * not decoded): removeVersionsIfUnchanged's judge reads them in its commit, by metadata as
   * lifecycle judged them. Read whole, through the record caches, the versions it does not remove
   * (kept by NewerNoncurrentVersions, or not yet due) were decoded whole in the commit, and those
   * of 64 KiB or more pushed out of the caches the records #prepare had decoded ahead.
   */
  #versionsOf(bucket: string, key: string): Array<VersionEntry<ListedRecord>> {
    return keyVersionsPage(this.#s.keyTablesWithoutData, bucket, key);
  }

  /**
   * Deletes bucket/key as S3 does: unversioned, the object goes (a missing key is no error);
   * versioned, a delete marker becomes the latest version. Given `versionId`, that version is
   * removed for good and the next newest becomes current; a version that is not there is
   * `absent` (S3 answers 204 all the same: a repeated delete succeeds). `check` judges the key's
   * current version as in deleteObjects; a condition that does not hold is a MetaConflict of its
   * code (NoSuchKey, PreconditionFailed) and changes nothing.
   */
  deleteObject(bucket: string, key: string, inTxn?: (result: VersionedDelete) => void, versionId?: string, bypassGovernance = false, check?: (current: ObjectRecord | undefined) => 'NoSuchKey' | 'PreconditionFailed' | undefined): Promise<VersionedDelete> {
    // A delete marker is dated when its commit is asked for, as a written object is (ops/object.ts
    // dates it right before it asks): lmdb-js commits in the order asked, so a key's versions never
    // go up in date from newer to older (but for a completed multipart upload, deliberately dated
    // at its initiation). Dated inside the transaction, a DELETE asked for before a PUT was dated
    // but run after it was dated later than the PUT that became the newer version.
    // Records of many parts it reads are decoded ahead, a slice of their parts to a turn (each
    // held the event loop ~10-40 ms in the commit for 10,000), and the delete dated when it asks
    // after that.
    const k = objectKey(bucket, key);
    return this.#inOrder(this.#prepare(bucket, [{ key, versionId }]), () => {
      const now = Date.now();
      return this.#s.write(() => {
        const b = this.#s.buckets.get(bucket);
        if (!b) throw new MetaConflict('NoSuchBucket');
        const refused = check?.(this.#s.currentRecords.get(k));
        if (refused !== undefined) throw new MetaConflict(refused);
        const r: VersionedDelete = deleteOne(this.#s.keyTables, b, key, versionId, now, bypassGovernance) ?? { absent: true };
        if (r.locked) throw new MetaConflict('ObjectLocked');
        // S3 answers (and notifies) a delete of a missing key as a delete.
        inTxn?.(r);
        return r;
      });
    });
  }

  /**
   * Deletes many keys (or versions) in one commit; for each: what happened, or undefined when
   * the version it names does not exist. `bypass` (per item) removes GOVERNANCE-locked versions;
   * `check` (per item) judges the key's current version and returns the error code of a condition
   * that does not hold, which leaves that key alone (`refused`). `bucketCheck` as updateObject's.
   */
  deleteObjects(
    bucket: string,
    items: ReadonlyArray<{ key: string; versionId?: string; bypass?: boolean; check?: (current: ObjectRecord | undefined) => string | undefined }>,
    inTxn?: (results: ReadonlyArray<VersionedDelete | undefined>) => void,
    bucketCheck?: (bucket: BucketRecord) => void,
  ): Promise<Array<VersionedDelete | undefined>> {
    // Records of many parts decoded ahead, as deleteObject's; markers dated when it asks (see there).
    return this.#inOrder(this.#prepare(bucket, items), () => {
      const now = Date.now();
      return this.#s.write(() => {
        const b = this.#s.buckets.get(bucket);
        if (!b) throw new MetaConflict('NoSuchBucket');
        bucketCheck?.(b);
        const out = items.map((i): VersionedDelete | undefined => {
          this.#s.keyJudged();
          const refused = i.check?.(this.#s.currentRecords.get(objectKey(bucket, i.key)));
          return refused !== undefined ? { refused } : deleteOne(this.#s.keyTables, b, i.key, i.versionId, now, i.bypass === true);
        });
        inTxn?.(out);
        return out;
      });
    });
  }

  /**
   * Deletes, in one commit, each key whose current record is still the version `expected` names
   * (same ETag and mtime): a version written after the caller looked is never deleted. With
   * `stillDue`, each is judged again in the commit, by the bucket and the record as they are
   * there: a change committed after the caller's look but before this commit (the object's tags,
   * the bucket's rules) keeps ETag and mtime, and the object is left alone unless it is still due.
   * In a versioned bucket the object is not removed: a delete marker is put on top of it, as S3's
   * lifecycle expiration does. Returns how many were expired. For background deletions.
   */
  deleteObjectsIfUnchanged(
    bucket: string,
    expected: ReadonlyArray<{ key: string; etag: string; mtime: number }>,
    inTxn?: (results: ReadonlyArray<VersionedDelete | undefined>) => void,
    stillDue?: (b: BucketRecord, key: string, current: ObjectRecord) => boolean,
  ): Promise<number> {
    // Records of many parts decoded ahead, as deleteObject's; markers dated when it asks (see there).
    return this.#inOrder(this.#prepare(bucket, expected), () => {
      const now = Date.now();
      return this.#s.write(() => {
        const b = this.#s.buckets.get(bucket);
        if (!b) return 0;
        let n = 0;
        // In `expected`'s order: what each delete did, undefined for a key left alone.
        const results = expected.map((e) => {
          const cur = this.#s.currentRecords.get(objectKey(bucket, e.key));
          if (!cur || cur.etag !== e.etag || cur.mtime !== e.mtime) return undefined;
          if (stillDue !== undefined && !stillDue(b, e.key, cur)) return undefined;
          n++;
          return deleteOne(this.#s.keyTables, b, e.key, undefined, now);
        });
        if (n > 0) inTxn?.(results);
        return n;
      });
    });
  }

  /**
   * Removes, in one commit, each noncurrent version (or delete marker) still as `expected` names
   * it (key, version id, stamp). With `judged` (key → versionsFingerprint of the versions the
   * caller looked at), a key whose versions changed since is left alone: what to keep may depend
   * on all of them (NewerNoncurrentVersions). With `stillDue` (the stamps of the versions of a key
   * due, given the bucket and a read of the key's versions as they are in the commit), a version is removed
   * only if it is still due there: a version's tags or the bucket's rules changed after the
   * caller's look, but committed before this commit, change no fingerprint. Returns how many went.
   * For lifecycle's noncurrent expiration.
   */
  removeVersionsIfUnchanged(
    bucket: string,
    expected: ReadonlyArray<{ key: string; versionId: string; vs: number }>,
    judged?: ReadonlyMap<string, string>,
    inTxn?: (results: ReadonlyArray<VersionedDelete | undefined>) => void,
    stillDue?: (b: BucketRecord, key: string, versions: () => Array<VersionEntry<ListedRecord>>) => ReadonlySet<number>,
  ): Promise<number> {
    // Records of many parts decoded ahead, as deleteObject's.
    return this.#inOrder(this.#prepare(bucket, expected), () => this.#s.write(() => {
      const b = this.#s.buckets.get(bucket);
      if (!b) return 0;
      let n = 0;
      const changed = new Set<string>();
      // Judged before anything is removed: each removal changes what the key's versions are.
      const dueNow = new Map<string, ReadonlySet<number>>();
      for (const key of judged !== undefined || stillDue !== undefined ? new Set(expected.map((e) => e.key)) : []) {
        // Read only when asked for: a judge of a key of very many versions reads a page of them.
        let versions: Array<VersionEntry<ListedRecord>> | undefined;
        const read = (): Array<VersionEntry<ListedRecord>> => (versions ??= this.#versionsOf(bucket, key));
        const then = judged?.get(key);
        if (then !== undefined && then !== versionsFingerprint(read())) changed.add(key);
        else if (stillDue !== undefined) dueNow.set(key, stillDue(b, key, read));
      }
      const now = Date.now();
      const results = expected.map((e) => {
        if (changed.has(e.key)) return undefined;
        if (stillDue !== undefined && dueNow.get(e.key)?.has(e.vs) !== true) return undefined;
        // Its stamp and whether it is a marker: read without data and parts (deleteOne reads it whole,
        // through the cache; a second whole read here was a second decode of one no cache keeps).
        const found = findVersion(this.#withoutData, bucket, e.key, e.versionId);
        if (!found || stampOf(found.rec) !== e.vs) return undefined;
        // A latest delete marker goes only as the key's last version: were a version it hides still
        // there (one under Object Lock stays, below), removing it would make that version current
        // again, bringing back an object its owner deleted.
        // (Keys only: the version under it may be one of 10,000 parts.)
        if (found.rec.deleteMarker === true && !this.#s.objects.doesExist(objectKey(bucket, e.key))) {
          const [first, second] = [...this.#s.keyTables.versions.getKeys({ start: versionPrefix(bucket, e.key), end: keyRangeEnd(bucket, e.key), limit: 2 })];
          if (first !== undefined && Buffer.from(first).equals(found.k) && second !== undefined) return undefined;
        }
        // A version under Object Lock stays (and is not counted).
        const r = deleteOne(this.#s.keyTables, b, e.key, e.versionId, now, false);
        if (r === undefined || r.locked) return undefined;
        n++;
        return r;
      });
      if (n > 0) inTxn?.(results);
      return n;
    }));
  }
}
