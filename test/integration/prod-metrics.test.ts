// Metrics (issue 8 §5): Prometheus text at /minio/v2/metrics/cluster and /metrics with requests by
// operation and status, bytes in and out, latency histograms, crypto pool depth and utilisation,
// KMS calls and cache, and LMDB size; values move with the traffic that was sent. Who may read
// them: by default the root user (its bearer token, `s3d metrics-token`, or its AWS signature);
// with S3_PROMETHEUS_AUTH_TYPE=public (as the test helper starts daemons) anyone.

import t from 'tap';
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { ACCESS_KEY, SECRET_KEY, bucketName, runS3d, startDaemon, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { send } from '../helpers/http.js';
import { aeadImplementation } from '../../workers/format/dare-aead.js';
import { crcImplementation } from '../../daemon/auth/payload.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseProm(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function scrape(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('Prometheus metrics follow the traffic', async (t) => {
  const d = await startDaemon({ env: { S3_CRYPTO_WORKERS: '2' } });
  t.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });
  const bucket = bucketName('metrics');
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}` })).status, 200);
  const body = testBytes(700_000, 3);
  for (let i = 0; i < 3; i++) {
    t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}/o${i}`, body, headers: { 'x-amz-server-side-encryption': 'AES256' } })).status, 200);
  }
  for (let i = 0; i < 2; i++) t.equal((await send(d.port, { method: 'GET', path: `/${bucket}/o${i}` })).body.length, body.length);
  t.equal((await send(d.port, { method: 'GET', path: `/${bucket}/missing` })).status, 404);

  const a = await scrape(d.port, '/minio/v2/metrics/cluster');
  const b = await scrape(d.port, '/metrics');
  t.equal(a.status, 200, '/minio/v2/metrics/cluster answers without credentials (Prometheus scrape)');
  t.equal(b.status, 200, '/metrics answers too');
  t.match(a.type, /^text\/plain; version=0\.0\.4/, 'Prometheus text format');
  const { samples, types } = parseProm(a.body);
  t.same([...parseProm(b.body).types.keys()].sort(), [...types.keys()].sort(), 'both paths expose the same metric families');
  // The node and bucket jobs MinIO's tools write (mc admin prometheus generate ALIAS node|bucket, the MinIO Operator).
  for (const path of ['/minio/v2/metrics/node', '/minio/v2/metrics/bucket']) {
    const m = await scrape(d.port, path);
    t.equal(m.status, 200, `${path} answers`);
    t.same([...parseProm(m.body).types.keys()].sort(), [...types.keys()].sort(), `${path}: the same metric families`);
  }
  const get = (name: string, labels: Record<string, string> = {}): Sample[] => samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  const value = (name: string, labels: Record<string, string> = {}): number => get(name, labels).reduce((n, s) => n + s.value, 0);

  // Requests by operation and status.
  t.equal(types.get('s3d_requests_total'), 'counter');
  t.equal(value('s3d_requests_total', { op: 'PutObject', status: '200' }), 3, 'PutObject 200 × 3');
  t.equal(value('s3d_requests_total', { op: 'GetObject', status: '200' }), 2, 'GetObject 200 × 2');
  t.equal(value('s3d_requests_total', { op: 'GetObject', status: '404' }), 1, 'GetObject 404 × 1');
  t.equal(value('s3d_requests_total', { op: 'CreateBucket', status: '200' }), 1, 'CreateBucket 200 × 1');

  // Bytes in and out.
  t.equal(value('s3d_rx_bytes_total', { op: 'PutObject' }), 3 * body.length, 'bytes received by PutObject');
  t.ok(value('s3d_tx_bytes_total', { op: 'GetObject' }) >= 2 * body.length, 'bytes sent by GetObject');

  // Latency histograms per operation.
  t.equal(types.get('s3d_request_duration_seconds'), 'histogram');
  t.equal(value('s3d_request_duration_seconds_count', { op: 'PutObject' }), 3, 'PutObject latencies observed');
  t.ok(value('s3d_request_duration_seconds_sum', { op: 'PutObject' }) > 0, 'with a positive sum');
  const inf = get('s3d_request_duration_seconds_bucket', { op: 'GetObject', le: '+Inf' });
  t.equal(inf[0]?.value, 3, 'GetObject +Inf bucket counts all three');

  // Crypto pool.
  t.equal(value('s3d_crypto_pool_workers'), 2, 'crypto pool workers = S3_CRYPTO_WORKERS');
  t.equal(get('s3d_crypto_pool_queue_depth').length, 1, 'crypto pool queue depth exported');
  t.equal(value('s3d_crypto_pool_queue_depth'), 0, 'no crypto task queued between requests');
  const util = get('s3d_crypto_pool_utilization');
  t.equal(util.length, 1, 'crypto pool utilisation exported');
  t.ok(util[0]!.value >= 0 && util[0]!.value <= 1, `utilisation in [0, 1] (${util[0]?.value})`);
  // Crypto slots: none held once the requests are answered; the arena keeps what it allocated.
  t.equal(value('s3d_crypto_slots_in_use'), 0, 'no crypto slot held between requests');
  t.equal(get('s3d_crypto_slots_allocated').length, 1, 'crypto slots allocated exported');
  t.equal(value('s3d_crypto_md5_streams'), 0, 'no upload hashing through an MD5 lane between requests');
  t.ok(value('s3d_crypto_md5_lanes') >= 0 && value('s3d_crypto_md5_lanes') <= 2, `MD5 lanes exported, at most S3_CRYPTO_WORKERS (${value('s3d_crypto_md5_lanes')})`);

  // KMS (SSE-S3 with the built-in key went through the provider).
  const kms = samples.filter((s) => s.name.startsWith('s3d_kms_'));
  t.ok(kms.length > 0, `KMS metrics exported (${[...new Set(kms.map((s) => s.name))].join(', ')})`);

  // LMDB.
  // One bucket and three objects so far (the store's named databases are not records).
  t.equal(value('s3d_lmdb_entries'), 4, 'LMDB entries count the bucket and the three objects');
  t.match(b.body, /^# TYPE s3d_list_entries_read_total counter$/m, 'a _total is a counter');
  // A _total is a counter (rate() of a gauge is nonsense), but for prom-client's three gauges of
  // what is open now, kept under the names Node.js dashboards use (docs/operations.md says so).
  const PROM_CLIENT_GAUGES = ['s3d_nodejs_active_handles_total', 's3d_nodejs_active_requests_total', 's3d_nodejs_active_resources_total'];
  const totals = [...types].filter(([name]) => name.endsWith('_total'));
  t.same(totals.filter(([name, type]) => type !== 'counter' && !PROM_CLIENT_GAUGES.includes(name)), [], 'every other _total family is a counter');
  t.same(totals.filter(([name]) => PROM_CLIENT_GAUGES.includes(name)).map(([, type]) => type), ['gauge', 'gauge', 'gauge'], 'those three are gauges');
  const lmdbBytes = samples.filter((s) => /^s3d_lmdb_.*bytes/.test(s.name));
  t.ok(lmdbBytes.length >= 2 && lmdbBytes.every((s) => s.value > 0), 'LMDB size in bytes exported');
  t.ok(value('s3d_lmdb_used_bytes') <= value('s3d_lmdb_map_size_bytes'), 'used bytes fit in the map');

  // Process metrics and the scrape itself.
  t.ok(value('s3d_process_resident_memory_bytes') > 0, 'process RSS exported');
  const again = parseProm((await scrape(d.port, '/minio/v2/metrics/cluster')).body).samples;
  t.ok(again.some((s) => s.name === 's3d_requests_total' && s.labels.op === 'Metrics' && s.value >= 2), 'scrapes are counted as op="Metrics"');

  // Signed, /metrics is still the bucket named "metrics" (path-style).
  t.equal((await send(d.port, { method: 'PUT', path: '/metrics' })).status, 200, 'a bucket named "metrics" can be created');
  const list = await send(d.port, { method: 'GET', path: '/metrics' });
  t.equal(list.status, 200);
  t.match(list.body.toString(), /<ListBucketResult[^>]*>.*<Name>metrics<\/Name>/s, 'signed GET /metrics lists that bucket');
  // A presigned URL is signed too: boto3's generate_presigned_url makes V2 ones by default
  // (AWSAccessKeyId, Expires, Signature), and a V4 one without its X-Amz-Signature is still no scrape.
  const expires = String(Math.floor(Date.now() / 1000) + 300);
  const v2 = createHmac('sha1', SECRET_KEY).update(`GET\n\n\n${expires}\n/metrics/`).digest('base64');
  const presignedV2 = await send(d.port, { method: 'GET', path: '/metrics', query: `AWSAccessKeyId=${ACCESS_KEY}&Expires=${expires}&Signature=${encodeURIComponent(v2)}`, sign: false });
  t.equal(presignedV2.status, 200);
  t.match(presignedV2.body.toString(), /<ListBucketResult[^>]*>.*<Name>metrics<\/Name>/s, 'a V2 presigned GET /metrics lists that bucket');
  const partialV4 = await send(d.port, { method: 'GET', path: '/metrics', query: `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${ACCESS_KEY}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request`, sign: false });
  t.not(partialV4.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8', 'a V4 presigned GET /metrics missing its signature is refused as S3 refuses it, not scraped');
  t.ok(partialV4.status >= 400, `(${partialV4.status})`);
});

/**
 * Daemons shared by tests whose checks are independent of other traffic (each takes its own
 * bucket and compares counters before and after): started once, on first use, stopped at the end.
 */
const shared = new Map<string, Promise<TestDaemon>>();
function sharedDaemon(name: string, env: Record<string, string> = {}): Promise<TestDaemon> {
  let d = shared.get(name);
  if (!d) {
    d = startDaemonFor(t, { env });
    shared.set(name, d);
  }
  return d;
}

// One daemon with the defaults and one with both native bindings off answer for AES and CRC alike.
const NATIVE_OFF = { S3_NATIVE_AES: 'off', S3_NATIVE_CRC: 'off' };

t.test('s3d_crypto_native_aes and the start-up log say which AES-256-GCM runs', async (t) => {
  const native = aeadImplementation().native;
  for (const [setting, expected] of [[undefined, native ? 1 : 0], ['off', 0]] as const) {
    const d = await (setting === undefined ? sharedDaemon('default') : sharedDaemon('native-off', NATIVE_OFF));
    const line = (await scrape(d.port, '/minio/v2/metrics/cluster')).body.split('\n').find((l) => l.startsWith('s3d_crypto_native_aes '));
    t.equal(line, `s3d_crypto_native_aes ${expected}`, `S3_NATIVE_AES=${setting ?? '(unset)'}`);
    const said = d.logs.map((l) => /"msg":"(AES-256-GCM through[^"]*)"/.exec(l)?.[1]).find((m) => m !== undefined);
    t.match(said, expected === 1 ? /^AES-256-GCM through the native OpenSSL binding$/ : /^AES-256-GCM through node:crypto/, 'and the log says so');
  }
});

t.test('s3d_checksum_native_crc and the start-up log say which CRC32C and CRC64NVME run', async (t) => {
  const native = crcImplementation().native;
  for (const [setting, expected] of [[undefined, native ? 1 : 0], ['off', 0]] as const) {
    const d = await (setting === undefined ? sharedDaemon('default') : sharedDaemon('native-off', NATIVE_OFF));
    const line = (await scrape(d.port, '/minio/v2/metrics/cluster')).body.split('\n').find((l) => l.startsWith('s3d_checksum_native_crc '));
    t.equal(line, `s3d_checksum_native_crc ${expected}`, `S3_NATIVE_CRC=${setting ?? '(unset)'}`);
    const said = d.logs.map((l) => /"msg":"(CRC32C and CRC64NVME checksums [^"]*)"/.exec(l)?.[1]).find((m) => m !== undefined);
    t.match(said, expected === 1 ? /^CRC32C and CRC64NVME checksums through the native binding$/ : /^CRC32C and CRC64NVME checksums in JavaScript/, 'and the log says so');
  }
});

t.test('a daemon serving plain HTTP says nothing of the stdio binding (it matters to TLS server names only; prod-tls-sni reads the line under TLS)', async (t) => {
  const d = await sharedDaemon('default');
  t.ok(d.logs.some((l) => l.includes('"msg":"AES-256-GCM through')), 'the start-up lines of the other bindings are there');
  t.notOk(d.logs.some((l) => l.includes("uWebSockets.js's debugging lines")), 'none about uWS debugging lines');
});

t.test('data-file reads: a file not known to be in the page cache is read on the thread pool, then synchronously', async (t) => {
  const d = await sharedDaemon('default'); // the first data file this daemon writes: the gauges count it alone
  const bucket = bucketName('warm');
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}` })).status, 200);
  const body = testBytes(700_000, 5); // above the inline limit: a data file
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}/o`, body })).status, 200);
  const reads = async (): Promise<{ sync: number; pool: number; direct: number; warm: number }> => {
    const { samples } = parseProm((await scrape(d.port, '/metrics')).body);
    const v = (name: string, labels: Record<string, string> = {}): number =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, val]) => s.labels[k] === val)).reduce((n, s) => n + s.value, 0);
    return { sync: v('s3d_data_file_reads_total', { mode: 'sync' }), pool: v('s3d_data_file_reads_total', { mode: 'pool' }), direct: v('s3d_data_files_direct_io'), warm: v('s3d_data_files_warm') };
  };
  const r0 = await reads();
  t.ok((await send(d.port, { method: 'GET', path: `/${bucket}/o` })).body.equals(body), 'first GET: the bytes');
  const r1 = await reads();
  t.ok((await send(d.port, { method: 'GET', path: `/${bucket}/o` })).body.equals(body), 'second GET: the bytes');
  const r2 = await reads();
  if (r0.direct === 1) {
    // Written around the page cache: the first read may have to wait for the disk.
    t.equal(r0.warm, 0, 'a file written with O_DIRECT is not counted as warm');
    t.same([r1.pool - r0.pool, r1.sync - r0.sync], [1, 0], 'first GET after an O_DIRECT write: one thread-pool read, none synchronous');
  } else {
    t.equal(r0.warm, 1, 'a file written through the page cache is warm at once');
    t.same([r1.pool - r0.pool, r1.sync - r0.sync], [0, 1], 'first GET after a buffered write: synchronous');
  }
  t.equal(r1.warm, 1, 'after a read the file is warm');
  t.same([r2.pool - r1.pool, r2.sync - r1.sync], [0, 1], 'second GET: one synchronous read of the warm file');
});

t.test('S3_PROMETHEUS_AUTH_TYPE=public: health and metrics ignore credentials of other schemes (a MinIO scrape job\'s bearer token, a balancer\'s Basic auth)', async (t) => {
  const d = await sharedDaemon('default');
  for (const path of ['/minio/v2/metrics/cluster', '/metrics', '/minio/health/live', '/minio/health/ready']) {
    for (const authorization of ['Bearer eyJhbGciOiJIUzUxMiJ9.e30.x', 'Basic dXNlcjpwYXNz']) {
      const res = await send(d.port, { method: 'GET', path, headers: { authorization }, sign: false });
      t.equal(res.status, 200, `${path} with ${authorization.split(' ')[0]}: 200 (was 400 Unsupported Authorization Type)`);
    }
  }
  // An AWS signature is still checked: a wrong one is refused, as before.
  const bad = await send(d.port, { method: 'GET', path: '/minio/health/live', headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00' }, sign: false });
  t.ok(bad.status >= 400, `a malformed AWS signature is not let through (${bad.status})`);
  // An S3 request with a bearer token is still refused.
  const s3 = await send(d.port, { method: 'GET', path: '/', headers: { authorization: 'Bearer eyJhbGciOiJIUzUxMiJ9.e30.x' }, sign: false });
  t.equal(s3.status, 400, 'ListBuckets with a bearer token: 400, as S3 answers it');
});

t.test('an upload the client cut short is counted and logged as 499 (client closed), not as a 400 it never got', async (t) => {
  // This daemon's first upload and data file; the download cut short below comes after.
  const d = await sharedDaemon('cut');
  const bucket = bucketName('cut');
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}` })).status, 200);
  const { openPut } = await import('../helpers/http.js');
  const up = openPut(d.port, `/${bucket}/cut`, 4 * 1024 * 1024);
  await up.write(testBytes(1024 * 1024, 4));
  // The daemon is writing the upload (its data file exists) before the client cuts it: awaited,
  // not assumed after 200 ms (an upload cut before the daemon read its head has no line at all).
  const { pollUntil, waitForLog } = await import('../helpers/wait.js');
  const { dataFilePaths } = await import('../helpers/files.js');
  t.equal(await pollUntil(() => dataFilePaths(d.dataDir).length, (n) => n === 1, 20_000, 20), 1, 'the upload is under way when the client cuts it');
  up.req.destroy();
  let line: Record<string, unknown> = {};
  await waitForLog(d.logs, (l) => l.op === 'PutObject' && l.aborted === true && (line = l) !== undefined, 20_000);
  t.equal(line.status, 499, 'the log line says 499');
  t.equal(line.outcome, undefined, 'no outcome: nothing was stored');
  const { samples } = parseProm((await scrape(d.port, '/metrics')).body);
  const count = (status: string): number => samples.filter((s) => s.name === 's3d_requests_total' && s.labels.op === 'PutObject' && s.labels.status === status).reduce((n, s) => n + s.value, 0);
  t.equal(count('499'), 1, 's3d_requests_total{status="499"}');
  t.equal(count('400'), 0, 'no 400 counted for it');
});

t.test('a client that sends a whole SSE-S3 body and leaves before the answer is a 499, not an internal error', async (t) => {
  // No GET on this daemon: the download cut in its first chunk below comes after, counting GETs alone.
  const d = await sharedDaemon('gone');
  const bucket = bucketName('gone');
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}` })).status, 200);
  const { openPut } = await import('../helpers/http.js');
  const size = 4 * 1024 * 1024;
  const body = testBytes(size, 8);
  // The body is written whole, then the connection is dropped at once: the sealer is still busy
  // and fails with the disconnect (it used to be logged at level 50 as "internal error").
  for (let i = 0; i < 6; i++) {
    const up = openPut(d.port, `/${bucket}/gone-${i}`, size, { headers: { 'x-amz-server-side-encryption': 'AES256' } });
    await up.write(body);
    up.req.destroy();
    await new Promise((r) => setTimeout(r, 50));
  }
  const { pollUntil } = await import('../helpers/wait.js');
  const parsed = (): Array<Record<string, unknown>> => d.logs.flatMap((l) => { try { return [JSON.parse(l) as Record<string, unknown>]; } catch { return []; } });
  const cut = await pollUntil(() => parsed().filter((l) => l.op === 'PutObject' && l.aborted === true), (c) => c.length === 6, 20_000, 50);
  t.equal(cut.length, 6, 'six uploads logged as cut by the client');
  t.ok(cut.every((l) => l.status === 499), 'each as 499');
  // Whether each was stored (the whole body had arrived, so it may have been) is what `outcome` says.
  for (const l of cut) {
    const head = await send(d.port, { method: 'HEAD', path: `/${bucket}/${String(l.key)}` });
    t.equal(head.status === 200 ? 200 : 'not stored', l.outcome === 200 ? 200 : 'not stored', `${String(l.key)}: outcome ${String(l.outcome)}, HEAD ${head.status}`);
  }
  const errors = parsed().filter((l) => typeof l.level === 'number' && l.level >= 50);
  t.same(errors.map((l) => l.msg), [], 'no error-level line');

  // Without SSE nothing stops on the disconnect: a whole body is stored, and the 499 line says so.
  for (let i = 0; i < 6; i++) {
    const up = openPut(d.port, `/${bucket}/whole-${i}`, 300_000);
    await up.write(testBytes(300_000, 20 + i));
    up.req.destroy();
  }
  // (S3_ACCESS_LOG=errors, the default, logs cut requests only: one answered before the disconnect has no line.)
  await pollUntil(() => parsed().filter((l) => typeof l.key === 'string' && l.key.startsWith('whole-')), (c) => c.length === 6, 20_000, 50);
  const whole = parsed().filter((l) => typeof l.key === 'string' && l.key.startsWith('whole-') && l.status === 499);
  t.ok(whole.length >= 1, `plain uploads cut after their whole body are logged as 499 (${whole.length} of 6)`);
  for (const l of whole) {
    const head = await send(d.port, { method: 'HEAD', path: `/${bucket}/${String(l.key)}` });
    t.same([l.outcome, head.status], [200, 200], `${String(l.key)}: outcome 200, and stored`);
  }
});

t.test('a download the client cut short logs and counts the bytes it was sent, not 0', async (t) => {
  const d = await sharedDaemon('cut'); // only PUTs before: the GET cut here is its first
  const bucket = bucketName('cutget');
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}` })).status, 200);
  const size = 24 * 1024 * 1024;
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}/big`, body: testBytes(size, 6) })).status, 200);
  const { signedHeaders } = await import('../helpers/http.js');
  const received = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: d.port, method: 'GET', path: `/${bucket}/big`, headers: signedHeaders(d.port, { method: 'GET', path: `/${bucket}/big` }), agent: false }, (res) => {
      let got = 0;
      res.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= 4 * 1024 * 1024) {
          res.pause();
          req.destroy();
          resolve(got);
        }
      });
    });
    req.on('error', (err) => (err.message.includes('socket hang up') || err.message.includes('aborted') ? undefined : reject(err)));
    req.end();
  });
  const { waitForLog } = await import('../helpers/wait.js');
  let line: Record<string, unknown> = {};
  await waitForLog(d.logs, (l) => l.op === 'GetObject' && l.aborted === true && (line = l) !== undefined, 20_000);
  const out = Number(line.bytesOut);
  t.ok(out >= 1024 * 1024 && out < size, `the log line counts what went out before the cut (${out} bytes; the client read ${received})`);
  const { samples } = parseProm((await scrape(d.port, '/metrics')).body);
  const tx = samples.filter((s) => s.name === 's3d_tx_bytes_total' && s.labels.op === 'GetObject').reduce((n, s) => n + s.value, 0);
  t.ok(tx >= out, `s3d_tx_bytes_total{op="GetObject"} counts them (${tx})`);
});

t.test('a download cut in its first chunk counts the bytes the socket took, not 0 (the client read some)', async (t) => {
  const d = await sharedDaemon('gone'); // only PUTs and HEADs before: the tx count is this test's GETs'
  const bucket = bucketName('cutfirst');
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}` })).status, 200);
  const size = 8 * 1024 * 1024;
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}/big`, body: testBytes(size, 9), headers: { 'x-amz-server-side-encryption': 'AES256' } })).status, 200);
  const { signedHeaders } = await import('../helpers/http.js');
  const counted = new Set<unknown>();
  // The socket takes part of the first 1 MiB chunk; the client reads a little of it and leaves
  // before the rest is offered: the count stood at the chunk's start (0) though bytes went out.
  for (const readAtLeast of [1, 16 * 1024, 64 * 1024, 200 * 1024]) {
    const path = `/${bucket}/big`;
    const received = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: d.port, method: 'GET', path, headers: signedHeaders(d.port, { method: 'GET', path }), agent: false }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got >= readAtLeast) {
            res.pause();
            req.destroy();
            resolve(got);
          }
        });
      });
      req.on('error', (err) => (err.message.includes('socket hang up') || err.message.includes('aborted') ? undefined : reject(err)));
      req.end();
    });
    const line = await d.waitForLog((l) => l.op === 'GetObject' && l.aborted === true && !counted.has(l.requestId), 20_000);
    counted.add(line.requestId);
    const out = Number(line.bytesOut);
    t.ok(out >= received && out <= size, `read ${readAtLeast}+ bytes and left: the line counts at least the ${received} the client read (${out})`);
  }
  const { samples } = parseProm((await scrape(d.port, '/metrics')).body);
  const tx = samples.filter((s) => s.name === 's3d_tx_bytes_total' && s.labels.op === 'GetObject').reduce((n, s) => n + s.value, 0);
  const logged = d.jsonLogs().filter((l) => l.op === 'GetObject' && l.aborted === true).reduce((n, l) => n + Number(l.bytesOut), 0);
  t.equal(tx, logged, `s3d_tx_bytes_total{op="GetObject"} counts them (${tx})`);
});

t.test('a download the client left before its status line went out is a 499, not a 200 it never got', async (t) => {
  const d = await startDaemonFor(t, { env: { S3_ACCESS_LOG: 'all' } });
  const bucket = bucketName('gonefirst');
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}` })).status, 200);
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}/big`, body: testBytes(8 * 1024 * 1024, 10), headers: { 'x-amz-server-side-encryption': 'AES256' } })).status, 200);
  const { signedHeaders } = await import('../helpers/http.js');
  const path = `/${bucket}/big`;
  // Left a few hundred µs to a few ms after asking: many leave while the daemon decrypts the first chunk.
  const N = 30;
  for (let i = 0; i < N; i++) {
    const req = request({ host: '127.0.0.1', port: d.port, method: 'GET', path, headers: signedHeaders(d.port, { method: 'GET', path }), agent: false }, (res) => res.resume());
    req.on('error', () => undefined);
    req.end();
    await new Promise((r) => setTimeout(r, 0.2 * i));
    req.destroy();
    await new Promise((r) => setTimeout(r, 30));
  }
  // (A GET cut before the daemon read its head has no line at all, nor a count.)
  await new Promise((r) => setTimeout(r, 1000));
  const lines = d.jsonLogs().filter((l) => l.msg === 'request' && l.op === 'GetObject');
  const unanswered = lines.filter((l) => l.status === 499);
  t.ok(unanswered.length > 0, `some left before the status line (${unanswered.length} of ${N})`);
  t.ok(unanswered.every((l) => l.bytesOut === 0 && l.aborted === true), 'with no byte sent');
  const silent200 = lines.filter((l) => l.status === 200 && l.bytesOut === 0);
  t.same(silent200.map((l) => l.requestId), [], 'no 200 counted for a response of which nothing went out');
  const { samples } = parseProm((await scrape(d.port, '/metrics')).body);
  const count = (status: string): number => samples.filter((s) => s.name === 's3d_requests_total' && s.labels.op === 'GetObject' && s.labels.status === status).reduce((n, s) => n + s.value, 0);
  t.equal(count('499'), unanswered.length, 's3d_requests_total{status="499"} counts them');
  t.equal(count('200'), lines.length - unanswered.length, 'and status 200 the others');
});

t.test('S3_PROMETHEUS_AUTH_TYPE=jwt, the default: the metrics for the root user\u2019s bearer token or signature (users: prod-metrics-users.test.ts); health for anyone', async (t) => {
  // The helper's S3_PROMETHEUS_AUTH_TYPE=public taken out: the daemon as it starts by default.
  const d = await startDaemonFor(t, { env: { S3_PROMETHEUS_AUTH_TYPE: undefined } });
  const get = async (path: string, authorization?: string): Promise<{ status: number; body: string }> => {
    const r = await send(d.port, { method: 'GET', path, sign: false, ...(authorization === undefined ? {} : { headers: { authorization } }) });
    return { status: r.status, body: r.body.toString() };
  };
  for (const path of ['/minio/v2/metrics/cluster', '/minio/v2/metrics/node', '/minio/v2/metrics/bucket', '/metrics']) {
    const refused = await get(path);
    t.equal(refused.status, 403, `${path} without credentials: 403`);
    t.match(refused.body, /<Code>AccessDenied<\/Code>.*s3d metrics-token/s, 'AccessDenied, saying how to get a token');
    t.notMatch(refused.body, /s3d_/, 'no metric in the answer');
  }
  for (const path of ['/minio/health/live', '/minio/health/ready', '/minio/health/cluster', '/minio/health/cluster/read']) t.equal((await get(path)).status, 200, `${path}: no credentials needed`);
  // MinIO's maintenance check: may this node be taken down without losing service? A single node never may (MinIO: 412).
  const maintenance = await send(d.port, { method: 'GET', path: '/minio/health/cluster', query: 'maintenance=true', sign: false });
  t.equal(maintenance.status, 412, '/minio/health/cluster?maintenance=true: 412 Precondition Failed, as a single-node MinIO');
  t.equal((await send(d.port, { method: 'HEAD', path: '/minio/health/cluster', query: 'maintenance=true', sign: false })).status, 412, 'HEAD too');
  t.ok(d.jsonLogs().some((l) => l.level === 30 && /^metrics .* answer the root user and users allowed admin:Prometheus only: .*s3d metrics-token/.test(String(l.msg))), 'the start-up says so, and how to get a token');

  // The token s3d metrics-token prints for the root user (the daemon's S3_ROOT_USER/PASSWORD).
  const printed = await runS3d(['metrics-token'], { S3_ROOT_USER: ACCESS_KEY, S3_ROOT_PASSWORD: SECRET_KEY });
  t.equal(printed.code, 0, printed.stderr);
  const token = printed.stdout.trim();
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'one JWT on standard output');
  for (const path of ['/minio/v2/metrics/cluster', '/metrics']) {
    const ok = await get(path, `Bearer ${token}`);
    t.equal(ok.status, 200, `${path} with it: 200`);
    t.match(ok.body, /^s3d_requests_total\{/m, 'the metrics');
  }
  // As mc admin prometheus generate writes one: HS512 over {exp, sub, iss} with the secret key.
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const mcToken = (secret: string, claims: Record<string, unknown>): string => {
    const unsigned = `${part({ alg: 'HS512', typ: 'JWT' })}.${part(claims)}`;
    return `${unsigned}.${createHmac('sha512', secret).update(unsigned).digest('base64url')}`;
  };
  const inAnHour = Math.floor(Date.now() / 1000) + 3600;
  t.equal((await get('/metrics', `Bearer ${mcToken(SECRET_KEY, { exp: inAnHour, sub: ACCESS_KEY, iss: 'prometheus' })}`)).status, 200, 'a token written as mc writes it');
  t.equal((await get('/metrics', `Bearer ${mcToken('not-the-secret', { exp: inAnHour, sub: ACCESS_KEY })}`)).status, 403, 'signed with another secret');
  t.equal((await get('/metrics', `Bearer ${mcToken(SECRET_KEY, { exp: inAnHour - 7200, sub: ACCESS_KEY, iss: 'prometheus' })}`)).status, 403, 'expired');
  t.equal((await get('/metrics', `Bearer ${mcToken(SECRET_KEY, { exp: inAnHour, sub: ACCESS_KEY })}`)).status, 403, 'without the issuer "prometheus" (MinIO asks for it)');
  t.equal((await get('/metrics', 'Basic dXNlcjpwYXNz')).status, 403, 'Basic auth');
  // The root user's AWS signature (checked as any S3 request's) reads them too; a wrong one does not.
  t.equal((await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster' })).status, 200, 'a request the root user signed');
  t.equal((await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster', secretKey: 'wrong-secret-key' })).status, 403, 'a wrong signature');

  // s3d metrics-token: --dev's credentials without S3_ROOT_*, a usage error otherwise.
  const dev = await runS3d(['metrics-token', '--dev'], {});
  t.equal(dev.code, 0);
  t.match(JSON.parse(Buffer.from(dev.stdout.trim().split('.')[1]!, 'base64url').toString()), { sub: 's3dadmin', iss: 'prometheus' }, '--dev: the development root user\u2019s');
  const none = await runS3d(['metrics-token'], {});
  t.same([none.code, none.stdout], [2, ''], 'no credentials: exit 2, nothing printed');
  t.match(none.stderr, /S3_ROOT_USER and S3_ROOT_PASSWORD must be set/);
  t.equal((await runS3d(['metrics-token', '--bogus'], {})).code, 2, 'an unknown argument: exit 2');
});
