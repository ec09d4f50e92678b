// auth/bucket-policy.ts on its own: what PutBucketPolicy accepts and refuses, and how a policy
// answers anonymous requests (actions and resources with wildcards, Deny over Allow, each
// condition operator, IPv4/IPv6 ranges, principals that are not "anyone").
import t from 'tap';
import { allowsAnonymous, decide, isPublic, namedUsers, parseBucketPolicy, parseIdentityPolicy, principalUser } from '../../../../daemon/auth/bucket-policy.js';
import { thrownCode as code } from '../../../helpers/errors.js';
import { allow, ask, B, doc } from '../../../helpers/policy-doc.js';


t.test('mc anonymous set download: read and list, nothing else', async (t) => {
  const p = doc(allow(['s3:GetBucketLocation', 's3:ListBucket'], [`arn:aws:s3:::${B}`]), allow(['s3:GetObject'], [`arn:aws:s3:::${B}/*`]));
  t.ok(ask(p, 's3:GetObject', `${B}/a/b.jpg`));
  t.ok(ask(p, 's3:ListBucket', B, { 's3:prefix': '' }));
  t.ok(ask(p, 's3:GetBucketLocation', B));
  t.notOk(ask(p, 's3:PutObject', `${B}/a`));
  t.notOk(ask(p, 's3:DeleteObject', `${B}/a`));
  t.notOk(ask(p, 's3:GetObject', 'other/a'), 'another bucket');
  t.notOk(ask(p, 's3:ListBucket', `${B}/x`), 'bucket action on an object resource');
  t.ok(isPublic(parseBucketPolicy(p, B)));
});

t.test('wildcards, case, Deny over Allow, principals', async (t) => {
  t.ok(ask(doc(allow('s3:Get*', `arn:aws:s3:::${B}/*`)), 's3:GetObject', `${B}/k`));
  t.ok(ask(doc(allow('S3:getobject', `arn:aws:s3:::${B}/*`)), 's3:GetObject', `${B}/k`), 'actions compare case-insensitively');
  t.ok(ask(doc(allow('s3:*', `arn:aws:s3:::${B}/docs/?.txt`)), 's3:GetObject', `${B}/docs/a.txt`));
  t.notOk(ask(doc(allow('s3:*', `arn:aws:s3:::${B}/docs/?.txt`)), 's3:GetObject', `${B}/docs/ab.txt`), '? is one character');
  t.notOk(ask(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/Docs/*`)), 's3:GetObject', `${B}/docs/a`), 'resources compare case-sensitively');
  const denySecret = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`), { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/secret/*` });
  t.ok(ask(denySecret, 's3:GetObject', `${B}/open`));
  t.notOk(ask(denySecret, 's3:GetObject', `${B}/secret/x`), 'Deny wins');
  t.notOk(ask(doc({ ...allow('s3:GetObject', `arn:aws:s3:::${B}/*`), Principal: { AWS: ['arn:aws:iam::123:user/bob'] } }), 's3:GetObject', `${B}/k`), 'a named principal is not anonymous');
  // A statement naming users applies to them (and to anyone when it names "*" too), not to others.
  const forBob = parseBucketPolicy(doc({ ...allow('s3:GetObject', `arn:aws:s3:::${B}/*`), Principal: { AWS: ['arn:aws:iam::acct:user/bob', 'arn:aws:iam::acct:role/r'] } }), B);
  const as = (principal: string | undefined, p = forBob): string => decide(p, { action: 's3:GetObject', resource: `${B}/k`, context: new Map(), ...(principal ? { principal } : {}) });
  t.equal(as('arn:aws:iam::acct:user/bob'), 'allow', 'the user it names');
  t.equal(as('arn:aws:iam::acct:user/alice'), 'none', 'another user');
  t.equal(as('arn:aws:iam::other:user/bob'), 'none', 'the same name in another account');
  t.equal(as(undefined), 'none', 'anonymous');
  t.notOk(isPublic(forBob), 'not public');
  t.same(namedUsers(forBob), ['arn:aws:iam::acct:user/bob'], 'namedUsers: the users, not the role');
  const denyBob = parseBucketPolicy(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`), { Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::acct:user/bob' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` }), B);
  t.equal(as('arn:aws:iam::acct:user/bob', denyBob), 'deny', 'a Deny naming a user: that user');
  t.equal(as('arn:aws:iam::acct:user/alice', denyBob), 'allow', 'others keep the Allow to "*"');
  t.equal(as(undefined, denyBob), 'allow', 'anonymous too');
  t.same(principalUser('arn:aws:iam::acct:user/bob'), { account: 'acct', name: 'bob' });
  t.equal(principalUser('arn:aws:iam::acct:root'), undefined, 'an account is no user');
  t.equal(principalUser('arn:aws:iam::*:user/bob'), undefined, 'nor a pattern');
  t.ok(ask(doc({ ...allow('s3:GetObject', `arn:aws:s3:::${B}/*`), Principal: '*' }), 's3:GetObject', `${B}/k`), 'Principal "*"');
  t.ok(ask(doc({ ...allow('s3:GetObject', `arn:aws:s3:::${B}/*`), Principal: { AWS: '*' } }), 's3:GetObject', `${B}/k`), 'Principal {"AWS": "*"}');
  t.ok(ask(JSON.stringify({ Version: '2012-10-17', Statement: allow('s3:GetObject', `arn:aws:s3:::${B}/*`) }), 's3:GetObject', `${B}/k`), 'a single Statement object');
  t.notOk(ask(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/a.*`)), 's3:GetObject', `${B}/ab`), 'regex characters are literal');
});

t.test('conditions', async (t) => {
  const prefix = doc(allow('s3:ListBucket', `arn:aws:s3:::${B}`, { Condition: { StringLike: { 's3:prefix': ['public/*', 'shared/'] } } }));
  t.ok(ask(prefix, 's3:ListBucket', B, { 's3:prefix': 'public/x' }));
  t.ok(ask(prefix, 's3:ListBucket', B, { 's3:prefix': 'shared/' }));
  t.notOk(ask(prefix, 's3:ListBucket', B, { 's3:prefix': '' }));
  t.notOk(ask(prefix, 's3:ListBucket', B), 'missing key: a positive operator fails');
  t.ok(isPublic(parseBucketPolicy(prefix, B)), 'a prefix condition does not make a grant to anyone non-public (S3\u2019s rule)');
  const onlyFrom = (cidr: string, key = 'aws:SourceIp', op = 'IpAddress'): string => doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { [op]: { [key]: cidr } } }));
  t.notOk(isPublic(parseBucketPolicy(onlyFrom('10.1.0.0/16'), B)), 'pinned to a source range: not public');
  t.ok(isPublic(parseBucketPolicy(onlyFrom('0.0.0.0/0'), B)), '0.0.0.0/0 is everyone');
  t.ok(isPublic(parseBucketPolicy(onlyFrom('::ffff:0.0.0.0/96'), B)), 'so is every IPv4-mapped address (0.0.0.0/0)');
  t.notOk(isPublic(parseBucketPolicy(onlyFrom('::ffff:10.0.0.0/104'), B)), 'an IPv4-mapped range pins the source like its IPv4 one');
  t.ok(isPublic(parseBucketPolicy(onlyFrom('10.1.0.0/16', 'aws:SourceIp', 'NotIpAddress'), B)), 'NotIpAddress restricts nobody much');
  for (const [op, key, v] of [['StringLike', 'aws:Referer', '*'], ['StringLike', 'aws:UserAgent', '*'], ['Bool', 'aws:SecureTransport', 'false']] as const) {
    t.ok(isPublic(parseBucketPolicy(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { [op]: { [key]: v } } })), B)), `${key} is the client's to choose: public`);
  }
  const eq = doc(allow('s3:ListBucket', `arn:aws:s3:::${B}`, { Condition: { StringEquals: { 'S3:Prefix': 'a/' } } }));
  t.ok(ask(eq, 's3:ListBucket', B, { 's3:prefix': 'a/' }), 'condition keys are case-insensitive');
  t.notOk(ask(eq, 's3:ListBucket', B, { 's3:prefix': 'A/' }), 'values are case-sensitive');
  const notLike = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringNotLike: { 'aws:Referer': ['https://evil.example/*'] } } }));
  t.ok(ask(notLike, 's3:GetObject', `${B}/k`), 'negated operator holds without the key');
  t.notOk(ask(notLike, 's3:GetObject', `${B}/k`, { 'aws:referer': 'https://evil.example/page' }));
  const ip = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { IpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '2001:db8::/32'] } } }));
  t.ok(ask(ip, 's3:GetObject', `${B}/k`, { 'aws:sourceip': '127.0.0.1' }));
  t.ok(ask(ip, 's3:GetObject', `${B}/k`, { 'aws:sourceip': '0000:0000:0000:0000:0000:ffff:7f00:0001' }), 'IPv4 on a dual-stack socket');
  t.ok(ask(ip, 's3:GetObject', `${B}/k`, { 'aws:sourceip': '::ffff:127.1.2.3' }));
  t.ok(ask(ip, 's3:GetObject', `${B}/k`, { 'aws:sourceip': '2001:db8:1::5' }));
  t.notOk(ask(ip, 's3:GetObject', `${B}/k`, { 'aws:sourceip': '10.0.0.1' }));
  t.notOk(ask(ip, 's3:GetObject', `${B}/k`, { 'aws:sourceip': '2001:db9::1' }));
  const notIp = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`), { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: `arn:aws:s3:::${B}/*`, Condition: { NotIpAddress: { 'aws:SourceIp': '192.168.1.0/24' } } });
  t.ok(ask(notIp, 's3:GetObject', `${B}/k`, { 'aws:sourceip': '192.168.1.77' }));
  t.notOk(ask(notIp, 's3:GetObject', `${B}/k`, { 'aws:sourceip': '192.168.2.1' }));
  const tls = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { Bool: { 'aws:SecureTransport': true } } }));
  t.ok(ask(tls, 's3:GetObject', `${B}/k`, { 'aws:securetransport': 'true' }), 'Bool takes a JSON boolean too');
  t.notOk(ask(tls, 's3:GetObject', `${B}/k`, { 'aws:securetransport': 'false' }));
});

t.test('refused at PutBucketPolicy: MalformedPolicy, never a silently ignored part', async (t) => {
  const good = allow('s3:GetObject', `arn:aws:s3:::${B}/*`);
  const bad: Array<[string, string]> = [
    ['not JSON', '{"Version":'],
    ['array', '[]'],
    ['version', JSON.stringify({ Version: '2020-01-01', Statement: [good] })],
    ['no statement', JSON.stringify({ Version: '2012-10-17' })],
    ['empty statement', doc()],
    ['effect', doc({ ...good, Effect: 'Maybe' })],
    ['no principal', doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` })],
    ['Principal and NotPrincipal', doc({ ...good, NotPrincipal: { AWS: ['arn:aws:iam::acct:user/bob'] } })],
    ['NotPrincipal in an Allow', doc({ Effect: 'Allow', NotPrincipal: { AWS: ['arn:aws:iam::acct:user/bob'] }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` })],
    ['NotPrincipal "*"', doc({ Effect: 'Deny', NotPrincipal: { AWS: '*' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` })],
    ['NotPrincipal of a service', doc({ Effect: 'Deny', NotPrincipal: { Service: 'x.amazonaws.com' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` })],
    ['service principal', doc({ ...good, Principal: { Service: 'x.amazonaws.com' } })],
    ['Action and NotAction', doc({ ...good, NotAction: 's3:PutObject' })],
    ['Resource and NotResource', doc({ ...good, NotResource: `arn:aws:s3:::${B}/x` })],
    ['NotAction naming every S3 action', doc({ Effect: 'Allow', Principal: '*', NotAction: 's3:*', Resource: `arn:aws:s3:::${B}/*` })],
    ['NotAction naming an action of another service', doc({ Effect: 'Deny', Principal: '*', NotAction: 'sts:TagSession', Resource: `arn:aws:s3:::${B}/*` })],
    ['NotResource in another bucket', doc({ Effect: 'Deny', Principal: '*', Action: 's3:*', NotResource: 'arn:aws:s3:::other/*' })],
    ['NotAction of an unknown action', doc({ Effect: 'Deny', Principal: '*', NotAction: 's3:GetObjects', Resource: `arn:aws:s3:::${B}/*` })],
    ['no action', doc({ Effect: 'Allow', Principal: '*', Resource: `arn:aws:s3:::${B}/*` })],
    ['iam action', doc(allow('iam:PassRole', `arn:aws:s3:::${B}/*`))],
    ['other bucket', doc(allow('s3:GetObject', 'arn:aws:s3:::other/*'))],
    ['bucket prefix', doc(allow('s3:GetObject', `arn:aws:s3:::${B}x/*`))],
    ['any resource', doc(allow('s3:GetObject', '*'))],
    ['wildcard bucket', doc(allow('s3:GetObject', 'arn:aws:s3:::*'))],
    ['operator', doc({ ...good, Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::x' } } })],
    ['key', doc({ ...good, Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-1' } } })],
    ['cidr', doc({ ...good, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } })],
    ['ip op on other key', doc({ ...good, Condition: { IpAddress: { 's3:prefix': '10.0.0.0/8' } } })],
    ['bool value', doc({ ...good, Condition: { Bool: { 'aws:SecureTransport': 'yes' } } })],
    ['unknown element', doc({ ...good, Extra: 1 })],
    ['too large', doc({ ...good, Sid: 'x'.repeat(21 * 1024) })],
    ['unknown action', doc(allow('s3:GetObjects', `arn:aws:s3:::${B}/*`))],
    ['unknown action pattern', doc(allow('s3:Fly*', `arn:aws:s3:::${B}/*`))],
    ['object action on the bucket', doc(allow('s3:GetObject', `arn:aws:s3:::${B}`))],
    ['bucket action on objects', doc(allow('s3:ListBucket', `arn:aws:s3:::${B}/*`))],
    ['service action in a bucket policy', doc(allow('s3:ListAllMyBuckets', `arn:aws:s3:::${B}`))],
    // Policy variables s3d cannot fill in (see the policy variables test).
    ['a variable of an unknown key', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/home/\${aws:PrincipalOrgID}/*`))],
    ['a variable in a 2008-10-17 policy', JSON.stringify({ Version: '2008-10-17', Statement: [allow('s3:GetObject', `arn:aws:s3:::${B}/home/\${aws:username}/*`)] })],
    // Keys no action of the statement has never match (S3 refuses them too).
    ['s3:prefix on GetObject', doc({ ...good, Condition: { StringEquals: { 's3:prefix': 'home/' } } })],
    ['SSE on ListBucket', doc({ ...allow('s3:ListBucket', `arn:aws:s3:::${B}`), Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } } })],
    ['an empty principal', doc({ ...good, Principal: { AWS: '' } })],
    // A Deny for principals s3d has none of would protect nothing (such statements apply to nobody).
    ['a Deny naming an account', doc({ Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` })],
    ['a Deny naming a role besides a user', doc({ Effect: 'Deny', Principal: { AWS: ['arn:aws:iam::123456789012:user/bob', 'arn:aws:iam::123456789012:role/r'] }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` })],
    ['a Deny naming bare names', doc({ Effect: 'Deny', Principal: { AWS: ['bob', 'alice'] }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` })],
    ['a Deny naming users by pattern', doc({ Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::123456789012:user/*' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` })],
    // Nesting past what JSON.stringify (the compact size) and the checks can recurse through: a
    // RangeError, answered 500 InternalError, instead of MalformedPolicy.
    ['lists nested 30,000 deep', '['.repeat(30_000) + ']'.repeat(30_000)],
    ['a Statement nested 30,000 deep', `{"Version":"2012-10-17","Statement":${'['.repeat(30_000)}${']'.repeat(30_000)}}`],
    ['a Condition nested 10,000 deep', `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::${B}/*","Condition":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}]}`],
    // JSON.parse keeps the last of a repeated name: the policy would not be the one it reads as.
    ['Effect twice', `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::${B}/*"}]}`],
    ['an operator twice', `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::${B}/*","Condition":{"StringNotEquals":{"aws:UserAgent":"a"},"StringNotEquals":{"aws:Referer":"b"}}}]}`],
    ['Statement twice', `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::${B}/*"}],"Statement":[]}`],
    ['a repeat spelled with an escape', `{"Statement":[{"Eff\\u0065ct":"Deny","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::${B}/*"}]}`],
  ];
  for (const [what, text] of bad) t.equal(code(() => parseBucketPolicy(text, B)), 'MalformedPolicy', what);
  t.match((() => { try { parseBucketPolicy(bad.at(-3)![1], B); } catch (err) { return (err as Error).message; } return ''; })(), /"StringNotEquals" twice in one object \(Statement\[0\]\.Condition\)/, 'the message says which name and where');
  t.equal(code(() => parseBucketPolicy(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::${B}/*","Condition":{"StringEquals":{"aws:UserAgent":"a"},"StringLike":{"aws:UserAgent":"b*"}}}]}`, B)), 'ok', 'one key under two operators is no repeat');
  t.equal(code(() => parseBucketPolicy(doc(good), B)), 'ok');
  t.equal(code(() => parseBucketPolicy(JSON.stringify({ Statement: [good] }), B)), 'ok', 'no Version: IAM reads it as 2008-10-17');
  t.equal(code(() => parseBucketPolicy(doc({ ...allow('s3:*', `arn:aws:s3:::${B}/*`), Condition: { StringEquals: { 's3:prefix': 'a/' } } }), B)), 'ok', 's3:* includes the listings s3:prefix applies to');
  t.equal(code(() => parseBucketPolicy(doc({ Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${B}/*`, Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } } }), B)), 'ok', 'the deny-unencrypted-uploads policy');
  t.equal(code(() => parseBucketPolicy(doc({ Effect: 'Deny', Principal: { AWS: ['arn:aws:iam::123456789012:user/bob', '*'] }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` }), B)), 'ok', 'a Deny naming "*" among others: everyone');
  t.equal(code(() => parseBucketPolicy(doc({ ...good, Principal: { AWS: 'arn:aws:iam::123456789012:root' } }), B)), 'ok', 'an Allow naming others is kept (it applies to nobody)');
  t.equal(code(() => parseBucketPolicy(doc({ Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::acct:user/bob' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*` }), B)), 'ok', 'a Deny naming a user applies to that user');
  // Action "*" (IAM's grammar: every action) is every S3 action.
  const star = doc({ Effect: 'Allow', Principal: '*', Action: '*', Resource: [`arn:aws:s3:::${B}`, `arn:aws:s3:::${B}/*`] });
  t.ok(ask(star, 's3:PutObject', `${B}/k`) && ask(star, 's3:ListBucket', B), 'Action "*" allows S3 actions');
  t.equal(code(() => parseIdentityPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] })), 'ok', 'identity policies too');
  t.equal(code(() => parseBucketPolicy(doc(allow(['s3:GetObject', 's3:ListBucket'], [`arn:aws:s3:::${B}`, `arn:aws:s3:::${B}/*`])), B)), 'ok', 'each action applies to one of the resources');
  t.equal(code(() => parseBucketPolicy(doc(allow('s3:Get*', `arn:aws:s3:::${B}`)), B)), 'ok', 's3:Get* includes bucket actions');
  t.equal(code(() => parseIdentityPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:ListAllMyBuckets', 's3:GetObject'], Resource: '*' }] })), 'ok', 'identity policies may name Resource "*"');
  t.equal(code(() => parseIdentityPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: 'arn:aws:s3:::b/*' }] })), 'MalformedPolicy', 'but a service action needs a resource it applies to');
  t.equal(code(() => parseBucketPolicy(JSON.stringify({ Version: '2008-10-17', Id: 'x', Statement: [{ Sid: 's', ...good }] }), B)), 'ok');
  // A policy holds Version, Id and Statement: a Condition beside Statement was dropped unread.
  const topCondition = { Version: '2012-10-17', Statement: [good], Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } };
  t.equal(code(() => parseBucketPolicy(JSON.stringify(topCondition), B)), 'MalformedPolicy', 'a Condition at the top level');
  const identity = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] };
  t.equal(code(() => parseIdentityPolicy(identity)), 'ok');
  t.equal(code(() => parseIdentityPolicy({ ...identity, Condition: topCondition.Condition })), 'MalformedPolicy', 'in an identity policy too');
  t.equal(code(() => parseBucketPolicy(JSON.stringify({ Version: '2012-10-17', Statement: [good], statement: [] }), B)), 'MalformedPolicy', 'a second, misspelt Statement');
  t.equal(code(() => parseIdentityPolicy({ Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::b/home/${aws:username}/*' }] })), 'MalformedPolicy', 'identity policies: no policy variables without Version 2012-10-17 either');
  t.equal(code(() => parseIdentityPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::b/home/${aws:username}/*' }] })), 'ok', 'with it they are variables');
  t.equal(code(() => parseBucketPolicy(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/$x/{y}/*`)), B)), 'ok', 'a "$" or braces that make no variable are text');
});

t.test('admin:Prometheus (MinIO\u2019s, the metrics): an identity policy\u2019s, alone in its statement, its Resource not matched', async (t) => {
  const identity = (...Statement: unknown[]) => parseIdentityPolicy({ Version: '2012-10-17', Statement });
  const may = (policy: ReturnType<typeof parseIdentityPolicy>, context = new Map<string, string>()): string => decide(policy, { action: 'admin:Prometheus', resource: '*', context });
  t.equal(may(identity({ Effect: 'Allow', Action: 'admin:Prometheus' })), 'allow', 'named, without a Resource (as MinIO writes admin statements)');
  t.equal(may(identity({ Effect: 'Allow', Action: ['admin:Prometheus'], Resource: ['arn:aws:s3:::*'] })), 'allow', 'with one');
  t.equal(may(identity({ Effect: 'Allow', Action: 'admin:Prometheus', Resource: 'arn:minio:admin:::*' })), 'allow', 'with an ARN that is not S3\u2019s: not matched, as MinIO does not');
  t.equal(may(identity({ Effect: 'Allow', Action: 'ADMIN:prometheus' })), 'allow', 'action names without case');
  t.equal(may(identity({ Effect: 'Allow', Action: 'admin:*' })), 'allow', 'admin:* (MinIO\u2019s every admin action)');
  t.equal(may(identity({ Effect: 'Allow', Action: '*', Resource: '*' })), 'none', '"*" (every S3 action in s3d\u2019s policies) does not give it');
  t.equal(may(identity({ Effect: 'Allow', Action: 's3:*', Resource: '*' })), 'none', 'nor s3:*');
  t.equal(may(identity({ Effect: 'Allow', Action: 'admin:Prometheus' }, { Effect: 'Deny', Action: 'admin:*' })), 'deny', 'a Deny of it wins');
  const fromLoopback = identity({ Effect: 'Allow', Action: 'admin:Prometheus', Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } } });
  t.equal(may(fromLoopback, new Map([['aws:sourceip', '127.0.0.1']])), 'allow', 'a condition on aws:SourceIp: met');
  t.equal(may(fromLoopback, new Map([['aws:sourceip', '192.0.2.1']])), 'none', 'not met');
  t.equal(code(() => identity({ Effect: 'Allow', Action: 'admin:Heal' })), 'MalformedPolicy', 'an admin action s3d does not judge');
  t.equal(code(() => identity({ Effect: 'Allow', Action: ['admin:Prometheus', 's3:GetObject'], Resource: 'arn:aws:s3:::b/*' })), 'MalformedPolicy', 'mixed with S3 actions (MinIO refuses it too)');
  t.equal(code(() => identity({ Effect: 'Allow', Action: 'admin:Prometheus', Resource: 7 })), 'MalformedPolicy', 'a Resource that is no string');
  t.equal(code(() => identity({ Effect: 'Allow', Action: 'admin:Prometheus', Condition: { StringEquals: { 's3:prefix': 'a/' } } })), 'MalformedPolicy', 'a condition key of S3 actions only');
  t.equal(code(() => parseBucketPolicy(doc(allow('admin:Prometheus', `arn:aws:s3:::${B}`)), B)), 'MalformedPolicy', 'not in a bucket policy');
  t.equal(code(() => identity({ Effect: 'Allow', Action: 's3:GetObject' })), 'MalformedPolicy', 'an S3 statement still needs its Resource');
});

t.test('sts:TagSession: named by an identity policy with Resource "*"; not by s3:* or "*", not in a bucket policy', async (t) => {
  const identity = (Action: unknown, Resource: unknown = '*') => parseIdentityPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action, Resource }] });
  const may = (policy: ReturnType<typeof parseIdentityPolicy>): string => decide(policy, { action: 'sts:TagSession', resource: '*', context: new Map() });
  t.equal(may(identity('sts:TagSession')), 'allow', 'named: allowed');
  t.equal(may(identity('STS:tagsession')), 'allow', 'action names without case, as IAM reads them');
  t.equal(may(identity(['s3:*', 's3:GetObject'])), 'none', 's3:* is S3\u2019s actions only');
  t.equal(may(identity('*')), 'none', '"*", every S3 action in s3d\u2019s policies, does not give it');
  t.equal(code(() => identity('sts:TagSession', 'arn:aws:s3:::b/*')), 'MalformedPolicy', 'a resource it does not apply to');
  t.equal(code(() => identity('sts:AssumeRole')), 'MalformedPolicy', 'no other STS action');
  t.equal(code(() => identity('sts:*')), 'MalformedPolicy', 'nor a wildcard of them');
  t.equal(code(() => parseBucketPolicy(doc(allow('sts:TagSession', `arn:aws:s3:::${B}`)), B)), 'MalformedPolicy', 'a bucket policy cannot give it');
  const denied = parseIdentityPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:TagSession', Resource: '*' }, { Effect: 'Deny', Action: 'sts:TagSession', Resource: '*' }] });
  t.equal(may(denied), 'deny', 'a Deny of it wins');
});

t.test('sts:TagSession keys: aws:RequestTag/<key> (key without case) and the set aws:TagKeys; no S3 action has them', async (t) => {
  const identity = (Action: unknown, Condition: unknown) => parseIdentityPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action, Resource: '*', Condition }] });
  const limited = identity('sts:TagSession', { StringEquals: { 'aws:RequestTag/Team': 'blue' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] } });
  const may = (tags: Record<string, string>): string =>
    decide(limited, { action: 'sts:TagSession', resource: '*', context: new Map<string, string | string[]>([...Object.entries(tags).map(([k, v]) => [`aws:requesttag/${k.toLowerCase()}`, v] as [string, string]), ['aws:tagkeys', Object.keys(tags)]]) });
  t.equal(may({ team: 'blue' }), 'allow', 'the named value under the one allowed key');
  t.equal(may({ team: 'red' }), 'none', 'another value');
  t.equal(may({ team: 'blue', project: 'x' }), 'none', 'a key aws:TagKeys does not list');
  t.equal(code(() => identity('sts:TagSession', { StringEquals: { 'aws:TagKeys': 'team' } })), 'MalformedPolicy', 'aws:TagKeys is a set: ForAllValues:/ForAnyValue: only');
  t.equal(code(() => identity('s3:PutObject', { StringEquals: { 'aws:RequestTag/team': 'blue' } })), 'MalformedPolicy', 'an S3 action has no aws:RequestTag');
  t.equal(code(() => identity('s3:*', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'team' } })), 'MalformedPolicy', 'nor aws:TagKeys');
});

t.test('wildcards: * and ? semantics, and patterns that would backtrack as regexes finish at once', async (t) => {
  const p = doc(allow(['s3:GetObject'], [`arn:aws:s3:::${B}/*/*/*/*.jpg`, `arn:aws:s3:::${B}/x?z`]));
  t.ok(ask(p, 's3:GetObject', `${B}/a/b/c/d.jpg`), 'four segments');
  t.ok(ask(p, 's3:GetObject', `${B}/a/b/c/d/e/f.jpg`), '* spans slashes');
  t.notOk(ask(p, 's3:GetObject', `${B}/a/b/c.jpg`), 'too few slashes');
  t.notOk(ask(p, 's3:GetObject', `${B}/a/b/c/d.jpeg`), 'another suffix');
  t.ok(ask(p, 's3:GetObject', `${B}/xyz`), '? is one character');
  t.notOk(ask(p, 's3:GetObject', `${B}/xz`), '? is exactly one character');
  t.notOk(ask(p, 's3:GetObject', `${B}/xyyz`));
  // A 1 KiB key of slashes against */*/*/*.jpg: a backtracking regex took ~100 s on the event loop.
  t.notOk(ask(p, 's3:GetObject', `${B}/${'/'.repeat(1000)}`), 'a key of slashes does not match (and returns)');
  t.ok(ask(p, 's3:GetObject', `${B}/${'/'.repeat(1000)}x.jpg`), 'and one that does, too');
  const cond = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringLike: { 'aws:UserAgent': '*a*a*a*a*a*b' } } }));
  t.notOk(ask(cond, 's3:GetObject', `${B}/k`, { 'aws:useragent': 'a'.repeat(5000) }), 'StringLike on a long value returns');
  t.ok(ask(cond, 's3:GetObject', `${B}/k`, { 'aws:useragent': `${'a'.repeat(5000)}b` }));
});

t.test('wildcards: the piece matcher agrees with a reference regex on every small pattern and value', async (t) => {
  // Patterns over a, b, * and ? up to 5 characters, values over a and b up to 6: all of them.
  const words = (alphabet: string, max: number): string[] => {
    const out = [''];
    for (let len = 1; len <= max; len++) for (let i = 0; i < alphabet.length ** len; i++) out.push([...Array(len).keys()].map((k) => alphabet[Math.floor(i / alphabet.length ** k) % alphabet.length]).join(''));
    return out;
  };
  const values = words('ab', 6);
  let checked = 0;
  let wrong = 0;
  for (const pattern of words('ab*?', 5)) {
    if (pattern === '') continue;
    const policy = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringLike: { 'aws:UserAgent': pattern } } }));
    const re = new RegExp(`^${pattern.replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
    for (const v of values) {
      checked++;
      if (ask(policy, 's3:GetObject', `${B}/k`, { 'aws:useragent': v }) !== re.test(v)) wrong++;
    }
  }
  t.equal(wrong, 0, `${checked} pattern/value pairs, none judged otherwise than the regex`);
  // A long literal after a `*` against a long value: pattern × value steps before (0.6 s).
  const long = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringLike: { 'aws:UserAgent': `*${'a'.repeat(3700)}b` } } }));
  t.notOk(ask(long, 's3:GetObject', `${B}/k`, { 'aws:useragent': 'a'.repeat(7000) }));
  t.ok(ask(long, 's3:GetObject', `${B}/k`, { 'aws:useragent': `${'a'.repeat(7000)}b` }));
});

t.test('wildcards: ? is one character, a character past U+FFFF (two UTF-16 units) too', async (t) => {
  // IAM's "any single character", and MinIO's rune matching: `?` took one UTF-16 unit, so it
  // missed an emoji and `??` matched one.
  const denyOf = (Resource: unknown) => ({ Effect: 'Deny', Principal: { AWS: ['*'] }, Action: 's3:GetObject', Resource });
  const p = doc(allow('s3:GetObject', [`arn:aws:s3:::${B}/photo-?.jpg`]), denyOf(`arn:aws:s3:::${B}/photo-??.jpg`));
  t.ok(ask(p, 's3:GetObject', `${B}/photo-\u{1F600}.jpg`), 'photo-?.jpg names photo-😀.jpg (and photo-??.jpg does not)');
  t.ok(ask(p, 's3:GetObject', `${B}/photo-x.jpg`), 'and photo-x.jpg');
  const deny = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`), denyOf([`arn:aws:s3:::${B}/?`, `arn:aws:s3:::${B}/*.?`]));
  t.notOk(ask(deny, 's3:GetObject', `${B}/\u{1F600}`), 'a Deny of b/? covers the one-character key 😀');
  t.notOk(ask(deny, 's3:GetObject', `${B}/x.\u{1F4F7}`), 'and one of b/*.? the key x.📷');
  t.ok(ask(deny, 's3:GetObject', `${B}/\u{1F600}\u{1F600}`), 'two characters are not one');

  // Patterns over a, 😀, * and ? up to 4 characters, values over a and 😀 up to 5: all of them,
  // as Resources and as StringLike values, against a regex matching code points (the u flag).
  const words = (alphabet: readonly string[], max: number): string[] => {
    let level = [''];
    const out = [''];
    for (let len = 1; len <= max; len++) {
      level = level.flatMap((w) => alphabet.map((c) => w + c));
      out.push(...level);
    }
    return out;
  };
  const values = words(['a', '\u{1F600}'], 5);
  let checked = 0;
  let wrong = 0;
  for (const pattern of words(['a', '\u{1F600}', '*', '?'], 4)) {
    if (pattern === '') continue;
    const resource = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/${pattern}`));
    const condition = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringLike: { 'aws:UserAgent': pattern } } }));
    const re = new RegExp(`^${pattern.replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'su');
    for (const v of values) {
      checked += 2;
      if (ask(resource, 's3:GetObject', `${B}/${v}`) !== re.test(v)) wrong++;
      if (ask(condition, 's3:GetObject', `${B}/k`, { 'aws:useragent': v }) !== re.test(v)) wrong++;
    }
  }
  t.equal(wrong, 0, `${checked} pattern/value pairs, none judged otherwise than the regex`);
});

t.test('IP ranges: a prefix length must be 1–3 decimal digits and nothing else', async (t) => {
  for (const bad of ['10.0.0.0/', '10.0.0.0/ ', '10.0.0.0/8/junk', '10.0.0.0/0x8', '10.0.0.0/1e1']) {
    t.equal(code(() => parseBucketPolicy(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { IpAddress: { 'aws:SourceIp': bad } } })), B)), 'MalformedPolicy', JSON.stringify(bad));
  }
});

t.test('object tags: s3:ExistingObjectTag/<key>, s3:RequestObjectTag/<key>, s3:RequestObjectTagKeys', async (t) => {
  const O = `arn:aws:s3:::${B}/*`;
  const askSet = (policy: string, action: string, context: Record<string, string | string[]>): boolean =>
    allowsAnonymous(parseBucketPolicy(policy, B), { action, resource: `${B}/k`, context: new Map(Object.entries(context)) });
  const existing = doc(allow(['s3:GetObject', 's3:GetObjectVersion'], O, { Condition: { StringEquals: { 's3:ExistingObjectTag/Env': 'prod' } } }));
  t.ok(ask(existing, 's3:GetObject', `${B}/k`, { 's3:existingobjecttag/Env': 'prod' }));
  t.notOk(ask(existing, 's3:GetObject', `${B}/k`, { 's3:existingobjecttag/Env': 'dev' }));
  t.notOk(ask(existing, 's3:GetObject', `${B}/k`, { 's3:existingobjecttag/env': 'prod' }), 'the tag key keeps its case (Env and env are two tags)');
  t.notOk(ask(existing, 's3:GetObject', `${B}/k`), 'an object without the tag: no key');
  t.ok(ask(doc(allow('s3:GetObject', O, { Condition: { StringEquals: { 'S3:EXISTINGOBJECTTAG/Env': 'prod' } } })), 's3:GetObject', `${B}/k`, { 's3:existingobjecttag/Env': 'prod' }), 'the key name itself is case-insensitive');
  const requireTag = doc(allow('s3:PutObject', O), { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: O, Condition: { StringNotEquals: { 's3:RequestObjectTag/project': ['blue', 'green'] } } });
  t.ok(ask(requireTag, 's3:PutObject', `${B}/k`, { 's3:requestobjecttag/project': 'blue' }));
  t.notOk(ask(requireTag, 's3:PutObject', `${B}/k`, { 's3:requestobjecttag/project': 'red' }));
  t.notOk(ask(requireTag, 's3:PutObject', `${B}/k`), 'no tag: StringNotEquals holds, the Deny applies');
  // ForAllValues: every tag key of the request is one of these (no tags at all: true).
  const onlyKeys = doc(allow('s3:PutObjectTagging', O, { Condition: { 'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['Owner', 'Date'] } } }));
  t.ok(askSet(onlyKeys, 's3:PutObjectTagging', { 's3:requestobjecttagkeys': ['Owner'] }));
  t.ok(askSet(onlyKeys, 's3:PutObjectTagging', { 's3:requestobjecttagkeys': ['Owner', 'Date'] }));
  t.notOk(askSet(onlyKeys, 's3:PutObjectTagging', { 's3:requestobjecttagkeys': ['Owner', 'Secret'] }));
  t.ok(askSet(onlyKeys, 's3:PutObjectTagging', {}), 'ForAllValues holds for no tags at all');
  t.ok(askSet(onlyKeys, 's3:PutObjectTagging', { 's3:requestobjecttagkeys': [] }), 'nor for an empty set');
  // ForAnyValue: at least one of them.
  const anyKey = doc(allow('s3:PutObjectTagging', O, { Condition: { 'ForAnyValue:StringLike': { 's3:RequestObjectTagKeys': ['Own*'] } } }));
  t.ok(askSet(anyKey, 's3:PutObjectTagging', { 's3:requestobjecttagkeys': ['x', 'Owner'] }));
  t.notOk(askSet(anyKey, 's3:PutObjectTagging', { 's3:requestobjecttagkeys': ['x'] }));
  t.notOk(askSet(anyKey, 's3:PutObjectTagging', {}), 'ForAnyValue fails for no tags');
  const notAny = doc(allow('s3:PutObjectTagging', O, { Condition: { 'ForAllValues:StringNotEquals': { 's3:RequestObjectTagKeys': 'Secret' } } }));
  t.notOk(askSet(notAny, 's3:PutObjectTagging', { 's3:requestobjecttagkeys': ['a', 'Secret'] }), 'ForAllValues with a negated operator: every value passes it');
  t.ok(askSet(notAny, 's3:PutObjectTagging', { 's3:requestobjecttagkeys': ['a', 'b'] }));
  const nullKeys = doc(allow('s3:PutObject', O, { Condition: { Null: { 's3:RequestObjectTagKeys': 'true' } } }));
  t.ok(askSet(nullKeys, 's3:PutObject', {}), 'Null on a set key: absent');
  t.ok(askSet(nullKeys, 's3:PutObject', { 's3:requestobjecttagkeys': [] }), 'an empty set is absent');
  t.notOk(askSet(nullKeys, 's3:PutObject', { 's3:requestobjecttagkeys': ['a'] }));
  const single = doc(allow('s3:GetObject', O, { Condition: { 'ForAnyValue:StringEquals': { 's3:ExistingObjectTag/Env': 'prod' } } }));
  t.ok(ask(single, 's3:GetObject', `${B}/k`, { 's3:existingobjecttag/Env': 'prod' }), 'a set operator on a one-value key: a set of one');
  t.notOk(ask(single, 's3:GetObject', `${B}/k`), 'ForAnyValue on an absent key');
  const ifExists = doc(allow('s3:GetObject', O, { Condition: { StringEqualsIfExists: { 's3:ExistingObjectTag/Env': 'prod' } } }));
  t.ok(ask(ifExists, 's3:GetObject', `${B}/k`), 'IfExists: an untagged object passes');
  t.notOk(ask(ifExists, 's3:GetObject', `${B}/k`, { 's3:existingobjecttag/Env': 'dev' }));

  const good = allow('s3:GetObject', O);
  const bad: Array<[string, unknown]> = [
    // AWS's Service Authorization Reference: PutObject, DeleteObject, the Object Lock actions have no ExistingObjectTag.
    ['ExistingObjectTag on PutObject', { ...allow('s3:PutObject', O), Condition: { StringEquals: { 's3:ExistingObjectTag/a': 'b' } } }],
    ['ExistingObjectTag on DeleteObject', { ...allow('s3:DeleteObject', O), Condition: { StringEquals: { 's3:ExistingObjectTag/a': 'b' } } }],
    ['ExistingObjectTag on PutObjectRetention', { ...allow('s3:PutObjectRetention', O), Condition: { StringEquals: { 's3:ExistingObjectTag/a': 'b' } } }],
    ['RequestObjectTag on GetObject', { ...good, Condition: { StringEquals: { 's3:RequestObjectTag/a': 'b' } } }],
    ['RequestObjectTagKeys on GetObject', { ...good, Condition: { 'ForAnyValue:StringEquals': { 's3:RequestObjectTagKeys': 'b' } } }],
    ['a set key without ForAnyValue/ForAllValues', { ...allow('s3:PutObject', O), Condition: { StringEquals: { 's3:RequestObjectTagKeys': 'b' } } }],
    ['a set operator before Bool', { ...good, Condition: { 'ForAnyValue:Bool': { 'aws:SecureTransport': 'true' } } }],
    ['an unknown qualifier', { ...good, Condition: { 'ForSomeValues:StringEquals': { 'aws:Referer': 'x' } } }],
    ['an empty tag key', { ...good, Condition: { StringEquals: { 's3:ExistingObjectTag/': 'b' } } }],
    ['a tag key longer than 128', { ...good, Condition: { StringEquals: { [`s3:ExistingObjectTag/${'k'.repeat(129)}`]: 'b' } } }],
  ];
  for (const [what, s] of bad) t.equal(code(() => parseBucketPolicy(doc(s), B)), 'MalformedPolicy', what);
  t.equal(code(() => parseBucketPolicy(doc({ ...allow('s3:*', O), Condition: { StringEquals: { 's3:ExistingObjectTag/a': 'b' } } }), B)), 'ok', 's3:* includes actions with the key');
  t.equal(code(() => parseBucketPolicy(doc({ ...allow(['s3:GetObjectTagging', 's3:PutObjectVersionTagging', 's3:DeleteObjectTagging', 's3:GetObjectAcl'], O), Condition: { StringEquals: { 's3:ExistingObjectTag/a': 'b' } } }), B)), 'ok');
  t.match((() => { try { parseBucketPolicy(doc({ ...good, Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o' } } }), B); } catch (err) { return (err as Error).message; } return ''; })(), /s3:ExistingObjectTag\/<tag-key>, s3:RequestObjectTag\/<tag-key>/, 'the message lists the tag keys');
});

t.test('Numeric and Date operators', async (t) => {
  const O = `arn:aws:s3:::${B}/*`;
  const list = (op: string, v: unknown): string => doc(allow('s3:ListBucket', `arn:aws:s3:::${B}`, { Condition: { [op]: { 's3:max-keys': v } } }));
  const cases: Array<[string, string, string | undefined, boolean]> = [
    ['NumericEquals', '10', '10', true], ['NumericEquals', '10', '010', true], ['NumericEquals', '10', '11', false], ['NumericEquals', '10', undefined, false],
    ['NumericNotEquals', '10', '10', false], ['NumericNotEquals', '10', '9', true], ['NumericNotEquals', '10', undefined, true],
    ['NumericLessThan', '100', '99', true], ['NumericLessThan', '100', '100', false],
    ['NumericLessThanEquals', '100', '100', true], ['NumericLessThanEquals', '100', '101', false],
    ['NumericGreaterThan', '100', '101', true], ['NumericGreaterThan', '100', '100', false], ['NumericGreaterThan', '100', undefined, false],
    ['NumericGreaterThanEquals', '100', '100', true], ['NumericGreaterThanEquals', '100', '99', false],
    ['NumericLessThan', '100', 'abc', false], ['NumericLessThanIfExists', '100', undefined, true], ['NumericLessThanIfExists', '100', '200', false],
    ['NumericLessThan', '1.5', '1.2', true],
    // A request's number with more than 15 digits (leading zeros: the listing reads 500) is still its number.
    ['NumericGreaterThan', '100', '0000000000000000500', true], ['NumericLessThanEquals', '10', '00000000000000000005', true], ['NumericNotEquals', '500', '0000000000000000500', false],
  ];
  for (const [op, limit, given, want] of cases) {
    t.equal(ask(list(op, limit), 's3:ListBucket', B, given === undefined ? {} : { 's3:max-keys': given }), want, `${op} ${limit} on max-keys ${given}`);
  }
  t.ok(ask(list('NumericLessThanEquals', 1000), 's3:ListBucket', B, { 's3:max-keys': '5' }), 'a JSON number');
  t.ok(ask(list('NumericEquals', ['5', '10']), 's3:ListBucket', B, { 's3:max-keys': '10' }), 'any of several values');
  t.ok(ask(list('StringEquals', '5'), 's3:ListBucket', B, { 's3:max-keys': '5' }), 's3:max-keys keeps the string operators');
  const time = (op: string, v: unknown, key = 'aws:CurrentTime'): string => doc(allow('s3:GetObject', O, { Condition: { [op]: { [key]: v } } }));
  const at = (iso: string): Record<string, string> => ({ 'aws:currenttime': iso, 'aws:epochtime': String(Date.parse(iso) / 1000) });
  t.ok(ask(time('DateLessThan', '2030-01-01T00:00:00Z'), 's3:GetObject', `${B}/k`, at('2029-12-31T23:59:59Z')));
  t.notOk(ask(time('DateLessThan', '2030-01-01T00:00:00Z'), 's3:GetObject', `${B}/k`, at('2030-01-01T00:00:00Z')));
  t.ok(ask(time('DateLessThanEquals', '2030-01-01T01:00:00+01:00'), 's3:GetObject', `${B}/k`, at('2030-01-01T00:00:00Z')), 'zones count');
  t.ok(ask(time('DateGreaterThan', '1893456000'), 's3:GetObject', `${B}/k`, at('2030-01-01T00:00:01Z')), 'epoch seconds as a date value');
  t.notOk(ask(time('DateGreaterThanEquals', '2030-01-01T00:00:00Z'), 's3:GetObject', `${B}/k`, at('2029-06-01T00:00:00Z')));
  t.ok(ask(time('DateEquals', '2030-01-01T00:00:00Z'), 's3:GetObject', `${B}/k`, at('2030-01-01T00:00:00.000Z')));
  t.ok(ask(time('DateNotEquals', '2030-01-01T00:00:00Z'), 's3:GetObject', `${B}/k`, at('2030-01-01T00:00:01Z')));
  t.ok(ask(time('DateLessThan', '2030-01-01T00:00:00Z', 'aws:EpochTime'), 's3:GetObject', `${B}/k`, at('2029-01-01T00:00:00Z')), 'aws:EpochTime with a Date operator');
  t.ok(ask(time('NumericLessThan', '1893456000', 'aws:EpochTime'), 's3:GetObject', `${B}/k`, at('2029-01-01T00:00:00Z')), 'aws:EpochTime with a Numeric operator');
  t.notOk(ask(time('NumericLessThan', '1893456000', 'aws:EpochTime'), 's3:GetObject', `${B}/k`, at('2031-01-01T00:00:00Z')));
  t.notOk(ask(time('DateGreaterThan', '2020-01-01T00:00:00Z'), 's3:GetObject', `${B}/k`), 'no key: false');
  // W3C's ISO 8601 dates without a time (IAM takes them): the start of the day or month, UTC.
  t.ok(ask(time('DateLessThan', '2030-01-01'), 's3:GetObject', `${B}/k`, at('2029-12-31T23:59:59Z')), 'a date alone');
  t.notOk(ask(time('DateLessThan', '2030-01-01'), 's3:GetObject', `${B}/k`, at('2030-01-01T00:00:00Z')), 'a date alone: from its midnight, UTC');
  t.ok(ask(time('DateGreaterThanEquals', '2030-02'), 's3:GetObject', `${B}/k`, at('2030-02-01T00:00:00Z')), 'a year and month');
  t.notOk(ask(time('DateGreaterThanEquals', '2030-02'), 's3:GetObject', `${B}/k`, at('2030-01-31T23:59:59Z')));
  t.ok(ask(time('DateLessThan', '2030-01-01', 'aws:EpochTime'), 's3:GetObject', `${B}/k`, at('2029-01-01T00:00:00Z')), 'on aws:EpochTime too');
  const good = allow('s3:GetObject', O);
  const bad: Array<[string, unknown]> = [
    ['a number that is none', { ...allow('s3:ListBucket', `arn:aws:s3:::${B}`), Condition: { NumericLessThan: { 's3:max-keys': 'ten' } } }],
    ['a number with a unit', { ...allow('s3:ListBucket', `arn:aws:s3:::${B}`), Condition: { NumericLessThan: { 's3:max-keys': '10k' } } }],
    ['an empty number', { ...allow('s3:ListBucket', `arn:aws:s3:::${B}`), Condition: { NumericEquals: { 's3:max-keys': '' } } }],
    ['a date that is none', { ...good, Condition: { DateLessThan: { 'aws:CurrentTime': 'tomorrow' } } }],
    ['a date without its zone', { ...good, Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00' } } }],
    ['a date past the calendar', { ...good, Condition: { DateLessThan: { 'aws:CurrentTime': '2030-02-30T00:00:00Z' } } }],
    ['a day past the calendar', { ...good, Condition: { DateLessThan: { 'aws:CurrentTime': '2030-02-30' } } }],
    ['a month that is none', { ...good, Condition: { DateLessThan: { 'aws:CurrentTime': '2030-13' } } }],
    ['a date with slashes', { ...good, Condition: { DateLessThan: { 'aws:CurrentTime': '2030/01/01' } } }],
    ['a Numeric operator on a string key', { ...good, Condition: { NumericEquals: { 'aws:Referer': '1' } } }],
    ['a Date operator on a number key', { ...allow('s3:ListBucket', `arn:aws:s3:::${B}`), Condition: { DateEquals: { 's3:max-keys': '2030-01-01T00:00:00Z' } } }],
    ['a string operator on aws:CurrentTime', { ...good, Condition: { StringLike: { 'aws:CurrentTime': '2030-*' } } }],
    ['a set operator before a Numeric one', { ...good, Condition: { 'ForAnyValue:NumericEquals': { 'aws:EpochTime': '1' } } }],
    ['NumericNotEqualsIfExist (misspelt)', { ...allow('s3:ListBucket', `arn:aws:s3:::${B}`), Condition: { NumericNotEqualsIfExist: { 's3:max-keys': '1' } } }],
  ];
  for (const [what, st] of bad) t.equal(code(() => parseBucketPolicy(doc(st), B)), 'MalformedPolicy', what);
  t.equal(code(() => parseBucketPolicy(doc({ ...good, Condition: { Null: { 'aws:CurrentTime': 'false' } } }), B)), 'ok', 'Null on a date key');
  t.match((() => { try { parseBucketPolicy(doc({ ...good, Condition: { BinaryEquals: { 'aws:Referer': 'x' } } }), B); } catch (err) { return (err as Error).message; } return ''; })(), /NumericLessThanEquals.*DateGreaterThanEquals/, 'the message lists the operators');
});

t.test('request keys: s3:x-amz-acl, s3:x-amz-metadata-directive, s3:x-amz-storage-class, s3:versionid, s3:authType, s3:signatureversion, s3:x-amz-content-sha256', async (t) => {
  const O = `arn:aws:s3:::${B}/*`;
  const denyUnless = (action: string, op: string, key: string, v: string): string => doc(allow('s3:*', O), { Effect: 'Deny', Principal: '*', Action: action, Resource: O, Condition: { [op]: { [key]: v } } });
  const acl = denyUnless('s3:PutObject', 'StringNotEquals', 's3:x-amz-acl', 'private');
  t.ok(ask(acl, 's3:PutObject', `${B}/k`, { 's3:x-amz-acl': 'private' }));
  t.notOk(ask(acl, 's3:PutObject', `${B}/k`, { 's3:x-amz-acl': 'public-read' }));
  const v4only = denyUnless('s3:*', 'StringNotEquals', 's3:signatureversion', 'AWS4-HMAC-SHA256');
  t.ok(ask(v4only, 's3:GetObject', `${B}/k`, { 's3:signatureversion': 'AWS4-HMAC-SHA256' }));
  t.notOk(ask(v4only, 's3:GetObject', `${B}/k`, { 's3:signatureversion': 'AWS' }));
  const noQuery = denyUnless('s3:*', 'StringEquals', 's3:authType', 'REST-QUERY-STRING');
  t.notOk(ask(noQuery, 's3:GetObject', `${B}/k`, { 's3:authtype': 'REST-QUERY-STRING' }));
  t.ok(ask(noQuery, 's3:GetObject', `${B}/k`, { 's3:authtype': 'REST-HEADER' }));
  const signedBody = denyUnless('s3:PutObject', 'StringEquals', 's3:x-amz-content-sha256', 'UNSIGNED-PAYLOAD');
  t.notOk(ask(signedBody, 's3:PutObject', `${B}/k`, { 's3:x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }));
  const version = doc(allow('s3:GetObjectVersion', O, { Condition: { StringEquals: { 's3:versionid': 'v1' } } }));
  t.ok(ask(version, 's3:GetObjectVersion', `${B}/k`, { 's3:versionid': 'v1' }));
  t.notOk(ask(version, 's3:GetObjectVersion', `${B}/k`, { 's3:versionid': 'v2' }));
  const bad: Array<[string, unknown]> = [
    ['s3:x-amz-acl on GetObject', { ...allow('s3:GetObject', O), Condition: { StringEquals: { 's3:x-amz-acl': 'private' } } }],
    ['s3:versionid on GetObject', { ...allow('s3:GetObject', O), Condition: { StringEquals: { 's3:versionid': 'v' } } }],
    ['s3:x-amz-metadata-directive on GetObject', { ...allow('s3:GetObject', O), Condition: { StringEquals: { 's3:x-amz-metadata-directive': 'COPY' } } }],
    ['s3:x-amz-storage-class on DeleteObject', { ...allow('s3:DeleteObject', O), Condition: { StringEquals: { 's3:x-amz-storage-class': 'STANDARD' } } }],
    ['s3:TlsVersion where TLS 1.2 and 1.3 differ', { ...allow('s3:GetObject', O), Condition: { NumericGreaterThanEquals: { 's3:TlsVersion': '1.3' } } }],
  ];
  for (const [what, st] of bad) t.equal(code(() => parseBucketPolicy(doc(st), B)), 'MalformedPolicy', what);
  t.equal(code(() => parseBucketPolicy(doc({ ...allow(['s3:PutObject', 's3:PutObjectAcl'], O), Condition: { StringEquals: { 's3:x-amz-acl': 'private', 's3:x-amz-storage-class': 'STANDARD' } } }), B)), 'ok');
});

t.test('Object Lock keys and s3:if-match / s3:if-none-match', async (t) => {
  const O = `arn:aws:s3:::${B}/*`;
  const deny = (action: string | string[], Condition: Record<string, unknown>) => ({ Effect: 'Deny', Principal: '*', Action: action, Resource: O, Condition });
  const limits = doc(
    allow('s3:*', O),
    deny(['s3:PutObject', 's3:PutObjectRetention'], { NumericLessThan: { 's3:object-lock-remaining-retention-days': '10' } }),
    deny(['s3:PutObject', 's3:PutObjectRetention'], { DateGreaterThan: { 's3:object-lock-retain-until-date': '2040-01-01T00:00:00Z' } }),
    deny('s3:PutObjectLegalHold', { StringEquals: { 's3:object-lock-legal-hold': 'OFF' } }),
    deny('s3:PutObject', { Null: { 's3:if-none-match': 'true' } }),
  );
  const put = (context: Record<string, string>): boolean => ask(limits, 's3:PutObject', `${B}/k`, { 's3:if-none-match': '*', ...context });
  t.ok(put({}), 'no retention: the retention Denies do not apply');
  t.notOk(put({ 's3:object-lock-remaining-retention-days': '9' }), '9 days: under the minimum');
  t.ok(put({ 's3:object-lock-remaining-retention-days': '10', 's3:object-lock-retain-until-date': '2030-01-01T00:00:00.000Z' }), '10 days, before 2040');
  t.notOk(put({ 's3:object-lock-retain-until-date': '2041-01-01T00:00:00.000Z' }), 'after 2040');
  t.notOk(ask(limits, 's3:PutObject', `${B}/k`), 'no If-None-Match');
  t.notOk(ask(limits, 's3:PutObjectLegalHold', `${B}/k`, { 's3:object-lock-legal-hold': 'OFF' }), 'a hold lifted');
  t.ok(ask(limits, 's3:PutObjectLegalHold', `${B}/k`, { 's3:object-lock-legal-hold': 'ON' }), 'a hold set');
  const bad: Array<[string, unknown]> = [
    ['s3:object-lock-mode on GetObject', deny('s3:GetObject', { StringEquals: { 's3:object-lock-mode': 'COMPLIANCE' } })],
    ['s3:object-lock-legal-hold on PutObjectRetention', deny('s3:PutObjectRetention', { StringEquals: { 's3:object-lock-legal-hold': 'ON' } })],
    ['s3:object-lock-remaining-retention-days on PutObjectLegalHold', deny('s3:PutObjectLegalHold', { NumericLessThan: { 's3:object-lock-remaining-retention-days': '1' } })],
    ['s3:if-none-match on GetObject', deny('s3:GetObject', { Null: { 's3:if-none-match': 'true' } })],
    ['a String operator on the remaining days (a number)', deny('s3:PutObject', { StringEquals: { 's3:object-lock-remaining-retention-days': '10' } })],
    ['a Numeric operator on the retain-until date', deny('s3:PutObject', { NumericLessThan: { 's3:object-lock-retain-until-date': '10' } })],
    ['a date that is none', deny('s3:PutObject', { DateLessThan: { 's3:object-lock-retain-until-date': 'soon' } })],
  ];
  for (const [what, st] of bad) t.equal(code(() => parseBucketPolicy(doc(st), B)), 'MalformedPolicy', what);
});

t.test('s3:ObjectCreationOperation: a Bool key of s3:PutObject', async (t) => {
  const O = `arn:aws:s3:::${B}/*`;
  const p = doc(allow('s3:*', O), { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: O, Condition: { Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } } });
  t.notOk(ask(p, 's3:PutObject', `${B}/k`, { 's3:objectcreationoperation': 'true' }), 'a creating write without If-None-Match');
  t.ok(ask(p, 's3:PutObject', `${B}/k`, { 's3:objectcreationoperation': 'true', 's3:if-none-match': '*' }), 'with it');
  t.ok(ask(p, 's3:PutObject', `${B}/k`, { 's3:objectcreationoperation': 'false' }), 'an UploadPart');
  t.equal(code(() => parseBucketPolicy(doc({ ...allow('s3:GetObject', O), Condition: { Bool: { 's3:ObjectCreationOperation': 'true' } } }), B)), 'MalformedPolicy', 'not a key of GetObject');
});

t.test('s3:signatureAge and s3:x-amz-copy-source', async (t) => {
  const O = `arn:aws:s3:::${B}/*`;
  const p = doc(
    allow('s3:*', O),
    { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: O, Condition: { NumericGreaterThan: { 's3:signatureAge': '600000' } } },
    { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: O, Condition: { StringNotLike: { 's3:x-amz-copy-source': `${B}/public/*` }, Null: { 's3:x-amz-copy-source': 'false' } } },
  );
  t.ok(ask(p, 's3:GetObject', `${B}/k`, { 's3:signatureage': '1000' }));
  t.notOk(ask(p, 's3:GetObject', `${B}/k`, { 's3:signatureage': '600001' }));
  t.ok(ask(p, 's3:GetObject', `${B}/k`), 'no signature time: NumericGreaterThan false');
  t.ok(ask(p, 's3:PutObject', `${B}/k`, { 's3:x-amz-copy-source': `${B}/public/a` }));
  t.notOk(ask(p, 's3:PutObject', `${B}/k`, { 's3:x-amz-copy-source': `${B}/private/a` }));
  t.ok(ask(p, 's3:PutObject', `${B}/k`), 'no copy');
  t.equal(code(() => parseBucketPolicy(doc({ ...allow('s3:GetObject', O), Condition: { StringEquals: { 's3:x-amz-copy-source': 'x/y' } } }), B)), 'MalformedPolicy', 'not a key of GetObject');
  t.equal(code(() => parseBucketPolicy(doc({ ...allow('s3:GetObject', O), Condition: { StringEquals: { 's3:signatureAge': '5' } } }), B)), 'MalformedPolicy', 'a number: Numeric operators');
});

t.test('policy variables: ${key} is the request\u2019s value as text, ${key, \'default\'}, ${*} ${?} ${$}; a key the request lacks matches nothing', async (t) => {
  const home = doc(allow(['s3:GetObject', 's3:PutObject'], `arn:aws:s3:::${B}/home/\${aws:username}/*`));
  t.ok(ask(home, 's3:GetObject', `${B}/home/alice/a.txt`, { 'aws:username': 'alice' }), 'the user\u2019s own home');
  t.notOk(ask(home, 's3:GetObject', `${B}/home/bob/a.txt`, { 'aws:username': 'alice' }), 'not another\u2019s');
  t.notOk(ask(home, 's3:GetObject', `${B}/home//a.txt`), 'no aws:username (anonymous): the resource names nothing');
  t.notOk(ask(home, 's3:GetObject', `${B}/home/${'${aws:username}'}/a.txt`), 'nor the literal text of the variable');
  t.ok(ask(home, 's3:GetObject', `${B}/home/a*/x`, { 'aws:username': 'a*' }), 'a value with * matches itself');
  t.notOk(ask(home, 's3:GetObject', `${B}/home/ab/x`, { 'aws:username': 'a*' }), 'and is no wildcard');
  t.notOk(ask(home, 's3:GetObject', `${B}/home/b/x`, { 'aws:username': '?' }), 'nor is ?');
  t.ok(ask(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/home/\${AWS:UserName}/*`)), 's3:GetObject', `${B}/home/alice/x`, { 'aws:username': 'alice' }), 'key names are case-insensitive');
  // A Deny whose variable has no value names nothing: it does not deny.
  const denyOthers = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`), { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/private/\${aws:username}/*` });
  t.notOk(ask(denyOthers, 's3:GetObject', `${B}/private/alice/x`, { 'aws:username': 'alice' }));
  t.ok(ask(denyOthers, 's3:GetObject', `${B}/private/bob/x`, { 'aws:username': 'alice' }));
  // Defaults: quoted, '' a quote, one round of substitution only, spaces around ignored.
  const guest = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/home/\${aws:username, 'guest'}/*`));
  t.ok(ask(guest, 's3:GetObject', `${B}/home/guest/x`), 'the default for a request without the key');
  t.ok(ask(guest, 's3:GetObject', `${B}/home/alice/x`, { 'aws:username': 'alice' }), 'the value when it has it');
  t.notOk(ask(guest, 's3:GetObject', `${B}/home/guest/x`, { 'aws:username': 'alice' }), 'then not the default');
  t.ok(ask(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/\${ aws:username , 'it''s}' }`)), 's3:GetObject', `${B}/it's}`), "'' is a quote; a brace inside quotes is text");
  t.ok(ask(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/\${aws:username, '\${aws:userid}*'}`)), 's3:GetObject', `${B}/\${aws:userid}*`, { 'aws:userid': 'u' }), 'a default is text: no second round, no wildcard');
  t.notOk(ask(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/\${aws:username, '*'}`)), 's3:GetObject', `${B}/x`), 'a * in a default is no wildcard');
  // The escapes.
  const stars = doc(allow('s3:GetObject', [`arn:aws:s3:::${B}/s/\${*}`, `arn:aws:s3:::${B}/q/\${?}`, `arn:aws:s3:::${B}/d/\${$}{x}`]));
  t.ok(ask(stars, 's3:GetObject', `${B}/s/*`), '${*} is a *');
  t.notOk(ask(stars, 's3:GetObject', `${B}/s/x`), 'not a wildcard');
  t.ok(ask(stars, 's3:GetObject', `${B}/q/?`));
  t.notOk(ask(stars, 's3:GetObject', `${B}/q/x`));
  t.ok(ask(stars, 's3:GetObject', `${B}/d/\${x}`), '${$} is a $ (so ${$}{x} is the text ${x})');
  // Conditions: the string operators' values.
  const listHome = doc(allow('s3:ListBucket', `arn:aws:s3:::${B}`, { Condition: { StringLike: { 's3:prefix': ['home/${aws:username}/*', ''] } } }));
  t.ok(ask(listHome, 's3:ListBucket', B, { 's3:prefix': 'home/alice/docs/', 'aws:username': 'alice' }));
  t.notOk(ask(listHome, 's3:ListBucket', B, { 's3:prefix': 'home/bob/', 'aws:username': 'alice' }));
  t.ok(ask(listHome, 's3:ListBucket', B, { 's3:prefix': '', 'aws:username': 'alice' }), 'another value of the list');
  t.notOk(ask(listHome, 's3:ListBucket', B, { 's3:prefix': 'home//' }), 'no aws:username: the value matches nothing');
  const eq = (op: string, ctx: Record<string, string>): boolean => ask(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { [op]: { 'aws:UserAgent': 'agent-${aws:userid}' } } })), 's3:GetObject', `${B}/k`, ctx);
  t.ok(eq('StringEquals', { 'aws:useragent': 'agent-u1', 'aws:userid': 'u1' }));
  t.notOk(eq('StringEquals', { 'aws:useragent': 'agent-u2', 'aws:userid': 'u1' }));
  t.notOk(eq('StringEquals', { 'aws:useragent': 'agent-' }), 'no value: StringEquals false');
  t.ok(eq('StringNotEquals', { 'aws:useragent': 'agent-' }), 'and StringNotEquals true (no value equals it)');
  t.ok(eq('StringNotLike', { 'aws:useragent': 'agent-u2', 'aws:userid': 'u1' }));
  t.notOk(eq('StringNotLike', { 'aws:useragent': 'agent-u1', 'aws:userid': 'u1' }));
  // The principal keys as conditions.
  const users = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringEquals: { 'aws:PrincipalType': 'User' } } }));
  t.ok(ask(users, 's3:GetObject', `${B}/k`, { 'aws:principaltype': 'User' }));
  t.notOk(ask(users, 's3:GetObject', `${B}/k`, { 'aws:principaltype': 'Anonymous' }));
  const pinned = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringEquals: { 'aws:userid': ['app-1', 'app-2'] } } }));
  t.notOk(isPublic(parseBucketPolicy(pinned, B)), 'pinned to fixed signers (aws:userid): not public');
  t.ok(isPublic(parseBucketPolicy(pinned.replace('app-2', 'anonymous'), B)), 'unless one is anonymous');
  t.ok(isPublic(parseBucketPolicy(pinned.replace('StringEquals', 'StringLike').replace('app-2', '*'), B)), 'or a pattern');
  const account = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringEquals: { 'aws:PrincipalAccount': 'root-key' } } }));
  t.notOk(isPublic(parseBucketPolicy(account, B)), 'pinned to a fixed account (aws:PrincipalAccount): not public');
  t.ok(isPublic(parseBucketPolicy(account.replace('root-key', '${aws:username}'), B)), 'unless it is a variable');
  t.ok(isPublic(parseBucketPolicy(account.replace('PrincipalAccount', 'ResourceAccount'), B)), 'aws:ResourceAccount pins nobody: every request has it');
  t.ok(ask(account, 's3:GetObject', `${B}/k`, { 'aws:principalaccount': 'root-key' }));
  t.notOk(ask(account, 's3:GetObject', `${B}/k`, {}), 'no account (anonymous): no match');
  // aws:PrincipalArn and the Arn operators: each of the six components matched on its own.
  const arnCond = (op: string, v: unknown): string => doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { [op]: { 'aws:PrincipalArn': v } } }));
  const bob = { 'aws:principalarn': 'arn:aws:iam::acct:user/ci-bob' };
  t.ok(ask(arnCond('ArnLike', 'arn:aws:iam::*:user/ci-*'), 's3:GetObject', `${B}/k`, bob), 'ArnLike: wildcards within components');
  t.ok(ask(arnCond('ArnEquals', 'arn:aws:iam::acct:user/ci-?ob'), 's3:GetObject', `${B}/k`, bob), 'ArnEquals takes wildcards too (as IAM)');
  t.notOk(ask(arnCond('ArnLike', 'arn:aws:iam::*:user/ops-*'), 's3:GetObject', `${B}/k`, bob), 'another user');
  const colons = { 'aws:principalarn': 'arn:aws:iam::acct:user/a:bob' };
  t.notOk(ask(arnCond('ArnLike', 'arn:aws:iam::*:bob'), 's3:GetObject', `${B}/k`, colons), 'a * does not span the colon between components');
  t.ok(ask(arnCond('StringLike', 'arn:aws:iam::*:bob'), 's3:GetObject', `${B}/k`, colons), 'StringLike on the same text does');
  t.notOk(ask(arnCond('ArnLike', 'arn:aws:iam::*:user/ci-*'), 's3:GetObject', `${B}/k`, { 'aws:principalarn': 'arn:aws:iam:acct:user/ci-bob' }), 'a value that is no six-part ARN matches nothing');
  t.ok(ask(arnCond('ArnLike', 'arn:aws:iam::*:user/a:b*'), 's3:GetObject', `${B}/k`, { 'aws:principalarn': 'arn:aws:iam::acct:user/a:bc' }), 'the last component keeps its colons');
  t.ok(ask(arnCond('ArnNotLike', 'arn:aws:iam::*:user/ops-*'), 's3:GetObject', `${B}/k`, bob), 'ArnNotLike');
  t.ok(ask(arnCond('ArnNotLike', 'arn:aws:iam::*:user/ops-*'), 's3:GetObject', `${B}/k`), 'ArnNotLike: no key (anonymous) holds, as for every negated operator');
  t.notOk(ask(arnCond('ArnLike', 'arn:aws:iam::*:user/*'), 's3:GetObject', `${B}/k`), 'ArnLike: no key, no match');
  t.ok(ask(arnCond('ArnEquals', 'arn:aws:iam::${aws:PrincipalAccount}:user/ci-bob'), 's3:GetObject', `${B}/k`, { ...bob, 'aws:principalaccount': 'acct' }), 'policy variables in Arn values');
  t.notOk(isPublic(parseBucketPolicy(arnCond('ArnEquals', 'arn:aws:iam::acct:user/ci-bob'), B)), 'pinned to a fixed ARN: not public');
  t.ok(isPublic(parseBucketPolicy(arnCond('ArnLike', 'arn:aws:iam::acct:user/ci-*'), B)), 'a pattern is public');
  for (const [what, text] of [
    ['an Arn operator on a key that is no ARN', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { ArnLike: { 'aws:UserAgent': 'arn:aws:iam::*:user/x' } } }))],
    ['an Arn value that is no ARN', arnCond('ArnLike', 'ci-*')],
    ['an Arn value of too few components', arnCond('ArnNotLike', 'arn:aws:iam:user/x')],
  ] as const) t.equal(code(() => parseBucketPolicy(text, B)), 'MalformedPolicy', what);
  // What is refused: anything s3d could not fill in, or would not fill in as IAM does.
  const bad: Array<[string, string]> = [
    ['no Version (2008-10-17: no variables)', JSON.stringify({ Statement: [allow('s3:GetObject', `arn:aws:s3:::${B}/\${aws:username}`)] })],
    ['an unknown key', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/\${aws:PrincipalOrgID}`))],
    ['a set key', doc(allow('s3:PutObject', `arn:aws:s3:::${B}/\${s3:RequestObjectTagKeys}`))],
    ['not closed', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/\${aws:username`))],
    ['empty', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/\${}`))],
    ['a default without quotes', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/\${aws:username, guest}`))],
    ['a default not closed', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/\${aws:username, 'guest}`))],
    ['in a Numeric operator', doc(allow('s3:ListBucket', `arn:aws:s3:::${B}`, { Condition: { NumericLessThan: { 's3:max-keys': '${s3:max-keys}' } } }))],
    ['in IpAddress', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { IpAddress: { 'aws:SourceIp': '${aws:SourceIp}' } } }))],
    ['in Bool', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { Bool: { 'aws:SecureTransport': '${aws:SecureTransport}' } } }))],
    ['a key no action of the statement has', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/\${s3:prefix}/*`))],
    ['in a condition value, such a key', doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringEquals: { 'aws:UserAgent': '${s3:prefix}' } } }))],
  ];
  for (const [what, text] of bad) t.equal(code(() => parseBucketPolicy(text, B)), 'MalformedPolicy', what);
  t.equal(code(() => parseBucketPolicy(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/\${s3:prefix, 'x'}/*`)), B)), 'ok', 'such a key with a default: it names the default');
  t.equal(code(() => parseBucketPolicy(doc(allow(['s3:GetObject', 's3:ListBucket'], [`arn:aws:s3:::${B}`, `arn:aws:s3:::${B}/\${s3:prefix}*`])), B)), 'ok', 'a key of one of its actions');
  const message = (text: string): string => { try { parseBucketPolicy(text, B); } catch (err) { return (err as Error).message; } return ''; };
  t.match(message(bad[0]![1]), /policy variables need "Version": "2012-10-17"/, 'the message says why');
  t.match(message(bad[1]![1]), /aws:PrincipalOrgID/, 'and which variable');
});

t.test('s3:TlsVersion: only conditions that hold alike for TLS 1.2 and 1.3', async (t) => {
  const tlsDoc = (Condition: Record<string, unknown>, Effect = 'Allow'): string => doc({ Effect, Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${B}/*`, Condition });
  const ok: Array<Record<string, unknown>> = [
    { NumericLessThan: { 's3:TlsVersion': 1.2 } },
    { NumericGreaterThanEquals: { 's3:TlsVersion': '1.2' } },
    { NumericGreaterThan: { 's3:TlsVersion': '1.1' } },
    { NumericLessThanEquals: { 's3:TlsVersion': '1.1' } },
    { NumericLessThanIfExists: { 's3:TlsVersion': '1.2' } },
    { Null: { 's3:TlsVersion': 'true' } },
  ];
  for (const c of ok) t.equal(code(() => parseBucketPolicy(tlsDoc(c), B)), 'ok', JSON.stringify(c));
  const refused: Array<Record<string, unknown>> = [
    { NumericLessThan: { 's3:TlsVersion': '1.3' } },
    { NumericGreaterThanEquals: { 's3:TlsVersion': '1.3' } },
    { NumericEquals: { 's3:TlsVersion': '1.2' } },
    { NumericNotEquals: { 's3:TlsVersion': '1.3' } },
    { StringEquals: { 's3:TlsVersion': '1.2' } },
  ];
  for (const c of refused) t.equal(code(() => parseBucketPolicy(tlsDoc(c), B)), 'MalformedPolicy', `${JSON.stringify(c)}: refused`);
  const deny = tlsDoc({ NumericLessThan: { 's3:TlsVersion': '1.2' } }, 'Deny');
  const both = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`), JSON.parse(deny).Statement[0]);
  t.ok(ask(both, 's3:GetObject', `${B}/k`, { 's3:tlsversion': '1.2' }), 'AWS\u2019s deny-below-1.2 statement: TLS passes');
  t.ok(ask(both, 's3:GetObject', `${B}/k`), 'plain HTTP has no key: NumericLessThan is false');
  const only = tlsDoc({ NumericGreaterThanEquals: { 's3:TlsVersion': '1.2' } });
  t.ok(ask(only, 's3:GetObject', `${B}/k`, { 's3:tlsversion': '1.2' }));
  t.notOk(ask(only, 's3:GetObject', `${B}/k`), 'an Allow on it admits no plain HTTP request');
});

t.test('aws:PrincipalTag/<key>: the tag key without case, in conditions and as a variable', async (t) => {
  const team = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringEquals: { 'aws:PrincipalTag/Team': 'blue' } } }));
  t.ok(ask(team, 's3:GetObject', `${B}/k`, { 'aws:principaltag/team': 'blue' }), 'Team in the policy, team in the request');
  t.notOk(ask(team, 's3:GetObject', `${B}/k`, { 'aws:principaltag/team': 'Blue' }), 'the value keeps its case');
  t.notOk(ask(team, 's3:GetObject', `${B}/k`), 'no tag: no key');
  const home = doc(allow('s3:GetObject', `arn:aws:s3:::${B}/teams/\${aws:PrincipalTag/TEAM}/*`));
  t.ok(ask(home, 's3:GetObject', `${B}/teams/blue/x`, { 'aws:principaltag/team': 'blue' }), 'as a variable');
  t.notOk(ask(home, 's3:GetObject', `${B}/teams/red/x`, { 'aws:principaltag/team': 'blue' }));
  t.equal(code(() => parseBucketPolicy(doc(allow('s3:GetObject', `arn:aws:s3:::${B}/*`, { Condition: { StringEquals: { 'aws:PrincipalTag/': 'x' } } })), B)), 'MalformedPolicy', 'a key with no tag key');
});

// What is put is held to the grammar (IAM's, MinIO's decoder: Sid and Id are strings; nesting at
// most 32 deep in every kind of policy); what an earlier version stored keeps loading, since it
// took a Sid or Id of any type and, before the nesting limit, a Sid nested any depth.
t.test('Sid and Id are strings and nesting is limited when a policy is written, not when a stored one is read', async (t) => {
  const good = allow('s3:GetObject', `arn:aws:s3:::${B}/*`);
  const deep = (n: number): unknown => JSON.parse('['.repeat(n) + ']'.repeat(n));
  const cases: Array<[string, Record<string, unknown>]> = [
    ['a Sid that is a number', { Version: '2012-10-17', Statement: [{ Sid: 5, ...good }] }],
    ['a Sid that is a list', { Version: '2012-10-17', Statement: [{ Sid: [[1]], ...good }] }],
    ['a Sid that is an object', { Version: '2012-10-17', Statement: { Sid: { a: 'b' }, ...good } }],
    ['a Sid nested 40 deep', { Version: '2012-10-17', Statement: [{ Sid: deep(40), ...good }] }],
    ['an Id that is a number', { Version: '2012-10-17', Id: 1, Statement: [good] }],
    ['an Id that is null', { Version: '2012-10-17', Id: null, Statement: [good] }],
  ];
  const identity = (o: Record<string, unknown>): Record<string, unknown> =>
    JSON.parse(JSON.stringify(o, (k, v: unknown) => (k === 'Principal' ? undefined : k === 'Resource' ? 'arn:aws:s3:::b/*' : v))) as Record<string, unknown>;
  for (const [what, o] of cases) {
    t.equal(code(() => parseBucketPolicy(JSON.stringify(o), B)), 'MalformedPolicy', `PutBucketPolicy: ${what}`);
    t.equal(code(() => parseIdentityPolicy(identity(o))), 'MalformedPolicy', `a users-file or session policy: ${what}`);
    t.equal(code(() => parseBucketPolicy(JSON.stringify(o), B, true)), 'ok', `a stored bucket policy: ${what}`);
    t.equal(code(() => parseIdentityPolicy(identity(o), true)), 'ok', `a session token's policy: ${what}`);
  }
  t.match((() => { try { parseBucketPolicy(JSON.stringify(cases[1]![1]), B); } catch (err) { return (err as Error).message; } return ''; })(), /Statement 1: Sid must be a string/, 'the message says which statement');
  t.match((() => { try { parseIdentityPolicy(identity(cases[3]![1])); } catch (err) { return (err as Error).message; } return ''; })(), /nests objects and lists more than 32 deep/, 'an identity policy is measured as a bucket policy is');
  t.equal(code(() => parseBucketPolicy(JSON.stringify({ Version: '2012-10-17', Id: 'any text: ok', Statement: [{ Sid: 'Allow reads, from anyone', ...good }] }), B)), 'ok', 'a Sid of any characters (S3 takes more than IAM\u2019s letters and digits)');
  t.equal(code(() => parseBucketPolicy(JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'same', ...good }, { Sid: 'same', ...good }] }), B)), 'ok', 'a Sid given twice (MinIO takes it; S3 refuses nothing for it that s3d knows of)');
});

// IAM's operator names (with their qualifiers and IfExists) are case-sensitive; condition keys are
// not. Written: refused. Stored by an earlier version, which took any case: the operator it names.
t.test('condition operators are spelt as IAM spells them; stored ones in another case keep their meaning', async (t) => {
  const O = `arn:aws:s3:::${B}/*`;
  const withOp = (op: string, key = 'aws:UserAgent', value = 'ua'): string => doc(allow('s3:GetObject', O, { Condition: { [op]: { [key]: value } } }));
  for (const [op, spelling] of [['stringequals', 'StringEquals'], ['STRINGEQUALS', 'StringEquals'], ['stringEqualsIfExists', 'StringEqualsIfExists'], ['StringEqualsifexists', 'StringEqualsIfExists'], ['foranyvalue:StringEquals', 'ForAnyValue:StringEquals'], ['FORALLVALUES:StringEquals', 'ForAllValues:StringEquals'], ['numericlessthan', 'NumericLessThan'], ['null', 'Null']] as const) {
    const key = op.includes(':') ? 's3:RequestObjectTagKeys' : op === 'numericlessthan' ? 's3:max-keys' : 'aws:UserAgent';
    const policy = key === 's3:RequestObjectTagKeys' ? doc(allow('s3:PutObject', O, { Condition: { [op]: { [key]: 'x' } } })) : key === 's3:max-keys' ? doc(allow('s3:ListBucket', `arn:aws:s3:::${B}`, { Condition: { [op]: { [key]: '10' } } })) : withOp(op, key, op === 'null' ? 'true' : 'ua');
    t.throws(() => parseBucketPolicy(policy, B), { code: 'MalformedPolicy', message: `Statement 1: Invalid Condition type : ${op} (condition operators are case-sensitive: write ${spelling}).` }, `${op} is refused when written`);
    const identity = JSON.parse(policy) as { Statement: Array<Record<string, unknown>> };
    delete identity.Statement[0]!.Principal;
    t.throws(() => parseIdentityPolicy(identity), { code: 'MalformedPolicy', message: /Invalid Condition type/ }, `${op} in an identity policy too`);
    t.same(parseBucketPolicy(policy, B, true).miscasedOperators, [`Statement 1: ${op} (${spelling})`], `${op} is read from a stored policy, and listed`);
  }
  // A stored one means what its operator names, as earlier versions enforced it.
  const stored = parseBucketPolicy(withOp('stringequals'), B, true);
  const get = (ua?: string): boolean => allowsAnonymous(stored, { action: 's3:GetObject', resource: `${B}/k`, context: new Map(ua === undefined ? [] : [['aws:useragent', ua]]) });
  t.ok(get('ua'), 'stringequals matches as StringEquals');
  t.notOk(get('UA'), 'case-sensitively, as StringEquals');
  t.notOk(get(), 'and not a request without the key');
  // Written as IAM spells them: nothing listed. Keys in any case are taken, as AWS documents.
  t.equal(parseBucketPolicy(withOp('StringEquals'), B, true).miscasedOperators, undefined);
  t.ok(allowsAnonymous(parseBucketPolicy(withOp('StringEquals', 'AWS:USERAGENT'), B), { action: 's3:GetObject', resource: `${B}/k`, context: new Map([['aws:useragent', 'ua']]) }), 'a key in another case is the key');
  // Unknown operators keep their own refusal, stored or not.
  t.throws(() => parseBucketPolicy(withOp('StringEqualz'), B, true), { code: 'MalformedPolicy', message: /is not supported/ });
});

t.test('StringEqualsIgnoreCase and StringNotEqualsIgnoreCase: exact matching ignoring case, as IAM documents them', async (t) => {
  const O = `arn:aws:s3:::${B}/*`;
  const withCond = (Condition: unknown): string => doc(allow('s3:GetObject', O, { Condition }));
  const get = (policy: string, context: Record<string, string> = {}): boolean => ask(policy, 's3:GetObject', `${B}/k`, context);
  const eq = withCond({ StringEqualsIgnoreCase: { 'aws:Referer': ['https://App.Example.com/', 'x'] } });
  t.ok(get(eq, { 'aws:referer': 'https://app.example.COM/' }), 'another casing of a value matches');
  t.notOk(get(eq, { 'aws:referer': 'https://app.example.com/a' }), 'no prefix: the whole value');
  t.notOk(get(withCond({ StringEqualsIgnoreCase: { 'aws:Referer': 'https://*' } }), { 'aws:referer': 'https://a/' }), 'no wildcards: a * is itself');
  t.notOk(get(eq), 'a missing key matches nothing');
  const ne = withCond({ StringNotEqualsIgnoreCase: { 'aws:UserAgent': 'BadBot' } });
  t.notOk(get(ne, { 'aws:useragent': 'badbot' }), 'negated: a casing of the value does not pass');
  t.ok(get(ne, { 'aws:useragent': 'goodbot' }));
  t.ok(get(ne), 'negated: a missing key passes');
  t.ok(get(withCond({ StringEqualsIgnoreCaseIfExists: { 'aws:Referer': 'r' } })), 'IfExists: no key');
  t.notOk(get(withCond({ StringEqualsIgnoreCaseIfExists: { 'aws:Referer': 'r' } }), { 'aws:referer': 's' }));
  // A policy variable's value is compared ignoring case as well.
  const byName = withCond({ StringEqualsIgnoreCase: { 'aws:Referer': 'https://site/${aws:username}' } });
  t.ok(get(byName, { 'aws:referer': 'https://SITE/Alice', 'aws:username': 'alice' }));
  t.notOk(get(byName, { 'aws:referer': 'https://site/alice' }), 'the variable without a value matches nothing');
  // A set key takes the qualifiers; a missing one needs them, as for StringEquals.
  const tagKeys = (op: string): boolean =>
    allowsAnonymous(parseBucketPolicy(doc(allow('s3:PutObject', O, { Condition: { [op]: { 's3:RequestObjectTagKeys': ['Project'] } } })), B), { action: 's3:PutObject', resource: `${B}/k`, context: new Map<string, string | string[]>([['s3:requestobjecttagkeys', ['project', 'owner']]]) });
  t.ok(tagKeys('ForAnyValue:StringEqualsIgnoreCase'));
  t.notOk(tagKeys('ForAllValues:StringEqualsIgnoreCase'));
  t.ok(tagKeys('ForAnyValue:StringNotEqualsIgnoreCase'));
  t.equal(code(() => parseBucketPolicy(doc(allow('s3:PutObject', O, { Condition: { StringEqualsIgnoreCase: { 's3:RequestObjectTagKeys': 'x' } } })), B)), 'MalformedPolicy', 'a set key without a qualifier');
  t.equal(code(() => parseBucketPolicy(withCond({ StringEqualsIgnorecase: { 'aws:Referer': 'x' } }), B)), 'MalformedPolicy', 'spelt as IAM spells it');
  t.equal(code(() => parseBucketPolicy(withCond({ StringEqualsIgnoreCase: { 'aws:CurrentTime': 'x' } }), B)), 'MalformedPolicy', 'not on a date key');
  // The KMS key is judged, not a spelling of it (holdsForKmsKey): ignoring case too.
  const kms = parseBucketPolicy(doc(allow('s3:PutObject', O, { Condition: { StringEqualsIgnoreCase: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:1:key/Tenant-A' } } })), B);
  const put = (sent: string, policy = kms): boolean =>
    allowsAnonymous(policy, { action: 's3:PutObject', resource: `${B}/k`, context: { get: (k) => (k === 's3:x-amz-server-side-encryption-aws-kms-key-id' ? sent : undefined), kmsKey: (s) => ({ name: s.replace(/^alias\//, ''), isDefault: false }) } });
  t.ok(put('tenant-a'), 'the key named by another spelling and casing');
  t.notOk(put('tenant-b'));
  const kmsNot = parseBucketPolicy(doc(allow('s3:PutObject', O, { Condition: { StringNotEqualsIgnoreCase: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'alias/Tenant-A' } } })), B);
  t.notOk(put('TENANT-A', kmsNot), 'negated: the key itself does not pass');
  t.ok(put('tenant-b', kmsNot));
  // Not a fixed value for "public": ANONYMOUS admits unsigned requests.
  t.ok(isPublic(parseBucketPolicy(withCond({ StringEqualsIgnoreCase: { 'aws:userid': 'app-reader' } }), B)), 'pinned only ignoring case: public');
  t.notOk(isPublic(parseBucketPolicy(withCond({ StringEquals: { 'aws:userid': 'app-reader' } }), B)), 'as StringEquals pins it');
});
