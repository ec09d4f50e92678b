// The aws CLI driver (test/helpers/aws-cli-driver.ts, test/fixtures/aws-cli/driver.py) against the
// real `aws` executable it stands in for: the same exit status, stdout (binary included) and
// stderr for successes, service errors and usage errors; stdin; the working directory; nothing of
// one command's environment or options left for the next; commands side by side; the timeout;
// and no driver process left once the test process that started it has ended, however it ended.
// Both run here whatever S3D_TEST_AWS_PROCESS says.

import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, REGION, SECRET_KEY, startDaemon, testBytes } from '../helpers/daemon.js';
import { AWS_BIN, AWS_DRIVER_USABLE, AWS_VERSION, NO_AWS, awsCliDriver, runAwsProcess, type AwsOutput, type AwsRunOptions } from '../helpers/aws-cli.js';
import { childrenOf } from '../helpers/proc.js';
import { ROOT } from '../helpers/root.js';
import { bodyBytes, createBucket } from '../helpers/s3.js';
import { sleep } from '../helpers/wait.js';

// The driver is tested even where S3D_TEST_AWS_PROCESS=1 keeps the other tests off it.
const NO_DRIVER: false | string = NO_AWS || (AWS_DRIVER_USABLE ? false : 'aws is no Python script: the tests run it as a process');

const d = await startDaemon();
const s3 = d.s3();
const work = mkdtempSync(join(tmpdir(), 's3d-aws-driver-'));
t.teardown(async () => {
  await d.stop();
  d.cleanup();
  rmSync(work, { recursive: true, force: true });
});

writeFileSync(join(work, 'path-style'), '[default]\ns3 =\n    addressing_style = path\n');
const baseEnv = {
  PATH: process.env.PATH,
  HOME: work,
  AWS_ACCESS_KEY_ID: ACCESS_KEY,
  AWS_SECRET_ACCESS_KEY: SECRET_KEY,
  AWS_DEFAULT_REGION: REGION,
  AWS_CONFIG_FILE: join(work, 'path-style'),
  AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
};

/** Runs `aws ARGS` through the driver (whatever S3D_TEST_AWS_PROCESS says). */
function viaDriver(args: string[], opts: AwsRunOptions): Promise<AwsOutput> {
  const input = typeof opts.input === 'string' ? Buffer.from(opts.input) : opts.input;
  return awsCliDriver(opts.env).run({ args, env: opts.env, cwd: opts.cwd ?? process.cwd(), input, timeoutMs: opts.timeout });
}

/** The outcome as compared: status, signal, stdout and stderr. */
function seen(r: AwsOutput): { code: number | null; signal: string | null; stdout: string; stderr: string } {
  return { code: r.code, signal: r.signal, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1') };
}

// Before the first t.test: a top-level await between two subtests lets tap end the root test
// when it outlasts the subtest before it.
const hangSockets: Socket[] = [];
const hangServer = createServer((s) => void hangSockets.push(s));
await new Promise<void>((resolve) => hangServer.listen(0, '127.0.0.1', resolve));
const hungUrl = `http://127.0.0.1:${(hangServer.address() as { port: number }).port}`;
t.teardown(() => {
  for (const s of hangSockets) s.destroy();
  hangServer.close();
});

t.test('the aws executable runs: --version and a request', { skip: NO_AWS }, async (t) => {
  const version = await runAwsProcess(['--version'], { env: { PATH: process.env.PATH } });
  t.equal(version.code, 0, `${AWS_BIN} --version exits 0`);
  t.equal(version.stdout.toString().trim(), AWS_VERSION, 'and prints the version the suite reports');
  const bucket = await createBucket(s3, 'awsexe');
  const put = await runAwsProcess(['--endpoint-url', d.endpoint, 's3api', 'put-object', '--bucket', bucket, '--key', 'k', '--body', join(work, 'path-style')], { env: baseEnv });
  t.equal(put.code, 0, `aws s3api put-object exits 0${put.code === 0 ? '' : `: ${put.stderr.toString()}`}`);
  t.match(JSON.parse(put.stdout.toString()), { ETag: /^"[0-9a-f]{32}"$/ }, 'and prints the ETag');
});

t.test('the driver gives what the executable gives', { skip: NO_DRIVER }, async (t) => {
  const bucket = await createBucket(s3, 'awsdrv');
  const binary = testBytes(300_000, 7);
  for (let i = 0; i < 256; i++) binary[i] = i; // every byte value, \r\n and NUL included
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bin', Body: binary }));
  const cases: Array<[string, string[]]> = [
    ['--version', ['--version']],
    ['a JSON answer', ['s3api', 'head-object', '--bucket', bucket, '--key', 'bin']],
    ['binary stdout (s3 cp … -)', ['s3', 'cp', `s3://${bucket}/bin`, '-']],
    ['a service error in s3api', ['s3api', 'get-object-tagging', '--bucket', bucket, '--key', 'missing']],
    ['a failed s3 transfer', ['s3', 'cp', `s3://${bucket}/missing`, join(work, 'never')]],
    ['an unknown command', ['no-such-command']],
    ['a missing argument', ['s3api', 'get-object', '--bucket', bucket]],
    ['an unknown option', ['s3', 'ls', '--no-such-option']],
  ];
  for (const [what, args] of cases) {
    const full = ['--endpoint-url', d.endpoint, ...args];
    const real = await runAwsProcess(full, { env: baseEnv });
    const driven = await viaDriver(full, { env: baseEnv });
    t.same(seen(driven), seen(real), `${what}: exit ${real.code} and the same stdout and stderr`);
  }
  const got = await viaDriver(['--endpoint-url', d.endpoint, 's3', 'cp', `s3://${bucket}/bin`, '-'], { env: baseEnv });
  t.ok(got.stdout.equals(binary), 'the binary object, byte for byte, on stdout');
  const usage = await viaDriver(['s3api', 'get-object', '--bucket', bucket], { env: baseEnv });
  t.equal(usage.code, 2, 'a usage error exits 2 (argparse, aws v1)');
  t.match(usage.stderr.toString(), /aws: error: the following arguments are required: --key, outfile/, 'and says why on stderr');
  t.equal(usage.stdout.length, 0, 'with nothing on stdout');
  const missing = await viaDriver(['--endpoint-url', d.endpoint, 's3api', 'get-object-tagging', '--bucket', bucket, '--key', 'missing'], { env: baseEnv });
  t.equal(missing.code, 255, 'a service error exits 255 (aws v1)');
  t.match(missing.stderr.toString(), /An error occurred \(NoSuchKey\) when calling the GetObjectTagging operation/, 'naming the S3 error');
});

t.test('stdin and the working directory', { skip: NO_DRIVER }, async (t) => {
  const bucket = await createBucket(s3, 'awsin');
  const body = testBytes(70_000, 3);
  const up = await viaDriver(['--endpoint-url', d.endpoint, 's3', 'cp', '-', `s3://${bucket}/piped`], { env: baseEnv, input: body });
  t.equal(up.code, 0, `s3 cp - s3://… exits 0${up.code === 0 ? '' : `: ${up.stderr.toString()}`}`);
  t.ok((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'piped' })))).equals(body), 'and stores what stdin carried');
  const dir = mkdtempSync(join(work, 'cwd-'));
  writeFileSync(join(dir, 'relative.txt'), 'found relative to the working directory\n');
  const rel = await viaDriver(['--endpoint-url', d.endpoint, 's3', 'cp', 'relative.txt', `s3://${bucket}/rel`], { env: baseEnv, cwd: dir });
  t.equal(rel.code, 0, `a relative path is read from cwd${rel.code === 0 ? '' : `: ${rel.stderr.toString()}`}`);
  t.equal((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'rel' })))).toString(), 'found relative to the working directory\n', 'the file from cwd');
});

t.test('nothing of one command is left for the next', { skip: NO_DRIVER }, async (t) => {
  const regionConfig = join(work, 'region-config');
  writeFileSync(regionConfig, '[default]\nregion = eu-west-9\noutput = text\n');
  const plainConfig = join(work, 'plain-config');
  writeFileSync(plainConfig, '[default]\n');
  const noRegion = { PATH: process.env.PATH, HOME: work, AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'), AWS_EC2_METADATA_DISABLED: 'true' };
  const a = await viaDriver(['configure', 'get', 'region'], { env: { ...noRegion, AWS_CONFIG_FILE: regionConfig } });
  t.same([a.code, a.stdout.toString()], [0, 'eu-west-9\n'], 'the region from the first command\u2019s AWS_CONFIG_FILE');
  const b = await viaDriver(['configure', 'get', 'region'], { env: { ...noRegion, AWS_CONFIG_FILE: plainConfig } });
  t.same([b.code, b.stdout.toString()], [1, ''], 'the next command, with another AWS_CONFIG_FILE, has no region');
  const withKey = await viaDriver(['configure', 'list'], { env: { ...noRegion, AWS_CONFIG_FILE: plainConfig, AWS_ACCESS_KEY_ID: 'AKIAFIRSTCOMMAND', AWS_SECRET_ACCESS_KEY: 'x' } });
  t.match(withKey.stdout.toString(), /access_key\s+\*+MAND\s+env/, 'credentials from the environment');
  const withoutKey = await viaDriver(['configure', 'list'], { env: { ...noRegion, AWS_CONFIG_FILE: plainConfig } });
  t.match(withoutKey.stdout.toString(), /access_key\s+<not set>/, 'are gone for the next command');
  const debug = await viaDriver(['--debug', '--endpoint-url', d.endpoint, 's3api', 'list-buckets'], { env: baseEnv });
  t.match(debug.stderr.toString(), / - botocore\.\w+ - DEBUG - /, '--debug logs to stderr');
  const quiet = await viaDriver(['--endpoint-url', d.endpoint, 's3api', 'list-buckets'], { env: baseEnv });
  t.same([quiet.code, quiet.stderr.toString()], [0, ''], 'the next command logs nothing');
});

t.test('commands side by side, and the timeout', { skip: NO_DRIVER }, async (t) => {
  const bucket = await createBucket(s3, 'awspar');
  const bodies = [0, 1, 2, 3, 4].map((i) => testBytes(10_000 + i * 50_000, i + 11));
  await Promise.all(bodies.map((body, i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `k${i}`, Body: body }))));
  const got = await Promise.all(bodies.map((_, i) => viaDriver(['--endpoint-url', d.endpoint, 's3', 'cp', `s3://${bucket}/k${i}`, '-'], { env: baseEnv })));
  t.same(got.map((r) => r.code), [0, 0, 0, 0, 0], 'five at once all exit 0');
  t.ok(got.every((r, i) => r.stdout.equals(bodies[i]!)), 'each with its own object on stdout');

  // An endpoint that takes the connection and never answers.
  const sockets: Socket[] = [];
  const silent = createServer((s) => void sockets.push(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  const started = Date.now();
  const hung = await viaDriver(['--endpoint-url', url, 's3', 'ls'], { env: baseEnv, timeout: 1500 });
  t.same([hung.code, hung.signal], [null, 'SIGTERM'], 'a command past its timeout is ended by SIGTERM, as execFile ends it');
  t.ok(Date.now() - started < 10_000, 'soon after the timeout');
});

/** A Node process that imports the helpers, runs `aws --version` and prints the driver's pid, then `then`. */
function helperProcess(then: 'exit' | 'wait-hung'): { pid: Promise<number>; exited: Promise<number | null>; kill(): void } {
  const helpers = pathToFileURL(join(ROOT, 'dist/test/helpers/aws-cli.js')).href;
  const script = `
    import { awsCliDriver, runAws } from ${JSON.stringify(helpers)};
    const env = { PATH: process.env.PATH, HOME: ${JSON.stringify(work)} };
    await runAws(['--version'], { env });
    console.log(awsCliDriver(env).pid);
    if (${JSON.stringify(then)} === 'wait-hung') {
      runAws(['--endpoint-url', process.argv[1], 's3', 'ls'], { env: { ...env, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_DEFAULT_REGION: 'us-east-1' } });
      setInterval(() => {}, 1000);
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, hungUrl], { env: { ...process.env, S3D_TEST_AWS_PROCESS: '' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return {
    pid: new Promise((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      child.on('exit', () => (out.includes('\n') ? undefined : reject(new Error(`the helper process exited before printing a pid: ${out}`))));
    }),
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    kill: () => void child.kill('SIGKILL'),
  };
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await sleep(50);
  return !existsSync(`/proc/${pid}`);
}

t.test('no driver outlives the test process', { skip: NO_DRIVER }, async (t) => {
  const ending = helperProcess('exit');
  const pid = await ending.pid;
  t.ok(pid > 0, `the driver ran (pid ${pid})`);
  t.equal(await ending.exited, 0, 'a test process with an idle driver exits by itself');
  t.ok(await gone(pid), 'and its driver is gone');

  const killed = helperProcess('wait-hung');
  const pid2 = await killed.pid;
  let forks: number[] = [];
  for (let i = 0; i < 100 && forks.length === 0; i++, await sleep(50)) forks = existsSync(`/proc/${pid2}`) ? childrenOf(pid2) : [];
  t.equal(forks.length, 1, 'a command is running in a fork of the driver');
  killed.kill();
  await killed.exited;
  t.ok(await gone(pid2), 'a test process killed with SIGKILL: its driver exits (its stdin closed)');
  t.ok((await Promise.all(forks.map(gone))).every(Boolean), 'and takes the running command with it');
});
