// CPU accounting for one measured window (pure): server and client CPU from their counters,
// everyone else's share of the machine from /proc/stat totals (perf-limits.md "noise accounting").

import type { CpuFigures } from '../report/types.js';
import { NOISY_OTHER_CPU } from './summary.js';

export interface CpuSnapshot {
  /** /proc/stat, all CPUs, in clock ticks */
  busyTicks: number;
  totalTicks: number;
  /** utime + stime of the server process in clock ticks; null when not measurable */
  serverTicks: number | null;
  /** process.cpuUsage() of the bench process (user + system), µs */
  clientMicros: number;
}

export function cpuFigures(a: CpuSnapshot, b: CpuSnapshot, ticksPerSecond: number, ops: number, bytes: number): CpuFigures {
  const serverS = a.serverTicks === null || b.serverTicks === null ? null : (b.serverTicks - a.serverTicks) / ticksPerSecond;
  const clientS = (b.clientMicros - a.clientMicros) / 1e6;
  const busy = b.busyTicks - a.busyTicks;
  const total = b.totalTicks - a.totalTicks;
  const busyShare = total > 0 ? busy / total : Number.NaN;
  const ours = ((serverS ?? 0) + clientS) * ticksPerSecond;
  const otherShare = total > 0 ? Math.min(1, Math.max(0, busy - ours) / total) : Number.NaN;
  const gb = bytes / 1e9;
  return {
    serverS,
    serverSecPerGB: serverS === null || gb <= 0 ? null : serverS / gb,
    serverUsPerOp: serverS === null || ops <= 0 ? null : (serverS * 1e6) / ops,
    clientS,
    clientUsPerOp: ops > 0 ? (clientS * 1e6) / ops : Number.NaN,
    clientNsPerByte: bytes > 0 ? (clientS * 1e9) / bytes : null,
    otherShare,
    busyShare,
    noisy: otherShare > NOISY_OTHER_CPU,
  };
}
