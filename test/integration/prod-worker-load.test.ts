// A crypto worker that cannot load its module while the daemon serves: the MD5 lanes (one thread
// each) start on demand, at the first upload that needs one, so they load dist/workers/crypto.js
// long after start-up, from whatever the installation holds then (a build or an upgrade in place
// that removed or replaced it). Piscina reports a worker that fails outside a task with an 'error'
// event on its pool; without a listener that event ended the daemon, every request in flight cut.

import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_KEY, ROOT, SECRET_KEY, nodeChild, startDaemonFor } from '../helpers/daemon.js';
import { createBucket } from '../helpers/s3.js';
import { ssec } from '../helpers/sse.js';
import { sleep } from '../helpers/wait.js';

/** A copy of the build the test may change under the daemon (the project's own stays as it is). */
function copyOfBuild(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 's3d-build-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const sub of ['daemon', 'workers', 'native']) cpSync(join(ROOT, 'dist', sub), join(dir, 'dist', sub), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

t.test('an MD5 lane whose worker cannot load fails its upload; the daemon serves on', async (t) => {
  const build = copyOfBuild(t);
  // One seal/open worker (so one MD5 lane at most); TLS for SSE-C.
  const d = await startDaemonFor(t, { main: join(build, 'dist/daemon/main.js'), tls: true, env: { S3_CRYPTO_WORKERS: '1' } });
  const s3 = d.s3();
  const Bucket = await createBucket(s3, 'worker-load');
  const Body = Buffer.alloc(1024 * 1024, 7);
  // Sealed on the seal/open worker, which has loaded by the end of it (an SSE-C ETag is no MD5:
  // no lane yet). Only the lane's worker then meets the missing module.
  await s3.send(new PutObjectCommand({ Bucket, Key: 'sealed', Body, ...ssec(randomBytes(32)) }));
  const entry = join(build, 'dist/workers/crypto.js');
  renameSync(entry, `${entry}.away`);
  // 1 MiB, unencrypted: stored in a file, its MD5 ETag computed on a hashing lane, started now.
  const failed = await s3.send(new PutObjectCommand({ Bucket, Key: 'big', Body })).then(
    () => undefined,
    (err: { $metadata?: { httpStatusCode?: number }; name?: string }) => err,
  );
  t.equal(failed?.$metadata?.httpStatusCode, 500, 'the upload whose ETag could not be computed failed (500)');
  // Piscina emits its 'error' event after the task's rejection: give it the time to.
  await sleep(500);
  t.equal(d.proc.exitCode, null, 'the daemon is still running');
  t.equal(d.proc.signalCode, null, 'not ended by a signal');
  await s3.send(new HeadBucketCommand({ Bucket }));
  const failures = d.jsonLogs().filter((l) => l.level === 50 && String(l.msg).includes('crypto worker failed'));
  t.ok(failures.length > 0 && failures.every((l) => l.pool === 'md5'), 'the lane\'s failure is logged at error level');
  // The module back, the next upload starts a new lane and is stored as usual.
  renameSync(`${entry}.away`, entry);
  const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'big', Body }));
  t.equal(put.ETag, `"${createHash('md5').update(Body).digest('hex')}"`, 'stored with its MD5 ETag once the worker loads again');
  const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'big' }));
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(Body), 'read back whole');
});

/** How a request ended: its HTTP status, or that the client gave up waiting (`hung`). */
async function outcome(p: Promise<unknown>): Promise<number | 'hung'> {
  return p.then(
    () => 200,
    (err: { $metadata?: { httpStatusCode?: number }; name?: string }) => (err.name === 'AbortError' ? 'hung' : (err.$metadata?.httpStatusCode ?? -1)),
  );
}

// The seal/open workers (started with the daemon, which serves while they load) cannot load their
// module: Piscina starts one replacement, which fails too, and then none until a task comes. Each
// task then starts a worker that fails as it loads, before it took the task: the task stayed in
// Piscina's queue (its request hung until the next one came, for ever if none did) and the
// shutdown waited for it with no limit (systemd's SIGKILL).
t.test('seal/open workers that cannot load their module: requests fail in bounded time, and work once the module is back', async (t) => {
  const build = copyOfBuild(t);
  const entry = join(build, 'dist/workers/crypto.js');
  renameSync(entry, `${entry}.away`);
  const d = await startDaemonFor(t, { main: join(build, 'dist/daemon/main.js'), tls: true, env: { S3_CRYPTO_WORKERS: '1', S3_SHUTDOWN_TIMEOUT: '2' } });
  await d.waitForLog((l) => l.level === 50 && String(l.msg).includes('crypto worker failed') && l.pool === 'crypto', 20_000);
  const s3 = d.s3();
  const Bucket = await createBucket(s3, 'worker-load');
  const Body = Buffer.alloc(1024 * 1024, 7);
  const key = randomBytes(32);
  // SSE-C: sealed on the seal/open workers. The client would retry a 500: it gets 15 s in all.
  for (const Key of ['first', 'second']) {
    const status = await outcome(s3.send(new PutObjectCommand({ Bucket, Key, Body, ...ssec(key) }), { abortSignal: AbortSignal.timeout(15_000) }));
    t.equal(status, 500, `an upload while no worker can load fails with 500, not hangs (${Key})`);
  }
  const why = d.jsonLogs().find((l) => l.level === 50 && String(l.msg).startsWith('internal error'));
  t.match((why?.err as { message?: string } | undefined)?.message, /no crypto worker could run the task/, 'the failed request is logged at error level, saying why');
  t.equal(d.proc.exitCode, null, 'the daemon is still running');
  // The module back (the upgrade finished): the next upload starts a worker that loads.
  renameSync(`${entry}.away`, entry);
  await s3.send(new PutObjectCommand({ Bucket, Key: 'third', Body, ...ssec(key) }), { abortSignal: AbortSignal.timeout(15_000) });
  const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'third', ...ssec(key) }), { abortSignal: AbortSignal.timeout(15_000) });
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(Body), 'stored and read back once the workers load again');
  const started = performance.now();
  t.equal(await d.stop(), 0, 'a clean stop');
  t.ok(performance.now() - started < 20_000, 'in bounded time');
});

// A worker module whose load never ends (a read from a stalled filesystem): the daemon listened
// and said it was ready while the workers loaded, and every request that needed one waited for
// ever, with nothing in the log. Start-up now waits for a seal/open round trip on the workers, at
// most 30 s, and fails saying why.
t.test('a crypto worker module that never finishes loading: start-up fails within its bound, saying why', async (t) => {
  const build = copyOfBuild(t);
  const entry = join(build, 'dist/workers/crypto.js');
  // Blocks the worker's thread inside its module's load, as a stalled read would (without CPU).
  writeFileSync(entry, `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);\n${readFileSync(entry, 'utf8')}`);
  const dataDir = mkdtempSync(join(tmpdir(), 's3d-test-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { PATH: process.env.PATH, S3_ROOT_USER: ACCESS_KEY, S3_ROOT_PASSWORD: SECRET_KEY, S3_ADDRESS: '127.0.0.1:0', S3_CRYPTO_WORKERS: '1' };
  const started = performance.now();
  const run = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(...nodeChild([join(build, 'dist/daemon/main.js'), 'server', dataDir], env), { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
    p.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const took = performance.now() - started;
  t.notMatch(run.stdout, /"msg":"listening"/, 'it never listened');
  t.match(run.stderr, /s3d: start-up failed: the crypto workers did not run a task within 30 s of start-up: their module \(dist\/workers\/crypto\.js\) does not finish loading/, 'stderr says why');
  t.match(run.stdout, /"level":60.*crypto workers did not run a task/, 'and so does the log');
  t.equal(run.code, 1, `it exits 1 (signal ${run.signal})`);
  t.ok(took > 29_000 && took < 75_000, `after its bound, not never (${Math.round(took)} ms)`);
});
