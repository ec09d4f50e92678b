// The set of data file ids the start-up scan collects from every record (storage/orphan-scan.ts)
// before it looks for files no record references. A Set of the ids as strings takes ~70 MB per
// million (measured, Node 20): a store of 30 million objects would pass a 2 GB heap during a
// restart after a crash, and the restart would fail the same way each time. This set keeps the
// first 64 bits of each id (ids are 128 random bits as 32 hex digits, storage/files.ts) in an
// open-addressing table: 8 bytes a slot at a load of at most one half, 16 to 32 bytes an id.
//
// Two ids sharing their first 64 bits are one entry: has() then answers true for an id never
// added, which keeps a leftover file (the safe direction: a leftover takes space, nothing else),
// with odds of about n·m/2⁶⁴ over a scan (n ids, m leftovers: ~5e-6 for ten million each). It
// never answers false for an id that was added. Ids of another shape are kept whole.

import { isDataFileId } from './files.js';

const FIRST_CAPACITY = 1024;

export class FileIdSet {
  /** Slot i holds the id prefix's high word at 2i and low word at 2i + 1; 0, 0 is an empty slot. */
  #slots = new Uint32Array(2 * FIRST_CAPACITY);
  #mask = FIRST_CAPACITY - 1;
  #used = 0;
  /** An id whose first 64 bits are all zero (the empty slot's pattern). */
  #zero = false;
  readonly #other = new Set<string>();

  /** Distinct entries: ids, but two ids sharing their first 64 bits count once. */
  get size(): number {
    return this.#used + (this.#zero ? 1 : 0) + this.#other.size;
  }

  /** Bytes of the table (the ids of another shape not counted). */
  get tableBytes(): number {
    return this.#slots.byteLength;
  }

  add(id: string): this {
    if (!isDataFileId(id)) {
      this.#other.add(id);
      return this;
    }
    const hi = parseInt(id.slice(0, 8), 16);
    const lo = parseInt(id.slice(8, 16), 16);
    if (hi === 0 && lo === 0) {
      this.#zero = true;
      return this;
    }
    if (2 * (this.#used + 1) > this.#mask + 1) this.#grow();
    if (this.#put(this.#slots, this.#mask, hi, lo)) this.#used++;
    return this;
  }

  has(id: string): boolean {
    if (!isDataFileId(id)) return this.#other.has(id);
    const hi = parseInt(id.slice(0, 8), 16);
    const lo = parseInt(id.slice(8, 16), 16);
    if (hi === 0 && lo === 0) return this.#zero;
    const slots = this.#slots;
    for (let i = slotOf(hi, lo, this.#mask); ; i = (i + 1) & this.#mask) {
      const h = slots[2 * i]!;
      const l = slots[2 * i + 1]!;
      if (h === 0 && l === 0) return false;
      if (h === hi && l === lo) return true;
    }
  }

  /** Puts an entry into `slots` (linear probing); false when it was there. */
  #put(slots: Uint32Array, mask: number, hi: number, lo: number): boolean {
    for (let i = slotOf(hi, lo, mask); ; i = (i + 1) & mask) {
      const h = slots[2 * i]!;
      const l = slots[2 * i + 1]!;
      if (h === 0 && l === 0) {
        slots[2 * i] = hi;
        slots[2 * i + 1] = lo;
        return true;
      }
      if (h === hi && l === lo) return false;
    }
  }

  #grow(): void {
    const old = this.#slots;
    const capacity = 2 * (this.#mask + 1);
    const slots = new Uint32Array(2 * capacity);
    const mask = capacity - 1;
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0 || old[i + 1] !== 0) this.#put(slots, mask, old[i]!, old[i + 1]!);
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}

/** The first slot to probe: the prefix's words mixed (ids are random, but need not be). */
function slotOf(hi: number, lo: number, mask: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 16;
  return (h >>> 0) & mask;
}
