// Signature Version 2: AWS's published examples (RESTAuthentication, "Authentication examples"),
// the canonical-resource rules signers disagree on, and every error authenticate() answers for V2.
// Signatures in the examples are AWS's, not computed by the code under test.
import t from 'tap';
import { createHmac } from 'node:crypto';
import { S3Error } from '../../../../daemon/errors.js';
import { type AuthResult, type SigV4Request, authKind, authenticate } from '../../../../daemon/auth/sigv4.js';
import { SUBRESOURCES, canonicalResources, stringToSignV2 } from '../../../../daemon/auth/sigv2.js';
import { OPERATION_SUBRESOURCES } from '../../../../daemon/http/router.js';
import { requestQuery } from '../../../../daemon/http/request-head.js';
import { loadConfig } from '../../../../daemon/config.js';

const AKID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const creds = { lookup: (id: string): string | undefined => (id === AKID ? SECRET : undefined) };
const on = (now: string, virtualHostBucket?: string) => ({ region: 'us-east-1', now: new Date(now), sigV2: true, virtualHostBucket });

function req(method: string, rawPath: string, headers: Record<string, string>, rawQuery = ''): SigV4Request {
  return { method, rawPath, rawQuery, headers };
}

function codeOf(fn: () => AuthResult): string {
  try {
    fn();
    return 'no error';
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
}

/** The test's own V2 signer (HMAC-SHA1 of a string built here), for requests AWS has no example of. */
function sign(toSign: string, secret = SECRET): string {
  return createHmac('sha1', secret).update(toSign).digest('base64');
}

t.test("AWS's published Signature Version 2 examples authenticate", async (t) => {
  // Object GET, virtual-host style: the bucket from the Host header is part of the resource.
  const get = req('GET', '/photos/puppy.jpg', { host: 'awsexamplebucket1.us-west-1.s3.amazonaws.com', date: 'Tue, 27 Mar 2007 19:36:42 +0000', authorization: `AWS ${AKID}:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=` });
  t.equal(codeOf(() => authenticate(get, creds, on('2007-03-27T19:36:42Z', 'awsexamplebucket1'))), 'no error', 'object GET');
  const r = authenticate(get, creds, on('2007-03-27T19:36:42Z', 'awsexamplebucket1'));
  t.same([r.accessKeyId, r.payload, r.presigned], [AKID, { kind: 'unsigned' }, false], 'result: key id, unsigned payload, header auth');
  t.equal(codeOf(() => authenticate(get, creds, on('2007-03-27T19:36:42Z'))), 'SignatureDoesNotMatch', 'the same request path-style (bucket not in the resource) fails');

  // Object PUT: Content-Type is signed.
  const put = req('PUT', '/photos/puppy.jpg', { 'content-type': 'image/jpeg', 'content-length': '94328', host: 'awsexamplebucket1.s3.us-west-1.amazonaws.com', date: 'Tue, 27 Mar 2007 21:15:45 +0000', authorization: `AWS ${AKID}:iqRzw+ileNPu1fhspnRs8nOjjIA=` });
  t.equal(codeOf(() => authenticate(put, creds, on('2007-03-27T21:15:45Z', 'awsexamplebucket1'))), 'no error', 'object PUT');
  t.equal(codeOf(() => authenticate({ ...put, headers: { ...put.headers, 'content-type': 'image/png' } }, creds, on('2007-03-27T21:15:45Z', 'awsexamplebucket1'))), 'SignatureDoesNotMatch', 'another Content-Type');
  t.equal(codeOf(() => authenticate({ ...put, method: 'POST' }, creds, on('2007-03-27T21:15:45Z', 'awsexamplebucket1'))), 'SignatureDoesNotMatch', 'another method');

  // List: query parameters that are not sub-resources are not signed; the bucket resource ends in '/'.
  const list = req('GET', '/', { 'user-agent': 'Mozilla/5.0', host: 'awsexamplebucket1.s3.us-west-1.amazonaws.com', date: 'Tue, 27 Mar 2007 19:42:41 +0000', authorization: `AWS ${AKID}:m0WP8eCtspQl5Ahe6L1SozdX9YA=` }, 'prefix=photos&max-keys=50&marker=puppy');
  t.equal(codeOf(() => authenticate(list, creds, on('2007-03-27T19:42:41Z', 'awsexamplebucket1'))), 'no error', 'list with prefix, max-keys, marker');

  // A sub-resource is signed.
  const acl = req('GET', '/', { host: 'awsexamplebucket1.s3.us-west-1.amazonaws.com', date: 'Tue, 27 Mar 2007 19:44:46 +0000', authorization: `AWS ${AKID}:82ZHiFIjc+WbcwFKGUVEQspPn+0=` }, 'acl');
  t.equal(codeOf(() => authenticate(acl, creds, on('2007-03-27T19:44:46Z', 'awsexamplebucket1'))), 'no error', '?acl');
  t.equal(codeOf(() => authenticate({ ...acl, rawQuery: 'versioning' }, creds, on('2007-03-27T19:44:46Z', 'awsexamplebucket1'))), 'SignatureDoesNotMatch', 'a signature for ?acl does not cover ?versioning');

  // Upload with Content-MD5 and repeated, mixed-case x-amz-* headers (joined with ',').
  const upload = req('PUT', '/db-backup.dat.gz', {
    'user-agent': 'curl/7.15.5',
    host: 'static.example.com:8080',
    date: 'Tue, 27 Mar 2007 21:06:08 +0000',
    'x-amz-acl': 'public-read',
    'content-type': 'application/x-download',
    'content-md5': '4gJE4saaMU4BqNR0kLY+lw==',
    // Two X-Amz-Meta-ReviewedBy headers, joined as the server joins repeated headers.
    'x-amz-meta-reviewedby': 'joe@example.com,jane@example.com',
    'x-amz-meta-filechecksum': '0x02661779',
    'x-amz-meta-checksumalgorithm': 'crc32',
    'content-disposition': 'attachment; filename=database.dat',
    'content-encoding': 'gzip',
    'content-length': '5913339',
    authorization: `AWS ${AKID}:jtBQa0Aq+DkULFI8qrpwIjGEx0E=`,
  });
  t.equal(codeOf(() => authenticate(upload, creds, on('2007-03-27T21:06:08Z', 'static.example.com'))), 'no error', 'upload with Content-MD5 and x-amz-meta-*');
  t.equal(
    codeOf(() => authenticate({ ...upload, headers: { ...upload.headers, 'x-amz-meta-sneaky': '1' } }, creds, on('2007-03-27T21:06:08Z', 'static.example.com'))),
    'SignatureDoesNotMatch',
    'an x-amz-* header added after signing',
  );
  t.equal(
    codeOf(() => authenticate({ ...upload, headers: { ...upload.headers, 'content-md5': 'AAAAAAAAAAAAAAAAAAAAAA==' } }, creds, on('2007-03-27T21:06:08Z', 'static.example.com'))),
    'SignatureDoesNotMatch',
    'another Content-MD5',
  );

  // List all my buckets: the service root's resource is '/'.
  const buckets = req('GET', '/', { host: 's3.us-west-1.amazonaws.com', date: 'Wed, 28 Mar 2007 01:29:59 +0000', authorization: `AWS ${AKID}:qGdzdERIC03wnaRNKh6OqZehG9s=` });
  t.equal(codeOf(() => authenticate(buckets, creds, on('2007-03-28T01:29:59Z'))), 'no error', 'list all my buckets');
  // Unicode keys: the path is signed as sent, its escapes and their case included.
  const unicode = req('GET', '/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re', { host: 's3.us-west-1.amazonaws.com', date: 'Wed, 28 Mar 2007 01:49:49 +0000', authorization: `AWS ${AKID}:DNEZGsoieTZ92F3bUfSPQcbGmlM=` });
  t.equal(codeOf(() => authenticate(unicode, creds, on('2007-03-28T01:49:49Z'))), 'no error', 'unicode key, escapes signed as sent');
  t.equal(codeOf(() => authenticate({ ...unicode, rawPath: '/dictionary/fran%C3%A7ais/pr%C3%A9f%C3%A8re' }, creds, on('2007-03-28T01:49:49Z'))), 'SignatureDoesNotMatch', 'the same key with its escapes in upper case');
  // Delete with x-amz-date (the example of the guide's 2006-03-01 edition, bucket johnsmith; the
  // current edition's signature puts x-amz-date's value on the Date line instead, which its own
  // text says not to do): the Date line is empty and x-amz-date is a signed header.
  const del = req('DELETE', '/johnsmith/photos/puppy.jpg', { 'user-agent': 'dotnet', host: 's3.amazonaws.com', date: 'Tue, 27 Mar 2007 21:20:27 +0000', 'x-amz-date': 'Tue, 27 Mar 2007 21:20:26 +0000', authorization: `AWS ${AKID}:R4dJ53KECjStyBO5iTBJZ4XVOaI=` });
  t.equal(codeOf(() => authenticate(del, creds, on('2007-03-27T21:20:26Z'))), 'no error', 'DELETE with x-amz-date');
  t.equal(codeOf(() => authenticate({ ...del, headers: { ...del.headers, 'x-amz-date': 'Tue, 27 Mar 2007 21:20:25 +0000' } }, creds, on('2007-03-27T21:20:26Z'))), 'SignatureDoesNotMatch', 'another x-amz-date');
  // Query string authentication (the same edition's bucket, johnsmith, virtual-host style).
  const presigned = req('GET', '/photos/puppy.jpg', { host: 'johnsmith.s3.amazonaws.com' }, `AWSAccessKeyId=${AKID}&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620`);
  t.equal(codeOf(() => authenticate(presigned, creds, on('2007-03-27T19:36:42Z', 'johnsmith'))), 'no error', 'presigned GET');
  t.equal(codeOf(() => authenticate(presigned, creds, on('2007-03-29T03:40:21Z', 'johnsmith'))), 'AccessDenied', 'the same URL a second after it expires');
  t.equal(codeOf(() => authenticate({ ...presigned, rawQuery: presigned.rawQuery.replace('1175139620', '1175139621') }, creds, on('2007-03-27T19:36:42Z', 'johnsmith'))), 'SignatureDoesNotMatch', 'its Expires moved');
});

t.test('canonical resource: bucket slash, sub-resource lists, decoded values', async (t) => {
  t.same(canonicalResources('/bucket', '', undefined), ['/bucket/', '/bucket'], 'a bucket path is tried with the slash first');
  t.same(canonicalResources('/bucket/key%20a', 'uploads', undefined), ['/bucket/key%20a?uploads'], 'object path as sent; a value-less sub-resource');
  // The router decodes parameter names (URLSearchParams): so does the canonical resource.
  t.same(canonicalResources('/bucket/k', '%74agging', undefined), ['/bucket/k?tagging'], 'a percent-encoded sub-resource name is that sub-resource');
  t.same(canonicalResources('/bucket/k', '%76ersion%49d=abc&x=1', undefined), ['/bucket/k?versionId=abc'], 'and with a value');
  t.same(canonicalResources('/bucket/k', 'response-content-typ%65=a%2Fb', undefined), ['/bucket/k?response-content-type=a/b'], 'encoded anywhere in the name');
  // uWS hands the query over from the first '?': server.ts drops any more that start it
  // (requestQuery) before the router and this reader see it. `/b/k??tagging` is GetObjectTagging,
  // and its resource was `/b/k` when this reader kept the '?'.
  t.same(canonicalResources('/b/k', requestQuery('?tagging'), undefined), ['/b/k?tagging'], 'a query starting with "?" is read without it, as the router reads it');
  t.same(canonicalResources('/b/k', requestQuery('??versionId=v&x=1'), undefined), ['/b/k?versionId=v'], 'with a value too, after any number of "?"');
  t.same(canonicalResources('/b/k', requestQuery('x=1&?%74agging'), undefined), ['/b/k'], 'a "?" inside the query stays part of the name (the router reads `?tagging`)');
  t.same(canonicalResources('/bucket/k', 'uploadId=abc&partNumber=2&x-id=UploadPart', undefined), ['/bucket/k?partNumber=2&uploadId=abc'], 'sorted by name, other parameters dropped');
  t.same(canonicalResources('/bucket/k', 'uploads=', undefined), ['/bucket/k?uploads=', '/bucket/k?uploads'], 'an empty value is tried as sent and without = (rclone signs ?uploads, sends ?uploads=)');
  t.same(canonicalResources('/bucket', 'versioning=&x=1', undefined), ['/bucket/?versioning=', '/bucket/?versioning', '/bucket?versioning=', '/bucket?versioning'], 'on a bucket too');
  t.same(
    canonicalResources('/bucket/k', 'response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22', undefined),
    ['/bucket/k?response-content-disposition=attachment; filename="a b.txt"'],
    'response-* values are signed decoded',
  );
  // A value is signed as the router reads it (URLSearchParams: `+` is a space, `%2B` a plus), as
  // MinIO (url.QueryUnescape) and S3 read it. Signed with its `+` kept, `image%2Fsvg%2Bxml` could
  // be sent as `image%2Fsvg+xml` under the same signature and answer `Content-Type: image/svg xml`;
  // and a client that writes a space as `+` (Go's url.Values.Encode) and signs the space failed.
  t.same(canonicalResources('/b/k', 'response-content-type=image%2Fsvg+xml', undefined), ['/b/k?response-content-type=image/svg xml'], 'a + in a value is a space');
  t.same(canonicalResources('/b/k', 'response-content-type=image%2Fsvg%2Bxml', undefined), ['/b/k?response-content-type=image/svg+xml'], '%2B is a plus');
  t.same(canonicalResources('/', 'tagging', 'bk'), ['/bk/?tagging'], 'every sub-resource is signed: a signature without ?tagging is not tried');
  t.same(canonicalResources('/b/k', 'retention&legal-hold&x=1', undefined), ['/b/k?legal-hold&retention'], 'retention and legal-hold are signed (x is not a sub-resource)');
  // On a key the signature without ?retention is also a PutObject of the XML, so it is signed there
  // (as MinIO signs it), even where botocore leaves it out; a bucket's ?encryption may be left out.
  t.same(canonicalResources('/b/k', 'retention&x=1', undefined, true), ['/b/k?retention'], 'a body-bound PUT to a key must sign ?retention');
  t.same(canonicalResources('/b/k', 'legal-hold', undefined, true), ['/b/k?legal-hold'], 'and ?legal-hold');
  t.same(canonicalResources('/b/k', 'encryption', undefined, true), ['/b/k?encryption'], 'and a key\u2019s ?encryption');
  t.same(canonicalResources('/b/', 'encryption', undefined, true), ['/b/?encryption', '/b/'], 'a body-bound PUT to a bucket may leave out ?encryption, as botocore does');
  t.same(canonicalResources('/b/k', 'tagging', undefined, true), ['/b/k?tagging'], 'but never ?tagging');
  t.same(canonicalResources('/b', 'object-lock', undefined, true), ['/b/?object-lock', '/b/', '/b?object-lock', '/b'], 'a body-bound PUT may leave out ?object-lock, as aws-sdk-js v2 does');
  t.same(canonicalResources('/b', 'object-lock', undefined), ['/b/?object-lock', '/b?object-lock'], 'a read must sign it');
  t.same(canonicalResources('/b', 'events=s3:ObjectCreated:*', undefined), ['/b/?events=s3:ObjectCreated:*', '/b?events=s3:ObjectCreated:*'], 'MinIO\u2019s ?events is signed');
  t.same(canonicalResources('/', '', 'bk'), ['/bk/'], 'virtual-host bucket root');
  // Every sub-resource the router chooses an operation by is signed: the list missed
  // ownershipControls, publicAccessBlock, policyStatus and attributes, so a presigned listing
  // plus `&ownershipControls` ran GetBucketOwnershipControls.
  t.same(OPERATION_SUBRESOURCES.filter((n) => !SUBRESOURCES.has(n)), [], 'the router\'s operation sub-resources are all V2 sub-resources');
  t.same(canonicalResources('/b', 'ownershipControls', undefined), ['/b/?ownershipControls', '/b?ownershipControls'], '?ownershipControls is signed');
  t.same(canonicalResources('/b/k', 'attributes', undefined), ['/b/k?attributes'], '?attributes is signed');
  const toSign = stringToSignV2(req('DELETE', '/b/k', { 'x-amz-date': 'Tue, 27 Mar 2007 21:20:26 +0000', 'x-amz-z': ' v ', 'x-amz-a': 'a1,a2' }), '', '/b/k');
  t.equal(toSign, 'DELETE\n\n\n\nx-amz-a:a1,a2\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\nx-amz-z:v\n/b/k', 'x-amz-* headers sorted, values trimmed, commas inside a value kept');
});

t.test('header authentication rules and errors', async (t) => {
  const date = 'Mon, 30 Nov 2026 12:00:00 GMT';
  const now = on('2026-11-30T12:00:00Z');
  const signed = (headers: Record<string, string>, toSign: string, method = 'GET', path = '/bucket/key', query = ''): SigV4Request =>
    req(method, path, { ...headers, authorization: `AWS ${AKID}:${sign(toSign)}` }, query);

  t.equal(codeOf(() => authenticate(signed({ date }, `GET\n\n\n${date}\n/bucket/key`), creds, now)), 'no error', 'path-style object GET');
  t.equal(codeOf(() => authenticate(signed({ date }, `GET\n\n\n${date}\n/bucket`, 'GET', '/bucket'), creds, now)), 'no error', 'bucket signed exactly as sent (no slash)');
  t.equal(codeOf(() => authenticate(signed({ date }, `GET\n\n\n${date}\n/bucket/`, 'GET', '/bucket'), creds, now)), 'no error', 'bucket signed with the slash');
  // With x-amz-date, the Date line is empty and the time comes from x-amz-date.
  const amz = { date: 'Thu, 01 Jan 1970 00:00:00 GMT', 'x-amz-date': date };
  t.equal(codeOf(() => authenticate(signed(amz, `GET\n\n\n\nx-amz-date:${date}\n/bucket/key`), creds, now)), 'no error', 'x-amz-date: empty Date line, x-amz-date wins the clock check');
  t.equal(codeOf(() => authenticate(signed(amz, `GET\n\n\n${amz.date}\nx-amz-date:${date}\n/bucket/key`), creds, now)), 'SignatureDoesNotMatch', 'x-amz-date present: a signed Date line is not accepted');
  t.equal(codeOf(() => authenticate(signed({ 'x-amz-date': '20261130T120000Z' }, `GET\n\n\n\nx-amz-date:20261130T120000Z\n/bucket/key`), creds, now)), 'no error', 'ISO 8601 basic x-amz-date');

  t.equal(codeOf(() => authenticate(signed({ date }, `GET\n\n\n${date}\n/bucket/key`), creds, on('2026-11-30T12:16:00Z'))), 'RequestTimeTooSkewed', '16 min later');
  t.equal(codeOf(() => authenticate(signed({ date }, `GET\n\n\n${date}\n/bucket/key`), creds, on('2026-11-30T11:44:00Z'))), 'RequestTimeTooSkewed', '16 min earlier');
  t.equal(codeOf(() => authenticate(signed({}, `GET\n\n\n\n/bucket/key`), creds, now)), 'AccessDenied', 'no Date nor x-amz-date');
  t.equal(codeOf(() => authenticate(signed({ date: 'yesterday' }, `GET\n\n\nyesterday\n/bucket/key`), creds, now)), 'AccessDenied', 'unparseable Date');
  // Date.parse read this as a date in 2001: RequestTimeTooSkewed instead of AccessDenied.
  t.equal(codeOf(() => authenticate(signed({ date: 'hello 12' }, `GET\n\n\nhello 12\n/bucket/key`), creds, now)), 'AccessDenied', 'a Date that is no HTTP date');
  // asctime is UTC (RFC 9110); Date.parse read it in the server's time zone.
  const savedTz = process.env.TZ;
  process.env.TZ = 'America/New_York';
  try {
    const asc = 'Mon Nov 30 12:00:00 2026';
    t.equal(codeOf(() => authenticate(signed({ date: asc }, `GET\n\n\n${asc}\n/bucket/key`), creds, now)), 'no error', 'an asctime Date on a server in New York');
    const rfc850 = 'Monday, 30-Nov-26 12:00:00 GMT';
    t.equal(codeOf(() => authenticate(signed({ date: rfc850 }, `GET\n\n\n${rfc850}\n/bucket/key`), creds, now)), 'no error', 'an RFC 850 Date');
    // Go's time.RFC1123 of a time in a US zone writes the zone's name, as RFC 5322 allows.
    const est = 'Mon, 30 Nov 2026 07:00:00 EST';
    t.equal(codeOf(() => authenticate(signed({ date: est }, `GET\n\n\n${est}\n/bucket/key`), creds, now)), 'no error', 'a Date in EST');
  } finally {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  }
  t.equal(codeOf(() => authenticate(req('GET', '/bucket/key', { date, authorization: `AWS AKIDUNKNOWN:${sign(`GET\n\n\n${date}\n/bucket/key`)}` }), creds, now)), 'InvalidAccessKeyId', 'unknown key');
  t.equal(codeOf(() => authenticate(req('GET', '/bucket/key', { date, authorization: `AWS ${AKID}:${sign(`GET\n\n\n${date}\n/bucket/key`, 'other')}` }), creds, now)), 'SignatureDoesNotMatch', 'wrong secret');
  // The elements S3 adds: what the server signed, and the clock it judged by.
  const fieldsOf = (fn: () => AuthResult): Readonly<Record<string, string>> => {
    try {
      fn();
    } catch (err) {
      if (err instanceof S3Error) return err.fields;
    }
    return {};
  };
  const wrongSig = sign(`GET\n\n\n${date}\n/bucket/key`, 'other');
  t.same(fieldsOf(() => authenticate(req('GET', '/bucket/key', { date, authorization: `AWS ${AKID}:${wrongSig}` }), creds, now)), { AWSAccessKeyId: AKID, StringToSign: `GET\n\n\n${date}\n/bucket/key`, SignatureProvided: wrongSig, StringToSignBytes: Buffer.from(`GET\n\n\n${date}\n/bucket/key`).toString('hex').match(/../g)!.join(' ') }, 'SignatureDoesNotMatch names the string to sign, and its bytes as S3 does');
  t.same(fieldsOf(() => authenticate(signed({ date }, `GET\n\n\n${date}\n/bucket/key`), creds, on('2026-11-30T12:16:00Z'))), { RequestTime: date, ServerTime: '2026-11-30T12:16:00Z', MaxAllowedSkewMilliseconds: '900000' }, 'RequestTimeTooSkewed names both times');
  for (const bad of [`AWS ${AKID}`, `AWS ${AKID}:`, `AWS ${AKID}:c2ln:c2ln`, 'AWS ', 'AWS HAHAHA']) {
    t.equal(codeOf(() => authenticate(req('GET', '/bucket/key', { date, authorization: bad }), creds, now)), 'InvalidArgument', `malformed: "${bad}" (S3: InvalidArgument, ArgumentName Authorization)`);
  }
  // An empty key id is no format error on S3 (2026-09-29): it is looked up, after the date.
  t.equal(codeOf(() => authenticate(req('GET', '/bucket/key', { date, authorization: 'AWS :c2ln' }), creds, now)), 'InvalidAccessKeyId', 'an empty key id');
  // A STREAMING-* mode means nothing under V2: it is a hash the body has to match (S3's answer,
  // OpenStack Swift's AWS-run tests), so is any other value but UNSIGNED-PAYLOAD.
  const chunked = signed({ date, 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' }, `PUT\n\n\n${date}\nx-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD\n/bucket/key`, 'PUT');
  t.same(authenticate(chunked, creds, now).payload, { kind: 'sha256', expectedHex: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' }, 'streaming payload with V2: a literal hash');
  const hashed = signed({ date, 'x-amz-content-sha256': 'a'.repeat(64) }, `PUT\n\n\n${date}\nx-amz-content-sha256:${'a'.repeat(64)}\n/bucket/key`, 'PUT');
  t.same(authenticate(hashed, creds, now).payload, { kind: 'sha256', expectedHex: 'a'.repeat(64) }, 'a declared SHA-256 is still checked against the body');
  // Off (S3_SIGV2=off): the V4-only answer.
  t.equal(codeOf(() => authenticate(signed({ date }, `GET\n\n\n${date}\n/bucket/key`), creds, { region: 'us-east-1', now: new Date('2026-11-30T12:00:00Z') })), 'InvalidSignatureTypeError', 'disabled');
});

t.test('presigned (query) authentication', async (t) => {
  const expires = String(Date.UTC(2026, 10, 30, 13) / 1000);
  const now = on('2026-11-30T12:00:00Z');
  const url = (toSign: string, extra = '', id = AKID): string => `AWSAccessKeyId=${id}&Expires=${expires}&Signature=${encodeURIComponent(sign(toSign))}${extra}`;
  const get = (query: string, method = 'GET', headers: Record<string, string> = {}): SigV4Request => req(method, '/bucket/key', headers, query);

  t.equal(codeOf(() => authenticate(get(url(`GET\n\n\n${expires}\n/bucket/key`)), creds, now)), 'no error', 'presigned GET');
  const r = authenticate(get(url(`GET\n\n\n${expires}\n/bucket/key`)), creds, now);
  t.same([r.accessKeyId, r.presigned], [AKID, true], 'result');
  t.equal(authKind(get(url(`GET\n\n\n${expires}\n/bucket/key`))), 'presigned', 'authKind sees V2 query auth');
  t.equal(codeOf(() => authenticate(get(url(`GET\n\n\n${expires}\n/bucket/key`), 'PUT'), creds, now)), 'SignatureDoesNotMatch', 'used with another method');
  const withPlus = (() => {
    for (let i = 0; ; i++) {
      const sig = sign(`GET\n\n\n${expires}\n/bucket/key${i}`);
      if (sig.includes('+')) return { key: `key${i}`, sig };
    }
  })();
  const rawPlus = `AWSAccessKeyId=${AKID}&Expires=${expires}&Signature=${withPlus.sig.replace(/\//g, '%2F').replace(/=/g, '%3D')}`;
  t.equal(codeOf(() => authenticate(req('GET', `/bucket/${withPlus.key}`, {}, rawPlus), creds, now)), 'no error', "a signature whose '+' the client left unescaped");
  t.equal(codeOf(() => authenticate(get(url(`PUT\n\ntext/plain\n${expires}\n/bucket/key`), 'PUT', { 'content-type': 'text/plain' }), creds, now)), 'no error', 'presigned PUT with its Content-Type');
  t.equal(codeOf(() => authenticate(get(url(`PUT\n\ntext/plain\n${expires}\n/bucket/key`), 'PUT', { 'content-type': 'image/png' }), creds, now)), 'SignatureDoesNotMatch', 'sent with another Content-Type');
  t.equal(
    codeOf(() => authenticate(get(url(`GET\n\n\n${expires}\n/bucket/key?response-content-type=text/html`, '&response-content-type=text%2Fhtml')), creds, now)),
    'no error',
    'a signed response-* override',
  );
  t.equal(codeOf(() => authenticate(get(url(`GET\n\n\n${expires}\n/bucket/key`, '&response-content-type=text%2Fhtml')), creds, now)), 'SignatureDoesNotMatch', 'an override added to the URL');
  const svg = url(`GET\n\n\n${expires}\n/bucket/key?response-content-type=image/svg+xml`);
  t.equal(codeOf(() => authenticate(get(`${svg}&response-content-type=image%2Fsvg%2Bxml`), creds, now)), 'no error', 'an override with %2B, signed with its plus');
  t.equal(codeOf(() => authenticate(get(`${svg}&response-content-type=image%2Fsvg+xml`), creds, now)), 'SignatureDoesNotMatch', 'the same URL with the plus sent as +, which the router reads as a space');
  t.equal(
    codeOf(() => authenticate(get(`${url(`GET\n\n\n${expires}\n/bucket/key?response-content-disposition=attachment; filename=a b.txt`)}&response-content-disposition=attachment%3B+filename%3Da+b.txt`), creds, now)),
    'no error',
    'an override whose spaces the client wrote as + (Go\u2019s url.Values.Encode) and signed as spaces',
  );
  t.equal(codeOf(() => authenticate(get(url(`GET\n\n\n${expires}\n/bucket/key`)), creds, on('2026-11-30T13:00:01Z'))), 'AccessDenied', 'expired');
  t.equal(codeOf(() => authenticate(get(`AWSAccessKeyId=${AKID}&Signature=abc`), creds, now)), 'AccessDenied', 'no Expires: AccessDenied, as S3 answers (LocalStack recorded it)');
  t.equal(codeOf(() => authenticate(get(`AWSAccessKeyId=${AKID}&Expires=soon&Signature=abc`), creds, now)), 'AccessDenied', 'Expires not a number: 403, as S3 answers');
  t.equal(codeOf(() => authenticate(get(`AWSAccessKeyId=${AKID}&Expires=${Date.now() + 60_000}&Signature=abc`), creds, now)), 'AccessDenied', 'Expires in milliseconds: 403 (Invalid date)');
  t.equal(codeOf(() => authenticate(get(url(`GET\n\n\n${expires}\n/bucket/key`, `&Expires=${expires}`)), creds, now)), 'AuthorizationQueryParametersError', 'Expires twice');
  t.equal(codeOf(() => authenticate(get(url(`GET\n\n\n${expires}\n/bucket/key`, '', 'AKIDUNKNOWN')), creds, now)), 'InvalidAccessKeyId', 'unknown key');
  t.equal(codeOf(() => authenticate(get(url(`GET\n\n\n${expires}\n/bucket/key`), 'GET', { authorization: 'AWS x:y' }), creds, now)), 'InvalidArgument', 'query and header auth together');
  t.equal(codeOf(() => authenticate(get(url(`GET\n\n\n${expires}\n/bucket/key`)), creds, { region: 'us-east-1', now: new Date('2026-11-30T12:00:00Z') })), 'InvalidSignatureTypeError', 'disabled');
});

t.test('S3_SIGV2: on by default, off on request, anything else refused at start-up', async (t) => {
  const cli = { dataDir: '/tmp/s3d-config-test', dev: true };
  t.equal(loadConfig(cli, {}).sigV2, true, 'default on');
  t.equal(loadConfig(cli, { S3_SIGV2: 'off' }).sigV2, false, 'off');
  t.equal(loadConfig(cli, { S3_SIGV2: 'on' }).sigV2, true, 'on');
  t.throws(() => loadConfig(cli, { S3_SIGV2: 'maybe' }), /S3_SIGV2/, 'a bad value names the variable');
});
