// A condition operator that names no key (`"Condition": {"StringEquals": {}}`). IAM's validator
// takes it (moto's policy-validation corpus lists it valid) and MinIO reads it as no condition, as
// earlier versions of s3d did: an Allow so written (a template whose keys came out empty) admitted
// everyone its Principal, Action and Resource name, when its writer meant to restrict it. Now
// PutBucketPolicy, the IAM file and AssumeRole refuse it; a policy stored before (a bucket's, a
// users file's) still loads, failing closed: an Allow with such an operator allows nothing, a Deny
// keeps denying, and start-up says so. `"Condition": {}` (no operator at all, as AWS's policy
// generator writes) stays no condition, and an empty list of values stays refused (MinIO too).
import t from 'tap';
import { GetBucketPolicyCommand, GetBucketPolicyStatusCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { REGION, s3Client, startDaemon } from '../helpers/daemon.js';
import { raw } from '../helpers/http.js';
import { restartWithStoredPolicy } from '../helpers/bucket-policy.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { startDaemonWithUsers } from '../helpers/users.js';

const statement = (Bucket: string, key: string, extra: object = {}): object => ({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/${key}`, ...extra });
const policyOf = (...Statement: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement });

t.test('PutBucketPolicy refuses an operator that names no key, and keeps the previous policy', async (t) => {
  const x = await startDaemon();
  t.teardown(() => x.stop());
  const s3 = x.s3();
  const Bucket = await createBucket(s3, 'emptycond');
  await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
  const before = policyOf(statement(Bucket, 'k', { Condition: { Bool: { 'aws:SecureTransport': 'true' } } }));
  await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: before }));
  const put = (Condition: object, Effect = 'Allow'): Promise<string> => s3Code(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policyOf(statement(Bucket, 'k', { Effect, Condition })) })));
  for (const [what, Condition] of [
    ['StringEquals: {}', { StringEquals: {} }],
    ['IpAddress: {}', { IpAddress: {} }],
    ['Null: {}', { Null: {} }],
    ['ForAnyValue:StringLike: {}', { 'ForAnyValue:StringLike': {} }],
    ['StringEqualsIfExists: {}', { StringEqualsIfExists: {} }],
    ['an empty operator beside a real one', { IpAddress: { 'aws:SourceIp': '127.0.0.1/32' }, StringLike: {} }],
    ['an empty list of values', { IpAddress: { 'aws:SourceIp': [] } }],
  ] as const) {
    t.equal(await put(Condition), 'MalformedPolicy/400', `an Allow with ${what}`);
  }
  t.equal(await put({ StringEquals: {} }, 'Deny'), 'MalformedPolicy/400', 'a Deny with StringEquals: {} too');
  t.equal((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy, before, 'the previous policy stays');
  t.equal((await raw(x.port, { method: 'GET', path: `/${Bucket}/k`, sign: false })).status, 403, 'and still judges (plain HTTP is not SecureTransport)');

  // No operator at all is no condition: the statement allows.
  t.equal(await put({}), 'ok', '"Condition": {} is taken');
  t.equal((await raw(x.port, { method: 'GET', path: `/${Bucket}/k`, sign: false })).status, 200, 'and is no condition');
});

// Earlier versions stored such operators (read as no condition). Stored through the MetaStore, as
// PutBucketPolicy now refuses them.
t.test('a stored policy with an operator that names no key loads, failing closed, and is logged once', async (t) => {
  const x = await startDaemon();
  t.teardown(() => x.stop());
  const Bucket = await createBucket(x.s3(), 'emptystored');
  for (const Key of ['only-empty', 'open', 'denied', 'denied-ip']) await x.s3().send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
  const policy = policyOf(
    statement(Bucket, 'only-empty', { Condition: { StringEquals: {} } }),
    statement(Bucket, 'open'),
    statement(Bucket, 'denied'),
    statement(Bucket, 'denied-ip'),
    statement(Bucket, 'denied', { Effect: 'Deny', Condition: { StringLike: {} } }),
    // With a condition that holds beside it: still denies.
    statement(Bucket, 'denied-ip', { Effect: 'Deny', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' }, StringEquals: {} } }),
  );
  t.equal(await s3Code(x.s3().send(new PutBucketPolicyCommand({ Bucket, Policy: policy }))), 'MalformedPolicy/400', 'PutBucketPolicy refuses it');
  const { again, anon } = await restartWithStoredPolicy(t, x, Bucket, policy);
  t.equal(await anon('open'), 200, 'a statement without it allows as before');
  t.equal(await anon('only-empty'), 403, 'an Allow with an operator naming no key allows nothing (it allowed everyone)');
  t.equal(await anon('denied'), 403, 'a Deny with one keeps denying');
  t.equal(await anon('denied-ip'), 403, 'beside a condition that holds too');
  t.equal((await again.s3().send(new GetBucketPolicyStatusCommand({ Bucket }))).PolicyStatus?.IsPublic, true, 'public: the plain Allows admit anyone');
  const warned = again.jsonLogs().filter((l) => l.bucket === Bucket && l.emptyConditions !== undefined);
  t.equal(warned.length, 1, 'start-up logs the bucket once');
  t.same(warned[0]?.emptyConditions, ['Statement 1: StringEquals', 'Statement 5: StringLike', 'Statement 6: StringEquals'], 'naming each operator');
  t.equal(again.jsonLogs().filter((l) => JSON.stringify(l).includes('MalformedPolicy')).length, 0, 'no MalformedPolicy logged');

  // A policy whose only Allow for anyone has such an operator admits nobody: not public.
  const { again: third } = await restartWithStoredPolicy(t, again, Bucket, policyOf(statement(Bucket, 'only-empty', { Condition: { StringEquals: {} } })));
  t.equal((await third.s3().send(new GetBucketPolicyStatusCommand({ Bucket }))).PolicyStatus?.IsPublic, false, 'an Allow that can admit nobody is not public');
});

t.test('the IAM file: an operator that names no key is read failing closed, with a warning; AssumeRole refuses it', async (t) => {
  const only = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*', Condition: { StringEquals: {} } }] };
  const open = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::*' }] };
  const denyEmpty = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*/secret', Condition: { StringLike: {} } }] };
  const iam = {
    policies: { only, open, 'deny-empty': denyEmpty },
    users: [
      { accessKey: 'app-empty', secretKey: 'app-empty-secret', policies: ['only'] },
      { accessKey: 'app-open', secretKey: 'app-open-secret', policies: ['open', 'deny-empty'] },
    ],
  };
  const { d } = await startDaemonWithUsers(t, iam);
  const Bucket = await createBucket(d.s3(), 'emptyiam');
  for (const Key of ['k', 'secret']) await d.s3().send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
  const as = (accessKeyId: string) => s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId, secretAccessKey: `${accessKeyId}-secret` }, maxAttempts: 1 });
  t.equal(await s3Code(getBytes(as('app-empty'), { Bucket, Key: 'k' })), 'AccessDenied/403', 'an Allow with an operator naming no key allows nothing (it allowed every GetObject)');
  t.equal((await getBytes(as('app-open'), { Bucket, Key: 'k' })).toString(), 'x', 'a policy without one allows as before');
  t.equal(await s3Code(getBytes(as('app-open'), { Bucket, Key: 'secret' })), 'AccessDenied/403', 'a Deny with one keeps denying');
  const warnings = d.logs.filter((l) => l.includes('name no key'));
  t.equal(warnings.length, 2, 'one warning per such policy');
  t.match(warnings.join('\n'), /policy \\"only\\" has condition operators that name no key \(Statement 1: StringEquals\)/);

  const sts = new STSClient({ endpoint: d.endpoint, region: REGION, credentials: { accessKeyId: 'app-open', secretAccessKey: 'app-open-secret' }, maxAttempts: 1 });
  const assume = (Policy: object) => s3Code(sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'tests', Policy: JSON.stringify(Policy) })));
  t.equal(await assume(only), 'MalformedPolicyDocumentException/400', 'a session policy with one is refused');
  t.equal(await assume({ ...only, Statement: [{ ...only.Statement[0], Condition: {} }] }), 'ok', 'one with "Condition": {} is taken');
});
