// The seal pipeline: byte-exact output against the codec and the vectors, order across many
// batches, both workers on one stream, bounded in-flight bytes, abort, inline path, MD5.
import t from 'tap';
import { createHash } from 'node:crypto';
import { CryptoPool } from '../../../../daemon/crypto/pool.js';
import { createSealer, type SealerOptions } from '../../../../daemon/crypto/seal-stream.js';
import { DareError, openBuffer, sealBuffer } from '../../../../workers/format/index.js';
import { dareVectors, sha256hex, vectorKey, vectorRandom } from '../../workers/format/vectors.js';
import { chunked, deferred, pattern, spyOnRun } from './helpers.js';
import { pollUntil } from '../../../helpers/wait.js';

const pool = new CryptoPool({ workers: 2 });
t.teardown(() => pool.close());
const key = Buffer.alloc(32, 0x42);
const MiB = 1024 * 1024;

async function sealAll(p: CryptoPool | null, plaintext: Buffer, opts: Partial<SealerOptions> & { maxChunk?: number } = {}) {
  const out: Buffer[] = [];
  const sealer = createSealer(p, opts.random === undefined ? key : vectorKey, { ...opts, sink: (c) => void out.push(Buffer.from(c)) });
  for (const c of chunked(plaintext, opts.maxChunk ?? 300_000)) await sealer.write(c);
  const result = await sealer.end();
  return { ct: Buffer.concat(out), result };
}

t.test('reproduces the AES vectors through the pool and inline', async (t) => {
  for (const v of dareVectors.vectors.filter((x) => x.cipher_suite === 'AES_256_GCM')) {
    for (const p of [pool, null]) {
      const { ct, result } = await sealAll(p, pattern(v.plaintext_size), { random: vectorRandom, maxChunk: 70_000 });
      t.equal(sha256hex(ct), v.ciphertext_sha256, `${v.name} ${p === null ? 'inline' : 'pool'}`);
      t.same(result, { plaintextSize: v.plaintext_size, ciphertextSize: v.ciphertext_size });
    }
  }
});

t.test('many batches arrive in order, byte-identical to the codec', async (t) => {
  for (const size of [1 * MiB, 2 * MiB, 5 * MiB + 12345, 16 * MiB + 1]) {
    const pt = pattern(size, size);
    const spy = spyOnRun(pool);
    const { ct, result } = await sealAll(pool, pt, { random: vectorRandom });
    t.ok(ct.equals(sealBuffer(vectorKey, pt, vectorRandom)), `${size} bytes`);
    t.equal(result.ciphertextSize, ct.length);
    t.equal(spy.calls.length, Math.ceil(size / MiB), 'one task per MiB batch');
  }
});

t.test('one stream uses both workers', async (t) => {
  const spy = spyOnRun(pool);
  const { ct } = await sealAll(pool, pattern(64 * MiB), { maxChunk: 512 * 1024 });
  t.equal(ct.length, 64 * MiB + 1024 * 32);
  t.equal(spy.threads.size, 2, 'batches of one stream ran on two worker threads');
  t.ok(spy.maxConcurrent >= 2, `batches in flight at once: ${spy.maxConcurrent}`);
});

t.test('a slow sink bounds the bytes in flight and pauses the writer', async (t) => {
  let accepted = 0;
  let delivered = 0;
  let peak = 0;
  const sealer = createSealer(pool, key, {
    maxInFlight: 2,
    sink: async (c) => {
      await new Promise((r) => setTimeout(r, 15));
      delivered += c.length;
    },
  });
  const chunk = pattern(256 * 1024);
  for (let i = 0; i < 48; i++) {
    await sealer.write(chunk);
    accepted += chunk.length;
    peak = Math.max(peak, accepted - delivered);
  }
  await sealer.end();
  // In flight: maxInFlight sealed batches + the slot being filled (+ package overhead in `delivered`).
  t.ok(peak <= 3 * MiB + chunk.length, `peak undelivered ${peak} bytes`);
  t.ok(peak >= 2 * MiB, 'the pipeline does fill up before pausing');

  const gate = deferred();
  const blocked = createSealer(pool, key, { maxInFlight: 2, sink: () => gate.promise });
  await blocked.write(pattern(MiB)); // fills batch 1
  await blocked.write(pattern(MiB)); // dispatches batch 1 (the sink blocks on it), fills batch 2
  let resolved = false;
  const third = blocked.write(pattern(MiB)).then(() => (resolved = true)); // dispatches batch 2: full
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(resolved, 'write waits while the sink holds up both in-flight batches');
  gate.resolve();
  await third;
  t.ok(resolved);
  t.equal((await blocked.end()).plaintextSize, 3 * MiB);
});

// The worker wipes the copy it was sent; the main thread's copy of the object key, one per
// batch, must not outlive its batch in freed memory either (whatever way the stream ends).
t.test('the key copy each pool task carries is wiped once its batch is done', async (t) => {
  const spy = spyOnRun(pool);
  await sealAll(pool, pattern(5 * MiB + 3, 7));
  const sealer = createSealer(pool, key, { sink: () => undefined });
  for (const c of chunked(pattern(4 * MiB, 8), 1 * MiB)) await sealer.write(c);
  sealer.abort(new Error('client went away'));
  await sealer.end().catch(() => undefined);
  // The aborted batches settle (polled: a loaded machine takes longer than any fixed pause).
  const zeroed = () => spy.calls.every((c) => c.key.every((b) => b === 0));
  await pollUntil(zeroed, (z) => z, 10_000, 20);
  t.ok(spy.calls.length >= 9, `${spy.calls.length} tasks ran`);
  t.ok(zeroed(), 'every task key is zeroed');
});

t.test('abort stops the stream, skips queued batches and returns the slots', async (t) => {
  const freeBefore = pool.arena.allocated;
  const gate = deferred();
  let sinkCalls = 0;
  const sealer = createSealer(pool, key, {
    maxInFlight: 4,
    sink: async () => {
      sinkCalls++;
      await gate.promise;
    },
  });
  for (let i = 0; i < 4; i++) await sealer.write(pattern(MiB));
  await pollUntil(() => sinkCalls, (n) => n > 0, 10_000, 10);
  t.equal(sinkCalls, 1, 'the sink holds the first batch');
  const reason = new Error('client went away');
  sealer.abort(reason);
  gate.resolve();
  await t.rejects(sealer.end(), reason);
  await t.rejects(sealer.write(pattern(10)), reason);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(sinkCalls, 1, 'the sink is not called after abort');
  t.equal(pool.stats().queued, 0);
  t.equal(pool.arena.allocated, Math.max(freeBefore, pool.arena.allocated), 'no slot leaked');
  t.equal(pool.arena.free, pool.arena.allocated, 'every slot is back in the arena');

  const ac = new AbortController();
  const viaSignal = createSealer(pool, key, { signal: ac.signal, sink: () => {} });
  await viaSignal.write(pattern(3 * MiB));
  ac.abort();
  await t.rejects(viaSignal.end(), { name: 'AbortError' });
  const pre = new AbortController();
  pre.abort(new DareError('Aborted'));
  await t.rejects(createSealer(pool, key, { signal: pre.signal, sink: () => {} }).write(pattern(1)), { code: 'Aborted' });
});

t.test('small bodies seal inline, larger ones on the pool', async (t) => {
  const spy = spyOnRun(pool);
  await sealAll(pool, pattern(256 * 1024 - 1));
  t.equal(spy.calls.length, 0, 'under 256 KiB: no pool round trip');
  await sealAll(pool, pattern(256 * 1024));
  t.equal(spy.calls.length, 1, 'at 256 KiB: one pool task');
  const { ct } = await sealAll(null, pattern(3 * MiB + 5));
  t.ok(openBuffer(key, ct).equals(pattern(3 * MiB + 5)), 'no pool: everything inline');
});

t.test('MD5 of the plaintext, inline and on a lane', async (t) => {
  for (const size of [0, 1, 200_000, 256 * 1024, 5 * MiB + 3]) {
    const pt = pattern(size, 7);
    const md5 = createHash('md5').update(pt).digest('hex');
    for (const p of [pool, null]) {
      const { result } = await sealAll(p, pt, { md5: true });
      t.equal(result.md5?.toString('hex'), md5, `${size} bytes ${p === null ? 'inline' : 'pool'}`);
    }
  }
  const { result } = await sealAll(pool, pattern(10));
  t.equal(result.md5, undefined, 'no MD5 unless asked');
});

t.test('empty body, sink errors, misuse', async (t) => {
  let calls = 0;
  const empty = createSealer(pool, key, { md5: true, sink: () => void calls++ });
  t.same(await empty.end(), { plaintextSize: 0, ciphertextSize: 0, md5: createHash('md5').digest() });
  t.equal(calls, 0, 'empty plaintext → no ciphertext');

  const boom = new Error('disk full');
  const failing = createSealer(pool, key, { sink: () => Promise.reject(boom) });
  await failing.write(pattern(2 * MiB));
  await t.rejects(failing.end(), boom);

  const gate = deferred();
  const s = createSealer(pool, key, { maxInFlight: 1, sink: () => gate.promise });
  await s.write(pattern(MiB));
  const w = s.write(pattern(10)); // dispatches the first MiB, then waits for the sink
  await t.rejects(s.write(pattern(10)), /pending/, 'a second write while one is pending');
  await t.rejects(s.end(), /pending/, 'end while a write is pending');
  gate.resolve();
  await w;
  t.equal((await s.end()).plaintextSize, MiB + 10);
  await t.rejects(s.end(), /twice/);
  t.throws(() => createSealer(pool, Buffer.alloc(16), { sink: () => {} }), RangeError);
});

t.test('concurrentSinks: up to N sink calls at once, in stream order, slots still bounded', async (t) => {
  const pt = pattern(12 * MiB + 777, 9);
  // A positional sink: each call gets the next offset when made, completes after a delay.
  const out = Buffer.alloc(sealBuffer(key, pt, vectorRandom).length);
  let offset = 0;
  let inFlight = 0;
  let most = 0;
  const starts: number[] = [];
  const sealer = createSealer(pool, key, {
    random: vectorRandom,
    concurrentSinks: 2,
    maxInFlight: 4,
    sink: async (c) => {
      const at = offset;
      offset += c.length;
      starts.push(at);
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 3));
      c.copy(out, at); // still valid: the slot is not reused before this call settles
      inFlight--;
    },
  });
  const arena = pool.arena;
  let peakSlots = 0;
  for (const c of chunked(pt, 256 * 1024)) {
    await sealer.write(c);
    peakSlots = Math.max(peakSlots, arena.allocated - arena.free);
  }
  const r = await sealer.end();
  t.ok(out.equals(sealBuffer(key, pt, vectorRandom)), 'the file the sink assembled is the sealed stream');
  t.equal(r.ciphertextSize, out.length);
  t.equal(most, 2, 'two sink calls overlapped, never more');
  t.same(starts, [...starts].sort((a, b) => a - b), 'calls were made in stream order');
  t.ok(peakSlots <= 4 + 1, `slots in use stayed bounded by maxInFlight (peak ${peakSlots})`);
});

t.test('concurrentSinks: a failing sink call fails the stream; the other call in flight settles first', async (t) => {
  const pt = pattern(6 * MiB, 10);
  let calls = 0;
  const slow = deferred();
  const sealer = createSealer(pool, key, {
    concurrentSinks: 2,
    sink: async () => {
      calls++;
      if (calls === 1) await slow.promise; // still writing when the second call fails
      if (calls === 2) throw new Error('disk full');
    },
  });
  // The slow first call finishes a little later, as a disk write would.
  setTimeout(() => slow.resolve(), 100);
  let failed: unknown;
  try {
    for (const c of chunked(pt, 512 * 1024)) await sealer.write(c);
    await sealer.end();
  } catch (err) {
    failed = err;
  }
  t.match(failed, { message: 'disk full' }, 'the sink error surfaces');
  t.equal(calls, 2, 'no sink call after the failure');
  await pollUntil(() => pool.arena.allocated - pool.arena.free, (held) => held === 0, 10_000, 20);
  t.equal(pool.arena.allocated - pool.arena.free, 0, 'every slot is back once the slow call settled');
});

t.test('park between writes gives the filling slot back and changes no byte of the stream or its MD5', async (t) => {
  for (const p of [pool, null]) {
    for (const size of [100_000, MiB, MiB + 1, 3 * MiB + 777]) {
      const pt = pattern(size, 11);
      const out: Buffer[] = [];
      const sealer = createSealer(p, vectorKey, { random: vectorRandom, md5: true, sink: (c) => void out.push(Buffer.from(c)) });
      const arena = p?.arena;
      for (const c of chunked(pt, 333_333)) {
        await sealer.write(c);
        const inUse = (): number => (arena === undefined ? 0 : arena.allocated - arena.free);
        const before = inUse();
        sealer.park();
        sealer.park();
        if (arena !== undefined) t.equal(inUse(), before - 1, `${size}: parking returned the filling slot, once`);
      }
      const result = await sealer.end();
      const where = `${size} bytes ${p === null ? 'inline' : 'pool'}`;
      t.ok(Buffer.concat(out).equals(sealBuffer(vectorKey, pt, vectorRandom)), `${where}: the same DARE stream`);
      t.equal(result.md5?.toString('hex'), createHash('md5').update(pt).digest('hex'), `${where}: the same MD5`);
    }
  }
});

t.test('abort of a stream hashing on an MD5 lane: its lane state is dropped, every slot returns, the next stream hashes right', async (t) => {
  const lanes = new CryptoPool({ workers: 1, hashLanes: 1 });
  t.teardown(() => lanes.close());
  const gate = deferred();
  const sealer = createSealer(lanes, key, {
    md5: true,
    maxInFlight: 3,
    sink: () => gate.promise,
  });
  for (let i = 0; i < 3; i++) await sealer.write(pattern(MiB, i));
  t.equal(lanes.md5Stats().streams, 1, 'the stream hashes on the lane');
  sealer.abort();
  gate.resolve();
  await t.rejects(sealer.end(), { code: 'Aborted' }, 'abort() without a reason: DARE Aborted');
  // Up to 10 s: the workers still sealing the aborted stream's packages give their slots back when
  // they finish, which on a loaded CI box (other suites beside it) took more than the 1 s this was.
  for (let i = 0; i < 500 && (lanes.md5Stats().streams > 0 || lanes.arena.free < lanes.arena.allocated); i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(lanes.md5Stats().streams, 0, 'the aborted stream no longer holds its lane');
  t.equal(lanes.arena.free, lanes.arena.allocated, 'every slot is back once the lane and the workers let go of them');
  // The same lane (one at most) serves the next stream.
  const pt = pattern(2 * MiB + 5, 9);
  const { result } = await sealAll(lanes, pt, { md5: true });
  t.equal(result.md5?.toString('hex'), createHash('md5').update(pt).digest('hex'), 'the next stream on the lane gets its own MD5');
  t.equal(lanes.md5Stats().lanes, 1, 'on the same lane');
});

t.test('a sealer that cannot open its MD5 lane (the pool closed: shutdown) fails, and every slot it took returns', async (t) => {
  const closed = new CryptoPool({ workers: 1, hashLanes: 1 });
  await closed.close();
  const sealer = createSealer(closed, key, { md5: true, sink: () => undefined });
  // Two slots' worth: the first full slot is dispatched (a pool batch, so a lane) as the second fills.
  await t.rejects(sealer.write(pattern(2 * MiB)), /closed/, 'the write fails');
  sealer.abort();
  await t.rejects(sealer.end(), /closed/, 'and so does the end, with the same failure');
  for (let i = 0; i < 500 && closed.arena.free < closed.arena.allocated; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(closed.arena.free, closed.arena.allocated, `every slot is back (${closed.arena.free} of ${closed.arena.allocated}; the slot being dispatched was lost)`);
});
