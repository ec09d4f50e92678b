// CryptoPool out of file descriptors, in a real process whose RLIMIT_NOFILE it lowers itself (with
// prlimit) once its first workers run: a thread that cannot start fails every task that waited for
// it with that reason, so the request is a 503 SlowDown (errors.ts, descriptorShortage), a
// shortage that passes. Before, the tasks queued behind the first were failed by Piscina's
// destroy() as "Terminating worker thread" (an MD5 lane retired, seal/open tasks stranded), which
// named no cause: a 500 InternalError, seen as 1-3 uploads in 60 of a burst against a daemon at
// `--nofile=64`. Skipped where prlimit is missing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prlimitMissing } from '../../../helpers/proc.js';

const poolModule = fileURLToPath(new URL('../../../../daemon/crypto/pool.js', import.meta.url));
const errorsModule = fileURLToPath(new URL('../../../../daemon/errors.js', import.meta.url));


// The child: one loaded pool with one MD5 lane's worth of room; then the soft limit is lowered to
// the lowest free descriptor plus one, so no new thread can start. Three streams share the lane
// that must start now (hashLanes 1); a second pool's seal tasks queue behind workers that cannot
// start. Each failure is reported with the errno descriptorShortage finds in it (or none).
const child = `
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { CryptoPool } from ${JSON.stringify(poolModule)};
import { descriptorShortage } from ${JSON.stringify(errorsModule)};
const pool = new CryptoPool({ workers: 1, hashLanes: 1, onWorkerError: () => {} });
await pool.loaded;
const open = new Set(readdirSync('/proc/self/fd').map(Number));
let free = 0;
while (open.has(free)) free++;
const hard = execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--output=HARD', '--noheadings'], { encoding: 'utf8' }).trim();
execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=' + (free + 1) + ':' + hard]);
const why = (e) => (e === 'ok' ? 'ran' : descriptorShortage(e) ?? 'no shortage: ' + e.message);
const sab = new SharedArrayBuffer(16);
const lanes = [pool.md5Lane(), pool.md5Lane(), pool.md5Lane()];
const md5 = await Promise.all(lanes.map((l) => l.update(sab, 0, 16).then(() => 'ok', (e) => e)));
const more = new CryptoPool({ workers: 2, onWorkerError: () => {} });
const seal = await Promise.all([1, 2, 3, 4, 5, 6].map(() => more.run({ op: 'seal' }).then(() => 'ok', (e) => e)));
console.log(JSON.stringify({ md5: md5.map(why), seal: seal.map(why) }));
process.exit(0);
`;

t.test('tasks waiting for a thread that cannot start for want of a descriptor fail naming EMFILE, every one of them', { skip: prlimitMissing() }, async (t) => {
  // A file, not \`-e\`: worker threads inherit \`--input-type\`, which fails their module's load.
  const dir = mkdtempSync(join(tmpdir(), 's3d-pool-emfile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'child.mjs'), child);
  // Through env, without NODE_OPTIONS: tap's coverage hooks, which it adds to the node children it
  // sees spawned, write a file as the child exits, and the child has no descriptor left for it.
  const r = spawnSync('/usr/bin/env', ['NODE_OPTIONS=', process.execPath, join(dir, 'child.mjs')], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, 'the child ran');
  t.equal(r.stderr, '', 'and said nothing on standard error');
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { md5?: string[]; seal?: string[] };
  t.same(out.md5, ['EMFILE', 'EMFILE', 'EMFILE'], 'the three streams of the MD5 lane whose thread could not start: EMFILE (before, the two queued ones: "Terminating worker thread")');
  t.same(out.seal, Array(6).fill('EMFILE'), 'seal tasks left stranded by workers that could not start: EMFILE (before, the stranded ones named no cause)');
});
