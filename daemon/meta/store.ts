// The only LMDB importer: buckets, object records, multipart uploads and parts, and the
// deletion queue. Writes are async transactions that lmdb-js batches into shared commits;
// a write's promise resolves only once its commit is flushed to disk.

import { open, type Database, type RootDatabase } from 'lmdb';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { filesOf, RECORD_VERSION, type BucketRecord, type ObjectRecord, type PartRecord, type UploadRecord } from './records.js';
import { NotificationQueue } from './notify-queue.js';

export class MetaConflict extends Error {
  readonly code: 'NoSuchBucket' | 'BucketNotEmpty' | 'BucketAlreadyOwnedByYou' | 'NoSuchUpload' | 'NoSuchKey' | 'PreconditionFailed' | 'InvalidPart';
  constructor(code: MetaConflict['code']) {
    super(code);
    this.code = code;
  }
}

/**
 * A commit LMDB could not write; nothing of it became visible. `code` names lmdb-js's error: an
 * errno (ENOSPC, EDQUOT; EIO when the disk took only part of a page write) or an MDB_ code.
 */
export class MetaCommitError extends Error {
  readonly code: string;
  constructor(code: string, cause: unknown) {
    super(`metadata commit failed (${code})`, { cause });
    this.name = 'MetaCommitError';
    this.code = code;
  }
}

const MDB_CODES: Readonly<Record<number, string>> = { [-30792]: 'MDB_MAP_FULL', [-30791]: 'MDB_DBS_FULL', [-30788]: 'MDB_TXN_FULL' };

function lmdbCode(code: unknown): string {
  if (typeof code === 'string') return code;
  if (typeof code !== 'number') return 'UNKNOWN';
  for (const [name, n] of Object.entries(osConstants.errno)) if (n === code) return name;
  return MDB_CODES[code] ?? String(code);
}

/**
 * lmdb-js rejects every write of a failed commit with a generic Error whose `commitError` is a
 * second promise, rejected with the real failure, that nothing handles (lmdb-js#368): handled
 * here, in the same microtask run, before Node would call it unhandled and end the process.
 */
async function commitFailure(err: unknown): Promise<unknown> {
  const detail = (err as { commitError?: unknown } | undefined)?.commitError;
  if (!(detail instanceof Promise)) return err;
  let cause: unknown;
  detail.catch((e: unknown) => {
    cause = e;
  });
  // lmdb-js rejects it in the same callback as the writes; a later settlement is not waited for.
  await new Promise<void>((resolve) => setImmediate(resolve));
  return cause === undefined ? err : new MetaCommitError(lmdbCode((cause as { code?: unknown }).code), cause);
}

/**
 * lmdb-js also makes a commit promise per event-turn batch that nothing awaits: when that commit
 * fails (a full disk), the rejection is unhandled, although every write in the batch was rejected
 * to its caller too, and Node would end the process. Those rejections are dropped; any other still
 * ends the process, as Node's default does.
 */
let orphanCommitsTolerated = false;
function tolerateOrphanCommitRejections(): void {
  if (orphanCommitsTolerated) return;
  orphanCommitsTolerated = true;
  process.on('unhandledRejection', (reason) => {
    const detail = (reason as { commitError?: unknown } | undefined)?.commitError;
    if (reason instanceof Error && detail instanceof Promise) {
      detail.catch(() => undefined);
      return;
    }
    throw reason;
  });
}

export interface ListEntry {
  key: string;
  record: ObjectRecord;
}

export interface ListResult {
  contents: ListEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Last key or common prefix returned (for NextMarker / continuation). */
  next: string | undefined;
}

export interface ListOptions {
  prefix: string;
  delimiter: string;
  /** Exclusive lower bound (marker / start-after / continuation token). */
  after: string;
  maxKeys: number;
}

export interface UploadListEntry {
  upload: UploadRecord;
}

const SEP = 0x00;
const ZERO_COPY_END = Buffer.from([0xff, 0xff, 0xff, 0xff]);

function objectKey(bucket: string, key: string): Buffer {
  return Buffer.concat([Buffer.from(bucket), Buffer.from([SEP]), Buffer.from(key)]);
}

function bucketRange(bucket: string): { start: Buffer; end: Buffer } {
  return { start: Buffer.concat([Buffer.from(bucket), Buffer.from([SEP])]), end: Buffer.concat([Buffer.from(bucket), Buffer.from([SEP + 1])]) };
}

function partKey(uploadId: string, n: number): Buffer {
  const b = Buffer.alloc(Buffer.byteLength(uploadId) + 5);
  b.write(uploadId);
  b[b.length - 5] = SEP;
  b.writeUInt32BE(n, b.length - 4);
  return b;
}

function uploadIndexKey(bucket: string, key: string, initiated: number, id: string): Buffer {
  const t = Buffer.alloc(8);
  t.writeBigUInt64BE(BigInt(initiated));
  return Buffer.concat([Buffer.from(bucket), Buffer.from([SEP]), Buffer.from(key), Buffer.from([SEP]), t, Buffer.from(id)]);
}

export class MetaStore {
  private readonly root: RootDatabase;
  private readonly buckets: Database<BucketRecord, string>;
  private readonly objects: Database<ObjectRecord, Buffer>;
  private readonly uploads: Database<UploadRecord, string>;
  private readonly uploadIndex: Database<string, Buffer>;
  private readonly parts: Database<PartRecord, Buffer>;
  private readonly gc: Database<number, string>;
  /** Bucket-notification events waiting for delivery; written by the in-transaction hooks (`inTxn`) of mutations. */
  readonly notifications: NotificationQueue;
  /** Object entries visited by listings since start (proves listing reads pages, not buckets). */
  listEntriesRead = 0;

  constructor(dir: string) {
    tolerateOrphanCommitRejections();
    this.root = open({ path: join(dir, 'meta'), compression: false, separateFlushed: true, maxDbs: 16 } as never) as RootDatabase;
    // Values as plain msgpack maps: without shared structures, msgpackr's default records carry
    // their definition inline and decoding rebuilds it every time (~20 % slower gets, measured).
    // Values written either way decode either way.
    const plain = { useRecords: false } as const;
    this.buckets = this.root.openDB({ name: 'buckets', ...plain });
    this.objects = this.root.openDB({ name: 'objects', keyEncoding: 'binary', ...plain });
    this.uploads = this.root.openDB({ name: 'uploads', ...plain });
    this.uploadIndex = this.root.openDB({ name: 'upload-index', keyEncoding: 'binary' });
    this.parts = this.root.openDB({ name: 'parts', keyEncoding: 'binary', ...plain });
    this.gc = this.root.openDB({ name: 'gc' });
    this.notifications = new NotificationQueue(this.root);
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }

  /** Runs `fn` inside one write transaction; resolves after the commit is durable. */
  private async write<T>(fn: () => T): Promise<T> {
    let out!: T;
    let failure: unknown;
    const p = this.root.transaction(() => {
      try {
        out = fn();
      } catch (err) {
        failure = err;
        // Throwing aborts the transaction: nothing of it is written.
        throw err;
      }
    });
    // transaction() returns a plain promise for the commit (lmdb-js attaches `flushed` only to
    // put/remove promises). With overlappingSync a commit may be visible before it is flushed, so
    // the flush of this batch is awaited too: `root.flushed` read now names this batch's flush
    // (its `then` reads the pending flush when called). In practice lmdb-js 3.5 flushes before it
    // reports the commit (fdatasync precedes the resolution under strace), so this costs nothing;
    // it keeps the guarantee if that changes.
    const flushed = new Promise<void>((resolve, reject) => this.root.flushed.then(() => resolve(), reject));
    // A failed commit is reported below; its flush outcome then matters to nobody.
    flushed.catch(() => undefined);
    try {
      await p;
    } catch (err) {
      if (failure !== undefined) throw failure;
      throw await commitFailure(err);
    }
    await flushed;
    return out;
  }

  // ---- buckets

  /**
   * Bucket records are read on every request: they are kept decoded in memory, and every bucket
   * mutation (when it is staged, and again once its transaction has settled) makes them stale.
   */
  private bucketGeneration = 0;
  private readonly bucketCache = new Map<string, { gen: number; record: BucketRecord | undefined }>();

  getBucket(name: string): BucketRecord | undefined {
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

  listBuckets(): BucketRecord[] {
    return [...this.buckets.getRange({}).map(({ value }) => value)];
  }

  createBucket(name: string, now = Date.now()): Promise<void> {
    return this.bucketWrite(() => {
      if (this.buckets.get(name)) throw new MetaConflict('BucketAlreadyOwnedByYou');
      void this.buckets.put(name, { v: RECORD_VERSION, name, created: now });
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

  deleteBucket(name: string): Promise<void> {
    return this.bucketWrite(() => {
      if (!this.buckets.get(name)) throw new MetaConflict('NoSuchBucket');
      const { start, end } = bucketRange(name);
      for (const _ of this.objects.getKeys({ start, end, limit: 1 })) throw new MetaConflict('BucketNotEmpty');
      for (const _ of this.uploadIndex.getKeys({ start, end, limit: 1 })) throw new MetaConflict('BucketNotEmpty');
      void this.buckets.remove(name);
    });
  }

  // ---- objects

  getObject(bucket: string, key: string): ObjectRecord | undefined {
    return this.objects.get(objectKey(bucket, key));
  }

  /**
   * Makes `record` the current version of bucket/key. The replaced version's files go to the
   * deletion queue in the same transaction. `check` runs inside the transaction against the
   * current record (for conditional writes); throwing aborts the commit.
   */
  putObject(bucket: string, key: string, record: ObjectRecord, check?: (current: ObjectRecord | undefined) => void, inTxn?: () => void): Promise<void> {
    return this.write(() => {
      if (!this.buckets.get(bucket)) throw new MetaConflict('NoSuchBucket');
      const k = objectKey(bucket, key);
      const old = this.objects.get(k);
      check?.(old);
      // A record may keep the old data file (SSE-C key rotation reseals only the key).
      const kept = new Set(filesOf(record));
      if (old) this.queueFiles(filesOf(old).filter((f) => !kept.has(f)));
      void this.objects.put(k, record);
      inTxn?.();
    });
  }

  /**
   * Rewrites the current record of bucket/key in one transaction (the object's data is never
   * touched: `update` must keep its files). NoSuchKey when the key has no object.
   */
  updateObject(bucket: string, key: string, update: (current: ObjectRecord) => ObjectRecord): Promise<ObjectRecord> {
    return this.write(() => {
      if (!this.buckets.get(bucket)) throw new MetaConflict('NoSuchBucket');
      const k = objectKey(bucket, key);
      const old = this.objects.get(k);
      if (!old) throw new MetaConflict('NoSuchKey');
      const next = update(old);
      if (filesOf(next).join('\n') !== filesOf(old).join('\n')) throw new Error('updateObject must not change the data files of a record');
      void this.objects.put(k, next);
      return next;
    });
  }

  deleteObject(bucket: string, key: string, inTxn?: () => void): Promise<boolean> {
    return this.write(() => {
      // S3 answers (and notifies) a delete of a missing key as a delete.
      inTxn?.();
      const k = objectKey(bucket, key);
      const old = this.objects.get(k);
      if (!old) return false;
      this.queueFiles(filesOf(old));
      void this.objects.remove(k);
      return true;
    });
  }

  /** Deletes many keys in one commit; returns which existed. */
  deleteObjects(bucket: string, keys: string[], inTxn?: () => void): Promise<boolean[]> {
    return this.write(() => {
      inTxn?.();
      return keys.map((key) => {
        const k = objectKey(bucket, key);
        const old = this.objects.get(k);
        if (!old) return false;
        this.queueFiles(filesOf(old));
        void this.objects.remove(k);
        return true;
      });
    });
  }

  /**
   * Deletes, in one commit, each key whose current record is still the version `expected` names
   * (same ETag and mtime): a version written after the caller looked is never deleted. Returns
   * how many were deleted. For background deletions (lifecycle expiry).
   */
  deleteObjectsIfUnchanged(bucket: string, expected: ReadonlyArray<{ key: string; etag: string; mtime: number }>, inTxn?: (deleted: string[]) => void): Promise<number> {
    return this.write(() => {
      const deleted: string[] = [];
      for (const e of expected) {
        const k = objectKey(bucket, e.key);
        const cur = this.objects.get(k);
        if (!cur || cur.etag !== e.etag || cur.mtime !== e.mtime) continue;
        this.queueFiles(filesOf(cur));
        void this.objects.remove(k);
        deleted.push(e.key);
      }
      if (deleted.length > 0) inTxn?.(deleted);
      return deleted.length;
    });
  }

  /**
   * One page of a bucket listing as an LMDB range scan from the start key. Keys below a common
   * prefix are skipped by seeking past the prefix, so a page costs O(page), not O(bucket).
   */
  listObjects(bucket: string, opts: ListOptions): ListResult {
    const bucketStart = bucketRange(bucket).start;
    const end = bucketRange(bucket).end;
    const prefixBytes = Buffer.from(opts.prefix);
    const afterBytes = Buffer.from(opts.after);
    const contents: ListEntry[] = [];
    const commonPrefixes: string[] = [];
    let next: string | undefined;
    let count = 0;
    let start = Buffer.concat([bucketStart, Buffer.compare(prefixBytes, afterBytes) > 0 ? prefixBytes : afterBytes]);
    const base = bucketStart.length;
    outer: for (;;) {
      for (const { key: k, value } of this.objects.getRange({ start, end })) {
        this.listEntriesRead++;
        const keyBytes = k.subarray(base);
        if (Buffer.compare(keyBytes, afterBytes) <= 0 && afterBytes.length > 0) continue;
        if (keyBytes.length < prefixBytes.length || !keyBytes.subarray(0, prefixBytes.length).equals(prefixBytes)) break outer;
        const key = keyBytes.toString('utf8');
        if (opts.delimiter !== '') {
          const idx = key.indexOf(opts.delimiter, opts.prefix.length);
          if (idx >= 0) {
            const cp = key.slice(0, idx + opts.delimiter.length);
            const cpBytes = Buffer.from(cp);
            // Seek past every key under this common prefix.
            start = Buffer.concat([bucketStart, cpBytes, ZERO_COPY_END]);
            // A marker equal to (or inside) this prefix means a previous page already listed it.
            if (afterBytes.length > 0 && Buffer.compare(cpBytes, afterBytes) <= 0) continue outer;
            if (count >= opts.maxKeys) return { contents, commonPrefixes, isTruncated: true, next };
            commonPrefixes.push(cp);
            count++;
            next = cp;
            continue outer;
          }
        }
        if (count >= opts.maxKeys) return { contents, commonPrefixes, isTruncated: true, next };
        contents.push({ key, record: value });
        count++;
        next = key;
      }
      break;
    }
    return { contents, commonPrefixes, isTruncated: false, next };
  }

  // ---- multipart

  createUpload(upload: UploadRecord): Promise<void> {
    return this.write(() => {
      if (!this.buckets.get(upload.bucket)) throw new MetaConflict('NoSuchBucket');
      void this.uploads.put(upload.id, upload);
      void this.uploadIndex.put(uploadIndexKey(upload.bucket, upload.key, upload.initiated, upload.id), upload.id);
    });
  }

  /** Uploads initiated before `time` (ms since the epoch), in upload-id order. */
  uploadsInitiatedBefore(time: number): UploadRecord[] {
    const out: UploadRecord[] = [];
    for (const { value } of this.uploads.getRange({})) if (value.initiated < time) out.push(value);
    return out;
  }

  getUpload(id: string): UploadRecord | undefined {
    return this.uploads.get(id);
  }

  putPart(uploadId: string, part: PartRecord): Promise<void> {
    return this.write(() => {
      if (!this.uploads.get(uploadId)) throw new MetaConflict('NoSuchUpload');
      const k = partKey(uploadId, part.n);
      const old = this.parts.get(k);
      if (old) this.queueFiles(filesOf({ parts: [old] }));
      void this.parts.put(k, part);
    });
  }

  listParts(uploadId: string, afterPart = 0, limit = 10000): PartRecord[] {
    const start = partKey(uploadId, afterPart + 1);
    const end = partKey(uploadId, 0xffffffff);
    return [...this.parts.getRange({ start, end, limit }).map(({ value }) => value)];
  }

  /**
   * Completes an upload atomically: the object record becomes visible, the upload and its part
   * records go, and parts not used by the object (and the replaced object's files) are queued.
   * `check` runs first against the current record (conditional writes); throwing changes nothing.
   */
  completeUpload(upload: UploadRecord, record: ObjectRecord, check?: (current: ObjectRecord | undefined) => void, inTxn?: () => void): Promise<void> {
    return this.write(() => {
      if (!this.uploads.get(upload.id)) throw new MetaConflict('NoSuchUpload');
      if (!this.buckets.get(upload.bucket)) throw new MetaConflict('NoSuchBucket');
      check?.(this.objects.get(objectKey(upload.bucket, upload.key)));
      // The caller read the parts before this transaction: a part re-uploaded since then has
      // had its old file queued for deletion, so the record must not point at it.
      for (const p of record.parts ?? []) {
        const cur = this.parts.get(partKey(upload.id, p.n));
        if (!cur || cur.etag !== p.etag || filesOf({ parts: [cur] }).join() !== filesOf({ parts: [p] }).join()) throw new MetaConflict('InvalidPart');
      }
      const used = new Set(filesOf(record));
      for (const p of this.listParts(upload.id)) {
        for (const f of filesOf({ parts: [p] })) if (!used.has(f)) this.queueFiles([f]);
        void this.parts.remove(partKey(upload.id, p.n));
      }
      const k = objectKey(upload.bucket, upload.key);
      const old = this.objects.get(k);
      if (old) this.queueFiles(filesOf(old).filter((f) => !used.has(f)));
      void this.objects.put(k, record);
      this.removeUpload(upload);
      inTxn?.();
    });
  }

  abortUpload(uploadId: string): Promise<void> {
    return this.write(() => {
      const upload = this.uploads.get(uploadId);
      if (!upload) throw new MetaConflict('NoSuchUpload');
      for (const p of this.listParts(uploadId)) {
        this.queueFiles(filesOf({ parts: [p] }));
        void this.parts.remove(partKey(uploadId, p.n));
      }
      this.removeUpload(upload);
    });
  }

  private removeUpload(upload: UploadRecord): void {
    void this.uploads.remove(upload.id);
    void this.uploadIndex.remove(uploadIndexKey(upload.bucket, upload.key, upload.initiated, upload.id));
  }

  /** Uploads of a bucket in key order, then initiation order. */
  listUploads(bucket: string, opts: { prefix: string; keyMarker: string; uploadIdMarker: string; limit: number }): { uploads: UploadRecord[]; isTruncated: boolean } {
    const { start, end } = bucketRange(bucket);
    // Keys compare as UTF-8 bytes, the index order (JS string order is UTF-16 and differs).
    const prefixBytes = Buffer.from(opts.prefix);
    const markerBytes = Buffer.from(opts.keyMarker);
    const from = Buffer.concat([start, Buffer.compare(prefixBytes, markerBytes) > 0 ? prefixBytes : markerBytes]);
    const out: UploadRecord[] = [];
    let passedMarker = opts.uploadIdMarker === '';
    for (const { value: id } of this.uploadIndex.getRange({ start: from, end })) {
      const u = this.uploads.get(id);
      if (!u) continue;
      const keyBytes = Buffer.from(u.key);
      if (!u.key.startsWith(opts.prefix)) {
        if (Buffer.compare(keyBytes, prefixBytes) > 0) break;
        continue;
      }
      const vsMarker = Buffer.compare(keyBytes, markerBytes);
      if (opts.keyMarker !== '' && vsMarker < 0) continue;
      if (opts.keyMarker !== '' && vsMarker === 0) {
        if (opts.uploadIdMarker === '') continue;
        if (!passedMarker) {
          if (u.id === opts.uploadIdMarker) passedMarker = true;
          continue;
        }
      }
      if (out.length >= opts.limit) return { uploads: out, isTruncated: true };
      out.push(u);
    }
    return { uploads: out, isTruncated: false };
  }

  // ---- deletion queue and sweep support

  private queueFiles(files: string[]): void {
    const now = Date.now();
    for (const f of files) void this.gc.put(f, now);
  }

  queuedFiles(limit = 1000): string[] {
    return [...this.gc.getKeys({ limit })];
  }

  /** Queued file ids whose replacing commit is at least `graceMs` old (the queue stores its time). */
  dueFiles(graceMs: number, now = Date.now(), limit = 1000): string[] {
    const out: string[] = [];
    for (const { key, value } of this.gc.getRange({})) {
      if (now - value >= graceMs) out.push(key);
      if (out.length >= limit) break;
    }
    return out;
  }

  dequeueFiles(files: string[]): Promise<void> {
    return this.write(() => {
      for (const f of files) void this.gc.remove(f);
    });
  }

  /** Every file id some record points at (objects and pending parts). */
  referencedFiles(): Set<string> {
    const out = new Set<string>();
    for (const { value } of this.objects.getRange({})) for (const f of filesOf(value)) out.add(f);
    for (const { value } of this.parts.getRange({})) for (const f of filesOf({ parts: [value] })) out.add(f);
    return out;
  }

  /** Approximate size of the LMDB map in use, for metrics. */
  stats(): { pageSize: number; treeDepth: number; entries: number; mapSize: number; usedBytes: number } {
    const s = this.root.getStats() as { pageSize: number; treeDepth: number; entryCount: number; mapSize: number; lastPageNumber: number };
    return { pageSize: s.pageSize, treeDepth: s.treeDepth, entries: s.entryCount, mapSize: s.mapSize, usedBytes: (s.lastPageNumber + 1) * s.pageSize };
  }
}
