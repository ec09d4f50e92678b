// What a requester learns beyond what its policies grant, against the real daemon with users
// (S3_IAM_FILE) and a public bucket policy: MinIO's metadata=true listing shows an object's user
// metadata and tags only to one who may read them (s3:GetObject, s3:GetObjectTagging on that key;
// an older version's in ListObjectVersions, s3:GetObjectVersion and s3:GetObjectVersionTagging),
// never to s3:ListBucket alone, for users (minio-js listObjectsV2WithMetadata) and anonymous
// clients (an anonymous minio-js client). The root user sees everything. A read of a missing key or
// version, by GET/HEAD or any object sub-resource (attributes, tagging, ACL, retention, legal hold,
// and their writes, and a copy's source), is 403 AccessDenied to a requester without s3:ListBucket
// on the bucket (user or anonymous) and 404 to one with it, as on S3: a 404 would tell which keys
// exist. Policy variables: home directories by `${aws:username}` in a user policy and in a bucket
// policy, a default for anonymous requests, `${*}`, aws:PrincipalType; a variable s3d cannot fill
// in (an unknown key, no Version 2012-10-17) is refused: a bucket policy with MalformedPolicy (the
// previous one stays), an IAM file at start-up and at a reload (the previous users stay).

import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetObjectAclCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  PutObjectTaggingCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Client as MinioClient } from 'minio';
import { REGION, bucketName, s3Client, startDaemon } from '../helpers/daemon.js';
import { raw } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
import { s3Code } from '../helpers/s3.js';
import { allow, arn, doc, headStatus, startDaemonWithUsers, writeIam } from '../helpers/users.js';
import { MISSING_VID } from '../helpers/versions.js';
import { MetaStore } from '../../daemon/meta/store.js';

/** The users' bucket and the public (bucket-policy) bucket. */
const L = bucketName('disc');
const P = bucketName('discpub');
/** A bucket with Object Lock (so versioned) for the reads of missing keys and versions. */
const K = bucketName('disclock');
/** A versioned bucket whose key has an older version with other metadata and tags. */
const V = bucketName('discver');

/** Every read and write of an object and its sub-resources, with their version actions. */
const OBJECT_ACTIONS = [
  's3:GetObject', 's3:GetObjectVersion', 's3:PutObject',
  's3:GetObjectAttributes', 's3:GetObjectVersionAttributes',
  's3:GetObjectTagging', 's3:GetObjectVersionTagging', 's3:PutObjectTagging', 's3:PutObjectVersionTagging', 's3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging',
  's3:GetObjectAcl', 's3:GetObjectVersionAcl', 's3:PutObjectAcl', 's3:PutObjectVersionAcl',
  's3:GetObjectRetention', 's3:PutObjectRetention', 's3:GetObjectLegalHold', 's3:PutObjectLegalHold',
];

const USERS = {
  // Lists L; reads objects under public/ only, and the tags of those under tagged/ only.
  lister: { accessKey: 'disc-lister', secretKey: 'disc-lister-secret-1', policies: ['lister'] },
  // Lists L; reads every object but no tags.
  listread: { accessKey: 'disc-listread', secretKey: 'disc-listread-secret-2', policies: ['listread'] },
  // Every object action on K, without and with s3:ListBucket.
  reader: { accessKey: 'disc-reader', secretKey: 'disc-reader-secret-3', policies: ['objects'] },
  listreader: { accessKey: 'disc-listreader', secretKey: 'disc-listreader-secret-4', policies: ['objects', 'list-k'] },
  // Tags, retentions and holds on K only as their bodies say (judged once the body is parsed), without and with s3:ListBucket.
  gated: { accessKey: 'disc-gated', secretKey: 'disc-gated-secret-05', policies: ['body-gated'] },
  listgated: { accessKey: 'disc-listgated', secretKey: 'disc-listgated-secret-6', policies: ['body-gated', 'list-k'] },
  // Each its own home directory in L, home/<access key>/, by one policy with ${aws:username}.
  alice: { accessKey: 'disc-alice', secretKey: 'disc-alice-secret-7', policies: ['homes'] },
  bob: { accessKey: 'disc-bob', secretKey: 'disc-bob-secret-8', policies: ['homes'] },
  // Lists V's versions; reads (and tag-reads) its current objects, not their older versions.
  current: { accessKey: 'disc-current', secretKey: 'disc-current-secret-9', policies: ['current-only'] },
};
const policies = {
  lister: doc(allow(['s3:ListBucket'], [L, P]), allow(['s3:GetObject'], [`${L}/public/*`, `${P}/public/*`]), allow(['s3:GetObjectTagging'], [`${L}/tagged/*`])),
  listread: doc(allow(['s3:ListBucket', 's3:GetObject'], [L, `${L}/*`])),
  objects: doc(allow(OBJECT_ACTIONS, [`${K}/*`])),
  'list-k': doc(allow(['s3:ListBucket'], [K])),
  'body-gated': doc(
    allow(['s3:PutObjectTagging', 's3:PutObjectVersionTagging'], [`${K}/*`], { StringEquals: { 's3:RequestObjectTag/ok': 'yes' } }),
    allow(['s3:PutObjectRetention'], [`${K}/*`, `${L}/*`], { StringEquals: { 's3:object-lock-mode': 'GOVERNANCE' } }),
    allow(['s3:PutObjectLegalHold'], [`${K}/*`, `${L}/*`], { StringEquals: { 's3:object-lock-legal-hold': 'ON' } }),
  ),
  'current-only': doc(allow(['s3:ListBucketVersions'], [V]), allow(['s3:GetObject', 's3:GetObjectTagging'], [`${V}/*`])),
  homes: doc(
    allow(['s3:ListBucket'], [L], { StringLike: { 's3:prefix': ['home/${aws:username}/*'] } }),
    allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [`${L}/home/\${aws:username}/*`]),
  ),
};

const { d, iamFile, work } = await startDaemonWithUsers(t, { policies, users: Object.values(USERS) });

const root: S3Client = d.s3();
/** A minio-js client signing as this user. */
const mc = (u: { accessKey: string; secretKey: string }): MinioClient => minioClient(d, { accessKey: u.accessKey, secretKey: u.secretKey });
const anonMc = new MinioClient({ endPoint: '127.0.0.1', port: d.port, useSSL: false, accessKey: '', secretKey: '', region: REGION, pathStyle: true });

const SECRET_META = { 'owner-ssn': '078-05-1120' };
const SECRET_TAGS = 'classification=top-secret';
const KEYS = ['public/p.txt', 'private/s.txt', 'tagged/t.txt'];

for (const b of [L, P]) await root.send(new CreateBucketCommand({ Bucket: b }));
for (const b of [L, P]) {
  for (const Key of KEYS) await root.send(new PutObjectCommand({ Bucket: b, Key, Body: `body of ${Key}`, Metadata: SECRET_META, Tagging: SECRET_TAGS }));
}
// P is listable by anyone, its public/ objects readable by anyone (as `mc anonymous set download` on a prefix).
await root.send(
  new PutBucketPolicyCommand({
    Bucket: P,
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:ListBucket'], Resource: [arn(P)] },
        { Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource: [arn(`${P}/public/*`)] },
      ],
    }),
  }),
);
// K, for the missing keys and versions below. Set up here, before the first t.test: tap ends the
// file's test once it is idle for a few timer turns after a subtest, so an await between two
// t.test calls that outlasted the subtest before it (these requests on a loaded machine) made
// the next t.test throw 'cannot create subtest after parent test ends'.
await root.send(new CreateBucketCommand({ Bucket: K, ObjectLockEnabledForBucket: true }));
await root.send(new PutObjectCommand({ Bucket: K, Key: 'here.txt', Body: 'here', Tagging: 'a=b' }));
await root.send(new CreateBucketCommand({ Bucket: V }));
await root.send(new PutBucketVersioningCommand({ Bucket: V, VersioningConfiguration: { Status: 'Enabled' } }));
await root.send(new PutObjectCommand({ Bucket: V, Key: 'v.txt', Body: 'old', Metadata: SECRET_META, Tagging: SECRET_TAGS }));
await root.send(new PutObjectCommand({ Bucket: V, Key: 'v.txt', Body: 'new', Metadata: { 'owner-ssn': 'none' }, Tagging: 'classification=public' }));

interface Listed {
  name?: string;
  metadata?: Record<string, string> | null;
  tags?: Record<string, string>;
}
/** minio-js listObjectsV2WithMetadata of the whole bucket: key → what it showed. */
async function listedWithMetadata(client: MinioClient, bucket: string): Promise<Record<string, { meta: string | undefined; tags: Record<string, string> }>> {
  const out: Record<string, { meta: string | undefined; tags: Record<string, string> }> = {};
  for await (const item of client.extensions.listObjectsV2WithMetadata(bucket, '', true) as AsyncIterable<Listed>) {
    out[item.name!] = { meta: item.metadata?.['X-Amz-Meta-Owner-Ssn'], tags: item.tags ?? {} };
  }
  return out;
}
const SEEN = { meta: SECRET_META['owner-ssn'], tags: { classification: 'top-secret' } };
const HIDDEN = { meta: undefined, tags: {} };

t.test('metadata=true listing: metadata only where the requester may GetObject, tags only where it may GetObjectTagging', async (t) => {
  t.strictSame(await listedWithMetadata(minioClient(d), L), { 'private/s.txt': SEEN, 'public/p.txt': SEEN, 'tagged/t.txt': SEEN }, 'root: every object\u2019s metadata and tags');
  t.strictSame(
    await listedWithMetadata(mc(USERS.lister), L),
    { 'private/s.txt': HIDDEN, 'public/p.txt': { meta: SEEN.meta, tags: {} }, 'tagged/t.txt': { meta: undefined, tags: SEEN.tags } },
    'a user with s3:ListBucket: the metadata of what it may read (public/), the tags of what it may tag-read (tagged/), nothing of private/',
  );
  t.strictSame(
    await listedWithMetadata(mc(USERS.listread), L),
    { 'private/s.txt': { meta: SEEN.meta, tags: {} }, 'public/p.txt': { meta: SEEN.meta, tags: {} }, 'tagged/t.txt': { meta: SEEN.meta, tags: {} } },
    'a user with s3:GetObject on everything and no s3:GetObjectTagging: metadata, no tags',
  );
  t.strictSame(
    await listedWithMetadata(mc(USERS.lister), P),
    { 'private/s.txt': HIDDEN, 'public/p.txt': { meta: SEEN.meta, tags: {} }, 'tagged/t.txt': HIDDEN },
    'the user in the public bucket: its own policy decides there too',
  );
  t.strictSame(
    await listedWithMetadata(anonMc, P),
    { 'private/s.txt': HIDDEN, 'public/p.txt': { meta: SEEN.meta, tags: {} }, 'tagged/t.txt': HIDDEN },
    'anonymous, under a policy granting s3:ListBucket and s3:GetObject on public/ only: the metadata of public/, no tags',
  );
  const plain: string[] = [];
  for await (const item of anonMc.listObjectsV2(P, '', true) as AsyncIterable<{ name?: string }>) plain.push(item.name!);
  t.strictSame(plain.sort(), [...KEYS].sort(), 'the listing itself is unchanged: every key');
});

t.test('metadata=true on ListObjectVersions: an older version\u2019s metadata and tags only with s3:GetObjectVersion and s3:GetObjectVersionTagging', async (t) => {
  // minio-go's listObjectVersionsQuery, as mc find --versions --metadata sends it.
  const query = 'delimiter=&encoding-type=url&metadata=true&prefix=&versions=';
  const listed = async (sign: { accessKeyId: string; secretAccessKey: string } | undefined): Promise<string[]> => {
    const r = await raw(d.port, { method: 'GET', path: `/${V}`, query, ...(sign ? { sign } : {}) });
    t.equal(r.status, 200);
    return [...r.body.toString().matchAll(/<Version>(.*?)<\/Version>/g)].map((m) => m[1]!);
  };
  const [rootNew, rootOld] = await listed(undefined);
  t.match(rootOld, /078-05-1120.*classification=top-secret/, 'root: the older version\u2019s own metadata and tags');
  t.match(rootNew, /<IsLatest>true<\/IsLatest>/);
  const [newer, older] = await listed({ accessKeyId: USERS.current.accessKey, secretAccessKey: USERS.current.secretKey });
  t.match(newer, /<X-Amz-Meta-Owner-Ssn>none<\/X-Amz-Meta-Owner-Ssn>.*<UserTags>classification=public<\/UserTags>/, 'the current version\u2019s metadata and tags: s3:GetObject and s3:GetObjectTagging read them');
  t.notMatch(older, /UserMetadata|UserTags|078-05-1120|top-secret/, 'the older version\u2019s: neither, without s3:GetObjectVersion and s3:GetObjectVersionTagging');
});

// ---- missing keys and versions -------------------------------------------------------------------

/** An SDK client signing as this user. */
const as = (u: { accessKey: string; secretKey: string }): S3Client => s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId: u.accessKey, secretAccessKey: u.secretKey }, maxAttempts: 1 });

/** Every request on one object that reads its record first, each as `Code/status` (HEAD: its status). */
async function answers(c: S3Client, Key: string, VersionId?: string): Promise<Record<string, string>> {
  const v = VersionId === undefined ? {} : { VersionId };
  const o = { Bucket: K, Key, ...v };
  const future = new Date(Date.now() + 86_400_000);
  const copySource = `${K}/${encodeURIComponent(Key)}${VersionId === undefined ? '' : `?versionId=${VersionId}`}`;
  return {
    GetObject: await s3Code(c.send(new GetObjectCommand(o))),
    HeadObject: String(await headStatus(c.send(new HeadObjectCommand(o)))),
    GetObjectAttributes: await s3Code(c.send(new GetObjectAttributesCommand({ ...o, ObjectAttributes: ['ETag', 'ObjectSize'] }))),
    GetObjectTagging: await s3Code(c.send(new GetObjectTaggingCommand(o))),
    PutObjectTagging: await s3Code(c.send(new PutObjectTaggingCommand({ ...o, Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] } }))),
    DeleteObjectTagging: await s3Code(c.send(new DeleteObjectTaggingCommand(o))),
    GetObjectAcl: await s3Code(c.send(new GetObjectAclCommand(o))),
    PutObjectAcl: await s3Code(c.send(new PutObjectAclCommand({ ...o, ACL: 'private' }))),
    GetObjectRetention: await s3Code(c.send(new GetObjectRetentionCommand(o))),
    PutObjectRetention: await s3Code(c.send(new PutObjectRetentionCommand({ ...o, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: future } }))),
    GetObjectLegalHold: await s3Code(c.send(new GetObjectLegalHoldCommand(o))),
    PutObjectLegalHold: await s3Code(c.send(new PutObjectLegalHoldCommand({ ...o, LegalHold: { Status: 'OFF' } }))),
    CopyObject: await s3Code(c.send(new CopyObjectCommand({ Bucket: K, Key: 'copy.txt', CopySource: copySource }))),
  };
}
/** The same answer for every request of `answers` (HEAD: `head`). */
function all(code: string, head: string): Record<string, string> {
  const ops = ['GetObject', 'HeadObject', 'GetObjectAttributes', 'GetObjectTagging', 'PutObjectTagging', 'DeleteObjectTagging', 'GetObjectAcl', 'PutObjectAcl', 'GetObjectRetention', 'PutObjectRetention', 'GetObjectLegalHold', 'PutObjectLegalHold', 'CopyObject'];
  return Object.fromEntries(ops.map((op) => [op, op === 'HeadObject' ? head : code]));
}

t.test('a missing key or version: 403 AccessDenied without s3:ListBucket, 404 with it, for every object sub-resource', async (t) => {
  const reader = as(USERS.reader);
  const listreader = as(USERS.listreader);
  const present = await answers(reader, 'here.txt');
  t.equal(present.GetObjectAttributes, 'ok', 'the reader may read attributes of an object that exists');
  t.equal(present.GetObjectTagging, 'ok', 'and its tags');
  t.equal(present.GetObjectAcl, 'ok', 'and its ACL');
  t.equal(present.GetObjectRetention, 'NoSuchObjectLockConfiguration/404', 'and its retention (none set)');
  t.equal(present.PutObjectLegalHold, 'ok', 'and set its legal hold');
  t.equal(present.CopyObject, 'ok', 'and copy it');

  t.strictSame(await answers(reader, 'nope.txt'), all('AccessDenied/403', '403'), 'without s3:ListBucket: a missing key is AccessDenied everywhere');
  t.strictSame(await answers(reader, 'here.txt', MISSING_VID), all('AccessDenied/403', '403'), 'without s3:ListBucket: a missing version is AccessDenied everywhere');
  t.strictSame(await answers(listreader, 'nope.txt'), all('NoSuchKey/404', '404'), 'with s3:ListBucket: NoSuchKey');
  t.strictSame(await answers(listreader, 'here.txt', MISSING_VID), all('NoSuchVersion/404', '404'), 'with s3:ListBucket: NoSuchVersion');
  t.strictSame(await answers(root, 'nope.txt'), all('NoSuchKey/404', '404'), 'root: NoSuchKey');
});

t.test('writes judged by their bodies (tags, retention, legal hold): a body the policy refuses is AccessDenied whether or not the key exists', async (t) => {
  const future = new Date(Date.now() + 86_400_000).toISOString();
  const bodies = {
    tagging: { refused: '<Tagging><TagSet><Tag><Key>ok</Key><Value>no</Value></Tag></TagSet></Tagging>', malformed: '<Tagging><TagSet><Tag>' },
    retention: { refused: `<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>${future}</RetainUntilDate></Retention>`, malformed: '<Retention><Mode>' },
    'legal-hold': { refused: '<LegalHold><Status>OFF</Status></LegalHold>', malformed: '<LegalHold><Status>' },
  };
  /** Each sub-resource's answer (`Code/status`) to `body` on `key`, signed by `u`. */
  const probe = async (u: { accessKey: string; secretKey: string }, key: string, body: 'refused' | 'malformed', versionId?: string): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const [sub, b] of Object.entries(bodies)) {
      const r = await raw(d.port, {
        method: 'PUT',
        path: `/${K}/${key}`,
        query: versionId === undefined ? sub : `${sub}&versionId=${versionId}`,
        headers: { 'content-md5': createHash('md5').update(b[body]).digest('base64') },
        body: b[body],
        sign: { accessKeyId: u.accessKey, secretAccessKey: u.secretKey },
      });
      out[sub] = `${/<Code>([^<]*)<\/Code>/.exec(r.body.toString())?.[1] ?? 'ok'}/${r.status}`;
    }
    return out;
  };
  const denied = { tagging: 'AccessDenied/403', retention: 'AccessDenied/403', 'legal-hold': 'AccessDenied/403' };
  for (const u of [USERS.gated, USERS.listgated]) {
    const who = u === USERS.gated ? 'without s3:ListBucket' : 'with s3:ListBucket';
    t.strictSame(await probe(u, 'here.txt', 'refused'), denied, `${who}: a refused body on a key that exists`);
    t.strictSame(await probe(u, 'nope.txt', 'refused'), denied, `${who}: the same body on a missing key`);
    t.strictSame(await probe(u, 'here.txt', 'refused', MISSING_VID), denied, `${who}: on a missing version`);
    t.strictSame(await probe(u, 'nope.txt', 'malformed'), await probe(u, 'here.txt', 'malformed'), `${who}: a malformed body answers alike on a missing key and one that exists`);
  }
  // EventHold OFF alone changes nothing, but is still a PutObjectRetention its body must allow.
  const r = await raw(d.port, { method: 'PUT', path: `/${K}/here.txt`, query: 'retention', body: '<Retention><EventHold>OFF</EventHold></Retention>', sign: { accessKeyId: USERS.gated.accessKey, secretAccessKey: USERS.gated.secretKey } });
  t.equal(r.status, 403, 'a Retention of EventHold OFF alone, by one its policy does not let remove a retention: 403');
  // Bodies the policy allows still go through, and a missing key is then answered as before.
  t.equal(await s3Code(as(USERS.gated).send(new PutObjectLegalHoldCommand({ Bucket: K, Key: 'here.txt', LegalHold: { Status: 'ON' } }))), 'ok', 'an allowed hold is set');
  await root.send(new PutObjectLegalHoldCommand({ Bucket: K, Key: 'here.txt', LegalHold: { Status: 'OFF' } }));
  t.equal(await s3Code(as(USERS.gated).send(new PutObjectTaggingCommand({ Bucket: K, Key: 'nope.txt', Tagging: { TagSet: [{ Key: 'ok', Value: 'yes' }] } }))), 'AccessDenied/403', 'an allowed body on a missing key, without s3:ListBucket: AccessDenied');
  t.equal(await s3Code(as(USERS.listgated).send(new PutObjectTaggingCommand({ Bucket: K, Key: 'nope.txt', Tagging: { TagSet: [{ Key: 'ok', Value: 'yes' }] } }))), 'NoSuchKey/404', 'with s3:ListBucket: NoSuchKey');
  t.equal(await s3Code(as(USERS.listgated).send(new PutObjectTaggingCommand({ Bucket: K, Key: 'here.txt', Tagging: { TagSet: [{ Key: 'ok', Value: 'yes' }] } }))), 'ok', 'and on a key that exists: ok');
  await root.send(new PutObjectTaggingCommand({ Bucket: K, Key: 'here.txt', Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] } }));
});

t.test('retention and legal hold on a bucket without Object Lock: decided by the policy before the bucket is asked', async (t) => {
  const future = new Date(Date.now() + 86_400_000).toISOString();
  /** The answer (`Code/status`) to a PUT of `body` to the sub-resource, signed by `u` (the test's root user when absent). */
  const put = async (u: { accessKey: string; secretKey: string } | undefined, sub: string, body: string): Promise<string> => {
    const r = await raw(d.port, {
      method: 'PUT',
      path: `/${L}/public/p.txt`,
      query: sub,
      headers: { 'content-md5': createHash('md5').update(body).digest('base64') },
      body,
      sign: u === undefined ? {} : { accessKeyId: u.accessKey, secretAccessKey: u.secretKey },
    });
    return `${/<Code>([^<]*)<\/Code>/.exec(r.body.toString())?.[1] ?? 'ok'}/${r.status}`;
  };
  const retention = (mode: string): string => `<Retention><Mode>${mode}</Mode><RetainUntilDate>${future}</RetainUntilDate></Retention>`;
  // A body the policy refuses learns nothing of the bucket's configuration.
  t.equal(await put(USERS.gated, 'retention', retention('COMPLIANCE')), 'AccessDenied/403', 'a refused retention: AccessDenied, not that the bucket has no Object Lock');
  t.equal(await put(USERS.gated, 'legal-hold', '<LegalHold><Status>OFF</Status></LegalHold>'), 'AccessDenied/403', 'a refused legal hold: AccessDenied');
  // An allowed one is then told, as root is.
  t.equal(await put(USERS.gated, 'retention', retention('GOVERNANCE')), 'InvalidRequest/400', 'an allowed retention: the bucket is missing Object Lock');
  t.equal(await put(USERS.gated, 'legal-hold', '<LegalHold><Status>ON</Status></LegalHold>'), 'InvalidRequest/400', 'an allowed legal hold: likewise');
  t.equal(await put(undefined, 'retention', retention('COMPLIANCE')), 'InvalidRequest/400', 'root: likewise');
  // The reads: the gated user may not read either.
  const gated = as(USERS.gated);
  t.equal(await s3Code(gated.send(new GetObjectRetentionCommand({ Bucket: L, Key: 'public/p.txt' }))), 'AccessDenied/403', 'GetObjectRetention without the permission: AccessDenied');
  t.equal(await s3Code(gated.send(new GetObjectLegalHoldCommand({ Bucket: L, Key: 'public/p.txt' }))), 'AccessDenied/403', 'GetObjectLegalHold without the permission: AccessDenied');
});

t.test('anonymous: GetObjectTagging and GetObjectAttributes of a missing key are AccessDenied unless the policy grants s3:ListBucket', async (t) => {
  const anyone = (actions: string[], resources: string[]): object => ({ Effect: 'Allow', Principal: '*', Action: actions, Resource: resources.map(arn) });
  const setPolicy = async (...Statement: object[]): Promise<void> => {
    await root.send(new PutBucketPolicyCommand({ Bucket: K, Policy: JSON.stringify({ Version: '2012-10-17', Statement }) }));
  };
  const reads = ['s3:GetObject', 's3:GetObjectTagging', 's3:GetObjectAttributes', 's3:GetObjectVersionTagging', 's3:GetObjectVersionAttributes'];
  const anon = async (key: string, query: string): Promise<string> => {
    const r = await raw(d.port, { method: 'GET', path: `/${K}/${key}`, query, headers: { 'x-amz-object-attributes': 'ETag' }, sign: false });
    return `${/<Code>([^<]*)<\/Code>/.exec(r.body.toString())?.[1] ?? 'ok'}/${r.status}`;
  };
  const probes = { tagging: 'tagging', attributes: 'attributes', 'tagging of a version': `tagging&versionId=${MISSING_VID}`, 'attributes of a version': `attributes&versionId=${MISSING_VID}` };
  await setPolicy(anyone(reads, [`${K}/*`]));
  t.equal(await anon('here.txt', 'tagging'), 'ok/200', 'GetObjectTagging of an object that exists: 200');
  t.equal(await anon('here.txt', 'attributes'), 'ok/200', 'GetObjectAttributes of an object that exists: 200');
  for (const [what, query] of Object.entries(probes)) {
    t.equal(await anon(what.includes('version') ? 'here.txt' : 'nope.txt', query), 'AccessDenied/403', `without s3:ListBucket, ${what} of a missing object: AccessDenied`);
  }
  await setPolicy(anyone(reads, [`${K}/*`]), anyone(['s3:ListBucket'], [K]));
  t.equal(await anon('nope.txt', 'tagging'), 'NoSuchKey/404', 'with s3:ListBucket: NoSuchKey');
  t.equal(await anon('nope.txt', 'attributes'), 'NoSuchKey/404', 'with s3:ListBucket: NoSuchKey (attributes)');
  t.equal(await anon('here.txt', `tagging&versionId=${MISSING_VID}`), 'NoSuchVersion/404', 'with s3:ListBucket: NoSuchVersion');
  // A key under a delete marker: tagging is 405 MethodNotAllowed as on S3, but only to one who may
  // list; to others it stays AccessDenied (the 405 would tell them the marker is there).
  await root.send(new PutObjectCommand({ Bucket: K, Key: 'gone.txt', Body: 'x' }));
  await root.send(new DeleteObjectCommand({ Bucket: K, Key: 'gone.txt' }));
  t.equal(await anon('gone.txt', 'tagging'), 'MethodNotAllowed/405', 'with s3:ListBucket, tagging of a key under a delete marker: 405');
  await setPolicy(anyone(reads, [`${K}/*`]));
  t.equal(await anon('gone.txt', 'tagging'), 'AccessDenied/403', 'without s3:ListBucket: AccessDenied');
});

// ---- policy variables ----------------------------------------------------------------------------

t.test('policy variables in users\u2019 policies: one policy gives each user its own home directory', async (t) => {
  const alice = as(USERS.alice);
  const bob = as(USERS.bob);
  t.equal(await s3Code(alice.send(new PutObjectCommand({ Bucket: L, Key: 'home/disc-alice/a.txt', Body: 'alice\u2019s' }))), 'ok', 'alice writes in home/disc-alice/');
  t.equal(await s3Code(bob.send(new PutObjectCommand({ Bucket: L, Key: 'home/disc-bob/b.txt', Body: 'bob\u2019s' }))), 'ok', 'bob in home/disc-bob/');
  t.equal(await s3Code(alice.send(new PutObjectCommand({ Bucket: L, Key: 'home/disc-bob/planted.txt', Body: 'x' }))), 'AccessDenied/403', 'alice cannot write in bob\u2019s');
  t.equal(await s3Code(alice.send(new GetObjectCommand({ Bucket: L, Key: 'home/disc-bob/b.txt' }))), 'AccessDenied/403', 'nor read there');
  t.equal(await s3Code(bob.send(new DeleteObjectCommand({ Bucket: L, Key: 'home/disc-alice/a.txt' }))), 'AccessDenied/403', 'bob cannot delete alice\u2019s');
  t.equal(await (await alice.send(new GetObjectCommand({ Bucket: L, Key: 'home/disc-alice/a.txt' }))).Body!.transformToString(), 'alice\u2019s', 'alice reads her own');
  t.equal(await s3Code(alice.send(new GetObjectCommand({ Bucket: L, Key: 'home/${aws:username}/a.txt' }))), 'AccessDenied/403', 'the variable\u2019s text names nothing');
  const listed = await alice.send(new ListObjectsV2Command({ Bucket: L, Prefix: 'home/disc-alice/' }));
  t.strictSame(listed.Contents?.map((o) => o.Key), ['home/disc-alice/a.txt'], 'alice lists her home (s3:prefix against home/${aws:username}/*)');
  t.equal(await s3Code(alice.send(new ListObjectsV2Command({ Bucket: L, Prefix: 'home/disc-bob/' }))), 'AccessDenied/403', 'not bob\u2019s');
  t.equal(await s3Code(alice.send(new ListObjectsV2Command({ Bucket: L }))), 'AccessDenied/403', 'nor the whole bucket');
  // The same through minio-js.
  await mc(USERS.bob).putObject(L, 'home/disc-bob/m.txt', 'via minio-js');
  await t.rejects(mc(USERS.bob).putObject(L, 'home/disc-alice/m.txt', 'x'), { code: 'AccessDenied' }, 'minio-js: the same');
  t.equal(await s3Code(root.send(new HeadObjectCommand({ Bucket: L, Key: 'home/disc-alice/planted.txt' }))), 'NotFound/404', 'nothing was written where it was refused');
});

t.test('policy variables in a bucket policy: ${aws:username}, a default for anonymous requests, ${*}, aws:PrincipalType', async (t) => {
  const H = bucketName('dischome');
  await root.send(new CreateBucketCommand({ Bucket: H }));
  t.teardown(async () => {
    for (const Key of KEYS_H) await root.send(new DeleteObjectCommand({ Bucket: H, Key }));
  });
  const KEYS_H = ['home/disc-lister/x', 'home/disc-listread/x', 'drop/guest/x', 'drop/disc-lister/x', 'stars/*', 'stars/x', 'anon/x'];
  for (const Key of KEYS_H) await root.send(new PutObjectCommand({ Bucket: H, Key, Body: Key }));
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: [arn(`${H}/home/\${aws:username}/*`), arn(`${H}/drop/\${aws:username, 'guest'}/*`), arn(`${H}/stars/\${*}`)] },
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: arn(`${H}/anon/*`), Condition: { StringEquals: { 'aws:PrincipalType': 'Anonymous' } } },
    ],
  });
  await root.send(new PutBucketPolicyCommand({ Bucket: H, Policy: policy }));
  t.equal((await root.send(new GetBucketPolicyCommand({ Bucket: H }))).Policy, policy, 'accepted and read back unchanged');
  const lister = as(USERS.lister); // no grant of its own on H: the bucket policy decides
  const get = async (client: S3Client | undefined, Key: string): Promise<string> => {
    if (client !== undefined) return s3Code(client.send(new GetObjectCommand({ Bucket: H, Key })));
    const r = await raw(d.port, { method: 'GET', path: `/${H}/${Key.replace('*', '%2A')}`, sign: false });
    return r.status === 200 ? 'ok' : `${/<Code>([^<]+)/.exec(r.body.toString())?.[1]}/${r.status}`;
  };
  t.equal(await get(lister, 'home/disc-lister/x'), 'ok', 'a user reads home/<its access key>/');
  t.equal(await get(lister, 'home/disc-listread/x'), 'AccessDenied/403', 'not another user\u2019s');
  t.equal(await get(undefined, 'home/disc-lister/x'), 'AccessDenied/403', 'anonymous: no aws:username, so no home');
  t.equal(await get(undefined, 'drop/guest/x'), 'ok', 'anonymous: the default names drop/guest/');
  t.equal(await get(lister, 'drop/guest/x'), 'AccessDenied/403', 'a user: its own name, not the default');
  t.equal(await get(lister, 'drop/disc-lister/x'), 'ok');
  t.equal(await get(undefined, 'stars/*'), 'ok', '${*} is the character *');
  t.equal(await get(undefined, 'stars/x'), 'AccessDenied/403', 'not a wildcard');
  t.equal(await get(undefined, 'anon/x'), 'ok', 'aws:PrincipalType Anonymous: unsigned requests');
  t.equal(await get(lister, 'anon/x'), 'AccessDenied/403', 'not users (User)');
  t.equal((await root.send(new GetBucketPolicyStatusCommand({ Bucket: H }))).PolicyStatus?.IsPublic, true, 'public: it admits anyone to something');
});

t.test('policy variables s3d cannot fill in are refused with MalformedPolicy; the previous policy stays', async (t) => {
  const before = (await root.send(new GetBucketPolicyCommand({ Bucket: K }))).Policy;
  const home = (resource: string, Condition?: object, Version = '2012-10-17'): string =>
    JSON.stringify({
      Version,
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: arn(`${K}/*`) },
        { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: arn(resource), ...(Condition ? { Condition } : {}) },
      ],
    });
  const cases: Array<[string, string, RegExp]> = [
    ['a variable in a 2008-10-17 policy (IAM would read it as text)', home(`${K}/home/\${aws:username}/*`, undefined, '2008-10-17'), /policy variables need (&quot;|")Version(&quot;|"): (&quot;|")2012-10-17/],
    ['a key s3d has no value for', home(`${K}/home/\${aws:PrincipalOrgID}/*`), /aws:PrincipalOrgID/],
    ['a key no action of the statement has', home(`${K}/\${s3:prefix}/*`), /s3:prefix is a key of/],
    ['a variable in IpAddress', home(`${K}/*`, { IpAddress: { 'aws:SourceIp': '${aws:SourceIp}' } }), /policy variables are taken in Resource and in the values of string operators/],
    ['an unclosed variable', home(`${K}/home/\${aws:username/*`), /a policy variable is \$\{key\}/],
  ];
  for (const [what, text, why] of cases) {
    const r = await raw(d.port, { method: 'PUT', path: `/${K}`, query: 'policy', headers: { 'content-type': 'application/json' }, body: text, sign: { payloadHash: 'hash' } });
    t.equal(r.status, 400, `${what}: 400`);
    t.match(r.body.toString(), /<Code>MalformedPolicy<\/Code>/, `${what}: MalformedPolicy`);
    t.match(r.body.toString(), why, `${what}: saying why`);
  }
  t.equal((await root.send(new GetBucketPolicyCommand({ Bucket: K }))).Policy, before, 'the previous policy stays');
  // A `$` that is no variable is still an ordinary character.
  const dollar = home(`${K}/price$/*`);
  await root.send(new PutBucketPolicyCommand({ Bucket: K, Policy: dollar }));
  t.equal((await root.send(new GetBucketPolicyCommand({ Bucket: K }))).Policy, dollar, 'a "$" without "{" is accepted');
  await root.send(new PutBucketPolicyCommand({ Bucket: K, Policy: before! }));
});

t.test('a policy variable s3d cannot fill in, in the IAM file: start-up fails naming S3_IAM_FILE; a reload is refused and the previous users stay', async (t) => {
  const withVariable = {
    policies: { ...policies, teams: doc(allow(['s3:GetObject', 's3:PutObject'], [`${L}/teams/\${aws:PrincipalOrgID}/*`])) },
    users: [...Object.values(USERS), { accessKey: 'disc-team', secretKey: 'disc-team-secret-5', policies: ['teams'] }],
  };
  /** The start-up error of a daemon given this IAM file ('started' when it starts anyway: then stopped). */
  async function startError(file: string): Promise<string> {
    try {
      const x = await startDaemon({ env: { S3_IAM_FILE: file } });
      await x.stop();
      x.cleanup();
      return 'started';
    } catch (err) {
      return (err as Error).message;
    }
  }
  const bad = writeIam(join(work, 'variables.json'), withVariable);
  t.match(await startError(bad), /S3_IAM_FILE[^\n]*policy \\?"teams\\?"[^\n]*aws:PrincipalOrgID/, 'the daemon does not start, and says which policy and why');
  const old = writeIam(join(work, 'old-variables.json'), {
    policies: { c: { Statement: [{ Effect: 'Allow', Action: ['s3:ListBucket'], Resource: arn(L), Condition: { StringLike: { 's3:prefix': 'home/${aws:username}/*' } } }] } },
    users: [{ accessKey: 'disc-cond', secretKey: 'disc-cond-secret-6', policies: ['c'] }],
  });
  t.match(await startError(old), /S3_IAM_FILE[^\n]*policy variables need/, 'a variable in a policy without Version 2012-10-17: the same');

  // The running daemon's file gets the variable: the reload fails, the previous users stay.
  const good = readFileSync(iamFile, 'utf8');
  writeIam(iamFile, withVariable);
  try {
    const reloads = (): number => d.jsonLogs().filter((l) => String(l.msg).startsWith('users reload')).length;
    const n = reloads();
    process.kill(d.proc.pid!, 'SIGHUP');
    await d.waitForLog(() => reloads() > n, 10_000);
    const line = d.jsonLogs().filter((l) => String(l.msg).startsWith('users reload'))[n];
    t.match(String(line?.msg), /^users reload failed/, 'the reload fails');
    t.match(JSON.stringify(line), /aws:PrincipalOrgID/, 'saying why');
    t.equal(await s3Code(as({ accessKey: 'disc-team', secretKey: 'disc-team-secret-5' }).send(new GetObjectCommand({ Bucket: L, Key: 'teams/x/y' }))), 'InvalidAccessKeyId/403', 'the new user was not added');
    t.equal(await s3Code(as(USERS.listread).send(new GetObjectCommand({ Bucket: L, Key: 'private/s.txt' }))), 'ok', 'the previous users still work');
  } finally {
    writeIam(iamFile, good);
  }
});

t.test('a stored bucket policy this version does not accept (a variable s3d cannot fill in) is named at start-up', async (t) => {
  const x = await startDaemon();
  t.teardown(async () => {
    await x.stop();
    x.cleanup();
  });
  const bucket = bucketName('oldpolicy');
  await x.s3().send(new CreateBucketCommand({ Bucket: bucket }));
  t.equal(await x.stop(), 0, 'stopped');
  // What this version refuses, written into the store as another version might have.
  const old = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: arn(`${bucket}/teams/\${aws:PrincipalOrgID}/*`) }] });
  const meta = new MetaStore(join(x.dataDir, '.s3d'));
  await meta.updateBucket(bucket, (b) => ({ ...b, policy: old }));
  await meta.close();
  const again = await startDaemon({ dataDir: x.dataDir });
  t.teardown(() => again.stop());
  const line = again.jsonLogs().find((l) => l.level === 50 && l.bucket === bucket);
  t.match(line?.msg, /bucket policy stored for this bucket is not valid for this version/, 'an error line names the bucket');
  t.match(line?.error, /aws:PrincipalOrgID/, 'and says why');
  const anon = await raw(again.port, { method: 'GET', path: `/${bucket}/teams/x/k`, sign: false });
  t.equal(anon.status, 400, 'requests it judges are refused meanwhile');
  t.match(anon.body.toString(), /MalformedPolicy/);
  t.equal(await s3Code(again.s3().send(new ListObjectsV2Command({ Bucket: bucket }))), 'ok', 'root is unaffected');
});
