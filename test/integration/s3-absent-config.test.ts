// Bucket configurations s3d does not keep, through the AWS SDK and minio-js against the real
// daemon: every read Terraform's aws_s3_bucket (or mc stat) makes answers what S3 answers for a
// bucket that never had the configuration, deletes succeed, PUTs of the "off" value are accepted
// and change nothing, and any other PUT is 501 NotImplemented, never stored and ignored. (CORS
// rules are kept since PutBucketCors, http-bucket-cors.test.ts; a bucket without them reads as here.)
import t from 'tap';
import {
  DeleteBucketCorsCommand,
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
  PutBucketNotificationConfigurationCommand,
  PutBucketRequestPaymentCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { send } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
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
  await expectS3Error(t, s3.send(new GetBucketOwnershipControlsCommand(B)), 'OwnershipControlsNotFoundError', 404, 'GetBucketOwnershipControls');
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
});

t.test('PUTs of what s3d already does are accepted; anything else is NotImplemented and changes nothing', async (t) => {
  const B = { Bucket: bucket };
  t.equal((await s3.send(new PutBucketLoggingCommand({ ...B, BucketLoggingStatus: {} }))).$metadata.httpStatusCode, 200, 'logging off is accepted');
  t.equal((await s3.send(new PutBucketNotificationConfigurationCommand({ ...B, NotificationConfiguration: {} }))).$metadata.httpStatusCode, 200, 'no notifications is accepted');
  t.equal((await s3.send(new PutBucketAccelerateConfigurationCommand({ ...B, AccelerateConfiguration: { Status: 'Suspended' } }))).$metadata.httpStatusCode, 200, 'Suspended acceleration is accepted');
  t.equal((await s3.send(new PutBucketRequestPaymentCommand({ ...B, RequestPaymentConfiguration: { Payer: 'BucketOwner' } }))).$metadata.httpStatusCode, 200, 'BucketOwner pays is accepted');

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
  // Object Lock is kept (s3-object-lock.test.ts), but only on a bucket with versioning Enabled.
  await expectS3Error(t, s3.send(new PutObjectLockConfigurationCommand({ ...B, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } })), 'InvalidBucketState', 409, 'PutObjectLockConfiguration on an unversioned bucket');
  await expectS3Error(
    t,
    s3.send(new PutPublicAccessBlockCommand({ ...B, PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true } })),
    'NotImplemented',
    501,
    'PutPublicAccessBlock',
  );
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
