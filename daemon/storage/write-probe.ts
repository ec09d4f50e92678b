// Whether the data directory still takes writes: a filesystem the kernel remounted read-only
// after errors, a volume mounted back read-only, permissions changed under the daemon. Reads go
// on; uploads cannot. The readiness probe asks (an empty file created and removed in .s3d/tmp,
// at most once a second however many probes arrive), so a load balancer stops sending traffic;
// a write that failed so is answered 503 ServiceUnavailable (ops/storage-full.ts) and noted
// here, for one warning rather than an error line per request.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LogLimit } from '../log-limit.js';

/** How long one probe's verdict is reused: the readiness probe is anonymous. */
export const WRITE_PROBE_MEMO_MS = 1_000;
/**
 * A probe not back within this is a verdict too: a stalled filesystem (a hung NFS server, a dying
 * disk) answers nothing, and the readiness probe should say so rather than hang with it. No
 * second probe starts while the first is stuck (each would hold one of libuv's few threads).
 */
export const WRITE_PROBE_TIMEOUT_MS = 5_000;
/** The "not writable" warning repeats at most this often while writes keep failing. */
const WARNING_INTERVAL_MS = 60_000;

/** errno names (Node's `code`) that say the directory refuses writes, not that the disk is full. */
const NOT_WRITABLE_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

/**
 * System calls that only read: refused so, the data directory may still take writes (and a write
 * operation that reads, CopyObject opening its source, did not fail for want of writing).
 */
const READ_SYSCALLS = new Set(['read', 'stat', 'lstat', 'fstat', 'access', 'scandir', 'opendir', 'readlink', 'realpath']);
/** Errors of opens for reading: `open` is also how files are created, so its errors say neither. */
const readFailures = new WeakSet<object>();

/** Marks `err` (thrown by an open for reading) as no sign of a directory refusing writes; returns it. */
export function readFailure<E>(err: E): E {
  if (typeof err === 'object' && err !== null) readFailures.add(err);
  return err;
}

/**
 * The errno name when `err` (or an error it wraps as `cause`) is a system call refused because
 * the data directory takes no writes; only errors of a system call (with `syscall`) or of an
 * LMDB commit, so an EPERM of some other origin is not taken for one, and not of a read.
 */
export function notWritableCode(err: unknown): string | undefined {
  let e = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const { code, syscall, name } = e as { code?: unknown; syscall?: unknown; name?: unknown };
    if (readFailures.has(e) || (typeof syscall === 'string' && READ_SYSCALLS.has(syscall))) return undefined;
    if (typeof code === 'string' && NOT_WRITABLE_CODES.has(code) && (typeof syscall === 'string' || name === 'MetaCommitError')) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface WriteVerdict {
  writable: boolean;
  /** The errno name of the failure, when not writable. */
  code?: string;
}

export class WriteProbe {
  readonly #path: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #memoMs: number;
  readonly #touch: (path: string) => Promise<void>;
  readonly #timeoutMs: number;
  #last: { at: number; verdict: WriteVerdict } | undefined;
  #flight: Promise<WriteVerdict> | undefined;
  #flightStarted = 0;
  /** Whether the last probe or write said the directory refuses writes. */
  #failing = false;
  /** The "not writable" warning, with the failures since the last one; reset when writes work again. */
  readonly #warnings: LogLimit;

  /** `tmpDir`: the data directory's .s3d/tmp, swept at start-up (a probe file a crash left goes with it). */
  /** `touch`: creates and removes the probe file (tests give one that stalls). */
  constructor(tmpDir: string, opts: { log: Logger; now?: () => number; memoMs?: number; timeoutMs?: number; touch?: (path: string) => Promise<void> }) {
    this.#path = join(tmpDir, 'write-probe');
    this.#log = opts.log;
    // Monotonic: on the wall clock, one stepped back an hour kept the last verdict (and its
    // warning's pace) for the hour, readiness 503 on a directory writable again.
    this.#now = opts.now ?? (() => performance.now());
    this.#memoMs = opts.memoMs ?? WRITE_PROBE_MEMO_MS;
    this.#timeoutMs = opts.timeoutMs ?? WRITE_PROBE_TIMEOUT_MS;
    this.#touch = opts.touch ?? touchFile;
    this.#warnings = new LogLimit(WARNING_INTERVAL_MS, this.#now);
  }

  /** The directory's state, probed at most once per memo period (concurrent callers share one probe). */
  check(): Promise<WriteVerdict> {
    if (this.#last && this.#now() - this.#last.at < this.#memoMs) return Promise.resolve(this.#last.verdict);
    if (this.#flight === undefined) {
      this.#flightStarted = this.#now();
      this.#flight = this.#probe().then((verdict) => {
        this.#last = { at: this.#now(), verdict };
        this.#flight = undefined;
        if (verdict.writable) this.#recovered();
        else this.noteFailure(verdict.code!, 'probe');
        return verdict;
      });
    }
    const left = this.#flightStarted + this.#timeoutMs - this.#now();
    if (left <= 0) return Promise.resolve(STALLED);
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<WriteVerdict>((resolve) => {
      timer = setTimeout(() => {
        this.noteFailure(STALLED.code!, 'probe');
        resolve(STALLED);
      }, left);
    });
    return Promise.race([this.#flight, stalled]).finally(() => clearTimeout(timer));
  }

  /** A write refused with `code` (EROFS…): warned about when it starts, then at most once a minute. */
  noteFailure(code: string, op: string): void {
    const warn = (failures: number): void =>
      this.#log.warn(
        { op, code, failures },
        'data directory is not writable: uploads are answered 503 ServiceUnavailable and /minio/health/ready 503 (this warning repeats at most once a minute)',
      );
    // The first failure after writes worked is warned about at once: #recovered() reset the limit.
    // Those held back are told when the minute is up, when writes work again, or at stop(), not
    // only by a next warning, which may never come.
    if (!this.#warnings.hit(warn)) return;
    this.#failing = true;
    warn(this.#warnings.take());
  }

  /** Failures not yet told by a warning are told now (shutdown: the minute's timer would not run). */
  stop(): void {
    this.#warnings.flush();
  }

  #recovered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    // The failures since the last warning, before the line that says they ended (reset drops them).
    this.#warnings.flush();
    this.#warnings.reset();
    this.#log.info('data directory is writable again');
  }

  async #probe(): Promise<WriteVerdict> {
    try {
      await this.#touch(this.#path);
      return { writable: true };
    } catch (err) {
      // Read-only, refused, failing, or gone (a volume unmounted under the daemon). Anything else
      // (a full disk, which S3_MIN_FREE_DISK and 507 answer; no descriptor left) is no verdict
      // on the directory: readiness would flap on a shortage that passes.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== undefined && (NOT_WRITABLE_CODES.has(code) || code === 'EIO' || code === 'ENOENT')) return { writable: false, code };
      return { writable: true };
    }
  }
}

/** The verdict while a probe has not come back within its time. */
const STALLED: WriteVerdict = { writable: false, code: 'ETIMEDOUT' };

/** Creates and removes an empty file: it needs an inode, not a block, so a full disk (507, its own warning) does not fail it. */
async function touchFile(path: string): Promise<void> {
  await (await fsp.open(path, 'w')).close();
  await fsp.unlink(path);
}
