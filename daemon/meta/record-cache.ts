// Current object records of many parts, kept decoded beside the bytes they were decoded from.
//
// A completed upload of 10,000 parts is a record of ~1.6 MB, and decoding it took ~10-20 ms of the
// event loop on every HEAD and GET of the object: a transfer manager reading it in ranges, or a
// client reading it part by part (partNumber), spent that once per request, quadratic in the parts
// over the whole read. A lookup reads the stored bytes (no decode) and compares them with those a
// kept record was decoded from (a memcmp, ~0.1 ms for 1.6 MB): equal, the kept record is the
// stored one; else it is decoded again and kept in its place. Records are never changed in place
// (their fields are readonly), so one decoded record can serve every request.
// A write that deletes or replaces such a record decodes it ahead, a slice of its parts to a turn
// of the event loop (prefetch), and its transaction takes it from here by the same comparison.
// MetaStore keeps a second cache over the versions table, for the noncurrent versions a delete
// reads (store-key-writes.ts versionsADeleteReads); a transaction that moves a record between the
// two tables as its bytes keeps it decoded under its new key (remember).
import type { Database } from 'lmdb';
import type { ObjectRecord } from './records.js';
import { decodeAhead, partsCount, surelyNoParts } from './record-encoding.js';

/** Records stored in at least this many bytes are kept (some 400 parts and more). */
export const KEPT_RECORD_MIN_BYTES = 64 * 1024;
/** Records stored in fewer bytes hold at most some 30 parts: a transaction decodes them at no cost worth counting. */
const IN_COMMIT_MIN_BYTES = 4 * 1024;
/**
 * At most this many stored bytes kept in all. A decoded record takes ~3 times its stored bytes
 * (a 10,000-part record: 1.6 MB stored, 5 MB decoded): ~35 MB of the heap at most.
 */
export const KEPT_BYTES_MAX = 8 * 1024 * 1024;
/**
 * Stored bytes held for writes that decoded them ahead (pin) at most, beyond which a preparation
 * waits for the commits before it to land: one preparation holds at most KEPT_BYTES_MAX, so
 * another may prepare while the one before waits for its commit.
 */
const PINNED_BYTES_MAX = 2 * KEPT_BYTES_MAX;

interface Decoder {
  decode(bytes: Buffer): unknown;
}

export class RecordCache {
  readonly #bytes: Database<Buffer, Buffer>;
  readonly #decoder: Decoder;
  readonly #decoded: Database<ObjectRecord, Buffer>;
  /** Whether the table's decoder copies what it keeps from the bytes (lmdb-js's `decoderCopies`). */
  readonly #decoderCopies: boolean;
  /** By key (latin1 of its bytes), least recently used first. */
  readonly #kept = new Map<string, { bytes: Buffer; record: ObjectRecord }>();
  #keptBytes = 0;
  /** Kept records held for writes not yet committed (pin): id → how many hold it, and its bytes when pinned. */
  readonly #pins = new Map<string, { count: number; bytes: number }>();
  #pinnedBytes = 0;
  /** Preparations waiting for room to pin (room). */
  #waiting: Array<() => void> = [];

  /** `bytes`: the table opened with binary values; `decoded`: the same table as records. */
  constructor(bytes: Database<Buffer, Buffer>, decoded: Database<ObjectRecord, Buffer>) {
    this.#bytes = bytes;
    this.#decoded = decoded;
    this.#decoder = (decoded as unknown as { decoder: Decoder }).decoder;
    this.#decoderCopies = (decoded as unknown as { decoderCopies?: boolean }).decoderCopies === true;
  }

  /** The record stored under `k`, as `decoded.get(k)` returns it. */
  get(k: Buffer): ObjectRecord | undefined {
    // lmdb-js's shared read buffer, valid until the next read; its `length` is the value's.
    const now = this.#bytes.getBinaryFast(k);
    if (now === undefined) return undefined;
    // Below the size kept, decoded from those bytes as lmdb-js's own get() does when its decoder
    // copies what it keeps (else read again, into a buffer of its own): one lookup, not two.
    if (now.length < KEPT_RECORD_MIN_BYTES) return this.#decoderCopies ? (this.#decoder.decode(now) as ObjectRecord) : this.#decoded.get(k);
    const id = k.toString('latin1');
    const kept = this.#kept.get(id);
    if (kept !== undefined && kept.bytes.length === now.length && kept.bytes.equals(now.subarray(0, now.length))) {
      this.#kept.delete(id);
      this.#kept.set(id, kept);
      return kept.record;
    }
    const bytes = Buffer.from(now.subarray(0, now.length));
    const record = this.#decoder.decode(bytes) as ObjectRecord;
    this.#keep(id, bytes, record);
    return record;
  }

  /**
   * Whether the record under `k` is one a lookup would decode whole in one go (stored in
   * KEPT_RECORD_MIN_BYTES or more, and not kept decoded as it is stored): prefetch it first.
   */
  wantsPrefetch(k: Buffer): boolean {
    const now = this.#bytes.getBinaryFast(k);
    if (now === undefined || now.length < KEPT_RECORD_MIN_BYTES) return false;
    const kept = this.#kept.get(k.toString('latin1'));
    return kept === undefined || kept.bytes.length !== now.length || !kept.bytes.equals(now.subarray(0, now.length));
  }

  /** Whether a record is kept under `k` (as it is stored now or not: pin holds what is kept). */
  keeps(k: Buffer): boolean {
    return this.#kept.has(k.toString('latin1'));
  }

  /**
   * What a write that will read the record under `k` costs, in its stored bytes (store-deletes.ts
   * commitEnd, #prepare), read once, no decode: `kept`, for one the cache keeps (KEPT_RECORD_MIN_BYTES
   * or more, with parts), kept already or not, the room it asks of the cache; `inCommit`, for one
   * the cache would not keep (under KEPT_RECORD_MIN_BYTES) yet which may hold enough parts to matter
   * (IN_COMMIT_MIN_BYTES or more), decoded whole by the transaction itself, never ahead. A record of
   * no parts (surelyNoParts: a walk of its top-level keys; an object stored inline, which the cache
   * never keeps and whose decode is a copy) costs neither.
   */
  decodeCost(k: Buffer): { kept: number; inCommit: number } {
    const now = this.#bytes.getBinaryFast(k);
    if (now === undefined || now.length < IN_COMMIT_MIN_BYTES || surelyNoParts(now.subarray(0, now.length))) return { kept: 0, inCommit: 0 };
    return now.length >= KEPT_RECORD_MIN_BYTES ? { kept: now.length, inCommit: 0 } : { kept: 0, inCommit: now.length };
  }

  /**
   * How many data files a delete of the record under `k` releases at most, read from its stored
   * bytes without a decode (record-encoding.ts partsCount): a file a part, or its one file (or
   * none, inline); 0 when none is stored. A record the walk cannot read is counted by its length
   * (a part takes ~130 stored bytes). For store-deletes.ts commitEnd.
   */
  fileCount(k: Buffer): number {
    const now = this.#bytes.getBinaryFast(k);
    if (now === undefined) return 0;
    const bytes = now.subarray(0, now.length);
    const parts = partsCount(bytes);
    return parts === undefined ? Math.ceil(bytes.length / 128) : Math.max(1, parts);
  }

  /**
   * Decodes and keeps the record under `k` as it is stored now, a slice of its parts to a turn of
   * the event loop (record-encoding.ts decodeAhead), for a transaction about to read it (a delete
   * or overwrite of the key): get() then finds it kept, if its bytes are still those. A record the
   * walk cannot read is left to get(). Returns the bytes decoded (0 when none was).
   */
  async prefetch(k: Buffer): Promise<number> {
    return this.wantsPrefetch(k) ? ((await this.#decodeAndKeep(k, false))?.bytes ?? 0) : 0;
  }

  /** prefetch's work: the record under `k` decoded ahead and kept (pinned, when asked); its bytes' length and whether it is kept now, or undefined when none is stored. */
  async #decodeAndKeep(k: Buffer, pinned: boolean): Promise<{ bytes: number; id: string | undefined } | undefined> {
    const bytes = this.#bytes.getBinary(k);
    if (bytes === undefined) return undefined;
    const record = await decodeAhead(this.#decoder, bytes);
    if (record === undefined) return { bytes: bytes.length, id: undefined };
    const id = k.toString('latin1');
    this.#keep(id, bytes, record, pinned);
    return { bytes: bytes.length, id: this.#kept.has(id) ? id : undefined };
  }

  /**
   * prefetch, the record then pinned (see pin) as it is kept, before the cache is trimmed: kept
   * and then pinned, it was the one dropped when the records pinned by others were more than
   * KEPT_BYTES_MAX. Returns the id to unpin, undefined when none is kept.
   */
  async prefetchPinned(k: Buffer): Promise<string | undefined> {
    return this.wantsPrefetch(k) ? (await this.#decodeAndKeep(k, true))?.id : this.pin(k);
  }

  /**
   * Inside a write transaction that just stored `bytes` under `k` as the encoding of `record` (a
   * record moved between the objects and versions tables as its bytes): kept, so that a read of
   * it later in the transaction, or after, is no decode. Harmless if the transaction fails: a
   * lookup takes a kept record only while the stored bytes are these.
   */
  remember(k: Buffer, bytes: Buffer, record: ObjectRecord): void {
    if (bytes.length >= KEPT_RECORD_MIN_BYTES) this.#keep(k.toString('latin1'), bytes, record);
  }

  #keep(id: string, bytes: Buffer, record: ObjectRecord, pinned = false): void {
    this.#drop(id);
    if (record.parts === undefined) return;
    this.#kept.set(id, { bytes, record });
    this.#keptBytes += bytes.length;
    if (pinned) this.#hold(id, bytes.length);
    this.#trim();
  }

  /** Drops the least recently used records not pinned until at most KEPT_BYTES_MAX are kept (or all left are pinned). */
  #trim(): void {
    for (const [old] of this.#kept) {
      if (this.#keptBytes <= KEPT_BYTES_MAX) break;
      if (!this.#pins.has(old)) this.#drop(old);
    }
  }

  /**
   * Holds the record kept under `k` (if it is) until `unpin`: a delete's preparation, for the
   * records its commit will read. Else the preparation of the next write (lmdb-js runs a commit
   * once the one before it has landed, and the next preparation starts when this one asks),
   * or reads of other records of many parts meanwhile, pushed them out, and the commit decoded
   * them whole (4 DeleteObjects at once of 30 objects of 2,000 parts each: 60,500 parts in a
   * commit's turn). Returns the id to unpin, undefined when none is kept.
   */
  pin(k: Buffer): string | undefined {
    const id = k.toString('latin1');
    const kept = this.#kept.get(id);
    if (kept === undefined) return undefined;
    this.#hold(id, kept.bytes.length);
    return id;
  }

  #hold(id: string, bytes: number): void {
    const pin = this.#pins.get(id);
    if (pin !== undefined) pin.count++;
    else {
      this.#pins.set(id, { count: 1, bytes });
      this.#pinnedBytes += bytes;
    }
  }

  /** Releases pins (the write that held them committed, or failed). */
  unpin(ids: readonly string[]): void {
    for (const id of ids) {
      const pin = this.#pins.get(id);
      if (pin === undefined) continue;
      if (--pin.count > 0) continue;
      this.#pins.delete(id);
      this.#pinnedBytes -= pin.bytes;
    }
    this.#trim();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const wake of waiting) wake();
  }

  /**
   * Resolves once `bytes` more can be pinned within PINNED_BYTES_MAX, `own` of those pinned now
   * being the caller's: it waits only for others' pins, held by writes that asked for their
   * commits before it (preparations run one after another), which unpin when those land.
   */
  async room(bytes: number, own: number): Promise<void> {
    while (this.#pinnedBytes > own && this.#pinnedBytes + bytes > PINNED_BYTES_MAX) await new Promise<void>((wake) => this.#waiting.push(wake));
  }

  #drop(id: string): void {
    const kept = this.#kept.get(id);
    if (kept === undefined) return;
    this.#kept.delete(id);
    this.#keptBytes -= kept.bytes.length;
  }

  /** How many records are kept (tests). */
  get size(): number {
    return this.#kept.size;
  }
}
