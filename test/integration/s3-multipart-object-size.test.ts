// CompleteMultipartUpload refuses an object past S3's 5 TiB: 10,000 parts of up to 5 GiB each
// add up to ~48.8 TiB, and such a list used to complete as one object. Terabytes are not written
// here: the parts are records, so the store of the stopped daemon is given part records of 5 GiB
// (all naming the one small part's data file, which the refused completion never reads).

import t from 'tap';
import { join } from 'node:path';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { MetaStore } from '../../daemon/meta/store.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { clientFor, createBucket, s3Code, sdkFailure, withHeaders } from '../helpers/s3.js';

const GiB = 1024 ** 3;

let d: TestDaemon = await startDaemon();
t.teardown(async () => {
  await d.stop('SIGKILL');
  d.cleanup();
});

const bucket = await createBucket(clientFor(d), 'mpsize');
const key = 'huge';
const up = await clientFor(d).send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
const uploadId = up.UploadId!;
await clientFor(d).send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: 'one small part' }));
if ((await d.stop()) !== 0) throw new Error('the daemon did not stop cleanly');

// 1,024 parts of 5 GiB (exactly 5 TiB) and a 1,025th of one byte.
const m = new MetaStore(join(d.dataDir, '.s3d'));
let etag: string;
try {
  const small = m.listParts(uploadId)[0]!;
  etag = small.etag;
  for (let n = 1; n <= 1025; n++) await m.putPart(uploadId, { ...small, n, size: n <= 1024 ? 5 * GiB : 1 });
} finally {
  await m.close();
}
d = await startDaemon({ dataDir: d.dataDir });
const s3 = clientFor(d, { maxAttempts: 1 });
const parts = (count: number): Array<{ PartNumber: number; ETag: string }> => Array.from({ length: count }, (_, i) => ({ PartNumber: i + 1, ETag: `"${etag}"` }));
const complete = (count: number, headers: Record<string, string> = {}): Promise<unknown> =>
  s3.send(withHeaders(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts(count) } }), headers));

t.test('one byte past 5 TiB: EntityTooLarge, and no object', async (t) => {
  const f = await sdkFailure(complete(1025));
  t.same({ name: f.name, status: f.status }, { name: 'EntityTooLarge', status: 400 }, f.message);
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))), 'NotFound/404', 'nothing was completed');
});

t.test('exactly 5 TiB is within the limit', async (t) => {
  // A wrong x-amz-mp-object-size stops the completion after the size limit was passed (completed,
  // the object would name one small file 1,024 times): the size check is the one that answers.
  t.equal(await s3Code(complete(1024, { 'x-amz-mp-object-size': '1' })), 'InvalidRequest/400', 'refused for the declared size, not EntityTooLarge');
});
