// A data file's new fan-out directory (.s3d/objects/xx) is made durable by an fsync of objects/
// before its upload is answered. When objects/ cannot even be opened for that sync (injected by
// strace: every openat of objects/ fails with EMFILE, as when the daemon runs out of descriptors),
// the uploads are refused, and none is acknowledged; once objects/ opens again, the directories
// are synced by the next upload into each and take uploads again. Before, such a directory was
// kept failed as one whose fsync failed is, and every upload whose file landed in it (one in 256
// per directory) was answered 500 until a restart. Skipped where strace is missing or may not trace.
import t from 'tap';
import { join } from 'node:path';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { errorCode, send } from '../helpers/http.js';
import { NO_STRACE, detach, tamperCalls } from '../helpers/strace.js';

const REFUSED = 20;
const AFTER = 200;

t.test('uploads refused while objects/ cannot be opened to sync a new fan-out directory are taken again once it opens', { skip: NO_STRACE }, async (t) => {
  // Every object in a data file of its own (none inline), each landing in one of 256 directories at random.
  const d = await startDaemonFor(t, { env: { S3_INLINE_THRESHOLD: '0' } });
  t.equal((await send(d.port, { method: 'PUT', path: '/fanout' })).status, 200, 'bucket created');
  // The first start's scan for unreferenced files reads objects/ too: done before the injection.
  await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('start-up scan for unreferenced data files finished'), 30_000);

  const strace = await tamperCalls(d.proc.pid!, join(d.dataDir, '.s3d', 'objects'), ['openat'], 'error=EMFILE');
  const refused: Array<{ status: number; code: string | undefined }> = [];
  try {
    for (let i = 0; i < REFUSED; i++) {
      const r = await send(d.port, { method: 'PUT', path: `/fanout/refused-${i}`, body: testBytes(1024, i) });
      refused.push({ status: r.status, code: errorCode(r.body) });
    }
  } finally {
    await detach(strace);
  }
  t.same(refused.filter((r) => r.status !== 503 || r.code !== 'SlowDown'), [], `all ${REFUSED} uploads into new directories refused 503 SlowDown (no descriptor: EMFILE)`);
  for (let i = 0; i < REFUSED; i++) {
    if ((await send(d.port, { method: 'HEAD', path: `/fanout/refused-${i}` })).status !== 404) t.fail(`refused-${i} was stored though refused`);
  }
  const line = d.jsonLogs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('out of file descriptors'));
  t.match((line?.err as { message?: string } | undefined)?.message, /^opening .*objects to fsync it failed \(EMFILE\) after .*objects\/[0-9a-f]{2} was made in it: the next upload into .* tries again/, 'the log says why (out of file descriptors), and that it is tried again');

  // The directories refused above are one in 13 of the 256: with none of them back, about 15 of
  // these 200 would land in one and fail (all 200 missing them: e^-16).
  const after: number[] = [];
  for (let i = 0; i < AFTER; i++) after.push((await send(d.port, { method: 'PUT', path: `/fanout/after-${i}`, body: testBytes(1024, 100 + i) })).status);
  t.equal(after.filter((s) => s === 200).length, AFTER, `once objects/ opens again, all ${AFTER} uploads are stored (${after.filter((s) => s !== 200).length} refused)`);
  t.equal((await send(d.port, { method: 'GET', path: `/fanout/after-${AFTER - 1}` })).body.length, 1024, 'and read back');
});
