// Loads the native CRC32C and CRC64NVME binding (native/checksums.c, compiled by `npm run build`
// to dist/native/checksums.node) and makes hashers of it. payload.ts's checksumHasher uses them
// when it loaded and the JavaScript ones of @aws-sdk/checksums otherwise (about 400 MiB/s on the
// event loop); S3_NATIVE_CRC=off keeps s3d on those deliberately. Each thread loads it for itself.
import { fileURLToPath } from 'node:url';
import { loadNativeBinding, type NativeLoad } from '../../workers/format/native-load.js';

/** The binding's calls: the state is the CRC register before the final XOR (all ones at the start). */
export interface NativeCrc {
  /** CRC32C over `data` from `state`; returns the new state (unsigned). */
  crc32c(state: number, data: Uint8Array): number;
  /** CRC64NVME over `data` from `state` ([low 32 bits, high 32 bits]), updated in place. */
  crc64nvme(state: Uint32Array, data: Uint8Array): void;
  /** The same two through the slice-by-8 tables alone, whatever the CPU has (for the checks). */
  crc32cPortable(state: number, data: Uint8Array): number;
  crc64nvmePortable(state: Uint32Array, data: Uint8Array): void;
  /** Whether CRC32C runs on SSE4.2's crc32 instruction (slice-by-8 tables otherwise). */
  readonly crc32cHardware: boolean;
  /** Whether CRC64NVME folds with PCLMULQDQ (slice-by-8 tables otherwise). */
  readonly crc64nvmeHardware: boolean;
}

/** `binding` with its table paths in place of the dispatching calls. */
export function portableView(binding: NativeCrc): NativeCrc {
  return { ...binding, crc32c: binding.crc32cPortable, crc64nvme: binding.crc64nvmePortable, crc32cHardware: false, crc64nvmeHardware: false };
}

export type NativeCrcLoad = NativeLoad<NativeCrc>;

/** A hasher of the shape payload.ts's Hasher has. */
export interface CrcHasher {
  update(data: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

/** Where `npm run build` writes the binding: dist/native/, beside the AES one. */
export function nativeCrcPath(): string {
  return fileURLToPath(new URL('../../native/checksums.node', import.meta.url));
}

/** CRC32C through `binding`; digest() gives the big-endian value, as @aws-sdk/checksums does. */
export class NativeCrc32c implements CrcHasher {
  private state = 0xffffffff;
  constructor(private readonly binding: NativeCrc) {}
  update(data: Uint8Array): void {
    this.state = this.binding.crc32c(this.state, data);
  }
  async digest(): Promise<Uint8Array> {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE((this.state ^ 0xffffffff) >>> 0, 0);
    return out;
  }
}

/**
 * The register a CRC64NVME update hands the binding: one per thread, filled from and read back
 * into the hasher around each (synchronous) call, so that a hasher is two numbers, not a typed
 * array allocated per request body.
 */
const crc64Scratch = new Uint32Array(2);

/** CRC64NVME through `binding`; digest() gives the big-endian value, as @aws-sdk/checksums does. */
export class NativeCrc64Nvme implements CrcHasher {
  private low = 0xffffffff;
  private high = 0xffffffff;
  constructor(private readonly binding: NativeCrc) {}
  update(data: Uint8Array): void {
    crc64Scratch[0] = this.low;
    crc64Scratch[1] = this.high;
    this.binding.crc64nvme(crc64Scratch, data);
    this.low = crc64Scratch[0]!;
    this.high = crc64Scratch[1]!;
  }
  async digest(): Promise<Uint8Array> {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE((this.high ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.low ^ 0xffffffff) >>> 0, 4);
    return out;
  }
}

const hex = async (h: CrcHasher): Promise<string> => Buffer.from(await h.digest()).toString('hex');

/**
 * The cheap check made at every load: the catalogue check values of "123456789" and a fixed
 * 1031-byte pattern's values (from @aws-sdk/checksums), whole and split at every offset mod 17,
 * and an empty update. Returns what went wrong, or undefined.
 */
export function knownAnswerProblemSync(binding: NativeCrc): string | undefined {
  return vectorProblem(binding) ?? vectorProblem(portableView(binding), ' (tables)');
}

function vectorProblem(binding: NativeCrc, path = ''): string | undefined {
  const pattern = Buffer.alloc(1031);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 131 + 7) & 0xff;
  const vectors: Array<[Buffer, string, string]> = [
    [Buffer.from('123456789'), 'e3069283', 'ae8b14860a799888'],
    [pattern, '9e2e7308', '42dd8f9e65284020'],
  ];
  try {
    for (const [data, c32, c64] of vectors) {
      for (let split = 0; split <= data.length; split += split < 20 ? 1 : 17) {
        const a = binding.crc32c(binding.crc32c(binding.crc32c(0xffffffff, data.subarray(0, split)), new Uint8Array(0)), data.subarray(split));
        if (((a ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0') !== c32) return `CRC32C${path} of ${data.length} bytes split at ${split} is wrong`;
        const s = new Uint32Array([0xffffffff, 0xffffffff]);
        binding.crc64nvme(s, data.subarray(0, split));
        binding.crc64nvme(s, new Uint8Array(0));
        binding.crc64nvme(s, data.subarray(split));
        const v = ((s[1]! ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0') + ((s[0]! ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
        if (v !== c64) return `CRC64NVME${path} of ${data.length} bytes split at ${split} is wrong`;
      }
    }
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/**
 * The build's check: the binding's hashers against `reference`'s (the JavaScript ones of
 * @aws-sdk/checksums) over buffers of `sizes` random bytes, each fed whole, in random chunks (some
 * empty) and from an unaligned offset into a larger ArrayBuffer. Returns what went wrong, or undefined.
 */
export async function compareWith(
  binding: NativeCrc,
  reference: { Crc32c: new () => CrcHasher; Crc64Nvme: new () => CrcHasher },
  sizes: readonly number[],
  random: (n: number) => Uint8Array,
): Promise<string | undefined> {
  const sync = knownAnswerProblemSync(binding);
  if (sync !== undefined) return sync;
  return (await compareOne(binding, reference, sizes, random)) ?? compareOne(portableView(binding), reference, sizes, random, ' (tables)');
}

async function compareOne(
  binding: NativeCrc,
  reference: { Crc32c: new () => CrcHasher; Crc64Nvme: new () => CrcHasher },
  sizes: readonly number[],
  random: (n: number) => Uint8Array,
  path = '',
): Promise<string | undefined> {
  try {
    for (const size of sizes) {
      const backing = random(size + 11);
      const data = new Uint8Array(backing.buffer, backing.byteOffset + 3, size);
      for (const [name, make, ref] of [
        ['CRC32C', () => new NativeCrc32c(binding), reference.Crc32c],
        ['CRC64NVME', () => new NativeCrc64Nvme(binding), reference.Crc64Nvme],
      ] as const) {
        const r = new ref();
        r.update(data);
        const expected = await hex(r);
        const whole = make();
        whole.update(data);
        if ((await hex(whole)) !== expected) return `${name}${path} of ${size} bytes differs from @aws-sdk/checksums`;
        const chunked = make();
        const cuts = random(16);
        for (let at = 0, i = 0; at < size || i === 0; i++) {
          const n = Math.min(size - at, i % 5 === 4 ? 0 : 1 + cuts[i % 16]! * (size > 4096 ? 97 : 1));
          chunked.update(data.subarray(at, at + n));
          at += n;
        }
        if ((await hex(chunked)) !== expected) return `${name}${path} of ${size} bytes in chunks differs from @aws-sdk/checksums`;
      }
    }
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** Loads the binding at `file`, unless `S3_NATIVE_CRC` is `off`, and checks it on fixed vectors. Never throws. */
export function loadNativeCrc(file = nativeCrcPath(), env: NodeJS.ProcessEnv = process.env): NativeCrcLoad {
  return loadNativeBinding<NativeCrc>(file, env, {
    variable: 'S3_NATIVE_CRC',
    what: 'CRC binding',
    functions: ['crc32c', 'crc64nvme', 'crc32cPortable', 'crc64nvmePortable'],
    check: knownAnswerProblemSync,
  });
}
