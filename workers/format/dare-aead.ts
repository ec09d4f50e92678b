// The AEAD of one DARE 2.0 package (header ‖ payload ‖ tag) in both directions, over
// caller-owned buffers. Only this file calls node:crypto's cipher API. AES-256-GCM goes through
// the native binding (aead-native.ts: OpenSSL writing into the caller's buffers, about twice
// node:crypto's speed) where it was built and loads; ChaCha20-Poly1305, which s3d only reads,
// and every package without the binding go through node:crypto. Both give the same bytes.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { CipherGCM, DecipherGCM, CipherChaCha20Poly1305, DecipherChaCha20Poly1305 } from 'node:crypto';
import { type NativeAead, type NativeAeadLoad, loadNativeAead } from './aead-native.js';
import { DareError } from './dare-error.js';
import { CipherSuite, HEADER_SIZE, TAG_SIZE, encodeHeader, packageNonce } from './dare-header.js';

const nativeLoad: NativeAeadLoad = loadNativeAead();
let native: NativeAead | undefined = nativeLoad.binding;

/** Which AES-256-GCM this thread uses, and why not the native one when it does not. */
export function aeadImplementation(): { native: boolean; file: string; reason?: string; byDesign?: boolean } {
  return { native: native !== undefined, file: nativeLoad.file, reason: native !== undefined ? undefined : nativeLoad.reason ?? 'switched off', byDesign: nativeLoad.byDesign };
}

/**
 * Chooses this thread's AES-256-GCM: `native` (only where the binding loaded) or `node` (node:crypto).
 * For tests that check both against the same vectors; returns the previous choice.
 */
export function useAeadImplementation(which: 'native' | 'node'): 'native' | 'node' {
  const previous = native !== undefined ? 'native' : 'node';
  if (which === 'native' && nativeLoad.binding === undefined) throw new Error(`the native AES binding is not loaded: ${nativeLoad.reason}`);
  native = which === 'native' ? nativeLoad.binding : undefined;
  return previous;
}

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
  if (native !== undefined && suite === CipherSuite.AES_256_GCM) {
    native.seal(out, off, key, packageNonce(out, off, sequence, nonce), plaintext);
    return n + HEADER_SIZE + TAG_SIZE;
  }
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
 * Opens one package whose header has already been checked (`payloadLength` taken from it) into
 * `out` at `outOff`, throwing NotAuthentic when its tag does not match. node:crypto decrypts
 * aside and copies only after the check; the native binding decrypts into `out` and zeroes the
 * range on a mismatch before returning. So while this runs `out` may hold unauthenticated
 * plaintext: nothing may read it (another thread through shared memory included) until the call
 * has returned or thrown, as the open pipeline guarantees (a slot is read or released only after
 * its task settled).
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
  if (native !== undefined && suite === CipherSuite.AES_256_GCM) {
    if (!native.open(out, outOff, key, packageNonce(pkg, pkgOff, sequence, nonce), pkg, pkgOff, payloadLength)) {
      throw new DareError('NotAuthentic', 'DARE: package authentication failed');
    }
    return payloadLength;
  }
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
