// The targets of issue 7, by name: which runs form each A/B pair, the threshold, and how the
// value is computed (median of per-round pair ratios, or a single measured figure).

import type { Baselines, Comparison, KmsFigures, RatioEntry, RunResult } from './report/types.js';
import { median, summarizePairs } from './stats/summary.js';
import type { PairSample } from './stats/summary.js';

export const TARGET_NAMES = [
  'sse_put_overhead',
  'ssec_put_vs_sink',
  'sse_get_vs_plain',
  'plain_get_vs_source',
  'single_stream_sse',
  'pool_vs_one_thread',
  'small_put_durable_vs_sink',
  'small_get_vs_source',
  'kes_calls_per_1000_hot_gets',
  'kes_calls_per_put',
  'peak_rss_mib',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

interface TargetBase {
  target: number;
  comparison: Comparison;
  measures: string;
}
/** A ratio of two runs taken back to back in each round (throughput of A ÷ throughput of B). */
interface PairTarget extends TargetBase {
  kind: 'pair';
  a: string;
  b: string;
  /** a second denominator reported next to the official one (e.g. the plain-HTTP sink) */
  alsoVs?: string;
}
interface FigureTarget extends TargetBase {
  kind: 'figure';
}
export type TargetDef = PairTarget | FigureTarget;

/** Run ids: `${workload}-${size}-c${concurrency}-${server}-${sse}` (see runId). */
export function runId(workload: string, sizeLabel: string, concurrency: number, server: string, sse: string): string {
  return `${workload}-${sizeLabel}-c${concurrency}-${server}-${sse}`;
}

export const TARGETS: Readonly<Record<TargetName, TargetDef>> = {
  sse_put_overhead: {
    kind: 'pair', target: 0.85, comparison: '>=',
    a: runId('put', '1MiB', 16, 'daemon', 'sse-s3'), b: runId('put', '1MiB', 16, 'daemon', 'none'),
    measures: 'SSE-S3 PUT 1 MiB c16 ÷ the same daemon without SSE (both return the MD5 ETag)',
  },
  ssec_put_vs_sink: {
    kind: 'pair', target: 0.55, comparison: '>=',
    a: runId('put', '1MiB', 16, 'daemon-tls', 'sse-c'), b: runId('put', '1MiB', 16, 'sink-tls', 'none'),
    alsoVs: runId('put', '1MiB', 16, 'sink', 'none'),
    measures: 'SSE-C PUT 1 MiB c16 (TLS, as SSE-C requires) ÷ the raw uWS sink over TLS, same client',
  },
  sse_get_vs_plain: {
    kind: 'pair', target: 0.85, comparison: '>=',
    a: runId('get', '1MiB', 16, 'daemon', 'sse-s3'), b: runId('get', '1MiB', 16, 'daemon', 'none'),
    measures: 'SSE-S3 GET 1 MiB c16 ÷ the same daemon, unencrypted objects',
  },
  plain_get_vs_source: {
    kind: 'pair', target: 0.6, comparison: '>=',
    a: runId('get', '1MiB', 16, 'daemon', 'none'), b: runId('get', '1MiB', 16, 'sink', 'none'),
    measures: 'unencrypted GET 1 MiB c16 ÷ the raw uWS source',
  },
  single_stream_sse: {
    kind: 'pair', target: 0.5, comparison: '>=',
    a: runId('put', '64MiB', 1, 'daemon-tls', 'sse-c'), b: runId('put', '64MiB', 1, 'sink-tls', 'none'),
    alsoVs: runId('put', '64MiB', 1, 'sink', 'none'),
    measures: 'one 64 MiB SSE-C PUT stream (TLS) ÷ one stream into the raw uWS sink over TLS',
  },
  pool_vs_one_thread: {
    kind: 'figure', target: 1.6, comparison: '>=',
    measures: 'Piscina seal GB/s with 2 workers ÷ DARE sealing on one thread (runCryptoMicro)',
  },
  small_put_durable_vs_sink: {
    kind: 'pair', target: 0.2, comparison: '>=',
    a: runId('put', '4KiB', 64, 'daemon', 'sse-s3'), b: runId('put', '4KiB', 64, 'sink', 'none'),
    measures: 'SSE-S3 PUT 4 KiB c64, acknowledged when durable ÷ the raw uWS 4 KiB sink',
  },
  small_get_vs_source: {
    kind: 'pair', target: 0.5, comparison: '>=',
    a: runId('get', '4KiB', 64, 'daemon', 'sse-s3'), b: runId('get', '4KiB', 64, 'sink', 'none'),
    measures: 'SSE-S3 GET 4 KiB c64 ÷ the raw uWS 4 KiB source',
  },
  kes_calls_per_1000_hot_gets: {
    kind: 'figure', target: 0, comparison: '<=',
    measures: 'KES API calls (fixture counters) per 1,000 GETs of SSE-S3 objects whose keys are cached',
  },
  kes_calls_per_put: {
    kind: 'figure', target: 1, comparison: '<=',
    measures: 'KES API calls per SSE-S3 PUT (fixture counters)',
  },
  peak_rss_mib: {
    kind: 'figure', target: 256, comparison: '<=',
    measures: 'daemon VmHWM (MiB) during one 1 GiB SSE-S3 PUT and GET (peak reset just before)',
  },
};

/** Every pair of run ids the plan must take in each round. */
export function pairArms(): string[] {
  const ids = new Set<string>();
  for (const def of Object.values(TARGETS)) {
    if (def.kind !== 'pair') continue;
    ids.add(def.a);
    ids.add(def.b);
    if (def.alsoVs !== undefined) ids.add(def.alsoVs);
  }
  return [...ids];
}

export function isMet(value: number | null, target: number, comparison: Comparison): boolean {
  if (value === null || !Number.isFinite(value)) return false;
  return comparison === '>=' ? value >= target : value <= target;
}

function finiteOrNull(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : x;
}

/** What a pair compares: body bytes/s (same object size on both sides), else ops/s. */
export function throughputOf(r: RunResult): number {
  return r.bytesPerSec > 0 ? r.bytesPerSec : r.opsPerSec;
}

/** CPU seconds (server + load generator) per byte moved, or per op when no bytes: NaN if unknown. */
export function cpuPerUnit(r: RunResult): number {
  if (r.cpu.serverS === null) return Number.NaN;
  const units = r.bytesPerSec > 0 ? r.bytesPerSec * r.windowS : r.ops;
  return units > 0 ? (r.cpu.serverS + r.cpu.clientS) / units : Number.NaN;
}

/**
 * The CPU model of a pair (perf-limits: CPU per request is far steadier than throughput on a
 * shared box): with the cores to ourselves and both sides CPU-bound, A ÷ B would be
 * (CPU per unit of B) ÷ (CPU per unit of A). Median over rounds; NaN when not measurable.
 */
export function cpuModelRatio(runs: readonly RunResult[], a: string, b: string): number {
  const byRound = new Map<number, { a?: RunResult; b?: RunResult }>();
  for (const r of runs) {
    if (r.round === null || (r.id !== a && r.id !== b)) continue;
    const slot = byRound.get(r.round) ?? {};
    if (r.id === a) slot.a = r;
    else slot.b = r;
    byRound.set(r.round, slot);
  }
  const ratios: number[] = [];
  for (const { a: ra, b: rb } of byRound.values()) {
    if (ra === undefined || rb === undefined || ra.errors > 0 || rb.errors > 0) continue;
    ratios.push(cpuPerUnit(rb) / cpuPerUnit(ra));
  }
  return median(ratios);
}

/** Pair samples of runs a and b taken in the same round. */
export function pairSamples(runs: readonly RunResult[], a: string, b: string): PairSample[] {
  const rounds = new Map<number, { a?: RunResult; b?: RunResult }>();
  for (const r of runs) {
    if (r.round === null || (r.id !== a && r.id !== b)) continue;
    const slot = rounds.get(r.round) ?? {};
    if (r.id === a) slot.a = r;
    else slot.b = r;
    rounds.set(r.round, slot);
  }
  const out: PairSample[] = [];
  for (const [round, { a: ra, b: rb }] of [...rounds].sort((x, y) => x[0] - y[0])) {
    if (ra === undefined || rb === undefined) continue;
    // A side with failed requests is no measurement: failures of A would pass for speed, failures
    // of the baseline B (fewer bytes moved) would pass for a better ratio.
    const clean = ra.errors === 0 && rb.errors === 0;
    out.push({ round, a: clean ? throughputOf(ra) : Number.NaN, b: clean ? throughputOf(rb) : Number.NaN, otherCpuA: ra.cpu.otherShare, otherCpuB: rb.cpu.otherShare });
  }
  return out;
}

export interface FigureInputs {
  runs: readonly RunResult[];
  baselines: Baselines;
  kms: KmsFigures;
  peakRssMiB: number | null;
  /** why a figure is missing, by target name */
  missing?: Partial<Record<TargetName, string>>;
}

export function computeRatios(inputs: FigureInputs): Record<TargetName, RatioEntry> {
  const out = {} as Record<TargetName, RatioEntry>;
  for (const name of TARGET_NAMES) {
    const def = TARGETS[name];
    const base = { target: def.target, comparison: def.comparison, measures: def.measures };
    let entry: RatioEntry;
    if (def.kind === 'pair') {
      const s = summarizePairs(pairSamples(inputs.runs, def.a, def.b));
      const value = finiteOrNull(s.value);
      entry = {
        ...base,
        value,
        met: isMet(value, def.target, def.comparison),
        pairs: s.pairs,
        noisyPairs: s.noisyPairs,
        perPair: s.ratios.map((r) => (Number.isFinite(r) ? Number(r.toFixed(4)) : Number.NaN)),
        otherCpuPerPair: s.otherCpu.map((o) => Number(o.toFixed(3))),
        quietValue: finiteOrNull(s.quietValue),
        cpuModelValue: finiteOrNull(cpuModelRatio(inputs.runs, def.a, def.b)),
        ...(s.pairs > 0 && s.noisyPairs === s.pairs ? { noisy: true } : {}),
      };
      if (def.alsoVs !== undefined) {
        const alt = finiteOrNull(summarizePairs(pairSamples(inputs.runs, def.a, def.alsoVs)).value);
        if (alt !== null) entry.note = `vs the plain-HTTP sink instead: ${alt.toFixed(3)}`;
      }
      if (s.pairs === 0) entry.note = 'no complete pair was measured';
      else if (value === null) entry.note = 'A or B had errors in every round';
    } else {
      const value = finiteOrNull(figureValue(name, inputs));
      entry = { ...base, value, met: isMet(value, def.target, def.comparison) };
      const bg = inputs.baselines.crypto?.backgroundCpu;
      if (name === 'pool_vs_one_thread' && bg !== undefined && bg > 0.15) entry.noisy = true;
    }
    const why = inputs.missing?.[name];
    if (entry.value === null && why !== undefined) entry.note = why;
    out[name] = entry;
  }
  return out;
}

function figureValue(name: TargetName, inputs: FigureInputs): number | null {
  switch (name) {
    case 'pool_vs_one_thread':
      return inputs.baselines.crypto?.ratio ?? null;
    case 'kes_calls_per_1000_hot_gets':
      return inputs.kms.available ? inputs.kms.callsPer1000HotGets : null;
    case 'kes_calls_per_put':
      return inputs.kms.available ? inputs.kms.callsPerPut : null;
    case 'peak_rss_mib':
      return inputs.peakRssMiB;
    default:
      return null;
  }
}

/** Median ops/s of one run id over its rounds (for tables and the chart). */
export function medianOf(runs: readonly RunResult[], id: string, pick: (r: RunResult) => number): number {
  return median(runs.filter((r) => r.id === id).map(pick));
}
