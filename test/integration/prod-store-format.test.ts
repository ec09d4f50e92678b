// A downgrade is refused at start-up. The metadata store records its format (`store-format` in its
// state table, written when a version opens it); a store whose format is newer than the running
// version reads (a newer s3d wrote it) stops the daemon with exit 2 and a message saying so, and
// `s3d verify` refuses it too, before anything is touched. An upgrade probe found that a version
// from before versioning, started on a newer store, took the noncurrent versions' data files for
// crash leftovers and deleted them; the mark keeps future versions from doing the like.
// An upgrade the other way: a store an earlier version wrote lacks the tables added since, which
// the read-only opens of `s3d verify` and `s3d backup` (beside that version's daemon, or on a copy)
// read as empty, and the first read-write open (the daemon starting) creates.
import t from 'tap';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadBucketCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { MetaStore, STORE_FORMAT } from '../../daemon/meta/store.js';
import { runS3d, startDaemon, TEST_KMS_SECRET, testBytes, type S3dRun } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { createBucket, getBytes } from '../helpers/s3.js';

const run = (args: string[]): Promise<S3dRun> => runS3d(args, { S3_ADDRESS: '127.0.0.1:0', S3_CRYPTO_WORKERS: '2' }, 30_000);

/** Reads or sets the store's format mark with lmdb-js directly (the daemon is stopped). */
async function formatMark(dataDir: string, set?: string): Promise<string | undefined> {
  const root = open({ path: join(dataDir, '.s3d', 'meta') });
  try {
    const state = root.openDB<string, string>({ name: 'state' });
    if (set !== undefined) await state.put('store-format', set);
    return state.get('store-format');
  } finally {
    await root.close();
  }
}

/** The tables of the first store format (s3d's first commit); every other one was added since. */
const FIRST_TABLES = ['buckets', 'gc', 'objects', 'parts', 'upload-index', 'uploads'];

/** The names of the store's tables (LMDB's named databases), read with lmdb-js directly (the daemon is stopped). */
async function tableNames(dataDir: string): Promise<string[]> {
  const root = open({ path: join(dataDir, '.s3d', 'meta'), readOnly: true });
  try {
    return [...root.getKeys()].map(String).sort();
  } finally {
    await root.close();
  }
}

t.test('a store of a newer format: exit 2 with the reason, nothing touched; back to its format, it serves', async (t) => {
  let d = await startDaemon();
  t.teardown(() => d.cleanup());
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'format');
  const body = testBytes(300_000, 7);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: body }));
  const dataDir = d.dataDir;
  t.equal(await d.stop(), 0, 'stopped cleanly');
  t.equal(await formatMark(dataDir), String(STORE_FORMAT), `the store records its format (${STORE_FORMAT})`);
  const files = dataFilePaths(dataDir).sort();

  await formatMark(dataDir, String(STORE_FORMAT + 1));
  const started = await run(['server', dataDir, '--dev']);
  t.equal(started.code, 2, 'the daemon exits 2 (a configuration error systemd does not restart into)');
  t.match(started.stderr, /written by a newer s3d \(store format \d+; this version reads format \d+ and older\)/, `it says why (${started.stderr.split('\n')[0]})`);
  const verified = await run(['verify', dataDir]);
  t.equal(verified.code, 2, 's3d verify refuses it too, exit 2 (a configuration error, not "problems found")');
  t.match(verified.stderr, /^s3d verify: the metadata store was written by a newer s3d/, '… saying why');
  t.notMatch(verified.stderr, /\n\s+at /, '… without a stack trace');
  t.same(dataFilePaths(dataDir).sort(), files, 'no data file was touched');
  t.equal(await formatMark(dataDir), String(STORE_FORMAT + 1), 'nor the mark');

  await formatMark(dataDir, String(STORE_FORMAT));
  d = await startDaemon({ dataDir });
  t.ok((await getBytes(d.s3(), { Bucket: bucket, Key: 'k' })).equals(body), 'with its own format again the store serves its object');
  t.equal(await d.stop(), 0);
});

t.test('a store without the mark (an earlier version wrote it) is opened and marked', async (t) => {
  let d = await startDaemon();
  t.teardown(() => d.cleanup());
  const dataDir = d.dataDir;
  const bucket = await createBucket(d.s3(), 'unmarked');
  t.equal(await d.stop(), 0);
  const root = open({ path: join(dataDir, '.s3d', 'meta') });
  await root.openDB<string, string>({ name: 'state' }).remove('store-format');
  await root.close();
  t.equal(await formatMark(dataDir), undefined, 'the mark removed');
  d = await startDaemon({ dataDir });
  t.equal((await d.s3().send(new HeadBucketCommand({ Bucket: bucket }))).$metadata.httpStatusCode, 200, 'the daemon starts and serves the bucket of the unmarked store');
  await d.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'x' }));
  t.equal(await d.stop(), 0);
  t.equal(await formatMark(dataDir), String(STORE_FORMAT), 'and the store is marked with this version\'s format');
});

t.test('a store with only the first format\'s tables (an earlier version wrote it): verify, backup and a read-only open find the later ones empty; the daemon creates them', async (t) => {
  let d = await startDaemon();
  t.teardown(() => d.cleanup());
  const dest = `${d.dataDir}-backup`;
  t.teardown(() => rmSync(dest, { recursive: true, force: true }));
  let s3 = d.s3();
  const bucket = await createBucket(s3, 'first');
  const body = testBytes(300_000, 11);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: body }));
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));
  const part = testBytes(200_000, 12);
  const etag = (await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: upload.UploadId, PartNumber: 1, Body: part }))).ETag;
  const dataDir = d.dataDir;
  t.equal(await d.stop(), 0, 'stopped cleanly');
  const allTables = await tableNames(dataDir);
  t.ok(FIRST_TABLES.every((n) => allTables.includes(n)) && allTables.length > FIRST_TABLES.length, `this version's store has more tables (${allTables.join(', ')})`);

  // Every later table dropped: the store format mark goes with `state`, as in the first stores.
  const root = open({ path: join(dataDir, '.s3d', 'meta'), maxDbs: 16 });
  for (const name of allTables) if (!FIRST_TABLES.includes(name)) await root.openDB({ name }).drop();
  await root.close();
  t.same(await tableNames(dataDir), FIRST_TABLES, 'only the first format\'s tables are left');

  const ro = new MetaStore(join(dataDir, '.s3d'), { readOnly: true });
  try {
    t.equal(ro.getObject(bucket, 'k')?.size, body.length, 'read-only open: the object is there');
    t.same(ro.keyVersions(bucket, 'k').length, 1, '… with no noncurrent version');
    t.same(ro.listVersionsWithoutData(bucket, { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 10 }).entries.length, 1, '… listed as one version');
    t.same(ro.recordCounts(), { objects: 1, versions: 0, uploads: 1 }, '… one object, no version, one upload in progress');
    t.same(ro.listParts(upload.UploadId!).length, 1, '… with its part');
    t.equal(ro.referencedFiles().size, 2, '… the object\'s and the part\'s data files referenced');
    t.same([...ro.notifications.held()], [], '… no bucket notification waiting');
    t.same(ro.queuedFiles(), [], '… no file queued for deletion');
  } finally {
    await ro.close();
  }

  const env = { S3_KMS_SECRET_KEY: TEST_KMS_SECRET, S3_CRYPTO_WORKERS: '2' };
  const verified = await runS3d(['verify', dataDir, '--deep'], env);
  t.equal(verified.code, 0, `s3d verify --deep: exit 0 (${verified.stderr.trim()})`);
  t.match(verified.stdout, /1 version\(s\) in 1 bucket\(s\).*1 multipart upload\(s\) in progress.*: no problems/, '… the object and the upload checked, no problems');
  const backedUp = await runS3d(['backup', dataDir, dest], env);
  t.equal(backedUp.code, 0, `s3d backup: exit 0 (${backedUp.stderr.trim()})`);
  t.match(backedUp.stdout + backedUp.stderr, /1 object\(s\), 0 noncurrent version\(s\) and delete marker\(s\), 1 multipart upload\(s\) in progress; 2 data file\(s\) to copy/, '… the object\'s and the part\'s files copied');
  t.same(await tableNames(dataDir), FIRST_TABLES, 'neither created a table');
  const backupVerified = await runS3d(['verify', dest, '--deep'], env);
  t.equal(backupVerified.code, 0, `s3d verify --deep of the backup: exit 0, no problems (${backupVerified.stdout.trim()})`);

  // The daemon of this version creates the later tables at start, and uses them.
  d = await startDaemon({ dataDir });
  s3 = d.s3();
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'k' })).equals(body), 'the daemon serves the object');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'second' }));
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'k' }));
  t.same(versions.Versions?.map((v) => v.VersionId === 'null'), [false, true], 'an overwrite in a versioned bucket keeps the null version (the versions table)');
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'mp' })).equals(part), 'the upload completes (the finished-uploads table)');
  t.equal(await d.stop(), 0, 'stopped cleanly');
  t.same(await tableNames(dataDir), allTables, 'every table of this version is there');
  t.equal(await formatMark(dataDir), String(STORE_FORMAT), 'and the store is marked with this version\'s format');
  const after = await runS3d(['verify', dataDir, '--deep'], env);
  t.equal(after.code, 0, `s3d verify --deep afterwards: exit 0 (${after.stdout.trim()})`);
});
