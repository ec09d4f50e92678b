// KES outages with the daemon against the fixture over real mTLS: one of two servers killed
// mid-load loses no request; both stopped → SSE-S3/SSE-KMS PUTs get 503 with a clear message,
// readiness 503, while cached objects still read and plain/SSE-C traffic still works; KES back →
// recovers without restarting s3d; s3d started while KES is down → not ready, then ready.

import t from 'tap';
import type { Test } from 'tap';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { ROOT_CREDENTIALS, startDaemonFor, testBytes } from '../helpers/daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { createTestPki } from '../fixtures/kes-server/certs.js';
import { startKesServer } from '../fixtures/kes-server/server.js';
import { KES_TEST_KEY, kesEnv, kesServer, metricSample, readyStatus, scrape, signedFetch, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { ssec } from '../helpers/sse.js';
import { sleep } from '../helpers/wait.js';

/** One PKI for every fixture here: the daemon trusts the first one's CA for all of them. */
const pki = await createTestPki();

async function daemon(t: Test, env: Record<string, string>, tls = false): Promise<{ d: TestDaemon; s3: S3Client }> {
  const d = await startDaemonFor(t, { env, tls });
  return { d, s3: wideS3Client(d) };
}

function describeErr(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return `${e.$metadata?.httpStatusCode ?? '-'} ${e.name}: ${e.message}`;
}

t.test('killing one of two KES servers mid-load loses no request', async (t) => {
  const a = await kesServer(t, { pki });
  const b = await kesServer(t, { pki });
  // No cache: every PUT generates and every GET decrypts at KES, so the load really rides on it.
  const { d, s3 } = await daemon(t, kesEnv([a, b], { extra: { S3_KMS_CACHE_TTL: '0' } }));
  await waitReady(d.endpoint);
  const bucket = await createBucket(s3);

  let stop = false;
  let ops = 0;
  const errors: string[] = [];
  const worker = async (w: number): Promise<void> => {
    for (let n = 0; !stop; n++) {
      const key = `w${w}/${n}`;
      const body = testBytes(2048 + n, w * 1000 + n);
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ServerSideEncryption: 'AES256' }));
        const got = await getBytes(s3, { Bucket: bucket, Key: key });
        if (!got.equals(body)) errors.push(`${key}: wrong bytes`);
        ops += 2;
      } catch (err) {
        errors.push(`${key}: ${describeErr(err)}`);
      }
    }
  };
  // Each KES answer takes 20 ms, so with 8 workers some calls are always in flight at A when it dies.
  a.setFaults({ latencyMs: 20 });
  const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  for (let waited = 0; ops < 40 && waited < 20_000; waited += 50) await sleep(50); // load established
  const beforeKill = a.counters().requests;
  const opsAtKill = ops;
  await a.stop(); // both endpoints are local: A (listed first) carried the load
  // Load goes on until twice the operations asserted below have completed after the kill (the
  // calls in flight at A when it died among them), not for a fixed time: B answers at once, and
  // seconds of unthrottled load cost CPU and prove no more.
  for (let waited = 0; ops - opsAtKill < 40 && waited < 20_000; waited += 50) await sleep(50);
  stop = true;
  await load;

  t.same(errors, [], 'every PUT and GET succeeded');
  t.ok((beforeKill.generate ?? 0) + (beforeKill.decrypt ?? 0) >= 20, `A served the load before it died (${JSON.stringify(beforeKill)})`);
  const byB = b.counters().requests;
  t.ok((byB.generate ?? 0) > 0 && (byB.decrypt ?? 0) > 0, `B took over (${JSON.stringify(byB)})`);
  t.ok(ops - opsAtKill >= 20, `requests kept flowing after the kill (${opsAtKill} before, ${ops - opsAtKill} after)`);

  const status = await signedFetch(d.endpoint, 'POST', '/minio/admin/v3/kms/status', ROOT_CREDENTIALS);
  t.same(JSON.parse(status.text), { name: 'MinIO KES', 'default-key-id': KES_TEST_KEY, endpoints: { [a.url]: 'offline', [b.url]: 'online' } });
  t.equal(await readyStatus(d.endpoint), 200, 'still ready with one endpoint');
  const m = await scrape(d.endpoint);
  t.equal(metricSample(m, 's3d_kms_endpoint_healthy', { endpoint: a.url }), 0);
  const aErrors = (metricSample(m, 's3d_kms_request_errors_total', { endpoint: a.url, route: 'generate', reason: 'network' }) ?? 0) +
    (metricSample(m, 's3d_kms_request_errors_total', { endpoint: a.url, route: 'decrypt', reason: 'network' }) ?? 0);
  t.ok(aErrors >= 1, `metrics: calls to A failed (${aErrors}) and were failed over`);
  t.equal(metricSample(m, 's3d_kms_endpoint_healthy', { endpoint: b.url }), 1);
  t.ok((metricSample(m, 's3d_kms_requests_total', { endpoint: b.url, route: 'generate', code: '200' }) ?? 0) > 0, 'metrics: B answered generates');
});

t.test('KES down: SSE-S3 PUT 503 with a clear message, cached objects, plain and SSE-C still served; KES back: recovered in place', async (t) => {
  const kes = await kesServer(t, { pki });
  const { d, s3 } = await daemon(t, kesEnv([kes]), true); // TLS: SSE-C needs it
  const ca = d.caCert;
  await waitReady(d.endpoint, 200, 30_000, ca);
  const bucket = await createBucket(s3);
  const cachedBody = testBytes(100_000, 1);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cached', Body: cachedBody, ServerSideEncryption: 'AES256' }));
  const plainBody = testBytes(5000, 2);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: plainBody }));
  const ck = Buffer.alloc(32, 0x5c);
  const withKey = ssec(ck);
  const ssecBody = testBytes(7000, 3);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ssec', Body: ssecBody, ...withKey }));
  const pid = d.proc.pid;

  await kes.stop();
  await waitReady(d.endpoint, 503, 10_000, ca);
  const ready = await signedFetch(d.endpoint, 'GET', '/minio/health/ready', undefined, ca);
  t.equal(ready.headers['x-s3d-not-ready'], 'KMS unreachable', 'readiness says why');
  t.equal((await signedFetch(d.endpoint, 'GET', '/minio/health/live', undefined, ca)).status, 200, 'live stays 200');

  for (const sse of [{ ServerSideEncryption: 'AES256' as const }, { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: KES_TEST_KEY }]) {
    const err = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'new', Body: 'x', ...sse })).then(() => undefined, (e: unknown) => e);
    t.ok(err, `${sse.ServerSideEncryption} PUT refused`);
    t.match(err, { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 }, message: /key management service is unreachable/ }, describeErr(err));
    // Not which endpoints failed, and how: that is the server's infrastructure (the log says it).
    t.notMatch((err as Error).message, /https:|127\.0\.0\.1|ECONNREFUSED|endpoint/, 'the client is not told the KMS endpoints');
  }

  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'cached' })).equals(cachedBody), 'a cached SSE-S3 object still reads');
  t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cached' })), { ServerSideEncryption: 'AES256' });
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'plain' })).equals(plainBody), 'plain GET');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain2', Body: plainBody }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'plain2' })).equals(plainBody), 'plain PUT + GET');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'ssec', ...withKey })).equals(ssecBody), 'SSE-C GET');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ssec2', Body: ssecBody, ...withKey }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'ssec2', ...withKey })).equals(ssecBody), 'SSE-C PUT + GET');

  const m = await scrape(d.endpoint, ca);
  t.ok((metricSample(m, 's3d_kms_call_errors_total', { route: 'generate', code: 'Unavailable' }) ?? 0) >= 2, 'metrics: generate Unavailable counted');
  t.ok((metricSample(m, 's3d_kms_request_errors_total', { endpoint: kes.url, route: 'generate', reason: 'network' }) ?? 0) >= 2, 'metrics: network errors per endpoint');
  const offline = await signedFetch(d.endpoint, 'GET', '/minio/admin/v3/kms/status', ROOT_CREDENTIALS, ca);
  t.same(JSON.parse(offline.text).endpoints, { [kes.url]: 'offline' });
  const keyStatus = await signedFetch(d.endpoint, 'GET', '/minio/admin/v3/kms/key/status', ROOT_CREDENTIALS, ca);
  t.match(JSON.parse(keyStatus.text), { 'key-id': KES_TEST_KEY, 'encryption-error': /no endpoint reachable/ });

  await kes.start();
  const took = await waitReady(d.endpoint, 200, 15_000, ca);
  t.ok(took < 5000, `ready again ${took} ms after KES came back`);
  const afterBody = testBytes(3000, 4);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: afterBody, ServerSideEncryption: 'AES256' }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'after' })).equals(afterBody), 'SSE-S3 PUT + GET after recovery');
  t.equal(d.proc.pid, pid);
  t.equal(d.proc.exitCode, null, 'same s3d process throughout');
  const online = await signedFetch(d.endpoint, 'GET', '/minio/admin/v3/kms/status', ROOT_CREDENTIALS, ca);
  t.same(JSON.parse(online.text).endpoints, { [kes.url]: 'online' });
});

t.test('s3d starts while KES is down: serves, not ready; ready once KES is up (default key created then)', async (t) => {
  const kes = await startKesServer({ pki }); // empty keystore
  t.teardown(() => kes.close());
  await kes.stop();
  const { d, s3 } = await daemon(t, kesEnv([kes], { keyName: 's3d-late-key' }));
  t.equal(await readyStatus(d.endpoint), 503, 'not ready while KES is down');
  const bucket = await createBucket(s3);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: 'hello' }));
  const err = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'enc', Body: 'x', ServerSideEncryption: 'AES256' })).then(() => undefined, (e: unknown) => e);
  t.match(err, { $metadata: { httpStatusCode: 503 } }, 'SSE-S3 refused with 503 meanwhile');

  await sleep(1500);
  await kes.start();
  const took = await waitReady(d.endpoint, 200, 20_000);
  t.ok(took < 5000, `ready ${took} ms after KES started`);
  t.equal(kes.counters().requests.create, 1, 'the default key was created once KES was reachable');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'enc', Body: 'secret', ServerSideEncryption: 'AES256' }));
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'enc' })).toString(), 'secret');
});
