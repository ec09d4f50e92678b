// The `state` table of the metadata store: small facts about the store itself, not about buckets
// or objects. The store's format (a downgrade is refused), the clean-shutdown token, the
// null-version index's marks (its own, and its gone null versions' places'), the start-up scans
// left unfinished, and values made once and kept (the listing-token key). MetaStore opens it and
// hands over its write path.

import type { Database, RootDatabase } from 'lmdb';

/**
 * The store's format: raised whenever a version writes what an older one would misread or damage
 * (2: the null-version index, which an older version would not keep; 3: encrypted objects'
 * checksums sealed and SSE-C records without the key's MD5, which an older version would serve
 * without checksums and with an empty key MD5). A store of a newer format
 * is refused at open, so a downgrade stops at start-up with a message instead of running on a
 * store it does not understand. Versions before the mark was introduced do not check it.
 */
export const STORE_FORMAT = 3;
const FORMAT_KEY = 'store-format';
/** The entry marking the null-version index complete (MetaStore's constructor). */
const NULL_INDEX_MARK = 'null-version-index';
/**
 * The entry marking the places of gone null versions (null-index.ts goneAt) kept under the same
 * token: an earlier version that keeps the index but not them writes NULL_INDEX_MARK alone at its
 * clean stop.
 */
const NULL_GONE_MARK = 'null-version-gone';

/** The store was written by a newer s3d (a downgrade): not opened. */
export class StoreFormatError extends Error {
  constructor(readonly found: number) {
    super(
      `the metadata store was written by a newer s3d (store format ${found}; this version reads format ${STORE_FORMAT} and older): ` +
        'start the newer version again, or restore a backup made before the upgrade. An older version could misread or damage what the newer one wrote',
    );
    this.name = 'StoreFormatError';
  }
}

export class StoreState {
  readonly #root: RootDatabase;
  readonly #write: (fn: () => void) => Promise<void>;
  readonly #values = new Map<string, string>();
  #table: Database<string, string> | undefined;

  /** `write`: MetaStore's durable write (one transaction, resolved once flushed). */
  constructor(root: RootDatabase, write: (fn: () => void) => Promise<void>) {
    this.#root = root;
    this.#write = write;
  }

  /**
   * Refuses a store of a newer format (StoreFormatError); records this version's on one opened
   * for writing that holds an older one, or none.
   */
  checkFormat(readOnly: boolean): void {
    const format = Number(this.#get(FORMAT_KEY) ?? 0) || 0;
    if (format > STORE_FORMAT) throw new StoreFormatError(format);
    if (!readOnly && format < STORE_FORMAT) this.#db().putSync(FORMAT_KEY, String(STORE_FORMAT));
  }

  /**
   * The token the last clean shutdown recorded (cli.ts writes the same into `.s3d/clean-shutdown`
   * after closing the store): '' when none. A store restored from a backup holds an older token.
   */
  shutdownToken(): string {
    return this.#get('clean-shutdown') ?? '';
  }

  /**
   * Records a clean shutdown's token, durably, and with it the null-version index's mark (see
   * MetaStore's constructor): a clean stop of an earlier version, which keeps no index, changes
   * the token alone.
   */
  recordShutdownToken(token: string): Promise<void> {
    return this.#put({ 'clean-shutdown': token, [NULL_INDEX_MARK]: token, [NULL_GONE_MARK]: token });
  }

  /** The null-version index's mark: the token it was complete under. */
  nullIndexMark(): string | undefined {
    return this.#get(NULL_INDEX_MARK);
  }

  /** The mark of the gone null versions' places (null-index.ts goneAt): the token they were kept under. */
  nullGoneMark(): string | undefined {
    return this.#get(NULL_GONE_MARK);
  }

  /** Marks the null-version index complete under the current token, the gone null versions' places with it (inside a transaction). */
  markNullIndex(): void {
    void this.#db().put(NULL_INDEX_MARK, this.shutdownToken());
    this.markNullGone();
  }

  /** Marks the gone null versions' places kept under the current token (inside a transaction). */
  markNullGone(): void {
    void this.#db().put(NULL_GONE_MARK, this.shutdownToken());
  }

  /** Starts whose scan for unreferenced data files did not finish (storage/orphan-scan.ts). */
  unfinishedScans(): number {
    return Number(this.#get('unfinished-scans') ?? 0) || 0;
  }

  setUnfinishedScans(n: number): Promise<void> {
    return this.#put({ 'unfinished-scans': String(n) });
  }

  /**
   * A value kept under `name`, made by `make` the first time it is asked for (e.g. a secret that
   * must outlive restarts). It is returned at once and written in the background: a crash before
   * that commit only means a new value next time.
   */
  value(name: string, make: () => string): string {
    let value = this.#values.get(name) ?? this.#get(name);
    if (value === undefined) {
      value = make();
      void this.#put({ [name]: value }).catch(() => undefined);
    }
    this.#values.set(name, value);
    return value;
  }

  /** A value; undefined when absent, or when a read-only store has no such table yet. */
  #get(name: string): string | undefined {
    try {
      return this.#db().get(name) as string | undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes values in one transaction; resolves once durable. */
  #put(values: Readonly<Record<string, string>>): Promise<void> {
    const db = this.#db();
    return this.#write(() => {
      for (const [name, value] of Object.entries(values)) void db.put(name, value);
    });
  }

  /**
   * The table, opened on first use and kept (each openDB makes a new handle). Not kept while
   * missing: a read-only store may have no `state` table yet (lmdb-js returns undefined), and a
   * daemon beside it may create it later.
   */
  #db(): Database<string, string> {
    this.#table ??= this.#root.openDB<string, string>({ name: 'state' });
    return this.#table;
  }
}
