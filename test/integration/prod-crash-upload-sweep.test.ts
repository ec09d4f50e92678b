// kill -9 while an aborted upload's part records are being removed: they go after the abort's
// commit, a batch to a transaction (meta/store-multipart.ts sweepFinished), and the commit notes
// the upload finished, so the daemon started again goes on with the sweep. Nothing of the upload
// is visible after the abort's answer, and none of its part files is left behind for good.
// The 3000 one-byte parts go as hand-signed requests on kept-alive connections (helpers/http.ts
// raw), not through the SDK: its middleware stack cost ~2.5 ms of CPU a request, more than half
// the file's CPU, and how the parts are sent is not what this test is about.
import t from 'tap';
import { AbortMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { startDaemon } from '../helpers/daemon.js';
import { countFiles, waitForFileCounts } from '../helpers/files.js';
import { raw } from '../helpers/http.js';
import { MetaStore } from '../../daemon/meta/store.js';

const PARTS = 3000;

t.test('SIGKILL mid-sweep after an abort: the restarted daemon removes the rest and reaps every part file', async (t) => {
  const env = { S3_INLINE_THRESHOLD: '0' };
  let d = await startDaemon({ env });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const s3 = d.s3();
  await s3.send(new CreateBucketCommand({ Bucket: 'sweep-crash' }));
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'sweep-crash', Key: 'k' }));
  let next = 1;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const failed: string[] = [];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next <= PARTS) {
        const n = next++;
        const r = await raw(d.port, { method: 'PUT', path: '/sweep-crash/k', query: `partNumber=${n}&uploadId=${encodeURIComponent(UploadId!)}`, body: 'p', agent });
        if (r.status !== 200) failed.push(`part ${n}: ${r.status} ${r.body.toString()}`);
      }
    }),
  );
  agent.destroy();
  t.same(failed, [], 'every part upload answered 200');
  t.equal(countFiles(d.dataDir).data, PARTS, 'a data file per part');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: 'sweep-crash', Key: 'k', UploadId }));
  d.proc.kill('SIGKILL');
  await new Promise((r) => d.proc.once('exit', r));

  const seen = new MetaStore(join(d.dataDir, '.s3d'), { readOnly: true });
  const left = seen.listParts(UploadId!, 0, PARTS).length;
  t.equal(seen.getUpload(UploadId!), undefined, 'the upload was gone with the commit');
  t.ok(seen.finishedUploadsPending() && left > 0, `killed mid-sweep: ${left} part records left`);
  await seen.close();

  d = await startDaemon({ env, dataDir: d.dataDir });
  const again = d.s3();
  await t.rejects(again.send(new ListPartsCommand({ Bucket: 'sweep-crash', Key: 'k', UploadId })), { name: 'NoSuchUpload' });
  const counts = await waitForFileCounts(d.dataDir, (c) => c.data === 0, 30_000);
  t.equal(counts.data, 0, 'every part file reaped');
  await d.stop();
  const after = new MetaStore(join(d.dataDir, '.s3d'), { readOnly: true });
  t.same([after.listParts(UploadId!, 0, PARTS).length, after.finishedUploadsPending()], [0, false], 'no part record, nothing left to sweep');
  await after.close();
});
