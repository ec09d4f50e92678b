// The data files a snapshot of the metadata references, read a slice at a time: the start-up scan
// for crash leftovers (storage/orphan-scan.ts) reads it while the daemon serves, and `s3d backup`
// from its copy (with each file's stored length, which it checks the copied file against).
// MetaStore makes it (referenceSnapshot) from one LMDB read transaction.

import type { StoredFile } from './records.js';

/** The data files a snapshot of the records references (MetaStore.referenceSnapshot). */
export class ReferenceSnapshot {
  /** Records read so far. */
  records = 0;
  readonly #records: Generator<StoredFile[]>;
  readonly #release: () => void;
  readonly #also: readonly string[];
  #released = false;

  /** `also`: files that count as referenced besides those of the records (the deletion queue's). */
  constructor(records: Generator<StoredFile[]>, release: () => void, also: readonly string[] = []) {
    this.#records = records;
    this.#release = release;
    this.#also = also;
  }

  /**
   * Collects the referenced file ids into `out` (a Set, the start-up scan's compact
   * storage/file-id-set.ts, or backup's storage/file-id-list.ts, which also keeps the length a
   * record gives each file; the deletion queue's files come without one), giving the event loop
   * back every `sliceMs` so requests are served meanwhile (a large store takes seconds: ~8 µs a
   * record, small objects' data included).
   * Undefined when `stopped()` said so at one of those breaks.
   */
  async files<S extends { add(id: string, stored?: number): unknown }>(out: S, stopped: () => boolean, sliceMs = 1): Promise<S | undefined> {
    if (this.#released) throw new Error('the reference snapshot was released');
    for (const f of this.#also) out.add(f);
    let since = performance.now();
    for (const files of this.#records) {
      for (const f of files) out.add(f.file, f.stored);
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
