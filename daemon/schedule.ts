// A background pass on timers (the lifecycle and usage scans): once shortly after start() and then
// every interval, never two at a time; an explicit run() joins the pass under way. stop() ends the
// timers and waits for that pass, which looks at `stopped` between its pages to end early.

/**
 * The longest delay Node's timers hold (2^31-1 ms, about 24.8 days): a longer one is cut to 1 ms,
 * with only a TimeoutOverflowWarning to say so. The interval settings go up to 3650 days.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A repeating timer, as setInterval's but unref'd, whose handle clear() ends. */
export interface Every {
  clear(): void;
}

/**
 * Runs `fn` every `ms` (unref'd, as the background passes' timers are), however long `ms` is: an
 * interval longer than a timer holds is waited out in steps of at most `maxStep`.
 */
export function every(ms: number, fn: () => void, maxStep = MAX_TIMER_MS): Every {
  if (ms <= maxStep) {
    const timer = setInterval(fn, ms);
    timer.unref();
    return { clear: () => clearInterval(timer) };
  }
  let timer: NodeJS.Timeout | undefined;
  const wait = (left: number): void => {
    const step = Math.min(left, maxStep);
    timer = setTimeout(() => {
      if (left > step) return wait(left - step);
      // The next interval is armed first, so that `fn` may clear() it.
      wait(ms);
      fn();
    }, step);
    timer.unref();
  };
  wait(ms);
  return { clear: () => clearTimeout(timer) };
}

export class Schedule<T> {
  /** Set by stop(): a pass under way should end at its next page. */
  stopped = false;
  private timer: Every | undefined;
  private first: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;

  /** `timed`: the pass the timers start (it must not reject). */
  constructor(private readonly timed: () => Promise<T>) {}

  /** Runs `timed` `firstMs` from now (at most `intervalMs`) and then every `intervalMs`. */
  start(intervalMs: number, firstMs: number): void {
    this.first = setTimeout(() => void this.run(), Math.min(firstMs, intervalMs));
    this.first.unref();
    this.timer = every(intervalMs, () => void this.run());
  }

  /** The pass under way, or `pass` (by default the timers' pass) started now (it must not reject). */
  run(pass: () => Promise<T> = this.timed): Promise<T> {
    this.running ??= pass().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.first);
    this.timer?.clear();
    await this.running;
  }
}
