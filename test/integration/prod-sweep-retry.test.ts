// The part records of a completed or aborted upload go after its commit, a batch at a time
// (meta/store-multipart.ts sweepFinished), and the files of parts no object keeps go with them.
// A sweep commit that fails (here: strace fails LMDB's fdatasync, as a failing or full disk does)
// is logged and tried again a few seconds later: the files of an aborted upload, which are what
// frees the space, were otherwise kept until the next completion, abort or start.
import t from 'tap';
import { join } from 'node:path';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { startDaemon, testBytes } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { createBucket } from '../helpers/s3.js';
import { NO_STRACE, detach, tamper } from '../helpers/strace.js';
import { pollUntil } from '../helpers/wait.js';

t.test('a failed sweep commit is logged and tried again: the aborted upload\'s part files go', { skip: NO_STRACE }, async (t) => {
  // One libuv thread: LMDB's commits all run on it, so strace's count of its fdatasync calls
  // (kept per thread) passes the abort's commit and fails the sweep's.
  const d = await startDaemon({ env: { UV_THREADPOOL_SIZE: '1' } });
  t.teardown(() => d.cleanup());
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'sweepretry');
  const before = dataFilePaths(d.dataDir).length;
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));
  for (let n = 1; n <= 3; n++) await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId, PartNumber: n, Body: testBytes(300_000, n) }));
  t.equal(dataFilePaths(d.dataDir).length, before + 3, 'three part files');

  // The abort's own commit syncs; every sync after it fails until strace lets go.
  const strace = await tamper(d.proc.pid!, join(d.dataDir, '.s3d', 'meta', 'data.mdb'), 'error=EIO:when=2+');
  try {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId }));
    await d.waitForLog((l) => l.msg === 'removing the part records of completed or aborted uploads failed; tried again in 5 s', 10_000);
    t.pass('the failed sweep commit is logged');
  } finally {
    await detach(strace);
  }
  t.equal(dataFilePaths(d.dataDir).length, before + 3, 'the part files are kept while their records are');
  // No other completion or abort: only the retry can remove them (then the reaper, within 2 s).
  const left = await pollUntil(() => dataFilePaths(d.dataDir).length, (n) => n === before, 20_000, 250);
  t.equal(left, before, 'the retry removed the part records and the reaper their files');
  t.equal(await d.stop(), 0, 'the daemon stops cleanly');
});
