// Tamper tests: every way a stored DARE stream can be cut, reordered, spliced or flipped must
// be refused, and no plaintext of the failing package may reach the output buffer.
import t from 'tap';
import {
  CipherSuite,
  DareError,
  PACKAGE_SIZE,
  openBuffer,
  openInto,
  sealBuffer,
  sealPackageInto,
  type DareErrorCode,
} from '../../../../workers/format/index.js';
import { patternPlaintext, vectorKey, vectorRandom } from './vectors.js';

const pt = patternPlaintext(3 * 65536 + 1000); // 4 packages, the last one short
const ct = sealBuffer(vectorKey, pt, vectorRandom);
const otherRandom = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaab', 'hex');

function codeOf(fn: () => unknown): DareErrorCode | 'none' | 'other' {
  try {
    fn();
    return 'none';
  } catch (err) {
    return err instanceof DareError ? err.code : 'other';
  }
}

const open = (bytes: Uint8Array, firstSequence = 0) => () => openBuffer(vectorKey, bytes, firstSequence);

t.test('the untouched stream opens', async (t) => {
  t.ok(openBuffer(vectorKey, ct).equals(pt));
});

t.test('truncation', async (t) => {
  t.equal(codeOf(open(ct.subarray(0, 3 * PACKAGE_SIZE))), 'Truncated', 'final package dropped at a boundary');
  t.equal(codeOf(open(ct.subarray(0, PACKAGE_SIZE))), 'Truncated', 'only the first package');
  t.equal(codeOf(open(ct.subarray(0, ct.length - 1))), 'Truncated', 'last byte missing');
  t.equal(codeOf(open(ct.subarray(0, PACKAGE_SIZE + 10))), 'Truncated', 'cut inside a header');
  t.equal(codeOf(open(ct.subarray(0, 10))), 'Truncated', 'shorter than one header');
  t.equal(codeOf(() => openInto(Buffer.alloc(10), 0, Buffer.alloc(0), { key: vectorKey, firstSequence: 0, final: true })), 'Truncated', 'no data where a final package is due');
  const stripped = Buffer.from(ct.subarray(0, 3 * PACKAGE_SIZE));
  t.equal(codeOf(() => openInto(Buffer.alloc(stripped.length), 0, stripped, { key: vectorKey, firstSequence: 0, final: false })), 'none', 'a prefix at a boundary is fine when the final package is not expected');
});

t.test('reordering and wrong positions', async (t) => {
  const swapped = Buffer.concat([ct.subarray(PACKAGE_SIZE, 2 * PACKAGE_SIZE), ct.subarray(0, PACKAGE_SIZE), ct.subarray(2 * PACKAGE_SIZE)]);
  t.equal(codeOf(open(swapped)), 'NotAuthentic', 'packages 0 and 1 swapped');
  const dup = Buffer.concat([ct.subarray(0, PACKAGE_SIZE), ct.subarray(0, PACKAGE_SIZE), ct.subarray(2 * PACKAGE_SIZE)]);
  t.equal(codeOf(open(dup)), 'NotAuthentic', 'package 0 repeated in place of 1');
  t.equal(codeOf(open(ct.subarray(PACKAGE_SIZE))), 'NotAuthentic', 'starting at package 1 with sequence 0');
  t.equal(codeOf(open(ct.subarray(PACKAGE_SIZE), 1)), 'none', 'starting at package 1 with sequence 1');
  t.equal(codeOf(() => openBuffer(Buffer.alloc(32, 9), ct)), 'NotAuthentic', 'wrong key');
});

t.test('a flipped bit anywhere in a one-package stream fails and releases nothing', async (t) => {
  const small = sealBuffer(vectorKey, patternPlaintext(40), vectorRandom);
  let failures = 0;
  for (let bit = 0; bit < small.length * 8; bit++) {
    const bad = Buffer.from(small);
    bad[bit >> 3] ^= 1 << (bit & 7);
    const out = Buffer.alloc(small.length);
    const code = codeOf(() => openInto(out, 0, bad, { key: vectorKey, firstSequence: 0, final: true }));
    if (code !== 'none' && code !== 'other' && out.every((b) => b === 0)) failures++;
    else t.fail(`bit ${bit}: ${code}`);
  }
  t.equal(failures, small.length * 8, `all ${small.length * 8} single-bit flips refused`);
});

t.test('flipped bits in a middle package: header, payload and tag', async (t) => {
  const base = PACKAGE_SIZE; // package 1
  const positions = [...Array(16).keys()].map((i) => base + i).concat([base + 16, base + 30000, base + PACKAGE_SIZE - 17, base + PACKAGE_SIZE - 16, base + PACKAGE_SIZE - 1]);
  for (const pos of positions) {
    for (const bit of [0, 7]) {
      const bad = Buffer.from(ct);
      bad[pos] ^= 1 << bit;
      const out = Buffer.alloc(ct.length);
      const code = codeOf(() => openInto(out, 0, bad, { key: vectorKey, firstSequence: 0, final: true }));
      t.not(code, 'none', `byte ${pos - base} bit ${bit} of package 1 (${code})`);
      t.ok(out.subarray(65536).every((b) => b === 0), 'nothing of package 1 or later was written');
    }
  }
});

t.test('a changed random value between packages', async (t) => {
  const other = sealBuffer(vectorKey, pt, otherRandom);
  const spliced = Buffer.concat([ct.subarray(0, PACKAGE_SIZE), other.subarray(PACKAGE_SIZE)]);
  t.equal(codeOf(open(spliced)), 'NonceMismatch', 'package 1 onward from another stream (valid tags)');
  const edited = Buffer.from(ct);
  edited[2 * PACKAGE_SIZE + 9] ^= 0x10;
  t.equal(codeOf(open(edited)), 'NonceMismatch', 'random byte edited in package 2');
  t.equal(codeOf(() => openInto(Buffer.alloc(ct.length), 0, ct.subarray(PACKAGE_SIZE), { key: vectorKey, firstSequence: 1, final: true, random: otherRandom, suite: CipherSuite.AES_256_GCM })), 'NonceMismatch', 'random value given by the caller differs');
});

t.test('non-final short packages', async (t) => {
  const out = Buffer.alloc(100 + 32 + 33);
  let pos = sealPackageInto(out, 0, vectorKey, vectorRandom, 0, false, patternPlaintext(100));
  pos += sealPackageInto(out, pos, vectorKey, vectorRandom, 1, true, patternPlaintext(1));
  t.equal(codeOf(open(out.subarray(0, pos))), 'InvalidSize', 'a validly sealed 100-byte non-final package');
});

t.test('data after the final package', async (t) => {
  t.equal(codeOf(open(Buffer.concat([ct, Buffer.from([0])]))), 'UnexpectedData', 'one trailing byte');
  const next = Buffer.alloc(33);
  sealPackageInto(next, 0, vectorKey, vectorRandom, 4, true, Buffer.from([1]));
  t.equal(codeOf(open(Buffer.concat([ct, next]))), 'UnexpectedData', 'a valid package sealed for sequence 4');
  const early = Buffer.alloc(2 * PACKAGE_SIZE);
  sealPackageInto(early, 0, vectorKey, vectorRandom, 0, true, patternPlaintext(65536));
  sealPackageInto(early, PACKAGE_SIZE, vectorKey, vectorRandom, 1, true, patternPlaintext(65536));
  t.equal(codeOf(open(early)), 'UnexpectedData', 'a full final package followed by another');
  t.equal(codeOf(() => openInto(Buffer.alloc(ct.length), 0, ct, { key: vectorKey, firstSequence: 0, final: false })), 'UnexpectedData', 'final package where the stream should continue');
});

t.test('header kind checks', async (t) => {
  const v1 = Buffer.from(ct);
  v1[0] = 0x10;
  t.equal(codeOf(open(v1)), 'UnsupportedVersion');
  const c9 = Buffer.from(ct);
  c9[1] = 9;
  t.equal(codeOf(open(c9)), 'UnsupportedCipher');
  const mixed = Buffer.alloc(PACKAGE_SIZE + 33);
  sealPackageInto(mixed, 0, vectorKey, vectorRandom, 0, false, patternPlaintext(65536), CipherSuite.AES_256_GCM);
  sealPackageInto(mixed, PACKAGE_SIZE, vectorKey, vectorRandom, 1, true, Buffer.from([7]), CipherSuite.CHACHA20_POLY1305);
  t.equal(codeOf(open(mixed)), 'UnsupportedCipher', 'suite changes mid-stream');
});
