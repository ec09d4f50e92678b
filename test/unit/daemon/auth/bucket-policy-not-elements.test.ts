// auth/bucket-policy.ts on its own: the elements that name what a statement does not cover
// (NotAction, NotResource, NotPrincipal), as IAM takes them. The rest: bucket-policy.test.ts.
import t from 'tap';
import { decide, isPublic, namedUsers, parseBucketPolicy, parseIdentityPolicy } from '../../../../daemon/auth/bucket-policy.js';
import { thrownCode as code } from '../../../helpers/errors.js';
import { allow, ask, B, doc } from '../../../helpers/policy-doc.js';


t.test('NotAction and NotResource: the statement applies to what they do not name', async (t) => {
  const O = `arn:aws:s3:::${B}/*`;
  const notAction = doc({ Effect: 'Allow', Principal: '*', NotAction: ['s3:PutObject', 's3:Delete*'], Resource: [`arn:aws:s3:::${B}`, O] });
  t.ok(ask(notAction, 's3:GetObject', `${B}/k`), 'an action it does not name');
  t.ok(ask(notAction, 's3:ListBucket', B, { 's3:prefix': '' }), 'a bucket action');
  t.notOk(ask(notAction, 's3:PutObject', `${B}/k`), 'an action it names');
  t.notOk(ask(notAction, 's3:DeleteObjectVersion', `${B}/k`), 'one its wildcard names');
  t.notOk(ask(notAction, 's3:GetObject', 'other/k'), 'its Resource still applies');
  t.ok(isPublic(parseBucketPolicy(notAction, B)), 'an Allow of other actions to anyone is public');
  // Only S3 actions are left: sts:TagSession and admin:Prometheus are granted by name alone.
  const identity = parseIdentityPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', NotAction: 's3:DeleteObject', Resource: '*' }] });
  const user = (action: string, resource = '*'): string => decide(identity, { action, resource, context: new Map() });
  t.equal(user('s3:ListAllMyBuckets'), 'allow');
  t.equal(user('s3:DeleteObject', 'b/k'), 'none');
  t.equal(user('sts:TagSession'), 'none', 'not sts:TagSession');
  t.equal(user('admin:Prometheus'), 'none', 'nor admin:Prometheus');

  const notResource = parseBucketPolicy(doc(allow('s3:GetObject', O), { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', NotResource: [`arn:aws:s3:::${B}/public/*`] }), B);
  const get = (key: string): string => decide(notResource, { action: 's3:GetObject', resource: `${B}/${key}`, context: new Map() });
  t.equal(get('public/a'), 'allow', 'a resource it names: the Deny does not apply');
  t.equal(get('private/a'), 'deny', 'any other: denied');
  // A key only some actions have is judged against the actions NotAction leaves.
  t.equal(code(() => parseBucketPolicy(doc({ Effect: 'Deny', Principal: '*', NotAction: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: `arn:aws:s3:::${B}`, Condition: { StringEquals: { 's3:prefix': 'x' } } }), B)), 'MalformedPolicy', 's3:prefix on every action but the listings');
  t.doesNotThrow(() => parseBucketPolicy(doc({ Effect: 'Deny', Principal: '*', NotAction: 's3:GetObject', Resource: `arn:aws:s3:::${B}`, Condition: { StringEquals: { 's3:prefix': 'x' } } }), B), 's3:prefix where the listings are left');
  // A variable without a value names nothing, so NotResource leaves every resource.
  const byName = parseBucketPolicy(doc({ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', NotResource: `arn:aws:s3:::${B}/home/\${aws:username}/*` }), B);
  const home = (username?: string): string => decide(byName, { action: 's3:GetObject', resource: `${B}/home/alice/x`, context: new Map(username === undefined ? [] : [['aws:username', username]]) });
  t.equal(home('alice'), 'none', 'her own home');
  t.equal(home('bob'), 'deny', "another's");
  t.equal(home(), 'deny', 'anonymous: no aws:username, denied');
});

t.test('NotPrincipal: a Deny for every requester but the users it names', async (t) => {
  const O = `arn:aws:s3:::${B}/*`;
  const bob = 'arn:aws:iam::acct:user/bob';
  const p = parseBucketPolicy(doc(allow('s3:GetObject', O), { Effect: 'Deny', NotPrincipal: { AWS: [bob, 'arn:aws:iam::acct:role/r', 'arn:aws:iam::acct:root'] }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/secret/*` }), B);
  const as = (principal: string | undefined, key: string): string => decide(p, { action: 's3:GetObject', resource: `${B}/${key}`, context: new Map(), ...(principal ? { principal } : {}) });
  t.equal(as(bob, 'secret/x'), 'allow', 'the user it names: the Deny does not apply');
  t.equal(as('arn:aws:iam::acct:user/alice', 'secret/x'), 'deny', 'another user: denied');
  t.equal(as(undefined, 'secret/x'), 'deny', 'anonymous: denied');
  t.equal(as(undefined, 'open'), 'allow', 'outside its Resource: the Allow alone');
  t.same(namedUsers(p), [bob], 'its users are checked to exist, as a Principal\'s are');
  t.notOk(isPublic(parseBucketPolicy(doc({ Effect: 'Deny', NotPrincipal: { AWS: bob }, Action: 's3:GetObject', Resource: O }), B)), 'a Deny makes nothing public');
  t.equal(code(() => parseIdentityPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', NotPrincipal: { AWS: bob }, Action: 's3:GetObject', Resource: '*' }] })), 'MalformedPolicy', 'not in a user\'s policy');
});
