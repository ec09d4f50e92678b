// MinIO's object-key scheme (minio-sse.md §2.2–2.10): the object key from an external key, its
// sealing bound to (domain, bucket/object), part keys, ETag sealing and metadata subkeys.
import { createHmac } from 'node:crypto';
import { secureRandom } from '../../workers/format/random.js';
import { DareError, KEY_SIZE, RANDOM_SIZE, openBuffer, sealBuffer } from '../../workers/format/index.js';

export type SseDomain = 'SSE-S3' | 'SSE-KMS' | 'SSE-C';
export const SEAL_ALGORITHM = 'DAREv2-HMAC-SHA256';
export type SealAlgorithm = typeof SEAL_ALGORITHM;
export const SEALED_KEY_SIZE = 64;
export const IV_SIZE = 32;
export type MetadataSubkeyLabel = 'object-checksum' | 'compression-index';

const GENERATION_LABEL = 'object-encryption-key generation';
const ETAG_LABEL = 'SSE-etag';

/** The sealed key does not open with this external key, IV and path (MinIO ErrSecretKeyMismatch). */
export class SecretKeyMismatchError extends Error {
  readonly code = 'SecretKeyMismatch';
  constructor(options?: { cause?: unknown }) {
    super('The secret key does not match the one used to seal the object key', options);
    this.name = 'SecretKeyMismatchError';
  }
}

export interface SealedObjectKey {
  /** DARE 2.0 stream of the 32-byte object key: always 64 bytes. */
  sealedKey: Buffer;
  /** The 32 random bytes mixed into the sealing key; stored next to the sealed key. */
  iv: Buffer;
  algorithm: SealAlgorithm;
}

function checkLength(name: string, b: Uint8Array, n: number): void {
  if (b.length !== n) throw new RangeError(`${name} must be ${n} bytes, got ${b.length}`);
}

function hmac(key: Uint8Array, ...parts: (Uint8Array | string)[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Go's `path.Clean`: collapses `//` and `.`, resolves `..`, drops a trailing slash. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** Go's `path.Join(bucket, object)`: the canonical path a sealed key is bound to. */
export function canonicalObjectPath(bucket: string, object: string): string {
  const parts = [bucket, object].filter((s) => s !== '');
  return parts.length === 0 ? '' : cleanPath(parts.join('/'));
}

/** OEK = HMAC-SHA256(EK, "object-encryption-key generation" ‖ R), R = 32 fresh random bytes. */
export function generateObjectKey(externalKey: Uint8Array, random32: Uint8Array = secureRandom(32)): Buffer {
  checkLength('external key', externalKey, KEY_SIZE);
  checkLength('generation random', random32, 32);
  return hmac(externalKey, GENERATION_LABEL, random32);
}

/** KEK = HMAC-SHA256(EK, IV ‖ domain ‖ "DAREv2-HMAC-SHA256" ‖ path.Join(bucket, object)). */
export function sealingKey(externalKey: Uint8Array, iv: Uint8Array, domain: SseDomain, bucket: string, object: string): Buffer {
  checkLength('external key', externalKey, KEY_SIZE);
  checkLength('IV', iv, IV_SIZE);
  return hmac(externalKey, iv, domain, SEAL_ALGORITHM, canonicalObjectPath(bucket, object));
}

export function sealObjectKey(
  objectKey: Uint8Array,
  externalKey: Uint8Array,
  domain: SseDomain,
  bucket: string,
  object: string,
  iv32: Uint8Array = secureRandom(IV_SIZE),
  dareNonce: Uint8Array = secureRandom(RANDOM_SIZE),
): SealedObjectKey {
  checkLength('object key', objectKey, KEY_SIZE);
  const kek = sealingKey(externalKey, iv32, domain, bucket, object);
  try {
    return { sealedKey: sealBuffer(kek, objectKey, dareNonce), iv: Buffer.from(iv32), algorithm: SEAL_ALGORITHM };
  } finally {
    kek.fill(0);
  }
}

/** Recovers the object key; any mismatch of key, IV, domain or path throws SecretKeyMismatchError. */
export function unsealObjectKey(
  sealed: Uint8Array,
  externalKey: Uint8Array,
  domain: SseDomain,
  bucket: string,
  object: string,
  iv: Uint8Array,
): Buffer {
  if (sealed.length !== SEALED_KEY_SIZE) throw new SecretKeyMismatchError();
  const kek = sealingKey(externalKey, iv, domain, bucket, object);
  let key: Buffer;
  try {
    key = openBuffer(kek, sealed);
  } catch (err) {
    if (err instanceof DareError) throw new SecretKeyMismatchError({ cause: err });
    throw err;
  } finally {
    kek.fill(0);
  }
  if (key.length !== KEY_SIZE) throw new SecretKeyMismatchError();
  // openBuffer returns a view of a larger scratch buffer: hand back an exact copy, wipe the rest.
  const exact = Buffer.from(key);
  key.fill(0);
  return exact;
}

/** Part key = HMAC-SHA256(OEK, uint32-LE(partNumber)); part numbers are S3's 1…10000. */
export function derivePartKey(objectKey: Uint8Array, partNumber: number): Buffer {
  checkLength('object key', objectKey, KEY_SIZE);
  if (!Number.isInteger(partNumber) || partNumber < 0 || partNumber > 0xffffffff) {
    throw new RangeError(`part number must be a uint32, got ${partNumber}`);
  }
  const n = Buffer.alloc(4);
  n.writeUInt32LE(partNumber);
  return hmac(objectKey, n);
}

export function etagKey(objectKey: Uint8Array): Buffer {
  checkLength('object key', objectKey, KEY_SIZE);
  return hmac(objectKey, ETAG_LABEL);
}

/** HMAC-SHA256(OEK, label): DARE keys for encrypted checksums and compression indexes. */
export function metadataSubkey(objectKey: Uint8Array, label: MetadataSubkeyLabel): Buffer {
  checkLength('object key', objectKey, KEY_SIZE);
  return hmac(objectKey, label);
}

/** The stored ETag: DARE 2.0 of the 16-byte MD5 under etagKey (48 bytes). Empty stays empty. */
export function sealETag(objectKey: Uint8Array, md5: Uint8Array, nonce: Uint8Array = secureRandom(RANDOM_SIZE)): Buffer {
  const k = etagKey(objectKey);
  try {
    return sealBuffer(k, md5, nonce);
  } finally {
    k.fill(0);
  }
}

/** Opens a sealed ETag; throws a DareError if it was not sealed under this object key. */
export function unsealETag(objectKey: Uint8Array, sealedETag: Uint8Array): Buffer {
  const k = etagKey(objectKey);
  try {
    return Buffer.from(openBuffer(k, sealedETag));
  } finally {
    k.fill(0);
  }
}

/** Metadata sealed under the object key (MinIO's metadataEncrypter): DARE 2.0 of `data` under metadataSubkey(objectKey, label). */
export function sealMetadata(objectKey: Uint8Array, label: MetadataSubkeyLabel, data: Uint8Array, nonce: Uint8Array = secureRandom(RANDOM_SIZE)): Buffer {
  const k = metadataSubkey(objectKey, label);
  try {
    return sealBuffer(k, data, nonce);
  } finally {
    k.fill(0);
  }
}

/** Opens sealed metadata; throws a DareError if it was not sealed under this object key and label. */
export function unsealMetadata(objectKey: Uint8Array, label: MetadataSubkeyLabel, sealed: Uint8Array): Buffer {
  const k = metadataSubkey(objectKey, label);
  try {
    return Buffer.from(openBuffer(k, sealed));
  } finally {
    k.fill(0);
  }
}
