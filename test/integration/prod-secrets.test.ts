// Secrets stay where they belong (found by a secrets-hygiene audit): the metadata store is private
// to the service user whatever the umask; the long-lived lock child does not inherit the daemon's
// environment (root password, KMS key); a SignatureDoesNotMatch answer does not echo an SSE-C
// key or a session token; configuration errors do not print the KMS key or a webhook URL's token; the log shows a
// webhook endpoint without its path and query.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGION, SECRET_KEY, TEST_KMS_SECRET, runS3d, s3Client, startDaemonFor } from '../helpers/daemon.js';
import { raw, send } from '../helpers/http.js';
import { createBucket } from '../helpers/s3.js';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { allow, doc, startDaemonWithUsers } from '../helpers/users.js';
import { descendantsOf } from '../helpers/proc.js';


t.test('a start under umask 022: the metadata store is private; the lock child has no secrets', async (t) => {
  const old = process.umask(0o022);
  let d;
  try {
    d = await startDaemonFor(t);
  } finally {
    process.umask(old);
  }
  const s3d = join(d.dataDir, '.s3d');
  for (const [path, mode] of [
    [s3d, 0o700],
    [join(s3d, 'meta'), 0o700],
    [join(s3d, 'meta', 'data.mdb'), 0o600],
    [join(s3d, 'meta', 'lock.mdb'), 0o600],
  ] as const) {
    t.equal((statSync(path).mode & 0o777).toString(8), mode.toString(8), `${path.slice(d.dataDir.length)} is ${mode.toString(8)}`);
  }
  // The lock is held by `flock` (and the shell and `cat` under it) for the daemon's whole life.
  const descendants = descendantsOf(d.proc.pid!);
  const lockers = descendants.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('flock') || readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'cat');
  t.ok(lockers.length > 0, 'the lock child runs');
  for (const pid of lockers) {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    t.notOk(environ.includes(SECRET_KEY) || environ.includes('S3_ROOT_PASSWORD'), `child ${pid}: no root password`);
    t.notOk(environ.includes(TEST_KMS_SECRET.split(':')[1]!), `child ${pid}: no KMS key`);
  }
});

t.test('SignatureDoesNotMatch does not echo an SSE-C key', async (t) => {
  const d = await startDaemonFor(t, { tls: false });
  const bucket = await createBucket(d.s3(), 'sigssec');
  const key = Buffer.alloc(32, 9).toString('base64');
  const r = await send(d.port, {
    method: 'PUT',
    path: `/${bucket}/x`,
    secretKey: 'not-the-secret',
    payloadHash: 'UNSIGNED-PAYLOAD',
    headers: {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key,
      'x-amz-server-side-encryption-customer-key-md5': 'aGVsbG8=',
    },
    body: 'x',
  });
  const body = r.body.toString();
  t.match(body, /<Code>SignatureDoesNotMatch<\/Code>/);
  t.match(body, /x-amz-server-side-encryption-customer-key:\*\*\*/, 'the canonical request shows the key as ***');
  t.match(body, /x-amz-server-side-encryption-customer-key-md5:aGVsbG8=/, 'and its MD5 as sent');
  t.notOk(body.includes(key), 'the key is not in the answer');
  t.notOk(body.includes(Buffer.from(key).toString('hex').match(/../g)!.join(' ')), 'nor its bytes (<StringToSignBytes>, <CanonicalRequestBytes>)');
});

t.test('SignatureDoesNotMatch does not echo a session token (header or presigned URL)', async (t) => {
  const user = { accessKey: 'secrets-app', secretKey: 'secrets-app-secret-1', policies: ['app'] };
  const { d } = await startDaemonWithUsers(t, { policies: { app: doc(allow(['s3:GetObject'], ['*'])) }, users: [user] });
  const sts = new STSClient({ endpoint: d.endpoint, region: REGION, credentials: { accessKeyId: user.accessKey, secretAccessKey: user.secretKey }, maxAttempts: 1 });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'secrets' }))).Credentials!;
  const token = c.SessionToken!;
  // Signed with the session's key id and token but a wrong secret: the signature is checked, and fails.
  const header = await raw(d.port, { method: 'GET', path: '/any/x', headers: { 'x-amz-security-token': token }, sign: { accessKeyId: c.AccessKeyId!, secretAccessKey: 'not-the-secret' } });
  const url = await getSignedUrl(s3Client(d.endpoint, d.caCert, true, { credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: 'not-the-secret', sessionToken: token } }), new GetObjectCommand({ Bucket: 'any', Key: 'x' }), { expiresIn: 60 });
  const u = new URL(url);
  const presigned = await raw(d.port, { method: 'GET', path: u.pathname, query: u.search.slice(1), sign: false });
  for (const [what, r] of [['header', header], ['presigned', presigned]] as const) {
    const body = r.body.toString();
    t.match(body, /<Code>SignatureDoesNotMatch<\/Code>/, `${what}: SignatureDoesNotMatch`);
    t.match(body, /<CanonicalRequest>[^<]*x-amz-security-token[:=]\*\*\*/i, `${what}: the canonical request shows the token as ***`);
    t.notOk(body.includes(token.slice(0, 40)) || body.includes(encodeURIComponent(token).slice(0, 40)), `${what}: the token is not in the answer`);
    t.notOk(body.includes(Buffer.from(token.slice(0, 24)).toString('hex').match(/../g)!.join(' ')), `${what}: nor its bytes`);
  }
});

const scratch = mkdtempSync(join(tmpdir(), 's3d-secrets-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

async function start(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const { code, stdout, stderr } = await runS3d(['server', join(scratch, 'data'), '--dev'], { S3_ADDRESS: '127.0.0.1:0', ...env }, 20_000);
  return { code, output: stdout + stderr };
}

t.test('configuration errors do not print secrets', async (t) => {
  const kmsKey = Buffer.alloc(32, 3).toString('base64');
  const swapped = await start({ S3_KMS_SECRET_KEY: `${kmsKey}:s3d-key` });
  t.equal(swapped.code, 2, 'a KMS key with name and key swapped: exit 2');
  t.match(swapped.output, /S3_KMS_SECRET_KEY/, 'naming the variable');
  t.notOk(swapped.output.includes(kmsKey.slice(0, 20)), 'not the key');

  const kes = await start({ S3_KMS_KES_ENDPOINT: 'https://user:kes-url-password@127.0.0.1:7373', S3_KMS_KES_KEY_NAME: 'k' });
  t.equal(kes.code, 2, 'a KES endpoint with credentials: exit 2');
  t.notOk(kes.output.includes('kes-url-password'), 'the password in it is not printed');

  const hook = await start({ S3_NOTIFY_WEBHOOK_ENABLE_X: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_X: 'ftp://hooks.example/services/T0/B0/hook-url-token' });
  t.equal(hook.code, 2, 'a webhook endpoint of another scheme: exit 2');
  t.match(hook.output, /S3_NOTIFY_WEBHOOK_ENDPOINT_X/);
  t.notOk(hook.output.includes('hook-url-token'), 'its token is not printed');
});

t.test('the log shows a webhook endpoint without its path and query', async (t) => {
  const d = await startDaemonFor(t, { env: { S3_NOTIFY_WEBHOOK_ENABLE_X: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_X: 'http://127.0.0.1:9/services/hook?token=hook-query-token' } });
  const line = await d.waitForLog((l) => l.msg === 'bucket notification webhook targets');
  t.match(JSON.stringify(line), /"endpoint":"http:\/\/127\.0\.0\.1:9\/…"/, 'origin and /…');
  t.notOk(d.logs.some((l) => l.includes('hook-query-token') || l.includes('/services/hook')), 'no log line holds the path or the token');
});
