// The Piscina worker entry: seals and opens batches of DARE packages in shared slots and keeps
// running MD5 states for the hashing lanes. Imports only workers/ code (never daemon/).
import { createHash, type Hash } from 'node:crypto';
import { parentPort, threadId } from 'node:worker_threads';
import { DareError, type CipherSuite, aeadImplementation, openInto, sealInto } from './format/index.js';
import {
  CTRL_CANCEL,
  CTRL_WORDS,
  SLOT_CTRL_OFFSET,
  SLOT_INPUT_OFFSET,
  SLOT_OUTPUT_OFFSET,
  SLOT_REGION_SIZE,
  type CryptoResult,
  type CryptoTask,
  type OpenTask,
  type SealTask,
  WORKER_LOADED,
} from './protocol.js';

// MD5 states by stream id, with the bytes each has hashed. A hashing lane is a one-thread pool, so
// one stream's tasks arrive in order; a thread Piscina replaced (its predecessor died in a task)
// has none of its predecessor's states, and refuses the updates that needed one.
const md5States = new Map<number, { hash: Hash; hashed: number }>();

function lostState(stream: number, at: number, has: number | undefined): Error {
  return new Error(`MD5 state of stream ${stream} lost (its hashing thread was replaced?): ${at} bytes hashed before, this thread has ${has ?? 'no state'}`);
}
// Whether this worker seals and opens AES-256-GCM through the native binding (reported with each result).
const nativeAes = aeadImplementation().native;

function cancelled(slot: SharedArrayBuffer, base: number): boolean {
  return Atomics.load(new Int32Array(slot, base + SLOT_CTRL_OFFSET, CTRL_WORDS), CTRL_CANCEL) !== 0;
}

function checkLength(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > SLOT_REGION_SIZE) throw new RangeError(`batch length ${n} does not fit a slot`);
}

function seal(task: SealTask): CryptoResult {
  checkLength(task.inLength);
  const input = new Uint8Array(task.slot, task.base + SLOT_INPUT_OFFSET, task.inLength);
  const output = new Uint8Array(task.slot, task.base + SLOT_OUTPUT_OFFSET, SLOT_REGION_SIZE);
  const length = sealInto(output, 0, input, { key: task.key, random: task.random, firstSequence: task.firstSequence, final: task.final });
  return { ok: true, length, thread: threadId, nativeAes };
}

function open(task: OpenTask): CryptoResult {
  checkLength(task.inLength);
  const input = new Uint8Array(task.slot, task.base + SLOT_INPUT_OFFSET, task.inLength);
  const output = new Uint8Array(task.slot, task.base + SLOT_OUTPUT_OFFSET, SLOT_REGION_SIZE);
  const length = openInto(output, 0, input, {
    key: task.key,
    firstSequence: task.firstSequence,
    final: task.final,
    random: task.random,
    suite: task.suite as CipherSuite,
  });
  return { ok: true, length, thread: threadId, nativeAes };
}

export default function run(task: CryptoTask): CryptoResult {
  switch (task.op) {
    case 'seal':
    case 'open':
      if (cancelled(task.slot, task.base)) return { ok: false, code: 'Aborted' };
      try {
        return task.op === 'seal' ? seal(task) : open(task);
      } catch (err) {
        // Data errors travel as codes; anything else is a bug and travels as an Error.
        if (err instanceof DareError) return { ok: false, code: err.code };
        throw err;
      } finally {
        task.key.fill(0);
      }
    case 'md5-update': {
      let s = md5States.get(task.stream);
      if (s === undefined && task.at === 0) md5States.set(task.stream, (s = { hash: createHash('md5'), hashed: 0 }));
      if (s === undefined || s.hashed !== task.at) throw lostState(task.stream, task.at, s?.hashed);
      s.hash.update(new Uint8Array(task.buf, task.offset, task.length));
      s.hashed += task.length;
      return { ok: true, length: task.length };
    }
    case 'md5-digest': {
      const s = md5States.get(task.stream) ?? (task.hashed === undefined || task.hashed === 0 ? { hash: createHash('md5'), hashed: 0 } : undefined);
      md5States.delete(task.stream);
      if (s === undefined || (task.hashed !== undefined && s.hashed !== task.hashed)) throw lostState(task.stream, task.hashed ?? 0, s?.hashed);
      return { ok: true, length: 16, digest: s.hash.digest() };
    }
    case 'md5-discard':
      md5States.delete(task.stream);
      return { ok: true, length: 0 };
  }
}

// Tell the pool this worker has loaded (the pool allows for the rest of Piscina's require() of
// this module, which is still running: see daemon/crypto/pool.ts, whenLoaded). Posted now, as
// the module ends: an idle worker waits for tasks in Atomics.wait, so a timer would never run.
parentPort?.postMessage({ [WORKER_LOADED]: threadId });
