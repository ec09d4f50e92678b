// Abandoned multipart uploads are aborted (S3_API_STALE_UPLOADS_EXPIRY, checked every
// S3_API_STALE_UPLOADS_CLEANUP_INTERVAL, as MinIO does): their parts' files leave the disk, the
// upload id answers NoSuchUpload, young uploads and completed objects are untouched, uploads
// abandoned while the daemon was down go at start-up, `off` keeps everything, and bad values stop
// the daemon with the variable named. DeleteBucket takes a bucket's unfinished uploads with it.
import t from 'tap';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig } from '../../daemon/config.js';
import { MetaStore } from '../../daemon/meta/store.js';
import { bucketName, startDaemon, testBytes } from '../helpers/daemon.js';
import { countFiles, dataFilePaths } from '../helpers/files.js';
import { bodyBytes, expectS3Error } from '../helpers/s3.js';
import { pollUntil, sleep, waitForLog } from '../helpers/wait.js';

/** Big enough to be a data file (not inline in LMDB). */
const PART = testBytes(300 * 1024, 5);

async function startUpload(s3: S3Client, bucket: string, key: string): Promise<string> {
  return (await startUploadWithPart(s3, bucket, key)).id;
}

async function startUploadWithPart(s3: S3Client, bucket: string, key: string): Promise<{ id: string; etag: string }> {
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: PART }));
  return { id: up.UploadId!, etag: part.ETag! };
}

async function uploadIds(s3: S3Client, bucket: string): Promise<string[]> {
  const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (r.Uploads ?? []).map((u) => u.UploadId!).sort();
}

t.test('uploads older than the expiry are aborted and their parts deleted; young ones stay', async (t) => {
  const d = await startDaemon({ env: { S3_API_STALE_UPLOADS_EXPIRY: '3s', S3_API_STALE_UPLOADS_CLEANUP_INTERVAL: '1s' } });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const s3 = d.s3();
  const bucket = bucketName();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));

  // A completed object made of the same kind of part: expiry must never touch it.
  const done = await startUploadWithPart(s3, bucket, 'completed');
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'completed', UploadId: done.id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: done.etag }] } }));

  const [completedFile] = dataFilePaths(d.dataDir);
  const stale = await startUpload(s3, bucket, 'abandoned');
  t.same(await uploadIds(s3, bucket), [stale], 'the upload is listed');
  t.equal(countFiles(d.dataDir).data, 2, 'two data files: the completed object and the abandoned part');
  const staleFile = dataFilePaths(d.dataDir).find((f) => f !== completedFile)!;

  // Created after the stale one: still young when the stale one expires.
  await sleep(2000);
  const young = await startUpload(s3, bucket, 'young');

  const left = await pollUntil(() => uploadIds(s3, bucket), (ids) => !ids.includes(stale), 6000, 250);
  t.same(left, [young], 'the abandoned upload is gone, the young one stays');
  await waitForLog(d.logs, (l) => l.msg === 'aborted stale multipart uploads' && l.aborted === 1, 5000);
  await expectS3Error(t, s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'abandoned', UploadId: stale, PartNumber: 2, Body: 'x' })), 'NoSuchUpload', 404, 'a part for the aborted upload');
  await expectS3Error(
    t,
    s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'abandoned', UploadId: stale, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"x"' }] } })),
    'NoSuchUpload',
    404,
    'completing the aborted upload',
  );
  // The reaper deletes queued files after its grace: the abandoned part's file goes, the completed
  // object's stays. (The young upload's part follows it a few seconds later, once the young upload
  // expires in turn: on a loaded machine the two deletions can come in one reaper pass.)
  const files = await pollUntil(() => dataFilePaths(d.dataDir), (f) => !f.includes(staleFile), 12_000, 100);
  t.notOk(files.includes(staleFile), 'the abandoned part\'s file is deleted');
  t.ok(files.includes(completedFile!), 'the completed object\'s file remains');
  t.same(await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'completed' }))), PART, 'the completed object reads back');

  // The young upload expires in turn.
  const none = await pollUntil(() => uploadIds(s3, bucket), (ids) => ids.length === 0, 6000, 250);
  t.same(none, [], 'the young upload expires three seconds later');
});

t.test('uploads abandoned while the daemon was down are aborted at start-up; "off" keeps them', async (t) => {
  const d = await startDaemon({ env: { S3_API_STALE_UPLOADS_EXPIRY: 'off' } });
  t.teardown(() => d.stop());
  const s3 = d.s3();
  const bucket = bucketName();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const id = await startUpload(s3, bucket, 'k');
  await d.stop();
  await sleep(1500);
  // Expiry off: a restart keeps it.
  const kept = await startDaemon({ dataDir: d.dataDir, env: { S3_API_STALE_UPLOADS_EXPIRY: 'off' } });
  t.teardown(() => kept.stop());
  t.same(await uploadIds(kept.s3(), bucket), [id], 'with expiry off the upload survives a restart');
  await kept.stop();
  // A 1 s expiry at start-up: aborted before the first request is served.
  const swept = await startDaemon({ dataDir: d.dataDir, env: { S3_API_STALE_UPLOADS_EXPIRY: '1s', S3_API_STALE_UPLOADS_CLEANUP_INTERVAL: '1h' } });
  t.teardown(async () => {
    await swept.stop();
    swept.cleanup();
  });
  // The start-up sweep runs once the daemon serves: the upload goes within moments of it.
  t.same(await pollUntil(() => uploadIds(swept.s3(), bucket), (ids) => ids.length === 0, 10_000, 100), [], 'aborted by the start-up sweep (the next one is an hour away)');
  await swept.waitForLog((l) => l.msg === 'aborted stale multipart uploads' && l.aborted === 1, 5000);
});

t.test('the start-up sweep of many stale uploads runs once the daemon serves, many uploads to a commit', async (t) => {
  // 3,000 uploads of one part each, initiated a month ago, written through the store's own API
  // (as a store that grew for years would hold them). One synced commit per upload, before the
  // daemon listened, kept it from answering for ~1 s per 1,000 uploads on an SSD.
  const N = 3000;
  const d = await startDaemon({ env: { S3_API_STALE_UPLOADS_EXPIRY: 'off' } });
  // Registered at once (stop is a no-op on a daemon that exited): a failure before the stop below
  // left the daemon running, and the file waiting for it until tap's timeout.
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const bucket = bucketName('staleburst');
  await d.s3().send(new CreateBucketCommand({ Bucket: bucket }));
  await d.stop();
  const fill = new MetaStore(join(d.dataDir, '.s3d'));
  const old = Date.now() - 30 * 86400_000;
  const ids = Array.from({ length: N }, () => randomBytes(16).toString('hex'));
  await Promise.all(ids.map((id, i) => fill.createUpload({ v: 1, id, bucket, key: `k/${i}`, initiated: old, headers: {}, userMeta: {} })));
  await Promise.all(ids.map((id) => fill.putPart(id, { v: 1, n: 1, size: 1, stored: 1, etag: 'e', data: { file: randomBytes(16).toString('hex') }, mtime: old })));
  const txnBefore = fill.lastTxnId()!;
  await fill.close();

  const swept = await startDaemon({ dataDir: d.dataDir, env: { S3_API_STALE_UPLOADS_EXPIRY: '1h', S3_API_STALE_UPLOADS_CLEANUP_INTERVAL: '6h' } });
  t.teardown(() => swept.stop());
  await swept.waitForLog((l) => l.msg === 'aborted stale multipart uploads', 60_000);
  const logs = swept.jsonLogs();
  const listening = logs.findIndex((l) => l.msg === 'listening');
  const aborted = logs.findIndex((l) => l.msg === 'aborted stale multipart uploads');
  t.equal(logs[aborted]!.aborted, N, 'every stale upload is aborted');
  t.ok(listening >= 0 && listening < aborted, 'the daemon listened before the sweep ended');
  t.same(await uploadIds(swept.s3(), bucket), [], 'no upload is left');
  await expectS3Error(t, swept.s3().send(new UploadPartCommand({ Bucket: bucket, Key: 'k/0', UploadId: ids[0], PartNumber: 2, Body: 'x' })), 'NoSuchUpload', 404, 'an aborted upload takes no part');
  t.equal(await swept.stop(), 0);

  // Every commit since the fill: the sweep's batches, the reaper's and the clean-shutdown record.
  const after = new MetaStore(join(d.dataDir, '.s3d'), { readOnly: true });
  const commits = after.lastTxnId()! - txnBefore;
  await after.close();
  t.ok(commits < N / 20, `the sweep commits many uploads at a time (${commits} commits for ${N} uploads)`);
});

t.test('durations: MinIO-style values, off, and refusals naming the variable', async (t) => {
  const cli = { dataDir: '/tmp/x', dev: true };
  const cfg = (env: Record<string, string>) => loadConfig(cli, env);
  t.equal(cfg({}).staleUploadsExpiryMs, 24 * 3600_000, 'default 24h, as MinIO');
  t.equal(cfg({}).staleUploadsIntervalMs, 6 * 3600_000, 'default interval 6h');
  t.equal(cfg({ S3_API_STALE_UPLOADS_EXPIRY: '1h30m' }).staleUploadsExpiryMs, 5400_000);
  t.equal(cfg({ S3_API_STALE_UPLOADS_EXPIRY: '7d' }).staleUploadsExpiryMs, 7 * 86400_000);
  t.equal(cfg({ S3_API_STALE_UPLOADS_EXPIRY: '90' }).staleUploadsExpiryMs, 90_000, 'bare numbers are seconds');
  t.equal(cfg({ S3_API_STALE_UPLOADS_EXPIRY: 'OFF' }).staleUploadsExpiryMs, 0);
  for (const [name, value] of [
    ['S3_API_STALE_UPLOADS_EXPIRY', '24 hours'],
    ['S3_API_STALE_UPLOADS_EXPIRY', '-1h'],
    ['S3_API_STALE_UPLOADS_EXPIRY', '1.5h'],
    ['S3_API_STALE_UPLOADS_CLEANUP_INTERVAL', 'off'],
    ['S3_API_STALE_UPLOADS_CLEANUP_INTERVAL', '0s'],
  ] as const) {
    t.throws(() => cfg({ [name]: value }), new RegExp(name), `${name}=${value}`);
  }
});

t.test('DeleteBucket of a bucket with only unfinished uploads deletes it and them, as S3 does', async (t) => {
  const d = await startDaemon({ env: { S3_API_STALE_UPLOADS_EXPIRY: 'off' } });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const s3 = d.s3();
  const bucket = bucketName('rbuploads');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const before = countFiles(d.dataDir).data;
  // An interrupted `aws s3 cp` leaves uploads like these behind; `aws s3 rb --force` then deletes
  // the objects (none) and the bucket.
  const a = await startUploadWithPart(s3, bucket, 'big/a');
  await startUploadWithPart(s3, bucket, 'big/b');
  t.equal(countFiles(d.dataDir).data, before + 2, 'two parts on disk');
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  await expectS3Error(t, s3.send(new HeadBucketCommand({ Bucket: bucket })), 'NotFound', 404, 'the bucket is gone');
  const counts = await pollUntil(() => countFiles(d.dataDir), (c) => c.data === before, 10_000, 100);
  t.equal(counts.data, before, "the parts' files leave the disk");
  // A bucket of the same name starts with no uploads, and the old upload id names nothing.
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  t.same(await uploadIds(s3, bucket), [], 'the new bucket has no uploads');
  await expectS3Error(t, s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'big/a', UploadId: a.id, PartNumber: 2, Body: PART })), 'NoSuchUpload', 404, 'the old upload id is gone');
  // Objects still keep a bucket.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
  await startUploadWithPart(s3, bucket, 'big/c');
  await expectS3Error(t, s3.send(new DeleteBucketCommand({ Bucket: bucket })), 'BucketNotEmpty', 409, 'an object and an upload: BucketNotEmpty');
  t.equal((await uploadIds(s3, bucket)).length, 1, 'and the upload stays');
});
