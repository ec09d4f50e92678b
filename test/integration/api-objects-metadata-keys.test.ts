// What is stored beside an object's bytes, and under what name, against the real daemon (split
// from api-objects.test.ts): user metadata (RFC 2047 encoded words, non-ASCII, TAB, the 2 KB
// limit) and representation headers, hostile and unusual keys (no key-derived file names, nothing
// outside the data directory), and the 1024-byte key limit.
import t from 'tap';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { bucketName, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { filesUnder } from '../helpers/files.js';
import { md5Hex } from '../helpers/hash.js';
import { assertXmlError, encodeKey, raw, xmlField } from '../helpers/http.js';
import { createBucket, expectSdkError, keptAliveClient, withHeaders } from '../helpers/s3.js';
import { minioClient } from '../helpers/minio.js';

const d = await startDaemonFor(t);
const s3 = keptAliveClient(d);
const bucket = bucketName('obj');
await s3.send(new CreateBucketCommand({ Bucket: bucket }));

t.test('user metadata and representation headers round trip', async (t) => {
  const input: PutObjectCommandInput = {
    Bucket: bucket,
    Key: 'meta',
    Body: 'metadata object',
    ContentType: 'text/html; charset=utf-8',
    ContentEncoding: 'identity',
    ContentDisposition: 'inline; filename="page.html"',
    ContentLanguage: 'de-CH',
    CacheControl: 'public, max-age=3600',
    Expires: new Date('2036-02-03T04:05:06Z'),
    Metadata: { color: 'blue', 'multi-word-name': 'Hello, World!', CamelCase: 'Value With Spaces', empty: '' },
  };
  await s3.send(new PutObjectCommand(input));
  for (const op of ['GET', 'HEAD'] as const) {
    const r = op === 'GET' ? await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'meta' })) : await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta' }));
    if (op === 'GET') t.equal(await (r as { Body?: { transformToString(): Promise<string> } }).Body!.transformToString(), 'metadata object');
    t.equal(r.ContentType, 'text/html; charset=utf-8', `${op} Content-Type`);
    t.equal(r.ContentEncoding, 'identity', `${op} Content-Encoding`);
    t.equal(r.ContentDisposition, 'inline; filename="page.html"', `${op} Content-Disposition`);
    t.equal(r.ContentLanguage, 'de-CH', `${op} Content-Language`);
    t.equal(r.CacheControl, 'public, max-age=3600', `${op} Cache-Control`);
    t.equal(r.ExpiresString ?? r.Expires?.toUTCString(), 'Sun, 03 Feb 2036 04:05:06 GMT', `${op} Expires`);
    t.strictSame(r.Metadata, { color: 'blue', 'multi-word-name': 'Hello, World!', camelcase: 'Value With Spaces', empty: '' }, `${op} metadata (names lower-cased)`);
  }
  // Default Content-Type when the client sends none.
  const r = await raw(d.port, { method: 'PUT', path: `/${bucket}/no-type`, body: 'x' });
  t.equal(r.status, 200);
  const h = await raw(d.port, { method: 'HEAD', path: `/${bucket}/no-type` });
  t.equal(h.headers['content-type'], 'binary/octet-stream', 'default Content-Type');
  // Too much metadata.
  await expectSdkError(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'meta-big', Body: 'x', Metadata: { big: 'v'.repeat(2100) } })), 'MetadataTooLarge', 400, '2 KiB user metadata limit');
  await expectSdkError(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta-big' })), 'NotFound', 404, 'refused PUT stored nothing');
  // Overwrite replaces data, ETag and metadata.
  const next = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'meta', Body: 'second version', Metadata: { only: 'this' } }));
  const after = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'meta' }));
  t.equal(await after.Body!.transformToString(), 'second version');
  t.equal(after.ETag, next.ETag);
  t.equal(after.ETag, `"${md5Hex(Buffer.from('second version'))}"`);
  t.strictSame(after.Metadata, { only: 'this' }, 'metadata replaced, not merged');
  t.equal(after.ContentLanguage, undefined, 'old representation headers gone');
});

// An empty Content-Type (the SDK's ContentType '', a browser's File.type for an unknown extension
// sent as the header, fog's String bodies, scripts built on urllib) is no type: the object gets
// S3's default, binary/octet-stream, as a form's empty Content-Type field does (s3-post-object-
// handmade). s3d stored it empty and served `Content-Type:` with no value, which browsers sniff.
t.test('an empty Content-Type is no type: binary/octet-stream (PutObject, CopyObject REPLACE, CreateMultipartUpload)', async (t) => {
  const typeOf = async (key: string): Promise<Array<string | undefined>> => {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await got.Body!.transformToByteArray();
    const head = await raw(d.port, { method: 'HEAD', path: `/${bucket}/${key}` });
    return [got.ContentType, head.headers['content-type']];
  };
  const octet = ['binary/octet-stream', 'binary/octet-stream'];
  for (const [what, value] of [['empty', ''], ['blank', '   ']] as const) {
    const put = await raw(d.port, { method: 'PUT', path: `/${bucket}/ct-${what}`, headers: { 'content-type': value }, body: 'typed nothing' });
    t.equal(put.status, 200, `raw PUT, ${what} Content-Type: 200`);
    t.same(await typeOf(`ct-${what}`), octet, `raw PUT, ${what} Content-Type: GET (SDK) and HEAD (raw) answer binary/octet-stream`);
  }
  // The SDK's PutObject turns ContentType '' into application/octet-stream itself; sent as is:
  await s3.send(withHeaders(new PutObjectCommand({ Bucket: bucket, Key: 'ct-sdk', Body: 'typed nothing' }), { 'content-type': '' }));
  t.same(await typeOf('ct-sdk'), octet, 'SDK PutObject with an empty content-type header');

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ct-src', Body: 'typed', ContentType: 'text/plain' }));
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'ct-copy', CopySource: `${bucket}/ct-src`, MetadataDirective: 'REPLACE', ContentType: '' }));
  t.same(await typeOf('ct-copy'), octet, 'CopyObject REPLACE with an empty ContentType: not the source\u2019s, the default');
  const copied = await raw(d.port, { method: 'PUT', path: `/${bucket}/ct-copy-raw`, headers: { 'x-amz-copy-source': `/${bucket}/ct-src`, 'x-amz-metadata-directive': 'REPLACE', 'content-type': '' } });
  t.equal(copied.status, 200, 'raw CopyObject REPLACE: 200');
  t.same(await typeOf('ct-copy-raw'), octet, 'raw CopyObject REPLACE with an empty Content-Type');

  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'ct-mp', ContentType: '' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'ct-mp', UploadId: up.UploadId, PartNumber: 1, Body: 'one part' }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'ct-mp', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
  t.same(await typeOf('ct-mp'), octet, 'CreateMultipartUpload with an empty ContentType: the completed object');
});

t.test('hostile and unusual keys are stored as harmless names and list back exactly', async (t) => {
  const b = await createBucket(s3, 'keys');
  const keys = [
    'ünïcödé/日本語/😀.txt',
    'with space',
    'two  spaces and trailing ',
    'a+b',
    'a%2Bb',
    '100%',
    '%',
    '../../etc/passwd',
    'a/../../b',
    '../escape',
    '..%2F..%2Fencoded',
    'x/./y',
    'amp&lt<gt>"quote\'apos',
    'q?x=1&y=2#frag',
    'semi;colon,comma=eq',
    'back\\slash',
    '~tilde!$()*',
  ];
  const outside = [join(tmpdir(), 'b'), join(tmpdir(), 'etc'), join(tmpdir(), 'escape'), join(dirname(d.dataDir), 'b'), join(d.dataDir, 'b'), join(d.dataDir, 'etc')];
  const existedBefore = outside.map((p) => existsSync(p));
  const passwd = readFileSync('/etc/passwd');
  const filesBefore = new Set(filesUnder(d.dataDir, { relative: true }));
  // Bodies larger than the inline threshold, so every object gets a data file.
  const bodies = new Map(keys.map((k, i) => [k, testBytes(140_000 + i, i + 100)]));
  for (const key of keys) {
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: bodies.get(key)! }));
    t.equal(put.ETag, `"${md5Hex(bodies.get(key)!)}"`, `PUT ${JSON.stringify(key)}`);
  }
  for (const key of keys) {
    const r = await s3.send(new GetObjectCommand({ Bucket: b, Key: key }));
    const bytes = Buffer.from(await r.Body!.transformToByteArray());
    t.ok(bytes.equals(bodies.get(key)!), `GET ${JSON.stringify(key)} returns its own bytes`);
  }
  const listed: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: b, ContinuationToken: token, MaxKeys: 5 }));
    listed.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  t.strictSame(listed, [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))), 'ListObjectsV2 returns exactly the keys, in UTF-8 byte order');
  // Raw path with the key encoded by hand reaches the same object.
  const rawGet = await raw(d.port, { method: 'GET', path: `/${b}/${encodeKey('a/../../b')}` });
  t.ok(rawGet.body.equals(bodies.get('a/../../b')!), 'raw GET a/../../b');
  // Nothing escaped the data dir; new files are id-named data files under .s3d/.
  t.strictSame(outside.map((p) => existsSync(p)), existedBefore, 'no file appeared outside the data dir');
  t.ok(readFileSync('/etc/passwd').equals(passwd), '/etc/passwd untouched');
  const added = filesUnder(d.dataDir, { relative: true }).filter((f) => !filesBefore.has(f));
  const dataFiles = added.filter((f) => /^\.s3d\/objects\/[0-9a-f]{2}\/[0-9a-f]{32}$/.test(f));
  t.equal(dataFiles.length, keys.length, 'one id-named data file per object');
  t.strictSame(
    added.filter((f) => !dataFiles.includes(f) && !f.startsWith('.s3d/')),
    [],
    'no other file outside .s3d/',
  );
  for (const f of filesUnder(d.dataDir, { relative: true })) t.notOk(/passwd|escape|ünï|with space/.test(f), `no key-derived name: ${f}`);
  for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: b, Key: key }));
  t.equal((await s3.send(new ListObjectsV2Command({ Bucket: b }))).KeyCount, 0, 'all deleted');
});

t.test('key length: 1024 bytes of UTF-8 OK, 1025 → KeyTooLongError', async (t) => {
  const ascii = 'k'.repeat(1024);
  const wide = '日'.repeat(341) + 'a'; // 1023 + 1 bytes
  for (const key of [ascii, wide]) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'long' }));
    t.equal(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString(), 'long', `${Buffer.byteLength(key)}-byte key round trip`);
    const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key.slice(0, 10) }));
    t.ok(list.Contents?.some((o) => o.Key === key), 'listed with the full key');
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
  await expectSdkError(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k'.repeat(1025), Body: 'x' })), 'KeyTooLongError', 400, 'PUT 1025-byte key');
  await expectSdkError(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: '日'.repeat(342), Body: 'x' })), 'KeyTooLongError', 400, 'PUT 1026-byte UTF-8 key');
  const get = await raw(d.port, { method: 'GET', path: `/${bucket}/${'k'.repeat(1025)}` });
  assertXmlError(t, get, 400, 'KeyTooLongError', 'GET 1025-byte key');
  // S3's answer names the key's size in bytes and the bound, its message without a full stop
  // (recorded: versitygw#2080, flowwer-dev/pull-request-stats#33).
  t.equal(xmlField(get.body, 'Message'), 'Your key is too long', 'S3\'s message');
  t.equal(xmlField(get.body, 'Size'), '1025', 'the key\'s size');
  t.equal(xmlField(get.body, 'MaxSizeAllowed'), '1024', 'and the bound');
  const wideGet = await raw(d.port, { method: 'GET', path: `/${bucket}/${encodeURIComponent('日'.repeat(342))}` });
  assertXmlError(t, wideGet, 400, 'KeyTooLongError', 'GET 1026-byte UTF-8 key');
  t.equal(xmlField(wideGet.body, 'Size'), '1026', 'the size in UTF-8 bytes, not characters');
  const copy = await raw(d.port, { method: 'PUT', path: `/${bucket}/copy-dest`, headers: { 'x-amz-copy-source': `/${bucket}/${'s'.repeat(1030)}` } });
  assertXmlError(t, copy, 400, 'KeyTooLongError', 'a copy source naming a 1030-byte key');
  t.equal(xmlField(copy.body, 'Size'), '1030', 'the copy source key\'s size');
  t.equal(xmlField(copy.body, 'MaxSizeAllowed'), '1024');
});

t.test('non-ASCII user metadata (a browser form upload) comes back RFC 2047 encoded, as on S3', async (t) => {
  const sdk = keptAliveClient(d);
  const policy = minioClient(d).newPostPolicy();
  policy.setBucket(bucket);
  policy.setKey('form-meta');
  policy.setExpires(new Date(Date.now() + 600_000));
  policy.setUserMetaData({ title: 'naïve café 東京', plain: 'ascii only' });
  const { postURL, formData } = await minioClient(d).presignedPostPolicy(policy);
  const form = new FormData();
  for (const [k, v] of Object.entries(formData)) form.append(k, v);
  form.append('file', new Blob(['x']), 'x.txt');
  t.equal((await fetch(postURL, { method: 'POST', body: form })).status, 204, 'the form upload is stored');
  const encoded = `=?UTF-8?B?${Buffer.from('naïve café 東京').toString('base64')}?=`;
  const got = await raw(d.port, { method: 'HEAD', path: `/${bucket}/form-meta` });
  t.equal(got.headers['x-amz-meta-title'], encoded, 'the value as one RFC 2047 encoded word');
  t.equal(got.headers['x-amz-meta-plain'], 'ascii only', 'an ASCII value as stored');
  const head = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'form-meta' }));
  t.same(head.Metadata, { title: encoded, plain: 'ascii only' }, 'the SDK reads the same');
});

// S3 decodes a metadata value's RFC 2047 encoded words before it stores it, and encodes the text
// again on the way out (User Guide, Working with object metadata). They were stored as sent: a
// word that decodes to ASCII read back encoded, and text of 2,000 bytes, whose encoding is past
// 2 KB, was refused with MetadataTooLarge.
t.test('user metadata sent RFC 2047 encoded is stored as its text, as on S3', async (t) => {
  const sdk = keptAliveClient(d);
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const long = `=?UTF-8?B?${b64('é'.repeat(1000))}?=`;
  const Metadata = { q: '=?UTF-8?Q?caf=C3=A9_au_lait?=', ascii: '=?UTF-8?B?YWJj?=', long };
  await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'meta-2047', Body: 'x', Metadata }));
  const expected = { q: `=?UTF-8?B?${b64('café au lait')}?=`, ascii: 'abc', long };
  const head = await raw(d.port, { method: 'HEAD', path: `/${bucket}/meta-2047` });
  t.strictSame(
    { q: head.headers['x-amz-meta-q'], ascii: head.headers['x-amz-meta-ascii'], long: head.headers['x-amz-meta-long'] },
    expected,
    'the text, encoded again only when it is not ASCII',
  );
  await sdk.send(new CopyObjectCommand({ Bucket: bucket, Key: 'meta-2047-copy', CopySource: `${bucket}/meta-2047`, MetadataDirective: 'REPLACE', Metadata }));
  t.strictSame((await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta-2047-copy' }))).Metadata, expected, 'CopyObject (REPLACE) alike, read by the SDK');
});

// S3 returns a metadata value of US-ASCII alone as it is; one holding a TAB came back RFC 2047
// encoded, which the SDK hands over as it is (`=?UTF-8?B?YQli?=` for `a<TAB>b`).
t.test('user metadata with a TAB reads back as it was sent, as on S3', async (t) => {
  const sdk = keptAliveClient(d);
  await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'meta-tab', Body: 'x', Metadata: { t: 'a\tb' } }));
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/meta-tab` })).headers['x-amz-meta-t'], 'a\tb', 'HEAD: as sent');
  t.strictSame((await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta-tab' }))).Metadata, { t: 'a\tb' }, 'the SDK reads it so');
});
