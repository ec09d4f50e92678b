// The daemon against the KES fixture (test/fixtures/kes-server) in integration tests: a fixture
// per test, the S3_KMS_KES_* environment for it (credential files written to a temp dir), a wide S3
// client, SigV4-signed admin API requests, readiness polling, fixture counter deltas and the
// daemon's KMS metrics.

import type { Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { EMPTY_SHA256 } from '../../daemon/auth/sigv4.js';
import { signRequest } from '../../daemon/auth/sign.js';
import { encryptKeyPem } from '../fixtures/kes-server/certs.js';
import { startKesServer } from '../fixtures/kes-server/server.js';
import type { KesCounters, KesServerHandle, KesServerOptions } from '../fixtures/kes-server/server.js';
import { REGION, startDaemonFor, type TestDaemon } from './daemon.js';
import { clientFor, createBucket } from './s3.js';
import { pollUntil, sleep } from './wait.js';

export const KES_TEST_KEY = 'my-minio-key';
/** The fixture's key material for KES_TEST_KEY. */
export const KES_MASTER_KEY = Buffer.alloc(32, 0x42);

/** A KES fixture holding KES_TEST_KEY (plus `opts`), closed when the test ends. */
export async function kesServer(t: Test, opts: KesServerOptions = {}): Promise<KesServerHandle> {
  const s = await startKesServer({ keys: [{ name: KES_TEST_KEY, key: KES_MASTER_KEY }], ...opts });
  t.teardown(() => s.close());
  return s;
}

export interface KesEnvOptions {
  /** Client credentials: the fixture's admin pair (default), or a password-protected copy of it. */
  keyFormat?: 'plain' | 'pkcs8' | 'legacy';
  password?: string;
  keyName?: string;
  extra?: Record<string, string>;
}

const envDirs = new Set<string>();
let cleanupHooked = false;

/** A temp dir for credential files, removed when the test process exits. */
function credentialDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 's3d-kes-env-'));
  envDirs.add(dir);
  if (!cleanupHooked) {
    cleanupHooked = true;
    process.once('exit', () => {
      for (const d of envDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** S3_KMS_KES_* variables pointing the daemon at `servers` with the admin identity's certificate. */
export function kesEnv(servers: KesServerHandle[], opts: KesEnvOptions = {}): Record<string, string> {
  const certs = servers[0]!.certs;
  const dir = credentialDir();
  const certFile = join(dir, 'client.crt');
  const keyFile = join(dir, 'client.key');
  const caFile = join(dir, 'ca.crt');
  writeFileSync(certFile, certs.admin.cert);
  const format = opts.keyFormat ?? 'plain';
  const password = opts.password ?? 'correct horse battery staple';
  writeFileSync(keyFile, format === 'plain' ? certs.admin.key : encryptKeyPem(certs.admin.key, password, format), { mode: 0o600 });
  writeFileSync(caFile, certs.caCert);
  return {
    S3_KMS_KES_ENDPOINT: servers.map((s) => s.url).join(','),
    S3_KMS_KES_CERT_FILE: certFile,
    S3_KMS_KES_KEY_FILE: keyFile,
    S3_KMS_KES_CAPATH: caFile,
    S3_KMS_KES_KEY_NAME: opts.keyName ?? KES_TEST_KEY,
    ...(format === 'plain' ? {} : { S3_KMS_KES_KEY_PASSWORD: password }),
    ...(opts.extra ?? {}),
  };
}

/** An S3 client of `d` with room for many parallel requests (the SDK's default agent allows 50 sockets), no retries. */
export function wideS3Client(d: Pick<TestDaemon, 'endpoint' | 'caCert'>): S3Client {
  return clientFor(d, {
    requestHandler: d.caCert
      ? { httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 256, ca: d.caCert }) }
      : { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256 }) },
    // Proofs count KMS calls per request: an SDK retry would blur them.
    maxAttempts: 1,
  });
}

/** A fixture, a daemon on it that encrypts every object with its default key (ready), and a bucket. */
export async function autoEncryptingDaemon(t: Test, pki: KesServerOptions['pki']): Promise<{ kes: KesServerHandle; d: TestDaemon; s3: S3Client; bucket: string }> {
  const kes = await kesServer(t, { pki });
  const d = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_AUTO_ENCRYPTION: 'on' } }) });
  await waitReady(d.endpoint);
  const s3 = wideS3Client(d);
  return { kes, d, s3, bucket: await createBucket(s3) };
}

export interface SignedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const agents = new Map<string, Agent>();
/** An undici agent trusting `ca` (the daemon's test CA when it serves TLS). */
function agentFor(ca: string | undefined): Agent {
  const id = ca ?? '';
  let a = agents.get(id);
  if (!a) {
    a = new Agent(ca ? { connect: { ca } } : {});
    agents.set(id, a);
  }
  return a;
}

/**
 * A request to the daemon, SigV4-signed for `creds` (service s3, us-east-1, empty payload) as
 * madmin signs admin API calls, or anonymous without them. `ca` trusts a TLS daemon's test CA.
 */
export async function signedFetch(
  endpoint: string,
  method: string,
  pathAndQuery: string,
  creds: { accessKeyId: string; secretAccessKey: string } | undefined,
  ca?: string,
): Promise<SignedResponse> {
  const url = new URL(pathAndQuery, endpoint);
  const headers: Record<string, string> = creds
    ? signRequest({
        method,
        rawPath: url.pathname,
        rawQuery: url.search.replace(/^\?/, ''),
        headers: { host: url.host, 'x-amz-content-sha256': EMPTY_SHA256 },
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        region: REGION,
      }).headers
    : {};
  const res = await request(url, { method: method as Dispatcher.HttpMethod, headers, dispatcher: agentFor(ca) });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** Status of GET /minio/health/ready. */
export async function readyStatus(endpoint: string, ca?: string): Promise<number> {
  return (await signedFetch(endpoint, 'GET', '/minio/health/ready', undefined, ca)).status;
}

/** Poll readiness until it equals `want`; returns the time it took (ms). Throws after `timeoutMs`. */
export async function waitReady(endpoint: string, want = 200, timeoutMs = 30_000, ca?: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    const status = await readyStatus(endpoint, ca).catch(() => 0);
    if (status === want) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`readiness stayed ${status}, wanted ${want} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Requests per route since `before` (routes with no change omitted). */
export function requestDelta(before: KesCounters, after: KesCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [route, n] of Object.entries(after.requests)) {
    const d = n - (before.requests[route] ?? 0);
    if (d !== 0) out[route] = d;
  }
  return out;
}

/** Sum of requests over every route except the readiness/status probes. */
export function keyCalls(delta: Record<string, number>): number {
  return Object.entries(delta).filter(([route]) => route !== 'status').reduce((n, [, v]) => n + v, 0);
}

/** Value of one sample in Prometheus text exposition (labels matched as a subset), or undefined. */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** The daemon's Prometheus exposition (anonymous, as scrapers call it). */
export async function scrape(endpoint: string, ca?: string): Promise<string> {
  return (await signedFetch(endpoint, 'GET', '/minio/v2/metrics/cluster', undefined, ca)).text;
}

/**
 * The metrics after a usage scan (S3_USAGE_SCAN_INTERVAL) that began after this call: the first
 * scan to end after it may have begun before it, so the one that ends after that one.
 */
export async function nextUsageScan(endpoint: string, ca?: string): Promise<string> {
  const ended = (text: string): number => metricSample(text, 's3d_usage_scan_timestamp_seconds') ?? 0;
  const called = Date.now() / 1000;
  const first = ended(await pollUntil(() => scrape(endpoint, ca), (text) => ended(text) > called, 20_000, 100));
  const text = await pollUntil(() => scrape(endpoint, ca), (text) => ended(text) > first, 20_000, 100);
  if (!(first > called && ended(text) > first)) throw new Error('no two usage scans ended within 20 s each');
  return text;
}
