// Recycled SharedArrayBuffer slots that batches travel in between the main thread and workers.
// Reuse is the point: a fresh 1 MiB buffer page-faults on first touch (perf-limits B2/B3).
import {
  CTRL_CANCEL,
  CTRL_WORDS,
  SLOT_INPUT_OFFSET,
  SLOT_OUTPUT_OFFSET,
  SLOT_REGION_SIZE,
  SLOT_SIZE,
} from '../../workers/protocol.js';

export interface Slot {
  readonly sab: SharedArrayBuffer;
  /** Input region (plaintext to seal, or ciphertext to open). */
  readonly input: Buffer;
  /** Output region (ciphertext sealed, or plaintext opened). */
  readonly output: Buffer;
  readonly ctrl: Int32Array;
}

export class SlotArena {
  readonly #free: Slot[] = [];
  readonly #maxFree: number;
  #allocated = 0;

  constructor(maxFree = 16) {
    this.#maxFree = maxFree;
  }

  acquire(): Slot {
    const slot = this.#free.pop();
    if (slot !== undefined) {
      Atomics.store(slot.ctrl, CTRL_CANCEL, 0);
      return slot;
    }
    this.#allocated++;
    const sab = new SharedArrayBuffer(SLOT_SIZE);
    return {
      sab,
      input: Buffer.from(sab, SLOT_INPUT_OFFSET, SLOT_REGION_SIZE),
      output: Buffer.from(sab, SLOT_OUTPUT_OFFSET, SLOT_REGION_SIZE),
      ctrl: new Int32Array(sab, 0, CTRL_WORDS),
    };
  }

  /** Only once no worker task can touch the slot any more. */
  release(slot: Slot): void {
    if (this.#free.length < this.#maxFree) this.#free.push(slot);
    else this.#allocated--;
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
  return (inlineArena ??= new SlotArena(4));
}
