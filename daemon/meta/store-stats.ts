// What the metrics read of the metadata store (MetaStore.recordCounts and stats): record counts
// from LMDB's own per-database statistics (no scan), and how much of the map is in use.

/** A database LMDB keeps statistics for. */
export interface Counted {
  getStats(): unknown;
}

/** The number of records in one of the store's databases. */
export function count(db: Counted): number {
  return (db.getStats() as { entryCount: number }).entryCount;
}

export interface StoreStats {
  pageSize: number;
  treeDepth: number;
  entries: number;
  mapSize: number;
  usedBytes: number;
}

/**
 * The root's statistics, with `entries` the records of `tables` (the root's own count is its
 * named databases; the records are in them).
 */
export function storeStats(root: Counted, tables: readonly Counted[]): StoreStats {
  const s = root.getStats() as { pageSize: number; treeDepth: number; entryCount: number; mapSize: number; lastPageNumber: number };
  const entries = tables.reduce((n, db) => n + count(db), 0);
  return { pageSize: s.pageSize, treeDepth: s.treeDepth, entries, mapSize: s.mapSize, usedBytes: (s.lastPageNumber + 1) * s.pageSize };
}
