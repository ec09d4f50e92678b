// Object sizes as the bench names them (4KiB, 1MiB, 64MiB …) and the object-name scheme that
// lets the null server answer a GET with the right number of bytes without any state.

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

export function sizeLabel(bytes: number): string {
  for (const unit of ['GiB', 'MiB', 'KiB'] as const) {
    const u = UNITS[unit]!;
    if (bytes >= u && bytes % u === 0) return `${bytes / u}${unit}`;
  }
  return `${bytes}B`;
}

export function parseSizeLabel(label: string): number | undefined {
  const m = /^(\d+)(B|KiB|MiB|GiB)$/.exec(label);
  if (m === null) return undefined;
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** Object names start with the size label: `${label}/${series}/…`. */
export function objectPrefix(bytes: number, series: string): string {
  return `${sizeLabel(bytes)}/${series}/`;
}

/** The size encoded in a request path `/bucket/<label>/…`, or undefined. */
export function sizeFromPath(path: string): number | undefined {
  const parts = path.split('/');
  return parts.length >= 3 ? parseSizeLabel(parts[2]!) : undefined;
}
