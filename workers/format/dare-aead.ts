// The AEAD of one DARE 2.0 package (header ‖ payload ‖ tag) in both directions, over
// caller-owned buffers. Only this file calls node:crypto's cipher API.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { CipherGCM, DecipherGCM, CipherChaCha20Poly1305, DecipherChaCha20Poly1305 } from 'node:crypto';
import { DareError } from './dare-error.js';
import { CipherSuite, HEADER_SIZE, TAG_SIZE, encodeHeader, packageNonce } from './dare-header.js';

// One scratch nonce per thread: every call below is synchronous, so it is never shared.
const nonce = Buffer.alloc(12);

function cipherFor(suite: CipherSuite, key: Uint8Array, iv: Uint8Array): CipherGCM | CipherChaCha20Poly1305 {
  return suite === CipherSuite.AES_256_GCM
    ? createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_SIZE })
    : createCipheriv('chacha20-poly1305', key, iv, { authTagLength: TAG_SIZE });
}

function decipherFor(suite: CipherSuite, key: Uint8Array, iv: Uint8Array): DecipherGCM | DecipherChaCha20Poly1305 {
  return suite === CipherSuite.AES_256_GCM
    ? createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_SIZE })
    : createDecipheriv('chacha20-poly1305', key, iv, { authTagLength: TAG_SIZE });
}

/**
 * Seals one package of `plaintext` (1…65 536 bytes) into `out` at `off`; returns the bytes
 * written (plaintext length + 32). `plaintext` must not overlap the output range.
 */
export function sealPackageInto(
  out: Uint8Array,
  off: number,
  key: Uint8Array,
  random: Uint8Array,
  sequence: number,
  final: boolean,
  plaintext: Uint8Array,
  suite: CipherSuite = CipherSuite.AES_256_GCM,
): number {
  const n = plaintext.length;
  encodeHeader(out, off, suite, n, final, random);
  const c = cipherFor(suite, key, packageNonce(out, off, sequence, nonce));
  c.setAAD(out.subarray(off, off + 4), { plaintextLength: n });
  // update() always allocates its output; at ≤ 64 KiB that is a cheap heap allocation (perf B2).
  const ct = c.update(plaintext);
  const tail = c.final();
  out.set(ct, off + HEADER_SIZE);
  if (tail.length !== 0) out.set(tail, off + HEADER_SIZE + ct.length);
  out.set(c.getAuthTag(), off + HEADER_SIZE + n);
  return n + HEADER_SIZE + TAG_SIZE;
}

/**
 * Opens one package whose header has already been checked (`payloadLength` taken from it):
 * verifies the tag and only then copies the plaintext to `out` at `outOff`.
 */
export function openPackageInto(
  out: Uint8Array,
  outOff: number,
  key: Uint8Array,
  pkg: Uint8Array,
  pkgOff: number,
  payloadLength: number,
  sequence: number,
  suite: CipherSuite,
): number {
  const d = decipherFor(suite, key, packageNonce(pkg, pkgOff, sequence, nonce));
  d.setAAD(pkg.subarray(pkgOff, pkgOff + 4), { plaintextLength: payloadLength });
  const ctEnd = pkgOff + HEADER_SIZE + payloadLength;
  d.setAuthTag(pkg.subarray(ctEnd, ctEnd + TAG_SIZE));
  const pt = d.update(pkg.subarray(pkgOff + HEADER_SIZE, ctEnd));
  let tail: Buffer;
  try {
    tail = d.final();
  } catch (err) {
    throw new DareError('NotAuthentic', 'DARE: package authentication failed', { cause: err });
  }
  out.set(pt, outOff);
  if (tail.length !== 0) out.set(tail, outOff + pt.length);
  return payloadLength;
}
