// CachingKeyProvider: a decorator around any KeyProvider that caches unwrapped data keys in memory
// (LRU, bounded by entries and time), coalesces identical unwraps, batches distinct ones per tick
// with bounded concurrency (one bulk call when the provider supports it), and keeps serving held
// keys while the KMS is briefly unreachable. Plaintext keys never leave memory; dropped ones are zeroed.

import type { Logger } from 'pino';
import { isBulkDecryptor, isObservable, KmsConfigError, KmsError, plainDecimal } from './provider.js';
import type { DataKey, DecryptRequest, KeyDescription, KeyProvider, KmsObserver, KmsStatus, ObservableProvider } from './provider.js';

export const CACHE_ENV = {
  ttl: 'S3_KMS_CACHE_TTL',
  size: 'S3_KMS_CACHE_SIZE',
  grace: 'S3_KMS_CACHE_GRACE',
  maxInFlight: 'S3_KMS_MAX_IN_FLIGHT',
  batchWindow: 'S3_KMS_BATCH_WINDOW_MS',
} as const;

export interface CacheOptions {
  /** How long an unwrapped key is served without asking the KMS again. Default 5 min; 0 disables caching. */
  cacheTtlMs?: number;
  /** Most keys held. Default 10,000 (≈ 1 MB with keys and ciphertexts). */
  cacheSize?: number;
  /**
   * After the TTL, a held key is still served — only when the KMS answers Unavailable — for this
   * long. Default 10 min. A KMS that answers (even "key does not exist") always wins.
   */
  staleGraceMs?: number;
  /** Most KMS unwrap calls in flight at once (a bulk call counts as one). Default 16. */
  maxInFlight?: number;
  /** Largest bulk decrypt call. Default 1000 (KES's limit). */
  maxBulk?: number;
  /**
   * Only while the wrapped provider can bulk-decrypt: how long the first cold unwrap waits for
   * others, so a burst of requests (arriving over a few event-loop turns) travels in one bulk
   * call. Default 2 ms; 0 = batch per event-loop turn only. Without bulk, calls leave at once.
   */
  batchWindowMs?: number;
  /** Also cache the data key of generateKey (a PUT followed by a GET skips the KMS). Default true. */
  primeOnGenerate?: boolean;
  /** Clock, for tests. Monotonic by default: a wall-clock step must neither keep keys past their TTL nor drop them all. */
  now?: () => number;
  /** Called with each dropped key buffer right after it was zero-filled (tests, diagnostics). */
  onDrop?: (zeroed: Buffer) => void;
  /** Told once when expired keys start being served through an outage, once when the KMS answers again. */
  log?: Pick<Logger, 'info' | 'warn'>;
}

export const DEFAULT_CACHE_TTL_MS = 5 * 60_000;
export const DEFAULT_CACHE_SIZE = 10_000;
export const DEFAULT_STALE_GRACE_MS = 10 * 60_000;
export const DEFAULT_MAX_IN_FLIGHT = 16;
export const DEFAULT_BATCH_WINDOW_MS = 2;

export type KmsRoute = 'generate' | 'decrypt' | 'bulkDecrypt' | 'create' | 'describe' | 'list' | 'status';
const ROUTES: readonly KmsRoute[] = ['generate', 'decrypt', 'bulkDecrypt', 'create', 'describe', 'list', 'status'];

export interface LatencyStats {
  count: number;
  sumMs: number;
  maxMs: number;
}

/** Counters for the admin/metrics layer (all monotonic except size/inFlight/queued). */
export interface KmsCacheStats {
  /** Calls made to the wrapped provider, by route. */
  calls: Record<KmsRoute, number>;
  errors: Record<KmsRoute, number>;
  latency: Record<KmsRoute, LatencyStats>;
  /** decrypt() requests answered from the cache. */
  hits: number;
  /** decrypt() requests that started an unwrap. */
  misses: number;
  /** decrypt() requests that joined an identical unwrap already under way. */
  coalesced: number;
  /** Requests answered with an expired key because the KMS was unavailable. */
  staleServed: number;
  evictions: number;
  expirations: number;
  size: number;
  inFlight: number;
  queued: number;
  /** Unwraps dispatched per tick: number of batches, total unwraps, largest batch, histogram. */
  batches: { count: number; items: number; max: number; histogram: Record<string, number> };
}

/**
 * The S3_KMS_* cache settings that apply to KES alone, set while the KMS is another one (`kind`,
 * null: none): a warning naming them, since they change nothing (S3_KMS_CACHE_TTL and _SIZE also
 * size the unsealed object-key cache of every KMS).
 */
export function kesOnlySettingsWarning(env: NodeJS.ProcessEnv, kind: 'static' | 'kes' | null): string | undefined {
  if (kind === 'kes') return undefined;
  const set = [CACHE_ENV.grace, CACHE_ENV.maxInFlight, CACHE_ENV.batchWindow].filter((n) => (env[n] ?? '').trim() !== '');
  if (set.length === 0) return undefined;
  // A static key without S3_KMS_SECRET_KEY is --dev's generated key file (kms/index.ts).
  const secretSet = (env.S3_KMS_SECRET_KEY ?? '').trim() !== '';
  const staticKey = secretSet ? 'the built-in key (S3_KMS_SECRET_KEY)' : 'the development key file of --dev (.s3d/kms-dev.key)';
  return `${set.join(', ')} ${set.length === 1 ? 'applies' : 'apply'} to KES only: ignored ${kind === 'static' ? `with ${staticKey}` : 'without a KMS'}`;
}

export function cacheOptionsFromEnv(env: NodeJS.ProcessEnv): CacheOptions {
  const num = (name: string, { min, integer }: { min: number; integer: boolean }): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const v = plainDecimal(raw, integer);
    if (!Number.isFinite(v) || v < min) {
      // Say how to write it: `1e3` is a number ≥ 0, refused for its notation alone.
      throw new KmsConfigError(name, `'${raw}' must be ${integer ? `a whole number ≥ ${min} in plain decimal digits` : `a plain decimal number ≥ ${min}, like 60 or 1.5`}`);
    }
    return v;
  };
  // Seconds to milliseconds; only 0 is 0: `0.0001` rounded to 0 and silently turned the caches
  // (or the grace) off.
  const ms = (name: string, seconds: number): number => {
    const v = Math.round(seconds * 1000);
    if (v === 0 && seconds !== 0) throw new KmsConfigError(name, `'${env[name]}' is less than a millisecond (seconds; 0 turns it off)`);
    return v;
  };
  const opts: CacheOptions = {};
  const ttl = num(CACHE_ENV.ttl, { min: 0, integer: false });
  if (ttl !== undefined) opts.cacheTtlMs = ms(CACHE_ENV.ttl, ttl);
  const size = num(CACHE_ENV.size, { min: 1, integer: true });
  if (size !== undefined) opts.cacheSize = size;
  const grace = num(CACHE_ENV.grace, { min: 0, integer: false });
  if (grace !== undefined) opts.staleGraceMs = ms(CACHE_ENV.grace, grace);
  const inflight = num(CACHE_ENV.maxInFlight, { min: 1, integer: true });
  if (inflight !== undefined) opts.maxInFlight = inflight;
  const window = num(CACHE_ENV.batchWindow, { min: 0, integer: false });
  if (window !== undefined) {
    if (window > 1000) throw new KmsConfigError(CACHE_ENV.batchWindow, `'${env[CACHE_ENV.batchWindow]}' must be at most 1000 (milliseconds)`);
    opts.batchWindowMs = window;
  }
  return opts;
}

interface Entry {
  plaintext: Buffer;
  expiresAt: number;
  staleUntil: number;
}

interface Waiter {
  resolve(b: Buffer): void;
  reject(e: unknown): void;
}

interface Job {
  key: string;
  name: string;
  ciphertext: Buffer;
  context: Buffer;
  waiters: Waiter[];
}

/** An unwrap call waiting for its turn: `fail` answers its jobs without calling the KMS. */
interface Task {
  run: () => Promise<void>;
  fail: (err: KmsError) => void;
  /** Its place in the order tasks were queued (CachingKeyProvider.#queued). */
  seq: number;
}

function histogramBucket(n: number): string {
  if (n <= 1) return '1';
  if (n <= 4) return '2-4';
  if (n <= 16) return '5-16';
  if (n <= 64) return '17-64';
  if (n <= 256) return '65-256';
  return '257+';
}

/** A private copy outside Node's shared pool, so zero-filling it wipes exactly this key. */
function ownCopy(b: Buffer): Buffer {
  const c = Buffer.allocUnsafeSlow(b.length);
  b.copy(c);
  return c;
}

export class CachingKeyProvider implements KeyProvider, ObservableProvider {
  readonly inner: KeyProvider;
  readonly #ttl: number;
  readonly #size: number;
  readonly #grace: number;
  readonly #maxInFlight: number;
  readonly #maxBulk: number;
  readonly #window: number;
  readonly #prime: boolean;
  readonly #now: () => number;
  readonly #onDrop: ((zeroed: Buffer) => void) | undefined;
  readonly #log: Pick<Logger, 'info' | 'warn'> | undefined;
  /** Expired keys are being served because the KMS is unavailable (logged once per outage). */
  #servingStale = false;
  readonly #entries = new Map<string, Entry>();
  readonly #flights = new Map<string, Job>();
  #pending: Job[] = [];
  #dispatchScheduled = false;
  readonly #queue: Task[] = [];
  /** Tasks queued so far (their seq). */
  #queued = 0;
  /** The KMS found unavailable, and the last task queued before that: those still waiting fail at once. */
  #outage: { through: number; err: KmsError } | undefined;
  #inFlight = 0;
  readonly #sweepTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #stats: Omit<KmsCacheStats, 'size' | 'inFlight' | 'queued'>;
  readonly #observers = new Set<KmsObserver>();

  constructor(inner: KeyProvider, opts: CacheOptions = {}) {
    this.inner = inner;
    this.#ttl = opts.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.#size = opts.cacheSize ?? DEFAULT_CACHE_SIZE;
    this.#grace = opts.staleGraceMs ?? DEFAULT_STALE_GRACE_MS;
    this.#maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.#maxBulk = opts.maxBulk ?? 1000;
    this.#window = opts.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS;
    this.#prime = opts.primeOnGenerate ?? true;
    this.#now = opts.now ?? (() => performance.now());
    this.#onDrop = opts.onDrop;
    this.#log = opts.log;
    for (const [name, v] of [['cacheTtlMs', this.#ttl], ['staleGraceMs', this.#grace], ['batchWindowMs', this.#window]] as const) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be ≥ 0`);
    }
    for (const [name, v] of [['cacheSize', this.#size], ['maxInFlight', this.#maxInFlight], ['maxBulk', this.#maxBulk]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer ≥ 1`);
    }
    const perRoute = <T>(f: () => T): Record<KmsRoute, T> =>
      Object.fromEntries(ROUTES.map((r) => [r, f()])) as Record<KmsRoute, T>;
    this.#stats = {
      calls: perRoute(() => 0),
      errors: perRoute(() => 0),
      latency: perRoute(() => ({ count: 0, sumMs: 0, maxMs: 0 })),
      hits: 0, misses: 0, coalesced: 0, staleServed: 0, evictions: 0, expirations: 0,
      batches: { count: 0, items: 0, max: 0, histogram: {} },
    };
    if (this.#ttl > 0) {
      this.#sweepTimer = setInterval(() => this.sweep(), Math.max(1_000, Math.min(this.#ttl, 60_000)));
      this.#sweepTimer.unref();
    }
  }

  get kind(): 'static' | 'kes' {
    return this.inner.kind;
  }

  get defaultKeyName(): string {
    return this.inner.defaultKeyName;
  }

  /**
   * Report calls, batches and bulk sizes to `o`; also subscribes it to the wrapped provider's own
   * events (the KES client's per-endpoint requests) when it has any.
   */
  addObserver(o: KmsObserver): () => void {
    this.#observers.add(o);
    const innerOff = isObservable(this.inner) ? this.inner.addObserver(o) : undefined;
    return () => {
      this.#observers.delete(o);
      innerOff?.();
    };
  }

  #notify(f: (o: KmsObserver) => void): void {
    for (const o of this.#observers) {
      try {
        f(o);
      } catch {
        /* an observer must never break a KMS call */
      }
    }
  }

  stats(): KmsCacheStats {
    return { ...structuredClone(this.#stats), size: this.#entries.size, inFlight: this.#inFlight, queued: this.#queue.length };
  }

  /** Drop (and zero) every entry past its stale grace; runs on a timer, callable from tests. */
  sweep(): void {
    const now = this.#now();
    for (const [k, e] of this.#entries) {
      if (now >= e.staleUntil) {
        this.#drop(k, e);
        this.#stats.expirations++;
      }
    }
  }

  async #timed<T>(route: KmsRoute, f: () => Promise<T>): Promise<T> {
    this.#stats.calls[route]++;
    const started = performance.now();
    let error: KmsError['code'] | 'Other' | undefined;
    try {
      return await f();
    } catch (err) {
      this.#stats.errors[route]++;
      error = err instanceof KmsError ? err.code : 'Other';
      throw err;
    } finally {
      const ms = performance.now() - started;
      const l = this.#stats.latency[route];
      l.count++;
      l.sumMs += ms;
      if (ms > l.maxMs) l.maxMs = ms;
      if (this.#observers.size > 0) {
        const event = { route, seconds: ms / 1000, ...(error === undefined ? {} : { error }) };
        this.#notify((o) => o.onCall?.(event));
      }
    }
  }

  // ---------------------------------------------------------------- cache entries

  static #key(name: string, ciphertext: Buffer, context: Buffer): string {
    return `${name}\u0000${ciphertext.toString('base64')}\u0000${context.toString('base64')}`;
  }

  #drop(key: string, e: Entry): void {
    e.plaintext.fill(0);
    this.#entries.delete(key);
    this.#onDrop?.(e.plaintext);
  }

  #store(key: string, plaintext: Buffer): void {
    if (this.#ttl === 0 || this.#closed) return;
    const old = this.#entries.get(key);
    if (old) this.#drop(key, old);
    const now = this.#now();
    this.#entries.set(key, { plaintext: ownCopy(plaintext), expiresAt: now + this.#ttl, staleUntil: now + this.#ttl + this.#grace });
    while (this.#entries.size > this.#size) {
      const [oldestKey, oldest] = this.#entries.entries().next().value as [string, Entry];
      this.#drop(oldestKey, oldest);
      this.#stats.evictions++;
    }
  }

  // ---------------------------------------------------------------- KeyProvider

  async generateKey(name: string, context: Buffer): Promise<DataKey> {
    const dk = await this.#timed('generate', () => this.inner.generateKey(name, context));
    this.#kmsAnswered();
    if (this.#prime) this.#store(CachingKeyProvider.#key(name, dk.ciphertext, context), dk.plaintext);
    return dk;
  }

  /** Drops the cached data key of (name, ciphertext, context), zero-filled: see KeyProvider.forget. */
  forget(name: string, ciphertext: Buffer, context: Buffer): void {
    const key = CachingKeyProvider.#key(name, ciphertext, context);
    const entry = this.#entries.get(key);
    if (entry !== undefined) this.#drop(key, entry);
  }

  decrypt(name: string, ciphertext: Buffer, context: Buffer): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new KmsError('Unavailable', 'KMS cache is closed'));
    const key = CachingKeyProvider.#key(name, ciphertext, context);
    const entry = this.#entries.get(key);
    if (entry) {
      const now = this.#now();
      if (now < entry.expiresAt) {
        this.#entries.delete(key); // LRU: move to the newest end
        this.#entries.set(key, entry);
        this.#stats.hits++;
        return Promise.resolve(ownCopy(entry.plaintext));
      }
      if (now >= entry.staleUntil) {
        this.#drop(key, entry);
        this.#stats.expirations++;
      }
      // Expired but within grace: ask the KMS; the entry stays as the outage fallback.
    }
    return new Promise<Buffer>((resolve, reject) => {
      const flight = this.#flights.get(key);
      if (flight) {
        this.#stats.coalesced++;
        flight.waiters.push({ resolve, reject });
        return;
      }
      this.#stats.misses++;
      const job: Job = { key, name, ciphertext: Buffer.from(ciphertext), context: Buffer.from(context), waiters: [{ resolve, reject }] };
      this.#flights.set(key, job);
      this.#pending.push(job);
      if (!this.#dispatchScheduled) {
        this.#dispatchScheduled = true;
        // Unwraps asked for in the same turn of the event loop travel together; with a bulk route,
        // those of the next few milliseconds too (one bulk call for a burst of requests).
        if (this.#window > 0 && isBulkDecryptor(this.inner) && this.inner.bulkDecryptSupported()) {
          setTimeout(() => this.#dispatch(), this.#window);
        } else {
          setImmediate(() => this.#dispatch());
        }
      }
    });
  }

  // ---------------------------------------------------------------- batching

  #dispatch(): void {
    this.#dispatchScheduled = false;
    const jobs = this.#pending;
    this.#pending = [];
    if (jobs.length === 0) return;
    const b = this.#stats.batches;
    b.count++;
    b.items += jobs.length;
    b.max = Math.max(b.max, jobs.length);
    const bucket = histogramBucket(jobs.length);
    b.histogram[bucket] = (b.histogram[bucket] ?? 0) + 1;
    if (this.#observers.size > 0) this.#notify((o) => o.onBatch?.(jobs.length));

    const bulk = isBulkDecryptor(this.inner) && this.inner.bulkDecryptSupported();
    const byName = new Map<string, Job[]>();
    for (const j of jobs) byName.set(j.name, [...(byName.get(j.name) ?? []), j]);
    for (const [name, group] of byName) {
      if (bulk && group.length > 1) {
        for (let i = 0; i < group.length; i += this.#maxBulk) {
          const chunk = group.slice(i, i + this.#maxBulk);
          this.#enqueue(() => this.#runBulk(name, chunk), chunk);
        }
      } else {
        for (const j of group) this.#enqueue(() => this.#runSingle(j), [j]);
      }
    }
  }

  #enqueue(run: () => Promise<void>, jobs: Job[]): void {
    this.#queue.push({ run, fail: (err) => jobs.forEach((j) => this.#fail(j, err)), seq: ++this.#queued });
    this.#pump();
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const task = this.#queue.shift()!;
      // Queued before the KMS was found unavailable: answered now (503, or a key held past its
      // TTL), not after another full round of timeouts. Behind a hung KES the queue drained in
      // rounds of S3_KMS_MAX_IN_FLIGHT, each waiting every endpoint's timeout: minutes for the last.
      if (this.#outage !== undefined && task.seq <= this.#outage.through) {
        task.fail(this.#outage.err);
        continue;
      }
      this.#inFlight++;
      void task.run().finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  /** A call found the KMS unavailable: every task queued until now fails without calling it. */
  #unavailable(err: unknown): void {
    if (err instanceof KmsError && err.code === 'Unavailable') this.#outage = { through: this.#queued, err };
  }

  async #runSingle(job: Job): Promise<void> {
    try {
      const pt = await this.#timed('decrypt', () => this.inner.decrypt(job.name, job.ciphertext, job.context));
      this.#settle(job, pt);
    } catch (err) {
      this.#unavailable(err);
      this.#fail(job, err);
    }
  }

  async #runBulk(name: string, jobs: Job[]): Promise<void> {
    const inner = this.inner;
    if (!isBulkDecryptor(inner)) return;
    let results: Buffer[];
    try {
      const reqs: DecryptRequest[] = jobs.map((j) => ({ ciphertext: j.ciphertext, context: j.context }));
      if (this.#observers.size > 0) this.#notify((o) => o.onBulk?.(reqs.length));
      results = await this.#timed('bulkDecrypt', () => inner.decryptBulk(name, reqs));
    } catch (err) {
      if (err instanceof KmsError && err.code === 'Unavailable') {
        this.#unavailable(err);
        for (const j of jobs) this.#fail(j, err);
        return;
      }
      // One bad element fails a whole bulk call: find it (and serve the rest) one by one.
      for (const j of jobs) this.#enqueue(() => this.#runSingle(j), [j]);
      return;
    }
    jobs.forEach((j, i) => this.#settle(j, results[i]!));
  }

  /** A call went through: an outage bridged by expired keys, if any, is over. */
  #kmsAnswered(): void {
    if (!this.#servingStale) return;
    this.#servingStale = false;
    this.#log?.info('KMS answers again: expired cached data keys are no longer served');
  }

  #settle(job: Job, plaintext: Buffer): void {
    this.#kmsAnswered();
    this.#flights.delete(job.key);
    this.#store(job.key, plaintext);
    for (const w of job.waiters) w.resolve(ownCopy(plaintext));
    plaintext.fill(0);
  }

  #fail(job: Job, err: unknown): void {
    this.#flights.delete(job.key);
    const entry = this.#entries.get(job.key);
    const unavailable = err instanceof KmsError && err.code === 'Unavailable';
    if (entry && unavailable && this.#now() < entry.staleUntil) {
      this.#stats.staleServed += job.waiters.length;
      if (!this.#servingStale) {
        this.#servingStale = true;
        this.#log?.warn({ err: err.message, graceMs: this.#grace },
          'KMS unavailable: serving cached data keys past their TTL (grace period); keys not cached get 503');
      }
      for (const w of job.waiters) w.resolve(ownCopy(entry.plaintext));
      return;
    }
    // The KMS answered (e.g. key deleted, not authentic): a held copy must not outlive that verdict.
    if (entry && !unavailable) this.#drop(job.key, entry);
    for (const w of job.waiters) w.reject(err);
  }

  // ---------------------------------------------------------------- pass-through

  createKey(name: string): Promise<void> {
    return this.#timed('create', () => this.inner.createKey(name));
  }

  describeKey(name: string): Promise<KeyDescription> {
    return this.#timed('describe', () => this.inner.describeKey(name));
  }

  listKeys(prefix: string): Promise<string[]> {
    return this.#timed('list', () => this.inner.listKeys(prefix));
  }

  status(opts?: { anyOnline?: boolean }): Promise<KmsStatus> {
    return this.#timed('status', () => this.inner.status(opts));
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    for (const [k, e] of this.#entries) this.#drop(k, e);
    await this.inner.close();
  }
}
