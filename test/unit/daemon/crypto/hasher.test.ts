// createMd5: equal to node's MD5 for every size and chunking, inline below 256 KiB, on a lane
// above it, several streams at once on shared lanes, abort.
import t from 'tap';
import { createHash } from 'node:crypto';
import { createMd5 } from '../../../../daemon/crypto/hasher.js';
import { CryptoPool } from '../../../../daemon/crypto/pool.js';
import { chunked, pattern } from './helpers.js';
import { pollUntil } from '../../../helpers/wait.js';

const pool = new CryptoPool({ workers: 2, hashLanes: 2 });
t.teardown(() => pool.close());
const MiB = 1024 * 1024;
/** One byte past the bodies hashed inline: the first update sends its slot to a lane. */
const INLINE_PAST = 256 * 1024 + 1;

function countLanes(): { lanes: number } {
  const counter = { lanes: 0 };
  const original = pool.md5Lane.bind(pool);
  pool.md5Lane = () => {
    counter.lanes++;
    return original();
  };
  return counter;
}

async function md5Of(p: CryptoPool | null, buf: Buffer, maxChunk: number): Promise<string> {
  const h = createMd5(p);
  for (const c of chunked(buf, maxChunk, buf.length)) {
    h.update(c);
    await h.ready();
  }
  return (await h.digest()).toString('hex');
}

t.test('matches node MD5 for every size and chunking, pool or not', async (t) => {
  for (const size of [0, 1, 256 * 1024, 256 * 1024 + 1, MiB, 3 * MiB + 17]) {
    const buf = pattern(size, 11);
    const want = createHash('md5').update(buf).digest('hex');
    for (const p of [pool, null]) {
      for (const maxChunk of [5000, 2 * MiB]) t.equal(await md5Of(p, buf, maxChunk), want, `${size} bytes, chunks ≤ ${maxChunk}, ${p ? 'pool' : 'no pool'}`);
    }
  }
});

t.test('inline up to 256 KiB, a lane beyond', async (t) => {
  const counter = countLanes();
  await md5Of(pool, pattern(256 * 1024), 100_000);
  t.equal(counter.lanes, 0, '256 KiB hashed on the main thread');
  await md5Of(pool, pattern(256 * 1024 + 1), 100_000);
  t.equal(counter.lanes, 1, 'one byte more goes to a lane');
});

t.test('concurrent streams share lanes and stay correct', async (t) => {
  const bufs = [0, 1, 2, 3, 4].map((i) => pattern(2 * MiB + i * 1000, i));
  const got = await Promise.all(bufs.map((b, i) => md5Of(pool, b, 100_000 + i * 7919)));
  t.same(got, bufs.map((b) => createHash('md5').update(b).digest('hex')));
  t.equal(pool.arena.free, pool.arena.allocated, 'every slot is back');
});

t.test('the hasher copies: the caller may reuse its buffer at once', async (t) => {
  const h = createMd5(pool);
  const scratch = Buffer.alloc(64 * 1024);
  const whole: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    scratch.fill(i);
    whole.push(Buffer.from(scratch));
    h.update(scratch);
  }
  t.equal((await h.digest()).toString('hex'), createHash('md5').update(Buffer.concat(whole)).digest('hex'));
});

t.test('abort drops the state', async (t) => {
  for (const p of [pool, null]) {
    const h = createMd5(p);
    h.update(pattern(2 * MiB));
    h.abort();
    await t.rejects(h.digest(), /finished/);
    t.throws(() => h.update(pattern(1)), /finished/);
  }
  await pollUntil(() => pool.arena.allocated - pool.arena.free, (held) => held === 0, 10_000, 10);
  t.equal(pool.arena.free, pool.arena.allocated, 'aborted hasher returns its slots');
});

t.test('park hands what the hasher buffers to a lane and returns its slot; the digest is unchanged', async (t) => {
  for (const size of [1, 100_000, 300_000, 3 * MiB + 5]) {
    const pt = pattern(size, 13);
    const h = createMd5(pool);
    for (const c of chunked(pt, 77_777)) {
      h.update(c);
      h.park();
      await h.ready();
    }
    t.equal((await h.digest()).toString('hex'), createHash('md5').update(pt).digest('hex'), `${size} bytes, parked after every piece`);
    const inline = createMd5(null);
    inline.update(pt);
    inline.park();
    t.equal((await inline.digest()).toString('hex'), createHash('md5').update(pt).digest('hex'), `${size} bytes inline (park does nothing)`);
  }
  const before = pool.arena.allocated - pool.arena.free;
  const h = createMd5(pool);
  h.update(pattern(1000, 1));
  t.equal(pool.arena.allocated - pool.arena.free, before + 1, 'the hasher holds a slot');
  h.park();
  await h.ready();
  await pollUntil(() => pool.arena.allocated - pool.arena.free, (held) => held === before, 10_000, 10);
  t.equal(pool.arena.allocated - pool.arena.free, before, 'parked, it holds none');
  await h.digest();
});

t.test('a hasher that cannot open its lane (the pool closed: shutdown) keeps the slot it filled and gives it back on abort', async (t) => {
  const closed = new CryptoPool({ workers: 1, hashLanes: 1 });
  await closed.close();
  const h = createMd5(closed);
  t.throws(() => h.update(pattern(INLINE_PAST)), /closed/, 'past the inline bound it needs a lane: refused');
  h.abort();
  t.equal(closed.arena.free, closed.arena.allocated, `every slot is back (${closed.arena.free} of ${closed.arena.allocated}; the slot being sent was lost)`);
});

t.test('park never throws (it runs from a timer): a lane refused because the pool closed fails the digest instead', async (t) => {
  const closed = new CryptoPool({ workers: 1, hashLanes: 1 });
  const h = createMd5(closed);
  h.update(pattern(1000, 2));
  await closed.close();
  // Before: md5Lane()'s "closed" error escaped park(), an uncaught exception in the daemon's timer.
  t.doesNotThrow(() => h.park(), 'park swallows the refusal');
  await t.rejects(h.digest(), /closed/, 'the digest fails with the refusal itself: the bytes never reached a lane');
  t.throws(() => h.update(pattern(1)), /closed/, 'so does a later update (the log names the cause)');
  t.equal(closed.arena.free, closed.arena.allocated, 'every slot is back');
});
