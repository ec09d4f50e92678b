// A full data disk: the daemon on a 24 MiB tmpfs (mounted here; the file is skipped when mount
// is not permitted, i.e. not root). With S3_MIN_FREE_DISK=0 uploads run into ENOSPC for real —
// data files and LMDB commits — and are answered 507 XMinioStorageFull; every acknowledged object
// stays readable byte for byte, a failed overwrite leaves the previous version, nothing is left
// half-written, deletes and AbortMultipartUpload work, freed space takes uploads again, and a
// restart finds everything. With a reserve (S3_MIN_FREE_DISK=8MiB) uploads are refused before the
// disk fills, a Content-Length that cannot fit is refused before its body is sent, the crossing
// of the reserve is logged, and the free space is in the metrics; a retried CompleteMultipartUpload
// of an upload completed before is answered 200 all the same (it writes nothing). Plain and SSE-S3 objects alike
// (the helper configures the built-in KMS key). The SDK keeps its connections alive: a refusal
// answered after the body began to arrive must leave the connection usable for the next request.
// Many writers at once on a full disk are all refused with 507, however late lmdb-js names the
// cause of a failed commit. The writes a "disk full" warning has not told yet are told at
// shutdown when no later one comes (the space was freed).

import t, { type Test } from 'tap';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Agent, request } from 'node:http';
import { statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths, inspectDataDir, tempFiles } from '../helpers/files.js';
import { errorCode, openPut, raw, signedHeaders } from '../helpers/http.js';
import { metricSample } from '../helpers/kes.js';
import { minioClient } from '../helpers/minio.js';
import { clientFor, createBucket, expectS3Error, getBytes } from '../helpers/s3.js';
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.js';
import { pollUntil, waitForLog } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const TMPFS_SIZE = 24 * MiB;
const FULL = 'XMinioStorageFull';
/** The reaper deletes a deleted object's files ~5 s after the commit (2 s passes). */
const REAPED_MS = 12_000;

const SKIP = tmpfsUnavailable();

/** A tmpfs and a daemon on it for the rest of `t`: the daemon is stopped before the unmount. */
async function diskFullDaemon(t: Test, env: Record<string, string>, mountOptions = ''): Promise<{ d: TestDaemon; mount: string; restart(): Promise<TestDaemon>; restart2(): Promise<TestDaemon> }> {
  const m = mountTmpfs(TMPFS_SIZE, mountOptions);
  if (typeof m === 'string') throw new Error(m);
  const dataDir = join(m.dir, 'data');
  let d = await startDaemon({ dataDir, env });
  t.teardown(async () => {
    await d.stop();
    m.unmount();
  });
  return {
    get d() {
      return d;
    },
    mount: m.dir,
    async restart() {
      t.equal(await d.stop(), 0, 'the daemon stops cleanly (exit 0)');
      d = await startDaemon({ dataDir, env });
      return d;
    },
    /** Starts it again after it was stopped (however that ended). */
    async restart2() {
      d = await startDaemon({ dataDir, env });
      return d;
    },
  };
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Objects acknowledged so far: key → body. */
type Acked = Map<string, Buffer>;

async function expectAllReadable(t: Test, s3: S3Client, bucket: string, acked: Acked, what: string): Promise<void> {
  let same = 0;
  for (const [key, body] of acked) if ((await getBytes(s3, { Bucket: bucket, Key: key })).equals(body)) same++;
  t.equal(same, acked.size, `${what}: all ${acked.size} acknowledged objects read back byte-identical`);
}

/** PUT failures are answered, not cut: the SDK error's code and status. */
async function putResult(s3: S3Client, input: ConstructorParameters<typeof PutObjectCommand>[0]): Promise<string> {
  try {
    await s3.send(new PutObjectCommand(input));
    return 'ok';
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return `${e.name}/${e.$metadata?.httpStatusCode}`;
  }
}

t.test('S3_MIN_FREE_DISK=0: uploads run into ENOSPC, get 507, and leave everything else intact', { skip: SKIP }, async (t) => {
  const env = { S3_MIN_FREE_DISK: '0' };
  const h = await diskFullDaemon(t, env);
  let d = h.d;
  let s3 = clientFor(d, { maxAttempts: 1 });
  const bucket = await createBucket(s3, 'full');
  const acked: Acked = new Map();
  const sse = (i: number): { ServerSideEncryption?: 'AES256' } => (i % 2 === 1 ? { ServerSideEncryption: 'AES256' } : {});

  // Before the disk fills: a multipart upload with one stored part, and two objects to overwrite.
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: upload.UploadId, PartNumber: 1, Body: testBytes(MiB, 900) }));
  for (const [i, key] of ['victim-plain', 'victim-sse'].entries()) {
    const body = testBytes(MiB + 100, 800 + i);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...sse(i) }));
    acked.set(key, body);
  }

  // Fill with 1 MiB objects (plain and SSE-S3 in turn, unaligned tails) until one fails.
  let failure = '';
  let failedKey = '';
  for (let i = 0; i < 40 && failure === ''; i++) {
    const key = `fill-${i}`;
    const body = testBytes(MiB + 4097, i);
    const r = await putResult(s3, { Bucket: bucket, Key: key, Body: body, ...sse(i) });
    if (r === 'ok') acked.set(key, body);
    else {
      failure = r;
      failedKey = key;
    }
  }
  t.equal(failure, `${FULL}/507`, `the PUT that met a full disk got 507 ${FULL} (after ${acked.size - 2} fills)`);
  await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: failedKey })), 'NotFound', 404, 'the failed key does not exist');

  // Overwrites that do not fit leave the previous version in place (plain and SSE-S3).
  for (const [i, key] of ['victim-plain', 'victim-sse'].entries()) {
    t.equal(await putResult(s3, { Bucket: bucket, Key: key, Body: testBytes(3 * MiB, 700 + i), ...sse(i) }), `${FULL}/507`, `${key}: an overwrite on the full disk gets 507`);
    t.ok((await getBytes(s3, { Bucket: bucket, Key: key })).equals(acked.get(key)!), `${key}: the previous version is intact`);
  }

  // Small objects live in LMDB: these fill its file until a metadata commit fails (LMDB says ENOSPC or EIO).
  let smallFailure = '';
  for (let i = 0; i < 60 && smallFailure === ''; i++) {
    const key = `small-${i}`;
    const body = testBytes(100_000, 500 + i);
    const r = await putResult(s3, { Bucket: bucket, Key: key, Body: body, ...sse(i) });
    if (r === 'ok') acked.set(key, body);
    else smallFailure = r;
  }
  t.equal(smallFailure, `${FULL}/507`, 'an inline object whose LMDB commit cannot grow the file gets 507 too');
  t.ok(
    d.logs.some((l) => /No space left on device|Input\/output error/.test(l)),
    'the failure was LMDB failing to write (lmdb-js prints it to stderr)',
  );

  // A part that does not fit; the upload can still be aborted.
  const partFailure = await s3
    .send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: upload.UploadId, PartNumber: 2, Body: testBytes(5 * MiB, 901) }))
    .then(
      () => 'ok',
      (e: { name: string; $metadata?: { httpStatusCode?: number } }) => `${e.name}/${e.$metadata?.httpStatusCode}`,
    );
  t.equal(partFailure, `${FULL}/507`, 'UploadPart on the full disk gets 507');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: upload.UploadId }));
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  t.same(uploads.Uploads ?? [], [], 'AbortMultipartUpload works on the full disk');

  t.equal(d.proc.exitCode, null, 'the daemon is still running');
  // Readiness says whether to send traffic here: reads, listings and deletes go on (the probe's
  // empty file needs an inode, not a block), as on MinIO, whose readiness has no disk check.
  const ready = await raw(d.port, { method: 'GET', path: '/minio/health/ready', sign: false });
  t.equal(ready.status, 200, '/minio/health/ready stays 200 on the full disk (docs/operations.md, Full disks)');
  await expectAllReadable(t, s3, bucket, acked, 'on the full disk');
  t.same(tempFiles(d.dataDir), [], 'no temp files');
  const logs = d.jsonLogs();
  t.ok(logs.some((l) => l.level === 40 && /data disk is full/.test(String(l.msg))), 'a warning says the data disk is full');
  t.same(
    logs.filter((l) => l.level === 50 || l.msg === 'internal error').map((l) => l.msg),
    [],
    'no error-level lines (no stack trace per failed request)',
  );

  // Deletes work on the full disk, and once the reaper removed the files, uploads work again.
  const gone = [...acked.keys()].filter((k) => k.startsWith('fill-')).slice(0, 6);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: gone[0] }));
  const del = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: gone.slice(1).map((Key) => ({ Key })) } }));
  t.equal(del.Deleted?.length, gone.length - 1, 'DeleteObjects works on the full disk');
  for (const k of gone) acked.delete(k);
  const before = freeBytes(h.mount);
  const after = await pollUntil(() => freeBytes(h.mount), (f) => f >= before + 5 * MiB, REAPED_MS, 250);
  t.ok(after >= before + 5 * MiB, `deleting frees the space (${before} → ${after} bytes free)`);
  for (let i = 0; i < 3; i++) {
    const key = `again-${i}`;
    const body = testBytes(MiB, 600 + i);
    t.equal(await putResult(s3, { Bucket: bucket, Key: key, Body: body, ...sse(i) }), 'ok', `${key}: PUT works again`);
    acked.set(key, body);
  }
  await expectAllReadable(t, s3, bucket, acked, 'after freeing space');

  // Nothing half-written on disk, and a restart finds every object.
  t.equal(await d.stop(), 0, 'the daemon stops cleanly');
  // Exit 0 alone would not tell: a shutdown step that never settles lets Node exit 0 on an empty loop.
  t.ok(d.logs.some((l) => l.includes('"msg":"shutdown complete"')), 'and completes its shutdown, LMDB closed (after commits that met ENOSPC)');
  const state = await inspectDataDir(d.dataDir);
  t.same(state.temp, [], 'no temp files');
  t.same(
    state.orphans.filter((f) => !state.queued.includes(f)),
    [],
    'no data file that neither a record nor the deletion queue knows (failed writes removed theirs)',
  );
  t.same(state.missing, [], 'no record without its data file');
  d = await h.restart();
  s3 = clientFor(d, { maxAttempts: 1 });
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
  t.same((listed.Contents ?? []).map((o) => o.Key).sort(), [...acked.keys()].sort(), 'after the restart: exactly the acknowledged objects are listed');
  await expectAllReadable(t, s3, bucket, acked, 'after the restart');
});

t.test('S3_MIN_FREE_DISK=8MiB: writes are refused before the disk is full; reads, deletes and aborts go on', { skip: SKIP }, async (t) => {
  const reserve = 8 * MiB;
  const h = await diskFullDaemon(t, { S3_MIN_FREE_DISK: '8MiB' });
  const d = h.d;
  const s3 = clientFor(d, { maxAttempts: 1 });
  await waitForLog(d.logs, (l) => l.minFreeBytes === reserve && l.totalBytes === TMPFS_SIZE);
  t.pass('the start-up log names the reserve and the filesystem size');
  const bucket = await createBucket(s3, 'reserve');

  // A declared length that cannot fit is refused before the body is sent.
  const big = openPut(d.port, `/${bucket}/too-big`, 20 * MiB);
  big.req.flushHeaders();
  const early = await big.response;
  big.req.destroy();
  t.equal(early.status, 507, 'a 20 MiB Content-Length on 24 MiB with 8 MiB reserved: 507 before any byte of the body');
  t.equal(errorCode(early.body), FULL, `<Code>${FULL}</Code>`);
  t.match(early.body.toString(), /minimum free drive threshold/, 'with MinIO\'s message');
  t.same(dataFilePaths(d.dataDir), [], 'no data file was created for it');

  // No length at all (plain chunked, as `curl -T -` sends): its bytes take their share of the free
  // space as they come, so it is refused when it reaches the reserve, not when the disk is full.
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 20; i++) yield testBytes(MiB, 200 + i);
  }
  const chunked = await raw(d.port, { method: 'PUT', path: `/${bucket}/chunked-big`, body: chunks(), headers: { 'transfer-encoding': 'chunked' }, sign: { payloadHash: 'UNSIGNED-PAYLOAD' } });
  t.equal(chunked.status, 507, 'a 20 MiB chunked body without a length: 507');
  t.equal(errorCode(chunked.body), FULL, `<Code>${FULL}</Code>`);
  t.same(dataFilePaths(d.dataDir), [], 'and nothing of it is left');

  // A multipart upload with a part, made while there is room.
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: upload.UploadId, PartNumber: 1, Body: testBytes(300_000, 90) }));

  const acked: Acked = new Map();
  // An upload completed while there is room, whose answer the client is taken not to have heard.
  const doneBody = testBytes(1000, 91);
  const doneUpload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'done' }));
  const donePart = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'done', UploadId: doneUpload.UploadId, PartNumber: 1, Body: doneBody }));
  const completeDone = () => s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'done', UploadId: doneUpload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: donePart.ETag }] } }));
  const done = await completeDone();
  acked.set('done', doneBody);

  // Fill until refused: the refusal comes while the reserve is still free.
  let failure = '';
  let freeAtRefusal = 0;
  for (let i = 0; i < 30 && failure === ''; i++) {
    const key = `fill-${i}`;
    const body = testBytes(MiB, 10 + i);
    const r = await putResult(s3, { Bucket: bucket, Key: key, Body: body, ...(i % 2 === 1 ? { ServerSideEncryption: 'AES256' } : {}) });
    if (r === 'ok') acked.set(key, body);
    else {
      failure = r;
      freeAtRefusal = freeBytes(h.mount);
    }
  }
  t.equal(failure, `${FULL}/507`, `refused with 507 after ${acked.size} objects`);
  t.ok(freeAtRefusal >= reserve, `refused before the reserve was used (${freeAtRefusal} bytes free, reserve ${reserve})`);
  t.equal(await putResult(s3, { Bucket: bucket, Key: 'sse', Body: testBytes(MiB, 1), ServerSideEncryption: 'AES256' }), `${FULL}/507`, 'an SSE-S3 PUT is refused the same way');
  t.equal(await putResult(s3, { Bucket: bucket, Key: 'tiny', Body: 'x' }), 'ok', 'a 1-byte object still fits above the reserve');
  acked.set('tiny', Buffer.from('x'));

  // Push the filesystem below the reserve from outside: everything that adds data is refused.
  const ballast = join(h.mount, 'ballast');
  // Only a warning logged after the ballast says the daemon saw it (an earlier one, from the
  // fills above, let the next PUT race the daemon's next statfs).
  const ballastAt = Date.now();
  writeFileSync(ballast, Buffer.alloc(Math.max(0, freeBytes(h.mount) - reserve + 2 * MiB)));
  await waitForLog(d.logs, (l) => l.level === 40 && /below S3_MIN_FREE_DISK/.test(String(l.msg)) && (l.time as number) >= ballastAt, 8000);
  t.pass('crossing below the reserve is logged as a warning');
  t.equal(await putResult(s3, { Bucket: bucket, Key: 'tiny-2', Body: 'x' }), `${FULL}/507`, 'below the reserve even a 1-byte PUT is refused');
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/fill-0` })), FULL, 507, 'CopyObject');
  await expectS3Error(t, s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: upload.UploadId, PartNumber: 2, Body: 'x' })), FULL, 507, 'UploadPart');
  await expectS3Error(
    t,
    s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } })),
    FULL,
    507,
    'CompleteMultipartUpload',
  );
  // Its retry writes nothing: answered as the completion it repeats, as above the reserve (it was
  // 507, which no SDK retries: the client reported an upload that had worked as failed).
  const again = await completeDone().catch((err: Error) => err);
  t.equal((again as { ETag?: string }).ETag, done.ETag, 'a repeated Complete of an upload completed before (a retry whose answer was lost): 200 with its ETag, not 507');
  const mc = minioClient(d);
  const policy = mc.newPostPolicy();
  policy.setBucket(bucket);
  policy.setKey('form');
  policy.setExpires(new Date(Date.now() + 600_000));
  const { postURL, formData: fields } = await mc.presignedPostPolicy(policy);
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([testBytes(1000, 3)]), 'form.bin');
  const post = await fetch(postURL, { method: 'POST', body: form });
  t.equal(post.status, 507, 'POST Object (a signed browser form) is refused too');
  t.equal(errorCode(await post.text()), FULL, `POST Object: <Code>${FULL}</Code>`);

  // Reads, listings, deletes and aborts still work.
  await expectAllReadable(t, s3, bucket, acked, 'below the reserve');
  await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'fill-1' }));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  t.equal(listed.KeyCount, acked.size, 'ListObjectsV2 works');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: upload.UploadId }));
  t.same((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [], [], 'AbortMultipartUpload works');
  const gone = ['fill-0', 'fill-1', 'fill-2', 'fill-3'];
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: gone[0] }));
  const del = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: gone.slice(1).map((Key) => ({ Key })) } }));
  t.equal(del.Deleted?.length, 3, 'DeleteObject and DeleteObjects work');
  for (const k of gone) acked.delete(k);

  // Metrics show the filesystem.
  const metrics = (await raw(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster', sign: false })).body.toString();
  t.equal(metricSample(metrics, 's3d_data_disk_total_bytes'), TMPFS_SIZE, 's3d_data_disk_total_bytes');
  t.equal(metricSample(metrics, 's3d_data_disk_min_free_bytes'), reserve, 's3d_data_disk_min_free_bytes');
  const gauge = metricSample(metrics, 's3d_data_disk_free_bytes') ?? -1;
  t.ok(gauge >= 0 && gauge < reserve, `s3d_data_disk_free_bytes is below the reserve (${gauge})`);

  // Space back above the reserve: logged, and writes are accepted again.
  unlinkSync(ballast);
  await waitForLog(d.logs, (l) => l.level === 30 && /above S3_MIN_FREE_DISK again/.test(String(l.msg)), 8000);
  t.pass('getting back above the reserve is logged');
  // The deleted objects' files go once the reaper's grace is over: then a 1 MiB object fits again.
  const room = await pollUntil(() => freeBytes(h.mount), (f) => f >= reserve + 2 * MiB, REAPED_MS, 250);
  t.ok(room >= reserve + 2 * MiB, `the deletes freed their space (${room} bytes free)`);
  t.equal(await putResult(s3, { Bucket: bucket, Key: 'after', Body: testBytes(MiB, 77), ServerSideEncryption: 'AES256' }), 'ok', 'PUT works again');
  acked.set('after', testBytes(MiB, 77));
  await expectAllReadable(t, s3, bucket, acked, 'after the ballast is gone');
  t.same(
    d.jsonLogs().filter((l) => l.level === 50),
    [],
    'no error-level lines',
  );
});

t.test('a disk filled from outside: deletes are 507 too, and a shutdown after the failed commits ends with exit 1, not a silent 0', { skip: SKIP }, async (t) => {
  const h = await diskFullDaemon(t, { S3_MIN_FREE_DISK: 'off' });
  const d = h.d;
  const s3 = clientFor(d, { maxAttempts: 1 });
  const bucket = await createBucket(s3, 'outside');
  for (let i = 0; i < 3; i++) t.equal(await putResult(s3, { Bucket: bucket, Key: `k${i}`, Body: testBytes(2 * MiB, 700 + i) }), 'ok', `k${i} stored`);
  // Something else takes every free byte.
  const ballast = join(h.mount, 'ballast');
  try {
    writeFileSync(ballast, Buffer.alloc(freeBytes(h.mount)));
  } catch {
    // ENOSPC at the end: the filesystem is full, which is the point.
  }
  await expectS3Error(t, s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k0' })), FULL, 507, 'a delete needs a page LMDB cannot allocate');
  // The store's last commit failed: the shutdown closes LMDB all the same and names that commit's
  // cause (it said lmdb-js's "Commit failed" and left LMDB to Node's teardown); or lmdb-js does not
  // settle its close after such commits, and the shutdown gives up on it after a bounded wait.
  // Either way it says so and exits 1, rather than leave Node to exit 0 on an empty event loop.
  t.equal(await d.stop(), 1, 'SIGTERM: exit 1');
  t.ok(
    d.logs.some((l) => l.includes('"msg":"error during shutdown"') && (l.includes('LMDB did not close in time') || /metadata commit failed \((ENOSPC|EIO)\)/.test(l))),
    'with "error during shutdown" naming LMDB and the failed commit\'s cause',
  );
  unlinkSync(ballast);
  const again = await h.restart2();
  t.ok((await getBytes(clientFor(again, { maxAttempts: 1 }), { Bucket: bucket, Key: 'k0' })).equals(testBytes(2 * MiB, 700)), 'after freeing space and a restart, k0 (whose delete failed) is still there');
});

t.test('out of inodes with bytes to spare: 507 for every refused upload (a new fan-out directory failed as ENOENT, a 500)', { skip: SKIP }, async (t) => {
  const h = await diskFullDaemon(t, { S3_MIN_FREE_DISK: '0' }, ',nr_inodes=60');
  const s3 = h.d.s3();
  const bucket = await createBucket(s3, 'inodes');
  const acked: Acked = new Map();
  const refused: string[] = [];
  for (let i = 0; i < 80 && refused.length < 6; i++) {
    const body = testBytes(200_000, 700 + i);
    const r = await putResult(s3, { Bucket: bucket, Key: `i${i}`, Body: body });
    if (r === 'ok') acked.set(`i${i}`, body);
    else refused.push(r);
  }
  t.ok(refused.length > 0, `the inodes ran out after ${acked.size} objects`);
  t.same([...new Set(refused)], [`${FULL}/507`], 'every refused upload: 507 XMinioStorageFull');
  await expectAllReadable(t, s3, bucket, acked, 'out of inodes');
});

/** One signed request on `agent`'s connection; a body goes after its headers, in a later packet. */
function split(agent: Agent, port: number, method: string, path: string, query = '', body?: Buffer, headers: Record<string, string> = {}): Promise<string> {
  const h = signedHeaders(port, { method, path, query, headers });
  if (body !== undefined) h['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: query === '' ? path : `${path}?${query}`, headers: h, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(res.statusCode! < 300 ? 'ok' : `${errorCode(Buffer.concat(chunks)) ?? '-'}/${res.statusCode}`));
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else {
      req.flushHeaders();
      setTimeout(() => req.end(body), 1);
    }
  });
}

t.test('concurrent writes on a disk filled from outside: every refusal is 507 (lmdb-js named a failed commit\'s cause late: some were 500)', { skip: SKIP }, async (t) => {
  const h = await diskFullDaemon(t, { S3_MIN_FREE_DISK: '0' });
  const d = h.d;
  const s3 = clientFor(d, { maxAttempts: 1 });
  const bucket = await createBucket(s3, 'concurrent');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: testBytes(10_000, 1) }));
  const uploads: Array<[string, string]> = [];
  for (let i = 0; i < 200; i++) uploads.push([`mp-${i}`, (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `mp-${i}` }))).UploadId!]);
  const ballast = join(h.mount, 'ballast');
  try {
    writeFileSync(ballast, Buffer.alloc(freeBytes(h.mount)));
  } catch {
    // ENOSPC at the end: the filesystem is full, which is the point.
  }
  // Writers at once, each on its own connection: lmdb-js batches their transactions into shared
  // commits, and when one fails on the full disk, whatever in lmdb-js sees its failed flag first
  // rejects its writes, often before lmdb-js has the cause. Small objects (stored inline, so the
  // commit is the write that fails), copies, and Create and AbortMultipartUpload; rounds of
  // different sizes, as the timing that shows it varies.
  const results: Record<string, Record<string, number>> = {};
  const count = (op: string, r: string): void => {
    results[op] ??= {};
    results[op][r] = (results[op][r] ?? 0) + 1;
  };
  let n = 0;
  for (const writers of [12, 16, 24, 16, 12, 24]) {
    await Promise.all(
      Array.from({ length: writers }, async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        for (let i = 0; i < 40; i++) {
          const key = `c-${n++}`;
          const path = `/${bucket}/${key}`;
          if (i % 8 === 6) count('CopyObject', await split(agent, d.port, 'PUT', path, '', undefined, { 'x-amz-copy-source': `/${bucket}/src` }));
          else if (i % 16 === 7) count('CreateMultipartUpload', await split(agent, d.port, 'POST', path, 'uploads='));
          else if (i % 16 === 15 && uploads.length > 0) {
            const [k, id] = uploads.pop()!;
            count('AbortMultipartUpload', await split(agent, d.port, 'DELETE', `/${bucket}/${k}`, `uploadId=${encodeURIComponent(id)}`));
          } else count('PutObject', await split(agent, d.port, 'PUT', path, '', testBytes(10_000, n)));
        }
        agent.destroy();
      }),
    );
  }
  const answers = new Set(Object.values(results).flatMap((r) => Object.keys(r)));
  t.ok(answers.has(`${FULL}/507`), `writes were refused: ${JSON.stringify(results)}`);
  t.same([...answers].filter((a) => a !== 'ok' && a !== `${FULL}/507`), [], 'every refusal is 507 XMinioStorageFull');
  t.same(
    d.jsonLogs().filter((l) => l.level === 50 || l.msg === 'internal error').map((l) => l.msg),
    [],
    'no error-level lines',
  );
  unlinkSync(ballast);
});

t.test('a full disk that is freed before the minute is up: the writes failed after the warning are told at shutdown', { skip: SKIP }, async (t) => {
  const h = await diskFullDaemon(t, { S3_MIN_FREE_DISK: '0' });
  const d = h.d;
  const s3 = clientFor(d, { maxAttempts: 1 });
  const bucket = await createBucket(s3, 'told');
  const ballast = join(h.mount, 'ballast');
  try {
    writeFileSync(ballast, Buffer.alloc(freeBytes(h.mount)));
  } catch {
    // ENOSPC at the end: the filesystem is full, which is the point.
  }
  const put = async (i: number): Promise<boolean> => t.equal(await putResult(s3, { Bucket: bucket, Key: `k${i}`, Body: testBytes(MiB, 710 + i) }), `${FULL}/507`, `k${i}: 507 on the full disk`);
  const full = (): Array<Record<string, unknown>> => d.jsonLogs().filter((l) => /^data disk is full/.test(String(l.msg)));
  await put(0);
  // The warning's figures come after a statfs: wait for it, so that it stands for this write alone.
  await pollUntil(() => full().length, (n) => n > 0, 5_000, 50);
  t.equal(full()[0]?.failedWrites, 1, 'a warning for the first failed write');
  await put(1);
  await put(2);
  t.equal(full().length, 1, 'the next two within the minute: counted, no warning');
  unlinkSync(ballast);
  t.equal(await putResult(s3, { Bucket: bucket, Key: 'after', Body: testBytes(MiB, 720) }), 'ok', 'space freed: uploads work again, no failure to carry the count');
  t.equal(await d.stop(), 0, 'SIGTERM: a clean stop');
  const lines = full();
  t.equal(lines.length, 2, `at shutdown a second warning tells what the first did not (${lines.length})`);
  t.equal(lines[1]?.failedWrites, 2, 'the two writes failed after the first warning');
  t.equal(lines[1]?.code, 'ENOSPC', 'naming the error');
});
