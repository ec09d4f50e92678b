// Records edited in the metadata store (what only someone with write access to LMDB can do):
// `s3d verify` finds a completed multipart object whose parts are reordered or one dropped (its
// ETag is no longer that of its parts: each part alone still authenticates), and finds nothing
// on multipart objects of every kind as s3d writes them (plain, SSE-S3, SSE-KMS, SSE-C, an
// SSE-C key rotated in place, a copy). An SSE-S3 record moved onto another key is refused with
// a message that says it may have been moved, and a warning (KMS refusals are rate-limited) naming the object.
// And a deep check reads on past a data file's `size` finding: a part flipped beside a part with
// bytes appended, and a file both appended to and flipped, each found.

import t from 'tap';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MetaStore } from '../../daemon/meta/store.js';
import { runS3d, startDaemon, TEST_KMS_SECRET, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { flipByte } from '../helpers/files.js';
import { createBucket } from '../helpers/s3.js';
import { KMS_KEY_ID, ssec, ssecCopy } from '../helpers/sse.js';

const MiB = 1024 * 1024;

async function verify(dir: string, deep: boolean): Promise<{ code: number | null; problems: string[]; stdout: string }> {
  const { code, stdout } = await runS3d(['verify', dir, ...(deep ? ['--deep'] : [])], { S3_CRYPTO_WORKERS: '1', S3_KMS_SECRET_KEY: TEST_KMS_SECRET }, 60_000);
  return { code, stdout, problems: stdout.split('\n').filter((l) => l.startsWith('PROBLEM ')) };
}

let d: TestDaemon = await startDaemon({ tls: true });
t.teardown(async () => {
  await d.stop();
  d.cleanup();
});
const s3: S3Client = d.s3();
const bucket = await createBucket(s3, 'vrec');
const key1 = testBytes(32, 1);
const key2 = testBytes(32, 2);

async function multipart(Key: string, extra: Record<string, unknown>, parts = 3): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ...extra }));
  const done = [];
  for (let n = 1; n <= parts; n++) {
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: n, Body: testBytes(n < parts ? 5 * MiB : 1000 + n, n * 7 + Key.length), ...(extra.SSECustomerKey ? extra : {}) }));
    done.push({ PartNumber: n, ETag: r.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: done }, ...(extra.SSECustomerKey ? extra : {}) }));
}
await multipart('mp-plain', {});
await multipart('mp-s3', { ServerSideEncryption: 'AES256' });
await multipart('mp-kms', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ID });
await multipart('mp-c', ssec(key1), 2);
// An SSE-C key rotated in place keeps the parts and the ETag; a copy of a multipart object.
await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'mp-c', CopySource: `${bucket}/mp-c`, ...ssecCopy(key1), ...ssec(key2) }));
await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'mp-copy', CopySource: `${bucket}/mp-s3` }));
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'single', Body: testBytes(300_000, 9), ServerSideEncryption: 'AES256' }));

t.test('multipart objects as s3d writes them: no finding, shallow or deep', async (t) => {
  for (const deep of [false, true]) {
    const r = await verify(d.dataDir, deep);
    t.equal(r.code, 0, `${deep ? 'deep' : 'shallow'}: exit 0`);
    t.same(r.problems, [], `${deep ? 'deep' : 'shallow'}: no problem`);
  }
});

t.test('parts reordered or dropped in a record are found; a moved SSE-S3 record says it may be moved', async (t) => {
  t.equal(await d.stop(), 0);
  const m = new MetaStore(join(d.dataDir, '.s3d'));
  try {
    // Rewritten whole (putObject: updateObject keeps the parts as they are). The replaced record's
    // files go to the deletion queue, which nothing here runs: verify reads them in place.
    const plain = m.getObject(bucket, 'mp-plain')!;
    await m.putObject(bucket, 'mp-plain', { ...plain, parts: [...plain.parts!].reverse() });
    // A part dropped, the sizes made to add up again.
    const s3rec = m.getObject(bucket, 'mp-s3')!;
    const kept = s3rec.parts!.slice(0, 2);
    await m.putObject(bucket, 'mp-s3', { ...s3rec, parts: kept, size: kept.reduce((n, p) => n + p.size, 0) });
    // The record of `single` put under another key (same bucket): its data key is bound to `single`.
    await m.putObject(bucket, 'moved', m.getObject(bucket, 'single')!);
  } finally {
    await m.close();
  }
  const norm = (lines: string[]): string[] => lines.map((l) => l.replace(/ version null:/, ':').replace(/ \([0-9a-f]{32}-\d+\)$/, '').replace(/ETag [0-9a-f]{32}-/, 'ETag X-')).sort();
  const shallow = await verify(d.dataDir, false);
  t.equal(shallow.code, 1, 'shallow: exit 1');
  t.same(
    norm(shallow.problems),
    [
      `PROBLEM ${bucket}/mp-plain: record: part numbers not in ascending order: 3, 2, 1`,
      `PROBLEM ${bucket}/mp-plain: record: the ETag X-3 is not that of the 3 parts listed`,
      `PROBLEM ${bucket}/mp-s3: record: the ETag X-3 is not that of the 2 parts listed`,
    ],
    'both records are found, and only they',
  );
  const deep = await verify(d.dataDir, true);
  t.ok(norm(deep.problems).some((l) => l.startsWith(`PROBLEM ${bucket}/moved: key:`)), `deep: the moved record is found (${deep.problems.join(' | ')})`);

  d = await startDaemon({ tls: true, dataDir: d.dataDir });
  const err = await d
    .s3()
    .send(new GetObjectCommand({ Bucket: bucket, Key: 'moved' }))
    .then(() => undefined, (e: unknown) => e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } });
  t.equal(err?.$metadata?.httpStatusCode, 500, 'GET of the moved record: 500');
  t.match(err?.message ?? '', /or for another object \(the record was moved or modified\)/, 'the message says it may have been moved');
  // A KMS refusal is a warning, at most one per 10 s (a changed KMS key fails every such read): it names the object.
  const line = d.logs.find((l) => l.includes('"level":40') && l.includes('moved or modified') && l.includes('"key":"moved"'));
  t.ok(line, 'a warning names the object');
});

t.test('deep: damage in one part is found beside a part whose file has bytes appended', async (t) => {
  const s3 = d.s3(); // the daemon restarted above
  const b = await createBucket(s3, 'vdmg');
  const Key = 'mp-damaged';
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key, ServerSideEncryption: 'AES256' }));
  const done = [];
  for (let n = 1; n <= 2; n++) {
    const r = await s3.send(new UploadPartCommand({ Bucket: b, Key, UploadId, PartNumber: n, Body: testBytes(5 * MiB, 50 + n) }));
    done.push({ PartNumber: n, ETag: r.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key, UploadId, MultipartUpload: { Parts: done } }));
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'single-damaged', Body: testBytes(300_000, 60), ServerSideEncryption: 'AES256' }));
  // Read-only beside the serving daemon, as verify opens it.
  const m = new MetaStore(join(d.dataDir, '.s3d'), { readOnly: true });
  let parts: string[];
  let single: string;
  try {
    parts = m.getObject(b, Key)!.parts!.map((p) => (p.data as { file: string }).file);
    single = (m.getObject(b, 'single-damaged')!.data as { file: string }).file;
  } finally {
    await m.close();
  }
  const path = (id: string): string => join(d.dataDir, '.s3d', 'objects', id.slice(0, 2), id);
  appendFileSync(path(parts[0]!), Buffer.alloc(100, 1)); // never read by a GET
  flipByte(path(parts[1]!), 3 * (64 * 1024 + 32) + 500, 0x01);
  appendFileSync(path(single), Buffer.alloc(10, 1));
  flipByte(path(single), 100, 0x01);
  const { code, stdout } = await runS3d(['verify', d.dataDir, '--deep', '--bucket', b], { S3_CRYPTO_WORKERS: '1', S3_KMS_SECRET_KEY: TEST_KMS_SECRET }, 60_000);
  t.equal(code, 1, 'exit 1');
  const problems = stdout
    .split('\n')
    .filter((l) => l.startsWith('PROBLEM '))
    .map((l) => l.replace(/ version null/, '').replace(/: (size|tampered): .*/, ': $1'))
    .sort();
  t.same(
    problems,
    [`PROBLEM ${b}/${Key} part 1: size`, `PROBLEM ${b}/${Key} part 2: tampered`, `PROBLEM ${b}/single-damaged: size`, `PROBLEM ${b}/single-damaged: tampered`],
    'the appended bytes and the flipped ones, each found',
  );
});
