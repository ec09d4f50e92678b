// Current object records of many parts, kept decoded beside the bytes they were decoded from.
//
// A completed upload of 10,000 parts is a record of ~1.6 MB, and decoding it took ~10-20 ms of the
// event loop on every HEAD and GET of the object: a transfer manager reading it in ranges, or a
// client reading it part by part (partNumber), spent that once per request, quadratic in the parts
// over the whole read. A lookup reads the stored bytes (no decode) and compares them with those a
// kept record was decoded from (a memcmp, ~0.1 ms for 1.6 MB): equal, the kept record is the
// stored one; else it is decoded again and kept in its place. Records are never changed in place
// (their fields are readonly), so one decoded record can serve every request.
import type { Database } from 'lmdb';
import type { ObjectRecord } from './records.js';

/** Records stored in at least this many bytes are kept (some 400 parts and more). */
export const KEPT_RECORD_MIN_BYTES = 64 * 1024;
/**
 * At most this many stored bytes kept in all. A decoded record takes ~3 times its stored bytes
 * (a 10,000-part record: 1.6 MB stored, 5 MB decoded): ~35 MB of the heap at most.
 */
const KEPT_BYTES_MAX = 8 * 1024 * 1024;

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
    this.#drop(id);
    if (record.parts !== undefined) {
      this.#kept.set(id, { bytes, record });
      this.#keptBytes += bytes.length;
      for (const [old] of this.#kept) {
        if (this.#keptBytes <= KEPT_BYTES_MAX) break;
        this.#drop(old);
      }
    }
    return record;
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
