// STS AssumeRole (temporary credentials) against the real daemon with users (S3_IAM_FILE), through
// the AWS SDK's STS client and minio-js's AssumeRoleProvider: the credentials act for their user
// (its policies, ${aws:username} its name), a session policy limits them further, presigned URLs
// and minio-js carry the token, and everything wrong is refused with STS's or S3's error: the
// root user, bad signatures, unknown keys, durations out of range, malformed or too large session
// policies, a token altered, missing, of another key, in a form signed with V2 (boto3's default), or of a user removed at a reload, and
// role chaining (a refused RoleSessionName echoed with its CR and controls as references), a
// parameter given twice with different values. A query signed as written (not re-encoded) is taken. Tokens outlive a restart, a new root secret revokes them, and a Deny on
// aws:TokenIssueTime revokes the sessions issued before a time. GetCallerIdentity
// names the root user, a user and a session as AWS names them (SDK, aws CLI, boto3), and so does
// the Initiator of a multipart upload a session started.
import t from 'tap';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand, STSClient, type Credentials as StsCredentials } from '@aws-sdk/client-sts';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { Client as MinioClient } from 'minio';
import { AssumeRoleProvider } from 'minio/dist/esm/AssumeRoleProvider.mjs';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, s3Client, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { raw } from '../helpers/http.js';
import { AWS_VERSION, runAwsText } from '../helpers/aws-cli.js';
import { BOTO3_ATTEMPTS, PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';
import { execFile } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { deriveSigningKey, formatAmzDate, signatureHex, stringToSign } from '../../daemon/auth/sigv4.js';
import { s3Code } from '../helpers/s3.js';
import { SessionTokens } from '../../daemon/auth/sts.js';
import { allow, doc, startDaemonWithUsers, writeIam } from '../helpers/users.js';

const B = bucketName('sts');
const OTHER = bucketName('stsother');
const APP = { accessKey: 'sts-app', secretKey: 'sts-app-secret-1', policies: ['app'], tags: { Team: 'blue' } };
// Its policy through a group (S3_IAM_FILE's groups).
const GONE = { accessKey: 'sts-gone', secretKey: 'sts-gone-secret-2', groups: ['apps'] };
// The app's policy without sts:TagSession: its sessions get no tags of their own.
const UNTAGGED = { accessKey: 'sts-plain', secretKey: 'sts-plain-secret-3', policies: ['plain'] };
// May tag its sessions with team blue or green only, and with no other tag key.
const LIMITED = { accessKey: 'sts-limited', secretKey: 'sts-limited-secret-4', policies: ['limited'] };
const iam = {
  policies: {
    // Its own prefix by name, and reading shared/.
    app: doc(
      allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [`${B}/home/\${aws:username}/*`]),
      allow(['s3:GetObject'], [`${B}/shared/*`]),
      // Its team's prefix, by its tag (a session's tag over its user's).
      allow(['s3:PutObject'], [`${B}/teams/\${aws:PrincipalTag/team}/*`]),
      allow(['s3:ListBucket'], [B]),
      // Session tags (AssumeRole's Tags): AWS asks a role's trust policy, s3d the user's.
      { Effect: 'Allow', Action: 'sts:TagSession', Resource: '*' },
    ),
    plain: doc(allow(['s3:PutObject'], [`${B}/teams/\${aws:PrincipalTag/team}/*`]), allow(['s3:*'], [`${B}/plain/*`])),
    limited: doc(allow(['s3:PutObject'], [`${B}/teams/\${aws:PrincipalTag/team}/*`]), {
      Effect: 'Allow',
      Action: 'sts:TagSession',
      Resource: '*',
      Condition: { StringEquals: { 'aws:RequestTag/team': ['blue', 'green'] }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'Team'] } },
    }),
  },
  groups: { apps: { policies: ['app'] } },
  users: [APP, GONE, UNTAGGED, LIMITED],
};

const { d, iamFile, work } = await startDaemonWithUsers(t, iam);
const root = d.s3();
for (const b of [B, OTHER]) await root.send(new CreateBucketCommand({ Bucket: b }));
await root.send(new PutObjectCommand({ Bucket: B, Key: 'shared/readme.txt', Body: 'shared' }));
await root.send(new PutObjectCommand({ Bucket: OTHER, Key: 'x.txt', Body: 'other' }));

const sts = (accessKeyId: string, secretAccessKey: string, sessionToken?: string, daemon: TestDaemon = d): STSClient =>
  new STSClient({ endpoint: daemon.endpoint, region: REGION, credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }, maxAttempts: 1 });
const assume = async (client: STSClient, extra: { Policy?: string; DurationSeconds?: number; Tags?: Array<{ Key: string; Value: string }> } = {}): Promise<StsCredentials> =>
  (await client.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'tests', ...extra }))).Credentials!;
const s3As = (c: StsCredentials, daemon: TestDaemon = d): S3Client =>
  s3Client(daemon.endpoint, undefined, true, { credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }, maxAttempts: 1 });
/** The token with its 41st character changed. */
const flip = (token: string): string => token.slice(0, 40) + (token[40] === 'A' ? 'B' : 'A') + token.slice(41);
const stsCode = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return `${e.name}/${e.$metadata?.httpStatusCode}`;
  }
};

t.test('a user assumes a role: temporary credentials that act for it, with its policies and name', async (t) => {
  const c = await assume(sts(APP.accessKey, APP.secretKey), { DurationSeconds: 900 });
  t.match(c.AccessKeyId, /^ASIA[A-Z0-9]{16}$/, 'an access key as AWS\u2019s temporary ones');
  t.equal(c.SecretAccessKey?.length, 40);
  t.ok((c.SessionToken?.length ?? 0) > 100, 'a session token');
  const left = c.Expiration!.getTime() - Date.now();
  t.ok(left > 880_000 && left <= 901_000, `expires in DurationSeconds (${left} ms)`);
  const s3 = s3As(c);
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: B, Key: 'home/sts-app/a.txt', Body: 'mine' }))), 'ok', 'writes in home/<its user>/ (${aws:username} is the user)');
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'home/sts-app/a.txt' }))).Body!.transformToString(), 'mine');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'ok', 'reads shared/');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: B, Key: 'shared/planted.txt', Body: 'x' }))), 'AccessDenied/403', 'no more than its user may');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: B, Key: `home/${c.AccessKeyId}/a.txt`, Body: 'x' }))), 'AccessDenied/403', '${aws:username} is not the temporary key');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: OTHER, Key: 'x.txt' }))), 'AccessDenied/403', 'nor in another bucket');
  // DeleteObjects decides per key, after reading its body: as the session's user.
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'home/sts-app/del.txt', Body: 'd' }));
  const del = await s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'home/sts-app/del.txt' }, { Key: 'shared/readme.txt' }] } }));
  t.strictSame(del.Deleted?.map((x) => x.Key), ['home/sts-app/del.txt'], 'DeleteObjects: its own key deleted');
  t.strictSame(del.Errors?.map((x) => [x.Key, x.Code]), [['shared/readme.txt', 'AccessDenied']], 'the other refused');
  // A presigned URL made with them carries the token (X-Amz-Security-Token).
  const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: 'home/sts-app/a.txt' }), { expiresIn: 300 });
  t.match(url, /X-Amz-Security-Token=/);
  const got = await fetch(url);
  t.equal(got.status, 200, 'a presigned GET works');
  t.equal(await got.text(), 'mine');
  // So does a form upload's policy (the x-amz-security-token field).
  const post = await createPresignedPost(s3, { Bucket: B, Key: 'home/sts-app/form.txt', Expires: 300 });
  t.ok(post.fields['X-Amz-Security-Token'] ?? post.fields['x-amz-security-token'], 'the form carries the token');
  const form = (fields: Record<string, string>): FormData => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    f.append('file', new Blob(['by form']), 'form.txt');
    return f;
  };
  t.equal((await fetch(post.url, { method: 'POST', body: form(post.fields) })).status, 204, 'a form upload signed with them: 204');
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket: B, Key: 'home/sts-app/form.txt' }))).Body!.transformToString(), 'by form');
  const tokenField = Object.keys(post.fields).find((k) => k.toLowerCase() === 'x-amz-security-token')!;
  const badForm = await fetch(post.url, { method: 'POST', body: form({ ...post.fields, [tokenField]: flip(post.fields[tokenField]!) }) });
  t.equal(badForm.status, 400, 'an altered token in a form: 400');
  t.match(await badForm.text(), /<Code>InvalidToken<\/Code>/);
  // The form boto3's default client makes with temporary credentials (HmacV1PostAuth: Signature
  // V2 and the token as a field and a condition): refused as V2, not as a token that is malformed
  // (it is not; it was the answer before, which sent the caller to its credentials).
  const v2Policy = Buffer.from(JSON.stringify({ expiration: new Date(Date.now() + 300_000).toISOString(), conditions: [{ bucket: B }, { key: 'home/sts-app/v2.txt' }, { 'x-amz-security-token': c.SessionToken! }] })).toString('base64');
  const v2Form = await fetch(post.url, {
    method: 'POST',
    body: form({ key: 'home/sts-app/v2.txt', AWSAccessKeyId: c.AccessKeyId!, 'x-amz-security-token': c.SessionToken!, policy: v2Policy, signature: createHmac('sha1', c.SecretAccessKey!).update(v2Policy).digest('base64') }),
  });
  const v2Text = await v2Form.text();
  t.same([v2Form.status, v2Text.match(/<Code>(.*?)<\/Code>/)?.[1]], [400, 'InvalidToken'], 'a V2 form with the token: 400 InvalidToken');
  t.match(v2Text, /<Message>Temporary credentials sign with AWS4-HMAC-SHA256, not Signature Version 2/, '… saying why');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: B, Key: 'home/sts-app/v2.txt' }))), 'NoSuchKey/404', '… nothing stored');
  const outside = await createPresignedPost(s3, { Bucket: B, Key: 'shared/form.txt', Expires: 300 });
  t.equal((await fetch(outside.url, { method: 'POST', body: form(outside.fields) })).status, 403, 'a form upload where its user may not write: 403');
  // Without the token the key is unknown; the token with another key's signature is refused.
  const noToken = s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey! }, maxAttempts: 1 });
  t.equal(await s3Code(noToken.send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'InvalidAccessKeyId/403', 'the temporary key without its token');
  const otherKey = s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId: APP.accessKey, secretAccessKey: APP.secretKey, sessionToken: c.SessionToken! }, maxAttempts: 1 });
  t.equal(await s3Code(otherKey.send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'InvalidAccessKeyId/403', 'the token signed with another key');
  const tampered = flip(c.SessionToken!);
  t.equal(await s3Code(s3As({ ...c, SessionToken: tampered }).send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'InvalidToken/400', 'an altered token');
  t.equal(await s3Code(s3As({ ...c, SecretAccessKey: 'x'.repeat(40) }).send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'SignatureDoesNotMatch/403', 'the wrong secret');
  // Role chaining is not offered.
  t.equal(await stsCode(assume(sts(c.AccessKeyId!, c.SecretAccessKey!, c.SessionToken!))), 'AccessDenied/403', 'temporary credentials cannot assume a role (MinIO\u2019s answer)');
});

t.test('principal tags: a user\u2019s (S3_IAM_FILE), and a session\u2019s from AssumeRole over them', async (t) => {
  const user = s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId: APP.accessKey, secretAccessKey: APP.secretKey }, maxAttempts: 1 });
  const put = (c: S3Client, Key: string): Promise<string> => s3Code(c.send(new PutObjectCommand({ Bucket: B, Key, Body: 't' })));
  t.equal(await put(user, 'teams/blue/a.txt'), 'ok', 'the user writes in its team\u2019s prefix (${aws:PrincipalTag/team}, tag keys without case)');
  t.equal(await put(user, 'teams/red/a.txt'), 'AccessDenied/403', 'not another team\u2019s');
  const inherited = s3As(await assume(sts(APP.accessKey, APP.secretKey)));
  t.equal(await put(inherited, 'teams/blue/b.txt'), 'ok', 'a session has its user\u2019s tags');
  const red = s3As(await assume(sts(APP.accessKey, APP.secretKey), { Tags: [{ Key: 'team', Value: 'red' }] }));
  t.equal(await put(red, 'teams/red/b.txt'), 'ok', 'a session tag over the user\u2019s of the same key');
  t.equal(await put(red, 'teams/blue/c.txt'), 'AccessDenied/403', 'which it then no longer has');
  t.equal(await stsCode(assume(sts(APP.accessKey, APP.secretKey), { Tags: [{ Key: 'aws:team', Value: 'x' }] })), 'ValidationError/400', 'a session tag s3d does not take (the aws: prefix)');
  const other = s3As(await assume(sts(GONE.accessKey, GONE.secretKey), { Tags: [{ Key: 'Team', Value: 'blue' }] }));
  t.equal(await put(other, 'teams/blue/d.txt'), 'ok', 'a user without tags gets them from its session');
  // A user whose policies do not allow sts:TagSession (s3:* does not): a tag it chose would be a
  // key to whatever a policy grants by it (here, any team's prefix).
  const plainSts = sts(UNTAGGED.accessKey, UNTAGGED.secretKey);
  const refused = await assume(plainSts, { Tags: [{ Key: 'team', Value: 'red' }] }).catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
  t.equal(refused instanceof Error ? `${refused.name}/${refused.$metadata?.httpStatusCode}` : 'ok', 'AccessDenied/403', 'session Tags without sts:TagSession: AccessDenied');
  t.match(refused instanceof Error ? refused.message : '', /not authorized to perform: sts:TagSession/, 'naming the action, as AWS does');
  const plain = s3As(await assume(plainSts));
  t.equal(await put(plain, 'plain/ok.txt'), 'ok', 'the same user\u2019s session without Tags');
  t.equal(await put(plain, 'teams/red/e.txt'), 'AccessDenied/403', 'which has no team tag');
});

t.test('sts:TagSession limited by aws:RequestTag/<key> and aws:TagKeys: only the tags the policy names', async (t) => {
  const client = sts(LIMITED.accessKey, LIMITED.secretKey);
  const blue = s3As(await assume(client, { Tags: [{ Key: 'team', Value: 'blue' }] }));
  const put = (c: S3Client, Key: string) => s3Code(c.send(new PutObjectCommand({ Bucket: B, Key, Body: 'x' })));
  t.equal(await put(blue, 'teams/blue/limited.txt'), 'ok', 'a tag the policy allows: the session has it');
  const green = s3As(await assume(client, { Tags: [{ Key: 'Team', Value: 'green' }] }));
  t.equal(await put(green, 'teams/green/limited.txt'), 'ok', 'the tag key without case, as IAM compares it (Team is aws:RequestTag/team)');
  const denied = async (Tags: Array<{ Key: string; Value: string }>): Promise<string> => {
    const r = await assume(client, { Tags }).catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
    return r instanceof Error ? `${r.name}/${r.$metadata?.httpStatusCode}` : 'ok';
  };
  t.equal(await denied([{ Key: 'team', Value: 'red' }]), 'AccessDenied/403', 'a value the policy does not name: AccessDenied');
  t.equal(await denied([{ Key: 'team', Value: 'blue' }, { Key: 'project', Value: 'x' }]), 'AccessDenied/403', 'a tag key aws:TagKeys does not allow beside an allowed one: AccessDenied');
  t.equal(await denied([{ Key: 'project', Value: 'x' }]), 'AccessDenied/403', 'no team tag at all: StringEquals on an absent key is false');
  const untagged = s3As(await assume(client));
  t.equal(await put(untagged, 'teams/blue/none.txt'), 'AccessDenied/403', 'a session without Tags needs no sts:TagSession, and has no team');
});

t.test('a session policy limits the credentials further, never beyond the user\u2019s', async (t) => {
  const readOnly = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: [`arn:aws:s3:::${B}/shared/*`, `arn:aws:s3:::${OTHER}/*`] }] });
  const s3 = s3As(await assume(sts(APP.accessKey, APP.secretKey), { Policy: readOnly }));
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'ok', 'what both allow');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: B, Key: 'home/sts-app/b.txt', Body: 'x' }))), 'AccessDenied/403', 'the user may, the session policy does not');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: B, Key: 'shared/c.txt', Body: 'x' }))), 'AccessDenied/403', 'the session policy may, the user does not');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: OTHER, Key: 'x.txt' }))), 'AccessDenied/403', 'nor another bucket the session policy names');
  t.equal(await s3Code(s3.send(new ListObjectsV2Command({ Bucket: B }))), 'AccessDenied/403', 'listing: the session policy does not allow it');
  // The session's keys: aws:PrincipalType AssumedRole, aws:userid its user.
  const keyed = (type: string, userid: string): string =>
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalType': type, 'aws:userid': userid } } }] });
  const get = async (policy: string): Promise<string> => s3Code(s3As(await assume(sts(APP.accessKey, APP.secretKey), { Policy: policy })).send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' })));
  t.equal(await get(keyed('AssumedRole', 'sts-app')), 'ok', 'aws:PrincipalType is AssumedRole, aws:userid its user');
  t.equal(await get(keyed('User', 'sts-app')), 'AccessDenied/403', 'not User');
  t.equal(await get(keyed('AssumedRole', 'sts-gone')), 'AccessDenied/403', 'nor another user');
});

t.test('a session policy of the largest size: its token fits the header section and a presigned URL', async (t) => {
  const resources = [`arn:aws:s3:::${B}/shared/*`];
  const text = (): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Large', Effect: 'Allow', Action: ['s3:GetObject'], Resource: resources }] });
  for (let i = 0; text().length < 2048 - 40; i++) resources.push(`arn:aws:s3:::${B}/"quoted"/p${i}/*`);
  const c = await assume(sts(APP.accessKey, APP.secretKey), { Policy: text() });
  t.ok(text().length > 2000 && text().length <= 2048, `a policy of ${text().length} characters`);
  const s3 = s3As(c);
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'ok', `the token (${c.SessionToken!.length} characters) in a header`);
  const got = await fetch(await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }), { expiresIn: 300 }));
  t.equal(got.status, 200, 'and in a presigned URL');
});

t.test('a session whose token would not fit a request: PackedPolicyTooLarge, as AWS answers a session too large to pack', async (t) => {
  const app = sts(APP.accessKey, APP.secretKey);
  // Session tags within IAM's limits (50, keys of 128, values of 256 characters): their token was
  // over 10,000 characters, more than a request's whole header section may be (8 KiB), and every
  // request with it was RequestHeaderSectionTooLarge.
  const Tags = Array.from({ length: 20 }, (_, i) => ({ Key: `${'k'.repeat(120)}${i}`, Value: 'v'.repeat(256) }));
  const refused = await assume(app, { Tags }).then(
    (c) => `issued a token of ${c.SessionToken!.length} characters`,
    (e: Error & { $metadata?: { httpStatusCode?: number } }) => `${e.name}/${e.$metadata?.httpStatusCode}: ${e.message}`,
  );
  t.match(refused, /^PackedPolicyTooLargeException\/400: The session policy and session tags consume \d+% of allotted space/, 'session tags whose token is too large');
  // Within 2,048 characters, but of 3 UTF-8 bytes each (object keys in CJK): a token with little
  // room left for the request's other headers.
  const cjk = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/${'\u5199'.repeat(1700)}` }] });
  t.ok(cjk.length <= 2048, `a policy of ${cjk.length} characters`);
  t.equal(await stsCode(assume(app, { Policy: cjk })), 'PackedPolicyTooLargeException/400', 'a session policy whose token is too large');
  const fewer = await assume(app, { Tags: Tags.slice(0, 5) });
  t.equal(await s3Code(s3As(fewer).send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'ok', `fewer tags: issued, and the token (${fewer.SessionToken!.length} characters) works`);
});

t.test('GetCallerIdentity: the root user, a user and a session, as AWS names them', async (t) => {
  const root = await sts(ACCESS_KEY, SECRET_KEY).send(new GetCallerIdentityCommand({}));
  t.same([root.Account, root.Arn, root.UserId], [ACCESS_KEY, `arn:aws:iam::${ACCESS_KEY}:root`, ACCESS_KEY], 'the root user: the account itself (the owner every bucket names)');
  const user = await sts(APP.accessKey, APP.secretKey).send(new GetCallerIdentityCommand({}));
  t.same([user.Account, user.Arn, user.UserId], [ACCESS_KEY, `arn:aws:iam::${ACCESS_KEY}:user/${APP.accessKey}`, APP.accessKey], 'a user: its access key (aws:userid in policies)');
  const out = await sts(APP.accessKey, APP.secretKey).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'ci-job.7@example', DurationSeconds: 900 }));
  const c = out.Credentials!;
  const self = await sts(c.AccessKeyId!, c.SecretAccessKey!, c.SessionToken!).send(new GetCallerIdentityCommand({}));
  t.equal(self.Arn, `arn:aws:sts::${ACCESS_KEY}:assumed-role/${APP.accessKey}/ci-job.7@example`, 'a session: the assumed-role ARN, its user and session name');
  t.equal(self.Arn, out.AssumedRoleUser?.Arn, 'the ARN AssumeRole gave');
  t.equal(self.UserId, out.AssumedRoleUser?.AssumedRoleId, 'and the AssumedRoleId');
  t.equal(self.Account, ACCESS_KEY);
  t.equal(await stsCode(sts(c.AccessKeyId!, c.SecretAccessKey!, flip(c.SessionToken!)).send(new GetCallerIdentityCommand({}))), 'InvalidClientTokenId/403', 'an altered token is refused (as AWS STS refuses a token it cannot use)');
  t.equal(await stsCode(sts(APP.accessKey, 'wrong-secret').send(new GetCallerIdentityCommand({}))), 'SignatureDoesNotMatch/403', 'a wrong secret');
  t.equal(await stsCode(sts('nobody', 'nobody-secret').send(new GetCallerIdentityCommand({}))), 'InvalidClientTokenId/403', 'an unknown key');
});

t.test('a multipart upload started with temporary credentials names their assumed-role ARN as its Initiator', async (t) => {
  const c = await assume(sts(UNTAGGED.accessKey, UNTAGGED.secretKey), { DurationSeconds: 900 });
  const key = 'plain/initiated-by-session';
  const up = await s3As(c).send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
  t.teardown(() => root.send(new AbortMultipartUploadCommand({ Bucket: B, Key: key, UploadId: up.UploadId })));
  const expected = { ID: `arn:aws:sts::${ACCESS_KEY}:assumed-role/${UNTAGGED.accessKey}/tests`, DisplayName: `${UNTAGGED.accessKey}/tests` };
  const listed = await root.send(new ListMultipartUploadsCommand({ Bucket: B, Prefix: key }));
  t.same(listed.Uploads?.map((u) => [u.Initiator, u.Owner]), [[expected, { ID: ACCESS_KEY, DisplayName: ACCESS_KEY }]], 'ListMultipartUploads: the session as Initiator (the ARN GetCallerIdentity gives), the bucket owner as Owner');
  const parts = await s3As(c).send(new ListPartsCommand({ Bucket: B, Key: key, UploadId: up.UploadId }));
  t.same(parts.Initiator, expected, 'ListParts by the session: the same');
});

t.test("a bucket policy naming a user (the ARN GetCallerIdentity gives): its sessions act as it, within their session policy", async (t) => {
  const { Arn } = await sts(APP.accessKey, APP.secretKey).send(new GetCallerIdentityCommand({}));
  const read = (c: S3Client): Promise<string> => s3Code(c.send(new GetObjectCommand({ Bucket: OTHER, Key: 'x.txt' })));
  const user = s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId: APP.accessKey, secretAccessKey: APP.secretKey }, maxAttempts: 1 });
  t.equal(await read(user), 'AccessDenied/403', 'before: its own policies give it nothing in OTHER');
  await root.send(new PutBucketPolicyCommand({ Bucket: OTHER, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: Arn }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${OTHER}/*` }] }) }));
  t.equal(await read(user), 'ok', 'the user the policy names');
  t.equal(await read(s3As(await assume(sts(APP.accessKey, APP.secretKey)))), 'ok', 'a session of it');
  const narrow = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` }] });
  t.equal(await read(s3As(await assume(sts(APP.accessKey, APP.secretKey), { Policy: narrow }))), 'AccessDenied/403', 'a session whose session policy leaves OTHER out');
  await root.send(new DeleteBucketPolicyCommand({ Bucket: OTHER }));
});

t.test('what AssumeRole refuses: STS errors the SDK reads', async (t) => {
  t.equal(await stsCode(assume(sts(ACCESS_KEY, SECRET_KEY))), 'AccessDenied/403', 'the root user (as on AWS)');
  t.equal(await stsCode(assume(sts(APP.accessKey, 'wrong-secret'))), 'SignatureDoesNotMatch/403', 'a wrong secret');
  t.equal(await stsCode(assume(sts('nobody', 'nobody-secret'))), 'InvalidClientTokenId/403', 'an unknown key');
  const app = sts(APP.accessKey, APP.secretKey);
  t.equal(await stsCode(assume(app, { DurationSeconds: 899 })), 'ValidationError/400', 'DurationSeconds below 900');
  t.equal(await stsCode(assume(app, { DurationSeconds: 604_801 })), 'ValidationError/400', 'above 7 days');
  t.equal(await stsCode(assume(app, { Policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Fly","Resource":"*"}]}' })), 'MalformedPolicyDocumentException/400', 'a session policy s3d would not enforce (the SDK names the code MalformedPolicyDocument so)');
  t.equal(await stsCode(assume(app, { Policy: 'not json' })), 'MalformedPolicyDocumentException/400', 'one that is no JSON');
  // Two StringEquals blocks in one Condition: JSON keeps the last, and the session would be limited by one of them only.
  const twice = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::${B}/*","Condition":{"StringEquals":{"aws:UserAgent":"nobody"},"StringEquals":{"aws:Referer":"x"}}}]}`;
  t.equal(await stsCode(assume(app, { Policy: twice })), 'MalformedPolicyDocumentException/400', 'one naming a name twice in one object (as every policy s3d takes)');
  // The grammar of every policy s3d takes (PutBucketPolicy's): a Sid is a string, nesting at most 32 deep.
  const withSid = (Sid: unknown): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid, Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
  t.equal(await stsCode(assume(app, { Policy: withSid(5) })), 'MalformedPolicyDocumentException/400', 'one whose Sid is a number');
  t.equal(await stsCode(assume(app, { Policy: withSid(JSON.parse('['.repeat(40) + ']'.repeat(40))) })), 'MalformedPolicyDocumentException/400', 'one whose Sid nests 40 deep');
  const big = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'x'.repeat(2100), Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
  t.equal(await stsCode(assume(app, { Policy: big })), 'PackedPolicyTooLargeException/400', 'one over 2,048 characters');
  t.equal(await stsCode(app.send(new GetSessionTokenCommand({}))), 'InvalidAction/400', 'another action');
  t.equal(await stsCode(app.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'has space' }))), 'ValidationError/400', 'a RoleSessionName AWS would refuse (a space)');
  t.equal(await stsCode(app.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'x'.repeat(65) }))), 'ValidationError/400', 'one of 65 characters');
  // The refused name is echoed in the message: a CR in it as &#13; (a raw CR reads back as LF), a
  // control character as a reference, as S3's documents write them.
  const odd = 'a\rb\u0001c<&>';
  const echoed = await app.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: odd })).catch((e: Error) => e);
  t.match((echoed as Error).message, `Value '${odd}' at 'roleSessionName'`, 'the SDK reads the refused name back exactly (CR, U+0001, <&>)');
  const rawEcho = await raw(d.port, { method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `Action=AssumeRole&Version=2011-06-15&RoleSessionName=${encodeURIComponent(odd)}`, sign: { accessKeyId: APP.accessKey, secretAccessKey: APP.secretKey, service: 'sts', payloadHash: 'hash' } });
  t.equal(rawEcho.status, 400);
  t.ok(rawEcho.body.toString().includes('a&#13;b&#1;c&lt;&amp;&gt;'), 'written as a&#13;b&#1;c&lt;&amp;&gt;');
  t.notOk(rawEcho.body.includes(0x0d) || rawEcho.body.includes(0x01), 'no raw CR or control byte in the document');
  // Raw forms: the parameters must be signed (their hash in x-amz-content-sha256 or computed).
  const form = (payloadHash: string, body = 'Action=AssumeRole&Version=2011-06-15&DurationSeconds=900') =>
    raw(d.port, { method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, sign: { accessKeyId: APP.accessKey, secretAccessKey: APP.secretKey, service: 'sts', payloadHash } });
  const signed = await form('hash');
  t.equal(signed.status, 200, 'a form whose hash is signed (x-amz-content-sha256, as minio-js sends it): 200');
  t.match(signed.body.toString(), /<AssumeRoleResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><AssumeRoleResult>.*<SessionToken>[A-Za-z0-9_-]+<\/SessionToken>/);
  const unsignedBody = await form('UNSIGNED-PAYLOAD');
  t.equal(unsignedBody.status, 403, 'UNSIGNED-PAYLOAD: the parameters could have been changed on the way: 403');
  t.match(unsignedBody.body.toString(), /<Code>AccessDenied<\/Code><Message>The request body is not signed/);
  const wrongHash = await form('0'.repeat(64));
  t.equal(wrongHash.status, 400, 'a hash that is not the body\u2019s: 400');
  t.match(wrongHash.body.toString(), /<Code>XAmzContentSHA256Mismatch<\/Code>/);
  const unsigned = await raw(d.port, { method: 'POST', path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=AssumeRole&Version=2011-06-15', sign: false });
  t.equal(unsigned.status, 403, 'unsigned: 403');
  t.match(unsigned.body.toString(), /<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>AccessDenied<\/Code>/, 'AccessDenied in STS\u2019s error document');
});

t.test('minio-js AssumeRoleProvider: credentials that refresh, used by a minio-js client', async (t) => {
  const provider = new AssumeRoleProvider({ stsEndpoint: d.endpoint, accessKey: APP.accessKey, secretKey: APP.secretKey, region: REGION, durationSeconds: 900 });
  const mc = new MinioClient({ endPoint: '127.0.0.1', port: d.port, useSSL: false, region: REGION, pathStyle: true, credentialsProvider: provider as unknown as ConstructorParameters<typeof MinioClient>[0]['credentialsProvider'] });
  await mc.putObject(B, 'home/sts-app/minio.txt', 'via minio-js');
  const chunks: Buffer[] = [];
  for await (const c of await mc.getObject(B, 'home/sts-app/minio.txt')) chunks.push(c as Buffer);
  t.equal(Buffer.concat(chunks).toString(), 'via minio-js', 'written and read back with temporary credentials');
  await t.rejects(mc.putObject(B, 'shared/nope.txt', 'x'), { code: 'AccessDenied' }, 'limited as its user');
  const root = new AssumeRoleProvider({ stsEndpoint: d.endpoint, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, region: REGION });
  await t.rejects(root.getCredentials(), /AccessDenied/, 'the root user cannot');
});

t.test('the aws CLI: sts assume-role, then s3 with the session in its environment', { skip: AWS_VERSION === undefined ? 'no aws CLI' : false }, async (t) => {
  const env = { PATH: process.env.PATH, HOME: d.dataDir, AWS_ACCESS_KEY_ID: APP.accessKey, AWS_SECRET_ACCESS_KEY: APP.secretKey, AWS_DEFAULT_REGION: REGION };
  const r = await runAwsText(['--endpoint-url', d.endpoint, 'sts', 'assume-role', '--role-arn', 'arn:aws:iam::000000000000:role/any', '--role-session-name', 'cli', '--duration-seconds', '900'], { env });
  t.equal(r.code, 0, `assume-role exits 0 ${r.stderr}`);
  const c = (JSON.parse(r.stdout) as { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string } }).Credentials;
  const session = { ...env, AWS_ACCESS_KEY_ID: c.AccessKeyId, AWS_SECRET_ACCESS_KEY: c.SecretAccessKey, AWS_SESSION_TOKEN: c.SessionToken };
  const cp = await runAwsText(['--endpoint-url', d.endpoint, 's3', 'cp', '-', `s3://${B}/home/sts-app/cli.txt`], { env: session, input: 'by the CLI' });
  t.equal(cp.code, 0, `s3 cp with the session exits 0 ${cp.stderr}`);
  t.equal(await (await root.send(new GetObjectCommand({ Bucket: B, Key: 'home/sts-app/cli.txt' }))).Body!.transformToString(), 'by the CLI');
  const who = await runAwsText(['--endpoint-url', d.endpoint, 'sts', 'get-caller-identity'], { env: session });
  t.equal(who.code, 0, `sts get-caller-identity exits 0 ${who.stderr}`);
  t.equal((JSON.parse(who.stdout) as { Arn: string }).Arn, `arn:aws:sts::${ACCESS_KEY}:assumed-role/${APP.accessKey}/cli`, 'and names the session');
  const denied = await runAwsText(['--endpoint-url', d.endpoint, 's3', 'cp', '-', `s3://${B}/shared/cli.txt`], { env: session, input: 'x' });
  t.not(denied.code, 0, 'where its user may not write: refused');
  t.match(denied.stderr, /AccessDenied/);
  const asRoot = await runAwsText(['--endpoint-url', d.endpoint, 'sts', 'assume-role', '--role-arn', 'arn:aws:iam::000000000000:role/any', '--role-session-name', 'cli'], { env: { ...env, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY } });
  t.not(asRoot.code, 0, 'the root user: refused');
  t.match(asRoot.stderr, /AccessDenied/);
});

const BOTO3_STS = `${BOTO3_ATTEMPTS}endpoint, key, secret, bucket = sys.argv[1:5]
cfg = Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1})
sts = boto3.client('sts', endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret, region_name='${REGION}', config=cfg)
c = sts.assume_role(RoleArn='arn:aws:iam::000000000000:role/any', RoleSessionName='boto3', DurationSeconds=900)['Credentials']
s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'],
                  aws_session_token=c['SessionToken'], region_name='${REGION}', config=cfg)
attempt('put_home', lambda: s3.put_object(Bucket=bucket, Key='home/sts-app/boto3.txt', Body=b'by boto3')['ResponseMetadata']['HTTPStatusCode'])
attempt('put_shared', lambda: s3.put_object(Bucket=bucket, Key='shared/boto3.txt', Body=b'x')['ResponseMetadata']['HTTPStatusCode'])
attempt('bad_policy', lambda: sts.assume_role(RoleArn='arn:aws:iam::000000000000:role/any', RoleSessionName='boto3', Policy='not json'))
attempt('whoami', lambda: boto3.client('sts', endpoint_url=endpoint, aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'],
                                       aws_session_token=c['SessionToken'], region_name='${REGION}', config=cfg).get_caller_identity()['Arn'])
print(json.dumps(out))
`;

t.test('boto3: assume_role, then s3 with the session', { skip: noBoto3(pythonEnv(work)) }, async (t) => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(PYTHON_BIN, ['-c', BOTO3_STS, d.endpoint, APP.accessKey, APP.secretKey, B], { env: pythonEnv(work) }, (err, out, errOut) => (err ? reject(new Error(`boto3 script failed: ${err.message}\n${errOut}`)) : resolve(out)));
  });
  const r = JSON.parse(stdout) as Record<string, unknown>;
  t.same(r.put_home, { ok: 200 }, 'put_object in its user\u2019s home');
  t.same(r.put_shared, { code: 'AccessDenied', status: 403 }, 'where its user may not: AccessDenied');
  t.same(r.bad_policy, { code: 'MalformedPolicyDocument', status: 400 }, 'a session policy that is no JSON: MalformedPolicyDocument, as boto3 reads STS errors');
  t.same(r.whoami, { ok: `arn:aws:sts::${ACCESS_KEY}:assumed-role/${APP.accessKey}/boto3` }, 'get_caller_identity with the session');
  t.equal(await (await root.send(new GetObjectCommand({ Bucket: B, Key: 'home/sts-app/boto3.txt' }))).Body!.transformToString(), 'by boto3');
});

t.test('sessions revoked by issue time (a Deny on DateLessThan aws:TokenIssueTime, as on AWS), the user and newer sessions unaffected', async (t) => {
  const old = await assume(sts(APP.accessKey, APP.secretKey));
  const s3 = s3As(old);
  const read = (c: S3Client): Promise<string> => s3Code(c.send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' })));
  t.equal(await read(s3), 'ok', 'the session reads before the revocation');
  // Issue times are whole seconds: the revocation time is a later second than the old session's.
  await new Promise((r) => setTimeout(r, 1100));
  const cutoff = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const before = readFileSync(iamFile, 'utf8');
  const revoke = { Effect: 'Deny', Action: ['s3:*'], Resource: ['*'], Condition: { DateLessThan: { 'aws:TokenIssueTime': cutoff } } };
  const app = iam.policies.app as { Statement: unknown[] };
  writeIam(iamFile, { ...iam, policies: { ...iam.policies, app: { ...app, Statement: [...app.Statement, revoke] } } });
  try {
    const reloads = (): number => d.jsonLogs().filter((l) => l.msg === 'users reloaded').length;
    const n = reloads();
    process.kill(d.proc.pid!, 'SIGHUP');
    await d.waitForLog(() => reloads() > n, 20_000);
    t.equal(await read(s3), 'AccessDenied/403', 'the session issued before the cut-off is refused');
    const user = s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId: APP.accessKey, secretAccessKey: APP.secretKey }, maxAttempts: 1 });
    t.equal(await read(user), 'ok', 'the user\u2019s own keys have no aws:TokenIssueTime: unaffected');
    const fresh = await assume(sts(APP.accessKey, APP.secretKey));
    t.equal(await read(s3As(fresh)), 'ok', 'a session issued after the cut-off works');
  } finally {
    writeIam(iamFile, before);
    const reloads = (): number => d.jsonLogs().filter((l) => l.msg === 'users reloaded').length;
    const n = reloads();
    process.kill(d.proc.pid!, 'SIGHUP');
    await d.waitForLog(() => reloads() > n, 20_000);
  }
});

t.test('a user removed at a reload takes its sessions with it', async (t) => {
  const c = await assume(sts(GONE.accessKey, GONE.secretKey));
  const s3 = s3As(c);
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'ok', 'valid while the user exists');
  const before = readFileSync(iamFile, 'utf8');
  writeIam(iamFile, { ...iam, users: [APP] });
  try {
    const reloads = (): number => d.jsonLogs().filter((l) => l.msg === 'users reloaded').length;
    const n = reloads();
    process.kill(d.proc.pid!, 'SIGHUP');
    await d.waitForLog(() => reloads() > n, 10_000);
    t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'InvalidToken/400', 'then refused');
  } finally {
    writeIam(iamFile, before);
  }
});

t.test('tokens outlive a restart; a new root secret revokes them', async (t) => {
  const file = writeIam(join(work, 'restart-iam.json'), iam);
  const x = await startDaemon({ env: { S3_IAM_FILE: file } });
  t.teardown(async () => {
    await x.stop();
    x.cleanup();
  });
  await x.s3().send(new CreateBucketCommand({ Bucket: B }));
  await x.s3().send(new PutObjectCommand({ Bucket: B, Key: 'shared/readme.txt', Body: 'shared' }));
  const c = await assume(sts(APP.accessKey, APP.secretKey, undefined, x));
  t.equal(await x.stop(), 0);
  const again = await startDaemon({ dataDir: x.dataDir, env: { S3_IAM_FILE: file } });
  t.equal(await s3Code(s3As(c, again).send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'ok', 'the same root secret: still valid');
  t.equal(await again.stop(), 0);
  const rotated = await startDaemon({ dataDir: x.dataDir, env: { S3_IAM_FILE: file, S3_ROOT_PASSWORD: 'a-new-root-secret-42' } });
  t.teardown(() => rotated.stop());
  t.equal(await s3Code(s3As(c, rotated).send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'InvalidToken/400', 'a new root secret: refused');
});

t.test('a token whose session policy an earlier version took and this one refuses: InvalidToken, not MalformedPolicy', async (t) => {
  // What an earlier s3d issued (sealed under the same root secret): its AssumeRole took a Condition
  // beside Statement, which this version's grammar refuses (it would be dropped unread, widening
  // the session). Such a token can no longer be honoured: it is one s3d cannot use.
  const users = { get: (k: string) => (k === APP.accessKey ? { accessKey: k, secretKey: APP.secretKey, policyNames: [], policies: [] } : undefined), size: 1 };
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` }], Condition: { Bool: { 'aws:SecureTransport': 'true' } } });
  const old = new SessionTokens(SECRET_KEY, () => users).issue(APP.accessKey, 900, Date.now(), { policy, name: 'old' });
  const c = { AccessKeyId: old.accessKeyId, SecretAccessKey: old.secretKey, SessionToken: old.sessionToken, Expiration: new Date(old.expiresAt) };
  t.equal(await s3Code(s3As(c).send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'InvalidToken/400', 'an S3 call: refused as a token s3d cannot use (never served without its policy)');
  const res = await raw(d.port, { method: 'GET', path: `/${B}/shared/readme.txt`, headers: { 'x-amz-security-token': old.sessionToken }, sign: { accessKeyId: old.accessKeyId, secretAccessKey: old.secretKey } });
  t.match(res.body.toString(), /session policy does not read in this version/, 'and says why');
  t.equal(await stsCode(sts(c.AccessKeyId, c.SecretAccessKey, c.SessionToken).send(new GetCallerIdentityCommand({}))), 'InvalidClientTokenId/403', 'an STS call: AWS STS\u2019s answer to a token it cannot use');
  t.equal(await s3Code(s3As(await assume(sts(APP.accessKey, APP.secretKey))).send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'ok', 'a new AssumeRole gives a session that works');
});

t.test('the STS request as sent: its query read as the client signed it, its parameters each given once', async (t) => {
  const scope = (date: string): string => `${date}/${REGION}/sts/aws4_request`;
  // Signs the query as written (sorted, not re-encoded), as clients that sign their query string as
  // sent do (minio-js does for its listings): S3 requests are checked that way too (sigv4.ts literalQuery).
  const literal = (query: string, body: string, extra: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof raw>>> => {
    const amzDate = formatAmzDate(new Date());
    const payload = createHash('sha256').update(body).digest('hex');
    const headers: Record<string, string> = { host: `127.0.0.1:${d.port}`, 'content-type': 'application/x-www-form-urlencoded', 'x-amz-content-sha256': payload, 'x-amz-date': amzDate, ...extra };
    const names = Object.keys(headers).sort();
    const pairs = query.split('&').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as [string, string]);
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    const canonical = ['POST', '/', pairs.map(([n, v]) => `${n}=${v}`).join('&'), names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), payload].join('\n');
    const signature = signatureHex(deriveSigningKey(APP.secretKey, amzDate.slice(0, 8), REGION, 'sts'), stringToSign(amzDate, scope(amzDate.slice(0, 8)), canonical));
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${APP.accessKey}/${scope(amzDate.slice(0, 8))}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    return raw(d.port, { method: 'POST', path: '/', query, headers, body, sign: false });
  };
  const credentials = (body: Buffer): StsCredentials => {
    const text = body.toString();
    const field = (name: string): string => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)![1]!;
    return { AccessKeyId: field('AccessKeyId'), SecretAccessKey: field('SecretAccessKey'), SessionToken: field('SessionToken'), Expiration: new Date(field('Expiration')) };
  };
  // A session policy in the query, encoded with encodeURIComponent (which leaves ( ) ' ! * as they are).
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/shared/*`, Condition: { StringNotEquals: { 'aws:Referer': "spam (it's bad!)" } } }] });
  const query = `Action=AssumeRole&Version=2011-06-15&DurationSeconds=900&Policy=${encodeURIComponent(policy)}`;
  const res = await literal(query, '');
  t.equal(res.status, 200, `a query signed as sent, ( ) ' ! unencoded in it: 200 ${res.status === 200 ? '' : res.body.toString()}`);
  if (res.status === 200) {
    const s3 = s3As(credentials(res.body));
    t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: B, Key: 'shared/readme.txt' }))), 'ok', 'what the session policy allows');
    t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: B, Key: 'home/sts-app/q.txt', Body: 'x' }))), 'AccessDenied/403', 'and no more: the policy of the query is the session\u2019s');
  }
  // A parameter given twice with different values: which one counts is a guess (MinIO takes the
  // first), and for Policy a wrong one widens the session. Refused, whatever the order.
  const narrow = encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/shared/*` }] }));
  const wide = encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] }));
  const form = (body: string, query?: string) =>
    raw(d.port, { method: 'POST', path: '/', ...(query !== undefined ? { query } : {}), headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, sign: { accessKeyId: APP.accessKey, secretAccessKey: APP.secretKey, service: 'sts', payloadHash: 'hash' } });
  const base = 'Action=AssumeRole&Version=2011-06-15&DurationSeconds=900';
  for (const [what, body, q] of [
    ['Policy twice in the form', `${base}&Policy=${narrow}&Policy=${wide}`, undefined],
    ['Policy in the query and another in the form', `${base}&Policy=${wide}`, `Policy=${narrow}`],
    ['Action twice (GetCallerIdentity, then AssumeRole)', `Action=GetCallerIdentity&${base}`, undefined],
    ['DurationSeconds twice', `${base}&DurationSeconds=604800`, undefined],
  ] as const) {
    const r = await form(body, q);
    t.equal(r.status, 400, `${what}: 400`);
    t.match(r.body.toString(), /<Code>InvalidParameterValue<\/Code><Message>The parameter (Policy|Action|DurationSeconds) is given more than once with different values/, `${what}: says which`);
  }
  t.equal((await form(`${base}&Version=2011-06-15`)).status, 200, 'one given twice with the same value: as once');
  // x-amz-* query parameters count as headers for S3 requests (presigned URLs carry them so), once
  // authenticated; STS authenticates in its handler, on the headers as sent.
  const hoisted = await form(base, 'x-amz-acl=private');
  t.equal(hoisted.status, 200, `an x-amz-* parameter in the signed query is no unsigned header of STS's signature: 200 ${hoisted.status === 200 ? '' : hoisted.body.toString()}`);
});
