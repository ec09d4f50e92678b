// MetaStore at scale: work a request does must stay bounded by what it changes or returns, not
// grow with data it merely passes (many uploads of a bucket, many uploads of one key). Proved by a
// visible effect of the bound (the event loop served between batches), not by timing.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord, type UploadRecord } from '../../../../daemon/meta/records.js';
import { conflictCode } from '../../../helpers/meta-versions.js';

function openStore(t: Test): MetaStore {
  const dir = mkdtempSync(join(tmpdir(), 's3d-meta-scale-'));
  const m = new MetaStore(dir);
  t.teardown(async () => {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return m;
}

/** An upload with an id as s3d makes them (ops/multipart.ts newUploadId): its initiation time in hex first. */
function upload(bucket: string, key: string, initiated: number, tail = 'A'.repeat(24)): UploadRecord {
  const id = initiated.toString(16).padStart(12, '0') + tail;
  return { v: RECORD_VERSION, id, bucket, key, initiated, headers: {}, userMeta: {} };
}

function obj(): ObjectRecord {
  return { v: RECORD_VERSION, size: 1, etag: 'e', mtime: 1, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1 };
}

/** `n` part-less uploads of bucket/key, created many to a commit. */
async function manyUploads(m: MetaStore, bucket: string, key: string, n: number): Promise<UploadRecord[]> {
  const ups = Array.from({ length: n }, (_, i) => upload(bucket, key, i + 1));
  for (let i = 0; i < n; i += 2000) await Promise.all(ups.slice(i, i + 2000).map((u) => m.createUpload(u)));
  return ups;
}

t.test('deleteBucket removes many uploads in bounded transactions, serving the event loop between them', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const ups = await manyUploads(m, 'b', 'k', 5000);
  // Polled on every turn of the event loop the deletion leaves: in one transaction for every
  // upload (~3.6 s of a blocked event loop per 100,000) no turn ever saw the bucket with some of
  // its uploads gone.
  let turns = 0;
  let midway = 0;
  let polling = true;
  const poll = (): void => {
    if (!polling) return;
    turns++;
    if (m.getBucket('b') !== undefined && m.getUpload(ups[0]!.id) === undefined) midway++;
    setImmediate(poll);
  };
  setImmediate(poll);
  await m.deleteBucket('b');
  polling = false;
  t.equal(m.getBucket('b'), undefined, 'the bucket is deleted');
  t.equal(m.getUpload(ups[ups.length - 1]!.id), undefined, 'its last upload with it');
  t.same(m.listUploads('b', { prefix: '', keyMarker: '', uploadIdMarker: '', limit: 10 }).uploads, [], 'no upload left');
  t.ok(midway >= 2, `the event loop turned between the batches (${midway} of ${turns} turns saw the bucket partly emptied)`);
});

t.test('deleteBucket with many uploads still refuses a bucket with objects, and one that gains an object meanwhile', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const ups = await manyUploads(m, 'b', 'k', 3000);
  await m.putObject('b', 'o', obj());
  t.equal(await conflictCode(m.deleteBucket('b')), 'BucketNotEmpty');
  t.ok(m.getUpload(ups[0]!.id), 'a bucket found not empty keeps its uploads');
  await m.deleteObject('b', 'o');
  // An object written while the uploads are being removed: BucketNotEmpty, the bucket stays.
  const deleting = conflictCode(m.deleteBucket('b'));
  const writing = m.putObject('b', 'late', obj());
  t.equal(await deleting, 'BucketNotEmpty');
  await writing;
  t.ok(m.getBucket('b'), 'the bucket stays');
  t.ok(m.getObject('b', 'late'), 'with its object');
});

t.test('an upload-id marker since aborted: the page starts at its place in the index, the key\'s earlier uploads not read', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const ups = await manyUploads(m, 'b', 'k', 20_000);
  // Two more initiated in the same millisecond as the marked one, on either side of its id.
  const marked = ups[15_000]!;
  const before = upload('b', 'k', marked.initiated, '0'.repeat(24));
  const after = upload('b', 'k', marked.initiated, 'z'.repeat(24));
  await m.createUpload(before);
  await m.createUpload(after);
  await m.abortUpload(marked.id);
  const read = m.uploadEntriesRead;
  const page = m.listUploads('b', { prefix: '', keyMarker: 'k', uploadIdMarker: marked.id, limit: 3 });
  t.same(page.uploads.map((u) => u.id), [after.id, ups[15_001]!.id, ups[15_002]!.id], 'the uploads after the marked one, as if it were still there');
  t.equal(page.isTruncated, true);
  t.ok(m.uploadEntriesRead - read <= 4, `a page of 3 reads a few uploads, not the 15,000 before the marker (${m.uploadEntriesRead - read})`);
});
