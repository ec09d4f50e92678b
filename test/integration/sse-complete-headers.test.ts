// CompleteMultipartUpload carrying the upload's own SSE-S3/SSE-KMS headers, as minio-go sends them
// to every endpoint but AWS's (minio-go#1777, #1838: mc cp --enc-kms, Thanos, Loki…): taken, as
// MinIO takes them (they were 400 InvalidArgument, so every such upload failed at its end), on the
// completion and on its retry; headers asking for another kind, key or context stay refused and
// complete nothing.

import t from 'tap';
import type { Test } from 'tap';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { clientWithoutResponseChecksums, createBucket, expectS3Error, withHeaders } from '../helpers/s3.js';
import { KMS_KEY_ARN, KMS_KEY_ID } from '../helpers/sse.js';

const SSE = 'x-amz-server-side-encryption';
const KEY_ID = 'x-amz-server-side-encryption-aws-kms-key-id';
const CONTEXT = 'x-amz-server-side-encryption-context';
/** minio-go's encrypt.NewSSEKMS context: base64 of Go's json.Marshal of the map. */
const ctxHeader = (o: Record<string, string>): string => Buffer.from(JSON.stringify(o)).toString('base64');

interface Upload {
  complete(headers: Record<string, string>): Promise<unknown>;
}

/** An upload of one part created with `create`, ready to be completed with any headers. */
async function upload(s3: S3Client, bucket: string, key: string, create: Record<string, string | undefined>): Promise<Upload> {
  const c = await s3.send(withHeaders(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }), create));
  const p = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, PartNumber: 1, Body: testBytes(1000, key.length) }));
  const parts = { Parts: [{ PartNumber: 1, ETag: p.ETag }] };
  return { complete: (headers) => s3.send(withHeaders(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, MultipartUpload: parts }), headers)) };
}

async function readsBack(t: Test, s3: S3Client, bucket: string, key: string, sse: string): Promise<void> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(testBytes(1000, key.length)), `${key}: reads back`);
  t.equal(got.ServerSideEncryption, sse, `${key}: stored ${sse}`);
}

t.test('the completion takes SSE headers restating the upload\'s encryption, refuses others', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = clientWithoutResponseChecksums(d);
  const bucket = await createBucket(s3);

  const s3Up = await upload(s3, bucket, 'sse-s3', { [SSE]: 'AES256' });
  const s3Done = (await s3Up.complete({ [SSE]: 'AES256' })) as { ServerSideEncryption?: string };
  t.equal(s3Done.ServerSideEncryption, 'AES256', 'SSE-S3 restated: completed');
  await readsBack(t, s3, bucket, 'sse-s3', 'AES256');
  t.equal(((await s3Up.complete({ [SSE]: 'AES256' })) as { ServerSideEncryption?: string }).ServerSideEncryption, 'AES256', 'its retry is answered too');

  const ctx = { app: 'thanos', tenant: 't1' };
  const kmsCreate = { [SSE]: 'aws:kms', [KEY_ID]: KMS_KEY_ID, [CONTEXT]: ctxHeader(ctx) };
  const kmsUp = await upload(s3, bucket, 'sse-kms', kmsCreate);
  // The refusals first: nothing is completed by them.
  const others: Array<[Record<string, string>, string]> = [
    [{ [SSE]: 'AES256' }, 'another kind'],
    [{ [SSE]: 'aws:kms', [KEY_ID]: 'other-key' }, 'another KMS key'],
    [{ [SSE]: 'aws:kms', [CONTEXT]: ctxHeader({ app: 'loki' }) }, 'another context'],
    [{ [KEY_ID]: KMS_KEY_ID }, 'a key id without the SSE header'],
    // No upload is DSSE-KMS (501 on CreateMultipartUpload): on the completion it is a header asking for another encryption.
    [{ [SSE]: 'aws:kms:dsse', [KEY_ID]: KMS_KEY_ID }, 'DSSE-KMS'],
  ];
  for (const [headers, what] of others) await expectS3Error(t, kmsUp.complete(headers), 'InvalidArgument', 400, `SSE-KMS upload completed with ${what}`);
  await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sse-kms' })), 'NotFound', 404, 'nothing completed by them');
  const kmsDone = (await kmsUp.complete(kmsCreate)) as { ServerSideEncryption?: string; SSEKMSKeyId?: string };
  t.same([kmsDone.ServerSideEncryption, kmsDone.SSEKMSKeyId], ['aws:kms', KMS_KEY_ARN], 'SSE-KMS restated (key id and context): completed');
  await readsBack(t, s3, bucket, 'sse-kms', 'aws:kms');
  await expectS3Error(t, kmsUp.complete({ [SSE]: 'AES256' }), 'InvalidArgument', 400, 'a retry asking for another kind is still refused');
  t.equal(((await kmsUp.complete({ [SSE]: 'aws:kms', [KEY_ID]: KMS_KEY_ARN })) as { SSEKMSKeyId?: string }).SSEKMSKeyId, KMS_KEY_ARN, 'a retry restating it (the key as an ARN) is answered');

  // An unencrypted upload: any SSE header asks for encryption it does not have.
  const plain = await upload(s3, bucket, 'plain', {});
  await expectS3Error(t, plain.complete({ [SSE]: 'AES256' }), 'InvalidArgument', 400, 'SSE-S3 on the completion of an unencrypted upload');
  await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'plain' })), 'NotFound', 404, 'no unencrypted object made');
});
