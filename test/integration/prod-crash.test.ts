// Crash safety (issue 8 §3): SIGKILL the daemon in the middle of a mixed load (PUTs small,
// medium and large, overwrites, CopyObject, multipart uploads and completions, DeleteObject and
// DeleteObjects; plain, SSE-S3 and SSE-C over TLS), restart on the same data dir, and check:
//  - every key holds exactly its last acknowledged state (byte-identical body, or absent), or the
//    state of the one operation that was in flight on it at the kill (per-key operations are
//    sequential, so nothing else is possible);
//  - every listed object reads back completely and is one of the bodies written to its key;
//  - after the start-up sweep: no temp files, no data file LMDB does not reference, no record
//    whose data file is missing;
//  - at the end, `s3d verify --deep` finds no problem.
// Several rounds on one data dir, each killed at a different seeded moment.

import t from 'tap';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createCipheriv, createHash } from 'node:crypto';
import { bucketName, prng, runS3d, startDaemon, TEST_KMS_SECRET } from '../helpers/daemon.js';
import { inspectDataDir } from '../helpers/files.js';
import { crashClient, readMd5 } from '../helpers/crash.js';
import { ssec, ssecCopy, sseWriteInput } from '../helpers/sse.js';

const SEED = 0x5eed_c0de;
const ROUNDS = 6;
const KEYS = 16;
const WORKERS = 6;
const KiB = 1024;
const MiB = 1024 * KiB;
const SSE_C_KEY = Buffer.alloc(32, 0x5c);
const SSE_C = ssec(SSE_C_KEY);

type Sse = 'none' | 'SSE-S3' | 'SSE-C';

/** Deterministic bytes for a seed (AES-CTR keystream: fast enough for megabytes per operation). */
function testBytes(size: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0, 0);
  key.writeUInt32BE(Math.floor(seed / 2 ** 32), 4);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** One body ever written to a key: the concatenation of testBytes(size, seed) per part. */
interface Version {
  readonly id: number;
  readonly parts: ReadonlyArray<{ size: number; seed: number }>;
  readonly sse: Sse;
}

interface KeyState {
  /** State after the last acknowledged operation (null: absent). */
  acked: Version | null;
  /** States of operations since then that failed or were cut (they may or may not have applied). */
  maybe: Array<Version | null>;
  busy: boolean;
  /** Every version ever written (a listed object must be one of them). */
  written: Version[];
}

const md5Cache = new Map<number, string>();
function md5Of(v: Version): string {
  let h = md5Cache.get(v.id);
  if (h === undefined) {
    const hash = createHash('md5');
    for (const p of v.parts) hash.update(testBytes(p.size, p.seed));
    h = hash.digest('hex');
    md5Cache.set(v.id, h);
  }
  return h;
}
function bodyOf(v: Version): Buffer {
  return Buffer.concat(v.parts.map((p) => testBytes(p.size, p.seed)));
}

function sseParams(sse: Sse): Record<string, string> {
  return sseWriteInput(sse, SSE_C_KEY);
}

t.test(`SIGKILL during mixed load, ${ROUNDS} rounds`, async (t) => {
  const rnd = prng(SEED);
  let nextVersion = 1;
  const newVersion = (parts: Array<{ size: number }>, sse: Sse): Version => {
    const id = nextVersion++;
    return { id, sse, parts: parts.map((p, i) => ({ size: p.size, seed: id * 100 + i })) };
  };
  const keys = Array.from({ length: KEYS }, (_, i) => `k${String(i).padStart(2, '0')}/${i % 3 === 0 ? 'deep/' : ''}obj`);
  const model = new Map<string, KeyState>(keys.map((k) => [k, { acked: null, maybe: [], busy: false, written: [] }]));
  const bucket = bucketName('crash');
  let d = await startDaemon({ tls: true });
  const dataDir = d.dataDir;
  t.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });
  await crashClient(d, WORKERS).send(new CreateBucketCommand({ Bucket: bucket }));
  const stats = { acked: 0, failed: 0, inFlightAtKill: 0, writesInFlightAtKill: 0 };

  for (let round = 0; round < ROUNDS; round++) {
    const s3 = crashClient(d, WORKERS);
    let killed = false;
    let roundAcked = 0;
    let inFlight = 0;
    let writesInFlight = 0;
    const opCounts: Record<string, number> = {};
    const opMs: Record<string, number> = {};

    /** Runs one operation on locked keys: `effect` is each key's state if it applies. */
    const run = async (name: string, lock: string[], effect: Map<string, Version | null>, op: () => Promise<unknown>): Promise<void> => {
      for (const k of lock) model.get(k)!.busy = true;
      for (const [k, v] of effect) if (v) model.get(k)!.written.push(v);
      inFlight++;
      if (effect.size > 0) writesInFlight++;
      const started = Date.now();
      try {
        await op();
        opMs[name] = (opMs[name] ?? 0) + Date.now() - started;
        for (const [k, v] of effect) {
          const s = model.get(k)!;
          s.acked = v;
          s.maybe = [];
        }
        stats.acked++;
        roundAcked++;
        opCounts[name] = (opCounts[name] ?? 0) + 1;
      } catch (err) {
        if (!killed) t.fail(`${name} failed before the kill: ${(err as Error).message} at ${Date.now() - t0} ms`);
        for (const [k, v] of effect) model.get(k)!.maybe.push(v);
        stats.failed++;
      } finally {
        inFlight--;
        if (effect.size > 0) writesInFlight--;
        for (const k of lock) model.get(k)!.busy = false;
      }
    };

    const freeKey = (): string | undefined => {
      const free = keys.filter((k) => !model.get(k)!.busy);
      return free.length === 0 ? undefined : rnd.pick(free);
    };
    const pickSize = (): number => {
      const r = rnd.next();
      if (r < 0.45) return rnd.int(100 * KiB); // inline in LMDB
      if (r < 0.8) return 150 * KiB + rnd.int(900 * KiB);
      return 2 * MiB + rnd.int(5 * MiB);
    };
    const pickSse = (): Sse => (rnd.bool(0.4) ? 'none' : rnd.bool(0.6) ? 'SSE-S3' : 'SSE-C');

    const worker = async (): Promise<void> => {
      while (!killed) {
        const key = freeKey();
        if (key === undefined) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const r = rnd.next();
        if (r < 0.5) {
          const v = newVersion([{ size: pickSize() }], pickSse());
          await run('put', [key], new Map([[key, v]]), () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bodyOf(v), ...sseParams(v.sse) })));
        } else if (r < 0.62) {
          const v = newVersion([{ size: 5 * MiB }, { size: rnd.int(MiB) + 1 }], pickSse());
          await run('multipart', [key], new Map([[key, v]]), async () => {
            const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sseParams(v.sse) }));
            const done = [];
            for (const [i, p] of v.parts.entries()) {
              const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId!, PartNumber: i + 1, Body: testBytes(p.size, p.seed), ...(v.sse === 'SSE-C' ? SSE_C : {}) }));
              done.push({ PartNumber: i + 1, ETag: part.ETag! });
            }
            await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId!, MultipartUpload: { Parts: done } }));
          });
        } else if (r < 0.72) {
          // Copy from a key whose content is certain, re-encrypting as the target asks.
          const sources = keys.filter((k) => k !== key && !model.get(k)!.busy && model.get(k)!.acked && model.get(k)!.maybe.length === 0);
          if (sources.length === 0) continue;
          const src = rnd.pick(sources);
          const from = model.get(src)!.acked!;
          const v: Version = { id: nextVersion++, parts: from.parts, sse: pickSse() };
          md5Cache.set(v.id, md5Of(from));
          const srcSse = from.sse === 'SSE-C' ? ssecCopy(SSE_C_KEY) : {};
          await run('copy', [key, src], new Map([[key, v]]), () =>
            s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/${encodeURI(src)}`, ...srcSse, ...sseParams(v.sse) })),
          );
        } else if (r < 0.9) {
          await run('delete', [key], new Map([[key, null]]), () => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
        } else {
          const batch = [key];
          for (let i = 0; i < 3; i++) {
            const k = keys.find((x) => !model.get(x)!.busy && !batch.includes(x) && rnd.bool(0.3));
            if (k) batch.push(k);
          }
          await run('deleteObjects', batch, new Map(batch.map((k) => [k, null])), () =>
            s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((k) => ({ Key: k })) } })),
          );
        }
      }
    };

    // Kill point: after a seeded number of acknowledged operations (so every round makes progress
    // whatever the machine's speed), then a seeded delay that lands somewhere inside the next ones.
    const killRnd = prng(SEED + 7919 * (round + 1));
    const killAtAcks = 4 + killRnd.int(24);
    const killDelay = killRnd.int(300);
    const t0 = Date.now();
    const load = Promise.all(Array.from({ length: WORKERS }, () => worker()));
    while (roundAcked < killAtAcks && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, killDelay));
    const killAfter = Date.now() - t0;
    const kinds = { inFlight, writesInFlight };
    d.proc.kill('SIGKILL');
    killed = true;
    await new Promise<void>((r) => (d.proc.exitCode !== null || d.proc.signalCode !== null ? r() : d.proc.once('exit', () => r())));
    await load;
    s3.destroy();
    stats.inFlightAtKill += kinds.inFlight;
    stats.writesInFlightAtKill += kinds.writesInFlight;
    t.comment(`round ${round}: killed ${killDelay} ms after ack #${killAtAcks} (${killAfter} ms) with ${kinds.inFlight} requests in flight (${kinds.writesInFlight} writes); acked ${JSON.stringify(opCounts)} ms ${JSON.stringify(opMs)}`);

    // Restart on the same data dir: the start-up sweep removes temp files before it listens and
    // looks for unreferenced data files while it serves.
    d = await startDaemon({ tls: true, dataDir });
    const scanned = d.waitForLog((l) => l.msg === 'start-up scan for unreferenced data files finished');
    const reader = crashClient(d, WORKERS);
    let bad = 0;
    for (const k of keys) {
      const s = model.get(k)!;
      const got = await readMd5(reader, bucket, k, SSE_C_KEY);
      const allowed = [s.acked, ...s.maybe].map((v) => (v ? md5Of(v) : null));
      if (!allowed.includes(got)) {
        bad++;
        t.fail(`round ${round}: ${k} holds ${got ?? 'nothing'}, expected one of ${JSON.stringify(allowed)} (acked ${s.acked ? `v${s.acked.id}` : 'absent'})`);
      }
      // From here on the key's content is what we read.
      const candidates = [s.acked, ...s.maybe];
      const now = candidates.findIndex((v) => (v ? md5Of(v) : null) === got);
      if (now >= 0) s.acked = candidates[now]!;
      s.maybe = [];
    }
    t.equal(bad, 0, `round ${round}: every key holds its acknowledged (or in-flight) state`);
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await reader.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) listed.push(o.Key!);
      token = page.NextContinuationToken;
    } while (token);
    const expected = keys.filter((k) => model.get(k)!.acked !== null).sort();
    t.same(listed.sort(), expected, `round ${round}: the listing shows exactly the objects that exist`);
    reader.destroy();
    await scanned;
    const sweep = d.jsonLogs().find((l) => l.msg === 'start-up sweep removed crash leftovers');
    if (sweep) t.comment(`round ${round}: sweep removed ${sweep.temp} temp and ${sweep.orphans} orphan files`);

    // The sweep left nothing behind: stop cleanly (no writes happened since start) and look.
    t.equal(await d.stop(), 0, `round ${round}: clean stop`);
    const dir = await inspectDataDir(dataDir);
    t.same(dir.temp, [], `round ${round}: no temp files after the sweep`);
    t.same(dir.orphans, [], `round ${round}: no data file without an LMDB reference`);
    t.same(dir.missing, [], `round ${round}: no LMDB reference without its data file`);
    // The next round's daemon (after the last round none: it would only be started and stopped).
    if (round < ROUNDS - 1) d = await startDaemon({ tls: true, dataDir });
  }
  t.ok(stats.writesInFlightAtKill > 0, `kills landed on in-flight writes (${stats.writesInFlightAtKill} over ${ROUNDS} rounds)`);
  t.ok(stats.acked >= ROUNDS * 4, `${stats.acked} operations acknowledged, ${stats.failed} cut`);
  // Every byte of what survived the kills authenticates (SSE-C: sizes only).
  const v = await runS3d(['verify', dataDir, '--deep'], { S3_CRYPTO_WORKERS: '2', S3_KMS_SECRET_KEY: TEST_KMS_SECRET });
  t.equal(v.code, 0, 's3d verify --deep exits 0');
  t.same(v.stdout.split('\n').filter((l) => l.startsWith('PROBLEM ')), [], 's3d verify --deep finds no problem');
});
