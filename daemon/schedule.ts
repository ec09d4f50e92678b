// A background pass on timers (the lifecycle and usage scans): once shortly after start() and then
// every interval, never two at a time; an explicit run() joins the pass under way. stop() ends the
// timers and waits for that pass, which looks at `stopped` between its pages to end early.

export class Schedule<T> {
  /** Set by stop(): a pass under way should end at its next page. */
  stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;

  /** `timed`: the pass the timers start (it must not reject). */
  constructor(private readonly timed: () => Promise<T>) {}

  /** Runs `timed` `firstMs` from now (at most `intervalMs`) and then every `intervalMs`. */
  start(intervalMs: number, firstMs: number): void {
    this.first = setTimeout(() => void this.run(), Math.min(firstMs, intervalMs));
    this.first.unref();
    this.timer = setInterval(() => void this.run(), intervalMs);
    this.timer.unref();
  }

  /** The pass under way, or `pass` (by default the timers' pass) started now (it must not reject). */
  run(pass: () => Promise<T> = this.timed): Promise<T> {
    this.running ??= pass().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.first);
    clearInterval(this.timer);
    await this.running;
  }
}
