// The shape of bench/results/*.json: every run, baseline, KMS figure and target ratio of one
// bench invocation. The Markdown and SVG writers and the docs read only this.

import type { LatencySummaryMs } from '../stats/histogram.js';
import type { ProfileSummary } from './profile.js';
import type { SegmentStats } from '../stats/summary.js';

export type SseMode = 'none' | 'sse-s3' | 'sse-kes' | 'sse-c';
export type WorkloadKind = 'put' | 'get' | 'mixed' | 'list' | 'multipart';
/** sink/source: the raw uWS null server; daemon*: s3d (plain HTTP, TLS for SSE-C, KES-backed). */
export type ServerKind = 'sink' | 'sink-tls' | 'daemon' | 'daemon-tls' | 'daemon-kes';

export interface CpuFigures {
  /** CPU seconds of the server process (all threads) during the window; null when not measurable */
  serverS: number | null;
  serverSecPerGB: number | null;
  serverUsPerOp: number | null;
  /** CPU seconds of the bench process (load workers, plus the KES fixture when in use) */
  clientS: number;
  clientUsPerOp: number;
  clientNsPerByte: number | null;
  /** share of the machine (all cores) used by everything else during the window, from /proc/stat */
  otherShare: number;
  /** share of the machine busy in total */
  busyShare: number;
  noisy: boolean;
}

export interface OpFigures {
  ops: number;
  errors: number;
  latency: LatencySummaryMs;
}

export interface RunResult {
  id: string;
  workload: WorkloadKind;
  sizeBytes: number;
  concurrency: number;
  sse: SseMode;
  server: ServerKind;
  /** pair round this run belongs to, or null for a one-off run */
  round: number | null;
  windowS: number;
  ops: number;
  opsPerSec: number;
  bytesPerSec: number;
  /** 10^6 bytes per second */
  mbPerSec: number;
  errors: number;
  errorSample?: string;
  latency: LatencySummaryMs;
  byOp: Record<string, OpFigures>;
  /** ops/s per whole 1 s segment */
  segments: SegmentStats;
  cpu: CpuFigures;
  peakRssMiB: number | null;
}

export interface CryptoBaseline {
  /** share of the machine other processes used during the rounds (median); > 0.15 is noisy */
  backgroundCpu?: number;
  /** The AES-256-GCM the crypto figures used (absent in results written before 2026-12-04: node:crypto). */
  aes?: 'native' | 'node:crypto';
  oneThreadSealGBps: number;
  /** node:crypto on one thread, measured beside the native binding (absent without it). */
  oneThreadNodeSealGBps?: number;
  poolSealGBps: number;
  poolOpenGBps: number;
  md5GBps: number;
  sha256GBps: number;
  /** poolSeal / oneThreadSeal, median over rounds */
  ratio: number;
  rounds: number;
}

export interface DiskBaseline {
  path: string;
  fsType: string;
  bytes: number;
  /** write through the page cache then fdatasync, bytes / total time */
  writeFsyncGBps: number;
  /** the write part alone */
  pageCacheWriteGBps: number;
  /** 4 KiB pwrite + fdatasync per iteration */
  fsyncsPerSec: number;
  /**
   * What a 1 MiB PUT asks of the disk, alone: 16 concurrent writers each creating new 1 MiB files
   * (open O_EXCL, write, fdatasync, close; all kept until the end, like an ingest of new data).
   */
  newFiles1MiBPerSec?: number;
  /** CPU (bench process, all threads, kernel included) per such file, ms */
  newFileCpuMs?: number;
}

export interface LmdbBaseline {
  /** async puts issued in one turn, one transaction, durable commit at the end */
  batchedPutsPerSec: number;
  /** awaited groups of 64 async puts: one durable commit per group (64 concurrent requests) */
  group64PutsPerSec: number;
  /** putSync: one durable commit per put */
  syncPutsPerSec: number;
}

/** What the load generator reaches against the null server, and what it costs itself. */
export interface ClientCeiling {
  id: string;
  opsPerSec: number;
  mbPerSec: number;
  clientUsPerOp: number;
  clientNsPerByte: number | null;
  serverUsPerOp: number | null;
}

export interface Baselines {
  crypto: CryptoBaseline | null;
  cryptoNote?: string;
  disk: DiskBaseline | null;
  lmdb: LmdbBaseline | null;
  clientCeiling: ClientCeiling[];
}

export interface KmsFigures {
  available: boolean;
  note?: string;
  puts: number;
  putCalls: number;
  callsPerPut: number | null;
  hotGets: number;
  hotCalls: number;
  callsPer1000HotGets: number | null;
  coldGets: number;
  coldCalls: number;
  callsPer1000ColdGets: number | null;
  hotGetLatency: LatencySummaryMs | null;
  coldGetLatency: LatencySummaryMs | null;
  /** mean KMS unwrap latency: from the daemon's metrics when exposed, else null */
  unwrapLatencyMs: number | null;
  /** cold minus hot GET p50: what a cache miss adds to a request */
  missPenaltyP50Ms: number | null;
  cacheHitRate: number | null;
  cacheHitRateSource: 'metrics' | 'fixture' | null;
  /** most decrypt calls the fixture saw in flight at once during the cold GETs */
  maxDecryptInFlight: number | null;
  bulkItems: number;
  /** KMS batch histogram from the daemon's metrics, when exposed */
  batchSizes: Record<string, number> | null;
  /** KMS-related samples found in /minio/v2/metrics/cluster (name{labels} → value) */
  metrics: Record<string, number>;
  fixtureRequests: Record<string, number>;
}

export type Comparison = '>=' | '<=';

export interface RatioEntry {
  value: number | null;
  target: number;
  met: boolean;
  comparison: Comparison;
  /** what A and B were */
  measures: string;
  pairs?: number;
  noisyPairs?: number;
  perPair?: number[];
  otherCpuPerPair?: number[];
  quietValue?: number | null;
  /** every pair (or the crypto rounds) ran with > 15 % of the machine used by others: the verdict may be wrong */
  noisy?: boolean;
  /** the same pair judged by CPU per byte (server + client) instead of throughput: steadier under noise */
  cpuModelValue?: number | null;
  note?: string;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memGiB: number;
  kernel: string;
  node: string;
  openssl: string;
  hostname: string;
  dataDirFs: string;
  clockTicks: number;
}

export interface BenchSettings {
  mode: 'quick' | 'full';
  rounds: number;
  warmupS: number;
  measureS: number;
  clientWorkers: number;
  mallocEnv: Record<string, string>;
  target: 'spawned' | 'endpoint';
  endpoint?: string;
  /** the code measured: the commit, and whether tracked files differed from it */
  git?: { commit: string; dirty: boolean };
  /** daemon settings passed through from the bench's environment (S3_DIRECT_IO=off, …) */
  daemonEnv?: Record<string, string>;
}

export interface BenchResults {
  schema: 1;
  startedAt: string;
  finishedAt: string;
  elapsedS: number;
  machine: MachineInfo;
  settings: BenchSettings;
  baselines: Baselines;
  runs: RunResult[];
  kms: KmsFigures;
  ratios: Record<string, RatioEntry>;
  notes: string[];
  /** --profile: where the daemons' CPU time went, per profiled thread */
  profiles?: ProfileSummary[];
}
