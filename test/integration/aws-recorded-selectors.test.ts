// Query-string selectors as S3 answered them byte for byte, recorded against us-east-1 on
// 2026-09-29 in the tests of backlot (an S3-compatible layer; its tables say "What real answered
// ..."): two selectors at once, a valued `?website`, and a bucket's `?logging` asked of a key.
// Compared with what s3d answers over a real socket.
import t from 'tap';
import { startDaemonFor } from '../helpers/daemon.js';
import { raw, type RawResponse } from '../helpers/http.js';

const d = await startDaemonFor(t);
const bucket = 'recorded-selectors';
const key = 'runbooks/oncall.md';
const text = 'Check dashboards, roll back, page on-call.';
for (const path of [`/${bucket}`, `/${bucket}/${key}`]) {
  const made = await raw(d.port, { method: 'PUT', path, ...(path.includes('/runbooks/') ? { body: text } : {}) });
  if (made.status !== 200) throw new Error(`PUT ${path}: ${made.status}`);
}
const at = `/${bucket}/${key}`;

/** What follows the Code: the message and the members, the request ids and Resource aside. */
function refusal(res: RawResponse): string {
  const body = res.body.toString();
  const m = /<Code>([^<]*)<\/Code>(.*?)(<Resource>|<RequestId>)/s.exec(body);
  return m ? `${m[1]}|${m[2]}` : `(no error) ${res.status} ${body.slice(0, 200)}`;
}

const ask = (method: string, path: string, query: string, sign = true): Promise<RawResponse> =>
  raw(d.port, { method, path, query, ...(sign ? {} : { sign: false }) });

/** S3's conflict: the names sorted, the first of them the ArgumentValue. */
const conflict = (...names: string[]): string =>
  `InvalidArgument|<Message>Conflicting query string parameters: ${names.join(', ')}</Message><ArgumentName>ResourceType</ArgumentName><ArgumentValue>${names[0]}</ArgumentValue>`;

t.test('two selectors at once are S3\u2019s conflict, before the bucket and the credential', async (t) => {
  // Each recorded pair: the method, the path, the query and the names S3 gave back.
  const rows: Array<[string, string, string, string[]]> = [
    ['GET', `/${bucket}`, 'versioning&acl', ['acl', 'versioning']],
    ['GET', `/${bucket}`, 'acl&versioning', ['acl', 'versioning']],
    ['GET', `/${bucket}`, 'location&versioning', ['location', 'versioning']],
    ['GET', `/${bucket}`, 'versioning&uploads', ['uploads', 'versioning']],
    ['GET', `/${bucket}`, 'acl&delete', ['acl', 'delete']],
    ['GET', `/${bucket}`, 'versions&max-keys=abc&acl', ['acl', 'versions']],
    ['GET', `/${bucket}`, 'metadataAnnotationTable&acl', ['acl', 'metadataAnnotationTable']],
    ['GET', `/${bucket}`, 'partNumber=1&acl', ['acl', 'partNumber']],
    ['GET', `/${bucket}`, 'versionId=x&acl&versioning', ['acl', 'versioning']],
    ['GET', '/no-such-bucket-rs', 'website=v&versioning', ['versioning', 'website']],
    ['GET', '/no-such-bucket-rs', 'acl&versioning', ['acl', 'versioning']],
    ['PATCH', `/${bucket}`, 'acl&versioning', ['acl', 'versioning']],
    ['GET', at, 'tagging&acl', ['acl', 'tagging']],
    ['GET', at, 'uploads&acl', ['acl', 'uploads']],
    ['GET', at, 'partNumber=abc&acl', ['acl', 'partNumber']],
    ['GET', at, 'partNumber=1&tagging', ['partNumber', 'tagging']],
    ['GET', at, 'annotationName=v&acl', ['acl', 'annotationName']],
    ['GET', at, 'annotationName=v&website=v', ['annotationName', 'website']],
    ['PUT', at, 'cors&acl', ['acl', 'cors']],
    ['GET', `/${bucket}/no/such.md`, 'acl&tagging', ['acl', 'tagging']],
    // versitygw's test of S3 itself (DIRECT): an upload id beside ?uploads at a bucket.
    ['GET', `/${bucket}`, 'uploads&uploadId=u', ['uploadId', 'uploads']],
  ];
  for (const [method, path, query, names] of rows) {
    const res = await ask(method, path, query);
    t.equal(res.status, 400, `${method} ${path}?${query}: 400`);
    t.equal(refusal(res), conflict(...names), `${method} ${path}?${query}: the names`);
  }
  // A HEAD: the 400 without a body and without Allow, the bucket and the key not looked up.
  for (const [path, query] of [[`/${bucket}`, 'versioning&acl'], [at, 'acl&tagging'], ['/no-such-bucket-rs', 'acl&versioning'], [`/${bucket}/no/such.md`, 'acl&tagging']] as const) {
    const head = await ask('HEAD', path, query);
    t.equal(head.status, 400, `HEAD ${path}?${query}: 400`);
    t.equal(head.body.length, 0, `HEAD ${path}?${query}: no body`);
    t.equal(head.headers.allow, undefined, `HEAD ${path}?${query}: no Allow`);
  }
  // Before the credential: unsigned, the same answer.
  t.equal(refusal(await ask('GET', `/${bucket}`, 'acl&versioning', false)), conflict('acl', 'versioning'), 'unsigned: the conflict');
  t.equal((await ask('GET', at, '')).body.toString(), text, 'the object is untouched');
});

t.test('what is one operation is no conflict', async (t) => {
  // An operation's own parameters, a version id, an upload's part, an annotation's name, and a
  // selector sent twice or with a value: each answered, never the conflict.
  for (const [method, path, query, status] of [
    ['GET', `/${bucket}`, 'uploads&prefix=', 200],
    ['GET', `/${bucket}`, 'versions&prefix=', 200],
    ['GET', `/${bucket}`, 'versioning&versioning', 200],
    ['GET', `/${bucket}`, 'x-id=ListObjects&foo=bar', 200],
    ['GET', at, 'tagging&versionId=null', 200],
    ['GET', at, 'acl&x-id=GetObjectAcl', 200],
  ] as const) {
    const res = await ask(method, path, query);
    t.equal(res.status, status, `${method} ${path}?${query}: ${refusal(res)}`);
  }
  // An upload's part (UploadPart's pair) is no conflict: the upload it names does not exist.
  const part = await raw(d.port, { method: 'PUT', path: at, query: 'partNumber=1&uploadId=nope', body: 'x' });
  t.equal(part.status, 404, 'PUT ?partNumber&uploadId: the upload looked up');
  t.match(refusal(part), /^NoSuchUpload\|/, 'NoSuchUpload');
});

t.test('a valued ?website is S3\u2019s 400, before the bucket and the credential', async (t) => {
  const websiteV = 'InvalidArgument|<Message>The website parameter must not have a value</Message><ArgumentName>website</ArgumentName><ArgumentValue>v</ArgumentValue>';
  for (const [method, path, query] of [
    ['GET', '/no-such-bucket-rs', 'website=v'],
    ['PUT', '/no-such-bucket-rs', 'website=v'],
    ['GET', `/${bucket}`, 'website=v'],
    ['GET', '/no-such-bucket-rs', 'website=v&website'],
    ['GET', '/no-such-bucket-rs', 'website=v&max-keys=abc'],
    ['GET', `/${bucket}/no/such.md`, 'website=v'],
    ['GET', at, 'website=v'],
    ...(['PUT', 'DELETE', 'POST', 'PATCH'] as const).map((m) => [m, '/no-such-bucket-rs/k.txt', 'website=v'] as const),
  ] as const) {
    const res = await ask(method, path, query);
    t.equal(res.status, 400, `${method} ${path}?${query}: 400`);
    t.equal(refusal(res), websiteV, `${method} ${path}?${query}: the message and members`);
  }
  t.equal(refusal(await ask('GET', `/${bucket}`, 'website=v', false)), websiteV, 'unsigned: the same 400');
  for (const path of [`/${bucket}`, at]) {
    const head = await ask('HEAD', path, 'website=v');
    t.equal(head.status, 400, `HEAD ${path}?website=v: 400`);
    t.equal(head.body.length, 0, `HEAD ${path}?website=v: no body`);
  }
  // At a bucket, a version id is refused first.
  t.equal(refusal(await ask('GET', `/${bucket}`, 'versionId=x&website=v')), 'InvalidArgument|<Message>This operation does not accept a version-id.</Message><ArgumentName>versionId</ArgumentName><ArgumentValue>x</ArgumentValue>', 'the version id first');
  // Without a value it is the website configuration, as before.
  t.match(refusal(await ask('GET', `/${bucket}`, 'website=')), /^NoSuchWebsiteConfiguration\|/, '?website= is GetBucketWebsite');
});

t.test('?logging at a key is S3\u2019s NoLoggingStatusForKey', async (t) => {
  for (const path of [at, `/${bucket}/no/such.md`]) {
    const res = await ask('GET', path, 'logging');
    t.equal(res.status, 400, `${path}: 400`);
    t.equal(res.headers['content-type'], 'application/xml', `${path}: XML`);
    // The code and status are recorded; the message is the S3 API reference's for the code.
    t.equal(refusal(res), 'NoLoggingStatusForKey|<Message>There is no such thing as a logging status subresource for a key.</Message>', `${path}: the code, no member`);
  }
  // A HEAD is the 405 without Allow (recorded), as for ?versions at a key.
  for (const sub of ['logging', 'versions']) {
    const head = await ask('HEAD', at, sub);
    t.equal(head.status, 405, `HEAD ?${sub} at a key: 405`);
    t.equal(head.headers.allow, undefined, `HEAD ?${sub} at a key: no Allow`);
  }
  t.equal((await ask('GET', at, '')).body.toString(), text, 'the object is untouched');
});
