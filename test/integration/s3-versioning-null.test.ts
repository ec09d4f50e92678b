// The `null` version against the built daemon, with the AWS SDK: through Enabled → Suspended →
// Enabled histories every operation that names versionId=null (GET, HEAD, DELETE, DeleteObjects,
// Get/PutObjectTagging, CopyObject's source) finds the version S3 would, a Suspended write or
// delete replaces it, removing it promotes the next version, and all of it survives a restart; a
// lifecycle rule removes a noncurrent null version. On a key with 5,000 versions (written straight
// into the store) those operations, a Suspended overwrite and ListObjectVersions pages read a few
// records of the versions table each, not 5,000 (s3d_version_entries_read_total); a store written
// without the null-version index (an earlier version) is indexed at start and finds its null
// versions.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MetaStore } from '../../daemon/meta/store.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { shiftedClient, shiftedClockEnv } from '../helpers/clock.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { forgetNullIndex } from '../helpers/meta-versions.js';
import { send, xmlField } from '../helpers/http.js';
import { createBucket, expectS3Error, getBytes, s3Code } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

const DAY_MS = 86_400_000;

/** A daemon for the rest of `t`; `restart` stops it (asserting a clean stop in `on`) and starts another on the same data dir. */
async function daemonFor(t: Test, opts: Parameters<typeof startDaemon>[0] = {}): Promise<{ d: () => TestDaemon; restart: (opts?: Parameters<typeof startDaemon>[0], on?: Test) => Promise<TestDaemon> }> {
  let d = await startDaemon(opts);
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  return {
    d: () => d,
    restart: async (more = {}, on = t) => {
      const code = await d.stop();
      if (d.proc.signalCode !== 'SIGKILL') on.equal(code, 0, 'the daemon stopped cleanly');
      d = await startDaemon({ ...more, dataDir: d.dataDir });
      return d;
    },
  };
}

async function versioning(s3: S3Client, bucket: string, Status: 'Enabled' | 'Suspended'): Promise<void> {
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }));
}

/**
 * Versions of bucket/key in ListObjectVersions' order (newest first; read from the XML, since the
 * SDK splits versions from markers), each as its label in `labels` (by version id; `null` as is),
 * `(M)` for a delete marker, `*` when latest.
 */
async function versionsOf(d: TestDaemon, bucket: string, key: string, labels: Map<string, string>): Promise<string[]> {
  const r = await send(d.port, { method: 'GET', path: `/${bucket}`, query: `prefix=${encodeURIComponent(key)}&versions=` });
  if (r.status !== 200) throw new Error(`ListObjectVersions: ${r.status} ${r.body.toString()}`);
  return [...r.body.toString().matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)]
    .filter((m) => xmlField(m[2]!, 'Key') === key)
    .map((m) => `${labels.get(xmlField(m[2]!, 'VersionId')!) ?? xmlField(m[2]!, 'VersionId')}${m[1] === 'DeleteMarker' ? '(M)' : ''}${xmlField(m[2]!, 'IsLatest') === 'true' ? '*' : ''}`);
}

/** The body of bucket/key's null version as text, or the error code and status of the GET. */
async function nullBody(s3: S3Client, bucket: string, key: string): Promise<string> {
  try {
    return (await getBytes(s3, { Bucket: bucket, Key: key, VersionId: 'null' })).toString();
  } catch {
    return s3Code(getBytes(s3, { Bucket: bucket, Key: key, VersionId: 'null' }));
  }
}

// One daemon (and store) for the first test and the 5,000-version cost test, which add their own
// buckets; the lifecycle and the upgrade tests need stores of their own (a shifted clock, a count
// of every null version in the store).
const shared = await daemonFor(t);

t.test('the null version through Enabled → Suspended → Enabled, every operation that names it, and a restart', async (t) => {
  const { d, restart } = shared;
  let s3 = d().s3();
  const bucket = await createBucket(s3, 'nullv');
  const labels = new Map<string, string>();
  const put = async (body: string): Promise<string> => {
    const id = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: body }))).VersionId ?? 'null';
    if (id !== 'null') labels.set(id, body);
    return id;
  };
  const list = (): Promise<string[]> => versionsOf(d(), bucket, 'k', labels);

  await put('n0');
  await versioning(s3, bucket, 'Enabled');
  await put('v1');
  await put('v2');
  t.same(await list(), ['v2*', 'v1', 'null'], 'the unversioned write is the null version, now the oldest');
  t.equal(await nullBody(s3, bucket, 'k'), 'n0', 'GET versionId=null');
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  t.equal(head.VersionId, 'null', 'HEAD versionId=null');
  await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'k', VersionId: 'null', Tagging: { TagSet: [{ Key: 'of', Value: 'null' }] } }));
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }))).TagSet, [{ Key: 'of', Value: 'null' }], 'Put/GetObjectTagging versionId=null');
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k' }))).TagSet, [], 'the latest version is not tagged');
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/k?versionId=null` }));
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'copy' })).toString(), 'n0', 'CopyObject from versionId=null');

  await versioning(s3, bucket, 'Suspended');
  t.equal(await put('n1'), 'null', 'a Suspended write is the null version');
  t.same(await list(), ['null*', 'v2', 'v1'], 'and replaces the old one, deep among the versions');
  t.equal(await nullBody(s3, bucket, 'k'), 'n1');
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }))).TagSet, [], 'the new null version has no tags');
  await put('n2');
  t.same(await list(), ['null*', 'v2', 'v1'], 'a second Suspended write replaces the current null version');
  t.equal(await nullBody(s3, bucket, 'k'), 'n2');
  const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
  t.same([marker.DeleteMarker, marker.VersionId], [true, 'null'], 'a Suspended delete makes a null delete marker');
  t.same(await list(), ['null(M)*', 'v2', 'v1'], 'which replaces the null version');
  t.equal(await nullBody(s3, bucket, 'k'), 'MethodNotAllowed/405', 'GET versionId=null names a delete marker');
  t.match(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }))), /\/405$/, 'HEAD too');

  await versioning(s3, bucket, 'Enabled');
  await put('v3');
  t.same(await list(), ['v3*', 'null(M)', 'v2', 'v1'], 'Enabled again: the null marker is noncurrent');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  t.same(await list(), ['v3*', 'v2', 'v1'], 'DeleteObject versionId=null removes it');
  await expectS3Error(t, getBytes(s3, { Bucket: bucket, Key: 'k', VersionId: 'null' }), 'NoSuchVersion', 404, 'GET versionId=null with none');
  t.equal((await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }))).VersionId, 'null', 'a repeated delete succeeds');

  await versioning(s3, bucket, 'Suspended');
  await put('n3');
  await versioning(s3, bucket, 'Enabled');
  await put('v4');
  t.same(await list(), ['v4*', 'null', 'v3', 'v2', 'v1']);
  const r = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'k', VersionId: 'null' }, { Key: 'k', VersionId: 'null' }] } }));
  t.same(r.Deleted?.map((x) => x.VersionId), ['null', 'null'], 'DeleteObjects reports both entries');
  t.same(await list(), ['v4*', 'v3', 'v2', 'v1'], 'and removed the null version');

  // Removing the current null version promotes the next one; removing the current version
  // promotes a noncurrent null one.
  await versioning(s3, bucket, 'Suspended');
  await put('n4');
  t.same(await list(), ['null*', 'v4', 'v3', 'v2', 'v1']);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  t.same(await list(), ['v4*', 'v3', 'v2', 'v1'], 'the current null version removed: v4 is current');
  await put('n5');
  await versioning(s3, bucket, 'Enabled');
  const v6 = await put('v6');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: v6 }));
  t.same(await list(), ['null*', 'v4', 'v3', 'v2', 'v1'], 'v6 removed: the null version is current again');
  t.equal(await nullBody(s3, bucket, 'k'), 'n5');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'k' })).toString(), 'n5', 'and the current object');
  await put('v7');
  t.same(await list(), ['v7*', 'null', 'v4', 'v3', 'v2', 'v1']);

  s3 = (await restart({}, t)).s3();
  t.same(await list(), ['v7*', 'null', 'v4', 'v3', 'v2', 'v1'], 'after a restart');
  t.equal(await nullBody(s3, bucket, 'k'), 'n5', 'GET versionId=null after a restart');
  await versioning(s3, bucket, 'Suspended');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'n6' }));
  t.same(await list(), ['null*', 'v7', 'v4', 'v3', 'v2', 'v1'], 'a Suspended write after a restart replaces it');
  t.equal(await nullBody(s3, bucket, 'k'), 'n6');
});

t.test('a lifecycle rule removes a noncurrent null version; a Suspended write then makes a new one', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 's3d-null-lifecycle-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  // Written three days ago by the daemon's clock.
  const offset = -3 * DAY_MS;
  const { d, restart } = await daemonFor(t, { env: { ...shiftedClockEnv(work, offset), S3_LIFECYCLE_SCAN_INTERVAL: '1h' } });
  let s3 = shiftedClient(d(), offset);
  const bucket = await createBucket(s3, 'nulllc');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'n0' }));
  await versioning(s3, bucket, 'Enabled');
  const v1 = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v1' }))).VersionId!;
  const labels = new Map([[v1, 'v1']]);
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }))).VersionId, 'null', 'the null version is noncurrent');

  s3 = (await restart({ env: { S3_LIFECYCLE_SCAN_INTERVAL: '1s' } })).s3();
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [{ ID: 'nc', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }] } }),
  );
  const gone = await pollUntil(() => nullBody(s3, bucket, 'k'), (b) => b !== 'n0', 20_000, 200);
  t.equal(gone, 'NoSuchVersion/404', 'the scan removed the null version three days noncurrent');
  t.same(await versionsOf(d(), bucket, 'k', labels), ['v1*']);
  await versioning(s3, bucket, 'Suspended');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'n1' }));
  await versioning(s3, bucket, 'Enabled');
  const v2 = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v2' }))).VersionId!;
  labels.set(v2, 'v2');
  t.same(await versionsOf(d(), bucket, 'k', labels), ['v2*', 'null', 'v1'], 'a new null version, noncurrent but not yet due');
  t.equal(await nullBody(s3, bucket, 'k'), 'n1', 'GET versionId=null finds it');
});

// ---- cost

/** Writes `n` versions of bucket/key straight into the stopped daemon's store (far faster than PUTs). */
async function writeVersions(dataDir: string, bucket: string, key: string, n: number): Promise<void> {
  const meta = new MetaStore(join(dataDir, '.s3d'));
  let pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    const body = Buffer.from(`version ${i}`);
    pending.push(meta.putObject(bucket, key, { v: 1, size: body.length, etag: `e${i}`, mtime: Date.now(), headers: {}, userMeta: {}, stored: body.length, data: { inline: body } }));
    if (pending.length >= 1000) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await meta.close();
}

const VERSIONS = 5000;

t.test(`on a key with ${VERSIONS} versions, versionId=null and ListObjectVersions pages read a few records, not ${VERSIONS}`, async (t) => {
  const { d, restart } = shared;
  let s3 = d().s3();
  const bucket = await createBucket(s3, 'hot');
  const other = await createBucket(s3, 'hotcopy');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hot', Body: 'the null version' }));
  await versioning(s3, bucket, 'Enabled');
  t.equal(await d().stop(), 0);
  await writeVersions(d().dataDir, bucket, 'hot', VERSIONS);
  // No usage scan: it counts the versions it reads in the same metric, and the one 5 s after
  // start-up, reached on a loaded CI box, put its pages into a measured DeleteObjects (501 and
  // 3301 records read in two clean-clone runs).
  s3 = (await restart({ env: { S3_USAGE_SCAN_INTERVAL: 'off' } }, t)).s3();

  /** Versions-table records read by `fn`, and how long it took. */
  const cost = async (what: string, fn: () => Promise<unknown>, most: number): Promise<void> => {
    const before = metricSample(await scrape(d().endpoint), 's3d_version_entries_read_total') ?? NaN;
    const start = process.hrtime.bigint();
    await fn();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const read = (metricSample(await scrape(d().endpoint), 's3d_version_entries_read_total') ?? NaN) - before;
    t.ok(read <= most, `${what}: ${read} records read (at most ${most}), ${ms.toFixed(1)} ms`);
  };
  await cost('HeadObject versionId=null', () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'hot', VersionId: 'null' })), 4);
  await cost('GetObject versionId=null', async () => t.equal(await nullBody(s3, bucket, 'hot'), 'the null version'), 4);
  await cost('PutObjectTagging versionId=null', () => s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'hot', VersionId: 'null', Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] } })), 4);
  await cost('GetObjectTagging versionId=null', () => s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'hot', VersionId: 'null' })), 4);
  await cost('CopyObject from versionId=null', () => s3.send(new CopyObjectCommand({ Bucket: other, Key: 'c', CopySource: `${bucket}/hot?versionId=null` })), 4);
  await cost('ListObjectVersions MaxKeys=1', () => s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1 })), 3);
  await cost('20 pages of ListObjectVersions MaxKeys=50', async () => {
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (let i = 0; i < 20; i++) {
      const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 50, KeyMarker, VersionIdMarker }));
      KeyMarker = r.NextKeyMarker;
      VersionIdMarker = r.NextVersionIdMarker;
    }
  }, 20 * 52);
  await cost('DeleteObjects of 300 × {hot, versionId=null}', async () => {
    const r = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: Array.from({ length: 300 }, () => ({ Key: 'hot', VersionId: 'null' })) } }));
    t.equal(r.Deleted?.length, 300, 'every entry reported deleted');
  }, 20);
  await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'hot', VersionId: 'null' })), 'NotFound', 404, 'the null version is gone');
  await versioning(s3, bucket, 'Suspended');
  for (let i = 0; i < 3; i++) await cost(`a Suspended overwrite (${i + 1})`, () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hot', Body: `suspended ${i}` })), 6);
  await versioning(s3, bucket, 'Enabled');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hot', Body: 'enabled' }));
  await cost('DeleteObject versionId=null under the latest', () => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'hot', VersionId: 'null' })), 6);
  const first = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 3 }));
  t.equal(first.Versions?.[0]?.IsLatest, true);
  t.notOk(first.Versions?.some((v) => v.VersionId === 'null'), 'no null version left');
});

t.test('a store an earlier version wrote (no null-version index) is indexed at start and finds its null versions', async (t) => {
  const { d, restart } = await daemonFor(t);
  let s3 = d().s3();
  const bucket = await createBucket(s3, 'upgrade');
  for (const key of ['deep', 'marker']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `null ${key}` }));
  await versioning(s3, bucket, 'Suspended');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'marker' }));
  await versioning(s3, bucket, 'Enabled');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'marker', Body: 'over the null marker' }));
  t.equal(await d().stop(), 0);
  await writeVersions(d().dataDir, bucket, 'deep', 1000);
  await forgetNullIndex(join(d().dataDir, '.s3d'), 'no index');
  s3 = (await restart()).s3();

  const line = d().jsonLogs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('indexed the null versions'));
  t.equal(line?.nullVersions, 2, 'the start indexed the two null versions (a version and a delete marker) and said so');
  const before = metricSample(await scrape(d().endpoint), 's3d_version_entries_read_total') ?? NaN;
  t.equal(await nullBody(s3, bucket, 'deep'), 'null deep', 'the null version under 1000 others');
  t.equal(await nullBody(s3, bucket, 'marker'), 'MethodNotAllowed/405', 'the null delete marker');
  const read = (metricSample(await scrape(d().endpoint), 's3d_version_entries_read_total') ?? NaN) - before;
  t.ok(read <= 8, `each read through the index (${read} records read)`);

  // A stop leaves its clean-stop marker only once the start-up scan finished (this start ran one:
  // the store was written since its last clean stop); without the marker the next start indexes.
  const scanning = (l: Record<string, unknown>): boolean => typeof l.msg === 'string' && l.msg.startsWith('start-up scan for unreferenced data files');
  const scanDone = async (): Promise<void> => {
    if (d().jsonLogs().some((l) => scanning(l) && (l.msg as string).includes('runs in the background'))) {
      await d().waitForLog((l) => scanning(l) && (l.msg as string).includes('finished'), 60_000);
    }
  };
  await scanDone();
  s3 = (await restart()).s3();
  t.notOk(d().jsonLogs().some((l) => typeof l.msg === 'string' && l.msg.startsWith('indexed the null versions')), 'the next start has nothing to index');
  t.equal(await nullBody(s3, bucket, 'deep'), 'null deep');

  /**
   * After this daemon's stop (`how`), an earlier version that keeps no index writes: the next
   * start re-indexes the two null versions and says so in a line starting `logged`
   * (`reason` is the assertion's message), and versionId=null finds them again.
   */
  const foreignWriteAfter = async (how: 'clean stop' | 'SIGKILL', logged: string, reason: string): Promise<void> => {
    if (how === 'SIGKILL') t.equal(await d().stop('SIGKILL'), null, 'the daemon is killed');
    else t.equal(await d().stop(), 0);
    await forgetNullIndex(join(d().dataDir, '.s3d'), 'crashed writer');
    s3 = (await restart()).s3();
    const line = d().jsonLogs().find((l) => typeof l.msg === 'string' && l.msg.startsWith(logged));
    t.equal(line?.nullVersions, 2, reason);
    t.equal(await nullBody(s3, bucket, 'deep'), 'null deep', `versionId=null finds the null version after the ${how} and the foreign write`);
    t.equal(await nullBody(s3, bucket, 'marker'), 'MethodNotAllowed/405', `and the null delete marker (${how})`);
  };

  // A version that keeps no index wrote after this one's clean stop, then crashed: the token and
  // the mark are unchanged, but the clean-shutdown marker names an earlier transaction. A stop
  // leaves the marker only once the start-up scan finished (the first restart above ran one).
  await scanDone();
  await foreignWriteAfter('clean stop', 'the store was written after its clean shutdown', 'the start saw the store written since its clean stop and re-indexed the null versions');

  // This version crashed (no marker: its start consumed the last one), then an earlier version
  // that keeps no index wrote: the mark still equals the token, but nothing vouches for the index.
  await foreignWriteAfter('SIGKILL', 'indexed the null versions', 'a start without a clean-stop marker re-indexes the null versions');
});

t.test('paging ListObjectVersions by hand, the markers naming a version deleted or replaced since: the next page goes on after its place, none missed', async (t) => {
  let s3 = shared.d().s3();
  const bucket = await createBucket(s3, 'handpaged');
  await versioning(s3, bucket, 'Enabled');
  const put = async (key: string): Promise<string> => (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }))).VersionId ?? 'null';
  const old1 = await put('k');
  const old2 = await put('k');
  await versioning(s3, bucket, 'Suspended');
  await put('k');
  await versioning(s3, bucket, 'Enabled');
  const newest = await put('k');
  const z = await put('z');
  const labels = new Map([[old1, 'old1'], [old2, 'old2'], [newest, 'newest'], [z, 'z']]);
  /** A page after the markers, as `key label` (`*` when latest), and its next markers. */
  const page = async (KeyMarker: string | undefined, VersionIdMarker: string | undefined, MaxKeys: number): Promise<{ got: string[]; next: [string | undefined, string | undefined] }> => {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker, VersionIdMarker, MaxKeys }));
    // The SDK splits versions from markers: the pages below hold one at most, and no version beside it.
    const got = [...(r.Versions ?? []), ...(r.DeleteMarkers ?? []).map((m) => ({ ...m, VersionId: `${m.VersionId}(M)` }))].map(
      (v) => `${v.Key} ${labels.get(v.VersionId!) ?? v.VersionId}${v.IsLatest ? '*' : ''}`,
    );
    return { got, next: [r.NextKeyMarker, r.NextVersionIdMarker] };
  };
  const first = await page(undefined, undefined, 3);
  t.same(first, { got: ['k newest*', 'k null', 'k old2'], next: ['k', old2] }, 'k: its newest version, the null one, then older ones');

  // The version the markers name deleted: its id carries its place, the versions older than it follow.
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: old2 }));
  t.same((await page('k', old2, 10)).got, ['k old1', 'z z*'], 'after a version deleted since: the versions older than it, then the next key');
  // The current version the markers name deleted (the null version current again): the versions older than it.
  const p = await page('k', newest, 1);
  t.same(p, { got: ['k null'], next: ['k', 'null'] }, 'after the newest version, the null one');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: newest }));
  t.same((await page('k', newest, 10)).got, ['k null*', 'k old1', 'z z*'], 'after the current version deleted since: the null version, current now, and the older ones');

  // `null` names the null version there is now: replaced by a Suspended write, the newest, so the
  // page goes on after it (the versions the page before listed come again: none is missed).
  await versioning(s3, bucket, 'Suspended');
  await put('k');
  await versioning(s3, bucket, 'Enabled');
  t.same((await page('k', 'null', 10)).got, ['k old1', 'z z*'], 'after a null version replaced since: the versions older than the new one');
  // Deleted: `null` carries no place of its own, the store kept where it sat (the newest version then).
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  t.same((await page('k', 'null', 10)).got, ['k old1*', 'z z*'], 'after a null version deleted since: the versions older than it');

  // Deleted from under newer versions: the page goes on after the place it had, not from the
  // key's newest version again, as S3 goes on after a version-id marker deleted between pages;
  // a delete marker alike, and across a restart (the place is kept in the store).
  const enabledPut = async (): Promise<string> => {
    await versioning(s3, bucket, 'Enabled');
    return put('k');
  };
  await versioning(s3, bucket, 'Suspended');
  await put('k');
  const v2 = await enabledPut();
  const v3 = await put('k');
  labels.set(v2, 'v2').set(v3, 'v3');
  t.same(await page('k', v2, 1), { got: ['k null'], next: ['k', 'null'] }, 'k: v3, v2, the null version, old1');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  t.same((await page('k', 'null', 10)).got, ['k old1', 'z z*'], 'after a null version deleted since under newer ones: the versions older than it');
  await versioning(s3, bucket, 'Suspended');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
  const v4 = await enabledPut();
  labels.set(v4, 'v4');
  t.same(await page('k', v4, 1), { got: ['k null(M)'], next: ['k', 'null'] }, 'k: v4, the null delete marker, v3, v2, old1');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  s3 = (await shared.restart({}, t)).s3();
  t.same((await page('k', 'null', 10)).got, ['k v3', 'k v2', 'k old1', 'z z*'], 'after a null delete marker deleted since, and a restart: the versions older than it');

  // Replaced, then deleted: the place kept is the newer null version's (the marker cannot say
  // which it named), so versions between the two come again; none is missed.
  await versioning(s3, bucket, 'Suspended');
  await put('k');
  const v5 = await enabledPut();
  labels.set(v5, 'v5');
  t.same(await page('k', v5, 1), { got: ['k null'], next: ['k', 'null'] }, 'k: v5, the null version, v4, v3, v2, old1');
  await versioning(s3, bucket, 'Suspended');
  await put('k');
  await versioning(s3, bucket, 'Enabled');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: 'null' }));
  t.same((await page('k', 'null', 10)).got, ['k v5*', 'k v4', 'k v3', 'k v2', 'k old1', 'z z*'], 'after a null version replaced, then deleted: after the newer one\'s place, v5 again, none missed');
});
