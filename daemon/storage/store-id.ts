// The store's identity for `s3d backup --into ROOT`: a random id in DIR/.s3d/store-id, made by
// the first backup that needs it, and copied into every backup (DEST/.s3d/store-id, the same path,
// so a store restored from a backup keeps its id and its rotation). Pruning removes only the
// backups that carry the id of the store just backed up: a ROOT shared by mistake between two
// data directories no longer has one's rotation remove the other's backups (or the other's backup
// running now, which looks unfinished).

import { readFileSync } from 'node:fs';
import { link, open, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { syncDir } from './files.js';

const ID = /^[0-9a-f]{32}$/;

export function storeIdFile(dataDir: string): string {
  return join(dataDir, '.s3d', 'store-id');
}

/** The id in `dir`'s .s3d (a data directory or a backup), undefined when there is none (or it is no id). */
export function readStoreId(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(storeIdFile(dir), 'utf8').trim();
  } catch {
    return undefined;
  }
  return ID.test(text) ? text : undefined;
}

/** Writes `id` durably to `file` (0644), failing with EEXIST if it is there: never half a file. */
async function writeNew(file: string, id: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(id + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, file);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** DIR's id, made (and made durable) if it has none yet; two runs at once agree on one. */
export async function storeId(dataDir: string): Promise<string> {
  const had = readStoreId(dataDir);
  if (had !== undefined) return had;
  const file = storeIdFile(dataDir);
  const id = randomBytes(16).toString('hex');
  try {
    await writeNew(file, id);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // Made meanwhile by another run, or a file that holds no id: that one is not replaced.
    const theirs = readStoreId(dataDir);
    if (theirs === undefined) throw new Error(`${file} holds no store id: remove it (the next backup makes a new one)`);
    return theirs;
  }
  await syncDir(join(dataDir, '.s3d'));
  return id;
}

/** Gives the backup in `dest` the store's id (right after its unfinished marker: see backup.ts). */
export async function writeBackupStoreId(dest: string, id: string): Promise<void> {
  await writeNew(storeIdFile(dest), id);
}
