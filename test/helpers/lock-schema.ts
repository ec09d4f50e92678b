// S3's rules, read strictly, for what the hostile versioning and Object Lock suites send
// (prod-hostile-versions-*): RFC 3339 dates, the request documents of PUT ?versioning /
// ?object-lock / ?retention / ?legal-hold and POST ?delete, and x-amz-object-lock-* headers, each
// judged 'yes' (valid, with what it asks for), 'no' (certainly invalid) or 'maybe' (XML features
// and lexical variants that parsers read differently).

import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The S3 XML namespace. */
export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

// ---- dates

const MAX_4_DIGIT_YEAR = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A verdict: valid, certainly invalid, or read differently by different parsers. */
export type Ok = 'yes' | 'no' | 'maybe';

/**
 * A date-time as S3 takes it (RFC 3339, a real calendar date, a 4-digit UTC year): 'yes' with its
 * ms; 'no' for what is certainly not one (a 13th month, Feb 30, no time, a number, a 6-digit
 * year); 'maybe' for lexical variants some parsers take (lower-case t/z, an offset without colon,
 * 24:00:00, a leap second, surrounding spaces, a UTC year past 9999).
 */
export function dateVerdict(s: string): { ok: Ok; ms?: number } {
  if (s !== s.trim()) {
    const inner = dateVerdict(s.trim());
    return inner.ok === 'no' ? inner : { ok: 'maybe', ...(inner.ms !== undefined ? { ms: inner.ms } : {}) };
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})([Tt])(\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):?(\d{2}))?$/.exec(s);
  if (!m) return { ok: 'no' };
  const [year, month, day, hour, min, sec] = [m[1], m[2], m[3], m[5], m[6], m[7]].map(Number) as [number, number, number, number, number, number];
  let verdict: Ok = 'yes';
  // No zone: S3 takes one in a Retention document as UTC (versitygw#855), not as a header.
  if (m[4] === 't' || m[9] === undefined || m[9] === 'z' || (m[10] !== undefined && !m[9].includes(':'))) verdict = 'maybe';
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
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

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

/** A verdict on a document or headers, why, and (when valid) what it asks for. */
export interface Judged {
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

/** The request documents judged here, and their root elements. */
export type DocKind = 'versioning' | 'object-lock' | 'retention' | 'legal-hold' | 'delete';
export const ROOTS: Record<DocKind, string> = { versioning: 'VersioningConfiguration', 'object-lock': 'ObjectLockConfiguration', retention: 'Retention', 'legal-hold': 'LegalHold', delete: 'Delete' };

/**
 * Judges a request document against S3's schema: 'yes' (valid, `fields` says what it asks for),
 * 'no' (certainly invalid: not UTF-8, not well-formed, another root, an unknown or misspelled
 * element, a value outside its set, a duplicate), or 'maybe' (XML features or lexical variants
 * whose reading varies: DTDs, entities, comments, CDATA, padding, other namespaces).
 */
export function judge(kind: DocKind, body: Buffer | string): Judged {
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

/** The lock-header verdict (S3's rules, read strictly) and what a success must have stored. */
export function lockHeaderVerdict(h: Record<string, string>): Judged {
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
