// auth/users.ts and identity policies (auth/bucket-policy.ts parseIdentityPolicy/decide) on their
// own: what an S3_IAM_FILE may hold and what it is refused for, the built-in policies, and how
// identity policies decide requests across buckets (Deny over Allow, conditions).
import t from 'tap';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide, parseIdentityPolicy } from '../../../../daemon/auth/bucket-policy.js';
import { IamFileError, iamFileWarnings, loadUsers, parseUsers, type User } from '../../../../daemon/auth/users.js';

const ROOT = 'rootuser';
const file = (o: unknown): string => JSON.stringify(o);
const policy = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });

function refusal(text: string): string {
  try {
    parseUsers(text, ROOT, 'users.json');
    return 'accepted';
  } catch (err) {
    if (!(err instanceof IamFileError)) throw err;
    return err.message;
  }
}

/** What `user`'s policies say (the way ops/policy.ts combines them: any deny wins, then any allow). */
function may(user: User, action: string, resource: string, context: Record<string, string> = {}): boolean {
  let allowed = false;
  for (const p of user.policies) {
    const d = decide(p, { action, resource, context: new Map(Object.entries(context)) });
    if (d === 'deny') return false;
    if (d === 'allow') allowed = true;
  }
  return allowed;
}

t.test('a file with custom and built-in policies', async (t) => {
  const users = parseUsers(
    file({
      policies: {
        'photos-rw': policy({ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::photos', 'arn:aws:s3:::photos/*'] }),
        'no-secret': policy({ Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/secret/*' }),
        'office-only': policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::reports/*', Condition: { IpAddress: { 'aws:SourceIp': '10.1.0.0/16' } } }),
      },
      users: [
        { accessKey: 'app1', secretKey: 'app1-secret', policies: ['photos-rw', 'no-secret'], comment: 'the photo app' },
        { accessKey: 'viewer', secretKey: 'viewer-secret', policies: ['readonly'] },
        { accessKey: 'drop', secretKey: 'drop-secret', policies: ['writeonly', 'office-only'] },
        { accessKey: 'admin2', secretKey: 'admin2-secret', policies: ['readwrite'] },
      ],
    }),
    ROOT,
  );
  t.equal(users.size, 4);
  t.equal(users.get('nobody'), undefined);
  t.equal(users.get(ROOT), undefined, 'the root user is not in the directory');
  const app1 = users.get('app1')!;
  t.equal(app1.secretKey, 'app1-secret');
  t.same(app1.policyNames, ['photos-rw', 'no-secret']);
  t.ok(may(app1, 's3:PutObject', 'photos/a.jpg'));
  t.ok(may(app1, 's3:ListBucket', 'photos'));
  t.ok(may(app1, 's3:DeleteBucket', 'photos'), 's3:* covers bucket actions on the bucket resource');
  t.notOk(may(app1, 's3:GetObject', 'photos/secret/x'), 'a Deny in another of its policies wins');
  t.ok(may(app1, 's3:GetObject', 'photos/public/x'));
  t.notOk(may(app1, 's3:PutObject', 'photos2/a'), 'photos/* is not photos2/*');
  t.notOk(may(app1, 's3:ListAllMyBuckets', '*'));

  const viewer = users.get('viewer')!;
  for (const a of ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging']) t.ok(may(viewer, a, 'any/key'), `readonly: ${a}`);
  for (const a of ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketVersions']) t.ok(may(viewer, a, 'any'), `readonly: ${a}`);
  t.ok(may(viewer, 's3:ListAllMyBuckets', '*'));
  for (const a of ['s3:PutObject', 's3:DeleteObject', 's3:PutObjectTagging', 's3:CreateBucket', 's3:PutBucketPolicy']) t.notOk(may(viewer, a, 'any/key'), `readonly: not ${a}`);

  const drop = users.get('drop')!;
  t.ok(may(drop, 's3:PutObject', 'inbox/a'), 'writeonly: PutObject');
  t.ok(may(drop, 's3:AbortMultipartUpload', 'inbox/a'));
  t.notOk(may(drop, 's3:GetObject', 'inbox/a'), 'writeonly: no reads');
  t.notOk(may(drop, 's3:ListBucket', 'inbox'));
  t.ok(may(drop, 's3:GetObject', 'reports/q3.pdf', { 'aws:sourceip': '10.1.2.3' }), 'a condition that holds');
  t.notOk(may(drop, 's3:GetObject', 'reports/q3.pdf', { 'aws:sourceip': '10.2.0.1' }), 'a condition that does not');

  const admin2 = users.get('admin2')!;
  t.ok(may(admin2, 's3:PutBucketPolicy', 'anything'));
  t.ok(may(admin2, 's3:ListAllMyBuckets', '*'));
});

t.test('a file that is not JSON: the error says where, never the text (it may be a secret key)', async (t) => {
  for (const text of ['{"users": [{"accessKey": "app1", "secretKey": IAMSECRET-abc123}]}', '{"users": [{"accessKey": "app1", "secretKey": "IAMSECRET-abc123" "x"}]}']) {
    const err = (() => {
      try {
        parseUsers(text, ROOT);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    t.match(err?.message, /not valid JSON/);
    t.notMatch(err?.message, /IAMSECRET|abc123/, 'no part of the secret');
  }
});

t.test('what a file is refused for', async (t) => {
  const u = (over: Record<string, unknown>) => ({ accessKey: 'app1', secretKey: 'app1-secret', policies: ['readonly'], ...over });
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"users": [', /not valid JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['unknown top-level field', file({ users: [], roles: [] }), /unknown field "roles"/],
    ['groups that are a list', file({ users: [], groups: [] }), /"groups" must map group names to groups/],
    ['a group with no policies', file({ users: [], groups: { devs: { policies: [] } } }), /groups\.devs: policies must name at least one policy/],
    ['a group naming an unknown policy', file({ users: [], groups: { devs: { policies: ['nope'] } } }), /groups\.devs: no policy named "nope"/],
    ['a group with an unknown field', file({ users: [], groups: { devs: { policies: ['readonly'], members: ['x'] } } }), /unknown field "members"/],
    ['a user in an unknown group', file({ users: [u({ groups: ['devs'] })] }), /no group named "devs"/],
    ['a user with neither policies nor groups', file({ users: [u({ policies: undefined })] }), /needs policies, or groups that have them/],
    ['users missing', file({ policies: {} }), /"users" must be a list/],
    ['unknown user field', file({ users: [u({ enabled: true })] }), /unknown field "enabled"/],
    ['short access key', file({ users: [u({ accessKey: 'ab' })] }), /accessKey must be/],
    ['access key with a space', file({ users: [u({ accessKey: 'a b c' })] }), /accessKey must be/],
    // The Authorization header's components are split on ',': such a user could never sign (MinIO refuses ',' too).
    ['access key with a comma', file({ users: [u({ accessKey: 'app,one' })] }), /users\[0\]: accessKey "app,…" has a ','/],
    ['access key of the root user', file({ users: [u({ accessKey: ROOT })] }), /is the root user/],
    ['duplicate access key', file({ users: [u({}), u({})] }), /appears twice/],
    ['the access key "anonymous" (aws:userid of unsigned requests)', file({ users: [u({ accessKey: 'Anonymous' })] }), /what policies call an unsigned request/],
    ['tags that are no object', file({ users: [u({ tags: ['team'] })] }), /tags must map tag keys to string values/],
    ['a tag value that is no string', file({ users: [u({ tags: { team: 1 } })] }), /tags must map tag keys to string values/],
    ['a tag key with the aws: prefix', file({ users: [u({ tags: { 'aws:team': 'x' } })] }), /the aws: prefix is reserved/],
    ['a tag key twice, in two cases', file({ users: [u({ tags: { Team: 'a', team: 'b' } })] }), /appears twice \(tag keys are compared without case\)/],
    ['an empty tag key', file({ users: [u({ tags: { '': 'x' } })] }), /must be 1–128/],
    ['a tag key of 129 characters', file({ users: [u({ tags: { ['k'.repeat(129)]: 'x' } })] }), /must be 1–128/],
    ['a tag value of 257 characters', file({ users: [u({ tags: { k: 'v'.repeat(257) } })] }), /at most 256/],
    ['a tag value with a character IAM does not take', file({ users: [u({ tags: { k: 'a;b' } })] }), /at most 256/],
    ['51 tags', file({ users: [u({ tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) })] }), /at most 50 tags/],
    ['a name repeated in a user', '{"users": [{"accessKey": "app1", "secretKey": "app1-secret", "policies": ["readwrite"], "policies": ["readonly"]}]}', /"policies" appears twice in one object \(users\[0\]\)/],
    ['a name repeated in a policy', '{"policies": {"p": {"Statement": [{"Effect": "Deny", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}]}}, "users": []}', /"Effect" appears twice in one object \(policies\.p\.Statement\[0\]\)/],
    ['short secret', file({ users: [u({ secretKey: 'short' })] }), /secretKey must be 8–256/],
    ['secret not a string', file({ users: [u({ secretKey: 12345678 })] }), /secretKey must be/],
    ['no policies', file({ users: [u({ policies: [] })] }), /needs policies, or groups that have them/],
    ['policies that are no list', file({ users: [u({ policies: 'readonly' })] }), /policies must be a list of names/],
    ['unknown policy', file({ users: [u({ policies: ['readonly', 'nope'] })] }), /no policy named "nope"/],
    ['a built-in redefined', file({ policies: { readwrite: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*' }) }, users: [] }), /built-in policy/],
    ['a bad policy name', file({ policies: { 'a b': policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*' }) }, users: [] }), /policy name/],
    ['a Principal', file({ policies: { p: policy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*' }) }, users: [] }), /no Principal/],
    ['Action and NotAction', file({ policies: { p: policy({ Effect: 'Allow', Action: 's3:PutObject', NotAction: 's3:GetObject', Resource: 'arn:aws:s3:::*' }) }, users: [] }), /Action and NotAction cannot both be given/],
    ['a non-S3 resource', file({ policies: { p: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:iam:::user/x' }) }, users: [] }), /invalid resource/],
    ['an empty resource', file({ policies: { p: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::' }) }, users: [] }), /invalid resource/],
    ['an unknown condition key', file({ policies: { p: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-1' } } }) }, users: [] }), /condition key/],
  ];
  for (const [what, text, want] of cases) t.match(refusal(text), want, what);
  t.match(refusal(file({ users: [u({ accessKey: 'ab' })] })), /^users\.json: users\[0\]/, 'the message names the file and the entry');
  t.equal(refusal(file({ users: [] })), 'accepted', 'no users at all is a valid file');
});

// An operator who swapped the accessKey and secretKey fields has the secret in "accessKey": no
// message about the entry may print it (they reach the journal), only the entry's index and a
// short prefix of the access key.
t.test('refusals never print a whole access key (it may be a secret in the wrong field)', async (t) => {
  const secret = 'wJalrXUtnFEMI0K7MDENGbPxRfiCYEXAMPLEKEY';
  const swapped = (over: Record<string, unknown>) => ({ accessKey: secret, secretKey: 'AKIAIOSFODNN7EXAMPLE', policies: ['readonly'], ...over });
  const cases: Array<[string, string, RegExp]> = [
    ['an unknown policy', file({ users: [swapped({ policies: ['nope'] })] }), /users\[0\] \(accessKey "wJal…"\): no policy named "nope"/],
    ['an unknown group', file({ users: [swapped({ groups: ['devs'] })] }), /users\[0\] \(accessKey "wJal…"\): no group named "devs"/],
    ['no policies', file({ users: [swapped({ policies: [] })] }), /users\[0\] \(accessKey "wJal…"\): a user needs policies/],
    ['policies no list', file({ users: [swapped({ policies: 'readonly' })] }), /users\[0\] \(accessKey "wJal…"\): policies must be a list/],
    ['bad tags', file({ users: [swapped({ tags: { 'aws:x': 'y' } })] }), /users\[0\] \(accessKey "wJal…"\): tags: /],
    ['a short secret (the access key it was)', file({ users: [swapped({ secretKey: 'AKIA' })] }), /users\[0\] \(accessKey "wJal…"\): secretKey must be 8/],
    ['the same key twice', file({ users: [swapped({}), swapped({})] }), /users\[1\]: accessKey "wJal…" appears twice \(users\[0\] has it too\)/],
    ['a comma', file({ users: [swapped({ accessKey: `${secret},x` })] }), /users\[0\]: accessKey "wJal…" has a ','/],
  ];
  for (const [what, text, want] of cases) {
    const m = refusal(text);
    t.match(m, want, what);
    t.notOk(m.includes(secret.slice(0, 8)), `${what}: the message holds no more than 4 characters of the key`);
  }
});

t.test('identity policies: resources in any bucket, wildcards in bucket names', async (t) => {
  const p = parseIdentityPolicy(policy({ Effect: 'Allow', Action: ['s3:Get*', 's3:ListBucket'], Resource: ['arn:aws:s3:::logs-*', 'arn:aws:s3:::logs-*/*'] }));
  const d = (action: string, resource: string) => decide(p, { action, resource, context: new Map() });
  t.equal(d('s3:GetObject', 'logs-2026/a'), 'allow');
  t.equal(d('s3:GetObjectTagging', 'logs-x/a/b'), 'allow');
  t.equal(d('s3:ListBucket', 'logs-x'), 'allow');
  t.equal(d('s3:PutObject', 'logs-x/a'), 'none');
  t.equal(d('s3:GetObject', 'other/a'), 'none');
  const deny = parseIdentityPolicy(policy({ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::*' }, { Effect: 'Deny', Action: 's3:Delete*', Resource: 'arn:aws:s3:::*' }));
  t.equal(decide(deny, { action: 's3:DeleteObject', resource: 'b/k', context: new Map() }), 'deny');
  t.equal(decide(deny, { action: 's3:PutObject', resource: 'b/k', context: new Map() }), 'allow');
});

t.test('loadUsers reads the file and warns when everyone can read it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-users-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'users.json');
  writeFileSync(path, file({ users: [{ accessKey: 'app1', secretKey: 'app1-secret', policies: ['readonly'] }] }), { mode: 0o600 });
  chmodSync(path, 0o600);
  const quiet = loadUsers(path, ROOT);
  t.equal(quiet.users.size, 1);
  t.same(quiet.warnings, [], 'mode 0600: no warning');
  chmodSync(path, 0o640);
  t.same(loadUsers(path, ROOT).warnings, [], 'mode 0640 (the service group): no warning');
  chmodSync(path, 0o644);
  t.match(loadUsers(path, ROOT).warnings, [/readable by every user \(mode 644\)/]);
  // Writable by every user: anyone on the host could add a user with readwrite (at the next
  // reload). Said so, and not as "readable" when it is not (mode 0602 was warned of as readable).
  chmodSync(path, 0o602);
  const writable = loadUsers(path, ROOT).warnings;
  t.equal(writable.length, 1, 'mode 0602: one warning');
  t.match(writable[0], /writable by every user \(mode 602\)/, 'that it is writable');
  t.notMatch(writable[0], /readable/, 'not that it is readable');
  chmodSync(path, 0o666);
  t.match(loadUsers(path, ROOT).warnings, [/readable by every user \(mode 666\)/, /writable by every user \(mode 666\)/], 'mode 0666: both');
  chmodSync(path, 0o601);
  t.same(loadUsers(path, ROOT).warnings, [], 'mode 0601 (executable by others only): no warning');
  t.throws(() => loadUsers(join(dir, 'missing.json'), ROOT), /missing\.json: cannot be read \(ENOENT\)/);
  // Writable by its group: every member could add a user with readwrite too (0640 root:s3d is
  // the advice; 0660 let the group write it, unwarned).
  chmodSync(path, 0o660);
  const group = loadUsers(path, ROOT).warnings;
  t.equal(group.length, 1, 'mode 0660: one warning');
  t.match(group[0], /writable by its group \(mode 660\)/, 'that its group can write it');
  chmodSync(path, 0o620);
  t.match(loadUsers(path, ROOT).warnings, [/writable by its group \(mode 620\)/], 'mode 0620 too');
  // Owned by another user than root or the service's: its owner may rewrite it whatever its mode.
  chmodSync(path, 0o600);
  if (process.geteuid?.() === 0) {
    chownSync(path, 65534, 0);
    t.match(loadUsers(path, ROOT).warnings, [/owned by uid 65534/], 'owned by another user (nobody): warned');
    chownSync(path, 0, 0);
    t.same(loadUsers(path, ROOT).warnings, [], 'owned by root: no warning');
  }
});

t.test('iamFileWarnings: who else may read or change the users file', async (t) => {
  const service = 990;
  t.same(iamFileWarnings('f', { mode: 0o600, uid: service }, service), [], "0600 owned by the service's user");
  t.same(iamFileWarnings('f', { mode: 0o640, uid: 0 }, service), [], '0640 owned by root');
  t.match(iamFileWarnings('f', { mode: 0o600, uid: 1000 }, service), [/f is owned by uid 1000, neither root nor the user s3d runs as \(uid 990\)/]);
  t.match(iamFileWarnings('f', { mode: 0o640, uid: 1000 }, 0), [/owned by uid 1000/], 's3d running as root: another owner still warned');
  t.match(iamFileWarnings('f', { mode: 0o670, uid: 0 }, service), [/writable by its group \(mode 670\)/]);
  t.same(iamFileWarnings('f', { mode: 0o600, uid: 1000 }, undefined), [], 'no euid (not POSIX): ownership not judged');
});

t.test('user tags: kept by lower-case key with their case, for aws:PrincipalTag/<key>', async (t) => {
  const users = parseUsers(file({ users: [{ accessKey: 'tagged', secretKey: 'tagged-secret', policies: ['readonly'], tags: { Team: 'blue', 'cost center': 'R-D 1', empty: '' } }] }), ROOT);
  t.same(
    [...(users.get('tagged')!.tags ?? [])],
    [['team', { key: 'Team', value: 'blue' }], ['cost center', { key: 'cost center', value: 'R-D 1' }], ['empty', { key: 'empty', value: '' }]],
    'letters, spaces, empty values',
  );
  t.equal(users.get('tagged')!.tags?.get('team')?.value, 'blue');
});

t.test('groups: a user has its own policies and its groups\u2019, each once', async (t) => {
  const users = parseUsers(
    file({
      policies: { 'dev-rw': policy({ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::dev/*' }) },
      groups: { devs: { policies: ['dev-rw', 'readonly'], comment: 'developers' }, readers: { policies: ['readonly'] } },
      users: [
        { accessKey: 'dev1', secretKey: 'dev1-secret', groups: ['devs', 'readers'] },
        { accessKey: 'dev2', secretKey: 'dev2-secret', policies: ['writeonly'], groups: ['devs'] },
      ],
    }),
    ROOT,
  );
  t.same(users.get('dev1')!.policyNames, ['dev-rw', 'readonly'], 'the groups\u2019 policies, readonly once');
  t.same(users.get('dev2')!.policyNames, ['writeonly', 'dev-rw', 'readonly'], 'its own first');
  t.ok(may(users.get('dev1')!, 's3:PutObject', 'dev/a'), 'a group\u2019s policy applies');
  t.notOk(may(users.get('dev1')!, 's3:PutObject', 'prod/a'));
});

// Earlier versions took an IPv4-mapped aws:SourceIp range shorter than /96 (`::ffff:10.0.0.0/8`,
// as 10.0.0.0/8); this one refuses it. A users file written for them stopped the daemon starting
// (and a reload failing) after an upgrade; it is now read as a stored bucket policy with such a
// range is (s3-policy-stored-ranges.test.ts): the condition allows nothing, a Deny on it keeps
// denying, and loading warns. Any other bad range is still refused.
t.test('a policy with an IPv4-mapped range shorter than /96 is read, failing closed, with a warning', async (t) => {
  const OLD = '::ffff:10.0.0.0/8';
  const ip = (op: string, Effect: string, cidr: string | string[], key: string) => policy({ Effect, Action: 's3:GetObject', Resource: `arn:aws:s3:::b/${key}`, Condition: { [op]: { 'aws:SourceIp': cidr } } });
  const dir = mkdtempSync(join(tmpdir(), 's3d-users-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'users.json');
  writeFileSync(
    path,
    file({
      policies: {
        'only-old': ip('IpAddress', 'Allow', OLD, 'only-old'),
        mixed: ip('IpAddress', 'Allow', [OLD, '10.1.0.0/16'], 'mixed'),
        open: policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }),
        'deny-in': ip('IpAddress', 'Deny', '::ffff:0:0/80', 'denied'),
        'deny-out': ip('NotIpAddress', 'Deny', OLD, 'not-denied'),
      },
      users: [{ accessKey: 'app1', secretKey: 'app1-secret', policies: ['only-old', 'mixed', 'open', 'deny-in', 'deny-out'] }],
    }),
    { mode: 0o600 },
  );
  const { users, warnings } = loadUsers(path, ROOT);
  const app1 = users.get('app1')!;
  const from = { 'aws:sourceip': '10.1.2.3' };
  t.notOk(decide(app1.policies[0]!, { action: 's3:GetObject', resource: 'b/only-old', context: new Map(Object.entries(from)) }) === 'allow', 'an Allow only on the range allows nothing');
  t.equal(decide(app1.policies[1]!, { action: 's3:GetObject', resource: 'b/mixed', context: new Map(Object.entries(from)) }), 'allow', 'an Allow on it and a good range allows from the good one');
  t.ok(may(app1, 's3:GetObject', 'b/open', from), 'a policy without the range allows as before');
  t.notOk(may(app1, 's3:GetObject', 'b/denied', from), 'a Deny IpAddress on the range keeps denying');
  t.notOk(may(app1, 's3:GetObject', 'b/not-denied', from), 'a Deny NotIpAddress on the range keeps denying');
  t.equal(warnings.length, 4, 'one warning per policy with such a range');
  t.match(warnings[0], /users\.json: policy "only-old" names aws:SourceIp ranges this version does not take \(::ffff:10\.0\.0\.0\/8: /);
  t.match(warnings[2], /policy "deny-in" .*\(::ffff:0:0\/80: /);
  for (const bad of ['10.0.0.0/', '::1/129', '300.0.0.1', '::ffff:10.0.0.0/8/1']) {
    t.match(refusal(file({ policies: { p: ip('IpAddress', 'Allow', [OLD, bad], 'x') }, users: [] })), /policy "p": .*is not an IP address or CIDR range/, `${bad} beside it is still refused`);
  }
});

// docs/operations.md: users' policies "follow the same rules" as bucket policies. A Sid nested 40
// deep or of another type than a string was read without a word (PutBucketPolicy refuses both).
t.test('users\u2019 policies follow the bucket policies\u2019 grammar: Sid a string, nesting at most 32 deep', async (t) => {
  const sid = (Sid: unknown, extra: Record<string, unknown> = {}) =>
    file({ policies: { p: policy({ Sid, Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', ...extra }) }, users: [{ accessKey: 'app1', secretKey: 'app1-secret', policies: ['p'] }] });
  const deep = JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown;
  t.match(refusal(sid(deep)), /policy "p": The policy nests objects and lists more than 32 deep/, 'a Sid nested 40 deep');
  t.match(refusal(sid(7)), /policy "p": Statement 1: Sid must be a string/, 'a Sid that is a number');
  t.match(refusal(sid([[1]])), /policy "p": Statement 1: Sid must be a string/, 'a Sid that is a list');
  // The leniency for old IP ranges (read as a stored policy is) takes nothing else with it.
  t.match(refusal(sid(7, { Condition: { IpAddress: { 'aws:SourceIp': '::ffff:10.0.0.0/8' } } })), /policy "p": /, 'a bad Sid beside an old range');
  // Nor does the leniency for an operator that names no key (s3-policy-empty-conditions.test.ts).
  t.match(refusal(sid(7, { Condition: { StringEquals: {} } })), /policy "p": Statement 1: Sid must be a string/, 'a bad Sid beside an operator naming no key');
  t.match(refusal(sid('S', { Condition: { StringEquals: {}, IpAddress: { 'aws:SourceIp': '10.0.0.0/' } } })), /policy "p": Statement 1: StringEquals names no condition key/, 'a bad range beside one (the strict reading\u2019s refusal)');
  t.match(refusal(sid('S', { Condition: { StringEquals: {}, StringLike: { 'aws:SourceIp': [] } } })), /policy "p": Statement 1: StringEquals names no condition key/, 'an empty list of values beside one');
  t.equal(refusal(sid('ReadB')), 'accepted', 'a string Sid');
});
