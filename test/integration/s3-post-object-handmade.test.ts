// Browser-form uploads (POST Object) against the real daemon, with POST policies signed here by
// hand: an HTML form posted as multipart/form-data to the bucket URL, authenticated by the policy
// instead of an Authorization header, sent the way a browser sends it (fetch with a FormData, the
// file last) or as a hand-built multipart body for the edge cases. Covers the success statuses
// (204/200/201 PostResponse/303 redirect), what is stored (bytes, Content-Type, x-amz-meta-*,
// Cache-Control, Content-Disposition, tags, ${filename}, a path in the file name cut off), case-insensitive field names, fields after
// the file being ignored, SSE (form field, bucket default, SSE-C over TLS only), every refusal
// (in s3-post-object-refusals.test.ts), a 20 MiB form streamed through, an upload aborted
// mid-file, and CORS. Forms made by minio-js and boto3: s3-post-object-clients.test.ts.

import t from 'tap';
import { request as httpRequest } from 'node:http';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { checksumHasher } from '../../daemon/auth/payload.js';
import { digestBase64 } from '../../daemon/ops/checksums.js';
import { startDaemon, testBytes } from '../helpers/daemon.js';
import { expectNoTempFiles } from '../helpers/files.js';
import { md5Base64, md5Hex, sha256Hex } from '../helpers/hash.js';
import { assertXmlError, raw, xmlField, type RawResponse } from '../helpers/http.js';
import { createBucket, expectS3Error } from '../helpers/s3.js';
import { ssec } from '../helpers/sse.js';
import { sleep } from '../helpers/wait.js';
import { encodeForm, formData, getObject, headCode, locationPath, multipart, policyFields, postForm, quoted, sendPost, signedForm, unquote, type Field, type FilePart, type Part } from '../helpers/post-object.js';

const MiB = 1024 * 1024;
const APP = 'https://app.example.com';

const [plain, tls] = await Promise.all([startDaemon({ env: { S3_DOMAIN: 's3.test' } }), startDaemon({ tls: true })]);
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) for (const d of [plain, tls]) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await Promise.all([plain.stop(), tls.stop()]);
  plain.cleanup();
  tls.cleanup();
});
const s3 = plain.s3();
const s3tls = tls.s3();

function exposed(res: RawResponse): string[] {
  return String(res.headers['access-control-expose-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

// ---- handmade SigV4 forms --------------------------------------------------------------------------

t.test('success statuses, redirects, stored headers and metadata, field-name case, ignored fields', async (t) => {
  const bucket = await createBucket(s3, 'post');
  const data = testBytes(1234, 31);
  const md5 = md5Hex(data);

  const status = async (value: string | undefined, key: string): Promise<RawResponse> => {
    const fields: Field[] = value === undefined ? [] : [['success_action_status', value]];
    const conditions = [{ key }, ...(value === undefined ? [] : [{ success_action_status: value }])];
    return postForm(plain, bucket, signedForm(bucket, key, fields, { conditions }, { data }));
  };
  const s200 = await status('200', 'status/200.bin');
  t.equal(s200.status, 200, 'success_action_status 200');
  t.equal(s200.body.length, 0, '200: empty body');
  t.equal(s200.headers.etag, quoted(md5), '200: ETag header');
  t.equal(locationPath(s200.headers.location), `/${bucket}/status/200.bin`, '200: Location header');

  const s201 = await status('201', 'status/201.bin');
  t.equal(s201.status, 201, 'success_action_status 201');
  t.equal(xmlField(s201.body, 'Bucket'), bucket);
  t.equal(xmlField(s201.body, 'Key'), 'status/201.bin');
  t.equal(unquote(xmlField(s201.body, 'ETag')), md5);
  t.equal(locationPath(xmlField(s201.body, 'Location')), `/${bucket}/status/201.bin`);

  for (const [value, key] of [['202', 'status/202.bin'], ['abc', 'status/abc.bin'], [undefined, 'status/none.bin']] as const) {
    const r = await status(value, key);
    t.equal(r.status, 204, `success_action_status ${value ?? 'absent'} → 204`);
    t.equal(r.body.length, 0);
    t.equal(r.headers.etag, quoted(md5));
  }
  for (const key of ['status/200.bin', 'status/201.bin', 'status/202.bin', 'status/abc.bin', 'status/none.bin']) {
    t.equal(sha256Hex((await getObject(s3, bucket, key)).body), sha256Hex(data), `${key} stored`);
  }

  // success_action_redirect and the older `redirect`: 303 to the URL plus bucket, key and etag.
  for (const field of ['success_action_redirect', 'redirect']) {
    const key = `redirect/${field}.bin`;
    const target = `${APP}/done?from=form`;
    const r = await postForm(plain, bucket, signedForm(bucket, key, [[field, target]], { conditions: [{ key }, { [field]: target }] }, { data }));
    t.equal(r.status, 303, `${field}: 303`);
    const loc = new URL(String(r.headers.location));
    t.equal(`${loc.origin}${loc.pathname}`, `${APP}/done`, `${field}: Location is the given URL`);
    t.equal(loc.searchParams.get('from'), 'form', `${field}: its own query is kept`);
    t.equal(loc.searchParams.get('bucket'), bucket, `${field}: bucket parameter`);
    t.equal(loc.searchParams.get('key'), key, `${field}: key parameter`);
    t.equal(unquote(loc.searchParams.get('etag') ?? undefined), md5, `${field}: etag parameter`);
    t.same((await getObject(s3, bucket, key)).body, data, `${field}: stored`);
  }

  // S3 appends bucket, key and etag to the URL the signer gave: its own query stays as it was
  // signed (a token in it is checked by the page it leads to), byte for byte, a `bucket` in it
  // included; the key is percent-encoded (a space as %20, a `+` as %2B), the fragment stays last.
  {
    const key = 'redirect/a b+c&d.bin';
    const target = `${APP}/done?token=a%2Fb~c%20d&flag&bucket=mine#top`;
    const r = await postForm(plain, bucket, signedForm(bucket, key, [['success_action_redirect', target]], { conditions: [{ key }, { success_action_redirect: target }] }, { data }));
    t.equal(r.status, 303, 'redirect with a query of its own: 303');
    const enc = encodeURIComponent;
    t.equal(
      r.headers.location,
      `${APP}/done?token=a%2Fb~c%20d&flag&bucket=mine&bucket=${enc(bucket)}&key=redirect%2Fa%20b%2Bc%26d.bin&etag=${enc(quoted(md5))}#top`,
      'the given URL kept as signed, the parameters appended before the fragment',
    );
  }

  // A CR or LF in the redirect cannot split the answer: the URL parser drops them (as browsers do).
  {
    const key = 'redirect/crlf.bin';
    const target = `${APP}/done\r\nSet-Cookie: injected=1`;
    const r = await postForm(plain, bucket, signedForm(bucket, key, [['success_action_redirect', target]], { conditions: [{ key }, { success_action_redirect: target }] }, { data }));
    t.equal(r.status, 303, 'redirect holding CR LF: 303');
    t.equal(r.headers['set-cookie'], undefined, '… no header injected');
    t.notOk(/[\r\n]/.test(String(r.headers.location)), '… the Location holds no CR or LF');
  }

  // To the virtual-host URL of the bucket: the Location is that style too (the bucket is in the
  // host name, not the path).
  {
    const key = 'vhost/v.txt';
    const fd = signedForm(bucket, key, [['success_action_status', '201']], { conditions: [{ key }, { success_action_status: '201' }] }, { data });
    const { body, contentType } = await encodeForm(fd);
    const r = await sendPost(plain, '/', body, { 'content-type': contentType, host: `${bucket}.s3.test:${plain.port}` });
    t.equal(r.status, 201, 'virtual-host form upload: 201');
    t.equal(xmlField(r.body, 'Location'), `http://${bucket}.s3.test:${plain.port}/vhost/v.txt`, 'its Location is virtual-host style');
    t.equal(r.headers.location, `http://${bucket}.s3.test:${plain.port}/vhost/v.txt`, 'the Location header too');
  }

  // A redirect S3 cannot interpret is as if absent (the status field decides). It used to throw
  // after the commit, and the error path then deleted the committed object's data.
  const big = testBytes(300_000, 33);
  for (const target of ['http://exa mple.com/', 'https://[bad']) {
    const key = `redirect/bad-${target.length}.bin`;
    const r = await postForm(plain, bucket, signedForm(bucket, key, [['success_action_redirect', target]], { conditions: [{ key }, { success_action_redirect: target }] }, { data: big }));
    t.equal(r.status, 204, `unparseable redirect ${JSON.stringify(target)}: 204, no redirect`);
    t.same((await getObject(s3, bucket, key)).body, big, `unparseable redirect ${JSON.stringify(target)}: the object reads back`);
  }
  // An acl field granting only the owner is accepted.
  const owned = await postForm(plain, bucket, signedForm(bucket, 'acl/owner.bin', [['acl', 'bucket-owner-full-control']], { conditions: [{ key: 'acl/owner.bin' }, { acl: 'bucket-owner-full-control' }] }, { data }));
  t.equal(owned.status, 204, 'acl=bucket-owner-full-control: accepted');
  // A right Content-MD5 field is accepted.
  const withMd5 = await postForm(plain, bucket, signedForm(bucket, 'md5/ok.bin', [['Content-MD5', md5Base64(data)]], { conditions: [{ key: 'md5/ok.bin' }, ['starts-with', '$Content-MD5', '']] }, { data }));
  t.equal(withMd5.status, 204, 'a matching Content-MD5 field: accepted');
  const wrongMd5 = await postForm(plain, bucket, signedForm(bucket, 'md5/bad.bin', [['Content-MD5', md5Base64('other')]], { conditions: [{ key: 'md5/bad.bin' }, ['starts-with', '$Content-MD5', '']] }, { data }));
  t.same([wrongMd5.status, xmlField(wrongMd5.body, 'ExpectedDigest'), xmlField(wrongMd5.body, 'CalculatedDigest')], [400, md5Hex('other'), md5Base64(data)], 'a Content-MD5 field the file does not match: BadDigest naming both digests');

  // Everything a form can set on the object.
  const headers: Field[] = [
    ['Content-Type', 'text/csv; charset=utf-8'],
    ['Cache-Control', 'max-age=3600, public'],
    ['Content-Disposition', 'attachment; filename="report.csv"'],
    ['x-amz-meta-project', 'apollo'],
    ['x-amz-meta-note', 'anything goes here'],
  ];
  const rich = await postForm(
    plain,
    bucket,
    signedForm(bucket, 'rich/report.csv', headers, {
      conditions: [
        ['eq', '$key', 'rich/report.csv'],
        ['starts-with', '$Content-Type', 'text/'],
        { 'Cache-Control': 'max-age=3600, public' },
        ['starts-with', '$Content-Disposition', 'attachment'],
        { 'x-amz-meta-project': 'apollo' },
        ['starts-with', '$x-amz-meta-note', ''],
      ],
    }, { data, type: 'application/x-ignored' }),
  );
  t.equal(rich.status, 204, 'eq, starts-with and starts-with "" conditions met');
  const { out, body } = await getObject(s3, bucket, 'rich/report.csv');
  t.same(body, data);
  t.equal(out.ContentType, 'text/csv; charset=utf-8', 'Content-Type field');
  t.equal(out.CacheControl, 'max-age=3600, public', 'Cache-Control field');
  t.equal(out.ContentDisposition, 'attachment; filename="report.csv"', 'Content-Disposition field');
  t.same(out.Metadata, { project: 'apollo', note: 'anything goes here' }, 'x-amz-meta-* fields');

  // Field names are case-insensitive, in the form and in the policy.
  const mixed = formData(
    [
      ['KEY', 'case/mixed.txt'],
      ['content-TYPE', 'text/plain'],
      ['X-Amz-Meta-Color', 'blue'],
      ...policyFields({ bucket, conditions: [{ key: 'case/mixed.txt' }, ['eq', '$Content-Type', 'text/plain'], { 'x-amz-meta-color': 'blue' }] }).map(([k, v]): Field => [k === 'policy' ? 'Policy' : k.toUpperCase().replace('X-AMZ-', 'X-Amz-'), v]),
    ],
    { data },
  );
  const mixedRes = await postForm(plain, bucket, mixed);
  t.equal(mixedRes.status, 204, 'KEY, Policy, X-Amz-Signature, … accepted');
  const mixedGot = await getObject(s3, bucket, 'case/mixed.txt');
  t.equal(mixedGot.out.ContentType, 'text/plain');
  t.same(mixedGot.out.Metadata, { color: 'blue' });

  // x-ignore-* needs no condition; fields after the file are ignored (not checked, not stored).
  const late = await postForm(
    plain,
    bucket,
    signedForm(bucket, 'late/a.bin', [['x-ignore-tracking', 'abc']], {}, { data }, [
      ['x-amz-meta-late', 'yes'],
      ['key', 'late/other.bin'],
    ]),
  );
  t.equal(late.status, 204, 'x-ignore-* and fields after the file need no condition');
  const lateGot = await getObject(s3, bucket, 'late/a.bin');
  t.same(lateGot.out.Metadata, {}, 'a field after the file sets nothing');
  t.equal(await headCode(s3, bucket, 'late/other.bin'), 'NotFound/404', 'a key after the file is ignored');

  // ${filename} with a UTF-8 file name (browsers send it raw), under a starts-with policy.
  const uni = await postForm(plain, bucket, signedForm(bucket, 'files/${filename}', [], { conditions: [['starts-with', '$key', 'files/']] }, { data, filename: 'fotó ü 1.txt' }));
  t.equal(uni.status, 204, '${filename} form');
  t.same((await getObject(s3, bucket, 'files/fotó ü 1.txt')).body, data, 'stored under the UTF-8 file name');

  // The name goes in literally: `$$`, `$&`, `$'` and `` $` `` are no replacement patterns.
  for (const name of ['Q3 $$ report.pdf', "price$'s.txt", 'a$&b.txt', 'x$`y.txt']) {
    const res = await postForm(plain, bucket, signedForm(bucket, 'dollar/${filename}', [], { conditions: [['starts-with', '$key', 'dollar/']] }, { data, filename: name }));
    t.equal(res.status, 204, `\${filename} with ${JSON.stringify(name)}`);
    t.same((await getObject(s3, bucket, `dollar/${name}`)).body, data, `stored under dollar/${name}`);
  }
  // A path in the file name (old browsers sent the whole Windows path; curl -F can send any): only
  // the text after its last slash or backslash, as S3 documents ("C:\\Program Files\\directory1\\file.txt
  // is interpreted as file.txt"). Hand-built: the backslashes go as sent, unescaped, as browsers send them.
  for (const [name, stored] of [['C:\\Program Files\\directory1\\file.txt', 'file.txt'], ['home/me/notes.txt', 'notes.txt'], ['a\\b.txt', 'b.txt']]) {
    const boundary = 'path-boundary-7';
    const parts: Part[] = [{ name: 'key', value: 'paths/${filename}' }, ...policyFields({ bucket, conditions: [['starts-with', '$key', 'paths/']] }).map(([n, value]): Part => ({ name: n, value })), { name: 'file', value: data, filename: name }];
    const res = await sendPost(plain, `/${bucket}`, multipart(boundary, parts), { 'content-type': `multipart/form-data; boundary=${boundary}` });
    t.equal(res.status, 204, `\${filename} with ${JSON.stringify(name)}`);
    t.same((await getObject(s3, bucket, `paths/${stored}`)).body, data, `stored under paths/${stored}`);
  }
  // An empty file input (a browser sends filename="" when none was chosen) under a key that is
  // `${filename}` alone: no object with an empty key, which nothing could delete.
  const noName = await postForm(plain, bucket, signedForm(bucket, '${filename}', [], { conditions: [['starts-with', '$key', '']] }, { data: Buffer.alloc(0), filename: '' }));
  assertXmlError(t, noName, 400, 'InvalidArgument', 'an empty file name as the whole key');
  t.same(((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: '' }))).Contents ?? []).filter((o) => o.Key === '').length, 0, 'no object with an empty key');
  // The file part's own Content-Type is no field: the policy never judged it, so it is not the
  // object's type (a form for an image must not store text/html).
  const typed = await postForm(plain, bucket, signedForm(bucket, 'typed/page.png', [], {}, { data, filename: 'page.html', type: 'text/html' }));
  t.equal(typed.status, 204, 'a file part typed text/html');
  t.equal((await getObject(s3, bucket, 'typed/page.png')).out.ContentType, 'binary/octet-stream', 'stored as binary/octet-stream, not text/html');
  const fielded = await postForm(plain, bucket, signedForm(bucket, 'typed/photo.png', [['Content-Type', 'image/png']], { conditions: [{ key: 'typed/photo.png' }, ['starts-with', '$Content-Type', 'image/']] }, { data, filename: 'photo.png', type: 'text/html' }));
  t.equal(fielded.status, 204, 'a Content-Type field the policy allows');
  t.equal((await getObject(s3, bucket, 'typed/photo.png')).out.ContentType, 'image/png', 'the field is the type');
  // An empty Content-Type field is as none: binary/octet-stream, as S3 stores it (versitygw's
  // AWS-checked PostObject_default_content_type), not an object served with an empty type.
  const blank = await postForm(plain, bucket, signedForm(bucket, 'typed/blank', [['Content-Type', '']], { conditions: [{ key: 'typed/blank' }, ['starts-with', '$Content-Type', '']] }, { data }));
  t.equal(blank.status, 204, 'an empty Content-Type field');
  t.equal((await getObject(s3, bucket, 'typed/blank')).out.ContentType, 'binary/octet-stream', 'stored as binary/octet-stream');
  // A Content-Type list whose every member has the prefix meets starts-with (as S3 documents it).
  const listed = await postForm(plain, bucket, signedForm(bucket, 'typed/list.png', [['Content-Type', 'image/jpg, image/png']], { conditions: [{ key: 'typed/list.png' }, ['starts-with', '$Content-Type', 'image/']] }, { data }));
  t.equal(listed.status, 204, 'a Content-Type list of images under starts-with image/');

  // An empty file, and the file given as a text field (S3: "file or text content").
  const empty = await postForm(plain, bucket, signedForm(bucket, 'edge/empty.bin', [], {}, { data: Buffer.alloc(0) }));
  t.equal(empty.status, 204, 'empty file');
  t.equal(empty.headers.etag, '"d41d8cd98f00b204e9800998ecf8427e"');
  t.equal((await getObject(s3, bucket, 'edge/empty.bin')).body.length, 0);
  const text = await postForm(plain, bucket, formData([['key', 'edge/text.txt'], ...policyFields({ bucket, conditions: [{ key: 'edge/text.txt' }] }), ['file', 'typed into a textarea']]));
  t.equal(text.status, 204, 'file as a text field');
  t.equal((await getObject(s3, bucket, 'edge/text.txt')).body.toString(), 'typed into a textarea');
  // A 30 KB text file is the file, not a field before it: the 20 KB bound on those does not take it.
  const longText = 'words of text '.repeat(2200); // no line breaks: FormData sends them as CRLF
  const long = await postForm(plain, bucket, formData([['key', 'edge/long.txt'], ['x-ignore-pad', 'p'.repeat(10_000)], ...policyFields({ bucket, conditions: [{ key: 'edge/long.txt' }] }), ['file', longText]]));
  t.equal(long.status, 204, `a ${longText.length}-byte file as a text field after 10 KB of fields (${xmlField(long.body, 'Code') ?? ''})`);
  t.equal((await getObject(s3, bucket, 'edge/long.txt')).body.toString(), longText, 'stored whole');

  // Content-Type: Multipart/Form-Data in any case, hand-built body.
  const boundary = 'XyZ-boundary-42';
  const handBody = multipart(boundary, [
    { name: 'key', value: 'edge/hand.bin' },
    ...policyFields({ bucket, conditions: [{ key: 'edge/hand.bin' }] }).map(([name, value]): Part => ({ name, value })),
    { name: 'file', value: data, filename: 'hand.bin', type: 'application/octet-stream' },
  ]);
  const hand = await sendPost(plain, `/${bucket}`, handBody, { 'content-type': `Multipart/Form-Data; boundary=${boundary}` });
  t.equal(hand.status, 204, 'hand-built body, mixed-case media type');
  t.same((await getObject(s3, bucket, 'edge/hand.bin')).body, data);

  // A lifecycle rule that will expire the object: the answer says so (x-amz-expiration), as
  // PutObject's does and S3's POST Object does.
  const expiring = await createBucket(s3, 'post-lc');
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: expiring, LifecycleConfiguration: { Rules: [{ ID: 'tmp rule', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 3 } }] } }));
  const put = await s3.send(new PutObjectCommand({ Bucket: expiring, Key: 'tmp/put.bin', Body: data }));
  t.match(put.Expiration, /^expiry-date=".+", rule-id="tmp%20rule"$/, 'PutObject names the rule');
  for (const status of ['204', '201']) {
    const key = `tmp/post-${status}.bin`;
    const r = await postForm(plain, expiring, signedForm(expiring, key, [['success_action_status', status]], { conditions: [{ key }, { success_action_status: status }] }, { data }));
    t.equal(r.status, Number(status));
    t.equal(r.headers['x-amz-expiration'], put.Expiration, `a ${status} form upload names the rule too`);
  }
  const kept = await postForm(plain, expiring, signedForm(expiring, 'kept.bin', [], {}, { data }));
  t.equal(kept.headers['x-amz-expiration'], undefined, 'no x-amz-expiration for a key no rule expires');
});

// ---- refusals --------------------------------------------------------------------------------------

t.test('forms whose fields are parts with a filename (Python requests\' files=), ${filename} under the policy', async (t) => {
  const bucket = await createBucket(s3, 'post-files');
  const data = Buffer.from('bar bytes of the file');
  // Every field a part with a filename, as `requests.post(url, files={...})` sends a form: S3
  // tells the file by its field name.
  const asFileParts = (fields: Field[], file: FilePart, after: Field[] = []): FormData => {
    const fd = new FormData();
    for (const [k, v] of fields) fd.append(k, new Blob([v]), k);
    fd.append('file', new Blob([file.data], file.type ? { type: file.type } : {}), file.filename ?? 'upload.bin');
    for (const [k, v] of after) fd.append(k, new Blob([v]), k);
    return fd;
  };
  for (const v2 of [false, true]) {
    const key = `files/${v2 ? 'v2' : 'v4'}.txt`;
    const fields: Field[] = [['key', key], ['Content-Type', 'text/plain'], ['x-amz-meta-color', 'blue'], ...policyFields({ bucket, v2, conditions: [{ key }, ['starts-with', '$Content-Type', 'text/'], ['starts-with', '$x-amz-meta-color', '']] })];
    const res = await postForm(plain, bucket, asFileParts(fields, { data, filename: 'foo.txt' }, [['x-amz-meta-late', 'yes']]));
    t.equal(res.status, 204, `Signature V${v2 ? 2 : 4}: every field a file part (${xmlField(res.body, 'Message') ?? ''})`);
    const got = await getObject(s3, bucket, key);
    t.same(got.body, data, 'the file part named file is the file');
    t.equal(got.out.ContentType, 'text/plain', 'Content-Type from its part');
    t.same(got.out.Metadata, { color: 'blue' }, 'x-amz-meta-* from its part; a part after the file sets nothing');
  }
  // A field part over the 20 KB of fields before the file is refused as a text field is.
  const big = await postForm(plain, bucket, asFileParts([['key', 'files/big.txt'], ['x-ignore-pad', 'p'.repeat(21_000)], ...policyFields({ bucket, conditions: [{ key: 'files/big.txt' }] })], { data }));
  assertXmlError(t, big, 400, 'MaxPostPreDataLengthExceeded', 'a 21 KB field part');
  t.equal(await headCode(s3, bucket, 'files/big.txt'), 'NotFound/404');

  // ${filename} is put into the key before the policy judges it: a policy on the key holds for
  // the key the object gets.
  const cond = { conditions: [['starts-with', '$key', 'foo']] };
  const named = await postForm(plain, bucket, signedForm(bucket, '${filename}', [], cond, { data, filename: 'foo.txt' }));
  t.equal(named.status, 204, `key \${filename}, file foo.txt, starts-with foo (${xmlField(named.body, 'Message') ?? ''})`);
  t.same((await getObject(s3, bucket, 'foo.txt')).body, data);
  const outside = await postForm(plain, bucket, signedForm(bucket, 'foo/${filename}', [], { conditions: [['eq', '$key', 'foo/${filename}']] }, { data, filename: 'passwd' }));
  assertXmlError(t, outside, 403, 'AccessDenied', 'an eq condition on the unsubstituted key does not cover the key the object would get');
  t.equal(await headCode(s3, bucket, 'foo/passwd'), 'NotFound/404');
});

t.test('x-amz-checksum-* fields: checked against the file and kept, as the headers of a PutObject', async (t) => {
  const bucket = await createBucket(s3, 'post-sums');
  const data = testBytes(300_000, 7);
  const crc = checksumHasher('CRC32');
  crc.update(data);
  const crc32 = await digestBase64(crc);
  const form = (key: string, sums: Field[]): FormData =>
    signedForm(bucket, key, sums, { conditions: [{ key }, ...sums.map(([k, v]) => ({ [k]: v }))] }, { data });
  const ok = await postForm(plain, bucket, form('sums/ok.bin', [['x-amz-checksum-crc32', crc32]]));
  t.equal(ok.status, 204, `the right CRC32 (${xmlField(ok.body, 'Message') ?? ''})`);
  t.equal(ok.headers['x-amz-checksum-crc32'], crc32, 'answered with it, as PutObject is');
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sums/ok.bin', ChecksumMode: 'ENABLED' }));
  t.same([head.ChecksumCRC32, head.ChecksumType], [crc32, 'FULL_OBJECT'], 'kept: HEAD in checksum mode shows it');
  const refusals: Array<[string, Field[], number, string]> = [
    ['a wrong CRC32', [['x-amz-checksum-crc32', 'AAAAAA==']], 400, 'BadDigest'],
    ['a CRC32 that is no checksum', [['x-amz-checksum-crc32', 'invalid']], 400, 'InvalidRequest'],
    ['two checksums', [['x-amz-checksum-crc32', crc32], ['x-amz-checksum-crc32c', 'AAAAAA==']], 400, 'InvalidRequest'],
    ['an algorithm s3d does not compute', [['x-amz-checksum-sha512', 'AAAA']], 501, 'NotImplemented'],
  ];
  for (const [i, [what, sums, status, code]] of refusals.entries()) {
    const key = `sums/refused-${i}.bin`;
    assertXmlError(t, await postForm(plain, bucket, form(key, sums)), status, code, what);
    t.equal(await headCode(s3, bucket, key), 'NotFound/404', `${what}: nothing stored`);
  }
});

t.test('a part without a name is a 400 before the file and ignored after it; fields after the file are unbounded', async (t) => {
  const bucket = await createBucket(s3, 'post');
  const fields = (key: string): Part[] => [{ name: 'key', value: key }, ...policyFields({ bucket, conditions: [{ key }] }).map(([name, value]): Part => ({ name, value }))];
  const file: Part = { name: 'file', value: 'the file', filename: 'f.txt' };
  const nameless = (filename?: string): Buffer =>
    Buffer.from(`--b0undary\r\nContent-Disposition: form-data${filename === undefined ? '' : `; filename="${filename}"`}\r\n\r\nv\r\n`);
  const body = (before: Buffer, key: string, after: Buffer = Buffer.alloc(0)): Buffer => {
    const form = multipart('b0undary', [...fields(key), file]);
    const end = Buffer.from('--b0undary--\r\n');
    return Buffer.concat([before, form.subarray(0, form.length - end.length), after, end]);
  };
  const headers = { 'content-type': 'multipart/form-data; boundary=b0undary' };
  // Unauthenticated, before any field: a client error, never a 500 (it was: TypeError on the name).
  for (const [what, part] of [['form-data without name=', nameless()], ['form-data with a filename, without name=', nameless('q.txt')]] as const) {
    const res = await sendPost(plain, `/${bucket}`, body(part, `nameless-${what.length}.txt`), headers);
    assertXmlError(t, res, 400, 'MalformedPOSTRequest', `a part ${what} before the file`);
    t.equal(await headCode(s3, bucket, `nameless-${what.length}.txt`), 'NotFound/404', `${what}: nothing stored`);
  }
  t.notOk(plain.logs.some((l) => l.includes('"level":50')), 'no internal error was logged');
  const after = await sendPost(plain, `/${bucket}`, body(Buffer.alloc(0), 'nameless-after.txt', nameless()), headers);
  t.equal(after.status, 204, 'a nameless part after the file is ignored');
  // Fields after the file are ignored however many (as on S3): the 200-field bound is for those before it.
  const many = Buffer.concat(Array.from({ length: 250 }, (_, i) => Buffer.from(`--b0undary\r\nContent-Disposition: form-data; name="x-late-${i}"\r\n\r\nv\r\n`)));
  const late = await sendPost(plain, `/${bucket}`, body(Buffer.alloc(0), 'late-fields.txt', many), headers);
  t.equal(late.status, 204, '250 fields after the file: stored');
  t.equal((await getObject(s3, bucket, 'late-fields.txt')).body.toString(), 'the file', 'with the file\'s bytes');
});

// ---- SSE, tagging --------------------------------------------------------------------------------

t.test('SSE-S3 by form field and by bucket default, SSE-C over TLS, tags', async (t) => {
  const bucket = await createBucket(s3, 'post');
  const data = testBytes(200_000, 51);

  const sse = await postForm(
    plain,
    bucket,
    signedForm(bucket, 'sse/s3.bin', [['x-amz-server-side-encryption', 'AES256']], { conditions: [{ key: 'sse/s3.bin' }, { 'x-amz-server-side-encryption': 'AES256' }] }, { data }),
  );
  t.equal(sse.status, 204, 'SSE-S3 form');
  t.equal(sse.headers.etag, quoted(md5Hex(data)), 'SSE-S3 ETag is the MD5');
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sse/s3.bin' }));
  t.equal(head.ServerSideEncryption, 'AES256', 'HEAD shows SSE-S3');
  t.same((await getObject(s3, bucket, 'sse/s3.bin')).body, data, 'SSE-S3 object reads back');

  const defaulted = await createBucket(s3, 'post-enc');
  await s3.send(new PutBucketEncryptionCommand({ Bucket: defaulted, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
  const dres = await postForm(plain, defaulted, signedForm(defaulted, 'default.bin', [], {}, { data }));
  t.equal(dres.status, 204, 'form into a bucket with default encryption');
  t.equal(dres.headers.etag, quoted(md5Hex(data)));
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: defaulted, Key: 'default.bin' }))).ServerSideEncryption, 'AES256', 'bucket default applied');
  t.same((await getObject(s3, defaulted, 'default.bin')).body, data);

  const tagging = '<Tagging><TagSet><Tag><Key>project</Key><Value>apollo</Value></Tag><Tag><Key>stage</Key><Value>raw data</Value></Tag></TagSet></Tagging>';
  const tagged = await postForm(plain, bucket, signedForm(bucket, 'tags/a.bin', [['tagging', tagging]], { conditions: [{ key: 'tags/a.bin' }, ['starts-with', '$tagging', '']] }, { data }));
  t.equal(tagged.status, 204, 'form with a tagging field');
  const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tags/a.bin' }));
  t.same(
    (tags.TagSet ?? []).map((x) => [x.Key, x.Value]),
    [
      ['project', 'apollo'],
      ['stage', 'raw data'],
    ],
    'tags set from the form',
  );

  // SSE-C over TLS.
  const tbucket = await createBucket(s3tls, 'post-tls');
  const key = Buffer.alloc(32, 0x5c);
  const ssecFields: Field[] = [
    ['x-amz-server-side-encryption-customer-algorithm', 'AES256'],
    ['x-amz-server-side-encryption-customer-key', key.toString('base64')],
    ['x-amz-server-side-encryption-customer-key-MD5', md5Base64(key)],
  ];
  const cres = await postForm(tls, tbucket, signedForm(tbucket, 'ssec.bin', ssecFields, { conditions: [{ key: 'ssec.bin' }, ...ssecFields.map(([n]) => ['starts-with', `$${n}`, ''])] }, { data }));
  t.equal(cres.status, 204, `SSE-C form over TLS (${xmlField(cres.body, 'Code') ?? ''} ${xmlField(cres.body, 'Message') ?? ''})`);
  const withKey = await getObject(s3tls, tbucket, 'ssec.bin', ssec(key));
  t.same(withKey.body, data, 'GET with the key returns the bytes');
  t.equal(withKey.out.SSECustomerAlgorithm, 'AES256');
  t.equal(withKey.out.SSECustomerKeyMD5, md5Base64(key));
  await expectS3Error(t, s3tls.send(new GetObjectCommand({ Bucket: tbucket, Key: 'ssec.bin' })), 'InvalidRequest', 400, 'GET without the key');
  await expectS3Error(t, s3tls.send(new GetObjectCommand({ Bucket: tbucket, Key: 'ssec.bin', ...ssec(Buffer.alloc(32, 1)) })), 'AccessDenied', 403, 'GET with another key');
  // SSE-C over plain HTTP is in the refusal cases above.
});

// ---- large and aborted ---------------------------------------------------------------------------

t.test('a 20 MiB form streams through; an upload aborted mid-file stores nothing', async (t) => {
  const bucket = await createBucket(s3, 'post-big');
  const big = testBytes(20 * MiB + 4321, 61);
  const res = await fetch(`${plain.endpoint}/${bucket}`, { method: 'POST', body: signedForm(bucket, 'big.bin', [], { conditions: [{ key: 'big.bin' }, ['content-length-range', 0, 64 * MiB]] }, { data: big }) });
  t.equal(res.status, 204, '20 MiB form');
  t.equal(res.headers.get('etag'), quoted(md5Hex(big)));
  const got = await getObject(s3, bucket, 'big.bin');
  t.equal(got.body.length, big.length, 'length');
  t.equal(sha256Hex(got.body), sha256Hex(big), '20 MiB round trip intact');

  // Over content-length-range by megabytes: refused while streaming.
  const over = await postForm(plain, bucket, signedForm(bucket, 'over.bin', [], { conditions: [{ key: 'over.bin' }, ['content-length-range', 0, MiB]] }, { data: testBytes(3 * MiB, 62) }));
  assertXmlError(t, over, 400, 'EntityTooLarge', '3 MiB file, 1 MiB maximum');
  t.equal(xmlField(over.body, 'MaxSizeAllowed'), String(MiB), 'EntityTooLarge names MaxSizeAllowed, as S3 does');
  const under = await postForm(plain, bucket, signedForm(bucket, 'under.bin', [], { conditions: [{ key: 'under.bin' }, ['content-length-range', 2000, MiB]] }, { data: testBytes(1234, 63) }));
  assertXmlError(t, under, 400, 'EntityTooSmall', '1234-byte file, 2000 minimum');
  t.same([xmlField(under.body, 'ProposedSize'), xmlField(under.body, 'MinSizeAllowed')], ['1234', '2000'], 'EntityTooSmall names ProposedSize and MinSizeAllowed, as S3 does');
  t.equal(await headCode(s3, bucket, 'over.bin'), 'NotFound/404');

  // A client gives up after 4 of a declared 20 MiB.
  const boundary = 'abort-boundary-7';
  const head = multipart(boundary, [
    { name: 'key', value: 'aborted.bin' },
    ...policyFields({ bucket, conditions: [{ key: 'aborted.bin' }] }).map(([name, value]): Part => ({ name, value })),
  ], { unterminated: true });
  const fileHead = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="aborted.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const total = head.length + fileHead.length + 20 * MiB + `\r\n--${boundary}--\r\n`.length;
  const req = httpRequest({
    host: '127.0.0.1',
    port: plain.port,
    method: 'POST',
    path: `/${bucket}`,
    agent: false,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(total) },
  });
  let responded: number | undefined;
  req.on('response', (r) => {
    responded = r.statusCode;
    r.resume();
  });
  req.on('error', () => undefined);
  const write = (b: Buffer): Promise<void> => new Promise((r) => req.write(b, () => r()));
  await write(head);
  await write(fileHead);
  const chunk = testBytes(MiB, 63);
  for (let i = 0; i < 4; i++) await write(chunk);
  await sleep(200);
  t.equal(responded, undefined, 'no answer before the body is complete');
  req.destroy();
  await expectNoTempFiles(t, plain.dataDir, 'aborted form upload');
  t.equal(await headCode(s3, bucket, 'aborted.bin'), 'NotFound/404', 'nothing stored after the abort');

  const after = await postForm(plain, bucket, signedForm(bucket, 'aborted.bin', [], {}, { data: Buffer.from('second try') }));
  t.equal(after.status, 204, 'the daemon keeps serving forms');
  t.equal((await getObject(s3, bucket, 'aborted.bin')).body.toString(), 'second try');
});

// ---- CORS ------------------------------------------------------------------------------------------

t.test('CORS: a page on another origin reads the ETag and Location of its form upload', async (t) => {
  const bucket = await createBucket(s3, 'post-cors');
  const data = testBytes(777, 71);
  const ok = await postForm(plain, bucket, signedForm(bucket, 'cors.bin', [], {}, { data }), { origin: APP });
  t.equal(ok.status, 204);
  t.equal(ok.headers['access-control-allow-origin'], APP, 'the origin is allowed');
  t.ok(exposed(ok).includes('etag'), `etag exposed (${exposed(ok).join(',')})`);
  t.ok(exposed(ok).includes('location'), 'location exposed');

  const created = await postForm(plain, bucket, signedForm(bucket, 'cors201.bin', [['success_action_status', '201']], { conditions: [{ key: 'cors201.bin' }, { success_action_status: '201' }] }, { data }), { origin: APP });
  t.equal(created.status, 201);
  t.equal(created.headers['access-control-allow-origin'], APP, '201 readable by the page');

  const denied = await postForm(plain, bucket, signedForm(bucket, 'cors-denied.bin', [['x-amz-meta-x', '1']], {}, { data }), { origin: APP });
  assertXmlError(t, denied, 403, 'AccessDenied', 'uncovered field from a page');
  t.equal(denied.headers['access-control-allow-origin'], APP, 'the refusal is readable by the page');

  const pre = await raw(plain.port, { method: 'OPTIONS', path: `/${bucket}`, sign: false, headers: { origin: APP, 'access-control-request-method': 'POST' } });
  t.equal(pre.status, 200, 'preflight for a POST to the bucket');
});
