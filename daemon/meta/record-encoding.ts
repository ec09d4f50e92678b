// An object record of many parts encoded before the write transaction that stores it, a slice of
// its parts to a turn of the event loop (a CompleteMultipartUpload's record: store-multipart.ts).
// Encoded inside the transaction by lmdb-js's put, 10,000 parts held the event loop ~30 ms in one
// stretch (bench/mpu-stall.ts --profile). The bytes are the ones the table's encoder writes for the
// record (msgpackr, useRecords false: a map16 of its own enumerable keys in order, each key and
// value packed as they come, an array's elements one after another), assembled from pieces that
// same encoder packed: the format on disk is unchanged (test/unit/daemon/meta/record-encoding.test.ts
// holds the two byte for byte). Stored with lmdb-js's asBinary, which writes them as they are.
// And the other way (decodeAhead): a stored record of many parts decoded a slice of its parts to a
// turn, before the transaction that deletes or replaces it (record-cache.ts prefetch).

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ObjectRecord } from './records.js';
import { be, isStr, skip } from './listed-record.js';

/** The table's msgpack encoder (lmdb-js's `db.encoder`). */
export interface ValueEncoder {
  encode(value: unknown): Uint8Array;
}

/** Parts packed between two turns of the event loop (~1.5 ms for 500). */
export const ENCODE_PARTS_PER_TURN = 500;

/** The keys install (store-key-writes.ts stamped) adds at the end of a record, in that order. */
const STAMP_KEYS = ['vs', 'versionId'] as const;

/** Bytes of an encoded array or map after its header (msgpack fixarray/array16/array32, fixmap/map16/map32). */
function afterHeader(b: Uint8Array): Uint8Array {
  const t = b[0]!;
  if ((t & 0xf0) === 0x90 || (t & 0xf0) === 0x80) return b.subarray(1);
  if (t === 0xdc || t === 0xde) return b.subarray(3);
  if (t === 0xdd || t === 0xdf) return b.subarray(5);
  throw new Error(`record-encoding: not an array or map (0x${t.toString(16)})`);
}

/** A msgpack array header for `n` elements, as msgpackr writes it. */
function arrayHeader(n: number): Buffer {
  if (n < 0x10) return Buffer.from([0x90 | n]);
  if (n < 0x10000) return Buffer.from([0xdc, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xdd;
  b.writeUInt32BE(n, 1);
  return b;
}

/** The map header msgpackr writes for a plain object of `n` keys (always map16: it sizes the map afterwards). */
function mapHeader(n: number): Buffer {
  if (n > 0xffff) throw new Error('record-encoding: too many keys');
  return Buffer.from([0xde, n >> 8, n & 0xff]);
}

/** One key and its value, as packed inside a map (a copy: the encoder reuses its buffer). */
function entry(enc: ValueEncoder, key: string, value: unknown): Buffer {
  return Buffer.from(afterHeader(enc.encode([key, value])));
}

/** `record` encoded ahead of its transaction (encodeAhead). */
export class EncodedRecord {
  readonly #enc: ValueEncoder;
  readonly #keys: string[];
  readonly #entries: Buffer;

  constructor(enc: ValueEncoder, readonly record: ObjectRecord, keys: string[], entries: Buffer) {
    this.#enc = enc;
    this.#keys = keys;
    this.#entries = entries;
  }

  /**
   * The bytes of `stored` if it is this record, or this record with its version stamp added by
   * install (`vs`, and `versionId` under Enabled, after every other key, the other values the same
   * ones); undefined for any other record (the transaction changed its parts: it is encoded there).
   */
  bytesOf(stored: ObjectRecord): Buffer | undefined {
    if (stored === this.record) return Buffer.concat([mapHeader(this.#keys.length), this.#entries]);
    const keys = Object.keys(stored);
    const n = this.#keys.length;
    if (keys.length <= n || keys.length > n + STAMP_KEYS.length) return undefined;
    const r = this.record as unknown as Record<string, unknown>;
    const s = stored as unknown as Record<string, unknown>;
    for (let i = 0; i < n; i++) {
      const k = this.#keys[i]!;
      if (keys[i] !== k || s[k] !== r[k]) return undefined;
    }
    const extra: Buffer[] = [];
    for (let i = n; i < keys.length; i++) {
      if (keys[i] !== STAMP_KEYS[i - n]) return undefined;
      extra.push(entry(this.#enc, keys[i]!, s[keys[i]!]));
    }
    return Buffer.concat([mapHeader(keys.length), this.#entries, ...extra]);
  }
}

/** Encoders whose output the assembly was checked against (selfCheck): the answer for each. */
const checked = new WeakMap<ValueEncoder, boolean>();

/**
 * Whether assembling pieces gives `enc`'s own bytes: a record of every kind of value a completion
 * writes, its parts in slices, bare and with the version stamp. msgpackr options the objects table
 * does not use today (structuredClone, bundleStrings, records) write other bytes, some of them
 * unreadable when taken apart; an encoder that fails this is left to encode in the transaction.
 */
async function selfCheck(enc: ValueEncoder): Promise<boolean> {
  // One value in two slices: an encoder that writes a repeated object as a reference (structuredClone) writes other bytes.
  const shared = { iv: Buffer.alloc(4, 9) };
  const parts = [1, 2, 3].map((n) => ({ v: 1, n, size: n, stored: n + 32, etag: `e${n}`, data: { file: `f${n}` }, mtime: n, sealedChecksums: n === 2 ? { iv: Buffer.alloc(4, n) } : shared }));
  const sample = {
    v: 1, size: 6, etag: 'e-3', mtime: 1.5, headers: { 'content-type': 'a/b' }, userMeta: { 'x-amz-meta-1': 'ü' }, stored: 102,
    parts, uploadId: 'u', sse: { kind: 'SSE-S3', sealedKey: new Uint8Array(Buffer.alloc(8, 7).buffer, 2, 4) }, tags: [['k', 'v']],
  } as unknown as ObjectRecord;
  const stamped = { ...sample, vs: 2 ** 40 + 3, versionId: 'v' } as unknown as ObjectRecord;
  try {
    const ahead = await assemble(enc, sample, 2);
    const same = (r: ObjectRecord): boolean => {
      const mine = ahead.bytesOf(r);
      return mine !== undefined && Buffer.compare(mine, Buffer.from(enc.encode(r))) === 0;
    };
    return same(sample) && same(stamped);
  } catch {
    return false;
  }
}

/**
 * `record` encoded ahead of its transaction (assemble), or undefined when `enc` writes bytes the
 * assembly does not reproduce (selfCheck, once per encoder): the transaction encodes it then.
 */
export async function encodeAhead(enc: ValueEncoder, record: ObjectRecord, perTurn = ENCODE_PARTS_PER_TURN): Promise<EncodedRecord | undefined> {
  let ok = checked.get(enc);
  if (ok === undefined) {
    ok = await selfCheck(enc);
    checked.set(enc, ok);
  }
  return ok ? assemble(enc, record, perTurn) : undefined;
}

/**
 * `record` packed by `enc`, its parts `perTurn` to a turn of the event loop. The record must not
 * change meanwhile, nor afterwards: bytesOf compares values, not their contents. A record with a
 * version stamp already (`vs`, `versionId`) is not one a completion makes: its keys are taken as
 * they are, and bytesOf knows it only as itself.
 */
async function assemble(enc: ValueEncoder, record: ObjectRecord, perTurn: number): Promise<EncodedRecord> {
  const keys = Object.keys(record);
  const pieces: Buffer[] = [];
  const r = record as unknown as Record<string, unknown>;
  for (const k of keys) {
    const v = r[k];
    if (k !== 'parts' || !Array.isArray(v)) {
      pieces.push(entry(enc, k, v));
      continue;
    }
    pieces.push(Buffer.from(enc.encode(k)), arrayHeader(v.length));
    for (let i = 0; i < v.length; i += perTurn) {
      // The first slice too: the completion's own work before it (its ETag, its checksum) is a stretch already.
      if (v.length > perTurn) await nextTurn();
      pieces.push(Buffer.from(afterHeader(enc.encode(v.slice(i, i + perTurn)))));
    }
  }
  // Object.keys and msgpackr's for-in over own properties agree for a plain record (no integer-like keys).
  return new EncodedRecord(enc, record, keys, Buffer.concat(pieces));
}

/** The table's msgpack decoder (lmdb-js's `db.decoder`). */
export interface ValueDecoder {
  decode(bytes: Uint8Array): unknown;
}

/** Parts decoded between two turns of the event loop (10,000 in one decode: ~15-40 ms). */
export const DECODE_PARTS_PER_TURN = 500;

/** The element count and first element's offset of the msgpack array at `at`, or undefined when none is there. */
function arrayAt(b: Uint8Array, at: number): { n: number; first: number } | undefined {
  const h = b[at];
  if (h === undefined) return undefined;
  if ((h & 0xf0) === 0x90) return { n: h & 0x0f, first: at + 1 };
  if (h === 0xdc) return { n: be(b, at + 1, 2), first: at + 3 };
  if (h === 0xdd) return { n: be(b, at + 1, 4), first: at + 5 };
  return undefined;
}

/** The entry count and first key's offset of the msgpack map at `at`, or undefined when none is there. */
function mapAt(b: Uint8Array, at: number): { n: number; first: number } | undefined {
  const h = b[at];
  if (h === undefined) return undefined;
  if ((h & 0xf0) === 0x80) return { n: h & 0x0f, first: at + 1 };
  if (h === 0xde) return { n: be(b, at + 1, 2), first: at + 3 };
  if (h === 0xdf) return { n: be(b, at + 1, 4), first: at + 5 };
  return undefined;
}

/** `parts` as msgpack writes the key (a fixstr of 5 bytes). */
const PARTS_KEY = Buffer.from([0xa5, ...Buffer.from('parts')]);

/**
 * Where the value of `bytes`' `parts` key starts (a stored object record: a plain map of string
 * keys, walked, the values skipped, not decoded: a few µs), -1 when the map has no such key,
 * undefined for a record the walk cannot read (as decodeAhead cannot).
 */
function partsValueAt(bytes: Uint8Array): number | undefined {
  const map = mapAt(bytes, 0);
  if (map === undefined) return undefined;
  let at = map.first;
  for (let i = 0; i < map.n; i++) {
    if (bytes[at] === undefined || !isStr(bytes[at]!)) return undefined;
    const valueAt = skip(bytes, at);
    if (valueAt - at === PARTS_KEY.length && PARTS_KEY.equals(bytes.subarray(at, valueAt))) return valueAt;
    at = skip(bytes, valueAt);
    if (at > bytes.length) return undefined;
  }
  return at === bytes.length ? -1 : undefined;
}

/**
 * Whether `bytes` (a stored object record) surely holds no parts: walked to its end, no `parts`
 * among its keys. An object stored inline (up to 256 KiB of data in its record) is such a record:
 * the record caches keep none (record-cache.ts), and decoding it is a copy. False for any record
 * the walk cannot read, as decodeAhead cannot.
 */
export function surelyNoParts(bytes: Uint8Array): boolean {
  return partsValueAt(bytes) === -1;
}

/**
 * How many parts `bytes` (a stored object record) holds, read from its `parts` array's header
 * (the parts themselves not walked): 0 for a record without parts; undefined for one the walk
 * cannot read (as decodeAhead). A delete commit counts with it the files it will release
 * (store-deletes.ts commitEnd), a file a part.
 */
export function partsCount(bytes: Uint8Array): number | undefined {
  const at = partsValueAt(bytes);
  if (at === undefined) return undefined;
  return at === -1 ? 0 : arrayAt(bytes, at)?.n;
}

/**
 * `bytes` (a stored object record) decoded by `dec` as `dec.decode(bytes)` decodes it, the same
 * keys in the same order, its parts `perTurn` to a turn of the event loop: each slice walked to
 * its end and decoded as an array of its own, the other entries as a map without the parts.
 * Undefined when the bytes are no plain map of string keys the walk reads to their end (a
 * msgpackr record an earlier version wrote): the caller decodes them whole.
 */
export async function decodeAhead(dec: ValueDecoder, bytes: Buffer, perTurn = DECODE_PARTS_PER_TURN): Promise<ObjectRecord | undefined> {
  const map = mapAt(bytes, 0);
  if (map === undefined) return undefined;
  const { n } = map;
  let at = map.first;
  const keys: string[] = [];
  const others: Buffer[] = [];
  let parts: { n: number; first: number } | undefined;
  for (let i = 0; i < n; i++) {
    const entry = at;
    if (bytes[at] === undefined || !isStr(bytes[at]!)) return undefined;
    const valueAt = skip(bytes, at);
    at = skip(bytes, valueAt);
    if (at > bytes.length) return undefined;
    const key = dec.decode(bytes.subarray(entry, valueAt)) as string;
    keys.push(key);
    if (key === 'parts' && (parts = arrayAt(bytes, valueAt)) !== undefined) continue;
    others.push(bytes.subarray(entry, at));
  }
  if (at !== bytes.length || parts === undefined) return undefined;
  const rest = dec.decode(Buffer.concat([mapHeader(keys.length - 1), ...others])) as Record<string, unknown>;
  const decoded: unknown[] = [];
  for (let i = 0, p = parts.first; i < parts.n; i += perTurn) {
    await nextTurn();
    const count = Math.min(perTurn, parts.n - i);
    const from = p;
    for (let j = 0; j < count; j++) p = skip(bytes, p);
    if (p > bytes.length) return undefined;
    for (const part of dec.decode(Buffer.concat([arrayHeader(count), bytes.subarray(from, p)])) as unknown[]) decoded.push(part);
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = k === 'parts' ? decoded : rest[k];
  return out as unknown as ObjectRecord;
}
