// Every command @aws-sdk/client-s3 exports, sent to one real daemon with minimal plausible input,
// and its outcome held against a table: the implemented ones succeed (or give S3's error for the
// state they meet), the others are 501 NotImplemented and change nothing. Unimplemented S3 APIs
// used to fall through to plain object and bucket operations (api-unsupported.test.ts); this
// sweep keeps every command the SDK can send accounted for. A command the SDK adds (an upgrade)
// and the table lacks fails the test: review what s3d does with it, then add it.
import t from 'tap';
import * as sdk from '@aws-sdk/client-s3';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { bucketName, startDaemonFor } from '../helpers/daemon.js';
import { clientFor, createBucket, getBytes, s3Code } from '../helpers/s3.js';

// Every request logged: the operation s3d ran for each command is read back from its line.
const d = await startDaemonFor(t, { env: { S3_ACCESS_LOG: 'all' } });
const s3: S3Client = clientFor(d, { maxAttempts: 1, requestHandler: { requestTimeout: 5000, connectionTimeout: 5000 } });

// The state every command meets: a bucket with an object, a versioned one with two versions, a
// lock-enabled one, open uploads, and buckets to create or delete.
const b = await createBucket(s3, 'sweep');
const vb = await createBucket(s3, 'sweepv');
const lb = bucketName('sweepl');
await s3.send(new CreateBucketCommand({ Bucket: lb, ObjectLockEnabledForBucket: true }));
await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: 'Enabled' } }));
await s3.send(new PutBucketTaggingCommand({ Bucket: b, Tagging: { TagSet: [{ Key: 'keep', Value: 'me' }] } }));
for (const key of ['obj', 'to-delete', 'to-delete-2']) await s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: `body of ${key}` }));
await s3.send(new PutObjectCommand({ Bucket: lb, Key: 'obj', Body: 'locked' }));
const v1 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'obj', Body: 'one' }))).VersionId!;
await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'obj', Body: 'two' }));
const upload = async (Key: string): Promise<string> => (await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key }))).UploadId!;
const toAbort = await upload('mpu-abort');
const toList = await upload('mpu-list');
const toComplete = await upload('mpu-complete');
const part = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'mpu-complete', UploadId: toComplete, PartNumber: 1, Body: 'the part' }));
await s3.send(new UploadPartCommand({ Bucket: b, Key: 'mpu-list', UploadId: toList, PartNumber: 1, Body: 'listed part' }));
const emptyToDelete = await createBucket(s3, 'sweepd');
const fresh = bucketName('sweepn');
const future = new Date(Date.now() + 86_400_000);
const ARN = 'arn:aws:s3:::dest';
const OK = 'ok';
const NI = 'NotImplemented/501';

type Input = Record<string, unknown>;
interface Case {
  input: Input;
  expect: string;
  /** Why an implemented command's answer is not a success. */
  note?: string;
  /** The client to send it with (default s3). */
  client?: S3Client;
}
const cfg = (input: Input = {}): Input => ({ Bucket: b, ...input });
const obj = (input: Input = {}): Input => ({ Bucket: b, Key: 'obj', ...input });

// Keyed by the command's name without `Command`.
const CASES: Record<string, Case> = {
  AbortMultipartUpload: { input: { Bucket: b, Key: 'mpu-abort', UploadId: toAbort }, expect: OK },
  CompleteMultipartUpload: { input: { Bucket: b, Key: 'mpu-complete', UploadId: toComplete, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }, expect: OK },
  CopyObject: { input: { Bucket: b, Key: 'copy', CopySource: `${b}/obj` }, expect: OK },
  CreateBucket: { input: { Bucket: fresh }, expect: OK },
  CreateBucketMetadataConfiguration: { input: cfg({ MetadataConfiguration: { JournalTableConfiguration: { RecordExpiration: { Expiration: 'DISABLED' } } } }), expect: NI },
  CreateBucketMetadataTableConfiguration: { input: cfg({ MetadataTableConfiguration: { S3TablesDestination: { TableBucketArn: ARN, TableName: 't' } } }), expect: NI },
  CreateMultipartUpload: { input: obj({ Key: 'mpu-new' }), expect: OK },
  CreateSession: { input: cfg(), expect: NI },
  DeleteBucket: { input: { Bucket: emptyToDelete }, expect: OK },
  DeleteBucketAnalyticsConfiguration: { input: cfg({ Id: 'a' }), expect: NI },
  DeleteBucketCors: { input: cfg(), expect: OK },
  DeleteBucketEncryption: { input: cfg(), expect: OK },
  DeleteBucketIntelligentTieringConfiguration: { input: cfg({ Id: 'a' }), expect: NI },
  DeleteBucketInventoryConfiguration: { input: cfg({ Id: 'a' }), expect: NI },
  DeleteBucketLifecycle: { input: cfg(), expect: OK },
  DeleteBucketMetadataConfiguration: { input: cfg(), expect: NI },
  DeleteBucketMetadataTableConfiguration: { input: cfg(), expect: NI },
  DeleteBucketMetricsConfiguration: { input: cfg({ Id: 'a' }), expect: NI },
  DeleteBucketOwnershipControls: { input: cfg(), expect: OK },
  DeleteBucketPolicy: { input: cfg(), expect: OK },
  DeleteBucketReplication: { input: cfg(), expect: OK },
  DeleteBucketTagging: { input: { Bucket: vb }, expect: OK },
  DeleteBucketWebsite: { input: cfg(), expect: OK },
  DeleteObject: { input: obj({ Key: 'to-delete' }), expect: OK },
  DeleteObjectAnnotation: { input: obj({ AnnotationName: 'note' }), expect: NI },
  DeleteObjectTagging: { input: obj(), expect: OK },
  DeleteObjects: { input: cfg({ Delete: { Objects: [{ Key: 'to-delete-2' }] } }), expect: OK },
  DeletePublicAccessBlock: { input: cfg(), expect: OK },
  GetBucketAbac: { input: cfg(), expect: NI },
  GetBucketAccelerateConfiguration: { input: cfg(), expect: OK },
  GetBucketAcl: { input: cfg(), expect: OK },
  GetBucketAnalyticsConfiguration: { input: cfg({ Id: 'a' }), expect: 'NoSuchConfiguration/404', note: 's3d keeps none' },
  GetBucketCors: { input: cfg(), expect: 'NoSuchCORSConfiguration/404' },
  GetBucketEncryption: { input: cfg(), expect: 'ServerSideEncryptionConfigurationNotFoundError/404' },
  GetBucketIntelligentTieringConfiguration: { input: cfg({ Id: 'a' }), expect: 'NoSuchConfiguration/404', note: 's3d keeps none' },
  GetBucketInventoryConfiguration: { input: cfg({ Id: 'a' }), expect: 'NoSuchConfiguration/404', note: 's3d keeps none' },
  GetBucketLifecycleConfiguration: { input: cfg(), expect: 'NoSuchLifecycleConfiguration/404' },
  GetBucketLocation: { input: cfg(), expect: OK },
  GetBucketLogging: { input: cfg(), expect: OK },
  GetBucketMetadataConfiguration: { input: cfg(), expect: NI },
  GetBucketMetadataTableConfiguration: { input: cfg(), expect: NI },
  GetBucketMetricsConfiguration: { input: cfg({ Id: 'a' }), expect: 'NoSuchConfiguration/404', note: 's3d keeps none' },
  GetBucketNotificationConfiguration: { input: cfg(), expect: OK },
  GetBucketOwnershipControls: { input: cfg(), expect: OK },
  GetBucketPolicy: { input: cfg(), expect: 'NoSuchBucketPolicy/404' },
  GetBucketPolicyStatus: { input: cfg(), expect: 'NoSuchBucketPolicy/404', note: 'the bucket has no policy' },
  GetBucketReplication: { input: cfg(), expect: 'ReplicationConfigurationNotFoundError/404' },
  GetBucketRequestPayment: { input: cfg(), expect: OK },
  GetBucketTagging: { input: cfg(), expect: OK },
  GetBucketVersioning: { input: cfg(), expect: OK },
  GetBucketWebsite: { input: cfg(), expect: 'NoSuchWebsiteConfiguration/404' },
  GetObject: { input: obj(), expect: OK },
  GetObjectAcl: { input: obj(), expect: OK },
  GetObjectAnnotation: { input: obj({ AnnotationName: 'note' }), expect: NI },
  GetObjectAttributes: { input: obj({ ObjectAttributes: ['ETag', 'ObjectSize'] }), expect: OK },
  GetObjectLegalHold: { input: { Bucket: lb, Key: 'obj' }, expect: 'NoSuchObjectLockConfiguration/404', note: 'the object has no legal hold yet' },
  GetObjectLockConfiguration: { input: { Bucket: lb }, expect: OK },
  GetObjectRetention: { input: { Bucket: lb, Key: 'obj' }, expect: 'NoSuchObjectLockConfiguration/404', note: 'the object has no retention yet' },
  GetObjectTagging: { input: obj(), expect: OK },
  GetObjectTorrent: { input: obj(), expect: 'MethodNotAllowed/405', note: 'S3 no longer serves torrents: its 405' },
  GetPublicAccessBlock: { input: cfg(), expect: 'NoSuchPublicAccessBlockConfiguration/404' },
  HeadBucket: { input: cfg(), expect: OK },
  HeadObject: { input: obj(), expect: OK },
  ListBucketAnalyticsConfigurations: { input: cfg(), expect: OK },
  ListBucketIntelligentTieringConfigurations: { input: cfg(), expect: OK },
  ListBucketInventoryConfigurations: { input: cfg(), expect: OK },
  ListBucketMetricsConfigurations: { input: cfg(), expect: OK },
  ListBuckets: { input: {}, expect: OK },
  // S3 Express's call, signed for the s3express service, which this endpoint refuses.
  ListDirectoryBuckets: { input: {}, expect: 'AuthorizationHeaderMalformed/400', note: 'signed for s3express' },
  ListMultipartUploads: { input: cfg(), expect: OK },
  ListObjectAnnotations: { input: obj(), expect: NI },
  ListObjects: { input: cfg(), expect: OK },
  ListObjectsV2: { input: cfg(), expect: OK },
  ListObjectVersions: { input: { Bucket: vb }, expect: OK },
  ListParts: { input: { Bucket: b, Key: 'mpu-list', UploadId: toList }, expect: OK },
  PutBucketAbac: { input: cfg({ AbacStatus: { Status: 'Enabled' } }), expect: NI },
  PutBucketAccelerateConfiguration: { input: cfg({ AccelerateConfiguration: { Status: 'Suspended' } }), expect: OK },
  PutBucketAcl: { input: cfg({ ACL: 'private' }), expect: OK },
  PutBucketAnalyticsConfiguration: { input: cfg({ Id: 'a', AnalyticsConfiguration: { Id: 'a', StorageClassAnalysis: {} } }), expect: NI },
  PutBucketCors: { input: { Bucket: vb, CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['*'] }] } }, expect: OK },
  PutBucketEncryption: { input: { Bucket: vb, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }, expect: OK },
  PutBucketIntelligentTieringConfiguration: { input: cfg({ Id: 'a', IntelligentTieringConfiguration: { Id: 'a', Status: 'Enabled', Tierings: [{ Days: 90, AccessTier: 'ARCHIVE_ACCESS' }] } }), expect: NI },
  PutBucketInventoryConfiguration: {
    input: cfg({ Id: 'a', InventoryConfiguration: { Id: 'a', IsEnabled: true, IncludedObjectVersions: 'All', Schedule: { Frequency: 'Daily' }, Destination: { S3BucketDestination: { Bucket: ARN, Format: 'CSV' } } } }),
    expect: NI,
  },
  PutBucketLifecycleConfiguration: { input: { Bucket: vb, LifecycleConfiguration: { Rules: [{ ID: 'r', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } }] } }, expect: OK },
  PutBucketLogging: { input: cfg({ BucketLoggingStatus: {} }), expect: OK },
  PutBucketMetricsConfiguration: { input: cfg({ Id: 'a', MetricsConfiguration: { Id: 'a' } }), expect: NI },
  PutBucketNotificationConfiguration: { input: cfg({ NotificationConfiguration: {} }), expect: OK },
  PutBucketOwnershipControls: { input: cfg({ OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }), expect: OK },
  PutBucketPolicy: {
    input: { Bucket: vb, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${vb}/public/*` }] }) },
    expect: OK,
  },
  PutBucketReplication: {
    input: cfg({ ReplicationConfiguration: { Role: 'arn:aws:iam::1:role/r', Rules: [{ Status: 'Enabled', Priority: 1, Filter: {}, DeleteMarkerReplication: { Status: 'Disabled' }, Destination: { Bucket: ARN } }] } }),
    expect: NI,
  },
  PutBucketRequestPayment: { input: cfg({ RequestPaymentConfiguration: { Payer: 'BucketOwner' } }), expect: OK },
  PutBucketTagging: { input: { Bucket: vb, Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }, expect: OK },
  PutBucketVersioning: { input: { Bucket: vb, VersioningConfiguration: { Status: 'Enabled' } }, expect: OK },
  PutBucketWebsite: { input: cfg({ WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }), expect: NI },
  PutObject: { input: obj({ Key: 'new', Body: 'new body' }), expect: OK },
  PutObjectAcl: { input: obj({ ACL: 'private' }), expect: OK },
  PutObjectAnnotation: { input: obj({ AnnotationName: 'note', AnnotationPayload: 'text' }), expect: NI },
  PutObjectLegalHold: { input: { Bucket: lb, Key: 'obj', LegalHold: { Status: 'OFF' } }, expect: OK },
  PutObjectLockConfiguration: { input: { Bucket: lb, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }, expect: OK },
  PutObjectRetention: { input: { Bucket: lb, Key: 'obj', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: future } }, expect: OK },
  PutObjectTagging: { input: obj({ Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }), expect: OK },
  PutPublicAccessBlock: { input: cfg({ PublicAccessBlockConfiguration: { BlockPublicAcls: false } }), expect: OK },
  RenameObject: { input: obj({ Key: 'renamed', RenameSource: `${b}/obj` }), expect: NI },
  RestoreObject: { input: obj({ RestoreRequest: { Days: 1 } }), expect: NI },
  SelectObjectContent: {
    input: obj({ Expression: 'select * from s3object', ExpressionType: 'SQL', InputSerialization: { CSV: {} }, OutputSerialization: { CSV: {} } }),
    expect: NI,
  },
  UpdateBucketMetadataAnnotationTableConfiguration: { input: cfg({ AnnotationTableConfiguration: { ConfigurationState: 'DISABLED' } }), expect: NI },
  UpdateBucketMetadataInventoryTableConfiguration: { input: cfg({ InventoryTableConfiguration: { ConfigurationState: 'DISABLED' } }), expect: NI },
  UpdateBucketMetadataJournalTableConfiguration: { input: cfg({ JournalTableConfiguration: { RecordExpiration: { Expiration: 'DISABLED' } } }), expect: NI },
  UpdateObjectEncryption: { input: obj({ ObjectEncryption: { SSEKMS: { KMSKeyArn: 'arn:aws:kms:us-east-1:1:key/k' } } }), expect: 'InvalidRequest/400', note: 'S3 refuses it for an unencrypted object' },
  UploadPart: { input: { Bucket: b, Key: 'mpu-list', UploadId: toList, PartNumber: 2, Body: 'second part' }, expect: OK },
  UploadPartCopy: { input: { Bucket: b, Key: 'mpu-list', UploadId: toList, PartNumber: 3, CopySource: `${b}/obj` }, expect: OK },
  // S3 Object Lambda's call, to its own endpoint (the SDK puts the route before the host, which
  // does not resolve for 127.0.0.1): without that prefix it is a POST to a bucket, not a form.
  WriteGetObjectResponse: { input: { RequestRoute: 'route', RequestToken: 'token', Body: 'x' }, expect: 'PreconditionFailed/412', client: clientFor(d, { maxAttempts: 1, disableHostPrefix: true }), note: 'a POST to a bucket that is no form' },
};

/** What an unimplemented command must leave alone: the buckets, their objects and versions, a setting of each. */
async function snapshot(): Promise<unknown> {
  const names = (await s3.send(new ListBucketsCommand({}))).Buckets?.map((x) => x.Name).sort();
  const keys = async (Bucket: string): Promise<unknown> => (await s3.send(new ListObjectsV2Command({ Bucket }))).Contents?.map((o) => [o.Key, o.ETag, o.Size]);
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: vb }));
  return {
    names,
    keys: [await keys(b), await keys(vb), await keys(lb)],
    versions: [...(versions.Versions ?? []).map((v) => `v:${v.Key}:${v.VersionId}:${v.IsLatest}`), ...(versions.DeleteMarkers ?? []).map((m) => `m:${m.Key}:${m.VersionId}`)].sort(),
    bytes: (await getBytes(s3, { Bucket: b, Key: 'obj' })).toString(),
    first: (await getBytes(s3, { Bucket: vb, Key: 'obj', VersionId: v1 })).toString(),
    versioning: (await s3.send(new GetBucketVersioningCommand({ Bucket: vb }))).Status,
    tags: (await s3.send(new GetBucketTaggingCommand({ Bucket: b }))).TagSet,
  };
}

/** `Code/status` as s3Code gives it, and the request id of the answer (undefined when none came). */
async function outcome(p: Promise<unknown>): Promise<{ code: string; requestId: string | undefined }> {
  type Answer = { $metadata?: { requestId?: string } } | undefined;
  let answer: Answer;
  const code = await s3Code(
    p.then(
      (out) => (answer = out as Answer),
      (err: unknown) => {
        answer = err as Answer;
        throw err;
      },
    ),
  );
  return { code, requestId: answer?.$metadata?.requestId };
}

/** The operation a request was logged as. */
async function opOf(requestId: string): Promise<unknown> {
  return (await d.waitForLog((l) => l.msg === 'request' && l.requestId === requestId, 3000)).op;
}

const commands = Object.keys(sdk)
  .filter((n) => n.endsWith('Command') && n !== '$Command')
  .map((n) => n.slice(0, -'Command'.length))
  .sort();

t.test('the table holds every command the SDK exports, and none it does not', async (t) => {
  t.same(commands.filter((n) => !Object.hasOwn(CASES, n)), [], 'commands the SDK added: review what s3d does with each, and add it to CASES');
  t.same(Object.keys(CASES).filter((n) => !commands.includes(n)), [], 'commands the SDK no longer has');
});

t.test('each command: its expected outcome; an unimplemented one changes nothing', async (t) => {
  const Ctors = sdk as unknown as Record<string, new (input: Input) => Parameters<S3Client['send']>[0]>;
  for (const name of commands) {
    const c = CASES[name];
    if (c === undefined) continue;
    const unimplemented = c.expect === NI;
    const before = unimplemented ? await snapshot() : undefined;
    const { code, requestId } = await outcome((c.client ?? s3).send(new Ctors[`${name}Command`]!(c.input)));
    t.equal(code, c.expect, `${name}${c.note ? ` (${c.note})` : ''}`);
    if (unimplemented) t.same(await snapshot(), before, `${name} changed nothing`);
    // An answer that looks right can still come from another operation (a listing read as an empty configuration).
    // Every answer carries x-amz-request-id; one without would skip the check below unseen.
    else if (code === OK) t.equal(requestId === undefined ? 'no x-amz-request-id' : await opOf(requestId), name, `${name}: the operation s3d ran`);
  }
});

// The same inputs against a bucket that does not exist: no command creates it (PutBucketAbac, with
// no body, once did), the implemented ones answer NoSuchBucket, the others still 501.
t.test('each command against a missing bucket: NoSuchBucket or 501, and no bucket made', async (t) => {
  const Ctors = sdk as unknown as Record<string, new (input: Input) => Parameters<S3Client['send']>[0]>;
  const missing = bucketName('sweepm');
  const rename = (v: unknown): unknown => (v === b || v === vb || v === lb || v === emptyToDelete ? missing : typeof v === 'string' ? v.replaceAll(`${b}/`, `${missing}/`) : v);
  // Calls about no bucket (the service's listings, Object Lambda's) or that make one.
  const bucketless = new Set(['ListBuckets', 'ListDirectoryBuckets', 'WriteGetObjectResponse', 'CreateBucket']);
  for (const name of commands) {
    const c = CASES[name];
    if (c === undefined || bucketless.has(name)) continue;
    const input = Object.fromEntries(Object.entries(c.input).map(([k, v]) => [k, rename(v)]));
    const want = c.expect === NI ? NI : name.startsWith('Head') ? 'NotFound/404' : 'NoSuchBucket/404';
    t.equal(await s3Code(s3.send(new Ctors[`${name}Command`]!(input))), want, name);
  }
  t.equal(await s3Code(s3.send(new sdk.HeadBucketCommand({ Bucket: missing }))), 'NotFound/404', 'the bucket was not created');
});

// What the implemented ones did is their own suites' to check; these few prove the sweep's calls reached them.
t.test('the implemented calls did what they are', async (t) => {
  t.equal(await s3Code(s3.send(new sdk.HeadBucketCommand({ Bucket: fresh }))), OK, 'CreateBucket created the bucket');
  t.equal(await s3Code(s3.send(new sdk.HeadBucketCommand({ Bucket: emptyToDelete }))), 'NotFound/404', 'DeleteBucket deleted it');
  t.equal((await getBytes(s3, { Bucket: b, Key: 'mpu-complete' })).toString(), 'the part', 'CompleteMultipartUpload stored the object');
  t.equal((await getBytes(s3, { Bucket: b, Key: 'copy' })).toString(), 'body of obj', 'CopyObject copied');
  t.equal(await s3Code(getBytes(s3, { Bucket: b, Key: 'to-delete' })), 'NoSuchKey/404', 'DeleteObject deleted');
  t.equal(await s3Code(getBytes(s3, { Bucket: b, Key: 'to-delete-2' })), 'NoSuchKey/404', 'DeleteObjects deleted');
});
