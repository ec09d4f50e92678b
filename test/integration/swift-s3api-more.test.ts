// Requests from OpenStack Swift's s3api functional tests (test/s3api/test_mpu.py, test_object_lock.py),
// which run against both Swift and AWS S3: the answers asserted here are those the tests record for
// AWS, where no other suite asserts them. Sent raw (helpers/http.ts) and with the SDK to a real daemon.

import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { sha256Hex } from '../helpers/hash.js';
import { assertXmlError, raw, xmlField } from '../helpers/http.js';
import { createBucket } from '../helpers/s3.js';

const d = await startDaemonFor(t);
const bucket = await createBucket(d.s3(), 'swift-more');

const MIB5 = 5 * 2 ** 20;

t.test('GET with both a Range and a partNumber: InvalidRequest, before the part number is looked at', async (t) => {
  // test_get_object_partNumber_and_range: a single-part object, and partNumber=0 beside a Range.
  const body = Buffer.from('non-mpu-object');
  await d.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: body }));
  for (const part of ['1', '0']) {
    const res = await raw(d.port, { method: 'GET', path: `/${bucket}/plain`, query: `partNumber=${part}`, headers: { range: 'bytes=1-2' } });
    assertXmlError(t, res, 400, 'InvalidRequest', `partNumber=${part} and a Range`);
    t.equal(xmlField(res.body, 'Message'), 'Cannot specify both Range header and partNumber query parameter', `partNumber=${part} and a Range: S3's message`);
  }
  // test_part_number_non_mpu: part 1 of a single-part object is all of it, as a range.
  const one = await raw(d.port, { method: 'GET', path: `/${bucket}/plain`, query: 'partNumber=1' });
  t.equal(one.status, 206, 'partNumber=1: 206');
  t.equal(one.headers['content-range'], `bytes 0-13/${body.length}`, 'partNumber=1: the whole object as its range');
  t.equal(one.body.toString(), body.toString(), 'partNumber=1: the bytes');
  // The HEAD's refusals have no body: 400 for a number out of bounds, 416 for a part not there.
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/plain`, query: 'partNumber=0' })).status, 400, 'HEAD partNumber=0: 400');
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/plain`, query: 'partNumber=4' })).status, 416, 'HEAD partNumber=4: 416');
});

t.test('an upload completed with parts 1 and 1000: its parts are numbered 1 and 2 after completion', async (t) => {
  // test_create_upload_complete_parts_list_with_gaps
  const s3 = d.s3();
  const key = 'gaps';
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const bodies = [testBytes(MIB5, 1), testBytes(1024, 2)];
  const parts = [];
  for (const [i, n] of [1, 1000].entries()) {
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: bodies[i] }));
    parts.push({ PartNumber: n, ETag });
  }
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
  t.match(done.ETag, /-2"$/, 'the ETag counts two parts');
  const second = await raw(d.port, { method: 'GET', path: `/${bucket}/${key}`, query: 'partNumber=2' });
  t.equal(second.status, 206, 'partNumber=2: 206');
  t.equal(second.headers['etag'], done.ETag, "partNumber=2: the upload's ETag");
  t.equal(second.headers['x-amz-mp-parts-count'], '2', 'partNumber=2: two parts');
  t.equal(second.headers['content-range'], `bytes ${MIB5}-${MIB5 + 1023}/${MIB5 + 1024}`, 'partNumber=2: the range of the part uploaded as 1000');
  t.equal(sha256Hex(second.body), sha256Hex(bodies[1]!), 'partNumber=2: the bytes of the part uploaded as 1000');
  const third = await raw(d.port, { method: 'GET', path: `/${bucket}/${key}`, query: 'partNumber=3' });
  assertXmlError(t, third, 416, 'InvalidPartNumber', 'partNumber=3');
  t.equal(xmlField(third.body, 'Message'), 'The requested partnumber is not satisfiable', "partNumber=3: S3's message");
});

t.test('GetObjectLockConfiguration of a bucket without one: S3 words', async (t) => {
  // test_object_lock.py: test_get_object_lock_configuration
  const res = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'object-lock=' });
  assertXmlError(t, res, 404, 'ObjectLockConfigurationNotFoundError', 'no configuration');
  t.equal(xmlField(res.body, 'Message'), 'Object Lock configuration does not exist for this bucket', "no configuration: S3's message");
});
