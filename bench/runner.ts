// Executes the plan's pieces against the servers of this invocation: one timed run → RunResult,
// one prefill (count mode) → counts. Knows which server answers which ServerKind.

import type { HttpTarget } from './load/connection.js';
import type { LoadPool, MergedLoad } from './load/driver.js';
import type { LoadCredentials, OpTally } from './load/protocol.js';
import type { SsecKey } from './load/sse-headers.js';
import type { ReadSet, RunSpec } from './plan.js';
import type { OpFigures, RunResult, ServerKind, SseMode, WorkloadKind } from './report/types.js';
import { summarizeLatency } from './stats/histogram.js';
import { segmentStats } from './stats/summary.js';

export interface BenchServer {
  kind: ServerKind;
  target: HttpTarget;
  /** process whose CPU and RSS are accounted (null: unknown, e.g. --endpoint without --server-pid) */
  pid: () => number | null;
  bucket: string;
}

export interface RunContext {
  pool: LoadPool;
  servers: ReadonlyMap<ServerKind, BenchServer>;
  credentials: LoadCredentials;
  ssec: SsecKey;
  warmupMs: number;
  measureMs: number;
}

/** Per-request timeout: generous for large objects on a loaded box. */
export function timeoutFor(size: number): number {
  return 30_000 + Math.ceil(size / (8 * 1024 * 1024)) * 1000;
}

function opFigures(t: OpTally): OpFigures {
  return { ops: t.ops, errors: t.errors, latency: summarizeLatency(t.hist) };
}

export function toRunResult(spec: RunSpec, m: MergedLoad): RunResult {
  const opsPerSec = m.total.ops / m.windowS;
  // Bytes as they moved inside the window: one 64 MiB op more or less does not swing the figure.
  const bytesPerSec = m.windowBytes / m.windowS;
  return {
    id: spec.id,
    workload: spec.workload,
    sizeBytes: spec.sizeBytes,
    concurrency: spec.concurrency,
    sse: spec.sse,
    server: spec.server,
    round: spec.round,
    windowS: m.windowS,
    ops: m.total.ops,
    opsPerSec,
    bytesPerSec,
    mbPerSec: bytesPerSec / 1e6,
    errors: m.total.errors,
    ...(m.errorSample === undefined ? {} : { errorSample: m.errorSample }),
    latency: summarizeLatency(m.total.hist),
    byOp: Object.fromEntries(Object.entries(m.byOp).map(([k, v]) => [k, opFigures(v)])),
    segments: segmentStats(m.segments, 1, m.windowS),
    cpu: m.cpu,
    peakRssMiB: null,
  };
}

function server(ctx: RunContext, kind: ServerKind): BenchServer {
  const s = ctx.servers.get(kind);
  if (s === undefined) throw new Error(`no ${kind} server in this run`);
  return s;
}

/** One timed run of a RunSpec. */
export async function executeRun(ctx: RunContext, spec: RunSpec): Promise<RunResult> {
  const s = server(ctx, spec.server);
  const m = await ctx.pool.run({
    target: s.target,
    credentials: ctx.credentials,
    bucket: s.bucket,
    workload: spec.workload,
    sizeBytes: spec.sizeBytes,
    sse: spec.sse,
    ssec: ctx.ssec,
    readPrefix: spec.readSet?.prefix ?? '',
    readCount: spec.readSet?.count ?? 0,
    writePrefix: spec.writePrefix,
    writeRing: spec.writeRing,
    partSize: spec.partSize,
    timeoutMs: timeoutFor(spec.sizeBytes),
    mode: 'timed',
    warmupMs: ctx.warmupMs,
    measureMs: ctx.measureMs * spec.measureScale,
    countFrom: 0,
    count: 0,
    concurrency: spec.concurrency,
    serverPid: s.pid(),
    drainMs: timeoutFor(spec.sizeBytes),
  });
  return toRunResult(spec, m);
}

export interface CountJob {
  server: ServerKind;
  sse: SseMode;
  workload: Extract<WorkloadKind, 'put' | 'get' | 'multipart'>;
  sizeBytes: number;
  prefix: string;
  from: number;
  count: number;
  concurrency: number;
  partSize?: number;
}

/** Writes or reads objects `${prefix}${i}` for i in [from, from + count), each once. */
export function countRun(ctx: RunContext, job: CountJob): Promise<MergedLoad> {
  const s = server(ctx, job.server);
  return ctx.pool.run({
    target: s.target,
    credentials: ctx.credentials,
    bucket: s.bucket,
    workload: job.workload,
    sizeBytes: job.sizeBytes,
    sse: job.sse,
    ssec: ctx.ssec,
    readPrefix: job.prefix,
    readCount: job.from + job.count,
    writePrefix: job.prefix,
    writeRing: 0,
    partSize: job.partSize ?? 5 * 1024 * 1024,
    timeoutMs: timeoutFor(job.sizeBytes),
    mode: 'count',
    warmupMs: 0,
    measureMs: 0,
    countFrom: job.from,
    count: job.count,
    concurrency: job.concurrency,
    serverPid: s.pid(),
    drainMs: 0,
  });
}

export function prefillSet(ctx: RunContext, set: ReadSet): Promise<MergedLoad> {
  const c = set.sizeBytes <= 64 * 1024 ? 32 : set.sizeBytes <= 16 * 1024 * 1024 ? 8 : 2;
  return countRun(ctx, { server: set.server, sse: set.sse, workload: 'put', sizeBytes: set.sizeBytes, prefix: set.prefix, from: 0, count: set.count, concurrency: c });
}
