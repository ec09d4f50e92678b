// `npm test` step before tap: tap builds its test runner with the plugins .taprc names (ours
// removes @tapjs/typescript: the tests run from dist/, compiled by `npm run build`; @tapjs/mock,
// whose loader no test needs; and the plugins no test uses: snapshot, spawn, stdin, worker,
// intercept, node-serialize, chdir, ~0.05-0.1 s of CPU in each test process). npm installs
// the runner built with tap's default plugins, and tap notices the difference only after it has
// chosen the loaders for the run that notices it: the first `npm test` after `npm ci` (every CI
// run) loaded the TypeScript loader into every test process (~2 s of CPU each): a clean-clone CI
// run took 11m20s with it, 9m32s after this rebuild. Rebuild the runner first when it still
// carries a plugin .taprc removes.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'node_modules', '@tapjs', 'test', 'test-built', 'dist', 'esm', 'index.js');
// The plugins .taprc removes: its `- "!@tapjs/NAME"` lines.
const removed = [...readFileSync(join(root, '.taprc'), 'utf8').matchAll(/^\s*-\s*["']?!(@tapjs\/[\w-]+)["']?\s*$/gm)].map((m) => m[1]);
const source = existsSync(built) ? readFileSync(built, 'utf8') : '';
const carried = removed.filter((name) => source.includes(`"${name}"`) || source.includes(`'${name}'`) || source.includes(`"${name}/`) || source.includes(`'${name}/`));
if (carried.length > 0) {
  process.stdout.write(`tap-runner: rebuilding tap without ${carried.join(', ')} (.taprc)\n`);
  execFileSync(process.execPath, [join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), 'build'], { cwd: root, stdio: 'inherit' });
}
