// The pooled CSPRNG: right lengths, own buffers, no value handed out twice, large requests bypass
// the pool, bad lengths refused.
import t from 'tap';
import { secureRandom } from '../../../../workers/format/random.js';

t.test('lengths and ownership', async (t) => {
  for (const n of [0, 1, 12, 16, 32, 64, 511, 512, 513, 4096, 100_000]) {
    const b = secureRandom(n);
    t.equal(b.length, n, `${n} bytes`);
    t.equal(b.byteOffset, 0, `${n}: a buffer of its own (not a view into the pool)`);
    t.equal(b.buffer.byteLength, n, `${n}: nothing else shares its memory`);
  }
});

t.test('no value repeats across many draws and pool refills', async (t) => {
  const seen = new Set<string>();
  let dup = 0;
  for (let i = 0; i < 20_000; i++) {
    const hex = secureRandom(16).toString('hex');
    if (seen.has(hex)) dup++;
    seen.add(hex);
  }
  t.equal(dup, 0, '20,000 draws of 16 bytes (about 80 pool refills), all distinct');
  // Zeroing a returned value must not affect later ones (they are copies, erased from the pool).
  const a = secureRandom(32);
  a.fill(0);
  t.not(secureRandom(32).toString('hex'), '00'.repeat(32));
});

t.test('bytes look uniform (a stuck or zeroed pool would not)', async (t) => {
  const counts = new Array<number>(256).fill(0);
  for (let i = 0; i < 4000; i++) for (const b of secureRandom(32)) counts[b]!++;
  const expected = (4000 * 32) / 256;
  const worst = Math.max(...counts.map((c) => Math.abs(c - expected)));
  t.ok(worst < expected * 0.25, `every byte value within 25 % of ${expected} (worst deviation ${worst})`);
});

t.test('invalid lengths are refused', async (t) => {
  t.throws(() => secureRandom(-1), RangeError);
  t.throws(() => secureRandom(1.5), RangeError);
  t.throws(() => secureRandom(Number.NaN), RangeError);
});
