// Access keys besides the root user (S3_IAM_FILE) against the real daemon: the built-in policies
// (readwrite, readonly, writeonly) and the file's own identity policies, each operation's IAM
// action (listing buckets, creating and deleting them, HEAD/list, objects, versions, copies,
// multipart, tagging, bucket configuration: each admitted by exactly its action), resource
// patterns with * and ?, every supported condition operator and key (s3:prefix, s3:delimiter,
// s3:max-keys, aws:SourceIp, aws:SecureTransport over HTTP and HTTPS, aws:Referer,
// aws:UserAgent), an explicit Deny winning over any Allow (in the user's policies or the
// bucket's), bucket policies allowing users what their own policies do not, DeleteObjects
// checked key by key, form uploads (minio-js presignedPostPolicy) and presigned URLs signed by a
// user, InvalidAccessKeyId / SignatureDoesNotMatch, the root user never restricted, SIGHUP
// reloads (users added, removed and changed; a broken file keeps the previous users), start-up
// refusals of broken files, the world-readable warning, and secrets kept out of the log. Clients:
// the SDK, boto3, the aws CLI and minio-js (each skipped when missing). Every denial is shown
// next to the same request succeeding for someone allowed, and followed by a check that it
// changed nothing.

import t from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketCorsCommand,
  GetBucketVersioningCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  ListObjectsCommand,
  ListPartsCommand,
  PutBucketCorsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, s3Client, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { awsCli, NO_AWS } from '../helpers/aws-cli.js';
import { sha256Hex } from '../helpers/hash.js';
import { raw } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
import { getBytes, s3Code, withHeaders } from '../helpers/s3.js';
import { sleep } from '../helpers/wait.js';
import { PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';

const work = mkdtempSync(join(tmpdir(), 's3d-users-'));
const run = randomBytes(3).toString('hex');

// ---- the IAM file ----------------------------------------------------------------------------

const arn = (r: string): string => `arn:aws:s3:::${r}`;

type Cond = Record<string, Record<string, string | string[]>>;
interface Stmt {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Cond;
}
function allow(actions: string[], resources: string[], Condition?: Cond): Stmt {
  return { Effect: 'Allow', Action: actions, Resource: resources.map(arn), ...(Condition ? { Condition } : {}) };
}
function deny(actions: string[], resources: string[], Condition?: Cond): Stmt {
  return { Effect: 'Deny', Action: actions, Resource: resources.map(arn), ...(Condition ? { Condition } : {}) };
}
const doc = (...Statement: Stmt[]): unknown => ({ Version: '2012-10-17', Statement });

interface UserEntry {
  accessKey: string;
  secretKey: string;
  policies: string[];
  comment?: string;
}

const B = bucketName('iam'); // the shared bucket
const SRC = bucketName('iamsrc'); // copy sources
const VB = bucketName('iamver'); // versioned
const CFG = `cfg-${run}`; // bucket-configuration buckets are CFG-<n>
const UA = 's3d-users-agent/1.0';
const REFERER = 'https://app.example/upload';

/** Bucket-configuration operations, each with the one action a policy names for it. */
const CONFIG_ACTIONS = [
  's3:PutBucketPolicy',
  's3:GetLifecycleConfiguration',
  's3:PutLifecycleConfiguration',
  's3:PutEncryptionConfiguration',
  's3:PutBucketVersioning',
  's3:PutBucketCORS',
  's3:PutBucketTagging',
  's3:DeleteBucket',
] as const;

const policies: Record<string, unknown> = {
  // Objects under photos/ of B; listing only with prefix photos/; keep-* can't be deleted, *.exe can't be written.
  photos: doc(
    allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [`${B}/photos/*`]),
    allow(['s3:ListBucket'], [B], { StringEquals: { 's3:prefix': 'photos/' } }),
    allow(['s3:GetObject'], [`${B}/docs/report-20??.pdf`]),
    deny(['s3:DeleteObject'], [`${B}/photos/keep-*`]),
    deny(['s3:PutObject'], [`${B}/photos/*.exe`]),
  ),
  // With readwrite: nothing under any bucket's secret/ prefix.
  'no-secret': doc(deny(['s3:*'], ['*/secret/*'])),
  conditions: doc(
    allow(['s3:GetObject'], [`${B}/cond/*`], { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } }),
    allow(['s3:GetObject'], [`${B}/far/*`], { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } }),
    deny(['s3:GetObject'], [`${B}/cond/*`], { StringNotLike: { 'aws:UserAgent': `*${UA}*` } }),
    allow(['s3:PutObject'], [`${B}/cond/*`], { StringEquals: { 'aws:Referer': REFERER } }),
    deny(['s3:PutObject'], [`${B}/cond/*`], { NotIpAddress: { 'aws:SourceIp': '127.0.0.0/8' } }),
    allow(['s3:ListBucket'], [B], { StringEquals: { 's3:delimiter': '/' }, StringLike: { 's3:prefix': 'cond/*' } }),
    deny(['s3:ListBucket'], [B], { StringNotEquals: { 's3:max-keys': '1000' } }),
  ),
  'tls-only': doc(allow(['s3:GetObject', 's3:PutObject'], [`${B}/*`], { Bool: { 'aws:SecureTransport': 'true' } })),
  versions: doc(allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'], [VB, `${VB}/*`])),
  copier: doc(allow(['s3:PutObject'], [`${B}/copies/*`]), allow(['s3:GetObject'], [`${SRC}/open/*`])),
  creator: doc(allow(['s3:CreateBucket'], [`usr-${run}-*`]), allow(['s3:ListAllMyBuckets'], ['*'])),
};
const users: UserEntry[] = [
  { accessKey: 'app-rw', secretKey: 'rw-secret-0001', policies: ['readwrite'] },
  { accessKey: 'app-ro', secretKey: 'ro-secret-0002', policies: ['readonly'], comment: 'dashboards' },
  { accessKey: 'app-wo', secretKey: 'eight888', policies: ['writeonly'], comment: 'a secret of exactly 8 characters' },
  { accessKey: 'app-photos', secretKey: 'photos-secret-03', policies: ['photos'] },
  { accessKey: 'app-nosecret', secretKey: 'nosecret-secret-4', policies: ['readwrite', 'no-secret'] },
  { accessKey: 'app-cond', secretKey: 'cond-secret-00005', policies: ['conditions'] },
  { accessKey: 'app-tls', secretKey: 'tls-secret-000006', policies: ['tls-only'] },
  { accessKey: 'app-ver', secretKey: 'ver-secret-000007', policies: ['versions'] },
  { accessKey: 'app-copy', secretKey: 'copy-secret-00008', policies: ['copier'] },
  { accessKey: 'app-creator', secretKey: 'creator-secret-9', policies: ['creator'] },
];
CONFIG_ACTIONS.forEach((action, i) => {
  policies[`cfg-${i}`] = doc(allow([action], [`${CFG}-*`]));
  users.push({ accessKey: `cfg-user-${i}`, secretKey: `cfg-secret-${i}-xyz`, policies: [`cfg-${i}`] });
});

function writeIam(path: string, content: unknown, mode = 0o600): string {
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2), { mode });
  chmodSync(path, mode);
  return path;
}

const iamFile = writeIam(join(work, 'iam.json'), { policies, users });

// The reload daemon's file starts world-readable (the warning), with three users.
const reloadFile = join(work, 'reload-iam.json');
const reloadUsers0 = {
  users: [
    { accessKey: 'r-one', secretKey: 'r-one-secret', policies: ['readonly'] },
    { accessKey: 'r-gone', secretKey: 'r-gone-secret', policies: ['readwrite'] },
  ],
};
writeIam(reloadFile, reloadUsers0, 0o644);

const [d, tlsd, rd] = await Promise.all([
  startDaemon({ env: { S3_IAM_FILE: iamFile } }),
  startDaemon({ tls: true, env: { S3_IAM_FILE: iamFile } }),
  startDaemon({ env: { S3_IAM_FILE: reloadFile } }),
]);
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) for (const x of [d, tlsd, rd]) console.error(x.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await Promise.all([d.stop(), tlsd.stop(), rd.stop()]);
  d.cleanup();
  tlsd.cleanup();
  rd.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const root = d.s3();
const secretOf = (accessKey: string): string => users.find((u) => u.accessKey === accessKey)!.secretKey;
/** An SDK client of `daemon` signing as `accessKey` (its secret from the file unless given). */
function as(accessKey: string, daemon: TestDaemon = d, extra: Parameters<typeof s3Client>[3] = {}, secret = secretOf(accessKey)): S3Client {
  return s3Client(daemon.endpoint, daemon.caCert, true, { credentials: { accessKeyId: accessKey, secretAccessKey: secret }, maxAttempts: 1, ...extra });
}
const rw = as('app-rw');
const ro = as('app-ro');
const wo = as('app-wo');
const photos = as('app-photos');

const DENIED = 'AccessDenied/403';

async function text(client: S3Client, Bucket: string, Key: string, VersionId?: string): Promise<string> {
  return (await getBytes(client, { Bucket, Key, ...(VersionId ? { VersionId } : {}) })).toString();
}
/** Root's view of an object: its body, or the HEAD error (`NotFound/404`). */
async function rootSees(Bucket: string, Key: string): Promise<string> {
  try {
    return await text(root, Bucket, Key);
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return `${e.name}/${e.$metadata?.httpStatusCode}`;
  }
}
/** The root user sets bucket `b`'s policy to these statements. */
async function setBucketPolicy(b: string, statements: object[]): Promise<void> {
  await root.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }));
}

async function put(client: S3Client, Bucket: string, Key: string, Body: string | Buffer): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket, Key, Body }));
}
/** Status of a HEAD (a 403 HEAD has no body, so no code to compare). */
async function headStatus(p: Promise<{ $metadata: { httpStatusCode?: number } }>): Promise<number | string> {
  try {
    return (await p).$metadata.httpStatusCode ?? 'none';
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? String(err);
  }
}
async function keysOf(client: S3Client, Bucket: string, Prefix?: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket, ...(Prefix !== undefined ? { Prefix } : {}) }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

// Shared fixtures, made by root.
await Promise.all([B, SRC, VB].map((b) => root.send(new CreateBucketCommand({ Bucket: b }))));
await root.send(new PutBucketVersioningCommand({ Bucket: VB, VersioningConfiguration: { Status: 'Enabled' } }));
await Promise.all(
  Object.entries({
    'photos/a.jpg': 'photo a',
    'photos/keep-b.jpg': 'photo b (kept)',
    'docs/c.txt': 'doc c',
    'docs/report-2024.pdf': 'report 2024',
    'docs/report-20245.pdf': 'report 20245',
    'docs/report-2024.pdfx': 'report 2024 x',
    'secret/s.txt': 'the secret',
    'cond/x.txt': 'cond x',
    'far/y.txt': 'far y',
    'plain.txt': 'plain',
  }).map(([k, v]) => put(root, B, k, v)),
);

// ==================================================================================================

t.test('start-up: the file is loaded, no warning for mode 0600, no secret in the log', async (t) => {
  const loaded = d.jsonLogs().find((l) => l.msg === 'users loaded');
  t.ok(loaded, 'a "users loaded" line');
  t.equal(loaded?.users, users.length, `it counts the ${users.length} users`);
  t.notOk(
    d.logs.some((l) => l.includes('readable by every user')),
    'no world-readable warning for a 0600 file',
  );
  const warned = rd.logs.filter((l) => l.includes('readable by every user'));
  t.equal(warned.length, 1, 'the daemon with a 0644 file warns once');
  t.match(warned[0] ?? '', /"level":40/, 'as a warning');
  t.match(warned[0] ?? '', reloadFile, 'naming the file');
  t.match(warned[0] ?? '', /644/, 'and its mode');
  t.equal(rd.proc.exitCode, null, 'and serves anyway');
});

t.test('unknown access keys and wrong secrets', async (t) => {
  t.equal(await s3Code(as('nobody-here', d, {}, 'whatever-secret').send(new ListBucketsCommand({}))), 'InvalidAccessKeyId/403', 'an access key in no file → InvalidAccessKeyId');
  t.equal(await s3Code(as('app-ro', d, {}, 'ro-secret-0003').send(new ListBucketsCommand({}))), 'SignatureDoesNotMatch/403', 'a user with a wrong secret → SignatureDoesNotMatch');
  t.equal(await s3Code(as('app-ro', d, {}, SECRET_KEY).send(new ListBucketsCommand({}))), 'SignatureDoesNotMatch/403', "a user with root's secret → SignatureDoesNotMatch");
  t.equal(await s3Code(as(ACCESS_KEY, d, {}, 'ro-secret-0002').send(new ListBucketsCommand({}))), 'SignatureDoesNotMatch/403', "root's key with a user's secret → SignatureDoesNotMatch");
  t.equal(await s3Code(as('app-ro').send(new ListBucketsCommand({}))), 'ok', 'the same request with the right secret works');
  t.equal(await s3Code(as('nobody-here', d, {}, 'whatever-secret').send(new PutObjectCommand({ Bucket: B, Key: 'photos/ghost.txt', Body: 'x' }))), 'InvalidAccessKeyId/403', 'an unknown key cannot write');
  t.equal(await rootSees(B, 'photos/ghost.txt'), 'NoSuchKey/404', 'nothing written');
});

t.test('readonly: lists and reads; every write is AccessDenied and changes nothing', async (t) => {
  const buckets = (await ro.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name) ?? [];
  t.ok(buckets.includes(B) && buckets.includes(VB), 'ListBuckets (s3:ListAllMyBuckets) lists every bucket');
  t.equal(await headStatus(ro.send(new HeadBucketCommand({ Bucket: B }))), 200, 'HeadBucket (s3:ListBucket): 200');
  t.ok((await keysOf(ro, B)).includes('photos/a.jpg'), 'ListObjectsV2');
  t.ok(((await ro.send(new ListObjectsCommand({ Bucket: B }))).Contents ?? []).some((o) => o.Key === 'docs/c.txt'), 'ListObjects (V1)');
  t.equal(await text(ro, B, 'docs/c.txt'), 'doc c', 'GetObject');
  t.equal(await headStatus(ro.send(new HeadObjectCommand({ Bucket: B, Key: 'docs/c.txt' }))), 200, 'HeadObject');
  t.same((await ro.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'docs/c.txt' }))).TagSet, [], 'GetObjectTagging');
  t.equal((await ro.send(new GetObjectAttributesCommand({ Bucket: B, Key: 'docs/c.txt', ObjectAttributes: ['ObjectSize'] }))).ObjectSize, 5, 'GetObjectAttributes');
  t.equal(await s3Code(ro.send(new GetBucketLocationCommand({ Bucket: B }))), 'ok', 'GetBucketLocation');
  t.equal(await s3Code(wo.send(new GetBucketLocationCommand({ Bucket: B }))), DENIED, 'writeonly: GetBucketLocation → AccessDenied');
  t.equal(await s3Code(wo.send(new GetObjectAttributesCommand({ Bucket: B, Key: 'docs/c.txt', ObjectAttributes: ['ObjectSize'] }))), DENIED, 'writeonly: GetObjectAttributes → AccessDenied');

  // A denied upload with a large body: 403, nothing stored, and the client's next request still works.
  const big = testBytes(8 * 1024 * 1024, 9);
  t.equal(await s3Code(ro.send(new PutObjectCommand({ Bucket: B, Key: 'ro-big.bin', Body: big }))), DENIED, 'PutObject of 8 MiB → AccessDenied');
  t.equal(await text(ro, B, 'docs/c.txt'), 'doc c', 'the same client goes on reading');
  t.equal(await rootSees(B, 'ro-big.bin'), 'NoSuchKey/404', 'nothing stored');

  t.equal(await s3Code(ro.send(new PutObjectCommand({ Bucket: B, Key: 'ro-put.txt', Body: 'no' }))), DENIED, 'PutObject → AccessDenied');
  t.equal(await rootSees(B, 'ro-put.txt'), 'NoSuchKey/404', 'nothing stored');
  t.equal(await s3Code(rw.send(new PutObjectCommand({ Bucket: B, Key: 'rw-put.txt', Body: 'yes' }))), 'ok', 'readwrite: the same PutObject works');
  t.equal(await rootSees(B, 'rw-put.txt'), 'yes', 'and is stored');

  t.equal(await s3Code(ro.send(new DeleteObjectCommand({ Bucket: B, Key: 'rw-put.txt' }))), DENIED, 'DeleteObject → AccessDenied');
  t.equal(await rootSees(B, 'rw-put.txt'), 'yes', 'the object is still there');
  t.equal(await s3Code(rw.send(new DeleteObjectCommand({ Bucket: B, Key: 'rw-put.txt' }))), 'ok', 'readwrite deletes it');
  t.equal(await rootSees(B, 'rw-put.txt'), 'NoSuchKey/404', 'gone');

  t.equal(await s3Code(ro.send(new CopyObjectCommand({ Bucket: B, Key: 'ro-copy.txt', CopySource: `${B}/docs/c.txt` }))), DENIED, 'CopyObject → AccessDenied');
  t.equal(await rootSees(B, 'ro-copy.txt'), 'NoSuchKey/404', 'no copy made');

  const tagging = { TagSet: [{ Key: 'k', Value: 'v' }] };
  t.equal(await s3Code(ro.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'docs/c.txt', Tagging: tagging }))), DENIED, 'PutObjectTagging → AccessDenied');
  t.same((await root.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'docs/c.txt' }))).TagSet, [], 'no tags set');
  const other = bucketName('iamtag');
  await root.send(new CreateBucketCommand({ Bucket: other }));
  await put(root, other, 'o', 'o');
  t.equal(await s3Code(rw.send(new PutObjectTaggingCommand({ Bucket: other, Key: 'o', Tagging: tagging }))), 'ok', 'readwrite: PutObjectTagging works');
  t.same((await ro.send(new GetObjectTaggingCommand({ Bucket: other, Key: 'o' }))).TagSet, [{ Key: 'k', Value: 'v' }], 'readonly reads the tags back');

  const nb = bucketName('iamro');
  t.equal(await s3Code(ro.send(new CreateBucketCommand({ Bucket: nb }))), DENIED, 'CreateBucket → AccessDenied');
  t.equal(await headStatus(root.send(new HeadBucketCommand({ Bucket: nb }))), 404, 'no bucket made');
  t.equal(await s3Code(rw.send(new CreateBucketCommand({ Bucket: nb }))), 'ok', 'readwrite: CreateBucket works');
  t.equal(await s3Code(ro.send(new DeleteBucketCommand({ Bucket: nb }))), DENIED, 'DeleteBucket → AccessDenied');
  t.equal(await headStatus(root.send(new HeadBucketCommand({ Bucket: nb }))), 200, 'the bucket is still there');
  t.equal(await s3Code(rw.send(new DeleteBucketCommand({ Bucket: nb }))), 'ok', 'readwrite deletes it');
  t.equal(await headStatus(root.send(new HeadBucketCommand({ Bucket: nb }))), 404, 'gone');

  t.equal(await s3Code(ro.send(new GetBucketLifecycleConfigurationCommand({ Bucket: B }))), DENIED, 'GetBucketLifecycleConfiguration is not in readonly');
  t.equal(await s3Code(ro.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Enabled' } }))), DENIED, 'PutBucketVersioning → AccessDenied');
  t.equal((await root.send(new GetBucketVersioningCommand({ Bucket: B }))).Status, undefined, 'versioning still off');
});

t.test('writeonly: puts and multipart uploads, but no reads, listings or deletes', async (t) => {
  t.equal(await s3Code(wo.send(new ListBucketsCommand({}))), DENIED, 'ListBuckets → AccessDenied (no s3:ListAllMyBuckets)');
  t.equal(await s3Code(root.send(new ListBucketsCommand({}))), 'ok', 'root lists buckets');
  t.equal(await headStatus(wo.send(new HeadBucketCommand({ Bucket: B }))), 403, 'HeadBucket → 403 (no s3:ListBucket)');
  t.equal(await s3Code(wo.send(new ListObjectsV2Command({ Bucket: B }))), DENIED, 'ListObjectsV2 → AccessDenied');

  await put(wo, B, 'wo/one.txt', 'written by writeonly');
  t.equal(await rootSees(B, 'wo/one.txt'), 'written by writeonly', 'PutObject stored');
  t.equal(await s3Code(wo.send(new GetObjectCommand({ Bucket: B, Key: 'wo/one.txt' }))), DENIED, 'GetObject of its own object → AccessDenied');
  t.equal(await headStatus(wo.send(new HeadObjectCommand({ Bucket: B, Key: 'wo/one.txt' }))), 403, 'HeadObject → 403');
  t.equal(await s3Code(wo.send(new DeleteObjectCommand({ Bucket: B, Key: 'wo/one.txt' }))), DENIED, 'DeleteObject → AccessDenied');
  t.equal(await rootSees(B, 'wo/one.txt'), 'written by writeonly', 'still there');

  const part1 = testBytes(5 * 1024 * 1024, 3);
  const part2 = testBytes(1000, 4);
  // AWS (and MinIO) also require s3:PutObjectTagging for tags given with the upload (x-amz-tagging);
  // writeonly lacks it.
  const tagged = await s3Code(wo.send(new PutObjectCommand({ Bucket: B, Key: 'wo/tagged.txt', Body: 't', Tagging: 'team=x' })));
  const tagsSet = tagged === 'ok' ? (await root.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'wo/tagged.txt' }))).TagSet : [];
  t.same({ tagged, tagsSet }, { tagged: DENIED, tagsSet: [] }, 'PutObject with x-amz-tagging needs s3:PutObjectTagging as well (as on AWS)');

  const up = await wo.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'wo/multi.bin' }));
  const p1 = await wo.send(new UploadPartCommand({ Bucket: B, Key: 'wo/multi.bin', UploadId: up.UploadId, PartNumber: 1, Body: part1 }));
  const p2 = await wo.send(new UploadPartCommand({ Bucket: B, Key: 'wo/multi.bin', UploadId: up.UploadId, PartNumber: 2, Body: part2 }));
  const parts = await wo.send(new ListPartsCommand({ Bucket: B, Key: 'wo/multi.bin', UploadId: up.UploadId }));
  t.same(parts.Parts?.map((p) => p.PartNumber), [1, 2], 'ListParts (s3:ListMultipartUploadParts)');
  t.equal(await s3Code(wo.send(new ListMultipartUploadsCommand({ Bucket: B }))), DENIED, 'ListMultipartUploads → AccessDenied (no s3:ListBucketMultipartUploads)');
  t.equal(await s3Code(ro.send(new ListPartsCommand({ Bucket: B, Key: 'wo/multi.bin', UploadId: up.UploadId }))), DENIED, 'readonly: ListParts → AccessDenied');
  t.equal(await s3Code(ro.send(new UploadPartCommand({ Bucket: B, Key: 'wo/multi.bin', UploadId: up.UploadId, PartNumber: 3, Body: 'x' }))), DENIED, 'readonly: UploadPart → AccessDenied');
  t.equal(
    await s3Code(ro.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'wo/multi.bin', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }))),
    DENIED,
    'readonly: CompleteMultipartUpload → AccessDenied',
  );
  t.equal(await rootSees(B, 'wo/multi.bin'), 'NoSuchKey/404', 'no object yet');
  t.equal(await s3Code(ro.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'wo/multi.bin', UploadId: up.UploadId }))), DENIED, 'readonly: AbortMultipartUpload → AccessDenied');
  const still = await root.send(new ListPartsCommand({ Bucket: B, Key: 'wo/multi.bin', UploadId: up.UploadId }));
  t.same(still.Parts?.map((p) => p.PartNumber), [1, 2], 'the upload and its two parts are intact (no part 3)');
  await wo.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'wo/multi.bin', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }));
  t.equal(sha256Hex(await getBytes(root, { Bucket: B, Key: 'wo/multi.bin' })), sha256Hex(Buffer.concat([part1, part2])), 'writeonly completed the upload: the bytes are right');

  const up2 = await wo.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'wo/aborted.bin' }));
  t.equal(await s3Code(wo.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'wo/aborted.bin', UploadId: up2.UploadId }))), 'ok', 'AbortMultipartUpload (s3:AbortMultipartUpload)');
  const left = await root.send(new ListMultipartUploadsCommand({ Bucket: B }));
  t.same((left.Uploads ?? []).map((u) => u.Key), [], 'no upload left');
});

t.test('a policy of the file: resources with * and ?, prefix-limited listing, Deny over Allow', async (t) => {
  t.same(await keysOf(photos, B, 'photos/'), ['photos/a.jpg', 'photos/keep-b.jpg'], 'ListObjectsV2 prefix photos/ (s3:prefix StringEquals)');
  t.equal(await s3Code(photos.send(new ListObjectsV2Command({ Bucket: B }))), DENIED, 'no prefix → AccessDenied');
  t.equal(await s3Code(photos.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'docs/' }))), DENIED, 'prefix docs/ → AccessDenied');
  t.equal(await s3Code(photos.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'photos/a' }))), DENIED, 'prefix photos/a (not equal) → AccessDenied');
  t.equal(await s3Code(photos.send(new ListBucketsCommand({}))), DENIED, 'ListBuckets → AccessDenied');

  t.equal(await text(photos, B, 'photos/a.jpg'), 'photo a', 'GetObject photos/a.jpg');
  t.equal(await s3Code(photos.send(new GetObjectCommand({ Bucket: B, Key: 'docs/c.txt' }))), DENIED, 'GetObject docs/c.txt → AccessDenied');
  t.equal(await s3Code(photos.send(new GetObjectCommand({ Bucket: B, Key: 'photos' }))), DENIED, 'GetObject "photos" (outside photos/*) → AccessDenied');
  t.equal(await text(photos, B, 'docs/report-2024.pdf'), 'report 2024', 'report-20??.pdf matches report-2024.pdf');
  t.equal(await s3Code(photos.send(new GetObjectCommand({ Bucket: B, Key: 'docs/report-20245.pdf' }))), DENIED, '? is one character: report-20245.pdf → AccessDenied');
  t.equal(await s3Code(photos.send(new GetObjectCommand({ Bucket: B, Key: 'docs/report-2024.pdfx' }))), DENIED, 'the pattern is anchored: report-2024.pdfx → AccessDenied');
  t.equal(await text(ro, B, 'docs/report-20245.pdf'), 'report 20245', 'readonly reads report-20245.pdf');

  await put(photos, B, 'photos/new.jpg', 'new photo');
  t.equal(await rootSees(B, 'photos/new.jpg'), 'new photo', 'PutObject photos/new.jpg stored');
  t.equal(await s3Code(photos.send(new PutObjectCommand({ Bucket: B, Key: 'photos/run.exe', Body: 'MZ' }))), DENIED, 'PutObject photos/run.exe (Deny *.exe) → AccessDenied');
  t.equal(await rootSees(B, 'photos/run.exe'), 'NoSuchKey/404', 'not stored');
  t.equal(await s3Code(photos.send(new PutObjectCommand({ Bucket: B, Key: 'docs/new.txt', Body: 'x' }))), DENIED, 'PutObject docs/new.txt → AccessDenied');
  t.equal(await rootSees(B, 'docs/new.txt'), 'NoSuchKey/404', 'not stored');
  t.equal(await s3Code(photos.send(new PutObjectCommand({ Bucket: SRC, Key: 'photos/x.jpg', Body: 'x' }))), DENIED, 'the same key in another bucket → AccessDenied');
  t.equal(await rootSees(SRC, 'photos/x.jpg'), 'NoSuchKey/404', 'not stored');

  t.equal(await s3Code(photos.send(new DeleteObjectCommand({ Bucket: B, Key: 'photos/keep-b.jpg' }))), DENIED, 'DeleteObject photos/keep-b.jpg (Deny keep-*) → AccessDenied');
  t.equal(await rootSees(B, 'photos/keep-b.jpg'), 'photo b (kept)', 'still there');
  t.equal(await s3Code(photos.send(new DeleteObjectCommand({ Bucket: B, Key: 'photos/new.jpg' }))), 'ok', 'DeleteObject photos/new.jpg works');
  t.equal(await rootSees(B, 'photos/new.jpg'), 'NoSuchKey/404', 'deleted');

  // readwrite + an explicit Deny in another of the user's policies.
  const ns = as('app-nosecret');
  t.equal(await s3Code(ns.send(new GetObjectCommand({ Bucket: B, Key: 'secret/s.txt' }))), DENIED, 'readwrite + Deny */secret/*: GetObject secret/s.txt → AccessDenied');
  t.equal(await text(rw, B, 'secret/s.txt'), 'the secret', 'readwrite alone reads it');
  t.equal(await s3Code(ns.send(new PutObjectCommand({ Bucket: B, Key: 'secret/s.txt', Body: 'overwritten' }))), DENIED, 'PutObject secret/s.txt → AccessDenied');
  t.equal(await s3Code(ns.send(new DeleteObjectCommand({ Bucket: B, Key: 'secret/s.txt' }))), DENIED, 'DeleteObject secret/s.txt → AccessDenied');
  t.equal(await rootSees(B, 'secret/s.txt'), 'the secret', 'unchanged');
  t.equal(await text(ns, B, 'docs/c.txt'), 'doc c', 'everything else still allowed (GetObject docs/c.txt)');
  await put(ns, SRC, 'ns.txt', 'ns');
  t.equal(await rootSees(SRC, 'ns.txt'), 'ns', 'PutObject elsewhere works');
});

t.test('conditions: aws:SourceIp, aws:UserAgent, aws:Referer, s3:prefix / s3:delimiter / s3:max-keys', async (t) => {
  const plain = as('app-cond');
  const agent = as('app-cond', d, { customUserAgent: UA });
  t.equal(await s3Code(plain.send(new GetObjectCommand({ Bucket: B, Key: 'cond/x.txt' }))), DENIED, 'GetObject cond/x.txt with the SDK user agent → AccessDenied (Deny StringNotLike aws:UserAgent)');
  t.equal(await text(agent, B, 'cond/x.txt'), 'cond x', `with "${UA}" in the user agent: allowed (IpAddress 127.0.0.0/8 matches)`);
  t.equal(await s3Code(agent.send(new GetObjectCommand({ Bucket: B, Key: 'far/y.txt' }))), DENIED, 'far/y.txt is allowed only from 10/8 and 192.168/16 → AccessDenied');
  t.equal(await text(ro, B, 'far/y.txt'), 'far y', 'readonly reads far/y.txt');

  t.equal(await s3Code(plain.send(new PutObjectCommand({ Bucket: B, Key: 'cond/no-referer.txt', Body: 'x' }))), DENIED, 'PutObject without a Referer → AccessDenied');
  t.equal(await s3Code(plain.send(withHeaders(new PutObjectCommand({ Bucket: B, Key: 'cond/bad-referer.txt', Body: 'x' }), { referer: 'https://evil.example/' }))), DENIED, 'with another Referer → AccessDenied');
  t.equal(await rootSees(B, 'cond/no-referer.txt'), 'NoSuchKey/404', 'nothing stored (no Referer)');
  t.equal(await rootSees(B, 'cond/bad-referer.txt'), 'NoSuchKey/404', 'nothing stored (wrong Referer)');
  t.equal(await s3Code(plain.send(withHeaders(new PutObjectCommand({ Bucket: B, Key: 'cond/referer.txt', Body: 'with referer' }), { referer: REFERER }))), 'ok', 'with the Referer (and from 127.0.0.1, so NotIpAddress does not deny): allowed');
  t.equal(await rootSees(B, 'cond/referer.txt'), 'with referer', 'stored');

  const list = (input: Partial<{ Prefix: string; Delimiter: string; MaxKeys: number }>): Promise<string> => s3Code(plain.send(new ListObjectsV2Command({ Bucket: B, ...input })));
  t.equal(await list({ Prefix: 'cond/', Delimiter: '/' }), 'ok', 'ListObjectsV2 prefix cond/ delimiter / → allowed');
  t.equal(await list({ Prefix: 'cond/' }), DENIED, 'no delimiter → AccessDenied');
  t.equal(await list({ Prefix: 'cond/', Delimiter: '|' }), DENIED, 'delimiter | → AccessDenied');
  t.equal(await list({ Prefix: 'docs/', Delimiter: '/' }), DENIED, 'prefix docs/ → AccessDenied');
  t.equal(await list({ Prefix: 'cond/', Delimiter: '/', MaxKeys: 5 }), DENIED, 'max-keys 5 (Deny StringNotEquals s3:max-keys 1000) → AccessDenied');
  t.equal(await list({ Prefix: 'cond/', Delimiter: '/', MaxKeys: 1000 }), 'ok', 'max-keys 1000 → allowed');
  const listed = await plain.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'cond/', Delimiter: '/' }));
  t.same((listed.Contents ?? []).map((o) => o.Key).sort(), ['cond/referer.txt', 'cond/x.txt'], 'the listing is the full cond/ listing');
});

t.test('aws:SecureTransport: a TLS-only policy is denied over HTTP and allowed over HTTPS', async (t) => {
  const overHttp = as('app-tls', d);
  const overHttps = as('app-tls', tlsd);
  const tlsRoot = tlsd.s3();
  await root.send(new PutObjectCommand({ Bucket: B, Key: 'tls.txt', Body: 'on http daemon' }));
  await tlsRoot.send(new CreateBucketCommand({ Bucket: B }));
  await tlsRoot.send(new PutObjectCommand({ Bucket: B, Key: 'tls.txt', Body: 'on https daemon' }));
  t.equal(await s3Code(overHttp.send(new GetObjectCommand({ Bucket: B, Key: 'tls.txt' }))), DENIED, 'GetObject over HTTP → AccessDenied');
  t.equal(await text(overHttps, B, 'tls.txt'), 'on https daemon', 'GetObject over HTTPS: allowed');
  t.equal(await s3Code(overHttp.send(new PutObjectCommand({ Bucket: B, Key: 'tls-put.txt', Body: 'x' }))), DENIED, 'PutObject over HTTP → AccessDenied');
  t.equal(await rootSees(B, 'tls-put.txt'), 'NoSuchKey/404', 'nothing stored over HTTP');
  await overHttps.send(new PutObjectCommand({ Bucket: B, Key: 'tls-put.txt', Body: 'secure' }));
  t.equal(await text(tlsRoot, B, 'tls-put.txt'), 'secure', 'PutObject over HTTPS stored');
});

t.test('versions: s3:GetObjectVersion and s3:DeleteObjectVersion are separate actions', async (t) => {
  const ver = as('app-ver');
  const v1 = (await root.send(new PutObjectCommand({ Bucket: VB, Key: 'doc.txt', Body: 'version 1' }))).VersionId!;
  const v2 = (await ver.send(new PutObjectCommand({ Bucket: VB, Key: 'doc.txt', Body: 'version 2' }))).VersionId!;
  t.ok(v1 && v2 && v1 !== v2, 'two versions (the second put by the user)');
  t.equal(await text(ver, VB, 'doc.txt'), 'version 2', 'GetObject (latest) works');
  t.equal(await s3Code(ver.send(new GetObjectCommand({ Bucket: VB, Key: 'doc.txt', VersionId: v1 }))), DENIED, 'GetObject ?versionId → AccessDenied (no s3:GetObjectVersion)');
  t.equal(await headStatus(ver.send(new HeadObjectCommand({ Bucket: VB, Key: 'doc.txt', VersionId: v1 }))), 403, 'HeadObject ?versionId → 403');
  t.equal(await text(ro, VB, 'doc.txt', v1), 'version 1', 'readonly (s3:GetObjectVersion) reads version 1');
  t.equal(await s3Code(ver.send(new ListObjectVersionsCommand({ Bucket: VB }))), DENIED, 'ListObjectVersions → AccessDenied (no s3:ListBucketVersions)');
  t.equal((await ro.send(new ListObjectVersionsCommand({ Bucket: VB }))).Versions?.length, 2, 'readonly lists both versions');

  t.equal(await s3Code(ver.send(new CopyObjectCommand({ Bucket: VB, Key: 'copy-v1.txt', CopySource: `${VB}/doc.txt?versionId=${v1}` }))), DENIED, 'CopyObject from a source version → AccessDenied (the source needs s3:GetObjectVersion)');
  t.equal(await s3Code(root.send(new HeadObjectCommand({ Bucket: VB, Key: 'copy-v1.txt' }))), 'NotFound/404', 'no copy made');
  t.equal(await s3Code(ver.send(new CopyObjectCommand({ Bucket: VB, Key: 'copy-latest.txt', CopySource: `${VB}/doc.txt` }))), 'ok', 'CopyObject from the latest (s3:GetObject) works');
  t.equal(await text(root, VB, 'copy-latest.txt'), 'version 2', 'the copy is version 2');
  t.same((await ro.send(new GetObjectTaggingCommand({ Bucket: VB, Key: 'doc.txt', VersionId: v1 }))).TagSet, [], 'readonly: GetObjectTagging ?versionId (s3:GetObjectVersionTagging)');
  t.equal(await s3Code(ver.send(new GetObjectTaggingCommand({ Bucket: VB, Key: 'doc.txt', VersionId: v1 }))), DENIED, 'app-ver: GetObjectTagging ?versionId → AccessDenied');

  t.equal(await s3Code(ver.send(new DeleteObjectCommand({ Bucket: VB, Key: 'doc.txt', VersionId: v1 }))), DENIED, 'DeleteObject ?versionId → AccessDenied (no s3:DeleteObjectVersion)');
  const batch = await ver.send(new DeleteObjectsCommand({ Bucket: VB, Delete: { Objects: [{ Key: 'doc.txt', VersionId: v1 }] } }));
  t.same(
    (batch.Errors ?? []).map((e) => [e.Key, e.Code]),
    [['doc.txt', 'AccessDenied']],
    'DeleteObjects with a versionId: an AccessDenied entry',
  );
  t.same(batch.Deleted ?? [], [], 'nothing deleted');
  t.equal(await text(root, VB, 'doc.txt', v1), 'version 1', 'version 1 is still there');

  const marker = await ver.send(new DeleteObjectCommand({ Bucket: VB, Key: 'doc.txt' }));
  t.equal(marker.DeleteMarker, true, 'DeleteObject without versionId (s3:DeleteObject) makes a delete marker');
  const versions = await root.send(new ListObjectVersionsCommand({ Bucket: VB }));
  t.equal(versions.Versions?.filter((v) => v.Key === 'doc.txt').length, 2, 'both versions kept');
  t.equal(versions.DeleteMarkers?.length, 1, 'one delete marker');
  t.equal(await s3Code(rw.send(new DeleteObjectCommand({ Bucket: VB, Key: 'doc.txt', VersionId: v1 }))), 'ok', 'readwrite deletes version 1');
  t.equal(await s3Code(root.send(new GetObjectCommand({ Bucket: VB, Key: 'doc.txt', VersionId: v1 }))), 'NoSuchVersion/404', 'version 1 is gone');
});

t.test('CopyObject needs s3:PutObject on the destination and s3:GetObject on the source', async (t) => {
  const cp = as('app-copy');
  await put(root, SRC, 'open/src.txt', 'open source');
  await put(root, SRC, 'closed/src.txt', 'closed source');
  await cp.send(new CopyObjectCommand({ Bucket: B, Key: 'copies/one.txt', CopySource: `${SRC}/open/src.txt` }));
  t.equal(await rootSees(B, 'copies/one.txt'), 'open source', 'copy from an allowed source to an allowed destination');
  t.equal(await s3Code(cp.send(new CopyObjectCommand({ Bucket: B, Key: 'copies/two.txt', CopySource: `${SRC}/closed/src.txt` }))), DENIED, 'source not readable → AccessDenied');
  t.equal(await rootSees(B, 'copies/two.txt'), 'NoSuchKey/404', 'no copy made');
  t.equal(await s3Code(cp.send(new CopyObjectCommand({ Bucket: B, Key: 'elsewhere.txt', CopySource: `${SRC}/open/src.txt` }))), DENIED, 'destination not writable → AccessDenied');
  t.equal(await rootSees(B, 'elsewhere.txt'), 'NoSuchKey/404', 'no copy made');
  t.equal(await s3Code(cp.send(new GetObjectCommand({ Bucket: SRC, Key: 'open/src.txt' }))), 'ok', 'the source is readable on its own');
  t.equal(await s3Code(cp.send(new GetObjectCommand({ Bucket: B, Key: 'copies/one.txt' }))), DENIED, 'the destination is not readable');
  t.equal(await s3Code(cp.send(new PutObjectCommand({ Bucket: B, Key: 'copies/plain.txt', Body: 'p' }))), 'ok', 'a plain put to the destination prefix works');
  // UploadPartCopy: the same two checks.
  const up = await cp.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'copies/mp.txt' }));
  t.equal(await s3Code(cp.send(new UploadPartCopyCommand({ Bucket: B, Key: 'copies/mp.txt', UploadId: up.UploadId, PartNumber: 1, CopySource: `${SRC}/closed/src.txt` }))), DENIED, 'UploadPartCopy from a closed source → AccessDenied');
  const part = await cp.send(new UploadPartCopyCommand({ Bucket: B, Key: 'copies/mp.txt', UploadId: up.UploadId, PartNumber: 1, CopySource: `${SRC}/open/src.txt` }));
  await cp.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'copies/mp.txt', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult?.ETag }] } }));
  t.equal(await rootSees(B, 'copies/mp.txt'), 'open source', 'UploadPartCopy from the open source, completed: the open source\'s bytes');
});

t.test('CreateBucket on a bucket-name pattern; ListBuckets by s3:ListAllMyBuckets', async (t) => {
  const creator = as('app-creator');
  const mine = `usr-${run}-${randomBytes(3).toString('hex')}`;
  const other = `oth-${run}-${randomBytes(3).toString('hex')}`;
  t.equal(await s3Code(creator.send(new CreateBucketCommand({ Bucket: mine }))), 'ok', `CreateBucket ${mine} (matches usr-${run}-*)`);
  t.equal(await headStatus(root.send(new HeadBucketCommand({ Bucket: mine }))), 200, 'it exists');
  t.equal(await s3Code(creator.send(new CreateBucketCommand({ Bucket: other }))), DENIED, `CreateBucket ${other} → AccessDenied`);
  t.equal(await headStatus(root.send(new HeadBucketCommand({ Bucket: other }))), 404, 'no bucket made');
  const names = (await creator.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name) ?? [];
  t.ok(names.includes(mine) && names.includes(B), 'ListBuckets lists every bucket');
  t.equal(await s3Code(creator.send(new DeleteBucketCommand({ Bucket: mine }))), DENIED, 'DeleteBucket → AccessDenied (no s3:DeleteBucket)');
  t.equal(await headStatus(root.send(new HeadBucketCommand({ Bucket: mine }))), 200, 'still there');
  t.equal(await s3Code(creator.send(new PutObjectCommand({ Bucket: mine, Key: 'k', Body: 'k' }))), DENIED, 'PutObject into its own new bucket → AccessDenied (owning a bucket grants nothing)');
});

t.test('bucket configuration: each operation is admitted by exactly its action', async (t) => {
  const user = (i: number): S3Client => as(`cfg-user-${i}`);
  const n = CONFIG_ACTIONS.length;
  const other = (i: number): S3Client => user((i + 1) % n);
  const buckets = CONFIG_ACTIONS.map((_, i) => `${CFG}-${i}`);
  await Promise.all(buckets.map((b) => root.send(new CreateBucketCommand({ Bucket: b }))));
  const errOf = async (p: Promise<unknown>): Promise<string> => s3Code(p);

  interface Case {
    /** The request, by `client` on `bucket`. */
    op: (c: S3Client, bucket: string) => Promise<unknown>;
    /** What root reads of the state the op changes. */
    state: (bucket: string) => Promise<unknown>;
    before: unknown;
    after: unknown;
    setup?: (bucket: string) => Promise<void>;
  }
  const lifecycle = { Rules: [{ ID: 'expire', Status: 'Enabled' as const, Filter: { Prefix: 'tmp/' }, Expiration: { Days: 3 } }] };
  const cases: Record<(typeof CONFIG_ACTIONS)[number], Case> = {
    's3:PutBucketPolicy': {
      op: (c, b) => c.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: arn(`${b}/public/*`) }] }) })),
      state: async (b) => {
        try {
          return JSON.parse((await root.send(new GetBucketPolicyCommand({ Bucket: b }))).Policy ?? '').Statement[0].Resource;
        } catch (err) {
          return (err as Error).name;
        }
      },
      before: 'NoSuchBucketPolicy',
      after: 'SET',
    },
    's3:GetLifecycleConfiguration': {
      setup: async (b) => {
        await root.send(new PutBucketLifecycleConfigurationCommand({ Bucket: b, LifecycleConfiguration: lifecycle }));
      },
      op: async (c, b) => {
        const out = await c.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b }));
        if (out.Rules?.[0]?.ID !== 'expire') throw new Error(`unexpected rules ${JSON.stringify(out.Rules)}`);
      },
      state: async () => 'read-only',
      before: 'read-only',
      after: 'read-only',
    },
    's3:PutLifecycleConfiguration': {
      op: (c, b) => c.send(new PutBucketLifecycleConfigurationCommand({ Bucket: b, LifecycleConfiguration: lifecycle })),
      state: async (b) => {
        try {
          return (await root.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b }))).Rules?.map((r) => r.ID);
        } catch (err) {
          return (err as Error).name;
        }
      },
      before: 'NoSuchLifecycleConfiguration',
      after: ['expire'],
    },
    's3:PutEncryptionConfiguration': {
      op: (c, b) => c.send(new PutBucketEncryptionCommand({ Bucket: b, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } })),
      state: async (b) => {
        try {
          return (await root.send(new GetBucketEncryptionCommand({ Bucket: b }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm;
        } catch (err) {
          return (err as Error).name;
        }
      },
      before: 'ServerSideEncryptionConfigurationNotFoundError',
      after: 'AES256',
    },
    's3:PutBucketVersioning': {
      op: (c, b) => c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } })),
      state: async (b) => (await root.send(new GetBucketVersioningCommand({ Bucket: b }))).Status ?? 'off',
      before: 'off',
      after: 'Enabled',
    },
    's3:PutBucketCORS': {
      op: (c, b) => c.send(new PutBucketCorsCommand({ Bucket: b, CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['https://app.example'] }] } })),
      state: async (b) => {
        try {
          return (await root.send(new GetBucketCorsCommand({ Bucket: b }))).CORSRules?.[0]?.AllowedOrigins;
        } catch (err) {
          return (err as Error).name;
        }
      },
      before: 'NoSuchCORSConfiguration',
      after: ['https://app.example'],
    },
    's3:PutBucketTagging': {
      op: (c, b) => c.send(new PutBucketTaggingCommand({ Bucket: b, Tagging: { TagSet: [{ Key: 'team', Value: 'iam' }] } })),
      state: async (b) => {
        try {
          return (await root.send(new GetBucketTaggingCommand({ Bucket: b }))).TagSet;
        } catch (err) {
          return (err as Error).name;
        }
      },
      before: 'NoSuchTagSet',
      after: [{ Key: 'team', Value: 'iam' }],
    },
    's3:DeleteBucket': {
      op: (c, b) => c.send(new DeleteBucketCommand({ Bucket: b })),
      state: async (b) => headStatus(root.send(new HeadBucketCommand({ Bucket: b }))),
      before: 200,
      after: 404,
    },
  };
  for (const [i, action] of CONFIG_ACTIONS.entries()) {
    const c = cases[action];
    const bucket = buckets[i]!;
    await c.setup?.(bucket);
    const st0 = await c.state(bucket);
    t.same(st0, c.before, `${action}: the state before (${JSON.stringify(st0)})`);
    t.equal(await errOf(c.op(other(i), bucket)), DENIED, `${action}: a user with only ${CONFIG_ACTIONS[(i + 1) % n]} → AccessDenied`);
    t.equal(await errOf(c.op(ro, bucket)), DENIED, `${action}: readonly → AccessDenied`);
    t.same(await c.state(bucket), c.before, `${action}: nothing changed`);
    t.equal(await errOf(c.op(user(i), `oth-${run}-x`)), DENIED, `${action}: its user on a bucket outside ${CFG}-* → AccessDenied`);
    t.equal(await errOf(c.op(user(i), bucket)), 'ok', `${action}: a user with exactly ${action} → ok`);
    const st1 = await c.state(bucket);
    if (c.after === 'SET') t.equal(st1, arn(`${bucket}/public/*`), `${action}: the new state`);
    else t.same(st1, c.after, `${action}: the new state (${JSON.stringify(st1)})`);
  }
});

t.test('bucket policies: allow a user what its own policies do not; a Deny there binds every user but root', async (t) => {
  const b = bucketName('iambp');
  await root.send(new CreateBucketCommand({ Bucket: b }));
  await Promise.all([put(root, b, 'public/p.txt', 'public p'), put(root, b, 'private/q.txt', 'private q'), put(root, b, 'locked/l.txt', 'locked l')]);
  t.equal(await s3Code(wo.send(new GetObjectCommand({ Bucket: b, Key: 'public/p.txt' }))), DENIED, 'before the bucket policy: writeonly cannot read public/p.txt');
  t.equal(await text(rw, b, 'locked/l.txt'), 'locked l', 'before: readwrite reads locked/l.txt');
  await setBucketPolicy(b, [
    { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: arn(`${b}/public/*`) },
    { Effect: 'Deny', Principal: { AWS: ['*'] }, Action: 's3:*', Resource: arn(`${b}/locked/*`) },
  ]);
  t.equal(await text(wo, b, 'public/p.txt'), 'public p', 'writeonly reads public/p.txt (the bucket policy allows)');
  t.equal(await s3Code(wo.send(new GetObjectCommand({ Bucket: b, Key: 'private/q.txt' }))), DENIED, 'but not private/q.txt');
  t.equal(await s3Code(rw.send(new GetObjectCommand({ Bucket: b, Key: 'locked/l.txt' }))), DENIED, 'readwrite: GetObject locked/l.txt → AccessDenied (the bucket policy denies)');
  t.equal(await s3Code(rw.send(new PutObjectCommand({ Bucket: b, Key: 'locked/l.txt', Body: 'overwrite' }))), DENIED, 'readwrite: PutObject locked/l.txt → AccessDenied');
  t.equal(await s3Code(rw.send(new DeleteObjectCommand({ Bucket: b, Key: 'locked/l.txt' }))), DENIED, 'readwrite: DeleteObject locked/l.txt → AccessDenied');
  t.equal(await rootSees(b, 'locked/l.txt'), 'locked l', 'root reads locked/l.txt, unchanged');
  t.equal(await text(rw, b, 'private/q.txt'), 'private q', 'readwrite reads private/q.txt');
  await put(root, b, 'locked/l.txt', 'root overwrote');
  t.equal(await rootSees(b, 'locked/l.txt'), 'root overwrote', 'root is never restricted: PutObject locked/l.txt');
  t.equal(await s3Code(root.send(new DeleteObjectCommand({ Bucket: b, Key: 'locked/l.txt' }))), 'ok', 'root deletes it');

  // A user may manage a bucket's policy when its policies allow s3:PutBucketPolicy; readonly may not.
  t.equal(await s3Code(ro.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: arn(`${b}/*`) }] }) }))), DENIED, 'readonly: PutBucketPolicy → AccessDenied');
  t.match((await root.send(new GetBucketPolicyCommand({ Bucket: b }))).Policy ?? '', /locked/, 'the policy is unchanged');
});

t.test('the classic "deny unencrypted uploads" bucket policy: Null and StringNotEquals on s3:x-amz-server-side-encryption', async (t) => {
  const b = bucketName('iamsse');
  await root.send(new CreateBucketCommand({ Bucket: b }));
  await setBucketPolicy(b, [
    { Sid: 'DenyWrongEncryption', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: arn(`${b}/*`), Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } } },
    { Sid: 'DenyUnencrypted', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: arn(`${b}/*`), Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } } },
  ]);
  t.equal(await s3Code(rw.send(new PutObjectCommand({ Bucket: b, Key: 'plain', Body: 'x' }))), DENIED, 'an upload without SSE is denied');
  t.equal(await s3Code(rw.send(new PutObjectCommand({ Bucket: b, Key: 'kms', Body: 'x', ServerSideEncryption: 'aws:kms' }))), DENIED, 'an upload with another kind of SSE is denied');
  t.equal(await s3Code(rw.send(new PutObjectCommand({ Bucket: b, Key: 'sse', Body: 'x', ServerSideEncryption: 'AES256' }))), 'ok', 'an SSE-S3 upload is allowed');
  t.equal((await root.send(new HeadObjectCommand({ Bucket: b, Key: 'sse' }))).ServerSideEncryption, 'AES256', 'and stored encrypted');
  // The SSE asked for in a presigned URL's query is what the policy judges.
  const mcRw = minioClient(d, { accessKey: 'app-rw', secretKey: secretOf('app-rw') });
  const urlFor = (extra: Record<string, string>): Promise<string> => mcRw.presignedUrl('PUT', b, 'presigned', 300, extra);
  const viaQuery = await urlFor({ 'x-amz-server-side-encryption': 'AES256' });
  t.match(viaQuery, /x-amz-server-side-encryption=AES256/, 'the presigner put the SSE header in the query');
  t.equal((await fetch(viaQuery, { method: 'PUT', body: 'y' })).status, 200, 'a presigned upload asking for SSE-S3 in its query is allowed');
  t.equal((await root.send(new HeadObjectCommand({ Bucket: b, Key: 'presigned' }))).ServerSideEncryption, 'AES256', 'and stored encrypted');
  t.equal((await fetch(await urlFor({}), { method: 'PUT', body: 'y' })).status, 403, 'one without is denied');
  t.equal(await rootSees(b, 'presigned'), 'y', 'and changed nothing');
  t.equal(await s3Code(root.send(new PutObjectCommand({ Bucket: b, Key: 'root-plain', Body: 'x' }))), 'ok', 'the root user is never restricted');
});

t.test('DeleteObjects is checked key by key', async (t) => {
  await Promise.all([put(root, B, 'photos/del-1.jpg', '1'), put(root, B, 'photos/keep-del.jpg', 'kept'), put(root, B, 'docs/del-3.txt', '3')]);
  const out = await photos.send(
    new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'photos/del-1.jpg' }, { Key: 'photos/keep-del.jpg' }, { Key: 'docs/del-3.txt' }] } }),
  );
  t.same((out.Deleted ?? []).map((x) => x.Key), ['photos/del-1.jpg'], 'the allowed key is deleted');
  t.same(
    (out.Errors ?? []).map((e) => [e.Key, e.Code]).sort(),
    [
      ['docs/del-3.txt', 'AccessDenied'],
      ['photos/keep-del.jpg', 'AccessDenied'],
    ],
    'the others come back as AccessDenied errors (explicit Deny, and no Allow)',
  );
  t.equal(await rootSees(B, 'photos/del-1.jpg'), 'NoSuchKey/404', 'photos/del-1.jpg gone');
  t.equal(await rootSees(B, 'photos/keep-del.jpg'), 'kept', 'photos/keep-del.jpg kept');
  t.equal(await rootSees(B, 'docs/del-3.txt'), '3', 'docs/del-3.txt kept');

  const all = await ro.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'docs/del-3.txt' }] } }));
  t.same((all.Errors ?? []).map((e) => [e.Key, e.Code]), [['docs/del-3.txt', 'AccessDenied']], 'readonly: every key AccessDenied');
  t.equal(await rootSees(B, 'docs/del-3.txt'), '3', 'still there');
  const byRw = await rw.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'docs/del-3.txt' }, { Key: 'photos/keep-del.jpg' }] } }));
  t.same((byRw.Deleted ?? []).map((x) => x.Key).sort(), ['docs/del-3.txt', 'photos/keep-del.jpg'], 'readwrite deletes both');
  t.same(byRw.Errors ?? [], [], 'no errors');
  t.equal(await rootSees(B, 'docs/del-3.txt'), 'NoSuchKey/404', 'gone');
});

t.test('presigned URLs and form uploads signed by a user follow its policies (minio-js)', async (t) => {
  const mcOf = (accessKey: string) => minioClient(d, { accessKey, secretKey: secretOf(accessKey) });
  const mcRo = mcOf('app-ro');
  const mcWo = mcOf('app-wo');
  const mcPhotos = mcOf('app-photos');

  const getUrl = await mcRo.presignedGetObject(B, 'docs/c.txt', 300);
  const got = await fetch(getUrl);
  t.equal(got.status, 200, 'readonly presigned GET: 200');
  t.equal(await got.text(), 'doc c', 'the body');
  const woGet = await fetch(await mcWo.presignedGetObject(B, 'docs/c.txt', 300));
  t.equal(woGet.status, 403, 'writeonly presigned GET: 403');
  t.match(await woGet.text(), /<Code>AccessDenied<\/Code>/, 'AccessDenied');

  const roPut = await fetch(await mcRo.presignedPutObject(B, 'presigned/ro.txt', 300), { method: 'PUT', body: 'from readonly' });
  t.equal(roPut.status, 403, 'readonly presigned PUT: 403');
  t.match(await roPut.text(), /<Code>AccessDenied<\/Code>/, 'AccessDenied');
  t.equal(await rootSees(B, 'presigned/ro.txt'), 'NoSuchKey/404', 'nothing stored');
  const woPut = await fetch(await mcWo.presignedPutObject(B, 'presigned/wo.txt', 300), { method: 'PUT', body: 'from writeonly' });
  t.equal(woPut.status, 200, 'writeonly presigned PUT: 200');
  t.equal(await rootSees(B, 'presigned/wo.txt'), 'from writeonly', 'stored');

  // minio-js as a client: list and read with readonly, a refused put.
  const names: string[] = [];
  for await (const o of mcRo.listObjectsV2(B, 'photos/', true)) names.push((o as { name: string }).name);
  t.ok(names.includes('photos/a.jpg'), 'minio-js listObjectsV2 as readonly');
  const roErr = await mcRo.putObject(B, 'minio/ro.txt', Buffer.from('x')).then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  );
  t.equal(roErr, 'AccessDenied', 'minio-js putObject as readonly → AccessDenied');
  t.equal(await rootSees(B, 'minio/ro.txt'), 'NoSuchKey/404', 'nothing stored');
  await mcWo.putObject(B, 'minio/wo.txt', Buffer.from('minio writeonly'));
  t.equal(await rootSees(B, 'minio/wo.txt'), 'minio writeonly', 'minio-js putObject as writeonly stored');

  // Browser form uploads (POST Object) signed by the photos user.
  const form = async (mc: ReturnType<typeof mcOf>, key: string, body: string): Promise<Response> => {
    const policy = mc.newPostPolicy();
    policy.setBucket(B);
    policy.setKey(key);
    policy.setExpires(new Date(Date.now() + 600_000));
    const { postURL, formData } = await mc.presignedPostPolicy(policy);
    const fd = new FormData();
    for (const [k, v] of Object.entries(formData)) fd.append(k, v);
    fd.append('file', new Blob([body]), 'upload.txt');
    return fetch(postURL, { method: 'POST', body: fd });
  };
  const ok = await form(mcPhotos, 'photos/form.jpg', 'form photo');
  t.equal(ok.status, 204, 'photos user: form upload to photos/form.jpg → 204');
  t.equal(await rootSees(B, 'photos/form.jpg'), 'form photo', 'stored');
  const outside = await form(mcPhotos, 'docs/form.txt', 'form doc');
  t.equal(outside.status, 403, 'photos user: form upload to docs/form.txt → 403');
  t.match(await outside.text(), /<Code>AccessDenied<\/Code>/, 'AccessDenied');
  t.equal(await rootSees(B, 'docs/form.txt'), 'NoSuchKey/404', 'nothing stored');
  const exe = await form(mcPhotos, 'photos/form.exe', 'MZ');
  t.equal(exe.status, 403, 'photos user: form upload to photos/form.exe (Deny) → 403');
  t.equal(await rootSees(B, 'photos/form.exe'), 'NoSuchKey/404', 'nothing stored');
  const roForm = await form(mcRo, 'photos/ro-form.jpg', 'ro');
  t.equal(roForm.status, 403, 'readonly: form upload → 403');
  t.equal(await rootSees(B, 'photos/ro-form.jpg'), 'NoSuchKey/404', 'nothing stored');
  const woForm = await form(mcWo, 'photos/wo-form.jpg', 'wo form');
  t.equal(woForm.status, 204, 'writeonly: form upload → 204');
  t.equal(await rootSees(B, 'photos/wo-form.jpg'), 'wo form', 'stored');
});

// ---- boto3 and the aws CLI ----------------------------------------------------------------------

const pyEnv = pythonEnv(work);
const NO_BOTO3 = noBoto3(pyEnv);

const BOTO3_SCRIPT = `
import json, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
endpoint, key, secret, bucket = sys.argv[1:5]
s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name='${REGION}', config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
out = {}
def attempt(name, fn):
    try:
        out[name] = {'ok': fn()}
    except ClientError as e:
        out[name] = {'code': e.response['Error']['Code'], 'status': e.response['ResponseMetadata']['HTTPStatusCode']}
attempt('list_photos', lambda: sorted(o['Key'] for o in s3.list_objects_v2(Bucket=bucket, Prefix='photos/').get('Contents', [])))
attempt('list_all', lambda: len(s3.list_objects_v2(Bucket=bucket).get('Contents', [])))
attempt('get_photo', lambda: s3.get_object(Bucket=bucket, Key='photos/a.jpg')['Body'].read().decode())
attempt('get_doc', lambda: s3.get_object(Bucket=bucket, Key='docs/c.txt')['Body'].read().decode())
attempt('put_photo', lambda: s3.put_object(Bucket=bucket, Key='photos/boto3.jpg', Body=b'boto3 photo')['ResponseMetadata']['HTTPStatusCode'])
attempt('put_doc', lambda: s3.put_object(Bucket=bucket, Key='docs/boto3.txt', Body=b'boto3 doc')['ResponseMetadata']['HTTPStatusCode'])
attempt('upload_file_doc', lambda: s3.upload_fileobj(__import__('io').BytesIO(b'x' * 100), bucket, 'docs/boto3-upload.txt'))
def batch():
    r = s3.delete_objects(Bucket=bucket, Delete={'Objects': [{'Key': 'photos/boto3.jpg'}, {'Key': 'docs/c.txt'}]})
    return {'deleted': sorted(x['Key'] for x in r.get('Deleted', [])), 'errors': sorted([x['Key'], x['Code']] for x in r.get('Errors', []))}
attempt('delete_objects', batch)
attempt('presigned_get', lambda: s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'photos/a.jpg'}, ExpiresIn=300))
attempt('presigned_get_doc', lambda: s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'docs/c.txt'}, ExpiresIn=300))
print(json.dumps(out))
`;

t.test('boto3 with a user\'s credentials', { skip: NO_BOTO3 }, async (t) => {
  await put(root, B, 'docs/c.txt', 'doc c');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(PYTHON_BIN, ['-c', BOTO3_SCRIPT, d.endpoint, 'app-photos', secretOf('app-photos'), B], { env: pyEnv, maxBuffer: 4 * 1024 * 1024 }, (err, out, errOut) => {
      if (err) reject(new Error(`boto3 script failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  const r = JSON.parse(stdout) as Record<string, { ok?: unknown; code?: string; status?: number }>;
  t.ok((r.list_photos?.ok as string[] | undefined)?.includes('photos/a.jpg'), 'list_objects_v2 Prefix=photos/ lists photos/a.jpg');
  t.same(r.list_all, { code: 'AccessDenied', status: 403 }, 'list_objects_v2 without a prefix → AccessDenied');
  t.same(r.get_photo, { ok: 'photo a' }, 'get_object photos/a.jpg');
  t.same(r.get_doc, { code: 'AccessDenied', status: 403 }, 'get_object docs/c.txt → AccessDenied');
  t.same(r.put_photo, { ok: 200 }, 'put_object photos/boto3.jpg');
  t.same(r.put_doc, { code: 'AccessDenied', status: 403 }, 'put_object docs/boto3.txt → AccessDenied');
  t.equal(r.upload_file_doc?.code, 'AccessDenied', 'upload_fileobj docs/… → AccessDenied');
  t.equal(await rootSees(B, 'docs/boto3.txt'), 'NoSuchKey/404', 'put_object stored nothing');
  t.equal(await rootSees(B, 'docs/boto3-upload.txt'), 'NoSuchKey/404', 'upload_fileobj stored nothing');
  t.same(r.delete_objects, { ok: { deleted: ['photos/boto3.jpg'], errors: [['docs/c.txt', 'AccessDenied']] } }, 'delete_objects: the photo deleted, docs/c.txt AccessDenied');
  t.equal(await rootSees(B, 'photos/boto3.jpg'), 'NoSuchKey/404', 'photos/boto3.jpg gone (it had been stored)');
  t.equal(await rootSees(B, 'docs/c.txt'), 'doc c', 'docs/c.txt kept');
  const pg = await fetch(String(r.presigned_get?.ok));
  t.equal(pg.status, 200, 'boto3 presigned GET (V2 or V4) of photos/a.jpg: 200');
  t.equal(await pg.text(), 'photo a', 'the body');
  const pd = await fetch(String(r.presigned_get_doc?.ok));
  t.equal(pd.status, 403, 'boto3 presigned GET of docs/c.txt: 403');
});

t.test('the aws CLI with a user\'s profile', { skip: NO_AWS }, async (t) => {
  const home = join(work, 'aws-home');
  mkdirSync(home, { recursive: true });
  const cli = awsCli(d.endpoint, home, { pathStyle: true, global: ['--profile', 'photos'] });
  // The helper's environment carries root's keys; an explicit profile takes precedence over them.
  writeFileSync(join(home, 'no-credentials'), `[photos]\naws_access_key_id = app-photos\naws_secret_access_key = ${secretOf('app-photos')}\n\n[wo]\naws_access_key_id = app-wo\naws_secret_access_key = ${secretOf('app-wo')}\n`, { mode: 0o600 });
  const woCli = awsCli(d.endpoint, home, { pathStyle: true, global: ['--profile', 'wo'] });
  const file = join(work, 'cli-upload.txt');
  writeFileSync(file, 'uploaded by the cli');

  const listed = await cli.run('s3api', 'list-objects-v2', '--bucket', B, '--prefix', 'photos/');
  t.equal(listed.code, 0, `s3api list-objects-v2 --prefix photos/ (${listed.stderr.trim()})`);
  t.match(listed.stdout, /photos\/a\.jpg/, 'lists photos/a.jpg');
  const all = await cli.run('s3api', 'list-objects-v2', '--bucket', B);
  t.not(all.code, 0, 'list-objects-v2 without a prefix fails');
  t.match(all.stderr, /AccessDenied/, 'AccessDenied');

  const cpOk = await cli.run('s3', 'cp', file, `s3://${B}/photos/cli.txt`);
  t.equal(cpOk.code, 0, `s3 cp to photos/cli.txt (${cpOk.stderr.trim()})`);
  t.equal(await rootSees(B, 'photos/cli.txt'), 'uploaded by the cli', 'stored');
  const cpNo = await cli.run('s3', 'cp', file, `s3://${B}/docs/cli.txt`);
  t.not(cpNo.code, 0, 's3 cp to docs/cli.txt fails');
  t.match(cpNo.stderr, /AccessDenied/, 'AccessDenied');
  t.equal(await rootSees(B, 'docs/cli.txt'), 'NoSuchKey/404', 'nothing stored');

  const ls = await woCli.run('s3', 'ls');
  t.not(ls.code, 0, 'writeonly: s3 ls fails');
  t.match(ls.stderr, /AccessDenied/, 'AccessDenied');
  mkdirSync(join(work, 'aws-root'), { recursive: true });
  const rootCli = awsCli(d.endpoint, join(work, 'aws-root'), { pathStyle: true });
  const rootLs = await rootCli.run('s3', 'ls');
  t.equal(rootLs.code, 0, 'root: s3 ls works');
  t.match(rootLs.stdout, new RegExp(B), 'and lists the bucket');
});

// ---- SIGHUP -------------------------------------------------------------------------------------

/** Sends SIGHUP and waits for the next log line whose msg starts with `msg`. */
async function reload(daemon: TestDaemon, msg: string): Promise<Record<string, unknown> | undefined> {
  const matching = (): Array<Record<string, unknown>> => daemon.jsonLogs().filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('users reload'));
  const before = matching().length;
  process.kill(daemon.proc.pid!, 'SIGHUP');
  for (let i = 0; i < 500; i++) {
    const seen = matching();
    if (seen.length > before) {
      const line = seen[seen.length - 1]!;
      return String(line.msg).startsWith(msg) ? line : { unexpected: line };
    }
    await sleep(10);
  }
  return undefined;
}

t.test('SIGHUP re-reads the file: users added, removed and changed; a broken file keeps the previous users', async (t) => {
  const one = (secret = 'r-one-secret'): S3Client => as('r-one', rd, {}, secret);
  const gone = as('r-gone', rd, {}, 'r-gone-secret');
  const added = as('r-new', rd, {}, 'r-new-secret');
  const rroot = rd.s3();
  const rb = bucketName('reload');
  await rroot.send(new CreateBucketCommand({ Bucket: rb }));
  await put(rroot, rb, 'a.txt', 'a');

  t.equal(await text(one(), rb, 'a.txt'), 'a', 'before: r-one (readonly) reads');
  t.equal(await s3Code(one().send(new PutObjectCommand({ Bucket: rb, Key: 'one.txt', Body: 'x' }))), DENIED, 'before: r-one cannot write');
  t.equal(await s3Code(gone.send(new PutObjectCommand({ Bucket: rb, Key: 'gone.txt', Body: 'gone' }))), 'ok', 'before: r-gone (readwrite) writes');
  t.equal(await s3Code(added.send(new ListBucketsCommand({}))), 'InvalidAccessKeyId/403', 'before: r-new is unknown');

  writeIam(reloadFile, {
    policies: { 'rb-only': doc(allow(['s3:PutObject', 's3:GetObject'], [`${rb}/new/*`])) },
    users: [
      { accessKey: 'r-one', secretKey: 'r-one-secret', policies: ['writeonly'] },
      { accessKey: 'r-new', secretKey: 'r-new-secret', policies: ['rb-only'] },
    ],
  });
  const mark = rd.logs.length;
  const line = await reload(rd, 'users reloaded');
  t.equal(line?.msg, 'users reloaded', 'the log says "users reloaded"');
  t.equal(line?.users, 2, 'with 2 users');
  t.equal(await s3Code(gone.send(new ListBucketsCommand({}))), 'InvalidAccessKeyId/403', 'a removed user → InvalidAccessKeyId');
  t.equal(await s3Code(gone.send(new PutObjectCommand({ Bucket: rb, Key: 'gone2.txt', Body: 'x' }))), 'InvalidAccessKeyId/403', 'and cannot write');
  t.equal(await rootSees2(rb, 'gone2.txt'), 'NoSuchKey/404', 'nothing stored');
  await put(added, rb, 'new/n.txt', 'new user');
  t.equal(await rootSees2(rb, 'new/n.txt'), 'new user', 'an added user works (its own policy)');
  t.equal(await s3Code(added.send(new PutObjectCommand({ Bucket: rb, Key: 'outside.txt', Body: 'x' }))), DENIED, 'and is held to it');
  t.equal(await s3Code(one().send(new GetObjectCommand({ Bucket: rb, Key: 'a.txt' }))), DENIED, 'a changed user: r-one (now writeonly) cannot read');
  t.equal(await s3Code(one().send(new PutObjectCommand({ Bucket: rb, Key: 'one.txt', Body: 'one' }))), 'ok', 'but writes');
  t.equal(await rootSees2(rb, 'one.txt'), 'one', 'stored');
  t.notOk(rd.logs.slice(mark).some((l) => l.includes('readable by every user')), 'the 0600 file gives no warning at the reload');

  // Broken files: each refused, logged, the previous users stay.
  const broken: Array<[string, string]> = [
    ['bad JSON', '{"users": ['],
    ['an unknown policy', JSON.stringify({ users: [{ accessKey: 'r-one', secretKey: 'r-one-secret', policies: ['nope'] }] })],
    ['a short secret', JSON.stringify({ users: [{ accessKey: 'r-one', secretKey: 'short', policies: ['readwrite'] }] })],
    ['a deleted file', ''],
  ];
  for (const [what, content] of broken) {
    if (content === '') rmSync(reloadFile);
    else writeIam(reloadFile, content);
    const failed = await reload(rd, 'users reload failed');
    t.match(String(failed?.msg), /^users reload failed/, `${what}: "users reload failed" logged`);
    t.equal(failed?.level, 50, `${what}: as an error`);
    t.equal(rd.proc.exitCode, null, `${what}: the daemon keeps running`);
    t.equal(await s3Code(added.send(new GetObjectCommand({ Bucket: rb, Key: 'new/n.txt' }))), 'ok', `${what}: r-new still works`);
    t.equal(await s3Code(one().send(new GetObjectCommand({ Bucket: rb, Key: 'a.txt' }))), DENIED, `${what}: r-one still writeonly (not readwrite)`);
    t.equal(await s3Code(gone.send(new ListBucketsCommand({}))), 'InvalidAccessKeyId/403', `${what}: r-gone still unknown`);
  }
  // A world-readable file at a reload: loaded, with the warning.
  writeIam(reloadFile, { users: [{ accessKey: 'r-one', secretKey: 'r-one-secret-2', policies: ['readwrite'] }] }, 0o604);
  const warnedBefore = rd.logs.filter((l) => l.includes('readable by every user')).length;
  const ok = await reload(rd, 'users reloaded');
  t.equal(ok?.users, 1, 'a world-readable file is still loaded');
  t.equal(rd.logs.filter((l) => l.includes('readable by every user')).length, warnedBefore + 1, 'with a new warning');
  t.equal(await s3Code(one().send(new GetObjectCommand({ Bucket: rb, Key: 'a.txt' }))), 'SignatureDoesNotMatch/403', 'a changed secret: the old one no longer signs');
  t.equal(await text(one('r-one-secret-2'), rb, 'a.txt'), 'a', 'the new secret does, with readwrite');
  t.equal(await s3Code(added.send(new ListBucketsCommand({}))), 'InvalidAccessKeyId/403', 'r-new removed');
  // Group-readable (0640, the service's group) is fine: no warning.
  writeIam(reloadFile, { users: [{ accessKey: 'r-one', secretKey: 'r-one-secret-2', policies: ['readwrite'] }] }, 0o640);
  const warned640 = rd.logs.filter((l) => l.includes('readable by every user')).length;
  t.equal((await reload(rd, 'users reloaded'))?.users, 1, 'a 0640 file reloads');
  t.equal(rd.logs.filter((l) => l.includes('readable by every user')).length, warned640, 'without a warning');
  t.equal(await s3Code(rroot.send(new ListBucketsCommand({}))), 'ok', 'root unaffected by every reload');

  async function rootSees2(Bucket: string, Key: string): Promise<string> {
    return s3Code(rroot.send(new GetObjectCommand({ Bucket, Key }))).then(async (c) => (c === 'ok' ? text(rroot, Bucket, Key) : c));
  }
});

// ---- start-up refusals --------------------------------------------------------------------------

t.test('a broken S3_IAM_FILE: the daemon refuses to start, naming S3_IAM_FILE', async (t) => {
  const user = (o: Partial<UserEntry> & Record<string, unknown> = {}): Record<string, unknown> => ({ accessKey: 'someone', secretKey: 'someone-secret', policies: ['readonly'], ...o });
  const cases: Array<[string, unknown, RegExp]> = [
    ['bad JSON', '{"users": [ {"accessKey": "x", }', /not valid JSON/],
    ['an unknown top-level field', { users: [user()], groups: {} }, /unknown field "groups"/],
    ['an unknown user field', { users: [user({ group: 'devs' })] }, /unknown field "group"/],
    ["a user with the root user's access key", { users: [user({ accessKey: ACCESS_KEY })] }, /root user/],
    ['a duplicate access key', { users: [user(), user({ secretKey: 'another-secret' })] }, /appears twice/],
    ['a secret of 7 characters', { users: [user({ secretKey: 'seven77' })] }, /secretKey must be 8/],
    ['an unknown policy name', { users: [user({ policies: ['readonly', 'no-such-policy'] })] }, /no policy named "no-such-policy"/],
    ['a policy with a Principal', { policies: { p: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: arn('*') }] } }, users: [user({ policies: ['p'] })] }, /Principal/],
    ['a policy with NotAction', { policies: { p: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', NotAction: 's3:DeleteObject', Resource: arn('*') }] } }, users: [user({ policies: ['p'] })] }, /NotAction/],
    ['readwrite redefined', { policies: { readwrite: doc(allow(['s3:GetObject'], ['*'])) }, users: [user({ policies: ['readwrite'] })] }, /built-in/],
    ['a missing file', null, /cannot be read/],
  ];
  const results: Array<{ name: string; err: Error | undefined; file: string; pattern: RegExp }> = [];
  const runCase = async ([name, content, pattern]: [string, unknown, RegExp], i: number): Promise<void> => {
    const file = join(work, `broken-${i}.json`);
    if (content !== null) writeIam(file, content);
    const dataDir = join(work, `broken-data-${i}`);
    const err = await startDaemon({ dataDir, env: { S3_IAM_FILE: file } }).then(
      async (x) => {
        await x.stop();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    results.push({ name, err, file, pattern });
  };
  for (let i = 0; i < cases.length; i += 4) await Promise.all(cases.slice(i, i + 4).map((c, j) => runCase(c, i + j)));
  results.sort((a, b) => a.name.localeCompare(b.name));
  for (const { name, err, file, pattern } of results) {
    t.ok(err, `${name}: refused to start`);
    const m = /exited with (\S+) before listening/.exec(err?.message ?? '');
    t.ok(m && m[1] !== '0' && m[1] !== 'null', `${name}: a non-zero exit code (${m?.[1]})`);
    const line = err?.message.split('\n').find((l) => l.startsWith('s3d: ')) ?? '';
    t.match(line, /S3_IAM_FILE/, `${name}: the message names S3_IAM_FILE: ${line}`);
    t.ok(line.includes(file), `${name}: and the file`);
    t.match(line, pattern, `${name}: and says why`);
  }
  // The control: a good file with a secret of exactly 8 characters starts (the main daemon did, with app-wo).
  t.equal(await s3Code(as('app-wo').send(new PutObjectCommand({ Bucket: B, Key: 'eight.txt', Body: '8' }))), 'ok', 'a secret of exactly 8 characters is accepted');
});

t.test('the root user is never restricted, and no secret reaches the log', async (t) => {
  // Everything denied to users above, done by root.
  await put(root, B, 'secret/root.txt', 'root');
  t.equal(await text(root, B, 'secret/root.txt'), 'root', 'root writes and reads under secret/');
  t.equal(await s3Code(root.send(new ListObjectVersionsCommand({ Bucket: VB }))), 'ok', 'root lists versions');
  t.equal(await s3Code(root.send(new ListMultipartUploadsCommand({ Bucket: B }))), 'ok', 'root lists uploads');
  const out = await root.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'secret/root.txt' }, { Key: 'photos/keep-b.jpg' }] } }));
  t.same((out.Deleted ?? []).map((x) => x.Key).sort(), ['photos/keep-b.jpg', 'secret/root.txt'], 'root DeleteObjects: every key deleted');
  t.same(out.Errors ?? [], [], 'no errors');
  const kmsStatus = (accessKeyId: string, secretAccessKey: string) => raw(d.port, { method: 'GET', path: '/minio/admin/v3/kms/status', sign: { accessKeyId, secretAccessKey } });
  t.equal((await kmsStatus(ACCESS_KEY, SECRET_KEY)).status, 200, 'root: the KMS admin API answers');
  const rwAdmin = await kmsStatus('app-rw', secretOf('app-rw'));
  t.equal(rwAdmin.status, 403, 'readwrite (s3:*): the KMS admin API → 403');
  t.match(rwAdmin.body.toString(), /"Code":"AccessDenied"/, 'AccessDenied (MinIO admin JSON)');
  const all = [...d.logs, ...tlsd.logs, ...rd.logs].join('\n');
  const leaked = [...users.map((u) => u.secretKey), 'r-one-secret-2', 'r-new-secret', 'r-gone-secret', SECRET_KEY].filter((s) => all.includes(s));
  t.same(leaked, [], 'no secret key appears in any log');
});
