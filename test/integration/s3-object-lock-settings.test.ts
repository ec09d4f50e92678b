// S3 Object Lock against the built daemon, written from S3's documented semantics, how locks are
// set: buckets created with Object Lock (versioning Enabled and unsuspendable,
// GetObjectLockConfiguration), default retention rules (Days/Years, malformed rules refused, the
// rule removed), Object Lock enabled on an existing versioned bucket (refused on unversioned and
// suspended ones), PutObject with mode/retain-until/legal-hold headers (shown by HEAD and GET;
// invalid combinations refused with nothing stored; refused in buckets without Object Lock),
// default retention applied to PUTs without headers (explicit headers win),
// GetObjectRetention/GetObjectLegalHold (per version, NoSuchObjectLockConfiguration, InvalidRequest
// without Object Lock), PutObjectRetention (extending always; GOVERNANCE shortened or removed only
// with x-amz-bypass-governance-retention; COMPLIANCE never; GOVERNANCE → COMPLIANCE), users of
// S3_IAM_FILE (s3:BypassGovernanceRetention for bypassing, in DeleteObject and DeleteObjects too;
// s3:PutObjectRetention / s3:PutObjectLegalHold for lock headers on uploads; each Object Lock
// operation's own action), PutObjectLegalHold, a key deleted while a retention or legal hold
// arrives (the look-up's 404 with the delete marker's headers), and CopyObject and multipart uploads with lock
// headers. What the locks protect: s3-object-lock-protection.test.ts.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  UploadPartCommand,
  type ObjectLockLegalHoldStatus,
  type ObjectLockRule,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { bucketName, s3Client, startDaemon } from '../helpers/daemon.js';
import { bodyBytes, createBucket, s3Code, withHeaders } from '../helpers/s3.js';
import { md5Base64 } from '../helpers/hash.js';
import { assertXmlError, openPut, send, xmlField } from '../helpers/http.js';
import { sleep } from '../helpers/wait.js';
import { at, DAY, DENIED, isoS, lock, lockHelpers, MALFORMED, MIN, NO_LOCK_CONFIG, OK, oneOf, retain, rule, VID } from '../helpers/object-lock.js';

const work = mkdtempSync(join(tmpdir(), 's3d-object-lock-'));

// ---- users (S3_IAM_FILE) -----------------------------------------------------------------------

/** The bucket the users' policies name. */
const UB = bucketName('lockiam');
const arn = (r: string): string => `arn:aws:s3:::${r}`;
const OBJECT_ACTIONS = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:PutObject',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:GetObjectRetention',
  's3:PutObjectRetention',
  's3:GetObjectLegalHold',
  's3:PutObjectLegalHold',
  's3:ListBucket',
  's3:ListBucketVersions',
];
const policyDoc = (actions: string[]): unknown => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: [arn(UB), arn(`${UB}/*`)] }] });
const USERS = {
  keeper: { accessKey: 'lock-keeper', secretKey: 'lock-keeper-secret-1', policies: ['retention-no-bypass'] },
  breaker: { accessKey: 'lock-breaker', secretKey: 'lock-breaker-secret-2', policies: ['retention-with-bypass'] },
  rw: { accessKey: 'lock-rw', secretKey: 'lock-rw-secret-000003', policies: ['readwrite'] },
  reader: { accessKey: 'lock-reader', secretKey: 'lock-reader-secret-4', policies: ['retention-reader'] },
  writer: { accessKey: 'lock-writer', secretKey: 'lock-writer-secret-5', policies: ['plain-writer'] },
  partial: { accessKey: 'lock-partial', secretKey: 'lock-partial-secret-6', policies: ['retention-no-bypass', 'bypass-tmp-only'] },
};
const iamFile = join(work, 'iam.json');
writeFileSync(
  iamFile,
  JSON.stringify({
    policies: {
      'retention-no-bypass': policyDoc(OBJECT_ACTIONS),
      'retention-with-bypass': policyDoc([...OBJECT_ACTIONS, 's3:BypassGovernanceRetention']),
      'retention-reader': policyDoc(['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectRetention', 's3:GetObjectLegalHold']),
      'plain-writer': policyDoc(['s3:PutObject', 's3:GetObject']),
      // The bypass granted on tmp/ and keep/, then denied on keep/: it must be judged per key.
      'bypass-tmp-only': {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 's3:BypassGovernanceRetention', Resource: [arn(`${UB}/tmp/*`), arn(`${UB}/keep/*`)] },
          { Effect: 'Deny', Action: 's3:BypassGovernanceRetention', Resource: arn(`${UB}/keep/*`) },
        ],
      },
    },
    users: Object.values(USERS),
  }),
  { mode: 0o600 },
);

const d = await startDaemon({ env: { S3_IAM_FILE: iamFile } });
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await d.stop();
  d.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const s3 = d.s3();
function userClient(u: { accessKey: string; secretKey: string }): S3Client {
  return s3Client(d.endpoint, d.caCert, true, { credentials: { accessKeyId: u.accessKey, secretAccessKey: u.secretKey }, maxAttempts: 1 });
}
const { lockBucket, versionedBucket, put, retentionOf, retainUntilMs, holdOf, setHold, setRetention, headLock, readable, del, lockConfigOf, putLockConfig, versioningOf, versionsOf } = lockHelpers(s3);

// ---- 1. buckets created with Object Lock -------------------------------------------------------

t.test('CreateBucket with Object Lock: versioning Enabled, ObjectLockEnabled without a rule; other buckets have no configuration', async (t) => {
  const bucket = bucketName('lkcreate');
  t.equal(await s3Code(s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }))), OK, 'CreateBucket x-amz-bucket-object-lock-enabled: true');
  t.equal(await versioningOf(bucket), 'Enabled', 'GetBucketVersioning → Enabled');
  t.equal(await lockConfigOf(bucket), 'Enabled no-rule', 'GetObjectLockConfiguration → ObjectLockEnabled Enabled, no Rule');

  const plain = await createBucket(s3, 'lkplain');
  t.equal(await lockConfigOf(plain), 'ObjectLockConfigurationNotFoundError/404', 'a bucket created without it → ObjectLockConfigurationNotFoundError');
  t.equal(await versioningOf(plain), 'unversioned', 'and it is not versioned');
  const off = bucketName('lkoff');
  await s3.send(new CreateBucketCommand({ Bucket: off, ObjectLockEnabledForBucket: false }));
  t.equal(await lockConfigOf(off), 'ObjectLockConfigurationNotFoundError/404', 'x-amz-bucket-object-lock-enabled: false → no Object Lock');
});

// ---- 2. PutObjectLockConfiguration ---------------------------------------------------------------

t.test('PutObjectLockConfiguration: default retention rules stored and read back; malformed rules refused', async (t) => {
  const bucket = await lockBucket('lkcfg');
  t.equal(await putLockConfig(bucket, rule('GOVERNANCE', { Days: 1 })), OK, 'GOVERNANCE Days 1');
  t.equal(await lockConfigOf(bucket), 'Enabled GOVERNANCE days=1 years=-', 'read back');
  t.equal(await putLockConfig(bucket, rule('COMPLIANCE', { Years: 2 })), OK, 'COMPLIANCE Years 2');
  t.equal(await lockConfigOf(bucket), 'Enabled COMPLIANCE days=- years=2', 'read back (replacing the first rule)');

  const bad: Array<[string, ObjectLockRule]> = [
    ['both Days and Years', rule('GOVERNANCE', { Days: 1, Years: 1 })],
    ['neither Days nor Years', rule('GOVERNANCE', {})],
    ['Days 0', rule('GOVERNANCE', { Days: 0 })],
    ['Days -1', rule('GOVERNANCE', { Days: -1 })],
    ['Years 0', rule('COMPLIANCE', { Years: 0 })],
    ['Mode FOO', rule('FOO', { Days: 1 })],
    ['no Mode', { DefaultRetention: { Days: 1 } }],
  ];
  // A period out of range, in S3's words naming the element (versity/versitygw#1738, storj/edge#528).
  const outOfRange: Record<string, [string, string]> = {
    'Days 0': ['Days', 'must be a positive integer value.'], 'Days -1': ['Days', 'must be a positive integer value.'], 'Years 0': ['Years', 'must be a positive integer value.'],
    'Days 36501': ['Days', 'too large.'], 'Years 101': ['Years', 'too large.'],
  };
  bad.push(['Days 36501', rule('GOVERNANCE', { Days: 36501 })], ['Years 101', rule('COMPLIANCE', { Years: 101 })]);
  for (const [what, r] of bad) {
    const answer = await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: r } })).then(() => 'ok', (e: { name: string; message: string; ArgumentName?: string }) => e);
    const range = outOfRange[what];
    if (range === undefined) oneOf(t, typeof answer === 'string' ? answer : `${answer.name}/400`, MALFORMED, `a rule with ${what}`);
    else t.same(typeof answer === 'string' ? answer : [answer.name, answer.message, answer.ArgumentName], ['InvalidArgument', `Default retention period ${range[1]}`, range[0]], `a rule with ${what}: S3's InvalidArgument`);
    t.equal(await lockConfigOf(bucket), 'Enabled COMPLIANCE days=- years=2', `after the rule with ${what}: the configuration is unchanged`);
  }
  t.equal(await putLockConfig(bucket, rule('GOVERNANCE', { Days: 36500 })), OK, 'Days 36500, the most');
  t.equal(await putLockConfig(bucket, rule('COMPLIANCE', { Years: 2 })), OK, 'back to Years 2');

  t.equal(await putLockConfig(bucket), OK, 'ObjectLockEnabled Enabled without a Rule');
  t.equal(await lockConfigOf(bucket), 'Enabled no-rule', 'the default retention is removed');
  const v = await put(bucket, 'k', 'v1');
  t.equal(await retentionOf(bucket, 'k', v), NO_LOCK_CONFIG, 'a PUT afterwards gets no retention');
});

// S3's answers as LocalStack recorded them against AWS; s3d accepted all three and said 200/204.
t.test('refused as S3 refuses them: a lock configuration without ObjectLockEnabled, the bypass header without Object Lock, an empty versioning configuration', async (t) => {
  const locked = await lockBucket('lknoenable');
  t.equal(await putLockConfig(locked, rule('COMPLIANCE', { Years: 2 })), OK, 'a rule beside ObjectLockEnabled');
  const noEnabled = await s3Code(s3.send(new PutObjectLockConfigurationCommand({ Bucket: locked, ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } })));
  t.equal(noEnabled, 'MalformedXML/400', 'a rule without ObjectLockEnabled, on a bucket that has Object Lock: MalformedXML');
  t.equal(await lockConfigOf(locked), 'Enabled COMPLIANCE days=- years=2', 'the configuration is unchanged');

  const plain = await createBucket(s3, 'lkbypass');
  await s3.send(new PutObjectCommand({ Bucket: plain, Key: 'k', Body: 'x' }));
  for (const value of [true, false]) {
    t.equal(await s3Code(s3.send(new DeleteObjectCommand({ Bucket: plain, Key: 'k', BypassGovernanceRetention: value }))), 'InvalidArgument/400', `DeleteObject with x-amz-bypass-governance-retention: ${value} on a bucket without Object Lock`);
    t.equal(await s3Code(s3.send(new DeleteObjectsCommand({ Bucket: plain, BypassGovernanceRetention: value, Delete: { Objects: [{ Key: 'k' }] } }))), 'InvalidArgument/400', `DeleteObjects with it: ${value}`);
  }
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: plain, Key: 'k' }))), OK, 'the object is still there');
  t.equal(await s3Code(s3.send(new DeleteObjectCommand({ Bucket: locked, Key: 'k', BypassGovernanceRetention: true }))), OK, 'on a bucket with Object Lock the header is taken');

  t.equal(await s3Code(s3.send(new PutBucketVersioningCommand({ Bucket: plain, VersioningConfiguration: {} }))), 'IllegalVersioningConfigurationException/400', 'an empty VersioningConfiguration');
  t.equal(await versioningOf(plain), 'unversioned', 'versioning unchanged');
});

t.test('PutObjectLockConfiguration on existing buckets: enables Object Lock when versioning is Enabled, else InvalidBucketState', async (t) => {
  const versioned = await versionedBucket('lkver');
  t.equal(await lockConfigOf(versioned), 'ObjectLockConfigurationNotFoundError/404', 'a versioned bucket starts without Object Lock');
  t.equal(await putLockConfig(versioned), OK, 'PutObjectLockConfiguration ObjectLockEnabled Enabled on a versioned bucket');
  t.equal(await lockConfigOf(versioned), 'Enabled no-rule', 'Object Lock is now enabled');
  const until = at(DAY);
  const v = await put(versioned, 'k', 'v1', retain('GOVERNANCE', until));
  t.equal(await retentionOf(versioned, 'k', v), lock('GOVERNANCE', until), 'a PUT with lock headers is now accepted and retained');
  t.equal(await del(versioned, 'k', v), DENIED, 'and the version is protected');
  t.equal(await s3Code(s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Suspended' } }))), 'InvalidBucketState/409', 'versioning can no longer be suspended');
  t.equal(await putLockConfig(versioned, rule('GOVERNANCE', { Days: 3 })), OK, 'and it takes a rule');
  t.equal(await lockConfigOf(versioned), 'Enabled GOVERNANCE days=3 years=-', 'read back');

  const plain = await createBucket(s3, 'lkunver');
  t.equal(await putLockConfig(plain), 'InvalidBucketState/409', 'an unversioned bucket → InvalidBucketState');
  t.equal(await putLockConfig(plain, rule('GOVERNANCE', { Days: 1 })), 'InvalidBucketState/409', 'with a rule too');
  t.equal(await lockConfigOf(plain), 'ObjectLockConfigurationNotFoundError/404', 'still no configuration');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: plain, Key: 'k', Body: 'x', ...retain('GOVERNANCE', at(DAY)) }))), 'InvalidRequest/400', 'lock headers still refused there');

  const suspended = await versionedBucket('lksusp');
  await s3.send(new PutBucketVersioningCommand({ Bucket: suspended, VersioningConfiguration: { Status: 'Suspended' } }));
  t.equal(await putLockConfig(suspended), 'InvalidBucketState/409', 'a bucket with versioning Suspended → InvalidBucketState');
  t.equal(await lockConfigOf(suspended), 'ObjectLockConfigurationNotFoundError/404', 'still no configuration');
});

// ---- 3. versioning stays Enabled -----------------------------------------------------------------

t.test('PutBucketVersioning Suspended on a lock-enabled bucket → InvalidBucketState', async (t) => {
  const bucket = await lockBucket('lkvers');
  t.equal(await s3Code(s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }))), 'InvalidBucketState/409', 'Suspended → 409 InvalidBucketState');
  t.equal(await versioningOf(bucket), 'Enabled', 'versioning stays Enabled');
  t.equal(await s3Code(s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }))), OK, 'Enabled again is accepted');
  t.equal(await versioningOf(bucket), 'Enabled', 'still Enabled');
  const v1 = await put(bucket, 'k', 'v1');
  const v2 = await put(bucket, 'k', 'v2');
  t.ok(VID.test(v1) && VID.test(v2) && v1 !== v2, `each PUT gets its own version id (${v1}, ${v2})`);
});

// ---- 4. PutObject with lock headers --------------------------------------------------------------

t.test('PutObject with lock headers: HEAD and GET show them; invalid combinations refused, nothing stored', async (t) => {
  const bucket = await lockBucket('lkput');
  const until = at(2 * DAY);
  const vg = await put(bucket, 'gov', 'v1', retain('GOVERNANCE', until, 'ON'));
  t.match(vg, VID, 'PUT with GOVERNANCE + retain-until + legal hold ON → a version id');
  t.equal(await headLock(bucket, 'gov'), `GOVERNANCE ${isoS(until)} hold=ON`, 'HEAD shows mode, retain-until and legal hold');
  t.equal(await headLock(bucket, 'gov', vg), `GOVERNANCE ${isoS(until)} hold=ON`, 'HEAD of the version id too');
  const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'gov' }));
  t.equal((await bodyBytes(g)).toString(), 'gov v1', 'GET: the body');
  t.equal(`${g.ObjectLockMode} ${isoS(g.ObjectLockRetainUntilDate)} hold=${g.ObjectLockLegalHoldStatus}`, `GOVERNANCE ${isoS(until)} hold=ON`, 'GET shows them too');

  const until2 = at(3 * DAY);
  await put(bucket, 'comp', 'v1', retain('COMPLIANCE', until2));
  t.equal(await headLock(bucket, 'comp'), `COMPLIANCE ${isoS(until2)} hold=-`, 'COMPLIANCE without legal hold');
  await put(bucket, 'held', 'v1', { ObjectLockLegalHoldStatus: 'ON' });
  t.equal(await headLock(bucket, 'held'), '- - hold=ON', 'legal hold alone (no retention)');
  await put(bucket, 'plain', 'v1');
  t.equal(await headLock(bucket, 'plain'), '- - hold=-', 'a PUT without headers (no default rule): nothing');

  const bad: Array<[string, Partial<PutObjectCommandInput>]> = [
    ['mode without retain-until', { ObjectLockMode: 'GOVERNANCE' }],
    ['retain-until without mode', { ObjectLockRetainUntilDate: at(DAY) }],
    ['a retain-until in the past', retain('GOVERNANCE', new Date(Date.now() - DAY))],
    ['mode FOO', retain('FOO', at(DAY))],
    ['legal hold MAYBE', { ObjectLockLegalHoldStatus: 'MAYBE' as ObjectLockLegalHoldStatus }],
  ];
  for (const [i, [what, extra]] of bad.entries()) {
    t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: `bad-${i}`, Body: 'refused', ...extra }))), 'InvalidArgument/400', `${what} → InvalidArgument`);
    t.equal(await headLock(bucket, `bad-${i}`), 'NotFound/404', `${what}: nothing stored`);
  }
  const garbled = withHeaders(new PutObjectCommand({ Bucket: bucket, Key: 'bad-date', Body: 'refused', ObjectLockMode: 'GOVERNANCE' }), { 'x-amz-object-lock-retain-until-date': 'next tuesday' });
  oneOf(t, await s3Code(s3.send(garbled)), ['InvalidArgument/400', 'InvalidRequest/400'], 'a retain-until that is no date');
  t.equal(await headLock(bucket, 'bad-date'), 'NotFound/404', 'nothing stored');
  // S3's words (versity/versitygw#1733), the header and the value named.
  const noIso = await send(d.port, { method: 'PUT', path: `/${bucket}/bad-date`, body: 'refused', headers: { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': 'abc' } });
  t.same(['Code', 'Message', 'ArgumentName', 'ArgumentValue'].map((f) => xmlField(noIso.body, f)), ['InvalidArgument', 'The retain until date must be provided in ISO 8601 format', 'x-amz-object-lock-retain-until-date', 'abc'], 'a retain-until that is no date, on the wire');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'gov', Body: 'refused', ObjectLockMode: 'GOVERNANCE' }))), 'InvalidArgument/400', 'a refused PUT over an existing key');
  t.same(await versionsOf(bucket, 'gov'), [vg], 'adds no version');

  // On the wire, as S3 answers (versity/versitygw#1736): the header and the value refused.
  const refused = await send(d.port, { method: 'PUT', path: `/${bucket}/bad-mode`, body: 'refused', headers: { 'x-amz-object-lock-mode': 'abc', 'x-amz-object-lock-retain-until-date': isoS(at(DAY)) } });
  assertXmlError(t, refused, 400, 'InvalidArgument', 'an unknown mode');
  t.same([xmlField(refused.body, 'Message'), xmlField(refused.body, 'ArgumentName'), xmlField(refused.body, 'ArgumentValue')], ['Unknown wormMode directive.', 'x-amz-object-lock-mode', 'abc'], 'S3\'s words, ArgumentName and ArgumentValue');
  const noDate = await send(d.port, { method: 'PUT', path: `/${bucket}/bad-mode`, body: 'refused', headers: { 'x-amz-object-lock-mode': 'GOVERNANCE' } });
  t.same([xmlField(noDate.body, 'Code'), xmlField(noDate.body, 'ArgumentName')], ['InvalidArgument', 'x-amz-object-lock-retain-until-date'], 'a mode without a date names the date it lacks');

  const plain = await createBucket(s3, 'lkputplain');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: plain, Key: 'k', Body: 'x', ...retain('GOVERNANCE', at(DAY)) }))), 'InvalidRequest/400', 'mode + retain-until in a bucket without Object Lock → InvalidRequest');
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: plain, Key: 'k', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }))), 'InvalidRequest/400', 'legal hold in a bucket without Object Lock → InvalidRequest');
  t.equal(await headLock(plain, 'k'), 'NotFound/404', 'nothing stored');
});

// ---- 5. default retention ----------------------------------------------------------------------------

t.test('default retention applies to PUTs without lock headers; explicit headers win', async (t) => {
  const bucket = await lockBucket('lkdef');
  t.equal(await putLockConfig(bucket, rule('GOVERNANCE', { Days: 1 })), OK, 'rule GOVERNANCE Days 1');
  const before = Date.now();
  const v = await put(bucket, 'k', 'v1');
  const r = await retainUntilMs(bucket, 'k', v);
  t.equal(r.mode, 'GOVERNANCE', 'a PUT without headers gets mode GOVERNANCE');
  t.ok(Math.abs(r.until - (before + DAY)) < 5 * MIN, `retain-until ≈ now + 1 day (got ${isoS(new Date(r.until))}, expected ≈ ${isoS(new Date(before + DAY))})`);
  const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));
  t.equal(h.ObjectLockMode, 'GOVERNANCE', 'HEAD shows the mode');
  t.equal(isoS(h.ObjectLockRetainUntilDate), isoS(new Date(r.until)), 'HEAD shows the same retain-until');
  t.equal(await del(bucket, 'k', v), DENIED, 'the version is protected');
  // The date as reported (whole seconds) written back: no shortening, with no bypass needed; a
  // change to COMPLIANCE at that date alters the governance lock, so it takes the bypass (as on S3).
  const reported = (await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: 'k', VersionId: v }))).Retention!;
  t.equal(await s3Code(s3.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: 'k', VersionId: v, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: reported.RetainUntilDate } }))), OK, 're-applying the reported GOVERNANCE date');
  t.equal(await s3Code(s3.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: 'k', VersionId: v, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: reported.RetainUntilDate } }))), DENIED, 'COMPLIANCE at the reported date, without the bypass: refused');
  t.equal(await s3Code(s3.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: 'k', VersionId: v, BypassGovernanceRetention: true, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: reported.RetainUntilDate } }))), OK, 'COMPLIANCE at the reported date, with the bypass');
  t.equal((await retainUntilMs(bucket, 'k', v)).until, r.until, 'the stored date is not a millisecond earlier');

  const later = at(5 * DAY);
  const vc = await put(bucket, 'explicit', 'v1', retain('COMPLIANCE', later));
  t.equal(await retentionOf(bucket, 'explicit', vc), lock('COMPLIANCE', later), 'explicit COMPLIANCE + date win over the default');
  const sooner = at(2 * MIN);
  const vs = await put(bucket, 'sooner', 'v1', retain('GOVERNANCE', sooner));
  t.equal(await retentionOf(bucket, 'sooner', vs), lock('GOVERNANCE', sooner), 'an explicit date sooner than the default wins too');
  const vh = await put(bucket, 'held', 'v1', { ObjectLockLegalHoldStatus: 'ON' });
  t.equal(await holdOf(bucket, 'held', vh), 'ON', 'a PUT with only a legal hold: the hold');
  const rh = await retainUntilMs(bucket, 'held', vh);
  t.ok(rh.mode === 'GOVERNANCE' && Math.abs(rh.until - (before + DAY)) < 5 * MIN, `and the default retention (${rh.mode} ${Number.isNaN(rh.until) ? '' : isoS(new Date(rh.until))})`);

  const years = await lockBucket('lkdefy');
  t.equal(await putLockConfig(years, rule('COMPLIANCE', { Years: 1 })), OK, 'rule COMPLIANCE Years 1');
  const beforeY = Date.now();
  const vy = await put(years, 'k', 'v1');
  const ry = await retainUntilMs(years, 'k', vy);
  t.equal(ry.mode, 'COMPLIANCE', 'Years rule: mode COMPLIANCE');
  t.ok(ry.until > beforeY + 365 * DAY - 5 * MIN && ry.until < beforeY + 366 * DAY + 5 * MIN, `Years rule: retain-until ≈ now + 1 year (got ${Number.isNaN(ry.until) ? 'none' : isoS(new Date(ry.until))})`);
});

t.test('default retention counts from the version\u2019s creation (its Last-Modified), not from when the request began', async (t) => {
  const bucket = await lockBucket('lkdefat');
  t.equal(await putLockConfig(bucket, rule('GOVERNANCE', { Days: 1 })), OK, 'rule GOVERNANCE Days 1');
  // A body that takes seconds to arrive: S3 adds the period to the version's creation timestamp.
  const body = Buffer.from('a body sent in two halves, seconds apart');
  const up = openPut(d.port, `/${bucket}/slow`, body.length, { headers: { 'content-md5': md5Base64(body) } });
  await up.write(body.subarray(0, 10));
  await sleep(2500);
  up.end(body.subarray(10));
  const res = await up.response;
  t.equal(res.status, 200, 'PUT → 200');
  const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'slow', VersionId: res.headers['x-amz-version-id'] as string }));
  t.equal(isoS(h.ObjectLockRetainUntilDate), isoS(new Date(h.LastModified!.getTime() + DAY)), 'retain-until = Last-Modified + 1 day');
});

// ---- 6. GetObjectRetention and GetObjectLegalHold -----------------------------------------------------

t.test('GetObjectRetention and GetObjectLegalHold: per version; NoSuchObjectLockConfiguration; InvalidRequest without Object Lock', async (t) => {
  const bucket = await lockBucket('lkget');
  const until = at(DAY);
  const v1 = await put(bucket, 'k', 'v1', retain('GOVERNANCE', until));
  t.equal(await retentionOf(bucket, 'k', v1), lock('GOVERNANCE', until), 'with VersionId');
  t.equal(await retentionOf(bucket, 'k'), lock('GOVERNANCE', until), 'without VersionId (the latest)');
  const v2 = await put(bucket, 'k', 'v2');
  t.equal(await retentionOf(bucket, 'k'), NO_LOCK_CONFIG, 'the new latest version has none → NoSuchObjectLockConfiguration');
  t.equal(await retentionOf(bucket, 'k', v2), NO_LOCK_CONFIG, 'by its id too');
  t.equal(await retentionOf(bucket, 'k', v1), lock('GOVERNANCE', until), 'the older version keeps its retention');
  t.equal(await holdOf(bucket, 'k', v1), NO_LOCK_CONFIG, 'legal hold never set → NoSuchObjectLockConfiguration');
  t.equal(await setHold(bucket, 'k', 'ON', v1), OK, 'PutObjectLegalHold ON');
  t.equal(await holdOf(bucket, 'k', v1), 'ON', 'GetObjectLegalHold → ON');
  t.equal(await setHold(bucket, 'k', 'OFF', v1), OK, 'PutObjectLegalHold OFF');
  t.equal(await holdOf(bucket, 'k', v1), 'OFF', 'GetObjectLegalHold → OFF');
  t.equal(await retentionOf(bucket, 'missing'), 'NoSuchKey/404', 'GetObjectRetention of a missing key → NoSuchKey');

  const plain = await createBucket(s3, 'lkgetplain');
  await put(plain, 'k', 'v1');
  t.equal(await retentionOf(plain, 'k'), 'InvalidRequest/400', 'GetObjectRetention in a bucket without Object Lock → InvalidRequest');
  t.equal(await holdOf(plain, 'k'), 'InvalidRequest/400', 'GetObjectLegalHold in a bucket without Object Lock → InvalidRequest');
});

// ---- 7. PutObjectRetention --------------------------------------------------------------------------

t.test('PutObjectRetention: GOVERNANCE changed only with bypass (root), COMPLIANCE only extended', async (t) => {
  const bucket = await lockBucket('lkret');
  const d2 = at(2 * DAY);
  const vg = await put(bucket, 'gov', 'v1', retain('GOVERNANCE', d2));
  const d3 = at(3 * DAY);
  t.equal(await setRetention(bucket, 'gov', vg, 'GOVERNANCE', d3), OK, 'GOVERNANCE: extending → ok');
  t.equal(await retentionOf(bucket, 'gov', vg), lock('GOVERNANCE', d3), 'extended');
  const d1 = at(DAY);
  t.equal(await setRetention(bucket, 'gov', vg, 'GOVERNANCE', d1), DENIED, 'GOVERNANCE: shortening without bypass → AccessDenied');
  t.equal(await setRetention(bucket, 'gov', vg, undefined, undefined), DENIED, 'GOVERNANCE: removing without bypass → AccessDenied');
  t.equal(await retentionOf(bucket, 'gov', vg), lock('GOVERNANCE', d3), 'unchanged');
  t.equal(await setRetention(bucket, 'gov', vg, 'GOVERNANCE', d1, true), OK, 'GOVERNANCE: shortening with BypassGovernanceRetention → ok');
  t.equal(await retentionOf(bucket, 'gov', vg), lock('GOVERNANCE', d1), 'shortened');
  t.equal(await setRetention(bucket, 'gov', vg, undefined, undefined, true), OK, 'GOVERNANCE: removing with BypassGovernanceRetention → ok');
  t.equal(await retentionOf(bucket, 'gov', vg), NO_LOCK_CONFIG, 'removed');
  t.equal(await headLock(bucket, 'gov', vg), '- - hold=-', 'HEAD no longer shows a retention');
  t.equal(await del(bucket, 'gov', vg), OK, 'and the version can be deleted');

  const vs = await put(bucket, 'switch', 'v1', retain('GOVERNANCE', d1));
  t.equal(await setRetention(bucket, 'switch', vs, 'COMPLIANCE', d2), DENIED, 'GOVERNANCE → COMPLIANCE with a later date, no bypass → AccessDenied (it alters a governance lock)');
  t.equal(await retentionOf(bucket, 'switch', vs), lock('GOVERNANCE', d1), 'still GOVERNANCE');
  t.equal(await setRetention(bucket, 'switch', vs, 'COMPLIANCE', d2, true), OK, 'GOVERNANCE → COMPLIANCE with a later date and the bypass → ok');
  t.equal(await retentionOf(bucket, 'switch', vs), lock('COMPLIANCE', d2), 'now COMPLIANCE');
  t.equal(await setRetention(bucket, 'switch', vs, 'GOVERNANCE', d2, true), DENIED, 'and it cannot go back to GOVERNANCE, even with bypass');

  const vc = await put(bucket, 'comp', 'v1', retain('COMPLIANCE', d2));
  t.equal(await setRetention(bucket, 'comp', vc, 'COMPLIANCE', d3), OK, 'COMPLIANCE: extending → ok');
  t.equal(await retentionOf(bucket, 'comp', vc), lock('COMPLIANCE', d3), 'extended');
  t.equal(await setRetention(bucket, 'comp', vc, 'COMPLIANCE', d1, true), DENIED, 'COMPLIANCE: shortening, even with bypass → AccessDenied');
  t.equal(await setRetention(bucket, 'comp', vc, 'GOVERNANCE', d3, true), DENIED, 'COMPLIANCE → GOVERNANCE, even with bypass → AccessDenied');
  t.equal(await setRetention(bucket, 'comp', vc, undefined, undefined, true), DENIED, 'COMPLIANCE: removing, even with bypass → AccessDenied');
  t.equal(await retentionOf(bucket, 'comp', vc), lock('COMPLIANCE', d3), 'unchanged');

  const vn = await put(bucket, 'none', 'v1');
  t.equal(await setRetention(bucket, 'none', vn, 'GOVERNANCE', d1), OK, 'a version without retention gets one');
  t.equal(await retentionOf(bucket, 'none', vn), lock('GOVERNANCE', d1), 'read back');
  t.equal(await headLock(bucket, 'none', vn), `GOVERNANCE ${isoS(d1)} hold=-`, 'HEAD shows it');
  t.equal(await del(bucket, 'none', vn), DENIED, 'and it protects the version');
  const vl = await put(bucket, 'latest', 'v1');
  t.equal(await setRetention(bucket, 'latest', undefined, 'GOVERNANCE', d1), OK, 'without VersionId: the latest version');
  t.equal(await retentionOf(bucket, 'latest', vl), lock('GOVERNANCE', d1), 'read back by id');

  const vp = await put(bucket, 'pastdate', 'v1');
  const r = await setRetention(bucket, 'pastdate', vp, 'GOVERNANCE', new Date(Date.now() - DAY));
  t.match(r, /\/400$/, `a retain-until in the past → 400 (${r})`);
  t.equal(await retentionOf(bucket, 'pastdate', vp), NO_LOCK_CONFIG, 'nothing set');

  const plain = await createBucket(s3, 'lkretplain');
  await put(plain, 'k', 'v1');
  t.equal(await setRetention(plain, 'k', undefined, 'GOVERNANCE', d1), 'InvalidRequest/400', 'in a bucket without Object Lock → InvalidRequest');
});

t.test('users: s3:PutObjectRetention alone cannot bypass governance; with s3:BypassGovernanceRetention it can', async (t) => {
  await s3.send(new CreateBucketCommand({ Bucket: UB, ObjectLockEnabledForBucket: true }));
  const keeper = userClient(USERS.keeper);
  const breaker = userClient(USERS.breaker);
  const rw = userClient(USERS.rw);
  const d2 = at(2 * DAY);
  const v = await put(UB, 'gov', 'v1', retain('GOVERNANCE', d2));
  t.equal(await retentionOf(UB, 'gov', v, keeper), lock('GOVERNANCE', d2), 'keeper reads the retention');
  const d3 = at(3 * DAY);
  t.equal(await setRetention(UB, 'gov', v, 'GOVERNANCE', d3, false, keeper), OK, 'keeper (s3:PutObjectRetention) extends it');
  t.equal(await retentionOf(UB, 'gov', v), lock('GOVERNANCE', d3), 'extended');
  const d1 = at(DAY);
  t.equal(await setRetention(UB, 'gov', v, 'GOVERNANCE', d1, true, keeper), DENIED, 'keeper shortening with the bypass header → AccessDenied');
  t.equal(await setRetention(UB, 'gov', v, undefined, undefined, true, keeper), DENIED, 'keeper removing with the bypass header → AccessDenied');
  t.equal(await retentionOf(UB, 'gov', v), lock('GOVERNANCE', d3), 'unchanged');
  t.equal(await del(UB, 'gov', v, true, keeper), DENIED, 'keeper deleting the version with the bypass header → AccessDenied');
  t.equal(await readable(UB, 'gov', v), 'gov v1', 'the version is still there');

  t.equal(await setRetention(UB, 'gov', v, 'GOVERNANCE', d1, false, breaker), DENIED, 'breaker (with s3:BypassGovernanceRetention) shortening without the header → AccessDenied');
  t.equal(await setRetention(UB, 'gov', v, 'GOVERNANCE', d1, true, breaker), OK, 'breaker shortening with the header → ok');
  t.equal(await retentionOf(UB, 'gov', v), lock('GOVERNANCE', d1), 'shortened');
  t.equal(await del(UB, 'gov', v, false, breaker), DENIED, 'breaker deleting the version without the header → AccessDenied');
  t.equal(await del(UB, 'gov', v, true, breaker), OK, 'breaker deleting it with the header → ok');
  t.equal(await readable(UB, 'gov', v), 'NoSuchVersion/404', 'the version is gone');

  const vc = await put(UB, 'comp', 'v1', retain('COMPLIANCE', d2));
  t.equal(await setRetention(UB, 'comp', vc, 'COMPLIANCE', d1, true, breaker), DENIED, 'breaker cannot shorten COMPLIANCE');
  t.equal(await del(UB, 'comp', vc, true, breaker), DENIED, 'nor delete it');

  const v2 = await put(UB, 'gov2', 'v1', retain('GOVERNANCE', d2));
  t.equal(await del(UB, 'gov2', v2, false, rw), DENIED, 'readwrite (s3:*) without the header → AccessDenied');
  t.equal(await del(UB, 'gov2', v2, true, rw), OK, 'readwrite (s3:*) with the header → deleted');

  // DeleteObjects with the bypass header: checked against each user's s3:BypassGovernanceRetention.
  const vm = await put(UB, 'multi', 'v1', retain('GOVERNANCE', d2));
  const batch = (c: S3Client) => c.send(new DeleteObjectsCommand({ Bucket: UB, BypassGovernanceRetention: true, Delete: { Objects: [{ Key: 'multi', VersionId: vm }] } }));
  const rk = await batch(keeper);
  t.same({ deleted: (rk.Deleted ?? []).length, errors: (rk.Errors ?? []).map((e) => e.Code) }, { deleted: 0, errors: ['AccessDenied'] }, 'keeper: DeleteObjects with the bypass header → AccessDenied for the version');
  t.equal(await readable(UB, 'multi', vm), 'multi v1', 'still there');
  const rb = await batch(breaker);
  t.same({ deleted: (rb.Deleted ?? []).map((x) => x.VersionId), errors: (rb.Errors ?? []).map((e) => e.Code) }, { deleted: [vm], errors: [] }, 'breaker: DeleteObjects with the bypass header → deleted');

  // The bypass is judged per key: granted on tmp/, denied on keep/ (by an explicit Deny).
  const partial = userClient(USERS.partial);
  const vt = await put(UB, 'tmp/x', 'v1', retain('GOVERNANCE', d2));
  const vk = await put(UB, 'keep/y', 'v1', retain('GOVERNANCE', d2));
  const rp = await partial.send(new DeleteObjectsCommand({ Bucket: UB, BypassGovernanceRetention: true, Delete: { Objects: [{ Key: 'tmp/x', VersionId: vt }, { Key: 'keep/y', VersionId: vk }] } }));
  t.same(
    { deleted: (rp.Deleted ?? []).map((x) => `${x.Key}@${x.VersionId === vt ? 'id' : x.VersionId}`), errors: (rp.Errors ?? []).map((e) => `${e.Key}@${e.VersionId === vk ? 'id' : e.VersionId} ${e.Code}`) },
    { deleted: ['tmp/x@id'], errors: ['keep/y@id AccessDenied'] },
    'DeleteObjects with the bypass: the tmp/ version deleted, the keep/ version (bypass denied there) AccessDenied',
  );
  t.equal(await readable(UB, 'tmp/x', vt), 'NoSuchVersion/404', 'tmp/x is gone');
  t.equal(await readable(UB, 'keep/y', vk), 'keep/y v1', 'keep/y is still there');
  t.equal(await del(UB, 'keep/y', vk, true, partial), DENIED, 'DeleteObject of keep/y with the bypass → AccessDenied too');

  // The other Object Lock operations each need their own action.
  const reader = userClient(USERS.reader);
  const vp = await put(UB, 'perm', 'v1', retain('GOVERNANCE', d2));
  t.equal(await retentionOf(UB, 'perm', vp, reader), lock('GOVERNANCE', d2), 'reader (s3:GetObjectRetention) reads the retention');
  t.equal(await setRetention(UB, 'perm', vp, 'GOVERNANCE', d3, false, reader), DENIED, 'reader without s3:PutObjectRetention cannot even extend it');
  t.equal(await retentionOf(UB, 'perm', vp), lock('GOVERNANCE', d2), 'unchanged');
  t.equal(await setHold(UB, 'perm', 'ON', vp, reader), DENIED, 'reader without s3:PutObjectLegalHold cannot set a legal hold');
  t.equal(await holdOf(UB, 'perm', vp), NO_LOCK_CONFIG, 'no hold set');
  t.equal(await setHold(UB, 'perm', 'ON', vp, keeper), OK, 'keeper (s3:PutObjectLegalHold) can');
  t.equal(await holdOf(UB, 'perm', vp, reader), 'ON', 'reader (s3:GetObjectLegalHold) reads it');
  t.equal(await lockConfigOf(UB, keeper), DENIED, 'keeper without s3:GetBucketObjectLockConfiguration cannot read the bucket configuration');
  t.equal(await putLockConfig(UB, rule('GOVERNANCE', { Days: 1 }), keeper), DENIED, 'nor change it (s3:PutBucketObjectLockConfiguration)');
  t.equal(await lockConfigOf(UB), 'Enabled no-rule', 'unchanged');
  t.equal(await putLockConfig(UB, rule('GOVERNANCE', { Days: 1 }), rw), OK, 'readwrite (s3:*) can change it');
  t.equal(await lockConfigOf(UB, rw), 'Enabled GOVERNANCE days=1 years=-', 'and read it');

  // Lock headers on an upload need s3:PutObjectRetention / s3:PutObjectLegalHold besides s3:PutObject.
  const writer = userClient(USERS.writer);
  t.equal(await s3Code(writer.send(new PutObjectCommand({ Bucket: UB, Key: 'w-ret', Body: 'x', ...retain('GOVERNANCE', d2) }))), DENIED, 'writer (s3:PutObject only): PUT with retention headers → AccessDenied');
  t.equal(await s3Code(writer.send(new PutObjectCommand({ Bucket: UB, Key: 'w-hold', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }))), DENIED, 'writer: PUT with a legal hold header → AccessDenied');
  t.equal(await headLock(UB, 'w-ret'), 'NotFound/404', 'nothing stored');
  t.equal(await headLock(UB, 'w-hold'), 'NotFound/404', 'nothing stored');
  t.equal(await s3Code(writer.send(new PutObjectCommand({ Bucket: UB, Key: 'w-plain', Body: 'x' }))), OK, 'writer: a PUT without lock headers works (and gets the default retention)');
  t.match(await retentionOf(UB, 'w-plain'), /^GOVERNANCE /, 'the default rule applied to it');
  t.equal(await s3Code(keeper.send(new PutObjectCommand({ Bucket: UB, Key: 'k-ret', Body: 'x', ...retain('COMPLIANCE', d2, 'ON') }))), OK, 'keeper (with both actions): PUT with retention and legal hold headers works');
  t.equal(await headLock(UB, 'k-ret'), `COMPLIANCE ${isoS(d2)} hold=ON`, 'stored with them');
});

// ---- 8. PutObjectLegalHold ----------------------------------------------------------------------------

t.test('PutObjectLegalHold ON/OFF per version; other statuses refused', async (t) => {
  const bucket = await lockBucket('lkhold');
  const v1 = await put(bucket, 'k', 'v1');
  const v2 = await put(bucket, 'k', 'v2');
  t.equal(await setHold(bucket, 'k', 'ON', v1), OK, 'ON with VersionId');
  t.equal(await holdOf(bucket, 'k', v1), 'ON', 'that version: ON');
  t.equal(await holdOf(bucket, 'k', v2), NO_LOCK_CONFIG, 'the other version: none');
  t.equal(await headLock(bucket, 'k', v1), '- - hold=ON', 'HEAD of the version shows it');
  t.equal(await setHold(bucket, 'k', 'ON'), OK, 'ON without VersionId');
  t.equal(await holdOf(bucket, 'k', v2), 'ON', 'applies to the latest version');
  t.equal(await setHold(bucket, 'k', 'OFF', v1), OK, 'OFF with VersionId');
  t.equal(await holdOf(bucket, 'k', v1), 'OFF', 'read back OFF');
  t.equal(await holdOf(bucket, 'k', v2), 'ON', 'the other version keeps ON');
  for (const status of ['MAYBE', 'on', '']) {
    oneOf(t, await setHold(bucket, 'k', status, v1), MALFORMED, `status ${JSON.stringify(status)}`);
  }
  t.equal(await holdOf(bucket, 'k', v1), 'OFF', 'unchanged');
  t.equal(await holdOf(bucket, 'k', '01890a5d-ac96-774b-bcce-b302099a8057'), 'NoSuchVersion/404', 'GetObjectLegalHold of a missing version → NoSuchVersion');

  const plain = await createBucket(s3, 'lkholdplain');
  await put(plain, 'k', 'v1');
  t.equal(await setHold(plain, 'k', 'ON'), 'InvalidRequest/400', 'in a bucket without Object Lock → InvalidRequest');
  // No LegalHold at all (the SDKs then send no body): S3 answers MalformedXML in its own words,
  // before it looks at the bucket's Object Lock (LocalStack's AWS recording put-object-retention-empty).
  for (const b of [bucket, plain]) {
    const err = await s3.send(new PutObjectLegalHoldCommand({ Bucket: b, Key: 'k' })).then(() => undefined, (e: { name: string; message: string; $metadata: { httpStatusCode?: number } }) => e);
    t.same([err?.$metadata.httpStatusCode, err?.name, err?.message], [400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema'], `no body (${b === plain ? 'bucket without Object Lock' : 'locked bucket'})`);
  }
});

t.test('PutObjectLegalHold and PutObjectRetention of a key deleted while the body arrives: the look-up\u2019s answer, the delete marker\u2019s headers included', async (t) => {
  const bucket = await lockBucket('lkrace');
  const docs = {
    'legal-hold': '<LegalHold><Status>OFF</Status></LegalHold>',
    retention: `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>${at(DAY).toISOString()}</RetainUntilDate></Retention>`,
  };
  for (const [query, doc] of Object.entries(docs)) {
    await put(bucket, 'k', query);
    const body = Buffer.from(doc);
    const headers = { 'content-md5': md5Base64(body) };
    const held = openPut(d.port, `/${bucket}/k`, body.length, { query, headers });
    await held.write(body.subarray(0, 10));
    // The handler has found the version and is reading the body: delete the key (a delete marker).
    await sleep(200);
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }))).VersionId;
    held.end(body.subarray(10));
    const raced = await held.response;
    // The same request sent now, once the marker is current, is answered by the look-up.
    const after = await send(d.port, { method: 'PUT', path: `/${bucket}/k`, query, headers, body });
    for (const [what, res] of [['raced', raced], ['sent after the delete', after]] as const) {
      assertXmlError(t, res, 404, 'NoSuchKey', `${query}, ${what}`);
      // The commit's own NoSuchKey had no marker headers.
      t.same([res.headers['x-amz-delete-marker'], res.headers['x-amz-version-id']], ['true', marker], `${query}, ${what}: the marker's headers`);
    }
  }
});

// ---- 11. CopyObject and multipart ---------------------------------------------------------------------

t.test('CopyObject and multipart uploads carry lock headers', async (t) => {
  const src = await createBucket(s3, 'lksrc');
  await put(src, 'src', 'source');
  const bucket = await lockBucket('lkcopy');
  const until = at(2 * DAY);
  const c = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${src}/src`, ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: 'ON' }));
  t.match(c.VersionId, VID, 'CopyObject with lock headers → a version id');
  t.equal(await headLock(bucket, 'copy'), `GOVERNANCE ${isoS(until)} hold=ON`, 'HEAD shows mode, retain-until and legal hold');
  t.equal(await retentionOf(bucket, 'copy', c.VersionId), lock('GOVERNANCE', until), 'GetObjectRetention agrees');
  t.equal(await holdOf(bucket, 'copy', c.VersionId), 'ON', 'GetObjectLegalHold agrees');
  t.equal(await readable(bucket, 'copy'), 'src source', 'the copied body');
  t.equal(await del(bucket, 'copy', c.VersionId, true), DENIED, 'the copy is protected (legal hold)');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy-bad', CopySource: `${src}/src`, ObjectLockMode: 'GOVERNANCE' }))), 'InvalidArgument/400', 'CopyObject with a mode and no date → InvalidArgument');
  t.equal(await headLock(bucket, 'copy-bad'), 'NotFound/404', 'nothing stored');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: src, Key: 'copy-plain', CopySource: `${src}/src`, ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until }))), 'InvalidRequest/400', 'CopyObject with lock headers into a bucket without Object Lock → InvalidRequest');

  const until2 = at(3 * DAY);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until2, ObjectLockLegalHoldStatus: 'ON' }));
  t.ok(up.UploadId, 'CreateMultipartUpload with lock headers');
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu', UploadId: up.UploadId, PartNumber: 1, Body: 'the only part' }));
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mpu', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
  t.match(done.VersionId, VID, 'CompleteMultipartUpload → a version id');
  t.equal(await headLock(bucket, 'mpu'), `COMPLIANCE ${isoS(until2)} hold=ON`, 'HEAD shows mode, retain-until and legal hold');
  t.equal(await retentionOf(bucket, 'mpu', done.VersionId), lock('COMPLIANCE', until2), 'GetObjectRetention agrees');
  t.equal(await holdOf(bucket, 'mpu', done.VersionId), 'ON', 'GetObjectLegalHold agrees');
  t.equal(await setHold(bucket, 'mpu', 'OFF', done.VersionId), OK, 'legal hold OFF');
  t.equal(await del(bucket, 'mpu', done.VersionId, true), DENIED, 'the COMPLIANCE retention still protects it');
  t.equal(await s3Code(s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu-bad', ObjectLockRetainUntilDate: until2 }))), 'InvalidArgument/400', 'CreateMultipartUpload with a date and no mode → InvalidArgument');
  t.equal(await s3Code(s3.send(new CreateMultipartUploadCommand({ Bucket: src, Key: 'mpu', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until2 }))), 'InvalidRequest/400', 'CreateMultipartUpload with lock headers into a bucket without Object Lock → InvalidRequest');

  t.equal(await putLockConfig(bucket, rule('GOVERNANCE', { Days: 1 })), OK, 'a default rule on the bucket');
  const before = Date.now();
  const up2 = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu-default' }));
  const part2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu-default', UploadId: up2.UploadId, PartNumber: 1, Body: 'part' }));
  // Completed a while after it was initiated: S3 counts the default from the version's creation
  // timestamp, which for a multipart upload is its initiation (its Last-Modified), not the completion.
  await sleep(3000);
  const done2 = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mpu-default', UploadId: up2.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part2.ETag }] } }));
  const r = await retainUntilMs(bucket, 'mpu-default', done2.VersionId);
  t.ok(r.mode === 'GOVERNANCE' && Math.abs(r.until - (before + DAY)) < 5 * MIN, `a multipart upload without headers gets the default retention (${r.mode} ${Number.isNaN(r.until) ? '' : isoS(new Date(r.until))})`);
  const lastModified = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mpu-default', VersionId: done2.VersionId }))).LastModified!.getTime();
  const fromCreation = r.until - (lastModified + DAY);
  t.ok(fromCreation >= 0 && fromCreation < 1000, `… counted from its Last-Modified, the upload's initiation, not its completion 3 s later (${fromCreation} ms past Last-Modified + 1 day)`);
  const c2 = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy-default', CopySource: `${src}/src` }));
  const rc = await retainUntilMs(bucket, 'copy-default', c2.VersionId);
  t.ok(rc.mode === 'GOVERNANCE' && Math.abs(rc.until - (before + DAY)) < 5 * MIN, `a copy without headers gets the default retention (${rc.mode} ${Number.isNaN(rc.until) ? '' : isoS(new Date(rc.until))})`);
});


// S3's event holds (2026, in the newest SDKs): s3d has none, so asking for one is 501 naming it,
// never a version stored without the hold it asked for; OFF is what every version has. The
// documents' elements were MalformedXML (the upload headers were already NotImplemented).
t.test('Object Lock event holds: NotImplemented in PutObjectLockConfiguration, PutObjectRetention and upload headers; EventHold OFF accepted', async (t) => {
  const bucket = await lockBucket('lkevent');
  t.equal(await putLockConfig(bucket, rule('GOVERNANCE', { Days: 1 })), OK, 'a default rule');
  const withEventHold = { ObjectLockEnabled: 'Enabled' as const, Rule: { DefaultRetention: { DefaultEventHold: { Days: 30 } } } };
  t.equal(await s3Code(s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: withEventHold }))), 'NotImplemented/501', 'DefaultRetention with DefaultEventHold → NotImplemented');
  const both = { ObjectLockEnabled: 'Enabled' as const, Rule: { DefaultRetention: { Mode: 'COMPLIANCE' as const, Years: 1, DefaultEventHold: { Years: 1 } } } };
  t.equal(await s3Code(s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: both }))), 'NotImplemented/501', 'beside Mode and Years too');
  t.equal(await lockConfigOf(bucket), 'Enabled GOVERNANCE days=1 years=-', 'the configuration is unchanged');

  const until = at(2 * DAY);
  const v = await put(bucket, 'k', 'v1', retain('GOVERNANCE', until));
  const retention = (Retention: Record<string, unknown>): Promise<string> => s3Code(s3.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: 'k', VersionId: v, Retention })));
  t.equal(await retention({ EventHold: 'ON' }), 'NotImplemented/501', 'PutObjectRetention EventHold ON → NotImplemented');
  t.equal(await retention({ EventHold: 'ON', EventHoldDuration: { Days: 5 } }), 'NotImplemented/501', 'with an EventHoldDuration');
  t.equal(await retention({ Mode: 'GOVERNANCE', RetainUntilDate: at(3 * DAY), EventHoldDuration: { Years: 1 } }), 'NotImplemented/501', 'an EventHoldDuration beside a retention');
  t.equal(await retention({ EventHold: 'MAYBE' }), 'MalformedXML/400', 'EventHold MAYBE → MalformedXML');
  t.equal(await retentionOf(bucket, 'k', v), lock('GOVERNANCE', until), 'the retention is unchanged');
  t.equal(await retention({ EventHold: 'OFF' }), OK, 'EventHold OFF alone → 200 (there is no hold to release)');
  t.equal(await retentionOf(bucket, 'k', v), lock('GOVERNANCE', until), 'and the retention is kept, not removed as by an empty Retention');
  const later = at(4 * DAY);
  t.equal(await retention({ Mode: 'GOVERNANCE', RetainUntilDate: later, EventHold: 'OFF' }), OK, 'EventHold OFF beside a retention');
  t.equal(await retentionOf(bucket, 'k', v), lock('GOVERNANCE', later), 'the retention is extended');

  const bad: Array<[string, Partial<PutObjectCommandInput>]> = [
    ['ObjectLockEventHold ON', { ObjectLockEventHold: 'ON' }],
    ['ObjectLockEventHoldDurationDays', { ObjectLockEventHoldDurationDays: 7 }],
    ['ObjectLockEventHoldDurationYears', { ObjectLockEventHoldDurationYears: 1 }],
  ];
  for (const [what, extra] of bad) {
    t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'held', Body: 'x', ...extra }))), 'NotImplemented/501', `PutObject with ${what} → NotImplemented`);
    t.equal(await s3Code(s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'held', ...extra }))), 'NotImplemented/501', `CreateMultipartUpload with ${what} → NotImplemented`);
    t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'held', CopySource: `${bucket}/k`, ...extra }))), 'NotImplemented/501', `CopyObject with ${what} → NotImplemented`);
  }
  t.equal(await headLock(bucket, 'held'), 'NotFound/404', 'nothing stored');
});
