// Object data files: named by a random id (never by the S3 key), written in objects/xx/,
// fsynced (file and directory entry), and only then referenced from LMDB. Also ranged reads, deletion,
// and the start-up sweep of temp files and files no record points to.

import { secureRandom } from '../../workers/format/random.js';
import { accessSync, close as closeCb, closeSync, constants, fdatasync as fdatasyncCb, mkdirSync, open as openCb, openSync, promises as fsp, read as readCb, readSync, rmSync, write as writeCb, writeSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { allocatePageAligned, isMemoryAligned, PAGE_SIZE } from './aligned.js';
import { readFailure } from './write-probe.js';
import { totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';

const READ_CHUNK = 1024 * 1024;

/**
 * Data files whose bytes went through the page cache lately (read, or written without O_DIRECT),
 * least recently used first, bounded by the bytes they account for. Only these are read
 * synchronously: a read that has to go to the disk would hold the event loop (and every other
 * connection) for the disk's latency, and data written with O_DIRECT is not in the page cache.
 * It is a guess about the page cache, not a mirror of it: a file evicted by memory pressure costs
 * one blocking read before it is counted out.
 */
export class WarmFiles {
  readonly #bytes = new Map<string, number>();
  #total = 0;
  readonly budget: number;

  constructor(budget: number) {
    this.budget = budget;
  }

  has(id: string): boolean {
    return this.#bytes.has(id);
  }

  /** `id`'s first `extent` bytes are in the page cache now. */
  touch(id: string, extent: number): void {
    const had = this.#bytes.get(id);
    if (had !== undefined) this.#bytes.delete(id);
    const now = Math.max(had ?? 0, extent);
    this.#bytes.set(id, now);
    this.#total += now - (had ?? 0);
    for (const [oldest, n] of this.#bytes) {
      if (this.#total <= this.budget || oldest === id) break;
      this.#bytes.delete(oldest);
      this.#total -= n;
    }
  }

  forget(id: string): void {
    const n = this.#bytes.get(id);
    if (n === undefined) return;
    this.#bytes.delete(id);
    this.#total -= n;
  }

  get size(): number {
    return this.#bytes.size;
  }
}

/** What the synchronous-read decision needs, shared by a store and the files it opens. */
interface ReadPolicy {
  /**
   * Reads of at most this many bytes (a whole request's range) of a warm file run synchronously:
   * copying up to ~1 MiB out of the page cache costs less main-thread time than a thread-pool
   * round trip (measured +15 % GET/s at 1 MiB). Larger reads stay on the pool, overlapping the
   * response. 0 = never.
   */
  syncReadMax: number;
  /** Files to read synchronously; undefined = all (a DataFile made without a store). */
  warm: WarmFiles | undefined;
  /** Reads done by path, for the metrics. */
  counts: { sync: number; pool: number };
}

/**
 * `mkdir -p`, one directory at a time (those it creates get `mode`). Node's recursive mkdir
 * reports a read-only or full filesystem as ENOENT (it stats the path after the failed mkdir),
 * which would hide the reason from the operator; this gives the real error. Returns the
 * directories it made, outermost first.
 */
export function makeDirs(path: string, mode = 0o777): string[] {
  const parts = resolve(path).split('/');
  const made: string[] = [];
  for (let i = 2; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    try {
      mkdirSync(dir, mode);
      made.push(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return made;
}

/**
 * Unreferenced data files the start-up sweep deletes when it is not told a bound: more are moved
 * to `.s3d/orphans/` instead (sweepOrphans; storage/orphan-scan.ts passes a bound of its own).
 */
const ORPHAN_QUARANTINE_ABOVE = 256;

/** A data file being written starts an fdatasync in the background after this many new bytes. */
const BACKGROUND_SYNC_BYTES = 8 * 1024 * 1024;

const DATA_FILE_ID = /^[0-9a-f]{32}$/;

/** Whether `id` has the shape of a data file id: 128 random bits as 32 lowercase hex digits. */
export function isDataFileId(id: string): boolean {
  return DATA_FILE_ID.test(id);
}

/** A fan-out directory this process has used (FileStore.knownDirs). */
interface FanOutDir {
  /** Settles once the directory exists (made, or found). */
  mkdir: Promise<void>;
  /** Settles once its entry in objects/ is durable; replaced when an open of objects/ failed (reopen). */
  durable: Promise<void>;
  /** FileStore's count of failed fsyncs of objects/ when the directory was made. */
  since: number;
  /** The last attempt failed to open objects/ (no sync ran): the next file landing here tries again. */
  reopen: boolean;
}

export class FileStore {
  readonly root: string;
  private readonly tmpDir: string;
  private readonly objDir: string;
  /** Fan-out directories this process has used: each settles once it exists and its entry in objects/ is durable. */
  private readonly knownDirs = new Map<string, FanOutDir>();
  /**
   * fsyncs of objects/ that failed (the sync itself, not the open before it): a writeback error
   * is reported to one of them, whichever fan-out directory's entry it was about.
   */
  #objDirSyncFailures = 0;
  /** The last of them. */
  #objDirSyncError: NodeJS.ErrnoException | undefined;
  /**
   * Data-file writes from page-aligned memory (the crypto slots) go around the page cache
   * (O_DIRECT), as MinIO writes: copying new data into the page cache was ~36 % of the daemon's
   * samples at 1 MiB PUTs on the bench VM, and O_DIRECT halved system CPU per durable file there.
   * Asked for by `directIo`, used only when init() finds the filesystem accepts it (tmpfs does not).
   */
  directIo: boolean;
  readonly #reads: ReadPolicy & { warm: WarmFiles };

  /** `warmBytes`: budget of the WarmFiles tracker; default a quarter of the machine's memory. */
  constructor(dataDir: string, opts: { syncReadMax?: number; directIo?: boolean; warmBytes?: number } = {}) {
    this.directIo = opts.directIo ?? false;
    this.#reads = { syncReadMax: opts.syncReadMax ?? 0, warm: new WarmFiles(opts.warmBytes ?? Math.floor(totalmem() / 4)), counts: { sync: 0, pool: 0 } };
    this.root = join(dataDir, '.s3d');
    this.tmpDir = join(this.root, 'tmp');
    this.objDir = join(this.root, 'objects');
  }

  async init(): Promise<void> {
    makeDirs(this.tmpDir, 0o700);
    makeDirs(this.objDir, 0o700);
    if (this.directIo) this.directIo = probeDirectIo(join(this.tmpDir, 'direct-io-probe'));
  }

  pathOf(id: string): string {
    if (!isDataFileId(id)) throw new Error(`invalid data file id ${JSON.stringify(id)}`);
    return join(this.objDir, id.slice(0, 2), id);
  }

  /**
   * A new data file, created directly under its final name (no record points at it until the
   * caller commits one, and the start-up sweep removes it after a crash). Its directory entry is
   * made durable right away, in parallel with the body upload, instead of after it.
   */
  async create(): Promise<DataWriter> {
    const id = secureRandom(16).toString('hex');
    this.#newFiles?.add(id);
    const dir = join(this.objDir, id.slice(0, 2));
    const path = this.pathOf(id);
    const direct = this.directIo ? constants.O_DIRECT : 0;
    const flags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | direct;
    let made = await this.#fanOutDir(dir);
    let handle: number;
    try {
      handle = await fsCall<number>((cb) => openCb(path, flags, 0o600, cb));
    } catch (err) {
      // The directory went away since this process made or found it (removed by hand, objects/
      // restored from elsewhere): remembered, every upload whose file lands in it failed (500)
      // until a restart. It is made (and made durable) again, once.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (this.knownDirs.get(dir) === made) this.knownDirs.delete(dir);
      made = await this.#fanOutDir(dir);
      handle = await fsCall<number>((cb) => openCb(path, flags, 0o600, cb));
    }
    const dirSynced = Promise.all([syncDir(dir), made.durable]).then(() => undefined);
    // Surface a failure at commit(), not as an unhandled rejection.
    dirSynced.catch(() => undefined);
    return new DataWriter(id, path, handle, dirSynced, direct !== 0, this.#reads.warm);
  }

  /** The fan-out directory `dir`, made unless this process has made or found it already; resolves once it exists. */
  async #fanOutDir(dir: string): Promise<FanOutDir> {
    let made = this.knownDirs.get(dir);
    if (made === undefined) {
      // Not recursive: objects/ exists, and Node's recursive mkdir reports a filesystem out of
      // inodes (ENOSPC) as ENOENT (see makeDirs), which would be a 500 instead of 507. The
      // directory's entry in objects/ is made durable before any file created in it is (once per
      // directory and process, whether this mkdir made it or found it: one a crash or a failed
      // sync left behind is synced too): a power loss must not take the directory, and the
      // acknowledged files in it, away.
      const mkdir = fsp.mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      // Counted before the mkdir: a failed fsync of objects/ that returns after it may be this entry's.
      const entry: FanOutDir = { mkdir, durable: mkdir, since: this.#objDirSyncFailures, reopen: false };
      entry.durable = mkdir.then(() => this.#syncEntry(dir, entry));
      made = entry;
      this.knownDirs.set(dir, entry);
      // A failed mkdir is tried again by the next write; a failed sync is not. Linux reports a
      // writeback error to the descriptors open when it happened and marks the pages clean: a
      // sync through a new descriptor succeeds whether or not the directory's entry reached the
      // disk, and every upload acknowledged into it after that would go with it at a power loss.
      // Kept failed, every upload whose file lands in the directory fails (500) until a restart.
      // A failed open of objects/ (no descriptor left, a passing EIO) ran no sync: see #syncEntry.
      mkdir.catch(() => {
        if (this.knownDirs.get(dir) === entry) this.knownDirs.delete(dir);
      });
      entry.durable.catch(() => undefined);
    } else if (made.reopen) {
      // The last attempt could not open objects/: this file tries again, and is not acknowledged
      // unless the sync succeeds (DataWriter.commit waits for it). Files already waiting on the
      // failed attempt fail with it.
      made.reopen = false;
      made.durable = this.#syncEntry(dir, made);
      made.durable.catch(() => undefined);
    }
    await made.mkdir;
    return made;
  }

  /**
   * Makes `dir`'s entry in objects/ durable (fsync of objects/). A failure to open objects/ (no
   * descriptor left, a passing EIO) ran no sync, so no writeback error was reported, and none
   * marked seen (an error no descriptor has seen is reported to the next fsync, on a descriptor
   * opened after it too: Linux 4.17, "errseq: Always report a writeback error once"): the entry
   * is tried again by the next file that lands in `dir` (reopen). Before,
   * it was kept failed as a failed sync is, and one upload in 256 failed until a restart.
   */
  async #syncEntry(dir: string, entry: FanOutDir): Promise<void> {
    let dh: FileHandle;
    try {
      dh = await fsp.open(this.objDir, 'r');
    } catch (err) {
      entry.reopen = true;
      throw dirOpenFailed(this.objDir, dir, err as NodeJS.ErrnoException);
    }
    try {
      await dh.sync();
    } catch (err) {
      this.#objDirSyncFailures++;
      this.#objDirSyncError = err as NodeJS.ErrnoException;
      throw dirSyncFailed(this.objDir, dir, err as NodeJS.ErrnoException);
    } finally {
      await dh.close();
    }
    // An fsync of objects/ for another directory failed since this one was made: the writeback
    // error may have been this entry's, reported there (first) and so not here. Kept failed.
    if (this.#objDirSyncFailures !== entry.since) throw dirSyncFailed(this.objDir, dir, this.#objDirSyncError!, true);
  }

  /** Files reads in progress still need: the reaper leaves them alone until released. */
  readonly #pins = new Map<string, number>();

  /**
   * Keeps `ids` from the reaper until the returned function is called (once): a read that opens
   * its files one at a time, as it reaches them, still finds them after an overwrite.
   */
  pin(ids: readonly string[]): () => void {
    for (const id of ids) this.#pins.set(id, (this.#pins.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const id of ids) {
        const n = this.#pins.get(id)! - 1;
        if (n === 0) this.#pins.delete(id);
        else this.#pins.set(id, n);
      }
    };
  }

  pinned(id: string): boolean {
    return this.#pins.has(id);
  }

  /** Files whose removal has begun (the reaper checked they were not pinned, then asked). */
  readonly #removing = new Set<string>();

  /**
   * Throws the open error (ENOENT when the file is gone) unless the data file exists. A file being
   * removed is gone already: it still exists until the unlink on the thread pool runs, and a read
   * that pinned it meanwhile (its record looked up before the release, then slowed past the grace
   * period, say by a KMS unwrap) opened it only on reaching it, after the unlink, and cut its 200
   * short; ENOENT now sends the read back to look its record up again.
   */
  mustExist(id: string): void {
    if (this.#removing.has(id)) throw Object.assign(new Error(`ENOENT: data file ${id} is being removed`), { code: 'ENOENT' });
    accessSync(this.pathOf(id), constants.F_OK);
  }

  async remove(id: string): Promise<void> {
    this.#reads.warm.forget(id);
    this.#removing.add(id);
    try {
      await fsp.rm(this.pathOf(id), { force: true });
    } finally {
      this.#removing.delete(id);
    }
  }

  /**
   * Makes the removal of these files durable: fsyncs each of their directories once, four at a
   * time (the thread pool also serves reads). Before the removals are recorded: on btrfs a file's
   * fsync (LMDB's commit) does not carry an unlink in another directory, and a file that came back
   * after a power loss would be a leftover the start-up scan counts against its bound. A directory
   * that is gone (removed by hand) holds nothing to make durable: its ENOENT failed every pass, the
   * same file first in each batch, and the queue never drained again.
   */
  async syncRemovals(ids: readonly string[]): Promise<void> {
    const dirs = [...new Set(ids.map((id) => join(this.objDir, id.slice(0, 2))))];
    const sync = (d: string): Promise<void> =>
      syncDir(d).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    for (let i = 0; i < dirs.length; i += 4) await Promise.all(dirs.slice(i, i + 4).map(sync));
  }

  /** Data-file reads so far, synchronous and on the thread pool. */
  get reads(): { readonly sync: number; readonly pool: number } {
    return this.#reads.counts;
  }

  /** The files reads treat as being in the page cache. */
  get warm(): WarmFiles {
    return this.#reads.warm;
  }

  /**
   * Opens a data file for reading. Synchronous on purpose: opening a file whose directory entry
   * is cached costs a few microseconds, far less than a thread-pool round trip and a FileHandle
   * (measured: open + close were ~15 % of the main thread in a 1 MiB GET).
   */
  open(id: string): DataFile {
    let fd: number;
    try {
      fd = openSync(this.pathOf(id), constants.O_RDONLY);
    } catch (e) {
      // An EACCES here (a file made unreadable) is no sign that the directory refuses writes.
      throw readFailure(e);
    }
    return new DataFile(id, fd, this.#reads);
  }

  /**
   * Streams [offset, offset+length) of a file in chunks of at most 1 MiB. With `into`, every chunk
   * is read into that buffer and lent: valid only until the next chunk is asked for.
   */
  async *read(id: string, offset: number, length: number, file?: DataFile, into?: Buffer): AsyncGenerator<Buffer> {
    const f = file ?? this.open(id);
    try {
      let pos = offset;
      let left = length;
      while (left > 0) {
        const n = Math.min(into?.length ?? READ_CHUNK, left);
        const buf = into ?? Buffer.allocUnsafe(n);
        const got = await f.readFully(buf, 0, n, pos, length);
        if (got < n) throw new Error(`data file ${id} is shorter than its record says`);
        pos += n;
        left -= n;
        yield buf.length === n ? buf : buf.subarray(0, n);
      }
    } finally {
      if (!file) f.close();
    }
  }

  /**
   * Start-up sweep, before the daemon serves: temp files are crash leftovers. The files the
   * deletion queue holds (overwritten or deleted objects whose grace period had not run out at the
   * last stop) are the reaper's, and data files no record references are looked for (sweepOrphans,
   * run by storage/orphan-scan.ts), both while the daemon serves.
   */
  async sweepAtStart(): Promise<{ temp: number }> {
    let temp = 0;
    for (const name of await fsp.readdir(this.tmpDir)) {
      await fsp.rm(join(this.tmpDir, name), { force: true, recursive: true });
      temp++;
    }
    return { temp };
  }

  /** Ids of the files created since trackNewFiles(): never crash leftovers, whatever a snapshot says. */
  #newFiles: Set<string> | undefined;

  /** From now until untrackNewFiles(), files created are remembered (the start-up scan skips them). */
  trackNewFiles(): void {
    this.#newFiles = new Set();
  }

  untrackNewFiles(): void {
    this.#newFiles = undefined;
  }

  /**
   * Deletes the data files that `referenced` (every file a snapshot of the records taken before
   * the daemon served references) does not name, except those created since (trackNewFiles): a
   * file no record named then is a crash leftover no later write can come to name. Undefined when
   * `stopped()` said so between two directories.
   */
  async sweepOrphans(
    referenced: { has(id: string): boolean },
    opts: { storeHasBuckets?: boolean; quarantineAbove?: number } = {},
    stopped: () => boolean = () => false,
  ): Promise<{ orphans: number; quarantined?: { files: number; dir: string } } | undefined> {
    const leftover = (name: string): boolean => !referenced.has(name) && !(this.#newFiles?.has(name) ?? false);
    const orphans: string[] = [];
    for (const sub of await fsp.readdir(this.objDir)) {
      if (stopped()) return undefined;
      const dir = join(this.objDir, sub);
      let st: Stats;
      try {
        st = await fsp.stat(dir);
      } catch {
        continue;
      }
      if (!st.isDirectory()) continue;
      for (const name of await fsp.readdir(dir)) if (leftover(name)) orphans.push(join(dir, name));
    }
    // A crash leaves at most the files of the writes in flight (a write needs a bucket). Far more
    // unreferenced files, or any beside a store without buckets, mean the metadata is not the one
    // these files belong to (restored from an old backup, replaced, damaged): set them aside in
    // `.s3d/orphans/<time>/`, never delete them.
    if (orphans.length > (opts.quarantineAbove ?? ORPHAN_QUARANTINE_ABOVE) || (orphans.length > 0 && opts.storeHasBuckets === false)) {
      const dir = join(this.root, 'orphans', new Date().toISOString().replace(/[:.]/g, '-'));
      makeDirs(dir, 0o700);
      for (const path of orphans) await fsp.rename(path, join(dir, basename(path)));
      return { orphans: 0, quarantined: { files: orphans.length, dir } };
    }
    for (const path of orphans) {
      // Checked again just before: the walk took time (a file made meanwhile is tracked by now).
      if (leftover(basename(path))) await fsp.rm(path, { force: true });
    }
    return { orphans: orphans.length };
  }

  /** Counts data files (tests use it to prove nothing leaks). */
  async countFiles(): Promise<{ temp: number; data: number }> {
    const temp = (await fsp.readdir(this.tmpDir)).length;
    let data = 0;
    for (const sub of await fsp.readdir(this.objDir)) data += (await fsp.readdir(join(this.objDir, sub))).length;
    return { temp, data };
  }
}

/**
 * The alignment O_DIRECT writes are held to: file offset, length and memory on page (and ext4
 * block) boundaries. 512-byte alignment is accepted by the kernel but, on a disk with 4 KiB
 * physical blocks, each such write is a read-modify-write: 64 MiB of DARE batches (16 × 65,568 B =
 * 2,049 × 512 B each, at offsets of the same size) took 1.5 s with O_DIRECT against 0.06 s through
 * the page cache on the bench VM, and the one-stream SSE PUT ran at a third of its speed.
 */
const DIRECT_ALIGN = PAGE_SIZE;

/** Whether this filesystem takes O_DIRECT writes of whole pages from page-aligned memory. */
function probeDirectIo(path: string): boolean {
  const mem = allocatePageAligned(65536);
  if (mem === undefined) return false;
  let fd = -1;
  try {
    fd = openSync(path, constants.O_CREAT | constants.O_TRUNC | constants.O_WRONLY | constants.O_DIRECT, 0o600);
    writeSync(fd, new Uint8Array(mem, 0, 8192), 0, 8192, 0);
    writeSync(fd, new Uint8Array(mem, DIRECT_ALIGN, DIRECT_ALIGN), 0, DIRECT_ALIGN, 8192 + DIRECT_ALIGN);
    return true;
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
    rmSync(path, { force: true });
  }
}

/**
 * A failed fsync of objects/ (`err`) after `dir` was made in it: what every later upload into
 * `dir` fails with. `another`: the fsync was for another directory's entry, and its writeback
 * error may have been `dir`'s (reported once, there).
 */
function dirSyncFailed(objDir: string, dir: string, err: NodeJS.ErrnoException, another = false): Error {
  const e = new Error(
    `${another ? `an fsync of ${objDir} for another directory` : `fsync of ${objDir}`} failed (${err.code ?? err.message}) after ${dir} was made in it: its entry may not be on the disk, and a later fsync could not tell; uploads into ${dir} fail until s3d restarts (check the disk: dmesg)`,
    { cause: err },
  ) as NodeJS.ErrnoException;
  // Its code stays the cause's: ENOSPC and EROFS are answered as they are elsewhere.
  if (err.code !== undefined) e.code = err.code;
  return e;
}

/** objects/ could not be opened to sync `dir`'s entry (`err`): no sync ran, the next upload into `dir` tries again. */
function dirOpenFailed(objDir: string, dir: string, err: NodeJS.ErrnoException): Error {
  const e = new Error(`opening ${objDir} to fsync it failed (${err.code ?? err.message}) after ${dir} was made in it: the next upload into ${dir} tries again`, { cause: err }) as NodeJS.ErrnoException;
  // Its code stays the cause's: EMFILE is answered 503 SlowDown as it is elsewhere.
  if (err.code !== undefined) e.code = err.code;
  return e;
}

/** fsyncs a directory: the entries made or removed in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** A data file open for reading: a plain descriptor, reads on the thread pool, close synchronous. */
export class DataFile {
  readonly id: string;
  #fd: number;
  readonly #policy: ReadPolicy;
  /** Thread-pool reads not settled yet: the descriptor is closed only after them. */
  #reading = 0;
  #closeWanted = false;

  /** `policy`: a store's read policy, or a bare syncReadMax (every file counts as warm). */
  constructor(id: string, fd: number, policy: ReadPolicy | number = 0) {
    this.id = id;
    this.#fd = fd;
    this.#policy = typeof policy === 'number' ? { syncReadMax: policy, warm: undefined, counts: { sync: 0, pool: 0 } } : policy;
  }

  /**
   * Reads up to `length` bytes at `position` into `buf` at `offset`; fewer only at end of file.
   * `requestBytes` is the size of the whole read this is part of: small ones of a warm file run
   * synchronously, everything else on the thread pool.
   */
  async readFully(buf: Uint8Array, offset: number, length: number, position: number, requestBytes = Infinity): Promise<number> {
    let done = 0;
    const policy = this.#policy;
    if (requestBytes <= policy.syncReadMax && (policy.warm?.has(this.id) ?? true)) {
      if (this.#fd < 0 || this.#closeWanted) throw new Error(`data file ${this.id} is closed`);
      while (done < length) {
        const n = readSync(this.#fd, buf, offset + done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
      policy.counts.sync++;
      policy.warm?.touch(this.id, position + done);
      return done;
    }
    while (done < length) {
      const n = await new Promise<number>((resolve, reject) => {
        if (this.#fd < 0 || this.#closeWanted) {
          reject(new Error(`data file ${this.id} is closed`));
          return;
        }
        this.#reading++;
        readCb(this.#fd, buf, offset + done, length - done, position + done, (err, bytesRead) => {
          if (--this.#reading === 0 && this.#closeWanted) this.#closeNow();
          if (err) reject(err);
          else resolve(bytesRead);
        });
      });
      if (n === 0) break;
      done += n;
    }
    policy.counts.pool++;
    policy.warm?.touch(this.id, position + done);
    return done;
  }

  /**
   * Idempotent. A read still on the thread pool keeps the descriptor open until it settles (its
   * number must not be reused by another file while the read runs).
   */
  close(): void {
    this.#closeWanted = true;
    if (this.#reading === 0) this.#closeNow();
  }

  #closeNow(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    try {
      closeSync(fd);
    } catch {
      // nothing useful to do for a read-only descriptor
    }
  }
}

/** Promise of a callback-style fs call (plain descriptors: no FileHandle object per file). */
function fsCall<T>(run: (cb: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => run((err, value) => (err ? reject(err) : resolve(value))));
}

export class DataWriter {
  readonly id: string;
  readonly path: string;
  private readonly fd: number;
  /** `fd` was opened with O_DIRECT: only aligned writes may use it. */
  private readonly direct: boolean;
  /** A second, buffered descriptor for the unaligned pieces (a stream's tail), opened on demand. */
  private bufferedFd = -1;
  private readonly dirSynced: Promise<void>;
  private position = 0;
  /** Bytes written around the page cache (O_DIRECT). */
  directBytes = 0;
  private closed = false;
  /** Bytes written since the last background fdatasync started. */
  private unsynced = 0;
  private backgroundSync: Promise<void> | undefined;
  private syncFailure: unknown;
  /**
   * Appends not yet settled (two at once, each in up to two pieces, each piece continued after a
   * short write): discard() waits for them, since a descriptor closed under a queued write could
   * be reused by another file meanwhile. Whole appends are tracked, not single write calls: a
   * short write's continuation is issued after discard() may have looked.
   */
  private readonly writing = new Set<Promise<unknown>>();

  /** Told about a file written wholly through the page cache once it is committed. */
  private readonly warm: WarmFiles | undefined;

  constructor(id: string, path: string, fd: number, dirSynced: Promise<void>, direct = false, warm?: WarmFiles) {
    this.id = id;
    this.path = path;
    this.fd = fd;
    this.direct = direct;
    this.dirSynced = dirSynced;
    this.warm = warm;
  }

  /** The descriptor for this write: the O_DIRECT one only for aligned memory, offset and length. */
  private fdFor(buf: Uint8Array, position: number): number {
    if (!this.direct) return this.fd;
    if (position % DIRECT_ALIGN === 0 && buf.length % DIRECT_ALIGN === 0 && isMemoryAligned(buf, DIRECT_ALIGN)) return this.fd;
    if (this.bufferedFd < 0) this.bufferedFd = openSync(this.path, constants.O_WRONLY);
    return this.bufferedFd;
  }

  /**
   * With O_DIRECT, a write that starts aligned sends its whole pages around the page cache and
   * only the partial page at its end through it (a 1 MiB object's one DARE batch: 1 MiB direct,
   * 512 B buffered). A write that starts unaligned (most batches of a long stream, whose size is
   * not a multiple of a page) goes through the page cache whole: no page is written both ways.
   */
  private pieces(buf: Uint8Array, position: number): Array<[Uint8Array, number]> {
    if (!this.direct || position % DIRECT_ALIGN !== 0 || !isMemoryAligned(buf, DIRECT_ALIGN)) return [[buf, position]];
    const whole = buf.length - (buf.length % DIRECT_ALIGN);
    if (whole === 0 || whole === buf.length) return [[buf, position]];
    return [
      [buf.subarray(0, whole), position],
      [buf.subarray(whole), position + whole],
    ];
  }

  /** Writes `buf` at `position`, continuing short writes (on the buffered descriptor once unaligned). */
  private async writeAt(buf: Uint8Array, position: number): Promise<void> {
    let off = 0;
    while (off < buf.length) {
      const use = this.fdFor(buf.subarray(off), position + off);
      const n = await fsCall<number>((cb) => writeCb(use, buf, off, buf.length - off, position + off, cb));
      if (use === this.fd && this.direct) this.directBytes += n;
      off += n;
    }
  }

  get size(): number {
    return this.position;
  }

  /**
   * Appends `buf`. Its place in the file is taken when the call is made, so several writes may
   * be in flight at once (they land at consecutive offsets in call order).
   */
  async write(buf: Uint8Array): Promise<void> {
    const base = this.position;
    this.position += buf.length;
    this.unsynced += buf.length;
    // Settled only once every piece is: the caller hands `buf` (a crypto slot) back when this
    // settles, and a piece still being written would copy its next user's bytes (another
    // object's plaintext, opened into the slot by a GET) into this file.
    const all = Promise.allSettled(this.pieces(buf, base).map(([b, at]) => this.writeAt(b, at)));
    this.writing.add(all);
    const settled = await all;
    this.writing.delete(all);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    // Large uploads flush as they go, so the fdatasync before the acknowledgement has only the
    // tail left to write out (one 64 MiB stream: ~60 ms of disk time otherwise all at the end).
    if (this.unsynced >= BACKGROUND_SYNC_BYTES && this.backgroundSync === undefined) {
      this.unsynced = 0;
      const sync = fsCall<void>((cb) => fdatasyncCb(this.fd, (err) => cb(err, undefined)));
      this.backgroundSync = sync.then(
        () => {
          this.backgroundSync = undefined;
        },
        (err: unknown) => {
          // Linux reports a writeback error to one fsync only: keep it for commit() to throw.
          this.syncFailure ??= err;
          this.backgroundSync = undefined;
        },
      );
    }
  }

  /** fdatasync and close; resolves once both the data and the directory entry are durable. */
  async commit(): Promise<void> {
    await this.backgroundSync;
    if (this.syncFailure !== undefined) throw this.syncFailure;
    // One fdatasync covers the file, whichever descriptor wrote which part.
    await fsCall<void>((cb) => fdatasyncCb(this.fd, (err) => cb(err, undefined)));
    this.closed = true;
    this.closeBuffered();
    await fsCall<void>((cb) => closeCb(this.fd, (err) => cb(err, undefined)));
    await this.dirSynced;
    if (!this.direct) this.warm?.touch(this.id, this.position);
  }

  private closeBuffered(): void {
    if (this.bufferedFd < 0) return;
    try {
      closeSync(this.bufferedFd);
    } catch {
      // written data is covered by the fdatasync on the main descriptor
    }
    this.bufferedFd = -1;
  }

  /** Removes the file (aborted upload, failed verification). Never throws. */
  async discard(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing);
    await this.backgroundSync;
    if (!this.closed) {
      this.closed = true;
      this.closeBuffered();
      await fsCall<void>((cb) => closeCb(this.fd, (err) => cb(err, undefined))).catch(() => undefined);
    }
    await fsp.rm(this.path, { force: true }).catch(() => undefined);
  }
}
