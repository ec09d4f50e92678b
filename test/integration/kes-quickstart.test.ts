// docs/kms.md Quick Start, as a user runs it: `node dist/test/fixtures/kes-server/cli.js DIR`
// (what `npm run kes:dev -- DIR` runs after building) writes root.key/root.cert/ca.crt, then the
// daemon runs against it with exactly those files and S3_KMS_KES_KEY_NAME (created on first use),
// auto-encryption on; bucket encryption; head-object shows the encryption (aws CLI when
// installed); both restarted → the objects still read (the dev server keeps its PKI and keys in DIR).

import t from 'tap';
import type { Test } from 'tap';
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, ROOT, SECRET_KEY, nodeChild, startDaemon, testBytes } from '../helpers/daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';
import { waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { waitForLog } from '../helpers/wait.js';
import { NO_AWS, runAwsText } from '../helpers/aws-cli.js';

const CLI = join(ROOT, 'dist/test/fixtures/kes-server/cli.js');
const run = promisify(execFile);

interface DevServer {
  proc: ChildProcess;
  endpoint: string;
  output: string;
  stop(): Promise<void>;
}

/** Start the kes:dev CLI on a free port (KES_DEV_PORT=0; the docs' default is 7373). */
async function devServer(t: Test, dir: string): Promise<DevServer> {
  const proc = spawn(...nodeChild([CLI, dir]), { env: { ...process.env, KES_DEV_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kes:dev did not start:\n${output}`)), 20_000);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /export S3_KMS_KES_ENDPOINT=(\S+)/.exec(output);
      if (m && output.includes('S3_KMS_KES_KEY_NAME')) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kes:dev exited with ${code}:\n${output}`));
    });
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  };
  t.teardown(stop);
  return { proc, endpoint, output, stop };
}

/** The variables the Quick Start exports: the printed ones, with the files the CLI wrote. */
function quickStartEnv(dev: DevServer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of dev.output.matchAll(/^export (S3_KMS_KES_\w+)=(\S+)$/gm)) env[m[1]!] = m[2]!;
  return env;
}


t.test('Quick Start: kes:dev DIR, then s3d with the files it wrote', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-kes-dev-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dev = await devServer(t, dir);
  t.match(dev.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
  const env = quickStartEnv(dev);
  t.same(env, {
    S3_KMS_KES_ENDPOINT: dev.endpoint,
    S3_KMS_KES_KEY_FILE: join(dir, 'root.key'),
    S3_KMS_KES_CERT_FILE: join(dir, 'root.cert'),
    S3_KMS_KES_CAPATH: join(dir, 'ca.crt'),
    S3_KMS_KES_KEY_NAME: 's3d-default-key',
  }, 'the printed exports name the files in DIR');
  t.equal(statSync(join(dir, 'root.key')).mode & 0o777, 0o600, 'root.key is private');

  let d: TestDaemon = await startDaemon({ env: { ...env, S3_KMS_AUTO_ENCRYPTION: 'on' } });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  await waitReady(d.endpoint);
  // pino writes asynchronously: the line may reach the log pipe just after the daemon answers.
  const created = await waitForLog(d.logs, (l) => l.msg === 'created the default KES key' && l.key === 's3d-default-key', 10_000).then(
    () => true,
    () => false,
  );
  t.ok(created, 'default key created at start-up');
  let s3 = wideS3Client(d);
  const bucket = await createBucket(s3, 'docs');
  const body = testBytes(20_000, 11);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'auto.txt', Body: body }));
  t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'auto.txt' })), { ServerSideEncryption: 'AES256' }, 'auto-encryption: SSE-S3 without any header');

  await s3.send(new PutBucketEncryptionCommand({
    Bucket: bucket,
    ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 's3d-default-key' } }] },
  }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bucket.txt', Body: body }));
  t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bucket.txt' })), { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:s3d-default-key' }, 'bucket default: SSE-KMS');

  if (NO_AWS === false) {
    const awsEnv = { PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
    const head = await runAwsText(['--endpoint-url', d.endpoint, 's3api', 'head-object', '--bucket', bucket, '--key', 'auto.txt'], { env: awsEnv, timeout: 60_000 });
    t.equal(head.code, 0, `aws s3api head-object exits 0${head.code === 0 ? '' : `: ${head.stderr}`}`);
    t.match(JSON.parse(head.stdout), { ServerSideEncryption: 'AES256', ContentLength: body.length }, 'aws s3api head-object shows "ServerSideEncryption": "AES256"');
  } else {
    t.comment('aws CLI not installed: head-object checked through the SDK only');
  }

  // Both restarted: the dev server reuses DIR's PKI and keys, s3d its data dir.
  const dataDir = d.dataDir;
  await d.stop();
  await dev.stop();
  const dev2 = await devServer(t, dir);
  d = await startDaemon({ env: { ...quickStartEnv(dev2), S3_KMS_AUTO_ENCRYPTION: 'on' }, dataDir });
  await waitReady(d.endpoint);
  s3 = wideS3Client(d);
  for (const key of ['auto.txt', 'bucket.txt']) {
    t.ok((await getBytes(s3, { Bucket: bucket, Key: key })).equals(body), `${key} reads after restarting both`);
  }
});

t.test('kes:dev takes no option for a directory: --help prints the usage, anything else starting with - is refused', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 's3d-kesdev-args-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  const help = await run(process.execPath, [CLI, '--help'], { cwd, timeout: 15_000 });
  t.match(help.stdout, /^usage: npm run kes:dev -- DIR/, '--help: the usage on stdout, exit 0');
  const bad = await run(process.execPath, [CLI, '--port', '7000'], { cwd, timeout: 15_000 }).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code?: number; stderr?: string }) => ({ code: err.code, stderr: err.stderr ?? '' }),
  );
  t.equal(bad.code, 2, 'an option: exit 2');
  t.match(bad.stderr, /^usage:/, 'with the usage');
  t.throws(() => statSync(join(cwd, '--port')), { code: 'ENOENT' }, 'and no directory named after it');
});
