// KMS selection from the environment: KES (S3_KMS_KES_*), the built-in static key
// (S3_KMS_SECRET_KEY), a generated development key (--dev), or none. Wraps KES in the cache.

import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CachingKeyProvider, cacheOptionsFromEnv } from './cache.js';
import { KesClient } from './kes-client.js';
import type { KmsLogger } from './kes-client.js';
import { KES_ENV, loadKesConfig } from './kes-config.js';
import { KmsConfigError } from './provider.js';
import type { KeyProvider } from './provider.js';
import { parseSecretKey, StaticKeyProvider } from './static-provider.js';

export { CachingKeyProvider } from './cache.js';
export type { CacheOptions, KmsCacheStats } from './cache.js';
export { canonicalContext, canonicalContextText } from './context.js';
export { KesClient } from './kes-client.js';
export type { KesEndpointHealth } from './kes-client.js';
export { loadKesConfig } from './kes-config.js';
export { StaticKeyProvider, parseSecretKey } from './static-provider.js';
export * from './provider.js';

export const SECRET_KEY_ENV = 'S3_KMS_SECRET_KEY';

/**
 * The provider under the cache: for checks that must reach the KMS itself (admin key status),
 * where a cached data key would prove nothing.
 */
export function uncachedProvider(p: KeyProvider): KeyProvider {
  return p instanceof CachingKeyProvider ? p.inner : p;
}

/** The KES client behind `p`, if `p` is (or wraps) one. */
export function kesClientOf(p: KeyProvider | null): KesClient | undefined {
  const inner = p === null ? undefined : uncachedProvider(p);
  return inner instanceof KesClient ? inner : undefined;
}
/** Name of the generated development key (in `<dataDir>/.s3d/kms-dev.key`). */
export const DEV_KEY_NAME = 's3d-dev-key';

export interface KmsFromEnvOptions {
  dataDir: string;
  dev: boolean;
  log?: KmsLogger;
}

/** Read `<dataDir>/.s3d/kms-dev.key`, creating it (mode 0600, 32 random bytes) on first use. */
async function devKeyProvider(dataDir: string, log: KmsLogger | undefined): Promise<StaticKeyProvider> {
  const dir = join(dataDir, '.s3d');
  const file = join(dir, 'kms-dev.key');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const key = randomBytes(32);
    text = `${DEV_KEY_NAME}:${key.toString('base64')}\n`;
    key.fill(0);
    // Written whole and fsynced under a temporary name, then linked into place: link() fails with
    // EEXIST rather than overwrite a key another process just wrote (objects sealed under it would
    // be lost), and a crash or a full disk never leaves an empty or partial key file behind. The
    // entry is durable (fsync of .s3d) before any object is sealed under the key: after a power
    // loss a new key would be generated, and every SSE object already stored lost.
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const fh = await open(temp, 'wx', 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await link(temp, file);
      } catch (linkErr) {
        if ((linkErr as NodeJS.ErrnoException).code !== 'EEXIST') throw linkErr;
        text = await readFile(file, 'utf8');
      }
    } finally {
      await unlink(temp).catch(() => undefined);
    }
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
  await chmod(file, 0o600);
  const secret = parseSecretKey(text, file);
  log?.warn({ file, key: secret.name }, 'KMS: using a generated key file - development only, do not use in production');
  const provider = new StaticKeyProvider(secret);
  secret.key.fill(0);
  return provider;
}

/**
 * The KeyProvider the environment asks for, or null when no KMS is configured (not dev).
 * KES never blocks start-up: the client reports not-ready and keeps trying in the background.
 */
export async function createKeyProviderFromEnv(env: NodeJS.ProcessEnv, opts: KmsFromEnvOptions): Promise<KeyProvider | null> {
  const set = (name: string): boolean => env[name] !== undefined && env[name]!.trim() !== '';
  // Any KES variable selects KES: a half-configured KES must fail loudly, never fall back to
  // another key (objects sealed under it would be unreadable once KES is fixed).
  const kesVars = Object.values(KES_ENV).filter(set);
  const kes = kesVars.length > 0;
  const secret = set(SECRET_KEY_ENV);
  if (kes && secret) {
    const kesVar = kesVars.includes(KES_ENV.endpoint) ? KES_ENV.endpoint : kesVars[0]!;
    throw new KmsConfigError(SECRET_KEY_ENV, `set either ${kesVar} (KES) or ${SECRET_KEY_ENV} (built-in key), not both: two KMS kinds are configured`);
  }
  if (kes) {
    const config = await loadKesConfig(env);
    const cacheOptions = cacheOptionsFromEnv(env);
    const client = new KesClient({ ...config, log: opts.log });
    opts.log?.info({ endpoints: config.endpoints, key: config.defaultKeyName, identity: config.identity, auth: config.auth, trust: config.trust }, 'KMS: KES');
    for (const w of config.warnings) opts.log?.warn(w);
    void client.start();
    return new CachingKeyProvider(client, { ...cacheOptions, log: opts.log });
  }
  if (secret) {
    const parsed = parseSecretKey(env[SECRET_KEY_ENV]!, SECRET_KEY_ENV);
    const provider = new StaticKeyProvider(parsed);
    parsed.key.fill(0);
    opts.log?.info({ key: provider.defaultKeyName }, 'KMS: built-in static key');
    return provider;
  }
  if (opts.dev) return devKeyProvider(opts.dataDir, opts.log);
  return null;
}
