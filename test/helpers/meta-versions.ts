// MetaStore fixtures for the tests of bucket versioning (test/unit/daemon/meta/versioning-*, and
// s3-versioning-null.test.ts): a store over a real LMDB in a temp dir, object records, a bucket's
// versioning state, versions as text, and a store as an earlier version left it.

import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { MetaConflict, MetaStore, type VersionEntry } from '../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../daemon/meta/records.js';
import { clientVersionId } from '../../daemon/meta/versions.js';

/** An object record with one inline byte, `over` on top. */
export function obj(over: Partial<ObjectRecord> = {}): ObjectRecord {
  return { v: RECORD_VERSION, size: 1, etag: 'e', mtime: Date.now(), headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1, ...over };
}

/** What `p` comes to: 'ok', or the code of the MetaConflict it rejects with (any other error is thrown). */
export async function conflictCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof MetaConflict) return err.code;
    throw err;
  }
}

/** A MetaStore in a temp dir, closed and removed at the end of `t`. */
export function openStore(t: Test): MetaStore {
  const dir = mkdtempSync(join(tmpdir(), 's3d-versioning-'));
  const m = new MetaStore(dir);
  t.teardown(async () => {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return m;
}

/** Creates `bucket` when needed and sets its versioning state. */
export async function versioned(m: MetaStore, bucket: string, state: 'Enabled' | 'Suspended' | undefined = 'Enabled'): Promise<void> {
  if (m.getBucket(bucket) === undefined) await m.createBucket(bucket);
  if (state !== undefined) await m.updateBucket(bucket, (b) => ({ ...b, versioning: state }));
}

/** Version ids (`null` for the null version) of bucket/key, newest first. */
export function ids(m: MetaStore, bucket: string, key: string): string[] {
  return m.keyVersions(bucket, key).map((v) => clientVersionId(v.record));
}

/** The Last-Modified (mtime) of each version of bucket/key, newest first. */
export function keyVersionDates(m: MetaStore, bucket: string, key: string): number[] {
  return m.keyVersions(bucket, key).map((v) => v.record.mtime);
}

/** One listing entry as text: key, version id, latest or not, marker or object. */
export function show(e: VersionEntry): string {
  return `${e.key}|${clientVersionId(e.record)}|${e.isLatest ? 'L' : '-'}|${e.record.deleteMarker ? 'M' : 'O'}`;
}

/**
 * Makes the store in `dir` (MetaStore's directory: `.s3d` of a data dir) look as an earlier
 * version left it: no null-version index ('no index'), or one that version did not keep (it ran
 * on the store and stopped cleanly: a new clean-shutdown token beside this version's mark), or
 * ('crashed writer') one it wrote past after this version's clean stop and then crashed: the
 * index is out of date while the token and the mark are as this version left them (only LMDB's
 * transaction id has moved, which the clean-shutdown marker names).
 */
export async function forgetNullIndex(dir: string, how: 'no index' | 'stale index' | 'crashed writer'): Promise<void> {
  const root = open({ path: join(dir, 'meta'), maxDbs: 16 });
  const index = root.openDB<number, Buffer>({ name: 'null-versions', keyEncoding: 'binary' });
  const state = root.openDB<string, string>({ name: 'state' });
  root.transactionSync(() => {
    for (const k of [...index.getKeys()].map((k) => Buffer.from(k))) void index.remove(k);
    if (how === 'no index') void state.remove('null-version-index');
    else if (how === 'stale index') void state.put('clean-shutdown', 'an earlier version stopped cleanly');
  });
  await root.close();
}

/**
 * Makes the store in `dir` look as an earlier version that keeps the null-version index, but not
 * the places of gone null versions, left it at a clean stop: its token and the index's mark in one
 * commit (state.ts recordShutdownToken before the places were kept). Returns the clean-shutdown
 * marker that stop leaves (cli.ts), for the next MetaStore.
 */
export async function indexKeeperStop(dir: string, token: string): Promise<{ token: string; txnId: number }> {
  const root = open({ path: join(dir, 'meta'), maxDbs: 16 });
  const state = root.openDB<string, string>({ name: 'state' });
  root.transactionSync(() => {
    void state.put('clean-shutdown', token);
    void state.put('null-version-index', token);
  });
  const txnId = (root.getStats() as { lastTxnId: number }).lastTxnId;
  await root.close();
  return { token, txnId };
}
