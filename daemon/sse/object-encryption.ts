// Turns EncryptionParams into an object key sealed for (domain, bucket/object) and back:
// one KMS data key per object (SSE-S3 / SSE-KMS), the customer key for SSE-C (never the KMS).
// Also the client-visible ETag of encrypted objects and the SSE response headers.

import { S3Error } from '../errors.js';
import { secureRandom } from '../../workers/format/random.js';
import { canonicalContext } from '../kms/context.js';
import { KmsError, type KeyProvider } from '../kms/provider.js';
import type { SseRecord } from '../meta/records.js';
import { canonicalObjectPath, generateObjectKey, SecretKeyMismatchError, sealETag, sealObjectKey, unsealObjectKey } from './object-key.js';
import { parseCustomerKey, type CustomerKey, type EncryptionRequest } from './params.js';
import { ObjectKeyCache } from './key-cache.js';

export interface SseEnv {
  kms: KeyProvider | null;
  /** Unsealed SSE-S3/SSE-KMS object keys of recent reads (absent: every read unseals). */
  objectKeys?: ObjectKeyCache;
}

export interface ObjectEncryption {
  /** Unsealed 32-byte object key: single-part data is sealed with it, parts with part keys. */
  objectKey: Buffer;
  record: SseRecord;
}

/**
 * Maps KMS failures to what the client sees: 503 when unreachable (retryable), 403 AccessDenied
 * when the KMS refuses s3d's identity (a policy matter retrying cannot fix; MinIO answers 403
 * `kms:NotAuthorized`, AWS S3 403 `AccessDenied`), never a stack trace.
 */
export function kmsError(err: unknown, keyName: string): never {
  if (err instanceof KmsError) {
    switch (err.code) {
      case 'KeyNotFound':
        // The client learns which key (its own, or the default one) and no more; with the KMS's
        // words as the cause, the log says it too (once per 10 s): a default key deleted at KES
        // fails every SSE-S3 write, and the 400s alone told the operator nothing.
        throw new S3Error('KMS.NotFoundException', `The KMS key ${JSON.stringify(keyName)} does not exist.`, { cause: err });
      // The KMS's own words (its endpoints, addresses, TLS details) go to the log through `cause`,
      // not to the S3 client: they describe the server's infrastructure.
      case 'Unavailable':
        throw new S3Error('KMSUnavailable', 'The key management service is unreachable; try again later.', { headers: { 'retry-after': '5' }, cause: err });
      case 'NotAuthentic':
        // The KMS key is not the one the data key was sealed under (a changed S3_KMS_SECRET_KEY,
        // a recreated KES key), or the record was moved to another object (the context binds it).
        throw new S3Error('InternalError', 'The KMS could not decrypt this object\'s data key: it was sealed under a different KMS key, or for another object (the record was moved or modified).', { cause: err });
      case 'Forbidden':
        throw new S3Error('AccessDenied', 'The key management service does not allow this server\'s identity to use the key.', { cause: err });
      default:
        throw new S3Error('InternalError', 'The key management service failed.', { cause: err });
    }
  }
  throw err;
}

/** A kmsError answer that is the KMS's state (unreachable, or refusing s3d's identity), not the object's. */
export function isKmsUnusable(err: unknown): err is S3Error {
  return err instanceof S3Error && err.cause instanceof KmsError && (err.cause.code === 'Unavailable' || err.cause.code === 'Forbidden');
}

function requireKms(env: SseEnv): KeyProvider {
  if (!env.kms) throw new S3Error('KMSNotConfigured', 'Server side encryption specified but KMS is not configured');
  return env.kms;
}

/** MinIO's KMS context: the client's (SSE-KMS) plus `bucket: bucket/object` unless it names the bucket. */
function kmsContextFor(bucket: string, object: string, client: Record<string, string> | undefined): Buffer {
  // Own entries only: on a plain object a bucket named `constructor` found Object's constructor
  // and got no entry (see legacyKmsContext).
  const ctx = Object.assign(Object.create(null) as Record<string, string>, client);
  if (!Object.hasOwn(ctx, bucket)) ctx[bucket] = canonicalObjectPath(bucket, object);
  return canonicalContext(ctx);
}

/**
 * The context data keys of a bucket named like an Object.prototype property (`constructor`, the
 * one valid bucket name among them) were generated under before 2026-12-04: without the bucket
 * entry, unless the client's context had one. Undefined for every other bucket.
 */
function legacyKmsContext(bucket: string, client: Record<string, string> | undefined): Buffer | undefined {
  if (!(bucket in Object.prototype) || (client !== undefined && Object.hasOwn(client, bucket))) return undefined;
  return canonicalContext(Object.assign(Object.create(null) as Record<string, string>, client));
}

/**
 * A stored client context (its canonical text, base64) as entries that canonicalise to the same
 * bytes again. Before 2026-12-04 a context with a lone surrogate was accepted and stored with
 * Go's `\ufffd` escape for it, while a real U+FFFD is stored raw: the escape goes back to a lone
 * surrogate, which goJsonString escapes the same way, so those objects open again.
 */
function storedClientContext(b64: string): Record<string, string> {
  const text = Buffer.from(b64, 'base64').toString('utf8').replace(/\\(\\|ufffd)/g, (m) => (m === '\\\\' ? m : '\\ud800'));
  return Object.assign(Object.create(null) as Record<string, string>, JSON.parse(text) as Record<string, string>);
}

/** A fresh object key for bucket/object, sealed as the request asks. */
export async function createObjectEncryption(env: SseEnv, req: Exclude<EncryptionRequest, { kind: 'none' }>, bucket: string, object: string): Promise<ObjectEncryption> {
  if (req.kind === 'SSE-C') {
    const objectKey = generateObjectKey(req.key);
    const sealed = sealObjectKey(objectKey, req.key, 'SSE-C', bucket, object);
    // Nothing of the customer key is kept: a request's key is checked by unsealing the object key.
    return { objectKey, record: { kind: 'SSE-C', algorithm: sealed.algorithm, iv: sealed.iv, sealedKey: sealed.sealedKey } };
  }
  const kms = requireKms(env);
  const keyName = req.kind === 'SSE-KMS' && req.keyId !== undefined ? req.keyId : kms.defaultKeyName;
  return sealUnderKms(kms, req.kind, keyName, req.kind === 'SSE-KMS' ? req.context : undefined, req.kind === 'SSE-KMS' && req.bucketKey === true, bucket, object);
}

/**
 * An SSE-S3 or SSE-KMS object's record re-keyed to SSE-KMS under `keyName` (UpdateObjectEncryption):
 * the same object key, sealed with a new data key of that KMS key for the same object and client
 * context. The data, and everything sealed under the object key (ETag, checksums), stay valid.
 */
export async function resealUnderKms(env: SseEnv, rec: SseRecord, objectKey: Buffer, keyName: string | undefined, bucketKey: boolean, bucket: string, object: string): Promise<SseRecord> {
  const kms = requireKms(env);
  const client = rec.kmsContext ? storedClientContext(rec.kmsContext) : undefined;
  const { record } = await sealUnderKms(kms, 'SSE-KMS', keyName ?? kms.defaultKeyName, client, bucketKey, bucket, object, objectKey);
  // The context as stored (its canonical bytes, which the new data key is bound to as well).
  return { ...record, ...(rec.kmsContext !== undefined ? { kmsContext: rec.kmsContext } : {}) };
}

/**
 * `objectKey` (a new one, derived from the data key, when absent) sealed for bucket/object under
 * a new data key of KMS key `keyName`, bound to the object and the client's context.
 */
async function sealUnderKms(
  kms: KeyProvider,
  kind: 'SSE-S3' | 'SSE-KMS',
  keyName: string,
  client: Record<string, string> | undefined,
  bucketKey: boolean,
  bucket: string,
  object: string,
  objectKey?: Buffer,
): Promise<ObjectEncryption> {
  let dek;
  try {
    dek = await kms.generateKey(keyName, kmsContextFor(bucket, object, client));
  } catch (err) {
    kmsError(err, keyName);
  }
  try {
    const key = objectKey ?? generateObjectKey(dek.plaintext);
    const sealed = sealObjectKey(key, dek.plaintext, kind, bucket, object);
    const record: SseRecord = {
      kind,
      algorithm: sealed.algorithm,
      iv: sealed.iv,
      sealedKey: sealed.sealedKey,
      kmsKey: keyName,
      kmsCiphertext: dek.ciphertext,
      ...(client ? { kmsContext: canonicalContext(client).toString('base64') } : {}),
      ...(bucketKey ? { bucketKey: true } : {}),
    };
    return { objectKey: key, record };
  } finally {
    dek.plaintext.fill(0);
  }
}

/**
 * Customer-key headers (of the object, or with `copySource` of a copy's source) where they do not
 * apply: a read of an object that is not SSE-C (a copy's source included, whatever its kind), a
 * write that is no copy. S3 refuses them: 400 InvalidRequest.
 */
export function refuseCustomerKey(headers: Readonly<Record<string, string>>, copySource = false): void {
  const ck = parseCustomerKey(headers, copySource);
  if (ck) {
    ck.key.fill(0);
    throw new S3Error('InvalidRequest', 'The encryption parameters are not applicable to this object.');
  }
}

/**
 * An SSE-C object read without its key (a GET, or a copy whose source it is): S3's 400
 * InvalidRequest, the same for CopyObject and UploadPartCopy as for GET.
 */
export function customerKeyMissing(): S3Error {
  return new S3Error('InvalidRequest', 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.');
}

/**
 * The object key of a stored object, for reading. SSE-C needs the customer key from the
 * request (or the copy-source headers); the KMS kinds unwrap their data key through the KMS.
 */
export async function unsealForRead(
  env: SseEnv,
  rec: SseRecord,
  headers: Readonly<Record<string, string>>,
  bucket: string,
  object: string,
  copySource = false,
): Promise<Buffer> {
  if (rec.kind === 'SSE-C') {
    const ck = parseCustomerKey(headers, copySource);
    if (!ck) throw customerKeyMissing();
    try {
      return unsealCustomer(rec, ck, bucket, object);
    } finally {
      ck.key.fill(0);
    }
  }
  refuseCustomerKey(headers, copySource);
  const kms = requireKms(env);
  if (!rec.kmsKey || !rec.kmsCiphertext) throw new S3Error('XMinioObjectTampered');
  const cacheId = env.objectKeys?.enabled === true ? ObjectKeyCache.id(rec, bucket, object) : undefined;
  if (cacheId !== undefined) {
    const hit = env.objectKeys!.get(cacheId);
    if (hit !== undefined) return hit;
  }
  const client = rec.kmsContext ? storedClientContext(rec.kmsContext) : undefined;
  let dek: Buffer;
  // The context the data key came back for: a key that does not unseal is forgotten under it.
  let context = kmsContextFor(bucket, object, client);
  try {
    dek = await kms.decrypt(rec.kmsKey, Buffer.from(rec.kmsCiphertext), context);
  } catch (err) {
    const legacy = err instanceof KmsError && err.code === 'NotAuthentic' ? legacyKmsContext(bucket, client) : undefined;
    if (legacy === undefined) kmsError(err, rec.kmsKey);
    context = legacy;
    try {
      dek = await kms.decrypt(rec.kmsKey, Buffer.from(rec.kmsCiphertext), legacy);
    } catch (again) {
      // The first NotAuthentic says only that the current context does not fit: a fallback that
      // meets an outage answers it (503, retried), not a 500 for an object that may be fine.
      kmsError(again instanceof KmsError && again.code === 'NotAuthentic' ? err : again, rec.kmsKey);
    }
  }
  try {
    const objectKey = unsealObjectKey(rec.sealedKey, dek, rec.kind, bucket, object, rec.iv);
    if (cacheId !== undefined) env.objectKeys!.set(cacheId, objectKey);
    return objectKey;
  } catch (err) {
    if (err instanceof SecretKeyMismatchError) {
      // The record may be fine and the data key wrong (a KMS or a proxy that answered another
      // key): not kept, so a read after the KMS is right again gets the right one.
      kms.forget?.(rec.kmsKey, Buffer.from(rec.kmsCiphertext), context);
      throw new S3Error('XMinioObjectTampered', 'The object key does not unseal: the object record was modified or moved.');
    }
    throw err;
  } finally {
    dek.fill(0);
  }
}

/**
 * The object key of an SSE-C object or upload, unsealed with the customer key. A wrong key is
 * 403 AccessDenied for an object, as S3 answers a GET, and 400 InvalidRequest for the requests of
 * a multipart upload (UploadPart, UploadPartCopy, ListParts, CompleteMultipartUpload), as S3
 * answers them.
 */
export function unsealCustomer(rec: SseRecord, ck: CustomerKey, bucket: string, object: string, of: 'object' | 'upload' = 'object'): Buffer {
  try {
    return unsealObjectKey(rec.sealedKey, ck.key, 'SSE-C', bucket, object, rec.iv);
  } catch (err) {
    if (!(err instanceof SecretKeyMismatchError)) throw err;
    if (of === 'upload') throw new S3Error('InvalidRequest', 'The provided encryption parameters did not match the ones used originally.');
    throw new S3Error('AccessDenied', 'The provided SSE-C key does not match the key the object was encrypted with.');
  }
}

/**
 * The content MD5 (hex) an object's or part's ETag is, or undefined: plain and SSE-S3 ETags are
 * the MD5 of the plaintext (clientETag), SSE-KMS and SSE-C ones are sealed, and an ETag of
 * another shape (a multipart one, `…-N`) is no MD5 of the bytes.
 */
export function etagContentMd5(kind: SseRecord['kind'] | 'none', etag: string): string | undefined {
  return (kind === 'none' || kind === 'SSE-S3') && MD5_HEX.test(etag) ? etag : undefined;
}
const MD5_HEX = /^[0-9a-f]{32}$/;

/**
 * The ETag clients see. Plain and SSE-S3: the content MD5 (AWS-compatible). SSE-KMS and SSE-C:
 * the tag of the ETag sealed under the object key, a random-looking value as S3 and MinIO give.
 */
export function clientETag(kind: SseRecord['kind'] | 'none', md5: Buffer | undefined, objectKey: Buffer | undefined): string {
  if (kind === 'none' || kind === 'SSE-S3') {
    if (!md5) throw new Error('MD5 required for plain and SSE-S3 ETags');
    return md5.toString('hex');
  }
  const sealed = sealETag(objectKey!, md5 ?? secureRandom(16));
  return sealed.subarray(sealed.length - 16).toString('hex');
}

/**
 * The AWS superset of SSE response headers for an object of this kind. SSE-C: `customerKeyMd5` is
 * the MD5 of the request's key, once that key has unsealed the object key (a record an earlier
 * version wrote kept it: the same value).
 */
export function sseResponseHeaders(rec: SseRecord | undefined, customerKeyMd5?: string): Record<string, string> {
  if (!rec) return {};
  switch (rec.kind) {
    case 'SSE-S3':
      // S3 Bucket Keys are an SSE-KMS matter: never announced for SSE-S3.
      return { 'x-amz-server-side-encryption': 'AES256' };
    case 'SSE-KMS':
      return {
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': `arn:aws:kms:${rec.kmsKey ?? ''}`,
        ...(rec.kmsContext ? { 'x-amz-server-side-encryption-context': rec.kmsContext } : {}),
        ...(rec.bucketKey === true ? { 'x-amz-server-side-encryption-bucket-key-enabled': 'true' } : {}),
      };
    case 'SSE-C':
      return {
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        'x-amz-server-side-encryption-customer-key-md5': customerKeyMd5 ?? rec.customerKeyMd5 ?? '',
      };
  }
}
