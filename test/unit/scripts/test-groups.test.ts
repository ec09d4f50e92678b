// scripts/test-groups.mjs (`npm test`): every compiled test file is run by exactly one group; unit
// groups hold at most six files of one directory, integration groups at most four; a file marked
// `// test-groups: own process` or listed in scripts/test-groups-alone.txt is alone in its group;
// a group of several loads them one after another and checks at exit that its last test ran; and
// .taprc runs the groups, not the test files themselves (which would then run twice).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ROOT } from '../../helpers/root.js';

/** Every compiled test file under `dir` (absolute paths). */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : [],
  );
}
const unit = testFiles(join(ROOT, 'dist/test/unit'));
const integration = testFiles(join(ROOT, 'dist/test/integration'));
const marked = [...unit, ...integration].filter((f) => /^\/\/ test-groups: own process$/m.test(readFileSync(f, 'utf8')));
const listed = readFileSync(join(ROOT, 'scripts/test-groups-alone.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

const out = mkdtempSync(join(tmpdir(), 's3d-test-groups-'));
t.teardown(() => rmSync(out, { recursive: true, force: true }));
const run = spawnSync(process.execPath, [join(ROOT, 'scripts/test-groups.mjs'), out], { encoding: 'utf8' });
/** Each group file's name, text and the files it imports (absolute). */
const groups = readdirSync(out).map((name) => {
  const text = readFileSync(join(out, name), 'utf8');
  return { name, text, members: [...text.matchAll(/import\(("[^"]*")\)/g)].map((m) => resolve(out, JSON.parse(m[1]!) as string)) };
});

t.test('every test file is run by exactly one group', async (t) => {
  t.equal(run.status, 0, run.stderr);
  t.ok(unit.length > 100 && integration.length > 150, `${unit.length} unit and ${integration.length} integration test files found`);
  t.same(groups.flatMap((g) => g.members).sort(), [...unit, ...integration].sort(), 'each imported once, none left out');
  t.ok(groups.every((g) => g.name.endsWith('.test.js')), 'tap finds each group by its name');
  t.match(run.stdout, new RegExp(`^test-groups: ${unit.length + integration.length} test files in ${groups.length} processes`));
  t.ok(groups.length < (unit.length + integration.length) / 2, `${groups.length} processes`);
});

t.test('group sizes; what runs alone', async (t) => {
  const kind = (g: { members: string[] }): string => (g.members[0]!.includes('/dist/test/unit/') ? 'unit' : 'integration');
  t.ok(groups.every((g) => g.members.every((m) => m.includes(`/dist/test/${kind(g)}/`))), 'unit and integration files never share a group');
  t.ok(groups.filter((g) => kind(g) === 'unit').every((g) => g.members.length <= 6 && new Set(g.members.map((m) => dirname(m))).size === 1), 'unit: six at most, of one directory');
  t.ok(groups.filter((g) => kind(g) === 'integration').every((g) => g.members.length <= 4), 'integration: four at most');
  t.ok(marked.some((f) => f.endsWith('/meta/versions-id.test.js')), 'versions-id.test is marked');
  t.ok(marked.some((f) => f.endsWith('/format/dare-node-crypto.test.js')), 'dare-node-crypto.test (it imports two other test files) is marked');
  t.ok(marked.some((f) => f.endsWith('/integration/verify-memory.test.js')), 'verify-memory.test (it measures its own heap) is marked');
  for (const f of marked) t.same(groups.find((g) => g.members.includes(f))?.members, [f], `${f.slice(ROOT.length + 1)} alone`);
  for (const name of listed) {
    const f = join(ROOT, 'dist/test/integration', `${name}.test.js`);
    t.ok(existsSync(f), `${name} (test-groups-alone.txt) exists`);
    t.same(groups.find((g) => g.members.includes(f))?.members, [f], `${name} alone`);
  }
});

t.test('a group of several loads each after the tests of the one before, and checks at exit that its last test ran', async (t) => {
  const several = groups.filter((g) => g.members.length > 1);
  t.ok(several.length > 20);
  for (const g of several) {
    t.match(g.text, /if \(i \+ 1 < files\.length\) load\(i \+ 1\);\n\s+else t\.test\('queued after the tests of every file, and run'/, `${g.name}: the next file is loaded from the one before`);
    t.match(g.text, /process\.on\('exit', \(\) => \{\n {2}if \(lastRan\) return;[^]*process\.exitCode = 1;/, `${g.name}: the exit status says so when the last test did not run`);
  }
  t.ok(groups.filter((g) => g.members.length === 1).every((g) => /^await import\("[^"]*"\);$/m.test(g.text)), 'a file alone is imported as tap would run it');
});

t.test('.taprc runs the groups, not the test files one by one', async (t) => {
  const taprc = readFileSync(join(ROOT, '.taprc'), 'utf8');
  const include = /^include:\n((?:\s+-\s+.*\n)+)/m.exec(taprc)?.[1]?.split('\n').map((l) => l.replace(/^\s+-\s+/, '').trim()).filter(Boolean);
  t.same(include, ['dist/test/groups/*.test.js']);
  t.match(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.pretest, /node scripts\/test-groups\.mjs$/, 'npm test writes the groups first');
});
