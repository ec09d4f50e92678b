// Latency histogram for the load generator: log-spaced buckets (2 % wide) over 1 µs .. 1000 s,
// cheap to record from the hot loop, mergeable across workers, exact count/min/max/sum.

/** Relative width of one bucket: a percentile read back is within ±1 % of a recorded value. */
export const BUCKET_GROWTH = 1.02;
const LOG_GROWTH = Math.log(BUCKET_GROWTH);
/** Bucket 0 holds values below 1 µs; the last bucket everything above ~1000 s. */
export const BUCKET_COUNT = 2 + Math.ceil(Math.log(1e9) / LOG_GROWTH);

/** Plain data, so it crosses worker boundaries with postMessage (structured clone). */
export interface HistogramData {
  counts: Uint32Array;
  count: number;
  /** microseconds */
  min: number;
  max: number;
  sum: number;
}

export function createHistogram(): HistogramData {
  return { counts: new Uint32Array(BUCKET_COUNT), count: 0, min: Number.POSITIVE_INFINITY, max: 0, sum: 0 };
}

export function bucketOf(micros: number): number {
  if (!(micros >= 1)) return 0;
  const i = 1 + Math.floor(Math.log(micros) / LOG_GROWTH);
  return i < BUCKET_COUNT ? i : BUCKET_COUNT - 1;
}

/** Representative value of a bucket (geometric middle of its bounds), in µs. */
export function bucketValue(index: number): number {
  if (index <= 0) return 0.5;
  return Math.pow(BUCKET_GROWTH, index - 1) * Math.sqrt(BUCKET_GROWTH);
}

export function recordMicros(h: HistogramData, micros: number): void {
  h.counts[bucketOf(micros)]!++;
  h.count++;
  h.sum += micros;
  if (micros < h.min) h.min = micros;
  if (micros > h.max) h.max = micros;
}

/** Adds `from` into `into` (both must come from createHistogram). */
export function mergeHistogram(into: HistogramData, from: HistogramData): void {
  const a = into.counts;
  const b = from.counts;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) a[i]! += b[i]!;
  into.count += from.count;
  into.sum += from.sum;
  if (from.min < into.min) into.min = from.min;
  if (from.max > into.max) into.max = from.max;
}

/**
 * The value at quantile q (0..1) in µs, nearest-rank on the buckets, clamped to the exact
 * min/max so p0 and p100 are exact. NaN when empty.
 */
export function quantileMicros(h: HistogramData, q: number): number {
  if (h.count === 0) return Number.NaN;
  if (q <= 0) return h.min;
  if (q >= 1) return h.max;
  const rank = Math.max(1, Math.ceil(q * h.count));
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i]!;
    if (seen >= rank) return Math.min(h.max, Math.max(h.min, bucketValue(i)));
  }
  return h.max;
}

export interface LatencySummaryMs {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
}

export function summarizeLatency(h: HistogramData): LatencySummaryMs {
  const ms = (us: number): number => (Number.isFinite(us) ? Math.round(us) / 1000 : Number.NaN);
  return {
    count: h.count,
    meanMs: h.count === 0 ? Number.NaN : ms(h.sum / h.count),
    p50Ms: ms(quantileMicros(h, 0.5)),
    p90Ms: ms(quantileMicros(h, 0.9)),
    p99Ms: ms(quantileMicros(h, 0.99)),
    minMs: h.count === 0 ? Number.NaN : ms(h.min),
    maxMs: h.count === 0 ? Number.NaN : ms(h.max),
  };
}
