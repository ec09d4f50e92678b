// The aws CLI's high-level commands as users run them, against one daemon serving HTTPS (SSE-C
// needs TLS), with a multipart threshold set through `aws configure set` in an isolated config
// file: `s3 cp` from a pipe and to stdout, `s3 cp --recursive` of a tree with nested, unicode and
// space names under SSE-S3 and SSE-C, `--checksum-algorithm`, `s3 ls --recursive --summarize`,
// `s3 presign`, `s3 rm --recursive` and `s3 rb --force`, SSE-KMS under a named key, S3-to-S3 copies
// re-keyed with `--sse-c-copy-source`, `s3 mv` across buckets and `s3 sync --delete` of awkward
// keys both ways. Every object is read back byte for byte.
// Skipped when `aws` is not on PATH.

import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { bucketName, startTlsDaemonWithWork, testBytes } from '../helpers/daemon.js';
import { readTree } from '../helpers/files.js';
import { crc32Base64 } from '../helpers/hash.js';
import { getBytes, listKeys } from '../helpers/s3.js';
import { KMS_KEY_ARN, KMS_KEY_ID, ssec } from '../helpers/sse.js';
import { NO_AWS, awsEnv, runAws, runAwsText, type AwsResult } from '../helpers/aws-cli.js';

const MiB = 1024 * 1024;

const { d, work, caFile } = await startTlsDaemonWithWork(t, 's3d-client-paths-');
const s3 = d.s3();

const env = awsEnv(work, { caFile, config: '' });
const aws = (...args: string[]): Promise<AwsResult> => runAwsText(['--endpoint-url', d.endpoint, ...args], { env, timeout: 60_000 });
async function awsOk(...args: string[]): Promise<string> {
  const r = await aws(...args);
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  return r.stdout;
}
const q = ['--only-show-errors', '--no-progress'];
/** A 32-character customer key, as the CLI takes it. */
const KEY = 'cp-0123456789abcdef0123456789abc';

function multipartETag(body: Buffer, partSize: number): string {
  const h = createHash('md5');
  let n = 0;
  for (let o = 0; o < body.length; o += partSize, n++) h.update(createHash('md5').update(body.subarray(o, o + partSize)).digest());
  return `"${h.digest('hex')}-${n}"`;
}

t.before(async () => {
  if (NO_AWS) return;
  // What a user runs: the CLI writes them into AWS_CONFIG_FILE.
  for (const [k, v] of [['default.s3.multipart_threshold', '5MB'], ['default.s3.multipart_chunksize', '5MB'], ['default.s3.max_concurrent_requests', '4'], ['default.s3.addressing_style', 'path']]) {
    const r = await runAwsText(['configure', 'set', k!, v!], { env });
    if (r.code !== 0) throw new Error(`aws configure set ${k}: ${r.stderr}`);
  }
});

t.test('cp from a pipe and to stdout, multipart by the configured threshold', { skip: NO_AWS }, async (t) => {
  const bucket = bucketName('paths-pipe');
  await awsOk('s3', 'mb', `s3://${bucket}`);
  const body = testBytes(12 * MiB + 17, 11);
  // Of unknown size: the CLI reads 5 MiB chunks from stdin and uploads them as parts.
  const up = await runAws(['--endpoint-url', d.endpoint, 's3', 'cp', ...q, '-', `s3://${bucket}/piped.bin`], { env, input: body, timeout: 60_000 });
  t.equal(up.code, 0, up.stderr.toString());
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'piped.bin' }));
  t.equal(head.ContentLength, body.length);
  t.equal(head.ETag, multipartETag(body, 5 * MiB), 'three parts of the configured 5 MiB');
  const down = await runAws(['--endpoint-url', d.endpoint, 's3', 'cp', ...q, `s3://${bucket}/piped.bin`, '-'], { env, timeout: 60_000 });
  t.equal(down.code, 0, down.stderr.toString());
  t.ok(down.stdout.equals(body), 'cp to stdout: the same bytes');
  const small = Buffer.from('a small piped body\n');
  const upSmall = await runAws(['--endpoint-url', d.endpoint, 's3', 'cp', ...q, '-', `s3://${bucket}/small.txt`], { env, input: small, timeout: 60_000 });
  t.equal(upSmall.code, 0, upSmall.stderr.toString());
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'small.txt' })).equals(small), 'a pipe under the threshold: one PUT');
  const upEmpty = await runAws(['--endpoint-url', d.endpoint, 's3', 'cp', ...q, '-', `s3://${bucket}/empty`], { env, input: Buffer.alloc(0), timeout: 60_000 });
  t.equal(upEmpty.code, 0, upEmpty.stderr.toString());
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'empty' })).length, 0, 'an empty pipe: an empty object');
  // A pipe under a customer key, with a SHA256 checksum: SSE-C parts of a stream, read back ranged.
  const sse = ['--sse-c', 'AES256', '--sse-c-key', KEY];
  const upC = await runAws(['--endpoint-url', d.endpoint, 's3', 'cp', ...q, '-', `s3://${bucket}/piped-c.bin`, ...sse, '--checksum-algorithm', 'SHA256'], { env, input: body, timeout: 60_000 });
  t.equal(upC.code, 0, upC.stderr.toString());
  t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'piped-c.bin', ChecksumMode: 'ENABLED', ...ssec(Buffer.from(KEY)) })), { SSECustomerAlgorithm: 'AES256', ETag: /-3"$/, ChecksumSHA256: /-3$/ }, 'SSE-C from a pipe: three parts with SHA256 checksums');
  const downC = await runAws(['--endpoint-url', d.endpoint, 's3', 'cp', ...q, `s3://${bucket}/piped-c.bin`, '-', ...sse], { env, timeout: 60_000 });
  t.equal(downC.code, 0, downC.stderr.toString());
  t.ok(downC.stdout.equals(body), 'cp of it to stdout with the key: the same bytes');
  await awsOk('s3', 'rb', '--force', `s3://${bucket}`);
  t.equal(await s3.send(new HeadBucketCommand({ Bucket: bucket })).then(() => 'found', (e: { name: string }) => e.name), 'NotFound', 'rb --force removed it');
});

t.test('cp --recursive of a tree with SSE-S3 and SSE-C, ls --recursive --summarize, rm --recursive, rb --force', { skip: NO_AWS }, async (t) => {
  const bucket = bucketName('paths-tree');
  await awsOk('s3', 'mb', `s3://${bucket}`);
  const tree = join(work, 'tree');
  const files: Record<string, Buffer> = {
    'top.txt': Buffer.from('top\n'),
    'a/b/c/d/deep.txt': Buffer.from('deep\n'),
    'a/big.bin': testBytes(6 * MiB + 3, 21),
    'dir with spaces/file  two  spaces.txt': Buffer.from('spaces\n'),
    'ünï/日本語 ファイル.txt': Buffer.from('unicode\n'),
    'emoji/😀 smile.bin': testBytes(1000, 22),
    'odd/a+b=c&d;e,f@g#h[i].txt': Buffer.from('punctuation\n'),
  };
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(join(tree, rel, '..'), { recursive: true });
    writeFileSync(join(tree, rel), data);
  }
  await awsOk('s3', 'cp', ...q, '--recursive', tree, `s3://${bucket}/s3`, '--sse', 'AES256');
  await awsOk('s3', 'cp', ...q, '--recursive', tree, `s3://${bucket}/c`, '--sse-c', 'AES256', '--sse-c-key', KEY);
  const want = Object.keys(files).flatMap((k) => [`s3/${k}`, `c/${k}`]).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  t.same(await listKeys(s3, bucket), want, 'every file under its relative path, twice');
  for (const [rel, data] of Object.entries(files)) {
    const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `s3/${rel}` }));
    t.equal(h.ServerSideEncryption, 'AES256', `SSE-S3: ${rel}`);
    t.ok((await getBytes(s3, { Bucket: bucket, Key: `s3/${rel}` })).equals(data), `bytes of s3/${rel}`);
    t.ok((await getBytes(s3, { Bucket: bucket, Key: `c/${rel}`, ...ssec(Buffer.from(KEY)) })).equals(data), `bytes of c/${rel}`);
  }
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 's3/a/big.bin' }))).ETag, multipartETag(files['a/big.bin']!, 5 * MiB), 'the big one in configured parts');

  const down = join(work, 'down');
  await awsOk('s3', 'cp', ...q, '--recursive', `s3://${bucket}/s3`, join(down, 's3'));
  await awsOk('s3', 'cp', ...q, '--recursive', `s3://${bucket}/c`, join(down, 'c'), '--sse-c', 'AES256', '--sse-c-key', KEY);
  for (const sub of ['s3', 'c']) {
    const got = readTree(join(down, sub));
    t.same([...got.keys()].sort(), Object.keys(files).sort(), `cp --recursive down (${sub}) recreates the tree`);
    for (const [rel, data] of Object.entries(files)) t.ok(got.get(rel)?.equals(data), `downloaded ${sub}/${rel}`);
  }

  const ls = await awsOk('s3', 'ls', '--recursive', '--summarize', `s3://${bucket}/`);
  const total = Object.values(files).reduce((n, b) => n + b.length, 0) * 2;
  t.match(ls, new RegExp(`Total Objects: ${want.length}\\s+Total Size: ${total}`), 'ls --summarize counts every object and byte');
  for (const k of want) t.ok(ls.includes(` ${k}\n`), `ls lists ${k}`);
  const top = await awsOk('s3', 'ls', `s3://${bucket}/s3/`);
  const prefixes = top.split('\n').filter((l) => /^\s+PRE /.test(l)).map((l) => l.replace(/^\s+PRE /, '')).sort();
  t.same(prefixes, ['a/', 'dir with spaces/', 'emoji/', 'odd/', 'ünï/'].sort(), 'ls of a prefix: its common prefixes, decoded');
  t.match(top, /\d\d:\d\d:\d\d\s+4 top\.txt\n/, 'and its one file')

  await awsOk('s3', 'rm', '--only-show-errors', '--recursive', `s3://${bucket}/s3/`);
  t.same(await listKeys(s3, bucket), want.filter((k) => k.startsWith('c/')), 'rm --recursive of one prefix');
  await awsOk('s3', 'rb', '--force', `s3://${bucket}`);
  t.equal(await s3.send(new HeadBucketCommand({ Bucket: bucket })).then(() => 'found', (e: { name: string }) => e.name), 'NotFound', 'rb --force emptied and removed it');
});

t.test('cp --checksum-algorithm CRC32, SHA256 and CRC64NVME, single PUT and multipart', { skip: NO_AWS }, async (t) => {
  const bucket = bucketName('paths-ck');
  await awsOk('s3', 'mb', `s3://${bucket}`);
  const small = testBytes(300_000, 31);
  const big = testBytes(11 * MiB + 5, 32);
  writeFileSync(join(work, 'ck-small.bin'), small);
  writeFileSync(join(work, 'ck-big.bin'), big);
  const b64 = (alg: string, data: Buffer): string => createHash(alg).update(data).digest('base64');
  for (const alg of ['CRC32', 'SHA256', 'CRC64NVME']) {
    const up = await aws('s3', 'cp', ...q, join(work, 'ck-small.bin'), `s3://${bucket}/${alg}/small.bin`, '--checksum-algorithm', alg);
    if (up.code !== 0 && alg === 'CRC64NVME' && /awscrt|CRT/i.test(up.stderr)) {
      t.pass('CRC64NVME', { skip: 'CRC64NVME needs botocore[crt] (awscrt) in the CLI\'s Python' });
      continue;
    }
    t.equal(up.code, 0, `${alg} single PUT: ${up.stderr}`);
    await awsOk('s3', 'cp', ...q, join(work, 'ck-big.bin'), `s3://${bucket}/${alg}/big.bin`, '--checksum-algorithm', alg);
    const h = JSON.parse(await awsOk('s3api', 'head-object', '--bucket', bucket, '--key', `${alg}/small.bin`, '--checksum-mode', 'ENABLED')) as Record<string, unknown>;
    const field = `Checksum${alg}`;
    if (alg === 'CRC32') t.equal(h[field], crc32Base64(small), 'CRC32 of the bytes');
    else if (alg === 'SHA256') t.equal(h[field], b64('sha256', small), 'SHA256 of the bytes');
    else t.match(h[field], /^[A-Za-z0-9+/]{11}=$/, 'a CRC64NVME');
    const hb = JSON.parse(await awsOk('s3api', 'head-object', '--bucket', bucket, '--key', `${alg}/big.bin`, '--checksum-mode', 'ENABLED')) as Record<string, unknown>;
    t.type(hb[field], 'string', `${alg} of the multipart object: ${JSON.stringify(hb)}`);
    for (const [name, data] of [['small.bin', small], ['big.bin', big]] as const) {
      const back = join(work, `ck-back-${alg}-${name}`);
      await awsOk('s3', 'cp', ...q, `s3://${bucket}/${alg}/${name}`, back);
      t.ok(readFileSync(back).equals(data), `${alg} ${name} reads back`);
    }
  }
  await awsOk('s3', 'rb', '--force', `s3://${bucket}`);
});

t.test('cp --recursive under SSE-KMS with a key id, re-keyed with --sse-c-copy-source, mv across buckets, sync --delete of awkward keys', { skip: NO_AWS }, async (t) => {
  const bucket = bucketName('paths-rekey');
  const other = bucketName('paths-rekey2');
  await awsOk('s3', 'mb', `s3://${bucket}`);
  await awsOk('s3', 'mb', `s3://${other}`);
  const tree = join(work, 'rekey-tree');
  // The big one goes multipart (5 MB threshold), so its S3-to-S3 copies are UploadPartCopy.
  const files: Record<string, Buffer> = {
    'top.txt': Buffer.from('top\n'),
    'a/b/c/deep.txt': Buffer.from('deep\n'),
    'a/big.bin': testBytes(6 * MiB + 3, 51),
    'dir with spaces/f  two.txt': Buffer.from('spaces\n'),
    'ünï/日本語 ファイル.txt': Buffer.from('unicode\n'),
    'p+l+u+s/a+b.txt': Buffer.from('plus\n'),
    'pct%20/x%2By.txt': Buffer.from('percent\n'),
  };
  const write = (rel: string): void => {
    mkdirSync(join(tree, rel, '..'), { recursive: true });
    writeFileSync(join(tree, rel), files[rel]!);
    // Dated in the past: a file written in the second of its upload would look newer to sync.
    const past = new Date(Date.now() - 120_000);
    utimesSync(join(tree, rel), past, past);
  };
  Object.keys(files).forEach(write);
  const under = (prefix: string, keys = Object.keys(files)): string[] => keys.map((k) => `${prefix}/${k}`).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  await awsOk('s3', 'cp', ...q, '--recursive', tree, `s3://${bucket}/kms`, '--sse', 'aws:kms', '--sse-kms-key-id', KMS_KEY_ID);
  for (const [rel, data] of Object.entries(files)) {
    t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `kms/${rel}` })), { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ARN }, `SSE-KMS under the named key: ${rel}`);
    t.ok((await getBytes(s3, { Bucket: bucket, Key: `kms/${rel}` })).equals(data), `bytes of kms/${rel}`);
  }
  const badKey = await aws('s3', 'cp', ...q, join(tree, 'top.txt'), `s3://${bucket}/bad-kms.txt`, '--sse', 'aws:kms', '--sse-kms-key-id', 'no-such-key');
  t.not(badKey.code, 0, 'an unknown KMS key fails the upload');
  t.match(badKey.stderr, /KMS\.NotFoundException/, 'with the KMS error');
  t.notOk((await listKeys(s3, bucket)).includes('bad-kms.txt'), 'and stores nothing');

  // SSE-C, then copied in S3 under a second customer key given as a file (fileb://).
  const KEY2 = 'k2-0123456789abcdef0123456789abc';
  writeFileSync(join(work, 'key2.bin'), KEY2);
  await awsOk('s3', 'cp', ...q, '--recursive', tree, `s3://${bucket}/c`, '--sse-c', 'AES256', '--sse-c-key', KEY);
  await awsOk('s3', 'cp', ...q, '--recursive', `s3://${bucket}/c`, `s3://${bucket}/c2`, '--sse-c-copy-source', 'AES256', '--sse-c-copy-source-key', KEY, '--sse-c', 'AES256', '--sse-c-key', `fileb://${join(work, 'key2.bin')}`);
  for (const [rel, data] of Object.entries(files)) {
    t.ok((await getBytes(s3, { Bucket: bucket, Key: `c2/${rel}`, ...ssec(Buffer.from(KEY2)) })).equals(data), `re-keyed copy of ${rel} reads with the new key`);
    t.equal(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `c2/${rel}`, ...ssec(Buffer.from(KEY)) })).then(() => 200, (e: { $metadata: { httpStatusCode: number } }) => e.$metadata.httpStatusCode), 403, `and not with the old one: ${rel}`);
  }
  // SSE-C moved to the other bucket, decrypted on the way (no --sse-c for the destination).
  await awsOk('s3', 'mv', ...q, '--recursive', `s3://${bucket}/c2`, `s3://${other}/plain`, '--sse-c-copy-source', 'AES256', '--sse-c-copy-source-key', KEY2);
  t.same((await listKeys(s3, bucket)).filter((k) => k.startsWith('c2/')), [], 'mv removed the sources');
  t.same(await listKeys(s3, other), under('plain'), 'mv: every key in the other bucket');
  for (const [rel, data] of Object.entries(files)) {
    const h = await s3.send(new HeadObjectCommand({ Bucket: other, Key: `plain/${rel}` }));
    t.equal(h.SSECustomerAlgorithm, undefined, `moved ${rel} is no longer SSE-C`);
    t.ok((await getBytes(s3, { Bucket: other, Key: `plain/${rel}` })).equals(data), `bytes of moved ${rel}`);
  }

  // sync --delete: the awkward keys go when their files go, both up and down.
  await awsOk('s3', 'sync', ...q, tree, `s3://${bucket}/sync`);
  t.equal((await aws('s3', 'sync', tree, `s3://${bucket}/sync`, '--dryrun')).stdout.trim(), '', 'a second sync has nothing to do (every awkward key matched its file)');
  const gone = ['dir with spaces/f  two.txt', 'ünï/日本語 ファイル.txt', 'p+l+u+s/a+b.txt', 'pct%20/x%2By.txt'];
  for (const rel of gone) rmSync(join(tree, rel));
  await awsOk('s3', 'sync', ...q, '--delete', tree, `s3://${bucket}/sync`);
  const kept = Object.keys(files).filter((k) => !gone.includes(k));
  t.same((await listKeys(s3, bucket)).filter((k) => k.startsWith('sync/')), under('sync', kept), 'sync --delete removed exactly the deleted files\' keys');
  gone.forEach(write);
  await awsOk('s3', 'sync', ...q, tree, `s3://${other}/sync`);
  const down = join(work, 'rekey-down');
  mkdirSync(join(down, 'stale/x'), { recursive: true });
  writeFileSync(join(down, 'stale/x/old.txt'), 'stale\n');
  await awsOk('s3', 'sync', ...q, '--delete', `s3://${other}/sync`, down);
  const got = readTree(down);
  t.same([...got.keys()].sort(), Object.keys(files).sort(), 'sync --delete down: the tree, without the stale file');
  for (const [rel, data] of Object.entries(files)) t.ok(got.get(rel)?.equals(data), `synced down ${rel}`);
  await awsOk('s3', 'rb', '--force', `s3://${bucket}`);
  await awsOk('s3', 'rb', '--force', `s3://${other}`);
});

t.test('s3 presign: the URL reads the object over HTTPS, and expires', { skip: NO_AWS }, async (t) => {
  const bucket = bucketName('paths-presign');
  await awsOk('s3', 'mb', `s3://${bucket}`);
  const body = testBytes(200_000, 41);
  writeFileSync(join(work, 'presign.bin'), body);
  const key = 'dir/with space/ü+%.bin';
  await awsOk('s3', 'cp', ...q, join(work, 'presign.bin'), `s3://${bucket}/${key}`);
  const url = (await awsOk('s3', 'presign', `s3://${bucket}/${key}`, '--expires-in', '300')).trim();
  const { Agent, request } = await import('node:https');
  const get = (u: string): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      request(u, { agent: new Agent({ ca: d.caCert }) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      }).on('error', reject).end();
    });
  const r = await get(url);
  t.equal(r.status, 200, 'presigned GET: 200');
  t.ok(r.body.equals(body), 'the presigned URL gives the bytes');
  const expired = (await awsOk('s3', 'presign', `s3://${bucket}/${key}`, '--expires-in', '1')).trim();
  await new Promise((res) => setTimeout(res, 2100));
  const e = await get(expired);
  t.equal(e.status, 403, 'expired');
  t.match(e.body.toString(), /<Code>AccessDenied<\/Code>/);
  await awsOk('s3', 'rb', '--force', `s3://${bucket}`);
});
