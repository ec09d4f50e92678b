// Bucket versioning through third-party clients against the built daemon: boto3 (client calls,
// bucket.object_versions listing with small pages, and object_versions.delete() emptying a bucket
// of versions and delete markers), the aws CLI (s3api put/get-bucket-versioning, put-object,
// list-object-versions with --page-size, get-object/delete-object --version-id), and minio-js
// (setBucketVersioning, listObjects with IncludeVersion, statObject/getObject/removeObject with a
// versionId, and a presignedPostPolicy form upload making a version). boto3 and the aws CLI are
// skipped when not installed.

import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, startDaemonFor } from '../helpers/daemon.js';
import { awsCli, NO_AWS } from '../helpers/aws-cli.js';
import { minioClient } from '../helpers/minio.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';

const NO_BOTO3: false | string = spawnSync(PYTHON_BIN, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0 ? false : 'python3 with boto3 is not available';
const VID = /^[0-9a-f-]{36}$/;

const d = await startDaemonFor(t);
const s3 = d.s3();
const work = mkdtempSync(join(tmpdir(), 's3d-versioning-clients-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

type Row = [key: string, versionId: string, isLatest: boolean];

/** Every version and marker of a bucket via the SDK: ['V'|'D', key, id, isLatest]. */
async function sdkListing(bucket: string): Promise<Array<[string, string, string, boolean]>> {
  const out: Array<[string, string, string, boolean]> = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (let i = 0; i < 100; i++) {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker, VersionIdMarker }));
    out.push(...(r.Versions ?? []).map((v): [string, string, string, boolean] => ['V', v.Key!, v.VersionId!, v.IsLatest === true]));
    out.push(...(r.DeleteMarkers ?? []).map((m): [string, string, string, boolean] => ['D', m.Key!, m.VersionId!, m.IsLatest === true]));
    if (!r.IsTruncated) break;
    KeyMarker = r.NextKeyMarker;
    VersionIdMarker = r.NextVersionIdMarker;
  }
  return out;
}

async function sdkPut(bucket: string, key: string, body: string): Promise<string> {
  return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId ?? '';
}

async function sdkDelete(bucket: string, key: string): Promise<string> {
  return (await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))).VersionId ?? '';
}

function python(script: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON_BIN, ['-c', script, d.endpoint, ACCESS_KEY, SECRET_KEY, ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

const BOTO3_PRELUDE = `
import sys, json, boto3
from botocore.config import Config
ep, ak, sk, bucket = sys.argv[1:5]
res = boto3.resource('s3', endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk, region_name='${REGION}', config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
cl = res.meta.client
out = {}
`;
import { PYTHON_BIN } from '../helpers/python.js';

t.test('boto3: versioning calls, object_versions listing, object_versions.delete() empties the bucket', { skip: NO_BOTO3 }, async (t) => {
  const bucket = bucketName('vboto');
  const script = `${BOTO3_PRELUDE}
cl.create_bucket(Bucket=bucket)
cl.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={'Status': 'Enabled'})
out['status'] = cl.get_bucket_versioning(Bucket=bucket).get('Status')
v1 = cl.put_object(Bucket=bucket, Key='k', Body=b'one')['VersionId']
v2 = cl.put_object(Bucket=bucket, Key='k', Body=b'two!')['VersionId']
out['put'] = [v1, v2]
g = cl.get_object(Bucket=bucket, Key='k', VersionId=v1)
out['get_v1'] = [g['Body'].read().decode(), g.get('VersionId')]
out['head_v1'] = cl.head_object(Bucket=bucket, Key='k', VersionId=v1)['ContentLength']
dm = cl.delete_object(Bucket=bucket, Key='k')
out['marker'] = [dm.get('DeleteMarker'), dm.get('VersionId')]
for i in range(3):
    cl.put_object(Bucket=bucket, Key='p/x', Body=('x%d' % i).encode())
cl.put_object(Bucket=bucket, Key='p/gone', Body=b'soon hidden')
cl.delete_object(Bucket=bucket, Key='p/gone')
b = res.Bucket(bucket)
out['listed'] = [[v.object_key, v.id, v.is_latest] for v in b.object_versions.page_size(2).all()]
out['listed_prefix'] = [[v.object_key, v.id] for v in b.object_versions.filter(Prefix='p/')]
print(json.dumps(out))
`;
  const out = JSON.parse(await python(script, bucket)) as {
    status: string;
    put: [string, string];
    get_v1: [string, string];
    head_v1: number;
    marker: [boolean, string];
    listed: Row[];
    listed_prefix: Array<[string, string]>;
  };
  t.equal(out.status, 'Enabled', 'boto3 get_bucket_versioning → Enabled');
  t.match(out.put[0], VID, 'boto3 put_object returns a VersionId');
  t.match(out.put[1], VID);
  t.not(out.put[0], out.put[1]);
  t.same(out.get_v1, ['one', out.put[0]], 'boto3 get_object VersionId=v1');
  t.equal(out.head_v1, 3, 'boto3 head_object VersionId=v1');
  t.equal(out.marker[0], true, 'boto3 delete_object adds a marker');
  t.match(out.marker[1], VID);

  const sdk = await sdkListing(bucket);
  t.equal(sdk.length, 8, 'k: two versions and a marker; p/x: three versions; p/gone: a version and a marker');
  t.same(
    [...out.listed].sort(),
    sdk.map(([, k, id, latest]) => [k, id, latest]).sort(),
    'object_versions (pages of 2) lists every version and marker, as ListObjectVersions does',
  );
  t.same(
    out.listed.filter((r) => r[0] === 'k').sort(),
    [
      ['k', out.marker[1], true],
      ['k', out.put[1], false],
      ['k', out.put[0], false],
    ].sort(),
    'k: the marker (latest) and both versions (noncurrent)',
  );
  t.equal(out.listed_prefix.length, 5, 'Prefix p/: four versions and one marker');
  t.ok(out.listed_prefix.every(([k]) => k.startsWith('p/')));

  // Empty it with object_versions.delete() and delete the bucket.
  const empty = `${BOTO3_PRELUDE}
b = res.Bucket(bucket)
results = b.object_versions.delete()
deleted = [x for r in results for x in r.get('Deleted', [])]
out['errors'] = [x for r in results for x in r.get('Errors', [])]
out['deleted'] = len(deleted)
out['markers'] = len([x for x in deleted if x.get('DeleteMarker')])
out['left'] = len(list(b.object_versions.all()))
print(json.dumps(out))
`;
  const e = JSON.parse(await python(empty, bucket)) as { deleted: number; markers: number; left: number; errors: unknown[] };
  t.same(e.errors, [], 'object_versions.delete() reported no errors');
  t.equal(e.deleted, 8, 'object_versions.delete() removed all eight');
  t.equal(e.markers, 2, 'including both delete markers');
  t.equal(e.left, 0, 'boto3 lists nothing afterwards');
  t.same(await sdkListing(bucket), [], 'ListObjectVersions is empty');
  t.equal((await s3.send(new DeleteBucketCommand({ Bucket: bucket }))).$metadata.httpStatusCode, 204, 'the bucket deletes');
});

t.test('aws CLI: s3api versioning commands', { skip: NO_AWS }, async (t) => {
  const cli = awsCli(d.endpoint, work, { pathStyle: true });
  const bucket = await createBucket(s3, 'vcli');
  await cli.ok('s3api', 'put-bucket-versioning', '--bucket', bucket, '--versioning-configuration', 'Status=Enabled');
  t.equal((JSON.parse(await cli.ok('s3api', 'get-bucket-versioning', '--bucket', bucket)) as { Status?: string }).Status, 'Enabled', 'get-bucket-versioning');
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Enabled', 'the SDK sees Enabled');

  const f1 = join(work, 'one.txt');
  const f2 = join(work, 'two.txt');
  writeFileSync(f1, 'first body');
  writeFileSync(f2, 'second, longer body');
  const v1 = (JSON.parse(await cli.ok('s3api', 'put-object', '--bucket', bucket, '--key', 'doc', '--body', f1)) as { VersionId?: string }).VersionId;
  const v2 = (JSON.parse(await cli.ok('s3api', 'put-object', '--bucket', bucket, '--key', 'doc', '--body', f2)) as { VersionId?: string }).VersionId;
  t.match(v1, VID, 'put-object prints a VersionId');
  t.match(v2, VID);
  t.not(v1, v2);
  for (let i = 0; i < 3; i++) await sdkPut(bucket, 'more', `more ${i}`);

  type CliList = { Versions?: Array<{ Key: string; VersionId: string; IsLatest: boolean; Size: number }>; DeleteMarkers?: Array<{ Key: string; VersionId: string; IsLatest: boolean }> };
  const l1 = JSON.parse(await cli.ok('s3api', 'list-object-versions', '--bucket', bucket, '--prefix', 'doc')) as CliList;
  t.same(
    l1.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size]),
    [
      ['doc', v2, true, 19],
      ['doc', v1, false, 10],
    ],
    'list-object-versions: newest first, IsLatest, Size',
  );
  const paged = JSON.parse(await cli.ok('s3api', 'list-object-versions', '--bucket', bucket, '--page-size', '1')) as CliList;
  const full = await sdkListing(bucket);
  t.equal(full.length, 5);
  t.same(
    (paged.Versions ?? []).map((v) => ['V', v.Key, v.VersionId, v.IsLatest]).sort(),
    full.sort(),
    'list-object-versions --page-size 1 (CLI follows the markers) lists all five versions once',
  );

  const outFile = join(work, 'got.txt');
  const got = JSON.parse(await cli.ok('s3api', 'get-object', '--bucket', bucket, '--key', 'doc', '--version-id', v1!, outFile)) as { VersionId?: string; ContentLength?: number };
  t.equal(readFileSync(outFile, 'utf8'), 'first body', 'get-object --version-id writes the old bytes');
  t.equal(got.VersionId, v1, 'get-object --version-id reports the version');
  t.equal(got.ContentLength, 10);

  const del = JSON.parse(await cli.ok('s3api', 'delete-object', '--bucket', bucket, '--key', 'doc')) as { DeleteMarker?: boolean; VersionId?: string };
  t.equal(del.DeleteMarker, true, 'delete-object adds a marker');
  t.match(del.VersionId, VID);
  const afterDel = await sdkListing(bucket);
  t.same(afterDel.filter((r) => r[0] === 'D'), [['D', 'doc', del.VersionId, true]], 'the marker is listed');

  const undel = JSON.parse(await cli.ok('s3api', 'delete-object', '--bucket', bucket, '--key', 'doc', '--version-id', del.VersionId!)) as { DeleteMarker?: boolean; VersionId?: string };
  t.equal(undel.VersionId, del.VersionId, 'delete-object --version-id <marker> names it');
  t.equal(undel.DeleteMarker, true, 'and says it was a marker');
  const afterUndel = await sdkListing(bucket);
  t.same(
    afterUndel.filter((r) => r[1] === 'doc'),
    [
      ['V', 'doc', v2, true],
      ['V', 'doc', v1, false],
    ],
    'removing the marker makes v2 current again',
  );
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: v2 }));
  const noVer = await cli.run('s3api', 'get-object', '--bucket', bucket, '--key', 'doc', '--version-id', v2!, outFile);
  t.not(noVer.code, 0, 'get-object of a removed version fails');
  t.match(noVer.stderr, /NoSuchVersion/, 'with NoSuchVersion');
});

t.test('minio-js: versioning, listObjects with IncludeVersion, statObject/getObject/removeObject by versionId', async (t) => {
  const mc = minioClient(d);
  const bucket = await createBucket(s3, 'vminio');
  await mc.setBucketVersioning(bucket, { Status: 'Enabled' });
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Enabled', 'minio setBucketVersioning enabled versioning');
  t.equal(((await mc.getBucketVersioning(bucket)) as { Status?: string } | undefined)?.Status, 'Enabled', 'minio getBucketVersioning');
  const p1 = await mc.putObject(bucket, 'm/obj', Buffer.from('minio one'));
  const p2 = await mc.putObject(bucket, 'm/obj', Buffer.from('minio two, longer'));
  t.match(p1.versionId, VID, 'putObject returns a versionId');
  t.match(p2.versionId, VID);
  t.not(p1.versionId, p2.versionId);
  const gone = await sdkPut(bucket, 'm/gone', 'hidden');
  const marker = await sdkDelete(bucket, 'm/gone');
  const v1 = p1.versionId ?? '';
  const v2 = p2.versionId ?? '';

  interface Item {
    name?: string;
    versionId?: string | null;
    isLatest?: boolean | string;
    isDeleteMarker?: boolean;
    size?: number;
  }
  const list = async (): Promise<Array<[string, string, boolean, boolean]>> => {
    const items: Item[] = [];
    for await (const it of mc.listObjects(bucket, '', true, { IncludeVersion: true })) items.push(it as Item);
    return items.map((i): [string, string, boolean, boolean] => [i.name ?? '', String(i.versionId), String(i.isLatest) === 'true', i.isDeleteMarker === true]).sort();
  };
  t.same(
    await list(),
    [
      ['m/gone', marker, true, true],
      ['m/gone', gone, false, false],
      ['m/obj', v1, false, false],
      ['m/obj', v2, true, false],
    ].sort(),
    'listObjects IncludeVersion: versions and the marker',
  );

  const st = await mc.statObject(bucket, 'm/obj', { versionId: v1 });
  t.equal(st.size, 9, 'statObject {versionId}: the old size');
  t.equal(st.versionId, v1, 'statObject {versionId}: its versionId');
  const stLatest = await mc.statObject(bucket, 'm/obj');
  t.equal(stLatest.versionId, v2, 'statObject without versionId: the latest');
  const chunks: Buffer[] = [];
  for await (const c of await mc.getObject(bucket, 'm/obj', { versionId: v1 })) chunks.push(Buffer.from(c as Buffer));
  t.equal(Buffer.concat(chunks).toString(), 'minio one', 'getObject {versionId}: the old bytes');

  await mc.removeObject(bucket, 'm/obj', { versionId: v2 });
  t.same(
    await list(),
    [
      ['m/gone', marker, true, true],
      ['m/gone', gone, false, false],
      ['m/obj', v1, true, false],
    ].sort(),
    'removeObject {versionId}: v2 gone, v1 latest',
  );
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'm/obj' })).toString(), 'minio one');
  await t.rejects(mc.statObject(bucket, 'm/obj', { versionId: v2 }), { code: 'NotFound' }, 'statObject of the removed version fails: 404 (a HEAD has no body: minio-js names the status)');

  await mc.removeObject(bucket, 'm/obj');
  const after = await list();
  t.equal(after.filter((r) => r[0] === 'm/obj' && r[3] && r[2]).length, 1, 'removeObject without versionId adds a latest marker');
  t.ok(after.some((r) => r[0] === 'm/obj' && r[1] === v1 && !r[2]), 'v1 stays, noncurrent');
  t.equal(await s3Code(s3.send(new DeleteBucketCommand({ Bucket: bucket }))), 'BucketNotEmpty/409');
  await mc.setBucketVersioning(bucket, { Status: 'Suspended' });
  t.equal(((await mc.getBucketVersioning(bucket)) as { Status?: string } | undefined)?.Status, 'Suspended', 'minio: Suspended');
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Suspended', 'the SDK sees Suspended');
});

t.test('minio-js presignedPostPolicy: a form upload to a versioned bucket makes a new version', async (t) => {
  const mc = minioClient(d);
  const bucket = await createBucket(s3, 'vpost');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const v1 = await sdkPut(bucket, 'forms/doc.txt', 'put first');
  t.match(v1, VID);
  const policy = mc.newPostPolicy();
  policy.setBucket(bucket);
  policy.setKey('forms/doc.txt');
  policy.setExpires(new Date(Date.now() + 600_000));
  const { postURL, formData: fields } = await mc.presignedPostPolicy(policy);
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', new Blob([Buffer.from('posted second')]), 'doc.txt');
  const res = await fetch(postURL, { method: 'POST', body: fd });
  t.equal(res.status, 204, 'the form upload succeeds');
  const posted = res.headers.get('x-amz-version-id');
  t.match(posted, VID, 'the POST response carries x-amz-version-id');
  t.not(posted, v1);
  const l = await sdkListing(bucket);
  t.same(
    l,
    [
      ['V', 'forms/doc.txt', posted, true],
      ['V', 'forms/doc.txt', v1, false],
    ],
    'the posted object is a new latest version; the PUT one stays',
  );
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'forms/doc.txt', VersionId: v1 })).toString(), 'put first');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'forms/doc.txt' })).toString(), 'posted second');
});
