// A restore as docs/operations.md describes it, for every kind of state a store keeps: a store
// with SSE-S3, SSE-KMS and SSE-C objects (a multipart one among them, and an SSE-C upload in
// progress), a versioned bucket with noncurrent and null versions and a delete marker, a
// Suspended bucket whose current version is the null one, Object Lock (retention, legal hold,
// a default rule), every bucket configuration, object tags, user metadata and checksums is
// backed up while a writer keeps overwriting; a daemon started on the copy (with the same KMS
// settings) answers every one of them as the original did before the snapshot, the locks still
// refuse deletes, the upload in progress completes, and `s3d verify DEST --deep` passes.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketCorsCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  GetObjectTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketCorsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  PutPublicAccessBlockCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { TEST_KMS_SECRET, runS3d, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { KMS_KEY_ID, ssec } from '../helpers/sse.js';
import { DAY, at, lockHelpers, retain, rule } from '../helpers/object-lock.js';
import { sleep } from '../helpers/wait.js';

const MiB = 1024 * 1024;

t.test('a restored backup answers for every kind of state as the original did', async (t) => {
  const d = await startDaemonFor(t, { tls: true });
  const s3 = d.s3();
  const L = lockHelpers(s3);
  const customerKey = testBytes(32, 91);
  /** Objects to read back byte for byte: bucket, key, version, body, read input. */
  const bodies: Array<{ bucket: string; key: string; versionId?: string; body: Buffer; extra?: Record<string, string> }> = [];
  const put = async (bucket: string, key: string, body: Buffer, extra: Record<string, unknown> = {}): Promise<string | undefined> =>
    (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }))).VersionId;

  // Encryption of every kind, inline and in files; tags, user metadata, a checksum.
  const enc = await createBucket(s3, 'enc');
  const kinds: Array<[string, number, Record<string, unknown>, Record<string, string>?]> = [
    ['sse-s3', 300_001, { ServerSideEncryption: 'AES256' }],
    ['sse-kms', 300_002, { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ID }],
    ['sse-kms-inline', 2_002, { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ID }],
    ['sse-c', 300_003, ssec(customerKey), ssec(customerKey)],
    ['plain', 300_004, { Tagging: 'a=1&b=two', Metadata: { colour: 'blue' }, ContentType: 'text/x-test', ChecksumAlgorithm: 'SHA256' }],
  ];
  for (const [key, size, extra, read] of kinds) {
    const body = testBytes(size, size);
    await put(enc, key, body, extra);
    bodies.push({ bucket: enc, key, body, ...(read !== undefined ? { extra: read } : {}) });
  }
  // A multipart SSE-KMS object, and an SSE-C upload in progress.
  {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: enc, Key: 'mp-kms', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ID }));
    const pieces = [testBytes(5 * MiB, 21), testBytes(123_457, 22)];
    const parts = [];
    for (const [i, Body] of pieces.entries()) parts.push({ PartNumber: i + 1, ETag: (await s3.send(new UploadPartCommand({ Bucket: enc, Key: 'mp-kms', UploadId, PartNumber: i + 1, Body }))).ETag });
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: enc, Key: 'mp-kms', UploadId, MultipartUpload: { Parts: parts } }));
    bodies.push({ bucket: enc, key: 'mp-kms', body: Buffer.concat(pieces) });
  }
  const pendingPart = testBytes(5 * MiB + 1, 23);
  const pending = await s3.send(new CreateMultipartUploadCommand({ Bucket: enc, Key: 'pending-ssec', ...ssec(customerKey) }));
  const pendingETag = (await s3.send(new UploadPartCommand({ Bucket: enc, Key: 'pending-ssec', UploadId: pending.UploadId, PartNumber: 1, Body: pendingPart, ...ssec(customerKey) }))).ETag;

  // Versions: a null version made noncurrent, versions, a delete marker; a Suspended bucket.
  const ver = await createBucket(s3, 'ver');
  const nullBody = testBytes(200_001, 31);
  await put(ver, 'k', nullBody);
  bodies.push({ bucket: ver, key: 'k', versionId: 'null', body: nullBody });
  await s3.send(new PutBucketVersioningCommand({ Bucket: ver, VersioningConfiguration: { Status: 'Enabled' } }));
  for (const [i, size] of [200_002, 700].entries()) {
    const body = testBytes(size, 32 + i);
    bodies.push({ bucket: ver, key: 'k', versionId: (await put(ver, 'k', body))!, body });
  }
  await s3.send(new DeleteObjectCommand({ Bucket: ver, Key: 'k' }));
  const sus = await createBucket(s3, 'sus');
  await s3.send(new PutBucketVersioningCommand({ Bucket: sus, VersioningConfiguration: { Status: 'Enabled' } }));
  const susOld = testBytes(200_003, 35);
  bodies.push({ bucket: sus, key: 'k', versionId: (await put(sus, 'k', susOld))!, body: susOld });
  await s3.send(new PutBucketVersioningCommand({ Bucket: sus, VersioningConfiguration: { Status: 'Suspended' } }));
  const susNull = testBytes(200_004, 36);
  await put(sus, 'k', susNull);
  bodies.push({ bucket: sus, key: 'k', versionId: 'null', body: susNull }, { bucket: sus, key: 'k', body: susNull });

  // Object Lock: a default rule, a retention, a legal hold.
  const locked = await L.lockBucket('locked');
  await s3.send(new PutObjectLockConfigurationCommand({ Bucket: locked, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: rule('GOVERNANCE', { Days: 1 }) } }));
  const until = at(2 * DAY);
  const retainedBody = testBytes(200_005, 37);
  const retainedId = (await put(locked, 'retained', retainedBody, retain('COMPLIANCE', until)))!;
  bodies.push({ bucket: locked, key: 'retained', versionId: retainedId, body: retainedBody });
  const heldId = await L.put(locked, 'held', 'v1');
  t.equal(await L.setHold(locked, 'held', 'ON', heldId), 'ok');

  // Every bucket configuration, on one bucket.
  const cfg = await createBucket(s3, 'cfg');
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${cfg}/public/*` }] });
  await s3.send(new PutBucketPolicyCommand({ Bucket: cfg, Policy: policy }));
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: cfg, LifecycleConfiguration: { Rules: [{ ID: 'old', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } }] } }));
  await s3.send(new PutBucketCorsCommand({ Bucket: cfg, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['https://app.example'], AllowedMethods: ['GET'] }] } }));
  await s3.send(new PutBucketEncryptionCommand({ Bucket: cfg, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KMS_KEY_ID } }] } }));
  await s3.send(new PutBucketTaggingCommand({ Bucket: cfg, Tagging: { TagSet: [{ Key: 'team', Value: 'storage' }] } }));
  await s3.send(new PutPublicAccessBlockCommand({ Bucket: cfg, PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: false } }));

  /** What a daemon answers about all of that (bodies aside). */
  const state = async (c: S3Client): Promise<unknown> => {
    const heads = [];
    for (const [key] of kinds) {
      const h = await c.send(new HeadObjectCommand({ Bucket: enc, Key: key, ...(key === 'sse-c' ? ssec(customerKey) : {}), ChecksumMode: 'ENABLED' }));
      heads.push([key, h.ETag, h.ContentLength, h.ContentType, h.ServerSideEncryption, h.SSEKMSKeyId, h.Metadata, h.ChecksumSHA256, h.TagCount]);
    }
    const versions = async (Bucket: string): Promise<unknown> => {
      const r = await c.send(new ListObjectVersionsCommand({ Bucket }));
      return [(r.Versions ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest, v.ETag, v.Size]), (r.DeleteMarkers ?? []).map((m) => [m.Key, m.VersionId, m.IsLatest])];
    };
    return {
      heads,
      tags: (await c.send(new GetObjectTaggingCommand({ Bucket: enc, Key: 'plain' }))).TagSet,
      uploads: (await c.send(new ListMultipartUploadsCommand({ Bucket: enc }))).Uploads?.map((u) => [u.Key, u.UploadId]),
      ver: await versions(ver),
      sus: [await versions(sus), (await c.send(new GetBucketVersioningCommand({ Bucket: sus }))).Status],
      lockConfig: (await c.send(new GetObjectLockConfigurationCommand({ Bucket: locked }))).ObjectLockConfiguration,
      retention: await L.retentionOf(locked, 'retained', retainedId, c),
      hold: await L.holdOf(locked, 'held', heldId, c),
      policy: JSON.parse((await c.send(new GetBucketPolicyCommand({ Bucket: cfg }))).Policy!) as unknown,
      lifecycle: (await c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: cfg }))).Rules,
      cors: (await c.send(new GetBucketCorsCommand({ Bucket: cfg }))).CORSRules,
      encryption: (await c.send(new GetBucketEncryptionCommand({ Bucket: cfg }))).ServerSideEncryptionConfiguration,
      bucketTags: (await c.send(new GetBucketTaggingCommand({ Bucket: cfg }))).TagSet,
      publicAccess: (await c.send(new GetPublicAccessBlockCommand({ Bucket: cfg }))).PublicAccessBlockConfiguration,
    };
  };
  const before = await state(s3);

  // A writer overwrites and deletes beside the backup (in a bucket of its own).
  const churn = await createBucket(s3, 'churn');
  let stop = false;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      if (i % 3 === 2) await s3.send(new DeleteObjectCommand({ Bucket: churn, Key: `c${i % 4}` }));
      else await put(churn, `c${i % 4}`, testBytes(150_000 + (i % 5), i % 5));
    }
  })();
  await sleep(300);
  const base = mkdtempSync(join(tmpdir(), 's3d-restore-state-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const dest = join(base, 'dest');
  const backedUp = await runS3d(['backup', d.dataDir, dest]);
  stop = true;
  await writer;
  t.equal(backedUp.code, 0, `backup: exit 0 (${backedUp.stderr.trim()})`);

  const verified = await runS3d(['verify', dest, '--deep'], { S3_CRYPTO_WORKERS: '2', S3_KMS_SECRET_KEY: TEST_KMS_SECRET });
  t.equal(verified.code, 0, `s3d verify DEST --deep: exit 0 (${verified.stdout.trim()} ${verified.stderr.trim()})`);

  const r = await startDaemonFor(t, { dataDir: dest, tls: true });
  const s3r = r.s3();
  t.same(await state(s3r), before, 'the restored daemon answers the same for objects, versions, locks and bucket configurations');
  for (const b of bodies) {
    const got = await getBytes(s3r, { Bucket: b.bucket, Key: b.key, ...(b.versionId !== undefined ? { VersionId: b.versionId } : {}), ...(b.extra ?? {}) });
    t.ok(got.equals(b.body), `${b.bucket}/${b.key}${b.versionId !== undefined ? ` (${b.versionId})` : ''}: the same ${b.body.length} bytes`);
  }
  const restoredLock = lockHelpers(s3r);
  t.equal(await s3Code(s3r.send(new DeleteObjectCommand({ Bucket: locked, Key: 'retained', VersionId: retainedId }))), 'AccessDenied/403', 'the retained version still refuses a delete');
  t.equal(await s3Code(s3r.send(new DeleteObjectCommand({ Bucket: locked, Key: 'held', VersionId: heldId }))), 'AccessDenied/403', 'the held version too');
  t.match(await restoredLock.retentionOf(locked, 'fresh'), /NoSuchKey/, 'nothing else in the locked bucket');
  await s3r.send(new CompleteMultipartUploadCommand({ Bucket: enc, Key: 'pending-ssec', UploadId: pending.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pendingETag }] }, ...ssec(customerKey) }));
  t.ok((await getBytes(s3r, { Bucket: enc, Key: 'pending-ssec', ...ssec(customerKey) })).equals(pendingPart), 'the SSE-C upload in progress completes on the copy and reads back');
});
