// bench/results/latest.svg, drawn by hand (pure): MB/s by object size and SSE mode (log scale,
// grouped bars, the null server as the first bar of each group) and p50/p90/p99 latency.

import { sizeLabel } from '../sizes.js';
import { aggregateRuns, seriesOf } from './aggregate.js';
import type { RunRow } from './aggregate.js';
import type { BenchResults } from './types.js';

const SERIES = ['null server', 'null server TLS', 'none', 'sse-s3', 'sse-kes', 'sse-c'] as const;
const COLORS: Record<string, string> = {
  'null server': '#9e9e9e',
  'null server TLS': '#cfcfcf',
  none: '#4e79a7',
  'sse-s3': '#f28e2b',
  'sse-kes': '#59a14f',
  'sse-c': '#e15759',
};

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const n2 = (x: number): string => (Math.round(x * 10) / 10).toString();

interface Group {
  label: string;
  rows: Map<string, RunRow>;
}

function groupsOf(results: BenchResults): { groups: Group[]; series: string[] } {
  // Bars are bytes that moved: a run where no 256 MiB object finished still has a throughput.
  const rows = aggregateRuns(results.runs).filter((r) => (r.workload === 'put' || r.workload === 'get') && (r.mbPerSec > 0 || r.opsPerSec > 0));
  rows.sort((a, b) => a.sizeBytes - b.sizeBytes || a.concurrency - b.concurrency || (a.workload === b.workload ? 0 : a.workload === 'put' ? -1 : 1));
  const groups: Group[] = [];
  for (const r of rows) {
    const label = `${r.workload.toUpperCase()} ${sizeLabel(r.sizeBytes)} c${r.concurrency}`;
    let g = groups.find((x) => x.label === label);
    if (g === undefined) groups.push((g = { label, rows: new Map() }));
    g.rows.set(seriesOf(r), r);
  }
  const present = new Set(rows.map((r) => seriesOf(r)));
  return { groups, series: SERIES.filter((s) => present.has(s)) };
}

/** Log-scale axis: decades covering [lo, hi]. */
function decades(lo: number, hi: number): { min: number; max: number } {
  const min = Math.floor(Math.log10(Math.max(lo, 1e-3)));
  const max = Math.max(min + 1, Math.ceil(Math.log10(Math.max(hi, 1e-3))));
  return { min, max };
}

function tickLabel(exp: number): string {
  const v = Math.pow(10, exp);
  return v >= 1 ? v.toLocaleString('en-US') : String(v);
}

export function renderSvg(results: BenchResults): string {
  const { groups, series } = groupsOf(results);
  const bw = 14;
  const gap = 26;
  const left = 70;
  const groupW = Math.max(1, series.length) * bw + gap;
  const width = Math.max(640, left + 30 + groups.length * groupW);
  const panelH = 260;
  const top1 = 96;
  const top2 = top1 + panelH + 110;
  const height = top2 + panelH + 80;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${escapeXml(`s3d bench (${results.settings.mode}) — ${results.startedAt}`)}</text>`);
  out.push(`<text x="${left}" y="40" fill="#555">${escapeXml(`${results.machine.cpuModel}, ${results.machine.cores} cores, Node ${results.machine.node}`)}</text>`);
  // Legend
  let lx = left;
  for (const s of series) {
    out.push(`<rect x="${lx}" y="52" width="10" height="10" fill="${COLORS[s] ?? '#000'}"/>`);
    out.push(`<text x="${lx + 14}" y="61">${escapeXml(s)}</text>`);
    lx += 30 + 7 * s.length;
  }
  if (groups.length === 0) {
    out.push(`<text x="${left}" y="${top1 + 40}">no PUT/GET runs in this result</text>`);
    out.push('</svg>');
    return out.join('\n') + '\n';
  }
  const all = groups.flatMap((g) => [...g.rows.values()]);

  // Panel 1: MB/s, log scale.
  /** A log-scale panel from `top`: its title, decade grid lines and labels; returns value → y. */
  const logPanel = (top: number, lo: number, hi: number, title: string): ((v: number) => number) => {
    const d = decades(lo, hi);
    const y = (v: number): number => top + panelH - ((Math.log10(Math.max(v, Math.pow(10, d.min))) - d.min) / (d.max - d.min)) * panelH;
    out.push(`<text x="${left}" y="${top - 8}" font-weight="bold">${title}</text>`);
    for (let e = d.min; e <= d.max; e++) {
      const ye = n2(y(Math.pow(10, e)));
      out.push(`<line x1="${left}" y1="${ye}" x2="${width - 20}" y2="${ye}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${left - 6}" y="${ye}" text-anchor="end" dominant-baseline="middle">${tickLabel(e)}</text>`);
    }
    return y;
  };
  const y1 = logPanel(top1, Math.min(...all.map((r) => r.mbPerSec).filter((v) => v > 0)), Math.max(...all.map((r) => r.mbPerSec)), 'Throughput, MB/s (log scale; median over rounds)');
  groups.forEach((g, gi) => {
    const gx = left + 10 + gi * groupW;
    series.forEach((s, si) => {
      const r = g.rows.get(s);
      if (r === undefined) return;
      const y = y1(r.mbPerSec);
      const h = top1 + panelH - y;
      out.push(`<rect x="${gx + si * bw}" y="${n2(y)}" width="${bw - 2}" height="${n2(Math.max(0, h))}" fill="${COLORS[s] ?? '#000'}"><title>${escapeXml(`${g.label} ${s}: ${r.mbPerSec.toFixed(1)} MB/s, ${r.opsPerSec.toFixed(0)} ops/s`)}</title></rect>`);
    });
    out.push(`<text x="${n2(gx + (series.length * bw) / 2)}" y="${top1 + panelH + 16}" text-anchor="middle">${escapeXml(g.label)}</text>`);
  });
  out.push(`<line x1="${left}" y1="${top1 + panelH}" x2="${width - 20}" y2="${top1 + panelH}" stroke="#333"/>`);

  // Panel 2: latency p50 (dot), p90 (tick), p99 (top of the line), ms, log scale.
  const lat = all.flatMap((r) => [r.p50Ms, r.p99Ms]).filter((v) => Number.isFinite(v) && v > 0);
  const y2 = logPanel(top2, Math.min(...lat), Math.max(...lat), 'Latency, ms (log scale): dot p50, tick p90, line top p99');
  groups.forEach((g, gi) => {
    const gx = left + 10 + gi * groupW;
    series.forEach((s, si) => {
      const r = g.rows.get(s);
      if (r === undefined || !Number.isFinite(r.p50Ms)) return;
      const x = n2(gx + si * bw + (bw - 2) / 2);
      const c = COLORS[s] ?? '#000';
      out.push(`<g><title>${escapeXml(`${g.label} ${s}: p50 ${r.p50Ms} ms, p90 ${r.p90Ms} ms, p99 ${r.p99Ms} ms`)}</title>`);
      out.push(`<line x1="${x}" y1="${n2(y2(r.p50Ms))}" x2="${x}" y2="${n2(y2(r.p99Ms))}" stroke="${c}" stroke-width="3"/>`);
      out.push(`<line x1="${n2(Number(x) - 5)}" y1="${n2(y2(r.p90Ms))}" x2="${n2(Number(x) + 5)}" y2="${n2(y2(r.p90Ms))}" stroke="${c}" stroke-width="2"/>`);
      out.push(`<circle cx="${x}" cy="${n2(y2(r.p50Ms))}" r="3.5" fill="${c}" stroke="#333" stroke-width="0.5"/></g>`);
    });
    out.push(`<text x="${n2(gx + (series.length * bw) / 2)}" y="${top2 + panelH + 16}" text-anchor="middle">${escapeXml(g.label)}</text>`);
  });
  out.push(`<line x1="${left}" y1="${top2 + panelH}" x2="${width - 20}" y2="${top2 + panelH}" stroke="#333"/>`);
  out.push(`<text x="${left}" y="${height - 34}" fill="#555">${escapeXml('Null server = raw uWS sink/source, no S3 logic, same client.')}</text>`);
  out.push(`<text x="${left}" y="${height - 18}" fill="#555">${escapeXml('SSE-C needs TLS: its runs compare with the TLS null server.')}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
