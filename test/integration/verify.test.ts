// `s3d verify DIR [--deep]` against the data directory of a real daemon that keeps serving:
// plain, SSE-S3, SSE-KMS and SSE-C objects, inline ones, multipart ones, noncurrent versions and
// a delete marker, and multipart uploads in progress. A clean store passes shallow and deep; a live writer meanwhile causes no false
// finding; a missing KMS stops a deep run, a wrong KMS key is reported per object; then flipped
// bytes, a truncated file and a deleted file are each found by the check that can see them.
// Usage and configuration errors that are refused before the store is opened (--help, an unknown
// flag, a directory without s3d data, malformed variables) are checked by calling the command's
// function in this process: a launch costs ~0.35 s of CPU (loading the daemon's modules), and
// that its answer becomes the exit code, its usage stdout and its messages stderr, every launched
// run here shows. Anything that opens a store runs as its own process (an empty data.mdb crashed
// it).

import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../daemon/meta/store.js';
import { checksumHasher } from '../../daemon/auth/payload.js';
import { digestBase64 } from '../../daemon/ops/checksums.js';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { runS3d, startDaemonFor, TEST_KMS_SECRET, testBytes, type S3dRun } from '../helpers/daemon.js';
import { countFiles, dataFilePaths, flipByte, waitForFileCounts } from '../helpers/files.js';
import { createBucket } from '../helpers/s3.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { runRecordFile } from '../../daemon/storage/run-records.js';
import { verifyCommand } from '../../daemon/verify.js';
import { KMS_KEY_ID, ssec } from '../helpers/sse.js';
import { encryptedSize } from '../../workers/format/index.js';

const MiB = 1024 * 1024;

interface Run extends S3dRun {
  problems: string[];
}

async function verify(dir: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const run = await runS3d(['verify', dir, ...args], { S3_CRYPTO_WORKERS: '2', ...env }, 60_000);
  return { ...run, problems: run.stdout.split('\n').filter((l) => l.startsWith('PROBLEM ')) };
}

/** `s3d verify DIR …` refused before it opens the store: the command's function, in this process, with the environment `verify` gives a launch. */
async function verifyHere(dir: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await verifyCommand([dir, ...args], { PATH: process.env.PATH, S3_CRYPTO_WORKERS: '2', ...env }, (l) => stdout.push(l + '\n'), (l) => stderr.push(l + '\n'));
  return { code, stdout: stdout.join(''), stderr: stderr.join(''), problems: stdout.filter((l) => l.startsWith('PROBLEM ')) };
}

/** Data files by size (the test picks sizes no two files share). */
function filesBySize(dir: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const p of dataFilePaths(dir)) {
    const size = statSync(p).size;
    if (out.has(size)) throw new Error(`two data files of ${size} bytes`);
    out.set(size, p);
  }
  return out;
}

const KMS_ENV = { S3_KMS_SECRET_KEY: TEST_KMS_SECRET };
const ssecKey = testBytes(32, 99);

const d = await startDaemonFor(t, { tls: true });
const s3: S3Client = d.s3();

// Sizes: files (above the 128 KiB inline threshold) each of a size no other file has.
const SIZES = { plainOld: 300_001, plain: 300_002, sseS3: 2_000_003, sseKms: 1_000_004, sseC: 700_005, deleted: 200_009, other: 400_008, mpTail: 1_000_006, mpPlainTail: 1_000_007, uplSse1: 300_011, uplSse2: 300_012, uplPlain: 300_013 };

/** The CRC32C (base64) of the concatenation of `pieces`, by the daemon's hasher. */
async function crc32cOf(...pieces: Buffer[]): Promise<string> {
  const h = checksumHasher('CRC32C');
  for (const p of pieces) h.update(p);
  return digestBase64(h);
}

const b1 = await createBucket(s3, 'verify');
await s3.send(new PutBucketVersioningCommand({ Bucket: b1, VersioningConfiguration: { Status: 'Enabled' } }));
const put = (Key: string, size: number, extra: Record<string, unknown> = {}, bucket = b1) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: testBytes(size, size), ...extra }));
await put('plain', SIZES.plainOld);
await put('plain', SIZES.plain);
await put('sse-s3', SIZES.sseS3, { ServerSideEncryption: 'AES256' });
await put('sse-kms', SIZES.sseKms, { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ID, SSEKMSEncryptionContext: Buffer.from('{"team":"ops"}').toString('base64') });
await put('sse-c', SIZES.sseC, ssec(ssecKey));
await put('small-plain', 1000);
await put('small-sse', 1001, { ServerSideEncryption: 'AES256' });
await put('empty', 0);
await put('deleted', SIZES.deleted);
await s3.send(new DeleteObjectCommand({ Bucket: b1, Key: 'deleted' }));
// Multipart objects with checksums of their own: COMPOSITE (sealed, SSE-S3) and FULL_OBJECT.
async function multipart(Key: string, tail: number, sse: boolean, ChecksumAlgorithm: 'CRC32' | 'CRC32C', ChecksumType: 'COMPOSITE' | 'FULL_OBJECT'): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b1, Key, ChecksumAlgorithm, ChecksumType, ...(sse ? { ServerSideEncryption: 'AES256' as const } : {}) }));
  const parts = [];
  for (const [i, size] of [5 * MiB, tail].entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: b1, Key, UploadId, PartNumber: i + 1, Body: testBytes(size, tail + i), ChecksumAlgorithm }));
    parts.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32, ChecksumCRC32C: r.ChecksumCRC32C });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: b1, Key, UploadId, MultipartUpload: { Parts: parts } }));
}
await multipart('mp-sse', SIZES.mpTail, true, 'CRC32', 'COMPOSITE');
await multipart('mp-plain', SIZES.mpPlainTail, false, 'CRC32C', 'FULL_OBJECT');
// Uploads in progress: their parts are data too (completing the upload must find them).
async function startUpload(Key: string, sizes: number[], sse: boolean): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b1, Key, ...(sse ? { ServerSideEncryption: 'AES256' as const } : {}) }));
  for (const [i, size] of sizes.entries()) await s3.send(new UploadPartCommand({ Bucket: b1, Key, UploadId, PartNumber: i + 1, Body: testBytes(size, size) }));
}
await startUpload('upl-sse', [SIZES.uplSse1, SIZES.uplSse2], true);
await startUpload('upl-plain', [SIZES.uplPlain], false);
const b2 = await createBucket(s3, 'verify-other');
await put('other', SIZES.other, {}, b2);
// plain ×2, sse-s3, sse-kms, sse-c, small-plain, small-sse, empty, deleted (its version; the marker is not data), mp-sse, mp-plain; and b2's one.
const VERSIONS = 12;

/** The record of the last whole-store check (DIR/.s3d/last-verify). */
const lastVerify = (): Record<string, unknown> => JSON.parse(readFileSync(runRecordFile(d.dataDir, 'last-verify'), 'utf8')) as Record<string, unknown>;
const verifyMetric = async (name: string): Promise<number | undefined> => metricSample(await scrape(d.endpoint, d.caCert), name);

t.test('a clean store passes, shallow and deep, while the daemon serves', async (t) => {
  t.equal(await verifyMetric('s3d_verify_last_run_timestamp_seconds'), 0, 'before any check the daemon reports none (0)');
  const shallow = await verify(d.dataDir, []);
  t.equal(shallow.code, 0, `shallow: exit 0 (${shallow.stderr.trim()})`);
  t.match(shallow.stdout, new RegExp(`^s3d verify: ${VERSIONS} version\\(s\\) in 2 bucket\\(s\\) checked in [0-9.]+ s \\(shallow: data files and sizes\\); 2 multipart upload\\(s\\) in progress: no problems$`, 'm'));
  t.match(lastVerify(), { deep: false, versions: VERSIONS, problems: 0 }, 'the shallow check is recorded in DIR/.s3d/last-verify');
  const deep = await verify(d.dataDir, ['--deep'], KMS_ENV);
  t.equal(deep.code, 0, `deep: exit 0 (${deep.stdout.trim()} ${deep.stderr.trim()})`);
  const rec = lastVerify();
  t.match(rec, { deep: true, versions: VERSIONS, problems: 0 }, 'then the deep one');
  t.equal(await verifyMetric('s3d_verify_last_run_timestamp_seconds'), Date.parse(rec.finished as string) / 1000, 'and the daemon exports its time');
  t.equal(await verifyMetric('s3d_verify_last_deep'), 1, 'that it was deep');
  t.equal(await verifyMetric('s3d_verify_last_problems'), 0, 'its problems');
  t.equal(await verifyMetric('s3d_verify_last_versions'), VERSIONS, 'and the versions it checked');
  t.same(deep.problems, [], 'no problems');
  const bytes = SIZES.plainOld + SIZES.plain + SIZES.sseS3 + SIZES.sseKms + 1000 + 1001 + SIZES.deleted + 2 * 5 * MiB + SIZES.mpTail + SIZES.mpPlainTail + SIZES.other + SIZES.uplSse1 + SIZES.uplSse2 + SIZES.uplPlain;
  t.match(deep.stdout, `deep: ${(bytes / MiB).toFixed(1)} MiB read and authenticated); 2 multipart upload(s) in progress; 1 SSE-C object(s) checked for size only: no problems`, 'every byte but the SSE-C object was read, the parts of uploads in progress too; SSE-C is sizes only');
  const one = await verify(d.dataDir, ['--deep', '--bucket', b2], KMS_ENV);
  t.match(one.stdout, /1 version\(s\) in 1 bucket\(s\)/, '--bucket: only that bucket');
  t.same(lastVerify(), rec, 'which is no check of the whole store: the record stays');
});

t.test('a writer overwriting and deleting meanwhile causes no finding', async (t) => {
  const filesBefore = countFiles(d.dataDir).data;
  let stop = false;
  let writes = 0;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      const key = `churn-${i % 8}`;
      if (i % 3 === 2) await s3.send(new DeleteObjectCommand({ Bucket: b2, Key: key }));
      else await put(key, 150_000 + (i % 7), {}, b2);
      writes++;
    }
  })();
  const runs: Run[] = [];
  for (let i = 0; i < 3; i++) runs.push(await verify(d.dataDir, ['--deep'], KMS_ENV));
  stop = true;
  await writer;
  t.ok(writes > 10, `${writes} writes ran beside the checks`);
  for (const r of runs) {
    t.equal(r.code, 0, `exit 0: ${r.stdout.trim().split('\n').pop()}`);
    t.same(r.problems, [], 'no problem reported');
  }
  // Leave b2 as it was for the counts below, and its data files (the reaper deletes replaced
  // files after a grace period): the damage test picks files by size.
  for (let i = 0; i < 8; i++) await s3.send(new DeleteObjectCommand({ Bucket: b2, Key: `churn-${i}` }));
  t.equal((await waitForFileCounts(d.dataDir, (c) => c.data === filesBefore, 20_000)).data, filesBefore, "the churn's data files are gone again");
});

t.test('deep without the KMS stops (exit 2); with another KMS key each encrypted object is reported', async (t) => {
  const before = lastVerify();
  const none = await verify(d.dataDir, ['--deep']);
  t.equal(none.code, 2, 'exit 2');
  t.same(lastVerify(), before, 'a check that stopped is not recorded');
  t.match(none.stderr, /stopped: .* is SSE-(S3|KMS): its key unseals only through the daemon's KMS \(set the same S3_KMS_\* variables/, 'says why and what to set');
  t.same(none.problems, []);
  const wrong = await verify(d.dataDir, ['--deep'], { S3_KMS_SECRET_KEY: `test-key:${Buffer.alloc(32, 8).toString('base64')}` });
  t.equal(wrong.code, 1, 'exit 1');
  t.same(
    wrong.problems.map((l) => l.replace(/ version [^\s:]+/, '').replace(/ upload [^\s:]+/, ' upload').replace(/: key: .*/, ': key')).sort(),
    [`PROBLEM ${b1}/mp-sse: key`, `PROBLEM ${b1}/small-sse: key`, `PROBLEM ${b1}/sse-kms: key`, `PROBLEM ${b1}/sse-s3: key`, `PROBLEM ${b1}/upl-sse upload: key`],
    'the four SSE-S3/SSE-KMS versions and the SSE-S3 upload in progress, nothing else',
  );
  t.equal(await verifyMetric('s3d_verify_last_problems'), 5, 'the daemon exports the problems that check found, for an alert');
  const shallow = await verify(d.dataDir, []);
  t.equal(shallow.code, 0, 'a shallow run needs no KMS');
});

t.test('usage and configuration errors exit 2', async (t) => {
  const help = await verifyHere(d.dataDir, ['--help']);
  t.equal(help.code, 0, '--help: exit 0');
  t.match(help.stdout, /^usage: s3d verify DIR \[--deep\]/, 'the usage on stdout');
  t.equal((await verify(d.dataDir, ['--bucket', 'no-such-bucket'])).code, 2, 'an unknown bucket');
  t.equal((await verifyHere(d.dataDir, ['--fast'])).code, 2, 'an unknown flag');
  t.equal((await verifyHere(join(d.dataDir, 'nothing-here'), [])).code, 2, 'a directory without s3d data');
  t.equal((await verifyHere(d.dataDir, [], { S3_CRYPTO_WORKERS: 'many' })).code, 2, 'a malformed S3_CRYPTO_WORKERS');
  // The daemon refuses it; verify took it as on (the worker threads read anything but off as on).
  const aes = await verifyHere(d.dataDir, [], { S3_NATIVE_AES: 'maybe' });
  t.equal(aes.code, 2, 'a malformed S3_NATIVE_AES: exit 2, as the daemon');
  t.match(aes.stderr, /S3_NATIVE_AES must be "on" or "off", got "maybe"/, 'naming it as the daemon does');
  t.equal((await verify(d.dataDir, [], { S3_NATIVE_AES: 'off' })).code, 0, 'S3_NATIVE_AES=off is fine');
  // A store that lost its metadata beside its data files (a restore that missed data.mdb): LMDB
  // threw without naming it (exit 1, a stack trace), and crashed on an empty file (SIGSEGV).
  const lost = mkdtempSync(join(tmpdir(), 's3d-verify-lost-'));
  t.teardown(() => rmSync(lost, { recursive: true, force: true }));
  mkdirSync(join(lost, '.s3d', 'meta'), { recursive: true });
  mkdirSync(join(lost, '.s3d', 'objects', 'ab'), { recursive: true });
  writeFileSync(join(lost, '.s3d', 'objects', 'ab', 'ab'.repeat(16)), 'data');
  for (const [what, make] of [['missing', () => undefined], ['empty', () => writeFileSync(join(lost, '.s3d', 'meta', 'data.mdb'), '')]] as const) {
    make();
    const r = await verify(lost, []);
    t.equal(r.code, 2, `data.mdb ${what}: exit 2`);
    t.match(r.stderr, `s3d verify: the metadata store ${join(lost, '.s3d', 'meta', 'data.mdb')} is missing or empty`, 'which it names');
    t.notMatch(r.stdout, /no problems/, 'never a clean bill');
  }
});

t.test("--deep --dev: the KMS's messages are lines of text on stderr, as the command's own (they were pino's JSON lines)", async (t) => {
  const dev = await startDaemonFor(t, { dev: true, kms: false });
  const s3 = dev.s3();
  const bucket = await createBucket(s3, 'verify-dev');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sse', Body: testBytes(70_000), ServerSideEncryption: 'AES256' }));
  const run = await verify(dev.dataDir, ['--deep', '--dev']);
  t.equal(run.code, 0, `exit 0 (${run.stderr.trim()})`);
  t.match(run.stdout, /^s3d verify: 1 version\(s\) in 1 bucket\(s\) checked in [0-9.]+ s \(deep: [0-9.]+ MiB read and authenticated\): no problems$/m, 'the development key opened it');
  t.equal(
    run.stderr,
    `s3d verify: warning: KMS: using a generated key file - development only, do not use in production (file: ${join(dev.dataDir, '.s3d', 'kms-dev.key')}; key: s3d-dev-key)\n`,
    'its one warning, a line of text like the others: no JSON, no level number, no timestamp',
  );
});

t.test('damage: flipped bytes, a truncated file and a deleted file are found', async (t) => {
  const files = filesBySize(d.dataDir);
  const file = (size: number): string => {
    const p = files.get(size);
    if (p === undefined) throw new Error(`no data file of ${size} bytes`);
    return p;
  };
  flipByte(file(encryptedSize(SIZES.sseS3)), 1_500_000, 0x20);
  flipByte(file(SIZES.plain), 12_345, 0x20);
  flipByte(file(SIZES.mpPlainTail), 999_999, 0x20);
  flipByte(file(encryptedSize(SIZES.sseC)), 100_000, 0x20);
  truncateSync(file(encryptedSize(SIZES.sseKms)), encryptedSize(SIZES.sseKms) - 1);
  rmSync(file(SIZES.plainOld));
  flipByte(file(encryptedSize(SIZES.uplSse2)), 200_000, 0x20);
  rmSync(file(SIZES.uplPlain));
  // Records whose checksums do not describe their data: a wrong value in clear, a sealed value
  // that does not open (the daemon is stopped to edit its store).
  t.equal(await d.stop(), 0);
  const m = new MetaStore(join(d.dataDir, '.s3d'));
  try {
    await m.updateObject(b1, 'small-plain', (r) => ({ ...r, checksums: { CRC32: 'AAAAAA==' } }));
    await m.updateObject(b1, 'small-sse', (r) => ({ ...r, sealedChecksums: { ...r.sealedChecksums!, sealed: new Uint8Array(0) } }));
    // A multipart object's own checksum that its parts' do not form, and one that does not open.
    await m.updateObject(b1, 'mp-plain', (r) => {
      if (!/^[A-Za-z0-9+/]{6}==$/.test(r.checksums?.CRC32C ?? '')) throw new Error(`mp-plain has no FULL_OBJECT CRC32C: ${JSON.stringify(r.checksums)}`);
      return { ...r, checksums: { CRC32C: 'AAAAAA==' } };
    });
    await m.updateObject(b1, 'mp-sse', (r) => {
      if (r.sealedChecksums?.types.CRC32 !== 'COMPOSITE') throw new Error('mp-sse has no sealed COMPOSITE CRC32');
      return { ...r, sealedChecksums: { ...r.sealedChecksums, sealed: r.sealedChecksums.sealed.subarray(1) } };
    });
  } finally {
    await m.close();
  }
  const norm = (lines: string[]): string[] => lines.map((l) => l.replace(/ version [^\s:]+/, '').replace(/ upload [^\s:]+/, ' upload').replace(/ [0-9a-f]{32} /, ' FILE ').replace(/\d+ bytes, \d+ expected/, 'N bytes, M expected')).sort();

  const shallow = await verify(d.dataDir, []);
  t.equal(shallow.code, 1, 'shallow: exit 1');
  t.same(
    norm(shallow.problems),
    [`PROBLEM ${b1}/plain: missing: data file FILE is missing`, `PROBLEM ${b1}/sse-kms: size: data file FILE has N bytes, M expected`, `PROBLEM ${b1}/upl-plain upload part 1: missing: data file FILE is missing`],
    'shallow sees the missing and the truncated files only',
  );
  t.match(shallow.stdout, /: 3 problem\(s\)$/m);

  const deep = await verify(d.dataDir, ['--deep'], KMS_ENV);
  t.equal(deep.code, 1, 'deep: exit 1');
  const got = norm(deep.problems);
  t.same(
    got.map((l) => l.replace(/: (md5|tampered|checksum): .*/, ': $1')),
    [
      `PROBLEM ${b1}/mp-plain part 2: checksum`,
      `PROBLEM ${b1}/mp-plain part 2: md5`,
      `PROBLEM ${b1}/mp-plain: checksum`,
      `PROBLEM ${b1}/mp-sse: tampered`,
      `PROBLEM ${b1}/plain: checksum`,
      `PROBLEM ${b1}/plain: md5`,
      `PROBLEM ${b1}/plain: missing: data file FILE is missing`,
      `PROBLEM ${b1}/small-plain: checksum`,
      `PROBLEM ${b1}/small-sse: tampered`,
      `PROBLEM ${b1}/sse-kms: size: data file FILE has N bytes, M expected`,
      `PROBLEM ${b1}/sse-s3: tampered`,
      `PROBLEM ${b1}/upl-plain upload part 1: missing: data file FILE is missing`,
      `PROBLEM ${b1}/upl-sse upload part 2: tampered`,
    ],
    'deep also finds the flipped bytes: by authentication (SSE-S3) and by MD5 and CRC32 (plain, a plain part); the SSE-C flip is out of its reach; and records whose checksums do not match their data (or, for a multipart object itself, its parts) or do not open',
  );
  t.match(deep.stdout, /1 SSE-C object\(s\) checked for size only: 13 problem\(s\)$/m);
  t.match(lastVerify(), { deep: true, problems: 13 }, 'the problems are recorded (the daemon, stopped here, exports them as s3d_verify_last_problems)');
  t.ok(got.includes(`PROBLEM ${b1}/mp-plain: checksum: object CRC32C (FULL_OBJECT) ${await crc32cOf(testBytes(5 * MiB, SIZES.mpPlainTail), testBytes(SIZES.mpPlainTail, SIZES.mpPlainTail + 1))} from its parts, the record says AAAAAA==`), 'the FULL_OBJECT value formed again is the CRC32C of the whole (unflipped) content');
});
