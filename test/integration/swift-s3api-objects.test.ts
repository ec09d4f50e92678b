// Requests from OpenStack Swift's s3api functional tests (test/s3api/test_object_checksums.py and
// its neighbours), which run against both Swift and AWS S3: the answers asserted here are those the
// tests record for AWS. Sent raw (helpers/http.ts), with the headers boto3 sends, to a real daemon.

import { createHash } from 'node:crypto';
import t from 'tap';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { crc32Base64, sha256Hex } from '../helpers/hash.js';
import { assertXmlError, raw, xmlField } from '../helpers/http.js';
import { createBucket } from '../helpers/s3.js';

let d: TestDaemon;
let bucket: string;

t.before(async () => {
  d = await startDaemon();
  bucket = await createBucket(d.s3(), 'swift-obj');
});
t.teardown(async () => {
  await d.stop();
  d.cleanup();
});

// The tests' body and its checksums.
const BODY = Buffer.from('123456789');
const CRC32 = crc32Base64(BODY); // y/Q5Jg==
const CRC32C = '4waSgw==';
const SHA1 = createHash('sha1').update(BODY).digest('base64');

function put(key: string, headers: Record<string, string>) {
  return raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, body: BODY, headers, sign: { payloadHash: sha256Hex(BODY) } });
}

t.test('x-amz-sdk-checksum-algorithm naming another algorithm than the checksum sent, or none S3 knows: S3 words', async (t) => {
  // test_good_checksum_different_algorithm_header, test_good_checksum_invalid_algorithm_header,
  // TestObjectChecksums.test_different_checksum_requested
  for (const [i, [algorithm, header, value]] of [
    ['CRC32C', 'x-amz-checksum-crc32', CRC32],
    ['SHA1', 'x-amz-checksum-crc32', CRC32],
    ['CRC32C', 'x-amz-checksum-sha1', SHA1],
    ['INVALIDALGO', 'x-amz-checksum-crc32', CRC32],
  ].entries()) {
    const res = await put(`declared-${i}`, { 'x-amz-sdk-checksum-algorithm': algorithm!, [header!]: value! });
    assertXmlError(t, res, 400, 'InvalidRequest', `${algorithm} beside ${header}`);
    t.equal(xmlField(res.body, 'Message'), 'Value for x-amz-sdk-checksum-algorithm header is invalid.', `${algorithm} beside ${header}: S3's message`);
    t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/declared-${i}` })).status, 404, `${algorithm} beside ${header}: nothing stored`);
  }
  // The algorithm of the checksum sent, in any case: taken.
  const ok = await put('declared-ok', { 'x-amz-sdk-checksum-algorithm': 'crc32c', 'x-amz-checksum-crc32c': CRC32C });
  t.equal(ok.status, 200, `the checksum's own algorithm (${ok.body.toString()})`);
});
