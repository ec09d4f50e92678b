// KES down, every write path that needs the KMS, against the fixture over real mTLS: multipart
// (UploadPart, UploadPartCopy, ListParts and CompleteMultipartUpload of an upload whose key is not
// cached), copies, bucket default encryption, bodies of several MiB, and a KES that
// hangs all get the 503 at once and store nothing; an upload whose data key is cached goes on
// through the outage; SSE-C multipart and copies never ask KES, whatever the bucket's default; a
// key s3d's identity may not use is 403 for that key only (readiness stays 200).

import t from 'tap';
import type { Test } from 'tap';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, ListPartsCommand,
  PutBucketEncryptionCommand, PutObjectCommand, UploadPartCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { createTestPki, writeCertFiles } from '../fixtures/kes-server/certs.js';
import { KES_MASTER_KEY, KES_TEST_KEY, kesEnv, kesServer, readyStatus, waitReady, wideS3Client } from '../helpers/kes.js';
import { clientFor, createBucket, expectS3Error, getBytes, listKeys } from '../helpers/s3.js';
import { countFiles, expectNoTempFiles } from '../helpers/files.js';
import { ssec, ssecCopy } from '../helpers/sse.js';
import { sleep } from '../helpers/wait.js';

const pki = await createTestPki();
const dir = mkdtempSync(join(tmpdir(), 's3d-kes-outage-writes-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const unavailable = (t: Test, p: Promise<unknown>, what: string): Promise<void> => expectS3Error(t, p, 'ServiceUnavailable', 503, what);

function kmsDefault(s3: S3Client, bucket: string): Promise<unknown> {
  return s3.send(new PutBucketEncryptionCommand({
    Bucket: bucket,
    ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KES_TEST_KEY } }] },
  }));
}

t.test('caches off, KES down: every request that needs a data key is a 503 that stores nothing; a completion that needs none completes', async (t) => {
  const kes = await kesServer(t, { pki });
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_CACHE_TTL: '0' } }) });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  const dflt = await createBucket(s3);
  await kmsDefault(s3, dflt);
  const body = testBytes(6 * MiB, 1);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'enc', Body: body, ServerSideEncryption: 'AES256' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: body }));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KES_TEST_KEY }));
  const p1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: body }));
  const upc = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpc', ServerSideEncryption: 'AES256', ChecksumAlgorithm: 'SHA256' }));
  const pc1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpc', UploadId: upc.UploadId, PartNumber: 1, Body: body, ChecksumAlgorithm: 'SHA256' }));
  // An upload without an algorithm whose part came without a checksum: its completion answers S3's
  // default CRC64NVME, combined from the part's, sealed under the object key.
  const noSums = clientFor(d, { requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });
  const upd = await noSums.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpd', ServerSideEncryption: 'AES256' }));
  const pd1 = await noSums.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpd', UploadId: upd.UploadId, PartNumber: 1, Body: body }));
  t.ok(pd1.ChecksumCRC64NVME, 'its part is answered the default');
  const mpd = { Bucket: bucket, Key: 'mpd', UploadId: upd.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pd1.ETag }] } };
  const files = countFiles(d.dataDir);

  await kes.stop();
  await waitReady(d.endpoint, 503);
  const mp = { Bucket: bucket, Key: 'mp', UploadId: up.UploadId };
  await unavailable(t, s3.send(new UploadPartCommand({ ...mp, PartNumber: 2, Body: body })), 'UploadPart (the upload key is unsealed at KES)');
  // Longer than the 4 MiB the daemon queues before it pauses the socket, within the 16 MiB it drains.
  await unavailable(t, s3.send(new UploadPartCommand({ ...mp, PartNumber: 3, Body: testBytes(12 * MiB, 3) })), 'UploadPart of 12 MiB');
  await unavailable(t, s3.send(new UploadPartCopyCommand({ ...mp, PartNumber: 4, CopySource: `${bucket}/plain` })), 'UploadPartCopy of a plain source');
  await unavailable(t, s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'mpc', UploadId: upc.UploadId })), 'ListParts of an upload with sealed checksums');
  await unavailable(t, s3.send(new CompleteMultipartUploadCommand({
    Bucket: bucket, Key: 'mpc', UploadId: upc.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pc1.ETag, ChecksumSHA256: pc1.ChecksumSHA256 }] },
  })), 'CompleteMultipartUpload that forms a sealed checksum');
  await unavailable(t, noSums.send(new CompleteMultipartUploadCommand(mpd)), 'CompleteMultipartUpload that answers the default of sealed parts');
  await unavailable(t, s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp2', ServerSideEncryption: 'aws:kms' })), 'CreateMultipartUpload');
  await unavailable(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'c1', CopySource: `${bucket}/enc` })), 'CopyObject of an SSE-S3 source');
  await unavailable(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'c2', CopySource: `${bucket}/plain`, ServerSideEncryption: 'AES256' })), 'CopyObject to SSE-S3');
  await unavailable(t, s3.send(new PutObjectCommand({ Bucket: dflt, Key: 'd', Body: body })), 'PutObject under the bucket\'s SSE-KMS default');
  await unavailable(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big', Body: testBytes(12 * MiB, 4), ServerSideEncryption: 'AES256' })), 'PutObject of 12 MiB');
  await unavailable(t, getBytes(s3, { Bucket: bucket, Key: 'enc', Range: 'bytes=5-10' }), 'ranged GET of an uncached object');
  await expectNoTempFiles(t, d.dataDir, 'refused writes');
  t.same(countFiles(d.dataDir), files, 'no data file was added');
  t.same(await listKeys(s3, bucket), ['enc', 'plain'], 'no object appeared');

  // The parts' ETags are in the records, and no checksum is asked for: no data key is needed.
  await s3.send(new CompleteMultipartUploadCommand({ ...mp, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } }));
  await kes.start();
  await waitReady(d.endpoint);
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'mp' })).equals(body), 'the upload completed during the outage reads back');
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpc', UploadId: upc.UploadId, PartNumber: 2, Body: 'tail', ChecksumAlgorithm: 'SHA256' }));
  t.pass('KES back: UploadPart works again, same process');
  const doneD = await noSums.send(new CompleteMultipartUploadCommand(mpd));
  t.equal(doneD.ChecksumCRC64NVME, pd1.ChecksumCRC64NVME, 'KES back: the completion refused meanwhile (nothing committed) completes, answering the default');
});

t.test('an upload whose data key is cached (generated at CreateMultipartUpload) goes on through the outage', async (t) => {
  const kes = await kesServer(t, { pki });
  const d = await startDaemonFor(t, { env: kesEnv([kes]) });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', ServerSideEncryption: 'AES256', ChecksumAlgorithm: 'CRC32' }));
  await kes.stop();
  await waitReady(d.endpoint, 503);
  const parts = [testBytes(5 * MiB, 1), testBytes(1000, 2)];
  const done = [];
  for (const [i, Body] of parts.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: 'CRC32' }));
    done.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32 });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, MultipartUpload: { Parts: done } }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'mp' })).equals(Buffer.concat(parts)), 'parts, completion and the read all ran on the cached key');
});

t.test('SSE-C multipart and copies never ask KES: KES down, bucket default SSE-KMS, auto-encryption on', async (t) => {
  const kes = await kesServer(t, { pki });
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_AUTO_ENCRYPTION: 'on' } }), tls: true });
  await waitReady(d.endpoint, 200, 30_000, d.caCert);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  await kmsDefault(s3, bucket);
  await kes.stop();
  await waitReady(d.endpoint, 503, 10_000, d.caCert);
  const before = kes.counters().requests;
  const key = Buffer.alloc(32, 9);
  const ck = ssec(key);
  const body = testBytes(6 * MiB, 2);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: body, ...ck }));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'm', ...ck, ChecksumAlgorithm: 'SHA256' }));
  const p1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'm', UploadId: up.UploadId, PartNumber: 1, Body: body, ...ck, ChecksumAlgorithm: 'SHA256' }));
  const p2 = await s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'm', UploadId: up.UploadId, PartNumber: 2, CopySource: `${bucket}/a`, ...ck, ...ssecCopy(key) }));
  await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'm', UploadId: up.UploadId, ...ck }));
  await s3.send(new CompleteMultipartUploadCommand({
    Bucket: bucket, Key: 'm', UploadId: up.UploadId, ...ck,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag, ChecksumSHA256: p1.ChecksumSHA256 }, { PartNumber: 2, ETag: p2.CopyPartResult!.ETag, ChecksumSHA256: p2.CopyPartResult!.ChecksumSHA256 }] },
  }));
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'c', CopySource: `${bucket}/m`, ...ck, ...ssecCopy(key) }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'c', ...ck })).equals(Buffer.concat([body, body])), 'the SSE-C copy of the SSE-C multipart object reads back');
  t.same(kes.counters().requests, before, 'KES was never asked');
  // Without the customer key the bucket default applies: that needs KES.
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'd', CopySource: `${bucket}/a`, ...ssecCopy(key) })), 'ServiceUnavailable', 503, 'an SSE-C source copied under the bucket default');
});

t.test('a key s3d\'s KES identity may not use: 403 AccessDenied for that key only, readiness stays 200', async (t) => {
  const kes = await kesServer(t, {
    pki,
    keys: [{ name: KES_TEST_KEY, key: KES_MASTER_KEY }, { name: 'other-key', key: Buffer.alloc(32, 1) }],
    policies: { narrow: { allow: ['/v1/status', `/v1/key/generate/${KES_TEST_KEY}`, `/v1/key/decrypt/${KES_TEST_KEY}`], identities: [pki.app.identity] } },
  });
  const creds = await writeCertFiles(dir, 'app', pki.app);
  const d = await startDaemonFor(t, { env: { ...kesEnv([kes]), S3_KMS_KES_CERT_FILE: creds.certFile, S3_KMS_KES_KEY_FILE: creds.keyFile } });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  const other = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: 'other-key' };
  await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'x', ...other })), 'AccessDenied', 403, 'PutObject under the refused key');
  await expectS3Error(t, s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'x', ...other })), 'AccessDenied', 403, 'CreateMultipartUpload under it');
  await expectS3Error(t, s3.send(new PutBucketEncryptionCommand({
    Bucket: bucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'other-key' } }] },
  })), 'AccessDenied', 403, 'PutBucketEncryption naming it');
  await sleep(1100); // past the readiness check's 1 s memo
  t.equal(await readyStatus(d.endpoint), 200, 'still ready: the default key works');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'y', Body: 'y', ServerSideEncryption: 'AES256' }));
  t.same(await listKeys(s3, bucket), ['y'], 'SSE-S3 works; nothing stored under the refused key');
});

t.test('a KES that hangs: the PUT is a 503 after S3_KMS_KES_TIMEOUT, its body unread, nothing stored', async (t) => {
  const kes = await kesServer(t, { pki });
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_KES_TIMEOUT: '1' } }) });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  kes.setFaults({ latencyMs: 4000 });
  for (const size of [MiB, 12 * MiB]) {
    const started = Date.now();
    await unavailable(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: testBytes(size, 4), ServerSideEncryption: 'AES256' })), `PUT of ${size} bytes`);
    const took = Date.now() - started;
    t.ok(took < 3000, `answered after ${took} ms (one 1 s attempt, no request-long hang)`);
  }
  await expectNoTempFiles(t, d.dataDir, 'refused PUTs');
  t.same(countFiles(d.dataDir).data, 0, 'no data file');
  kes.setFaults({ latencyMs: 0 });
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'back', ServerSideEncryption: 'AES256' }));
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'x' })).toString(), 'back', 'KES answering again: the endpoint is tried again at once');
});
