// One key's versions read a page at a time (MetaStore.keyVersionsPage, countNewerVersions): a
// key of very many versions (one overwritten every minute has half a million a year) read whole
// held the event loop for seconds (lifecycle's noncurrent expiration reads such keys page by
// page, with turns between). Inside a write transaction these reads see its writes.

import type { Database } from 'lmdb';
import type { ObjectRecord } from './records.js';
import type { VersionEntry } from './listing.js';
import type { ListedRecord } from './listed-record.js';
import { objectKey, SEP, versionKeyOf, versionPrefix } from './keys.js';

export interface KeyTables {
  readonly objects: Database<ObjectRecord, Buffer>;
  readonly versions: Database<ObjectRecord, Buffer>;
  /** Counts versions-table records read (MetaStore.versionEntriesRead). */
  readonly read: (n: number) => void;
}

/** The end of bucket/key's range in the versions table (its entries sort newest first). */
export function keyRangeEnd(bucket: string, key: string): Buffer {
  const end = versionPrefix(bucket, key);
  end[end.length - 1] = SEP + 1;
  return end;
}

/**
 * Up to `limit` versions of bucket/key newest first: from the newest (the current object, when
 * there is one, first) or, with `below`, the stored versions whose stamps are below it. Records as
 * `t`'s tables decode them: whole, or without data and parts (MetaStore's listing views).
 */
export function keyVersionsPage<R extends ListedRecord = ObjectRecord>(
  t: { readonly objects: Database<R, Buffer>; readonly versions: Database<R, Buffer>; readonly read: (n: number) => void },
  bucket: string,
  key: string,
  opts: { below?: number; limit?: number } = {},
): Array<VersionEntry<R>> {
  const out: Array<VersionEntry<R>> = [];
  let limit = opts.limit ?? Number.MAX_SAFE_INTEGER;
  if (opts.below === undefined) {
    const cur = t.objects.get(objectKey(bucket, key));
    if (cur && limit > 0) {
      out.push({ key, record: cur, isLatest: true });
      limit--;
    }
  }
  if (limit <= 0) return out;
  // The table sorts newest first: the first key of stamp below-1 is the first entry below `below`.
  const start = opts.below === undefined ? versionPrefix(bucket, key) : versionKeyOf(bucket, key, opts.below - 1, '');
  for (const { value } of t.versions.getRange({ start, end: keyRangeEnd(bucket, key), limit })) {
    out.push({ key, record: value, isLatest: out.length === 0 && opts.below === undefined });
  }
  t.read(out.length);
  return out;
}

/**
 * How many versions of bucket/key have a stamp above `stamp` (the current object included),
 * counted by LMDB without decoding them.
 */
export function countNewerVersions(t: KeyTables, bucket: string, key: string, stamp: number): number {
  const cur = t.objects.get(objectKey(bucket, key)) !== undefined ? 1 : 0;
  return cur + t.versions.getKeysCount({ start: versionPrefix(bucket, key), end: versionKeyOf(bucket, key, stamp, '') });
}

/** Entries of the versions table for bucket/key, newest first, with their table keys. */
export function storedVersions(t: KeyTables, bucket: string, key: string, limit?: number): Array<{ k: Buffer; rec: ObjectRecord }> {
  const range = { start: versionPrefix(bucket, key), end: keyRangeEnd(bucket, key), ...(limit !== undefined ? { limit } : {}) };
  const out = [...t.versions.getRange(range).map(({ key: k, value }) => ({ k: Buffer.from(k), rec: value }))];
  t.read(out.length);
  return out;
}
