// A delete of many keys (or versions) cut into commits, one after another, each ending where
// MetaStore.deleteCommitEnd ends it: a key count, the records of many parts the commit decodes
// ahead (held for it until it settles) and in its own turn, the data files it releases. The one
// loop of DeleteObjects and of the lifecycle scanner's expiry and version removals; what each
// commit does, and what happens when one fails, stays the caller's.

import type { MetaStore } from '../meta/store.js';

/** One commit's share of a delete: `items` are the delete's items from index `from` on. */
export interface DeleteSlice<T> {
  /** Where in the delete's items the slice starts (the items before went in earlier commits). */
  readonly from: number;
  readonly items: T[];
  /**
   * With `wholeKeys`: the slice is every item of one key, which no commit takes whole
   * (deleteCommitEnd ended the commit among them); the caller removes them some other way.
   */
  readonly oneKeyTooLarge?: true;
}

export interface DeleteSliceOptions {
  /** Items to a commit at most (deleteCommitEnd's `most`); every item that fits, by default. */
  readonly most?: number;
  /**
   * Never cut between two items of one key (the items come grouped by key): a commit deleteCommitEnd
   * ends within a key ends before it instead, and a key that is the slice's first goes out alone as
   * `oneKeyTooLarge`. For lifecycle's version removals, which judge a key's versions together.
   */
  readonly wholeKeys?: boolean;
}

/**
 * The slices of `items` to delete in one commit each, in order. Each slice's end is asked for
 * only once the caller wants it, so after the commit before it has landed: deleteCommitEnd
 * counts the records as they are then.
 */
export async function* deleteSlices<T extends { key: string; versionId?: string | undefined }>(
  meta: Pick<MetaStore, 'deleteCommitEnd'>,
  bucket: string,
  items: readonly T[],
  options: DeleteSliceOptions = {},
): AsyncGenerator<DeleteSlice<T>, void, undefined> {
  const most = options.most ?? items.length;
  for (let from = 0, end = 0; from < items.length; from = end) {
    end = await meta.deleteCommitEnd(bucket, items, from, most);
    if (options.wholeKeys === true && end < items.length && items[end]!.key === items[end - 1]!.key) {
      // Back to the start of the key cut; or, that key the slice's first, on past its items.
      const key = items[end - 1]!.key;
      while (end > from && items[end - 1]!.key === key) end--;
      if (end === from) {
        while (end < items.length && items[end]!.key === key) end++;
        yield { from, items: items.slice(from, end), oneKeyTooLarge: true };
        continue;
      }
    }
    yield { from, items: items.slice(from, end) };
  }
}
