// Secrets from files (S3_ROOT_PASSWORD_FILE and the other S3_*_FILE twins, secret-files.ts): the
// way systemd's LoadCredential= and Docker secrets hand a service its secrets, so that they are
// not in the process's environment (/proc/PID/environ, and the COREDUMP_ENVIRON field
// systemd-coredump writes into the journal when a process crashes).

import t from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, TEST_KMS_SECRET, runS3d, startDaemonFor } from '../helpers/daemon.js';
import { createBucket } from '../helpers/s3.js';

const scratch = mkdtempSync(join(tmpdir(), 's3d-secret-files-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
const KMS_KEY_BYTES = TEST_KMS_SECRET.split(':')[1]!;

/** A file holding `content`, with `mode`. */
function secretFile(name: string, content: string, mode = 0o600): string {
  const p = join(scratch, name);
  writeFileSync(p, content, { mode });
  chmodSync(p, mode);
  return p;
}

t.test('the root credentials and the KMS key from files: they work, and are not in the environment', async (t) => {
  const env = {
    S3_ROOT_USER: undefined,
    S3_ROOT_PASSWORD: undefined,
    // `echo secret > file` ends the file with a line end: it is not part of the secret.
    S3_ROOT_USER_FILE: secretFile('user', `${ACCESS_KEY}\n`),
    S3_ROOT_PASSWORD_FILE: secretFile('password', `${SECRET_KEY}\r\n`),
    S3_KMS_SECRET_KEY: undefined,
    S3_KMS_SECRET_KEY_FILE: secretFile('kms', `${TEST_KMS_SECRET}\n`, 0o400),
  };
  const d = await startDaemonFor(t, { env });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'secretfiles');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'sealed under the key from a file', ServerSideEncryption: 'AES256' }));
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));
  t.equal(got.ServerSideEncryption, 'AES256');
  t.equal(await got.Body!.transformToString(), 'sealed under the key from a file', 'signed with the password from the file; sealed and opened with the KMS key from its file');

  const environ = readFileSync(`/proc/${d.proc.pid}/environ`, 'utf8');
  t.notOk(environ.includes(SECRET_KEY), 'the root password is not in /proc/PID/environ');
  t.notOk(environ.includes(KMS_KEY_BYTES), 'nor the KMS key');
  t.match(environ, /S3_ROOT_PASSWORD_FILE=/, 'only the name of its file');
  t.notOk(d.logs.some((l) => l.includes('may read')), 'files only the service user reads: no warning');
  t.notOk(d.logs.some((l) => l.includes(SECRET_KEY) || l.includes(KMS_KEY_BYTES)), 'no secret in the log');

  // s3d verify reads the same files: it opens the SSE-S3 object with the key from the file.
  await d.stop();
  const verify = await runS3d(['verify', d.dataDir, '--deep'], { S3_KMS_SECRET_KEY_FILE: env.S3_KMS_SECRET_KEY_FILE }, 60_000);
  t.equal(verify.code, 0, `s3d verify --deep with S3_KMS_SECRET_KEY_FILE: exit 0 (${verify.stdout}${verify.stderr})`);
});

t.test('a secret file every local user may read: a start-up warning naming it', async (t) => {
  const file = secretFile('world-readable', `${SECRET_KEY}\n`, 0o644);
  const d = await startDaemonFor(t, { env: { S3_ROOT_PASSWORD: undefined, S3_ROOT_PASSWORD_FILE: file } });
  const warning = await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('every local user may read'));
  t.match(warning.msg, 'S3_ROOT_PASSWORD_FILE');
  t.match(warning.msg, file);
  t.match(warning.msg, 'mode 644');
  t.equal(warning.level, 40, 'a warning');
});

t.test('a secret file that cannot be used, or set both ways: exit 2 naming it, no secret printed', async (t) => {
  const dataDir = join(scratch, 'data');
  const base = { S3_ADDRESS: '127.0.0.1:0', S3_ROOT_USER: ACCESS_KEY };
  const dir = join(scratch, 'a-directory');
  mkdirSync(dir);
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['both set', { S3_ROOT_PASSWORD: SECRET_KEY, S3_ROOT_PASSWORD_FILE: secretFile('both', SECRET_KEY) }, /S3_ROOT_PASSWORD and S3_ROOT_PASSWORD_FILE are both set/],
    ['missing file', { S3_ROOT_PASSWORD_FILE: join(scratch, 'no-such-file') }, /S3_ROOT_PASSWORD_FILE: cannot read .*no-such-file: ENOENT/],
    ['a directory', { S3_ROOT_PASSWORD_FILE: dir }, /S3_ROOT_PASSWORD_FILE: .*a-directory is not a regular file/],
    ['empty file', { S3_ROOT_PASSWORD_FILE: secretFile('empty', '\n') }, /S3_ROOT_PASSWORD_FILE: .*empty is empty/],
    ['two lines', { S3_ROOT_PASSWORD_FILE: secretFile('two-lines', `${SECRET_KEY}\nsecond-line-secret\n`) }, /holds more than one line/],
    ['empty name', { S3_ROOT_PASSWORD_FILE: ' ' }, /S3_ROOT_PASSWORD_FILE is empty/],
    ['KES key password both ways', { S3_ROOT_PASSWORD: SECRET_KEY, S3_KMS_KES_KEY_PASSWORD: 'kes-pw-secret', S3_KMS_KES_KEY_PASSWORD_FILE: secretFile('kes-pw', 'kes-pw-secret') }, /S3_KMS_KES_KEY_PASSWORD and S3_KMS_KES_KEY_PASSWORD_FILE are both set/],
  ];
  for (const [name, env, message] of cases) {
    const r = await runS3d(['server', dataDir], { ...base, ...env }, 20_000);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.match(r.stderr, message, `${name}: ${r.stderr.trim().split('\n')[0]}`);
    t.match(r.stderr, /^s3d: configuration error: /, `${name}: a configuration error`);
    t.notOk(r.stdout.includes('"listening"'), `${name}: never served`);
    t.notOk((r.stdout + r.stderr).includes(SECRET_KEY) || (r.stdout + r.stderr).includes('second-line-secret') || (r.stdout + r.stderr).includes('kes-pw-secret'), `${name}: no secret printed`);
  }
});

t.test('s3d metrics-token reads the root credentials from files', async (t) => {
  const r = await runS3d(['metrics-token'], { S3_ROOT_USER_FILE: secretFile('mt-user', `${ACCESS_KEY}\n`), S3_ROOT_PASSWORD_FILE: secretFile('mt-password', `${SECRET_KEY}\n`) }, 20_000);
  t.equal(r.code, 0, r.stderr);
  const [, payload] = r.stdout.trim().split('.');
  t.equal(JSON.parse(Buffer.from(payload!, 'base64url').toString()).sub, ACCESS_KEY, 'a token of the root user named in the file');
  const bad = await runS3d(['metrics-token'], { S3_ROOT_USER: ACCESS_KEY, S3_ROOT_PASSWORD_FILE: join(scratch, 'nope') }, 20_000);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^s3d metrics-token: configuration error: S3_ROOT_PASSWORD_FILE: cannot read/);
});
