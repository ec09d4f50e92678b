// KMS metrics: labelled counters, gauges and histograms fed by the cache's and the KES client's
// event hooks and by cache stats at scrape time (no more flattened s3d_kms_stat gauge).

import t from 'tap';
import { Registry } from 'prom-client';
import { registerKmsMetrics } from '../../../../daemon/admin/metrics.js';
import { CachingKeyProvider } from '../../../../daemon/kms/cache.js';
import { KesClient } from '../../../../daemon/kms/kes-client.js';
import { StaticKeyProvider } from '../../../../daemon/kms/static-provider.js';
import type { BulkDecryptor, DecryptRequest } from '../../../../daemon/kms/provider.js';
import { createTestPki } from '../../../fixtures/kes-server/certs.js';
import { metricSample as sample } from '../../../helpers/kes.js';

const NAME = 'k';

class Bulk extends StaticKeyProvider implements BulkDecryptor {
  constructor() {
    super({ name: NAME, key: Buffer.alloc(32, 4) });
  }
  bulkDecryptSupported(): boolean {
    return true;
  }
  async decryptBulk(name: string, requests: readonly DecryptRequest[]): Promise<Buffer[]> {
    return Promise.all(requests.map((r) => this.decrypt(name, r.ciphertext, r.context)));
  }
}

t.test('cache layer: calls by route, errors by code, latency, hits/misses, batch and bulk sizes', async (t) => {
  const inner = new Bulk();
  const cache = new CachingKeyProvider(inner, { primeOnGenerate: false, batchWindowMs: 0 });
  t.teardown(() => cache.close());
  const r = new Registry();
  const off = registerKmsMetrics(r, cache);
  t.teardown(off);

  const keys = await Promise.all(Array.from({ length: 5 }, (_, i) => cache.generateKey(NAME, Buffer.from(`{"b":"b/${i}"}`))));
  await Promise.all(keys.map((k, i) => cache.decrypt(NAME, k.ciphertext, Buffer.from(`{"b":"b/${i}"}`))));
  await cache.decrypt(NAME, keys[0]!.ciphertext, Buffer.from('{"b":"b/0"}')); // hit
  await t.rejects(cache.generateKey('missing', Buffer.from('{}')), { code: 'KeyNotFound' });

  const text = await r.metrics();
  t.equal(sample(text, 's3d_kms_calls_total', { route: 'generate' }), 6);
  t.equal(sample(text, 's3d_kms_calls_total', { route: 'bulkDecrypt' }), 1, 'five cold unwraps of one tick: one bulk call');
  t.equal(sample(text, 's3d_kms_calls_total', { route: 'decrypt' }), 0, 'pre-initialised at 0');
  t.equal(sample(text, 's3d_kms_call_errors_total', { route: 'generate', code: 'KeyNotFound' }), 1);
  t.equal(sample(text, 's3d_kms_call_duration_seconds_count', { route: 'generate' }), 6);
  t.equal(sample(text, 's3d_kms_cache_hits_total'), 1);
  t.equal(sample(text, 's3d_kms_cache_misses_total'), 5);
  t.equal(sample(text, 's3d_kms_cache_coalesced_total'), 0);
  t.equal(sample(text, 's3d_kms_cache_entries'), 5);
  t.equal(sample(text, 's3d_kms_batch_size_count'), 1);
  t.equal(sample(text, 's3d_kms_batch_size_sum'), 5);
  t.equal(sample(text, 's3d_kms_bulk_decrypt_size_sum'), 5);
  t.equal(sample(text, 's3d_kms_bulk_decrypt_size_bucket', { le: '4' }), 0);
  t.equal(sample(text, 's3d_kms_bulk_decrypt_size_bucket', { le: '8' }), 1);
  t.equal(sample(text, 's3d_kms_unwraps_in_flight'), 0);
  t.equal(sample(text, 's3d_kms_cache_evictions_total', { reason: 'size' }), 0);
  t.equal(sample(text, 's3d_kms_stat'), undefined, 'the old flattened gauge is gone');

  // Counters stay monotonic across scrapes (rebuilt from the cache's totals, not added twice).
  const again = await r.metrics();
  t.equal(sample(again, 's3d_kms_cache_misses_total'), 5);

  off();
  await cache.generateKey(NAME, Buffer.from('{}'));
  t.equal(sample(await r.metrics(), 's3d_kms_calls_total', { route: 'generate' }), 6, 'detached: no more events');
});

t.test('KES endpoints: requests by endpoint, route and code, errors by reason, endpoint health', async (t) => {
  const pki = await createTestPki();
  const endpoint = 'https://127.0.0.1:1'; // nothing listens: connection refused
  const client = new KesClient({ endpoints: [endpoint], defaultKeyName: NAME, cert: pki.admin.cert, key: pki.admin.key, ca: [pki.caCert], retries: 0, requestTimeoutMs: 2000 });
  const cache = new CachingKeyProvider(client);
  t.teardown(() => cache.close());
  const r = new Registry();
  registerKmsMetrics(r, cache);
  t.equal(sample(await r.metrics(), 's3d_kms_endpoint_healthy', { endpoint }), 1, 'healthy until it fails');
  await t.rejects(cache.generateKey(NAME, Buffer.from('{}')), { code: 'Unavailable' });
  const text = await r.metrics();
  t.equal(sample(text, 's3d_kms_requests_total', { endpoint, route: 'generate', code: 'error' }), 1);
  t.equal(sample(text, 's3d_kms_request_errors_total', { endpoint, route: 'generate', reason: 'network' }), 1);
  t.equal(sample(text, 's3d_kms_request_duration_seconds_count', { endpoint, route: 'generate' }), 1);
  t.equal(sample(text, 's3d_kms_call_errors_total', { route: 'generate', code: 'Unavailable' }), 1);
  t.equal(sample(text, 's3d_kms_endpoint_healthy', { endpoint }), 0, 'quarantined after the failure');
});
