// The data files `s3d backup` copies (backup.ts): every id its metadata snapshot references, each
// once, in order. A Set of the ids as strings, then a sorted array of them, kept 56 bytes an id on
// the V8 heap (more while both were held; measured, Node 20): a backup of a store of some tens of
// millions of objects would pass Node's heap limit and fail the same way each time. This list
// keeps each id whole as its 16 bytes in a buffer outside the V8 heap (exact, unlike the start-up
// scan's storage/file-id-set.ts, which may merge two ids: a backup must copy both), sorts them with
// a radix sort into a second buffer of the same size, and drops duplicates: 16 to 24 bytes an id,
// twice that while sorting.
//
// Sorted, the ids come directory by directory (a data file's directory is its first two hex
// digits, storage/files.ts), and the copy's order does not depend on the records'.

import { Buffer } from 'node:buffer';
import { isDataFileId } from './files.js';

const ID_BYTES = 16;
const FIRST_CAPACITY = 1024;
/** 16-bit digits: 8 passes over 16-byte ids, 65,536 counters each. */
const DIGITS = ID_BYTES / 2;
const RADIX = 1 << 16;

export class FileIdList {
  #bytes = Buffer.alloc(ID_BYTES * FIRST_CAPACITY);
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

  /** Adds a data file id (32 lowercase hex digits, storage/files.ts); any other string is refused, as storage/files.ts refuses it. */
  add(id: string): this {
    if (!isDataFileId(id)) throw new Error(`invalid data file id ${JSON.stringify(id)}`);
    if (ID_BYTES * (this.#length + 1) > this.#bytes.byteLength) {
      // 1.5×: the old and the new buffer are held together while copying.
      const bigger = Buffer.alloc(ID_BYTES * Math.ceil(1.5 * (this.#bytes.byteLength / ID_BYTES)));
      this.#bytes.copy(bigger, 0, 0, ID_BYTES * this.#length);
      this.#bytes = bigger;
    }
    this.#bytes.write(id, ID_BYTES * this.#length, ID_BYTES, 'hex');
    this.#length++;
    this.#sorted = false;
    return this;
  }

  /** The id at `i` (0 ≤ i < length), as 32 hex digits. */
  at(i: number): string {
    if (!Number.isInteger(i) || i < 0 || i >= this.#length) throw new RangeError(`no id at ${i} (${this.#length} held)`);
    return this.#bytes.toString('hex', ID_BYTES * i, ID_BYTES * (i + 1));
  }

  /** Sorts the ids (as their hex strings sort) and keeps each once. */
  sortUnique(): this {
    if (this.#sorted) return this;
    const n = this.#length;
    let src = this.#bytes;
    let dst = Buffer.alloc(ID_BYTES * Math.max(n, 1));
    const counts = new Uint32Array(DIGITS * RADIX);
    for (let i = 0; i < n; i++) {
      const at = ID_BYTES * i;
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
      // Moved as four 32-bit words (the digits are read from the bytes, in their order).
      const from = new Uint32Array(src.buffer, src.byteOffset, (ID_BYTES / 4) * n);
      const to = new Uint32Array(dst.buffer, dst.byteOffset, (ID_BYTES / 4) * n);
      for (let i = 0; i < n; i++) {
        const at = ID_BYTES * i;
        const j = (ID_BYTES / 4) * counts[base + ((src[at + 2 * d]! << 8) | src[at + 2 * d + 1]!)]!++;
        const w = (ID_BYTES / 4) * i;
        to[j] = from[w]!;
        to[j + 1] = from[w + 1]!;
        to[j + 2] = from[w + 2]!;
        to[j + 3] = from[w + 3]!;
      }
      [src, dst] = [dst, src];
    }
    // Equal ids are neighbours now.
    const words = new Uint32Array(src.buffer, src.byteOffset, (ID_BYTES / 4) * n);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const w = 4 * i;
      if (kept > 0) {
        const k = 4 * (kept - 1);
        if (words[k] === words[w] && words[k + 1] === words[w + 1] && words[k + 2] === words[w + 2] && words[k + 3] === words[w + 3]) continue;
      }
      if (kept !== i) words.copyWithin(4 * kept, w, w + 4);
      kept++;
    }
    // The other buffer is dropped: 16 bytes an id again.
    this.#bytes = src;
    this.#length = kept;
    this.#sorted = true;
    return this;
  }
}
