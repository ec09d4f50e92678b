// Hostile input for bucket versioning and S3 Object Lock, hand-picked, against one real daemon
// (plain HTTP) holding locked versions, delete markers and a null version: documents (external
// entities, entity expansion, several roots, wrong nesting, huge, empty, odd dates, lower-case
// modes, Days and Years together, misspelled elements), version ids the store cannot place, and
// odd x-amz-bypass-governance-retention values. The seeded fuzzer over the same requests is
// prod-hostile-versions-fuzz.test.ts.
//
// After every request: the answer is a well-formed S3 XML error (4xx, or 501 NotImplemented) or a
// legitimate success, within a deadline, never 5xx; and the protected state reads back unchanged
// (test/helpers/hostile-versions.ts: the listings, retentions, legal hold, bodies, configurations).
// A success may change only what its (strictly valid) request asked for, in a way S3 allows; such
// a change is checked against the request and then put back. The daemon ends alive and healthy.

import t, { type Test } from 'tap';
import { afterwards, canary, caseFor, DAY, diff, exchange, GOV_UNTIL, ids, known, LAUGHS, LB, lockHeaderCase, lockHeaders, model, ODD_DATES, ok, PB, putVersion, read, readHold, readRetention, readState, retentionDoc, run, scratch, sendable, setup, show, start, stop, subs, uuid, type Case, type Outcome } from '../helpers/hostile-versions.js';
import { dateVerdict, judge, RFC3339_UTC, ROOTS } from '../helpers/lock-schema.js';
import type { Req } from '../helpers/hostile.js';
import { sleep } from '../helpers/wait.js';
import { PARSER_PATCHES } from '../../daemon/http/uws.js';

const PATCHED = PARSER_PATCHES[`uws_${process.platform}_${process.arch}_${process.versions.modules}.node`] !== undefined;

t.before(start);
t.teardown(stop);

/** Runs a hand-picked case as one assertion. */
async function probe(t: Test, c: Case, what = c.kind): Promise<Outcome> {
  const o = await run(c);
  t.same(o.problems, [], `${what}: ${o.status} ${o.code ?? ''}`);
  return o;
}

t.test('setup: a lock-enabled bucket with locked versions and markers, a plain versioned bucket', setup);

// ---- hand-picked documents

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
  // On a scratch version without a retention (setting COMPLIANCE on it is allowed to anyone).
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
    // The uWebSockets.js build trims bytes past 0x7f at the ends of a header value as if they
    // were spaces (a signed-char comparison); s3d's parser patch (daemon/http/uws.ts) keeps them,
    // and such a value is no UTF-8 (400 InvalidArgument). Unpatched, the value s3d sees and the
    // signature covers is "true": only the signer can do this.
    const UWS_TRIM = PATCHED ? {} : { todo: 'uWS trims header-value bytes > 0x7f at the ends (the signed value is then "true")' };
    t.ok(del.status === 403 || del.status === 400, `DELETE a GOVERNANCE version with bypass header bytes ${label} (not "true") → 400 or 403 (${del.status} ${del.code ?? ''})`, UWS_TRIM);
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

t.test('afterwards: protected state intact, daemon alive and healthy', afterwards);
