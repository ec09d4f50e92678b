// Flexible checksums of multipart uploads, as S3 has them: an upload created with
// x-amz-checksum-algorithm (and x-amz-checksum-type) has a checksum of that algorithm on every part
// (the client's, verified, or computed while a copied part or a FULL_OBJECT upload's part is
// stored), and the completed object gets one formed from the parts': COMPOSITE, the hash of the
// concatenated binary part checksums and "-N", or FULL_OBJECT, the CRC of the whole object
// combined from the part CRCs and sizes (no data is read again). An upload created without an algorithm has S3's default CRC64NVME on each part
// the client sent no checksum for, hidden (PartRecord.defaultChecksum), and its completion answers
// them combined. Pure but for hashing and opening sealed part checksums: the handlers are multipart.ts's.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { CHECKSUM_ALGORITHMS, CHECKSUM_HEADERS, checksumHasher, isChecksumValue, multipleChecksums, parseTrailerHeader, type ChecksumAlgorithm, type Hasher } from '../auth/payload.js';
import { S3Error } from '../errors.js';
import type { PartRecord, UploadRecord } from '../meta/records.js';
import { openPartChecksums, type Checksums } from '../sse/checksums.js';
import { DEFAULT_CHECKSUM, digestBase64, parseChecksumAlgorithm } from './checksums.js';
import type { XmlObject } from './xml.js';

type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

export interface UploadChecksum {
  readonly algorithm: ChecksumAlgorithm;
  readonly type: ChecksumType;
}

/** S3's default type: FULL_OBJECT for CRC64NVME (the only one it has), COMPOSITE for the others. */
function defaultType(algorithm: ChecksumAlgorithm): ChecksumType {
  return algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE';
}

/** The upload's checksum algorithm and type (a record without a type: the algorithm's default). */
export function uploadChecksum(up: UploadRecord): UploadChecksum | undefined {
  const algorithm = CHECKSUM_ALGORITHMS.find((a) => a === up.checksumAlgorithm);
  return algorithm === undefined ? undefined : { algorithm, type: up.checksumType ?? defaultType(algorithm) };
}

/** CreateMultipartUpload's x-amz-checksum-algorithm and x-amz-checksum-type, refused as S3 refuses them. */
export function requestedChecksum(headers: Readonly<Record<string, string>>): UploadChecksum | undefined {
  const rawAlgorithm = headers['x-amz-checksum-algorithm']?.trim() ?? '';
  const rawType = headers['x-amz-checksum-type']?.trim() ?? '';
  if (rawAlgorithm === '') {
    if (rawType !== '') throw new S3Error('InvalidRequest', 'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
    return undefined;
  }
  // A list of algorithms, in S3's words (OpenStack Swift's test_mpu_create_multiple_checksum_algorithms, run against AWS).
  if (rawAlgorithm.includes(',')) throw new S3Error('InvalidRequest', 'Invalid types are specified in x-amz-checksum-algorithm header.');
  const algorithm = parseChecksumAlgorithm(rawAlgorithm);
  let type = defaultType(algorithm);
  if (rawType !== '') {
    const t = rawType.toUpperCase();
    if (t !== 'COMPOSITE' && t !== 'FULL_OBJECT') throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
    type = t;
  }
  const name = algorithm.toLowerCase();
  if (type === 'FULL_OBJECT' && CRC_POLYNOMIALS[algorithm] === undefined) {
    throw new S3Error('InvalidRequest', `The FULL_OBJECT checksum type cannot be used with the ${name} checksum algorithm.`);
  }
  if (type === 'COMPOSITE' && algorithm === 'CRC64NVME') {
    throw new S3Error('InvalidRequest', `The COMPOSITE checksum type cannot be used with the ${name} checksum algorithm.`);
  }
  return { algorithm, type };
}

/**
 * How a part of a checksummed upload gets its checksum: the client's (its x-amz-checksum-* header
 * or trailer, verified by the payload decoder) when it sent one of the upload's algorithm, else
 * (FULL_OBJECT) a hasher to run over the body. Another algorithm (also as the SDK's
 * x-amz-sdk-checksum-algorithm) is refused before the body is read, and so is a part of a
 * COMPOSITE upload sent without one: S3 forms that object's checksum from the checksums the
 * client sent for its parts, and answers such a part "actual checksum Type: null" (OpenStack
 * Swift's test_mpu_upload_part_requires_checksum_composite, run against AWS; for FULL_OBJECT S3
 * adds the missing part checksum). s3d computed it and stored the part.
 */
export function partChecksum(uc: UploadChecksum | undefined, headers: Readonly<Record<string, string>>): Hasher | undefined {
  if (uc === undefined) return undefined;
  // The trailer list read as the payload decoder reads it (`x-amz-checksum-crc32,` names CRC32): a
  // trailing comma hid the trailer's algorithm here, and a part of another one was taken with both.
  const trailers = parseTrailerHeader(headers['x-amz-trailer']);
  const sent = CHECKSUM_ALGORITHMS.find((a) => headers[CHECKSUM_HEADERS[a]] !== undefined || trailers.includes(CHECKSUM_HEADERS[a]));
  const declared = sent ?? (headers['x-amz-sdk-checksum-algorithm']?.trim().toUpperCase() || undefined);
  if (declared !== undefined && declared !== uc.algorithm) {
    throw new S3Error('InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${uc.algorithm.toLowerCase()}, actual checksum Type: ${declared.toLowerCase()}`);
  }
  if (sent === undefined && uc.type === 'COMPOSITE') {
    throw new S3Error('InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${uc.algorithm.toLowerCase()}, actual checksum Type: null`);
  }
  return sent === undefined ? checksumHasher(uc.algorithm) : undefined;
}

/**
 * An element of GF(2)[x]/P as the CRC's register holds it, reflected (the top bit is x^0), in two
 * 32-bit halves, held as int32 (V8 keeps those as small integers; a uint32 past 2^31 is a heap
 * number): plain numbers, not BigInt, whose every operation allocates (combining 10,000 parts of
 * distinct sizes held the event loop 0.5–1.6 s that way). A 32-bit CRC's value is all in `lo`.
 */
type Poly = readonly [hi: number, lo: number];

/** The arithmetic of one CRC. */
interface Crc {
  readonly width: 32 | 64;
  /** The generator polynomial, reflected (a 32-bit CRC's hi is 0). */
  readonly poly: Poly;
  /** x^(2^k) mod P, filled as needed, each with its byte table (`byteTable`). */
  readonly powers: Poly[];
  readonly tables: Int32Array[];
}

const crcSpec = (width: 32 | 64, hi: number, lo: number): Crc => ({ width, poly: [hi | 0, lo | 0], powers: [], tables: [] });

/** The CRCs whose values combine. */
const CRC_POLYNOMIALS: Partial<Record<ChecksumAlgorithm, Crc>> = {
  CRC32: crcSpec(32, 0, 0xedb88320),
  CRC32C: crcSpec(32, 0, 0x82f63b78),
  CRC64NVME: crcSpec(64, 0x9a6c9329, 0xac4bc9b5),
};

/**
 * v·x mod P: reflected, a right shift across the halves, the x^width term that falls out reduced
 * by P (a 32-bit CRC's hi, and its polynomial's, are 0: the same steps do).
 */
function timesX(crc: Crc, hi: number, lo: number): Poly {
  const h = hi >>> 1;
  const l = (lo >>> 1) | (hi << 31);
  return lo & 1 ? [h ^ crc.poly[0], l ^ crc.poly[1]] : [h, l];
}

/** a·b mod P by bits: a's from x^0 up, b times x at each step. Once a piece; the rest use tables. */
function multiply(crc: Crc, a: Poly, b: Poly): Poly {
  let ahi = crc.width === 32 ? a[1] : a[0];
  let alo = crc.width === 32 ? 0 : a[1];
  let bhi = b[0];
  let blo = b[1];
  let phi = 0;
  let plo = 0;
  // Stops when a has no bits left: the rest would add nothing.
  while ((ahi | alo) !== 0) {
    if (ahi < 0) {
      phi ^= bhi;
      plo ^= blo;
    }
    ahi = (ahi << 1) | (alo >>> 31);
    alo <<= 1;
    // b·x, as timesX (inline: no pair allocated 64 times a product).
    const carry = blo & 1;
    blo = (blo >>> 1) | (bhi << 31);
    bhi >>>= 1;
    if (carry !== 0) {
      bhi ^= crc.poly[0];
      blo ^= crc.poly[1];
    }
  }
  return [phi, plo];
}

/**
 * The multiples of p by every byte value at every byte of the register: entries 2·(256·j + v) and
 * the next are hi and lo of v·x^(8j)·p (v's top bit x^0). A product by p is then a look-up a byte.
 */
function byteTable(crc: Crc, p: Poly): Int32Array {
  const table = new Int32Array(crc.width * 64);
  for (let i = 0, v = p; i < crc.width; i++, v = timesX(crc, v[0], v[1])) {
    const at = 2 * (256 * (i >>> 3) + (0x80 >>> (i & 7)));
    table[at] = v[0];
    table[at + 1] = v[1];
  }
  // A byte of several bits: the sum of its lowest bit's multiple and the rest's (filled before it).
  for (let row = 0; row < 256 * (crc.width / 8); row += 256) {
    for (let v = 3; v < 256; v++) {
      const low = v & -v;
      if (low === v) continue;
      const at = 2 * (row + v);
      table[at] = table[2 * (row + low)]! ^ table[2 * (row + v - low)]!;
      table[at + 1] = table[2 * (row + low) + 1]! ^ table[2 * (row + v - low) + 1]!;
    }
  }
  return table;
}

/** a·p mod P from p's byte table. */
function multiplyByTable(crc: Crc, a: Poly, table: Int32Array): Poly {
  let hi = 0;
  let lo = 0;
  // The register's bytes from the top: a 32-bit CRC's are lo's.
  for (let h = crc.width === 32 ? 1 : 0, row = 0; h < 2; h++) {
    for (let v = a[h]!, b = 0; b < 4; b++, row += 256, v <<= 8) {
      const at = 2 * (row + (v >>> 24));
      hi ^= table[at]!;
      lo ^= table[at + 1]!;
    }
  }
  return [hi, lo];
}

/** The byte table of x^(2^k) mod P. */
function power(crc: Crc, k: number): Int32Array {
  const { powers, tables } = crc;
  if (powers.length === 0) {
    // x^1: the register's second bit from the top.
    powers.push(crc.width === 32 ? [0, 1 << 30] : [1 << 30, 0]);
    tables.push(byteTable(crc, powers[0]!));
  }
  while (powers.length <= k) {
    const last = powers.length - 1;
    powers.push(multiplyByTable(crc, powers[last]!, tables[last]!));
    tables.push(byteTable(crc, powers[last + 1]!));
  }
  return tables[k]!;
}

/**
 * The CRC of a concatenation from the CRCs of its pieces and their lengths (zlib's crc32_combine:
 * crc(A‖B) = crc(A)·x^(8·|B|) mod P ⊕ crc(B), which holds for these CRCs, whose initial value and
 * final XOR are all ones). Values are the CRCs as S3 sends them, base64 of the big-endian value.
 */
export function combineCrcs(algorithm: ChecksumAlgorithm, pieces: ReadonlyArray<{ readonly crc: string; readonly size: number }>): string {
  const crc = CRC_POLYNOMIALS[algorithm];
  if (crc === undefined) throw new Error(`${algorithm} values do not combine`);
  const one: Poly = crc.width === 32 ? [0, 1 << 31] : [1 << 31, 0];
  // x^(8n) mod P, once per distinct piece length (all parts but the last usually share one).
  const shifts = new Map<number, Poly>();
  const shift = (n: number): Poly => {
    let p = shifts.get(n);
    if (p !== undefined) return p;
    p = one;
    for (let k = 3, rest = n; rest > 0; k++, rest = Math.floor(rest / 2)) if (rest % 2 === 1) p = multiplyByTable(crc, p, power(crc, k));
    shifts.set(n, p);
    return p;
  };
  const bytes = crc.width / 8;
  let value: Poly = [0, 0];
  for (const piece of pieces) {
    const b = Buffer.from(piece.crc, 'base64');
    // A stored part checksum is always of the algorithm's length (isChecksumValue).
    if (b.length !== bytes) throw new Error(`${algorithm} value of ${b.length} bytes`);
    const s = multiply(crc, shift(piece.size), value);
    value = bytes === 4 ? [0, s[1] ^ b.readInt32BE(0)] : [s[0] ^ b.readInt32BE(0), s[1] ^ b.readInt32BE(4)];
  }
  const out = Buffer.alloc(bytes);
  if (bytes === 4) out.writeInt32BE(value[1], 0);
  else {
    out.writeInt32BE(value[0], 0);
    out.writeInt32BE(value[1], 4);
  }
  return out.toString('base64');
}

/**
 * The completed object's checksum from its parts' (`sums`: each part's, opened; undefined when a
 * part has none: parts stored before s3d kept them).
 */
export async function objectChecksum(uc: UploadChecksum, parts: readonly PartRecord[], sums: ReadonlyArray<Checksums | undefined>): Promise<string | undefined> {
  const values: string[] = [];
  for (const p of sums) {
    const v = p?.[uc.algorithm];
    if (v === undefined) return undefined;
    values.push(v);
  }
  if (uc.type === 'FULL_OBJECT') return combineCrcs(uc.algorithm, parts.map((p, i) => ({ crc: values[i]!, size: p.size })));
  const hasher = checksumHasher(uc.algorithm);
  for (const v of values) hasher.update(Buffer.from(v, 'base64'));
  return `${await digestBase64(hasher)}-${parts.length}`;
}

/**
 * Parts a completion checks between two turns of the event loop: each sealed part checksum opens
 * under its part key (~7-10 µs), 10,000 held the event loop ~70-160 ms in one stretch.
 */
export const PARTS_PER_TURN = 500;

/** Whether every part (one at least) keeps S3's default checksum (PartRecord.defaultChecksum). */
export function hasDefaultChecksums(parts: readonly PartRecord[]): boolean {
  return parts.length > 0 && parts.every((p) => p.defaultChecksum !== undefined);
}

/**
 * A part's default checksum, opened (undefined: none, or sealed and no key to open it). One that is
 * not a single well-formed CRC64NVME (in clear, nothing authenticates it) is a damaged record,
 * refused as one that does not unseal is: combined as it is, it failed the completion with a 500
 * InternalError.
 */
export function partDefault(p: PartRecord, objectKey: Uint8Array | undefined): Checksums | undefined {
  const d = p.defaultChecksum;
  if (d === undefined || (d.sealedChecksums !== undefined && objectKey === undefined)) return undefined;
  const opened = openPartChecksums({ ...d, n: p.n }, objectKey);
  const algs = Object.keys(opened ?? {});
  const value = opened?.[DEFAULT_CHECKSUM];
  if (algs.length !== 1 || value === undefined || !isChecksumValue(DEFAULT_CHECKSUM, value)) {
    throw new S3Error('XMinioObjectTampered', `The default checksum of part ${p.n} in the record is malformed: the record was modified.`);
  }
  return opened;
}

/**
 * The completion's answer for an upload without an algorithm: S3's default, the FULL_OBJECT
 * CRC64NVME of the whole object, combined from its parts' defaults (none read again); undefined
 * when a part has none (stored by an earlier version, or checksummed by its client) or the key to
 * open sealed ones is missing (an SSE-C completion without it). Opened a slice of parts at a time;
 * `known`: the defaults completedParts opened already (those the completion listed), by index.
 */
export async function defaultObjectChecksum(parts: readonly PartRecord[], objectKey: Uint8Array | undefined, known: ReadonlyArray<Checksums | undefined> = []): Promise<Checksums | undefined> {
  const sums: Array<Checksums | undefined> = [];
  for (const [i, p] of parts.entries()) {
    if (i > 0 && i % PARTS_PER_TURN === 0) await nextTurn();
    const opened = known[i] ?? partDefault(p, objectKey);
    if (opened === undefined) return undefined;
    sums.push(opened);
  }
  const value = await objectChecksum({ algorithm: DEFAULT_CHECKSUM, type: 'FULL_OBJECT' }, parts, sums);
  return value === undefined ? undefined : { [DEFAULT_CHECKSUM]: value };
}

/**
 * Whether the checksums a completion lists for a part of an upload without an algorithm are its
 * default as UploadPart answered it: a CRC64NVME alone, the part's own (`opened`, partDefault's;
 * not compared when sealed and no key opens it).
 */
export function listedDefault(listed: Readonly<Record<string, string>>, p: PartRecord, opened: Checksums | undefined): boolean {
  const algs = Object.keys(listed);
  if (p.defaultChecksum === undefined || algs.length !== 1 || algs[0] !== DEFAULT_CHECKSUM) return false;
  return opened === undefined || opened[DEFAULT_CHECKSUM] === listed[DEFAULT_CHECKSUM];
}

/**
 * CompleteMultipartUpload's x-amz-checksum-type and x-amz-checksum-* headers: the object's type
 * and expected checksum (not the XML body's; the payload decoder leaves them alone for this
 * operation). Returns the expected value, checked once the object checksum is formed.
 */
export function expectedObjectChecksum(uc: UploadChecksum | undefined, headers: Readonly<Record<string, string>>): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  const type = headers['x-amz-checksum-type']?.trim().toUpperCase();
  if (type !== undefined && type !== '') {
    if (type !== 'COMPOSITE' && type !== 'FULL_OBJECT') throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
    if (uc === undefined) throw new S3Error('InvalidRequest', 'The upload was created without a checksum algorithm: x-amz-checksum-type does not apply.');
    if (type !== uc.type) throw new S3Error('InvalidRequest', `The upload was created using the ${uc.type} checksum mode. The complete request must use the same checksum mode.`);
  }
  const sent = CHECKSUM_ALGORITHMS.filter((a) => headers[CHECKSUM_HEADERS[a]] !== undefined);
  // An upload created without an algorithm has no object checksum to hold one to: S3 completes it
  // and ignores the header, matching or not (OpenStack Swift's AWS-checked tests).
  if (sent.length === 0 || uc === undefined) return undefined;
  if (sent.length > 1) throw multipleChecksums();
  const algorithm = sent[0]!;
  const value = headers[CHECKSUM_HEADERS[algorithm]]!.trim();
  const m = /^(.*?)(-\d{1,5})?$/.exec(value)!;
  if (!isChecksumValue(algorithm, m[1]!) || (m[2] !== undefined && uc?.type !== 'COMPOSITE')) {
    throw new S3Error('InvalidRequest', `Value for ${CHECKSUM_HEADERS[algorithm]} header is invalid.`);
  }
  if (uc === undefined || uc.algorithm !== algorithm) {
    throw new S3Error('InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${uc?.algorithm.toLowerCase() ?? 'null'}, actual checksum Type: ${algorithm.toLowerCase()}`);
  }
  return { algorithm, value };
}

/** Whether the client's expected object checksum is the computed one (a COMPOSITE value may leave out its "-N"). */
export function sameObjectChecksum(expected: string, computed: string): boolean {
  return expected === computed || (!expected.includes('-') && computed.startsWith(`${expected}-`));
}

/** ListParts' and ListMultipartUploads' ChecksumAlgorithm and ChecksumType of an upload. */
export function uploadChecksumElements(up: UploadRecord): XmlObject {
  const uc = uploadChecksum(up);
  return uc ? { ChecksumAlgorithm: uc.algorithm, ChecksumType: uc.type } : {};
}
