// Per-bucket usage metrics (S3_USAGE_SCAN_INTERVAL, meta/usage.ts) against the real daemon: after
// a scan, s3d_bucket_objects/_object_bytes count each bucket's current objects and their
// plaintext bytes (plain, SSE-S3 and multipart objects alike, and past one 1,000-record page of
// the scan), s3d_bucket_noncurrent_versions/_bytes and s3d_bucket_delete_markers a versioned
// bucket's history; the figures follow the writes and deletes at the next scan, a deleted bucket's
// series go, and S3_USAGE_SCAN_INTERVAL=off gives none; the interval is checked at start-up.

import t from 'tap';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand, PutBucketVersioningCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { runS3d, startDaemon, testBytes } from '../helpers/daemon.js';
import { metricSample, nextUsageScan, scrape } from '../helpers/kes.js';
import { createBucket, putMany } from '../helpers/s3.js';

const MiB = 1024 * 1024;
const d = await startDaemon({ env: { S3_USAGE_SCAN_INTERVAL: '1s' } });
t.teardown(() => d.stop());
const s3 = d.s3();

const nextScan = (): Promise<string> => nextUsageScan(d.endpoint);
const usage = (text: string, bucket: string): Record<string, number | undefined> => ({
  objects: metricSample(text, 's3d_bucket_objects', { bucket }),
  bytes: metricSample(text, 's3d_bucket_object_bytes', { bucket }),
  versions: metricSample(text, 's3d_bucket_noncurrent_versions', { bucket }),
  versionBytes: metricSample(text, 's3d_bucket_noncurrent_bytes', { bucket }),
  markers: metricSample(text, 's3d_bucket_delete_markers', { bucket }),
});

t.test('current objects and bytes, whatever their encryption or number of parts', async (t) => {
  const Bucket = await createBucket(s3, 'usage');
  await s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: testBytes(1000, 1) }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'sse', Body: testBytes(700_000, 2), ServerSideEncryption: 'AES256' }));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp' }));
  const p1 = await s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: testBytes(5 * MiB, 3) }));
  const p2 = await s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 2, Body: testBytes(1234, 4) }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'mp', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }));
  // An upload in progress is no object yet.
  await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'open' }));
  const empty = await createBucket(s3, 'usage-empty');
  let text = await nextScan();
  t.same(usage(text, Bucket), { objects: 3, bytes: 1000 + 700_000 + 5 * MiB + 1234, versions: 0, versionBytes: 0, markers: 0 }, 'three objects and their plaintext bytes');
  t.same(usage(text, empty), { objects: 0, bytes: 0, versions: 0, versionBytes: 0, markers: 0 }, 'an empty bucket has its series, at 0');
  t.ok((metricSample(text, 's3d_usage_scan_duration_seconds') ?? -1) >= 0, 'the scan\u2019s duration is reported');

  await s3.send(new DeleteObjectCommand({ Bucket, Key: 'sse' }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'plain', Body: testBytes(10, 5) }));
  await s3.send(new DeleteBucketCommand({ Bucket: empty }));
  text = await nextScan();
  t.same(usage(text, Bucket), { objects: 2, bytes: 10 + 5 * MiB + 1234, versions: 0, versionBytes: 0, markers: 0 }, 'the next scan follows a delete and an overwrite');
  t.equal(usage(text, empty).objects, undefined, 'a deleted bucket\u2019s series are gone');
});

t.test('more objects than one page of the scan (1,000 records)', async (t) => {
  const Bucket = await createBucket(s3, 'usage-many');
  const keys = Array.from({ length: 1005 }, (_, i) => `k/${String(i).padStart(4, '0')}`);
  await putMany(d, Bucket, keys, () => 'xyz');
  t.same(usage(await nextScan(), Bucket), { objects: 1005, bytes: 3 * 1005, versions: 0, versionBytes: 0, markers: 0 }, 'every object counted once');
});

t.test('a versioned bucket: noncurrent versions, their bytes, delete markers', async (t) => {
  const Bucket = await createBucket(s3, 'usage-ver');
  await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'k1', Body: testBytes(10, 6) }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'k1', Body: testBytes(20, 7) }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'k2', Body: testBytes(30, 8) }));
  await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k2' }));
  t.same(usage(await nextScan(), Bucket), { objects: 1, bytes: 20, versions: 2, versionBytes: 40, markers: 1 }, 'k1 current (20 bytes); k1 and k2 noncurrent (10 + 30); the marker on k2');
});

t.test('S3_USAGE_SCAN_INTERVAL=off: no bucket usage series; a bad value stops the start', async (t) => {
  const off = await startDaemon({ env: { S3_USAGE_SCAN_INTERVAL: 'off' } });
  t.teardown(() => off.stop());
  await createBucket(off.s3(), 'usage-off');
  await new Promise((r) => setTimeout(r, 1500));
  const text = await scrape(off.endpoint);
  t.notMatch(text, /^s3d_bucket_objects\{/m, 'no per-bucket samples');
  t.equal(metricSample(text, 's3d_usage_scan_timestamp_seconds'), 0, 'and no scan');
  const bad = await runS3d(['server', off.dataDir + '-bad', '--dev'], { S3_ADDRESS: '127.0.0.1:0', S3_USAGE_SCAN_INTERVAL: 'often' }, 20_000);
  t.equal(bad.code, 2, 'S3_USAGE_SCAN_INTERVAL=often: exit 2');
  t.match(bad.stdout + bad.stderr, /S3_USAGE_SCAN_INTERVAL must be a duration/, 'naming the variable');
});
