// Listing pages of meta/store.ts's tables (ListObjects V1/V2, ListObjectVersions and
// ListMultipartUploads): LMDB range scans from the start key that seek past each common prefix
// (and, for versions, to the version after the version-id marker), so a page costs O(page), not
// O(bucket) nor O(versions of a key).
// Read-only; MetaStore hands in its tables.

import type { Database } from 'lmdb';
import { bucketRange, keyOfVersionKey, markerBound, MAX_KEY_BYTES, objectKey, prefixBound, SEP, STAMP_TOP, uploadIndexKey, versionKeyOf, versionPrefix, ZERO_COPY_END } from './keys.js';
import type { ListedRecord } from './listed-record.js';
import type { ObjectRecord, UploadRecord } from './records.js';
import { clientVersionId, NULL_VERSION, stampOf, stampOfId } from './versions.js';

export interface ListEntry<R extends ListedRecord = ObjectRecord> {
  key: string;
  record: R;
}

export interface ListResult<R extends ListedRecord = ObjectRecord> {
  contents: Array<ListEntry<R>>;
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

/** One entry of ListObjectVersions. */
export interface VersionEntry<R extends ListedRecord = ObjectRecord> {
  key: string;
  record: R;
  isLatest: boolean;
}

export interface VersionListResult<R extends ListedRecord = ObjectRecord> {
  entries: Array<VersionEntry<R>>;
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Where the next page starts: the last key (and version, for a version entry) returned. */
  nextKey: string | undefined;
  nextVersionId: string | undefined;
  /** The stamp of the version nextVersionId names (undefined with it): the next slice's markerStamp. */
  nextStamp?: number;
}

/**
 * What a listing reads: MetaStore's current-objects and versions tables, whole records or
 * without their data and parts (listed-record.ts).
 */
export interface ListingTables<R extends ListedRecord = ObjectRecord> {
  objects: Database<R, Buffer>;
  versions: Database<R, Buffer>;
  /** The versions-table key of version `versionId` (`null` too) of bucket/key, when it is there (store-key-writes.ts findVersion). */
  versionKey(bucket: string, key: string, versionId: string): Buffer | undefined;
  /** Where bucket/key's null version removed last sat, its stamp, while the key kept other versions (null-index.ts goneAt). */
  nullGoneAt(bucket: string, key: string): number | undefined;
  /** Counts one listed key read (MetaStore.listEntriesRead). */
  entryRead(): void;
  /** Counts one versions-table record read (MetaStore.versionEntriesRead). */
  versionRead(): void;
}

/** What ListMultipartUploads reads: MetaStore's uploads table and its (bucket, key, initiated, id) index. */
export interface UploadListingTables {
  uploads: Database<UploadRecord, string>;
  uploadIndex: Database<string, Buffer>;
  /** The upload an id names (MetaStore.getUpload). */
  getUpload(id: string): UploadRecord | undefined;
  /** Counts one upload record read by a listing (MetaStore.uploadEntriesRead). */
  uploadRead(): void;
}

export interface UploadListOptions {
  prefix: string;
  keyMarker: string;
  uploadIdMarker: string;
  limit: number;
}

export interface VersionListOptions {
  prefix: string;
  delimiter: string;
  keyMarker: string;
  versionIdMarker: string;
  /**
   * The stamp of the version versionIdMarker names, when the caller knows it (the next slice of a
   * page, ops/list.ts: the `nextStamp` of the slice before): the listing goes on strictly after that
   * place in key-marker's order (newest first), whatever became of the version since. Without it the
   * marker is looked up (see versionsOfKey).
   */
  markerStamp?: number;
  maxKeys: number;
}

/** The common prefix `key` rolls up into (up to the first delimiter after the prefix), if any. */
function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '') return undefined;
  const idx = key.indexOf(delimiter, prefix.length);
  return idx < 0 ? undefined : key.slice(0, idx + delimiter.length);
}

/** A marker equal to (or inside) this common prefix means a previous page already listed it. */
function listedBefore(commonPrefix: Buffer, marker: Buffer): boolean {
  return marker.length > 0 && Buffer.compare(commonPrefix, marker) <= 0;
}

/**
 * One page of a bucket listing as an LMDB range scan from the start key. Keys below a common
 * prefix are skipped by seeking past the prefix, so a page costs O(page), not O(bucket).
 */
export function listObjects<R extends ListedRecord>(tables: ListingTables<R>, bucket: string, opts: ListOptions): ListResult<R> {
  const bucketStart = bucketRange(bucket).start;
  const end = bucketRange(bucket).end;
  const prefixBytes = prefixBound(opts.prefix);
  // A prefix longer than any key matches none.
  if (prefixBytes === undefined) return { contents: [], commonPrefixes: [], isTruncated: false, next: undefined };
  const afterBytes = markerBound(opts.after);
  const contents: Array<ListEntry<R>> = [];
  const commonPrefixes: string[] = [];
  let next: string | undefined;
  let count = 0;
  let start = Buffer.concat([bucketStart, Buffer.compare(prefixBytes, afterBytes) > 0 ? prefixBytes : afterBytes]);
  const base = bucketStart.length;
  const truncated = (): ListResult<R> => ({ contents, commonPrefixes, isTruncated: true, next });
  /** Lists common prefix `cp` (unless a previous page did) and seeks past it; false when the page is full. */
  const rollUp = (cp: string): boolean => {
    const cpBytes = Buffer.from(cp);
    start = Buffer.concat([bucketStart, cpBytes, ZERO_COPY_END]);
    if (listedBefore(cpBytes, afterBytes)) return true;
    if (count >= opts.maxKeys) return false;
    commonPrefixes.push(cp);
    count++;
    next = cp;
    return true;
  };
  // Whether the key after a common prefix is looked up alone first (see below).
  let peek = true;
  outer: for (;;) {
    // A value cursor decodes the record it stands on, so one restarted past each common prefix
    // decoded a record per common prefix it then skipped (its inline data copied out, for a
    // whole-record listing): a page over 1,000 "directories" cost ~6 times the page of keys
    // alone. The next key is looked up without its value, and one under a common prefix seeked
    // past at once. Not after a cursor that listed objects before its common prefix: in a run of
    // objects and common prefixes in turn, the look-up would cost more than the record it saves.
    if (peek) {
      const k = nextKey(tables.objects, start, end, base);
      if (k === undefined || !hasPrefix(k, prefixBytes)) break;
      const cp = commonPrefixOf(k.toString('utf8'), opts.prefix, opts.delimiter);
      if (cp !== undefined) {
        tables.entryRead();
        if (!rollUp(cp)) return truncated();
        continue;
      }
      // A full page ends before the cursor reads the record of an object it would not list (not
      // the marker's own key: the cursor passes it, and what follows may be nothing).
      if (count >= opts.maxKeys && (afterBytes.length === 0 || Buffer.compare(k, afterBytes) > 0)) return truncated();
    }
    peek = true;
    for (const { key: k, value } of tables.objects.getRange({ start, end })) {
      tables.entryRead();
      const keyBytes = k.subarray(base);
      if (Buffer.compare(keyBytes, afterBytes) <= 0 && afterBytes.length > 0) continue;
      if (!hasPrefix(keyBytes, prefixBytes)) break outer;
      const key = keyBytes.toString('utf8');
      const cp = commonPrefixOf(key, opts.prefix, opts.delimiter);
      if (cp !== undefined) {
        // Seek past every key under this common prefix.
        if (!rollUp(cp)) return truncated();
        continue outer;
      }
      if (count >= opts.maxKeys) return truncated();
      contents.push({ key, record: value });
      count++;
      next = key;
      peek = false;
    }
    break;
  }
  return { contents, commonPrefixes, isTruncated: false, next };
}

/**
 * One page of ListObjectVersions: every version and delete marker of the bucket's keys in key
 * order, newest first within a key, merged from the current objects and the versions table.
 * Both tables are read by one cursor each, side by side (rowsFrom), restarted only to seek past
 * a common prefix or past the key-marker's key; the key-marker's key itself, entered at its
 * version-id marker, is read apart (versionsOfKey). Every read of the page is synchronous, so
 * all come from lmdb-js's one shared read transaction: one snapshot.
 */
export function listVersions<R extends ListedRecord>(tables: ListingTables<R>, bucket: string, opts: VersionListOptions): VersionListResult<R> {
  const bucketStart = bucketRange(bucket).start;
  const prefixBytes = prefixBound(opts.prefix);
  if (prefixBytes === undefined) return { entries: [], commonPrefixes: [], isTruncated: false, nextKey: undefined, nextVersionId: undefined };
  // Keys hold no NUL, so a key-marker with one lists the keys after its part before the NUL (and
  // names no key for a version-id marker): whole, it sorted among the versions table's `key NUL
  // stamp` entries, and `key-marker=k%00%00` listed the versions of k, which sorts before it.
  const nul = opts.keyMarker.indexOf('\0');
  const markerBytes = markerBound(nul < 0 ? opts.keyMarker : opts.keyMarker.slice(0, nul));
  const entries: Array<VersionEntry<R>> = [];
  const commonPrefixes: string[] = [];
  let nextKey: string | undefined;
  let nextVersionId: string | undefined;
  let nextStamp: number | undefined;
  let count = 0;
  const truncated = (): VersionListResult<R> => ({ entries, commonPrefixes, isTruncated: true, nextKey, nextVersionId, nextStamp });
  // Where the scan stands: the next key is the first ≥ `from` (or > it when not inclusive).
  let from: Buffer = Buffer.compare(prefixBytes, markerBytes) > 0 ? prefixBytes : markerBytes;
  let inclusive = !(opts.keyMarker !== '' && from === markerBytes && (opts.versionIdMarker === '' || nul >= 0));
  /** Lists common prefix `cp` (unless a previous page did) and seeks past it; false when the page is full. */
  const rollUp = (cp: string): boolean => {
    const cpBytes = Buffer.from(cp);
    from = Buffer.concat([cpBytes, ZERO_COPY_END]);
    inclusive = true;
    if (listedBefore(cpBytes, markerBytes)) return true;
    if (count >= opts.maxKeys) return false;
    commonPrefixes.push(cp);
    count++;
    nextKey = cp;
    nextVersionId = undefined;
    nextStamp = undefined;
    return true;
  };
  scan: for (;;) {
    // The next key is looked up alone first: one under a common prefix is seeked past without
    // opening the cursors, which read a record of each table (a page of common prefixes cost
    // ~50 % more).
    const next = nextListedKey(tables, bucketStart, from, inclusive);
    if (next === undefined || !hasPrefix(next, prefixBytes)) break;
    const peeked = commonPrefixOf(next.toString('utf8'), opts.prefix, opts.delimiter);
    if (peeked !== undefined) {
      tables.entryRead();
      if (!rollUp(peeked)) return truncated();
      continue;
    }
    let key = '';
    let keyBytes: Buffer | undefined;
    for (const row of rowsFrom(tables, bucketStart, next, true)) {
      // The first row of a key is its current object, else its newest version: the latest.
      const first = keyBytes === undefined || !row.key.equals(keyBytes);
      if (first) {
        if (!hasPrefix(row.key, prefixBytes)) break scan;
        tables.entryRead();
        key = row.key.toString('utf8');
        keyBytes = row.key;
        const cp = commonPrefixOf(key, opts.prefix, opts.delimiter);
        if (cp !== undefined) {
          if (!rollUp(cp)) return truncated();
          continue scan;
        }
        if (opts.versionIdMarker !== '' && key === opts.keyMarker) {
          for (const v of versionsOfKey(tables, bucket, key, opts.versionIdMarker, opts.markerStamp)) {
            if (count >= opts.maxKeys) return truncated();
            entries.push(v);
            count++;
            nextKey = key;
            nextVersionId = clientVersionId(v.record);
            nextStamp = stampOf(v.record);
          }
          from = Buffer.from(row.key);
          inclusive = false;
          continue scan;
        }
      }
      if (!row.current) tables.versionRead();
      if (count >= opts.maxKeys) return truncated();
      entries.push({ key, record: row.record, isLatest: first });
      count++;
      nextKey = key;
      nextVersionId = clientVersionId(row.record);
      nextStamp = stampOf(row.record);
    }
    break;
  }
  return { entries, commonPrefixes, isTruncated: false, nextKey, nextVersionId, nextStamp };
}

/** One record of the two tables in listing order: a key's current object, or one of its versions. */
interface Row<R> {
  /** The object key's bytes. */
  key: Buffer;
  record: R;
  current: boolean;
}

/**
 * Every record of the bucket's keys at or after `from` (after it when not inclusive), current
 * objects and versions merged by one cursor over each table. Keys hold no NUL, so an objects-table
 * key `bucket NUL key` sorts before its versions (`bucket NUL key NUL stamp id`), and with those of
 * other keys in key order: the two tables' keys together sort as the listing lists. Read as taken;
 * both cursors are released when the caller stops.
 */
function* rowsFrom<R>(tables: ListingTables<R & ListedRecord>, bucketStart: Buffer, from: Buffer, inclusive: boolean): Generator<Row<R>> {
  const base = bucketStart.length;
  const { objStart, verStart, end } = scanBounds(bucketStart, from, inclusive);
  const objects = tables.objects.getRange({ start: objStart, end })[Symbol.iterator]();
  const versions = tables.versions.getRange({ start: verStart, end })[Symbol.iterator]();
  try {
    let o = objects.next();
    let v = versions.next();
    while (!o.done || !v.done) {
      if (v.done || (!o.done && Buffer.compare(o.value.key, v.value.key) < 0)) {
        yield { key: o.value.key.subarray(base), record: o.value.value, current: true };
        o = objects.next();
      } else {
        yield { key: keyOfVersionKey(v.value.key, base), record: v.value.value, current: false };
        v = versions.next();
      }
    }
  } finally {
    // An abandoned lmdb-js range keeps its cursor, and its read transaction's snapshot, open.
    objects.return?.();
    versions.return?.();
  }
}

/**
 * The versions of bucket/key newest first (the current object, when there is one, first), read as
 * they are taken; with `marker`, those after that version: after the place it holds in that order,
 * its stamp then its id (the current object is newer than every entry of the versions table, so
 * it sorts first). `markerStamp`, when the caller knows it, is that stamp. Else it is the marker's
 * version's, looked up (the current object or the versions table), or for a version gone since,
 * the one its id carries, or for a `null` version gone since, the place the store kept for it: a
 * place that outlives its version, so no version before it is listed again and none after it
 * missed, as S3 goes on after a version-id marker deleted between pages.
 */
function* versionsOfKey<R extends ListedRecord>(tables: ListingTables<R>, bucket: string, key: string, marker: string | undefined, markerStamp?: number): Generator<VersionEntry<R>> {
  const cur = tables.objects.get(objectKey(bucket, key));
  const prefix = versionPrefix(bucket, key);
  const end = Buffer.from(prefix);
  end[end.length - 1] = SEP + 1;
  // The current object, when it is listed, then the versions table from `start`.
  let withCurrent = cur !== undefined;
  let start = prefix;
  const stamp = marker === undefined ? undefined : (markerStamp ?? markerStampOf(tables, bucket, key, marker, cur));
  if (marker !== undefined && stamp !== undefined) {
    withCurrent = cur !== undefined && after(stampOf(cur), clientVersionId(cur), stamp, marker);
    // The least key after the place (stamps are below STAMP_TOP: one past it, a record's mtime
    // from before stamps in an unlikely future, has every entry after it).
    if (stamp <= STAMP_TOP) start = Buffer.concat([versionKeyOf(bucket, key, stamp, marker), Buffer.from([SEP])]);
  }
  // Else, with a marker, it has no place: an id s3d never made, or a `null` version gone whose
  // place was not kept (an earlier version removed it, or the index was rebuilt since). The key
  // is listed again from its newest version, since listing a version twice is better than never
  // listing some.
  if (cur !== undefined && withCurrent) yield { key, record: cur, isLatest: true };
  let first = true;
  for (const { key: k, value } of tables.versions.getRange({ start, end })) {
    tables.versionRead();
    // Without a current object the newest entry of the versions table is the latest version.
    const isLatest = first && cur === undefined && (start === prefix || isFirstVersion(tables, prefix, end, Buffer.from(k)));
    first = false;
    yield { key, record: value, isLatest };
  }
}

/** Whether the version of stamp `vs` and id `id` comes after the place (`stamp`, `markerId`) in a key's listing order: older, or as old with a later id (the versions table's key order). */
function after(vs: number, id: string, stamp: number, markerId: string): boolean {
  return vs < stamp || (vs === stamp && Buffer.compare(Buffer.from(id), Buffer.from(markerId)) > 0);
}

/**
 * The stamp of version `marker` of bucket/key, its place in the key's listing order: the
 * version's own (current or not), else the one its id carries, or for `null`, where the null
 * version removed last sat (a null version there is now is newer: a page that ended on an older
 * one lists some versions again, none is missed); undefined when none says (an id s3d never
 * made, a `null` version gone whose place was not kept).
 */
function markerStampOf(tables: ListingTables<ListedRecord>, bucket: string, key: string, marker: string, cur: ListedRecord | undefined): number | undefined {
  if (cur !== undefined && clientVersionId(cur) === marker) return stampOf(cur);
  const at = tables.versionKey(bucket, key, marker);
  if (at !== undefined) return STAMP_TOP - Number(at.readBigUInt64BE(at.length - Buffer.byteLength(marker) - 8));
  return marker === NULL_VERSION ? tables.nullGoneAt(bucket, key) : stampOfId(marker);
}

/** Whether `k` is the first versions-table key of its object (between `prefix` and `end`). */
function isFirstVersion(tables: ListingTables<ListedRecord>, prefix: Buffer, end: Buffer, k: Buffer): boolean {
  for (const head of tables.versions.getKeys({ start: prefix, end, limit: 1 })) return Buffer.compare(head, k) === 0;
  return false;
}

/** The first key (bytes, past the bucket's `base` bytes) of `table` at or after `start`, read without its value. */
function nextKey<V>(table: Database<V, Buffer>, start: Buffer, end: Buffer, base: number): Buffer | undefined {
  for (const k of table.getKeys({ start, end, limit: 1 })) return Buffer.from(k.subarray(base));
  return undefined;
}

function hasPrefix(key: Buffer, prefix: Buffer): boolean {
  return key.length >= prefix.length && key.subarray(0, prefix.length).equals(prefix);
}

/** The first key (bytes) of the bucket at or after `from` (after it when not inclusive) that has a current object or any version. */
function nextListedKey(tables: ListingTables<ListedRecord>, bucketStart: Buffer, from: Buffer, inclusive: boolean): Buffer | undefined {
  const base = bucketStart.length;
  const { objStart, verStart, end } = scanBounds(bucketStart, from, inclusive);
  let best = nextKey(tables.objects, objStart, end, base);
  for (const k of tables.versions.getKeys({ start: verStart, end, limit: 1 })) {
    const key = Buffer.from(keyOfVersionKey(k, base));
    if (best === undefined || Buffer.compare(key, best) < 0) best = key;
  }
  return best;
}

/** Where the objects and versions tables are entered for the keys at or after `from` (after it when not inclusive), and the bucket's end. */
function scanBounds(bucketStart: Buffer, from: Buffer, inclusive: boolean): { objStart: Buffer; verStart: Buffer; end: Buffer } {
  const end = Buffer.from(bucketStart);
  end[end.length - 1] = SEP + 1;
  // Keys hold no NUL: `key NUL` is the least key after `key` among objects, and `key 0x01` skips
  // every versions-table entry of `key` (they are `key NUL stamp id`).
  const objStart = Buffer.concat([bucketStart, from, inclusive ? Buffer.alloc(0) : Buffer.from([SEP])]);
  const verStart = Buffer.concat([bucketStart, from, inclusive ? Buffer.alloc(0) : Buffer.from([SEP + 1])]);
  return { objStart, verStart, end };
}

/** An id as ops/multipart.ts newUploadId makes them: the initiation time (12 hex digits), then 24 base64url characters. */
const TIMED_UPLOAD_ID = /^([0-9a-f]{12})[A-Za-z0-9_-]{24}$/;

/**
 * The index key an upload of bucket/key with id `id` had, from the initiation time its id begins
 * with; undefined for an id without one, or a key longer than any upload's (no upload had it, and
 * its index key would be longer than lmdb-js can build: a RangeError, answered 500). Among the
 * key's uploads of s3d's ids, those after it in the index are those whose ids sort after it (the
 * same time in the same 12 digits first).
 */
function goneUploadIndexKey(bucket: string, key: string, id: string): Buffer | undefined {
  const time = TIMED_UPLOAD_ID.exec(id)?.[1];
  if (time === undefined || Buffer.byteLength(key) > MAX_KEY_BYTES) return undefined;
  return uploadIndexKey(bucket, key, parseInt(time, 16), id);
}

/**
 * A bucket's uploads in key order, then initiation order, from just past the markers (and past
 * every key starting with `pastPrefix`), read as the caller takes them. The index is entered just past the place the markers name (the marked upload,
 * or with no upload id every upload of key-marker), not at key-marker's first upload: paging one
 * key's uploads read every earlier upload of it again on each page (quadratic: 10,000 uploads of
 * one key paged by 1 stalled the daemon for minutes).
 */
export function* uploadsAfter(tables: UploadListingTables, bucket: string, opts: Omit<UploadListOptions, 'limit'> & { pastPrefix?: string }): Generator<UploadRecord> {
  const { start, end } = bucketRange(bucket);
  // Keys compare as UTF-8 bytes, the index order (JS string order is UTF-16 and differs). A
  // prefix longer than any key matches none; a longer marker is cut (keys.ts markerBound).
  const prefixBytes = prefixBound(opts.prefix);
  if (prefixBytes === undefined) return;
  const markerBytes = markerBound(opts.keyMarker);
  // Within key-marker, what follows upload-id-marker: the uploads after it in the index when it
  // still exists; when it is gone (aborted or completed meanwhile), those whose id sorts after
  // it, as S3 words the rule. s3d's ids begin with their initiation time, so that is the place
  // the upload had in the index, entered there (reading every earlier upload of the key to
  // compare ids made a page cost the uploads before the marker); ids of earlier versions do not.
  const markerUpload = opts.uploadIdMarker === '' ? undefined : tables.getUpload(opts.uploadIdMarker);
  const markerIndex =
    markerUpload !== undefined && markerUpload.bucket === bucket && markerUpload.key === opts.keyMarker
      ? uploadIndexKey(bucket, markerUpload.key, markerUpload.initiated, markerUpload.id)
      : goneUploadIndexKey(bucket, opts.keyMarker, opts.uploadIdMarker);
  const markerIdBytes = Buffer.from(opts.uploadIdMarker);
  let from = Buffer.concat([start, Buffer.compare(prefixBytes, markerBytes) > 0 ? prefixBytes : markerBytes]);
  if (opts.keyMarker !== '' && Buffer.compare(markerBytes, prefixBytes) >= 0) {
    // The index entry right after the marked upload's; or, with no upload id, past every entry of
    // key-marker (`key NUL …`: keys hold no NUL, so `key 0x01` follows them all).
    if (markerIndex !== undefined) from = Buffer.concat([markerIndex, Buffer.from([0])]);
    else if (opts.uploadIdMarker === '') from = Buffer.concat([start, markerBytes, Buffer.from([SEP + 1])]);
  }
  if (opts.pastPrefix !== undefined) {
    // Past every key that starts with it: 0xFF follows every byte UTF-8 has.
    const past = Buffer.concat([start, Buffer.from(opts.pastPrefix), Buffer.from([0xff])]);
    if (Buffer.compare(past, from) > 0) from = past;
  }
  for (const { key: indexKey, value: id } of tables.uploadIndex.getRange({ start: from, end })) {
    const u = tables.uploads.get(id);
    tables.uploadRead();
    if (!u) continue;
    const keyBytes = Buffer.from(u.key);
    if (!u.key.startsWith(opts.prefix)) {
      if (Buffer.compare(keyBytes, prefixBytes) > 0) return;
      continue;
    }
    const vsMarker = Buffer.compare(keyBytes, markerBytes);
    if (opts.keyMarker !== '' && vsMarker < 0) continue;
    if (opts.keyMarker !== '' && vsMarker === 0) {
      if (opts.uploadIdMarker === '') continue;
      const after = markerIndex !== undefined ? Buffer.compare(indexKey as Buffer, markerIndex) > 0 : Buffer.compare(Buffer.from(u.id), markerIdBytes) > 0;
      if (!after) continue;
    }
    yield u;
  }
}

/** One page of ListMultipartUploads: at most `limit` uploads of uploadsAfter, and whether more follow. */
export function listUploads(tables: UploadListingTables, bucket: string, opts: UploadListOptions): { uploads: UploadRecord[]; isTruncated: boolean } {
  const out: UploadRecord[] = [];
  for (const u of uploadsAfter(tables, bucket, opts)) {
    if (out.length >= opts.limit) return { uploads: out, isTruncated: true };
    out.push(u);
  }
  return { uploads: out, isTruncated: false };
}
