// PyArrow's S3FileSystem (aws-sdk-cpp inside) and Polars' cloud I/O (Rust's object_store) run for
// real against the built daemon, as data tools drive it: directories over S3 (markers, selectors,
// not-found), streamed writes (PyArrow always uploads in parts, 10 MiB each, in the background or
// not), random-access reads, copies and moves, Parquet files and hive-partitioned datasets, Polars'
// Parquet/CSV/NDJSON/IPC writes (multipart, CRC64NVME full-object checksums) and globbed scans,
// SSE-KMS and SSE-C over TLS. test/fixtures/lake/programs.py runs one scenario per call and prints
// JSON; the assertions compare it with what the SDK finds and with digests of the inputs.
// The Python environment is a venv made from wheels on disk (helpers/lake-venv.ts): skipped when
// python3 or the wheels are missing. DuckDB's httpfs extension is not there offline (it downloads
// it on INSTALL), so DuckDB is not run.

import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import { ACCESS_KEY, ROOT, SECRET_KEY, bucketName, startPlainAndTls, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { sha256Hex } from '../helpers/hash.js';
import { lakeVenv } from '../helpers/lake-venv.js';
import { pythonEnv } from '../helpers/python.js';
import { getBytes } from '../helpers/s3.js';
import { KMS_KEY_ARN, ssec } from '../helpers/sse.js';

const MiB = 1024 * 1024;
const PROGRAMS = join(ROOT, 'test/fixtures/lake/programs.py');

const venv = lakeVenv();
if ('skip' in venv) {
  t.plan(0, `${venv.skip}: skipping PyArrow and Polars`);
} else {
  await suite(venv.python, venv.versions);
}

async function suite(python: string, versions: Record<string, string>): Promise<void> {
  t.comment(`pyarrow ${versions.pyarrow}, polars ${versions.polars}`);
  const work = mkdtempSync(join(tmpdir(), 's3d-lake-'));
  const { plain, tls, caFile } = await startPlainAndTls(t, work);
  const small = testBytes(1000, 1);
  const big = testBytes(23 * MiB + 17, 2);
  writeFileSync(join(work, 'small.bin'), small);
  writeFileSync(join(work, 'big.bin'), big);
  const ssecKey = randomBytes(32);

  /** Runs one programs.py scenario against `d` and parses what it printed. */
  function run<T>(scenario: string, d: TestDaemon, bucket: string): Promise<T> {
    const env = pythonEnv(work, {
      S3D_ACCESS_KEY: ACCESS_KEY,
      S3D_SECRET_KEY: SECRET_KEY,
      S3D_WORK: work,
      S3D_SSEC_KEY: ssecKey.toString('base64'),
      // object_store (rustls) trusts the certificates SSL_CERT_FILE names.
      ...(d === tls ? { S3D_CA_BUNDLE: caFile, SSL_CERT_FILE: caFile } : {}),
    });
    return new Promise((resolve, reject) => {
      execFile(python, [PROGRAMS, scenario, d.endpoint, bucket], { env, maxBuffer: 16 * MiB, timeout: 120_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${scenario} failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as T);
      });
    });
  }

  /** The object's stored full-object CRC64NVME and one computed over its bytes. */
  async function crc64(d: TestDaemon, Bucket: string, Key: string): Promise<{ stored: string | undefined; type: string | undefined; computed: string }> {
    const s3 = d.s3();
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
    const crc = new Crc64Nvme();
    crc.update(await getBytes(s3, { Bucket, Key }));
    return { stored: head.ChecksumCRC64NVME, type: head.ChecksumType, computed: Buffer.from(await crc.digest()).toString('base64') };
  }

  t.test(`pyarrow ${versions.pyarrow} S3FileSystem over http`, async (t) => {
    const b = bucketName('arrow');
    const s3 = plain.s3();
    const out = await run<Record<string, unknown>>('pyarrow', plain, b);
    t.same(out.info, { bucket: ['dir', null], dir: ['dir', null], nested: ['dir', null], missing: ['missing', null], missing_bucket: ['missing', null] }, 'create_dir made the bucket and the directories; get_file_info tells them from files and from nothing');
    t.same(out.file_info, ['file', 1000], 'a file has its size');
    t.same(
      out.walk,
      [[`${b}/d1`, 'dir', null], [`${b}/d1/d2`, 'dir', null], [`${b}/d1/d2/big.bin`, 'file', big.length], [`${b}/d1/small.bin`, 'file', 1000], [`${b}/empty.bin`, 'file', 0], [`${b}/nobg.bin`, 'file', big.length], [`${b}/typed.txt`, 'file', 5]],
      'a recursive selector lists every file and directory once',
    );
    t.same(out.walk_d1, [[`${b}/d1/d2`, 'dir', null], [`${b}/d1/small.bin`, 'file', 1000]], 'a selector without recursion lists one level');
    t.match(out.walk_missing, /^FileNotFoundError/, 'a selector on nothing is FileNotFoundError');
    t.equal(out.walk_missing_allowed, 0, '... or empty with allow_not_found');
    const at = (o: number, n: number): string => sha256Hex(big.subarray(o, o + n));
    t.same(out.ranged, { size: big.length, seeked: at(5 * MiB + 3, 100), tail: at(big.length - 500, 500), middle: at(9 * MiB + 1, 2 * MiB), whole: sha256Hex(big) }, 'seeks and read_at read the bytes at their offsets');
    t.same(out.read, { small: sha256Hex(small), empty: sha256Hex(Buffer.alloc(0)), nobg: sha256Hex(big) }, 'streams read back what was written');
    t.same(out.typed_metadata, { 'Content-Type': 'text/plain', 'Content-Length': '5' }, 'metadata given to open_output_stream comes back');
    t.match(out.open_dir, /^FileNotFoundError/, 'opening a directory as a file is FileNotFoundError');
    t.match(out.open_missing, /^FileNotFoundError/, 'opening nothing is FileNotFoundError');
    t.same(out.copied, { big: sha256Hex(big), moved: sha256Hex(small), move_source: ['missing', null] }, 'copy_file and move (CopyObject, then DeleteObject)');
    t.match(out.move_dir, /NO_SUCH_KEY during CopyObject/, "moving a directory copies its own key, which S3 does not have: NoSuchKey, as on AWS");
    t.same(out.after_delete_contents, { d1: ['dir', null], below: [] }, 'delete_dir_contents empties the directory and keeps it');
    t.same(out.after_delete_dir, ['missing', null], 'delete_dir removes it');
    t.equal(out.parquet_equal, true, 'Parquet write_table/read_table');
    t.equal(out.parquet_uri_equal, true, 'Parquet through an s3:// URI with credentials and endpoint_override');
    t.same(out.dataset, { files: [0, 1, 2].map((p) => `${b}/ds/p=${p}/part-0.parquet`), rows: 100_000, p1: 33_333, sum: 4_999_950_000 }, 'a hive-partitioned dataset written and read back, filtered by partition');
    t.same(out.bucket_deleted, ['missing', null], 'delete_dir of the bucket deletes its contents, then the bucket');
    await t.rejects(s3.send(new HeadBucketCommand({ Bucket: b })), { name: 'NotFound' }, 'the bucket is gone');
  });

  t.test(`pyarrow ${versions.pyarrow} writes as the SDK reads them`, async (t) => {
    // The same program, its bucket kept: pyarrow's uploads checked from the SDK's side.
    const b = bucketName('arrowsdk');
    const s3 = plain.s3();
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    const env = pythonEnv(work, { S3D_ACCESS_KEY: ACCESS_KEY, S3D_SECRET_KEY: SECRET_KEY, S3D_WORK: work });
    const script = [
      'import os, pyarrow.fs as fs',
      `s3 = fs.S3FileSystem(access_key=os.environ['S3D_ACCESS_KEY'], secret_key=os.environ['S3D_SECRET_KEY'], region='us-east-1', scheme='http', endpoint_override='${plain.endpoint.slice('http://'.length)}')`,
      `data = open(os.path.join(os.environ['S3D_WORK'], 'big.bin'), 'rb').read()`,
      `f = s3.open_output_stream('${b}/big.bin', metadata={'Content-Type': 'application/x-test'}); f.write(data); f.close()`,
      `f = s3.open_output_stream('${b}/small.bin'); f.write(data[:1000]); f.close()`,
    ].join('\n');
    await new Promise<void>((resolve, reject) => execFile(python, ['-c', script], { env, timeout: 60_000 }, (err, _o, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve())));
    t.ok((await getBytes(s3, { Bucket: b, Key: 'big.bin' })).equals(big), 'the 23 MiB stream is whole');
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'big.bin' }));
    t.match(head.ETag, /-3"$/, 'uploaded in three parts (10 MiB, 10 MiB, the rest)');
    t.equal(head.ContentType, 'application/x-test', 'with the Content-Type given');
    t.match((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'small.bin' }))).ETag, /-1"$/, 'a small stream is a one-part upload too');
    t.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: b }))).Uploads, undefined, 'no upload is left open');
  });

  t.test(`pyarrow ${versions.pyarrow} over https (tls_ca_file_path)`, async (t) => {
    const b = bucketName('arrowtls');
    await tls.s3().send(new CreateBucketCommand({ Bucket: b }));
    const out = await run<{ parquet_equal: boolean }>('pyarrow_tls', tls, b);
    t.equal(out.parquet_equal, true, 'a Parquet round trip over TLS');
  });

  t.test(`polars ${versions.polars} (object_store) over http`, async (t) => {
    const b = bucketName('polars');
    const s3 = plain.s3();
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    const out = await run<Record<string, unknown>>('polars', plain, b);
    t.equal(out.parquet_equal, true, 'write_parquet/read_parquet');
    t.equal(out.glob_rows, 20, 'scan_parquet of a glob finds both files');
    t.equal(out.csv_equal, true, 'write_csv, then scan_csv of a glob');
    t.equal(out.ndjson_equal, true, 'sink_ndjson/scan_ndjson');
    t.equal(out.ipc_equal, true, 'write_ipc/scan_ipc');
    t.equal(out.big_equal, true, 'a streamed sink_parquet reads back equal');
    t.equal(out.hive_rows, 25_000, 'a PartitionBy sink scanned with hive partitioning, filtered by its key');
    t.match(out.missing, /not found.*404/s, 'a missing object: 404 Not Found');
    t.match(out.wrong_secret, /403 Forbidden/, 'a wrong secret: 403 Forbidden');
    const bigHead = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'big.parquet' }));
    t.ok(bigHead.ContentLength! > 32 * MiB, 'the sink is larger than one of its 32 MiB parts');
    t.match(bigHead.ETag, /-[2-9]"$/, '... uploaded in several parts');
    // Polars asks object_store for CRC64NVME: x-amz-checksum-algorithm on CreateMultipartUpload and
    // x-amz-checksum-crc64nvme on each part; the object's checksum is the full object's.
    for (const key of ['big.parquet', 'x.parquet', 'c/x.csv']) {
      const c = await crc64(plain, b, key);
      t.same({ stored: c.stored, type: c.type }, { stored: c.computed, type: 'FULL_OBJECT' }, `${key}: its CRC64NVME is the whole object's`);
    }
    const parts = await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'part/' }));
    t.same(parts.Contents?.map((o) => o.Key), [0, 1, 2, 3].map((p) => `part/p=${p}/00000000.parquet`), 'the partitioned sink wrote one file per key');
    t.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: b }))).Uploads, undefined, 'no upload is left open');
  });

  t.test(`polars ${versions.polars} SSE-KMS and SSE-C over https`, async (t) => {
    const b = bucketName('polarsse');
    const s3 = tls.s3();
    await s3.send(new CreateBucketCommand({ Bucket: b }));
    // An SSE-C object the SDK writes: a Parquet file PyArrow made locally.
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'ssec.parquet', Body: localParquet(python, work), ...ssec(ssecKey) }));
    const out = await run<Record<string, unknown>>('polars_sse', tls, b);
    t.equal(out.kms_equal, true, 'an SSE-KMS sink reads back equal');
    const kms = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'kms.parquet' }));
    t.same([kms.ServerSideEncryption, kms.SSEKMSKeyId], ['aws:kms', KMS_KEY_ARN], '... stored under the KMS key Polars named');
    t.equal(out.ssec_rows, 1000, 'an SSE-C object read with its key (HEAD and ranged GETs carry it)');
    t.match(out.ssec_no_key, /400 Bad Request/, '... and refused without it');
    // object_store sends the SSE-C key on CreateMultipartUpload and UploadPart but not on
    // CompleteMultipartUpload, and Polars always asks for CRC64NVME: S3 requires the key on a
    // completion "when the object was created using a checksum algorithm" (CompleteMultipartUpload
    // API reference), so the completion is refused, as AWS refuses it.
    t.match(out.ssec_write, /400 Bad Request.*InvalidRequest/s, 'an SSE-C write is refused at its completion (a client limitation, as on AWS)');
    await t.rejects(s3.send(new GetObjectCommand({ Bucket: b, Key: 'ssec-written.parquet', ...ssec(ssecKey) })), { name: 'NoSuchKey' }, '... and nothing was stored');
  });
}

/** A 1000-row Parquet file made by PyArrow locally (no S3). */
function localParquet(python: string, work: string): Buffer {
  const path = join(work, 'local.parquet');
  const r = spawnSync(python, ['-c', `import pyarrow as pa, pyarrow.parquet as pq; pq.write_table(pa.table({'a': list(range(1000))}), ${JSON.stringify(path)})`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pyarrow could not write ${path}: ${r.stderr}`);
  return readFileSync(path);
}
