// auth/post-policy.ts on its own: signatures (V4 over the base64 policy with the credential's
// signing key, V2 HMAC-SHA1), expiration, each condition form, field-name case, the rule that
// every form field needs a condition, and malformed policies.
import t from 'tap';
import { createHmac } from 'node:crypto';
import { verifyPostPolicy, type FormFields } from '../../../../daemon/auth/post-policy.js';
import { deriveSigningKey } from '../../../../daemon/auth/sigv4.js';
import { thrownCode as code } from '../../../helpers/errors.js';

const creds = { lookup: (id: string) => (id === 'AKID' ? 'secret-key-1' : undefined) };
const NOW = new Date('2026-11-30T12:00:00Z');
const opts = { bucket: 'photos', region: 'us-east-1', sigV2: true, now: NOW };
const CRED = 'AKID/20261130/us-east-1/s3/aws4_request';

function b64(policy: unknown): string {
  return Buffer.from(JSON.stringify(policy)).toString('base64');
}

/**
 * A V4-signed form: the policy's conditions must name the signing fields too, and the bucket (the
 * URL's, `photos`), which is added as the SDKs add it unless the conditions name it or
 * `bucketCondition` is false.
 */
function v4Form(conditions: unknown[], fields: Record<string, string>, expiration = '2026-11-30T13:00:00.000Z', bucketCondition = true): Map<string, string> {
  const base = { 'x-amz-algorithm': 'AWS4-HMAC-SHA256', 'x-amz-credential': CRED, 'x-amz-date': '20261130T120000Z' };
  const namesBucket = JSON.stringify(conditions).toLowerCase().includes('bucket');
  const all = [...conditions, ...(bucketCondition && !namesBucket ? [{ bucket: 'photos' }] : []), { 'x-amz-algorithm': base['x-amz-algorithm'] }, { 'x-amz-credential': CRED }, { 'x-amz-date': base['x-amz-date'] }];
  const policy = b64({ expiration, conditions: all });
  const sig = createHmac('sha256', deriveSigningKey('secret-key-1', '20261130', 'us-east-1', 's3')).update(policy).digest('hex');
  return new Map(Object.entries({ ...base, ...fields, policy, 'x-amz-signature': sig }).map(([k, v]) => [k.toLowerCase(), v]));
}

t.test('Signature Version 4: accepted, and refused when anything signed changes', async (t) => {
  const form = v4Form([{ bucket: 'photos' }, ['starts-with', '$key', 'u/']], { key: 'u/a.jpg' });
  t.strictSame(verifyPostPolicy(form, creds, opts), { accessKeyId: 'AKID' });
  const tampered = new Map(form);
  tampered.set('policy', b64({ expiration: '2030-01-01T00:00:00Z', conditions: [] }));
  t.equal(code(() => verifyPostPolicy(tampered, creds, opts)), 'SignatureDoesNotMatch', 'another policy under the same signature');
  const badSig = new Map(form);
  badSig.set('x-amz-signature', '0'.repeat(64));
  t.equal(code(() => verifyPostPolicy(badSig, creds, opts)), 'SignatureDoesNotMatch');
  const unknown = new Map(form);
  unknown.set('x-amz-credential', CRED.replace('AKID', 'NOPE'));
  t.equal(code(() => verifyPostPolicy(unknown, creds, opts)), 'InvalidAccessKeyId');
  const region = new Map(form);
  region.set('x-amz-credential', CRED.replace('us-east-1', 'eu-west-1'));
  t.equal(code(() => verifyPostPolicy(region, creds, opts)), 'AuthorizationHeaderMalformed', 'credential for another region');
  const algo = new Map(form);
  algo.set('x-amz-algorithm', 'AWS4-HMAC-SHA1');
  t.equal(code(() => verifyPostPolicy(algo, creds, opts)), 'InvalidArgument');
  const noPolicy = new Map(form);
  noPolicy.delete('policy');
  t.equal(code(() => verifyPostPolicy(noPolicy, creds, opts)), 'InvalidArgument', 'a signed form without its policy: the missing field, as S3 answers it');
  // Neither a policy nor a signer: an anonymous form, left to the bucket's policy (the caller).
  t.strictSame(verifyPostPolicy(new Map([['key', 'k'], ['content-type', 'text/plain']]), creds, opts), { accessKeyId: '' }, 'anonymous form: no signer, no size bound');
  t.equal(code(() => verifyPostPolicy(new Map([...noPolicy, ['policy', '']]), creds, opts)), 'InvalidPolicyDocument', 'a signed form with an empty policy');
  t.equal(code(() => verifyPostPolicy(new Map([['key', 'k'], ['awsaccesskeyid', 'AKID']]), creds, opts)), 'InvalidArgument', 'a V2 key without a policy');
  const noSig = new Map(form);
  noSig.delete('x-amz-signature');
  t.equal(code(() => verifyPostPolicy(noSig, creds, opts)), 'InvalidArgument', 'policy without signature: 400, naming X-Amz-Signature');
  // A missing X-Amz-* field is named as missing (S3's ArgumentName), not judged as a wrong value.
  for (const [drop, name] of [['x-amz-algorithm', 'X-Amz-Algorithm'], ['x-amz-credential', 'X-Amz-Credential'], ['x-amz-date', 'X-Amz-Date']]) {
    const f = new Map(form);
    f.delete(drop!);
    try {
      verifyPostPolicy(f, creds, opts);
      t.fail(`${drop} missing`);
    } catch (err) {
      const e = err as { code: string; message: string; fields: Record<string, string> };
      t.same([e.code, e.fields.ArgumentName], ['InvalidArgument', name], `${drop} missing`);
      t.equal(e.message, `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`, 'S3\'s text');
    }
  }
  // A wrong signature says what was signed and by whom, as S3 does (the header path's fields).
  try {
    verifyPostPolicy(badSig, creds, opts);
    t.fail('a wrong signature was accepted');
  } catch (err) {
    const fields = (err as { fields: Record<string, string> }).fields;
    t.same([fields.AWSAccessKeyId, fields.SignatureProvided, fields.StringToSign], ['AKID', '0'.repeat(64), form.get('policy')], 'SignatureDoesNotMatch names the key, the signature and the policy');
  }
});

t.test('Signature Version 2: HMAC-SHA1 of the policy; refused when S3_SIGV2=off', async (t) => {
  const policy = b64({ expiration: '2026-11-30T13:00:00Z', conditions: [{ bucket: 'photos' }, { key: 'k' }] });
  const signature = createHmac('sha1', 'secret-key-1').update(policy).digest('base64');
  const form: FormFields = new Map([['key', 'k'], ['awsaccesskeyid', 'AKID'], ['policy', policy], ['signature', signature]]);
  t.strictSame(verifyPostPolicy(form, creds, opts), { accessKeyId: 'AKID' }, 'AWSAccessKeyId and signature need no condition');
  t.equal(code(() => verifyPostPolicy(form, creds, { ...opts, sigV2: false })), 'InvalidSignatureTypeError');
  const bad = new Map(form);
  bad.set('signature', createHmac('sha1', 'wrong').update(policy).digest('base64'));
  t.equal(code(() => verifyPostPolicy(bad, creds, opts)), 'SignatureDoesNotMatch');
  // A policy without its signature, or a signature without its key: 400, naming the field.
  const missing = (drop: string, extra: Record<string, string> = {}): unknown => {
    const f = new Map(form);
    f.delete(drop);
    for (const [k, v] of Object.entries(extra)) f.set(k, v);
    try {
      verifyPostPolicy(f, creds, opts);
      return 'ok';
    } catch (err) {
      const e = err as { code: string; message: string; fields?: Record<string, string> };
      return [e.code, e.fields?.ArgumentName, e.message];
    }
  };
  t.match(missing('signature'), ['InvalidArgument', 'Signature', /^Bucket POST must contain a field named 'Signature'/]);
  t.match(missing('awsaccesskeyid'), ['InvalidArgument', 'AWSAccessKeyId']);
  // Neither signature nor key: an anonymous form, AccessDenied as S3 answers one.
  const anonymous = new Map(form);
  anonymous.delete('signature');
  anonymous.delete('awsaccesskeyid');
  t.equal(code(() => verifyPostPolicy(anonymous, creds, opts)), 'AccessDenied', 'key and policy only');
  try {
    verifyPostPolicy(bad, creds, opts);
    t.fail('a wrong V2 signature was accepted');
  } catch (err) {
    const fields = (err as { fields: Record<string, string> }).fields;
    t.same([fields.AWSAccessKeyId, fields.StringToSign], ['AKID', policy], 'V2 SignatureDoesNotMatch names the key and the policy');
  }
  t.match(missing('signature', { 'x-amz-credential': 'AKID/20261130/us-east-1/s3/aws4_request' }), ['InvalidArgument', 'X-Amz-Signature']);
});

t.test('expiration and malformed policies', async (t) => {
  t.equal(code(() => verifyPostPolicy(v4Form([{ key: 'k' }], { key: 'k' }, '2026-11-30T11:59:59Z'), creds, opts)), 'AccessDenied', 'expired');
  t.equal(code(() => verifyPostPolicy(v4Form([{ key: 'k' }], { key: 'k' }, 'tomorrow'), creds, opts)), 'InvalidPolicyDocument');
  // ISO 8601 in UTC only, as S3 documents it; what Date.parse would also take is refused.
  for (const e of ['2026-12-02T24:00:00Z', '2026-02-30T00:00:00Z', '2026-12-02 18:38:08.659542+00:00', '2026-12-02T18:38:08+01:00', '2026-12-02T18:38:08', 'Dec 2 2026', '2026-12-02']) {
    t.equal(code(() => verifyPostPolicy(v4Form([{ key: 'k' }], { key: 'k' }, e), creds, opts)), 'InvalidPolicyDocument', `expiration ${e}`);
  }
  for (const e of ['2026-12-02T18:38:08Z', '2026-12-02T18:38:08.123Z', '2026-12-02T18:38:08.659542Z', '2026-12-02T18:38:08.659542+00:00']) {
    t.equal(code(() => verifyPostPolicy(v4Form([{ key: 'k' }], { key: 'k' }, e), creds, opts)), 'ok', `expiration ${e}`);
  }
  t.equal(code(() => verifyPostPolicy(v4Form([['eq', 'key', 'k']], { key: 'k' }), creds, opts)), 'AccessDenied', 'a field without its $: a failed condition');
  for (const cond of [['matches', '$key', 'k'], ['eq', '$key'], { a: 'x', b: 'y' }, { key: 5 }, 'key', ['content-length-range', 10, 1], ['content-length-range', 'a', 2],
    // Number() took these: "" as 0, hexadecimal, exponents, booleans, blanks, null.
    ['content-length-range', '', '1e1'], ['content-length-range', '0x0', '0x10'], ['content-length-range', true, ' 20 '], ['content-length-range', null, []], ['content-length-range', 0, 1.5]]) {
    t.equal(code(() => verifyPostPolicy(v4Form([cond], { key: 'k' }), creds, opts)), 'InvalidPolicyDocument', JSON.stringify(cond));
  }
  // Nested past what JSON.stringify (the refusal's message) can recurse through: a RangeError, 500.
  // (Written as text: JSON.stringify cannot write it either.)
  const deepForm = v4Form([['eq', '$key', 'DEEP']], { key: 'k' });
  const deepPolicy = Buffer.from(Buffer.from(deepForm.get('policy')!, 'base64').toString().replace('"DEEP"', '['.repeat(10_000) + ']'.repeat(10_000))).toString('base64');
  deepForm.set('policy', deepPolicy);
  deepForm.set('x-amz-signature', createHmac('sha256', deriveSigningKey('secret-key-1', '20261130', 'us-east-1', 's3')).update(deepPolicy).digest('hex'));
  t.equal(code(() => verifyPostPolicy(deepForm, creds, opts)), 'InvalidPolicyDocument', 'a condition nested 10,000 deep');
  // Signed, but not JSON.
  const form = v4Form([], {});
  const junk = Buffer.from('not json').toString('base64');
  form.set('policy', junk);
  form.set('x-amz-signature', createHmac('sha256', deriveSigningKey('secret-key-1', '20261130', 'us-east-1', 's3')).update(junk).digest('hex'));
  t.equal(code(() => verifyPostPolicy(form, creds, opts)), 'InvalidPolicyDocument');
});

t.test('conditions: exact, eq, starts-with, $bucket, case of field names, content-length-range', async (t) => {
  const ok = (conds: unknown[], fields: Record<string, string>): string => code(() => verifyPostPolicy(v4Form(conds, fields), creds, opts));
  t.equal(ok([{ key: 'k' }], { key: 'k' }), 'ok');
  t.equal(ok([{ key: 'k' }], { key: 'K' }), 'AccessDenied', 'values compare case-sensitively');
  t.equal(ok([{ Key: 'k' }], { KEY: 'k' }), 'ok', 'names compare case-insensitively');
  t.equal(ok([['eq', '$Content-Type', 'image/png'], { key: 'k' }], { key: 'k', 'Content-Type': 'image/png' }), 'ok');
  t.equal(ok([['eq', '$Content-Type', 'image/png'], { key: 'k' }], { key: 'k', 'Content-Type': 'image/gif' }), 'AccessDenied');
  t.equal(ok([['starts-with', '$key', 'user/7/']], { key: 'user/7/a' }), 'ok');
  t.equal(ok([['starts-with', '$key', 'user/7/']], { key: 'user/8/a' }), 'AccessDenied');
  t.equal(ok([['starts-with', '$key', '']], { key: 'anything' }), 'ok', 'an empty prefix allows anything');
  t.equal(ok([['starts-with', '$x-amz-meta-tag', ''], { key: 'k' }], { key: 'k' }), 'ok', 'an empty prefix allows a missing field too (S3, MinIO; ceph s3-tests)');
  t.equal(ok([['starts-with', '$x-amz-meta-tag', 'a'], { key: 'k' }], { key: 'k' }), 'AccessDenied', 'any other condition on a missing field fails');
  t.equal(ok([['eq', '$x-amz-meta-tag', ''], { key: 'k' }], { key: 'k' }), 'AccessDenied', 'eq "" too');
  t.equal(ok([{ bucket: 'photos' }, { key: 'k' }], { key: 'k' }), 'ok', '$bucket is the URL\'s bucket');
  t.equal(ok([{ bucket: 'other' }, { key: 'k' }], { key: 'k' }), 'AccessDenied');
  t.equal(ok([{ bucket: 'photos' }, { key: 'k' }], { key: 'k', bucket: 'other' }), 'ok', 'a bucket field cannot redirect the upload: $bucket is the URL\'s');
  t.strictSame(verifyPostPolicy(v4Form([{ key: 'k' }, ['content-length-range', 1, '1048576']], { key: 'k' }), creds, opts).lengthRange, { min: 1, max: 1048576 });
  t.strictSame(verifyPostPolicy(v4Form([{ key: 'k' }, ['content-length-range', 0, 3], ['content-length-range', 2, 100]], { key: 'k' }), creds, opts).lengthRange, { min: 2, max: 3 }, 'two ranges: both hold (their intersection), not the last alone');
});

t.test('every form field needs a condition, except the exempt ones', async (t) => {
  const form = v4Form([{ key: 'k' }], { key: 'k', 'x-amz-meta-owner': 'eve' });
  t.match(code(() => verifyPostPolicy(form, creds, opts)), 'AccessDenied');
  try {
    verifyPostPolicy(form, creds, opts);
    t.fail('a field without a condition was accepted');
  } catch (err) {
    t.match((err as Error).message, /Extra input fields: x-amz-meta-owner/);
  }
  // The bucket is a field of every form (the URL's when the form has none): a policy must name it,
  // as S3 answers (aws/aws-sdk-php#3292; ceph s3-tests' test_post_object_missing_policy_condition).
  for (const fields of [{ key: 'k' }, { key: 'k', bucket: 'photos' }] as Array<Record<string, string>>) {
    try {
      verifyPostPolicy(v4Form([{ key: 'k' }], fields, undefined, false), creds, opts);
      t.fail('a policy without a bucket condition was accepted');
    } catch (err) {
      t.same([(err as { code: string }).code, (err as Error).message], ['AccessDenied', 'Invalid according to Policy: Extra input fields: bucket'], `no bucket condition, ${fields.bucket === undefined ? 'no' : 'a'} bucket field`);
    }
  }
  t.equal(code(() => verifyPostPolicy(v4Form([{ key: 'k' }, ['starts-with', '$bucket', 'pho']], { key: 'k' }), creds, opts)), 'ok', 'a starts-with condition on the bucket names it too');
  t.equal(code(() => verifyPostPolicy(v4Form([{ key: 'k' }], { key: 'k', 'x-ignore-submit': 'Upload', file: 'x' }), creds, opts)), 'ok', 'x-ignore-* and file are exempt');
  t.equal(code(() => verifyPostPolicy(v4Form([{ key: 'k' }, ['starts-with', '$success_action_status', '']], { key: 'k', success_action_status: '201' }), creds, opts)), 'ok');
});

t.test('fields that only add protection need no condition (minio-go SetEncryption and SetChecksum), the KMS key id does', async (t) => {
  const ok = (fields: Record<string, string>, conds: unknown[] = [{ key: 'k' }]): string => code(() => verifyPostPolicy(v4Form(conds, { key: 'k', ...fields }), creds, opts));
  // What minio-go puts in the form, Go's canonical header case, and no condition for any of it.
  t.equal(ok({ 'X-Amz-Server-Side-Encryption': 'AES256' }), 'ok', 'SSE-S3');
  t.equal(ok({ 'X-Amz-Server-Side-Encryption': 'aws:kms', 'X-Amz-Server-Side-Encryption-Context': 'eyJhIjoiYiJ9' }), 'ok', 'SSE-KMS with the default key and a context');
  t.equal(
    ok({ 'X-Amz-Server-Side-Encryption-Customer-Algorithm': 'AES256', 'X-Amz-Server-Side-Encryption-Customer-Key': 'a2V5', 'X-Amz-Server-Side-Encryption-Customer-Key-Md5': 'bWQ1' }),
    'ok',
    'SSE-C',
  );
  t.equal(ok({ 'X-Amz-Checksum-Algorithm': 'CRC32C', 'X-Amz-Checksum-Crc32c': 'AAAAAA==' }), 'ok', 'a checksum and its algorithm');
  t.equal(ok({ 'X-Amz-Server-Side-Encryption': 'aws:kms', 'X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id': 'other-key' }), 'AccessDenied', 'the KMS key id chooses the key: it needs a condition');
  t.equal(ok({ 'X-Amz-Server-Side-Encryption': 'aws:kms', 'X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id': 'k1' }, [{ key: 'k' }, { 'x-amz-server-side-encryption-aws-kms-key-id': 'k1' }]), 'ok', 'with one');
  t.equal(ok({ 'X-Amz-Server-Side-Encryption': 'aws:kms' }, [{ key: 'k' }, { 'x-amz-server-side-encryption': 'AES256' }]), 'AccessDenied', 'a condition that names an exempt field still holds');
  t.equal(ok({ 'x-amz-checksum-type': 'COMPOSITE' }), 'AccessDenied', 'other x-amz-checksum-* settings are fields like any other');
  t.equal(ok({ 'x-amz-meta-sse': 'AES256' }), 'AccessDenied', 'user metadata still needs its condition');
  // The handler refuses them where they would displace the bucket's default KMS key: it is told which.
  const verified = (fields: Record<string, string>, conds: unknown[]) => verifyPostPolicy(v4Form(conds, { key: 'k', ...fields }), creds, opts);
  t.strictSame(verified({ 'X-Amz-Server-Side-Encryption': 'AES256', 'X-Amz-Checksum-Crc32': 'AAAAAA==' }, [{ key: 'k' }]).unconditionedSse, ['x-amz-server-side-encryption'], 'the SSE fields taken without a condition are named');
  t.equal(verified({ 'X-Amz-Server-Side-Encryption': 'AES256' }, [{ key: 'k' }, ['starts-with', '$x-amz-server-side-encryption', '']]).unconditionedSse, undefined, 'none when a condition names them');
});
