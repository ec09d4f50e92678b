// `node stdio-quiet-check.js FILE`: the check scripts/prepare-native.mjs runs on a freshly
// compiled stdio binding before installing it (in a child process, so a binding that crashes
// cannot take the build down). It runs itself again with its standard output a pipe, as a
// journal's or a log shipper's is: that child prints through printf before, inside and after
// quiet windows (one ended by an exception) and through fd 1 from JavaScript inside one; what was
// not printed through printf inside a window must arrive, all of it, in order, and nothing else.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadStdioQuiet } from './stdio-quiet.js';

/** What the child writes to its standard output when the binding works. */
const EXPECTED = 'before\njs inside\nbetween\nafter\n';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const [file, role] = process.argv.slice(2);
if (file === undefined) fail('usage: stdio-quiet-check FILE');
const { binding, reason } = loadStdioQuiet(file);
if (binding === undefined) fail(reason ?? 'no binding');
if (role === 'print') {
  binding.print('before\n');
  binding.quiet(() => {
    binding.print('printf inside\n');
    process.stdout.write('js inside\n');
  });
  binding.print('between\n');
  try {
    binding.quiet(() => {
      binding.print('printf inside, then thrown\n');
      throw new Error('thrown');
    });
  } catch {
    // Expected: the output is restored all the same.
  }
  binding.print('after\n');
} else {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), file, 'print'], { encoding: 'utf8', timeout: 30_000 });
  if (child.status !== 0) fail(`the printing child failed: ${child.stderr.trim() || child.signal || child.error?.message}`);
  if (child.stdout !== EXPECTED) fail(`standard output was ${JSON.stringify(child.stdout)}, not ${JSON.stringify(EXPECTED)}`);
  process.stdout.write('ok\n');
}
