// The aws CLI against a test daemon, isolated from the user's configuration: root test
// credentials, the test region, no pager, no instance metadata, optionally path-style addressing.

import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACCESS_KEY, REGION, SECRET_KEY } from './daemon.js';
import { pyenvProgram } from './python.js';

/** The aws executable (not pyenv's shim: see pyenvProgram). */
export const AWS_BIN: string = pyenvProgram('aws');

/** `false` when `aws` runs, else the reason to skip (for tap's `skip`). */
export const NO_AWS: false | string = spawnSync(AWS_BIN, ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'the aws CLI is not on PATH';

export interface AwsResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface AwsCli {
  /** Runs `aws --endpoint-url … <args>`; resolves with the exit code and output. */
  run(...args: string[]): Promise<AwsResult>;
  /** As run, but a non-zero exit rejects with stderr; resolves with stdout. */
  ok(...args: string[]): Promise<string>;
}

/** `home` is a scratch directory (HOME and the CLI's config file live there). */
export function awsCli(endpoint: string, home: string, opts: { pathStyle?: boolean; global?: string[] } = {}): AwsCli {
  const config = join(home, 'aws-config');
  writeFileSync(config, opts.pathStyle ? '[default]\ns3 =\n    addressing_style = path\n' : '[default]\n');
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    PYTHONWARNINGS: 'ignore',
  };
  const run = (...args: string[]): Promise<AwsResult> =>
    new Promise((resolve) => {
      execFile(AWS_BIN, ['--endpoint-url', endpoint, ...(opts.global ?? []), ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  return {
    run,
    async ok(...args) {
      const r = await run(...args);
      if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
      return r.stdout;
    },
  };
}
