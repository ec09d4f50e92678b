// Object operations against the real daemon (issue 2, "Operations" and "Storage"): PUT/GET/
// HEAD/DELETE with the SDK's default checksums (CRC32 header, aws-chunked + trailer for
// streams) and a signed SHA-256 payload, the checksum mode, ETag, empty objects, missing keys,
// old data files reaped, and bodiless responses on kept-alive connections. Ranged and
// conditional reads and response-* overrides: api-objects-reads.test.ts; metadata and keys:
// api-objects-metadata-keys.test.ts.
import t from 'tap';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import { bucketName, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { crc32Base64, md5Base64, md5Hex, sha256Hex } from '../helpers/hash.js';
import { assertXmlError, raw, xmlField, type RawOptions } from '../helpers/http.js';
import { expectSdkError, getBytes, keptAliveClient } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

let d: TestDaemon;
let s3: S3Client;
const bucket = bucketName('obj');
/** Request headers of every SDK request, in order (captured after signing). */
const sent: Array<Record<string, string>> = [];

t.before(async () => {
  d = await startDaemon();
  s3 = keptAliveClient(d);
  s3.middlewareStack.add(
    (next) => async (args) => {
      sent.push({ ...(args.request as { headers: Record<string, string> }).headers });
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'captureHeaders' },
  );
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
t.teardown(async () => {
  await d.stop();
  d.cleanup();
});

/** A stream body in uneven pieces, so aws-chunked framing gets several chunks. */
function streamOf(data: Buffer): Readable {
  const pieces: Buffer[] = [];
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = Math.min(data.length - off, 65_536 + ((i * 7919) % 50_000));
    pieces.push(data.subarray(off, off + n));
    off += n;
  }
  return Readable.from(pieces);
}

const SIZES = [1, 1000, 131_072, 131_073, 1_048_593, 5 * 1024 * 1024 + 3];

t.test('PUT/GET/HEAD/DELETE with the SDK default checksums (Buffer: CRC32 header)', async (t) => {
  for (const size of SIZES) {
    const body = testBytes(size, size);
    const key = `buf/${size}`;
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const req = sent[sent.length - 1]!;
    t.equal(req['x-amz-checksum-crc32'], crc32Base64(body), `${size}: SDK sent a CRC32 header`);
    t.equal(put.ETag, `"${md5Hex(body)}"`, `${size}: ETag is the quoted MD5`);
    t.equal(put.ChecksumCRC32, crc32Base64(body), `${size}: CRC32 echoed`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    t.equal(sha256Hex(bytes), sha256Hex(body), `${size}: GET returns the bytes`);
    t.equal(got.ContentLength, size);
    t.equal(got.ETag, put.ETag);
    t.equal(got.ChecksumCRC32, crc32Base64(body), `${size}: GET returns the stored CRC32`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    t.equal(head.ContentLength, size, `${size}: HEAD Content-Length`);
    t.equal(head.ETag, put.ETag);
    t.equal(head.AcceptRanges, 'bytes');
    t.ok(head.LastModified instanceof Date && Math.abs(head.LastModified.getTime() - Date.now()) < 60_000, 'Last-Modified is now-ish');
  }
  const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'buf/1000' }));
  t.equal(del.$metadata.httpStatusCode, 204, 'DeleteObject → 204');
  await expectSdkError(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'buf/1000' })), 'NoSuchKey', 404, 'GET after delete');
  await expectSdkError(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'buf/1000' })), 'NotFound', 404, 'HEAD after delete');
});

t.test('PUT streams with aws-chunked and a CRC32 trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)', async (t) => {
  for (const size of SIZES) {
    const body = testBytes(size, size + 1);
    const key = `stream/${size}`;
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: streamOf(body), ContentLength: size, ContentType: 'application/x-test' }));
    const req = sent[sent.length - 1]!;
    t.equal(req['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', `${size}: streamed as aws-chunked`);
    t.equal(req['x-amz-trailer'], 'x-amz-checksum-crc32', `${size}: with a CRC32 trailer`);
    t.equal(req['x-amz-decoded-content-length'], String(size));
    t.equal(put.ETag, `"${md5Hex(body)}"`, `${size}: ETag is the MD5 of the decoded payload`);
    t.equal(put.ChecksumCRC32, crc32Base64(body), `${size}: trailer CRC32 echoed`);
    const bytes = await getBytes(s3, { Bucket: bucket, Key: key });
    t.equal(bytes.length, size);
    t.equal(sha256Hex(bytes), sha256Hex(body), `${size}: GET returns the decoded bytes (no framing)`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    t.equal(head.ContentType, 'application/x-test');
    t.equal(head.ChecksumCRC32, crc32Base64(body));
  }
});

t.test('an aws-chunked trailer as minio-go (mc) writes it: a bare LF after the value, then CRLF CRLF', async (t) => {
  // minio-go's StreamingUSReader writes `name:value\n` then `\r\n\r\n`; s3d refused it as a line
  // not terminated by CRLF, so every mc / minio-go upload with a trailing checksum failed.
  const body = testBytes(70_000, 71);
  const crc = crc32Base64(body);
  const framed = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc}\n\r\n\r\n`)]);
  const headers = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(body.length), 'x-amz-trailer': 'x-amz-checksum-crc32', 'content-length': String(framed.length) };
  const put = await raw(d.port, { method: 'PUT', path: `/${bucket}/minio-go/trailer`, body: framed, headers, sign: { payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' } });
  t.equal(put.status, 200, `200 (${put.body.toString()})`);
  t.equal(put.headers['x-amz-checksum-crc32'], crc, 'the trailer checksum taken');
  t.equal(sha256Hex(await getBytes(s3, { Bucket: bucket, Key: 'minio-go/trailer' })), sha256Hex(body), 'the bytes as sent');
  // A wrong value in the same framing is still refused, and nothing is stored.
  const wrong = Buffer.from(framed.toString('latin1').replace(crc, crc32Base64(Buffer.from('other'))), 'latin1');
  const bad = await raw(d.port, { method: 'PUT', path: `/${bucket}/minio-go/wrong`, body: wrong, headers, sign: { payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' } });
  assertXmlError(t, bad, 400, 'BadDigest', 'a wrong trailer value');
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/minio-go/wrong` })).status, 404, 'nothing stored');
  // Ending right after the trailer's CRLF, with no blank line: S3 takes it (Swift's AWS-checked tests).
  const short = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(`\r\n0\r\nx-amz-checksum-crc32: ${crc}\r\n`)]);
  const put2 = await raw(d.port, { method: 'PUT', path: `/${bucket}/minio-go/short`, body: short, headers: { ...headers, 'content-length': String(short.length) }, sign: { payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' } });
  t.equal(put2.status, 200, `a trailer without the final blank line: 200 (${put2.body.toString()})`);
  t.equal(sha256Hex(await getBytes(s3, { Bucket: bucket, Key: 'minio-go/short' })), sha256Hex(body), '… the bytes as sent');
});

t.test('aws-chunked is transport framing: it is not stored as the Content-Encoding', async (t) => {
  const body = testBytes(3000, 3);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ce/plain', Body: streamOf(body), ContentLength: body.length }));
  t.match(sent[sent.length - 1]!['content-encoding'], /aws-chunked/, 'the SDK sent Content-Encoding: aws-chunked');
  const plain = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ce/plain' }));
  t.equal(plain.ContentEncoding, undefined, 'no Content-Encoding stored for a plain streamed PUT');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ce/gzip', Body: streamOf(body), ContentLength: body.length, ContentEncoding: 'gzip' }));
  t.equal(sent[sent.length - 1]!['content-encoding'], 'gzip,aws-chunked');
  const gz = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ce/gzip' }));
  t.equal(gz.ContentEncoding, 'gzip', 'only the client encoding is stored');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'ce/gzip' })).equals(body), 'bytes are stored as sent (no decoding)');
  // Codings around aws-chunked are joined as S3 joins them; a value without it is kept as sent.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ce/mixed', Body: streamOf(body), ContentLength: body.length, ContentEncoding: 'foo, aws-chunked, bar' }));
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ce/mixed' }))).ContentEncoding, 'foo, bar', '"foo, aws-chunked, bar" is stored as "foo, bar", as on S3');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ce/asis', Body: Buffer.from('x'), ContentEncoding: 'gzip,br' }));
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ce/asis' }))).ContentEncoding, 'gzip,br', 'a value without aws-chunked is kept as sent');
});

t.test('PUT with a precomputed SHA-256 payload hash (raw SigV4)', async (t) => {
  for (const size of [0, 17, 200_000]) {
    const body = testBytes(size, 99);
    const path = `/${bucket}/sha/${size}`;
    const put = await raw(d.port, { method: 'PUT', path, body, sign: { payloadHash: 'hash' }, headers: { 'content-type': 'text/x-sha' } });
    t.equal(put.status, 200, `${size}: signed-payload PUT → 200`);
    t.equal(put.headers.etag, `"${md5Hex(body)}"`);
    const get = await raw(d.port, { method: 'GET', path });
    t.equal(get.status, 200);
    t.ok(get.body.equals(body), `${size}: bytes`);
    t.equal(get.headers['content-type'], 'text/x-sha');
    t.equal(get.headers['content-length'], String(size));
  }
  // Content-MD5 and an explicit SHA-256 checksum header together with the signed hash.
  const body = testBytes(4096, 5);
  const withMd5 = await raw(d.port, {
    method: 'PUT',
    path: `/${bucket}/sha/md5`,
    body,
    sign: { payloadHash: 'hash' },
    headers: { 'content-md5': md5Base64(body), 'x-amz-checksum-sha256': createHash('sha256').update(body).digest('base64') },
  });
  t.equal(withMd5.status, 200, 'Content-MD5 + x-amz-checksum-sha256 accepted');
  t.equal(withMd5.headers['x-amz-checksum-sha256'], createHash('sha256').update(body).digest('base64'));
});

t.test('empty objects', async (t) => {
  const EMPTY_MD5 = '"d41d8cd98f00b204e9800998ecf8427e"';
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty', Body: Buffer.alloc(0) }));
  t.equal(put.ETag, EMPTY_MD5);
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'empty' }));
  t.equal((await got.Body!.transformToByteArray()).length, 0);
  t.equal(got.ContentLength, 0);
  t.equal(got.ETag, EMPTY_MD5);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'empty' }));
  t.equal(head.ContentLength, 0);
  const streamed = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty-stream', Body: Readable.from([Buffer.alloc(0)]), ContentLength: 0 }));
  t.equal(streamed.ETag, EMPTY_MD5, 'empty aws-chunked stream');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'empty-stream' })).length, 0);
  const r = await raw(d.port, { method: 'GET', path: `/${bucket}/empty`, headers: { range: 'bytes=0-' } });
  assertXmlError(t, r, 416, 'InvalidRange', 'Range on an empty object');
  t.equal(r.headers['content-range'], 'bytes */0');
  // The last N bytes of an empty object are all of it (Parquet footer readers ask for them).
  const tail = await raw(d.port, { method: 'GET', path: `/${bucket}/empty`, headers: { range: 'bytes=-8' } });
  t.equal(tail.status, 200, 'a suffix range on an empty object: 200');
  t.equal(tail.body.length, 0, 'with no body');
  const tailSdk = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'empty', Range: 'bytes=-8' }));
  t.equal((await tailSdk.Body!.transformToByteArray()).length, 0, 'the SDK reads it');
  const rawGet = await raw(d.port, { method: 'GET', path: `/${bucket}/empty` });
  t.equal(rawGet.status, 200);
  t.equal(rawGet.headers['content-length'], '0');

  // An empty part has no byte range to name: 200 without Content-Range, as for an empty object
  // (`bytes 0--1/0` and `bytes 5242880-5242879/5242880` were sent, with 206).
  const uploads: Array<[string, Buffer[]]> = [['mp-one-empty-part', [Buffer.alloc(0)]], ['mp-empty-last-part', [testBytes(5 * 1024 * 1024, 3), Buffer.alloc(0)]]];
  for (const [key, parts] of uploads) {
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const done = [];
    for (const [i, body] of parts.entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: i + 1, Body: body }));
      done.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: done } }));
    for (const method of ['GET', 'HEAD']) {
      const last = await raw(d.port, { method, path: `/${bucket}/${key}`, query: `partNumber=${parts.length}` });
      t.equal(last.status, 200, `${method} ${key}?partNumber=${parts.length} (empty): 200`);
      t.equal(last.headers['content-range'], undefined, 'no Content-Range');
      t.equal(last.headers['content-length'], '0', 'Content-Length: 0');
      t.equal(last.headers['x-amz-mp-parts-count'], String(parts.length), 'the parts count');
    }
    if (parts.length > 1) {
      const first = await raw(d.port, { method: 'GET', path: `/${bucket}/${key}`, query: 'partNumber=1' });
      t.equal(first.status, 206, 'a part with bytes: 206');
      t.equal(first.headers['content-range'], `bytes 0-${5 * 1024 * 1024 - 1}/${5 * 1024 * 1024}`);
    }
  }
});

t.test('missing keys and buckets', async (t) => {
  const del = await raw(d.port, { method: 'DELETE', path: `/${bucket}/never-existed` });
  t.equal(del.status, 204, 'DeleteObject of a missing key → 204');
  t.equal(del.body.length, 0);
  t.equal((await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'never-existed' }))).$metadata.httpStatusCode, 204);
  const missing = bucketName('missing');
  await expectSdkError(t, s3.send(new DeleteObjectCommand({ Bucket: missing, Key: 'k' })), 'NoSuchBucket', 404, 'DeleteObject in a missing bucket');
  await expectSdkError(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'never-existed' })), 'NoSuchKey', 404, 'GetObject missing key');
  await expectSdkError(t, s3.send(new GetObjectCommand({ Bucket: missing, Key: 'k' })), 'NoSuchBucket', 404, 'GetObject missing bucket');
  await expectSdkError(t, s3.send(new PutObjectCommand({ Bucket: missing, Key: 'k', Body: 'x' })), 'NoSuchBucket', 404, 'PutObject missing bucket');
  const get = await raw(d.port, { method: 'GET', path: `/${bucket}/never-existed` });
  assertXmlError(t, get, 404, 'NoSuchKey', 'raw GetObject missing key');
  t.equal(xmlField(get.body, 'Resource'), `/${bucket}/never-existed`);
});

t.test('overwrite and delete: old data files are removed after the commit (reaper grace 5 s)', async (t) => {
  const files = (): Set<string> => new Set(dataFilePaths(d.dataDir));
  /** The data file a PUT created (other tests' files may come and go meanwhile). */
  const putNewFile = async (key: string, body: Buffer): Promise<string> => {
    const before = files();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const added = [...files()].filter((f) => !before.has(f));
    t.equal(added.length, 1, `PUT ${key} created one data file`);
    return added[0]!;
  };
  const v1 = await putNewFile('overwrite', testBytes(300_000, 1));
  const doomed = await putNewFile('doomed', testBytes(300_000, 3));
  const v2 = await putNewFile('overwrite', testBytes(300_000, 2));
  t.ok(files().has(v1), 'the replaced file is kept for in-flight readers right after the commit');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'overwrite' })).equals(testBytes(300_000, 2)), 'the new bytes are served at once');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doomed' }));
  await pollUntil(files, (f) => !f.has(v1) && !f.has(doomed), 15_000, 100);
  t.notOk(files().has(v1), 'the replaced data file is reaped');
  t.notOk(files().has(doomed), 'the deleted object\'s data file is reaped');
  t.ok(files().has(v2), 'the live data file stays');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'overwrite' })).equals(testBytes(300_000, 2)), 'still served after the sweep');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'overwrite' }));
});

t.test('responses without a body carry a sane Content-Length', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cl', Body: 'abc' }));
  const etag = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cl' }))).ETag!;
  const headObj = await raw(d.port, { method: 'HEAD', path: `/${bucket}/cl` });
  t.equal(headObj.headers['content-length'], '3', 'HEAD object: the object size');
  const cases: Array<[string, RawOptions]> = [
    ['HEAD bucket', { method: 'HEAD', path: `/${bucket}` }],
    ['HEAD missing key', { method: 'HEAD', path: `/${bucket}/none` }],
    ['DELETE → 204', { method: 'DELETE', path: `/${bucket}/none` }],
    ['GET → 304', { method: 'GET', path: `/${bucket}/cl`, headers: { 'if-none-match': etag } }],
    ['HEAD health', { method: 'HEAD', path: '/minio/health/live', sign: false }],
  ];
  for (const [what, opts] of cases) {
    const r = await raw(d.port, opts);
    const cl = r.headers['content-length'];
    t.ok(cl === undefined || (/^\d+$/.test(cl) && Number(cl) < 2 ** 32), `${what}: Content-Length ${String(cl)} is absent or sane`);
    if (r.status === 204) t.equal(cl, undefined, `${what}: no Content-Length on 204 (RFC 9110 section 8.6)`);
  }
});

t.test('keep-alive: a connection stays usable after HEAD, 204 and 304 responses', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ka', Body: 'keep alive' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ka-empty', Body: '' }));
  const etag = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ka' }))).ETag!;
  const firsts: Array<[string, RawOptions]> = [
    ['GET 200', { method: 'GET', path: `/${bucket}/ka` }],
    ['PUT 200', { method: 'PUT', path: `/${bucket}/ka2`, body: 'x' }],
    ['GET 404', { method: 'GET', path: `/${bucket}/none` }],
    ['HEAD object', { method: 'HEAD', path: `/${bucket}/ka` }],
    ['HEAD empty object', { method: 'HEAD', path: `/${bucket}/ka-empty` }],
    ['HEAD bucket', { method: 'HEAD', path: `/${bucket}` }],
    ['HEAD missing key', { method: 'HEAD', path: `/${bucket}/none` }],
    ['DELETE 204', { method: 'DELETE', path: `/${bucket}/none` }],
    ['GET 304', { method: 'GET', path: `/${bucket}/ka`, headers: { 'if-none-match': etag } }],
    ['GET 412', { method: 'GET', path: `/${bucket}/ka`, headers: { 'if-match': '"0"' } }],
  ];
  for (const [what, first] of firsts) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await raw(d.port, { ...first, agent });
      const next = await raw(d.port, { method: 'GET', path: `/${bucket}/ka`, agent }).catch((err: Error) => err);
      if (next instanceof Error) {
        t.fail(`GET after ${what} on the same connection: ${next.message}`);
        continue;
      }
      t.equal(next.reusedSocket, true, `GET after ${what} reused the connection`);
      t.equal(next.body.toString(), 'keep alive', `GET after ${what} on the same connection`);
    } finally {
      agent.destroy();
    }
  }
});

t.test('SDK with keep-alive (its default): HeadObject, then a streaming PutObject on the same client', async (t) => {
  const ka = keptAliveClient(d);
  await ka.send(new PutObjectCommand({ Bucket: bucket, Key: 'ka-sdk', Body: 'x' }));
  t.equal((await ka.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ka-sdk' }))).ContentLength, 1);
  const get = await ka.send(new GetObjectCommand({ Bucket: bucket, Key: 'ka-sdk' }));
  t.equal(await get.Body!.transformToString(), 'x');
  t.equal(get.$metadata.attempts, 1, 'GET after HEAD needed no retry');
  t.equal((await ka.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ka-sdk' }))).ContentLength, 1);
  // Streaming bodies cannot be replayed, so the SDK cannot retry them on a fresh connection.
  const body = testBytes(10_000, 4);
  const put = await ka.send(new PutObjectCommand({ Bucket: bucket, Key: 'ka-sdk', Body: streamOf(body), ContentLength: body.length })).catch((err: Error) => err);
  t.notOk(put instanceof Error, `streaming PUT after HEAD: ${put instanceof Error ? put.message : 'ok'}`);
  ka.destroy();
});

t.test('checksums are returned only with x-amz-checksum-mode: ENABLED (GET and HEAD, as on S3)', async (t) => {
  const sdk = keptAliveClient(d);
  const body = testBytes(10_000, 9);
  const put = await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'mode', Body: body, ChecksumAlgorithm: 'SHA256' }));
  // S3: "For PutObject uploads, the checksum type is always FULL_OBJECT".
  t.same([put.ChecksumSHA256, put.ChecksumType], [createHash('sha256').update(body).digest('base64'), 'FULL_OBJECT'], 'PutObject echoes the checksum and its type');
  const unsummed = await raw(d.port, { method: 'PUT', path: `/${bucket}/unsummed`, body: 'x' });
  t.equal(unsummed.status, 200);
  // S3's default: a PutObject without a checksum gets a CRC64NVME (its PutObject answer's
  // ChecksumCRC64NVME: "or if it was uploaded without a checksum (and Amazon S3 added the default
  // checksum, CRC64NVME …)"), named with its type.
  const x64 = new Crc64Nvme();
  x64.update(Buffer.from('x'));
  t.same(
    Object.fromEntries(Object.entries(unsummed.headers).filter(([h]) => h.startsWith('x-amz-checksum-'))),
    { 'x-amz-checksum-crc64nvme': Buffer.from(await x64.digest()).toString('base64'), 'x-amz-checksum-type': 'FULL_OBJECT' },
    'a PutObject without a checksum: the default CRC64NVME and its type',
  );
  for (const method of ['GET', 'HEAD'] as const) {
    const plain = await raw(d.port, { method, path: `/${bucket}/mode` });
    t.equal(plain.status, 200, `${method} without the mode: 200`);
    t.same(Object.keys(plain.headers).filter((h) => h.startsWith('x-amz-checksum-')), [], `${method} without the mode: no x-amz-checksum-* headers`);
    const asked = await raw(d.port, { method, path: `/${bucket}/mode`, headers: { 'x-amz-checksum-mode': 'ENABLED' } });
    t.equal(asked.headers['x-amz-checksum-sha256'], createHash('sha256').update(body).digest('base64'), `${method} with the mode: the SHA-256 checksum`);
    t.equal(asked.headers['x-amz-checksum-type'], 'FULL_OBJECT', `${method} with the mode: its type`);
  }
  const head = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mode', ChecksumMode: 'ENABLED' }));
  t.ok(head.ChecksumSHA256, 'SDK HeadObject with ChecksumMode ENABLED reads it');
  t.equal((await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mode' }))).ChecksumSHA256, undefined, 'SDK HeadObject without: none');
});
