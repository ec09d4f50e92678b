// EncryptionParams from request headers (SSE-C, SSE-S3, SSE-KMS, and their copy-source
// variants), validated the way S3 and MinIO answer; then bucket default and auto-encryption
// applied in S3's precedence: request headers > bucket configuration > auto-encryption > none.

import { createHash } from 'node:crypto';
import { S3Error } from '../errors.js';
import { canonicalContext } from '../kms/context.js';
import { isValidKeyName } from '../kms/static-provider.js';
import type { BucketEncryption, SseRecord } from '../meta/records.js';
import { utf8Text } from '../utf8.js';

export type EncryptionRequest =
  // `bucketKeyHeader`: the request's x-amz-server-side-encryption-bucket-key-enabled, which applies
  // when the bucket's default makes the object SSE-KMS (read then, by resolveEncryption).
  | { kind: 'none'; bucketKeyHeader?: string }
  | { kind: 'SSE-S3' }
  | { kind: 'SSE-KMS'; keyId: string | undefined; context: Record<string, string> | undefined; bucketKey?: boolean }
  | { kind: 'SSE-C'; key: Buffer; keyMd5: string };

export interface CustomerKey {
  key: Buffer;
  keyMd5: string;
}

const SSE = 'x-amz-server-side-encryption';
const KMS_KEY_ID = 'x-amz-server-side-encryption-aws-kms-key-id';
const KMS_CONTEXT = 'x-amz-server-side-encryption-context';
const BUCKET_KEY = 'x-amz-server-side-encryption-bucket-key-enabled';
const SSEC_PREFIX = 'x-amz-server-side-encryption-customer-';
const SSEC_COPY_PREFIX = 'x-amz-copy-source-server-side-encryption-customer-';

type Headers = Readonly<Record<string, string>>;

/** Whether a request carries any SSE-C header (or of its copy-source variant), without parsing the key. */
export function customerKeySent(headers: Headers, copySource = false): boolean {
  const prefix = copySource ? SSEC_COPY_PREFIX : SSEC_PREFIX;
  return headers[`${prefix}algorithm`] !== undefined || headers[`${prefix}key`] !== undefined || headers[`${prefix}key-md5`] !== undefined;
}

/** Parses SSE-C headers (or their copy-source variant); undefined when none is present. */
export function parseCustomerKey(headers: Headers, copySource = false): CustomerKey | undefined {
  const prefix = copySource ? SSEC_COPY_PREFIX : SSEC_PREFIX;
  const algorithm = headers[`${prefix}algorithm`];
  const keyB64 = headers[`${prefix}key`];
  const md5B64 = headers[`${prefix}key-md5`];
  if (algorithm === undefined && keyB64 === undefined && md5B64 === undefined) return undefined;
  if (algorithm === undefined) {
    throw new S3Error('InvalidArgument', 'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.');
  }
  // An algorithm S3 lacks has its own code, naming the value (for the copy source too), as AWS
  // answers it (recorded in minio/minio#4894 and aws/aws-cli#1349); it was InvalidArgument, MinIO's.
  if (algorithm !== 'AES256') {
    throw new S3Error('InvalidEncryptionAlgorithmError', 'The Encryption request you specified is not valid. Supported value: AES256.', { fields: { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: algorithm } });
  }
  if (keyB64 === undefined || keyB64 === '') {
    throw new S3Error('InvalidArgument', 'Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.');
  }
  if (md5B64 === undefined || md5B64 === '') {
    throw new S3Error('InvalidArgument', 'Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.');
  }
  const key = Buffer.from(keyB64, 'base64');
  if (key.length !== 32 || key.toString('base64') !== keyB64.trim()) {
    key.fill(0);
    throw new S3Error('InvalidArgument', 'The secret key was invalid for the specified algorithm.');
  }
  const md5 = createHash('md5').update(key).digest('base64');
  if (md5 !== md5B64.trim()) {
    key.fill(0);
    throw new S3Error('InvalidArgument', 'The calculated MD5 hash of the key did not match the hash that was provided.');
  }
  return { key, keyMd5: md5 };
}

/**
 * The key MD5 a request sent with its SSE-C key (with `copySource`, its copy-source key): what
 * responses echo once parseCustomerKey checked it and the key unsealed the object key.
 */
export function customerKeyMd5(headers: Headers, copySource = false): string | undefined {
  return headers[`${copySource ? SSEC_COPY_PREFIX : SSEC_PREFIX}key-md5`]?.trim();
}

/** A UTF-16 surrogate not part of a pair (with the u flag, a valid pair is one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

function parseKmsContext(value: string): Record<string, string> {
  const bad = (): S3Error => new S3Error('InvalidArgument', 'The x-amz-server-side-encryption-context header must be base64-encoded JSON of string keys and values.');
  // Strict: base64 that decodes back to itself, and UTF-8 (a lenient reading stores a context
  // other than the one sent, and one that many different headers map to).
  const bytes = Buffer.from(value.trim(), 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== value.trim().replace(/=+$/, '')) throw bad();
  const text = utf8Text(bytes);
  if (text === undefined) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad();
  // No prototype: a key `__proto__` is an entry like any other (on a plain object the assignment
  // set the prototype and the entry was dropped from the stored context).
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') throw bad();
    // JSON may escape a lone surrogate (`"\ud800"`), which no UTF-8 text holds: such a context
    // cannot be bound as sent (it was acknowledged, and then never opened again).
    if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) throw new S3Error('InvalidArgument', 'The x-amz-server-side-encryption-context header holds a lone UTF-16 surrogate escape (\\ud800-\\udfff unpaired), which is not a Unicode character.');
    out[k] = v;
  }
  return out;
}

export function normalizeKmsKeyId(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw !== raw.trim()) throw new S3Error('InvalidRequest', 'The specified KMS KeyID contains unsupported characters.');
  let id = raw.startsWith('arn:aws:kms:') ? raw.slice('arn:aws:kms:'.length) : raw;
  // The ARN prefix alone (s3d's own `arn:aws:kms:NAME` with NAME left empty) names no key: a
  // mistake, not a wish for the default key (which it became).
  if (id === '' && raw !== '') throw new S3Error('InvalidArgument', `The KMS key id "${raw}" is not a valid key name.`);
  // Aliases, bare or as ARNs (…:alias/NAME): `alias/aws/s3`, AWS's own key for S3, is the default
  // key (scripts written for AWS name it); `alias/NAME` names the key NAME.
  const alias = /^(?:[^:/]*:[^:/]*:)?alias\/(.*)$/.exec(id);
  if (alias) {
    if (alias[1] === '') throw new S3Error('InvalidArgument', `The KMS key id "${raw}" is not a valid key name.`);
    id = alias[1] === 'aws/s3' ? '' : alias[1]!;
  } else {
    // Full AWS ARNs (arn:aws:kms:region:account:key/NAME) name the key after the last "key/".
    const slash = id.lastIndexOf('key/');
    if (slash >= 0 && id.includes(':')) {
      id = id.slice(slash + 4);
      // An ARN that names no key is a mistake, not a wish for the default key (which it became).
      if (id === '') throw new S3Error('InvalidArgument', `The KMS key id "${raw}" is not a valid key name.`);
    }
  }
  if (id === '') return undefined;
  // KES's rule for key names, the one S3_KMS_KES_KEY_NAME is held to: a name KES refuses (`_`
  // alone) reached it, and its 400 became a 500 InternalError for the client's own mistake.
  if (!isValidKeyName(id)) {
    throw new S3Error('InvalidArgument', `The KMS key id "${raw}" is not a valid key name.`);
  }
  return id;
}

/** What the request headers ask for (without defaults). */
export function parseEncryptionRequest(headers: Headers): EncryptionRequest {
  const ssec = parseCustomerKey(headers);
  const sse = headers[SSE];
  const kmsKey = headers[KMS_KEY_ID];
  const ctx = headers[KMS_CONTEXT];
  if (ssec) {
    if (sse !== undefined || kmsKey !== undefined || ctx !== undefined) {
      ssec.key.fill(0);
      throw new S3Error('InvalidArgument', 'Server Side Encryption with Customer provided key is incompatible with the encryption method specified.');
    }
    return { kind: 'SSE-C', key: ssec.key, keyMd5: ssec.keyMd5 };
  }
  if (sse === undefined && kmsKey === undefined && ctx === undefined) {
    const bucketKeyHeader = headers[BUCKET_KEY];
    return bucketKeyHeader === undefined ? { kind: 'none' } : { kind: 'none', bucketKeyHeader };
  }
  // A KMS key id or context beside AES256, or without any SSE header: S3's words for both.
  if (sse === 'AES256' || sse === undefined) {
    if (kmsKey !== undefined || ctx !== undefined) {
      throw new S3Error('InvalidArgument', 'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms');
    }
    return { kind: 'SSE-S3' };
  }
  if (sse === DSSE_KMS) throw dsseNotImplemented();
  if (sse !== 'aws:kms') {
    throw new S3Error('InvalidArgument', 'The encryption method specified is not supported (use AES256 or aws:kms).');
  }
  const bucketKey = parseBucketKey(headers[BUCKET_KEY]);
  return {
    kind: 'SSE-KMS',
    keyId: normalizeKmsKeyId(kmsKey),
    context: ctx === undefined ? undefined : parseKmsContext(ctx),
    ...(bucketKey === undefined ? {} : { bucketKey }),
  };
}

/** S3's dual-layer SSE-KMS, as x-amz-server-side-encryption and SSEAlgorithm name it. */
export const DSSE_KMS = 'aws:kms:dsse';

/**
 * DSSE-KMS is an S3 feature s3d lacks: a client asking for it (Terraform, the SDKs) must learn
 * that, not that its request is malformed (it was a 400 InvalidArgument or MalformedXML).
 */
export function dsseNotImplemented(): S3Error {
  return new S3Error('NotImplemented', 'Dual-layer server-side encryption with KMS keys (aws:kms:dsse, DSSE-KMS) is not implemented: use aws:kms or AES256.');
}

/** x-amz-server-side-encryption-bucket-key-enabled: true or false (any case), or absent. */
function parseBucketKey(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  if (v !== undefined && v !== 'true' && v !== 'false') {
    throw new S3Error('InvalidArgument', `${BUCKET_KEY} must be true or false.`);
  }
  return v === undefined ? undefined : v === 'true';
}

/** Whether a bucket's encryption configuration refuses writes asking for SSE-C (S3's BlockedEncryptionTypes). */
export function blocksSseC(config: BucketEncryption | undefined): boolean {
  return config?.blockedEncryptionTypes?.includes('SSE-C') === true;
}

/** Applies the bucket default and auto-encryption to a request that asked for nothing. */
export function resolveEncryption(req: EncryptionRequest, bucket: BucketEncryption | undefined, autoEncryption: boolean): EncryptionRequest {
  // An SSE-KMS request that does not say whether to use an S3 Bucket Key gets the bucket's setting.
  if (req.kind === 'SSE-KMS' && req.bucketKey === undefined && bucket?.bucketKeyEnabled === true) return { ...req, bucketKey: true };
  if (req.kind !== 'none') return req;
  if (bucket) {
    if (bucket.algorithm === 'AES256') return { kind: 'SSE-S3' };
    // The request's own bucket-key header wins over the bucket's BucketKeyEnabled, as S3 documents
    // it ("…unless you disable the keys in the request header"): it was ignored without an SSE header.
    const bucketKey = parseBucketKey(req.bucketKeyHeader) ?? bucket.bucketKeyEnabled === true;
    return { kind: 'SSE-KMS', keyId: bucket.kmsKeyId, context: undefined, ...(bucketKey ? { bucketKey: true } : {}) };
  }
  if (autoEncryption) return { kind: 'SSE-S3' };
  return req;
}

/** The first header choosing SSE-S3 or SSE-KMS, if any (SSE-C's key headers are not a choice made here). */
export function encryptionChoiceHeader(headers: Headers): string | undefined {
  return [SSE, KMS_KEY_ID, KMS_CONTEXT].find((h) => headers[h] !== undefined);
}

/**
 * Whether a request's SSE-S3/SSE-KMS headers (valid ones; each bad one is refused as on PutObject)
 * ask for no other encryption than `sse`, an upload's or object's: the kind, and the KMS key and
 * context where the headers name them. minio-go sends its PutObject's SSE headers with
 * CompleteMultipartUpload to every endpoint but AWS's (minio-go#1777, #1838), as MinIO takes them.
 */
export function restatesEncryption(headers: Headers, sse: SseRecord | undefined): boolean {
  if (sse === undefined || sse.kind === 'SSE-C') return false;
  // No upload is DSSE-KMS: the completion's header asks for another encryption (refused as on a part).
  if (headers[SSE] === DSSE_KMS) return false;
  const req = parseEncryptionRequest(headers);
  if (req.kind !== sse.kind) return false;
  if (req.kind !== 'SSE-KMS') return true;
  if (req.keyId !== undefined && req.keyId !== sse.kmsKey) return false;
  return req.context === undefined || canonicalContext(req.context).toString('base64') === (sse.kmsContext ?? '');
}

/**
 * Headers that must not come with GET/HEAD (the object's kind decides): 400 InvalidArgument naming
 * the header, S3's answer to an SSE header on a request that takes none (recorded from AWS for a
 * bucket GET, s3fs-fuse#2401, and UploadPart, aws-sdk-java#1876). MinIO answers InvalidRequest.
 */
export function rejectSseOnRead(headers: Headers): void {
  const h = encryptionChoiceHeader(headers);
  if (h !== undefined) throw new S3Error('InvalidArgument', `${h} header is not supported for this operation.`, { fields: { ArgumentName: h, ArgumentValue: headers[h]! } });
}
