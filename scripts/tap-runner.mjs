// `npm test` step before tap: tap builds its test runner with the plugins .taprc names (ours
// removes @tapjs/typescript: the tests run from dist/, compiled by `npm run build`; and
// @tapjs/mock, whose loader no test needs). npm installs
// the runner built with tap's default plugins, and tap notices the difference only after it has
// chosen the loaders for the run that notices it: the first `npm test` after `npm ci` (every CI
// run) loaded the TypeScript loader into every test process (~2 s of CPU each): a clean-clone CI
// run took 11m20s with it, 9m32s after this rebuild. Rebuild the runner first when it still
// carries either loader.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'node_modules', '@tapjs', 'test', 'test-built', 'dist', 'esm', 'index.js');
if (existsSync(built) && /["']@tapjs\/(typescript|mock)["'/]/.test(readFileSync(built, 'utf8'))) {
  process.stdout.write('tap-runner: rebuilding tap without @tapjs/typescript and @tapjs/mock (.taprc)\n');
  execFileSync(process.execPath, [join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), 'build'], { cwd: root, stdio: 'inherit' });
}
