// SlotArena: slots carved eight at a time from page-aligned shared memory, recycled with their
// cancel flag cleared; and, where the engine refuses that memory (a process whose address space is
// limited, `ulimit -v` or systemd's LimitAS=: each page-aligned chunk reserves ~10 GiB of it), plain
// shared slots that are not taken for page-aligned (no O_DIRECT write from them) and that the
// pipelines seal and open through as before. That case runs in a child under `ulimit -v`.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SlotArena } from '../../../../daemon/crypto/slot-arena.js';
import { isMemoryAligned, PAGE_SIZE } from '../../../../daemon/storage/aligned.js';
import { CTRL_CANCEL } from '../../../../workers/protocol.js';

t.test('slots come eight to a page-aligned chunk and are recycled with the cancel flag cleared', async (t) => {
  const arena = new SlotArena();
  const a = arena.acquire();
  t.equal(arena.allocated, 8);
  t.equal(arena.free, 7);
  t.ok(isMemoryAligned(a.input, PAGE_SIZE) && isMemoryAligned(a.output, PAGE_SIZE), 'both regions page-aligned');
  SlotArena.cancel(a);
  arena.release(a);
  const again = arena.acquire();
  t.equal(again, a, 'the slot given back is the next one handed out');
  t.equal(Atomics.load(again.ctrl, CTRL_CANCEL), 0, 'its cancel flag no longer says skip');
});

// Run in the child: the arena without page-aligned memory, and a stream sealed and opened on it.
const child = `
import { SlotArena } from ${JSON.stringify(new URL('../../../../daemon/crypto/slot-arena.js', import.meta.url).href)};
import { isMemoryAligned, PAGE_SIZE } from ${JSON.stringify(new URL('../../../../daemon/storage/aligned.js', import.meta.url).href)};
import { createSealer } from ${JSON.stringify(new URL('../../../../daemon/crypto/seal-stream.js', import.meta.url).href)};
import { openStream } from ${JSON.stringify(new URL('../../../../daemon/crypto/open-stream.js', import.meta.url).href)};
const arena = new SlotArena();
const slots = Array.from({ length: 3 }, () => arena.acquire());
const out = { allocated: arena.allocated, free: arena.free, distinct: new Set(slots.map((s) => s.sab)).size, aligned: slots.some((s) => isMemoryAligned(s.input, PAGE_SIZE)) };
const key = Buffer.alloc(32, 7);
const plain = Buffer.alloc(3 * 1024 * 1024 + 5);
for (let i = 0; i < plain.length; i++) plain[i] = i % 251;
const sealed = [];
const sealer = createSealer(null, key, { sink: (c) => void sealed.push(Buffer.from(c)) });
await sealer.write(plain);
await sealer.end();
const opened = [];
for await (const c of openStream(null, key, { source: (async function* () { yield Buffer.concat(sealed); })(), firstSequence: 0, skip: 0, length: plain.length, expectFinal: true })) opened.push(Buffer.from(c));
out.roundTrip = Buffer.concat(opened).equals(plain);
process.stdout.write(JSON.stringify(out));
`;

t.test('without page-aligned memory (address space limited): plain slots, not taken for aligned, and the pipelines work on them', async (t) => {
  const probe = 'try { new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }); console.log("allowed") } catch { console.log("refused") }';
  const script = `ulimit -v 3000000 && exec "$0" --input-type=module -e "$1"`;
  const limited = (code: string) => spawnSync('/bin/sh', ['-c', script, process.execPath, code], { encoding: 'utf8', env: { PATH: process.env.PATH }, cwd: fileURLToPath(new URL('.', import.meta.url)) });
  const p = limited(probe);
  if (p.stdout.trim() !== 'refused') {
    t.pass(`skipped: this engine still gives page-aligned shared memory under ulimit -v (${p.stdout.trim() || p.stderr.trim()})`);
    return;
  }
  const r = limited(child);
  t.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, unknown>;
  t.same(got, { allocated: 3, free: 0, distinct: 3, aligned: false, roundTrip: true }, 'one plain slot at a time, none aligned, a 3 MiB stream round-trips');
});
