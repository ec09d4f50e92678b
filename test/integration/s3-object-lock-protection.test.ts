// S3 Object Lock against the built daemon, written from S3's documented semantics, what the locks
// protect: versions against DeleteObject and DeleteObjects by version id (bypass, legal hold
// winning over bypass, delete markers still allowed, retention that ran out), overwrites,
// DeleteBucket with locked versions, the bucket configuration, retention and legal holds
// surviving a restart, lifecycle sparing locked versions (NoncurrentVersionExpiration removes only
// unlocked ones; Expiration puts a marker over a locked current version; the versions are written
// by a daemon whose clock runs three days behind, as in s3-lifecycle-versions.test.ts), and the
// same features through boto3, the aws CLI and minio-js (boto3 and the CLI skipped when missing).
// How locks are set (and users' permissions for them): s3-object-lock-settings.test.ts.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { awsCli, NO_AWS } from '../helpers/aws-cli.js';
import { minioClient } from '../helpers/minio.js';
import { s3Code } from '../helpers/s3.js';
import { pollUntil, sleep } from '../helpers/wait.js';
import { shiftedClient, shiftedClockEnv } from '../helpers/clock.js';
import { PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';
import { at, DAY, DENIED, isoS, lock, lockHelpers, MIN, NO_LOCK_CONFIG, OK, retain, rule, SEC, VID } from '../helpers/object-lock.js';

const work = mkdtempSync(join(tmpdir(), 's3d-object-lock-'));

// ---- a daemon whose clock runs three days behind (restart and lifecycle) -------------------------

const OFFSET_MS = -3 * DAY;
const [d, past] = await Promise.all([
  startDaemon(),
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
const pastClient = (daemon: TestDaemon): S3Client => shiftedClient(daemon, OFFSET_MS);
const { lockBucket, versionedBucket, put, retentionOf, retainUntilMs, holdOf, setHold, headLock, readable, del, lockConfigOf, putLockConfig, versioningOf, versionsOf } = lockHelpers(s3);

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
attempt('put_retention_plain', lambda: s3.put_object_retention(Bucket=bucket, Key='boto3.txt', VersionId=vid, Retention={'Mode': 'COMPLIANCE', 'RetainUntilDate': until + datetime.timedelta(days=1)})['ResponseMetadata']['HTTPStatusCode'])
attempt('retention_between', lambda: {k: iso(v) for k, v in s3.get_object_retention(Bucket=bucket, Key='boto3.txt', VersionId=vid)['Retention'].items()})
attempt('put_retention', lambda: s3.put_object_retention(Bucket=bucket, Key='boto3.txt', VersionId=vid, BypassGovernanceRetention=True, Retention={'Mode': 'COMPLIANCE', 'RetainUntilDate': until + datetime.timedelta(days=1)})['ResponseMetadata']['HTTPStatusCode'])
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
  t.same(r.put_retention_plain, { code: 'AccessDenied', status: 403 }, 'put_object_retention GOVERNANCE → COMPLIANCE without BypassGovernanceRetention → AccessDenied (it alters a governance lock)');
  t.equal(ret(r.retention_between), lock('GOVERNANCE', until), '… and the retention is unchanged');
  t.same(r.put_retention, { ok: 200 }, 'put_object_retention GOVERNANCE → COMPLIANCE, a day later, with BypassGovernanceRetention');
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
  // Independent of each other: run side by side (each CLI command takes a while).
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
