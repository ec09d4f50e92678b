// S3 Block Public Access per bucket (PutPublicAccessBlock and friends) against the real daemon:
// the configuration as the AWS SDK, the aws CLI and Terraform's provider write and read it;
// BlockPublicPolicy refusing a public bucket policy (for the root user too, from the SDK and from
// minio-js, as `mc anonymous set` sends it) while a policy pinned to addresses stays allowed;
// RestrictPublicBuckets taking anonymous access away from a public policy already in place (its
// Deny still applying, users of the account still admitted, a non-public policy untouched) and
// giving it back when the block is deleted; a block written by a version that stored only
// "off" reading back as four falses; and S3_BLOCK_PUBLIC_ACCESS=on, the server-wide block (S3's
// account-level one), over policies stored before it and whatever buckets say.

import t from 'tap';
import {
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type PublicAccessBlockConfiguration,
} from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { MetaStore } from '../../daemon/meta/store.js';
import { awsCli, NO_AWS } from '../helpers/aws-cli.js';
import { bucketName, s3Client, startDaemon } from '../helpers/daemon.js';
import { raw } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
import { createBucket, expectS3Error, getBytes, s3Code } from '../helpers/s3.js';
import { allow, arn, doc, startDaemonWithUsers } from '../helpers/users.js';

// A user whose own policy grants nothing in the buckets below: only a bucket policy lets it read.
const READER = { accessKey: 'bpa-reader', secretKey: 'bpa-reader-secret-1', policies: ['elsewhere'] };
const { d, work } = await startDaemonWithUsers(t, { policies: { elsewhere: doc(allow(['s3:GetObject'], [`${bucketName('nowhere')}/*`])) }, users: [READER] });
const s3 = d.s3();
const reader = s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId: READER.accessKey, secretAccessKey: READER.secretKey }, maxAttempts: 1 });

const ALL: PublicAccessBlockConfiguration = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };
const OFF: PublicAccessBlockConfiguration = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false };

/** Anyone may read the bucket's objects (public), optionally only from these addresses (not public). */
function readPolicy(bucket: string, sourceIps?: string[], denyPrefix?: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: arn(`${bucket}/*`), ...(sourceIps ? { Condition: { IpAddress: { 'aws:SourceIp': sourceIps } } } : {}) },
      ...(denyPrefix ? [{ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: arn(`${bucket}/${denyPrefix}*`) }] : []),
    ],
  });
}

const anonGet = async (bucket: string, key: string): Promise<number> => (await raw(d.port, { method: 'GET', path: `/${bucket}/${key}`, sign: false })).status;

t.test('the configuration reads back as written; absent settings are false', async (t) => {
  const Bucket = await createBucket(s3, 'bpa');
  await expectS3Error(t, s3.send(new GetPublicAccessBlockCommand({ Bucket })), 'NoSuchPublicAccessBlockConfiguration', 404, 'a new bucket has none');
  t.equal((await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: ALL }))).$metadata.httpStatusCode, 200, 'all four true is accepted');
  t.same((await s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration, ALL, 'and reads back');
  await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { BlockPublicPolicy: true } }));
  t.same((await s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration, { ...OFF, BlockPublicPolicy: true }, 'a PUT replaces the whole configuration; absent settings are false');
  // Refused documents change nothing.
  for (const body of [
    '<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>',
    '<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><BlockPublicAcls>false</BlockPublicAcls></PublicAccessBlockConfiguration>',
    '<PublicAccessBlockConfiguration><BlockEverything>true</BlockEverything></PublicAccessBlockConfiguration>',
    '<OwnershipControls/>',
  ]) {
    const r = await raw(d.port, { method: 'PUT', path: `/${Bucket}`, query: 'publicAccessBlock', body });
    t.equal(`${r.status} ${/<Code>([^<]+)/.exec(r.body.toString())?.[1]}`, '400 MalformedXML', `refused: ${body}`);
  }
  t.same((await s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration, { ...OFF, BlockPublicPolicy: true }, 'unchanged by the refused PUTs');
  t.equal((await s3.send(new DeletePublicAccessBlockCommand({ Bucket }))).$metadata.httpStatusCode, 204, 'DeletePublicAccessBlock: 204');
  await expectS3Error(t, s3.send(new GetPublicAccessBlockCommand({ Bucket })), 'NoSuchPublicAccessBlockConfiguration', 404, 'gone');
  const anon = await raw(d.port, { method: 'PUT', path: `/${Bucket}`, query: 'publicAccessBlock', body: '<PublicAccessBlockConfiguration/>', sign: false });
  t.equal(anon.status, 403, 'an unsigned PutPublicAccessBlock is refused');
});

t.test('BlockPublicPolicy: a public policy is AccessDenied for everyone; a policy pinned to addresses is not', async (t) => {
  const Bucket = await createBucket(s3, 'bpapol');
  await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { BlockPublicPolicy: true } }));
  await expectS3Error(t, s3.send(new PutBucketPolicyCommand({ Bucket, Policy: readPolicy(Bucket) })), 'AccessDenied', 403, 'a public policy, from the root user');
  await expectS3Error(t, s3.send(new GetBucketPolicyCommand({ Bucket })), 'NoSuchBucketPolicy', 404, 'nothing was stored');
  // What `mc anonymous set download` sends, through minio-js.
  await t.rejects(minioClient(d).setBucketPolicy(Bucket, readPolicy(Bucket)), { code: 'AccessDenied' }, 'minio-js setBucketPolicy of a public policy');
  t.equal(await anonGet(Bucket, 'k'), 403, 'anonymous reads stay refused');

  await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: readPolicy(Bucket, ['127.0.0.1/32']) }));
  t.equal((await s3.send(new GetBucketPolicyStatusCommand({ Bucket }))).PolicyStatus?.IsPublic, false, 'a policy pinned to an address is accepted (not public)');
  await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'pinned' }));
  t.equal(await anonGet(Bucket, 'k'), 200, 'and admits anonymous reads from that address');

  await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
  await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: readPolicy(Bucket) }));
  t.equal((await s3.send(new GetBucketPolicyStatusCommand({ Bucket }))).PolicyStatus?.IsPublic, true, 'without the block, the public policy is accepted');
  await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { BlockPublicPolicy: true } }));
  t.equal(await anonGet(Bucket, 'k'), 200, 'blocking new public policies leaves the one in place working');
  t.equal(await s3Code(s3.send(new DeleteBucketPolicyCommand({ Bucket }))), 'ok', 'and it can still be deleted');
});

t.test('RestrictPublicBuckets: a public policy admits no anonymous request, until the block is deleted', async (t) => {
  const Bucket = await createBucket(s3, 'bparestrict');
  await s3.send(new PutObjectCommand({ Bucket, Key: 'open/k', Body: 'public' }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'closed/k', Body: 'denied' }));
  await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: readPolicy(Bucket, undefined, 'closed/') }));
  t.equal(await anonGet(Bucket, 'open/k'), 200, 'the public policy admits anonymous reads');
  t.equal(await s3Code(getBytes(reader, { Bucket, Key: 'open/k' })), 'ok', 'and the user, whose own policies do not');

  await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { RestrictPublicBuckets: true } }));
  t.equal(await anonGet(Bucket, 'open/k'), 403, 'restricted: anonymous reads are refused');
  t.equal(await s3Code(getBytes(reader, { Bucket, Key: 'open/k' })), 'ok', 'a user of the account is still admitted by the policy');
  t.equal(await s3Code(getBytes(reader, { Bucket, Key: 'closed/k' })), 'AccessDenied/403', 'and its Deny still applies');
  t.equal((await s3.send(new GetBucketPolicyStatusCommand({ Bucket }))).PolicyStatus?.IsPublic, true, 'the policy itself is still public');

  // A policy that is not public (pinned to an address) is not restricted.
  await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: readPolicy(Bucket, ['127.0.0.0/8']) }));
  t.equal(await anonGet(Bucket, 'open/k'), 200, 'a non-public policy still admits anonymous reads');

  await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: readPolicy(Bucket) }));
  t.equal(await anonGet(Bucket, 'open/k'), 403, 'public again: refused');
  await s3.send(new DeletePublicAccessBlockCommand({ Bucket }));
  t.equal(await anonGet(Bucket, 'open/k'), 200, 'the block deleted: admitted again');
});

t.test('the aws CLI sets and reads the block, and is refused a public policy', { skip: NO_AWS }, async (t) => {
  const Bucket = bucketName('bpacli');
  const aws = awsCli(d.endpoint, work, { pathStyle: true });
  await aws.ok('s3', 'mb', `s3://${Bucket}`);
  await aws.ok('s3api', 'put-public-access-block', '--bucket', Bucket, '--public-access-block-configuration', 'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true');
  const got = JSON.parse(await aws.ok('s3api', 'get-public-access-block', '--bucket', Bucket)) as { PublicAccessBlockConfiguration: unknown };
  t.same(got.PublicAccessBlockConfiguration, ALL, 'get-public-access-block');
  const r = await aws.run('s3api', 'put-bucket-policy', '--bucket', Bucket, '--policy', readPolicy(Bucket));
  t.not(r.code, 0, 'put-bucket-policy of a public policy fails');
  t.match(r.stderr, /AccessDenied/, 'with AccessDenied');
});

t.test('a block stored by an earlier version (all off) reads as four falses and blocks nothing', async (t) => {
  const x = await startDaemon();
  t.teardown(() => x.stop());
  const Bucket = await createBucket(x.s3(), 'bpaold');
  t.equal(await x.stop(), 0, 'stopped');
  const meta = new MetaStore(join(x.dataDir, '.s3d'));
  await meta.updateBucket(Bucket, (b) => ({ ...b, publicAccessBlock: 'off' }));
  await meta.close();
  const again = await startDaemon({ dataDir: x.dataDir });
  t.teardown(() => again.stop());
  t.same((await again.s3().send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration, OFF, 'four falses');
  t.equal(await s3Code(again.s3().send(new PutBucketPolicyCommand({ Bucket, Policy: readPolicy(Bucket) }))), 'ok', 'a public policy is accepted');
});

t.test('S3_BLOCK_PUBLIC_ACCESS=on blocks public access in every bucket, whatever the bucket says', async (t) => {
  const x = await startDaemon();
  t.teardown(() => x.stop());
  const open = await createBucket(x.s3(), 'bpaopen');
  await x.s3().send(new PutObjectCommand({ Bucket: open, Key: 'k', Body: 'public' }));
  await x.s3().send(new PutBucketPolicyCommand({ Bucket: open, Policy: readPolicy(open) }));
  const anon = async (port: number, bucket: string): Promise<number> => (await raw(port, { method: 'GET', path: `/${bucket}/k`, sign: false })).status;
  t.equal(await anon(x.port, open), 200, 'without it, the public policy admits anonymous reads');
  t.equal(await x.stop(), 0, 'stopped');

  const y = await startDaemon({ dataDir: x.dataDir, env: { S3_BLOCK_PUBLIC_ACCESS: 'on' } });
  t.teardown(() => y.stop());
  const s3y = y.s3();
  t.equal(await anon(y.port, open), 403, 'with it, the policy stored before admits no anonymous read');
  await s3y.send(new PutPublicAccessBlockCommand({ Bucket: open, PublicAccessBlockConfiguration: OFF }));
  t.equal(await anon(y.port, open), 403, 'a bucket\u2019s own all-off block does not lift it');
  await s3y.send(new DeletePublicAccessBlockCommand({ Bucket: open }));
  await expectS3Error(t, s3y.send(new GetPublicAccessBlockCommand({ Bucket: open })), 'NoSuchPublicAccessBlockConfiguration', 404, 'GetPublicAccessBlock reports the bucket\u2019s own block only, as S3 does');
  const other = await createBucket(s3y, 'bpaacct');
  await expectS3Error(t, s3y.send(new PutBucketPolicyCommand({ Bucket: other, Policy: readPolicy(other) })), 'AccessDenied', 403, 'a new public policy is refused');
  await s3y.send(new PutObjectCommand({ Bucket: other, Key: 'k', Body: 'pinned' }));
  await s3y.send(new PutBucketPolicyCommand({ Bucket: other, Policy: readPolicy(other, ['127.0.0.1/32']) }));
  t.equal(await anon(y.port, other), 200, 'a policy pinned to an address is not public: accepted, and it admits');
});
