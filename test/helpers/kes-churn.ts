// A key churning while a request waits on KES (kes-get-churn, kes-copy-churn): the KES fixture
// holds each unwrap the request makes until the key has been replaced (or, last, deleted) and the
// reaper has deleted the data file the request's record names. The request then looks the key up
// again, up to LOOKUPS times (ops/object.ts, ops/copy.ts withDataPlace).

import type { Test } from 'tap';
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client, type S3ServiceException,
} from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes, type TestDaemon } from './daemon.js';
import { dataFilePaths } from './files.js';
import { kesEnv, kesServer, waitReady, wideS3Client } from './kes.js';
import { createBucket } from './s3.js';
import { pollUntil } from './wait.js';

const MiB = 1024 * 1024;

/** How many times a request looks a churning key up before it gives up. */
export const LOOKUPS = 4;

export interface Churn {
  d: TestDaemon;
  /** A client that tries once: an SDK retry would hide the answer. */
  s3: S3Client;
  bucket: string;
  key: string;
  /** The bodies of the LOOKUPS replacements, in order. */
  bodies: Buffer[];
  /** Runs `request` through the churn; `last` is what the final change does to the key. */
  during<T>(request: () => Promise<T>, last: 'overwritten' | 'deleted'): Promise<{ ok: T } | { err: S3ServiceException }>;
}

/** A daemon on a KES fixture, SSE-KMS object `churning` in a new bucket, and LOOKUPS uploads ready to replace it. */
export async function churnSetup(t: Test, bucketName: string, seed: number): Promise<Churn> {
  const kes = await kesServer(t);
  // No cached keys: each lookup unwraps its record's key at KES, where it is held. A long
  // per-attempt KES timeout: the held call must not time out and be tried again.
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_CACHE_TTL: '0', S3_KMS_KES_TIMEOUT: '120' } }) });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3, bucketName);
  const key = 'churning';
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: testBytes(MiB, seed), ServerSideEncryption: 'aws:kms' }));
  // The replacements, ready before the unwraps are held: completing an upload without a checksum
  // algorithm, listing no part checksums, asks KES for nothing (nor does a DeleteObject), so it
  // lands while the request waits, as long as its part has a checksum of the client's: a part sent
  // without one keeps S3's default CRC64NVME, sealed, and the completion would unseal the object
  // key at KES to answer the whole object's (ops/multipart-complete.ts). The CRC32 is asked for here, not
  // left to the SDK's default.
  const uploads: Array<{ id: string; etag: string; body: Buffer }> = [];
  for (let i = 1; i <= LOOKUPS; i++) {
    const body = testBytes(MiB, seed + i);
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ServerSideEncryption: 'aws:kms' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: body, ChecksumAlgorithm: 'CRC32' }));
    uploads.push({ id: up.UploadId!, etag: part.ETag!, body });
  }
  const decrypts = (): number => kes.counters().requests.decrypt ?? 0;
  const during = async <T>(request: () => Promise<T>, last: 'overwritten' | 'deleted'): Promise<{ ok: T } | { err: S3ServiceException }> => {
    let seen = decrypts();
    kes.setFaults({ hold: true });
    const answer = request().then(
      (ok) => ({ ok }),
      (err: unknown) => ({ err: err as S3ServiceException }),
    );
    for (const up of uploads) {
      seen = await pollUntil(decrypts, (n) => n === seen + 1, 20_000, 50);
      t.equal(seen, decrypts(), 'the request waits on KES for the key of the record it looked up');
      const before = dataFilePaths(d.dataDir);
      if (last === 'deleted' && up === uploads[LOOKUPS - 1]) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      else await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: up.etag }] } }));
      // The replaced file goes after the reaper's 5 s grace: awaited, not assumed after a sleep.
      const after = await pollUntil(() => dataFilePaths(d.dataDir), (f) => f.length === before.length - 1, 10_000, 100);
      t.equal(after.length, before.length - 1, 'the reaper deleted the replaced data file while the request waited');
      // Released, and held again before the request's next lookup reaches KES.
      kes.setFaults({ hold: false });
      kes.setFaults({ hold: true });
    }
    const r = await answer;
    kes.setFaults({ hold: false });
    return r;
  };
  return { d, s3, bucket, key, bodies: uploads.map((u) => u.body), during };
}
