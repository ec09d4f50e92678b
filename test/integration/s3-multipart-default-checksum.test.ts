// S3's default CRC64NVME on multipart uploads created without a checksum algorithm (versitygw
// #1547, fixed by its PR #1580): a part the client sent no checksum for is answered with the
// CRC64NVME of its bytes (UploadPart's x-amz-checksum-crc64nvme), and CompleteMultipartUpload
// answers the FULL_OBJECT CRC64NVME of the whole object, but neither is the part's or the
// object's checksum: ListParts, HEAD/GET with checksum mode and GetObjectAttributes show none.
// A part with a checksum of the client's own keeps today's answer, and its completion answers no
// default. UploadPartCopy keeps the default but does not answer it (CloudServer #6188's table:
// default "stored only"). The SDK's lib-storage Upload lists each part's answered CRC64NVME in
// its completion: that is taken when it is the part's default (the API reference's CompletedPart
// ChecksumCRC64NVME: "if the object was uploaded without a checksum (and Amazon S3 added the
// default checksum, CRC64NVME)").

import t, { type Test } from 'tap';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompleteMultipartUploadCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { awsCli, awsEnv, runAwsText } from '../helpers/aws-cli.js';
import { BOTO3_ATTEMPTS, noBoto3, pythonEnv, PYTHON_BIN } from '../helpers/python.js';
import { MetaStore } from '../../daemon/meta/store.js';
import { ACCESS_KEY, REGION, runS3d, SECRET_KEY, startDaemon, startDaemonFor, TEST_KMS_SECRET, testBytes } from '../helpers/daemon.js';
import { bodyBytes, clientFor, createBucket, expectSdkError, sdkFailure } from '../helpers/s3.js';
import { crc32Base64, md5Base64 } from '../helpers/hash.js';
import { raw, type RawResponse } from '../helpers/http.js';
import { ssec } from '../helpers/sse.js';

async function crc64(data: Buffer): Promise<string> {
  const h = new Crc64Nvme();
  h.update(data);
  return Buffer.from(await h.digest()).toString('base64');
}

const MiB = 1024 * 1024;
const CHECKSUM_FIELDS = ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256', 'ChecksumType'] as const;

/** The checksum fields an SDK output has (none: {}). */
function checksumsOf(o: object | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of CHECKSUM_FIELDS) if ((o as Record<string, unknown> | undefined)?.[f] !== undefined) out[f] = (o as Record<string, unknown>)[f];
  return out;
}

/** Checksum headers the client put on its requests (the SDK sends none with WHEN_REQUIRED). */
const sentChecksumHeaders: string[] = [];

/** A client that sends no checksum of its own, and records any checksum header it would send. */
function plainClient(d: Parameters<typeof clientFor>[0]): S3Client {
  const c = clientFor(d, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  c.middlewareStack.add(
    (next) => async (args) => {
      const h = (args.request as { headers: Record<string, string> }).headers;
      for (const name of Object.keys(h)) if (/^x-amz-(checksum-|trailer$|sdk-checksum-algorithm$)/i.test(name)) sentChecksumHeaders.push(name);
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'recordChecksumHeaders' },
  );
  return c;
}

const d = await startDaemonFor(t);
const s3 = plainClient(d);
const bucket = await createBucket(s3, 'mpdef');
// SSE-C needs TLS; SSE-S3 runs there too. The last test stops it to edit its store and starts
// another on its data directory (which cleans up; startDaemon's exit hook does otherwise).
const tls = await startDaemon({ tls: true });
t.teardown(async () => {
  await tls.stop();
});
const s3Tls = plainClient(tls);
const tlsBucket = await createBucket(s3Tls, 'mpdef');
const customerKey = Buffer.alloc(32, 11);

const parts = [testBytes(5 * MiB, 1), testBytes(5 * MiB + 3, 2), testBytes(1234, 3)];
const whole = Buffer.concat(parts);

interface Uploaded {
  uploadId: string;
  etags: string[];
}

/** Creates an upload without an algorithm and uploads `bodies`, checking each UploadPart answers the default. */
async function upload(tt: Test, client: S3Client, b: string, key: string, bodies: Buffer[], enc: Record<string, string> = {}): Promise<Uploaded> {
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: b, Key: key, ...enc }));
  tt.equal(created.ChecksumAlgorithm, undefined, 'the upload has no algorithm');
  const etags: string[] = [];
  for (const [i, body] of bodies.entries()) {
    const sent = sentChecksumHeaders.length;
    const sseC = 'SSECustomerKey' in enc ? enc : {};
    const out = await client.send(new UploadPartCommand({ Bucket: b, Key: key, UploadId: created.UploadId, PartNumber: i + 1, Body: body, ...sseC }));
    tt.same(sentChecksumHeaders.slice(sent), [], `part ${i + 1}: the client sent no checksum`);
    tt.same(checksumsOf(out), { ChecksumCRC64NVME: await crc64(body) }, `part ${i + 1}: UploadPart answers the CRC64NVME of its bytes`);
    etags.push(out.ETag!);
  }
  return { uploadId: created.UploadId!, etags };
}

function completion(b: string, key: string, up: Uploaded, extra: Record<string, string> = {}): CompleteMultipartUploadCommand {
  return new CompleteMultipartUploadCommand({ Bucket: b, Key: key, UploadId: up.uploadId, MultipartUpload: { Parts: up.etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) }, ...extra });
}

/** ListParts, then Complete answering the whole object's CRC64NVME (or none, `expected` undefined). */
async function complete(tt: Test, client: S3Client, b: string, key: string, up: Uploaded, expected: string | undefined, enc: Record<string, string> = {}): Promise<CompleteMultipartUploadCommandOutput> {
  const listed = await client.send(new ListPartsCommand({ Bucket: b, Key: key, UploadId: up.uploadId, ...enc }));
  tt.equal(listed.Parts?.length, up.etags.length);
  tt.same(listed.Parts?.map((p) => checksumsOf(p)), up.etags.map(() => ({})), 'ListParts shows no part checksum');
  tt.same(checksumsOf(listed), {}, 'nor an upload algorithm or type');
  const done = await client.send(completion(b, key, up, enc));
  tt.same(checksumsOf(done), expected === undefined ? {} : { ChecksumCRC64NVME: expected, ChecksumType: 'FULL_OBJECT' }, expected === undefined ? 'Complete answers no checksum' : 'Complete answers the FULL_OBJECT CRC64NVME of the whole object');
  return done;
}

/** The completed object keeps no checksum: HEAD, GET (whole and a part) and GetObjectAttributes show none. */
async function expectNoStoredChecksum(tt: Test, client: S3Client, b: string, key: string, body: Buffer, read: Record<string, string> = {}): Promise<void> {
  const head = await client.send(new HeadObjectCommand({ Bucket: b, Key: key, ChecksumMode: 'ENABLED', ...read }));
  tt.same(checksumsOf(head), {}, 'HEAD with checksum mode: none');
  const headPart = await client.send(new HeadObjectCommand({ Bucket: b, Key: key, ChecksumMode: 'ENABLED', PartNumber: 1, ...read }));
  tt.same(checksumsOf(headPart), {}, 'HEAD ?partNumber=1 with checksum mode: none');
  const get = await client.send(new GetObjectCommand({ Bucket: b, Key: key, ChecksumMode: 'ENABLED', ...read }));
  tt.same(checksumsOf(get), {}, 'GET with checksum mode: none');
  tt.ok((await bodyBytes(get)).equals(body), 'the bytes');
  const attrs = await client.send(new GetObjectAttributesCommand({ Bucket: b, Key: key, ObjectAttributes: ['Checksum', 'ObjectParts'], ...read }));
  tt.equal(attrs.Checksum, undefined, 'GetObjectAttributes: no Checksum');
  tt.same((attrs.ObjectParts?.Parts ?? []).map((p) => checksumsOf(p)).filter((c) => Object.keys(c).length > 0), [], 'GetObjectAttributes: no part checksum');
}

t.test('unencrypted: parts and completion answer the default, nothing keeps it', async (tt) => {
  const up = await upload(tt, s3, bucket, 'plain', parts);
  const want = await crc64(whole);
  const done = await complete(tt, s3, bucket, 'plain', up, want);
  await expectNoStoredChecksum(tt, s3, bucket, 'plain', whole);
  // A repeated completion (its answer lost) is answered as the first was.
  const again = await s3.send(completion(bucket, 'plain', up));
  tt.equal(again.ETag, done.ETag);
  tt.same(checksumsOf(again), { ChecksumCRC64NVME: want, ChecksumType: 'FULL_OBJECT' }, 'a repeated Complete answers the same checksum');
});

t.test('a part the client checksummed itself keeps its answer; the completion answers no default', async (tt) => {
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mixed' }));
  const withCrc = clientFor(d, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
  const p1 = await withCrc.send(new UploadPartCommand({ Bucket: bucket, Key: 'mixed', UploadId: created.UploadId, PartNumber: 1, Body: parts[0], ChecksumAlgorithm: 'CRC32' }));
  tt.ok(p1.ChecksumCRC32, 'the client\'s CRC32 answered');
  tt.same(Object.keys(checksumsOf(p1)), ['ChecksumCRC32'], 'and only it');
  const p2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mixed', UploadId: created.UploadId, PartNumber: 2, Body: parts[2] }));
  tt.same(checksumsOf(p2), { ChecksumCRC64NVME: await crc64(parts[2]!) });
  const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'mixed', UploadId: created.UploadId }));
  tt.same(listed.Parts?.map((p) => Object.keys(checksumsOf(p))), [['ChecksumCRC32'], []], 'ListParts: the client\'s CRC32, as before; no default');
  const done = await s3.send(completion(bucket, 'mixed', { uploadId: created.UploadId!, etags: [p1.ETag!, p2.ETag!] }));
  tt.same(checksumsOf(done), {}, 'Complete: no checksum (a part has no default)');
  await expectNoStoredChecksum(tt, s3, bucket, 'mixed', Buffer.concat([parts[0]!, parts[2]!]));
});

t.test('the listed part checksums of an upload without an algorithm', async (tt) => {
  const up = await upload(tt, s3, bucket, 'listed', parts.slice(0, 2));
  const sums = await Promise.all(parts.slice(0, 2).map((p) => crc64(p)));
  const list = (crcs: Array<Record<string, string>>): CompleteMultipartUploadCommand =>
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'listed', UploadId: up.uploadId, MultipartUpload: { Parts: up.etags.map((ETag, i) => ({ PartNumber: i + 1, ETag, ...crcs[i] })) } });
  await expectSdkError(tt, s3.send(list([{ ChecksumCRC64NVME: sums[1]! }, { ChecksumCRC64NVME: sums[1]! }])), 'InvalidPart', 400, 'a CRC64NVME that is not the part\'s default');
  await expectSdkError(tt, s3.send(list([{ ChecksumCRC32: 'AAAAAA==' }, {}])), 'InvalidPart', 400, 'a checksum of another algorithm, as before');
  const done = await s3.send(list(sums.map((s) => ({ ChecksumCRC64NVME: s }))));
  tt.same(checksumsOf(done), { ChecksumCRC64NVME: await crc64(Buffer.concat(parts.slice(0, 2))), ChecksumType: 'FULL_OBJECT' }, 'the parts\' defaults, as UploadPart answered them, are taken');
});

t.test('lib-storage Upload without checksums (it lists the answered CRC64NVME of each part)', async (tt) => {
  const body = testBytes(11 * MiB + 5, 7);
  const done = await new Upload({ client: s3, params: { Bucket: bucket, Key: 'lib-storage', Body: body }, partSize: 5 * MiB, queueSize: 2 }).done();
  tt.equal((done as { ChecksumCRC64NVME?: string }).ChecksumCRC64NVME, await crc64(body), 'the completion answers the default');
  await expectNoStoredChecksum(tt, s3, bucket, 'lib-storage', body);
});

t.test('UploadPartCopy keeps the default without answering it; the completion combines it', async (tt) => {
  const src = testBytes(6 * MiB, 9);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy-src', Body: src }));
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'copied' }));
  const p1 = await s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'copied', UploadId: created.UploadId, PartNumber: 1, CopySource: `${bucket}/copy-src`, CopySourceRange: `bytes=0-${5 * MiB}` }));
  tt.same(checksumsOf(p1.CopyPartResult), {}, 'CopyPartResult: no checksum');
  const p2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'copied', UploadId: created.UploadId, PartNumber: 2, Body: parts[2] }));
  const up = { uploadId: created.UploadId!, etags: [p1.CopyPartResult!.ETag!, p2.ETag!] };
  const body = Buffer.concat([src.subarray(0, 5 * MiB + 1), parts[2]!]);
  await complete(tt, s3, bucket, 'copied', up, await crc64(body));
  await expectNoStoredChecksum(tt, s3, bucket, 'copied', body);
});

t.test('SSE-S3: the same, the part defaults sealed', async (tt) => {
  const enc = { ServerSideEncryption: 'AES256' };
  const up = await upload(tt, s3Tls, tlsBucket, 'sse-s3', parts, enc);
  await complete(tt, s3Tls, tlsBucket, 'sse-s3', up, await crc64(whole));
  await expectNoStoredChecksum(tt, s3Tls, tlsBucket, 'sse-s3', whole);
});

t.test('SSE-C: the completion answers the default only with the customer key', async (tt) => {
  const enc = ssec(customerKey);
  const up = await upload(tt, s3Tls, tlsBucket, 'sse-c', parts, enc);
  await complete(tt, s3Tls, tlsBucket, 'sse-c', up, await crc64(whole), enc);
  await expectNoStoredChecksum(tt, s3Tls, tlsBucket, 'sse-c', whole, enc);
  // Completed without the key: no checksum shown (nothing sealed opens without it).
  const up2 = await upload(tt, s3Tls, tlsBucket, 'sse-c-keyless', parts.slice(1), enc);
  const done = await s3Tls.send(completion(tlsBucket, 'sse-c-keyless', up2));
  tt.same(checksumsOf(done), {}, 'Complete without the key: no checksum');
  await expectNoStoredChecksum(tt, s3Tls, tlsBucket, 'sse-c-keyless', Buffer.concat(parts.slice(1)), enc);
});

/** The base64 digest a client would send for `alg` (the SDK's own CRCs; node's SHAs). */
async function digest(alg: 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256', data: Buffer): Promise<string> {
  if (alg === 'SHA1' || alg === 'SHA256') return createHash(alg.toLowerCase()).update(data).digest('base64');
  const h = alg === 'CRC32' ? new Crc32() : alg === 'CRC32C' ? new Crc32c() : new Crc64Nvme();
  h.update(data);
  return Buffer.from(await h.digest()).toString('base64');
}

t.test('an upload WITH an algorithm, parts sent without a checksum: FULL_OBJECT, the part checksum is the algorithm\'s, and no default besides; COMPOSITE, refused', async (tt) => {
  // A COMPOSITE object's checksum is formed from the part checksums the client sent: S3 refuses a
  // part without one (OpenStack Swift's test_mpu_upload_part_requires_checksum_composite, run
  // against AWS), and adds the missing one to a FULL_OBJECT upload's part.
  for (const alg of ['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const) {
    const key = `composite-${alg}`;
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: alg }));
    const err = await sdkFailure(s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: created.UploadId, PartNumber: 1, Body: parts[2]! })));
    tt.same([err.name, err.status, err.message], ['InvalidRequest', 400, `Checksum Type mismatch occurred, expected checksum Type: ${alg.toLowerCase()}, actual checksum Type: null`], `COMPOSITE ${alg}: a part without a checksum refused, in S3's words`);
    tt.equal((await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: created.UploadId }))).Parts, undefined, `COMPOSITE ${alg}: no part stored`);
  }
  for (const [alg, type] of [['CRC32', 'FULL_OBJECT'], ['CRC32C', 'FULL_OBJECT'], ['CRC64NVME', undefined]] as const) {
    const key = `with-${alg}`;
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: alg, ...(type ? { ChecksumType: type } : {}) }));
    const bodies = [parts[0]!, parts[2]!];
    const etags: string[] = [];
    const sums: string[] = [];
    for (const [i, body] of bodies.entries()) {
      const out = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: created.UploadId, PartNumber: i + 1, Body: body }));
      sums.push(await digest(alg, body));
      tt.same(checksumsOf(out), { [`Checksum${alg}`]: sums[i] }, `${alg} part ${i + 1}: its ${alg} alone`);
      etags.push(out.ETag!);
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: created.UploadId }));
    tt.same(listed.Parts?.map((p) => (p as Record<string, unknown>)[`Checksum${alg}`]), sums, `${alg}: ListParts shows the same`);
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: created.UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag, [`Checksum${alg}`]: sums[i] })) } }));
    tt.same(checksumsOf(done), { [`Checksum${alg}`]: await digest(alg, Buffer.concat(bodies)), ChecksumType: 'FULL_OBJECT' }, `${alg}: the completion answers the object's`);
  }
});

t.test('hand-made UploadPart bodies into an upload without an algorithm: UNSIGNED-PAYLOAD, Content-MD5, an aws-chunked trailer, no bytes', async (tt) => {
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'raw' }));
  const id = created.UploadId!;
  const putPart = (n: number, body: Buffer, headers: Record<string, string>, payloadHash: string): Promise<RawResponse> =>
    raw(d.port, { method: 'PUT', path: `/${bucket}/raw`, query: `partNumber=${n}&uploadId=${encodeURIComponent(id)}`, body, headers, sign: { payloadHash } });
  const checksumHeadersOf = (res: RawResponse): Record<string, unknown> => Object.fromEntries(Object.entries(res.headers).filter(([k]) => k.startsWith('x-amz-checksum-')));
  const b = testBytes(5 * MiB, 21);
  const unsigned = await putPart(1, b, {}, 'UNSIGNED-PAYLOAD');
  tt.equal(unsigned.status, 200, unsigned.body.toString());
  tt.same(checksumHeadersOf(unsigned), { 'x-amz-checksum-crc64nvme': await crc64(b) }, 'UNSIGNED-PAYLOAD: the default');
  const md5 = await putPart(1, b, { 'content-md5': md5Base64(b) }, 'UNSIGNED-PAYLOAD');
  tt.same(checksumHeadersOf(md5), { 'x-amz-checksum-crc64nvme': await crc64(b) }, 'Content-MD5 alone: the default');
  const framed = Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc32Base64(b)}\r\n\r\n`)]);
  const trailer = await putPart(2, framed, { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(b.length), 'x-amz-trailer': 'x-amz-checksum-crc32' }, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
  tt.equal(trailer.status, 200, trailer.body.toString());
  tt.same(checksumHeadersOf(trailer), { 'x-amz-checksum-crc32': crc32Base64(b) }, 'a CRC32 trailer: the client\'s alone, no default');
  const empty = await putPart(3, Buffer.alloc(0), {}, 'hash');
  tt.equal(empty.status, 200, empty.body.toString());
  tt.same(checksumHeadersOf(empty), { 'x-amz-checksum-crc64nvme': await crc64(Buffer.alloc(0)) }, 'no bytes: the CRC64NVME of none');
  // A part with the client's CRC32 (part 2): the completion answers no default.
  const etags = [unsigned, trailer, empty].map((r) => String(r.headers.etag));
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'raw', UploadId: id, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) } }));
  tt.same(checksumsOf(done), {}, 'a part the client checksummed: no default answered');
  // An upload of one empty part: the completion answers the CRC64NVME of no bytes.
  const zero = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'raw-empty' }));
  const zp = await raw(d.port, { method: 'PUT', path: `/${bucket}/raw-empty`, query: `partNumber=1&uploadId=${encodeURIComponent(zero.UploadId!)}`, body: Buffer.alloc(0), sign: { payloadHash: 'UNSIGNED-PAYLOAD' } });
  const zdone = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'raw-empty', UploadId: zero.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: String(zp.headers.etag) }] } }));
  tt.same(checksumsOf(zdone), { ChecksumCRC64NVME: await crc64(Buffer.alloc(0)), ChecksumType: 'FULL_OBJECT' }, 'one empty part: the CRC64NVME of no bytes');
});

t.test('SSE-C: a repeated Complete shows the default only with the right key', async (tt) => {
  const enc = ssec(customerKey);
  const up = await upload(tt, s3Tls, tlsBucket, 'sse-c-again', parts.slice(1), enc);
  await complete(tt, s3Tls, tlsBucket, 'sse-c-again', up, await crc64(Buffer.concat(parts.slice(1))), enc);
  const keyless = await s3Tls.send(completion(tlsBucket, 'sse-c-again', up));
  tt.same(checksumsOf(keyless), {}, 'repeated without the key: none');
  const f = await sdkFailure(s3Tls.send(completion(tlsBucket, 'sse-c-again', up, ssec(Buffer.alloc(32, 12)))));
  tt.equal(f.status, 400, `repeated with another key: 400 (${f.name})`);
  // Listing the answered default without the key is taken unchecked, whatever its value: no oracle.
  const up2 = await upload(tt, s3Tls, tlsBucket, 'sse-c-listed', parts.slice(2), enc);
  const done = await s3Tls.send(new CompleteMultipartUploadCommand({ Bucket: tlsBucket, Key: 'sse-c-listed', UploadId: up2.uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: up2.etags[0], ChecksumCRC64NVME: 'AAAAAAAAAAA=' }] } }));
  tt.same(checksumsOf(done), {}, 'a listed CRC64NVME without the key: completed, no checksum shown');
});

t.test('the aws CLI and boto3 without checksums of their own (when_required): multipart uploads complete, the bytes back', async (tt) => {
  const home = mkdtempSync(join(tmpdir(), 's3d-mpdef-'));
  tt.teardown(() => rmSync(home, { recursive: true, force: true }));
  const big = testBytes(9 * MiB + 17, 31);
  const file = join(home, 'big.bin');
  writeFileSync(file, big);
  const cli = awsCli(d.endpoint, home, { pathStyle: true });
  const env = awsEnv(home, { config: '[default]\nrequest_checksum_calculation = when_required\nresponse_checksum_validation = when_required\ns3 =\n    addressing_style = path\n    multipart_threshold = 5MB\n    multipart_chunksize = 5MB\n' });
  const cp = await runAwsText(['--endpoint-url', d.endpoint, 's3', 'cp', file, `s3://${bucket}/cli-big`], { env });
  tt.equal(cp.code, 0, cp.stderr);
  const head = JSON.parse(await cli.ok('s3api', 'head-object', '--bucket', bucket, '--key', 'cli-big')) as { ETag: string };
  tt.match(head.ETag, /-2"$/, 'aws s3 cp: a multipart object');
  const back = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cli-big' }));
  tt.ok((await bodyBytes(back)).equals(big), 'aws s3 cp: the bytes');
  const pyEnv = pythonEnv(home);
  const skip = noBoto3(pyEnv);
  if (skip) {
    tt.comment(`boto3 skipped: ${skip}`);
    return;
  }
  const script = `${BOTO3_ATTEMPTS}
from boto3.s3.transfer import TransferConfig
c = boto3.client('s3', endpoint_url='${d.endpoint}', aws_access_key_id='${ACCESS_KEY}', aws_secret_access_key='${SECRET_KEY}', region_name='${REGION}',
  config=Config(request_checksum_calculation='when_required', response_checksum_validation='when_required', s3={'addressing_style': 'path'}))
TC = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=2)
attempt('upload_file', lambda: c.upload_file('${file}', '${bucket}', 'boto3-big', Config=TC))
attempt('head', lambda: c.head_object(Bucket='${bucket}', Key='boto3-big')['ETag'])
def listed():
    up = c.create_multipart_upload(Bucket='${bucket}', Key='boto3-listed')['UploadId']
    data = open('${file}', 'rb').read()
    p1 = c.upload_part(Bucket='${bucket}', Key='boto3-listed', UploadId=up, PartNumber=1, Body=data[:5 * 1024 * 1024])
    p2 = c.upload_part(Bucket='${bucket}', Key='boto3-listed', UploadId=up, PartNumber=2, Body=data[5 * 1024 * 1024:])
    parts = [{'PartNumber': i + 1, 'ETag': p['ETag'], 'ChecksumCRC64NVME': p['ChecksumCRC64NVME']} for i, p in enumerate([p1, p2])]
    done = c.complete_multipart_upload(Bucket='${bucket}', Key='boto3-listed', UploadId=up, MultipartUpload={'Parts': parts})
    return [done.get('ChecksumCRC64NVME'), done.get('ChecksumType')]
attempt('listed', listed)
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON_BIN, ['-c', script], { env: pyEnv, encoding: 'utf8', timeout: 120_000 });
  tt.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, { ok?: unknown; code?: string }>;
  tt.ok(out.upload_file && 'ok' in out.upload_file, `upload_file: ${JSON.stringify(out.upload_file)}`);
  tt.match(String(out.head?.ok), /-2"$/, 'upload_file: a multipart object');
  tt.same(out.listed?.ok, [await crc64(big), 'FULL_OBJECT'], 'upload_part\'s answered CRC64NVME listed in the completion (as minio-go and the Go SDK list it): taken, the object\'s answered');
});

t.test('s3d verify --deep checks the part defaults against the data', async (tt) => {
  // SSE-S3 and SSE-C objects and uploads (SSE-C is out of a deep check's reach): nothing found.
  const clean = await runS3d(['verify', tls.dataDir, '--deep'], { S3_CRYPTO_WORKERS: '2', S3_KMS_SECRET_KEY: TEST_KMS_SECRET }, 60_000);
  tt.equal(clean.code, 0, clean.stdout + clean.stderr);
  tt.notMatch(clean.stdout, /PROBLEM/);
  // A part default that does not describe its data (the daemon is stopped to edit its store).
  tt.equal(await d.stop(), 0);
  const m = new MetaStore(join(d.dataDir, '.s3d'));
  try {
    await m.updateObject(bucket, 'plain', (r) => {
      const [first, ...rest] = r.parts!;
      if (first?.defaultChecksum?.checksums?.CRC64NVME === undefined) throw new Error(`plain's part 1 has no default: ${JSON.stringify(first)}`);
      return { ...r, parts: [{ ...first, defaultChecksum: { checksums: { CRC64NVME: 'AAAAAAAAAAA=' } } }, ...rest] };
    });
  } finally {
    await m.close();
  }
  const damaged = await runS3d(['verify', d.dataDir, '--deep'], { S3_CRYPTO_WORKERS: '2' }, 60_000);
  tt.equal(damaged.code, 1);
  const problems = damaged.stdout.split('\n').filter((l) => l.startsWith('PROBLEM '));
  tt.same(problems.map((l) => l.replace(/ version [^\s:]+/, '')), [`PROBLEM ${bucket}/plain part 1: checksum: content CRC64NVME ${await crc64(parts[0]!)}, the record says AAAAAAAAAAA=`], 'the wrong default is found, nothing else');
});

t.test('part defaults swapped between parts or malformed in the store: a clean S3 error, nothing committed, the daemon serves on', async (tt) => {
  // The TLS daemon of the tests above (its checks are done), in a bucket of its own.
  const first = tls;
  const c1 = s3Tls;
  const b = await createBucket(c1, 'mptamper');
  const enc = ssec(customerKey);
  const two = [parts[0]!, parts[2]!];
  const sseC = await upload(tt, c1, b, 'swap-c', two, enc);
  const sseS3 = await upload(tt, c1, b, 'swap-s3', two, { ServerSideEncryption: 'AES256' });
  const badLen = await upload(tt, c1, b, 'bad-len', two);
  tt.equal(await first.stop(), 0);
  const m = new MetaStore(join(first.dataDir, '.s3d'));
  try {
    for (const up of [sseC, sseS3]) {
      const [p1, p2] = m.listParts(up.uploadId);
      if (p1?.defaultChecksum?.sealedChecksums === undefined || p2?.defaultChecksum?.sealedChecksums === undefined) throw new Error(`no sealed defaults: ${JSON.stringify([p1, p2])}`);
      await m.putPart(up.uploadId, { ...p1, defaultChecksum: p2.defaultChecksum });
      await m.putPart(up.uploadId, { ...p2, defaultChecksum: p1.defaultChecksum });
    }
    const [q1] = m.listParts(badLen.uploadId);
    await m.putPart(badLen.uploadId, { ...q1!, defaultChecksum: { checksums: { CRC64NVME: 'AAAA' } } });
  } finally {
    await m.close();
  }
  const again = await startDaemonFor(t, { tls: true, dataDir: first.dataDir });
  const c2 = plainClient(again);
  const cases: Array<[string, Uploaded, Record<string, string>]> = [
    ['swap-c', sseC, enc],
    ['swap-s3', sseS3, {}],
    ['bad-len', badLen, {}],
  ];
  for (const [key, up, e] of cases) {
    const f = await sdkFailure(c2.send(completion(b, key, up, e)));
    tt.not(f.name, 'InternalError', `${key}: not an InternalError (${f.status} ${f.name}: ${f.message})`);
    const listedF = await sdkFailure(c2.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: key, UploadId: up.uploadId, MultipartUpload: { Parts: up.etags.map((ETag) => ({ PartNumber: up.etags.indexOf(ETag) + 1, ETag, ChecksumCRC64NVME: 'AAAAAAAAAAA=' })) }, ...e })));
    tt.not(listedF.name, 'InternalError', `${key}, the defaults listed: not an InternalError (${listedF.status} ${listedF.name}: ${listedF.message})`);
    const head = await sdkFailure(c2.send(new HeadObjectCommand({ Bucket: b, Key: key, ...e })));
    tt.equal(head.status, 404, `${key}: nothing committed`);
    tt.equal((await c2.send(new ListPartsCommand({ Bucket: b, Key: key, UploadId: up.uploadId, ...e }))).Parts?.length, 2, `${key}: the upload is still there`);
  }
  await c2.send(new PutObjectCommand({ Bucket: b, Key: 'after', Body: 'still serving' }));
  tt.pass('the daemon serves on');
});
