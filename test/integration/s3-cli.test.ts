// Everyday client workflows against the built daemon: the aws CLI high-level commands (`s3 cp`
// of a 40 MB file through multipart, `s3 sync` of a folder tree both ways, `s3 ls --recursive`,
// `s3 rm --recursive`) and the minio npm client (fPutObject/fGetObject through multipart,
// listObjectsV2). The CLI part is skipped when `aws` is not on PATH.

import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { BucketItem } from 'minio';
import { REGION, bucketName, startDaemon, testBytes } from '../helpers/daemon.js';
import { readTree } from '../helpers/files.js';
import { md5Hex } from '../helpers/hash.js';
import { minioClient } from '../helpers/minio.js';
import { createBucket, getBytes, listKeys } from '../helpers/s3.js';
import { NO_AWS, awsCli } from '../helpers/aws-cli.js';

const MiB = 1024 * 1024;

const d = await startDaemon();
const work = mkdtempSync(join(tmpdir(), 's3d-cli-'));
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await d.stop();
  d.cleanup();
  rmSync(work, { recursive: true, force: true });
});
const s3 = d.s3();

// The CLI must not read the user's configuration: its own config forces path-style addressing.
const cli = awsCli(d.endpoint, work, { pathStyle: true });
async function aws(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await cli.run(...args);
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  return r;
}

function multipartETag(body: Buffer, partSize: number): string {
  const h = createHash('md5');
  let n = 0;
  for (let o = 0; o < body.length; o += partSize, n++) h.update(createHash('md5').update(body.subarray(o, o + partSize)).digest());
  return `"${h.digest('hex')}-${n}"`;
}

t.test('aws s3 cp of a 40 MB file uses multipart and round-trips', { skip: NO_AWS }, async (t) => {
  const bucket = bucketName('cli');
  await aws('s3', 'mb', `s3://${bucket}`);
  const body = testBytes(40 * 1000 * 1000, 5);
  const src = join(work, 'big.bin');
  writeFileSync(src, body);
  await aws('s3', 'cp', src, `s3://${bucket}/dir/big.bin`, '--only-show-errors', '--no-progress');
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dir/big.bin' }));
  t.equal(head.ContentLength, body.length);
  // The CLI's default multipart threshold and chunk size are 8 MiB: five parts.
  t.equal(head.ETag, multipartETag(body, 8 * MiB), 'multipart ETag of 8 MiB parts');
  t.equal(head.PartsCount, undefined, 'PartsCount only with partNumber, as on S3');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dir/big.bin', PartNumber: 1 }))).PartsCount, 5);
  const back = join(work, 'big.back');
  await aws('s3', 'cp', `s3://${bucket}/dir/big.bin`, back, '--only-show-errors', '--no-progress');
  t.equal(md5Hex(readFileSync(back)), md5Hex(body), 'aws s3 cp back gives the same bytes');
  rmSync(back);
});

t.test('aws s3 sync of a folder tree, ls --recursive, rm --recursive', { skip: NO_AWS }, async (t) => {
  const bucket = await createBucket(s3, 'sync');
  const tree = join(work, 'tree');
  const files: Record<string, Buffer> = {
    'top.txt': Buffer.from('top level\n'),
    'empty.txt': Buffer.alloc(0),
    'a/one.bin': testBytes(200_000, 1),
    'a/b/two.bin': testBytes(9 * MiB + 7, 2),
    'a/b/c/three.txt': Buffer.from('three\n'),
    'with space/file name.txt': Buffer.from('spaces\n'),
    'ünïcödé/ß €.txt': Buffer.from('unicode\n'),
    'plus+and%percent/x.txt': Buffer.from('reserved\n'),
  };
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(join(tree, rel, '..'), { recursive: true });
    writeFileSync(join(tree, rel), data);
    // S3 LastModified has whole seconds: a file written in the same second as its upload would
    // look newer than its copy to the next sync. Date the local files in the past.
    const past = new Date(Date.now() - 120_000);
    utimesSync(join(tree, rel), past, past);
  }
  await aws('s3', 'sync', tree, `s3://${bucket}/tree`, '--only-show-errors', '--no-progress');
  const want = Object.keys(files).map((k) => `tree/${k}`).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  t.same(await listKeys(s3, bucket), want, 'every file uploaded under its relative path');
  for (const [rel, data] of Object.entries(files)) t.ok((await getBytes(s3, { Bucket: bucket, Key: `tree/${rel}` })).equals(data), `bytes of ${rel}`);

  const again = await aws('s3', 'sync', tree, `s3://${bucket}/tree`, '--dryrun');
  t.equal(again.stdout.trim(), '', 'a second sync has nothing to do');

  // Change one file, delete another, add one; sync --delete mirrors it.
  writeFileSync(join(tree, 'top.txt'), 'changed top level, longer\n');
  rmSync(join(tree, 'a/b/c/three.txt'));
  writeFileSync(join(tree, 'a/new.txt'), 'new\n');
  await aws('s3', 'sync', tree, `s3://${bucket}/tree`, '--delete', '--only-show-errors', '--no-progress');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'tree/top.txt' })).toString(), 'changed top level, longer\n');
  t.notOk((await listKeys(s3, bucket)).includes('tree/a/b/c/three.txt'), 'deleted file removed by --delete');
  t.ok((await listKeys(s3, bucket)).includes('tree/a/new.txt'));

  const down = join(work, 'down');
  await aws('s3', 'sync', `s3://${bucket}/tree`, down, '--only-show-errors', '--no-progress');
  const local = readTree(tree);
  const fetched = readTree(down);
  t.same([...fetched.keys()].sort(), [...local.keys()].sort(), 'sync down recreates the tree');
  for (const [rel, data] of local) t.ok(fetched.get(rel)?.equals(data), `downloaded ${rel}`);

  const ls = await aws('s3', 'ls', '--recursive', `s3://${bucket}/`);
  const listed = ls.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(\d+) (.*)$/.exec(l);
      if (!m) throw new Error(`unexpected ls line: ${l}`);
      return [m[2]!, Number(m[1])] as const;
    });
  t.same(
    listed.map(([k, size]) => `${k}:${size}`).sort(),
    [...local].map(([rel, data]) => `tree/${rel}:${data.length}`).sort(),
    'ls --recursive lists every key with its size',
  );

  await aws('s3', 'rm', '--recursive', `s3://${bucket}/tree/a`, '--only-show-errors');
  t.same((await listKeys(s3, bucket)).filter((k) => k.startsWith('tree/a/')), [], 'rm --recursive of a prefix');
  t.ok((await listKeys(s3, bucket)).includes('tree/top.txt'), 'keys outside the prefix stay');
  await aws('s3', 'rm', '--recursive', `s3://${bucket}/`, '--only-show-errors');
  t.same(await listKeys(s3, bucket), [], 'rm --recursive empties the bucket');
  await aws('s3', 'rb', `s3://${bucket}`);
});

t.test('aws s3api list-objects and list-object-versions print prefixes and keys as stored', { skip: NO_AWS }, async (t) => {
  // botocore asks for encoding-type=url and decodes keys and markers, but not a v1 listing's
  // Prefix: S3 leaves '/' unencoded, and s3d's '%2F' there reached the user as "x%2F".
  const bucket = await createBucket(s3, 'cliprefix');
  const keys = ['x/a b+c.txt', 'x/ü/€', 'x/100%.txt'];
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }));
  const v1 = JSON.parse((await aws('s3api', 'list-objects', '--bucket', bucket, '--prefix', 'x/')).stdout) as { Prefix: string; Contents: Array<{ Key: string }> };
  t.equal(v1.Prefix, 'x/', 'list-objects: "Prefix": "x/"');
  t.same(v1.Contents.map((c) => c.Key), [...keys].sort(), 'list-objects: keys decoded back');
  const versions = JSON.parse((await aws('s3api', 'list-object-versions', '--bucket', bucket, '--prefix', 'x/', '--max-items', '5', '--page-size', '1')).stdout) as { Versions: Array<{ Key: string }> };
  t.same(versions.Versions.map((c) => c.Key), [...keys].sort(), 'list-object-versions pages of one: keys decoded back');
});

t.test('minio client: fPutObject/fGetObject through multipart, listObjectsV2', async (t) => {
  const mc = minioClient(d, { partSize: 5 * MiB });
  const bucket = bucketName('minio');
  await mc.makeBucket(bucket, REGION);
  t.equal(await mc.bucketExists(bucket), true);
  const body = testBytes(12 * MiB + 333, 9);
  const src = join(work, 'minio.bin');
  writeFileSync(src, body);
  const up = await mc.fPutObject(bucket, 'docs/minio.bin', src, { 'Content-Type': 'application/x-test', 'x-amz-meta-origin': 'minio' });
  t.equal(`"${up.etag}"`, multipartETag(body, 5 * MiB), 'three 5 MiB parts');
  const stat = await mc.statObject(bucket, 'docs/minio.bin');
  t.equal(stat.size, body.length);
  t.equal(stat.metaData['content-type'], 'application/x-test');
  t.equal(stat.metaData.origin, 'minio');
  const back = join(work, 'minio.back');
  await mc.fGetObject(bucket, 'docs/minio.bin', back);
  t.ok(readFileSync(back).equals(body), 'fGetObject gives the same bytes');

  await mc.putObject(bucket, 'docs/small.txt', Buffer.from('small'));
  await mc.putObject(bucket, 'docs/deep/x.txt', Buffer.from('x'));
  await mc.putObject(bucket, 'other.txt', Buffer.from('o'));
  const collect = (prefix: string, recursive: boolean, startAfter?: string): Promise<BucketItem[]> =>
    new Promise((resolve, reject) => {
      const items: BucketItem[] = [];
      const stream = mc.listObjectsV2(bucket, prefix, recursive, startAfter);
      stream.on('data', (i) => items.push(i));
      stream.on('error', reject);
      stream.on('end', () => resolve(items));
    });
  t.same((await collect('', true)).map((i) => i.name), ['docs/deep/x.txt', 'docs/minio.bin', 'docs/small.txt', 'other.txt']);
  const top = await collect('docs/', false);
  t.same(top.map((i) => i.name ?? `prefix:${i.prefix}`).sort(), ['docs/minio.bin', 'docs/small.txt', 'prefix:docs/deep/']);
  t.equal(top.find((i) => i.name === 'docs/minio.bin')?.size, body.length);
  t.same((await collect('', true, 'docs/minio.bin')).map((i) => i.name), ['docs/small.txt', 'other.txt'], 'startAfter');
  t.same(await mc.listIncompleteUploads(bucket, '', true).toArray(), [], 'no incomplete uploads left');
  await mc.removeObjects(bucket, ['docs/deep/x.txt', 'docs/minio.bin', 'docs/small.txt', 'other.txt']);
  t.same(await collect('', true), []);
});
