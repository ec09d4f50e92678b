// `node dist/bench/mpu-stall.js [--parts N] [--sse] [--profile [--top N]]`: how long a CompleteMultipartUpload
// and an AbortMultipartUpload of an N-part upload (10,000 by default) hold the daemon's event loop.
// A measurement script, not a test: it starts the built daemon, uploads N parts of a few bytes
// each (S3_INLINE_THRESHOLD=0: each part its own data file, as real parts are), and times HeadBucket
// requests sent one after another, 2 ms apart, while the operation runs: every other request
// waits out a synchronous stretch, so the slowest probe is the longest stretch (plus the probe's
// own ~0.5-1 ms round trip, printed as the baseline; the client shares the machine, and a probe
// sometimes takes far longer than any turn of the daemon's event loop: those turns are timed in
// the daemon too, and printed at the end). S3 refuses to complete parts under 5 MiB:
// for the completion, the daemon is stopped and the upload's part records are given a size of
// 5 MiB in LMDB (their data files untouched; the completion never reads them), then started again.
// With --profile the daemon's main thread is profiled (the inspector's profiler, started by an
// entry point loaded before the daemon) and its longest busy stretches are broken down by function
// (`--top N` of them, start-up's among them). A stretch is a run of samples without idle: turns
// taken back to back (a loop doing a slice a turn) count as one, the I/O between them not seen.

import { HeadBucketCommand, CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand, AbortMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { MAIN, startDaemon, type TestDaemon } from '../test/helpers/daemon.js';

/**
 * The entry point the daemon is started with after the parts are uploaded: it notes the daemon's
 * long turns of the event loop (a 1 ms interval timer's gaps over 5 ms, each with the wall-clock
 * time it ended) and, with --profile, profiles its main thread (NODE_OPTIONS may not carry
 * --cpu-prof: the inspector's profiler, started before the daemon loads); both written as it exits.
 */
function measuredMain(dir: string, profile: boolean): string {
  const file = join(dir, 'measured-main.mjs');
  const profiler = `import { Session } from 'node:inspector';
const s = new Session();
s.connect();
s.post('Profiler.enable');
s.post('Profiler.setSamplingInterval', { interval: 200 });
s.post('Profiler.start');
process.on('exit', () => s.post('Profiler.stop', (err, r) => { if (!err) writeFileSync(${JSON.stringify(join(dir, 'main.cpuprofile'))}, JSON.stringify(r.profile)); }));
`;
  writeFileSync(
    file,
    `import { writeFileSync } from 'node:fs';
const turns = [];
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last > 5) turns.push([Date.now(), now - last]);
  last = now;
}, 1).unref();
process.on('exit', () => writeFileSync(${JSON.stringify(join(dir, 'turns.json'))}, JSON.stringify(turns)));
${profile ? profiler : ''}await import(${JSON.stringify(MAIN)});
`,
  );
  return file;
}

/** The longest turns of the event loop measuredMain noted that overlap wall-clock times `from` to `to`. */
function longestTurns(turns: ReadonlyArray<[number, number]>, from: number, to: number): string {
  const ms = turns.filter(([at, gap]) => at >= from && at - gap <= to).map(([, gap]) => gap).sort((a, b) => b - a);
  return ms.length === 0 ? 'none over 5 ms' : `${ms.slice(0, 4).map((m) => m.toFixed(1)).join(', ')} ms${ms.length > 4 ? ` (${ms.length} over 5 ms)` : ''}`;
}

const argv = process.argv.slice(2);
const flag = (f: string): boolean => argv.includes(f);
const PARTS = Number(argv[argv.indexOf('--parts') + 1] ?? 10_000) || 10_000;
const SSE = flag('--sse');
const PROFILE = flag('--profile');
/** How many of the longest stretches --profile breaks down (`--top N`; start-up's come first). */
const TOP = argv.includes('--top') ? Number(argv[argv.indexOf('--top') + 1]) || 3 : 3;
const MIB5 = 5 * 1024 * 1024;

interface Probe {
  at: number;
  ms: number;
}

/** HeadBucket one after another, `gapMs` apart, until stopped. */
function probing(s3: S3Client, bucket: string, gapMs = 2): { stop(): Promise<Probe[]> } {
  const out: Probe[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const at = performance.now();
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      out.push({ at, ms: performance.now() - at });
      await new Promise((r) => setTimeout(r, gapMs));
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
      return out;
    },
  };
}

async function uploadWithParts(s3: S3Client, bucket: string, key: string): Promise<{ id: string; parts: Array<{ PartNumber: number; ETag: string }> }> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...(SSE ? { ServerSideEncryption: 'AES256' as const } : {}) }));
  const parts: Array<{ PartNumber: number; ETag: string }> = [];
  let next = 1;
  const worker = async (): Promise<void> => {
    while (next <= PARTS) {
      const n = next++;
      const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: `part ${n}` }));
      parts[n - 1] = { PartNumber: n, ETag: r.ETag! };
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return { id: UploadId!, parts };
}

/** Gives every part record of `uploadId` a size of 5 MiB, the daemon stopped. */
async function bigParts(dataDir: string, uploadId: string): Promise<void> {
  const root = open({ path: join(dataDir, '.s3d', 'meta'), compression: false, maxDbs: 16 } as never);
  const parts = root.openDB({ name: 'parts', keyEncoding: 'binary', useRecords: false } as never);
  const prefix = Buffer.from(`${uploadId}\0`);
  await parts.transaction(() => {
    for (const { key, value } of parts.getRange({})) {
      const k = key as Buffer;
      if (!k.subarray(0, prefix.length).equals(prefix)) continue;
      void parts.put(k, { ...(value as object), size: MIB5 });
    }
  });
  await root.close();
}

/** This process's own long turns (as measuredMain notes the daemon's): a probe waits them out too. */
const clientTurns: Array<[number, number]> = [];
{
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 5) clientTurns.push([Date.now(), now - last]);
    last = now;
  }, 1).unref();
}

function summary(probes: Probe[], from: number, to: number, after: number): string {
  const during = probes.filter((p) => p.at + p.ms >= from && p.at <= to).map((p) => p.ms);
  const later = probes.filter((p) => p.at > to && p.at <= after).map((p) => p.ms);
  const before = probes.filter((p) => p.at + p.ms < from).map((p) => p.ms).sort((a, b) => a - b);
  const base = before[Math.floor(before.length / 2)] ?? NaN;
  const max = Math.max(...during);
  return `op ${(to - from).toFixed(0)} ms; probes during: ${during.length}, slowest ${max.toFixed(1)} ms, over 10 ms: ${during.filter((m) => m > 10).length}; in the 1.5 s after: slowest ${Math.max(...later).toFixed(1)} ms, over 10 ms: ${later.filter((m) => m > 10).length} (baseline median ${base.toFixed(2)} ms)`;
}

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** The longest run of non-idle samples of the profile with the most samples, by function (self and inclusive). */
function longestStretches(dir: string, count = 3): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const profiles = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { nodes: CpuNode[]; samples: number[]; timeDeltas: number[] });
  const main = profiles.sort((a, b) => b.samples.length - a.samples.length)[0]!;
  const nodes = new Map(main.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of main.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: CpuNode): string => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
  const idle = (id: number): boolean => nodes.get(id)!.callFrame.functionName === '(idle)';
  const runs: Array<{ start: number; end: number; ms: number }> = [];
  let start = -1;
  let us = 0;
  for (let i = 0; i <= main.samples.length; i++) {
    const busy = i < main.samples.length && !idle(main.samples[i]!);
    if (busy) {
      if (start < 0) ((start = i), (us = 0));
      us += main.timeDeltas[i + 1] ?? 0;
    } else if (start >= 0) {
      runs.push({ start, end: i, ms: us / 1000 });
      start = -1;
    }
  }
  for (const run of runs.sort((a, b) => b.ms - a.ms).slice(0, count)) {
    const self = new Map<string, number>();
    const incl = new Map<string, number>();
    for (let i = run.start; i < run.end; i++) {
      const dt = (main.timeDeltas[i + 1] ?? 0) / 1000;
      const n = nodes.get(main.samples[i]!)!;
      self.set(name(n), (self.get(name(n)) ?? 0) + dt);
      const seen = new Set<string>();
      for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
        const nm = name(nodes.get(id)!);
        if (seen.has(nm)) continue;
        seen.add(nm);
        incl.set(nm, (incl.get(nm) ?? 0) + dt);
      }
    }
    const top = (m: Map<string, number>, k: number): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([f, ms]) => `    ${ms.toFixed(1).padStart(6)} ms  ${f}`).join('\n');
    console.log(`  stretch of ${run.ms.toFixed(1)} ms\n   self:\n${top(self, 12)}\n   inclusive (s3d and lmdb frames):\n${top(new Map([...incl].filter(([f]) => /daemon|lmdb|msgpackr/.test(f))), 25)}`);
  }
}

async function main(): Promise<void> {
  const profDir = mkdtempSync(join(tmpdir(), 's3d-mpu-prof-'));
  const env: Record<string, string> = { S3_INLINE_THRESHOLD: '0' };
  let d: TestDaemon = await startDaemon({ env });
  const dataDir = d.dataDir;
  let s3 = d.s3();
  const bucket = 'mpu-stall';
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const t0 = performance.now();
  const toAbort = await uploadWithParts(s3, bucket, 'aborted');
  const toComplete = await uploadWithParts(s3, bucket, 'completed');
  console.log(`uploaded 2 × ${PARTS} parts in ${((performance.now() - t0) / 1000).toFixed(1)} s${SSE ? ' (SSE-S3)' : ''}`);
  await d.stop();
  await bigParts(dataDir, toComplete.id);
  d = await startDaemon({ env, dataDir, main: measuredMain(profDir, PROFILE) });
  s3 = d.s3();
  const other = d.s3();
  await s3.send(new HeadBucketCommand({ Bucket: bucket }));

  const windows: Array<{ what: string; from: number; to: number }> = [];
  for (const [what, run] of [
    ['CompleteMultipartUpload', () => s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'completed', UploadId: toComplete.id, MultipartUpload: { Parts: toComplete.parts } }))],
    ['AbortMultipartUpload', () => s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'aborted', UploadId: toAbort.id }))],
  ] as const) {
    const probe = probing(other, bucket);
    await new Promise((r) => setTimeout(r, 300));
    const from = performance.now();
    const wallFrom = Date.now();
    await run();
    const to = performance.now();
    windows.push({ what, from: wallFrom, to: Date.now() });
    // The part records go after the answer (a batch per commit): the probes go on meanwhile.
    await new Promise((r) => setTimeout(r, 1500));
    console.log(`${what}: ${summary(await probe.stop(), from, to, to + 1500)}`);
  }
  await d.stop();
  // A probe's time includes its client's (the same machine, another process): the daemon's own
  // longest turns tell what any request waited for at most.
  const turns = JSON.parse(readFileSync(join(profDir, 'turns.json'), 'utf8')) as Array<[number, number]>;
  for (const w of windows) {
    console.log(`${w.what}: the daemon's longest event-loop turns during: ${longestTurns(turns, w.from, w.to)}; in the 1.5 s after: ${longestTurns(turns, w.to + 1, w.to + 1500)}; this client's during: ${longestTurns(clientTurns, w.from, w.to)}`);
  }
  if (PROFILE) {
    console.log('daemon main thread, longest busy stretches (whole run after the restart):');
    longestStretches(profDir, TOP);
  }
  rmSync(profDir, { recursive: true, force: true });
  d.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
