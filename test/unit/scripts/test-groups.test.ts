// scripts/test-groups.mjs (`npm test`): every compiled unit test file is imported by exactly one
// group, no group holds more than six or mixes directories, a file marked `// test-groups: own
// process` is alone in its group, and .taprc runs the groups and the integration files, not the
// unit test files themselves (which would then run twice).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ROOT } from '../../helpers/root.js';

/** Every compiled unit test file (absolute paths). */
function unitTestFiles(dir = join(ROOT, 'dist/test/unit')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? unitTestFiles(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : [],
  );
}

const out = mkdtempSync(join(tmpdir(), 's3d-test-groups-'));
t.teardown(() => rmSync(out, { recursive: true, force: true }));
const run = spawnSync(process.execPath, [join(ROOT, 'scripts/test-groups.mjs'), out], { encoding: 'utf8' });
/** Each group file's name and the files it imports (absolute). */
const groups = readdirSync(out).map((name) => ({
  name,
  members: [...readFileSync(join(out, name), 'utf8').matchAll(/^ {2}await import\((".*")\);$/gm)].map((m) => resolve(out, JSON.parse(m[1]!) as string)),
}));

t.test('every unit test file is in exactly one group', async (t) => {
  t.equal(run.status, 0, run.stderr);
  const files = unitTestFiles();
  t.ok(files.length > 100, `${files.length} unit test files found`);
  const imported = groups.flatMap((g) => g.members);
  t.same(imported.slice().sort(), files.slice().sort(), 'each imported once, none left out');
  t.ok(groups.every((g) => g.name.endsWith('.test.js')), 'tap finds each group by its name');
  t.match(run.stdout, new RegExp(`^test-groups: ${files.length} unit test files in ${groups.length} processes`));
});

t.test('groups are small and of one directory; a file that asks for a process of its own has one', async (t) => {
  t.ok(groups.every((g) => g.members.length >= 1 && g.members.length <= 6), 'one to six files each');
  t.ok(groups.every((g) => new Set(g.members.map((m) => dirname(m))).size === 1), 'one directory each');
  const marked = unitTestFiles().filter((f) => /^\/\/ test-groups: own process$/m.test(readFileSync(f, 'utf8')));
  t.ok(marked.some((f) => f.endsWith('/meta/versions-id.test.js')), 'versions-id.test is marked');
  t.ok(marked.some((f) => f.endsWith('/format/dare-node-crypto.test.js')), 'dare-node-crypto.test (it imports two other test files) is marked');
  for (const f of marked) t.same(groups.find((g) => g.members.includes(f))?.members, [f], `${f.slice(ROOT.length + 1)} alone`);
});

t.test('each group checks at exit that its last test, queued after every file\'s, ran', async (t) => {
  for (const g of groups) {
    const text = readFileSync(join(out, g.name), 'utf8');
    t.ok(text.lastIndexOf("t.test('queued after the tests of every file, and run'") > text.lastIndexOf('await import('), `${g.name}: queued after the imports`);
    t.match(text, /process\.on\('exit', \(\) => \{\n {2}if \(lastRan\) return;[^]*process\.exitCode = 1;/, `${g.name}: the exit status says so otherwise`);
  }
});

t.test('.taprc runs the groups and the integration files, not the unit test files one by one', async (t) => {
  const taprc = readFileSync(join(ROOT, '.taprc'), 'utf8');
  const include = /^include:\n((?:\s+-\s+.*\n)+)/m.exec(taprc)?.[1]?.split('\n').map((l) => l.replace(/^\s+-\s+/, '').trim()).filter(Boolean);
  t.same(include, ['dist/test/integration/**/*.test.js', 'dist/test/unit-groups/*.test.js']);
  t.match(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.pretest, /node scripts\/test-groups\.mjs$/, 'npm test writes the groups first');
});
