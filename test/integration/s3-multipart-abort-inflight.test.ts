// A multipart upload aborted while one of its parts is still arriving: the part, written to a data
// file by then, cannot be stored (its upload is gone), so the UploadPart is answered 404
// NoSuchUpload, as S3 answers a part of an aborted upload, and its data file is removed with the
// upload's other parts: nothing of the upload is left behind, and nothing shows it again.

import t from 'tap';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { bucketName, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { countFiles, waitForFileCounts } from '../helpers/files.js';
import { errorCode, openPut } from '../helpers/http.js';

const MiB = 1024 * 1024;
const d = await startDaemonFor(t);
const s3 = d.s3();

for (const sse of [undefined, 'AES256'] as const) {
  t.test(`an UploadPart in flight when its ${sse ?? 'unencrypted'} upload is aborted: 404 NoSuchUpload, its data file removed`, async (t) => {
    const bucket = bucketName(sse === undefined ? 'abort-part' : 'abort-part-sse');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'k', ...(sse ? { ServerSideEncryption: sse } : {}) }));
    // Part 1 stored; part 2 arriving, and part 1 being sent again (its replacement in flight too).
    await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'k', UploadId, PartNumber: 1, Body: testBytes(5 * MiB, 1) }));
    t.equal(countFiles(d.dataDir).data, 1, 'part 1 is in a data file');
    const inFlight = [2, 1].map((n) => {
      const body = testBytes(2 * MiB, 10 + n);
      return { n, body, put: openPut(d.port, `/${bucket}/k`, body.length, { query: `partNumber=${n}&uploadId=${encodeURIComponent(UploadId!)}` }) };
    });
    for (const p of inFlight) await p.put.write(p.body.subarray(0, MiB));
    // The handlers are writing their parts' files: abort the upload under them.
    await new Promise((r) => setTimeout(r, 300));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'k', UploadId }));
    for (const p of inFlight) p.put.end(p.body.subarray(MiB));
    for (const p of inFlight) {
      const res = await p.put.response;
      t.equal(res.status, 404, `part ${p.n}: 404 (got ${res.status} ${errorCode(res.body) ?? ''})`);
      t.equal(errorCode(res.body), 'NoSuchUpload', `part ${p.n}: NoSuchUpload`);
    }
    await t.rejects(s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'k', UploadId })), { name: 'NoSuchUpload' }, 'the upload is gone');
    t.same((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [], [], 'no upload is listed');
    const counts = await waitForFileCounts(d.dataDir, (c) => c.data === 0 && c.temp === 0, 25_000);
    t.same([counts.data, counts.temp], [0, 0], 'no data or temp file is left: the stored part and both refused ones are removed');
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  });
}
