// Three widely used third-party S3 tools against the built daemon, each in its everyday workflow:
// s3cmd (Python, its own SigV4 and SigV2 signer), rclone (Go, aws-sdk-go) and restic (Go,
// minio-go). Each part is skipped when the tool is not on PATH (.ci/run installs them from
// Debian: s3cmd, rclone, restic).

import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, startDaemon, testBytes } from '../helpers/daemon.js';
import { readTree } from '../helpers/files.js';
import { missing, rcloneEnv, toolRunner, writeS3cmdConfig, type Run } from '../helpers/tools.js';
import { md5Hex } from '../helpers/hash.js';
import { getBytes, listKeys } from '../helpers/s3.js';

const MiB = 1024 * 1024;

const NO_S3CMD = missing('s3cmd');
const NO_RCLONE = missing('rclone');
const NO_RESTIC = missing('restic');

const d = await startDaemon();
const work = mkdtempSync(join(tmpdir(), 's3d-tools-'));
t.teardown(async () => {
  await d.stop();
  d.cleanup();
  rmSync(work, { recursive: true, force: true });
});
const s3 = d.s3();

const { run, ok } = toolRunner(work);

/** A folder of files with names S3 tools have to encode, one of them multipart-sized. */
function makeTree(dir: string, seed: number): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'top.txt': Buffer.from(`top level ${seed}\n`),
    'empty.txt': Buffer.alloc(0),
    'a/one.bin': testBytes(200_000, seed),
    'a/b/big.bin': testBytes(6 * MiB + 5, seed + 1),
    'with space/file name.txt': Buffer.from('spaces\n'),
    'ünïcödé/ß €.txt': Buffer.from('unicode\n'),
    'plus+and%percent/x~y.txt': Buffer.from('reserved\n'),
    'semi;colon/a=b&c.txt': Buffer.from('query-ish\n'),
  };
  const past = new Date(Date.now() - 120_000);
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), data);
    // Whole-second timestamps on the server: date the local files in the past so a second sync
    // does not see them as newer.
    utimesSync(join(dir, rel), past, past);
  }
  return files;
}

function sameTree(t: Test, got: string, want: string, what: string): void {
  const a = readTree(got);
  const b = readTree(want);
  t.ok(b.size > 0, `${what}: the tree compared holds files`);
  t.same([...a.keys()].sort(), [...b.keys()].sort(), `${what}: the same files`);
  t.same([...b].filter(([rel, data]) => !a.get(rel)?.equals(data)).map(([rel]) => rel), [], `${what}: the same bytes in each`);
}

t.test('s3cmd: mb, multipart put, get, sync both ways, info, SSE, signature v2, del, rb', { skip: NO_S3CMD }, async (t) => {
  const cfg = join(work, 's3cfg');
  writeS3cmdConfig(cfg, d.endpoint);
  const s3cmd = (...args: string[]): Promise<Run> => ok('s3cmd', ['-c', cfg, ...args], {});
  const bucket = bucketName('s3cmd');
  await s3cmd('mb', `s3://${bucket}`);

  const big = join(work, 's3cmd-big.bin');
  const body = testBytes(11 * MiB + 3, 41);
  writeFileSync(big, body);
  await s3cmd('put', '--multipart-chunk-size-mb=5', big, `s3://${bucket}/big.bin`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
  t.equal(head.ContentLength, body.length);
  t.match(head.ETag, /-3"$/, 'three parts of 5 MiB or less');
  const back = join(work, 's3cmd-big.back');
  await s3cmd('get', '--force', `s3://${bucket}/big.bin`, back);
  t.equal(md5Hex(readFileSync(back)), md5Hex(body), 's3cmd get returns the bytes put');
  const info = await s3cmd('info', `s3://${bucket}/big.bin`);
  t.match(info.stdout, new RegExp(`File size:\\s+${body.length}`), 'info shows the size');

  const tree = join(work, 's3cmd-tree');
  const files = makeTree(tree, 1);
  await s3cmd('sync', '--multipart-chunk-size-mb=5', `${tree}/`, `s3://${bucket}/tree/`);
  t.same((await listKeys(s3, bucket, 'tree/')).sort(), Object.keys(files).map((k) => `tree/${k}`).sort(), 'sync up: every file under its path');
  for (const [rel, data] of Object.entries(files)) t.ok((await getBytes(s3, { Bucket: bucket, Key: `tree/${rel}` })).equals(data), `stored ${rel}`);
  const again = await s3cmd('sync', '--dry-run', `${tree}/`, `s3://${bucket}/tree/`);
  t.notMatch(again.stdout, /upload:/, 'a second sync uploads nothing');

  rmSync(join(tree, 'a/one.bin'));
  writeFileSync(join(tree, 'top.txt'), 'changed\n');
  await s3cmd('sync', '--delete-removed', `${tree}/`, `s3://${bucket}/tree/`);
  t.notOk((await listKeys(s3, bucket, 'tree/')).includes('tree/a/one.bin'), '--delete-removed removes the deleted file');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'tree/top.txt' })).toString(), 'changed\n');

  const down = join(work, 's3cmd-down');
  await s3cmd('sync', `s3://${bucket}/tree/`, `${down}/`);
  sameTree(t, down, tree, 'sync down');

  await s3cmd('put', '--server-side-encryption', join(tree, 'top.txt'), `s3://${bucket}/sse.txt`);
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sse.txt' }))).ServerSideEncryption, 'AES256', '--server-side-encryption stores SSE-S3');

  const v2 = await s3cmd('--signature-v2', 'ls', `s3://${bucket}/tree/`);
  t.match(v2.stdout, /DIR\s+s3:\/\/[^/]+\/tree\/a\//, 'signature v2 listing');

  await s3cmd('cp', `s3://${bucket}/sse.txt`, `s3://${bucket}/copy.txt`);
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'copy.txt' })).toString(), 'changed\n', 'server-side cp');

  await s3cmd('del', '--recursive', '--force', `s3://${bucket}`);
  t.same(await listKeys(s3, bucket), [], 'del --recursive empties the bucket');
  await s3cmd('rb', `s3://${bucket}`);
});

t.test('rclone: copy with multipart, check --download, sync with deletes, SSE, purge', { skip: NO_RCLONE }, async (t) => {
  const env = rcloneEnv(join(work, 'rclone.conf'), d.endpoint);
  const rclone = (...args: string[]): Promise<Run> => ok('rclone', ['--retries', '1', '--low-level-retries', '1', ...args], env);
  const bucket = bucketName('rclone');
  await rclone('mkdir', `s3d:${bucket}`);
  const tree = join(work, 'rclone-tree');
  const files = makeTree(tree, 7);
  await rclone('copy', '--s3-chunk-size', '5M', '--s3-upload-cutoff', '5M', '--s3-upload-concurrency', '2', tree, `s3d:${bucket}/tree`);
  t.same((await listKeys(s3, bucket, 'tree/')).sort(), Object.keys(files).map((k) => `tree/${k}`).sort(), 'copy: every file under its path');
  t.match((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'tree/a/b/big.bin' }))).ETag, /-2"$/, 'the 6 MiB file went up in two parts');
  await rclone('check', '--download', tree, `s3d:${bucket}/tree`);
  // rclone keeps the MD5 of a multipart upload in metadata; both kinds of object must check.
  await rclone('check', tree, `s3d:${bucket}/tree`);
  const sums = await rclone('md5sum', `s3d:${bucket}/tree`);
  t.match(sums.stdout, new RegExp(`${md5Hex(files['a/one.bin']!)}  a/one.bin`), 'md5sum of a single-part object');

  rmSync(join(tree, 'a/one.bin'));
  writeFileSync(join(tree, 'top.txt'), 'changed by rclone\n');
  await rclone('sync', tree, `s3d:${bucket}/tree`);
  t.notOk((await listKeys(s3, bucket, 'tree/')).includes('tree/a/one.bin'), 'sync deletes the removed file');
  const down = join(work, 'rclone-down');
  await rclone('copy', `s3d:${bucket}/tree`, down);
  sameTree(t, down, tree, 'copy down');

  await rclone('copyto', '--s3-server-side-encryption', 'AES256', join(tree, 'top.txt'), `s3d:${bucket}/sse.txt`);
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sse.txt' }))).ServerSideEncryption, 'AES256', '--s3-server-side-encryption stores SSE-S3');
  // rclone makes sure the bucket exists with a CreateBucket carrying its ACL (refused with
  // InvalidBucketAclWithObjectOwnership before), then uploads with it.
  await rclone('copyto', '--s3-acl', 'bucket-owner-full-control', join(tree, 'top.txt'), `s3d:${bucket}/acl.txt`);
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'acl.txt' })).toString(), 'changed by rclone\n', '--s3-acl bucket-owner-full-control');
  // Server-side copy of a multipart object.
  await rclone('copyto', `s3d:${bucket}/tree/a/b/big.bin`, `s3d:${bucket}/copied.bin`);
  t.equal(md5Hex(await getBytes(s3, { Bucket: bucket, Key: 'copied.bin' })), md5Hex(files['a/b/big.bin']!), 'server-side copy');

  // rclone's own V2 signer signs a sub-resource sent with an empty value (`?uploads=`) without
  // the `=`: multipart uploads, versioning and purge were refused (SignatureDoesNotMatch).
  await rclone('copyto', '--s3-v2-auth', '--s3-chunk-size', '5M', '--s3-upload-cutoff', '5M', join(tree, 'a/b/big.bin'), `s3d:${bucket}/v2/big.bin`);
  t.equal(md5Hex(await getBytes(s3, { Bucket: bucket, Key: 'v2/big.bin' })), md5Hex(files['a/b/big.bin']!), 'a multipart upload signed with V2');
  t.equal((await rclone('backend', 'versioning', '--s3-v2-auth', `s3d:${bucket}`)).stdout.trim(), 'Unversioned', 'GetBucketVersioning signed with V2');

  await rclone('purge', `s3d:${bucket}`);
  t.equal((await run('rclone', ['lsd', `s3d:${bucket}`], env)).code !== 0, true, 'the bucket is gone');
});

t.test('restic: init, backup, check --read-data, restore, a second backup, forget --prune', { skip: NO_RESTIC }, async (t) => {
  const bucket = bucketName('restic');
  const env = {
    RESTIC_REPOSITORY: `s3:${d.endpoint}/${bucket}/repo`,
    RESTIC_PASSWORD: 'restic test password',
    RESTIC_CACHE_DIR: join(work, 'restic-cache'),
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_DEFAULT_REGION: REGION,
  };
  const restic = (...args: string[]): Promise<Run> => ok('restic', args, env);
  await restic('init');
  const tree = join(work, 'restic-tree');
  makeTree(tree, 11);
  // Many small files: restic packs them, but writes many small index and snapshot objects too.
  for (let i = 0; i < 300; i++) {
    mkdirSync(join(tree, 'many', String(i % 10)), { recursive: true });
    writeFileSync(join(tree, 'many', String(i % 10), `f${i}.txt`), `file ${i} ${'x'.repeat(i)}\n`);
  }
  await restic('backup', '--host', 'test', tree);
  await restic('check', '--read-data');
  const out = join(work, 'restic-out');
  await restic('restore', 'latest', '--target', out);
  sameTree(t, join(out, tree), tree, 'restore');

  writeFileSync(join(tree, 'top.txt'), 'second backup\n');
  rmSync(join(tree, 'many', '3'), { recursive: true });
  await restic('backup', '--host', 'test', tree);
  const snaps = JSON.parse((await restic('snapshots', '--json')).stdout) as unknown[];
  t.equal(snaps.length, 2, 'two snapshots');
  await restic('forget', '--keep-last', '1', '--prune');
  await restic('check');
  const out2 = join(work, 'restic-out2');
  await restic('restore', 'latest', '--target', out2);
  sameTree(t, join(out2, tree), tree, 'restore after prune');
});
