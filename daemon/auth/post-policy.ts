// Browser-form uploads (POST Object): the signed POST policy that authenticates them. The form
// carries a base64 JSON policy (an expiration and conditions on the form's fields) and its
// signature, Signature Version 4 (`x-amz-signature`: HMAC-SHA256 with the signing key of
// `x-amz-credential`'s day and region, over the base64 text) or Version 2 (`signature`:
// HMAC-SHA1 with the secret). The signature is checked first; then the expiration; then every
// condition, and every form field must be named by one, as S3 requires (but for the fields that
// only add protection, as MinIO takes them: onlyProtects). Pure: no I/O.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../errors.js';
import { parseIsoDateTime } from '../dates.js';
import { utf8Text } from '../utf8.js';
import { isChecksumValueHeader } from './payload.js';
import { ALGORITHM, lookupSecret, sessionCredentials, signatureHex, signaturesEqual, signingKeyFor, type AuthOptions, type Credentials } from './sigv4.js';
import { signatureMismatch } from './sigv4-errors.js';
import { jsonNestsDeeperThan, MAX_POLICY_NESTING } from './json-keys.js';

/** Form fields, names lower-cased (form field names are case-insensitive). */
export type FormFields = ReadonlyMap<string, string>;

export interface PostPolicyOptions {
  /** The bucket of the request URL (`$bucket` in conditions). */
  bucket: string;
  region: string;
  sigV2: boolean;
  now?: Date;
  /** Opens the session token of temporary credentials (the x-amz-security-token field). */
  sessions?: AuthOptions['sessions'];
}

export interface PostAuth {
  /** The policy's signer; '' for an anonymous form (no policy, no signer). */
  accessKeyId: string;
  /** Inclusive byte bounds of the file from `content-length-range`, when the policy sets them. */
  lengthRange?: { min: number; max: number };
  /** SSE fields the form has and no condition names (taken as they only add protection: onlyProtects). */
  unconditionedSse?: string[];
}

/**
 * Fields that name who signed a form (V2 or V4; a session token, temporary credentials); a form
 * with none of them and no policy is anonymous.
 */
const SIGNER_FIELDS = ['awsaccesskeyid', 'signature', 'x-amz-credential', 'x-amz-signature', 'x-amz-algorithm', 'x-amz-security-token'];

/** Fields that need no condition (S3's list, with the V2 signature fields). */
function exempt(name: string): boolean {
  return name === 'policy' || name === 'x-amz-signature' || name === 'signature' || name === 'awsaccesskeyid' || name === 'file' || name.startsWith('x-ignore-') || onlyProtects(name);
}

/**
 * Fields that only add protection, which MinIO, unlike S3, takes without a condition: minio-go's
 * PostPolicy.SetEncryption and SetChecksum put them in the form and not in the policy, so their
 * forms failed here. Asking for SSE-S3, SSE-KMS with the default key or an encryption context,
 * or SSE-C with a key of the form holder's (who chooses the file's bytes anyway), and a checksum
 * the file is checked against, weaken nothing the signer allowed. The KMS key id is not among
 * them: it chooses which key seals the object, and needs a condition as on S3; nor are the SSE
 * fields in a bucket whose default encryption names a KMS key, which they would displace (the
 * form handler refuses them there: unconditionedSse). A condition that names one of these fields
 * holds as any other; bucket and user policies judge them as headers.
 */
function onlyProtects(name: string): boolean {
  if (name === KMS_KEY_ID_FIELD) return false;
  return name.startsWith(SSE_FIELDS) || name === 'x-amz-checksum-algorithm' || isChecksumValueHeader(name);
}
const SSE_FIELDS = 'x-amz-server-side-encryption';
const KMS_KEY_ID_FIELD = 'x-amz-server-side-encryption-aws-kms-key-id';

const CREDENTIAL = /^([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request$/;

/**
 * The base64 alphabet (the standard one, padded or not), as the policy field is written; line
 * breaks and spaces are let through, as the decoder always skipped them (Ruby's encode64 wraps).
 */
const BASE64 = /^[A-Za-z0-9+/\s]*(?:=\s*){0,2}$/;

/** S3's answer to a policy document it cannot read: `Invalid Policy: <reason>`. */
function invalidPolicy(reason: string): S3Error {
  return new S3Error('InvalidPolicyDocument', `Invalid Policy: ${reason}`);
}

function denied(reason: string): S3Error {
  return new S3Error('AccessDenied', `Invalid according to Policy: ${reason}`);
}

/** A policy's expiration: ISO 8601 in UTC, as S3 documents it (Z, or Python's +00:00). */
const EXPIRATION = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]00:00)$/;

/** S3's answer to a form without a field it needs. */
export function missingField(name: string): S3Error {
  return new S3Error('InvalidArgument', `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`, { fields: { ArgumentName: name, ArgumentValue: '' } });
}

/** Checks the form's signature and policy; returns who signed it and the allowed file size. */
export function verifyPostPolicy(fields: FormFields, creds: Credentials, opts: PostPolicyOptions): PostAuth {
  const policy = fields.get('policy');
  if (policy === undefined || policy === '') {
    // A form with neither a policy nor a signer is anonymous, as S3 takes it: only the bucket's
    // policy can admit it (the caller judges it as an unsigned PutObject), with no conditions and
    // no size bound but S3's. One that names a signer but has no policy field is S3's
    // InvalidArgument naming the field (as for a missing signature); an empty one is a policy
    // document S3 cannot parse (InvalidPolicyDocument), both 400, as versitygw's AWS-checked
    // tests have them.
    if (!SIGNER_FIELDS.some((name) => fields.has(name))) return { accessKeyId: '' };
    if (policy === undefined) throw missingField('policy');
    throw new S3Error('InvalidPolicyDocument', "Invalid Policy: Expecting '{' but found End-of-Input");
  }
  const accessKeyId = checkSignature(fields, policy, creds, opts);

  // S3's words for a policy it cannot read (versitygw's AWS-checked PostObject tests; "Invalid
  // JSON." and the expiration's and a Simple-Condition's are in answers recorded from S3 too).
  // Node's base64 decoder skips what is no base64 (`_`, `-`, spaces), so the alphabet is checked.
  if (!BASE64.test(policy)) throw invalidPolicy('invalid Base64 encoding.');
  let doc: unknown;
  const text = utf8Text(Buffer.from(policy, 'base64'));
  try {
    if (text === undefined) throw new Error('not UTF-8');
    doc = JSON.parse(text);
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  // The conditions are read, and quoted in refusals, by code that recurses (JSON.stringify).
  if (jsonNestsDeeperThan(text, MAX_POLICY_NESTING)) throw new S3Error('InvalidPolicyDocument', `The policy nests objects and lists more than ${MAX_POLICY_NESTING} deep.`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new S3Error('InvalidPolicyDocument', 'The policy must be a JSON object.');
  const { expiration, conditions } = doc as { expiration?: unknown; conditions?: unknown };
  // ISO 8601 in UTC, as S3 documents it (2007-12-01T12:00:00.000Z): Date.parse would take
  // "2007-12-01 12:00" as local time, or "Dec 1 2007".
  if (expiration === undefined) throw invalidPolicy('Policy missing expiration.');
  if (typeof expiration !== 'string') throw invalidPolicy('Invalid JSON.');
  const expires = EXPIRATION.test(expiration) ? parseIsoDateTime(expiration) : undefined;
  if (expires === undefined) throw invalidPolicy(`Invalid 'expiration' value: '${expiration}'`);
  if (conditions === undefined) throw invalidPolicy('Policy missing conditions.');
  if (!Array.isArray(conditions)) throw invalidPolicy("Invalid 'conditions' value: must be a List.");
  if (expires <= (opts.now ?? new Date()).getTime()) throw denied('Policy expired.');

  const value = (field: string): string | undefined => (field === 'bucket' ? opts.bucket : fields.get(field));
  const covered = new Set<string>();
  let lengthRange: PostAuth['lengthRange'];
  for (const cond of conditions) {
    if (Array.isArray(cond)) {
      const [op, a, b] = cond as unknown[];
      if (cond.length === 0) throw invalidPolicy('Invalid Condition: missing operation identifier.');
      if (typeof op !== 'string') throw invalidPolicy('Invalid JSON.');
      const opName = op.toLowerCase();
      if (opName !== 'eq' && opName !== 'starts-with' && opName !== 'content-length-range') throw invalidPolicy(`Invalid Condition: unknown operation '${op}'.`);
      if (cond.length !== 3) throw invalidPolicy(`Invalid ${op}: wrong number of arguments.`);
      if (opName === 'content-length-range') {
        // A JSON integer or a string of decimal digits (Number() took "", "0x10", "1e1", true).
        const bound = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN);
        const min = bound(a);
        const max = bound(b);
        if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) throw invalidPolicy('Invalid JSON.');
        if (min < 0 || max < min) {
          throw new S3Error('InvalidPolicyDocument', `Invalid content-length-range condition: ${JSON.stringify(cond)}`);
        }
        // Every condition holds, this one too: two ranges are their intersection (the last one
        // alone let a 5-byte file through `[0, 3]` followed by `[0, 100]`).
        lengthRange = lengthRange === undefined ? { min, max } : { min: Math.max(lengthRange.min, min), max: Math.min(lengthRange.max, max) };
        continue;
      }
      if (typeof a !== 'string' || typeof b !== 'string') throw invalidPolicy('Invalid JSON.');
      // A field named without its `$` names no form field, so the condition cannot hold: S3 answers
      // it as a failed condition (403), not as a policy it cannot read.
      if (!a.startsWith('$')) throw denied(`Policy Condition failed: ${JSON.stringify(cond)}`);
      const field = a.slice(1).toLowerCase();
      covered.add(field);
      const v = value(field);
      // ["starts-with", "$field", ""] allows any value, as S3 documents it; S3 and MinIO take
      // an absent field as empty there too. A Content-Type with commas is a list to starts-with,
      // as S3 documents it: every member must have the prefix, or `image/jpg,text/html` would
      // pass a policy that allows images only.
      const ok = opName === 'eq' ? v === b : field === 'content-type' ? (v ?? '').split(',').every((t) => t.trim().startsWith(b)) : (v ?? '').startsWith(b);
      if (!ok) throw denied(`Policy Condition failed: ${JSON.stringify(cond)}`);
    } else if (typeof cond === 'object' && cond !== null) {
      const entries = Object.entries(cond as Record<string, unknown>);
      if (entries.length !== 1) throw invalidPolicy('Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.');
      if (typeof entries[0]![1] !== 'string') throw invalidPolicy('Invalid Simple-Condition: value must be a string.');
      const [name, expected] = entries[0] as [string, string];
      const field = name.toLowerCase();
      covered.add(field);
      if (value(field) !== expected) throw denied(`Policy Condition failed: ["eq", "$${name}", ${JSON.stringify(expected)}]`);
    } else {
      throw invalidPolicy('Invalid condition test: must be a List or Object.');
    }
  }
  // The bucket is a field of every form, given by the URL if not in the form, so it needs its
  // condition as the others do: S3 refuses a policy without one ("Extra input fields: bucket",
  // aws/aws-sdk-php#3292), where s3d took it, a signed form then fit for any bucket the signer
  // could write to. The SDKs' presigned-post helpers (boto3, the JavaScript SDK, minio-go,
  // minio-js) always write one.
  const extra = [...new Set(['bucket', ...fields.keys()])].filter((f) => !exempt(f) && !covered.has(f));
  if (extra.length > 0) throw extraFields(extra);
  const unconditionedSse = [...fields.keys()].filter((f) => f.startsWith(SSE_FIELDS) && !covered.has(f));
  return { accessKeyId, ...(lengthRange ? { lengthRange } : {}), ...(unconditionedSse.length > 0 ? { unconditionedSse } : {}) };
}

/** S3's answer to form fields no condition names. */
export function extraFields(names: string[]): S3Error {
  return denied(`Extra input fields: ${names.join(', ')}`);
}

function checkSignature(fields: FormFields, policy: string, creds: Credentials, opts: PostPolicyOptions): string {
  const v4Signature = fields.get('x-amz-signature');
  // Temporary credentials: the policy is signed with the key their token holds, with V4 (the
  // token is a field, which the policy's conditions must name like every x-amz- field).
  const token = fields.get('x-amz-security-token');
  if (token !== undefined) {
    // boto3's default client signs a form with V2 and puts the token in it: said as a header's or
    // a presigned URL's V2 is (auth/sigv4.ts), not as a token that is malformed, which it is not.
    if (v4Signature === undefined && (fields.has('signature') || fields.has('awsaccesskeyid'))) {
      throw new S3Error('InvalidToken', `Temporary credentials sign with ${ALGORITHM}, not Signature Version 2 (boto3: Config(signature_version='s3v4')).`);
    }
    if (v4Signature === undefined) throw new S3Error('InvalidToken');
    creds = sessionCredentials(opts.sessions, token, (opts.now ?? new Date()).getTime());
  }
  if (v4Signature !== undefined) {
    const algorithm = fields.get('x-amz-algorithm');
    if (algorithm === undefined) throw missingField('X-Amz-Algorithm');
    if (!fields.has('x-amz-credential')) throw missingField('X-Amz-Credential');
    if (!fields.has('x-amz-date')) throw missingField('X-Amz-Date');
    if (algorithm !== ALGORITHM) throw new S3Error('InvalidArgument', `The x-amz-algorithm field must be ${ALGORITHM}.`);
    const m = CREDENTIAL.exec(fields.get('x-amz-credential') ?? '');
    if (!m) throw new S3Error('InvalidArgument', 'The x-amz-credential field must look like <key id>/<yyyymmdd>/<region>/s3/aws4_request.');
    const [, accessKeyId, date, region] = m as unknown as [string, string, string, string];
    if (region !== opts.region) throw new S3Error('AuthorizationHeaderMalformed', `The region '${region}' is wrong; expecting '${opts.region}'.`);
    const amzDate = fields.get('x-amz-date');
    if (amzDate === undefined || !amzDate.startsWith(date)) throw new S3Error('InvalidArgument', 'The x-amz-date field must be the day of x-amz-credential, as yyyymmddThhmmssZ.');
    const secret = lookupSecret(creds, accessKeyId);
    const expected = signatureHex(signingKeyFor(accessKeyId, secret, date, region, 's3'), policy);
    if (!signaturesEqual(expected, v4Signature)) throw signatureMismatch(accessKeyId, policy, v4Signature);
    return accessKeyId;
  }
  const v2Signature = fields.get('signature');
  const v2Key = fields.get('awsaccesskeyid');
  if (v2Signature !== undefined && v2Key !== undefined) {
    if (!opts.sigV2) throw new S3Error('InvalidSignatureTypeError', `Signature Version 2 is turned off on this server (S3_SIGV2=off); sign the policy with ${ALGORITHM}.`);
    const secret = lookupSecret(creds, v2Key);
    const expected = Buffer.from(createHmac('sha1', secret).update(policy, 'utf8').digest('base64'));
    const given = Buffer.from(v2Signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw signatureMismatch(v2Key, policy, v2Signature);
    return v2Key;
  }
  // A policy without its signature, or a signature without its key: the form is incomplete. A
  // policy naming no signer at all signs nothing: AccessDenied, as S3 answers it (a form with
  // neither a policy nor a signer is anonymous, above).
  if (fields.has('x-amz-credential') || fields.has('x-amz-algorithm')) throw missingField('X-Amz-Signature');
  if (v2Signature === undefined && v2Key === undefined) throw new S3Error('AccessDenied', 'Access Denied: the form has a policy but names no signer (AWSAccessKeyId and Signature, or the X-Amz-* fields).');
  throw missingField(v2Signature === undefined ? 'Signature' : 'AWSAccessKeyId');
}
