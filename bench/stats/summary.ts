// Pure arithmetic behind every reported figure: medians, A/B pair ratios with their noise, and
// per-second segment statistics (warp's fastest / median / slowest).

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** a / b, or NaN when either is not a positive finite number. */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0 || a < 0) return Number.NaN;
  return a / b;
}

/** One back-to-back A/B measurement and what else the machine was doing meanwhile. */
export interface PairSample {
  round: number;
  a: number;
  b: number;
  /** share of the 2 cores used by processes outside the measured ones, during A and during B */
  otherCpuA: number;
  otherCpuB: number;
}

export interface PairSummary {
  /** median of the per-pair ratios a/b (all pairs) */
  value: number;
  /** median over the quiet pairs only (NaN when none was quiet) */
  quietValue: number;
  ratios: number[];
  pairs: number;
  noisyPairs: number;
  /** the worse of the two other-CPU shares, per pair */
  otherCpu: number[];
}

/** Other load above this share of the machine marks a run noisy (perf-limits.md: 15 %). */
export const NOISY_OTHER_CPU = 0.15;

export function summarizePairs(samples: readonly PairSample[], noisyAbove = NOISY_OTHER_CPU): PairSummary {
  const ratios = samples.map((s) => ratio(s.a, s.b));
  const otherCpu = samples.map((s) => Math.max(s.otherCpuA, s.otherCpuB));
  const quiet = ratios.filter((_, i) => !(otherCpu[i]! > noisyAbove));
  return {
    value: median(ratios),
    quietValue: median(quiet),
    ratios,
    pairs: samples.length,
    noisyPairs: otherCpu.filter((o) => o > noisyAbove).length,
    otherCpu,
  };
}

export interface SegmentStats {
  fastest: number;
  median: number;
  slowest: number;
  segments: number;
}

/**
 * Throughput per whole segment (e.g. ops per 1 s). Partial segments are dropped, as warp does;
 * when the window held no whole segment the single partial one is scaled up instead.
 */
export function segmentStats(perSegment: readonly number[], segmentSeconds: number, windowSeconds: number): SegmentStats {
  const whole = Math.floor(windowSeconds / segmentSeconds + 1e-9);
  const used = whole > 0 ? perSegment.slice(0, whole) : perSegment.slice(0, 1).map((x) => (x * segmentSeconds) / Math.max(windowSeconds, 1e-9));
  const rates = used.map((x) => x / segmentSeconds);
  if (rates.length === 0) return { fastest: Number.NaN, median: Number.NaN, slowest: Number.NaN, segments: 0 };
  return { fastest: Math.max(...rates), median: median(rates), slowest: Math.min(...rates), segments: rates.length };
}

/** Rounds to `digits` significant digits (for tables); keeps NaN. */
export function sig(x: number, digits = 3): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}
