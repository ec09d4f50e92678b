// DeleteObjects (1000 keys, 1000 maximal keys in the widest escaping, >1000 → MalformedXML, also
// when counted before the parse, a body past 8 MiB → EntityTooLarge, Quiet, missing keys, per-key errors) and the
// versioning probes on unversioned buckets: GetBucketVersioning (empty configuration),
// ListObjectVersions (every object is version "null", IsLatest), PutBucketVersioning
// (Enabled and Suspended accepted and kept; MFA Delete NotImplemented), versionId=null on object
// operations (other ids: NoSuchVersion, ids s3d never makes: InvalidArgument) and boto3's object_versions.delete(), against the built
// daemon. Versioned buckets proper: s3-versioning-core.test.ts and s3-versioning-ops.test.ts.

import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, bucketName, startDaemonFor } from '../helpers/daemon.js';

const HAS_BOTO3 = spawnSync(PYTHON_BIN, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
import { createBucket, putMany, rawBodyClient, s3Code } from '../helpers/s3.js';
import { errorCode, raw, xmlField } from '../helpers/http.js';
import { PYTHON_BIN } from '../helpers/python.js';

const d = await startDaemonFor(t);
const s3 = d.s3();

/** The body every object here gets. */
const bodyOf = (key: string): string => `v:${key}`;

async function allKeys(bucket: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    out.push(...(r.Contents ?? []).map((c) => c.Key!));
    token = r.NextContinuationToken;
  } while (token);
  return out;
}

t.test('DeleteObjects: 1000 keys in one request, missing keys reported deleted', async (t) => {
  const bucket = await createBucket(s3, 'del');
  const keys = Array.from({ length: 990 }, (_, i) => `k/${String(i).padStart(4, '0')}`);
  await putMany(d, bucket, [...keys, 'keep/1', 'keep/2'], bodyOf);
  const missing = Array.from({ length: 10 }, (_, i) => `missing/${i}`);
  const r = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [...keys, ...missing].map((Key) => ({ Key })) } }));
  t.equal(r.Deleted?.length, 1000);
  t.same(r.Deleted!.map((x) => x.Key).sort(), [...keys, ...missing].sort(), 'every key, present or not, is reported deleted');
  t.equal(r.Errors, undefined);
  t.same(await allKeys(bucket), ['keep/1', 'keep/2'], 'exactly the listed keys are gone');

  const over = Array.from({ length: 1001 }, (_, i) => ({ Key: `x${i}` }));
  t.equal(await s3Code(s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: over } }))), 'MalformedXML/400', '1001 keys');
  t.equal(await s3Code(s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [] } }))), 'MalformedXML/400', 'no keys');
  t.equal(await s3Code(s3.send(new DeleteObjectsCommand({ Bucket: bucketName('none'), Delete: { Objects: [{ Key: 'a' }] } }))), 'NoSuchBucket/404');
  for (const [name, body] of [
    ['not XML', 'nope'],
    ['unclosed', '<Delete><Object><Key>a</Key>'],
    ['wrong root', '<Remove><Object><Key>a</Key></Object></Remove>'],
    ['object without key', '<Delete><Object><VersionId>null</VersionId></Object></Delete>'],
  ] as const) {
    t.equal(await s3Code(rawBodyClient(d, body).send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'keep/1' }] } }))), 'MalformedXML/400', `MalformedXML: ${name}`);
  }
  t.same(await allKeys(bucket), ['keep/1', 'keep/2'], 'failed requests deleted nothing');
});

t.test('DeleteObjects: 1000 keys of 1024 bytes escaped at their widest fit; a body past 8 MiB is EntityTooLarge', async (t) => {
  const bucket = await createBucket(s3, 'delbig');
  // '&' is written &amp; (5 bytes), U+001F &#x1F; (6): 1000 such keys with version ids make a
  // document of over 4.5 MiB, a valid request all the same.
  const amp = '&'.repeat(1024);
  const ctl = '\u001f'.repeat(1024);
  const keys = Array.from({ length: 1000 }, (_, i) => (i === 0 ? amp : i === 1 ? ctl : `${String(i).padStart(4, '0')}${'&'.repeat(1020)}`));
  await putMany(d, bucket, [amp, ctl, keys[2]!, 'keep'], bodyOf);
  const objects = keys.map((k) => `<Object><Key>${k.replace(/&/g, '&amp;').replace(/\u001f/g, '&#x1F;')}</Key><VersionId>null</VersionId></Object>`);
  const doc = `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${objects.join('')}</Delete>`;
  t.ok(Buffer.byteLength(doc) > 4.5 * 1024 * 1024, `the document is ${Buffer.byteLength(doc)} bytes`);
  const r = await rawBodyClient(d, doc).send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'keep' }] } }));
  t.equal(r.Errors, undefined, 'no per-key errors');
  t.same(await allKeys(bucket), ['keep'], 'the three stored keys of the 1000 are gone, "keep" stays');

  const over = `<Delete><Object><Key>keep</Key></Object>${' '.repeat(8 * 1024 * 1024)}</Delete>`;
  t.equal(await s3Code(rawBodyClient(d, over).send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'keep' }] } }))), 'EntityTooLarge/400', 'a body past 8 MiB');
  t.same(await allKeys(bucket), ['keep'], 'and nothing was deleted');
});

t.test('DeleteObjects: 288,000 Objects in 8 MiB are refused before the parse, which held every other request for seconds', async (t) => {
  const bucket = await createBucket(s3, 'delbomb');
  await putMany(d, bucket, ['keep', 'k'], bodyOf);
  const bomb = `<Delete>${'<Object><Key>k</Key></Object>'.repeat(288_000)}</Delete>`;
  t.ok(Buffer.byteLength(bomb) < 8 * 1024 * 1024, `the document (${Buffer.byteLength(bomb)} bytes) is within the 8 MiB a Delete may take`);
  // Requests from another client meanwhile: none may wait on the daemon's event loop for long.
  let done = false;
  let longest = 0;
  const pings = (async () => {
    while (!done) {
      const started = performance.now();
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      longest = Math.max(longest, performance.now() - started);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const code = await s3Code(rawBodyClient(d, bomb).send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'keep' }] } })));
  done = true;
  await pings;
  t.equal(code, 'MalformedXML/400', 'MalformedXML, as for 1001 keys');
  t.ok(longest < 1000, `no other request waited a second meanwhile (the longest took ${Math.round(longest)} ms)`);
  t.same(await allKeys(bucket), ['k', 'keep'], 'nothing was deleted');
  // Prefixed names count as well (the parser drops prefixes); comments and CDATA hide none.
  const prefixed = `<s3:Delete xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">${'<s3:Object><s3:Key>k</s3:Key></s3:Object>'.repeat(1001)}</s3:Delete>`;
  t.equal(await s3Code(rawBodyClient(d, prefixed).send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'keep' }] } }))), 'MalformedXML/400', '1001 prefixed Objects');
  const cdataKeys = Array.from({ length: 11 }, (_, i) => `${i}${'<Object>'.repeat(100)}`);
  const hidden = `<Delete><!-- ${'<Object><Key>x</Key></Object>'.repeat(1001)} -->${cdataKeys.map((k) => `<Object><Key><![CDATA[${k}]]></Key></Object>`).join('')}<Object><Key>k</Key></Object></Delete>`;
  const r = await rawBodyClient(d, hidden).send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'keep' }] } }));
  t.same(
    (r.Deleted ?? []).map((x) => x.Key).sort(),
    [...cdataKeys, 'k'].sort(),
    'Objects in a comment, and in CDATA keys, are not counted (1,001 and 1,100 of them): the 12 keys are deleted',
  );
  t.same(await allKeys(bucket), ['keep'], 'k is gone');
});

t.test('DeleteObjects: Quiet mode, per-key errors, XML-special keys', async (t) => {
  const bucket = await createBucket(s3, 'delq');
  const special = ['a&b<c>"d\'', 'sp ace/ü €', 'q1', 'q2', 'q3'];
  await putMany(d, bucket, special, bodyOf);

  const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Quiet: true, Objects: [{ Key: 'q1' }, { Key: 'q-missing' }] } }));
  t.equal(quiet.Deleted, undefined, 'Quiet lists no successes');
  t.equal(quiet.Errors, undefined);
  t.same(await allKeys(bucket), ['a&b<c>"d\'', 'q2', 'q3', 'sp ace/ü €']);

  const long = 'L'.repeat(1025);
  const mixed = await s3.send(
    new DeleteObjectsCommand({
      Bucket: bucket,
      Delete: { Objects: [{ Key: 'a&b<c>"d\'' }, { Key: long }, { Key: 'q2', VersionId: 'v123' }, { Key: 'q3', VersionId: 'null' }, { Key: 'sp ace/ü €' }] },
    }),
  );
  t.same(mixed.Deleted?.map((x) => x.Key).sort(), ['a&b<c>"d\'', 'q3', 'sp ace/ü €'].sort(), 'XML-special and unicode keys round-trip');
  t.same(
    mixed.Errors?.map((e) => [e.Key, e.Code]).sort(),
    [
      [long, 'KeyTooLongError'],
      ['q2', 'NoSuchVersion'],
    ].sort(),
    'per-key errors',
  );
  t.same(await allKeys(bucket), ['q2'], 'the key with an error stays');

  const quietErr = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Quiet: true, Objects: [{ Key: 'q2', VersionId: 'other' }] } }));
  t.equal(quietErr.Deleted, undefined);
  t.same(quietErr.Errors?.map((e) => [e.Key, e.Code, e.VersionId]), [['q2', 'NoSuchVersion', 'other']], 'Quiet still reports errors (an id s3d never makes)');
  // Quiet is a boolean, read as MinIO reads it (1 and TRUE are true; an empty element false);
  // anything else is MalformedXML and deletes nothing (a value other than true was taken as false).
  await putMany(d, bucket, ['b1', 'b2', 'b3', 'b4'], bodyOf);
  const withQuiet = (value: string, key: string): string => `<Delete><Quiet>${value}</Quiet><Object><Key>${key}</Key></Object></Delete>`;
  const sendDoc = (doc: string) => rawBodyClient(d, doc).send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'q2' }] } }));
  for (const value of ['yes', 'on', 'truee', '2']) {
    t.equal(await s3Code(sendDoc(withQuiet(value, 'b1'))), 'MalformedXML/400', `<Quiet>${value}</Quiet>: MalformedXML`);
  }
  t.equal(await s3Code(sendDoc(`<Delete><Quiet>true</Quiet><Quiet>false</Quiet><Object><Key>b1</Key></Object></Delete>`)), 'MalformedXML/400', 'two Quiet elements: MalformedXML');
  t.same(await allKeys(bucket), ['b1', 'b2', 'b3', 'b4', 'q2'], 'the refused documents deleted nothing');
  for (const [value, key] of [['1', 'b1'], ['TRUE', 'b2']] as const) {
    const r = await sendDoc(withQuiet(value, key));
    t.same([r.Deleted, r.Errors], [undefined, undefined], `<Quiet>${value}</Quiet> is quiet`);
  }
  for (const [value, key] of [['0', 'b3'], ['', 'b4']] as const) {
    const r = await sendDoc(withQuiet(value, key));
    t.same(r.Deleted?.map((x) => x.Key), [key], `<Quiet>${value}</Quiet> lists the deleted key`);
  }
  t.same(await allKeys(bucket), ['q2'], 'and they deleted their keys');

  // A version id of the right shape that names nothing counts as deleted (S3: a retried batch succeeds).
  const gone = '01890a5d-ac96-774b-bcce-b302099a8057';
  const retried = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'q2', VersionId: gone }] } }));
  t.same(retried.Deleted?.map((x) => [x.Key, x.VersionId]), [['q2', gone]], 'a version that is not there is reported deleted');
  t.equal(retried.Errors, undefined, 'with no error');
  t.same(await allKeys(bucket), ['q2'], 'and q2 itself stays');
});

t.test('GetBucketVersioning answers an empty configuration; PutBucketVersioning takes Enabled and Suspended, not MFA Delete', async (t) => {
  const bucket = await createBucket(s3, 'ver');
  const v = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  t.equal(v.$metadata.httpStatusCode, 200);
  t.equal(v.Status, undefined);
  t.equal(v.MFADelete, undefined);
  t.equal(await s3Code(s3.send(new GetBucketVersioningCommand({ Bucket: bucketName('none') }))), 'NoSuchBucket/404');
  t.equal(await s3Code(s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Enabled' } }))), 'NotImplemented/501', 'MFA Delete');
  // Values outside the schema are bad documents, 400, not an unimplemented feature (CloudServer's
  // AWS-checked versioning tests): s3d answered 501 to any MfaDelete but Disabled.
  for (const [what, mfa, status] of [['MfaDelete fun', 'fun', 'Enabled'], ["MfaDelete fun, Status let's do it", 'fun', "let's do it"], ['MfaDelete Enabled with a bad Status', 'Enabled', 'On']] as const) {
    t.equal(await s3Code(s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: status as 'Enabled', MFADelete: mfa as 'Enabled' } }))), 'MalformedXML/400', what);
  }
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, undefined, 'still unversioned after the refusals');
  t.equal(await s3Code(s3.send(new PutBucketVersioningCommand({ Bucket: bucketName('none'), VersioningConfiguration: { Status: 'Suspended' } }))), 'NoSuchBucket/404');
  // Suspended on a never-versioned bucket: one "null" version per key, as before.
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Suspended', 'Suspended is kept');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'one' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'two' }));
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  t.same(versions.Versions?.map((x) => [x.Key, x.VersionId]), [['k', 'null']], 'an overwrite replaces the null version, as S3 does in a suspended bucket');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Enabled', 'Enabled is kept');
  // MfaDelete Disabled (what s3d does; Terraform's mfa_delete = "Disabled") is given back as S3
  // gives it back once configured: s3d accepted it and answered without it.
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).MFADelete, undefined, 'no MfaDelete before one was put');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Disabled' } }));
  const withMfa = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  t.same([withMfa.Status, withMfa.MFADelete], ['Enabled', 'Disabled'], 'MfaDelete Disabled is kept beside the status');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).MFADelete, 'Disabled', 'and stays when a later configuration leaves it out, as on S3');
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'three' }));
  t.match(put.VersionId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a PUT in an Enabled bucket gets a UUIDv7 version id');
  const after = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  t.same(after.Versions?.map((x) => [x.VersionId, x.IsLatest, x.Size]), [[put.VersionId, true, 5], ['null', false, 3]], 'the null version stays, noncurrent');
  t.equal(await s3Code(s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Off' as 'Enabled' } }))), 'MalformedXML/400', 'no way back to unversioned');
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
  t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Suspended');
});

t.test('ListObjectVersions: every object is the null version, with prefix, delimiter and key markers', async (t) => {
  const bucket = await createBucket(s3, 'lov');
  const keys = ['a', 'b/1', 'b/2', 'b/c/3', 'c', 'd/x', 'z', 'é']; // UTF-8 order: 'z' (7A) < 'é' (C3 A9)
  await putMany(d, bucket, keys, bodyOf);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: 'overwritten' }));

  const all = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  t.same(all.Versions?.map((v) => v.Key), keys, 'one version per key, in key order (overwrites keep no history)');
  for (const v of all.Versions ?? []) {
    t.equal(v.VersionId, 'null');
    t.equal(v.IsLatest, true);
    t.match(v.ETag, /^"[0-9a-f]{32}"$/);
  }
  t.equal(all.Versions![0]!.Size, 'overwritten'.length);
  t.equal(all.DeleteMarkers, undefined);
  t.equal(all.IsTruncated, false);

  const rolled = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Delimiter: '/' }));
  t.same(rolled.Versions?.map((v) => v.Key), ['a', 'c', 'z', 'é']);
  t.same(rolled.CommonPrefixes?.map((p) => p.Prefix), ['b/', 'd/']);
  const inB = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'b/', Delimiter: '/' }));
  t.same(inB.Versions?.map((v) => v.Key), ['b/1', 'b/2']);
  t.same(inB.CommonPrefixes?.map((p) => p.Prefix), ['b/c/']);
  t.equal(inB.Prefix, 'b/');

  const afterKey = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: 'b/2' }));
  t.same(afterKey.Versions?.map((v) => v.Key), ['b/c/3', 'c', 'd/x', 'z', 'é']);
  t.equal(afterKey.KeyMarker, 'b/2');
  const afterNull = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: 'b/2', VersionIdMarker: 'null' }));
  t.same(afterNull.Versions?.map((v) => v.Key), ['b/c/3', 'c', 'd/x', 'z', 'é'], 'after the null version of b/2');

  t.equal(await s3Code(s3.send(new ListObjectVersionsCommand({ Bucket: bucket, VersionIdMarker: 'null' }))), 'InvalidArgument/400', 'version-id-marker without key-marker');
  t.equal(await s3Code(s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: 'a', VersionIdMarker: 'abc' }))), 'InvalidArgument/400', 'a version id that cannot exist');
  // Present but empty markers, as S3 answers them (observed against S3 by gofakes3's s3assumer).
  const emptyVid = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'versions=&key-marker=b%2F2&version-id-marker=' });
  t.equal(`${errorCode(emptyVid.body)}/${emptyVid.status}`, 'InvalidArgument/400', 'key-marker with an empty version-id-marker → 400');
  t.match(emptyVid.body.toString(), /A version-id marker cannot be empty\.[\s\S]*<ArgumentName>version-id-marker<\/ArgumentName>/, '… saying so');
  const emptyKey = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'versions=&key-marker=&version-id-marker=null' });
  t.equal(emptyKey.status, 200, 'an empty key-marker with a version-id-marker → 200');
  t.equal(xmlField(emptyKey.body, 'Key'), 'a', '… the first page (the version-id-marker is ignored)');
  // Ignored, but still checked: one that cannot be a version id is 400 (Swift's AWS-checked tests).
  const bogus = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'versions=&key-marker=&version-id-marker=bogus' });
  t.same([bogus.status, errorCode(bogus.body), xmlField(bogus.body, 'ArgumentValue')], [400, 'InvalidArgument', 'bogus'], 'an empty key-marker with a malformed version-id-marker → 400');
  t.equal(await s3Code(s3.send(new ListObjectVersionsCommand({ Bucket: bucketName('none') }))), 'NoSuchBucket/404');

  // Paging with NextKeyMarker / NextVersionIdMarker visits everything once, with and without a delimiter.
  for (const Delimiter of [undefined, '/']) {
    const want = [...(Delimiter ? rolled : all).Versions!.map((v) => `V:${v.Key}`), ...((Delimiter ? rolled : all).CommonPrefixes ?? []).map((p) => `P:${p.Prefix}`)].sort();
    for (const MaxKeys of [1, 2, 3]) {
      const seen: string[] = [];
      let KeyMarker: string | undefined;
      let VersionIdMarker: string | undefined;
      for (let i = 0; i < 20; i++) {
        const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Delimiter, MaxKeys, KeyMarker, VersionIdMarker }));
        t.ok((r.Versions?.length ?? 0) + (r.CommonPrefixes?.length ?? 0) <= MaxKeys);
        seen.push(...(r.Versions ?? []).map((v) => `V:${v.Key}`), ...(r.CommonPrefixes ?? []).map((p) => `P:${p.Prefix}`));
        if (!r.IsTruncated) break;
        KeyMarker = r.NextKeyMarker;
        VersionIdMarker = r.NextVersionIdMarker;
        const lastIsVersion = r.Versions?.some((v) => v.Key === KeyMarker) ?? false;
        t.equal(VersionIdMarker, lastIsVersion ? 'null' : undefined, 'NextVersionIdMarker is null after a version, absent after a prefix');
      }
      t.same(seen.sort(), want, `delimiter=${Delimiter} max=${MaxKeys}`);
    }
  }
});

t.test('versionId=null names the object; another version id does not exist, one s3d never makes is InvalidArgument', async (t) => {
  const bucket = await createBucket(s3);
  await putMany(d, bucket, ['a', 'b', 'c']);
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a', VersionId: 'null' }));
  t.equal(await got.Body?.transformToString(), 'body of a', 'GET with versionId=null reads the object');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a', VersionId: 'null' }))).ContentLength, 9, 'HEAD with versionId=null');
  t.equal((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'a', VersionId: 'null' }))).TagSet?.length, 0, 'GetObjectTagging with versionId=null');
  const other = '01890a5d-ac96-774b-bcce-b302099a8057';
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a', VersionId: other }))), 'NoSuchVersion/404', 'GET of another version');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a', VersionId: other }))), 'NotFound/404', 'HEAD of another version');
  const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a', VersionId: other }));
  t.equal(del.VersionId, other, 'DELETE of another version: done (204), the id echoed, as S3 answers a repeated delete');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a', VersionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' }))), 'InvalidArgument/400', 'GET with an id s3d never makes');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a', VersionId: 'v2' }))), 'Unknown/400', 'HEAD likewise (no body: the SDK names no code)');
  t.equal(await s3Code(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a', VersionId: 'v2' }))), 'InvalidArgument/400', 'DELETE likewise');
  t.equal(await s3Code(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'x', CopySource: `${bucket}/a?versionId=v2` }))), 'InvalidArgument/400', 'a copy source likewise');
  t.same((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((c) => c.Key), ['a', 'b', 'c'], 'refused deletes deleted nothing');

  // The way scripts empty a bucket: list the versions, delete each by its id.
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  for (const v of versions.Versions ?? []) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }));
  t.equal((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount, 0, 'deleting every listed version by id empties the bucket');
});

t.test("boto3's bucket.object_versions.delete() empties a bucket", { skip: HAS_BOTO3 ? false : 'python3 with boto3 is not available' }, async (t) => {
  const bucket = await createBucket(s3);
  await putMany(d, bucket, ['x/1', 'x/2', 'y']);
  const script = `
import sys, boto3
from botocore.config import Config
s3 = boto3.resource('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1', config=Config(s3={'addressing_style': 'path'}))
b = s3.Bucket(sys.argv[4])
print(sum(len(r.get('Deleted', [])) for r in b.object_versions.delete()))
`;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(PYTHON_BIN, ['-c', script, d.endpoint, ACCESS_KEY, SECRET_KEY, bucket], (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  t.equal(out.trim(), '3', 'boto3 deleted three versions');
  t.equal((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount, 0, 'the bucket is empty');
});
