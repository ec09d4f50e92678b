// The start-up scan for data files no record references (crash leftovers: the files of the writes
// in flight when the daemon died). It reads every object, version and part record, ~8 µs each with
// small objects' data included: seconds for a million records, minutes for a store of many GB. It
// used to run before the daemon listened, so a restart after a crash was unavailable for as long.
// Now it runs while the daemon serves:
//   - the records are read from one LMDB snapshot taken before the daemon serves
//     (MetaStore.referenceSnapshot): a file no record named then is a leftover, since a write
//     only ever comes to name a file it created itself;
//   - files created since are tracked (FileStore.trackNewFiles) and never taken for leftovers;
//   - the scan yields to requests every millisecond (with 10 ms slices, a PUT of ten async steps
//     waited ~100 ms on a busy daemon during the scan).
// A graceful stop in the middle ends it, and no clean-shutdown marker is written then
// (storage/clean-shutdown.ts): the next start scans again. After a clean stop it does not run.
// Since writes run during the scan, a crash before it ends leaves its leftovers beside the last
// one's: the number of starts whose scan did not finish is kept in the store, and the bound past
// which leftovers are taken for a sign of the wrong metadata store grows with it.

import type { Logger } from 'pino';
import type { ReferenceSnapshot } from '../meta/store.js';
import type { FileStore } from './files.js';
import { FileIdSet } from './file-id-set.js';

/**
 * How many unreferenced data files one crash can leave: one per write in flight. Writes that make
 * data files hold a place in the data gate or are parked beside it: `writesMax` of them at most
 * (0: no limit).
 */
export function crashLeftoversBound(writesMax: number): number {
  return writesMax === 0 ? 4096 : Math.max(256, writesMax + 64);
}

export class OrphanScan {
  readonly #files: FileStore;
  readonly #log: Logger;
  readonly #snapshot: ReferenceSnapshot;
  readonly #storeHasBuckets: boolean;
  readonly #temp: number;
  #stopped = false;
  #running: Promise<void> | undefined;
  /** The scan ran to its end (the clean-shutdown marker may be written). */
  finished = false;

  /**
   * Takes the snapshot and starts tracking new files: call it before the daemon serves.
   * `temp`: the temp files sweepAtStart removed, reported with the leftovers.
   */
  constructor(
    files: FileStore,
    snapshot: ReferenceSnapshot,
    log: Logger,
    opts: { storeHasBuckets: boolean; temp: number; crashLeftovers: number; unfinished: { count: number; set(n: number): Promise<void> } },
  ) {
    this.#files = files;
    this.#log = log;
    this.#snapshot = snapshot;
    this.#storeHasBuckets = opts.storeHasBuckets;
    this.#temp = opts.temp;
    // This start's crash and one per start since whose scan did not end.
    this.#quarantineAbove = opts.crashLeftovers * (1 + opts.unfinished.count);
    this.#unfinished = opts.unfinished;
    files.trackNewFiles();
  }

  readonly #quarantineAbove: number;
  readonly #unfinished: { count: number; set(n: number): Promise<void> };

  /** Runs the scan in the background; its promise never rejects (a failure is logged). */
  start(): Promise<void> {
    this.#running ??= this.#run().catch((err: unknown) => {
      this.#log.error(
        { err: { message: (err as Error).message, code: (err as NodeJS.ErrnoException).code } },
        'start-up scan for unreferenced data files failed: crash leftovers may remain (they take space, nothing else); the next start after a crash scans again',
      );
    });
    return this.#running;
  }

  async #run(): Promise<void> {
    const started = performance.now();
    try {
      const stopped = (): boolean => this.#stopped;
      // Counted before any leftover is looked for: a crash from now on adds to them.
      // Best effort: unrecorded, the next bound is lower, and more is moved aside, not deleted.
      await this.#unfinished.set(this.#unfinished.count + 1).catch(() => undefined);
      const referenced = await this.#snapshot.files(new FileIdSet(), stopped);
      // The snapshot's pages are not needed past this point.
      this.#snapshot.release();
      if (referenced === undefined) return;
      const swept = await this.#files.sweepOrphans(referenced, { storeHasBuckets: this.#storeHasBuckets, quarantineAbove: this.#quarantineAbove }, stopped);
      if (swept === undefined) return;
      this.finished = true;
      await this.#unfinished.set(0).catch(() => undefined);
      if (swept.quarantined) {
        this.#log.error(
          { files: swept.quarantined.files, dir: swept.quarantined.dir },
          'start-up sweep found far more data files without a record than a crash leaves (or some beside a store without buckets): the metadata store may be an old or wrong one. They were moved aside, not deleted: if .s3d/meta was restored from a backup, stop s3d, restore the right one and move the files back into .s3d/objects/<first two hex digits>/; otherwise delete the directory',
        );
      }
      if (this.#temp + swept.orphans > 0) this.#log.info({ temp: this.#temp, orphans: swept.orphans }, 'start-up sweep removed crash leftovers');
      this.#log.info({ records: this.#snapshot.records, orphans: swept.orphans, ms: Math.round(performance.now() - started) }, 'start-up scan for unreferenced data files finished');
    } finally {
      this.#snapshot.release();
      this.#files.untrackNewFiles();
      if (!this.finished && this.#stopped) this.#log.info({ records: this.#snapshot.records, ms: Math.round(performance.now() - started) }, 'start-up scan for unreferenced data files stopped before its end: the next start scans again');
    }
  }

  /** Never started (the daemon did not come up): releases the snapshot. */
  abandon(): void {
    this.#snapshot.release();
    this.#files.untrackNewFiles();
  }

  /** Ends a running scan at its next break (within a few ms) and waits for it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}
