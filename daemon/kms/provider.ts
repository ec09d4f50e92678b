// The KeyProvider contract: what the SSE layer needs from any KMS (built-in static key, KES,
// or the caching/batching decorator around either). Context bytes are the canonical JSON
// produced by kms/context.ts; providers treat them as opaque associated data.

export interface DataKey {
  /** 32-byte plaintext data key. Callers zero-fill it when done. */
  plaintext: Buffer;
  /** Opaque KMS ciphertext of the data key, stored in the object record. */
  ciphertext: Buffer;
}

export interface KeyDescription {
  name: string;
  algorithm?: string;
  createdAt?: string;
  createdBy?: string;
}

export interface KmsEndpointStatus {
  endpoint: string;
  online: boolean;
  latencyMs?: number;
  error?: string;
  /** The endpoint answered but refuses s3d's identity (KES 403): reachable, yet not usable. */
  forbidden?: boolean;
}

export interface KmsStatus {
  kind: 'static' | 'kes';
  defaultKey: string;
  /** True when the provider can serve generate/decrypt right now. */
  ready: boolean;
  endpoints: KmsEndpointStatus[];
  /**
   * Set while the KMS refuses s3d's identity (403 on the default key at start-up, or on
   * `/v1/status` at every endpoint that answers): what was refused. Not a transient outage.
   */
  denied?: string;
}

export interface KeyProvider {
  readonly kind: 'static' | 'kes';
  /** Key used for SSE-S3 and for SSE-KMS requests that name no key. */
  readonly defaultKeyName: string;
  createKey(name: string): Promise<void>;
  generateKey(name: string, context: Buffer): Promise<DataKey>;
  decrypt(name: string, ciphertext: Buffer, context: Buffer): Promise<Buffer>;
  /**
   * A data key decrypt() gave that did not open what it sealed (a KMS, or something in front of
   * it, that answered a wrong key of the right length): a cache forgets it, so the next read asks
   * the KMS again instead of failing until the entry expires; or one generateKey() gave that
   * seals nothing (PutBucketEncryption's proof of its key), not to be held. Providers that keep
   * nothing omit it.
   */
  forget?(name: string, ciphertext: Buffer, context: Buffer): void;
  describeKey(name: string): Promise<KeyDescription>;
  listKeys(prefix: string): Promise<string[]>;
  /** `anyOnline`: enough to know whether one endpoint is online (readiness), not every one's state. */
  status(opts?: { anyOnline?: boolean }): Promise<KmsStatus>;
  close(): Promise<void>;
}

/** Stable error codes that cross the KMS boundary (mapped to S3 errors by daemon/sse). */
export type KmsErrorCode =
  | 'KeyNotFound'
  | 'KeyExists'
  | 'NotAuthentic'
  | 'Unavailable'
  | 'Forbidden'
  | 'BadRequest'
  | 'Internal';

export class KmsError extends Error {
  readonly code: KmsErrorCode;
  readonly status: number | undefined;
  constructor(code: KmsErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KmsError';
    this.code = code;
    this.status = options?.status;
  }
}

/** One data-key unwrap of a bulk decrypt. */
export interface DecryptRequest {
  ciphertext: Buffer;
  context: Buffer;
}

/**
 * Optional capability: several unwraps under one key in one KMS call (KES v0.19–2023-10
 * `/v1/key/bulk/decrypt/`). Results are in request order; one bad element fails the whole call,
 * so callers fall back to single decrypts to find it. `bulkDecryptSupported()` may change at run
 * time (the KES client learns it from `/v1/api`).
 */
export interface BulkDecryptor {
  bulkDecryptSupported(): boolean;
  decryptBulk(name: string, requests: readonly DecryptRequest[]): Promise<Buffer[]>;
}

export function isBulkDecryptor(p: KeyProvider): p is KeyProvider & BulkDecryptor {
  const candidate = p as Partial<BulkDecryptor>;
  return typeof candidate.bulkDecryptSupported === 'function' && typeof candidate.decryptBulk === 'function';
}

/** One HTTP exchange with a KMS endpoint: every retry and failover attempt is one event. */
export interface KmsRequestEvent {
  endpoint: string;
  /** KES route name: generate, decrypt, bulk-decrypt, create, describe, list, status, api, version, … */
  route: string;
  /** HTTP status when a response arrived. */
  status?: number;
  /** Why no response arrived. */
  error?: 'timeout' | 'tls' | 'network';
  seconds: number;
}

/** One call from the caching layer to the provider it wraps (after retries and failover). */
export interface KmsCallEvent {
  route: string;
  seconds: number;
  /** KmsError code when the call failed ('Other' for anything else). */
  error?: KmsErrorCode | 'Other';
}

/** Hooks for metrics; every member optional, called synchronously (keep them cheap). */
export interface KmsObserver {
  onRequest?(e: KmsRequestEvent): void;
  onCall?(e: KmsCallEvent): void;
  /** Cold unwraps dispatched together (one batch of the cache). */
  onBatch?(size: number): void;
  /** Ciphertexts sent in one bulk decrypt call. */
  onBulk?(size: number): void;
}

/** Providers that report to observers; returns the function that unsubscribes. */
export interface ObservableProvider {
  addObserver(o: KmsObserver): () => void;
}

export function isObservable(p: unknown): p is ObservableProvider {
  return typeof (p as Partial<ObservableProvider> | null)?.addObserver === 'function';
}

/**
 * The number an S3_KMS_* value writes as a plain decimal (digits, and a fraction unless `integer`),
 * else NaN: as the config module reads its numbers; Number() also took `0x10`, `0b11`, `1e3`, `+5`.
 */
export function plainDecimal(raw: string, integer = false): number {
  const v = raw.trim();
  return (integer ? /^\d+$/ : /^\d+(?:\.\d+)?$/).test(v) ? Number(v) : NaN;
}

/** Invalid KMS configuration; `variable` names the environment variable (or option) at fault. */
export class KmsConfigError extends Error {
  readonly code = 'KmsConfigInvalid';
  readonly variable: string;
  constructor(variable: string, message: string, options?: { cause?: unknown }) {
    super(`${variable}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KmsConfigError';
    this.variable = variable;
  }
}
