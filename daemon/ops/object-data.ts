// Moving object bytes between a request body, the crypto pipelines and storage: small objects
// go inline into the LMDB record, large ones to a data file; reads map a plaintext range onto
// whole DARE packages (per part for multipart objects) and decrypt only those.

import { createHash } from 'node:crypto';
import type { CryptoPool } from '../crypto/pool.js';
import { createSealer } from '../crypto/seal-stream.js';
import { openStream } from '../crypto/open-stream.js';
import { createMd5 } from '../crypto/hasher.js';
import { S3Error } from '../errors.js';
import type { DataRef, PartRecord } from '../meta/records.js';
import type { DataFile, FileStore } from '../storage/files.js';
import type { DiskSpace } from '../storage/disk-space.js';
import { storageFull } from './storage-full.js';
import { type Slot, sharedInlineArena } from '../crypto/slot-arena.js';
import { PARK_MS, type DataLease } from './data-gate.js';
import { DareError, encryptedSize, openInto, planRange, sealBuffer } from '../../workers/format/index.js';
import { derivePartKey } from '../sse/object-key.js';

export interface DataEnv {
  pool: CryptoPool | null;
  files: FileStore;
  inlineThreshold: number;
  /** Free space of the data filesystem: writes that would eat into its reserve are refused. */
  disk?: DiskSpace;
  /** Data files already opened by the caller (reads use these instead of opening by id). */
  handles?: Map<string, DataFile>;
  /**
   * The consumer is done with each yielded chunk before it asks for the next (the HTTP response
   * writer): chunks may be views of recycled buffers instead of fresh copies.
   */
  lend?: boolean;
  /** The request's place among those moving data through files (ops/data-gate.ts); writes to a file take it. */
  lease?: DataLease;
  /** Reads: batches being opened or waiting to be consumed (openStream's maxInFlight; default its own). */
  maxInFlight?: number;
}

export interface WrittenData {
  data: DataRef;
  /** Plaintext bytes. */
  size: number;
  /** Stored bytes. */
  stored: number;
  md5: Buffer | undefined;
}

const WRITE_BATCH = 1024 * 1024;

/**
 * Consumes a plaintext source (a request body, or a decrypted copy source) into storage,
 * sealing with `key` when given. The data file (if any) is fsynced and renamed before this
 * resolves; it becomes visible only when the caller commits a record pointing at it.
 */
export async function writeData(
  env: DataEnv,
  source: AsyncIterable<Buffer>,
  opts: { key?: Buffer; md5: boolean; declaredLength: number | undefined; signal?: AbortSignal; limit?: BodyLimit },
): Promise<WrittenData> {
  const declared = opts.declaredLength;
  // A declared length the caller checked; a body of unknown length is stopped as it passes the limit.
  if (declared === undefined && opts.limit !== undefined) source = capped(source, opts.limit);
  const storedGuess = declared === undefined ? Infinity : opts.key ? encryptedSize(declared) : declared;
  // Refused before a byte is read when it would not leave the free-space reserve (the reserve
  // alone when the length is unknown); counted against the free space while it is written.
  const hold = await env.disk?.hold(storedGuess === Infinity ? 0 : storedGuess);
  if (env.disk !== undefined && hold === undefined) throw storageFull();
  let written = false;
  try {
    if (storedGuess <= env.inlineThreshold) {
      const data = await writeInline(source, opts);
      written = true;
      return data;
    }
    // A body of unknown length (chunked, no declared size) takes its share of the free space as it
    // comes: without it, it could write the disk full, past the reserve, before anyone said no.
    const metered = env.disk !== undefined && declared === undefined ? heldAsItComes(env.disk, source) : source;
    // A place among the requests moving data through files before a slot is taken or a byte read.
    await env.lease?.enter(opts.signal);
    try {
      const data = await writeFile(env, metered, opts);
      written = true;
      return data;
    } finally {
      env.lease?.leave();
    }
  } finally {
    // A failed write's file is deleted: its bytes never count as written.
    hold?.release(written);
  }
}

/** The most bytes a body may hold, and the error past it (S3's EntityTooLarge, naming the limit). */
export interface BodyLimit {
  maxBytes: number;
  tooLarge: (seen: number) => S3Error;
}

/**
 * `source`, failing with `limit.tooLarge` once more than `limit.maxBytes` have passed: a body sent
 * chunked, without a length, is refused as it outgrows the limit (5 GiB for PutObject and a part)
 * instead of being stored whole. A body read lent keeps its lent mode.
 */
export function capped(source: AsyncIterable<Buffer>, limit: BodyLimit): AsyncIterable<Buffer> {
  return throughKeepingLend(source, async function* (chunks) {
    let seen = 0;
    for await (const chunk of chunks) {
      seen += chunk.length;
      if (seen > limit.maxBytes) throw limit.tooLarge(seen);
      yield chunk;
    }
  });
}

/** Space held per step of a body of unknown length. */
const UNKNOWN_LENGTH_STEP = 8 * 1024 * 1024;

/**
 * `source`, holding free space for its bytes a step ahead as they pass (StorageFull when the
 * reserve would not be left), all released at the end. A body read lent keeps its lent mode.
 */
function heldAsItComes(disk: DiskSpace, source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  return throughKeepingLend(source, async function* (chunks) {
    const holds: Array<{ release(written?: boolean): void }> = [];
    let granted = 0;
    let seen = 0;
    let complete = false;
    try {
      for await (const chunk of chunks) {
        seen += chunk.length;
        while (seen > granted) {
          const h = await disk.hold(UNKNOWN_LENGTH_STEP);
          if (h === undefined) throw storageFull();
          holds.push(h);
          granted += UNKNOWN_LENGTH_STEP;
        }
        yield chunk;
      }
      complete = true;
    } finally {
      // Counted as written only when the body was whole: a refused one's file is deleted.
      for (const h of holds) h.release(complete);
    }
  });
}

/**
 * `source` run through `through` (a generator that passes the chunks on, doing something on the
 * way). A request body that can be read lent (recycled buffers, see lentChunks) stays so: its lent
 * chunks go through the same generator.
 */
export function throughKeepingLend(source: AsyncIterable<Buffer>, through: (chunks: AsyncIterable<Buffer>) => AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const lend = (source as { lend?: () => AsyncIterable<Buffer> }).lend;
  if (typeof lend !== 'function') return through(source);
  const out: AsyncIterable<Buffer> & { lend(): AsyncIterable<Buffer> } = {
    [Symbol.asyncIterator]: () => through(source)[Symbol.asyncIterator](),
    lend: () => through(lend.call(source)),
  };
  return out;
}

async function writeInline(source: AsyncIterable<Buffer>, opts: { key?: Buffer; md5: boolean; declaredLength: number | undefined }): Promise<WrittenData> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    parts.push(chunk);
    size += chunk.length;
    if (opts.declaredLength !== undefined && size > opts.declaredLength) throw new S3Error('IncompleteBody', 'The body is longer than its declared length.');
  }
  const plain = Buffer.concat(parts, size);
  const md5 = opts.md5 ? createHash('md5').update(plain).digest() : undefined;
  const stored = opts.key ? sealBuffer(opts.key, plain) : plain;
  return { data: { inline: stored }, size, stored: stored.length, md5 };
}

/** An upload whose client sends less than this per PARK_MS (~256 KiB/s) is parked. */
const SLOW_BYTES = 256 * 1024;
/** How often per PARK_MS an upload's rate is looked at. */
const CHECKS_PER_PARK = 4;
/** What a parked upload collects on the heap before it takes a place again to write it. */
const PARKED_BATCH = 1024 * 1024;

/**
 * `source`, a request body, with the request parked while its client is slow or silent
 * (ops/data-gate.ts): an upload that received less than SLOW_BYTES in the last PARK_MS (looked at
 * four times as often), and is waiting for its client, has `giveBack` copy the bytes the write holds in
 * slots to the heap and return the slots; then its place goes back. Parked, it collects the
 * client's bytes on the heap until it has PARKED_BATCH of them (or the body ends), then takes a
 * place again, ahead of new requests, and passes them on. A request that may not park (a copy,
 * or the bound reached) goes on holding its place.
 */
async function* parkWhenSlow(source: AsyncIterable<Buffer>, lease: DataLease, giveBack: () => void, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  let received = 0;
  // `received` at each of the last CHECKS_PER_PARK checks: the oldest tells what came in the last PARK_MS.
  const seen: number[] = [];
  let parked = false;
  // The consumer has a chunk (between a yield and its next call): its buffers are in use.
  let consuming = false;
  let collected: Buffer[] = [];
  let collectedBytes = 0;
  const check = setInterval(() => {
    seen.push(received);
    if (seen.length <= CHECKS_PER_PARK) return;
    const slow = received - seen.shift()! < SLOW_BYTES;
    if (!slow || parked || consuming || !lease.park()) return;
    giveBack();
    lease.leave();
    parked = true;
  }, PARK_MS / CHECKS_PER_PARK);
  check.unref();
  try {
    for (;;) {
      const r = await it.next();
      if (r.done !== true) received += r.value.length;
      if (parked) {
        if (r.done !== true) {
          // A lent chunk is valid only until the next call: keep a copy.
          collected.push(Buffer.from(r.value));
          collectedBytes += r.value.length;
          if (collectedBytes < PARKED_BATCH) continue;
        }
        parked = false;
        await lease.resume(signal);
        const out = collected;
        collected = [];
        collectedBytes = 0;
        consuming = true;
        for (const c of out) yield c;
        consuming = false;
        if (r.done === true) return;
        continue;
      }
      if (r.done === true) return;
      consuming = true;
      yield r.value;
      consuming = false;
    }
  } finally {
    clearInterval(check);
    if (parked) lease.parkedEnd();
    await it.return?.();
  }
}

/** A request body reads in lent mode (recycled buffers); any other source as it is. */
function lentChunks(source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const lend = (source as { lend?: () => AsyncIterable<Buffer> }).lend;
  return typeof lend === 'function' ? lend.call(source) : source;
}

async function writeFile(env: DataEnv, input: AsyncIterable<Buffer>, opts: { key?: Buffer; md5: boolean; signal?: AbortSignal }): Promise<WrittenData> {
  // Every chunk is copied (into a slot, or the write batch) before the next is read.
  const lease = env.lease;
  // What the write holds in slots, given back while its client is slow (parkWhenSlow): set once
  // the write's buffers exist.
  let giveBack = (): void => {};
  const chunks = lentChunks(input);
  const source = lease === undefined ? chunks : parkWhenSlow(chunks, lease, () => giveBack(), opts.signal);
  const writer = await env.files.create();
  try {
    if (opts.key) {
      const sealer = createSealer(env.pool, opts.key, { md5: opts.md5, sink: (buf) => writer.write(buf), signal: opts.signal, concurrentSinks: 2 });
      giveBack = () => sealer.park();
      try {
        for await (const chunk of source) await sealer.write(chunk);
        const r = await sealer.end();
        await writer.commit();
        return { data: { file: writer.id }, size: r.plaintextSize, stored: r.ciphertextSize, md5: r.md5 };
      } catch (err) {
        sealer.abort(err);
        throw err;
      }
    }
    const hasher = opts.md5 ? createMd5(env.pool) : undefined;
    // The write batch is a recycled slot buffer (already faulted in), not a fresh 1 MiB per PUT.
    const arena = env.pool?.arena ?? sharedInlineArena();
    let slot: Slot | undefined = arena.acquire();
    let batch = slot.input.subarray(0, WRITE_BATCH);
    let fill = 0;
    let size = 0;
    // The batch's bytes while its slot is given back (a parked write).
    let held: Buffer | undefined;
    giveBack = () => {
      hasher?.park();
      if (slot === undefined) return;
      if (fill > 0) held = Buffer.from(batch.subarray(0, fill));
      arena.release(slot);
      slot = undefined;
    };
    try {
      for await (const chunk of source) {
        if (slot === undefined) {
          slot = arena.acquire();
          batch = slot.input.subarray(0, WRITE_BATCH);
          if (held !== undefined) batch.set(held);
          held = undefined;
        }
        hasher?.update(chunk);
        size += chunk.length;
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(chunk.length - off, WRITE_BATCH - fill);
          chunk.copy(batch, fill, off, off + n);
          fill += n;
          off += n;
          if (fill === WRITE_BATCH) {
            await writer.write(batch);
            fill = 0;
          }
        }
        if (hasher) await hasher.ready();
      }
      if (fill > 0) await writer.write(held ?? batch.subarray(0, fill));
      const md5 = hasher ? await hasher.digest() : undefined;
      await writer.commit();
      return { data: { file: writer.id }, size, stored: size, md5 };
    } catch (err) {
      hasher?.abort();
      throw err;
    } finally {
      // Every write into the batch has settled by now (each was awaited).
      if (slot !== undefined) arena.release(slot);
    }
  } catch (err) {
    await writer.discard();
    env.disk?.freed();
    throw err;
  }
}

/** Where one stored DARE stream (or plain byte run) lives, and its sizes. */
interface Segment {
  data: DataRef;
  size: number;
  /** DARE key for this segment, when encrypted. */
  key: Buffer | undefined;
}

/**
 * Bytes [offset, offset+length) of a record's inline data. A record that holds fewer (damaged) is
 * refused: a view past its bytes would be whatever memory follows them.
 */
function inlineSlice(stored: Uint8Array, offset: number, length: number): Buffer {
  if (offset + length > stored.length) throw new Error(`inline data of ${stored.length} bytes is shorter than its record says (${offset + length})`);
  return Buffer.from(stored.buffer, stored.byteOffset + offset, length);
}

async function* readRaw(env: DataEnv, data: DataRef, offset: number, length: number): AsyncGenerator<Buffer> {
  if ('inline' in data) {
    if (length > 0) yield inlineSlice(data.inline, offset, length);
    return;
  }
  if (env.lend !== true) {
    yield* env.files.read(data.file, offset, length, env.handles?.get(data.file));
    return;
  }
  // Lent chunks: read into one recycled slot buffer (already faulted in) instead of a fresh 1 MiB each.
  const arena = env.pool?.arena ?? sharedInlineArena();
  const slot = arena.acquire();
  try {
    yield* env.files.read(data.file, offset, length, env.handles?.get(data.file), slot.input);
  } finally {
    arena.release(slot);
  }
}

async function* readSegment(env: DataEnv, seg: Segment, offset: number, length: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  if (length === 0) return;
  if (!seg.key) {
    yield* readRaw(env, seg.data, offset, length);
    return;
  }
  const plan = planRange(seg.size, offset, length);
  const range = { firstSequence: plan.firstSequence, skip: plan.skip, length: plan.length, expectFinal: plan.expectFinal, signal, lend: env.lend, ...(env.maxInFlight === undefined ? {} : { maxInFlight: env.maxInFlight }) };
  const data = seg.data;
  if ('file' in data) {
    // Ciphertext goes from the file straight into the open pipeline's slots.
    const file = env.handles?.get(data.file) ?? env.files.open(data.file);
    try {
      const reader = { read: (buf: Uint8Array, off: number, len: number, pos: number) => file.readFully(buf, off, len, pos, plan.encryptedLength), position: plan.encryptedOffset, length: plan.encryptedLength };
      yield* openStream(env.pool, seg.key, { ...range, reader });
    } finally {
      if (env.handles?.get(data.file) !== file) file.close();
    }
    return;
  }
  // Only the stored bytes: a damaged record holding fewer fails in the open pipeline as Truncated.
  const source = [data.inline.subarray(plan.encryptedOffset, plan.encryptedOffset + plan.encryptedLength)];
  yield* openStream(env.pool, seg.key, { ...range, source: toAsync(source) });
}

async function* toAsync(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

/**
 * The plaintext range of a single-part object stored inline in its LMDB record, decrypted
 * synchronously into one buffer (small objects: no pipeline, no pool round trip). Undefined when
 * the object is not inline.
 */
/** Whether the object's data lives in its record (inline), not in data files. */
export function isInline(obj: ReadableObject): obj is ReadableObject & { data: { readonly inline: Uint8Array } } {
  return obj.parts === undefined && obj.data !== undefined && 'inline' in obj.data;
}

export function readInlineSync(obj: ReadableObject, objectKey: Buffer | undefined, offset: number, length: number): Buffer | undefined {
  if (!isInline(obj)) return undefined;
  const stored = obj.data.inline;
  if (!objectKey) return inlineSlice(stored, offset, length);
  if (length === 0) return Buffer.alloc(0);
  const plan = planRange(obj.size, offset, length);
  const cipher = stored.subarray(plan.encryptedOffset, plan.encryptedOffset + plan.encryptedLength);
  const out = Buffer.allocUnsafe(cipher.length);
  const opened = openInto(out, 0, cipher, { key: objectKey, firstSequence: plan.firstSequence, final: plan.expectFinal });
  // `out` is uninitialized memory past what was opened: a record holding fewer packages than its
  // size says (damaged) must fail, as a short data file does, not send those bytes.
  if (opened < plan.skip + plan.length) throw new DareError('Truncated', 'DARE: the stored ciphertext is shorter than the object');
  return out.subarray(plan.skip, plan.skip + plan.length);
}

export interface ReadableObject {
  size: number;
  data?: DataRef;
  parts?: readonly PartRecord[];
}

/**
 * Plaintext of [offset, offset+length) of an object. `objectKey` is the unsealed object key
 * for encrypted objects: single-part data is sealed with it, part n with its part key.
 */
export async function* readData(env: DataEnv, obj: ReadableObject, objectKey: Buffer | undefined, offset: number, length: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  if (!obj.parts) {
    if (!obj.data) throw new Error('object record has neither data nor parts');
    yield* readSegment(env, { data: obj.data, size: obj.size, key: objectKey }, offset, length, signal);
    return;
  }
  for (const { part: p, from, to } of partsInRange(obj.parts, offset, length)) {
    const key = objectKey ? derivePartKey(objectKey, p.n) : undefined;
    yield* readSegment(env, { data: p.data, size: p.size, key }, from, to - from, signal);
  }
}

/** The parts [offset, offset+length) of a multipart object touches, in order, each with the range [from, to) within it. */
export function* partsInRange(parts: readonly PartRecord[], offset: number, length: number): Generator<{ part: PartRecord; from: number; to: number }> {
  let partStart = 0;
  const end = offset + length;
  for (const part of parts) {
    const partEnd = partStart + part.size;
    if (partEnd > offset && partStart < end) yield { part, from: Math.max(offset, partStart) - partStart, to: Math.min(end, partEnd) - partStart };
    partStart = partEnd;
    if (partStart >= end) break;
  }
}
