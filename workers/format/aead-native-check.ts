// `node aead-native-check.js FILE`: the known-answer check scripts/prepare-native.mjs runs on a
// freshly compiled binding before installing it (in a child process, so a binding that crashes
// cannot take the build down). Compares it with node:crypto on packages of several sizes, opens
// them back, and checks that a tampered package is refused with its output zeroed.
import { createCipheriv } from 'node:crypto';
import { loadNativeAead } from './aead-native.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const file = process.argv[2];
if (file === undefined) fail('usage: aead-native-check FILE');
const { binding, reason } = loadNativeAead(file, {});
if (binding === undefined) fail(reason ?? 'no binding');
const key = Buffer.alloc(32, 7);
const iv = Buffer.from('000102030405060708090a0b', 'hex');
for (const size of [1, 15, 16, 17, 4096, 65535, 65536]) {
  const plaintext = Buffer.alloc(size, size & 0xff);
  const header = Buffer.from([0x20, 0x00, (size - 1) & 0xff, (size - 1) >> 8]);
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  c.setAAD(header);
  const expected = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  const pkg = Buffer.alloc(16 + size + 16 + 8, 0xaa);
  header.copy(pkg, 8);
  binding.seal(pkg, 8, key, iv, plaintext);
  if (!pkg.subarray(24, 24 + size + 16).equals(expected)) fail(`seal of ${size} bytes differs from node:crypto`);
  const back = Buffer.alloc(size + 2);
  if (!binding.open(back, 1, key, iv, pkg, 8, size) || !back.subarray(1, 1 + size).equals(plaintext)) fail(`open of ${size} bytes failed`);
  pkg[24 + size - 1] ^= 1;
  if (binding.open(back, 1, key, iv, pkg, 8, size) || back.subarray(1, 1 + size).some((b) => b !== 0)) fail(`a tampered package of ${size} bytes was not refused`);
}
process.stdout.write('ok\n');
