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
  #timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number, now: () => number = monotonic) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** One occurrence, counted: true (and the interval starts now) when its line may be logged, none having been within the interval. */
  hit(): boolean {
    this.#count++;
    if (!this.due()) return false;
    this.#last = this.#now();
    return true;
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
   * occurrence that set the timer). The timer does not keep the process up.
   */
  later(log: (count: number) => void): void {
    this.#count++;
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#last = this.#now();
      log(this.take());
    }, Math.max(0, this.#last + this.#intervalMs - this.#now()));
    this.#timer.unref();
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

  /** One occurrence of `key`, counted: true when its line may be logged now (LogLimit.hit). */
  hit(key: string): boolean {
    let limit = this.#limits.get(key);
    if (limit !== undefined && !limit.due()) return limit.hit();
    limit ??= new LogLimit(this.#intervalMs, this.#now);
    if (this.#limits.size >= this.#maxKeys) this.#limits.clear();
    this.#limits.set(key, limit);
    return limit.hit();
  }

  /** `key`'s occurrences since its last take(), this line's among them (LogLimit.take). */
  take(key: string): number {
    return this.#limits.get(key)?.take() ?? 0;
  }

  /** Keys remembered (tests: the bound). */
  get size(): number {
    return this.#limits.size;
  }
}
