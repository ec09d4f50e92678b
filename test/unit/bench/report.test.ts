// The bench's pure parts: latency histogram and percentiles, median / pair-ratio / noise math,
// CPU accounting, target evaluation, the fast signer against the repo's SigV4 signer, the
// response parser, and that the Markdown and SVG writers produce well-formed output.
import t from 'tap';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { XMLValidator } from 'fast-xml-parser';
import { signRequest } from '../../../daemon/auth/sign.js';
import { parseCli, CliError } from '../../../bench/cli.js';
import { kmsMetricFigures, kmsStat, metricsDelta, parseKmsMetrics } from '../../../bench/kms/kes.js';
import { HttpConnection, parseResponseHead } from '../../../bench/load/connection.js';
import { canonicalQueryOf, FastSigner } from '../../../bench/load/signer.js';
import { buildPlan } from '../../../bench/plan.js';
import { aggregateRuns } from '../../../bench/report/aggregate.js';
import { cell, fmt, provenanceLine, renderMarkdown, verdict } from '../../../bench/report/markdown.js';
import { escapeXml, renderSvg } from '../../../bench/report/svg.js';
import { BLOCK_END, BLOCK_START, latestQuickBlock, replaceBlock } from '../../../bench/report/docs-block.js';
import type { BenchResults, RunResult, ServerKind, SseMode, WorkloadKind } from '../../../bench/report/types.js';
import { parseSizeLabel, sizeFromPath, sizeLabel } from '../../../bench/sizes.js';
import { cpuFigures } from '../../../bench/stats/cpu.js';
import { createHistogram, mergeHistogram, quantileMicros, recordMicros, summarizeLatency } from '../../../bench/stats/histogram.js';
import { median, ratio, segmentStats, summarizePairs } from '../../../bench/stats/summary.js';
import { computeRatios, pairArms, runId, TARGET_NAMES, TARGETS } from '../../../bench/targets.js';
import { emptyKmsFigures } from '../../../bench/kms/measure.js';

t.test('histogram percentiles are within the bucket width of the exact values', async (t) => {
  const h = createHistogram();
  const values: number[] = [];
  for (let i = 1; i <= 10_000; i++) {
    const v = i * 3.7; // 3.7 µs .. 37 ms, uniform
    values.push(v);
    recordMicros(h, v);
  }
  values.sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99]) {
    const exact = values[Math.ceil(q * values.length) - 1]!;
    const got = quantileMicros(h, q);
    t.ok(Math.abs(got - exact) / exact < 0.015, `p${q * 100}: ${got} vs ${exact}`);
  }
  t.equal(quantileMicros(h, 0), 3.7, 'p0 is the exact minimum');
  t.equal(quantileMicros(h, 1), 37_000, 'p100 is the exact maximum');
  const s = summarizeLatency(h);
  t.equal(s.count, 10_000);
  t.ok(Math.abs(s.meanMs - 18.5) < 0.01, 'mean is exact');
  t.ok(Number.isNaN(quantileMicros(createHistogram(), 0.5)), 'empty histogram has no percentile');
  t.ok(Number.isNaN(summarizeLatency(createHistogram()).p50Ms));
});

t.test('merged histograms equal one histogram of all values', async (t) => {
  const a = createHistogram();
  const b = createHistogram();
  const all = createHistogram();
  for (let i = 0; i < 1000; i++) {
    const v = 50 + ((i * 7919) % 5000);
    recordMicros(i % 3 === 0 ? a : b, v);
    recordMicros(all, v);
  }
  mergeHistogram(a, b);
  t.same([...a.counts], [...all.counts]);
  t.equal(a.count, all.count);
  t.equal(a.min, all.min);
  t.equal(a.max, all.max);
  t.equal(quantileMicros(a, 0.99), quantileMicros(all, 0.99));
});

t.test('median, ratio and A/B pair summaries', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.equal(median([1, Number.NaN, 3]), 2, 'NaN is ignored');
  t.ok(Number.isNaN(median([])));
  t.equal(ratio(1, 4), 0.25);
  t.ok(Number.isNaN(ratio(1, 0)));
  t.ok(Number.isNaN(ratio(Number.NaN, 1)));
  const s = summarizePairs([
    { round: 0, a: 50, b: 100, otherCpuA: 0.05, otherCpuB: 0.1 },
    { round: 1, a: 90, b: 100, otherCpuA: 0.5, otherCpuB: 0.1 },
    { round: 2, a: 60, b: 100, otherCpuA: 0.0, otherCpuB: 0.02 },
  ]);
  t.equal(s.value, 0.6, 'median of 0.5, 0.9, 0.6');
  t.equal(s.quietValue, 0.55, 'the noisy pair is left out of the quiet median');
  t.equal(s.noisyPairs, 1);
  t.same(s.otherCpu, [0.1, 0.5, 0.02]);
  const seg = segmentStats([10, 30, 20, 5], 1, 3.5);
  t.same(seg, { fastest: 30, median: 20, slowest: 10, segments: 3 }, 'the partial last segment is dropped');
  t.equal(segmentStats([6], 1, 0.5).median, 12, 'a lone partial segment is scaled');
});

t.test('CPU figures: server and client per op and per GB, other load from /proc/stat', async (t) => {
  const f = cpuFigures(
    { busyTicks: 1000, totalTicks: 4000, serverTicks: 100, clientMicros: 1_000_000 },
    { busyTicks: 1300, totalTicks: 4400, serverTicks: 200, clientMicros: 1_500_000 },
    100,
    1000,
    2e9,
  );
  t.equal(f.serverS, 1);
  t.equal(f.clientS, 0.5);
  t.equal(f.serverSecPerGB, 0.5);
  t.equal(f.serverUsPerOp, 1000);
  t.equal(f.clientUsPerOp, 500);
  t.equal(f.clientNsPerByte, 0.25);
  t.equal(f.busyShare, 0.75);
  // 300 busy ticks, 150 of them ours: 150 / 400 others
  t.equal(f.otherShare, 0.375);
  t.equal(f.noisy, true);
  const unknown = cpuFigures({ busyTicks: 0, totalTicks: 100, serverTicks: null, clientMicros: 0 }, { busyTicks: 10, totalTicks: 200, serverTicks: null, clientMicros: 0 }, 100, 0, 0);
  t.equal(unknown.serverS, null);
  t.equal(unknown.serverSecPerGB, null);
});

function fakeRun(id: string, round: number | null, bytesPerSec: number, otherShare = 0.05, errors = 0): RunResult {
  const [workload, size, c, ...rest] = id.split('-');
  const server = (rest[0] === 'daemon' || rest[0] === 'sink') && (rest[1] === 'tls' || rest[1] === 'kes') ? `${rest[0]}-${rest[1]}` : rest[0]!;
  const sse = rest.slice(server.split('-').length).join('-');
  const sizeBytes = parseSizeLabel(size!) ?? 1;
  const lat = { count: 10, meanMs: 2, p50Ms: 1.5, p90Ms: 3, p99Ms: 9, minMs: 1, maxMs: 10 };
  return {
    id,
    workload: workload as WorkloadKind,
    sizeBytes,
    concurrency: Number(c!.slice(1)),
    sse: sse as SseMode,
    server: server as ServerKind,
    round,
    windowS: 1,
    ops: Math.round(bytesPerSec / sizeBytes),
    opsPerSec: bytesPerSec / sizeBytes,
    bytesPerSec,
    mbPerSec: bytesPerSec / 1e6,
    errors,
    latency: lat,
    byOp: { PUT: { ops: 10, errors: 0, latency: lat } },
    segments: { fastest: 1, median: 1, slowest: 1, segments: 1 },
    cpu: { serverS: 0.5, serverSecPerGB: 0.4, serverUsPerOp: 100, clientS: 0.2, clientUsPerOp: 40, clientNsPerByte: 0.2, otherShare, busyShare: 0.9, noisy: otherShare > 0.15 },
    peakRssMiB: null,
  };
}

function fakeResults(): BenchResults {
  const runs: RunResult[] = [];
  for (let round = 0; round < 3; round++) {
    for (const id of pairArms()) {
      const sink = id.includes('-sink');
      runs.push(fakeRun(id, round, (sink ? 1000 : 700 + 10 * round) * 1e6, round === 1 ? 0.3 : 0.05));
    }
  }
  runs.push(fakeRun(runId('mixed', '64KiB', 16, 'daemon', 'sse-s3'), null, 30e6));
  const kms = emptyKmsFigures('fixture');
  kms.available = true;
  kms.callsPerPut = 1;
  kms.callsPer1000HotGets = 0;
  const baselines = { crypto: { oneThreadSealGBps: 1, poolSealGBps: 1.7, poolOpenGBps: 1.5, md5GBps: 0.6, sha256GBps: 1.5, ratio: 1.7, rounds: 1 }, disk: null, lmdb: null, clientCeiling: [] };
  return {
    schema: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:02:00.000Z',
    elapsedS: 120,
    machine: { cpuModel: 'Test <CPU> & co', cores: 2, memGiB: 4, kernel: '6.1', node: 'v20', openssl: '3', hostname: 'h', dataDirFs: 'ext4', clockTicks: 100 },
    settings: { mode: 'quick', rounds: 3, warmupS: 0.4, measureS: 1.2, clientWorkers: 2, mallocEnv: {}, target: 'spawned' },
    baselines,
    runs,
    kms,
    ratios: computeRatios({ runs, baselines, kms, peakRssMiB: 300 }),
    notes: ['a note with a | pipe'],
  };
}

t.test('every target is computed with value, target and met', async (t) => {
  const r = fakeResults();
  t.same(Object.keys(r.ratios).sort(), [...TARGET_NAMES].sort());
  for (const name of TARGET_NAMES) {
    const e = r.ratios[name]!;
    t.type(e.target, 'number', `${name} target`);
    t.type(e.met, 'boolean', `${name} met`);
    t.ok(e.value === null || typeof e.value === 'number', `${name} value`);
  }
  // daemon vs daemon pairs: 700/700, 710/710, 720/720 → 1
  t.equal(r.ratios.sse_put_overhead!.value, 1);
  t.equal(r.ratios.sse_put_overhead!.met, true);
  // daemon vs sink: median of 0.70, 0.71, 0.72
  t.equal(r.ratios.ssec_put_vs_sink!.value, 0.71);
  t.equal(r.ratios.ssec_put_vs_sink!.noisyPairs, 1);
  t.equal(r.ratios.ssec_put_vs_sink!.quietValue, 0.71);
  // fake runs all use 0.7 CPU s per window; per byte the sink (1000 MB/s) is cheaper than the daemon
  t.ok(Math.abs(r.ratios.ssec_put_vs_sink!.cpuModelValue! - 0.71) < 1e-9, 'CPU model: CPU per byte of B ÷ of A');
  t.match(r.ratios.ssec_put_vs_sink!.note, /plain-HTTP sink/);
  t.equal(r.ratios.pool_vs_one_thread!.value, 1.7);
  t.equal(r.ratios.pool_vs_one_thread!.met, true);
  t.equal(r.ratios.kes_calls_per_1000_hot_gets!.met, true, '0 ≤ 0');
  t.equal(r.ratios.peak_rss_mib!.value, 300);
  t.equal(r.ratios.peak_rss_mib!.met, false, '300 MiB > 256 MiB');
  t.equal(TARGETS.peak_rss_mib.comparison, '<=');
});

t.test('verdicts from a machine busy with other work are flagged inconclusive', async (t) => {
  const pair = TARGETS.sse_put_overhead;
  if (pair.kind !== 'pair') throw new Error('expected a pair target');
  const runs: RunResult[] = [];
  for (let round = 0; round < 3; round++) runs.push(fakeRun(pair.a, round, 600e6, 0.4), fakeRun(pair.b, round, 600e6, 0.05));
  const noisyCrypto = { oneThreadSealGBps: 1, poolSealGBps: 1.8, poolOpenGBps: 1.5, md5GBps: 0.6, sha256GBps: 1.5, ratio: 1.8, rounds: 3, backgroundCpu: 0.4 };
  const r = computeRatios({ runs, baselines: { crypto: noisyCrypto, disk: null, lmdb: null, clientCeiling: [] }, kms: emptyKmsFigures('none'), peakRssMiB: null });
  t.equal(r.sse_put_overhead!.noisy, true, 'every pair noisy: flagged');
  t.match(verdict(r.sse_put_overhead!), /met \(noisy: inconclusive\)/, 'and the verdict says so');
  t.equal(r.pool_vs_one_thread!.noisy, true, 'crypto rounds with 40 % background CPU: flagged');
  const quiet = fakeResults();
  t.equal(quiet.ratios.ssec_put_vs_sink!.noisy, undefined, 'one noisy pair of three: not flagged');
  t.equal(verdict(quiet.ratios.ssec_put_vs_sink!), 'met');
  t.match(provenanceLine({ ...quiet, settings: { ...quiet.settings, git: { commit: '0123456789abcdef', dirty: true }, daemonEnv: { S3_DIRECT_IO: 'off' } } }), /commit 0123456789ab with uncommitted changes; daemon settings: S3_DIRECT_IO=off/);
});

t.test('a pair whose A side had errors does not count; a missing figure says why', async (t) => {
  const a = TARGETS.sse_put_overhead;
  if (a.kind !== 'pair') throw new Error('expected a pair target');
  const runs = [fakeRun(a.a, 0, 500e6, 0, 3), fakeRun(a.b, 0, 600e6)];
  const kms = emptyKmsFigures('none');
  const r = computeRatios({ runs, baselines: { crypto: null, disk: null, lmdb: null, clientCeiling: [] }, kms, peakRssMiB: null, missing: { peak_rss_mib: 'no daemon' } });
  t.equal(r.sse_put_overhead.value, null);
  t.equal(r.sse_put_overhead.met, false);
  t.equal(r.peak_rss_mib.note, 'no daemon');
  t.equal(r.small_get_vs_source.pairs, 0);
  t.equal(r.kes_calls_per_put.value, null);
});

t.test('a pair whose B side (the denominator) had errors does not count either', async (t) => {
  // A failing baseline moves fewer bytes: its errors must not turn into a "met" for A.
  const a = TARGETS.plain_get_vs_source;
  if (a.kind !== 'pair') throw new Error('expected a pair target');
  const runs = [fakeRun(a.a, 0, 500e6), fakeRun(a.b, 0, 1e3, 0.05, 40), fakeRun(a.a, 1, 500e6), fakeRun(a.b, 1, 1000e6)];
  const r = computeRatios({ runs, baselines: { crypto: null, disk: null, lmdb: null, clientCeiling: [] }, kms: emptyKmsFigures('none'), peakRssMiB: null });
  t.equal(r.plain_get_vs_source.value, 0.5, 'only the clean round counts');
  t.equal(r.plain_get_vs_source.met, false);
  t.same(r.plain_get_vs_source.perPair, [null, 0.5].map((x) => (x === null ? Number.NaN : x)));
  t.equal(r.plain_get_vs_source.cpuModelValue, 0.5, 'the CPU model skips the failed round too');
  const allBad = computeRatios({ runs: [fakeRun(a.a, 0, 500e6), fakeRun(a.b, 0, 1e3, 0.05, 40)], baselines: { crypto: null, disk: null, lmdb: null, clientCeiling: [] }, kms: emptyKmsFigures('none'), peakRssMiB: null });
  t.equal(allBad.plain_get_vs_source.value, null);
  t.equal(allBad.plain_get_vs_source.met, false);
  t.match(allBad.plain_get_vs_source.note, /errors in every round/);
});

t.test('aggregated rows carry their ceiling', async (t) => {
  const rows = aggregateRuns(fakeResults().runs);
  const row = rows.find((r) => r.id === runId('put', '1MiB', 16, 'daemon-tls', 'sse-c'))!;
  t.equal(row.ceilingId, runId('put', '1MiB', 16, 'sink-tls', 'none'), 'TLS daemon runs compare with the TLS null server');
  t.equal(row.runs, 3);
  t.ok(Math.abs(row.vsCeiling! - 0.71) < 1e-9);
  t.equal(rows.find((r) => r.id.startsWith('mixed'))!.vsCeiling, null, 'no ceiling measured');
});

t.test('the SVG chart is well-formed XML with escaped text', async (t) => {
  const svg = renderSvg(fakeResults());
  t.equal(XMLValidator.validate(svg), true);
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, /Test &lt;CPU&gt; &amp; co/);
  t.ok((svg.match(/<rect /g) ?? []).length > 10, 'bars are drawn');
  t.match(svg, /<circle /, 'latency markers are drawn');
  t.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  const empty = { ...fakeResults(), runs: [] };
  t.equal(XMLValidator.validate(renderSvg(empty)), true, 'no runs still gives a valid SVG');
});

t.test('the Markdown summary has every target and well-formed tables', async (t) => {
  const md = renderMarkdown(fakeResults(), 'latest.svg');
  for (const name of TARGET_NAMES) t.match(md, `\`${name}\``);
  t.match(md, /!\[throughput and latency\]\(latest\.svg\)/);
  t.match(md, /\*\*MISSED\*\*/, 'peak_rss_mib is missed');
  t.match(md, /a note with a \| pipe/);
  t.notMatch(md, /AES-256-GCM through/, 'results from before the native binding name no AES implementation');
  const withAes = (aes: 'native' | 'node:crypto', node?: number) => {
    const r = fakeResults();
    return renderMarkdown({ ...r, baselines: { ...r.baselines, crypto: { ...r.baselines.crypto!, aes, oneThreadNodeSealGBps: node } } }, undefined);
  };
  t.match(withAes('native', 2.25), /native binding .* on both sides of the ratio.*node:crypto on one thread, what s3d uses without the binding: 2\.25 GB\/s/);
  t.match(withAes('node:crypto'), /AES-256-GCM through node:crypto \(the native binding was not built, or S3_NATIVE_AES=off\)/);
  // Every table row has as many cells as its header.
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('|') || !lines[i + 1]?.startsWith('|---')) continue;
    const width = lines[i]!.split(/(?<!\\)\|/).length;
    for (let j = i + 2; j < lines.length && lines[j]!.startsWith('|'); j++) t.equal(lines[j]!.split(/(?<!\\)\|/).length, width, `row ${j + 1} width`);
  }
  t.equal(cell('a|b\nc'), 'a\\|b c');
  t.equal(fmt(1234567.8), '1,234,568');
  t.equal(fmt(0.012345), '0.0123');
  t.equal(fmt(null), '–');
});

t.test('the docs block is replaced between its markers only', async (t) => {
  const doc = `# Perf\n\nintro\n\n${BLOCK_START}\nold table\n${BLOCK_END}\n\n## After\n`;
  const block = latestQuickBlock(fakeResults(), '../bench/results/latest.svg');
  const out = replaceBlock(doc, block)!;
  t.ok(out.startsWith('# Perf\n\nintro\n\n'));
  t.ok(out.endsWith(`${BLOCK_END}\n\n## After\n`));
  t.notMatch(out, /old table/);
  t.match(out, /`sse_put_overhead`/);
  t.match(out, /\.\.\/bench\/results\/latest\.svg/);
  t.equal(replaceBlock(replaceBlock(doc, block)!, block), out, 'idempotent');
  t.equal(replaceBlock('# no markers', block), undefined);
});

t.test('the fast signer produces the repo signer\'s signatures', async (t) => {
  const now = new Date('2026-03-04T05:06:07Z');
  const host = '127.0.0.1:9000';
  const fast = new FastSigner({ accessKey: 'AKIDEXAMPLE', secretKey: 'secret/KEY+x', region: 'us-east-1', host, now: () => now.getTime() + 400 });
  const cases: Array<{ method: string; path: string; query: Record<string, string>; extra: Array<[string, string]> }> = [
    { method: 'PUT', path: '/bench/1MiB/sse-s3/w0-1', query: {}, extra: [['x-amz-server-side-encryption', 'AES256']] },
    { method: 'GET', path: '/bench', query: { 'list-type': '2', prefix: '4KiB/none/', 'max-keys': '1000' }, extra: [] },
    { method: 'PUT', path: '/bench/16MiB/sse-c/x', query: { partNumber: '3', uploadId: 'a/b+c=' }, extra: [['x-amz-server-side-encryption-customer-key', 'abc+/=']] },
  ];
  for (const c of cases) {
    const rawQuery = canonicalQueryOf(c.query);
    const lines = fast.sign(c.method, c.path, rawQuery, c.extra);
    const auth = /authorization: (.*)\r\n/.exec(lines)![1];
    const ref = signRequest({ method: c.method, rawPath: c.path, rawQuery, headers: { host, ...Object.fromEntries(c.extra) }, accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret/KEY+x', region: 'us-east-1', now });
    t.equal(auth, ref.headers['authorization'], `${c.method} ${c.path}?${rawQuery}`);
    t.equal(fast.sign(c.method, c.path, rawQuery, c.extra), lines, 'cached within the second');
  }
  t.equal(canonicalQueryOf({ uploads: '' }), 'uploads=');
});

t.test('response heads and bodies are read correctly over a real socket', async (t) => {
  const head = parseResponseHead('HTTP/1.1 200 OK\r\nETag: "x"\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 5');
  t.equal(head.status, 200);
  t.equal(head.headers['etag'], '"x"');
  t.equal(head.headers['x-a'], '1, 2');
  t.throws(() => parseResponseHead('garbage'));

  const ERROR_XML = '<Error><Code>NoSuchKey</Code></Error>';
  const replies = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: y\r\n\r\n',
    `HTTP/1.1 404 Not Found\r\nContent-Length: ${ERROR_XML.length}\r\n\r\n${ERROR_XML}`,
    'HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n',
  ];
  let n = 0;
  const server = createServer((sock) => {
    sock.on('data', () => {
      const r = replies[n++]!;
      // Split every reply at awkward places to exercise the parser's state across reads.
      const cut = Math.min(r.length, 20 + n);
      sock.write(r.slice(0, cut));
      setTimeout(() => sock.write(r.slice(cut)), 5);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  let progress = 0;
  const conn = new HttpConnection({ host: '127.0.0.1', port, tls: false }, Buffer.alloc(64 * 1024), (b) => (progress += b));
  t.teardown(() => conn.close());
  const opts = { timeoutMs: 2000, captureBytes: 1024 };
  const r1 = await conn.request('GET /a HTTP/1.1\r\nhost: x\r\n\r\n', null, opts);
  t.equal(r1.body?.toString(), 'hello');
  const r2 = await conn.request('GET /b HTTP/1.1\r\nhost: x\r\n\r\n', null, opts);
  t.equal(r2.body?.toString(), 'abcdefg');
  t.equal(r2.bodyBytes, 7);
  const r3 = await conn.request('GET /c HTTP/1.1\r\nhost: x\r\n\r\n', null, { timeoutMs: 2000 });
  t.equal(r3.status, 404);
  t.match(r3.body?.toString(), /NoSuchKey/, 'error bodies are kept');
  const r4 = await conn.request('HEAD /d HTTP/1.1\r\nhost: x\r\n\r\n', null, { timeoutMs: 2000, headOnly: true });
  t.equal(r4.headers['content-length'], '4096');
  t.equal(r4.bodyBytes, 0, 'HEAD has no body whatever Content-Length says');
  t.equal(conn.connects, 1, 'one kept-alive connection');
  t.equal(progress, 5 + 7 + ERROR_XML.length);
});

t.test('sizes, plan, CLI and KMS metrics parsing', async (t) => {
  t.equal(sizeLabel(4096), '4KiB');
  t.equal(sizeLabel(64 * 1024 * 1024), '64MiB');
  t.equal(sizeLabel(1000), '1000B');
  t.equal(parseSizeLabel('16MiB'), 16 * 1024 * 1024);
  t.equal(sizeFromPath('/bench/1MiB/sse-s3/w0-3'), 1024 * 1024);
  t.equal(sizeFromPath('/bench'), undefined);

  const quick = buildPlan('quick', 3);
  const arms = new Set(pairArms());
  for (const round of quick.rounds) t.same(new Set(round.map((s) => s.id)), arms, 'each round holds every pair arm once');
  t.not(quick.rounds[0]![0]!.id, quick.rounds[1]![0]!.id, 'the order alternates between rounds');
  t.ok(quick.matrix.every((s) => !arms.has(s.id)), 'one-off runs do not repeat round arms');
  t.ok(quick.prefill.every((p) => p.server !== 'sink' && p.server !== 'sink-tls'), 'the null server needs no prefill');
  t.ok(buildPlan('full', 5).matrix.length > quick.matrix.length);

  const o = parseCli(['--quick', '--endpoint', 'https://127.0.0.1:9000/', '--access-key', 'a', '--secret-key', 'b', '--rounds=4'], '/out');
  t.equal(o.quick, true);
  t.equal(o.endpoint, 'https://127.0.0.1:9000');
  t.equal(o.rounds, 4);
  t.equal(o.outDir, '/out');
  t.equal(parseCli([], '/out').rounds, 5);
  t.throws(() => parseCli(['--bogus'], '/out'), CliError);
  t.throws(() => parseCli(['--rounds', '0'], '/out'), /--rounds/);
  t.throws(() => parseCli(['--access-key', 'a'], '/out'), /go together/);
  t.throws(() => parseCli(['--server-pid', '12'], '/out'), /--endpoint/);
  t.throws(() => parseCli(['--ca', 'x.pem'], '/out'), /--endpoint/);

  const m = parseKmsMetrics(
    [
      '# HELP s3d_kms_stat KMS layer counters',
      '# TYPE s3d_kms_stat gauge',
      's3d_kms_stat{name="hits"} 42',
      's3d_kms_stat{name="batches_histogram_2-4"} 3',
      's3d_requests_total{op="GetObject",status="200"} 9',
      'garbage line about kms',
    ].join('\n'),
  );
  t.same(m, { 's3d_kms_stat{name="hits"}': 42, 's3d_kms_stat{name="batches_histogram_2-4"}': 3 });
  t.equal(kmsStat(m, 'hits'), 42);
  t.equal(kmsStat(m, 'misses'), undefined);
});

t.test('KMS figures from the daemon metrics', async (t) => {
  const scrape = (hits: number, misses: number, decrypts: number, batches: [number, number, number]): Record<string, number> =>
    parseKmsMetrics(
      [
        `s3d_kms_cache_hits_total ${hits}`,
        `s3d_kms_cache_misses_total ${misses}`,
        `s3d_kms_call_duration_seconds_sum{route="decrypt"} ${decrypts * 0.002}`,
        `s3d_kms_call_duration_seconds_count{route="decrypt"} ${decrypts}`,
        `s3d_kms_batch_size_bucket{le="1"} ${batches[0]}`,
        `s3d_kms_batch_size_bucket{le="4"} ${batches[1]}`,
        `s3d_kms_batch_size_bucket{le="+Inf"} ${batches[2]}`,
        `s3d_kms_batch_size_sum ${batches[0] + 3 * (batches[1] - batches[0]) + 10 * (batches[2] - batches[1])}`,
        `s3d_kms_batch_size_count ${batches[2]}`,
      ].join('\n'),
    );
  const before = scrape(5, 5, 5, [5, 5, 5]);
  const cold = metricsDelta(before, scrape(5, 105, 105, [55, 95, 100]));
  const all = metricsDelta(before, scrape(105, 105, 105, [55, 95, 100]));
  const f = kmsMetricFigures(cold, all);
  t.ok(Math.abs(f.unwrapLatencyMs! - 2) < 1e-9, 'mean decrypt call latency in ms');
  t.equal(f.cacheHitRate, 0.5);
  t.same(f.batchSizes, { batches: 95, mean: (50 + 3 * 40 + 10 * 5) / 95, '<=1': 50, '<=4': 40, '>last': 5 });
  t.same(kmsMetricFigures({}, {}), { unwrapLatencyMs: null, cacheHitRate: null, batchSizes: null }, 'absent metrics give nulls');
  // s3d answers hot reads from its unsealed object-key cache before the KMS cache is asked: 300
  // reads, 200 of them object-key hits, 100 misses of which the KMS cache answered none.
  const keyed = (okHits: number, okMisses: number, kmsHits: number, kmsMisses: number): Record<string, number> =>
    parseKmsMetrics(
      [
        `s3d_sse_object_key_cache_hits_total ${okHits}`,
        `s3d_sse_object_key_cache_misses_total ${okMisses}`,
        `s3d_kms_cache_hits_total ${kmsHits}`,
        `s3d_kms_cache_misses_total ${kmsMisses}`,
      ].join('\n'),
    );
  const withKeys = kmsMetricFigures({}, metricsDelta(keyed(0, 0, 0, 0), keyed(200, 100, 0, 100)));
  t.ok(Math.abs(withKeys.cacheHitRate! - 2 / 3) < 1e-9, 'hit rate: reads that needed no KES call, object-key cache hits included');
});
