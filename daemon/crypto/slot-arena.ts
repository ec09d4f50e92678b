// Recycled shared slots that batches travel in between the main thread and workers.
// Reuse is the point: a fresh 1 MiB buffer page-faults on first touch (perf-limits B2/B3).
// Slots are carved from page-aligned shared chunks, eight at a time, so the data writer can send
// a slot's region to disk with O_DIRECT (see storage/aligned.ts); plain SharedArrayBuffers (not
// page-aligned: buffered writes only) when the engine refuses more aligned memory.
import { CTRL_CANCEL, CTRL_WORDS, SLOT_CTRL_OFFSET, SLOT_INPUT_OFFSET, SLOT_OUTPUT_OFFSET, SLOT_REGION_SIZE, SLOT_SIZE } from '../../workers/protocol.js';
import { allocatePageAligned } from '../storage/aligned.js';

export interface Slot {
  readonly sab: SharedArrayBuffer;
  /** Where this slot starts in `sab`. */
  readonly base: number;
  /** Input region (plaintext to seal, or ciphertext to open). */
  readonly input: Buffer;
  /** Output region (ciphertext sealed, or plaintext opened). */
  readonly output: Buffer;
  readonly ctrl: Int32Array;
}

/** Slots per shared chunk (each chunk is one page-aligned memory; ~16 MiB). */
const SLOTS_PER_CHUNK = 8;

function carve(sab: SharedArrayBuffer, base: number): Slot {
  return {
    sab,
    base,
    input: Buffer.from(sab, base + SLOT_INPUT_OFFSET, SLOT_REGION_SIZE),
    output: Buffer.from(sab, base + SLOT_OUTPUT_OFFSET, SLOT_REGION_SIZE),
    ctrl: new Int32Array(sab, base + SLOT_CTRL_OFFSET, CTRL_WORDS),
  };
}

export class SlotArena {
  readonly #free: Slot[] = [];
  #allocated = 0;
  #aligned = true;

  acquire(): Slot {
    const slot = this.#free.pop();
    if (slot !== undefined) {
      Atomics.store(slot.ctrl, CTRL_CANCEL, 0);
      return slot;
    }
    const chunk = this.#aligned ? allocatePageAligned(SLOTS_PER_CHUNK * SLOT_SIZE) : undefined;
    if (chunk === undefined) {
      this.#aligned = false;
      this.#allocated++;
      return carve(new SharedArrayBuffer(SLOT_SIZE), 0);
    }
    for (let i = SLOTS_PER_CHUNK - 1; i >= 1; i--) this.#free.push(carve(chunk, i * SLOT_SIZE));
    this.#allocated += SLOTS_PER_CHUNK;
    return carve(chunk, 0);
  }

  /**
   * Only once no worker task can touch the slot any more. Slots of a shared chunk cannot be freed
   * one by one, so every slot returns to the free list: memory stays at the peak number in use.
   */
  release(slot: Slot): void {
    this.#free.push(slot);
  }

  /** Asks a worker that has not started on this slot's task to skip it. */
  static cancel(slot: Slot): void {
    Atomics.store(slot.ctrl, CTRL_CANCEL, 1);
  }

  get free(): number {
    return this.#free.length;
  }

  get allocated(): number {
    return this.#allocated;
  }
}

let inlineArena: SlotArena | undefined;

/** The arena of streams that run without a pool (everything on the main thread). */
export function sharedInlineArena(): SlotArena {
  return (inlineArena ??= new SlotArena());
}
