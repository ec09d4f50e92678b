// Reads of objects stored inline in their LMDB record (daemon/ops/object-data.ts readInlineSync,
// and readData for inline parts): a record whose inline bytes are fewer than its size says (a
// damaged record) must fail, never answer with bytes that are not the object's. Encrypted, the
// plaintext went into uninitialized memory (Buffer.allocUnsafe) and a range past the packages the
// record holds sent that memory; plain, the view ran past the stored bytes into whatever memory
// followed them. Real DARE sealing, no crypto pool (everything on this thread).
import t from 'tap';
import type { PartRecord } from '../../../../daemon/meta/records.js';
import { RECORD_VERSION } from '../../../../daemon/meta/records.js';
import { readData, readInlineSync, type DataEnv } from '../../../../daemon/ops/object-data.js';
import { derivePartKey } from '../../../../daemon/sse/object-key.js';
import { FileStore } from '../../../../daemon/storage/files.js';
import { isDareError, sealBuffer } from '../../../../workers/format/index.js';

const PKG = 65536;
const STORED_PKG = PKG + 32;
const key = Buffer.alloc(32, 0x5a);
/** Bytes no object of this test holds: found in an answer, they came from other memory. */
const FOREIGN = 0xee;

/** `n` bytes of a pattern without FOREIGN in it. */
function plain(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 199; // never FOREIGN (0xee)
  return b;
}

/** An own copy of `bytes` (as LMDB hands records out), or a view of a larger buffer whose rest is FOREIGN. */
function stored(bytes: Uint8Array, within = false): Uint8Array {
  if (!within) return new Uint8Array(bytes);
  const big = Buffer.alloc(bytes.length + 4096, FOREIGN);
  big.set(bytes);
  return big.subarray(0, bytes.length);
}

function outcome(fn: () => Buffer | undefined): string {
  try {
    const b = fn()!;
    return `answered ${b.length} bytes${b.includes(FOREIGN) ? ' with foreign bytes' : ''}`;
  } catch (err) {
    return isDareError(err) ? `DareError ${err.code}` : 'Error';
  }
}

async function collect(gen: AsyncIterable<Buffer>): Promise<string> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of gen) chunks.push(Buffer.from(c));
    const b = Buffer.concat(chunks);
    return `answered ${b.length} bytes${b.includes(FOREIGN) ? ' with foreign bytes' : ''}`;
  } catch (err) {
    return isDareError(err) ? `DareError ${err.code}` : 'Error';
  }
}

t.test('encrypted inline record holding fewer packages than its size: Truncated, no uninitialized bytes', async (t) => {
  const body = plain(200_000);
  const whole = sealBuffer(key, body);
  // Only the first package is left of four.
  const obj = { size: body.length, data: { inline: stored(whole.subarray(0, STORED_PKG)) } };
  t.equal(outcome(() => readInlineSync(obj, key, 0, PKG + 100)), 'DareError Truncated', 'a range past the package the record holds');
  t.equal(outcome(() => readInlineSync(obj, key, PKG - 10, 20)), 'DareError Truncated', 'a range across the end of what it holds');
  // No stored byte at all where the range's packages should be (the codec gets empty ciphertext).
  t.equal(outcome(() => readInlineSync(obj, key, 2 * PKG, 100)), 'DareError Truncated', 'a range wholly past what it holds');
  t.equal(outcome(() => readInlineSync(obj, key, 3 * PKG, body.length - 3 * PKG)), 'DareError Truncated', 'the last package, which it does not hold');
  t.ok(readInlineSync(obj, key, 5, 100)!.equals(body.subarray(5, 105)), 'a range within the package it holds still reads');
  const intact = { size: body.length, data: { inline: stored(whole) } };
  t.ok(readInlineSync(intact, key, PKG - 10, 2 * PKG)!.equals(body.subarray(PKG - 10, 3 * PKG - 10)), 'an intact record reads across packages');
  t.ok(readInlineSync(intact, key, 0, body.length)!.equals(body), 'and whole');
});

t.test('plain inline record shorter than its size: refused, nothing read past its bytes', async (t) => {
  const body = plain(100);
  const obj = { size: 160, data: { inline: stored(body, true) } };
  t.equal(outcome(() => readInlineSync(obj, undefined, 0, 160)), 'Error', 'the whole object');
  t.equal(outcome(() => readInlineSync(obj, undefined, 90, 20)), 'Error', 'a range across the end of what it holds');
  t.ok(readInlineSync(obj, undefined, 10, 90)!.equals(body.subarray(10)), 'a range within it still reads');
});

t.test('inline parts of a multipart object (readData): a short part fails, plain or encrypted', async (t) => {
  const env: DataEnv = { pool: null, files: new FileStore('/nonexistent-s3d-test'), inlineThreshold: 128 * 1024 };
  const part = (n: number, data: Uint8Array, size: number): PartRecord => ({ v: RECORD_VERSION, n, size, stored: data.length, etag: 'e'.repeat(32), data: { inline: data }, mtime: 0 });
  const a = plain(100);
  const b = plain(150);
  const plainObj = { size: 250, parts: [part(1, stored(a, true), 100), part(2, stored(b.subarray(0, 120), true), 150)] };
  t.equal(await collect(readData(env, plainObj, undefined, 0, 250)), 'Error', 'plain: the whole object');
  t.equal(await collect(readData(env, plainObj, undefined, 0, 100)), 'answered 100 bytes', 'plain: the intact part alone reads');

  const big = plain(3 * PKG);
  const sealed = sealBuffer(derivePartKey(key, 1), big);
  const cut = stored(sealed.subarray(0, 2 * STORED_PKG), true);
  const sealedObj = { size: big.length, parts: [part(1, cut, big.length)] };
  t.equal(await collect(readData(env, sealedObj, key, 0, big.length)), 'DareError Truncated', 'encrypted: the whole object');
  t.equal(await collect(readData(env, sealedObj, key, PKG, 2 * PKG)), 'DareError Truncated', 'encrypted: a range past what the part holds');
  t.equal(await collect(readData(env, sealedObj, key, 0, PKG)), `answered ${PKG} bytes`, 'encrypted: a range within it reads');
});
