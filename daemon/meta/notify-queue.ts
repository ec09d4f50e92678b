// The bucket-notification outbox: events waiting for their webhook target, in the metadata LMDB
// environment (sub-database `notify`). An event's row is written inside the transaction of the
// change it describes (MetaStore mutations take an in-transaction hook), so it exists exactly when
// that change does, across crashes. Keys are the target id, 0x00 and a per-target sequence number
// (u64 BE): a range scan per target yields its events in commit order. Delivered rows are removed
// in batches; a crash before that removal redelivers them (at least once).

import type { Database, RootDatabase } from 'lmdb';
import { orAbsent } from './absent-table.js';

export interface QueuedEvent {
  readonly key: Buffer;
  readonly queuedAt: number;
  readonly body: string;
}

interface Row {
  readonly v: number;
  /** When it was queued, ms since the epoch. */
  readonly t: number;
  /** The webhook body. */
  readonly body: string;
}

interface TargetState {
  limit: number;
  /** Sequence number of the last row written. */
  seq: number;
  /** Rows not yet handed out by next() (nor dropped). */
  waiting: number;
  /** Key of the last row next() handed out: rows up to it are in flight or delivered. */
  cursor: Buffer | undefined;
  readonly totals: { queued: number; dropped: number };
}

const ACK_BATCH = 256;
const ACK_DELAY_MS = 100;

function range(target: string): { start: Buffer; end: Buffer } {
  const t = Buffer.from(target);
  return { start: Buffer.concat([t, Buffer.from([0x00])]), end: Buffer.concat([t, Buffer.from([0x01])]) };
}

function rowKey(target: string, seq: number): Buffer {
  const t = Buffer.from(target);
  const k = Buffer.alloc(t.length + 9);
  t.copy(k);
  k[t.length] = 0x00;
  k.writeBigUInt64BE(BigInt(seq), t.length + 1);
  return k;
}

function seqOf(key: Buffer): number {
  return Number(key.readBigUInt64BE(key.length - 8));
}

/** The smallest key after `key`. */
function after(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0x00])]);
}

export class NotificationQueue {
  private readonly db: Database<Row, Buffer>;
  private readonly targets = new Map<string, TargetState>();
  private acks: Buffer[] = [];
  private ackTimer: NodeJS.Timeout | undefined;
  private ackWrite: Promise<void> = Promise.resolve();
  /** Called (inside the writing transaction) when an event was dropped to stay within a target's limit. */
  onDrop: ((target: string) => void) | undefined;
  /** Called when removing delivered rows failed (they will be delivered again after a restart). */
  onAckError: ((err: unknown) => void) | undefined;
  /** Inside a write transaction (begin..end): what undoes its pushes' counts; undefined outside. */
  private undoSteps: Array<() => void> | undefined;

  constructor(private readonly root: RootDatabase) {
    // Missing from a store opened read-only that an earlier version wrote: read as empty (absent-table.ts).
    this.db = orAbsent(root.openDB({ name: 'notify', keyEncoding: 'binary', useRecords: false } as never) as unknown as Database<Row, Buffer>, 'notify');
  }

  /** Makes `target` writable with a bound on its waiting events; returns how many it holds. */
  open(target: string, limit: number): number {
    const { start, end } = range(target);
    let seq = 0;
    for (const k of this.db.getKeys({ start: end, end: start, reverse: true, limit: 1 })) seq = seqOf(k as Buffer);
    const waiting = this.db.getKeysCount({ start, end });
    this.targets.set(target, { limit, seq, waiting, cursor: undefined, totals: { queued: 0, dropped: 0 } });
    return waiting;
  }

  /** Every target id that has rows, with their count (also targets no longer configured). */
  held(): Map<string, number> {
    const out = new Map<string, number>();
    let start: Buffer | undefined;
    for (;;) {
      let first: Buffer | undefined;
      for (const k of this.db.getKeys({ ...(start ? { start } : {}), limit: 1 })) first = k as Buffer;
      if (first === undefined) return out;
      const target = first.subarray(0, first.indexOf(0x00)).toString();
      const r = range(target);
      out.set(target, this.db.getKeysCount(r));
      start = r.end;
    }
  }

  /** MetaStore: a write transaction's callback starts (its pushes are noted until end()). */
  begin(): void {
    this.undoSteps = [];
  }

  /**
   * MetaStore: the callback ended. Returns what puts the counts back if the transaction does not
   * commit (the callback threw, or the commit failed: a full disk): its rows were never written,
   * nor its drops done, and a count left raised would never come down, so that every event after
   * enough failed commits would be dropped at once as over the limit. Undefined: nothing pushed.
   */
  end(): (() => void) | undefined {
    const steps = this.undoSteps;
    this.undoSteps = undefined;
    if (steps === undefined || steps.length === 0) return undefined;
    return () => {
      for (let i = steps.length - 1; i >= 0; i--) steps[i]!();
    };
  }

  /**
   * Appends an event for `target`. Only inside a MetaStore write transaction (the in-transaction
   * hook of a mutation), so that it commits with the change. Beyond the target's limit the oldest
   * waiting event is dropped.
   */
  push(target: string, body: string, now = Date.now()): void {
    const s = this.targets.get(target);
    if (s === undefined) return;
    s.seq++;
    void this.db.put(rowKey(target, s.seq), { v: 1, t: now, body });
    s.waiting++;
    s.totals.queued++;
    this.undoSteps?.push(() => {
      s.waiting--;
      s.totals.queued--;
    });
    while (s.waiting > s.limit) {
      const { start, end } = range(target);
      let oldest: Buffer | undefined;
      for (const k of this.db.getKeys({ start: s.cursor ? after(s.cursor) : start, end, limit: 1 })) oldest = k as Buffer;
      if (oldest === undefined) break;
      void this.db.remove(oldest);
      s.waiting--;
      s.totals.dropped++;
      this.undoSteps?.push(() => {
        s.waiting++;
        s.totals.dropped--;
      });
      this.onDrop?.(target);
    }
  }

  /** The oldest event of `target` not yet handed out, which is then in flight until ack(). */
  next(target: string): QueuedEvent | undefined {
    const s = this.targets.get(target);
    if (s === undefined) return undefined;
    const { start, end } = range(target);
    for (const { key, value } of this.db.getRange({ start: s.cursor ? after(s.cursor) : start, end, limit: 1 })) {
      s.cursor = Buffer.from(key as Buffer);
      s.waiting = Math.max(0, s.waiting - 1);
      return { key: s.cursor, queuedAt: value.t, body: value.body };
    }
    return undefined;
  }

  /** The event was delivered: its row is removed with the next batch. */
  ack(key: Buffer): void {
    this.acks.push(key);
    if (this.acks.length >= ACK_BATCH) void this.flush();
    else if (this.ackTimer === undefined) {
      this.ackTimer = setTimeout(() => void this.flush(), ACK_DELAY_MS);
      this.ackTimer.unref();
    }
  }

  /** Removes the delivered rows now; resolves once that is durable. */
  flush(): Promise<void> {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const keys = this.acks;
    this.acks = [];
    if (keys.length > 0) {
      this.ackWrite = this.ackWrite.then(() =>
        (this.root.transaction(() => {
          for (const k of keys) void this.db.remove(k);
        }) as Promise<unknown>).then(
          () => undefined,
          (err: unknown) => this.onAckError?.(err),
        ),
      );
    }
    return this.ackWrite;
  }

  /** Events of `target` waiting to be sent (the one in flight not counted). */
  length(target: string): number {
    return this.targets.get(target)?.waiting ?? 0;
  }

  /** Events queued and dropped per target since start-up. */
  totals(): Map<string, { readonly queued: number; readonly dropped: number }> {
    return new Map([...this.targets].map(([id, s]) => [id, s.totals]));
  }
}
