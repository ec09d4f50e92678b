// The s3d command line, run by main.ts: which command, and its exit status. Each command's
// module is loaded only for it: `s3d --version`, `--help` and a usage error load none of the
// server (~0.45 s of CPU: uWebSockets.js, LMDB, pino, prom-client and the daemon's modules),
// `s3d backup` not the HTTP front end, KMS or crypto pool either.

import { releaseEarlyHup } from './early-signals.js';
import { versionLine } from './version.js';

const USAGE = `usage: s3d server DIR [--dev]
       s3d verify DIR [--deep] [--bucket NAME] [--dev]
       s3d backup DIR DEST [--no-space-check]
       s3d backup DIR --into ROOT [--keep N] [--no-space-check]
       s3d metrics-token [--dev]
       s3d --version

  server  serves DIR over the S3 API
          DIR     data directory (created if missing)
          --dev   development mode: built-in credentials and a generated KMS key (never in production)
  verify  checks that every stored object version in DIR can be read back (s3d verify --help)
  backup  copies DIR, while it is served, into a new data directory DEST, or into a new
          ROOT/<UTC timestamp>, keeping the newest N there (s3d backup --help)
  metrics-token  prints a bearer token of the root user (S3_ROOT_USER, S3_ROOT_PASSWORD) for
          Prometheus to read the metrics with (S3_PROMETHEUS_AUTH_TYPE=jwt, the default; a user
          allowed admin:Prometheus gets its own from mc admin prometheus generate; s3d metrics-token --help)

Configuration comes from S3_* environment variables; see README.md.`;

/**
 * What is wrong with `args` as `server DIR [--dev]`: '' for no command at all (the usage says
 * it), undefined when nothing is. Any argument starting with "-" is an option: `-dev` served a
 * new, empty directory of that name (./-dev is a DIR).
 */
function serverUsageError(args: string[]): string | undefined {
  if (args.length === 0) return '';
  if (args[0] === '--version' || args[0] === 'version') return `${args[0]} takes no arguments`;
  if (args[0] !== 'server') return `unknown command ${JSON.stringify(args[0])}`;
  const rest = args.slice(1);
  const unknown = rest.find((a) => a.startsWith('-') && a !== '--dev');
  if (unknown !== undefined) return `unknown option ${unknown}`;
  const positional = rest.filter((a) => !a.startsWith('-'));
  if (positional.length === 0) return 'no DIR given';
  if (positional.length > 1) return `one DIR only, got ${positional.length}: ${positional.map((p) => JSON.stringify(p)).join(' ')}`;
  // An empty DIR (an unset variable in "$DIR") would resolve to the working directory and serve it.
  if (positional[0] === '') return 'an empty DIR (an unset variable?)';
  return undefined;
}

/**
 * Reads the secrets named by S3_*_FILE variables into the environment (secret-files.ts), for the
 * commands that read secrets (not backup, which reads none: a credential it cannot read must not
 * fail the backups). Undefined when done (the warnings, if any, are in `warnings`), else the exit
 * status of a configuration error, which it has written.
 */
async function secretsFromFiles(command: string, err: (l: string) => void, warnings: string[]): Promise<number | undefined> {
  const { applySecretFiles } = await import('./secret-files.js');
  const { ConfigError } = await import('./config.js');
  try {
    warnings.push(...applySecretFiles(process.env));
    return undefined;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(`s3d${command === 'server' ? '' : ` ${command}`}: configuration error: ${e.message}`);
    return 2;
  }
}

async function main(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  const out = (l: string): void => void process.stdout.write(l + '\n');
  const err = (l: string): void => void process.stderr.write(l + '\n');
  const secretWarnings: string[] = [];
  // A command's help reads no secret: `s3d verify --help` run with the service's environment
  // failed (exit 2) on a secret file it could not read, before saying how to use it.
  const asksHelp = args.includes('--help') || args.includes('-h');
  if (!asksHelp && (args[0] === 'verify' || args[0] === 'backup' || args[0] === 'metrics-token')) {
    const failed = args[0] === 'backup' ? undefined : await secretsFromFiles(args[0], err, secretWarnings);
    // The S3_* variables no part of s3d reads (a misspelling, a MinIO name), as the server warns
    // of them (config.ts; one only the server reads is not warned of here): a misspelling in
    // the shared env file (of S3_MIN_FREE_DISK, the reserve a backup leaves, or of the key a deep
    // verify needs) was silently not applied. After a configuration error too.
    const { unknownVariableWarnings } = await import('./config.js');
    for (const w of [...secretWarnings, ...unknownVariableWarnings(process.env)]) err(`s3d ${args[0]}: warning: ${w}`);
    if (failed !== undefined) return failed;
  }
  if (args[0] === 'verify') {
    releaseEarlyHup();
    const { verifyCommand } = await import('./verify.js');
    return verifyCommand(args.slice(1), process.env, out, err);
  }
  if (args[0] === 'backup') {
    releaseEarlyHup();
    const { backupCommand } = await import('./backup.js');
    return backupCommand(args.slice(1), out, err);
  }
  if (args[0] === 'metrics-token') {
    releaseEarlyHup();
    return metricsTokenCommand(args.slice(1), process.env, out, err);
  }
  if (args.length === 1 && (args[0] === '--version' || args[0] === 'version')) {
    releaseEarlyHup();
    out(versionLine());
    return 0;
  }
  if (asksHelp) {
    // Asked for: on stdout (`s3d --help | less`); after a usage error: on stderr.
    out(USAGE);
    return 0;
  }
  const usageError = serverUsageError(args);
  if (usageError !== undefined) {
    // What is wrong first: a usage alone leaves a typo (serve, -dev) to be found by eye.
    process.stderr.write(`${usageError === '' ? '' : `s3d: ${usageError}\n`}${USAGE}\n`);
    return 2;
  }
  const failed = await secretsFromFiles('server', err, secretWarnings);
  if (failed !== undefined) return failed;
  const { serve } = await import('./cli.js');
  return serve(args, secretWarnings);
}

const METRICS_TOKEN_USAGE = `usage: s3d metrics-token [--dev]

  Prints a bearer token of the root user (S3_ROOT_USER and S3_ROOT_PASSWORD, or their _FILE
  twins; with --dev and neither set, the development credentials of s3d server --dev) for
  Prometheus to read the metrics with (S3_PROMETHEUS_AUTH_TYPE=jwt, the default): HS512, issuer
  prometheus, valid 100 years. A new root password makes every token invalid. Run it with the
  service's environment (docs/operations.md, Health and metrics).

  Exit status: 0 the token is on stdout; 2 usage, or the credentials are missing or invalid.`;

/**
 * `s3d metrics-token [--dev]`: a bearer token for the metrics (S3_PROMETHEUS_AUTH_TYPE=jwt, the
 * default), of the root user in S3_ROOT_USER and S3_ROOT_PASSWORD (with --dev and neither set, the
 * development credentials `s3d server --dev` uses), valid 100 years, as `mc admin prometheus
 * generate` makes them. A new root password makes every token invalid.
 */
async function metricsTokenCommand(args: string[], env: NodeJS.ProcessEnv, out: (l: string) => void, err: (l: string) => void): Promise<number> {
  // As `s3d verify --help` and `s3d backup --help`: the usage on stdout, exit 0 (it was a usage
  // error, `unknown argument "--help"`, exit 2).
  if (args.includes('--help') || args.includes('-h')) {
    out(METRICS_TOKEN_USAGE);
    return 0;
  }
  const unknown = args.find((a) => a !== '--dev');
  if (unknown !== undefined) {
    err(`s3d metrics-token: unknown argument ${JSON.stringify(unknown)}\n${METRICS_TOKEN_USAGE}`);
    return 2;
  }
  const { ConfigError, rootCredentials } = await import('./config.js');
  const { metricsToken } = await import('./admin/metrics-auth.js');
  try {
    const { rootUser, rootPassword, warnings } = rootCredentials(env, args.includes('--dev'));
    // As the server logs them: the placeholder password of the example s3d.env signs this token
    // too, and anyone who has read that file can make it (or sign as root).
    for (const w of warnings) err(`s3d metrics-token: warning: ${w}`);
    out(metricsToken(rootUser, rootPassword));
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(`s3d metrics-token: ${e.message}`);
    return 2;
  }
}

/** Runs the command line of this process and exits with its status (called by main.ts). */
export function run(): void {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
      // uWS and worker threads are closed by now; exit promptly even if a stray handle lingers.
      setTimeout(() => process.exit(code), 200).unref();
    },
    (err: unknown) => {
      process.stderr.write(`s3d: fatal: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
