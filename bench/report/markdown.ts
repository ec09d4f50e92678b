// bench/results/latest.md (pure): the targets with value vs target, per-run throughput, latency
// and CPU next to their ceilings, the baselines, the KMS figures, and the machine and noise.

import { sizeLabel } from '../sizes.js';
import { median } from '../stats/summary.js';
import { aggregateRuns, isNullServer, seriesOf } from './aggregate.js';
import type { BenchResults, RatioEntry } from './types.js';

/** A number for a table: significant digits, thousands separators, '–' when missing. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toString();
}

const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${Math.round(x * 100)} %`);

/** Escapes a cell for a Markdown table. */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) out.push(`| ${r.map(cell).join(' | ')} |`);
  return out.join('\n');
}

export function verdict(e: RatioEntry): string {
  if (e.value === null) return 'not measured';
  // A verdict from a machine busy with other work is printed, and flagged: rerun to trust it.
  return (e.met ? 'met' : '**MISSED**') + (e.noisy === true ? ' (noisy: inconclusive)' : '');
}

export function targetsTable(results: BenchResults): string {
  const rows = Object.entries(results.ratios).map(([name, e]) => [
    `\`${name}\``,
    fmt(e.value),
    `${e.comparison} ${e.target}`,
    verdict(e),
    e.cpuModelValue === undefined ? '' : fmt(e.cpuModelValue),
    e.pairs === undefined ? '' : `${e.pairs}${e.noisyPairs ? ` (${e.noisyPairs} noisy)` : ''}`,
    e.perPair === undefined ? '' : e.perPair.map((p) => fmt(p)).join(', '),
    `${e.measures}${e.note === undefined ? '' : ` — ${e.note}`}`,
  ]);
  return table(['target', 'value', 'goal', 'verdict', 'CPU model', 'pairs', 'per pair', 'what'], rows);
}

export function runsTable(results: BenchResults): string {
  const rows = aggregateRuns(results.runs).map((r) => [
    r.workload.toUpperCase(),
    sizeLabel(r.sizeBytes),
    String(r.concurrency),
    seriesOf(r),
    `${r.runs}`,
    fmt(r.opsPerSec),
    fmt(r.mbPerSec),
    `${fmt(r.p50Ms)} / ${fmt(r.p90Ms)} / ${fmt(r.p99Ms)}`,
    fmt(r.serverSecPerGB),
    fmt(r.serverUsPerOp),
    fmt(r.clientUsPerOp),
    isNullServer(r.server) ? 'ceiling' : fmt(r.vsCeiling),
    pct(r.otherShare),
    r.errors === 0 ? '0' : `${r.errors}: ${(r.errorSample ?? '').slice(0, 80)}`,
  ]);
  return table(
    ['op', 'size', 'c', 'series', 'runs', 'ops/s', 'MB/s', 'p50 / p90 / p99 ms', 'server CPU s/GB', 'server µs/op', 'client µs/op', '÷ ceiling', 'other CPU', 'errors'],
    rows,
  );
}

function baselinesSection(results: BenchResults): string {
  const b = results.baselines;
  const lines: string[] = ['## Baselines (same run, same machine)', ''];
  if (b.crypto !== null) {
    const c = b.crypto;
    lines.push(
      table(
        ['one-thread DARE seal', 'pool seal (2 workers)', 'pool open', 'MD5 / core', 'SHA-256 / core', 'pool ÷ one thread'],
        [[`${fmt(c.oneThreadSealGBps)} GB/s`, `${fmt(c.poolSealGBps)} GB/s`, `${fmt(c.poolOpenGBps)} GB/s`, `${fmt(c.md5GBps)} GB/s`, `${fmt(c.sha256GBps)} GB/s`, fmt(c.ratio)]],
      ),
      '',
    );
    if (c.aes !== undefined) {
      lines.push(
        c.aes === 'native'
          ? `AES-256-GCM through s3d's native binding (OpenSSL into the caller's buffers) on both sides of the ratio, as the daemons ran it; node:crypto on one thread, what s3d uses without the binding: ${c.oneThreadNodeSealGBps === undefined ? 'not measured' : `${fmt(c.oneThreadNodeSealGBps)} GB/s`}.`
          : 'AES-256-GCM through node:crypto (the native binding was not built, or S3_NATIVE_AES=off).',
        '',
      );
    }
  } else lines.push(`Crypto: not measured${b.cryptoNote === undefined ? '' : ` (${b.cryptoNote})`}.`, '');
  if (b.disk !== null) {
    const d = b.disk;
    lines.push(
      `Disk (${d.fsType}, ${sizeLabel(d.bytes)}): write + fdatasync **${fmt(d.writeFsyncGBps)} GB/s** ` +
        `(page-cache write alone ${fmt(d.pageCacheWriteGBps)} GB/s); 4 KiB write + fdatasync **${fmt(d.fsyncsPerSec)}/s**` +
        (d.newFiles1MiBPerSec === undefined
          ? '.'
          : `; new 1 MiB files made durable by 16 writers (the disk work of a 1 MiB PUT, nothing else) **${fmt(d.newFiles1MiBPerSec)}/s** at ${fmt(d.newFileCpuMs ?? 0)} ms CPU each.`),
      '',
    );
  }
  if (b.lmdb !== null) {
    const l = b.lmdb;
    lines.push(
      `LMDB (40 B keys, 200 B values): batched puts ${fmt(l.batchedPutsPerSec)}/s; durable groups of 64 ${fmt(l.group64PutsPerSec)}/s; ` +
        `putSync (durable each) ${fmt(l.syncPutsPerSec)}/s.`,
      '',
    );
  }
  if (b.clientCeiling.length > 0) {
    lines.push(
      'Load generator against the null server (its own ceiling; client CPU is the bench process):',
      '',
      table(
        ['run', 'ops/s', 'MB/s', 'client µs/op', 'client ns/B', 'null server µs/op'],
        b.clientCeiling.map((c) => [c.id, fmt(c.opsPerSec), fmt(c.mbPerSec), fmt(c.clientUsPerOp), fmt(c.clientNsPerByte), fmt(c.serverUsPerOp)]),
      ),
      '',
    );
  }
  return lines.join('\n');
}

function kmsSection(results: BenchResults): string {
  const k = results.kms;
  if (!k.available) return `## KMS (KES fixture)\n\nNot measured${k.note === undefined ? '' : `: ${k.note}`}.\n`;
  const rows = [
    ['KES calls per SSE-S3 PUT', fmt(k.callsPerPut), `${k.putCalls} calls / ${k.puts} PUTs`],
    ['KES calls per 1,000 GETs, hot', fmt(k.callsPer1000HotGets), `${k.hotCalls} calls / ${k.hotGets} GETs`],
    ['KES calls per 1,000 GETs, cold (after restart)', fmt(k.callsPer1000ColdGets), `${k.coldCalls} calls / ${k.coldGets} GETs`],
    ['unwrap latency (daemon metrics)', k.unwrapLatencyMs === null ? '–' : `${fmt(k.unwrapLatencyMs)} ms`, ''],
    ['GET p50 cold − hot (miss penalty)', k.missPenaltyP50Ms === null ? '–' : `${fmt(k.missPenaltyP50Ms)} ms`, ''],
    ['cache hit rate (cold + hot pass)', pct(k.cacheHitRate), k.cacheHitRateSource ?? ''],
    ['most decrypt calls in flight (fixture)', fmt(k.maxDecryptInFlight), k.bulkItems > 0 ? `bulk items ${k.bulkItems}` : ''],
    ['unwrap batch sizes (daemon metrics)', k.batchSizes === null ? '–' : Object.entries(k.batchSizes).map(([b, n]) => `${b}: ${n}`).join(', '), ''],
  ];
  return ['## KMS (KES fixture, SSE-S3 via KES, 4 KiB objects)', '', table(['figure', 'value', 'from'], rows), k.note === undefined ? '' : `\nNote: ${k.note}`, ''].join('\n');
}

function profilesSection(results: BenchResults): string {
  // Busiest threads first; parked crypto workers and idle daemons say nothing.
  const profiles = (results.profiles ?? []).filter((p) => p.busyShare > 0.02).sort((a, b) => b.totalMs * b.busyShare - a.totalMs * a.busyShare);
  if (profiles.length === 0) return '';
  const lines = ['## Where the daemons spent their CPU (--profile, whole run, self time)', ''];
  for (const p of profiles.slice(0, 6)) {
    lines.push(`\`${p.file.split('/').slice(-1)[0]}\`: ${fmt(p.totalMs / 1000)} s sampled, ${pct(p.busyShare)} busy`, '');
    lines.push(table(['function', 'where', 'self ms', 'share of busy'], p.top.slice(0, 10).map((l) => [l.fn, l.where, fmt(l.selfMs), pct(l.share)])), '');
  }
  return lines.join('\n');
}

export function machineLine(results: BenchResults): string {
  const m = results.machine;
  return `${m.cpuModel}, ${m.cores} cores, ${m.memGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node} (OpenSSL ${m.openssl}); data dir on ${m.dataDirFs}`;
}

/** The code and daemon settings measured: commit (and uncommitted changes), passed-through variables. */
export function provenanceLine(results: BenchResults): string {
  const s = results.settings;
  const code = s.git === undefined ? 'code: not a git checkout' : `code: commit ${s.git.commit.slice(0, 12)}${s.git.dirty ? ' with uncommitted changes' : ''}`;
  const env = Object.entries(s.daemonEnv ?? {});
  return `${code}; daemon settings: ${env.length === 0 ? 'defaults' : env.map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

export function renderMarkdown(results: BenchResults, chartFile: string | undefined): string {
  const s = results.settings;
  const others = results.runs.map((r) => r.cpu.otherShare);
  const noisy = results.runs.filter((r) => r.cpu.noisy).length;
  const parts = [
    `# s3d bench — ${s.mode} run, ${results.startedAt}`,
    '',
    `Machine: ${machineLine(results)}.`,
    '',
    `${provenanceLine(results)[0]!.toUpperCase()}${provenanceLine(results).slice(1)}.`,
    '',
    `${s.target === 'endpoint' ? `Target: ${s.endpoint}` : 'Target: s3d started by the bench on a temp dir'}; ${results.runs.length} runs in ${fmt(results.elapsedS)} s; ` +
      `${s.rounds} A/B rounds; each run ${s.warmupS} s warm-up + ${s.measureS} s measured; ${s.clientWorkers} load worker threads. ` +
      `Other load on the machine during runs: median ${pct(median(others))}, ${noisy} of ${results.runs.length} runs noisy (> 15 %).`,
    '',
    '## Targets (median of back-to-back A/B pairs)',
    '',
    targetsTable(results),
    '',
    ...(chartFile === undefined ? [] : [`![throughput and latency](${chartFile})`, '']),
    '## Runs (median over rounds; ÷ ceiling = ops/s ÷ the null server under the same load)',
    '',
    runsTable(results),
    '',
    baselinesSection(results),
    kmsSection(results),
    profilesSection(results),
    ...(results.notes.length > 0 ? ['## Notes', '', ...results.notes.map((n) => `- ${n}`), ''] : []),
  ];
  return parts.join('\n');
}
