// Requests from OpenStack Swift's s3api functional tests (test/s3api/test_input_errors.py), which
// run against both Swift and AWS S3: the answers asserted here are those the tests record for AWS.
// Sent raw (helpers/http.ts), as the tests send them, to a real daemon.

import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { createHash, createHmac } from 'node:crypto';
import t from 'tap';
import type { Test } from 'tap';
import { canonicalRequest, chunkStringToSign, deriveSigningKey, signatureHex, stringToSign, trailerStringToSign } from '../../daemon/auth/sigv4.js';
import { ACCESS_KEY, REGION, SECRET_KEY, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { crc32Base64, sha256Hex } from '../helpers/hash.js';
import { assertXmlError, buildHeaders, raw, xmlField, type RawResponse } from '../helpers/http.js';
import { createBucket, getBytes } from '../helpers/s3.js';

const d = await startDaemonFor(t);
const bucket = await createBucket(d.s3(), 'swift');

const UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** An unsigned aws-chunked body: one data chunk, the final chunk, then `trailer` (CRLF-terminated lines). */
function unsignedChunked(body: Buffer, trailer: string): Buffer {
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(`\r\n0\r\n${trailer}`)]);
}

t.test('x-amz-trailer: commas at the end of the list are ignored; an empty name before or between names is not supported', async (t) => {
  const body = testBytes(32, 5);
  const framed = unsignedChunked(body, `x-amz-checksum-crc32: ${crc32Base64(body)}\r\n`);
  const put = (key: string, trailer: string) =>
    raw(d.port, {
      method: 'PUT',
      path: `/${bucket}/${key}`,
      body: framed,
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(body.length), 'x-amz-trailer': trailer },
      sign: { payloadHash: UNSIGNED_TRAILER },
    });
  // test_strm_unsgnd_pyld_trl_with_comma_in_trailer_ok, …_with_commas_in_trailer_4 and _6: 200 on AWS.
  for (const [i, trailer] of ['x-amz-checksum-crc32,', 'x-amz-checksum-crc32,,', 'x-amz-checksum-crc32, '].entries()) {
    const res = await put(`commas-${i}`, trailer);
    t.equal(res.status, 200, `'${trailer}': 200 (${res.body.toString()})`);
    t.equal(res.headers['x-amz-checksum-crc32'], crc32Base64(body), `'${trailer}': the trailer's checksum taken`);
    t.equal(sha256Hex(await getBytes(d.s3(), { Bucket: bucket, Key: `commas-${i}` })), sha256Hex(body), `'${trailer}': the bytes as sent`);
  }
  // …_with_commas_in_trailer_1, _2, _3 and _5, and a name S3 does not know beside a checksum:
  // 400 InvalidRequest in S3's words, nothing stored.
  for (const [i, trailer] of [', x-amz-checksum-crc32, ,', ', x-amz-checksum-crc32', ',x-amz-checksum-crc32', 'x-amz-checksum-crc32, ,', 'x-amz-checksum-crc32, x-amz-foo', 'foo'].entries()) {
    const res = await put(`empty-${i}`, trailer);
    assertXmlError(t, res, 400, 'InvalidRequest', `'${trailer}'`);
    t.equal(xmlField(res.body, 'Message'), 'The value specified in the x-amz-trailer header is not supported', `'${trailer}': S3's message`);
    t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/empty-${i}` })).status, 404, `'${trailer}': nothing stored`);
  }
  // test_strm_unsgnd_pyld_trl_multiple_checksum_trailers: two checksums named in the trailer list.
  const two = await put('two', 'x-amz-checksum-crc32, x-amz-checksum-sha256');
  assertXmlError(t, two, 400, 'InvalidRequest', 'two checksum trailers');
  t.equal(xmlField(two.body, 'Message'), 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.', "two checksum trailers: S3's message");
});

t.test('a checksum header beside a checksum trailer: one of each in S3 shorter words, more in its longer ones', async (t) => {
  const body = testBytes(32, 6);
  const put = (headers: Record<string, string>) =>
    raw(d.port, { method: 'PUT', path: `/${bucket}/header-and-trailer`, body, headers: { 'x-amz-sdk-checksum-algorithm': 'crc32', 'x-amz-checksum-crc32': crc32Base64(body), ...headers }, sign: { payloadHash: sha256Hex(body) } });
  // test_no_md5_good_sha_different_crc_in_trailer_and_header, …_same_crc_in_trailer_and_header
  for (const trailer of ['x-amz-checksum-crc32c', 'x-amz-checksum-crc32']) {
    const res = await put({ 'x-amz-trailer': trailer });
    assertXmlError(t, res, 400, 'InvalidRequest', `header and trailer ${trailer}`);
    t.equal(xmlField(res.body, 'Message'), 'Expecting a single x-amz-checksum- header', `header and trailer ${trailer}: S3's message`);
  }
  // test_no_md5_good_sha_multiple_crc_in_trailer_and_header, …_multiple_crc_in_header_and_trailer
  for (const headers of [{ 'x-amz-trailer': 'x-amz-checksum-crc32, x-amz-checksum-crc32c' } as Record<string, string>, { 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-checksum-sha256': 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=' }]) {
    const res = await put(headers);
    assertXmlError(t, res, 400, 'InvalidRequest', `three checksums: ${JSON.stringify(headers)}`);
    t.equal(xmlField(res.body, 'Message'), 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.', "three checksums: S3's longer message");
  }
});

t.test("BadDigest of CompleteMultipartUpload and DeleteObjects names the client's Content-MD5 in base64, as sent (hex for an object's body)", async (t) => {
  const s3 = d.s3();
  const wrongMd5 = createHash('md5').update('not the body').digest();
  const key = 'mpu-bad-md5';
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 'x') }));
  const completion = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>${ETag!}</ETag></Part></CompleteMultipartUpload>`;
  const deletion = `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>${key}</Key></Object></Delete>`;
  // test_bad_md5_good_sha_good_crc_header_mpu and _multi_delete (expected_digest_should_be_hex=False)
  for (const [what, query, path, body] of [
    ['CompleteMultipartUpload', `uploadId=${UploadId!}`, `/${bucket}/${key}`, completion],
    ['DeleteObjects', 'delete=', `/${bucket}`, deletion],
  ] as const) {
    const res = await raw(d.port, { method: 'POST', path, query, body, headers: { 'content-md5': wrongMd5.toString('base64') }, sign: { payloadHash: sha256Hex(body) } });
    assertXmlError(t, res, 400, 'BadDigest', what);
    t.equal(xmlField(res.body, 'ExpectedDigest'), wrongMd5.toString('base64'), `${what}: ExpectedDigest in base64`);
    t.equal(xmlField(res.body, 'CalculatedDigest'), createHash('md5').update(body).digest('base64'), `${what}: CalculatedDigest in base64`);
  }
  // test_bad_md5_good_sha: a PutObject's is in hex.
  const put = await raw(d.port, { method: 'PUT', path: `/${bucket}/put-bad-md5`, body: 'the body', headers: { 'content-md5': wrongMd5.toString('base64') }, sign: { payloadHash: sha256Hex('the body') } });
  assertXmlError(t, put, 400, 'BadDigest', 'PutObject');
  t.equal(xmlField(put.body, 'ExpectedDigest'), wrongMd5.toString('hex'), 'PutObject: ExpectedDigest in hex');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
});

t.test('aws-chunked: the end of the body as S3 reads it (last trailer value taken, bytes after the end ignored)', async (t) => {
  const body = testBytes(32, 7);
  const put = (key: string, framed: Buffer, trailer?: string) =>
    raw(d.port, {
      method: 'PUT',
      path: `/${bucket}/${key}`,
      body: framed,
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(body.length), ...(trailer === undefined ? {} : { 'x-amz-trailer': trailer }) },
      sign: { payloadHash: UNSIGNED_TRAILER },
    });
  const crc = crc32Base64(body);
  const wrong = crc32Base64(body.subarray(0, -1));
  // test_strm_unsgnd_pyld_trl_bad_then_good_trailer_ok, …_good_then_bad_trailer
  const badThenGood = await put('bad-then-good', unsignedChunked(body, `x-amz-checksum-crc32: ${wrong}\r\nx-amz-checksum-crc32: ${crc}\r\n`), 'x-amz-checksum-crc32');
  t.equal(badThenGood.status, 200, `a wrong value, then the right one: 200 (${badThenGood.body.toString()})`);
  t.equal(badThenGood.headers['x-amz-checksum-crc32'], crc, 'the last value taken');
  const goodThenBad = await put('good-then-bad', unsignedChunked(body, `x-amz-checksum-crc32: ${crc}\r\nx-amz-checksum-crc32: ${wrong}\r\n`), 'x-amz-checksum-crc32');
  assertXmlError(t, goodThenBad, 400, 'BadDigest', 'the right value, then a wrong one');
  // test_strm_unsgnd_pyld_trl_with_trailer_no_cr: the body ends on a trailer line with a bare LF.
  const noCr = await put('no-cr', unsignedChunked(body, `x-amz-checksum-crc32: ${crc}\n`), 'x-amz-checksum-crc32');
  assertXmlError(t, noCr, 400, 'IncompleteBody', 'a last trailer line ending in a bare LF');
  // test_strm_unsgnd_pyld_trl_with_trailer_extra_line_junk_ok and _extra_line_then_trailer_ok
  for (const [i, after] of [Buffer.from([0xff, 0xde, 0xad, 0xbe, 0xef, 0xff]), Buffer.from('bonus: trailer\r\n')].entries()) {
    const res = await put(`junk-${i}`, Buffer.concat([unsignedChunked(body, `x-amz-checksum-crc32: ${crc}\r\n\r\n`), after]), 'x-amz-checksum-crc32');
    t.equal(res.status, 200, `bytes after the end (${i}): 200 (${res.body.toString()})`);
    t.equal(sha256Hex(await getBytes(d.s3(), { Bucket: bucket, Key: `junk-${i}` })), sha256Hex(body), `bytes after the end (${i}): not stored`);
  }
  // test_strm_unsgnd_pyld_trl_zero_chunk_mid_stream: the body ends at the first zero-size chunk, short.
  const chunk = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
  const mid = await put('zero-mid', Buffer.concat([chunk(body.subarray(0, 4)), chunk(Buffer.alloc(0)), chunk(body.subarray(4)), chunk(Buffer.alloc(0))]));
  assertXmlError(t, mid, 400, 'IncompleteBody', 'a zero-size chunk in the middle');
  t.equal(xmlField(mid.body, 'NumberBytesExpected'), String(body.length), 'zero-size chunk: NumberBytesExpected');
  t.equal(xmlField(mid.body, 'NumberBytesProvided'), '4', 'zero-size chunk: NumberBytesProvided');
  t.equal(xmlField(mid.body, 'Message'), 'You did not provide the number of bytes specified by the Content-Length HTTP header', "zero-size chunk: S3's message");
  // test_strm_unsgnd_pyld_trl_too_many_bytes
  const many = await put('too-many', Buffer.concat([chunk(Buffer.concat([body, body])), chunk(Buffer.alloc(0))]));
  assertXmlError(t, many, 400, 'IncompleteBody', 'a chunk longer than the decoded length');
  t.equal(xmlField(many.body, 'NumberBytesProvided'), String(2 * body.length), 'too many: NumberBytesProvided');
  // test_strm_unsgnd_pyld_trl_truncated_mid_chunk: S3's words.
  const cut = await put('cut', Buffer.concat([Buffer.from('20\r\n'), body.subarray(0, 31)]));
  assertXmlError(t, cut, 400, 'IncompleteBody', 'a body cut in a chunk');
  t.equal(xmlField(cut.body, 'Message'), 'The request body terminated unexpectedly', "cut: S3's message");
  for (const key of ['good-then-bad', 'no-cr', 'zero-mid', 'too-many', 'cut']) t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/${key}` })).status, 404, `${key}: nothing stored`);
});

/** Signature V2 headers (Date, Authorization) for a request with these x-amz-* headers, as Swift's S3SessionV2Headers signs. */
function v2Headers(method: string, path: string, amz: Record<string, string>): Record<string, string> {
  const date = new Date().toUTCString();
  const lines = [method, '', '', date, ...Object.entries(amz).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}:${v}`), path];
  return { ...amz, date, authorization: `AWS ${ACCESS_KEY}:${createHmac('sha1', SECRET_KEY).update(lines.join('\n')).digest('base64')}` };
}

/**
 * A presigned V4 query for a request whose x-amz-content-sha256 is a signed header (not hoisted into
 * the query), as Swift's S3SessionV4Query builds it: the header's value is the canonical payload hash.
 */
function v4PresignedWithHashHeader(method: string, path: string, host: string, payloadHash: string): string {
  const now = new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const query = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${ACCESS_KEY}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', '900'],
    ['X-Amz-SignedHeaders', 'host;x-amz-content-sha256'],
  ]
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
    .sort()
    .join('&');
  const canonical = [method, path, query, `host:${host}`, `x-amz-content-sha256:${payloadHash}`, '', 'host;x-amz-content-sha256', payloadHash].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${SECRET_KEY}`).update(amzDate.slice(0, 8)).digest();
  for (const part of [REGION, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return `${query}&X-Amz-Signature=${createHmac('sha256', key).update(toSign).digest('hex')}`;
}

t.test('Signature V2 and presigned V4: x-amz-content-sha256 is only a hash for the body to match, whatever its form', async (t) => {
  const body = testBytes(32, 8);
  const key = 'literal-hash';
  const host = `127.0.0.1:${d.port}`;
  await raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, body, sign: { payloadHash: sha256Hex(body) } });
  const sends = {
    v2: (method: string, value: string, b?: Buffer) => raw(d.port, { method, path: `/${bucket}/${key}`, body: b, headers: v2Headers(method, `/${bucket}/${key}`, { 'x-amz-content-sha256': value }), sign: false }),
    'presigned v4': (method: string, value: string, b?: Buffer) =>
      raw(d.port, { method, path: `/${bucket}/${key}`, query: v4PresignedWithHashHeader(method, `/${bucket}/${key}`, host, value), body: b, headers: { 'x-amz-content-sha256': value }, sign: false }),
  };
  for (const [how, send] of Object.entries(sends)) {
    // test_get_object_invalid_sha, test_head_object_invalid_sha (InputErrorsMixin): ignored without a body.
    for (const method of ['GET', 'HEAD']) {
      const res = await send(method, 'invalid');
      t.equal(res.status, 200, `${how}: ${method} with 'invalid' (${res.body.toString()})`);
    }
    // test_no_md5_invalid_sha, test_no_md5_unsigned_lcase, NotV4AuthHeadersMixin.test_strm_unsgnd_pyld_trl_not_encoded
    for (const value of ['invalid', 'unsigned-payload', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', sha256Hex('not the body')]) {
      const res = await send('PUT', value, body);
      assertXmlError(t, res, 400, 'XAmzContentSHA256Mismatch', `${how}: PUT with '${value}'`);
      t.equal(xmlField(res.body, 'ClientComputedContentSHA256'), value, `${how}: '${value}' named as sent`);
      t.equal(xmlField(res.body, 'S3ComputedContentSHA256'), sha256Hex(body), `${how}: '${value}': the body's hash`);
    }
    // test_no_md5_good_sha_ucase
    const ok = await send('PUT', sha256Hex(body).toUpperCase(), body);
    t.equal(ok.status, 200, `${how}: the body's hash in upper case (${ok.body.toString()})`);
  }
});

t.test("a STREAMING-* upload without a decoded length, or with one that is not a number: S3's 411 in its words", async (t) => {
  const body = testBytes(32, 9);
  const framed = unsignedChunked(body, '\r\n');
  // test_no_md5_streaming_unsigned_no_encoding_no_length, …_bad_decoded_content_length,
  // test_strm_unsgnd_pyld_trl_te_chunked_no_decoded_content_length: S3 means x-amz-decoded-content-length.
  for (const [what, headers] of [
    ['no Content-Encoding, no decoded length', {}],
    ['a decoded length that is not a number', { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': 'not an int' }],
    ['aws-chunked, no decoded length', { 'content-encoding': 'aws-chunked' }],
  ] as const) {
    const res = await raw(d.port, { method: 'PUT', path: `/${bucket}/no-decoded-length`, body: framed, headers, sign: { payloadHash: UNSIGNED_TRAILER } });
    assertXmlError(t, res, 411, 'MissingContentLength', what);
    t.equal(xmlField(res.body, 'Message'), 'You must provide the Content-Length HTTP header.', `${what}: S3's message`);
  }
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/no-decoded-length` })).status, 404, 'nothing stored');
});

t.test("MalformedTrailerError in S3's words alone", async (t) => {
  const body = testBytes(32, 10);
  const malformed = 'The request contained trailing data that was not well-formed or did not conform to our published schema.';
  // test_no_md5_good_sha_crc_in_trailer_but_not_streaming
  const notStreaming = await raw(d.port, { method: 'PUT', path: `/${bucket}/malformed-trailer`, body, headers: { 'x-amz-sdk-checksum-algorithm': 'crc32', 'x-amz-trailer': 'x-amz-checksum-crc32' }, sign: { payloadHash: sha256Hex(body) } });
  assertXmlError(t, notStreaming, 400, 'MalformedTrailerError', 'x-amz-trailer with a plain payload hash');
  t.equal(xmlField(notStreaming.body, 'Message'), malformed, "x-amz-trailer with a plain payload hash: S3's message");
  // test_strm_unsgnd_pyld_trl_declared_no_trailer_sent, …_declared_algo_declared_no_trailer_sent
  for (const [what, extra] of [['declared', {}], ['declared with its algorithm', { 'x-amz-sdk-checksum-algorithm': 'crc32' }]] as const) {
    const res = await raw(d.port, {
      method: 'PUT',
      path: `/${bucket}/malformed-trailer`,
      body: Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]),
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(body.length), 'x-amz-trailer': 'x-amz-checksum-crc32', ...extra },
      sign: { payloadHash: UNSIGNED_TRAILER },
    });
    assertXmlError(t, res, 400, 'MalformedTrailerError', `a trailer ${what}, none sent`);
    t.equal(xmlField(res.body, 'Message'), malformed, `a trailer ${what}, none sent: S3's message`);
  }
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/malformed-trailer` })).status, 404, 'nothing stored');
});

interface SignedChunks {
  /** STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or …-TRAILER with this x-amz-checksum-crc32 trailer. */
  trailer?: string;
  /** The chunk header after the size, given the chunk's right signature (default `;chunk-signature=<sig>`). */
  header?: (i: number, sig: string) => string;
  /** The hash signed for chunk i (default its own SHA-256). */
  signedHash?: (i: number, chunk: Buffer) => string;
  /** The trailer text signed (default the trailer sent, canonical). */
  signedTrailer?: string;
}

/**
 * A signed aws-chunked PUT as Swift's tests build it (sign_chunk, sign_trailer): each chunk
 * signed on the one before, then the trailer and its signature. The answer comes with the
 * request's date, scope and seed signature.
 */
async function putSignedChunks(key: string, chunks: Buffer[], o: SignedChunks = {}): Promise<{ res: RawResponse; amzDate: string; scope: string; seed: string }> {
  const decoded = chunks.reduce((n, c) => n + c.length, 0);
  const path = `/${bucket}/${key}`;
  const headers: Record<string, string> = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(decoded), ...(o.trailer !== undefined ? { 'x-amz-trailer': 'x-amz-checksum-crc32' } : {}) };
  const signed = buildHeaders(d.port, { method: 'PUT', path, headers, sign: { payloadHash: o.trailer !== undefined ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER' : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } });
  const amzDate = signed['x-amz-date']!;
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const signingKey = deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3');
  const seed = /Signature=([0-9a-f]{64})/.exec(signed.authorization!)![1]!;
  const parts: Buffer[] = [];
  let previous = seed;
  chunks.forEach((chunk, i) => {
    const sig = signatureHex(signingKey, chunkStringToSign(amzDate, scope, previous, o.signedHash?.(i, chunk) ?? sha256Hex(chunk)));
    parts.push(Buffer.from(`${chunk.length.toString(16)}${(o.header ?? ((_, v) => `;chunk-signature=${v}`))(i, sig)}\r\n`), chunk);
    if (chunk.length > 0 || o.trailer === undefined) parts.push(Buffer.from('\r\n'));
    previous = sig;
  });
  if (o.trailer !== undefined) {
    const line = `x-amz-checksum-crc32:${o.trailer}\n`;
    parts.push(Buffer.from(line.replace(/\n$/, '\r\n')));
    parts.push(Buffer.from(`x-amz-trailer-signature:${signatureHex(signingKey, trailerStringToSign(amzDate, scope, previous, o.signedTrailer ?? line))}\r\n`));
  }
  const res = await raw(d.port, { method: 'PUT', path, headers: signed, body: Buffer.concat(parts), sign: false });
  return { res, amzDate, scope, seed };
}

/** SignatureDoesNotMatch as Swift's assertSignatureMismatch checks it, for a string to sign of this first line. */
function assertChunkSignatureMismatch(t: Test, res: RawResponse, firstLine: string, what: string): void {
  assertXmlError(t, res, 403, 'SignatureDoesNotMatch', what);
  t.equal(xmlField(res.body, 'Message'), 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', `${what}: S3's message`);
  t.equal(xmlField(res.body, 'AWSAccessKeyId'), ACCESS_KEY, `${what}: AWSAccessKeyId`);
  t.match(xmlField(res.body, 'StringToSign') ?? '', new RegExp(`^${firstLine}\n`), `${what}: StringToSign begins ${firstLine}`);
  for (const name of ['SignatureProvided', 'StringToSignBytes', 'CanonicalRequest', 'CanonicalRequestBytes']) t.ok(xmlField(res.body, name), `${what}: ${name}`);
}

t.test('a chunk or trailer signature that does not match: SignatureDoesNotMatch with the members of a header signature', async (t) => {
  const body = testBytes(32, 11);
  // test_strm_sgnd_pyld_bad_signatures: the first chunk's, all zeros.
  const zeros = await putSignedChunks('chunk-sig-zeros', [body, Buffer.alloc(0)], { header: () => `;chunk-signature=${'0'.repeat(64)}` });
  assertChunkSignatureMismatch(t, zeros.res, 'AWS4-HMAC-SHA256-PAYLOAD', 'a zero chunk signature');
  t.equal(xmlField(zeros.res.body, 'StringToSign'), chunkStringToSign(zeros.amzDate, zeros.scope, zeros.seed, sha256Hex(body)), "a zero chunk signature: the first chunk's string to sign");
  t.equal(xmlField(zeros.res.body, 'SignatureProvided'), '0'.repeat(64), 'a zero chunk signature: the signature sent');
  t.ok(xmlField(zeros.res.body, 'CanonicalRequest')?.startsWith(`PUT\n/${bucket}/chunk-sig-zeros\n`), "a zero chunk signature: the request's canonical request");
  // test_strm_sgnd_pyld_bad_final_signature: the final chunk signed as if it held 'x'.
  const final = await putSignedChunks('chunk-sig-final', [body, Buffer.alloc(0)], { signedHash: (_, c) => sha256Hex(c.length > 0 ? c : 'x') });
  assertChunkSignatureMismatch(t, final.res, 'AWS4-HMAC-SHA256-PAYLOAD', 'the final chunk signature');
  // test_strm_sgnd_pyld_trl_bad_trl_sig: the trailer signed without its last newline.
  const trailer = await putSignedChunks('trailer-sig', [body, Buffer.alloc(0)], { trailer: crc32Base64(body), signedTrailer: `x-amz-checksum-crc32:${crc32Base64(body)}` });
  assertChunkSignatureMismatch(t, trailer.res, 'AWS4-HMAC-SHA256-TRAILER', 'the trailer signature');
  // test_strm_sgnd_pyld_good_signatures_ok, test_strm_sgnd_pyld_trl_ok: the same, signed right.
  t.equal((await putSignedChunks('chunk-sig-ok', [body, Buffer.alloc(0)])).res.status, 200, 'signed chunks: 200');
  t.equal((await putSignedChunks('trailer-sig-ok', [body, Buffer.alloc(0)], { trailer: crc32Base64(body) })).res.status, 200, 'signed chunks and trailer: 200');
  for (const key of ['chunk-sig-zeros', 'chunk-sig-final', 'trailer-sig']) t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/${key}` })).status, 404, `${key}: nothing stored`);
});

t.test('a chunk header whose signature is empty, or not the first parameter: the codes S3 answers', async (t) => {
  const body = testBytes(32, 12);
  const chunks = [body, Buffer.alloc(0)];
  // test_strm_sgnd_pyld_blank_signatures: IncompleteBody in S3's words, not a wrong signature.
  const blank = await putSignedChunks('chunk-sig-blank', chunks, { header: () => ';chunk-signature=' });
  assertXmlError(t, blank.res, 400, 'IncompleteBody', 'an empty chunk-signature');
  t.equal(xmlField(blank.res.body, 'Message'), 'The request body terminated unexpectedly', "an empty chunk-signature: S3's message");
  // test_strm_sgnd_pyld_extra_param_before: the signature is not where S3 reads it.
  const before = await putSignedChunks('chunk-sig-before', chunks, { header: (_, sig) => `;extra=param;chunk-signature=${sig}` });
  assertChunkSignatureMismatch(t, before.res, 'AWS4-HMAC-SHA256-PAYLOAD', 'a parameter before chunk-signature');
  // test_strm_sgnd_pyld_extra_param_after, test_strm_sgnd_pyld_no_signatures: IncompleteBody.
  const after = await putSignedChunks('chunk-sig-after', chunks, { header: (_, sig) => `;chunk-signature=${sig};extra=param` });
  assertXmlError(t, after.res, 400, 'IncompleteBody', 'a parameter after chunk-signature');
  const none = await putSignedChunks('chunk-sig-none', chunks, { header: () => '' });
  assertXmlError(t, none.res, 400, 'IncompleteBody', 'no chunk-signature');
  for (const key of ['chunk-sig-blank', 'chunk-sig-before', 'chunk-sig-after', 'chunk-sig-none']) t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/${key}` })).status, 404, `${key}: nothing stored`);
});

t.test('HEAD of the service signed with SigV4: authenticated before its 405', async (t) => {
  // Signed as Swift's S3SessionV4Headers signs: x-amz-content-sha256 signed when sent, else absent.
  const head = (sha?: string) => {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const headers: Record<string, string> = { host: `127.0.0.1:${d.port}`, 'x-amz-date': amzDate, ...(sha !== undefined ? { 'x-amz-content-sha256': sha } : {}) };
    const signedHeaders = Object.keys(headers).sort();
    const canonical = canonicalRequest({ method: 'HEAD', rawPath: '/', rawQuery: '', headers, signedHeaders, payloadHash: sha ?? 'UNSIGNED-PAYLOAD' });
    const signature = signatureHex(deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3'), stringToSign(amzDate, scope, canonical));
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
    return raw(d.port, { method: 'HEAD', path: '/', headers, sign: false });
  };
  // TestV4AuthHeaders.test_head_service_no_sha, _invalid_sha: 400.
  t.equal((await head()).status, 400, 'no x-amz-content-sha256: 400');
  t.equal((await head('invalid')).status, 400, 'x-amz-content-sha256 invalid: 400');
  // InputErrorsMixin.test_head_service_good_sha, _unsigned, _bad_sha (run with V4 headers too): 405.
  for (const sha of [sha256Hex(''), 'UNSIGNED-PAYLOAD', sha256Hex('not the body')]) t.equal((await head(sha)).status, 405, `x-amz-content-sha256 ${sha}: 405`);
  t.equal((await raw(d.port, { method: 'HEAD', path: '/', sign: false })).status, 405, 'unsigned: 405');
});
