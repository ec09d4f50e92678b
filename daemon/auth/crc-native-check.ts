// `node crc-native-check.js FILE`: the known-answer check scripts/prepare-native.mjs runs on a
// freshly compiled checksums binding before installing it (in a child process, so a binding that
// crashes cannot take the build down): CRC32C and CRC64NVME against @aws-sdk/checksums' JavaScript
// ones over random buffers of many sizes, whole, in random chunks and at unaligned offsets.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { compareWith, loadNativeCrc, type CrcHasher } from './crc-native.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const file = process.argv[2];
if (file === undefined) fail('usage: crc-native-check FILE');
const { binding, reason } = loadNativeCrc(file, {});
if (binding === undefined) fail(reason ?? 'no binding');
const reference = createRequire(import.meta.url)('@aws-sdk/checksums/crc') as { Crc32c: new () => CrcHasher; Crc64Nvme: new () => CrcHasher };
const problem = await compareWith(binding, reference, [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4095, 65536, 65537, 200_003], randomBytes);
if (problem !== undefined) fail(problem);
process.stdout.write('ok\n');
