// Large objects and durability (issue 2, "uWS front end" and "Storage"): a 256 MiB PUT and GET
// stream through the daemon with bounded memory, and an acknowledged PUT survives SIGKILL.
import t from 'tap';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { rssKiB, startDaemon, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { md5Hex } from '../helpers/hash.js';
import { clientFor, createBucket } from '../helpers/s3.js';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;
const CHUNK = MiB;

function client(d: TestDaemon): S3Client {
  return clientFor(d, { requestHandler: { httpAgent: new Agent({ keepAlive: false }) } });
}

/** 256 MiB of distinct 1 MiB blocks, generated on demand and hashed as they go out. */
function generated(size: number, hash: ReturnType<typeof createHash>): Readable {
  const base = testBytes(CHUNK, 2024);
  let sent = 0;
  let index = 0;
  return Readable.from(
    (function* () {
      while (sent < size) {
        const n = Math.min(CHUNK, size - sent);
        const block = Buffer.from(base.subarray(0, n));
        block.writeUInt32BE(index++, 0); // every block differs
        block.writeUInt32BE(sent >>> 0, 4);
        hash.update(block);
        sent += n;
        yield block;
      }
    })(),
    { objectMode: false },
  );
}

/** Samples the daemon's RSS every 50 ms until stopped; returns the peak. */
function sampleRss(pid: number): { stop(): number; samples: number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(rssKiB(pid)), 50);
  return {
    samples,
    stop() {
      clearInterval(timer);
      samples.push(rssKiB(pid));
      return Math.max(...samples);
    },
  };
}

t.test('256 MiB PUT and GET stream through with the daemon RSS growing by less than 64 MiB', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = client(d);
  const bucket = await createBucket(s3, 'large');
  // Warm up the paths (crypto pool workers, file store, SDK) before the baseline.
  const warm = testBytes(8 * MiB, 3);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'warm', Body: Readable.from([warm]), ContentLength: warm.length }));
  await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'warm' }))).Body!.transformToByteArray();
  await new Promise((r) => setTimeout(r, 300));
  const baseline = rssKiB(d.proc.pid!);
  const sampler = sampleRss(d.proc.pid!);

  const sentHash = createHash('sha256');
  const started = Date.now();
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big', Body: generated(SIZE, sentHash), ContentLength: SIZE }));
  const putMs = Date.now() - started;
  const sentSha = sentHash.digest('hex');
  t.match(put.ETag, /^"[0-9a-f]{32}"$/, 'PUT 256 MiB → 200 with an MD5 ETag');

  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big' }));
  t.equal(head.ContentLength, SIZE, 'HEAD reports 256 MiB');
  t.equal(head.ETag, put.ETag);

  const getStarted = Date.now();
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big' }));
  const gotHash = createHash('sha256');
  const gotMd5 = createHash('md5');
  let received = 0;
  for await (const chunk of got.Body as Readable) {
    gotHash.update(chunk as Buffer);
    gotMd5.update(chunk as Buffer);
    received += (chunk as Buffer).length;
  }
  const getMs = Date.now() - getStarted;
  const peak = sampler.stop();
  t.equal(received, SIZE, 'GET returns 256 MiB');
  t.equal(gotHash.digest('hex'), sentSha, 'GET returns the exact bytes (SHA-256)');
  t.equal(put.ETag, `"${gotMd5.digest('hex')}"`, 'ETag is the MD5 of the bytes');
  const growthMiB = (peak - baseline) / 1024;
  t.comment(`PUT ${putMs} ms, GET ${getMs} ms; RSS baseline ${(baseline / 1024).toFixed(1)} MiB, peak ${(peak / 1024).toFixed(1)} MiB, ${sampler.samples.length} samples`);
  t.ok(sampler.samples.length >= 10, 'RSS was sampled throughout');
  t.ok(growthMiB < 64, `daemon RSS grew by ${growthMiB.toFixed(1)} MiB (< 64 MiB)`);
});

t.test('durability: an acknowledged PUT survives SIGKILL right after its 200; start-up sweeps crash leftovers', async (t) => {
  let d = await startDaemon();
  const dataDir = d.dataDir;
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  let s3 = client(d);
  const bucket = await createBucket(s3, 'durable');
  const bodies = new Map<string, Buffer>([
    ['file-backed', testBytes(3 * MiB + 17, 51)],
    ['inline', testBytes(1000, 52)],
    ['dir/replaced', testBytes(500_000, 53)],
  ]);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/replaced', Body: testBytes(400_000, 54) }));
  for (const [key, body] of bodies) {
    const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    t.equal(r.$metadata.httpStatusCode, 200, `PUT ${key} acknowledged`);
  }
  // Kill -9 immediately after the last 200: no graceful shutdown, no later flush.
  await d.stop('SIGKILL');
  t.equal(d.proc.signalCode, 'SIGKILL', 'daemon killed');

  // Crash leftovers: a temp upload and an unreferenced data file.
  const tmpLeft = join(dataDir, '.s3d', 'tmp', randomBytes(16).toString('hex'));
  writeFileSync(tmpLeft, 'partial upload');
  const orphanId = randomBytes(16).toString('hex');
  mkdirSync(join(dataDir, '.s3d', 'objects', orphanId.slice(0, 2)), { recursive: true });
  const orphan = join(dataDir, '.s3d', 'objects', orphanId.slice(0, 2), orphanId);
  writeFileSync(orphan, 'nobody points here');

  d = await startDaemon({ dataDir });
  s3 = client(d);
  for (const [key, body] of bodies) {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    t.ok(bytes.equals(body), `GET ${key} after SIGKILL + restart returns the acknowledged bytes`);
    t.equal(got.ETag, `"${md5Hex(body)}"`);
  }
  t.notOk(existsSync(tmpLeft), 'temp file swept at start-up');
  t.equal((await d.waitForLog((l) => l.msg === 'start-up scan for unreferenced data files finished')).orphans, 1, 'the start-up scan found one unreferenced data file');
  t.notOk(existsSync(orphan), 'unreferenced data file swept after start-up');
  t.strictSame(readdirSync(join(dataDir, '.s3d', 'tmp')), [], 'temp dir empty');
});
