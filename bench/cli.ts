// Command-line options of `npm run bench` (pure parsing, validated up front, errors name the flag).

export interface BenchOptions {
  quick: boolean;
  /** target an existing server instead of starting s3d */
  endpoint?: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** the existing server's PID, for CPU and RSS figures (endpoint mode only) */
  serverPid?: number;
  /** PEM file to trust for an https --endpoint (e.g. its self-signed certificate) */
  caFile?: string;
  outDir: string;
  /** parent of the temp data dir (default: the OS temp dir) */
  tmpDir?: string;
  rounds: number;
  warmupS: number;
  measureS: number;
  /** load worker threads */
  workers: number;
  /** start the daemons under node --cpu-prof and summarize where their time went */
  profile: boolean;
  help: boolean;
  /** --rounds, --warmup, --measure or --workers given: not the standard run the docs publish */
  customTiming: boolean;
}

export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export const USAGE = `usage: npm run bench -- [--quick] [options]

  --quick                 the short run (< 3 minutes on 2 cores): fewer sizes, 3 A/B rounds
  --endpoint URL          benchmark an existing S3 server instead of starting s3d
  --access-key KEY        credentials for --endpoint (default: the bench's own)
  --secret-key SECRET
  --region REGION         default us-east-1
  --server-pid PID        PID of the --endpoint server, for its CPU and peak RSS
  --ca FILE               PEM certificate to trust for an https --endpoint
  --out DIR               where results go (default bench/results)
  --tmp DIR               parent of the temporary data directory (default: OS temp dir)
  --rounds N              A/B rounds per target (default 3 quick, 5 full)
  --warmup S, --measure S seconds of warm-up and of measurement per run
  --workers N             load generator threads (default 2)
  --profile               run the daemons under node --cpu-prof; the top functions go in the report
`;

const DEFAULT_KEY = 's3dbench';
const DEFAULT_SECRET = 's3dbench-secret-key';

function num(flag: string, raw: string | undefined, min: number, max: number, integer: boolean): number {
  if (raw === undefined || raw.startsWith('--')) throw new CliError(`${flag} needs a value`);
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new CliError(`${flag} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got "${raw}"`);
  }
  return v;
}

function str(flag: string, raw: string | undefined): string {
  if (raw === undefined || raw === '' || raw.startsWith('--')) throw new CliError(`${flag} needs a value`);
  return raw;
}

export function parseCli(argv: readonly string[], defaultOut: string): BenchOptions {
  let quick = false;
  let help = false;
  let profile = false;
  const o: Partial<BenchOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--quick': quick = true; break;
      case '--full': quick = false; break;
      case '--help': case '-h': help = true; break;
      case '--profile': profile = true; break;
      case '--endpoint': o.endpoint = str(flag, value()); break;
      case '--access-key': o.accessKey = str(flag, value()); break;
      case '--secret-key': o.secretKey = str(flag, value()); break;
      case '--region': o.region = str(flag, value()); break;
      case '--server-pid': o.serverPid = num(flag, value(), 1, 2 ** 31, true); break;
      case '--ca': o.caFile = str(flag, value()); break;
      case '--out': o.outDir = str(flag, value()); break;
      case '--tmp': o.tmpDir = str(flag, value()); break;
      case '--rounds': o.rounds = num(flag, value(), 1, 50, true); break;
      case '--warmup': o.warmupS = num(flag, value(), 0, 600, false); break;
      case '--measure': o.measureS = num(flag, value(), 0.2, 3600, false); break;
      case '--workers': o.workers = num(flag, value(), 1, 64, true); break;
      default: throw new CliError(`unknown option "${a}"`);
    }
  }
  if (o.endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(o.endpoint);
    } catch {
      throw new CliError(`--endpoint must be a URL like http://127.0.0.1:9000, got "${o.endpoint}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('--endpoint must be http:// or https://');
    if (url.pathname !== '/' && url.pathname !== '') throw new CliError('--endpoint must not have a path');
  } else if (o.serverPid !== undefined || o.caFile !== undefined) {
    throw new CliError('--server-pid and --ca only apply with --endpoint');
  }
  if ((o.accessKey === undefined) !== (o.secretKey === undefined)) throw new CliError('--access-key and --secret-key go together');
  return {
    quick,
    help,
    profile,
    endpoint: o.endpoint?.replace(/\/$/, ''),
    accessKey: o.accessKey ?? DEFAULT_KEY,
    secretKey: o.secretKey ?? DEFAULT_SECRET,
    region: o.region ?? 'us-east-1',
    serverPid: o.serverPid,
    caFile: o.caFile,
    outDir: o.outDir ?? defaultOut,
    tmpDir: o.tmpDir,
    rounds: o.rounds ?? (quick ? 3 : 5),
    warmupS: o.warmupS ?? (quick ? 0.3 : 1.5),
    measureS: o.measureS ?? (quick ? 1 : 5),
    workers: o.workers ?? 2,
    customTiming: o.rounds !== undefined || o.warmupS !== undefined || o.measureS !== undefined || o.workers !== undefined,
  };
}
