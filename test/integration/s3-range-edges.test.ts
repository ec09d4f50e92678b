// Range and partNumber edge cases on GetObject and HeadObject, against the real daemon: byte
// positions past 2^53 and past 2^64 (clients write "to the end" as bytes=0-18446744073709551615),
// Range headers S3 ignores (another unit or its case, more than one range, whitespace inside,
// empty), and an empty Range beside partNumber. Every case is asked with GET and HEAD, which must
// answer the same status, Content-Range and Content-Length, of a plain object, an SSE-S3 one
// (both stored in data files, past the inline threshold) and an SSE-S3 multipart one.
import t from 'tap';
import type { Test } from 'tap';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { assertXmlError, raw, type RawResponse } from '../helpers/http.js';
import { clientFor, createBucket } from '../helpers/s3.js';

let d: TestDaemon;
let s3: S3Client;
let bucket: string;

const PART = 5 * 1024 * 1024;
/** Each object's bytes, by key. */
const objects = new Map<string, Buffer>();
/** The first part's size of the multipart object; a single-part object's one part is all of it. */
const firstPart = new Map<string, number>();

t.before(async () => {
  d = await startDaemon();
  s3 = clientFor(d);
  bucket = await createBucket(s3, 'range');
  const plain = testBytes(300 * 1024, 1);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: plain }));
  objects.set('plain', plain);
  firstPart.set('plain', plain.length);
  const sse = testBytes(300 * 1024 + 17, 2);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sse', Body: sse, ServerSideEncryption: 'AES256' }));
  objects.set('sse', sse);
  firstPart.set('sse', sse.length);
  const parts = [testBytes(PART, 3), testBytes(70_001, 4)];
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp-sse', ServerSideEncryption: 'AES256' }));
  const done = [];
  for (const [i, body] of parts.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp-sse', UploadId: up.UploadId, PartNumber: i + 1, Body: body }));
    done.push({ PartNumber: i + 1, ETag: r.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp-sse', UploadId: up.UploadId, MultipartUpload: { Parts: done } }));
  objects.set('mp-sse', Buffer.concat(parts));
  firstPart.set('mp-sse', PART);
});
t.teardown(async () => {
  await d.stop();
  d.cleanup();
});

/** GET and HEAD with these headers and query; HEAD's status, Content-Range and Content-Length must be GET's. */
async function getAndHead(t: Test, key: string, headers: Record<string, string>, query?: string): Promise<RawResponse> {
  const opts = { path: `/${bucket}/${key}`, headers, ...(query === undefined ? {} : { query }) };
  const get = await raw(d.port, { method: 'GET', ...opts });
  const head = await raw(d.port, { method: 'HEAD', ...opts });
  const what = `${key} ${JSON.stringify(headers)}${query === undefined ? '' : `?${query}`}`;
  t.equal(head.status, get.status, `${what}: HEAD's status is GET's`);
  t.equal(head.headers['content-range'], get.headers['content-range'], `${what}: HEAD's Content-Range is GET's`);
  t.equal(head.body.length, 0, `${what}: HEAD has no body`);
  // A HEAD's Content-Length is the body a GET would send; an error's is its XML.
  if (get.status < 300) t.equal(head.headers['content-length'], get.headers['content-length'], `${what}: HEAD's Content-Length is GET's`);
  return get;
}

/** The answer is 206 with exactly bytes start..end (inclusive), by GET and HEAD alike. */
async function expectRange(t: Test, key: string, range: string, start: number, end: number): Promise<void> {
  const body = objects.get(key)!;
  const r = await getAndHead(t, key, { range });
  t.equal(r.status, 206, `${key} ${range}: 206`);
  t.equal(r.headers['content-range'], `bytes ${start}-${end}/${body.length}`, `${key} ${range}: Content-Range`);
  t.equal(r.headers['content-length'], String(end - start + 1), `${key} ${range}: Content-Length`);
  t.ok(r.body.equals(body.subarray(start, end + 1)), `${key} ${range}: exactly those bytes`);
}

/** The Range is ignored: 200 with the whole object and no Content-Range, by GET and HEAD alike. */
async function expectWhole(t: Test, key: string, range: string): Promise<void> {
  const body = objects.get(key)!;
  const r = await getAndHead(t, key, { range });
  t.equal(r.status, 200, `${key} ${JSON.stringify(range)}: ignored, 200`);
  t.equal(r.headers['content-range'], undefined, `${key} ${JSON.stringify(range)}: no Content-Range`);
  t.equal(r.headers['content-length'], String(body.length), `${key} ${JSON.stringify(range)}: the whole length`);
  t.ok(r.body.equals(body), `${key} ${JSON.stringify(range)}: the whole object`);
}

/** 416 InvalidRange naming the size, by GET and HEAD alike. */
async function expectUnsatisfiable(t: Test, key: string, range: string): Promise<void> {
  const size = objects.get(key)!.length;
  const r = await getAndHead(t, key, { range });
  assertXmlError(t, r, 416, 'InvalidRange', `${key} ${range}`);
  t.equal(r.headers['content-range'], `bytes */${size}`, `${key} ${range}: Content-Range names the size`);
}

const KEYS = ['plain', 'sse', 'mp-sse'];

t.test('byte positions past 2^53 and 2^64: a last byte past the end is clamped, a first byte past it is 416, a long suffix is the whole object, a first byte after the last is ignored', async (t) => {
  for (const key of KEYS) {
    const last = objects.get(key)!.length - 1;
    // S3 reads a last-byte-pos past the object as its end (RFC 9110 14.1.2), however many digits.
    await expectRange(t, key, 'bytes=0-99999999999999999999', 0, last);
    await expectRange(t, key, 'bytes=0-18446744073709551615', 0, last);
    await expectRange(t, key, 'bytes=7-18446744073709551616', 7, last);
    await expectRange(t, key, 'bytes=0-9007199254740993', 0, last);
    await expectRange(t, key, `bytes=${last}-99999999999999999999`, last, last);
    await expectUnsatisfiable(t, key, 'bytes=99999999999999999999-');
    await expectUnsatisfiable(t, key, 'bytes=18446744073709551615-18446744073709551615');
    await expectUnsatisfiable(t, key, 'bytes=9007199254740993-');
    await expectRange(t, key, 'bytes=-99999999999999999999', 0, last);
    await expectRange(t, key, 'bytes=-18446744073709551615', 0, last);
    // A first byte after the last is no range at all (ignored, as bytes=5-3 is), also where the two
    // differ past the 53 bits of a double: they were rounded to one number, read as a range from
    // there, and answered 416.
    await expectWhole(t, key, 'bytes=9007199254740993-9007199254740992');
    await expectWhole(t, key, 'bytes=100000000000000000001-100000000000000000000');
  }
  // The SDK reads such an answer as any other ranged one.
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'sse', Range: 'bytes=100-18446744073709551615' }));
  const bytes = Buffer.from(await got.Body!.transformToByteArray());
  t.equal(got.$metadata.httpStatusCode, 206);
  t.equal(got.ContentRange, `bytes 100-${objects.get('sse')!.length - 1}/${objects.get('sse')!.length}`);
  t.ok(bytes.equals(objects.get('sse')!.subarray(100)), 'the SDK gets the bytes from 100 to the end');
});

t.test('Range headers S3 ignores: another unit or its case, more than one range, whitespace inside, empty → 200 with the whole object', async (t) => {
  for (const key of KEYS) {
    // The unit as MinIO and S3-compatible servers match it: `bytes=` exactly. RFC 9110 makes the
    // unit case-insensitive, but a server may ignore any Range (14.2): the whole object is a right
    // answer to it, a slice read under another unit's meaning would not be.
    for (const range of ['BYTES=0-9', 'Bytes=0-9', 'items=0-9']) await expectWhole(t, key, range);
    // S3 serves one range per request and ignores a multi-range header.
    for (const range of ['bytes=0-1,3-4', 'bytes=0-1, 3-4', 'bytes=0-9,', 'bytes=-1,0-0']) await expectWhole(t, key, range);
    // Whitespace inside the range-spec is no range (versitygw's cases recorded against AWS).
    for (const range of ['bytes = 0-9', 'bytes= 0-9', 'bytes=0 -9', 'bytes=0- 9', 'bytes= -1']) await expectWhole(t, key, range);
    // An empty Range is no Range.
    await expectWhole(t, key, '');
  }
  // Whitespace around the whole value is not part of it (RFC 9110 5.5): the range applies.
  await expectRange(t, 'sse', 'bytes=0-9 ', 0, 9);
  await expectRange(t, 'sse', 'bytes=00-09', 0, 9);
});

t.test('partNumber: beside an empty Range it is served as alone; beside any other Range, 400 InvalidRequest', async (t) => {
  for (const key of KEYS) {
    const size = objects.get(key)!.length;
    const end = firstPart.get(key)! - 1;
    const alone = await getAndHead(t, key, {}, 'partNumber=1');
    t.equal(alone.status, 206, `${key}?partNumber=1: 206`);
    t.equal(alone.headers['content-range'], `bytes 0-${end}/${size}`);
    // S3 (as MinIO and LocalStack) takes an empty Range for none: the part, as without it. It was
    // 400 InvalidRequest, as if a range had been asked for.
    const empty = await getAndHead(t, key, { range: '' }, 'partNumber=1');
    t.equal(empty.status, 206, `${key}?partNumber=1 with an empty Range: the part`);
    t.equal(empty.headers['content-range'], `bytes 0-${end}/${size}`, `${key}?partNumber=1 with an empty Range: its Content-Range`);
    t.equal(empty.headers['content-length'], String(end + 1));
    // Absent from both would compare undefined with undefined: the multipart object must name its two parts.
    if (key === 'mp-sse') t.equal(alone.headers['x-amz-mp-parts-count'], '2', `${key}?partNumber=1: x-amz-mp-parts-count 2`);
    t.equal(empty.headers['x-amz-mp-parts-count'], alone.headers['x-amz-mp-parts-count'], 'the parts count as without the Range');
    t.ok(empty.body.equals(objects.get(key)!.subarray(0, end + 1)), `${key}?partNumber=1 with an empty Range: the part's bytes`);
    // Any Range that is there, whether s3d would apply it or ignore it, clashes with partNumber.
    for (const range of ['bytes=0-9', 'bytes=0-99999999999999999999', 'BYTES=0-9', 'bytes=0-1,3-4', 'bytes=5-3']) {
      const r = await getAndHead(t, key, { range }, 'partNumber=1');
      assertXmlError(t, r, 400, 'InvalidRequest', `${key}?partNumber=1 with Range ${range}`);
    }
  }
});
