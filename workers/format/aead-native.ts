// Loads the native AES-256-GCM binding for DARE packages (native/dare-aead.c, compiled by
// `npm run build` to dist/native/dare-aead.node). dare-aead.ts uses it when it loaded and falls
// back to node:crypto otherwise; S3_NATIVE_AES=off keeps s3d on node:crypto deliberately. Each
// thread (the main thread, every crypto worker) loads it for itself.
import { createCipheriv } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadNativeBinding, type NativeLoad } from './native-load.js';

/** The binding's two calls (the package layout is DARE's: 16-byte header, its first 4 bytes the AAD, then payload and 16-byte tag). */
export interface NativeAead {
  /** Seals `plaintext` into the package whose header is already at `out[packageOffset]`. */
  seal(out: Uint8Array, packageOffset: number, key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): void;
  /** Opens the package at `pkg[packageOffset]` into `out[outOffset]`; false (and that range zeroed) when its tag does not match. */
  open(out: Uint8Array, outOffset: number, key: Uint8Array, iv: Uint8Array, pkg: Uint8Array, packageOffset: number, payloadLength: number): boolean;
}

export type NativeAeadLoad = NativeLoad<NativeAead>;

/** Where `npm run build` writes the binding: dist/native/, beside the patched uWebSockets.js binary. */
export function nativeAeadPath(): string {
  return fileURLToPath(new URL('../../native/dare-aead.node', import.meta.url));
}

/**
 * Compares the binding with node:crypto: packages of `sizes` bytes, each under its own nonce,
 * with the key changing midway and back (a kept key schedule must follow), opened back, and each
 * tampered copy refused with its output zeroed. Returns what went wrong, or undefined.
 */
export function knownAnswerProblem(binding: NativeAead, sizes: readonly number[] = [100]): string | undefined {
  const keys = [Buffer.alloc(32, 7), Buffer.alloc(32, 9)];
  try {
    for (const [i, size] of sizes.entries()) {
      const key = keys[i === sizes.length >> 1 ? 1 : 0]!;
      const iv = Buffer.alloc(12, i + 1);
      const plaintext = Buffer.alloc(size, size & 0xff);
      const header = Buffer.from([0x20, 0x00, (size - 1) & 0xff, (size - 1) >> 8]);
      const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
      c.setAAD(header);
      const expected = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
      const pkg = Buffer.alloc(16 + size + 16 + 8, 0xaa);
      header.copy(pkg, 8);
      binding.seal(pkg, 8, key, iv, plaintext);
      if (!pkg.subarray(24, 24 + size + 16).equals(expected)) return `a package of ${size} bytes differs from node:crypto`;
      const back = Buffer.alloc(size + 2);
      if (!binding.open(back, 1, key, iv, pkg, 8, size) || !back.subarray(1, 1 + size).equals(plaintext)) return `a package of ${size} bytes does not open`;
      pkg[24 + size - 1] ^= 1;
      if (binding.open(back, 1, key, iv, pkg, 8, size) || back.subarray(1, 1 + size).some((b) => b !== 0)) return `a tampered package of ${size} bytes was not refused`;
    }
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** Loads the binding at `file`, unless `S3_NATIVE_AES` is `off`, and checks one package against node:crypto. Never throws. */
export function loadNativeAead(file = nativeAeadPath(), env: NodeJS.ProcessEnv = process.env): NativeAeadLoad {
  return loadNativeBinding<NativeAead>(file, env, { variable: 'S3_NATIVE_AES', what: 'AES binding', functions: ['seal', 'open'], check: (b) => knownAnswerProblem(b) });
}
