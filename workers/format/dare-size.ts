// DARE 2.0 size arithmetic and the plaintext-range → package-range plan of a ranged GET
// (minio-sse.md §1.7–1.8).
import { MAX_PAYLOAD, MAX_PLAINTEXT, OVERHEAD, PACKAGE_SIZE } from './dare-header.js';

function checkCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${n}`);
}

/** Stored size of a stream holding `plaintextSize` bytes. */
export function encryptedSize(plaintextSize: number): number {
  checkCount('plaintext size', plaintextSize);
  if (plaintextSize > MAX_PLAINTEXT) throw new RangeError(`plaintext size exceeds the DARE limit of 2^48 bytes`);
  const rest = plaintextSize % MAX_PAYLOAD;
  return Math.floor(plaintextSize / MAX_PAYLOAD) * PACKAGE_SIZE + (rest === 0 ? 0 : rest + OVERHEAD);
}

/** Plaintext size of a stored stream; throws on a size no DARE 2.0 stream can have. */
export function decryptedSize(ciphertextSize: number): number {
  checkCount('ciphertext size', ciphertextSize);
  const rest = ciphertextSize % PACKAGE_SIZE;
  if (rest !== 0 && rest <= OVERHEAD) throw new RangeError(`${ciphertextSize} is not a valid DARE ciphertext size`);
  const plain = Math.floor(ciphertextSize / PACKAGE_SIZE) * MAX_PAYLOAD + (rest === 0 ? 0 : rest - OVERHEAD);
  if (plain > MAX_PLAINTEXT) throw new RangeError(`${ciphertextSize} exceeds the DARE limit of 2^48 plaintext bytes`);
  return plain;
}

export function isValidEncryptedSize(ciphertextSize: number): boolean {
  try {
    decryptedSize(ciphertextSize);
    return true;
  } catch {
    return false;
  }
}

export interface RangePlan {
  /** First ciphertext byte to read: a package boundary. */
  encryptedOffset: number;
  /** Ciphertext bytes to read: whole packages. */
  encryptedLength: number;
  /** Sequence number of the first package read. */
  firstSequence: number;
  /** Plaintext bytes to drop from the first package. */
  skip: number;
  /** Plaintext bytes to return after `skip`. */
  length: number;
  /** The read reaches the stream's last package, so it must see the final flag. */
  expectFinal: boolean;
}

/**
 * Maps the plaintext range [offset, offset+length) of a single DARE stream of `objectPlainSize`
 * bytes to the whole packages that hold it (MinIO `GetDecryptedRange`, single-part branch).
 * A zero-length plan is only valid at offset 0 (the whole of an empty object, or nothing).
 */
export function planRange(objectPlainSize: number, offset: number, length: number): RangePlan {
  checkCount('object size', objectPlainSize);
  checkCount('range offset', offset);
  checkCount('range length', length);
  const total = encryptedSize(objectPlainSize);
  if (length === 0) {
    if (offset !== 0) throw new RangeError('an empty range must start at offset 0');
    return { encryptedOffset: 0, encryptedLength: 0, firstSequence: 0, skip: 0, length: 0, expectFinal: objectPlainSize === 0 };
  }
  if (offset + length > objectPlainSize) {
    throw new RangeError(`range [${offset}, ${offset + length}) exceeds the object size ${objectPlainSize}`);
  }
  const startPkg = Math.floor(offset / MAX_PAYLOAD);
  const endPkg = Math.floor((offset + length - 1) / MAX_PAYLOAD);
  const encryptedOffset = startPkg * PACKAGE_SIZE;
  const encryptedEnd = Math.min((endPkg + 1) * PACKAGE_SIZE, total);
  return {
    encryptedOffset,
    encryptedLength: encryptedEnd - encryptedOffset,
    firstSequence: startPkg,
    skip: offset - startPkg * MAX_PAYLOAD,
    length,
    expectFinal: encryptedEnd === total,
  };
}
