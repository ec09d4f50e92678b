// Requests from OpenStack Swift's s3api functional tests (test/s3api/test_object_checksums.py and
// its neighbours), which run against both Swift and AWS S3: the answers asserted here are those the
// tests record for AWS. Sent raw (helpers/http.ts), with the headers boto3 sends, to a real daemon.

import { CreateMultipartUploadCommand, UploadPartCommand, type ChecksumAlgorithm } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import t from 'tap';
import { startDaemonFor } from '../helpers/daemon.js';
import { crc32Base64, sha256Hex } from '../helpers/hash.js';
import { assertXmlError, raw, xmlField } from '../helpers/http.js';
import { createBucket } from '../helpers/s3.js';

const d = await startDaemonFor(t);
const bucket = await createBucket(d.s3(), 'swift-obj');

// The tests' body and its checksums.
const BODY = Buffer.from('123456789');
const CRC32 = crc32Base64(BODY); // y/Q5Jg==
const CRC32C = '4waSgw==';
const SHA1 = createHash('sha1').update(BODY).digest('base64');
const SHA256 = createHash('sha256').update(BODY).digest('base64');
// The COMPOSITE checksum of an upload of one part of BODY: the CRC32 of the part's CRC32, then -1.
const CRC32_COMPOSITE_1 = '7kxlUA==';

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

/** An upload created with `algorithm` (COMPOSITE), its parts `numbers` each BODY with its checksum; the parts' ETag. */
async function uploadOf(key: string, algorithm: ChecksumAlgorithm, numbers: number[]): Promise<{ uploadId: string; etag: string }> {
  const s3 = d.s3();
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: algorithm, ChecksumType: 'COMPOSITE' }));
  let etag = '';
  for (const n of numbers) {
    const value = { CRC32, CRC32C, SHA1, SHA256 }[algorithm as 'CRC32'];
    ({ ETag: etag = '' } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: BODY, [`Checksum${algorithm}`]: value })));
  }
  return { uploadId: UploadId!, etag };
}

function complete(key: string, uploadId: string, parts: Array<{ n: number; etag: string; checksums: Record<string, string> }>, headers: Record<string, string> = {}) {
  const xml = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts
    .map((p) => `<Part>${Object.entries(p.checksums).map(([alg, v]) => `<Checksum${alg}>${v}</Checksum${alg}>`).join('')}<ETag>${p.etag}</ETag><PartNumber>${p.n}</PartNumber></Part>`)
    .join('')}</CompleteMultipartUpload>`;
  return raw(d.port, { method: 'POST', path: `/${bucket}/${key}`, query: `uploadId=${encodeURIComponent(uploadId)}`, body: xml, headers, sign: { payloadHash: sha256Hex(xml) } });
}

t.test('CompleteMultipartUpload: a part checksum that is no base64 of its size, or several, named in ArgumentValue', async (t) => {
  const { uploadId, etag } = await uploadOf('invalid-part-checksum', 'CRC32C', [1, 2]);
  // test_mpu_complete_invalid_part_checksum, test_mpu_complete_mixed_invalid_checksums
  const invalid = await complete('invalid-part-checksum', uploadId, [{ n: 1, etag, checksums: { CRC32C: '4waSgx==' } }, { n: 2, etag, checksums: { CRC32C } }]);
  assertXmlError(t, invalid, 400, 'InvalidArgument', 'an invalid part checksum');
  t.equal(xmlField(invalid.body, 'Message'), 'Invalid Base64 or multiple checksums present in request', "an invalid part checksum: S3's message");
  t.equal(xmlField(invalid.body, 'ArgumentName'), 'Checksum', 'an invalid part checksum: ArgumentName');
  t.equal(xmlField(invalid.body, 'ArgumentValue'), 'CRC32C:4waSgx==;', 'an invalid part checksum: ArgumentValue');
  // test_mpu_complete_multi_checksum
  const several = await complete('invalid-part-checksum', uploadId, [{ n: 1, etag, checksums: { CRC32C } }, { n: 2, etag, checksums: { CRC32C, CRC32, SHA1, SHA256 } }]);
  assertXmlError(t, several, 400, 'InvalidArgument', 'four checksums of a part');
  t.equal(xmlField(several.body, 'ArgumentName'), 'Checksum', 'four checksums: ArgumentName');
  t.equal(xmlField(several.body, 'ArgumentValue'), `CRC32:${CRC32};CRC32C:${CRC32C};SHA1:${SHA1};SHA256:${SHA256};`, 'four checksums: each named');
});

t.test('CompleteMultipartUpload of a COMPOSITE upload: checksums S3 did not receive, and the object checksum, in S3 words', async (t) => {
  // test_mpu_complete_mixed_checksums: part 2 listed with a CRC32 of an upload of CRC32Cs.
  const mixed = await uploadOf('mixed', 'CRC32C', [2, 1]);
  const res = await complete('mixed', mixed.uploadId, [{ n: 1, etag: mixed.etag, checksums: { CRC32C } }, { n: 2, etag: mixed.etag, checksums: { CRC32 } }]);
  assertXmlError(t, res, 400, 'BadDigest', 'a part listed with a checksum of another algorithm');
  t.equal(xmlField(res.body, 'Message'), 'The crc32 you specified for part 2 did not match what we received.', "another algorithm: S3's message");

  const { uploadId, etag } = await uploadOf('object-checksum', 'CRC32', [1]);
  const part = (value: string) => [{ n: 1, etag, checksums: { CRC32: value } }];
  // test_mpu_complete_bad_checksum, test_mpu_complete_good_checksum_with_bad_part_number: the
  // algorithm in lower case (a PUT's is in upper case).
  for (const value of ['z/Q5Jg==', `${CRC32_COMPOSITE_1}-2`]) {
    const bad = await complete('object-checksum', uploadId, part(CRC32), { 'x-amz-checksum-crc32': value });
    assertXmlError(t, bad, 400, 'BadDigest', `object checksum ${value}`);
    t.equal(xmlField(bad.body, 'Message'), 'The crc32 you specified did not match the calculated checksum.', `object checksum ${value}: S3's message`);
  }
  // test_mpu_complete_bad_part_checksum_good_global_checksum: the object checksum is held against
  // the listed part checksums first.
  const badPart = await complete('object-checksum', uploadId, part('z/Q5Jg=='), { 'x-amz-checksum-crc32': CRC32_COMPOSITE_1 });
  assertXmlError(t, badPart, 400, 'BadDigest', 'a wrong part checksum beside the right object checksum');
  t.equal(xmlField(badPart.body, 'Message'), 'The crc32 you specified did not match the calculated checksum.', "wrong part checksum: S3's message");
  // A wrong part checksum alone: test_mpu_complete_bad_part_checksum (InvalidPart, as before).
  assertXmlError(t, await complete('object-checksum', uploadId, part('z/Q5Jg==')), 400, 'InvalidPart', 'a wrong part checksum alone');
  // test_mpu_complete_good_checksum_with_good_part_number
  const ok = await complete('object-checksum', uploadId, part(CRC32), { 'x-amz-checksum-crc32': `${CRC32_COMPOSITE_1}-1` });
  t.equal(ok.status, 200, `the right object checksum (${ok.body.toString()})`);
  t.equal(xmlField(ok.body, 'ChecksumCRC32'), `${CRC32_COMPOSITE_1}-1`, 'the object checksum answered');
});

t.test('CreateMultipartUpload with a list of checksum algorithms: S3 words', async (t) => {
  // test_mpu_create_multiple_checksum_algorithms
  const res = await raw(d.port, { method: 'POST', path: `/${bucket}/two-algorithms`, query: 'uploads=', headers: { 'x-amz-checksum-algorithm': 'CRC32,CRC32C' } });
  assertXmlError(t, res, 400, 'InvalidRequest', 'CRC32,CRC32C');
  t.equal(xmlField(res.body, 'Message'), 'Invalid types are specified in x-amz-checksum-algorithm header.', "CRC32,CRC32C: S3's message");
});

t.test('GET and HEAD with an x-amz-checksum-mode other than ENABLED: 400', async (t) => {
  // test_full_content_with_checksum_checksum_mode_invalid, test_full_content_no_checksum_checksum_mode_invalid
  t.equal((await put('mode', { 'x-amz-checksum-crc32': CRC32 })).status, 200, 'stored');
  const get = await raw(d.port, { method: 'GET', path: `/${bucket}/mode`, headers: { 'x-amz-checksum-mode': 'INVALID' } });
  assertXmlError(t, get, 400, 'InvalidRequest', 'GET');
  t.equal(xmlField(get.body, 'Message'), 'Value for x-amz-checksum-mode header is invalid.', "GET: S3's message");
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/mode`, headers: { 'x-amz-checksum-mode': 'INVALID' } })).status, 400, 'HEAD: 400');
  const enabled = await raw(d.port, { method: 'HEAD', path: `/${bucket}/mode`, headers: { 'x-amz-checksum-mode': 'ENABLED' } });
  t.equal(enabled.headers['x-amz-checksum-crc32'], CRC32, 'ENABLED: the checksum');
});
