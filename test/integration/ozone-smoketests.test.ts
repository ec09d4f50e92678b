// Apache Ozone's S3 gateway smoketests (hadoop-ozone/dist/src/main/smoketest/s3), the suites its
// s3_compatbility_check.sh runs against AWS S3 with the aws CLI (MultipartUpload, objectcopy,
// objectputget, ...), replayed against the daemon through the same `aws s3api` commands. Their
// recorded AWS run (results/MultipartUpload.xml, 2020) shows what S3 answered; the cases here
// are those where it says more than S3's reference does.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_AWS, awsCli, type AwsCli } from '../helpers/aws-cli.js';
import { startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { createBucket } from '../helpers/s3.js';

const work = mkdtempSync(join(tmpdir(), 's3d-ozone-smoke-'));
let d: TestDaemon;
let cli: AwsCli;
let bucket: string;

t.before(async () => {
  d = await startDaemon();
  cli = awsCli(d.endpoint, work);
  bucket = await createBucket(d.s3());
});

t.teardown(async () => {
  await d?.stop();
  d?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** Runs `aws s3api ARGS`; the exit code and the error code the CLI printed, or the JSON it printed. */
async function s3api(...args: string[]): Promise<{ code: number; error?: string; json?: Record<string, unknown> }> {
  const r = await cli.run('s3api', ...args);
  if (r.code !== 0) return { code: r.code, error: /An error occurred \((\w+)\)/.exec(r.stderr)?.[1] ?? r.stderr };
  return { code: 0, json: r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>) };
}

t.test('MultipartUpload: "Complete Invalid part errors and complete mpu with few parts", as AWS answered it', { skip: NO_AWS }, async (t) => {
  const key = 'ozone/multipartKey3';
  const part1 = join(work, 'part1');
  const part3 = join(work, 'part3');
  writeFileSync(part1, testBytes(5 * 1024 * 1024, 41));
  writeFileSync(part3, 'Part3\n');
  const created = await s3api('create-multipart-upload', '--bucket', bucket, '--key', key);
  const id = String(created.json?.UploadId);
  const complete = (parts: string): ReturnType<typeof s3api> => s3api('complete-multipart-upload', '--upload-id', id, '--bucket', bucket, '--key', key, '--multipart-upload', `Parts=[${parts}]`);

  // No part uploaded yet: whatever the list, InvalidPart (out of order too).
  t.same(await complete('{ETag=etag1,PartNumber=1},{ETag=etag2,PartNumber=2}'), { code: 255, error: 'InvalidPart' }, 'no part uploaded, a list in order');
  t.same(await complete('{ETag=etag1,PartNumber=2},{ETag=etag2,PartNumber=1}'), { code: 255, error: 'InvalidPart' }, 'no part uploaded, a list out of order');

  const etag = async (n: number, file: string): Promise<string> => {
    const r = await s3api('upload-part', '--bucket', bucket, '--key', key, '--part-number', String(n), '--body', file, '--upload-id', id);
    return String(r.json?.ETag);
  };
  const e1 = await etag(1, part1);
  await etag(2, part1);
  const e3 = await etag(3, part3);

  t.same(await complete('{ETag=etag1,PartNumber=1},{ETag=etag2,PartNumber=2}'), { code: 255, error: 'InvalidPart' }, 'wrong ETags');
  t.same(await complete(`{ETag=${e1},PartNumber=1},{ETag=etag2,PartNumber=2}`), { code: 255, error: 'InvalidPart' }, 'the second ETag wrong');
  // The order of the whole list comes first: part 4 was never uploaded, yet AWS answered
  // InvalidPartOrder (s3d answered InvalidPart, looking part 4 up before it saw part 2).
  t.same(await complete(`{ETag=${e1},PartNumber=4},{ETag=etag2,PartNumber=2}`), { code: 255, error: 'InvalidPartOrder' }, 'part 4 (not uploaded) then part 2');
  t.same(await complete(`{ETag=${e1},PartNumber=2},{ETag=${e1},PartNumber=1}`), { code: 255, error: 'InvalidPartOrder' }, 'parts that exist, out of order');

  const done = await complete(`{ETag=${e1},PartNumber=1},{ETag=${e3},PartNumber=3}`);
  t.equal(done.code, 0, 'completed with parts 1 and 3');
  t.equal(done.json?.Key, key);
  const out = join(work, 'result');
  t.equal((await s3api('get-object', '--bucket', bucket, '--key', key, out)).code, 0);
  t.ok(readFileSync(out).equals(Buffer.concat([readFileSync(part1), readFileSync(part3)])), 'the object is part 1 then part 3');
});
