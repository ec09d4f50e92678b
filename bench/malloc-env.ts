// glibc tunables for every Node process the bench starts (perf-limits B2: without them each fresh
// 1 MiB allocation page-faults and costs 3–4×). Kept apart so the launcher can read it cheaply.

export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '33554432',
  MALLOC_TRIM_THRESHOLD_: '268435456',
};
