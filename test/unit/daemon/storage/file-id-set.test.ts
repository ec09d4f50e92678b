// FileIdSet (daemon/storage/file-id-set.ts): the start-up scan's set of referenced data file ids,
// 64-bit prefixes in an open-addressing table. Every id added is found; ids not added are not
// (but for the documented case of a shared 64-bit prefix); ids of another shape are kept whole;
// the table stays within 32 bytes an id.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { FileIdSet } from '../../../../daemon/storage/file-id-set.js';

const id = (): string => randomBytes(16).toString('hex');
/** n random ids (one randomBytes call). */
const ids = (n: number): string[] => {
  const bytes = randomBytes(16 * n);
  return Array.from({ length: n }, (_, i) => bytes.toString('hex', 16 * i, 16 * i + 16));
};

t.test('random ids: every one added is found, none other is, through many growths', async (t) => {
  const set = new FileIdSet();
  const added = ids(200_000);
  for (const a of added) set.add(a);
  t.equal(set.size, added.length, 'size counts each id once');
  t.equal(added.filter((a) => !set.has(a)).length, 0, 'every added id is found');
  const others = ids(200_000);
  t.equal(others.filter((o) => set.has(o)).length, 0, 'no id that was not added is found');
  for (const a of added.slice(0, 1000)) set.add(a);
  t.equal(set.size, added.length, 'adding again changes nothing');
  t.ok(set.tableBytes <= 32 * added.length, `the table takes ${set.tableBytes} bytes for ${added.length} ids (at most 32 each; a Set of the strings ~70)`);
});

t.test('patterned ids (the varying digits at the start or the end) are told apart', async (t) => {
  const set = new FileIdSet();
  const front = Array.from({ length: 50_000 }, (_, i) => (2 * i + 1).toString(16).padStart(16, '0') + 'f'.repeat(16));
  const back = Array.from({ length: 50_000 }, (_, i) => 'a'.repeat(8) + (2 * i + 1).toString(16).padStart(8, '0') + '0'.repeat(16));
  for (const x of [...front, ...back]) set.add(x);
  t.equal([...front, ...back].filter((x) => !set.has(x)).length, 0, 'all found');
  const even = (i: number): string => (2 * i + 2).toString(16).padStart(16, '0') + 'f'.repeat(16);
  t.equal(Array.from({ length: 50_000 }, (_, i) => even(i)).filter((x) => set.has(x)).length, 0, 'their neighbours are not');
});

t.test('a shared 64-bit prefix is one entry (the documented, safe collision)', async (t) => {
  const set = new FileIdSet();
  const prefix = '0123456789abcdef';
  set.add(`${prefix}${'1'.repeat(16)}`);
  set.add(`${prefix}${'2'.repeat(16)}`);
  t.equal(set.size, 1);
  t.ok(set.has(`${prefix}${'3'.repeat(16)}`), 'an id never added with the same prefix is found: its file is kept, never deleted');
  t.notOk(set.has(`${'fedcba9876543210'}${'1'.repeat(16)}`));
});

t.test('an all-zero prefix (the empty slot pattern) and ids of another shape', async (t) => {
  const set = new FileIdSet();
  const zero = `${'0'.repeat(16)}${'9'.repeat(16)}`;
  t.notOk(set.has(zero), 'not there before it is added');
  set.add(zero);
  t.ok(set.has(zero), 'found once added');
  for (const odd of ['ABCDEF0123456789ABCDEF0123456789', 'abc', `${id()}.part1`, '', 'zz'.repeat(16)]) {
    t.notOk(set.has(odd), `${JSON.stringify(odd)}: not there before`);
    set.add(odd);
    t.ok(set.has(odd), `${JSON.stringify(odd)}: kept whole`);
  }
  t.notOk(set.has('ABCDEF0123456789ABCDEF012345678A'), 'another id of another shape is not found');
  t.equal(set.size, 6);
});
