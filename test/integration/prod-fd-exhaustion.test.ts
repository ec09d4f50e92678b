// Out of file descriptors: the running daemon's RLIMIT_NOFILE is lowered (prlimit) to what it
// holds, plus one, so an upload opens its data file and finds nothing left for the rest (the
// directory sync, a hashing thread). The upload is answered (500), the daemon stays up (a hashing
// lane whose thread failed to start emitted an unhandled 'error' and ended the process), and once
// descriptors are free again the same upload succeeds and reads back.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { startDaemon, testBytes } from '../helpers/daemon.js';
import { errorCode, signedHeaders } from '../helpers/http.js';
import { sleep } from '../helpers/wait.js';

const MiB = 1024 * 1024;

function prlimitMissing(): false | string {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'pipe' });
    return false;
  } catch {
    return 'no prlimit program (util-linux)';
  }
}

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

t.test('an upload that runs out of descriptors is answered, and the daemon serves on once they are free', { skip: prlimitMissing() }, async (t) => {
  const d = await startDaemon({ env: { S3_CRYPTO_WORKERS: '2', S3_LOG_LEVEL: 'info' } });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  // One kept-alive connection, opened before the descriptors run out.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  t.equal(await signed(agent, d.port, 'PUT', '/fds'), 'ok:0', 'bucket created');
  const body = testBytes(3 * MiB, 5);

  const held = readdirSync(`/proc/${d.proc.pid}/fd`).length;
  setSoftNofile(d.proc.pid!, held + 1);
  const refused = await signed(agent, d.port, 'PUT', '/fds/k', body);
  t.match(refused, /\/50[03]$/, `the upload is answered with an error (${refused})`);
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
