// auth/sts.ts on its own: session tokens open only under the key that sealed them, unaltered,
// before their expiry and while their user exists; the user a session acts as.
import t from 'tap';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scryptSync } from 'node:crypto';
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

/** A token's session, opened by hand under `key` (the test's own AES-GCM, not sts.ts's). */
function openWith(key: Buffer, aad: string, token: string): Record<string, unknown> | undefined {
  const raw = Buffer.from(token, 'base64url');
  try {
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(1, 13));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(raw.subarray(raw.length - 16));
    return JSON.parse(Buffer.concat([d.update(raw.subarray(13, raw.length - 16)), d.final()]).toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

t.test('the token key is scrypt of the root secret, not a fast derivation a token holder could test guesses against', async (t) => {
  const now = Date.now();
  const s = new SessionTokens('root-secret', () => dir).issue('alice', 900, now);
  const raw = Buffer.from(s.sessionToken, 'base64url');
  t.equal(raw[0], 2, 'version 2');
  const hkdf = Buffer.from(hkdfSync('sha256', 'root-secret', 's3d session tokens', 'AES-256-GCM key', 32));
  t.equal(openWith(hkdf, 's3d session token v1', s.sessionToken), undefined, 'not sealed under the HKDF key');
  t.equal(openWith(hkdf, 's3d session token v2', s.sessionToken), undefined);
  // The parameters written out here, not imported: a cheaper setting must fail this test.
  const slow = scryptSync('root-secret', 's3d session tokens v2', 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  t.equal(openWith(slow, 's3d session token v2', s.sessionToken)?.['secretKey'], s.secretKey, 'sealed under scrypt (N 2^14, r 8, p 1)');
});

t.test('a version 1 token (HKDF key, issued before 2026-12-05) still opens until it expires', async (t) => {
  const now = Date.now();
  const session = { accessKeyId: 'ASIAOLDTOKEN00000000', secretKey: 'old-secret', parent: 'alice', expiresAt: now + 60_000 };
  const key = Buffer.from(hkdfSync('sha256', 'root-secret', 's3d session tokens', 'AES-256-GCM key', 32));
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from('s3d session token v1'));
  const sealed = Buffer.concat([c.update(JSON.stringify(session), 'utf8'), c.final()]);
  const token = Buffer.concat([Buffer.from([1]), nonce, sealed, c.getAuthTag()]).toString('base64url');
  t.equal(tokens.open(token, now).secretKey, 'old-secret');
  t.equal(code(() => new SessionTokens('another-root-secret', () => dir).open(token, now)), 'InvalidToken', 'under its own root secret only');
  const v3 = Buffer.from(token, 'base64url');
  v3[0] = 3;
  t.equal(code(() => tokens.open(v3.toString('base64url'), now)), 'InvalidToken', 'an unknown version');
  const v2 = Buffer.from(token, 'base64url');
  v2[0] = 2;
  t.equal(code(() => tokens.open(v2.toString('base64url'), now)), 'InvalidToken', 'a version 1 body under version 2\u2019s key');
});

// AssumeRole holds a session policy to the grammar of what is written (a Sid is a string, nesting
// at most 32 deep); a token an earlier version issued, whose policy that version took, still opens
// with its policy until it expires (its Sid, which nothing reads, means nothing either way).
t.test('a token whose session policy an earlier version took (a Sid of another type, nested deep) still opens', async (t) => {
  const now = Date.now();
  for (const Sid of [5, JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown]) {
    const s = tokens.issue('alice', 900, now, { policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid, Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] }) });
    t.equal(code(() => tokens.open(s.sessionToken, now)), 'ok', `Sid ${JSON.stringify(Sid).slice(0, 12)}`);
    t.ok(withSessions(() => dir, tokens)().get(s.accessKeyId)?.session?.policy, 'with its session policy');
  }
});
