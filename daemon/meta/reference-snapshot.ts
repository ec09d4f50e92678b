// The data files a snapshot of the metadata references, read a slice at a time: the start-up scan
// for crash leftovers (storage/orphan-scan.ts) reads it while the daemon serves. MetaStore makes
// it (referenceSnapshot) from one LMDB read transaction.

/** The data files a snapshot of the records references (MetaStore.referenceSnapshot). */
export class ReferenceSnapshot {
  /** Records read so far. */
  records = 0;
  readonly #records: Generator<string[]>;
  readonly #release: () => void;
  readonly #also: readonly string[];
  #released = false;

  /** `also`: files that count as referenced besides those of the records (the deletion queue's). */
  constructor(records: Generator<string[]>, release: () => void, also: readonly string[] = []) {
    this.#records = records;
    this.#release = release;
    this.#also = also;
  }

  /**
   * Collects the referenced file ids into `out` (a Set, or the start-up scan's compact
   * storage/file-id-set.ts), giving the event loop back every `sliceMs` so requests are served
   * meanwhile (a large store takes seconds: ~8 µs a record, small objects' data included).
   * Undefined when `stopped()` said so at one of those breaks.
   */
  async files<S extends { add(id: string): unknown }>(out: S, stopped: () => boolean, sliceMs = 1): Promise<S | undefined> {
    if (this.#released) throw new Error('the reference snapshot was released');
    for (const f of this.#also) out.add(f);
    let since = performance.now();
    for (const files of this.#records) {
      for (const f of files) out.add(f);
      if ((++this.records & 31) === 0 && performance.now() - since >= sliceMs) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (stopped()) return undefined;
        since = performance.now();
      }
    }
    return out;
  }

  /** Ends the read transaction (once; call it after files() has settled). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#release();
  }
}
