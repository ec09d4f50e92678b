// S3 Object Lock against the built daemon, written from S3's documented semantics: buckets created
// with Object Lock (versioning Enabled and unsuspendable, GetObjectLockConfiguration), default
// retention rules (Days/Years, malformed rules refused, the rule removed), Object Lock enabled on an
// existing versioned bucket (refused on unversioned and suspended ones), PutObject with
// mode/retain-until/legal-hold headers (shown by HEAD and GET; invalid combinations refused with
// nothing stored; refused in buckets without Object Lock), default retention applied to PUTs
// without headers (explicit headers win), GetObjectRetention/GetObjectLegalHold (per version,
// NoSuchObjectLockConfiguration, InvalidRequest without Object Lock), PutObjectRetention (extending
// always; GOVERNANCE shortened or removed only with x-amz-bypass-governance-retention; COMPLIANCE
// never; GOVERNANCE → COMPLIANCE), users of S3_IAM_FILE (s3:BypassGovernanceRetention for
// bypassing, in DeleteObject and DeleteObjects too; s3:PutObjectRetention / s3:PutObjectLegalHold
// for lock headers on uploads; each Object Lock operation's own action), PutObjectLegalHold,
// protection of versions against DeleteObject and DeleteObjects by version id (bypass, legal hold
// winning over bypass, delete markers still allowed, retention that ran out), overwrites,
// CopyObject and multipart uploads with lock headers, DeleteBucket with locked versions, the bucket
// configuration, retention and legal holds surviving a restart, lifecycle sparing locked versions
// (NoncurrentVersionExpiration removes only unlocked ones; Expiration puts a marker over a locked
// current version; the versions are written by a daemon whose clock runs three days behind, as in
// s3-lifecycle-versions.test.ts), and the same features through boto3, the aws CLI and minio-js
// (boto3 and the CLI skipped when missing).

import t from 'tap';
import type { Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  UploadPartCommand,
  type ObjectLockLegalHoldStatus,
  type ObjectLockMode,
  type ObjectLockRetentionMode,
  type ObjectLockRule,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, s3Client, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { awsCli, NO_AWS } from '../helpers/aws-cli.js';
import { minioClient } from '../helpers/minio.js';
import { bodyBytes, createBucket, s3Code, withHeaders } from '../helpers/s3.js';
import { pollUntil, sleep } from '../helpers/wait.js';
import { shiftedClient, shiftedClockEnv } from '../helpers/clock.js';
import { PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';

const SEC = 1000;
const MIN = 60 * SEC;
const DAY = 86_400_000;
const VID = /^[0-9a-f-]{36}$/;
const OK = 'ok';
const DENIED = 'AccessDenied/403';
const NO_LOCK_CONFIG = 'NoSuchObjectLockConfiguration/404';
/** What a malformed Object Lock document may be refused with. */
const MALFORMED = ['MalformedXML/400', 'InvalidArgument/400'];

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

// ---- a daemon whose clock runs three days behind (restart and lifecycle) -------------------------

const OFFSET_MS = -3 * DAY;
const [d, past] = await Promise.all([
  startDaemon({ env: { S3_IAM_FILE: iamFile } }),
  startDaemon({ env: { ...shiftedClockEnv(work, OFFSET_MS), S3_LIFECYCLE_SCAN_INTERVAL: '1h' } }),
]);
let restarted: TestDaemon | undefined;
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) for (const x of [d, past, restarted]) if (x) console.error(x.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await Promise.all([d.stop(), past.stop(), restarted?.stop()]);
  d.cleanup();
  past.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const s3 = d.s3();
function userClient(u: { accessKey: string; secretKey: string }): S3Client {
  return s3Client(d.endpoint, d.caCert, true, { credentials: { accessKeyId: u.accessKey, secretAccessKey: u.secretKey }, maxAttempts: 1 });
}

const pastClient = (daemon: TestDaemon): S3Client => shiftedClient(daemon, OFFSET_MS);
// ---- helpers ---------------------------------------------------------------------------------

/** A whole second `ms` from now (from `base`): what the daemon gives back at second precision. */
function at(ms: number, base = Date.now()): Date {
  return new Date(Math.ceil((base + ms) / SEC) * SEC);
}

/** ISO 8601 to the second ('none' when absent). */
function isoS(x: Date | string | undefined): string {
  if (x === undefined) return 'none';
  const date = new Date(x);
  return Number.isNaN(date.getTime()) ? `invalid(${String(x)})` : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** How retentionOf shows a retention. */
const lock = (mode: string, until: Date): string => `${mode} ${isoS(until)}`;

/** `Code/status` of an SDK error (as s3Code). */
function codeOf(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (e.$metadata?.httpStatusCode === undefined) return `${e.name}: ${e.message}`;
  return `${e.name}/${e.$metadata.httpStatusCode}`;
}

/** One assertion: `got` is one of `allowed`. */
function oneOf(t: Test, got: string, allowed: string[], what: string): void {
  t.ok(allowed.includes(got), `${what} → ${allowed.join(' or ')} (got ${got})`);
}

async function lockBucket(prefix: string, c: S3Client = s3): Promise<string> {
  const bucket = bucketName(prefix);
  await c.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  return bucket;
}

async function versionedBucket(prefix: string, c: S3Client = s3): Promise<string> {
  const bucket = await createBucket(c, prefix);
  await c.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  return bucket;
}

/** PutObject with the body `<key> <label>`; returns the version id. */
async function put(bucket: string, key: string, label: string, extra: Partial<PutObjectCommandInput> = {}, c: S3Client = s3): Promise<string> {
  const r = await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key} ${label}`, ...extra }));
  return r.VersionId ?? 'no-version-id';
}

/** Lock headers of PutObject/CopyObject/CreateMultipartUpload. */
function retain(mode: string, until: Date, hold?: string): Partial<PutObjectCommandInput> {
  return { ObjectLockMode: mode as ObjectLockMode, ObjectLockRetainUntilDate: until, ...(hold !== undefined ? { ObjectLockLegalHoldStatus: hold as ObjectLockLegalHoldStatus } : {}) };
}

/** `MODE retain-until` of GetObjectRetention, or the error. */
async function retentionOf(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<string> {
  try {
    const r = await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) }));
    return `${r.Retention?.Mode ?? 'none'} ${isoS(r.Retention?.RetainUntilDate)}`;
  } catch (err) {
    return codeOf(err);
  }
}

/** GetObjectRetention's retain-until in ms (NaN when refused). */
async function retainUntilMs(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<{ mode: string; until: number }> {
  try {
    const r = await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) }));
    return { mode: r.Retention?.Mode ?? 'none', until: r.Retention?.RetainUntilDate ? new Date(r.Retention.RetainUntilDate).getTime() : NaN };
  } catch (err) {
    return { mode: codeOf(err), until: NaN };
  }
}

/** GetObjectLegalHold's status, or the error. */
async function holdOf(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<string> {
  try {
    const r = await c.send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) }));
    return r.LegalHold?.Status ?? 'none';
  } catch (err) {
    return codeOf(err);
  }
}

function setHold(bucket: string, key: string, Status: string, VersionId?: string, c: S3Client = s3): Promise<string> {
  return s3Code(c.send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key: key, LegalHold: { Status: Status as ObjectLockLegalHoldStatus }, ...(VersionId !== undefined ? { VersionId } : {}) })));
}

/** PutObjectRetention (Retention {} when mode is undefined: removing it). */
function setRetention(bucket: string, key: string, VersionId: string | undefined, mode: string | undefined, until: Date | undefined, bypass = false, c: S3Client = s3): Promise<string> {
  return s3Code(
    c.send(
      new PutObjectRetentionCommand({
        Bucket: bucket,
        Key: key,
        ...(VersionId !== undefined ? { VersionId } : {}),
        Retention: mode === undefined ? {} : { Mode: mode as ObjectLockRetentionMode, ...(until ? { RetainUntilDate: until } : {}) },
        ...(bypass ? { BypassGovernanceRetention: true } : {}),
      }),
    ),
  );
}

/** `MODE retain-until hold=STATUS` of a HEAD ('-' for what it lacks), or the error. */
async function headLock(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<string> {
  try {
    const r = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) }));
    return `${r.ObjectLockMode ?? '-'} ${r.ObjectLockRetainUntilDate ? isoS(r.ObjectLockRetainUntilDate) : '-'} hold=${r.ObjectLockLegalHoldStatus ?? '-'}`;
  } catch (err) {
    return codeOf(err);
  }
}

/** The body of a GET (of a version), or the error. */
async function readable(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<string> {
  try {
    return (await bodyBytes(await c.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) })))).toString();
  } catch (err) {
    return codeOf(err);
  }
}

function del(bucket: string, key: string, VersionId: string | undefined, bypass = false, c: S3Client = s3): Promise<string> {
  return s3Code(c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}), ...(bypass ? { BypassGovernanceRetention: true } : {}) })));
}

/** `Enabled MODE days=N years=N` (or `Enabled no-rule`) of GetObjectLockConfiguration, or the error. */
async function lockConfigOf(bucket: string, c: S3Client = s3): Promise<string> {
  try {
    const r = await c.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    const conf = r.ObjectLockConfiguration;
    const dr = conf?.Rule?.DefaultRetention;
    return `${conf?.ObjectLockEnabled ?? 'none'} ${dr ? `${dr.Mode ?? '-'} days=${dr.Days ?? '-'} years=${dr.Years ?? '-'}` : 'no-rule'}`;
  } catch (err) {
    return codeOf(err);
  }
}

function putLockConfig(bucket: string, Rule?: ObjectLockRule, c: S3Client = s3): Promise<string> {
  return s3Code(c.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', ...(Rule ? { Rule } : {}) } })));
}

const rule = (Mode: string, unit: { Days?: number; Years?: number }): ObjectLockRule => ({ DefaultRetention: { Mode: Mode as ObjectLockRetentionMode, ...unit } });

async function versioningOf(bucket: string, c: S3Client = s3): Promise<string> {
  return (await c.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status ?? 'unversioned';
}

/** Version ids of `key` (newest first, delete markers excluded). */
async function versionsOf(bucket: string, key: string, c: S3Client = s3): Promise<string[]> {
  const r = await c.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return (r.Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId!);
}

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
  for (const [what, r] of bad) {
    oneOf(t, await putLockConfig(bucket, r), MALFORMED, `a rule with ${what}`);
    t.equal(await lockConfigOf(bucket), 'Enabled COMPLIANCE days=- years=2', `after the rule with ${what}: the configuration is unchanged`);
  }

  t.equal(await putLockConfig(bucket), OK, 'ObjectLockEnabled Enabled without a Rule');
  t.equal(await lockConfigOf(bucket), 'Enabled no-rule', 'the default retention is removed');
  const v = await put(bucket, 'k', 'v1');
  t.equal(await retentionOf(bucket, 'k', v), NO_LOCK_CONFIG, 'a PUT afterwards gets no retention');
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
  t.equal(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'gov', Body: 'refused', ObjectLockMode: 'GOVERNANCE' }))), 'InvalidArgument/400', 'a refused PUT over an existing key');
  t.same(await versionsOf(bucket, 'gov'), [vg], 'adds no version');

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
  // The date as reported (whole seconds) written back: no shortening, with no bypass needed, and
  // an upgrade to COMPLIANCE at that date is an extension.
  const reported = (await s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: 'k', VersionId: v }))).Retention!;
  t.equal(await s3Code(s3.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: 'k', VersionId: v, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: reported.RetainUntilDate } }))), OK, 're-applying the reported GOVERNANCE date');
  t.equal(await s3Code(s3.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: 'k', VersionId: v, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: reported.RetainUntilDate } }))), OK, 'COMPLIANCE at the reported date');
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
  t.equal(await setRetention(bucket, 'switch', vs, 'COMPLIANCE', d2), OK, 'GOVERNANCE → COMPLIANCE with a later date, no bypass → ok');
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
});

// ---- 9. protection -------------------------------------------------------------------------------------

t.test('DeleteObject by version id: retention and legal hold protect; bypass only for GOVERNANCE; delete markers allowed', async (t) => {
  const bucket = await lockBucket('lkdel');
  const until = at(DAY);
  const vg = await put(bucket, 'gov', 'v1', retain('GOVERNANCE', until));
  t.equal(await del(bucket, 'gov', vg), DENIED, 'GOVERNANCE version → AccessDenied');
  t.equal(await readable(bucket, 'gov', vg), 'gov v1', 'still readable');
  t.equal(await del(bucket, 'gov', vg, true), OK, 'GOVERNANCE + BypassGovernanceRetention (root) → deleted');
  t.equal(await readable(bucket, 'gov', vg), 'NoSuchVersion/404', 'gone');

  const vc = await put(bucket, 'comp', 'v1', retain('COMPLIANCE', until));
  t.equal(await del(bucket, 'comp', vc), DENIED, 'COMPLIANCE version → AccessDenied');
  t.equal(await del(bucket, 'comp', vc, true), DENIED, 'COMPLIANCE + bypass → still AccessDenied');
  t.equal(await readable(bucket, 'comp', vc), 'comp v1', 'still readable');

  const vh = await put(bucket, 'held', 'v1', { ObjectLockLegalHoldStatus: 'ON' });
  t.equal(await del(bucket, 'held', vh), DENIED, 'legal hold ON → AccessDenied');
  t.equal(await del(bucket, 'held', vh, true), DENIED, 'legal hold ON + bypass → AccessDenied');
  t.equal(await readable(bucket, 'held', vh), 'held v1', 'still readable');
  t.equal(await setHold(bucket, 'held', 'OFF', vh), OK, 'legal hold OFF');
  t.equal(await del(bucket, 'held', vh), OK, 'then deletable');
  t.equal(await readable(bucket, 'held', vh), 'NoSuchVersion/404', 'gone');

  const vgh = await put(bucket, 'govheld', 'v1', retain('GOVERNANCE', until, 'ON'));
  t.equal(await del(bucket, 'govheld', vgh, true), DENIED, 'GOVERNANCE + legal hold ON + bypass → AccessDenied (the hold wins)');
  t.equal(await setHold(bucket, 'govheld', 'OFF', vgh), OK, 'legal hold OFF');
  t.equal(await del(bucket, 'govheld', vgh), DENIED, 'the retention still protects it');
  t.equal(await del(bucket, 'govheld', vgh, true), OK, 'bypass → deleted');

  const r = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'comp' }));
  t.equal(r.DeleteMarker, true, 'DeleteObject without VersionId of a locked key → a delete marker');
  t.match(r.VersionId, VID, "the marker's version id");
  t.equal(await readable(bucket, 'comp'), 'NoSuchKey/404', 'the key reads as deleted');
  t.equal(await readable(bucket, 'comp', vc), 'comp v1', 'the locked version is still readable by id');
  t.equal(await retentionOf(bucket, 'comp', vc), lock('COMPLIANCE', until), 'with its retention');
  t.equal(await del(bucket, 'comp', r.VersionId), OK, 'the delete marker itself can be removed by id');
  t.equal(await readable(bucket, 'comp'), 'comp v1', 'the locked version is current again');
});

t.test('a retention that has run out no longer protects the version', async (t) => {
  const bucket = await lockBucket('lkexp');
  const until = new Date(Date.now() + 3 * SEC);
  const vg = await put(bucket, 'gov', 'v1', retain('GOVERNANCE', until));
  const vc = await put(bucket, 'comp', 'v1', retain('COMPLIANCE', until));
  t.equal(await del(bucket, 'gov', vg), DENIED, 'GOVERNANCE, retain-until seconds ahead → AccessDenied');
  t.equal(await del(bucket, 'comp', vc), DENIED, 'COMPLIANCE, retain-until seconds ahead → AccessDenied');
  await sleep(until.getTime() - Date.now() + 1100);
  t.equal(await del(bucket, 'gov', vg), OK, 'GOVERNANCE after retain-until → deleted');
  t.equal(await del(bucket, 'comp', vc), OK, 'COMPLIANCE after retain-until → deleted');
  t.equal(await readable(bucket, 'comp', vc), 'NoSuchVersion/404', 'gone');
});

t.test('DeleteObjects with version ids: locked versions come back as AccessDenied errors, the others are deleted', async (t) => {
  const bucket = await lockBucket('lkmulti');
  const until = at(DAY);
  const ids = {
    gov: await put(bucket, 'gov', 'v1', retain('GOVERNANCE', until)),
    comp: await put(bucket, 'comp', 'v1', retain('COMPLIANCE', until)),
    held: await put(bucket, 'held', 'v1', { ObjectLockLegalHoldStatus: 'ON' }),
    free: await put(bucket, 'free', 'v1'),
  };
  const objects = (keys: Array<keyof typeof ids>) => keys.map((Key) => ({ Key, VersionId: ids[Key] }));
  const summary = (r: { Deleted?: Array<{ Key?: string; VersionId?: string }>; Errors?: Array<{ Key?: string; VersionId?: string; Code?: string }> }) => ({
    deleted: (r.Deleted ?? []).map((x) => `${x.Key}@${x.VersionId === ids[x.Key as keyof typeof ids] ? 'id' : x.VersionId}`).sort(),
    errors: (r.Errors ?? []).map((x) => `${x.Key}@${x.VersionId === ids[x.Key as keyof typeof ids] ? 'id' : x.VersionId} ${x.Code}`).sort(),
  });
  const r1 = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects(['gov', 'comp', 'held', 'free']) } }));
  t.same(summary(r1), { deleted: ['free@id'], errors: ['comp@id AccessDenied', 'gov@id AccessDenied', 'held@id AccessDenied'] }, 'the unlocked version deleted, the three locked ones AccessDenied');
  for (const k of ['gov', 'comp', 'held'] as const) t.equal(await readable(bucket, k, ids[k]), `${k} v1`, `${k} is still there`);
  t.equal(await readable(bucket, 'free', ids.free), 'NoSuchVersion/404', 'free is gone');

  const r2 = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, BypassGovernanceRetention: true, Delete: { Objects: objects(['gov', 'comp', 'held']) } }));
  t.same(summary(r2), { deleted: ['gov@id'], errors: ['comp@id AccessDenied', 'held@id AccessDenied'] }, 'with BypassGovernanceRetention: GOVERNANCE deleted, COMPLIANCE and the legal hold still AccessDenied');
  t.equal(await readable(bucket, 'gov', ids.gov), 'NoSuchVersion/404', 'gov is gone');

  const r3 = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'comp' }] } }));
  t.same(
    (r3.Deleted ?? []).map((x) => [x.Key, x.DeleteMarker]),
    [['comp', true]],
    'DeleteObjects without a version id of a locked key → a delete marker',
  );
  t.equal(await readable(bucket, 'comp', ids.comp), 'comp v1', 'the locked version stays');
});

// ---- 10. overwrite -----------------------------------------------------------------------------------

t.test('a PUT over a locked key creates a new version; the locked one stays', async (t) => {
  const bucket = await lockBucket('lkover');
  const until = at(DAY);
  const v1 = await put(bucket, 'k', 'v1', retain('COMPLIANCE', until));
  const v2 = await put(bucket, 'k', 'v2');
  t.ok(VID.test(v2) && v2 !== v1, `the overwrite got a new version id (${v2})`);
  t.equal(await readable(bucket, 'k'), 'k v2', 'GET returns the new version');
  t.equal(await readable(bucket, 'k', v1), 'k v1', 'the locked version is still readable by id');
  t.equal(await retentionOf(bucket, 'k', v1), lock('COMPLIANCE', until), 'and keeps its retention');
  t.equal(await retentionOf(bucket, 'k'), NO_LOCK_CONFIG, 'the new version has none');
  t.same(await versionsOf(bucket, 'k'), [v2, v1], 'both versions listed, newest first');
  t.equal(await del(bucket, 'k', v2), OK, 'the unlocked new version can be deleted by id');
  t.equal(await readable(bucket, 'k'), 'k v1', 'the locked version is current again');
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
  const done2 = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mpu-default', UploadId: up2.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part2.ETag }] } }));
  const r = await retainUntilMs(bucket, 'mpu-default', done2.VersionId);
  t.ok(r.mode === 'GOVERNANCE' && Math.abs(r.until - (before + DAY)) < 5 * MIN, `a multipart upload without headers gets the default retention (${r.mode} ${Number.isNaN(r.until) ? '' : isoS(new Date(r.until))})`);
  const c2 = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy-default', CopySource: `${src}/src` }));
  const rc = await retainUntilMs(bucket, 'copy-default', c2.VersionId);
  t.ok(rc.mode === 'GOVERNANCE' && Math.abs(rc.until - (before + DAY)) < 5 * MIN, `a copy without headers gets the default retention (${rc.mode} ${Number.isNaN(rc.until) ? '' : isoS(new Date(rc.until))})`);
});

// ---- 13. DeleteBucket ------------------------------------------------------------------------------

t.test('DeleteBucket of a lock-enabled bucket with locked versions → BucketNotEmpty', async (t) => {
  const bucket = await lockBucket('lkdb');
  const v = await put(bucket, 'k', 'v1', retain('GOVERNANCE', at(DAY)));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
  t.equal(await s3Code(s3.send(new DeleteBucketCommand({ Bucket: bucket }))), 'BucketNotEmpty/409', 'DeleteBucket → BucketNotEmpty');
  t.equal(await s3Code(s3.send(new HeadBucketCommand({ Bucket: bucket }))), OK, 'the bucket is still there');
  t.equal(await readable(bucket, 'k', v), 'k v1', 'with its version');
  const empty = await lockBucket('lkdbe');
  t.equal(await s3Code(s3.send(new DeleteBucketCommand({ Bucket: empty }))), OK, 'an empty lock-enabled bucket can be deleted');
});

// ---- 14 & 12. a restart, then lifecycle ------------------------------------------------------------------

t.test('the lock configuration, retention and legal holds survive a restart; lifecycle never removes locked versions', async (t) => {
  // Written by a daemon whose clock runs three days behind: after the restart every noncurrent
  // version here has been noncurrent for three days.
  const p = pastClient(past);
  const rb = await lockBucket('lkrsd', p);
  t.equal(await putLockConfig(rb, rule('GOVERNANCE', { Days: 40 }), p), OK, 'rule GOVERNANCE Days 40');
  const vd = await put(rb, 'k', 'v1', {}, p);
  const converted = await versionedBucket('lkrsv', p);
  t.equal(await putLockConfig(converted, undefined, p), OK, 'Object Lock enabled on a versioned bucket');

  const lb = await lockBucket('lkrsl', p);
  const until = at(30 * DAY, Date.now() + OFFSET_MS);
  const ids = {
    gov: await put(lb, 'gov', 'v1', retain('GOVERNANCE', until), p),
    comp: await put(lb, 'comp', 'v1', retain('COMPLIANCE', until), p),
    held: await put(lb, 'held', 'v1', { ObjectLockLegalHoldStatus: 'ON' }, p),
    free: await put(lb, 'free', 'v1', {}, p),
  };
  const current: Record<string, string> = {};
  for (const k of Object.keys(ids)) current[k] = await put(lb, k, 'v2', {}, p);

  const snapshot = async (c: S3Client): Promise<Record<string, string>> => ({
    rbConfig: await lockConfigOf(rb, c),
    convertedConfig: await lockConfigOf(converted, c),
    lbConfig: await lockConfigOf(lb, c),
    rbVersioning: await versioningOf(rb, c),
    defaultRetention: await retentionOf(rb, 'k', vd, c),
    gov: await retentionOf(lb, 'gov', ids.gov, c),
    comp: await retentionOf(lb, 'comp', ids.comp, c),
    govHead: await headLock(lb, 'gov', ids.gov, c),
    held: await holdOf(lb, 'held', ids.held, c),
    heldHead: await headLock(lb, 'held', ids.held, c),
    freeRetention: await retentionOf(lb, 'free', ids.free, c),
  });
  const before = await snapshot(p);
  t.same(
    { ...before, defaultRetention: before.defaultRetention?.split(' ')[0] },
    {
      rbConfig: 'Enabled GOVERNANCE days=40 years=-',
      convertedConfig: 'Enabled no-rule',
      lbConfig: 'Enabled no-rule',
      rbVersioning: 'Enabled',
      defaultRetention: 'GOVERNANCE',
      gov: lock('GOVERNANCE', until),
      comp: lock('COMPLIANCE', until),
      govHead: `GOVERNANCE ${isoS(until)} hold=-`,
      held: 'ON',
      heldHead: '- - hold=ON',
      freeRetention: NO_LOCK_CONFIG,
    },
    `before the restart: configurations, retention and legal holds as set (default retention ${before.defaultRetention})`,
  );

  t.equal(await past.stop(), 0, 'the first daemon stops cleanly');
  restarted = await startDaemon({ dataDir: past.dataDir, env: { S3_LIFECYCLE_SCAN_INTERVAL: '1s' } });
  const q = restarted.s3();
  t.same(await snapshot(q), before, 'after the restart: configurations, versioning, retention and legal holds are the same');
  t.equal(await del(lb, 'gov', ids.gov, false, q), DENIED, 'the GOVERNANCE version is still protected');
  t.equal(await del(lb, 'comp', ids.comp, true, q), DENIED, 'the COMPLIANCE version is still protected');
  t.equal(await del(lb, 'held', ids.held, true, q), DENIED, 'the held version is still protected');
  t.equal(await s3Code(q.send(new PutBucketVersioningCommand({ Bucket: converted, VersioningConfiguration: { Status: 'Suspended' } }))), 'InvalidBucketState/409', 'the converted bucket still refuses Suspended');
  const now = Date.now();
  const vNew = await put(rb, 'new', 'v1', {}, q);
  const rn = await retainUntilMs(rb, 'new', vNew, q);
  t.ok(rn.mode === 'GOVERNANCE' && Math.abs(rn.until - (now + 40 * DAY)) < 5 * MIN, `the default rule still applies to new PUTs (${rn.mode} ${Number.isNaN(rn.until) ? '' : isoS(new Date(rn.until))})`);

  // Lifecycle: noncurrent for three days, NoncurrentDays 1; and an Expiration date long past on exp/.
  const ve = await put(lb, 'exp/k', 'v1', retain('COMPLIANCE', at(DAY)), q);
  await q.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: lb,
      LifecycleConfiguration: {
        Rules: [
          { ID: 'noncurrent', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
          { ID: 'expire', Status: 'Enabled', Filter: { Prefix: 'exp/' }, Expiration: { Date: new Date('2020-01-01T00:00:00Z') } },
        ],
      },
    }),
  );
  const freeVersions = await pollUntil(() => versionsOf(lb, 'free', q), (v) => v.length === 1, 10_000, 250);
  t.same(freeVersions, [current.free], 'control: the scan removed the unlocked noncurrent version');
  await sleep(1500); // another scan
  for (const k of ['gov', 'comp', 'held'] as const) {
    t.same(await versionsOf(lb, k, q), [current[k], ids[k]], `the locked noncurrent version of ${k} is kept`);
  }
  t.equal(await readable(lb, 'gov', ids.gov, q), 'gov v1', 'and readable');
  const markers = async (): Promise<number> => ((await q.send(new ListObjectVersionsCommand({ Bucket: lb, Prefix: 'exp/' }))).DeleteMarkers ?? []).length;
  t.equal(await pollUntil(markers, (n) => n === 1, 5_000, 250), 1, 'Expiration on a locked current version: a delete marker on top');
  t.same(await versionsOf(lb, 'exp/k', q), [ve], 'the locked version stays');
  t.equal(await readable(lb, 'exp/k', ve, q), 'exp/k v1', 'readable by id');
});

// ---- 15. other clients ---------------------------------------------------------------------------

const pyEnv = pythonEnv(work);
const NO_BOTO3 = noBoto3(pyEnv);

const BOTO3_SCRIPT = `
import datetime, json, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
endpoint, key, secret, bucket, until = sys.argv[1:6]
until = datetime.datetime.fromisoformat(until.replace('Z', '+00:00'))
s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name='${REGION}', config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
out = {}
def iso(v):
    return v.isoformat() if hasattr(v, 'isoformat') else v
def attempt(name, fn):
    try:
        out[name] = {'ok': fn()}
    except ClientError as e:
        out[name] = {'code': e.response['Error']['Code'], 'status': e.response['ResponseMetadata']['HTTPStatusCode']}
attempt('put', lambda: s3.put_object(Bucket=bucket, Key='boto3.txt', Body=b'boto3 locked', ObjectLockMode='GOVERNANCE', ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus='OFF')['VersionId'])
vid = out['put'].get('ok', 'none')
attempt('retention', lambda: {k: iso(v) for k, v in s3.get_object_retention(Bucket=bucket, Key='boto3.txt', VersionId=vid)['Retention'].items()})
attempt('retention_latest', lambda: {k: iso(v) for k, v in s3.get_object_retention(Bucket=bucket, Key='boto3.txt')['Retention'].items()})
attempt('head', lambda: {k: iso(v) for k, v in s3.head_object(Bucket=bucket, Key='boto3.txt', VersionId=vid).items() if k.startswith('ObjectLock')})
attempt('delete', lambda: s3.delete_object(Bucket=bucket, Key='boto3.txt', VersionId=vid)['ResponseMetadata']['HTTPStatusCode'])
attempt('put_hold', lambda: s3.put_object_legal_hold(Bucket=bucket, Key='boto3.txt', VersionId=vid, LegalHold={'Status': 'ON'})['ResponseMetadata']['HTTPStatusCode'])
attempt('get_hold', lambda: s3.get_object_legal_hold(Bucket=bucket, Key='boto3.txt', VersionId=vid)['LegalHold']['Status'])
attempt('delete_bypass', lambda: s3.delete_object(Bucket=bucket, Key='boto3.txt', VersionId=vid, BypassGovernanceRetention=True)['ResponseMetadata']['HTTPStatusCode'])
attempt('lock_config', lambda: s3.get_object_lock_configuration(Bucket=bucket)['ObjectLockConfiguration'])
attempt('put_retention', lambda: s3.put_object_retention(Bucket=bucket, Key='boto3.txt', VersionId=vid, Retention={'Mode': 'COMPLIANCE', 'RetainUntilDate': until + datetime.timedelta(days=1)})['ResponseMetadata']['HTTPStatusCode'])
attempt('retention_after', lambda: {k: iso(v) for k, v in s3.get_object_retention(Bucket=bucket, Key='boto3.txt', VersionId=vid)['Retention'].items()})
print(json.dumps(out, default=str))
`;

t.test('boto3: put_object with lock parameters, get/put_object_retention, legal hold, protected deletes', { skip: NO_BOTO3 }, async (t) => {
  const bucket = await lockBucket('lkboto');
  await putLockConfig(bucket, rule('COMPLIANCE', { Days: 9 }));
  const until = at(2 * DAY);
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(PYTHON_BIN, ['-c', BOTO3_SCRIPT, d.endpoint, ACCESS_KEY, SECRET_KEY, bucket, until.toISOString()], { env: pyEnv, maxBuffer: 4 * 1024 * 1024 }, (err, out, errOut) => {
      if (err) reject(new Error(`boto3 script failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  type R = { ok?: unknown; code?: string; status?: number };
  const r = JSON.parse(stdout) as Record<string, R>;
  const vid = r.put?.ok as string | undefined;
  t.match(vid, VID, `put_object with ObjectLockMode/RetainUntilDate → a version id (${JSON.stringify(r.put)})`);
  const ret = (x: R | undefined): string => {
    const o = x?.ok as { Mode?: string; RetainUntilDate?: string } | undefined;
    return o ? `${o.Mode} ${isoS(o.RetainUntilDate)}` : `${x?.code}/${x?.status}`;
  };
  t.equal(ret(r.retention), lock('GOVERNANCE', until), 'get_object_retention with VersionId: the explicit GOVERNANCE retention (not the COMPLIANCE default)');
  t.equal(ret(r.retention_latest), lock('GOVERNANCE', until), 'get_object_retention without VersionId');
  const head = (r.head?.ok ?? {}) as Record<string, string>;
  t.equal(`${head.ObjectLockMode} ${isoS(head.ObjectLockRetainUntilDate)}`, lock('GOVERNANCE', until), `head_object shows the lock (${JSON.stringify(r.head)})`);
  t.same(r.delete, { code: 'AccessDenied', status: 403 }, 'delete_object of the version → AccessDenied');
  t.same(r.put_hold, { ok: 200 }, 'put_object_legal_hold ON');
  t.same(r.get_hold, { ok: 'ON' }, 'get_object_legal_hold → ON');
  t.same(r.delete_bypass, { code: 'AccessDenied', status: 403 }, 'delete_object with BypassGovernanceRetention while held → AccessDenied');
  t.same(r.lock_config, { ok: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 9 } } } }, 'get_object_lock_configuration');
  t.same(r.put_retention, { ok: 200 }, 'put_object_retention GOVERNANCE → COMPLIANCE, a day later');
  t.equal(ret(r.retention_after), lock('COMPLIANCE', new Date(until.getTime() + DAY)), 'read back');
  t.equal(await readable(bucket, 'boto3.txt', vid), 'boto3 locked', 'the version is still there');
});

t.test('the aws CLI: create-bucket --object-lock-enabled-for-bucket, object lock configuration, legal hold', { skip: NO_AWS }, async (t) => {
  const home = join(work, 'aws-home');
  mkdirSync(home, { recursive: true });
  const cli = awsCli(d.endpoint, home, { pathStyle: true });
  const bucket = bucketName('lkcli');
  const mb = await cli.run('s3api', 'create-bucket', '--bucket', bucket, '--object-lock-enabled-for-bucket');
  t.equal(mb.code, 0, `s3api create-bucket --object-lock-enabled-for-bucket (${mb.stderr.trim()})`);
  t.equal(await lockConfigOf(bucket), 'Enabled no-rule', 'the bucket has Object Lock');
  const put0 = await cli.run('s3api', 'put-object-lock-configuration', '--bucket', bucket, '--object-lock-configuration', JSON.stringify({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 3 } } }));
  t.equal(put0.code, 0, `s3api put-object-lock-configuration (${put0.stderr.trim()})`);
  const v = await put(bucket, 'k', 'v1');
  // Independent of each other: run side by side (each CLI start costs most of a second).
  const [get1, hold] = await Promise.all([
    cli.run('s3api', 'get-object-lock-configuration', '--bucket', bucket, '--output', 'json'),
    cli.run('s3api', 'put-object-legal-hold', '--bucket', bucket, '--key', 'k', '--version-id', v, '--legal-hold', 'Status=ON'),
  ]);
  t.same(get1.code === 0 ? JSON.parse(get1.stdout) : get1.stderr, { ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 3 } } } }, 's3api get-object-lock-configuration: the rule put by the CLI');
  t.equal(hold.code, 0, `s3api put-object-legal-hold Status=ON (${hold.stderr.trim()})`);
  t.equal(await holdOf(bucket, 'k', v), 'ON', 'the SDK reads ON');
  t.match(await retentionOf(bucket, 'k', v), /^GOVERNANCE /, 'and the default GOVERNANCE retention');
  const rmv = await cli.run('s3api', 'delete-object', '--bucket', bucket, '--key', 'k', '--version-id', v, '--bypass-governance-retention');
  t.not(rmv.code, 0, 's3api delete-object --version-id --bypass-governance-retention of the held version fails');
  t.match(rmv.stderr, /AccessDenied/, 'AccessDenied');
  t.equal(await setHold(bucket, 'k', 'OFF', v), OK, 'legal hold OFF');
  t.equal(await del(bucket, 'k', v, true), OK, 'then the version can be deleted with bypass');
});

t.test('minio-js: makeBucket with ObjectLocking, get/setObjectLockConfig, retention and legal hold', async (t) => {
  const mc = minioClient(d);
  type LockInfo = { objectLockEnabled?: string; mode?: string; unit?: string; validity?: number | string };
  const lockInfo = (b: string): Promise<LockInfo> => mc.getObjectLockConfig(b) as unknown as Promise<LockInfo>;
  const bucket = bucketName('lkmc');
  await mc.makeBucket(bucket, REGION, { ObjectLocking: true });
  t.same(await lockInfo(bucket), { objectLockEnabled: 'Enabled' }, 'getObjectLockConfig: Enabled, no rule');
  await mc.setObjectLockConfig(bucket, { mode: 'COMPLIANCE', unit: 'Days', validity: 5 });
  const cfg = await lockInfo(bucket);
  t.same({ ...cfg, validity: Number(cfg.validity) }, { objectLockEnabled: 'Enabled', mode: 'COMPLIANCE', unit: 'Days', validity: 5 }, 'setObjectLockConfig COMPLIANCE 5 Days, read back');
  const before = Date.now();
  const o1 = await mc.putObject(bucket, 'default.txt', Buffer.from('minio default'));
  const r1 = await mc.getObjectRetention(bucket, 'default.txt', { versionId: o1.versionId ?? '' });
  t.equal(r1?.mode, 'COMPLIANCE', 'putObject gets the default COMPLIANCE retention');
  t.ok(Math.abs(new Date(r1?.retainUntilDate ?? NaN).getTime() - (before + 5 * DAY)) < 5 * MIN, `retain-until ≈ now + 5 days (${r1?.retainUntilDate})`);

  await mc.setObjectLockConfig(bucket, {} as never);
  t.same(await lockInfo(bucket), { objectLockEnabled: 'Enabled' }, 'setObjectLockConfig {} removes the rule');
  const o2 = await mc.putObject(bucket, 'k.txt', Buffer.from('minio k'));
  const versionId = o2.versionId ?? '';
  t.match(versionId, VID, 'putObject → a version id');
  const until = at(DAY);
  await mc.putObjectRetention(bucket, 'k.txt', { versionId, mode: 'GOVERNANCE', retainUntilDate: until.toISOString() });
  const r2 = await mc.getObjectRetention(bucket, 'k.txt', { versionId });
  t.equal(`${r2?.mode} ${isoS(r2?.retainUntilDate)}`, lock('GOVERNANCE', until), 'putObjectRetention / getObjectRetention');
  await (mc.setObjectLegalHold(bucket, 'k.txt', { versionId, status: 'ON' }) as unknown as Promise<void>);
  const h = (await mc.getObjectLegalHold(bucket, 'k.txt', { versionId })) as unknown as { Status?: string } | string;
  t.equal(typeof h === 'string' ? h : h?.Status, 'ON', 'setObjectLegalHold / getObjectLegalHold ON');
  const denied = await mc.removeObject(bucket, 'k.txt', { versionId, governanceBypass: true }).then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? String(e),
  );
  t.equal(denied, 'AccessDenied', 'removeObject of the held version with governanceBypass → AccessDenied');
  await (mc.setObjectLegalHold(bucket, 'k.txt', { versionId, status: 'OFF' }) as unknown as Promise<void>);
  const plainRemove = await mc.removeObject(bucket, 'k.txt', { versionId }).then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? String(e),
  );
  t.equal(plainRemove, 'AccessDenied', 'removeObject without governanceBypass (GOVERNANCE retention) → AccessDenied');
  await mc.removeObject(bucket, 'k.txt', { versionId, governanceBypass: true });
  t.equal(await readable(bucket, 'k.txt', versionId), 'NoSuchVersion/404', 'removeObject with governanceBypass deletes it');
});
