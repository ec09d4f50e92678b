// Running third-party command-line tools (s3cmd, rclone, restic, the aws CLI) from a test: whether
// one is installed, and a runner that gives each a HOME of the test's own and collects its output.
// The aws CLI (AWS_BIN) runs through aws-cli.ts's runAws, by default without an `aws` process.

import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ACCESS_KEY, REGION, SECRET_KEY } from './daemon.js';

/** false when `tool` runs, otherwise why its tests are skipped (tap's `skip`). */
export function missing(tool: string): false | string {
  return spawnSync(tool, ['version'], { stdio: 'ignore' }).error === undefined ? false : `${tool} is not on PATH`;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `run` resolves with the exit code and output whatever they are; `ok` throws with both on a
 * non-zero exit. The child sees PATH, HOME=`home` and `env` only, for at most two minutes.
 */
export function toolRunner(home: string): {
  run(cmd: string, args: string[], env: Record<string, string | undefined>): Promise<Run>;
  ok(cmd: string, args: string[], env: Record<string, string | undefined>): Promise<Run>;
} {
  const run = async (cmd: string, args: string[], env: Record<string, string | undefined>): Promise<Run> => {
    const fullEnv = { PATH: process.env.PATH, HOME: home, ...env };
    if (basename(cmd) === 'aws') {
      // Imported here: a test without aws does not start (or probe) it.
      const { AWS_BIN, runAwsText } = await import('./aws-cli.js');
      if (cmd === AWS_BIN) return runAwsText(args, { env: fullEnv, timeout: 120_000 });
    }
    return new Promise((resolve) => {
      execFile(cmd, args, { env: fullEnv, maxBuffer: 32 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  };
  const ok = async (cmd: string, args: string[], env: Record<string, string | undefined>): Promise<Run> => {
    const r = await run(cmd, args, env);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
    return r;
  };
  return { run, ok };
}

/** rclone's configuration in its environment: one remote `s3d:` at `endpoint`, path-style (its config file `configFile`, made empty). */
export function rcloneEnv(configFile: string, endpoint: string): Record<string, string> {
  writeFileSync(configFile, '');
  return {
    RCLONE_CONFIG: configFile,
    RCLONE_CONFIG_S3D_TYPE: 's3',
    RCLONE_CONFIG_S3D_PROVIDER: 'Other',
    RCLONE_CONFIG_S3D_ACCESS_KEY_ID: ACCESS_KEY,
    RCLONE_CONFIG_S3D_SECRET_ACCESS_KEY: SECRET_KEY,
    RCLONE_CONFIG_S3D_ENDPOINT: endpoint,
    RCLONE_CONFIG_S3D_REGION: REGION,
    RCLONE_CONFIG_S3D_FORCE_PATH_STYLE: 'true',
  };
}

/** Writes an s3cmd configuration for `endpoint` (SigV4, path-style); over HTTPS its certificates are checked against `caFile`. */
export function writeS3cmdConfig(file: string, endpoint: string, caFile?: string): void {
  const url = new URL(endpoint);
  const tls = url.protocol === 'https:'
    ? ['use_https = True', `ca_certs_file = ${caFile ?? ''}`, 'check_ssl_certificate = True', 'check_ssl_hostname = False']
    : ['use_https = False', 'check_ssl_certificate = False'];
  writeFileSync(
    file,
    ['[default]', `access_key = ${ACCESS_KEY}`, `secret_key = ${SECRET_KEY}`, `host_base = ${url.host}`, `host_bucket = ${url.host}`, `bucket_location = ${REGION}`, ...tls, 'signature_v2 = False', 'progress_meter = False', ''].join('\n'),
  );
}
