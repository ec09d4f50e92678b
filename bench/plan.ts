// What one bench invocation runs (pure): the A/B rounds behind the targets, the one-off matrix
// of sizes × SSE modes × workloads for the chart, the objects to prefill, and baseline budgets.

import type { ServerKind, SseMode, WorkloadKind } from './report/types.js';
import { objectPrefix, sizeLabel } from './sizes.js';
import { runId } from './targets.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export interface ReadSet {
  server: ServerKind;
  sse: SseMode;
  sizeBytes: number;
  prefix: string;
  count: number;
}

export interface RunSpec {
  id: string;
  workload: WorkloadKind;
  sizeBytes: number;
  concurrency: number;
  server: ServerKind;
  sse: SseMode;
  /** A/B round, or null for a one-off */
  round: number | null;
  /** objects read by get/mixed/list */
  readSet: ReadSet | null;
  /** where PUT/multipart write (overwriting a ring of names keeps the disk footprint bounded) */
  writePrefix: string;
  writeRing: number;
  partSize: number;
  /** multiple of the measured window (large objects need longer to finish a few operations) */
  measureScale: number;
}

export interface Plan {
  mode: 'quick' | 'full';
  prefill: ReadSet[];
  rounds: RunSpec[][];
  matrix: RunSpec[];
  kes: { sizeBytes: number; objects: number };
  rssObjectBytes: number;
  baselines: { cryptoSeconds: number; cryptoRounds: number; diskBytes: number; fsyncSeconds: number; lmdbSeconds: number };
}

export const MODES: readonly SseMode[] = ['none', 'sse-s3', 'sse-kes', 'sse-c'];

/** The daemon instance that serves an SSE mode (SSE-C needs TLS; KES mode its own KMS). */
export function serverFor(sse: SseMode): ServerKind {
  return sse === 'sse-c' ? 'daemon-tls' : sse === 'sse-kes' ? 'daemon-kes' : 'daemon';
}

/** warp-like concurrency per object size: many small requests, few large ones. */
export function concurrencyFor(size: number): number {
  if (size <= 4 * KiB) return 64;
  if (size <= 64 * KiB) return 32;
  if (size <= MiB) return 16;
  if (size <= 16 * MiB) return 8;
  return 2;
}

/** Names overwritten per worker: about 256 MiB of distinct objects; 4 KiB objects stay unique. */
export function writeRingFor(size: number): number {
  if (size <= 4 * KiB) return 0;
  return Math.max(4, Math.floor((256 * MiB) / size));
}

function readCountFor(size: number, quick: boolean, sse: SseMode): number {
  // Quick runs: 1,000 SSE-S3 objects (one full ListObjectsV2 page), fewer for the one-off modes
  // (each SSE-S3-via-KES PUT waits for a KES round trip).
  if (size <= 4 * KiB) return quick ? (sse === 'sse-s3' ? 1000 : sse === 'sse-kes' ? 200 : 300) : 5000;
  if (size <= 64 * KiB) return quick ? 400 : 1000;
  if (size <= MiB) return quick ? 64 : 256;
  if (size <= 16 * MiB) return 16;
  return 4;
}

class PlanBuilder {
  readonly sets = new Map<string, ReadSet>();
  constructor(readonly quick: boolean) {}

  readSet(server: ServerKind, sse: SseMode, size: number, series: string = sse): ReadSet {
    const sink = server === 'sink' || server === 'sink-tls';
    const prefix = objectPrefix(size, series);
    const key = `${server}|${prefix}`;
    let set = this.sets.get(key);
    if (set === undefined) {
      set = { server, sse, sizeBytes: size, prefix, count: readCountFor(size, this.quick, sse) };
      // The null server needs no objects: it answers any name with the size its label says.
      if (!sink) this.sets.set(key, set);
    }
    return set;
  }

  run(workload: WorkloadKind, size: number, concurrency: number, server: ServerKind, sse: SseMode, round: number | null, series?: string): RunSpec {
    const needsRead = workload === 'get' || workload === 'mixed' || workload === 'list';
    return {
      id: runId(workload, sizeLabel(size), concurrency, server, sse),
      workload,
      sizeBytes: size,
      concurrency,
      server,
      sse,
      round,
      readSet: needsRead ? this.readSet(server, sse, size, series) : null,
      writePrefix: `${objectPrefix(size, series ?? sse)}${workload}-`,
      writeRing: workload === 'mixed' ? 0 : writeRingFor(size),
      partSize: 5 * MiB,
      measureScale: !this.quick && size >= 16 * MiB && round === null ? 2 : 1,
    };
  }
}

/** The arms of one A/B round, grouped so that every pair runs back to back. */
function roundArms(b: PlanBuilder, round: number): RunSpec[][] {
  return [
    [
      b.run('put', MiB, 16, 'sink', 'none', round),
      b.run('put', MiB, 16, 'sink-tls', 'none', round),
      b.run('put', MiB, 16, 'daemon-tls', 'sse-c', round),
      b.run('put', MiB, 16, 'daemon', 'sse-s3', round),
      b.run('put', MiB, 16, 'daemon', 'none', round),
    ],
    [b.run('get', MiB, 16, 'sink', 'none', round), b.run('get', MiB, 16, 'daemon', 'none', round), b.run('get', MiB, 16, 'daemon', 'sse-s3', round)],
    [
      b.run('put', 4 * KiB, 64, 'sink', 'none', round),
      b.run('put', 4 * KiB, 64, 'daemon', 'sse-s3', round),
      b.run('get', 4 * KiB, 64, 'sink', 'none', round),
      b.run('get', 4 * KiB, 64, 'daemon', 'sse-s3', round),
    ],
    [b.run('put', 64 * MiB, 1, 'sink', 'none', round), b.run('put', 64 * MiB, 1, 'sink-tls', 'none', round), b.run('put', 64 * MiB, 1, 'daemon-tls', 'sse-c', round)],
  ];
}

export function buildPlan(mode: 'quick' | 'full', roundCount: number): Plan {
  const quick = mode === 'quick';
  const b = new PlanBuilder(quick);
  const rounds: RunSpec[][] = [];
  for (let r = 0; r < roundCount; r++) {
    // Alternate the order every round so slow drift (page cache, background load) hits both arms.
    const groups = roundArms(b, r);
    const ordered = r % 2 === 0 ? groups : groups.map((g) => [...g].reverse()).reverse();
    rounds.push(ordered.flat());
  }
  const inRounds = new Set(rounds.flat().map((s) => s.id));
  const matrix: RunSpec[] = [];
  const add = (s: RunSpec): void => {
    if (!inRounds.has(s.id) && !matrix.some((m) => m.id === s.id)) matrix.push(s);
  };
  const sizes = quick ? [4 * KiB, MiB] : [4 * KiB, 64 * KiB, MiB, 16 * MiB, 256 * MiB];
  for (const size of sizes) {
    const c = concurrencyFor(size);
    for (const workload of ['put', 'get'] as const) {
      if (!quick) add(b.run(workload, size, c, 'sink', 'none', null));
      for (const sse of MODES) add(b.run(workload, size, c, serverFor(sse), sse, null));
    }
  }
  if (!quick) {
    // Concurrency sweep, 1 MiB SSE-S3.
    for (const c of [1, 4, 64]) for (const workload of ['put', 'get'] as const) add(b.run(workload, MiB, c, 'daemon', 'sse-s3', null));
  }
  const mixedSize = quick ? 64 * KiB : MiB;
  const extraModes: readonly SseMode[] = quick ? ['sse-s3'] : MODES;
  for (const sse of extraModes) {
    add(b.run('mixed', mixedSize, 16, serverFor(sse), sse, null, `${sse}-mixed`));
    add(b.run('list', 4 * KiB, 4, serverFor(sse), sse, null));
    add(b.run('multipart', 16 * MiB, 4, serverFor(sse), sse, null));
  }
  if (!quick) {
    add(b.run('mixed', mixedSize, 16, 'sink', 'none', null));
    add(b.run('list', 4 * KiB, 4, 'sink', 'none', null));
    add(b.run('multipart', 16 * MiB, 4, 'sink', 'none', null));
  }
  return {
    mode,
    prefill: [...b.sets.values()],
    rounds,
    matrix,
    kes: { sizeBytes: 4 * KiB, objects: quick ? 300 : 2000 },
    rssObjectBytes: GiB,
    baselines: quick
      ? { cryptoSeconds: 2, cryptoRounds: 2, diskBytes: 256 * MiB, fsyncSeconds: 0.5, lmdbSeconds: 0.5 }
      : { cryptoSeconds: 2, cryptoRounds: 3, diskBytes: GiB, fsyncSeconds: 2, lmdbSeconds: 2 },
  };
}
