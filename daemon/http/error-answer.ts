// Failures as the answers S3 gives (server.ts): an S3Error as its XML error document, object data
// or a record that failed authentication as XMinioObjectTampered, anything else as InternalError;
// with the log line each asks for, those that come in floods (a KMS outage, one tampered object
// read again and again) at most once per 10 s, internal failures (a failing disk's EIO on every
// read) a few times a minute per kind, with the count of the rest (INTERNAL_BURST).

import type { Logger } from 'pino';
import { S3Error, descriptorShortage, isS3Error, wireCode } from '../errors.js';
import { isDareError, type DareError } from '../../workers/format/dare-error.js';
import type { Result } from '../ops/types.js';
import { toXml } from '../ops/xml.js';
import { KeyedLogLimit, KeyedLogSummary } from '../log-limit.js';
import { subjectFields, type Pending } from './respond.js';

/**
 * Internal failures of one kind (errno, syscall, operation) logged in full per INTERNAL_INTERVAL_MS,
 * the rest counted into one summary line at its end. A failing disk answers every GET with EIO:
 * one error line each flooded journald, which then dropped lines past its rate limit, the useful
 * ones among them. The metrics still count every request (the access log has its own bound: access-log.ts).
 */
export const INTERNAL_BURST = 3;
export const INTERNAL_INTERVAL_MS = 60_000;

/** What a summary line says of the kind it counts. */
interface FailureKind {
  level: 'error' | 'warn';
  msg: string;
  fields: { op: string; code?: string; errno?: number; syscall?: string; type?: string; at?: string };
}

export class ErrorAnswers {
  readonly #deps: { readonly log: Logger };
  /** S3's <HostId> (server.ts hostId). */
  readonly #hostId: string;
  /**
   * Lines about what a key names (a KMS refusal per S3 code, a tampered object per name): one per
   * 10 s, on the monotonic clock (after the wall clock stepped back, they went silent for as long
   * as the step). Object names are the client's: 1024 remembered at most.
   */
  readonly #lines = new KeyedLogLimit(10_000, { maxKeys: 1024 });

  /** Internal failures per kind: INTERNAL_BURST lines in full per INTERNAL_INTERVAL_MS, then a count. */
  readonly #internal: KeyedLogSummary<FailureKind>;

  constructor(deps: { readonly log: Logger }, hostId: string) {
    this.#deps = deps;
    this.#hostId = hostId;
    this.#internal = new KeyedLogSummary<FailureKind>(INTERNAL_INTERVAL_MS, {
      burst: INTERNAL_BURST,
      maxKeys: 256,
      summarize: (kind, suppressed, ms) => this.#deps.log[kind.level]({ ...kind.fields, suppressed, seconds: Math.round(ms / 1000) }, `${kind.msg} … and ${suppressed} more like it in the last ${Math.round(ms / 1000)} s (not logged one by one)`),
    });
  }

  /**
   * Logs an internal failure (`err`, its stack with it) as `msg`, unless INTERNAL_BURST of its
   * kind were logged within INTERNAL_INTERVAL_MS: then it is counted for the kind's summary line.
   * `kind`: the message without the request's names (the same for every object; `msg` when it
   * names none), which with the operation and `err`'s errno code and syscall makes the kind.
   */
  internal(level: 'error' | 'warn', msg: string, err: unknown, where: Record<string, unknown>, op: string, kind = msg): void {
    const fields = { op, ...failureKind(err) };
    const key = JSON.stringify([level, kind, fields]);
    if (this.#internal.hit(key, { level, msg: kind, fields })) this.#deps.log[level]({ ...where, op, err }, msg);
  }

  /** Tells the pending counts of internal failures and counted lines now (shutdown: their timers would not run). */
  flush(): void {
    this.#internal.flush();
    this.#lines.flush();
  }

  /**
   * One request failed as `what` says (a KMS outage, no descriptors left), its line `log(failedRequests)`:
   * written now, counting itself and those failed alike since the last such line, unless one was
   * within 10 s; then counted, and told when the 10 s are up (by the latest such request's line)
   * or at shutdown: a fault that ends, or a daemon that stops, leaves no count untold.
   */
  #counted(what: string, log: (failedRequests: number) => void): void {
    if (this.#lines.hit(what, log)) log(this.#lines.take(what));
  }

  /** Whether a line about `what` may be logged now: not if one was within the last 10 s. */
  firstInTen(what: string): boolean {
    return this.#lines.hit(what);
  }

  /**
   * The answer to a request that failed with `err` (`resource`: the path as sent): an S3 error
   * as XML, an internal error for anything else, logged as its kind asks; marks `p` tampered when
   * the object's data or record failed authentication.
   */
  result(err: unknown, id: string, resource: string, p: Pending, op: string): Result {
    let e: S3Error;
    const where = { requestId: id, bucket: p.subject?.bucket, key: p.subject?.key };
    if (isTampered(err)) {
      if (this.firstInTen(`refused ${p.subject?.bucket}/${p.subject?.key}`)) this.#deps.log.error({ ...where, err }, 'object data failed authentication (modified on disk?): refused with XMinioObjectTampered, nothing sent');
      p.tampered = true;
    } else if (isS3Error(err) && err.code === 'XMinioObjectTampered') {
      // The object's record failed its own check (a sealed key or checksums that do not open):
      // damage or tampering of a stored object as much as its data's, told apart the same way.
      if (this.firstInTen(`refused ${p.subject?.bucket}/${p.subject?.key}`)) this.#deps.log.error({ ...where, err }, 'object record failed its integrity check (modified or moved?): refused with XMinioObjectTampered, nothing sent');
      p.tampered = true;
    }
    err = toS3Failure(err);
    const shortage = !isS3Error(err) || err.code === 'InternalError' ? descriptorShortage(err) : undefined;
    if (shortage !== undefined) {
      const failure = err;
      this.#counted('descriptors', (failedRequests) => this.#deps.log.warn({ err: failure, ...where, code: shortage, failedRequests }, 'out of file descriptors: answered 503 SlowDown (this line at most once per 10 s); raise LimitNOFILE'));
      err = new S3Error('SlowDown', 'The server is short of resources; please reduce your request rate and retry.');
    }
    if (isS3Error(err)) {
      e = err;
      // A failure whose cause the client is not told (a KMS's own words, endpoints, addresses):
      // the log has it. An internal error every time; a KMS refusal or outage once per 10 s per
      // kind (an outage fails every request, and the KMS client logs its state changes itself).
      if (e.cause !== undefined) {
        if ((e.cause as { name?: unknown }).name === 'KmsError') {
          // failedRequests: this one and those failed alike since the last such line (an outage
          // fails every SSE request; how many it failed was nowhere in the log).
          const kms = e;
          this.#counted(`kms ${e.code}`, (failedRequests) => this.#deps.log.warn({ err: kms.cause, ...where, code: kms.code, message: kms.message, failedRequests }, 'KMS request failed'));
        } else if (e.code === 'InternalError') this.internal('error', `internal error: ${e.message}`, e.cause, where, op, 'internal error');
      }
    } else {
      // The client went away and the handler stopped on that (a sealer aborted by the request's
      // signal): the 499 access line says it; no one gets the answer, and nothing failed here.
      if (p.aborted && err === p.abortReason) this.#deps.log.debug({ requestId: id }, 'handler stopped: the client disconnected');
      else this.internal('error', 'internal error', err, where, op);
      e = new S3Error('InternalError');
    }
    // 304 has no body, and no Content-Type: a cache revalidating with it would take the type on.
    if (e.status === 304) return { status: 304, headers: { ...e.headers } };
    const xml = toXml('Error', { Code: wireCode(e.code), Message: e.message, ...subjectFields(e.code, p.subject), ...e.fields, Resource: resource, RequestId: id, HostId: this.#hostId }, false);
    return { status: e.status, headers: { 'content-type': 'application/xml', ...e.headers }, body: xml, error: { code: wireCode(e.code), message: e.message } };
  }
}

/** Object data that failed authentication (not a cancelled DARE operation: `Aborted`). */
export function isTampered(err: unknown): err is DareError {
  return isDareError(err) && err.code !== 'Aborted';
}

/**
 * The kind of an internal failure, apart from the operation: its errno code, number and syscall
 * (EIO from read); without a code (a bug: a TypeError), its type and the line that threw, so that
 * two bugs are not counted as one.
 */
function failureKind(err: unknown): { code?: string; errno?: number; syscall?: string; type?: string; at?: string } {
  const e = (err ?? {}) as { code?: unknown; errno?: unknown; syscall?: unknown; name?: unknown; stack?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const kind = { code, errno: typeof e.errno === 'number' ? e.errno : undefined, syscall: typeof e.syscall === 'string' ? e.syscall : undefined };
  if (code !== undefined) return kind;
  const at = typeof e.stack === 'string' ? /^\s+at .*$/m.exec(e.stack)?.[0].trim() : undefined;
  return { ...kind, type: typeof e.name === 'string' ? e.name : typeof err, at };
}

/** A failure while producing a response body, as the client should see it. */
function toS3Failure(err: unknown): unknown {
  if (isS3Error(err)) return err;
  if (isTampered(err)) return new S3Error('XMinioObjectTampered', 'The object data failed authentication: it was modified on disk and may be compromised. No data was returned.');
  return err;
}
