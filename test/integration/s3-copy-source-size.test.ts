// CopyObject, and UploadPartCopy without a range, refuse a source past S3's 5 GiB copy limit
// before reading a byte: 400 InvalidRequest "The specified copy source is larger than the maximum
// allowable size for a copy source: 5368709120", as S3 answers it (rclone#2375, quoting S3). No
// 5 GiB is written here: the source is a multipart object whose first part's record is given
// 5 GiB on the stopped daemon's store (naming the small part's data file, which a refused copy
// never reads), and a real one-byte second part, which a ranged UploadPartCopy reads.

import t from 'tap';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { MetaStore } from '../../daemon/meta/store.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { bodyBytes, clientFor, createBucket, s3Code, sdkFailure } from '../helpers/s3.js';

const GiB = 1024 ** 3;
const LIMIT = 5 * GiB;

let d: TestDaemon = await startDaemon();
t.teardown(async () => {
  await d.stop('SIGKILL');
  d.cleanup();
});

const bucket = await createBucket(clientFor(d), 'copysize');
const source = 'huge';
const up = await clientFor(d).send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: source }));
const uploadId = up.UploadId!;
const sent = await Promise.all([
  clientFor(d).send(new UploadPartCommand({ Bucket: bucket, Key: source, UploadId: uploadId, PartNumber: 1, Body: 'a small first part' })),
  clientFor(d).send(new UploadPartCommand({ Bucket: bucket, Key: source, UploadId: uploadId, PartNumber: 2, Body: 'z' })),
]);
if ((await d.stop()) !== 0) throw new Error('the daemon did not stop cleanly');

// Part 1 becomes 5 GiB in its record: the object will be 5 GiB and one byte.
const m = new MetaStore(join(d.dataDir, '.s3d'));
try {
  const first = m.listParts(uploadId).find((p) => p.n === 1)!;
  await m.putPart(uploadId, { ...first, size: LIMIT });
} finally {
  await m.close();
}
d = await startDaemon({ dataDir: d.dataDir });
const s3 = clientFor(d, { maxAttempts: 1 });
await s3.send(
  new CompleteMultipartUploadCommand({
    Bucket: bucket,
    Key: source,
    UploadId: uploadId,
    MultipartUpload: { Parts: sent.map((p, i) => ({ PartNumber: i + 1, ETag: p.ETag! })) },
  }),
);
const size = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: source }))).ContentLength;
if (size !== LIMIT + 1) throw new Error(`the source is ${size} bytes, not 5 GiB and one`);

const TOO_LARGE = `The specified copy source is larger than the maximum allowable size for a copy source: ${LIMIT}`;

t.test('CopyObject of a source one byte past 5 GiB: InvalidRequest, and no copy', async (t) => {
  for (const [what, key] of [['to another key', 'copy'], ['onto itself (a metadata change)', source]] as const) {
    const f = await sdkFailure(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/${source}`, MetadataDirective: 'REPLACE', ContentType: 'text/plain' })));
    t.same({ name: f.name, status: f.status, message: f.message }, { name: 'InvalidRequest', status: 400, message: TOO_LARGE }, what);
  }
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy' }))), 'NotFound/404', 'nothing was copied');
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: source }));
  t.same([head.ContentLength, head.ContentType], [LIMIT + 1, 'binary/octet-stream'], 'the source is unchanged');
});

t.test('UploadPartCopy of it: refused without a range, taken with one', async (t) => {
  const dst = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'parts' }));
  const copyPart = (n: number, range?: string): Promise<unknown> =>
    s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'parts', UploadId: dst.UploadId!, PartNumber: n, CopySource: `${bucket}/${source}`, CopySourceRange: range }));
  const f = await sdkFailure(copyPart(1));
  t.same({ name: f.name, status: f.status, message: f.message }, { name: 'InvalidRequest', status: 400, message: TOO_LARGE }, 'no range: the whole source, refused');
  t.equal((await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'parts', UploadId: dst.UploadId! }))).Parts?.length ?? 0, 0, 'no part stored');
  // A range within the limit is how a larger object is copied: the last byte (part 2, real data).
  await copyPart(1, `bytes=${LIMIT}-${LIMIT}`);
  const parts = (await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'parts', UploadId: dst.UploadId! }))).Parts ?? [];
  t.same(parts.map((p) => [p.PartNumber, p.Size]), [[1, 1]], 'the ranged copy stored its byte');
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'parts', UploadId: dst.UploadId!, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: parts[0]!.ETag! }] } }));
  t.ok(done.ETag, 'completed');
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'parts' }));
  t.equal((await bodyBytes(got)).toString(), 'z', 'the byte past 5 GiB');
});
