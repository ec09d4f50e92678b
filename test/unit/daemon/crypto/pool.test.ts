// CryptoPool: options, stats, worker results as codes, cancel flags, close() draining.
import t from 'tap';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CryptoPool } from '../../../../daemon/crypto/pool.js';
import { SlotArena } from '../../../../daemon/crypto/slot-arena.js';
import { openBuffer } from '../../../../workers/format/index.js';
import { SEAL_BATCH_BYTES, type SealTask } from '../../../../workers/protocol.js';
import { pattern } from './helpers.js';

const key = Buffer.alloc(32, 5);
const random = new Uint8Array(12).fill(9);

function sealTask(pool: CryptoPool, n: number, final = true) {
  const slot = pool.arena.acquire();
  slot.input.set(pattern(n));
  const task: SealTask = { op: 'seal', slot: slot.sab, base: slot.base, inLength: n, key: new Uint8Array(key), random, firstSequence: 0, final };
  return { slot, task };
}

t.test('options are validated and named', async (t) => {
  t.throws(() => new CryptoPool({ workers: 0 }), /workers/);
  t.throws(() => new CryptoPool({ workers: 1.5 }), /workers/);
  t.throws(() => new CryptoPool({ hashLanes: -1 }), /hashLanes/);
});

t.test('runs batches, reports stats, skips cancelled slots, drains on close', async (t) => {
  const pool = new CryptoPool({ workers: 2 });
  const s0 = pool.stats();
  t.equal(s0.workers, 2);
  t.same(Object.keys(s0).sort(), ['completed', 'queued', 'running', 'utilization', 'workers']);

  const { slot, task } = sealTask(pool, SEAL_BATCH_BYTES);
  const r = await pool.run(task);
  t.ok(r.ok);
  if (r.ok) t.ok(openBuffer(key, slot.output.subarray(0, r.length)).equals(pattern(SEAL_BATCH_BYTES)));
  t.ok(task.key.every((b) => b === 0) === false, 'the main thread copy is the caller’s (the worker wipes its own)');

  const bad = sealTask(pool, 1000, false); // a non-final batch must be whole packages
  await t.rejects(pool.run(bad.task), /whole 64 KiB packages/, 'a bug (not a data error) rejects');

  const cancelled = sealTask(pool, 1000);
  SlotArena.cancel(cancelled.slot);
  t.same(await pool.run(cancelled.task), { ok: false, code: 'Aborted' }, 'a cancelled slot is skipped');

  const many = Array.from({ length: 12 }, () => sealTask(pool, SEAL_BATCH_BYTES));
  const runs = many.map((m) => pool.run(m.task));
  const mid = pool.stats();
  t.ok(mid.queued + mid.running >= 10, `work is queued or running: ${JSON.stringify(mid)}`);
  await pool.close();
  const results = await Promise.all(runs);
  t.ok(results.every((x) => x.ok), 'close() let every submitted batch finish');
  t.ok(pool.stats().completed >= 14);
  await t.rejects(pool.run(sealTask(pool, 10).task), /closed/);
  t.throws(() => pool.md5Lane(), /closed/);
});

t.test('selfTest: a seal and an open of a few bytes on the workers', async (t) => {
  const pool = new CryptoPool({ workers: 1 });
  t.teardown(() => pool.close());
  await t.resolves(pool.selfTest(), 'resolves once a worker ran both');
  t.equal(pool.stats().completed, 2, 'two tasks');
});

t.test('md5Stats: the lanes started and the streams hashing through them now, 0 once they finish', async (t) => {
  const pool = new CryptoPool({ workers: 2 });
  t.teardown(() => pool.close());
  t.same(pool.md5Stats(), { lanes: 0, streams: 0 }, 'no lane before the first stream');
  const [a, b, c] = [pool.md5Lane(), pool.md5Lane(), pool.md5Lane()];
  t.same(pool.md5Stats(), { lanes: 2, streams: 3 }, 'two lanes (hashLanes defaults to workers) carry three streams');
  const buf = new SharedArrayBuffer(16);
  await a.update(buf, 0, 16);
  t.equal((await a.finish())?.toString('hex'), createHash('md5').update(Buffer.alloc(16)).digest('hex'), 'the digest');
  t.same(pool.md5Stats(), { lanes: 2, streams: 2 }, 'a finished stream is no longer counted');
  await b.finish(true);
  await c.finish();
  t.same(pool.md5Stats(), { lanes: 2, streams: 0 }, 'all finished (discarded too): 0, the lanes kept');
});

t.test('close() ends no worker that is still loading its module (Node 20 aborts the process on that)', async (t) => {
  const slow = new CryptoPool({ workers: 2, filename: new URL('../../../fixtures/crypto-workers/slow-loading.js', import.meta.url).href });
  let loaded = false;
  void slow.loaded.then(() => (loaded = true));
  const started = performance.now();
  await slow.close();
  t.ok(loaded, 'close() resolved only after both workers said they loaded');
  t.ok(performance.now() - started >= 350, `it waited for the 400 ms load (${Math.round(performance.now() - started)} ms)`);

  const silent = new CryptoPool({ workers: 1, filename: new URL('../../../fixtures/crypto-workers/silent.js', import.meta.url).href, loadWaitMs: 300 });
  const t0 = performance.now();
  await silent.close();
  const waited = performance.now() - t0;
  t.ok(waited >= 290 && waited < 5000, `a worker that never says so is waited for loadWaitMs only (${Math.round(waited)} ms)`);

  const real = new CryptoPool({ workers: 2 });
  await real.loaded;
  t.pass('the real worker module says it loaded');
  await real.close();
});

t.test('close() right after a worker died waits for the one Piscina starts in its place to load (it ended it mid-load)', async (t) => {
  const crashing = new CryptoPool({ workers: 1, filename: new URL('../../../fixtures/crypto-workers/crashing.js', import.meta.url).href });
  await crashing.loaded;
  const died = await crashing.run({ op: 'crash' } as unknown as SealTask).then(() => 'ran', (err: Error) => err.message);
  t.match(died, /exited/, 'the task of the worker that exited is rejected');
  // Piscina started the replacement as it heard of the exit, before rejecting the task; it takes 400 ms to load.
  const started = performance.now();
  await crashing.close();
  const waited = performance.now() - started;
  t.ok(waited >= 300, `close() waited for the replacement's load (${Math.round(waited)} ms; before, it returned at once: only the first workers were waited for)`);
  t.ok(waited < 5000, 'and no longer than that');
});

t.test('close() is bounded: a task whose worker never loads is failed after loadWaitMs, not waited for', async (t) => {
  const stalled = new CryptoPool({ workers: 1, filename: new URL('../../../fixtures/crypto-workers/stalled.js', import.meta.url).href, loadWaitMs: 300 });
  const task = stalled.run({ op: 'seal' } as unknown as SealTask).then(() => 'ran', (err: Error) => err.message);
  const started = performance.now();
  const closed = await Promise.race([
    stalled.close().then(() => 'resolved', (err: Error) => err.message),
    new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000).unref()),
  ]);
  t.match(closed, /crypto tasks still waiting/, 'close() says tasks were left');
  t.ok(performance.now() - started < 5_000, `within about loadWaitMs (${Math.round(performance.now() - started)} ms)`);
  const ended = await Promise.race([task, new Promise<string>((resolve) => setTimeout(() => resolve('ran'), 1_000).unref())]);
  t.not(ended, 'ran', 'the task is failed');
});

t.test('a task failed as close() ends its worker settles only once the thread is gone: its slot is not free while the thread can still write it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-pool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const pool = new CryptoPool({ workers: 1, hashLanes: 1, filename: new URL('../../../fixtures/crypto-workers/blocking-read.js', import.meta.url).href, loadWaitMs: 300 });
  await pool.loaded;
  const slot = pool.arena.acquire();
  let atSettle: string | undefined;
  const task = pool.run({ op: 'seal', slot: slot.sab, base: slot.base, fifo } as unknown as SealTask).then(
    () => 'ran',
    (err: Error) => {
      // Where the caller would give the slot back (seal-stream.ts, discardBatches).
      atSettle = slot.input.subarray(0, 4).toString('latin1');
      return err.message;
    },
  );
  const closed = pool.close().then(() => 'resolved', (err: Error) => err.message);
  // Past loadWaitMs: close() has ended the worker, whose thread still waits in its read(2).
  await new Promise((r) => setTimeout(r, 900));
  writeFileSync(fifo, 'MARK');
  t.match(await closed, /crypto tasks still waiting/, 'close() failed the task left after loadWaitMs');
  t.not(await task, 'ran', 'the task failed');
  t.equal(slot.input.subarray(0, 4).toString('latin1'), 'MARK', 'the thread wrote the slot after close() had ended it');
  t.equal(atSettle, 'MARK', 'the task failed only after that, once the thread was gone (before, it failed as the thread was told to end, and the slot could go to another task)');
});

t.test('utilization: the workers\u2019 busy share of a recent window, near 1 while they are kept busy and back near 0 once idle', async (t) => {
  const pool = new CryptoPool({ workers: 1, utilizationWindowMs: 1_000 });
  t.teardown(() => pool.close());
  await pool.loaded;
  await new Promise((r) => setTimeout(r, 1_100));
  t.ok(pool.stats().utilization < 0.05, `idle since start: ${pool.stats().utilization}`);
  // Four batches in flight all the time for 1.5 s: the one worker hardly waits for work.
  const until = performance.now() + 1_500;
  const keepBusy = async (): Promise<void> => {
    while (performance.now() < until) {
      const { slot, task } = sealTask(pool, SEAL_BATCH_BYTES);
      await pool.run(task);
      pool.arena.release(slot);
    }
  };
  await Promise.all([keepBusy(), keepBusy(), keepBusy(), keepBusy()]);
  const busy = pool.stats().utilization;
  t.ok(busy > 0.5 && busy <= 1, `kept busy for the last window: ${busy} (Piscina's own figure read ~0.0005)`);
  await new Promise((r) => setTimeout(r, 1_200));
  const idle = pool.stats().utilization;
  t.ok(idle < 0.1, `idle for the last window: ${idle}`);
});
