// Reading systemd unit files (key=value lines under [Section] headers) for the unit tests.

import { join } from 'node:path';
import { ROOT } from './root.js';

/** Where docs/operations.md installs s3d; the units name files there. */
export const INSTALL_ROOT = '/opt/s3d';

/** A path under INSTALL_ROOT as the same file in this checkout (other paths unchanged). */
export function inCheckout(path: string): string {
  return path.startsWith(`${INSTALL_ROOT}/`) ? join(ROOT, path.slice(INSTALL_ROOT.length + 1)) : path;
}

export type Unit = Map<string, Array<[string, string]>>;

export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      if (!unit.has(section)) unit.set(section, []);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`not a key=value line: ${line}`);
    unit.get(section)!.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** Last assignment wins, as in systemd (an empty assignment resets list settings). */
export function get(unit: Unit, section: string, key: string): string | undefined {
  const all = (unit.get(section) ?? []).filter(([k]) => k === key);
  return all.length === 0 ? undefined : all[all.length - 1]![1];
}
