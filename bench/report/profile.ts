// Summaries of V8 .cpuprofile files (from `--profile`, i.e. node --cpu-prof on the daemons): the
// functions with the most self time, so a missed target comes with what bounded it.

export interface ProfileLine {
  fn: string;
  /** file:line, shortened to the last two path segments */
  where: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** share of samples not idle */
  busyShare: number;
  top: ProfileLine[];
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

function isCpuProfile(x: unknown): x is CpuProfile {
  const p = x as Partial<CpuProfile> | null;
  return p !== null && typeof p === 'object' && Array.isArray(p.nodes) && Array.isArray(p.samples) && Array.isArray(p.timeDeltas);
}

export function summarizeProfile(file: string, json: unknown, topN = 12): ProfileSummary | null {
  if (!isCpuProfile(json)) return null;
  const nodes = new Map(json.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < json.samples.length; i++) {
    const n = nodes.get(json.samples[i]!);
    const dt = json.timeDeltas[i] ?? 0;
    if (n === undefined) continue;
    total += dt;
    const fn = n.callFrame.functionName === '' ? '(anonymous)' : n.callFrame.functionName;
    // Piscina workers park in Atomics.wait between tasks: asleep, not busy.
    if (fn === '(idle)' || fn === 'atomicsWaitLoop') idle += dt;
    const where = `${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
    const key = `${fn} ${where}`;
    const e = self.get(key) ?? { fn, where, us: 0 };
    e.us += dt;
    self.set(key, e);
  }
  const busy = total - idle;
  const top = [...self.values()]
    .filter((e) => e.fn !== '(idle)' && e.fn !== 'atomicsWaitLoop')
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.us / 1000, share: busy > 0 ? e.us / busy : 0 }));
  return { file, totalMs: total / 1000, busyShare: total > 0 ? busy / total : 0, top };
}
