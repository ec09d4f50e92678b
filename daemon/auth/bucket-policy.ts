// The IAM policy language, in its two uses: bucket policies (PutBucketPolicy: which requests a
// bucket admits from anyone, signed or not, or from the users its statements name) and identity
// policies (the policies of the access keys in S3_IAM_FILE: what a user may do, across buckets;
// no Principal). The root user is never restricted. Parsing is strict: anything s3d would not enforce exactly (NotPrincipal
// in an Allow, an unknown condition operator or key, an operator not spelt as IAM spells it, an operator naming no key, a key no action of its statement has, a bucket-policy resource outside its
// bucket, a policy variable s3d has no value for or in a policy older than 2012-10-17) is refused, never silently ignored,
// because ignoring part of a policy would widen or narrow access behind the operator's back.
// Policy variables (`${aws:username}`, …) and wildcards: policy-text.ts. Pure: no I/O.
// Conditions, their operators parsed and evaluated: policy-conditions.ts.
import { ipRange } from '../ip-ranges.js';
import { S3Error } from '../errors.js';
import { S3_ACTIONS, STS_TAG_SESSION, type ResourceKind } from './s3-actions.js';
import { jsonNestsDeeperThan, MAX_POLICY_NESTING, repeatedJsonKey, valueNestsDeeperThan } from './json-keys.js';
import { parsePolicyText, wildcard, type PolicyText, type Wildcard } from './policy-text.js';
import { ARN_KEYS, KEY_ACTIONS, keyFamily, variableKey } from './policy-keys.js';
import { holds, parseConditions, type Condition, type ConditionContext, type StoredFaults } from './policy-conditions.js';

export interface RequestFacts {
  /** e.g. `s3:GetObject`. */
  action: string;
  /** `bucket` or `bucket/key` (the ARN without `arn:aws:s3:::`). */
  resource: string;
  context: ConditionContext;
  /** The signer as a bucket policy's Principal names it (`arn:aws:iam::ACCOUNT:user/NAME`); undefined: anonymous or root. */
  principal?: string;
}

export const MAX_POLICY_BYTES = 20 * 1024;
const ARN_PREFIX = 'arn:aws:s3:::';

interface Statement {
  allow: boolean;
  /** Applies to anyone, anonymous requests too (Principal "*"; every identity-policy statement). */
  anyone: boolean;
  /**
   * The users a bucket-policy statement names (`arn:aws:iam::ACCOUNT:user/NAME`): it applies to
   * them too, or, written as NotPrincipal, to everyone but them.
   */
  users: readonly string[];
  /** Written as NotPrincipal (a Deny's): the statement applies to every requester but `users`, anonymous ones included. */
  notPrincipal: boolean;
  actions: Wildcard[];
  /** Written as NotAction: the statement applies to every S3 action `actions` does not match. */
  notAction: boolean;
  resources: PolicyText[];
  /** Written as NotResource: the statement applies to every resource `resources` does not match. */
  notResource: boolean;
  conditions: Condition[];
}

export interface BucketPolicy {
  readonly statements: readonly Statement[];
  /** A stored policy's IP ranges this version does not take (parsed with `stored`): to log. */
  readonly unreadableRanges?: readonly string[];
  /** A stored policy's condition operators that name no key (`Statement 1: StringEquals`): to log. */
  readonly emptyConditions?: readonly string[];
  /** A stored policy's condition operators not spelt as IAM spells them (`Statement 1: stringequals (StringEquals)`): to log. */
  readonly miscasedOperators?: readonly string[];
}

function malformed(message: string): S3Error {
  return new S3Error('MalformedPolicy', message);
}

/** `empty`: S3's words for an empty list, where they are known (Action, Resource). */
function list(v: unknown, what: string, empty?: string): string[] {
  const arr = Array.isArray(v) ? v : [v];
  if (arr.length === 0 && empty !== undefined) throw malformed(`${empty} (${what} is an empty list).`);
  if (arr.length === 0 || !arr.every((x) => typeof x === 'string')) throw malformed(`${what} must be a string or a non-empty list of strings.`);
  return arr as string[];
}

/** A user as a Principal names it: IAM's user ARN (no path, no wildcard). */
const USER_ARN = /^arn:aws:iam::([^:*?]+):user\/([^*?]+)$/;

/** The user a Principal's ARN names, or undefined when it names something else (an account, a role). */
export function principalUser(arn: string): { account: string; name: string } | undefined {
  const m = USER_ARN.exec(arn);
  return m === null ? undefined : { account: m[1]!, name: m[2]! };
}

/**
 * Who a bucket-policy statement's Principal names: anyone (`"*"`, or `*` among `{"AWS": […]}`),
 * users (their ARNs), and whether it names others s3d has none of (accounts, roles, services),
 * for whom the statement applies to nobody.
 */
function parsePrincipal(p: unknown, element = 'Principal'): { anyone: boolean; users: string[]; others: boolean } {
  if (p === '*') return { anyone: true, users: [], others: false };
  if (typeof p === 'object' && p !== null && !Array.isArray(p)) {
    const entries = Object.entries(p as Record<string, unknown>);
    if (entries.length === 0) throw malformed(`${element} must not be empty.`);
    const out = { anyone: false, users: [] as string[], others: false };
    for (const [kind, v] of entries) {
      if (kind !== 'AWS') throw malformed(`${element} type ${JSON.stringify(kind)} is not supported (only "*" or {"AWS": …}).`);
      // S3's words for an empty list, as for an empty name.
      if (Array.isArray(v) && v.length === 0) throw malformed(`Invalid principal in policy (${element}.AWS is an empty list).`);
      for (const name of list(v, `${element}.AWS`)) {
        if (name.trim() === '') throw malformed('Invalid principal in policy: an empty name.');
        if (name === '*') out.anyone = true;
        else if (principalUser(name) !== undefined) out.users.push(name);
        else out.others = true;
      }
    }
    return out;
  }
  // S3's words for a Principal that is neither (an empty string, a list, a bare name).
  throw malformed(`Invalid principal in policy (${element} must be "*" or {"AWS": …}).`);
}

/** The users a bucket policy names as principals (for PutBucketPolicy to check they exist). */
export function namedUsers(policy: BucketPolicy): string[] {
  return [...new Set(policy.statements.flatMap((s) => s.users))];
}

/** S3's refusal of a policy that is no JSON object (LocalStack's recording against AWS). */
const NOT_AN_OBJECT = "Policies must be valid JSON and the first byte must be '{'";

/**
 * Parses and checks a policy document for `bucket`; throws MalformedPolicy. `stored`: a policy an
 * earlier version accepted, whose IP ranges this one may no longer take: such a range is kept as
 * one that cannot be evaluated (policy-conditions.ts holdsOne) instead of failing every request the policy judges,
 * and which is not held to the limits of what is written (checkWrittenPolicy).
 */
export function parseBucketPolicy(text: string, bucket: string, stored = false): BucketPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // S3's words (LocalStack's recording against AWS), which the aws CLI shows.
    throw malformed(NOT_AN_OBJECT);
  }
  // JSON that is no object (`false`, a list, a string) fails S3's same first check, and gets its
  // words (versitygw's PutBucketPolicy_invalid_json, checked against AWS, sends `false`).
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw malformed(NOT_AN_OBJECT);
  // Limits of what is put (checkWrittenPolicy): a stored policy passed them when it was put, or
  // was put by a version without the nesting limit (a Sid, which nothing reads, could nest deeper)
  // and must keep loading. Nothing below recurses through a Sid.
  if (!stored) {
    if (jsonNestsDeeperThan(text, MAX_POLICY_NESTING)) throw malformed(TOO_DEEP);
    // S3 measures a policy without the whitespace that only lays it out (an indented policy file is
    // often twice its compact size), so the limit applies to the compact JSON. PutBucketPolicy reads
    // at most 64 KiB, which bounds the parse before it.
    if (Buffer.byteLength(JSON.stringify(doc)) > MAX_POLICY_BYTES) throw malformed(`Policies are limited to ${MAX_POLICY_BYTES} bytes (not counting whitespace between JSON tokens).`);
  }
  const repeated = repeatedJsonKey(text);
  if (repeated !== undefined) throw malformed(`The policy names ${JSON.stringify(repeated.key)} twice in one object${repeated.path === '' ? '' : ` (${repeated.path})`}; JSON keeps only the last.`);
  return parseDocument(doc, bucket, stored);
}

/**
 * Parses an identity policy (already JSON-decoded): no Principal (the policy applies to the user
 * it is attached to), resources in any bucket (`arn:aws:s3:::*`, `arn:aws:s3:::photos/*`, …).
 * Throws MalformedPolicy.
 */
export function parseIdentityPolicy(doc: unknown, stored = false): BucketPolicy {
  return parseDocument(doc, undefined, stored);
}

const TOO_DEEP = `The policy nests objects and lists more than ${MAX_POLICY_NESTING} deep; a policy needs five.`;

/**
 * The rules a policy is held to when it is written (PutBucketPolicy, the users file, AssumeRole's
 * session policy) but not when a stored one is read again (a bucket's at load, a session token's):
 * Sid and Id are strings, as IAM's grammar and MinIO's decoder have them, and objects and lists
 * nest at most MAX_POLICY_NESTING deep in every kind of policy. Earlier versions took a Sid or Id
 * of any JSON type, and any nesting in users' and session policies; nothing reads Sid or Id, so a
 * policy they stored means what it meant and must not stop loading on upgrade. Throws MalformedPolicy.
 */
export function checkWrittenPolicy(doc: unknown): void {
  if (valueNestsDeeperThan(doc, MAX_POLICY_NESTING)) throw malformed(TOO_DEEP);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return; // parseDocument says why
  const { Id: id, Statement: raws } = doc as Record<string, unknown>;
  if (id !== undefined && typeof id !== 'string') throw malformed('Id must be a string.');
  (Array.isArray(raws) ? raws : [raws]).forEach((raw, i) => {
    const sid = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).Sid : undefined;
    if (sid !== undefined && typeof sid !== 'string') throw malformed(`Statement ${i + 1}: Sid must be a string.`);
  });
}

/** `bucket` undefined: an identity policy. `stored`: see parseBucketPolicy. */
function parseDocument(doc: unknown, bucket: string | undefined, stored: boolean): BucketPolicy {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw malformed('The policy must be a JSON object.');
  if (!stored) checkWrittenPolicy(doc);
  // IAM's grammar: Version, Id and Statement, nothing else. An element in the wrong place (a
  // Condition or Principal beside Statement, not in it) would be dropped unread, granting more
  // than the writer meant, so it is refused as the statements' unknown elements are.
  for (const k of Object.keys(doc)) {
    if (!['Version', 'Id', 'Statement'].includes(k)) throw malformed(`The policy has an unknown element ${JSON.stringify(k)}: a policy holds Version, Id and Statement (Effect, Principal, Action, Resource and Condition belong in a statement).`);
  }
  const { Version: version, Statement: rawStatements } = doc as Record<string, unknown>;
  // Without a Version, IAM reads a policy as 2008-10-17, which has no policy variables.
  if (version !== undefined && version !== '2012-10-17' && version !== '2008-10-17') {
    throw malformed(`Version ${JSON.stringify(version)} is not a policy language version: write "2012-10-17" (or "2008-10-17", as is a policy without a Version, which has no policy variables).`);
  }
  if (rawStatements === undefined) throw malformed('Missing required field Statement'); // S3's words
  const raws = Array.isArray(rawStatements) ? rawStatements : [rawStatements];
  if (raws.length === 0) throw malformed('Could not parse the policy: Statement is empty!'); // S3's words
  const variables = version === '2012-10-17';
  const faults: StoredFaults | undefined = stored ? { ranges: [], emptyConditions: [], miscased: [] } : undefined;
  const statements = raws.map((raw, i) => parseStatement(raw, i, bucket, variables, faults));
  return {
    statements,
    ...(faults !== undefined && faults.ranges.length > 0 ? { unreadableRanges: faults.ranges } : {}),
    ...(faults !== undefined && faults.emptyConditions.length > 0 ? { emptyConditions: faults.emptyConditions } : {}),
    ...(faults !== undefined && faults.miscased.length > 0 ? { miscasedOperators: faults.miscased } : {}),
  };
}

/**
 * `variables`: the policy is a 2012-10-17 one, whose strings may hold policy variables.
 * `faults`: a stored policy's, where what this version refuses when written is listed (else it throws).
 */
function parseStatement(raw: unknown, i: number, bucket: string | undefined, variables: boolean, faults: StoredFaults | undefined): Statement {
  const where = `Statement ${i + 1}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw malformed(`${where} must be an object.`);
  const s = raw as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'].includes(k)) throw malformed(`${where}: unknown element ${JSON.stringify(k)}.`);
  }
  // IAM's grammar: a statement has Action or NotAction, Resource or NotResource, never both.
  if (s.Action !== undefined && s.NotAction !== undefined) throw malformed(`${where}: Action and NotAction cannot both be given.`);
  if (s.Resource !== undefined && s.NotResource !== undefined) throw malformed(`${where}: Resource and NotResource cannot both be given.`);
  const notAction = s.NotAction !== undefined;
  const notResource = s.NotResource !== undefined;
  // S3's words, naming the value, and what it takes (Effect is case-sensitive).
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformed(`${where}: Invalid effect: ${typeof s.Effect === 'string' ? s.Effect : JSON.stringify(s.Effect)} (write Allow or Deny)`);
  if (bucket === undefined && (s.Principal !== undefined || s.NotPrincipal !== undefined)) throw malformed(`${where}: an identity policy has no Principal (it applies to its user).`);
  const notPrincipal = s.NotPrincipal !== undefined;
  if (notPrincipal) {
    // As AWS has it: a Deny's, for every requester but those it names. In an Allow (which AWS
    // does not support) it would grant everyone else, anonymous requests included.
    if (s.Principal !== undefined) throw malformed(`${where}: Principal and NotPrincipal cannot both be given.`);
    if (s.Effect !== 'Deny') throw malformed(`${where}: NotPrincipal is taken in a Deny only ("Effect": "Deny"), as AWS has it.`);
  }
  if (bucket !== undefined && s.Principal === undefined && !notPrincipal) throw malformed(`${where} has no Principal.`);
  const { anyone, users, others } = bucket === undefined ? { anyone: true, users: [], others: false } : parsePrincipal(notPrincipal ? s.NotPrincipal : s.Principal, notPrincipal ? 'NotPrincipal' : 'Principal');
  // A NotPrincipal of "*" leaves nobody: the Deny would protect nothing. Others it names (accounts,
  // roles) s3d has none of, so they leave nobody out; its users must exist (namedUsers).
  if (notPrincipal && anyone) throw malformed(`${where}: NotPrincipal "*" leaves nobody for the Deny to apply to.`);
  // Principals s3d has none of (accounts, roles): harmless in an Allow (it grants them nothing),
  // but a Deny the writer believes in would protect nothing, so it is refused.
  if (!notPrincipal && !anyone && others && s.Effect === 'Deny') {
    throw malformed(`${where}: a Deny must name the Principal "*" or users (arn:aws:iam::ACCOUNT:user/NAME); s3d has no other principals (accounts, roles) for it to apply to.`);
  }
  if (s.Action === undefined && !notAction) throw malformed(`${where} has no Action.`);
  // Every action must name S3 actions that exist (a misspelt Deny would protect nothing).
  const actionKinds = new Set<ResourceKind>();
  const actionNames = new Set<string>();
  const given = list(notAction ? s.NotAction : s.Action, `${where}: ${notAction ? 'NotAction' : 'Action'}`, 'Policy has invalid action');
  // NotAction's actions are the S3 actions it does not name (as "*" is every S3 action, not
  // sts:TagSession nor admin:Prometheus, which must be named in an Action of their own).
  if (notAction && !given.every((a) => a === '*' || /^s3:/i.test(a))) throw malformed(`${where}: NotAction names s3: actions only (sts:TagSession and admin: actions are granted by Action alone).`);
  // MinIO's admin actions (admin:Prometheus is the one s3d judges, s3-actions.ts): a user's, in a
  // statement of their own, whose Resource MinIO does not match (so neither does s3d).
  const admin = given.some((a) => /^admin:/i.test(a));
  if (admin) {
    if (bucket !== undefined) throw malformed(`${where}: admin actions belong in a user's policy (S3_IAM_FILE), not a bucket policy.`);
    if (!given.every((a) => /^admin:/i.test(a))) throw malformed(`${where}: admin actions and S3 actions cannot share a statement.`);
  }
  const actions = given.map((named) => {
    // "*" is every action of every service (IAM's grammar): of S3's, every one. sts:TagSession
    // and admin:Prometheus (s3-actions.ts) must be named: "*" does not give a user either.
    const a = named === '*' ? 's3:*' : named;
    if (!/^(s3|admin):[A-Za-z*?]+$/i.test(a) && a.toLowerCase() !== STS_TAG_SESSION.toLowerCase()) throw malformed(`Policy has invalid action: ${a} (${where}: not an s3: action, nor sts:TagSession or admin:Prometheus)`);
    const w = wildcard(a, true);
    let known = false;
    for (const [name, kind] of S3_ACTIONS) {
      if (!w.test(name)) continue;
      known = true;
      actionKinds.add(kind);
      actionNames.add(name);
    }
    if (!known) throw malformed(`Policy has invalid action: ${a}`);
    return w;
  });
  if (notAction) {
    // The statement's actions are those NotAction leaves: their resources and keys are its own.
    const named = new Set(actionNames);
    actionKinds.clear();
    actionNames.clear();
    for (const [name, kind] of S3_ACTIONS) {
      if (!name.startsWith('s3:') || named.has(name)) continue;
      actionKinds.add(kind);
      actionNames.add(name);
    }
    if (actionNames.size === 0) throw malformed(`${where}: NotAction names every S3 action: the statement would apply to none.`);
  }
  if (s.Resource === undefined && !notResource && !admin) throw malformed(`${where} has no Resource.`);
  if (admin && notResource) throw malformed(`${where}: an admin statement takes Resource, not NotResource.`);
  const resourceKinds = new Set<ResourceKind>();
  const resources = admin ? adminResources(s.Resource, where) : list(notResource ? s.NotResource : s.Resource, `${where}: ${notResource ? 'NotResource' : 'Resource'}`, 'Policy has invalid resource').map((r) => {
    // "*" (identity policies only): every bucket and object, and the service.
    if (r === '*' && bucket === undefined) {
      for (const k of ['object', 'bucket', 'service'] as const) resourceKinds.add(k);
      return parsePolicyText('*', where, false, variableKey);
    }
    if (!r.startsWith(ARN_PREFIX)) throw malformed(`Policy has invalid resource: ${r}`);
    const rest = r.slice(ARN_PREFIX.length);
    if (rest === '') throw malformed(`Policy has invalid resource: ${r}`);
    // Only this bucket and its objects: a wildcard bucket name could name other buckets too.
    if (bucket !== undefined && rest !== bucket && !rest.startsWith(`${bucket}/`)) throw malformed(`Policy has invalid resource: ${r} (a bucket policy applies to ${ARN_PREFIX}${bucket} and ${ARN_PREFIX}${bucket}/…)`);
    const text = parsePolicyText(rest, `${where}: Resource`, variables, variableKey);
    // `b/…` names objects; `b` a bucket; a wildcard without a slash (`*`, `b*`) may match either.
    if (rest.includes('/')) resourceKinds.add('object');
    else if (text.wild) for (const k of ['object', 'bucket', 'service'] as const) resourceKinds.add(k);
    else resourceKinds.add('bucket');
    return text;
  });
  // What NotResource leaves may be of any kind: the bucket beside its objects, or the service.
  if (notResource) for (const k of ['object', 'bucket', 'service'] as const) resourceKinds.add(k);
  if (!admin && ![...actionKinds].some((k) => resourceKinds.has(k))) throw malformed(`${where}: Action does not apply to any resource(s) in statement`);
  const conditions = parseConditions(s.Condition, where, variables, faults);
  // A key no action of the statement has never matches: a Deny on it would protect nothing (S3
  // refuses such a statement too). Nor does a Resource or value with a variable of such a key
  // (without a default): it names nothing.
  const keysUsed = [...conditions.map((c) => c.key), ...[...resources, ...conditions.flatMap((c) => c.texts)].flatMap((t) => t.needs)];
  for (const key of keysUsed) {
    const only = KEY_ACTIONS[keyFamily(key)];
    if (only !== undefined && !only.some((a) => actionNames.has(a.toLowerCase()))) {
      throw malformed(`${where}: Conditions do not apply to combination of actions and resources in statement (${key} is a key of ${only.join(', ')} only).`);
    }
  }
  return { allow: s.Effect === 'Allow', anyone: anyone && !notPrincipal, users, notPrincipal, actions, notAction, resources, notResource, conditions };
}

/**
 * An admin statement's resources: whatever it names (strings, checked as such), matched as every
 * resource, as MinIO ignores them; none is fine.
 */
function adminResources(raw: unknown, where: string): PolicyText[] {
  if (raw !== undefined) list(raw, `${where}: Resource`);
  return [parsePolicyText('*', where, false, variableKey)];
}

// ---- evaluation

/** Whether the policy admits an anonymous request: an Allow matches and no Deny does. */
export function allowsAnonymous(policy: BucketPolicy, req: RequestFacts): boolean {
  return decide(policy, req) === 'allow';
}

/**
 * What the policy says about a request: `deny` when a Deny statement matches (it wins over any
 * Allow, in this policy or another), `allow` when only Allows match, `none` when nothing does.
 * A bucket-policy statement applies to anyone (Principal "*") or to the users it names; one with
 * NotPrincipal to every requester but the users it names (temporary credentials are their user's,
 * as for Principal).
 */
export function decide(policy: BucketPolicy, req: RequestFacts): 'allow' | 'deny' | 'none' {
  let allowed = false;
  for (const s of policy.statements) {
    const named = req.principal !== undefined && s.users.includes(req.principal);
    if (!(s.notPrincipal ? !named : s.anyone || named) || !matches(s, req)) continue;
    if (!s.allow) return 'deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'none';
}

/**
 * PolicyStatus.IsPublic, by S3's rule: some Allow statement admits anyone, unless it is pinned to
 * fixed source addresses (an IpAddress condition on aws:SourceIp with no /0 range), fixed
 * signers (StringEquals on aws:userid, without `anonymous`; on aws:PrincipalArn, also ArnEquals or
 * ArnLike without wildcards) or fixed accounts (StringEquals on aws:PrincipalAccount, which
 * unsigned requests do not have). The other condition keys s3d knows
 * (Referer, User-Agent, SecureTransport, s3:prefix, …) are the client's to choose and restrict
 * nobody.
 */
export function isPublic(policy: BucketPolicy): boolean {
  // StringEquals (or, for an ARN, ArnEquals or ArnLike) on `key`, every value fixed (no policy
  // variable, no wildcard in an Arn operator's) and none `anonymous`. Not StringEqualsIgnoreCase:
  // its value stands for every casing of it (`ANONYMOUS` admits unsigned requests), so it pins
  // nobody as surely; a policy pinned only so counts as public, the side BlockPublicPolicy errs on.
  const fixed = (c: Condition, key: string): boolean =>
    (c.op === 'stringequals' || (ARN_KEYS.has(key) && (c.op === 'arnequals' || c.op === 'arnlike') && c.values.every((v) => !/[*?]/.test(v)))) &&
    !c.ifExists && c.set === undefined && c.key === key && c.values.every((v) => v !== 'anonymous' && !v.includes('${'));
  const pinned = (s: Statement): boolean =>
    s.conditions.some(
      (c) =>
        // A stored operator that names no key: the Allow admits nobody (policy-conditions.ts holds).
        c.empty === true ||
        // Judged by the parsed prefix: `::ffff:0.0.0.0/96` is every IPv4 address, as 0.0.0.0/0.
        (c.op === 'ipaddress' && c.key === 'aws:sourceip' && c.values.every((cidr) => ipRange(cidr.trim())?.bits !== 0)) ||
        // Fixed signers (aws:userid, as S3 counts it: users' access keys) or accounts: not anyone.
        fixed(c, 'aws:userid') ||
        fixed(c, 'aws:principalaccount') ||
        fixed(c, 'aws:principalarn'),
    );
  return policy.statements.some((s) => s.allow && s.anyone && !pinned(s));
}

/**
 * Whether the statement's action, resource and conditions match the request. NotAction matches
 * the S3 actions it does not name; NotResource the resources it does not name, a bucket policy's
 * within its bucket (no request reaches a bucket's policy with another's), and also when a policy
 * variable in it has no value (such a Resource names nothing, so NotResource leaves everything).
 */
function matches(s: Statement, req: RequestFacts): boolean {
  const named = s.actions.some((a) => a.test(req.action));
  if (s.notAction ? named || !req.action.toLowerCase().startsWith('s3:') : !named) return false;
  const inResources = s.resources.some((r) => r.like(req.resource, req.context));
  return inResources !== s.notResource && s.conditions.every((c) => holds(c, req.context, !s.allow));
}
