// Bucket lifecycle (expiration) configuration: Put/Get/DeleteBucketLifecycle, the rule matching
// the background scan (lifecycle-scanner.ts) uses, and the `x-amz-expiration` header GET and HEAD
// return. Actions: Expiration (Days/Date expire current objects: deleted when the bucket is
// unversioned, a delete marker on top in a versioned one; ExpiredObjectDeleteMarker removes a
// latest delete marker no other version is left under), NoncurrentVersionExpiration (a version
// NoncurrentDays after its successor was written is removed for good, the newest
// NewerNoncurrentVersions noncurrent versions of a key the rule selects kept; versionsDue decides) and
// AbortIncompleteMultipartUpload. s3d has one storage class, so Transition and
// NoncurrentVersionTransition are NotImplemented rather than accepted and never carried out;
// everything accepted is enforced.
import { uriEncode } from '../auth/sigv4.js';
import { randomBytes } from 'node:crypto';
import { S3Error } from '../errors.js';
import type { LifecycleRule, TagSet, UploadRecord } from '../meta/records.js';
import type { ListedRecord } from '../meta/listed-record.js';
import { isLocked } from '../meta/store.js';
import { writtenAt } from '../meta/versions.js';
import { clearBucketField, requireBucket, updateSeenBucket, type OpsEnv } from './env.js';
import { MAX_OBJECT_TAGS, validateTags } from './tagging.js';
import type { RequestContext, Result } from './types.js';
import { parseDocument, xmlElement, xmlFields, xmlList, xmlText, type XmlObject } from './xml.js';
import { writeXml } from './xml-writer.js';
import { parseDocumentOffLoop } from './xml-thread.js';
import { httpDate, parseIsoDateTime } from '../dates.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

const DAY_MS = 86_400_000;
/** The start of an ISO 8601 date and time (its calendar and clock are checked by parseIsoDateTime). */
const DATE_TIME_SHAPE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const MAX_RULES = 1000;
/**
 * Rules a PutBucketLifecycleConfiguration validates between two turns of the event loop: 1,000
 * of every element held it ~10-40 ms in one go (the 2-core VM, loaded), every other request waiting.
 */
const RULES_PER_TURN = 100;
/** Rules parseRule has validated since start (tests: a PUT validates a slice of them a turn). */
export const lifecycleCounters = { rulesParsed: 0 };
/** S3's bound on NewerNoncurrentVersions. */
const MAX_NEWER_NONCURRENT = 100;
const MAX_ID_CHARS = 255;
const MAX_XML_BODY = 1024 * 1024;
/**
 * The elements and attributes a lifecycle configuration may hold (parseXml refuses more before
 * the parse): MAX_RULES Rules of up to 64 each. The most a rule s3d stores can have is ~46 (ID,
 * Status, a Filter's And with a Prefix, two sizes and 10 Tags, three actions with their fields).
 */
const MAX_LIFECYCLE_MARKUP = 2 + MAX_RULES * 64;

function positiveInt(v: unknown, what: string): number {
  const s = xmlText(v, what).trim();
  // The schema's days are 32-bit integers: text that is none (`abc`, `1.5`), or one past that
  // range, is no document S3 parses (MalformedXML, as for any value its schema refuses; s3d said
  // InvalidArgument for the text); an integer under 1 is S3's InvalidArgument (Arsenal#2648,
  // reproduced against AWS: "'Days' for Expiration action must be a positive integer").
  if (!/^[+-]?\d+$/.test(s)) throw new S3Error('MalformedXML', `${what} must be a whole number.`);
  const n = Number(s);
  if (n > 2_147_483_647 || n < -2_147_483_648) throw new S3Error('MalformedXML', `${what} is outside the 32-bit integers (-2147483648 to 2147483647).`);
  if (n < 1) throw new S3Error('InvalidArgument', `${what} must be a positive whole number.`);
  return n;
}

/**
 * A rule as parsed and stored (in the bucket record with the rest of it). records.ts's
 * LifecycleRule does not name the NoncurrentVersionExpiration fields; they live here.
 */
/** A rule as stored in the bucket record (meta/records.ts). */
export type StoredLifecycleRule = LifecycleRule;

/** The largest object size a filter may name (1000 TiB), as S3's refusals state it. */
const MAX_FILTER_SIZE = 1_099_511_627_776_000;

/**
 * An object size bound of a filter, at least `min`: S3 takes ObjectSizeGreaterThan from 0 and
 * ObjectSizeLessThan from 1, up to MAX_FILTER_SIZE, and answers others with InvalidRequest in
 * these words (a LessThan of 0, which selects nothing, was stored).
 */
function size(v: unknown, what: string, min: number): number {
  const s = xmlText(v, what).trim();
  if (!/^-?\d+$/.test(s)) throw new S3Error('InvalidArgument', `${what} must be a whole number of bytes.`);
  const n = Number(s);
  if (n < min || n > MAX_FILTER_SIZE) throw new S3Error('InvalidRequest', `'${what}' should be between ${min} and ${MAX_FILTER_SIZE}.`);
  return n || 0;
}

function tagOf(v: unknown): [string, string] {
  const t = xmlFields(v, ['Key', 'Value'], 'Tag');
  // No Value is the empty value; a Value that is no text is no Tag S3's schema has (it was read
  // as '', a rule for another tag than the one written).
  return [xmlText(t.Key, 'Tag Key'), t.Value === undefined ? '' : xmlText(t.Value, 'Tag Value')];
}

interface FilterParts {
  prefix: string;
  tags: Array<[string, string]>;
  sizeGreaterThan?: number;
  sizeLessThan?: number;
  /** The conditions came in <And>; `prefix`: And held a <Prefix>. */
  and?: { prefix: boolean };
}

/** What a Filter, or its And, may hold. */
const CONDITIONS = ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'] as const;

/**
 * The elements of a Rule. Every element of a lifecycle document is checked against S3's schema:
 * an element s3d did not read would be dropped, and a rule meant for some objects (a Tag filter
 * misspelt `Tags`, a `Prefx`) would expire the whole bucket.
 */
const RULE_ELEMENTS = ['ID', 'Prefix', 'Filter', 'Status', 'Expiration', 'NoncurrentVersionExpiration', 'AbortIncompleteMultipartUpload'] as const;

function parseFilter(f: Record<string, unknown>): FilterParts {
  const out: FilterParts = { prefix: '', tags: [] };
  const take = (src: Record<string, unknown>): void => {
    if (src.Prefix !== undefined) out.prefix = src.Prefix === '' ? '' : xmlText(src.Prefix, 'Prefix');
    for (const t of xmlList(src.Tag)) out.tags.push(tagOf(t));
    if (src.ObjectSizeGreaterThan !== undefined) out.sizeGreaterThan = size(src.ObjectSizeGreaterThan, 'ObjectSizeGreaterThan', 0);
    if (src.ObjectSizeLessThan !== undefined) out.sizeLessThan = size(src.ObjectSizeLessThan, 'ObjectSizeLessThan', 1);
  };
  const and = f.And;
  const direct = CONDITIONS.filter((k) => f[k] !== undefined);
  if (and !== undefined) {
    if (direct.length > 0) throw new S3Error('MalformedXML', 'A Filter holds either And or one condition, not both.');
    const a = xmlFields(and, CONDITIONS, 'And');
    // An And joins "two or more predicates" (S3's reference): S3 refuses one alone as MalformedXML
    // (Terraform's provider met it with an And of a Prefix only), as MinIO and CloudServer do. A
    // Prefix counts when written, empty too (`<Prefix></Prefix>` beside one Tag is Terraform's usual
    // form, and mc's: minio-go writes And's Prefix always, and mc puts a lone condition outside And).
    // An empty And, read as the whole bucket, would expire everything.
    const predicates = CONDITIONS.filter((k) => k !== 'Tag' && a[k] !== undefined).length + xmlList(a.Tag).length;
    if (predicates < 2) throw new S3Error('MalformedXML', 'An And in a Filter must hold at least two conditions.');
    take(a);
    out.and = { prefix: a.Prefix !== undefined };
  } else {
    if (direct.length > 1 || xmlList(f.Tag).length > 1) throw new S3Error('MalformedXML', 'A Filter with more than one condition must wrap them in And.');
    take(f);
  }
  if (out.sizeGreaterThan !== undefined && out.sizeLessThan !== undefined && out.sizeLessThan <= out.sizeGreaterThan) {
    throw new S3Error('InvalidRequest', "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.");
  }
  return out;
}

/** Whether a filter names an object size. */
function hasSize(f: FilterParts): boolean {
  return f.sizeGreaterThan !== undefined || f.sizeLessThan !== undefined;
}

/**
 * A Filter element with nothing in it (`<Filter/>`, `<Filter></Filter>`), indentation alone
 * included: the document is parsed untrimmed, and a Filter opened and closed on lines of its own
 * was read back as `<Prefix></Prefix>`, although xmlElement takes it as empty as the others.
 */
function isEmptyFilter(f: unknown): boolean {
  return (typeof f === 'string' && f.trim() === '') || (typeof f === 'object' && f !== null && Object.keys(f).length === 0);
}

function parseRule(raw: unknown, i: number): StoredLifecycleRule {
  lifecycleCounters.rulesParsed++;
  const r = xmlElement(raw, 'Rule');
  const where = `Rule ${i + 1}`;
  for (const k of ['Transition', 'Transitions', 'NoncurrentVersionTransition', 'NoncurrentVersionTransitions']) {
    if (r[k] !== undefined) throw new S3Error('NotImplemented', `${where}: ${k} is not implemented (s3d has one storage class).`);
  }
  // MinIO's own expiry actions (minio-go's lifecycle package writes them for mc ilm rule add):
  // not implemented, rather than MalformedXML, which told the client its document was broken.
  const expiration = typeof r.Expiration === 'object' && r.Expiration !== null ? (r.Expiration as Record<string, unknown>) : {};
  for (const k of ['DelMarkerExpiration', 'AllVersionsExpiration']) {
    if (r[k] !== undefined) throw new S3Error('NotImplemented', `${where}: MinIO's ${k} is not implemented.`);
  }
  if (expiration.ExpiredObjectAllVersions !== undefined) throw new S3Error('NotImplemented', `${where}: MinIO's ExpiredObjectAllVersions is not implemented.`);
  xmlFields(r, RULE_ELEMENTS, where);
  // Kept as written, surrounding whitespace included (an opaque string, as MinIO keeps it): trimmed,
  // " x " read back "x" and "   " read back "", and tools that poll GET until it equals their PUT
  // (Terraform) waited forever; " x" and "x" were refused as one ID named twice.
  const id = r.ID === undefined || r.ID === '' ? randomBytes(10).toString('hex') : xmlText(r.ID, 'ID');
  if ([...id].length > MAX_ID_CHARS) throw new S3Error('InvalidArgument', `${where}: ID can be at most ${MAX_ID_CHARS} characters.`);
  const status = typeof r.Status === 'string' ? r.Status.trim() : r.Status;
  if (status !== 'Enabled' && status !== 'Disabled') throw new S3Error('MalformedXML', `${where}: Status must be Enabled or Disabled.`);
  if (r.Filter !== undefined && r.Prefix !== undefined) throw new S3Error('MalformedXML', `${where}: use Filter or Prefix, not both.`);
  // "Filter is required if the LifecycleRule does not contain a Prefix element" (S3's reference).
  if (r.Filter === undefined && r.Prefix === undefined) throw new S3Error('MalformedXML', `${where}: a rule needs a Filter (or the older Prefix).`);
  const legacyPrefix = r.Filter === undefined && r.Prefix !== undefined;
  const filter: FilterParts = legacyPrefix ? { prefix: r.Prefix === '' ? '' : xmlText(r.Prefix, 'Prefix'), tags: [] } : parseFilter(xmlFields(r.Filter, [...CONDITIONS, 'And'], 'Filter'));
  // A key named twice: S3's InvalidRequest (the filter's other tag rules are InvalidTag).
  if (new Set(filter.tags.map(([k]) => k)).size !== filter.tags.length) throw new S3Error('InvalidRequest', 'Duplicate Tag Keys are not allowed.');
  if (filter.tags.length > 0) validateTags(filter.tags, MAX_OBJECT_TAGS, 'filter');

  const rule: { -readonly [K in keyof StoredLifecycleRule]: StoredLifecycleRule[K] } = { id, enabled: status === 'Enabled', prefix: filter.prefix, tags: filter.tags };
  if (filter.sizeGreaterThan !== undefined) rule.sizeGreaterThan = filter.sizeGreaterThan;
  if (filter.sizeLessThan !== undefined) rule.sizeLessThan = filter.sizeLessThan;
  if (legacyPrefix) rule.legacyPrefix = true;
  else if (isEmptyFilter(r.Filter)) rule.emptyFilter = true;
  if (filter.and !== undefined) rule.andFilter = filter.and;
  if (r.Expiration !== undefined) {
    const e = xmlFields(r.Expiration, ['Days', 'Date', 'ExpiredObjectDeleteMarker'], `${where}: Expiration`);
    const parts = ['Days', 'Date', 'ExpiredObjectDeleteMarker'].filter((k) => e[k] !== undefined);
    if (parts.length !== 1) throw new S3Error('MalformedXML', `${where}: Expiration takes exactly one of Days, Date and ExpiredObjectDeleteMarker.`);
    if (e.Days !== undefined) rule.expirationDays = positiveInt(e.Days, `${where}: Expiration Days`);
    if (e.Date !== undefined) {
      const d = xmlText(e.Date, 'Date').trim();
      // Strictly a calendar date (30 February was moved to 2 March), and without a zone in UTC
      // (it was the server's time zone, so the same rule was refused or not by host).
      const t = parseIsoDateTime(d, { zoneless: 'utc' });
      // Text that is no ISO 8601 date and time at all (a date alone, an HTTP-date) is no timestamp
      // S3's schema takes: MalformedXML, as S3 answers.
      if (t === undefined && !DATE_TIME_SHAPE.test(d)) throw new S3Error('MalformedXML', `${where}: Date must be an ISO 8601 date and time.`);
      if (t === undefined || t % DAY_MS !== 0) throw new S3Error('InvalidArgument', "'Date' must be at midnight GMT", { fields: { ArgumentName: 'Date', ArgumentValue: d } });
      rule.expirationDate = t;
    }
    if (e.ExpiredObjectDeleteMarker !== undefined) {
      const v = xmlText(e.ExpiredObjectDeleteMarker, 'ExpiredObjectDeleteMarker').trim();
      if (v !== 'true' && v !== 'false') throw new S3Error('MalformedXML', `${where}: ExpiredObjectDeleteMarker must be true or false.`);
      rule.expiredObjectDeleteMarker = v === 'true';
      // As S3: a delete marker has no tags and no size, so such a rule could never select one.
      // InvalidRequest, as S3's refusals of the same kind beside it (its Object Size one below,
      // AbortIncompleteMultipartUpload's with Tags, recorded) and CloudServer's; the words are
      // theirs in form.
      if (rule.expiredObjectDeleteMarker && filter.tags.length > 0) throw new S3Error('InvalidRequest', 'ExpiredObjectDeleteMarker cannot be specified with Tags.');
      // S3's code and words, whatever the element's value (false too, as recorded).
      if (hasSize(filter)) throw new S3Error('InvalidRequest', 'ExpiredObjectDeleteMarker cannot be specified with Object Size.');
    }
  }
  if (r.NoncurrentVersionExpiration !== undefined) {
    const n = xmlFields(r.NoncurrentVersionExpiration, ['NoncurrentDays', 'NewerNoncurrentVersions'], `${where}: NoncurrentVersionExpiration`);
    // Empty, S3 answers MalformedXML (LocalStack's recording); with other elements but no days,
    // InvalidArgument.
    if (Object.keys(n).length === 0) throw new S3Error('MalformedXML', `${where}: NoncurrentVersionExpiration is empty.`);
    if (n.NoncurrentDays === undefined) throw new S3Error('InvalidArgument', `${where}: NoncurrentVersionExpiration needs NoncurrentDays.`);
    rule.noncurrentDays = positiveInt(n.NoncurrentDays, `${where}: NoncurrentDays`);
    if (n.NewerNoncurrentVersions !== undefined) {
      const keep = positiveInt(n.NewerNoncurrentVersions, `${where}: NewerNoncurrentVersions`);
      if (keep > MAX_NEWER_NONCURRENT) throw new S3Error('InvalidArgument', `${where}: NewerNoncurrentVersions can be at most ${MAX_NEWER_NONCURRENT}.`);
      rule.newerNoncurrentVersions = keep;
    }
  }
  if (r.AbortIncompleteMultipartUpload !== undefined) {
    // An upload in progress has no tags or size yet: such a filter could only be ignored. S3's
    // codes and words.
    if (filter.tags.length > 0) throw new S3Error('InvalidRequest', 'AbortIncompleteMultipartUpload cannot be specified with Tags.');
    if (hasSize(filter)) throw new S3Error('InvalidRequest', 'AbortIncompleteMultipartUpload cannot be specified with Object Size.');
    rule.abortIncompleteDays = positiveInt(xmlFields(r.AbortIncompleteMultipartUpload, ['DaysAfterInitiation'], `${where}: AbortIncompleteMultipartUpload`).DaysAfterInitiation, `${where}: DaysAfterInitiation`);
  }
  if (rule.expirationDays === undefined && rule.expirationDate === undefined && rule.expiredObjectDeleteMarker === undefined && rule.noncurrentDays === undefined && rule.abortIncompleteDays === undefined) {
    // S3's code and words (its error table lists InvalidRequest for this too).
    throw new S3Error('InvalidRequest', 'At least one action needs to be specified in a rule');
  }
  return rule;
}

/** Parses a LifecycleConfiguration document into rules (throws the S3 error S3 would). */
export function parseLifecycle(body: Buffer): StoredLifecycleRule[] {
  return lifecycleRules(parseDocument(body, 'LifecycleConfiguration', LIFECYCLE_PARSE));
}

/**
 * parseLifecycle's answer, the document parsed on the parsing thread when large (xml-thread.ts):
 * 1,000 Rules with every element, ~420 KiB, took ~40-70 ms to parse on the event loop.
 */
export async function readLifecycle(body: Buffer): Promise<StoredLifecycleRule[]> {
  const raws = ruleElements(await parseDocumentOffLoop(body, 'LifecycleConfiguration', LIFECYCLE_PARSE));
  // RULES_PER_TURN to a turn, in order: the first rule refused is the one refused in one go.
  const rules: StoredLifecycleRule[] = [];
  for (let i = 0; i < raws.length; i++) {
    if (i > 0 && i % RULES_PER_TURN === 0) await nextTurn();
    rules.push(parseRule(raws[i], i));
  }
  return uniqueIds(rules);
}

// MalformedXML past MAX_RULES rules, as S3 answers 1,001 rules and more (met by a client putting
// 1,127 against AWS, flightstats/hub#529; Ceph's rgw_lc_max_rules check fails the parse the same
// way): the count is S3's schema's, not an argument it judges. Counted before the parse, by the
// parse itself (parseXml's `most`, on the parsing thread for a large document): the 1 MiB read holds
// ~28,000 minimal Rules, whose parse held the event loop (every other request) for ~0.7 s each.
const TOO_MANY_RULES = `A lifecycle configuration can hold at most ${MAX_RULES} rules.`;
const LIFECYCLE_PARSE = { trim: false, maxMarkup: MAX_LIFECYCLE_MARKUP, most: { element: 'Rule', max: MAX_RULES, message: TOO_MANY_RULES } } as const;

function tooManyRules(): S3Error {
  return new S3Error('MalformedXML', TOO_MANY_RULES);
}

/** The rules of a parsed LifecycleConfiguration (its root element's content). */
function lifecycleRules(conf: Record<string, unknown> | string): StoredLifecycleRule[] {
  return uniqueIds(ruleElements(conf).map(parseRule));
}

/** The Rule elements of a parsed LifecycleConfiguration, 1 to MAX_RULES of them. */
function ruleElements(conf: Record<string, unknown> | string): unknown[] {
  const raws = xmlList(xmlFields(conf, ['Rule'], 'LifecycleConfiguration').Rule);
  if (raws.length === 0) throw new S3Error('MalformedXML', 'A lifecycle configuration needs at least one Rule.');
  if (raws.length > MAX_RULES) throw tooManyRules();
  return raws;
}

/** `rules`, after checking that no two share an ID. */
function uniqueIds(rules: StoredLifecycleRule[]): StoredLifecycleRule[] {
  const ids = new Set<string>();
  for (const r of rules) {
    // S3's words, as MinIO and NooBaa give them.
    if (ids.has(r.id)) throw new S3Error('InvalidArgument', 'Rule ID must be unique. Found same ID for more than one rule');
    ids.add(r.id);
  }
  return rules;
}

function tagXml(tags: TagSet): XmlObject[] {
  return tags.map(([Key, Value]) => ({ Key, Value }));
}

/**
 * GetBucketLifecycleConfiguration's document, written by XmlWriter: the bytes toXml writes of
 * lifecycleBody, whose 1,000 rules held the event loop ~15-45 ms through fast-xml-parser's builder.
 */
export function lifecycleXml(rules: readonly StoredLifecycleRule[]): string {
  return writeXml('LifecycleConfiguration', lifecycleBody(rules));
}

/** The LifecycleConfiguration root's content, in toXml's object form. */
export function lifecycleBody(rules: readonly StoredLifecycleRule[]): XmlObject {
  return {
    Rule: rules.map((r) => {
      const out: XmlObject = { ID: r.id };
      if (r.legacyPrefix) out.Prefix = r.prefix;
      else {
        const conds = (r.prefix !== '' ? 1 : 0) + r.tags.length + (r.sizeGreaterThan !== undefined ? 1 : 0) + (r.sizeLessThan !== undefined ? 1 : 0);
        const body: XmlObject = {};
        if (r.prefix !== '' || (r.andFilter === undefined && conds === 0 && r.emptyFilter !== true) || r.andFilter?.prefix === true) body.Prefix = r.prefix;
        if (r.tags.length > 0) body.Tag = tagXml(r.tags);
        if (r.sizeGreaterThan !== undefined) body.ObjectSizeGreaterThan = r.sizeGreaterThan;
        if (r.sizeLessThan !== undefined) body.ObjectSizeLessThan = r.sizeLessThan;
        // An And of one condition, stored by versions before PUT refused it, is given back as that
        // condition alone (the same filter): as an And, every get-modify-put of the configuration
        // (mc ilm rule add, Terraform, the CLI) would be refused for a rule its client never touched.
        const written = Object.keys(body).length - (r.tags.length > 0 ? 1 : 0) + r.tags.length;
        out.Filter = conds > 1 || (r.andFilter !== undefined && written > 1) ? { And: body } : body;
      }
      out.Status = r.enabled ? 'Enabled' : 'Disabled';
      if (r.expirationDays !== undefined) out.Expiration = { Days: r.expirationDays };
      else if (r.expirationDate !== undefined) out.Expiration = { Date: new Date(r.expirationDate).toISOString().replace('.000Z', 'Z') };
      else if (r.expiredObjectDeleteMarker !== undefined) out.Expiration = { ExpiredObjectDeleteMarker: String(r.expiredObjectDeleteMarker) };
      if (r.noncurrentDays !== undefined) {
        out.NoncurrentVersionExpiration = { NoncurrentDays: r.noncurrentDays, ...(r.newerNoncurrentVersions !== undefined ? { NewerNoncurrentVersions: r.newerNoncurrentVersions } : {}) };
      }
      if (r.abortIncompleteDays !== undefined) out.AbortIncompleteMultipartUpload = { DaysAfterInitiation: r.abortIncompleteDays };
      return out;
    }),
  };
}

// ---- matching

function matches(rule: LifecycleRule, key: string, rec: ListedRecord): boolean {
  if (!rule.enabled || !key.startsWith(rule.prefix)) return false;
  if (rule.sizeGreaterThan !== undefined && !(rec.size > rule.sizeGreaterThan)) return false;
  if (rule.sizeLessThan !== undefined && !(rec.size < rule.sizeLessThan)) return false;
  for (const [k, v] of rule.tags) if (!rec.tags?.some(([tk, tv]) => tk === k && tv === v)) return false;
  return true;
}

/**
 * The last moment an HTTP date can name (31 Dec 9999): a rule of 2,147,483,647 days (S3's bound,
 * "never" in practice) expires nothing in this world, and its date is left out of the headers
 * rather than sent as `Invalid Date`, which the AWS SDKs refuse to parse (a CreateMultipartUpload
 * that made its upload then failed in the client).
 */
const LAST_HTTP_DATE = Date.UTC(9999, 11, 31, 23, 59, 59);

/** Days after `time`, rounded up to the next midnight UTC (as S3 computes expiry). */
function daysAfter(time: number, days: number): number {
  return Math.ceil((time + days * DAY_MS) / DAY_MS) * DAY_MS;
}

/** When the object expires and under which rule (the earliest), or undefined. */
export function expiryOf(rules: readonly LifecycleRule[] | undefined, key: string, rec: ListedRecord): { at: number; ruleId: string } | undefined {
  let best: { at: number; ruleId: string } | undefined;
  for (const r of rules ?? []) {
    if ((r.expirationDays === undefined && r.expirationDate === undefined) || !matches(r, key, rec)) continue;
    const at = r.expirationDays !== undefined ? daysAfter(rec.mtime, r.expirationDays) : r.expirationDate!;
    if (best === undefined || at < best.at) best = { at, ruleId: r.id };
  }
  return best;
}

/** Whether some enabled rule has an action for the versions of versioned buckets (see versionsDue). */
export function hasVersionActions(rules: readonly StoredLifecycleRule[] | undefined): boolean {
  return (rules ?? []).some((r) => r.enabled && (r.noncurrentDays !== undefined || r.expiredObjectDeleteMarker === true || r.expirationDays !== undefined || r.expirationDate !== undefined));
}

/**
 * When `successor` was written, making the version below it noncurrent: its mtime, except for a
 * completed multipart upload, whose mtime (Last-Modified, as on S3) is the upload's initiation,
 * days before it completed perhaps: its commit, from its version stamp. With the initiation, the
 * versions such a completion replaced were removed at once, as if noncurrent for days.
 */
function replacedAt(successor: ListedRecord): number {
  return successor.uploadId === undefined ? successor.mtime : Math.max(successor.mtime, writtenAt(successor));
}

/**
 * Which versions of one key of a versioned bucket lifecycle removes for good at `now`, given
 * every version of the key newest first (the latest first, as MetaStore.keyVersions lists them).
 *
 * A noncurrent version (delete markers too) became noncurrent when its successor, the next newer
 * version, was written (replacedAt; the successor as it is now: when that was removed by
 * id, or replaced as the null version under Suspended, the next newer one counts); it is due under a NoncurrentVersionExpiration rule
 * whose filter selects it (prefix, and its own tags and size) once NoncurrentDays have passed since
 * then, rounded up to the next midnight UTC as Expiration Days are, unless fewer than the rule's
 * NewerNoncurrentVersions noncurrent versions newer than it are retained: those the rule's own
 * filter selects (delete markers included when it selects them) and this pass keeps (not due under
 * any rule, or locked). S3 documents the number as how many noncurrent versions it "will retain"
 * and says nothing of filters; counting versions the filter does not select, or ones another rule
 * removes in the same pass, would delete a version while fewer than that many of the rule's own
 * are left, so they are not counted (MinIO counts only what it spares too). The latest version is due only when it
 * is a delete marker no other version is left under (or every other one is due in this same pass)
 * and a rule selects it that either says ExpiredObjectDeleteMarker or expires current objects and
 * would expire the marker by its own age (Days from its mtime, or a Date passed): S3's "when you
 * specify the Days tag, Amazon S3 automatically performs ExpiredObjectDeleteMarker cleanup when the
 * delete markers are old enough", and "if the lifecycle configuration is set to delete current
 * versions … S3 removes the expired object's delete marker" (MinIO does the same). Returned in the
 * order to remove them: the noncurrent versions newest first, then the marker.
 */
export function versionsDue<R extends ListedRecord>(rules: readonly StoredLifecycleRule[] | undefined, key: string, versions: ReadonlyArray<{ readonly record: R }>, now: number): R[] {
  const due: R[] = [];
  if (rules === undefined || versions.length === 0) return due;
  const kept = keptCounts(rules);
  for (let i = 1; i < versions.length; i++) {
    const rec = versions[i]!.record;
    if (noncurrentDue(rules, key, rec, versions[i - 1]!.record, kept, now)) due.push(rec);
    else countKept(rules, key, rec, kept);
  }
  const latest = versions[0]!.record;
  if (due.length === versions.length - 1 && loneMarkerDue(rules, key, latest, now)) due.push(latest);
  return due;
}

/**
 * Per rule of `rules` (by position), how many noncurrent versions newer than the one judged the
 * rule selects and the pass keeps: what NewerNoncurrentVersions is compared with (versionsDue).
 */
export function keptCounts(rules: readonly StoredLifecycleRule[]): number[] {
  return rules.map(() => 0);
}

/** Counts `rec`, a noncurrent version the pass keeps, for every rule of `rules` that selects it. */
export function countKept(rules: readonly StoredLifecycleRule[], key: string, rec: ListedRecord, kept: number[]): void {
  rules.forEach((r, i) => {
    if (matches(r, key, rec)) kept[i]! += 1;
  });
}

/**
 * versionsDue's judgement of one noncurrent version `rec`, given `successor` (the next newer
 * version) and `kept` (keptCounts, as counted over the versions newer than it): its inputs, so a
 * key of very many versions can be judged a page at a time (lifecycle-versions.ts).
 */
export function noncurrentDue(rules: readonly StoredLifecycleRule[], key: string, rec: ListedRecord, successor: ListedRecord, kept: readonly number[], now: number): boolean {
  const since = replacedAt(successor);
  // A version under Object Lock is never due (the store would keep it anyway; counted as due,
  // the marker above it would go and bring it back).
  return !isLocked(rec, now, false) && rules.some((r, i) => r.noncurrentDays !== undefined && kept[i]! >= (r.newerNoncurrentVersions ?? 0) && daysAfter(since, r.noncurrentDays) <= now && matches(r, key, rec));
}

/** versionsDue's judgement of the latest version, once every other version of its key is due. */
export function loneMarkerDue(rules: readonly StoredLifecycleRule[], key: string, latest: ListedRecord, now: number): boolean {
  const markerExpires = (r: StoredLifecycleRule): boolean =>
    r.expiredObjectDeleteMarker === true ||
    (r.expirationDays !== undefined && daysAfter(latest.mtime, r.expirationDays) <= now) ||
    (r.expirationDate !== undefined && r.expirationDate <= now);
  return latest.deleteMarker === true && rules.some((r) => markerExpires(r) && matches(r, key, latest));
}

/** Whether an incomplete upload is past an AbortIncompleteMultipartUpload rule at `now`. */
export function uploadExpired(rules: readonly LifecycleRule[] | undefined, up: UploadRecord, now: number): boolean {
  return (rules ?? []).some((r) => abortsUploads(r, up.key) && daysAfter(up.initiated, r.abortIncompleteDays!) <= now);
}

/**
 * Whether a rule aborts the uploads of `key`. Not one with a tag or size filter: an upload has
 * neither yet, and such rules are refused today, but an earlier version stored some; what they
 * select cannot be told, so they abort nothing rather than more than was asked.
 */
function abortsUploads(r: LifecycleRule, key: string): boolean {
  return r.enabled && r.abortIncompleteDays !== undefined && key.startsWith(r.prefix) && r.tags.length === 0 && r.sizeGreaterThan === undefined && r.sizeLessThan === undefined;
}

/**
 * The `x-amz-abort-date` and `x-amz-abort-rule-id` headers of CreateMultipartUpload and ListParts
 * for an upload an AbortIncompleteMultipartUpload rule will abort (the earliest such rule).
 */
export function abortHeaders(rules: readonly LifecycleRule[] | undefined, up: Pick<UploadRecord, 'key' | 'initiated'>): Record<string, string> {
  let best: { at: number; ruleId: string } | undefined;
  for (const r of rules ?? []) {
    if (!abortsUploads(r, up.key)) continue;
    const at = daysAfter(up.initiated, r.abortIncompleteDays!);
    if (best === undefined || at < best.at) best = { at, ruleId: r.id };
  }
  return best === undefined || best.at > LAST_HTTP_DATE ? {} : { 'x-amz-abort-date': httpDate(best.at), 'x-amz-abort-rule-id': ruleIdInHeader(best.ruleId) };
}

/**
 * A rule ID as the headers carry it: URL-encoded, as S3 documents for x-amz-expiration ("The value
 * of the rule-id is URL-encoded"); x-amz-abort-rule-id is encoded the same way (its documentation
 * says nothing either way, and a header cannot carry the UTF-8 of an ID anyway: clients read it
 * as Latin-1). Strict RFC 3986, so a quote never ends the quoted value and both unquote and
 * unquote_plus give the ID back.
 */
function ruleIdInHeader(id: string): string {
  return uriEncode(id);
}

/** The `x-amz-expiration` header for an object some rule will expire. */
export function expirationHeader(rules: readonly LifecycleRule[] | undefined, key: string, rec: ListedRecord, current = true): Record<string, string> {
  // Expiration rules act on current versions: a noncurrent one read by id gets no date from them.
  const e = rules === undefined || !current ? undefined : expiryOf(rules, key, rec);
  return e === undefined || e.at > LAST_HTTP_DATE ? {} : { 'x-amz-expiration': `expiry-date="${httpDate(e.at)}", rule-id="${ruleIdInHeader(e.ruleId)}"` };
}

// ---- handlers

/**
 * x-amz-transition-default-minimum-object-size (2024): which objects small ones transitions skip.
 * s3d has no transitions, so the setting changes nothing here; it is kept and given back, as S3
 * does (its default, all_storage_classes_128K, when the PUT had none), since tools read it back
 * (Terraform's transition_default_minimum_object_size, scripts comparing configurations).
 */
const TRANSITION_DEFAULT_HEADER = 'x-amz-transition-default-minimum-object-size';
const TRANSITION_DEFAULTS: ReadonlySet<string> = new Set(['all_storage_classes_128K', 'varies_by_storage_class']);

function transitionDefaultHeader(b: { lifecycleTransitionDefault?: string }): Record<string, string> {
  return { [TRANSITION_DEFAULT_HEADER]: b.lifecycleTransitionDefault ?? 'all_storage_classes_128K' };
}

export async function handlePutBucketLifecycle(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const seen = requireBucket(env, ctx.bucket);
  const asked = ctx.headers[TRANSITION_DEFAULT_HEADER];
  if (asked !== undefined && !TRANSITION_DEFAULTS.has(asked)) {
    // S3's code and words (recorded): InvalidRequest naming the value.
    throw new S3Error('InvalidRequest', `Invalid TransitionDefaultMinimumObjectSize found: ${asked}`);
  }
  const rules = await readLifecycle(await ctx.body.readAll(MAX_XML_BODY));
  const b = await updateSeenBucket(env, seen, (cur) => {
    const { lifecycleTransitionDefault: _old, ...rest } = cur;
    return { ...rest, lifecycle: rules, ...(asked === 'varies_by_storage_class' ? { lifecycleTransitionDefault: asked } : {}) };
  });
  return { status: 200, headers: transitionDefaultHeader(b) };
}

export async function handleGetBucketLifecycle(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const b = requireBucket(env, ctx.bucket);
  if (!b.lifecycle || b.lifecycle.length === 0) throw new S3Error('NoSuchLifecycleConfiguration');
  return { status: 200, headers: { 'content-type': 'application/xml', ...transitionDefaultHeader(b) }, body: lifecycleXml(b.lifecycle) };
}

export async function handleDeleteBucketLifecycle(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  return clearBucketField(env, ctx.bucket, 'lifecycle', 'lifecycleTransitionDefault');
}
