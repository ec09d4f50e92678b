// Object records as listings read them: every field but the data reference and the parts. An
// object of up to S3_INLINE_THRESHOLD keeps its bytes inside its record (`data.inline`), and a
// multipart object its parts; decoding those for every entry of a page made a page of 1,000
// inline objects of 64 KiB cost ~20 times one of empty objects (msgpackr copies each embedded
// buffer out of lmdb-js's shared read buffer). The stored format is unchanged: the record's
// msgpack map is walked, the two entries skipped by their length, and the rest decoded by the
// table's own decoder.

import type { ObjectRecord } from './records.js';

/**
 * An object record without its data reference and parts (ListObjects, ListObjectVersions). A
 * record of under WALKED_FROM bytes is decoded whole and keeps its few bytes of data at run time;
 * the type leaves them out all the same.
 */
export type ListedRecord = Omit<ObjectRecord, 'data' | 'parts'>;

/** What decodes a whole record: the msgpack decoder lmdb-js made for the table. */
export interface RecordDecoder {
  decode(bytes: Uint8Array): unknown;
}

/** Records of fewer bytes are decoded whole: walking them cost more than their data (a 0-byte object's page ~10 % more). */
const WALKED_FROM = 1024;

/** Top-level entries a listing never reads, as their msgpack keys (fixstr). */
const SKIPPED = [Buffer.from('\xa4data', 'latin1'), Buffer.from('\xa5parts', 'latin1')];

/** Whether the key of `length` bytes at `at` is one of SKIPPED. */
function skipped(b: Uint8Array, at: number, length: number): boolean {
  for (const s of SKIPPED) {
    if (s.length !== length) continue;
    let i = 0;
    while (i < length && b[at + i] === s[i]) i++;
    if (i === length) return true;
  }
  return false;
}

/**
 * The lmdb-js encoder of a read-only view of an object table (`encoder` of openDB): records
 * decoded without `data` and `parts`. lmdb-js hands it its shared read buffer (`needsStableBuffer`
 * unset), which the next read overwrites: nothing decoded refers to it (the table's decoder copies
 * embedded buffers, and the kept entries are copied out before it runs).
 */
export function listedRecordCodec(full: RecordDecoder): { decode(bytes: Uint8Array): ListedRecord; encode(): never } {
  let scratch = Buffer.allocUnsafe(4096);
  return {
    decode(bytes: Uint8Array): ListedRecord {
      // lmdb-js sets its shared buffer's `length` to the value's size (its own property).
      const src = bytes.subarray(0, bytes.length);
      // A small record decodes whole for less than the walk costs (an empty object's data is 10 bytes).
      if (src.length < WALKED_FROM) return full.decode(src) as ListedRecord;
      const kept = keptEntries(src);
      if (kept === undefined) return withoutData(full.decode(src) as ObjectRecord);
      if (kept.count === -1) return full.decode(src) as ListedRecord;
      // The kept entries under a map header of their count, in a buffer reused for every record.
      let size = 5;
      for (let i = 0; i < kept.runs.length; i += 2) size += kept.runs[i + 1]! - kept.runs[i]!;
      if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2));
      let at = mapHeader(scratch, kept.count);
      for (let i = 0; i < kept.runs.length; i += 2) {
        scratch.set(src.subarray(kept.runs[i], kept.runs[i + 1]), at);
        at += kept.runs[i + 1]! - kept.runs[i]!;
      }
      return full.decode(scratch.subarray(0, at)) as ListedRecord;
    },
    encode(): never {
      throw new Error('listed records are read-only');
    },
  };
}

function withoutData(rec: ObjectRecord): ListedRecord {
  if (rec === null || typeof rec !== 'object') return rec;
  const { data: _data, parts: _parts, ...rest } = rec;
  return rest;
}

/** Writes a msgpack map header of `count` entries at the start of `out`; its length. */
function mapHeader(out: Buffer, count: number): number {
  if (count < 16) {
    out[0] = 0x80 | count;
    return 1;
  }
  if (count < 0x10000) {
    out[0] = 0xde;
    out.writeUInt16BE(count, 1);
    return 3;
  }
  out[0] = 0xdf;
  out.writeUInt32BE(count, 1);
  return 5;
}

/**
 * The entries of a record's top-level map to keep, as [start, end) byte runs, and how many there
 * are; count -1 when none is skipped (decoded whole); undefined when the value is not a plain map
 * of string keys (a msgpackr record, which earlier versions may have written: decoded whole, then
 * its data dropped).
 */
function keptEntries(b: Uint8Array): { count: number; runs: number[] } | undefined {
  let n: number;
  let at: number;
  const h = b[0];
  if (h === undefined) return undefined;
  if ((h & 0xf0) === 0x80) [n, at] = [h & 0x0f, 1];
  else if (h === 0xde && b.length >= 3) [n, at] = [be(b, 1, 2), 3];
  else if (h === 0xdf && b.length >= 5) [n, at] = [be(b, 1, 4), 5];
  else return undefined;
  const runs: number[] = [];
  let count = 0;
  let runStart = at;
  for (let i = 0; i < n; i++) {
    const entry = at;
    const k = b[at];
    if (k === undefined || !isStr(k)) return undefined;
    const valueAt = skip(b, at);
    at = skip(b, valueAt);
    if (at > b.length) return undefined;
    if (skipped(b, entry, valueAt - entry)) {
      if (entry > runStart) runs.push(runStart, entry);
      runStart = at;
    } else count++;
  }
  // A walk that does not end at the value's end misread it: decoded whole instead.
  if (at !== b.length) return undefined;
  if (count === n) return { count: -1, runs };
  if (at > runStart) runs.push(runStart, at);
  return { count, runs };
}

export function isStr(h: number): boolean {
  return (h & 0xe0) === 0xa0 || h === 0xd9 || h === 0xda || h === 0xdb;
}

export function be(b: Uint8Array, at: number, bytes: number): number {
  let v = 0;
  for (let i = 0; i < bytes; i++) v = v * 256 + (b[at + i] ?? 0);
  return v;
}

/** The offset just past the msgpack value at `at` (past the end of `b` when it is cut short). */
export function skip(b: Uint8Array, at: number): number {
  const h = b[at];
  if (h === undefined) return b.length + 1;
  if (h < 0x80 || h >= 0xe0 || (h >= 0xc0 && h <= 0xc3)) return at + 1; // fixint, nil, bool
  if (h <= 0x8f) return skipMany(b, at + 1, (h & 0x0f) * 2); // fixmap
  if (h <= 0x9f) return skipMany(b, at + 1, h & 0x0f); // fixarray
  if (h <= 0xbf) return at + 1 + (h & 0x1f); // fixstr
  switch (h) {
    case 0xc4: case 0xd9: return at + 2 + be(b, at + 1, 1); // bin8, str8
    case 0xc5: case 0xda: return at + 3 + be(b, at + 1, 2); // bin16, str16
    case 0xc6: case 0xdb: return at + 5 + be(b, at + 1, 4); // bin32, str32
    case 0xc7: return at + 3 + be(b, at + 1, 1); // ext8
    case 0xc8: return at + 4 + be(b, at + 1, 2); // ext16
    case 0xc9: return at + 6 + be(b, at + 1, 4); // ext32
    case 0xca: return at + 5; // float32
    case 0xcb: return at + 9; // float64
    case 0xcc: case 0xd0: return at + 2;
    case 0xcd: case 0xd1: return at + 3;
    case 0xce: case 0xd2: return at + 5;
    case 0xcf: case 0xd3: return at + 9;
    case 0xd4: return at + 3; // fixext1
    case 0xd5: return at + 4;
    case 0xd6: return at + 6;
    case 0xd7: return at + 10;
    case 0xd8: return at + 18;
    case 0xdc: return skipMany(b, at + 3, be(b, at + 1, 2)); // array16
    case 0xdd: return skipMany(b, at + 5, be(b, at + 1, 4)); // array32
    case 0xde: return skipMany(b, at + 3, be(b, at + 1, 2) * 2); // map16
    case 0xdf: return skipMany(b, at + 5, be(b, at + 1, 4) * 2); // map32
    default: return b.length + 1; // 0xc1, never used
  }
}

function skipMany(b: Uint8Array, at: number, values: number): number {
  for (let i = 0; i < values && at <= b.length; i++) at = skip(b, at);
  return at;
}
