// A GET whose object is overwritten while the GET waits on KES for its key, and whose old data file
// the reaper deletes meanwhile (its 5 s grace outlasted by the unwrap), looks its object up again,
// up to four times. When the key was overwritten again before each of those lookups could open
// their files, the GET answered the fourth ENOENT as 500 InternalError, logged as an internal
// error: nothing was lost, the key was churning. It is 503 SlowDown now, as CopyObject and
// UploadPartCopy answer the same race, which the SDKs retry; a data file missing under an unchanged
// record stays a 500 (sse-file-reads.test.ts). The interleaving is forced: the fixture holds each
// KES unwrap until the reaper has deleted the file the GET's record names.

import t from 'tap';
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand, type S3ServiceException,
} from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { kesEnv, kesServer, waitReady, wideS3Client } from '../helpers/kes.js';
import { bodyBytes, createBucket, getBytes } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

for (const last of ['overwritten', 'deleted'] as const)
t.test(`a GET whose SSE-KMS object is overwritten and reaped during each KMS unwrap answers 503 SlowDown, not 500 (last ${last})`, async (t) => {
  const kes = await kesServer(t);
  // No cached keys: each lookup unwraps its record's key at KES, where it is held. A long
  // per-attempt KES timeout: the held call must not time out and be tried again.
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_CACHE_TTL: '0', S3_KMS_KES_TIMEOUT: '120' } }) });
  await waitReady(d.endpoint);
  // One attempt: an SDK retry would hide the answer.
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3, 'getchurn');
  const key = 'churning';
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: testBytes(MiB, 50), ServerSideEncryption: 'aws:kms' }));
  // The overwrites, ready before the unwraps are held: completing an upload without a checksum
  // algorithm, listing no part checksums, asks KES for nothing, so it lands while the GET waits.
  const LOOKUPS = 4;
  const uploads: Array<{ id: string; etag: string; body: Buffer }> = [];
  for (let i = 1; i <= LOOKUPS; i++) {
    const body = testBytes(MiB, 50 + i);
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ServerSideEncryption: 'aws:kms' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: body }));
    uploads.push({ id: up.UploadId!, etag: part.ETag!, body });
  }

  const decrypts = (): number => kes.counters().requests.decrypt ?? 0;
  let seen = decrypts();
  kes.setFaults({ hold: true });
  const get = s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then(
    async (out) => ({ ok: await bodyBytes(out) }),
    (err: unknown) => ({ err: err as S3ServiceException }),
  );
  for (const up of uploads) {
    seen = await pollUntil(decrypts, (n) => n === seen + 1, 20_000, 50);
    t.equal(seen, decrypts(), 'the GET waits on KES for the key of the record it looked up');
    const before = dataFilePaths(d.dataDir);
    // Variant: the last change deletes the key instead (a DeleteObject asks KES for nothing either).
    if (last === 'deleted' && up === uploads[LOOKUPS - 1]) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    else await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: up.etag }] } }));
    // The replaced file goes after the reaper's 5 s grace: awaited, not assumed after a sleep.
    const after = await pollUntil(() => dataFilePaths(d.dataDir), (f) => f.length === before.length - 1, 10_000, 100);
    t.equal(after.length, before.length - 1, 'the reaper deleted the replaced data file while the GET waited');
    // Released, and held again before the GET's next lookup reaches KES.
    kes.setFaults({ hold: false });
    kes.setFaults({ hold: true });
  }
  const r = await get;
  kes.setFaults({ hold: false });
  t.ok('err' in r, 'the GET fails: its key was replaced before each lookup could read it');
  t.notOk(d.logs.some((l) => l.includes('internal error')), 'no internal error logged');
  if (last === 'deleted') {
    // Gone by the last lookup: answered as a fresh GET would be (it was 503 SlowDown, retried into the same 404).
    if ('err' in r) t.equal(`${r.err.$metadata?.httpStatusCode} ${r.err.name}`, '404 NoSuchKey', 'the key deleted meanwhile: 404 NoSuchKey');
    return;
  }
  if ('err' in r) {
    t.equal(r.err.$metadata?.httpStatusCode, 503, `503, not 500 (got ${r.err.$metadata?.httpStatusCode} ${r.err.name})`);
    t.equal(r.err.name, 'SlowDown', 'SlowDown, which the SDKs retry');
  }
  t.ok((await getBytes(s3, { Bucket: bucket, Key: key })).equals(uploads[LOOKUPS - 1]!.body), 'a GET now reads the last version');
});
