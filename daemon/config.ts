// Environment (`S3_*`) and CLI flags → one frozen, validated config. Every error names the
// variable or flag that caused it, so a failed start tells the operator what to fix.

import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { accessSync, constants, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROMETHEUS_AUTH_TYPES, type PrometheusAuth } from './admin/metrics-auth.js';
import { parseCorsOrigins } from './http/cors.js';
import { ipRange, type IpRange } from './ip-ranges.js';
import { loadNotifyConfig, NotifyConfigError, type NotifyConfig } from './notify/targets.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface Config {
  readonly dataDir: string;
  readonly dev: boolean;
  readonly rootUser: string;
  readonly rootPassword: string;
  readonly host: string;
  /**
   * S3_ADDRESS `:PORT` (no host): `host` is `::`, every address, IPv6 and IPv4 (dual-stack), as
   * MinIO's `:9000` is; this (0.0.0.0) where the machine has no IPv6 (http/listener.ts listen).
   */
  readonly hostFallback?: string;
  readonly port: number;
  readonly region: string;
  /** Virtual-host-style requests are recognised under these domains. */
  readonly domains: readonly string[];
  /**
   * S3_CERTS_DIR: its public.crt and private.key (the default certificate); `dir` is looked into
   * for per-domain certificates (http/tls-sni.ts) at each load and reload.
   */
  readonly tls: { readonly dir: string; readonly certFile: string; readonly keyFile: string } | null;
  readonly logLevel: string;
  /** Which requests get a log line (S3_ACCESS_LOG): none, the failed ones (default), or all. */
  readonly accessLog: AccessLogMode;
  /** Who may read the metrics (S3_PROMETHEUS_AUTH_TYPE): the root user's bearer token (jwt, default) or anyone. */
  readonly prometheusAuth: PrometheusAuth;
  readonly cryptoWorkers: number;
  readonly autoEncryption: boolean;
  /**
   * Block Public Access for every bucket (S3_BLOCK_PUBLIC_ACCESS), as S3's account-level setting:
   * all four settings on, whatever each bucket's own block says.
   */
  readonly blockPublicAccess: boolean;
  readonly shutdownTimeoutMs: number;
  /** Objects whose stored size is at most this many bytes live inside LMDB, not in a file. */
  readonly inlineThreshold: number;
  /** Reads of data files up to this many bytes per request are synchronous (0: never). */
  readonly syncReadMax: number;
  /** Write data files with O_DIRECT where the filesystem allows it (S3_DIRECT_IO, default on). */
  readonly directIo: boolean;
  /** Load the uWebSockets.js binary copy with the parser patch (S3_HTTP_PARSER_PATCH, default on; http/uws.ts). */
  readonly httpParserPatch: boolean;
  /** Accept AWS Signature Version 2 requests (S3_SIGV2, default on). */
  readonly sigV2: boolean;
  /** Origins allowed for CORS (S3_API_CORS_ALLOW_ORIGIN): ['*'] any (default), [] none. */
  readonly corsOrigins: readonly string[];
  /**
   * Reverse proxies (S3_TRUSTED_PROXIES) whose X-Forwarded-For and X-Forwarded-Proto say who the
   * client is and whether it came over HTTPS; none by default (the TCP peer is the client).
   */
  readonly trustedProxies: readonly IpRange[];
  /** Multipart uploads older than this are aborted (S3_API_STALE_UPLOADS_EXPIRY; 0: never). */
  readonly staleUploadsExpiryMs: number;
  /** How often stale uploads are looked for (S3_API_STALE_UPLOADS_CLEANUP_INTERVAL). */
  readonly staleUploadsIntervalMs: number;
  /** How often lifecycle rules are carried out (S3_LIFECYCLE_SCAN_INTERVAL). */
  readonly lifecycleScanIntervalMs: number;
  /** How often per-bucket usage is added up for the metrics (S3_USAGE_SCAN_INTERVAL); 0: never. */
  readonly usageScanIntervalMs: number;
  /** Free space new object data must leave on the data filesystem (S3_MIN_FREE_DISK). */
  readonly minFreeDisk: MinFreeDisk;
  /** Webhook targets of bucket event notifications (S3_NOTIFY_WEBHOOK_*). */
  readonly notify: NotifyConfig;
  /** The users file (S3_IAM_FILE, auth/users.ts); null: the root user is the only one. */
  readonly iamFile: string | null;
  /** ListenBucketNotification/ListenNotification streams open at once (S3_LISTEN_MAX; 0: no limit). */
  readonly listenMax: number;
  /** Requests moving object data through files at once (S3_DATA_REQUESTS_MAX; 0: no limit). */
  readonly dataRequestsMax: number;
  /** How long a request waits for a place before 503 SlowDown (S3_DATA_REQUESTS_WAIT). */
  readonly dataRequestsWaitMs: number;
  readonly warnings: readonly string[];
}

export type AccessLogMode = 'off' | 'errors' | 'all';
const ACCESS_LOG_MODES: readonly AccessLogMode[] = ['off', 'errors', 'all'];

/**
 * The free-space reserve: the smaller of `bytes` and `percent` % of the filesystem's size
 * (Infinity: that bound is not set). Both 0: off, writes go on until the filesystem is full.
 */
export interface MinFreeDisk {
  readonly bytes: number;
  readonly percent: number;
}

/**
 * Default reserve: 1 % of the filesystem (MinIO refuses writes past 99 % full), at most 1 GiB so
 * that a large disk does not keep hundreds of GB back; it leaves LMDB room for deletes and
 * metadata updates and absorbs what concurrent uploads of unknown length write past the check.
 */
export const DEFAULT_MIN_FREE_DISK: MinFreeDisk = Object.freeze({ bytes: 1024 ** 3, percent: 1 });

/**
 * Every S3_* variable s3d reads (S3_NOTIFY_WEBHOOK_* are judged by notify/targets.ts, which
 * refuses what it does not know). Another S3_* name is most likely a misspelt one, whose setting
 * would silently not apply: the start-up warns about it (not an error: other tools' S3_*
 * variables may share the environment).
 */
export const KNOWN_VARIABLES: ReadonlySet<string> = new Set([
  'S3_ACCESS_LOG', 'S3_ADDRESS', 'S3_API_CORS_ALLOW_ORIGIN', 'S3_API_STALE_UPLOADS_CLEANUP_INTERVAL', 'S3_API_STALE_UPLOADS_EXPIRY',
  'S3_BLOCK_PUBLIC_ACCESS', 'S3_CERTS_DIR', 'S3_CRYPTO_WORKERS', 'S3_DATA_REQUESTS_MAX', 'S3_DATA_REQUESTS_WAIT', 'S3_DIRECT_IO', 'S3_DOMAIN', 'S3_HTTP_PARSER_PATCH', 'S3_IAM_FILE', 'S3_INLINE_THRESHOLD', 'S3_KMS_AUTO_ENCRYPTION',
  'S3_KMS_BATCH_WINDOW_MS', 'S3_KMS_CACHE_GRACE', 'S3_KMS_CACHE_SIZE', 'S3_KMS_CACHE_TTL', 'S3_KMS_KES_API_KEY', 'S3_KMS_KES_CAPATH',
  'S3_KMS_KES_CERT_FILE', 'S3_KMS_KES_ENDPOINT', 'S3_KMS_KES_KEY_FILE', 'S3_KMS_KES_KEY_NAME', 'S3_KMS_KES_KEY_PASSWORD',
  'S3_KMS_KES_TIMEOUT', 'S3_KMS_MAX_IN_FLIGHT', 'S3_KMS_SECRET_KEY', 'S3_LIFECYCLE_SCAN_INTERVAL', 'S3_LISTEN_MAX', 'S3_LOG_LEVEL', 'S3_MIN_FREE_DISK', 'S3_NATIVE_AES',
  'S3_NATIVE_CRC', 'S3_PROMETHEUS_AUTH_TYPE',
  'S3_REGION', 'S3_ROOT_PASSWORD', 'S3_ROOT_USER', 'S3_SHUTDOWN_TIMEOUT', 'S3_SIGV2', 'S3_SYNC_READ_MAX', 'S3_TRUSTED_PROXIES', 'S3_USAGE_SCAN_INTERVAL',
  // The secrets' file twins (secret-files.ts), removed from the environment once read.
  'S3_ROOT_USER_FILE', 'S3_ROOT_PASSWORD_FILE', 'S3_KMS_SECRET_KEY_FILE', 'S3_KMS_KES_KEY_PASSWORD_FILE', 'S3_KMS_KES_API_KEY_FILE',
]);

/** Levenshtein distance, for naming the variable a misspelt one probably meant. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * A warning for each S3_* variable s3d does not read, naming the closest one it does; and for
 * each MinIO variable whose S3_* twin s3d reads: a setting carried over from a MinIO deployment
 * (MINIO_KMS_SECRET_KEY, MINIO_KMS_AUTO_ENCRYPTION=on) was silently ignored, and objects were
 * stored unencrypted.
 */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (name.startsWith('MINIO_')) {
      const ours = `S3_${name.slice('MINIO_'.length)}`;
      if (KNOWN_VARIABLES.has(ours) || ours.startsWith('S3_NOTIFY_WEBHOOK_')) out.push(`${name} is MinIO's name, which s3d does not read: it is ignored (s3d reads ${ours})`);
      continue;
    }
    if (!name.startsWith('S3_') || KNOWN_VARIABLES.has(name) || name.startsWith('S3_NOTIFY_WEBHOOK_')) continue;
    let best: string | undefined;
    let bestD = Infinity;
    for (const known of KNOWN_VARIABLES) {
      const d = editDistance(name, known);
      if (d < bestD) [best, bestD] = [known, d];
    }
    out.push(`${name} is not a variable s3d reads: it is ignored${best !== undefined && bestD <= 3 ? ` (did you mean ${best}?)` : ''}`);
  }
  return out;
}

/**
 * The secret key systemd/s3d.env ships with (beside S3_ADDRESS=0.0.0.0:9000): anyone who has read
 * the file could sign as root on a service started before it was replaced.
 */
export const EXAMPLE_ROOT_PASSWORD = 'change-me-to-a-long-random-secret';

const DEV_USER = 's3dadmin';
const DEV_PASSWORD = 's3dadmin-dev-password';
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function onOff(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'off' || raw === 'false' || raw === '0') return false;
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  throw new ConfigError(`${name} must be "on" or "off", got "${env[name]}"`);
}

/** The range a duration setting takes unless it says otherwise. */
const DURATION_RANGE = { minMs: 1000, maxMs: 3650 * 86_400_000, text: '1s and 3650d' };

/**
 * A duration as MinIO writes them (`24h`, `90m`, `1h30m`, `45s`, `7d`) or whole seconds; `off`,
 * `0` and any zero duration (`0s`, `0m`) are 0 when `allowOff`.
 */
function durationVar(env: NodeJS.ProcessEnv, name: string, fallbackMs: number, allowOff: boolean, range = DURATION_RANGE): number {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return fallbackMs;
  if (allowOff && (raw === 'off' || raw === '0')) return 0;
  const unit: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  let ms = 0;
  if (/^\d+$/.test(raw)) ms = Number(raw) * 1000;
  else if (/^(\d+[dhms])+$/.test(raw)) for (const m of raw.matchAll(/(\d+)([dhms])/g)) ms += Number(m[1]) * unit[m[2]!]!;
  else throw new ConfigError(`${name} must be a duration like 24h, 90m, 1h30m or 45s${allowOff ? ', or off' : ''}, got "${env[name]}"`);
  // `0s` is off as `0` is: it was refused ("between 1s and 3650d") where S3_SHUTDOWN_TIMEOUT took it.
  if (allowOff && ms === 0) return 0;
  if (ms < range.minMs || ms > range.maxMs) throw new ConfigError(`${name} must be between ${range.text}, got "${env[name]}"`);
  return ms;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  tib: 1024 ** 4,
};

/**
 * S3_MIN_FREE_DISK: a size (`512MiB`, `1GiB`, `2GB` = 2·10⁹, plain bytes), a percentage of the
 * filesystem (`2%`), or `0`/`off`; unset is DEFAULT_MIN_FREE_DISK.
 */
export function parseMinFreeDisk(raw: string | undefined, name = 'S3_MIN_FREE_DISK'): MinFreeDisk {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '') return DEFAULT_MIN_FREE_DISK;
  if (v === 'off') return Object.freeze({ bytes: 0, percent: 0 });
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(v);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent >= 100) throw new ConfigError(`${name} must be a percentage below 100%, got "${raw}"`);
    return Object.freeze(percent === 0 ? { bytes: 0, percent: 0 } : { bytes: Infinity, percent });
  }
  const size = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(v);
  const unit = size ? SIZE_UNITS[size[2]!] : undefined;
  if (!size || unit === undefined) {
    throw new ConfigError(`${name} must be a size like 512MiB or 1GiB, a percentage like 2%, or 0/off, got "${raw}"`);
  }
  const bytes = Math.floor(Number(size[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new ConfigError(`${name} is too large, got "${raw}"`);
  // Only a zero turns the reserve off: `0.5` (a fraction meant as a share of the disk?) rounded
  // down to 0 bytes and silently let uploads fill the filesystem.
  if (bytes === 0 && Number(size[1]) !== 0) {
    throw new ConfigError(`${name} is less than one byte, got "${raw}" (a percentage is written 2%; 0 or off turns the reserve off)`);
  }
  return Object.freeze(bytes === 0 ? { bytes: 0, percent: 0 } : { bytes, percent: Infinity });
}

function parseAddress(raw: string): { host: string; port: number; hostFallback?: string } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw.trim());
  if (!m) {
    // `::1:9000`, `::` or `[::1]`: an IPv6 address is only told from its port by brackets, and one
    // without them failed with the IPv4 example alone.
    const v6 = /^\[[^\]]*\]$/.test(raw.trim()) || raw.trim().split(':').length > 2;
    const hint = v6 ? ' (an IPv6 address goes in brackets, the port after them: [::1]:9000, [::]:9000)' : ' (e.g. 127.0.0.1:9000)';
    throw new ConfigError(`S3_ADDRESS must look like HOST:PORT${hint}, got "${raw}"`);
  }
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`S3_ADDRESS port must be at most 65535, got ${port}`);
  // No host: every address, IPv6 too, as on MinIO (`:9000` was 0.0.0.0, which left a MinIO
  // configuration ported to s3d unreachable over IPv6); IPv4 only where there is no IPv6.
  if (m[2] === '') return { host: '::', port, hostFallback: '0.0.0.0' };
  const host = m[1] ?? m[2]!;
  // A link-local IPv6 address (fe80::/10) is one on every interface: without a zone id the kernel
  // cannot tell which is meant and listen fails (EINVAL), which read as a start-up failure (exit 1).
  if (isIP(host) === 6 && /^fe[89ab][0-9a-f]:/i.test(host) && !host.includes('%')) {
    throw new ConfigError(`S3_ADDRESS: ${host} is a link-local IPv6 address; name its interface with a zone id, e.g. [${host}%eth0]:${port}`);
  }
  return { host, port };
}

export interface CliOptions {
  dataDir: string;
  dev: boolean;
}

/**
 * The root user's access key and secret (S3_ROOT_USER, S3_ROOT_PASSWORD; with `dev` and neither
 * set, the development credentials), checked: ConfigError names what is wrong. For the server's
 * config and for `s3d metrics-token`.
 */
export function rootCredentials(env: NodeJS.ProcessEnv, dev: boolean): { rootUser: string; rootPassword: string; warnings: string[] } {
  const warnings: string[] = [];
  let rootUser = env.S3_ROOT_USER ?? '';
  let rootPassword = env.S3_ROOT_PASSWORD ?? '';
  if (rootUser === '' && rootPassword === '') {
    if (!dev) {
      throw new ConfigError('S3_ROOT_USER and S3_ROOT_PASSWORD must be set (or start with --dev for development credentials)');
    }
    rootUser = DEV_USER;
    rootPassword = DEV_PASSWORD;
    warnings.push(`development mode: using the built-in credentials ${DEV_USER} / ${DEV_PASSWORD}; set S3_ROOT_USER and S3_ROOT_PASSWORD for anything real`);
  } else if (rootUser === '') {
    throw new ConfigError('S3_ROOT_USER must be set when S3_ROOT_PASSWORD is set');
  } else if (rootPassword === '') {
    throw new ConfigError('S3_ROOT_PASSWORD must be set when S3_ROOT_USER is set');
  }
  if (rootUser.length < 3) throw new ConfigError('S3_ROOT_USER must be at least 3 characters long');
  // A SigV4 Credential is split on '/' and the Authorization header's components on ',', and a
  // header carries no byte outside ASCII: such a user's every signed request would fail (MinIO
  // refuses ',' in access keys too).
  if (!/^[\t\x20-\x7e]+$/.test(rootUser) || /[/,]/.test(rootUser)) {
    throw new ConfigError('S3_ROOT_USER must be printable ASCII without "/" or ",": no signed request could name it');
  }
  if (rootPassword.length < 8) throw new ConfigError('S3_ROOT_PASSWORD must be at least 8 characters long');
  if (rootPassword === EXAMPLE_ROOT_PASSWORD) {
    warnings.push('S3_ROOT_PASSWORD is still the placeholder of the example s3d.env: anyone who has read that file can sign as the root user; set a long random secret');
  }
  return { rootUser, rootPassword, warnings };
}

export function loadConfig(cli: CliOptions, env: NodeJS.ProcessEnv = process.env): Config {
  const warnings: string[] = unknownVariableWarnings(env);
  const dataDir = resolve(cli.dataDir);

  const { rootUser, rootPassword, warnings: credentialWarnings } = rootCredentials(env, cli.dev);
  warnings.push(...credentialWarnings);

  const { host, port, hostFallback } = parseAddress(env.S3_ADDRESS || '127.0.0.1:9000');
  const region = (env.S3_REGION || 'us-east-1').trim();
  if (!/^[a-z0-9-]{1,64}$/.test(region)) throw new ConfigError(`S3_REGION must be a region name like us-east-1, got "${region}"`);

  const domainEntries = (env.S3_DOMAIN ?? '')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d !== '');
  for (const d of domainEntries) {
    // Dot-separated labels, none empty: `.s3.example.com` (a wildcard certificate's name without
    // its `*`) matched no Host, and every virtual-host request went path-style (a PUT of
    // b.s3.example.com/k created the bucket "k", a DELETE deleted it). MinIO refuses it too.
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*\.?$/.test(d)) throw new ConfigError(`S3_DOMAIN entries must be host names, got "${d}"`);
  }
  // A fully qualified name's trailing dot is dropped, as bucketFromHost drops the Host's.
  const domains = domainEntries.map((d) => d.replace(/\.$/, ''));

  let tls: Config['tls'] = null;
  const certsDir = env.S3_CERTS_DIR;
  if (certsDir) {
    const certFile = join(certsDir, 'public.crt');
    const keyFile = join(certsDir, 'private.key');
    // existsSync says "no" for a directory this user may not search: name the real reason.
    try {
      accessSync(certsDir, constants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw new ConfigError(`S3_CERTS_DIR (${certsDir}) may not be read by this user (${code}): give the service's user access to it`);
    }
    const hasCert = existsSync(certFile);
    const hasKey = existsSync(keyFile);
    if (hasCert !== hasKey) {
      throw new ConfigError(`S3_CERTS_DIR (${certsDir}) must hold both public.crt and private.key, found only ${hasCert ? 'public.crt' : 'private.key'}`);
    }
    // Set to an empty or missing directory (a typo, a volume not mounted): refuse rather than
    // quietly serve plain HTTP on the port clients expect HTTPS on. An empty value is unset.
    if (!hasCert) throw new ConfigError(`S3_CERTS_DIR (${certsDir}) holds no public.crt and private.key${existsSync(certsDir) ? '' : ' (it does not exist)'}; unset it to serve plain HTTP`);
    tls = { dir: certsDir, certFile, keyFile };
  }

  const logLevel = (env.S3_LOG_LEVEL || 'info').trim().toLowerCase();
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(`S3_LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}, got "${env.S3_LOG_LEVEL}"`);

  const prometheusAuth = (env.S3_PROMETHEUS_AUTH_TYPE || 'jwt').trim().toLowerCase() as PrometheusAuth;
  if (!PROMETHEUS_AUTH_TYPES.includes(prometheusAuth)) throw new ConfigError(`S3_PROMETHEUS_AUTH_TYPE must be one of ${PROMETHEUS_AUTH_TYPES.join(', ')}, got "${env.S3_PROMETHEUS_AUTH_TYPE}"`);
  const accessLog = (env.S3_ACCESS_LOG || 'errors').trim().toLowerCase() as AccessLogMode;
  if (!ACCESS_LOG_MODES.includes(accessLog)) throw new ConfigError(`S3_ACCESS_LOG must be one of ${ACCESS_LOG_MODES.join(', ')}, got "${env.S3_ACCESS_LOG}"`);
  // Request lines are written at level info: a quieter level drops every one of them, the 5xx
  // of the default `errors` included, which an operator who chose `warn` to see only trouble
  // would otherwise miss without a word. (`silent` drops this warning too, as it asks.)
  if (accessLog !== 'off' && (logLevel === 'warn' || logLevel === 'error' || logLevel === 'fatal')) {
    warnings.push(`S3_ACCESS_LOG=${accessLog} writes its request lines at level info, which S3_LOG_LEVEL=${logLevel} drops: no request gets a line (set S3_LOG_LEVEL=info, or S3_ACCESS_LOG=off to say none is wanted)`);
  }

  const cryptoWorkers = intVar(env, 'S3_CRYPTO_WORKERS', availableParallelism(), 1, 256);
  // Whole seconds (0 = no wait) or a duration, as the other time settings (`45s`, `2m`).
  const shutdownTimeoutMs = durationVar(env, 'S3_SHUTDOWN_TIMEOUT', 30_000, false, { minMs: 0, maxMs: 3_600_000, text: '0 and 1h (3600 seconds)' });
  const inlineThreshold = intVar(env, 'S3_INLINE_THRESHOLD', 128 * 1024, 0, 4 * 1024 * 1024);
  const syncReadMax = intVar(env, 'S3_SYNC_READ_MAX', 1024 * 1024 + 1024, 0, 16 * 1024 * 1024);
  const staleUploadsExpiryMs = durationVar(env, 'S3_API_STALE_UPLOADS_EXPIRY', 24 * 3_600_000, true);
  const staleUploadsIntervalMs = durationVar(env, 'S3_API_STALE_UPLOADS_CLEANUP_INTERVAL', 6 * 3_600_000, false);
  const lifecycleScanIntervalMs = durationVar(env, 'S3_LIFECYCLE_SCAN_INTERVAL', 3_600_000, false);
  const usageScanIntervalMs = durationVar(env, 'S3_USAGE_SCAN_INTERVAL', 15 * 60_000, true);
  const minFreeDisk = parseMinFreeDisk(env.S3_MIN_FREE_DISK);
  const dataRequestsMax = intVar(env, 'S3_DATA_REQUESTS_MAX', 32, 0, 100_000);
  const listenMax = intVar(env, 'S3_LISTEN_MAX', 100, 0, 100_000);
  const dataRequestsWaitMs = durationVar(env, 'S3_DATA_REQUESTS_WAIT', 8_000, false);
  // uWebSockets.js closes a connection that carries no traffic for 10 s (a compile-time constant):
  // a request still waiting then would lose its connection instead of getting SlowDown.
  if (dataRequestsWaitMs > 9_000) throw new ConfigError(`S3_DATA_REQUESTS_WAIT must be at most 9s (the HTTP layer closes a connection idle for 10 s), got "${env.S3_DATA_REQUESTS_WAIT}"`);
  let notify: NotifyConfig;
  try {
    notify = loadNotifyConfig(env, region);
  } catch (err) {
    throw err instanceof NotifyConfigError ? new ConfigError(err.message) : err;
  }
  warnings.push(...notify.warnings);
  let corsOrigins: readonly string[];
  try {
    corsOrigins = Object.freeze(parseCorsOrigins(env.S3_API_CORS_ALLOW_ORIGIN));
  } catch (err) {
    throw new ConfigError(`S3_API_CORS_ALLOW_ORIGIN must be "*", "off" or a comma-separated list of origins: ${(err as Error).message}`);
  }

  const trustedProxies: IpRange[] = [];
  for (const item of (env.S3_TRUSTED_PROXIES ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const range = ipRange(item);
    if (range === undefined) throw new ConfigError(`S3_TRUSTED_PROXIES must be a comma-separated list of IP addresses or CIDR ranges, got "${item}"`);
    if (range.bits === 0) throw new ConfigError(`S3_TRUSTED_PROXIES: "${item}" is every address: anyone could then say who the client is (X-Forwarded-For)`);
    trustedProxies.push(range);
  }

  // S3_NATIVE_AES (default on) is only checked here (and by `s3d verify`): each thread reads it
  // itself as it loads workers/format/aead-native.ts, which takes off/false/0 as off like onOff does.
  onOff(env, 'S3_NATIVE_AES');
  // S3_NATIVE_CRC (default on), likewise: daemon/auth/crc-native.ts reads it as payload.ts loads it.
  onOff(env, 'S3_NATIVE_CRC');

  return Object.freeze({
    dataDir,
    dev: cli.dev,
    rootUser,
    rootPassword,
    host,
    ...(hostFallback !== undefined ? { hostFallback } : {}),
    port,
    region,
    domains: Object.freeze(domains),
    tls,
    logLevel,
    accessLog,
    prometheusAuth,
    cryptoWorkers,
    autoEncryption: onOff(env, 'S3_KMS_AUTO_ENCRYPTION'),
    blockPublicAccess: onOff(env, 'S3_BLOCK_PUBLIC_ACCESS'),
    shutdownTimeoutMs,
    inlineThreshold,
    syncReadMax,
    directIo: (env.S3_DIRECT_IO ?? '').trim() === '' ? true : onOff(env, 'S3_DIRECT_IO'),
    httpParserPatch: (env.S3_HTTP_PARSER_PATCH ?? '').trim() === '' ? true : onOff(env, 'S3_HTTP_PARSER_PATCH'),
    sigV2: (env.S3_SIGV2 ?? '').trim() === '' ? true : onOff(env, 'S3_SIGV2'),
    corsOrigins,
    trustedProxies: Object.freeze(trustedProxies),
    staleUploadsExpiryMs,
    staleUploadsIntervalMs,
    lifecycleScanIntervalMs,
    usageScanIntervalMs,
    minFreeDisk,
    notify,
    iamFile: (env.S3_IAM_FILE ?? '').trim() === '' ? null : resolve(env.S3_IAM_FILE!.trim()),
    dataRequestsMax,
    listenMax,
    dataRequestsWaitMs,
    warnings: Object.freeze(warnings),
  });
}
