// The daemon configured for KES through S3_KMS_KES_* against the fixture over real mTLS: client
// certificate files (plain, password-protected PKCS#8 and legacy PEM), an API key, start-up errors
// (two KMS kinds, API key with certificate files, wrong password), the MinIO KMS admin API (root
// only) and the KMS metrics on /minio/v2/metrics/cluster.

import t from 'tap';
import type { Test } from 'tap';
import { dirname } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, ROOT_CREDENTIALS, TEST_KMS_SECRET, bucketName, startDaemon, startDaemonFor, testBytes } from '../helpers/daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { parseApiKey } from '../../daemon/kms/kes-identity.js';
import { createTestPki, writeCertFiles } from '../fixtures/kes-server/certs.js';
import type { KesServerHandle } from '../fixtures/kes-server/server.js';
import {
  KES_TEST_KEY,
  kesEnv,
  kesServer,
  keyCalls,
  metricSample,
  requestDelta,
  scrape,
  signedFetch,
  waitReady,
  wideS3Client,
} from '../helpers/kes.js';
import { createBucket, getBytes } from '../helpers/s3.js';

/** One PKI for every fixture here: the daemon's logs are checked for its admin identity. */
const pki = await createTestPki();
const API_KEY = 'kes:v1:AAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f';

async function daemon(t: Test, env: Record<string, string>, opts: { kms?: boolean; dev?: boolean } = {}): Promise<TestDaemon> {
  const d = await startDaemonFor(t, { env, ...opts });
  return d;
}

/** SSE-S3 and SSE-KMS round trips through the daemon; the KES calls they caused. */
async function roundTrip(t: Test, d: TestDaemon, kes: KesServerHandle): Promise<void> {
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  const body = testBytes(50_000, 7);
  const before = kes.counters();
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 's3', Body: body, ServerSideEncryption: 'AES256' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'kms', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KES_TEST_KEY }));
  t.equal(requestDelta(before, kes.counters()).generate, 2, 'one KES generate per PUT');
  for (const key of ['s3', 'kms']) {
    t.ok((await getBytes(s3, { Bucket: bucket, Key: key })).equals(body), `${key}: bytes round-trip`);
  }
  t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 's3' })), { ServerSideEncryption: 'AES256' });
  t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'kms' })), { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: `arn:aws:kms:${KES_TEST_KEY}` });
}

function kesLog(d: TestDaemon): Record<string, unknown> | undefined {
  return d.jsonLogs().find((l) => l.msg === 'KMS: KES');
}

t.test('client certificate and key files, CA from S3_KMS_KES_CAPATH; KMS metrics on /minio/v2/metrics/cluster: by endpoint and route, errors, latency, cache, batches', async (t) => {
  const kes = await kesServer(t, { pki });
  const d = await daemon(t, kesEnv([kes]));
  await roundTrip(t, d, kes);
  t.match(kesLog(d), { endpoints: [kes.url], key: KES_TEST_KEY, identity: pki.admin.identity, auth: 'certificate' });

  // The metrics after that round trip (and two more requests), on the same daemon.
  const s3 = wideS3Client(d);
  const err = await s3.send(new PutObjectCommand({ Bucket: 'nope-' + bucketName(), Key: 'x', Body: 'x' })).catch((e: unknown) => e);
  t.match(err, { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }, 'an unrelated failure (NoSuchBucket)');
  await signedFetch(d.endpoint, 'GET', '/minio/admin/v3/kms/key/status?key-id=no-such-key', ROOT_CREDENTIALS);

  const m = await scrape(d.endpoint);
  const ep = kes.url;
  t.ok((metricSample(m, 's3d_kms_requests_total', { endpoint: ep, route: 'generate', code: '200' }) ?? 0) >= 2, 'generate calls by endpoint');
  t.equal(metricSample(m, 's3d_kms_requests_total', { endpoint: ep, route: 'generate', code: '404' }), 1, 'the missing key (admin key status)');
  t.equal(metricSample(m, 's3d_kms_request_errors_total', { endpoint: ep, route: 'generate', reason: 'http_404' }), 1);
  t.ok((metricSample(m, 's3d_kms_requests_total', { endpoint: ep, route: 'status', code: '200' }) ?? 0) >= 1, 'status probes by endpoint');
  t.ok((metricSample(m, 's3d_kms_request_duration_seconds_count', { endpoint: ep, route: 'generate' }) ?? 0) >= 3, 'latency histogram (the 404 included)');
  t.ok(metricSample(m, 's3d_kms_request_duration_seconds_bucket', { endpoint: ep, route: 'generate', le: '+Inf' }) !== undefined);
  t.equal(metricSample(m, 's3d_kms_calls_total', { route: 'generate' }), 2, 'provider calls by route: the two PUTs (admin key status bypasses the cache layer)');
  t.ok((metricSample(m, 's3d_kms_call_duration_seconds_sum', { route: 'generate' }) ?? -1) >= 0);
  t.equal(metricSample(m, 's3d_kms_cache_hits_total'), 2, 'the GETs after their PUTs hit the KMS cache (primed by generate)');
  t.equal(metricSample(m, 's3d_sse_object_key_cache_hits_total'), 0, 'the HEADs after the GETs need no object key (the record answers them)');
  t.equal(metricSample(m, 's3d_sse_object_key_cache_misses_total'), 2, 'the GETs unsealed their object keys');
  t.equal(metricSample(m, 's3d_kms_cache_misses_total'), 0);
  t.equal(metricSample(m, 's3d_kms_cache_entries'), 2);
  t.equal(metricSample(m, 's3d_kms_batch_size_count'), 0);
  t.equal(metricSample(m, 's3d_kms_endpoint_healthy', { endpoint: ep }), 1);
  t.match(m, /# HELP s3d_kms_requests_total /);
  t.match(m, /# TYPE s3d_kms_cache_hits_total counter/);
  t.notMatch(m, /s3d_kms_stat\b/, 'no flattened stats gauge');
});

for (const format of ['pkcs8', 'legacy'] as const) {
  t.test(`password-protected client key (${format === 'pkcs8' ? 'encrypted PKCS#8' : 'legacy Proc-Type: 4,ENCRYPTED PEM'}) with S3_KMS_KES_KEY_PASSWORD`, async (t) => {
    const kes = await kesServer(t, { pki });
    const env = kesEnv([kes], { keyFormat: format, password: 'pa55 w0rd' });
    const { readFileSync } = await import('node:fs');
    const pem = readFileSync(env.S3_KMS_KES_KEY_FILE!, 'utf8');
    t.match(pem, format === 'pkcs8' ? /BEGIN ENCRYPTED PRIVATE KEY/ : /Proc-Type: 4,ENCRYPTED/, 'the key file really is encrypted');
    const d = await daemon(t, env);
    await roundTrip(t, d, kes);
    t.match(kesLog(d), { identity: pki.admin.identity });
  });
}

t.test('API key (S3_KMS_KES_API_KEY): derived client certificate, identity of the key', async (t) => {
  const identity = parseApiKey(API_KEY).identity;
  const kes = await kesServer(t, { pki, adminIdentity: identity });
  const env = kesEnv([kes]);
  const d = await daemon(t, {
    S3_KMS_KES_ENDPOINT: kes.url,
    S3_KMS_KES_API_KEY: API_KEY,
    S3_KMS_KES_CAPATH: env.S3_KMS_KES_CAPATH!,
    S3_KMS_KES_KEY_NAME: KES_TEST_KEY,
  });
  await roundTrip(t, d, kes);
  t.match(kesLog(d), { identity, auth: 'api-key' });
});

t.test('start-up errors name the variables at fault (exit code 2)', async (t) => {
  const kes = await kesServer(t, { pki });
  const env = kesEnv([kes]);
  const caTrue = await writeCertFiles(dirname(env.S3_KMS_KES_CERT_FILE!), 'ca-true', pki.strangerCa);
  const cases: Array<[string, Record<string, string>, RegExp[]]> = [
    ['two KMS kinds', { ...env, S3_KMS_SECRET_KEY: TEST_KMS_SECRET }, [/S3_KMS_KES_ENDPOINT/, /S3_KMS_SECRET_KEY/]],
    ['two KMS kinds (KES by API key only)', { S3_KMS_KES_API_KEY: API_KEY, S3_KMS_SECRET_KEY: TEST_KMS_SECRET }, [/S3_KMS_KES_API_KEY/, /S3_KMS_SECRET_KEY/]],
    ['API key and certificate files', { ...env, S3_KMS_KES_API_KEY: API_KEY }, [/S3_KMS_KES_API_KEY/, /S3_KMS_KES_CERT_FILE/, /S3_KMS_KES_KEY_FILE/]],
    ['wrong key password', { ...kesEnv([kes], { keyFormat: 'pkcs8', password: 'right' }), S3_KMS_KES_KEY_PASSWORD: 'wrong' }, [/S3_KMS_KES_KEY_PASSWORD/, /wrong password/]],
    ['encrypted key without password', { ...kesEnv([kes], { keyFormat: 'legacy' }), S3_KMS_KES_KEY_PASSWORD: '' }, [/S3_KMS_KES_KEY_PASSWORD/]],
    ['KES half configured', { S3_KMS_KES_KEY_NAME: KES_TEST_KEY }, [/S3_KMS_KES_ENDPOINT: not set/]],
    // The files alone: every variable missing named, and the one set (it selected KES).
    ['KES client files alone', { S3_KMS_KES_KEY_FILE: env.S3_KMS_KES_KEY_FILE! }, [/^s3d: S3_KMS_KES_ENDPOINT: not set; KES is configured in part \(any S3_KMS_KES_\* variable selects it\): set S3_KMS_KES_KEY_FILE; missing S3_KMS_KES_ENDPOINT, S3_KMS_KES_KEY_NAME, S3_KMS_KES_CERT_FILE\. .*or unset every S3_KMS_KES_\* variable to run without KES$/]],
    ['bad cache variable', { ...env, S3_KMS_BATCH_WINDOW_MS: 'soon' }, [/S3_KMS_BATCH_WINDOW_MS: 'soon' must be a plain decimal number/]],
    ['CA:TRUE client certificate', { ...env, S3_KMS_KES_CERT_FILE: caTrue.certFile, S3_KMS_KES_KEY_FILE: caTrue.keyFile }, [/^s3d: S3_KMS_KES_CERT_FILE: .* is a CA certificate \(basic constraints CA:TRUE/]],
  ];
  for (const [name, vars, patterns] of cases) {
    const err = await startDaemon({ env: vars }).then(
      async (d) => {
        await d.stop();
        d.cleanup();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    t.ok(err, `${name}: refused to start`);
    t.match(err?.message, /exited with 2/, `${name}: configuration error exit code`);
    const line = err?.message.split('\n').find((l) => l.startsWith('s3d: ')) ?? '';
    for (const p of patterns) t.match(line, p, `${name}: ${line}`);
  }
});

t.test('S3_KMS_KES_KEY_PASSWORD with an unencrypted key file: a start-up warning, and s3d works', async (t) => {
  const kes = await kesServer(t, { pki });
  const d = await daemon(t, kesEnv([kes], { extra: { S3_KMS_KES_KEY_PASSWORD: 'not needed' } }));
  await roundTrip(t, d, kes);
  const warn = d.jsonLogs().find((l) => l.level === 40 && /S3_KMS_KES_KEY_PASSWORD is set but the key in S3_KMS_KES_KEY_FILE/.test(String(l.msg)));
  t.ok(warn, 'warned that the password is not used');
  t.notOk(d.logs.some((l) => l.includes('not needed')), 'the password itself is not logged');
});

t.test('KMS admin API: MinIO status shapes, key status through KES, root only', async (t) => {
  const a = await kesServer(t, { pki });
  const b = await kesServer(t, { pki });
  await b.stop();
  const d = await daemon(t, kesEnv([a, b]));
  await waitReady(d.endpoint);

  for (const method of ['POST', 'GET']) {
    const r = await signedFetch(d.endpoint, method, '/minio/admin/v3/kms/status', ROOT_CREDENTIALS);
    t.equal(r.status, 200, `${method} kms/status`);
    t.match(r.headers['content-type'], /^application\/json/);
    t.same(JSON.parse(r.text), { name: 'MinIO KES', 'default-key-id': KES_TEST_KEY, endpoints: { [a.url]: 'online', [b.url]: 'offline' } });
  }

  const before = a.counters();
  const ok = await signedFetch(d.endpoint, 'GET', '/minio/admin/v3/kms/key/status', ROOT_CREDENTIALS);
  t.equal(ok.status, 200);
  t.same(JSON.parse(ok.text), { 'key-id': KES_TEST_KEY }, 'default key: no errors');
  t.same(requestDelta(before, a.counters()), { generate: 1, decrypt: 1 }, 'generate and decrypt both reached KES (past the cache)');

  const missing = await signedFetch(d.endpoint, 'GET', '/minio/admin/v3/kms/key/status?key-id=no-such-key', ROOT_CREDENTIALS);
  t.same(JSON.parse(missing.text), { 'key-id': 'no-such-key', 'encryption-error': 'kes: key does not exist' });

  const anonymous = await signedFetch(d.endpoint, 'GET', '/minio/admin/v3/kms/status', undefined);
  t.equal(anonymous.status, 403, 'anonymous: 403');
  t.match(anonymous.text, /<Code>AccessDenied<\/Code>/);
  const stranger = await signedFetch(d.endpoint, 'GET', '/minio/admin/v3/kms/key/status', { accessKeyId: 'someone', secretAccessKey: 'whatever-secret' });
  t.equal(stranger.status, 403, 'another identity: 403');
  t.match(stranger.text, /<Code>InvalidAccessKeyId<\/Code>/);
  const badSecret = await signedFetch(d.endpoint, 'GET', '/minio/admin/v3/kms/status', { accessKeyId: ACCESS_KEY, secretAccessKey: 'not-the-secret' });
  t.equal(badSecret.status, 403);
  t.match(badSecret.text, /<Code>SignatureDoesNotMatch<\/Code>/);
  const wrongMethod = await signedFetch(d.endpoint, 'PUT', '/minio/admin/v3/kms/status', ROOT_CREDENTIALS);
  t.equal(wrongMethod.status, 405);
  t.match(JSON.parse(wrongMethod.text), { Code: 'MethodNotAllowed' });
  const unknownPath = await signedFetch(d.endpoint, 'GET', '/minio/admin/v3/kms/nope', ROOT_CREDENTIALS);
  t.equal(unknownPath.status, 404, 'an unknown admin sub-path is no admin route (docs/kms.md)');
  t.match(unknownPath.text, /<Code>NoSuchBucket<\/Code>/, 'read as a request for the bucket "minio": S3 XML');
  t.equal(keyCalls(requestDelta(before, a.counters())), 3, 'refused calls never reached KES');
});

t.test('KMS admin API: key creation (mc admin kms key create), then objects under the new key', async (t) => {
  const kes = await kesServer(t, { pki });
  const d = await daemon(t, kesEnv([kes]));
  await waitReady(d.endpoint);
  const create = (keyId: string, method = 'POST', creds: typeof ROOT_CREDENTIALS = ROOT_CREDENTIALS) =>
    signedFetch(d.endpoint, method, `/minio/admin/v3/kms/key/create?key-id=${encodeURIComponent(keyId)}`, creds);
  const made = await create('s3d-key-2027');
  t.equal(made.status, 200, 'created: 200');
  t.equal(made.text, '', 'no body, as MinIO answers');
  t.same(kes.api.state.keystore.names().includes('s3d-key-2027'), true, 'the key exists at KES');
  const s3 = wideS3Client(d);
  const Bucket = await createBucket(s3, 'newkey');
  await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'under the new key', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 's3d-key-2027' }));
  t.equal((await getBytes(s3, { Bucket, Key: 'k' })).toString(), 'under the new key', 'an SSE-KMS object under it reads back');
  const again = await create('s3d-key-2027');
  t.equal(again.status, 409, 'creating it again: 409');
  t.match(JSON.parse(again.text), { Code: 'XMinioKMSKeyExists' });
  for (const bad of ['', 'has space', 'x'.repeat(81), 'alias/aws/s3']) {
    const r = await create(bad);
    t.equal(r.status, 400, `key-id ${JSON.stringify(bad)}: 400`);
    t.match(JSON.parse(r.text), { Code: 'InvalidArgument' });
  }
  t.equal((await create('other', 'GET')).status, 405, 'GET: 405');
  t.equal((await create('other', 'POST', { accessKeyId: 'someone', secretAccessKey: 'whatever-secret' })).status, 403, 'another identity: 403');
  t.equal((await signedFetch(d.endpoint, 'POST', '/minio/admin/v3/kms/key/create?key-id=other', undefined)).status, 403, 'anonymous: 403');
  t.notOk(kes.api.state.keystore.names().includes('other'), 'the refused requests created nothing');
  const builtIn = await daemon(t, {});
  const r = await signedFetch(builtIn.endpoint, 'POST', '/minio/admin/v3/kms/key/create?key-id=more', ROOT_CREDENTIALS);
  t.equal(r.status, 501, 'the built-in KMS has its one key: 501');
  t.match(JSON.parse(r.text), { Code: 'NotImplemented', Message: /S3_KMS_SECRET_KEY/ }, 'naming the variable that set it');
  // Under --dev without S3_KMS_SECRET_KEY the one key is the generated file: the message named the variable alone.
  const dev = await daemon(t, {}, { kms: false, dev: true });
  const devAnswer = await signedFetch(dev.endpoint, 'POST', '/minio/admin/v3/kms/key/create?key-id=more', ROOT_CREDENTIALS);
  t.equal(devAnswer.status, 501, '--dev: 501 as well');
  t.match(JSON.parse(devAnswer.text), { Code: 'NotImplemented', Message: /--dev/ }, '--dev: the message names its key file too');
});

t.test('KMS admin API without a KMS: 501 NotImplemented (JSON)', async (t) => {
  const d = await daemon(t, {}, { kms: false });
  for (const path of ['/minio/admin/v3/kms/status', '/minio/admin/v3/kms/key/status']) {
    const r = await signedFetch(d.endpoint, path.endsWith('key/status') ? 'GET' : 'POST', path, ROOT_CREDENTIALS);
    t.equal(r.status, 501);
    t.match(JSON.parse(r.text), { Code: 'NotImplemented', Message: /KMS is not configured/ });
  }
});
