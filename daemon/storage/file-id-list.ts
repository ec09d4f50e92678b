// The data files `s3d backup` copies (backup.ts): every id its metadata snapshot references, each
// once, in order, with the length its record gives the file (the sealed DARE stream's), which the
// backup checks each copy against. A Set of the ids as strings, then a sorted array of them, kept
// 56 bytes an id on the V8 heap (more while both were held; measured, Node 20): a backup of a
// store of some tens of millions of objects would pass Node's heap limit and fail the same way
// each time. This list keeps each id whole as its 16 bytes in a buffer outside the V8 heap (exact,
// unlike the start-up scan's storage/file-id-set.ts, which may merge two ids: a backup must copy
// both), its length in the 8 bytes after it, sorts them with a radix sort into a second buffer of
// the same size, and drops duplicates: 24 to 36 bytes an id, twice that while sorting.
//
// Sorted, the ids come directory by directory (a data file's directory is its first two hex
// digits, storage/files.ts), and the copy's order does not depend on the records'.

import { Buffer } from 'node:buffer';
import { isDataFileId } from './files.js';

const ID_BYTES = 16;
/** The id, then its length as a float64 (exact below 2^53). */
const ENTRY_BYTES = ID_BYTES + 8;
const WORDS = ENTRY_BYTES / 4;
const FIRST_CAPACITY = 1024;
/** 16-bit digits: 8 passes over 16-byte ids, 65,536 counters each. */
const DIGITS = ID_BYTES / 2;
const RADIX = 1 << 16;

/** storedAt(): the id was added without a length (a file of the deletion queue). */
export const UNKNOWN_LENGTH = -1;
/** storedAt(): the id was added twice with different lengths (records that disagree: damaged metadata). */
export const CONFLICTING_LENGTHS = -2;

export class FileIdList {
  #bytes = Buffer.alloc(ENTRY_BYTES * FIRST_CAPACITY);
  #length = 0;
  #sorted = true;

  /** Ids held (each once after sortUnique()). */
  get length(): number {
    return this.#length;
  }

  /** Bytes of the buffer that holds the ids. */
  get bufferBytes(): number {
    return this.#bytes.byteLength;
  }

  /**
   * Adds a data file id (32 lowercase hex digits, storage/files.ts; any other string is refused,
   * as storage/files.ts refuses it) with the length its record gives the file, when known.
   */
  add(id: string, stored?: number): this {
    if (!isDataFileId(id)) throw new Error(`invalid data file id ${JSON.stringify(id)}`);
    if (stored !== undefined && !(Number.isSafeInteger(stored) && stored >= 0)) throw new Error(`invalid stored length ${stored} for data file ${id}`);
    if (ENTRY_BYTES * (this.#length + 1) > this.#bytes.byteLength) {
      // 1.5×: the old and the new buffer are held together while copying.
      const bigger = Buffer.alloc(ENTRY_BYTES * Math.ceil(1.5 * (this.#bytes.byteLength / ENTRY_BYTES)));
      this.#bytes.copy(bigger, 0, 0, ENTRY_BYTES * this.#length);
      this.#bytes = bigger;
    }
    const at = ENTRY_BYTES * this.#length;
    this.#bytes.write(id, at, ID_BYTES, 'hex');
    this.#bytes.writeDoubleLE(stored ?? UNKNOWN_LENGTH, at + ID_BYTES);
    this.#length++;
    this.#sorted = false;
    return this;
  }

  /** The id at `i` (0 ≤ i < length), as 32 hex digits. */
  at(i: number): string {
    this.#check(i);
    return this.#bytes.toString('hex', ENTRY_BYTES * i, ENTRY_BYTES * i + ID_BYTES);
  }

  /** The length the records give the file at `i`; UNKNOWN_LENGTH or CONFLICTING_LENGTHS. */
  storedAt(i: number): number {
    this.#check(i);
    return this.#bytes.readDoubleLE(ENTRY_BYTES * i + ID_BYTES);
  }

  #check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.#length) throw new RangeError(`no id at ${i} (${this.#length} held)`);
  }

  /**
   * Sorts the ids (as their hex strings sort) and keeps each once, with its length: one known
   * length wins over none, two that differ make CONFLICTING_LENGTHS.
   */
  sortUnique(): this {
    if (this.#sorted) return this;
    const n = this.#length;
    let src = this.#bytes;
    let dst = Buffer.alloc(ENTRY_BYTES * Math.max(n, 1));
    const counts = new Uint32Array(DIGITS * RADIX);
    for (let i = 0; i < n; i++) {
      const at = ENTRY_BYTES * i;
      for (let d = 0; d < DIGITS; d++) counts[d * RADIX + ((src[at + 2 * d]! << 8) | src[at + 2 * d + 1]!)]!++;
    }
    // Least significant digit first (bytes 14 and 15); each pass is stable.
    for (let d = DIGITS - 1; d >= 0; d--) {
      const base = d * RADIX;
      // Every id has this digit: the pass would move nothing.
      if (n === 0 || counts[base + ((src[2 * d]! << 8) | src[2 * d + 1]!)] === n) continue;
      let sum = 0;
      for (let v = 0; v < RADIX; v++) {
        const c = counts[base + v]!;
        counts[base + v] = sum;
        sum += c;
      }
      // Moved as six 32-bit words (the digits are read from the bytes, in their order).
      const from = new Uint32Array(src.buffer, src.byteOffset, WORDS * n);
      const to = new Uint32Array(dst.buffer, dst.byteOffset, WORDS * n);
      for (let i = 0; i < n; i++) {
        const at = ENTRY_BYTES * i;
        const j = WORDS * counts[base + ((src[at + 2 * d]! << 8) | src[at + 2 * d + 1]!)]!++;
        const w = WORDS * i;
        for (let k = 0; k < WORDS; k++) to[j + k] = from[w + k]!;
      }
      [src, dst] = [dst, src];
    }
    // Equal ids are neighbours now.
    const words = new Uint32Array(src.buffer, src.byteOffset, WORDS * n);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const w = WORDS * i;
      if (kept > 0) {
        const k = WORDS * (kept - 1);
        if (words[k] === words[w] && words[k + 1] === words[w + 1] && words[k + 2] === words[w + 2] && words[k + 3] === words[w + 3]) {
          const keptAt = ENTRY_BYTES * (kept - 1) + ID_BYTES;
          const was = src.readDoubleLE(keptAt);
          const also = src.readDoubleLE(ENTRY_BYTES * i + ID_BYTES);
          if (was === UNKNOWN_LENGTH || (was !== also && also !== UNKNOWN_LENGTH)) src.writeDoubleLE(was === UNKNOWN_LENGTH ? also : CONFLICTING_LENGTHS, keptAt);
          continue;
        }
      }
      if (kept !== i) words.copyWithin(WORDS * kept, w, w + WORDS);
      kept++;
    }
    // The other buffer is dropped: 24 bytes an id again.
    this.#bytes = src;
    this.#length = kept;
    this.#sorted = true;
    return this;
  }
}
