// Opening DARE 2.0 packages with every check sio's decoder makes (minio-sse.md §1.4): header
// kind, package size, random value shared by the stream, tag, final-package placement.
import { openPackageInto } from './dare-aead.js';
import { DareError } from './dare-error.js';
import {
  type CipherSuite,
  HEADER_SIZE,
  MAX_PAYLOAD,
  OVERHEAD,
  checkHeaderKind,
  checkKey,
  decodeHeader,
  headerRandom,
  sameRandom,
} from './dare-header.js';

export interface OpenRun {
  key: Uint8Array;
  /** Sequence number of the first package in the input (non-zero for ranges and later batches). */
  firstSequence: number;
  /**
   * The input ends the stream: its last package must carry the final flag. When false, no
   * package may (a later batch follows, or a range stops before the end).
   */
  final: boolean;
  /** Random value the packages must carry (the stream's first package); default: this input's first. */
  random?: Uint8Array;
  /** Cipher suite of the stream's first package; default: this input's first. */
  suite?: CipherSuite;
}

/** What a stream's first header says every package must repeat. */
export interface StreamIdentity {
  random: Uint8Array;
  suite: CipherSuite;
}

/** Validates the header at `buf[off]` as a stream start and returns its random value and suite. */
export function readStreamIdentity(buf: Uint8Array, off = 0): StreamIdentity {
  if (buf.length - off < HEADER_SIZE) throw new DareError('Truncated', 'DARE: stream shorter than one header');
  const h = decodeHeader(buf, off);
  checkHeaderKind(h, undefined);
  return { random: headerRandom(buf, off), suite: h.cipher as CipherSuite };
}

/**
 * Opens the packages of `ciphertext` (which starts at a package boundary) into `out` at
 * `outOffset`, verifying each before its plaintext is written; returns the plaintext bytes
 * written. `out` needs room for `ciphertext.length` bytes at most.
 */
export function openInto(out: Uint8Array, outOffset: number, ciphertext: Uint8Array, run: OpenRun): number {
  checkKey(run.key);
  const end = ciphertext.length;
  if (end === 0) {
    if (run.final) throw new DareError('Truncated', 'DARE: expected a final package, found no data');
    return 0;
  }
  const id = run.random !== undefined && run.suite !== undefined ? { random: run.random, suite: run.suite } : readStreamIdentity(ciphertext);
  let pos = 0;
  let outPos = outOffset;
  let seq = run.firstSequence;
  while (pos < end) {
    if (end - pos < HEADER_SIZE) throw new DareError('Truncated', 'DARE: stream ends inside a package header');
    const h = decodeHeader(ciphertext, pos);
    checkHeaderKind(h, id.suite);
    const size = h.payloadLength + OVERHEAD;
    if (end - pos < size) throw new DareError('Truncated', 'DARE: stream ends inside a package');
    if (!h.final && h.payloadLength !== MAX_PAYLOAD) throw new DareError('InvalidSize', 'DARE: non-final package is not 64 KiB');
    if (!sameRandom(ciphertext, pos, id.random)) throw new DareError('NonceMismatch', 'DARE: package random value differs from the stream');
    if (seq > 0xffffffff) throw new DareError('InvalidSize', 'DARE: more than 2^32 packages');
    outPos += openPackageInto(out, outPos, run.key, ciphertext, pos, h.payloadLength, seq, id.suite);
    pos += size;
    seq++;
    if (h.final) {
      if (pos < end) throw new DareError('UnexpectedData', 'DARE: data after the final package');
      if (!run.final) throw new DareError('UnexpectedData', 'DARE: final package where the stream continues');
      return outPos - outOffset;
    }
  }
  if (run.final) throw new DareError('Truncated', 'DARE: stream ends without a final package');
  return outPos - outOffset;
}

/** Opens a whole stream into a fresh buffer (empty ciphertext → empty plaintext). */
export function openBuffer(key: Uint8Array, ciphertext: Uint8Array, firstSequence = 0): Buffer {
  if (ciphertext.length === 0) return Buffer.alloc(0);
  // Every package carries at least 32 bytes of overhead, so this bounds the plaintext.
  const out = Buffer.allocUnsafe(Math.max(0, ciphertext.length - OVERHEAD));
  const n = openInto(out, 0, ciphertext, { key, firstSequence, final: true });
  return out.subarray(0, n);
}
