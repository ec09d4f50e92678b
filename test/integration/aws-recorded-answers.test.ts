// Answers S3 gave byte for byte, as recorded against us-east-1 on 2026-09-29 in the tests of
// backlot (an S3-compatible layer; its tables say "What real answered ..."), and as versitygw
// recorded them (#917, #1000): the code, the message and the members after it, compared with
// what s3d answers over a real socket.
import t from 'tap';
import {
  DeleteBucketInventoryConfigurationCommand,
  GetBucketAnalyticsConfigurationCommand,
  GetBucketIntelligentTieringConfigurationCommand,
  GetBucketInventoryConfigurationCommand,
  GetBucketMetricsConfigurationCommand,
  ListBucketAnalyticsConfigurationsCommand,
  ListBucketIntelligentTieringConfigurationsCommand,
  ListBucketInventoryConfigurationsCommand,
  ListBucketMetricsConfigurationsCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { startDaemonFor } from '../helpers/daemon.js';
import { raw, type RawResponse } from '../helpers/http.js';
import { expectSdkError } from '../helpers/s3.js';

const d = await startDaemonFor(t);
const bucket = 'recorded-answers';
const key = 'runbooks/oncall.md';
const text = 'Check dashboards, roll back, page on-call.';
for (const path of [`/${bucket}`, `/${bucket}/${key}`]) {
  const made = await raw(d.port, { method: 'PUT', path, ...(path.includes('/runbooks/') ? { body: text } : {}) });
  if (made.status !== 200) throw new Error(`PUT ${path}: ${made.status}`);
}

/** What follows the Code: the message and the members, the request ids and Resource aside. */
function refusal(res: RawResponse): string {
  const body = res.body.toString();
  const m = /<Code>([^<]*)<\/Code>(.*?)(<Resource>|<RequestId>)/s.exec(body);
  return m ? `${m[1]}|${m[2]}` : `(no error) ${body}`;
}

const get = (path: string, query: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> =>
  raw(d.port, { method, path, query, headers });

t.test('GetObjectAttributes reads x-amz-object-attributes as S3 does', async (t) => {
  const at = `/${bucket}/${key}`;
  const missing = 'InvalidRequest|<Message>The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty</Message>';
  const bad = (value: string): string =>
    `InvalidArgument|<Message>Invalid attribute name specified.</Message><ArgumentName>x-amz-object-attributes</ArgumentName><ArgumentValue>${value}</ArgumentValue>`;
  for (const [headers, want, what] of [
    [{}, missing, 'no header: no period after the message'],
    [{ 'x-amz-object-attributes': ',' }, missing, 'a lone comma names nothing'],
    [{ 'x-amz-object-attributes': 'garbage' }, bad('garbage'), 'an unknown name, named as the argument'],
    [{ 'x-amz-object-attributes': 'etag' }, bad('etag'), 'names match exactly'],
    [{ 'x-amz-object-attributes': 'ETag, etag' }, bad('etag'), 'trimmed, then matched'],
    [{ 'x-amz-object-attributes': 'garbage,etag' }, bad('garbage'), 'the first bad name'],
    [{ 'x-amz-object-attributes': ',ETag' }, bad(''), 'an empty name first'],
    [{ 'x-amz-object-attributes': 'ETag,,ObjectSize' }, bad(''), 'an empty name between two'],
  ] as const) {
    t.equal(refusal(await get(at, 'attributes', headers)), want, what);
  }
  // The refusal of a name comes before the bucket.
  t.equal(refusal(await get('/no-such-bucket-ra/k.txt', 'attributes', { 'x-amz-object-attributes': 'garbage' })), bad('garbage'), 'before the bucket');
  for (const [value, body] of [
    ['ObjectSize, ETag', '<ETag>70b2146ac6e8b5deeddde43120149133</ETag><ObjectSize>42</ObjectSize>'],
    ['ETag,', '<ETag>70b2146ac6e8b5deeddde43120149133</ETag>'],
  ] as const) {
    const res = await get(at, 'attributes', { 'x-amz-object-attributes': value });
    t.equal(res.status, 200, `${value}: served`);
    t.match(res.body.toString(), `<GetObjectAttributesResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${body}</GetObjectAttributesResponse>`, `${value}: the attributes`);
  }
});

t.test('a part the object does not have names the part asked for, then the part count', async (t) => {
  for (const [query, n] of [['partNumber=2', '2'], ['partNumber=02', '2'], ['partNumber=010000', '10000']] as const) {
    const res = await get(`/${bucket}/${key}`, query);
    t.equal(res.status, 416, query);
    t.equal(refusal(res), `InvalidPartNumber|<Message>The requested partnumber is not satisfiable</Message><PartNumberRequested>${n}</PartNumberRequested><ActualPartCount>1</ActualPartCount>`, query);
  }
});

t.test('a POST to a bucket that is no form names the condition', async (t) => {
  const res = await get(`/${bucket}`, '', {}, 'POST');
  t.equal(res.status, 412);
  t.equal(refusal(res), 'PreconditionFailed|<Message>At least one of the pre-conditions you specified did not hold</Message><Condition>Bucket POST must be of the enclosure-type multipart/form-data</Condition>');
});

t.test('ListObjectVersions: a negative max-keys in S3\u2019s words, after the markers and encoding-type', async (t) => {
  const at = `/${bucket}`;
  const negative = 'InvalidArgument|<Message>max-keys cannot be negative</Message><ArgumentName>max-keys</ArgumentName>';
  const markerAlone = 'InvalidArgument|<Message>A version-id marker cannot be specified without a key marker.</Message><ArgumentName>version-id-marker</ArgumentName><ArgumentValue>x</ArgumentValue>';
  const maxAbc = 'InvalidArgument|<Message>Provided max-keys not an integer or within integer range</Message><ArgumentName>max-keys</ArgumentName><ArgumentValue>abc</ArgumentValue>';
  const bogus = 'InvalidArgument|<Message>Invalid Encoding Method specified in Request</Message><ArgumentName>encoding-type</ArgumentName><ArgumentValue>bogus</ArgumentValue>';
  for (const [query, want] of [
    ['versions&max-keys=-1', negative],
    ['versions&max-keys=-1&encoding-type=bogus', bogus],
    ['versions&max-keys=-1&version-id-marker=x', markerAlone],
    ['versions&max-keys=abc&encoding-type=bogus', maxAbc],
    ['versions&max-keys=abc&version-id-marker=x', maxAbc],
    ['versions&key-marker=a.txt&version-id-marker=&max-keys=abc', maxAbc],
    ['versions&encoding-type=bogus&version-id-marker=x', markerAlone],
  ] as const) {
    t.equal(refusal(await get(at, query)), want, query);
  }
  t.equal((await get(at, 'versions&max-keys=0')).status, 200, 'zero is a page');
  // The parse of max-keys and the markers' pairing come before the bucket; the rest after it.
  const emptyMarker = 'InvalidArgument|<Message>A version-id marker cannot be empty.</Message><ArgumentName>version-id-marker</ArgumentName><ArgumentValue></ArgumentValue>';
  for (const [query, want] of [
    ['versions&max-keys=abc', maxAbc],
    ['versions&version-id-marker=x', markerAlone],
    ['versions&key-marker=a&version-id-marker=', emptyMarker],
  ] as const) {
    t.equal(refusal(await get('/no-such-bucket-ra', query)), want, `no bucket, ${query}: before the bucket`);
  }
  for (const query of ['versions&key-marker=a&version-id-marker=x', 'versions&encoding-type=bogus', 'versions&max-keys=-1']) {
    t.match(refusal(await get('/no-such-bucket-ra', query)), /^NoSuchBucket\|/, `no bucket, ${query}: the bucket first`);
  }
});

t.test('ListObjects and ListObjectsV2 refuse in S3\u2019s order: max-keys\u2019 parse, the other version\u2019s parameters, the bucket, encoding-type, the token, max-keys\u2019 range', async (t) => {
  // s3d judged max-keys whole after the bucket lookup, before the rest: a missing bucket was
  // NoSuchBucket for max-keys=abc, and a request with two faults was refused for the other one.
  const at = `/${bucket}`;
  const maxAbc = 'InvalidArgument|<Message>Provided max-keys not an integer or within integer range</Message><ArgumentName>max-keys</ArgumentName><ArgumentValue>abc</ArgumentValue>';
  const negative = (value: string): string => `InvalidArgument|<Message>Argument maxKeys must be an integer between 0 and 2147483647</Message><ArgumentName>maxKeys</ArgumentName><ArgumentValue>${value}</ArgumentValue>`;
  const bogus = 'InvalidArgument|<Message>Invalid Encoding Method specified in Request</Message><ArgumentName>encoding-type</ArgumentName><ArgumentValue>bogus</ArgumentValue>';
  const token = 'InvalidArgument|<Message>The continuation token provided is incorrect</Message><ArgumentName>continuation-token</ArgumentName>';
  for (const [query, want] of [
    ['start-after=x&max-keys=abc', maxAbc],
    ['list-type=2&marker=x&max-keys=abc', maxAbc],
    ['list-type=2&encoding-type=bogus&max-keys=-1', bogus],
    ['encoding-type=bogus&max-keys=-1', bogus],
    ['list-type=2&continuation-token=garbage&encoding-type=bogus', bogus],
    ['list-type=2&continuation-token=&encoding-type=bogus', bogus],
    ['list-type=2&continuation-token=garbage&max-keys=-1', token],
    ['list-type=2&continuation-token=&max-keys=-1', token],
    // A negative value named as read.
    ['list-type=2&max-keys=-01', negative('-1')],
    ['max-keys=-2147483648', negative('-2147483648')],
  ] as const) {
    t.equal(refusal(await get(at, query)), want, query);
  }
  for (const query of ['list-type=2&max-keys=abc', 'max-keys=abc']) t.equal(refusal(await get('/no-such-bucket-ra', query)), maxAbc, `no bucket, ${query}: before the bucket`);
  for (const query of ['list-type=2&continuation-token=garbage', 'list-type=2&encoding-type=bogus', 'max-keys=-1']) {
    t.match(refusal(await get('/no-such-bucket-ra', query)), /^NoSuchBucket\|/, `no bucket, ${query}: the bucket first`);
  }
});

t.test('ListMultipartUploads refuses in S3\u2019s order: max-uploads\u2019 parse, the bucket, encoding-type, max-uploads\u2019 range, the upload-id marker', async (t) => {
  // s3d looked the bucket up first and judged the upload-id marker before the rest: a missing
  // bucket was NoSuchBucket for max-uploads=abc, and a request with two faults was refused for
  // the other one.
  const at = `/${bucket}`;
  const maxAbc = 'InvalidArgument|<Message>Provided max-uploads not an integer or within integer range</Message><ArgumentName>max-uploads</ArgumentName><ArgumentValue>abc</ArgumentValue>';
  const negative = (value: string): string => `InvalidArgument|<Message>Argument max-uploads must be an integer between 0 and 2147483647</Message><ArgumentName>max-uploads</ArgumentName><ArgumentValue>${value}</ArgumentValue>`;
  const bogus = 'InvalidArgument|<Message>Invalid Encoding Method specified in Request</Message><ArgumentName>encoding-type</ArgumentName><ArgumentValue>bogus</ArgumentValue>';
  const marker = 'InvalidArgument|<Message>Invalid uploadId marker</Message><ArgumentName>upload-id-marker</ArgumentName><ArgumentValue>bad</ArgumentValue>';
  for (const [query, want] of [
    ['uploads&key-marker=k&upload-id-marker=bad&max-uploads=abc', maxAbc],
    ['uploads&encoding-type=bogus&max-uploads=abc', maxAbc],
    ['uploads&encoding-type=bogus&max-uploads=-1', bogus],
    ['uploads&encoding-type=bogus&key-marker=k&upload-id-marker=bad', bogus],
    ['uploads&key-marker=k&upload-id-marker=bad&max-uploads=-1', negative('-1')],
    ['uploads&key-marker=k&upload-id-marker=bad', marker],
    // A negative value named as read.
    ['uploads&max-uploads=-01', negative('-1')],
    ['uploads&max-uploads=-2147483648', negative('-2147483648')],
  ] as const) {
    t.equal(refusal(await get(at, query)), want, query);
  }
  t.equal(refusal(await get('/no-such-bucket-ra', 'uploads&max-uploads=abc')), maxAbc, 'no bucket, max-uploads=abc: before the bucket');
  for (const query of ['uploads&encoding-type=bogus', 'uploads&max-uploads=-1', 'uploads&key-marker=k&upload-id-marker=bad']) {
    t.match(refusal(await get('/no-such-bucket-ra', query)), /^NoSuchBucket\|/, `no bucket, ${query}: the bucket first`);
  }
});

t.test('ListMultipartUploads echoes encoding-type as sent, URL as URL', async (t) => {
  // S3 takes the value without case and echoes it as sent; s3d answered <EncodingType>url for URL.
  for (const value of ['url', 'URL']) {
    const res = await get(`/${bucket}`, `uploads&encoding-type=${value}&prefix=a%20b`);
    t.equal(res.status, 200, `${value}: 200`);
    t.match(res.body.toString(), `<Prefix>a+b</Prefix>`, `${value}: the prefix encoded`);
    t.match(res.body.toString(), `<EncodingType>${value}</EncodingType>`, `${value}: echoed as sent`);
  }
  t.notMatch((await get(`/${bucket}`, 'uploads')).body.toString(), '<EncodingType>', 'none unasked');
});

t.test('ListObjects, ListObjectsV2 and ListObjectVersions echo encoding-type as sent, URL as URL', async (t) => {
  // As ListMultipartUploads: S3 takes the value without case and echoes it as sent (backlot's
  // measurements); s3d answered <EncodingType>url for URL on the three.
  for (const [name, selector] of [['ListObjects', ''], ['ListObjectsV2', 'list-type=2&'], ['ListObjectVersions', 'versions&']] as const) {
    for (const value of ['url', 'URL', 'Url']) {
      const res = await get(`/${bucket}`, `${selector}encoding-type=${value}&prefix=a%20b`);
      t.equal(res.status, 200, `${name} ${value}: 200`);
      t.match(res.body.toString(), '<Prefix>a+b</Prefix>', `${name} ${value}: the prefix encoded`);
      t.match(res.body.toString(), `<EncodingType>${value}</EncodingType>`, `${name} ${value}: echoed as sent`);
    }
    t.notMatch((await get(`/${bucket}`, selector.replace(/&$/, ''))).body.toString(), '<EncodingType>', `${name}: none unasked`);
  }
});

t.test('ListBuckets words its refusals as S3 does: max-buckets as sent or as read, bucket-region without case, the token', async (t) => {
  // s3d answered max-buckets' two in words of its own (`max-buckets must be ... 10000.`) naming no
  // argument, its token's with a period and no argument, and refused bucket-region=US-EAST-1.
  const parse = (value: string): string => `InvalidArgument|<Message>Provided max-buckets not an integer or within integer range</Message><ArgumentName>max-buckets</ArgumentName><ArgumentValue>${value}</ArgumentValue>`;
  const range = (value: string): string => `InvalidArgument|<Message>Argument max-buckets must be an integer between 1 and 10000</Message><ArgumentName>max-buckets</ArgumentName><ArgumentValue>${value}</ArgumentValue>`;
  const endpoint = 'InvalidArgument|<Message>Requests with bucket-region specified must be made to the corresponding regional endpoint</Message><ArgumentName>bucket-region</ArgumentName>';
  const token = 'InvalidArgument|<Message>The continuation token provided is incorrect</Message><ArgumentName>continuation-token</ArgumentName>';
  for (const [query, want] of [
    ['max-buckets=abc', parse('abc')],
    ['max-buckets=%201', parse(' 1')],
    ['max-buckets=1%20', parse('1 ')],
    ['max-buckets=abc&continuation-token=garbage', parse('abc')],
    ['max-buckets=0', range('0')],
    ['max-buckets=-01', range('-1')],
    ['max-buckets=010001', range('10001')],
    ['max-buckets=0&bucket-region=zz', range('0')],
    ['bucket-region=ap-northeast-2', endpoint],
    ['bucket-region=US-WEST-2', endpoint],
    ['continuation-token=garbage', token],
    ['continuation-token=Zzp4', token],
  ] as const) {
    t.equal(refusal(await get('/', query)), want, query);
  }
  for (const query of ['max-buckets=05', 'max-buckets=', 'bucket-region=US-EAST-1', 'max-buckets=10000&bucket-region=us-east-1']) {
    const res = await get('/', query);
    t.equal(res.status, 200, `${query}: served`);
    t.match(res.body.toString(), `<Name>${bucket}</Name>`, `${query}: the bucket listed`);
  }
});

t.test('partNumber at a bucket is S3\u2019s "valid key name" refusal', async (t) => {
  for (const [method, query] of [['GET', 'partNumber=1'], ['PATCH', 'partNumber=1'], ['GET', 'versionId=x&partNumber=1']] as const) {
    const res = await get(`/${bucket}`, query, {}, method);
    t.equal(res.status, 400, `${method} ?${query}`);
    t.equal(refusal(res), 'InvalidRequest|<Message>Object must have a valid key name.</Message>', `${method} ?${query}`);
  }
});

t.test('?torrent is S3\u2019s 405 naming the TORRENT resource, after the bucket', async (t) => {
  const torrent = 'MethodNotAllowed|<Message>The specified method is not allowed against this resource.</Message><Method>GET</Method><ResourceType>TORRENT</ResourceType>';
  for (const path of [`/${bucket}/${key}`, `/${bucket}/no/such.md`, `/${bucket}`]) {
    const res = await get(path, 'torrent');
    t.equal(res.status, 405, `${path}: 405`);
    t.equal(res.headers['content-type'], 'application/xml', `${path}: XML`);
    t.equal(res.headers.allow, undefined, `${path}: no Allow`);
    t.equal(refusal(res), torrent, `${path}: Method and ResourceType`);
    const head = await get(path, 'torrent', {}, 'HEAD');
    t.equal(head.status, 405, `${path}: HEAD 405`);
    t.equal(head.headers.allow, undefined, `${path}: HEAD, no Allow`);
    t.equal(head.body.length, 0, `${path}: HEAD, no body`);
  }
  for (const path of ['/no-such-bucket-ra/k.txt', '/no-such-bucket-ra']) {
    const res = await get(path, 'torrent');
    t.equal(res.status, 404, `${path}: the bucket first`);
    t.match(refusal(res), /^NoSuchBucket\|/, `${path}: NoSuchBucket`);
  }
  // A version id is refused before the bucket, on a GET and a HEAD.
  const noVersion = 'InvalidArgument|<Message>This operation does not accept a version-id.</Message><ArgumentName>versionId</ArgumentName><ArgumentValue>garbage</ArgumentValue>';
  t.equal(refusal(await get('/no-such-bucket-ra/k.txt', 'torrent&versionId=garbage')), noVersion, 'GET: the version id before the bucket');
  t.equal(refusal(await get(`/${bucket}/${key}`, 'torrent&versionId=garbage')), noVersion, 'GET: at the object');
  t.equal((await get('/no-such-bucket-ra/a.txt', 'torrent&versionId=x', {}, 'HEAD')).status, 400, 'HEAD: the version id first');
  // What nothing recorded stays NotImplemented, never the object's own write.
  for (const method of ['PUT', 'DELETE']) {
    t.equal((await get(`/${bucket}/${key}`, 'torrent', {}, method)).status, 501, `${method} ?torrent`);
  }
  t.equal((await get(`/${bucket}/${key}`, '')).body.toString(), text, 'the object is untouched');
});

t.test('a bucket\u2019s ?delete without POST is S3\u2019s 405 naming MULTI_OBJECT_DELETE, no Allow', async (t) => {
  const res = await get(`/${bucket}`, 'delete');
  t.equal(res.status, 405);
  t.equal(refusal(res), 'MethodNotAllowed|<Message>The specified method is not allowed against this resource.</Message><Method>GET</Method><ResourceType>MULTI_OBJECT_DELETE</ResourceType>', 'Method and ResourceType');
  t.equal(res.headers.allow, undefined, 'no Allow');
  const head = await get(`/${bucket}`, 'delete', {}, 'HEAD');
  t.equal(head.status, 405, 'HEAD: 405');
  t.equal(head.headers.allow, undefined, 'HEAD: no Allow');
  // A version id beside it is refused first.
  t.equal(refusal(await get(`/${bucket}`, 'versionId=x&delete')), 'InvalidArgument|<Message>This operation does not accept a version-id.</Message><ArgumentName>versionId</ArgumentName><ArgumentValue>x</ArgumentValue>', 'the version id first');
});

t.test('a bucket\u2019s configuration asked of a key is the bucket\u2019s own answer, whatever the key', async (t) => {
  const selectors = ['accelerate', 'cors', 'lifecycle', 'location', 'notification', 'policy', 'replication', 'requestPayment', 'versioning', 'website'];
  for (const selector of selectors) {
    const atBucket = await get(`/${bucket}`, selector);
    for (const path of [`/${bucket}/${key}`, `/${bucket}/no/such.md`]) {
      const atKey = await get(path, selector);
      t.equal(atKey.status, atBucket.status, `${path}?${selector}: the status`);
      t.equal(atKey.headers['content-type'], atBucket.headers['content-type'], `${path}?${selector}: the type`);
      t.equal(refusal(atKey), refusal(atBucket), `${path}?${selector}: the answer`);
    }
  }
  t.match(refusal(await get(`/${bucket}/${key}`, 'cors')), 'NoSuchCORSConfiguration|<Message>The CORS configuration does not exist</Message><BucketName>recorded-answers</BucketName>', 'the bucket named');
  t.match((await get(`/${bucket}/no/such.md`, 'location')).body.toString(), '<LocationConstraint', 'a location');
  t.match(refusal(await get('/no-such-bucket-ra/a.txt', 'versioning')), /^NoSuchBucket\|/, 'the bucket first');
  t.equal(refusal(await get(`/${bucket}/${key}`, 'cors&versionId=x')), 'InvalidArgument|<Message>This operation does not accept a version-id.</Message><ArgumentName>versionId</ArgumentName><ArgumentValue>x</ArgumentValue>', 'a version id refused');
  for (const selector of ['versioning', 'location']) {
    const head = await get(`/${bucket}/${key}`, selector, {}, 'HEAD');
    t.equal(head.status, 405, `HEAD ?${selector} at a key: 405`);
  }
  t.equal((await get(`/${bucket}/${key}`, '')).body.toString(), text, 'the object is untouched');
});

t.test('analytics, inventory, metrics and Intelligent-Tiering: an empty list, and no configuration by id', async (t) => {
  const ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
  const roots: Record<string, string> = {
    analytics: 'ListBucketAnalyticsConfigurationsResult',
    'intelligent-tiering': 'ListIntelligentTieringConfigurationsResult',
    inventory: 'ListInventoryConfigurationsResult',
    metrics: 'ListMetricsConfigurationsResult',
  };
  // S3's prolog differs from one to the next (none, or one without its newline): the document is compared.
  const doc = (res: RawResponse): string => res.body.toString().replace(/^<\?xml[^>]*\?>\n?/, '');
  const none = 'NoSuchConfiguration|<Message>The specified configuration does not exist.</Message>';
  const badToken = 'MalformedContinuationToken|<Message>The continuation-token you provided invalid.</Message>';
  for (const [selector, root] of Object.entries(roots)) {
    for (const query of [selector, `${selector}&id=`]) {
      const res = await get(`/${bucket}`, query);
      t.equal(res.status, 200, `?${query}: 200`);
      t.equal(doc(res), `<${root} ${ns}><IsTruncated>false</IsTruncated></${root}>`, `?${query}: the empty list`);
    }
    const echoed = await get(`/${bucket}`, `${selector}&continuation-token=`);
    t.equal(doc(echoed), `<${root} ${ns}><IsTruncated>false</IsTruncated><ContinuationToken></ContinuationToken></${root}>`, `${selector}: an empty token echoed`);
    const refused = await get(`/${bucket}`, `${selector}&continuation-token=garbage`);
    t.equal(refused.status, 400, `${selector}: a token never handed out`);
    t.equal(refusal(refused), badToken, `${selector}: MalformedContinuationToken`);
    for (const query of [`${selector}&id=x`, `${selector}&id=x&continuation-token=garbage`]) {
      const res = await get(`/${bucket}`, query);
      t.equal(res.status, 404, `?${query}: 404`);
      t.equal(refusal(res), none, `?${query}: NoSuchConfiguration, no member`);
    }
    t.match(refusal(await get('/no-such-bucket-ra', selector)), /^NoSuchBucket\|/, `${selector}: the bucket first`);
    t.equal((await get(`/${bucket}`, selector, {}, 'HEAD')).status, 405, `HEAD ?${selector}: 405`);
    // s3d keeps none of them: a PUT stays NotImplemented, and so does a DELETE, whose answer for
    // an id there is none of nothing recorded.
    for (const method of ['PUT', 'DELETE']) {
      t.equal((await get(`/${bucket}`, `${selector}&id=x`, {}, method)).status, 501, `${method} ?${selector}: 501`);
    }
  }
  // What the SDK makes of them.
  const s3 = d.s3();
  const Bucket = bucket;
  for (const command of [
    new ListBucketAnalyticsConfigurationsCommand({ Bucket }),
    new ListBucketInventoryConfigurationsCommand({ Bucket }),
    new ListBucketMetricsConfigurationsCommand({ Bucket }),
    new ListBucketIntelligentTieringConfigurationsCommand({ Bucket }),
  ]) {
    const out = (await s3.send(command as ListBucketMetricsConfigurationsCommand)) as { IsTruncated?: boolean; $metadata: { httpStatusCode?: number } };
    t.equal(out.$metadata.httpStatusCode, 200, `${command.constructor.name}: 200`);
    t.equal(out.IsTruncated, false, `${command.constructor.name}: not truncated`);
  }
  await expectSdkError(t, s3.send(new GetBucketAnalyticsConfigurationCommand({ Bucket, Id: 'x' })), 'NoSuchConfiguration', 404, 'GetBucketAnalyticsConfiguration');
  await expectSdkError(t, s3.send(new GetBucketInventoryConfigurationCommand({ Bucket, Id: 'x' })), 'NoSuchConfiguration', 404, 'GetBucketInventoryConfiguration');
  await expectSdkError(t, s3.send(new GetBucketMetricsConfigurationCommand({ Bucket, Id: 'x' })), 'NoSuchConfiguration', 404, 'GetBucketMetricsConfiguration');
  await expectSdkError(t, s3.send(new GetBucketIntelligentTieringConfigurationCommand({ Bucket, Id: 'x' })), 'NoSuchConfiguration', 404, 'GetBucketIntelligentTieringConfiguration');
  await expectSdkError(t, s3.send(new DeleteBucketInventoryConfigurationCommand({ Bucket, Id: 'x' })), 'NotImplemented', 501, 'DeleteBucketInventoryConfiguration');
});

t.test('ListParts: a max-parts or part-number-marker that is no integer, before the bucket and the upload', async (t) => {
  for (const [path, query, name] of [
    ['/no-such-bucket-ra/a.txt', 'uploadId=x&max-parts=abc', 'max-parts'],
    [`/${bucket}/${key}`, 'uploadId=x&part-number-marker=abc', 'part-number-marker'],
    [`/${bucket}/${key}`, 'uploadId=x&max-parts=abc', 'max-parts'],
  ] as const) {
    const res = await get(path, query);
    t.equal(res.status, 400, `${path}?${query}: 400`);
    // S3's message is not recorded: the code and the members are.
    t.match(refusal(res), new RegExp(`^InvalidArgument\\|<Message>[^<]*</Message><ArgumentName>${name}</ArgumentName><ArgumentValue>abc</ArgumentValue>$`), `${path}?${query}: the argument named`);
  }
  t.match(refusal(await get(`/${bucket}/no/such.md`, 'uploadId=')), /^NoSuchUpload\|.*<UploadId><\/UploadId>$/, 'an empty upload id is no upload, named');
});

t.test('DeleteObjects: no body, no Object, no Key and an empty Key in S3\u2019s words', async (t) => {
  const del = (body: string): Promise<RawResponse> =>
    raw(d.port, { method: 'POST', path: `/${bucket}`, query: 'delete', body, headers: { 'content-md5': createHash('md5').update(body).digest('base64') } });
  const malformed = 'MalformedXML|<Message>The XML you provided was not well-formed or did not validate against our published schema</Message>';
  const noKey = 'UserKeyMustBeSpecified|<Message>User key must be specified.</Message>';
  for (const [body, want] of [
    ['', 'MissingRequestBodyError|<Message>Request Body is empty</Message>'],
    ['<Delete/>', malformed],
    ['<Delete><Quiet>true</Quiet></Delete>', malformed],
    ['<Delete><Object/></Delete>', malformed],
    [`<Delete>${'<Object><Key>x</Key></Object>'.repeat(1001)}</Delete>`, malformed],
    ['<Delete><Object><Key></Key></Object></Delete>', noKey],
    ['<Delete><Object><Key>x</Key></Object><Object><Key></Key></Object></Delete>', noKey],
  ] as const) {
    const res = await del(body);
    t.equal(res.status, 400, `${body.slice(0, 60)}: 400`);
    t.equal(refusal(res), want, `${body.slice(0, 60)}: S3's answer`);
  }
  t.equal((await get(`/${bucket}/${key}`, '')).body.toString(), text, 'nothing was deleted');
});
