// Known-answer tests for the KES / MinIO built-in data-key ciphertext: the deterministic vectors,
// every ciphertext the real KES server returned in kes-wire.json, and rejection cases.

import t from 'tap';
import {
  hchacha20,
  openCiphertext,
  parseCiphertext,
  sealCiphertext,
  NOT_AUTHENTIC_MESSAGE,
} from '../../../../daemon/kms/ciphertext.js';
import { KmsError } from '../../../../daemon/kms/provider.js';
import { wire } from '../../../fixtures/kes-server/wire.js';

const master = Buffer.from(wire.master_key.bytes_hex, 'hex');
const ctxOf = (id: string | null | undefined): Buffer =>
  id ? Buffer.from(wire.contexts[id]!.bytes_hex, 'hex') : Buffer.alloc(0);
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

// tap matches a thrown error against this pattern (class name, stable code, KES's exact message).
const isNotAuthentic = { name: 'KmsError', code: 'NotAuthentic', message: NOT_AUTHENTIC_MESSAGE };

/** Context bytes of a recorded request body (`context` absent, null and "" are all empty AAD). */
function requestContext(body: string): Buffer {
  const doc = JSON.parse(body) as { context?: string | null };
  return doc.context ? Buffer.from(doc.context, 'base64') : Buffer.alloc(0);
}

t.test('deterministic vectors: v3 sealing reproduces the bytes, every layout opens', async (t) => {
  t.equal(master.length, 32);
  t.equal(wire.deterministic_vectors.length, 5);
  for (const v of wire.deterministic_vectors) {
    const ctx = ctxOf(v.context_id);
    if (v.iv_hex && v.nonce_hex) {
      const sealed = sealCiphertext(master, hex(v.plaintext_hex), ctx, { iv: hex(v.iv_hex), nonce: hex(v.nonce_hex) });
      t.equal(sealed.toString('hex'), v.ciphertext_hex, `${v.id} seal`);
      t.equal(sealed.toString('base64'), v.ciphertext_base64, `${v.id} base64`);
    }
    t.equal(openCiphertext(master, hex(v.ciphertext_hex), ctx).toString('hex'), v.plaintext_hex, `${v.id} open`);
  }
  t.equal(parseCiphertext(hex(wire.deterministic_vectors[3]!.ciphertext_hex)).format, 'legacy-json');
  t.equal(parseCiphertext(hex(wire.deterministic_vectors[4]!.ciphertext_hex)).format, 'legacy-msgpack');
  t.equal(parseCiphertext(hex(wire.deterministic_vectors[0]!.ciphertext_hex)).format, 'v3');
});

t.test('kes-api.md §4 vector (master 40..5f, IV a0..af, nonce b0..bb)', async (t) => {
  const key = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x40 + i));
  const iv = Buffer.from(Array.from({ length: 16 }, (_, i) => 0xa0 + i));
  const nonce = Buffer.from(Array.from({ length: 12 }, (_, i) => 0xb0 + i));
  const pt = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const ctx = Buffer.from('{"mybucket":"mybucket/obj"}');
  const ct = sealCiphertext(key, pt, ctx, { iv, nonce });
  t.equal(
    ct.toString('base64'),
    'cX48er7xnJ5nt4yRorPBWYnXrQiQJQ6L868gwlku2BE4DxRdQG58dcTaBjr9z0XsoKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6uw==',
  );
  t.equal(ct.length, 76);
  t.same(openCiphertext(key, ct, ctx), pt);
});

t.test('every ciphertext the real server returned opens to the plaintext it reported', async (t) => {
  let n = 0;
  for (const ex of wire.exchanges) {
    const ctHex = ex.response_decoded?.ciphertext_hex;
    if (!ctHex || ex.response.status !== 200) continue;
    const expected = ex.response_decoded?.plaintext_hex ?? (ex as unknown as { plaintext_hex?: string }).plaintext_hex ?? '';
    const ctx = ex.request.body ? requestContext(ex.request.body) : Buffer.alloc(0);
    t.equal(openCiphertext(master, hex(ctHex), ctx).toString('hex'), expected, ex.id);
    n++;
  }
  t.equal(n, 13, 'all 13 generate/encrypt ciphertexts checked');
});

t.test('every decrypt the real server answered: same plaintext or same rejection', async (t) => {
  let accepted = 0;
  let rejected = 0;
  for (const ex of wire.exchanges) {
    const ctHex = ex.request_decoded?.ciphertext_hex;
    if (ctHex === undefined || !ex.request.path.endsWith('/vector-key') || !ex.request.body) continue;
    const ctx = requestContext(ex.request.body);
    if (ex.response.status === 200) {
      const pt = (JSON.parse(ex.response.body!) as { plaintext: string }).plaintext;
      t.equal(openCiphertext(master, hex(ctHex), ctx).toString('base64'), pt, ex.id);
      accepted++;
    } else {
      t.equal(ex.response.body, `{"message":"${NOT_AUTHENTIC_MESSAGE}"\n}`, `${ex.id} was an authenticity failure`);
      t.throws(() => openCiphertext(master, hex(ctHex), ctx), isNotAuthentic, ex.id);
      rejected++;
    }
  }
  t.ok(accepted >= 15, `accepted ${accepted}`);
  t.ok(rejected >= 5, `rejected ${rejected}`);
});

t.test('rejections: tampering, wrong key or context, short and malformed inputs', async (t) => {
  const v = wire.deterministic_vectors[0]!;
  const ct = hex(v.ciphertext_hex);
  const ctx = ctxOf(v.context_id);
  t.same(openCiphertext(master, ct, ctx), hex(v.plaintext_hex), 'baseline opens');
  for (const pos of [0, ct.length - 45, ct.length - 29, ct.length - 20, ct.length - 1]) {
    const bad = Buffer.from(ct);
    bad[pos] = bad[pos]! ^ 0x01;
    t.throws(() => openCiphertext(master, bad, ctx), isNotAuthentic, `bit flip at ${pos}`);
  }
  t.throws(() => openCiphertext(master, ct, Buffer.from('{}')), isNotAuthentic, 'wrong context');
  t.throws(() => openCiphertext(master, ct, Buffer.alloc(0)), isNotAuthentic, 'missing context');
  const other = Buffer.alloc(32, 7);
  t.throws(() => openCiphertext(other, ct, ctx), isNotAuthentic, 'wrong master key');
  for (const len of [0, 1, 28, 29, 43]) {
    t.throws(() => openCiphertext(master, ct.subarray(ct.length - len), ctx), isNotAuthentic, `${len} bytes`);
  }
  t.throws(() => openCiphertext(master, ct.subarray(1), ctx), isNotAuthentic, 'one byte short');
  t.throws(() => openCiphertext(master, Buffer.concat([ct, Buffer.of(0)]), ctx), isNotAuthentic, 'one byte long');
  const json = hex(wire.deterministic_vectors[3]!.ciphertext_hex).toString().replace('"iv":"QEFCQ0RFRkdISUpLTE1OTw=="', '"iv":"QEFC"');
  t.throws(() => openCiphertext(master, Buffer.from(json), ctx), isNotAuthentic, 'legacy JSON with a short IV');
  const mp = hex(wire.deterministic_vectors[4]!.ciphertext_hex);
  t.throws(() => openCiphertext(master, Buffer.concat([mp, Buffer.of(0)]), ctx), isNotAuthentic, 'msgpack + trailing byte');
  t.throws(() => openCiphertext(Buffer.alloc(16), ct, ctx), KmsError, 'master key of the wrong size');
});

t.test('HChaCha20 matches draft-irtf-cfrg-xchacha §2.2.1', async (t) => {
  const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const input = hex('000000090000004a0000000031415927');
  t.equal(hchacha20(key, input).toString('hex'), '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
});

t.test('ChaCha20 keys: v3 round trip, legacy JSON and msgpack, strict algorithm check', async (t) => {
  const pt = Buffer.alloc(32, 0x5a);
  const ctx = Buffer.from('{"b":"b/o"}');
  const ct = sealCiphertext(master, pt, ctx, { algorithm: 'ChaCha20' });
  t.equal(ct.length, 76);
  t.same(openCiphertext(master, ct, ctx, { algorithm: 'ChaCha20' }), pt);
  t.throws(() => openCiphertext(master, ct, ctx), isNotAuthentic, 'v3 ChaCha20 blob is not an AES256 ciphertext');
  const sealed = ct.subarray(0, 48);
  const iv = ct.subarray(48, 64);
  const nonce = ct.subarray(64);
  const json = Buffer.from(
    JSON.stringify({ aead: 'ChaCha20Poly1305', iv: iv.toString('base64'), nonce: nonce.toString('base64'), bytes: sealed.toString('base64') }),
  );
  t.same(openCiphertext(master, json, ctx), pt, 'legacy JSON names its cipher');
  t.throws(() => openCiphertext(master, json, ctx, { algorithm: 'AES256', strictAlgorithm: true }), isNotAuthentic);
  const alg = Buffer.from('XCHACHA20-POLY1305');
  const mp = Buffer.concat([
    Buffer.of(0x95, 0xa0 | alg.length), alg, Buffer.of(0xa2), Buffer.from('id'),
    Buffer.of(0xc4, 16), iv, Buffer.of(0xc4, 12), nonce, Buffer.of(0xc4, sealed.length), sealed,
  ]);
  t.equal(parseCiphertext(mp).algorithm, 'ChaCha20');
  t.same(openCiphertext(master, mp, ctx), pt, 'legacy msgpack ChaCha20');
});

t.test('fresh IV and nonce per seal', async (t) => {
  const a = sealCiphertext(master, Buffer.alloc(32), Buffer.alloc(0));
  const b = sealCiphertext(master, Buffer.alloc(32), Buffer.alloc(0));
  t.not(a.subarray(48).toString('hex'), b.subarray(48).toString('hex'));
});
