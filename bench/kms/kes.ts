// KES for the bench: the colleague's KES-API fixture (test/fixtures/kes-server) started in this
// process with its client credentials on disk, the S3_KMS_KES_* variables s3d needs, and the
// fixture's per-route counters; plus a reader for the daemon's KMS metrics.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startKesServer } from '../../test/fixtures/kes-server/server.js';
import type { KesCounters, KesServerHandle } from '../../test/fixtures/kes-server/server.js';

export const KES_KEY_NAME = 's3d-bench-key';

/** KES API routes that are key operations (what "KES calls" counts). */
export const KEY_ROUTES = ['generate', 'decrypt', 'bulk-decrypt', 'encrypt', 'create', 'describe', 'import'] as const;

export interface KesForBench {
  env: Record<string, string>;
  counters(): KesCounters;
  reset(): void;
  /** key-operation calls since the last reset */
  keyCalls(): number;
  close(): Promise<void>;
}

export function keyCallsOf(c: KesCounters): number {
  let n = 0;
  for (const r of KEY_ROUTES) n += c.requests[r] ?? 0;
  return n;
}

export async function startKesForBench(dir: string): Promise<KesForBench> {
  const server: KesServerHandle = await startKesServer({ host: '127.0.0.1' });
  mkdirSync(dir, { recursive: true });
  const certFile = join(dir, 'client.cert');
  const keyFile = join(dir, 'client.key');
  const caFile = join(dir, 'ca.crt');
  // The admin identity may use every key (like `kes:dev`).
  writeFileSync(certFile, server.certs.adminCert);
  writeFileSync(keyFile, server.certs.adminKey, { mode: 0o600 });
  writeFileSync(caFile, server.certs.caCert);
  return {
    env: {
      S3_KMS_KES_ENDPOINT: server.url,
      S3_KMS_KES_CERT_FILE: certFile,
      S3_KMS_KES_KEY_FILE: keyFile,
      S3_KMS_KES_CAPATH: caFile,
      S3_KMS_KES_KEY_NAME: KES_KEY_NAME,
    },
    counters: () => server.counters(),
    reset: () => server.resetCounters(),
    keyCalls: () => keyCallsOf(server.counters()),
    close: () => server.close(),
  };
}

/**
 * KMS samples from Prometheus text: every sample whose name or labels mention kms, keyed
 * `name{labels}`. Tolerates any format it does not understand (returns what it could read).
 */
export function parseKmsMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !/kms|object_key_cache/i.test(line)) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*(?:\{[^}]*\})?)\s+(-?[0-9.eE+-]+|NaN|[+-]Inf)(?:\s+\d+)?\s*$/.exec(line.trim());
    if (m === null) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) out[m[1]!] = v;
  }
  return out;
}

/** The value of `s3d_kms_stat{name="<stat>"}` (or any KMS sample whose label is that name). */
export function kmsStat(metrics: Record<string, number>, stat: string): number | undefined {
  for (const [k, v] of Object.entries(metrics)) {
    if (k.endsWith(`{name="${stat}"}`)) return v;
  }
  return undefined;
}

/** Difference of two metric snapshots (after − before) for the keys present after. */
export function metricsDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) out[k] = v - (before[k] ?? 0);
  return out;
}

const first = (m: Record<string, number>, keys: readonly string[]): number | undefined => {
  for (const k of keys) if (m[k] !== undefined) return m[k];
  return undefined;
};

export interface KmsMetricFigures {
  unwrapLatencyMs: number | null;
  cacheHitRate: number | null;
  batchSizes: Record<string, number> | null;
}

/**
 * KMS figures from metric deltas: `cold` covers the cold GETs, `all` the cold and hot GETs.
 * Understands s3d's Prometheus names (s3d_kms_call_duration_seconds, s3d_kms_cache_hits_total,
 * s3d_kms_batch_size histogram) and the older flattened s3d_kms_stat{name=…} gauge.
 */
export function kmsMetricFigures(cold: Record<string, number>, all: Record<string, number>): KmsMetricFigures {
  let unwrapLatencyMs: number | null = null;
  const sumS = first(cold, ['s3d_kms_call_duration_seconds_sum{route="decrypt"}']);
  const countS = first(cold, ['s3d_kms_call_duration_seconds_count{route="decrypt"}']);
  if (sumS !== undefined && countS !== undefined && countS > 0) unwrapLatencyMs = (1000 * sumS) / countS;
  else {
    const sum = kmsStat(cold, 'latency_decrypt_sumMs');
    const count = kmsStat(cold, 'latency_decrypt_count');
    if (sum !== undefined && count !== undefined && count > 0) unwrapLatencyMs = sum / count;
  }
  // Reads whose key needed no KES call: s3d answers a hot read from its unsealed object-key
  // cache before the KMS data-key cache is even asked, so both count.
  const keyHits = first(all, ['s3d_sse_object_key_cache_hits_total']);
  const keyMisses = first(all, ['s3d_sse_object_key_cache_misses_total']);
  const hits = first(all, ['s3d_kms_cache_hits_total']) ?? kmsStat(all, 'hits');
  const misses = first(all, ['s3d_kms_cache_misses_total']) ?? kmsStat(all, 'misses');
  let cacheHitRate: number | null = null;
  if (keyHits !== undefined && keyMisses !== undefined && keyHits + keyMisses > 0) cacheHitRate = (keyHits + (hits ?? 0)) / (keyHits + keyMisses);
  else if (hits !== undefined && misses !== undefined && hits + misses > 0) cacheHitRate = hits / (hits + misses);

  const sizes: Record<string, number> = {};
  const count = first(cold, ['s3d_kms_batch_size_count']);
  const sum = first(cold, ['s3d_kms_batch_size_sum']);
  if (count !== undefined && sum !== undefined && count > 0) {
    sizes['batches'] = count;
    sizes['mean'] = sum / count;
    // Cumulative buckets → how many batches fell in each (previous le, le].
    const buckets = Object.entries(cold)
      .map(([k, v]) => [/^s3d_kms_batch_size_bucket\{le="([^"]+)"\}$/.exec(k)?.[1], v] as const)
      .filter((e): e is readonly [string, number] => e[0] !== undefined)
      .map(([le, v]) => [le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), v] as const)
      .sort((a, b) => a[0] - b[0]);
    let below = 0;
    for (const [le, cumulative] of buckets) {
      const n = cumulative - below;
      below = cumulative;
      if (n > 0) sizes[Number.isFinite(le) ? `<=${le}` : '>last'] = n;
    }
  } else {
    for (const [k, v] of Object.entries(cold)) {
      const m = /\{name="batches_histogram_([^"]+)"\}$/.exec(k);
      if (m !== null && v > 0) sizes[m[1]!] = v;
    }
  }
  return { unwrapLatencyMs, cacheHitRate, batchSizes: Object.keys(sizes).length > 0 ? sizes : null };
}
