// Test helpers for the crypto pipelines: a counting view of pool.run, chunked sources, patterns.
import { DareError } from '../../../../workers/format/index.js';
import type { CryptoPool } from '../../../../daemon/crypto/pool.js';
import type { CryptoResult, OpenTask, SealTask } from '../../../../workers/protocol.js';

export interface RunSpy {
  calls: (SealTask | OpenTask)[];
  threads: Set<number>;
  maxConcurrent: number;
}

/** Records every batch the pool runs, the worker threads that ran them and the peak concurrency. */
export function spyOnRun(pool: CryptoPool): RunSpy {
  const spy: RunSpy = { calls: [], threads: new Set(), maxConcurrent: 0 };
  const original = pool.run.bind(pool);
  let running = 0;
  pool.run = async (task: SealTask | OpenTask): Promise<CryptoResult> => {
    spy.calls.push(task);
    running++;
    spy.maxConcurrent = Math.max(spy.maxConcurrent, running);
    try {
      const r = await original(task);
      if (r.ok && r.thread !== undefined) spy.threads.add(r.thread);
      return r;
    } finally {
      running--;
    }
  };
  return spy;
}

/** A deterministic pseudo-random generator, so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Cuts `buf` into chunks of 1 … maxChunk bytes. */
export function chunked(buf: Buffer, maxChunk: number, seed = 1): Buffer[] {
  const r = rng(seed);
  const out: Buffer[] = [];
  for (let p = 0; p < buf.length; ) {
    const n = Math.min(buf.length - p, 1 + Math.floor(r() * maxChunk));
    out.push(buf.subarray(p, p + n));
    p += n;
  }
  return out;
}

export async function* sourceOf(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
}

export async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

export function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i + seed) % 251;
  return b;
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Drains a plaintext stream: the DareError code it ended with ('none' when it ended cleanly) and what it yielded. */
export async function outcome(it: AsyncIterable<Buffer>): Promise<{ code: string; yielded: Buffer }> {
  const parts: Buffer[] = [];
  try {
    for await (const c of it) parts.push(Buffer.from(c));
    return { code: 'none', yielded: Buffer.concat(parts) };
  } catch (err) {
    return { code: err instanceof DareError ? err.code : `${(err as Error).name}: ${(err as Error).message}`, yielded: Buffer.concat(parts) };
  }
}
