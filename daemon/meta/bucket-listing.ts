// ListBuckets' pages as a range scan of the buckets table (keyed by name, so in name order): a
// page reads the buckets it lists and one more, from where the previous page ended, rather than
// every bucket for each page.

import type { Database } from 'lmdb';
import type { BucketRecord } from './records.js';

export interface BucketRange {
  /** Only names starting so. */
  prefix?: string;
  /** Only names after this one (a page's continuation token). */
  after?: string;
  /** At most this many (unset: every one). */
  limit?: number;
  /** Counts one bucket record read (proves a page reads what it lists). */
  read?: () => void;
}

/** The buckets of `range`, in name order. */
export function bucketsPage(db: Database<BucketRecord, string>, range: BucketRange = {}): BucketRecord[] {
  const { prefix = '', after = '', limit = Infinity, read } = range;
  const out: BucketRecord[] = [];
  if (limit <= 0) return out;
  // The names with the prefix are contiguous from the prefix itself; those after `after` from it.
  const start = after > prefix ? after : prefix;
  for (const { key, value } of db.getRange(start === '' ? {} : { start })) {
    read?.();
    if (key <= after) continue;
    if (!key.startsWith(prefix)) break;
    out.push(value);
    if (out.length >= limit) break;
  }
  return out;
}
