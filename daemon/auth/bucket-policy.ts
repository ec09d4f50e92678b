// The IAM policy language, in its two uses: bucket policies (PutBucketPolicy: which requests a
// bucket admits from anyone, signed or not, or from the users its statements name) and identity
// policies (the policies of the access keys in S3_IAM_FILE: what a user may do, across buckets;
// no Principal). The root user is never restricted. Parsing is strict: anything s3d would not enforce exactly (NotPrincipal
// in an Allow, an unknown condition operator or key, an operator not spelt as IAM spells it, an operator naming no key, a key no action of its statement has, a bucket-policy resource outside its
// bucket, a policy variable s3d has no value for or in a policy older than 2012-10-17) is refused, never silently ignored,
// because ignoring part of a policy would widen or narrow access behind the operator's back.
// Policy variables (`${aws:username}`, …) and wildcards: policy-text.ts. Pure: no I/O.
import { parseIsoDateTime } from '../dates.js';
import { inRange, ipRange, type IpRange } from '../ip-ranges.js';
import { S3Error } from '../errors.js';
import { S3_ACTIONS, STS_TAG_SESSION, type ResourceKind } from './s3-actions.js';
import { jsonNestsDeeperThan, MAX_POLICY_NESTING, repeatedJsonKey, valueNestsDeeperThan } from './json-keys.js';
import { parsePolicyText, wildcard, type PolicyText, type Wildcard } from './policy-text.js';
import { ARN_KEYS, conditionKey, DATE_KEYS, KEY_ACTIONS, KEY_SPELLING, keyFamily, KMS_KEY_ID, MULTI_VALUED, NUMERIC_KEYS, STRING_TYPED_NUMBERS, SUPPORTED_KEYS, TLS_VERSIONS, variableKey } from './policy-keys.js';

/**
 * The request's condition keys, asked by name: the lower-case key (`s3:prefix`, `aws:sourceip`),
 * except the tag part of the object-tag keys, which keeps its case (`s3:existingobjecttag/Env`:
 * an object may carry both `Env` and `env`). A multi-valued key (s3:RequestObjectTagKeys) is a
 * list; undefined: the request has no such key. A `Map` is one; ops/policy.ts answers some keys
 * lazily (an object's tags are read only when a statement that applies asks for them).
 */
export interface ConditionContext {
  get(key: string): string | readonly string[] | undefined;
  /**
   * The KMS key a request's s3:x-amz-server-side-encryption-aws-kms-key-id names, however it
   * spells it (`alias/NAME`, an ARN of any region and account…), and whether it is the default
   * key (`alias/aws/s3`); undefined when it names none (the handler refuses it) or nobody can say.
   */
  kmsKey?(sent: string): { name: string; isDefault: boolean } | undefined;
}

export interface RequestFacts {
  /** e.g. `s3:GetObject`. */
  action: string;
  /** `bucket` or `bucket/key` (the ARN without `arn:aws:s3:::`). */
  resource: string;
  context: ConditionContext;
  /** The signer as a bucket policy's Principal names it (`arn:aws:iam::ACCOUNT:user/NAME`); undefined: anonymous or root. */
  principal?: string;
}

type Comparison = 'equals' | 'notequals' | 'lessthan' | 'lessthanequals' | 'greaterthan' | 'greaterthanequals';
type Operator = 'stringequals' | 'stringnotequals' | 'stringequalsignorecase' | 'stringnotequalsignorecase' | 'stringlike' | 'stringnotlike' | 'arnequals' | 'arnlike' | 'arnnotequals' | 'arnnotlike' | 'ipaddress' | 'notipaddress' | 'bool' | 'null' | `numeric${Comparison}` | `date${Comparison}`;
/**
 * The operators as IAM spells them, by their lower-case name. IAM's names are case-sensitive
 * (CreateRole answers `Invalid Condition type : stringEquals`), as are MinIO's: a policy written
 * `stringequals` works on neither, so s3d refuses it when written (see parseConditions).
 */
const OPERATOR_SPELLING: ReadonlyMap<string, string> = new Map(
  ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike', 'ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike', 'IpAddress', 'NotIpAddress', 'Bool', 'Null',
    ...['Numeric', 'Date'].flatMap((type) => ['Equals', 'NotEquals', 'LessThan', 'LessThanEquals', 'GreaterThan', 'GreaterThanEquals'].map((c) => type + c))]
    .map((name) => [name.toLowerCase(), name]),
);
const OPERATORS: ReadonlySet<string> = new Set(OPERATOR_SPELLING.keys());
export const MAX_POLICY_BYTES = 20 * 1024;
const ARN_PREFIX = 'arn:aws:s3:::';

interface Condition {
  op: Operator;
  /** `ForAnyValue:` (some request value passes) or `ForAllValues:` (every one does; none at all counts as every). */
  set?: 'any' | 'all';
  /** The operator was written with the `IfExists` suffix: true when the request has no such key. */
  ifExists: boolean;
  key: string;
  values: string[];
  /** The values of a string operator, as patterns that may hold policy variables. */
  texts: PolicyText[];
  /** On s3:x-amz-server-side-encryption-aws-kms-key-id: the key names the values spell (kmsKeyNamePart). */
  kmsNames?: PolicyText[];
  /**
   * The ranges of IpAddress and NotIpAddress; undefined for one a stored policy names that this
   * version no longer takes (`::ffff:10.0.0.0/8`, once read as 10.0.0.0/8): see holdsOne.
   */
  ranges: Array<IpRange | undefined>;
  /**
   * An operator that names no key (`"StringEquals": {}`) in a stored policy, which this version
   * refuses when a policy is written: what it was meant to compare cannot be known, so it counts
   * as a condition that cannot be evaluated (see holds), never as no condition at all.
   */
  empty?: true;
}

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

/**
 * What a stored policy holds that this version refuses when a policy is written but reads (parsed
 * with `stored`): IP ranges it no longer takes and operators that name no key, failing closed;
 * operators not spelt as IAM spells them (`stringequals`), as the operator they name, as before.
 */
interface StoredFaults {
  ranges: string[];
  emptyConditions: string[];
  miscased: string[];
}

function malformed(message: string): S3Error {
  return new S3Error('MalformedPolicy', message);
}

function list(v: unknown, what: string): string[] {
  const arr = Array.isArray(v) ? v : [v];
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
      for (const name of list(v, `${element}.AWS`)) {
        if (name.trim() === '') throw malformed('Invalid principal in policy: an empty name.');
        if (name === '*') out.anyone = true;
        else if (principalUser(name) !== undefined) out.users.push(name);
        else out.others = true;
      }
    }
    return out;
  }
  throw malformed(`${element} must be "*" or {"AWS": …}.`);
}

/** The users a bucket policy names as principals (for PutBucketPolicy to check they exist). */
export function namedUsers(policy: BucketPolicy): string[] {
  return [...new Set(policy.statements.flatMap((s) => s.users))];
}

/**
 * Parses and checks a policy document for `bucket`; throws MalformedPolicy. `stored`: a policy an
 * earlier version accepted, whose IP ranges this one may no longer take: such a range is kept as
 * one that cannot be evaluated (see holdsOne) instead of failing every request the policy judges,
 * and which is not held to the limits of what is written (checkWrittenPolicy).
 */
export function parseBucketPolicy(text: string, bucket: string, stored = false): BucketPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // S3's words (LocalStack's recording against AWS), which the aws CLI shows.
    throw malformed("Policies must be valid JSON and the first byte must be '{'");
  }
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
  if (raws.length === 0) throw malformed('The policy has no Statement.');
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
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformed(`${where}: Effect must be Allow or Deny.`);
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
  const given = list(notAction ? s.NotAction : s.Action, `${where}: ${notAction ? 'NotAction' : 'Action'}`);
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
    if (!/^(s3|admin):[A-Za-z*?]+$/i.test(a) && a.toLowerCase() !== STS_TAG_SESSION.toLowerCase()) throw malformed(`${where}: action ${JSON.stringify(a)} is not an s3: action (or sts:TagSession, admin:Prometheus).`);
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
  const resources = admin ? adminResources(s.Resource, where) : list(notResource ? s.NotResource : s.Resource, `${where}: ${notResource ? 'NotResource' : 'Resource'}`).map((r) => {
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


// Operators on text, which take policy variables and ForAnyValue:/ForAllValues:.
const STRING_OPERATORS: ReadonlySet<string> = new Set(['stringequals', 'stringnotequals', 'stringequalsignorecase', 'stringnotequalsignorecase', 'stringlike', 'stringnotlike', 'arnequals', 'arnlike', 'arnnotequals', 'arnnotlike']);
/** The string operators that hold when no value matches (and for a missing key). */
const NEGATED_STRING_OPERATORS: ReadonlySet<string> = new Set(['stringnotequals', 'stringnotequalsignorecase', 'stringnotlike']);

function parseConditions(raw: unknown, where: string, variables: boolean, faults: StoredFaults | undefined): Condition[] {
  if (raw === undefined) return [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw malformed(`${where}: Condition must be an object.`);
  const out: Condition[] = [];
  for (const [opName, block] of Object.entries(raw as Record<string, unknown>)) {
    // `ForAnyValue:`/`ForAllValues:` before a string operator compare a key's set of values.
    const qualifier = /^(forAnyValue|forAllValues):(.*)$/i.exec(opName);
    const set = qualifier === null ? undefined : qualifier[1]!.toLowerCase() === 'foranyvalue' ? 'any' as const : 'all' as const;
    // Any operator but Null may end in IfExists (StringLikeIfExists, …), as on S3: the condition
    // holds when the request has no such key, and is the plain operator's test when it has one.
    const lower = (qualifier === null ? opName : qualifier[2]!).toLowerCase();
    const ifExists = lower.endsWith('ifexists') && lower !== 'nullifexists';
    const op = ifExists ? lower.slice(0, -'ifexists'.length) : lower;
    if (!OPERATORS.has(op) || (set !== undefined && !STRING_OPERATORS.has(op))) {
      throw malformed(`${where}: condition operator ${JSON.stringify(opName)} is not supported (supported: StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike, StringNotLike, ArnEquals, ArnLike, ArnNotEquals, ArnNotLike, each also after ForAnyValue: or ForAllValues:, NumericEquals, NumericNotEquals, NumericLessThan, NumericLessThanEquals, NumericGreaterThan, NumericGreaterThanEquals, DateEquals, DateNotEquals, DateLessThan, DateLessThanEquals, DateGreaterThan, DateGreaterThanEquals, IpAddress, NotIpAddress, Bool, each also with IfExists, and Null).`);
    }
    // IAM's operator names, qualifiers and IfExists are case-sensitive (unlike condition keys):
    // `stringequals` is refused by IAM ("Invalid Condition type") and MinIO, so a policy s3d took
    // so would fail on either. Earlier versions of s3d took any case and enforced the operator it
    // names: a stored policy written so is read as before (and logged), never failing on upgrade.
    const spelling = `${set === undefined ? '' : set === 'any' ? 'ForAnyValue:' : 'ForAllValues:'}${OPERATOR_SPELLING.get(op)!}${ifExists ? 'IfExists' : ''}`;
    if (opName !== spelling) {
      if (faults === undefined) throw malformed(`${where}: Invalid Condition type : ${opName} (condition operators are case-sensitive: write ${spelling}).`);
      faults.miscased.push(`${where}: ${opName} (${spelling})`);
    }
    if (typeof block !== 'object' || block === null || Array.isArray(block)) throw malformed(`${where}: ${opName} must map condition keys to values.`);
    // An operator that names no key. IAM's validator takes it, and MinIO (as earlier versions of
    // s3d) reads it as no condition, so an Allow so written (a template whose keys came out empty,
    // say) admitted everyone its other elements name, when its writer meant to restrict it. Refused when written; in a stored
    // policy it is a condition that cannot be evaluated: an Allow on it allows nothing, a Deny on
    // it keeps denying (holds). `"Condition": {}` (no operator at all, as AWS's policy generator
    // writes) is no condition and stays so.
    if (Object.keys(block).length === 0) {
      if (faults === undefined) throw malformed(`${where}: ${opName} names no condition key: give it the keys it compares and their values, or leave it out.`);
      faults.emptyConditions.push(`${where}: ${opName}`);
      out.push({ op: op as Operator, ifExists, key: '', values: [], texts: [], ranges: [], empty: true });
      continue;
    }
    for (const [keyName, v] of Object.entries(block as Record<string, unknown>)) {
      const key = conditionKey(keyName);
      if (key === undefined) throw malformed(`${where}: condition key ${JSON.stringify(keyName)} is not supported (supported: ${SUPPORTED_KEYS}).`);
      // IAM compares a set key without a qualifier value by value, which reads as neither "all"
      // nor "any" of the request's tags: a writer must say which.
      if (MULTI_VALUED.has(key) && set === undefined && op !== 'null') throw malformed(`${where}: ${keyName} is a set of values: write ForAnyValue:${opName} or ForAllValues:${opName}.`);
      const values = (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'boolean' || typeof x === 'number' ? String(x) : x));
      if (values.length === 0 || !values.every((x) => typeof x === 'string')) throw malformed(`${where}: ${opName} ${keyName} needs string values.`);
      // Policy variables in the string operators' values only, as IAM takes them.
      const strings = STRING_OPERATORS.has(op);
      if (!strings && (values as string[]).some((x) => x.includes('${'))) throw malformed(`${where}: ${opName} ${keyName}: policy variables are taken in Resource and in the values of string operators (StringEquals, StringLike, …) only.`);
      const texts = strings ? (values as string[]).map((x) => parsePolicyText(x, `${where}: ${opName} ${keyName}`, variables, variableKey)) : [];
      if ((op === 'ipaddress' || op === 'notipaddress') && key !== 'aws:sourceip') throw malformed(`${where}: ${opName} applies to aws:SourceIp only.`);
      const ranges = op === 'ipaddress' || op === 'notipaddress' ? (values as string[]).map((c) => parseCidr(c, where, faults?.ranges)) : [];
      if (op === 'bool' && !(values as string[]).every((x) => x === 'true' || x === 'false')) throw malformed(`${where}: Bool takes "true" or "false".`);
      if (op.startsWith('arn')) {
        if (!ARN_KEYS.has(key)) throw malformed(`${where}: ${opName} compares ARNs: it applies to ${[...ARN_KEYS].map((k) => KEY_SPELLING[k] ?? k).join(', ')}, not ${keyName}.`);
        // A value that is no ARN would match nothing: a Deny on it would protect nothing.
        for (const x of values as string[]) if (!/^arn:([^:]*:){4}/.test(x)) throw malformed(`${where}: ${opName} ${keyName}: ${JSON.stringify(x)} is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE).`);
      }
      if (op === 'null' && !(values as string[]).every((x) => x === 'true' || x === 'false')) throw malformed(`${where}: Null takes "true" or "false".`);
      checkTyped(op, key, keyName, opName, values as string[], where);
      const kmsNames = key === KMS_KEY_ID && strings ? (values as string[]).map((x) => parsePolicyText(kmsKeyNamePart(x), `${where}: ${opName} ${keyName}`, variables, variableKey)) : undefined;
      const condition: Condition = { op: op as Operator, ...(set !== undefined ? { set } : {}), ifExists, key, values: values as string[], texts, ranges, ...(kmsNames !== undefined ? { kmsNames } : {}) };
      if (key === 's3:tlsversion' && new Set(TLS_VERSIONS.map((v) => holdsOne(condition, v, new Map()))).size > 1) {
        throw malformed(`${where}: ${opName} ${keyName}: s3d serves TLS ${TLS_VERSIONS.join(' and ')} and cannot tell them apart, so it takes only conditions that hold alike for both (such as NumericLessThan 1.2).`);
      }
      out.push(condition);
    }
  }
  return out;
}

/**
 * Numeric and Date operators apply to keys of their type, with values of it; a typed key takes
 * no other operator but Null (s3:max-keys excepted, see NUMERIC_KEYS). A value that is no number
 * or date would make the condition false for every request, which a Deny must not silently be.
 */
function checkTyped(op: string, key: string, keyName: string, opName: string, values: readonly string[], where: string): void {
  const family = keyFamily(key);
  if (op.startsWith('numeric')) {
    if (!NUMERIC_KEYS.has(family)) throw malformed(`${where}: ${opName} applies to number keys (${[...NUMERIC_KEYS].map((k) => KEY_SPELLING[k] ?? k).join(', ')}), not ${keyName}.`);
    for (const v of values) if (policyNumber(v) === undefined) throw malformed(`${where}: ${opName} ${keyName}: ${JSON.stringify(v)} is not a number.`);
  } else if (op.startsWith('date')) {
    if (!DATE_KEYS.has(family)) throw malformed(`${where}: ${opName} applies to date keys (${[...DATE_KEYS].map((k) => KEY_SPELLING[k] ?? k).join(', ')}), not ${keyName}.`);
    for (const v of values) if (policyDate(v) === undefined) throw malformed(`${where}: ${opName} ${keyName}: ${JSON.stringify(v)} is not a date (ISO 8601 with its zone, as 2030-01-01T00:00:00Z, a date alone, as 2030-01-01, or seconds since 1970).`);
  } else if (op !== 'null' && (NUMERIC_KEYS.has(family) || DATE_KEYS.has(family)) && !STRING_TYPED_NUMBERS.has(family)) {
    throw malformed(`${where}: ${keyName} is a ${DATE_KEYS.has(family) ? 'date' : 'number'}: compare it with ${DATE_KEYS.has(family) ? 'Date' : 'Numeric'} operators.`);
  }
}

/** A decimal number as IAM writes one (`10`, `-1`, `1.2`), or undefined. */
function policyNumber(v: string): number | undefined {
  return /^-?\d{1,15}(\.\d{1,15})?$/.test(v) ? Number(v) : undefined;
}

/**
 * A request's decimal number (s3:max-keys as sent), of any length: the listing reads
 * `0000000000000000500` as 500, which policyNumber's 15 digits refused, so a Deny of
 * NumericGreaterThan 100 did not apply to it.
 */
function requestNumber(v: string): number | undefined {
  return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
}

/** A request's date (aws:CurrentTime, a retain-until date, …): ISO 8601 with its zone, or whole seconds since 1970; ms, or undefined. */
function requestDate(v: string): number | undefined {
  if (/^\d{1,12}$/.test(v)) return Number(v) * 1000;
  return parseIsoDateTime(v);
}

/**
 * A date a policy's value writes, as IAM takes one: what requestDate reads, or a W3C ISO 8601
 * date without a time (`2030-01-01`, `2030-01`), which IAM's Date operators take too (their
 * values are "one of the W3C implementations of the ISO 8601 date formats"): the start of that day
 * or month in UTC. A year alone (`2030`) stays seconds since 1970, as all digits are read.
 */
function policyDate(v: string): number | undefined {
  const day = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(v);
  if (day !== null) return parseIsoDateTime(`${day[1]}-${day[2]}-${day[3] ?? '01'}T00:00:00Z`);
  return requestDate(v);
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
        // A stored operator that names no key: the Allow admits nobody (holds).
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

/** `unknown`: what a condition that cannot be evaluated counts as (see holdsOne). */
function holds(c: Condition, context: ConditionContext, unknown: boolean): boolean {
  if (c.empty === true) return unknown;
  const found = context.get(c.key);
  // An empty set is no key (a request without tags has no s3:RequestObjectTagKeys).
  const v = Array.isArray(found) && found.length === 0 ? undefined : found;
  if (v === undefined && c.ifExists) return true;
  if (c.op === 'null') return c.values.includes(String(v === undefined)); // "true": the key is absent; "false": present
  if (c.set !== undefined) {
    // IAM's set operators: ForAllValues holds for no values at all, ForAnyValue needs one.
    const all = v === undefined ? [] : typeof v === 'string' ? [v] : v;
    return c.set === 'all' ? all.every((x) => holdsOne(c, x, context)) : all.some((x) => holdsOne(c, x, context));
  }
  if (c.kmsNames !== undefined && typeof v === 'string') {
    const named = context.kmsKey?.(v);
    if (named !== undefined) return holdsForKmsKey(c, v, named, context);
  }
  // A set key without a qualifier is refused at parse time; a list here has one value per key.
  return holdsOne(c, typeof v === 'string' || v === undefined ? v : v[0], context, unknown);
}

/**
 * The key name a policy value on s3:x-amz-server-side-encryption-aws-kms-key-id spells, as s3d
 * reads the header (sse/params.ts): after `arn:aws:kms:`, a region and account, and `key/` or
 * `alias/` (or `alias/` alone); the value itself when it has none of these. Wildcards and
 * variables stay, so `arn:aws:kms:*:*:key/tenant-*` is the pattern `tenant-*` on the name.
 */
function kmsKeyNamePart(value: string): string {
  const arn = /^arn:aws[^:]*:kms:(?:[^:/]*:[^:/]*:)?(.*)$/.exec(value);
  const rest = arn === null ? value : arn[1]!;
  const kind = /^(?:key|alias)\/(.*)$/.exec(rest);
  if (kind !== null && !(arn === null && rest.startsWith('key/'))) return kind[1]!;
  return rest;
}

/**
 * A string operator on s3:x-amz-server-side-encryption-aws-kms-key-id judges the KMS key the
 * request names, not one spelling of it: s3d reads `NAME`, `arn:aws:kms:NAME`, an AWS key or
 * alias ARN of any region and account, and `alias/NAME` as the same key (`alias/aws/s3` as the
 * default key), so a Deny naming it one way was passed by a request naming it another. The
 * positive operators hold when a value matches the header as sent, the key's name or (the
 * default key) `alias/aws/s3`, or when the name a value spells matches the key's name; the
 * negated ones when none does.
 */
function holdsForKmsKey(c: Condition, sent: string, named: { name: string; isDefault: boolean }, context: ConditionContext): boolean {
  const like = c.op === 'stringlike' || c.op === 'stringnotlike';
  const ignoreCase = c.op === 'stringequalsignorecase' || c.op === 'stringnotequalsignorecase';
  const test = (t: PolicyText, x: string): boolean => (like ? t.like(x, context) : ignoreCase ? t.equalsIgnoreCase(x, context) : t.equals(x, context));
  const spellings = [sent, named.name, ...(named.isDefault ? ['alias/aws/s3'] : [])];
  const any = spellings.some((x) => c.texts.some((t) => test(t, x))) || (c.kmsNames ?? []).some((t) => test(t, named.name));
  return NEGATED_STRING_OPERATORS.has(c.op) ? !any : any;
}

/**
 * The operator's test on one value of the key (undefined: the request has none). An IP condition
 * that a range this version cannot read decides counts as `unknown`: false in an Allow (it grants
 * nothing it cannot check), true in a Deny (it keeps denying), never an error per request.
 */
function holdsOne(c: Condition, v: string | undefined, context: ConditionContext, unknown = false): boolean {
  switch (c.op) {
    case 'stringequals':
      return v !== undefined && c.texts.some((t) => t.equals(v, context));
    case 'stringnotequals':
      return v === undefined || !c.texts.some((t) => t.equals(v, context));
    case 'stringequalsignorecase':
      return v !== undefined && c.texts.some((t) => t.equalsIgnoreCase(v, context));
    case 'stringnotequalsignorecase':
      return v === undefined || !c.texts.some((t) => t.equalsIgnoreCase(v, context));
    case 'stringlike':
      return v !== undefined && c.texts.some((t) => t.like(v, context));
    case 'stringnotlike':
      return v === undefined || !c.texts.some((t) => t.like(v, context));
    case 'arnequals':
    case 'arnlike':
      return v !== undefined && c.texts.some((t) => t.arnLike(v, context));
    case 'arnnotequals':
    case 'arnnotlike':
      return v === undefined || !c.texts.some((t) => t.arnLike(v, context));
    case 'bool':
      return v !== undefined && c.values.includes(v);
    case 'ipaddress':
      return v !== undefined && (inSome(v, c.ranges) || (unknown && c.ranges.includes(undefined)));
    case 'notipaddress':
      return v === undefined || (!inSome(v, c.ranges) && (unknown || !c.ranges.includes(undefined)));
    case 'null':
      return c.values.includes(String(v === undefined));
    default:
      return compares(c.op, v, c.values);
  }
}

/**
 * A Numeric or Date operator's test: true when the key's value compares so with one of the
 * condition's values (NotEquals: with none of them). A missing key, or a value of another type,
 * matches no value: false, except for NotEquals (IAM's rule for negated operators).
 */
function compares(op: `numeric${Comparison}` | `date${Comparison}`, v: string | undefined, values: readonly string[]): boolean {
  const date = op.startsWith('date');
  const parse = date ? policyDate : policyNumber;
  const comparison = op.slice(date ? 4 : 7) as Comparison;
  const x = v === undefined ? undefined : date ? requestDate(v) : requestNumber(v);
  if (comparison === 'notequals') return x === undefined || !values.some((w) => parse(w) === x);
  if (x === undefined) return false;
  return values.some((w) => {
    const y = parse(w)!;
    switch (comparison) {
      case 'equals':
        return x === y;
      case 'lessthan':
        return x < y;
      case 'lessthanequals':
        return x <= y;
      case 'greaterthan':
        return x > y;
      case 'greaterthanequals':
        return x >= y;
    }
  });
}

// ---- IP ranges (ip-ranges.ts)

/** The range; one that does not parse throws, or, for a stored policy, is listed in `unreadable`. */
function parseCidr(cidr: string, where: string, unreadable?: string[]): IpRange | undefined {
  const range = ipRange(cidr);
  if (range !== undefined) return range;
  if (unreadable === undefined) throw malformed(`${where}: ${JSON.stringify(cidr)} is not an IP address or CIDR range.`);
  if (!unreadable.includes(cidr)) unreadable.push(cidr);
  return undefined;
}

function inSome(ip: string, ranges: ReadonlyArray<IpRange | undefined>): boolean {
  return ranges.some((r) => r !== undefined && inRange(ip, r));
}
