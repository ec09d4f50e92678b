// Third-party clients upload into a bucket with a default retention, which S3 refuses without
// Content-MD5 or a checksum (s3-object-lock-checksums.test.ts): each client's everyday upload,
// single PUT and multipart, still succeeds against s3d and the object is retained. minio-js over
// plain HTTP sends only a signed SHA-256 (no Content-MD5), which s3d takes. Each part is skipped
// when its tool is missing.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectLockConfigurationCommand } from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { lockHelpers, rule } from '../helpers/object-lock.js';
import { minioClient } from '../helpers/minio.js';
import { getBytes, listKeys } from '../helpers/s3.js';
import { missing, rcloneEnv, toolRunner, writeS3cmdConfig } from '../helpers/tools.js';
import { NO_AWS, awsCli } from '../helpers/aws-cli.js';
import { PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';
import { ACCESS_KEY, REGION, SECRET_KEY } from '../helpers/daemon.js';

const MiB = 1024 * 1024;
const d = await startDaemonFor(t);
const s3 = d.s3();
const L = lockHelpers(s3);
const work = mkdtempSync(join(tmpdir(), 's3d-lock-clients-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const { ok } = toolRunner(work);
const small = testBytes(100_000, 1);
const big = testBytes(11 * MiB + 7, 2);
const smallFile = join(work, 'small.bin');
const bigFile = join(work, 'big.bin');
writeFileSync(smallFile, small);
writeFileSync(bigFile, big);

/** A bucket with Object Lock and a default GOVERNANCE retention of one day. */
async function retainingBucket(prefix: string): Promise<string> {
  const bucket = await L.lockBucket(prefix);
  await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: rule('GOVERNANCE', { Days: 1 }) } }));
  return bucket;
}

async function stored(t: Test, bucket: string, key: string, want: Buffer, what: string): Promise<void> {
  t.ok((await getBytes(s3, { Bucket: bucket, Key: key })).equals(want), `${what}: the bytes sent`);
  t.equal((await L.retentionOf(bucket, key)).split(' ')[0], 'GOVERNANCE', `${what}: retained by the default rule`);
}

t.test('minio-js (plain HTTP: a signed SHA-256, no Content-MD5; multipart parts with Content-MD5)', async (t) => {
  const bucket = await retainingBucket('lkmj');
  const mc = minioClient(d, { partSize: 5 * MiB });
  await mc.putObject(bucket, 'small', small);
  await stored(t, bucket, 'small', small, 'putObject');
  await mc.fPutObject(bucket, 'big', bigFile);
  await stored(t, bucket, 'big', big, 'fPutObject, multipart');
});

t.test('the aws CLI (s3 cp, single and multipart; s3api put-object)', { skip: NO_AWS }, async (t) => {
  const bucket = await retainingBucket('lkaw');
  const aws = awsCli(d.endpoint, mkdtempSync(join(work, 'aws-')), { pathStyle: true });
  await aws.ok('s3', 'cp', smallFile, `s3://${bucket}/small`);
  await stored(t, bucket, 'small', small, 's3 cp');
  await aws.ok('s3', 'cp', bigFile, `s3://${bucket}/big`);
  await stored(t, bucket, 'big', big, 's3 cp, multipart');
  await aws.ok('s3api', 'put-object', '--bucket', bucket, '--key', 'api', '--body', smallFile);
  await stored(t, bucket, 'api', small, 's3api put-object');
});

const pyEnv = pythonEnv(mkdtempSync(join(work, 'py-')));
t.test('boto3 (put_object, upload_file multipart)', { skip: noBoto3(pyEnv) }, async (t) => {
  const bucket = await retainingBucket('lkbt');
  const script = `
import boto3
from boto3.s3.transfer import TransferConfig
s3 = boto3.client('s3', endpoint_url='${d.endpoint}', aws_access_key_id='${ACCESS_KEY}', aws_secret_access_key='${SECRET_KEY}', region_name='${REGION}')
s3.put_object(Bucket='${bucket}', Key='small', Body=open('${smallFile}', 'rb').read())
s3.upload_file('${bigFile}', '${bucket}', 'big', Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
`;
  await ok(PYTHON_BIN, ['-c', script], pyEnv);
  await stored(t, bucket, 'small', small, 'put_object');
  await stored(t, bucket, 'big', big, 'upload_file, multipart');
});

t.test('s3cmd (put, single and multipart)', { skip: missing('s3cmd') }, async (t) => {
  const bucket = await retainingBucket('lksc');
  const cfg = join(work, 's3cfg');
  writeS3cmdConfig(cfg, d.endpoint);
  await ok('s3cmd', ['-c', cfg, 'put', smallFile, `s3://${bucket}/small`], {});
  await stored(t, bucket, 'small', small, 's3cmd put');
  await ok('s3cmd', ['-c', cfg, 'put', '--multipart-chunk-size-mb=5', bigFile, `s3://${bucket}/big`], {});
  await stored(t, bucket, 'big', big, 's3cmd put, multipart');
});

t.test('rclone (copyto, single and multipart)', { skip: missing('rclone') }, async (t) => {
  const bucket = await retainingBucket('lkrc');
  const env = rcloneEnv(join(work, 'rclone.conf'), d.endpoint);
  const rclone = (...args: string[]) => ok('rclone', ['--retries', '1', '--low-level-retries', '1', ...args], env);
  await rclone('copyto', smallFile, `s3d:${bucket}/small`);
  await stored(t, bucket, 'small', small, 'rclone copyto');
  await rclone('copyto', '--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M', bigFile, `s3d:${bucket}/big`);
  await stored(t, bucket, 'big', big, 'rclone copyto, multipart');
});

t.test('restic (init, backup)', { skip: missing('restic') }, async (t) => {
  const bucket = await retainingBucket('lkrs');
  const env = { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, RESTIC_PASSWORD: 'test-password', RESTIC_REPOSITORY: `s3:${d.endpoint}/${bucket}/repo`, RESTIC_CACHE_DIR: join(work, 'restic-cache') };
  await ok('restic', ['init'], env);
  await ok('restic', ['backup', smallFile, bigFile], env);
  const keys = await listKeys(s3, bucket, 'repo/');
  t.ok(keys.some((k) => k.startsWith('repo/data/')), 'pack files stored');
  t.equal((await L.retentionOf(bucket, 'repo/config')).split(' ')[0], 'GOVERNANCE', 'the repository config retained');
});
