// Free space on the data directory's filesystem: a statfs kept fresh at little cost (at most one
// call a second, or per 64 MiB written, while writes come in; every 5 s otherwise), the
// S3_MIN_FREE_DISK reserve that new object data must leave, and which errors mean "disk full".

import { promises as fsp } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { MinFreeDisk } from '../config.js';
import { LogLimit } from '../log-limit.js';

/** What statfs says, in bytes: `free` is what an unprivileged user may still write (f_bavail). */
export interface FsUsage {
  free: number;
  total: number;
}

export type StatFs = (path: string) => Promise<FsUsage>;

/**
 * Block counts times `bsize`, although POSIX counts them in fragments (f_frsize): Node (libuv's
 * statfs(2) on Linux) gives no frsize, and Linux sets f_frsize to f_bsize unless a filesystem says
 * otherwise, which ext4, xfs, btrfs, tmpfs and NFS do not. Only a FUSE filesystem that reports a
 * frsize apart from its bsize would be misread here (as `df` is not).
 */
export async function statfsUsage(path: string): Promise<FsUsage> {
  const s = await fsp.statfs(path);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}

/** A snapshot older than this is refreshed by the next write that asks. */
const MAX_AGE_MS = 1000;
/** … and so is one that this many bytes have been written since. */
const MAX_WRITTEN_BYTES = 64 * 1024 * 1024;
/** A write about to be refused looks again first if the snapshot is older than this. */
const RECHECK_MS = 100;
/** Without writes, free space is still looked at this often (gauges, reserve crossings). */
const POLL_MS = 5000;
/** The "disk full" warning repeats at most this often, with the count of writes that failed. */
const FULL_WARNING_INTERVAL_MS = 60_000;
/**
 * LMDB reports a page write the disk took only part of as EIO, not ENOSPC: with less free space
 * than this (or the reserve, if larger) such a failure is taken for a full disk.
 */
const NEARLY_FULL_BYTES = 64 * 1024 * 1024;

/** errno names (Node's `code`) that mean the filesystem or the user's quota has no room left. */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT', 'MDB_MAP_FULL']);

/** Whether `err` (or an error it wraps as `cause`) says the disk or the quota is full. */
export function isNoSpaceError(err: unknown): boolean {
  let e = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NO_SPACE_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The S3_MIN_FREE_DISK reserve on a filesystem of `total` bytes: the smaller of its size and its share; 0 = off. */
export function reserveBytes(minFree: MinFreeDisk, total: number): number {
  const share = minFree.percent === Infinity ? Infinity : Math.ceil((total * minFree.percent) / 100);
  return Math.min(minFree.bytes, share);
}

/** A write in progress, counted against the free space until it ends. */
export interface SpaceHold {
  /** The write ended; `written: false` when what it wrote is being deleted (it never counts). */
  release(written?: boolean): void;
}

export class DiskSpace {
  readonly path: string;
  readonly #minFree: MinFreeDisk;
  readonly #log: Logger;
  readonly #statfs: StatFs;
  readonly #now: () => number;
  #free = 0;
  #total = 0;
  /** When the snapshot's statfs was issued (-Infinity: never). */
  #at = -Infinity;
  /** #written when the snapshot's statfs was issued. */
  #writtenAtSnapshot = 0;
  /** Bytes of finished writes since start-up (monotonic). */
  #written = 0;
  /** Bytes that writes in progress may still write. */
  #held = 0;
  #refreshing: Promise<void> | undefined;
  /** Counts freed() calls: files of failed writes deleted, space the snapshot may not show free. */
  #freedSeq = 0;
  /** #freedSeq when the snapshot's statfs was issued. */
  #freedAtSnapshot = 0;
  #timer: NodeJS.Timeout | undefined;
  #belowReserve = false;
  #statfsFailing = false;
  /** The "disk full" warning, with the writes that failed since the last one. */
  readonly #fullWarnings: LogLimit;

  constructor(path: string, opts: { minFree: MinFreeDisk; log: Logger; statfs?: StatFs; now?: () => number }) {
    this.path = path;
    this.#minFree = opts.minFree;
    this.#log = opts.log;
    this.#statfs = opts.statfs ?? statfsUsage;
    this.#now = opts.now ?? (() => performance.now());
    this.#fullWarnings = new LogLimit(FULL_WARNING_INTERVAL_MS, this.#now);
  }

  /** First reading (logged), then a poll every few seconds. */
  async start(): Promise<void> {
    await this.refresh();
    this.#log.info({ freeBytes: this.#free, totalBytes: this.#total, minFreeBytes: this.minFreeBytes }, this.minFreeBytes > 0 ? 'data disk: new object writes keep S3_MIN_FREE_DISK free' : 'data disk: no free-space reserve (S3_MIN_FREE_DISK=off)');
    this.#timer = setInterval(() => void this.refresh(), POLL_MS);
    this.#timer.unref();
  }

  /** Stops the poll; failed writes not yet told by a "disk full" warning are told now (shutdown). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#fullWarnings.flush();
  }

  /** Free bytes at the last statfs. */
  get freeBytes(): number {
    return this.#free;
  }

  get totalBytes(): number {
    return this.#total;
  }

  /** The reserve in bytes: the smaller of its size and its share of the filesystem; 0 = off. */
  get minFreeBytes(): number {
    return reserveBytes(this.#minFree, this.#total);
  }

  /** Free space a new write can count on: the last statfs, less what was written since and what writes in progress may still add. */
  get estimatedFree(): number {
    return this.#free - (this.#written - this.#writtenAtSnapshot) - this.#held;
  }

  /** Whether a new write of about `bytes` leaves the reserve free. Always true without a reserve. */
  admits(bytes: number): boolean {
    const reserve = this.minFreeBytes;
    if (reserve === 0) return true;
    if (this.#now() - this.#at > MAX_AGE_MS || this.#written - this.#writtenAtSnapshot > MAX_WRITTEN_BYTES) void this.refresh();
    return this.estimatedFree - bytes >= reserve;
  }

  /**
   * admits(bytes), asking statfs again before a refusal when the snapshot is not brand new (space
   * freed meanwhile is seen; admitting stays synchronous).
   */
  async admitsNow(bytes: number): Promise<boolean> {
    if (this.admits(bytes)) return true;
    await this.#recheck();
    return this.admits(bytes);
  }

  /**
   * admitsNow(bytes), and counts `bytes` as being written until release() (after which they count
   * as written until the next statfs sees them). Undefined when refused.
   */
  async hold(bytes: number): Promise<SpaceHold | undefined> {
    if (!this.admits(bytes)) {
      await this.#recheck();
      // Decided and counted without an await in between: concurrent writes see each other.
      if (!this.admits(bytes)) return undefined;
    }
    this.#held += bytes;
    let released = false;
    return {
      release: (written = true) => {
        if (released) return;
        released = true;
        this.#held -= bytes;
        if (written) this.#written += bytes;
      },
    };
  }

  /**
   * A failed write's file was deleted: the space it took is free again, but a statfs issued while
   * it was there still counts it. The next refusal looks again however new the snapshot is.
   */
  freed(): void {
    this.#freedSeq++;
  }

  /** Before a refusal: statfs again unless the snapshot is brand new and nothing was freed since. */
  async #recheck(): Promise<void> {
    if (this.#now() - this.#at <= RECHECK_MS && this.#freedSeq === this.#freedAtSnapshot) return;
    await this.refresh();
    // A statfs already in flight may have been issued before the space was freed: once more.
    if (this.#freedSeq !== this.#freedAtSnapshot) await this.refresh();
  }

  /** Reads statfs now (one call at a time); logs crossings of the reserve. Never rejects. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#read().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** refresh() if the snapshot is older than `maxAgeMs`. */
  current(maxAgeMs = MAX_AGE_MS): Promise<void> {
    return this.#now() - this.#at > maxAgeMs ? this.refresh() : Promise.resolve();
  }

  async #read(): Promise<void> {
    const at = this.#now();
    const written = this.#written;
    const freedSeq = this.#freedSeq;
    let usage: FsUsage;
    try {
      usage = await this.#statfs(this.path);
    } catch (err) {
      // Keep the last figures; ask again at the next interval rather than on every write.
      this.#at = at;
      if (!this.#statfsFailing) this.#log.warn({ err: { message: (err as Error).message, code: (err as { code?: unknown }).code }, path: this.path }, 'cannot read the free space of the data filesystem (statfs)');
      this.#statfsFailing = true;
      return;
    }
    this.#statfsFailing = false;
    this.#free = usage.free;
    this.#total = usage.total;
    this.#at = at;
    this.#writtenAtSnapshot = written;
    this.#freedAtSnapshot = freedSeq;
    const reserve = this.minFreeBytes;
    const below = reserve > 0 && usage.free < reserve;
    if (below === this.#belowReserve) return;
    this.#belowReserve = below;
    const fields = { freeBytes: usage.free, minFreeBytes: reserve, totalBytes: usage.total };
    if (below) this.#log.warn(fields, 'data disk free space is below S3_MIN_FREE_DISK: new object writes are refused (507 XMinioStorageFull) until objects are deleted or space is freed');
    else this.#log.info(fields, 'data disk free space is above S3_MIN_FREE_DISK again: new object writes are accepted');
  }

  /** Fresh statfs: is the filesystem (nearly) out of space? */
  async nearlyFull(): Promise<boolean> {
    await this.refresh();
    return this.#free < Math.max(this.minFreeBytes, NEARLY_FULL_BYTES);
  }

  /**
   * A write met a full disk (ENOSPC, EDQUOT, LMDB unable to grow its file): looks at statfs again
   * and warns, at most once a minute, with the number of writes that failed since the last warning.
   */
  noteFull(err: unknown, op: string): void {
    const refreshed = this.refresh();
    const e = err as { code?: unknown; syscall?: unknown };
    const warn = (failedWrites: number): void =>
      this.#log.warn(
        { op, code: e.code, syscall: e.syscall, failedWrites, freeBytes: this.#free, totalBytes: this.#total },
        'data disk is full: writes fail and are answered 507 XMinioStorageFull; delete objects or free space on the filesystem (this warning repeats at most once a minute)',
      );
    // Writes that fail within the minute are told when it is up (or at stop()), not by the next
    // warning alone: after the last failure (space freed, the daemon stopped) none may come.
    if (!this.#fullWarnings.hit(warn)) return;
    // Counted when written: writes that fail while statfs is asked are told in this line.
    void refreshed.then(() => warn(this.#fullWarnings.take()));
  }
}
