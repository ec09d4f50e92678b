// Unsigned requests that carry what belongs to a signed one, under a bucket policy that admits
// anonymous writes (`mc anonymous set public`): an x-amz-content-sha256 that is not the body's,
// a signed streaming mode with no signature to chain its chunks from, a session token (header,
// query or form field) dropped for anonymous access. Each is refused and stores nothing; what
// needs no signature (an unsigned trailer) is decoded and checked. Split from
// s3-bucket-policy-access.test.ts (what a policy admits).

import t from 'tap';
import { startDaemon } from '../helpers/daemon.js';
import { crc32Base64, sha256Hex } from '../helpers/hash.js';
import { assertXmlError } from '../helpers/http.js';
import { formData, postForm } from '../helpers/post-object.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { mcPublic, objectPath, policyHelpers } from '../helpers/bucket-policy.js';

const d = await startDaemon();
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await d.stop();
  d.cleanup();
});
const s3 = d.s3();
const { anon, setPolicy, signedHeadStatus, putObjects } = policyHelpers(d, s3);

t.test('an anonymous PUT\'s x-amz-content-sha256 is checked as a signed one\'s: a wrong hash or a signed streaming mode stores nothing; an unsigned trailer is decoded', async (t) => {
  const bucket = await createBucket(s3, 'sha');
  await setPolicy(bucket, mcPublic(bucket));
  const body = 'uploaded anonymously';
  // A hash that is not the body's (a policy's s3:x-amz-content-sha256 condition reads it): S3 checks
  // it on an unsigned request as on a signed one, and any other value is a hash too (versitygw's
  // PublicBucket_incorrect_sha256_hash).
  for (const [what, hash] of [['a wrong hash', sha256Hex('other')], ['a value that is no hash', 'incorrect_hash']] as const) {
    assertXmlError(t, await anon({ method: 'PUT', path: objectPath(bucket, 'wrong'), headers: { 'x-amz-content-sha256': hash }, body }), 400, 'XAmzContentSHA256Mismatch', `anonymous PUT with ${what}`);
  }
  t.equal(await signedHeadStatus(bucket, 'wrong'), 404, 'the mismatched PUTs stored nothing');
  const right = await anon({ method: 'PUT', path: objectPath(bucket, 'right'), headers: { 'x-amz-content-sha256': sha256Hex(body) }, body });
  t.equal(right.status, 200, 'the body\'s own hash: stored');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'right' })).toString(), body);

  // Signed chunks with no signature to chain them from: S3's InvalidRequest, never the framing stored as the object.
  const framed = `${body.length.toString(16)};chunk-signature=${'0'.repeat(64)}\r\n${body}\r\n0;chunk-signature=${'0'.repeat(64)}\r\n\r\n`;
  for (const mode of ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER']) {
    for (const encoding of [{}, { 'content-encoding': 'aws-chunked' }] as Array<Record<string, string>>) {
      const r = await anon({ method: 'PUT', path: objectPath(bucket, 'signed-chunks'), headers: { 'x-amz-content-sha256': mode, 'x-amz-decoded-content-length': String(body.length), ...encoding }, body: framed });
      assertXmlError(t, r, 400, 'InvalidRequest', `anonymous ${mode}${encoding['content-encoding'] ? ', aws-chunked' : ''}`);
    }
  }
  t.equal(await signedHeadStatus(bucket, 'signed-chunks'), 404, 'the signed streaming PUTs stored nothing');

  // STREAMING-UNSIGNED-PAYLOAD-TRAILER needs no signature: decoded, its trailer checked.
  const unsigned = (crc: string): string => `${body.length.toString(16)}\r\n${body}\r\n0\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`;
  const trailerHeaders = { 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(body.length), 'x-amz-trailer': 'x-amz-checksum-crc32' };
  const trailed = await anon({ method: 'PUT', path: objectPath(bucket, 'trailer'), headers: trailerHeaders, body: unsigned(crc32Base64(Buffer.from(body))) });
  t.equal(trailed.status, 200, `anonymous STREAMING-UNSIGNED-PAYLOAD-TRAILER: 200 (${trailed.body.toString()})`);
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'trailer' })).toString(), body, '… the decoded bytes stored');
  assertXmlError(t, await anon({ method: 'PUT', path: objectPath(bucket, 'bad-trailer'), headers: trailerHeaders, body: unsigned(crc32Base64(Buffer.from('other'))) }), 400, 'BadDigest', 'a wrong trailer checksum');
  t.equal(await signedHeadStatus(bucket, 'bad-trailer'), 404, '… stored nothing');
});

t.test('a session token is a credential: an unsigned request or form carrying one is refused, not taken as anonymous', async (t) => {
  const bucket = await createBucket(s3, 'tok');
  await putObjects(bucket, { 'a.txt': 'public' });
  await setPolicy(bucket, mcPublic(bucket));
  t.equal((await anon({ method: 'GET', path: objectPath(bucket, 'a.txt') })).status, 200, 'the policy admits an anonymous GET');
  // A client holding temporary credentials meant to sign: its token (header, or a presigned URL's
  // query) must not be dropped for anonymous access, as authenticate never drops one beside a signature.
  for (const [what, o] of [
    ['GET, X-Amz-Security-Token header', { method: 'GET', path: objectPath(bucket, 'a.txt'), headers: { 'x-amz-security-token': 'FwoGZXIvYXdzEXAMPLE' } }],
    ['GET, X-Amz-Security-Token query', { method: 'GET', path: objectPath(bucket, 'a.txt'), query: 'X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE' }],
    ['list, x-amz-security-token query', { method: 'GET', path: `/${bucket}`, query: 'x-amz-security-token=FwoGZXIvYXdzEXAMPLE' }],
    ['PUT, X-Amz-Security-Token header', { method: 'PUT', path: objectPath(bucket, 'tok.txt'), headers: { 'x-amz-security-token': 'FwoGZXIvYXdzEXAMPLE' }, body: 'x' }],
  ] as const) {
    assertXmlError(t, await anon(o), 403, 'AccessDenied', `unsigned ${what}`);
  }
  t.equal(await signedHeadStatus(bucket, 'tok.txt'), 404, 'the refused PUT stored nothing');
  // The form's token field names temporary credentials, a signer: without a policy, S3's 400 naming the field.
  const form = await postForm(d, bucket, formData([['key', 'tok-form.txt'], ['x-amz-security-token', 'FwoGZXIvYXdzEXAMPLE']], { data: Buffer.from('x') }));
  assertXmlError(t, form, 400, 'InvalidArgument', 'a form with a session token and no policy');
  t.equal(await signedHeadStatus(bucket, 'tok-form.txt'), 404, '… stores nothing');
});
