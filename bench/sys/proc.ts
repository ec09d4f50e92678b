// Readers for /proc (Linux): machine CPU totals, a process's CPU time and peak RSS, the peak-RSS
// reset, and a description of the machine and the data directory's filesystem.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, release, totalmem } from 'node:os';
import { resolve } from 'node:path';
import type { MachineInfo } from '../report/types.js';
import type { CpuSnapshot } from '../stats/cpu.js';

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Busy and total clock ticks over all CPUs since boot (first line of /proc/stat). */
export function readCpuTotals(): { busy: number; total: number } {
  const line = (readText('/proc/stat') ?? '').split('\n', 1)[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** utime + stime of a process (all threads) in clock ticks, or null when it is gone. */
export function readProcessTicks(pid: number): number | null {
  const text = readText(`/proc/${pid}/stat`);
  if (text === undefined) return null;
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12]);
}

function statusKiB(pid: number, name: string): number | null {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(readText(`/proc/${pid}/status`) ?? '');
  return m === null ? null : Number(m[1]);
}

/** VmHWM (peak resident set) in MiB. */
export function readPeakRssMiB(pid: number): number | null {
  const kib = statusKiB(pid, 'VmHWM');
  return kib === null ? null : kib / 1024;
}

export function readRssMiB(pid: number): number | null {
  const kib = statusKiB(pid, 'VmRSS');
  return kib === null ? null : kib / 1024;
}

/** Resets VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`); false when not permitted. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

let ticks: number | undefined;
export function clockTicks(): number {
  if (ticks !== undefined) return ticks;
  try {
    ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    ticks = 100;
  }
  return ticks;
}

export function cpuSnapshot(serverPid: number | null): CpuSnapshot {
  const u = process.cpuUsage();
  const totals = readCpuTotals();
  return {
    busyTicks: totals.busy,
    totalTicks: totals.total,
    serverTicks: serverPid === null ? null : readProcessTicks(serverPid),
    clientMicros: u.user + u.system,
  };
}

/** "ext4 on /dev/vda (/)" for the mount that holds `path`. */
export function filesystemOf(path: string): string {
  const target = resolve(path);
  let best = { mount: '', text: 'unknown' };
  for (const line of (readText('/proc/mounts') ?? '').split('\n')) {
    const [dev, mount, type] = line.split(' ');
    if (dev === undefined || mount === undefined || type === undefined) continue;
    const m = mount.replace(/\\040/g, ' ');
    const inside = target === m || target.startsWith(m.endsWith('/') ? m : `${m}/`);
    if (inside && m.length >= best.mount.length) best = { mount: m, text: `${type} on ${dev} (${m})` };
  }
  return best.text;
}

export function machineInfo(dataDir: string): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    openssl: process.versions.openssl ?? 'unknown',
    hostname: hostname(),
    dataDirFs: filesystemOf(dataDir),
    clockTicks: clockTicks(),
  };
}
