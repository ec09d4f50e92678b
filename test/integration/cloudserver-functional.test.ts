// Expectations of Scality CloudServer's functional tests (tests/functional/aws-node-sdk and
// raw-node) that CloudServer runs against AWS too (AWS_ON_AIR) and s3d answered otherwise; each
// case names the CloudServer test it comes from.
import t from 'tap';
import { createHash } from 'node:crypto';
import { CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { assertXmlError, raw, xmlField } from '../helpers/http.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const bucket = 'cloudserver-functional';
await s3.send(new CreateBucketCommand({ Bucket: bucket }));

const sha256Hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

// raw-node/test/xAmzContentSha256Mismatch.js: CompleteMultipartUpload of an upload ID that names
// nothing, with a wrong x-amz-content-sha256, is S3's 400 XAmzContentSHA256Mismatch (the body is
// checked before the upload is looked up); s3d answered 404 NoSuchUpload without reading it.
t.test('CompleteMultipartUpload: a body that does not match its SHA-256 is XAmzContentSHA256Mismatch before the upload is looked up', async (t) => {
  const body = 'not parsed before the content-sha256 check';
  const wrong = sha256Hex('completely different content');
  const complete = (query: string, payloadHash: string, text: string = body): ReturnType<typeof raw> =>
    raw(d.port, { method: 'POST', path: `/${bucket}/key`, query, body: text, sign: { payloadHash } });
  const fake = await complete('uploadId=fakeUploadId', wrong);
  assertXmlError(t, fake, 400, 'XAmzContentSHA256Mismatch', 'no such upload, wrong hash');
  t.equal(xmlField(fake.body, 'S3ComputedContentSHA256'), sha256Hex(body), 'the computed hash named');
  // With the hash right, the upload's own fault comes first, as before.
  assertXmlError(t, await complete('uploadId=fakeUploadId', sha256Hex(body)), 404, 'NoSuchUpload', 'no such upload, right hash');

  // A real upload: the mismatch is refused and the upload stays, to be completed.
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'key' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'key', UploadId, PartNumber: 1, Body: 'foo' }));
  const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.ETag}</ETag></Part></CompleteMultipartUpload>`;
  const query = `uploadId=${encodeURIComponent(UploadId!)}`;
  assertXmlError(t, await complete(query, sha256Hex(`${xml} `), xml), 400, 'XAmzContentSHA256Mismatch', 'a real upload, wrong hash');
  const done = await complete(query, sha256Hex(xml), xml);
  t.equal(done.status, 200, `completed with the right hash: ${done.body.toString()}`);
});
