// The open pipeline's reader mode (ciphertext read straight into the pipeline's slots, as GET does
// for data files): the same plaintext as source mode for whole streams and ranges, pool and
// inline, lent or copied; reads stay inside the planned ciphertext; a reader that comes back short
// (a truncated data file) ends the stream with a DareError and never releases a byte of the
// incomplete batch; a failing reader or an abort never leaves a slot behind; exactly one of
// source and reader.
import t from 'tap';
import { CryptoPool } from '../../../../daemon/crypto/pool.js';
import { openStream, type CiphertextReader, type OpenStreamOptions } from '../../../../daemon/crypto/open-stream.js';
import { MAX_PAYLOAD, PACKAGE_SIZE, planRange, sealBuffer } from '../../../../workers/format/index.js';
import { OPEN_BATCH_BYTES } from '../../../../workers/protocol.js';
import { chunked, collect, pattern, rng, sourceOf , outcome } from './helpers.js';

const pool = new CryptoPool({ workers: 2 });
t.teardown(() => pool.close());
const key = Buffer.alloc(32, 0x5a);
const KiB = 1024;
const MiB = 1024 * KiB;
const BATCH_PLAIN = OPEN_BATCH_BYTES / PACKAGE_SIZE * MAX_PAYLOAD; // plaintext of one full open batch

interface ReadCall {
  pos: number;
  len: number;
  got: number;
}

/**
 * A reader over the stored ciphertext `ct` (positions are offsets into the whole stream, like a
 * data file), of which only the first `available` bytes exist (a truncated file).
 */
function bufferReader(ct: Buffer, position: number, length: number, available = ct.length): CiphertextReader & { calls: ReadCall[] } {
  const calls: ReadCall[] = [];
  return {
    calls,
    position,
    length,
    async read(buf, off, len, pos) {
      const got = Math.max(0, Math.min(len, available - pos));
      if (got > 0) buf.set(ct.subarray(pos, pos + got), off);
      calls.push({ pos, len, got });
      return got;
    },
  };
}

type Extra = Partial<Omit<OpenStreamOptions, 'source' | 'reader'>>;

function viaReader(p: CryptoPool | null, ct: Buffer, plainSize: number, offset: number, length: number, extra: Extra = {}, available = ct.length) {
  const plan = planRange(plainSize, offset, length);
  const reader = bufferReader(ct, plan.encryptedOffset, plan.encryptedLength, available);
  const stream = openStream(p, key, { reader, firstSequence: plan.firstSequence, skip: plan.skip, length: plan.length, expectFinal: plan.expectFinal, ...extra });
  return { stream, reader, plan };
}

function viaSource(p: CryptoPool | null, ct: Buffer, plainSize: number, offset: number, length: number, extra: Extra = {}, available = ct.length) {
  const plan = planRange(plainSize, offset, length);
  const end = Math.min(plan.encryptedOffset + plan.encryptedLength, available);
  const slice = ct.subarray(plan.encryptedOffset, Math.max(plan.encryptedOffset, end));
  return openStream(p, key, { source: sourceOf(chunked(slice, 300_000, offset + 7)), firstSequence: plan.firstSequence, skip: plan.skip, length: plan.length, expectFinal: plan.expectFinal, ...extra });
}


const sealed = new Map<number, { pt: Buffer; ct: Buffer }>();
function object(size: number): { pt: Buffer; ct: Buffer } {
  let o = sealed.get(size);
  if (o === undefined) {
    const pt = pattern(size, size % 97);
    o = { pt, ct: sealBuffer(key, pt) };
    sealed.set(size, o);
  }
  return o;
}

const SIZES = [1, 1000, MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 200_000, BATCH_PLAIN - 1, BATCH_PLAIN, BATCH_PLAIN + 1, 2 * BATCH_PLAIN, 3 * MiB + 4321];

t.test('whole streams: reader mode equals source mode and the plaintext, pool and inline, lent or copied', async (t) => {
  for (const size of SIZES) {
    const { pt, ct } = object(size);
    for (const p of [pool, null]) {
      for (const lend of [false, true]) {
        const r = viaReader(p, ct, size, 0, size, { lend });
        const got = await collect(r.stream);
        const src = await collect(viaSource(p, ct, size, 0, size, { lend }));
        t.ok(got.equals(pt) && got.equals(src), `${size} bytes, ${p === null ? 'inline' : 'pool'}, ${lend ? 'lent' : 'copied'}`);
        const read = r.reader.calls.reduce((a, c) => a + c.got, 0);
        t.equal(read, ct.length, `${size}: read exactly the stored stream once`);
      }
    }
  }
});

t.test('ranges: reader mode equals source mode; reads stay inside the planned ciphertext', async (t) => {
  const r = rng(4242);
  for (const size of [200_000, BATCH_PLAIN + 1, 3 * MiB + 4321]) {
    const { pt, ct } = object(size);
    const ranges: Array<[number, number]> = [
      [0, 1],
      [size - 1, 1],
      [MAX_PAYLOAD - 1, 2],
      [MAX_PAYLOAD, MAX_PAYLOAD],
      [5, size - 5],
      [Math.min(size - 1, BATCH_PLAIN - 3), Math.min(6, size - Math.min(size - 1, BATCH_PLAIN - 3))],
    ];
    for (let i = 0; i < 12; i++) {
      const off = Math.floor(r() * size);
      const len = 1 + Math.floor(r() * (size - off));
      // Ranges that end inside the final package but before the object's end are checked below.
      if (off + len < size && planRange(size, off, len).expectFinal) continue;
      ranges.push([off, len]);
    }
    for (const [off, len] of ranges) {
      for (const p of [pool, null]) {
        const v = viaReader(p, ct, size, off, len, { lend: off % 2 === 0 });
        const got = await outcome(v.stream);
        const src = await outcome(viaSource(p, ct, size, off, len));
        const want = pt.subarray(off, off + len);
        if (got.code !== 'none' || src.code !== 'none' || !got.yielded.equals(want) || !src.yielded.equals(want)) {
          t.fail(`${size} [${off}+${len}] ${p === null ? 'inline' : 'pool'}: reader ${got.yielded.length} bytes (${got.code}), source ${src.yielded.length} (${src.code})`);
        }
        const start = v.plan.encryptedOffset;
        const end = start + v.plan.encryptedLength;
        const outside = v.reader.calls.filter((c) => c.pos < start || c.pos + c.len > end);
        if (outside.length > 0) t.fail(`${size} [${off}+${len}]: reads outside [${start}, ${end}): ${JSON.stringify(outside)}`);
        const total = v.reader.calls.reduce((a, c) => a + c.got, 0);
        if (total !== v.plan.encryptedLength) t.fail(`${size} [${off}+${len}]: read ${total} bytes of ${v.plan.encryptedLength} planned`);
        const contiguous = v.reader.calls.every((c, i, a) => i === 0 || c.pos === a[i - 1]!.pos + a[i - 1]!.got);
        if (!contiguous) t.fail(`${size} [${off}+${len}]: reads not contiguous and in order`);
      }
    }
    t.pass(`${size}: ${ranges.length} ranges, pool and inline`);
  }
});

t.test('a range that ends inside the final package, before the last byte', async (t) => {
  // planRange sets expectFinal (the read reaches the final package) although the range stops
  // short of the object's end. Over HTTP the response writer stops after Content-Length bytes and
  // never sees what follows; a consumer that reads to the end (UploadPartCopy with a source range,
  // CopyObject readers) does.
  for (const size of [200_000, 3 * MiB + 4321]) {
    const { pt, ct } = object(size);
    const failed: string[] = [];
    for (const [off, len] of [
      [5, size - 10],
      [size - 100, 50],
      [0, size - 1],
    ] as const) {
      const plan = planRange(size, off, len);
      t.equal(plan.expectFinal, true, `${size} [${off}+${len}] reaches the final package`);
      for (const p of [pool, null]) {
        const label = `[${off}+${len}] ${p === null ? 'inline' : 'pool'}`;
        const got = await outcome(viaReader(p, ct, size, off, len).stream);
        t.ok(got.yielded.equals(pt.subarray(off, off + len)), `${size} ${label}: the range's bytes are yielded`);
        const src = await outcome(viaSource(p, ct, size, off, len));
        t.equal(src.code, got.code, `${size} ${label}: reader and source mode agree (${got.code})`);
        if (got.code !== 'none') failed.push(`${label}: ${got.code}`);
      }
    }
    t.same(failed, [], `${size}: every such stream ends without an error after the range`);
  }
});

t.test('a reader that offers more than the range needs is read only as far as the range', async (t) => {
  const size = 3 * MiB + 4321;
  const { pt, ct } = object(size);
  // The plan ends after package 2; the reader claims the rest of the stream as well.
  const plan = planRange(size, 10, 2 * MAX_PAYLOAD);
  t.equal(plan.expectFinal, false);
  const reader = bufferReader(ct, plan.encryptedOffset, ct.length - plan.encryptedOffset);
  const got = await collect(openStream(pool, key, { reader, firstSequence: plan.firstSequence, skip: plan.skip, length: plan.length, expectFinal: false }));
  t.ok(got.equals(pt.subarray(10, 10 + 2 * MAX_PAYLOAD)));
  t.equal(reader.calls.reduce((a, c) => a + c.got, 0), 3 * PACKAGE_SIZE, 'three packages read, not the whole stream');
});

t.test('a short reader (truncated data): a DareError, and no byte of the incomplete batch', async (t) => {
  const size = 3 * MiB + 4321; // 49 packages: batches of packages 0–15, 16–31, 32–47, 48
  const { pt, ct } = object(size);
  const P = PACKAGE_SIZE;
  const cases: Array<[string, number]> = [
    ['nothing at all', 0],
    ['inside the first header', 10],
    ['inside the first package', P - 1],
    ['after one package', P],
    ['inside a package of the first batch', 5 * P + 100],
    ['exactly at the first batch boundary', 16 * P],
    ['one byte into the second batch', 16 * P + 1],
    ['at a package boundary in the third batch', 40 * P],
    ['inside a package in the third batch', 40 * P + 777],
    ['the final package missing', 48 * P],
    ['the last byte missing', ct.length - 1],
  ];
  for (const [what, available] of cases) {
    // The batch whose read came back short starts here (plaintext offset from the object start).
    const shortBatchStart = Math.floor(available / OPEN_BATCH_BYTES) * BATCH_PLAIN;
    for (const p of [pool, null]) {
      for (const lend of [false, true]) {
        const v = viaReader(p, ct, size, 0, size, { lend }, available);
        const { code, yielded } = await outcome(v.stream);
        const label = `${what} (${available} of ${ct.length} bytes), ${p === null ? 'inline' : 'pool'}${lend ? ', lent' : ''}`;
        t.equal(code, 'Truncated', `${label}: Truncated`);
        t.ok(yielded.length <= shortBatchStart, `${label}: ${yielded.length} bytes yielded, none from the batch at ${shortBatchStart}`);
        t.ok(yielded.equals(pt.subarray(0, yielded.length)), `${label}: what was yielded is the true plaintext`);
        const afterShort = v.reader.calls.findIndex((c) => c.got < c.len);
        t.ok(afterShort === -1 || afterShort === v.reader.calls.length - 1, `${label}: no read after the short one`);
      }
    }
  }
  t.equal(pool.arena.free, pool.arena.allocated, 'every pool slot came back');
});

t.test('a short reader inside a range that ends before the object does', async (t) => {
  const size = 3 * MiB + 4321;
  const { pt, ct } = object(size);
  const P = PACKAGE_SIZE;
  // Range [0, 45 packages): expectFinal false; the data file ends inside the third batch.
  const length = 45 * MAX_PAYLOAD;
  for (const [what, available] of [
    ['inside a package', 40 * P + 500],
    ['at a package boundary', 40 * P],
  ] as const) {
    const shortBatchStart = 2 * BATCH_PLAIN;
    for (const p of [pool, null]) {
      const label = `${what}, ${p === null ? 'inline' : 'pool'}`;
      const r = await outcome(viaReader(p, ct, size, 0, length, {}, available).stream);
      t.equal(r.code, 'Truncated', `${label}: Truncated`);
      t.ok(r.yielded.equals(pt.subarray(0, r.yielded.length)), `${label}: only true plaintext`);
      t.ok(r.yielded.length <= shortBatchStart, `${label}: ${r.yielded.length} bytes yielded, none from the short batch at ${shortBatchStart}`);
      const src = await outcome(viaSource(p, ct, size, 0, length, {}, available));
      t.equal(src.code, r.code, `${label}: source mode fails the same way`);
    }
  }
  // A range wholly before the truncation still reads.
  const before = await collect(viaReader(pool, ct, size, 100, 30 * MAX_PAYLOAD, {}, 40 * P).stream);
  t.ok(before.equals(pt.subarray(100, 100 + 30 * MAX_PAYLOAD)), 'a range before the end of the data reads');
  const tiny = object(200_000);
  // A single inline batch (the whole object in one read): short means nothing at all.
  for (const available of [tiny.ct.length - 1, 2 * P, P + 3]) {
    const r = await outcome(viaReader(pool, tiny.ct, 200_000, 0, 200_000, {}, available).stream);
    t.same({ code: r.code, bytes: r.yielded.length }, { code: 'Truncated', bytes: 0 }, `200000-byte object with ${available} bytes stored: Truncated, nothing yielded`);
  }
});

t.test('a damaged package read through the reader: NotAuthentic, nothing from its batch', async (t) => {
  const size = 3 * MiB + 4321;
  const { pt, ct } = object(size);
  const bad = Buffer.from(ct);
  bad[20 * PACKAGE_SIZE + 5000]! ^= 0x20; // package 20, in the second batch
  for (const p of [pool, null]) {
    const r = await outcome(viaReader(p, bad, size, 0, size).stream);
    t.equal(r.code, 'NotAuthentic');
    t.ok(r.yielded.length <= BATCH_PLAIN, `${r.yielded.length} bytes yielded, none of the second batch`);
    t.ok(r.yielded.equals(pt.subarray(0, r.yielded.length)));
  }
});

t.test('a reader that fails: the error comes through and every slot returns', async (t) => {
  const size = 3 * MiB + 4321;
  const { ct } = object(size);
  let reads = 0;
  const reader: CiphertextReader = {
    position: 0,
    length: ct.length,
    async read(buf, off, len, pos) {
      if (++reads === 3) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      buf.set(ct.subarray(pos, pos + len), off);
      return len;
    },
  };
  const r = await outcome(openStream(pool, key, { reader, firstSequence: 0, skip: 0, length: size, expectFinal: true }));
  t.match(r.code, /EIO/, 'the reader error, not a DareError');
  t.ok(r.yielded.length <= 2 * BATCH_PLAIN);
  await new Promise((res) => setTimeout(res, 50));
  t.equal(pool.arena.free, pool.arena.allocated, 'every slot came back');
});

t.test('abort while a read is in flight: the stream ends only after the read settled', async (t) => {
  const size = 3 * MiB + 4321;
  const { pt, ct } = object(size);
  const ac = new AbortController();
  let inFlight = 0;
  let reads = 0;
  const reader: CiphertextReader = {
    position: 0,
    length: ct.length,
    async read(buf, off, len, pos) {
      inFlight++;
      reads++;
      if (reads === 2) {
        ac.abort();
        await new Promise((res) => setTimeout(res, 30));
      }
      buf.set(ct.subarray(pos, pos + len), off); // writes into the slot after the abort
      inFlight--;
      return len;
    },
  };
  let pendingWhenFailed = -1;
  const parts: Buffer[] = [];
  await t.rejects(
    (async () => {
      try {
        for await (const c of openStream(pool, key, { reader, firstSequence: 0, skip: 0, length: size, expectFinal: true, signal: ac.signal, maxInFlight: 4 })) parts.push(Buffer.from(c));
      } finally {
        pendingWhenFailed = inFlight;
      }
    })(),
    { name: 'AbortError' },
  );
  t.equal(pendingWhenFailed, 0, 'no read was still writing into a slot when the stream gave up');
  t.equal(reads, 2, 'no read after the abort');
  const got = Buffer.concat(parts);
  t.ok(got.equals(pt.subarray(0, got.length)));
  await new Promise((res) => setTimeout(res, 50));
  t.equal(pool.arena.free, pool.arena.allocated, 'every slot came back');
});

t.test('consumer stops early: no further reads, every slot returns', async (t) => {
  const size = 3 * MiB + 4321;
  const { pt, ct } = object(size);
  const v = viaReader(pool, ct, size, 0, size, { lend: true });
  const it = v.stream[Symbol.asyncIterator]();
  const first = await it.next();
  t.equal(first.done, false);
  t.ok(Buffer.from(first.value!).equals(pt.subarray(0, first.value!.length)));
  const readsAtStop = v.reader.calls.length;
  await it.return?.();
  await new Promise((res) => setTimeout(res, 50));
  t.equal(v.reader.calls.length, readsAtStop, 'no read after the consumer left');
  t.equal(pool.arena.free, pool.arena.allocated, 'every slot came back');
});

t.test('exactly one of source and reader', async (t) => {
  const { ct } = object(200_000);
  const base = { firstSequence: 0, skip: 0, length: 200_000, expectFinal: true };
  const reader = bufferReader(ct, 0, ct.length);
  await t.rejects(collect(openStream(pool, key, { ...base })), RangeError, 'neither');
  await t.rejects(collect(openStream(pool, key, { ...base, reader, source: sourceOf([ct]) })), RangeError, 'both');
  await t.rejects(collect(openStream(null, key, { ...base })), RangeError, 'neither, inline');
  t.equal(reader.calls.length, 0, 'the reader was never called');
  const empty = { firstSequence: 0, skip: 0, length: 0, expectFinal: false };
  await t.rejects(collect(openStream(pool, key, { ...empty })), RangeError, 'neither, for an empty range too');
  const ok = await collect(openStream(pool, key, { ...empty, reader: bufferReader(ct, 0, 0) }));
  t.equal(ok.length, 0, 'an empty range with a reader yields nothing');
  const emptyObject = await collect(openStream(pool, key, { firstSequence: 0, skip: 0, length: 0, expectFinal: true, reader: bufferReader(Buffer.alloc(0), 0, 0) }));
  t.equal(emptyObject.length, 0, 'an empty object through a reader');
});
