// Hostile input for bucket versioning and S3 Object Lock, against one real daemon (plain HTTP).
// A lock-enabled bucket holds protected versions (one under GOVERNANCE retention, one under
// COMPLIANCE behind a delete marker, one under a legal hold, unlocked versions between delete
// markers) and a plain versioned bucket holds versions, markers and a null version. Then:
// hand-picked documents (external entities, entity expansion, several roots, wrong nesting, huge,
// empty, odd dates, lower-case modes, Days and Years together, misspelled elements), version ids the
// store cannot place, odd x-amz-bypass-governance-retention values, and a seeded fuzzer over the
// request documents of PUT ?versioning / ?object-lock / ?retention / ?legal-hold and POST ?delete,
// versionId on every versioned operation, x-amz-copy-source ?versionId=, ListObjectVersions
// markers and x-amz-object-lock-* headers on PutObject, CopyObject and CreateMultipartUpload.
//
// After every request: the answer is a well-formed S3 XML error (4xx, or 501 NotImplemented) or a
// legitimate success, within a deadline, never 5xx; and the protected state reads back unchanged:
// both ListObjectVersions listings (ids, IsLatest, delete markers), the retention and legal hold
// of the locked versions, their bodies, the bucket's Object Lock configuration and both
// versioning states. A success may change only what its (strictly valid) request asked for, in
// a way S3 allows (a retention extended, a legal hold switched, a configuration replaced); such a
// change is checked against the request and then put back. The daemon ends alive and healthy.

import t, { type Test } from 'tap';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Agent } from 'node:http';
import { prng, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { errorCode, xmlField } from '../helpers/http.js';
import { answerProblems, exchange as hostileExchange, recorder, type Answer, type Recorder, type Req } from '../helpers/hostile.js';
import { sleep } from '../helpers/wait.js';

const SEED = 0x5eed_7e57;
const FUZZ_CASES = 600;
const FUZZ_BUDGET_MS = 22_000;
const REQUEST_TIMEOUT_MS = 10_000;
const DAY = 86_400_000;
const KiB = 1024;
const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

const LB = 'hostile-vlock';
const PB = 'hostile-vplain';

// ---- the daemon, a canary no request may reach, and the connections

let d: TestDaemon;
let canary: Recorder;
/** The hostile requests: one kept-alive connection. */
let agent: Agent;
/** Reading the state back: a few connections in parallel. */
let stateAgent: Agent;

t.before(async () => {
  canary = await recorder();
  d = await startDaemon();
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
  stateAgent = new Agent({ keepAlive: true, maxSockets: 6 });
});
t.teardown(async () => {
  agent.destroy();
  stateAgent.destroy();
  if (process.env.S3D_DUMP_LOGS) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await d.stop('SIGKILL');
  d.cleanup();
  canary.server.close();
});

/** One signed request with a deadline (`via`: the hostile connection, or the state readers'). */
function exchange(o: Req, via: Agent = agent): Promise<Answer> {
  return hostileExchange(d.port, via, o, REQUEST_TIMEOUT_MS);
}

const read = (o: Req): Promise<Answer> => exchange(o, stateAgent);

const ok = (r: Answer): boolean => r.status >= 200 && r.status < 300;
const show = (r: Answer): string => `${r.status} ${errorCode(r.body) ?? ''}`.trim();

// ---- dates

const MAX_4_DIGIT_YEAR = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

type Ok = 'yes' | 'no' | 'maybe';

/**
 * A date-time as S3 takes it (RFC 3339, a real calendar date, a 4-digit UTC year): 'yes' with its
 * ms; 'no' for what is certainly not one (a 13th month, Feb 30, no time, a number, a 6-digit
 * year); 'maybe' for lexical variants some parsers take (lower-case t/z, an offset without colon,
 * 24:00:00, a leap second, surrounding spaces, a UTC year past 9999).
 */
function dateVerdict(s: string): { ok: Ok; ms?: number } {
  if (s !== s.trim()) {
    const inner = dateVerdict(s.trim());
    return inner.ok === 'no' ? inner : { ok: 'maybe', ...(inner.ms !== undefined ? { ms: inner.ms } : {}) };
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})([Tt])(\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):?(\d{2}))$/.exec(s);
  if (!m) return { ok: 'no' };
  const [year, month, day, hour, min, sec] = [m[1], m[2], m[3], m[5], m[6], m[7]].map(Number) as [number, number, number, number, number, number];
  let verdict: Ok = 'yes';
  if (m[4] === 't' || m[9] === 'z' || (m[10] !== undefined && !m[9]!.includes(':'))) verdict = 'maybe';
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return { ok: 'no' };
  if (min > 59 || sec > 60 || hour > 24) return { ok: 'no' };
  if (hour === 24 && (min !== 0 || sec !== 0)) return { ok: 'no' };
  if (hour === 24 || sec === 60) verdict = 'maybe';
  let offset = 0;
  if (m[10] !== undefined) {
    const oh = Number(m[11]);
    const om = Number(m[12]);
    if (oh > 23 || om > 59) return { ok: 'no' };
    offset = (m[10] === '+' ? 1 : -1) * (oh * 60 + om) * 60_000;
  }
  const frac = m[8] === undefined ? 0 : Math.floor(Number(`0${m[8]}`) * 1000);
  const ms = Date.UTC(year, month - 1, day, hour, min, Math.min(sec, 59)) + frac - offset;
  if (ms > MAX_4_DIGIT_YEAR) verdict = 'maybe';
  return { ok: verdict, ms };
}

/** What a response may carry as a date: RFC 3339 in UTC, a 4-digit year. */
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

// ---- strict reading of the request documents (the S3 schema), to judge what a success may do

interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  /** The text directly inside (all text nodes joined). */
  text: string;
}

const strictParser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
});

function toEls(nodes: unknown[]): { els: El[]; text: string } {
  const els: El[] = [];
  let text = '';
  for (const n of nodes) {
    const node = n as Record<string, unknown>;
    if (typeof node['#text'] === 'string') {
      text += node['#text'];
      continue;
    }
    const name = Object.keys(node).find((k) => k !== ':@');
    if (name === undefined) continue;
    const inner = toEls(node[name] as unknown[]);
    els.push({ name, attrs: (node[':@'] as Record<string, string> | undefined) ?? {}, children: inner.els, text: inner.text });
  }
  return { els, text };
}

interface Judged {
  ok: Ok;
  why: string;
  fields: Record<string, string>;
}

const judged = (ok: Ok, why: string, fields: Record<string, string> = {}): Judged => ({ ok, why, fields });

/** The worse of two verdicts. */
function worst(a: Ok, b: Ok): Ok {
  return a === 'no' || b === 'no' ? 'no' : a === 'maybe' || b === 'maybe' ? 'maybe' : 'yes';
}

/** The text of a leaf element: 'no' when it has children, 'maybe' when padded. */
function leaf(e: El): { ok: Ok; value: string } {
  if (e.children.length > 0) return { ok: 'no', value: '' };
  if (e.text !== e.text.trim()) return { ok: 'maybe', value: e.text.trim() };
  return { ok: 'yes', value: e.text };
}

/** Counts of child names, and whether any child is not in `allowed`. */
function childrenOf(e: El, allowed: readonly string[]): { unknown: string[]; count: Record<string, number>; get: (n: string) => El | undefined } {
  const count: Record<string, number> = {};
  const unknown: string[] = [];
  for (const c of e.children) {
    count[c.name] = (count[c.name] ?? 0) + 1;
    if (!allowed.includes(c.name)) unknown.push(c.name);
  }
  return { unknown, count, get: (n) => e.children.find((c) => c.name === n) };
}

type DocKind = 'versioning' | 'object-lock' | 'retention' | 'legal-hold' | 'delete';
const ROOTS: Record<DocKind, string> = { versioning: 'VersioningConfiguration', 'object-lock': 'ObjectLockConfiguration', retention: 'Retention', 'legal-hold': 'LegalHold', delete: 'Delete' };

/**
 * Judges a request document against S3's schema: 'yes' (valid, `fields` says what it asks for),
 * 'no' (certainly invalid: not UTF-8, not well-formed, another root, an unknown or misspelled
 * element, a value outside its set, a duplicate), or 'maybe' (XML features or lexical variants
 * whose reading varies: DTDs, entities, comments, CDATA, padding, other namespaces).
 */
function judge(kind: DocKind, body: Buffer | string): Judged {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  let s: string;
  try {
    s = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return judged('no', 'not UTF-8');
  }
  let verdict: Ok = 'yes';
  if (s.startsWith('\ufeff')) {
    verdict = 'maybe';
    s = s.slice(1);
  }
  if (s.trim() === '') return judged('no', 'empty');
  if (/<!|&|<\?(?!xml[\s?])/.test(s) || /<\?xml[\s?]/.test(s.slice(1))) verdict = 'maybe';
  if (XMLValidator.validate(s) !== true) return judged('no', 'not well-formed');
  let top: { els: El[]; text: string };
  try {
    top = toEls(strictParser.parse(s) as unknown[]);
  } catch {
    return judged('maybe', 'strict parser failed');
  }
  if (top.text.trim() !== '') return judged('no', 'text outside the root');
  if (top.els.length !== 1) return judged('no', `${top.els.length} root elements`);
  const root = top.els[0]!;
  const nsWhy: string[] = [];
  for (const [a, v] of Object.entries(root.attrs)) {
    if (!(a === 'xmlns' && v === S3_NS)) {
      verdict = worst(verdict, 'maybe');
      nsWhy.push(`attribute ${a}`);
    }
  }
  const prefixed = (e: El): boolean => e.name.includes(':') || e.children.some(prefixed) || Object.keys(e.attrs).length > 0;
  if (root.children.some(prefixed)) verdict = worst(verdict, 'maybe');
  if (root.name !== ROOTS[kind]) return judged(root.name.includes(':') ? worst(verdict, 'maybe') : 'no', `root ${root.name}`);
  if (root.text.trim() !== '') return judged('no', 'text in the root');
  const r = judgeRoot(kind, root);
  // A value spelled with entity or character references is read unexpanded here: not judged.
  if (r.ok === 'no' && r.why.includes('&')) r.ok = 'maybe';
  return { ok: worst(verdict, r.ok), why: [r.why, ...nsWhy].filter(Boolean).join('; '), fields: r.fields };
}

function judgeRoot(kind: DocKind, root: El): Judged {
  switch (kind) {
    case 'versioning': {
      const c = childrenOf(root, ['Status', 'MfaDelete']);
      if (c.unknown.length > 0) return judged('no', `unknown ${c.unknown.join(',')}`);
      if ((c.count.Status ?? 0) > 1 || (c.count.MfaDelete ?? 0) > 1) return judged('no', 'duplicate');
      let ok: Ok = 'yes';
      const fields: Record<string, string> = {};
      const status = c.get('Status');
      if (status) {
        const l = leaf(status);
        if (l.value !== 'Enabled' && l.value !== 'Suspended') return judged('no', `Status ${JSON.stringify(l.value)}`);
        ok = worst(ok, l.ok);
        fields.status = l.value;
      }
      const mfa = c.get('MfaDelete');
      if (mfa) {
        const l = leaf(mfa);
        if (l.value !== 'Enabled' && l.value !== 'Disabled') return judged('no', `MfaDelete ${JSON.stringify(l.value)}`);
        ok = worst(ok, l.ok);
        fields.mfa = l.value;
      }
      return judged(ok, '', fields);
    }
    case 'object-lock': {
      const c = childrenOf(root, ['ObjectLockEnabled', 'Rule']);
      if (c.unknown.length > 0) return judged('no', `unknown ${c.unknown.join(',')}`);
      if ((c.count.ObjectLockEnabled ?? 0) > 1 || (c.count.Rule ?? 0) > 1) return judged('no', 'duplicate');
      let ok: Ok = 'yes';
      const fields: Record<string, string> = {};
      const enabled = c.get('ObjectLockEnabled');
      if (enabled) {
        const l = leaf(enabled);
        if (l.value !== 'Enabled') return judged('no', `ObjectLockEnabled ${JSON.stringify(l.value)}`);
        ok = worst(ok, l.ok);
      } else ok = worst(ok, 'maybe');
      const rule = c.get('Rule');
      if (rule) {
        if (rule.text.trim() !== '') return judged('no', 'text in Rule');
        const rc = childrenOf(rule, ['DefaultRetention']);
        if (rc.unknown.length > 0 || rc.count.DefaultRetention !== 1) return judged('no', 'Rule needs one DefaultRetention');
        const dr = rc.get('DefaultRetention')!;
        if (dr.text.trim() !== '') return judged('no', 'text in DefaultRetention');
        const dc = childrenOf(dr, ['Mode', 'Days', 'Years']);
        if (dc.unknown.length > 0) return judged('no', `unknown ${dc.unknown.join(',')}`);
        if (dc.count.Mode !== 1 || (dc.count.Days ?? 0) + (dc.count.Years ?? 0) !== 1) return judged('no', 'Mode and one of Days/Years');
        const mode = leaf(dc.get('Mode')!);
        if (mode.value !== 'GOVERNANCE' && mode.value !== 'COMPLIANCE') return judged('no', `Mode ${JSON.stringify(mode.value)}`);
        ok = worst(ok, mode.ok);
        const unit = dc.get('Days') ? 'Days' : 'Years';
        const n = leaf(dc.get(unit)!);
        if (!/^\d+$/.test(n.value) || Number(n.value) < 1 || !Number.isSafeInteger(Number(n.value))) return judged('no', `${unit} ${JSON.stringify(n.value)}`);
        ok = worst(ok, n.ok);
        if (/^0/.test(n.value)) ok = worst(ok, 'maybe');
        fields.mode = mode.value;
        fields[unit.toLowerCase()] = String(Number(n.value));
      }
      return judged(ok, '', fields);
    }
    case 'retention': {
      const c = childrenOf(root, ['Mode', 'RetainUntilDate']);
      if (c.unknown.length > 0) return judged('no', `unknown ${c.unknown.join(',')}`);
      if ((c.count.Mode ?? 0) > 1 || (c.count.RetainUntilDate ?? 0) > 1) return judged('no', 'duplicate');
      const mode = c.get('Mode');
      const date = c.get('RetainUntilDate');
      if (!mode && !date) return judged('yes', '', { remove: 'yes' });
      if (!mode || !date) return judged('no', 'Mode without RetainUntilDate or the reverse');
      const m = leaf(mode);
      if (m.value !== 'GOVERNANCE' && m.value !== 'COMPLIANCE') return judged('no', `Mode ${JSON.stringify(m.value)}`);
      const dl = leaf(date);
      if (dl.ok === 'no') return judged('no', 'RetainUntilDate with children');
      const dv = dateVerdict(date.text);
      if (dv.ok === 'no') return judged('no', `RetainUntilDate ${JSON.stringify(date.text)}`);
      return judged(worst(m.ok, dv.ok), '', { mode: m.value, until: String(dv.ms) });
    }
    case 'legal-hold': {
      const c = childrenOf(root, ['Status']);
      if (c.unknown.length > 0) return judged('no', `unknown ${c.unknown.join(',')}`);
      if (c.count.Status !== 1) return judged('no', 'one Status');
      const l = leaf(c.get('Status')!);
      if (l.value !== 'ON' && l.value !== 'OFF') return judged('no', `Status ${JSON.stringify(l.value)}`);
      return judged(l.ok, '', { status: l.value });
    }
    case 'delete': {
      const c = childrenOf(root, ['Quiet', 'Object']);
      if (c.unknown.length > 0) return judged('no', `unknown ${c.unknown.join(',')}`);
      if ((c.count.Quiet ?? 0) > 1) return judged('no', 'duplicate Quiet');
      const n = c.count.Object ?? 0;
      if (n < 1 || n > 1000) return judged('no', `${n} Objects`);
      let ok: Ok = 'yes';
      const quiet = c.get('Quiet');
      if (quiet) {
        const l = leaf(quiet);
        if (!['true', 'false', '1', '0'].includes(l.value)) return judged('no', `Quiet ${JSON.stringify(l.value)}`);
        ok = worst(ok, l.value === '1' || l.value === '0' ? 'maybe' : l.ok);
      }
      for (const o of root.children.filter((x) => x.name === 'Object')) {
        if (o.text.trim() !== '') return judged('no', 'text in Object');
        const oc = childrenOf(o, ['Key', 'VersionId', 'ETag', 'LastModifiedTime', 'Size']);
        if (oc.unknown.length > 0) return judged('no', `unknown ${oc.unknown.join(',')}`);
        if (oc.count.Key !== 1 || (oc.count.VersionId ?? 0) > 1) return judged('no', 'Object needs one Key, at most one VersionId');
        if (oc.count.ETag || oc.count.LastModifiedTime || oc.count.Size) ok = worst(ok, 'maybe');
        const key = leaf(oc.get('Key')!);
        if (key.ok === 'no' || key.value === '') return judged('no', 'Key');
        const v = oc.get('VersionId');
        if (v && (leaf(v).ok === 'no' || v.text === '')) return judged('no', 'VersionId');
      }
      return judged(ok, '');
    }
  }
}

/** The Objects of a Delete document as the daemon's parser reads it (for steering the fuzzer). */
const looseParser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, parseTagValue: false, trimValues: true, processEntities: true, isArray: (n) => n === 'Object' });

function deleteEntries(body: Buffer | string): Array<{ key: unknown; versionId: unknown }> | undefined {
  try {
    const doc = looseParser.parse(Buffer.isBuffer(body) ? body.toString('utf8') : body) as { Delete?: { Object?: unknown[] } };
    const objs = doc.Delete?.Object;
    if (!Array.isArray(objs)) return [];
    return objs.map((o) => {
      const r = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
      return { key: r.Key, versionId: r.VersionId };
    });
  } catch {
    return undefined;
  }
}

// ---- the protected state

const GOV_UNTIL = new Date(Math.ceil((Date.now() + 10 * DAY) / 1000) * 1000);
const COMP_UNTIL = new Date(Math.ceil((Date.now() + 11 * DAY) / 1000) * 1000);
const GOOD_LOCK = `<ObjectLockConfiguration xmlns="${S3_NS}"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>7</Days></DefaultRetention></Rule></ObjectLockConfiguration>`;
const retentionDoc = (mode: string, until: string): string => `<Retention xmlns="${S3_NS}"><Mode>${mode}</Mode><RetainUntilDate>${until}</RetainUntilDate></Retention>`;

/** Version ids and bodies written in setup. */
const ids = {
  gov1: '',
  gov2: '',
  comp1: '',
  compDm: '',
  held1: '',
  mixed1: '',
  mixedDm1: '',
  mixed2: '',
  mixedDm2: '',
  pa1: '',
  pa2: '',
  paDm: '',
  pb1: '',
};
/** id → where it lives and its body ('' for a delete marker). */
const known = new Map<string, { bucket: string; key: string; body: string }>();

interface State {
  lb: string;
  pb: string;
  lockConfig: string;
  lbVersioning: string;
  pbVersioning: string;
  pbLock: string;
  gov: string;
  comp: string;
  held: string;
  bodies: string;
}
type Field = keyof State;

/** `key id latest V|DM etag` per entry of ListObjectVersions, in order. */
function listingLines(xml: string): string {
  const out: Array<{ key: string; id: string; line: string }> = [];
  for (const m of xml.matchAll(/<(Version|DeleteMarker)>(.*?)<\/\1>/gs)) {
    const f = (n: string): string => new RegExp(`<${n}>([^<]*)</${n}>`).exec(m[2]!)?.[1] ?? '-';
    out.push({ key: f('Key'), id: f('VersionId'), line: `${f('Key')} ${f('VersionId')} ${f('IsLatest')} ${m[1] === 'Version' ? 'V' : 'DM'} ${f('ETag')}` });
  }
  // s3d writes every Version, then every DeleteMarker; S3's order is by key, newest first within
  // a key, which UUIDv7 ids give (the null version, without a stamp in its id, last).
  out.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)) || (a.id === b.id ? 0 : a.id === 'null' ? 1 : b.id === 'null' ? -1 : a.id < b.id ? 1 : -1));
  const trunc = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? ' (truncated)' : '';
  return out.map((e) => e.line).join('\n') + trunc;
}

async function readRetention(bucket: string, key: string, id: string): Promise<string> {
  const r = await read({ method: 'GET', path: `/${bucket}/${key}`, query: `retention=&versionId=${id}` });
  return ok(r) ? `${xmlField(r.body, 'Mode')} ${xmlField(r.body, 'RetainUntilDate')}` : show(r);
}

async function readHold(bucket: string, key: string, id: string): Promise<string> {
  const r = await read({ method: 'GET', path: `/${bucket}/${key}`, query: `legal-hold=&versionId=${id}` });
  return ok(r) ? `${xmlField(r.body, 'Status')}` : show(r);
}

async function readState(withBodies: boolean): Promise<State> {
  const text = async (o: Req): Promise<string> => {
    const r = await read(o);
    return `${r.status} ${r.body.toString()}`;
  };
  const listingOf = async (bucket: string): Promise<string> => {
    const r = await read({ method: 'GET', path: `/${bucket}`, query: 'versions=&prefix=p%2F' });
    return r.status === 200 ? listingLines(r.body.toString()) : show(r);
  };
  const bodies = async (): Promise<string> => {
    if (!withBodies) return '';
    const out: string[] = [];
    for (const [id, v] of [...known].filter(([, v]) => v.body !== '' && v.key.startsWith('p/'))) {
      const r = await read({ method: 'GET', path: `/${v.bucket}/${v.key}`, query: `versionId=${id}` });
      out.push(r.status === 200 && r.body.toString() === v.body ? `${v.key} ${id} ok` : `${v.key} ${id} ${show(r)} ${r.body.toString().slice(0, 40)}`);
    }
    return out.join('\n');
  };
  const [lb, pb, lockConfig, lbVersioning, pbVersioning, pbLock, gov, comp, held, bodyLines] = await Promise.all([
    listingOf(LB),
    listingOf(PB),
    text({ method: 'GET', path: `/${LB}`, query: 'object-lock=' }),
    text({ method: 'GET', path: `/${LB}`, query: 'versioning=' }),
    text({ method: 'GET', path: `/${PB}`, query: 'versioning=' }),
    text({ method: 'GET', path: `/${PB}`, query: 'object-lock=' }).then((s) => s.split(' ')[0]!),
    readRetention(LB, 'p/gov', ids.gov2),
    readRetention(LB, 'p/comp', ids.comp1),
    readHold(LB, 'p/held', ids.held1),
    bodies(),
  ]);
  return { lb, pb, lockConfig, lbVersioning, pbVersioning, pbLock, gov, comp, held, bodies: bodyLines };
}

let model: State;

function diff(a: State, b: State, withBodies: boolean): Field[] {
  return (Object.keys(a) as Field[]).filter((k) => (k !== 'bodies' || withBodies) && a[k] !== b[k]);
}

/** `MODE date` of a retention read back → its parts (undefined when there is none). */
function parseRet(s: string): { mode: string; until: number; raw: string } | undefined {
  const [mode, date] = s.split(' ');
  if (mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') return undefined;
  return { mode, until: Date.parse(date ?? ''), raw: date ?? '' };
}

// ---- one hostile request and everything checked after it

type Target = 'gov' | 'comp' | 'held' | 'lockConfig' | 'pbVersioning';

interface Case {
  kind: string;
  req: Req;
  /** The protected field a (valid) success of this request may change. */
  may?: Target;
  /** The strict verdict of its document (or headers). */
  doc?: Judged;
  /** A request whose x-amz-bypass-governance-retention header is meant to bypass (never sent for protected versions). */
  bypass?: boolean;
  /** More checks of a success. */
  onSuccess?: (r: Answer) => Promise<string[]>;
  /** More checks of any answer. */
  always?: (r: Answer) => Promise<string[]>;
  /** A version outside the protected set whose retention and legal hold this request targets. */
  scratch?: { bucket: string; key: string; id: string };
}

interface Outcome {
  problems: string[];
  status: number;
  code: string | undefined;
  lenient?: string;
}

const stats = { lenient: [] as string[], legitChanges: 0, restores: 0 };

function describe(c: Case): string {
  const q = c.req.query ? `?${c.req.query.slice(0, 140)}` : '';
  const h = c.req.headers && Object.keys(c.req.headers).length > 0 ? ` ${JSON.stringify(c.req.headers).slice(0, 220)}` : '';
  const b = c.req.body !== undefined ? ` body ${JSON.stringify(Buffer.from(c.req.body).subarray(0, 220).toString('latin1'))}${Buffer.byteLength(c.req.body) > 220 ? `…(${Buffer.byteLength(c.req.body)} bytes)` : ''}` : '';
  return `${c.kind}: ${c.req.method} ${c.req.path}${q}${h}${b}`;
}

/** Whether `next` (read back) is a change of `prev` that the case's valid request may make. */
function legitimate(c: Case, field: Field, prev: string, next: string): string | undefined {
  const doc = c.doc;
  if (c.may !== field) return `${field} changed by a request that may not change it`;
  if (doc === undefined || doc.ok === 'no') return `${field} changed by an invalid document (${doc?.why ?? '?'})`;
  if (field === 'gov' || field === 'comp') {
    const a = parseRet(prev);
    const b = parseRet(next);
    if (a === undefined) return `${field}: there was no retention before (${prev})`;
    if (b === undefined) return `${field}: the retention was removed (${next}) without a bypass`;
    if (!RFC3339_UTC.test(b.raw)) return `${field}: RetainUntilDate reads back as ${JSON.stringify(b.raw)}, not RFC 3339`;
    if (b.until < a.until) return `${field}: shortened from ${a.raw} to ${b.raw} without a bypass`;
    if (a.mode === 'COMPLIANCE' && b.mode !== 'COMPLIANCE') return `${field}: COMPLIANCE became ${b.mode}`;
    if (doc.ok === 'yes' && (doc.fields.mode !== b.mode || Math.floor(Number(doc.fields.until) / 1000) !== Math.floor(b.until / 1000))) {
      return `${field}: stored ${next}, the document asked for ${doc.fields.mode} ${new Date(Number(doc.fields.until)).toISOString()}`;
    }
    return undefined;
  }
  if (field === 'held') {
    if (next !== 'ON' && next !== 'OFF') return `held: reads back as ${next}`;
    if (doc.ok === 'yes' && doc.fields.status !== next) return `held: stored ${next}, the document asked for ${doc.fields.status}`;
    return undefined;
  }
  if (field === 'lockConfig') {
    const body = next.replace(/^\d+ /, '');
    if (!next.startsWith('200 ') || XMLValidator.validate(body) !== true) return `lockConfig reads back as ${next.slice(0, 200)}`;
    const mode = xmlField(body, 'Mode');
    const days = xmlField(body, 'Days');
    const years = xmlField(body, 'Years');
    if (doc.ok === 'yes' && (String(doc.fields.mode) !== String(mode) || String(doc.fields.days) !== String(days) || String(doc.fields.years) !== String(years))) {
      return `lockConfig: stored ${mode} days=${days} years=${years}, the document asked for ${doc.fields.mode} days=${doc.fields.days} years=${doc.fields.years}`;
    }
    return undefined;
  }
  if (field === 'pbVersioning') {
    const status = /<Status>([^<]*)<\/Status>/.exec(next)?.[1];
    if (status !== 'Enabled' && status !== 'Suspended') return `pbVersioning reads back as ${next.slice(0, 200)}`;
    if (doc.ok === 'yes' && doc.fields.status !== status) return `pbVersioning: stored ${status}, the document asked for ${doc.fields.status}`;
    return undefined;
  }
  return `${field} changed`;
}

/** Puts the protected state back as the model has it, where S3 lets it be put back; re-reads the model. */
async function restore(now: State): Promise<void> {
  stats.restores++;
  const fix: Array<Promise<unknown>> = [];
  if (now.gov !== model.gov) {
    const m = parseRet(model.gov)!;
    fix.push(read({ method: 'PUT', path: `/${LB}/p/gov`, query: `retention=&versionId=${ids.gov2}`, headers: { 'x-amz-bypass-governance-retention': 'true' }, body: retentionDoc(m.mode, m.raw) }));
  }
  if (now.held !== model.held) fix.push(read({ method: 'PUT', path: `/${LB}/p/held`, query: `legal-hold=&versionId=${ids.held1}`, body: '<LegalHold><Status>ON</Status></LegalHold>' }));
  if (now.lockConfig !== model.lockConfig) fix.push(read({ method: 'PUT', path: `/${LB}`, query: 'object-lock=', body: GOOD_LOCK }));
  if (now.pbVersioning !== model.pbVersioning) fix.push(read({ method: 'PUT', path: `/${PB}`, query: 'versioning=', body: '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>' }));
  if (now.lbVersioning !== model.lbVersioning) fix.push(read({ method: 'PUT', path: `/${LB}`, query: 'versioning=', body: '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>' }));
  // Delete markers that appeared on protected keys are removed again (by their own id).
  for (const [bucket, was, is] of [[LB, model.lb, now.lb], [PB, model.pb, now.pb]] as const) {
    const before = new Set(was.split('\n').map((l) => l.split(' ')[1]));
    for (const line of is.split('\n')) {
      const [key, id, , type] = line.split(' ');
      if (type === 'DM' && id !== undefined && !before.has(id)) fix.push(read({ method: 'DELETE', path: `/${bucket}/${key}`, query: `versionId=${id}` }));
    }
  }
  await Promise.all(fix);
  const after = await readState(false);
  // What could not be put back (a COMPLIANCE retention extended, a version gone) is the new model.
  model = { ...after, bodies: model.bodies };
}

/** Runs one case: the request, its answer, its own checks, then the protected state. */
async function run(c: Case): Promise<Outcome> {
  const problems: string[] = [];
  let before: string | undefined;
  const scratchState = async (): Promise<string> => {
    const s = c.scratch!;
    return `${await readRetention(s.bucket, s.key, s.id)} | ${await readHold(s.bucket, s.key, s.id)}`;
  };
  if (c.scratch) before = await scratchState();
  let r: Answer;
  try {
    r = await exchange(c.req);
  } catch (err) {
    // A hung or cut request: the next requests use a fresh connection.
    agent.destroy();
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    return { problems: [`answer: ${(err as Error).message}`], status: 0, code: undefined };
  }
  const code = errorCode(r.body);
  for (const p of answerProblems(r, c.req.method)) problems.push(`answer: ${p}`);
  if (r.ms > 3000) problems.push(`answer: took ${r.ms} ms`);
  try {
    if (ok(r) && c.onSuccess) problems.push(...(await c.onSuccess(r)).map((p) => `success: ${p}`));
    if (c.always) problems.push(...(await c.always(r)).map((p) => `answer: ${p}`));
  } catch (err) {
    problems.push(`check failed: ${(err as Error).message}`);
  }
  let lenient: string | undefined;
  if (ok(r) && c.doc?.ok === 'no') lenient = `${c.kind} (${c.doc.why})`;
  if (c.scratch && before !== undefined) {
    const after = await scratchState();
    if (after !== before) {
      if (!ok(r)) problems.push(`state: refused (${show(r)}) but the targeted version changed: ${before} → ${after}`);
      else if (c.doc?.ok === 'no') problems.push(`state: an invalid document (${c.doc.why}) changed the targeted version: ${before} → ${after}`);
      else {
        const ret = after.split(' | ')[0]!;
        const p = parseRet(ret);
        if (p && !RFC3339_UTC.test(p.raw)) problems.push(`success: RetainUntilDate reads back as ${JSON.stringify(p.raw)}`);
      }
    }
  }
  const now = await readState(false);
  const changed = diff(model, now, false);
  if (changed.length > 0) {
    for (const f of changed) {
      const why = ok(r) ? legitimate(c, f, model[f], now[f]) : `${f} changed by a refused request (${show(r)})`;
      if (why === undefined) stats.legitChanges++;
      else problems.push(`state: ${why}: ${JSON.stringify(model[f].slice(0, 300))} → ${JSON.stringify(now[f].slice(0, 300))}`);
    }
    await restore(now);
  }
  return { problems, status: r.status, code, ...(lenient !== undefined ? { lenient } : {}) };
}

/** Runs a hand-picked case as one assertion. */
async function probe(t: Test, c: Case, what = c.kind): Promise<Outcome> {
  const o = await run(c);
  t.same(o.problems, [], `${what}: ${o.status} ${o.code ?? ''}`);
  return o;
}

// ---- setup

async function must(t: Test, o: Req, what: string): Promise<Answer> {
  const r = await read(o);
  t.ok(ok(r), `${what}: ${show(r)}`);
  return r;
}

async function putVersion(t: Test, bucket: string, key: string, body: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await must(t, { method: 'PUT', path: `/${bucket}/${key}`, headers, body }, `PUT ${bucket}/${key} (${body})`);
  const id = String(r.headers['x-amz-version-id'] ?? 'null');
  known.set(id, { bucket, key, body });
  return id;
}

async function deleteMarker(t: Test, bucket: string, key: string): Promise<string> {
  const r = await must(t, { method: 'DELETE', path: `/${bucket}/${key}` }, `DELETE ${bucket}/${key}`);
  const id = String(r.headers['x-amz-version-id']);
  t.equal(r.headers['x-amz-delete-marker'], 'true', 'a delete marker');
  known.set(id, { bucket, key, body: '' });
  return id;
}

const lockHeaders = (mode: string, until: Date): Record<string, string> => ({ 'x-amz-object-lock-mode': mode, 'x-amz-object-lock-retain-until-date': until.toISOString() });

/** Scratch versions under GOVERNANCE (the bucket's default rule) that the fuzzer may change. */
const scratch: Array<{ key: string; id: string }> = [];

t.test('setup: a lock-enabled bucket with locked versions and markers, a plain versioned bucket', async (t) => {
  await must(t, { method: 'PUT', path: `/${LB}`, headers: { 'x-amz-bucket-object-lock-enabled': 'true' } }, 'CreateBucket with x-amz-bucket-object-lock-enabled: true');
  ids.gov1 = await putVersion(t, LB, 'p/gov', 'gov v1');
  ids.gov2 = await putVersion(t, LB, 'p/gov', 'gov v2 (GOVERNANCE)', lockHeaders('GOVERNANCE', GOV_UNTIL));
  ids.comp1 = await putVersion(t, LB, 'p/comp', 'comp v1 (COMPLIANCE)', lockHeaders('COMPLIANCE', COMP_UNTIL));
  ids.compDm = await deleteMarker(t, LB, 'p/comp');
  ids.held1 = await putVersion(t, LB, 'p/held', 'held v1 (legal hold)', { 'x-amz-object-lock-legal-hold': 'ON' });
  ids.mixed1 = await putVersion(t, LB, 'p/mixed', 'mixed v1');
  ids.mixedDm1 = await deleteMarker(t, LB, 'p/mixed');
  ids.mixed2 = await putVersion(t, LB, 'p/mixed', 'mixed v2');
  ids.mixedDm2 = await deleteMarker(t, LB, 'p/mixed');
  await must(t, { method: 'PUT', path: `/${LB}`, query: 'object-lock=', body: GOOD_LOCK }, 'default retention GOVERNANCE 7 days');
  for (let i = 0; i < 4; i++) {
    const id = await putVersion(t, LB, `s/victim-${i}`, `victim ${i}`, i % 2 === 1 ? { 'x-amz-object-lock-legal-hold': 'ON' } : {});
    scratch.push({ key: `s/victim-${i}`, id });
  }

  await must(t, { method: 'PUT', path: `/${PB}` }, 'CreateBucket (plain)');
  await putVersion(t, PB, 'p/n', 'null version, written before versioning');
  await must(t, { method: 'PUT', path: `/${PB}`, query: 'versioning=', body: '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>' }, 'versioning Enabled');
  ids.pa1 = await putVersion(t, PB, 'p/a', 'a v1');
  ids.pa2 = await putVersion(t, PB, 'p/a', 'a v2');
  ids.paDm = await deleteMarker(t, PB, 'p/a');
  ids.pb1 = await putVersion(t, PB, 'p/b', 'b v1');
  t.ok(Object.values(ids).every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)), 'every version id is a UUIDv7');

  model = await readState(true);
  t.equal(model.gov, `GOVERNANCE ${GOV_UNTIL.toISOString()}`, 'p/gov: GOVERNANCE retention');
  t.equal(model.comp, `COMPLIANCE ${COMP_UNTIL.toISOString()}`, 'p/comp: COMPLIANCE retention (behind a delete marker)');
  t.equal(model.held, 'ON', 'p/held: legal hold ON');
  t.match(model.lockConfig, /^200 .*<Mode>GOVERNANCE<\/Mode><Days>7<\/Days>/s, 'lock configuration with its default rule');
  t.match(model.lbVersioning, /<Status>Enabled<\/Status>/, 'lock bucket versioning Enabled');
  t.match(model.pbVersioning, /<Status>Enabled<\/Status>/, 'plain bucket versioning Enabled');
  t.equal(model.pbLock, '404', 'the plain bucket has no Object Lock');
  t.equal(model.lb.split('\n').length, 9, `lock bucket listing: 9 entries\n${model.lb}`);
  t.equal((model.lb.match(/ DM /g) ?? []).length, 3, '3 of them delete markers');
  t.equal(model.pb.split('\n').length, 5, `plain bucket listing: 5 entries (a null version among them)\n${model.pb}`);
  t.notMatch(model.bodies, /^(?!.* ok$).+$/m, 'every version reads back with its body');
});

// ---- hand-picked documents

const LAUGHS = (root: string): string =>
  `<!DOCTYPE ${root} [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">` +
  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">' +
  '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">' +
  '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">' +
  '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>';

interface Sub {
  name: string;
  kind: DocKind;
  path: string;
  query: string;
  good: string;
  may?: Target;
  limit: number;
}

/** The documents under test and where they go (the protected versions, by id or as the latest). */
function subs(): Sub[] {
  const deleteDoc = `<Delete><Quiet>false</Quiet><Object><Key>p/gov</Key><VersionId>${ids.gov2}</VersionId></Object><Object><Key>p/comp</Key><VersionId>${ids.comp1}</VersionId></Object><Object><Key>p/held</Key><VersionId>${ids.held1}</VersionId></Object></Delete>`;
  return [
    { name: 'versioning (lock bucket)', kind: 'versioning', path: `/${LB}`, query: 'versioning=', good: '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>', limit: 64 * KiB },
    { name: 'versioning (plain bucket)', kind: 'versioning', path: `/${PB}`, query: 'versioning=', good: '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>', may: 'pbVersioning', limit: 64 * KiB },
    { name: 'object-lock', kind: 'object-lock', path: `/${LB}`, query: 'object-lock=', good: GOOD_LOCK, may: 'lockConfig', limit: 64 * KiB },
    { name: 'retention by id (GOVERNANCE)', kind: 'retention', path: `/${LB}/p/gov`, query: `retention=&versionId=${ids.gov2}`, good: retentionDoc('GOVERNANCE', GOV_UNTIL.toISOString()), may: 'gov', limit: 64 * KiB },
    { name: 'retention of the latest (GOVERNANCE)', kind: 'retention', path: `/${LB}/p/gov`, query: 'retention=', good: retentionDoc('GOVERNANCE', GOV_UNTIL.toISOString()), may: 'gov', limit: 64 * KiB },
    { name: 'retention by id (COMPLIANCE)', kind: 'retention', path: `/${LB}/p/comp`, query: `retention=&versionId=${ids.comp1}`, good: retentionDoc('COMPLIANCE', COMP_UNTIL.toISOString()), may: 'comp', limit: 64 * KiB },
    { name: 'legal-hold', kind: 'legal-hold', path: `/${LB}/p/held`, query: `legal-hold=&versionId=${ids.held1}`, good: '<LegalHold><Status>ON</Status></LegalHold>', may: 'held', limit: 64 * KiB },
    { name: 'delete (locked versions)', kind: 'delete', path: `/${LB}`, query: 'delete=', good: deleteDoc, limit: 8 * 1024 * KiB },
  ];
}

function caseFor(s: Sub, body: Buffer | string, extra: Partial<Case> = {}): Case {
  return { kind: s.name, req: { method: s.kind === 'delete' ? 'POST' : 'PUT', path: s.path, query: s.query, body }, doc: judge(s.kind, body), ...(s.may ? { may: s.may } : {}), ...extra };
}

/** The first text node of a document replaced by `text` (markup allowed). */
function withFirstText(doc: string, text: string): string {
  return doc.replace(/>([^<]+)</, `>${text}<`);
}

t.test('external entities, entity expansion, several roots, wrong nesting, huge and empty documents', async (t) => {
  const url = (what: string): string => `http://127.0.0.1:${canary.port}/${what}`;
  for (const s of subs()) {
    const root = ROOTS[s.kind];
    const docs: Array<[string, Buffer | string]> = [
      ['external entity (XXE)', `<?xml version="1.0"?><!DOCTYPE ${root} [<!ENTITY xxe SYSTEM "${url(`xxe-${s.kind}`)}">]>${withFirstText(s.good, '&xxe;')}`],
      ['external entity to a file', `<!DOCTYPE ${root} [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>${withFirstText(s.good, '&xxe;')}`],
      ['external DTD', `<!DOCTYPE ${root} SYSTEM "${url(`dtd-${s.kind}`)}">${s.good}`],
      ['parameter entity', `<!DOCTYPE ${root} [<!ENTITY % pe SYSTEM "${url(`pe-${s.kind}`)}"> %pe;]>${s.good}`],
      ['billion laughs', `${LAUGHS(root)}${withFirstText(s.good, '&lol9;')}`],
      ['quadratic blowup', `<!DOCTYPE ${root} [<!ENTITY a "${'a'.repeat(10_000)}">]>${withFirstText(s.good, '&a;'.repeat(3000))}`],
      ['an internal entity that spells a valid value', `<!DOCTYPE ${root} [<!ENTITY v "OFF">]>${withFirstText(s.good, '&v;')}`],
      ['a second root', `${s.good}${s.good}`],
      ['a second, self-closed root', `${s.good}<${root}/>`],
      ['a different second root', `${s.good}<Other/>`],
      ['text after the root', `${s.good}junk`],
      ['a lower-case root', s.good.replace(new RegExp(root, 'g'), root.toLowerCase())],
      ['another root', s.good.replace(new RegExp(`(</?)${root}\\b`, 'g'), '$1Tagging')],
      ['the document nested in itself', s.good.replace(/^(<[^>]+>)/, `$1${s.good}`)],
      ['children one level too deep', s.good.replace(/^(<[^>]+>)(.*)(<\/[^>]+>)$/s, '$1<Wrapper>$2</Wrapper>$3')],
      ['children at the top', s.good.replace(/^<[^>]+>(.*)<\/[^>]+>$/s, '$1')],
      ['5000 nested elements', s.good.replace(/^(<[^>]+>)/, `$1${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}`)],
      ['60000 unclosed elements', s.good.replace(/^(<[^>]+>)/, `$1${'<a>'.repeat(60_000)}`)],
      ['past the body limit', s.good.replace(/(<\/[^>]+>)$/, `<!--${'p'.repeat(s.limit)}-->$1`)],
      ['empty', ''],
      ['whitespace', ' \n\t '],
      ['an XML declaration only', '<?xml version="1.0" encoding="UTF-8"?>'],
      ['a self-closed root', `<${root}/>`],
      ['JSON', JSON.stringify({ [root]: { Status: 'OFF' } })],
      ['UTF-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s.good, 'utf16le')])],
      ['invalid UTF-8 in a value', Buffer.concat([Buffer.from(s.good.slice(0, s.good.indexOf('</'))), Buffer.from([0xc0, 0x80, 0xff]), Buffer.from(s.good.slice(s.good.indexOf('</')))])],
      ['a NUL byte', s.good.replace('>', '>\u0000')],
    ];
    for (const [what, body] of docs) await probe(t, caseFor(s, body), `${s.name}, ${what}`);
  }
  await sleep(200);
  t.same(canary.requests, [], 'no external entity or DTD was ever fetched');
});

const ODD_DATES = [
  '2030-13-45T99:00:00Z',
  '+275760-09-13T00:00:00Z',
  '+275760-09-13T00:00:00.001Z',
  '-000001-01-01T00:00:00Z',
  '',
  ' ',
  '1893456000',
  '1893456000000',
  '-1',
  '0',
  'NaN',
  'Infinity',
  '2030-02-30T00:00:00Z',
  '2030-02-29T00:00:00Z',
  '2031-04-31T00:00:00Z',
  '2030-00-10T00:00:00Z',
  '2030-01-00T00:00:00Z',
  '2030-01-01T25:00:00Z',
  '2030-01-01T00:61:00Z',
  '2030-01-01T00:00:61Z',
  '2030-01-01',
  '2030-01-01T00:00:00',
  '2030-01-01 00:00:00Z',
  'Tue, 01 Jan 2030 00:00:00 GMT',
  '2030-01-01T00:00:00+99:99',
  '2030-01-01T00:00:00.5e3Z',
  '２０３０-01-01T00:00:00Z',
  '2030-01-01T00:00:00Z\u0000',
  'yesterday',
];

t.test('odd retain-until dates: in Retention documents, by id and on the latest, and in lock headers', async (t) => {
  const s = subs();
  const byId = s.find((x) => x.name === 'retention by id (GOVERNANCE)')!;
  const latest = s.find((x) => x.name === 'retention of the latest (GOVERNANCE)')!;
  const comp = s.find((x) => x.name === 'retention by id (COMPLIANCE)')!;
  const expectRefused = async (o: Outcome, what: string): Promise<void> => {
    t.ok(o.status >= 400 && o.status < 500, `${what}: refused with a 4xx (${o.status} ${o.code ?? ''})`);
  };
  for (const date of ODD_DATES) {
    const v = dateVerdict(date);
    for (const sub of [byId, latest, comp]) {
      const mode = sub === comp ? 'COMPLIANCE' : 'GOVERNANCE';
      const o = await probe(t, caseFor(sub, retentionDoc(mode, date)), `${sub.name}, RetainUntilDate ${JSON.stringify(date)}`);
      if (v.ok === 'no') await expectRefused(o, `${sub.name}, RetainUntilDate ${JSON.stringify(date)}`);
    }
    // On a scratch version, with the bypass: nothing stops a valid date, so only the date decides.
    const victim = scratch[0]!;
    const o = await probe(
      t,
      { kind: 'retention of a scratch version with bypass', req: { method: 'PUT', path: `/${LB}/${victim.key}`, query: `retention=&versionId=${victim.id}`, headers: { 'x-amz-bypass-governance-retention': 'true' }, body: retentionDoc('GOVERNANCE', date) }, doc: judge('retention', retentionDoc('GOVERNANCE', date)), scratch: { bucket: LB, ...victim } },
      `scratch retention with bypass, RetainUntilDate ${JSON.stringify(date)}`,
    );
    if (v.ok === 'no') await expectRefused(o, `scratch retention with bypass, RetainUntilDate ${JSON.stringify(date)}`);
    // Lock headers on a new object.
    const key = `s/date-${ODD_DATES.indexOf(date)}`;
    const put = await run(lockHeaderCase({ method: 'PUT', path: `/${LB}/${key}`, body: 'x' }, { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': sendable(date) }, LB, 'PutObject'));
    t.same(put.problems, [], `PutObject with x-amz-object-lock-retain-until-date ${JSON.stringify(date)}: ${put.status} ${put.code ?? ''}`);
    if (dateVerdict(sendable(date)).ok === 'no') await expectRefused(put, `PutObject with x-amz-object-lock-retain-until-date ${JSON.stringify(date)}`);
  }
  // A date past 9999-12-31 (a 4-digit year behind a negative offset): refused, or given back as RFC 3339.
  // On a scratch version (GOVERNANCE → COMPLIANCE later is an extension anyone may make).
  const far = '9999-12-31T23:59:59-23:59';
  const farId = await putVersion(t, LB, 's/far', 'far');
  known.delete(farId);
  const victim = { key: 's/far', id: farId };
  const o = await probe(t, { kind: 'retention far', req: { method: 'PUT', path: `/${LB}/${victim.key}`, query: `retention=&versionId=${victim.id}`, body: retentionDoc('COMPLIANCE', far) }, doc: judge('retention', retentionDoc('COMPLIANCE', far)), scratch: { bucket: LB, ...victim } }, `a scratch version extended to COMPLIANCE ${far}`);
  const back = await readRetention(LB, victim.key, victim.id);
  t.ok(o.status >= 400 || RFC3339_UTC.test(back.split(' ')[1] ?? ''), `after ${far}: refused, or RetainUntilDate is RFC 3339 (${o.status}, reads back ${back})`);
  const head = await read({ method: 'PUT', path: `/${LB}/s/far`, headers: { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': far }, body: 'far' });
  const h = ok(head) ? await read({ method: 'HEAD', path: `/${LB}/s/far` }) : undefined;
  const date = h?.headers['x-amz-object-lock-retain-until-date'];
  t.ok(!ok(head) || RFC3339_UTC.test(String(date)), `PutObject with retain-until ${far}: refused, or HEAD shows an RFC 3339 date (${show(head)}, x-amz-object-lock-retain-until-date: ${date})`);
});

t.test('lock configurations: lower-case modes, Days and Years together, Days 0/-1/1e9/NaN, unknown elements', async (t) => {
  const lock = subs().find((s) => s.kind === 'object-lock')!;
  const rule = (inner: string, enabled = '<ObjectLockEnabled>Enabled</ObjectLockEnabled>'): string => `<ObjectLockConfiguration>${enabled}<Rule><DefaultRetention>${inner}</DefaultRetention></Rule></ObjectLockConfiguration>`;
  const bad: Array<[string, string]> = [
    ['mode governance', rule('<Mode>governance</Mode><Days>1</Days>')],
    ['mode Compliance', rule('<Mode>Compliance</Mode><Days>1</Days>')],
    ['mode GOVERNANCE\\u0000', rule('<Mode>GOVERNANCE&#0;</Mode><Days>1</Days>')],
    ['Days and Years', rule('<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>')],
    ['Days 0', rule('<Mode>GOVERNANCE</Mode><Days>0</Days>')],
    ['Days -1', rule('<Mode>GOVERNANCE</Mode><Days>-1</Days>')],
    ['Days 1e9', rule('<Mode>GOVERNANCE</Mode><Days>1e9</Days>')],
    ['Days 1000000000', rule('<Mode>GOVERNANCE</Mode><Days>1000000000</Days>')],
    ['Days 9007199254740993', rule('<Mode>GOVERNANCE</Mode><Days>9007199254740993</Days>')],
    ['Days NaN', rule('<Mode>GOVERNANCE</Mode><Days>NaN</Days>')],
    ['Days Infinity', rule('<Mode>GOVERNANCE</Mode><Days>Infinity</Days>')],
    ['Days empty', rule('<Mode>GOVERNANCE</Mode><Days></Days>')],
    ['Days 1.5', rule('<Mode>GOVERNANCE</Mode><Days>1.5</Days>')],
    ['Days 0x10', rule('<Mode>GOVERNANCE</Mode><Days>0x10</Days>')],
    ['Days with a child', rule('<Mode>GOVERNANCE</Mode><Days><Days>1</Days></Days>')],
    ['Years 0', rule('<Mode>COMPLIANCE</Mode><Years>0</Years>')],
    ['Years 101', rule('<Mode>COMPLIANCE</Mode><Years>101</Years>')],
    ['Years 275761', rule('<Mode>COMPLIANCE</Mode><Years>275761</Years>')],
    ['neither Days nor Years', rule('<Mode>GOVERNANCE</Mode>')],
    ['no Mode', rule('<Days>1</Days>')],
    ['two Modes', rule('<Mode>GOVERNANCE</Mode><Mode>COMPLIANCE</Mode><Days>1</Days>')],
    ['two Days', rule('<Mode>GOVERNANCE</Mode><Days>1</Days><Days>2</Days>')],
    ['an unknown element in DefaultRetention', rule('<Mode>GOVERNANCE</Mode><Days>1</Days><Hours>1</Hours>')],
    ['an unknown element in the root', `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Enabled>true</Enabled></ObjectLockConfiguration>`],
    ['ObjectLockEnabled Disabled', rule('<Mode>GOVERNANCE</Mode><Days>1</Days>', '<ObjectLockEnabled>Disabled</ObjectLockEnabled>')],
    ['ObjectLockEnabled enabled', rule('<Mode>GOVERNANCE</Mode><Days>1</Days>', '<ObjectLockEnabled>enabled</ObjectLockEnabled>')],
    ['two Rules', `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`],
    ['a Rule without DefaultRetention', '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><Mode>GOVERNANCE</Mode><Days>1</Days></Rule></ObjectLockConfiguration>'],
    ['DefaultRetention outside Rule', '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></ObjectLockConfiguration>'],
    ['Rule as text', '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>GOVERNANCE 1</Rule></ObjectLockConfiguration>'],
  ];
  for (const [what, body] of bad) {
    const c = caseFor(lock, body);
    const o = await probe(t, c, `object-lock, ${what}`);
    // Refused when certainly invalid (a character reference like &#0; is judged by the state checks alone).
    if (c.doc!.ok === 'no') t.ok(o.status >= 400 && o.status < 500, `object-lock, ${what}: refused (${o.status} ${o.code ?? ''}; strictly invalid: ${c.doc!.why})`);
  }
  // The same documents on the plain versioned bucket never turn Object Lock on there.
  const clearlyBad = ['mode governance', 'Days and Years', 'Days 0', 'Days -1', 'Years 0', 'two Rules', 'neither Days nor Years', 'ObjectLockEnabled Disabled'];
  for (const [what, body] of bad.filter(([w]) => clearlyBad.includes(w))) {
    const o = await probe(t, { kind: 'object-lock on the plain bucket', req: { method: 'PUT', path: `/${PB}`, query: 'object-lock=', body }, doc: judge('object-lock', body) }, `object-lock on the plain bucket, ${what}`);
    t.ok(o.status >= 400, `object-lock on the plain bucket, ${what}: refused (${o.status} ${o.code ?? ''})`);
  }
});

t.test('versioning: Suspended is refused on the lock bucket, misspelled documents change nothing', async (t) => {
  const [lockV, plainV] = subs();
  const suspend = '<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>';
  const o = await probe(t, caseFor(lockV!, suspend), 'lock bucket: Suspended');
  t.equal(`${o.status} ${o.code}`, '409 InvalidBucketState', 'lock bucket: Suspended → 409 InvalidBucketState');
  const docs: Array<[string, string]> = [
    ['status in lower case', '<VersioningConfiguration><status>Suspended</status></VersioningConfiguration>'],
    ['Status suspended', '<VersioningConfiguration><Status>suspended</Status></VersioningConfiguration>'],
    ['Status Disabled', '<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>'],
    ['Status empty', '<VersioningConfiguration><Status/></VersioningConfiguration>'],
    ['two Status', '<VersioningConfiguration><Status>Enabled</Status><Status>Suspended</Status></VersioningConfiguration>'],
    ['Status nested', '<VersioningConfiguration><Status><Status>Suspended</Status></Status></VersioningConfiguration>'],
    ['Status as the root', '<Status>Suspended</Status>'],
    ['MfaDelete Enabled', '<VersioningConfiguration><Status>Suspended</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>'],
    ['an unknown element', '<VersioningConfiguration><Status>Suspended</Status><Versioning>Off</Versioning></VersioningConfiguration>'],
  ];
  for (const [what, body] of docs) {
    for (const s of [lockV!, plainV!]) {
      const c = caseFor(s, body);
      const r = await probe(t, c, `${s.name}, ${what}`);
      t.ok(r.status >= 400, `${s.name}, ${what}: a clear error, not a silent no-op (${r.status} ${r.code ?? ''}; strictly ${c.doc!.ok}: ${c.doc!.why})`);
    }
  }
});

t.test('Retention, LegalHold and Delete documents with misspelled or unknown elements change nothing', async (t) => {
  const victim = scratch[0]!;
  const held = scratch[1]!;
  const bypass = { 'x-amz-bypass-governance-retention': 'true' };
  const future = new Date(Date.now() + 30 * DAY).toISOString();
  // Each is refused (never read as "remove the retention"): checked on a scratch GOVERNANCE version, with the bypass.
  const retentions: Array<[string, string]> = [
    ['lower-case element names', `<Retention><mode>GOVERNANCE</mode><retainuntildate>${future}</retainuntildate></Retention>`],
    ['text instead of elements', '<Retention>GOVERNANCE</Retention>'],
    ['an unknown element only', '<Retention><Until>2030-01-01T00:00:00Z</Until></Retention>'],
    ['Mode only', '<Retention><Mode>GOVERNANCE</Mode></Retention>'],
    ['an empty RetainUntilDate', '<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate/></Retention>'],
    ['children one level too deep', `<Retention><Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>${future}</RetainUntilDate></Retention></Retention>`],
    ['mode governance', `<Retention><Mode>governance</Mode><RetainUntilDate>${future}</RetainUntilDate></Retention>`],
  ];
  for (const [what, body] of retentions) {
    // A fresh GOVERNANCE retention first (the bypass allows setting it back).
    await read({ method: 'PUT', path: `/${LB}/${victim.key}`, query: `retention=&versionId=${victim.id}`, headers: bypass, body: retentionDoc('GOVERNANCE', GOV_UNTIL.toISOString()) });
    const c: Case = { kind: 'retention with bypass', req: { method: 'PUT', path: `/${LB}/${victim.key}`, query: `retention=&versionId=${victim.id}`, headers: bypass, body }, doc: judge('retention', body), scratch: { bucket: LB, ...victim } };
    const o = await probe(t, c, `Retention with ${what}, with the bypass`);
    t.ok(o.status === 400 && ['MalformedXML', 'InvalidArgument'].includes(o.code ?? ''), `Retention with ${what}, with the bypass → 400 MalformedXML or InvalidArgument (${o.status} ${o.code ?? ''})`);
    t.equal(await readRetention(LB, victim.key, victim.id), `GOVERNANCE ${GOV_UNTIL.toISOString()}`, `Retention with ${what}: the GOVERNANCE retention is still there`);
    // And without the bypass on the protected version: refused, nothing changed (probe checks the state).
    const p = await probe(t, caseFor(subs()[3]!, body), `p/gov: Retention with ${what}, no bypass`);
    t.ok(p.status >= 400 && p.status < 500, `p/gov: Retention with ${what} → 4xx (${p.status} ${p.code ?? ''})`);
  }
  const holds: Array<[string, string]> = [
    ['status in lower case', '<LegalHold><status>OFF</status></LegalHold>'],
    ['Status off', '<LegalHold><Status>off</Status></LegalHold>'],
    ['an unknown element besides Status', '<LegalHold><Status>OFF</Status><Until>never</Until></LegalHold>'],
    ['two Status', '<LegalHold><Status>ON</Status><Status>OFF</Status></LegalHold>'],
    ['text', '<LegalHold>OFF</LegalHold>'],
  ];
  for (const [what, body] of holds) {
    await read({ method: 'PUT', path: `/${LB}/${held.key}`, query: `legal-hold=&versionId=${held.id}`, body: '<LegalHold><Status>ON</Status></LegalHold>' });
    const c: Case = { kind: 'legal hold', req: { method: 'PUT', path: `/${LB}/${held.key}`, query: `legal-hold=&versionId=${held.id}`, body }, doc: judge('legal-hold', body), scratch: { bucket: LB, ...held } };
    const o = await probe(t, c, `LegalHold with ${what}`);
    t.equal(`${o.status} ${o.code}`, '400 MalformedXML', `LegalHold with ${what} → 400 MalformedXML`);
    t.equal(await readHold(LB, held.key, held.id), 'ON', `LegalHold with ${what}: still ON`);
  }
  // Delete entries whose VersionId is misspelled must not turn into "delete the key" (a delete marker).
  // (An empty <VersionId/> does name the key: minio-js writes one for every key, and MinIO reads it
  // so; s3-xml-keys.test.ts checks removeObjects.)
  const deletes: Array<[string, (id: string) => string]> = [
    ['versionid in lower case', (id) => `<Delete><Object><Key>p/gov</Key><versionid>${id}</versionid></Object></Delete>`],
    ['VersionID', (id) => `<Delete><Object><Key>p/gov</Key><VersionID>${id}</VersionID></Object></Delete>`],
    ['VersionId outside Object', (id) => `<Delete><Object><Key>p/gov</Key></Object><VersionId>${id}</VersionId></Delete>`],
    ['a Version element', (id) => `<Delete><Object><Key>p/gov</Key><Version><VersionId>${id}</VersionId></Version></Object></Delete>`],
    ['Objects wrapped in a list', (id) => `<Delete><Objects><Object><Key>p/gov</Key><VersionId>${id}</VersionId></Object></Objects></Delete>`],
    ['two VersionIds', (id) => `<Delete><Object><Key>p/gov</Key><VersionId>${id}</VersionId><VersionId>${ids.mixed1}</VersionId></Object></Delete>`],
    ['two Keys', (id) => `<Delete><Object><Key>p/gov</Key><Key>p/held</Key><VersionId>${id}</VersionId></Object></Delete>`],
  ];
  for (const [what, doc] of deletes) {
    const body = doc(ids.gov2);
    const o = await probe(t, { kind: 'delete', req: { method: 'POST', path: `/${LB}`, query: 'delete=', body }, doc: judge('delete', body) }, `DeleteObjects with ${what} (p/gov)`);
    t.ok(o.status >= 400 && o.status < 500, `DeleteObjects with ${what}: refused (${o.status} ${o.code ?? ''})`);
  }
});

// ---- version ids

/** A UUIDv7-looking id from its parts. */
function uuid(ms: number, seq: number, variant: number, rest: string): string {
  const h = ms.toString(16).padStart(12, '0').slice(-12) + `7${seq.toString(16).padStart(3, '0').slice(-3)}` + `${variant.toString(16)}${rest}`.slice(0, 16).padEnd(16, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

t.test('version ids the store cannot place: far-future timestamps, sequence bits past 1023, odd variants', async (t) => {
  const ids2: Array<[string, string]> = [
    ['timestamp 2^48-1', uuid(2 ** 48 - 1, 0, 8, '000000000000000')],
    ['timestamp 2^43 (the year 2248)', uuid(2 ** 43, 0, 8, '000000000000000')],
    ['timestamp 2^43 + 1', uuid(2 ** 43 + 1, 5, 9, 'abcdefabcdefabc')],
    ['timestamp 2^43 - 1, sequence 1023', uuid(2 ** 43 - 1, 1023, 8, '000000000000000')],
    ['sequence 0xfff', uuid(Date.now(), 0xfff, 8, '000000000000000')],
    ['sequence 1024', uuid(Date.now(), 1024, 8, '000000000000000')],
    ['variant 0', uuid(Date.now(), 1, 0, '000000000000000')],
    ['variant f', uuid(Date.now(), 1, 0xf, '000000000000000')],
    ['timestamp 0', uuid(0, 0, 8, '000000000000000')],
  ];
  const ops: Array<[string, (id: string) => Req]> = [
    ['GET', (id) => ({ method: 'GET', path: `/${LB}/p/gov`, query: `versionId=${id}` })],
    ['HEAD', (id) => ({ method: 'HEAD', path: `/${LB}/p/gov`, query: `versionId=${id}` })],
    ['DELETE', (id) => ({ method: 'DELETE', path: `/${LB}/p/gov`, query: `versionId=${id}` })],
    ['GET ?retention', (id) => ({ method: 'GET', path: `/${LB}/p/gov`, query: `retention=&versionId=${id}` })],
    ['PUT ?retention', (id) => ({ method: 'PUT', path: `/${LB}/p/gov`, query: `retention=&versionId=${id}`, body: retentionDoc('GOVERNANCE', GOV_UNTIL.toISOString()) })],
    ['GET ?legal-hold', (id) => ({ method: 'GET', path: `/${LB}/p/held`, query: `legal-hold=&versionId=${id}` })],
    ['PUT ?legal-hold', (id) => ({ method: 'PUT', path: `/${LB}/p/held`, query: `legal-hold=&versionId=${id}`, body: '<LegalHold><Status>ON</Status></LegalHold>' })],
    ['GET ?tagging', (id) => ({ method: 'GET', path: `/${LB}/p/gov`, query: `tagging=&versionId=${id}` })],
    ['PUT ?tagging', (id) => ({ method: 'PUT', path: `/${LB}/p/gov`, query: `tagging=&versionId=${id}`, body: '<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>' })],
    ['DELETE ?tagging', (id) => ({ method: 'DELETE', path: `/${LB}/p/gov`, query: `tagging=&versionId=${id}` })],
    ['GET ?attributes', (id) => ({ method: 'GET', path: `/${LB}/p/gov`, query: `attributes=&versionId=${id}`, headers: { 'x-amz-object-attributes': 'ETag,ObjectSize' } })],
    ['GET ?acl', (id) => ({ method: 'GET', path: `/${LB}/p/gov`, query: `acl=&versionId=${id}` })],
    ['CopyObject source', (id) => ({ method: 'PUT', path: `/${LB}/s/copy-far`, headers: { 'x-amz-copy-source': `/${LB}/p/gov?versionId=${id}` } })],
    ['UploadPartCopy source', (id) => ({ method: 'PUT', path: `/${LB}/s/upc`, query: 'partNumber=1&uploadId=none', headers: { 'x-amz-copy-source': `/${LB}/p/gov?versionId=${id}` } })],
    ['DeleteObjects entry', (id) => ({ method: 'POST', path: `/${LB}`, query: 'delete=', body: `<Delete><Object><Key>p/gov</Key><VersionId>${id}</VersionId></Object></Delete>` })],
    ['ListObjectVersions version-id-marker', (id) => ({ method: 'GET', path: `/${LB}`, query: `versions=&key-marker=p%2Fgov&version-id-marker=${id}` })],
  ];
  for (const [what, id] of ids2) {
    for (const [op, req] of ops) {
      const o = await run({ kind: op, req: req(id) });
      t.same(o.problems, [], `${op} with a version id of ${what} (${id}): ${o.status} ${o.code ?? ''}`);
    }
  }
});

t.test('odd x-amz-bypass-governance-retention values never bypass', async (t) => {
  // Each value is tried on fresh scratch versions under GOVERNANCE (a bypass that works must not
  // take a protected version with it); the protected ones are tried with the values S3 honours
  // (true in any case), which never bypass COMPLIANCE or a legal hold.
  const odd = ['1', 'yes', 'on', 'y', 't', 'truee', 'true,true', 'true, true', 'false', 'FALSE', '', 'null', '"true"', 'tru e', 't rue', 'true;', 'true\ttrue', 'x'.repeat(2000)];
  const until = new Date(Math.ceil((Date.now() + 5 * DAY) / 1000) * 1000).toISOString();
  for (const [n, v] of odd.entries()) {
    const label = JSON.stringify(v.slice(0, 20));
    const h = { 'x-amz-bypass-governance-retention': v };
    const key = `s/bypass-${n}`;
    const id = await putVersion(t, LB, key, `bypass ${n}`, lockHeaders('GOVERNANCE', new Date(until)));
    known.delete(id);
    const del = await run({ kind: 'DELETE', req: { method: 'DELETE', path: `/${LB}/${key}`, query: `versionId=${id}`, headers: h } });
    t.same(del.problems, [], `DELETE a GOVERNANCE version with bypass ${label}: ${del.status} ${del.code ?? ''}`);
    t.equal(del.status, 403, `DELETE a GOVERNANCE version with bypass ${label} → 403 (${del.code ?? ''})`);
    const body = retentionDoc('GOVERNANCE', new Date(Date.now() + DAY).toISOString());
    const shorten = await run({ kind: 'shorten', req: { method: 'PUT', path: `/${LB}/${key}`, query: `retention=&versionId=${id}`, headers: h, body }, doc: judge('retention', body), scratch: { bucket: LB, key, id } });
    t.same(shorten.problems, [], `shorten a GOVERNANCE retention with bypass ${label}: ${shorten.status} ${shorten.code ?? ''}`);
    t.equal(shorten.status, 403, `shorten a GOVERNANCE retention with bypass ${label} → 403 (${shorten.code ?? ''})`);
    const multi = await exchange({ method: 'POST', path: `/${LB}`, query: 'delete=', headers: h, body: `<Delete><Object><Key>${key}</Key><VersionId>${id}</VersionId></Object></Delete>` });
    t.ok(multi.status === 403 || /<Error><Key>[^<]+<\/Key><VersionId>[^<]+<\/VersionId><Code>AccessDenied<\/Code>/.test(multi.body.toString()), `DeleteObjects with bypass ${label}: AccessDenied for the version (${show(multi)})`);
    t.equal(await readRetention(LB, key, id), `GOVERNANCE ${until}`, `bypass ${label}: the version and its retention are still there`);
  }
  // Header values whose ends are bytes past 0x7f: the value is what was sent, not a trimmed
  // "true". Signed over "true" (what a trimming server would see): a server that reads the bytes
  // sent answers SignatureDoesNotMatch, and never bypasses.
  for (const [n, wire] of ['true\u00ff', '\u00fftrue', 'true\u0080', '\u0080\u0080true\u0081', 'true\u00a0'].entries()) {
    const key = `s/bypass-bytes-${n}`;
    const id = await putVersion(t, LB, key, `bypass bytes ${n}`, lockHeaders('GOVERNANCE', new Date(until)));
    known.delete(id);
    const label = JSON.stringify(Buffer.from(wire, 'latin1').toString('hex'));
    const del = await run({ kind: 'DELETE', req: { method: 'DELETE', path: `/${LB}/${key}`, query: `versionId=${id}`, headers: { 'x-amz-bypass-governance-retention': 'true' }, sendAs: { 'x-amz-bypass-governance-retention': wire } } });
    t.same(del.problems, [], `DELETE with bypass header bytes ${label}: ${del.status} ${del.code ?? ''}`);
    // Known limit of the uWebSockets.js build: its parser trims bytes past 0x7f at the ends of a
    // header value as if they were spaces (a signed-char comparison), before s3d sees it; the
    // signature is computed over that same trimmed value, so only the signer can do this.
    const UWS_TRIM = { todo: 'uWS trims header-value bytes > 0x7f at the ends (the signed value is then "true")' };
    t.equal(del.status, 403, `DELETE a GOVERNANCE version with bypass header bytes ${label} (not "true") → 403 (${del.status} ${del.code ?? ''})`, UWS_TRIM);
    t.equal(await readRetention(LB, key, id), `GOVERNANCE ${until}`, `bypass header bytes ${label}: the version is still there`, UWS_TRIM);
  }
  // Bypass (in any case) never removes a COMPLIANCE retention or a legal hold.
  for (const v of ['true', 'TRUE', 'True']) {
    const h = { 'x-amz-bypass-governance-retention': v };
    await probe(t, { kind: 'DELETE p/comp', req: { method: 'DELETE', path: `/${LB}/p/comp`, query: `versionId=${ids.comp1}`, headers: h } }, `DELETE the COMPLIANCE version with bypass ${v}`);
    await probe(t, { kind: 'DELETE p/held', req: { method: 'DELETE', path: `/${LB}/p/held`, query: `versionId=${ids.held1}`, headers: h } }, `DELETE the held version with bypass ${v}`);
    await probe(t, { kind: 'remove COMPLIANCE', req: { method: 'PUT', path: `/${LB}/p/comp`, query: `retention=&versionId=${ids.comp1}`, headers: h, body: '<Retention/>' }, may: 'comp', doc: judge('retention', '<Retention/>') }, `remove the COMPLIANCE retention with bypass ${v}`);
    const multi = await exchange({ method: 'POST', path: `/${LB}`, query: 'delete=', headers: h, body: `<Delete><Object><Key>p/comp</Key><VersionId>${ids.comp1}</VersionId></Object><Object><Key>p/held</Key><VersionId>${ids.held1}</VersionId></Object></Delete>` });
    t.equal((multi.body.toString().match(/<Code>AccessDenied<\/Code>/g) ?? []).length, 2, `DeleteObjects of the COMPLIANCE and held versions with bypass ${v}: AccessDenied twice`);
  }
  const now = await readState(true);
  t.same(diff(model, now, true), [], 'the protected state is unchanged');
});

// ---- the fuzzer

type Rnd = ReturnType<typeof prng>;

const NUMBERS = ['-1', '0', '1', '-0', '1e309', '1e9', '9007199254740993', '2147483648', '4294967296', '1.5', '0x10', 'NaN', 'Infinity', ' 7 ', '+1', '\uff11', '007', '', '1000', '1001', '36500', '36501', '100', '101'];
const UNICODE = ['ключ', '\u{1F525}'.repeat(20), 'e\u0301'.repeat(20), '\u202eevil', '\uffff\ufffe', '\u2028\u2029', '\u200b', '\uff21', '\u{10ffff}'];
const SPECIAL = ['&amp;', '&lt;x&gt;', '&bogus;', '&', '<', ']]>', '<![CDATA[<a>]]>', '<!-- c -->', '*', '%00', '../../etc', 'null', 'GOVERNANCE', 'COMPLIANCE', 'governance', 'ON', 'OFF', 'on', 'Enabled', 'Suspended', 'enabled', 'true', 'TRUE'];

function hostileText(rnd: Rnd): string {
  switch (rnd.int(6)) {
    case 0:
      return rnd.pick(NUMBERS);
    case 1:
      return rnd.pick(UNICODE);
    case 2:
      return rnd.pick(ODD_DATES);
    case 3:
      return rnd.pick(SPECIAL);
    case 4:
      return rnd.pick(['x', '\u00e9', '\u{1F525}']).repeat(rnd.pick([129, 1025, 5000, 70_000]));
    default:
      return Array.from({ length: 1 + rnd.int(30) }, () => String.fromCharCode(32 + rnd.int(95))).join('');
  }
}

/** A header value as the test signs it and sends it: printable ASCII (others → '?'). */
function sendable(v: string): string {
  return v.replace(/[^\t\x20-\x7e]/g, '?');
}

function elements(doc: string): Array<{ name: string; start: number; end: number }> {
  const out: Array<{ name: string; start: number; end: number }> = [];
  for (const m of doc.matchAll(/<([A-Za-z][\w:.-]*)(\s[^>]*)?>/g)) {
    const close = doc.indexOf(`</${m[1]}>`, m.index);
    if (close > 0) out.push({ name: m[1]!, start: m.index, end: close + m[1]!.length + 3 });
  }
  return out;
}

function texts(doc: string): Array<{ start: number; end: number }> {
  return [...doc.matchAll(/>([^<]+)</g)].map((m) => ({ start: m.index + 1, end: m.index + 1 + m[1]!.length }));
}

function splice(doc: string, start: number, end: number, insert: string): string {
  return doc.slice(0, start) + insert + doc.slice(end);
}

/** A value that fits an element of these documents (valid, nearly valid, or hostile). */
function valueFor(rnd: Rnd, name: string): string {
  const future = (): string => new Date(Date.now() + (1 + rnd.int(60)) * DAY).toISOString();
  switch (name) {
    case 'Status':
      return rnd.pick(['Enabled', 'Suspended', 'ON', 'OFF', 'on', 'off', 'enabled', 'Disabled', ' ON ', '', hostileText(rnd)]);
    case 'Mode':
      return rnd.pick(['GOVERNANCE', 'COMPLIANCE', 'governance', 'Compliance', 'GOVERNANCE ', 'LEGAL', '', hostileText(rnd)]);
    case 'RetainUntilDate':
      return rnd.pick([future(), future().replace('.000Z', 'Z'), future().replace('Z', '+00:00'), GOV_UNTIL.toISOString(), COMP_UNTIL.toISOString(), new Date(Date.now() - DAY).toISOString(), rnd.pick(ODD_DATES), hostileText(rnd)]);
    case 'Days':
    case 'Years':
      return rnd.pick([...NUMBERS, String(1 + rnd.int(40))]);
    case 'Quiet':
      return rnd.pick(['true', 'false', 'TRUE', '1', '0', '', hostileText(rnd)]);
    case 'VersionId':
      return versionIdValue(rnd, rnd.pick(['p/gov', 'p/comp', 'p/held', 'p/mixed']), false);
    case 'Key':
      return rnd.pick(['p/gov', 'p/comp', 'p/held', 's/x', '', ' ', hostileText(rnd)]);
    default:
      return hostileText(rnd);
  }
}

/** One mutation of an XML document (may return bytes that are not UTF-8). */
function mutateXml(rnd: Rnd, doc: string, root: string, limit: number): Buffer | string {
  const els = elements(doc);
  const txt = texts(doc);
  const el = els.length > 0 ? rnd.pick(els) : { name: 'X', start: 0, end: doc.length };
  const tx = txt.length > 0 ? rnd.pick(txt) : { start: el.start, end: el.start };
  switch (rnd.int(22)) {
    case 0:
      return doc.slice(0, rnd.int(doc.length));
    case 1: {
      const b = Buffer.from(doc);
      for (let i = 1 + rnd.int(4); i > 0; i--) b[rnd.int(b.length)] = rnd.int(256);
      return b;
    }
    case 2: {
      const n = rnd.pick([50, 1000, 5000, 60_000]);
      return splice(doc, el.start, el.start, '<a>'.repeat(n) + (rnd.bool(0.8) ? '</a>'.repeat(n) : ''));
    }
    case 3: {
      const one = doc.slice(el.start, el.end);
      const n = Math.min(rnd.pick([2, 11, 101, 1001, 100_001]), Math.ceil((limit * 1.1) / Math.max(one.length, 1)));
      return splice(doc, el.start, el.end, one.repeat(n));
    }
    case 4:
      return splice(doc, el.start, el.end, '');
    case 5:
      return doc.replace(new RegExp(`(</?)${root}\\b`, 'g'), `$1${rnd.pick(['Foo', 'Tagging', 'Retention', 'LegalHold', 'Delete', 'VersioningConfiguration', 'ObjectLockConfiguration', root.toLowerCase(), `${root}s`, 'Error'])}`);
    case 6:
      return splice(doc, tx.start, tx.end, hostileText(rnd));
    case 7:
      return splice(doc, tx.start, tx.end, valueFor(rnd, el.name));
    case 8: {
      // The value of a named element replaced with one that fits it.
      const named = els.filter((e) => !e.name.includes(':') && doc.slice(e.start, e.end).indexOf('<', 1) === doc.slice(e.start, e.end).lastIndexOf('</'));
      if (named.length === 0) return doc;
      const e = rnd.pick(named);
      return splice(doc, e.start, e.end, `<${e.name}>${valueFor(rnd, e.name)}</${e.name}>`);
    }
    case 9: {
      const value = rnd.pick(['OFF', 'Suspended', 'GOVERNANCE', 'a\nX-Evil: 1', 'x'.repeat(5000), '&#38;#10;']);
      const dtd = `<!DOCTYPE ${root} [<!ENTITY e "${value}">${rnd.bool() ? `<!ENTITY x SYSTEM "http://127.0.0.1:${canary.port}/fuzz">` : ''}]>`;
      return dtd + splice(doc, tx.start, tx.end, rnd.pick(['&e;', '&x;', '&e;&e;&e;', '&undefined;']));
    }
    case 10: {
      const bad = rnd.pick([[0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x80], [0xf4, 0x90, 0x80, 0x80]]);
      const b = Buffer.from(doc);
      const cut = Buffer.byteLength(doc.slice(0, tx.start));
      return Buffer.concat([b.subarray(0, cut), Buffer.from(bad), b.subarray(cut)]);
    }
    case 11:
      // Duplicate an element next to itself (Status twice, Days twice, …).
      return splice(doc, el.end, el.end, doc.slice(el.start, el.end).replace(/>([^<]+)</, `>${rnd.bool() ? '$1' : valueFor(rnd, el.name)}<`));
    case 12:
      return splice(doc, el.start + 1 + el.name.length, el.start + 1 + el.name.length, rnd.pick([' a="1" a="2"', ' xmlns="urn:x"', ` xmlns="${S3_NS}"`, ' xmlns:p="urn:p" p:x="y"', ` ${'a'.repeat(5000)}="1"`, ' =']));
    case 13:
      // An element renamed: lower case, upper case, a prefix, a near miss.
      return splice(doc, el.start, el.end, doc.slice(el.start, el.end).replace(new RegExp(`(</?)${el.name}\\b`, 'g'), `$1${rnd.pick([el.name.toLowerCase(), el.name.toUpperCase(), `x:${el.name}`, `${el.name}s`, el.name.replace(/d$/, 'D')])}`));
    case 14:
      return rnd.pick(['', ' ', '\ufeff', '<?xml version="1.0"?>', '<', '<>', `<${root}>`, `<${root}/>`, `<${root}></${root}>`, `<${root}>text</${root}>`, '{}', 'null']);
    case 15:
      // An element one level deeper, or a child lifted out of its parent.
      return rnd.bool() ? splice(doc, el.start, el.end, `<Wrap>${doc.slice(el.start, el.end)}</Wrap>`) : splice(doc, el.start, el.end, doc.slice(el.start, el.end).replace(/^<[^>]+>|<\/[^>]+>$/g, ''));
    case 16:
      return splice(doc, el.end, el.end, rnd.pick(['mixed text', '<Unknown>1</Unknown>', '<!-- comment -->', '<?pi?>', '<![CDATA[x]]>', '<Rule/>', '<Object/>', '<Status>OFF</Status>', '<Days>1</Days><Years>1</Years>']));
    case 17:
      return splice(doc, tx.start, tx.end, `<![CDATA[${doc.slice(tx.start, tx.end)}]]>`);
    case 18:
      return `${LAUGHS(root)}${doc}`.replace(/>([^<]+)</, '>&lol5;<');
    case 19:
      return `${doc}${rnd.pick([doc, `<${root}/>`, '<Other/>', 'junk', '\u0000'])}`;
    case 20:
      return splice(doc, tx.start, tx.end, ` ${doc.slice(tx.start, tx.end)}\n`);
    default: {
      const first = mutateXml(rnd, doc, root, limit);
      return typeof first === 'string' ? mutateXml(rnd, first, root, limit) : first;
    }
  }
}

/**
 * A versionId value for `key` (percent-encoded for the query unless raw): junk, percent-encoded
 * junk, UUIDv7 look-alikes with odd sequence and variant bits, ids of other keys, null. With
 * `readOnly`, the key's own unlocked ids too (only for requests that change nothing).
 */
function versionIdValue(rnd: Rnd, key: string, readOnly: boolean): string {
  const own = [...known].filter(([, v]) => v.key === key).map(([id]) => id);
  const others = [...known].filter(([, v]) => v.key !== key).map(([id]) => id);
  const locked = key === 'p/gov' ? [ids.gov2] : key === 'p/comp' ? [ids.comp1] : key === 'p/held' ? [ids.held1] : [];
  const mutate = (id: string): string =>
    rnd.pick([id.toUpperCase(), ` ${id}`, `${id} `, `{${id}}`, id.replace(/-/g, ''), `urn:uuid:${id}`, id.slice(0, -1), `${id}0`, id.slice(0, -1) + (id.endsWith('0') ? '1' : '0'), id.replace(/^(.{14})./, '$1' + rnd.pick(['0', '4', '8', 'f'])), id.replace(/^(.{19})./, '$1' + rnd.pick(['0', '7', 'c', 'f']))]);
  switch (rnd.int(10)) {
    case 0:
      return hostileText(rnd);
    case 1:
      return rnd.pick(['null', 'NULL', 'Null', 'null ', '', 'undefined', '0', '-1', 'latest', '*', '..', '/']);
    case 2:
      return mutate(rnd.pick([...own, ...others]));
    case 3:
      return rnd.pick(others);
    case 4:
      return rnd.pick(readOnly ? own : locked.length > 0 ? locked : others);
    case 5:
      // A look-alike near now with random sequence bits (past 1023 half the time) and variant.
      return uuid(Date.now() - rnd.int(1e9), rnd.int(4096), rnd.int(16), Array.from({ length: 15 }, () => rnd.int(16).toString(16)).join(''));
    case 6:
      // A look-alike with any 48-bit timestamp (the store's order stamp holds 43 bits of it).
      return uuid(rnd.pick([rnd.int(2 ** 43), 2 ** 43 - 1, 2 ** 43, 2 ** 43 + rnd.int(1e6), Math.floor(rnd.next() * 2 ** 48)]), rnd.int(1024), 8 + rnd.int(4), '0123456789abcde');
    case 7:
      return `${rnd.pick(own.length > 0 ? own : others)}${rnd.pick(['\u0000', '%', '\n', '&versionId=null', '#x', '?y'])}`;
    case 8:
      return rnd.pick(UNICODE);
    default:
      return 'x'.repeat(rnd.pick([37, 256, 1025, 8000]));
  }
}

/** A versionId query fragment: the value percent-encoded, or raw percent junk. */
function versionIdParam(rnd: Rnd, key: string, readOnly: boolean): string {
  if (rnd.bool(0.12)) return `versionId=${rnd.pick(['%', '%zz', '%FF', '%00', '%ED%A0%80', '%C0%80', '%E2%80%AE', 'a+b', '%2500', '%0d%0aX-Evil:%201'])}`;
  const v = versionIdValue(rnd, key, readOnly);
  const p = `versionId=${encodeURIComponent(v)}`;
  return rnd.bool(0.05) ? `${p}&versionId=${encodeURIComponent(rnd.pick([...known.keys()]))}` : p;
}

/** The lock-header verdict (S3's rules, read strictly) and what a success must have stored. */
function lockHeaderVerdict(h: Record<string, string>): Judged {
  const mode = h['x-amz-object-lock-mode'];
  const date = h['x-amz-object-lock-retain-until-date'];
  const hold = h['x-amz-object-lock-legal-hold'];
  if (mode === undefined && date === undefined && hold === undefined) return judged('yes', 'no lock headers');
  let ok: Ok = 'yes';
  const fields: Record<string, string> = {};
  if ((mode === undefined) !== (date === undefined)) return judged('no', 'mode without date or the reverse');
  if (mode !== undefined && date !== undefined) {
    if (mode.trim() !== 'GOVERNANCE' && mode.trim() !== 'COMPLIANCE') return judged('no', `mode ${JSON.stringify(mode)}`);
    if (mode !== mode.trim()) ok = 'maybe';
    const v = dateVerdict(date);
    if (v.ok === 'no') return judged('no', `retain-until ${JSON.stringify(date)}`);
    if (v.ms! <= Date.now()) return judged('no', 'retain-until in the past');
    ok = worst(ok, v.ok);
    fields.mode = mode.trim();
    fields.until = String(v.ms);
  }
  if (hold !== undefined) {
    if (hold.trim() !== 'ON' && hold.trim() !== 'OFF') return judged('no', `legal hold ${JSON.stringify(hold)}`);
    if (hold !== hold.trim()) ok = worst(ok, 'maybe');
    fields.hold = hold.trim();
  }
  return judged(ok, '', fields);
}

/**
 * PutObject / CopyObject / CreateMultipartUpload with lock headers: without Object Lock in the
 * bucket any lock header is refused; a success stores exactly what the headers say (checked on
 * the new version), an upload is aborted again.
 */
function lockHeaderCase(req: Req, lock: Record<string, string>, bucket: string, op: string): Case {
  const doc = lockHeaderVerdict(lock);
  const anyLock = ['x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date', 'x-amz-object-lock-legal-hold'].some((h) => lock[h] !== undefined);
  const c: Case = { kind: `${op} lock headers`, req: { ...req, headers: { ...(req.headers ?? {}), ...lock } }, doc };
  c.onSuccess = async (r) => {
    const problems: string[] = [];
    if (bucket === PB && anyLock && model.pbLock === '404') problems.push(`lock headers accepted in a bucket without Object Lock: ${JSON.stringify(lock)}`);
    if (op === 'CreateMultipartUpload') {
      const uploadId = xmlField(r.body, 'UploadId');
      if (uploadId) await read({ method: 'DELETE', path: req.path, query: `uploadId=${encodeURIComponent(uploadId)}` });
      if (doc.ok === 'no' && anyLock) problems.push(`invalid lock headers accepted (${doc.why})`);
      return problems;
    }
    const id = r.headers['x-amz-version-id'];
    const h = await read({ method: 'HEAD', path: req.path, query: id ? `versionId=${encodeURIComponent(String(id))}` : '' });
    const stored = { mode: h.headers['x-amz-object-lock-mode'], until: h.headers['x-amz-object-lock-retain-until-date'], hold: h.headers['x-amz-object-lock-legal-hold'] };
    const storedText = JSON.stringify(stored);
    if (doc.ok === 'no' && anyLock) problems.push(`invalid lock headers accepted (${doc.why}); stored ${storedText}`);
    if (stored.until !== undefined && !RFC3339_UTC.test(String(stored.until))) problems.push(`x-amz-object-lock-retain-until-date reads back as ${JSON.stringify(stored.until)}`);
    if (doc.ok === 'yes' && doc.fields.mode !== undefined) {
      if (stored.mode !== doc.fields.mode || Math.floor(Date.parse(String(stored.until)) / 1000) !== Math.floor(Number(doc.fields.until) / 1000)) problems.push(`asked for ${doc.fields.mode} ${new Date(Number(doc.fields.until)).toISOString()}, stored ${storedText}`);
    }
    if (doc.ok === 'yes' && doc.fields.hold !== undefined && stored.hold !== doc.fields.hold) problems.push(`asked for legal hold ${doc.fields.hold}, stored ${storedText}`);
    return problems;
  };
  return c;
}

function lockHeaders2(rnd: Rnd): Record<string, string> {
  const h: Record<string, string> = {};
  const future = (): string => new Date(Date.now() + (1 + rnd.int(30)) * DAY).toISOString();
  if (rnd.bool(0.7)) h['x-amz-object-lock-mode'] = sendable(rnd.pick(['GOVERNANCE', 'COMPLIANCE', 'GOVERNANCE', 'governance', 'Compliance', ' GOVERNANCE', 'LEGAL', '', 'GOVERNANCE,COMPLIANCE', hostileText(rnd)])).slice(0, 4000);
  if (rnd.bool(0.7)) h['x-amz-object-lock-retain-until-date'] = sendable(rnd.pick([future(), future(), future().replace('.000Z', 'Z'), future().replace('Z', '+05:30'), rnd.pick(ODD_DATES), new Date(Date.now() - DAY).toISOString(), hostileText(rnd)])).slice(0, 4000);
  if (rnd.bool(0.5)) h['x-amz-object-lock-legal-hold'] = sendable(rnd.pick(['ON', 'OFF', 'on', 'Off', ' ON', 'TRUE', '', 'ON,OFF', hostileText(rnd)])).slice(0, 4000);
  if (rnd.bool(0.3)) h['x-amz-bypass-governance-retention'] = sendable(rnd.pick(['true', 'TRUE', 'false', '1', '', hostileText(rnd)])).slice(0, 4000);
  return h;
}

/** The bodies of versions by id (for checking what a read or copy of a version returned). */
function bodyOf(id: string | null): string | undefined {
  return id === null ? undefined : known.get(id)?.body;
}

/** One fuzz case. */
function fuzzCase(rnd: Rnd, i: number, all: Sub[]): Case {
  const pick = rnd.next();
  // Documents.
  if (pick < 0.32) {
    const s = rnd.pick(all);
    for (let attempt = 0; attempt < 8; attempt++) {
      const body = mutateXml(rnd, s.good, ROOTS[s.kind], s.limit);
      const c = caseFor(s, body);
      if (s.kind === 'delete') {
        // A valid document naming a protected key without a version id deletes it legitimately (a
        // marker): only hostile (strictly invalid) ones may do that.
        const entries = deleteEntries(body) ?? [];
        const lockedIds = [ids.gov2, ids.comp1, ids.held1];
        const risky = entries.some((e) => {
          if (typeof e.key !== 'string' || !e.key.startsWith('p/')) return false;
          if (e.versionId === undefined) return true;
          return typeof e.versionId === 'string' && known.get(e.versionId)?.key === e.key && !lockedIds.includes(e.versionId);
        });
        if (risky && c.doc!.ok !== 'no') continue;
      }
      if (rnd.bool(0.15) && (s.kind === 'retention' || s.kind === 'legal-hold' || s.kind === 'delete')) {
        // Odd bypass values (never one that means true: these are protected versions).
        c.req.headers = { 'x-amz-bypass-governance-retention': sendable(rnd.pick(['1', 'yes', 'on', 'false', '', 'truee', 'true,true', hostileText(rnd)])).slice(0, 2000) };
        if (c.req.headers['x-amz-bypass-governance-retention']!.trim().toLowerCase() === 'true') c.req.headers = {};
      }
      c.kind = `fuzz ${s.name}`;
      return c;
    }
    return caseFor(s, s.good, { kind: `fuzz ${s.name} (good)` });
  }
  // Retention and legal hold of scratch versions, with the bypass: only the document decides.
  if (pick < 0.38) {
    const v = rnd.pick(scratch);
    const hold = rnd.bool(0.35);
    const kind: DocKind = hold ? 'legal-hold' : 'retention';
    const good = hold ? '<LegalHold><Status>ON</Status></LegalHold>' : retentionDoc('GOVERNANCE', new Date(Date.now() + 20 * DAY).toISOString());
    const body = rnd.bool(0.85) ? mutateXml(rnd, good, ROOTS[kind], 64 * KiB) : good;
    const bypass = sendable(rnd.pick(['true', 'TRUE', 'True', 'true', '1', 'false', hostileText(rnd)])).slice(0, 2000);
    return {
      kind: `fuzz scratch ${kind}`,
      req: { method: 'PUT', path: `/${LB}/${v.key}`, query: `${kind}=&versionId=${v.id}`, headers: { 'x-amz-bypass-governance-retention': bypass }, body },
      doc: judge(kind, body),
      scratch: { bucket: LB, ...v },
    };
  }
  // versionId on every versioned operation.
  if (pick < 0.64) {
    const bucket = rnd.bool(0.75) ? LB : PB;
    const key = bucket === LB ? rnd.pick(['p/gov', 'p/comp', 'p/held', 'p/mixed', 'p/none']) : rnd.pick(['p/a', 'p/b', 'p/n']);
    const op = rnd.pick(['GET', 'HEAD', 'GET', 'DELETE', 'GET ?retention', 'PUT ?retention', 'GET ?legal-hold', 'PUT ?legal-hold', 'GET ?tagging', 'PUT ?tagging', 'DELETE ?tagging', 'GET ?attributes', 'GET ?acl']);
    const [method, sub] = op.split(' ') as [string, string | undefined];
    const writes = method !== 'GET' && method !== 'HEAD' && sub !== '?tagging';
    // Writes that could legitimately change a protected version never name its own unlocked ids.
    if (writes && bucket === PB) return fuzzCase(rnd, i, all);
    if (op === 'PUT ?legal-hold' && key !== 'p/held') return fuzzCase(rnd, i, all);
    if (op === 'PUT ?retention' && key !== 'p/gov' && key !== 'p/comp') return fuzzCase(rnd, i, all);
    const vq = versionIdParam(rnd, key, !writes);
    const query = `${sub ? `${sub.slice(1)}=&` : ''}${vq}`;
    const headers: Record<string, string> = sub === '?attributes' ? { 'x-amz-object-attributes': rnd.pick(['ETag', 'ETag,ObjectSize', 'ObjectParts', 'Checksum,StorageClass']) } : {};
    if (method === 'DELETE' && rnd.bool(0.3)) headers['x-amz-bypass-governance-retention'] = sendable(rnd.pick(['1', 'yes', 'false', '', hostileText(rnd)])).slice(0, 2000);
    const bodies: Record<string, string> = {
      '?retention': retentionDoc(key === 'p/comp' ? 'COMPLIANCE' : 'GOVERNANCE', (key === 'p/comp' ? COMP_UNTIL : GOV_UNTIL).toISOString()),
      '?legal-hold': '<LegalHold><Status>ON</Status></LegalHold>',
      '?tagging': '<Tagging><TagSet><Tag><Key>fuzz</Key><Value>1</Value></Tag></TagSet></Tagging>',
    };
    const body = method === 'PUT' ? bodies[sub!] : undefined;
    const requested = new URLSearchParams(vq).get('versionId');
    const c: Case = { kind: `versionId ${op}`, req: { method, path: `/${bucket}/${key}`, query, headers, ...(body !== undefined ? { body } : {}) } };
    if (op === 'PUT ?retention') Object.assign(c, { may: key === 'p/gov' ? 'gov' : 'comp', doc: judge('retention', body!) });
    if (op === 'PUT ?legal-hold') Object.assign(c, { may: 'held', doc: judge('legal-hold', body!) });
    c.onSuccess = async (r) => {
      const problems: string[] = [];
      const got = r.headers['x-amz-version-id'];
      if (requested !== null && method !== 'DELETE' && got !== undefined && got !== requested) problems.push(`asked for version ${JSON.stringify(requested)}, answered for ${JSON.stringify(got)}`);
      if (requested !== null && method !== 'DELETE' && got === undefined && (sub === undefined || sub === '?retention' || sub === '?legal-hold')) problems.push(`asked for version ${JSON.stringify(requested)}, the answer names none`);
      if (op === 'GET' && requested !== null && bodyOf(requested) !== undefined && r.body.toString() !== bodyOf(requested)) problems.push(`version ${requested}: body ${JSON.stringify(r.body.toString().slice(0, 60))}, expected ${JSON.stringify(bodyOf(requested))}`);
      if (requested !== null && known.get(requested)?.key !== undefined && known.get(requested)!.key !== key) problems.push(`the version ${requested} of ${known.get(requested)!.key} was served for ${key}`);
      return problems;
    };
    return c;
  }
  // CopyObject from a version (to a scratch key).
  if (pick < 0.72) {
    const bucket = rnd.bool(0.7) ? LB : PB;
    const key = bucket === LB ? rnd.pick(['p/gov', 'p/comp', 'p/held', 'p/mixed']) : rnd.pick(['p/a', 'p/b', 'p/n']);
    const vq = versionIdParam(rnd, key, true);
    const source = rnd.pick([`/${bucket}/${key}?${vq}`, `${bucket}/${key}?${vq}`, `/${bucket}/${encodeURIComponent(key)}?${vq}`, `/${bucket}/${key}?${vq}&x=1`, `/${bucket}/${key}?x=1&${vq}`, `/${bucket}/${key}?${vq}#frag`]);
    const requested = new URLSearchParams(vq).get('versionId');
    const dest = rnd.bool(0.8) ? LB : PB;
    const lock = rnd.bool(0.3) ? lockHeaders2(rnd) : {};
    const c = lockHeaderCase({ method: 'PUT', path: `/${dest}/s/copy-${i}`, headers: { 'x-amz-copy-source': sendable(source).slice(0, 6000) } }, lock, dest, 'CopyObject');
    const lockCheck = c.onSuccess!;
    c.kind = 'copy-source versionId';
    c.onSuccess = async (r) => {
      const problems = await lockCheck(r);
      const got = r.headers['x-amz-copy-source-version-id'];
      if (requested !== null && got !== requested) problems.push(`copied from version ${JSON.stringify(requested)}, x-amz-copy-source-version-id ${JSON.stringify(got)}`);
      const expected = bodyOf(requested);
      if (requested !== null && expected !== undefined) {
        const g = await read({ method: 'GET', path: `/${dest}/s/copy-${i}` });
        if (g.body.toString() !== expected) problems.push(`the copy of ${requested} holds ${JSON.stringify(g.body.toString().slice(0, 60))}, expected ${JSON.stringify(expected)}`);
      }
      if (requested !== null && known.get(requested) !== undefined && known.get(requested)!.key !== key) problems.push(`copied version ${requested} of ${known.get(requested)!.key} as ${key}`);
      return problems;
    };
    return c;
  }
  // ListObjectVersions with odd markers.
  if (pick < 0.82) {
    const bucket = rnd.bool(0.6) ? LB : PB;
    const params: string[] = ['versions='];
    const prefix = rnd.bool(0.7) ? 'p/' : '';
    if (prefix) params.push('prefix=p%2F');
    const keys = bucket === LB ? ['p/gov', 'p/comp', 'p/held', 'p/mixed'] : ['p/a', 'p/b', 'p/n'];
    let keyMarker: string | undefined;
    let vidMarker: string | undefined;
    if (rnd.bool(0.8)) keyMarker = rnd.pick([...keys, ...keys, 'p/', 'p/gov\u0000', 'p/zzz', 'a', '', '\uffff', hostileText(rnd).slice(0, 2000)]);
    const ownIds = [...known].filter(([, v]) => v.bucket === bucket && v.key === keyMarker).map(([id]) => id);
    if (rnd.bool(0.7)) vidMarker = ownIds.length > 0 && rnd.bool(0.5) ? rnd.pick(ownIds) : versionIdValue(rnd, keyMarker ?? rnd.pick(keys), true);
    if (keyMarker !== undefined) params.push(`key-marker=${encodeURIComponent(keyMarker)}`);
    if (vidMarker !== undefined) params.push(rnd.bool(0.1) ? `version-id-marker=${rnd.pick(['%', '%zz', '%FF'])}` : `version-id-marker=${encodeURIComponent(vidMarker)}`);
    const max = rnd.bool(0.7) ? rnd.pick([...NUMBERS, '1', '2', '3', '1', '2']) : undefined;
    if (max !== undefined) params.push(`max-keys=${encodeURIComponent(max)}`);
    if (rnd.bool(0.1)) params.push(`encoding-type=${rnd.pick(['url', 'URL', 'xml', ''])}`);
    if (rnd.bool(0.1)) params.push(`delimiter=${encodeURIComponent(rnd.pick(['/', 'o', '', hostileText(rnd).slice(0, 100)]))}`);
    const query = params.join('&');
    const c: Case = { kind: 'ListObjectVersions markers', req: { method: 'GET', path: `/${bucket}`, query } };
    c.onSuccess = async (r) => {
      const problems: string[] = [];
      const q = new URLSearchParams(query);
      if (q.has('delimiter') || q.has('encoding-type')) return problems;
      const lines = listingLines(r.body.toString()).replace(/ \(truncated\)$/, '');
      const got = lines === '' ? [] : lines.split('\n');
      const m = q.get('max-keys');
      if (m !== null && /^\d+$/.test(m) && got.length > Math.min(Number(m), 1000)) problems.push(`${got.length} entries for max-keys ${m}`);
      const full = await read({ method: 'GET', path: `/${bucket}`, query: prefix ? 'versions=&prefix=p%2F' : 'versions=' });
      const all = listingLines(full.body.toString()).split('\n');
      if (/truncated/.test(all.join())) return problems;
      const start = got.length === 0 ? 0 : all.indexOf(got[0]!);
      if (got.length > 0 && (start < 0 || got.some((g, j) => all[start + j] !== g))) problems.push(`the page is not a run of the full listing:\n${got.join('\n')}`);
      const km = q.get('key-marker') ?? '';
      const vm = q.get('version-id-marker') ?? '';
      if (km !== '' && got.some((g) => (vm === '' ? g.split(' ')[0]! <= km : g.split(' ')[0]! < km))) problems.push(`entries at or before key-marker ${JSON.stringify(km)}`);
      if (km !== '' && vm !== '') {
        const at = all.findIndex((l) => l.split(' ')[0] === km && l.split(' ')[1] === vm);
        if (at >= 0 && got.length > 0 && got[0] !== all[at + 1]) problems.push(`after ${km} ${vm} the page starts at ${got[0]}, not ${all[at + 1]}`);
      }
      return problems;
    };
    return c;
  }
  // Lock headers on PutObject / CopyObject / CreateMultipartUpload (scratch keys).
  const bucket = rnd.bool(0.8) ? LB : PB;
  const lock = lockHeaders2(rnd);
  const op = rnd.pick(['PutObject', 'PutObject', 'CopyObject', 'CreateMultipartUpload']);
  const key = `s/lock-${i}`;
  if (op === 'PutObject') return lockHeaderCase({ method: 'PUT', path: `/${bucket}/${key}`, body: `lock ${i}` }, lock, bucket, op);
  if (op === 'CopyObject') return lockHeaderCase({ method: 'PUT', path: `/${bucket}/${key}`, headers: { 'x-amz-copy-source': `/${LB}/p/gov?versionId=${rnd.pick([ids.gov1, ids.gov2])}` } }, lock, bucket, op);
  return lockHeaderCase({ method: 'POST', path: `/${bucket}/${key}`, query: 'uploads=' }, lock, bucket, op);
}

t.test(`seeded fuzzer (seed 0x${SEED.toString(16)}): documents, version ids, copy sources, listing markers, lock headers`, async (t) => {
  t.comment(`fuzz seed: 0x${SEED.toString(16)} (${SEED})`);
  const rnd = prng(SEED);
  const all = subs();
  const byCategory: Record<string, string[]> = { answer: [], state: [], success: [], check: [] };
  const counts: Record<string, number> = {};
  const started = Date.now();
  let done = 0;
  for (let i = 0; i < FUZZ_CASES && Date.now() - started < FUZZ_BUDGET_MS && d.proc.exitCode === null; i++) {
    const c = fuzzCase(rnd, i, all);
    const o = await run(c);
    const key = `${c.kind} ${o.status} ${o.code ?? ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
    if (o.lenient) stats.lenient.push(o.lenient);
    for (const p of o.problems) {
      const cat = p.split(':')[0]!;
      (byCategory[cat] ?? byCategory.check!).push(`#${i} ${describe(c)}\n    → ${o.status} ${o.code ?? ''}: ${p}`);
    }
    done++;
  }
  const elapsed = Date.now() - started;
  t.comment(`fuzzer: ${done} cases in ${elapsed} ms; ${stats.legitChanges} legitimate changes put back; ${stats.restores} restores`);
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(Object.entries(counts).sort()))}`);
  const lenient: Record<string, number> = {};
  for (const l of stats.lenient) lenient[l.replace(/\(.*/, '').trim()] = (lenient[l.replace(/\(.*/, '').trim()] ?? 0) + 1;
  t.comment(`strictly invalid documents or headers answered 2xx: ${JSON.stringify(lenient)}`);
  t.ok(done >= 300, `${done} cases run (at least 300)`);
  t.same(byCategory.answer!.slice(0, 12), [], `every answer is a well-formed S3 error or a valid success, never 5xx, never hung (${byCategory.answer!.length} problems)`);
  t.same(byCategory.state!.slice(0, 12), [], `no request changed the protected state unless it validly asked to (${byCategory.state!.length} problems)`);
  t.same(byCategory.success!.slice(0, 12), [], `every success did what was asked, nothing else (${byCategory.success!.length} problems)`);
  t.same(byCategory.check!.slice(0, 12), [], `the checks themselves ran (${byCategory.check!.length} problems)`);
  t.equal(d.proc.exitCode, null, 'the daemon survived the fuzzer');
});

t.test('afterwards: protected state intact, daemon alive and healthy', async (t) => {
  const now = await readState(true);
  t.same(diff(model, now, true), [], 'the protected state equals the model (listings, retention, legal hold, bodies, configurations)');
  t.equal(now.gov, `GOVERNANCE ${GOV_UNTIL.toISOString()}`, 'p/gov still has its GOVERNANCE retention');
  t.match(now.comp, /^COMPLIANCE /, `p/comp still has a COMPLIANCE retention (${now.comp})`);
  t.equal(now.held, 'ON', 'p/held still has its legal hold');
  t.match(now.lockConfig, /<Mode>GOVERNANCE<\/Mode><Days>7<\/Days>/, 'the lock configuration is the known-good one');
  t.match(now.lbVersioning, /<Status>Enabled<\/Status>/, 'the lock bucket is still versioning Enabled');
  t.match(now.pbVersioning, /<Status>Enabled<\/Status>/, 'the plain bucket is still versioning Enabled');
  t.equal(now.pbLock, '404', 'the plain bucket still has no Object Lock');
  t.notMatch(now.bodies, /^(?!.* ok$).+$/m, 'every protected version reads back with its body');
  for (const [what, id, key] of [['GOVERNANCE', ids.gov2, 'p/gov'], ['COMPLIANCE', ids.comp1, 'p/comp'], ['held', ids.held1, 'p/held']] as const) {
    const r = await read({ method: 'DELETE', path: `/${LB}/${key}`, query: `versionId=${id}` });
    t.equal(`${r.status} ${errorCode(r.body)}`, '403 AccessDenied', `the ${what} version is still protected against DELETE`);
  }
  const live = await exchange({ method: 'GET', path: '/minio/health/live' }, new Agent());
  t.equal(live.status, 200, 'GET /minio/health/live: 200');
  t.equal(d.proc.exitCode, null, 'the process has not exited');
  t.equal(d.proc.signalCode, null, 'and was not killed');
  t.same(canary.requests, [], 'no external entity or DTD was ever fetched');
  const errors = d.jsonLogs().filter((l) => typeof l.level === 'number' && l.level >= 50);
  const distinct: Record<string, number> = {};
  for (const l of errors) {
    const e = (l.err ?? {}) as { type?: string; message?: string };
    const k = `${String(l.msg)}: ${e.type ?? ''} ${String(e.message ?? '').replace(/-?\d[\d_]*n?/g, 'N').slice(0, 160)}`;
    distinct[k] = (distinct[k] ?? 0) + 1;
  }
  t.same(distinct, {}, `no error-level log lines (${errors.length})`);
});
