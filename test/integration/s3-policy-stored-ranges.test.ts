// A bucket policy stored by an earlier version with an aws:SourceIp range this one refuses
// (`::ffff:127.0.0.0/8`, an IPv4-mapped range shorter than /96, which that version read as
// 127.0.0.0/8). Stored through the MetaStore, as PutBucketPolicy now refuses it. Re-parsed on each
// request, it made every request the policy judged a 400 MalformedPolicy. Now the policy is read:
// a condition on such a range allows nothing (fail closed) and, in a Deny, matches (it keeps
// denying); start-up logs the bucket once.
import t from 'tap';
import { PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemon } from '../helpers/daemon.js';
import { restartWithStoredPolicy } from '../helpers/bucket-policy.js';
import { createBucket, s3Code } from '../helpers/s3.js';

const OLD = '::ffff:127.0.0.0/8';

t.test('a stored policy with a range this version refuses is read, failing closed, and logged once', async (t) => {
  const x = await startDaemon();
  t.teardown(() => x.stop());
  const Bucket = await createBucket(x.s3(), 'oldrange');
  for (const Key of ['only-old', 'mixed', 'denied', 'not-denied', 'open']) await x.s3().send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
  const get = (Action: string, key: string, Condition?: object): object => ({ Effect: 'Allow', Principal: '*', Action, Resource: `arn:aws:s3:::${Bucket}/${key}`, ...(Condition ? { Condition } : {}) });
  const policy = {
    Version: '2012-10-17',
    Statement: [
      get('s3:GetObject', 'only-old', { IpAddress: { 'aws:SourceIp': OLD } }),
      get('s3:GetObject', 'mixed', { IpAddress: { 'aws:SourceIp': [OLD, '127.0.0.1/32'] } }),
      get('s3:GetObject', 'open'),
      get('s3:GetObject', 'denied'),
      get('s3:GetObject', 'not-denied'),
      { ...get('s3:GetObject', 'denied', { IpAddress: { 'aws:SourceIp': OLD } }), Effect: 'Deny' },
      { ...get('s3:GetObject', 'not-denied', { NotIpAddress: { 'aws:SourceIp': OLD } }), Effect: 'Deny' },
    ],
  };
  t.equal(await s3Code(x.s3().send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify(policy) }))), 'MalformedPolicy/400', 'PutBucketPolicy refuses the range');
  const { again, anon } = await restartWithStoredPolicy(t, x, Bucket, JSON.stringify(policy));
  t.equal(await anon('open'), 200, 'a statement without the range allows as before');
  t.equal(await anon('only-old'), 403, 'an Allow only on the range allows nothing');
  t.equal(await anon('mixed'), 200, 'an Allow on the range and a good one allows from the good one');
  t.equal(await anon('denied'), 403, 'a Deny IpAddress on the range keeps denying');
  t.equal(await anon('not-denied'), 403, 'a Deny NotIpAddress on the range keeps denying');
  const warned = again.jsonLogs().filter((l) => l.bucket === Bucket && l.ranges !== undefined);
  t.equal(warned.length, 1, 'start-up logs the bucket once');
  t.same(warned[0]?.ranges, [OLD], 'with the range');
  t.equal(again.jsonLogs().filter((l) => JSON.stringify(l).includes('MalformedPolicy')).length, 0, 'no MalformedPolicy logged');
});

// PutBucketPolicy refuses a Sid that is no string, and any policy nested more than 32 deep; earlier
// versions stored both (a Sid of any type; before the nesting limit, a Sid nested any depth). Such
// a stored policy must keep loading and judging requests: nothing reads a Sid.
t.test('a stored policy with a Sid this version refuses (a number, nested 40 deep) still loads and judges', async (t) => {
  const x = await startDaemon();
  t.teardown(() => x.stop());
  const Bucket = await createBucket(x.s3(), 'oldsid');
  for (const Key of ['open', 'closed']) await x.s3().send(new PutObjectCommand({ Bucket, Key, Body: 'x' }));
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 5, Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/*` },
      { Sid: JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown, Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${Bucket}/closed` },
    ],
  };
  const put = (p: object): Promise<string> => s3Code(x.s3().send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify(p) })));
  t.equal(await put({ ...policy, Statement: [policy.Statement[0]] }), 'MalformedPolicy/400', 'PutBucketPolicy refuses a Sid that is a number');
  t.equal(await put({ ...policy, Statement: [policy.Statement[1]] }), 'MalformedPolicy/400', 'and one nested 40 deep');
  const { again, anon } = await restartWithStoredPolicy(t, x, Bucket, JSON.stringify(policy));
  t.equal(await anon('open'), 200, 'its Allow allows');
  t.equal(await anon('closed'), 403, 'its Deny denies');
  t.same(again.jsonLogs().filter((l) => l.bucket === Bucket && (JSON.stringify(l).includes('policy stored for this bucket') || l.ranges !== undefined)), [], 'start-up names no unreadable policy');
});
