// Flexible checksums of multipart uploads, as S3 has them: an upload created with
// x-amz-checksum-algorithm (and x-amz-checksum-type) has a checksum of that algorithm on every part
// (the client's, verified, or computed while the part is stored), and the completed object gets
// one formed from the parts': COMPOSITE, the hash of the concatenated binary part checksums and
// "-N", or FULL_OBJECT, the CRC of the whole object combined from the part CRCs and sizes (no data
// is read again). Pure but for hashing: the handlers are multipart.ts's.

import { CHECKSUM_ALGORITHMS, CHECKSUM_HEADERS, checksumHasher, isChecksumValue, multipleChecksums, type ChecksumAlgorithm, type Hasher } from '../auth/payload.js';
import { S3Error } from '../errors.js';
import type { PartRecord, UploadRecord } from '../meta/records.js';
import type { Checksums } from '../sse/checksums.js';
import { digestBase64, parseChecksumAlgorithm } from './checksums.js';
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
 * or trailer, verified by the payload decoder) when it sent one of the upload's algorithm, else a
 * hasher to run over the body. Another algorithm (also as the SDK's x-amz-sdk-checksum-algorithm)
 * is refused before the body is read.
 */
export function partChecksum(uc: UploadChecksum | undefined, headers: Readonly<Record<string, string>>): Hasher | undefined {
  if (uc === undefined) return undefined;
  const trailer = headers['x-amz-trailer']?.trim().toLowerCase();
  const sent = CHECKSUM_ALGORITHMS.find((a) => headers[CHECKSUM_HEADERS[a]] !== undefined || CHECKSUM_HEADERS[a] === trailer);
  const declared = sent ?? (headers['x-amz-sdk-checksum-algorithm']?.trim().toUpperCase() || undefined);
  if (declared !== undefined && declared !== uc.algorithm) {
    throw new S3Error('InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${uc.algorithm.toLowerCase()}, actual checksum Type: ${declared.toLowerCase()}`);
  }
  return sent === undefined ? checksumHasher(uc.algorithm) : undefined;
}

/** Reflected generator polynomials (and widths) of the CRCs whose values combine. */
const CRC_POLYNOMIALS: Partial<Record<ChecksumAlgorithm, { readonly width: number; readonly poly: bigint }>> = {
  CRC32: { width: 32, poly: 0xedb88320n },
  CRC32C: { width: 32, poly: 0x82f63b78n },
  CRC64NVME: { width: 64, poly: 0x9a6c9329ac4bc9b5n },
};

/** x^(2^k) mod P per algorithm, filled as needed (reflected: the top bit is x^0). */
const CRC_POWERS = new Map<ChecksumAlgorithm, bigint[]>();

/**
 * The CRC of a concatenation from the CRCs of its pieces and their lengths (zlib's crc32_combine:
 * crc(A‖B) = crc(A)·x^(8·|B|) mod P ⊕ crc(B), which holds for these CRCs, whose initial value and
 * final XOR are all ones). Values are the CRCs as S3 sends them, base64 of the big-endian value.
 */
export function combineCrcs(algorithm: ChecksumAlgorithm, pieces: ReadonlyArray<{ readonly crc: string; readonly size: number }>): string {
  const spec = CRC_POLYNOMIALS[algorithm];
  if (spec === undefined) throw new Error(`${algorithm} values do not combine`);
  const width = BigInt(spec.width);
  const one = 1n << (width - 1n);
  const multiply = (a: bigint, b: bigint): bigint => {
    let p = 0n;
    for (let m = one; m !== 0n; m >>= 1n) {
      if ((a & m) !== 0n) p ^= b;
      b = (b & 1n) !== 0n ? (b >> 1n) ^ spec.poly : b >> 1n;
    }
    return p;
  };
  let powers = CRC_POWERS.get(algorithm);
  if (powers === undefined) CRC_POWERS.set(algorithm, (powers = [one >> 1n]));
  const power = (k: number): bigint => {
    while (powers.length <= k) powers.push(multiply(powers[powers.length - 1]!, powers[powers.length - 1]!));
    return powers[k]!;
  };
  // x^(8n) mod P, once per distinct piece length (all parts but the last usually share one).
  const shifts = new Map<number, bigint>();
  const shift = (n: number): bigint => {
    let p = shifts.get(n);
    if (p !== undefined) return p;
    p = one;
    for (let k = 3, rest = n; rest > 0; k++, rest = Math.floor(rest / 2)) if (rest % 2 === 1) p = multiply(power(k), p);
    shifts.set(n, p);
    return p;
  };
  const bytes = spec.width / 8;
  let crc = 0n;
  for (const { crc: value, size } of pieces) {
    const piece = BigInt(`0x${Buffer.from(value, 'base64').toString('hex')}`);
    crc = multiply(shift(size), crc) ^ piece;
  }
  return Buffer.from(crc.toString(16).padStart(bytes * 2, '0'), 'hex').toString('base64');
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
