// Shared by the hostile versioning and Object Lock suites (prod-hostile-versions-handpicked,
// prod-hostile-versions-fuzz): one real daemon (plain HTTP), a canary no request may reach, and the
// protected state. A lock-enabled bucket holds protected versions (one under GOVERNANCE retention,
// one under COMPLIANCE behind a delete marker, one under a legal hold, unlocked versions between
// delete markers) and a plain versioned bucket holds versions, markers and a null version. `run`
// sends one hostile request and checks everything after it: the answer, then the protected state
// read back (both ListObjectVersions listings, the retention and legal hold of the locked versions,
// their bodies, the bucket's Object Lock configuration and both versioning states). A success may
// change only what its (strictly valid) request asked for, in a way S3 allows (a retention
// extended, a legal hold switched, a configuration replaced); such a change is checked against the
// request and then put back. Also the cases both suites build (documents, dates, lock headers).

import type { Test } from 'tap';
import { XMLValidator } from 'fast-xml-parser';
import { Agent } from 'node:http';
import { startDaemon, type TestDaemon } from './daemon.js';
import { errorCode, xmlField } from './http.js';
import { md5Base64 } from './hash.js';
import { answerProblems, exchange as hostileExchange, recorder, type Answer, type Recorder, type Req } from './hostile.js';
import { judge, lockHeaderVerdict, RFC3339_UTC, S3_NS, type DocKind, type Judged } from './lock-schema.js';

const REQUEST_TIMEOUT_MS = 10_000;
/** One day and one KiB. */
export const DAY = 86_400_000;
export const KiB = 1024;

/** The lock-enabled bucket and the plain versioned one. */
export const LB = 'hostile-vlock';
export const PB = 'hostile-vplain';

// ---- the daemon, a canary no request may reach, and the connections

/** The daemon and the canary (set by `start`). */
export let d: TestDaemon;
export let canary: Recorder;
/** The hostile requests: one kept-alive connection. */
let agent: Agent;
/** Reading the state back: a few connections in parallel. */
let stateAgent: Agent;

/** Starts the canary, the daemon and the connections (each suite's t.before). */
export async function start(): Promise<void> {
  canary = await recorder();
  d = await startDaemon();
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
  stateAgent = new Agent({ keepAlive: true, maxSockets: 6 });
}

/** Stops them again, the daemon's warnings and errors printed first with S3D_DUMP_LOGS (t.teardown). */
export async function stop(): Promise<void> {
  agent.destroy();
  stateAgent.destroy();
  if (process.env.S3D_DUMP_LOGS) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await d.stop('SIGKILL');
  d.cleanup();
  canary.server.close();
}

/** One signed request with a deadline (`via`: the hostile connection, or the state readers'). */
export function exchange(o: Req, via: Agent = agent): Promise<Answer> {
  return hostileExchange(d.port, via, o, REQUEST_TIMEOUT_MS);
}

/** A request on the state readers' connections. */
export const read = (o: Req): Promise<Answer> => exchange(o, stateAgent);

/** A 2xx answer. */
export const ok = (r: Answer): boolean => r.status >= 200 && r.status < 300;
/** An answer as `status Code`. */
export const show = (r: Answer): string => `${r.status} ${errorCode(r.body) ?? ''}`.trim();

// ---- the protected state

/** The retain-until dates of the GOVERNANCE and COMPLIANCE versions. */
export const GOV_UNTIL = new Date(Math.ceil((Date.now() + 10 * DAY) / 1000) * 1000);
export const COMP_UNTIL = new Date(Math.ceil((Date.now() + 11 * DAY) / 1000) * 1000);
const GOOD_LOCK = `<ObjectLockConfiguration xmlns="${S3_NS}"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>7</Days></DefaultRetention></Rule></ObjectLockConfiguration>`;
/** A Retention document. */
export const retentionDoc = (mode: string, until: string): string => `<Retention xmlns="${S3_NS}"><Mode>${mode}</Mode><RetainUntilDate>${until}</RetainUntilDate></Retention>`;

/** Version ids and bodies written in setup. */
export const ids = {
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
export const known = new Map<string, { bucket: string; key: string; body: string }>();

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
export function listingLines(xml: string): string {
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

/** The retention of a version as `MODE date` (or the error). */
export async function readRetention(bucket: string, key: string, id: string): Promise<string> {
  const r = await read({ method: 'GET', path: `/${bucket}/${key}`, query: `retention=&versionId=${id}` });
  return ok(r) ? `${xmlField(r.body, 'Mode')} ${xmlField(r.body, 'RetainUntilDate')}` : show(r);
}

/** The legal hold of a version as `ON`/`OFF` (or the error). */
export async function readHold(bucket: string, key: string, id: string): Promise<string> {
  const r = await read({ method: 'GET', path: `/${bucket}/${key}`, query: `legal-hold=&versionId=${id}` });
  return ok(r) ? `${xmlField(r.body, 'Status')}` : show(r);
}

/** The protected state read back (the bodies only `withBodies`). */
export async function readState(withBodies: boolean): Promise<State> {
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

/** The protected state as it must read back. */
export let model: State;

/** The fields of the state that differ. */
export function diff(a: State, b: State, withBodies: boolean): Field[] {
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

/** One hostile request and what may come of it. */
export interface Case {
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

/** What `run` found. */
export interface Outcome {
  problems: string[];
  status: number;
  code: string | undefined;
  lenient?: string;
}

/** Counts over a run: strictly invalid requests answered 2xx, legitimate changes, restores. */
export const stats = { lenient: [] as string[], legitChanges: 0, restores: 0 };

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
export async function run(c: Case): Promise<Outcome> {
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

// ---- setup

async function must(t: Test, o: Req, what: string): Promise<Answer> {
  const r = await read(o);
  t.ok(ok(r), `${what}: ${show(r)}`);
  return r;
}

/** A PUT that must succeed (with Content-MD5: a locked version needs a check of its body); its version id, recorded in `known`. */
export async function putVersion(t: Test, bucket: string, key: string, body: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await must(t, { method: 'PUT', path: `/${bucket}/${key}`, headers: { 'content-md5': md5Base64(body), ...headers }, body }, `PUT ${bucket}/${key} (${body})`);
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

/** x-amz-object-lock-mode and -retain-until-date headers. */
export const lockHeaders = (mode: string, until: Date): Record<string, string> => ({ 'x-amz-object-lock-mode': mode, 'x-amz-object-lock-retain-until-date': until.toISOString() });

/** Scratch versions under GOVERNANCE (the bucket's default rule) that the fuzzer may change. */
export const scratch: Array<{ key: string; id: string }> = [];

/** The body of each suite's setup subtest: both buckets, their versions and markers, the model read back. */
export async function setup(t: Test): Promise<void> {
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
  t.ok(model.bodies.trim() !== '', 'versions were read back');
  t.notMatch(model.bodies, /^(?!.* ok$).+$/m, 'every version reads back with its body');
}

// ---- cases both suites build

/** A billion-laughs DTD for a document with root `root`. */
export const LAUGHS = (root: string): string =>
  `<!DOCTYPE ${root} [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">` +
  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">' +
  '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">' +
  '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">' +
  '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>';

/** A request document under test: where it goes, a valid one, what it may change, its size limit. */
export interface Sub {
  name: string;
  kind: DocKind;
  path: string;
  query: string;
  good: string;
  may?: Target;
  limit: number;
}

/** The documents under test and where they go (the protected versions, by id or as the latest). */
export function subs(): Sub[] {
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

/** The case that sends `body` as the document `s`. */
export function caseFor(s: Sub, body: Buffer | string, extra: Partial<Case> = {}): Case {
  return { kind: s.name, req: { method: s.kind === 'delete' ? 'POST' : 'PUT', path: s.path, query: s.query, body }, doc: judge(s.kind, body), ...(s.may ? { may: s.may } : {}), ...extra };
}

/** Retain-until dates that are not quite dates. */
export const ODD_DATES = [
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

/** A UUIDv7-looking id from its parts. */
export function uuid(ms: number, seq: number, variant: number, rest: string): string {
  const h = ms.toString(16).padStart(12, '0').slice(-12) + `7${seq.toString(16).padStart(3, '0').slice(-3)}` + `${variant.toString(16)}${rest}`.slice(0, 16).padEnd(16, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A header value as the test signs it and sends it: printable ASCII (others → '?'). */
export function sendable(v: string): string {
  return v.replace(/[^\t\x20-\x7e]/g, '?');
}

/**
 * PutObject / CopyObject / CreateMultipartUpload with lock headers: without Object Lock in the
 * bucket any lock header is refused; a success stores exactly what the headers say (checked on
 * the new version), an upload is aborted again.
 */
export function lockHeaderCase(req: Req, lock: Record<string, string>, bucket: string, op: string): Case {
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

// ---- the end

/** The body of each suite's last subtest: the protected state intact, the daemon alive and healthy. */
export async function afterwards(t: Test): Promise<void> {
  const now = await readState(true);
  t.same(diff(model, now, true), [], 'the protected state equals the model (listings, retention, legal hold, bodies, configurations)');
  t.equal(now.gov, `GOVERNANCE ${GOV_UNTIL.toISOString()}`, 'p/gov still has its GOVERNANCE retention');
  t.match(now.comp, /^COMPLIANCE /, `p/comp still has a COMPLIANCE retention (${now.comp})`);
  t.equal(now.held, 'ON', 'p/held still has its legal hold');
  t.match(now.lockConfig, /<Mode>GOVERNANCE<\/Mode><Days>7<\/Days>/, 'the lock configuration is the known-good one');
  t.match(now.lbVersioning, /<Status>Enabled<\/Status>/, 'the lock bucket is still versioning Enabled');
  t.match(now.pbVersioning, /<Status>Enabled<\/Status>/, 'the plain bucket is still versioning Enabled');
  t.equal(now.pbLock, '404', 'the plain bucket still has no Object Lock');
  t.ok(now.bodies.trim() !== '', 'protected versions were read back');
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
}
