// The null-version index of the metadata store: `bucket NUL key` → the stamp of the key's null
// version in the versions table, when it has one there (a key has one null version at most,
// current or not), so versionId=null is found with two reads instead of a scan of every version
// of the key. MetaStore writes it in the transactions that write the versions table. Beside it,
// per key, where the null version removed last sat (its stamp), while the key keeps other
// versions: a `null` version-id marker of ListObjectVersions names a version that carries no
// place of its own, and once it is gone only this says where the next page goes on.

import type { Database, RootDatabase } from 'lmdb';
import { nullVersionOfKey, objectKey, SEP } from './keys.js';
import type { ObjectRecord } from './records.js';
import { stampOf } from './versions.js';
import type { StoreState } from './state.js';

/**
 * The key of bucket/key's gone null version's place: `bucket NUL key NUL`, which no object key
 * is (keys hold no NUL), so an earlier version that keeps the index reads none of them as a null
 * version, and its rebuild removes them with the rest.
 */
function goneKey(bucket: string, key: string): Buffer {
  return Buffer.concat([objectKey(bucket, key), Buffer.from([SEP])]);
}

export class NullVersionIndex {
  readonly #db: Database<number, Buffer>;
  readonly #goneKept: boolean;

  /** `goneKept`: whether the places of gone null versions are as this version kept them (MetaStore's constructor); else none is read. */
  constructor(root: RootDatabase, goneKept = true) {
    this.#db = root.openDB({ name: 'null-versions', keyEncoding: 'binary' });
    this.#goneKept = goneKept;
  }

  /** The stamp of bucket/key's null version in the versions table, if it is there. */
  stamp(bucket: string, key: string): number | undefined {
    return this.#db.get(objectKey(bucket, key));
  }

  /** `rec` was put into the versions table of bucket/key (inside that write). */
  added(bucket: string, key: string, rec: ObjectRecord): void {
    if (rec.versionId === undefined) void this.#db.put(objectKey(bucket, key), stampOf(rec));
  }

  /** `rec` was removed from the versions table of bucket/key (inside that write). */
  removed(bucket: string, key: string, rec: ObjectRecord): void {
    if (rec.versionId !== undefined) return;
    const k = objectKey(bucket, key);
    if (this.#db.get(k) === stampOf(rec)) void this.#db.remove(k);
  }

  /**
   * Where bucket/key's null version removed last sat (its stamp), when the key has had other
   * versions ever since; the null version it has now, if any, is newer (null versions are
   * replaced by newer ones, never by older).
   */
  goneAt(bucket: string, key: string): number | undefined {
    return this.#goneKept ? this.#db.get(goneKey(bucket, key)) : undefined;
  }

  /** Bucket/key's null version of stamp `vs` was removed and the key keeps other versions (inside that write). */
  nullGone(bucket: string, key: string, vs: number): void {
    void this.#db.put(goneKey(bucket, key), vs);
  }

  /** Bucket/key has no version left (inside that write): no place to keep. */
  keyGone(bucket: string, key: string): void {
    const k = goneKey(bucket, key);
    if (this.#db.get(k) !== undefined) void this.#db.remove(k);
  }

  /**
   * Forgets every gone null version's place, inside the caller's synchronous transaction: an
   * earlier version that keeps the index but not these ran on the store and may have removed
   * null versions without saying where they sat. Returns how many it forgot.
   */
  forgetGone(): number {
    // Copied out before they are removed; the index's other keys (one per null version) are not.
    const gone: Buffer[] = [];
    for (const k of this.#db.getKeys() as Iterable<Buffer>) if (k[k.length - 1] === SEP) gone.push(Buffer.from(k));
    for (const k of gone) void this.#db.remove(k);
    return gone.length;
  }

  /**
   * Rebuilds the index from the versions table's keys (no record is decoded), inside the caller's
   * synchronous transaction, the places of gone null versions forgotten (the versions table does
   * not keep them). Returns how many null versions it indexed.
   */
  rebuild(versionKeys: Iterable<Buffer>): number {
    for (const k of [...this.#db.getKeys()].map((k) => Buffer.from(k))) void this.#db.remove(k);
    let n = 0;
    let last: Buffer | undefined;
    for (const k of versionKeys) {
      const nv = nullVersionOfKey(k);
      // A key's versions are newest first: should it hold two null versions, the newer is indexed.
      if (nv === undefined || last?.equals(nv.owner) === true) continue;
      last = Buffer.from(nv.owner);
      void this.#db.put(last, nv.vs);
      n++;
    }
    return n;
  }
}

/**
 * Opens the null-version index of a store whose clean-shutdown token is `token` (`cleanStop`: the
 * store is as that clean stop left it), rebuilt when it cannot be trusted (writable stores only;
 * a read-only open goes without it then). Returns it and, when rebuilt, how many null versions
 * it indexed.
 *
 * The index is complete when its mark is the clean-shutdown token (both are written in one
 * transaction at a clean stop, recordShutdownToken, and when the index is built) and the store is
 * as that clean stop left it (the marker names its last transaction). A store an earlier version
 * wrote has no mark, or (it ran on a store this version had indexed) an older one than the token
 * its clean stop left; one that crashed there leaves the marker naming an earlier transaction.
 * Without a marker (this version's last stop was not clean, or left none: its start-up scan had
 * not finished), nothing says who wrote since: an earlier version that consumed the marker and
 * then crashed left the mark and token equal over an index it never kept, and versionId=null
 * missed its null versions. Rebuilt then too (~2 s per million versions; a start without a marker
 * scans the store's records anyway), in one synchronous transaction before the store is used.
 * The places of gone null versions beside it (ListObjectVersions' `null` markers) hold only when
 * no earlier version ran since: one that keeps the index but not them marks the index alone, and
 * may have removed a null version since the place kept, which is then too old; they are then
 * forgotten (a `null` marker whose version is gone lists its key again from the newest version).
 */
export function openNullVersionIndex(
  root: RootDatabase,
  state: StoreState,
  token: string,
  cleanStop: boolean,
  readOnly: boolean,
  versionKeys: () => Iterable<Buffer>,
): { index: NullVersionIndex | undefined; rebuilt: number | undefined } {
  const complete = state.nullIndexMark() === token && cleanStop;
  const goneKept = complete && state.nullGoneMark() === token;
  if (readOnly) return { index: complete ? new NullVersionIndex(root, goneKept) : undefined, rebuilt: undefined };
  const index = new NullVersionIndex(root);
  if (!complete) {
    const rebuilt = root.transactionSync(() => {
      const n = index.rebuild(versionKeys());
      state.markNullIndex();
      return n;
    });
    return { index, rebuilt };
  }
  if (!goneKept) {
    root.transactionSync(() => {
      index.forgetGone();
      state.markNullGone();
    });
  }
  return { index, rebuilt: undefined };
}
