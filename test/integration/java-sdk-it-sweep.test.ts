// What the AWS SDK for Java v2's S3 integration tests (services/s3/src/it/java/.../s3/, run against
// real S3, so their assertions record S3's answers) expect of the server, checked against s3d with
// the JS SDK v3 and signed raw requests. One case per Java test, named in its comment; behaviour
// other suites already pin is not repeated here (HeadObjectIntegrationTest's gzip Content-Encoding:
// api-objects; MissingUploadIdRequestIntegrationTest is the SDK's own check before sending, and a
// partNumber without uploadId is the router unit test's).

import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import {
  CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectsCommand, GetObjectTaggingCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListObjectsCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutBucketVersioningCommand,
  PutObjectCommand, UploadPartCommand, AbortMultipartUploadCommand, GetObjectAclCommand, GetBucketPolicyCommand,
  CompleteMultipartUploadCommand, GetObjectCommand, ListBucketsCommand, UploadPartCopyCommand, DeleteObjectCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { REGION, SECRET_KEY, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { STREAMING_SIGNED_PAYLOAD_TRAILER, chunkStringToSign, deriveSigningKey, signatureHex, trailerStringToSign } from '../../daemon/auth/sigv4.js';
import { crc32Base64, sha256Hex } from '../helpers/hash.js';
import { buildHeaders, raw } from '../helpers/http.js';
import { createBucket, expectS3Error, getBytes, sdkFailure } from '../helpers/s3.js';
import { ssec } from '../helpers/sse.js';

const d = await startDaemonFor(t);
const s3 = d.s3();

/** The Java SDK's copy-source encoding (SdkHttpUtils.urlEncodeIgnoreSlashes): all but unreserved characters and '/'. */
function javaUrlEncodeIgnoreSlashes(s: string): string {
  return s.split('/').map((seg) => encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');
}

const field = (xml: string, name: string): string[] => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]!);

// KeysWithLeadingSlashIntegrationTest.putObject_KeyWithLeadingSlash_Succeeds
t.test('a key with a leading slash is stored and listed with it', async (t) => {
  const bucket = await createBucket(s3, 'jslash');
  const key = '/stupidkeywithillegalleadingslashthatsucks';
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'Hello' }));
  const listed = await s3.send(new ListObjectsCommand({ Bucket: bucket }));
  t.same(listed.Contents?.map((c) => c.Key), [key]);
  t.equal((await getBytes(s3, { Bucket: bucket, Key: key })).toString(), 'Hello');
});

// UrlEncodingIntegrationTest: every listing with encoding-type=url gives back a key the SDK decodes to the one put
t.test('encoding-type=url: the listings of objects, versions and uploads encode keys a decoder reads back', async (t) => {
  const bucket = await createBucket(s3, 'jurl');
  const key = 'filename_@_=_&_?_+_)_.temp';
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x'.repeat(1000) }));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: 'y'.repeat(1000) }));
  const decode = (v: string): string => decodeURIComponent(v.replace(/\+/g, ' '));
  for (const [what, query, element] of [
    ['ListObjects', 'encoding-type=url', 'Key'],
    ['ListObjectsV2', 'list-type=2&encoding-type=url', 'Key'],
    ['ListObjectVersions', 'versions&encoding-type=url', 'Key'],
    ['ListMultipartUploads', 'uploads&encoding-type=url', 'Key'],
  ] as const) {
    const res = await raw(d.port, { method: 'GET', path: `/${bucket}`, query });
    t.equal(res.status, 200, `${what}: 200`);
    const body = res.body.toString();
    t.equal(field(body, 'EncodingType')[0], 'url', `${what}: EncodingType url`);
    t.same(field(body, element).map(decode), [key], `${what}: the key decodes to the one put`);
  }
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, EncodingType: 'url' }));
  t.same(versions.Versions?.map((v) => decode(v.Key!)), [key], 'through the SDK: versions');
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, EncodingType: 'url' }));
  t.same(uploads.Uploads?.map((u) => decode(u.Key!)), [key], 'through the SDK: uploads');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId }));
});

// ExceptionUnmarshallingIntegrationTest: the modeled errors with code, message and request id
t.test('ExceptionUnmarshalling: the codes S3 answers', async (t) => {
  const bucket = await createBucket(s3, 'jexc');
  await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'some-key' })), 'NotFound', 404, 'headObjectNoSuchKey');
  await expectS3Error(t, s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: 'some-key' })), 'NoSuchKey', 404, 'getObjectAclNoSuchKey');
  await expectS3Error(t, s3.send(new GetObjectAclCommand({ Bucket: `${bucket}some-key`, Key: 'some-key' })), 'NoSuchBucket', 404, 'getObjectAclNoSuchBucket');
  await expectS3Error(t, s3.send(new GetBucketPolicyCommand({ Bucket: `${bucket}some-key` })), 'NoSuchBucket', 404, 'getBucketPolicyNoSuchBucket');
  await expectS3Error(t, s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'some-key', UploadId: '23232' })), 'NoSuchUpload', 404, 'abortMultipartNoSuchUpload');
  const res = await raw(d.port, { method: 'GET', path: `/${bucket}some-key`, query: 'acl' });
  t.match(res.body.toString(), /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchBucket<\/Code><Message>The specified bucket does not exist<\/Message>/, 'errorResponseContainsRawBytes');
});

// CopySourceIntegrationTest: the same key as the PUT, encoded as the Java SDK encodes copy sources, with and without versionId
t.test('CopySource encoded as the Java SDK does, with and without versionId', async (t) => {
  const src = await createBucket(s3, 'jcpsrc');
  const dst = await createBucket(s3, 'jcpdst');
  await s3.send(new PutBucketVersioningCommand({ Bucket: src, VersioningConfiguration: { Status: 'Enabled' } }));
  for (const key of ['simpleKey', 'key/with/slashes', '\u{1FAA3}', 'specialChars/ +!#$&\'()*,:;=?@"', '%20']) {
    const versions: Array<[string, string]> = [];
    for (let i = 0; i < 2; i++) {
      const body = `${key} v${i}`;
      const put = await s3.send(new PutObjectCommand({ Bucket: src, Key: key, Body: body }));
      versions.push([put.VersionId!, body]);
    }
    const source = `${src}/${javaUrlEncodeIgnoreSlashes(key)}`;
    await s3.send(new CopyObjectCommand({ Bucket: dst, Key: key, CopySource: source }));
    t.equal((await getBytes(s3, { Bucket: dst, Key: key })).toString(), versions[1]![1], `${key}: the latest`);
    for (const [versionId, body] of versions) {
      await s3.send(new CopyObjectCommand({ Bucket: dst, Key: key, CopySource: `${source}?versionId=${versionId}` }));
      t.equal((await getBytes(s3, { Bucket: dst, Key: key })).toString(), body, `${key}: version ${versionId}`);
    }
  }
});

// DeleteObjectsIntegrationTest: keys that look like XML or XML entities are echoed as given
t.test('DeleteObjects echoes keys with XML markup and entities', async (t) => {
  const bucket = await createBucket(s3, 'jdelobj');
  for (const key of ['<Key>objectId</Key>', '&lt;Key&gt;objectId&lt;/Key&gt;', '&lt;<']) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'contents' }));
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: key }] } }));
    t.equal(out.Deleted?.[0]?.Key, key, `${key}: echoed`);
    await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), 'NotFound', 404, `${key}: gone`);
  }
});

// EmptyQueryStringSignerIntegrationTest: a query parameter with an empty name signs and is served
// (signed by the JS SDK's own signer, which puts the parameter in its canonical query as "=foo" and "=")
t.test('ListBuckets with an empty-named query parameter', async (t) => {
  for (const value of ['foo', '']) {
    const cmd = new ListBucketsCommand({});
    cmd.middlewareStack.add((next) => async (args) => {
      (args.request as { query: Record<string, string> }).query[''] = value;
      return next(args);
    }, { step: 'build', name: 'emptyNamedQuery' });
    let sent: Record<string, string> = {};
    cmd.middlewareStack.add((next) => async (args) => {
      sent = { ...(args.request as { query: Record<string, string> }).query };
      return next(args);
    }, { step: 'finalizeRequest', priority: 'low', name: 'seeQuery' });
    const out = await s3.send(cmd);
    t.equal(sent[''], value, `?=${value}: the query sent`);
    t.ok(Array.isArray(out.Buckets), `?=${value}: served`);
  }
});

// ObjectTaggingIntegrationTest
t.test('tags from x-amz-tagging with spaces, @ and /; on uploads too', async (t) => {
  const bucket = await createBucket(s3, 'jtags');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const tags = [{ Key: 'foo', Value: 'bar @baz' }, { Key: 'foo bar', Value: 'baz' }, { Key: 'foo/bar', Value: 'baz' }];
  const tagging = tags.map((x) => `${encodeURIComponent(x.Key)}=${encodeURIComponent(x.Value)}`).join('&');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k1', Body: '', Tagging: tagging }));
  const got = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k1' }));
  t.same([...got.TagSet!].sort((a, b) => a.Key!.localeCompare(b.Key!)), [...tags].sort((a, b) => a.Key.localeCompare(b.Key)));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'k2', Tagging: 'foo=1&bar=2&baz=3' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'k2', UploadId: up.UploadId, PartNumber: 1, Body: 'z'.repeat(1000) }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'k2', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
  t.equal((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k2' }))).TagSet?.length, 3);
});

// S3ListObjectsV2IntegrationTest.testListNoParameters / testListWithMaxKeys: Prefix is there and empty, no EncodingType/Delimiter/StartAfter
t.test('ListObjectsV2 with no parameters: an empty Prefix, none of the others', async (t) => {
  const bucket = await createBucket(s3, 'jlv2');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'special-chars-@$%', Body: 'x' }));
  const res = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2' });
  const body = res.body.toString();
  t.match(body, /<Prefix><\/Prefix>|<Prefix\/>/, 'Prefix present and empty');
  for (const el of ['EncodingType', 'Delimiter', 'StartAfter', 'ContinuationToken', 'NextContinuationToken']) t.notMatch(body, `<${el}`, `no ${el}`);
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  t.match(out, { KeyCount: 1, Prefix: '', IsTruncated: false });
  t.ok(out.Contents?.[0]?.StorageClass, 'a storage class');
  t.equal(createHash('md5').update('x').digest('hex'), out.Contents?.[0]?.ETag?.replace(/"/g, ''));
});

// ListObjectsIntegrationTest.listObjectsNoParameters / listObjectsWithAllElements
t.test('ListObjects (v1): an empty Prefix unasked; with every element, each echoed so a decoder reads it back', async (t) => {
  const bucket = await createBucket(s3, 'jlv1');
  const special = 'special-chars-@$%';
  for (const key of ['aaaaa', 'aaaaa/aaaaa/aaaaa', 'aaaaa/aaaaa+a', 'aaaaa/aaaaa//aaaaa', special]) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
  const plain = (await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'max-keys=4' })).body.toString();
  t.match(plain, '<Prefix></Prefix>', 'Prefix present and empty');
  for (const el of ['EncodingType', 'Delimiter']) t.notMatch(plain, `<${el}`, `no ${el}`);
  t.match(plain, '<IsTruncated>true</IsTruncated>', 'max-keys 4 of 5: truncated');
  const all = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: `prefix=${encodeURIComponent(special)}&marker=aaa&encoding-type=url&delimiter=%2F` });
  const body = all.body.toString();
  const decode = (v: string): string => decodeURIComponent(v.replace(/\+/g, ' '));
  t.same({ prefix: decode(field(body, 'Prefix')[0]!), marker: field(body, 'Marker')[0], delimiter: field(body, 'Delimiter')[0], keys: field(body, 'Key').map(decode), truncated: field(body, 'IsTruncated')[0] },
    { prefix: special, marker: 'aaa', delimiter: '/', keys: [special], truncated: 'false' });
  const listed = await s3.send(new ListObjectsCommand({ Bucket: bucket, Delimiter: '/', Prefix: 'aaaaa/', EncodingType: 'url' }));
  t.same(listed.Contents?.map((c) => decode(c.Key!)), ['aaaaa/aaaaa+a'], 'a + in a key is encoded, not read back as a space');
});

// S3PresignerIntegrationTest.keysWithScaryCharactersWorks / keysWithDoubleBackslashWorks
t.test('presigned GETs of keys with every awkward character, and a double slash', async (t) => {
  const bucket = await createBucket(s3, 'jpresign');
  for (const key of ['a0A!-_.*\'()&@:,$=+?; \n\\^`<>{}[]#%"~|\u5c71/s3-presigner-it', 'key//image.pngs3-presigner-it']) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'Howdy!' }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
    const res = await fetch(url);
    t.equal(`${res.status} ${await res.text()}`, '200 Howdy!', JSON.stringify(key));
  }
});

// S3PresignerIntegrationTest.browserIncompatiblePresignedUrl* and deleteObject_PresignedHttpRequestCanBeInvokedDirectlyBySdk:
// a header the URL signs must be sent; sent, the GET reads and the DELETE answers 204 with no body
t.test('a presigned URL that signs x-amz-request-payer: refused without it, served with it', async (t) => {
  const bucket = await createBucket(s3, 'jpayer');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'Howdy!' }));
  const keep = { expiresIn: 300, unhoistableHeaders: new Set(['x-amz-request-payer']) };
  const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'k', RequestPayer: 'requester' }), keep);
  t.match(get, /X-Amz-SignedHeaders=host%3Bx-amz-request-payer/, 'the header is signed, not in the query');
  t.equal((await fetch(get)).status, 403, 'without the header: 403');
  const ok = await fetch(get, { headers: { 'x-amz-request-payer': 'requester' } });
  t.equal(`${ok.status} ${await ok.text()}`, '200 Howdy!', 'with it: the object');
  const del = await getSignedUrl(s3, new DeleteObjectCommand({ Bucket: bucket, Key: 'k', RequestPayer: 'requester' }), keep);
  const gone = await fetch(del, { method: 'DELETE', headers: { 'x-amz-request-payer': 'requester' } });
  t.equal(`${gone.status} ${(await gone.arrayBuffer()).byteLength}`, '204 0', 'DELETE: 204, no body');
});

// HttpChecksumIntegrationTest.syncValidSignedTrailerChecksumCalculatedBySdkClient(_Empty_String): the sync
// client over http signs every chunk and a CRC32 trailer; an empty body is one signed 0-chunk and the trailer
t.test('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: "Hello world" and an empty body, read back with their CRC32', async (t) => {
  const bucket = await createBucket(s3, 'jsigtrailer');
  for (const [key, text] of [['hello', 'Hello world'], ['empty', '']] as const) {
    const data = Buffer.from(text);
    const crc = crc32Base64(data);
    const chunks = data.length > 0 ? [data, Buffer.alloc(0)] : [Buffer.alloc(0)];
    const encode = (sigs: string[], trailerSig: string): Buffer => Buffer.concat([
      ...chunks.flatMap((c, i) => [Buffer.from(`${c.length.toString(16)};chunk-signature=${sigs[i]}\r\n`), ...(c.length > 0 ? [c, Buffer.from('\r\n')] : [])]),
      Buffer.from(`x-amz-checksum-crc32:${crc}\r\nx-amz-trailer-signature:${trailerSig}\r\n\r\n`),
    ]);
    const zero = '0'.repeat(64);
    const headers = {
      'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-sdk-checksum-algorithm': 'CRC32',
      'x-amz-decoded-content-length': String(data.length), 'content-length': String(encode(chunks.map(() => zero), zero).length),
    };
    const path = `/${bucket}/${key}`;
    const signed = buildHeaders(d.port, { method: 'PUT', path, headers, sign: { payloadHash: STREAMING_SIGNED_PAYLOAD_TRAILER } });
    const amzDate = signed['x-amz-date']!;
    const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const signingKey = deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3');
    let prev = /Signature=([0-9a-f]{64})/.exec(signed.authorization!)![1]!;
    const sigs = chunks.map((c) => (prev = signatureHex(signingKey, chunkStringToSign(amzDate, scope, prev, sha256Hex(c)))));
    const trailerSig = signatureHex(signingKey, trailerStringToSign(amzDate, scope, prev, `x-amz-checksum-crc32:${crc}\n`));
    const put = await raw(d.port, { method: 'PUT', path, headers: signed, body: encode(sigs, trailerSig), sign: false });
    t.equal(put.status, 200, `${key}: stored (${put.body.toString()})`);
    t.equal(put.headers['x-amz-checksum-crc32'], crc, `${key}: the trailer's CRC32 answered`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    t.equal(got.ChecksumCRC32, crc, `${key}: GET with checksum mode gives it back`);
    t.equal(Buffer.from(await got.Body!.transformToByteArray()).toString(), text, `${key}: the bytes`);
  }
});

// S3ClientMultiPartCopyIntegrationTest.copy_ssecServerSideEncryption_shouldSucceed / copy_specialCharacters_hasSameContent:
// the Java multipart client copies in UploadPartCopy ranges, from an SSE-C source to a new customer key, the
// copy source encoded as it encodes it
t.test('a multipart copy in ranges from an SSE-C source to a new key, with special characters', async (t) => {
  const s3 = (await startDaemonFor(t, { tls: true })).s3(); // SSE-C only over TLS
  const bucket = await createBucket(s3, 'jmpcopy');
  const source = 'original-special-chars-@$%';
  const dest = 'special-special-chars-@$%';
  const oldKey = ssec(randomBytes(32));
  const newKey = ssec(randomBytes(32));
  const body = testBytes(9 * 1024 * 1024 + 17, 5);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: source, Body: body, ...oldKey }));
  const copySource = `${bucket}/${javaUrlEncodeIgnoreSlashes(source)}`;
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: dest, ...newKey }));
  const half = 5 * 1024 * 1024;
  const parts = [];
  for (const [n, range] of [[1, `bytes=0-${half - 1}`], [2, `bytes=${half}-${body.length - 1}`]] as const) {
    const out = await s3.send(new UploadPartCopyCommand({
      Bucket: bucket, Key: dest, UploadId: up.UploadId, PartNumber: n, CopySource: copySource, CopySourceRange: range, ...newKey,
      CopySourceSSECustomerAlgorithm: oldKey.SSECustomerAlgorithm, CopySourceSSECustomerKey: oldKey.SSECustomerKey, CopySourceSSECustomerKeyMD5: oldKey.SSECustomerKeyMD5,
    }));
    parts.push({ PartNumber: n, ETag: out.CopyPartResult!.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: dest, UploadId: up.UploadId, MultipartUpload: { Parts: parts }, ...newKey }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: dest, ...newKey })).equals(body), 'the bytes, under the new key');
  const refused = await sdkFailure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: dest, ...oldKey })));
  t.equal(refused.status, 403, 'not under the old one');
});
