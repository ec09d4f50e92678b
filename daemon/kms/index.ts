// KMS selection from the environment: KES (S3_KMS_KES_*), the built-in static key
// (S3_KMS_SECRET_KEY), a generated development key (--dev), or none. Wraps KES in the cache.

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
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
export { loadKesConfig } from './kes-config.js';
export { StaticKeyProvider, parseSecretKey } from './static-provider.js';
export * from './provider.js';

export const SECRET_KEY_ENV = 'S3_KMS_SECRET_KEY';
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
    // 'wx': never overwrite a key another process just wrote (objects sealed under it would be lost).
    try {
      await writeFile(file, text, { mode: 0o600, flag: 'wx' });
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code !== 'EEXIST') throw writeErr;
      text = await readFile(file, 'utf8');
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
  const kes = env[KES_ENV.endpoint] !== undefined && env[KES_ENV.endpoint]!.trim() !== '';
  const secret = env[SECRET_KEY_ENV] !== undefined && env[SECRET_KEY_ENV]!.trim() !== '';
  if (kes && secret) {
    throw new KmsConfigError(SECRET_KEY_ENV, `set either ${KES_ENV.endpoint} (KES) or ${SECRET_KEY_ENV} (built-in key), not both`);
  }
  if (kes) {
    const config = loadKesConfig(env);
    const cacheOptions = cacheOptionsFromEnv(env);
    const client = new KesClient({ ...config, log: opts.log });
    opts.log?.info({ endpoints: config.endpoints, key: config.defaultKeyName, identity: config.identity, auth: config.auth }, 'KMS: KES');
    void client.start();
    return new CachingKeyProvider(client, cacheOptions);
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
