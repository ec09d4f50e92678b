// The aws CLI against a test daemon, isolated from the user's configuration: root test
// credentials, the test region, no pager, no instance metadata, optionally path-style addressing.
//
// Commands run through the aws CLI driver (aws-cli-driver.ts): one Python process per test
// process imports awscli once and runs each command in a fork of itself through the real `aws`
// script, over real sockets, with the command's own environment, directory and standard streams.
// That saves the ~0.5 s of CPU an `aws` process spends on imports, ~150 s over the suite. With
// S3D_TEST_AWS_PROCESS=1 every command is an `aws` process instead (as is the case when `aws` is no
// Python script, e.g. version 2); aws-cli-driver.test.ts runs both ways and compares them.

import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsCliDriver } from './aws-cli-driver.js';
import { ACCESS_KEY, REGION, SECRET_KEY } from './daemon.js';
import { pyenvProgram } from './python.js';

/** The aws executable (not pyenv's shim: see pyenvProgram). */
export const AWS_BIN: string = pyenvProgram('aws');

/** The Python that runs AWS_BIN (its `#!` line), when it is a Python script. */
const AWS_PYTHON: string | undefined = (() => {
  let head: string;
  try {
    head = readFileSync(AWS_BIN, { encoding: 'latin1' }).slice(0, 300).split('\n', 1)[0]!;
  } catch {
    return undefined;
  }
  const m = /^#!\s*(\S+)(?:\s+(\S+))?\s*$/.exec(head);
  if (m === null) return undefined;
  const program = m[1]!.endsWith('/env') ? m[2] : m[2] === undefined ? m[1] : undefined;
  return program !== undefined && /(^|\/)python[\d.]*$/.test(program) ? program : undefined;
})();

/** Whether the driver can run aws (it is a Python script), whatever S3D_TEST_AWS_PROCESS says. */
export const AWS_DRIVER_USABLE: boolean = AWS_PYTHON !== undefined;

/** Whether every command is an `aws` process rather than a fork of the driver. */
export const AWS_AS_PROCESS: boolean = process.env.S3D_TEST_AWS_PROCESS === '1' || AWS_PYTHON === undefined;

export interface AwsRunOptions {
  /** The whole environment of the command (as execFile's `env`). */
  env: Record<string, string | undefined>;
  /** Its working directory (this process's by default). */
  cwd?: string;
  /** Its standard input; without it, stdin reads as empty. */
  input?: Buffer | string;
  /** SIGTERM after this many milliseconds. */
  timeout?: number;
}

export interface AwsOutput {
  /** The exit status; null when a signal ended the command or it could not start. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** Runs `aws ARGS` as an `aws` process. */
export function runAwsProcess(args: string[], opts: AwsRunOptions): Promise<AwsOutput> {
  return new Promise((resolve) => {
    const child = execFile(AWS_BIN, args, { env: opts.env, cwd: opts.cwd, timeout: opts.timeout, encoding: 'buffer', maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, signal: e?.signal ?? null, stdout, stderr: e !== null && typeof e.code === 'string' ? Buffer.concat([stderr, Buffer.from(e.message)]) : stderr });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input);
  });
}

// What Python reads only when it starts (and AWS_DATA_PATH, which awscli reads on import): a
// driver is started with them, one driver per combination a test uses.
const STARTUP_ONLY = /^(PYTHON\w*|LANG|LC_\w+|AWS_DATA_PATH)$/;
const drivers = new Map<string, AwsCliDriver>();

/** The driver for a command's environment (started on its first command). */
export function awsCliDriver(env: Record<string, string | undefined>): AwsCliDriver {
  const startup = Object.entries(env).filter((e): e is [string, string] => STARTUP_ONLY.test(e[0]) && e[1] !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
  const key = JSON.stringify(startup);
  let driver = drivers.get(key);
  if (driver === undefined) {
    // HOME does not exist: Python finds no user site-packages, as in a test's scratch HOME.
    driver = new AwsCliDriver(AWS_PYTHON!, AWS_BIN, { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', ...Object.fromEntries(startup) });
    drivers.set(key, driver);
  }
  return driver;
}

/** Runs `aws ARGS` through the driver (or as a process: AWS_AS_PROCESS); resolves whatever its exit status. */
export async function runAws(args: string[], opts: AwsRunOptions): Promise<AwsOutput> {
  if (AWS_AS_PROCESS) return runAwsProcess(args, opts);
  const input = typeof opts.input === 'string' ? Buffer.from(opts.input) : opts.input;
  const r = await awsCliDriver(opts.env).run({ args, env: opts.env, cwd: opts.cwd ?? process.cwd(), input, timeoutMs: opts.timeout });
  return { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export interface AwsResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** runAws with its output as text, and status 1 for a command a signal ended or that did not start. */
export async function runAwsText(args: string[], opts: AwsRunOptions): Promise<AwsResult> {
  const r = await runAws(args, opts);
  return { code: r.code ?? 1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

/** `aws --version` as it prints it, or undefined when aws does not run. */
async function awsVersion(): Promise<string | undefined> {
  const env = { PATH: process.env.PATH };
  if (AWS_AS_PROCESS) {
    const r = spawnSync(AWS_BIN, ['--version'], { env, encoding: 'utf8' });
    return r.status === 0 ? (r.stdout || r.stderr).trim() : undefined;
  }
  const r = await runAws(['--version'], { env }).catch((err: Error) => ({ code: -1, stdout: Buffer.alloc(0), stderr: Buffer.from(err.message) }));
  if (r.code === 0) return r.stdout.toString().trim();
  // aws runs but the driver does not: fail loudly rather than skip every aws test.
  if (spawnSync(AWS_BIN, ['--version'], { env, stdio: 'ignore' }).status === 0) throw new Error(`aws runs, its driver does not (${r.code}); S3D_TEST_AWS_PROCESS=1 runs aws processes:\n${r.stderr.toString()}`);
  return undefined;
}

/** What `aws --version` prints, undefined without aws. */
export const AWS_VERSION: string | undefined = await awsVersion();

/** `false` when `aws` runs, else the reason to skip (for tap's `skip`). */
export const NO_AWS: false | string = AWS_VERSION !== undefined ? false : 'the aws CLI is not on PATH';

export interface AwsCli {
  /** Runs `aws --endpoint-url … <args>`; resolves with the exit code and output. */
  run(...args: string[]): Promise<AwsResult>;
  /** As run, but a non-zero exit rejects with stderr; resolves with stdout. */
  ok(...args: string[]): Promise<string>;
}

/**
 * The environment the CLI runs in: the test credentials and region, HOME and the config file
 * (`config`, written) in the scratch directory `home`, no shared credentials, instance metadata
 * or pager; `caFile` trusted for a TLS daemon.
 */
export function awsEnv(home: string, opts: { caFile?: string; config?: string } = {}): Record<string, string | undefined> & { AWS_CONFIG_FILE: string } {
  const AWS_CONFIG_FILE = join(home, 'aws-config');
  writeFileSync(AWS_CONFIG_FILE, opts.config ?? '[default]\n');
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_DEFAULT_REGION: REGION,
    ...(opts.caFile !== undefined ? { AWS_CA_BUNDLE: opts.caFile } : {}),
    AWS_CONFIG_FILE,
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    PYTHONWARNINGS: 'ignore',
  };
}

/** `home` is a scratch directory (HOME and the CLI's config file live there). */
export function awsCli(endpoint: string, home: string, opts: { pathStyle?: boolean; global?: string[] } = {}): AwsCli {
  const env = awsEnv(home, { config: opts.pathStyle ? '[default]\ns3 =\n    addressing_style = path\n' : '[default]\n' });
  const run = (...args: string[]): Promise<AwsResult> => runAwsText(['--endpoint-url', endpoint, ...(opts.global ?? []), ...args], { env });
  return {
    run,
    async ok(...args) {
      const r = await run(...args);
      if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
      return r.stdout;
    },
  };
}
