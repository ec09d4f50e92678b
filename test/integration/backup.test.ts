// `s3d backup DIR DEST` beside a real daemon that keeps serving (and writing):
//  - a store of plain, SSE-S3 (the --dev key) and SSE-C objects, inline and in data files, a
//    multipart object, a versioned bucket with versions and a delete marker, an upload in
//    progress, is backed up while a writer overwrites and deletes; objects deleted and
//    overwritten right after the metadata snapshot are still copied (the backup is slowed down
//    under strace so that the reaper's 5 s grace runs out before it copies anything: without the
//    hold their files would be gone), and a daemon started on DEST serves everything committed
//    before the snapshot byte for byte, and `s3d verify DEST --deep` passes;
//  - the hold itself: replaced files stay past the grace while it is held, also through a crash
//    and restart of the daemon, and go once it is released; a backup SIGKILLed mid-way leaves the
//    daemon deleting again and a DEST that server and verify refuse;
//  - refusals: DEST not empty, DIR without s3d data; a failure removes DEST.
// The strace parts are skipped where strace is missing or may not trace.

import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MAIN, nodeChild, runS3d, startDaemon, startDaemonFor, testBytes, type S3dRun, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { childrenOf } from '../helpers/proc.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { ssec } from '../helpers/sse.js';
import { pollUntil, sleep } from '../helpers/wait.js';
import { holdFile, takeBackupHold } from '../../daemon/storage/backup-hold.js';
import { projectPath } from '../helpers/root.js';

const MiB = 1024 * 1024;
const HOLDING = 'a backup holds deletions (s3d backup): released data files stay on disk until it ends';
const RELEASED = 'the backup hold is released: deleting released data files again';

function straceMissing(): false | string {
  const r = spawnSync('strace', ['-e', 'trace=none', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
  return r.status === 0 ? false : 'strace is missing or may not trace here';
}
const NO_STRACE = straceMissing();

type Run = S3dRun;

interface BackupRun {
  /**
   * SIGKILLs the backup's node process. Under strace, strace is killed next: a thread it holds in
   * an injected delay would otherwise keep the dead process's descriptors open until the delay
   * ends (an artefact of the tracing; a plain SIGKILL ends every thread at once). Killing the
   * tracer detaches its tracees and nothing else: the hold's child is left to see its pipe close.
   */
  kill(): void;
  /** Sends `sig` to the backup's node process. */
  signal(sig: NodeJS.Signals): void;
  /** Resolves with the first stdout line that contains `text`. */
  line(text: string): Promise<string>;
  /** What it wrote to stderr so far. */
  stderrSoFar(): string;
  done: Promise<Run>;
}

/**
 * Runs `s3d backup DIR DEST`. `delayCopyMs`: under strace, the first copy_file_range of each
 * thread waits that long (the data files are copied that much later than the snapshot is taken).
 */
function backup(dir: string, dest: string, opts: { delayCopyMs?: number; args?: string[] } = {}): BackupRun {
  const [cmd, args] = nodeChild([MAIN, 'backup', ...(opts.args ?? [dir, dest])]);
  const traced = opts.delayCopyMs !== undefined && NO_STRACE === false;
  const proc = traced
    ? spawn('strace', ['-f', '--seccomp-bpf', '-o', '/dev/null', '-e', 'trace=copy_file_range', '-e', `inject=copy_file_range:delay_enter=${opts.delayCopyMs! * 1000}:when=1`, cmd, ...args], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(cmd, args, { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ text: string; resolve: (l: string) => void }> = [];
  proc.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of [...waiters]) {
      const l = stdout.split('\n').find((x) => x.includes(w.text));
      if (l !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => proc.once('close', (code) => resolve({ code, stdout, stderr })));
  return {
    signal: (sig) => process.kill(traced ? childrenOf(proc.pid!)[0]! : proc.pid!, sig),
    kill: () => {
      process.kill(traced ? childrenOf(proc.pid!)[0]! : proc.pid!, 'SIGKILL');
      if (traced) proc.kill('SIGKILL');
    },
    stderrSoFar: () => stderr,
    line: (text) =>
      new Promise((resolve, reject) => {
        const l = stdout.split('\n').find((x) => x.includes(text));
        if (l !== undefined) return resolve(l);
        waiters.push({ text, resolve });
        void done.then((r) => reject(new Error(`backup ended (${r.code}) without a line with "${text}":\n${r.stdout}\n${r.stderr}`)));
      }),
    done,
  };
}

function verifyDeep(dir: string): Promise<Run> {
  return runS3d(['verify', dir, '--deep', '--dev'], { S3_CRYPTO_WORKERS: '2' });
}

/** A server started on `dir` that must refuse it: its exit status and output. */
function serverRefusal(dir: string): Promise<Run> {
  return runS3d(['server', dir, '--dev'], { S3_ADDRESS: '127.0.0.1:0' }, 20_000);
}

/** The sizes of the data files of `dataDir` (one the reaper deletes meanwhile is left out). */
function fileSizes(dataDir: string): number[] {
  return dataFilePaths(dataDir).flatMap((p) => {
    const st = statSync(p, { throwIfNoEntry: false });
    return st === undefined ? [] : [st.size];
  });
}

function newDest(t: Test): string {
  const base = mkdtempSync(join(tmpdir(), 's3d-backup-test-'));
  t.teardown(() => {
    if (!process.env.S3D_KEEP_TEST_DIRS) rmSync(base, { recursive: true, force: true });
  });
  return join(base, 'dest');
}

function logCount(d: TestDaemon, msg: string): number {
  return d.jsonLogs().filter((l) => l.msg === msg).length;
}

// Each test has a daemon of its own and spends most of its time waiting out the reaper's grace or
// a delayed copy: they run side by side.
t.jobs = 4;

t.test('a backup while a writer overwrites and deletes serves every version committed before its snapshot', async (t) => {
  const d = await startDaemonFor(t, { tls: true, dev: true, kms: false });
  const s3: S3Client = d.s3();
  const customerKey = testBytes(32, 77);
  /** What DEST must serve: bucket, key, version id (versioned), body, SSE-C. */
  const expected: Array<{ bucket: string; key: string; versionId?: string; body: Buffer; ssec?: boolean }> = [];
  const put = async (bucket: string, key: string, body: Buffer, extra: Record<string, unknown> = {}): Promise<string | undefined> => {
    const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
    return r.VersionId;
  };
  const b1 = await createBucket(s3, 'bk');
  const plain: Array<[string, number, Record<string, unknown>, boolean?]> = [
    ['plain-inline', 1000, {}],
    ['plain-file', 300_001, {}],
    ['sse-s3-inline', 2000, { ServerSideEncryption: 'AES256' }],
    ['sse-s3-file', 1_000_003, { ServerSideEncryption: 'AES256' }],
    ['sse-c-inline', 3000, ssec(customerKey), true],
    ['sse-c-file', 500_005, ssec(customerKey), true],
    ['empty', 0, {}],
  ];
  for (const [key, size, extra, isSsec] of plain) {
    const body = testBytes(size, size + 1);
    await put(b1, key, body, extra);
    expected.push({ bucket: b1, key, body, ...(isSsec === true ? { ssec: true } : {}) });
  }
  // Removed or replaced right after the snapshot: the backup still has them as they were.
  const VICTIMS = [400_001, 400_002, 400_003, 400_004];
  for (const [i, size] of VICTIMS.entries()) {
    const body = testBytes(size, size);
    await put(b1, `victim-${i}`, body);
    expected.push({ bucket: b1, key: `victim-${i}`, body });
  }
  // A multipart object (SSE-S3), and an upload in progress.
  {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b1, Key: 'mp', ServerSideEncryption: 'AES256' }));
    const pieces = [testBytes(5 * MiB, 11), testBytes(1_000_007, 12)];
    const parts = [];
    for (const [i, body] of pieces.entries()) parts.push({ PartNumber: i + 1, ETag: (await s3.send(new UploadPartCommand({ Bucket: b1, Key: 'mp', UploadId, PartNumber: i + 1, Body: body }))).ETag });
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: b1, Key: 'mp', UploadId, MultipartUpload: { Parts: parts } }));
    expected.push({ bucket: b1, key: 'mp', body: Buffer.concat(pieces) });
  }
  const pendingPart = testBytes(5 * MiB + 13, 13);
  const pending = await s3.send(new CreateMultipartUploadCommand({ Bucket: b1, Key: 'pending' }));
  const pendingETag = (await s3.send(new UploadPartCommand({ Bucket: b1, Key: 'pending', UploadId: pending.UploadId, PartNumber: 1, Body: pendingPart }))).ETag;
  // A versioned bucket: versions inline and in files, and a delete marker.
  const b2 = await createBucket(s3, 'bk-versions');
  await s3.send(new PutBucketVersioningCommand({ Bucket: b2, VersioningConfiguration: { Status: 'Enabled' } }));
  for (const [i, size] of [200_011, 500, 200_012].entries()) {
    const body = testBytes(size, 100 + i);
    const versionId = await put(b2, 'doc', body, i === 1 ? { ServerSideEncryption: 'AES256' } : {});
    expected.push({ bucket: b2, key: 'doc', versionId: versionId!, body });
  }
  {
    const body = testBytes(200_013, 103);
    const versionId = await put(b2, 'gone', body);
    expected.push({ bucket: b2, key: 'gone', versionId: versionId!, body });
    await s3.send(new DeleteObjectCommand({ Bucket: b2, Key: 'gone' }));
  }
  const versionsBefore = await s3.send(new ListObjectVersionsCommand({ Bucket: b2 }));

  // The writer: overwrites and deletes data files all along (the reaper is busy releasing). Paced:
  // unpaced it made ~1,700 TLS writes in the backup's ~10 s (~5 s of the file's 20 s of CPU); a few
  // hundred still overwrite and delete each of its six keys many times past the snapshot and the grace.
  const b3 = await createBucket(s3, 'bk-churn');
  let stop = false;
  let writes = 0;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      const key = `churn-${i % 6}`;
      if (i % 4 === 3) await s3.send(new DeleteObjectCommand({ Bucket: b3, Key: key }));
      else await put(b3, key, testBytes(150_000 + (i % 7), 150_000 + (i % 7)));
      writes++;
      await sleep(20);
    }
  })();
  await sleep(500);

  const dest = newDest(t);
  // 12 s (9 s before): the four requests below took over 3 s on a loaded CI machine, and the
  // backup then ended only 5.7 s after the last of them.
  const run = backup(d.dataDir, dest, { delayCopyMs: 12_000 });
  await run.line('metadata snapshot copied');
  // Released right after the snapshot: queued now, due in 5 s, before the backup copies anything.
  await s3.send(new DeleteObjectCommand({ Bucket: b1, Key: 'victim-0' }));
  await s3.send(new DeleteObjectCommand({ Bucket: b1, Key: 'victim-1' }));
  await put(b1, 'victim-2', testBytes(123_456, 1));
  await put(b1, 'victim-3', testBytes(7, 1));
  const released = Date.now();
  const result = await run.done;
  const copiedAfter = Date.now() - released;
  stop = true;
  await writer;
  t.equal(result.code, 0, `exit 0 (${result.stderr.trim()})`);
  t.match(result.stdout, /^s3d backup: holding the deletion of data files in /m, 'says it holds deletions');
  t.match(result.stdout, /^s3d backup: done: \d+ object\(s\), \d+ noncurrent version\(s\) and delete marker\(s\), 1 multipart upload\(s\) in progress; \d+ data file\(s\) \([0-9.]+ MiB\) and the metadata \([0-9.]+ MiB\) copied to /m, 'a summary line');
  t.match(result.stdout, /if the daemon uses S3_KMS_SECRET_KEY \(or KES\) instead, that key is not in the backup: keep it backed up separately/, 'says the KMS key is backed up separately');
  t.match(result.stdout, /the development KMS key \(\.s3d\/kms-dev\.key\) was copied/, 'and that the development key was copied');
  t.ok(writes > 10, `${writes} writes ran beside the backup`);
  if (NO_STRACE === false) {
    t.ok(copiedAfter > 7_000, `the backup ended ${copiedAfter} ms after the victims were released: past the reaper's grace`);
    t.ok(logCount(d, HOLDING) >= 1, 'the daemon said it held deletions');
  } else t.comment(`not slowed down (${NO_STRACE}): the race is not forced`);
  // The hold is gone with the backup: the victims' old files go now.
  const left = await pollUntil(() => fileSizes(d.dataDir), (s) => VICTIMS.every((v) => !s.includes(v)), 15_000, 250);
  t.same(VICTIMS.filter((v) => left.includes(v)), [], "the victims' files were deleted once the backup ended");
  t.notOk(existsSync(holdFile(d.dataDir)), 'the hold file is removed');

  // DEST: what a data directory needs, nothing per-process.
  t.same(readdirSync(join(dest, '.s3d')).sort(), ['kms-dev.key', 'meta', 'objects', 'store-id'], 'DEST/.s3d: the metadata, the data files, the development key and the store id only');
  t.same(readdirSync(join(dest, '.s3d', 'meta')), ['data.mdb'], 'the LMDB data file, no lock file');
  t.equal(statSync(join(dest, '.s3d', 'kms-dev.key')).mode & 0o777, 0o600, 'the key is 0600');
  t.ok(readFileSync(join(dest, '.s3d', 'kms-dev.key')).equals(readFileSync(join(d.dataDir, '.s3d', 'kms-dev.key'))), 'the same key');

  const verified = await verifyDeep(dest);
  t.equal(verified.code, 0, `s3d verify DEST --deep: exit 0 (${verified.stdout.trim()} ${verified.stderr.trim()})`);

  const d2 = await startDaemonFor(t, { dataDir: dest, tls: true, dev: true, kms: false });
  const s3b = d2.s3();
  for (const e of expected) {
    const got = await getBytes(s3b, { Bucket: e.bucket, Key: e.key, ...(e.versionId !== undefined ? { VersionId: e.versionId } : {}), ...(e.ssec === true ? ssec(customerKey) : {}) });
    t.ok(got.equals(e.body), `${e.key}${e.versionId !== undefined ? ` version ${e.versionId}` : ''}: the same ${e.body.length} bytes`);
  }
  const versionsAfter = await s3b.send(new ListObjectVersionsCommand({ Bucket: b2 }));
  const rows = (r: typeof versionsBefore): unknown => ({
    versions: (r.Versions ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size, v.ETag]),
    markers: (r.DeleteMarkers ?? []).map((m) => [m.Key, m.VersionId, m.IsLatest]),
  });
  t.same(rows(versionsAfter), rows(versionsBefore), 'the versioned bucket: the same versions and delete marker');
  t.equal(versionsAfter.DeleteMarkers?.length, 1, 'the delete marker is there');
  // Every churned key DEST holds is one of the bodies written to it. A key the snapshot caught
  // deleted is NoSuchKey; any other error (a listed object whose data file the backup missed) fails.
  for (let i = 0; i < 6; i++) {
    const body = await getBytes(s3b, { Bucket: b3, Key: `churn-${i}` }).catch((err: { name?: string }) => {
      if (err.name === 'NoSuchKey') return undefined;
      throw err;
    });
    if (body !== undefined) t.ok(body.equals(testBytes(body.length, body.length)), `churn-${i}: a body written to it`);
    else t.equal((await s3b.send(new ListObjectsV2Command({ Bucket: b3, Prefix: `churn-${i}` }))).KeyCount, 0, `churn-${i}: deleted when the snapshot was taken, and not listed`);
  }
  // The upload in progress goes on in DEST.
  const parts = await s3b.send(new ListPartsCommand({ Bucket: b1, Key: 'pending', UploadId: pending.UploadId }));
  t.same(parts.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, pendingPart.length]], 'the upload in progress and its part');
  await s3b.send(new CompleteMultipartUploadCommand({ Bucket: b1, Key: 'pending', UploadId: pending.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pendingETag }] } }));
  t.ok((await getBytes(s3b, { Bucket: b1, Key: 'pending' })).equals(pendingPart), 'completed in DEST, it reads back');
});

t.test('the hold keeps replaced files past the grace, through a daemon restart, until released', async (t) => {
  let d = await startDaemon();
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'hold');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: testBytes(250_017, 1) }));
  const hold = await takeBackupHold(d.dataDir);
  t.teardown(() => hold.release());
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: testBytes(250_018, 2) }));
  await d.waitForLog((l) => l.msg === HOLDING, 10_000);
  const graceOver = sleep(7_500);
  // A backup started meanwhile waits for the hold (up to 10 s); SIGTERM ends that wait at once
  // (it waited the 10 s out before).
  const waitingDest = newDest(t);
  const waiting = backup(d.dataDir, waitingDest);
  // Its marker is written just before it asks for the hold, and after its signal handlers are in
  // place (a SIGTERM while node still loads ends it by default, with nothing made yet).
  await pollUntil(() => existsSync(join(waitingDest, '.s3d', 'backup-incomplete')), (made) => made, 20_000, 50);
  await sleep(500);
  const signalled = Date.now();
  waiting.signal('SIGTERM');
  const w = await waiting.done;
  const took = Date.now() - signalled;
  t.equal(w.code, 1, `a backup waiting for the hold, SIGTERMed: exit 1 (${w.stderr.trim()})`);
  t.match(w.stderr, /failed: interrupted by SIGTERM/, 'interrupted');
  // Its 10 s wait began over half a second before the signal: ending after it would take over 9 s.
  // The bound leaves room for a loaded machine (4.4 s was seen with the suite beside it).
  t.ok(took < 7_000, `at once (${took} ms), not after its 10 s wait`);
  t.notOk(existsSync(waitingDest), 'its DEST is removed');
  t.ok(existsSync(holdFile(d.dataDir)), 'and the hold it waited for is still held');
  await graceOver;
  t.ok(fileSizes(d.dataDir).includes(250_017), 'the replaced file is still there 7.5 s after it was released');
  // A daemon that crashes and starts again while the backup runs: its start-up sweep keeps them too.
  t.equal(await d.stop('SIGKILL'), null);
  d = await startDaemon({ dataDir: d.dataDir });
  await pollUntil(() => d.jsonLogs().some((l) => String(l.msg).startsWith('start-up scan for unreferenced data files finished')), (done) => done, 10_000, 100);
  await sleep(2_500);
  t.ok(fileSizes(d.dataDir).includes(250_017), 'still there after a restart (start-up sweep, reaper, start-up scan)');
  t.equal(logCount(d, HOLDING), 1, 'the restarted daemon says it holds');
  await hold.release();
  t.notOk(existsSync(holdFile(d.dataDir)), 'released: the hold file is removed');
  const left = await pollUntil(() => fileSizes(d.dataDir), (s) => !s.includes(250_017), 10_000, 250);
  t.notOk(left.includes(250_017), 'deleted once the hold is released');
  await d.waitForLog((l) => l.msg === RELEASED, 5_000);
  t.equal(logCount(d, HOLDING), 1, 'said once that it held');
});

t.test('a backup SIGKILLed mid-way: the daemon deletes again, DEST is refused', { skip: NO_STRACE }, async (t) => {
  const d = await startDaemonFor(t, { dev: true, kms: false });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'killed');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: testBytes(260_001, 1) }));
  const dest = newDest(t);
  const run = backup(d.dataDir, dest, { delayCopyMs: 60_000 });
  await run.line('metadata snapshot copied');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: testBytes(260_002, 2) }));
  await d.waitForLog((l) => l.msg === HOLDING, 10_000);
  run.kill();
  const killed = await run.done;
  t.not(killed.code, 0, 'the backup did not end well');
  t.notMatch(killed.stdout, /done:/);
  t.ok(existsSync(holdFile(d.dataDir)), 'its hold file is left behind');
  const killedAt = Date.now();
  const left = await pollUntil(() => fileSizes(d.dataDir), (s) => !s.includes(260_001), 10_000, 250);
  t.notOk(left.includes(260_001), `the daemon deleted the replaced file ${Date.now() - killedAt} ms after the kill: the lock died with the backup`);
  await d.waitForLog((l) => l.msg === RELEASED, 5_000);
  t.ok(existsSync(join(dest, '.s3d', 'backup-incomplete')), 'DEST is marked unfinished');
  const server = await serverRefusal(dest);
  t.equal(server.code, 2, 's3d server refuses it (exit 2)');
  t.match(server.stderr, /is an unfinished backup \(s3d backup did not end/, 'and says why');
  const verified = await verifyDeep(dest);
  t.equal(verified.code, 2, 's3d verify refuses it (exit 2)');
  t.match(verified.stderr, /is an unfinished backup/);
  const ofUnfinished = await backup(dest, newDest(t)).done;
  t.equal(ofUnfinished.code, 2, 's3d backup refuses to copy it (exit 2)');
  t.match(ofUnfinished.stderr, /is an unfinished backup/);
  const intoUnfinished = await backup(d.dataDir, dest).done;
  t.equal(intoUnfinished.code, 2, 'a backup into it again: exit 2');
  t.match(intoUnfinished.stderr, /DEST .* is an unfinished backup \(.*backup-incomplete is there: a backup into it was killed\); remove it and back up again/, 'saying what it is, not just "not empty"');
  // The next backup takes the stale hold file over and removes it at its end.
  const again = backup(d.dataDir, newDest(t));
  const r = await again.done;
  t.equal(r.code, 0, `a new backup succeeds (${r.stderr.trim()})`);
  t.notOk(existsSync(holdFile(d.dataDir)), 'and removes the hold file');
  // SIGINT mid-way: the copies in flight end, then the backup stops and removes DEST.
  const interruptedDest = newDest(t);
  const interrupted = backup(d.dataDir, interruptedDest, { delayCopyMs: 2_000 });
  await interrupted.line('metadata snapshot copied');
  interrupted.signal('SIGINT');
  const ri = await interrupted.done;
  t.equal(ri.code, 1, 'SIGINT: exit 1');
  t.match(ri.stderr, /SIGINT: stopping once the data files being copied are done \(DEST is removed; SIGINT again stops at once\)/, 'says what it does, and how to stop at once');
  t.match(ri.stderr, /failed: interrupted by SIGINT; .* was removed/, 'says so');
  t.notOk(existsSync(interruptedDest), 'DEST is removed');
  t.notOk(existsSync(holdFile(d.dataDir)), 'the hold is released');
  // A second SIGINT (an impatient Ctrl-C) while a copy is held up: it stops at once, and still
  // removes DEST (it exited before, leaving a partial DEST behind). SIGHUP (a closed terminal)
  // is a stop like SIGINT.
  for (const sig of ['SIGINT', 'SIGHUP'] as const) {
    const twiceDest = newDest(t);
    const twice = backup(d.dataDir, twiceDest, { delayCopyMs: 6_000 });
    // The copies start right after this line (within milliseconds; 2.5 s leaves a loaded machine
    // room); the first is held up for 6 s, so the first signal finds it in flight (and the exit,
    // which waits for the thread strace holds, comes soon after).
    await twice.line('the data files take');
    await sleep(2_500);
    twice.signal(sig);
    await pollUntil(() => twice.stderrSoFar(), (e) => e.includes('stopping once the data files being copied are done'), 10_000, 50);
    twice.signal(sig);
    const r2 = await twice.done;
    t.equal(r2.code, 1, `${sig} twice: exit 1`);
    t.match(r2.stderr, new RegExp(`${sig} again: stopped at once; .*dest/\\.s3d was removed|${sig} again: stopped at once; .*dest was removed`), 'at once, saying what it removed');
    t.notOk(existsSync(join(twiceDest, '.s3d')), 'nothing of the backup is left in DEST');
  }
});

t.test("what a backup writes in DIR is what docs/operations.md's Backups says it writes", async (t) => {
  // The Cost bullet said "besides the hold file (and, the first time, .s3d/store-id) it writes
  // nothing in DIR", while the backup also writes its record, .s3d/last-backup (Monitoring).
  const store = await startDaemon({});
  const s3 = store.s3();
  const bucket = await createBucket(s3, 'writes');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: testBytes(300_001, 1) }));
  t.equal(await store.stop(), 0, 'the daemon stopped: nothing else writes DIR');
  const entries = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).sort();
  const before = new Set(entries(join(store.dataDir, '.s3d')));
  const done = await backup(store.dataDir, newDest(t)).done;
  t.equal(done.code, 0, `backed up (${done.stderr.trim()})`);
  const made = entries(join(store.dataDir, '.s3d')).filter((e) => !before.has(e));
  t.ok(made.length > 0, `the backup left ${made.join(', ')} in DIR/.s3d`);
  const ops = readFileSync(projectPath('docs/operations.md'), 'utf8');
  const cost = /^- \*\*Cost:\*\*[^]*?(?=^- \*\*)/m.exec(ops)?.[0] ?? '';
  t.match(cost, /it writes nothing in DIR/, "docs/operations.md's Backups has its Cost bullet");
  for (const name of made) t.ok(cost.includes(`\`.s3d/${name}\``), `.s3d/${name}, which the backup writes, is named there`);
});

t.test('refusals and failures', async (t) => {
  const d = await startDaemonFor(t, {});
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'refuse');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: testBytes(270_001, 1) }));

  const full = newDest(t);
  mkdirSync(full, { recursive: true });
  writeFileSync(join(full, 'keep'), 'mine');
  const notEmpty = await backup(d.dataDir, full).done;
  t.equal(notEmpty.code, 2, 'DEST not empty: exit 2');
  t.match(notEmpty.stderr, /DEST .* is not empty/, 'says so');
  t.same(readdirSync(full), ['keep'], 'and leaves it alone');
  t.notOk(existsSync(holdFile(d.dataDir)), 'no hold was taken');

  const nothing = mkdtempSync(join(tmpdir(), 's3d-backup-nothing-'));
  t.teardown(() => rmSync(nothing, { recursive: true, force: true }));
  const notS3d = await backup(nothing, newDest(t)).done;
  t.equal(notS3d.code, 2, 'DIR without s3d data: exit 2');
  t.match(notS3d.stderr, /no s3d data in /, 'says so');

  const inside = await backup(d.dataDir, join(d.dataDir, '.s3d', 'copy')).done;
  t.equal(inside.code, 2, 'DEST inside DIR/.s3d: exit 2');
  // The same through a symbolic link: the backup went among the daemon's data files.
  const link = newDest(t);
  symlinkSync(join(d.dataDir, '.s3d', 'objects'), link);
  const linked = await backup(d.dataDir, join(link, 'copy')).done;
  t.equal(linked.code, 2, 'DEST inside DIR/.s3d through a symbolic link: exit 2');
  t.match(linked.stderr, /is inside the data directory's \.s3d/, 'says so');
  t.notOk(existsSync(join(d.dataDir, '.s3d', 'objects', 'copy')), 'and made nothing there');
  // An empty DEST (an unset variable in "$DEST") once meant the working directory.
  const empty = await backup('', '', { args: [d.dataDir, ''] }).done;
  t.equal(empty.code, 2, 'an empty DEST: exit 2');
  t.match(empty.stderr, /^s3d backup: an empty DEST \(an unset variable\?\)\n/, 'saying so before the usage');
  const dangling = newDest(t);
  symlinkSync(join(dangling, '..', 'nowhere'), dangling);
  const toNowhere = await backup(d.dataDir, dangling).done;
  t.equal(toNowhere.code, 2, 'DEST a dangling symbolic link: exit 2');
  t.match(toNowhere.stderr, /DEST .* is a symbolic link to .*nowhere, which does not exist/, 'says so');
  if (spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status === 0) {
    // DIR (a mkdtemp directory, 0700 root) is closed to nobody.
    const r = spawnSync('runuser', ['-u', 'nobody', '--', ...nodeChild([MAIN, 'backup', d.dataDir, '/tmp/s3d-never-made']).flat()], { encoding: 'utf8' });
    t.equal(r.status, 2, 'DIR this user cannot read: exit 2');
    t.match(r.stderr, /cannot read .* \(EACCES\): run the backup as the service's user/, 'with the hint');
  }
  t.equal((await backup('', '', { args: [] }).done).code, 2, 'no arguments: exit 2');
  const help = await backup('', '', { args: ['--help'] }).done;
  t.equal(help.code, 0, '--help: exit 0');
  t.match(help.stdout, /^usage: s3d backup DIR DEST/);

  // A data file the store references is missing: the backup fails and removes what it made.
  const [file] = dataFilePaths(d.dataDir);
  rmSync(file!);
  const dest = newDest(t);
  const failed = await backup(d.dataDir, dest).done;
  t.equal(failed.code, 1, 'a missing data file: exit 1');
  t.match(failed.stderr, /data file \.s3d\/objects\/[0-9a-f]{2}\/[0-9a-f]{32}, which the snapshot references, is missing in /, 'names the file');
  t.notOk(existsSync(dest), 'DEST is removed');
  t.notOk(existsSync(holdFile(d.dataDir)), 'the hold is released');
});
