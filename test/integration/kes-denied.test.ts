// KES refusing s3d's identity (403 "not authorized: insufficient permissions") against the fixture
// over real mTLS: a policy problem, not an outage. Clients get a non-retryable 403 AccessDenied
// (not 503), start-up logs an error naming the missing permission (never "default key ready"),
// readiness is 503 'KMS access denied' and the KMS status shows no endpoint online; fixing the
// policy at KES makes s3d ready without a restart. `s3d verify --deep` stops (exit 2) instead of
// reporting every encrypted object as damaged.

import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ROOT_CREDENTIALS, runS3d, startDaemonFor } from '../helpers/daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { createTestPki, writeCertFiles } from '../fixtures/kes-server/certs.js';
import type { CertPair } from '../fixtures/kes-server/certs.js';
import type { KesServerHandle } from '../fixtures/kes-server/server.js';
import { KES_TEST_KEY, kesEnv, kesServer, signedFetch, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, expectS3Error } from '../helpers/s3.js';
import { waitForLog } from '../helpers/wait.js';

const pki = await createTestPki();
const dir = mkdtempSync(join(tmpdir(), 's3d-kes-denied-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** The daemon pointed at `kes` with the client certificate `pair` instead of the admin one. */
async function daemonAs(t: Test, kes: KesServerHandle, name: string, pair: CertPair): Promise<TestDaemon> {
  const files = await writeCertFiles(dir, name, pair);
  return startDaemonFor(t, { env: { ...kesEnv([kes]), S3_KMS_KES_CERT_FILE: files.certFile, S3_KMS_KES_KEY_FILE: files.keyFile } });
}

const LEVEL_ERROR = 50;
const isDeniedLine = (l: Record<string, unknown>): boolean => l.level === LEVEL_ERROR && /lacks permission for the default key/.test(String(l.msg));

t.test('an identity KES does not know: 403 AccessDenied to clients, error at start-up, not ready, status not online', async (t) => {
  const kes = await kesServer(t, { pki });
  const d = await daemonAs(t, kes, 'stranger', pki.stranger);
  await waitForLog(d.logs, isDeniedLine);
  const line = d.jsonLogs().find(isDeniedLine)!;
  t.match(line, { key: KES_TEST_KEY, identity: pki.stranger.identity, err: /not authorized: insufficient permissions/ }, 'the error line names key, identity and KES answer');
  t.notOk(d.jsonLogs().some((l) => l.msg === 'KES reachable, default key ready'), 'never claims the default key is ready');

  const ready = await signedFetch(d.endpoint, 'GET', '/minio/health/ready', undefined);
  t.equal(ready.status, 503, 'readiness 503');
  t.equal(ready.headers['x-s3d-not-ready'], 'KMS access denied', 'readiness says why');
  const status = await signedFetch(d.endpoint, 'POST', '/minio/admin/v3/kms/status', ROOT_CREDENTIALS);
  t.same(JSON.parse(status.text).endpoints, { [kes.url]: 'offline' }, 'a 403 on /v1/status is not "online"');

  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  for (const sse of [{ ServerSideEncryption: 'AES256' as const }, { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: KES_TEST_KEY }]) {
    await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'x', ...sse })), 'AccessDenied', 403, `${sse.ServerSideEncryption} PUT`);
  }
  const raw = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'x', ServerSideEncryption: 'AES256' })).catch((e: unknown) => e as { message: string; $response?: unknown });
  t.match(raw, { message: /key management service does not allow this server's identity/ }, 'the message names the KMS refusal');
  // Not KES's own answer or address: those describe the server's infrastructure, and the log has them.
  t.notMatch((raw as { message: string }).message, /not authorized|https?:\/\/|127\.0\.0\.1/, 'and nothing of the KMS behind it');
  const logged = await d.waitForLog((l) => l.msg === 'KMS request failed');
  t.match(JSON.stringify(logged.err), /not authorized/, 'the log has KES\'s answer');
});

t.test('/v1/status allowed, the default key not: error at start-up, not ready; policy fixed at KES → ready without restart', async (t) => {
  const kes = await kesServer(t, { pki, policies: { narrow: { allow: ['/v1/status'], identities: [pki.app.identity] } } });
  const d = await daemonAs(t, kes, 'app', pki.app);
  await waitForLog(d.logs, isDeniedLine);
  const ready = await signedFetch(d.endpoint, 'GET', '/minio/health/ready', undefined);
  t.equal(ready.status, 503, 'readiness 503 although /v1/status answers');
  t.equal(ready.headers['x-s3d-not-ready'], 'KMS access denied');
  const status = await signedFetch(d.endpoint, 'POST', '/minio/admin/v3/kms/status', ROOT_CREDENTIALS);
  t.same(JSON.parse(status.text).endpoints, { [kes.url]: 'online' }, 'the endpoint itself answers /v1/status');

  kes.api.state.policies.narrow!.allow.push(`/v1/key/generate/${KES_TEST_KEY}`, `/v1/key/decrypt/${KES_TEST_KEY}`);
  await waitReady(d.endpoint, 200, 30_000);
  await waitForLog(d.logs, (l) => l.msg === 'KES reachable, default key ready');
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'x', ServerSideEncryption: 'AES256' }));
  t.pass('SSE-S3 PUT works once the policy allows it');
});

t.test('s3d verify --deep with an identity KES refuses: stops with exit 2, reports no object', async (t) => {
  const kes = await kesServer(t, { pki });
  const d = await startDaemonFor(t, { env: kesEnv([kes]) });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  const bucket = await createBucket(s3);
  for (const key of ['a', 'b']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'secret', ServerSideEncryption: 'AES256' }));
  const files = await writeCertFiles(dir, 'stranger-verify', pki.stranger);
  const env = { S3_CRYPTO_WORKERS: '2', ...kesEnv([kes]), S3_KMS_KES_CERT_FILE: files.certFile, S3_KMS_KES_KEY_FILE: files.keyFile };
  // Asynchronously: the fixture answers from this process's event loop.
  const run = await runS3d(['verify', d.dataDir, '--deep'], env, 60_000);
  t.equal(run.code, 2, `exit 2 (${run.stderr.trim()})`);
  t.notMatch(run.stdout, /^PROBLEM /m, 'no object reported as damaged');
  t.match(run.stdout + run.stderr, /not authorized/, 'says why');
});
