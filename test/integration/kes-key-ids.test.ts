// SSE-KMS key ids that are no KES key name, against the KES fixture over real mTLS: the client's
// mistake is its own 400 InvalidArgument, decided before KES is asked, on PutObject, CopyObject,
// CreateMultipartUpload and PutBucketEncryption; nothing is stored and no KES call is made.

import t from 'tap';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetBucketEncryptionCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { KES_TEST_KEY, kesEnv, kesServer, requestDelta, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, expectS3Error } from '../helpers/s3.js';

t.test('a key id KES refuses as a name (`_` alone) is 400 InvalidArgument, not a 500', async (t) => {
  const kes = await kesServer(t);
  const d = await startDaemonFor(t, { env: kesEnv([kes]) });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: 'source', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KES_TEST_KEY }));
  const before = kes.counters();
  for (const keyId of ['_', 'arn:aws:kms:_', 'arn:aws:kms:us-east-1:123456789012:key/_', 'alias/_']) {
    const kms = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: keyId };
    await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: 'x', ...kms })), 'InvalidArgument', 400, `PutObject, key id ${keyId}`);
    await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'obj', CopySource: `${bucket}/src`, ...kms })), 'InvalidArgument', 400, `CopyObject, key id ${keyId}`);
    await expectS3Error(t, s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'obj', ...kms })), 'InvalidArgument', 400, `CreateMultipartUpload, key id ${keyId}`);
    await expectS3Error(
      t,
      s3.send(new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyId } }] } })),
      'InvalidArgument',
      400,
      `PutBucketEncryption, KMSMasterKeyID ${keyId}`,
    );
  }
  t.equal(requestDelta(before, kes.counters()).generate ?? 0, 0, 'KES was not asked');
  await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'obj' })), 'NotFound', 404, 'nothing stored');
  await expectS3Error(t, s3.send(new GetBucketEncryptionCommand({ Bucket: bucket })), 'ServerSideEncryptionConfigurationNotFoundError', 404, 'no configuration kept');
});
