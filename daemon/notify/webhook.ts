// Delivers queued bucket events to their webhook targets: one sender per target, POSTing one
// event at a time, oldest first (per-target order is commit order), over a keep-alive undici
// Agent with a timeout. Anything but a 2xx (a 3xx too: redirects are not followed) is retried
// with exponential backoff, for as long as it takes; events wait in the LMDB outbox
// (meta/notify-queue.ts) meanwhile and across restarts, and S3 requests never wait for a webhook.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import { undiciAgent } from '../undici.js';
import { LogLimit } from '../log-limit.js';
import type { NotificationQueue, QueuedEvent } from '../meta/notify-queue.js';
import { NotifyConfigError, shownEndpoint, type NotifyConfig, type WebhookTarget } from './targets.js';

export interface DeliveryOptions {
  /** Per-attempt timeout (connect, headers, body). */
  timeoutMs?: number;
  /** First retry delay; doubles per failure up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** A target's delivery failures while it stays down, and its dropped events, are logged at most this often. */
  logEveryMs?: number;
}

const DEFAULTS = { timeoutMs: 10_000, retryBaseMs: 500, retryMaxMs: 30_000, logEveryMs: 60_000 } as const;
/** Idle senders look at the queue this often even without a wake-up (belt and braces). */
const IDLE_POLL_MS = 5_000;

export interface TargetStats {
  readonly id: string;
  readonly queued: number;
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  readonly waiting: number;
}

class Sender {
  sent = 0;
  failed = 0;
  private wakeUp: (() => void) | undefined;
  private pending = false;
  private readonly abort = new AbortController();
  /** Delivery failures while the target stays down (reset when it is reachable again). */
  private readonly failureLines: LogLimit;
  /** Events dropped at the queue limit, told with their count. */
  private readonly dropLines: LogLimit;
  private down = false;
  done: Promise<void> = Promise.resolve();
  private readonly origin: string;
  private readonly path: string;

  constructor(
    readonly target: WebhookTarget,
    private readonly agent: Agent,
    private readonly queue: NotificationQueue,
    private readonly log: Logger,
    private readonly opts: Required<DeliveryOptions>,
  ) {
    const url = new URL(target.endpoint);
    this.origin = url.origin;
    this.path = url.pathname + url.search;
    this.failureLines = new LogLimit(opts.logEveryMs);
    this.dropLines = new LogLimit(opts.logEveryMs);
  }

  start(): void {
    this.done = this.run().catch((err: unknown) => this.log.error({ err, target: this.target.id }, 'webhook sender stopped on an unexpected error'));
  }

  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  stop(): void {
    this.abort.abort();
    this.wakeUp?.();
    // Drops the minute's line has not told yet: its timer would not run after the stop.
    this.dropLines.flush();
  }

  /**
   * One event dropped at the queue limit. Drops are logged with their count at most once a minute:
   * the first of a burst (one write may drop thousands once the limit is lowered) after the
   * transaction that dropped them, later ones when the minute is up, so none goes untold.
   */
  dropped(): void {
    this.dropLines.later((dropped) => this.log.warn({ target: this.target.id, dropped, queueLimit: this.target.queueLimit }, 'webhook queue full: oldest undelivered events dropped'));
  }

  private async idle(): Promise<void> {
    if (this.pending) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, IDLE_POLL_MS);
      timer.unref();
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
  }

  /** The event being delivered or retried, taken off the queue until it is acknowledged. */
  private current: QueuedEvent | undefined;

  /** Undelivered events: those queued and the one being delivered or retried. */
  waiting(): number {
    return this.queue.length(this.target.id) + (this.current === undefined ? 0 : 1);
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      this.pending = false;
      const ev = this.queue.next(this.target.id);
      this.current = ev;
      if (ev === undefined) {
        await this.idle();
        continue;
      }
      let delay = this.opts.retryBaseMs;
      for (;;) {
        const failure = await this.post(ev);
        if (signal.aborted) return;
        if (failure === undefined) {
          this.queue.ack(ev.key);
          this.current = undefined;
          this.sent++;
          if (this.down) {
            this.down = false;
            this.failureLines.reset();
            this.log.info({ target: this.target.id, waiting: this.waiting() }, 'webhook target reachable again: delivering queued events');
          }
          break;
        }
        this.failed++;
        this.logFailure(failure, ev);
        try {
          await sleep(delay, undefined, { signal });
        } catch {
          return;
        }
        delay = Math.min(delay * 2, this.opts.retryMaxMs);
      }
    }
  }

  private logFailure(failure: string, ev: QueuedEvent): void {
    // The first failure after the target was reachable is logged at once: run() reset the limit.
    if (!this.failureLines.hit()) return;
    this.down = true;
    this.log.warn(
      { target: this.target.id, endpoint: shownEndpoint(this.target.endpoint), failure, waiting: this.waiting(), oldestQueuedAt: new Date(ev.queuedAt).toISOString() },
      'webhook delivery failed: events stay queued and are retried',
    );
  }

  /**
   * A 3xx is a failure, told with where it points, so that the operator sees why events wait.
   * Redirects are not followed: MinIO's Go client follows them, but turns a POST answered 301, 302
   * or 303 into a GET without the event, and counts that GET's 200 as the event delivered; the
   * endpoint should name the final URL. The target is shown as its origin (shownEndpoint).
   */
  private redirected(status: number, location: string | string[] | undefined): string {
    const to = typeof location === 'string' ? URL.parse(location, this.target.endpoint) : null;
    return `HTTP ${status} redirect${to !== null ? ` to ${shownEndpoint(to.href)}` : ''}, not followed: set the target's endpoint to the final URL`;
  }

  /** One attempt; undefined on a 2xx, else what went wrong. */
  private async post(ev: QueuedEvent): Promise<string | undefined> {
    const ac = new AbortController();
    const onStop = (): void => ac.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(() => ac.abort(), this.opts.timeoutMs);
    try {
      const res = await this.agent.request({
        origin: this.origin,
        path: this.path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.target.authorization !== undefined ? { authorization: this.target.authorization } : {}),
        },
        body: ev.body,
        signal: ac.signal,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode <= 299) return undefined;
      return res.statusCode >= 300 && res.statusCode <= 399 ? this.redirected(res.statusCode, res.headers.location) : `HTTP ${res.statusCode}`;
    } catch (err) {
      if (ac.signal.aborted) return this.abort.signal.aborted ? 'shutting down' : `timeout after ${this.opts.timeoutMs} ms`;
      return (err as { code?: string }).code ?? (err as Error).message;
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }
}

/** The webhook targets and their senders; what ops/notification.ts stages events for. */
export class WebhookNotifier {
  private readonly senders = new Map<string, Sender>();
  private readonly agents: Agent[] = [];

  constructor(
    readonly config: NotifyConfig,
    readonly queue: NotificationQueue,
    private readonly log: Logger,
    opts: DeliveryOptions = {},
  ) {
    const o = { ...DEFAULTS, ...opts };
    for (const t of config.targets) {
      let tls: { cert: Buffer; key: Buffer } | undefined;
      if (t.clientCert !== undefined && t.clientKey !== undefined) {
        try {
          tls = { cert: readFileSync(t.clientCert), key: readFileSync(t.clientKey) };
        } catch (err) {
          throw new NotifyConfigError(`webhook target ${t.id}: cannot read its client certificate or key: ${(err as Error).message}`);
        }
      }
      const agent = new (undiciAgent())({
        connect: { timeout: o.timeoutMs, ...(tls ?? {}) },
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        keepAliveTimeout: 30_000,
        connections: 1,
      });
      this.agents.push(agent);
      this.senders.set(t.id, new Sender(t, agent, queue, log, o));
      queue.open(t.id, t.queueLimit);
    }
    queue.onDrop = (target) => this.senders.get(target)?.dropped();
    queue.onAckError = (err) => log.error({ err }, 'removing delivered notification events failed: they will be sent again after a restart');
  }

  /** Whether an ARN's target id is configured. */
  has(id: string): boolean {
    return this.senders.has(id);
  }

  /** Starts every sender (events left from before a restart go out first) and logs the targets. */
  start(): void {
    if (this.senders.size > 0) {
      this.log.info(
        { targets: [...this.senders.values()].map((s) => ({ id: s.target.id, arn: s.target.arn, endpoint: shownEndpoint(s.target.endpoint), waiting: this.queue.length(s.target.id) })) },
        'bucket notification webhook targets',
      );
    }
    for (const [id, n] of this.queue.held()) {
      if (!this.senders.has(id)) this.log.warn({ target: id, events: n }, 'undelivered notification events for a webhook target that is no longer configured: kept until it is');
    }
    for (const s of this.senders.values()) s.start();
  }

  /** Tells the senders of these targets that new events are committed. */
  wake(ids: Iterable<string>): void {
    for (const id of ids) this.senders.get(id)?.wake();
  }

  /** Stops sending (an attempt in flight is abandoned and sent again next time) and records what was delivered. */
  async stop(): Promise<void> {
    for (const s of this.senders.values()) s.stop();
    await Promise.all([...this.senders.values()].map((s) => s.done));
    await this.queue.flush();
    await Promise.all(this.agents.map((a) => a.destroy().catch(() => undefined)));
  }

  stats(): TargetStats[] {
    const totals = this.queue.totals();
    return [...this.senders.values()].map((s) => {
      const t = totals.get(s.target.id);
      return { id: s.target.id, queued: t?.queued ?? 0, sent: s.sent, failed: s.failed, dropped: t?.dropped ?? 0, waiting: s.waiting() };
    });
  }
}
