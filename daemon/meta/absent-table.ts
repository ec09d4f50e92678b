// A table missing from a store opened read-only, read as the empty table it stands for. A store an
// earlier version wrote lacks the tables added since (`versions`, `notify`, `finished-uploads`, `gc-batches`):
// the daemon's read-write open creates them, but lmdb-js creates no table in a read-only
// environment, and its openDB gives undefined there. s3d verify and s3d backup open the store
// read-only, beside a daemon of that version or on a copy of its store; without this they failed
// with a TypeError on the first such table.

/** What a missing table reads as: nothing; a write to it throws (a read-only store takes none anyway). */
class AbsentTable {
  constructor(readonly name: string) {}

  get(): undefined {
    return undefined;
  }
  getBinary(): undefined {
    return undefined;
  }
  getBinaryFast(): undefined {
    return undefined;
  }
  getEntry(): undefined {
    return undefined;
  }
  doesExist(): boolean {
    return false;
  }
  // Arrays: iterable, with the `map` and `filter` callers use of lmdb-js's RangeIterable.
  getRange(): never[] {
    return [];
  }
  getKeys(): never[] {
    return [];
  }
  getValues(): never[] {
    return [];
  }
  getKeysCount(): number {
    return 0;
  }
  getValuesCount(): number {
    return 0;
  }
  getCount(): number {
    return 0;
  }
  /** As LMDB's statistics count it (store-stats.ts reads `entryCount`). */
  getStats(): { entryCount: number } {
    return { entryCount: 0 };
  }
  put(): never {
    return this.#refuse();
  }
  putSync(): never {
    return this.#refuse();
  }
  remove(): never {
    return this.#refuse();
  }
  removeSync(): never {
    return this.#refuse();
  }

  #refuse(): never {
    throw new Error(`the ${this.name} table is missing from this read-only store (an earlier version wrote it): it takes no write`);
  }
}

/** `db` as openDB gave it, or, when it gave none (`name` is missing from a read-only store), an empty stand-in. */
export function orAbsent<T extends object>(db: T | undefined, name: string): T {
  return db ?? (new AbsentTable(name) as unknown as T);
}
