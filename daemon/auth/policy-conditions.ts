// The Condition element of the IAM policies bucket-policy.ts reads (bucket and identity
// policies): its operators as IAM spells them, parsed strictly (the keys each compares, the
// values their type takes; what a stored policy holds that a written one may not, listed) and
// evaluated against a request's condition keys. Pure: no I/O.
import { parseIsoDateTime } from '../dates.js';
import { inRange, ipRange, type IpRange } from '../ip-ranges.js';
import { S3Error } from '../errors.js';
import { parsePolicyText, type PolicyText } from './policy-text.js';
import { ARN_KEYS, conditionKey, DATE_KEYS, KEY_SPELLING, keyFamily, KMS_KEY_ID, MULTI_VALUED, NUMERIC_KEYS, STRING_TYPED_NUMBERS, SUPPORTED_KEYS, TLS_VERSIONS, variableKey } from './policy-keys.js';

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

export interface Condition {
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

/**
 * What a stored policy holds that this version refuses when a policy is written but reads (parsed
 * with `stored`): IP ranges it no longer takes and operators that name no key, failing closed;
 * operators not spelt as IAM spells them (`stringequals`), as the operator they name, as before.
 */
export interface StoredFaults {
  ranges: string[];
  emptyConditions: string[];
  miscased: string[];
}

function malformed(message: string): S3Error {
  return new S3Error('MalformedPolicy', message);
}

// Operators on text, which take policy variables and ForAnyValue:/ForAllValues:.
const STRING_OPERATORS: ReadonlySet<string> = new Set(['stringequals', 'stringnotequals', 'stringequalsignorecase', 'stringnotequalsignorecase', 'stringlike', 'stringnotlike', 'arnequals', 'arnlike', 'arnnotequals', 'arnnotlike']);
/** The string operators that hold when no value matches (and for a missing key). */
const NEGATED_STRING_OPERATORS: ReadonlySet<string> = new Set(['stringnotequals', 'stringnotequalsignorecase', 'stringnotlike']);

export function parseConditions(raw: unknown, where: string, variables: boolean, faults: StoredFaults | undefined): Condition[] {
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

/** `unknown`: what a condition that cannot be evaluated counts as (see holdsOne). */
export function holds(c: Condition, context: ConditionContext, unknown: boolean): boolean {
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
