// Per-bucket CORS configuration against the real daemon: Put/Get/DeleteBucketCors through the AWS
// SDK and the aws CLI (minio-js 8 has no bucket CORS call), refused documents that leave the old
// configuration in place, and enforcement as S3 evaluates it: preflights (unsigned OPTIONS, path
// and virtual-host style) allowed or refused by origin (wildcards included), method and requested
// headers; actual requests carrying Origin get the matching rule's headers (errors too) or none;
// buckets without a configuration, and the service, keep the server-wide S3_API_CORS_ALLOW_ORIGIN
// behaviour; rules apply even with the server-wide setting off, and survive a restart.
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand, PutObjectCommand, type CORSRule, type S3Client } from '@aws-sdk/client-s3';
import { NO_AWS, awsCli } from '../helpers/aws-cli.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { assertXmlError, raw, xmlField, type RawResponse } from '../helpers/http.js';
import { createBucket, expectS3Error, rawBodyClient } from '../helpers/s3.js';

const APP = 'https://app.example.com';
const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';
const DENIED = /^CORSResponse: This CORS request is not allowed\. This is usually because the evalution of Origin, request method \/ Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec\.$/;
const RULES: CORSRule[] = [
  {
    ID: 'uploads',
    AllowedOrigins: [APP, 'https://*.example.com'],
    AllowedMethods: ['GET', 'PUT'],
    AllowedHeaders: ['content-type', 'x-amz-*'],
    ExposeHeaders: ['ETag', 'x-amz-meta-album'],
    MaxAgeSeconds: 600,
  },
  { AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'] },
];

// Server-wide default (every origin), with virtual-host-style requests on *.localhost.
let d: TestDaemon = await startDaemon({ env: { S3_DOMAIN: 'localhost' } });
let s3: S3Client = d.s3();
// Server-wide CORS off: only buckets with their own rules answer cross-origin requests.
let off: TestDaemon = await startDaemon({ env: { S3_API_CORS_ALLOW_ORIGIN: 'off' } });
const work = mkdtempSync(join(tmpdir(), 's3d-bucket-cors-'));
t.teardown(async () => {
  for (const x of [d, off]) {
    await x.stop();
    x.cleanup();
  }
  rmSync(work, { recursive: true, force: true });
});

function preflight(daemon: TestDaemon, path: string, origin: string, method: string, requestHeaders?: string, host?: string): Promise<RawResponse> {
  return raw(daemon.port, {
    method: 'OPTIONS',
    path,
    sign: false,
    ...(host ? { host } : {}),
    headers: { origin, 'access-control-request-method': method, ...(requestHeaders !== undefined ? { 'access-control-request-headers': requestHeaders } : {}) },
  });
}

function corsHeaders(res: RawResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (k.startsWith('access-control-') || k === 'vary') out[k] = String(v);
  return out;
}

async function bucketWithRules(client: S3Client, rules: CORSRule[] = RULES): Promise<string> {
  const bucket = await createBucket(client);
  await client.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: rules } }));
  return bucket;
}

async function rulesOf(bucket: string, client: S3Client = s3): Promise<CORSRule[]> {
  return (await client.send(new GetBucketCorsCommand({ Bucket: bucket }))).CORSRules ?? [];
}

t.test('the SDK puts, reads back, replaces and deletes a configuration', async (t) => {
  const bucket = await createBucket(s3);
  await expectS3Error(t, s3.send(new GetBucketCorsCommand({ Bucket: bucket })), 'NoSuchCORSConfiguration', 404, 'before any PutBucketCors');
  const put = await s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: RULES } }));
  t.equal(put.$metadata.httpStatusCode, 200, 'PutBucketCors: 200');
  t.same(await rulesOf(bucket), RULES, 'GetBucketCors gives every rule back, in order');

  const raw1 = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'cors' });
  t.equal(raw1.status, 200);
  t.match(
    raw1.body.toString(),
    '<CORSRule><ID>uploads</ID><AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedOrigin>https://*.example.com</AllowedOrigin><ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-amz-meta-album</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>',
    "S3's element order",
  );

  const replacement: CORSRule[] = [{ AllowedOrigins: ['http://localhost:5173'], AllowedMethods: ['POST'] }];
  await s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: replacement } }));
  t.same(await rulesOf(bucket), replacement, 'a second PutBucketCors replaces the configuration');

  const del = await s3.send(new DeleteBucketCorsCommand({ Bucket: bucket }));
  t.equal(del.$metadata.httpStatusCode, 204, 'DeleteBucketCors: 204');
  await expectS3Error(t, s3.send(new GetBucketCorsCommand({ Bucket: bucket })), 'NoSuchCORSConfiguration', 404, 'after DeleteBucketCors');
  t.equal((await s3.send(new DeleteBucketCorsCommand({ Bucket: bucket }))).$metadata.httpStatusCode, 204, 'deleting again: 204');
  // A client of its own: the refusal comes before the body is read, and this test is not about
  // what that does to a kept-alive connection.
  await expectS3Error(t, d.s3().send(new PutBucketCorsCommand({ Bucket: 'no-such-bucket-cors', CORSConfiguration: { CORSRules: RULES } })), 'NoSuchBucket', 404, 'PutBucketCors on a missing bucket');
});

t.test('refused configurations leave the old one in place', async (t) => {
  const bucket = await bucketWithRules(s3);
  const put = (rules: CORSRule[]): Promise<unknown> => s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: rules } }));
  const bad = await put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET', 'PATCH'] }]).then(
    () => undefined,
    (err: { name: string; message: string; $metadata?: { httpStatusCode?: number } }) => err,
  );
  t.same([bad?.name, bad?.$metadata?.httpStatusCode, bad?.message], ['InvalidRequest', 400, 'Found unsupported HTTP method in CORS config. Unsupported method is PATCH'], 'an unsupported method');
  await expectS3Error(t, put([{ AllowedOrigins: ['https://*.*.example.com'], AllowedMethods: ['GET'] }]), 'InvalidRequest', 400, 'an origin with two wildcards');
  await expectS3Error(t, put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], AllowedHeaders: ['x-*-*'] }]), 'InvalidRequest', 400, 'a header with two wildcards');
  for (const h of ['invalid header', 'x:y', 'a(b)', 'a/b', 'a[b]', 'a=b', 'a"b']) {
    await expectS3Error(t, put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], AllowedHeaders: [h] }]), 'InvalidRequest', 400, `AllowedHeader ${JSON.stringify(h)}: no HTTP field name`);
  }
  await expectS3Error(t, put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], ExposeHeaders: ['Bad/Header'] }]), 'InvalidRequest', 400, 'an ExposeHeader that is no field name');
  // S3 takes no wildcard in ExposeHeader (a `*` would expose every header to any page).
  for (const h of ['*', 'x-amz-meta-*']) {
    const wild = await put([{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], ExposeHeaders: ['ETag', h] }]).then(
      () => undefined,
      (err: { name: string; message: string; $metadata?: { httpStatusCode?: number } }) => err,
    );
    t.same([wild?.name, wild?.$metadata?.httpStatusCode, wild?.message], ['InvalidRequest', 400, `ExposeHeader "${h}" contains wildcard. We currently do not support wildcard for ExposeHeader.`], `ExposeHeader ${h}: S3's refusal`);
  }
  await s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], MaxAgeSeconds: -100 }] } }));
  t.equal((await s3.send(new GetBucketCorsCommand({ Bucket: bucket }))).CORSRules?.[0]?.MaxAgeSeconds, -100, 'a negative MaxAgeSeconds is taken, as S3 takes it');
  await s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: RULES } }));
  await expectS3Error(t, put([]), 'MalformedXML', 400, 'no rules');
  await expectS3Error(t, put([{ AllowedOrigins: [], AllowedMethods: ['GET'] }]), 'MalformedXML', 400, 'a rule without an origin');
  await expectS3Error(t, put([{ ID: 'x'.repeat(256), AllowedOrigins: ['*'], AllowedMethods: ['GET'] }]), 'InvalidArgument', 400, 'an ID over 255 characters');
  await expectS3Error(
    t,
    rawBodyClient(d, '<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>').send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: RULES } })),
    'MalformedXML',
    400,
    'malformed XML',
  );
  // Content-MD5, when sent, must match (as for every bucket configuration PUT; it is not required).
  const body = '<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>';
  const wrongMd5 = await raw(d.port, { method: 'PUT', path: `/${bucket}`, query: 'cors', body, headers: { 'content-md5': createHash('md5').update('other').digest('base64') } });
  assertXmlError(t, wrongMd5, 400, 'BadDigest', 'a Content-MD5 that does not match');
  t.same(await rulesOf(bucket), RULES, 'the configuration is unchanged');

  const plain = await raw(d.port, { method: 'PUT', path: `/${bucket}`, query: 'cors', body, headers: { 'content-md5': createHash('md5').update(body).digest('base64') } });
  t.equal(plain.status, 200, 'a raw PUT with its Content-MD5');
  t.same(await rulesOf(bucket), [{ AllowedMethods: ['GET'], AllowedOrigins: ['*'] }]);
});

t.test('unsigned configuration requests are refused; preflights need no signature', async (t) => {
  const bucket = await bucketWithRules(s3);
  const body = '<CORSConfiguration><CORSRule><AllowedMethod>DELETE</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>';
  assertXmlError(t, await raw(d.port, { method: 'PUT', path: `/${bucket}`, query: 'cors', body, sign: false }), 403, 'AccessDenied', 'unsigned PutBucketCors');
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'cors', sign: false }), 403, 'AccessDenied', 'unsigned GetBucketCors');
  assertXmlError(t, await raw(d.port, { method: 'DELETE', path: `/${bucket}`, query: 'cors', sign: false }), 403, 'AccessDenied', 'unsigned DeleteBucketCors');
  t.same(await rulesOf(bucket), RULES, 'nothing changed');
  t.equal((await preflight(d, `/${bucket}/k`, APP, 'PUT')).status, 200, 'the preflight itself is unsigned');
});

t.test('preflights: the first rule matching origin, method and every requested header', async (t) => {
  const bucket = await bucketWithRules(s3);
  const pre = await preflight(d, `/${bucket}/photo.jpg`, APP, 'PUT', 'Content-Type, X-Amz-Date, x-amz-meta-album');
  t.equal(pre.status, 200, 'allowed');
  t.same(corsHeaders(pre), {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, PUT',
    'access-control-allow-headers': 'content-type, x-amz-date, x-amz-meta-album',
    'access-control-expose-headers': 'ETag, x-amz-meta-album',
    'access-control-max-age': '600',
    vary: VARY,
  }, "the rule's headers, as S3 answers them");
  t.equal(pre.body.length, 0, 'no body');

  const sub = await preflight(d, `/${bucket}`, 'https://build.example.com', 'PUT');
  t.equal(sub.status, 200, 'a wildcard origin (bucket path)');
  t.equal(sub.headers['access-control-allow-origin'], 'https://build.example.com', 'echoed');
  t.equal(sub.headers['access-control-allow-headers'], undefined, 'no headers asked for, none allowed');

  const any = await preflight(d, `/${bucket}/photo.jpg`, 'https://elsewhere.test', 'HEAD');
  t.equal(any.status, 200, 'the * rule');
  t.same(corsHeaders(any), { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, HEAD', vary: VARY }, 'a * rule answers *, without credentials');

  const vhost = await preflight(d, '/photo.jpg', APP, 'PUT', undefined, `${bucket}.localhost:${d.port}`);
  t.equal(vhost.status, 200, 'virtual-host style');
  t.equal(vhost.headers['access-control-max-age'], '600');

  const refused: Array<[string, string, string | undefined, string]> = [
    ['https://evil.test', 'PUT', undefined, 'an origin no PUT rule names'],
    [APP, 'DELETE', undefined, 'a method no rule allows'],
    [APP, 'PUT', 'content-type, x-custom', 'a header the rule does not allow'],
    ['https://elsewhere.test', 'GET', 'content-type', 'the * rule allows no header'],
    ['https://example.com', 'PUT', undefined, 'the wildcard needs a subdomain'],
    ['https://app.example.com.evil.test', 'PUT', undefined, 'a longer origin'],
    ['http://app.example.com', 'PUT', undefined, 'another scheme'],
    // Origins compare as sent, as on S3 (minio-go's S3-run CORS suite): it matched case-insensitively.
    ['https://app.EXAMPLE.com', 'PUT', undefined, 'the origin in other case'],
    ['HTTPS://app.example.com', 'PUT', undefined, 'the scheme in other case'],
  ];
  for (const [origin, method, headers, what] of refused) {
    const r = await preflight(d, `/${bucket}/photo.jpg`, origin, method, headers);
    assertXmlError(t, r, 403, 'AccessForbidden', what);
    t.match(xmlField(r.body, 'Message')?.replace(/&apos;/g, "'"), DENIED, `${what}: S3's message`);
    // No CORS header, but the Vary of an admitted request: a cache keeps the answers apart.
    t.same(corsHeaders(r), { vary: VARY }, `${what}: no CORS header, the same Vary`);
    // As S3's refusal (LocalStack's recordings): the method asked for, and what the path names.
    t.same([xmlField(r.body, 'Method'), xmlField(r.body, 'ResourceType')], [method, 'OBJECT'], `${what}: <Method> and <ResourceType>`);
  }
  const onBucket = await preflight(d, `/${bucket}`, 'https://elsewhere.test', 'DELETE');
  t.same([xmlField(onBucket.body, 'Code'), xmlField(onBucket.body, 'Method'), xmlField(onBucket.body, 'ResourceType')], ['AccessForbidden', 'DELETE', 'BUCKET'], 'a preflight of the bucket itself: ResourceType BUCKET');
});

t.test('actual requests with Origin: the matching rule adds its headers; otherwise none, and the request still goes ahead', async (t) => {
  const bucket = await bucketWithRules(s3);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'photo.jpg', Body: 'jpeg bytes', Metadata: { album: 'summer' } }));

  const get = await raw(d.port, { method: 'GET', path: `/${bucket}/photo.jpg`, headers: { origin: APP } });
  t.equal(get.status, 200);
  t.equal(get.body.toString(), 'jpeg bytes');
  t.same(corsHeaders(get), {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, PUT',
    'access-control-expose-headers': 'ETag, x-amz-meta-album',
    'access-control-max-age': '600',
    vary: VARY,
  }, "the rule's headers, its ExposeHeader only");

  const up = await raw(d.port, { method: 'PUT', path: `/${bucket}/up.txt`, headers: { origin: 'https://build.example.com' }, body: 'x' });
  t.equal(up.status, 200);
  t.equal(up.headers['access-control-allow-origin'], 'https://build.example.com', 'PUT from a wildcard origin');

  const elsewhere = await raw(d.port, { method: 'GET', path: `/${bucket}/photo.jpg`, headers: { origin: 'https://elsewhere.test' } });
  t.equal(elsewhere.headers['access-control-allow-origin'], '*', 'GET from any origin: the * rule');

  const refusedPut = await raw(d.port, { method: 'PUT', path: `/${bucket}/other.txt`, headers: { origin: 'https://elsewhere.test' }, body: 'y' });
  t.equal(refusedPut.status, 200, 'a PUT no rule admits is still carried out (CORS is the browser\'s check)');
  // Its Vary keeps a shared cache from handing this answer to an origin a rule admits.
  t.same(corsHeaders(refusedPut), { vary: VARY }, 'but carries no CORS header, only the Vary');
  const del = await raw(d.port, { method: 'DELETE', path: `/${bucket}/other.txt`, headers: { origin: APP } });
  t.equal(del.status, 204);
  t.same(corsHeaders(del), { vary: VARY }, 'DELETE is in no rule');
  const asked = await raw(d.port, { method: 'GET', path: `/${bucket}/photo.jpg`, headers: { origin: APP, 'access-control-request-method': 'DELETE' } });
  t.same(corsHeaders(asked), { vary: VARY }, 'a GET carrying Access-Control-Request-Method is judged by it, as S3 does');

  const missing = await raw(d.port, { method: 'GET', path: `/${bucket}/nope`, headers: { origin: APP } });
  assertXmlError(t, missing, 404, 'NoSuchKey', 'a missing key');
  t.equal(missing.headers['access-control-allow-origin'], APP, 'errors carry the headers too');
  const unsigned = await raw(d.port, { method: 'GET', path: `/${bucket}/photo.jpg`, headers: { origin: APP }, sign: false });
  assertXmlError(t, unsigned, 403, 'AccessDenied', 'an unsigned GET');
  t.equal(unsigned.headers['access-control-allow-origin'], APP, 'a refusal is readable by the page');

  const plain = await raw(d.port, { method: 'GET', path: `/${bucket}/photo.jpg` });
  t.same(corsHeaders(plain), {}, 'no Origin, no CORS header');
});

t.test('buckets without a configuration and the service keep the server-wide behaviour', async (t) => {
  const bare = await createBucket(s3);
  await s3.send(new PutObjectCommand({ Bucket: bare, Key: 'k', Body: 'v' }));
  const pre = await preflight(d, `/${bare}/k`, 'https://elsewhere.test', 'DELETE', 'x-custom');
  t.equal(pre.status, 200, 'S3_API_CORS_ALLOW_ORIGIN=* allows every origin and method');
  t.equal(pre.headers['access-control-allow-origin'], 'https://elsewhere.test');
  t.match(pre.headers['access-control-allow-methods'], /\bDELETE\b/);
  const get = await raw(d.port, { method: 'GET', path: `/${bare}/k`, headers: { origin: 'https://elsewhere.test' } });
  t.equal(get.headers['access-control-allow-origin'], 'https://elsewhere.test');
  t.match(get.headers['access-control-expose-headers'], /\betag\b/, 'every header is exposed, as before');
  const root = await raw(d.port, { method: 'GET', path: '/', headers: { origin: APP } });
  t.equal(root.headers['access-control-allow-origin'], APP, 'ListBuckets');
  t.equal((await preflight(d, '/no-such-bucket-cors/k', APP, 'GET')).status, 200, 'a missing bucket');

  // A bucket whose configuration is deleted falls back to the server-wide behaviour.
  const bucket = await bucketWithRules(s3);
  assertXmlError(t, await preflight(d, `/${bucket}/k`, 'https://elsewhere.test', 'DELETE'), 403, 'AccessForbidden', 'with rules');
  await s3.send(new DeleteBucketCorsCommand({ Bucket: bucket }));
  t.equal((await preflight(d, `/${bucket}/k`, 'https://elsewhere.test', 'DELETE')).status, 200, 'after DeleteBucketCors');
});

t.test('S3_API_CORS_ALLOW_ORIGIN=off: buckets with rules still answer by them; the configuration survives a restart', async (t) => {
  let client = off.s3();
  const bucket = await bucketWithRules(client);
  const bare = await createBucket(client);
  t.equal((await preflight(off, `/${bucket}/k`, APP, 'PUT')).status, 200, 'the bucket opted in');
  assertXmlError(t, await preflight(off, `/${bare}/k`, APP, 'PUT'), 403, 'AccessForbidden', 'a bucket without rules');
  t.same(corsHeaders(await raw(off.port, { method: 'GET', path: '/', headers: { origin: APP } })), {}, 'the service');

  const dataDir = off.dataDir;
  t.equal(await off.stop(), 0, 'the daemon stops cleanly');
  off = await startDaemon({ dataDir, env: { S3_API_CORS_ALLOW_ORIGIN: 'off' } });
  client = off.s3();
  t.same(await rulesOf(bucket, client), RULES, 'GetBucketCors after the restart');
  const pre = await preflight(off, `/${bucket}/k`, 'https://build.example.com', 'PUT', 'content-type');
  t.equal(pre.status, 200, 'enforced after the restart');
  t.equal(pre.headers['access-control-allow-origin'], 'https://build.example.com');
  assertXmlError(t, await preflight(off, `/${bucket}/k`, APP, 'DELETE'), 403, 'AccessForbidden', 'and still refusing');
});

t.test('the aws CLI puts, reads back and deletes a configuration', { skip: NO_AWS }, async (t) => {
  const bucket = await createBucket(s3);
  const cli = awsCli(d.endpoint, work);
  const aws = (...args: string[]): Promise<string> => cli.ok('s3api', ...args);
  const file = join(work, 'cors.json');
  const conf = {
    CORSRules: [
      { AllowedHeaders: ['*'], AllowedMethods: ['PUT', 'POST', 'DELETE'], AllowedOrigins: ['https://www.example.com'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 3000 },
      { AllowedMethods: ['GET'], AllowedOrigins: ['*'] },
    ],
  };
  writeFileSync(file, JSON.stringify(conf));
  await aws('put-bucket-cors', '--bucket', bucket, '--cors-configuration', `file://${file}`);
  t.same(JSON.parse(await aws('get-bucket-cors', '--bucket', bucket)), conf, 'get-bucket-cors gives the configuration back');
  const pre = await preflight(d, `/${bucket}/k`, 'https://www.example.com', 'DELETE', 'x-amz-date, authorization');
  t.equal(pre.status, 200, 'the rules the CLI set are enforced');
  t.equal(pre.headers['access-control-allow-headers'], 'x-amz-date, authorization', 'AllowedHeader * admits any header');
  await aws('delete-bucket-cors', '--bucket', bucket);
  await expectS3Error(t, s3.send(new GetBucketCorsCommand({ Bucket: bucket })), 'NoSuchCORSConfiguration', 404, 'after delete-bucket-cors');
});
