// Main-thread side of the load generator: a fixed set of worker threads that each run a share
// of a job's connections, started at one common instant; samples CPU at the window's edges and
// merges the workers' tallies into one result.

import { Worker } from 'node:worker_threads';
import { cpuSnapshot, clockTicks } from '../sys/proc.js';
import { createHistogram, mergeHistogram } from '../stats/histogram.js';
import { cpuFigures } from '../stats/cpu.js';
import type { CpuSnapshot } from '../stats/cpu.js';
import type { CpuFigures } from '../report/types.js';
import type { LoadJob, LoadResult, OpTally, WorkerMessage } from './protocol.js';

export type LoadSpec = Omit<LoadJob, 'connections' | 'workerIndex' | 'workers' | 'startAt'> & {
  concurrency: number;
  /** the server whose CPU is accounted (null: only the client and the machine) */
  serverPid: number | null;
  /** extra time allowed for ops still in flight when the window ends */
  drainMs: number;
};

export interface MergedLoad {
  total: OpTally;
  byOp: Record<string, OpTally>;
  segments: number[];
  /** body bytes moved inside the window */
  windowBytes: number;
  listedKeys: number;
  errorSample: string | undefined;
  connects: number;
  windowS: number;
  cpu: CpuFigures;
}

const mergeTally = (into: OpTally, from: OpTally): void => {
  into.ops += from.ops;
  into.errors += from.errors;
  into.bytes += from.bytes;
  mergeHistogram(into.hist, from.hist);
};
const newTally = (): OpTally => ({ ops: 0, errors: 0, bytes: 0, hist: createHistogram() });

/** Lead time so every worker has its job before the common start. */
const START_LEAD_MS = 60;

export class LoadPool {
  readonly #workers: Worker[];

  constructor(workers: number) {
    this.#workers = Array.from({ length: workers }, () => {
      const w = new Worker(new URL('./worker.js', import.meta.url));
      return w;
    });
  }

  get size(): number {
    return this.#workers.length;
  }

  #post(w: Worker, job: LoadJob, timeoutMs: number): Promise<LoadResult> {
    return new Promise<LoadResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`load worker ${job.workerIndex} gave no result within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const onMessage = (m: WorkerMessage): void => {
        cleanup();
        if (m.type === 'result') resolve(m.result);
        else reject(new Error(`load worker ${job.workerIndex}: ${m.message}`));
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.postMessage(job);
    });
  }

  async run(spec: LoadSpec): Promise<MergedLoad> {
    const n = Math.max(1, Math.min(this.#workers.length, spec.concurrency));
    const startAt = Date.now() + START_LEAD_MS;
    const { concurrency, serverPid, drainMs, ...rest } = spec;
    const share = (total: number, i: number): number => Math.floor(total / n) + (i < total % n ? 1 : 0);
    const jobs: LoadJob[] = Array.from({ length: n }, (_, i) => {
      // count mode: each worker takes its own contiguous slice of the key range
      let countFrom = rest.countFrom;
      for (let j = 0; j < i; j++) countFrom += share(rest.count, j);
      return { ...rest, connections: share(concurrency, i), workerIndex: i, workers: n, startAt, countFrom, count: share(rest.count, i) };
    });
    const timed = spec.mode === 'timed';
    // CPU is sampled at the window edges; count-mode jobs are measured start to finish.
    let first: CpuSnapshot | undefined;
    let last: CpuSnapshot | undefined;
    const windowStart = startAt + (timed ? spec.warmupMs : 0);
    const t1 = setTimeout(() => (first = cpuSnapshot(serverPid)), Math.max(0, windowStart - Date.now()));
    const t2 = timed ? setTimeout(() => (last = cpuSnapshot(serverPid)), Math.max(0, windowStart + spec.measureMs - Date.now())) : undefined;
    const budget = (timed ? START_LEAD_MS + spec.warmupMs + spec.measureMs : spec.timeoutMs * Math.max(1, spec.count)) + drainMs + 30_000;
    let results: LoadResult[];
    const began = Date.now();
    try {
      results = await Promise.all(jobs.map((job, i) => this.#post(this.#workers[i]!, job, budget)));
    } finally {
      clearTimeout(t1);
      if (t2 !== undefined) clearTimeout(t2);
    }
    first ??= cpuSnapshot(serverPid);
    last ??= cpuSnapshot(serverPid);
    const total = newTally();
    const byOp: Record<string, OpTally> = {};
    const segments: number[] = [];
    let listedKeys = 0;
    let windowBytes = 0;
    let connects = 0;
    let errorSample: string | undefined;
    for (const r of results) {
      mergeTally(total, r.total);
      for (const [name, t] of Object.entries(r.byOp)) mergeTally((byOp[name] ??= newTally()), t);
      r.segments.forEach((v, i) => (segments[i] = (segments[i] ?? 0) + v));
      listedKeys += r.listedKeys;
      windowBytes += r.windowBytes;
      connects += r.connects;
      errorSample ??= r.errorSample;
    }
    const windowS = timed ? spec.measureMs / 1000 : Math.max(1e-3, (Date.now() - Math.max(began, windowStart)) / 1000);
    return {
      total,
      byOp,
      segments: Array.from(segments, (v) => v ?? 0),
      windowBytes,
      listedKeys,
      errorSample,
      connects,
      windowS,
      cpu: cpuFigures(first, last, clockTicks(), total.ops, timed ? windowBytes : total.bytes),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
