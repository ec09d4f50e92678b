// createKeyProviderFromEnv: which KMS the environment selects, the conflicting-variables error,
// and the development key file (created once, mode 0600, reused across restarts).

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyProviderFromEnv, DEV_KEY_NAME, KmsConfigError, StaticKeyProvider } from '../../../../daemon/kms/index.js';
import type { KmsLogger } from '../../../../daemon/kms/kes-client.js';

const SECRET = `my-minio-key:${Buffer.alloc(32, 3).toString('base64')}`;

function recorder(): { log: KmsLogger; warnings: string[] } {
  const warnings: string[] = [];
  const log = {
    info: () => {},
    debug: () => {},
    warn: (_obj: unknown, msg?: string) => {
      warnings.push(String(msg));
    },
  } as unknown as KmsLogger;
  return { log, warnings };
}

t.test('S3_KMS_SECRET_KEY selects the static provider', async (t) => {
  const p = await createKeyProviderFromEnv({ S3_KMS_SECRET_KEY: SECRET }, { dataDir: '/nonexistent', dev: false });
  t.ok(p instanceof StaticKeyProvider);
  t.equal(p!.defaultKeyName, 'my-minio-key');
  await p!.close();
  await t.rejects(createKeyProviderFromEnv({ S3_KMS_SECRET_KEY: 'junk' }, { dataDir: '/x', dev: false }), {
    name: 'KmsConfigError', message: /^S3_KMS_SECRET_KEY: /,
  });
});

t.test('KES and static together: an error naming both variables', async (t) => {
  const err = await createKeyProviderFromEnv({ S3_KMS_SECRET_KEY: SECRET, S3_KMS_KES_ENDPOINT: 'https://127.0.0.1:7373' }, { dataDir: '/x', dev: true })
    .then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof KmsConfigError);
  t.match((err as Error).message, /S3_KMS_KES_ENDPOINT/);
  t.match((err as Error).message, /S3_KMS_SECRET_KEY/);
});

t.test('KES variables are validated before anything starts', async (t) => {
  await t.rejects(createKeyProviderFromEnv({ S3_KMS_KES_ENDPOINT: 'https://127.0.0.1:7373' }, { dataDir: '/x', dev: false }), {
    name: 'KmsConfigError', message: /^S3_KMS_KES_KEY_NAME: /,
  });
  await t.rejects(createKeyProviderFromEnv({
    S3_KMS_KES_ENDPOINT: 'https://127.0.0.1:7373', S3_KMS_KES_KEY_NAME: 'k',
    S3_KMS_KES_API_KEY: 'kes:v1:AAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f', S3_KMS_CACHE_SIZE: 'lots',
  }, { dataDir: '/x', dev: false }), { message: /^S3_KMS_CACHE_SIZE: / });
});

t.test('nothing configured: null outside dev mode', async (t) => {
  t.equal(await createKeyProviderFromEnv({}, { dataDir: '/x', dev: false }), null);
  t.equal(await createKeyProviderFromEnv({ S3_KMS_SECRET_KEY: '  ' }, { dataDir: '/x', dev: false }), null);
});

t.test('dev mode: a random key file, 0600, warned about, reused on restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 's3d-kms-dev-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const { log, warnings } = recorder();
  const p1 = await createKeyProviderFromEnv({}, { dataDir, dev: true, log });
  const file = join(dataDir, '.s3d', 'kms-dev.key');
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.match(readFileSync(file, 'utf8'), new RegExp(`^${DEV_KEY_NAME}:[A-Za-z0-9+/]{43}=\\n$`));
  t.match(warnings.join('\n'), /development only/);
  const ctx = Buffer.from('{"b":"b/o"}');
  const dk = await p1!.generateKey(DEV_KEY_NAME, ctx);
  await p1!.close();
  const p2 = await createKeyProviderFromEnv({}, { dataDir, dev: true });
  t.same(await p2!.decrypt(DEV_KEY_NAME, dk.ciphertext, ctx), dk.plaintext, 'same key after a restart');
  await p2!.close();

  const other = mkdtempSync(join(tmpdir(), 's3d-kms-dev-'));
  t.teardown(() => rmSync(other, { recursive: true, force: true }));
  const p3 = await createKeyProviderFromEnv({}, { dataDir: other, dev: true });
  await t.rejects(p3!.decrypt(DEV_KEY_NAME, dk.ciphertext, ctx), { code: 'NotAuthentic' }, 'another data dir, another key');
  await p3!.close();

  const broken = mkdtempSync(join(tmpdir(), 's3d-kms-dev-'));
  t.teardown(() => rmSync(broken, { recursive: true, force: true }));
  mkdirSync(join(broken, '.s3d'));
  writeFileSync(join(broken, '.s3d', 'kms-dev.key'), 'garbage');
  await t.rejects(createKeyProviderFromEnv({}, { dataDir: broken, dev: true }), { name: 'KmsConfigError', message: /kms-dev\.key/ },
    'a corrupt key file is an error, never silently replaced');
});
