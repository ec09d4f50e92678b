// What a requester learns beyond what its policies grant, against the real daemon with users
// (S3_IAM_FILE) and a public bucket policy: MinIO's metadata=true listing shows an object's user
// metadata and tags only to one who may read them (s3:GetObject, s3:GetObjectTagging on that key),
// never to s3:ListBucket alone, for users (minio-js listObjectsV2WithMetadata) and anonymous
// clients (an anonymous minio-js client). The root user sees everything.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Client as MinioClient } from 'minio';
import { REGION, bucketName, startDaemon } from '../helpers/daemon.js';
import { minioClient } from '../helpers/minio.js';
import { allow, arn, doc, writeIam } from '../helpers/users.js';

/** The users' bucket and the public (bucket-policy) bucket. */
const L = bucketName('disc');
const P = bucketName('discpub');

const USERS = {
  // Lists L; reads objects under public/ only, and the tags of those under tagged/ only.
  lister: { accessKey: 'disc-lister', secretKey: 'disc-lister-secret-1', policies: ['lister'] },
  // Lists L; reads every object but no tags.
  listread: { accessKey: 'disc-listread', secretKey: 'disc-listread-secret-2', policies: ['listread'] },
};
const policies = {
  lister: doc(allow(['s3:ListBucket'], [L, P]), allow(['s3:GetObject'], [`${L}/public/*`, `${P}/public/*`]), allow(['s3:GetObjectTagging'], [`${L}/tagged/*`])),
  listread: doc(allow(['s3:ListBucket', 's3:GetObject'], [L, `${L}/*`])),
};

const work = mkdtempSync(join(tmpdir(), 's3d-disclosure-'));
const iamFile = writeIam(join(work, 'iam.json'), { policies, users: Object.values(USERS) });
const d = await startDaemon({ env: { S3_IAM_FILE: iamFile } });
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await d.stop();
  d.cleanup();
  rmSync(work, { recursive: true, force: true });
});

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
