// auth/sts.ts on its own: session tokens open only under the key that sealed them, unaltered,
// before their expiry and while their user exists; the user a session acts as.
import t from 'tap';
import { SessionTokens, withSessions } from '../../../../daemon/auth/sts.js';
import { parseIdentityPolicy } from '../../../../daemon/auth/bucket-policy.js';
import type { User, UserDirectory } from '../../../../daemon/auth/users.js';
import { thrownCode as code } from '../../../helpers/errors.js';

const policy = parseIdentityPolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] });
const alice: User = { accessKey: 'alice', secretKey: 'alice-secret', policyNames: ['all'], policies: [policy] };
let dir: UserDirectory = { get: (k) => (k === 'alice' ? alice : undefined), size: 1 };
const tokens = new SessionTokens('root-secret', () => dir);

t.test('issue and open', async (t) => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  const s = tokens.issue('alice', 900, now, { policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}' });
  const opened = tokens.open(s.sessionToken, now + 1000);
  t.equal(opened.accessKeyId, s.accessKeyId);
  t.equal(opened.secretKey, s.secretKey);
  t.equal(opened.parent, 'alice');
  t.equal(opened.expiresAt, now + 900_000);
  t.equal(code(() => tokens.open(s.sessionToken, now + 899_999)), 'ok', 'valid up to its expiry');
  t.equal(code(() => tokens.open(s.sessionToken, now + 900_000)), 'ExpiredToken', 'expired at it');
  t.equal(code(() => new SessionTokens('another-root-secret', () => dir).open(s.sessionToken, now)), 'InvalidToken', 'another root secret');
  const bytes = Buffer.from(s.sessionToken, 'base64url');
  for (const at of [0, 5, 20, bytes.length - 1]) {
    const bad = Buffer.from(bytes);
    bad[at]! ^= 1;
    t.equal(code(() => tokens.open(bad.toString('base64url'), now)), 'InvalidToken', `a bit flipped at byte ${at}`);
  }
  t.equal(code(() => tokens.open('', now)), 'InvalidToken', 'empty');
  t.equal(code(() => tokens.open('not base64url!', now)), 'InvalidToken', 'not base64url');
  t.equal(code(() => tokens.open(s.sessionToken.slice(0, 30), now)), 'InvalidToken', 'cut short');
  t.not(tokens.issue('alice', 900, now).accessKeyId, s.accessKeyId, 'every session its own key');
});

t.test('the user a session acts as: its parent\u2019s policies and the session policy; gone with the parent', async (t) => {
  const now = Date.now();
  const s = tokens.issue('alice', 900, now, { policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}' });
  const users = withSessions(() => dir, tokens);
  t.equal(users().get(s.accessKeyId), undefined, 'unknown before its token was opened');
  tokens.open(s.sessionToken, now);
  const u = users().get(s.accessKeyId);
  t.equal(u?.session?.parent, 'alice');
  t.equal(u?.policies, alice.policies, 'the parent\u2019s policies');
  t.ok(u?.session?.policy, 'and the session policy');
  t.equal(u?.secretKey, '', 'no secret: authentication never reads one from here');
  t.equal(users().get('alice'), alice, 'users stay themselves');
  dir = { get: () => undefined, size: 0 };
  t.equal(users().get(s.accessKeyId), undefined, 'the parent removed: no user');
  t.equal(code(() => tokens.open(s.sessionToken, now)), 'InvalidToken', 'and the token is refused');
  dir = { get: (k) => (k === 'alice' ? alice : undefined), size: 1 };
  const expired = tokens.issue('alice', 900, now - 900_000 - 1);
  t.equal(code(() => tokens.open(expired.sessionToken, now)), 'ExpiredToken');
  t.equal(users().get(expired.accessKeyId), undefined, 'an expired session is no user');
});
