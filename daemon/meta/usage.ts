// Per-bucket usage for the metrics (s3d_bucket_*): current objects and their bytes, noncurrent
// versions and theirs, delete markers; and per KMS key the object versions and multipart uploads
// in progress whose keys it seals (s3d_kms_key_objects: whether a key rotated away from, with
// UpdateObjectEncryption, still protects anything). Added up by a scan of the metadata store every `intervalMs`
// (S3_USAGE_SCAN_INTERVAL) and shortly after start-up: each bucket's records are read PAGE at a
// time, the event loop served between pages (a page of 1,000 held every request back ~5 ms, up
// to 40 ms on a loaded machine), so the figures are those of the last complete scan. Every page
// comes from one read transaction taken when the pass starts (MetaStore.scanSnapshot): a key
// overwritten between two pages moves its current version to the versions table, and read from
// the live store it was counted twice (current, then noncurrent) and its new version not at all;
// an upload completed meanwhile likewise. The figures are the store's as it was at one instant, the
// pass's start (a bucket created since has none yet, one deleted since goes at the next). The
// snapshot keeps LMDB from reusing the pages rewritten during the pass (~4 s per million records):
// the map grows by as much, as during the start-up scan (storage/orphan-scan.ts). Counting in every
// commit instead would put work on every write for a figure operators read every few minutes;
// MinIO's bucket usage metrics come from a scan too.
import type { Logger } from 'pino';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MetaStore } from './store.js';
import { bucketsByPage } from './bucket-listing.js';
import { Schedule } from '../schedule.js';

export interface BucketUsage {
  /** Current objects (not delete markers) and their plaintext bytes. */
  objects: number;
  bytes: number;
  /** Noncurrent versions (versioned buckets) and their plaintext bytes. */
  versions: number;
  versionBytes: number;
  /** Delete markers, current or not. */
  deleteMarkers: number;
}

/** Records read between two turns of the event loop, as a listing does (ops/list.ts). */
const PAGE = 100;
const FIRST_SCAN_DELAY_MS = 5_000;

export class UsageScanner {
  /** Usage by bucket as of the last complete scan. */
  usage: ReadonlyMap<string, BucketUsage> = new Map();
  /** Object versions and uploads in progress by the KMS key that seals their object key, as of the last complete scan. */
  kmsKeys: ReadonlyMap<string, number> = new Map();
  /** When the last complete scan ended (ms since 1970) and how long it took. */
  lastScan: { readonly endedAt: number; readonly seconds: number } | undefined;
  private readonly schedule = new Schedule(() => this.pass().catch((err: unknown) => this.log.error({ err }, 'bucket usage scan failed')));

  constructor(
    private readonly meta: MetaStore,
    private readonly log: Logger,
    /** 0: never (no bucket usage metrics). */
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.intervalMs > 0) this.schedule.start(this.intervalMs, FIRST_SCAN_DELAY_MS);
  }

  /** One pass now unless one is running (then that one). */
  scan(): Promise<void> {
    return this.schedule.run();
  }

  stop(): Promise<void> {
    return this.schedule.stop();
  }

  private async pass(): Promise<void> {
    const started = performance.now();
    const out = new Map<string, BucketUsage>();
    const keys = new Map<string, number>();
    const sealedBy = (name: string | undefined): void => void (name !== undefined && keys.set(name, (keys.get(name) ?? 0) + 1));
    const snapshot = this.meta.scanSnapshot();
    try {
      // A page of buckets at a time (bucketsByPage): an empty bucket has no page to wait after.
      for await (const { name } of bucketsByPage(this.meta)) {
        const u: BucketUsage = { objects: 0, bytes: 0, versions: 0, versionBytes: 0, deleteMarkers: 0 };
        for (const table of ['objects', 'versions'] as const) {
          let after: Buffer | undefined;
          for (;;) {
            if (this.schedule.stopped) return;
            const page = snapshot.bucketRecords(table, name, after, PAGE);
            for (const { value } of page) {
              sealedBy(value.sse?.kmsKey);
              if (value.deleteMarker) u.deleteMarkers++;
              else if (table === 'objects') (u.objects++, (u.bytes += value.size));
              else (u.versions++, (u.versionBytes += value.size));
            }
            if (page.length < PAGE) break;
            after = page[page.length - 1]!.key;
            await nextTurn();
          }
        }
        out.set(name, u);
        await nextTurn();
      }
      for (let after: string | undefined = ''; after !== undefined; ) {
        if (this.schedule.stopped) return;
        const page = snapshot.uploads(after, PAGE);
        for (const u of page.uploads) sealedBy(u.sse?.kmsKey);
        after = page.next;
        await nextTurn();
      }
    } finally {
      snapshot.done();
    }
    this.usage = out;
    this.kmsKeys = keys;
    this.lastScan = { endedAt: Date.now(), seconds: (performance.now() - started) / 1000 };
  }
}
