// The clean-shutdown marker: lets a restart after a graceful stop skip the start-up sweep's scan
// of every record, which is proportional to the store (every object, version and part record
// decoded, small objects' data included) and can take minutes on a large one. A random token is
// recorded in LMDB, then written to `.s3d/clean-shutdown` once the store is closed; start-up skips
// the scan only when the file's token is the store's (a store restored from a backup holds another
// token, and a crash leaves no file), and removes the file just before it serves (a start that
// fails before then leaves it). The file also names LMDB's last transaction after the token's: a
// store written since (by a version that does not know the marker, and may then have crashed) is
// scanned.

import { promises as fsp, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { syncDir } from './files.js';

function cleanMarkerPath(dataDir: string): string {
  return join(dataDir, '.s3d', 'clean-shutdown');
}

/** A new token for a clean shutdown. */
export function newShutdownToken(): string {
  return randomBytes(16).toString('hex');
}

export interface CleanMarker {
  token: string;
  /** LMDB's last transaction id once the token was committed; undefined in markers of earlier versions. */
  txnId: number | undefined;
}

/** The marker, or undefined when there is none (a crash, a first start). */
export function readCleanMarker(dataDir: string): CleanMarker | undefined {
  try {
    const [token = '', txn] = readFileSync(cleanMarkerPath(dataDir), 'utf8').trim().split(/\s+/);
    return { token, txnId: txn !== undefined && /^\d+$/.test(txn) ? Number(txn) : undefined };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Removes the marker, durably, before the daemon serves (the first data file it could write): a
 * crash from now on is seen as one. LMDB commits before then need no removal: the marker names
 * the store's last transaction, and a store committed to since is scanned (meta/store.ts).
 */
export async function consumeCleanMarker(dataDir: string): Promise<void> {
  const path = cleanMarkerPath(dataDir);
  try {
    await fsp.unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await syncDir(dirname(path));
}

/** Writes the marker durably (after the store recorded the same token and closed). */
export async function writeCleanMarker(dataDir: string, marker: CleanMarker): Promise<void> {
  const path = cleanMarkerPath(dataDir);
  const fh = await fsp.open(path, 'w', 0o600);
  try {
    await fh.writeFile(`${marker.token}${marker.txnId !== undefined ? ` ${marker.txnId}` : ''}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await syncDir(dirname(path));
}
