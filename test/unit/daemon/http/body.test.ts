// The request body queue: uWS chunks are copied into recycled 512 KiB pieces. A lent reader hands
// pieces back for other requests; an ordinary reader keeps what it was given, whatever other
// requests do with recycled pieces afterwards. Backpressure pauses and resumes the socket.
import t from 'tap';
import { createPayloadDecoder } from '../../../../daemon/auth/payload.js';
import { UwsRequestBody } from '../../../../daemon/http/body.js';

const unsigned = { accessKeyId: 'a', payload: { kind: 'unsigned' as const }, seedSignature: '', signingKey: Buffer.alloc(32), scope: '', amzDate: '', presigned: false };

function newBody(declared?: number): { body: UwsRequestBody; socket: { paused: number; resumed: number } } {
  const socket = { paused: 0, resumed: 0 };
  const body = new UwsRequestBody(
    createPayloadDecoder(unsigned, {}),
    { pause: () => void socket.paused++, resume: () => void socket.resumed++ },
    declared,
  );
  return { body, socket };
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

/** Feeds `data` as uWS would: chunks of `size`, each an ArrayBuffer only valid during the call. */
function feed(body: UwsRequestBody, data: Buffer, size: number): void {
  for (let off = 0; off < data.length; off += size) {
    const piece = data.subarray(off, Math.min(off + size, data.length));
    const ab = new ArrayBuffer(piece.length);
    new Uint8Array(ab).set(piece);
    body.onRaw(ab, off + size >= data.length);
    new Uint8Array(ab).fill(0xee); // uWS reuses its buffer: our copy must not care
  }
}

t.test('ordinary readers keep their chunks intact while lent readers recycle pieces', async (t) => {
  const kept: Buffer[] = [];
  const a = newBody();
  const dataA = pattern(300_000, 1);
  // Start reading first (the body holds the socket until the handler reads).
  const readA = (async () => {
    for await (const c of a.body) kept.push(c);
  })();
  feed(a.body, dataA, 40_000);
  await readA;
  t.ok(Buffer.concat(kept).equals(dataA), 'the ordinary reader got its bytes');
  // Several lent readers now churn through recycled pieces.
  for (let r = 0; r < 6; r++) {
    const b = newBody();
    const dataB = pattern(700_000, 10 + r);
    const got: Buffer[] = [];
    const readB = (async () => {
      for await (const c of b.body.lend()) got.push(Buffer.from(c)); // copy: lent chunks do not outlive next()
    })();
    feed(b.body, dataB, 65_536);
    await readB;
    t.ok(Buffer.concat(got).equals(dataB), `lent reader ${r} got its bytes`);
  }
  t.ok(Buffer.concat(kept).equals(dataA), 'the ordinary reader\u2019s chunks were never reused');
});

t.test('a lent chunk stays valid until the next one is asked for', async (t) => {
  const b = newBody();
  const data = pattern(2_000_000, 3);
  const it = b.body.lend()[Symbol.asyncIterator]();
  feed(b.body, data, 100_000);
  let off = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    const snapshot = Buffer.from(r.value);
    // Others could only reuse the piece after next(): it must still hold our bytes here.
    await new Promise((resolve) => setImmediate(resolve));
    t.ok(r.value.equals(snapshot) && snapshot.equals(data.subarray(off, off + snapshot.length)), `chunk at ${off}`);
    off += snapshot.length;
  }
  t.equal(off, data.length, 'every byte, in order');
});

t.test('large chunks continue across pieces (no buffer of their own); readAll works', async (t) => {
  const b = newBody();
  const data = pattern(600_000, 5);
  const all = b.body.readAll(1_000_000);
  feed(b.body, data, 300_000);
  t.ok((await all).equals(data));
  // Plain-HTTP reads bring up to 512 KiB per onData: each must land in recycled pieces, not in a
  // fresh allocation (external memory that sets off full GCs of the main isolate).
  const c = newBody();
  const big = pattern(1_500_000, 6);
  const buffers = new Set<ArrayBufferLike>();
  const got: Buffer[] = [];
  const read = (async () => {
    for await (const chunk of c.body.lend()) {
      t.equal(chunk.buffer.byteLength, 512 * 1024, 'every chunk is a view into a 512 KiB piece');
      buffers.add(chunk.buffer);
      got.push(Buffer.from(chunk));
    }
  })();
  feed(c.body, big, 500_000);
  await read;
  t.ok(Buffer.concat(got).equals(big), 'the bytes, in order, across piece boundaries');
  t.ok(buffers.size <= 4, `1.5 MB went through ${buffers.size} pieces`);
});

t.test('backpressure: the socket pauses past 4 MiB queued and resumes when drained', async (t) => {
  const b = newBody();
  const it = b.body.lend()[Symbol.asyncIterator]();
  await Promise.race([it.next(), new Promise((r) => setTimeout(r, 10))]); // the handler starts reading
  const data = pattern(6 * 1024 * 1024, 7);
  for (let off = 0; off < data.length; off += 65_536) {
    const ab = new ArrayBuffer(65_536);
    new Uint8Array(ab).set(data.subarray(off, off + 65_536));
    b.body.onRaw(ab, false);
  }
  t.ok(b.socket.paused >= 1, 'paused while more than 4 MiB waited');
  let n = 0;
  while (n < 5.5 * 1024 * 1024) n += ((await it.next()).value as Buffer).length;
  t.ok(b.socket.resumed >= 1, 'resumed once drained below 1 MiB');
});

t.test('every chunk sits at an address congruent to its body offset modulo 8 (word copies into shared slots)', async (t) => {
  // Odd chunk lengths, as TLS records and aws-chunked framing produce them; the piece switch and
  // the large-chunk and small-body paths must all keep the congruence.
  for (const [declared, sizes] of [
    [undefined, [16_411, 1, 7, 300_001, 65_535, 3]],
    [100_000, [4_093, 5, 95_902]],
  ] as const) {
    const b = newBody(declared);
    const misaligned: string[] = [];
    let offset = 0;
    const read = (async () => {
      for await (const c of b.body.lend()) {
        if ((c.byteOffset - offset) % 8 !== 0) misaligned.push(`offset ${offset} at byteOffset ${c.byteOffset}`);
        offset += c.length;
      }
    })();
    let total = 0;
    const all = sizes.reduce((a, n) => a + n, 0) * 3;
    for (let round = 0; round < 3; round++) {
      for (const n of sizes) {
        total += n;
        b.body.onRaw(new ArrayBuffer(n), total === all);
      }
    }
    await read;
    t.equal(offset, all, 'every byte arrived');
    t.same(misaligned, [], `no chunk off its congruence (declared ${declared ?? 'none'})`);
  }
});
