// The record of the last backup of a data directory that ended well: `s3d backup` writes
// DIR/.s3d/last-backup (JSON, replaced atomically) when it has finished, and the daemon serving DIR
// exports it as metrics (s3d_backup_last_success_timestamp_seconds and the rest), so that a backup
// that stopped running is seen in monitoring, not on the day it is needed. It is DIR's own: a
// backup does not copy it into DEST.

import { readFileSync, statSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir } from './files.js';

export interface LastBackup {
  /** When it ended (ISO 8601). */
  finished: string;
  /** Where it went. */
  dest: string;
  seconds: number;
  /** Data files and their bytes, plus the metadata's. */
  files: number;
  bytes: number;
  objects: number;
}

export function lastBackupFile(dataDir: string): string {
  return join(dataDir, '.s3d', 'last-backup');
}

/**
 * Records a backup that ended well, durably (a temp file fsynced, renamed over the last record,
 * the directory fsynced). Readable by all (0644): the daemon may run as another user than the
 * backup, and the record holds no secret.
 */
export async function recordLastBackup(dataDir: string, rec: LastBackup): Promise<void> {
  const file = lastBackupFile(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(JSON.stringify(rec) + '\n');
    await fh.chmod(0o644);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(join(dataDir, '.s3d'));
}

/** Reads the record, again only when the file changed; undefined when there is none (or it cannot be read). */
export class LastBackupReader {
  readonly file: string;
  #seen: { mtimeMs: number; size: number; rec: LastBackup | undefined } | undefined;

  constructor(dataDir: string) {
    this.file = lastBackupFile(dataDir);
  }

  read(): LastBackup | undefined {
    const st = statSync(this.file, { throwIfNoEntry: false });
    if (st === undefined) return undefined;
    if (this.#seen?.mtimeMs !== st.mtimeMs || this.#seen.size !== st.size) this.#seen = { mtimeMs: st.mtimeMs, size: st.size, rec: parse(this.file) };
    return this.#seen.rec;
  }
}

function parse(file: string): LastBackup | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LastBackup>;
    if (typeof v.finished !== 'string' || Number.isNaN(Date.parse(v.finished))) return undefined;
    if (![v.seconds, v.files, v.bytes, v.objects].every((n) => typeof n === 'number' && Number.isFinite(n))) return undefined;
    return v as LastBackup;
  } catch {
    return undefined;
  }
}
