// The listing pages' XML (ops/list.ts, written by ops/xml-writer.ts) is byte for byte what it was
// when the pages were built as objects and handed to fast-xml-parser's builder (toXml,
// toXmlInOrder): S3 clients parse it. Over a real MetaStore of random keys (XML's special
// characters, C0 controls, CR, NEL, LS, U+FFFE, astral characters) and random records (clear and
// sealed checksums, metadata, tags, delete markers, null versions), every listing of many random
// queries (prefixes, delimiters, markers, page sizes, encoding-type=url, fetch-owner,
// metadata=true as root and as a requester who may read neither metadata nor tags) is compared
// with the reference below: the handlers' former XML building, verbatim.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import type { ListResult, VersionListResult } from '../../../../daemon/meta/store.js';
import { clientVersionId } from '../../../../daemon/meta/versions.js';
import { handleListObjects, handleListObjectsV2, handleListObjectVersions } from '../../../../daemon/ops/list.js';
import type { OpsEnv } from '../../../../daemon/ops/env.js';
import type { RequestContext } from '../../../../daemon/ops/types.js';
import { quoteETag } from '../../../../daemon/ops/object-headers.js';
import { keyEncoder } from '../../../../daemon/ops/query.js';
import { checksumTypes } from '../../../../daemon/sse/checksums.js';
import { escapeXmlText, toXml, toXmlInOrder, type XmlObject, type XmlValue } from '../../../../daemon/ops/xml.js';
import { xmlEscape, XmlWriter } from '../../../../daemon/ops/xml-writer.js';
import { isoDate } from '../../../../daemon/dates.js';
import { prng } from '../../../helpers/seeded.js';

const ROOT = 'root&<user>';

// Seeded: a failure repeats.
const { next: rand, int, pick } = prng(0x2545f491);

const PIECES = ['a', 'b', 'z', '/', '/', 'dir/', ' ', '+', '%', '&', '<', '>', '"', "'", '&amp;', '\t', '\n', '\r', '\x01', '\x0b', '\x1f', '\x7f', '\u0085', '\u2028', '\ufffe', '\uffff', 'é', '한글', '😀', '*', '~', '!', '(', ')', '=', '?', '#', 'x'.repeat(40)];
function randomText(max: number): string {
  let s = '';
  for (let n = 1 + int(max); n > 0; n--) s += pick(PIECES);
  return s;
}

function randomRecord(): ObjectRecord {
  const r = rand();
  const checksums: Record<string, string> | undefined = r < 0.3 ? { CRC64NVME: 'AAAAAAAAAAA=' } : r < 0.4 ? { CRC32: 'AAAAAA==-3', SHA1: 'x' } : undefined;
  const types: Array<Record<string, 'COMPOSITE' | 'FULL_OBJECT'>> = [{ SHA256: 'FULL_OBJECT' }, { CRC32C: 'COMPOSITE', CRC32: 'FULL_OBJECT' }, {}];
  const sealed = r > 0.8 ? { types: pick(types), sealed: new Uint8Array(8) } : undefined;
  return {
    v: RECORD_VERSION,
    size: pick([0, 1, int(1e6), int(5e12)]),
    etag: pick(['d41d8cd98f00b204e9800998ecf8427e', 'd41d8cd98f00b204e9800998ecf8427e-12', randomText(3)]),
    mtime: pick([0, 1_700_000_000_123, int(4e14) - 1e14, 253_402_300_799_999 + int(1e12)]),
    headers: rand() < 0.5 ? { 'content-type': randomText(4) } : { 'cache-control': 'no-cache', 'content-type': 'a/b' },
    userMeta: rand() < 0.5 ? {} : { 'x-amz-meta-one': randomText(3), 'x-amz-meta-a&b': 'left out', 'x-amz-meta-two-words': '' },
    ...(rand() < 0.3 ? { tags: [[randomText(2), randomText(2)], ['k', '']] as const } : {}),
    data: { inline: new Uint8Array(int(40)) },
    stored: 0,
    ...(checksums ? { checksums } : {}),
    ...(sealed ? { sealedChecksums: sealed } : {}),
  };
}

const dir = mkdtempSync(join(tmpdir(), 's3d-list-xml-'));
const m = new MetaStore(dir);
t.teardown(async () => {
  await m.close();
  rmSync(dir, { recursive: true, force: true });
});
const env = { meta: m, config: { rootUser: ROOT } } as unknown as OpsEnv;
const keys: string[] = [];

t.before(async () => {
  await m.createBucket('b');
  await m.createBucket('vb');
  await m.updateBucket('vb', (b) => ({ ...b, versioning: 'Enabled' as const }));
  const seen = new Set<string>();
  while (keys.length < 1500) {
    const k = randomText(6);
    if (Buffer.byteLength(k) > 1024 || seen.has(k)) continue;
    seen.add(k);
    keys.push(k);
  }
  // Not awaited one by one: lmdb-js runs the writes queued together in one transaction, in the
  // order they were asked for: the same records and history, without ~6,000 commits each waiting
  // for its sync (~1 s of the file's CPU, and seconds of waiting).
  const writes: Array<Promise<unknown>> = [];
  for (const k of keys) {
    writes.push(m.putObject('b', k, randomRecord()));
    for (let n = int(3); n >= 0; n--) writes.push(m.putObject('vb', k, randomRecord()));
    if (rand() < 0.2) writes.push(m.deleteObject('vb', k));
    if (rand() < 0.05) writes.push(m.deleteObject('b', k));
  }
  await Promise.all(writes);
});

// ---- The reference: list.ts's XML building before xml-writer.ts (commit 727df5b), verbatim. ----

function bucketOwner(): { ID: string; DisplayName: string } {
  return { ID: ROOT, DisplayName: ROOT };
}
function listedChecksum(record: ObjectRecord): XmlObject {
  const [alg, type] = Object.entries(checksumTypes(record))[0] ?? [];
  return alg === undefined || type === undefined ? {} : { ChecksumAlgorithm: alg, ChecksumType: type };
}
function entry(key: string, record: ObjectRecord, enc: (s: string) => string, extra: XmlObject, withOwner: XmlObject | undefined): XmlObject {
  return {
    Key: enc(key),
    ...extra,
    LastModified: oldIsoDate(record.mtime),
    ETag: quoteETag(record.etag),
    ...listedChecksum(record),
    Size: record.size,
    ...(withOwner ? { Owner: withOwner } : {}),
    StorageClass: 'STANDARD',
  };
}
function listedMetadata(record: ObjectRecord, withMeta: boolean, withTags: boolean): XmlObject {
  const out: XmlObject = {};
  if (withMeta) out.UserMetadata = userMetadata(record);
  if (withTags && record.tags && record.tags.length > 0) out.UserTags = new URLSearchParams(record.tags.map(([k, v]): [string, string] => [k, v])).toString();
  return out;
}
function userMetadata(record: ObjectRecord): XmlObject {
  const meta: XmlObject = {};
  for (const [name, v] of Object.entries(record.headers)) if (v !== undefined) meta[name] = v;
  for (const [name, v] of Object.entries(record.userMeta)) {
    if (/^[a-z][a-z0-9._-]*$/.test(name)) meta[name.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase())] = v;
  }
  return meta;
}
function oldIsoDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '.000Z');
}

function referenceV1(bucket: string, q: URLSearchParams, r: ListResult, max: number): string {
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const marker = q.get('marker') ?? '';
  const { encodingType, enc } = keyEncoder(q);
  const body: XmlObject = {
    Name: bucket,
    Prefix: enc(prefix),
    Marker: enc(marker),
    MaxKeys: max,
    ...(delimiter !== '' ? { Delimiter: enc(delimiter) } : {}),
    IsTruncated: r.isTruncated,
    ...(r.isTruncated && r.next !== undefined && delimiter !== '' ? { NextMarker: enc(r.next) } : {}),
    ...(encodingType !== undefined ? { EncodingType: encodingType } : {}),
    Contents: r.contents.map(({ key, record }) => entry(key, record, enc, {}, bucketOwner())),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  };
  return toXml('ListBucketResult', body);
}

function referenceV2(bucket: string, q: URLSearchParams, r: ListResult, max: number, nextToken: string | undefined, root: boolean): string {
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const startAfter = q.get('start-after') ?? '';
  const token = q.get('continuation-token');
  const { encodingType, enc } = keyEncoder(q);
  const fetchOwner = q.get('fetch-owner') === 'true';
  const may = q.get('metadata') === 'true' ? () => root : undefined;
  const body: XmlObject = {
    Name: bucket,
    Prefix: enc(prefix),
    ...(startAfter !== '' && token === null ? { StartAfter: enc(startAfter) } : {}),
    ...(token !== null ? { ContinuationToken: token } : {}),
    KeyCount: r.contents.length + r.commonPrefixes.length,
    MaxKeys: max,
    ...(delimiter !== '' ? { Delimiter: enc(delimiter) } : {}),
    IsTruncated: r.isTruncated,
    ...(r.isTruncated && r.next !== undefined ? { NextContinuationToken: nextToken } : {}),
    ...(encodingType !== undefined ? { EncodingType: encodingType } : {}),
    Contents: r.contents.map(({ key, record }) => entry(key, record, enc, may ? listedMetadata(record, may(), may()) : {}, fetchOwner ? bucketOwner() : undefined)),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  };
  return toXml('ListBucketResult', body);
}

function referenceVersions(bucket: string, q: URLSearchParams, r: VersionListResult, max: number, versionIdMarker: string, root: boolean): string {
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const { encodingType, enc } = keyEncoder(q);
  const may = q.get('metadata') === 'true' ? () => root : undefined;
  const entries: Array<[string, XmlValue]> = r.entries.map(({ key, record, isLatest }) => {
    const extra = { VersionId: clientVersionId(record), IsLatest: isLatest };
    if (record.deleteMarker) return ['DeleteMarker', { Key: enc(key), ...extra, LastModified: oldIsoDate(record.mtime), Owner: bucketOwner() }];
    const meta = may ? listedMetadata(record, may(), may()) : {};
    return ['Version', entry(key, record, enc, { ...extra, ...meta }, bucketOwner())];
  });
  const head: XmlObject = {
    Name: bucket,
    Prefix: enc(prefix),
    KeyMarker: enc(keyMarker),
    VersionIdMarker: versionIdMarker,
    MaxKeys: max,
    ...(delimiter !== '' ? { Delimiter: enc(delimiter) } : {}),
    IsTruncated: r.isTruncated,
    ...(r.isTruncated && r.nextKey !== undefined ? { NextKeyMarker: enc(r.nextKey), ...(r.nextVersionId !== undefined ? { NextVersionIdMarker: r.nextVersionId } : {}) } : {}),
    ...(encodingType !== undefined ? { EncodingType: encodingType } : {}),
  };
  const children: Array<[string, XmlValue]> = [...Object.entries(head), ...entries, ['CommonPrefixes', r.commonPrefixes.map((p) => ({ Prefix: enc(p) }))]];
  return toXmlInOrder('ListVersionsResult', children);
}

// ---- Random queries. ----

function ctx(bucket: string, q: URLSearchParams, accessKey: string): RequestContext {
  return { bucket, query: q, headers: {}, accessKey, secure: false } as unknown as RequestContext;
}

function randomQuery(): { q: URLSearchParams; max: number; root: boolean } {
  const q = new URLSearchParams();
  const k = pick(keys);
  if (rand() < 0.4) q.set('prefix', rand() < 0.8 ? k.slice(0, int(k.length)) : randomText(2));
  if (rand() < 0.5) q.set('delimiter', pick(['/', '/', 'a', '&', '😀', '\r']));
  if (rand() < 0.5) q.set('encoding-type', 'url');
  // 150 and 1000: pages read in slices of 100 (ops/list.ts), the last one partial.
  const max = pick([1, 2, 7, 100, 150, 1000, 0]);
  if (max !== 1000 || rand() < 0.5) q.set('max-keys', String(max));
  if (rand() < 0.3) q.set('fetch-owner', 'true');
  if (rand() < 0.4) q.set('metadata', 'true');
  return { q, max, root: rand() < 0.7 };
}

// A listing's page is written a slice at a time, its bytes joined (ops/list.ts).
const text = (body: unknown): string => (Buffer.isBuffer(body) ? body.toString() : (body as string));

t.test('ListObjects (v1): the former XML, byte for byte', async (t) => {
  for (let i = 0; i < 300; i++) {
    const { q, max, root } = randomQuery();
    if (rand() < 0.6) q.set('marker', rand() < 0.8 ? pick(keys) : randomText(2));
    const got = text((await handleListObjects(env, ctx('b', q, root ? ROOT : 'nobody'))).body);
    const r = max === 0 ? { contents: [], commonPrefixes: [], isTruncated: false, next: undefined } : m.listObjects('b', { prefix: q.get('prefix') ?? '', delimiter: q.get('delimiter') ?? '', after: q.get('marker') ?? '', maxKeys: max });
    const want = referenceV1('b', q, r, max);
    if (got !== want) return t.equal(got, want, `query ${q}`);
  }
  t.pass('300 random listings the same');
});

t.test('ListObjectsV2: the former XML, byte for byte', async (t) => {
  let lastAfter = '';
  let token: string | undefined;
  let paged = 0;
  for (let i = 0; i < 300; i++) {
    const { q, max, root } = randomQuery();
    q.set('list-type', '2');
    if (token !== undefined && rand() < 0.5) q.set('continuation-token', token);
    if (rand() < 0.4) q.set('start-after', rand() < 0.8 ? pick(keys) : randomText(2));
    const got = text((await handleListObjectsV2(env, ctx('b', q, root ? ROOT : 'nobody'))).body);
    const tokenQ = q.get('continuation-token');
    const after = tokenQ !== null ? lastAfter : (q.get('start-after') ?? '');
    if (tokenQ !== null) paged++;
    const r = max === 0 ? { contents: [], commonPrefixes: [], isTruncated: false, next: undefined } : m.listObjects('b', { prefix: q.get('prefix') ?? '', delimiter: q.get('delimiter') ?? '', after, maxKeys: max });
    const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(got)?.[1];
    const want = referenceV2('b', q, r, max, next, root);
    if (got !== want) return t.equal(got, want, `query ${q}`);
    if (next !== undefined) {
      token = next;
      lastAfter = r.next!;
    }
  }
  t.ok(paged > 20, `${paged} listings continued a token`);
});

t.test('ListObjectVersions: the former XML, byte for byte', async (t) => {
  for (const bucket of ['vb', 'b']) {
    for (let i = 0; i < 300; i++) {
      const { q, max, root } = randomQuery();
      q.set('versions', '');
      if (rand() < 0.6) q.set('key-marker', rand() < 0.8 ? pick(keys) : randomText(2));
      const keyMarker = q.get('key-marker') ?? '';
      if (keyMarker !== '' && rand() < 0.5) {
        const vs = m.keyVersions(bucket, keyMarker);
        if (vs.length > 0) q.set('version-id-marker', clientVersionId(pick(vs).record));
      }
      const versionIdMarker = keyMarker === '' ? '' : (q.get('version-id-marker') ?? '');
      const got = text((await handleListObjectVersions(env, ctx(bucket, q, root ? ROOT : 'nobody'))).body);
      const r =
        max === 0
          ? { entries: [], commonPrefixes: [], isTruncated: false, nextKey: undefined, nextVersionId: undefined }
          : m.listVersions(bucket, { prefix: q.get('prefix') ?? '', delimiter: q.get('delimiter') ?? '', keyMarker, versionIdMarker, maxKeys: max });
      const want = referenceVersions(bucket, q, r, max, versionIdMarker, root);
      if (got !== want) return t.equal(got, want, `${bucket} query ${q}`);
    }
  }
  t.pass('600 random version listings the same');
});

t.test('xmlEscape writes any text as escapeXmlText, and isoDate as before', async (t) => {
  const bad: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    let s = '';
    for (let n = int(12); n > 0; n--) s += rand() < 0.5 ? pick(PIECES) : String.fromCharCode(int(0x80));
    if (xmlEscape(s) !== escapeXmlText(s)) bad.push(JSON.stringify(s));
    const ms = Math.floor((rand() - 0.3) * 8.64e15 * 1.4);
    if (Math.abs(ms) <= 8.64e15 && isoDate(ms) !== oldIsoDate(ms)) bad.push(String(ms));
  }
  t.same(bad, [], 'every text and date as before');
  t.throws(() => isoDate(NaN), RangeError, 'no date: a RangeError, as before');
  t.throws(() => oldIsoDate(NaN), RangeError);
});

t.test('XmlWriter refuses the shapes the two builders write differently', async (t) => {
  t.throws(() => new XmlWriter('R').element('A', null), TypeError);
  t.throws(() => new XmlWriter('R').element('A', [['x']]), TypeError, 'a list of lists');
  // A list repeats its element, as toXml writes it (writeXml's documents hold lists).
  t.equal(new XmlWriter('R').element('A', ['x', { B: 'y' }]).element('C', []).end(), toXml('R', { A: ['x', { B: 'y' }], C: [] }), 'a list as toXml writes it');
  t.throws(() => new XmlWriter('R').element('A', { '@_a': 'x' }), TypeError);
  t.equal(new XmlWriter('R').element('A', {}).element('B', { C: '', D: 1, E: false }).end(), toXml('R', { A: {}, B: { C: '', D: 1, E: false } }), 'the rest as toXml writes it');
});
