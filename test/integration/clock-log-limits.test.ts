// The daemon's "one line per 10 s" limiter on tampered-object and KMS-refusal log lines
// (http/error-answer.ts firstInTen, a daemon/log-limit.ts KeyedLogLimit) runs on the monotonic
// clock. A preload makes the daemon's Date.now run an hour ahead at every read (new Date() and
// the signature check keep the real clock): two GETs of a tampered object in a row still log one
// error line. On the wall clock, the limiter let every line through when the clock went forward,
// and after a step back stayed silent for the step.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startDaemon, testBytes } from '../helpers/daemon.js';
import { dataFilePaths, flipByte } from '../helpers/files.js';
import { send } from '../helpers/http.js';
import { sleep } from '../helpers/wait.js';

const RUNNING_AHEAD = `
const realNow = Date.now;
let steps = 0;
Date.now = () => realNow() + 3_600_000 * ++steps;
`;

t.test('a tampered object read twice in a row is logged once', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 's3d-clock-log-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const preload = join(work, 'clock.mjs');
  writeFileSync(preload, RUNNING_AHEAD);
  const d = await startDaemon({ env: { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` } });
  t.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });
  t.equal((await send(d.port, { method: 'PUT', path: '/clocklog' })).status, 200, 'bucket created');
  const put = await send(d.port, { method: 'PUT', path: '/clocklog/k', body: testBytes(300_000, 4), headers: { 'x-amz-server-side-encryption': 'AES256' } });
  t.equal(put.status, 200, 'object stored');
  const [file] = dataFilePaths(d.dataDir);
  flipByte(file!, 16 + 100, 0x04);
  for (let i = 0; i < 2; i++) t.equal((await send(d.port, { method: 'GET', path: '/clocklog/k' })).status, 500, `GET ${i + 1} refused`);
  await sleep(500);
  const lines = d.logs.filter((l) => l.includes('object data failed authentication'));
  t.equal(lines.length, 1, 'one error line for both');
  // Without the preload in effect (its NODE_OPTIONS lost on the way to the daemon) a limiter on
  // the wall clock logs one line too: pino stamps its lines with Date.now, so they show the clock.
  const ahead = Number((JSON.parse(lines[0] ?? '{}') as { time?: number }).time) - Date.now();
  t.ok(ahead > 3_000_000, `the daemon's Date.now ran ahead (its line stamped ${Math.round(ahead / 60_000)} min ahead)`);
});
