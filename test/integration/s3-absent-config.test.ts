// Bucket configurations s3d does not keep, through the AWS SDK, minio-js and boto3 against the real
// daemon: every read Terraform's aws_s3_bucket (or mc stat) makes answers what S3 answers for a
// bucket that never had the configuration, deletes succeed, PUTs of the "off" value are accepted
// and change nothing, and any other PUT is 501 NotImplemented, never stored and ignored. Ownership
// controls read as BucketOwnerEnforced (what s3d is); an all-false public access block reads back
// until deleted, as Terraform's aws_s3_bucket_public_access_block waits for; the bucket owner is the
// root user, and x-amz-expected-bucket-owner naming anyone else is refused. (CORS rules are kept
// since PutBucketCors, http-bucket-cors.test.ts; a bucket without them reads as here.)
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  DeleteBucketCorsCommand,
  DeleteObjectCommand,
  GetBucketAclCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  DeleteBucketOwnershipControlsCommand,
  DeleteBucketReplicationCommand,
  DeleteBucketWebsiteCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAccelerateConfigurationCommand,
  GetBucketCorsCommand,
  GetBucketLoggingCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketReplicationCommand,
  GetBucketRequestPaymentCommand,
  GetBucketWebsiteCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  GetPublicAccessBlockCommand,
  PutBucketAccelerateConfigurationCommand,
  PutBucketLoggingCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketRequestPaymentCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, REGION, SECRET_KEY, startDaemonFor } from '../helpers/daemon.js';
import { assertXmlError, send } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
import { PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';
import { createBucket, expectS3Error } from '../helpers/s3.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const bucket = await createBucket(s3);
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: 'data' }));

t.test('reads answer as S3 does for a bucket without the configuration', async (t) => {
  const B = { Bucket: bucket };
  await expectS3Error(t, s3.send(new GetBucketCorsCommand(B)), 'NoSuchCORSConfiguration', 404, 'GetBucketCors');
  await expectS3Error(t, s3.send(new GetBucketWebsiteCommand(B)), 'NoSuchWebsiteConfiguration', 404, 'GetBucketWebsite');
  await expectS3Error(t, s3.send(new GetBucketReplicationCommand(B)), 'ReplicationConfigurationNotFoundError', 404, 'GetBucketReplication');
  await expectS3Error(t, s3.send(new GetObjectLockConfigurationCommand(B)), 'ObjectLockConfigurationNotFoundError', 404, 'GetObjectLockConfiguration');
  const ownership = await s3.send(new GetBucketOwnershipControlsCommand(B));
  t.same(ownership.OwnershipControls?.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }], 'GetBucketOwnershipControls: BucketOwnerEnforced (ACLs disabled, as s3d is)');
  await expectS3Error(t, s3.send(new GetPublicAccessBlockCommand(B)), 'NoSuchPublicAccessBlockConfiguration', 404, 'GetPublicAccessBlock');

  const logging = await s3.send(new GetBucketLoggingCommand(B));
  t.equal(logging.$metadata.httpStatusCode, 200, 'GetBucketLogging: 200');
  t.equal(logging.LoggingEnabled, undefined, 'logging is off');
  const notes = await s3.send(new GetBucketNotificationConfigurationCommand(B));
  t.equal(notes.$metadata.httpStatusCode, 200, 'GetBucketNotificationConfiguration: 200');
  t.same([notes.TopicConfigurations, notes.QueueConfigurations, notes.LambdaFunctionConfigurations], [undefined, undefined, undefined], 'no notifications');
  const accel = await s3.send(new GetBucketAccelerateConfigurationCommand(B));
  t.equal(accel.Status, undefined, 'acceleration was never set');
  t.equal((await s3.send(new GetBucketRequestPaymentCommand(B))).Payer, 'BucketOwner', 'the owner pays');

  const O = { Bucket: bucket, Key: 'obj' };
  await expectS3Error(t, s3.send(new GetObjectRetentionCommand(O)), 'InvalidRequest', 400, 'GetObjectRetention');
  await expectS3Error(t, s3.send(new GetObjectLegalHoldCommand(O)), 'InvalidRequest', 400, 'GetObjectLegalHold');
});

t.test('a missing bucket is NoSuchBucket, an unsigned request AccessDenied', async (t) => {
  const B = { Bucket: 'no-such-bucket-abs' };
  await expectS3Error(t, s3.send(new GetBucketCorsCommand(B)), 'NoSuchBucket', 404, 'GetBucketCors');
  await expectS3Error(t, s3.send(new GetBucketLoggingCommand(B)), 'NoSuchBucket', 404, 'GetBucketLogging');
  await expectS3Error(t, s3.send(new DeleteBucketWebsiteCommand(B)), 'NoSuchBucket', 404, 'DeleteBucketWebsite');
  await expectS3Error(t, s3.send(new GetObjectRetentionCommand({ ...B, Key: 'k' })), 'NoSuchBucket', 404, 'GetObjectRetention');
  const anon = await send(d.port, { method: 'GET', path: `/${bucket}`, query: 'logging', sign: false });
  t.equal(anon.status, 403, 'an unsigned GetBucketLogging is refused');
});

t.test('deletes succeed: there is nothing to delete', async (t) => {
  const B = { Bucket: bucket };
  for (const [what, cmd] of [
    ['DeleteBucketCors', new DeleteBucketCorsCommand(B)],
    ['DeleteBucketWebsite', new DeleteBucketWebsiteCommand(B)],
    ['DeleteBucketReplication', new DeleteBucketReplicationCommand(B)],
    ['DeleteBucketOwnershipControls', new DeleteBucketOwnershipControlsCommand(B)],
    ['DeletePublicAccessBlock', new DeletePublicAccessBlockCommand(B)],
  ] as const) {
    const out = await s3.send(cmd as never as DeleteBucketCorsCommand);
    t.equal(out.$metadata.httpStatusCode, 204, `${what}: 204`);
  }
  await expectS3Error(t, s3.send(new GetBucketCorsCommand(B)), 'NoSuchCORSConfiguration', 404, 'still no CORS configuration');
  // S3 has no DeleteBucketLogging, DeleteBucketRequestPayment nor DeleteBucketAccelerateConfiguration:
  // its 405 naming the methods it has, not a 501 for a call S3 would have (a 501 tells a tool to
  // try again once s3d implements it).
  for (const sub of ['logging', 'requestPayment', 'accelerate']) {
    const res = await send(d.port, { method: 'DELETE', path: `/${bucket}`, query: sub });
    assertXmlError(t, res, 405, 'MethodNotAllowed', `DELETE ?${sub}`);
    t.equal(res.headers.allow, 'GET, PUT', `DELETE ?${sub}: Allow names GET and PUT`);
  }
});

t.test('PUTs of what s3d already does are accepted; anything else is NotImplemented and changes nothing', async (t) => {
  const B = { Bucket: bucket };
  t.equal((await s3.send(new PutBucketLoggingCommand({ ...B, BucketLoggingStatus: {} }))).$metadata.httpStatusCode, 200, 'logging off is accepted');
  t.equal((await s3.send(new PutBucketNotificationConfigurationCommand({ ...B, NotificationConfiguration: {} }))).$metadata.httpStatusCode, 200, 'no notifications is accepted');
  t.equal((await s3.send(new PutBucketAccelerateConfigurationCommand({ ...B, AccelerateConfiguration: { Status: 'Suspended' } }))).$metadata.httpStatusCode, 200, 'Suspended acceleration is accepted');
  t.equal((await s3.send(new PutBucketRequestPaymentCommand({ ...B, RequestPaymentConfiguration: { Payer: 'BucketOwner' } }))).$metadata.httpStatusCode, 200, 'BucketOwner pays is accepted');
  // Once written, Suspended reads back, as on S3 (Terraform compares it); a value outside the
  // enumeration is MalformedXML, not NotImplemented (moto's and LocalStack's tests of S3).
  t.equal((await s3.send(new GetBucketAccelerateConfigurationCommand(B))).Status, 'Suspended', 'Suspended acceleration reads back');
  await expectS3Error(t, s3.send(new PutBucketAccelerateConfigurationCommand({ ...B, AccelerateConfiguration: { Status: 'bad_status' as 'Enabled' } })), 'MalformedXML', 400, 'an acceleration status that does not exist');
  await expectS3Error(t, s3.send(new PutBucketRequestPaymentCommand({ ...B, RequestPaymentConfiguration: { Payer: 'Bogus' as 'Requester' } })), 'MalformedXML', 400, 'a payer that does not exist');

  await expectS3Error(
    t,
    s3.send(new PutBucketLoggingCommand({ ...B, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: bucket, TargetPrefix: 'logs/' } } })),
    'NotImplemented',
    501,
    'enabling access logging',
  );
  // Notifications are kept since the webhook targets (s3-notifications.test.ts); this daemon has none.
  await expectS3Error(
    t,
    s3.send(new PutBucketNotificationConfigurationCommand({ ...B, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:minio:sqs::1:webhook', Events: ['s3:ObjectCreated:*'] }] } })),
    'InvalidArgument',
    400,
    'a queue notification to a webhook target this daemon does not have',
  );
  await expectS3Error(t, s3.send(new PutBucketAccelerateConfigurationCommand({ ...B, AccelerateConfiguration: { Status: 'Enabled' } })), 'NotImplemented', 501, 'enabling acceleration');
  await expectS3Error(t, s3.send(new PutBucketRequestPaymentCommand({ ...B, RequestPaymentConfiguration: { Payer: 'Requester' } })), 'NotImplemented', 501, 'requester pays');
  await expectS3Error(t, s3.send(new PutBucketWebsiteCommand({ ...B, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } })), 'NotImplemented', 501, 'PutBucketWebsite');
  // Object Lock is kept (s3-object-lock-settings.test.ts), but only on a bucket with versioning Enabled.
  await expectS3Error(t, s3.send(new PutObjectLockConfigurationCommand({ ...B, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } })), 'InvalidBucketState', 409, 'PutObjectLockConfiguration on an unversioned bucket');
  for (const ownership of ['BucketOwnerPreferred', 'ObjectWriter'] as const) {
    await expectS3Error(t, s3.send(new PutBucketOwnershipControlsCommand({ ...B, OwnershipControls: { Rules: [{ ObjectOwnership: ownership }] } })), 'NotImplemented', 501, `ObjectOwnership ${ownership}`);
  }
  const xml = (body: string): ReturnType<typeof send> => send(d.port, { method: 'PUT', path: `/${bucket}`, query: 'ownershipControls', body });
  for (const body of [
    '<OwnershipControls><Rule><ObjectOwnership>Nobody</ObjectOwnership></Rule></OwnershipControls>',
    '<OwnershipControls></OwnershipControls>',
    '<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>',
    '<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership><Extra/></Rule></OwnershipControls>',
  ]) {
    const r = await xml(body);
    t.equal(`${r.status} ${/<Code>([^<]+)/.exec(r.body.toString())?.[1]}`, '400 MalformedXML', `refused: ${body}`);
  }
  await expectS3Error(
    t,
    s3.send(new PutObjectRetentionCommand({ ...B, Key: 'obj', Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 86_400_000) } })),
    'InvalidRequest',
    400,
    'PutObjectRetention on a bucket without Object Lock'
  );
  const bad = await send(d.port, { method: 'PUT', path: `/${bucket}`, query: 'logging', body: '<BucketLoggingStatus><LoggingEnabled>' });
  t.equal(bad.status, 400, 'a malformed logging document is MalformedXML');

  // Nothing was kept.
  t.equal((await s3.send(new GetBucketLoggingCommand(B))).LoggingEnabled, undefined, 'logging is still off');
  t.equal((await s3.send(new GetBucketRequestPaymentCommand(B))).Payer, 'BucketOwner', 'the owner still pays');
  await expectS3Error(t, s3.send(new GetObjectLockConfigurationCommand(B)), 'ObjectLockConfigurationNotFoundError', 404, 'no Object Lock configuration was stored');
});

t.test('minio-js reads the same answers', async (t) => {
  const mc = minioClient(d);
  const notes = await mc.getBucketNotification(bucket);
  t.same([notes.TopicConfiguration, notes.QueueConfiguration, notes.CloudFunctionConfiguration], [[], [], []], 'getBucketNotification: no notifications');
  const lock = await (mc.getObjectLockConfig(bucket) as unknown as Promise<unknown>).then(
    () => 'no error',
    (err: { code?: string }) => err.code,
  );
  t.equal(lock, 'ObjectLockConfigurationNotFoundError', 'getObjectLockConfig: not found');
  const rep = await (mc.getBucketReplication(bucket) as unknown as Promise<unknown>).then(
    () => 'no error',
    (err: { code?: string }) => err.code,
  );
  t.equal(rep, 'ReplicationConfigurationNotFoundError', 'getBucketReplication: not found');
});

t.test('ownership controls and public access block as Terraform sets and removes them (AWS SDK)', async (t) => {
  const B = { Bucket: await createBucket(s3, 'tf') };
  // aws_s3_bucket_ownership_controls: put, then read back what was put.
  t.equal((await s3.send(new PutBucketOwnershipControlsCommand({ ...B, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }))).$metadata.httpStatusCode, 200, 'BucketOwnerEnforced is accepted');
  t.same((await s3.send(new GetBucketOwnershipControlsCommand(B))).OwnershipControls?.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }], 'and read back');
  t.equal((await s3.send(new DeleteBucketOwnershipControlsCommand(B))).$metadata.httpStatusCode, 204, 'DeleteBucketOwnershipControls: 204');

  // aws_s3_bucket_public_access_block: put, wait until it reads back; delete, wait until it is gone.
  const off = { BlockPublicAcls: false, BlockPublicPolicy: false, IgnorePublicAcls: false, RestrictPublicBuckets: false };
  t.equal((await s3.send(new PutPublicAccessBlockCommand({ ...B, PublicAccessBlockConfiguration: off }))).$metadata.httpStatusCode, 200, 'all four false is accepted');
  t.same((await s3.send(new GetPublicAccessBlockCommand(B))).PublicAccessBlockConfiguration, off, 'and read back');
  t.equal((await s3.send(new PutPublicAccessBlockCommand({ ...B, PublicAccessBlockConfiguration: { BlockPublicAcls: false } }))).$metadata.httpStatusCode, 200, 'absent settings are false');
  t.equal((await s3.send(new DeletePublicAccessBlockCommand(B))).$metadata.httpStatusCode, 204, 'DeletePublicAccessBlock: 204');
  await expectS3Error(t, s3.send(new GetPublicAccessBlockCommand(B)), 'NoSuchPublicAccessBlockConfiguration', 404, 'gone after the delete');
  t.equal((await s3.send(new DeletePublicAccessBlockCommand(B))).$metadata.httpStatusCode, 204, 'deleting again: 204');
});

/** The HTTP status a call ended with (HEAD errors have no code to match). */
async function statusOf(call: Promise<{ $metadata: { httpStatusCode?: number } }>): Promise<number | undefined> {
  try {
    return (await call).$metadata.httpStatusCode;
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
}

t.test('x-amz-expected-bucket-owner: the root user owns every bucket; naming anyone else is 403 and changes nothing', async (t) => {
  const Bucket = await createBucket(s3, 'owner');
  const owner = (await s3.send(new GetBucketAclCommand({ Bucket }))).Owner?.ID;
  t.equal(owner, ACCESS_KEY, 'GetBucketAcl names the root user as the owner');
  t.equal((await s3.send(new ListBucketsCommand({}))).Owner?.ID, owner, 'and so does ListBuckets');
  const right = { ExpectedBucketOwner: owner };
  const wrong = { ExpectedBucketOwner: '123456789012' };

  await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'kept', ...right }));
  t.pass('PutObject naming the owner succeeds');
  await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'overwritten', ...wrong })), 'AccessDenied', 403, 'PutObject naming another owner');
  await expectS3Error(t, s3.send(new PutObjectCommand({ Bucket, Key: 'new', Body: 'x', ...wrong })), 'AccessDenied', 403, 'PutObject of a new key naming another owner');
  await expectS3Error(t, s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', ...wrong })), 'AccessDenied', 403, 'DeleteObject naming another owner');
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket, Key: 'k', ...wrong })), 'AccessDenied', 403, 'GetObject naming another owner');
  await expectS3Error(t, s3.send(new ListObjectsV2Command({ Bucket, ...wrong })), 'AccessDenied', 403, 'ListObjectsV2 naming another owner');
  t.equal(await statusOf(s3.send(new HeadBucketCommand({ Bucket, ...wrong }))), 403, 'HeadBucket naming another owner: 403');
  t.equal(await (await s3.send(new GetObjectCommand({ Bucket, Key: 'k', ...right }))).Body?.transformToString(), 'kept', 'GetObject naming the owner reads the object the refused calls left alone');
  t.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket, Key: 'new' }))), 404, 'the refused new key was not stored');
  t.equal((await s3.send(new ListObjectsV2Command({ Bucket, ...right }))).KeyCount, 1, 'ListObjectsV2 naming the owner');

  // The copy source's owner is checked as well.
  await expectS3Error(t, s3.send(new CopyObjectCommand({ Bucket, Key: 'copy', CopySource: `${Bucket}/k`, ExpectedSourceBucketOwner: '123456789012' })), 'AccessDenied', 403, 'CopyObject naming another source owner');
  t.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket, Key: 'copy' }))), 404, 'the refused copy was not made');
  await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy', CopySource: `${Bucket}/k`, ExpectedSourceBucketOwner: owner, ...right }));
  t.pass('CopyObject naming the owner for both buckets succeeds');
});

const work = mkdtempSync(join(tmpdir(), 's3d-absent-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const pyEnv = pythonEnv(work);

const TERRAFORM_CALLS = `
import json, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
endpoint, key, secret, bucket = sys.argv[1:5]
s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name='${REGION}', config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
out = []
def call(name, fn):
    try:
        r = fn()
        r.pop('ResponseMetadata', None)
        out.append([name, 'ok', r])
    except ClientError as e:
        out.append([name, e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']])
off = {'BlockPublicAcls': False, 'BlockPublicPolicy': False, 'IgnorePublicAcls': False, 'RestrictPublicBuckets': False}
call('put_bucket_ownership_controls', lambda: s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={'Rules': [{'ObjectOwnership': 'BucketOwnerEnforced'}]}))
call('get_bucket_ownership_controls', lambda: s3.get_bucket_ownership_controls(Bucket=bucket))
call('put_public_access_block', lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=off))
call('get_public_access_block', lambda: s3.get_public_access_block(Bucket=bucket))
call('delete_public_access_block', lambda: s3.delete_public_access_block(Bucket=bucket))
call('get_public_access_block', lambda: s3.get_public_access_block(Bucket=bucket))
call('delete_bucket_ownership_controls', lambda: s3.delete_bucket_ownership_controls(Bucket=bucket))
call('put_bucket_ownership_controls', lambda: s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={'Rules': [{'ObjectOwnership': 'ObjectWriter'}]}))
print(json.dumps(out))
`;

t.test('boto3: the calls Terraform makes for ownership controls and a public access block', { skip: noBoto3(pyEnv) }, async (t) => {
  const b = await createBucket(s3, 'tfboto');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(PYTHON_BIN, ['-c', TERRAFORM_CALLS, d.endpoint, ACCESS_KEY, SECRET_KEY, b], { env: pyEnv }, (err, out, errOut) => {
      if (err) reject(new Error(`boto3 script failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  const off = { BlockPublicAcls: false, BlockPublicPolicy: false, IgnorePublicAcls: false, RestrictPublicBuckets: false };
  t.same(JSON.parse(stdout), [
    ['put_bucket_ownership_controls', 'ok', {}],
    ['get_bucket_ownership_controls', 'ok', { OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }],
    ['put_public_access_block', 'ok', {}],
    ['get_public_access_block', 'ok', { PublicAccessBlockConfiguration: off }],
    ['delete_public_access_block', 'ok', {}],
    ['get_public_access_block', 'NoSuchPublicAccessBlockConfiguration', 404],
    ['delete_bucket_ownership_controls', 'ok', {}],
    ['put_bucket_ownership_controls', 'NotImplemented', 501],
  ]);
});
