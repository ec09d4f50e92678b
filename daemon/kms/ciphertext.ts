// The KES / MinIO built-in KMS ciphertext of a data key: sealing (current "v3" layout) and opening
// (v3 plus the legacy JSON and MessagePack layouts), AES-256-GCM and ChaCha20-Poly1305 keys.
// Layout facts: shared/reference/kes-api.md §4 and test/vectors/kes-wire.json `ciphertext_layout`.

import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { secureRandom } from '../../workers/format/random.js';
import type { CipherChaCha20Poly1305, CipherGCM, DecipherChaCha20Poly1305, DecipherGCM } from 'node:crypto';
import { KmsError } from './provider.js';

/** Algorithm of a master key (KES `algorithm` names at HEAD). */
export type KesAlgorithm = 'AES256' | 'ChaCha20';

export const IV_SIZE = 16;
export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;
export const KEY_SIZE = 32;
/** Bytes a v3 ciphertext adds to its plaintext: tag + IV + nonce (a 32-byte DEK gives 76). */
export const V3_OVERHEAD = TAG_SIZE + IV_SIZE + NONCE_SIZE;

/** The one message KES sends for every decryption failure; used for NotAuthentic errors. */
export const NOT_AUTHENTIC_MESSAGE = 'decryption failed: ciphertext is not authentic';

export type CiphertextFormat = 'v3' | 'legacy-json' | 'legacy-msgpack';

export interface ParsedCiphertext {
  format: CiphertextFormat;
  /** Only the legacy layouts name their algorithm; v3 leaves it to the stored key's type. */
  algorithm: KesAlgorithm | undefined;
  iv: Buffer;
  nonce: Buffer;
  /** AEAD output: ciphertext ‖ 16-byte tag. */
  sealed: Buffer;
}

export interface SealOptions {
  algorithm?: KesAlgorithm;
  /** Fixed IV / nonce, for known-answer tests only; fresh random bytes otherwise. */
  iv?: Buffer;
  nonce?: Buffer;
}

export interface OpenOptions {
  /** Type of the master key; decides the cipher of v3 ciphertexts. Default AES256. */
  algorithm?: KesAlgorithm;
  /**
   * Reject a legacy ciphertext whose algorithm differs from `algorithm` (a KES key has one type).
   * MinIO's built-in single key accepts either cipher, so the static provider leaves this off.
   */
  strictAlgorithm?: boolean;
}

function notAuthentic(cause?: unknown): KmsError {
  return new KmsError('NotAuthentic', NOT_AUTHENTIC_MESSAGE, { status: 400, cause });
}

function checkKey(masterKey: Buffer): void {
  if (masterKey.length !== KEY_SIZE) {
    throw new KmsError('Internal', `master key must be ${KEY_SIZE} bytes, got ${masterKey.length}`);
  }
}

// HChaCha20 (RFC 8439 block function without the final addition; draft-irtf-cfrg-xchacha §2.2):
// derives a 32-byte subkey from the master key and the 16-byte IV. Node has no built-in for it.
export function hchacha20(key: Buffer, input: Buffer): Buffer {
  if (key.length !== 32 || input.length !== 16) throw new RangeError('hchacha20 needs a 32-byte key and 16-byte input');
  const s = new Uint32Array(16);
  s[0] = 0x61707865; s[1] = 0x3320646e; s[2] = 0x79622d32; s[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) s[4 + i] = key.readUInt32LE(i * 4);
  for (let i = 0; i < 4; i++) s[12 + i] = input.readUInt32LE(i * 4);
  const rotl = (v: number, n: number): number => ((v << n) | (v >>> (32 - n))) >>> 0;
  const qr = (a: number, b: number, c: number, d: number): void => {
    s[a] = (s[a]! + s[b]!) >>> 0; s[d] = rotl(s[d]! ^ s[a]!, 16);
    s[c] = (s[c]! + s[d]!) >>> 0; s[b] = rotl(s[b]! ^ s[c]!, 12);
    s[a] = (s[a]! + s[b]!) >>> 0; s[d] = rotl(s[d]! ^ s[a]!, 8);
    s[c] = (s[c]! + s[d]!) >>> 0; s[b] = rotl(s[b]! ^ s[c]!, 7);
  };
  for (let round = 0; round < 10; round++) {
    qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
    qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
  }
  const out = Buffer.alloc(32);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(s[i]!, i * 4);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(s[12 + i]!, 16 + i * 4);
  s.fill(0);
  return out;
}

/** Per-message sealing key: HMAC-SHA256(master, IV) for AES256, HChaCha20(master, IV) for ChaCha20. */
function sealingKey(masterKey: Buffer, iv: Buffer, algorithm: KesAlgorithm): Buffer {
  return algorithm === 'AES256' ? createHmac('sha256', masterKey).update(iv).digest() : hchacha20(masterKey, iv);
}

function newCipher(algorithm: KesAlgorithm, key: Buffer, nonce: Buffer): CipherGCM | CipherChaCha20Poly1305 {
  const opts = { authTagLength: TAG_SIZE };
  return algorithm === 'AES256'
    ? createCipheriv('aes-256-gcm', key, nonce, opts)
    : createCipheriv('chacha20-poly1305', key, nonce, opts);
}

function newDecipher(algorithm: KesAlgorithm, key: Buffer, nonce: Buffer): DecipherGCM | DecipherChaCha20Poly1305 {
  const opts = { authTagLength: TAG_SIZE };
  return algorithm === 'AES256'
    ? createDecipheriv('aes-256-gcm', key, nonce, opts)
    : createDecipheriv('chacha20-poly1305', key, nonce, opts);
}

/** Seal `plaintext` in the current layout: AEAD output ‖ IV(16) ‖ nonce(12); AAD = context bytes. */
export function sealCiphertext(masterKey: Buffer, plaintext: Buffer, context: Buffer, options: SealOptions = {}): Buffer {
  checkKey(masterKey);
  const algorithm = options.algorithm ?? 'AES256';
  const iv = options.iv ?? secureRandom(IV_SIZE);
  const nonce = options.nonce ?? secureRandom(NONCE_SIZE);
  if (iv.length !== IV_SIZE || nonce.length !== NONCE_SIZE) throw new RangeError('iv must be 16 bytes and nonce 12 bytes');
  const key = sealingKey(masterKey, iv, algorithm);
  try {
    const cipher = newCipher(algorithm, key, nonce);
    cipher.setAAD(context, { plaintextLength: plaintext.length });
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    return Buffer.concat([head, tail, cipher.getAuthTag(), iv, nonce]);
  } finally {
    key.fill(0);
  }
}

const LEGACY_ALGORITHMS: Readonly<Record<string, KesAlgorithm>> = {
  'AES-256-GCM-HMAC-SHA-256': 'AES256',
  'AES256-GCM_SHA256': 'AES256',
  AES256: 'AES256',
  ChaCha20Poly1305: 'ChaCha20',
  'XCHACHA20-POLY1305': 'ChaCha20',
  ChaCha20: 'ChaCha20',
};

// Go's encoding/json decodes []byte with base64.StdEncoding: padding required, CR/LF ignored.
function strictBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value.replace(/[\r\n]/g, '');
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

function parseLegacyJson(ct: Buffer): ParsedCiphertext | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(ct.toString('utf8'));
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const o = doc as Record<string, unknown>;
  const algorithm = typeof o.aead === 'string' ? LEGACY_ALGORITHMS[o.aead] : undefined;
  const iv = strictBase64(o.iv);
  const nonce = strictBase64(o.nonce);
  const sealed = strictBase64(o.bytes);
  if (!algorithm || !iv || !nonce || !sealed || iv.length !== IV_SIZE || nonce.length !== NONCE_SIZE) return undefined;
  return { format: 'legacy-json', algorithm, iv, nonce, sealed };
}

// The subset of MessagePack the v2 layout uses: fixarray(5) [str, str, bin, bin, bin].
function parseLegacyMsgpack(ct: Buffer): ParsedCiphertext | undefined {
  let pos = 1; // past 0x95
  const take = (n: number): Buffer | undefined => {
    if (pos + n > ct.length) return undefined;
    const b = ct.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const len = (bytes: number): number | undefined => {
    const b = take(bytes);
    if (!b) return undefined;
    return bytes === 1 ? b[0]! : bytes === 2 ? b.readUInt16BE(0) : b.readUInt32BE(0);
  };
  const str = (): string | undefined => {
    const tag = take(1)?.[0];
    if (tag === undefined) return undefined;
    let n: number | undefined;
    if (tag >= 0xa0 && tag <= 0xbf) n = tag & 0x1f;
    else if (tag === 0xd9) n = len(1);
    else if (tag === 0xda) n = len(2);
    else if (tag === 0xdb) n = len(4);
    if (n === undefined) return undefined;
    return take(n)?.toString('utf8');
  };
  const bin = (): Buffer | undefined => {
    const tag = take(1)?.[0];
    const n = tag === 0xc4 ? len(1) : tag === 0xc5 ? len(2) : tag === 0xc6 ? len(4) : undefined;
    return n === undefined ? undefined : take(n);
  };
  const algName = str();
  const keyId = str();
  const iv = bin();
  const nonce = bin();
  const sealed = bin();
  if (algName === undefined || keyId === undefined || !iv || !nonce || !sealed || pos !== ct.length) return undefined;
  const algorithm = LEGACY_ALGORITHMS[algName];
  if (!algorithm || iv.length !== IV_SIZE || nonce.length !== NONCE_SIZE) return undefined;
  return { format: 'legacy-msgpack', algorithm, iv, nonce, sealed };
}

/**
 * Split a ciphertext into its parts. Like KES, the first byte picks a legacy parser (`{` JSON,
 * 0x95 MessagePack) and a blob that does not parse as legacy is taken as v3. Blobs of 28 bytes or
 * fewer cannot be v3 and are rejected as not authentic.
 */
export function parseCiphertext(ciphertext: Buffer): ParsedCiphertext {
  if (ciphertext.length > 0 && ciphertext[0] === 0x7b) {
    const legacy = parseLegacyJson(ciphertext);
    if (legacy) return legacy;
  } else if (ciphertext.length > 0 && ciphertext[0] === 0x95) {
    const legacy = parseLegacyMsgpack(ciphertext);
    if (legacy) return legacy;
  }
  if (ciphertext.length <= IV_SIZE + NONCE_SIZE) throw notAuthentic();
  const n = ciphertext.length;
  return {
    format: 'v3',
    algorithm: undefined,
    sealed: ciphertext.subarray(0, n - IV_SIZE - NONCE_SIZE),
    iv: ciphertext.subarray(n - IV_SIZE - NONCE_SIZE, n - NONCE_SIZE),
    nonce: ciphertext.subarray(n - NONCE_SIZE),
  };
}

/** Open a data-key ciphertext; every failure is KmsError `NotAuthentic` (KES's one message). */
export function openCiphertext(masterKey: Buffer, ciphertext: Buffer, context: Buffer, options: OpenOptions = {}): Buffer {
  checkKey(masterKey);
  const keyAlgorithm = options.algorithm ?? 'AES256';
  const parsed = parseCiphertext(ciphertext);
  if (parsed.algorithm && options.strictAlgorithm && parsed.algorithm !== keyAlgorithm) throw notAuthentic();
  const algorithm = parsed.algorithm ?? keyAlgorithm;
  if (parsed.sealed.length < TAG_SIZE) throw notAuthentic();
  const key = sealingKey(masterKey, parsed.iv, algorithm);
  let head: Buffer | undefined;
  try {
    const body = parsed.sealed.subarray(0, parsed.sealed.length - TAG_SIZE);
    const tag = parsed.sealed.subarray(parsed.sealed.length - TAG_SIZE);
    const decipher = newDecipher(algorithm, key, parsed.nonce);
    decipher.setAAD(context, { plaintextLength: body.length });
    decipher.setAuthTag(tag);
    head = decipher.update(body);
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch (err) {
    head?.fill(0); // unauthenticated bytes never leave this function
    throw notAuthentic(err);
  } finally {
    key.fill(0);
  }
}
