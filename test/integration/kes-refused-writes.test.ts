// Writes that can never succeed, for a reason their headers show, are refused before they spend
// anything: against the KES fixture over real mTLS, each such request (SSE-KMS through the
// bucket's default, so every write would need a data key) gets S3's 4xx with no KES call, and gets
// the same 4xx, not a 503, while KES is down (a client retries a 503, and this can never succeed).
// Covered: CreateMultipartUpload (storage class, ACL, metadata size, tagging, website redirect,
// Object Lock, checksum algorithm), CopyObject and UploadPartCopy (the copy source's SSE-C key
// headers), POST Object (a malformed Content-MD5 field), and PutObject alongside.

import t from 'tap';
import type { Test } from 'tap';
import {
  CopyObjectCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, PutBucketEncryptionCommand,
  PutObjectCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { S3Client, StorageClass } from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { createTestPki } from '../fixtures/kes-server/certs.js';
import { KES_TEST_KEY, keyCalls, kesEnv, kesServer, requestDelta, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, expectS3Error, listKeys, withHeaders } from '../helpers/s3.js';
import { countFiles, expectNoTempFiles } from '../helpers/files.js';
import { ssec, ssecCopy } from '../helpers/sse.js';
import { postForm, signedForm } from '../helpers/post-object.js';

const pki = await createTestPki();

interface Refused {
  what: string;
  send: () => Promise<unknown>;
  code: string;
  status: number;
}

/** A POST form's answer as an SDK-like failure, for expectS3Error. */
async function posted(d: TestDaemon, bucket: string, fd: FormData): Promise<unknown> {
  const res = await postForm(d, bucket, fd);
  if (res.status < 300) return res;
  const field = (name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(res.body.toString())?.[1];
  throw Object.assign(new Error(field('Message')), { name: field('Code'), $metadata: { httpStatusCode: res.status } });
}

function cases(d: TestDaemon, s3: S3Client, bucket: string, plainBucket: string, uploadId: string): Refused[] {
  const key = 'refused';
  const create = (extra: Record<string, unknown>, headers: Record<string, string> = {}): Promise<unknown> =>
    s3.send(withHeaders(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...extra }), headers));
  const until = new Date(Date.now() + 86_400_000);
  const sourceKey = testBytes(32, 9);
  return [
    { what: 'CreateMultipartUpload, storage class BOGUS', send: () => create({ StorageClass: 'BOGUS' as StorageClass }), code: 'InvalidStorageClass', status: 400 },
    { what: 'CreateMultipartUpload, x-amz-acl public-reed', send: () => create({}, { 'x-amz-acl': 'public-reed' }), code: 'InvalidArgument', status: 400 },
    { what: 'CreateMultipartUpload, x-amz-acl public-read', send: () => create({}, { 'x-amz-acl': 'public-read' }), code: 'AccessControlListNotSupported', status: 400 },
    { what: 'CreateMultipartUpload, 3 KB of metadata', send: () => create({ Metadata: { big: 'x'.repeat(3000) } }), code: 'MetadataTooLarge', status: 400 },
    { what: 'CreateMultipartUpload, a repeated tag key', send: () => create({ Tagging: 'a=1&a=2' }), code: 'InvalidArgument', status: 400 },
    { what: 'CreateMultipartUpload, a website redirect to nowhere', send: () => create({ WebsiteRedirectLocation: 'elsewhere' }), code: 'InvalidRedirectLocation', status: 400 },
    { what: 'CreateMultipartUpload, a retention in a bucket without Object Lock', send: () => create({ ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until }), code: 'InvalidRequest', status: 400 },
    { what: 'CreateMultipartUpload, checksum algorithm BOGUS', send: () => create({}, { 'x-amz-checksum-algorithm': 'BOGUS' }), code: 'InvalidRequest', status: 400 },
    { what: 'PutObject, storage class BOGUS', send: () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x', StorageClass: 'BOGUS' as StorageClass })), code: 'InvalidStorageClass', status: 400 },
    {
      what: 'CopyObject of an SSE-C source without its key',
      send: () => s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/ssec-src` })),
      code: 'InvalidRequest',
      status: 400,
    },
    {
      what: 'CopyObject of an SSE-C source with another key',
      send: () => s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/ssec-src`, ...ssecCopy(testBytes(32, 10)) })),
      code: 'AccessDenied',
      status: 403,
    },
    {
      what: 'CopyObject of an SSE-C source with a 16-byte key',
      send: () => s3.send(withHeaders(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/ssec-src`, ...ssecCopy(sourceKey) }), {
        'x-amz-copy-source-server-side-encryption-customer-key': testBytes(16, 9).toString('base64'),
      })),
      code: 'InvalidArgument',
      status: 400,
    },
    {
      what: 'CopyObject of an unencrypted source with a copy-source SSE-C key',
      send: () => s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${plainBucket}/plain`, ...ssecCopy(sourceKey) })),
      code: 'InvalidRequest',
      status: 400,
    },
    {
      what: 'UploadPartCopy of an SSE-C source without its key (an SSE-KMS upload)',
      send: () => s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'mp', UploadId: uploadId, PartNumber: 1, CopySource: `${bucket}/ssec-src` })),
      code: 'InvalidRequest',
      status: 400,
    },
    {
      what: 'POST Object with a malformed Content-MD5 field',
      send: () => posted(d, bucket, signedForm(bucket, key, [['Content-MD5', 'not-an-md5']], { conditions: [{ key }, ['starts-with', '$Content-MD5', '']] }, { data: testBytes(1000, 11) })),
      code: 'InvalidDigest',
      status: 400,
    },
  ];
}

async function uploadsOf(s3: S3Client, bucket: string): Promise<string[]> {
  return ((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => u.Key!);
}

t.test('a write its headers doom is refused before any KES call, with the same 4xx while KES is down', async (t: Test) => {
  const kes = await kesServer(t, { pki });
  // No cache: every data key and every unseal of one is a call KES sees.
  // TLS: SSE-C keys travel only over it.
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_CACHE_TTL: '0' } }), tls: true });
  await waitReady(d.endpoint, 200, 30_000, d.caCert);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  const plainBucket = await createBucket(s3);
  await s3.send(new PutBucketEncryptionCommand({
    Bucket: bucket,
    ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KES_TEST_KEY } }] },
  }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ssec-src', Body: testBytes(1000, 1), ...ssec(testBytes(32, 9)) }));
  await s3.send(new PutObjectCommand({ Bucket: plainBucket, Key: 'plain', Body: testBytes(1000, 2) }));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));
  t.equal(up.ServerSideEncryption, 'aws:kms', 'the upload is SSE-KMS, by the bucket\'s default');
  const refused = cases(d, s3, bucket, plainBucket, up.UploadId!);
  const files = countFiles(d.dataDir);

  for (const c of refused) {
    const before = kes.counters();
    await expectS3Error(t, c.send(), c.code, c.status, `KES up: ${c.what}`);
    t.equal(keyCalls(requestDelta(before, kes.counters())), 0, `KES up: ${c.what}: no KES call`);
  }

  await kes.stop();
  await waitReady(d.endpoint, 503, 10_000, d.caCert);
  for (const c of refused) await expectS3Error(t, c.send(), c.code, c.status, `KES down: ${c.what}`);

  await expectNoTempFiles(t, d.dataDir, 'refused writes');
  t.same(countFiles(d.dataDir), files, 'no data file was added');
  t.same(await listKeys(s3, bucket), ['ssec-src'], 'no object appeared');
  t.same(await uploadsOf(s3, bucket), ['mp'], 'no upload was created');
});
