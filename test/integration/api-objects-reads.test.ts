// GET and HEAD of an object, read in part or on a condition, against the real daemon (split from
// api-objects.test.ts): Range (206, Content-Range, 416 InvalidRange, ignored ranges) and If-Range,
// If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since (304, 412), response-*
// overrides and their ISO-8859-1 values, and a range's checksum headers.
import t from 'tap';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { bucketName, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { assertXmlError, raw, xmlField } from '../helpers/http.js';
import { expectSdkError, keptAliveClient } from '../helpers/s3.js';

const d = await startDaemonFor(t);
const s3 = keptAliveClient(d);
const bucket = bucketName('obj');
await s3.send(new CreateBucketCommand({ Bucket: bucket }));

t.test('Range: bytes=a-b, a-, -n → 206 + Content-Range; unsatisfiable → 416 InvalidRange', async (t) => {
  const size = 2 * 1024 * 1024 + 11;
  const body = testBytes(size, 7);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'range', Body: body }));
  const cases: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 0],
    ['bytes=0-9', 0, 9],
    ['bytes=1048570-1048600', 1_048_570, 1_048_600],
    [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
    [`bytes=100-${size + 1000}`, 100, size - 1],
    ['bytes=2000000-', 2_000_000, size - 1],
    ['bytes=-1', size - 1, size - 1],
    ['bytes=-70000', size - 70_000, size - 1],
    [`bytes=-${size + 5}`, 0, size - 1],
  ];
  for (const [range, start, end] of cases) {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range', Range: range }));
    const bytes = Buffer.from(await r.Body!.transformToByteArray());
    t.equal(r.$metadata.httpStatusCode, 206, `${range}: 206`);
    t.equal(r.ContentRange, `bytes ${start}-${end}/${size}`, `${range}: Content-Range`);
    t.equal(r.ContentLength, end - start + 1, `${range}: Content-Length`);
    t.ok(bytes.equals(body.subarray(start, end + 1)), `${range}: exact bytes`);
    const rr = await raw(d.port, { method: 'GET', path: `/${bucket}/range`, headers: { range } });
    t.equal(rr.status, 206, `raw ${range}: 206`);
    t.equal(rr.headers['content-range'], `bytes ${start}-${end}/${size}`);
    t.ok(rr.body.equals(body.subarray(start, end + 1)), `raw ${range}: exact bytes`);
  }
  const headRange = await raw(d.port, { method: 'HEAD', path: `/${bucket}/range`, headers: { range: 'bytes=10-19' } });
  t.equal(headRange.status, 206, 'HEAD with Range → 206');
  t.equal(headRange.headers['content-range'], `bytes 10-19/${size}`);
  t.equal(headRange.headers['content-length'], '10');
  const headBad = await raw(d.port, { method: 'HEAD', path: `/${bucket}/range`, headers: { range: `bytes=${size}-` } });
  t.equal(headBad.status, 416, 'HEAD with an unsatisfiable Range → 416');
  t.equal(headBad.body.length, 0);
  for (const range of [`bytes=${size}-`, `bytes=${size}-${size + 10}`, 'bytes=-0']) {
    await expectSdkError(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range', Range: range })), 'InvalidRange', 416, range);
    const r = await raw(d.port, { method: 'GET', path: `/${bucket}/range`, headers: { range } });
    assertXmlError(t, r, 416, 'InvalidRange', `raw ${range}`);
    t.equal(r.headers['content-range'], `bytes */${size}`, `raw ${range}: Content-Range names the size`);
  }
  // If-Range: the Range applies only while the validator names this object (RFC 9110 13.1.5).
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'range' }));
  const lastModified = head.LastModified!.toUTCString();
  const ifRange = async (value: string): Promise<number> => {
    const r = await raw(d.port, { method: 'GET', path: `/${bucket}/range`, headers: { range: 'bytes=10-19', 'if-range': value } });
    t.equal(r.body.length, r.status === 206 ? 10 : size, `If-Range ${value}: the body of a ${r.status}`);
    return r.status;
  };
  t.equal(await ifRange(head.ETag!), 206, 'If-Range with the ETag: the range');
  t.equal(await ifRange(lastModified), 206, 'If-Range with the Last-Modified: the range');
  t.equal(await ifRange('"0123456789abcdef0123456789abcdef"'), 200, 'If-Range with another ETag: the whole object');
  t.equal(await ifRange(`W/${head.ETag!}`), 200, 'a weak ETag never matches');
  t.equal(await ifRange(head.ETag!.replace(/"/g, '')), 206, 'the ETag without its quotes, as If-Match takes it');
  t.equal(await ifRange(new Date(head.LastModified!.getTime() - 1000).toUTCString()), 200, 'an older date: the whole object');
  t.equal(await ifRange('not a validator'), 200, 'an unreadable validator: the whole object');
  // Headers S3 ignores: the whole object with 200 (an end before the start, even past the size).
  for (const range of ['bytes=10-5', `bytes=${size + 10}-5`, 'bytes=0-1,5-6', 'items=0-1']) {
    const r = await raw(d.port, { method: 'GET', path: `/${bucket}/range`, headers: { range } });
    t.equal(r.status, 200, `${range}: ignored → 200`);
    t.equal(r.body.length, size);
    t.equal(r.headers['content-range'], undefined);
  }
});

t.test('conditional GET/HEAD: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since', async (t) => {
  const body = Buffer.from('conditional body');
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: body }));
  const etag = put.ETag!;
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cond' }));
  const lm = head.LastModified!;
  const lmHttp = lm.toUTCString();
  const before = new Date(lm.getTime() - 1000).toUTCString();
  // After Last-Modified but not in the future (a future date is ignored, RFC 7232 3.3, as S3 does).
  const later = new Date().toUTCString();
  const future = new Date(Date.now() + 3600_000).toUTCString();
  const cases: Array<[Record<string, string>, number]> = [
    [{ 'if-match': etag }, 200],
    [{ 'if-match': '*' }, 200],
    [{ 'if-match': '"00000000000000000000000000000000"' }, 412],
    [{ 'if-none-match': etag }, 304],
    [{ 'if-none-match': '*' }, 304],
    [{ 'if-none-match': '"00000000000000000000000000000000"' }, 200],
    [{ 'if-modified-since': lmHttp }, 304],
    [{ 'if-modified-since': later }, 304],
    [{ 'if-modified-since': before }, 200],
    [{ 'if-modified-since': future }, 200],
    [{ 'if-unmodified-since': lmHttp }, 200],
    [{ 'if-unmodified-since': before }, 412],
    [{ 'if-match': etag, 'if-unmodified-since': before }, 200],
    [{ 'if-none-match': etag, 'if-modified-since': before }, 304],
    [{ 'if-none-match': '"other"', 'if-modified-since': later }, 200],
    [{ 'if-match': '"other"', 'if-none-match': '"other"' }, 412],
    // If-Match compares strongly (RFC 9110 13.1.1): a weak tag never matches; If-None-Match weakly.
    [{ 'if-match': `W/${etag}` }, 412],
    [{ 'if-match': `"other", W/${etag}` }, 412],
    [{ 'if-match': `W/"other", ${etag}` }, 200],
    [{ 'if-none-match': `W/${etag}` }, 304],
  ];
  for (const [headers, status] of cases) {
    for (const method of ['GET', 'HEAD']) {
      const r = await raw(d.port, { method, path: `/${bucket}/cond`, headers });
      const what = `${method} ${JSON.stringify(headers)}`;
      t.equal(r.status, status, `${what} → ${status}`);
      if (status === 200 && method === 'GET') t.ok(r.body.equals(body), `${what}: body`);
      if (status === 304) {
        t.equal(r.body.length, 0, `${what}: 304 has no body`);
        t.equal(r.headers.etag, etag, `${what}: 304 carries the ETag`);
        t.equal(r.headers['last-modified'], lmHttp, `${what}: and Last-Modified`);
        // A cache revalidating with the 304 takes its headers on: application/xml was sent.
        t.equal(r.headers['content-type'], undefined, `${what}: and no Content-Type`);
      }
      if (status === 412 && method === 'GET') t.equal(xmlField(r.body, 'Code'), 'PreconditionFailed', `${what}: PreconditionFailed`);
      t.ok(r.headers['x-amz-request-id'], `${what}: request id`);
    }
  }
  // RFC 9110 15.4.5: a 304 carries the Cache-Control and Expires a 200 would (a cache takes them on).
  const cached = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond-cached', Body: 'c', CacheControl: 'max-age=60', Expires: new Date('2037-01-01T00:00:00Z') }));
  for (const method of ['GET', 'HEAD']) {
    const r = await raw(d.port, { method, path: `/${bucket}/cond-cached`, headers: { 'if-none-match': cached.ETag! } });
    t.equal(r.status, 304, `${method} If-None-Match → 304`);
    t.equal(r.headers['cache-control'], 'max-age=60', `${method}: 304 carries the stored Cache-Control`);
    t.equal(r.headers.expires, 'Thu, 01 Jan 2037 00:00:00 GMT', `${method}: and Expires`);
  }
  const overridden = await raw(d.port, { method: 'GET', path: `/${bucket}/cond-cached`, query: 'response-cache-control=no-cache', headers: { 'if-none-match': cached.ETag! } });
  t.equal(overridden.status, 304, 'with response-cache-control: 304');
  t.equal(overridden.headers['cache-control'], 'no-cache', 'carrying the override, as its 200 would');
  t.equal(overridden.headers.expires, 'Thu, 01 Jan 2037 00:00:00 GMT', 'and the stored Expires');
  const plain = await raw(d.port, { method: 'GET', path: `/${bucket}/cond`, headers: { 'if-none-match': etag } });
  t.equal(plain.headers['cache-control'], undefined, 'an object without Cache-Control: none on its 304');
  await expectSdkError(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: '"nope"' })), 'PreconditionFailed', 412, 'SDK IfMatch');
  await expectSdkError(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfUnmodifiedSince: new Date(lm.getTime() - 5000) })), 'PreconditionFailed', 412, 'SDK IfUnmodifiedSince');
  const ok = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: etag, IfModifiedSince: new Date(lm.getTime() - 5000) }));
  t.equal(await ok.Body!.transformToString(), 'conditional body', 'SDK conditions that hold → 200');
  try {
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfNoneMatch: etag }));
    t.fail('expected 304');
  } catch (err) {
    t.equal((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 304, 'SDK IfNoneMatch → 304');
  }
});

t.test('response-* query overrides on GET and HEAD (stored headers unchanged)', async (t) => {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: 'override', Body: 'x', ContentType: 'text/plain', ContentLanguage: 'en', CacheControl: 'no-store' }),
  );
  const expires = new Date('2037-01-01T00:00:00Z');
  const input = {
    Bucket: bucket,
    Key: 'override',
    ResponseContentType: 'application/json',
    ResponseContentLanguage: 'fr-CA',
    ResponseCacheControl: 'max-age=7',
    ResponseContentDisposition: 'attachment; filename="x.json"',
    ResponseContentEncoding: 'identity',
    ResponseExpires: expires,
  };
  const got = await s3.send(new GetObjectCommand(input));
  t.equal(await got.Body!.transformToString(), 'x');
  t.equal(got.ContentType, 'application/json');
  t.equal(got.ContentLanguage, 'fr-CA');
  t.equal(got.CacheControl, 'max-age=7');
  t.equal(got.ContentDisposition, 'attachment; filename="x.json"');
  t.equal(got.ContentEncoding, 'identity');
  t.equal(got.ExpiresString ?? got.Expires?.toUTCString(), expires.toUTCString());
  const head = await s3.send(new HeadObjectCommand(input));
  t.equal(head.ContentType, 'application/json', 'HEAD honours response-content-type');
  t.equal(head.ContentDisposition, 'attachment; filename="x.json"');
  const plain = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'override' }));
  t.equal(plain.ContentType, 'text/plain', 'stored Content-Type unchanged');
  t.equal(plain.ContentLanguage, 'en');
  t.equal(plain.CacheControl, 'no-store');
  t.equal(plain.ContentDisposition, undefined);
  // A response-* parameter that is no override, and a bad partNumber: 400, before the object is
  // looked up (a missing key does not hide them).
  for (const key of ['override', 'no-such-key']) {
    for (const method of ['GET', 'HEAD']) {
      const other = await raw(d.port, { method, path: `/${bucket}/${key}`, query: 'response-content-type=text%2Fplain&response-invalid=value' });
      t.equal(other.status, 400, `${method} ${key} with response-invalid: 400`);
      if (method === 'GET') t.match(other.body.toString(), /<Code>InvalidArgument<\/Code><Message>response-invalid is not in the set of overridable response headers/);
      for (const n of ['0', '-3', '10001', 'abc']) {
        const part = await raw(d.port, { method, path: `/${bucket}/${key}`, query: `partNumber=${n}` });
        t.equal(part.status, 400, `${method} ${key}?partNumber=${n}: 400`);
      }
    }
  }
});

// An empty override is none: the stored header goes out (floci#923, modelled on S3's answers;
// LocalStack takes only non-empty ones). It replaced the object's Content-Type with an empty one.
t.test('an empty response-* value leaves the stored header as it is', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty-override', Body: 'x', ContentType: 'text/plain', ContentLanguage: 'en', CacheControl: 'no-store' }));
  const empties = ['content-type', 'content-language', 'cache-control', 'content-disposition', 'content-encoding', 'expires'].map((h) => `response-${h}=`).join('&');
  for (const method of ['GET', 'HEAD']) {
    const r = await raw(d.port, { method, path: `/${bucket}/empty-override`, query: empties });
    t.equal(r.status, 200, `${method}: 200`);
    t.same(
      ['content-type', 'content-language', 'cache-control', 'content-disposition', 'content-encoding', 'expires'].map((h) => r.headers[h]),
      ['text/plain', 'en', 'no-store', undefined, undefined, undefined],
      `${method}: the stored headers, none added empty`,
    );
    // A non-empty one beside empty ones still applies.
    const one = await raw(d.port, { method, path: `/${bucket}/empty-override`, query: 'response-content-type=&response-cache-control=max-age%3D5' });
    t.same([one.headers['content-type'], one.headers['cache-control']], ['text/plain', 'max-age=5'], `${method}: the non-empty override applies`);
  }
  // What the SDK sends for an empty string, read back through it.
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'empty-override', ResponseContentType: '' }));
  await got.Body!.transformToString();
  t.equal(got.ContentType, 'text/plain', 'SDK ResponseContentType: the stored type');
});

// S3 writes a response-* value in ISO-8859-1, and answers 400 for one it cannot (a filename with
// an en dash: "Header value cannot be represented using ISO-8859-1."). Its UTF-8 bytes went out
// instead: the SDK (and boto3, and browsers) read `café` back as `cafÃ©`.
t.test('response-* values go out in ISO-8859-1; one it cannot represent is 400 InvalidArgument', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'latin1-override', Body: 'x' }));
  const disposition = 'attachment; filename="café ß.pdf"';
  const input = { Bucket: bucket, Key: 'latin1-override', ResponseContentDisposition: disposition, ResponseContentType: 'text/plain; name="é"' };
  const got = await s3.send(new GetObjectCommand(input));
  await got.Body!.transformToString();
  t.equal(got.ContentDisposition, disposition, 'GET: the SDK reads back the value asked for');
  t.equal(got.ContentType, 'text/plain; name="é"');
  t.equal((await s3.send(new HeadObjectCommand(input))).ContentDisposition, disposition, 'HEAD likewise');
  const query = `response-content-disposition=${encodeURIComponent(disposition)}`;
  const bytes = await raw(d.port, { method: 'GET', path: `/${bucket}/latin1-override`, query });
  t.strictSame(Buffer.from(bytes.headers['content-disposition'] as string, 'latin1'), Buffer.from(disposition, 'latin1'), 'one byte a character on the wire');
  for (const value of ['attachment; filename="1976–2016.md"', 'inline; filename="👍.png"']) {
    await expectSdkError(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'latin1-override', ResponseContentDisposition: value })), 'InvalidArgument', 400, `GET ${value}`);
    const res = await raw(d.port, { method: 'GET', path: `/${bucket}/latin1-override`, query: `response-content-disposition=${encodeURIComponent(value)}` });
    assertXmlError(t, res, 400, 'InvalidArgument', value);
    t.equal(xmlField(res.body, 'ArgumentName'), 'response-content-disposition', 'naming the parameter');
    t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/latin1-override`, query: `response-content-disposition=${encodeURIComponent(value)}` })).status, 400, `HEAD ${value}: 400`);
  }
});

t.test('SDK default client: ranged GET of an object uploaded with a checksum', async (t) => {
  const sdk = keptAliveClient(d);
  const body = testBytes(100_000, 8);
  await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'range-sdk', Body: body }));
  const r = await raw(d.port, { method: 'GET', path: `/${bucket}/range-sdk`, headers: { range: 'bytes=10-19', 'x-amz-checksum-mode': 'ENABLED' } });
  t.equal(r.status, 206);
  t.equal(r.headers['x-amz-checksum-crc32'], undefined, 'no full-object checksum on a partial response');
  const got = await sdk
    .send(new GetObjectCommand({ Bucket: bucket, Key: 'range-sdk', Range: 'bytes=10-19' }))
    .then(async (o) => Buffer.from(await o.Body!.transformToByteArray()))
    .catch((err: Error) => err);
  if (got instanceof Error) t.fail(`SDK ranged GET: ${got.message}`);
  else t.ok(got.equals(body.subarray(10, 20)), 'SDK ranged GET bytes');
  // A range that covers the whole object sends the whole object: its checksum with it, as S3 does
  // (LocalStack's AWS recordings get-0-100 and get--15 of test_s3.py's range test: ChecksumCRC32
  // on a 206 whose range runs past either end of the object).
  const full = await raw(d.port, { method: 'GET', path: `/${bucket}/range-sdk`, headers: { 'x-amz-checksum-mode': 'ENABLED' } });
  for (const range of ['bytes=0-', 'bytes=0-199999', `bytes=-${body.length}`, 'bytes=-200000']) {
    const whole = await raw(d.port, { method: 'GET', path: `/${bucket}/range-sdk`, headers: { range, 'x-amz-checksum-mode': 'ENABLED' } });
    t.equal(whole.status, 206, `${range}: 206`);
    t.equal(whole.headers['x-amz-checksum-crc32'], full.headers['x-amz-checksum-crc32'], `${range}: the object's checksum`);
    t.equal(whole.headers['x-amz-checksum-type'], 'FULL_OBJECT', `${range}: its type`);
  }
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}/range-sdk`, headers: { range: 'bytes=1-', 'x-amz-checksum-mode': 'ENABLED' } })).headers['x-amz-checksum-crc32'], undefined, 'bytes=1-: none (not the whole object)');
  const whole = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: 'range-sdk', Range: 'bytes=0-', ChecksumMode: 'ENABLED' }));
  t.ok(Buffer.from(await whole.Body!.transformToByteArray()).equals(body), 'the SDK validates and reads a whole-object range');
});
