// peak_rss_mib: the daemon's VmHWM while it takes one 1 GiB SSE-S3 upload and serves it back,
// the peak reset just before (clear_refs) so earlier work does not count. Doubles as a warm-up.
// The upload is multipart (16 × 64 MiB): this uWS build resets any request whose Content-Length
// has 10 digits (≥ 10^9 bytes), so a 1 GiB single PUT cannot reach the daemon at all.

import type { RunContext } from './runner.js';
import { countRun } from './runner.js';
import { readPeakRssMiB, readRssMiB, resetPeakRss } from './sys/proc.js';

export const RSS_PART_SIZE = 64 * 1024 * 1024;

export interface RssFigure {
  peakRssMiB: number | null;
  rssBeforeMiB: number | null;
  putGBps: number | null;
  getGBps: number | null;
  note?: string;
}

export async function measurePeakRss(ctx: RunContext, bytes: number): Promise<RssFigure> {
  const pid = ctx.servers.get('daemon')?.pid() ?? null;
  if (pid === null) return { peakRssMiB: null, rssBeforeMiB: null, putGBps: null, getGBps: null, note: 'no daemon PID' };
  const reset = resetPeakRss(pid);
  const rssBeforeMiB = readRssMiB(pid);
  const job = { server: 'daemon' as const, sse: 'sse-s3' as const, sizeBytes: bytes, prefix: 'rss/', from: 0, count: 1, concurrency: 1 };
  const put = await countRun(ctx, { ...job, workload: 'multipart', partSize: RSS_PART_SIZE });
  const get = await countRun(ctx, { ...job, workload: 'get' });
  const peakRssMiB = readPeakRssMiB(pid);
  const errors = put.total.errors + get.total.errors;
  const notes: string[] = [];
  if (!reset) notes.push('could not reset VmHWM (clear_refs): the peak includes everything since the daemon started');
  if (errors > 0) notes.push(`errors: ${put.errorSample ?? get.errorSample ?? ''}`);
  return {
    peakRssMiB: errors > 0 ? null : peakRssMiB,
    rssBeforeMiB,
    putGBps: put.total.ops > 0 ? put.total.bytes / put.windowS / 1e9 : null,
    getGBps: get.total.ops > 0 ? get.total.bytes / get.windowS / 1e9 : null,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}
