// A copy whose source is overwritten while the copy waits on KES for the source's key, and whose
// old data file the reaper deletes meanwhile (its 5 s grace outlasted by the unwrap), looks its
// source up again, as a GET looks its object up again: CopyObject and UploadPartCopy copy what the
// key holds now, and a copy-source condition is judged against it; a source deleted meanwhile is
// NoSuchKey, a named version deleted NoSuchVersion, as a fresh request would be answered. Both
// answered 404 NoSuchKey, "The copy source was replaced during the copy; retry.", for a key that
// existed throughout, which no client retries. The interleaving is forced: the fixture holds the
// KES unwraps until the reaper has deleted the replaced files.

import t from 'tap';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, PutBucketVersioningCommand, PutObjectCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { kesEnv, kesServer, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, expectS3Error, getBytes } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

/** `p`'s outcome, its rejection handled now (it is awaited after polling: no unhandled rejection meanwhile). */
function settled<T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown }> {
  return p.then((ok) => ({ ok }), (err: unknown) => ({ err }));
}

t.test('a copy whose SSE-KMS source is overwritten and reaped during the KMS unwrap copies the source as it is now', async (t) => {
  const kes = await kesServer(t);
  // No cached keys: each copy unwraps its source's key at KES, where it is held. A long per-attempt
  // KES timeout: the held call must not time out and be tried again.
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_CACHE_TTL: '0', S3_KMS_KES_TIMEOUT: '120' } }) });
  await waitReady(d.endpoint);
  // One attempt: an SDK retry would hide the answer.
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3, 'copyreplaced');
  const v1 = testBytes(2 * MiB, 41);
  const put = (key: string, body: Buffer, kms: boolean, b = bucket): Promise<{ ETag?: string; VersionId?: string }> =>
    s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: body, ...(kms ? { ServerSideEncryption: 'aws:kms' as const } : {}) }));
  // Each source with its own key to unwrap (no two copies share a KES call).
  await put('src-copy', v1, true);
  await put('src-part', v1, true);
  const v1ETag = (await put('src-cond', v1, true)).ETag;
  await put('src-del', v1, true);
  const versioned = await createBucket(s3, 'copyreplacedv');
  await s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
  const named = (await put('src-ver', v1, true, versioned)).VersionId!;
  const v1Files = dataFilePaths(d.dataDir);
  t.equal(v1Files.length, 5, 'the first versions have their data files');
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));

  const decrypts = (): number => kes.counters().requests.decrypt ?? 0;
  const before = decrypts();
  kes.setFaults({ hold: true });
  const copy = settled(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst', CopySource: `${bucket}/src-copy` })));
  const part = settled(s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, CopySource: `${bucket}/src-part` })));
  const cond = settled(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst-cond', CopySource: `${bucket}/src-cond`, CopySourceIfMatch: v1ETag })));
  const del = settled(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst-del', CopySource: `${bucket}/src-del` })));
  const ver = settled(s3.send(new CopyObjectCommand({ Bucket: versioned, Key: 'dst-ver', CopySource: `${versioned}/src-ver?versionId=${named}` })));
  t.equal(await pollUntil(decrypts, (n) => n === before + 5, 20_000, 50), before + 5, 'the five copies wait on KES for their source keys');

  // Overwritten unencrypted (no KES call), or deleted, while the unwraps are held; the old data
  // files go to the reaper, which deletes them after its 5 s grace: awaited, not assumed after a
  // fixed sleep (up to 8.5 s: the HTTP layer closes a connection idle for 10 s).
  const v2 = testBytes(2 * MiB, 42);
  for (const key of ['src-copy', 'src-part', 'src-cond']) await put(key, v2, false);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'src-del' }));
  // The key keeps a current version: only the version the copy names is gone.
  await put('src-ver', v2, false, versioned);
  await s3.send(new DeleteObjectCommand({ Bucket: versioned, Key: 'src-ver', VersionId: named }));
  const files = await pollUntil(() => dataFilePaths(d.dataDir), (f) => !v1Files.some((v) => f.includes(v)), 8_500, 100);
  t.notOk(v1Files.some((v) => files.includes(v)), 'the reaper deleted the replaced data files while the copies waited');
  kes.setFaults({ hold: false });

  const copied = await copy;
  t.ok('ok' in copied, `CopyObject succeeds (it answered NoSuchKey for a key that existed throughout): ${'err' in copied ? String(copied.err) : ''}`);
  if ('ok' in copied) t.ok((await getBytes(s3, { Bucket: bucket, Key: 'dst' })).equals(v2), 'and copied the source as it is now');

  const partCopied = await part;
  t.ok('ok' in partCopied, `UploadPartCopy succeeds: ${'err' in partCopied ? String(partCopied.err) : ''}`);
  if ('ok' in partCopied) {
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: partCopied.ok.CopyPartResult?.ETag }] } }));
    t.ok((await getBytes(s3, { Bucket: bucket, Key: 'mp' })).equals(v2), 'its part holds the source as it is now');
  }

  // Judged again as a fresh request would be: the condition against the source as it is now; a
  // deleted key, a deleted version, answered as such.
  const outcome = <T>(p: Promise<{ ok: T } | { err: unknown }>): Promise<T> => p.then((r) => ('err' in r ? Promise.reject(r.err) : r.ok));
  await expectS3Error(t, outcome(cond), 'PreconditionFailed', 412, 'a copy whose x-amz-copy-source-if-match names the replaced version');
  await expectS3Error(t, outcome(del), 'NoSuchKey', 404, 'a copy whose source was deleted');
  await expectS3Error(t, outcome(ver), 'NoSuchVersion', 404, 'a copy of a named version that was deleted (the key has a newer one)');
});
