// Python environments made from wheels on disk (no index is asked): PyArrow and Polars for
// lake-programs.test.ts, smart_open, cloudpathlib and boto3 for python-io-libs.test.ts. Each is a
// venv under the system's temporary directory, keyed by the interpreter and the wheel file names,
// made once and reused by later runs (~7 s to make, 0 to reuse).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON_BIN } from './python.js';

/** Where the wheels are looked for (S3D_WHEELS overrides). */
export const WHEELS_DIR = process.env.S3D_WHEELS ?? '/opt/pypi/files';

/** A venv's python and the versions of its packages, or why there is none (for tap's skip). */
export type LakeVenv = { python: string; versions: Record<string, string> } | { skip: string };

/** What a venv holds. */
interface VenvSpec {
  /** Names its directory (`s3d-NAME-venv-KEY`). */
  name: string;
  /** The packages pip installs (it picks the versions the wheels directory has for this Python). */
  packages: string[];
  /** The wheels whose names key the venv: the packages' and their dependencies'. */
  wheels: RegExp;
  /** The modules the venv must import, whose `__version__`s are reported. */
  modules: string[];
}

/** PyArrow and Polars. */
export function lakeVenv(): LakeVenv {
  return wheelVenv({ name: 'lake', packages: ['pyarrow', 'polars'], wheels: /^(pyarrow|polars|polars_runtime[^-]*)-.*\.whl$/, modules: ['pyarrow', 'polars'] });
}

/** smart_open and cloudpathlib over boto3. */
export function pythonIoVenv(): LakeVenv {
  return wheelVenv({
    name: 'pyio',
    packages: ['smart_open', 'cloudpathlib', 'boto3'],
    wheels: /^(smart_open|cloudpathlib|boto3|botocore|s3transfer|jmespath|urllib3|python_dateutil|six|wrapt|typing_extensions)-.*\.whl$/,
    modules: ['smart_open', 'cloudpathlib', 'boto3', 'botocore'],
  });
}

function wheelVenv(spec: VenvSpec): LakeVenv {
  const { packages } = spec;
  let wheels: string[];
  try {
    wheels = readdirSync(WHEELS_DIR).filter((f) => spec.wheels.test(f)).sort();
  } catch {
    return { skip: `no wheels directory ${WHEELS_DIR} (set S3D_WHEELS)` };
  }
  for (const p of packages) if (!wheels.some((w) => w.startsWith(`${p}-`))) return { skip: `no ${p} wheel in ${WHEELS_DIR}` };
  const version = spawnSync(PYTHON_BIN, ['-c', 'import sys; print(sys.version)'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return { skip: 'python3 is not on PATH' };
  const key = createHash('sha256').update(`${PYTHON_BIN}\n${version.stdout}\n${wheels.join('\n')}`).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `s3d-${spec.name}-venv-${key}`);
  const python = join(dir, 'bin', 'python');
  if (!existsSync(join(dir, 'ready'))) {
    // Made aside and renamed into place: a run that finds the directory finds it whole.
    const building = `${dir}.${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    const steps: string[][] = [
      [PYTHON_BIN, '-m', 'venv', building],
      [join(building, 'bin', 'python'), '-m', 'pip', 'install', '--quiet', '--no-index', '--disable-pip-version-check', '--find-links', WHEELS_DIR, ...packages],
    ];
    for (const [cmd, ...args] of steps) {
      const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 180_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), PIP_NO_INPUT: '1' } });
      if (r.error || r.status !== 0) {
        rmSync(building, { recursive: true, force: true });
        return { skip: `no venv with ${packages.join(', ')} from ${WHEELS_DIR}: ${(r.error?.message ?? r.stderr).trim().split('\n').slice(-2).join(' ')}` };
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
  const { modules } = spec;
  const report = modules.map((m) => `"${m}": ${m}.__version__`).join(', ');
  const probe = spawnSync(python, ['-c', `import json, ${modules.join(', ')}; print(json.dumps({${report}}))`], { encoding: 'utf8' });
  if (probe.status !== 0) return { skip: `the venv ${dir} cannot import ${modules.join(', ')}: ${probe.stderr.trim().split('\n').at(-1)}` };
  return { python, versions: JSON.parse(probe.stdout) as Record<string, string> };
}
