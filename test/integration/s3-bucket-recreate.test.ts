// A bucket deleted and created again under its name is another bucket. A write that started on
// the old one (its policy, Object Lock default, encryption and notifications judged it) and
// commits after the new one exists is answered 409 OperationAborted (S3's answer to a write that
// conflicts with a bucket's deletion; a retry is judged by the new bucket), and leaves no file;
// it never lands in the new bucket. And a CompleteMultipartUpload whose
// upload is aborted while its part list arrives is NoSuchUpload, not InvalidPart.

import t from 'tap';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { bucketName, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { waitForFileCounts } from '../helpers/files.js';
import { errorCode, openPut, xmlField } from '../helpers/http.js';

const MiB = 1024 * 1024;
const d = await startDaemonFor(t);
const s3 = d.s3();

t.test('a PUT in flight while its bucket is deleted and created again: OperationAborted, nothing in the new bucket', async (t) => {
  for (const lock of [false, true]) {
    const bucket = bucketName(lock ? 'recreate-lock' : 'recreate');
    // The old bucket: with Object Lock (a default retention would bind the object) or plain.
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ...(lock ? { ObjectLockEnabledForBucket: true } : {}) }));
    const body = testBytes(2 * MiB, lock ? 2 : 1);
    const put = openPut(d.port, `/${bucket}/late`, body.length);
    await put.write(body.subarray(0, MiB));
    // The handler has read the old bucket and is receiving the body: delete it (it is empty) and create it again.
    await new Promise((r) => setTimeout(r, 200));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    put.end(body.subarray(MiB));
    const res = await put.response;
    t.equal(res.status, 409, `${lock ? 'lock' : 'plain'}: the PUT is 409 (got ${res.status} ${errorCode(res.body) ?? ''})`);
    t.equal(errorCode(res.body), 'OperationAborted', 'OperationAborted');
    t.equal(xmlField(res.body, 'BucketName'), bucket, 'naming the bucket');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    t.equal(listed.KeyCount, 0, 'the new bucket is empty');
    await t.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'late' })), { name: 'NotFound' }, 'no object under the key');
    if (lock) await t.rejects(s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket })), { name: 'ObjectLockConfigurationNotFoundError' }, 'the new bucket has no Object Lock');
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  }
  const counts = await waitForFileCounts(d.dataDir, (c) => c.data === 0 && c.temp === 0, 25_000);
  t.same([counts.data, counts.temp], [0, 0], 'the refused bodies left no data or temp file');
});

t.test('an upload aborted while its Complete body arrives: NoSuchUpload, not InvalidPart', async (t) => {
  const bucket = bucketName('complete-abort');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'k' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'k', UploadId, PartNumber: 1, Body: testBytes(1000, 3) }));
  const xml = Buffer.from(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.ETag}</ETag></Part></CompleteMultipartUpload>`);
  const complete = openPut(d.port, `/${bucket}/k`, xml.length, { method: 'POST', query: `uploadId=${encodeURIComponent(UploadId!)}` });
  await complete.write(xml.subarray(0, 20));
  await new Promise((r) => setTimeout(r, 200));
  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'k', UploadId }));
  complete.end(xml.subarray(20));
  const res = await complete.response;
  t.equal(res.status, 404, `Complete after the Abort: 404 (got ${res.status} ${errorCode(res.body) ?? ''})`);
  t.equal(errorCode(res.body), 'NoSuchUpload', 'NoSuchUpload');
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' })), { name: 'NotFound' }, 'no object was made');
});

t.test('a bucket configuration PUT in flight while its bucket is deleted and created again: OperationAborted, the new bucket keeps its own', async (t) => {
  const configs: Array<{ what: string; query: string; body: (bucket: string) => string; absent: (bucket: string) => Promise<unknown> }> = [
    {
      what: 'lifecycle',
      query: 'lifecycle',
      body: () => '<LifecycleConfiguration><Rule><ID>all</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>',
      absent: (bucket) => t.rejects(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })), { name: 'NoSuchLifecycleConfiguration' }, 'lifecycle: the new bucket has no rules'),
    },
    {
      what: 'policy',
      query: 'policy',
      body: (bucket) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }] }),
      absent: (bucket) => t.rejects(s3.send(new GetBucketPolicyCommand({ Bucket: bucket })), { name: 'NoSuchBucketPolicy' }, 'policy: the new bucket has none'),
    },
    {
      what: 'versioning',
      query: 'versioning',
      body: () => '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>',
      absent: async (bucket) => t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, undefined, 'versioning: the new bucket is unversioned'),
    },
    {
      what: 'tagging',
      query: 'tagging',
      body: () => '<Tagging><TagSet><Tag><Key>old</Key><Value>bucket</Value></Tag></TagSet></Tagging>',
      absent: (bucket) => t.rejects(s3.send(new GetBucketTaggingCommand({ Bucket: bucket })), { name: 'NoSuchTagSet' }, 'tagging: the new bucket has no tags'),
    },
  ];
  for (const c of configs) {
    const bucket = bucketName(`recfg-${c.what}`);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const body = Buffer.from(c.body(bucket));
    const put = openPut(d.port, `/${bucket}`, body.length, { query: c.query, headers: { 'content-md5': createHash('md5').update(body).digest('base64') } });
    await put.write(body.subarray(0, 10));
    // The handler has read the old bucket and is receiving the document: delete the bucket and create it again.
    await new Promise((r) => setTimeout(r, 200));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    put.end(body.subarray(10));
    const res = await put.response;
    t.equal(res.status, 409, `${c.what}: the PUT is 409 (got ${res.status} ${errorCode(res.body) ?? ''})`);
    t.equal(errorCode(res.body), 'OperationAborted', `${c.what}: OperationAborted`);
    await c.absent(bucket);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  }
});

t.test('an object sub-resource write or DeleteObjects in flight while its bucket is deleted and created again: OperationAborted, the new bucket untouched', async (t) => {
  const future = new Date(Date.now() + 86_400_000).toISOString();
  const writes: Array<{ what: string; lock: boolean; method?: string; path: (bucket: string) => string; query: string; body: string; untouched: (bucket: string) => Promise<unknown> }> = [
    {
      what: 'tagging',
      lock: false,
      path: (bucket) => `/${bucket}/k`,
      query: 'tagging',
      body: '<Tagging><TagSet><Tag><Key>old</Key><Value>bucket</Value></Tag></TagSet></Tagging>',
      untouched: async (bucket) => t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k' }))).TagSet, [], 'tagging: the new object has no tags'),
    },
    {
      what: 'retention',
      lock: true,
      path: (bucket) => `/${bucket}/k`,
      query: 'retention',
      body: `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>${future}</RetainUntilDate></Retention>`,
      untouched: (bucket) => t.rejects(s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: 'k' })), { name: 'NoSuchObjectLockConfiguration' }, 'retention: the new object has none'),
    },
    {
      what: 'legal-hold',
      lock: true,
      path: (bucket) => `/${bucket}/k`,
      query: 'legal-hold',
      body: '<LegalHold><Status>ON</Status></LegalHold>',
      untouched: (bucket) => t.rejects(s3.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: 'k' })), { name: 'NoSuchObjectLockConfiguration' }, 'legal hold: the new object has none'),
    },
    {
      what: 'delete',
      lock: false,
      method: 'POST',
      path: (bucket) => `/${bucket}`,
      query: 'delete',
      body: '<Delete><Object><Key>k</Key></Object></Delete>',
      untouched: async (bucket) => t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))).ContentLength, 3, 'delete: the new object is still there'),
    },
  ];
  /** Empties `bucket` (every version, a hold or GOVERNANCE retention a failed run left lifted) and deletes it. */
  const removeBucket = async (bucket: string, lock: boolean): Promise<void> => {
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    for (const v of [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])]) {
      if (lock && listed.Versions?.includes(v)) await s3.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId!, LegalHold: { Status: 'OFF' } }));
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId!, ...(lock ? { BypassGovernanceRetention: true } : {}) }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  };
  for (const w of writes) {
    const bucket = bucketName(`recsub-${w.what}`);
    const create = (): Promise<unknown> => s3.send(new CreateBucketCommand({ Bucket: bucket, ...(w.lock ? { ObjectLockEnabledForBucket: true } : {}) }));
    await create();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'old' }));
    const body = Buffer.from(w.body);
    const req = openPut(d.port, w.path(bucket), body.length, { query: w.query, ...(w.method ? { method: w.method } : {}), headers: { 'content-md5': createHash('md5').update(body).digest('base64') } });
    await req.write(body.subarray(0, 10));
    // The handler has started on the old bucket and is receiving the document: empty and delete the
    // bucket, create it again with an object under the same key.
    await new Promise((r) => setTimeout(r, 200));
    await removeBucket(bucket, w.lock);
    await create();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'new' }));
    req.end(body.subarray(10));
    const res = await req.response;
    t.equal(res.status, 409, `${w.what}: 409 (got ${res.status} ${errorCode(res.body) ?? ''})`);
    t.equal(errorCode(res.body), 'OperationAborted', `${w.what}: OperationAborted`);
    await w.untouched(bucket);
    await removeBucket(bucket, w.lock);
  }
});
