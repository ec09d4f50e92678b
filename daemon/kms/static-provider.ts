// The built-in single-key KMS (MinIO's MINIO_KMS_SECRET_KEY, here S3_KMS_SECRET_KEY): one named
// 32-byte master key held in memory, data keys sealed in the KES v3 layout (kms/ciphertext.ts).

import { secureRandom } from '../../workers/format/random.js';
import { KEY_SIZE, openCiphertext, sealCiphertext } from './ciphertext.js';
import { KmsConfigError, KmsError } from './provider.js';
import type { DataKey, KeyDescription, KeyProvider, KmsStatus } from './provider.js';

export interface StaticKey {
  name: string;
  /** 32-byte master key. */
  key: Buffer;
}

/** KES key-name rule (kes-api.md §1): 1–80 of [0-9A-Za-z_-], no leading/trailing '-', not '_'. */
export const KEY_NAME_RULE = "1 to 80 of [0-9A-Za-z_-], neither starting nor ending with '-', not '_' alone";

export function isValidKeyName(name: string): boolean {
  return /^[0-9A-Za-z_-]{1,80}$/.test(name) && !name.startsWith('-') && !name.endsWith('-') && name !== '_';
}

/**
 * Parse `<key-name>:<base64 of 32 bytes>` (split at the first ':'), e.g.
 * `my-key:OSMM+vkKUTCvQs9YL/CVMIMt43HFhkUpqJxTmGl6rYw=`. Errors name `varName`, never the value.
 */
export function parseSecretKey(value: string, varName = 'S3_KMS_SECRET_KEY'): StaticKey {
  const trimmed = value.trim();
  const colon = trimmed.indexOf(':');
  if (colon < 0) throw new KmsConfigError(varName, 'expected <key-name>:<base64 of 32 bytes>');
  const name = trimmed.slice(0, colon);
  const b64 = trimmed.slice(colon + 1);
  if (!isValidKeyName(name)) {
    // The name is not echoed: swapping name and key (base64 always has one of + / =) would print the key.
    throw new KmsConfigError(varName, `the key name (before the ":", ${name.length} characters) is empty, too long or contains invalid characters (${KEY_NAME_RULE})`);
  }
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new KmsConfigError(varName, 'the key after the ":" is not standard base64');
  }
  const key = Buffer.from(b64, 'base64');
  if (key.length !== KEY_SIZE) {
    key.fill(0);
    throw new KmsConfigError(varName, `invalid key length ${key.length} (want ${KEY_SIZE} bytes)`);
  }
  return { name, key };
}

export class StaticKeyProvider implements KeyProvider {
  readonly kind = 'static' as const;
  readonly defaultKeyName: string;
  readonly #key: Buffer;
  #closed = false;

  constructor(secret: StaticKey) {
    if (secret.key.length !== KEY_SIZE) throw new KmsError('Internal', `static KMS key must be ${KEY_SIZE} bytes`);
    this.defaultKeyName = secret.name;
    // Own copy outside Node's shared pool, so close() can wipe exactly it.
    this.#key = Buffer.alloc(KEY_SIZE);
    secret.key.copy(this.#key);
  }

  #check(name: string): void {
    if (this.#closed) throw new KmsError('Unavailable', 'static KMS is closed');
    if (name !== this.defaultKeyName) throw new KmsError('KeyNotFound', `key '${name}' does not exist`, { status: 404 });
  }

  async createKey(name: string): Promise<void> {
    this.#check(name);
    throw new KmsError('KeyExists', `key '${name}' already exists`, { status: 409 });
  }

  async generateKey(name: string, context: Buffer): Promise<DataKey> {
    this.#check(name);
    const plaintext = secureRandom(KEY_SIZE);
    return { plaintext, ciphertext: sealCiphertext(this.#key, plaintext, context) };
  }

  async decrypt(name: string, ciphertext: Buffer, context: Buffer): Promise<Buffer> {
    this.#check(name);
    return openCiphertext(this.#key, ciphertext, context);
  }

  async describeKey(name: string): Promise<KeyDescription> {
    this.#check(name);
    return { name, algorithm: 'AES256' };
  }

  async listKeys(prefix: string): Promise<string[]> {
    const all = prefix === '' || prefix === '*';
    return all || this.defaultKeyName.startsWith(prefix) ? [this.defaultKeyName] : [];
  }

  async status(): Promise<KmsStatus> {
    return {
      kind: 'static',
      defaultKey: this.defaultKeyName,
      ready: !this.#closed,
      // MinIO's built-in KMS reports itself as 127.0.0.1 (internal/kms/secret-key.go).
      endpoints: [{ endpoint: '127.0.0.1', online: !this.#closed }],
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#key.fill(0);
  }
}
