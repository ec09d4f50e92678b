// Lifecycle's noncurrent expiration of one key of very many versions (more than a listing page:
// a key overwritten every minute has half a million a year). Judged whole and removed in one
// commit, such a key held the event loop for seconds (every request waited: 1.86 s for 50,000
// versions) and made one huge transaction. Here its versions are read a page at a time, newest
// first, with a turn of the event loop between pages, and each page's due versions are removed
// in a commit of their own. The judgement is versionsDue's on the whole key as it was when the
// key's first page was read: a version's successor, how many versions are newer than it and, per
// rule, how many of those the rule selects and the pass keeps (NewerNoncurrentVersions) are
// carried from page to page, so a version is judged by its successor as it was even when this
// pass has removed that successor since (as one commit for the whole key judged it). The counts
// are per rule: should the rules change between pages, or before a page's commit, the rest of
// the key is left to the next scan.
//
// The versions are read without their data and parts (listed-record.ts: skipped, not decoded),
// in the commits too: lifecycle judges by metadata, and a page of 100 versions of 500 parts read
// whole was 50,000 parts decoded in one turn, and again in the commit that judged it. A page
// whose due versions' records of many parts are more than the store decodes ahead of a commit,
// or decodes in one, or whose files are more than one releases (MetaStore.deleteCommitEnd: 5,000,
// ten versions of 500 parts), is cut short before the first that does not fit, and the next page
// starts below it.
//
// Each commit judges its page again (its versions' tags and locks, and the rules, as they are
// then), and leaves the rest of the key to the next scan if the key changed otherwise than by
// this pass's removals: written since (its newest version is another), or pruned (fewer versions
// above the page than the judgement's count less this pass's removals, or the page's versions
// not all there).

import { setImmediate as nextTurn } from 'node:timers/promises';
import { countKept, keptCounts, loneMarkerDue, noncurrentDue, type StoredLifecycleRule } from './lifecycle.js';
import type { MetaStore, VersionEntry } from '../meta/store.js';
import type { BucketRecord, VersionedDelete } from '../meta/records.js';
import type { ListedRecord } from '../meta/listed-record.js';
import { clientVersionId, stampOf } from '../meta/versions.js';

/** Versions read, judged and removed per page (so per commit at most): the scan's page (lifecycle-scanner.ts PAGE). */
export const KEY_PAGE = 100;

const NONE: ReadonlySet<number> = new Set();

/** What the scan gives the judge of one key. */
export interface KeyJudge {
  readonly meta: MetaStore;
  readonly bucket: string;
  /** The bucket's enabled rules now; undefined: stop (the bucket is gone, or its rules). */
  rulesNow(): StoredLifecycleRule[] | undefined;
  /** In a commit: the enabled rules of bucket record `b`, if it is still the bucket judged. */
  rulesOf(b: BucketRecord): StoredLifecycleRule[] | undefined;
  /** Notifications of one commit's removals: the hook for it, and what to do after. */
  events(keys: readonly string[]): { inTxn: ((results: ReadonlyArray<VersionedDelete | undefined>) => void) | undefined; wake(): void };
  stopped(): boolean;
}

/** One page of the key as judged: its versions, the one above them, and how many are above. */
interface Page {
  readonly versions: Array<VersionEntry<ListedRecord>>;
  readonly successor: ListedRecord | undefined;
  /** How many versions of the key were above the page when the key was first read. */
  readonly index: number;
  /** The rules `kept` counts for, and the counts (keptCounts) over the versions above the page. */
  readonly rules: readonly StoredLifecycleRule[];
  readonly kept: readonly number[];
}

/** Whether two readings of the bucket's rules are the same rules (the kept counts are per rule). */
function sameRules(a: readonly StoredLifecycleRule[], b: readonly StoredLifecycleRule[]): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The versions of a page due under the page's rules (see versionsDue; the latest version is not
 * judged here), and the kept counts below the page.
 */
function dueIn(key: string, page: Page, versions: ReadonlyArray<VersionEntry<ListedRecord>>, now: number): { due: ListedRecord[]; kept: number[] } {
  const due: ListedRecord[] = [];
  const kept = [...page.kept];
  versions.forEach((v, i) => {
    const at = page.index + i;
    if (at === 0) return;
    const successor = i === 0 ? page.successor! : versions[i - 1]!.record;
    if (noncurrentDue(page.rules, key, v.record, successor, kept, now)) due.push(v.record);
    else countKept(page.rules, key, v.record, kept);
  });
  return { due, kept };
}

/**
 * Removes the versions of `key` lifecycle's versionsDue picks, a page per commit. Returns how
 * many went, and whether the scan was stopped meanwhile.
 */
export async function removeKeyVersions(j: KeyJudge, key: string, now: number): Promise<{ removed: number; stopped: boolean }> {
  const { meta, bucket } = j;
  let versions = meta.keyVersionsPageWithoutData(bucket, key, { limit: KEY_PAGE });
  const head = versions[0]?.record;
  if (head === undefined) return { removed: 0, stopped: false };
  const headStamp = stampOf(head);
  const first = j.rulesNow();
  if (first === undefined) return { removed: 0, stopped: false };
  let page: Page = { versions, successor: undefined, index: 0, rules: first, kept: keptCounts(first) };
  let removed = 0;
  let everyOneDue = true;
  for (;;) {
    const rules = j.rulesNow();
    if (rules === undefined || !sameRules(rules, page.rules)) return { removed, stopped: false };
    let { due, kept } = dueIn(key, page, page.versions, now);
    // Whether the page was cut short (the key has versions past it, whatever was read).
    let cutShort = false;
    if (due.length > 0) {
      const items = due.map((rec) => ({ key, versionId: clientVersionId(rec) }));
      const end = await meta.deleteCommitEnd(bucket, items, 0, items.length);
      if (end < due.length) {
        // The page ends before the first due version that does not fit: judged again from there.
        const first = stampOf(due[end]!);
        page = { ...page, versions: page.versions.slice(0, page.versions.findIndex((v) => stampOf(v.record) === first)) };
        cutShort = true;
        ({ due, kept } = dueIn(key, page, page.versions, now));
      }
    }
    if (due.length < page.versions.length - (page.index === 0 ? 1 : 0)) everyOneDue = false;
    if (due.length > 0) {
      const n = await commit(j, key, page, due, headStamp, removed, now);
      if (n === undefined) return { removed, stopped: false };
      removed += n;
    }
    if (!cutShort && page.versions.length < KEY_PAGE) break;
    const last = page.versions[page.versions.length - 1]!.record;
    await nextTurn();
    if (j.stopped()) return { removed, stopped: true };
    versions = meta.keyVersionsPageWithoutData(bucket, key, { below: stampOf(last), limit: KEY_PAGE });
    if (versions.length === 0) break;
    page = { versions, successor: last, index: page.index + page.versions.length, rules: page.rules, kept };
  }
  // The latest version, a delete marker, goes last, once nothing is left under it.
  const rules = j.rulesNow();
  if (everyOneDue && rules !== undefined && loneMarkerDue(rules, key, head, now)) {
    const still = (b: BucketRecord): ReadonlySet<number> => {
      const inCommit = j.rulesOf(b);
      const top = meta.keyVersionsPageWithoutData(bucket, key, { limit: 1 })[0]?.record;
      return inCommit !== undefined && top !== undefined && stampOf(top) === headStamp && loneMarkerDue(inCommit, key, top, now) ? new Set([headStamp]) : NONE;
    };
    const events = j.events([key]);
    removed += await meta.removeVersionsIfUnchanged(bucket, [{ key, versionId: clientVersionId(head), vs: headStamp }], undefined, events.inTxn, still);
    events.wake();
  }
  return { removed, stopped: false };
}

/**
 * Removes a page's `due` versions in one commit, each still due there; undefined when the key
 * changed otherwise than by this pass's removals (`removedAbove` of them, all above the page).
 */
async function commit(j: KeyJudge, key: string, page: Page, due: readonly ListedRecord[], headStamp: number, removedAbove: number, now: number): Promise<number | undefined> {
  const { meta, bucket } = j;
  let changed = false;
  const first = stampOf(page.versions[0]!.record);
  const still = (b: BucketRecord): ReadonlySet<number> => {
    const rules = j.rulesOf(b);
    if (rules === undefined) return NONE;
    if (!sameRules(rules, page.rules)) {
      changed = true;
      return NONE;
    }
    const top = meta.keyVersionsPageWithoutData(bucket, key, { limit: 1 })[0]?.record;
    // Counted by LMDB without reading them: what is above the page is mostly kept versions.
    const above = page.index === 0 ? 0 : meta.countNewerVersions(bucket, key, first);
    const versions = page.index === 0 ? meta.keyVersionsPageWithoutData(bucket, key, { limit: page.versions.length }) : meta.keyVersionsPageWithoutData(bucket, key, { below: stampOf(page.successor!), limit: page.versions.length });
    const same = versions.length === page.versions.length && versions.every((v, i) => stampOf(v.record) === stampOf(page.versions[i]!.record));
    if (top === undefined || stampOf(top) !== headStamp || above !== page.index - removedAbove || !same) {
      changed = true;
      return NONE;
    }
    return new Set(dueIn(key, page, versions, now).due.map(stampOf));
  };
  const events = j.events(due.map(() => key));
  const n = await meta.removeVersionsIfUnchanged(bucket, due.map((rec) => ({ key, versionId: clientVersionId(rec), vs: stampOf(rec) })), undefined, events.inTxn, still);
  events.wake();
  return changed ? undefined : n;
}
