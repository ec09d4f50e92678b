// The aws CLI's own integration tests of `aws s3` (aws/aws-cli tests/integration/customizations/s3/
// test_plugin.py, which run against AWS), replayed with the real CLI against the daemon where they
// depend on what the server answers: `mv` local↔S3 and between buckets (copy and delete, the large
// one through UploadPartCopy), `cp` between keys with the metadata directive COPY, REPLACE and
// REPLACE with a new type, the headers `cp` sets (guessed types, none, a 0-byte file, a website
// redirect, the request payer), `sync` of names with `+`, spaces and `%` paged two at a time that
// finds nothing to do the second time (S3 to S3 too), `sync --delete` by a directory sharing a
// prefix, `--exact-timestamps`, `ls` of prefixes, and the exit codes and messages the tests expect
// when a bucket or key is missing, a bucket is not empty (versions too) or one key is too long.
// Plain HTTP (no SSE-C here: s3-client-paths and s3-tools-sse run it). Skipped without `aws`.

import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { bucketName, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { createBucket, getBytes, listKeys } from '../helpers/s3.js';
import { NO_AWS, awsEnv, runAwsText, type AwsResult } from '../helpers/aws-cli.js';

const MiB = 1024 * 1024;

const d = await startDaemonFor(t);
const s3 = d.s3();
const work = mkdtempSync(join(tmpdir(), 's3d-cli-plugin-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

// Path style, and a 5 MiB threshold so that a 6 MiB copy goes through UploadPartCopy.
const env = awsEnv(work, { config: '[default]\ns3 =\n    addressing_style = path\n    multipart_threshold = 5MB\n    multipart_chunksize = 5MB\n' });
const aws = (...args: string[]): Promise<AwsResult> => runAwsText(['--endpoint-url', d.endpoint, ...args], { env, cwd: work, timeout: 60_000 });
async function awsOk(...args: string[]): Promise<string> {
  const r = await aws(...args);
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  return r.stdout;
}
const q = ['--only-show-errors', '--no-progress'];
const head = (Bucket: string, Key: string): Promise<HeadObjectCommandOutput> => s3.send(new HeadObjectCommand({ Bucket, Key }));
const missing = (Bucket: string, Key: string): Promise<string> => head(Bucket, Key).then(() => 'found', (e: { name: string }) => e.name);

function files(root: string, tree: Record<string, Buffer | string>, mtime?: Date): void {
  for (const [rel, data] of Object.entries(tree)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), data);
    if (mtime !== undefined) utimesSync(join(root, rel), mtime, mtime);
  }
}

t.test('mv and cp: local to S3 and back, between buckets (large through UploadPartCopy), the metadata directive, the headers cp sets', { skip: NO_AWS }, async (t) => {
  const b1 = await createBucket(s3, 'plug-mv');
  const b2 = await createBucket(s3, 'plug-mv2');
  // test_copy_metadata_directive: COPY (the default) keeps every header, REPLACE drops them.
  const meta = { ContentType: 'foo', ContentDisposition: 'foo', ContentEncoding: 'foo', ContentLanguage: 'foo', CacheControl: '90' };
  await s3.send(new PutObjectCommand({ Bucket: b1, Key: 'orig', Body: 'foo', ...meta, Expires: new Date(0), Metadata: { keyname: 'value' } }));
  await awsOk('s3', 'cp', ...q, `s3://${b1}/orig`, `s3://${b1}/copied`);
  await awsOk('s3', 'cp', ...q, `s3://${b1}/orig`, `s3://${b1}/replaced`, '--metadata-directive', 'REPLACE');
  await awsOk('s3', 'cp', ...q, `s3://${b1}/orig`, `s3://${b1}/retyped`, '--metadata-directive', 'REPLACE', '--content-type', 'bar');
  t.match(await head(b1, 'copied'), { ...meta, ExpiresString: 'Thu, 01 Jan 1970 00:00:00 GMT', Metadata: { keyname: 'value' } }, 'cp keeps the source\'s headers and metadata');
  const replaced = await head(b1, 'replaced');
  t.same([replaced.ContentType, replaced.ContentDisposition, replaced.ContentEncoding, replaced.ContentLanguage, replaced.CacheControl, replaced.ExpiresString, replaced.Metadata], ['binary/octet-stream', undefined, undefined, undefined, undefined, undefined, {}], '--metadata-directive REPLACE: none of them');
  const retyped = await head(b1, 'retyped');
  t.same([retyped.ContentType, retyped.CacheControl, retyped.Metadata], ['bar', undefined, {}], 'REPLACE with --content-type: that type alone');

  // test_mv_s3_to_s3_multipart_recursive: a copy and a delete each, the large one in parts.
  const large = testBytes(6 * MiB + 11, 3);
  await s3.send(new PutObjectCommand({ Bucket: b1, Key: 'dir/largefile', Body: large }));
  await s3.send(new PutObjectCommand({ Bucket: b1, Key: 'dir/smallfile', Body: 'small file contents' }));
  await awsOk('s3', 'mv', ...q, '--recursive', `s3://${b1}/dir/`, `s3://${b2}/`);
  t.same(await listKeys(s3, b1, 'dir/'), [], 'mv --recursive: nothing left in the source');
  t.ok((await getBytes(s3, { Bucket: b2, Key: 'largefile' })).equals(large), 'the large one copied whole');
  t.match((await head(b2, 'largefile')).ETag, /-2"$/, 'through UploadPartCopy, two parts');
  t.equal((await getBytes(s3, { Bucket: b2, Key: 'smallfile' })).toString(), 'small file contents');

  // test_mv_local_to_s3 / test_mv_s3_to_local / test_mv_s3_to_s3, one after the other.
  const local = join(work, 'foo.txt');
  writeFileSync(local, 'this is foo.txt');
  await awsOk('s3', 'mv', ...q, local, `s3://${b1}/foo.txt`);
  t.notOk(existsSync(local), 'mv up: the file is gone');
  t.equal((await head(b1, 'foo.txt')).ContentType, 'text/plain', 'its type guessed from its name');
  await awsOk('s3', 'mv', ...q, `s3://${b1}/foo.txt`, `s3://${b2}/foo.txt`);
  await awsOk('s3', 'mv', ...q, `s3://${b2}/foo.txt`, local);
  t.equal(readFileSync(local, 'utf8'), 'this is foo.txt', 'mv down: the file is back');
  t.same([await missing(b1, 'foo.txt'), await missing(b2, 'foo.txt')], ['NotFound', 'NotFound'], 'and the objects are gone');

  // test_guess_mime_type, test_cp_empty_file, test_website_redirect_ignore_paramfile,
  // test_cp_with_request_payer: the headers an upload carries, or their absence.
  const up = join(work, 'up');
  files(up, { 'bar.jpeg': 'fake png image', 'empty.txt': '' });
  await awsOk('s3', 'cp', ...q, '--recursive', up, `s3://${b1}/up/`, '--website-redirect', 'http://someserver', '--request-payer');
  await awsOk('s3', 'cp', ...q, join(up, 'bar.jpeg'), `s3://${b1}/raw.jpeg`, '--no-guess-mime-type');
  t.match(await head(b1, 'up/bar.jpeg'), { ContentType: 'image/jpeg', WebsiteRedirectLocation: 'http://someserver' }, 'a guessed type and the redirect');
  t.match(await head(b1, 'up/empty.txt'), { ContentType: 'text/plain', ContentLength: 0 }, 'a 0-byte file');
  t.equal((await head(b1, 'raw.jpeg')).ContentType, 'binary/octet-stream', '--no-guess-mime-type: S3\'s default type');
});

t.test('sync: +, spaces and % paged by two find nothing the second time, S3 to S3 too; --delete by a shared prefix; --exact-timestamps', { skip: NO_AWS }, async (t) => {
  const b1 = await createBucket(s3, 'plug-sync');
  const b2 = await createBucket(s3, 'plug-sync2');
  const tree = join(work, 'sync');
  // test_sync_with_plus_chars_paginate, test_s3_to_s3_sync_with_plus_char_paginate,
  // test_sync_no_resync, test_sync_with_delete_option_with_same_prefix, test_sync_file_with_spaces,
  // test_sync_with_empty_files; mtimes in the past so that only names and sizes count.
  const names: Record<string, string> = { 'xyz123456789': 'test1', 'xyz1/test': 'test2', 'xyz/test': 'test3', 'test/foo.txt': 'foo.txt contents', 'test-123.txt': 'a', 'test-321.txt': 'b', 'test.txt': 'c', 'with space.txt': 'contents', 'pct%41 100%.txt': '%', 'bar.txt': '' };
  for (let i = 0; i < 4; i++) Object.assign(names, { [`foo +00000${i}`]: '', [`foo+${i}`]: `${i}` });
  files(tree, names, new Date(Date.now() - 300_000));
  await awsOk('s3', 'sync', ...q, tree, `s3://${b1}/`, '--page-size', '2');
  t.same(await listKeys(s3, b1), Object.keys(names).sort(), 'every file under its name');
  t.equal(await awsOk('s3', 'sync', tree, `s3://${b1}/`, '--page-size', '2'), '', 'a second sync up uploads nothing');
  await awsOk('s3', 'sync', ...q, `s3://${b1}/`, `s3://${b2}/`, '--page-size', '2');
  t.same(await listKeys(s3, b2), Object.keys(names).sort(), 'sync S3 to S3 copies every key');
  t.equal(await awsOk('s3', 'sync', `s3://${b1}/`, `s3://${b2}/`, '--page-size', '2'), '', 'a second sync S3 to S3 copies nothing');
  t.equal(await awsOk('s3', 'sync', `s3://${b1}/`, tree, '--dryrun', '--delete'), '', 'sync down --delete: test/ does not hide test-123.txt, test.txt');

  // A download takes the listing's LastModified as its mtime: --exact-timestamps then agrees.
  const down = join(work, 'sync-down');
  await awsOk('s3', 'sync', ...q, `s3://${b2}/`, down);
  for (const [rel, data] of Object.entries(names)) t.equal(readFileSync(join(down, rel), 'utf8'), data, `downloaded ${rel}`);
  t.equal(await awsOk('s3', 'sync', `s3://${b2}/`, down, '--exact-timestamps', '--delete'), '', '--exact-timestamps: nothing to download again');
});

t.test('exit codes and messages: missing bucket or key, a prefix that matches nothing, a bucket not empty, a key too long', { skip: NO_AWS }, async (t) => {
  const b = await createBucket(s3, 'plug-err');
  const none = bucketName('plug-none');
  const foo = join(work, 'err-foo.txt');
  writeFileSync(foo, 'this is foo.txt');
  // test_cp_to_nonexistent_bucket, test_error_output, test_sync_to_nonexistent_bucket,
  // test_ls_non_existent_bucket, test_download_non_existent_key.
  const cpNone = await aws('s3', 'cp', foo, `s3://${none}/foo.txt`);
  t.equal(cpNone.code, 1, 'cp into a missing bucket: 1');
  t.match(cpNone.stderr, /upload failed: .* An error occurred \(NoSuchBucket\) when calling the PutObject operation: The specified bucket does not exist/);
  t.equal((await aws('s3', 'sync', join(work, 'up'), `s3://${none}`)).code, 1, 'sync into a missing bucket: 1');
  const lsNone = await aws('s3', 'ls', `s3://${none}`);
  t.same([lsNone.code, lsNone.stdout], [255, ''], 'ls of a missing bucket: 255, nothing listed');
  t.match(lsNone.stderr, 'An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does not exist');
  const getNone = await aws('s3', 'cp', `s3://${b}/foo.txt`, join(work, 'err-down.txt'));
  t.equal(getNone.code, 1, 'cp of a missing key: 1');
  t.match(getNone.stderr, 'An error occurred (404) when calling the HeadObject operation: Key "foo.txt" does not exist');

  // TestLs: test_ls_with_prefix, test_only_prefix, test_ls_fail.
  for (const k of ['foo.txt', 'foo', 'bar.txt', 'subdir/foo.txt']) await s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: 'contents' }));
  const ls = await awsOk('s3', 'ls', `s3://${b}`);
  t.match(ls, /PRE subdir\/\n/);
  for (const k of ['foo.txt', 'foo', 'bar.txt']) t.match(ls, new RegExp(` 8 ${k.replace('.', '\\.')}\n`), `ls lists ${k}`);
  t.match(await awsOk('s3', 'ls', `s3://${b}/subdir/foo.txt`), / 8 foo\.txt\n$/, 'ls of a whole key without a trailing slash');
  t.equal((await aws('s3', 'ls', `s3://${b}/nothing`)).code, 1, 'ls of a prefix that matches nothing: 1');

  // test_error_and_success_output_only_show_errors: one key over 1,024 bytes fails alone.
  const tooLong = join(work, 'too-long');
  files(tooLong, { f: 'foo contents', 'bar.txt': 'bar contents' });
  const long = 'd'.repeat(1022);
  const partly = await aws('s3', 'cp', tooLong, `s3://${b}/${long}/`, '--only-show-errors', '--recursive');
  t.same([partly.code, partly.stdout], [1, ''], 'one upload failed: 1');
  t.match(partly.stderr, /upload failed: .*bar\.txt .*\(KeyTooLongError\)/);
  t.equal((await head(b, `${long}/f`)).ContentLength, 12, 'the other was stored');

  // TestMbRb; rb --force of a versioned bucket deletes the current objects and then fails on the
  // versions and delete markers it leaves, as on S3.
  const rb = await aws('s3', 'rb', `s3://${b}`);
  t.equal(rb.code, 1, 'rb of a bucket not empty: 1');
  t.match(rb.stderr, /remove_bucket failed: .*\(BucketNotEmpty\)/);
  const v = await createBucket(s3, 'plug-ver');
  await s3.send(new PutBucketVersioningCommand({ Bucket: v, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new PutObjectCommand({ Bucket: v, Key: 'doc', Body: 'v1' }));
  const rbv = await aws('s3', 'rb', '--force', `s3://${v}`);
  t.equal(rbv.code, 1, 'rb --force of a versioned bucket: 1');
  t.match(rbv.stdout, `delete: s3://${v}/doc`);
  t.match(rbv.stderr, /remove_bucket failed: .*\(BucketNotEmpty\)/);
  t.same(await listKeys(s3, v), [], 'its current object was deleted');
  t.equal(await missing(v, 'doc'), 'NotFound');
});
