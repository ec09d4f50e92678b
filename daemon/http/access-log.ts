// The access log (S3_ACCESS_LOG): which requests get a `request` line, and, by default, a bound on
// the lines of server-side failures that one persistent fault (a failing disk, a data directory
// gone) makes of every request alike, the rest counted into one summary line per kind.

import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { KeyedLogSummary } from '../log-limit.js';

/**
 * Server-side failures of one kind (operation, status, S3 error code, cut) logged in full per
 * ACCESS_FAILURE_INTERVAL_MS with S3_ACCESS_LOG=errors, the rest counted into one summary line at
 * its end. A disk that fails answers every request 500 or 503: one line each flooded the journal
 * (whose rate limit then drops lines, the daemon's own warnings among them) just when the log has
 * to be read. More than the internal error lines' 3: these are what a client's complaint (a
 * request ID) is looked up by.
 */
export const ACCESS_FAILURE_BURST = 10;
export const ACCESS_FAILURE_INTERVAL_MS = 60_000;

// Refusals clients meet in normal operation: a key or bucket that is not there (existence
// checks), a conflict, a failed precondition, a range past the end.
const EXPECTED_REFUSALS = new Set([404, 409, 412, 416]);

/**
 * S3_ACCESS_LOG: `all` logs every request; `errors` (default) the server errors, the refused and
 * malformed requests other than the expected refusals, and the requests cut short; `off` none.
 * Not every request by default: at hundreds of requests a second one line each floods the journal,
 * whose per-service rate limit then drops lines, the daemon's warnings among them.
 */
export function shouldLogRequest(mode: Config['accessLog'], status: number, aborted: boolean): boolean {
  if (mode === 'all') return true;
  if (mode === 'off') return false;
  return aborted || (status >= 400 && !EXPECTED_REFUSALS.has(status));
}

/** One request's access line: what server.ts knows when the request is done. */
export interface AccessLine {
  requestId: string;
  op: string;
  bucket: string | undefined;
  key: string | undefined;
  status: number;
  /** The S3 error code answered (InternalError, ServiceUnavailable…), when the answer was one. */
  code: string | undefined;
  client: string | undefined;
  outcome?: number;
  cutAtShutdown?: true;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  aborted: true | undefined;
  /** Why the server closed the response before its end, after its status line went out. */
  cut: 'tampered' | 'failed' | undefined;
}

/** What a summary line says of the kind it counts. */
interface FailureKind {
  op: string;
  status: number;
  code?: string;
  cut?: string;
}

export class AccessLog {
  readonly #mode: Config['accessLog'];
  readonly #log: Logger;
  readonly #failures: KeyedLogSummary<FailureKind>;

  constructor(mode: Config['accessLog'], log: Logger) {
    this.#mode = mode;
    this.#log = log;
    this.#failures = new KeyedLogSummary<FailureKind>(ACCESS_FAILURE_INTERVAL_MS, {
      burst: ACCESS_FAILURE_BURST,
      // Kinds are the server's names (operations, statuses, codes), never a client's.
      maxKeys: 256,
      summarize: (kind, suppressed, ms) =>
        this.#log.info({ ...kind, suppressed, seconds: Math.round(ms / 1000) }, `request … and ${suppressed} more like it in the last ${Math.round(ms / 1000)} s (not logged one by one)`),
    });
  }

  /** Whether a request answered `status` (`aborted`: cut short) may get a line: the client's address is read only then. */
  wants(status: number, aborted: boolean): boolean {
    return shouldLogRequest(this.#mode, status, aborted);
  }

  /**
   * The line of a request that is done, when S3_ACCESS_LOG selects it (wants()). With `errors`, a
   * failure of the server's (a 5xx, a response the server cut) is logged in full for the first
   * ACCESS_FAILURE_BURST of its kind in an interval, then counted for the kind's summary line;
   * the client's (a 4xx, a 499) always in full. With `all`, every request in full: an operator
   * who asked for every request gets it.
   */
  write(line: AccessLine): void {
    if (!shouldLogRequest(this.#mode, line.status, line.aborted === true)) return;
    if (this.#mode === 'errors' && (line.status >= 500 || line.cut !== undefined)) {
      const kind: FailureKind = { op: line.op, status: line.status, ...(line.code !== undefined ? { code: line.code } : {}), ...(line.cut !== undefined ? { cut: line.cut } : {}) };
      if (!this.#failures.hit(JSON.stringify([kind.op, kind.status, kind.code, kind.cut]), kind)) return;
    }
    this.#log.info(line, 'request');
  }

  /** Tells the pending counts now (shutdown: their timers would not run). */
  flush(): void {
    this.#failures.flush();
  }
}
