// UpdateObjectEncryption (PUT /bucket/key?encryption, `aws s3api update-object-encryption`): an
// SSE-S3 or SSE-KMS object re-keyed to SSE-KMS under another KMS key (key rotation, or SSE-S3 to
// SSE-KMS) without touching its data. The object key stays; it is unsealed with the old data key
// and sealed again with a new data key of the KMS key asked for, for the same object and client
// context, so the data, ETag, checksums and Last-Modified stay as they are (S3 keeps them too).
// As on S3: the caller needs s3:UpdateObjectEncryption and s3:PutObject; unencrypted and SSE-C
// objects are InvalidRequest; an object under Object Lock (a retention of either mode, or a legal
// hold) is AccessDenied; the new type can only be SSE-KMS; a request signed with Signature V2 is
// InvalidRequest. The KMS key the body names is s3:x-amz-server-side-encryption-aws-kms-key-id of
// both checks, judged once the body is parsed (a Deny on a key keeps objects from moving under it).
import { hasV2PresignParams, isV2Authorization } from '../auth/sigv2.js';
import { S3Error } from '../errors.js';
import { isLocked, type ObjectRecord } from '../meta/records.js';
import { normalizeKmsKeyId } from '../sse/params.js';
import { resealUnderKms, unsealForRead } from '../sse/object-encryption.js';
import { metaErrorAfterLookUp, requireBucket, type OpsEnv } from './env.js';
import { readableRecord, readVersionHeader } from './object.js';
import { bodyAllowed, updateEncryptionWriteAllowed } from './policy.js';
import type { RequestContext, Result } from './types.js';
import { parseDocument, xmlFields, xmlList, xmlText } from './xml.js';

/**
 * The request's new encryption: the KMS key (undefined: the default key), as written (`keyArn`,
 * the condition key's value) and BucketKeyEnabled.
 */
function parseObjectEncryption(body: Buffer): { keyId: string | undefined; keyArn: string; bucketKey: boolean } {
  const types = xmlFields(parseDocument(body, 'ObjectEncryption'), ['SSE-KMS', 'SSE-S3', 'SSE-C', 'DSSE-KMS'], 'ObjectEncryption');
  const kms = xmlList(types['SSE-KMS']);
  if (kms.length !== 1 || Object.keys(types).some((k) => k !== 'SSE-KMS' && k !== '#text')) {
    throw new S3Error('InvalidRequest', 'Requests that modify an object encryption configuration require a valid new encryption type. Valid values are SSEKMS. Modify the request to specify SSE-KMS for the updated encryption type, and then try again.');
  }
  const fields = xmlFields(kms[0], ['KMSKeyArn', 'BucketKeyEnabled'], 'SSE-KMS');
  if (fields.KMSKeyArn === undefined) throw new S3Error('InvalidRequest', 'Requests that modify an object\'s encryption type to SSE-KMS require an AWS KMS key Amazon Resource Name (ARN).');
  const arn = xmlText(fields.KMSKeyArn, 'KMSKeyArn');
  let keyId: string | undefined;
  try {
    keyId = normalizeKmsKeyId(arn);
  } catch {
    throw new S3Error('InvalidRequest', 'Requests that modify an object\'s encryption type to SSE-KMS require a valid AWS KMS key Amazon Resource Name (ARN).');
  }
  const bke = fields.BucketKeyEnabled === undefined ? 'false' : xmlText(fields.BucketKeyEnabled, 'BucketKeyEnabled');
  if (bke !== 'true' && bke !== 'false') throw new S3Error('InvalidRequest', 'The BucketKeyEnabled value isn\'t valid. Valid values are true or false.');
  return { keyId, keyArn: arn, bucketKey: bke === 'true' };
}

function refuseLocked(rec: ObjectRecord): void {
  if (isLocked(rec, Date.now(), false)) {
    throw new S3Error('AccessDenied', 'The encryption type for the specified object can\'t be updated because that object is protected by S3 Object Lock.');
  }
}

export async function handleUpdateObjectEncryption(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const bucket = requireBucket(env, ctx.bucket);
  const authorization = ctx.headers.authorization;
  if ((authorization !== undefined && isV2Authorization(authorization)) || hasV2PresignParams([...ctx.query])) {
    throw new S3Error('InvalidRequest', 'Requests that modify an object encryption configuration require AWS Signature Version 4. Modify the request to use AWS Signature Version 4, and then try again.');
  }
  const key = ctx.key!;
  const versionId = ctx.query.get('versionId') ?? undefined;
  // s3:UpdateObjectEncryption was judged before the request ran (ops/policy.ts); S3 asks for
  // s3:PutObject as well. Both are judged again with the body's KMS key once it is parsed.
  if (!updateEncryptionWriteAllowed(env, ctx)) throw new S3Error('AccessDenied');
  const lookUp = (): ObjectRecord => readableRecord(env, ctx, key, { bucket: ctx.bucket, versionId: ctx.query.get('versionId') }, 'not-allowed');
  lookUp();
  const { keyId, keyArn, bucketKey } = parseObjectEncryption(await ctx.body.readAll(64 * 1024));
  if (!bodyAllowed(env, ctx, { kmsKeyId: keyArn }) || !updateEncryptionWriteAllowed(env, ctx, { kmsKeyId: keyArn })) throw new S3Error('AccessDenied');
  const rec = lookUp();
  const sse = rec.sse;
  if (sse === undefined) throw new S3Error('InvalidRequest', 'The UpdateObjectEncryption operation doesn\'t support unencrypted source objects. Only source objects encrypted with SSE-S3 or SSE-KMS are supported.');
  if (sse.kind === 'SSE-C') throw new S3Error('InvalidRequest', 'The UpdateObjectEncryption operation doesn\'t support source objects with the encryption type DSSE-KMS or SSE-C. Only source objects encrypted with SSE-S3 or SSE-KMS are supported.');
  refuseLocked(rec);
  const objectKey = await unsealForRead(env, sse, ctx.headers, ctx.bucket!, key);
  let next;
  try {
    next = await resealUnderKms(env, sse, objectKey, keyId, bucketKey, ctx.bucket!, key);
  } finally {
    objectKey.fill(0); // the cache keeps a copy of its own
  }
  const stored = await env.meta
    .updateObject(
      ctx.bucket!,
      key,
      (cur) => {
        // Re-keyed from the record judged, so only that record may take the new key.
        if (cur.sse === undefined || !Buffer.from(cur.sse.sealedKey).equals(Buffer.from(sse.sealedKey))) {
          throw new S3Error('PreconditionFailed', 'The object changed during the encryption update; retry.');
        }
        refuseLocked(cur);
        return { ...cur, sse: next };
      },
      versionId,
    )
    .catch(metaErrorAfterLookUp(lookUp));
  return { status: 200, headers: readVersionHeader(bucket, stored) };
}
