// Out of file descriptors: the running daemon's RLIMIT_NOFILE is lowered (prlimit) to what it
// holds, plus one, so an upload opens its data file and finds nothing left for the rest (the
// directory sync, a hashing thread). The upload is answered 503 SlowDown (a shortage that passes,
// which clients retry after backing off; it was a 500), and so is a GET that cannot open its
// object's data file; the shortage is logged once, naming the limit. The daemon stays up (a hashing
// lane whose thread failed to start emitted an unhandled 'error' and ended the process), and once
// descriptors are free again the same upload succeeds and reads back. A shortage that ended after
// its line still has its count told: by a line when its 10 s are up, or at shutdown.

import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { errorCode, signedHeaders } from '../helpers/http.js';
import { sleep } from '../helpers/wait.js';
import { prlimitMissing } from '../helpers/proc.js';

const MiB = 1024 * 1024;


/** Sets the soft RLIMIT_NOFILE of `pid` (the hard limit stays, so it can be raised again). */
function setSoftNofile(pid: number, soft: number | 'unlimited'): void {
  const hard = execFileSync('prlimit', ['--pid', String(pid), '--nofile', '--output=HARD', '--noheadings'], { encoding: 'utf8' }).trim();
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${soft === 'unlimited' ? hard : soft}:${hard}`]);
}

/** One signed request on `agent`'s connection: 'ok', the error code and status, or how the connection failed. */
function signed(agent: Agent, port: number, method: string, path: string, body?: Buffer): Promise<string> {
  const h = signedHeaders(port, { method, path });
  if (body !== undefined) h['content-length'] = String(body.length);
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: h, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(res.statusCode! < 300 ? `ok:${Buffer.concat(chunks).length}` : `${errorCode(Buffer.concat(chunks)) ?? '-'}/${res.statusCode}`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`connection ${err.code ?? err.message}`));
    req.end(body);
  });
}

/** A daemon and one kept-alive connection to it (opened before the descriptors run out), both ended with the test. */
async function daemonWithOneConnection(t: Test): Promise<{ d: TestDaemon; agent: Agent }> {
  const d = await startDaemon({ env: { S3_CRYPTO_WORKERS: '2', S3_LOG_LEVEL: 'info' } });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  return { d, agent };
}

t.test('an upload that runs out of descriptors is answered, and the daemon serves on once they are free', { skip: prlimitMissing() }, async (t) => {
  const { d, agent } = await daemonWithOneConnection(t);
  t.equal(await signed(agent, d.port, 'PUT', '/fds'), 'ok:0', 'bucket created');
  const body = testBytes(3 * MiB, 5);

  const held = readdirSync(`/proc/${d.proc.pid}/fd`).length;
  setSoftNofile(d.proc.pid!, held + 1);
  const refused = await signed(agent, d.port, 'PUT', '/fds/k', body);
  // A shortage that passes: S3's retryable 503 SlowDown, which SDKs back off from, not a 500.
  t.equal(refused, 'SlowDown/503', 'the upload is answered 503 SlowDown');
  // A thread that failed to start is reported asynchronously: give it time to end the process.
  await sleep(1500);
  if (d.proc.exitCode !== null) console.error(d.logs.slice(-15).join('\n'));
  t.equal(d.proc.exitCode, null, 'the daemon is still running');
  t.equal(d.proc.signalCode, null, 'the daemon was not killed by a signal');

  setSoftNofile(d.proc.pid!, 'unlimited');
  const agent2 = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent2.destroy());
  t.equal(await signed(agent2, d.port, 'PUT', '/fds/k', body), 'ok:0', 'the same upload succeeds once descriptors are free');
  t.equal(await signed(agent2, d.port, 'GET', '/fds/k'), `ok:${body.length}`, 'and reads back whole');
  t.equal(await signed(agent2, d.port, 'PUT', '/fds/k2', body), 'ok:0', 'a second upload (a second hashing stream) succeeds too');
});

t.test('a GET that cannot open its data file is answered 503 SlowDown, and the log says why', { skip: prlimitMissing() }, async (t) => {
  const { d, agent } = await daemonWithOneConnection(t);
  t.equal(await signed(agent, d.port, 'PUT', '/fdg'), 'ok:0', 'bucket created');
  const body = testBytes(MiB, 6);
  t.equal(await signed(agent, d.port, 'PUT', '/fdg/k', body), 'ok:0', 'an object in a data file (over the inline threshold)');

  // The lowest free descriptor number as the limit: the kernel hands out the lowest free number,
  // so with gaps below the highest, a limit of the count alone would still admit an open.
  const open = new Set(readdirSync(`/proc/${d.proc.pid}/fd`).map(Number));
  let lowestFree = 0;
  while (open.has(lowestFree)) lowestFree++;
  setSoftNofile(d.proc.pid!, lowestFree);
  const refused = await signed(agent, d.port, 'GET', '/fdg/k');
  const again = await signed(agent, d.port, 'GET', '/fdg/k');
  setSoftNofile(d.proc.pid!, 'unlimited');
  t.equal(refused, 'SlowDown/503', 'the GET is answered 503 SlowDown');
  t.equal(again, 'SlowDown/503', 'and so is the next one');
  const lines = d.logs.filter((l) => l.includes('out of file descriptors'));
  t.equal(lines.length, 1, `the shortage is logged once for both (${lines.length})`);
  t.match(lines[0] ?? '', /"code":"EMFILE"/, 'naming the error');
  t.match(lines[0] ?? '', /LimitNOFILE/, 'and what to raise');
  t.match(lines[0] ?? '', /"failedRequests":1[,}]/, 'counting the requests it stands for (the next line: those since)');
  t.equal(await signed(agent, d.port, 'GET', '/fdg/k'), `ok:${body.length}`, 'once descriptors are free it reads back whole');
  // The shortage is over, so no next line would ever tell the second GET: the shutdown does.
  t.equal(await d.stop(), 0, 'SIGTERM: a clean stop');
  const told = d.jsonLogs().filter((l) => String(l.msg).startsWith('out of file descriptors'));
  t.equal(told.length, 2, `at shutdown a second line tells what the first did not (${told.length})`);
  t.equal(told[1]?.failedRequests, 1, 'the second GET: failedRequests 1');
  t.equal(told[1]?.code, 'EMFILE', 'naming the error as the first');
});
