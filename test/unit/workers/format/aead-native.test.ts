// The native AES-256-GCM binding (native/dare-aead.c): built and loaded wherever a C compiler
// exists (CI installs one), byte for byte what node:crypto gives for any key, nonce and size, a
// key schedule kept across calls that never leaks into the next key, tampered packages refused
// with their output range zeroed, bad arguments refused without a crash, and the crypto workers
// using it. dare-node-crypto.test.ts runs the DARE vector and tamper tests without it.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../../../helpers/root.js';
import { CryptoPool } from '../../../../daemon/crypto/pool.js';
import { knownAnswerProblem, loadNativeAead, nativeAeadPath, type NativeAead } from '../../../../workers/format/aead-native.js';
import {
  CipherSuite,
  DareError,
  HEADER_SIZE,
  TAG_SIZE,
  aeadImplementation,
  encodeHeader,
  openBuffer,
  openPackageInto,
  sealPackageInto,
  useAeadImplementation,
} from '../../../../workers/format/index.js';
import { SEAL_BATCH_BYTES, type SealTask } from '../../../../workers/protocol.js';

const hasCompiler = spawnSync('cc', ['--version'], { stdio: 'ignore' }).error === undefined;

/** What node:crypto makes of one package (header ‖ ciphertext ‖ tag). */
function nodePackage(key: Uint8Array, random: Uint8Array, sequence: number, final: boolean, plaintext: Uint8Array): Buffer {
  const previous = useAeadImplementation('node');
  try {
    const out = Buffer.alloc(plaintext.length + HEADER_SIZE + TAG_SIZE);
    sealPackageInto(out, 0, key, random, sequence, final, plaintext);
    return out;
  } finally {
    useAeadImplementation(previous);
  }
}

t.test('the binding is built by npm run build and loaded where a C compiler exists', { skip: hasCompiler ? false : 'no C compiler (cc) on this machine; .ci/run installs one' }, async (t) => {
  const impl = aeadImplementation();
  t.equal(impl.native, true, `native binding in use (${impl.reason ?? impl.file})`);
  t.equal(impl.file, nativeAeadPath());
  const script = new URL('../../../../../scripts/prepare-native.mjs', import.meta.url);
  const rebuilt = spawnSync(process.execPath, [script.pathname], { encoding: 'utf8' });
  t.equal(rebuilt.status, 0, rebuilt.stderr);
  t.match(rebuilt.stdout, /^prepare-native: \/.*dare-aead\.node$/m, 'the build step compiles it and its known-answer check passes');
});

t.test('the known-answer check catches a binding that gets AES-GCM wrong', { skip: aeadImplementation().native ? false : 'no native binding' }, async (t) => {
  const real = loadNativeAead().binding!;
  t.equal(knownAnswerProblem(real, [1, 16, 65536, 33]), undefined, 'the real binding passes');
  const ignoresNewNonce: NativeAead = {
    // Seals every package under the first nonce it saw: nonce reuse, which a kept key schedule could cause.
    seal: (() => {
      let first: Buffer | undefined;
      return (out, off, key, iv, pt) => real.seal(out, off, key, (first ??= Buffer.from(iv)), pt);
    })(),
    open: (out, outOff, key, iv, pkg, pkgOff, n) => real.open(out, outOff, key, iv, pkg, pkgOff, n),
  };
  t.match(knownAnswerProblem(ignoresNewNonce, [1, 16]), /differs from node:crypto/);
  const keepsFirstKey: NativeAead = {
    seal: (() => {
      let first: Buffer | undefined;
      return (out, off, key, iv, pt) => real.seal(out, off, (first ??= Buffer.from(key)), iv, pt);
    })(),
    open: real.open,
  };
  t.match(knownAnswerProblem(keepsFirstKey, [1, 16, 17]), /differs from node:crypto/, 'a key change the binding missed');
  const acceptsAnything: NativeAead = { seal: real.seal, open: (out, outOff, key, iv, pkg, pkgOff, n) => (real.open(out, outOff, key, iv, pkg, pkgOff, n), true) };
  t.match(knownAnswerProblem(acceptsAnything), /tampered package of 100 bytes was not refused/);
  const throws: NativeAead = { seal: () => { throw new Error('boom'); }, open: real.open };
  t.equal(knownAnswerProblem(throws), 'boom');
});

t.test('loading: S3_NATIVE_AES=off, a missing file and a foreign file each leave node:crypto with the reason', async (t) => {
  for (const off of ['off', 'OFF', 'false', '0']) {
    const r = loadNativeAead(nativeAeadPath(), { S3_NATIVE_AES: off });
    t.equal(r.binding, undefined, off);
    t.equal(r.byDesign, true);
    t.match(r.reason, /S3_NATIVE_AES=/);
  }
  const dir = mkdtempSync(join(tmpdir(), 's3d-aead-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = loadNativeAead(join(dir, 'none.node'), {});
  t.equal(missing.binding, undefined);
  t.match(missing.reason, /was not built/);
  writeFileSync(join(dir, 'junk.node'), 'not an ELF file');
  const junk = loadNativeAead(join(dir, 'junk.node'), {});
  t.equal(junk.binding, undefined);
  t.match(junk.reason, /does not load/);
  t.not(junk.byDesign, true);
});

t.test('native packages equal node:crypto packages, across key changes, sizes and sequence numbers', { skip: aeadImplementation().native ? false : 'no native binding' }, async (t) => {
  const keys = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const random = randomBytes(12);
  // Key order A A B A C C B: the kept schedule is reused, replaced and reused again.
  const order = [0, 0, 1, 0, 2, 2, 1];
  const sizes = [1, 15, 16, 17, 4095, 65535, 65536];
  let checked = 0;
  for (const [i, k] of order.entries()) {
    for (const size of sizes) {
      const plaintext = randomBytes(size);
      const final = size !== 65536;
      const expected = nodePackage(keys[k]!, random, i * 10 + size, final, plaintext);
      const out = Buffer.alloc(expected.length + 40, 0xee);
      const n = sealPackageInto(out, 7, keys[k]!, random, i * 10 + size, final, plaintext);
      t.equal(n, expected.length);
      if (!out.subarray(7, 7 + n).equals(expected)) t.fail(`package of ${size} bytes under key ${k} differs`);
      t.equal(out[6], 0xee, 'nothing written before the package');
      t.equal(out[7 + n], 0xee, 'nothing written after it');
      const back = Buffer.alloc(size + 3, 0xdd);
      t.equal(openPackageInto(back, 3, keys[k]!, out, 7, size, i * 10 + size, CipherSuite.AES_256_GCM), size);
      if (!back.subarray(3).equals(plaintext)) t.fail(`open of ${size} bytes under key ${k} differs`);
      t.same([...back.subarray(0, 3)], [0xdd, 0xdd, 0xdd]);
      checked++;
    }
  }
  t.equal(checked, order.length * sizes.length);
  // A package sealed under one key does not open under the key kept from the call before.
  const a = nodePackage(keys[0]!, random, 0, true, Buffer.from('under key A'));
  const out = Buffer.alloc(11);
  openPackageInto(out, 0, keys[0]!, a, 0, 11, 0, CipherSuite.AES_256_GCM);
  t.throws(() => openPackageInto(out, 0, keys[1]!, a, 0, 11, 0, CipherSuite.AES_256_GCM), DareError, 'another key is refused after this one was kept');
  t.equal(openPackageInto(out, 0, keys[0]!, a, 0, 11, 0, CipherSuite.AES_256_GCM), 11, 'and the right key opens it again');
});

t.test('a tampered package: refused, and its output range holds no plaintext', { skip: aeadImplementation().native ? false : 'no native binding' }, async (t) => {
  const key = randomBytes(32);
  const random = randomBytes(12);
  const plaintext = Buffer.alloc(65536, 0x41);
  const pkg = nodePackage(key, random, 3, true, plaintext);
  for (const [what, at] of [['the first ciphertext byte', HEADER_SIZE], ['the last ciphertext byte', HEADER_SIZE + 65535], ['the tag', pkg.length - 1], ['the AAD (header byte 1)', 1]] as const) {
    const bad = Buffer.from(pkg);
    bad[at] = bad[at]! ^ 0x01;
    const out = Buffer.alloc(65536, 0x41);
    t.throws(() => openPackageInto(out, 0, key, bad, 0, 65536, 3, CipherSuite.AES_256_GCM), { code: 'NotAuthentic' }, what);
    t.ok(out.every((b) => b === 0), `${what}: the output range is zeroed, not left with decrypted bytes`);
  }
  const out = Buffer.alloc(65536);
  t.throws(() => openPackageInto(out, 0, key, pkg, 0, 65536, 4, CipherSuite.AES_256_GCM), { code: 'NotAuthentic' }, 'the wrong sequence number');
});

t.test('bad arguments are refused with an error, never a crash or a write out of bounds', { skip: aeadImplementation().native ? false : 'no native binding' }, async (t) => {
  const native = loadNativeAead().binding as NativeAead;
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const out = Buffer.alloc(100);
  const back0 = Buffer.alloc(10);
  encodeHeader(out, 0, CipherSuite.AES_256_GCM, 10, true, randomBytes(12));
  t.throws(() => native.seal(out, 0, key.subarray(0, 31), iv, Buffer.alloc(10)), /wrong key/);
  t.throws(() => native.seal(out, 0, key, iv.subarray(0, 11), Buffer.alloc(10)), /wrong key, nonce/);
  t.throws(() => native.seal(out, 60, key, iv, Buffer.alloc(10)), /output size/, 'no room for the package');
  t.throws(() => native.seal(out, 101, key, iv, Buffer.alloc(1)), /offset/, 'an offset past the end');
  t.throws(() => native.seal(out, 0, key, iv, out.subarray(20, 30)), /overlaps/);
  t.throws(() => native.seal(out, -1, key, iv, Buffer.alloc(10)), /arguments/, 'a negative offset');
  t.throws(() => native.seal(out, 1.5, key, iv, Buffer.alloc(10)), /arguments/, 'a fractional offset');
  t.throws(() => native.open(out, 0, key, iv, out, 0, -10), /arguments/, 'a negative length');
  t.throws(() => (native.seal as (...a: unknown[]) => void)(out, 0, 'key', iv, Buffer.alloc(10)), /arguments/);
  t.throws(() => (native.seal as (...a: unknown[]) => void)(out, 0, key, iv), /five arguments/);
  t.throws(() => native.seal(out, 0, key, iv, Buffer.alloc(65537)), /size/, 'a payload over 64 KiB');
  t.throws(() => native.seal(out, 0, key, iv, Buffer.alloc(0)), /size/, 'an empty payload (DARE has none)');
  t.throws(() => native.open(back0, 0, key, iv, out, 0, 0), /size/, 'an empty payload to open');
  native.seal(out, 0, key, iv, Buffer.alloc(10));
  const back = Buffer.alloc(20);
  t.equal(native.open(back, 0, key, iv, out, 0, 10), true);
  t.throws(() => native.open(back, 0, key, iv, out, 0, 100), /package or output size/, 'a payload longer than the package');
  t.throws(() => native.open(back, 15, key, iv, out, 0, 10), /output size/, 'no room for the plaintext');
  t.throws(() => native.open(out, 20, key, iv, out, 0, 10), /overlaps/);
  t.throws(() => native.open(back, 0, key, iv, new Uint16Array(50) as unknown as Uint8Array, 0, 10), /arguments/);
  t.equal(native.open(back, 0, key, iv, out, 0, 10), true, 'the binding still works');
});

t.test('the crypto workers seal through the native binding too', { skip: aeadImplementation().native ? false : 'no native binding' }, async (t) => {
  const pool = new CryptoPool({ workers: 2 });
  t.teardown(() => pool.close());
  const key = Buffer.alloc(32, 5);
  const slot = pool.arena.acquire();
  slot.input.fill(3, 0, SEAL_BATCH_BYTES);
  const task: SealTask = { op: 'seal', slot: slot.sab, base: slot.base, inLength: SEAL_BATCH_BYTES, key: new Uint8Array(key), random: new Uint8Array(12).fill(9), firstSequence: 0, final: true };
  const r = await pool.run(task);
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.nativeAes, true, 'the worker reports the native binding');
  t.ok(openBuffer(key, slot.output.subarray(0, r.length)).equals(Buffer.alloc(SEAL_BATCH_BYTES, 3)));
});

t.test('a binding copied elsewhere loads from its path (the systemd install copies dist/)', { skip: aeadImplementation().native ? false : 'no native binding' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-aead-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(nativeAeadPath(), join(dir, 'dare-aead.node'));
  const r = loadNativeAead(join(dir, 'dare-aead.node'), {});
  t.ok(r.binding, r.reason ?? 'loaded');
  const plaintext = randomBytes(1000);
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const out = Buffer.alloc(1032);
  encodeHeader(out, 0, CipherSuite.AES_256_GCM, 1000, true, randomBytes(12));
  c.setAAD(out.subarray(0, 4));
  const expected = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  r.binding!.seal(out, 0, key, iv, plaintext);
  t.ok(out.subarray(16).equals(expected));
});

t.test('the build step installs a binding only when it compiled and passed its check', { skip: hasCompiler ? false : 'no C compiler (cc)' }, async (t) => {
  // A copy of the tree the script works in (its own dist/native/ is not touched: other test
  // files load it meanwhile).
  const root = mkdtempSync(join(tmpdir(), 's3d-prepare-native-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const dir of ['scripts', 'native']) mkdirSync(join(root, dir));
  copyFileSync(projectPath('scripts/prepare-native.mjs'), join(root, 'scripts/prepare-native.mjs'));
  cpSync(projectPath('dist/workers'), join(root, 'dist/workers'), { recursive: true });
  symlinkSync(projectPath('node_modules'), join(root, 'node_modules'));
  const source = readFileSync(projectPath('native/dare-aead.c'), 'utf8');
  const target = join(root, 'dist/native/dare-aead.node');
  const build = (env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(root, 'scripts/prepare-native.mjs')], { encoding: 'utf8', env: { ...process.env, ...env } });
  const leftovers = () => (existsSync(join(root, 'dist/native')) ? readdirSync(join(root, 'dist/native')).filter((f) => f !== 'dare-aead.node') : []);

  writeFileSync(join(root, 'native/dare-aead.c'), source);
  let r = build();
  t.equal(r.status, 0, r.stderr);
  t.ok(existsSync(target), 'the real source is built and installed');
  t.ok(loadNativeAead(target, {}).binding, 'and loads');

  r = build({ CC: join(root, 'no-such-compiler') });
  t.equal(r.status, 0, 'a missing compiler does not fail the build');
  t.match(r.stdout, /prepare-native: no C compiler .*node:crypto/);
  t.notOk(existsSync(target), 'and leaves no binding (not even the one built before)');

  // The tag computed over the wrong AAD: compiles, loads, and is wrong.
  writeFileSync(join(root, 'native/dare-aead.c'), source.replace('EVP_EncryptUpdate(sealLane.ctx, NULL, &n, aad, AAD_SIZE)', 'EVP_EncryptUpdate(sealLane.ctx, NULL, &n, aad, AAD_SIZE - 1)'));
  r = build();
  t.equal(r.status, 0);
  t.match(r.stdout, /failed its check: .*differs from node:crypto/);
  t.notOk(existsSync(target), 'a binding that fails its check is not installed');

  writeFileSync(join(root, 'native/dare-aead.c'), `${source}\nint broken(void) { return }\n`);
  r = build();
  t.equal(r.status, 0);
  t.match(r.stdout, /failed:\n/, 'a compile error is reported');
  t.notOk(existsSync(target));
  t.same(leftovers(), [], 'no temporary file is left behind');
});
