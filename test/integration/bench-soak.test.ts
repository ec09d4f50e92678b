// `npm run soak` for a few seconds: it starts the built daemon, drives checked mixed traffic
// (SSE modes, multipart, copies, cut connections, presigned URLs), reads every live key back,
// stops the daemon, runs `verify --deep`, and says PASSED with a results file only when all of it
// is clean. A daemon that lost or mangled an acknowledged write would fail this.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/root.js';

t.test('a short soak passes, with samples, a read-back of every key and a clean verify', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 's3d-soak-test-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const r = await new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile(process.execPath, [join(ROOT, 'dist/bench/run.js'), 'soak', '--minutes', '0.2', '--concurrency', '3', '--sample-seconds', '4', '--out', out],
      { cwd: ROOT, env: { PATH: process.env.PATH }, timeout: 90_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout: `${stdout}${stderr}` })),
  );
  t.equal(r.code, 0, `exit 0\n${r.stdout}`);
  t.match(r.stdout, /^soak: PASSED; results in /m);
  const files = readdirSync(out).filter((f) => /^soak-.*\.json$/.test(f));
  t.equal(files.length, 1, 'one results file');
  const res = JSON.parse(readFileSync(join(out, files[0]!), 'utf8')) as {
    passed: boolean; operations: number; mismatchCount: number; status5xx: number; errors: Record<string, number>;
    liveKeys: number; finalCheckFailures: number; ok: Record<string, number>; samples: { rssMiB: number; fds: number }[];
    verify: { exitCode: number; summary: string };
  };
  t.equal(res.passed, true);
  t.ok(res.operations > 50, `${res.operations} operations`);
  t.same([res.mismatchCount, res.status5xx, res.errors, res.finalCheckFailures], [0, 0, {}, 0]);
  t.ok(res.liveKeys > 0, `${res.liveKeys} keys read back at the end`);
  for (const op of ['put', 'get', 'head']) t.ok((res.ok[op] ?? 0) > 0, `${op} ran`);
  t.ok(res.samples.length >= 2 && res.samples.every((s) => s.rssMiB > 0 && s.fds > 0), 'RSS and fds sampled from /proc');
  t.equal(res.verify.exitCode, 0);
  t.match(res.verify.summary, /no problems$/);
});
