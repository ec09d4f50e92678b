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
}

export interface KmsStatus {
  kind: 'static' | 'kes';
  defaultKey: string;
  /** True when the provider can serve generate/decrypt right now. */
  ready: boolean;
  endpoints: KmsEndpointStatus[];
}

export interface KeyProvider {
  readonly kind: 'static' | 'kes';
  /** Key used for SSE-S3 and for SSE-KMS requests that name no key. */
  readonly defaultKeyName: string;
  createKey(name: string): Promise<void>;
  generateKey(name: string, context: Buffer): Promise<DataKey>;
  decrypt(name: string, ciphertext: Buffer, context: Buffer): Promise<Buffer>;
  describeKey(name: string): Promise<KeyDescription>;
  listKeys(prefix: string): Promise<string[]>;
  status(): Promise<KmsStatus>;
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
