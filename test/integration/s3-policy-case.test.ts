// The case of a policy's names. IAM's condition operators, their ForAnyValue:/ForAllValues:
// qualifiers and IfExists suffix are case-sensitive (IAM CreateRole answers "Invalid Condition type :
// stringEquals"; moto's IAM validator and MinIO's parser match them exactly), as are element names
// and Effect values; condition KEY names are not (AWS: "aws:SourceIP is equivalent to
// AWS:SourceIp"). Earlier versions of s3d took operators in any case and enforced the operator
// named: PutBucketPolicy, the IAM file and AssumeRole now refuse them, and a policy stored before
// (a bucket's, an IAM file's, also on a reload) still loads and means what it meant, with a
// warning. Also: the refusal of a bad Version names every Version s3d takes.
import t from 'tap';
import { GetBucketPolicyCommand, PutBucketPolicyCommand, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { setTimeout as sleep } from 'node:timers/promises';
import { REGION, s3Client, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { raw } from '../helpers/http.js';
import { restartWithStoredPolicy } from '../helpers/bucket-policy.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { startDaemonWithUsers, writeIam } from '../helpers/users.js';

const statement = (Bucket: string, key: string, extra: object = {}): object => ({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/${key}`, ...extra });
const policyOf = (...Statement: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement });
/** The MalformedPolicy message PutBucketPolicy answers, or 'ok'. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (!(err instanceof S3ServiceException)) throw err;
    return `${err.name}: ${err.message}`;
  }
}

t.test('PutBucketPolicy refuses an operator in another case than IAM\'s, keeps the previous policy, and takes keys in any case', async (t) => {
  const x = await startDaemon();
  t.teardown(() => x.stop());
  const s3 = x.s3();
  const Bucket = await createBucket(s3, 'opcase');
  await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'x' }));
  const before = policyOf(statement(Bucket, 'k', { Condition: { Bool: { 'aws:SecureTransport': 'true' } } }));
  await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: before }));
  const put = (Condition: object): Promise<string> => refusal(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policyOf(statement(Bucket, 'k', { Condition })) })));
  for (const [opName, spelling] of [
    ['stringequals', 'StringEquals'],
    ['STRINGEQUALS', 'StringEquals'],
    ['Stringlike', 'StringLike'],
    ['ipaddress', 'IpAddress'],
    ['bool', 'Bool'],
    ['StringEqualsifexists', 'StringEqualsIfExists'],
    ['forAnyValue:StringLike', 'ForAnyValue:StringLike'],
    ['ForAllValues:stringLike', 'ForAllValues:StringLike'],
  ] as const) {
    const key = opName.toLowerCase().includes('ipaddress') ? 'aws:SourceIp' : opName.toLowerCase() === 'bool' ? 'aws:SecureTransport' : opName.includes(':') ? 's3:RequestObjectTagKeys' : 'aws:UserAgent';
    const value = key === 'aws:SourceIp' ? '127.0.0.1/32' : key === 'aws:SecureTransport' ? 'false' : 'x';
    const Action = key === 's3:RequestObjectTagKeys' ? 's3:PutObject' : 's3:GetObject';
    const got = await refusal(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: policyOf(statement(Bucket, 'k', { Action, Condition: { [opName]: { [key]: value } } })) })));
    t.equal(got, `MalformedPolicy: Statement 1: Invalid Condition type : ${opName} (condition operators are case-sensitive: write ${spelling}).`, `${opName} is refused, naming ${spelling}`);
  }
  t.equal((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy, before, 'the previous policy stays');
  t.equal((await raw(x.port, { method: 'GET', path: `/${Bucket}/k`, sign: false })).status, 403, 'and still judges (plain HTTP is not SecureTransport)');

  // Condition keys are case-insensitive, as AWS documents: taken and enforced in any case.
  t.equal(await put({ Bool: { 'AWS:SECURETRANSPORT': 'false' } }), 'ok', 'a key in another case is taken');
  t.equal((await raw(x.port, { method: 'GET', path: `/${Bucket}/k`, sign: false })).status, 200, 'and enforced as aws:SecureTransport');
  t.equal(await put({ IpAddress: { 'aws:sourceip': '192.0.2.0/24' } }), 'ok', 'aws:sourceip is taken');
  t.equal((await raw(x.port, { method: 'GET', path: `/${Bucket}/k`, sign: false })).status, 403, 'and enforced as aws:SourceIp (the test client is not in 192.0.2.0/24)');

  // Element names and Effect values are case-sensitive in IAM too (as s3d already held them).
  const doc = (d: object): Promise<string> => refusal(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify(d) })));
  t.match(await doc({ Version: '2012-10-17', statement: [statement(Bucket, 'k')] }), /^MalformedPolicy: The policy has an unknown element "statement"/, 'a lower-case Statement is refused');
  t.match(await doc({ Version: '2012-10-17', Statement: [{ ...statement(Bucket, 'k'), effect: 'Allow' }] }), /^MalformedPolicy: /, 'a lower-case Effect element is refused');
  t.equal(await doc({ Version: '2012-10-17', Statement: [statement(Bucket, 'k', { Effect: 'allow' })] }), 'MalformedPolicy: Statement 1: Invalid effect: allow (write Allow or Deny)', 'Effect "allow" is refused');
});

t.test('a bad Version is refused naming every Version taken; 2008-10-17 and none are taken', async (t) => {
  const x = await startDaemon();
  t.teardown(() => x.stop());
  const s3 = x.s3();
  const Bucket = await createBucket(s3, 'version');
  const put = (Version: string | undefined): Promise<string> => refusal(s3.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify({ ...(Version !== undefined ? { Version } : {}), Statement: [statement(Bucket, 'k')] }) })));
  const message = (v: string): string => `MalformedPolicy: Version "${v}" is not a policy language version: write "2012-10-17" (or "2008-10-17", as is a policy without a Version, which has no policy variables).`;
  t.equal(await put('2013-10-17'), message('2013-10-17'), 'an unknown Version');
  t.equal(await put('2012-10-18'), message('2012-10-18'), 'a near miss');
  t.equal(await put('2008-10-17'), 'ok', '2008-10-17 is taken');
  t.equal(await put(undefined), 'ok', 'as is no Version');
  t.equal(await put('2012-10-17'), 'ok', 'and 2012-10-17');
});

// Earlier versions stored such operators (and enforced them). Stored through the MetaStore, as
// PutBucketPolicy now refuses them.
t.test('a stored bucket policy with mis-cased operators loads, means what it meant, and is logged once', async (t) => {
  const x = await startDaemon();
  t.teardown(() => x.stop());
  const Bucket = await createBucket(x.s3(), 'opcasestored');
  for (const Key of ['open', 'tls-only', 'denied']) await x.s3().send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
  const policy = policyOf(
    statement(Bucket, 'open', { Condition: { ipaddress: { 'aws:SourceIp': '127.0.0.0/8' } } }),
    statement(Bucket, 'tls-only', { Condition: { BOOL: { 'aws:SecureTransport': 'true' } } }),
    statement(Bucket, 'denied'),
    statement(Bucket, 'denied', { Effect: 'Deny', Condition: { stringnotequalsIfExists: { 'aws:UserAgent': 'nobody' } } }),
  );
  t.match(await refusal(x.s3().send(new PutBucketPolicyCommand({ Bucket, Policy: policy }))), /^MalformedPolicy: Statement 1: Invalid Condition type : ipaddress/, 'PutBucketPolicy refuses it');
  const { again, anon } = await restartWithStoredPolicy(t, x, Bucket, policy);
  t.equal(await anon('open'), 200, 'ipaddress is IpAddress: the loopback client is admitted');
  t.equal(await anon('tls-only'), 403, 'BOOL is Bool: plain HTTP is not admitted');
  t.equal(await anon('denied'), 403, 'stringnotequalsIfExists is StringNotEqualsIfExists: the Deny holds');
  t.equal((await again.s3().send(new GetBucketPolicyCommand({ Bucket }))).Policy, policy, 'GetBucketPolicy answers the policy as stored');
  const warned = again.jsonLogs().filter((l) => l.bucket === Bucket && l.miscasedOperators !== undefined);
  t.equal(warned.length, 1, 'start-up logs the bucket once');
  t.same(warned[0]?.miscasedOperators, ['Statement 1: ipaddress (IpAddress)', 'Statement 2: BOOL (Bool)', 'Statement 4: stringnotequalsIfExists (StringNotEqualsIfExists)'], 'naming each operator and its spelling');
  t.equal(again.jsonLogs().filter((l) => JSON.stringify(l).includes('MalformedPolicy')).length, 0, 'no MalformedPolicy logged');
});

/** Sends SIGHUP and waits for the reload's outcome (its log line). */
async function reload(d: TestDaemon): Promise<string> {
  const outcomes = (): string[] => d.jsonLogs().map((l) => String(l.msg)).filter((m) => m.startsWith('users reloaded') || m.startsWith('users reload failed'));
  const before = outcomes().length;
  process.kill(d.proc.pid!, 'SIGHUP');
  for (let i = 0; i < 500; i++) {
    const seen = outcomes();
    if (seen.length > before) return seen[seen.length - 1]!;
    await sleep(10);
  }
  return 'no outcome logged';
}

t.test('the IAM file: mis-cased operators load (at start-up and on a reload) as before, with a warning; AssumeRole refuses them', async (t) => {
  const allowUa = (op: string): object => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::*', Condition: { [op]: { 'aws:UserAgent': 'nobody' } } }] });
  const open = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::*' }] };
  const denySecret = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*/secret', Condition: { stringNotEqualsIfExists: { 'aws:UserAgent': 'nobody' } } }] };
  const iam = (op: string): object => ({
    policies: { ua: allowUa(op), open, 'deny-secret': denySecret },
    users: [
      { accessKey: 'app-ua', secretKey: 'app-ua-secret', policies: ['ua'] },
      { accessKey: 'app-open', secretKey: 'app-open-secret', policies: ['open', 'deny-secret'] },
    ],
  });
  const { d, iamFile } = await startDaemonWithUsers(t, iam('stringequals'));
  const Bucket = await createBucket(d.s3(), 'opcaseiam');
  for (const Key of ['k', 'secret']) await d.s3().send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
  const as = (accessKeyId: string) => s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId, secretAccessKey: `${accessKeyId}-secret` }, maxAttempts: 1 });
  t.equal(await s3Code(getBytes(as('app-ua'), { Bucket, Key: 'k' })), 'AccessDenied/403', 'stringequals is StringEquals: the SDK is not "nobody"');
  t.equal((await getBytes(as('app-open'), { Bucket, Key: 'k' })).toString(), 'x', 'a policy without one allows as before');
  t.equal(await s3Code(getBytes(as('app-open'), { Bucket, Key: 'secret' })), 'AccessDenied/403', 'stringNotEqualsIfExists is StringNotEqualsIfExists: the Deny holds');
  const warnings = d.logs.filter((l) => l.includes('case IAM and MinIO refuse'));
  t.equal(warnings.length, 2, 'one warning per such policy');
  t.match(warnings.join('\n'), /policy \\"ua\\" spells condition operators in a case IAM and MinIO refuse \(Statement 1: stringequals \(StringEquals\);/);

  // A reload of a file written so is taken (it does not stop the daemon, nor keep the old users).
  writeIam(iamFile, iam('StringNotEquals'));
  t.match(await reload(d), /^users reloaded/, 'a reload of a correct file is taken');
  t.equal((await getBytes(as('app-ua'), { Bucket, Key: 'k' })).toString(), 'x', 'StringNotEquals now admits');
  writeIam(iamFile, iam('STRINGEQUALS'));
  t.match(await reload(d), /^users reloaded/, 'a reload of a file with a mis-cased operator is taken too');
  t.equal(await s3Code(getBytes(as('app-ua'), { Bucket, Key: 'k' })), 'AccessDenied/403', 'and STRINGEQUALS is StringEquals');
  t.ok(d.logs.some((l) => l.includes('policy \\"ua\\" spells condition operators') && l.includes('STRINGEQUALS (StringEquals)')), 'with its warning');

  const sts = new STSClient({ endpoint: d.endpoint, region: REGION, credentials: { accessKeyId: 'app-open', secretAccessKey: 'app-open-secret' }, maxAttempts: 1 });
  const assume = (Policy: object) => s3Code(sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'tests', Policy: JSON.stringify(Policy) })));
  t.equal(await assume(allowUa('stringequals')), 'MalformedPolicyDocumentException/400', 'a session policy with one is refused');
  t.equal(await assume(allowUa('StringEquals')), 'ok', 'one spelt as IAM spells it is taken');
});
