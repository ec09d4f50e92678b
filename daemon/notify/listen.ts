// MinIO's ListenBucketNotification (`GET /bucket?events=…`, what `mc watch`, minio-js
// listenBucketNotification and minio-go ListenBucketNotification call) and ListenNotification
// (`GET /?events=…`, every bucket): a response that never ends, carrying one JSON line
// `{"Records":[event]}` per event as it happens. Between events it carries a space every 500 ms
// (MinIO's keep-alive), or with `ping=N` an empty `{"Records":null}` line every N seconds.
//
// Events are published only after their write has committed; nothing is stored: a listener sees
// what happens while it is connected. A listener that does not read keeps at most MAX_QUEUED
// lines and MAX_QUEUED_BYTES; later events are dropped for it (as MinIO does), never for anyone
// else. Each wake-up sends at most MAX_CHUNK_BYTES, so that a stalled socket holds at most that
// much of it in uWS's buffer. How many streams may be open at once is the daemon's setting
// (S3_LISTEN_MAX): each costs a match per event and its own memory. Within it no one requester
// may take every place, nor a few of them together (listenShares): MinIO's one server-wide count
// of listeners let a single access key, or anyone a public bucket policy lets listen, keep every
// other client out.

import { eventCovers, keyMatches, OBJECT_EVENTS, TAGGING_NAMES } from './rules.js';

/**
 * The events a listener may ask for: MinIO's (objects created, tags changed, removed, lifecycle
 * expiry among them, and reads); S3's s3:LifecycleExpiration, s3:ObjectTagging and s3:ObjectAcl
 * names are for webhook rules only.
 */
export const LISTEN_EVENTS: ReadonlySet<string> = new Set([
  ...OBJECT_EVENTS,
  TAGGING_NAMES.put.minio,
  TAGGING_NAMES.delete.minio,
  's3:ObjectAccessed:*',
  's3:ObjectAccessed:Get',
  's3:ObjectAccessed:Head',
]);

/** Lines a listener that does not read may have waiting before events are dropped for it. */
export const MAX_QUEUED = 4000;
/** Bytes of lines a listener may have waiting (long keys make long lines: ~1,000 of 1 KiB). */
export const MAX_QUEUED_BYTES = 1024 * 1024;
/** The most one write to a listener's socket carries (at least one line). */
export const MAX_CHUNK_BYTES = 64 * 1024;
const KEEP_ALIVE_MS = 500;
/**
 * How often an idle stream's access is judged again. Events are judged as they come, but a stream
 * whose access was taken away (its bucket policy changed or deleted, a public access block set,
 * its STS session expired) and whose bucket stays quiet stayed open, hearing nothing, holding its
 * place in S3_LISTEN_MAX and its requester's share until the client left. One policy evaluation
 * per stream every few seconds is nothing beside the keep-alives.
 */
export const REJUDGE_MS = 3000;
const SPACE = Buffer.from(' ');
const PING = Buffer.from('{"Records":null}\n');

export interface ListenFilter {
  /** Undefined: every bucket. */
  readonly bucket: string | undefined;
  /** Event names (wildcards allowed), at least one. */
  readonly events: readonly string[];
  readonly prefix: string;
  readonly suffix: string;
  /** Seconds between empty `{"Records":null}` lines; undefined: a space every 500 ms. */
  readonly pingSeconds?: number;
  /**
   * Whether the requester may receive events of this bucket (undefined: the listen request itself)
   * as its access stands now, asked for every event that matches: a Deny on one bucket, a changed
   * bucket policy or a removed user count at once. Undefined: always (the root user).
   */
  readonly may?: (bucket: string | undefined) => boolean;
}

/**
 * Who holds a stream, for the shares of the limit: the root user; a user (its access key, or an
 * STS session's parent user); or, for unsigned requests a bucket policy admits, the client's
 * network (ip-ranges.ts clientNetwork of the address client-address.ts names: an IPv4 address,
 * an IPv6 /64), the one thing that tells anonymous clients apart.
 */
export type ListenHolder =
  | { readonly kind: 'root' }
  | { readonly kind: 'user'; readonly principal: string }
  | { readonly kind: 'anonymous'; readonly client: string };

/** How S3_LISTEN_MAX is shared out (max > 0); listenShares says why. */
export interface ListenShares {
  /** Streams one user (however many sessions) may hold. */
  readonly perPrincipal: number;
  /** Streams unsigned requests may hold together. */
  readonly anonymous: number;
  /** Places only the root user may take: streams of everyone else stop this many short of max. */
  readonly rootReserve: number;
  /**
   * Places, below root's, that only a holder's first stream may take: everyone's second and later
   * streams stop this many short of root's reserve.
   */
  readonly firstStreams: number;
  /** Of the `anonymous` places, those only a client network's first stream may take. */
  readonly anonymousFirstStreams: number;
}

/**
 * The shares of `max` streams, derived from it rather than set apart (one setting to reason
 * about). One user may hold half: a runaway script or a leaked key of one user cannot keep the
 * others out, and one user still gets a fair number of watches. Unsigned requests together hold a
 * tenth: anyone on the network is one of them, they answer to no one, and a public bucket policy
 * granting s3:ListenBucketNotification (as MinIO honours it) made them as strong as a user. A
 * tenth is kept for the root user, so that an operator's `mc watch` opens while users hold every
 * other place. At least one of each (a limit of 1 reserves nothing: its one place is anyone's).
 *
 * Caps alone let a few holders together take every place (two users at half each; one address
 * all the unsigned tenth), so the last places are kept for first streams: a holder's second and
 * later streams leave a tenth of max free for holders that have none (and, among unsigned
 * requests, leave half of their tenth to networks that have none: anonymous clients need one
 * stream each, and are cheap to multiply). A newcomer is then refused only once as many distinct
 * holders as those places hold streams beside the others, which no one user or client network
 * can arrange alone. Shares are judged at open; no open stream is ended to make room.
 */
export function listenShares(max: number): ListenShares {
  const rootReserve = max >= 2 ? Math.max(1, Math.floor(max / 10)) : 0;
  const anonymous = Math.max(1, Math.floor(max / 10));
  return {
    perPrincipal: Math.max(1, Math.floor(max / 2)),
    anonymous,
    rootReserve,
    // Below 3 there is no place to keep: a limit of 2 is one for root and one for anyone.
    firstStreams: max >= 3 ? Math.max(1, Math.floor(max / 10)) : 0,
    anonymousFirstStreams: Math.floor(anonymous / 2),
  };
}

class Listener {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(readonly filter: ListenFilter) {}

  matches(bucket: string, name: string, key: string): boolean {
    const f = this.filter;
    if (f.bucket !== undefined && f.bucket !== bucket) return false;
    if (!keyMatches(f, key)) return false;
    return f.events.some((e) => eventCovers(e, name)) && (f.may === undefined || f.may(bucket));
  }

  /** False when the line was dropped: the listener has MAX_QUEUED lines or MAX_QUEUED_BYTES it has not read. */
  push(line: Buffer): boolean {
    if (this.closed) return true;
    if (this.queue.length >= MAX_QUEUED || this.queuedBytes + line.length > MAX_QUEUED_BYTES) return false;
    this.queue.push(line);
    this.queuedBytes += line.length;
    this.notify();
    return true;
  }

  /** The oldest waiting lines, up to MAX_CHUNK_BYTES (at least one), as one chunk. */
  private take(): Buffer {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.length <= MAX_CHUNK_BYTES)) bytes += this.queue[n++]!.length;
    this.queuedBytes -= bytes;
    const lines = this.queue.splice(0, n);
    return lines.length === 1 ? lines[0]! : Buffer.concat(lines, bytes);
  }

  close(): void {
    this.closed = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The response body: queued lines as they come, keep-alives in between, until closed. */
  async *lines(signal: AbortSignal): AsyncGenerator<Buffer> {
    const onAbort = (): void => this.close();
    signal.addEventListener('abort', onAbort);
    const every = this.filter.pingSeconds === undefined ? KEEP_ALIVE_MS : this.filter.pingSeconds * 1000;
    const idle = this.filter.pingSeconds === undefined ? SPACE : PING;
    try {
      // Something goes out at once: the client sees its headers (and knows it is listening).
      yield idle;
      // Monotonic: after the wall clock stepped back, the next keep-alive waited as long as the
      // step, and proxies and clients closed the idle stream long before.
      let last = performance.now();
      let judged = last;
      const may = this.filter.may;
      for (;;) {
        if (this.queue.length > 0 && !signal.aborted) {
          // What is waiting in one chunk: one socket write per wake-up, not per event.
          const batch = this.take();
          last = performance.now();
          yield batch;
          continue;
        }
        // Closed (shutdown, client gone): what was queued went out first.
        if (this.closed || signal.aborted) return;
        let now = performance.now();
        if (may !== undefined && now - judged >= REJUDGE_MS) {
          // No longer allowed to listen: the body ends (its place is given back), as a users
          // reload ends the streams of users it removes (EventListeners.revalidate).
          if (!may(this.filter.bucket)) return;
          now = judged = performance.now();
        }
        const untilKeepAlive = every - (now - last);
        const untilJudged = may === undefined ? Infinity : REJUDGE_MS - (now - judged);
        const keepAliveDue = untilKeepAlive <= untilJudged;
        const wait = Math.max(0, Math.min(untilKeepAlive, untilJudged));
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await new Promise<boolean>((resolve) => {
          this.wake = () => resolve(false);
          timer = setTimeout(() => resolve(true), wait);
        });
        clearTimeout(timer);
        this.wake = undefined;
        if (timedOut && keepAliveDue && !this.closed && this.queue.length === 0) {
          last = performance.now();
          yield idle;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.close();
    }
  }
}

const NONE: ReadonlySet<Listener> = new Set();

/** A holder's key in EventListeners.held: users and client networks apart (an access key may look like an address). */
function heldKey(holder: Exclude<ListenHolder, { kind: 'root' }>): string {
  return holder.kind === 'user' ? `user:${holder.principal}` : `anonymous:${holder.client}`;
}

/** The daemon's listeners (one per open listen request). */
export class EventListeners {
  private readonly all = new Set<Listener>();
  /** Listeners per bucket name ('' for those listening to every bucket): an event is matched against its bucket's only. */
  private readonly byBucket = new Map<string, Set<Listener>>();
  private closed = false;
  /** Events dropped for listeners that did not keep up (a metric). */
  droppedTotal = 0;
  /** Listen requests refused because `max` streams were open or their requester held its share (a metric). */
  refusedTotal = 0;
  /** Open streams per holder, `user:<principal>` or `anonymous:<network>` (root's not counted: root has no share). */
  private readonly held = new Map<string, number>();
  /** Open streams of everyone but root. */
  private notRoot = 0;
  /** Open streams of unsigned requests. */
  private anonymousHeld = 0;
  readonly shares: ListenShares;

  /** @param max How many streams may be open at once (0: no limit, no shares). */
  constructor(readonly max = 0) {
    this.shares = listenShares(max);
  }

  get size(): number {
    return this.all.size;
  }

  /**
   * Why a new stream of `holder` may not open now (answered 503 SlowDown), undefined when it may;
   * a refusal is counted. Asked right before `listen`, with nothing awaited in between.
   */
  refusal(holder: ListenHolder): string | undefined {
    const why = this.why(holder);
    if (why !== undefined) this.refusedTotal++;
    return why;
  }

  private why(holder: ListenHolder): string | undefined {
    const max = this.max;
    if (max === 0) return undefined;
    const retry = 'retry once one has closed.';
    if (this.all.size >= max) return `${max} listening streams are open, the most this server keeps (S3_LISTEN_MAX); ${retry}`;
    if (holder.kind === 'root') return undefined;
    const { perPrincipal, anonymous, rootReserve, firstStreams, anonymousFirstStreams } = this.shares;
    const mine = this.held.get(heldKey(holder)) ?? 0;
    if (holder.kind === 'anonymous') {
      const unsigned = this.anonymousHeld;
      if (unsigned >= anonymous) return `${unsigned} listening streams of unsigned requests are open, the most this server keeps for them (a tenth of S3_LISTEN_MAX=${max}); sign the request, or ${retry}`;
      if (mine > 0 && unsigned >= anonymous - anonymousFirstStreams) return `${unsigned} listening streams of unsigned requests are open, ${mine} of them from this client's network; the other ${anonymousFirstStreams} of the ${anonymous} kept for unsigned requests (a tenth of S3_LISTEN_MAX=${max}) are for the first stream of other clients; sign the request, or ${retry}`;
    } else if (mine >= perPrincipal) {
      return `This user has ${mine} listening streams open, the most one user may hold (half of S3_LISTEN_MAX=${max}); ${retry}`;
    }
    if (this.notRoot >= max - rootReserve) return `${this.notRoot} listening streams are open; the other ${rootReserve} of S3_LISTEN_MAX=${max} are kept for the root user; ${retry}`;
    if (mine > 0 && this.notRoot >= max - rootReserve - firstStreams) {
      const whose = holder.kind === 'user' ? "this user's" : "this client network's";
      return `${this.notRoot} listening streams are open, ${mine} of them ${whose}; the last ${firstStreams} places below the root user's ${rootReserve} of S3_LISTEN_MAX=${max} are kept for the first stream of others; ${retry}`;
    }
    return undefined;
  }

  /** Whether anyone listens to the bucket: the cheap question asked on every write and read. */
  watching(bucket: string): boolean {
    return this.all.size > 0 && (this.byBucket.has(bucket) || this.byBucket.has(''));
  }

  /** Whether an event would reach any listener. */
  wants(bucket: string, name: string, key: string): boolean {
    if (!this.watching(bucket)) return false;
    for (const set of [this.byBucket.get(bucket) ?? NONE, this.byBucket.get('') ?? NONE]) {
      for (const l of set) if (l.matches(bucket, name, key)) return true;
    }
    return false;
  }

  /**
   * A new listener; its body ends when the request is aborted or the daemon stops. Undefined once
   * the daemon is stopping. The caller asks `refusal()` first; `holder`'s share is taken until the
   * body is done with (ended, or returned by the response writer on every way out).
   */
  listen(filter: ListenFilter, signal: AbortSignal, holder: ListenHolder): AsyncIterable<Buffer> | undefined {
    if (this.closed) return undefined;
    const l = new Listener(filter);
    const slot = filter.bucket ?? '';
    this.all.add(l);
    const key = holder.kind === 'root' ? undefined : heldKey(holder);
    const anonymous = holder.kind === 'anonymous';
    if (key !== undefined) {
      this.held.set(key, (this.held.get(key) ?? 0) + 1);
      this.notRoot++;
      if (anonymous) this.anonymousHeld++;
    }
    const set = this.byBucket.get(slot) ?? new Set<Listener>();
    this.byBucket.set(slot, set);
    set.add(l);
    const lines = l.lines(signal);
    // Forgotten here rather than in the generator's finally: a generator returned before its
    // first next() (a response aborted before it streamed) never runs its finally.
    const done = (): void => {
      if (!this.all.delete(l)) return;
      set.delete(l);
      if (key !== undefined) {
        const n = (this.held.get(key) ?? 1) - 1;
        if (n > 0) this.held.set(key, n);
        else this.held.delete(key);
        this.notRoot--;
        if (anonymous) this.anonymousHeld--;
      }
      if (set.size === 0 && this.byBucket.get(slot) === set) this.byBucket.delete(slot);
    };
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const r = await lines.next();
          if (r.done) done();
          return r;
        },
        return: async () => {
          done();
          return lines.return(undefined);
        },
      }),
    };
  }

  /** Events of one committed write (or read), as `eventRecord` objects, to the listeners that match. */
  publish(bucket: string, events: ReadonlyArray<{ readonly name: string; readonly key: string; readonly record: unknown }>): void {
    if (events.length === 0 || !this.watching(bucket)) return;
    const sets = [this.byBucket.get(bucket) ?? NONE, this.byBucket.get('') ?? NONE];
    for (const e of events) {
      // One line per event, shared by every listener it goes to.
      let line: Buffer | undefined;
      for (const set of sets) {
        for (const l of set) {
          if (l.matches(bucket, e.name, e.key) && !l.push((line ??= Buffer.from(JSON.stringify({ Records: [e.record] }) + '\n')))) this.droppedTotal++;
        }
      }
    }
  }

  /**
   * Ends the bodies of listeners whose requester may no longer listen (a user removed or
   * restricted by a users-file reload); what was queued for them goes out first. Returns how many.
   */
  revalidate(): number {
    let ended = 0;
    for (const l of this.all) {
      if (l.filter.may !== undefined && !l.filter.may(l.filter.bucket)) {
        l.close();
        ended++;
      }
    }
    return ended;
  }

  /** Ends every listener's body (at shutdown, before the HTTP server drains). */
  close(): void {
    this.closed = true;
    for (const l of this.all) l.close();
  }
}
