// A bucket default of SSE-KMS under a KES key, against the KES fixture over real mTLS:
// PutBucketEncryption proves the key it names with one data key from KES before it keeps the
// configuration (as MinIO's handler does), so a key KES does not have is 400 KMS.NotFoundException
// and a KES that cannot answer is a retryable 503, neither changing the bucket's configuration;
// GetBucketEncryption gives the accepted one back as written; and uploads without SSE headers,
// single and multipart, are sealed under that key, which HEAD names.

import t from 'tap';
import type { Test } from 'tap';
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetBucketEncryptionCommand, HeadObjectCommand,
  PutBucketEncryptionCommand, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Client, ServerSideEncryptionConfiguration } from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { KES_MASTER_KEY, KES_TEST_KEY, kesEnv, kesServer, metricSample, scrape, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, expectS3Error, getBytes, listKeys, sdkFailure } from '../helpers/s3.js';

const OTHER = 'tenant-key';
const kmsRule = (keyId: string, bucketKeyEnabled?: boolean): ServerSideEncryptionConfiguration => ({
  Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyId }, ...(bucketKeyEnabled !== undefined ? { BucketKeyEnabled: bucketKeyEnabled } : {}) }],
});
const put = (s3: S3Client, bucket: string, c: ServerSideEncryptionConfiguration): Promise<unknown> => s3.send(new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: c }));
const rules = async (s3: S3Client, bucket: string): Promise<unknown> => (await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))).ServerSideEncryptionConfiguration?.Rules;
const sealedBy = async (s3: S3Client, bucket: string, key: string): Promise<unknown> => {
  const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return { sse: h.ServerSideEncryption, key: h.SSEKMSKeyId };
};

async function setup(t: Test): Promise<{ kes: Awaited<ReturnType<typeof kesServer>>; s3: S3Client; bucket: string; endpoint: string }> {
  const kes = await kesServer(t, { keys: [{ name: KES_TEST_KEY, key: KES_MASTER_KEY }, { name: OTHER, key: Buffer.alloc(32, 0x5a) }] });
  const d = await startDaemonFor(t, { env: kesEnv([kes]) });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  return { kes, s3, bucket: await createBucket(s3), endpoint: d.endpoint };
}

t.test('a KES key the bucket default names: echoed as written, and every upload without SSE headers is sealed under it', async (t) => {
  const { s3, bucket } = await setup(t);
  const arn = `arn:aws:kms:eu-west-1:111122223333:key/${OTHER}`;
  await put(s3, bucket, kmsRule(arn, true));
  t.same(await rules(s3, bucket), [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arn }, BucketKeyEnabled: true }], 'GetBucketEncryption gives the configuration back as written');
  const body = testBytes(300_000, 31);
  const p = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'single', Body: body }));
  t.same({ sse: p.ServerSideEncryption, key: p.SSEKMSKeyId }, { sse: 'aws:kms', key: `arn:aws:kms:${OTHER}` }, 'the PUT answer names the key');
  t.same(await sealedBy(s3, bucket, 'single'), { sse: 'aws:kms', key: `arn:aws:kms:${OTHER}` }, 'HEAD: SSE-KMS under the bucket\'s key, not the default one');
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi' }));
  t.equal(up.SSEKMSKeyId, `arn:aws:kms:${OTHER}`, 'CreateMultipartUpload names it');
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'multi', UploadId: up.UploadId, PartNumber: 1, Body: body }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'multi', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
  t.same(await sealedBy(s3, bucket, 'multi'), { sse: 'aws:kms', key: `arn:aws:kms:${OTHER}` }, 'a multipart upload too');
  for (const k of ['single', 'multi']) t.ok((await getBytes(s3, { Bucket: bucket, Key: k })).equals(body), `${k} reads back`);
  // The bare name and the alias forms name the same key; each comes back as it was written.
  for (const keyId of [OTHER, `alias/${OTHER}`, `arn:aws:kms:${OTHER}`]) {
    await put(s3, bucket, kmsRule(keyId));
    t.same(await rules(s3, bucket), [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyId } }], `${keyId}: given back as written`);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'again', Body: 'x' }));
    t.same(await sealedBy(s3, bucket, 'again'), { sse: 'aws:kms', key: `arn:aws:kms:${OTHER}` }, `${keyId}: uploads are sealed under ${OTHER}`);
  }
});

t.test('a key KES does not have: 400 KMS.NotFoundException, the configuration before it stays', async (t) => {
  const { kes, s3, bucket } = await setup(t);
  await put(s3, bucket, kmsRule(OTHER));
  const keys = kes.api.state.keystore.names().sort();
  for (const keyId of ['no-such-key', 'arn:aws:kms:us-east-1:111122223333:key/no-such-key', 'alias/no-such-key']) {
    const err = await sdkFailure(put(s3, bucket, kmsRule(keyId)));
    t.same({ name: err.name, status: err.status }, { name: 'KMS.NotFoundException', status: 400 }, `${keyId}: KMS.NotFoundException 400`);
    t.equal(err.message, 'The KMS key "no-such-key" does not exist.', `${keyId}: the message names the key`);
  }
  t.same(await rules(s3, bucket), [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: OTHER } }], 'the bucket keeps its configuration');
  t.same(kes.api.state.keystore.names().sort(), keys, 'no key was created at KES');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'x' }));
  t.same(await sealedBy(s3, bucket, 'after'), { sse: 'aws:kms', key: `arn:aws:kms:${OTHER}` }, 'uploads go on under the key it had');
  // A bucket without a configuration stays without one.
  const bare = await createBucket(s3);
  await expectS3Error(t, put(s3, bare, kmsRule('no-such-key')), 'KMS.NotFoundException', 400, 'on a bucket without a configuration');
  await expectS3Error(t, s3.send(new GetBucketEncryptionCommand({ Bucket: bare })), 'ServerSideEncryptionConfigurationNotFoundError', 404, 'it still has none');
});

t.test('KES cannot answer: 503 ServiceUnavailable (retryable, not "key not found"), the configuration before it stays', async (t) => {
  const { kes, s3, bucket } = await setup(t);
  await put(s3, bucket, kmsRule(OTHER));
  // KES answering 503 (overloaded, its keystore unreachable), or a proxy in front of it a 500 page.
  for (const fault of [{ fail503: 1000 }, { fail500: 1000 }]) {
    kes.setFaults(fault);
    await expectS3Error(t, put(s3, bucket, kmsRule(KES_TEST_KEY)), 'ServiceUnavailable', 503, `${JSON.stringify(fault)}: a key KES has`);
    await expectS3Error(t, put(s3, bucket, kmsRule('no-such-key')), 'ServiceUnavailable', 503, `${JSON.stringify(fault)}: one it has not, not called missing while KES cannot tell`);
    kes.setFaults({ fail503: 0, fail500: 0 });
  }
  // KES itself down.
  await kes.stop();
  const err = await sdkFailure(put(s3, bucket, kmsRule(KES_TEST_KEY)));
  t.same({ name: err.name, status: err.status }, { name: 'ServiceUnavailable', status: 503 }, 'KES down: ServiceUnavailable 503');
  t.same(await rules(s3, bucket), [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: OTHER } }], 'the bucket keeps its configuration');
  await kes.start();
  await put(s3, bucket, kmsRule(KES_TEST_KEY));
  t.same(await rules(s3, bucket), [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KES_TEST_KEY } }], 'KES back: the same request is accepted');
  t.same(await listKeys(s3, bucket), [], 'nothing was stored');
});

t.test('the key deleted at KES after the configuration was accepted: uploads are KMS.NotFoundException and store nothing', async (t) => {
  const { kes, s3, bucket } = await setup(t);
  await put(s3, bucket, kmsRule(OTHER));
  t.ok(kes.api.state.keystore.delete(OTHER), 'the key is deleted at KES');
  await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' })), 'KMS.NotFoundException', 400, 'a PUT under the bucket default');
  await expectS3Error(t, s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'm' })), 'KMS.NotFoundException', 400, 'a CreateMultipartUpload under it');
  t.same(await listKeys(s3, bucket), [], 'nothing stored');
  await expectS3Error(t, put(s3, bucket, kmsRule(OTHER)), 'KMS.NotFoundException', 400, 'naming it again is refused');
});

// The proof's data key seals nothing: it was kept in the unwrap cache (the cache keeps the data key
// of every generate, for the GET that follows a PUT) for S3_KMS_CACHE_TTL, plaintext in memory
// that nothing could ask for, and a place taken from the keys of real objects.
t.test('the data key PutBucketEncryption generates to prove the key is not kept', async (t) => {
  const { s3, bucket, endpoint } = await setup(t);
  const entries = async (): Promise<number | undefined> => metricSample(await scrape(endpoint), 's3d_kms_cache_entries');
  const before = await entries();
  for (const keyId of [OTHER, KES_TEST_KEY, `alias/${OTHER}`]) await put(s3, bucket, kmsRule(keyId));
  t.equal(await entries(), before, 'the unwrap cache holds no more keys than before');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
  t.equal(await entries(), (before ?? 0) + 1, 'an upload\'s data key is still cached');
});
