// Known-answer tests: every DARE 2.0 vector produced by minio/sio, sealed and opened byte for byte.
import t from 'tap';
import {
  CipherSuite,
  PACKAGE_SIZE,
  decodeHeader,
  decryptedSize,
  encryptedSize,
  isValidEncryptedSize,
  openBuffer,
  openInto,
  packageNonce,
  planRange,
  readStreamIdentity,
  sealBuffer,
  sealInto,
} from '../../../../workers/format/index.js';
import { dareVectors, patternPlaintext, sha256hex, vectorKey, vectorRandom } from './vectors.js';

t.test('every vector seals byte for byte and opens back', async (t) => {
  t.equal(dareVectors.vectors.length, 11, 'all vectors are present');
  for (const v of dareVectors.vectors) {
    t.test(v.name, async (t) => {
      const plaintext = patternPlaintext(v.plaintext_size);
      t.equal(sha256hex(plaintext), v.plaintext_sha256, 'plaintext rule');
      const suite = v.cipher_suite_byte === 1 ? CipherSuite.CHACHA20_POLY1305 : CipherSuite.AES_256_GCM;
      const ct = sealBuffer(vectorKey, plaintext, vectorRandom, suite);
      t.equal(ct.length, v.ciphertext_size, 'ciphertext size');
      t.equal(encryptedSize(v.plaintext_size), v.ciphertext_size, 'encryptedSize');
      t.equal(decryptedSize(v.ciphertext_size), v.plaintext_size, 'decryptedSize');
      t.equal(sha256hex(ct), v.ciphertext_sha256, 'ciphertext sha256');
      if (v.ciphertext_hex !== undefined) t.equal(ct.toString('hex'), v.ciphertext_hex, 'ciphertext bytes');
      t.equal(v.packages.length, Math.ceil(v.plaintext_size / 65536));
      const nonce = Buffer.alloc(12);
      for (const p of v.packages) {
        const h = ct.subarray(p.ciphertext_offset, p.ciphertext_offset + 16);
        t.equal(h.toString('hex'), p.header_hex, `package ${p.seq} header`);
        t.same(decodeHeader(h), { version: 0x20, cipher: v.cipher_suite_byte, payloadLength: p.payload_length, final: p.final });
        t.equal(packageNonce(h, 0, p.seq, nonce).toString('hex'), p.aead_nonce_hex, `package ${p.seq} nonce`);
        const tagEnd = p.ciphertext_offset + p.package_length;
        t.equal(ct.subarray(tagEnd - 16, tagEnd).toString('hex'), p.tag_hex, `package ${p.seq} tag`);
      }
      // Open the vector's own bytes where the file has them, else ours (proven equal by sha256).
      const source = v.ciphertext_hex !== undefined ? Buffer.from(v.ciphertext_hex, 'hex') : ct;
      const opened = openBuffer(vectorKey, source);
      t.equal(opened.length, v.plaintext_size);
      t.equal(sha256hex(opened), v.plaintext_sha256, 'opened plaintext');
    });
  }
});

t.test('both cipher suites decrypt from the vector bytes alone', async (t) => {
  const chacha = dareVectors.vectors.filter((v) => v.cipher_suite === 'CHACHA20_POLY1305');
  t.equal(chacha.length, 3);
  for (const v of chacha) {
    const ct = Buffer.from(v.ciphertext_hex!, 'hex');
    t.equal(readStreamIdentity(ct).suite, CipherSuite.CHACHA20_POLY1305);
    t.equal(sha256hex(openBuffer(vectorKey, ct)), v.plaintext_sha256, v.name);
  }
});

t.test('every single_part_ranges entry: plan and decrypted range', async (t) => {
  t.equal(dareVectors.single_part_ranges.length, 16);
  const streams = new Map<number, Buffer>();
  for (const r of dareVectors.single_part_ranges) {
    const size = r.object_plaintext_size;
    let ct = streams.get(size);
    if (ct === undefined) {
      ct = sealBuffer(vectorKey, patternPlaintext(size), vectorRandom);
      const v = dareVectors.vectors.find((x) => x.cipher_suite === 'AES_256_GCM' && x.plaintext_size === size)!;
      t.equal(sha256hex(ct), v.ciphertext_sha256, `stream ${size} is the vector's`);
      streams.set(size, ct);
    }
    const plan = planRange(size, r.range_offset, r.range_length);
    const name = `${size} [${r.range_offset}+${r.range_length}]`;
    t.same(
      {
        encryptedOffset: plan.encryptedOffset,
        encryptedLength: plan.encryptedLength,
        firstSequence: plan.firstSequence,
        skip: plan.skip,
        length: plan.length,
      },
      {
        encryptedOffset: r.encrypted_offset,
        encryptedLength: r.encrypted_length,
        firstSequence: r.first_sequence_number,
        skip: r.skip_plaintext_bytes,
        length: r.range_length,
      },
      `${name} plan`,
    );
    t.equal(plan.expectFinal, plan.encryptedOffset + plan.encryptedLength === ct.length, `${name} expectFinal`);
    const slice = ct.subarray(plan.encryptedOffset, plan.encryptedOffset + plan.encryptedLength);
    const out = Buffer.alloc(slice.length);
    const n = openInto(out, 0, slice, { key: vectorKey, firstSequence: plan.firstSequence, final: plan.expectFinal });
    t.ok(n >= plan.skip + plan.length, `${name} covers the range`);
    t.equal(sha256hex(out.subarray(plan.skip, plan.skip + plan.length)), r.expected_plaintext_sha256, `${name} content`);
  }
});

t.test('size formulas', async (t) => {
  const pairs: [number, number][] = [
    [0, 0], [1, 33], [16, 48], [65535, 65567], [65536, 65568], [65537, 65601], [200000, 200128], [1048576, 1049088],
  ];
  for (const [p, c] of pairs) {
    t.equal(encryptedSize(p), c, `encryptedSize(${p})`);
    t.equal(decryptedSize(c), p, `decryptedSize(${c})`);
  }
  for (const bad of [1, 16, 32, PACKAGE_SIZE + 1, PACKAGE_SIZE + 32, 3 * PACKAGE_SIZE + 5]) {
    t.throws(() => decryptedSize(bad), RangeError, `decryptedSize(${bad}) is invalid`);
    t.notOk(isValidEncryptedSize(bad));
  }
  t.ok(isValidEncryptedSize(PACKAGE_SIZE + 33));
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 48 + 1]) t.throws(() => encryptedSize(bad), RangeError, `encryptedSize(${bad})`);
  t.equal(encryptedSize(2 ** 48), 2 ** 32 * PACKAGE_SIZE, 'the 2^48 limit itself is allowed');
});

t.test('planRange edges', async (t) => {
  t.same(planRange(0, 0, 0), { encryptedOffset: 0, encryptedLength: 0, firstSequence: 0, skip: 0, length: 0, expectFinal: true });
  t.same(planRange(65536, 65535, 1), { encryptedOffset: 0, encryptedLength: 65568, firstSequence: 0, skip: 65535, length: 1, expectFinal: true });
  t.same(planRange(65537, 65536, 1), { encryptedOffset: 65568, encryptedLength: 33, firstSequence: 1, skip: 0, length: 1, expectFinal: true });
  t.same(planRange(3 * 65536, 0, 65537), { encryptedOffset: 0, encryptedLength: 2 * 65568, firstSequence: 0, skip: 0, length: 65537, expectFinal: false });
  t.throws(() => planRange(10, 5, 6), RangeError, 'range past the end');
  t.throws(() => planRange(10, 3, 0), RangeError, 'empty range not at 0');
  t.throws(() => planRange(10, -1, 2), RangeError);
});

t.test('objects past 4 GiB and up to the 5 TiB S3 limit: sizes and range plans stay exact', async (t) => {
  const GiB = 1024 ** 3;
  // 2^32 + 100 bytes: 65,536 full packages and a final one of 100 bytes.
  const size = 4 * GiB + 100;
  t.equal(encryptedSize(size), 65536 * PACKAGE_SIZE + 132);
  t.equal(decryptedSize(65536 * PACKAGE_SIZE + 132), size);
  t.same(planRange(size, 2 ** 32 - 5, 20), { encryptedOffset: 65535 * PACKAGE_SIZE, encryptedLength: PACKAGE_SIZE + 132, firstSequence: 65535, skip: 65531, length: 20, expectFinal: true }, 'a range across 2^32');
  t.same(planRange(size, 2 ** 32, 1), { encryptedOffset: 65536 * PACKAGE_SIZE, encryptedLength: 132, firstSequence: 65536, skip: 0, length: 1, expectFinal: true }, 'the first byte past 2^32');
  t.same(planRange(size, 2 ** 31, 65536), { encryptedOffset: 32768 * PACKAGE_SIZE, encryptedLength: PACKAGE_SIZE, firstSequence: 32768, skip: 0, length: 65536, expectFinal: false }, 'one whole package at 2^31');
  const max = 5 * 1024 ** 4;
  const packages = max / 65536;
  t.equal(encryptedSize(max), packages * PACKAGE_SIZE);
  t.equal(decryptedSize(packages * PACKAGE_SIZE), max);
  t.same(planRange(max, max - 1, 1), { encryptedOffset: (packages - 1) * PACKAGE_SIZE, encryptedLength: PACKAGE_SIZE, firstSequence: packages - 1, skip: 65535, length: 1, expectFinal: true }, 'the last byte of 5 TiB');
  t.same(planRange(max, 3 * GiB + 7, 5 * GiB), { encryptedOffset: 49152 * PACKAGE_SIZE, encryptedLength: 81921 * PACKAGE_SIZE, firstSequence: 49152, skip: 7, length: 5 * GiB, expectFinal: false }, 'a 5 GiB range inside 5 TiB');
  t.equal(planRange(2 ** 48, 2 ** 48 - 1, 1).firstSequence, 2 ** 32 - 1, "the DARE limit's last package is sequence 2^32 − 1");
});

t.test('sequence numbers past 2^31 seal and open; the nonce is the uint32 XOR sio computes', async (t) => {
  const pt = patternPlaintext(1000);
  for (const seq of [2 ** 31 - 1, 2 ** 31, 2 ** 31 + 12345, 2 ** 32 - 1]) {
    const ct = Buffer.alloc(encryptedSize(pt.length));
    sealInto(ct, 0, pt, { key: vectorKey, random: vectorRandom, firstSequence: seq, final: true });
    const nonce = packageNonce(ct, 0, seq, Buffer.alloc(12));
    t.ok(nonce.subarray(0, 8).equals(ct.subarray(4, 12)), `nonce bytes 0-7 at ${seq}`);
    t.equal(nonce.readUInt32LE(8), (ct.readUInt32LE(12) ^ seq) >>> 0, `nonce bytes 8-11 at ${seq}`);
    const back = Buffer.alloc(pt.length);
    t.equal(openInto(back, 0, ct, { key: vectorKey, firstSequence: seq, final: true }), pt.length);
    t.ok(back.equals(pt), `opens back at ${seq}`);
    const other = seq === 2 ** 32 - 1 ? 0 : seq + 1;
    t.throws(() => openInto(Buffer.alloc(pt.length), 0, ct, { key: vectorKey, firstSequence: other, final: true }), { code: 'NotAuthentic' }, `not at ${other}`);
  }
  // Two packages from 2^32 − 1 would need sequence 2^32.
  t.throws(() => sealInto(Buffer.alloc(encryptedSize(65537)), 0, patternPlaintext(65537), { key: vectorKey, random: vectorRandom, firstSequence: 2 ** 32 - 1, final: true }), RangeError);
});

t.test('sealInto writes runs into one reused buffer, continuing sequence numbers', async (t) => {
  const pt = patternPlaintext(200000);
  const whole = sealBuffer(vectorKey, pt, vectorRandom);
  const out = Buffer.alloc(whole.length + 7);
  let pos = 7;
  pos += sealInto(out, pos, pt.subarray(0, 65536), { key: vectorKey, random: vectorRandom, firstSequence: 0, final: false });
  pos += sealInto(out, pos, pt.subarray(65536, 131072), { key: vectorKey, random: vectorRandom, firstSequence: 1, final: false });
  pos += sealInto(out, pos, pt.subarray(131072), { key: vectorKey, random: vectorRandom, firstSequence: 2, final: true });
  t.equal(pos, out.length);
  t.ok(out.subarray(7).equals(whole), 'runs concatenate to the whole stream');
  t.throws(() => sealInto(out, 0, pt.subarray(0, 100), { key: vectorKey, random: vectorRandom, firstSequence: 0, final: false }), RangeError, 'non-final short run');
  t.throws(() => sealInto(Buffer.alloc(10), 0, pt.subarray(0, 100), { key: vectorKey, random: vectorRandom, firstSequence: 0, final: true }), RangeError, 'output too small');
  t.throws(() => sealInto(out, 0, pt.subarray(0, 100), { key: vectorKey.subarray(1), random: vectorRandom, firstSequence: 0, final: true }), RangeError, 'short key');
  t.equal(sealInto(out, 0, Buffer.alloc(0), { key: vectorKey, random: vectorRandom, firstSequence: 0, final: true }), 0, 'empty run');
});

t.test('empty plaintext ↔ empty ciphertext; a random value is drawn when none is given', async (t) => {
  t.equal(sealBuffer(vectorKey, Buffer.alloc(0)).length, 0);
  t.equal(openBuffer(vectorKey, Buffer.alloc(0)).length, 0);
  const a = sealBuffer(vectorKey, Buffer.from('hello'));
  const b = sealBuffer(vectorKey, Buffer.from('hello'));
  t.not(a.toString('hex'), b.toString('hex'), 'fresh random value per stream');
  t.equal(openBuffer(vectorKey, a).toString(), 'hello');
});
