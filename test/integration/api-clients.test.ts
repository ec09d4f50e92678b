// Third-party clients against the real daemon (issue 2, "Tests" and "Done when"): the minio
// npm client, and the aws CLI's s3api commands (skipped with a message when `aws` is absent).
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Client as MinioClient } from 'minio';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { md5Hex } from '../helpers/hash.js';
import { minioClient } from '../helpers/minio.js';
import { AWS_VERSION, NO_AWS, runAwsText, type AwsResult } from '../helpers/aws-cli.js';

let d: TestDaemon;
let work: string;

t.before(async () => {
  d = await startDaemon();
  work = mkdtempSync(join(tmpdir(), 's3d-clients-'));
});
t.teardown(async () => {
  await d.stop();
  d.cleanup();
  rmSync(work, { recursive: true, force: true });
});


async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(parts);
}

function minio(agent?: Agent): MinioClient {
  return minioClient(d, agent ? { transportAgent: agent } : {});
}

interface ObjInfo {
  name?: string;
  size?: number;
  etag?: string;
}

async function listV2(c: MinioClient, bucket: string, prefix = '', recursive = true): Promise<ObjInfo[]> {
  const out: ObjInfo[] = [];
  for await (const item of c.listObjectsV2(bucket, prefix, recursive)) out.push(item as ObjInfo);
  return out;
}

t.test('minio npm client: makeBucket, putObject, fPutObject/fGetObject, statObject, getPartialObject, listObjectsV2, removeObject', async (t) => {
  const c = minio();
  const b = bucketName('minio');
  await c.makeBucket(b, REGION);
  t.equal(await c.bucketExists(b), true, 'bucketExists after makeBucket');
  t.equal(await c.bucketExists(bucketName('nope')), false, 'bucketExists of a missing bucket');
  await t.resolves(c.makeBucket(b, REGION), 'makeBucket twice: us-east-1 answers 200, as S3 does');
  t.ok((await c.listBuckets()).some((x) => x.name === b), 'listBuckets');

  const small = Buffer.from('hello from minio-js');
  const r1 = await c.putObject(b, 'dir/small.txt', small, small.length, { 'Content-Type': 'text/plain', 'X-Amz-Meta-Origin': 'minio' });
  t.equal(r1.etag, md5Hex(small), 'putObject(Buffer) ETag is the MD5');
  const big = testBytes(12 * 1024 * 1024 + 5, 77);
  const r2 = await c.putObject(b, 'dir/stream.bin', Readable.from([big.subarray(0, 5_000_000), big.subarray(5_000_000)]), big.length);
  t.equal(r2.etag, md5Hex(big), 'putObject(stream) of 12 MiB, single PUT');

  const file = join(work, 'upload.bin');
  const fileBytes = testBytes(3 * 1024 * 1024 + 1, 78);
  writeFileSync(file, fileBytes);
  const r3 = await c.fPutObject(b, 'files/upload.bin', file, { 'Content-Type': 'application/x-upload' });
  t.equal(r3.etag, md5Hex(fileBytes), 'fPutObject ETag');
  const down = join(work, 'download.bin');
  await c.fGetObject(b, 'files/upload.bin', down);
  t.ok(readFileSync(down).equals(fileBytes), 'fGetObject writes the exact bytes');

  const st = await c.statObject(b, 'dir/small.txt');
  t.equal(st.size, small.length, 'statObject size');
  t.equal(st.etag, md5Hex(small), 'statObject etag');
  t.equal(st.metaData['content-type'], 'text/plain', 'statObject content-type');
  t.equal(st.metaData.origin, 'minio', 'statObject user metadata');
  t.ok(st.lastModified instanceof Date);
  await t.rejects(c.statObject(b, 'missing'), { code: 'NotFound' }, 'statObject of a missing key');

  t.ok((await readAll(await c.getObject(b, 'dir/stream.bin'))).equals(big), 'getObject streams the 12 MiB back');
  t.ok((await readAll(await c.getPartialObject(b, 'dir/stream.bin', 4_999_990, 20))).equals(big.subarray(4_999_990, 5_000_010)), 'getPartialObject(offset, length)');
  t.ok((await readAll(await c.getPartialObject(b, 'dir/stream.bin', big.length - 7))).equals(big.subarray(big.length - 7)), 'getPartialObject(offset) to the end');
  await t.rejects(c.getObject(b, 'missing'), { code: 'NoSuchKey' }, 'getObject of a missing key');

  const all = await listV2(c, b);
  t.strictSame(all.map((o) => o.name), ['dir/small.txt', 'dir/stream.bin', 'files/upload.bin'], 'listObjectsV2 recursive');
  t.strictSame(all.map((o) => o.size), [small.length, big.length, fileBytes.length], 'listObjectsV2 sizes');
  const top = await listV2(c, b, '', false);
  t.strictSame(top.map((o) => (o as { prefix?: string }).prefix ?? o.name), ['dir/', 'files/'], 'listObjectsV2 with delimiter: common prefixes');
  t.strictSame((await listV2(c, b, 'dir/')).map((o) => o.name), ['dir/small.txt', 'dir/stream.bin'], 'listObjectsV2 with a prefix');

  await c.removeObject(b, 'dir/small.txt');
  await c.removeObject(b, 'never-existed');
  t.pass('removeObject of a missing key succeeds');
  await t.rejects(c.removeBucket(b), { code: 'BucketNotEmpty' }, 'removeBucket with objects');
  await c.removeObject(b, 'dir/stream.bin');
  await c.removeObject(b, 'files/upload.bin');
  t.strictSame(await listV2(c, b), [], 'empty after removeObject');
  await c.removeBucket(b);
  t.equal(await c.bucketExists(b), false, 'removeBucket');
});

t.test('minio npm client on one kept-alive connection: statObject (HEAD), then GET and PUT', async (t) => {
  // minio-js does not retry: a connection the daemon drops after a HEAD fails the next call.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const c = minio(agent);
  const b = bucketName('minio-ka');
  await c.makeBucket(b, REGION);
  await c.putObject(b, 'k', Buffer.from('keep-alive'));
  t.equal((await c.statObject(b, 'k')).size, 10);
  const after = await c
    .getObject(b, 'k')
    .then(readAll)
    .catch((err: Error) => err);
  t.notOk(after instanceof Error, `getObject right after statObject: ${after instanceof Error ? after.message : 'ok'}`);
  if (!(after instanceof Error)) t.equal(after.toString(), 'keep-alive');
  const stat2 = await c.statObject(b, 'k').catch((err: Error) => err);
  const put = await c.putObject(b, 'k2', Readable.from([Buffer.from('streamed')]), 8).catch((err: Error) => err);
  t.notOk(stat2 instanceof Error, 'statObject');
  t.notOk(put instanceof Error, `putObject after statObject: ${put instanceof Error ? put.message : 'ok'}`);
});

t.test('minio npm client with no region against a daemon in eu-west-3: listBuckets, putObject, getObject', async (t) => {
  // Clients that know no region (minio-js, minio-go, mc) sign ListBuckets and GetBucketLocation
  // with us-east-1 and then use the region GetBucketLocation reports.
  const eu = await startDaemon({ env: { S3_REGION: 'eu-west-3' } });
  t.teardown(async () => {
    await eu.stop();
    eu.cleanup();
  });
  const c = minioClient(eu, { region: undefined });
  const b = bucketName('minio-eu');
  await c.makeBucket(b, 'eu-west-3');
  t.ok((await c.listBuckets()).some((x) => x.name === b), 'listBuckets, signed for us-east-1');
  t.equal(await new Promise<string>((resolve, reject) => c.getBucketRegion(b, (err: unknown, region: string) => (err ? reject(err as Error) : resolve(region)))), 'eu-west-3', 'getBucketRegion finds the real region');
  const body = Buffer.from('stored in eu-west-3');
  t.equal((await c.putObject(b, 'k', body)).etag, md5Hex(body), 'putObject, signed for the region found');
  t.ok((await readAll(await c.getObject(b, 'k'))).equals(body), 'getObject');
  t.equal((await c.statObject(b, 'k')).size, body.length, 'statObject');

  // A client configured with the wrong region is refused, told the right one in the error.
  const wrong = minioClient(eu, { region: 'us-east-1' });
  await t.rejects(wrong.putObject(b, 'k2', body), { code: 'AuthorizationHeaderMalformed', region: 'eu-west-3' }, 'a wrong region is refused, naming the right one');
  t.ok((await wrong.listBuckets()).some((x) => x.name === b), 'its listBuckets still works');
});

function awsCli(args: string[]): Promise<AwsResult> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: work,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_DEFAULT_REGION: REGION,
    // Keep the host's own AWS config out of it.
    AWS_CONFIG_FILE: join(work, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  return runAwsText(['--endpoint-url', d.endpoint, '--output', 'json', ...args], { env, timeout: 60_000 });
}

function json(r: AwsResult): Record<string, unknown> {
  return r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>);
}

t.test('aws CLI s3api: create-bucket, put-object, get-object, head-object, list-buckets, delete-object, delete-bucket', { skip: NO_AWS }, async (t) => {
  t.comment(`using ${AWS_VERSION}`);
  const b = bucketName('cli');
  const ok = async (args: string[], what: string): Promise<Record<string, unknown>> => {
    const r = await awsCli(args);
    t.equal(r.code, 0, `${what} exits 0${r.code === 0 ? '' : `: ${r.stderr.trim()}`}`);
    return json(r);
  };
  const fails = async (args: string[], code: string, what: string): Promise<void> => {
    const r = await awsCli(args);
    t.not(r.code, 0, `${what} fails`);
    t.match(r.stderr, new RegExp(`\\(${code}\\)`), `${what}: (${code})`);
  };

  const created = await ok(['s3api', 'create-bucket', '--bucket', b], 'create-bucket');
  t.equal(created.Location, `/${b}`);

  const small = join(work, 'cli-small.txt');
  writeFileSync(small, 'hello from the aws cli\n');
  // botocore sends file bodies with Expect: 100-continue.
  const bigFile = join(work, 'cli-big.bin');
  const big = testBytes(6 * 1024 * 1024 + 3, 90);
  writeFileSync(bigFile, big);
  const bigKey = 'big/file with spaces+plus.bin';
  const [put, putBig] = await Promise.all([
    ok(['s3api', 'put-object', '--bucket', b, '--key', 'docs/hello.txt', '--body', small, '--content-type', 'text/plain', '--metadata', 'origin=cli'], 'put-object'),
    ok(['s3api', 'put-object', '--bucket', b, '--key', bigKey, '--body', bigFile], 'put-object 6 MiB'),
    ok(['s3api', 'create-bucket', '--bucket', b], 'create-bucket twice (us-east-1: 200, as S3)'),
  ]);
  t.equal(put.ETag, `"${md5Hex(readFileSync(small))}"`, 'put-object ETag');
  t.equal(putBig.ETag, `"${md5Hex(big)}"`, 'put-object 6 MiB ETag');

  // Independent reads, in parallel (each CLI command takes a while).
  const out = join(work, 'cli-get.bin');
  const [got, head, buckets, ranged] = await Promise.all([
    ok(['s3api', 'get-object', '--bucket', b, '--key', bigKey, out], 'get-object'),
    ok(['s3api', 'head-object', '--bucket', b, '--key', 'docs/hello.txt'], 'head-object'),
    ok(['s3api', 'list-buckets'], 'list-buckets'),
    awsCli(['s3api', 'get-object', '--bucket', b, '--key', bigKey, '--range', 'bytes=100-199', join(work, 'cli-range.bin')]),
    fails(['s3api', 'get-object', '--bucket', b, '--key', 'missing', join(work, 'x')], 'NoSuchKey', 'get-object of a missing key'),
    fails(['s3api', 'head-object', '--bucket', b, '--key', 'missing'], '404', 'head-object of a missing key'),
    fails(['s3api', 'delete-bucket', '--bucket', b], 'BucketNotEmpty', 'delete-bucket with objects'),
  ]);
  t.ok(readFileSync(out).equals(big), 'get-object wrote the exact bytes');
  t.equal(got.ContentLength, big.length);
  t.equal(got.ETag, `"${md5Hex(big)}"`);
  t.equal(head.ContentLength, readFileSync(small).length, 'head-object ContentLength');
  t.equal(head.ContentType, 'text/plain');
  t.strictSame(head.Metadata, { origin: 'cli' }, 'head-object Metadata');
  t.ok((buckets.Buckets as Array<{ Name: string }>).some((x) => x.Name === b), 'list-buckets shows the bucket');
  t.equal(ranged.code, 0, `get-object --range exits 0${ranged.code === 0 ? '' : `: ${ranged.stderr.trim()}`}`);
  if (ranged.code === 0) {
    t.equal(json(ranged).ContentRange, `bytes 100-199/${big.length}`);
    t.ok(readFileSync(join(work, 'cli-range.bin')).equals(big.subarray(100, 200)), 'ranged bytes');
  }

  await Promise.all([
    ok(['s3api', 'delete-object', '--bucket', b, '--key', 'docs/hello.txt'], 'delete-object'),
    ok(['s3api', 'delete-object', '--bucket', b, '--key', bigKey], 'delete-object (key with spaces and +)'),
  ]);
  await ok(['s3api', 'delete-bucket', '--bucket', b], 'delete-bucket');
  const finalList = await ok(['s3api', 'list-buckets'], 'list-buckets after delete-bucket');
  t.notOk((finalList.Buckets as Array<{ Name: string }> | undefined)?.some((x) => x.Name === b), 'bucket gone');
});
