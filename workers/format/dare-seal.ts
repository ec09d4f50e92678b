// Sealing plaintext into DARE 2.0 packages: a run of packages into a caller's buffer (the unit a
// worker task seals) and a whole small stream into a fresh buffer (sealed keys, ETags, tests).
import { secureRandom } from './random.js';
import { sealPackageInto } from './dare-aead.js';
import { CipherSuite, MAX_PAYLOAD, RANDOM_SIZE, checkKey } from './dare-header.js';
import { encryptedSize } from './dare-size.js';

export interface SealRun {
  key: Uint8Array;
  /** The stream's 12-byte random value (the top bit of its first byte is not stored). */
  random: Uint8Array;
  /** Sequence number of the first package of this run. */
  firstSequence: number;
  /** This run ends the stream: its last package carries the final flag. */
  final: boolean;
  /** Cipher suite to write; s3d writes AES-256-GCM, ChaCha20 exists to reproduce vectors. */
  suite?: CipherSuite;
}

/**
 * Seals `plaintext` as consecutive packages into `out` starting at `offset` and returns the
 * bytes written (`encryptedSize(plaintext.length)`). A run that does not end the stream must
 * hold whole 64 KiB packages; an empty run writes nothing.
 */
export function sealInto(out: Uint8Array, offset: number, plaintext: Uint8Array, run: SealRun): number {
  checkKey(run.key);
  if (run.random.length !== RANDOM_SIZE) throw new RangeError(`DARE random value must be ${RANDOM_SIZE} bytes`);
  const n = plaintext.length;
  if (!run.final && n % MAX_PAYLOAD !== 0) {
    throw new RangeError('a DARE run that does not end the stream must hold whole 64 KiB packages');
  }
  const need = encryptedSize(n);
  if (offset < 0 || offset + need > out.length) throw new RangeError(`output needs ${need} bytes at offset ${offset}`);
  const packages = Math.ceil(n / MAX_PAYLOAD);
  if (packages > 0 && run.firstSequence + packages - 1 > 0xffffffff) throw new RangeError('DARE sequence number overflow');
  let pos = offset;
  for (let i = 0; i < packages; i++) {
    const start = i * MAX_PAYLOAD;
    const end = Math.min(start + MAX_PAYLOAD, n);
    const last = i === packages - 1;
    pos += sealPackageInto(out, pos, run.key, run.random, run.firstSequence + i, last && run.final, plaintext.subarray(start, end), run.suite);
  }
  return pos - offset;
}

/** Seals a whole stream (empty plaintext → empty ciphertext). For small inputs: one allocation. */
export function sealBuffer(key: Uint8Array, plaintext: Uint8Array, random: Uint8Array = secureRandom(RANDOM_SIZE), suite?: CipherSuite): Buffer {
  const out = Buffer.allocUnsafe(encryptedSize(plaintext.length));
  sealInto(out, 0, plaintext, { key, random, firstSequence: 0, final: true, suite });
  return out;
}
