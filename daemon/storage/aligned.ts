// Which shared buffers start on a page boundary (their memory can be written to disk with
// O_DIRECT). JavaScript cannot ask a buffer for its address: the slot arena registers the memory
// it allocates page-aligned, and the data writer asks here before writing around the page cache.

const pageAligned = new WeakSet<ArrayBufferLike>();

export const PAGE_SIZE = 4096;

/** Marks `buf` as starting on a page boundary. */
export function registerPageAligned(buf: ArrayBufferLike): void {
  pageAligned.add(buf);
}

/** Whether `view`'s memory starts on an `alignment` boundary (a power of two up to a page). */
export function isMemoryAligned(view: Uint8Array, alignment: number): boolean {
  return pageAligned.has(view.buffer) && view.byteOffset % alignment === 0;
}

/**
 * `bytes` of shared memory that start on a page boundary: a shared WebAssembly memory (V8 maps
 * those page-aligned; measured). Undefined when the engine refuses (it caps the address space it
 * reserves for them; each one reserves ~10 GiB of address space, none of it resident).
 */
export function allocatePageAligned(bytes: number): SharedArrayBuffer | undefined {
  const pages = Math.ceil(bytes / 65536);
  // Node's types here have no DOM/WebAssembly lib: the one constructor used, typed by hand.
  const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer } } }).WebAssembly;
  try {
    const sab = new wasm.Memory({ initial: pages, maximum: pages, shared: true }).buffer;
    registerPageAligned(sab);
    return sab;
  } catch {
    return undefined;
  }
}
