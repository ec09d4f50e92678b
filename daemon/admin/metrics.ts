// Prometheus metrics (prom-client): requests by operation and status, bytes, latency, crypto
// pool depth and utilisation, KMS calls and cache, LMDB size. Scraped at /minio/v2/metrics/cluster.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CryptoPool } from '../crypto/pool.js';
import type { KeyProvider } from '../kms/provider.js';
import type { MetaStore } from '../meta/store.js';

interface KmsStatsSource {
  stats(): { hits?: number; misses?: number; calls?: Record<string, number>; errors?: Record<string, number>; batches?: unknown };
}

function hasStats(p: unknown): p is KmsStatsSource {
  return typeof (p as Partial<KmsStatsSource> | null)?.stats === 'function';
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'op' | 'status'>;
  private readonly bytesIn: Counter<'op'>;
  private readonly bytesOut: Counter<'op'>;
  private readonly latency: Histogram<'op'>;

  constructor(deps: { pool: CryptoPool | null; kms: KeyProvider | null; meta: MetaStore }) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 's3d_process_' });
    this.requests = new Counter({ name: 's3d_requests_total', help: 'S3 requests by operation and HTTP status', labelNames: ['op', 'status'], registers: [r] });
    this.bytesIn = new Counter({ name: 's3d_rx_bytes_total', help: 'Request payload bytes received', labelNames: ['op'], registers: [r] });
    this.bytesOut = new Counter({ name: 's3d_tx_bytes_total', help: 'Response body bytes sent', labelNames: ['op'], registers: [r] });
    this.latency = new Histogram({
      name: 's3d_request_duration_seconds',
      help: 'Request latency by operation',
      labelNames: ['op'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [r],
    });
    const pool = deps.pool;
    new Gauge({
      name: 's3d_crypto_pool_queue_depth',
      help: 'Crypto tasks waiting for a worker',
      registers: [r],
      collect() {
        this.set(pool ? pool.stats().queued : 0);
      },
    });
    new Gauge({
      name: 's3d_crypto_pool_utilization',
      help: 'Crypto pool utilisation (0..1)',
      registers: [r],
      collect() {
        this.set(pool ? pool.stats().utilization : 0);
      },
    });
    new Gauge({
      name: 's3d_crypto_pool_workers',
      help: 'Crypto pool worker threads',
      registers: [r],
      collect() {
        this.set(pool ? pool.stats().workers : 0);
      },
    });
    const meta = deps.meta;
    new Gauge({
      name: 's3d_lmdb_entries',
      help: 'Entries in the LMDB metadata store',
      registers: [r],
      collect() {
        this.set(meta.stats().entries);
      },
    });
    new Gauge({
      name: 's3d_list_entries_read_total',
      help: 'Object entries visited by listings since start',
      registers: [r],
      collect() {
        this.set(meta.listEntriesRead);
      },
    });
    const kms = deps.kms;
    if (kms && hasStats(kms)) {
      new Gauge({
        name: 's3d_kms_stat',
        help: 'KMS layer counters (calls by route, errors, cache hits and misses, batches)',
        labelNames: ['name'],
        registers: [r],
        collect() {
          this.reset();
          const flat = flatten(kms.stats() as Record<string, unknown>);
          for (const [name, value] of flat) this.set({ name }, value);
        },
      });
    }
  }

  observe(info: { op: string; status: number; bytesIn: number; bytesOut: number; seconds: number }): void {
    this.requests.inc({ op: info.op, status: String(info.status) });
    if (info.bytesIn > 0) this.bytesIn.inc({ op: info.op }, info.bytesIn);
    if (info.bytesOut > 0) this.bytesOut.inc({ op: info.op }, info.bytesOut);
    this.latency.observe({ op: info.op }, info.seconds);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

function flatten(obj: Record<string, unknown>, prefix = '', out: Array<[string, number]> = []): Array<[string, number]> {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix === '' ? k : `${prefix}_${k}`;
    if (typeof v === 'number' && Number.isFinite(v)) out.push([name, v]);
    else if (typeof v === 'object' && v !== null && !Array.isArray(v)) flatten(v as Record<string, unknown>, name, out);
  }
  return out;
}
