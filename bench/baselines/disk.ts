// Disk ceilings in the filesystem that holds the daemon's data: sequential write then fdatasync
// (bandwidth), and 4 KiB pwrite + fdatasync in a loop (fsyncs/s), both bounded in time.

import { randomFillSync } from 'node:crypto';
import { close, closeSync, constants, fdatasync, fdatasyncSync, mkdirSync, open, openSync, rmSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { DiskBaseline } from '../report/types.js';
import { filesystemOf } from '../sys/proc.js';

const MiB = 1024 * 1024;

const openP = promisify(open);
const writeP = promisify(write);
const fdatasyncP = promisify(fdatasync);
const closeP = promisify(close);

/**
 * The durable ingest ceiling for 1 MiB objects: `writers` concurrent loops, each creating a new
 * file, writing 1 MiB, fdatasync, close — the disk work of a 1 MiB PUT with no S3, no crypto and
 * no metadata. Files stay until the end (new data takes new page-cache pages, as an ingest does).
 */
export async function measureNewFiles(dir: string, seconds: number, writers = 16): Promise<{ perSec: number; cpuMs: number }> {
  const root = join(dir, 'bench-newfiles.tmp');
  mkdirSync(root, { recursive: true });
  const chunk = randomFillSync(Buffer.allocUnsafeSlow(MiB));
  let files = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const until = start + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; performance.now() < until; i++) {
          const fd = await openP(join(root, `w${w}-${i}`), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
          try {
            await writeP(fd, chunk, 0, MiB, 0);
            await fdatasyncP(fd);
          } finally {
            await closeP(fd);
          }
          files++;
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { perSec: files / elapsed, cpuMs: (cpu.user + cpu.system) / 1000 / Math.max(1, files) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function measureDisk(dir: string, bytes: number, fsyncSeconds: number): DiskBaseline {
  const file = join(dir, 'bench-disk.tmp');
  const chunk = randomFillSync(Buffer.allocUnsafeSlow(MiB));
  try {
    // Warm-up pass: first-touch page-cache faults on this VM cost 10× (perf-limits B5).
    let fd = openSync(file, 'w');
    for (let off = 0; off < bytes; off += MiB) writeSync(fd, chunk, 0, MiB, off);
    fdatasyncSync(fd);
    closeSync(fd);

    fd = openSync(file, 'w');
    const t0 = process.hrtime.bigint();
    for (let off = 0; off < bytes; off += MiB) writeSync(fd, chunk, 0, MiB, off);
    const t1 = process.hrtime.bigint();
    fdatasyncSync(fd);
    const t2 = process.hrtime.bigint();
    closeSync(fd);

    fd = openSync(file, 'w');
    const small = chunk.subarray(0, 4096);
    let syncs = 0;
    const start = process.hrtime.bigint();
    const until = start + BigInt(Math.round(fsyncSeconds * 1e9));
    for (let i = 0; i < 1_000_000 && process.hrtime.bigint() < until; i++) {
      writeSync(fd, small, 0, small.length, (i % 256) * 4096);
      fdatasyncSync(fd);
      syncs++;
    }
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    closeSync(fd);
    return {
      path: dir,
      fsType: filesystemOf(dir),
      bytes,
      writeFsyncGBps: bytes / (Number(t2 - t0) / 1e9) / 1e9,
      pageCacheWriteGBps: bytes / (Number(t1 - t0) / 1e9) / 1e9,
      fsyncsPerSec: syncs / elapsed,
    };
  } finally {
    rmSync(file, { force: true });
  }
}
