// The null-version index of the metadata store: `bucket NUL key` → the stamp of the key's null
// version in the versions table, when it has one there (a key has one null version at most,
// current or not), so versionId=null is found with two reads instead of a scan of every version
// of the key. MetaStore writes it in the transactions that write the versions table.

import type { Database, RootDatabase } from 'lmdb';
import { nullVersionOfKey, objectKey } from './keys.js';
import type { ObjectRecord } from './records.js';
import { stampOf } from './versions.js';

export class NullVersionIndex {
  readonly #db: Database<number, Buffer>;

  constructor(root: RootDatabase) {
    this.#db = root.openDB({ name: 'null-versions', keyEncoding: 'binary' });
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
   * Rebuilds the index from the versions table's keys (no record is decoded), inside the caller's
   * synchronous transaction. Returns how many null versions it indexed.
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
