// Temporary credentials (STS AssumeRole, ops/sts.ts hands them out): an access key, a secret key
// and a session token, for a user of S3_IAM_FILE (never the root user, as on AWS), valid until
// their expiry. The token carries the session itself, sealed with AES-256-GCM under a key derived
// from the root user's secret with scrypt (a token is ciphertext under that key, which every user
// allowed AssumeRole gets: a cheap derivation would let them test guesses of the root secret
// offline at millions a second; scrypt makes each guess cost ~50 ms and 16 MiB): nothing is stored, every s3d with the same root secret accepts it
// (also after a restart), and changing the root secret revokes every session. A session acts for
// its user with the user's policies as they stand (a user removed from the file at a reload takes
// its sessions with it), limited further by the session policy given to AssumeRole, if any.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomInt, scryptSync } from 'node:crypto';
import { S3Error } from '../errors.js';
import { parseIdentityPolicy, type BucketPolicy } from './bucket-policy.js';
import type { User, UserDirectory } from './users.js';

/** What a session token holds. */
export interface Session {
  accessKeyId: string;
  secretKey: string;
  /** The user (access key) whose credentials asked for it. */
  parent: string;
  /** Milliseconds since 1970. */
  expiresAt: number;
  /** The session policy (JSON), which limits what the parent's policies allow. */
  policy?: string;
  /** Session tags (AssumeRole's Tags): aws:PrincipalTag/<key>, over the parent's tags of the same key. */
  tags?: Array<[string, string]>;
  /** AssumeRole's RoleSessionName, for GetCallerIdentity (absent in tokens issued before 2026-12-05). */
  name?: string;
  /** When it was issued, ms since 1970, whole seconds (absent in tokens issued before 2026-12-05). */
  issuedAt?: number;
}

/**
 * The longest session AssumeRole gives (DurationSeconds). A token without its issue time was issued
 * no earlier than this before its expiry, which aws:TokenIssueTime then says (a revocation by
 * issue time catches it).
 */
export const LONGEST_SESSION_S = 7 * 24 * 3600;

/** What AssumeRole asked for besides its user and duration. */
export interface SessionOptions {
  policy?: string | undefined;
  tags?: Array<[string, string]> | undefined;
  name?: string | undefined;
}

/** Sessions s3d has seen a valid token of, by access key, for the policy checks after authentication. */
interface Known {
  parent: string;
  expiresAt: number;
  policy: BucketPolicy | undefined;
  tags: Array<[string, string]> | undefined;
  name: string | undefined;
  issuedAt: number;
}

/**
 * Tokens are issued as version 2 (scrypt key). Version 1 (an HKDF key, issued before 2026-12-05)
 * still opens until its sessions expire: refusing them would end sessions at an upgrade, and
 * accepting them gives a guesser nothing new (it can no longer obtain one).
 */
const VERSION = 2;
const VERSION_HKDF = 1;
const AAD: Record<number, Buffer> = { [VERSION_HKDF]: Buffer.from('s3d session token v1'), [VERSION]: Buffer.from('s3d session token v2') };
/** scrypt's cost: N 2^14, r 8, p 1 (16 MiB, ~50 ms here), once per process, on first use. */
export const TOKEN_KEY_SCRYPT = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
export const TOKEN_KEY_SALT = 's3d session tokens v2';
/**
 * At most this many sessions are remembered between authentication and the policy checks of a
 * request (least recently used forgotten first; a request's checks after its body, such as
 * DeleteObjects' per key, need its session to stay among them meanwhile).
 */
const MAX_KNOWN = 10_000;
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function randomText(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function invalid(why: string): S3Error {
  return new S3Error('InvalidToken', `The provided token is malformed or otherwise invalid: ${why}.`);
}

/**
 * A token's session policy, read by this version's grammar. AssumeRole checked it, but under the
 * grammar of the version that issued the token (tokens outlive upgrades, up to 7 days), and policy
 * grammars tighten (an element beside Statement, a condition key an action lacks): one that no
 * longer reads cannot be enforced, and dropping it would widen the session, so the token is
 * refused as one s3d cannot use (InvalidToken; a new AssumeRole gives a session that works), not
 * with MalformedPolicy, an error about a policy the request did not send.
 */
function sessionPolicy(session: Session): BucketPolicy | undefined {
  if (session.policy === undefined) return undefined;
  try {
    return parseIdentityPolicy(JSON.parse(session.policy), true);
  } catch (err) {
    throw invalid(`its session policy does not read in this version of s3d (${(err as Error).message.replace(/\.$/, '')}); assume the role again`);
  }
}

export class SessionTokens {
  /** By token version, derived on first use: a daemon nobody asks for sessions never pays scrypt. */
  private readonly keys = new Map<number, Buffer>();
  private readonly known = new Map<string, Known>();

  /** `rootSecret` keys the tokens; `users` is the current user directory (re-read on reload). */
  constructor(
    private readonly rootSecret: string,
    private readonly users: () => UserDirectory,
  ) {}

  private key(version: number): Buffer {
    let key = this.keys.get(version);
    if (key === undefined) {
      key =
        version === VERSION
          ? scryptSync(this.rootSecret, TOKEN_KEY_SALT, 32, TOKEN_KEY_SCRYPT)
          : Buffer.from(hkdfSync('sha256', this.rootSecret, 's3d session tokens', 'AES-256-GCM key', 32));
      this.keys.set(version, key);
    }
    return key;
  }

  /** New credentials for `parent`, valid for `seconds`. */
  issue(parent: string, seconds: number, now: number, { policy, tags, name }: SessionOptions = {}): Session & { sessionToken: string } {
    const session: Session = {
      // AWS's temporary keys start with ASIA; 20 characters, as theirs.
      accessKeyId: `ASIA${randomText(KEY_ALPHABET, 16)}`,
      secretKey: randomText(SECRET_ALPHABET, 40),
      parent,
      expiresAt: Math.floor(now / 1000) * 1000 + seconds * 1000,
      issuedAt: Math.floor(now / 1000) * 1000,
      ...(policy !== undefined ? { policy } : {}),
      ...(tags !== undefined && tags.length > 0 ? { tags } : {}),
      ...(name !== undefined ? { name } : {}),
    };
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(VERSION), nonce);
    cipher.setAAD(AAD[VERSION]!);
    const sealed = Buffer.concat([cipher.update(JSON.stringify(session), 'utf8'), cipher.final()]);
    const token = Buffer.concat([Buffer.from([VERSION]), nonce, sealed, cipher.getAuthTag()]).toString('base64url');
    return { ...session, sessionToken: token };
  }

  /**
   * The session a token holds, when it is one this key sealed, not expired, and its user still
   * exists; remembered for the policy checks of the request (`user`). Throws InvalidToken or
   * ExpiredToken.
   */
  open(token: string, now: number): Session {
    const raw = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url') : Buffer.alloc(0);
    if (raw.length < 1 + 12 + 16 + 2 || (raw[0] !== VERSION && raw[0] !== VERSION_HKDF)) throw invalid('not a session token of this server');
    let session: Session;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key(raw[0]!), raw.subarray(1, 13));
      decipher.setAAD(AAD[raw[0]!]!);
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      session = JSON.parse(Buffer.concat([decipher.update(raw.subarray(13, raw.length - 16)), decipher.final()]).toString('utf8')) as Session;
    } catch {
      // Another server's (another root secret), or altered.
      throw invalid('not a session token of this server');
    }
    if (session.expiresAt <= now) throw new S3Error('ExpiredToken', 'The provided token has expired.');
    if (this.users().get(session.parent) === undefined) throw invalid('the user it was issued to no longer exists');
    const known = this.known.get(session.accessKeyId);
    const policy = known !== undefined && known.expiresAt === session.expiresAt ? known.policy : sessionPolicy(session);
    // Most recently used last: the sessions in use stay when the oldest are forgotten.
    this.known.delete(session.accessKeyId);
    if (this.known.size >= MAX_KNOWN) this.known.delete(this.known.keys().next().value!);
    this.known.set(
      session.accessKeyId,
      known !== undefined && known.expiresAt === session.expiresAt
        ? known
        : {
            parent: session.parent,
            expiresAt: session.expiresAt,
            policy,
            tags: session.tags,
            name: session.name,
            issuedAt: session.issuedAt ?? session.expiresAt - LONGEST_SESSION_S * 1000,
          },
    );
    return session;
  }

  /**
   * The user a session access key acts as (its token was opened for this request): the parent's
   * policies, the session policy beside them. Undefined for a key no valid token was seen for.
   */
  user(accessKeyId: string): User | undefined {
    const known = this.known.get(accessKeyId);
    if (known === undefined) return undefined;
    if (known.expiresAt <= Date.now()) {
      this.known.delete(accessKeyId);
      return undefined;
    }
    const parent = this.users().get(known.parent);
    if (parent === undefined) return undefined;
    // The session's tags over its user's of the same key (AWS's rule for session tags).
    const tags = new Map(parent.tags ?? []);
    for (const [key, value] of known.tags ?? []) tags.set(key.toLowerCase(), { key, value });
    return { accessKey: accessKeyId, secretKey: '', policyNames: parent.policyNames, policies: parent.policies, session: { parent: known.parent, policy: known.policy, name: known.name, issuedAt: known.issuedAt }, ...(tags.size > 0 ? { tags } : {}) };
  }
}

/** The user directory with the sessions' access keys in it (for the policy checks). */
export function withSessions(users: () => UserDirectory, sessions: SessionTokens): () => UserDirectory {
  return () => {
    const dir = users();
    return { get: (accessKey) => dir.get(accessKey) ?? sessions.user(accessKey), size: dir.size };
  };
}
