// What S3 puts in an answer besides the error code, which clients act on and their users read.
// Found by a sweep of S3's error responses against s3d's:
//   - a HEAD signed for another region (a client left on eu-west-1) got 400 without
//     x-amz-bucket-region, so botocore (aws CLI, boto3) and the JavaScript SDK's
//     followRegionRedirects could not re-sign it: `aws s3 cp s3://b/k .` failed with "Bad Request";
//   - a 416 lacked ActualObjectSize, which the AWS CRT's downloaders read to tell an empty object;
//   - errors lacked the elements naming what they are about (Key, BucketName, VersionId, UploadId),
//     the signature details (StringToSign, CanonicalRequest, …), the clock-skew and expiry times;
//   - no response carried x-amz-id-2 / <HostId> (boto3's ResponseMetadata.HostId was empty).
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, startDaemon } from '../helpers/daemon.js';
import { NO_AWS, awsCli } from '../helpers/aws-cli.js';
import { buildHeaders, raw, xmlField, type RawResponse } from '../helpers/http.js';
import { PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';
import { createBucket } from '../helpers/s3.js';

const d = await startDaemon();
t.teardown(async () => {
  await d.stop();
  d.cleanup();
});
const s3 = d.s3();
const bucket = await createBucket(s3, 'errdetail');
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: 'hello' }));
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty', Body: '' }));
const home = mkdtempSync(join(tmpdir(), 's3d-errdetail-'));
t.teardown(() => rmSync(home, { recursive: true, force: true }));

/** Every answer, success or error, names the host as S3 does; an error's <HostId> is the same. */
function hostIdOf(t: Test, res: RawResponse, what: string): void {
  t.match(res.headers['x-amz-id-2'], /^[0-9a-f]{64}$/, `${what}: x-amz-id-2`);
  if (res.status >= 400 && res.body.length > 0) t.equal(xmlField(res.body, 'HostId'), res.headers['x-amz-id-2'], `${what}: <HostId> is x-amz-id-2`);
}

t.test('a request signed for another region names the right one, in a header too (HEAD has no body)', async (t) => {
  for (const [method, path] of [
    ['HEAD', `/${bucket}`],
    ['HEAD', `/${bucket}/obj`],
    ['GET', `/${bucket}/obj`],
  ] as const) {
    const res = await raw(d.port, { method, path, sign: { region: 'eu-west-1' } });
    t.equal(res.status, 400, `${method} ${path}: 400`);
    t.equal(res.headers['x-amz-bucket-region'], REGION, `${method} ${path}: x-amz-bucket-region names ${REGION}`);
    if (method === 'GET') t.equal(xmlField(res.body, 'Region'), REGION, 'and the body <Region>');
    hostIdOf(t, res, `${method} ${path}`);
  }
  // The JavaScript SDK re-signs a HeadBucket for the region the header names (other 400s it
  // follows only as 301s, which S3 sends from another region's endpoint).
  const lost = new S3Client({ endpoint: d.endpoint, region: 'eu-west-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, followRegionRedirects: true });
  t.teardown(() => lost.destroy());
  t.equal((await lost.send(new HeadBucketCommand({ Bucket: bucket }))).$metadata.httpStatusCode, 200, 'JS SDK (followRegionRedirects): HeadBucket from eu-west-1 succeeds');
});

t.test('the aws CLI left on another region still reads and heads', { skip: NO_AWS }, async (t) => {
  const aws = awsCli(d.endpoint, home, { pathStyle: true, global: ['--region', 'eu-west-1'] });
  t.match(await aws.ok('s3api', 'head-object', '--bucket', bucket, '--key', 'obj'), /"ContentLength": 5/, 'head-object');
  await aws.ok('s3api', 'head-bucket', '--bucket', bucket);
  t.equal(await aws.ok('s3', 'cp', `s3://${bucket}/obj`, '-'), 'hello', 's3 cp to stdout (a HEAD first)');
});

t.test('416 says the object size and the range asked for (ActualObjectSize 0: an empty object)', async (t) => {
  for (const [key, range, size] of [
    ['empty', 'bytes=0-8388607', '0'],
    ['obj', 'bytes=10-20', '5'],
    ['obj', 'bytes=-0', '5'],
  ] as const) {
    const res = await raw(d.port, { method: 'GET', path: `/${bucket}/${key}`, headers: { range } });
    t.equal(res.status, 416, `${key} ${range}: 416`);
    t.equal(res.headers['content-range'], `bytes */${size}`, 'Content-Range');
    t.equal(xmlField(res.body, 'ActualObjectSize'), size, `ActualObjectSize ${size}`);
    t.equal(xmlField(res.body, 'RangeRequested'), range, 'RangeRequested');
  }
});

t.test('errors name the bucket, key, version or upload they are about', async (t) => {
  const cases: Array<[string, Promise<RawResponse>, string, Record<string, string>]> = [
    ['GET of a missing key', raw(d.port, { method: 'GET', path: `/${bucket}/no%20such` }), 'NoSuchKey', { Key: 'no such' }],
    ['GET in a missing bucket', raw(d.port, { method: 'GET', path: '/nosuchbucket-x/k' }), 'NoSuchBucket', { BucketName: 'nosuchbucket-x' }],
    ['ListParts of a missing upload', raw(d.port, { method: 'GET', path: `/${bucket}/obj`, query: 'uploadId=bogus-upload' }), 'NoSuchUpload', { UploadId: 'bogus-upload' }],
    ['DeleteBucket of a bucket with objects', raw(d.port, { method: 'DELETE', path: `/${bucket}` }), 'BucketNotEmpty', { BucketName: bucket }],
    ['CreateBucket of an owned bucket asking for Object Lock', raw(d.port, { method: 'PUT', path: `/${bucket}`, headers: { 'x-amz-bucket-object-lock-enabled': 'true' } }), 'BucketAlreadyOwnedByYou', { BucketName: bucket }],
    // A copy's missing source: the source's key, not the destination's.
    ['CopyObject of a missing source', raw(d.port, { method: 'PUT', path: `/${bucket}/dest`, headers: { 'x-amz-copy-source': `/${bucket}/missing-source` } }), 'NoSuchKey', { Key: 'missing-source' }],
  ];
  for (const [what, p, code, fields] of cases) {
    const res = await p;
    t.equal(xmlField(res.body, 'Code'), code, `${what}: ${code}`);
    for (const [name, value] of Object.entries(fields)) t.equal(xmlField(res.body, name), value, `${what}: <${name}>${value}`);
    hostIdOf(t, res, what);
  }
  // A version deleted for good.
  const vb = await createBucket(s3, 'errver');
  await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: 'Enabled' } }));
  const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: 'v1' }));
  await s3.send(new DeleteObjectCommand({ Bucket: vb, Key: 'k', VersionId }));
  const gone = await raw(d.port, { method: 'GET', path: `/${vb}/k`, query: `versionId=${VersionId!}` });
  t.equal(xmlField(gone.body, 'Code'), 'NoSuchVersion');
  t.equal(xmlField(gone.body, 'Key'), 'k', 'NoSuchVersion: <Key>');
  t.equal(xmlField(gone.body, 'VersionId'), VersionId, 'NoSuchVersion: <VersionId>');
  // Nothing was made by the failed copy.
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/dest` })).status, 404, 'the failed copy stored nothing');
});

t.test('authentication errors carry what S3 says about them', async (t) => {
  const sent = buildHeaders(d.port, { method: 'GET', path: `/${bucket}/obj`, sign: { secretAccessKey: 'not-the-secret' } });
  const wrong = await raw(d.port, { method: 'GET', path: `/${bucket}/obj`, headers: sent, sign: false });
  t.equal(xmlField(wrong.body, 'Code'), 'SignatureDoesNotMatch');
  t.equal(xmlField(wrong.body, 'AWSAccessKeyId'), ACCESS_KEY, '<AWSAccessKeyId>');
  t.equal(xmlField(wrong.body, 'SignatureProvided'), /Signature=([0-9a-f]{64})/.exec(sent.authorization ?? '')?.[1], '<SignatureProvided> is the signature sent');
  const decode = (s: string | undefined): string => (s ?? '').replace(/&#xA;|&#10;/g, '\n').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"');
  const canonical = decode(/<CanonicalRequest>([\s\S]*?)<\/CanonicalRequest>/.exec(wrong.body.toString())?.[1]);
  const toSign = decode(/<StringToSign>([\s\S]*?)<\/StringToSign>/.exec(wrong.body.toString())?.[1]);
  t.match(canonical, new RegExp(`^GET\\n/${bucket}/obj\\n\\n`), '<CanonicalRequest> is the request the server signed');
  t.match(toSign, /^AWS4-HMAC-SHA256\n\d{8}T\d{6}Z\n\d{8}\/us-east-1\/s3\/aws4_request\n[0-9a-f]{64}$/, '<StringToSign>');
  t.equal(toSign.split('\n')[3], createHash('sha256').update(canonical).digest('hex'), 'whose last line is the hash of <CanonicalRequest>');
  // S3 adds both texts' UTF-8 bytes in hex, space-separated.
  const hex = (s: string): string => Buffer.from(s).toString('hex').match(/../g)!.join(' ');
  t.equal(xmlField(wrong.body, 'StringToSignBytes'), hex(toSign), '<StringToSignBytes>');
  t.equal(xmlField(wrong.body, 'CanonicalRequestBytes'), hex(canonical), '<CanonicalRequestBytes>');

  const unknown = await raw(d.port, { method: 'GET', path: `/${bucket}/obj`, sign: { accessKeyId: 'nobody-here' } });
  t.equal(xmlField(unknown.body, 'Code'), 'InvalidAccessKeyId');
  t.equal(xmlField(unknown.body, 'AWSAccessKeyId'), 'nobody-here', 'InvalidAccessKeyId: <AWSAccessKeyId>');

  const then = new Date(Date.now() - 3_600_000);
  const skewed = await raw(d.port, { method: 'GET', path: `/${bucket}/obj`, sign: { now: then } });
  t.equal(xmlField(skewed.body, 'Code'), 'RequestTimeTooSkewed');
  t.equal(xmlField(skewed.body, 'RequestTime'), then.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''), '<RequestTime> as sent');
  t.ok(Math.abs(Date.parse(xmlField(skewed.body, 'ServerTime') ?? '') - Date.now()) < 60_000, '<ServerTime> is now');
  // S3 writes its times to the second (`2025-09-03T16:21:50Z`), with no milliseconds.
  const toTheSecond = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
  t.match(xmlField(skewed.body, 'ServerTime'), toTheSecond, '<ServerTime> to the second, as S3 writes it');
  t.equal(xmlField(skewed.body, 'MaxAllowedSkewMilliseconds'), '900000', '<MaxAllowedSkewMilliseconds>');

  const signedAt = new Date(Date.now() - 120_000);
  const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'obj' }), { expiresIn: 60, signingDate: signedAt });
  const expired = await fetch(url);
  const body = await expired.text();
  t.equal(expired.status, 403, 'an expired presigned URL: 403');
  t.equal(xmlField(body, 'Message'), 'Request has expired');
  t.equal(xmlField(body, 'X-Amz-Expires'), '60', '<X-Amz-Expires>');
  t.equal(Date.parse(xmlField(body, 'Expires') ?? ''), Math.floor(signedAt.getTime() / 1000) * 1000 + 60_000, '<Expires> is when it expired');
  t.ok(Math.abs(Date.parse(xmlField(body, 'ServerTime') ?? '') - Date.now()) < 60_000, '<ServerTime>');
  t.match(xmlField(body, 'Expires'), toTheSecond, '<Expires> to the second');
  t.match(xmlField(body, 'ServerTime'), toTheSecond, '<ServerTime> to the second');
});

t.test('successes name the host too', async (t) => {
  hostIdOf(t, await raw(d.port, { method: 'GET', path: `/${bucket}/obj` }), 'GET');
  hostIdOf(t, await raw(d.port, { method: 'HEAD', path: `/${bucket}/missing` }), 'HEAD 404');
  const copied = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/obj` }));
  t.match(copied.$metadata.extendedRequestId, /^[0-9a-f]{64}$/, "the JS SDK's extendedRequestId");
});

const pyEnv = pythonEnv(home, { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY });
t.test('boto3 sees the fields, and follows a wrong region on HEAD', { skip: noBoto3(pyEnv) }, async (t) => {
  const script = `
import json, sys, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
endpoint, bucket = sys.argv[1], sys.argv[2]
cfg = Config(s3={'addressing_style': 'path'})
s3 = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1', config=cfg)
out = {}
try:
    s3.get_object(Bucket=bucket, Key='missing key')
except ClientError as e:
    out['error'] = e.response['Error']
    out['hostId'] = e.response['ResponseMetadata'].get('HostId')
lost = boto3.client('s3', endpoint_url=endpoint, region_name='eu-west-1', config=cfg)
out['headObject'] = lost.head_object(Bucket=bucket, Key='obj')['ContentLength']
out['headBucket'] = lost.head_bucket(Bucket=bucket)['ResponseMetadata']['HTTPStatusCode']
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON_BIN, ['-c', script, d.endpoint, bucket], { env: pyEnv, encoding: 'utf8' });
  t.equal(r.status, 0, `boto3 ran: ${r.stderr.slice(-500)}`);
  const out = JSON.parse(r.stdout) as { error: Record<string, string>; hostId: string; headObject: number; headBucket: number };
  t.equal(out.error.Code, 'NoSuchKey');
  t.equal(out.error.Key, 'missing key', "e.response['Error']['Key']");
  t.match(out.hostId, /^[0-9a-f]{64}$/, "ResponseMetadata['HostId']");
  t.equal(out.headObject, 5, 'head_object from eu-west-1 is redirected and succeeds');
  t.equal(out.headBucket, 200, 'head_bucket too');
});

// From LocalStack's S3 tests, whose answers were recorded against AWS: the elements S3 adds to
// these errors, which s3d left out (clients and their users read them).
t.test("a missing bucket configuration names the bucket; a delete marker's 405 names method and resource type", async (t) => {
  for (const [sub, code] of [
    ['policy', 'NoSuchBucketPolicy'],
    ['cors', 'NoSuchCORSConfiguration'],
    ['lifecycle', 'NoSuchLifecycleConfiguration'],
    ['tagging', 'NoSuchTagSet'],
    ['encryption', 'ServerSideEncryptionConfigurationNotFoundError'],
    ['object-lock', 'ObjectLockConfigurationNotFoundError'],
    ['website', 'NoSuchWebsiteConfiguration'],
    ['replication', 'ReplicationConfigurationNotFoundError'],
    ['publicAccessBlock', 'NoSuchPublicAccessBlockConfiguration'],
  ] as const) {
    const res = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: sub });
    t.equal(xmlField(res.body, 'Code'), code, `GET ?${sub}: ${code}`);
    t.equal(xmlField(res.body, 'BucketName'), bucket, `GET ?${sub}: <BucketName>`);
  }
  t.equal(xmlField((await raw(d.port, { method: 'GET', path: `/${bucket}/obj`, query: 'tagging' })).body, 'Code'), undefined, "an object's tag set is never missing");
  const vb = await createBucket(s3, 'errmarker');
  await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: 'v1' }));
  const marker = (await s3.send(new DeleteObjectCommand({ Bucket: vb, Key: 'k' }))).VersionId!;
  for (const [method, query] of [
    ['GET', `versionId=${marker}`],
    ['PUT', `tagging&versionId=${marker}`],
  ] as const) {
    const res = await raw(d.port, { method, path: `/${vb}/k`, query, body: method === 'PUT' ? '<Tagging><TagSet></TagSet></Tagging>' : undefined });
    t.equal(res.status, 405, `${method} ?${query.split('&')[0]} of a delete marker: 405`);
    t.equal(xmlField(res.body, 'Message'), 'The specified method is not allowed against this resource.', "S3's text");
    t.equal(xmlField(res.body, 'Method'), method, '<Method>');
    t.equal(xmlField(res.body, 'ResourceType'), 'DeleteMarker', '<ResourceType>DeleteMarker');
  }
});

t.test('failed preconditions name the condition; a future If-Modified-Since is ignored', async (t) => {
  const { ETag } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: 'x' }));
  const past = new Date(Date.now() - 86_400_000).toUTCString();
  const future = new Date(Date.now() + 86_400_000).toUTCString();
  const cases: Array<[string, Record<string, string>, string, string]> = [
    ['GET', { 'if-match': '"nope"' }, '412', 'If-Match'],
    ['GET', { 'if-unmodified-since': past }, '412', 'If-Unmodified-Since'],
    ['COPY', { 'x-amz-copy-source-if-match': '"nope"' }, '412', 'x-amz-copy-source-If-Match'],
    ['COPY', { 'x-amz-copy-source-if-none-match': ETag! }, '412', 'x-amz-copy-source-If-None-Match'],
    ['COPY', { 'x-amz-copy-source-if-unmodified-since': past }, '412', 'x-amz-copy-source-If-Unmodified-Since'],
    // Not modified since now (the object is older than this second's end): 412 for a copy.
    ['COPY', { 'x-amz-copy-source-if-modified-since': new Date().toUTCString() }, '412', 'x-amz-copy-source-If-Modified-Since'],
    ['PUT', { 'if-none-match': '*' }, '412', 'If-None-Match'],
    ['PUT', { 'if-match': '"nope"' }, '412', 'If-Match'],
    // RFC 7232 3.3: a date later than the server's clock is invalid and ignored, as S3 ignores it.
    ['GET', { 'if-modified-since': future }, '200', ''],
    ['COPY', { 'x-amz-copy-source-if-modified-since': future }, '200', ''],
  ];
  for (const [kind, headers, status, condition] of cases) {
    const res = await raw(d.port, {
      method: kind === 'GET' ? 'GET' : 'PUT',
      path: `/${bucket}/${kind === 'COPY' ? 'cond-copy' : 'cond'}`,
      headers: kind === 'COPY' ? { 'x-amz-copy-source': `/${bucket}/cond`, ...headers } : headers,
      ...(kind === 'PUT' ? { body: 'y' } : {}),
    });
    const what = `${kind} ${Object.keys(headers).join(' ')}`;
    t.equal(String(res.status), status, `${what}: ${status}`);
    if (status === '412') {
      t.equal(xmlField(res.body, 'Condition'), condition, `${what}: <Condition>${condition}`);
      t.equal(xmlField(res.body, 'Message'), 'At least one of the pre-conditions you specified did not hold', "S3's text");
    }
  }
  const notImpl = await raw(d.port, { method: 'PUT', path: `/${bucket}/cond`, headers: { 'if-none-match': ETag! }, body: 'y' });
  t.equal(notImpl.status, 501, 'If-None-Match with an ETag on a write: 501');
  t.equal(xmlField(notImpl.body, 'Header'), 'If-None-Match', '<Header>If-None-Match');
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}/cond` })).body.toString(), 'x', 'the failed writes changed nothing');
});

t.test('argument errors name the argument: storage class, version ids', async (t) => {
  const sc = await raw(d.port, { method: 'PUT', path: `/${bucket}/sc`, headers: { 'x-amz-storage-class': 'OUTPOSTS' }, body: 'x' });
  t.equal(xmlField(sc.body, 'Code'), 'InvalidStorageClass');
  t.equal(xmlField(sc.body, 'StorageClassRequested'), 'OUTPOSTS', '<StorageClassRequested>');
  const bad = await raw(d.port, { method: 'GET', path: `/${bucket}/obj`, query: 'versionId=not-a-version' });
  t.equal(xmlField(bad.body, 'Code'), 'InvalidArgument');
  t.same([xmlField(bad.body, 'ArgumentName'), xmlField(bad.body, 'ArgumentValue')], ['versionId', 'not-a-version'], 'ArgumentName/ArgumentValue');
  // In a batch, S3 reports such an id as NoSuchVersion for its key (the key is kept).
  const del = await raw(d.port, {
    method: 'POST',
    path: `/${bucket}`,
    query: 'delete',
    headers: { 'content-md5': createHash('md5').update('<Delete><Object><Key>obj</Key><VersionId>HPniJFCxqTsMuIH9KX8K8wEjNUgmABCD</VersionId></Object></Delete>').digest('base64') },
    body: '<Delete><Object><Key>obj</Key><VersionId>HPniJFCxqTsMuIH9KX8K8wEjNUgmABCD</VersionId></Object></Delete>',
  });
  t.equal(xmlField(del.body, 'Code'), 'NoSuchVersion', 'DeleteObjects: <Error><Code>NoSuchVersion');
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/obj` })).status, 200, 'obj is still there');
});

t.test('InvalidPartNumber says how many parts there are; InvalidDigest the value; MissingSecurityHeader the header', async (t) => {
  const res = await raw(d.port, { method: 'GET', path: `/${bucket}/obj`, query: 'partNumber=2' });
  t.equal(res.status, 416, 'part 2 of a single-part object: 416');
  t.same([xmlField(res.body, 'Code'), xmlField(res.body, 'ActualPartCount'), xmlField(res.body, 'PartNumberRequested')], ['InvalidPartNumber', '1', '2'], 'ActualPartCount and PartNumberRequested');
  const digest = await raw(d.port, { method: 'PUT', path: `/${bucket}/digest`, headers: { 'content-md5': 'not-md5' }, body: 'x' });
  t.same([xmlField(digest.body, 'Code'), xmlField(digest.body, 'Content-MD5')], ['InvalidDigest', 'not-md5'], '<Content-MD5> as sent');
  // S3's words (LocalStack's recording, test_s3_invalid_content_md5), not its error table's.
  t.equal(xmlField(digest.body, 'Message'), 'The Content-MD5 you specified was invalid.', 'S3\'s message');
  // Base64 of 16 bytes whose last character has bits no byte uses: a digest that does not match
  // (BadDigest), as S3 answers it (versitygw's AWS-checked PutBucketCors_md5), not InvalidDigest.
  const loose = await raw(d.port, { method: 'PUT', path: `/${bucket}/digest`, headers: { 'content-md5': 'uU0nuZNNPgilLlLX2n2r+s==' }, body: 'x' });
  t.same([loose.status, xmlField(loose.body, 'Code')], [400, 'BadDigest'], 'PutObject: a Content-MD5 with stray trailing bits is BadDigest');
  const cors = '<CORSConfiguration><CORSRule><AllowedOrigin>http://origin.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>';
  const looseCors = await raw(d.port, { method: 'PUT', path: `/${bucket}`, query: 'cors=', headers: { 'content-md5': 'uU0nuZNNPgilLlLX2n2r+s==' }, body: cors });
  t.same([looseCors.status, xmlField(looseCors.body, 'Code')], [400, 'BadDigest'], 'PutBucketCors: the same');
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/digest` })).status, 404, 'nothing was written');
  const acl = await raw(d.port, { method: 'PUT', path: `/${bucket}`, query: 'acl' });
  t.same([xmlField(acl.body, 'Code'), xmlField(acl.body, 'MissingHeaderName')], ['MissingSecurityHeader', 'x-amz-acl'], '<MissingHeaderName>');
});

t.test('CreateBucket: a name that is not valid is named; an owned bucket asked for in another region is BucketAlreadyOwnedByYou', async (t) => {
  const bad = await raw(d.port, { method: 'PUT', path: '/TESTUPPERCASE-x' });
  t.same([bad.status, xmlField(bad.body, 'Code'), xmlField(bad.body, 'BucketName'), xmlField(bad.body, 'Message')], [400, 'InvalidBucketName', 'TESTUPPERCASE-x', 'The specified bucket is not valid.'], 'InvalidBucketName names the bucket');
  const other = await raw(d.port, { method: 'PUT', path: `/${bucket}`, body: '<CreateBucketConfiguration><LocationConstraint>us-west-1</LocationConstraint></CreateBucketConfiguration>' });
  t.same([other.status, xmlField(other.body, 'Code'), xmlField(other.body, 'BucketName')], [409, 'BucketAlreadyOwnedByYou', bucket], 'an owned bucket in another region: 409 BucketAlreadyOwnedByYou');
  const fresh = await raw(d.port, { method: 'PUT', path: '/fresh-bucket-west', body: '<CreateBucketConfiguration><LocationConstraint>us-west-1</LocationConstraint></CreateBucketConfiguration>' });
  t.equal(xmlField(fresh.body, 'Code'), 'IllegalLocationConstraintException', 'a new bucket in another region: IllegalLocationConstraintException');
});

t.test('a configuration PUT without a body is MissingRequestBodyError, as S3 answers it; HeadBucket has a Content-Type', async (t) => {
  for (const [path, query] of [
    [`/${bucket}`, 'tagging'],
    [`/${bucket}`, 'lifecycle'],
    [`/${bucket}`, 'versioning'],
    [`/${bucket}`, 'encryption'],
    [`/${bucket}`, 'cors'],
    [`/${bucket}`, 'notification'],
    [`/${bucket}`, 'object-lock'],
    [`/${bucket}`, 'accelerate'],
    [`/${bucket}/obj`, 'tagging'],
  ] as const) {
    const res = await raw(d.port, { method: 'PUT', path, query, body: '' });
    t.same([res.status, xmlField(res.body, 'Code'), xmlField(res.body, 'Message')], [400, 'MissingRequestBodyError', 'Request Body is empty'], `PUT ${path}?${query} without a body`);
  }
  const head = await raw(d.port, { method: 'HEAD', path: `/${bucket}` });
  t.equal(head.headers['content-type'], 'application/xml', 'HeadBucket: Content-Type application/xml');
});

t.test('a HEAD\u2019s error is named in x-minio-error-code and x-minio-error-desc, as MinIO names it (HEAD has no body)', async (t) => {
  // minio-go (mc stat, mc alias set's probe) and minio-js read these headers; without them
  // minio-go guessed the code from the status: any 403 AccessDenied (a wrong secret key too), a
  // key in a missing bucket NoSuchKey, a 400 "400 Bad Request".
  const cases: Array<[string, RawResponse, number, string]> = [
    ['a missing key', await raw(d.port, { method: 'HEAD', path: `/${bucket}/no-such-key` }), 404, 'NoSuchKey'],
    ['a key of a missing bucket', await raw(d.port, { method: 'HEAD', path: '/no-such-bucket-here/k' }), 404, 'NoSuchBucket'],
    ['a wrong secret key', await raw(d.port, { method: 'HEAD', path: `/${bucket}/obj`, sign: { secretAccessKey: 'not-the-secret' } }), 403, 'SignatureDoesNotMatch'],
    ['an unknown access key', await raw(d.port, { method: 'HEAD', path: `/${bucket}/obj`, sign: { accessKeyId: 'nobody-here' } }), 403, 'InvalidAccessKeyId'],
    ['a bad partNumber', await raw(d.port, { method: 'HEAD', path: `/${bucket}/obj`, query: 'partNumber=0' }), 400, 'InvalidArgument'],
  ];
  for (const [what, res, status, code] of cases) {
    t.equal(res.status, status, `${what}: ${status}`);
    t.equal(res.headers['x-minio-error-code'], code, `${what}: x-minio-error-code ${code}`);
    t.match(res.headers['x-minio-error-desc'], /^".+"$/, `${what}: x-minio-error-desc, quoted as MinIO sends it`);
    t.equal(res.body.length, 0, `${what}: no body`);
  }
  const get = await raw(d.port, { method: 'GET', path: `/${bucket}/no-such-key` });
  t.equal(get.headers['x-minio-error-code'], undefined, 'a GET names its error in its body only');
});

t.test("AccessDenied says S3's words: 'Access Denied', and Object Lock's own for a locked version", async (t) => {
  // S3's generic refusal is "Access Denied" (s3d said MinIO's "Access Denied."). A refusal because
  // of Object Lock is S3's "Access Denied because object protected by object lock." for a locked
  // version's DeleteObject, its DeleteObjects entry and a shortened GOVERNANCE retention (the aws
  // CLI prints it against AWS; LocalStack's AWS-validated provider raises it), which tells an
  // operator the lock, not a policy, refused.
  const anonymous = await raw(d.port, { method: 'GET', path: `/${bucket}/obj`, sign: false });
  t.equal(anonymous.status, 403, 'an anonymous GET of a private object: 403');
  t.equal(xmlField(anonymous.body, 'Message'), 'Access Denied', 'its message');
  const lb = bucketName('errlock');
  await s3.send(new CreateBucketCommand({ Bucket: lb, ObjectLockEnabledForBucket: true }));
  const until = new Date(Date.now() + 600_000);
  const locked = 'AccessDenied: Access Denied because object protected by object lock.';
  const messageOf = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: Error & { Code?: string }) => `${e.name}: ${e.message}`);
  for (const [what, lock] of [['legal hold and retention', { ObjectLockLegalHoldStatus: 'ON', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until }], ['retention only', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until }]] as const) {
    const { VersionId } = await s3.send(new PutObjectCommand({ Bucket: lb, Key: 'k', Body: 'x', ...lock }));
    t.equal(await messageOf(s3.send(new DeleteObjectCommand({ Bucket: lb, Key: 'k', VersionId }))), locked, `${what}: DeleteObject of the locked version`);
    const many = await s3.send(new DeleteObjectsCommand({ Bucket: lb, Delete: { Objects: [{ Key: 'k', VersionId }] } }));
    t.same(many.Errors?.map((e) => `${e.Code}: ${e.Message}`), [locked], `${what}: its DeleteObjects entry`);
    const shorter = new PutObjectRetentionCommand({ Bucket: lb, Key: 'k', VersionId, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(until.getTime() - 60_000) } });
    t.equal(await messageOf(s3.send(shorter)), locked, `${what}: a GOVERNANCE retention shortened without the bypass`);
  }
});
