// `npm run bench:probe -- get 4KiB sse-s3 [--c 64] [--seconds 5] [--profile] [--sink]`: one
// workload against one freshly started server, for profiling a single path while optimizing.
// It prints ops/s, server CPU per op and, with --profile, the daemon's top self-time functions.
// The targets come only from `npm run bench`; this is the magnifying glass, not the verdict.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEnvironment } from './environment.js';
import { stopOnSignal } from './interrupt.js';
import { LoadPool } from './load/driver.js';
import { newSsecKey } from './load/sse-headers.js';
import { serverFor } from './plan.js';
import { summarizeProfile } from './report/profile.js';
import type { ServerKind, SseMode, WorkloadKind } from './report/types.js';
import { countRun, executeRun, type RunContext } from './runner.js';
import { objectPrefix, parseSizeLabel } from './sizes.js';

const USAGE = 'usage: npm run bench:probe -- <put|get|mixed> <size, e.g. 4KiB> <none|sse-s3|sse-kes|sse-c> [--c N] [--seconds S] [--profile] [--sink]\n' +
  '       [--endpoint URL --access-key KEY --secret-key SECRET [--server-pid PID] [--ca cert.pem]]  (a server already running, e.g. under --trace-gc)';
const VALUE_FLAGS = ['--c', '--seconds', '--endpoint', '--access-key', '--secret-key', '--server-pid', '--ca'];

function endpointNeedsTls(sse: SseMode, sink: boolean): boolean {
  return sse === 'sse-c' && !sink;
}

function arg(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

const BOOLEAN_FLAGS = ['--profile', '--sink', '--help'];

function usageError(message: string): number {
  process.stderr.write(`${message}\n${USAGE}\n`);
  return 2;
}

export async function probe(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  for (const [i, a] of argv.entries()) {
    if (!a.startsWith('--') || (i > 0 && VALUE_FLAGS.includes(argv[i - 1]!))) continue;
    if (!VALUE_FLAGS.includes(a) && !BOOLEAN_FLAGS.includes(a)) return usageError(`unknown option ${a}`);
    if (VALUE_FLAGS.includes(a) && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'))) return usageError(`${a} needs a value`);
  }
  const positional = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && VALUE_FLAGS.includes(argv[i - 1]!)));
  const [workload, sizeText, sse] = positional as [WorkloadKind, string, SseMode];
  if (!['put', 'get', 'mixed'].includes(workload) || sizeText === undefined || !['none', 'sse-s3', 'sse-kes', 'sse-c'].includes(sse)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const size = parseSizeLabel(sizeText) ?? NaN;
  if (!(size > 0)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const concurrency = Number(arg(argv, '--c') ?? 16);
  const seconds = Number(arg(argv, '--seconds') ?? 5);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) return usageError('--c must be a whole number of connections from 1 to 1024');
  if (!(seconds >= 0.2 && seconds <= 3600)) return usageError('--seconds must be between 0.2 and 3600');
  const pidText = arg(argv, '--server-pid');
  if (pidText !== undefined && !/^\d+$/.test(pidText)) return usageError('--server-pid must be a process id');
  if (endpointNeedsTls(sse, argv.includes('--sink')) && arg(argv, '--endpoint') !== undefined && !arg(argv, '--endpoint')!.startsWith('https://')) return usageError('sse-c needs an https:// --endpoint (SSE-C requires TLS)');
  if (sse === 'sse-kes' && arg(argv, '--endpoint') !== undefined) return usageError('sse-kes needs the KES fixture the probe starts itself: leave out --endpoint');
  const profile = argv.includes('--profile');
  const sink = argv.includes('--sink');
  const endpoint = arg(argv, '--endpoint');
  const serverPid = arg(argv, '--server-pid');
  if (endpoint !== undefined && (profile || arg(argv, '--access-key') === undefined || arg(argv, '--secret-key') === undefined)) {
    process.stderr.write(`--endpoint needs --access-key and --secret-key, and cannot --profile a server it did not start\n${USAGE}\n`);
    return 2;
  }
  const out = mkdtempSync(join(tmpdir(), 's3d-probe-'));
  let pool: LoadPool | undefined;
  let starting: Promise<Awaited<ReturnType<typeof startEnvironment>>> | undefined;
  const stopper = stopOnSignal((l) => process.stderr.write(`${l}\n`), async () => {
    await pool?.close();
    await (await starting?.catch(() => undefined))?.close();
    rmSync(out, { recursive: true, force: true });
  });
  starting = startEnvironment(
    {
      quick: true,
      endpoint,
      accessKey: arg(argv, '--access-key') ?? 'probeaccess',
      secretKey: arg(argv, '--secret-key') ?? 'probesecretprobesecret',
      serverPid: serverPid === undefined ? undefined : Number(serverPid),
      caFile: arg(argv, '--ca'),
      region: 'us-east-1',
      outDir: out,
      rounds: 1,
      warmupS: 1,
      measureS: seconds,
      workers: 2,
      profile,
      help: false,
      customTiming: true,
    },
    (l) => process.stderr.write(`${l}\n`),
  );
  const env = await starting.catch((err: unknown) => {
    // The servers died of the same Ctrl-C: the signal handler exits, not this error.
    if (stopper.signal() !== undefined) return new Promise<never>(() => undefined);
    throw err;
  });
  pool = new LoadPool(2);
  try {
    const ctx: RunContext = { pool, servers: env.servers, credentials: env.credentials, ssec: newSsecKey(), warmupMs: 1000, measureMs: seconds * 1000 };
    const server: ServerKind = sink ? (sse === 'sse-c' ? 'sink-tls' : 'sink') : serverFor(sse);
    const prefix = objectPrefix(size, 'probe');
    const count = size <= 64 * 1024 ? 2000 : 64;
    if (!sink && workload !== 'put') await countRun(ctx, { server, sse, workload: 'put', sizeBytes: size, prefix, from: 0, count, concurrency: 16 });
    const r = await executeRun(ctx, {
      id: 'probe',
      workload,
      sizeBytes: size,
      concurrency,
      server,
      sse: sink ? 'none' : sse,
      round: null,
      readSet: { server, sse, sizeBytes: size, prefix, count },
      writePrefix: objectPrefix(size, 'probe-w'),
      writeRing: size >= 64 * 1024 ? 64 : 0,
      partSize: 5 * 1024 * 1024,
      measureScale: 1,
    });
    process.stdout.write(`${workload} ${sizeText} ${sse} c${concurrency} on ${server}: ${r.opsPerSec.toFixed(0)} ops/s, ${r.mbPerSec.toFixed(0)} MB/s, server ${r.cpu.serverUsPerOp?.toFixed(1)} µs/op, client ${r.cpu.clientUsPerOp.toFixed(1)} µs/op, p50 ${r.latency.p50Ms.toFixed(2)} ms, errors ${r.errors}\n`);
  } finally {
    if (stopper.signal() === undefined) {
      stopper.dispose();
      await pool.close();
      await env.close();
    }
  }
  if (env.profileDir !== undefined) {
    for (const f of readdirSync(env.profileDir).filter((n) => n.endsWith('.cpuprofile'))) {
      const s = summarizeProfile(f, JSON.parse(readFileSync(join(env.profileDir, f), 'utf8')), 25);
      if (s === null || s.busyShare < 0.1) continue;
      process.stdout.write(`\n${f}: ${s.totalMs.toFixed(0)} ms, busy ${(s.busyShare * 100).toFixed(0)} %\n`);
      for (const l of s.top) process.stdout.write(`  ${(l.share * 100).toFixed(1).padStart(5)} %  ${l.fn}  ${l.where}\n`);
    }
  }
  if (env.profileDir !== undefined) process.stdout.write(`\nprofiles kept in ${env.profileDir}\n`);
  else rmSync(out, { recursive: true, force: true });
  return 0;
}
