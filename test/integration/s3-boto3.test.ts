// boto3 against the built daemon, the way Python users drive it: put/get/head with boto3's default
// CRC32 checksums (aws-chunked trailers over TLS, a checksum header over plain HTTP) and without,
// managed multipart uploads and parallel ranged downloads (s3transfer), SSE-S3, SSE-C (TLS),
// SSE-KMS, CopyObject and managed copy (an SSE-C source re-keyed in odd ranges), composite
// checksums (HEAD with ChecksumMode, GetObjectAttributes parts), SHA256 and ContentMD5 puts,
// upload_file and managed copy with ChecksumAlgorithm='SHA256' (composite SHA-256),
// paginated listings with awkward keys, single and batch deletes, SigV4 presigned URLs fetched
// with urllib, bucket operations and error shapes.
// test/fixtures/boto3/client.py, one python process for the whole file (--serve), runs one
// scenario per call and answers with JSON outcomes (digests of what came back, response fields,
// the headers boto3 chose); the assertions here compare them with digests of the inputs computed
// on this side. Skipped when python3 or boto3 is missing.
// SigV2 (signature_version='s3', V2 presigned URLs) is covered by api-sigv2.test.ts, not here.

import t from 'tap';
import type { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, ROOT, SECRET_KEY, bucketName, startPlainAndTls, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { crc32Base64, md5Base64, md5Hex, sha256Hex } from '../helpers/hash.js';
import { getBytes } from '../helpers/s3.js';
import { KMS_KEY_ARN, ssec } from '../helpers/sse.js';
import { PYTHON_BIN, pythonEnv } from '../helpers/python.js';

const MiB = 1024 * 1024;
const CLIENT = join(ROOT, 'test/fixtures/boto3/client.py');

// --- what client.py prints --------------------------------------------------------------------

/** A call that had to fail: S3 code and HTTP status, or the exception when no S3 answer came. */
interface Failure {
  code: string | null;
  status: number | null;
  message?: string;
  exception?: string;
}
/** Response fields of PutObject/GetObject/HeadObject (absent when the response lacked them). */
interface Meta {
  status: number;
  ETag?: string;
  ContentLength?: number;
  ContentType?: string;
  Metadata?: Record<string, string>;
  ServerSideEncryption?: string;
  SSEKMSKeyId?: string;
  SSECustomerAlgorithm?: string;
  SSECustomerKeyMD5?: string;
  ChecksumCRC32?: string;
  ContentRange?: string;
  PartsCount?: number;
}
/** A GetObject response and digests of the body boto3 read. */
interface Got extends Meta {
  sha256: string;
  md5: string;
  length: number;
}
/** How boto3 sent a request body. */
interface Wire {
  content_sha256: string | null;
  content_encoding: string | null;
  transfer_encoding: string | null;
  trailer: string | null;
  decoded_length: string | null;
  checksum_headers: string[];
  content_md5: boolean;
}
type Ops = Record<string, number>;

interface ObjectsOut {
  botocore: string;
  results: Array<{ setup: 'default' | 'when_required' | 's3v4'; name: 'empty' | 'small' | 'mib'; key: string; put: Meta; put_request: Wire; get: Got; get_checksum_mode: string | null; head: Meta; range: Got | null }>;
}
interface TransferOut {
  ops: Ops;
  part_wire: Wire[];
  head: Meta;
  head_part: Meta;
  download_sha256: string;
  download_file_sha256: string;
  ranged_gets: string[];
  if_match: string[];
}
interface SseS3Out {
  put: Meta;
  head: Meta;
  get: Got;
  mp_head: Meta;
  mp_download_sha256: string;
}
interface SseCOut {
  put: Meta;
  put_key_md5_sent: string;
  get: Got;
  head: Meta;
  get_wrong_key: Failure;
  head_wrong_key: Failure;
  get_no_key: Failure;
  head_no_key: Failure;
  mp_ops: Ops;
  mp_requests_with_key: number;
  mp_head: Meta;
  mp_download_sha256: string;
  mp_ranged_gets: number;
  mp_range: Got;
  mp_download_no_key: Failure;
  mp_get_wrong_key: Failure;
}
interface SseKmsOut {
  put: Meta;
  head: Meta;
  get: Got;
  put_default_key: Meta;
  mp_head: Meta;
  mp_download_sha256: string;
}
interface CopyOut {
  same: { etag: string; head: Meta; get: Got };
  replace: { etag: string; head: Meta; get: Got };
  cross: { etag: string; head: Meta; get: Got };
  cross_replace: { head: Meta };
  managed: { ops: Ops; ranges: string[]; if_match: string[]; source_head: Meta; head: Meta; download_sha256: string };
}
interface ChecksumsOut {
  head: { ETag: string; ChecksumCRC32?: string; ChecksumType?: string };
  head_part: { ContentLength: number; ContentRange?: string; ChecksumCRC32?: string; PartsCount?: number };
  attribute_pages: Array<{ etag: string; size: number; checksum: Record<string, string>; total: number; truncated: boolean; parts: Array<[number, number, string | null]> }>;
  put_sha256: string | null;
  head_sha256: string | null;
  get_sha256: string;
  put_md5_etag: string;
  put_wrong_md5: Failure;
  get_md5: string;
  mp_sha256_part_headers: string[];
  mp_sha256_head: { ChecksumSHA256?: string; ChecksumType?: string; Metadata?: Record<string, string> };
  mp_sha256_download: string;
  mp_sha256_copy_head: { ChecksumSHA256?: string; ChecksumType?: string };
  mp_sha256_copy_download: string;
}
interface SsecCopyOut {
  ranges: string[];
  rekeyed_head: Meta;
  rekeyed_sha256: string;
  rekeyed_range: Got;
  rekeyed_old_key: Failure;
  kms_head: Meta;
  kms_sha256: string;
}
interface ListOut {
  all_pages: string[][];
  all_sizes: Record<string, number>;
  encoding_type_sent: boolean;
  delimited_pages: Array<{ keys: string[]; prefixes: string[]; truncated: boolean }>;
  v1_pages: string[][];
  start_after: string[];
  v1_prefix: string;
  version_pages: string[][];
  bodies_match: Record<string, boolean>;
}
interface DeleteOut {
  delete_status: number;
  batch_deleted: string[];
  batch_errors: unknown[];
  batch_request: Wire;
  quiet: { deleted: unknown[]; errors: unknown[] };
  remaining: string[];
  get_deleted: Failure;
  get_batch_deleted: Failure;
  head_deleted: Failure;
  delete_missing_status: number;
}
interface PresignOut {
  get_url_is_v4: boolean;
  get: { status: number; sha256: string };
  get_overrides: { content_type: string; content_disposition: string };
  put_url_is_v4: boolean;
  put_url_signed_headers: string[];
  put: { status: number; etag: string };
  put_back: Got;
  put_other_type: Failure;
  other_key: Failure;
  expired: Failure;
}
interface BucketsOut {
  create: { status: number; location: string };
  create_again: { status: number; location: string };
  head: { status: number; region: string };
  listed: string[];
  location: string | null;
  encryption_before: Failure;
  encryption: unknown[];
  defaulted_head: Meta;
  encryption_after_delete: Failure;
  plain_head: Meta;
  delete_nonempty: Failure;
  delete_status: number;
  head_after_delete: Failure;
  listed_after_delete: string[];
}
type ErrorsOut = Record<'get_missing_key' | 'head_missing_key' | 'get_missing_bucket' | 'head_missing_bucket' | 'wrong_secret_list' | 'wrong_secret_get' | 'unknown_access_key' | 'unknown_access_key_buckets', Failure>;
type EarlyRejectOut = Record<'wrong_secret_put' | 'wrong_secret_put_file' | 'missing_bucket_put' | 'unknown_kms_key_put' | 'missing_upload_part' | 'nothing_stored', Failure>;

// --- environment --------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 's3d-boto3-'));
// Python must not read the user's AWS configuration or credentials, nor reach for instance metadata.
const pyEnv = pythonEnv(work, { S3D_ACCESS_KEY: ACCESS_KEY, S3D_SECRET_KEY: SECRET_KEY, S3D_WORK: work });

const probe = spawnSync(PYTHON_BIN, ['-c', 'import boto3, botocore; print(botocore.__version__)'], { env: pyEnv, encoding: 'utf8' });
const NO_BOTO3 = probe.error
  ? 'python3 is not on PATH: skipping the boto3 suite'
  : probe.status !== 0
    ? `python3 cannot import boto3 (pip install boto3): skipping the boto3 suite`
    : false;

if (NO_BOTO3) {
  rmSync(work, { recursive: true, force: true });
  t.plan(0, NO_BOTO3);
} else {
  await suite(probe.stdout.trim());
}

async function suite(botocoreVersion: string): Promise<void> {
  const [major = 0, minor = 0] = botocoreVersion.split('.').map(Number);
  // botocore 1.36 (boto3 1.36) started sending CRC32 checksums on every upload by default.
  const DEFAULT_CHECKSUMS = major > 1 || (major === 1 && minor >= 36);

  const { plain, tls, caFile } = await startPlainAndTls(t, work);

  const inputs = {
    empty: Buffer.alloc(0),
    small: testBytes(1000, 1),
    mib: testBytes(MiB + 333, 2),
    mid: testBytes(11 * MiB + 7, 3),
    big: testBytes(20 * MiB + 12345, 4),
  };
  for (const [name, data] of Object.entries(inputs)) writeFileSync(join(work, `${name}.bin`), data);
  const sha = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, sha256Hex(v)])) as Record<keyof typeof inputs, string>;

  const bucket = new Map<TestDaemon, string>();
  for (const d of [plain, tls]) {
    const b = bucketName('boto3');
    await d.s3().send(new CreateBucketCommand({ Bucket: b }));
    bucket.set(d, b);
  }
  const scheme = (d: TestDaemon): string => (d === tls ? 'https' : 'http');

  // One python process runs every scenario (client.py --serve), one after another: python and
  // boto3 loaded once rather than once a scenario (~0.5 s of CPU a launch, 14 launches).
  const py = spawn(PYTHON_BIN, [CLIENT, '--serve'], { env: pyEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let pyStderr = '';
  py.stderr.on('data', (c: Buffer) => void (pyStderr += c.toString()));
  const pyExited = new Promise<number | null>((resolve) => py.once('close', resolve));
  const answers = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  t.teardown(async () => {
    py.stdin.end();
    const timer = setTimeout(() => py.kill('SIGKILL'), 10_000);
    await pyExited;
    clearTimeout(timer);
  });
  let queue: Promise<unknown> = Promise.resolve();

  /** Runs one client.py scenario against `d` (its bucket unless `b` is given) and parses its JSON. */
  function boto3<T>(scenario: string, d: TestDaemon, env: Record<string, string> = {}, b = bucket.get(d)!): Promise<T> {
    const run = async (): Promise<T> => {
      py.stdin.write(`${JSON.stringify({ scenario, endpoint: d.endpoint, bucket: b, env: { ...(d === tls ? { S3D_CA_BUNDLE: caFile } : {}), ...env } })}\n`);
      const timer = setTimeout(() => py.kill('SIGKILL'), 90_000);
      try {
        const line = await answers.next();
        if (line.done === true) throw new Error(`boto3 scenario ${scenario} (${scheme(d)}) failed: client.py ended (${String(await pyExited)})\n${pyStderr}`);
        const answer = JSON.parse(line.value) as { ok: T } | { error: string };
        if ('error' in answer) throw new Error(`boto3 scenario ${scenario} (${scheme(d)}) failed: ${answer.error}\n${pyStderr}`);
        return answer.ok;
      } finally {
        clearTimeout(timer);
      }
    };
    const p = queue.then(run, run);
    queue = p.catch(() => undefined);
    return p;
  }

  function multipartETag(body: Buffer, partSize: number): string {
    const h = createHash('md5');
    let n = 0;
    for (let o = 0; o < body.length; o += partSize, n++) h.update(createHash('md5').update(body.subarray(o, o + partSize)).digest());
    return `"${h.digest('hex')}-${n}"`;
  }

  /** One assertion: the call failed with this S3 code and HTTP status. */
  function failed(t: Test, f: Failure, code: string, status: number, what: string): void {
    const note = f.exception ? ` (no S3 answer: ${f.exception})` : '';
    t.same({ code: f.code, status: f.status }, { code, status }, `${what} → ${code} ${status}${note}`);
  }

  /** S3 sorts keys by their UTF-8 bytes. */
  const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

  for (const d of [plain, tls]) {
    t.test(`put_object/get_object/head_object over ${scheme(d)}: default checksums, when_required, explicit s3v4`, async (t) => {
      const out = await boto3<ObjectsOut>('objects', d);
      t.equal(out.results.length, 9, 'three setups × three bodies');
      for (const r of out.results) {
        const body = inputs[r.name];
        const what = `${r.setup}/${r.name}`;
        t.equal(r.get.sha256, sha[r.name], `${what}: GET returns the bytes put (SHA-256)`);
        t.equal(r.get.length, body.length, `${what}: GET length`);
        t.equal(r.get.ContentLength, body.length, `${what}: GET Content-Length`);
        t.equal(r.put.ETag, `"${md5Hex(body)}"`, `${what}: PUT ETag is the body MD5`);
        t.equal(r.get.ETag, r.put.ETag, `${what}: GET ETag`);
        t.equal(r.head.ETag, r.put.ETag, `${what}: HEAD ETag`);
        t.equal(r.head.ContentLength, body.length, `${what}: HEAD Content-Length`);
        t.equal(r.head.ContentType, 'application/x-boto3', `${what}: HEAD Content-Type`);
        t.same(r.head.Metadata, { setup: r.setup, 'file-name': r.name }, `${what}: HEAD user metadata`);
        t.same(r.get.Metadata, { setup: r.setup, 'file-name': r.name }, `${what}: GET user metadata`);
        if (r.range) {
          t.equal(r.range.status, 206, `${what}: ranged GET → 206`);
          t.equal(r.range.ContentRange, `bytes 1000-200999/${body.length}`, `${what}: Content-Range`);
          t.equal(r.range.sha256, sha256Hex(body.subarray(1000, 201000)), `${what}: ranged GET bytes`);
          t.equal(r.range.ChecksumCRC32, undefined, `${what}: no whole-object checksum on a range (boto3 would reject the body)`);
        }

        const wire = r.put_request;
        if (r.setup === 'when_required') {
          t.same([wire.trailer, wire.checksum_headers], [null, []], `${what}: no checksum sent`);
          t.equal(wire.content_sha256, sha[r.name], `${what}: payload signed with its SHA-256`);
          t.equal(r.put.ChecksumCRC32, undefined, `${what}: no checksum to echo`);
          continue;
        }
        if (!DEFAULT_CHECKSUMS) continue;
        if (d === tls) {
          // What boto3 >= 1.36 sends over TLS: an unsigned aws-chunked body with a CRC32 trailer.
          t.equal(wire.content_sha256, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', `${what}: unsigned streaming payload`);
          t.match(wire.content_encoding, /aws-chunked/, `${what}: aws-chunked`);
          t.equal(wire.trailer, 'x-amz-checksum-crc32', `${what}: CRC32 trailer`);
          t.equal(wire.decoded_length, String(body.length), `${what}: decoded length`);
        } else {
          t.equal(wire.content_sha256, sha[r.name], `${what}: over HTTP the payload is signed`);
          t.same(wire.checksum_headers, ['x-amz-checksum-crc32'], `${what}: CRC32 in a header`);
        }
        t.equal(r.put.ChecksumCRC32, crc32Base64(body), `${what}: PUT echoes the verified CRC32`);
        t.equal(r.get_checksum_mode, 'ENABLED', `${what}: boto3 asks for the checksum`);
        t.equal(r.get.ChecksumCRC32, crc32Base64(body), `${what}: GET returns the stored CRC32 (boto3 validated the body against it)`);
      }
      t.ok(out.results.some((r) => r.range !== null), 'a ranged GET was made');
      // Another client reads what boto3 wrote through its default (checksummed) path.
      t.ok((await getBytes(d.s3(), { Bucket: bucket.get(d)!, Key: 'objects/default/mib.bin' })).equals(inputs.mib), '@aws-sdk/client-s3 reads the same bytes');
    });
  }

  t.test('upload_fileobj/upload_file of 20 MiB in 5 MiB parts, download_fileobj/download_file with parallel ranged GETs (TLS)', async (t) => {
    const out = await boto3<Record<'fileobj' | 'file', TransferOut>>('multipart', tls);
    for (const [name, r] of Object.entries(out)) {
      t.same(r.ops, { CreateMultipartUpload: 1, UploadPart: 5, CompleteMultipartUpload: 1 }, `${name}: a five-part multipart upload`);
      t.equal(r.head.ETag, multipartETag(inputs.big, 5 * MiB), `${name}: multipart ETag of the five parts`);
      t.equal(r.head.PartsCount, undefined, `${name}: no parts count without PartNumber, as on S3`);
      t.equal(r.head_part.PartsCount, 5, `${name}: parts count (HEAD with PartNumber)`);
      t.equal(r.head.ContentLength, inputs.big.length, `${name}: size`);
      t.equal(r.download_sha256, sha.big, `${name}: download_fileobj returns the bytes`);
      t.equal(r.download_file_sha256, sha.big, `${name}: download_file returns the bytes`);
      t.equal(r.ranged_gets.length, 5, `${name}: the download was five ranged GETs`);
      t.ok(r.ranged_gets.every((g) => /^bytes=\d+-\d*$/.test(g)), `${name}: every GET had a Range`);
      t.same(r.if_match, [r.head.ETag], `${name}: ranged GETs pinned to the ETag with If-Match (and the daemon let them through)`);
      if (DEFAULT_CHECKSUMS) {
        t.ok(r.part_wire.length > 0 && r.part_wire.every((w) => w.trailer === 'x-amz-checksum-crc32' && w.content_sha256 === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'), `${name}: parts went as aws-chunked with CRC32 trailers`);
      }
    }
  });

  t.test('SSE-S3: put_object and multipart upload_fileobj with ServerSideEncryption=AES256 (TLS)', async (t) => {
    const r = await boto3<SseS3Out>('sse_s3', tls);
    t.equal(r.put.ServerSideEncryption, 'AES256', 'PUT reports AES256');
    t.equal(r.head.ServerSideEncryption, 'AES256', 'HEAD reports AES256');
    t.equal(r.get.ServerSideEncryption, 'AES256', 'GET reports AES256');
    t.equal(r.put.ETag, `"${md5Hex(inputs.small)}"`, 'SSE-S3 ETag is the plaintext MD5');
    t.equal(r.get.sha256, sha.small, 'GET bytes');
    t.equal(r.mp_head.ServerSideEncryption, 'AES256', 'multipart: HEAD reports AES256');
    t.equal(r.mp_head.ETag, multipartETag(inputs.mid, 5 * MiB), 'multipart ETag of the three parts');
    t.equal(r.mp_head.ContentLength, inputs.mid.length, 'multipart: plaintext size');
    t.equal(r.mp_download_sha256, sha.mid, 'multipart: download bytes');
  });

  t.test('SSE-C over TLS: put/get/head, wrong and missing keys, multipart upload and ranged download', async (t) => {
    const key = randomBytes(32);
    const r = await boto3<SseCOut>('sse_c', tls, { S3D_SSEC_KEY: key.toString('hex'), S3D_SSEC_WRONG_KEY: randomBytes(32).toString('hex') });
    const keyMd5 = md5Base64(key);
    t.equal(r.put_key_md5_sent, keyMd5, 'boto3 computed the key MD5 itself');
    t.equal(r.put.SSECustomerAlgorithm, 'AES256', 'PUT echoes the algorithm');
    t.equal(r.put.SSECustomerKeyMD5, keyMd5, 'PUT echoes the key MD5');
    t.match(r.put.ETag, /^"[0-9a-f]{32}"$/, 'PUT ETag');
    t.not(r.put.ETag, `"${md5Hex(inputs.small)}"`, 'an SSE-C ETag is not the plaintext MD5');
    t.equal(r.get.sha256, sha.small, 'GET with the key returns the bytes');
    t.equal(r.get.SSECustomerKeyMD5, keyMd5, 'GET echoes the key MD5');
    t.equal(r.head.ContentLength, inputs.small.length, 'HEAD with the key: plaintext size');
    t.equal(r.head.SSECustomerAlgorithm, 'AES256', 'HEAD echoes the algorithm');
    // S3 answers a wrong customer key with 403 AccessDenied, and a missing one with 400 InvalidRequest.
    failed(t, r.get_wrong_key, 'AccessDenied', 403, 'GET with the wrong key');
    t.equal(r.head_wrong_key.status, 403, 'HEAD with the wrong key → 403');
    failed(t, r.get_no_key, 'InvalidRequest', 400, 'GET without the key');
    t.equal(r.head_no_key.status, 400, 'HEAD without the key → 400');

    t.same(r.mp_ops, { CreateMultipartUpload: 1, UploadPart: 3, CompleteMultipartUpload: 1 }, 'upload_fileobj went multipart');
    t.equal(r.mp_requests_with_key, Object.values(r.mp_ops).reduce((a, n) => a + n, 0), 'every request of the upload carried the key');
    t.equal(r.mp_head.ContentLength, inputs.mid.length, 'multipart: plaintext size');
    t.equal(r.mp_head.SSECustomerKeyMD5, keyMd5, 'multipart: HEAD echoes the key MD5');
    t.equal(r.mp_head.PartsCount, undefined, 'multipart: no parts count without PartNumber');
    t.equal(r.mp_ranged_gets, 3, 'download_fileobj made three ranged GETs with the key');
    t.equal(r.mp_download_sha256, sha.mid, 'download_fileobj returns the bytes');
    t.equal(r.mp_range.status, 206, 'ranged get_object → 206');
    t.equal(r.mp_range.ContentRange, `bytes 5242000-6300000/${inputs.mid.length}`, 'Content-Range across the first part boundary');
    t.equal(r.mp_range.sha256, sha256Hex(inputs.mid.subarray(5242000, 6300001)), 'ranged bytes across the part boundary');
    t.equal(r.mp_download_no_key.status, 400, 'download_fileobj without the key → 400');
    failed(t, r.mp_get_wrong_key, 'AccessDenied', 403, 'ranged GET of the multipart object with the wrong key');
    // The key boto3 encoded opens the object for another client too.
    t.ok((await getBytes(tls.s3(), { Bucket: bucket.get(tls)!, Key: 'sse-c/small.bin', ...ssec(key) })).equals(inputs.small), '@aws-sdk/client-s3 reads it with the same key');
  });

  t.test('SSE-KMS with the built-in key: put_object, the default key, multipart upload_fileobj (TLS)', async (t) => {
    const r = await boto3<SseKmsOut>('sse_kms', tls);
    t.equal(r.put.ServerSideEncryption, 'aws:kms', 'PUT reports aws:kms');
    t.equal(r.put.SSEKMSKeyId, KMS_KEY_ARN, 'PUT reports the key ARN');
    t.equal(r.head.ServerSideEncryption, 'aws:kms', 'HEAD reports aws:kms');
    t.equal(r.head.SSEKMSKeyId, KMS_KEY_ARN, 'HEAD reports the key ARN');
    t.equal(r.get.sha256, sha.small, 'GET bytes');
    t.not(r.put.ETag, `"${md5Hex(inputs.small)}"`, 'an SSE-KMS ETag is not the plaintext MD5');
    t.equal(r.put_default_key.SSEKMSKeyId, KMS_KEY_ARN, 'aws:kms without a key id uses the default key');
    t.equal(r.mp_head.ServerSideEncryption, 'aws:kms', 'multipart: HEAD reports aws:kms');
    t.equal(r.mp_head.SSEKMSKeyId, KMS_KEY_ARN, 'multipart: key ARN');
    t.equal(r.mp_head.PartsCount, undefined, 'multipart: no parts count without PartNumber');
    t.equal(r.mp_download_sha256, sha.mid, 'multipart: download bytes');
  });

  t.test('copy_object within and across buckets, COPY and REPLACE metadata, managed copy of a multipart object (TLS)', async (t) => {
    const bucket2 = bucketName('boto3-copy');
    await tls.s3().send(new CreateBucketCommand({ Bucket: bucket2 }));
    const r = await boto3<CopyOut>('copy', tls, { S3D_BUCKET2: bucket2 });
    const etag = `"${md5Hex(inputs.small)}"`;
    for (const [what, c] of [['same bucket', r.same], ['across buckets', r.cross]] as const) {
      t.equal(c.etag, etag, `${what}: CopyObjectResult ETag`);
      t.equal(c.get.sha256, sha.small, `${what}: copied bytes`);
      t.same(c.head.Metadata, { origin: 'boto3', stage: 'source' }, `${what}: metadata copied`);
      t.equal(c.head.ContentType, 'text/x-source', `${what}: Content-Type copied`);
    }
    t.equal(r.replace.get.sha256, sha.small, 'REPLACE: copied bytes');
    t.same(r.replace.head.Metadata, { stage: 'replaced' }, 'REPLACE: only the new metadata');
    t.equal(r.replace.head.ContentType, 'text/x-replaced', 'REPLACE: new Content-Type');
    t.same(r.cross_replace.head.Metadata, { stage: 'cross-replaced' }, 'REPLACE across buckets: only the new metadata');
    t.equal(r.cross_replace.head.ContentType, 'binary/octet-stream', 'REPLACE without a Content-Type drops the source one');

    const m = r.managed;
    t.same(m.ops, { HeadObject: 1, CreateMultipartUpload: 1, UploadPartCopy: 3, CompleteMultipartUpload: 1 }, 'managed copy: UploadPartCopy in three ranges');
    t.same(m.if_match, [m.source_head.ETag], 'every part copy was conditional on the source ETag');
    t.equal(m.source_head.ETag, multipartETag(inputs.mid, 5 * MiB), 'source: multipart ETag');
    t.equal(m.head.ETag, m.source_head.ETag, 'copy made of the same 5 MiB ranges: same ETag');
    t.equal(m.head.ContentLength, inputs.mid.length, 'copy size');
    t.equal(m.download_sha256, sha.mid, 'copy bytes');
  });

  t.test('checksums after a managed multipart upload: HEAD with ChecksumMode, a part, GetObjectAttributes pages; SHA256 and ContentMD5 puts; upload_file and managed copy with ChecksumAlgorithm=SHA256', async (t) => {
    const r = await boto3<ChecksumsOut>('checksums', plain);
    const parts = [0, 1, 2].map((i) => inputs.mid.subarray(i * 5 * MiB, (i + 1) * 5 * MiB));
    const partCrcs = parts.map((p) => crc32Base64(p));
    // S3's composite checksum: the CRC32 of the parts' CRC32s, with "-<parts>" (HEAD and GET only).
    const composite = crc32Base64(Buffer.concat(partCrcs.map((c) => Buffer.from(c, 'base64'))));
    t.same(r.head, { ETag: multipartETag(inputs.mid, 5 * MiB), ChecksumCRC32: `${composite}-3`, ChecksumType: 'COMPOSITE' }, 'HEAD: the composite checksum of the three parts');
    t.same(r.head_part, { ContentLength: 5 * MiB, ContentRange: `bytes ${5 * MiB}-${10 * MiB - 1}/${inputs.mid.length}`, ChecksumCRC32: partCrcs[1], PartsCount: 3 }, 'HEAD of part 2: its range and its own CRC32');
    t.equal(r.attribute_pages.length, 2, 'GetObjectAttributes: two pages of at most two parts');
    const [first, second] = r.attribute_pages;
    t.same(first?.parts, [[1, 5 * MiB, partCrcs[0]], [2, 5 * MiB, partCrcs[1]]], 'page 1: parts 1 and 2 with sizes and CRC32s');
    t.same(second?.parts, [[3, parts[2]!.length, partCrcs[2]]], 'page 2 (from NextPartNumberMarker): part 3');
    t.same([first?.truncated, second?.truncated, first?.total, second?.total], [true, false, 3, 3], 'IsTruncated and TotalPartsCount');
    t.same(first?.checksum, { ChecksumCRC32: composite, ChecksumType: 'COMPOSITE' }, 'the composite checksum, without "-N" (as S3 gives it here)');
    t.same([first?.etag, first?.size], [multipartETag(inputs.mid, 5 * MiB).slice(1, -1), inputs.mid.length], 'ETag (unquoted) and ObjectSize');

    const sha256B64 = createHash('sha256').update(inputs.small).digest('base64');
    t.same([r.put_sha256, r.head_sha256], [sha256B64, sha256B64], 'ChecksumAlgorithm=SHA256: PUT echoes and HEAD returns the SHA-256');
    t.equal(r.get_sha256, sha.small, 'GET with ChecksumMode (validated by boto3) returns the bytes');
    t.equal(r.put_md5_etag, `"${md5Hex(inputs.small)}"`, 'ContentMD5: PUT stored');
    failed(t, r.put_wrong_md5, 'BadDigest', 400, 'a body that does not match its ContentMD5');
    t.equal(r.get_md5, sha.small, 'the refused PUT left the object as it was');

    // S3's composite SHA-256: the SHA-256 of the parts' SHA-256s, with "-<parts>".
    const sha256Composite = `${createHash('sha256').update(Buffer.concat(parts.map((p) => createHash('sha256').update(p).digest()))).digest('base64')}-3`;
    t.ok(r.mp_sha256_part_headers.length > 0 && r.mp_sha256_part_headers.every((h) => h === 'x-amz-checksum-sha256'), `upload_file sent SHA-256s with its parts: ${r.mp_sha256_part_headers}`);
    t.same(r.mp_sha256_head, { ChecksumSHA256: sha256Composite, ChecksumType: 'COMPOSITE', Metadata: { alg: 'sha256' } }, 'upload_file with ChecksumAlgorithm=SHA256: the composite SHA-256 of the three parts, the metadata');
    t.equal(r.mp_sha256_download, sha.mid, 'GET with ChecksumMode returns the bytes');
    t.same(r.mp_sha256_copy_head, { ChecksumSHA256: sha256Composite, ChecksumType: 'COMPOSITE' }, 'managed copy in the same 5 MiB parts with ChecksumAlgorithm=SHA256: the same composite');
    t.equal(r.mp_sha256_copy_download, sha.mid, 'the copy downloads (ranged GETs)');
  });

  t.test('managed copy of an SSE-C multipart object to a new customer key and to SSE-KMS, in odd ranges (TLS)', async (t) => {
    const key = randomBytes(32);
    const other = randomBytes(32);
    const r = await boto3<SsecCopyOut>('ssec_copy', tls, { S3D_SSEC_KEY: key.toString('hex'), S3D_SSEC_WRONG_KEY: other.toString('hex') });
    const chunk = 5 * MiB + 4097;
    t.same(r.ranges, [`bytes=0-${chunk - 1}`, `bytes=${chunk}-${2 * chunk - 1}`, `bytes=${2 * chunk}-${inputs.mid.length - 1}`].sort(), 'UploadPartCopy ranges off DARE package bounds');
    t.equal(r.rekeyed_sha256, sha.mid, 'the re-keyed copy downloads (ranged GETs) with the new key');
    t.same([r.rekeyed_head.ContentLength, r.rekeyed_head.SSECustomerKeyMD5], [inputs.mid.length, md5Base64(other)], 'HEAD: plaintext size, the new key');
    t.equal(r.rekeyed_range.sha256, sha256Hex(inputs.mid.subarray(5246000, 5300001)), 'a range across the copy\'s first part boundary');
    failed(t, r.rekeyed_old_key, '403', 403, 'HEAD of the copy with the source key');
    t.same([r.kms_head.ServerSideEncryption, r.kms_head.SSEKMSKeyId], ['aws:kms', KMS_KEY_ARN], 'the KMS copy reports aws:kms and the key');
    t.equal(r.kms_sha256, sha.mid, 'the KMS copy downloads without a customer key');
  });

  t.test('list_objects_v2 and list_objects paginators with small pages, Prefix, Delimiter, StartAfter, awkward keys', async (t) => {
    const keys = [
      'dir/a b.txt',
      'dir/ünïcödé ß €.txt',
      'dir/plus+sign.txt',
      'dir/100% done.txt',
      'dir/%2F is not a slash.txt',
      'dir/tilde~&=?.txt',
      'dir/sub/one.txt',
      'dir/sub/two.txt',
      'dir/sub2/deep/x.txt',
      'dir//double.txt',
      'dir/',
      'top level.txt',
      'z/日本語/キー.txt',
    ];
    const b = bucketName('boto3-list');
    await plain.s3().send(new CreateBucketCommand({ Bucket: b }));
    const r = await boto3<ListOut>('list', plain, { S3D_KEYS: JSON.stringify(keys) }, b);
    const sorted = [...keys].sort(byBytes);
    t.same(r.all_pages.flat(), sorted, 'every key, in UTF-8 byte order');
    t.equal(r.all_pages.length, Math.ceil(keys.length / 3), 'pages of three');
    t.ok(r.all_pages.every((p) => p.length <= 3), 'no page over PageSize');
    t.ok(r.encoding_type_sent, 'boto3 asked for url-encoded keys (and decoded them)');
    t.same(r.all_sizes, Object.fromEntries(keys.map((k) => [k, Buffer.byteLength(k)])), 'sizes');
    t.same(r.bodies_match, Object.fromEntries(keys.map((k) => [k, true])), 'each key reads back its own body');

    const under = sorted.filter((k) => k.startsWith('dir/'));
    const wantKeys = under.filter((k) => !k.slice(4).includes('/'));
    const wantPrefixes = [...new Set(under.filter((k) => k.slice(4).includes('/')).map((k) => k.slice(0, 4 + k.slice(4).indexOf('/') + 1)))].sort(byBytes);
    const pages = r.delimited_pages;
    t.same(pages.flatMap((p) => p.keys), wantKeys, 'Delimiter: the keys directly under dir/');
    t.same(pages.flatMap((p) => p.prefixes), wantPrefixes, 'Delimiter: CommonPrefixes (dir//, dir/sub/, dir/sub2/)');
    t.ok(pages.every((p) => p.keys.length + p.prefixes.length <= 2), 'keys and prefixes share the page size');
    t.equal(pages.length, Math.ceil((wantKeys.length + wantPrefixes.length) / 2), 'pages of two entries');
    t.same(pages.map((p) => p.truncated), pages.map((_, i) => i < pages.length - 1), 'IsTruncated on every page but the last');
    t.same(r.v1_pages.flat(), under, 'list_objects (v1) pages with markers');
    t.ok(r.v1_pages.length > 1, 'v1 listing took several pages');
    t.same(r.start_after, sorted.filter((k) => byBytes(k, 'dir/sub/') > 0), 'StartAfter');
    t.equal(r.v1_prefix, 'dir/', "list_objects (v1): Prefix as sent (botocore does not decode it; S3 leaves '/' unencoded)");
    t.same(r.version_pages.flat(), sorted, 'list_object_versions paginator: every key decoded back');
    t.ok(r.version_pages.length > 1, 'in several pages');
  });

  t.test('delete_object, delete_objects (with its checksum header), then NoSuchKey', async (t) => {
    const r = await boto3<DeleteOut>('delete', plain);
    const keys = [0, 1, 2, 3, 4].map((i) => `delete/${i} x+y.txt`);
    t.equal(r.delete_status, 204, 'delete_object → 204');
    t.same(r.batch_deleted, [...keys.slice(1, 4), 'delete/never-existed'].sort(), 'delete_objects reports every key deleted, the missing one too');
    t.same(r.batch_errors, [], 'no errors');
    if (DEFAULT_CHECKSUMS) t.same(r.batch_request.checksum_headers, ['x-amz-checksum-crc32'], 'boto3 sent DeleteObjects with a CRC32 header (no Content-MD5)');
    else t.ok(r.batch_request.content_md5, 'boto3 sent DeleteObjects with Content-MD5');
    t.same(r.quiet, { deleted: [], errors: [] }, 'Quiet: an empty result');
    t.same(r.remaining, [keys[4]], 'only the untouched key is left');
    failed(t, r.get_deleted, 'NoSuchKey', 404, 'get_object of a deleted key');
    failed(t, r.get_batch_deleted, 'NoSuchKey', 404, 'get_object of a batch-deleted key');
    t.equal(r.head_deleted.status, 404, 'head_object of a batch-deleted key → 404');
    t.equal(r.delete_missing_status, 204, 'delete_object of a missing key → 204');
  });

  t.test('presigned SigV4 URLs fetched with urllib: GET, response overrides, PUT with a signed Content-Type, expiry (TLS)', async (t) => {
    const r = await boto3<PresignOut>('presign', tls);
    t.ok(r.get_url_is_v4, 'GET URL is SigV4 query auth');
    t.same(r.get, { status: 200, sha256: sha.mib }, 'presigned GET returns the bytes');
    t.same(r.get_overrides, { content_type: 'application/x-presigned', content_disposition: 'attachment; filename="a b.bin"' }, 'response-content-* overrides');
    t.ok(r.put_url_is_v4, 'PUT URL is SigV4 query auth');
    t.same(r.put_url_signed_headers, ['content-type;host'], 'the Content-Type is signed');
    t.same(r.put, { status: 200, etag: `"${md5Hex(inputs.small)}"` }, 'presigned PUT stores the body');
    t.equal(r.put_back.sha256, sha.small, 'the uploaded bytes read back');
    t.equal(r.put_back.ContentType, 'text/x-presigned', 'with the signed Content-Type');
    failed(t, r.put_other_type, 'SignatureDoesNotMatch', 403, 'presigned PUT with another Content-Type');
    failed(t, r.other_key, 'SignatureDoesNotMatch', 403, 'presigned PUT URL moved to another key');
    failed(t, r.expired, 'AccessDenied', 403, 'expired presigned GET');
  });

  t.test('bucket operations: create, head, list, location, default encryption, delete (non-empty, then empty)', async (t) => {
    const name = bucketName('boto3-new');
    const r = await boto3<BucketsOut>('buckets', plain, { S3D_NEW_BUCKET: name });
    t.equal(r.create.status, 200, 'create_bucket');
    t.equal(r.create.location, `/${name}`, 'create_bucket Location');
    // S3 in us-east-1 answers 200 for a bucket the caller owns (legacy behaviour; 409 elsewhere).
    t.same(r.create_again, { status: 200, location: `/${name}` }, 'create_bucket again in us-east-1 → 200');
    t.same(r.head, { status: 200, region: 'us-east-1' }, 'head_bucket with its region');
    t.ok(r.listed.includes(name), 'list_buckets lists it');
    t.equal(r.location, null, 'get_bucket_location: us-east-1 is an empty constraint');
    failed(t, r.encryption_before, 'ServerSideEncryptionConfigurationNotFoundError', 404, 'get_bucket_encryption before any');
    t.match(r.encryption, [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }], 'get_bucket_encryption returns the rule put');
    t.equal(r.encryption.length, 1, 'one rule');
    t.equal(r.defaulted_head.ServerSideEncryption, 'AES256', 'a put without SSE headers got the bucket default');
    failed(t, r.encryption_after_delete, 'ServerSideEncryptionConfigurationNotFoundError', 404, 'get_bucket_encryption after delete_bucket_encryption');
    t.equal(r.plain_head.ServerSideEncryption, undefined, 'after delete_bucket_encryption a put is not encrypted by default');
    failed(t, r.delete_nonempty, 'BucketNotEmpty', 409, 'delete_bucket of a non-empty bucket');
    t.equal(r.delete_status, 204, 'delete_bucket once emptied');
    t.equal(r.head_after_delete.status, 404, 'head_bucket after delete → 404');
    t.notOk(r.listed_after_delete.includes(name), 'list_buckets no longer lists it');
  });

  for (const d of [plain, tls]) {
    t.test(`error shapes over ${scheme(d)}: missing key and bucket, wrong secret, unknown access key`, async (t) => {
      const r = await boto3<ErrorsOut>('errors', d);
      failed(t, r.get_missing_key, 'NoSuchKey', 404, 'get_object of a missing key');
      // HEAD responses have no body: botocore makes the status the code.
      failed(t, r.head_missing_key, '404', 404, 'head_object of a missing key');
      failed(t, r.get_missing_bucket, 'NoSuchBucket', 404, 'get_object in a missing bucket');
      failed(t, r.head_missing_bucket, '404', 404, 'head_bucket of a missing bucket');
      failed(t, r.wrong_secret_list, 'SignatureDoesNotMatch', 403, 'list_objects_v2 with a wrong secret key');
      failed(t, r.wrong_secret_get, 'SignatureDoesNotMatch', 403, 'get_object with a wrong secret key');
      failed(t, r.unknown_access_key, 'InvalidAccessKeyId', 403, 'list_objects_v2 with an unknown access key');
      failed(t, r.unknown_access_key_buckets, 'InvalidAccessKeyId', 403, 'list_buckets with an unknown access key');
    });
  }

  // An upload the daemon rejects before reading its body (bad signature, missing bucket or upload,
  // unknown KMS key). boto3 (http.client) writes the whole body before it reads the answer, so the
  // daemon reads and drops the rest of the body (up to 16 MiB, server.ts DRAIN_MAX_BYTES) instead
  // of closing the connection at once: closing made boto3 over TLS fail its write with SSLEOFError
  // and raise botocore SSLError (and retry) instead of SignatureDoesNotMatch & co.
  for (const d of [plain, tls]) {
    t.test(`uploads rejected before their body over ${scheme(d)} still get the S3 error`, async (t) => {
      const r = await boto3<EarlyRejectOut>('early_reject', d);
      failed(t, r.wrong_secret_put, 'SignatureDoesNotMatch', 403, 'put_object (bytes) with a wrong secret key');
      failed(t, r.wrong_secret_put_file, 'SignatureDoesNotMatch', 403, 'put_object (file object, Expect: 100-continue) with a wrong secret key');
      failed(t, r.missing_bucket_put, 'NoSuchBucket', 404, 'put_object into a missing bucket');
      failed(t, r.unknown_kms_key_put, 'KMS.NotFoundException', 400, 'put_object with an unknown KMS key');
      failed(t, r.missing_upload_part, 'NoSuchUpload', 404, 'upload_part of a missing upload');
      t.equal(r.nothing_stored.status, 404, 'nothing was stored');
    });
  }
}
