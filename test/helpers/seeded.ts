// A seeded pseudo-random generator for tests that draw random inputs (fuzz, model and differential
// tests): the same seed gives the same inputs, so a failure repeats.

/** mulberry32: a small deterministic PRNG for seeded tests. */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(a: readonly T[]): T; bool(p?: number): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)]!,
    bool: (p = 0.5) => next() < p,
  };
}
