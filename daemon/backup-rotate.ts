// `s3d backup DIR --into ROOT [--keep N]`: each backup in a new directory ROOT/<UTC timestamp>,
// and, once it has ended well, the oldest finished backups beyond the newest N removed.
// Only ROOT's entries named by a timestamp (20261205T044900Z, or 20261205T044900Z-2 for the
// second backup within one second) that hold s3d metadata or the incomplete marker are backups:
// nothing else in ROOT is ever touched, so ROOT may hold other files, or be a mount point.
// Each backup carries its store's id (storage/store-id.ts): only the backups of the store just
// backed up are counted and removed, so a ROOT shared by two data directories keeps both's.
// Backups from before store ids count as the store's own unless ROOT holds another store's.
// A run killed before it wrote the marker leaves ROOT/<timestamp> empty, or holding only an empty
// `.s3d`: that too is an unfinished backup of this store (it holds nothing, so it is removed
// without renaming, one empty directory at a time: never anything holding a file).
// A backup being removed is first renamed to `<name>.removing`, so that one whose removal failed
// half-way (its metadata gone, so no longer a backup by the rule above) is still found, and
// removed, by the next run.

import { accessSync, constants, existsSync, lstatSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDirs, syncDir } from './storage/files.js';
import { basicIsoDateTime } from './dates.js';
import { readStoreId } from './storage/store-id.js';

const NAME = /^(\d{8}T\d{6}Z)(?:-([1-9]\d*))?$/;
/** A backup whose removal began: `<name>.removing`. */
const REMOVING = /^(\d{8}T\d{6}Z(?:-[1-9]\d*)?)\.removing$/;

/** The timestamp part of a backup's name: 20261205T044900Z. */
export function timestampOf(date: Date): string {
  return basicIsoDateTime(date);
}

interface Named {
  name: string;
  stamp: string;
  /** 1 for the bare timestamp, n for `-n`. */
  seq: number;
}

function parseName(name: string): Named | undefined {
  const m = NAME.exec(name);
  return m === null ? undefined : { name, stamp: m[1]!, seq: m[2] === undefined ? 1 : Number(m[2]) };
}

/** Older first: by timestamp, then by the suffix (numerically: -10 after -9). */
function compare(a: Named, b: Named): number {
  return a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : a.seq - b.seq;
}

/**
 * Makes ROOT (if missing) and a new directory ROOT/<timestamp of `now`> (0700) for the next
 * backup. A second backup in the same second gets `-2` (then `-3`...), after every name of that
 * second already there, so it still sorts as the newest.
 */
export async function newBackupDir(root: string, now: Date = new Date()): Promise<{ dir: string; name: string }> {
  const made = makeDirs(root, 0o700);
  for (const dir of made) await syncDir(join(dir, '..')).catch(() => undefined);
  const stamp = timestampOf(now);
  let seq = 1;
  for (const e of readdirSync(root)) {
    const n = parseName(e);
    if (n !== undefined && n.stamp === stamp && n.seq >= seq) seq = n.seq + 1;
  }
  for (;; seq++) {
    const name = seq === 1 ? stamp : `${stamp}-${seq}`;
    try {
      // Exclusive: a backup started meanwhile by another process takes the next number.
      await mkdir(join(root, name), { mode: 0o700 });
      await syncDir(root);
      return { dir: join(root, name), name };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

export interface PruneResult {
  /** Finished backups removed (beyond the newest `keep`), oldest first. */
  removed: string[];
  /** Unfinished backups older than the new one, removed. */
  unfinished: string[];
  /** Backups whose removal an earlier run began and did not end, removed now. */
  leftovers: string[];
  /** Timestamp-named directories this user cannot look into: not counted, not removed. */
  unreadable: string[];
  /** Backups of another store (another store id): not counted, not removed. */
  others: string[];
  /** Backups without a store id while ROOT holds another store's: whose they are is unknown, so not counted, not removed. */
  unknown: string[];
}

/** Whether this user may look into `dir` (a backup made by root, mode 0700, is closed to s3d). */
function readable(dir: string): boolean {
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A directory that does not exist, is not one (a symlink), has entries or cannot be read: false. */
function emptyDir(dir: string): boolean {
  return (lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false) && readable(dir) && readdirSync(dir).length === 0;
}

/**
 * Whether `dir` (a DEST, readable) is what a backup killed before its unfinished marker leaves:
 * only an empty `.s3d` (made by the run, nothing written into it yet).
 */
export function killedBeforeMarker(dir: string): boolean {
  const entries = readdirSync(dir);
  return entries.length === 1 && entries[0] === '.s3d' && emptyDir(join(dir, '.s3d'));
}

type Listed = Named & { finished: boolean; source: string | undefined; empty?: true };

/**
 * What in ROOT counts as a backup: a timestamp-named directory (not a symlink) with s3d's files,
 * or empty (`empty`: a run killed before its marker, see killedBeforeMarker).
 */
function listBackups(root: string, unreadable: string[]): Listed[] {
  const out: Listed[] = [];
  for (const e of readdirSync(root)) {
    const n = parseName(e);
    if (n === undefined) continue;
    const dir = join(root, e);
    if (!(lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false)) continue;
    // Its .s3d too: root's backup handed to this user by a chown without -R is no more readable.
    const s3d = join(dir, '.s3d');
    if (!readable(dir) || ((lstatSync(s3d, { throwIfNoEntry: false })?.isDirectory() ?? false) && !readable(s3d))) {
      unreadable.push(e);
      continue;
    }
    if (readdirSync(dir).length === 0 || killedBeforeMarker(dir)) {
      out.push({ ...n, finished: false, source: undefined, empty: true });
      continue;
    }
    const hasMeta = existsSync(join(dir, '.s3d', 'meta', 'data.mdb'));
    const incomplete = existsSync(join(dir, '.s3d', 'backup-incomplete'));
    // A run killed before its snapshot has the marker without metadata: s3d's own file, so ours.
    if (!hasMeta && !incomplete) continue;
    out.push({ ...n, finished: !incomplete, source: readStoreId(dir) });
  }
  return out.sort(compare);
}

/**
 * After the backup `newest` (a name in ROOT) ended well: removes the finished backups beyond the
 * newest `keep` (undefined: none), and the unfinished ones older than `newest` (a run killed
 * earlier; a newer one may be a backup running now). Unfinished backups never count toward `keep`.
 * With `source` (the store id of the backup just made) only that store's backups are counted and
 * removed, and those without an id (made before ids) only while ROOT holds no other store's.
 */
export async function pruneBackups(
  root: string,
  newest: string,
  keep: number | undefined,
  removedOne: (name: string, kind: 'finished' | 'unfinished' | 'leftover') => void = () => {},
  source?: string,
): Promise<PruneResult> {
  const self = parseName(newest);
  if (self === undefined) throw new Error(`not a backup name: ${newest}`);
  const result: PruneResult = { removed: [], unfinished: [], leftovers: [], unreadable: [], others: [], unknown: [] };
  // Removals an earlier run began: finished now, whatever is left of them.
  for (const e of readdirSync(root)) {
    const m = REMOVING.exec(e);
    if (m === null || !(lstatSync(join(root, e), { throwIfNoEntry: false })?.isDirectory() ?? false)) continue;
    await rm(join(root, e), { recursive: true, force: true });
    result.leftovers.push(m[1]!);
    removedOne(m[1]!, 'leftover');
  }
  const listed = listBackups(root, result.unreadable);
  const shared = source !== undefined && listed.some((b) => b.source !== undefined && b.source !== source);
  const all = listed.filter((b) => {
    // Empty: nobody's data, whoever's run made it.
    if (source === undefined || b.source === source || b.empty) return true;
    if (b.source !== undefined) result.others.push(b.name);
    else if (shared) result.unknown.push(b.name);
    else return true;
    return false;
  });
  const finished = all.filter((b) => b.finished);
  const doomed = [
    ...all.filter((b) => !b.finished && compare(b, self) < 0),
    ...(keep === undefined ? [] : finished.slice(0, Math.max(0, finished.length - keep))),
  ];
  for (const b of doomed) {
    // The newest is never removed, whatever the clock did to the names of the others.
    if (b.name === newest) continue;
    if (b.empty) {
      if (await removeEmpty(join(root, b.name))) {
        result.unfinished.push(b.name);
        removedOne(b.name, 'unfinished');
      }
      continue;
    }
    // Renamed first (atomic): a removal that fails half-way leaves `<name>.removing`, which the
    // next run finishes, rather than a directory that no longer looks like a backup.
    const removing = join(root, `${b.name}.removing`);
    await rename(join(root, b.name), removing);
    await rm(removing, { recursive: true, force: true });
    (b.finished ? result.removed : result.unfinished).push(b.name);
    removedOne(b.name, b.finished ? 'finished' : 'unfinished');
  }
  if (doomed.length > 0 || result.leftovers.length > 0) await syncDir(root);
  return result;
}

/**
 * Removes `dir` and its `.s3d` if both are still empty (rmdir, never recursive: a run that wrote
 * into it meanwhile keeps what it wrote); false when one is not.
 */
async function removeEmpty(dir: string): Promise<boolean> {
  try {
    await rmdir(join(dir, '.s3d')).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rmdir(dir);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'ENOENT') return false;
    throw e;
  }
}
