// Access keys besides the root user, from the JSON file S3_IAM_FILE names:
//
//   { "policies": { "<name>": <IAM policy document>, … },
//     "groups": { "<name>": { "policies": ["<name>", …] }, … },
//     "users": [ { "accessKey": "…", "secretKey": "…", "policies": ["<name>", …], "groups": ["<name>", …], "tags": { "<key>": "<value>" } }, … ] }
//
// Each user may do what one of its policies allows and none denies (bucket policies can also
// allow or deny, see ops/policy.ts). Besides the file's own policies, the canned `readwrite`,
// `readonly` and `writeonly` exist. The file is read at start-up and on SIGHUP; a file that does
// not parse or check is refused whole (at start-up the daemon exits; on reload the previous users
// stay). At a reload it is read, parsed and checked in steps, a turn of the event loop each
// (loadUsersInTurns): 50,000 users in one go held every request back ~0.3 s. Checking is strict:
// an unknown field, a duplicate or malformed key, an unknown policy name or a policy s3d would not
// enforce exactly is an error, never ignored (the exceptions: an aws:SourceIp range earlier
// versions took and a condition operator that names no key, read as a stored bucket policy is,
// failing closed, and a condition operator in another case than IAM's, read as before: see
// storedFormPolicy).

import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { checkWrittenPolicy, parseIdentityPolicy, type BucketPolicy } from './bucket-policy.js';
import { inOneGo, outlineJson, parseJsonInSteps } from './json-keys.js';
import { isShortMappedRange } from '../ip-ranges.js';

export interface User {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly policyNames: readonly string[];
  readonly policies: readonly BucketPolicy[];
  /**
   * Temporary credentials (auth/sts.ts): the user (`parent`) they act for, whose policies
   * `policies` are, and the session policy that limits them further.
   */
  readonly session?: { readonly parent: string; readonly policy: BucketPolicy | undefined; readonly name?: string | undefined; readonly issuedAt?: number };
  /** The user's tags (aws:PrincipalTag/<key>), by lower-case key; a session's own tags over its user's. */
  readonly tags?: ReadonlyMap<string, { key: string; value: string }>;
}

export interface UserDirectory {
  get(accessKey: string): User | undefined;
  readonly size: number;
}

export const NO_USERS: UserDirectory = { get: () => undefined, size: 0 };

const ALL = 'arn:aws:s3:::*';

/** Policies every file can name (MinIO's names; `readonly` also lists, as users expect). */
export const CANNED_POLICIES: Readonly<Record<string, unknown>> = {
  readwrite: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: [ALL] }] },
  readonly: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          's3:ListAllMyBuckets',
          's3:GetBucketLocation',
          's3:ListBucket',
          's3:ListBucketVersions',
          's3:GetObject',
          's3:GetObjectVersion',
          's3:GetObjectTagging',
          's3:GetObjectVersionTagging',
          's3:GetObjectAttributes',
          's3:GetObjectVersionAttributes',
        ],
        Resource: [ALL],
      },
    ],
  },
  writeonly: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: [ALL] }] },
};

/**
 * A policy the strict parse refused, read as a stored bucket policy is when its only faults are
 * what earlier versions took: an IPv4-mapped aws:SourceIp range shorter than /96, a condition
 * operator that names no key (`"StringEquals": {}`, read as no condition), an operator not spelt
 * as IAM spells it (`stringequals`): a file written for them must neither stop the daemon starting
 * nor be refused on a reload. The first two allow nothing and in a Deny keep denying (policy-conditions.ts
 * holds); a mis-cased operator is the operator it names, as before. Undefined when the policy has
 * another fault.
 */
function storedFormPolicy(body: unknown): { policy: BucketPolicy; ranges: readonly string[]; empty: readonly string[]; miscased: readonly string[] } | undefined {
  let policy: BucketPolicy;
  try {
    // Lenient about these only: the rest of what a written policy must be still holds.
    checkWrittenPolicy(body);
    policy = parseIdentityPolicy(body, true);
  } catch {
    return undefined;
  }
  const ranges = policy.unreadableRanges ?? [];
  const empty = policy.emptyConditions ?? [];
  const miscased = policy.miscasedOperators ?? [];
  return ranges.length + empty.length + miscased.length > 0 && ranges.every(isShortMappedRange) ? { policy, ranges, empty, miscased } : undefined;
}

/** The file's own policies and the built-in ones, by name; `warnings` gets those read leniently. */
function* parsePolicies(raw: unknown, fail: (m: string) => never, warnings: string[], work: UsersFileWork): Generator<void, Map<string, BucketPolicy>, void> {
  const named = new Map<string, BucketPolicy>();
  for (const [name, body] of Object.entries(CANNED_POLICIES)) named.set(name, parseIdentityPolicy(body));
  if (raw === undefined) return named;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('"policies" must map policy names to policies.');
  for (const [name, body] of Object.entries(raw as Record<string, unknown>)) {
    if (++work.policies % POLICIES_PER_STEP === 0) yield;
    if (!POLICY_NAME.test(name)) fail(`policy name ${JSON.stringify(name)} must be 1–128 of A-Z a-z 0-9 . _ -.`);
    if (Object.hasOwn(CANNED_POLICIES, name)) fail(`policy ${JSON.stringify(name)} is a built-in policy and cannot be redefined.`);
    try {
      named.set(name, parseIdentityPolicy(body));
    } catch (err) {
      const old = storedFormPolicy(body);
      if (old === undefined) fail(`policy ${JSON.stringify(name)}: ${(err as Error).message}`);
      named.set(name, old!.policy);
      if (old!.ranges.length > 0) warnings.push(`policy ${JSON.stringify(name)} names aws:SourceIp ranges this version does not take (${old!.ranges.join(', ')}: IPv4-mapped ranges shorter than /96; write the IPv4 range, e.g. 10.0.0.0/8): conditions on them allow nothing and, in a Deny, keep denying`);
      if (old!.miscased.length > 0) warnings.push(`policy ${JSON.stringify(name)} spells condition operators in a case IAM and MinIO refuse (${old!.miscased.join(', ')}; each is followed by its spelling), which this version refuses when a policy is written: they are enforced as before; write them as shown`);
      if (old!.empty.length > 0) warnings.push(`policy ${JSON.stringify(name)} has condition operators that name no key (${old!.empty.join(', ')}), which this version refuses: an Allow on one allows nothing and a Deny on one keeps denying; give each its keys and values or remove it`);
    }
  }
  return named;
}

/** Groups (`"groups": {"<name>": {"policies": [...]}}`): the policy names of each. */
function* parseGroups(raw: unknown, named: ReadonlyMap<string, BucketPolicy>, fail: (m: string) => never, work: UsersFileWork): Generator<void, Map<string, string[]>, void> {
  const groups = new Map<string, string[]>();
  if (raw === undefined) return groups;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('"groups" must map group names to groups.');
  for (const [name, body] of Object.entries(raw as Record<string, unknown>)) {
    if (++work.groups % USERS_PER_STEP === 0) yield;
    if (!POLICY_NAME.test(name)) fail(`group name ${JSON.stringify(name)} must be 1–128 of A-Z a-z 0-9 . _ -.`);
    const g = fields(body, ['policies', 'comment'], `groups.${name}`, fail);
    const policies = nameList(g.policies, `groups.${name}: policies`, fail);
    if (policies.length === 0) fail(`groups.${name}: policies must name at least one policy.`);
    for (const n of policies) if (!named.has(n)) fail(`groups.${name}: no policy named ${JSON.stringify(n)} (built in: ${Object.keys(CANNED_POLICIES).join(', ')}).`);
    groups.set(name, policies);
  }
  return groups;
}

/** A list of names (absent: none). */
function nameList(v: unknown, what: string, fail: (m: string) => never): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(`${what} must be a list of names.`);
  return v as string[];
}

export class IamFileError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'IamFileError';
  }
}

const ACCESS_KEY = /^[A-Za-z0-9._@+=-]{3,128}$/;
/** IAM's tag characters: letters, spaces, numbers and `_ . : / = + - @`. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
export const MAX_PRINCIPAL_TAGS = 50;

/**
 * Why a principal tag (a user's in S3_IAM_FILE, or a session's from AssumeRole) is not one IAM
 * takes: keys of 1–128 and values of 0–256 characters of TAG_TEXT, no key starting `aws:`;
 * undefined when it is.
 */
export function principalTagProblem(key: string, value: string): string | undefined {
  const keyLength = [...key].length;
  if (keyLength < 1 || keyLength > 128 || !TAG_TEXT.test(key)) return `tag key ${JSON.stringify(key)} must be 1–128 letters, spaces, digits or _ . : / = + - @`;
  if (key.toLowerCase().startsWith('aws:')) return `tag key ${JSON.stringify(key)}: the aws: prefix is reserved`;
  if ([...value].length > 256 || !TAG_TEXT.test(value)) return `the value of tag ${JSON.stringify(key)} must be at most 256 letters, spaces, digits or _ . : / = + - @`;
  return undefined;
}

/** Tags by lower-case key (IAM's keys are unique whatever their case); the problem, as a string, when one is not valid. */
export function principalTags(pairs: ReadonlyArray<readonly [string, string]>): Map<string, { key: string; value: string }> | string {
  if (pairs.length > MAX_PRINCIPAL_TAGS) return `at most ${MAX_PRINCIPAL_TAGS} tags`;
  const out = new Map<string, { key: string; value: string }>();
  for (const [key, value] of pairs) {
    const problem = principalTagProblem(key, value);
    if (problem !== undefined) return problem;
    if (out.has(key.toLowerCase())) return `tag key ${JSON.stringify(key)} appears twice (tag keys are compared without case)`;
    out.set(key.toLowerCase(), { key, value });
  }
  return out;
}
const POLICY_NAME = /^[A-Za-z0-9._-]{1,128}$/;

function fields(v: unknown, allowed: readonly string[], where: string, fail: (m: string) => never): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${where} must be a JSON object.`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${where}: unknown field ${JSON.stringify(k)} (known: ${allowed.join(', ')}).`);
  return o;
}

/**
 * An access key as messages about the file show it: its first 4 characters. An operator who
 * swapped the accessKey and secretKey fields has a secret there, and these messages reach the
 * journal; the entry's index says which one is meant.
 */
function keyHint(key: string): string {
  return JSON.stringify(key.length <= 4 ? key : `${key.slice(0, 4)}…`);
}

/**
 * Parses the IAM file's text; `rootUser` may not appear as a user. Throws IamFileError. `warnings`
 * gets what the file holds that is read but not as written (see storedFormPolicy).
 */
export function parseUsers(text: string, rootUser: string, file = 'S3_IAM_FILE', warnings: string[] = []): UserDirectory {
  return inOneGo(usersOfText(text, rootUser, file, warnings, newUsersFileWork()));
}

/**
 * How much of a users file has been gone through, by kind: what bounds a step of its parse (the
 * tests count these by turn of the event loop).
 */
export interface UsersFileWork {
  policies: number;
  groups: number;
  users: number;
}

export const newUsersFileWork = (): UsersFileWork => ({ policies: 0, groups: 0, users: 0 });

/**
 * A step's worth of each kind of work, ~1-2 ms of CPU on a 2-core VM shared with other work: the
 * JSON text's tokens scanned (a users file's ~20 a user), its characters parsed, policies
 * checked and compiled, users (or groups) checked.
 */
const TOKENS_PER_STEP = 20_000;
const CHARS_PER_STEP = 256 * 1024;
const POLICIES_PER_STEP = 25;
const USERS_PER_STEP = 250;

/** parseUsers in steps: it yields after each (see the _PER_STEP bounds) and returns the directory. */
function* usersOfText(text: string, rootUser: string, file: string, warnings: string[], work: UsersFileWork): Generator<void, UserDirectory, void> {
  const fail = (m: string): never => {
    throw new IamFileError(file, m);
  };
  let doc: unknown;
  // One pass over the tokens finds a repeated name and where the policies and users are, which
  // are then parsed each on its own: JSON.parse of 50,000 users took ~35 ms in one go.
  const outline = yield* outlineJson(text, TOKENS_PER_STEP);
  try {
    doc = yield* parseJsonInSteps(text, outline, CHARS_PER_STEP);
  } catch (err) {
    // Where, not what: V8's message quotes the text around the error, which may be a secret key.
    const at = /position (\d+)/.exec((err as Error).message);
    if (at === null) fail('not valid JSON (it ends too early, or has an unexpected character).');
    const before = text.slice(0, Number(at![1]));
    const line = before.split('\n').length;
    fail(`not valid JSON at line ${line}, column ${before.length - before.lastIndexOf('\n')}.`);
  }
  const { repeated } = outline;
  if (repeated !== undefined) fail(`${JSON.stringify(repeated.key)} appears twice in one object${repeated.path === '' ? '' : ` (${repeated.path})`}; JSON keeps only the last.`);
  const top = fields(doc, ['policies', 'groups', 'users'], 'the file', fail);
  const named = yield* parsePolicies(top.policies, fail, warnings, work);
  const groups = yield* parseGroups(top.groups, named, fail, work);
  if (!Array.isArray(top.users)) fail('"users" must be a list.');
  const users = new Map<string, User>();
  const indexOf = new Map<string, number>();
  const list = top.users as unknown[];
  for (let i = 0; i < list.length; i++) {
    if (++work.users % USERS_PER_STEP === 0) yield;
    const raw = list[i];
    const u = fields(raw, ['accessKey', 'secretKey', 'policies', 'groups', 'tags', 'comment'], `users[${i}]`, fail);
    const { accessKey, secretKey } = u;
    // A SigV4 Authorization header's components are split on ',' (MinIO refuses ',' in access keys too).
    if (typeof accessKey === 'string' && accessKey.includes(',')) fail(`users[${i}]: accessKey ${keyHint(accessKey)} has a ',': no signed request could name it (the Authorization header is split on ',').`);
    if (typeof accessKey !== 'string' || !ACCESS_KEY.test(accessKey)) fail(`users[${i}]: accessKey must be 3–128 of A-Z a-z 0-9 . _ @ + = -.`);
    const key = accessKey as string;
    if (key === rootUser) fail(`users[${i}]: accessKey ${keyHint(key)} is the root user (S3_ROOT_USER).`);
    // aws:userid of an unsigned request: a user so named would pass for anyone in a policy (and the reverse).
    if (key.toLowerCase() === 'anonymous') fail(`users[${i}]: accessKey ${JSON.stringify(key)} is what policies call an unsigned request (aws:userid); choose another.`);
    if (users.has(key)) fail(`users[${i}]: accessKey ${keyHint(key)} appears twice (users[${indexOf.get(key)}] has it too).`);
    indexOf.set(key, i);
    const where = `users[${i}] (accessKey ${keyHint(key)})`;
    if (typeof secretKey !== 'string' || secretKey.length < 8 || secretKey.length > 256) fail(`${where}: secretKey must be 8–256 characters.`);
    const own = nameList(u.policies, `${where}: policies`, fail);
    for (const n of own) if (!named.has(n)) fail(`${where}: no policy named ${JSON.stringify(n)} (built in: ${Object.keys(CANNED_POLICIES).join(', ')}).`);
    const memberOf = nameList(u.groups, `${where}: groups`, fail);
    for (const g of memberOf) if (!groups.has(g)) fail(`${where}: no group named ${JSON.stringify(g)}.`);
    // Its own policies and its groups', each once.
    const names = [...new Set([...own, ...memberOf.flatMap((g) => groups.get(g)!)])];
    if (names.length === 0) fail(`${where}: a user needs policies, or groups that have them.`);
    let tags: Map<string, { key: string; value: string }> | undefined;
    if (u.tags !== undefined) {
      const entries = typeof u.tags === 'object' && u.tags !== null && !Array.isArray(u.tags) ? Object.entries(u.tags as Record<string, unknown>) : undefined;
      if (entries === undefined || !entries.every(([, v]) => typeof v === 'string')) fail(`${where}: tags must map tag keys to string values.`);
      const parsed = principalTags(entries as Array<[string, string]>);
      if (typeof parsed === 'string') fail(`${where}: tags: ${parsed}.`);
      tags = parsed as Map<string, { key: string; value: string }>;
    }
    users.set(key, { accessKey: key, secretKey: secretKey as string, policyNames: names, policies: names.map((n) => named.get(n)!), ...(tags !== undefined ? { tags } : {}) });
  }
  return { get: (k) => users.get(k), size: users.size };
}

/**
 * What the users file's mode and owner let others do, as warnings: read it (it holds secret keys),
 * or change it (anyone who can would give themselves access keys, in effect at the next reload):
 * write it by its mode, for every user or its group, or own it, for a user other than root and
 * the one s3d runs as (`serviceUid`; undefined where there is none, and ownership is not judged),
 * who may chmod it whatever its mode.
 */
export function iamFileWarnings(file: string, stat: { mode: number; uid: number }, serviceUid: number | undefined): string[] {
  const warnings: string[] = [];
  const mode = stat.mode & 0o777;
  const fix = 'chmod 600 (or 640 with the service\'s group)';
  if ((mode & 0o004) !== 0) warnings.push(`${file} is readable by every user (mode ${mode.toString(8)}); it holds secret keys: ${fix}`);
  if ((mode & 0o002) !== 0) warnings.push(`${file} is writable by every user (mode ${mode.toString(8)}); anyone could give themselves access keys: ${fix}`);
  else if ((mode & 0o020) !== 0) warnings.push(`${file} is writable by its group (mode ${mode.toString(8)}); every member could give themselves access keys: ${fix}`);
  if (serviceUid !== undefined && stat.uid !== 0 && stat.uid !== serviceUid) {
    warnings.push(`${file} is owned by uid ${stat.uid}, neither root nor the user s3d runs as (uid ${serviceUid}); that user could give themselves access keys: chown root (or the service's user)`);
  }
  return warnings;
}

/** Reads and parses the IAM file; `warnings` notes who else may read or change it (iamFileWarnings). */
export function loadUsers(file: string, rootUser: string): { users: UserDirectory; warnings: string[] } {
  let text: string;
  let stat: { mode: number; uid: number };
  // The mode and owner of the file read, not of one renamed into its place between two calls.
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    stat = fstatSync(fd);
    text = readFileSync(fd, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const read: string[] = [];
  const users = parseUsers(text, rootUser, file, read);
  return { users, warnings: loadWarnings(file, stat, read) };
}

/**
 * loadUsers for a daemon that serves meanwhile (a reload): the file read by the thread pool, then
 * parsed and checked in steps, one to a turn of the event loop, so requests go on between them
 * (each step ~1-2 ms; 50,000 users in one go held them back ~0.3 s). The directory is whole when
 * it resolves, and nothing has used it: requests meanwhile see the previous one.
 */
export async function loadUsersInTurns(file: string, rootUser: string, o: LoadInTurnsOptions = {}): Promise<{ users: UserDirectory; warnings: string[] }> {
  let text: string;
  let stat: { mode: number; uid: number };
  try {
    const handle = await open(file, 'r');
    try {
      stat = await handle.stat();
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw unreadable(file, err);
  }
  o.onRead?.(text.length);
  const read: string[] = [];
  const steps = usersOfText(text, rootUser, file, read, o.work ?? newUsersFileWork());
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done === true) return { users: step.value, warnings: loadWarnings(file, stat, read) };
    await nextTurn();
    if (o.stopped?.() === true) {
      steps.return(NO_USERS);
      throw Object.assign(new Error(`${file}: the reload was stopped`), { name: 'AbortError' });
    }
  }
}

export interface LoadInTurnsOptions {
  /** Asked after each turn: true ends the load (an Error named AbortError). */
  readonly stopped?: () => boolean;
  /** Called once the file is read, with its length in characters, before its first step. */
  readonly onRead?: (chars: number) => void;
  /** Counts what the steps went through. */
  readonly work?: UsersFileWork;
}

function unreadable(file: string, err: unknown): IamFileError {
  return new IamFileError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
}

function loadWarnings(file: string, stat: { mode: number; uid: number }, read: readonly string[]): string[] {
  return [...iamFileWarnings(file, stat, process.geteuid?.()), ...read.map((w) => `${file}: ${w}`)];
}
