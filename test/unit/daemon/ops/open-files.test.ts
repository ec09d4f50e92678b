// ops/object.ts openFiles: the data files a GET or copy of a many-part object claims before it
// answers. Past OPEN_AHEAD_MAX they are checked to exist, CHECKS_PER_TURN to a turn of the event
// loop (10,000 checked in one go held it ~100-170 ms): every one of them still checked, in order,
// and a missing one found whichever turn checks it, its pins released.
import t from 'tap';
import { RECORD_VERSION, type ObjectRecord, type PartRecord } from '../../../../daemon/meta/records.js';
import { CHECKS_PER_TURN, openFiles } from '../../../../daemon/ops/object.js';
import type { OpsEnv } from '../../../../daemon/ops/env.js';

const PARTS = 2 * CHECKS_PER_TURN + 200;
const SIZE = 10;

function part(n: number): PartRecord {
  return { v: RECORD_VERSION, n, size: SIZE, stored: SIZE, etag: 'e'.repeat(32), data: { file: `f${n}` }, mtime: 0 };
}

const parts = Array.from({ length: PARTS }, (_, i) => part(i + 1));
const rec: ObjectRecord = { v: RECORD_VERSION, size: PARTS * SIZE, stored: PARTS * SIZE, etag: `${'e'.repeat(32)}-${PARTS}`, mtime: 0, headers: {}, userMeta: {}, parts };

/** A FileStore that records what openFiles asks of it; `missing` files are ENOENT. */
function fakeFiles(missing: ReadonlySet<string> = new Set()) {
  const calls = { pinned: [] as string[], released: 0, checked: [] as string[], opened: [] as string[] };
  const enoent = (id: string): Error => Object.assign(new Error(`ENOENT: ${id}`), { code: 'ENOENT' });
  const files = {
    pin(ids: readonly string[]) {
      calls.pinned.push(...ids);
      return () => void calls.released++;
    },
    mustExist(id: string) {
      calls.checked.push(id);
      if (missing.has(id)) throw enoent(id);
    },
    open(id: string) {
      calls.opened.push(id);
      if (missing.has(id)) throw enoent(id);
      return { id, close() {} };
    },
  };
  return { env: { files } as unknown as OpsEnv, calls };
}

t.test('a whole read of a many-part object: every file pinned and checked in order, none opened, the event loop served between', async (t) => {
  const { env, calls } = fakeFiles();
  let immediate = false;
  setImmediate(() => (immediate = true));
  const files = await openFiles(env, rec, 0, rec.size);
  const all = parts.map((p) => (p.data as { file: string }).file);
  t.same(calls.pinned, all, 'every part file pinned');
  t.same(calls.checked, all, 'every part file checked, in order');
  t.same(calls.opened, [], 'none opened up front');
  t.equal(files.handles.size, 0);
  t.ok(immediate, 'an immediate queued before the check ran before it finished');
  files.release();
  t.equal(calls.released, 1);
});

t.test('a file missing in a later turn is ENOENT, and the pins are released', async (t) => {
  const last = `f${PARTS - 1}`;
  const { env, calls } = fakeFiles(new Set([last]));
  await t.rejects(openFiles(env, rec, 0, rec.size), { code: 'ENOENT' });
  t.equal(calls.checked.at(-1), last, 'checked up to the missing one');
  t.equal(calls.checked.length, PARTS - 1);
  t.equal(calls.released, 1, 'pins released');
});

t.test('a range in the middle: only the parts it touches, opened up front', async (t) => {
  const { env, calls } = fakeFiles();
  const at = (CHECKS_PER_TURN + 3) * SIZE + 5;
  const files = await openFiles(env, rec, at, SIZE);
  t.same(calls.pinned, [`f${CHECKS_PER_TURN + 4}`, `f${CHECKS_PER_TURN + 5}`]);
  t.same([...files.handles.keys()], [`f${CHECKS_PER_TURN + 4}`, `f${CHECKS_PER_TURN + 5}`]);
  t.same(calls.checked, []);
});
