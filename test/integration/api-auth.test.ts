// SigV4 and body verification over the wire (issue 2, "SigV4" and "uWS front end"): hand-signed
// raw requests for every auth error code, payload hashes, Content-MD5 and checksum headers,
// presigned URLs, signed aws-chunked streams, truncated bodies, anonymous requests, and
// Expect: 100-continue ordering checked on raw sockets.
import t from 'tap';
import type { Test } from 'tap';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  STREAMING_SIGNED_PAYLOAD,
  STREAMING_SIGNED_PAYLOAD_TRAILER,
  STREAMING_UNSIGNED_PAYLOAD_TRAILER,
  chunkStringToSign,
  deriveSigningKey,
  signatureHex,
  trailerStringToSign,
} from '../../daemon/auth/sigv4.js';
import { presignUrl } from '../../daemon/auth/sign.js';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { expectNoTempFiles } from '../helpers/files.js';
import { crc32Base64, md5Base64, md5Hex, sha256Hex } from '../helpers/hash.js';
import { assertXmlError, buildHeaders, raw, xmlField, type RawOptions, type RawResponse } from '../helpers/http.js';
import { getBytes } from '../helpers/s3.js';
import { tcpExchange } from '../helpers/tcp.js';

let d: TestDaemon;
let s3: S3Client;
const bucket = bucketName('auth');
/** A second daemon for requests that once crashed the process (regressions stay contained). */
let fragile: TestDaemon;

t.before(async () => {
  [d, fragile] = await Promise.all([startDaemon(), startDaemon()]);
  s3 = d.s3();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await fragile.s3().send(new CreateBucketCommand({ Bucket: 'present' }));
});
t.teardown(async () => {
  await Promise.all([d.stop(), fragile.stop()]);
  d.cleanup();
  fragile.cleanup();
});

/** Asserts the fragile daemon survived the last request; restarts it (same data) if not. */
async function fragileSurvived(t: Test, what: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const alive = fragile.proc.exitCode === null && fragile.proc.signalCode === null;
  t.ok(alive, `${what}: the daemon is still running`);
  if (!alive) {
    t.comment(fragile.logs.slice(-15).join('\n'));
    fragile = await startDaemon({ dataDir: fragile.dataDir });
  }
}

const BUG_CONTINUE_BEFORE_REJECT =
  'daemon bug: "100 Continue" is sent before a request the daemon rejects without reading its body (uWS answers Expect: 100-continue itself before http/server.ts onRequest runs), so clients stream a body the daemon then only reads to drop it (up to 16 MiB) or closes the connection on';

/** HEAD the key: its status (404 when nothing was stored). */
async function headStatus(key: string): Promise<number> {
  const r = await raw(d.port, { method: 'HEAD', path: `/${bucket}/${key}` });
  return r.status;
}

/** A rejected upload must leave no file in the daemon's temp dir. */
function noTempFiles(t: Test, what: string): Promise<void> {
  return expectNoTempFiles(t, d.dataDir, what);
}

t.test('header authentication errors', async (t) => {
  const put = (key: string, sign: RawOptions['sign'], extra: Partial<RawOptions> = {}): Promise<RawResponse> =>
    raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, body: 'data', sign, ...extra });
  assertXmlError(t, await put('wrong-secret', { secretAccessKey: 'not-the-secret-key' }), 403, 'SignatureDoesNotMatch', 'wrong secret');
  assertXmlError(t, await put('unknown-key', { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: SECRET_KEY }), 403, 'InvalidAccessKeyId', 'unknown access key');
  assertXmlError(t, await put('skew-past', { now: new Date(Date.now() - 20 * 60_000) }), 403, 'RequestTimeTooSkewed', 'clock 20 min behind');
  assertXmlError(t, await put('skew-future', { now: new Date(Date.now() + 20 * 60_000) }), 403, 'RequestTimeTooSkewed', 'clock 20 min ahead');
  // A date before 1970 is no valid date to S3 (ceph s3-tests' *_amz_date_before_epoch_aws4).
  const epochPut = await put('before-epoch', { now: new Date(Date.UTC(1950, 6, 7, 21, 53, 4)) });
  assertXmlError(t, epochPut, 403, 'AccessDenied', 'X-Amz-Date in 1950');
  t.match(epochPut.body.toString(), /requires a valid Date or x-amz-date header/);
  const within = await put('skew-ok', { now: new Date(Date.now() - 10 * 60_000) });
  t.equal(within.status, 200, '10 min of skew is accepted');
  assertXmlError(t, await put('wrong-region', { region: 'eu-west-1' }), 400, 'AuthorizationHeaderMalformed', 'credential for another region');
  // A signature over different content (the body hash is signed; tamper with the path).
  const headers = buildHeaders(d.port, { method: 'PUT', path: `/${bucket}/signed-path`, body: 'data' });
  const tampered = await raw(d.port, { method: 'PUT', path: `/${bucket}/other-path`, body: 'data', sign: false, headers });
  assertXmlError(t, tampered, 403, 'SignatureDoesNotMatch', 'signature for another path');
  // An x-amz-* header added after signing.
  const unsigned = await raw(d.port, { method: 'PUT', path: `/${bucket}/signed-path`, body: 'data', sign: false, headers: { ...headers, 'x-amz-meta-sneaky': '1' } });
  assertXmlError(t, unsigned, 403, 'AccessDenied', 'unsigned x-amz-meta header');
  const { 'x-amz-content-sha256': _drop, ...noHash } = headers;
  assertXmlError(t, await raw(d.port, { method: 'PUT', path: `/${bucket}/signed-path`, body: 'data', sign: false, headers: noHash }), 400, 'InvalidRequest', 'no x-amz-content-sha256');
  assertXmlError(t, await put('bad-hash-value', { payloadHash: 'not-a-hash' }), 400, 'InvalidArgument', 'x-amz-content-sha256 neither a mode nor a hash');
  // Dated and with a payload hash: S3 checks both before the header's components.
  const now = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const malformed = await raw(d.port, { method: 'GET', path: '/', sign: false, headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x', 'x-amz-date': now, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
  assertXmlError(t, malformed, 400, 'AuthorizationHeaderMalformed', 'malformed Authorization');
  // Signature Version 2 is on by default (api-sigv2.test.ts): a made-up V2 signature fails as one.
  const v2 = await raw(d.port, { method: 'GET', path: '/', sign: false, headers: { date: new Date().toUTCString(), authorization: `AWS ${ACCESS_KEY}:c2lnbmF0dXJl` } });
  assertXmlError(t, v2, 403, 'SignatureDoesNotMatch', 'SigV2 Authorization with a wrong signature');
  const sigV4a = await raw(d.port, { method: 'GET', path: '/', sign: false, headers: { authorization: `AWS4-ECDSA-P256-SHA256 Credential=${ACCESS_KEY}/20130524/s3/aws4_request, SignedHeaders=host, Signature=00` } });
  assertXmlError(t, sigV4a, 400, 'InvalidSignatureTypeError', 'SigV4a Authorization');
  for (const key of ['wrong-secret', 'unknown-key', 'skew-past', 'skew-future', 'before-epoch', 'wrong-region', 'other-path', 'signed-path', 'bad-hash-value']) {
    t.equal(await headStatus(key), 404, `${key}: nothing stored`);
  }
});

t.test('header names that are Object.prototype properties are headers like any other (a signed `constructor` or `__proto__` was a 500)', async (t) => {
  const path = `/${bucket}/no-such-object`;
  const send = (headers: Record<string, string>): Promise<{ data: Buffer }> =>
    tcpExchange(d.port, `GET ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, { untilResponse: true });
  // JSON.parse makes `__proto__` an own entry, as a header arriving on the wire is.
  for (const extra of [{ constructor: 'x' }, JSON.parse('{"__proto__":"x"}') as Record<string, string>, { tostring: 'y', hasownproperty: 'z' }]) {
    const names = Object.keys(extra).join(', ');
    const headers = buildHeaders(d.port, { method: 'GET', path, headers: extra });
    t.match(headers.authorization, new RegExp(`SignedHeaders=[^,]*${Object.keys(extra)[0]}`), `${names}: signed`);
    const r = await send(headers);
    t.match(r.data.toString('latin1'), /^HTTP\/1\.1 404[\s\S]*<Code>NoSuchKey<\/Code>/, `${names}: authenticated (404 NoSuchKey for a missing object)`);
    // Signed, then left out: the canonical request has it empty, so the signature does not match.
    const dropped = Object.fromEntries(Object.entries(headers).filter(([k]) => !Object.hasOwn(extra, k)));
    const r2 = await send(dropped);
    t.match(r2.data.toString('latin1'), /^HTTP\/1\.1 403[\s\S]*<Code>SignatureDoesNotMatch<\/Code>/, `${names}: signed but not sent → 403 SignatureDoesNotMatch`);
  }
  t.notOk(d.jsonLogs().some((l) => l.level === 50), 'no internal error was logged');
});

t.test('a session token (no STS here: none is valid) is 400 InvalidToken, signed in a header or a presigned URL', async (t) => {
  // botocore's test_bad_request_on_invalid_credentials, written against AWS; s3d used the access
  // key and ignored the token.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'token-probe', Body: 'x' }));
  const withToken = new S3Client({ endpoint: d.endpoint, region: REGION, forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, sessionToken: 'bad-token-causes-400' } });
  t.teardown(() => withToken.destroy());
  const err = await withToken.send(new GetObjectCommand({ Bucket: bucket, Key: 'token-probe' })).then(
    () => undefined,
    (e: { name?: string; $metadata?: { httpStatusCode?: number } }) => e,
  );
  t.same([err?.name, err?.$metadata?.httpStatusCode], ['InvalidToken', 400], 'a signed GET with a session token: 400 InvalidToken');
  const put = await withToken.send(new PutObjectCommand({ Bucket: bucket, Key: 'token-probe', Body: 'overwritten' })).then(
    () => 'stored',
    (e: { name?: string }) => e.name,
  );
  t.equal(put, 'InvalidToken', 'a PUT with one is refused');
  const url = await getSignedUrl(withToken, new GetObjectCommand({ Bucket: bucket, Key: 'token-probe' }), { expiresIn: 60 });
  t.match(url, /X-Amz-Security-Token=/, 'the presigned URL carries the token');
  const u = new URL(url);
  const presigned = await raw(d.port, { method: 'GET', path: u.pathname, query: u.search.slice(1), sign: false });
  assertXmlError(t, presigned, 400, 'InvalidToken', 'a presigned GET with a token');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'token-probe' })).toString(), 'x', 'nothing was overwritten');
});

t.test('anonymous requests → AccessDenied', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'public?', Body: 'secret' }));
  const cases: Array<[string, RawOptions]> = [
    ['ListBuckets', { method: 'GET', path: '/', sign: false }],
    ['ListObjects', { method: 'GET', path: `/${bucket}`, sign: false }],
    ['GetObject', { method: 'GET', path: `/${bucket}/public%3F`, sign: false }],
    ['HeadBucket', { method: 'HEAD', path: `/${bucket}`, sign: false }],
    ['PutObject', { method: 'PUT', path: `/${bucket}/anon`, body: 'x', sign: false }],
    ['DeleteObject', { method: 'DELETE', path: `/${bucket}/public%3F`, sign: false }],
    ['CreateBucket', { method: 'PUT', path: `/${bucketName()}`, sign: false }],
  ];
  for (const [what, opts] of cases) {
    const r = await raw(d.port, opts);
    if (opts.method === 'HEAD') t.equal(r.status, 403, `${what}: 403`);
    else assertXmlError(t, r, 403, 'AccessDenied', `anonymous ${what}`);
    t.notOk(r.body.toString().includes('secret'), `${what}: no object data leaked`);
  }
  t.equal(await headStatus('anon'), 404, 'anonymous PUT stored nothing');
  t.equal(await headStatus('public%3F'), 200, 'anonymous DELETE deleted nothing');
  // An empty Authorization header is no credential: anonymous, as on S3 (ceph s3-tests'
  // test_object_create_bad_authorization_empty), not 400 "Unsupported Authorization Type".
  for (const value of ['', ' ']) {
    assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${bucket}/public%3F`, sign: false, headers: { authorization: value } }), 403, 'AccessDenied', `GetObject with Authorization ${JSON.stringify(value)}`);
    assertXmlError(t, await raw(d.port, { method: 'PUT', path: `/${bucket}/anon`, body: 'x', sign: false, headers: { authorization: value } }), 403, 'AccessDenied', `PutObject with Authorization ${JSON.stringify(value)}`);
  }
  t.equal(await headStatus('anon'), 404, 'a PUT with an empty Authorization stored nothing');

  // As on S3, a bucket that does not exist is NoSuchBucket for anyone (anonymous CreateBucket
  // stays AccessDenied and creates nothing).
  const missing = bucketName();
  for (const [what, opts] of [
    ['ListObjects', { method: 'GET', path: `/${missing}`, sign: false }],
    ['GetObject', { method: 'GET', path: `/${missing}/k`, sign: false }],
    ['PutObject', { method: 'PUT', path: `/${missing}/k`, body: 'x', sign: false }],
  ] as Array<[string, RawOptions]>) {
    assertXmlError(t, await raw(d.port, opts), 404, 'NoSuchBucket', `anonymous ${what} of a missing bucket`);
  }
  const headMissing = await raw(d.port, { method: 'HEAD', path: `/${missing}`, sign: false });
  t.same([headMissing.status, headMissing.headers['x-amz-bucket-region']], [404, undefined], 'anonymous HeadBucket of a missing bucket: 404, no region');
  // A refused HeadBucket of a bucket that exists names its region "regardless of the permissions"
  // (S3's HeadBucket; the SDK for Go's manager.GetBucketRegion sends it unsigned).
  for (const [what, sign] of [['anonymous', false], ['wrong secret', { secretAccessKey: 'not-the-secret-key' }], ['unknown key', { accessKeyId: 'AKIDUNKNOWN' }]] as const) {
    const head = await raw(d.port, { method: 'HEAD', path: `/${bucket}`, sign });
    t.same([head.status, head.headers['x-amz-bucket-region']], [403, REGION], `${what} HeadBucket of an existing bucket: 403 naming the region`);
  }
  const refusedGet = await raw(d.port, { method: 'GET', path: `/${bucket}`, sign: false });
  t.same([refusedGet.status, refusedGet.headers['x-amz-bucket-region']], [403, undefined], 'other refused bucket requests do not name it');
  assertXmlError(t, await raw(d.port, { method: 'PUT', path: `/${missing}`, sign: false }), 403, 'AccessDenied', 'anonymous CreateBucket');
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${missing}` })).status, 404, 'and no bucket was created');
});

t.test('x-amz-content-sha256 is verified; a mismatch stores nothing and keeps the old object', async (t) => {
  const body = testBytes(300_000, 11);
  const wrong = sha256Hex(Buffer.concat([body, Buffer.from('x')]));
  const r = await raw(d.port, { method: 'PUT', path: `/${bucket}/sha-mismatch`, body, sign: { payloadHash: wrong } });
  assertXmlError(t, r, 400, 'XAmzContentSHA256Mismatch', 'wrong payload hash');
  // Both hashes named, as S3's answer names them (OpenStack Swift's AWS-checked tests).
  t.same([xmlField(r.body, 'ClientComputedContentSHA256'), xmlField(r.body, 'S3ComputedContentSHA256')], [wrong, sha256Hex(body)], 'the client\'s and the computed SHA-256');
  t.equal(await headStatus('sha-mismatch'), 404, 'object not created');
  // Upper-case hex is the same hash; an error echoes the client's spelling.
  const upper = await raw(d.port, { method: 'PUT', path: `/${bucket}/sha-upper`, body: 'tiny', sign: { payloadHash: sha256Hex('tiny').toUpperCase() } });
  t.equal(upper.status, 200, 'an upper-case x-amz-content-sha256 that matches: accepted');
  const upperWrong = await raw(d.port, { method: 'PUT', path: `/${bucket}/sha-upper`, body: 'tiny', sign: { payloadHash: sha256Hex('tinY').toUpperCase() } });
  t.equal(xmlField(upperWrong.body, 'ClientComputedContentSHA256'), sha256Hex('tinY').toUpperCase(), 'ClientComputedContentSHA256 is the value as sent');
  const small = await raw(d.port, { method: 'PUT', path: `/${bucket}/sha-small`, body: 'tiny', sign: { payloadHash: sha256Hex('tinY') } });
  assertXmlError(t, small, 400, 'XAmzContentSHA256Mismatch', 'wrong payload hash (inline-sized body)');
  t.equal(await headStatus('sha-small'), 404, 'inline-sized object not created');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sha-keep', Body: 'original' }));
  const over = await raw(d.port, { method: 'PUT', path: `/${bucket}/sha-keep`, body, sign: { payloadHash: wrong } });
  assertXmlError(t, over, 400, 'XAmzContentSHA256Mismatch', 'overwrite with a wrong hash');
  const kept = await raw(d.port, { method: 'GET', path: `/${bucket}/sha-keep` });
  t.equal(kept.body.toString(), 'original', 'the old object is untouched');
  await noTempFiles(t, 'sha mismatch');
});

t.test('Content-MD5 and x-amz-checksum-* headers', async (t) => {
  const body = testBytes(200_000, 12);
  const other = testBytes(200_000, 13);
  const put = (key: string, headers: Record<string, string>): Promise<RawResponse> => raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, body, headers });
  const good = await put('md5-good', { 'content-md5': md5Base64(body) });
  t.equal(good.status, 200, 'matching Content-MD5 accepted');
  const md5Bad = await put('md5-bad', { 'content-md5': md5Base64(other) });
  assertXmlError(t, md5Bad, 400, 'BadDigest', 'Content-MD5 mismatch');
  // Both digests named as S3 names them: the client's in hex, the computed one in base64.
  t.same([xmlField(md5Bad.body, 'ExpectedDigest'), xmlField(md5Bad.body, 'CalculatedDigest')], [md5Hex(other), md5Base64(body)], 'BadDigest: ExpectedDigest (hex) and CalculatedDigest (base64)');
  const crcGood = await put('crc-good', { 'x-amz-checksum-crc32': crc32Base64(body) });
  t.equal(crcGood.status, 200, 'matching CRC32 accepted');
  t.equal(crcGood.headers['x-amz-checksum-crc32'], crc32Base64(body), 'CRC32 echoed');
  assertXmlError(t, await put('crc-bad', { 'x-amz-checksum-crc32': crc32Base64(other) }), 400, 'BadDigest', 'CRC32 mismatch');
  assertXmlError(t, await put('crc32c-bad', { 'x-amz-checksum-crc32c': 'AAAAAA==' }), 400, 'BadDigest', 'CRC32C mismatch');
  assertXmlError(t, await put('sha1-bad', { 'x-amz-checksum-sha1': createHash('sha1').update(other).digest('base64') }), 400, 'BadDigest', 'SHA1 mismatch');
  assertXmlError(t, await put('sha256-bad', { 'x-amz-checksum-sha256': createHash('sha256').update(other).digest('base64') }), 400, 'BadDigest', 'SHA256 checksum mismatch');
  const small = await raw(d.port, { method: 'PUT', path: `/${bucket}/md5-small-bad`, body: 'abc', headers: { 'content-md5': md5Base64('abd') } });
  assertXmlError(t, small, 400, 'BadDigest', 'Content-MD5 mismatch on an inline-sized body');
  t.same([xmlField(small.body, 'ExpectedDigest'), xmlField(small.body, 'CalculatedDigest')], [md5Hex('abd'), md5Base64('abc')], 'inline-sized BadDigest names both digests');
  for (const key of ['md5-bad', 'crc-bad', 'crc32c-bad', 'sha1-bad', 'sha256-bad', 'md5-small-bad']) {
    t.equal(await headStatus(key), 404, `${key}: nothing stored`);
  }
  await noTempFiles(t, 'digest mismatches');
});

t.test('an x-amz-content-sha256 that is no hash nor mode: InvalidArgument naming it, as S3 does', async (t) => {
  const r = await raw(d.port, { method: 'PUT', path: `/${bucket}/bad-sha-header`, body: 'x', sign: { payloadHash: 'invalid' } });
  assertXmlError(t, r, 400, 'InvalidArgument', 'x-amz-content-sha256: invalid');
  t.same([xmlField(r.body, 'ArgumentName'), xmlField(r.body, 'ArgumentValue')], ['x-amz-content-sha256', 'invalid'], 'ArgumentName and ArgumentValue (Swift\'s AWS-checked tests)');
});

t.test('malformed body headers are answered with 400 and the daemon survives', async (t) => {
  const body = testBytes(1000, 14);
  const cases: Array<[string, Record<string, string>, string, string | undefined]> = [
    ['Content-MD5 not base64', { 'content-md5': 'not base64 at all!' }, 'InvalidDigest', undefined],
    ['Content-MD5 of 15 bytes', { 'content-md5': Buffer.alloc(15).toString('base64') }, 'InvalidDigest', undefined],
    ['x-amz-checksum-crc32 not a CRC32', { 'x-amz-checksum-crc32': 'zzzz' }, 'InvalidRequest', undefined],
    ['two checksum headers', { 'x-amz-checksum-crc32': crc32Base64(body), 'x-amz-checksum-sha1': createHash('sha1').update(body).digest('base64') }, 'InvalidRequest', undefined],
    ['x-amz-trailer without a trailer payload mode', { 'x-amz-trailer': 'x-amz-checksum-crc32' }, 'MalformedTrailerError', undefined],
    // Both a checksum header and a trailer: refused for that before the payload mode is looked at.
    ['x-amz-trailer and a checksum header', { 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-checksum-crc32': crc32Base64(body) }, 'InvalidRequest', undefined],
    // A checksum name S3 does not know: its 400 (s3d said 501, as for SHA-512, which S3 has).
    ['an unknown x-amz-checksum- name', { 'x-amz-checksum-bad': '6Le+Qw==' }, 'InvalidRequest', undefined],
    // aws-chunked framing outside a STREAMING-* mode would be stored as the object's bytes.
    ['Content-Encoding aws-chunked with UNSIGNED-PAYLOAD', { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(body.length) }, 'InvalidArgument', 'UNSIGNED-PAYLOAD'],
    ['Content-Encoding gzip, aws-chunked with UNSIGNED-PAYLOAD', { 'content-encoding': 'gzip, aws-chunked' }, 'InvalidArgument', undefined],
  ];
  for (const [what, headers, code, payloadHash] of cases) {
    const r = await raw(fragile.port, { method: 'PUT', path: '/present/malformed', body, headers, ...(payloadHash ? { sign: { payloadHash } } : {}) }).catch((err: Error) => err);
    if (r instanceof Error) t.fail(`${what}: ${r.message}`);
    else assertXmlError(t, r, 400, code, what);
    await fragileSurvived(t, what);
  }
  t.equal((await raw(fragile.port, { method: 'HEAD', path: '/present/malformed' })).status, 404, 'nothing stored');
});

t.test('Content-Encoding aws-chunked on a body signed by its SHA-256 is stored as sent, body and header, as S3 does', async (t) => {
  // S3 takes it (OpenStack Swift's AWS-run test_no_md5_good_sha_chunk_encoding_declared_ok, and
  // versitygw's maintainers checked it against S3, versity/versitygw#2400): the hash binds the body,
  // which is not framed, and aws-chunked is dropped from the stored Content-Encoding only for a
  // STREAMING-* upload. With UNSIGNED-PAYLOAD it is refused (the test above).
  const body = testBytes(1000, 15);
  for (const [key, encoding] of [['declared-chunked/plain', 'aws-chunked'], ['declared-chunked/gzip', 'gzip, aws-chunked']] as const) {
    const put = await raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, body, headers: { 'content-encoding': encoding }, sign: { payloadHash: 'hash' } });
    t.equal(put.status, 200, `${encoding}, signed hash: stored`);
    const got = await raw(d.port, { method: 'GET', path: `/${bucket}/${key}` });
    t.ok(got.body.equals(body), `${encoding}: the body as sent`);
    t.equal(got.headers['content-encoding'], encoding, `${encoding}: Content-Encoding as sent`);
  }
  // A wrong hash is still the hash's error, nothing stored.
  const wrong = await raw(d.port, { method: 'PUT', path: `/${bucket}/declared-chunked/wrong`, body, headers: { 'content-encoding': 'aws-chunked' }, sign: { payloadHash: sha256Hex(Buffer.from('other')) } });
  assertXmlError(t, wrong, 400, 'XAmzContentSHA256Mismatch', 'aws-chunked declared, wrong hash');
  t.equal(await headStatus('declared-chunked/wrong'), 404, 'wrong hash: nothing stored');
});

t.test('an aws-chunked body without x-amz-decoded-content-length is 411 MissingContentLength, however it is framed', async (t) => {
  const data = Buffer.from('hello aws-chunked');
  const framed = Buffer.from(`${data.length.toString(16)}\r\n${data.toString()}\r\n0\r\nx-amz-checksum-crc32:${crc32Base64(data)}\r\n\r\n`);
  const headers = { 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32' };
  const sign = { payloadHash: STREAMING_UNSIGNED_PAYLOAD_TRAILER };
  async function* once(): AsyncIterable<Buffer> {
    yield framed;
  }
  // The SDK for Go sends an unseekable body so: Transfer-Encoding: chunked, no length at all.
  const chunkedTe = await raw(d.port, { method: 'PUT', path: `/${bucket}/no-decoded-te`, body: once(), headers: { ...headers, 'transfer-encoding': 'chunked' }, sign });
  assertXmlError(t, chunkedTe, 411, 'MissingContentLength', 'Transfer-Encoding: chunked');
  const withLength = await raw(d.port, { method: 'PUT', path: `/${bucket}/no-decoded-cl`, body: framed, headers, sign });
  assertXmlError(t, withLength, 411, 'MissingContentLength', 'Content-Length');
  // A decoded length that is not a number is none (S3's answer, OpenStack Swift's AWS-run tests).
  const notANumber = await raw(d.port, { method: 'PUT', path: `/${bucket}/no-decoded-cl`, body: framed, headers: { ...headers, 'x-amz-decoded-content-length': 'lots' }, sign });
  assertXmlError(t, notANumber, 411, 'MissingContentLength', 'x-amz-decoded-content-length not a number');
  for (const key of ['no-decoded-te', 'no-decoded-cl']) t.equal(await headStatus(key), 404, `${key}: nothing stored`);
  // With the decoded length, the same chunked-framed body is stored.
  const ok = await raw(d.port, { method: 'PUT', path: `/${bucket}/decoded-te`, body: once(), headers: { ...headers, 'transfer-encoding': 'chunked', 'x-amz-decoded-content-length': String(data.length) }, sign });
  t.equal(ok.status, 200, 'with x-amz-decoded-content-length: stored');
  t.same((await raw(d.port, { method: 'GET', path: `/${bucket}/decoded-te` })).body.toString(), data.toString(), 'and reads back');
});

t.test('x-amz-decoded-content-length on a plain body (no aws-chunked) is not its length: Content-Length is, as on S3', async (t) => {
  const data = Buffer.from('a plain body of 30 bytes......');
  const put = (key: string, decoded: string, payloadHash: string, query?: string): Promise<RawResponse> =>
    raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, ...(query ? { query } : {}), body: data, headers: { 'x-amz-decoded-content-length': decoded }, sign: { payloadHash } });
  for (const [what, payloadHash] of [['a signed payload hash', 'hash'], ['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD']] as const) {
    for (const decoded of ['3', '3000', '6000000000']) {
      const key = `plain-decoded/${payloadHash}-${decoded}`;
      const r = await put(key, decoded, payloadHash);
      t.equal(r.status, 200, `${what}, x-amz-decoded-content-length ${decoded}: stored`);
      t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}/${key}` })).body.toString(), data.toString(), 'the whole body, as Content-Length says');
    }
  }
  // An UploadPart likewise.
  const created = await raw(d.port, { method: 'POST', path: `/${bucket}/plain-decoded/mp`, query: 'uploads' });
  const uploadId = xmlField(created.body.toString(), 'UploadId')!;
  const part = await put('plain-decoded/mp', '3000', 'hash', `partNumber=1&uploadId=${encodeURIComponent(uploadId)}`);
  t.equal(part.status, 200, 'UploadPart with x-amz-decoded-content-length 3000: stored');
  t.equal(part.headers.etag, `"${md5Hex(data)}"`, 'the whole body is the part');
  await raw(d.port, { method: 'DELETE', path: `/${bucket}/plain-decoded/mp`, query: `uploadId=${encodeURIComponent(uploadId)}` });
});

t.test('presigned URLs', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'presigned/get me', Body: 'presigned body' }));
  const host = `127.0.0.1:${d.port}`;
  const presign = (method: string, key: string, expiresIn: number, now?: Date): { path: string; query: string } => {
    const url = presignUrl({ method, rawPath: `/${bucket}/${key}`, headers: { host }, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: REGION, expiresIn, ...(now ? { now } : {}) });
    const q = url.indexOf('?');
    return { path: url.slice(0, q), query: url.slice(q + 1) };
  };
  const get = presign('GET', 'presigned/get%20me', 300);
  const ok = await raw(d.port, { method: 'GET', ...get, sign: false });
  t.equal(ok.status, 200, 'presigned GET works');
  t.equal(ok.body.toString(), 'presigned body');
  // An empty Authorization header beside the query (a proxy that blanks it) is no second mechanism.
  const blank = await raw(d.port, { method: 'GET', ...get, sign: false, headers: { authorization: '' } });
  t.same([blank.status, blank.body.toString()], [200, 'presigned body'], 'presigned GET with an empty Authorization header works');
  const withOverride = presignUrl({
    method: 'GET',
    rawPath: `/${bucket}/presigned/get%20me`,
    rawQuery: 'response-content-type=text%2Fx-presigned&response-content-disposition=attachment%3B%20filename%3D%22a.txt%22',
    headers: { host },
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    region: REGION,
    expiresIn: 300,
  });
  const ov = await raw(d.port, { method: 'GET', path: withOverride.slice(0, withOverride.indexOf('?')), query: withOverride.slice(withOverride.indexOf('?') + 1), sign: false });
  t.equal(ov.status, 200, 'presigned GET with response-* overrides');
  t.equal(ov.headers['content-type'], 'text/x-presigned');
  t.equal(ov.headers['content-disposition'], 'attachment; filename="a.txt"');
  const week = presign('GET', 'presigned/get%20me', 604800);
  t.equal((await raw(d.port, { method: 'GET', ...week, sign: false })).status, 200, 'X-Amz-Expires=604800 (7 days) accepted');
  const put = presign('PUT', 'presigned/put', 300);
  const putRes = await raw(d.port, { method: 'PUT', ...put, body: 'uploaded with a presigned URL', sign: false });
  t.equal(putRes.status, 200, 'presigned PUT works');
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}/presigned/put` })).body.toString(), 'uploaded with a presigned URL');

  const expired = presign('GET', 'presigned/get%20me', 60, new Date(Date.now() - 3600_000));
  assertXmlError(t, await raw(d.port, { method: 'GET', ...expired, sign: false }), 403, 'AccessDenied', 'expired presigned URL');
  const future = presign('GET', 'presigned/get%20me', 60, new Date(Date.now() + 3600_000));
  assertXmlError(t, await raw(d.port, { method: 'GET', ...future, sign: false }), 403, 'AccessDenied', 'presigned URL dated an hour ahead');
  const tooLong = { path: week.path, query: week.query.replace('X-Amz-Expires=604800', 'X-Amz-Expires=604801') };
  t.not(tooLong.query, week.query);
  assertXmlError(t, await raw(d.port, { method: 'GET', ...tooLong, sign: false }), 400, 'AuthorizationQueryParametersError', 'X-Amz-Expires=604801');
  const badSig = { path: get.path, query: get.query.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`) };
  assertXmlError(t, await raw(d.port, { method: 'GET', ...badSig, sign: false }), 403, 'SignatureDoesNotMatch', 'tampered presigned signature');
  const otherKey = { path: `/${bucket}/presigned/put`, query: get.query };
  assertXmlError(t, await raw(d.port, { method: 'GET', ...otherKey, sign: false }), 403, 'SignatureDoesNotMatch', 'presigned URL used for another key');
  assertXmlError(t, await raw(d.port, { method: 'PUT', ...get, body: 'x', sign: false }), 403, 'SignatureDoesNotMatch', 'presigned GET used for PUT');
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}/presigned/get%20me` })).body.toString(), 'presigned body', 'object unchanged');

  // A URL that signs the body's hash (X-Amz-Content-Sha256 in the query, as aws-sdk v2 presigns a
  // PUT with a Body): another body fails the URL's signature, as S3 answers (the SDK's own
  // AWS-run test), and nothing is stored.
  const hashedUrl = presignUrl({
    method: 'PUT', rawPath: `/${bucket}/presigned/hashed`, headers: { host }, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY,
    region: REGION, expiresIn: 300, payloadHash: sha256Hex('CHECKSUMMED'),
  });
  const hashed = { path: hashedUrl.slice(0, hashedUrl.indexOf('?')), query: hashedUrl.slice(hashedUrl.indexOf('?') + 1) };
  assertXmlError(t, await raw(d.port, { method: 'PUT', ...hashed, body: 'NOT CHECKSUMMED', sign: false }), 403, 'SignatureDoesNotMatch', 'presigned PUT whose body does not match the signed hash');
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/presigned/hashed` })).status, 404, 'nothing stored');
  t.equal((await raw(d.port, { method: 'PUT', ...hashed, body: 'CHECKSUMMED', sign: false })).status, 200, 'the body the URL signed is stored');
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}/presigned/hashed` })).body.toString(), 'CHECKSUMMED');
});

interface ChunkedPlan {
  data: Buffer;
  chunkSize: number;
  mode: 'signed' | 'signed-trailer' | 'unsigned-trailer';
  /** Index of a data chunk whose signature is corrupted. */
  corruptChunk?: number;
  /** Wrong trailer checksum value. */
  trailerValue?: string;
  corruptTrailerSignature?: boolean;
  /** Declared decoded length (default: data length). */
  declaredLength?: number;
  /** How each chunk header spells its signature (default: `;chunk-signature=<sig>`). */
  chunkHeader?: (i: number, sig: string) => string;
}

/** Builds and sends an aws-chunked PUT, signing the seed, every chunk and the trailer. */
async function putChunked(key: string, plan: ChunkedPlan): Promise<RawResponse> {
  const signed = plan.mode !== 'unsigned-trailer';
  const trailer = plan.mode !== 'signed';
  const chunks: Buffer[] = [];
  for (let off = 0; off < plan.data.length; off += plan.chunkSize) chunks.push(plan.data.subarray(off, off + plan.chunkSize));
  chunks.push(Buffer.alloc(0));
  const trailerValue = plan.trailerValue ?? crc32Base64(plan.data);
  const encode = (sig: (i: number, chunk: Buffer) => string, trailerSig: string): Buffer => {
    const parts: Buffer[] = [];
    chunks.forEach((c, i) => {
      parts.push(Buffer.from(`${c.length.toString(16)}${signed ? (plan.chunkHeader ?? ((_, v) => `;chunk-signature=${v}`))(i, sig(i, c)) : ''}\r\n`));
      if (c.length > 0) parts.push(c, Buffer.from('\r\n'));
    });
    if (trailer) {
      parts.push(Buffer.from(`x-amz-checksum-crc32:${trailerValue}\r\n`));
      if (signed) parts.push(Buffer.from(`x-amz-trailer-signature:${trailerSig}\r\n`));
    }
    parts.push(Buffer.from('\r\n'));
    return Buffer.concat(parts);
  };
  const placeholder = '0'.repeat(64);
  const length = encode(() => placeholder, placeholder).length;
  const headers: Record<string, string> = {
    'content-encoding': 'aws-chunked',
    'content-length': String(length),
    'x-amz-decoded-content-length': String(plan.declaredLength ?? plan.data.length),
  };
  if (trailer) headers['x-amz-trailer'] = 'x-amz-checksum-crc32';
  const payloadHash = plan.mode === 'signed' ? STREAMING_SIGNED_PAYLOAD : plan.mode === 'signed-trailer' ? STREAMING_SIGNED_PAYLOAD_TRAILER : STREAMING_UNSIGNED_PAYLOAD_TRAILER;
  const path = `/${bucket}/${key}`;
  const signedHeaders = buildHeaders(d.port, { method: 'PUT', path, headers, sign: { payloadHash } });
  const amzDate = signedHeaders['x-amz-date']!;
  const seed = /Signature=([0-9a-f]{64})/.exec(signedHeaders.authorization!)![1]!;
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const key_ = deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3');
  const sigs: string[] = [];
  let prev = seed;
  chunks.forEach((c, i) => {
    const s = signatureHex(key_, chunkStringToSign(amzDate, scope, prev, sha256Hex(c)));
    sigs.push(i === plan.corruptChunk ? s.replace(/^./, (ch) => (ch === 'a' ? 'b' : 'a')) : s);
    prev = s;
  });
  let trailerSig = signatureHex(key_, trailerStringToSign(amzDate, scope, prev, `x-amz-checksum-crc32:${trailerValue}\n`));
  if (plan.corruptTrailerSignature) trailerSig = trailerSig.replace(/^./, (ch) => (ch === 'a' ? 'b' : 'a'));
  const body = encode((i) => sigs[i]!, trailerSig);
  return raw(d.port, { method: 'PUT', path, headers: signedHeaders, body, sign: false });
}

t.test('signed aws-chunked streams: every chunk signature and the trailer are verified', async (t) => {
  const data = testBytes(700_000, 21);
  for (const mode of ['signed', 'signed-trailer', 'unsigned-trailer'] as const) {
    const ok = await putChunked(`chunked/${mode}/ok`, { data, chunkSize: 65_536, mode });
    t.equal(ok.status, 200, `${mode}: valid stream accepted`);
    t.equal(ok.headers.etag, `"${md5Hex(data)}"`, `${mode}: ETag of the decoded bytes`);
    const got = await raw(d.port, { method: 'GET', path: `/${bucket}/chunked/${mode}/ok` });
    t.ok(got.body.equals(data), `${mode}: decoded bytes stored`);
  }
  // Chunks under 8 KiB (S3: InvalidChunkSizeError; MinIO and s3d take them, operations.md), each
  // signature still checked.
  const small = testBytes(20_000, 22);
  const smallOk = await putChunked('chunked/small', { data: small, chunkSize: 1000, mode: 'signed' });
  t.equal(smallOk.status, 200, '1000-byte chunks: accepted');
  t.ok((await raw(d.port, { method: 'GET', path: `/${bucket}/chunked/small` })).body.equals(small), '1000-byte chunks: the decoded bytes are stored');
  const smallBad = await putChunked('chunked/small-bad', { data: small, chunkSize: 1000, mode: 'signed', corruptChunk: 7 });
  t.equal(smallBad.status, 403, '1000-byte chunks, one signature wrong: refused');
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/chunked/small-bad` })).status, 404, 'and nothing stored');
  // S3 takes spaces around the ';' and '=' of a chunk header.
  const spaced = await putChunked('chunked/spaced', { data, chunkSize: 65_536, mode: 'signed', chunkHeader: (_, v) => ` ; chunk-signature = ${v}` });
  t.equal(spaced.status, 200, 'chunk headers with spaces around ; and =: accepted');
  t.ok((await raw(d.port, { method: 'GET', path: `/${bucket}/chunked/spaced` })).body.equals(data), 'and the decoded bytes are stored');
  const bad: Array<[string, ChunkedPlan, number, string]> = [
    ['first chunk signature', { data, chunkSize: 65_536, mode: 'signed', corruptChunk: 0 }, 403, 'SignatureDoesNotMatch'],
    ['middle chunk signature', { data, chunkSize: 65_536, mode: 'signed', corruptChunk: 5 }, 403, 'SignatureDoesNotMatch'],
    ['final chunk signature', { data, chunkSize: 65_536, mode: 'signed', corruptChunk: 11 }, 403, 'SignatureDoesNotMatch'],
    ['chunk signature (trailer mode)', { data, chunkSize: 65_536, mode: 'signed-trailer', corruptChunk: 3 }, 403, 'SignatureDoesNotMatch'],
    ['trailer signature', { data, chunkSize: 65_536, mode: 'signed-trailer', corruptTrailerSignature: true }, 403, 'SignatureDoesNotMatch'],
    ['signed trailer CRC32', { data, chunkSize: 65_536, mode: 'signed-trailer', trailerValue: crc32Base64(Buffer.from('other')) }, 400, 'BadDigest'],
    ['unsigned trailer CRC32', { data, chunkSize: 65_536, mode: 'unsigned-trailer', trailerValue: crc32Base64(Buffer.from('other')) }, 400, 'BadDigest'],
    ['decoded length larger than the chunks', { data, chunkSize: 65_536, mode: 'signed', declaredLength: data.length + 1 }, 400, 'IncompleteBody'],
    ['decoded length smaller than the chunks', { data, chunkSize: 65_536, mode: 'signed', declaredLength: data.length - 1 }, 400, 'IncompleteBody'],
    // Not 64 hex digits: a wrong signature, as S3 answers it (OpenStack Swift's AWS-checked tests).
    ['chunk-signature=invalid', { data, chunkSize: 65_536, mode: 'signed', chunkHeader: (i, v) => `;chunk-signature=${i === 2 ? 'invalid' : v}` }, 403, 'SignatureDoesNotMatch'],
    // An empty one is IncompleteBody (S3's answer, the same tests).
    ['an empty chunk-signature', { data, chunkSize: 65_536, mode: 'signed', chunkHeader: (i, v) => `;chunk-signature=${i === 0 ? '' : v}` }, 400, 'IncompleteBody'],
    ['a chunk header without its signature', { data, chunkSize: 65_536, mode: 'signed', chunkHeader: (i, v) => (i === 1 ? '' : `;chunk-signature=${v}`) }, 400, 'IncompleteBody'],
  ];
  for (const [what, plan, status, code] of bad) {
    const key = `chunked/bad/${what.replace(/\W+/g, '-')}`;
    const r = await putChunked(key, plan);
    assertXmlError(t, r, status, code, what);
    t.equal(await headStatus(key), 404, `${what}: nothing stored`);
  }
  await noTempFiles(t, 'rejected chunked streams');
});

/** A raw connection that records what the server sends and when. */
class Wire {
  readonly sock: Socket;
  text = '';
  closed = false;
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.sock = connect(port, '127.0.0.1');
    this.sock.on('data', (b: Buffer) => {
      this.text += b.toString('latin1');
      this.wake();
    });
    this.sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.sock.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when the received text matches (or the connection closed, or the timeout hit). */
  async until(re: RegExp, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!re.test(this.text)) {
      if (this.closed || Date.now() >= deadline) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  writeHead(method: string, path: string, headers: Record<string, string>): void {
    this.sock.write(`${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  }

  write(b: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.sock.write(b, (err) => (err ? reject(err) : resolve())));
  }

  destroy(): void {
    this.sock.destroy();
  }
}

const FINAL_STATUS = /HTTP\/1\.1 [2-5]\d\d [^\r]*\r\n[\s\S]*?\r\n\r\n/;

t.test('Expect: 100-continue: 100 first, then the body, then 200', async (t) => {
  const body = testBytes(1_000_000, 31);
  const path = `/${bucket}/expect/ok`;
  const headers = buildHeaders(d.port, { method: 'PUT', path, headers: { expect: '100-continue', 'content-length': String(body.length) } });
  const w = new Wire(d.port);
  t.teardown(() => w.destroy());
  w.writeHead('PUT', path, headers);
  t.ok(await w.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/, 3000), 'server sends 100 Continue before any body byte');
  t.notMatch(w.text, FINAL_STATUS, 'and no final status yet');
  await w.write(body);
  t.ok(await w.until(FINAL_STATUS, 5000), 'final response after the body');
  t.match(w.text, /HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/, '100 then 200');
  t.match(w.text, new RegExp(`etag: "${md5Hex(body)}"`, 'i'));
  const got = await raw(d.port, { method: 'GET', path });
  t.ok(got.body.equals(body), 'stored bytes');
});

t.test('requests rejected before the body are answered without it (missing bucket, bad signature)', async (t) => {
  const big = String(512 * 1024 * 1024);
  const cases: Array<[string, string, (port: number) => Record<string, string>, string]> = [
    ['missing bucket + Expect', '/missing-bucket/big', (port) => buildHeaders(port, { method: 'PUT', path: '/missing-bucket/big', headers: { expect: '100-continue', 'content-length': big } }), 'NoSuchBucket'],
    ['missing bucket, no Expect', '/missing-bucket/big', (port) => buildHeaders(port, { method: 'PUT', path: '/missing-bucket/big', headers: { 'content-length': big } }), 'NoSuchBucket'],
    [
      'bad signature + Expect',
      '/present/big',
      (port) => buildHeaders(port, { method: 'PUT', path: '/present/big', headers: { expect: '100-continue', 'content-length': big }, sign: { secretAccessKey: 'wrong-secret-key' } }),
      'SignatureDoesNotMatch',
    ],
    ['bad signature, no Expect', '/present/big', (port) => buildHeaders(port, { method: 'PUT', path: '/present/big', headers: { 'content-length': big }, sign: { secretAccessKey: 'wrong-secret-key' } }), 'SignatureDoesNotMatch'],
    ['anonymous + Expect', '/present/big', (port) => ({ host: `127.0.0.1:${port}`, expect: '100-continue', 'content-length': big }), 'AccessDenied'],
  ];
  for (const [what, path, headersFor, code] of cases) {
    const headers = headersFor(fragile.port);
    const w = new Wire(fragile.port);
    try {
      const started = Date.now();
      w.writeHead('PUT', path, headers);
      // Not one body byte is sent.
      const answered = await w.until(/<\/Error>/, 3000);
      t.ok(answered, `${what}: final answer without the body (${Date.now() - started} ms)`);
      if (answered) {
        t.equal(xmlField(w.text, 'Code'), code, `${what}: ${code}`);
        t.match(w.text, /HTTP\/1\.1 [45]\d\d /, `${what}: an error status`);
      }
      if (headers.expect !== undefined && answered) {
        t.notMatch(w.text, /^HTTP\/1\.1 100 Continue/, `${what}: no 100 Continue before the rejection`, { todo: BUG_CONTINUE_BEFORE_REJECT });
      }
    } finally {
      w.destroy();
    }
    await fragileSurvived(t, what);
  }
  // The SDK way to get there: a 10 MiB PutObject into a missing bucket.
  const sdkPut = await fragile
    .s3()
    .send(new PutObjectCommand({ Bucket: 'missing-bucket', Key: 'k', Body: testBytes(10 * 1024 * 1024, 5) }))
    .then(
      () => 'succeeded',
      (err: { name?: string }) => err.name ?? 'error',
    );
  t.equal(sdkPut, 'NoSuchBucket', 'SDK 10 MiB PutObject to a missing bucket → NoSuchBucket');
  await fragileSurvived(t, 'SDK 10 MiB PutObject to a missing bucket');
  t.equal((await raw(fragile.port, { method: 'HEAD', path: '/present/big' })).status, 404, 'nothing stored');
});

t.test('truncated bodies: the client goes away mid-upload; nothing is stored, no temp file remains', async (t) => {
  const path = `/${bucket}/truncated`;
  // Plain body: Content-Length promises 4 MiB, the client sends 1 MiB and closes.
  const plain = new Wire(d.port);
  plain.writeHead('PUT', path, buildHeaders(d.port, { method: 'PUT', path, headers: { 'content-length': String(4 * 1024 * 1024) } }));
  await plain.write(testBytes(1024 * 1024, 41));
  await new Promise((r) => setTimeout(r, 200));
  plain.sock.end();
  await plain.until(/$^/, 2000);
  plain.destroy();
  // aws-chunked body cut inside a chunk.
  const chunked = new Wire(d.port);
  const headers = buildHeaders(d.port, {
    method: 'PUT',
    path: `${path}-chunked`,
    headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '300000', 'x-amz-trailer': 'x-amz-checksum-crc32', 'transfer-encoding': 'chunked' },
    sign: { payloadHash: STREAMING_UNSIGNED_PAYLOAD_TRAILER },
  });
  chunked.writeHead('PUT', `${path}-chunked`, headers);
  // HTTP chunk of 0x10000 bytes carrying an aws-chunked header and part of its data.
  const inner = Buffer.concat([Buffer.from('493e0\r\n'), testBytes(65_536 - 7, 42)]);
  await chunked.write(Buffer.concat([Buffer.from('10000\r\n'), inner, Buffer.from('\r\n')]));
  await new Promise((r) => setTimeout(r, 200));
  chunked.sock.end();
  await chunked.until(/$^/, 2000);
  chunked.destroy();
  t.equal(await headStatus('truncated'), 404, 'plain truncated upload not stored');
  t.equal(await headStatus('truncated-chunked'), 404, 'chunked truncated upload not stored');
  await noTempFiles(t, 'truncated uploads');
  // A complete, well-framed stream that holds fewer bytes than declared.
  const short = await putChunked('truncated-declared', { data: testBytes(10_000, 43), chunkSize: 4096, mode: 'signed', declaredLength: 20_000 });
  assertXmlError(t, short, 400, 'IncompleteBody', 'stream shorter than x-amz-decoded-content-length');
  // Body longer than Content-Length cannot happen on HTTP/1.1 framing; shorter with the SDK's
  // own length header is covered above. The daemon still serves.
  const after = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sha-keep' }));
  t.equal(after.$metadata.httpStatusCode, 200, 'daemon healthy after the aborted uploads');
});
