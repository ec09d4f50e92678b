// Records of the last runs of the maintenance commands on a data directory, for monitoring:
// `s3d backup` writes DIR/.s3d/last-backup when a backup has ended well, `s3d verify` writes
// DIR/.s3d/last-verify when it has checked the whole store (problems found or not), each JSON
// replaced atomically. The daemon serving DIR exports them as metrics (s3d_backup_last_*,
// s3d_verify_last_*), so that a backup or check that stopped running, or a check that found
// damage, is seen in monitoring rather than on the day it matters. They are DIR's own: a backup
// does not copy them into DEST.

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

export interface LastVerify {
  /** When it ended (ISO 8601). */
  finished: string;
  seconds: number;
  /** Whether every byte was read and authenticated (--deep), or files and sizes only. */
  deep: boolean;
  versions: number;
  problems: number;
}

type RecordName = 'last-backup' | 'last-verify';

export function runRecordFile(dataDir: string, name: RecordName): string {
  return join(dataDir, '.s3d', name);
}

export const lastBackupFile = (dataDir: string): string => runRecordFile(dataDir, 'last-backup');

/**
 * Writes a record durably (a temp file fsynced, renamed over the previous one, the directory
 * fsynced). Readable by all (0644): the daemon may run as another user than the command, and a
 * record holds no secret.
 */
export async function writeRunRecord(dataDir: string, name: RecordName, rec: LastBackup | LastVerify): Promise<void> {
  const file = runRecordFile(dataDir, name);
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

/** Reads a record, again only when its file changed; undefined when there is none (or it is unusable). */
export class RunRecordReader<T extends { finished: string }> {
  readonly file: string;
  readonly #numbers: ReadonlyArray<keyof T>;
  #seen: { mtimeMs: number; size: number; rec: T | undefined } | undefined;

  /** `numbers`: the fields that must be finite numbers. */
  constructor(dataDir: string, name: RecordName, numbers: ReadonlyArray<keyof T>) {
    this.file = runRecordFile(dataDir, name);
    this.#numbers = numbers;
  }

  read(): T | undefined {
    const st = statSync(this.file, { throwIfNoEntry: false });
    if (st === undefined) return undefined;
    if (this.#seen?.mtimeMs !== st.mtimeMs || this.#seen.size !== st.size) this.#seen = { mtimeMs: st.mtimeMs, size: st.size, rec: this.#parse() };
    return this.#seen.rec;
  }

  #parse(): T | undefined {
    try {
      const v = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<T>;
      if (typeof v.finished !== 'string' || Number.isNaN(Date.parse(v.finished))) return undefined;
      if (!this.#numbers.every((k) => typeof v[k] === 'number' && Number.isFinite(v[k]))) return undefined;
      return v as T;
    } catch {
      return undefined;
    }
  }
}

/** The reader of `.s3d/last-backup`, with the fields a usable record has. */
export function lastBackupReader(dataDir: string): RunRecordReader<LastBackup> {
  return new RunRecordReader<LastBackup>(dataDir, 'last-backup', ['seconds', 'files', 'bytes', 'objects']);
}

/** The reader of `.s3d/last-verify`, with the fields a usable record has. */
export function lastVerifyReader(dataDir: string): RunRecordReader<LastVerify> {
  return new RunRecordReader<LastVerify>(dataDir, 'last-verify', ['seconds', 'versions', 'problems']);
}
