// Small S3-fidelity answers settled by evidence recorded against AWS (each test names its source),
// compared with what s3d answers over a real socket.
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { startDaemonFor } from '../helpers/daemon.js';
import { raw, type RawResponse } from '../helpers/http.js';

const d = await startDaemonFor(t);
const bucket = 'recorded-fidelity';
const key = 'notes/a.txt';
for (const path of [`/${bucket}`, `/${bucket}/${key}`]) {
  const made = await raw(d.port, { method: 'PUT', path, ...(path.endsWith('.txt') ? { body: 'a' } : {}) });
  if (made.status !== 200) throw new Error(`PUT ${path}: ${made.status}`);
}

const send = (method: string, path: string, query: string, body?: string): Promise<RawResponse> =>
  raw(d.port, { method, path, query, ...(body !== undefined ? { body } : {}) });

/** Code and message of an error body. */
function refusal(res: RawResponse): string {
  const m = /<Code>([^<]*)<\/Code><Message>([^<]*)<\/Message>/.exec(res.body.toString());
  return m ? `${m[1]}|${m[2]}` : `(no error) ${res.status} ${res.body.toString()}`;
}

t.test('HEAD on a sub-resource: 405 with Allow naming its methods (measured on s3.amazonaws.com, backlot#230/#244)', async (t) => {
  // backlot#230 and #244, measured path-style with SigV4 on 2026-09-16: HEAD /?acl → 405 Allow: GET, PUT;
  // HEAD /?uploads → 405 Allow: POST, GET; HEAD /{key}?acl → Allow: GET, PUT; HEAD /{key}?uploadId → Allow: DELETE, POST, GET.
  for (const [path, query, allow] of [
    [`/${bucket}`, 'acl', 'GET, PUT'],
    [`/${bucket}`, 'versioning', 'GET, PUT'],
    [`/${bucket}`, 'tagging', 'DELETE, GET, PUT'],
    [`/${bucket}`, 'policy', 'DELETE, GET, PUT'],
    [`/${bucket}`, 'location', 'GET'],
    [`/${bucket}`, 'versions', 'GET'],
    [`/${bucket}`, 'uploads', 'POST, GET'],
    [`/${bucket}/${key}`, 'acl', 'GET, PUT'],
    [`/${bucket}/${key}`, 'tagging', 'DELETE, GET, PUT'],
    [`/${bucket}/${key}`, 'uploadId=abc123', 'DELETE, POST, GET'],
  ] as const) {
    const res = await send('HEAD', path, query);
    t.equal(res.status, 405, `HEAD ${path}?${query}: 405`);
    t.equal(res.headers.allow, allow, `HEAD ${path}?${query}: Allow: ${allow}`);
  }
  const both = await send('HEAD', `/${bucket}`, 'acl&versioning');
  t.equal(both.status, 400, 'HEAD ?acl&versioning: 400');
  t.equal(both.headers.allow, undefined, 'HEAD ?acl&versioning: no Allow');
});

t.test('ListParts max-parts: 0 lists nothing; a negative or non-integer one is InvalidArgument (moto, versitygw)', async (t) => {
  const created = await send('POST', `/${bucket}/${key}`, 'uploads');
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body.toString())![1]!;
  await raw(d.port, { method: 'PUT', path: `/${bucket}/${key}`, query: `partNumber=1&uploadId=${encodeURIComponent(uploadId)}`, body: 'part one' });
  const list = (maxParts: string): Promise<RawResponse> => send('GET', `/${bucket}/${key}`, `uploadId=${encodeURIComponent(uploadId)}&max-parts=${maxParts}`);
  // moto (responses.py list_parts): 0 <= max-parts accepted, nothing listed, not truncated.
  const zero = await list('0');
  t.equal(zero.status, 200, 'max-parts=0: 200');
  const body = zero.body.toString();
  t.match(body, /<MaxParts>0<\/MaxParts>/, 'max-parts=0: MaxParts 0');
  t.match(body, /<IsTruncated>false<\/IsTruncated>/, 'max-parts=0: not truncated');
  t.notMatch(body, /<Part>/, 'max-parts=0: no part');
  // versitygw ListParts_invalid_max_parts (max-parts -3) and its s3err ErrInvalidMaxParts; moto InvalidMaxPartArgument.
  const negative = await list('-3');
  t.equal(negative.status, 400, 'max-parts=-3: 400');
  t.equal(refusal(negative), 'InvalidArgument|Argument max-parts must be an integer between 0 and 2147483647', 'max-parts=-3: the range named');
  // moto NotAnIntegerException (and aws-recorded-answers for abc before the upload is looked up).
  for (const v of ['abc', '1.5', '2147483648']) {
    t.equal(refusal(await list(v)), 'InvalidArgument|Provided max-parts not an integer or within integer range', `max-parts=${v}`);
  }
  await send('DELETE', `/${bucket}/${key}`, `uploadId=${encodeURIComponent(uploadId)}`);
});

t.test('empty analytics, inventory, metrics and Intelligent-Tiering lists are typed application/xml', async (t) => {
  for (const selector of ['analytics', 'inventory', 'metrics', 'intelligent-tiering']) {
    const res = await send('GET', `/${bucket}`, selector);
    t.equal(res.status, 200, `?${selector}: 200`);
    t.equal(res.headers['content-type'], 'application/xml', `?${selector}: application/xml`);
  }
});

t.test('PutObjectRetention: a RetainUntilDate that is no date-time is MalformedXML; one in the past InvalidArgument (floci#1614, checked against AWS)', async (t) => {
  // floci-io/floci#1614: AWS answered a raw SigV4 PutObjectRetention whose RetainUntilDate was
  // `notadate` or `1577836800` with 400 MalformedXML; a past date is S3's InvalidArgument.
  const locked = 'recorded-fidelity-lock';
  const made = await raw(d.port, { method: 'PUT', path: `/${locked}`, headers: { 'x-amz-bucket-object-lock-enabled': 'true' } });
  t.equal(made.status, 200, 'an Object Lock bucket');
  await raw(d.port, { method: 'PUT', path: `/${locked}/k`, body: 'x' });
  const retain = (date: string): Promise<RawResponse> => send('PUT', `/${locked}/k`, 'retention', `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>${date}</RetainUntilDate></Retention>`);
  for (const date of ['notadate', '1577836800', '2030-02-30T00:00:00Z', '2030-01-01']) {
    const res = await retain(date);
    t.equal(res.status, 400, `RetainUntilDate ${date}: 400`);
    t.equal(refusal(res).split('|')[0], 'MalformedXML', `RetainUntilDate ${date}: MalformedXML`);
  }
  t.equal(refusal(await retain('2020-01-01T00:00:00Z')), 'InvalidArgument|The retain until date must be in the future!', 'a past date: S3\'s InvalidArgument');
  const none = await send('GET', `/${locked}/k`, 'retention');
  t.equal(none.status, 404, 'no retention was set');
  // versity/versitygw#855: S3 takes a RetainUntilDate without a zone, as UTC.
  t.equal((await retain('2099-01-02T03:04:05')).status, 200, 'a date without a zone: 200');
  t.match((await send('GET', `/${locked}/k`, 'retention')).body.toString(), '<RetainUntilDate>2099-01-02T03:04:05.000Z</RetainUntilDate>', 'read as UTC');
});

t.test("CreateBucket: the bucket's ARN in x-amz-bucket-arn beside its Location (versitygw#1873, checked against AWS)", async (t) => {
  // versity/versitygw#1873 (its CreateBucket_success expects BucketArn arn:aws:s3:::<bucket>):
  // S3 answers CreateBucket with Location and x-amz-bucket-arn, which the SDKs read as BucketArn.
  const made = 'recorded-fidelity-arn';
  const res = await raw(d.port, { method: 'PUT', path: `/${made}` });
  t.equal(res.status, 200, 'created');
  t.equal(res.headers.location, `/${made}`, 'its Location');
  t.equal(res.headers['x-amz-bucket-arn'], `arn:aws:s3:::${made}`, 'its ARN');
  const out = await d.s3().send(new CreateBucketCommand({ Bucket: `${made}-sdk` }));
  t.equal(out.BucketArn, `arn:aws:s3:::${made}-sdk`, "the SDK's BucketArn");
  // us-east-1 answers a repeated CreateBucket of an owned bucket as the first.
  t.equal((await raw(d.port, { method: 'PUT', path: `/${made}` })).headers['x-amz-bucket-arn'], `arn:aws:s3:::${made}`, 'a repeated CreateBucket: its ARN too');
});
