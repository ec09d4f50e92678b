// Messages between the main thread and the crypto workers, and the layout of the shared slots
// the bytes travel in. Bulk data never rides in a message: tasks name a region of a slot.
import type { DareErrorCode } from './format/dare-error.js';
import { MAX_PAYLOAD, PACKAGE_SIZE } from './format/dare-header.js';

/** Packages per batch: ~1 MiB per task keeps Piscina's ~50 µs dispatch near 2 % (perf B3, T10). */
export const BATCH_PACKAGES = 16;
/** Plaintext of a full seal batch. */
export const SEAL_BATCH_BYTES = BATCH_PACKAGES * MAX_PAYLOAD;
/** Ciphertext of a full open batch; also the capacity of both slot regions. */
export const OPEN_BATCH_BYTES = BATCH_PACKAGES * PACKAGE_SIZE;
export const SLOT_REGION_SIZE = OPEN_BATCH_BYTES;

/**
 * A slot is a stretch of a SharedArrayBuffer starting at a task's `base`: [input region][output
 * region][control words], each region starting on a 4 KiB boundary of the slot (so a slot carved
 * from page-aligned memory can be written to disk with O_DIRECT). The main thread fills the input,
 * a worker reads it and writes the output. Control word CTRL_CANCEL ≠ 0 tells a worker that has
 * not started the task yet to skip it (aborting a running Piscina task would terminate its
 * thread, and the slot would still be written to).
 */
export const CTRL_WORDS = 4;
export const CTRL_CANCEL = 0;
const PAGE = 4096;
const alignPage = (n: number): number => Math.ceil(n / PAGE) * PAGE;
export const SLOT_INPUT_OFFSET = 0;
export const SLOT_OUTPUT_OFFSET = alignPage(SLOT_REGION_SIZE);
export const SLOT_CTRL_OFFSET = SLOT_OUTPUT_OFFSET + alignPage(SLOT_REGION_SIZE);
/** Bytes from one slot's base to the next one's in a shared chunk (a multiple of 4 KiB). */
export const SLOT_SIZE = SLOT_CTRL_OFFSET + PAGE;

/** Seal `inLength` plaintext bytes at the slot's input region into its output region. */
export interface SealTask {
  op: 'seal';
  slot: SharedArrayBuffer;
  /** Where the slot starts in `slot` (slots are carved from shared chunks). */
  base: number;
  inLength: number;
  key: Uint8Array;
  random: Uint8Array;
  firstSequence: number;
  /** The batch ends the stream: its last package is final. */
  final: boolean;
}

/** Open `inLength` ciphertext bytes (whole packages) at the input region into the output region. */
export interface OpenTask {
  op: 'open';
  slot: SharedArrayBuffer;
  base: number;
  inLength: number;
  key: Uint8Array;
  firstSequence: number;
  /** The batch ends the stream: its last package must be final (else: none may be). */
  final: boolean;
  /** The stream's random value and cipher suite, read from its first package by the main thread. */
  random: Uint8Array;
  suite: number;
}

/** Feed `length` bytes at `offset` of `buf` into the running MD5 of `stream` (in task order). */
export interface Md5UpdateTask {
  op: 'md5-update';
  stream: number;
  buf: SharedArrayBuffer;
  offset: number;
  length: number;
  /**
   * Bytes of the stream hashed before this update: a worker that has no state for the stream, or
   * another count, refuses it (its state was lost with a worker Piscina replaced: going on from a
   * fresh MD5 would give a wrong ETag without a word).
   */
  at: number;
}

export interface Md5FinishTask {
  op: 'md5-digest' | 'md5-discard';
  stream: number;
  /** Bytes of the stream hashed (md5-digest checks them, as md5-update checks `at`). */
  hashed?: number;
}

export type CryptoTask = SealTask | OpenTask | Md5UpdateTask | Md5FinishTask;

export type CryptoResult =
  /**
   * `length`: bytes written to the output region (seal/open); `digest` for md5-digest; `thread`:
   * worker's threadId; `nativeAes`: seal/open went through the native AES binding.
   */
  | { ok: true; length: number; digest?: Uint8Array; thread?: number; nativeAes?: boolean }
  | { ok: false; code: DareErrorCode };

/**
 * Posted by a crypto worker once the module has finished loading (and Piscina's require() of it
 * has returned): the pool closes no worker before that (daemon/crypto/pool.ts, whenLoaded).
 */
export const WORKER_LOADED = 's3dWorkerLoaded';
