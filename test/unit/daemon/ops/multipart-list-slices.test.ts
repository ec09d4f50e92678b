// ListMultipartUploads (ops/multipart-list.ts) and ListParts (ops/multipart.ts) read and write a
// page a slice of at most 100 entries to a turn of the event loop, as the object listings do
// (list-slices.test.ts): a page of 1,000 uploads or parts was read and built whole in one turn.
// Counted here on a real store by the records each turn reads; and the bytes, over a store of
// random uploads (many of one key, XML's special characters, checksums) and random queries
// (prefixes, delimiters, markers, page sizes, encoding-type=url), compared with the handlers'
// former whole-page building (below, verbatim but for the env it reads), the next markers paged
// through to the end.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type PartRecord, type UploadRecord } from '../../../../daemon/meta/records.js';
import { handleListMultipartUploads } from '../../../../daemon/ops/multipart-list.js';
import { handleListParts, owner } from '../../../../daemon/ops/multipart.js';
import { uploadChecksumElements } from '../../../../daemon/ops/multipart-checksums.js';
import { checksumElements } from '../../../../daemon/ops/checksums.js';
import { openPartChecksums } from '../../../../daemon/sse/checksums.js';
import { quoteETag } from '../../../../daemon/ops/object-headers.js';
import { intParam, keyEncoder } from '../../../../daemon/ops/query.js';
import type { OpsEnv } from '../../../../daemon/ops/env.js';
import type { RequestContext, Result } from '../../../../daemon/ops/types.js';
import type { XmlObject } from '../../../../daemon/ops/xml.js';
import { writeXml } from '../../../../daemon/ops/xml-writer.js';
import { isoDate } from '../../../../daemon/dates.js';
import { prng } from '../../../helpers/seeded.js';
import { countByTurn, most } from '../../../helpers/turns.js';

// Seeded: a failure repeats.
const { next: rand, int, pick } = prng(0x68e31da4);
const PIECES = ['a', 'b', '/', '/', 'dir/', ' ', '+', '%', '&', '<', '>', '"', "'", '\t', '\n', '\r', '\x01', '\x1f', '\u0085', '\u2028', '\ufffe', 'é', '😀', 'x'.repeat(30)];
const randomText = (max: number): string => Array.from({ length: 1 + int(max) }, () => pick(PIECES)).join('');

const ROOT = 'root&<user>';
const dir = mkdtempSync(join(tmpdir(), 's3d-multipart-list-slices-'));
const m = new MetaStore(dir);
t.teardown(async () => {
  await m.close();
  rmSync(dir, { recursive: true, force: true });
});
const env = { meta: m, config: { rootUser: ROOT, region: 'us-east-1' } } as unknown as OpsEnv;

let serial = 0;
/** An upload with an id as newUploadId makes them (its initiation time first), the serial number making ids unique. */
function upload(bucket: string, key: string, extra: Partial<UploadRecord> = {}): UploadRecord {
  const initiated = 1_700_000_000_000 + int(1000) * 1000;
  const id = initiated.toString(16).padStart(12, '0') + String(serial++).padStart(24, '0');
  return { v: RECORD_VERSION, id, bucket, key, initiated, headers: {}, userMeta: {}, ...extra } as UploadRecord;
}

function part(n: number, checksums: boolean): PartRecord {
  return {
    v: RECORD_VERSION,
    n,
    size: pick([0, 5, 5_368_709_120]),
    stored: 0,
    etag: pick(['d41d8cd98f00b204e9800998ecf8427e', `${randomText(2)}`]),
    data: { inline: new Uint8Array(1) },
    mtime: 1_700_000_000_000 + int(1e9),
    ...(checksums && rand() < 0.7 ? { checksums: rand() < 0.5 ? { CRC32: 'AAAAAA==' } : { SHA256: randomText(2), CRC64NVME: '' } } : {}),
  } as PartRecord;
}

const keys: string[] = [];
/** The random bucket's uploads, in listing order (UTF-8 key, then the index's order). */
let all: UploadRecord[] = [];
const partsUpload = { plain: upload('p', 'parts&<key>'), checksummed: upload('p', 'k', { checksumAlgorithm: 'CRC32', checksumType: 'COMPOSITE' }) };

t.before(async () => {
  // Slices: 1,500 uploads of long keys, 300 of one key (slices end among one key's uploads),
  // 1,200 keys under as many common prefixes.
  await m.createBucket('u');
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < 1500; i++) writes.push(m.createUpload(upload('u', `k/${String(i).padStart(4, '0')}/${'x'.repeat(900)}`)));
  for (let i = 0; i < 300; i++) writes.push(m.createUpload(upload('u', 'same')));
  for (let i = 0; i < 1200; i++) writes.push(m.createUpload(upload('u', `d/${String(i).padStart(4, '0')}/${i % 3 === 0 ? 'one' : 'two/three'}`)));
  // The random bucket: 400 keys, some with many uploads (up to 260 of one key).
  await m.createBucket('r');
  const seen = new Set<string>();
  while (keys.length < 400) {
    const k = randomText(5);
    if (seen.has(k)) continue;
    seen.add(k);
    keys.push(k);
  }
  for (const k of keys) {
    const n = pick([1, 1, 1, 2, 3, int(20), rand() < 0.05 ? 120 + int(140) : 1]);
    for (let i = 0; i < n; i++) writes.push(m.createUpload(upload('r', k, rand() < 0.3 ? { checksumAlgorithm: pick(['CRC32', 'SHA256', 'CRC64NVME']), checksumType: pick(['COMPOSITE', 'FULL_OBJECT']) } : {})));
  }
  await m.createBucket('p');
  writes.push(m.createUpload(partsUpload.plain), m.createUpload(partsUpload.checksummed));
  await Promise.all(writes);
  const parts: Array<Promise<unknown>> = [];
  // Part numbers with gaps: 1,700 parts of 1-3,000.
  for (let n = 1; n <= 3000; n++) if (n % 7 !== 3 && rand() < 0.6) parts.push(m.putPart(partsUpload.plain.id, part(n, false)), m.putPart(partsUpload.checksummed.id, part(n, true)));
  await Promise.all(parts);
  all = [...m.uploadsAfter('r', { prefix: '', keyMarker: '', uploadIdMarker: '' })];
});

const ctx = (bucket: string, query: string, key?: string): RequestContext => ({ bucket, key, query: new URLSearchParams(query), headers: {}, accessKey: 'root', secure: false }) as unknown as RequestContext;
const text = (r: Result): string => (Buffer.isBuffer(r.body) ? r.body.toString() : String(r.body));

/** Records (uploads, parts) the store read, by the turn of the event loop they were read in, until `run` answered. */
async function readsByTurn(run: () => Promise<Result>): Promise<{ turns: number[]; body: string }> {
  const { turns, result } = await countByTurn(() => m.uploadEntriesRead + m.partEntriesRead, run);
  return { turns, body: text(result) };
}

// A slice of 100 reads the entry after it too (is there more?), read again by the next slice.
const MOST_A_TURN = 105;

t.test('ListMultipartUploads and ListParts of 1,000 entries: at most ~100 records read a turn', async (t) => {
  const cases: Array<[string, number, () => Promise<Result>]> = [
    ['ListMultipartUploads', 1000, () => handleListMultipartUploads(env, ctx('u', 'uploads='))],
    ['ListMultipartUploads of one key', 300, () => handleListMultipartUploads(env, ctx('u', 'uploads=&prefix=same'))],
    ['ListMultipartUploads of common prefixes', 1000, () => handleListMultipartUploads(env, ctx('u', 'uploads=&prefix=d/&delimiter=/'))],
    ['ListMultipartUploads of uploads and common prefixes in turn', 1000, () => handleListMultipartUploads(env, ctx('u', 'uploads=&prefix=d/&delimiter=two'))],
    ['ListParts', 1000, () => handleListParts(env, ctx('p', `uploadId=${partsUpload.checksummed.id}`, 'k'))],
  ];
  for (const [what, entries, run] of cases) {
    const { turns, body } = await readsByTurn(run);
    t.equal(body.split(/<Upload>|<CommonPrefixes>|<Part>/).length - 1, entries, `${what}: ${entries} entries`);
    t.ok(most(turns) <= MOST_A_TURN, `${what}: at most ${MOST_A_TURN} records read a turn (${turns.filter((n) => n > 0).join(' ')})`);
  }
});

// ---- The handlers' former whole-page building (before the page was read in slices).

function formerListMultipartUploads(bucket: string, q: URLSearchParams): string {
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const uploadIdMarker = keyMarker === '' ? '' : (q.get('upload-id-marker') ?? '');
  const max = intParam(q, 'max-uploads', 1000, 1000);
  const { encodingType, enc } = keyEncoder(q);
  const uploads: UploadRecord[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let nextKey: string | undefined;
  let nextId: string | undefined;
  let pastPrefix: string | undefined;
  const markerBytes = Buffer.from(keyMarker);
  page: for (;;) {
    let skip: string | undefined;
    for (const u of m.uploadsAfter(bucket, { prefix, keyMarker, uploadIdMarker, ...(pastPrefix !== undefined ? { pastPrefix } : {}) })) {
      const i = delimiter === '' ? -1 : u.key.indexOf(delimiter, prefix.length);
      if (i >= 0) {
        const cp = u.key.slice(0, i + delimiter.length);
        if (prefixes[prefixes.length - 1] === cp || (keyMarker !== '' && Buffer.compare(Buffer.from(cp), markerBytes) <= 0)) {
          skip = cp;
          break;
        }
        if (uploads.length + prefixes.length >= max) {
          truncated = max > 0;
          break page;
        }
        prefixes.push(cp);
        nextKey = cp;
        nextId = undefined;
      } else {
        if (uploads.length + prefixes.length >= max) {
          truncated = max > 0;
          break page;
        }
        uploads.push(u);
        nextKey = u.key;
        nextId = u.id;
      }
    }
    if (skip === undefined) break;
    pastPrefix = skip;
  }
  const body: XmlObject = {
    Bucket: bucket,
    KeyMarker: enc(keyMarker),
    UploadIdMarker: uploadIdMarker,
    NextKeyMarker: enc(truncated && nextKey !== undefined ? nextKey : (uploads[uploads.length - 1]?.key ?? '')),
    NextUploadIdMarker: truncated && nextKey !== undefined ? (nextId ?? '') : (uploads[uploads.length - 1]?.id ?? ''),
    ...(prefix !== '' ? { Prefix: enc(prefix) } : {}),
    ...(delimiter !== '' ? { Delimiter: enc(delimiter) } : {}),
    MaxUploads: max,
    IsTruncated: truncated,
    ...(encodingType !== undefined ? { EncodingType: encodingType } : {}),
    Upload: uploads.map((u) => ({
      Key: enc(u.key),
      UploadId: u.id,
      Initiator: owner(env),
      Owner: owner(env),
      StorageClass: 'STANDARD',
      Initiated: isoDate(u.initiated),
      ...uploadChecksumElements(u),
    })),
    CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
  };
  return writeXml('ListMultipartUploadsResult', body);
}

/** ListParts of an upload without encryption (keyForAnswer: shown, no object key). */
function formerListParts(up: UploadRecord, q: URLSearchParams): string {
  const max = intParam(q, 'max-parts', 1000, 1000);
  const marker = intParam(q, 'part-number-marker', 0, 2_147_483_647);
  const parts = m.listParts(up.id, marker, max + 1);
  const truncated = max > 0 && parts.length > max;
  const page = parts.slice(0, max);
  const listed = page.map((p) => ({
    PartNumber: p.n,
    LastModified: isoDate(p.mtime),
    ETag: quoteETag(p.etag),
    Size: p.size,
    ...checksumElements(openPartChecksums(p, undefined)),
  }));
  const body: XmlObject = {
    Bucket: up.bucket,
    Key: up.key,
    UploadId: up.id,
    Initiator: owner(env),
    Owner: owner(env),
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    NextPartNumberMarker: page.length > 0 ? page[page.length - 1]!.n : 0,
    MaxParts: max,
    IsTruncated: truncated,
    ...uploadChecksumElements(up),
  };
  return writeXml('ListPartsResult', { ...body, Part: listed });
}

/** Element text as a parser reads it. */
const unescape = (x: string): string =>
  x.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e] ?? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1))));
const tag = (body: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1];

t.test('ListMultipartUploads read in slices: the bytes the page read whole gave, on random queries', async (t) => {
  let differ = 0;
  for (let i = 0; i < 300; i++) {
    const q = new URLSearchParams('uploads=');
    const k = pick(keys);
    const prefix = pick(['', '', 'a', 'dir/', '/', k.slice(0, 1 + int(k.length))]);
    if (prefix !== '') q.set('prefix', prefix);
    const delimiter = pick(['', '', '/', 'a', 'dir/', '<']);
    if (delimiter !== '') q.set('delimiter', delimiter);
    if (rand() < 0.6) {
      const u = pick(all);
      // A key's upload, or all its uploads (no id), or a common prefix's key marker.
      const marker = rand() < 0.15 && delimiter !== '' && u.key.includes(delimiter) ? u.key.slice(0, u.key.indexOf(delimiter) + delimiter.length) : u.key;
      q.set('key-marker', marker);
      if (marker === u.key && rand() < 0.7) q.set('upload-id-marker', u.id);
    }
    if (rand() < 0.8) q.set('max-uploads', String(pick([0, 1, 2, 99, 100, 101, 150, 250, 999, 1000, 5000])));
    if (rand() < 0.4) q.set('encoding-type', 'url');
    const want = formerListMultipartUploads('r', q);
    const got = text(await handleListMultipartUploads(env, ctx('r', q.toString())));
    if (got !== want && differ++ < 3) t.equal(got, want, `?${q}`);
  }
  t.equal(differ, 0, 'no page differs');
});

t.test('ListMultipartUploads paged by its next markers: every upload once, in order, and the markers of the page read whole', async (t) => {
  const keyCount = new Map<string, number>();
  for (const u of all) keyCount.set(u.key, (keyCount.get(u.key) ?? 0) + 1);
  t.ok(Math.max(...keyCount.values()) > 120, 'a key with more uploads than a slice');
  for (const max of [1000, 150, 101, 7]) {
    const got: string[] = [];
    const q = new URLSearchParams(`uploads=&max-uploads=${max}`);
    for (let pages = 0; ; pages++) {
      const want = formerListMultipartUploads('r', q);
      const body = text(await handleListMultipartUploads(env, ctx('r', q.toString())));
      if (body !== want) {
        t.equal(body, want, `max-uploads=${max}: page ${pages} as read whole`);
        break;
      }
      got.push(...[...body.matchAll(/<UploadId>([^<]*)<\/UploadId>/g)].map((x) => x[1]!));
      if (tag(body, 'IsTruncated') !== 'true') break;
      q.set('key-marker', unescape(tag(body, 'NextKeyMarker')!));
      q.set('upload-id-marker', tag(body, 'NextUploadIdMarker')!);
    }
    t.same(got, all.map((u) => u.id), `max-uploads=${max}: ${all.length} uploads, each once, in order`);
  }
});

t.test('ListMultipartUploads of common prefixes paged by its next markers', async (t) => {
  // 1,200 keys under as many common prefixes (d/NNNN/); with delimiter `two`, 400 uploads and 800
  // common prefixes in turn; without a prefix, k/, d/ and the upload of `same`. Paged 1,000 and 150 at a time.
  for (const [query, total] of [
    ['uploads=&prefix=d/&delimiter=/', 1200],
    ['uploads=&prefix=d/&delimiter=two', 1200],
    ['uploads=&delimiter=/', 2 + 300],
  ] as const) {
    for (const max of [1000, 150]) {
      const q = new URLSearchParams(`${query}&max-uploads=${max}`);
      let entries = 0;
      for (;;) {
        const want = formerListMultipartUploads('u', q);
        const body = text(await handleListMultipartUploads(env, ctx('u', q.toString())));
        if (body !== want) {
          t.equal(body, want, `${q}: as read whole`);
          break;
        }
        entries += body.split('<Upload>').length - 1 + body.split('<CommonPrefixes>').length - 1;
        if (tag(body, 'IsTruncated') !== 'true') break;
        q.set('key-marker', tag(body, 'NextKeyMarker')!);
        q.set('upload-id-marker', tag(body, 'NextUploadIdMarker')!);
      }
      t.equal(entries, total, `${query} by ${max}: every entry once`);
    }
  }
});

t.test('ListParts read in slices: the bytes the page read whole gave, NextPartNumberMarker paged to the end', async (t) => {
  for (const up of [partsUpload.plain, partsUpload.checksummed]) {
    const all = m.listParts(up.id, 0, 10000).map((p) => p.n);
    t.ok(all.length > 1000, 'more parts than a page');
    let differ = 0;
    for (let i = 0; i < 60; i++) {
      const q = new URLSearchParams(`uploadId=${up.id}`);
      if (rand() < 0.7) q.set('part-number-marker', String(pick([0, 1, 3, pick(all), pick(all) + 1, 2999, 3000, 2_147_483_647])));
      if (rand() < 0.8) q.set('max-parts', String(pick([0, 1, 99, 100, 101, 150, 999, 1000, 5000])));
      const want = formerListParts(up, q);
      const got = text(await handleListParts(env, ctx('p', q.toString(), up.key)));
      if (got !== want && differ++ < 3) t.equal(got, want, `?${q}`);
    }
    t.equal(differ, 0, `${up.key}: no page differs`);
    for (const max of [1000, 150]) {
      const q = new URLSearchParams(`uploadId=${up.id}&max-parts=${max}`);
      const got: number[] = [];
      for (;;) {
        const want = formerListParts(up, q);
        const body = text(await handleListParts(env, ctx('p', q.toString(), up.key)));
        if (body !== want) {
          t.equal(body, want, `${q}: as read whole`);
          break;
        }
        got.push(...[...body.matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((x) => Number(x[1])));
        if (tag(body, 'IsTruncated') !== 'true') break;
        t.equal(Number(tag(body, 'NextPartNumberMarker')), got[got.length - 1], 'NextPartNumberMarker: the last part listed');
        q.set('part-number-marker', tag(body, 'NextPartNumberMarker')!);
      }
      t.same(got, all, `${up.key} by ${max}: every part once, in order`);
    }
  }
});

t.test('ListParts of an upload aborted between two slices: 404 NoSuchUpload, not a page cut short', async (t) => {
  const up = upload('p', 'gone');
  await m.createUpload(up);
  await Promise.all(Array.from({ length: 1200 }, (_, i) => m.putPart(up.id, part(i + 1, false))));
  // Aborted for real once the first slice is read (the slices come a turn apart, faster than a
  // commit: awaiting abortUpload beside the listing raced it, and lost under load); the store's
  // parts stay readable until then, as they are between an abort's commit and its sweep.
  let sliced = false;
  const meta = new Proxy(m, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      if (prop === 'getUpload') return (id: string) => (sliced ? undefined : target.getUpload(id));
      if (prop === 'listParts') {
        return (...args: Parameters<MetaStore['listParts']>) => {
          sliced = true;
          return target.listParts(...args);
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
  const listing = handleListParts({ ...env, meta } as unknown as OpsEnv, ctx('p', `uploadId=${up.id}`, 'gone'));
  await t.rejects(listing, { code: 'NoSuchUpload' }, 'the listing that read parts before the abort answers NoSuchUpload');
  await m.abortUpload(up.id);
});
