// Unsealed object keys of SSE-S3 and SSE-KMS objects, held briefly so a hot GET costs one map
// lookup instead of a KMS unwrap (cached or not) plus the object-key unseal (HMAC + AES-GCM).
// An entry is found only by everything the unseal depends on: bucket, object, SSE kind, KMS key,
// the KMS ciphertext and the sealed key with its IV. A changed record is a miss, so tampering is
// still caught by the real unseal. An entry lives S3_KMS_CACHE_TTL from its unseal, which may
// itself have used a data key the KMS cache held for up to that long: a key the KMS no longer
// unwraps stops being served within twice the TTL. Expired entries are swept; dropped keys zeroed.

import type { SseRecord } from '../meta/records.js';

interface Entry {
  key: Buffer;
  expires: number;
}

export interface ObjectKeyCacheOptions {
  /** 0 disables the cache. */
  ttlMs: number;
  maxEntries: number;
  /** Clock, for tests. Monotonic by default: a wall-clock step must not keep keys past their TTL. */
  now?: () => number;
}

/** A text field of a cache id: its length, then itself. */
function text(v: string): string {
  return `${v.length}:${v}`;
}

/**
 * A byte field of a cache id: its length, then one latin1 character per byte ('-' when absent; a
 * text where bytes belong, which only a damaged record could hold, marked apart with 's').
 */
function bytes(v: Uint8Array | string | undefined): string {
  if (v === undefined) return '-';
  if (typeof v === 'string') return `s${text(v)}`;
  const b = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return `${b.length}:${b.toString('latin1')}`;
}

export class ObjectKeyCache {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  // A Map iterates in insertion order: re-inserting on a hit makes it an LRU.
  readonly #entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(opts: ObjectKeyCacheOptions) {
    this.#ttlMs = opts.ttlMs;
    this.#max = Math.max(1, opts.maxEntries);
    this.#now = opts.now ?? (() => performance.now());
  }

  get enabled(): boolean {
    return this.#ttlMs > 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  static id(rec: SseRecord, bucket: string, object: string): string {
    // Every field prefixed by its length: none can run into the next, whatever bytes object names
    // hold. Bytes as latin1 (one character each): built on every SSE-S3 and SSE-KMS GET, the JSON
    // array of base64 texts this replaces was ~1.2 µs more in a loop, several times that in the daemon.
    return `${text(rec.kind)}${text(bucket)}${text(object)}${text(rec.kmsKey ?? '')}${bytes(rec.kmsCiphertext)}${text(rec.kmsContext ?? '')}${text(rec.algorithm)}${bytes(rec.iv)}${bytes(rec.sealedKey)}`;
  }

  /** A copy of the cached key (the caller zeroes its copy after use), or undefined. */
  get(id: string): Buffer | undefined {
    if (!this.enabled) return undefined;
    const e = this.#entries.get(id);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    if (e.expires <= this.#now()) {
      this.#drop(id, e);
      this.misses++;
      return undefined;
    }
    this.#entries.delete(id);
    this.#entries.set(id, e);
    this.hits++;
    return Buffer.from(e.key);
  }

  /** Keeps a copy of `key`. */
  set(id: string, key: Buffer): void {
    if (!this.enabled) return;
    const old = this.#entries.get(id);
    if (old !== undefined) this.#drop(id, old);
    while (this.#entries.size >= this.#max) {
      const [oldestId, oldest] = this.#entries.entries().next().value as [string, Entry];
      this.#drop(oldestId, oldest);
    }
    const copy = Buffer.alloc(key.length);
    key.copy(copy);
    this.#entries.set(id, { key: copy, expires: this.#now() + this.#ttlMs });
  }

  /** Drops every expired entry (cli.ts calls this periodically). */
  sweepExpired(): number {
    const now = this.#now();
    let dropped = 0;
    for (const [id, e] of [...this.#entries]) {
      if (e.expires <= now) {
        this.#drop(id, e);
        dropped++;
      }
    }
    return dropped;
  }

  clear(): void {
    for (const [id, e] of [...this.#entries]) this.#drop(id, e);
  }

  #drop(id: string, e: Entry): void {
    e.key.fill(0);
    this.#entries.delete(id);
  }
}
