// Property test of auth/users.ts parseUsers: from a valid S3_IAM_FILE, seeded random mutations of
// its JSON tree (fields deleted, retyped, duplicated, renamed to prototype keys such as __proto__
// and constructor, arrays where objects go and the reverse, huge strings, unicode, policy names
// and references that are Object.prototype members) and of its text (truncation, stray bytes,
// NaN/Infinity/undefined tokens, duplicate keys, \u-escaped __proto__, deep nesting). Each input is
// either parsed into a directory that holds exactly the file's users (and answers undefined for
// names it does not hold, prototype members included) or refused with an IamFileError naming the
// file: never another exception, never slow; and Object.prototype (and Array/Function's) is
// exactly as before. The hand-picked cases run first.

import t from 'tap';
import { IamFileError, parseUsers, type UserDirectory } from '../../../../daemon/auth/users.js';
import { prng } from '../../../helpers/daemon.js';

const SEED = 0x1a3f_11e5;
// A fixed number of cases, not as many as a time budget allows: on a loaded machine the budget
// ran fewer than the 1,000 the test asked for (918 in 3.5 s with the whole suite running).
const CASES = 1500;
/** CPU milliseconds one parse may take: a blow-up (quadratic, exponential) takes seconds. */
const SLOW_MS = 1000;
const ROOT = 'rootadmin';
const FILE = 'fuzz-iam.json';
const CANNED = ['readwrite', 'readonly', 'writeonly'];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', '__lookupSetter__', 'propertyIsEnumerable', 'toLocaleString'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Rnd = ReturnType<typeof prng>;

const policy = (...Statement: Json[]): Json => ({ Version: '2012-10-17', Statement });

const BASE: Json = {
  policies: {
    'photos-rw': policy({ Sid: 'rw', Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::photos', 'arn:aws:s3:::photos/*'] }),
    'no-secret': { Version: '2012-10-17', Statement: { Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/secret/*' } },
    'office.only_1': policy({
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:List*'],
      Resource: 'arn:aws:s3:::reports/*',
      Condition: { IpAddress: { 'aws:SourceIp': ['10.1.0.0/16', '::1/128'] }, StringLike: { 'aws:UserAgent': '*boto*' }, Bool: { 'aws:SecureTransport': 'true' } },
    }),
  },
  users: [
    { accessKey: 'app1', secretKey: 'app1-secret-key', policies: ['photos-rw', 'no-secret'], comment: 'the photo app' },
    { accessKey: 'viewer@corp', secretKey: 'viewer-secret', policies: ['readonly'] },
    { accessKey: 'drop-box.3', secretKey: 'drop-secret-1', policies: ['writeonly', 'office.only_1'] },
  ],
};

/** A JSON value with own keys set as data properties (`__proto__` stays an own key, never a prototype). */
function setKey(o: Record<string, Json>, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
}

function clone(v: Json): Json {
  return JSON.parse(JSON.stringify(v)) as Json;
}

// ---- what must hold after one call

type Outcome = { kind: 'accepted'; dir: UserDirectory } | { kind: 'refused'; err: IamFileError } | { kind: 'threw'; err: unknown };

/**
 * Parses `text`; `ms` is the CPU time it took (this process's, user and system), not the wall
 * time: the check is for inputs that make parsing blow up, and a full suite on two cores once
 * took 508 ms of wall time for what needs ~250 alone.
 */
function attempt(text: string): { outcome: Outcome; ms: number } {
  const started = process.cpuUsage();
  let outcome: Outcome;
  try {
    outcome = { kind: 'accepted', dir: parseUsers(text, ROOT, FILE) };
  } catch (err) {
    outcome = err instanceof IamFileError ? { kind: 'refused', err } : { kind: 'threw', err };
  }
  const used = process.cpuUsage(started);
  return { outcome, ms: (used.user + used.system) / 1000 };
}

const ACCESS_KEY = /^[A-Za-z0-9._@+=-]{3,128}$/;
const POLICY_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** What is wrong with the answer to `text`: [] when it is a faithful directory or an IamFileError. */
function problemsOf(text: string, outcome: Outcome): string[] {
  if (outcome.kind === 'threw') {
    const e = outcome.err as Error;
    return [`threw ${e?.constructor?.name ?? typeof e} (not IamFileError): ${String(e?.message ?? e).slice(0, 200)}`];
  }
  if (outcome.kind === 'refused') {
    const e = outcome.err;
    const out: string[] = [];
    if (e.name !== 'IamFileError') out.push(`IamFileError named ${e.name}`);
    if (typeof e.message !== 'string' || !e.message.startsWith(`${FILE}: `)) out.push(`message does not name the file: ${String(e.message).slice(0, 120)}`);
    return out;
  }
  // Accepted: the directory holds exactly the file's users, as written.
  const dir = outcome.dir;
  const out: string[] = [];
  if (typeof dir.get !== 'function' || !Number.isInteger(dir.size) || dir.size < 0) return [`not a directory: size ${String(dir.size)}`];
  let doc: { policies?: Record<string, unknown>; groups?: Record<string, { policies?: unknown }>; users?: Array<Record<string, unknown>> };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    return ['accepted a file that is not JSON'];
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.users)) return ['accepted a file without a users list'];
  const defined = doc.policies === undefined ? [] : Object.keys(doc.policies);
  for (const name of defined) {
    if (!POLICY_NAME.test(name)) out.push(`accepted policy name ${JSON.stringify(name.slice(0, 40))}`);
    if (CANNED.includes(name)) out.push(`accepted a redefinition of built-in policy ${name}`);
  }
  if (dir.size !== doc.users.length) out.push(`size ${dir.size}, the file lists ${doc.users.length} users`);
  const keys = new Set<string>();
  for (const u of doc.users) {
    const key = u.accessKey as string;
    keys.add(key);
    if (typeof key !== 'string' || !ACCESS_KEY.test(key)) out.push(`accepted accessKey ${JSON.stringify(String(key).slice(0, 40))}`);
    if (key === ROOT) out.push('accepted the root user as a user');
    if (typeof u.secretKey !== 'string' || u.secretKey.length < 8 || u.secretKey.length > 256) out.push(`accepted secretKey of ${typeof u.secretKey === 'string' ? u.secretKey.length : typeof u.secretKey} characters`);
    // Its own policies and its groups', each once.
    const own = (u.policies ?? []) as unknown;
    const memberOf = (u.groups ?? []) as unknown;
    if (!Array.isArray(own) || !Array.isArray(memberOf)) {
      out.push(`accepted policies ${JSON.stringify(own)?.slice(0, 60)} and groups ${JSON.stringify(memberOf)?.slice(0, 60)}`);
      continue;
    }
    const fromGroups = memberOf.flatMap((g) => (Object.hasOwn(doc.groups ?? {}, g as string) && Array.isArray(doc.groups![g as string]!.policies) ? (doc.groups![g as string]!.policies as unknown[]) : [`(no group ${String(g)})`]));
    const names = [...new Set([...own, ...fromGroups])];
    if (names.length === 0) {
      out.push('accepted a user without policies');
      continue;
    }
    for (const n of names) if (typeof n !== 'string' || (!CANNED.includes(n) && !defined.includes(n))) out.push(`accepted a reference to policy ${JSON.stringify(n)?.slice(0, 40)} that the file does not define`);
    const got = dir.get(key);
    if (got === undefined) {
      out.push(`user ${JSON.stringify(key)} is missing from the directory`);
      continue;
    }
    if (got.accessKey !== key || got.secretKey !== u.secretKey) out.push(`user ${JSON.stringify(key)} holds other keys`);
    if (JSON.stringify(got.policyNames) !== JSON.stringify(names)) out.push(`user ${JSON.stringify(key)}: policies ${JSON.stringify(got.policyNames)}, the file says ${JSON.stringify(names)}`);
    if (!Array.isArray(got.policies) || got.policies.length !== names.length || !got.policies.every((p) => p !== null && typeof p === 'object' && Array.isArray(p.statements))) out.push(`user ${JSON.stringify(key)}: parsed policies are not one per name`);
  }
  for (const probe of [...PROTO_KEYS, ROOT, 'nobody', '', 'APP1']) {
    if (!keys.has(probe) && dir.get(probe) !== undefined) out.push(`get(${JSON.stringify(probe)}) answers a user the file does not hold`);
  }
  return out;
}

// ---- Object.prototype and friends: nothing added, removed or redefined

interface Snapshot {
  names: Record<string, string[]>;
  descriptors: Map<string, PropertyDescriptor>;
}

function snapshot(): Snapshot {
  const targets: Record<string, object> = { Object: Object.prototype, Array: Array.prototype, Function: Function.prototype, String: String.prototype, Map: Map.prototype };
  const names: Record<string, string[]> = {};
  const descriptors = new Map<string, PropertyDescriptor>();
  for (const [n, o] of Object.entries(targets)) {
    names[n] = Reflect.ownKeys(o).map(String).sort();
    for (const k of Reflect.ownKeys(o)) descriptors.set(`${n}.${String(k)}`, Object.getOwnPropertyDescriptor(o, k)!);
  }
  return { names, descriptors };
}

const PRISTINE = snapshot();

/** What changed on the built-in prototypes since the start ([] when nothing). */
function pollution(): string[] {
  const now = snapshot();
  const out: string[] = [];
  for (const n of Object.keys(PRISTINE.names)) {
    const added = now.names[n]!.filter((k) => !PRISTINE.names[n]!.includes(k));
    const removed = PRISTINE.names[n]!.filter((k) => !now.names[n]!.includes(k));
    if (added.length > 0) out.push(`${n}.prototype gained ${added.join(', ')}`);
    if (removed.length > 0) out.push(`${n}.prototype lost ${removed.join(', ')}`);
  }
  for (const [k, v] of PRISTINE.descriptors) {
    const w = now.descriptors.get(k);
    if (w !== undefined && (w.value !== v.value || w.get !== v.get || w.set !== v.set || w.writable !== v.writable || w.enumerable !== v.enumerable || w.configurable !== v.configurable)) out.push(`${k} redefined`);
  }
  const probe = {} as Record<string, unknown>;
  for (const k of ['polluted', 'isAdmin', 'accessKey', 'secretKey', 'policies', 'users', 'Effect', 'Allow', 'statements', 'x']) if (k in probe) out.push(`({}).${k} is ${String(probe[k])}`);
  if (Object.getPrototypeOf(probe) !== Object.prototype) out.push('{} has another prototype');
  return out;
}

// ---- hand-picked

const valid = (): Record<string, Json> => clone(BASE) as Record<string, Json>;
const users = (doc: Record<string, Json>): Array<Record<string, Json>> => doc.users as Array<Record<string, Json>>;
const policies = (doc: Record<string, Json>): Record<string, Json> => doc.policies as Record<string, Json>;
/** A JSON object with one own key `k` (also `__proto__`). */
function withOwn(k: string, v: Json, rest: Record<string, Json> = {}): Record<string, Json> {
  const o = { ...rest };
  setKey(o, k, v);
  return o;
}

t.test('the base file parses into its three users', async (t) => {
  const { outcome } = attempt(JSON.stringify(BASE));
  t.equal(outcome.kind, 'accepted', 'accepted');
  t.same(problemsOf(JSON.stringify(BASE), outcome), [], 'a faithful directory');
  if (outcome.kind === 'accepted') {
    t.equal(outcome.dir.size, 3, 'three users');
    t.equal(outcome.dir.get('app1')?.secretKey, 'app1-secret-key', 'app1 with its secret');
    t.equal(outcome.dir.get('constructor'), undefined, 'get("constructor") is undefined');
    t.equal(outcome.dir.get('__proto__'), undefined, 'get("__proto__") is undefined');
  }
});

t.test('hand-picked files: null, prototype keys, NaN, deep nesting, huge values', async (t) => {
  const cases: Array<[string, string, 'accepted' | 'refused' | 'either']> = [];
  const add = (what: string, v: Json | string, expect: 'accepted' | 'refused' | 'either'): void => {
    cases.push([what, typeof v === 'string' ? v : JSON.stringify(v), expect]);
  };
  let doc = valid();
  doc.policies = null;
  add('"policies": null', doc, 'refused');
  add('"policies": null and no users', '{"policies":null,"users":[]}', 'refused');
  add('"users": null', '{"users":null}', 'refused');
  add('"policies": [] (a list)', '{"policies":[],"users":[]}', 'refused');
  add('"policies": "readwrite"', '{"policies":"readwrite","users":[]}', 'refused');
  add('"policies": 0', '{"policies":0,"users":[]}', 'refused');
  add('"policies": true', '{"policies":true,"users":[]}', 'refused');
  add('the file is null', 'null', 'refused');
  add('the file is a list', JSON.stringify([BASE]), 'refused');
  add('the file is a string', JSON.stringify(JSON.stringify(BASE)), 'refused');
  add('empty', '', 'refused');
  add('{}', '{}', 'refused');
  add('NaN for a secret', JSON.stringify(BASE).replace('"app1-secret-key"', 'NaN'), 'refused');
  add('Infinity in a Condition', JSON.stringify(BASE).replace('"true"', 'Infinity'), 'refused');
  add('undefined for a field', JSON.stringify(BASE).replace('"the photo app"', 'undefined'), 'refused');
  add('a BOM first', `\ufeff${JSON.stringify(BASE)}`, 'either');
  add('a top-level "__proto__" field', withOwn('__proto__', { polluted: 'yes' }, valid()), 'refused');
  add('a top-level "constructor" field', withOwn('constructor', { prototype: { polluted: 'yes' } }, valid()), 'refused');
  add('"__proto__" escaped as \\u005f\\u005fproto\\u005f\\u005f', JSON.stringify(BASE).replace('{"policies"', '{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"},"policies"'), 'refused');
  doc = valid();
  users(doc)[0] = withOwn('__proto__', { isAdmin: true }, users(doc)[0]!);
  add('a user with a "__proto__" field', doc, 'refused');
  doc = valid();
  users(doc)[0] = withOwn('constructor', 'x', users(doc)[0]!);
  add('a user with a "constructor" field', doc, 'refused');
  for (const name of PROTO_KEYS) {
    doc = valid();
    users(doc)[1]!.policies = [name];
    add(`a reference to policy ${name}, not defined`, doc, 'refused');
    doc = valid();
    setKey(policies(doc), name, policies(doc)['no-secret']!);
    users(doc)[1]!.policies = [name, 'readonly'];
    add(`policy ${name} defined and referenced`, doc, POLICY_NAME.test(name) ? 'accepted' : 'refused');
    doc = valid();
    users(doc)[2]!.accessKey = name;
    add(`accessKey ${name}`, doc, ACCESS_KEY.test(name) ? 'accepted' : 'refused');
  }
  doc = valid();
  setKey(policies(doc), '__proto__', { polluted: 'yes' } as Json);
  add('policy "__proto__" that is no policy', doc, 'refused');
  doc = valid();
  (policies(doc)['photos-rw'] as Record<string, Json[]>).Statement![0] = withOwn('__proto__', { Effect: 'Allow' }, (policies(doc)['photos-rw'] as Record<string, Json[]>).Statement![0] as Record<string, Json>);
  add('a Statement with a "__proto__" element', doc, 'refused');
  doc = valid();
  ((policies(doc)['office.only_1'] as Record<string, Json[]>).Statement![0] as Record<string, Json>).Condition = withOwn('__proto__', { 'aws:SourceIp': '0.0.0.0/0' });
  add('a Condition operator "__proto__"', doc, 'refused');
  doc = valid();
  ((policies(doc)['office.only_1'] as Record<string, Json[]>).Statement![0] as Record<string, Json>).Condition = { StringLike: withOwn('constructor', 'x') };
  add('a Condition key "constructor"', doc, 'refused');
  doc = valid();
  users(doc)[0]!.accessKey = ROOT;
  add('the root user as a user', doc, 'refused');
  doc = valid();
  users(doc).push(clone(users(doc)[0]!) as Record<string, Json>);
  add('a user twice', doc, 'refused');
  doc = valid();
  setKey(policies(doc), 'readwrite', policies(doc)['photos-rw']!);
  add('the built-in readwrite redefined', doc, 'refused');
  doc = valid();
  users(doc)[0]!.secretKey = 'x'.repeat(1_000_000);
  add('a 1 MB secret key', doc, 'refused');
  doc = valid();
  users(doc)[0]!.accessKey = 'k'.repeat(1_000_000);
  add('a 1 MB access key', doc, 'refused');
  doc = valid();
  setKey(policies(doc), 'p'.repeat(1_000_000), policies(doc)['no-secret']!);
  add('a 1 MB policy name', doc, 'refused');
  doc = valid();
  users(doc)[0]!.accessKey = 'ab\ud800cd';
  add('a lone surrogate in an access key', doc, 'refused');
  doc = valid();
  users(doc)[0]!.comment = '\u0000\u202e\u{1F525}';
  add('control and bidi characters in a comment', doc, 'accepted');
  const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
  add('100 000 nested lists as the file', deep(100_000), 'refused');
  add('100 000 unclosed lists', '['.repeat(100_000), 'refused');
  add('a comment nested 10 000 deep', JSON.stringify(BASE).replace('"the photo app"', deep(10_000)), 'accepted');
  add('a Statement nested 100 000 deep', JSON.stringify(BASE).replace('"Statement":{', `"Statement":${'['.repeat(100_000)}{`).replace('"arn:aws:s3:::photos/secret/*"}', `"arn:aws:s3:::photos/secret/*"}${']'.repeat(100_000)}`), 'refused');
  add('100 000 nested objects in a comment', JSON.stringify(BASE).replace('"the photo app"', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`), 'accepted');
  add('duplicate "policies" keys, null last', JSON.stringify(BASE).replace(/}$/, ',"policies":null}'), 'refused');
  add('duplicate "users" keys, a string last', JSON.stringify(BASE).replace(/}$/, ',"users":"app1"}'), 'refused');
  doc = valid();
  doc.users = Array.from({ length: 20_000 }, (_, i) => ({ accessKey: `user-${i}`, secretKey: `secret-of-${i}`, policies: ['readonly'] }));
  add('20 000 users', doc, 'accepted');
  doc = valid();
  users(doc)[0]!.policies = Array.from({ length: 50_000 }, () => 'photos-rw');
  add('one user naming a policy 50 000 times', doc, 'accepted');
  doc = valid();
  users(doc)[0] = [users(doc)[0]!] as unknown as Record<string, Json>;
  add('a user as a list', doc, 'refused');
  doc = valid();
  doc.users = users(doc)[0]!;
  add('"users" as one object', doc, 'refused');
  doc = valid();
  users(doc)[0]!.policies = { 0: 'photos-rw' };
  add('a user\'s policies as an object', doc, 'refused');

  for (const [what, text, expect] of cases) {
    const { outcome, ms } = attempt(text);
    t.same(problemsOf(text, outcome), [], `${what}: ${outcome.kind === 'threw' ? `threw ${(outcome.err as Error)?.name}` : outcome.kind} (${ms.toFixed(1)} ms)`);
    if (expect !== 'either') t.equal(outcome.kind, expect, `${what}: ${expect}${outcome.kind === 'refused' ? ` (${outcome.err.message.slice(0, 140)})` : ''}`);
    t.ok(ms < SLOW_MS, `${what}: answered in ${ms.toFixed(1)} ms`);
  }
  t.same(pollution(), [], 'no built-in prototype changed');
});

// ---- the fuzzer

const UNICODE = ['é', 'ключ', '\u{1F525}', '\ud800', '\udfff', '\u0000', '\u202e', '\u200b', '\uffff', 'e\u0301', '\u2028'];

function weird(rnd: Rnd): Json {
  return rnd.pick<() => Json>([
    () => null,
    () => true,
    () => false,
    () => 0,
    () => -1,
    () => 1.5,
    () => 1e308,
    () => -0,
    () => '',
    () => ' ',
    () => rnd.pick(['x', 'é', '\u{1F525}', 'a-b']).repeat(rnd.pick([2, 3, 7, 8, 128, 129, 256, 257, 5000, 20_000])),
    () => rnd.pick(UNICODE).repeat(1 + rnd.int(5)),
    () => [],
    () => ({}),
    () => [[]],
    () => ({ a: {} }),
    () => ['readwrite'],
    () => rnd.pick(PROTO_KEYS),
    () => [rnd.pick(PROTO_KEYS)],
    () => ({ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::*' }),
    () => withOwn('__proto__', { polluted: 'yes', isAdmin: true }),
    () => withOwn('constructor', { prototype: { polluted: 'yes' } }),
    () => Array.from({ length: rnd.pick([2, 100, 1000]) }, () => 'readonly'),
    () => clone(policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' })),
    () => rnd.pick(['readwrite', 'readonly', 'writeonly', ROOT, 's3:*', 'arn:aws:s3:::*', '2012-10-17', 'Allow', 'Deny', 'app1', '10.0.0.0/8', '::/0']),
  ])();
}

/** Every (container, key) of the tree, iteratively. */
function slots(root: Json): Array<{ parent: Record<string, Json> | Json[]; key: string | number }> {
  const out: Array<{ parent: Record<string, Json> | Json[]; key: string | number }> = [];
  const stack: Json[] = [root];
  while (stack.length > 0 && out.length < 5000) {
    const v = stack.pop()!;
    if (Array.isArray(v)) {
      if (v.length > 200) continue;
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        stack.push(x);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        out.push({ parent: v, key: k });
        stack.push(v[k]!);
      }
    }
  }
  return out;
}

function objects(root: Json): Array<Record<string, Json>> {
  const out: Array<Record<string, Json>> = Array.isArray(root) || root === null || typeof root !== 'object' ? [] : [root];
  for (const s of slots(root)) {
    const v = (s.parent as Record<string, Json>)[s.key as string];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(v);
  }
  return out;
}

function put(slot: { parent: Record<string, Json> | Json[]; key: string | number }, v: Json): void {
  if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = v;
  else setKey(slot.parent, slot.key as string, v);
}

function get(slot: { parent: Record<string, Json> | Json[]; key: string | number }): Json {
  return (slot.parent as Record<string, Json>)[slot.key as string]!;
}

/** One mutation of the tree (in place; may return a new root). */
function mutateTree(rnd: Rnd, root: Json): Json {
  const all = slots(root);
  if (all.length === 0) return rnd.bool() ? clone(BASE) : weird(rnd);
  const slot = rnd.pick(all);
  const doc = root as Record<string, Json>;
  const userList = Array.isArray(doc?.users) ? (doc.users as Json[]).filter((u): u is Record<string, Json> => u !== null && typeof u === 'object' && !Array.isArray(u)) : [];
  const pol = doc?.policies !== null && typeof doc?.policies === 'object' && !Array.isArray(doc.policies) ? (doc.policies as Record<string, Json>) : undefined;
  switch (rnd.int(12)) {
    case 0:
      // Delete a field or an element.
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
      else delete slot.parent[slot.key as string];
      return root;
    case 1:
      // Retype.
      put(slot, weird(rnd));
      return root;
    case 2: {
      // Duplicate: an element again, or the field under a near-miss or prototype name.
      if (Array.isArray(slot.parent)) slot.parent.push(clone(get(slot)));
      else {
        const k = slot.key as string;
        setKey(slot.parent, rnd.pick([k.toLowerCase(), k.toUpperCase(), `${k} `, ` ${k}`, `${k}\u0000`, rnd.pick(PROTO_KEYS)]), clone(get(slot)));
      }
      return root;
    }
    case 3: {
      // Rename a field.
      if (Array.isArray(slot.parent)) return root;
      const v = get(slot);
      delete slot.parent[slot.key as string];
      setKey(slot.parent, rnd.pick([...PROTO_KEYS, ...PROTO_KEYS, 'comment', 'Policies', 'user', '', rnd.pick(UNICODE)]), v);
      return root;
    }
    case 4: {
      // A prototype key added to some object.
      const o = rnd.pick(objects(root).length > 0 ? objects(root) : [doc]);
      if (o === null || typeof o !== 'object') return root;
      setKey(o, rnd.pick(PROTO_KEYS), rnd.bool() ? withOwn('polluted', 'yes') : weird(rnd));
      return root;
    }
    case 5: {
      // Arrays where objects go and the reverse.
      const v = get(slot);
      if (Array.isArray(v)) put(slot, rnd.bool() ? Object.fromEntries(v.map((x, i) => [String(i), x])) : (v[0] ?? null));
      else if (v !== null && typeof v === 'object') put(slot, rnd.bool() ? [v] : Object.values(v));
      else put(slot, [v]);
      return root;
    }
    case 6: {
      // Swap two values.
      const other = rnd.pick(all);
      const a = get(slot);
      put(slot, get(other));
      put(other, a);
      return root;
    }
    case 7: {
      // A user's fields set to interesting values.
      if (userList.length === 0) return root;
      const u = rnd.pick(userList);
      const field = rnd.pick(['accessKey', 'secretKey', 'policies', 'comment']);
      const others = userList.map((x) => x.accessKey);
      const values: Record<string, Json[]> = {
        accessKey: [ROOT, rnd.pick(others) ?? 'app1', ...PROTO_KEYS, 'ab', 'abc', 'k'.repeat(128), 'k'.repeat(129), 'bad key', 'é-key', 'APP1', 'a/b', '', 7],
        secretKey: ['1234567', '12345678', 's'.repeat(256), 's'.repeat(257), '', 12345678, 'ключ-ключ', '\u0000'.repeat(8)],
        policies: [[], ['readwrite', 'readwrite'], ['nope'], [1], 'readwrite', [rnd.pick(PROTO_KEYS)], [null], [['readonly']], ['READONLY'], [' readonly'], Object.keys(pol ?? {}).slice(0, 1)],
        comment: [null, weird(rnd), { nested: [1, 2, 3] }],
      };
      setKey(u, field, clone(rnd.pick(values[field]!)));
      return root;
    }
    case 8: {
      // A policy defined under an odd name, and used.
      if (pol === undefined) return root;
      const name = rnd.pick([...PROTO_KEYS, ...CANNED, '', 'p'.repeat(128), 'p'.repeat(129), 'has space', 'ünï', 'a/b', 'x', 'ok.name_1-2']);
      setKey(pol, name, rnd.bool(0.7) ? clone(pol[rnd.pick(Object.keys(pol))] ?? policy({ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::*' })) : weird(rnd));
      if (userList.length > 0 && rnd.bool(0.7)) setKey(rnd.pick(userList), 'policies', [name]);
      return root;
    }
    case 9: {
      // A policy document's parts set to odd values.
      if (pol === undefined || Object.keys(pol).length === 0) return root;
      const p = pol[rnd.pick(Object.keys(pol))];
      if (p === null || typeof p !== 'object' || Array.isArray(p)) return root;
      const st = Array.isArray(p.Statement) ? p.Statement[0] : p.Statement;
      const target = rnd.bool(0.3) || st === null || typeof st !== 'object' || Array.isArray(st) ? p : st;
      const field = rnd.pick(target === p ? ['Version', 'Statement', 'Id', ...PROTO_KEYS] : ['Sid', 'Effect', 'Action', 'Resource', 'Condition', 'Principal', 'NotAction', 'NotResource', ...PROTO_KEYS]);
      const values: Json[] = [
        weird(rnd),
        'allow',
        'Allow',
        '2008-10-17',
        '2012-10-18',
        's3:*',
        ['s3:Get*', 's3:??t*'],
        'iam:*',
        'arn:aws:s3:::',
        'arn:aws:s3:::*',
        '*',
        { AWS: '*' },
        { IpAddress: { 'aws:SourceIp': rnd.pick(['10.0.0.0/', '::1/129', '1.2.3.4/33', '300.0.0.1', '::ffff:1.2.3.4/96', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', '::1::2', '']) } },
        { Bool: { 'aws:SecureTransport': rnd.pick(['true', 'TRUE', true, 1, []]) } },
        withOwn(rnd.pick(PROTO_KEYS), { 'aws:SourceIp': '10.0.0.0/8' }),
        { StringLike: withOwn(rnd.pick(PROTO_KEYS), 'x') },
        { StringEquals: { 's3:prefix': Array.from({ length: 3000 }, (_, i) => `p${i}`) } },
      ];
      setKey(target, field, clone(rnd.pick(values)));
      return root;
    }
    case 10:
      // The whole users list or policies map replaced.
      setKey(doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? doc : (root = {} as Json) as Record<string, Json>, rnd.pick(['users', 'policies']), weird(rnd));
      return root;
    default:
      // The root replaced by something else that holds it.
      return rnd.pick<() => Json>([() => [root], () => withOwn('__proto__', root), () => ({ users: root }), () => weird(rnd)])();
  }
}

/** One mutation of the text. */
function mutateText(rnd: Rnd, text: string): string {
  const at = rnd.int(text.length + 1);
  switch (rnd.int(9)) {
    case 0:
      return text.slice(0, at);
    case 1: {
      const chars = text.split('');
      for (let i = 1 + rnd.int(4); i > 0; i--) chars[rnd.int(chars.length)] = rnd.pick(['{', '}', '[', ']', '"', ',', ':', '\\', '\u0000', '\ud800', 'x', ' ', '\n']);
      return chars.join('');
    }
    case 2: {
      // Tokens JSON does not have, where a value goes.
      const token = rnd.pick(['NaN', 'Infinity', '-Infinity', 'undefined', '0x10', '1e999', '-1e999', '.5', '+1', '01', "'single'", 'true1', 'nul']);
      const m = [...text.matchAll(/:(\s*)("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*|true|false|null)/g)];
      if (m.length === 0) return `${text}${token}`;
      const pick = rnd.pick(m);
      return text.slice(0, pick.index + 1) + token + text.slice(pick.index + pick[0].length);
    }
    case 3:
      return rnd.pick([`\ufeff${text}`, ` \n${text}\t`, `${text},`, `${text}${text}`, `${text} // comment`, `/* c */${text}`, `${text}\u0000`, `${text}}`]);
    case 4: {
      // Deep nesting at a value.
      const n = rnd.pick([100, 5000, 20_000]);
      const nest = rnd.pick([`${'['.repeat(n)}${']'.repeat(n)}`, `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`, '['.repeat(n), `${'{"__proto__":'.repeat(n)}{}${'}'.repeat(n)}`]);
      return text.replace(/:("(?:[^"\\]|\\.)*"|\[[^\]]*\])/, `:${nest}`);
    }
    case 5:
      // A duplicate key that wins (JSON.parse keeps the last).
      return text.replace(/}\s*$/, `,${JSON.stringify(rnd.pick(['policies', 'users', '__proto__', 'constructor']))}:${rnd.pick(['null', '[]', '{}', '"x"', '0', 'true', '{"__proto__":{"polluted":"yes"}}', '[null]'])}}`);
    case 6: {
      // A key spelled with \u escapes (the same key once parsed).
      const keys = [...text.matchAll(/"([A-Za-z_]+)":/g)];
      if (keys.length === 0) return text;
      const k = rnd.pick(keys);
      const target = rnd.bool() ? k[1]! : rnd.pick(PROTO_KEYS);
      const escaped = [...target].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
      return text.slice(0, k.index) + `"${escaped}":` + text.slice(k.index + k[0].length);
    }
    case 7: {
      // One user repeated many times.
      const m = /"users":\[(\{[^[\]]*?(?:\[[^\]]*\][^[\]]*?)*\})/.exec(text);
      if (!m) return text;
      return text.replace('"users":[', `"users":[${`${m[1]},`.repeat(rnd.pick([2, 300, 3000]))}`);
    }
    default:
      return text.slice(0, at) + rnd.pick(['"', '\\', '\\u', '\\ud800', '\\uZZZZ', '\n', '\t', '\u2028', '\u{1F525}']) + text.slice(at);
  }
}

t.test(`seeded mutations (seed 0x${SEED.toString(16)}): IamFileError or a faithful directory, fast, no prototype pollution`, async (t) => {
  t.comment(`seed 0x${SEED.toString(16)} (${SEED})`);
  const rnd = prng(SEED);
  const problems: string[] = [];
  const counts = { accepted: 0, refused: 0, threw: 0 };
  const reasons: Record<string, number> = {};
  let slowest = { ms: 0, what: '' };
  const started = performance.now();
  let done = 0;
  for (let i = 0; i < CASES; i++) {
    let text: string;
    try {
      let root = clone(BASE);
      for (let n = 1 + rnd.int(3); n > 0; n--) root = mutateTree(rnd, root);
      text = JSON.stringify(root) ?? 'null';
      if (rnd.bool(0.35)) text = mutateText(rnd, text);
      if (rnd.bool(0.1)) text = mutateText(rnd, text);
    } catch (err) {
      problems.push(`#${i}: the mutator failed: ${(err as Error).message}`);
      continue;
    }
    const { outcome, ms } = attempt(text);
    counts[outcome.kind]++;
    if (outcome.kind === 'refused') {
      const reason = outcome.err.message.replace(`${FILE}: `, '').replace(/"[^"]*"|\d+/g, '…').slice(0, 60);
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
    if (ms > slowest.ms) slowest = { ms, what: `#${i} (${text.length} characters)` };
    for (const p of problemsOf(text, outcome)) problems.push(`#${i} ${p}\n    input (${text.length} characters): ${JSON.stringify(text.slice(0, 300))}`);
    if (ms > SLOW_MS) problems.push(`#${i} took ${ms.toFixed(0)} ms (${text.length} characters)`);
    if (i % 500 === 0) for (const p of pollution()) problems.push(`#${i} pollution: ${p}`);
    done++;
  }
  const elapsed = performance.now() - started;
  t.comment(`${done} cases in ${elapsed.toFixed(0)} ms: ${JSON.stringify(counts)}; slowest ${slowest.ms.toFixed(1)} ms ${slowest.what}`);
  t.comment(`refusals: ${JSON.stringify(Object.fromEntries(Object.entries(reasons).sort((a, b) => b[1] - a[1]).slice(0, 25)))}`);
  t.equal(done, CASES, `${done} cases run`);
  t.ok(counts.accepted > 0 && counts.refused > 0, `both outcomes seen (${counts.accepted} accepted, ${counts.refused} refused)`);
  const threw = problems.filter((p) => p.includes('(not IamFileError)'));
  const kinds = [...new Set(threw.map((p) => p.replace(/^#\d+ /, '').split('\n')[0]))];
  t.same(threw.slice(0, 5), [], `no exception but IamFileError (${threw.length} cases; ${kinds.length} distinct: ${kinds.join(' | ')})`);
  const other = problems.filter((p) => !p.includes('(not IamFileError)'));
  t.same(other.slice(0, 10), [], `every directory is faithful, every refusal names the file, nothing slow (${other.length} problems)`);
  t.same(pollution(), [], 'Object.prototype, Array.prototype, Function.prototype, String.prototype and Map.prototype are as before');
});
