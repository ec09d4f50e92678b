// One of two KES endpoints hung before TLS (it accepts TCP and never speaks), with the daemon
// against the fixture over real mTLS (found by a sweep): readiness waited 10.5 s for the hung one
// beside a working one. Split from kes-broken-answers.test.ts, whose three themes in one file ran
// 37 s alone and 62 s beside a busy core, too near tap's 180 s on a loaded CI machine.

import t from 'tap';
import type { Test } from 'tap';
import { createServer, type Socket } from 'node:net';
import { startDaemonFor } from '../helpers/daemon.js';
import { createTestPki } from '../fixtures/kes-server/certs.js';
import { kesEnv, kesServer, readyStatus, waitReady } from '../helpers/kes.js';
import { sleep } from '../helpers/wait.js';

const pki = await createTestPki();

/** A listener that takes connections and never answers (no TLS handshake): a hung KES. */
async function hungListener(t: Test): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address();
  return `https://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
}

t.test('readiness answers at once when one of two endpoints hangs before TLS and the other is online', async (t) => {
  const good = await kesServer(t, { pki });
  const hung = await hungListener(t);
  // A 4 s deadline, not the default 10 s: start-up asks the hung endpoint first and fails over
  // at the deadline (6 s of this file's time saved), and a /v1/status probe that waited for the
  // hung one would still take 4 s (min(deadline, 5 s)), past the 2.5 s the probes are held to.
  const env = kesEnv([good], { extra: { S3_KMS_KES_TIMEOUT: '4' } });
  env.S3_KMS_KES_ENDPOINT = `${hung},${good.url}`;
  const d = await startDaemonFor(t, { env });
  await waitReady(d.endpoint, 200, 60_000);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(1200); // past the readiness memo
    const started = Date.now();
    t.equal(await readyStatus(d.endpoint), 200, `probe ${i + 1}: ready`);
    times.push(Date.now() - started);
  }
  t.ok(Math.max(...times) < 2500, `each probe answered in under 2.5 s (${times.join(', ')} ms; was 10.5 s)`);
});
