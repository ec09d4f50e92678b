// A Python environment with PyArrow and Polars for lake-programs.test.ts, made from wheels on disk
// (no index is asked): a venv under the system's temporary directory, keyed by the interpreter
// and the wheel file names, made once and reused by later runs (~7 s to make, 0 to reuse).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON_BIN } from './python.js';

/** Where the wheels are looked for (S3D_WHEELS overrides). */
export const WHEELS_DIR = process.env.S3D_WHEELS ?? '/opt/pypi/files';

/** The packages the venv holds (pip picks the versions the wheels directory has for this Python). */
const PACKAGES = ['pyarrow', 'polars'];

/** The venv's python, or why there is none (for tap's skip). */
export type LakeVenv = { python: string; versions: Record<string, string> } | { skip: string };

export function lakeVenv(): LakeVenv {
  let wheels: string[];
  try {
    wheels = readdirSync(WHEELS_DIR).filter((f) => /^(pyarrow|polars|polars_runtime[^-]*)-.*\.whl$/.test(f)).sort();
  } catch {
    return { skip: `no wheels directory ${WHEELS_DIR} (set S3D_WHEELS)` };
  }
  for (const p of PACKAGES) if (!wheels.some((w) => w.startsWith(`${p}-`))) return { skip: `no ${p} wheel in ${WHEELS_DIR}` };
  const version = spawnSync(PYTHON_BIN, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return { skip: 'python3 is not on PATH' };
  const key = createHash('sha256').update(`${PYTHON_BIN}\n${version.stdout}\n${wheels.join('\n')}`).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `s3d-lake-venv-${key}`);
  const python = join(dir, 'bin', 'python');
  if (!existsSync(join(dir, 'ready'))) {
    // Made aside and renamed into place: a run that finds the directory finds it whole.
    const building = `${dir}.${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    const steps: string[][] = [
      [PYTHON_BIN, '-m', 'venv', building],
      [join(building, 'bin', 'python'), '-m', 'pip', 'install', '--quiet', '--no-index', '--disable-pip-version-check', '--find-links', WHEELS_DIR, ...PACKAGES],
    ];
    for (const [cmd, ...args] of steps) {
      const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 180_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), PIP_NO_INPUT: '1' } });
      if (r.error || r.status !== 0) {
        rmSync(building, { recursive: true, force: true });
        return { skip: `no venv with ${PACKAGES.join(' and ')} from ${WHEELS_DIR}: ${(r.error?.message ?? r.stderr).trim().split('\n').slice(-2).join(' ')}` };
      }
    }
    writeFileSync(join(building, 'ready'), wheels.join('\n'));
    try {
      renameSync(building, dir);
    } catch {
      // Another run put its own in place first.
      rmSync(building, { recursive: true, force: true });
    }
  }
  const probe = spawnSync(python, ['-c', 'import json, pyarrow, polars; print(json.dumps({"pyarrow": pyarrow.__version__, "polars": polars.__version__}))'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skip: `the venv ${dir} cannot import pyarrow and polars: ${probe.stderr.trim().split('\n').at(-1)}` };
  return { python, versions: JSON.parse(probe.stdout) as Record<string, string> };
}
