// The open pipeline: whole streams and ranges (every vector range), any chunking, pool and
// inline, tamper refusals with no plaintext from a failing batch, lending, abort and early exit.
import t from 'tap';
import { CryptoPool } from '../../../../daemon/crypto/pool.js';
import { openStream, type OpenStreamOptions } from '../../../../daemon/crypto/open-stream.js';
import { PACKAGE_SIZE, planRange, sealBuffer } from '../../../../workers/format/index.js';
import { dareVectors, sha256hex, vectorKey, vectorRandom } from '../../workers/format/vectors.js';
import { chunked, collect, pattern, rng, sourceOf, spyOnRun , outcome } from './helpers.js';

const pool = new CryptoPool({ workers: 2 });
t.teardown(() => pool.close());
const key = Buffer.alloc(32, 0x24);
const MiB = 1024 * 1024;
const big = pattern(5 * MiB + 777, 3);
const bigCt = sealBuffer(key, big);

type Extra = Partial<Omit<OpenStreamOptions, 'source'>>;

function openRange(p: CryptoPool | null, ct: Buffer, plainSize: number, offset: number, length: number, extra: Extra = {}, maxChunk = 200_000, k = key) {
  const plan = planRange(plainSize, offset, length);
  const slice = ct.subarray(plan.encryptedOffset, plan.encryptedOffset + plan.encryptedLength);
  return openStream(p, k, {
    source: sourceOf(chunked(slice, maxChunk, offset + 1)),
    firstSequence: plan.firstSequence,
    skip: plan.skip,
    length: plan.length,
    expectFinal: plan.expectFinal,
    ...extra,
  });
}


t.test('whole streams open through the pool and inline, any chunking', async (t) => {
  for (const size of [0, 1, 65536, 200_000, MiB, 2 * MiB, 5 * MiB + 777]) {
    const pt = size === big.length ? big : pattern(size, 3);
    const ct = size === big.length ? bigCt : sealBuffer(key, pt);
    for (const p of [pool, null]) {
      for (const maxChunk of [1000, 700_000]) {
        const got = await collect(openRange(p, ct, size, 0, size, {}, maxChunk));
        t.ok(got.equals(pt), `${size} bytes, ${p === null ? 'inline' : 'pool'}, chunks ≤ ${maxChunk}`);
      }
    }
  }
});

t.test('every single_part_ranges vector through the pipeline', async (t) => {
  const streams = new Map<number, Buffer>();
  for (const r of dareVectors.single_part_ranges) {
    const size = r.object_plaintext_size;
    if (!streams.has(size)) streams.set(size, sealBuffer(vectorKey, Buffer.from(Array.from({ length: size }, (_, i) => i % 251)), vectorRandom));
    for (const p of [pool, null]) {
      const got = await collect(openRange(p, streams.get(size)!, size, r.range_offset, r.range_length, {}, 200_000, vectorKey));
      t.equal(got.length, r.range_length);
      t.equal(sha256hex(got), r.expected_plaintext_sha256, `${size} [${r.range_offset}+${r.range_length}] ${p === null ? 'inline' : 'pool'}`);
    }
  }
});

t.test('random ranges of a multi-batch object', async (t) => {
  const r = rng(99);
  for (let i = 0; i < 30; i++) {
    const offset = Math.floor(r() * big.length);
    const length = 1 + Math.floor(r() * (big.length - offset));
    const got = await collect(openRange(pool, bigCt, big.length, offset, length, { lend: i % 2 === 0 }));
    t.ok(got.equals(big.subarray(offset, offset + length)), `[${offset}+${length}]`);
  }
});

t.test('both workers open one stream', async (t) => {
  const spy = spyOnRun(pool);
  t.ok((await collect(openRange(pool, bigCt, big.length, 0, big.length))).equals(big));
  t.equal(spy.calls.length, 6, 'six batches');
  t.equal(spy.threads.size, 2, 'on two worker threads');
});

// The worker wipes the copy it was sent; the main thread's copy of the object key, one per
// batch, must not outlive its batch in freed memory either (whatever way the stream ends).
t.test('the key copy each pool task carries is wiped once its batch is done', async (t) => {
  const spy = spyOnRun(pool);
  t.ok((await collect(openRange(pool, bigCt, big.length, 0, big.length))).equals(big));
  const bad = Buffer.from(bigCt);
  bad[40 * PACKAGE_SIZE + 1000] ^= 0x01;
  t.equal((await outcome(openRange(pool, bad, big.length, 0, big.length))).code, 'NotAuthentic');
  t.ok(spy.calls.length >= 8, `${spy.calls.length} tasks ran`);
  t.ok(spy.calls.every((c) => c.key.every((b) => b === 0)), 'every task key is zeroed');
});

t.test('small reads open inline', async (t) => {
  const spy = spyOnRun(pool);
  await collect(openRange(pool, bigCt, big.length, 10, 100_000));
  t.equal(spy.calls.length, 0, 'two packages: no pool round trip');
  await collect(openRange(pool, bigCt, big.length, 10, 300_000));
  t.equal(spy.calls.length, 1, 'five packages: one pool task');
});

t.test('a tampered middle package: error, and no plaintext from its batch', async (t) => {
  const bad = Buffer.from(bigCt);
  bad[40 * PACKAGE_SIZE + 1000] ^= 0x01; // package 40, in the third batch (packages 32–47)
  for (const p of [pool, null]) {
    for (const lend of [false, true]) {
      const { code, yielded } = await outcome(openRange(p, bad, big.length, 0, big.length, { lend }));
      t.equal(code, 'NotAuthentic');
      t.ok(yielded.length <= 40 * 65536, `yielded ${yielded.length} bytes, none from package 40`);
      t.ok(yielded.equals(big.subarray(0, yielded.length)), 'what was yielded is the true plaintext');
    }
  }
  const ranged = await outcome(openRange(pool, bad, big.length, 39 * 65536 + 5, 3 * 65536));
  t.equal(ranged.code, 'NotAuthentic', 'a range over the package');
  t.equal(ranged.yielded.length, 0, 'the range shares its batch with the bad package: nothing yielded');
  t.equal((await outcome(openRange(pool, bad, big.length, 0, 30 * 65536))).code, 'none', 'a range before it is unaffected');
});

t.test('truncation, trailing data and wrong positions', async (t) => {
  const src = (bytes: Buffer, o: Partial<OpenStreamOptions> = {}) =>
    openStream(pool, key, { source: sourceOf(chunked(bytes, 300_000)), firstSequence: 0, skip: 0, length: big.length, expectFinal: true, ...o });
  const lastPkg = Math.floor(big.length / 65536) * PACKAGE_SIZE;
  t.equal((await outcome(src(bigCt.subarray(0, lastPkg)))).code, 'Truncated', 'final package missing');
  t.equal((await outcome(src(bigCt.subarray(0, bigCt.length - 1)))).code, 'Truncated', 'last byte missing');
  t.equal((await outcome(src(bigCt.subarray(0, 16 * PACKAGE_SIZE)))).code, 'Truncated', 'cut at a batch boundary');
  t.equal((await outcome(src(Buffer.alloc(0)))).code, 'Truncated', 'no data at all');
  t.equal((await outcome(src(Buffer.concat([bigCt, Buffer.alloc(5)])))).code, 'UnexpectedData', 'trailing bytes');
  const exact = sealBuffer(key, pattern(2 * MiB));
  const more = sealBuffer(key, pattern(10));
  const two = (b: Buffer) => openStream(pool, key, { source: sourceOf([b]), firstSequence: 0, skip: 0, length: 2 * MiB, expectFinal: true });
  t.equal((await outcome(two(Buffer.concat([exact, more])))).code, 'UnexpectedData', 'a package after a final one at a batch boundary');
  // A range may end inside the final package (planRange gives expectFinal for it): not an error.
  const inFinal = await outcome(src(bigCt, { length: big.length - 1 }));
  t.equal(inFinal.code, 'none', 'a range ending inside the final package ends cleanly');
  t.ok(inFinal.yielded.equals(big.subarray(0, big.length - 1)), 'and yields exactly the range');
  const extraWhole = Buffer.concat([bigCt, sealBuffer(key, pattern(65536, 9)).subarray(0, PACKAGE_SIZE)]);
  t.not((await outcome(src(extraWhole, { length: big.length - 1 }))).code, 'none', 'a whole package after the final one is still refused');
  t.equal((await outcome(src(bigCt, { length: big.length + 1 }))).code, 'Truncated', 'stream shorter than the object');
  t.equal((await outcome(src(bigCt.subarray(PACKAGE_SIZE)))).code, 'NotAuthentic', 'started one package late with sequence 0');
  const swapped = Buffer.concat([bigCt.subarray(PACKAGE_SIZE * 17, PACKAGE_SIZE * 18), bigCt.subarray(PACKAGE_SIZE, PACKAGE_SIZE * 17), bigCt.subarray(0, PACKAGE_SIZE), bigCt.subarray(PACKAGE_SIZE * 18)]);
  t.equal((await outcome(src(swapped))).code, 'NotAuthentic', 'packages 0 and 17 swapped');
  const other = sealBuffer(key, big);
  const spliced = Buffer.concat([bigCt.subarray(0, 16 * PACKAGE_SIZE), other.subarray(16 * PACKAGE_SIZE)]);
  t.equal((await outcome(src(spliced))).code, 'NonceMismatch', 'second batch onward from another stream');
  const empty = openStream(pool, key, { source: sourceOf([]), firstSequence: 0, skip: 0, length: 0, expectFinal: true });
  t.equal((await collect(empty)).length, 0, 'empty object, empty stream');
});

t.test('early exit, abort and slot accounting', async (t) => {
  const it = openRange(pool, bigCt, big.length, 0, big.length, { lend: true })[Symbol.asyncIterator]();
  const first = await it.next();
  t.equal(first.done, false);
  await it.return?.();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(pool.arena.free, pool.arena.allocated, 'consumer break returns every slot');

  let returned = false;
  async function* tracked() {
    try {
      yield* chunked(bigCt, 100_000);
    } finally {
      returned = true;
    }
  }
  const partial = await collect(openStream(pool, key, { source: tracked(), firstSequence: 0, skip: 0, length: 100, expectFinal: false }));
  t.ok(partial.equals(big.subarray(0, 100)));
  t.ok(returned, 'the source is closed once the range is covered');

  const ac = new AbortController();
  const aborted = openRange(pool, bigCt, big.length, 0, big.length, { signal: ac.signal });
  let n = 0;
  await t.rejects(
    (async () => {
      for await (const c of aborted) {
        n += c.length;
        ac.abort();
      }
    })(),
    { name: 'AbortError' },
  );
  t.ok(n > 0 && n < big.length);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(pool.arena.free, pool.arena.allocated, 'abort returns every slot');
  await t.rejects(collect(openStream(pool, key.subarray(1), { source: sourceOf([]), firstSequence: 0, skip: 0, length: 1, expectFinal: true })), RangeError);
});
