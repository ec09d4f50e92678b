// Data-file reads (storage/files.ts): DataFile.readFully on the synchronous path (whole request
// ≤ syncReadMax) and on the thread pool give the same bytes at any offset; short files give short
// counts, and FileStore.read turns them into an error; `into` buffers are reused (lent) and never
// yield more than asked; close is idempotent and reads after it fail; FileStore.read closes only
// the descriptors it opened itself, also when the consumer stops early.

import t, { type Test } from 'tap';
import fs from 'node:fs';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFile, FileStore, WarmFiles } from '../../../../daemon/storage/files.js';
import { SlotArena } from '../../../../daemon/crypto/slot-arena.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const dir = mkdtempSync(join(tmpdir(), 's3d-files-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Counts the real fs.readSync / fs.read calls files.ts makes (wrapping, not replacing them). */
function countFsReads(t: Test): { sync: number; async: number } {
  const counts = { sync: 0, async: 0 };
  const origSync = fs.readSync;
  const origRead = fs.read;
  (fs as { readSync: unknown }).readSync = function (this: unknown, ...args: unknown[]) {
    counts.sync++;
    return (origSync as (...a: unknown[]) => number).apply(this, args);
  };
  (fs as { read: unknown }).read = function (this: unknown, ...args: unknown[]) {
    counts.async++;
    return (origRead as (...a: unknown[]) => void).apply(this, args);
  };
  syncBuiltinESMExports();
  t.teardown(() => {
    (fs as { readSync: unknown }).readSync = origSync;
    (fs as { read: unknown }).read = origRead;
    syncBuiltinESMExports();
  });
  return counts;
}

/** Descriptors this process has open (Linux). */
function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

async function collect(it: AsyncIterable<Buffer>): Promise<{ chunks: Buffer[]; copies: Buffer[] }> {
  const chunks: Buffer[] = [];
  const copies: Buffer[] = [];
  for await (const c of it) {
    chunks.push(c);
    copies.push(Buffer.from(c));
  }
  return { chunks, copies };
}

const SIZE = 3 * MiB + 12_345;
const content = bytes(SIZE, 7);
const store = new FileStore(dir, { syncReadMax: MiB + KiB });
const plainStore = new FileStore(dir); // syncReadMax 0: never synchronous
let id: string;

t.before(async () => {
  await store.init();
  const w = await store.create();
  await w.write(content);
  await w.commit();
  id = w.id;
});

t.test('readFully: the synchronous and the thread-pool path give identical bytes', async (t) => {
  const counts = countFsReads(t);
  const cases: Array<[number, number]> = [
    [0, 1],
    [0, 4096],
    [1, 65_568],
    [MiB - 3, 100_000],
    [SIZE - 10, 10],
    [0, MiB + KiB],
    [12_345, MiB + KiB],
  ];
  for (const [pos, len] of cases) {
    const f = store.open(id);
    try {
      const a = Buffer.alloc(len + 20, 0xee);
      const b = Buffer.alloc(len + 20, 0xee);
      counts.sync = 0;
      counts.async = 0;
      const gotSync = await f.readFully(a, 10, len, pos, len); // request ≤ syncReadMax: synchronous
      t.ok(counts.sync >= 1 && counts.async === 0, `[${pos}+${len}] request of ${len} bytes: read synchronously (${counts.sync} sync, ${counts.async} async)`);
      counts.sync = 0;
      counts.async = 0;
      const gotAsync = await f.readFully(b, 10, len, pos, MiB + KiB + 1); // request > syncReadMax: thread pool
      t.ok(counts.async >= 1 && counts.sync === 0, `[${pos}+${len}] request over syncReadMax: read on the thread pool (${counts.sync} sync, ${counts.async} async)`);
      t.equal(gotSync, len);
      t.equal(gotAsync, len);
      t.ok(a.equals(b), `[${pos}+${len}] same bytes both ways, offset respected`);
      t.ok(a.subarray(10, 10 + len).equals(content.subarray(pos, pos + len)), `[${pos}+${len}] the file's bytes`);
      t.ok(a.subarray(0, 10).equals(Buffer.alloc(10, 0xee)) && a.subarray(10 + len).equals(Buffer.alloc(10, 0xee)), `[${pos}+${len}] nothing written outside [offset, offset+length)`);
    } finally {
      f.close();
    }
  }
  const f = store.open(id);
  counts.sync = 0;
  counts.async = 0;
  const buf = Buffer.alloc(100);
  await f.readFully(buf, 0, 100, 0); // requestBytes omitted: never synchronous
  t.same(counts, { sync: 0, async: 1 }, 'without a request size, the read goes to the thread pool');
  f.close();
  const never = plainStore.open(id);
  counts.sync = 0;
  counts.async = 0;
  await never.readFully(buf, 0, 100, 0, 100);
  t.same(counts, { sync: 0, async: 1 }, 'syncReadMax 0 (the default): never synchronous');
  never.close();
  const exact = new DataFile(id, fs.openSync(store.pathOf(id), 'r'), 4096);
  counts.sync = 0;
  counts.async = 0;
  await exact.readFully(buf, 0, 100, 0, 4096);
  t.ok(counts.sync === 1 && counts.async === 0, 'a request of exactly syncReadMax bytes is synchronous');
  counts.sync = 0;
  counts.async = 0;
  await exact.readFully(buf, 0, 100, 0, 4097);
  t.ok(counts.sync === 0 && counts.async === 1, 'one byte more goes to the thread pool');
  exact.close();
});

t.test('readFully at and past the end of the file: short counts, both paths', async (t) => {
  const f = store.open(id);
  t.teardown(() => f.close());
  for (const requestBytes of [10, Infinity]) {
    const path = requestBytes === 10 ? 'sync' : 'async';
    const buf = Buffer.alloc(100, 0xaa);
    t.equal(await f.readFully(buf, 0, 100, SIZE - 40, requestBytes), 40, `${path}: 40 bytes left at the end`);
    t.ok(buf.subarray(0, 40).equals(content.subarray(SIZE - 40)), `${path}: the last 40 bytes`);
    t.ok(buf.subarray(40).equals(Buffer.alloc(60, 0xaa)), `${path}: nothing written after them`);
    t.equal(await f.readFully(buf, 0, 100, SIZE, requestBytes), 0, `${path}: at EOF: 0`);
    t.equal(await f.readFully(buf, 0, 100, SIZE + 5000, requestBytes), 0, `${path}: past EOF: 0`);
    t.equal(await f.readFully(buf, 0, 0, 0, requestBytes), 0, `${path}: zero length: 0`);
  }
});

t.test('FileStore.read: chunks, `into` buffers, both paths give the file bytes', async (t) => {
  const ranges: Array<[number, number]> = [
    [0, SIZE],
    [1, MiB],
    [MiB - 1, MiB + 2],
    [SIZE - 1, 1],
    [5, 100],
    [0, 0],
  ];
  for (const [off, len] of ranges) {
    const want = content.subarray(off, off + len);
    const fresh = await collect(store.read(id, off, len));
    t.ok(Buffer.concat(fresh.copies).equals(want), `[${off}+${len}] fresh buffers`);
    t.ok(fresh.chunks.every((c) => c.length <= MiB), `[${off}+${len}] chunks of at most 1 MiB`);
    const viaPool = await collect(plainStore.read(id, off, len));
    t.ok(Buffer.concat(viaPool.copies).equals(want), `[${off}+${len}] syncReadMax 0`);
    for (const intoSize of [4096, 300_000, MiB, 2 * MiB]) {
      const into = Buffer.alloc(intoSize);
      const lent = await collect(store.read(id, off, len, undefined, into));
      t.ok(Buffer.concat(lent.copies).equals(want), `[${off}+${len}] into ${intoSize}: same bytes`);
      const sizesOk = lent.chunks.every((c, i, a) => c.length === (i < a.length - 1 ? intoSize : len - intoSize * (a.length - 1)));
      t.ok(sizesOk, `[${off}+${len}] into ${intoSize}: full chunks, then the rest (${lent.chunks.map((c) => c.length).join(',')})`);
      t.ok(lent.chunks.every((c) => c.buffer === into.buffer && c.byteOffset === into.byteOffset), `[${off}+${len}] into ${intoSize}: every chunk is a view of the lent buffer`);
    }
  }
});

t.test('FileStore.read: a file shorter than asked throws, on both paths, without yielding past its end', async (t) => {
  const w = await store.create();
  const short = bytes(300_000, 9);
  await w.write(short);
  await w.commit();
  for (const [name, s] of [
    ['sync', store],
    ['thread pool', plainStore],
  ] as const) {
    for (const into of [undefined, Buffer.alloc(64 * KiB)]) {
      const label = `${name}${into ? ', into' : ''}`;
      const got: Buffer[] = [];
      await t.rejects(
        (async () => {
          for await (const c of s.read(w.id, 0, 400_000, undefined, into)) got.push(Buffer.from(c));
        })(),
        /shorter than its record says/,
        `${label}: 400000 asked of a 300000-byte file`,
      );
      const all = Buffer.concat(got);
      t.ok(all.length < 300_000 && all.equals(short.subarray(0, all.length)), `${label}: ${all.length} bytes yielded first, all from the file`);
      await t.rejects(collect(s.read(w.id, 299_999, 2, undefined, into)), /shorter than its record says/, `${label}: a range over the end`);
      await t.rejects(collect(s.read(w.id, 300_000, 1, undefined, into)), /shorter than its record says/, `${label}: a range past the end`);
    }
  }
  // The file gets shorter after it was opened (a truncated data file under an open descriptor).
  const f = store.open(w.id);
  truncateSync(store.pathOf(w.id), 100_000);
  await t.rejects(collect(store.read(w.id, 0, 300_000, f)), /shorter than its record says/, 'truncated under an open descriptor');
  f.close();
});

t.test('close is idempotent; reads after it fail on both paths', async (t) => {
  const before = openFds();
  const f = store.open(id);
  t.equal(openFds(), before + 1, 'open() holds one descriptor');
  f.close();
  t.equal(openFds(), before, 'close() releases it');
  t.doesNotThrow(() => f.close(), 'a second close is a no-op');
  t.doesNotThrow(() => f.close(), 'and a third');
  // A descriptor opened after the close may reuse the number: the closed DataFile must not touch it.
  const other = join(dir, 'other');
  writeFileSync(other, Buffer.alloc(100, 0x55));
  const fd = fs.openSync(other, 'r');
  t.teardown(() => fs.closeSync(fd));
  f.close();
  const buf = Buffer.alloc(10);
  await t.rejects(f.readFully(buf, 0, 10, 0, 10), /closed/, 'sync path: a read after close fails');
  await t.rejects(f.readFully(buf, 0, 10, 0, Infinity), /closed/, 'thread-pool path: a read after close fails');
  t.ok(buf.equals(Buffer.alloc(10)), 'and reads nothing (not even from a reused descriptor number)');
  const probe = Buffer.alloc(1);
  t.equal(fs.readSync(fd, probe, 0, 1, 0), 1, 'the other file\'s descriptor was left open by the repeated close()');
});

t.test('FileStore.read closes only what it opened, also when the consumer stops early or it fails', async (t) => {
  const before = openFds();
  await collect(store.read(id, 0, 2 * MiB));
  t.equal(openFds(), before, 'own descriptor closed after a full read');
  const it = store.read(id, 0, 3 * MiB)[Symbol.asyncIterator]();
  await it.next();
  t.equal(openFds(), before + 1, 'held while reading');
  await it.return(undefined);
  t.equal(openFds(), before, 'closed when the consumer stops early');
  await t.rejects(collect(store.read(id, SIZE - 5, 10)), /shorter/);
  t.equal(openFds(), before, 'closed after a short-file error');
  await t.rejects(store.read('not-an-id', 0, 1).next(), /invalid data file id/, 'an invalid id is refused');
  await t.rejects(store.read('0'.repeat(32), 0, 1).next(), { code: 'ENOENT' }, 'a missing file: ENOENT');
  t.equal(openFds(), before, 'nothing leaked by the failures');

  const mine = store.open(id);
  await collect(store.read(id, 0, 100, mine));
  const it2 = store.read(id, 0, 3 * MiB, mine)[Symbol.asyncIterator]();
  await it2.next();
  await it2.return(undefined);
  t.equal(openFds(), before + 1, 'a caller\'s DataFile stays open after reads (full and abandoned)');
  const buf = Buffer.alloc(16);
  t.equal(await mine.readFully(buf, 0, 16, 0, 16), 16, 'and still reads');
  t.ok(buf.equals(content.subarray(0, 16)));
  mine.close();
  t.equal(openFds(), before);
});

t.test('close() while a thread-pool read runs: the descriptor stays open until the read settles', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync, readdirSync, readlinkSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { FileStore } = await import('../../../../daemon/storage/files.js');
  const dir = mkdtempSync(join(tmpdir(), 's3d-close-race-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FileStore(dir, { syncReadMax: 0 });
  await store.init();
  const id = 'ab'.padEnd(32, '0');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, '.s3d', 'objects', 'ab'), { recursive: true });
  const content = Buffer.alloc(4 * 1024 * 1024, 7);
  writeFileSync(store.pathOf(id), content);
  const f = store.open(id);
  const fdsOf = (): string[] => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === store.pathOf(id);
    } catch {
      return false;
    }
  });
  t.equal(fdsOf().length, 1, 'open');
  const buf = Buffer.alloc(content.length);
  const reading = f.readFully(buf, 0, buf.length, 0);
  f.close();
  t.equal(fdsOf().length, 1, 'still open while the read is on the thread pool');
  t.equal(await reading, content.length, 'the read completes');
  t.ok(buf.equals(content), 'with the right bytes');
  t.equal(fdsOf().length, 0, 'closed once it settled');
  await t.rejects(f.readFully(buf, 0, 10, 0), /closed/, 'reads after close fail');
  f.close();
  t.pass('close is still idempotent');
});

t.test('O_DIRECT data files: aligned slot regions go around the page cache, the rest through it; the bytes are exact', async (t) => {
  const { mkdtempSync, readFileSync, rmSync, existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { FileStore } = await import('../../../../daemon/storage/files.js');
  const { SlotArena } = await import('../../../../daemon/crypto/slot-arena.js');
  const { isMemoryAligned } = await import('../../../../daemon/storage/aligned.js');
  const dir = mkdtempSync(join(tmpdir(), 's3d-direct-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FileStore(dir, { directIo: true });
  await store.init();
  if (!store.directIo) {
    t.comment(`the filesystem of ${tmpdir()} refuses O_DIRECT: the store falls back to buffered writes`);
    t.equal(store.directIo, false);
    return;
  }
  const arena = new SlotArena();
  const a = arena.acquire();
  const b = arena.acquire();
  t.ok(isMemoryAligned(a.output, 4096) && isMemoryAligned(b.input, 4096), 'slot regions are page-aligned memory');
  const full = 16 * 65568; // one full DARE batch: 2,049 × 512 bytes
  for (let i = 0; i < full; i++) a.output[i] = (i * 7) & 0xff;
  for (let i = 0; i < full; i++) b.input[i] = (i * 13 + 5) & 0xff;
  const w = await store.create();
  const tail = Buffer.from('an unaligned tail of a stream');
  // aligned, aligned (concurrently), an unaligned tail, then aligned memory at an unaligned offset
  await Promise.all([w.write(a.output.subarray(0, full)), w.write(b.input.subarray(0, full))]);
  // Only whole pages at page-aligned offsets go direct: the first batch's 256 pages. Its last 512 B
  // and the second batch (at an offset 512 B past a page boundary) take the page cache, since
  // sub-page O_DIRECT writes are read-modify-writes on 4 KiB-sector disks (1.5 s for 64 MiB here).
  t.equal(w.directBytes, 256 * 4096, 'the first batch\'s whole pages went around the page cache, nothing else');
  await w.write(tail);
  await w.write(a.output.subarray(0, 4096));
  await w.commit();
  const got = readFileSync(store.pathOf(w.id));
  const want = Buffer.concat([a.output.subarray(0, full), b.input.subarray(0, full), tail, a.output.subarray(0, 4096)]);
  t.equal(got.length, want.length, 'size');
  t.ok(got.equals(want), 'every byte where it belongs');
  const w2 = await store.create();
  await w2.write(a.output.subarray(0, full));
  await w2.discard();
  t.notOk(existsSync(store.pathOf(w2.id)), 'discard removes a direct-written file');
  const off = new FileStore(join(dir, 'off'), { directIo: false });
  await off.init();
  t.equal(off.directIo, false, 'S3_DIRECT_IO=off keeps the page cache');
});

t.test('WarmFiles: least recently used out first, bounded by the bytes accounted', (t) => {
  const w = new WarmFiles(100);
  w.touch('a', 40);
  w.touch('b', 40);
  t.ok(w.has('a') && w.has('b'));
  w.touch('a', 10); // recently used again; extents only grow
  w.touch('c', 40); // 120 > 100: the least recently used (b) goes
  t.same(['a', 'b', 'c'].map((id) => w.has(id)), [true, false, true]);
  w.forget('a');
  t.same([w.has('a'), w.size], [false, 1]);
  w.touch('huge', 500); // over the budget alone: kept (it was just read), everything older goes
  t.same([w.has('c'), w.has('huge'), w.size], [false, true, 1]);
  t.end();
});

t.test('synchronous reads only for files in the page cache: read lately, or written without O_DIRECT', async (t) => {
  const counts = countFsReads(t);
  const data = bytes(200_000, 11);
  for (const directIo of [true, false]) {
    const s = new FileStore(join(dir, `warm-${directIo}`), { syncReadMax: MiB, directIo });
    await s.init();
    const w = await s.create();
    // O_DIRECT writes need page-aligned memory: the crypto slots' kind (an ordinary Buffer goes through the page cache).
    const slot = new SlotArena().acquire();
    data.copy(slot.output);
    await w.write(slot.output.subarray(0, 196_608)); // 384 × 512 B: aligned, O_DIRECT when on
    await w.write(slot.output.subarray(196_608, data.length)); // the unaligned tail: buffered
    await w.commit();
    const direct = s.directIo;
    t.equal(s.warm.has(w.id), !direct, `directIo ${directIo} (in effect: ${direct}): ${direct ? 'not warm after an O_DIRECT write' : 'warm after a buffered write'}`);
    const buf = Buffer.alloc(data.length);
    for (const round of [1, 2]) {
      counts.sync = 0;
      counts.async = 0;
      const f = s.open(w.id);
      t.equal(await f.readFully(buf, 0, data.length, 0, data.length), data.length);
      f.close();
      t.ok(buf.equals(data), `round ${round}: the bytes`);
      const expectSync = round === 2 || !direct;
      t.same(counts, expectSync ? { sync: 1, async: 0 } : { sync: 0, async: 1 }, `round ${round}: ${expectSync ? 'synchronous' : 'thread pool'}`);
    }
    t.same(s.reads, direct ? { sync: 1, pool: 1 } : { sync: 2, pool: 0 }, 'the store counts reads by path');
    await s.remove(w.id);
    t.notOk(s.warm.has(w.id), 'a removed file is forgotten');
  }
});
