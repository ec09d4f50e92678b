// The parser patch of the uWebSockets.js binary (daemon/http/uws.ts) applies only to the
// release it was made for; anything else loads as it is, with the reason.
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PARSER_PATCHES, chooseBinding, headerName, nativeBindingPath, patchedBindingPath } from '../../../../daemon/http/uws.js';

const dir = mkdtempSync(join(tmpdir(), 's3d-uws-patch-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('headerName turns the DEL the patched parser makes of _ back into _', async (t) => {
  t.equal(headerName('x-amz-meta-a\x7fb\x7f'), 'x-amz-meta-a_b_');
  t.equal(headerName('content-length'), 'content-length');
});

t.test('an unknown binary, or another release under a known name, is loaded unpatched', async (t) => {
  const unknown = join(dir, 'uws_plan9_mips_1.node');
  writeFileSync(unknown, 'x');
  t.match(chooseBinding(unknown), { file: unknown, parserPatched: false, unpatchedReason: /no parser patch is known/, unpatchedByDesign: true });
  const name = Object.keys(PARSER_PATCHES)[0]!;
  const other = join(dir, name);
  writeFileSync(other, Buffer.alloc(1 << 20, 1));
  t.match(chooseBinding(other), { file: other, parserPatched: false, unpatchedReason: /not the release the parser patch was made for/ });
  t.notOk(chooseBinding(other).unpatchedByDesign, 'a fault, not a design choice (logged at warn)');
  t.match(chooseBinding(join(dir, 'missing', name)), { parserPatched: false, unpatchedReason: /cannot be read/ });
});

const installed = nativeBindingPath();
const patch = PARSER_PATCHES[installed.slice(installed.lastIndexOf('/') + 1)];
t.test('the installed release gets its patched copy: exactly the listed bytes differ', { skip: patch === undefined ? 'no patch for this platform' : false }, async (t) => {
  const chosen = chooseBinding(installed);
  t.strictSame(chosen, { file: patchedBindingPath(installed.slice(installed.lastIndexOf('/') + 1)), parserPatched: true });
  const a = readFileSync(installed);
  const b = readFileSync(chosen.file);
  t.equal(a.length, b.length, 'same length');
  const differ: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ.push(i);
  t.strictSame(differ, patch!.edits.map(([o]) => o).sort((x, y) => x - y), 'only the edited offsets differ');
  t.equal(createHash('sha256').update(b).digest('hex'), patch!.patched);
});

t.test('a copy that cannot be written leaves the original loaded, with the reason; a damaged copy is made again', { skip: patch === undefined ? 'no patch for this platform' : false }, async (t) => {
  const name = installed.slice(installed.lastIndexOf('/') + 1);
  // Under a regular file no directory can be made, whoever runs the test (root included).
  const blocked = join(dir, 'a-file');
  writeFileSync(blocked, 'x');
  t.match(chooseBinding(installed, join(blocked, 'native', name)), { file: installed, parserPatched: false, unpatchedReason: /cannot be written \(ENOTDIR\); run npm run build/ });
  const target = join(dir, 'native', name);
  t.strictSame(chooseBinding(installed, target), { file: target, parserPatched: true }, 'written where it can be');
  writeFileSync(target, 'damaged');
  t.strictSame(chooseBinding(installed, target), { file: target, parserPatched: true }, 'a copy with the wrong digest is written again');
  t.equal(createHash('sha256').update(readFileSync(target)).digest('hex'), patch!.patched);
  // Of the right size, one byte changed past the first slice the check reads (1 MiB).
  const copy = readFileSync(target);
  copy[copy.length - 5] ^= 0xff;
  writeFileSync(target, copy);
  t.strictSame(chooseBinding(installed, target), { file: target, parserPatched: true }, 'a copy of the right size with one byte changed is written again');
  t.equal(createHash('sha256').update(readFileSync(target)).digest('hex'), patch!.patched, 'with the patched bytes');
});
