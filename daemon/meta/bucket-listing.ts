// ListBuckets' pages as a range scan of the buckets table (keyed by name, so in name order): a
// page reads the buckets it lists and one more, from where the previous page ended, rather than
// every bucket for each page. And the background passes' walk over every bucket (bucketsByPage),
// a page at a time with a turn of the event loop between.

import type { Database } from 'lmdb';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { BucketRecord } from './records.js';
import { mayBeBucketName } from './keys.js';

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
  // A prefix longer than any bucket name matches none, and past a few KiB it is no key lmdb-js
  // can build (a RangeError: ListBuckets answered 500). `after` is a checked bucket name.
  if (!mayBeBucketName(prefix)) return out;
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

/** Buckets a background pass reads (and looks into) between two turns of the event loop. */
export const BUCKET_PAGE = 100;

/**
 * Every bucket, in name order, read BUCKET_PAGE at a time with a turn of the event loop after each
 * page: for the passes that run while the daemon serves (lifecycle, usage, the KMS key check). All
 * read at once, and each looked into without a turn between (an empty bucket gives its pass no
 * page to wait after), 100,000 buckets held every request back ~0.5 s, and a million for seconds.
 */
export async function* bucketsByPage(store: { listBuckets(range: BucketRange): BucketRecord[] }): AsyncGenerator<BucketRecord> {
  let after = '';
  for (;;) {
    const page = store.listBuckets({ after, limit: BUCKET_PAGE });
    yield* page;
    if (page.length < BUCKET_PAGE) return;
    after = page[page.length - 1]!.name;
    await nextTurn();
  }
}
