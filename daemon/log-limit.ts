// Log lines about something that can happen thousands of times a second (a full disk, a KMS
// outage, a webhook target down, a tampered object read in a loop), written at most once per
// interval, with the count of occurrences each line stands for. Timed on the monotonic clock: on
// the wall clock, one stepped back an hour kept such lines silent for the hour, and one stepped
// forward let every line through.

/** The clock limiters use unless given one: performance.now, read at each call (tests step it). */
const monotonic = (): number => performance.now();

/** One kind of log line, logged at most once per `intervalMs`. */
export class LogLimit {
  readonly #intervalMs: number;
  readonly #now: () => number;
  /** When the last line was logged (-Infinity: none yet, or since reset()). */
  #last = -Infinity;
  /** Occurrences since the last take(). */
  #count = 0;
  /**
   * The timer of a line still to be told (hit(tell) held back at the interval's end, later()'s),
   * and the `tell` of the latest occurrence it stands for: one mechanism, which flush() ends.
   */
  #trailing: NodeJS.Timeout | undefined;
  #tell: ((count: number) => void) | undefined;

  constructor(intervalMs: number, now: () => number = monotonic) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * One occurrence, counted: true (and the interval starts now) when its line may be logged, none
   * having been within the interval. With `tell`, one held back is not left for the next line,
   * which may never come (the fault ended, the daemon stopped): when the interval is up, what is
   * still untaken is told by `tell(count)` of the latest occurrence held back, from a timer that
   * does not keep the process up (the interval then starts again), or at flush().
   */
  hit(tell?: (count: number) => void): boolean {
    this.#count++;
    if (this.due()) {
      this.#last = this.#now();
      // A timer running late (a busy turn) must not write a second line right after this one.
      clearTimeout(this.#trailing);
      this.#trailing = undefined;
      this.#tell = undefined;
      return true;
    }
    if (tell !== undefined) this.#tellAtEnd(tell);
    return false;
  }

  /** `tell` of what is untaken when the interval is up (flush() from a timer that does not keep the process up). */
  #tellAtEnd(tell: (count: number) => void): void {
    this.#tell = tell;
    if (this.#trailing !== undefined) return;
    this.#trailing = setTimeout(() => this.flush(), Math.max(0, this.#last + this.#intervalMs - this.#now()));
    this.#trailing.unref();
  }

  /**
   * Tells now, by hit()'s `tell`, the occurrences held back and not yet taken (the interval's end,
   * or shutdown: the timer would never run); nothing when there are none.
   */
  flush(): void {
    clearTimeout(this.#trailing);
    this.#trailing = undefined;
    const tell = this.#tell;
    this.#tell = undefined;
    if (tell === undefined || this.#count === 0) return;
    this.#last = this.#now();
    tell(this.take());
  }

  /** Whether a line may be logged now. */
  due(): boolean {
    return this.#now() - this.#last >= this.#intervalMs;
  }

  /**
   * The occurrences counted since the last take(), this line's among them: what the line logged
   * now stands for. A caller that logs later (after a statfs, say) takes then, so occurrences
   * meanwhile are told in that line.
   */
  take(): number {
    const n = this.#count;
    this.#count = 0;
    return n;
  }

  /**
   * One occurrence, told by `log(count)` from a timer: after the current turn (the burst a single
   * transaction makes joins it) when no line was logged within the interval, else once it is up.
   * Occurrences meanwhile join that line, so none goes untold (it is written by the `log` of the
   * latest occurrence), nor at flush() (shutdown). The timer does not keep the process up.
   */
  later(log: (count: number) => void): void {
    this.#count++;
    this.#tellAtEnd(log);
  }

  /** The condition ended (a directory writable again, a target back): the next occurrence is logged at once. */
  reset(): void {
    this.#last = -Infinity;
    this.#count = 0;
  }
}

/**
 * Log lines limited per key (an error code, an object's name): each key's at most once per
 * `intervalMs`. At most `maxKeys` keys are remembered: keys can come from clients (object names),
 * so when a line is logged with the map full, every key is forgotten but that line's (each then
 * logs once more, early, at worst).
 */
export class KeyedLogLimit {
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #limits = new Map<string, LogLimit>();

  constructor(intervalMs: number, opts: { maxKeys: number; now?: () => number }) {
    this.#intervalMs = intervalMs;
    this.#maxKeys = opts.maxKeys;
    this.#now = opts.now ?? monotonic;
  }

  /** One occurrence of `key`, counted: true when its line may be logged now (LogLimit.hit, `tell` as there). */
  hit(key: string, tell?: (count: number) => void): boolean {
    let limit = this.#limits.get(key);
    if (limit !== undefined && !limit.due()) return limit.hit(tell);
    limit ??= new LogLimit(this.#intervalMs, this.#now);
    if (this.#limits.size >= this.#maxKeys) {
      // Forgotten, but what they held back is told first.
      for (const [k, l] of this.#limits) if (k !== key) l.flush();
      this.#limits.clear();
    }
    this.#limits.set(key, limit);
    return limit.hit(tell);
  }

  /** `key`'s occurrences since its last take(), this line's among them (LogLimit.take). */
  take(key: string): number {
    return this.#limits.get(key)?.take() ?? 0;
  }

  /** Tells every count held back now (LogLimit.flush; shutdown: the timers would never run). */
  flush(): void {
    for (const limit of this.#limits.values()) limit.flush();
  }

  /** Keys remembered (tests: the bound). */
  get size(): number {
    return this.#limits.size;
  }
}

/**
 * Lines about a fault that persists and fails every request alike (a failing disk answering each
 * read with EIO, a data directory gone), per kind: the first `burst` occurrences of an interval
 * logged in full (a first occurrence always), the rest counted and told in one summary line when
 * the interval ends (from a timer that does not keep the process up), or at flush() (shutdown: no
 * count is lost). The interval starts with the first occurrence of its kind. Kinds are the
 * caller's (an errno, a syscall, an operation: never a client's names), `maxKeys` at most: past
 * that every pending count is told and forgotten.
 */
export class KeyedLogSummary<C> {
  readonly #intervalMs: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #summarize: (context: C, suppressed: number, ms: number) => void;
  readonly #windows = new Map<string, { start: number; logged: number; suppressed: number; context: C; timer?: NodeJS.Timeout }>();

  constructor(intervalMs: number, opts: { burst: number; maxKeys: number; summarize: (context: C, suppressed: number, ms: number) => void; now?: () => number }) {
    this.#intervalMs = intervalMs;
    this.#burst = opts.burst;
    this.#maxKeys = opts.maxKeys;
    this.#summarize = opts.summarize;
    this.#now = opts.now ?? monotonic;
  }

  /**
   * One occurrence of `key`: true when its line is to be logged in full now, false when it is
   * counted for the summary. `context` (what the summary says of the kind) is kept from the
   * interval's first occurrence.
   */
  hit(key: string, context: C): boolean {
    const now = this.#now();
    let w = this.#windows.get(key);
    // The interval ended and its timer has not run yet (a busy turn, a stepped clock): told now.
    if (w !== undefined && now - w.start >= this.#intervalMs) {
      this.#end(key);
      w = undefined;
    }
    if (w === undefined) {
      if (this.#windows.size >= this.#maxKeys) this.flush();
      w = { start: now, logged: 0, suppressed: 0, context };
      this.#windows.set(key, w);
    }
    if (w.logged < this.#burst) {
      w.logged++;
      return true;
    }
    w.suppressed++;
    if (w.timer === undefined) {
      w.timer = setTimeout(() => this.#end(key), Math.max(0, w.start + this.#intervalMs - now));
      w.timer.unref();
    }
    return false;
  }

  /** Tells every pending count now and forgets every kind (shutdown: the timers would never run). */
  flush(): void {
    for (const key of [...this.#windows.keys()]) this.#end(key);
  }

  /** Kinds remembered (tests: the bound). */
  get size(): number {
    return this.#windows.size;
  }

  #end(key: string): void {
    const w = this.#windows.get(key);
    if (w === undefined) return;
    this.#windows.delete(key);
    clearTimeout(w.timer);
    if (w.suppressed > 0) this.#summarize(w.context, w.suppressed, Math.min(this.#intervalMs, this.#now() - w.start));
  }
}
