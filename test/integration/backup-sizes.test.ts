// `s3d backup` checks every data file it copies against the size its record gives (the sealed
// length of the object's or part's DARE stream; SSE-S3 here, the --dev key): a store with a data file cut short or grown
// (disk damage, a bad restore) is not backed up. The backup fails (exit 1) naming the object
// (bucket/key version ID [part N], or upload ID part N) and the file, removes what it made, and
// with `--into ROOT --keep N` removes no earlier backup. A data file damaged inside, its size
// intact, is copied as it is (the backup holds no keys to check DARE's tags): `s3d verify --deep`
// finds it, in DIR or in the backup.

import t, { type Test } from 'tap';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { runS3d, startDaemonFor, testBytes, type S3dRun } from '../helpers/daemon.js';
import { dataFilePaths, flipByte } from '../helpers/files.js';
import { createBucket } from '../helpers/s3.js';
import { holdFile } from '../../daemon/storage/backup-hold.js';

const MiB = 1024 * 1024;
const s3d = (args: string[]): Promise<S3dRun> => runS3d(args, {}, 60_000);

function tempBase(t: Test): string {
  const base = mkdtempSync(join(tmpdir(), 's3d-backup-sizes-'));
  t.teardown(() => {
    if (!process.env.S3D_KEEP_TEST_DIRS) rmSync(base, { recursive: true, force: true });
  });
  return base;
}

/** Runs `write` and returns the one data file it made in `dataDir`. */
async function newFile(dataDir: string, write: () => Promise<unknown>): Promise<string> {
  const before = new Set(dataFilePaths(dataDir));
  await write();
  const made = dataFilePaths(dataDir).filter((p) => !before.has(p));
  if (made.length !== 1) throw new Error(`expected one new data file, found ${made.length}`);
  return made[0]!;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

t.test('a data file of the wrong size fails the backup, naming the object and the file; --keep removes no earlier backup', async (t) => {
  const d = await startDaemonFor(t, { dev: true, kms: false, env: { S3_KMS_AUTO_ENCRYPTION: 'on' } });
  const s3: S3Client = d.s3();
  const bucket = await createBucket(s3, 'sizes');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  let v1 = '';
  const oldFile = await newFile(d.dataDir, async () => (v1 = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc', Body: testBytes(300_001, 1) }))).VersionId!));
  let v2 = '';
  const curFile = await newFile(d.dataDir, async () => (v2 = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc', Body: testBytes(300_002, 2) }))).VersionId!));
  // A multipart object of two parts.
  const mp = (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'big' }))).UploadId!;
  const e1 = (await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'big', UploadId: mp, PartNumber: 1, Body: testBytes(5 * MiB, 3) }))).ETag!;
  let e2 = '';
  const partFile = await newFile(d.dataDir, async () => (e2 = (await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'big', UploadId: mp, PartNumber: 2, Body: testBytes(300_003, 4) }))).ETag!));
  const big = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'big', UploadId: mp, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }] } }));
  // An upload in progress with one part.
  const open = (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'pending' }))).UploadId!;
  const pendingFile = await newFile(d.dataDir, () => s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'pending', UploadId: open, PartNumber: 1, Body: testBytes(300_004, 5) })));

  const base = tempBase(t);
  const root = join(base, 'root');
  const good = await s3d(['backup', d.dataDir, '--into', root, '--keep', '1']);
  t.equal(good.code, 0, `a good backup first ${good.stderr}`);
  const goodName = readdirSync(root);
  t.equal(goodName.length, 1, 'ROOT holds it');

  const rel = (p: string): string => relative(d.dataDir, p);
  const cases: Array<{ name: string; file: string; damage: (f: string) => void; object: string; sizes: (orig: number) => [number, number] }> = [
    { name: 'a noncurrent version cut short by one byte', file: oldFile, damage: (f) => truncateSync(f, statSync(f).size - 1), object: `${bucket}/doc version ${v1}`, sizes: (n) => [n - 1, n] },
    { name: 'the current version with bytes appended', file: curFile, damage: (f) => appendFileSync(f, Buffer.alloc(10)), object: `${bucket}/doc version ${v2}`, sizes: (n) => [n + 10, n] },
    { name: "a multipart object's part cut to nothing", file: partFile, damage: (f) => truncateSync(f, 0), object: `${bucket}/big version ${big.VersionId} part 2`, sizes: (n) => [0, n] },
    { name: 'a part of an upload in progress cut short', file: pendingFile, damage: (f) => truncateSync(f, 65_536), object: `${bucket}/pending upload ${open} part 1`, sizes: (n) => [65_536, n] },
  ];
  for (const c of cases) {
    const saved = readFileSync(c.file);
    c.damage(c.file);
    const [has, expected] = c.sizes(saved.length);
    const r = await s3d(['backup', d.dataDir, '--into', root, '--keep', '1']);
    t.equal(r.code, 1, `${c.name}: exit 1`);
    t.match(r.stderr, new RegExp(`data file ${esc(rel(c.file))} of ${esc(c.object)} has ${has} bytes, ${expected} expected`), `${c.name}: names the object and the file, and both sizes`);
    t.notMatch(r.stdout, /removed|done:/, `${c.name}: nothing removed, no "done"`);
    t.match(r.stderr, /; no earlier backup in .* was removed\n/, `${c.name}: says no earlier backup was removed`);
    t.same(readdirSync(root), goodName, `${c.name}: ROOT holds the good backup only (the failed one is removed)`);
    t.notOk(existsSync(holdFile(d.dataDir)), `${c.name}: the hold is released`);
    writeFileSync(c.file, saved);
  }

  // DIR DEST, without the space check's stat of every file: the copy's length is checked; DEST removed.
  const savedCur = readFileSync(curFile);
  truncateSync(curFile, 100);
  const dest = join(base, 'dest');
  const r = await s3d(['backup', d.dataDir, dest, '--no-space-check']);
  t.equal(r.code, 1, 'DIR DEST: exit 1');
  t.match(r.stderr, new RegExp(`of ${esc(`${bucket}/doc version ${v2}`)} has 100 bytes`), 'DIR DEST: names the object');
  t.notOk(existsSync(dest), 'DIR DEST: DEST is removed');
  writeFileSync(curFile, savedCur);

  // Missing: named with its object too.
  const savedOld = readFileSync(oldFile);
  rmSync(oldFile);
  const missing = await s3d(['backup', d.dataDir, '--into', root, '--keep', '1']);
  t.equal(missing.code, 1, 'a missing data file: exit 1');
  t.match(missing.stderr, new RegExp(`data file ${esc(rel(oldFile))}, which the snapshot references, is missing in .*: the store is damaged \\(${esc(`${bucket}/doc version ${v1}`)} cannot be read`), 'names the file and the object');
  t.same(readdirSync(root), goodName, 'missing: ROOT holds the good backup only');
  writeFileSync(oldFile, savedOld);

  // Repaired, the store backs up again, and the good backup makes way for the new one.
  const again = await s3d(['backup', d.dataDir, '--into', root, '--keep', '1']);
  t.equal(again.code, 0, `repaired: exit 0 ${again.stderr}`);
  t.equal(readdirSync(root).length, 1, 'repaired: one backup kept');
  t.not(readdirSync(root)[0], goodName[0], 'the new one');
});

t.test('a data file damaged inside, its size intact: the backup copies it as it is, s3d verify --deep finds it', async (t) => {
  const d = await startDaemonFor(t, { dev: true, kms: false, env: { S3_KMS_AUTO_ENCRYPTION: 'on' } });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'bitrot');
  let version = '';
  const file = await newFile(d.dataDir, async () => (version = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doc', Body: testBytes(300_001, 1) }))).VersionId ?? 'null'));
  flipByte(file, 100_000);
  const dest = join(tempBase(t), 'dest');
  const r = await s3d(['backup', d.dataDir, dest]);
  t.equal(r.code, 0, 'the backup cannot tell (no keys): exit 0');
  const v = await runS3d(['verify', dest, '--deep', '--dev'], { S3_CRYPTO_WORKERS: '1' });
  t.equal(v.code, 1, 's3d verify --deep of the backup: exit 1');
  t.match(v.stdout, new RegExp(`PROBLEM ${esc(`${bucket}/doc version ${version}`)}: tampered`), 'names the object as tampered');
});
