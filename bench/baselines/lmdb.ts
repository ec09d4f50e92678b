// LMDB ceilings (lmdb-js, 40-byte keys, 200-byte values as in perf-limits B7): batched async puts
// in one transaction, groups of 64 awaited (one durable commit per group), and putSync.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { LmdbBaseline } from '../report/types.js';

const keyOf = (i: number): string => `bkt/obj/${String(i).padStart(32, '0')}`;

async function withDb<T>(parent: string, fn: (db: ReturnType<typeof open<Buffer, string>>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(parent, 'bench-lmdb-'));
  const db = open<Buffer, string>({ path: dir, encoding: 'binary' });
  try {
    return await fn(db);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function measureLmdb(parent: string, seconds: number): Promise<LmdbBaseline> {
  const value = randomBytes(200);
  const ms = seconds * 1000;

  const batchedPutsPerSec = await withDb(parent, async (db) => {
    const n = 100_000;
    const t0 = performance.now();
    let last: Promise<boolean> = Promise.resolve(true);
    for (let i = 0; i < n; i++) last = db.put(keyOf(i), value);
    await last;
    await db.flushed;
    return n / ((performance.now() - t0) / 1000);
  });

  const group64PutsPerSec = await withDb(parent, async (db) => {
    let done = 0;
    const t0 = performance.now();
    for (let g = 0; g < 100_000 && performance.now() - t0 < ms; g++) {
      const puts: Array<Promise<boolean>> = [];
      for (let j = 0; j < 64; j++) puts.push(db.put(keyOf(done + j), value));
      await Promise.all(puts);
      await db.flushed;
      done += 64;
    }
    return done / ((performance.now() - t0) / 1000);
  });

  const syncPutsPerSec = await withDb(parent, async (db) => {
    let done = 0;
    const t0 = performance.now();
    for (let i = 0; i < 1_000_000 && performance.now() - t0 < ms; i++) {
      db.putSync(keyOf(i), value);
      done++;
    }
    return done / ((performance.now() - t0) / 1000);
  });

  return { batchedPutsPerSec, group64PutsPerSec, syncPutsPerSec };
}
