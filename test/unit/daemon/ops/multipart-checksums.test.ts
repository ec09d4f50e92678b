// A FULL_OBJECT checksum combined from part CRCs and sizes (combineCrcs) is the CRC of the
// concatenated data, as the daemon's own hashers compute it, for CRC32, CRC32C and CRC64NVME: pieces
// of random sizes, empty and one-byte ones among them. For sizes no test can hash (past 2^32
// bytes) it is what the earlier BigInt implementation, kept here as the reference, gave.
// partChecksum: a part's checksum algorithm, from its header or the trailer x-amz-trailer names.
import t from 'tap';
import { checksumHasher, type ChecksumAlgorithm } from '../../../../daemon/auth/payload.js';
import { digestBase64 } from '../../../../daemon/ops/checksums.js';
import { combineCrcs, partChecksum } from '../../../../daemon/ops/multipart-checksums.js';
import { prng } from '../../../helpers/seeded.js';

const ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME'];

/** The combine as s3d had it before the uint32 arithmetic: a BigInt carry-less multiply mod P. */
function referenceCombine(algorithm: ChecksumAlgorithm, pieces: ReadonlyArray<{ readonly crc: string; readonly size: number }>): string {
  const spec = { CRC32: { width: 32, poly: 0xedb88320n }, CRC32C: { width: 32, poly: 0x82f63b78n }, CRC64NVME: { width: 64, poly: 0x9a6c9329ac4bc9b5n } }[algorithm as 'CRC32'];
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
  const powers = [one >> 1n];
  const power = (k: number): bigint => {
    while (powers.length <= k) powers.push(multiply(powers[powers.length - 1]!, powers[powers.length - 1]!));
    return powers[k]!;
  };
  const shift = (n: number): bigint => {
    let p = one;
    for (let k = 3, rest = n; rest > 0; k++, rest = Math.floor(rest / 2)) if (rest % 2 === 1) p = multiply(power(k), p);
    return p;
  };
  let crc = 0n;
  for (const { crc: value, size } of pieces) crc = multiply(shift(size), crc) ^ BigInt(`0x${Buffer.from(value, 'base64').toString('hex')}`);
  return Buffer.from(crc.toString(16).padStart(spec.width / 4, '0'), 'hex').toString('base64');
}

/** A seeded generator (helpers/seeded.ts, mulberry32): the same pieces every run. */
const random = (seed: number): (() => number) => prng(seed).next;

function randomBytes(next: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

/** The CRC the daemon gives data (x-amz-checksum-*), base64. */
async function crcOf(algorithm: ChecksumAlgorithm, data: Uint8Array): Promise<string> {
  const h = checksumHasher(algorithm);
  h.update(data);
  return digestBase64(h);
}

/** Cut points: empty, one-byte and odd-sized pieces among random ones. */
function split(next: () => number, n: number): number[] {
  const sizes = [0, 1, 3, 0];
  let left = n - 5;
  while (left > 0) {
    const s = Math.min(left, next() < 0.2 ? Math.floor(next() * 8) : Math.floor(next() * 20_000) | 1);
    sizes.push(s);
    left -= s;
  }
  sizes.push(1, 0); // the 5 bytes left out of `left`
  return sizes;
}

t.test('combined piece CRCs are the CRC of the concatenation', async (t) => {
  const next = random(0x5eed);
  const data = randomBytes(next, 200_001);
  for (const algorithm of ALGORITHMS) {
    const whole = await crcOf(algorithm, data);
    for (let round = 0; round < 4; round++) {
      const sizes = split(next, data.length);
      const pieces: Array<{ crc: string; size: number }> = [];
      let at = 0;
      for (const size of sizes) {
        pieces.push({ crc: await crcOf(algorithm, data.subarray(at, at + size)), size });
        at += size;
      }
      t.equal(at, data.length);
      t.equal(combineCrcs(algorithm, pieces), whole, `${algorithm}, ${pieces.length} pieces`);
    }
    t.equal(combineCrcs(algorithm, [{ crc: whole, size: data.length }]), whole, `${algorithm}, one piece`);
    const empty = await crcOf(algorithm, new Uint8Array(0));
    t.equal(combineCrcs(algorithm, [{ crc: empty, size: 0 }]), empty, `${algorithm}, one empty piece`);
    t.equal(combineCrcs(algorithm, []), empty, `${algorithm}, no pieces`);
  }
});

t.test('huge sizes combine as the BigInt reference combined them', async (t) => {
  const next = random(0xb16);
  const fixed = [2 ** 33 + 1, 2 ** 33 + 12_345, 5 * 2 ** 30, 5 * 2 ** 30 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 48 * 2 ** 40 + 7, Number.MAX_SAFE_INTEGER, 0, 1, 8];
  for (const algorithm of ALGORITHMS) {
    const bytes = algorithm === 'CRC64NVME' ? 8 : 4;
    const crc = (): string => randomBytes(next, bytes).toString('base64');
    const pieces = fixed.map((size) => ({ crc: crc(), size }));
    t.equal(combineCrcs(algorithm, pieces), referenceCombine(algorithm, pieces), `${algorithm}, fixed sizes`);
    // Many distinct sizes (the per-size cache) with all-ones and all-zeros values among them.
    const many = Array.from({ length: 300 }, (_, i) => ({ crc: i % 50 === 0 ? Buffer.alloc(bytes, i % 100 === 0 ? 0xff : 0).toString('base64') : crc(), size: Math.floor(next() * 2 ** 35) * 2 + 1 }));
    t.equal(combineCrcs(algorithm, many), referenceCombine(algorithm, many), `${algorithm}, 300 odd sizes up to 2^36`);
    for (const size of fixed) {
      const two = [{ crc: crc(), size: Math.floor(next() * 2 ** 40) }, { crc: crc(), size }];
      t.equal(combineCrcs(algorithm, two), referenceCombine(algorithm, two), `${algorithm}, a piece of ${size} bytes`);
    }
  }
});

t.test('values of another length are refused, not combined', async (t) => {
  t.throws(() => combineCrcs('CRC32', [{ crc: Buffer.alloc(8).toString('base64'), size: 1 }]));
  t.throws(() => combineCrcs('CRC64NVME', [{ crc: Buffer.alloc(4).toString('base64'), size: 1 }]));
  t.throws(() => combineCrcs('SHA256', [{ crc: Buffer.alloc(32).toString('base64'), size: 1 }]));
});

t.test('partChecksum: the trailer an x-amz-trailer list names, read as the payload decoder reads it', async (t) => {
  const crc32c = { algorithm: 'CRC32C', type: 'COMPOSITE' } as const;
  const code = (headers: Record<string, string>): string => {
    try {
      return partChecksum(crc32c, headers) === undefined ? 'sent' : 'hashed';
    } catch (err) {
      return `${(err as { code: string }).code}: ${(err as Error).message}`;
    }
  };
  // None sent: a COMPOSITE upload's part is refused, as S3 refuses it; a FULL_OBJECT one's hashed.
  t.equal(code({}), 'InvalidRequest: Checksum Type mismatch occurred, expected checksum Type: crc32c, actual checksum Type: null', 'none sent to a COMPOSITE upload');
  t.equal(partChecksum({ algorithm: 'CRC32C', type: 'FULL_OBJECT' }, {}) !== undefined, true, 'none sent to a FULL_OBJECT upload: s3d hashes the part');
  t.equal(code({ 'x-amz-trailer': 'x-amz-checksum-crc32c' }), 'sent', 'the upload\u2019s algorithm in a trailer');
  t.equal(code({ 'x-amz-trailer': 'X-Amz-Checksum-CRC32C,' }), 'sent', 'with a comma after it, and in any case');
  const mismatch = 'InvalidRequest: Checksum Type mismatch occurred, expected checksum Type: crc32c, actual checksum Type: crc32';
  t.equal(code({ 'x-amz-trailer': 'x-amz-checksum-crc32' }), mismatch, 'another algorithm in a trailer');
  // The decoder takes `x-amz-checksum-crc32,` as CRC32's trailer: the part would have had both.
  t.equal(code({ 'x-amz-trailer': 'x-amz-checksum-crc32,' }), mismatch, 'and with a comma after it');
  t.equal(code({ 'x-amz-trailer': ', x-amz-checksum-crc32' }), 'InvalidRequest: The value specified in the x-amz-trailer header is not supported', 'a list the decoder refuses: its answer');
  t.equal(code({ 'x-amz-checksum-crc32': 'AAAAAA==' }), mismatch, 'another algorithm in a header');
});
