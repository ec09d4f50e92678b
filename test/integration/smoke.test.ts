// Smoke: the built daemon starts, serves a bucket and an object round trip through the AWS SDK.
import t from 'tap';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { bucketName, startDaemon, testBytes } from '../helpers/daemon.js';

t.test('PUT then GET through @aws-sdk/client-s3', async (t) => {
  const d = await startDaemon();
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const s3 = d.s3();
  const bucket = bucketName();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const body = testBytes(300_000);
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/obj', Body: body }));
  t.match(put.ETag, /^"[0-9a-f]{32}"$/);
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/obj' }));
  const bytes = Buffer.from(await got.Body!.transformToByteArray());
  t.ok(bytes.equals(body), 'bytes round-trip');
  t.equal(await d.stop(), 0, 'SIGTERM exits 0');
});
