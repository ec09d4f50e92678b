// Bucket lifecycle on versioned buckets against the real daemon, with the AWS SDK. Versions are
// made old by writing them with a daemon whose clock runs three days behind (a preload module that
// shifts Date, loaded through NODE_OPTIONS; the SDK client signs with the same offset), then
// restarting the daemon on the same data dir with the real clock, scanning every second
// (S3_LIFECYCLE_SCAN_INTERVAL=1s). Checked with ListObjectVersions: NoncurrentVersionExpiration
// removes noncurrent versions and delete markers once NoncurrentDays have passed since their
// successor was written (not since their own write), keeps the newest NewerNoncurrentVersions
// (counting only the versions the rule's filter selects and the pass keeps),
// selects by prefix and by each version's own tags, spares Disabled rules and keys no rule selects,
// works in a Suspended bucket, and frees the data files; ExpiredObjectDeleteMarker removes a lone
// latest delete marker (and not one over a version), and so does Expiration Days once the marker is
// that old; Expiration Date on a versioned bucket puts one
// delete marker on the current version and none on a key already deleted, at every later scan;
// Expiration Days in a Suspended bucket puts a null delete marker in place of the null version (a
// version with an id stays under it), and in an unversioned bucket deletes by Days from
// Last-Modified under prefix, tag and size filters; AbortIncompleteMultipartUpload aborts the
// uploads begun DaysAfterInitiation before (the stale-upload sweep is off after the restart).
// GetBucketLifecycleConfiguration gives NoncurrentVersionExpiration back as given; transitions and
// out-of-range values are refused.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { shiftedClient, shiftedClockEnv } from '../helpers/clock.js';
import { countFiles, waitForFileCounts } from '../helpers/files.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { createBucket, expectS3Error } from '../helpers/s3.js';
import { pollUntil, sleep } from '../helpers/wait.js';

const DAY_MS = 86_400_000;
/** The first daemon's clock runs this far behind: what it writes is three days old afterwards. */
const OFFSET_MS = -3 * DAY_MS;
const PAST = new Date('2020-01-01T00:00:00Z');
/** Big enough to be a data file of its own (not inline in LMDB). */
const BIG = testBytes(300 * 1024, 5);

const pastClient = (daemon: TestDaemon): S3Client => shiftedClient(daemon, OFFSET_MS);

const work = mkdtempSync(join(tmpdir(), 's3d-lifecycle-versions-'));
let d: TestDaemon = await startDaemon({ env: { ...shiftedClockEnv(work, OFFSET_MS), S3_LIFECYCLE_SCAN_INTERVAL: '1h' } });
let s3: S3Client = pastClient(d);
t.teardown(async () => {
  await d.stop();
  d.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** Labels of the versions and markers this test made, by version id (ids are unique per daemon). */
const made = new Map<string, { label: string; seq: number }>();
let seq = 0;

async function enable(bucket: string, Status: 'Enabled' | 'Suspended' = 'Enabled'): Promise<void> {
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }));
}

async function put(bucket: string, key: string, label: string, opts: { body?: Buffer; tagging?: string } = {}): Promise<string> {
  const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: opts.body ?? `${key} ${label}`, ...(opts.tagging ? { Tagging: opts.tagging } : {}) }));
  made.set(r.VersionId!, { label, seq: ++seq });
  return r.VersionId!;
}

/** A delete without a version id: a delete marker, labelled `label`. */
async function del(bucket: string, key: string, label: string): Promise<string> {
  const r = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  if (r.DeleteMarker !== true || r.VersionId === undefined) throw new Error(`no delete marker for ${key}`);
  made.set(r.VersionId, { label, seq: ++seq });
  return r.VersionId;
}

/**
 * Every key's versions and markers by label, newest first (the order they were made), the latest
 * marked with `*`; an entry this test did not make shows as `?<version id>`.
 */
async function state(bucket: string): Promise<Record<string, string[]>> {
  const all: Array<{ key: string; id: string; latest: boolean }> = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker, VersionIdMarker }));
    for (const v of [...(r.Versions ?? []), ...(r.DeleteMarkers ?? [])]) all.push({ key: v.Key!, id: v.VersionId!, latest: v.IsLatest === true });
    if (!r.IsTruncated) break;
    KeyMarker = r.NextKeyMarker;
    VersionIdMarker = r.NextVersionIdMarker;
  }
  const out: Record<string, string[]> = {};
  const order = (id: string): number => made.get(id)?.seq ?? Infinity;
  all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : order(b.id) - order(a.id)));
  for (const v of all) (out[v.key] ??= []).push(`${made.get(v.id)?.label ?? `?${v.id}`}${v.latest ? '*' : ''}`);
  return out;
}

async function putRules(bucket: string, Rules: LifecycleRule[]): Promise<void> {
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules } }));
}

const nc = (ID: string, Prefix: string, NoncurrentDays: number, extra: Partial<LifecycleRule> = {}): LifecycleRule => ({
  ID,
  Status: 'Enabled',
  Filter: { Prefix },
  NoncurrentVersionExpiration: { NoncurrentDays },
  ...extra,
});

// ---- written three days ago (by the daemon's clock) -------------------------------------------

/** Written in the past: a versioned bucket, and one whose versioning is later Suspended. */
let old = '';
let suspended = '';
/** Written in the past: a Suspended bucket and an unversioned one, for Expiration Days. */
let suspendedExp = '';
let plain = '';
/** Multipart uploads begun in the past in `plain`, by key. */
const uploads = new Map<string, string>();

t.test('the first daemon writes three days in the past', async (t) => {
  old = await createBucket(s3, 'lcv');
  await enable(old);
  suspended = await createBucket(s3, 'lcs');
  await enable(suspended);
  await put(old, 'plain/k', 'v1', { body: BIG });
  const head = await s3.send(new HeadObjectCommand({ Bucket: old, Key: 'plain/k' }));
  const age = Date.now() - head.LastModified!.getTime();
  t.ok(age > -OFFSET_MS - 60_000 && age < -OFFSET_MS + 60_000, `Last-Modified is three days back (${age} ms)`);
  t.equal(head.VersionId, [...made.keys()][0], 'versioning is on');

  await put(old, 'plain/k', 'v2');
  await put(old, 'plain/k', 'v3');
  for (let i = 1; i <= 5; i++) await put(old, 'keep/k', `v${i}`);
  await put(old, 'fresh/k', 'v1');
  await put(old, 'fresh/k', 'v2');
  await put(old, 'long/k', 'v1');
  await put(old, 'long/k', 'v2');
  await put(old, 'tagged/k', 'v1', { tagging: 'class=tmp' });
  await put(old, 'tagged/k', 'v2', { tagging: 'class=keep' });
  await put(old, 'tagged/k', 'v3');
  // NewerNoncurrentVersions under a tag filter counts only the versions the filter selects:
  // v3 and v4 (untagged) are not among the one tagged version kept.
  await put(old, 'tagkeep/k', 'v1', { tagging: 'class=tmp' });
  await put(old, 'tagkeep/k', 'v2', { tagging: 'class=tmp' });
  await put(old, 'tagkeep/k', 'v3');
  await put(old, 'tagkeep/k', 'v4');
  await put(old, 'tagkeep/k', 'v5');
  // ...and only those the pass keeps: v3, removed by another rule, is not one of the two kept.
  await put(old, 'twokeep/k', 'v1');
  await put(old, 'twokeep/k', 'v2');
  await put(old, 'twokeep/k', 'v3', { tagging: 'class=tmp' });
  await put(old, 'twokeep/k', 'v4');
  await put(old, 'dm/k', 'v1');
  await del(old, 'dm/k', 'DM');
  await put(old, 'dmkeep/k', 'v1');
  await del(old, 'dmkeep/k', 'DM');
  const lone = await put(old, 'dmdays/k', 'v1');
  await del(old, 'dmdays/k', 'DM');
  await s3.send(new DeleteObjectCommand({ Bucket: old, Key: 'dmdays/k', VersionId: lone }));
  await put(old, 'nm/k', 'v1');
  await del(old, 'nm/k', 'DM');
  await put(old, 'nm/k', 'v2');
  await put(old, 'off/k', 'v1');
  await put(old, 'off/k', 'v2');
  await put(old, 'other/k', 'v1');
  await put(old, 'other/k', 'v2');
  await put(suspended, 'k', 'v1');
  await put(suspended, 'k', 'v2');
  await enable(suspended, 'Suspended');
  await s3.send(new PutObjectCommand({ Bucket: suspended, Key: 'k', Body: 'null version' }));
  made.set('null', { label: 'null', seq: ++seq });
  t.same((await state(old))['nm/k'], ['v2*', 'DM', 'v1'], 'a marker between two versions');

  suspendedExp = await createBucket(s3, 'lcx');
  await enable(suspendedExp);
  await put(suspendedExp, 'versioned', 'v1');
  await put(suspendedExp, 'both', 'v1');
  await enable(suspendedExp, 'Suspended');
  await s3.send(new PutObjectCommand({ Bucket: suspendedExp, Key: 'null', Body: 'null version' }));
  await s3.send(new PutObjectCommand({ Bucket: suspendedExp, Key: 'both', Body: 'null version' }));
  plain = await createBucket(s3, 'lcu');
  for (const key of ['d2/a', 'd4/a', 'tg/untagged', 'sz/small']) await s3.send(new PutObjectCommand({ Bucket: plain, Key: key, Body: 'x' }));
  await s3.send(new PutObjectCommand({ Bucket: plain, Key: 'tg/tagged', Body: 'x', Tagging: 'class=tmp' }));
  await s3.send(new PutObjectCommand({ Bucket: plain, Key: 'sz/big', Body: testBytes(2000, 6) }));
  for (const key of ['up/a', 'late/a', 'other/a']) uploads.set(key, (await s3.send(new CreateMultipartUploadCommand({ Bucket: plain, Key: key }))).UploadId!);
  await s3.send(new UploadPartCommand({ Bucket: plain, Key: 'up/a', UploadId: uploads.get('up/a'), PartNumber: 1, Body: 'part' }));
});

// ---- the same data dir with the real clock, scanning every second -----------------------------

t.test('noncurrent versions and markers expire NoncurrentDays after their successor was written', async (t) => {
  const dataDir = d.dataDir;
  t.equal(await d.stop(), 0, 'the first daemon stops cleanly');
  // Uploads three days old are left to lifecycle, not to the stale-upload sweep (24 h by default).
  d = await startDaemon({ dataDir, env: { S3_LIFECYCLE_SCAN_INTERVAL: '1s', S3_API_STALE_UPLOADS_EXPIRY: 'off' } });
  s3 = d.s3();
  // fresh/k's v2 becomes noncurrent now: its successor is written by the present clock.
  await put(old, 'fresh/k', 'v3');
  const head = await s3.send(new HeadObjectCommand({ Bucket: old, Key: 'fresh/k' }));
  t.ok(Math.abs(Date.now() - head.LastModified!.getTime()) < 60_000, 'the second daemon writes at the present');
  // A lone marker written now, under the Expiration Days rule below: too young to go.
  const young = await put(old, 'dmdays/young', 'v1');
  await del(old, 'dmdays/young', 'DM');
  await s3.send(new DeleteObjectCommand({ Bucket: old, Key: 'dmdays/young', VersionId: young }));
  const before = await state(old);
  t.same(before['plain/k'], ['v3*', 'v2', 'v1'], 'before the rules every version is there');
  const filesBefore = countFiles(d.dataDir).data;

  await putRules(old, [
    nc('plain', 'plain/', 1),
    nc('keep', 'keep/', 1, { NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 2 } }),
    nc('fresh', 'fresh/', 1),
    nc('long', 'long/', 30),
    { ID: 'tagged', Status: 'Enabled', Filter: { And: { Prefix: 'tagged/', Tags: [{ Key: 'class', Value: 'tmp' }] } }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
    { ID: 'tagkeep', Status: 'Enabled', Filter: { And: { Prefix: 'tagkeep/', Tags: [{ Key: 'class', Value: 'tmp' }] } }, NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 1 } },
    nc('twokeep', 'twokeep/', 1, { NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 2 } }),
    { ID: 'twokeep-tmp', Status: 'Enabled', Filter: { And: { Prefix: 'twokeep/', Tags: [{ Key: 'class', Value: 'tmp' }] } }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
    nc('dm', 'dm/', 1, { Expiration: { ExpiredObjectDeleteMarker: true } }),
    nc('dmkeep', 'dmkeep/', 1),
    // S3 removes a lone delete marker under Expiration Days once the marker is that old, without
    // ExpiredObjectDeleteMarker (which cannot be given beside Days).
    { ID: 'dmdays', Status: 'Enabled', Filter: { Prefix: 'dmdays/' }, Expiration: { Days: 2 } },
    nc('nm', 'nm/', 1),
    nc('off', 'off/', 1, { Status: 'Disabled' }),
  ]);
  await putRules(suspended, [nc('all', '', 1)]);

  const want: Record<string, string[]> = {
    'plain/k': ['v3*'],
    'keep/k': ['v5*', 'v4', 'v3'],
    'fresh/k': ['v3*', 'v2'],
    'long/k': ['v2*', 'v1'],
    'tagged/k': ['v3*', 'v2'],
    'tagkeep/k': ['v5*', 'v4', 'v3', 'v2'],
    'twokeep/k': ['v4*', 'v2', 'v1'],
    'dmkeep/k': ['DM*'],
    'dmdays/young': ['DM*'],
    'nm/k': ['v2*'],
    'off/k': ['v2*', 'v1'],
    'other/k': ['v2*', 'v1'],
  };
  const got = await pollUntil(() => state(old), (s) => JSON.stringify(s) === JSON.stringify(want), 10_000, 250);
  t.same(got, want, 'exactly the versions and markers past NoncurrentDays are removed (dm/k entirely: its version, then its lone marker), and the three-day-old lone marker under Expiration Days 2 (dmdays/k), not the young one');
  t.same(
    await pollUntil(() => state(suspended), (s) => JSON.stringify(s) === JSON.stringify({ k: ['null*'] }), 10_000, 250),
    { k: ['null*'] },
    'in a Suspended bucket the noncurrent versions go and the null version stays',
  );
  const files = await waitForFileCounts(d.dataDir, (c) => c.data === filesBefore - 1, 15_000);
  t.equal(files.data, filesBefore - 1, "the removed version's data file leaves the disk");

  await sleep(2500);
  t.same(await state(old), want, 'later scans remove nothing more');
  const removed = metricSample(await scrape(d.endpoint), 's3d_lifecycle_removed_versions_total');
  t.ok(removed !== undefined && removed >= 10, `s3d_lifecycle_removed_versions_total counts the removals (${removed})`);
});

// Expiration Days on objects written three days ago. S3: "In a versioning-suspended bucket, the
// expiration action causes Amazon S3 to create a delete marker with null as the version ID. This
// delete marker replaces any object version with a null version ID": the null version goes, a
// version with an id of its own stays under the marker. Unversioned, Days counts from
// Last-Modified (2 days: due; 4: a day away at the least, whatever the hour), by prefix, tag and size.
t.test('Expiration Days: a null delete marker replaces the null version in a Suspended bucket; Days, tag and size filters unversioned; old uploads aborted', async (t) => {
  await putRules(suspendedExp, [{ ID: 'day', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }]);
  await putRules(plain, [
    { ID: 'd2', Status: 'Enabled', Filter: { Prefix: 'd2/' }, Expiration: { Days: 2 } },
    { ID: 'd4', Status: 'Enabled', Filter: { Prefix: 'd4/' }, Expiration: { Days: 4 } },
    { ID: 'tg', Status: 'Enabled', Filter: { And: { Prefix: 'tg/', Tags: [{ Key: 'class', Value: 'tmp' }] } }, Expiration: { Days: 2 } },
    { ID: 'sz', Status: 'Enabled', Filter: { And: { Prefix: 'sz/', ObjectSizeGreaterThan: 1000 } }, Expiration: { Days: 2 } },
    { ID: 'up', Status: 'Enabled', Filter: { Prefix: 'up/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
    { ID: 'late', Status: 'Enabled', Filter: { Prefix: 'late/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 4 } },
  ]);
  /** Per key, newest first: `marker` or `version`, `null` or the label put() gave it, `*` latest. */
  const entries = async (): Promise<Record<string, string[]>> => {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: suspendedExp }));
    const all = [...(r.Versions ?? []).map((v) => ({ ...v, marker: false })), ...(r.DeleteMarkers ?? []).map((v) => ({ ...v, marker: true }))];
    all.sort((a, b) => (a.Key! < b.Key! ? -1 : a.Key! > b.Key! ? 1 : b.LastModified!.getTime() - a.LastModified!.getTime()));
    const out: Record<string, string[]> = {};
    for (const v of all) (out[v.Key!] ??= []).push(`${v.marker ? 'marker' : 'version'} ${v.VersionId === 'null' ? 'null' : (made.get(v.VersionId!)?.label ?? '?')}${v.IsLatest ? '*' : ''}`);
    return out;
  };
  const want = { both: ['marker null*', 'version v1'], null: ['marker null*'], versioned: ['marker null*', 'version v1'] };
  t.same(await pollUntil(entries, (s) => JSON.stringify(s) === JSON.stringify(want), 10_000, 250), want, 'Suspended: each current object under a null delete marker, the null versions gone, the versions with ids kept');
  const keys = async (): Promise<string[]> => ((await s3.send(new ListObjectsV2Command({ Bucket: plain }))).Contents ?? []).map((c) => c.Key!);
  const left = ['d4/a', 'sz/small', 'tg/untagged'];
  t.same(await pollUntil(keys, (ks) => JSON.stringify(ks) === JSON.stringify(left), 10_000, 250), left, 'unversioned: the objects two days past Last-Modified that the filters select are deleted, no other');
  const open = async (): Promise<string[]> => ((await s3.send(new ListMultipartUploadsCommand({ Bucket: plain }))).Uploads ?? []).map((u) => u.Key!);
  t.same(await pollUntil(open, (ks) => JSON.stringify(ks) === JSON.stringify(['late/a', 'other/a']), 10_000, 250), ['late/a', 'other/a'], 'AbortIncompleteMultipartUpload: the upload begun two days before and more is aborted, not a younger one or one no rule selects');
  await expectS3Error(t, s3.send(new UploadPartCommand({ Bucket: plain, Key: 'up/a', UploadId: uploads.get('up/a'), PartNumber: 2, Body: 'more' })), 'NoSuchUpload', 404, 'a part for the aborted upload');
  await sleep(1500);
  t.same(await entries(), want, 'later scans add no second marker');
});

t.test('ExpiredObjectDeleteMarker and Expiration on a versioned bucket', async (t) => {
  const bucket = await createBucket(s3, 'lce');
  await enable(bucket);
  const v = await put(bucket, 'lone/a', 'v1');
  await del(bucket, 'lone/a', 'DM');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'lone/a', VersionId: v }));
  await put(bucket, 'lone/b', 'v1');
  await del(bucket, 'lone/b', 'DM');
  await put(bucket, 'lone/c', 'v1');
  const expA = await put(bucket, 'exp/a', 'v1');
  await put(bucket, 'exp/b', 'v1');
  await del(bucket, 'exp/b', 'DM');
  await put(bucket, 'keep/a', 'v1');
  t.same((await state(bucket))['lone/a'], ['DM*'], 'lone/a: only a marker is left');

  await putRules(bucket, [
    { ID: 'markers', Status: 'Enabled', Filter: { Prefix: 'lone/' }, Expiration: { ExpiredObjectDeleteMarker: true } },
    { ID: 'expire', Status: 'Enabled', Filter: { Prefix: 'exp/' }, Expiration: { Date: PAST } },
  ]);
  const settled = (s: Record<string, string[]>): boolean => s['lone/a'] === undefined && s['exp/a']?.length === 2;
  const got = await pollUntil(() => state(bucket), settled, 10_000, 250);
  const markerOnA = got['exp/a']?.[0] ?? '';
  t.match(markerOnA, /^\?.+\*$/, 'exp/a: a new delete marker is the latest version');
  t.same(got, { 'exp/a': [markerOnA, 'v1'], 'exp/b': ['DM*', 'v1'], 'keep/a': ['v1*'], 'lone/b': ['DM*', 'v1'], 'lone/c': ['v1*'] }, 'the lone marker is gone, a marker over a version stays, exp/b has no second marker');
  const noncurrent = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'exp/a', VersionId: expA }));
  t.equal(noncurrent.Expiration, undefined, 'HEAD of the now noncurrent exp/a by id: no x-amz-expiration from the Expiration rule (it acts on current versions)');
  await sleep(2500);
  t.same(await state(bucket), got, 'later scans add no marker and remove nothing');
});

t.test('NoncurrentVersionExpiration reads back as given; transitions and bad values are refused', async (t) => {
  const bucket = await createBucket(s3, 'lcg');
  const rules: LifecycleRule[] = [
    nc('with-newer', 'a/', 7, { NoncurrentVersionExpiration: { NoncurrentDays: 7, NewerNoncurrentVersions: 3 } }),
    nc('days-only', 'b/', 30),
    { ID: 'both', Status: 'Enabled', Filter: { Prefix: 'c/' }, Expiration: { ExpiredObjectDeleteMarker: true }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
  ];
  await putRules(bucket, rules);
  const got = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  t.same(
    got.map((r) => [r.ID, r.NoncurrentVersionExpiration]),
    [
      ['with-newer', { NoncurrentDays: 7, NewerNoncurrentVersions: 3 }],
      ['days-only', { NoncurrentDays: 30 }],
      ['both', { NoncurrentDays: 1 }],
    ],
    'NoncurrentDays and NewerNoncurrentVersions read back',
  );
  t.same(got[2]!.Expiration, { ExpiredObjectDeleteMarker: true }, 'next to ExpiredObjectDeleteMarker');

  const refused: Array<[string, LifecycleRule, string, number]> = [
    ['a NoncurrentVersionTransition', nc('t', '', 1, { NoncurrentVersionTransitions: [{ NoncurrentDays: 1, StorageClass: 'GLACIER' }] }), 'NotImplemented', 501],
    ['a Transition', { ID: 't', Status: 'Enabled', Filter: { Prefix: '' }, Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] }, 'NotImplemented', 501],
    ['NoncurrentDays 0', nc('z', '', 0), 'InvalidArgument', 400],
    ['NewerNoncurrentVersions 101', nc('n', '', 1, { NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 101 } }), 'InvalidArgument', 400],
    ['ExpiredObjectDeleteMarker with a tag filter', { ID: 'e', Status: 'Enabled', Filter: { Tag: { Key: 'k', Value: 'v' } }, Expiration: { ExpiredObjectDeleteMarker: true } }, 'InvalidRequest', 400],
  ];
  for (const [what, rule, code, status] of refused) {
    await expectS3Error(t, s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [rule] } })), code, status, what);
  }
  t.same((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules, got, 'the refusals changed nothing');
});
