// `npm run soak -- [--minutes M] [--concurrency C] [--out DIR]`: hours of mixed, checked S3 traffic
// against one daemon started as shipped (no malloc tuning), to find what a short bench cannot:
// memory or file descriptors that grow, data files that leak, acknowledged writes that go missing.
// Every whole GET is compared with what was acknowledged (a ranged one's length); at the end every
// live key is read back, the daemon is stopped and `s3d verify --deep` checks the store. Exit 0
// only when all of that is clean.

import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get as httpsGet, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { stopOnSignal } from './interrupt.js';
import { metricsToken } from '../daemon/admin/metrics-auth.js';
import { DAEMON_MAIN, startDaemon, type DaemonHandle } from './servers/daemon.js';
import { createSelfSignedCert } from './servers/tls-cert.js';
import { readRssMiB } from './sys/proc.js';

const USAGE = 'usage: npm run soak -- [--minutes M (30)] [--concurrency C (3)] [--sample-seconds S (60)] [--out DIR (bench/results)]';
const ACCESS_KEY = 'soakadmin';
const SECRET_KEY = 'soakadmin-secret-key';
const KEYS_PER_BUCKET = 40;
const SSEC_KEY = randomBytes(32).toString('base64');
const SSEC = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: SSEC_KEY };
const SSEC_SOURCE = { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: SSEC_KEY };

type Sse = 'none' | 'sse-s3' | 'sse-kms' | 'sse-c';
interface Bucket { name: string; versioned: boolean }
interface Expected { md5: string; size: number; sse: Sse }
interface Locked { bucket: Bucket; key: string; id: string }

const BUCKETS: Bucket[] = [
  { name: 'soak-versioned-1', versioned: true },
  { name: 'soak-versioned-2', versioned: true },
  { name: 'soak-plain-1', versioned: false },
  { name: 'soak-plain-2', versioned: false },
];

const rnd = (n: number): number => Math.floor(Math.random() * n);
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const POOL = randomBytes(2 * 1024 * 1024 + 64);

/** Mostly small objects, a third up to 200 KiB, some up to 2 MiB, a few empty. */
function objectSize(): number {
  const r = Math.random();
  if (r < 0.05) return 0;
  if (r < 0.55) return rnd(4096) + 1;
  if (r < 0.88) return rnd(200 * 1024) + 4096;
  return rnd(2 * 1024 * 1024 - 200 * 1024) + 200 * 1024;
}

/** Bytes that differ between objects (a random word at the front) without costing random bytes each. */
function objectBody(n: number): Buffer {
  if (n < 4) return randomBytes(n);
  const off = rnd(64);
  const b = Buffer.from(POOL.subarray(off, off + n));
  b.writeUInt32LE(rnd(2 ** 32), 0);
  return b;
}

function sseChoice(): { sse: Sse; params: Record<string, string> } {
  switch (rnd(4)) {
    case 0: return { sse: 'none', params: {} };
    case 1: return { sse: 'sse-s3', params: { ServerSideEncryption: 'AES256' } };
    case 2: return { sse: 'sse-kms', params: { ServerSideEncryption: 'aws:kms' } };
    default: return { sse: 'sse-c', params: SSEC };
  }
}

interface Sample { minute: number; rssMiB: number | null; threads: number | null; fds: number | null; heapMiB: number | null; status5xx: number | null; dataFiles: number; tmpFiles: number }

/**
 * The nearest-rank percentile (the value at rank ⌈p·n⌉ of the sorted samples, as the bench's
 * histograms read theirs), to 0.1; 0 without samples. (Index ⌊p·n⌋ was one rank high: the p99 of
 * 100 samples was their maximum.)
 */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil(p * s.length)));
  return Math.round(s[rank - 1]! * 10) / 10;
}

function countFiles(dir: string): number {
  let n = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  } catch {
    return n;
  }
  return n;
}

function procField(pid: number, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).filter((fd) => { try { readlinkSync(`/proc/${pid}/fd/${fd}`); return true; } catch { return false; } }).length;
  } catch {
    return null;
  }
}

/** A GET's body over HTTPS, with the root user's bearer token (the metrics ask for it). */
function fetchText(url: string, ca: string): Promise<string> {
  return new Promise((res, rej) => {
    httpsGet(url, { ca, agent: false, headers: { authorization: `Bearer ${metricsToken(ACCESS_KEY, SECRET_KEY)}` } }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (d: Buffer) => chunks.push(d));
      r.on('end', () => res(Buffer.concat(chunks).toString('utf8')));
      r.on('error', rej);
    }).on('error', rej);
  });
}

function metric(text: string, name: string, filter?: RegExp): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (filter !== undefined && !filter.test(line)) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * The daemon's 5xx answers so far, from a metrics scrape; null when the scrape holds no request
 * counts (it failed, or was refused): unknown, not none.
 */
export function status5xxOf(scrape: string): number | null {
  if (metric(scrape, 's3d_requests_total') === null) return null;
  return metric(scrape, 's3d_requests_total', /status="5/) ?? 0;
}

class Soak {
  readonly expected = new Map<string, Expected>();
  readonly locks = new Set<string>();
  readonly ok: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  readonly mismatches: string[] = [];
  readonly latencies: Record<string, number[]> = {};
  abandonedUploads = 0;
  total = 0;

  constructor(readonly s3: S3Client, readonly ca: string, readonly agent: Agent, readonly startedAt: number) {}

  private mismatch(what: string): void {
    this.mismatches.push(what);
    process.stderr.write(`soak: MISMATCH ${what}\n`);
  }

  private async timed<T>(op: string, fn: () => Promise<T>): Promise<T | undefined> {
    const t = performance.now();
    try {
      const r = await fn();
      (this.latencies[op] ??= []).push(performance.now() - t);
      this.ok[op] = (this.ok[op] ?? 0) + 1;
      return r;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      const code = `${op}: ${e.name ?? 'Error'} ${e.$metadata?.httpStatusCode ?? ''}`.trim();
      this.errors[code] = (this.errors[code] ?? 0) + 1;
      if (this.errors[code]! <= 3) process.stderr.write(`soak: error ${code}: ${String((err as Error).message).slice(0, 200)}\n`);
      return undefined;
    }
  }

  lock(): Locked | null {
    for (let i = 0; i < 20; i++) {
      const bucket = BUCKETS[rnd(BUCKETS.length)]!;
      const key = `k/${rnd(KEYS_PER_BUCKET)}`;
      const id = `${bucket.name}/${key}`;
      if (!this.locks.has(id)) {
        this.locks.add(id);
        return { bucket, key, id };
      }
    }
    return null;
  }

  private readParams(id: string): Record<string, string> {
    return this.expected.get(id)?.sse === 'sse-c' ? SSEC : {};
  }

  async setup(): Promise<void> {
    for (const b of BUCKETS) {
      await this.s3.send(new CreateBucketCommand({ Bucket: b.name }));
      if (b.versioned) await this.s3.send(new PutBucketVersioningCommand({ Bucket: b.name, VersioningConfiguration: { Status: 'Enabled' } }));
    }
    // Lifecycle at work in the background: noncurrent versions and stale uploads expire.
    await this.s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: BUCKETS[0]!.name, LifecycleConfiguration: { Rules: [
      { ID: 'noncurrent', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }] } }));
    await this.s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: BUCKETS[3]!.name, LifecycleConfiguration: { Rules: [
      { ID: 'uploads', Status: 'Enabled', Filter: { Prefix: 'k/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Expiration: { Days: 30 } }] } }));
  }

  async put(l: Locked): Promise<void> {
    const data = objectBody(objectSize());
    const { sse, params } = sseChoice();
    if (await this.timed('put', () => this.s3.send(new PutObjectCommand({ Bucket: l.bucket.name, Key: l.key, Body: data, ...params })))) {
      this.expected.set(l.id, { md5: md5(data), size: data.length, sse });
      await this.pruneVersions(l);
    }
  }

  async get(l: Locked): Promise<void> {
    const exp = this.expected.get(l.id);
    const got = await this.timed('get', async () => {
      try {
        const o = await this.s3.send(new GetObjectCommand({ Bucket: l.bucket.name, Key: l.key, ...this.readParams(l.id) }));
        return Buffer.from(await o.Body!.transformToByteArray());
      } catch (err) {
        if (exp === undefined && (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
        throw err;
      }
    });
    if (got === undefined) return;
    if (exp === undefined && got !== null) this.mismatch(`GET ${l.id}: data for a deleted key`);
    if (exp !== undefined && got !== null && md5(got) !== exp.md5) this.mismatch(`GET ${l.id}: MD5 ${md5(got)}, acknowledged ${exp.md5}`);
  }

  async range(l: Locked): Promise<void> {
    const exp = this.expected.get(l.id);
    if (exp === undefined || exp.size < 10) return this.get(l);
    const a = rnd(exp.size - 1);
    const b = Math.min(exp.size - 1, a + rnd(300_000));
    const got = await this.timed('range', async () => {
      const o = await this.s3.send(new GetObjectCommand({ Bucket: l.bucket.name, Key: l.key, Range: `bytes=${a}-${b}`, ...this.readParams(l.id) }));
      return Buffer.from(await o.Body!.transformToByteArray());
    });
    if (got !== undefined && got.length !== b - a + 1) this.mismatch(`GET ${l.id} bytes=${a}-${b}: ${got.length} bytes`);
  }

  async head(l: Locked): Promise<void> {
    const exp = this.expected.get(l.id);
    const r = await this.timed('head', () => this.s3.send(new HeadObjectCommand({ Bucket: l.bucket.name, Key: l.key, ...this.readParams(l.id) })).catch((err: unknown) => {
      if (exp === undefined && (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
      throw err;
    }));
    if (exp === undefined && r) this.mismatch(`HEAD ${l.id}: found a deleted key`);
    if (r && exp !== undefined && r.ContentLength !== exp.size) this.mismatch(`HEAD ${l.id}: ${r.ContentLength} bytes, acknowledged ${exp.size}`);
  }

  async del(l: Locked): Promise<void> {
    if (await this.timed('delete', () => this.s3.send(new DeleteObjectCommand({ Bucket: l.bucket.name, Key: l.key })))) this.expected.delete(l.id);
  }

  async copy(src: Locked): Promise<void> {
    const exp = this.expected.get(src.id);
    const dst = this.lock();
    if (dst === null) return;
    try {
      if (exp === undefined || dst.id === src.id) return;
      const { sse, params } = sseChoice();
      const r = await this.timed('copy', () => this.s3.send(new CopyObjectCommand({
        Bucket: dst.bucket.name, Key: dst.key, CopySource: `${src.bucket.name}/${src.key}`, ...(exp.sse === 'sse-c' ? SSEC_SOURCE : {}), ...params,
      })));
      if (r) {
        this.expected.set(dst.id, { ...exp, sse });
        await this.pruneVersions(dst);
      }
    } finally {
      this.locks.delete(dst.id);
    }
  }

  async deleteMany(): Promise<void> {
    const ls: Locked[] = [];
    for (let i = 0; i < 4; i++) {
      const l = this.lock();
      if (l !== null) ls.push(l);
    }
    try {
      for (const b of BUCKETS) {
        const mine = ls.filter((l) => l.bucket === b);
        if (mine.length === 0) continue;
        const r = await this.timed('delete-objects', () => this.s3.send(new DeleteObjectsCommand({ Bucket: b.name, Delete: { Objects: mine.map((l) => ({ Key: l.key })) } })));
        if (r === undefined) continue;
        if ((r.Errors?.length ?? 0) > 0) this.mismatch(`DeleteObjects: ${JSON.stringify(r.Errors)}`);
        for (const l of mine) this.expected.delete(l.id);
      }
    } finally {
      for (const l of ls) this.locks.delete(l.id);
    }
  }

  async list(): Promise<void> {
    const b = BUCKETS[rnd(BUCKETS.length)]!;
    let token: string | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const r = await this.timed('list', () => this.s3.send(new ListObjectsV2Command({ Bucket: b.name, MaxKeys: 15, ContinuationToken: token })));
      token = r?.NextContinuationToken;
      if (token === undefined) return;
    }
  }

  async listVersions(): Promise<void> {
    const b = BUCKETS[rnd(2)]!;
    await this.timed('list-versions', () => this.s3.send(new ListObjectVersionsCommand({ Bucket: b.name, MaxKeys: 50, Prefix: `k/${rnd(KEYS_PER_BUCKET)}` })));
  }

  /** Keeps three noncurrent versions of a key, deleting older ones by version ID. */
  private async pruneVersions(l: Locked): Promise<void> {
    if (!l.bucket.versioned) return;
    const r = await this.timed('list-versions', () => this.s3.send(new ListObjectVersionsCommand({ Bucket: l.bucket.name, Prefix: l.key, MaxKeys: 100 })));
    if (r === undefined) return;
    const old = [...(r.Versions ?? []), ...(r.DeleteMarkers ?? [])].filter((v) => v.Key === l.key && v.IsLatest !== true);
    old.sort((x, y) => (x.LastModified!.getTime() - y.LastModified!.getTime()));
    for (const v of old.slice(0, Math.max(0, old.length - 3))) {
      await this.timed('delete-version', () => this.s3.send(new DeleteObjectCommand({ Bucket: l.bucket.name, Key: l.key, VersionId: v.VersionId })));
    }
  }

  async multipart(l: Locked, end: 'complete' | 'abort' | 'abandon'): Promise<void> {
    const { sse, params } = sseChoice();
    const created = await this.timed('create-upload', () => this.s3.send(new CreateMultipartUploadCommand({ Bucket: l.bucket.name, Key: l.key, ...params })));
    if (created === undefined) return;
    const upload = { Bucket: l.bucket.name, Key: l.key, UploadId: created.UploadId };
    const sizes = end === 'complete' && Math.random() < 0.15 ? [5 * 1024 * 1024, rnd(1024 * 1024) + 1] : [rnd(2 * 1024 * 1024) + 1];
    const parts: { PartNumber: number; ETag: string }[] = [];
    const bodies: Buffer[] = [];
    for (const [i, n] of sizes.entries()) {
      const data = n > POOL.length - 64 ? randomBytes(n) : objectBody(n);
      bodies.push(data);
      const r = await this.timed('upload-part', () => this.s3.send(new UploadPartCommand({ ...upload, PartNumber: i + 1, Body: data, ...(sse === 'sse-c' ? SSEC : {}) })));
      if (r === undefined) return;
      parts.push({ PartNumber: i + 1, ETag: r.ETag! });
    }
    if (end === 'abandon') {
      this.abandonedUploads++;
      return;
    }
    if (end === 'abort') {
      await this.timed('abort-upload', () => this.s3.send(new AbortMultipartUploadCommand(upload)));
      return;
    }
    if (await this.timed('complete-upload', () => this.s3.send(new CompleteMultipartUploadCommand({ ...upload, MultipartUpload: { Parts: parts }, ...(sse === 'sse-c' ? SSEC : {}) })))) {
      const all = Buffer.concat(bodies);
      this.expected.set(l.id, { md5: md5(all), size: all.length, sse });
      await this.pruneVersions(l);
    }
  }

  /** A presigned GET whose client hangs up part-way. */
  async cutGet(l: Locked): Promise<void> {
    const exp = this.expected.get(l.id);
    if (exp === undefined || exp.sse === 'sse-c' || exp.size < 150_000) return this.get(l);
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: l.bucket.name, Key: l.key }), { expiresIn: 300 });
    await this.timed('cut-get', () => new Promise<void>((res) => {
      const req = httpsGet(url, { ca: this.ca, agent: false }, (r) => {
        let got = 0;
        const limit = rnd(200_000);
        r.on('data', (d: Buffer) => {
          got += d.length;
          if (got > limit) req.destroy();
        });
        r.on('end', res);
        r.on('error', () => res());
      });
      req.on('error', () => res());
      req.on('close', () => res());
    }));
  }

  /** A presigned PUT whose client declares a length, sends part of it and hangs up: nothing may change. */
  async cutPut(l: Locked): Promise<void> {
    const n = rnd(1_800_000) + 200_000;
    const url = new URL(await getSignedUrl(this.s3, new PutObjectCommand({ Bucket: l.bucket.name, Key: l.key }), { expiresIn: 300 }));
    await this.timed('cut-put', () => new Promise<void>((res) => {
      const req = httpsRequest({ method: 'PUT', host: url.hostname, port: url.port, path: url.pathname + url.search, ca: this.ca, agent: false, headers: { 'content-length': n } });
      req.on('error', () => res());
      req.on('close', () => res());
      req.on('response', (r) => {
        this.mismatch(`cut PUT ${l.id} answered ${r.statusCode} before its body ended`);
        r.resume();
        res();
      });
      req.write(POOL.subarray(0, rnd(n - 1000)));
      setTimeout(() => req.destroy(), 50 + rnd(1500));
    }));
  }

  /** A presigned PUT over plain HTTPS, then a presigned GET of it. */
  async presigned(l: Locked): Promise<void> {
    const data = objectBody(objectSize());
    const putUrl = await getSignedUrl(this.s3, new PutObjectCommand({ Bucket: l.bucket.name, Key: l.key }), { expiresIn: 300 });
    const stored = await this.timed('presigned-put', () => new Promise<boolean>((res, rej) => {
      const req = httpsRequest(putUrl, { method: 'PUT', ca: this.ca, agent: this.agent, headers: { 'content-length': data.length } }, (r) => {
        r.resume();
        r.on('end', () => (r.statusCode === 200 ? res(true) : rej(Object.assign(new Error(`HTTP ${r.statusCode}`), { name: `HTTP${r.statusCode}` }))));
      });
      req.on('error', rej);
      req.end(data);
    }));
    if (stored !== true) return;
    this.expected.set(l.id, { md5: md5(data), size: data.length, sse: 'none' });
    await this.pruneVersions(l);
    const getUrl = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: l.bucket.name, Key: l.key }), { expiresIn: 300 });
    const got = await this.timed('presigned-get', () => new Promise<Buffer>((res, rej) => {
      httpsGet(getUrl, { ca: this.ca, agent: this.agent }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (d: Buffer) => chunks.push(d));
        r.on('end', () => (r.statusCode === 200 ? res(Buffer.concat(chunks)) : rej(new Error(`HTTP ${r.statusCode}`))));
        r.on('error', rej);
      }).on('error', rej);
    }));
    if (got !== undefined && md5(got) !== md5(data)) this.mismatch(`presigned GET ${l.id}: not what was stored`);
  }

  /** One operation, chosen by weight: about warp's mix plus multipart, copies, cut connections and presigned URLs. */
  async step(): Promise<void> {
    const keyed: [number, (l: Locked) => Promise<void>][] = [
      [22, (l) => this.put(l)], [18, (l) => this.get(l)], [8, (l) => this.range(l)], [10, (l) => this.head(l)], [5, (l) => this.del(l)],
      [5, (l) => this.copy(l)], [3, (l) => this.multipart(l, 'complete')], [2, (l) => this.multipart(l, 'abort')],
      // A few uploads left behind for lifecycle and for the metadata to carry, not one per second.
      [1, (l) => (this.abandonedUploads < 3 + (Date.now() - this.startedAt) / 30_000 ? this.multipart(l, 'abandon') : this.put(l))],
      [3, (l) => this.cutGet(l)], [3, (l) => this.cutPut(l)], [3, (l) => this.presigned(l)],
    ];
    const unkeyed: [number, () => Promise<void>][] = [[2, () => this.deleteMany()], [5, () => this.list()], [4, () => this.listVersions()]];
    const total = [...keyed, ...unkeyed].reduce((s, [w]) => s + w, 0);
    let r = Math.random() * total;
    for (const [w, f] of unkeyed) if ((r -= w) < 0) return f();
    const l = this.lock();
    if (l === null) return new Promise((res) => setTimeout(res, 10));
    try {
      for (const [w, f] of keyed) if ((r -= w) < 0) return await f(l);
      return await keyed[0]![1](l);
    } finally {
      this.locks.delete(l.id);
    }
  }

  /** Reads every key back as last acknowledged; returns how many differ. */
  async finalCheck(): Promise<number> {
    let bad = 0;
    for (const [id, exp] of this.expected) {
      const [bucket, ...rest] = id.split('/');
      try {
        const o = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: rest.join('/'), ...this.readParams(id) }));
        if (md5(Buffer.from(await o.Body!.transformToByteArray())) !== exp.md5) throw new Error('MD5 differs');
      } catch (err) {
        bad++;
        this.mismatch(`final read of ${id}: ${(err as Error).name} ${(err as Error).message}`);
      }
    }
    return bad;
  }
}

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number\n${USAGE}`);
  return v;
}

function runVerify(dataDir: string, kmsSecret: string): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [DAEMON_MAIN, 'verify', dataDir, '--deep'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', S3_KMS_SECRET_KEY: kmsSecret }, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      res({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), out: `${stdout}${stderr}`.trim() }));
  });
}

export async function soak(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const minutes = flag(args, '--minutes', 30);
  const concurrency = Math.floor(flag(args, '--concurrency', 3));
  const sampleMs = flag(args, '--sample-seconds', Math.min(60, Math.max(1, minutes * 6))) * 1000;
  const outIdx = args.indexOf('--out');
  const outDir = resolve(outIdx >= 0 ? args[outIdx + 1]! : 'bench/results');
  const say = (line: string): void => void process.stdout.write(`soak: ${line}\n`);

  const root = mkdtempSync(join(tmpdir(), 's3d-soak-'));
  const dataDir = join(root, 'data');
  const tls = createSelfSignedCert(join(root, 'certs'));
  const kmsSecret = `soak-key:${randomBytes(32).toString('base64')}`;
  let daemon: DaemonHandle | undefined;
  const agent = new Agent({ ca: tls.certPem, keepAlive: true, maxSockets: 32 });
  let starting: Promise<DaemonHandle> | undefined;
  const stopper = stopOnSignal(say, async () => {
    agent.destroy();
    const d = daemon ?? (await starting?.catch(() => undefined));
    await d?.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });
  try {
    // As shipped: the daemon's defaults, no malloc tuning (the bench's launcher sets it for itself).
    const tuning = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('S3_')).map(([k, v]) => [k, v ?? '']));
    daemon = await (starting = startDaemon({
      label: 's3d (soak)', dataDir, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, tls: { certsDir: tls.dir, certPem: tls.certPem },
      kmsEnv: { S3_KMS_SECRET_KEY: kmsSecret }, baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', S3_LIFECYCLE_SCAN_INTERVAL: '20s', ...tuning }, readyTimeoutMs: 30_000,
    }));
    const pid = daemon.server().pid;
    const s3 = new S3Client({
      endpoint: daemon.endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      requestHandler: { httpsAgent: agent, requestTimeout: 60_000 },
    });
    const started = Date.now();
    const run = new Soak(s3, tls.certPem, agent, started);
    await run.setup();
    say(`${minutes} min at concurrency ${concurrency} against ${daemon.endpoint} (pid ${pid}), data in ${dataDir}`);

    const samples: Sample[] = [];
    const sample = async (): Promise<Sample> => {
      const m = await fetchText(`${daemon!.endpoint}/minio/v2/metrics/cluster`, tls.certPem).catch(() => '');
      const heap = metric(m, 's3d_nodejs_heap_size_used_bytes');
      const rss = readRssMiB(pid);
      const s: Sample = {
        minute: Math.round((Date.now() - started) / 6000) / 10,
        rssMiB: rss === null ? null : Math.round(rss),
        threads: procField(pid, 'Threads'), fds: fdCount(pid),
        heapMiB: heap === null ? null : Math.round(heap / 2 ** 20),
        status5xx: status5xxOf(m),
        dataFiles: countFiles(join(dataDir, '.s3d', 'objects')), tmpFiles: countFiles(join(dataDir, '.s3d', 'tmp')),
      };
      samples.push(s);
      say(`${s.minute} min: ${run.total} ops, RSS ${s.rssMiB} MiB, heap ${s.heapMiB} MiB, ${s.fds} fds, ${s.dataFiles} data files, ${Object.keys(run.errors).length} error kinds, ${run.mismatches.length} mismatches, ${s.status5xx} 5xx`);
      return s;
    };
    const timer = setInterval(() => void sample(), sampleMs);
    const end = started + minutes * 60_000;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await run.step();
        run.total++;
        await new Promise((res) => setTimeout(res, 60));
      }
    }));
    clearInterval(timer);
    // The last sample is this one (one the timer started may still be on its way).
    const last = await sample();
    const finalBad = await run.finalCheck();
    s3.destroy();
    await daemon.stop();
    daemon = undefined;
    const verify = await runVerify(dataDir, kmsSecret);
    const errors = Object.values(run.errors).reduce((a, b) => a + b, 0);
    const steady = samples.slice(Math.floor(samples.length / 4));
    const result = {
      at: new Date(started).toISOString(), minutes, concurrency, operations: run.total, ok: run.ok, errors: run.errors,
      mismatches: run.mismatches.slice(0, 50), mismatchCount: run.mismatches.length, status5xx: last.status5xx,
      liveKeys: run.expected.size, finalCheckFailures: finalBad, abandonedUploads: run.abandonedUploads,
      p50ms: Object.fromEntries(Object.entries(run.latencies).map(([op, v]) => [op, percentile(v, 0.5)])),
      p99ms: Object.fromEntries(Object.entries(run.latencies).map(([op, v]) => [op, percentile(v, 0.99)])),
      rssMiB: { first: samples[0]?.rssMiB ?? null, steadyMin: Math.min(...steady.map((s) => s.rssMiB ?? Infinity)), max: Math.max(...samples.map((s) => s.rssMiB ?? 0)), last: last.rssMiB },
      verify: { exitCode: verify.code, summary: verify.out.split('\n').filter((l) => l.startsWith('s3d verify')).pop() ?? verify.out.slice(-500) },
      samples,
    };
    const passed = errors === 0 && run.mismatches.length === 0 && last.status5xx === 0 && finalBad === 0 && verify.code === 0;
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `soak-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify({ ...result, passed }, null, 1)}\n`);
    say(`${run.total} operations, ${errors} errors, ${run.mismatches.length} mismatches, ${last.status5xx} 5xx; ${run.expected.size} live keys read back, ${finalBad} wrong`);
    say(`RSS ${result.rssMiB.first} MiB at the first sample, ${result.rssMiB.steadyMin}–${result.rssMiB.max} MiB after the first quarter, ${result.rssMiB.last} MiB at the end`);
    say(`verify --deep: exit ${verify.code}: ${result.verify.summary}`);
    say(`${passed ? 'PASSED' : 'FAILED'}; results in ${file}`);
    return passed ? 0 : 1;
  } finally {
    // After a signal its handler cleans up and exits.
    if (stopper.signal() === undefined) {
      stopper.dispose();
      agent.destroy();
      if (daemon !== undefined) await daemon.stop().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    }
  }
}
