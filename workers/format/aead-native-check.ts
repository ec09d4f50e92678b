// `node aead-native-check.js FILE`: the known-answer check scripts/prepare-native.mjs runs on a
// freshly compiled binding before installing it (in a child process, so a binding that crashes
// cannot take the build down): packages of several sizes against node:crypto, each under its own
// nonce, the key changing midway and back, opened back, tampered copies refused and zeroed.
import { knownAnswerProblem, loadNativeAead } from './aead-native.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const file = process.argv[2];
if (file === undefined) fail('usage: aead-native-check FILE');
const { binding, reason } = loadNativeAead(file, {});
if (binding === undefined) fail(reason ?? 'no binding');
const problem = knownAnswerProblem(binding, [1, 15, 16, 17, 4096, 65535, 65536, 33, 1000]);
if (problem !== undefined) fail(problem);
process.stdout.write('ok\n');
