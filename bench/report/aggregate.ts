// Folds repeated runs (A/B rounds) into one row per run id — medians of throughput, latency
// and CPU — and finds each daemon row's ceiling: the null server under the same load.

import { median } from '../stats/summary.js';
import type { RunResult, ServerKind, SseMode, WorkloadKind } from './types.js';

export interface RunRow {
  id: string;
  workload: WorkloadKind;
  sizeBytes: number;
  concurrency: number;
  server: ServerKind;
  sse: SseMode;
  runs: number;
  opsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  errors: number;
  errorSample?: string;
  serverSecPerGB: number | null;
  serverUsPerOp: number | null;
  clientUsPerOp: number;
  otherShare: number;
  noisyRuns: number;
  /** ops/s ÷ the ceiling row's ops/s */
  vsCeiling: number | null;
  ceilingId: string | null;
}

const nullableMedian = (xs: Array<number | null>): number | null => {
  const v = median(xs.filter((x): x is number => x !== null));
  return Number.isFinite(v) ? v : null;
};

export function isNullServer(server: ServerKind): boolean {
  return server === 'sink' || server === 'sink-tls';
}

/** One row per run id, in first-seen order, ceilings attached. */
export function aggregateRuns(runs: readonly RunResult[]): RunRow[] {
  const byId = new Map<string, RunResult[]>();
  for (const r of runs) {
    const list = byId.get(r.id) ?? [];
    list.push(r);
    byId.set(r.id, list);
  }
  const rows: RunRow[] = [];
  for (const [id, list] of byId) {
    const f = list[0]!;
    const errors = list.reduce((n, r) => n + r.errors, 0);
    const sample = list.find((r) => r.errorSample !== undefined)?.errorSample;
    rows.push({
      id,
      workload: f.workload,
      sizeBytes: f.sizeBytes,
      concurrency: f.concurrency,
      server: f.server,
      sse: f.sse,
      runs: list.length,
      opsPerSec: median(list.map((r) => r.opsPerSec)),
      mbPerSec: median(list.map((r) => r.mbPerSec)),
      p50Ms: median(list.map((r) => r.latency.p50Ms)),
      p90Ms: median(list.map((r) => r.latency.p90Ms)),
      p99Ms: median(list.map((r) => r.latency.p99Ms)),
      errors,
      ...(sample === undefined ? {} : { errorSample: sample }),
      serverSecPerGB: nullableMedian(list.map((r) => r.cpu.serverSecPerGB)),
      serverUsPerOp: nullableMedian(list.map((r) => r.cpu.serverUsPerOp)),
      clientUsPerOp: median(list.map((r) => r.cpu.clientUsPerOp)),
      otherShare: median(list.map((r) => r.cpu.otherShare)),
      noisyRuns: list.filter((r) => r.cpu.noisy).length,
      vsCeiling: null,
      ceilingId: null,
    });
  }
  for (const row of rows) {
    if (isNullServer(row.server)) continue;
    const same = (server: ServerKind): RunRow | undefined =>
      rows.find((c) => c.server === server && c.workload === row.workload && c.sizeBytes === row.sizeBytes && c.concurrency === row.concurrency);
    const ceiling = row.server === 'daemon-tls' ? (same('sink-tls') ?? same('sink')) : same('sink');
    if (ceiling !== undefined && ceiling.opsPerSec > 0 && Number.isFinite(row.opsPerSec)) {
      row.vsCeiling = row.opsPerSec / ceiling.opsPerSec;
      row.ceilingId = ceiling.id;
    }
  }
  return rows;
}

/** Series name for tables and the chart: the null server, or the SSE mode. */
export function seriesOf(row: { server: ServerKind; sse: SseMode }): string {
  if (row.server === 'sink') return 'null server';
  if (row.server === 'sink-tls') return 'null server TLS';
  return row.sse;
}
