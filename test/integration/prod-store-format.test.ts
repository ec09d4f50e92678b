// A downgrade is refused at start-up. The metadata store records its format (`store-format` in its
// state table, written when a version opens it); a store whose format is newer than the running
// version reads (a newer s3d wrote it) stops the daemon with exit 2 and a message saying so, and
// `s3d verify` refuses it too, before anything is touched. An upgrade probe found that a version
// from before versioning, started on a newer store, took the noncurrent versions' data files for
// crash leftovers and deleted them; the mark keeps future versions from doing the like.
import t from 'tap';
import { join } from 'node:path';
import { open } from 'lmdb';
import { HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { STORE_FORMAT } from '../../daemon/meta/store.js';
import { runS3d, startDaemon, testBytes, type S3dRun } from '../helpers/daemon.js';
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
