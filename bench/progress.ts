// Progress lines on stderr while the bench runs: elapsed time, step count, and one summary
// line per measured run (warp-like: ops/s, MB/s, latency, CPU, other load).

import { sizeLabel } from './sizes.js';
import type { RunResult } from './report/types.js';
import { fmt } from './report/markdown.js';

export class Progress {
  readonly #t0 = Date.now();
  #done = 0;
  #total = 0;
  #lastAt = 0;
  /** moving average of the time between consecutive runs, seconds */
  #perRun = 0;

  constructor(private readonly write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

  setTotal(total: number): void {
    this.#total = total;
  }

  elapsedS(): number {
    return (Date.now() - this.#t0) / 1000;
  }

  #stamp(): string {
    return `[${this.elapsedS().toFixed(0).padStart(4)} s]`;
  }

  say(text: string): void {
    this.write(`${this.#stamp()} ${text}`);
  }

  run(r: RunResult): void {
    this.#done++;
    const left = this.#total - this.#done;
    const now = this.elapsedS();
    if (this.#lastAt > 0) this.#perRun = this.#perRun === 0 ? now - this.#lastAt : 0.8 * this.#perRun + 0.2 * (now - this.#lastAt);
    this.#lastAt = now;
    const what = `${r.workload.toUpperCase()} ${sizeLabel(r.sizeBytes)} c${r.concurrency} ${r.server}${r.server.startsWith('sink') ? '' : ` ${r.sse}`}${r.round === null ? '' : ` r${r.round + 1}`}`;
    const cpu = r.cpu.serverUsPerOp === null ? '' : ` srv ${fmt(r.cpu.serverUsPerOp)} µs/op`;
    const err = r.errors > 0 ? ` ERRORS ${r.errors} (${(r.errorSample ?? '').slice(0, 60)})` : '';
    this.write(
      `${this.#stamp()} (${this.#done}/${this.#total}) ${what.padEnd(40)} ${fmt(r.opsPerSec).padStart(7)} ops/s ${fmt(r.mbPerSec).padStart(6)} MB/s ` +
        `p50 ${fmt(r.latency.p50Ms)} p99 ${fmt(r.latency.p99Ms)} ms${cpu} other ${Math.round(r.cpu.otherShare * 100)} %${err}` +
        (left > 0 && this.#perRun > 0 ? ` ~${Math.round(left * this.#perRun)} s left` : ''),
    );
  }
}
