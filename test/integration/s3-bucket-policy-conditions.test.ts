// Bucket policy conditions on how a request arrives, against a plain-HTTP and a TLS daemon:
// aws:SourceIp (not a client's X-Forwarded-For), aws:SecureTransport, aws:Referer, aws:UserAgent,
// s3:TlsVersion; and objects encrypted at rest read anonymously (SSE-S3 as plaintext over HTTPS
// and HTTP, SSE-C only with its key). Split from s3-bucket-policy-access.test.ts (what a policy
// admits); s3:prefix conditions stay there with the statement forms.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client as MinioClient } from 'minio';
import { REGION, startDaemon, testBytes } from '../helpers/daemon.js';
import { md5Hex } from '../helpers/hash.js';
import { xmlField, type RawResponse } from '../helpers/http.js';
import { createBucket, s3Code } from '../helpers/s3.js';
import { ssec, ssecHeaders } from '../helpers/sse.js';
import { assertDenied, mcDownload, objectPath, policy, policyHelpers, stmt, type Stmt } from '../helpers/bucket-policy.js';

const [d, tls] = await Promise.all([startDaemon(), startDaemon({ tls: true })]);
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) for (const x of [d, tls]) console.error(x.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await Promise.all([d.stop(), tls.stop()]);
  d.cleanup();
  tls.cleanup();
});
const s3 = d.s3();
const { anon, setPolicy, putObjects } = policyHelpers(d, s3);

/** An unsigned request to the TLS daemon (HTTPS, trusting its CA). */
function anonTls(o: { method: string; path: string; query?: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const headers: Record<string, string> = { host: `127.0.0.1:${tls.port}`, ...(o.headers ?? {}) };
  if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: tls.port, method: o.method, path: o.query ? `${o.path}?${o.query}` : o.path, headers, ca: tls.caCert, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

t.test('conditions: aws:SourceIp, aws:SecureTransport over HTTP, aws:Referer, aws:UserAgent', async (t) => {
  const bucket = await createBucket(s3, 'cond');
  await putObjects(bucket, { 'c.txt': 'conditional' });
  const get = (headers: Record<string, string> = {}): Promise<RawResponse> => anon({ method: 'GET', path: objectPath(bucket, 'c.txt'), headers });
  const allowIf = (Condition: Stmt['Condition']): Promise<void> => setPolicy(bucket, policy(stmt('Allow', ['s3:GetObject'], [`${bucket}/*`], Condition)));

  await allowIf({ IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } });
  const fromLoopback = await get();
  t.equal(fromLoopback.status, 200, 'IpAddress 127.0.0.0/8: 200 from 127.0.0.1');
  t.equal(fromLoopback.body.toString(), 'conditional');
  await allowIf({ IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } });
  assertDenied(t, await get(), 'GET', 'IpAddress 10.0.0.0/8, 192.168.0.0/16 from 127.0.0.1');
  await allowIf({ IpAddress: { 'aws:SourceIp': '127.0.0.1' } });
  t.equal((await get()).status, 200, 'IpAddress 127.0.0.1 (a bare address): 200');
  await allowIf({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } });
  t.equal((await get()).status, 200, 'NotIpAddress 10.0.0.0/8: 200');
  await allowIf({ NotIpAddress: { 'aws:SourceIp': '127.0.0.1/32' } });
  assertDenied(t, await get(), 'GET', 'NotIpAddress 127.0.0.1/32');
  // A client-supplied X-Forwarded-For is not the source address.
  await allowIf({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } });
  assertDenied(t, await get({ 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3' }), 'GET', 'IpAddress 10.0.0.0/8 with X-Forwarded-For 10.1.2.3');

  await allowIf({ Bool: { 'aws:SecureTransport': 'true' } });
  assertDenied(t, await get(), 'GET', 'Allow if aws:SecureTransport true, over plain HTTP');
  await setPolicy(bucket, policy(stmt('Allow', ['s3:GetObject'], [`${bucket}/*`]), stmt('Deny', ['s3:*'], [bucket, `${bucket}/*`], { Bool: { 'aws:SecureTransport': 'false' } })));
  assertDenied(t, await get(), 'GET', 'Deny if aws:SecureTransport false, over plain HTTP');
  await allowIf({ Bool: { 'aws:SecureTransport': 'false' } });
  t.equal((await get()).status, 200, 'Allow if aws:SecureTransport false, over plain HTTP: 200');

  await allowIf({ StringLike: { 'aws:Referer': 'https://app.example.com/*' } });
  t.equal((await get({ referer: 'https://app.example.com/gallery' })).status, 200, 'aws:Referer StringLike: a matching Referer: 200');
  assertDenied(t, await get(), 'GET', 'aws:Referer StringLike without a Referer');
  assertDenied(t, await get({ referer: 'https://evil.example.net/app.example.com/' }), 'GET', 'aws:Referer StringLike with another Referer');
  await allowIf({ StringEquals: { 'aws:UserAgent': 's3d-policy-test/1.0' } });
  t.equal((await get({ 'user-agent': 's3d-policy-test/1.0' })).status, 200, 'aws:UserAgent StringEquals: the agent: 200');
  assertDenied(t, await get({ 'user-agent': 'curl/8.0' }), 'GET', 'aws:UserAgent StringEquals with another agent');
  await allowIf({ StringNotEquals: { 'aws:UserAgent': 'badbot' } });
  t.equal((await get({ 'user-agent': 'curl/8.0' })).status, 200, 'aws:UserAgent StringNotEquals badbot, as curl: 200');
  assertDenied(t, await get({ 'user-agent': 'badbot' }), 'GET', 'aws:UserAgent StringNotEquals badbot, as badbot');
  await allowIf({ StringNotLike: { 'aws:Referer': 'https://evil.*' } });
  assertDenied(t, await get({ referer: 'https://evil.example.net/' }), 'GET', 'aws:Referer StringNotLike https://evil.*, from evil');
  t.equal((await get({ referer: 'https://good.example.net/' })).status, 200, 'aws:Referer StringNotLike https://evil.*, from good: 200');

  // …IfExists (ceph s3-tests test_bucket_policy_set_condition_operator_end_with_IfExists): a
  // request without the key passes; one with it is tested as by the plain operator.
  await allowIf({ StringLikeIfExists: { 'aws:Referer': 'http://www.example.com/*' } });
  t.equal((await get()).status, 200, 'aws:Referer StringLikeIfExists without a Referer: 200');
  t.equal((await get({ referer: 'http://www.example.com/' })).status, 200, 'aws:Referer StringLikeIfExists with a matching Referer: 200');
  assertDenied(t, await get({ referer: 'http://example.com' }), 'GET', 'aws:Referer StringLikeIfExists with another Referer');
  await allowIf({ StringEqualsIfExists: { 'aws:UserAgent': 'agent-a' }, IpAddressIfExists: { 'aws:SourceIp': '127.0.0.0/8' } });
  t.equal((await get({ 'user-agent': 'agent-a' })).status, 200, 'StringEqualsIfExists aws:UserAgent and IpAddressIfExists, both hold: 200');
  assertDenied(t, await get({ 'user-agent': 'agent-b' }), 'GET', 'StringEqualsIfExists aws:UserAgent with another agent');

  // Several conditions: all must hold.
  await allowIf({ IpAddress: { 'aws:SourceIp': '127.0.0.0/8' }, StringEquals: { 'aws:UserAgent': 'agent-a' } });
  t.equal((await get({ 'user-agent': 'agent-a' })).status, 200, 'two conditions, both hold: 200');
  assertDenied(t, await get({ 'user-agent': 'agent-b' }), 'GET', 'two conditions, one fails');
});

t.test('over TLS: aws:SecureTransport holds, SSE-S3 objects read as plaintext, SSE-C objects still need their key', async (t) => {
  const s3tls = tls.s3();
  const bucket = await createBucket(s3tls, 'tls');
  const customerKey = randomBytes(32);
  await s3tls.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain.txt', Body: 'over tls' }));
  await s3tls.send(new PutObjectCommand({ Bucket: bucket, Key: 'sse-s3.txt', Body: 'sealed with SSE-S3', ServerSideEncryption: 'AES256' }));
  await s3tls.send(new PutObjectCommand({ Bucket: bucket, Key: 'sse-c.txt', Body: 'sealed with my key', ...ssec(customerKey) }));

  await setPolicy(bucket, policy(stmt('Allow', ['s3:GetObject'], [`${bucket}/*`], { Bool: { 'aws:SecureTransport': 'true' } })), s3tls);
  const secure = await anonTls({ method: 'GET', path: objectPath(bucket, 'plain.txt') });
  t.equal(secure.status, 200, 'Allow if aws:SecureTransport true, over HTTPS: 200');
  t.equal(secure.body.toString(), 'over tls');
  await setPolicy(bucket, policy(stmt('Allow', ['s3:GetObject'], [`${bucket}/*`]), stmt('Deny', ['s3:*'], [bucket, `${bucket}/*`], { Bool: { 'aws:SecureTransport': 'false' } })), s3tls);
  t.equal((await anonTls({ method: 'GET', path: objectPath(bucket, 'plain.txt') })).status, 200, 'Deny if aws:SecureTransport false, over HTTPS: 200');
  await setPolicy(bucket, policy(stmt('Allow', ['s3:GetObject'], [`${bucket}/*`], { Bool: { 'aws:SecureTransport': 'false' } })), s3tls);
  const insecureOnly = await anonTls({ method: 'GET', path: objectPath(bucket, 'plain.txt') });
  t.equal(insecureOnly.status, 403, 'Allow if aws:SecureTransport false, over HTTPS: 403');
  t.equal(xmlField(insecureOnly.body, 'Code'), 'AccessDenied');

  // s3:TlsVersion: AWS's "deny below TLS 1.2" passes over TLS; an Allow on TLS 1.2 or later admits no plain HTTP.
  await setPolicy(bucket, policy(stmt('Allow', ['s3:GetObject'], [`${bucket}/*`]), stmt('Deny', ['s3:*'], [bucket, `${bucket}/*`], { NumericLessThan: { 's3:TlsVersion': '1.2' } })), s3tls);
  t.equal((await anonTls({ method: 'GET', path: objectPath(bucket, 'plain.txt') })).status, 200, 'Deny if s3:TlsVersion < 1.2, over HTTPS: 200');
  await setPolicy(bucket, policy(stmt('Allow', ['s3:GetObject'], [`${bucket}/*`], { NumericGreaterThanEquals: { 's3:TlsVersion': '1.2' } })), s3tls);
  t.equal((await anonTls({ method: 'GET', path: objectPath(bucket, 'plain.txt') })).status, 200, 'Allow if s3:TlsVersion >= 1.2, over HTTPS: 200');
  const requires13 = await s3Code(setPolicy(bucket, policy(stmt('Deny', ['s3:*'], [bucket, `${bucket}/*`], { NumericLessThan: { 's3:TlsVersion': '1.3' } })), s3tls));
  t.equal(requires13, 'MalformedPolicy/400', 'a condition that needs to tell TLS 1.2 from 1.3: MalformedPolicy');

  await setPolicy(bucket, mcDownload(bucket), s3tls);
  const sse = await anonTls({ method: 'GET', path: objectPath(bucket, 'sse-s3.txt') });
  t.equal(sse.status, 200, 'anonymous GET of an SSE-S3 object: 200');
  t.equal(sse.body.toString(), 'sealed with SSE-S3', 'the plaintext');
  t.equal(sse.headers['x-amz-server-side-encryption'], 'AES256', 'reported as SSE-S3');

  const noKey = await anonTls({ method: 'GET', path: objectPath(bucket, 'sse-c.txt') });
  t.equal(noKey.status, 400, 'anonymous GET of an SSE-C object without the key: 400');
  t.equal(xmlField(noKey.body, 'Code'), 'InvalidRequest', 'InvalidRequest');
  t.notOk(noKey.body.toString().includes('sealed with my key'), 'no plaintext without the key');
  const wrongKey = await anonTls({ method: 'GET', path: objectPath(bucket, 'sse-c.txt'), headers: ssecHeaders(randomBytes(32)) });
  t.equal(wrongKey.status, 403, 'anonymous GET of an SSE-C object with a wrong key: 403');
  t.notOk(wrongKey.body.toString().includes('sealed with my key'), 'no plaintext with a wrong key');
  const withKey = await anonTls({ method: 'GET', path: objectPath(bucket, 'sse-c.txt'), headers: ssecHeaders(customerKey) });
  t.equal(withKey.status, 200, 'anonymous GET of an SSE-C object with its key: 200');
  t.equal(withKey.body.toString(), 'sealed with my key', 'the plaintext');

  // SSE-S3 over plain HTTP too, with the anonymous minio client.
  const bucket2 = await createBucket(s3, 'sse');
  await s3.send(new PutObjectCommand({ Bucket: bucket2, Key: 'k.bin', Body: testBytes(300_000, 3), ServerSideEncryption: 'AES256' }));
  await setPolicy(bucket2, mcDownload(bucket2));
  const anonMc = new MinioClient({ endPoint: '127.0.0.1', port: d.port, useSSL: false, accessKey: '', secretKey: '', region: REGION, pathStyle: true });
  const chunks: Buffer[] = [];
  for await (const c of await anonMc.getObject(bucket2, 'k.bin')) chunks.push(c as Buffer);
  t.equal(md5Hex(Buffer.concat(chunks)), md5Hex(testBytes(300_000, 3)), 'anonymous minio-js getObject of a 300 kB SSE-S3 object: the plaintext');
});
