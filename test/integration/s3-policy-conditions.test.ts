// Condition keys and operators of bucket and user policies beyond the basic ones, against one real
// daemon: each key shown changing the answer (403 AccessDenied against 200) for an anonymous
// requester under the bucket's policy, for a user under the bucket's policy, and for a user under
// its own policy (S3_IAM_FILE). Object tags: s3:ExistingObjectTag/<key> (the tags of the object,
// or of the version named, as they are at the request), s3:RequestObjectTag/<key> and
// s3:RequestObjectTagKeys (x-amz-tagging, PutObjectTagging's body, a form's tagging field) with
// ForAnyValue:/ForAllValues:. Object Lock: s3:object-lock-mode, -retain-until-date,
// -remaining-retention-days and -legal-hold (a write's headers, a multipart upload's parts judged by
// its CreateMultipartUpload's, PutObjectRetention's and PutObjectLegalHold's bodies), and a
// conditional write's s3:if-none-match. aws:PrincipalAccount, aws:ResourceAccount, aws:PrincipalArn (Arn operators). The parser and evaluator alone: unit/daemon/auth/bucket-policy.test.ts.

import t from 'tap';
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, bucketName, s3Client } from '../helpers/daemon.js';
import { objectPath, policy, stmt, taggingXml } from '../helpers/bucket-policy.js';
import { raw } from '../helpers/http.js';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { encodeForm, formData, sendPost } from '../helpers/post-object.js';
import { s3Code } from '../helpers/s3.js';
import { allow, deny, doc, DENIED, startDaemonWithUsers } from '../helpers/users.js';

const P = bucketName('pcond'); // judged by its bucket policy
const A = bucketName('acond'); // a bucket policy by account
const U = bucketName('ucond'); // judged by the users' own policies
const V = bucketName('vcond'); // versioned, users' policies

const policies = {
  // Reads only of objects tagged class=public; writes only with a project tag of blue or green and
  // no tag keys but project and owner; tagging likewise; nothing of what is tagged locked.
  abac: doc(
    allow(['s3:GetObject', 's3:GetObjectVersion'], [`${U}/*`, `${V}/*`], { StringEquals: { 's3:ExistingObjectTag/class': 'public' } }),
    allow(['s3:PutObject', 's3:PutObjectTagging'], [`${U}/*`], {
      StringEquals: { 's3:RequestObjectTag/project': ['blue', 'green'] },
      'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['project', 'owner'] },
    }),
    deny(['s3:*'], [`${U}/*`], { StringEquals: { 's3:ExistingObjectTag/class': 'locked' } }),
    // Listings of at most 100 keys a page, until 2999.
    allow(['s3:ListBucket'], [U], { NumericLessThanEquals: { 's3:max-keys': '100' }, DateLessThan: { 'aws:CurrentTime': '2999-01-01T00:00:00Z' } }),
    // req/: writes only private (x-amz-acl), by header signatures (no presigned URLs) with a signed
    // body, and versions read only by id v-allowed.
    allow(['s3:PutObject'], [`${U}/req/*`], { StringEquals: { 's3:authType': 'REST-HEADER', 's3:signatureversion': 'AWS4-HMAC-SHA256' } }),
    deny(['s3:PutObject'], [`${U}/req/*`], { StringNotEquals: { 's3:x-amz-acl': 'private' }, Null: { 's3:x-amz-acl': 'false' } }),
    deny(['s3:PutObject'], [`${U}/req/*`], { StringEquals: { 's3:x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }),
    // AWS's "deny ACL grants" statement: any x-amz-grant-* header.
    deny(['s3:PutObject'], [`${U}/req/*`], { Null: { 's3:x-amz-grant-full-control': 'false' } }),
    deny(['s3:PutObject'], [`${U}/req/*`], { Null: { 's3:x-amz-grant-read': 'false' } }),
  ),
  // Nothing of its own on P: what it may do there, P's policy says. On U, reads by account.
  other: doc(
    allow(['s3:ListBucket'], [U]),
    allow(['s3:GetObject'], [`${U}/*`], { StringEquals: { 'aws:PrincipalAccount': ACCESS_KEY, 'aws:ResourceAccount': ACCESS_KEY } }),
    deny(['s3:GetObject'], [`${U}/locked`], { StringNotEquals: { 'aws:ResourceAccount': 'another-account' } }),
  ),
};
const users = [
  { accessKey: 'abac-user', secretKey: 'abac-secret-0001', policies: ['abac'] },
  { accessKey: 'other-user', secretKey: 'other-secret-002', policies: ['other'] },
];

const { d } = await startDaemonWithUsers(t, { policies, users });
const root = d.s3();
const as = (accessKey: string): S3Client => s3Client(d.endpoint, d.caCert, true, { credentials: { accessKeyId: accessKey, secretAccessKey: users.find((u) => u.accessKey === accessKey)!.secretKey }, maxAttempts: 1 });
const abac = as('abac-user');
const other = as('other-user');
/** The body `c` reads, or its error (`AccessDenied/403`). */
async function get(c: S3Client, Bucket: string, Key: string, VersionId?: string): Promise<string> {
  let body = '';
  const code = await s3Code(c.send(new GetObjectCommand({ Bucket, Key, ...(VersionId ? { VersionId } : {}) })).then(async (o) => (body = await o.Body!.transformToString())));
  return code === 'ok' ? body : code;
}
const tagsOf = async (Bucket: string, Key: string): Promise<string> => (await root.send(new GetObjectTaggingCommand({ Bucket, Key }))).TagSet!.map((x) => `${x.Key}=${x.Value}`).join('&');
const anonymous = (method: string, bucket: string, key: string, opts: { query?: string; headers?: Record<string, string>; body?: string } = {}): Promise<number> =>
  raw(d.port, { method, path: objectPath(bucket, key), sign: false, ...opts }).then((r) => r.status);

await Promise.all([P, U, V, A].map((Bucket) => root.send(new CreateBucketCommand({ Bucket }))));
await root.send(new PutBucketVersioningCommand({ Bucket: V, VersioningConfiguration: { Status: 'Enabled' } }));
for (const b of [P, U]) {
  for (const [key, tagging] of [['pub', 'class=public'], ['priv', 'class=private'], ['untagged', ''], ['locked', 'class=locked&project=blue']]) {
    await root.send(new PutObjectCommand({ Bucket: b, Key: key!, Body: `body of ${key}`, ...(tagging ? { Tagging: tagging } : {}) }));
  }
}
for (const key of ['expired/x', 'future/x']) await root.send(new PutObjectCommand({ Bucket: P, Key: key, Body: key }));
await root.send(
  new PutBucketPolicyCommand({
    Bucket: P,
    Policy: policy(
      stmt('Allow', ['s3:GetObject'], [`${P}/*`], { StringEquals: { 's3:ExistingObjectTag/class': 'public' } }),
      stmt('Allow', ['s3:PutObject', 's3:PutObjectTagging'], [`${P}/up/*`], { StringEquals: { 's3:RequestObjectTag/project': 'blue' } }),
      // Set keys: no tag key outside project and owner, at any write.
      stmt('Deny', ['s3:PutObject', 's3:PutObjectTagging'], [`${P}/*`], { 'ForAnyValue:StringNotEquals': { 's3:RequestObjectTagKeys': ['project', 'owner'] } }),
      // Listing: pages of at most 10 keys; expired/ closed since 2000, future/ from 2999 on.
      stmt('Allow', ['s3:ListBucket'], [P], { NumericLessThanEquals: { 's3:max-keys': '10' } }),
      stmt('Allow', ['s3:GetObject'], [`${P}/expired/*`, `${P}/future/*`]),
      stmt('Deny', ['s3:GetObject'], [`${P}/expired/*`], { DateGreaterThan: { 'aws:CurrentTime': '2000-01-01T00:00:00Z' } }),
      stmt('Deny', ['s3:GetObject'], [`${P}/future/*`], { NumericGreaterThanEquals: { 'aws:EpochTime': '32472144000' } }),
    ),
  }),
);

t.test('s3:ExistingObjectTag/<key> under the bucket policy: anonymous and a user', async (t) => {
  t.equal(await anonymous('GET', P, 'pub'), 200, 'anonymous: an object tagged class=public');
  t.equal(await anonymous('GET', P, 'priv'), 403, 'anonymous: class=private');
  t.equal(await anonymous('GET', P, 'untagged'), 403, 'anonymous: no tag at all (no key)');
  t.equal(await get(other, P, 'pub'), 'body of pub', 'a user the bucket policy admits');
  t.equal(await get(other, P, 'priv'), DENIED);
  // The tags as they are at the request: retagging opens the object at once.
  await root.send(new PutObjectTaggingCommand({ Bucket: P, Key: 'priv', Tagging: { TagSet: [{ Key: 'class', Value: 'public' }] } }));
  t.equal(await anonymous('GET', P, 'priv'), 200, 'retagged public: readable');
  await root.send(new PutObjectTaggingCommand({ Bucket: P, Key: 'priv', Tagging: { TagSet: [{ Key: 'class', Value: 'private' }] } }));
  t.equal(await anonymous('GET', P, 'priv'), 403, 'and private again: not');
  t.equal(await anonymous('GET', P, 'absent'), 403, 'a missing object has no tags (and anonymous may not list)');
});

t.test("s3:ExistingObjectTag/<key> in a user's own policy, per version, and a Deny on it", async (t) => {
  t.equal(await get(abac, U, 'pub'), 'body of pub');
  t.equal(await get(abac, U, 'priv'), DENIED);
  t.equal(await get(abac, U, 'untagged'), DENIED);
  t.equal(await get(root, U, 'priv'), 'body of priv', 'root is never restricted');
  // The version named is the one whose tags count.
  const v1 = (await root.send(new PutObjectCommand({ Bucket: V, Key: 'k', Body: 'v1', Tagging: 'class=public' }))).VersionId!;
  const v2 = (await root.send(new PutObjectCommand({ Bucket: V, Key: 'k', Body: 'v2', Tagging: 'class=private' }))).VersionId!;
  t.equal(await get(abac, V, 'k', v1), 'v1', 'the public version, named');
  t.equal(await get(abac, V, 'k', v2), DENIED, 'the private version, named');
  t.equal(await get(abac, V, 'k'), DENIED, 'the current version is the private one');
  // Deny s3:* on class=locked: the tagging calls of a locked object are refused; a PutObject
  // over it is not (S3 has no s3:ExistingObjectTag for PutObject: the key is absent there).
  t.equal(await s3Code(abac.send(new PutObjectTaggingCommand({ Bucket: U, Key: 'locked', Tagging: { TagSet: [{ Key: 'project', Value: 'blue' }] } }))), DENIED, 'retagging a locked object');
  t.equal(await tagsOf(U, 'locked'), 'class=locked&project=blue', 'its tags unchanged');
  t.equal(await s3Code(abac.send(new PutObjectCommand({ Bucket: U, Key: 'locked', Body: 'over', Tagging: 'project=blue' }))), 'ok', 'PutObject over it: the key is no key of PutObject');
});

t.test('s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys: x-amz-tagging', async (t) => {
  // The bucket's policy, anonymous (x-amz-tagging on an unsigned PUT).
  t.equal(await anonymous('PUT', P, 'up/a', { headers: { 'x-amz-tagging': 'project=blue' }, body: 'a' }), 200, 'anonymous: project=blue');
  t.equal(await anonymous('PUT', P, 'up/b', { headers: { 'x-amz-tagging': 'project=red' }, body: 'b' }), 403, 'anonymous: project=red');
  t.equal(await anonymous('PUT', P, 'up/c', { body: 'c' }), 403, 'anonymous: no tags (no key)');
  t.equal(await anonymous('PUT', P, 'up/d', { headers: { 'x-amz-tagging': 'project=blue&secret=1' }, body: 'd' }), 403, 'anonymous: a tag key outside the set (ForAnyValue:StringNotEquals Deny)');
  t.equal(await s3Code(other.send(new PutObjectCommand({ Bucket: P, Key: 'up/e', Body: 'e', Tagging: 'project=blue&owner=me' }))), 'ok', 'a user under the bucket policy');
  t.equal(await s3Code(other.send(new PutObjectCommand({ Bucket: P, Key: 'up/f', Body: 'f', Tagging: 'project=green' }))), DENIED);
  // The user's own policy.
  t.equal(await s3Code(abac.send(new PutObjectCommand({ Bucket: U, Key: 'w1', Body: 'w', Tagging: 'project=green&owner=me' }))), 'ok');
  t.equal(await s3Code(abac.send(new PutObjectCommand({ Bucket: U, Key: 'w2', Body: 'w', Tagging: 'project=red' }))), DENIED, 'a project outside the list');
  t.equal(await s3Code(abac.send(new PutObjectCommand({ Bucket: U, Key: 'w3', Body: 'w', Tagging: 'project=blue&cost=1' }))), DENIED, 'ForAllValues: a key outside the set');
  t.equal(await s3Code(abac.send(new PutObjectCommand({ Bucket: U, Key: 'w4', Body: 'w' }))), DENIED, 'no tags: no project tag');
  t.equal(await s3Code(root.send(new GetObjectCommand({ Bucket: U, Key: 'w2' }))), 'NoSuchKey/404', 'the refused write stored nothing');
});

t.test("s3:RequestObjectTag/<key>: PutObjectTagging's body, judged once it is parsed, before anything changes", async (t) => {
  const put = (c: S3Client, Bucket: string, Key: string, tags: Array<[string, string]>): Promise<string> =>
    s3Code(c.send(new PutObjectTaggingCommand({ Bucket, Key, Tagging: { TagSet: tags.map(([Key, Value]) => ({ Key, Value })) } })));
  await root.send(new PutObjectCommand({ Bucket: U, Key: 't', Body: 't', Tagging: 'class=public' }));
  t.equal(await put(abac, U, 't', [['project', 'red']]), DENIED, 'a user: project=red');
  t.equal(await tagsOf(U, 't'), 'class=public', 'unchanged');
  t.equal(await put(abac, U, 't', [['project', 'blue'], ['cost', '1']]), DENIED, 'a user: a key outside the set');
  t.equal(await put(abac, U, 't', [['project', 'blue'], ['owner', 'me']]), 'ok', 'a user: project=blue, owner');
  t.equal(await tagsOf(U, 't'), 'project=blue&owner=me');
  // Anonymous, under the bucket's policy: the body of an unsigned PUT ?tagging.
  await root.send(new PutObjectCommand({ Bucket: P, Key: 'up/t', Body: 't' }));
  t.equal(await anonymous('PUT', P, 'up/t', { query: 'tagging', body: taggingXml([['project', 'red']]) }), 403, 'anonymous: project=red');
  t.equal(await tagsOf(P, 'up/t'), '', 'unchanged');
  t.equal(await anonymous('PUT', P, 'up/t', { query: 'tagging', body: taggingXml([['project', 'blue']]) }), 200, 'anonymous: project=blue');
  t.equal(await tagsOf(P, 'up/t'), 'project=blue');
  t.equal(await anonymous('PUT', P, 'pub', { query: 'tagging', body: taggingXml([['project', 'blue']]) }), 403, 'outside up/: no statement allows it whatever the body');
});

t.test("s3:RequestObjectTag/<key>: a form upload's tagging field", async (t) => {
  const post = async (key: string, tags: Array<[string, string]>): Promise<number> => {
    const { body, contentType } = await encodeForm(formData([['key', key], ['tagging', taggingXml(tags)]], { data: Buffer.from('form') }));
    return (await sendPost(d, `/${P}`, body, { 'content-type': contentType })).status;
  };
  t.equal(await post('up/form-red', [['project', 'red']]), 403, 'project=red');
  t.equal(await post('up/form-blue', [['project', 'blue']]), 204, 'project=blue');
  t.equal(await tagsOf(P, 'up/form-blue'), 'project=blue');
});

t.test('Numeric operators on s3:max-keys, Date and Numeric ones on aws:CurrentTime and aws:EpochTime', async (t) => {
  const listing = (query: string): Promise<number> => raw(d.port, { method: 'GET', path: `/${P}`, query, sign: false }).then((r) => r.status);
  t.equal(await listing('list-type=2&max-keys=10'), 200, 'anonymous: max-keys 10 (NumericLessThanEquals 10)');
  t.equal(await listing('list-type=2&max-keys=11'), 403, 'anonymous: max-keys 11');
  t.equal(await listing('list-type=2'), 403, 'anonymous: no max-keys, no key: false');
  const list = (MaxKeys?: number): Promise<string> => s3Code(abac.send(new ListObjectsV2Command({ Bucket: U, ...(MaxKeys !== undefined ? { MaxKeys } : {}) })));
  t.equal(await list(100), 'ok', "a user's own policy: max-keys 100");
  t.equal(await list(101), DENIED, 'max-keys 101');
  t.equal(await list(), DENIED, 'no max-keys');
  t.equal(await anonymous('GET', P, 'expired/x'), 403, 'a Deny from a date in the past applies (DateGreaterThan aws:CurrentTime)');
  t.equal(await anonymous('GET', P, 'future/x'), 200, 'one from a time to come does not (NumericGreaterThanEquals aws:EpochTime)');
  t.equal(await get(other, P, 'expired/x'), DENIED, 'a user under the bucket policy likewise');
  t.equal(await get(other, P, 'future/x'), 'future/x');
  t.equal(await s3Code(root.send(new PutBucketPolicyCommand({ Bucket: P, Policy: policy(stmt('Deny', ['s3:GetObject'], [`${P}/*`], { DateGreaterThan: { 'aws:CurrentTime': 'yesterday' } })) }))), 'MalformedPolicy/400', 'a date that is none: refused when put');
});

t.test('request keys: s3:x-amz-acl, s3:x-amz-grant-*, s3:authType, s3:signatureversion, s3:x-amz-content-sha256', async (t) => {
  const put = (Key: string, extra: Record<string, string> = {}): Promise<string> => s3Code(abac.send(new PutObjectCommand({ Bucket: U, Key, Body: 'r', ...extra })));
  t.equal(await put('req/plain'), 'ok', 'a header-signed V4 PUT without x-amz-acl');
  t.equal(await put('req/private', { ACL: 'private' }), 'ok', 'x-amz-acl: private');
  t.equal(await put('req/public', { ACL: 'public-read' }), DENIED, 'x-amz-acl: public-read');
  t.equal(await put('req/grant-full', { GrantFullControl: 'id=abc' }), DENIED, 's3:x-amz-grant-full-control: present (AccessDenied by the policy, before the handler\u2019s AccessControlListNotSupported)');
  t.equal(await put('req/grant-read', { GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' }), DENIED, 's3:x-amz-grant-read: present');
  t.equal(await s3Code(abac.send(new PutObjectCommand({ Bucket: U, Key: 'grant-elsewhere', Body: 'r', GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"', Tagging: 'project=blue' }))), 'AccessControlListNotSupported/400', 'outside req/ the handler refuses the grant itself');
  // A presigned PUT: s3:authType REST-QUERY-STRING, not REST-HEADER.
  const url = await getSignedUrl(abac, new PutObjectCommand({ Bucket: U, Key: 'req/presigned' }), { expiresIn: 60 });
  const u = new URL(url);
  t.equal((await raw(d.port, { method: 'PUT', path: u.pathname, query: u.search.slice(1), sign: false, body: 'p' })).status, 403, 'presigned: REST-QUERY-STRING');
  const unsigned = await raw(d.port, { method: 'PUT', path: objectPath(U, 'req/unsigned-body'), body: 'u', sign: { accessKeyId: 'abac-user', secretAccessKey: 'abac-secret-0001', payloadHash: 'UNSIGNED-PAYLOAD' } });
  t.equal(unsigned.status, 403, 'x-amz-content-sha256: UNSIGNED-PAYLOAD');
  const signed = await raw(d.port, { method: 'PUT', path: objectPath(U, 'req/signed-body'), body: 's', sign: { accessKeyId: 'abac-user', secretAccessKey: 'abac-secret-0001', payloadHash: 'hash' } });
  t.equal(signed.status, 200, 'a signed body');
});

t.test('Object Lock keys (headers, an upload\'s parts, PutObjectRetention\'s and PutObjectLegalHold\'s bodies) and s3:if-none-match', async (t) => {
  const L = bucketName('lcond');
  await root.send(new CreateBucketCommand({ Bucket: L, ObjectLockEnabledForBucket: true }));
  await root.send(
    new PutBucketPolicyCommand({
      Bucket: L,
      Policy: policy(
        stmt('Allow', ['s3:PutObject', 's3:PutObjectRetention', 's3:GetObject'], [`${L}/*`]),
        // S3's "Setting limits on retention periods": at least 10 days, GOVERNANCE only; holds
        // may be set, never lifted (an Allow on the body's key: judged once the body is read);
        // writes under cond/ only with If-None-Match; under mp/ only with a retention mode.
        stmt('Deny', ['s3:PutObject', 's3:PutObjectRetention'], [`${L}/*`], { NumericLessThan: { 's3:object-lock-remaining-retention-days': '10' } }),
        stmt('Deny', ['s3:PutObject', 's3:PutObjectRetention'], [`${L}/*`], { StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' } }),
        stmt('Allow', ['s3:PutObjectLegalHold'], [`${L}/*`], { StringEquals: { 's3:object-lock-legal-hold': 'ON' } }),
        // S3's "Enforce conditional writes", its multipart calls before the completion exempted.
        stmt('Deny', ['s3:PutObject'], [`${L}/cond/*`], { Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } }),
        stmt('Deny', ['s3:PutObject'], [`${L}/mp/*`], { Null: { 's3:object-lock-mode': 'true' } }),
        // Presigned URLs honoured for 10 minutes after signing, whatever their expiry.
        stmt('Deny', ['s3:GetObject'], [`${L}/*`], { NumericGreaterThan: { 's3:signatureAge': '600000' } }),
        // Copies into copies/ only from plain/ (AWS's "restriction on the copy source" example).
        stmt('Deny', ['s3:PutObject'], [`${L}/copies/*`], { StringNotLike: { 's3:x-amz-copy-source': `${L}/plain*` } }),
      ),
    }),
  );
  const days = (n: number): Date => new Date(Date.now() + n * 86_400_000);
  const put = (Key: string, extra: Record<string, unknown> = {}): Promise<string> => s3Code(other.send(new PutObjectCommand({ Bucket: L, Key, Body: Key, ...extra })));
  const gov = (n: number): Record<string, unknown> => ({ ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: days(n) });
  t.equal(await put('plain'), 'ok', 'no retention asked: the retention keys are absent, no Deny applies');
  t.equal(await put('short', gov(5)), DENIED, 'GOVERNANCE for 5 days: under the 10-day minimum');
  t.equal(await put('long', gov(20)), 'ok', 'GOVERNANCE for 20 days');
  t.equal(await put('compliance', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: days(20) }), DENIED, 'COMPLIANCE refused');
  t.equal(await anonymous('PUT', L, 'anon-short', { headers: { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': days(3).toISOString() }, body: 'a' }), 403, 'anonymous likewise (the header\'s date)');

  const retention = (Key: string, mode: string, n: number): Promise<string> =>
    s3Code(other.send(new PutObjectRetentionCommand({ Bucket: L, Key, Retention: { Mode: mode as 'GOVERNANCE', RetainUntilDate: days(n) } })));
  /** The day the retention of Key ends (root reads it), or the error. */
  const until = async (Key: string): Promise<string> => {
    let day = '';
    const code = await s3Code(root.send(new GetObjectRetentionCommand({ Bucket: L, Key })).then((r) => (day = r.Retention!.RetainUntilDate!.toISOString().slice(0, 10))));
    return code === 'ok' ? day : code;
  };
  t.equal(await retention('plain', 'GOVERNANCE', 5), DENIED, 'PutObjectRetention of 5 days: judged by its body');
  t.equal(await until('plain'), 'NoSuchObjectLockConfiguration/404', 'and no retention was set');
  t.equal(await retention('plain', 'COMPLIANCE', 30), DENIED, 'COMPLIANCE by PutObjectRetention');
  t.equal(await retention('plain', 'GOVERNANCE', 30), 'ok', 'GOVERNANCE for 30 days');
  t.equal(await until('plain'), days(30).toISOString().slice(0, 10), 'is set');

  const hold = (Key: string, Status: 'ON' | 'OFF'): Promise<string> => s3Code(other.send(new PutObjectLegalHoldCommand({ Bucket: L, Key, LegalHold: { Status } })));
  t.equal(await hold('plain', 'ON'), 'ok', 'a legal hold set');
  t.equal(await hold('plain', 'OFF'), DENIED, 'and not lifted (s3:object-lock-legal-hold OFF)');
  t.equal((await root.send(new GetObjectLegalHoldCommand({ Bucket: L, Key: 'plain' }))).LegalHold?.Status, 'ON', 'the hold is still on');
  await root.send(new PutObjectLegalHoldCommand({ Bucket: L, Key: 'plain', LegalHold: { Status: 'OFF' } }));

  t.equal(await put('cond/a'), DENIED, 'cond/: a write without If-None-Match');
  t.equal(await put('cond/a', { IfNoneMatch: '*' }), 'ok', 'with If-None-Match: *');
  t.equal(await put('cond/a', { IfNoneMatch: '*' }), 'PreconditionFailed/412', 'which then holds the write back itself');
  const cw = await other.send(new CreateMultipartUploadCommand({ Bucket: L, Key: 'cond/mp', ChecksumAlgorithm: 'CRC32' }));
  const cwPart = await other.send(new UploadPartCommand({ Bucket: L, Key: 'cond/mp', UploadId: cw.UploadId, PartNumber: 1, Body: 'cw part', ChecksumAlgorithm: 'CRC32' }));
  const complete = (IfNoneMatch?: string): Promise<string> =>
    s3Code(other.send(new CompleteMultipartUploadCommand({ Bucket: L, Key: 'cond/mp', UploadId: cw.UploadId, ...(IfNoneMatch ? { IfNoneMatch } : {}), MultipartUpload: { Parts: [{ PartNumber: 1, ETag: cwPart.ETag, ChecksumCRC32: cwPart.ChecksumCRC32 }] } })));
  t.equal(await complete(), DENIED, 'cond/: its CreateMultipartUpload and UploadPart went through (s3:ObjectCreationOperation false); a completion without If-None-Match does not');
  t.equal(await complete('*'), 'ok', 'with it, it does');

  const copy = (CopySource: string): Promise<string> => s3Code(other.send(new CopyObjectCommand({ Bucket: L, Key: 'copies/c', CopySource })));
  t.equal(await copy(`${L}/plain`), 'ok', 's3:x-amz-copy-source: a copy from plain');
  t.equal(await copy(`/${L}/plain`), 'ok', 'the header with a leading / is the same source');
  t.equal(await copy(`${L}/long`), DENIED, 'a copy from another key');
  t.equal(await put('copies/direct'), DENIED, 'a write that is no copy has no such key (StringNotLike: true)');

  const presigned = async (signingDate: Date, c: S3Client = other): Promise<number> => {
    const u = new URL(await getSignedUrl(c, new GetObjectCommand({ Bucket: L, Key: 'plain' }), { expiresIn: 3600, signingDate }));
    return (await raw(d.port, { method: 'GET', path: u.pathname, query: u.search.slice(1), sign: false })).status;
  };
  t.equal(await presigned(new Date()), 200, 's3:signatureAge: a URL signed now');
  t.equal(await presigned(new Date(Date.now() - 20 * 60_000)), 403, 'one signed 20 minutes ago, though valid for an hour');
  t.equal(await presigned(new Date(Date.now() - 20 * 60_000), root), 200, 'which root (no policy binds it) may use: the URL itself is valid');
  t.equal(await get(other, L, 'plain'), 'plain', 'a header-signed GET (its x-amz-date is now)');

  // The parts of an upload begun with a retention carry its keys: the Null Deny on mp/ spares them.
  t.equal(await put('mp/single'), DENIED, 'mp/: a write without a retention mode');
  const up = await other.send(new CreateMultipartUploadCommand({ Bucket: L, Key: 'mp/big', ...gov(15), ChecksumAlgorithm: 'CRC32' }));
  const part = await other.send(new UploadPartCommand({ Bucket: L, Key: 'mp/big', UploadId: up.UploadId, PartNumber: 1, Body: 'part one', ChecksumAlgorithm: 'CRC32' }));
  const done = await s3Code(other.send(new CompleteMultipartUploadCommand({ Bucket: L, Key: 'mp/big', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 }] } })));
  t.equal(done, 'ok', 'its parts and completion are judged by the retention CreateMultipartUpload asked for');
  t.equal(await until('mp/big'), days(15).toISOString().slice(0, 10), 'the object has it');
});

t.test("aws:PrincipalAccount and aws:ResourceAccount: s3d's one account, the root user's access key", async (t) => {
  for (const key of ['k', 'res/mine', 'res/theirs']) await root.send(new PutObjectCommand({ Bucket: A, Key: key, Body: key }));
  await root.send(
    new PutBucketPolicyCommand({
      Bucket: A,
      Policy: policy(
        // Any signer of this account: every user, never anonymous (it has no account).
        stmt('Allow', ['s3:GetObject'], [`${A}/k`], { StringEquals: { 'aws:PrincipalAccount': ACCESS_KEY } }),
        stmt('Allow', ['s3:GetObject'], [`${A}/res/mine`], { StringEquals: { 'aws:ResourceAccount': ACCESS_KEY } }),
        stmt('Allow', ['s3:GetObject'], [`${A}/res/theirs`], { StringEquals: { 'aws:ResourceAccount': 'another-account' } }),
      ),
    }),
  );
  t.equal(await get(other, A, 'k'), 'k', 'a user: its account is the one the policy names');
  t.equal(await anonymous('GET', A, 'k'), 403, 'anonymous: no aws:PrincipalAccount');
  t.equal(await anonymous('GET', A, 'res/mine'), 200, 'aws:ResourceAccount: every request has it, anonymous too');
  t.equal(await anonymous('GET', A, 'res/theirs'), 403, 'another account: not this bucket');
  t.equal(await get(other, A, 'res/theirs'), DENIED);
  // aws:PrincipalArn: the user's ARN (GetCallerIdentity's), under the Arn operators.
  await root.send(new PutObjectCommand({ Bucket: A, Key: 'arn/x', Body: 'arn x' }));
  await root.send(
    new PutBucketPolicyCommand({
      Bucket: A,
      Policy: policy(
        stmt('Allow', ['s3:GetObject'], [`${A}/arn/*`], { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCESS_KEY}:user/other-*` } }),
        stmt('Deny', ['s3:GetObject'], [`${A}/arn/*`], { ArnNotEquals: { 'aws:PrincipalArn': `arn:aws:iam::*:user/other-user` } }),
      ),
    }),
  );
  t.equal(await get(other, A, 'arn/x'), 'arn x', 'ArnLike on aws:PrincipalArn admits the user, and its ArnNotEquals Deny spares it');
  t.equal(await get(abac, A, 'arn/x'), DENIED, 'another user: neither');
  t.equal(await anonymous('GET', A, 'arn/x'), 403, 'anonymous: no aws:PrincipalArn');
  // The user's own policy: reads of U by account, a Deny unless the bucket is another account's.
  t.equal(await get(other, U, 'priv'), 'body of priv', "the user's own policy: both accounts are s3d's");
  t.equal(await get(other, U, 'locked'), DENIED, 'and its Deny: this bucket is not another-account\'s');
});

t.test('s3:versionid: the version a DeleteObject names, and each version a DeleteObjects names', async (t) => {
  const b = bucketName('vidcond');
  await root.send(new CreateBucketCommand({ Bucket: b }));
  await root.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
  const keep = (await root.send(new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'kept version' }))).VersionId!;
  const spare = (await root.send(new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'spare version' }))).VersionId!;
  const spare2 = (await root.send(new PutObjectCommand({ Bucket: b, Key: 'doc', Body: 'another spare' }))).VersionId!;
  // The user may delete versions of the bucket's objects, but not the one the Deny names.
  await root.send(
    new PutBucketPolicyCommand({
      Bucket: b,
      Policy: policy(
        stmt('Allow', ['s3:DeleteObjectVersion'], [`${b}/*`]),
        stmt('Deny', ['s3:DeleteObjectVersion'], [`${b}/*`], { StringEquals: { 's3:versionid': keep } }),
      ),
    }),
  );
  t.equal(await s3Code(other.send(new DeleteObjectCommand({ Bucket: b, Key: 'doc', VersionId: keep }))), DENIED, 'DeleteObject of the version the Deny names: denied');
  t.equal(await s3Code(other.send(new DeleteObjectCommand({ Bucket: b, Key: 'doc', VersionId: spare }))), 'ok', 'another version: deleted');
  const out = await other.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: 'doc', VersionId: keep }, { Key: 'doc', VersionId: spare2 }] } }));
  t.same((out.Errors ?? []).map((e) => `${e.VersionId}:${e.Code}`), [`${keep}:AccessDenied`], 'DeleteObjects: the version the Deny names is an AccessDenied entry');
  t.same((out.Deleted ?? []).map((e) => e.VersionId), [spare2], 'and the other is deleted');
  t.equal(await get(root, b, 'doc', keep), 'kept version', 'the version the Deny names is still there');
});

t.test('StringEqualsIgnoreCase and StringNotEqualsIgnoreCase (were refused as unknown operators): anonymous and users', async (t) => {
  const b = bucketName('icase');
  await root.send(new CreateBucketCommand({ Bucket: b }));
  for (const key of ['x', 'home/x']) await root.send(new PutObjectCommand({ Bucket: b, Key: key, Body: `body of ${key}` }));
  // Reads from the app's pages, however a browser cases the host; home/ for other-user alone.
  const put = await s3Code(
    root.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: policy(
          stmt('Allow', ['s3:GetObject'], [`${b}/*`], { StringEqualsIgnoreCase: { 'aws:Referer': 'https://App.Example.com/' } }),
          stmt('Deny', ['s3:GetObject'], [`${b}/home/*`], { StringNotEqualsIgnoreCase: { 'aws:username': 'OTHER-USER' } }),
        ),
      }),
    ),
  );
  t.equal(put, 'ok', 'PutBucketPolicy takes them, as S3 does');
  const read = (key: string, headers: Record<string, string>, as?: string): Promise<number> =>
    raw(d.port, { method: 'GET', path: objectPath(b, key), headers, sign: as === undefined ? false : { accessKeyId: as, secretAccessKey: users.find((u) => u.accessKey === as)!.secretKey } }).then((r) => r.status);
  const fromApp = { referer: 'https://app.example.COM/' };
  t.equal(await read('x', fromApp), 200, 'anonymous: the Referer in another case');
  t.equal(await read('x', { referer: 'https://app.example.com/other' }), 403, 'anonymous: another Referer');
  t.equal(await read('x', {}), 403, 'anonymous: no Referer');
  t.equal(await read('home/x', fromApp, 'other-user'), 200, 'other-user: its name in another case passes the Deny');
  t.equal(await read('home/x', fromApp, 'abac-user'), 403, 'abac-user: denied');
  t.equal(await read('home/x', fromApp), 403, 'anonymous: no aws:username, so the negated operator holds and denies');
  t.equal(
    await s3Code(root.send(new PutBucketPolicyCommand({ Bucket: b, Policy: policy(stmt('Allow', ['s3:GetObject'], [`${b}/*`], { StringEqualsIgnorecase: { 'aws:Referer': 'x' } })) }))),
    'MalformedPolicy/400',
    'spelt otherwise: refused, as IAM refuses it',
  );
});

t.test('Date operators take a date without a time, as IAM does (was MalformedPolicy)', async (t) => {
  const b = bucketName('dday');
  await root.send(new CreateBucketCommand({ Bucket: b }));
  for (const key of ['past/x', 'future/x']) await root.send(new PutObjectCommand({ Bucket: b, Key: key, Body: key }));
  const put = await s3Code(
    root.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: policy(
          stmt('Allow', ['s3:GetObject'], [`${b}/*`]),
          stmt('Deny', ['s3:GetObject'], [`${b}/past/*`], { DateGreaterThan: { 'aws:CurrentTime': '2000-01-01' } }),
          stmt('Deny', ['s3:GetObject'], [`${b}/future/*`], { DateGreaterThanEquals: { 'aws:CurrentTime': '2999-01' } }),
        ),
      }),
    ),
  );
  t.equal(put, 'ok', 'PutBucketPolicy takes 2000-01-01 and 2999-01');
  t.equal(await anonymous('GET', b, 'past/x'), 403, 'a Deny from a day past applies');
  t.equal(await anonymous('GET', b, 'future/x'), 200, 'one from a month to come does not');
});
