// smart_open and cloudpathlib, two Python IO libraries over boto3, run for real against the built
// daemon as their users drive them. smart_open streams s3:// URLs: its writer buffers parts itself
// (5 MiB here: a 12 MiB file is three parts; a small one is a one-part upload; an empty one an
// aborted upload and a PutObject; multipart_upload=False one PutObject), its reader makes ranged
// GETs, seeks from every whence and reads at and past the end (a 416 InvalidRange whose
// ActualObjectSize it takes for the size). cloudpathlib's S3Path is pathlib over S3: directories
// are prefixes found by ListObjectsV2 (with and without a delimiter), copies are CopyObject or
// UploadPartCopy, rmtree is DeleteObjects. SSE modes go in where the libraries pass them:
// smart_open's client_kwargs per boto3 call, cloudpathlib's extra_args. test/fixtures/python-io/
// programs.py runs one scenario per call and prints JSON; the assertions compare it with digests
// of the inputs and with what the SDK finds. The venv is made from wheels on disk
// (helpers/lake-venv.ts): skipped when python3 or the wheels are missing.

import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { ACCESS_KEY, ROOT, SECRET_KEY, bucketName, startPlainAndTls, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { md5Hex, sha256Hex } from '../helpers/hash.js';
import { pythonIoVenv } from '../helpers/lake-venv.js';
import { pythonEnv } from '../helpers/python.js';
import { getBytes, listKeys } from '../helpers/s3.js';
import { KMS_KEY_ARN, KMS_KEY_ID, ssec } from '../helpers/sse.js';

const MiB = 1024 * 1024;
const PROGRAMS = join(ROOT, 'test/fixtures/python-io/programs.py');

const venv = pythonIoVenv();
if ('skip' in venv) {
  t.plan(0, `${venv.skip}: skipping smart_open and cloudpathlib`);
} else {
  await suite(venv.python, venv.versions);
}

async function suite(python: string, versions: Record<string, string>): Promise<void> {
  t.comment(`smart_open ${versions.smart_open}, cloudpathlib ${versions.cloudpathlib}, boto3 ${versions.boto3}`);
  const work = mkdtempSync(join(tmpdir(), 's3d-pyio-'));
  const { plain, tls, caFile } = await startPlainAndTls(t, work);
  const big = testBytes(12 * MiB + 17, 3);
  const small = big.subarray(0, 1000);
  writeFileSync(join(work, 'big.bin'), big);
  const ssecKey = randomBytes(32);
  const sha = (b: Buffer): string => sha256Hex(b);
  const at = (o: number, n: number): string => sha(big.subarray(o, o + n));

  /** Runs one programs.py scenario against `d` and parses what it printed. */
  function run<T>(scenario: string, d: TestDaemon, ...buckets: string[]): Promise<T> {
    const env = pythonEnv(work, {
      S3D_ACCESS_KEY: ACCESS_KEY,
      S3D_SECRET_KEY: SECRET_KEY,
      S3D_WORK: work,
      S3D_SSEC_KEY: ssecKey.toString('base64'),
      S3D_KMS_KEY: KMS_KEY_ID,
      ...(d === tls ? { S3D_CA_BUNDLE: caFile } : {}),
    });
    return new Promise((resolve, reject) => {
      execFile(python, [PROGRAMS, scenario, d.endpoint, ...buckets], { env, maxBuffer: 16 * MiB, timeout: 120_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${scenario} failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as T);
      });
    });
  }

  async function created(s3: S3Client, prefix: string): Promise<string> {
    const b = bucketName(prefix);
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    return b;
  }

  const noUploadsLeft = async (t: Test, s3: S3Client, Bucket: string): Promise<void> => {
    t.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads, undefined, `${Bucket}: no upload is left open`);
  };

  t.test(`smart_open ${versions.smart_open} over http`, async (t) => {
    const s3 = plain.s3();
    const b = await created(s3, 'smartopen');
    const out = await run<Record<string, unknown>>('smart_open', plain, b);
    t.same(out.read, { 'big.bin': sha(big), 'small.bin': sha(small), 'single.bin': sha(big.subarray(0, 3 * MiB)), 'empty.bin': sha(Buffer.alloc(0)) }, 'every write reads back whole');
    t.equal(out.read_chunked, sha(big), 'read in range_chunk_size pieces');
    t.ok((await getBytes(s3, { Bucket: b, Key: 'big.bin' })).equals(big), 'the SDK reads the streamed 12 MiB write byte for byte');
    const head = async (Key: string): Promise<{ etag?: string; size?: number }> => {
      const h = await s3.send(new HeadObjectCommand({ Bucket: b, Key }));
      return { etag: h.ETag, size: h.ContentLength };
    };
    t.match(await head('big.bin'), { etag: /-3"$/, size: big.length }, 'written in three parts of min_part_size (5 MiB, 5 MiB, the rest)');
    t.match(await head('small.bin'), { etag: /-1"$/, size: 1000 }, 'a small write is a one-part multipart upload');
    t.same(await head('single.bin'), { etag: `"${md5Hex(big.subarray(0, 3 * MiB))}"`, size: 3 * MiB }, 'multipart_upload=False is one PutObject (an MD5 ETag)');
    t.same(await head('empty.bin'), { etag: `"${md5Hex(Buffer.alloc(0))}"`, size: 0 }, 'an empty write: its upload aborted, then an empty PutObject');
    const gz = await getBytes(s3, { Bucket: b, Key: 'dir/lines.txt.gz' });
    const text = gunzipSync(gz).toString('utf8').split('\n');
    t.same([text.length, text[0], text[1999]], [2001, 'line 0 ünïcödé', 'line 1999 ünïcödé'], 'a .gz text write is gzip, as the SDK reads it');
    t.same(out.lines, [2000, 'line 0 ünïcödé\n', 'line 1999 ünïcödé\n'], '... and smart_open decompresses it line by line');
    t.equal(out.gzip_magic, '1f8b', "compression='disable' reads the stored bytes");
    const end = big.length;
    t.same(
      out.seeks,
      {
        seek_set: [5 * MiB + 3, at(5 * MiB + 3, 100), 5 * MiB + 103],
        seek_cur: [5 * MiB + 53, at(5 * MiB + 53, 50)],
        seek_end: [end - 500, at(end - 500, 500)],
        at_eof: [end, '', ''],
        past_eof: [end, '', end],
        back: [0, at(0, 2 * MiB)],
        middle: [9 * MiB + 1, at(9 * MiB + 1, 2 * MiB)],
        end_zero: [end, ''],
        fresh_past_eof: [end, '', end],
        fresh_tail: [end - 100, at(end - 100, 100)],
        tail_longer: [0, sha(small)],
        empty: [0, '', 0, ''],
        defer_seek: [end - 10, at(end - 10, 10)],
      },
      'seeks from the start, the current position and the end read the bytes there; at and past the end they read nothing',
    );
    t.match(out.missing, /^OSError: .*NoSuchKey/, 'reading nothing: NoSuchKey');
    t.match(out.missing_bucket, /^ValueError: .*NoSuchBucket.*CreateMultipartUpload/, 'writing into no bucket: NoSuchBucket');
    await noUploadsLeft(t, s3, b);
  });

  t.test(`smart_open ${versions.smart_open} SSE-S3, SSE-KMS and SSE-C over https`, async (t) => {
    const s3 = tls.s3();
    const b = await created(s3, 'smartopensse');
    const out = await run<Record<string, unknown>>('smart_open_sse', tls, b);
    t.same(out.read, { 'sse-s3.bin': sha(big), 'sse-kms.bin': at(0, MiB) }, 'SSE-S3 and SSE-KMS writes read back');
    const s3h = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'sse-s3.bin' }));
    t.match([s3h.ServerSideEncryption, s3h.ETag], ['AES256', /-3"$/], 'client_kwargs for create_multipart_upload: a multipart SSE-S3 object');
    const kms = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'sse-kms.bin' }));
    t.same([kms.ServerSideEncryption, kms.SSEKMSKeyId], ['aws:kms', KMS_KEY_ARN], 'client_kwargs for put_object: SSE-KMS under the key named');
    const c = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'sse-c.bin', ...ssec(ssecKey) }));
    t.match([c.SSECustomerAlgorithm, c.ContentLength, c.ETag], ['AES256', big.length, /-3"$/], 'SSE-C given to create_multipart_upload and upload_part (not to the completion)');
    t.ok((await getBytes(s3, { Bucket: b, Key: 'sse-c.bin', ...ssec(ssecKey) })).equals(big), '... which the SDK reads with the key');
    t.same(out.ssec, [sha(big), 7 * MiB, at(7 * MiB, MiB)], 'smart_open reads it with get_object client_kwargs, seeks too');
    t.match(out.ssec_no_key, /^OSError: .*InvalidRequest/, '... and is refused without the key');
    await noUploadsLeft(t, s3, b);
  });

  t.test(`cloudpathlib ${versions.cloudpathlib} over http`, async (t) => {
    const s3 = plain.s3();
    const b = await created(s3, 'cloudpath');
    const other = await created(s3, 'cloudpath2');
    const out = await run<Record<string, unknown>>('cloudpathlib', plain, b, other);
    const u = (p: string): string => `s3://${b}${p === '' ? '' : `/${p}`}`;
    t.same(out.bucket_exists, [true, true, false], 'a bucket is a directory that exists (HeadBucket); a missing one does not');
    t.same([out.before, out.after_mkdir], [[false, false], [false, false]], 'mkdir writes no directory object: the directory appears with its first file');
    t.same(
      out.kinds,
      { dir: [true, true, false], 'dir/': [true, true, false], 'dir/a.txt': [true, false, true], 'dir/sub': [true, true, false], 'dir2/deep': [true, true, false], missing: [false, false, false], 'dir/a': [false, false, false] },
      'exists/is_dir/is_file: a HEAD, then a one-key listing of the prefix with a slash (dir/a is no directory of dir/a.txt)',
    );
    t.same(out.read, ['hello ünïcödé', sha(small)], 'read_text and read_bytes');
    t.equal(out.download, sha(big), 'download_to of a multipart upload_from');
    t.equal(out.open_seek, at(big.length - 100, 100), 'open, seek and read');
    t.same(out.stat, [1000, true], 'stat: size and mtime');
    t.same(out.iterdir_root, [u('dir'), u('dir2'), u('top.txt')], 'iterdir of the bucket: common prefixes and keys (a delimiter listing)');
    t.same(out.iterdir_dir, ['a.txt', 'b.bin', 'big.bin', 'sub'].map((k) => u(`dir/${k}`)), 'iterdir of a directory');
    t.same(out.glob_txt, [u('dir/a.txt')], 'glob');
    t.same(out.glob_root, out.iterdir_root, 'glob * of the bucket');
    t.same(out.rglob_txt, [u('dir/a.txt'), u('dir/sub/c.txt'), u('top.txt')], 'rglob (a listing without a delimiter)');
    t.same(out.rglob_all, ['dir', 'dir/a.txt', 'dir/b.bin', 'dir/big.bin', 'dir/sub', 'dir/sub/c.txt', 'dir2', 'dir2/deep', 'dir2/deep/x.bin', 'top.txt'].map(u), 'rglob * finds every file and every implied directory once');
    t.same(
      out.walk,
      [
        [u(''), ['dir', 'dir2'], ['top.txt']],
        [u('dir'), ['sub'], ['a.txt', 'b.bin', 'big.bin']],
        [u('dir/sub'), [], ['c.txt']],
        [u('dir2'), ['deep'], []],
        [u('dir2/deep'), [], ['x.bin']],
      ],
      'walk',
    );
    t.same(out.moved, [u('moved/b.bin'), false, sha(small)], 'rename: the copy reads back, the source is gone');
    t.same(out.copies, ['hello ünïcödé'], 'copy within the bucket');
    t.same(out.copytree, [u('dir3/deep'), u('dir3/deep/x.bin')], 'copytree');
    t.match(out.unlink, [false, /^FileNotFoundError/], 'unlink, then unlink(missing_ok=False) of nothing');
    t.same(out.after_rmtree, [false, ['copies', 'dir2', 'dir3', 'moved'].map(u)], 'rmtree removes the directory and all below it');
    t.match(out.rmtree_file, /^CloudPathNotADirectoryError/, 'rmtree of a file is refused');
    t.match(out.read_missing, /^CloudPathFileNotFoundError/, 'reading nothing: not found');
    t.same(await listKeys(s3, b), ['copies/a.txt', 'dir2/deep/x.bin', 'dir3/deep/x.bin', 'moved/b.bin'], 'what is left, as the SDK lists it: no directory objects');
    const copied = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'copies/a.txt' }));
    t.equal(copied.ContentType, 'text/plain', 'the copy keeps the type cloudpathlib guessed from the name');
    t.ok((await getBytes(s3, { Bucket: other, Key: 'big.bin' })).equals(big), 'copy to another bucket, byte for byte');
    t.match((await s3.send(new HeadObjectCommand({ Bucket: other, Key: 'big.bin' }))).ETag, /-3"$/, '... by UploadPartCopy in 5 MiB parts (boto3_transfer_config)');
    await noUploadsLeft(t, s3, b);
  });

  t.test(`cloudpathlib ${versions.cloudpathlib} SSE-KMS and SSE-C extra_args over https`, async (t) => {
    const s3 = tls.s3();
    const b = await created(s3, 'cloudpathsse');
    const out = await run<Record<string, unknown>>('cloudpathlib_sse', tls, b);
    t.same(out.kms, ['kms text', sha(big)], 'SSE-KMS writes, upload_from and copy read back');
    for (const Key of ['kms/a.txt', 'kms/a-copy.txt', 'kms/big.bin']) {
      const h = await s3.send(new HeadObjectCommand({ Bucket: b, Key }));
      t.same([h.ServerSideEncryption, h.SSEKMSKeyId], ['aws:kms', KMS_KEY_ARN], `${Key}: SSE-KMS under the key in extra_args`);
    }
    t.same(out.ssec_kinds, [true, true], 'is_file HEADs with the SSE-C key');
    t.equal(out.ssec_stat, big.length, 'stat');
    t.same(out.ssec, ['ssec text', sha(big)], 'SSE-C copy and rename read back');
    t.same(out.ssec_listing, ['a-copy.txt', 'a.txt', 'big-moved.bin'].map((k) => `s3://${b}/c/${k}`), 'the renamed source is gone');
    for (const Key of ['c/a.txt', 'c/a-copy.txt', 'c/big-moved.bin']) {
      const h = await s3.send(new HeadObjectCommand({ Bucket: b, Key, ...ssec(ssecKey) }));
      t.equal(h.SSECustomerAlgorithm, 'AES256', `${Key}: SSE-C under the key in extra_args`);
    }
    t.ok((await getBytes(s3, { Bucket: b, Key: 'c/big-moved.bin', ...ssec(ssecKey) })).equals(big), 'the renamed SSE-C object, byte for byte');
    // S3 answers a HEAD of an SSE-C object without its key 400 with no body (HeadObject API
    // reference); cloudpathlib takes any ClientError of its HEAD for "no such file", looks for a
    // directory of that name, finds none and reports the file missing, as it would on AWS.
    t.match(out.ssec_no_key, /^CloudPathFileNotFoundError/, 'read without the key: the failed HEAD reads as "no such file"');
    await noUploadsLeft(t, s3, b);
  });
}
