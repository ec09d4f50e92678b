// Access keys besides the root user (S3_IAM_FILE) against the real daemon, what their policies
// admit, through the SDK: the built-in policies (readwrite, readonly, writeonly) and the file's own
// identity policies, each operation's IAM action (listing buckets, creating and deleting them,
// HEAD/list, objects, versions, copies, multipart, tagging, bucket configuration: each admitted by
// exactly its action), resource patterns with * and ?, condition operators and keys (s3:prefix,
// s3:delimiter, s3:max-keys, aws:SourceIp, aws:Referer, aws:UserAgent), an explicit Deny winning
// over any Allow (in the user's policies or the bucket's), bucket policies allowing users what
// their own policies do not, and DeleteObjects checked key by key. Every denial is shown next to
// the same request succeeding for someone allowed, and followed by a check that it changed
// nothing. The keys themselves (signatures, the file, reloads, other clients, HTTPS):
// s3-users-keys.test.ts. The file's users and policies: test/helpers/users.ts.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetBucketTaggingCommand,
  GetBucketCorsCommand,
  GetBucketVersioningCommand,
  GetObjectAclCommand,
  GetObjectAttributesCommand,
  GetObjectLockConfigurationCommand,
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
import { signRequest } from '../../daemon/auth/sign.js';
import { ACCESS_KEY, bucketName, SECRET_KEY, testBytes } from '../helpers/daemon.js';
import { sha256Hex } from '../helpers/hash.js';
import { minioClient } from '../helpers/minio.js';
import { getBytes, s3Code, withHeaders } from '../helpers/s3.js';
import { allow, arn, B, CFG, CONFIG_ACTIONS, deny, DENIED, doc, headStatus, keysOf, makeFixtures, policies, put, REFERER, run, secretOf, SRC, text, startDaemonWithUsers, UA, userClients, users, VB } from '../helpers/users.js';

// One user of this file only: bucket permissions, and an explicit Deny of s3:ListAllMyBuckets.
const noListAll = { accessKey: 'app-nolistall', secretKey: 'nolistall-secret-1', policies: ['no-list-all'] };
const { d } = await startDaemonWithUsers(t, {
  policies: { ...policies, 'no-list-all': doc(allow(['s3:ListBucket'], [SRC]), deny(['s3:ListAllMyBuckets'], ['*'])) },
  users: [...users, noListAll],
});

const { root, as, rw, ro, wo, photos, rootSees, setBucketPolicy } = userClients(d);
await makeFixtures(root);

// ==================================================================================================

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
  t.equal(await list({ Prefix: 'cond/', Delimiter: '/', MaxKeys: 5 }), DENIED, 'max-keys 5 (Deny StringEquals s3:max-keys 5) → AccessDenied');
  t.equal(await list({ Prefix: 'cond/', Delimiter: '/', MaxKeys: 1000 }), 'ok', 'max-keys 1000 → allowed');
  const listed = await plain.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'cond/', Delimiter: '/' }));
  t.same((listed.Contents ?? []).map((o) => o.Key).sort(), ['cond/referer.txt', 'cond/x.txt'], 'the listing is the full cond/ listing');
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
  t.equal(await s3Code(ver.send(new GetObjectAclCommand({ Bucket: VB, Key: 'doc.txt' }))), 'ok', 'app-ver: GetObjectAcl (s3:GetObjectAcl)');
  t.equal(await s3Code(ver.send(new GetObjectAclCommand({ Bucket: VB, Key: 'doc.txt', VersionId: v1 }))), DENIED, 'app-ver: GetObjectAcl ?versionId → AccessDenied (s3:GetObjectVersionAcl, as on S3)');
  t.equal(await s3Code(rw.send(new GetObjectAclCommand({ Bucket: VB, Key: 'doc.txt', VersionId: v1 }))), 'ok', 'readwrite: GetObjectAcl ?versionId');

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
  // A tagged source: copying its tags (the default directive, COPY) reads and writes them, which
  // needs s3:GetObjectTagging on the source and s3:PutObjectTagging on the copy, as on S3.
  await root.send(new PutObjectCommand({ Bucket: SRC, Key: 'open/tagged.txt', Body: 'tagged source', Tagging: 'class=secret' }));
  t.equal(await s3Code(cp.send(new CopyObjectCommand({ Bucket: B, Key: 'copies/tagged.txt', CopySource: `${SRC}/open/tagged.txt` }))), DENIED, 'a tagged source without the tagging actions → AccessDenied');
  t.equal(await rootSees(B, 'copies/tagged.txt'), 'NoSuchKey/404', 'no copy made');
  await cp.send(new CopyObjectCommand({ Bucket: B, Key: 'copies/tagged.txt', CopySource: `${SRC}/open/tagged.txt`, TaggingDirective: 'REPLACE' }));
  t.equal(await rootSees(B, 'copies/tagged.txt'), 'tagged source', 'TaggingDirective REPLACE (no tags): copied');
  t.same((await root.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'copies/tagged.txt' }))).TagSet, [], 'without the tags');
  await rw.send(new CopyObjectCommand({ Bucket: B, Key: 'copies/tagged-rw.txt', CopySource: `${SRC}/open/tagged.txt` }));
  t.same((await root.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'copies/tagged-rw.txt' }))).TagSet, [{ Key: 'class', Value: 'secret' }], 'readwrite (s3:*) copies it with its tags');
});

t.test('CreateBucket on a bucket-name pattern; ListBuckets by s3:ListAllMyBuckets', async (t) => {
  const creator = as('app-creator');
  const mine = `usr-${run}-${randomBytes(3).toString('hex')}`;
  const other = `oth-${run}-${randomBytes(3).toString('hex')}`;
  t.equal(await s3Code(creator.send(new CreateBucketCommand({ Bucket: mine }))), 'ok', `CreateBucket ${mine} (matches usr-${run}-*)`);
  t.equal(await headStatus(root.send(new HeadBucketCommand({ Bucket: mine }))), 200, 'it exists');
  t.equal(await s3Code(creator.send(new CreateBucketCommand({ Bucket: other }))), DENIED, `CreateBucket ${other} → AccessDenied`);
  // Tags at creation tag the bucket: they need s3:PutBucketTagging, which the creator lacks.
  const taggedName = `usr-${run}-${randomBytes(3).toString('hex')}`;
  t.equal(await s3Code(creator.send(new CreateBucketCommand({ Bucket: taggedName, CreateBucketConfiguration: { Tags: [{ Key: 'k', Value: 'v' }] } }))), DENIED, 'CreateBucket with Tags without s3:PutBucketTagging → AccessDenied');
  t.equal(await headStatus(root.send(new HeadBucketCommand({ Bucket: taggedName }))), 404, 'no bucket made');
  // Object Lock at creation turns on versioning and Object Lock for good: as on S3 and MinIO, it
  // needs s3:PutBucketObjectLockConfiguration and s3:PutBucketVersioning too.
  const lockedName = `usr-${run}-${randomBytes(3).toString('hex')}`;
  t.equal(await s3Code(creator.send(new CreateBucketCommand({ Bucket: lockedName, ObjectLockEnabledForBucket: true }))), DENIED, 'CreateBucket with Object Lock without s3:PutBucketObjectLockConfiguration → AccessDenied');
  t.equal(await headStatus(root.send(new HeadBucketCommand({ Bucket: lockedName }))), 404, 'no bucket made');
  t.equal(await s3Code(rw.send(new CreateBucketCommand({ Bucket: lockedName, ObjectLockEnabledForBucket: true }))), 'ok', 'readwrite (s3:*) creates it with Object Lock');
  t.equal((await root.send(new GetObjectLockConfigurationCommand({ Bucket: lockedName }))).ObjectLockConfiguration?.ObjectLockEnabled, 'Enabled');
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

t.test('bucket policies naming users (arn:aws:iam::ACCOUNT:user/NAME): their statements apply to those users only', async (t) => {
  const b = bucketName('iamnamed');
  await root.send(new CreateBucketCommand({ Bucket: b }));
  await Promise.all([put(root, b, 'shared/s.txt', 'shared s'), put(root, b, 'held/h.txt', 'held h')]);
  const user = (name: string): string => `arn:aws:iam::${ACCESS_KEY}:user/${name}`;
  await setBucketPolicy(b, [
    // writeonly reads shared/ (its own policies give it no read); nobody else gains anything.
    { Effect: 'Allow', Principal: { AWS: [user('app-wo')] }, Action: 's3:GetObject', Resource: arn(`${b}/shared/*`) },
    // readwrite may not read held/ (its own policies would let it); readonly may.
    { Effect: 'Deny', Principal: { AWS: user('app-rw') }, Action: 's3:GetObject', Resource: arn(`${b}/held/*`) },
  ]);
  t.equal(await text(wo, b, 'shared/s.txt'), 'shared s', 'writeonly: the user the Allow names reads shared/');
  t.equal(await s3Code(wo.send(new GetObjectCommand({ Bucket: b, Key: 'held/h.txt' }))), DENIED, 'but only what it names');
  t.equal(await s3Code(photos.send(new GetObjectCommand({ Bucket: b, Key: 'shared/s.txt' }))), DENIED, 'another user: not named, nothing gained');
  t.equal(await (await fetch(`${d.endpoint}/${b}/shared/s.txt`)).status, 403, 'anonymous: nothing');
  t.equal(await s3Code(rw.send(new GetObjectCommand({ Bucket: b, Key: 'held/h.txt' }))), DENIED, 'readwrite: the Deny naming it');
  t.equal(await text(rw, b, 'shared/s.txt'), 'shared s', 'and only there');
  t.equal(await text(ro, b, 'held/h.txt'), 'held h', 'readonly: the Deny names someone else');
  t.equal((await root.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic, false, 'a policy for named users is not public');

  // As on AWS, a Principal must be a user that exists: of this account, in S3_IAM_FILE.
  const refused: Array<[string, string]> = [
    ['a user S3_IAM_FILE does not have', user('app-nobody')],
    ['a user of another account', 'arn:aws:iam::123456789012:user/app-wo'],
    ['the root user, which is no user', user(ACCESS_KEY)],
  ];
  for (const [what, principal] of refused) {
    const code = await s3Code(root.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: 's3:GetObject', Resource: arn(`${b}/*`) }] }) })));
    t.equal(code, 'MalformedPolicy/400', what);
  }
  t.equal(await text(wo, b, 'shared/s.txt'), 'shared s', 'the policy in force is unchanged');
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

  // Multipart: the parts and the completion carry no SSE header of their own; the upload's
  // CreateMultipartUpload asked for it. Every UploadPart used to be denied, so the aws CLI could
  // not upload a large file with --sse AES256 into such a bucket.
  t.equal(await s3Code(rw.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mp-plain' }))), DENIED, 'a multipart upload without SSE is denied at its start');
  const mp = await rw.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mp', ServerSideEncryption: 'AES256' }));
  const part1 = testBytes(5 * 1024 * 1024, 71);
  const p1 = await rw.send(new UploadPartCommand({ Bucket: b, Key: 'mp', UploadId: mp.UploadId, PartNumber: 1, Body: part1 }));
  const p2 = await rw.send(new UploadPartCopyCommand({ Bucket: b, Key: 'mp', UploadId: mp.UploadId, PartNumber: 2, CopySource: `${b}/sse` }));
  const done = await rw.send(
    new CompleteMultipartUploadCommand({ Bucket: b, Key: 'mp', UploadId: mp.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.CopyPartResult?.ETag }] } }),
  );
  t.equal(done.ServerSideEncryption, 'AES256', 'an upload begun with SSE-S3 uploads its parts, copies one and completes');
  // Its completion repeated (a retry whose answer was lost): the upload is gone, the object it made is judged.
  const again = await rw
    .send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'mp', UploadId: mp.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.CopyPartResult?.ETag }] } }))
    .catch((err: Error) => err);
  t.equal((again as { ETag?: string }).ETag, done.ETag, 'a retried Complete of it is answered 200 with its ETag (it was 403: the policy judged it without the upload\'s SSE)');
  t.equal(sha256Hex(await getBytes(root, { Bucket: b, Key: 'mp' })), sha256Hex(Buffer.concat([part1, Buffer.from('x')])), 'and reads back');
  // An upload begun before the policy, without SSE, cannot finish under it.
  await root.send(new DeleteBucketPolicyCommand({ Bucket: b }));
  const early = await rw.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mp-early' }));
  await setBucketPolicy(b, [{ Sid: 'DenyUnencrypted', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: arn(`${b}/*`), Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } } }]);
  t.equal(await s3Code(rw.send(new UploadPartCommand({ Bucket: b, Key: 'mp-early', UploadId: early.UploadId, PartNumber: 1, Body: 'z' }))), DENIED, 'a part of an upload begun without SSE is denied');
  // Another key's upload does not lend its SSE: the id must name this key's upload.
  const other = await rw.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mp-other', ServerSideEncryption: 'AES256' }));
  t.equal(await s3Code(rw.send(new UploadPartCommand({ Bucket: b, Key: 'mp-other', UploadId: other.UploadId, PartNumber: 1, Body: 'z' }))), 'ok', 'its own key: allowed');
  t.equal(await s3Code(rw.send(new UploadPartCommand({ Bucket: b, Key: 'mp-early', UploadId: other.UploadId, PartNumber: 1, Body: 'z' }))), DENIED, 'an SSE upload\'s id on another key lends nothing');
});

t.test('an encryption condition key is PutObject\'s alone: the header on another request grants nothing', async (t) => {
  // "Allow s3:* when the upload asks for SSE-S3": AWS gives s3:x-amz-server-side-encryption to
  // s3:PutObject requests only (and s3d refuses a statement naming only other actions with it), so
  // a listing, a delete or a bucket setting never matches it, whatever headers it carries.
  const b = bucketName('iamssekey');
  await root.send(new CreateBucketCommand({ Bucket: b }));
  await put(root, b, 'keep.txt', 'kept');
  await setBucketPolicy(b, [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: [arn(b), arn(`${b}/*`)], Condition: { StringEquals: { 's3:x-amz-server-side-encryption': 'AES256' } } }]);
  const sse = { 'x-amz-server-side-encryption': 'AES256' };
  t.equal(await s3Code(wo.send(new PutObjectCommand({ Bucket: b, Key: 'sse.txt', Body: 'x', ServerSideEncryption: 'AES256' }))), 'ok', 'an SSE-S3 upload: allowed');
  t.equal(await s3Code(ro.send(new PutObjectCommand({ Bucket: b, Key: 'sse-ro.txt', Body: 'x', ServerSideEncryption: 'AES256' }))), 'ok', 'by a user whose own policies do not allow it too');
  t.equal(await s3Code(ro.send(new PutObjectCommand({ Bucket: b, Key: 'plain.txt', Body: 'x' }))), DENIED, 'one without SSE: denied');
  t.equal(await s3Code(wo.send(withHeaders(new ListObjectsV2Command({ Bucket: b }), sse))), DENIED, 'ListObjectsV2 with the header: denied');
  t.equal(await s3Code(wo.send(withHeaders(new PutBucketTaggingCommand({ Bucket: b, Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }), sse))), DENIED, 'PutBucketTagging with the header: denied');
  t.equal(await s3Code(root.send(new GetBucketTaggingCommand({ Bucket: b }))), 'NoSuchTagSet/404', 'no tags set');
  t.equal(await s3Code(ro.send(withHeaders(new DeleteObjectCommand({ Bucket: b, Key: 'keep.txt' }), sse))), DENIED, 'DeleteObject with the header: denied');
  t.equal((await fetch(`${d.endpoint}/${b}/keep.txt`, { method: 'DELETE', headers: sse })).status, 403, 'an anonymous DELETE with the header: denied');
  t.equal(await rootSees(b, 'keep.txt'), 'kept', 'the object is still there');
});

t.test('a copy source that names no object is 400 InvalidArgument for users too (was 403 AccessDenied)', async (t) => {
  await put(root, B, 'photos/copy-me.jpg', 'copied');
  for (const CopySource of [B, `${B}/`, '%E0%A4%A', `/${B}`]) {
    t.equal(await s3Code(rw.send(new CopyObjectCommand({ Bucket: B, Key: 'photos/copy-dst.jpg', CopySource }))), 'InvalidArgument/400', `readwrite, CopySource ${JSON.stringify(CopySource)}`);
  }
  t.equal(await rootSees(B, 'photos/copy-dst.jpg'), 'NoSuchKey/404', 'nothing was written');
  t.equal(await s3Code(ro.send(new CopyObjectCommand({ Bucket: B, Key: 'photos/copy-dst.jpg', CopySource: B }))), DENIED, 'a user that may not write the destination is still denied');
  t.equal(await s3Code(rw.send(new CopyObjectCommand({ Bucket: B, Key: 'photos/copy-dst.jpg', CopySource: `${B}/photos/copy-me.jpg` }))), 'ok', 'a good source copies');
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

t.test('ListBuckets without s3:ListAllMyBuckets names the buckets the user may list or locate (as MinIO), no other', async (t) => {
  const names = async (c: S3Client, input: { MaxBuckets?: number; Prefix?: string } = {}): Promise<string[]> => ((await c.send(new ListBucketsCommand(input))).Buckets ?? []).map((b) => b.Name!);
  const ver = as('app-ver'); // s3:ListBucket on VB, objects of VB; no s3:ListAllMyBuckets
  t.same(await names(ver), [VB], 'a user with s3:ListBucket on one bucket sees that bucket alone (mc ls ALIAS/)');
  const page = await ver.send(new ListBucketsCommand({ MaxBuckets: 1 }));
  t.same([page.Buckets?.map((b) => b.Name), page.ContinuationToken], [[VB], undefined], 'a page of 1: the bucket, and no token (no further bucket it may see)');
  t.same(await names(ver, { Prefix: 'zz-none-' }), [], 'a prefix matching none of its buckets: 200, empty');
  const mc = minioClient(d, { accessKey: 'app-ver', secretKey: secretOf('app-ver') });
  t.same((await mc.listBuckets()).map((b) => b.name), [VB], 'minio-js listBuckets (what mc ls calls) sees it too');

  // A bucket's policy counts as it does for every other request: an Allow of s3:GetBucketLocation
  // (or s3:ListBucket) shows the bucket, a Deny hides it.
  const shown = bucketName('iamlbshow');
  const hidden = bucketName('iamlbhide');
  await Promise.all([shown, hidden].map((b) => root.send(new CreateBucketCommand({ Bucket: b }))));
  const user = (k: string): string => `arn:aws:iam::${ACCESS_KEY}:user/${k}`;
  t.equal(await s3Code(wo.send(new ListBucketsCommand({}))), DENIED, 'writeonly (no bucket action): still AccessDenied');
  t.equal(await s3Code(photos.send(new ListBucketsCommand({}))), DENIED, 'photos: s3:ListBucket only under a prefix → AccessDenied');
  await setBucketPolicy(shown, [{ Effect: 'Allow', Principal: { AWS: [user('app-wo')] }, Action: 's3:GetBucketLocation', Resource: arn(shown) }]);
  t.same(await names(wo), [shown], 'writeonly, allowed s3:GetBucketLocation by a bucket policy: that bucket');
  await setBucketPolicy(hidden, [
    { Effect: 'Allow', Principal: '*', Action: 's3:ListBucket', Resource: arn(hidden) },
    { Effect: 'Deny', Principal: { AWS: [user('app-ver')] }, Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: arn(hidden) },
  ]);
  t.same(await names(wo), [hidden, shown].sort(), 'a bucket anyone may list is shown');
  t.same(await names(ver), [VB], 'but not to a user its policy denies');
  t.same(await names(photos), [hidden], 'the photos user: that one too, not B, where it may list under photos/ only');

  // Nor to one denied s3:ListAllMyBuckets, whatever it may list.
  const nl = as('app-nolistall', d, {}, noListAll.secretKey);
  t.equal(await headStatus(nl.send(new HeadBucketCommand({ Bucket: SRC }))), 200, 'the Deny user may list its bucket');
  t.equal(await s3Code(nl.send(new ListBucketsCommand({}))), DENIED, 'but an explicit Deny of s3:ListAllMyBuckets refuses ListBuckets whole');
  t.ok((await names(ro)).length >= 5, 'readonly (s3:ListAllMyBuckets) still lists every bucket');
});

t.test('GetObjectTorrent at a bucket\'s path: a user allowed s3:GetObjectTorrent gets S3\'s 405, as root does', async (t) => {
  // It named no key, and every user was refused 403 however much its policies allowed (root: 405).
  const port = Number(new URL(d.endpoint).port);
  const torrent = (accessKey: string, secretKey: string, path: string): Promise<number> => {
    const headers = signRequest({ method: 'GET', rawPath: path, rawQuery: 'torrent', headers: { host: `127.0.0.1:${port}` }, accessKeyId: accessKey, secretAccessKey: secretKey, region: 'us-east-1' }).headers;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'GET', path: `${path}?torrent`, headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  };
  t.equal(await torrent(ACCESS_KEY, SECRET_KEY, `/${B}`), 405, 'root: 405');
  t.equal(await torrent('app-rw', secretOf('app-rw'), `/${B}`), 405, 'readwrite (s3:* on every resource): 405, not 403');
  t.equal(await torrent('app-rw', secretOf('app-rw'), `/${B}/docs/c.txt`), 405, 'readwrite at a key: 405 as before');
  t.equal(await torrent('app-ro', secretOf('app-ro'), `/${B}`), 403, 'readonly (no s3:GetObjectTorrent): still AccessDenied');
});

t.test('no secret key reaches this daemon\u2019s log', async (t) => {
  // Every user above signed requests, many of them refused: none of their secrets, nor root's, is logged.
  const all = d.logs.join('\n');
  t.ok(d.logs.length > 0, 'the daemon logged');
  const leaked = [...users.map((u) => u.secretKey), SECRET_KEY].filter((s) => all.includes(s));
  t.same(leaked, [], 'no secret key appears in the log');
});
