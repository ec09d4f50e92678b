// Carries out bucket lifecycle rules: every `intervalMs` (and once shortly after start-up), each
// bucket with enabled rules is listed page by page, and the objects whose expiry (lifecycle.ts)
// has come are expired, a page per commit, each only if it is still the version that was judged
// (an object rewritten meanwhile is a new object with its own expiry) and still due when judged again
// in the commit (its tags and the rules as they are then): deleted in an unversioned
// bucket, a delete marker put on top in a versioned one (MetaStore.deleteObjectsIfUnchanged; a key
// whose latest version is already a marker has no current object, is not listed and gets no
// second one). Then, in a versioned bucket (Enabled or Suspended) with NoncurrentVersionExpiration,
// ExpiredObjectDeleteMarker or Expiration rules, every version is listed page by page and the
// versions lifecycle.ts's versionsDue picks per key (noncurrent versions and markers past
// NoncurrentDays, lone latest delete markers) are removed for good, a page per commit, each only if it is still
// the version judged (MetaStore.removeVersionsIfUnchanged); a key of more versions than a page is
// read, judged and removed a page of its versions at a time (lifecycle-versions.ts). Uploads past an
// AbortIncompleteMultipartUpload rule are aborted. Deleted data files take the usual deletion
// queue. The scan yields to the event loop between pages, so requests keep being served.

import type { Logger } from 'pino';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expiryOf, hasVersionActions, uploadExpired, versionsDue, type StoredLifecycleRule } from './lifecycle.js';
import { MetaConflict, type MetaStore, type VersionEntry } from '../meta/store.js';
import { bucketsByPage } from '../meta/bucket-listing.js';
import type { ListedRecord } from '../meta/listed-record.js';
import { clientVersionId, stampOf, versionsFingerprint } from '../meta/versions.js';
import { sameBucket, type BucketRecord } from '../meta/records.js';
import type { WebhookNotifier } from '../notify/webhook.js';
import type { EventListeners } from '../notify/listen.js';
import { bucketEvents, LIFECYCLE_ORIGIN } from './notification.js';
import { Schedule } from '../schedule.js';
import { removeKeyVersions, type KeyJudge } from './lifecycle-versions.js';
import { deleteSlices } from './delete-commits.js';

/**
 * Entries listed, judged and expired or removed per page, so per commit at most: a transaction's
 * callback runs on the event loop, and a commit of 1,000 expirations held every request back
 * ~10 ms on average and up to 130 ms on a loaded machine (each delete reads the record again,
 * judges it and writes a marker or moves the version). 100, as a listing reads to a turn
 * (ops/list.ts): ~1 ms. More commits (each synced) make a pass slower, not the daemon.
 */
const PAGE = 100;
const FIRST_SCAN_DELAY_MS = 5_000;

export interface ScanResult {
  /** Current objects expired (deleted, or hidden under a delete marker in a versioned bucket). */
  expired: number;
  /** Noncurrent versions and delete markers removed for good (versioned buckets). */
  versions: number;
  aborted: number;
}

export class LifecycleScanner {
  private readonly schedule = new Schedule(() => this.guarded(Date.now()));
  /** Totals since start-up (metrics). */
  readonly totals: ScanResult = { expired: 0, versions: 0, aborted: 0 };

  constructor(
    private readonly meta: MetaStore,
    private readonly log: Logger,
    private readonly intervalMs: number,
    /** Expired objects are notified to these targets (s3:ObjectRemoved:*, as MinIO, or S3's s3:LifecycleExpiration:*, ObjectEvents.deleted). */
    private readonly notify?: { readonly notifier: WebhookNotifier; readonly region: string; readonly listeners?: EventListeners },
  ) {}

  start(): void {
    this.schedule.start(this.intervalMs, FIRST_SCAN_DELAY_MS);
  }

  /** One pass now unless one is running (then that one's result). */
  scan(now = Date.now()): Promise<ScanResult> {
    if (this.schedule.stopped) return Promise.resolve({ expired: 0, versions: 0, aborted: 0 });
    return this.schedule.run(() => this.guarded(now));
  }

  /**
   * A pass that logs its failure instead of rejecting. What it did is counted however it ends
   * (finished, stopped, or failed part-way): the objects expired before a failure are gone.
   */
  private async guarded(now: number): Promise<ScanResult> {
    const result: ScanResult = { expired: 0, versions: 0, aborted: 0 };
    try {
      await this.pass(now, result);
    } catch (err) {
      this.log.error({ err, done: result }, 'lifecycle scan failed');
    }
    this.totals.expired += result.expired;
    this.totals.versions += result.versions;
    this.totals.aborted += result.aborted;
    if (result.expired + result.versions + result.aborted > 0) this.log.info(result, 'lifecycle: expired objects deleted, incomplete uploads aborted');
    return result;
  }

  /** Adds what it does to `result` as each commit lands, so a pass cut short still counts it. */
  private async pass(now: number, result: ScanResult): Promise<void> {
    // A page of buckets at a time (bucketsByPage): most have no rules and cost a look each.
    for await (const bucket of bucketsByPage(this.meta)) {
      const rules: StoredLifecycleRule[] | undefined = bucket.lifecycle?.filter((r) => r.enabled);
      if (!rules || rules.length === 0) continue;
      if (rules.some((r) => r.expirationDays !== undefined || r.expirationDate !== undefined)) {
        let after = '';
        for (;;) {
          if (this.schedule.stopped) return;
          const current = this.rulesNow(bucket);
          if (current === undefined) break;
          // Without their data and parts (listed-record.ts): a page of inline objects read whole
          // copied their data out and held the event loop ~20 ms. Judged by metadata alone, and
          // each due object read whole again in the commit that expires it.
          const page = this.meta.listObjectsWithoutData(bucket.name, { prefix: '', delimiter: '', after, maxKeys: PAGE });
          const due = page.contents.filter(({ key, record }) => {
            const e = expiryOf(current, key, record);
            return e !== undefined && e.at <= now;
          });
          // A commit per slice of the due keys: fewer than the page when their records of many
          // parts are more than the store decodes ahead of a commit, or the files they release more
          // than one releases (deleteSlices, MetaStore.deleteCommitEnd): 100 objects of 10,000
          // parts, ~160 MB of records, were decoded whole in one commit.
          for await (const { items: slice } of deleteSlices(this.meta, bucket.name, due)) {
            const events = bucketEvents(this.notify?.notifier, this.notify?.region ?? '', this.meta.getBucket(bucket.name), () => LIFECYCLE_ORIGIN, this.notify?.listeners);
            // Delete, or DeleteMarkerCreated in a versioned bucket; keys rewritten meanwhile send nothing.
            const n = await this.meta.deleteObjectsIfUnchanged(
              bucket.name,
              slice.map(({ key, record }) => ({ key, etag: record.etag, mtime: record.mtime })),
              events?.deleted(slice.map(({ key }) => key), true),
              // Judged again in the commit: tags removed or rules narrowed after this page was read,
              // but committed before the deletes, leave the object alone.
              (b, key, cur) => {
                const e = expiryOf(this.rulesOf(b, bucket), key, cur);
                return e !== undefined && e.at <= now;
              },
            );
            events?.wake();
            result.expired += n;
          }
          if (!page.isTruncated || page.next === undefined) break;
          after = page.next;
          await nextTurn();
        }
      }
      if (bucket.versioning !== undefined && hasVersionActions(rules)) {
        if (!(await this.removeVersions(bucket, now, result))) return;
      }
      if (rules.some((r) => r.abortIncompleteDays !== undefined)) {
        // This bucket's uploads only (its part of the upload index), a page at a time with a turn
        // of the event loop between pages, as objects and versions are read (one read of every
        // upload held requests back: ~1 s per 100,000 uploads).
        let keyMarker = '';
        let uploadIdMarker = '';
        for (;;) {
          const current = this.rulesNow(bucket);
          if (current === undefined) break;
          const page = this.meta.listUploads(bucket.name, { prefix: '', keyMarker, uploadIdMarker, limit: PAGE });
          for (const up of page.uploads) {
            if (this.schedule.stopped) return;
            if (!uploadExpired(current, up, now)) continue;
            try {
              // Judged again in the commit: the aborts of a page take a commit each, and the rules
              // changed or removed meanwhile apply to the rest of the page.
              if (await this.meta.abortUpload(up.id, undefined, (b, u) => uploadExpired(this.rulesOf(b, bucket), u, now))) result.aborted++;
            } catch (err) {
              if (!(err instanceof MetaConflict)) throw err;
            }
          }
          const last = page.uploads[page.uploads.length - 1];
          if (!page.isTruncated || last === undefined) break;
          // The marker upload may be aborted now: the next page starts after it all the same.
          keyMarker = last.key;
          uploadIdMarker = last.id;
          await nextTurn();
        }
      }
    }
  }

  /**
   * Removes the versions of a versioned bucket that versionsDue picks, a page of the version
   * listing per commit. A key's versions are judged together: a page cut in the middle of a key
   * leaves that key to removeKeyVersions (lifecycle-versions.ts: it reads, judges and removes a
   * key of very many versions a page at a time), and the next page starts after it. False when
   * stopped.
   */
  private async removeVersions(b: BucketRecord, now: number, result: ScanResult): Promise<boolean> {
    const bucket = b.name;
    let keyMarker = '';
    for (;;) {
      if (this.schedule.stopped) return false;
      const rules = this.rulesNow(b);
      if (rules === undefined) return true;
      // Without data and parts, as expiries are listed (see pass): the commit reads the key's versions again.
      const page = this.meta.listVersionsWithoutData(bucket, { prefix: '', delimiter: '', keyMarker, versionIdMarker: '', maxKeys: PAGE });
      const byKey = new Map<string, Array<VersionEntry<ListedRecord>>>();
      for (const e of page.entries) {
        const list = byKey.get(e.key);
        if (list === undefined) byKey.set(e.key, [e]);
        else list.push(e);
      }
      const last = page.entries.at(-1)?.key;
      const cut = page.isTruncated && last !== undefined ? last : undefined;
      if (cut !== undefined) byKey.delete(cut);
      const due: Array<{ key: string; versionId: string; vs: number }> = [];
      const judged = new Map<string, string>();
      for (const [key, versions] of byKey) {
        const picked = versionsDue(rules, key, versions, now);
        if (picked.length > 0) judged.set(key, versionsFingerprint(versions));
        for (const rec of picked) due.push({ key, versionId: clientVersionId(rec), vs: stampOf(rec) });
      }
      const judge = { meta: this.meta, bucket, rulesNow: () => this.rulesNow(b), rulesOf: (cur: BucketRecord) => this.rulesOf(cur, b), events: (keys: readonly string[]) => this.versionEvents(bucket, keys), stopped: () => this.schedule.stopped };
      // A commit per slice of the due versions, a key's all in one (they were judged together, and
      // the commit judges the key again as a whole): fewer keys than the page when their records
      // of many parts are more than the store decodes ahead of a commit, or decodes in one, or
      // their files more than one releases (deleteSlices, MetaStore.deleteCommitEnd), as expiry's,
      // never between two versions of one key (wholeKeys). A key whose versions alone are more is removed
      // a page of them at a time, each cut so (removeKeyVersions), as a key cut by the page is.
      // Cut only by the page, 50 keys of 1,500 parts (a version and the current object each)
      // had 244,500 parts decoded in the commit's one turn.
      for await (const { items: slice, oneKeyTooLarge } of deleteSlices(this.meta, bucket, due, { wholeKeys: true })) {
        if (oneKeyTooLarge) {
          await nextTurn();
          const r = await removeKeyVersions(judge, slice[0]!.key, now);
          result.versions += r.removed;
          if (r.stopped) return false;
          continue;
        }
        // A key written or pruned since it was judged keeps its versions until the next scan.
        const events = this.versionEvents(bucket, slice.map((d) => d.key));
        // Judged again in the commit, as expiries are (see pass).
        const stillDue = (inCommit: BucketRecord, key: string, versions: () => Array<VersionEntry<ListedRecord>>): ReadonlySet<number> => new Set(versionsDue(this.rulesOf(inCommit, b), key, versions(), now).map(stampOf));
        result.versions += await this.meta.removeVersionsIfUnchanged(bucket, slice, judged, events.inTxn, stillDue);
        events.wake();
        if (this.schedule.stopped) return false;
      }
      if (cut !== undefined) {
        await nextTurn();
        const r = await removeKeyVersions(judge, cut, now);
        result.versions += r.removed;
        if (r.stopped) return false;
      }
      if (!page.isTruncated || last === undefined) return true;
      keyMarker = last;
      await nextTurn();
    }
  }

  /** Notifications of versions removed in one commit (s3:ObjectRemoved:Delete or s3:LifecycleExpiration:Delete). */
  private versionEvents(bucket: string, keys: readonly string[]): ReturnType<KeyJudge['events']> {
    const events = bucketEvents(this.notify?.notifier, this.notify?.region ?? '', this.meta.getBucket(bucket), () => LIFECYCLE_ORIGIN, this.notify?.listeners);
    return { inTxn: events?.deleted(keys, true), wake: () => events?.wake() };
  }

  /**
   * The bucket's enabled rules as they are now (read with each page: rules deleted or changed
   * during a pass apply from the next page), if it is still the bucket the pass started with: a
   * bucket deleted and created again under its name meanwhile is another, never judged by the
   * old one's rules (its objects were expired by them).
   */
  private rulesNow(seen: BucketRecord): StoredLifecycleRule[] | undefined {
    const b = this.meta.getBucket(seen.name);
    return b === undefined ? undefined : this.rulesOf(b, seen);
  }

  /** The enabled rules of bucket record `b`, if it is still the bucket `seen` (see rulesNow). */
  private rulesOf(b: BucketRecord, seen: BucketRecord): StoredLifecycleRule[] | undefined {
    if (!sameBucket(b, seen)) return undefined;
    const rules = b.lifecycle?.filter((r) => r.enabled);
    return rules !== undefined && rules.length > 0 ? rules : undefined;
  }

  stop(): Promise<void> {
    return this.schedule.stop();
  }
}
