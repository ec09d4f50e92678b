// CryptoPool: the Piscina workers that seal and open DARE batches, one-thread hashing lanes for
// ordered MD5, and the slot arena both share. Streams (seal-stream.ts, open-stream.ts) drive it.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { CipherSuite, RANDOM_SIZE } from '../../workers/format/index.js';
import { WORKER_LOADED, type CryptoResult, type CryptoTask, type Md5FinishTask, type Md5UpdateTask, type OpenTask, type SealTask } from '../../workers/protocol.js';
import { SlotArena } from './slot-arena.js';

export interface CryptoPoolOptions {
  /** Seal/open worker threads; default os.availableParallelism(). */
  workers?: number;
  /** Upper bound on MD5 lanes (each one thread, created on demand); default = workers. */
  hashLanes?: number;
  /** Worker entry; default workers/crypto next to this build. */
  filename?: string;
  /** How long close() waits for tasks to finish and workers still loading (default 10 s; see LoadWatch). */
  loadWaitMs?: number;
  /** The span `utilization` looks back over (default a minute). */
  utilizationWindowMs?: number;
  /**
   * A worker failed outside a task (its module would not load, it threw between tasks): Piscina's
   * 'error' event, told here instead of ending the process. `pool` says which: the seal/open
   * workers, or an MD5 lane (which is retired: see CryptoPool.md5Lane).
   */
  onWorkerError?: (err: unknown, pool: 'crypto' | 'md5') => void;
}

export interface CryptoPoolStats {
  workers: number;
  queued: number;
  running: number;
  completed: number;
  /** Busy share of the workers' time over about the last `utilizationWindowMs` (0..1). */
  utilization: number;
}

/**
 * The seal/open workers' busy time, as the integral of the tasks in flight (at most one per
 * worker) over time, and the share of it in a recent window. Not Piscina's `utilization`: that is
 * an average since the pool started, and Piscina 5 divides its run times by 1000 once too many
 * (a saturated pool read ~0.0005); with two tasks queued per worker its run times overlap too.
 */
class BusyTime {
  #busyMs = 0;
  #since = performance.now();
  #running = 0;
  /** (time, busy ms) seen by earlier reads: the oldest one kept is the window's start. */
  readonly #marks: Array<{ at: number; busyMs: number }> = [{ at: this.#since, busyMs: 0 }];

  constructor(
    private readonly workers: number,
    private readonly windowMs: number,
  ) {}

  #accrue(now: number): void {
    this.#busyMs += Math.min(this.#running, this.workers) * (now - this.#since);
    this.#since = now;
  }

  started(): void {
    this.#accrue(performance.now());
    this.#running++;
  }

  ended(): void {
    this.#accrue(performance.now());
    this.#running--;
  }

  /** Busy worker time / worker time since the latest mark at least `windowMs` old (or the start). */
  share(now = performance.now()): number {
    this.#accrue(now);
    const marks = this.#marks;
    while (marks.length > 1 && marks[1]!.at <= now - this.windowMs) marks.shift();
    const from = marks[0]!;
    // One mark a second at most, however often it is read.
    if (now - marks[marks.length - 1]!.at >= 1_000) marks.push({ at: now, busyMs: this.#busyMs });
    const span = (now - from.at) * this.workers;
    return span > 0 ? Math.min(1, (this.#busyMs - from.busyMs) / span) : 0;
  }
}

// Workers never idle out: a thread start costs milliseconds (perf-limits A6 "thrashing").
const IDLE_TIMEOUT_MS = 2 ** 31 - 1;

function defaultWorkerFile(): string {
  // Under the TypeScript loader (tests) this module is .ts, and so is the worker entry.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`../../workers/crypto${ext}`, import.meta.url).href;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`CryptoPool option ${name} must be a positive integer, got ${v}`);
  return v;
}

/** How long close() waits for tasks and workers still loading before it ends them anyway. */
const LOAD_WAIT_MS = 10_000;

/** What LoadWatch allows, after a worker's message, for the end of the require() that sent it. */
const REQUIRE_SETTLE_MS = 250;

/**
 * Which workers of a Piscina have said they loaded their module (WORKER_LOADED carries the thread
 * id). close() ends no worker that has not, nor one that said so less than REQUIRE_SETTLE_MS ago:
 * Piscina loads the worker module with require(), and Node 20 aborts the whole process (SIGABRT,
 * an assertion in ModuleWrap::CreateRequiredModuleFacade) when a worker is terminated inside that
 * require, as a stop right after a start on a busy machine did (CI, 2026-12-04). The message
 * leaves as the module's code ends, microseconds before the require returns. Asked by thread,
 * not counted at start-up, so a worker Piscina starts to replace one that died is waited for too.
 */
class LoadWatch {
  readonly #piscina: Piscina<CryptoTask, CryptoResult>;
  readonly #loaded = new Set<number>();
  #lastLoadAt = 0;
  #wake: (() => void)[] = [];

  constructor(piscina: Piscina<CryptoTask, CryptoResult>) {
    this.#piscina = piscina;
    piscina.on('message', (m: unknown) => {
      if (typeof m !== 'object' || m === null || !(WORKER_LOADED in m)) return;
      this.#loaded.add(Number((m as Record<string, unknown>)[WORKER_LOADED]));
      this.#lastLoadAt = performance.now();
      for (const wake of this.#wake.splice(0)) wake();
    });
  }

  /** Live workers that have not said they loaded (Piscina lists a replacement as it starts it). */
  loading(): number {
    return this.#piscina.threads.filter((w) => !this.#loaded.has(w.threadId)).length;
  }

  /** Resolves when no worker is loading and the last load is REQUIRE_SETTLE_MS old, or at `deadline`. */
  async settled(deadline: number): Promise<void> {
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      const settle = this.#lastLoadAt + REQUIRE_SETTLE_MS - performance.now();
      if (this.loading() === 0 && settle <= 0) return;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          resolve();
        };
        this.#wake.push(wake);
        // A worker that died is listed (thread id -1) until Piscina hears of its exit: look again soon.
        const timer = setTimeout(() => {
          this.#wake.splice(this.#wake.indexOf(wake), 1);
          resolve();
        }, this.loading() === 0 ? Math.min(settle, left) : Math.min(50, left));
      });
    }
  }

  /** Resolves once `threads` workers have said they loaded, and REQUIRE_SETTLE_MS more. */
  async all(threads: number): Promise<void> {
    while (this.#loaded.size < threads) await new Promise<void>((resolve) => this.#wake.push(resolve));
    await new Promise((resolve) => setTimeout(resolve, REQUIRE_SETTLE_MS));
  }
}

/** One MD5 lane: a one-thread pool, so the tasks of a stream run in submission order. */
interface HashLane {
  piscina: Piscina<CryptoTask, CryptoResult>;
  loads: LoadWatch;
  streams: number;
  /** Why the lane was retired: its streams' tasks are refused with it. */
  failed?: unknown;
}

export class CryptoPool {
  readonly workers: number;
  readonly arena: SlotArena;
  readonly #piscina: Piscina<CryptoTask, CryptoResult>;
  readonly #filename: string;
  readonly #maxLanes: number;
  readonly #lanes: HashLane[] = [];
  #inFlight = 0;
  readonly #drained: (() => void)[] = [];
  #nextStream = 1;
  #closed = false;
  /** Which seal/open workers have loaded their module (see LoadWatch). */
  readonly #loads: LoadWatch;
  readonly #loaded: Promise<void>;
  readonly #loadWaitMs: number;
  readonly #busy: BusyTime;
  readonly #onWorkerError: (err: unknown, pool: 'crypto' | 'md5') => void;
  /** The ends of retired lanes' threads, awaited by close(). */
  readonly #retired: Promise<void>[] = [];
  /** A pending look for stranded tasks (see #refuseStranded). */
  #strandedCheck: NodeJS.Immediate | undefined;
  /** How many times stranded tasks were failed: a task's failure says why if it was one of them. */
  #strandings = 0;
  /** The last failure of a seal/open worker outside a task, until one loads: why stranded tasks could not run. */
  #lastWorkerError: unknown;
  /** The ends of the threads of pools close() or a retirement destroyed (see #submit); weak, so a retired lane's Piscina is not kept for it. */
  readonly #ending = new WeakMap<Piscina<CryptoTask, CryptoResult>, Promise<void>>();

  constructor(opts: CryptoPoolOptions = {}) {
    this.workers = positiveInt('workers', opts.workers ?? availableParallelism());
    this.#maxLanes = positiveInt('hashLanes', opts.hashLanes ?? this.workers);
    this.#filename = opts.filename ?? defaultWorkerFile();
    this.#loadWaitMs = opts.loadWaitMs ?? LOAD_WAIT_MS;
    this.#busy = new BusyTime(this.workers, opts.utilizationWindowMs ?? 60_000);
    this.#onWorkerError = opts.onWorkerError ?? (() => undefined);
    this.arena = new SlotArena();
    this.#piscina = new Piscina<CryptoTask, CryptoResult>({
      filename: this.#filename,
      name: 'default',
      minThreads: this.workers,
      maxThreads: this.workers,
      idleTimeout: IDLE_TIMEOUT_MS,
      // Two tasks queued per worker: when one ends the next is already in the worker's port, so
      // the worker does not idle for a round trip through the main thread (measured: ~35 % idle).
      concurrentTasksPerWorker: 2,
    });
    // Piscina emits 'error' on the pool for a worker that fails outside a task (a replacement
    // whose module no longer loads): an EventEmitter 'error' without a listener ends the process.
    // Piscina replaces the worker itself; tasks it could not run have failed to their callers.
    this.#piscina.on('error', (err: unknown) => {
      this.#lastWorkerError = err;
      this.#onWorkerError(err, 'crypto');
      this.#refuseStranded();
    });
    // A worker that dies in a task: Piscina fails its tasks, and may not replace it (it stops
    // replacing workers for good once one failed to load), which can leave the queue stranded too.
    this.#piscina.on('workerDestroy', () => this.#refuseStranded());
    // A worker that loaded since: an older failure no longer explains a stranding.
    this.#piscina.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && WORKER_LOADED in m) this.#lastWorkerError = undefined;
    });
    this.#loads = new LoadWatch(this.#piscina);
    this.#loaded = this.#loads.all(this.workers);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once the seal/open workers have loaded their module (close() waits for it and the lanes; pool.test.ts reads it). */
  get loaded(): Promise<void> {
    return this.#loaded;
  }

  /**
   * One tiny seal and open on the workers, the plaintext compared: proof that a worker loaded its
   * module and runs tasks. The start-up waits for it (bounded, cli.ts): a module that never loads
   * (a stalled filesystem, a broken installation) would otherwise leave every request that needs
   * a worker waiting for ever behind a daemon that says it is ready. Queued like any task, so it
   * costs nothing once one worker has loaded.
   */
  async selfTest(): Promise<void> {
    const slot = this.arena.acquire();
    try {
      const key = new Uint8Array(32).fill(0x5a);
      const random = new Uint8Array(RANDOM_SIZE).fill(0xa5);
      const plain = Buffer.from('s3d crypto worker self-test');
      slot.input.set(plain);
      const sealed = await this.run({ op: 'seal', slot: slot.sab, base: slot.base, inLength: plain.length, key: key.slice(), random, firstSequence: 0, final: true });
      if (!sealed.ok) throw new Error(`crypto worker self-test: seal failed (${sealed.code})`);
      slot.input.set(slot.output.subarray(0, sealed.length));
      const opened = await this.run({ op: 'open', slot: slot.sab, base: slot.base, inLength: sealed.length, key: key.slice(), firstSequence: 0, final: true, random, suite: CipherSuite.AES_256_GCM });
      if (!opened.ok || !slot.output.subarray(0, opened.length).equals(plain)) throw new Error(`crypto worker self-test: open did not give the sealed bytes back (${opened.ok ? 'different bytes' : opened.code})`);
    } finally {
      this.arena.release(slot);
    }
  }

  /** Runs one seal/open batch. Rejects only on a worker failure (data errors are results). */
  async run(task: SealTask | OpenTask): Promise<CryptoResult> {
    if (this.#closed) throw new Error('CryptoPool is closed');
    // The slot is shared, not copied; only the small fields are cloned.
    this.#busy.started();
    const strandings = this.#strandings;
    try {
      return await this.#track(this.#submit(this.#piscina, task));
    } catch (err) {
      // The cause is the workers' own failure, not Piscina's "Terminating worker thread": a thread
      // that could not start for want of a descriptor is a shortage that passes (503), not a 500.
      if (this.#strandings !== strandings && !this.#closed) throw new Error('no crypto worker could run the task: the workers fail as they start (see "crypto worker failed" in the log)', { cause: this.#lastWorkerError ?? err });
      throw err;
    } finally {
      this.#busy.ended();
    }
  }

  /**
   * Fails the seal/open tasks left queued with no worker to run them. Piscina starts a worker when
   * a task is submitted, and one to replace a worker that failed, unless that one failed as it
   * loaded (the module gone or replaced in an upgrade in place, no descriptor or memory for a
   * thread): a task queued behind a worker that then fails to load stays queued until another
   * task is submitted, for ever if none is (its request hangs, close() waits for it). Such tasks
   * fail now (a 500 for their requests); the next task submitted starts a worker again, and runs
   * once one loads. Looked at once the failure's handling is over (the worker out of `threads`).
   */
  #refuseStranded(): void {
    if (this.#strandedCheck !== undefined) return;
    this.#strandedCheck = setImmediate(() => {
      this.#strandedCheck = undefined;
      if (this.#piscina.threads.length > 0 || this.#piscina.queueSize === 0) return;
      // No worker to terminate: destroy() only fails the queued tasks, which no thread holds
      // (so not #destroy: the pool serves on, and later failures need not wait).
      this.#strandings++;
      void this.#piscina.destroy().catch(() => undefined);
    });
  }

  /**
   * Runs `task` on `p`. A task Piscina fails because its pool is destroyed (close() past its wait,
   * a retired lane) fails as the thread is told to end (WorkerInfo.destroy: terminate(), then the
   * tasks' callbacks), while the thread may still be in native code on the task's slot: a seal or
   * an open in the AEAD, an MD5 update, a read. Its caller would give the slot back at once, and
   * the next task to take it would share it with a thread still writing it. Such a failure is
   * told only once the pool's threads have exited.
   */
  async #submit(p: Piscina<CryptoTask, CryptoResult>, task: CryptoTask): Promise<CryptoResult> {
    try {
      return await p.run(task);
    } catch (err) {
      // Set by #destroy as it returns, before this continuation runs (the task failed inside it).
      const ending = this.#ending.get(p);
      if (ending !== undefined) await ending;
      throw err;
    }
  }

  /** Piscina's destroy(), remembered so the tasks it fails wait for their threads' exits (#submit). */
  #destroy(p: Piscina<CryptoTask, CryptoResult>): Promise<void> {
    const ended = p.destroy();
    this.#ending.set(p, ended.catch(() => undefined));
    return ended;
  }

  /** Counts a submitted task until it settles, so close() can drain. */
  async #track<T>(p: Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await p;
    } finally {
      if (--this.#inFlight === 0) for (const wake of this.#drained.splice(0)) wake();
    }
  }

  /** Opens an ordered MD5 lane for one stream; call `finish` exactly once. */
  md5Lane(): Md5Lane {
    if (this.#closed) throw new Error('CryptoPool is closed');
    let lane = this.#lanes.find((l) => l.streams === 0);
    if (lane === undefined && this.#lanes.length < this.#maxLanes) {
      const piscina = new Piscina<CryptoTask, CryptoResult>({
        filename: this.#filename,
        name: 'default',
        minThreads: 1,
        maxThreads: 1,
        idleTimeout: IDLE_TIMEOUT_MS,
      });
      const made: HashLane = { piscina, loads: new LoadWatch(piscina), streams: 0 };
      piscina.on('error', (err: unknown) => this.#retireLane(made, err));
      lane = made;
      this.#lanes.push(lane);
    }
    lane ??= this.#lanes.reduce((a, b) => (b.streams < a.streams ? b : a));
    lane.streams++;
    const chosen = lane;
    // A task still queued when its lane is retired is failed by the lane's destroy() with Piscina's
    // "Terminating worker thread": it fails with the lane's reason instead, as later tasks do, so
    // that a thread that could not start for want of a descriptor is a 503, not a 500.
    const run = (task: Md5UpdateTask | Md5FinishTask): Promise<CryptoResult> =>
      chosen.failed !== undefined
        ? Promise.reject(chosen.failed)
        : this.#track(this.#submit(chosen.piscina, task)).catch((err: unknown) => {
            throw chosen.failed ?? err;
          });
    return new Md5Lane(this.#nextStream++, run, () => chosen.streams--);
  }

  /**
   * A lane's worker failed outside a task (it died, or its module did not load when the lane was
   * started on demand, long after start-up: an installation changed under the daemon). Its MD5
   * states are gone, and a replacement worker would hash a stream's next bytes from scratch (a
   * wrong ETag) or, failing to load, leave its tasks queued for ever. The lane is retired: its
   * streams fail, its queued tasks are refused, and new streams start a lane of their own.
   */
  #retireLane(lane: HashLane, err: unknown): void {
    this.#onWorkerError(err, 'md5');
    if (lane.failed !== undefined) return;
    lane.failed = err ?? new Error('MD5 lane worker failed');
    const at = this.#lanes.indexOf(lane);
    if (at !== -1) this.#lanes.splice(at, 1);
    this.#retired.push(this.#destroy(lane.piscina).catch(() => undefined));
  }

  stats(): CryptoPoolStats {
    const queued = this.#piscina.queueSize;
    return {
      workers: this.#piscina.threads.length,
      queued,
      running: Math.max(0, this.#inFlight - queued),
      completed: this.#piscina.completed,
      utilization: this.#busy.share(),
    };
  }

  /** MD5 lanes started (a thread each, kept) and the streams hashing through them now (0 when idle). */
  md5Stats(): { lanes: number; streams: number } {
    return { lanes: this.#lanes.length, streams: this.#lanes.reduce((n, l) => n + l.streams, 0) };
  }

  /**
   * Stops taking work, lets every submitted task finish, then ends the threads. Bounded: the
   * tasks and the workers still loading get `loadWaitMs` together. Tasks left then (a worker whose
   * load never ends: a stalled filesystem) are failed with their threads, and close() rejects.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const deadline = performance.now() + this.#loadWaitMs;
    // Piscina's own close() terminates tasks still queued, so drain them here first.
    while (this.#inFlight > 0 && (await this.#drain(deadline)));
    await Promise.all([this.#loads.settled(deadline), ...this.#lanes.map((l) => l.loads.settled(deadline))]);
    const left = this.#inFlight;
    // destroy(), not close(): Piscina's close() waits up to 30 s more for tasks its workers hold.
    const end = (p: Piscina<CryptoTask, CryptoResult>): Promise<void> => (left > 0 ? this.#destroy(p) : p.close());
    await Promise.all([end(this.#piscina), ...this.#lanes.map((l) => end(l.piscina)), ...this.#retired]);
    if (left > 0) throw new Error(`${left} crypto tasks still waiting after ${this.#loadWaitMs} ms (a worker that never finished loading?): failed, their workers ended`);
  }

  /** Resolves true when no task is in flight, false at `deadline`. */
  #drain(deadline: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#drained.splice(this.#drained.indexOf(wake), 1);
        resolve(false);
      }, Math.max(0, deadline - performance.now()));
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#drained.push(wake);
    });
  }
}

/**
 * A stream's handle on its hashing lane. Piscina does not promise FIFO dispatch even on one
 * thread (a task submitted as the worker frees up can overtake the queue), so one stream's
 * tasks are chained here: each is submitted when the previous one has finished.
 */
export class Md5Lane {
  readonly #stream: number;
  readonly #run: (task: Md5UpdateTask | Md5FinishTask) => Promise<CryptoResult>;
  readonly #release: () => void;
  #tail: Promise<unknown> = Promise.resolve();
  #done = false;
  /** Bytes handed to update() so far: each task says how many came before it (workers/crypto.ts). */
  #hashed = 0;

  constructor(stream: number, run: (task: Md5UpdateTask | Md5FinishTask) => Promise<CryptoResult>, release: () => void) {
    this.#stream = stream;
    this.#run = run;
    this.#release = release;
  }

  /** Hashes `length` bytes at `offset` of `buf`; the bytes must stay put until this resolves. */
  update(buf: SharedArrayBuffer, offset: number, length: number): Promise<void> {
    if (this.#done) return Promise.reject(new Error('MD5 lane already finished'));
    const task: Md5UpdateTask = { op: 'md5-update', stream: this.#stream, buf, offset, length, at: this.#hashed };
    this.#hashed += length;
    // A failed update poisons the rest: later updates reject too, finish() rethrows.
    const run = this.#tail.then(() => this.#run(task));
    // The chain's failure is the caller's (the promise returned) and finish()'s: not unhandled
    // while no later update or finish has chained onto it yet.
    run.catch(() => undefined);
    this.#tail = run;
    return run.then(() => undefined);
  }

  /** The digest of everything updated so far (`discard`: drop the state instead). */
  async finish(discard = false): Promise<Buffer | undefined> {
    if (this.#done) throw new Error('MD5 lane already finished');
    this.#done = true;
    try {
      const failure = await this.#tail.then(
        () => undefined,
        (err: unknown) => err ?? new Error('MD5 update failed'),
      );
      // After a failed update the worker's count differs too: the update's failure is the one told.
      const r = await this.#run({ op: discard ? 'md5-discard' : 'md5-digest', stream: this.#stream, hashed: this.#hashed }).catch((err: unknown) => {
        if (failure === undefined || discard) throw err;
        return undefined;
      });
      if (failure !== undefined && !discard) throw failure;
      return r !== undefined && r.ok && r.digest !== undefined ? Buffer.from(r.digest) : undefined;
    } finally {
      this.#release();
    }
  }
}
