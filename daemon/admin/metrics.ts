// Prometheus metrics (prom-client): requests by operation and status, bytes, latency, crypto
// pool depth and utilisation, KMS calls and cache, the object-key cache, LMDB size, disk space,
// the data gate, lifecycle, usage per bucket and KMS key, notifications. Scraped at
// /minio/v2/metrics/cluster and /metrics (docs/operations.md lists every metric).

import { setImmediate as nextTurn } from 'node:timers/promises';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CryptoPool } from '../crypto/pool.js';
import { type SlotArena, sharedInlineArena } from '../crypto/slot-arena.js';
import { CachingKeyProvider } from '../kms/cache.js';
import { kesClientOf } from '../kms/index.js';
import { isObservable } from '../kms/provider.js';
import type { KeyProvider } from '../kms/provider.js';
import type { MetaStore } from '../meta/store.js';
import type { ObjectKeyCache } from '../sse/key-cache.js';
import type { FileStore } from '../storage/files.js';
import type { ResponseCut } from '../http/server.js';
import type { DiskSpace } from '../storage/disk-space.js';
import { aeadImplementation } from '../../workers/format/dare-aead.js';
import { crcImplementation } from '../auth/payload.js';
import type { TargetStats } from '../notify/webhook.js';
import type { BucketUsage } from '../meta/usage.js';
import { STORE_FORMAT } from '../meta/state.js';
import { S3D_VERSION } from '../version.js';
import type { LastBackup, LastVerify } from '../storage/run-records.js';

/** What the bucket usage metrics read (meta/usage.ts UsageScanner). */
interface UsageFigures {
  readonly usage: ReadonlyMap<string, BucketUsage>;
  readonly kmsKeys: ReadonlyMap<string, number>;
  readonly lastScan: { readonly endedAt: number; readonly seconds: number } | undefined;
}

/** What the metrics read, each at scrape time. */
export interface MetricsDeps {
  pool: CryptoPool | null;
  kms: KeyProvider | null;
  meta: MetaStore;
  objectKeys?: ObjectKeyCache;
  files?: FileStore;
  disk?: DiskSpace;
  lifecycle?: { readonly totals: { readonly expired: number; readonly versions: number; readonly aborted: number } };
  usage?: UsageFigures;
  notify?: { stats(): TargetStats[] };
  listeners?: { readonly size: number; readonly max: number; readonly droppedTotal: number; readonly refusedTotal: number };
  /**
   * The served TLS certificates' notAfter (Unix seconds): the default one's, and each per-domain
   * one's by its S3_CERTS_DIR sub-directory; unset without TLS.
   */
  tlsCertificateExpiry?: () => { default: number; domains: ReadonlyArray<readonly [string, number]> } | undefined;
  /** The records of the last good backup and the last whole-store verify (storage/run-records.ts). */
  lastBackup?: () => LastBackup | undefined;
  lastVerify?: () => LastVerify | undefined;
  dataGate?: { readonly limit: number; readonly inUse: number; readonly waiting: number; readonly parked: number; readonly refused: number };
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'op' | 'status'>;
  private readonly responsesCut: Counter<'op' | 'reason'>;
  private readonly tamperedReads: Counter<'op'>;
  private readonly bytesIn: Counter<'op'>;
  private readonly bytesOut: Counter<'op'>;
  private readonly latency: Histogram<'op'>;
  private readonly kmsOff: (() => void) | undefined;

  constructor(deps: MetricsDeps) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 's3d_' });
    this.requests = new Counter({ name: 's3d_requests_total', help: 'S3 requests by operation and HTTP status', labelNames: ['op', 'status'], registers: [r] });
    this.bytesIn = new Counter({ name: 's3d_rx_bytes_total', help: 'Request payload bytes received', labelNames: ['op'], registers: [r] });
    this.bytesOut = new Counter({ name: 's3d_tx_bytes_total', help: 'Response body bytes sent', labelNames: ['op'], registers: [r] });
    this.responsesCut = new Counter({
      name: 's3d_responses_cut_total',
      help: 'Responses closed before their end after the status line went out (also counted in s3d_requests_total under that status): reason "tampered" = object data failed authentication, "failed" = another read error',
      labelNames: ['op', 'reason'],
      registers: [r],
    });
    this.tamperedReads = new Counter({
      name: 's3d_tampered_reads_total',
      help: 'Reads whose object data failed authentication (modified on disk?), or whose object record failed its own integrity check (a sealed key or checksums that do not open): refused with XMinioObjectTampered before any byte, or cut after the authenticated bytes; each is logged at error level naming the object',
      labelNames: ['op'],
      registers: [r],
    });
    this.latency = new Histogram({
      name: 's3d_request_duration_seconds',
      help: 'Request latency by operation',
      labelNames: ['op'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [r],
    });
    new Gauge({ name: 's3d_build_info', help: 'Always 1: the s3d version running, the metadata store format it writes and its Node.js version, as labels', labelNames: ['version', 'store_format', 'node'], registers: [r] })
      .set({ version: S3D_VERSION, store_format: String(STORE_FORMAT), node: process.version }, 1);
    // The records of the last backup and verify runs (storage/run-records.ts): 0 until there is
    // one, so an alert on their age fires for a directory never backed up or checked too.
    const lastBackup = deps.lastBackup;
    if (lastBackup !== undefined) {
      recordGauge(r, 's3d_backup_last_success_timestamp_seconds', 'When the last s3d backup of this data directory that ended well finished (Unix seconds; alert when it is older than the schedule allows); 0 before the first', lastBackup, (b) => Date.parse(b.finished) / 1000);
      recordGauge(r, 's3d_backup_last_duration_seconds', 'How long the last s3d backup that ended well took', lastBackup, (b) => b.seconds);
      recordGauge(r, 's3d_backup_last_bytes', 'Bytes the last s3d backup that ended well copied (data files and metadata)', lastBackup, (b) => b.bytes);
    }
    const lastVerify = deps.lastVerify;
    if (lastVerify !== undefined) {
      recordGauge(r, 's3d_verify_last_run_timestamp_seconds', 'When the last s3d verify of the whole store finished (Unix seconds); 0 before the first', lastVerify, (v) => Date.parse(v.finished) / 1000);
      recordGauge(r, 's3d_verify_last_problems', 'Problems the last s3d verify of the whole store found (a damaged or missing object version or part each; its output names them); alert on any', lastVerify, (v) => v.problems);
      recordGauge(r, 's3d_verify_last_deep', '1 when the last s3d verify of the whole store read and authenticated every byte (--deep), 0 when it checked data files and sizes only', lastVerify, (v) => (v.deep ? 1 : 0));
      recordGauge(r, 's3d_verify_last_versions', 'Object versions the last s3d verify of the whole store checked', lastVerify, (v) => v.versions);
    }
    const tlsExpiry = deps.tlsCertificateExpiry;
    if (tlsExpiry !== undefined) {
      new Gauge({
        name: 's3d_tls_certificate_expiry_timestamp_seconds',
        help: 'When a TLS certificate the endpoint serves expires (its notAfter, Unix seconds; alert on it minus time() falling below some days): the default one without labels, a per-domain one (SNI) with certificate="its S3_CERTS_DIR sub-directory"; absent without S3_CERTS_DIR',
        labelNames: ['certificate'],
        registers: [r],
        collect() {
          const at = tlsExpiry();
          this.reset();
          if (at === undefined) return;
          this.set(at.default);
          for (const [certificate, notAfter] of at.domains) this.set({ certificate }, notAfter);
        },
      });
    }
    const pool = deps.pool;
    readGauge(r, 's3d_crypto_pool_queue_depth', 'Crypto tasks waiting for a worker', () => pool ? pool.stats().queued : 0);
    readGauge(r, 's3d_crypto_pool_utilization', 'Share of the crypto pool workers\' time spent busy over about the last minute (0..1)', () => pool ? pool.stats().utilization : 0);
    readGauge(r, 's3d_crypto_pool_workers', 'Crypto pool worker threads', () => pool ? pool.stats().workers : 0);
    readGauge(r, 's3d_crypto_md5_lanes', 'MD5 hashing lanes started (a worker thread each, kept; at most S3_CRYPTO_WORKERS)', () => (pool ? pool.md5Stats().lanes : 0));
    readGauge(r, 's3d_crypto_md5_streams', 'Uploads hashing their MD5 ETag through a lane now; 0 when idle', () => (pool ? pool.md5Stats().streams : 0));
    readGauge(r, 's3d_crypto_native_aes', '1 when AES-256-GCM runs through the native OpenSSL binding (dist/native/dare-aead.node), 0 when through node:crypto', () => (aeadImplementation().native ? 1 : 0));
    readGauge(r, 's3d_checksum_native_crc', '1 when CRC32C and CRC64NVME checksums run through the native binding (dist/native/checksums.node), 0 when in JavaScript', () => (crcImplementation().native ? 1 : 0));
    // The arena keeps its peak (slots are recycled, never freed): in use is what requests hold now, and goes back to 0 when idle.
    const arenas = (): SlotArena[] => (pool ? [pool.arena, sharedInlineArena()] : [sharedInlineArena()]);
    readGauge(r, 's3d_crypto_slots_in_use', 'Crypto slots (~2 MiB of shared memory each) held by requests now; 0 when idle', () => arenas().reduce((n, a) => n + a.allocated - a.free, 0));
    readGauge(r, 's3d_crypto_slots_allocated', 'Crypto slots allocated since start (recycled, never freed: the peak in use, rounded up to chunks of 8)', () => arenas().reduce((n, a) => n + a.allocated, 0));
    const meta = deps.meta;
    readGauge(r, 's3d_lmdb_entries', 'Records in the LMDB metadata store (buckets, objects, versions, uploads, parts, queued deletions)', () => meta.stats().entries);
    readGauge(r, 's3d_lmdb_used_bytes', 'Bytes of the LMDB map in use (pages up to the last written one)', () => meta.stats().usedBytes);
    readGauge(r, 's3d_lmdb_map_size_bytes', 'Size of the LMDB memory map', () => meta.stats().mapSize);
    mirrorCounter(r, 's3d_list_entries_read_total', 'Object entries visited by listings and the usage scan since start', { read: () => meta.listEntriesRead });
    mirrorCounter(r, 's3d_version_entries_read_total', 'Records of the versions table (noncurrent versions, delete markers) read since start, by version look-ups, listings, writes and the usage scan', { read: () => meta.versionEntriesRead });
    mirrorCounter(r, 's3d_upload_entries_read_total', 'Multipart upload records read by upload listings, the lifecycle and usage scans and the stale-upload sweep since start', { read: () => meta.uploadEntriesRead });
    const files = deps.files;
    if (files !== undefined) {
      mirrorCounter(r, 's3d_data_file_reads_total', 'Data-file reads by path: sync (small range of a file read or written through the page cache lately) or pool (libuv thread pool)', {
        label: 'mode',
        read: () => files.reads,
      });
      readGauge(r, 's3d_data_files_direct_io', '1 when data files are written with O_DIRECT (around the page cache), 0 when through it', () => files.directIo ? 1 : 0);
      readGauge(r, 's3d_data_files_warm', 'Data files treated as being in the page cache (read synchronously when small)', () => files.warm.size);
    }
    const disk = deps.disk;
    if (disk !== undefined) {
      // statfs at most once a second, however often it is scraped.
      const diskGauge = (name: string, help: string, read: () => number): void =>
        readGauge(r, name, help, async () => {
          await disk.current();
          return read();
        });
      diskGauge('s3d_data_disk_free_bytes', 'Free bytes on the data directory\'s filesystem (available to unprivileged users)', () => disk.freeBytes);
      diskGauge('s3d_data_disk_total_bytes', 'Size of the data directory\'s filesystem in bytes', () => disk.totalBytes);
      diskGauge('s3d_data_disk_min_free_bytes', 'Free space new object writes must leave (S3_MIN_FREE_DISK; 0 = off): below it they get 507 XMinioStorageFull', () => disk.minFreeBytes);
    }
    const lifecycle = deps.lifecycle;
    if (lifecycle !== undefined) {
      mirrorCounter(r, 's3d_lifecycle_expired_objects_total', 'Objects expired by bucket lifecycle Expiration rules (deleted, or a delete marker put on top in a versioned bucket)', { read: () => lifecycle.totals.expired });
      mirrorCounter(r, 's3d_lifecycle_removed_versions_total', 'Noncurrent versions and expired delete markers removed by NoncurrentVersionExpiration and ExpiredObjectDeleteMarker rules', { read: () => lifecycle.totals.versions });
      mirrorCounter(r, 's3d_lifecycle_aborted_uploads_total', 'Incomplete multipart uploads aborted by AbortIncompleteMultipartUpload rules', { read: () => lifecycle.totals.aborted });
    }
    const usage = deps.usage;
    if (usage !== undefined) {
      // Rendered by render() a slice at a time, not through the registry (see bucketFamilies).
      this.#usage = usage;
      const perBucket = (name: string, help: string, pick: (u: BucketUsage) => number): void =>
        void this.#bucketFamilies.push({ name, help: `${help} per bucket, as of the last usage scan (S3_USAGE_SCAN_INTERVAL)`, pick });
      perBucket('s3d_bucket_objects', 'Current objects (not delete markers)', (u) => u.objects);
      perBucket('s3d_bucket_object_bytes', 'Plaintext bytes of the current objects', (u) => u.bytes);
      perBucket('s3d_bucket_noncurrent_versions', 'Noncurrent versions (versioned buckets)', (u) => u.versions);
      perBucket('s3d_bucket_noncurrent_bytes', 'Plaintext bytes of the noncurrent versions', (u) => u.versionBytes);
      perBucket('s3d_bucket_delete_markers', 'Delete markers', (u) => u.deleteMarkers);
      const kmsHelp = 'Object versions and multipart uploads in progress whose object key this KMS key seals, as of the last usage scan (a key without a series seals nothing stored)';
      labelledGauge(r, 's3d_kms_key_objects', kmsHelp, 'key', () => usage.kmsKeys);
      readGauge(r, 's3d_usage_scan_timestamp_seconds', 'When the last bucket usage scan ended (0: none yet)', () => (usage.lastScan?.endedAt ?? 0) / 1000);
      readGauge(r, 's3d_usage_scan_duration_seconds', 'How long the last bucket usage scan took', () => usage.lastScan?.seconds ?? 0);
    }
    const notify = deps.notify;
    if (notify !== undefined) {
      const per = (pick: (s: TargetStats) => number) => () => Object.fromEntries(notify.stats().map((s) => [s.id, pick(s)]));
      mirrorCounter(r, 's3d_notify_events_queued_total', 'Bucket notification events queued per webhook target', { label: 'target', read: per((s) => s.queued) });
      mirrorCounter(r, 's3d_notify_events_sent_total', 'Bucket notification events delivered (2xx) per webhook target', { label: 'target', read: per((s) => s.sent) });
      mirrorCounter(r, 's3d_notify_events_failed_total', 'Failed webhook delivery attempts per target (each is retried)', { label: 'target', read: per((s) => s.failed) });
      mirrorCounter(r, 's3d_notify_events_dropped_total', 'Undelivered events dropped per webhook target because its queue was full (S3_NOTIFY_WEBHOOK_QUEUE_LIMIT)', { label: 'target', read: per((s) => s.dropped) });
      labelledGauge(r, 's3d_notify_queue_length', 'Bucket notification events waiting for delivery per webhook target', 'target', () => notify.stats().map((t) => [t.id, t.waiting]));
    }
    const listeners = deps.listeners;
    if (listeners !== undefined) {
      readGauge(r, 's3d_notify_listeners', 'Open ListenBucketNotification/ListenNotification streams (mc watch and the like)', () => listeners.size);
      readGauge(r, 's3d_notify_listeners_max', 'How many listening streams may be open at once (S3_LISTEN_MAX; 0: no limit)', () => listeners.max);
      mirrorCounter(r, 's3d_notify_listen_dropped_total', 'Events not sent to a listener because it had 4000 unread events or 1 MiB of them waiting', { read: () => listeners.droppedTotal });
      mirrorCounter(r, 's3d_notify_listen_refused_total', 'Listen requests answered 503 SlowDown because S3_LISTEN_MAX streams were open or their requester held its share', { read: () => listeners.refusedTotal });
    }
    const gate = deps.dataGate;
    if (gate !== undefined) {
      readGauge(r, 's3d_data_requests_in_flight', 'Requests moving object data through data files now (at most S3_DATA_REQUESTS_MAX unless 0)', () => gate.inUse);
      readGauge(r, 's3d_data_requests_waiting', 'Requests waiting for a place among those moving object data (S3_DATA_REQUESTS_MAX)', () => gate.waiting);
      readGauge(r, 's3d_data_requests_parked', 'Uploads and downloads waiting on a slow client without holding a place (at most 4 × S3_DATA_REQUESTS_MAX)', () => gate.parked);
      readGauge(r, 's3d_data_requests_max', 'S3_DATA_REQUESTS_MAX (0: no limit)', () => gate.limit);
      mirrorCounter(r, 's3d_data_requests_refused_total', 'Requests answered 503 SlowDown after waiting S3_DATA_REQUESTS_WAIT for a place', { read: () => gate.refused });
    }
    if (deps.kms) this.kmsOff = registerKmsMetrics(r, deps.kms);
    const keys = deps.objectKeys;
    if (keys !== undefined) {
      mirrorCounter(r, 's3d_sse_object_key_cache_hits_total', 'SSE-S3/SSE-KMS reads whose unsealed object key was cached (no KMS unwrap, no unseal)', { read: () => keys.hits });
      mirrorCounter(r, 's3d_sse_object_key_cache_misses_total', 'SSE-S3/SSE-KMS reads that unsealed their object key', { read: () => keys.misses });
      readGauge(r, 's3d_sse_object_key_cache_size', 'Unsealed object keys held', () => keys.size);
    }
  }

  /** Label children per operation (and status): prom-client hashes label objects on every call otherwise. */
  readonly #byOp = new Map<string, { bytesIn: { inc(v: number): void }; bytesOut: { inc(v: number): void }; latency: { observe(v: number): void }; status: Map<number, { inc(): void }> }>();

  observe(info: { op: string; status: number; bytesIn: number; bytesOut: number; seconds: number; cut?: ResponseCut; tampered?: true }): void {
    let m = this.#byOp.get(info.op);
    if (m === undefined) {
      m = { bytesIn: this.bytesIn.labels(info.op), bytesOut: this.bytesOut.labels(info.op), latency: this.latency.labels(info.op), status: new Map() };
      this.#byOp.set(info.op, m);
    }
    let requests = m.status.get(info.status);
    if (requests === undefined) {
      requests = this.requests.labels(info.op, String(info.status));
      m.status.set(info.status, requests);
    }
    requests.inc();
    if (info.bytesIn > 0) m.bytesIn.inc(info.bytesIn);
    if (info.bytesOut > 0) m.bytesOut.inc(info.bytesOut);
    m.latency.observe(info.seconds);
    if (info.cut !== undefined) this.responsesCut.labels(info.op, info.cut).inc();
    if (info.tampered) this.tamperedReads.labels(info.op).inc();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const body = await this.registry.metrics();
    const buckets = await this.#renderBucketFamilies();
    // prom-client ends each family with a newline and puts an empty line between two.
    return { contentType: this.registry.contentType, body: buckets === '' ? body : `${body}\n${buckets}` };
  }

  /** The per-bucket gauges (s3d_bucket_*), when usage is scanned. */
  readonly #bucketFamilies: Array<{ name: string; help: string; pick: (u: BucketUsage) => number }> = [];
  #usage: UsageFigures | undefined;

  /**
   * The per-bucket gauges in the exposition format, with a turn of the event loop every
   * BUCKET_LINES_PER_TURN lines. Through prom-client (a labelled Gauge set at each scrape, then
   * serialised in one go) a scrape cost ~20 µs a bucket, all of it holding the event loop: with
   * 100,000 buckets every request waited ~2 s at each scrape, and a store of a million buckets
   * (~20 s a scrape) would have come near systemd's watchdog (60 s without a ping).
   */
  async #renderBucketFamilies(): Promise<string> {
    if (this.#usage === undefined) return '';
    // The scan replaces the map whole: one scrape shows one scan's figures.
    const usage = this.#usage.usage;
    const out: string[] = [];
    let lines = 0;
    for (const { name, help, pick } of this.#bucketFamilies) {
      const family = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} gauge`];
      for (const [bucket, u] of usage) {
        family.push(`${name}{bucket="${escapeLabel(bucket)}"} ${pick(u)}`);
        if (++lines % BUCKET_LINES_PER_TURN === 0) await nextTurn();
      }
      out.push(family.join('\n') + '\n');
    }
    return out.join('\n');
  }

  /** Detach from the KMS layer's event hooks. */
  close(): void {
    this.kmsOff?.();
  }
}

/** Latency buckets (seconds) for KMS calls: loopback KES answers in ~1 ms, a remote one in tens. */
const KMS_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000];

/**
 * The KMS layer's metrics, all prefixed `s3d_kms_`:
 * - per KES endpoint and route (each HTTP exchange, retries and failover attempts included):
 *   `requests_total{endpoint,route,code}`, `request_errors_total{endpoint,route,reason}`,
 *   `request_duration_seconds{endpoint,route}`, and `endpoint_healthy{endpoint}`;
 * - per provider call as the cache sees it (after retries and failover):
 *   `calls_total{route}`, `call_errors_total{route,code}`, `call_duration_seconds{route}`;
 * - the unwrap cache: `cache_hits_total`, `cache_misses_total`, `cache_coalesced_total`,
 *   `cache_stale_served_total`, `cache_evictions_total{reason}`, `cache_entries`,
 *   `unwraps_in_flight`, `unwraps_queued`, `batch_size` (cold unwraps dispatched together) and
 *   `bulk_decrypt_size` (ciphertexts per bulk call).
 * Returns the function that detaches the observers.
 */
/** A gauge whose value is read when scraped. */
/** A gauge of a run record's field at scrape time, 0 while there is no record. */
function recordGauge<T>(r: Registry, name: string, help: string, read: () => T | undefined, pick: (rec: T) => number): void {
  new Gauge({
    name,
    help,
    registers: [r],
    collect() {
      const rec = read();
      this.set(rec === undefined ? 0 : pick(rec));
    },
  });
}

function readGauge(r: Registry, name: string, help: string, read: () => number | Promise<number>): void {
  new Gauge({
    name,
    help,
    registers: [r],
    async collect() {
      this.set(await read());
    },
  });
}

const BUCKET_LINES_PER_TURN = 2000;

/** A metric's help text as the exposition format escapes it (as prom-client does). */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value as the exposition format escapes it (bucket names need none: kept for safety). */
function escapeLabel(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A gauge with one series per label value `read` gives at scrape time (values it no longer gives go). */
function labelledGauge(r: Registry, name: string, help: string, label: string, read: () => Iterable<readonly [string, number]>): void {
  new Gauge({
    name,
    help,
    labelNames: [label],
    registers: [r],
    collect() {
      this.reset();
      for (const [value, n] of read()) this.set({ [label]: value }, n);
    },
  });
}

/**
 * A counter mirrored from a component's own running tallies at scrape time (it increments by the
 * delta since the last scrape). With `label`, `read` returns one tally per label value.
 */
function mirrorCounter(r: Registry, name: string, help: string, src: { read: () => number } | { label: string; read: () => Readonly<Record<string, number>> }): void {
  const seen = new Map<string, number>();
  const bump = (c: { inc(v: number): void }, key: string, now: number): void => {
    c.inc(Math.max(0, now - (seen.get(key) ?? 0)));
    seen.set(key, now);
  };
  if ('label' in src) {
    new Counter({
      name,
      help,
      labelNames: [src.label],
      registers: [r],
      collect() {
        for (const [value, now] of Object.entries(src.read())) bump(this.labels(value), value, now);
      },
    });
  } else {
    new Counter({
      name,
      help,
      registers: [r],
      collect() {
        bump(this, '', src.read());
      },
    });
  }
}

export function registerKmsMetrics(r: Registry, kms: KeyProvider): () => void {
  const requests = new Counter({
    name: 's3d_kms_requests_total',
    help: 'HTTP requests to KMS endpoints by endpoint, route and HTTP status (code="error" when no response arrived)',
    labelNames: ['endpoint', 'route', 'code'],
    registers: [r],
  });
  const requestErrors = new Counter({
    name: 's3d_kms_request_errors_total',
    help: 'KMS requests that failed: no response (reason timeout, tls, network) or an HTTP error status (reason http_<status>)',
    labelNames: ['endpoint', 'route', 'reason'],
    registers: [r],
  });
  const requestLatency = new Histogram({
    name: 's3d_kms_request_duration_seconds',
    help: 'Latency of single HTTP requests to KMS endpoints',
    labelNames: ['endpoint', 'route'],
    buckets: KMS_LATENCY_BUCKETS,
    registers: [r],
  });
  const calls = new Counter({
    name: 's3d_kms_calls_total',
    help: 'Calls to the KMS provider by route (after retries and failover; cache hits make none)',
    labelNames: ['route'],
    registers: [r],
  });
  const callErrors = new Counter({
    name: 's3d_kms_call_errors_total',
    help: 'Failed KMS provider calls by route and error code (Unavailable, KeyNotFound, NotAuthentic, Forbidden, …)',
    labelNames: ['route', 'code'],
    registers: [r],
  });
  const callLatency = new Histogram({
    name: 's3d_kms_call_duration_seconds',
    help: 'Latency of KMS provider calls by route, retries and failover included',
    labelNames: ['route'],
    buckets: KMS_LATENCY_BUCKETS,
    registers: [r],
  });
  const batchSize = new Histogram({
    name: 's3d_kms_batch_size',
    help: 'Cold data-key unwraps dispatched together by the cache',
    buckets: BATCH_BUCKETS,
    registers: [r],
  });
  const bulkSize = new Histogram({
    name: 's3d_kms_bulk_decrypt_size',
    help: 'Ciphertexts sent in one bulk decrypt call',
    buckets: BATCH_BUCKETS,
    registers: [r],
  });
  for (const route of ['generate', 'decrypt']) calls.inc({ route }, 0);

  const off = isObservable(kms)
    ? kms.addObserver({
        onRequest(e) {
          requests.inc({ endpoint: e.endpoint, route: e.route, code: e.status === undefined ? 'error' : String(e.status) });
          if (e.error !== undefined || (e.status !== undefined && e.status >= 400)) {
            requestErrors.inc({ endpoint: e.endpoint, route: e.route, reason: e.error ?? `http_${e.status}` });
          }
          requestLatency.observe({ endpoint: e.endpoint, route: e.route }, e.seconds);
        },
        onCall(e) {
          calls.inc({ route: e.route });
          if (e.error !== undefined) callErrors.inc({ route: e.route, code: e.error });
          callLatency.observe({ route: e.route }, e.seconds);
        },
        onBatch(n) {
          batchSize.observe(n);
        },
        onBulk(n) {
          bulkSize.observe(n);
        },
      })
    : () => undefined;

  const kes = kesClientOf(kms);
  const clientCertificate = kes?.clientCertificate;
  if (clientCertificate !== undefined) {
    new Gauge({ name: 's3d_kms_client_certificate_expiry_timestamp_seconds', help: 'When the client certificate s3d shows KES (S3_KMS_KES_CERT_FILE) expires (its notAfter, Unix seconds): KES refuses it after that; absent without KES or with an API key', registers: [r] }).set(
      Math.floor(clientCertificate.notAfterMs / 1000),
    );
  }
  if (kes) {
    new Gauge({
      name: 's3d_kms_endpoint_healthy',
      help: 'KES endpoint health as request routing sees it: 0 while skipped after a failure (30 s quarantine), else 1',
      labelNames: ['endpoint'],
      registers: [r],
      collect() {
        for (const h of kes.endpointHealth()) this.set({ endpoint: h.endpoint }, h.quarantined ? 0 : 1);
      },
    });
  }

  if (kms instanceof CachingKeyProvider) {
    const cache = kms;
    // Monotonic counters kept by the cache, exported as they are at scrape time.
    const fromStats = (name: string, help: string, pick: (s: ReturnType<CachingKeyProvider['stats']>) => number): void => {
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          this.inc(pick(cache.stats()));
        },
      });
    };
    fromStats('s3d_kms_cache_hits_total', 'Data-key unwraps answered from the cache', (s) => s.hits);
    fromStats('s3d_kms_cache_misses_total', 'Data-key unwraps that had to ask the KMS', (s) => s.misses);
    fromStats('s3d_kms_cache_coalesced_total', 'Data-key unwraps that joined an identical one already asking the KMS', (s) => s.coalesced);
    fromStats('s3d_kms_cache_stale_served_total', 'Unwraps answered with an expired key because the KMS was unavailable', (s) => s.staleServed);
    new Counter({
      name: 's3d_kms_cache_evictions_total',
      help: 'Cached data keys dropped (and zero-filled): reason="size" (LRU bound) or "expired" (TTL plus grace)',
      labelNames: ['reason'],
      registers: [r],
      collect() {
        const s = cache.stats();
        this.reset();
        this.inc({ reason: 'size' }, s.evictions);
        this.inc({ reason: 'expired' }, s.expirations);
      },
    });
    const gauge = (name: string, help: string, pick: (s: ReturnType<CachingKeyProvider['stats']>) => number): void => readGauge(r, name, help, () => pick(cache.stats()));
    gauge('s3d_kms_cache_entries', 'Data keys held in the unwrap cache', (s) => s.size);
    gauge('s3d_kms_unwraps_in_flight', 'KMS unwrap calls in flight (a bulk call counts once; bounded by S3_KMS_MAX_IN_FLIGHT)', (s) => s.inFlight);
    gauge('s3d_kms_unwraps_queued', 'KMS unwrap calls waiting for an in-flight slot', (s) => s.queued);
  }
  return off;
}
