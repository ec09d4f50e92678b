// `s3d backup DIR DEST`: a consistent copy of a data directory while a daemon serves it, without
// stopping it and without a snapshotting filesystem.
//   1. The backup hold is taken (storage/backup-hold.ts): from now on the daemon deletes no data
//      file, so every file the snapshot below references stays on disk until it is copied.
//   2. The metadata is copied as one LMDB snapshot (MetaStore.backup, mdb_env_copy2: LMDB's last
//      committed transaction, read while the daemon's writers go on). Every commit is durable
//      before it is visible (no overlappingSync, meta/store.ts), and a record is committed only
//      after its data file is fsynced: each file the snapshot references is complete on disk.
//   3. The copy is opened read-only and the data files its records reference are copied to the
//      same relative paths (.s3d/objects/xx/<id>), fsynced, then their directories. Each copy must
//      have the length its record gives (the sealed DARE stream's): a file cut short or grown
//      (disk damage) fails the backup, naming its object, rather than make a backup that
//      rotation would keep in place of good ones. Damage inside a file of the right length is
//      copied as it is: finding it takes the keys, which `s3d verify --deep` uses.
//   4. The hold is released; the built-in development KMS key is copied when there is one.
// In DIR nothing is written but the hold file (and, by the first backup, .s3d/store-id); LMDB is opened read-only (as s3d verify does).
// DEST carries `.s3d/backup-incomplete` until the end: `s3d server` and `s3d verify` refuse a
// backup that did not finish (killed, power lost); on a failure it is removed again.

import { accessSync, constants, existsSync, lstatSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, open, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { ConfigError, parseMinFreeDisk, type MinFreeDisk } from './config.js';
import { MetaStore, StoreFormatError } from './meta/store.js';
import { reserveBytes, statfsUsage } from './storage/disk-space.js';
import { FileStore, makeDirs, syncDir } from './storage/files.js';
import { CONFLICTING_LENGTHS, FileIdList, UNKNOWN_LENGTH } from './storage/file-id-list.js';
import { describeOwner } from './meta/file-owners.js';
import { HoldBusyError, HoldUnavailableError, takeBackupHold, type BackupHold } from './storage/backup-hold.js';
import { killedBeforeMarker, newBackupDir, pruneBackups } from './backup-rotate.js';
import { lastBackupFile, writeRunRecord } from './storage/run-records.js';
import { storeFileDamage } from './meta/store-file.js';
import { notThisUsers } from './errors.js';
import { storeId, storeIdFile, writeBackupStoreId } from './storage/store-id.js';

/** Present in a backup's DEST until the backup has ended well. */
export function incompleteBackupMarker(dataDir: string): string {
  return join(dataDir, '.s3d', 'backup-incomplete');
}

const BACKUP_USAGE = `usage: s3d backup DIR DEST [--no-space-check]
       s3d backup DIR --into ROOT [--keep N] [--no-space-check]

  Copies the s3d data directory DIR into DEST, a new data directory that \`s3d server DEST\`
  serves: every object version, delete marker and multipart upload in progress that was committed
  when the backup took its metadata snapshot, byte for byte. Safe beside the serving daemon: the
  metadata is one consistent LMDB snapshot read while the daemon writes, and the daemon deletes no
  data file until the backup has copied them (the hold on DIR/.s3d/backup-hold; deletions resume
  when the backup ends, however it ends). DEST must not exist or be empty.

  The KMS key is not in DIR: back up S3_KMS_SECRET_KEY (or KES's keystore) separately. The
  development key of --dev (DIR/.s3d/kms-dev.key) is copied.

  --into ROOT: the backup goes into a new directory ROOT/<UTC timestamp> (20261205T044900Z; a
  second one within the same second gets -2), ROOT made if missing. Once it has ended well the
  oldest finished backups in ROOT beyond the newest N (--keep, N >= 1; default: keep all) are
  removed, and so are unfinished ones (left by a backup killed earlier) older than it; a failed
  backup removes nothing. Only directories named so that hold s3d's files, and that are backups
  of DIR's store (its .s3d/store-id; one made before store ids, unless ROOT holds another
  store's backups), count, besides empty ones (a run killed at once, removed as unfinished):
  nothing else in ROOT is touched. systemd/s3d-backup.timer runs it daily.

  Before copying, the backup makes sure DEST's filesystem has room for the metadata and the data
  files; on DIR's own filesystem it also leaves the daemon's S3_MIN_FREE_DISK reserve free (read
  from the environment, as the server reads it). --no-space-check skips that, for filesystems
  whose copies share blocks (btrfs, XFS with reflink).

  Restore: point \`s3d server\` at DEST, or stop the daemon and copy DEST in place of DIR.
  Run it as the service's user, on another disk than DIR.

  Exit status: 0 the backup is complete (and old ones removed); 1 it failed (DEST removed), or
  removing old backups failed; 2 usage, or DIR or DEST refused.`;

/** A refusal before anything was written: exit 2. */
class Refused extends Error {}

/** DEST/.s3d was made by another run after this one found DEST new or empty: refused, DEST left to that run. */
class DestTaken extends Refused {}

/**
 * A data file the snapshot references is missing in DIR, or has another length than its record
 * gives: `describe` makes the message once the records naming it are known (`owners`).
 */
class DamagedDataFile extends Error {
  constructor(
    readonly id: string,
    readonly describe: (owners: string) => string,
  ) {
    super(describe(`the object naming it`));
  }
}

/** DEST has no room for what the backup would copy: found before it copies it. */
class NoSpace extends Error {}

/** SIGINT, SIGTERM or SIGHUP during the backup. */
class Interrupted extends Error {}

/**
 * What the backup says of the KMS key (`devKey`: the development key file was copied). s3d backup
 * cannot know which KMS the daemon uses: a development key file may be left from an earlier --dev
 * run. So with one, S3_KMS_SECRET_KEY and KES are named as what the daemon may use instead; said
 * flatly after "copied", they read as the key a --dev daemon lacked.
 */
export function kmsKeyLines(devKey: boolean): string[] {
  const lost = 'is not in the backup: keep it backed up separately; without it SSE-S3 and SSE-KMS objects cannot be decrypted';
  if (!devKey) return [`S3_KMS_SECRET_KEY (or the KES keystore) ${lost}`];
  return [
    'the development KMS key (.s3d/kms-dev.key) was copied with it: the key of a daemon started with --dev and no S3_KMS_SECRET_KEY',
    `if the daemon uses S3_KMS_SECRET_KEY (or KES) instead, that key ${lost}`,
  ];
}

export interface BackupReport {
  objects: number;
  versions: number;
  uploads: number;
  files: number;
  bytes: number;
  metaBytes: number;
  devKey: boolean;
  /** The store's id (storage/store-id.ts), which the backup carries. */
  storeId: string;
}

/** Data files copied at once: copy_file_range keeps a disk busy with few. */
const COPIES_IN_FLIGHT = 4;
const PROGRESS_EVERY_MS = 2_000;

/** The `s3d backup` command: progress and the summary to `out`; returns the exit status. */
export async function backupCommand(args: string[], out: (line: string) => void, err: (line: string) => void): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    out(BACKUP_USAGE);
    return 0;
  }
  const parsed = parseArgs(args);
  if ('error' in parsed) {
    err(`s3d backup: ${parsed.error}\n`);
    err(BACKUP_USAGE);
    return 2;
  }
  const dataDir = resolve(parsed.dir);
  // DIR first: a DIR that is no store, or that this user cannot read, is refused before anything
  // is made (with --into, before the new directory in ROOT).
  try {
    checkSource(dataDir);
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    err(`s3d backup: ${e.message}`);
    return 2;
  }
  let minFree: MinFreeDisk | undefined;
  if (parsed.spaceCheck) {
    try {
      minFree = parseMinFreeDisk(process.env.S3_MIN_FREE_DISK);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      err(`s3d backup: ${e.message}`);
      return 2;
    }
  }
  // Monotonic: a wall clock stepped during a backup of hours made its duration (the
  // s3d_backup_last_duration_seconds gauge) negative or hours too long.
  const started = performance.now();
  let dest: string;
  let rotation: { root: string; name: string } | undefined;
  if (parsed.into !== undefined) {
    const root = resolve(parsed.into);
    // Before ROOT is made: checkPaths would refuse the backup, but only after ROOT was made there.
    if (insideStore(dataDir, root)) {
      err(`s3d backup: ROOT ${root} is inside the data directory's .s3d`);
      return 2;
    }
    try {
      const made = await newBackupDir(root);
      dest = made.dir;
      rotation = { root, name: made.name };
    } catch (e) {
      err(`s3d backup: cannot make a new directory in ${root}: ${(e as Error).message}`);
      return 2;
    }
    out(`s3d backup: backing up into ${dest}`);
  } else dest = resolve(parsed.dest!);
  // Should the event loop ever empty before the backup has ended, the exit is not a success.
  process.exitCode = 1;
  let interrupted: NodeJS.Signals | undefined;
  /** What a failure removes (backupStore says, once it has made it). */
  let cleanup: string | undefined;
  const stop = new AbortController();
  /** The backup is complete (what follows is its record and the pruning): never removed. */
  let backedUp = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted !== undefined || backedUp) {
      // A second signal (or one once the backup is complete): stop at once, removing what was
      // made unless it is a complete backup (a copy in flight is cut short).
      const gone = backedUp ? undefined : rotation !== undefined ? dest : cleanup;
      if (gone !== undefined) rmSync(gone, { recursive: true, force: true });
      err(`s3d backup: ${sig}${interrupted !== undefined ? ' again' : ''}: stopped at once${gone !== undefined ? `; ${gone} was removed` : ''}${backedUp ? ` (the backup ${dest} is complete)` : ''}`);
      process.exit(1);
    }
    interrupted = sig;
    stop.abort();
    err(`s3d backup: ${sig}: stopping once the data files being copied are done (DEST is removed; ${sig} again stops at once)`);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, onSignal);
  try {
    const report = await backupStore(dataDir, dest, {
      progress: (l) => out(`s3d backup: ${l}`),
      interrupted: () => interrupted,
      onCleanup: (path) => (cleanup = path),
      stop: stop.signal,
      ...(minFree !== undefined ? { minFree } : {}),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    out(
      `s3d backup: done: ${report.objects} object(s), ${report.versions} noncurrent version(s) and delete marker(s), ${report.uploads} multipart upload(s) in progress; ` +
        `${report.files} data file(s) (${mib(report.bytes)}) and the metadata (${mib(report.metaBytes)}) copied to ${dest} in ${seconds} s`,
    );
    for (const line of kmsKeyLines(report.devKey)) out(`s3d backup: ${line}`);
    backedUp = true;
    // For the daemon's metrics (s3d_backup_last_success_timestamp_seconds). The backup is whole
    // whether or not this works: a failure is said, and monitoring then sees an old backup.
    try {
      await writeRunRecord(dataDir, 'last-backup', {
        finished: new Date().toISOString(),
        dest,
        seconds: (performance.now() - started) / 1000,
        files: report.files,
        bytes: report.bytes + report.metaBytes,
        objects: report.objects,
      });
    } catch (e) {
      err(`s3d backup: warning: the backup is complete, but ${lastBackupFile(dataDir)} (which the daemon's backup metrics read) could not be written: ${(e as Error).message}`);
    }
    if (rotation !== undefined) {
      const { root } = rotation;
      // Only now: a failed backup must leave every earlier one in place.
      try {
        const what = { finished: 'old backup', unfinished: 'unfinished backup', leftover: 'what an earlier run left of the removal of backup' } as const;
        const pruned = await pruneBackups(root, rotation.name, parsed.keep, (name, kind) => out(`s3d backup: removed ${what[kind]} ${join(root, name)}`), report.storeId);
        for (const name of pruned.unreadable) err(`s3d backup: warning: ${join(root, name)} cannot be read by this user (made by another, e.g. root?): it is neither counted nor removed`);
        if (pruned.others.length > 0) err(`s3d backup: warning: ${root} also holds ${pruned.others.length} backup(s) of another data directory (another .s3d/store-id), neither counted nor removed: use one ROOT per data directory`);
        for (const name of pruned.unknown) err(`s3d backup: warning: ${join(root, name)} carries no store id (made by an s3d from before store ids) while ROOT holds backups of another data directory: it is neither counted nor removed; remove it by hand when it is no longer needed`);
        out(`s3d backup: ${pruned.removed.length} old and ${pruned.unfinished.length} unfinished backup(s) removed from ${rotation.root}${parsed.keep !== undefined ? ` (keeping the newest ${parsed.keep})` : ''}`);
      } catch (e) {
        err(`s3d backup: the backup ${dest} is complete, but removing old backups failed: ${(e as Error).message}`);
        return 1;
      }
    }
    return 0;
  } catch (e) {
    // Its own directory: backupStore removed only what it made inside it.
    if (rotation !== undefined && !backedUp) await rm(dest, { recursive: true, force: true }).catch(() => undefined);
    if (e instanceof Refused || e instanceof HoldBusyError || e instanceof HoldUnavailableError || e instanceof StoreFormatError) {
      err(`s3d backup: ${e.message}`);
      return 2;
    }
    // Rotation runs only after a backup ended well: say so, for whoever reads a failed timer's log.
    err(`s3d backup: failed: ${(e as Error).message}${rotation !== undefined ? `; no earlier backup in ${rotation.root} was removed` : ''}`);
    return 1;
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
  }
}

type Args = { dir: string; dest?: string; into?: string; keep?: number; spaceCheck: boolean };

/** `DIR DEST` or `DIR --into ROOT [--keep N]`, and `--no-space-check` (options anywhere after DIR); or what is wrong. */
function parseArgs(args: string[]): Args | { error: string } {
  const positional: string[] = [];
  let into: string | undefined;
  let keep: number | undefined;
  let spaceCheck = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--no-space-check') {
      if (!spaceCheck) return { error: '--no-space-check given twice' };
      spaceCheck = false;
    } else if (a === '--into' || a === '--keep') {
      const v = args[++i];
      if (v === undefined || v === '' || v.startsWith('-')) return { error: `${a} needs a value` };
      if (a === '--into') {
        if (into !== undefined) return { error: '--into given twice' };
        into = v;
      } else {
        if (keep !== undefined) return { error: '--keep given twice' };
        if (!/^[1-9]\d{0,5}$/.test(v)) return { error: `--keep takes a whole number from 1 to 999999, not "${v}"` };
        keep = Number(v);
      }
    } else if (a.startsWith('-')) return { error: `unknown option ${a}` };
    else if (a === '') return { error: `an empty ${positional.length === 0 ? 'DIR' : 'DEST'} (an unset variable?)` };
    else positional.push(a);
  }
  if (positional.length === 0) return { error: 'no DIR given' };
  if (into !== undefined) {
    if (positional.length !== 1) return { error: 'with --into ROOT, give DIR alone (no DEST)' };
    return { dir: positional[0]!, into, spaceCheck, ...(keep !== undefined ? { keep } : {}) };
  }
  if (keep !== undefined) return { error: '--keep needs --into ROOT' };
  if (positional.length !== 2) return { error: positional.length === 1 ? 'no DEST given (or --into ROOT)' : 'more than DIR and DEST given' };
  return { dir: positional[0]!, dest: positional[1]!, spaceCheck };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Refuses a DIR without s3d data, or one this user may not read. */
function checkSource(dataDir: string): void {
  const mdb = join(dataDir, '.s3d', 'meta', 'data.mdb');
  let size: number | undefined;
  try {
    size = statSync(mdb, { throwIfNoEntry: false })?.size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new Refused(`cannot read ${dataDir} (${code}): run the backup as the service's user`);
    throw e;
  }
  if ((size ?? 0) === 0) throw new Refused(`no s3d data in ${dataDir} (${mdb} is missing or empty)`);
  // A copy of a file LMDB crashes on would not restore either.
  let damage: string | undefined;
  try {
    damage = storeFileDamage(mdb);
  } catch (e) {
    // The store file restored or left by root (0600) while the directory is this user's: not a
    // stack trace (exit 1).
    const refusal = notThisUsers(e, mdb, 'open', 'the backup');
    throw refusal === undefined ? e : new Refused(refusal);
  }
  if (damage !== undefined) throw new Refused(`${damage}: nothing to back up from it`);
  // The development key is copied last, after every data file: found unreadable then, hours of
  // copying were thrown away (exit 1, DEST removed) for what this look tells at once.
  const devKey = join(dataDir, '.s3d', 'kms-dev.key');
  try {
    if (existsSync(devKey)) accessSync(devKey, constants.R_OK);
  } catch (e) {
    const refusal = notThisUsers(e, devKey, 'read', 'the backup');
    throw refusal === undefined ? e : new Refused(refusal);
  }
  if (existsSync(incompleteBackupMarker(dataDir))) throw new Refused(`${dataDir} is an unfinished backup (${incompleteBackupMarker(dataDir)} is there): it lacks data`);
}

/**
 * Whether `path` is DIR's .s3d or inside it (s3d's own files: nothing of a backup belongs there),
 * as written or once symbolic links are followed: a DEST reached through a link into .s3d/objects
 * put a backup among the data files.
 */
function insideStore(dataDir: string, path: string): boolean {
  const within = (p: string, s3d: string): boolean => p === s3d || p.startsWith(s3d + sep);
  return within(path, join(dataDir, '.s3d')) || within(realPathOf(path), realPathOf(join(dataDir, '.s3d')));
}

/** `path` with the symbolic links of its longest existing ancestor followed; the rest, not there yet, as written. */
function realPathOf(path: string): string {
  const rest: string[] = [];
  for (let head = resolve(path); ; head = dirname(head)) {
    try {
      return join(realpathSync(head), ...rest);
    } catch {
      if (dirname(head) === head) return resolve(path);
      rest.unshift(basename(head));
    }
  }
}

/** Refuses a DIR without s3d data and a DEST that is not new or empty (nothing written yet). */
function checkPaths(dataDir: string, dest: string): void {
  checkSource(dataDir);
  if (insideStore(dataDir, dest)) throw new Refused(`DEST ${dest} is inside the data directory's .s3d`);
  const st = statSync(dest, { throwIfNoEntry: false });
  if (st === undefined) {
    if (lstatSync(dest, { throwIfNoEntry: false })?.isSymbolicLink() === true) throw new Refused(`DEST ${dest} is a symbolic link to ${readlinkSync(dest)}, which does not exist`);
    return;
  }
  if (!st.isDirectory()) throw new Refused(`DEST ${dest} exists and is not a directory`);
  if (existsSync(incompleteBackupMarker(dest))) throw new Refused(`DEST ${dest} is an unfinished backup (${incompleteBackupMarker(dest)} is there: a backup into it was killed); remove it and back up again`);
  // Killed between making DEST/.s3d and writing the marker: as unfinished, if less far along.
  if (killedBeforeMarker(dest)) throw new Refused(`DEST ${dest} is an unfinished backup (${join(dest, '.s3d')} is there, empty: a backup into it was killed); remove it and back up again`);
  const entries = readdirSync(dest);
  if (entries.length > 0) throw new Refused(`DEST ${dest} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}): give a new or empty directory`);
}

/**
 * Backs `dataDir` up into `dest` (see the top of this file). On any failure what it made in
 * `dest` is removed and the error thrown.
 */
export async function backupStore(
  dataDir: string,
  dest: string,
  opts: {
    progress: (line: string) => void;
    interrupted?: () => NodeJS.Signals | undefined;
    /** Check DEST's free space before each copy, leaving this reserve on DIR's filesystem; unset: no check. */
    minFree?: MinFreeDisk;
    /** Told what a failure removes, once it exists (for a second signal, which removes it at once). */
    onCleanup?: (path: string) => void;
    /** Aborted by a signal: stops the wait for the hold (another backup holding it) at once. */
    stop?: AbortSignal;
  },
): Promise<BackupReport> {
  checkPaths(dataDir, dest);
  const checkInterrupted = (): void => {
    const sig = opts.interrupted?.();
    if (sig !== undefined) throw new Interrupted(`interrupted by ${sig}`);
  };
  // What to remove on failure: the outermost directory this run made, or DEST's .s3d.
  let made: string[];
  try {
    made = makeDirs(dest, 0o700);
  } catch (e) {
    throw notWritable(dest, e);
  }
  const destS3d = join(dest, '.s3d');
  const cleanup = made[0] ?? destS3d;
  let hold: BackupHold | undefined;
  try {
    try {
      await mkdir(destS3d, { mode: 0o700 });
    } catch (e) {
      // DEST was new or empty a moment ago: another backup into the same DEST made it since. Its
      // backup, not this run's: nothing is removed (it was, even once that run had ended well).
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new DestTaken(`another s3d backup into DEST ${dest} began meanwhile (${destS3d} appeared): give each backup a DEST of its own`);
      throw notWritable(dest, e);
    }
    // Only now is there something of this run's that a second signal may remove.
    opts.onCleanup?.(cleanup);
    // The marker first, before anything else in DEST: a backup killed from here on is known to be
    // unfinished (refused by server and verify, removed by rotation, a retry told so). Written
    // before the store's id, a DEST holding only the id would be none of these: never removed.
    await writeFile(incompleteBackupMarker(dest), `s3d backup of ${dataDir} started ${new Date().toISOString()} and has not ended: this directory lacks data\n`, { mode: 0o600 });
    // Then the store's id (storage/store-id.ts): from here on, only this store's rotation removes
    // it (one killed before it counts as the store's own unless ROOT holds another store's).
    let id: string;
    try {
      id = await storeId(dataDir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw new Refused(`cannot create ${storeIdFile(dataDir)}: ${(e as Error).message}; run the backup as the service's user`);
      throw e;
    }
    await writeBackupStoreId(dest, id);
    // Both durable before any data.
    await syncDir(destS3d);
    await mkdir(join(destS3d, 'meta'), { mode: 0o700 });
    await mkdir(join(destS3d, 'objects'), { mode: 0o700 });

    try {
      hold = await takeBackupHold(dataDir, opts.stop !== undefined ? { signal: opts.stop } : {});
    } catch (e) {
      // A signal while another backup held it: the wait was given up.
      checkInterrupted();
      if ((e as NodeJS.ErrnoException).code === 'EACCES' || (e as NodeJS.ErrnoException).code === 'EPERM') {
        throw new Refused(`cannot create the hold file in ${join(dataDir, '.s3d')}: ${(e as Error).message}; run the backup as the service's user`);
      }
      throw e;
    }
    opts.progress(`holding the deletion of data files in ${dataDir} (${hold.file})`);
    const space = await destSpace(dataDir, dest, opts.minFree);
    if (space.sameFilesystem) opts.progress(`warning: ${dest} is on the filesystem of ${dataDir}: a failing disk takes both; keep backups on another disk`);
    // LMDB's copy holds its used pages only: the file's size bounds it.
    await space.check(() => statSync(join(dataDir, '.s3d', 'meta', 'data.mdb')).size, 'the metadata');

    // The snapshot: after the hold, so no file it references can be deleted before it is copied.
    const source = new MetaStore(join(dataDir, '.s3d'), { readOnly: true });
    try {
      await source.backup(join(destS3d, 'meta'));
    } catch (e) {
      throw new Error(`copying the metadata snapshot to ${join(destS3d, 'meta')} failed: ${(e as Error).message}`, { cause: e });
    } finally {
      await source.close();
    }
    const mdb = join(destS3d, 'meta', 'data.mdb');
    await chmod(mdb, 0o600);
    const metaBytes = await syncFile(mdb);
    checkInterrupted();

    // The files the copy references, from the copy itself: exactly the snapshot's.
    const copy = new MetaStore(destS3d, { readOnly: true });
    let ids: FileIdList;
    let counts: ReturnType<MetaStore['recordCounts']>;
    let txnId: number | undefined;
    try {
      counts = copy.recordCounts();
      txnId = copy.lastTxnId();
      const snapshot = copy.referenceSnapshot();
      try {
        ids = (await snapshot.files(new FileIdList(), () => false))!.sortUnique();
      } finally {
        snapshot.release();
      }
    } finally {
      await copy.close();
    }
    // The read-only open made LMDB's lock file: the daemon makes its own.
    await rm(join(destS3d, 'meta', 'lock.mdb'), { force: true });
    opts.progress(
      `metadata snapshot copied (${mib(metaBytes)}${txnId !== undefined ? `, LMDB transaction ${txnId}` : ''}): ${counts.objects} object(s), ` +
        `${counts.versions} noncurrent version(s) and delete marker(s), ${counts.uploads} multipart upload(s) in progress; ${ids.length} data file(s) to copy`,
    );

    const room = await space.check(() => allocatedBytes(dataDir, ids), `the ${ids.length} data file(s)`);
    if (room !== undefined) opts.progress(`the data files take ${mib(room.bytes)}; ${mib(room.free)} is free in ${dest}`);
    const { bytes } = await copyDataFiles(dataDir, dest, ids, opts.progress, checkInterrupted);
    checkInterrupted();
    // Every file is copied: the daemon may delete again.
    await hold.release();
    hold = undefined;
    opts.progress(`${ids.length} data file(s) copied (${mib(bytes)}); deletions in ${dataDir} resume`);

    const devKey = existsSync(join(dataDir, '.s3d', 'kms-dev.key'));
    if (devKey) {
      const to = join(destS3d, 'kms-dev.key');
      await copyFile(join(dataDir, '.s3d', 'kms-dev.key'), to, constants.COPYFILE_EXCL);
      await chmod(to, 0o600);
      await syncFile(to);
    }
    await syncDir(join(destS3d, 'meta'));
    await syncDir(destS3d);
    checkInterrupted();
    // Only now is the backup whole: the marker goes, durably.
    await unlink(incompleteBackupMarker(dest));
    await syncDir(destS3d);
    await syncDir(dest);
    // DEST's own entry (and those of the directories made above it), when this run made them.
    for (const dir of made) await syncDir(dirname(dir)).catch(() => undefined);
    return { ...counts, files: ids.length, bytes, metaBytes, devKey, storeId: id };
  } catch (caught) {
    let e = caught;
    if (e instanceof DestTaken) throw e;
    // Named from the copied metadata, before it is removed.
    if (e instanceof DamagedDataFile) e = new Error(e.describe(await ownersOf(destS3d, e.id)), { cause: e });
    await hold?.release().catch(() => undefined);
    await rm(cleanup, { recursive: true, force: true }).catch(() => undefined);
    if (e instanceof Refused || e instanceof StoreFormatError || e instanceof HoldBusyError || e instanceof HoldUnavailableError) throw e;
    throw new Error(`${(e as Error).message}; ${made.length > 0 ? `${cleanup} was removed` : `what it wrote in ${dest} was removed`}`, { cause: e });
  }
}

/** The object versions and parts whose records (in the backup's copy at `s3d`) name the data file `id`, as s3d verify names them. */
async function ownersOf(s3d: string, id: string): Promise<string> {
  try {
    const copy = new MetaStore(s3d, { readOnly: true });
    try {
      const owners = copy.recordsNaming(new Set([id])).map(describeOwner);
      return owners.length === 0 ? 'the object naming it' : owners.join(' and ');
    } finally {
      await copy.close();
    }
  } catch (e) {
    return `the object naming it (the records could not be read: ${(e as Error).message})`;
  }
}

/** DEST (or a directory above it) cannot be made or written by this user: a refusal, nothing was written. */
function notWritable(dest: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new Refused(`cannot write in DEST ${dest} (${code}${code === 'EROFS' ? ': a read-only filesystem' : ''}): give a directory this user may write`);
  return e as Error;
}

interface DestSpace {
  sameFilesystem: boolean;
  /**
   * Throws NoSpace unless DEST's filesystem has the `bytes` it is about to copy free beyond the
   * reserve (statfs now), and returns both figures. Without a reserve to keep (--no-space-check)
   * it checks nothing.
   */
  check(bytes: () => number | Promise<number>, what: string): Promise<{ bytes: number; free: number } | undefined>;
}

/**
 * DEST's free space: enough for what is copied next, and on DIR's own filesystem the daemon's
 * S3_MIN_FREE_DISK reserve beside it (a backup must not fill the disk the daemon writes).
 */
async function destSpace(dataDir: string, dest: string, minFree: MinFreeDisk | undefined): Promise<DestSpace> {
  const sameFilesystem = (await stat(dataDir)).dev === (await stat(dest)).dev;
  return {
    sameFilesystem,
    async check(size, what) {
      if (minFree === undefined) return undefined;
      const bytes = await size();
      const { free, total } = await statfsUsage(dest);
      const reserve = sameFilesystem ? reserveBytes(minFree, total) : 0;
      if (free - bytes >= reserve) return { bytes, free };
      throw new NoSpace(
        `not enough free space for the backup in ${dest}: ${what}: ${mib(bytes)} needed, ${mib(free)} free` +
          (sameFilesystem ? `, and on the data directory's own filesystem S3_MIN_FREE_DISK keeps ${mib(reserve)} free for the daemon` : '') +
          '; free space or back up to another disk (--no-space-check skips this check, for filesystems whose copies share blocks: btrfs, XFS with reflink)',
      );
    },
  };
}

/**
 * The disk space the data files `ids` of `dataDir` take (allocated blocks); a missing one counts 0
 * (the copy names it). A file of another length than its record gives fails here, before hours of
 * copying.
 */
async function allocatedBytes(dataDir: string, ids: FileIdList): Promise<number> {
  const files = new FileStore(dataDir, { warmBytes: 0 });
  let total = 0;
  for (let i = 0; i < ids.length; i += 64) {
    const sizes = await Promise.all(
      Array.from({ length: Math.min(64, ids.length - i) }, async (_, k) => {
        const st = await stat(files.pathOf(ids.at(i + k)), { bigint: false }).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return undefined;
          throw e;
        });
        if (st === undefined) return 0;
        checkLength(dataDir, ids, i + k, st.size);
        return Math.max(st.blocks * 512, st.size);
      }),
    );
    for (const n of sizes) total += n;
  }
  return total;
}

/** Throws DamagedDataFile unless the data file at `i` of `ids`, `size` bytes, has the length its records give. */
function checkLength(dataDir: string, ids: FileIdList, i: number, size: number): void {
  const expected = ids.storedAt(i);
  if (expected === UNKNOWN_LENGTH || size === expected) return;
  const id = ids.at(i);
  const file = relative(dataDir, new FileStore(dataDir, { warmBytes: 0 }).pathOf(id));
  const damaged = `the store is damaged (disk damage, or a file changed outside s3d); s3d verify ${dataDir} lists every damaged object: restore those from an earlier backup, or delete them, then back up again`;
  if (expected === CONFLICTING_LENGTHS) throw new DamagedDataFile(id, (owners) => `data file ${file} (${size} bytes) is named by records that give it different lengths (${owners}): ${damaged}`);
  throw new DamagedDataFile(id, (owners) => `data file ${file} of ${owners} has ${size} bytes, ${expected} expected (the length its record gives): ${damaged}`);
}

/** fsyncs a file; returns its size. */
async function syncFile(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
    return (await fh.stat()).size;
  } finally {
    await fh.close();
  }
}

/** Copies the data files `ids` of `dataDir` into `dest` at the same relative paths, each fsynced, then their directories. */
async function copyDataFiles(dataDir: string, dest: string, ids: FileIdList, progress: (line: string) => void, checkInterrupted: () => void): Promise<{ bytes: number }> {
  const from = new FileStore(dataDir, { warmBytes: 0 });
  const to = new FileStore(dest, { warmBytes: 0 });
  const dirs = new Map<string, Promise<void>>();
  let next = 0;
  let done = 0;
  let bytes = 0;
  let lastProgress = performance.now();
  const copyOne = async (i: number): Promise<void> => {
    const id = ids.at(i);
    const src = from.pathOf(id);
    const dst = to.pathOf(id);
    const dir = dirname(dst);
    let made = dirs.get(dir);
    if (made === undefined) {
      made = mkdir(dir, { mode: 0o700 }).then(() => undefined);
      dirs.set(dir, made);
    }
    await made;
    try {
      await copyFile(src, dst, constants.COPYFILE_EXCL);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || existsSync(src)) throw e;
      // The hold keeps the daemon from deleting it: a file missing now was missing before.
      throw new DamagedDataFile(
        id,
        (owners) =>
          `data file ${relative(dataDir, src)}, which the snapshot references, is missing in ${dataDir}: the store is damaged (${owners} cannot be read; s3d verify ${dataDir} lists every damaged object), or something deleted it despite the hold`,
      );
    }
    // Not `bytes += await …`: that reads `bytes` before the wait, losing the other copies' sizes.
    const size = await syncFile(dst);
    // The copy's length, so also a file that changed since the stat pass (allocatedBytes).
    checkLength(dataDir, ids, i, size);
    bytes += size;
    done++;
  };
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      checkInterrupted();
      await copyOne(next++);
      if (performance.now() - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = performance.now();
        progress(`copied ${done}/${ids.length} data file(s), ${mib(bytes)}`);
      }
    }
  };
  // One failure stops the others at their next file.
  let failure: unknown;
  await Promise.all(
    Array.from({ length: Math.min(COPIES_IN_FLIGHT, ids.length) }, () =>
      worker().catch((e: unknown) => {
        failure ??= e;
        next = ids.length;
      }),
    ),
  );
  if (failure !== undefined) throw failure;
  for (const dir of dirs.keys()) await syncDir(dir);
  await syncDir(join(dest, '.s3d', 'objects'));
  return { bytes };
}
