// MinIO-compatible KMS admin API (SigV4 in the Authorization header, root user only), answered as MinIO does:
//   POST|GET /minio/admin/v3/kms/status           → madmin KMSStatus
//            {"name":"MinIO KES","default-key-id":"…","endpoints":{"https://kes:7373":"online"}}
//   GET      /minio/admin/v3/kms/key/status?key-id= → madmin KMSKeyStatus
//            {"key-id":"…","encryption-error":"…","decryption-error":"…"} (errors omitted on success)
//   POST     /minio/admin/v3/kms/key/create?key-id= → 200, no body (madmin CreateKey, `mc admin kms key create`)
// Errors these handlers answer are JSON like MinIO's admin API: {"Code","Message","Resource","RequestId"};
// a request authentication refuses first (anonymous, bad signature) gets the usual S3 XML error.

import { timingSafeEqual } from 'node:crypto';
import { S3Error, wireCode } from '../errors.js';
import { canonicalContext } from '../kms/context.js';
import { uncachedProvider } from '../kms/index.js';
import { KmsError, type KeyProvider } from '../kms/provider.js';
import { kmsError } from '../sse/object-encryption.js';
import { isValidKeyName, KEY_NAME_RULE } from '../kms/static-provider.js';
import type { RequestContext, Result } from '../ops/types.js';
import { signedBy } from '../ops/condition-keys.js';

export interface AdminKmsDeps {
  kms: KeyProvider | null;
  /** Access key of the root user: the only identity allowed to call these APIs. */
  rootUser: string;
}

/** What MinIO's key-status handler sends as associated data for its test key. */
export const KEY_STATUS_CONTEXT = { 'MinIO admin API': 'KMSKeyStatusHandler' } as const;
export const KEY_MISMATCH_MESSAGE = 'The generated and the decrypted data key do not match';

/** madmin.KMSStatus (the `state` member, which MinIO leaves zero, is omitted). */
export interface KmsStatusResponse {
  name: string;
  'default-key-id': string;
  endpoints: Record<string, 'online' | 'offline'>;
}

/** madmin.KMSKeyStatus. */
export interface KmsKeyStatusResponse {
  'key-id': string;
  'encryption-error'?: string;
  'decryption-error'?: string;
}

function json(status: number, body: unknown): Result {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function errorJson(err: S3Error, ctx: RequestContext): Result {
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', ...err.headers },
    body: JSON.stringify({ Code: wireCode(err.code), Message: err.message, Resource: ctx.rawPath, RequestId: ctx.requestId }),
  };
}

/** Root check, method check and KMS presence; then `f`. S3Errors become MinIO-style JSON errors. */
async function guarded(deps: AdminKmsDeps, ctx: RequestContext, methods: readonly string[], f: (kms: KeyProvider) => Promise<Result>): Promise<Result> {
  try {
    // Signature V2 signs no query parameter but the S3 sub-resources, so a V2 signature for one
    // key-id passed for any other (a captured key creation replayed for a key of one's choosing).
    // MinIO's admin API takes V4 only.
    const signer = signedBy(ctx.headers, ctx.query);
    if (signer?.signatureVersion === 'AWS') {
      throw new S3Error('AccessDenied', 'Access Denied: the KMS admin API requires AWS Signature Version 4.');
    }
    // Nor a presigned URL (MinIO: "Presigned, JWT and anonymous requests are automatically
    // rejected"): a bearer credential for up to 7 days, passed on in links and logs.
    if (signer?.authType === 'REST-QUERY-STRING') {
      throw new S3Error('AccessDenied', 'Access Denied: the KMS admin API takes no presigned URL; sign the request in its Authorization header.');
    }
    if (ctx.accessKey === '' || ctx.accessKey !== deps.rootUser) {
      throw new S3Error('AccessDenied', 'Access Denied: the KMS admin API is reserved to the root user.');
    }
    if (!methods.includes(ctx.method)) {
      throw new S3Error('MethodNotAllowed', `The specified method is not allowed against this resource (use ${methods.join(' or ')}).`, {
        headers: { allow: methods.join(', ') },
      });
    }
    if (!deps.kms) throw new S3Error('KMSNotConfigured', 'Server side encryption specified but KMS is not configured');
    return await f(deps.kms);
  } catch (err) {
    if (err instanceof S3Error) return errorJson(err, ctx);
    throw err;
  }
}

/**
 * The `key-id` query argument, held to KES's rule for key names (isValidKeyName) before any KMS
 * call: a name KES refuses (too long, `/`, `.`, a space) reached it as a path segment
 * (`/v1/key/generate/<name>`), and its refusal came back as the key's status. `optional`: empty
 * or absent is '' (the caller's default key).
 */
function keyIdArgument(ctx: RequestContext, optional: boolean): string {
  const keyId = ctx.query.get('key-id') ?? '';
  if ((optional && keyId === '') || isValidKeyName(keyId)) return keyId;
  const shown = keyId.length > 100 ? `${JSON.stringify(keyId.slice(0, 100))}… (${keyId.length} characters)` : JSON.stringify(keyId);
  throw new S3Error('InvalidArgument', `key-id must be a key name (${KEY_NAME_RULE}), got ${shown}.`);
}

function kmsName(kind: KeyProvider['kind']): string {
  return kind === 'kes' ? 'MinIO KES' : 'MinIO builtin';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** KMS status: every endpoint probed now (KES `/v1/status` in parallel); unreachable → "offline". */
export function handleKmsStatus(deps: AdminKmsDeps, ctx: RequestContext): Promise<Result> {
  return guarded(deps, ctx, ['GET', 'POST'], async (kms) => {
    let status;
    try {
      status = await kms.status();
    } catch (err) {
      throw new S3Error('InternalError', message(err));
    }
    const body: KmsStatusResponse = {
      name: kmsName(kms.kind),
      'default-key-id': status.defaultKey,
      endpoints: Object.fromEntries(status.endpoints.map((e) => [e.endpoint, e.online ? 'online' : 'offline'])),
    };
    return json(200, body);
  });
}

/**
 * Key status, as `mc admin kms key status`: generate a data key with the named (or default) key,
 * decrypt it again and compare in constant time. Both calls go to the KMS itself, past the
 * unwrap cache (a cached key would prove nothing). KMS failures are reported in the body with
 * status 200, as MinIO does.
 */
export function handleKmsKeyStatus(deps: AdminKmsDeps, ctx: RequestContext): Promise<Result> {
  return guarded(deps, ctx, ['GET'], async (kms) => {
    // Empty or absent: the default key, as on MinIO (`mc admin kms key status ALIAS` sends key-id=).
    const keyId = keyIdArgument(ctx, true) || kms.defaultKeyName;
    const body: KmsKeyStatusResponse = { 'key-id': keyId };
    const direct = uncachedProvider(kms);
    const context = canonicalContext({ ...KEY_STATUS_CONTEXT });
    let dek;
    try {
      dek = await direct.generateKey(keyId, context);
    } catch (err) {
      body['encryption-error'] = message(err);
      return json(200, body);
    }
    let plaintext: Buffer | undefined;
    try {
      plaintext = await direct.decrypt(keyId, dek.ciphertext, context);
      const same = plaintext.length === dek.plaintext.length && timingSafeEqual(plaintext, dek.plaintext);
      if (!same) body['decryption-error'] = KEY_MISMATCH_MESSAGE;
    } catch (err) {
      body['decryption-error'] = message(err);
    } finally {
      dek.plaintext.fill(0);
      plaintext?.fill(0);
    }
    return json(200, body);
  });
}

/**
 * Key creation, as `mc admin kms key create ALIAS NAME` (before rotating objects onto it with
 * UpdateObjectEncryption): KES creates the key (/v1/key/create, which s3d's KES identity must be
 * allowed). A key that exists is 409 XMinioKMSKeyExists, as on MinIO; the built-in KMS has its one
 * key only (501).
 */
export function handleKmsCreateKey(deps: AdminKmsDeps, ctx: RequestContext): Promise<Result> {
  return guarded(deps, ctx, ['POST'], async (kms) => {
    const keyId = keyIdArgument(ctx, false);
    if (kms.kind !== 'kes') throw new S3Error('NotImplemented', 'The built-in KMS (S3_KMS_SECRET_KEY, or the key file --dev generates) has its one key; keys are created at KES.');
    try {
      await kms.createKey(keyId);
    } catch (err) {
      if (err instanceof KmsError && err.code === 'KeyExists') throw new S3Error('XMinioKMSKeyExists', `The key ${JSON.stringify(keyId)} already exists.`);
      kmsError(err, keyId);
    }
    return { status: 200 };
  });
}
