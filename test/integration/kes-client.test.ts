// The KES client against the KES-API fixture over real mTLS on 127.0.0.1: credentials from env
// (encrypted keys, API key, CA directory), error mapping, failover, retries, timeouts, outage and
// recovery, start-up while KES is down, bulk decrypt when advertised, bounded concurrency otherwise.

import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KesClient } from '../../daemon/kms/kes-client.js';
import type { KesClientOptions } from '../../daemon/kms/kes-client.js';
import { loadKesConfig } from '../../daemon/kms/kes-config.js';
import { parseApiKey } from '../../daemon/kms/kes-identity.js';
import { CachingKeyProvider } from '../../daemon/kms/cache.js';
import { createKeyProviderFromEnv } from '../../daemon/kms/index.js';
import { createTestPki, encryptKeyPem } from '../fixtures/kes-server/certs.js';
import { startKesServer } from '../fixtures/kes-server/server.js';
import type { KesServerHandle, KesServerOptions } from '../fixtures/kes-server/server.js';
import { KES_TEST_KEY, kesServer } from '../helpers/kes.js';
import { sleep } from '../helpers/wait.js';
import { pino } from 'pino';
import { LOG_SERIALIZERS } from '../../daemon/log.js';

/** The key every fixture here holds. */
const KEY = KES_TEST_KEY;
const pki = await createTestPki();
const dir = mkdtempSync(join(tmpdir(), 's3d-kes-client-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const caFile = write('ca.crt', pki.caCert);
const ctx = (i: number): Buffer => Buffer.from(`{"bucket":"bucket/object-${i}"}`);

/** A fixture on this file's PKI (the clients below present its certificates). */
function server(t: Test, opts: KesServerOptions = {}): Promise<KesServerHandle> {
  return kesServer(t, { pki, ...opts });
}

function client(t: Test, servers: KesServerHandle[], opts: Partial<KesClientOptions> = {}): KesClient {
  const c = new KesClient({
    endpoints: servers.map((s) => s.url),
    defaultKeyName: KEY,
    cert: pki.admin.cert,
    key: pki.admin.key,
    ca: [pki.caCert],
    retryBaseMs: 5,
    retryJitterMs: 10,
    ...opts,
  });
  t.teardown(() => c.close());
  return c;
}

t.test('key operations and error mapping by status + message', async (t) => {
  const s = await server(t);
  const c = client(t, [s]);
  const dk = await c.generateKey(KEY, ctx(1));
  t.equal(dk.plaintext.length, 32);
  t.equal(dk.ciphertext.length, 76);
  t.same(await c.decrypt(KEY, dk.ciphertext, ctx(1)), dk.plaintext);
  await t.rejects(c.decrypt(KEY, dk.ciphertext, ctx(2)), { code: 'NotAuthentic', status: 400 });
  await t.rejects(c.decrypt('no-such-key', dk.ciphertext, ctx(1)), { code: 'KeyNotFound', status: 404 });
  await t.rejects(c.generateKey('bad name', ctx(1)), { code: 'BadRequest', message: /key name 'bad name' is empty/ });
  await c.createKey('tmp-key');
  await t.rejects(c.createKey('tmp-key'), { code: 'KeyExists' });
  t.match(await c.describeKey('tmp-key'), { name: 'tmp-key', algorithm: 'AES256', createdBy: pki.admin.identity });
  t.same(await c.listKeys(''), [KEY, 'tmp-key']);
  t.same(await c.listKeys('tmp'), ['tmp-key']);
  await c.deleteKey('tmp-key');
  await t.rejects(c.describeKey('tmp-key'), { code: 'KeyNotFound' });
  await c.importKey('imported', Buffer.alloc(32, 1));
  t.equal(await c.version(), '2025-03-12T09-35-18Z');
  t.ok((await c.apis()).some((a) => a.path === '/v1/key/generate/'));
  t.equal(c.bulkDecryptSupported(), false, 'current KES: no bulk route');
  const st = await c.status();
  t.match(st, { kind: 'kes', defaultKey: KEY, endpoints: [{ endpoint: s.url, online: true }] });
  t.ok(s.counters().connections <= 3, `keep-alive reuses connections (${s.counters().connections})`);
});

t.test('policy identity: allowed on its keys, Forbidden elsewhere', async (t) => {
  const s = await server(t);
  const c = client(t, [s], { cert: pki.app.cert, key: pki.app.key });
  const dk = await c.generateKey(KEY, ctx(1));
  t.same(await c.decrypt(KEY, dk.ciphertext, ctx(1)), dk.plaintext);
  await t.rejects(c.createKey('other-key'), { code: 'Forbidden', status: 403 });
  const stranger = client(t, [s], { cert: pki.stranger.cert, key: pki.stranger.key });
  await t.rejects(stranger.generateKey(KEY, ctx(1)), { code: 'Forbidden' });
});

t.test('credentials from env: password-protected key (PKCS#8 and legacy PEM), CA directory', async (t) => {
  const s = await server(t);
  const caDir = join(dir, 'cas');
  mkdirSync(caDir, { recursive: true });
  writeFileSync(join(caDir, 'test-ca.pem'), pki.caCert);
  writeFileSync(join(caDir, 'notes.txt'), 'no certificate here');
  const certFile = write('admin.crt', pki.admin.cert);
  for (const format of ['pkcs8', 'legacy'] as const) {
    const keyFile = write(`admin-${format}.key`, encryptKeyPem(pki.admin.key, 'pa55', format));
    const cfg = await loadKesConfig({
      S3_KMS_KES_ENDPOINT: s.url,
      S3_KMS_KES_KEY_NAME: KEY,
      S3_KMS_KES_CERT_FILE: certFile,
      S3_KMS_KES_KEY_FILE: keyFile,
      S3_KMS_KES_KEY_PASSWORD: 'pa55',
      S3_KMS_KES_CAPATH: caDir,
    });
    const c = new KesClient(cfg);
    t.teardown(() => c.close());
    const dk = await c.generateKey(KEY, ctx(3));
    t.same(await c.decrypt(KEY, dk.ciphertext, ctx(3)), dk.plaintext, `${format} key over mTLS`);
  }
});

t.test('without CAPATH, a KES whose CA is in the system\'s bundle (SSL_CERT_FILE) is trusted, as by MinIO\'s Go client; one it is not in is refused', async (t) => {
  const s = await server(t);
  const creds = { S3_KMS_KES_ENDPOINT: s.url, S3_KMS_KES_KEY_NAME: KEY, S3_KMS_KES_CERT_FILE: write('sys-admin.crt', pki.admin.cert), S3_KMS_KES_KEY_FILE: write('sys-admin.key', pki.admin.key) };
  const trusted = new KesClient({ ...(await loadKesConfig({ ...creds, SSL_CERT_FILE: write('system-bundle.crt', pki.strangerCa.cert + pki.caCert) })), retryBaseMs: 5, retryJitterMs: 10 });
  t.teardown(() => trusted.close());
  const dk = await trusted.generateKey(KEY, ctx(5));
  t.same(await trusted.decrypt(KEY, dk.ciphertext, ctx(5)), dk.plaintext, 'mTLS with the CA from the system bundle (it was Node\'s roots only: refused)');
  const refused = new KesClient({ ...(await loadKesConfig({ ...creds, SSL_CERT_FILE: write('other-bundle.crt', pki.strangerCa.cert) })), retries: 0, retryBaseMs: 5, retryJitterMs: 10 });
  t.teardown(() => refused.close());
  await t.rejects(refused.generateKey(KEY, ctx(6)), { code: 'Unavailable', message: /certificate/i }, 'a CA in no bundle: the server certificate is refused');
});

t.test('API key: derived Ed25519 certificate authenticates as the API key identity', async (t) => {
  const apiKey = 'kes:v1:AAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f';
  const s = await server(t, { adminIdentity: parseApiKey(apiKey).identity });
  const cfg = await loadKesConfig({ S3_KMS_KES_ENDPOINT: s.url, S3_KMS_KES_KEY_NAME: KEY, S3_KMS_KES_API_KEY: apiKey, S3_KMS_KES_CAPATH: caFile });
  t.equal(cfg.identity, 'a050837d85070582ccf7394b0988847cc312cb88259b894899f6f239cf1791a5');
  const c = new KesClient(cfg);
  t.teardown(() => c.close());
  await c.createKey('via-api-key');
  t.match(await c.describeKey('via-api-key'), { createdBy: cfg.identity });
});

t.test('untrusted server certificate: Unavailable, fast, without retries on the same endpoint', async (t) => {
  const s = await server(t);
  const other = await createTestPki();
  const c = client(t, [s], { ca: [other.caCert], retryBaseMs: 2_000 });
  const started = Date.now();
  await t.rejects(c.generateKey(KEY, ctx(1)), { code: 'Unavailable', message: /no endpoint reachable/ });
  t.ok(Date.now() - started < 1_500, 'no retry sleep for a TLS verification failure');
  t.equal(s.counters().requests.generate ?? 0, 0);
});

t.test('503 is retried twice on the same endpoint, then fails', async (t) => {
  const s = await server(t);
  const c = client(t, [s]);
  s.setFaults({ fail503: 2 });
  const dk = await c.generateKey(KEY, ctx(1));
  t.equal(dk.plaintext.length, 32);
  t.match(s.counters(), { injected503: 2, requests: { generate: 3 } });
  s.resetCounters();
  s.setFaults({ fail503: 3 });
  await t.rejects(c.generateKey(KEY, ctx(1)), { code: 'Unavailable', status: 503, message: /service unavailable/ });
  t.match(s.counters(), { injected503: 3, requests: { generate: 3 } });
});

t.test('a dropped connection is retried', async (t) => {
  const s = await server(t);
  const c = client(t, [s]);
  s.setFaults({ drop: 1 });
  const dk = await c.generateKey(KEY, ctx(1));
  t.same(await c.decrypt(KEY, dk.ciphertext, ctx(1)), dk.plaintext);
  t.match(s.counters(), { dropped: 1, requests: { generate: 2 } });
});

t.test('per-request timeout: a hung endpoint fails over, or fails fast when alone', async (t) => {
  // The hung endpoint never answers (held, not a 3 s delay): its attempt can only end at the
  // client's deadline. That deadline is the healthy endpoint's too, a fresh TLS connection and an
  // answer; 200 ms was too short for that on a loaded machine (failed 3 runs of 3 under 12 busy
  // loops on 2 cores, a cold call there taking 200 to 500 ms), so the failover uses 3 s.
  const slow = await server(t);
  const fast = await server(t);
  slow.setFaults({ hold: true });
  // A client that waited for the answer would wait until the end of the test: cut off at 30 s.
  const bounded = <T>(p: Promise<T>): Promise<T> => Promise.race([p, sleep(30_000).then((): never => {
    throw new Error('still waiting for the hung endpoint after 30 s');
  })]);
  const alone = client(t, [slow], { requestTimeoutMs: 200 });
  await t.rejects(bounded(alone.generateKey(KEY, ctx(1))), { code: 'Unavailable', message: /no response within 200 ms/ });
  t.ok((slow.counters().requests.generate ?? 0) <= 1, 'a timeout is not retried on the same endpoint');
  const both = client(t, [slow, fast], { requestTimeoutMs: 3_000 });
  const dk = await bounded(both.generateKey(KEY, ctx(1)));
  t.equal(dk.plaintext.length, 32, 'served by the other endpoint');
  t.equal(fast.counters().requests.generate, 1);
  t.match(both.endpointHealth(), [{ quarantined: true, lastError: /no response within 3000 ms/ }, { quarantined: false }], 'the hung one failed at its deadline');
});

t.test('a burst of calls to a slow but healthy KES: none times out waiting for a connection of its own', async (t) => {
  // 100 SSE-S3 PUTs at once are 100 generate calls. With at most 32 connections per endpoint the
  // rest queued inside s3d with their attempt's clock running: a KES answering each in 1 s "gave
  // no answer within" 2.5 s to the last ones, was quarantined and logged as unreachable, and
  // their PUTs got 503 although KES answered every request it was sent.
  // KES holds every call until all 100 are in its hands (a KES slow enough for them all to
  // overlap, however fast the machine), or until one of them ends: a call queued inside s3d never
  // reaches KES, and fails at its attempt's deadline. The deadline is long so that only such a
  // queue can fail it, not the machine's speed: 100 TLS handshakes (both ends in this process)
  // took 87 of 100 calls past a 2.5 s deadline with a 1 s answer under 12 busy loops on 2 cores,
  // and all 100 were in KES's hands after 9 to 11 s at a load average of 21.
  const n = 100;
  const s = await server(t);
  const c = client(t, [s], { requestTimeoutMs: 60_000 });
  await c.generateKey(KEY, ctx(0));
  s.resetCounters();
  s.setFaults({ hold: true });
  let ended = 0;
  const calls = Promise.allSettled(Array.from({ length: n }, (_, i) => c.generateKey(KEY, ctx(i)).finally(() => void ended++)));
  const inKes = (): number => s.counters().requests.generate ?? 0;
  // Bounded all the same, for a client that would queue calls without a clock (they never end).
  const until = Date.now() + 90_000;
  while (ended === 0 && inKes() < n && Date.now() < until) await sleep(10);
  const together = inKes();
  s.setFaults({ hold: false });
  const settled = await calls;
  const failed = settled.filter((r) => r.status === 'rejected');
  t.equal(together, n, 'KES had every call at once: none waited inside s3d for a connection');
  t.equal(failed.length, 0, `every call answered (${failed.length} failed: ${failed.map((r) => String((r as PromiseRejectedResult).reason?.message)).slice(0, 1).join('')})`);
  t.notOk(c.endpointHealth()[0]!.quarantined, 'the endpoint is not taken for a failed one');
});

t.test('an endpoint answering 200 with something unusable is failed over like a 5xx', async (t) => {
  // A proxy's HTML page with status 200, or a data key cut short, from one of two endpoints: the
  // other one is asked (this used to fail the request with 'invalid JSON' while B was fine).
  const a = await server(t);
  const b = await server(t);
  const dk = await client(t, [b]).generateKey(KEY, ctx(1));
  a.setFaults({ okPage: 1000 });
  const c = client(t, [a, b], { quarantineMs: 60_000 });
  const generated = await c.generateKey(KEY, ctx(2));
  t.equal(generated.plaintext.length, 32, 'generate: answered by B');
  t.same(await c.decrypt(KEY, dk.ciphertext, ctx(1)), dk.plaintext, 'decrypt: answered by B');
  t.equal(a.counters().requests.generate, 1, 'A was asked once, then quarantined');

  a.setFaults({ okPage: 0, shortPlaintext: true });
  const fresh = client(t, [a, b], { quarantineMs: 60_000 });
  t.same(await fresh.decrypt(KEY, dk.ciphertext, ctx(1)), dk.plaintext, 'a 16-byte key from A: B answers');
  t.equal(a.counters().requests.decrypt, 1, 'A answered first');

  // With no other endpoint, the bad answer is the error: Unavailable (503 to clients), named.
  a.setFaults({ shortPlaintext: false, okPage: 1000 });
  const alone = client(t, [a]);
  const err = await alone.generateKey(KEY, ctx(3)).then(() => undefined, (e: unknown) => e);
  t.match(err, { code: 'Unavailable', message: /invalid JSON from \/v1\/key\/generate/ }, 'one endpoint: its bad answer is the error');
});

t.test('an answer that is not JSON is logged without the data key in it', async (t) => {
  // V8's JSON.parse message quotes the text around where it stopped ("laintext":c2VjcmV0c2"): in
  // a decrypt answer that is the data key, and the message went to the log as the error's cause.
  const a = await server(t);
  const dk = await client(t, [a]).generateKey(KEY, ctx(1));
  a.setFaults({ unquotedPlaintext: true });
  const lines: string[] = [];
  const log = pino({ level: 'debug', serializers: LOG_SERIALIZERS }, { write: (line: string) => void lines.push(line) });
  const c = client(t, [a], { log });
  const err = await c.decrypt(KEY, dk.ciphertext, ctx(1)).then(() => undefined, (e: unknown) => e);
  t.match(err, { code: 'Unavailable', message: /invalid JSON from \/v1\/key\/decrypt/ }, 'the answer is refused');
  // What the daemon logs of it: the client's own lines, and the error as its `err` (with causes).
  log.warn({ err }, 'KMS request failed');
  const key = dk.plaintext.toString('base64');
  const pieces = Array.from({ length: key.length - 5 }, (_, i) => key.slice(i, i + 6));
  t.ok(lines.length >= 2, `${lines.length} log lines`);
  t.ok(lines.some((l) => l.includes('invalid JSON from /v1/key/decrypt')), 'the log says what was wrong');
  t.strictSame(pieces.filter((p) => lines.some((l) => l.includes(p))), [], 'no 6 characters of the data key in the log');
});

t.test('an endpoint answering more than the client reads is failed over at once, not asked again', async (t) => {
  // A 5 MiB answer (over the 4 MiB bound) is a misbehaving endpoint, like a 200 HTML page: it was
  // asked twice more (the retries meant for a dropped connection) before B, 15 MiB read for nothing.
  const a = await server(t);
  const b = await server(t);
  a.setFaults({ hugeAnswer: 1000 });
  const c = client(t, [a, b], { quarantineMs: 60_000 });
  const dk = await c.generateKey(KEY, ctx(1));
  t.equal(dk.plaintext.length, 32, 'answered by B');
  t.equal(a.counters().requests.generate, 1, 'A was asked once');
  t.equal(b.counters().requests.generate, 1, 'then B');
  t.ok(c.endpointHealth()[0]!.quarantined, 'A is quarantined');
  t.match(c.endpointHealth()[0]!.lastError, /more than 4194304 bytes/, 'and why');

  const alone = client(t, [a]);
  a.resetCounters();
  await t.rejects(alone.generateKey(KEY, ctx(2)), { code: 'Unavailable', message: /an answer of more than 4194304 bytes from \/v1\/key\/generate/ }, 'alone: the answer is the error');
  t.equal(a.counters().requests.generate, 1, 'alone: asked once, not retried');
});

t.test('an endpoint answering with a redirect is failed over like a 5xx, not taken for KES\'s verdict', async (t) => {
  // KES never redirects: a 302 is a proxy's sign-in or maintenance page in front of it, like the
  // 200 HTML page above. It was returned as KES's answer: a BadRequest (500 to S3 clients) while B
  // was fine, the endpoint marked working (never quarantined), an outage not bridged by the cache.
  const a = await server(t);
  const b = await server(t);
  const dk = await client(t, [b]).generateKey(KEY, ctx(1));
  a.setFaults({ redirect: 1000 });
  const c = client(t, [a, b], { quarantineMs: 60_000 });
  const generated = await c.generateKey(KEY, ctx(2));
  t.equal(generated.plaintext.length, 32, 'generate: answered by B');
  t.same(await c.decrypt(KEY, dk.ciphertext, ctx(1)), dk.plaintext, 'decrypt: answered by B');
  t.equal(a.counters().requests.generate, 1, 'A was asked once, then quarantined');
  t.ok(c.endpointHealth()[0]!.quarantined, 'A is quarantined');

  const alone = client(t, [a]);
  const err = await alone.decrypt(KEY, dk.ciphertext, ctx(1)).then(() => undefined, (e: unknown) => e);
  t.match(err, { code: 'Unavailable', message: /redirect \(HTTP 302\) from \/v1\/key\/decrypt/ }, 'alone: an outage (503 to clients), named');
  t.notMatch(String((err as Error).message), /sso\.example/, 'where it pointed is not repeated');
});

t.test('failover: killing one of two servers loses no request; recovery after quarantine', async (t) => {
  const a = await server(t);
  const b = await server(t);
  const c = client(t, [a, b], { quarantineMs: 300 });
  const total = 200;
  let done = 0;
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      try {
        const dk = await c.generateKey(KEY, ctx(i));
        const pt = await c.decrypt(KEY, dk.ciphertext, ctx(i));
        if (!pt.equals(dk.plaintext)) errors.push(new Error(`mismatch ${i}`));
      } catch (err) {
        errors.push(err);
      }
      done++;
      if (done === 50) void a.stop();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  t.same(errors, [], 'every request succeeded');
  const servedByA = a.counters().requests.generate ?? 0;
  const servedByB = b.counters().requests.generate ?? 0;
  t.ok(servedByA >= 50, `A served the first requests (${servedByA})`);
  t.ok(servedByB >= total - servedByA, `B took over (${servedByB})`);
  const st = await c.status();
  t.same(st.endpoints.map((e) => e.online), [false, true], 'status: A offline, B online');

  await a.start();
  await sleep(350); // quarantine over
  a.resetCounters();
  await c.generateKey(KEY, ctx(1));
  await c.generateKey(KEY, ctx(2));
  t.ok((a.counters().requests.generate ?? 0) >= 1, 'A (local, first) is used again after it recovered');
  t.same((await c.status()).endpoints.map((e) => e.online), [true, true]);
});

t.test('all endpoints down → Unavailable; back up → served again', async (t) => {
  const a = await server(t);
  const b = await server(t);
  const c = client(t, [a, b]);
  const dk = await c.generateKey(KEY, ctx(7));
  await a.stop();
  await b.stop();
  await t.rejects(c.decrypt(KEY, dk.ciphertext, ctx(7)), { code: 'Unavailable', message: /no endpoint reachable/ });
  const st = await c.status();
  t.same(st.endpoints.map((e) => e.online), [false, false]);
  t.equal(st.ready, false);
  await b.start();
  t.same(await c.decrypt(KEY, dk.ciphertext, ctx(7)), dk.plaintext, 'quarantined endpoints are still tried as a last resort');
});

t.test('status reports keystore_unreachable as offline', async (t) => {
  const s = await server(t);
  const c = client(t, [s]);
  await c.start();
  t.match(await c.status(), { ready: true, endpoints: [{ online: true }] });
  s.setFaults({ keystoreUnreachable: true });
  t.match(await c.status(), { ready: false, endpoints: [{ online: false, error: /keystore is unreachable/ }] });
});

t.test('start-up while KES is down: provider not ready, keeps trying, creates the default key', async (t) => {
  const s = await startKesServer({ pki }); // empty keystore: the default key must be created
  t.teardown(() => s.close());
  await s.stop();
  const env = {
    S3_KMS_KES_ENDPOINT: s.url,
    S3_KMS_KES_KEY_NAME: 's3d-default',
    S3_KMS_KES_CERT_FILE: write('a.crt', pki.admin.cert),
    S3_KMS_KES_KEY_FILE: write('a.key', pki.admin.key),
    S3_KMS_KES_CAPATH: caFile,
    S3_KMS_KES_TIMEOUT: '1',
  };
  const p = await createKeyProviderFromEnv(env, { dataDir: dir, dev: false });
  t.ok(p instanceof CachingKeyProvider, 'KES is wrapped in the cache');
  t.teardown(() => p!.close());
  t.match(await p!.status(), { kind: 'kes', ready: false, endpoints: [{ online: false }] });
  await s.start();
  const inner = (p as CachingKeyProvider).inner as KesClient;
  const ready = await Promise.race([inner.whenReady(), sleep(8_000).then(() => false)]);
  t.equal(ready, true, 'became ready once KES was reachable');
  t.equal(s.counters().requests.create, 1, 'default key created');
  t.match(await p!.status(), { ready: true, endpoints: [{ online: true }] });
  const dk = await p!.generateKey('s3d-default', ctx(1));
  t.equal(dk.ciphertext.length, 76);
});

t.test('bulk decrypt is used when /v1/api advertises it', async (t) => {
  const s = await server(t, { bulkDecrypt: true });
  const c = client(t, [s]);
  await c.start();
  t.equal(c.bulkDecryptSupported(), true);
  const cache = new CachingKeyProvider(c, { primeOnGenerate: false });
  const keys = await Promise.all(Array.from({ length: 30 }, (_, i) => c.generateKey(KEY, ctx(i))));
  s.resetCounters();
  const pts = await Promise.all(keys.map((k, i) => cache.decrypt(KEY, k.ciphertext, ctx(i))));
  pts.forEach((p, i) => t.same(p, keys[i]!.plaintext));
  t.match(s.counters(), { requests: { 'bulk-decrypt': 1 }, bulkItems: 30 });
  t.equal(s.counters().requests.decrypt ?? 0, 0, 'no single decrypts');
  // One tampered element fails the bulk call; the cache falls back and still serves the rest.
  const bad = Buffer.from(keys[0]!.ciphertext);
  bad[3] = bad[3]! ^ 0xff;
  const fresh = await c.generateKey(KEY, ctx(99));
  const settled = await Promise.allSettled([cache.decrypt(KEY, bad, ctx(0)), cache.decrypt(KEY, fresh.ciphertext, ctx(99))]);
  t.match(settled, [{ status: 'rejected', reason: { code: 'NotAuthentic' } }, { status: 'fulfilled', value: fresh.plaintext }]);
});

t.test('without bulk: distinct unwraps run with bounded concurrency over keep-alive connections', async (t) => {
  const s = await server(t);
  const c = client(t, [s]);
  await c.start();
  const keys = await Promise.all(Array.from({ length: 24 }, (_, i) => c.generateKey(KEY, ctx(i))));
  const cache = new CachingKeyProvider(c, { primeOnGenerate: false, maxInFlight: 4 });
  s.resetCounters();
  s.setFaults({ latencyMs: 30 });
  const pts = await Promise.all(keys.map((k, i) => cache.decrypt(KEY, k.ciphertext, ctx(i))));
  pts.forEach((p, i) => t.same(p, keys[i]!.plaintext));
  const counters = s.counters();
  t.equal(counters.requests.decrypt, 24);
  t.equal(counters.maxInFlight.decrypt, 4, 'the KMS never saw more than maxInFlight at once');
  t.ok(counters.connections <= 4, `at most one connection per in-flight slot (${counters.connections})`);
  // Identical unwraps in the same burst: one request.
  s.resetCounters();
  const again = await c.generateKey(KEY, ctx(500));
  await Promise.all(Array.from({ length: 10 }, () => cache.decrypt(KEY, again.ciphertext, ctx(500))));
  t.equal(s.counters().requests.decrypt, 1);
});

t.test('HTTP/2 (allowH2) works against the fixture', async (t) => {
  const s = await server(t);
  const c = client(t, [s], { allowH2: true });
  await c.generateKey(KEY, ctx(0)); // first connection negotiates h2 via ALPN
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => c.generateKey(KEY, ctx(i))));
  t.equal(results.length, 10);
  t.equal(s.counters().connections, 1, 'all streams on one connection');
  t.same(s.counters().httpVersions, { '2.0': 11 });
});
