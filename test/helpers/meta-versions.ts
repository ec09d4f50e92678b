// MetaStore fixtures for the unit tests of bucket versioning (test/unit/daemon/meta/versioning-*):
// a store over a real LMDB in a temp dir, object records, a bucket's versioning state, and
// versions as text.

import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore, type VersionEntry } from '../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../daemon/meta/records.js';
import { clientVersionId } from '../../daemon/meta/versions.js';

/** An object record with one inline byte, `over` on top. */
export function obj(over: Partial<ObjectRecord> = {}): ObjectRecord {
  return { v: RECORD_VERSION, size: 1, etag: 'e', mtime: Date.now(), headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1, ...over };
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

/** One listing entry as text: key, version id, latest or not, marker or object. */
export function show(e: VersionEntry): string {
  return `${e.key}|${clientVersionId(e.record)}|${e.isLatest ? 'L' : '-'}|${e.record.deleteMarker ? 'M' : 'O'}`;
}
