// Python (boto3) against a test daemon, isolated from the user's AWS configuration: no config or
// credentials files, no instance metadata; a boto3 installed with `pip --user` is still found
// with HOME moved to a scratch directory.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The program behind a command pyenv manages (python3, aws). pyenv's shim is a bash script that
 * runs `pyenv exec` first, ~0.3 s of CPU per call (a third of an aws CLI call): tests call the
 * program the shim would run. Without pyenv, the name itself.
 */
export function pyenvProgram(name: string): string {
  const r = spawnSync('pyenv', ['which', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : name;
}

export const PYTHON_BIN: string = pyenvProgram('python3');

/** The environment for python3 with HOME at `home` (a scratch directory), plus `extra`. */
export function pythonEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    PYTHONDONTWRITEBYTECODE: '1',
    ...extra,
  };
  for (const k of ['PYENV_ROOT', 'PYENV_VERSION', 'VIRTUAL_ENV', 'PYTHONPATH']) if (process.env[k]) env[k] = process.env[k]!;
  if (USER_BASE !== undefined) env.PYTHONUSERBASE = USER_BASE;
  return env;
}

/** Where `pip --user` puts packages for the real HOME (undefined without python3). */
const USER_BASE: string | undefined = (() => {
  const r = spawnSync(PYTHON_BIN, ['-c', 'import site; print(site.getuserbase())'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : undefined;
})();

/** `false` when python3 can import boto3 (with pythonEnv), else the reason to skip (for tap's `skip`). */
export function noBoto3(env: Record<string, string>): false | string {
  const probe = spawnSync(PYTHON_BIN, ['-c', 'import boto3'], { env, encoding: 'utf8' });
  return probe.error ? 'python3 is not on PATH' : probe.status !== 0 ? 'python3 cannot import boto3' : false;
}

/**
 * The start of a boto3 script that reports what each call gave: `attempt(name, fn)` puts
 * `{"ok": result}` or `{"code": S3 error code, "status": HTTP status}` under `name` in `out`,
 * which the script prints as JSON at its end.
 */
export const BOTO3_ATTEMPTS = `
import json, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
out = {}
def attempt(name, fn):
    try:
        out[name] = {'ok': fn()}
    except ClientError as e:
        out[name] = {'code': e.response['Error']['Code'], 'status': e.response['ResponseMetadata']['HTTPStatusCode']}
`;
