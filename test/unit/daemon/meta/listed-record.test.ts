// Records as client listings read them (meta/listed-record.ts, MetaStore.listObjectsWithoutData and
// listVersionsWithoutData): everything but the data reference and the parts, read from the records
// as stored (this version's plain msgpack maps, and msgpackr records earlier versions may have
// written), the inline data and the parts never decoded.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { objectKey } from '../../../../daemon/meta/keys.js';
import { listObjects, type ListingTables } from '../../../../daemon/meta/listing.js';
import { listedRecordCodec, type ListedRecord, type RecordDecoder } from '../../../../daemon/meta/listed-record.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord } from '../../../../daemon/meta/records.js';
import { versioned } from '../../../helpers/meta-versions.js';

const ALL = { prefix: '', delimiter: '', after: '', maxKeys: 1000 };
const ALL_VERSIONS = { prefix: '', delimiter: '', keyMarker: '', versionIdMarker: '', maxKeys: 1000 };

/** A record of many msgpack types around its data: maps of 16+ entries, long strings, big numbers, binaries, arrays. */
function record(over: Partial<ObjectRecord>): ObjectRecord {
  const headers: Record<string, string> = { 'content-type': 'text/plain' };
  for (let i = 0; i < 20; i++) headers[`x-h-${i}`] = 'v'.repeat(i * 20);
  return {
    v: RECORD_VERSION,
    size: 65536,
    etag: '9e107d9d372bb6826bd81d3542a419d6',
    mtime: 1_700_000_000_123,
    headers,
    userMeta: { 'x-amz-meta-long': 'é'.repeat(40_000), 'x-amz-meta-s': 'x'.repeat(300) },
    data: { inline: new Uint8Array(65536).fill(7) },
    stored: 65600,
    checksums: { CRC32: 'AAAAAA==' },
    sse: { kind: 'SSE-S3', algorithm: 'AES256', iv: new Uint8Array(32).fill(1), sealedKey: new Uint8Array(64).fill(2), kmsKey: 'k', kmsCiphertext: new Uint8Array(300).fill(3) },
    tags: [['a', 'b'], ['c', '']],
    retention: { mode: 'GOVERNANCE', until: 4_102_444_800_000 },
    legalHold: 'OFF',
    ...over,
  };
}

function part(n: number): PartRecord {
  return { v: RECORD_VERSION, n, size: 5 << 20, stored: 5 << 20, etag: `e${n}`, data: { file: `f${n}` }, mtime: 1_700_000_000_000 + n, checksums: { CRC32: 'AAAAAA==' } };
}

/** A whole record as a listing shows it. */
function listed(rec: ObjectRecord): ListedRecord {
  const { data: _data, parts: _parts, ...rest } = rec;
  return rest;
}

function tempStore(t: Test): { dir: string; open: () => MetaStore } {
  const dir = mkdtempSync(join(tmpdir(), 's3d-listed-'));
  const opened: MetaStore[] = [];
  t.teardown(async () => {
    for (const m of opened) await m.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, open: () => (opened.push(new MetaStore(dir)), opened.at(-1)!) };
}

t.test('client listings read every field but the data and the parts, which they do not decode', async (t) => {
  const m = tempStore(t).open();
  await m.createBucket('b');
  // The data entry first, in the middle and last; a multipart object's parts.
  const { data, ...noData } = record({});
  await m.putObject('b', 'first', { data, ...noData } as ObjectRecord);
  await m.putObject('b', 'middle', record({}));
  await m.putObject('b', 'last', { ...noData, data } as ObjectRecord);
  const { data: _d, ...multipart } = record({ parts: Array.from({ length: 300 }, (_, i) => part(i + 1)) });
  await m.putObject('b', 'multipart', multipart as ObjectRecord);
  await m.putObject('b', 'small', { v: RECORD_VERSION, size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e', mtime: 1, headers: {}, userMeta: {}, data: { inline: new Uint8Array(0) }, stored: 0 });

  const whole = m.listObjects('b', ALL).contents;
  const client = m.listObjectsWithoutData('b', ALL).contents;
  t.same(client.map((e) => e.key), ['first', 'last', 'middle', 'multipart', 'small'], 'the same keys');
  for (const [i, e] of client.entries()) t.same(listed(e.record as ObjectRecord), listed(whole[i]!.record), `${e.key}: every other field as the whole record has it`);
  for (const e of client.filter((c) => c.key !== 'small')) {
    t.notOk('data' in e.record, `${e.key}: its data is not decoded`);
    t.notOk('parts' in e.record, `${e.key}: its parts are not decoded`);
  }

  const versions = m.listVersionsWithoutData('b', ALL_VERSIONS).entries;
  t.same(versions.map((e) => [e.key, e.isLatest]), client.map((e) => [e.key, true]), 'ListObjectVersions: the same entries');
  for (const e of versions.filter((c) => c.key !== 'small')) t.notOk('data' in e.record || 'parts' in e.record, `${e.key}: ListObjectVersions decodes no data`);
});

t.test('client version listings: noncurrent versions and delete markers, from the versions table', async (t) => {
  const m = tempStore(t).open();
  await versioned(m, 'v', 'Enabled');
  for (let i = 0; i < 3; i++) await m.putObject('v', 'k', record({ etag: `e${i}` }));
  await m.deleteObject('v', 'k');
  await m.putObject('v', 'k2', record({}));
  const whole = m.listVersions('v', ALL_VERSIONS).entries;
  const client = m.listVersionsWithoutData('v', ALL_VERSIONS).entries;
  t.equal(client.length, 5, 'three versions and a marker of k, one version of k2');
  t.same(client.map((e) => ({ key: e.key, isLatest: e.isLatest, record: e.record })), whole.map((e) => ({ key: e.key, isLatest: e.isLatest, record: listed(e.record) })), 'the whole listing, without data');
  for (const e of client) t.notOk('data' in e.record, `${e.key} ${e.record.versionId}: no data decoded`);
  // From a version-id marker (the entry after it is looked up, then read).
  const marker = client[1]!.record.versionId!;
  const after = m.listVersionsWithoutData('v', { ...ALL_VERSIONS, keyMarker: 'k', versionIdMarker: marker }).entries;
  t.same(after.map((e) => e.record.versionId), client.slice(2).map((e) => e.record.versionId), 'paged from a version-id marker');
});

t.test('records an earlier version wrote as msgpackr records (not plain maps) are listed the same', async (t) => {
  const store = tempStore(t);
  const m = store.open();
  await m.createBucket('b');
  await m.close();
  // lmdb-js's default encoding: msgpackr records, their structure written inline.
  const root = open({ path: join(store.dir, '.', 'meta'), maxDbs: 16 });
  const objects = root.openDB<ObjectRecord, Buffer>({ name: 'objects', keyEncoding: 'binary' });
  const old = record({});
  await objects.put(objectKey('b', 'old'), old);
  const head = objects.getBinary(objectKey('b', 'old'))![0]!;
  t.ok((head & 0xf0) !== 0x80 && head !== 0xde && head !== 0xdf, 'stored as a record, not a map');
  await root.close();
  const again = store.open();
  const [e] = again.listObjectsWithoutData('b', ALL).contents;
  const [w] = again.listObjects('b', ALL).contents;
  const inline = (r: ObjectRecord | undefined): Buffer => Buffer.from((r?.data as { inline: Uint8Array }).inline);
  t.ok(inline(w?.record).equals(inline(old)), 'the whole record reads, its data with it');
  t.same(e?.record, listed(w!.record), 'decoded whole, then its data left out');
  t.notOk(e !== undefined && 'data' in e.record, 'no data in the listed record');
});

t.test('the walk hands the decoder the record without its data and parts (not the whole record, then its data dropped)', async (t) => {
  // The listings above read the same fields whether the map is walked or decoded whole and its
  // data dropped afterwards: only the bytes the table's decoder is given tell the two apart.
  const { Packr } = await import('msgpackr');
  const packr = new Packr({ useRecords: false, copyBuffers: true });
  const given: number[] = [];
  const codec = listedRecordCodec({ decode: (b) => (given.push(b.length), packr.decode(b)) });
  const rec = record({ parts: Array.from({ length: 20 }, (_, i) => part(i + 1)) });
  const bytes = packr.encode(rec);
  const { data: _d, parts: _p, ...rest } = rec;
  const restBytes = packr.encode(rest);
  t.same(codec.decode(bytes), packr.decode(restBytes), 'every other field');
  // msgpackr writes every map as map16 (3 bytes of header); the walk writes a fixmap (1 byte).
  t.same(given, [restBytes.length - 2], 'decoded from the kept entries alone');
  // Two records read one after the other through the reused buffer keep their own fields.
  const a = codec.decode(packr.encode(record({ etag: 'a'.repeat(32), sse: { ...record({}).sse!, iv: new Uint8Array(32).fill(9) } })));
  const b = codec.decode(packr.encode(record({ etag: 'b'.repeat(32) })));
  t.equal(a.etag, 'a'.repeat(32));
  t.equal(a.sse!.iv[0], 9, 'a binary field of the first record is not overwritten by the second');
  t.equal(b.etag, 'b'.repeat(32));
});

/**
 * The store's listing tables with the objects table read through another handle of it whose
 * decoder counts the records it decodes (lmdb-js decodes a value as a cursor reaches it).
 */
function countingListing(m: MetaStore): { tables: ListingTables; decoded: () => number } {
  const inner = m as unknown as { root: RootDatabase; objects: { decoder: RecordDecoder }; listing: ListingTables };
  const full = inner.objects.decoder;
  let n = 0;
  const encoder = {
    decode: (b: Uint8Array): unknown => (n++, full.decode(b.subarray(0, b.length))),
    encode: (): never => {
      throw new Error('read-only');
    },
  };
  const objects = inner.root.openDB({ name: 'objects', keyEncoding: 'binary', encoder } as never) as Database<ObjectRecord, Buffer>;
  return { tables: { ...inner.listing, objects }, decoded: () => n };
}

t.test('a delimiter listing decodes no record of the keys it rolls up into common prefixes', async (t) => {
  const m = tempStore(t).open();
  await m.createBucket('b');
  const puts: Array<Promise<unknown>> = [];
  for (let d = 0; d < 40; d++) for (let j = 0; j < 3; j++) puts.push(m.putObject('b', `dir${String(d).padStart(2, '0')}/o${j}`, record({})));
  for (let i = 0; i < 5; i++) puts.push(m.putObject('b', `file${i}`, record({})));
  await Promise.all(puts);
  const { tables, decoded } = countingListing(m);
  const page = (opts: Partial<typeof ALL>): { r: ReturnType<typeof listObjects>; decoded: number } => {
    const before = decoded();
    const r = listObjects(tables, 'b', { ...ALL, delimiter: '/', ...opts });
    t.same(r, m.listObjects('b', { ...ALL, delimiter: '/', ...opts }), 'the page the store lists');
    return { r, decoded: decoded() - before };
  };
  // A page of common prefixes alone: 40 "directories" of 3 objects each, none of their records read.
  const dirs = page({ maxKeys: 40 });
  t.equal(dirs.r.commonPrefixes.length, 40);
  t.ok(dirs.r.isTruncated, 'the objects after them are on the next page');
  t.equal(dirs.decoded, 0, 'no record decoded for a common prefix');
  // From a marker inside a common prefix a previous page listed: its keys are passed by key alone too.
  t.equal(page({ after: 'dir05/o1', maxKeys: 10 }).decoded, 0, 'none from a marker inside a listed common prefix');
  // The objects after them: their own records only.
  const rest = page({ after: 'dir39/' });
  t.same(rest.r.contents.map((e) => e.key), ['file0', 'file1', 'file2', 'file3', 'file4']);
  t.equal(rest.decoded, 5, 'the listed objects’ records alone');
  // A full page stops at the next key, unless that is the marker's own (nothing may follow it).
  t.ok(page({ after: 'file3', maxKeys: 0 }).r.isTruncated, 'max-keys 0 with keys after the marker: truncated');
  t.notOk(page({ after: 'file4', maxKeys: 0 }).r.isTruncated, 'max-keys 0 from the last key: not truncated');
  // Objects before the common prefixes: the cursor that lists the objects reads the first record
  // of the directory after them, and of the next (looking each key up alone first costs more where
  // objects and common prefixes take turns); past those, key by key.
  await m.putObject('b', 'a-first', record({}));
  const mixed = page({});
  t.equal(mixed.r.contents.length, 6);
  t.equal(mixed.r.commonPrefixes.length, 40);
  t.ok(mixed.decoded <= 6 + 2, `the listed objects and at most two more (${mixed.decoded})`);
});
