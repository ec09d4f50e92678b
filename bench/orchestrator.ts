// The bench from start to finish: start the environment, verify, measure (RSS, baselines, KMS,
// A/B rounds, one-off runs), compute the targets and write the results. Entry point: run.ts.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureCrypto } from './baselines/crypto.js';
import { measureDisk, measureNewFiles } from './baselines/disk.js';
import { measureLmdb } from './baselines/lmdb.js';
import { CliError, parseCli, USAGE } from './cli.js';
import type { BenchOptions } from './cli.js';
import { MALLOC_ENV, startEnvironment, tuningEnv } from './environment.js';
import { stopOnSignal } from './interrupt.js';
import type { BenchEnvironment } from './environment.js';
import { emptyKmsFigures, measureKms } from './kms/measure.js';
import { LoadPool } from './load/driver.js';
import { newSsecKey } from './load/sse-headers.js';
import { buildPlan, MODES, serverFor } from './plan.js';
import type { Plan, RunSpec } from './plan.js';
import { Progress } from './progress.js';
import { aggregateRuns, isNullServer } from './report/aggregate.js';
import { fmt, renderMarkdown, verdict } from './report/markdown.js';
import { renderSvg } from './report/svg.js';
import { latestQuickBlock, replaceBlock } from './report/docs-block.js';
import { summarizeProfile } from './report/profile.js';
import type { ProfileSummary } from './report/profile.js';
import type { Baselines, BenchResults, ClientCeiling, KmsFigures, RunResult } from './report/types.js';
import { measurePeakRss } from './rss.js';
import { executeRun, prefillSet } from './runner.js';
import type { RunContext } from './runner.js';
import { verifyRoundTrip } from './setup.js';
import { median } from './stats/summary.js';
import { computeRatios } from './targets.js';
import type { TargetName } from './targets.js';
import { machineInfo } from './sys/proc.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function timestamp(d: Date): string {
  return d.toISOString().replace(/:/g, '-').replace(/\.\d{3}Z$/, 'Z');
}

function clientCeilings(runs: readonly RunResult[]): ClientCeiling[] {
  return aggregateRuns(runs)
    .filter((r) => isNullServer(r.server))
    .map((r) => {
      const same = runs.filter((x) => x.id === r.id);
      const ns = median(same.map((x) => x.cpu.clientNsPerByte ?? Number.NaN));
      return { id: r.id, opsPerSec: r.opsPerSec, mbPerSec: r.mbPerSec, clientUsPerOp: r.clientUsPerOp, clientNsPerByte: Number.isFinite(ns) ? ns : null, serverUsPerOp: r.serverUsPerOp };
    });
}

interface Collected {
  runs: RunResult[];
  notes: string[];
  baselines: Baselines;
  kms: KmsFigures;
  peakRssMiB: number | null;
  missing: Partial<Record<TargetName, string>>;
}

async function measureBaselines(plan: Plan, env: BenchEnvironment, progress: Progress, c: Collected): Promise<void> {
  const b = plan.baselines;
  progress.say('baselines: disk write + fdatasync, fsyncs/s');
  try {
    c.baselines.disk = measureDisk(env.dataRoot, b.diskBytes, b.fsyncSeconds);
    const ingest = await measureNewFiles(env.dataRoot, Math.max(1, b.fsyncSeconds));
    c.baselines.disk.newFiles1MiBPerSec = ingest.perSec;
    c.baselines.disk.newFileCpuMs = ingest.cpuMs;
  } catch (err) {
    c.notes.push(`disk baseline failed: ${(err as Error).message}`);
  }
  progress.say('baselines: LMDB batched / grouped / durable puts');
  try {
    c.baselines.lmdb = await measureLmdb(env.dataRoot, b.lmdbSeconds);
  } catch (err) {
    c.notes.push(`LMDB baseline failed: ${(err as Error).message}`);
  }
  progress.say('baselines: DARE sealing one thread vs the Piscina pool, pool open, MD5, SHA-256 (runCryptoMicro)');
  try {
    const { crypto, backgroundCpu } = await measureCrypto(b.cryptoSeconds, b.cryptoRounds);
    const bg = median(backgroundCpu);
    c.baselines.crypto = { ...crypto, ...(Number.isFinite(bg) ? { backgroundCpu: Number(bg.toFixed(3)) } : {}) };
    if (bg > 0.15) c.notes.push(`runCryptoMicro saw ${Math.round(bg * 100)} % background CPU: its figures are from a noisy machine.`);
  } catch (err) {
    c.baselines.cryptoNote = (err as Error).message;
    c.missing.pool_vs_one_thread = `runCryptoMicro failed: ${(err as Error).message}`;
  }
}

function runnable(spec: RunSpec, ctx: RunContext, skipped: Set<string>, c: Collected): boolean {
  if (ctx.servers.has(spec.server)) return true;
  if (!skipped.has(spec.server)) {
    skipped.add(spec.server);
    c.notes.push(`no ${spec.server} server in this run: its runs were skipped.`);
  }
  return false;
}

async function collect(opts: BenchOptions, plan: Plan, env: BenchEnvironment, ctx: RunContext, progress: Progress): Promise<Collected> {
  const c: Collected = {
    runs: [],
    notes: [...env.notes],
    baselines: { crypto: null, disk: null, lmdb: null, clientCeiling: [] },
    kms: emptyKmsFigures('not run'),
    peakRssMiB: null,
    missing: {},
  };
  const hasDaemon = ctx.servers.has('daemon');

  // Correctness first, through the AWS SDK: a fast wrong answer is not a result.
  for (const sse of MODES) {
    const kind = serverFor(sse);
    const client = env.clients.get(kind);
    const server = ctx.servers.get(kind);
    if (client === undefined || server === undefined) continue;
    const v = await verifyRoundTrip(client, server.bucket, sse, ctx.ssec);
    progress.say(`verify ${sse} on ${kind}: ${v.ok ? 'ok' : `FAILED (${v.error})`}; ETag is the MD5: ${v.etagIsMd5 ?? 'n/a'}`);
    if (!v.ok) c.notes.push(`correctness check failed for ${sse}: ${v.error ?? ''}`);
    if ((sse === 'none' || sse === 'sse-s3') && v.etagIsMd5 === false) c.notes.push(`${sse} PUT did not return the content MD5 as its ETag (sse_put_overhead assumes both sides compute it).`);
  }

  if (hasDaemon && ctx.servers.get('daemon')?.pid() != null) {
    progress.say(`peak RSS: one ${plan.rssObjectBytes / 2 ** 30} GiB SSE-S3 upload (multipart, 64 MiB parts) and GET (also warms the page cache)`);
    const rss = await measurePeakRss(ctx, plan.rssObjectBytes);
    c.peakRssMiB = rss.peakRssMiB;
    progress.say(`peak RSS ${fmt(rss.peakRssMiB)} MiB (before ${fmt(rss.rssBeforeMiB)} MiB); PUT ${fmt(rss.putGBps)} GB/s, GET ${fmt(rss.getGBps)} GB/s${rss.note ? `; ${rss.note}` : ''}`);
    if (rss.note !== undefined) c.notes.push(`peak RSS: ${rss.note}`);
  } else {
    c.missing.peak_rss_mib = 'no daemon process to watch (with --endpoint, give --server-pid)';
  }

  await measureBaselines(plan, env, progress, c);

  const skipped = new Set<string>();
  for (const set of plan.prefill) {
    if (!ctx.servers.has(set.server)) continue;
    const m = await prefillSet(ctx, set);
    progress.say(`prefill ${set.count} × ${set.prefix} on ${set.server}: ${m.total.ops} ok, ${m.total.errors} errors${m.errorSample ? ` (${m.errorSample})` : ''}`);
    if (m.total.errors > 0) c.notes.push(`prefill of ${set.prefix} on ${set.server} had ${m.total.errors} errors: ${m.errorSample ?? ''}`);
  }

  const kesDaemon = env.daemons.get('daemon-kes');
  if (kesDaemon !== undefined && env.kes !== null) {
    progress.say(`KMS: ${plan.kes.objects} SSE-S3 PUTs via KES, hot GETs, restart, cold GETs, hot GETs`);
    try {
      c.kms = await measureKms(ctx, kesDaemon, env.kes, plan.kes.objects, plan.kes.sizeBytes);
      const k = c.kms;
      progress.say(`KMS: ${fmt(k.callsPerPut)} calls/PUT, ${fmt(k.callsPer1000HotGets)} per 1000 hot GETs, ${fmt(k.callsPer1000ColdGets)} per 1000 cold GETs`);
    } catch (err) {
      c.kms = emptyKmsFigures(`KES measurement failed: ${(err as Error).message}`);
    }
  } else {
    c.kms = emptyKmsFigures(opts.endpoint !== undefined ? 'not available with --endpoint' : 'no KES-backed daemon in this run');
  }
  if (!c.kms.available) c.missing.kes_calls_per_put = c.missing.kes_calls_per_1000_hot_gets = c.kms.note;

  const timed = [...plan.rounds.flat(), ...plan.matrix].filter((s) => runnable(s, ctx, skipped, c));
  progress.setTotal(timed.length);
  const oneOff = timed.filter((t) => t.round === null).length;
  progress.say(`${timed.length} timed runs (${timed.length - oneOff} in ${plan.rounds.length} A/B rounds, then ${oneOff} one-off runs)`);
  for (const spec of timed) {
    try {
      const r = await executeRun(ctx, spec);
      c.runs.push(r);
      progress.run(r);
    } catch (err) {
      c.notes.push(`run ${spec.id} failed: ${(err as Error).message}`);
      progress.say(`run ${spec.id} FAILED: ${(err as Error).message}`);
    }
  }
  c.baselines.clientCeiling = clientCeilings(c.runs);
  for (const r of c.runs) {
    if (r.ops === 0) c.notes.push(`${r.id}: no operation finished inside the ${r.windowS} s window${r.errors > 0 ? ` (${r.errors} errors: ${r.errorSample ?? ''})` : ' (all still in flight)'}.`);
  }
  if (c.runs.some((r) => r.byOp['HEAD'] !== undefined && r.byOp['HEAD'].errors > 0)) {
    c.notes.push('HEAD requests failed in the mixed workload (see its error sample).');
  }
  return c;
}

function readProfiles(dir: string): ProfileSummary[] {
  const out: ProfileSummary[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile')).sort()) {
    try {
      const summary = summarizeProfile(join(dir, f), JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown);
      if (summary !== null && summary.totalMs > 0) out.push(summary);
    } catch {
      // a profile cut short by a killed daemon is skipped
    }
  }
  return out.sort((a, b) => b.totalMs * b.busyShare - a.totalMs * a.busyShare);
}

function writeOutputs(outDir: string, results: BenchResults): string[] {
  mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(results, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
  const files = [join(outDir, `${timestamp(new Date(results.startedAt))}.json`), join(outDir, 'latest.json'), join(outDir, 'latest.md'), join(outDir, 'latest.svg')];
  writeFileSync(files[0]!, json);
  writeFileSync(files[1]!, json);
  writeFileSync(files[2]!, renderMarkdown(results, 'latest.svg'));
  writeFileSync(files[3]!, renderSvg(results));
  return files;
}

export async function runBench(argv: readonly string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseCli(argv, join(REPO_ROOT, 'bench', 'results'));
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = new Date();
  const progress = new Progress();
  const mode = opts.quick ? 'quick' : 'full';
  const plan = buildPlan(mode, opts.rounds);
  progress.say(`s3d bench, ${mode} mode: starting the null servers${opts.endpoint === undefined ? ', three daemons (static key, TLS, KES)' : ` and targeting ${opts.endpoint}`}`);
  const envStarting = startEnvironment(opts, (l) => progress.say(l));
  let pool: LoadPool | undefined;
  let closing: Promise<void> | undefined;
  // Once: on a signal and at the end alike. Waits for servers still starting, so a signal during
  // start-up leaves no daemon or data directory behind.
  const cleanup = (): Promise<void> =>
    (closing ??= (async () => {
      await pool?.close();
      const started = await envStarting.catch(() => undefined); // a failed start cleaned up after itself
      await started?.close();
    })());
  const stopper = stopOnSignal((l) => progress.say(l), cleanup);
  // A start that failed of a Ctrl-C (the servers got it too) is the signal handler's to end.
  const env = await envStarting.catch((err: unknown) => {
    if (stopper.signal() === undefined) throw err;
    return undefined;
  });
  // A signal during start-up: the cleanup is stopping these servers and removing the temporary
  // data; measuring on would write into the directory it removes (a baseline's files), and the
  // signal handler exits once it is done.
  if (env === undefined || stopper.signal() !== undefined) return new Promise<number>(() => undefined);
  pool = new LoadPool(opts.workers);
  let results: BenchResults;
  try {
    const ctx: RunContext = {
      pool,
      servers: env.servers,
      credentials: env.credentials,
      ssec: newSsecKey(),
      warmupMs: opts.warmupS * 1000,
      measureMs: opts.measureS * 1000,
    };
    const c = await collect(opts, plan, env, ctx, progress);
    const ratios = computeRatios({ runs: c.runs, baselines: c.baselines, kms: c.kms, peakRssMiB: c.peakRssMiB, missing: c.missing });
    results = {
      schema: 1,
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      elapsedS: progress.elapsedS(),
      machine: machineInfo(env.dataRoot),
      settings: {
        mode,
        rounds: opts.rounds,
        warmupS: opts.warmupS,
        measureS: opts.measureS,
        clientWorkers: opts.workers,
        mallocEnv: { ...MALLOC_ENV },
        target: opts.endpoint === undefined ? 'spawned' : 'endpoint',
        ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
        ...gitState(),
        daemonEnv: tuningEnv(),
      },
      baselines: c.baselines,
      runs: c.runs,
      kms: c.kms,
      ratios,
      notes: c.notes,
    };
  } finally {
    await cleanup();
  }
  // The daemons write their profiles as they exit, i.e. during cleanup.
  if (env.profileDir !== undefined) results.profiles = readProfiles(env.profileDir);
  const files = writeOutputs(opts.outDir, results);
  // A standard quick run (its own daemons, default timing and settings) into the default folder
  // also refreshes the table in docs/performance.md; README.md carries the same block (its chart
  // path is relative to the repository root). Any other run leaves the published tables alone.
  const standard = opts.endpoint === undefined && !opts.customTiming && Object.keys(tuningEnv()).length === 0;
  if (opts.quick && standard && resolve(opts.outDir) === join(REPO_ROOT, 'bench', 'results')) {
    for (const [doc, chart] of [
      [join(REPO_ROOT, 'docs', 'performance.md'), '../bench/results/latest.svg'],
      [join(REPO_ROOT, 'README.md'), 'bench/results/latest.svg'],
    ] as const) {
      if (!existsSync(doc)) continue;
      const updated = replaceBlock(readFileSync(doc, 'utf8'), latestQuickBlock(results, chart));
      if (updated !== undefined) {
        writeFileSync(doc, updated);
        files.push(doc);
      }
    }
  }
  process.stdout.write(`\ntargets (${mode} run, ${fmt(results.elapsedS)} s):\n`);
  for (const [name, e] of Object.entries(results.ratios)) {
    process.stdout.write(`  ${name.padEnd(28)} ${fmt(e.value).padStart(8)}  goal ${e.comparison} ${String(e.target).padEnd(5)} ${verdict(e).replaceAll('*', '')}\n`);
  }
  const noisy = Object.entries(results.ratios).filter(([, e]) => e.noisy === true).map(([n]) => n);
  if (noisy.length > 0) {
    process.stdout.write(`\nWARNING: other processes used > 15 % of the machine during every measurement of ${noisy.join(', ')}: those verdicts are inconclusive; rerun on a quiet machine.\n`);
  }
  if (opts.quick && !standard) process.stdout.write('\n(not a standard run: docs/performance.md and README.md were left as they were)\n');
  process.stdout.write(`\nwrote ${files.join(', ')}\n`);
  return 0;
}

/** The commit measured, and whether tracked files differ from it; nothing outside a git checkout. */
function gitState(): { git?: { commit: string; dirty: boolean } } {
  try {
    const commit = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return { git: { commit, dirty } };
  } catch {
    return {};
  }
}
