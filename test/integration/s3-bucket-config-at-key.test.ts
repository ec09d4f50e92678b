// A bucket's configuration read at a key's path (GET /bucket/key?policy, ?cors, …; router.ts
// KEY_BUCKET_SELECTORS) is the bucket's operation, judged as such against the real daemon: a user
// with rights on the bucket's objects only, and an anonymous request a bucket policy admits for
// objects only (s3:GetObject on bucket/*), are AccessDenied, as at the bucket's path; one with the
// bucket-level action reads it. A PUT or DELETE at a key with these selectors never writes the
// bucket's configuration nor the object; DELETE /bucket?delete never deletes the bucket. A HEAD /
// signed oddly (server.ts routeAuthenticated) is an S3 error, never a 500.

import t from 'tap';
import { CreateBucketCommand, GetBucketPolicyCommand, GetObjectCommand, PutBucketCorsCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { bucketName } from '../helpers/daemon.js';
import { errorCode, raw } from '../helpers/http.js';
import { allow, arn, doc, startDaemonWithUsers } from '../helpers/users.js';

const B = bucketName('cfgkey');
const USERS = {
  // Every object of B, nothing of the bucket's.
  objects: { accessKey: 'cfgkey-objects', secretKey: 'cfgkey-objects-secret-1', policies: ['objects'] },
  // s3:GetBucketPolicy on B, nothing else.
  policy: { accessKey: 'cfgkey-policy', secretKey: 'cfgkey-policy-secret-2', policies: ['policy'] },
};
const policies = {
  objects: doc(allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [`${B}/*`])),
  policy: doc(allow(['s3:GetBucketPolicy'], [B])),
};
const { d } = await startDaemonWithUsers(t, { policies, users: Object.values(USERS) });
const root: S3Client = d.s3();
await root.send(new CreateBucketCommand({ Bucket: B }));
await root.send(new PutObjectCommand({ Bucket: B, Key: 'k.txt', Body: 'body' }));
const POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [arn(`${B}/*`)] }] });
await root.send(new PutBucketPolicyCommand({ Bucket: B, Policy: POLICY }));
await root.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['https://secret.example'] }] } }));

const SELECTORS = ['policy', 'cors', 'location', 'versioning', 'lifecycle', 'notification', 'website', 'replication', 'accelerate', 'requestPayment'];
const as = (u: { accessKey: string; secretKey: string }) => ({ accessKeyId: u.accessKey, secretAccessKey: u.secretKey });

t.test('a user with rights on the objects only, and anonymous requests the policy admits for objects: AccessDenied', async (t) => {
  for (const sel of SELECTORS) {
    for (const [who, sign] of [['user', as(USERS.objects)], ['anonymous', false]] as const) {
      for (const method of ['GET', 'HEAD']) {
        const res = await raw(d.port, { method, path: `/${B}/k.txt`, query: sel, sign });
        // A HEAD is the configuration's 405, as at the bucket's path, before any authentication.
        const atBucket = method === 'HEAD' ? (await raw(d.port, { method, path: `/${B}`, query: sel, sign })).status : 403;
        t.equal(res.status, atBucket, `${who} ${method} ?${sel} at a key: ${atBucket}, as at the bucket's path`);
        t.not(res.status, 200, `${who} ${method} ?${sel} at a key: no 200`);
        if (method === 'GET') t.equal(errorCode(res.body), 'AccessDenied', `${who} GET ?${sel}: AccessDenied`);
        t.notMatch(res.body.toString(), /secret\.example|s3:GetObject/, `${who} ${method} ?${sel}: nothing of the configuration`);
      }
    }
  }
  const res = await raw(d.port, { method: 'GET', path: `/${B}/k.txt`, sign: false });
  t.equal(res.status, 200, 'the object itself is public');
});

t.test('virtual-host style and a key named like a selector: the same', async (t) => {
  const host = `${B}.localhost:${d.port}`;
  for (const [who, sign] of [['user', as(USERS.objects)], ['anonymous', false]] as const) {
    const v = await raw(d.port, { method: 'GET', path: '/k.txt', query: 'policy', sign, host });
    t.not(v.status, 200, `${who}: virtual-host GET /k.txt?policy is no 200`);
    t.notMatch(v.body.toString(), /s3:GetObject/, `${who}: virtual-host, no policy text`);
    const named = await raw(d.port, { method: 'GET', path: `/${B}/policy`, query: 'policy', sign });
    t.equal(named.status, 403, `${who}: GET /b/policy?policy 403`);
    const withVersion = await raw(d.port, { method: 'GET', path: `/${B}/k.txt`, query: 'policy&versionId=null', sign });
    t.notMatch(withVersion.body.toString(), /s3:GetObject/, `${who}: ?policy&versionId, no policy text`);
  }
});

t.test('the bucket-level action reads it at a key, as at the bucket', async (t) => {
  const res = await raw(d.port, { method: 'GET', path: `/${B}/k.txt`, query: 'policy', sign: as(USERS.policy) });
  t.equal(res.status, 200);
  t.equal(res.body.toString(), POLICY, 'the policy as put');
  const cors = await raw(d.port, { method: 'GET', path: `/${B}/k.txt`, query: 'cors', sign: as(USERS.policy) });
  t.equal(cors.status, 403, 'but not its CORS rules');
});

t.test('PUT and DELETE at a key with a selector write neither the configuration nor the object', async (t) => {
  const other = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:*'], Resource: [arn(B), arn(`${B}/*`)] }] });
  for (const sel of SELECTORS) {
    const body = sel === 'policy' ? other : '<x/>';
    const put = await raw(d.port, { method: 'PUT', path: `/${B}/k.txt`, query: sel, body, sign: { payloadHash: 'hash' } });
    t.not(put.status, 200, `root PUT ?${sel} at a key: no 200 (${put.status} ${errorCode(put.body)})`);
    const del = await raw(d.port, { method: 'DELETE', path: `/${B}/k.txt`, query: sel });
    t.ok(del.status >= 400, `root DELETE ?${sel} at a key: refused (${del.status} ${errorCode(del.body)})`);
  }
  const p = await root.send(new GetBucketPolicyCommand({ Bucket: B }));
  t.equal(p.Policy, POLICY, 'the policy is unchanged');
  const o = await root.send(new GetObjectCommand({ Bucket: B, Key: 'k.txt' }));
  t.equal(await o.Body!.transformToString(), 'body', 'the object is unchanged');
  for (const method of ['DELETE', 'PUT', 'GET', 'HEAD']) {
    const res = await raw(d.port, { method, path: `/${B}`, query: 'delete' });
    t.equal(res.status, 405, `${method} /b?delete: 405`);
  }
  const head = await raw(d.port, { method: 'HEAD', path: `/${B}` });
  t.equal(head.status, 200, 'the bucket is still there');
});

t.test('HEAD / with odd Authorization headers: an S3 error, never a 500, the daemon serving on', async (t) => {
  const odd = [
    'AWS4-HMAC-SHA256 ',
    'AWS4-HMAC-SHA256 Credential=',
    'AWS4-HMAC-SHA256 Credential=x/y, SignedHeaders=, Signature=',
    `AWS4-HMAC-SHA256 Credential=${USERS.objects.accessKey}/20990101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`,
    'AWS x:y',
    'AWS :',
  ];
  for (const authorization of odd) {
    for (const extra of [{}, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, { 'x-amz-date': 'nonsense' }] as Array<Record<string, string>>) {
      const res = await raw(d.port, { method: 'HEAD', path: '/', headers: { authorization, ...extra }, sign: false });
      t.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(authorization)} ${JSON.stringify(extra)}: ${res.status}`);
    }
  }
  const ok = await raw(d.port, { method: 'HEAD', path: '/', sign: { payloadHash: 'hash' } });
  t.equal(ok.status, 405, 'a signed HEAD / is still its 405');
  const list = await raw(d.port, { method: 'GET', path: '/' });
  t.equal(list.status, 200, 'serving on');
});
