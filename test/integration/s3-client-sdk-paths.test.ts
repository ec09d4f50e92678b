// SDK high-level paths as applications use them, against one daemon serving HTTPS: boto3's
// transfer manager on object versions (download_file of an older version in parallel ranges,
// upload_fileobj from a pipe) and its list_object_versions paginator across versions and delete
// markers; @aws-sdk/lib-storage Upload of streams of unknown length (several parts, one part, none)
// with checksums (CRC64NVME as a full-object checksum), SSE-C and tags, and abort() mid-way;
// minio-js listings (startAfter too) and deletions past 1000 keys, presigned GETs
// with response overrides, ranged reads and statObject of an SSE-C object. Bytes are compared
// whole every time. The boto3 part is skipped without python3 and boto3.

import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import { GetObjectTaggingCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BucketItem } from 'minio';
import { ACCESS_KEY, REGION, SECRET_KEY, startTlsDaemonWithWork, testBytes } from '../helpers/daemon.js';
import { crc32Base64 } from '../helpers/hash.js';
import { minioClient } from '../helpers/minio.js';
import { createBucket, getBytes, listKeys, putMany } from '../helpers/s3.js';
import { ssec } from '../helpers/sse.js';
import { PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';

const MiB = 1024 * 1024;

const { d, work, caFile } = await startTlsDaemonWithWork(t, 's3d-sdk-paths-');
const s3 = d.s3();

/** A stream of `body` in odd-sized pieces, with no length the SDK could read ahead of time. */
function unknownLength(body: Buffer, piece = 333_333): Readable {
  let offset = 0;
  return new Readable({
    read() {
      const n = Math.min(piece, body.length - offset);
      this.push(n === 0 ? null : body.subarray(offset, offset + n));
      offset += n;
    },
  });
}

function httpsGet(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: new Agent({ ca: d.caCert }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

t.test('lib-storage Upload: streams of unknown length in several parts, one part and none; checksums, SSE-C, tags, CRC64NVME, abort()', async (t) => {
  const bucket = await createBucket(s3, 'libstorage');
  const big = testBytes(17 * MiB + 11, 61);
  const up = new Upload({ client: s3, params: { Bucket: bucket, Key: 'big.bin', Body: unknownLength(big), ChecksumAlgorithm: 'CRC32' }, partSize: 5 * MiB, queueSize: 4 });
  await up.done();
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'big.bin' })).equals(big), 'four parts, queueSize 4: the bytes');
  const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin', ChecksumMode: 'ENABLED' }));
  t.match(h, { ContentLength: big.length, ETag: /-4"$/, ChecksumCRC32: /-4$/ }, 'a multipart object with a composite CRC32');

  const small = testBytes(70_000, 62);
  await new Upload({ client: s3, params: { Bucket: bucket, Key: 'small.bin', Body: unknownLength(small, 7000) }, partSize: 5 * MiB, queueSize: 4 }).done();
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'small.bin' })).equals(small), 'shorter than a part: one PUT, the bytes');
  const hs = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'small.bin', ChecksumMode: 'ENABLED' }));
  t.equal(hs.ETag, `"${createHash('md5').update(small).digest('hex')}"`);
  t.equal(hs.ChecksumCRC32, crc32Base64(small), 'the SDK\'s default CRC32 is the bytes\'');

  await new Upload({ client: s3, params: { Bucket: bucket, Key: 'empty', Body: unknownLength(Buffer.alloc(0)) }, partSize: 5 * MiB, queueSize: 4 }).done();
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'empty' })).length, 0, 'an empty stream: an empty object');

  const key = randomBytes(32);
  const c = ssec(key);
  const enc = testBytes(11 * MiB + 1, 63);
  await new Upload({ client: s3, params: { Bucket: bucket, Key: 'c.bin', Body: unknownLength(enc), ...c }, partSize: 5 * MiB, queueSize: 3, tags: [{ Key: 'team', Value: 'a b/ü' }] }).done();
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'c.bin', ...c })).equals(enc), 'SSE-C in three parts: the bytes');
  t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'c.bin', ...c })), { SSECustomerAlgorithm: 'AES256', ETag: /-3"$/ });
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'c.bin' }))).TagSet, [{ Key: 'team', Value: 'a b/ü' }], 'tags put after the upload');

  // CRC64NVME is a full-object checksum: S3 combines the parts' CRCs into the whole body's.
  const nv = testBytes(12 * MiB + 1, 64);
  const done = await new Upload({ client: s3, params: { Bucket: bucket, Key: 'nvme.bin', Body: unknownLength(nv), ChecksumAlgorithm: 'CRC64NVME', ContentType: 'video/x-nvme', Metadata: { stage: 'nvme' } }, partSize: 5 * MiB, queueSize: 2 }).done();
  const crc = new Crc64Nvme();
  crc.update(nv);
  const whole = Buffer.from(await crc.digest()).toString('base64');
  t.match(done, { ChecksumCRC64NVME: whole, ChecksumType: 'FULL_OBJECT', ETag: /-3"$/ }, 'CRC64NVME in three parts: CompleteMultipartUpload gives the whole body\'s CRC64NVME');
  t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'nvme.bin', ChecksumMode: 'ENABLED' })), { ChecksumCRC64NVME: whole, ChecksumType: 'FULL_OBJECT', ContentType: 'video/x-nvme', Metadata: { stage: 'nvme' } }, 'HEAD: the checksum, Content-Type and metadata');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'nvme.bin', ChecksumMode: 'ENABLED' })).equals(nv), 'GET with ChecksumMode (validated by the SDK): the bytes');

  // abort() mid-way: lib-storage aborts the multipart upload; nothing stays behind.
  let produced = 0;
  const endless = new Readable({
    read() {
      produced += MiB;
      this.push(produced > 40 * MiB ? null : testBytes(MiB, produced));
    },
  });
  const aborted = new Upload({ client: s3, params: { Bucket: bucket, Key: 'aborted.bin', Body: endless, ChecksumAlgorithm: 'CRC64NVME' }, partSize: 5 * MiB, queueSize: 2 });
  aborted.on('httpUploadProgress', (p) => {
    if ((p.loaded ?? 0) >= 10 * MiB) void aborted.abort();
  });
  t.equal(await aborted.done().then(() => 'done', (e: Error) => e.name), 'AbortError', 'done() rejects with AbortError');
  t.ok(produced < 40 * MiB, 'the stream was not read to its end');
  // AbortMultipartUpload is sent after done() rejects: wait for it.
  const deadline = Date.now() + 10_000;
  let uploads = (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  while (uploads.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    uploads = (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  }
  t.same(uploads, [], 'the multipart upload was aborted');
  t.notOk((await listKeys(s3, bucket)).includes('aborted.bin'), 'and no object was made');
});

t.test('minio-js: listObjectsV2 (with startAfter) and listObjects past 1000 keys, removeObjects of 1100, presigned GET overrides, ranges, statObject of SSE-C', async (t) => {
  const m = minioClient(d);
  const bucket = await createBucket(s3, 'minio-paths');
  const keys = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(4, '0')}${i % 7 === 0 ? ' ü+' : ''}`);
  await putMany(d, bucket, keys);
  const collect = (stream: NodeJS.ReadableStream): Promise<BucketItem[]> =>
    new Promise((resolve, reject) => {
      const items: BucketItem[] = [];
      stream.on('data', (i: BucketItem) => items.push(i));
      stream.on('error', reject);
      stream.on('end', () => resolve(items));
    });
  t.same((await collect(m.listObjectsV2(bucket, 'many/', true))).map((i) => i.name), keys, 'listObjectsV2: every key, over two pages');
  t.same((await collect(m.listObjects(bucket, 'many/', true))).map((i) => i.name), keys, 'listObjects (v1): every key, over two pages');
  t.same((await collect(m.listObjectsV2(bucket, 'many/', true, keys[1049]))).map((i) => i.name), keys.slice(1050), 'listObjectsV2 with startAfter');
  t.same((await collect(m.listObjectsV2(bucket, 'many/', true, keys[7]))).map((i) => i.name), keys.slice(8), 'startAfter an awkward key, over two pages');
  t.same((await collect(m.listObjectsV2(bucket, '', true, 'many/9'))).map((i) => i.name), [], 'startAfter past the last key');
  t.same(await m.removeObjects(bucket, [...keys, 'many/no such key']), [], 'removeObjects: no errors, a missing key included');
  t.same(await listKeys(s3, bucket), [], 'removeObjects of 1100 (two DeleteObjects)');

  const body = testBytes(300_000, 71);
  await m.putObject(bucket, 'dir/report 2026.pdf', body, body.length, { 'Content-Type': 'application/pdf' });
  const disposition = `attachment; filename="report.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.pdf`;
  const url = await m.presignedGetObject(bucket, 'dir/report 2026.pdf', 300, { 'response-content-disposition': disposition, 'response-content-type': 'application/octet-stream', 'response-cache-control': 'no-store' });
  const r = await httpsGet(url);
  t.equal(r.status, 200);
  t.ok(r.body.equals(body), 'presigned GET: the bytes');
  t.equal(r.headers['content-disposition'], disposition, 'response-content-disposition overrides');
  t.equal(r.headers['content-type'], 'application/octet-stream', 'response-content-type overrides');
  t.equal(r.headers['cache-control'], 'no-store', 'response-cache-control overrides');

  const read = async (s: NodeJS.ReadableStream): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  t.ok((await read(await m.getPartialObject(bucket, 'dir/report 2026.pdf', 299_000))).equals(body.subarray(299_000)), 'getPartialObject from an offset to the end');
  t.ok((await read(await m.getPartialObject(bucket, 'dir/report 2026.pdf', 0, 10))).equals(body.subarray(0, 10)), 'the first ten bytes');
  t.ok((await read(await m.getPartialObject(bucket, 'dir/report 2026.pdf', 123_456, 100_000))).equals(body.subarray(123_456, 223_456)), 'a range inside');

  const key = randomBytes(32);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'c.bin', Body: body, ...ssec(key) }));
  // minio-js's statObject sends no headers (nor does fGetObject's statObject first, so it cannot
  // read SSE-C objects): HEAD without the key is 400 on S3, which minio-js reports without a code.
  const stat = await m.statObject(bucket, 'c.bin').then(() => 'found', (e: Error) => e.name);
  t.equal(stat, 'S3Error', 'statObject of an SSE-C object: refused');
  const opts = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(key).digest('base64') };
  t.ok((await read(await m.getPartialObject(bucket, 'c.bin', 65_530, 70_000, opts))).equals(body.subarray(65_530, 135_530)), 'getPartialObject with the key across a package boundary');
});

const pyEnv = pythonEnv(work);
t.test('boto3: list_object_versions paginator over versions and delete markers, download_file of an old version in ranges, upload_fileobj from a pipe', { skip: noBoto3(pyEnv) }, async (t) => {
  const bucket = await createBucket(s3, 'boto3-versions');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const old = testBytes(13 * MiB + 5, 81);
  await new Upload({ client: s3, params: { Bucket: bucket, Key: 'big.bin', Body: old }, partSize: 5 * MiB }).done();
  const oldVersion = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' }))).VersionId!;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.bin', Body: 'newer' }));
  for (const k of ['a', 'b b', 'c/ü', 'd']) for (let i = 0; i < 3; i++) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: `${k} ${i}` }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'b b' }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'd' }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'd' }));
  const all = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  const want = [...(all.Versions ?? []).map((v) => `v ${v.Key} ${v.VersionId} ${v.IsLatest}`), ...(all.DeleteMarkers ?? []).map((v) => `m ${v.Key} ${v.VersionId} ${v.IsLatest}`)].sort();
  t.equal(want.length, 2 + 12 + 3, 'versions and markers put');

  const piped = testBytes(11 * MiB + 3, 82);
  const script = join(work, 'versions.py');
  writeFileSync(
    script,
    `import hashlib, json, sys
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
endpoint, bucket, ca, old_version, dest = sys.argv[1:6]
c = boto3.client('s3', endpoint_url=endpoint, region_name='${REGION}', aws_access_key_id='${ACCESS_KEY}', aws_secret_access_key='${SECRET_KEY}', verify=ca,
                 config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}))
TC = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=4)
out = {'pages': []}
for size in (1, 2, 3, 5):
    seen = []
    for p in c.get_paginator('list_object_versions').paginate(Bucket=bucket, PaginationConfig={'PageSize': size}):
        seen += ['v %s %s %s' % (v['Key'], v['VersionId'], str(v['IsLatest']).lower()) for v in p.get('Versions', [])]
        seen += ['m %s %s %s' % (v['Key'], v['VersionId'], str(v['IsLatest']).lower()) for v in p.get('DeleteMarkers', [])]
    out['pages'].append(sorted(seen))
c.download_file(bucket, 'big.bin', dest, ExtraArgs={'VersionId': old_version}, Config=TC)
out['old'] = hashlib.md5(open(dest, 'rb').read()).hexdigest()
# A pipe: not seekable, of unknown length.
c.upload_fileobj(sys.stdin.buffer, bucket, 'piped.bin', Config=TC)
print(json.dumps(out))
`,
  );
  const r = spawnSync(PYTHON_BIN, [script, d.endpoint, bucket, caFile, oldVersion, join(work, 'old.bin')], { env: pyEnv, input: piped, encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { pages: string[][]; old: string };
  for (const [i, size] of [1, 2, 3, 5].entries()) t.same(out.pages[i], want, `list_object_versions paginator, pages of ${size}: every version and marker once`);
  t.equal(out.old, createHash('md5').update(old).digest('hex'), 'download_file of the older multipart version in parallel ranges: its bytes');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'piped.bin' })).equals(piped), 'upload_fileobj from a pipe: the bytes');
  t.match(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'piped.bin' })), { ETag: /-3"$/ }, 'in three parts');
});
