// docs/kms.md "Moving from the built-in key … to KES", as written: objects stored under the
// built-in key (S3_KMS_SECRET_KEY) read back after the key was imported into KES under the same
// name with the documented curl command and s3d was restarted on KES with the same data dir.

import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ROOT, TEST_KMS_SECRET, startDaemon, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { createTestPki } from '../fixtures/kes-server/certs.js';
import { kesEnv, kesServer, waitReady, wideS3Client } from '../helpers/kes.js';
import { createBucket, getBytes } from '../helpers/s3.js';

const pki = await createTestPki();
const KEY_NAME = TEST_KMS_SECRET.split(':')[0]!;

/** The shell block of the migration section, as a user copies it. */
function documentedImport(): string {
  const doc = readFileSync(join(ROOT, 'docs/kms.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Moving from the built-in key'));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('no sh block in the migration section of docs/kms.md');
  return m[1]!;
}

t.test('built-in key → KES: import the key under its name, restart on KES, old objects read', async (t) => {
  // 1. s3d on the built-in key stores SSE-S3 and SSE-KMS objects.
  const before = await startDaemon({ env: { S3_KMS_SECRET_KEY: TEST_KMS_SECRET } });
  t.teardown(async () => {
    await before.stop(); // its data dir is the next daemon's, removed with it
  });
  let s3 = wideS3Client(before);
  const bucket = await createBucket(s3);
  const body = testBytes(300_000, 11);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sse-s3', Body: body, ServerSideEncryption: 'AES256' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sse-kms', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_NAME }));
  t.equal(await before.stop(), 0);

  // 2. The documented command imports the key into KES (the fixture's admin identity).
  const kes = await kesServer(t, { pki });
  const env = kesEnv([kes], { keyName: KEY_NAME });
  const script = documentedImport()
    .replaceAll('admin.cert', env.S3_KMS_KES_CERT_FILE!)
    .replaceAll('admin.key', env.S3_KMS_KES_KEY_FILE!)
    .replaceAll('ca.crt', env.S3_KMS_KES_CAPATH!)
    .replaceAll('https://kes.example.com:7373', kes.url);
  t.match(script, /\/v1\/key\/import\/\$NAME/, 'the documented command posts to /v1/key/import/<name>');
  // Asynchronously: the fixture answers from this process's event loop.
  await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script.replace(/^curl /m, 'curl -sS --fail ')], {
    env: { PATH: process.env.PATH, S3_KMS_SECRET_KEY: TEST_KMS_SECRET },
  });
  t.equal(kes.counters().requests.import, 1, 'one import reached KES');

  // 3. s3d on KES with the same data dir reads the old objects.
  const after = await startDaemonFor(t, { dataDir: before.dataDir, env });
  await waitReady(after.endpoint);
  s3 = wideS3Client(after);
  for (const key of ['sse-s3', 'sse-kms']) {
    t.ok((await getBytes(s3, { Bucket: bucket, Key: key })).equals(body), `${key}: stored under the built-in key, read through KES`);
  }
  t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sse-kms' })), { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: `arn:aws:kms:${KEY_NAME}` });
  t.ok((kes.counters().requests.decrypt ?? 0) >= 2, 'the data keys were unwrapped by KES');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'new', Body: body, ServerSideEncryption: 'AES256' }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'new' })).equals(body), 'new SSE-S3 objects work under the imported key');
});
