// Running third-party command-line tools (s3cmd, rclone, restic, the aws CLI) from a test: whether
// one is installed, and a runner that gives each a HOME of the test's own and collects its output.

import { execFile, spawnSync } from 'node:child_process';

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
  const run = (cmd: string, args: string[], env: Record<string, string | undefined>): Promise<Run> =>
    new Promise((resolve) => {
      execFile(cmd, args, { env: { PATH: process.env.PATH, HOME: home, ...env }, maxBuffer: 32 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const ok = async (cmd: string, args: string[], env: Record<string, string | undefined>): Promise<Run> => {
    const r = await run(cmd, args, env);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
    return r;
  };
  return { run, ok };
}
