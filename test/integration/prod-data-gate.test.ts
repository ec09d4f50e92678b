// S3_DATA_REQUESTS_MAX bounds the requests moving object data through files at once, so a burst
// of clients cannot take the daemon's memory (200 concurrent 2 MiB uploads held ~800 MiB of
// crypto slots for good). Beyond the limit a request waits, before reading its body, and after
// S3_DATA_REQUESTS_WAIT gets 503 SlowDown, which the SDKs retry; small (inline) objects, copies
// (one place for their read and their write) and the waiters themselves never deadlock.
// Requests whose clients are slow give their places back (parked): prod-data-gate-parking.test.ts.
// A copy whose arguments doom it is refused before it waits for a place.
import t from 'tap';
import { CopyObjectCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCopyCommand, type StorageClass } from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { errorCode, openPut, raw } from '../helpers/http.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { bodyBytes, clientFor, createBucket, expectS3Error, withHeaders } from '../helpers/s3.js';
import { pollUntil, sleep } from '../helpers/wait.js';

const MiB = 1024 * 1024;

/**
 * An upload that streams 32 KiB every ~15 ms (~2 MB/s, far above the 256 KiB/s below which an
 * upload is parked) and so holds its place until finish() sends the rest of its 24 MiB at once.
 */
function steadyPut(port: number, path: string): { finish(): Promise<void>; response: Promise<{ status: number }> } {
  const total = 24 * MiB;
  const u = openPut(port, path, total);
  const piece = testBytes(32 * 1024, 3);
  let sent = 0;
  let stop = false;
  const pumping = (async () => {
    while (!stop && sent + piece.length < total) {
      await u.write(piece);
      sent += piece.length;
      await sleep(15);
    }
  })();
  return {
    response: u.response,
    finish: async () => {
      stop = true;
      await pumping;
      u.end(Buffer.alloc(total - sent, 1));
    },
  };
}

/**
 * Polls a gauge of the daemon's metrics until it reads `want`, for up to 20 s, and returns its last
 * value (the caller asserts on it): a request reaches the gate when the daemon gets to it, which a
 * loaded machine delays past any fixed sleep.
 */
async function gauge(endpoint: string, name: string, want: number): Promise<number | undefined> {
  return pollUntil(async () => metricSample(await scrape(endpoint), name), (v) => v === want, 20_000, 50);
}

t.test('beyond S3_DATA_REQUESTS_MAX a request waits, then SlowDown; small objects and copies go on', async (t) => {
  const d = await startDaemonFor(t, { env: { S3_DATA_REQUESTS_MAX: '2', S3_DATA_REQUESTS_WAIT: '2s' } });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'gate');
  const big = testBytes(3 * MiB, 5);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big', Body: big }));
  // A copy holds one place for its read and its write: with the limit at 1 it would deadlock otherwise.
  const one = await startDaemonFor(t, { env: { S3_DATA_REQUESTS_MAX: '1' } });
  const s3one = one.s3();
  const b1 = await createBucket(s3one, 'gate1');
  await s3one.send(new PutObjectCommand({ Bucket: b1, Key: 'src', Body: big }));
  await s3one.send(new CopyObjectCommand({ Bucket: b1, Key: 'dst', CopySource: `${b1}/src` }));
  t.ok((await bodyBytes(await s3one.send(new GetObjectCommand({ Bucket: b1, Key: 'dst' })))).equals(big), 'a copy under S3_DATA_REQUESTS_MAX=1 completes');

  // Two uploads that hold their places: streaming, too fast to be parked, until finished.
  const slow = [steadyPut(d.port, `/${bucket}/slow-a`), steadyPut(d.port, `/${bucket}/slow-b`)];
  t.equal(await gauge(d.endpoint, 's3d_data_requests_in_flight', 2), 2, 'both places taken');

  // A third upload waits, and is refused after S3_DATA_REQUESTS_WAIT.
  const started = Date.now();
  const third = await raw(d.port, { method: 'PUT', path: `/${bucket}/third`, body: big });
  t.equal(third.status, 503, 'the third upload: 503');
  t.equal(errorCode(third.body), 'SlowDown', 'SlowDown, which SDKs retry');
  t.ok(Date.now() - started >= 1900, `after waiting S3_DATA_REQUESTS_WAIT (${Date.now() - started} ms)`);
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${bucket}/third` })).status, 404, 'nothing stored');
  // A GET of a file-backed object waits the same way.
  const getRefused = await raw(d.port, { method: 'GET', path: `/${bucket}/big` });
  t.equal(getRefused.status, 503, 'a GET of a file-backed object waits too, and is refused');

  // Small objects live in LMDB: no place needed.
  const small = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: 'tiny' }));
  t.ok(small.ETag, 'a small PUT is not held up');
  t.equal((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'small' })))).toString(), 'tiny', 'nor a small GET');

  // A waiter gets the place as soon as one frees.
  const waiting = raw(d.port, { method: 'GET', path: `/${bucket}/big` });
  t.equal(await gauge(d.endpoint, 's3d_data_requests_waiting', 1), 1, 'one request waits');
  await slow[0]!.finish();
  t.equal((await slow[0]!.response).status, 200, 'the first slow upload completes');
  const got = await waiting;
  t.equal(got.status, 200, 'the waiting GET is served once a place is free');
  t.ok(got.body.equals(big), 'with the object');
  await slow[1]!.finish();
  t.equal((await slow[1]!.response).status, 200, 'the second slow upload completes');
  const m = await scrape(d.endpoint);
  t.equal(metricSample(m, 's3d_data_requests_in_flight'), 0, 'every place is free again');
  t.equal(metricSample(m, 's3d_data_requests_refused_total'), 2, 'the two refusals are counted');
  t.equal(metricSample(m, 's3d_data_requests_max'), 2);
});

t.test('the SDK rides out a burst: 24 concurrent uploads through 4 places all succeed', async (t) => {
  const d = await startDaemonFor(t, { env: { S3_DATA_REQUESTS_MAX: '4' } });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'burst');
  const body = testBytes(MiB + 7, 9);
  const results = await Promise.all(Array.from({ length: 24 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `o${i}`, Body: body })).then(() => 'ok', (e: Error) => e.name)));
  t.same(results.filter((r) => r !== 'ok'), [], 'every upload succeeded');
  const m = await scrape(d.endpoint);
  t.equal(metricSample(m, 's3d_data_requests_in_flight'), 0);
});

t.test('a request that waited for a place longer than the reaper\u2019s grace reads what is there then (the source was replaced meanwhile)', async (t) => {
  // The longest wait allowed (uWS closes a connection idle for 10 s): the copy and the GET must
  // outwait the reaper's grace (5 s, then a pass every 2 s), so every step below is gated on what
  // it waits for rather than on fixed sleeps, which left ~1.5 s for a loaded machine's delays.
  const d = await startDaemonFor(t, { env: { S3_DATA_REQUESTS_MAX: '1', S3_DATA_REQUESTS_WAIT: '9s' } });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'gatewait');
  const v1 = testBytes(2 * MiB, 21);
  // Small enough to live in LMDB: its PUT needs no place.
  const v2 = testBytes(100_000, 22);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: v1 }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: v1 }));
  const v1Files = dataFilePaths(d.dataDir);
  t.equal(v1Files.length, 2, 'the two first versions have their data files');
  // An upload holds the only place.
  const holder = steadyPut(d.port, `/${bucket}/holder`);
  t.equal(await gauge(d.endpoint, 's3d_data_requests_in_flight', 1), 1, 'the upload holds the place');
  const copy = s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dst', CopySource: `${bucket}/src` })).then(() => 'ok', (e: Error) => e.name);
  const get = raw(d.port, { method: 'GET', path: `/${bucket}/obj` });
  t.equal(await gauge(d.endpoint, 's3d_data_requests_waiting', 2), 2, 'the copy and the GET wait for it');
  // Both are replaced while the copy and the GET wait; the old data files go to the reaper, which
  // deletes them after its 5 s grace: awaited, not assumed done after a fixed sleep.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: v2 }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: 'small now' }));
  // (Up to 8.5 s: the waiters are refused after 9 s.)
  const files = await pollUntil(() => dataFilePaths(d.dataDir), (f) => !v1Files.some((v) => f.includes(v)), 8_500, 100);
  t.notOk(v1Files.some((v) => files.includes(v)), 'the reaper deleted the replaced data files');
  t.equal(metricSample(await scrape(d.endpoint), 's3d_data_requests_waiting'), 2, 'while the copy and the GET still waited');
  await holder.finish();
  t.equal((await holder.response).status, 200, 'the holder completes');
  t.equal(await copy, 'ok', 'the copy succeeds (it answered NoSuchKey for a source that always existed)');
  t.ok((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dst' })))).equals(v2), 'and copied the source as it is now');
  const got = await get;
  t.equal(got.status, 200, 'the GET succeeds');
  t.equal(got.body.toString(), 'small now', 'with the object as it is now');
});

t.test('a copy its arguments doom is refused at once, not after waiting for a place (nor as SlowDown)', async (t) => {
  const WAIT_MS = 3_000;
  const d = await startDaemonFor(t, { env: { S3_DATA_REQUESTS_MAX: '1', S3_DATA_REQUESTS_WAIT: `${WAIT_MS / 1000}s` } });
  // One attempt: an SDK retry of a 503 would hide it.
  const s3 = clientFor(d, { maxAttempts: 1 });
  const bucket = await createBucket(s3, 'gateargs');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: testBytes(2 * MiB, 31) }));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));
  // An upload holds the only place.
  const holder = steadyPut(d.port, `/${bucket}/holder`);
  t.equal(await gauge(d.endpoint, 's3d_data_requests_in_flight', 1), 1, 'the upload holds the place');
  const copy = { Bucket: bucket, Key: 'dst', CopySource: `${bucket}/src` };
  const partCopy = { Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, CopySource: `${bucket}/src` };
  const refused: Array<[string, () => Promise<unknown>, string, number]> = [
    ['CopyObject, metadata directive in lower case', () => s3.send(withHeaders(new CopyObjectCommand(copy), { 'x-amz-metadata-directive': 'replace' })), 'InvalidArgument', 400],
    ['CopyObject, storage class BOGUS', () => s3.send(new CopyObjectCommand({ ...copy, StorageClass: 'BOGUS' as StorageClass })), 'InvalidStorageClass', 400],
    ['CopyObject into a bucket that does not exist', () => s3.send(new CopyObjectCommand({ ...copy, Bucket: `${bucket}-none` })), 'NoSuchBucket', 404],
    ['UploadPartCopy, part number 10001', () => s3.send(new UploadPartCopyCommand({ ...partCopy, PartNumber: 10001 })), 'InvalidArgument', 400],
    ['UploadPartCopy to an upload that does not exist', () => s3.send(new UploadPartCopyCommand({ ...partCopy, UploadId: 'no-such-upload' })), 'NoSuchUpload', 404],
  ];
  for (const [what, send, code, status] of refused) {
    const started = Date.now();
    await expectS3Error(t, send(), code, status, what);
    const took = Date.now() - started;
    t.ok(took < WAIT_MS / 2, `${what}: answered at once (${took} ms), not after waiting for the place`);
  }
  await holder.finish();
  t.equal((await holder.response).status, 200, 'the holder completes');
  await s3.send(new CopyObjectCommand(copy));
  t.pass('a good copy goes through once the place is free');
});
