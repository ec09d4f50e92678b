// Bucket policies against the real daemon, the policy itself: Put/Get/Delete BucketPolicy (the
// text kept byte for byte, NoSuchBucketPolicy, NoSuchBucket) and GetBucketPolicyStatus (IsPublic),
// which always need a signature, as does bucket configuration even under Allow s3:*;
// MalformedPolicy for everything s3d would not enforce exactly (the old policy stays in force) and
// for a policy past 20 KiB; persistence across a restart (and of a deletion); and the aws CLI
// (skipped when `aws` is not on PATH). What a policy lets anonymous (unsigned) requests do:
// s3-bucket-policy-access.test.ts, s3-bucket-policy-conditions.test.ts and
// s3-bucket-policy-credential-shapes.test.ts.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  PutBucketPolicyCommand,
} from '@aws-sdk/client-s3';
import { bucketName, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { md5Base64 } from '../helpers/hash.js';
import { assertXmlError, raw, xmlField, type RawOptions } from '../helpers/http.js';
import { createBucket, expectSdkError } from '../helpers/s3.js';
import { NO_AWS, awsCli } from '../helpers/aws-cli.js';
import { allowAll, arn, mcDownload, objectPath, policy, policyHelpers, stmt, taggingXml } from '../helpers/bucket-policy.js';

const [d, restartable] = await Promise.all([startDaemon(), startDaemon()]);
const work = mkdtempSync(join(tmpdir(), 's3d-policy-'));
let restarted: TestDaemon | undefined;
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) for (const x of [d, restartable]) console.error(x.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await Promise.all([d.stop(), restartable.stop(), restarted?.stop()]);
  d.cleanup();
  restartable.cleanup();
  rmSync(work, { recursive: true, force: true });
});
const s3 = d.s3();
const { anon, putPolicyRaw, setPolicy, policyText, signedHeadStatus, expectDenied, putObjects } = policyHelpers(d, s3);

// ---- the management API ------------------------------------------------------------------------

t.test('Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus: the text kept exactly, NoSuchBucketPolicy, NoSuchBucket', async (t) => {
  const bucket = await createBucket(s3, 'pol');

  await expectSdkError(t, s3.send(new GetBucketPolicyCommand({ Bucket: bucket })), 'NoSuchBucketPolicy', 404, 'SDK GetBucketPolicy with none');
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'policy' }), 404, 'NoSuchBucketPolicy', 'raw GET ?policy with none');

  // Pretty-printed, an Id, keys in an unusual order: given back byte for byte.
  const text = `{\n  "Statement": [\n    {\n      "Sid": "PublicRead",\n      "Resource": "${arn(`${bucket}/*`)}",\n      "Action": "s3:GetObject",\n      "Principal": "*",\n      "Effect": "Allow"\n    }\n  ],\n  "Id": "Policy1700000000000",\n  "Version": "2012-10-17"\n}\n`;
  const put = await putPolicyRaw(bucket, text);
  t.equal(put.status, 204, `raw PutBucketPolicy: 204 (${put.body.toString()})`);
  const got = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'policy' });
  t.equal(got.status, 200, 'raw GetBucketPolicy: 200');
  t.match(String(got.headers['content-type']), /^application\/json\b/, 'content-type application/json');
  t.equal(got.body.toString(), text, 'the policy exactly as it was put');
  t.equal(await policyText(bucket), text, 'SDK GetBucketPolicy: the same text');

  const status = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'policyStatus' });
  t.equal(status.status, 200, 'GET ?policyStatus: 200');
  t.match(status.body.toString(), /<PolicyStatus[^>]*>\s*<IsPublic>true<\/IsPublic>\s*<\/PolicyStatus>/, 'PolicyStatus IsPublic true for an unconditional Allow to *');
  t.equal((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))).PolicyStatus?.IsPublic, true, 'SDK GetBucketPolicyStatus: IsPublic true');

  // The SDK's own PutBucketPolicy (it adds a checksum header) replaces the policy.
  const conditional = policy(stmt('Allow', ['s3:GetObject'], [`${bucket}/*`], { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } }));
  const sdkPut = await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: conditional }));
  t.equal(sdkPut.$metadata.httpStatusCode, 204, 'SDK PutBucketPolicy: 204');
  t.equal(await policyText(bucket), conditional, 'the new policy replaced the old one');
  t.equal((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))).PolicyStatus?.IsPublic, false, 'IsPublic false when the only Allow is pinned to a source range');
  await setPolicy(bucket, policy(stmt('Allow', ['s3:GetObject'], [`${bucket}/*`], { StringLike: { 'aws:Referer': '*' } })));
  t.equal((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))).PolicyStatus?.IsPublic, true, 'IsPublic true when the condition is one the client chooses (Referer *)');
  await setPolicy(bucket, policy(stmt('Deny', ['s3:*'], [bucket, `${bucket}/*`])));
  t.equal((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))).PolicyStatus?.IsPublic, false, 'IsPublic false for a Deny-only policy');
  await setPolicy(bucket, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:ListBucket', Resource: arn(bucket) }] }));
  t.equal((await s3.send(new GetBucketPolicyStatusCommand({ Bucket: bucket }))).PolicyStatus?.IsPublic, true, 'IsPublic true for {"AWS": "*"} without a Condition');

  const del = await raw(d.port, { method: 'DELETE', path: `/${bucket}`, query: 'policy' });
  t.equal(del.status, 204, 'raw DeleteBucketPolicy: 204');
  await expectSdkError(t, s3.send(new GetBucketPolicyCommand({ Bucket: bucket })), 'NoSuchBucketPolicy', 404, 'GetBucketPolicy after the delete');
  await expectSdkError(t, s3.send(new GetBucketPolicyStatusCommand({ Bucket: bucket })), 'NoSuchBucketPolicy', 404, 'GetBucketPolicyStatus without a policy: NoSuchBucketPolicy, as on S3');
  const again = await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
  t.equal(again.$metadata.httpStatusCode, 204, 'SDK DeleteBucketPolicy with no policy: 204');

  const missing = bucketName('nope');
  const missingPolicy = policy(stmt('Allow', ['s3:GetObject'], [`${missing}/*`]));
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${missing}`, query: 'policy' }), 404, 'NoSuchBucket', 'GetBucketPolicy of a missing bucket');
  assertXmlError(t, await putPolicyRaw(missing, missingPolicy), 404, 'NoSuchBucket', 'PutBucketPolicy on a missing bucket');
  assertXmlError(t, await raw(d.port, { method: 'DELETE', path: `/${missing}`, query: 'policy' }), 404, 'NoSuchBucket', 'DeleteBucketPolicy of a missing bucket');
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${missing}`, query: 'policyStatus' }), 404, 'NoSuchBucket', 'GetBucketPolicyStatus of a missing bucket');
  t.equal(await signedHeadStatus(missing, 'x'), 404, 'PutBucketPolicy did not create the bucket');
});

t.test('policy management and bucket configuration are never anonymous, even under Allow s3:*', async (t) => {
  const bucket = await createBucket(s3, 'mgmt');
  await putObjects(bucket, { 'keep.txt': 'keep me' });
  const text = allowAll(bucket);
  await setPolicy(bucket, text);
  t.equal((await anon({ method: 'GET', path: objectPath(bucket, 'keep.txt') })).status, 200, 'the policy does admit anonymous object reads');

  const other = bucketName('anon-create');
  const cases: Array<[string, Omit<RawOptions, 'sign'>]> = [
    ['GetBucketPolicy', { method: 'GET', path: `/${bucket}`, query: 'policy' }],
    ['PutBucketPolicy', { method: 'PUT', path: `/${bucket}`, query: 'policy', body: policy(stmt('Deny', ['s3:*'], [bucket, `${bucket}/*`])) }],
    ['DeleteBucketPolicy', { method: 'DELETE', path: `/${bucket}`, query: 'policy' }],
    ['GetBucketPolicyStatus', { method: 'GET', path: `/${bucket}`, query: 'policyStatus' }],
    ['ListBuckets', { method: 'GET', path: '/' }],
    ['CreateBucket', { method: 'PUT', path: `/${other}` }],
    ['DeleteBucket', { method: 'DELETE', path: `/${bucket}` }],
    ['GetBucketTagging', { method: 'GET', path: `/${bucket}`, query: 'tagging' }],
    ['PutBucketTagging', { method: 'PUT', path: `/${bucket}`, query: 'tagging', headers: { 'content-md5': md5Base64(taggingXml([['a', 'b']])) }, body: taggingXml([['a', 'b']]) }],
    ['GetBucketEncryption', { method: 'GET', path: `/${bucket}`, query: 'encryption' }],
    ['GetBucketAcl', { method: 'GET', path: `/${bucket}`, query: 'acl' }],
    ['GetBucketVersioning', { method: 'GET', path: `/${bucket}`, query: 'versioning' }],
    ['GetObjectAcl', { method: 'GET', path: objectPath(bucket, 'keep.txt'), query: 'acl' }],
    ['PutObjectAcl', { method: 'PUT', path: objectPath(bucket, 'keep.txt'), query: 'acl', headers: { 'x-amz-acl': 'private' } }],
    // Naming a version (here the null one) asks for the *VersionAcl action: still not anonymous.
    ['GetObjectAcl of a version', { method: 'GET', path: objectPath(bucket, 'keep.txt'), query: 'acl&versionId=null' }],
    ['PutObjectAcl of a version', { method: 'PUT', path: objectPath(bucket, 'keep.txt'), query: 'acl&versionId=null', headers: { 'x-amz-acl': 'private' } }],
  ];
  for (const [what, o] of cases) await expectDenied(t, o, what);
  // (DeleteObjects is an object operation, judged per key: s3:* lets anyone delete; see
  // s3-bucket-policy-access.test.ts.)

  t.equal(await policyText(bucket), text, 'the policy is unchanged');
  t.equal(await signedHeadStatus(bucket, 'keep.txt'), 200, 'the object is still there');
  t.equal((await raw(d.port, { method: 'HEAD', path: `/${other}` })).status, 404, 'no bucket was created');
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'tagging' })).status, 404, 'no bucket tags were set');
});

// ---- validation --------------------------------------------------------------------------------

t.test("a policy that is no JSON, or has no Statement, is refused in S3's words", async (t) => {
  // LocalStack's recording against AWS (test_bucket_policy_exc): the aws CLI shows these messages.
  const bucket = await createBucket(s3, 'words');
  const cases: Array<[string, string]> = [
    ['', "Policies must be valid JSON and the first byte must be '{'"],
    ['randomstring', "Policies must be valid JSON and the first byte must be '{'"],
    // JSON, but no object: versitygw's PutBucketPolicy_invalid_json (checked against AWS) has `false`.
    ['false', "Policies must be valid JSON and the first byte must be '{'"],
    ['[]', "Policies must be valid JSON and the first byte must be '{'"],
    ['"Statement"', "Policies must be valid JSON and the first byte must be '{'"],
    ['{}', 'Missing required field Statement'],
    // versitygw's PutBucketPolicy_empty_statement, _invalid_effect and _invalid_action (checked against AWS).
    ['{"Statement": []}', 'Could not parse the policy: Statement is empty!'],
    [JSON.stringify({ Statement: [{ Effect: 'invalid_effect', Principal: '*', Action: 's3:*', Resource: `arn:aws:s3:::${bucket}` }] }), 'Statement 1: Invalid effect: invalid_effect (write Allow or Deny)'],
    [JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's4:GetObject', Resource: `arn:aws:s3:::${bucket}` }] }), 'Policy has invalid action: s4:GetObject (Statement 1: not an s3: action, nor sts:TagSession or admin:Prometheus)'],
    // versitygw's PutBucketPolicy_empty_principals_* and _principals_incorrect_wildcard_usage.
    ...(['', [], ['*', 'grt1']] as const).map((principal): [string, string] => [
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: principal, Action: 's3:*', Resource: `arn:aws:s3:::${bucket}` }] }),
      'Invalid principal in policy (Principal must be "*" or {"AWS": …}).',
    ]),
    [JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: [] }, Action: 's3:*', Resource: `arn:aws:s3:::${bucket}` }] }), 'Invalid principal in policy (Principal.AWS is an empty list).'],
    // versitygw's PutBucketPolicy_invalid_action ([]) and _empty_resources_array.
    [JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: [], Resource: `arn:aws:s3:::${bucket}` }] }), 'Policy has invalid action (Statement 1: Action is an empty list).'],
    [JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: [] }] }), 'Policy has invalid resource (Statement 1: Resource is an empty list).'],
  ];
  for (const [text, message] of cases) {
    const res = await putPolicyRaw(bucket, text);
    assertXmlError(t, res, 400, 'MalformedPolicy', JSON.stringify(text));
    t.equal(xmlField(res.body, 'Message')?.replaceAll('&apos;', "'").replaceAll('&quot;', '"'), message, `${JSON.stringify(text)}: S3's message`);
  }
});

t.test('an invalid policy is refused with MalformedPolicy and the old one stays in force', async (t) => {
  const bucket = await createBucket(s3, 'bad');
  await putObjects(bucket, { 'a.txt': 'aaa' });
  const old = mcDownload(bucket);
  await setPolicy(bucket, old);
  t.equal((await anon({ method: 'GET', path: objectPath(bucket, 'a.txt') })).status, 200, 'anonymous GET admitted by the old policy');

  const base = { Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [arn(`${bucket}/*`)] };
  const doc = (st: Record<string, unknown>, top: Record<string, unknown> = {}): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ ...base, ...st }], ...top });
  const cases: Array<[string, string]> = [
    ['not JSON', `{"Version": "2012-10-17", "Statement": [`],
    ['JSON, but an array', `[${doc({})}]`],
    ['Version 2012-10-18', doc({}, { Version: '2012-10-18' })],
    ['Version 2024-01-01', doc({}, { Version: '2024-01-01' })],
    ['no Statement', JSON.stringify({ Version: '2012-10-17' })],
    ['an empty Statement list', JSON.stringify({ Version: '2012-10-17', Statement: [] })],
    ['Effect Permit', doc({ Effect: 'Permit' })],
    ['no Effect', doc({ Effect: undefined })],
    ['no Principal', doc({ Principal: undefined })],
    ['NotPrincipal in an Allow', doc({ Principal: undefined, NotPrincipal: { AWS: ['arn:aws:iam::123456789012:root'] } })],
    ['no Action', doc({ Action: undefined })],
    ['NotAction beside Action', doc({ NotAction: ['s3:PutObject'] })],
    ['NotResource beside Resource', doc({ NotResource: [arn(`${bucket}/private/*`)] })],
    ['NotResource in another bucket', doc({ Resource: undefined, NotResource: [arn('otherbucket/*')] })],
    ['no Resource', doc({ Resource: undefined })],
    ['a Resource in another bucket', doc({ Resource: [arn('otherbucket/*')] })],
    ['Resource "*"', doc({ Resource: '*' })],
    ['Resource arn:aws:s3:::*', doc({ Resource: arn('*') })],
    ['a Resource in a bucket whose name starts with this one', doc({ Resource: [arn(`${bucket}-other/*`)] })],
    ['one good and one foreign Resource', doc({ Resource: [arn(`${bucket}/*`), arn('otherbucket/*')] })],
    ['an iam: action', doc({ Action: ['iam:PassRole'] })],
    ['an action without a service prefix', doc({ Action: 'GetObject' })],
    ['one good and one non-s3 action', doc({ Action: ['s3:GetObject', 'sts:AssumeRole'] })],
    ['Condition ArnLike on aws:SourceArn (a key s3d has not)', doc({ Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::x' } } })],
    ['Condition DateGreaterThan with a value that is no date', doc({ Condition: { DateGreaterThan: { 'aws:CurrentTime': 'yesterday' } } })],
    ['Condition NullIfExists (S3 has no such operator)', doc({ Condition: { NullIfExists: { 'aws:Referer': 'true' } } })],
    ['Condition StringLikeIfExists on an unknown key', doc({ Condition: { StringLikeIfExists: { 'aws:PrincipalOrgID': 'o-*' } } })],
    ['Condition key aws:PrincipalOrgID', doc({ Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-123456' } } })],
    ['IpAddress with a value that is no address', doc({ Condition: { IpAddress: { 'aws:SourceIp': 'not-an-ip' } } })],
    ['a Deny naming an account (s3d has no other: it would apply to nobody)', doc({ Effect: 'Deny', Principal: { AWS: ['arn:aws:iam::123456789012:root'] } })],
    ['a user of another account (no such principal)', doc({ Principal: { AWS: ['arn:aws:iam::123456789012:user/altuser'] } })],
    // JSON.parse keeps the last of a repeated name: this one reads as a Deny and would allow.
    ['Effect named twice', doc({}).replace('"Effect":"Allow"', '"Effect":"Deny","Effect":"Allow"')],
    // Beside Statement instead of in it: read as written, it would admit every address.
    ['a Condition at the top level', doc({}, { Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } })],
    ['an unknown top-level element', doc({}, { Comment: 'public read' })],
  ];
  for (const [what, text] of cases) {
    const res = await putPolicyRaw(bucket, text);
    assertXmlError(t, res, 400, 'MalformedPolicy', what);
  }
  const viaSdk = await expectSdkError(t, s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: doc({ Action: ['s3:GetObject'], NotAction: 's3:PutObject' }) })), 'MalformedPolicy', 400, 'SDK PutBucketPolicy with Action and NotAction');
  t.ok(viaSdk, 'the SDK saw the refusal');

  t.equal(await policyText(bucket), old, 'after every refusal the old policy is still the one stored');
  t.equal((await anon({ method: 'GET', path: objectPath(bucket, 'a.txt') })).status, 200, 'and it is still in force: anonymous GET admitted');
  await expectDenied(t, { method: 'PUT', path: objectPath(bucket, 'b.txt'), body: 'b' }, 'PUT (no refused policy took effect)');
});

t.test('a policy of up to 20 KiB is accepted, a larger one refused', async (t) => {
  const bucket = await createBucket(s3, 'size');
  const padded = (total: number): string => {
    const make = (pad: number): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'x'.repeat(pad), ...stmt('Allow', ['s3:GetObject'], [`${bucket}/*`]) }] });
    const text = make(total - make(0).length);
    if (text.length !== total) throw new Error(`padding: ${text.length} != ${total}`);
    return text;
  };
  const exact = padded(20 * 1024);
  t.equal((await putPolicyRaw(bucket, exact)).status, 204, 'a 20480-byte policy: 204');
  t.equal(await policyText(bucket), exact, 'stored whole');

  const over = await putPolicyRaw(bucket, padded(20 * 1024 + 1));
  t.equal(over.status, 400, 'a 20481-byte policy: 400');
  t.match(xmlField(over.body, 'Code'), /^(MalformedPolicy|PolicyTooLarge)$/, `a 20481-byte policy: MalformedPolicy or PolicyTooLarge (${xmlField(over.body, 'Code')})`);
  const huge = await putPolicyRaw(bucket, padded(200 * 1024));
  t.equal(huge.status, 400, `a 200 KiB policy: 400 (${xmlField(huge.body, 'Code')})`);
  t.equal(await policyText(bucket), exact, 'the 20 KiB policy is still the stored one');
});

// S3 counts the 20 KB of a policy without the whitespace that only lays it out (AWS normalizes a
// policy before it measures it: JSON.stringify's length is the safe bound). A policy file written
// with indentation (`aws s3api put-bucket-policy --policy file://policy.json`, Terraform's
// aws_iam_policy_document, `json.dumps(p, indent=4)`) is often twice its compact size: s3d
// refused such a policy that S3 takes.
t.test('the 20 KiB are counted without the whitespace that lays the policy out, as S3 counts them', async (t) => {
  const bucket = await createBucket(s3, 'sizews');
  const doc = (n: number): object => ({
    Version: '2012-10-17',
    Statement: Array.from({ length: n }, (_, i) => ({ Sid: `S${i}`, ...stmt('Allow', ['s3:GetObject', 's3:GetObjectTagging'], [`${bucket}/prefix-${i}/*`, `${bucket}/other-${i}/*`]) })),
  });
  const fits = doc(80);
  const pretty = JSON.stringify(fits, null, 4);
  t.ok(Buffer.byteLength(pretty) > 20 * 1024 && Buffer.byteLength(JSON.stringify(fits)) <= 20 * 1024, `laid out ${Buffer.byteLength(pretty)} bytes, compact ${Buffer.byteLength(JSON.stringify(fits))}`);
  const put = await putPolicyRaw(bucket, pretty);
  t.equal(put.status, 204, `an indented policy past 20 KiB whose content fits: 204 (${xmlField(put.body, 'Code') ?? ''})`);
  t.equal(await policyText(bucket), pretty, 'stored as sent');

  const tooMuch = doc(110);
  t.ok(Buffer.byteLength(JSON.stringify(tooMuch)) > 20 * 1024, 'the larger one is past 20 KiB even compact');
  const over = await putPolicyRaw(bucket, JSON.stringify(tooMuch, null, 1));
  t.equal(`${over.status} ${xmlField(over.body, 'Code')}`, '400 MalformedPolicy', 'a policy whose content passes 20 KiB is still refused');
  t.equal(await policyText(bucket), pretty, 'and the previous one stays');
});

t.test('a policy survives a restart, and so does its deletion', async (t) => {
  const r1 = restartable.s3();
  const [kept, dropped] = await Promise.all([createBucket(r1, 'keep'), createBucket(r1, 'drop')]);
  await putObjects(kept, { 'k.txt': 'still public' }, r1);
  await putObjects(dropped, { 'k.txt': 'private again' }, r1);
  const text = mcDownload(kept);
  await setPolicy(kept, text, r1);
  await setPolicy(dropped, mcDownload(dropped), r1);
  await r1.send(new DeleteBucketPolicyCommand({ Bucket: dropped }));
  t.equal(await restartable.stop(), 0, 'clean stop');

  restarted = await startDaemon({ dataDir: restartable.dataDir });
  const r2 = restarted.s3();
  t.equal(await policyText(kept, r2), text, 'the policy text after the restart');
  const get = await anon({ method: 'GET', path: objectPath(kept, 'k.txt') }, restarted);
  t.equal(get.status, 200, 'anonymous GET after the restart: 200');
  t.equal(get.body.toString(), 'still public');
  t.equal((await anon({ method: 'GET', path: `/${kept}` }, restarted)).status, 200, 'anonymous list after the restart: 200');
  await expectDenied(t, { method: 'PUT', path: objectPath(kept, 'n.txt'), body: 'n' }, 'PUT after the restart', restarted);
  await expectSdkError(t, r2.send(new GetBucketPolicyCommand({ Bucket: dropped })), 'NoSuchBucketPolicy', 404, 'the deleted policy stays deleted');
  await expectDenied(t, { method: 'GET', path: objectPath(dropped, 'k.txt') }, 'GET in the bucket whose policy was deleted, after the restart', restarted);
});

// ---- the aws CLI -----------------------------------------------------------------------------------

t.test('aws s3api put/get-bucket-policy, get-bucket-policy-status, and aws s3 --no-sign-request', { skip: NO_AWS }, async (t) => {
  const aws = awsCli(d.endpoint, work, { pathStyle: true }).run;

  const bucket = await createBucket(s3, 'cli');
  await putObjects(bucket, { 'hello.txt': 'hello from the cli bucket' });
  const policyFile = join(work, 'policy.json');
  const text = mcDownload(bucket);
  writeFileSync(policyFile, text);
  const put = await aws('s3api', 'put-bucket-policy', '--bucket', bucket, '--policy', `file://${policyFile}`);
  t.equal(put.code, 0, `aws s3api put-bucket-policy (${put.stderr})`);
  const [got, status] = await Promise.all([aws('s3api', 'get-bucket-policy', '--bucket', bucket), aws('s3api', 'get-bucket-policy-status', '--bucket', bucket)]);
  t.equal(got.code, 0, `aws s3api get-bucket-policy (${got.stderr})`);
  t.equal(got.code === 0 ? (JSON.parse(got.stdout) as { Policy?: string }).Policy : undefined, text, 'get-bucket-policy: the policy as put');
  t.equal(status.code, 0, `aws s3api get-bucket-policy-status (${status.stderr})`);
  t.equal(status.code === 0 ? (JSON.parse(status.stdout) as { PolicyStatus?: { IsPublic?: boolean } }).PolicyStatus?.IsPublic : undefined, true, 'get-bucket-policy-status: IsPublic');

  const out = join(work, 'hello.txt');
  const upload = join(work, 'upload.txt');
  writeFileSync(upload, 'anonymous upload attempt');
  const [cp, ls, up] = await Promise.all([
    aws('s3', 'cp', '--no-sign-request', '--only-show-errors', `s3://${bucket}/hello.txt`, out),
    aws('s3', 'ls', '--no-sign-request', `s3://${bucket}/`),
    aws('s3', 'cp', '--no-sign-request', '--only-show-errors', upload, `s3://${bucket}/upload.txt`),
  ]);
  t.equal(cp.code, 0, `aws s3 cp --no-sign-request from the public bucket (${cp.stderr})`);
  t.equal(cp.code === 0 ? readFileSync(out, 'utf8') : undefined, 'hello from the cli bucket', 'the downloaded bytes');
  t.equal(ls.code, 0, `aws s3 ls --no-sign-request (${ls.stderr})`);
  t.match(ls.stdout, /hello\.txt/, 'aws s3 ls lists the object');
  t.not(up.code, 0, 'aws s3 cp --no-sign-request into the download-only bucket fails');
  t.match(up.stderr, /AccessDenied|Forbidden|403/, `the upload is refused as AccessDenied (${up.stderr.trim()})`);
  t.equal(await signedHeadStatus(bucket, 'upload.txt'), 404, 'nothing uploaded');

  const anonPut = await aws('s3api', 'put-bucket-policy', '--no-sign-request', '--bucket', bucket, '--policy', allowAll(bucket));
  t.not(anonPut.code, 0, 'an unsigned put-bucket-policy fails');
  t.equal(await policyText(bucket), text, 'the policy is unchanged');
  const del = await aws('s3api', 'delete-bucket-policy', '--bucket', bucket);
  t.equal(del.code, 0, `aws s3api delete-bucket-policy (${del.stderr})`);
  const cpAfter = await aws('s3', 'cp', '--no-sign-request', '--only-show-errors', `s3://${bucket}/hello.txt`, join(work, 'again.txt'));
  t.not(cpAfter.code, 0, 'after delete-bucket-policy, aws s3 cp --no-sign-request fails');
});
