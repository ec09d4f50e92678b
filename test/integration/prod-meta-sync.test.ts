// A metadata commit is visible only once it is durable, and a commit whose sync fails is not in
// effect: strace, attached to the running daemon, delays or fails the fdatasync of LMDB's data
// file. lmdb-js's default (overlappingSync) made commits visible before their fdatasync: other
// clients read objects and deletes a power loss would undo, and after a failed fdatasync an
// overwrite answered 500 stayed in effect while its new data file was discarded and the old one
// reaped: the object was lost. Skipped where strace is missing or may not attach (ptrace).

import t from 'tap';
import { join } from 'node:path';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, ListPartsCommand, PutBucketVersioningCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { startDaemon, s3Client, testBytes } from '../helpers/daemon.js';
import { inspectDataDir } from '../helpers/files.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { sleep } from '../helpers/wait.js';
import { NO_STRACE, detach, tamper } from '../helpers/strace.js';

t.test('an overwrite whose metadata sync fails is refused and changes nothing', { skip: NO_STRACE }, async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.cleanup());
  const s3 = d.s3();
  const once = s3Client(d.endpoint, undefined, true, { maxAttempts: 1 });
  const bucket = await createBucket(s3, 'metasync');
  const before = testBytes(300_000, 1); // above the inline threshold: a data file
  const after = testBytes(300_000, 2);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: before }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: 'small before' }));

  const strace = await tamper(d.proc.pid!, join(d.dataDir, '.s3d', 'meta', 'data.mdb'), 'error=EIO');
  try {
    const big = await once.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: after })).then(() => 200, (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    t.equal(big, 500, 'the overwrite is refused');
    const small = await once.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: 'small after' })).then(() => 200, (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    t.equal(small, 500, 'the inline overwrite is refused');
    t.ok((await getBytes(s3, { Bucket: bucket, Key: 'obj' })).equals(before), 'while the disk fails, readers see the old object');
  } finally {
    await detach(strace);
  }
  // Past the reaper's grace period (5 s): a refused write released nothing.
  await sleep(6500);
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'obj' })).equals(before), 'the old object is whole after the grace period');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'small' })).toString(), 'small before');
  // The disk is back: writes work again.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: after }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'obj' })).equals(after), 'a write after the failure succeeds');
  t.equal(await d.stop(), 0);
  const state = await inspectDataDir(d.dataDir);
  t.same(state.missing, [], 'every record has its data file');
});

t.test('a write is not visible to other clients before its metadata commit is durable', { skip: NO_STRACE }, async (t) => {
  const d = await startDaemon();
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'metavis');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'gone', Body: 'to be deleted' }));
  const strace = await tamper(d.proc.pid!, join(d.dataDir, '.s3d', 'meta', 'data.mdb'), 'delay_exit=3000000');
  let acknowledged = 0;
  try {
    const writes = [
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'new', Body: 'written' })).then(() => acknowledged++),
      s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'gone' })).then(() => acknowledged++),
    ];
    await sleep(1000);
    const seen = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'new' })).then(() => 'visible', (e: { name?: string }) => e.name);
    const still = (await getBytes(s3, { Bucket: bucket, Key: 'gone' })).toString();
    t.equal(acknowledged, 0, 'the PUT and the DELETE wait for their sync');
    t.equal(seen, 'NotFound', 'another client does not see the new object before it is durable');
    t.equal(still, 'to be deleted', 'nor the delete');
    await Promise.all(writes);
  } finally {
    await detach(strace);
  }
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'new' })).toString(), 'written', 'visible once acknowledged');
  t.equal(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'gone' })).then(() => 'visible', (e: { name?: string }) => e.name), 'NotFound', 'deleted once acknowledged');
});

// A completion's object record is encoded before its transaction and written there as those
// bytes (daemon/meta/record-encoding.ts): a commit whose sync fails leaves the upload in
// progress, the key as it was, and every part's file; completed again, the object is whole.
t.test('a CompleteMultipartUpload whose metadata sync fails is refused; the upload completes again', { skip: NO_STRACE }, async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.cleanup());
  const s3 = d.s3();
  const once = s3Client(d.endpoint, undefined, true, { maxAttempts: 1 });
  const bucket = await createBucket(s3, 'metasyncmp');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const before = testBytes(1000, 3);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'mp', Body: before }));
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));
  const bodies = [testBytes(5 * 1024 * 1024, 4), testBytes(5 * 1024 * 1024, 5), testBytes(300_000, 6)];
  const parts = [];
  for (const [i, Body] of bodies.entries()) {
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId, PartNumber: i + 1, Body }));
    parts.push({ PartNumber: i + 1, ETag });
  }
  const complete = new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId, MultipartUpload: { Parts: parts } });
  const strace = await tamper(d.proc.pid!, join(d.dataDir, '.s3d', 'meta', 'data.mdb'), 'error=EIO');
  try {
    const status = await once.send(complete).then(() => 200, (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    t.equal(status, 500, 'the completion is refused');
    t.ok((await getBytes(s3, { Bucket: bucket, Key: 'mp' })).equals(before), 'while the disk fails, readers see the object before');
  } finally {
    await detach(strace);
  }
  // Past the reaper's grace period (5 s): the refused completion released nothing.
  await sleep(6500);
  const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'mp', UploadId }));
  t.same(listed.Parts?.map((p) => p.PartNumber), [1, 2, 3], 'the upload is in progress with its parts');
  await s3.send(complete);
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'mp' })).equals(Buffer.concat(bodies)), 'completed again: the object is whole');
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'mp' }));
  t.equal(versions.Versions?.length, 2, 'the version before and the completed one');
  t.equal(await d.stop(), 0);
  const state = await inspectDataDir(d.dataDir);
  t.same(state.missing, [], 'every record has its data file');
});
