// The stdio binding (native/stdio-quiet.c) and quietStdio (daemon/http/stdio-quiet.ts): built and
// loaded wherever a C compiler exists; what is printed through C stdio's standard output inside
// quietStdio goes nowhere, with standard output a pipe or a file, while what JavaScript writes to
// fd 1 inside it, and everything printed outside it, arrives in order; fn's result is returned and
// its exception thrown, the output restored all the same; without the binding fn runs as it is.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { knownAnswerProblem, loadStdioQuiet, quietStdio, stdioQuietImplementation, stdioQuietPath, type StdioQuiet } from '../../../../daemon/http/stdio-quiet.js';

const hasCompiler = spawnSync('cc', ['--version'], { stdio: 'ignore' }).error === undefined;
const dist = fileURLToPath(new URL('../../../../', import.meta.url));
const impl = stdioQuietImplementation();
const noBinding = impl.native ? false : `the stdio binding was not built (${impl.reason})`;

t.test('fn\'s result, fn\'s own exception, and a TypeError for what is not a function', { skip: noBinding }, async (t) => {
  const raw = createRequire(import.meta.url)(stdioQuietPath()) as StdioQuiet;
  t.equal(knownAnswerProblem(raw), undefined, 'the load-time check passes');
  const object = { a: 1 };
  t.equal(quietStdio(() => object), object, 'the very value fn returns');
  const thrown = new RangeError('from fn');
  t.throws(() => quietStdio(() => {
    throw thrown;
  }), thrown, 'the very exception fn throws');
  t.equal(quietStdio(() => 'again'), 'again', 'and it works after one');
  t.throws(() => raw.quiet(42 as never), TypeError, 'quiet(42): a TypeError');
  const nested = quietStdio(() => quietStdio(() => 'inner') + ' outer');
  t.equal(nested, 'inner outer', 'windows nest');
});

/** A child printing through `binding.print` around quietStdio, with `stdout` as its standard output; returns what it wrote there. */
function printingChild(module: string, stdout: 'pipe' | number): { status: number | null; stderr: string; stdout: string } {
  const script = `
    import { createRequire } from 'node:module';
    import { quietStdio } from ${JSON.stringify(module)};
    const { print } = createRequire(import.meta.url)(${JSON.stringify(stdioQuietPath())});
    print('before\\n');
    quietStdio(() => {
      print('printf inside\\n');
      process.stdout.write('js inside\\n');
    });
    print('between\\n');
    try {
      quietStdio(() => {
        print('printf inside, then thrown\\n');
        throw new Error('thrown');
      });
    } catch (err) {
      if (err.message !== 'thrown') throw err;
    }
    print('after\\n');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', stdout, 'pipe'], timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout ?? '' };
}

const module = join(dist, 'daemon', 'http', 'stdio-quiet.js');

t.test('inside quietStdio printf goes nowhere; fd 1 and everything outside arrive, in order', { skip: noBinding }, async (t) => {
  const piped = printingChild(module, 'pipe');
  t.equal(piped.status, 0, piped.stderr);
  t.equal(piped.stdout, 'before\njs inside\nbetween\nafter\n', 'standard output a pipe');
  const work = mkdtempSync(join(tmpdir(), 's3d-stdio-quiet-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const file = join(work, 'out');
  const fd = openSync(file, 'w');
  const toFile = printingChild(module, fd);
  closeSync(fd);
  t.equal(toFile.status, 0, toFile.stderr);
  t.equal(readFileSync(file, 'utf8'), 'before\njs inside\nbetween\nafter\n', 'standard output a file');
});

t.test('without the binding: fn runs as it is, its printing arrives, and the reason is given', { skip: noBinding }, async (t) => {
  t.match(loadStdioQuiet('/nonexistent/stdio-quiet.node'), { binding: undefined, reason: /was not built/ }, 'a missing file: no binding, and why');
  // The two modules copied (ES modules) where no native/stdio-quiet.node is beside them.
  const work = mkdtempSync(join(tmpdir(), 's3d-stdio-quiet-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  for (const rel of [['daemon', 'http', 'stdio-quiet.js'], ['workers', 'format', 'native-load.js']]) {
    mkdirSync(join(work, ...rel.slice(0, -1)), { recursive: true });
    copyFileSync(join(dist, ...rel), join(work, ...rel));
  }
  writeFileSync(join(work, 'package.json'), '{"type":"module"}\n');
  const copy = join(work, 'daemon', 'http', 'stdio-quiet.js');
  const { stdioQuietImplementation: copyImpl } = (await import(copy)) as typeof import('../../../../daemon/http/stdio-quiet.js');
  t.match(copyImpl(), { native: false, reason: /stdio-quiet\.node was not built/ }, 'the copy has none, and says why');
  const r = printingChild(copy, 'pipe');
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'before\nprintf inside\njs inside\nbetween\nprintf inside, then thrown\nafter\n', 'everything arrives; the exception still propagates');
});

t.test('the binding is built by npm run build and loaded where a C compiler exists', { skip: hasCompiler ? false : 'no C compiler (cc) on this machine; .ci/run installs one' }, async (t) => {
  t.equal(impl.native, true, `quietStdio through the binding (${impl.reason ?? impl.file})`);
  t.equal(impl.file, stdioQuietPath());
  // Last: the build writes the file the other subtests' children load.
  const rebuilt = spawnSync(process.execPath, [join(dist, '..', 'scripts', 'prepare-native.mjs')], { encoding: 'utf8' });
  t.equal(rebuilt.status, 0, rebuilt.stderr);
  t.match(rebuilt.stdout, /^prepare-native: \/.*stdio-quiet\.node$/m, 'the build step compiles it and its check passes');
});
