// Webhook targets for bucket event notifications, from the environment as MinIO names them under
// s3d's prefix: S3_NOTIFY_WEBHOOK_<FIELD>_<ID> configures target <ID>, the un-suffixed
// S3_NOTIFY_WEBHOOK_<FIELD> the default target `_` (MinIO's `notify_webhook:_`). Env in, frozen
// targets out (client certificate and key files are read and checked, not kept); every error
// names the variable. Also the target ARN format.

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const DEFAULT_TARGET_ID = '_';
export const DEFAULT_QUEUE_LIMIT = 100_000;
const MAX_QUEUE_LIMIT = 10_000_000;

export class NotifyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotifyConfigError';
  }
}

export interface WebhookTarget {
  /** The ARN's target id (`PRIMARY` for S3_NOTIFY_WEBHOOK_*_PRIMARY, `_` for the un-suffixed variables). */
  readonly id: string;
  /** arn:minio:sqs:<region>:<id>:webhook */
  readonly arn: string;
  readonly endpoint: string;
  /** The Authorization header to send, if any: `Bearer <token>`, or the token as given when it names its own scheme. */
  readonly authorization?: string;
  /** PEM client certificate and key files for mTLS. */
  readonly clientCert?: string;
  readonly clientKey?: string;
  /** Undelivered events kept for this target; beyond it the oldest are dropped. */
  readonly queueLimit: number;
}

export interface NotifyConfig {
  readonly targets: readonly WebhookTarget[];
  readonly warnings: readonly string[];
}

// The default target's variable names; target <ID> appends _<ID> to each.
const VARIABLES = {
  ENABLE: 'S3_NOTIFY_WEBHOOK_ENABLE',
  ENDPOINT: 'S3_NOTIFY_WEBHOOK_ENDPOINT',
  AUTH_TOKEN: 'S3_NOTIFY_WEBHOOK_AUTH_TOKEN',
  CLIENT_CERT: 'S3_NOTIFY_WEBHOOK_CLIENT_CERT',
  CLIENT_KEY: 'S3_NOTIFY_WEBHOOK_CLIENT_KEY',
  QUEUE_LIMIT: 'S3_NOTIFY_WEBHOOK_QUEUE_LIMIT',
} as const;
type Field = keyof typeof VARIABLES;
/** The default target's variable names (docs and tests check them against what is documented). */
export const WEBHOOK_VARIABLES: readonly string[] = Object.freeze(Object.values(VARIABLES));
const FIELDS = Object.keys(VARIABLES) as Field[];
const PREFIX = 'S3_NOTIFY_WEBHOOK_';
// Longer field names first, so that AUTH_TOKEN is never read as AUTH with a target id TOKEN.
const VAR = new RegExp(`^${PREFIX}(${[...FIELDS].sort((a, b) => b.length - a.length).join('|')})(?:_(.+))?$`);

/** The ARN a target is addressed by in QueueConfiguration documents. */
export function targetArn(region: string, id: string): string {
  return `arn:minio:sqs:${region}:${id}:webhook`;
}

/** `arn:minio:sqs:<region>:<id>:<type>` (region may be empty, as MinIO prints it), or undefined. */
export function parseArn(arn: string): { region: string; id: string; type: string } | undefined {
  if (!arn.startsWith('arn:minio:sqs:')) return undefined;
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[4] === '' || parts[5] === '') return undefined;
  return { region: parts[3]!, id: parts[4]!, type: parts[5]! };
}

/** MinIO's rule: a token with a space in it carries its own scheme; a bare token is a Bearer token. */
export function authorizationOf(token: string): string | undefined {
  const t = token.trim();
  if (t === '') return undefined;
  return /\s/.test(t) ? t : `Bearer ${t}`;
}

function onOff(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (v === '' || v === 'off' || v === 'false' || v === '0') return false;
  if (v === 'on' || v === 'true' || v === '1') return true;
  throw new NotifyConfigError(`${name} must be "on" or "off", got "${raw}"`);
}

/**
 * A webhook endpoint as logs show it: its origin, and `/…` for any path or query, which often
 * carry the credential (Slack-style URLs, `?token=`).
 */
export function shownEndpoint(href: string): string {
  const url = new URL(href);
  return url.pathname === '/' && url.search === '' ? url.origin : `${url.origin}/…`;
}

/** `localhost`, 127.0.0.0/8 or [::1]: a URL's host name that never leaves this machine. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function endpointOf(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    // The value is not echoed: a webhook URL often carries its credential (a token in the path or query).
    throw new NotifyConfigError(`${name} must be an http:// or https:// URL (it is not a URL)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new NotifyConfigError(`${name} must be an http:// or https:// URL, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new NotifyConfigError(`${name} must not carry credentials; use the AUTH_TOKEN variable`);
  return url.href;
}

/** Every S3_NOTIFY_WEBHOOK_* variable, grouped by target id. */
export function loadNotifyConfig(env: NodeJS.ProcessEnv, region: string): NotifyConfig {
  const byId = new Map<string, Partial<Record<Field, { name: string; value: string }>>>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith(PREFIX)) continue;
    const m = VAR.exec(name);
    if (name.startsWith(`${PREFIX}QUEUE_DIR`)) throw new NotifyConfigError(`${name}: s3d keeps undelivered events in its metadata store (bounded by ${VARIABLES.QUEUE_LIMIT}); remove the variable`);
    if (!m) throw new NotifyConfigError(`${name} is not a webhook setting (${Object.values(VARIABLES).join(', ')}, each optionally followed by _<ID>)`);
    const id = m[2] ?? DEFAULT_TARGET_ID;
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new NotifyConfigError(`${name}: the target id "${id}" may hold only letters, digits, "_" and "-"`);
    const fields = byId.get(id) ?? {};
    fields[m[1] as Field] = { name, value };
    byId.set(id, fields);
  }
  const targets: WebhookTarget[] = [];
  const warnings: string[] = [];
  const varName = (field: Field, id: string): string => (id === DEFAULT_TARGET_ID ? VARIABLES[field] : `${VARIABLES[field]}_${id}`);
  const globalLimit = env[VARIABLES.QUEUE_LIMIT];
  // A queue limit is checked even where no target uses it: a typo must not wait for the day a
  // target is enabled.
  if (globalLimit !== undefined) queueLimitOf({ name: VARIABLES.QUEUE_LIMIT, value: globalLimit });
  for (const [id, f] of [...byId].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const enabled = f.ENABLE !== undefined && onOff(f.ENABLE.name, f.ENABLE.value);
    if (f.QUEUE_LIMIT !== undefined) queueLimitOf(f.QUEUE_LIMIT);
    if (!enabled) {
      // The default id also owns the shared S3_NOTIFY_WEBHOOK_QUEUE_LIMIT: that alone is no target.
      const set = Object.keys(f).filter((k) => k !== 'ENABLE' && !(id === DEFAULT_TARGET_ID && k === 'QUEUE_LIMIT'));
      if (set.length > 0) warnings.push(`webhook target ${id} is configured but not enabled (set ${varName('ENABLE', id)}=on): its ARN does not exist`);
      continue;
    }
    if (f.ENDPOINT === undefined || f.ENDPOINT.value.trim() === '') throw new NotifyConfigError(`${varName('ENDPOINT', id)} must be set when ${varName('ENABLE', id)}=on`);
    const endpoint = endpointOf(f.ENDPOINT.name, f.ENDPOINT.value);
    const cert = f.CLIENT_CERT?.value.trim() || undefined;
    const key = f.CLIENT_KEY?.value.trim() || undefined;
    if ((cert === undefined) !== (key === undefined)) {
      throw new NotifyConfigError(`${varName('CLIENT_CERT', id)} and ${varName('CLIENT_KEY', id)} must be set together`);
    }
    if (cert !== undefined && !endpoint.startsWith('https:')) throw new NotifyConfigError(`${varName('CLIENT_CERT', id)} needs an https:// ${varName('ENDPOINT', id)}`);
    if (cert !== undefined && key !== undefined) checkClientPair({ name: varName('CLIENT_CERT', id), path: cert }, { name: varName('CLIENT_KEY', id), path: key });
    const limitVar = f.QUEUE_LIMIT ?? (globalLimit !== undefined ? { name: VARIABLES.QUEUE_LIMIT, value: globalLimit } : undefined);
    const queueLimit = limitVar === undefined ? DEFAULT_QUEUE_LIMIT : queueLimitOf(limitVar);
    const authorization = f.AUTH_TOKEN === undefined ? undefined : authorizationOf(f.AUTH_TOKEN.value);
    // MinIO sends it so too; refusing would break set-ups behind a private network, but the
    // operator should know the token crosses the wire readable (the name only, never the token).
    // A loopback endpoint keeps it on this host.
    if (authorization !== undefined && endpoint.startsWith('http:') && !isLoopback(new URL(endpoint).hostname)) {
      warnings.push(`${varName('AUTH_TOKEN', id)} is sent in clear to an http:// endpoint (${varName('ENDPOINT', id)}): anyone on the path can read it; use https://`);
    }
    targets.push(
      Object.freeze({
        id,
        arn: targetArn(region, id),
        endpoint,
        ...(authorization !== undefined ? { authorization } : {}),
        ...(cert !== undefined ? { clientCert: cert, clientKey: key } : {}),
        queueLimit,
      }),
    );
  }
  return Object.freeze({ targets: Object.freeze(targets), warnings: Object.freeze(warnings) });
}

/**
 * The client certificate and key as the webhook's TLS connections will load them. Checking only
 * that they could be opened let a directory (EISDIR) end the start-up with exit 1 and no variable
 * named, and a file that is no certificate or key, or a key of another certificate, start a
 * daemon whose every delivery to the target then failed its TLS handshake.
 */
function checkClientPair(cert: { name: string; path: string }, key: { name: string; path: string }): void {
  const read = (v: { name: string; path: string }): string => {
    try {
      return readFileSync(v.path, 'utf8');
    } catch (err) {
      throw new NotifyConfigError(`${v.name}: cannot read ${v.path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(read(cert));
  } catch (err) {
    if (err instanceof NotifyConfigError) throw err;
    throw new NotifyConfigError(`${cert.name}: ${cert.path} holds no PEM certificate`);
  }
  let privateKey: KeyObject;
  try {
    // No passphrase: as for MinIO's webhook client key, an encrypted key cannot be used.
    privateKey = createPrivateKey(read(key));
  } catch (err) {
    if (err instanceof NotifyConfigError) throw err;
    throw new NotifyConfigError(`${key.name}: ${key.path} holds no unencrypted PEM private key`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new NotifyConfigError(`${key.name}: the key in ${key.path} does not belong to the certificate in ${cert.name}`);
}

/** A queue-limit variable's value (empty: the default); a malformed one is a start-up error. */
function queueLimitOf(limitVar: { name: string; value: string }): number {
  const v = limitVar.value.trim();
  if (v === '') return DEFAULT_QUEUE_LIMIT;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_QUEUE_LIMIT) throw new NotifyConfigError(`${limitVar.name} must be a whole number between 1 and ${MAX_QUEUE_LIMIT}, got "${limitVar.value}"`);
  return Number(v);
}
