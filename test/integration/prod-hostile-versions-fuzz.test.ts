// Hostile input for bucket versioning and S3 Object Lock, a seeded fuzzer against one real daemon
// (plain HTTP) holding locked versions, delete markers and a null version: the request documents
// of PUT ?versioning / ?object-lock / ?retention / ?legal-hold and POST ?delete, versionId on
// every versioned operation, x-amz-copy-source ?versionId=, ListObjectVersions markers and
// x-amz-object-lock-* headers on PutObject, CopyObject and CreateMultipartUpload. The hand-picked
// cases are prod-hostile-versions-handpicked.test.ts.
//
// After every request: the answer is a well-formed S3 XML error (4xx, or 501 NotImplemented) or a
// legitimate success, within a deadline, never 5xx; and the protected state reads back unchanged
// (test/helpers/hostile-versions.ts: the listings, retentions, legal hold, bodies, configurations).
// A success may change only what its (strictly valid) request asked for, in a way S3 allows; such
// a change is checked against the request and then put back. The daemon ends alive and healthy.

import t from 'tap';
import { XMLParser } from 'fast-xml-parser';
import { prng } from '../helpers/daemon.js';
import { md5Base64 } from '../helpers/hash.js';
import { afterwards, canary, caseFor, COMP_UNTIL, d, DAY, GOV_UNTIL, ids, KiB, known, LAUGHS, LB, listingLines, lockHeaderCase, ODD_DATES, PB, read, retentionDoc, run, scratch, sendable, setup, start, stats, stop, subs, uuid, type Case, type Sub } from '../helpers/hostile-versions.js';
import { judge, ROOTS, S3_NS, type DocKind } from '../helpers/lock-schema.js';
import { elements, splice, texts } from '../helpers/hostile.js';

const SEED = 0x5eed_7e57;
const FUZZ_CASES = 600;
const FUZZ_BUDGET_MS = 22_000;

t.before(start);
t.teardown(stop);

t.test('setup: a lock-enabled bucket with locked versions and markers, a plain versioned bucket', setup);

// ---- the fuzzer

function describe(c: Case): string {
  const q = c.req.query ? `?${c.req.query.slice(0, 140)}` : '';
  const h = c.req.headers && Object.keys(c.req.headers).length > 0 ? ` ${JSON.stringify(c.req.headers).slice(0, 220)}` : '';
  const b = c.req.body !== undefined ? ` body ${JSON.stringify(Buffer.from(c.req.body).subarray(0, 220).toString('latin1'))}${Buffer.byteLength(c.req.body) > 220 ? `…(${Buffer.byteLength(c.req.body)} bytes)` : ''}` : '';
  return `${c.kind}: ${c.req.method} ${c.req.path}${q}${h}${b}`;
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
  // With Content-MD5: a version the lock (or LB's default rule) protects needs a check of its body.
  if (op === 'PutObject') return lockHeaderCase({ method: 'PUT', path: `/${bucket}/${key}`, headers: { 'content-md5': md5Base64(`lock ${i}`) }, body: `lock ${i}` }, lock, bucket, op);
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
  // A floor that shows the fuzzer ran, not a speed test: a loaded CI machine runs fewer cases in the budget.
  t.ok(done >= 100, `${done} cases run (at least 100)`);
  t.same(byCategory.answer!.slice(0, 12), [], `every answer is a well-formed S3 error or a valid success, never 5xx, never hung (${byCategory.answer!.length} problems)`);
  t.same(byCategory.state!.slice(0, 12), [], `no request changed the protected state unless it validly asked to (${byCategory.state!.length} problems)`);
  t.same(byCategory.success!.slice(0, 12), [], `every success did what was asked, nothing else (${byCategory.success!.length} problems)`);
  t.same(byCategory.check!.slice(0, 12), [], `the checks themselves ran (${byCategory.check!.length} problems)`);
  t.equal(d.proc.exitCode, null, 'the daemon survived the fuzzer');
});

t.test('afterwards: protected state intact, daemon alive and healthy', afterwards);
