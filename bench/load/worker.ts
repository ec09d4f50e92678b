// Load worker (worker_threads entry): runs one LoadJob at a time over its own keep-alive
// connections and posts back counts, bytes, latency histograms and per-second segments.

import { randomFillSync } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { createHistogram, recordMicros } from '../stats/histogram.js';
import { HttpConnection } from './connection.js';
import type { BodySource } from './connection.js';
import type { LoadJob, LoadResult, OpTally, WorkerMessage } from './protocol.js';
import { deleteObject, getObject, headObject, listObjects, multipartUpload, putObject } from './s3-requests.js';
import type { S3Session } from './s3-requests.js';
import { FastSigner } from './signer.js';
import { sseHeaders } from './sse-headers.js';

const CHUNK = randomFillSync(Buffer.allocUnsafeSlow(1 << 20));
/** Upper bound on the ops one connection issues in one job (every loop is bounded). */
const MAX_OPS_PER_CONNECTION = 5_000_000;
const LIST_PAGE = 1000;

type OpName = 'PUT' | 'GET' | 'HEAD' | 'DELETE' | 'LIST' | 'MULTIPART' | 'MPU-INIT' | 'MPU-PART' | 'MPU-COMPLETE';

const newTally = (): OpTally => ({ ops: 0, errors: 0, bytes: 0, hist: createHistogram() });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowMicros = (): number => Number(process.hrtime.bigint() / 1000n);

class Recorder {
  readonly total = newTally();
  readonly byOp: Record<string, OpTally> = {};
  readonly segments: number[] = [];
  listedKeys = 0;
  windowBytes = 0;
  errorSample: string | undefined;
  constructor(
    readonly windowStart: number,
    readonly windowEnd: number,
    readonly recordAll: boolean,
  ) {}

  /** Body bytes moving now (from the connections' progress callbacks). */
  progress(bytes: number): void {
    if (this.recordAll) this.windowBytes += bytes;
    else {
      const now = Date.now();
      if (now >= this.windowStart && now <= this.windowEnd) this.windowBytes += bytes;
    }
  }

  inWindow(endMs: number): boolean {
    return this.recordAll || (endMs >= this.windowStart && endMs <= this.windowEnd);
  }

  /** One whole operation finished at endMs. */
  op(name: OpName, micros: number, bytes: number, ok: boolean, endMs: number): void {
    if (!this.inWindow(endMs)) return;
    this.sub(name, micros, ok, bytes, endMs);
    const t = this.total;
    if (ok) {
      t.ops++;
      t.bytes += bytes;
      recordMicros(t.hist, micros);
      const seg = Math.floor((endMs - this.windowStart) / 1000);
      if (seg >= 0) {
        while (this.segments.length <= seg) this.segments.push(0);
        this.segments[seg]!++;
      }
    } else {
      t.errors++;
    }
  }

  /** A request inside an operation (multipart parts), or the operation itself. */
  sub(name: OpName, micros: number, ok: boolean, bytes: number, endMs: number): void {
    if (!this.inWindow(endMs)) return;
    const t = (this.byOp[name] ??= newTally());
    if (ok) {
      t.ops++;
      t.bytes += bytes;
      recordMicros(t.hist, micros);
    } else {
      t.errors++;
    }
  }

  error(err: unknown): void {
    this.errorSample ??= err instanceof Error ? err.message : String(err);
  }
}

/** Live object names for the mixed workload: picks avoid deleting what is being read. */
class LiveKeys {
  readonly keys: string[];
  readonly #busy = new Map<string, number>();
  constructor(keys: string[]) {
    this.keys = keys;
  }
  pick(): string | undefined {
    if (this.keys.length === 0) return undefined;
    const k = this.keys[Math.floor(Math.random() * this.keys.length)]!;
    this.#busy.set(k, (this.#busy.get(k) ?? 0) + 1);
    return k;
  }
  release(k: string): void {
    const n = (this.#busy.get(k) ?? 1) - 1;
    if (n <= 0) this.#busy.delete(k);
    else this.#busy.set(k, n);
  }
  /** Removes and returns an idle key (tries a few random ones). */
  take(): string | undefined {
    for (let attempt = 0; attempt < 8 && this.keys.length > 0; attempt++) {
      const i = Math.floor(Math.random() * this.keys.length);
      const k = this.keys[i]!;
      if (this.#busy.has(k)) continue;
      this.keys[i] = this.keys[this.keys.length - 1]!;
      this.keys.pop();
      return k;
    }
    return undefined;
  }
}

function writeKey(job: LoadJob, seq: { n: number }, ring: boolean): string {
  const n = seq.n++;
  return `${job.writePrefix}w${job.workerIndex}-${ring && job.writeRing > 0 ? n % job.writeRing : n}`;
}

async function timedOp(job: LoadJob, s: S3Session, rec: Recorder, seq: { n: number }, live: LiveKeys | undefined, body: BodySource): Promise<boolean> {
  let name: OpName;
  let key: string | undefined;
  let releaseKey: string | undefined;
  let addKey: string | undefined;
  switch (job.workload) {
    case 'put':
      name = 'PUT';
      key = writeKey(job, seq, true);
      break;
    case 'get':
      name = 'GET';
      key = `${job.readPrefix}${Math.floor(Math.random() * job.readCount)}`;
      break;
    case 'list':
      name = 'LIST';
      break;
    case 'multipart':
      name = 'MULTIPART';
      key = writeKey(job, seq, true);
      break;
    case 'mixed': {
      const r = Math.random() * 100;
      const floor = Math.max(4, job.connections * 2);
      if (r < 45 || r >= 70) {
        name = r < 45 ? 'GET' : 'HEAD';
        key = releaseKey = live!.pick();
      } else if (r < 60 || live!.keys.length <= floor) {
        name = 'PUT';
        key = addKey = writeKey(job, seq, false);
      } else {
        name = 'DELETE';
        key = live!.take();
      }
      if (key === undefined) {
        name = 'PUT';
        key = addKey = writeKey(job, seq, false);
      }
      break;
    }
  }
  const t0 = nowMicros();
  let bytes = 0;
  let ok = true;
  try {
    switch (name) {
      case 'PUT':
        await putObject(s, key!, body);
        bytes = job.sizeBytes;
        break;
      case 'GET':
        bytes = (await getObject(s, key!)).bodyBytes;
        break;
      case 'HEAD':
        await headObject(s, key!);
        break;
      case 'DELETE':
        await deleteObject(s, key!);
        break;
      case 'LIST': {
        const { res, keys } = await listObjects(s, job.readPrefix, LIST_PAGE);
        bytes = res.bodyBytes;
        if (rec.inWindow(Date.now())) rec.listedKeys += keys;
        break;
      }
      case 'MULTIPART': {
        const t = await multipartUpload(s, key!, job.sizeBytes, job.partSize, CHUNK);
        const end = Date.now();
        rec.sub('MPU-INIT', t.initMs * 1000, true, 0, end);
        for (const ms of t.partMs) rec.sub('MPU-PART', ms * 1000, true, 0, end);
        rec.sub('MPU-COMPLETE', t.completeMs * 1000, true, 0, end);
        bytes = job.sizeBytes;
        break;
      }
    }
    if (addKey !== undefined) live!.keys.push(addKey);
  } catch (err) {
    ok = false;
    rec.error(err);
  } finally {
    if (releaseKey !== undefined) live!.release(releaseKey);
  }
  rec.op(name, nowMicros() - t0, bytes, ok, Date.now());
  return ok;
}

async function runTimed(job: LoadJob, sessions: S3Session[], rec: Recorder): Promise<void> {
  const wait = job.startAt - Date.now();
  if (wait > 0) await sleep(wait);
  const end = rec.windowEnd;
  const seq = { n: 0 };
  const body: BodySource = { size: job.sizeBytes, chunk: CHUNK };
  let live: LiveKeys | undefined;
  if (job.workload === 'mixed') {
    const mine: string[] = [];
    for (let i = job.workerIndex; i < job.readCount; i += job.workers) mine.push(`${job.readPrefix}${i}`);
    live = new LiveKeys(mine);
  }
  await Promise.all(
    sessions.map(async (s) => {
      for (let i = 0; i < MAX_OPS_PER_CONNECTION && Date.now() < end; i++) {
        const ok = await timedOp(job, s, rec, seq, live, body);
        if (!ok) await sleep(5);
      }
    }),
  );
}

async function runCount(job: LoadJob, sessions: S3Session[], rec: Recorder): Promise<void> {
  const wait = job.startAt - Date.now();
  if (wait > 0) await sleep(wait);
  let next = job.countFrom;
  const stop = job.countFrom + job.count;
  const body: BodySource = { size: job.sizeBytes, chunk: CHUNK };
  await Promise.all(
    sessions.map(async (s) => {
      while (next < stop) {
        const key = `${job.readPrefix}${next++}`;
        const t0 = nowMicros();
        let ok = true;
        let bytes = 0;
        let name: OpName = 'GET';
        try {
          if (job.workload === 'put') {
            name = 'PUT';
            await putObject(s, key, body);
            bytes = job.sizeBytes;
          } else if (job.workload === 'multipart') {
            name = 'MULTIPART';
            await multipartUpload(s, key, job.sizeBytes, job.partSize, CHUNK);
            bytes = job.sizeBytes;
          } else {
            bytes = (await getObject(s, key)).bodyBytes;
          }
        } catch (err) {
          ok = false;
          rec.error(err);
        }
        rec.op(name, nowMicros() - t0, bytes, ok, Date.now());
      }
    }),
  );
}

async function runJob(job: LoadJob): Promise<LoadResult> {
  const signer = new FastSigner({ ...job.credentials, host: `${job.target.host}:${job.target.port}` });
  const sse = sseHeaders(job.sse, job.ssec);
  const readBuffer = Math.min(1 << 20, Math.max(64 << 10, job.sizeBytes + (16 << 10)));
  const windowStart = job.startAt + job.warmupMs;
  const rec = new Recorder(windowStart, windowStart + job.measureMs, job.mode === 'count');
  const onProgress = (n: number): void => rec.progress(n);
  const sessions: S3Session[] = Array.from({ length: job.connections }, () => ({
    conn: new HttpConnection(job.target, Buffer.allocUnsafe(readBuffer), onProgress),
    signer,
    bucket: job.bucket,
    sse,
    timeoutMs: job.timeoutMs,
  }));
  try {
    if (job.mode === 'timed') await runTimed(job, sessions, rec);
    else await runCount(job, sessions, rec);
  } finally {
    for (const s of sessions) s.conn.close();
  }
  return {
    workerIndex: job.workerIndex,
    total: rec.total,
    byOp: rec.byOp,
    segments: rec.segments,
    windowBytes: rec.windowBytes,
    listedKeys: rec.listedKeys,
    errorSample: rec.errorSample,
    connects: sessions.reduce((n, s) => n + s.conn.connects, 0),
    windowStart: rec.windowStart,
    windowEnd: rec.windowEnd,
  };
}

parentPort?.on('message', (job: LoadJob) => {
  runJob(job).then(
    (result) => parentPort!.postMessage({ type: 'result', result } satisfies WorkerMessage),
    (err: unknown) => parentPort!.postMessage({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies WorkerMessage),
  );
});
