// DARE 2.0 package layout: constants, the 16-byte header and the per-package AEAD nonce
// (minio-sse.md §1.2–1.3). Pure byte manipulation, no crypto.
import { DareError } from './dare-error.js';

export const VERSION_20 = 0x20;
export const HEADER_SIZE = 16;
export const TAG_SIZE = 16;
/** Plaintext bytes in every non-final package. */
export const MAX_PAYLOAD = 65536;
/** Bytes of a full package on disk: header + payload + tag. */
export const PACKAGE_SIZE = MAX_PAYLOAD + HEADER_SIZE + TAG_SIZE;
export const OVERHEAD = HEADER_SIZE + TAG_SIZE;
export const KEY_SIZE = 32;
export const RANDOM_SIZE = 12;
/** 2^32 packages × 64 KiB: the sequence number is a uint32. */
export const MAX_PLAINTEXT = 2 ** 48;
const FINAL_FLAG = 0x80;

export const CipherSuite = { AES_256_GCM: 0, CHACHA20_POLY1305: 1 } as const;
export type CipherSuite = (typeof CipherSuite)[keyof typeof CipherSuite];

export function isCipherSuite(b: number): b is CipherSuite {
  return b === CipherSuite.AES_256_GCM || b === CipherSuite.CHACHA20_POLY1305;
}

export interface PackageHeader {
  version: number;
  cipher: number;
  /** Payload length (1 … 65 536), decoded from the stored length − 1. */
  payloadLength: number;
  final: boolean;
}

/**
 * Writes a 2.0 header at `out[off…off+16)`. `random` is the stream's 12-byte random value;
 * its first byte's top bit is replaced by the final flag, as sio does.
 */
export function encodeHeader(
  out: Uint8Array,
  off: number,
  cipher: CipherSuite,
  payloadLength: number,
  final: boolean,
  random: Uint8Array,
): void {
  if (!Number.isInteger(payloadLength) || payloadLength < 1 || payloadLength > MAX_PAYLOAD) {
    throw new RangeError(`DARE payload length must be 1…${MAX_PAYLOAD}, got ${payloadLength}`);
  }
  if (random.length !== RANDOM_SIZE) throw new RangeError(`DARE random value must be ${RANDOM_SIZE} bytes`);
  const len = payloadLength - 1;
  out[off] = VERSION_20;
  out[off + 1] = cipher;
  out[off + 2] = len & 0xff;
  out[off + 3] = len >>> 8;
  out.set(random, off + 4);
  out[off + 4] = (random[0] & 0x7f) | (final ? FINAL_FLAG : 0);
}

/** Reads the header fields at `buf[off…off+16)` without validating them. */
export function decodeHeader(buf: Uint8Array, off = 0): PackageHeader {
  return {
    version: buf[off],
    cipher: buf[off + 1],
    payloadLength: (buf[off + 2] | (buf[off + 3] << 8)) + 1,
    final: (buf[off + 4] & FINAL_FLAG) !== 0,
  };
}

/**
 * The AEAD nonce of one package: header bytes 4…15 (final flag as written) with the sequence
 * number XOR-ed into the little-endian uint32 formed by the last four. Written into `out`.
 */
export function packageNonce<T extends Uint8Array>(header: Uint8Array, headerOff: number, sequence: number, out: T): T {
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > 0xffffffff) {
    throw new RangeError(`DARE sequence number must be a uint32, got ${sequence}`);
  }
  for (let i = 0; i < 8; i++) out[i] = header[headerOff + 4 + i];
  const b = headerOff + 12;
  const last = (header[b] | (header[b + 1] << 8) | (header[b + 2] << 16) | (header[b + 3] << 24)) ^ sequence;
  out[8] = last & 0xff;
  out[9] = (last >>> 8) & 0xff;
  out[10] = (last >>> 16) & 0xff;
  out[11] = (last >>> 24) & 0xff;
  return out;
}

/**
 * The stream's random value as found in a header (final flag cleared): what every later package
 * must repeat (sio rejects splices with "header nonce mismatch").
 */
export function headerRandom(header: Uint8Array, headerOff = 0): Uint8Array {
  // A copy, never a view: Buffer#slice would alias the caller's bytes.
  const r = new Uint8Array(header.subarray(headerOff + 4, headerOff + 16));
  r[0] &= 0x7f;
  return r;
}

export function sameRandom(header: Uint8Array, headerOff: number, random: Uint8Array): boolean {
  if ((header[headerOff + 4] & 0x7f) !== (random[0] & 0x7f)) return false;
  for (let i = 1; i < RANDOM_SIZE; i++) if (header[headerOff + 4 + i] !== random[i]) return false;
  return true;
}

export function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_SIZE) throw new RangeError(`DARE key must be ${KEY_SIZE} bytes, got ${key.length}`);
}

/** Fails the way sio's decoder does when a header cannot start a 2.0 package of this stream. */
export function checkHeaderKind(h: PackageHeader, expectCipher: number | undefined): void {
  if (h.version !== VERSION_20) throw new DareError('UnsupportedVersion', `DARE: unsupported version 0x${h.version.toString(16)}`);
  if (!isCipherSuite(h.cipher)) throw new DareError('UnsupportedCipher', `DARE: unknown cipher suite ${h.cipher}`);
  if (expectCipher !== undefined && h.cipher !== expectCipher) {
    throw new DareError('UnsupportedCipher', 'DARE: cipher suite changes within the stream');
  }
}
