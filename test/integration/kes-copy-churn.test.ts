// A CopyObject whose SSE-KMS source is overwritten (and its old data file reaped) during each KES
// unwrap looks its source up again, up to four times, then answers 503 SlowDown (copy.ts
// withDataPlace). A source deleted by then answers as a fresh copy would: 404 NoSuchKey (it was
// 503 SlowDown, which an SDK retried into the same 404), as a churning GET answers
// (kes-get-churn.test.ts). The interleaving is forced: the fixture holds each KES unwrap until the
// reaper has deleted the file the copy's source record names.

import t from 'tap';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, PutObjectCommand, UploadPartCommand, type S3ServiceException,
} from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { kesEnv, kesServer, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

for (const last of ['overwritten', 'deleted'] as const)
t.test(`a copy whose SSE-KMS source is replaced and reaped during each KMS unwrap (last ${last})`, async (t) => {
  const kes = await kesServer(t);
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_CACHE_TTL: '0', S3_KMS_KES_TIMEOUT: '120' } }) });
  await waitReady(d.endpoint);
  // One attempt: an SDK retry would hide the answer.
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3, 'copychurn');
  const key = 'churning';
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: testBytes(MiB, 60), ServerSideEncryption: 'aws:kms' }));
  // Completing an upload without a checksum algorithm asks KES for nothing: it lands while the copy waits.
  const LOOKUPS = 4;
  const uploads: Array<{ id: string; etag: string }> = [];
  for (let i = 1; i <= LOOKUPS; i++) {
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ServerSideEncryption: 'aws:kms' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: testBytes(MiB, 60 + i) }));
    uploads.push({ id: up.UploadId!, etag: part.ETag! });
  }

  const decrypts = (): number => kes.counters().requests.decrypt ?? 0;
  let seen = decrypts();
  kes.setFaults({ hold: true });
  const copy = s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst', CopySource: `${bucket}/${key}` })).then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err: err as S3ServiceException }),
  );
  for (const up of uploads) {
    seen = await pollUntil(decrypts, (n) => n === seen + 1, 20_000, 50);
    t.equal(seen, decrypts(), 'the copy waits on KES for the key of the source it looked up');
    const before = dataFilePaths(d.dataDir);
    if (last === 'deleted' && up === uploads[LOOKUPS - 1]) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    else await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: up.etag }] } }));
    const after = await pollUntil(() => dataFilePaths(d.dataDir), (f) => f.length === before.length - 1, 10_000, 100);
    t.equal(after.length, before.length - 1, 'the reaper deleted the replaced data file while the copy waited');
    kes.setFaults({ hold: false });
    kes.setFaults({ hold: true });
  }
  const r = await copy;
  kes.setFaults({ hold: false });
  t.ok('err' in r, 'the copy fails: its source was replaced before each lookup could read it');
  if (!('err' in r)) return;
  const want = last === 'deleted' ? '404 NoSuchKey' : '503 SlowDown';
  t.equal(`${r.err.$metadata?.httpStatusCode} ${r.err.name}`, want, `answered ${want}`);
});
