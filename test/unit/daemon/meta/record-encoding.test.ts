// A completion's object record encoded before its transaction, a slice of its parts to a turn of
// the event loop (daemon/meta/record-encoding.ts), and written as those bytes: they must be the
// bytes the objects table's encoder writes for the record, byte for byte, whatever its fields, its
// number of parts and the version stamp install adds; a record the transaction changed is encoded
// there. A completion whose parts were written to since they were read (its commit compares them)
// is stored the same. Over a real store (MetaStore over LMDB in a temp dir) and its table's own encoder.
import t from 'tap';
import type { Database, RootDatabase } from 'lmdb';
import { openStore, versioned } from '../../../helpers/meta-versions.js';
import { turnsDuring } from '../../../helpers/wait.js';
import { encodeAhead, partsCount, type ValueEncoder } from '../../../../daemon/meta/record-encoding.js';
import { objectKey } from '../../../../daemon/meta/keys.js';
import type { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord, type UploadRecord } from '../../../../daemon/meta/records.js';

let fileSeq = 0;
const fid = (): string => (++fileSeq).toString(16).padStart(32, '0');
const part = (n: number): PartRecord => ({
  v: RECORD_VERSION,
  n,
  size: 5 * 1024 * 1024 + n,
  stored: 5 * 1024 * 1024 + 32 * n,
  etag: `"${n.toString(16).padStart(32, 'a')}"`,
  data: { file: fid() },
  mtime: 1_765_000_000_000 + n,
  ...(n % 3 === 0 ? { checksums: { CRC32: 'AAAAAA==' } } : {}),
});
const upload = (id: string, key: string): UploadRecord => ({ v: RECORD_VERSION, id, bucket: 'b', key, initiated: 1, headers: {}, userMeta: {} });
/** A completion's record with many kinds of fields (more than 15 keys: a map16 either way). */
const record = (parts: PartRecord[], over: Partial<ObjectRecord> = {}): ObjectRecord => ({
  v: RECORD_VERSION,
  size: parts.reduce((a, p) => a + p.size, 0),
  etag: `"${'f'.repeat(32)}-${parts.length}"`,
  mtime: 1_765_000_000_123,
  headers: { 'content-type': 'application/octet-stream', 'cache-control': 'no-cache' },
  userMeta: { ünïcode: 'välue ✓', long: 'x'.repeat(300) },
  stored: parts.reduce((a, p) => a + p.stored, 0),
  parts,
  uploadId: 'u-0123456789',
  ...over,
});
const encoderOf = (m: MetaStore): ValueEncoder => (m as unknown as { objects: { encoder: ValueEncoder } }).objects.encoder;
const rawObjects = (m: MetaStore): Database<Buffer, Buffer> =>
  (m as unknown as { root: RootDatabase }).root.openDB({ name: 'objects', keyEncoding: 'binary', encoding: 'binary' }) as unknown as Database<Buffer, Buffer>;

t.test('the bytes are the encoder\'s, for any number of parts, with or without a version stamp', async (t) => {
  const m = openStore(t);
  const enc = encoderOf(m);
  const extra: Partial<ObjectRecord> = { tags: [{ Key: 'k', Value: 'v' }], sseRequested: { 'x-amz-server-side-encryption': 'AES256' }, retainUntil: undefined } as never;
  for (const n of [0, 1, 15, 16, 499, 500, 501, 1_001, 10_000]) {
    for (const rec of [record(Array.from({ length: n }, (_, i) => part(i + 1))), record(Array.from({ length: n }, (_, i) => part(i + 1)), extra)]) {
      const want = Buffer.from(enc.encode(rec));
      const e = (await encodeAhead(enc, rec))!;
      t.ok(e.bytesOf(rec)!.equals(want), `${n} parts, ${Object.keys(rec).length} keys: the same bytes`);
      const { versionId: _i, vs: _v, ...rest } = rec;
      for (const stamped of [{ ...rest, vs: 123_456_789_012 }, { ...rest, vs: 7, versionId: '0190d8a4-0000-7000-8000-000000000000' }] as ObjectRecord[]) {
        t.ok(e.bytesOf(stamped)!.equals(Buffer.from(enc.encode(stamped))), `${n} parts, stamped with ${Object.keys(stamped).slice(-2).join(', ')}: the same bytes`);
      }
      if (n > 0) {
        t.equal(e.bytesOf({ ...rec, parts: [...rec.parts!] }), undefined, `${n} parts: other parts are not its bytes`);
        t.equal(e.bytesOf({ ...rec, vs: 1, size: 0 } as ObjectRecord), undefined, `${n} parts: another value is not`);
      }
    }
  }
});

// A delete commit counts the files it releases by this (store-deletes.ts commitEnd), without a decode.
t.test('partsCount: the parts of a stored record, read from its bytes; 0 without parts; undefined for bytes the walk cannot read', async (t) => {
  const m = openStore(t);
  const enc = encoderOf(m);
  for (const n of [0, 1, 15, 16, 500, 70_000]) {
    const parts = Array.from({ length: n }, (_, i) => part(i + 1));
    t.equal(partsCount(enc.encode(record(parts))), n, `${n} parts`);
    // parts not the last key: the keys after it are not needed.
    const { parts: _empty, ...rest } = record([]);
    t.equal(partsCount(enc.encode({ parts, ...rest, vs: 3 })), n, `${n} parts, parts first`);
  }
  const { parts: _none, ...inline } = record([], { data: { inline: new Uint8Array(1000) } });
  t.equal(partsCount(enc.encode(inline)), 0, 'no parts key: 0');
  t.equal(partsCount(enc.encode([1, 2])), undefined, 'not a map');
  t.equal(partsCount(enc.encode(record([])).subarray(0, 20)), undefined, 'cut short');
});

t.test('an encoder whose bytes the assembly does not reproduce is left to encode in the transaction', async (t) => {
  // msgpackr options the objects table does not use: structuredClone and bundleStrings write
  // references and string bundles the pieces would take apart. lmdb-js builds the encoder from the
  // table's options, as it builds the objects table's.
  const m = openStore(t);
  const root = (m as unknown as { root: RootDatabase }).root;
  const encoderWith = (name: string, encoder: Record<string, unknown>): ValueEncoder =>
    (root.openDB({ name, encoder: { useRecords: false, ...encoder } } as never) as unknown as { encoder: ValueEncoder }).encoder;
  const rec = record(Array.from({ length: 3 }, (_, i) => part(i + 1)));
  t.ok(await encodeAhead(encoderWith('plain', {}), rec), 'the options the objects table has: encoded ahead');
  t.ok(await encodeAhead(encoderOf(m), rec), 'the objects table\'s own encoder: encoded ahead');
  for (const [name, options] of [['clone', { structuredClone: true }], ['bundle', { bundleStrings: true }]] as const) {
    t.equal(await encodeAhead(encoderWith(name, options), rec), undefined, `${name}: not encoded ahead`);
  }
});

t.test('10,000 parts: encoded while the event loop turns', async (t) => {
  const m = openStore(t);
  const rec = record(Array.from({ length: 10_000 }, (_, i) => part(i + 1)));
  const { turns } = await turnsDuring(() => encodeAhead(encoderOf(m), rec));
  t.ok(turns >= 19, `the event loop turned ${turns} times meanwhile`);
});

t.test('completed objects are stored as the encoder writes them, and read back as completed', async (t) => {
  const m = openStore(t);
  const enc = encoderOf(m);
  await m.createBucket('b');
  const raw = rawObjects(m);
  let seq = 0;
  for (const state of [undefined, 'Enabled', 'Suspended'] as const) {
    if (state !== undefined) await versioned(m, 'b', state);
    // 1,001 parts cross the encoding's 500-part slices and partsOfUpload's pages; 10,000 are stored
    // by the next test (writing 60,000 part records here took ~6 s of the suite).
    for (const n of [3, 1_001]) {
      for (let round = 0; round < 2; round++) {
        const id = `u${++seq}`;
        const key = `k-${n}`;
        await m.createUpload(upload(id, key));
        const parts = Array.from({ length: n }, (_, i) => part(i + 1));
        for (let i = 0; i < n; i += 1_000) await Promise.all(parts.slice(i, i + 1_000).map((p) => m.putPart(id, p)));
        const read = await m.partsOfUpload(id);
        // Round 1: a part the completion does not list written since the read: its commit compares the parts.
        if (round === 1) await m.putPart(id, part(n + 1));
        const rec = record(read.parts, { uploadId: id });
        const stored = await m.completeUpload(upload(id, key), rec, undefined, undefined, read);
        const bytes = raw.getBinary(objectKey('b', key))!;
        t.ok(Buffer.from(bytes).equals(Buffer.from(enc.encode(stored))), `${state ?? 'unversioned'}, ${n} parts, round ${round}: stored bytes are the encoder's for the record`);
        t.same(m.getObject('b', key), stored, `${state ?? 'unversioned'}, ${n} parts, round ${round}: read back as completed`);
        t.equal(m.getObject('b', key)!.parts!.length, n, 'with its parts');
      }
    }
  }
});

// Every field a completion's record can have, with the values that could make assembled bytes
// differ: Buffers and Uint8Array views (SSE, sealed checksums, inline data), user metadata keys
// that look like integers, '__proto__' and '', strings past 64 KiB, undefined, numbers past 2^32.
t.test('a record of every kind of field, 10,000 sealed parts: stored as the encoder writes it', async (t) => {
  const m = openStore(t);
  const enc = encoderOf(m);
  await m.createBucket('b');
  await versioned(m, 'b', 'Enabled');
  const raw = rawObjects(m);
  const view = (n: number): Uint8Array => new Uint8Array(new ArrayBuffer(n + 16), 8, n).fill(n & 0xff);
  const sealed = (n: number) => ({ types: { CRC32: 'COMPOSITE' as const }, sealed: n % 2 === 0 ? Buffer.alloc(40, n & 0xff) : view(40) });
  const parts: PartRecord[] = Array.from({ length: 10_000 }, (_, i) => ({
    ...part(i + 1),
    ...(i % 7 === 0 ? { data: { inline: view(100) } } : {}),
    sealedChecksums: sealed(i),
    ...(i % 2 === 0 ? { defaultChecksum: { sealedChecksums: sealed(i + 1) } } : { defaultChecksum: { checksums: { CRC64NVME: 'AAAAAAAAAAA=' } } }),
  }));
  // Names as stored (x-amz-meta- and what follows: a bare '__proto__' never is one; msgpackr reads
  // that key back as '__proto_', whoever encoded it).
  const userMeta = JSON.parse('{"x-amz-meta-__proto__":"p","x-amz-meta-1":"one","x-amz-meta-":"empty","x-amz-meta-10":"ten","x-amz-meta-constructor":"c","x-amz-meta-long":"' + '𝄞'.repeat(20_000) + '"}') as Record<string, string>;
  await m.createUpload(upload('u', 'k'));
  for (let i = 0; i < parts.length; i += 1_000) await Promise.all(parts.slice(i, i + 1_000).map((p) => m.putPart('u', p)));
  const read = await m.partsOfUpload('u');
  const rec = record(read.parts, {
    uploadId: 'u',
    userMeta,
    headers: { 'content-type': 'x'.repeat(70_000) },
    size: 2 ** 40 + 3,
    sseRequested: { 'x-amz-server-side-encryption': 'aws:kms' },
    sealedChecksums: { types: { SHA256: 'FULL_OBJECT' }, sealed: view(64) },
    sse: { kind: 'SSE-KMS', algorithm: 'DAREv2-HMAC-SHA256', iv: view(32), sealedKey: Buffer.alloc(64, 9), kmsKey: 'key', kmsCiphertext: view(200), kmsContext: '{"a":"b"}', bucketKey: true },
    tags: [['k', 'v'], ['', 'ü']],
    retention: { mode: 'COMPLIANCE', until: 4_102_444_800_000 },
    legalHold: 'ON',
    md5: undefined,
  } as never);
  const stored = await m.completeUpload(upload('u', 'k'), rec, undefined, undefined, read);
  const bytes = Buffer.from(raw.getBinary(objectKey('b', 'k'))!);
  t.ok(bytes.equals(Buffer.from(enc.encode(stored))), 'stored bytes are the encoder\'s for the record');
  const back = m.getObject('b', 'k')!;
  t.equal(back.parts!.length, 10_000, 'read back with its parts');
  t.same(Object.keys(back.userMeta), Object.keys(userMeta), 'and its user metadata keys');
  t.same(back.userMeta, userMeta, 'and their values');
  t.ok(Buffer.from(back.sse!.kmsCiphertext!).equals(Buffer.from(view(200))), 'the SSE record\'s bytes');
  // Part 9,999's default checksum was sealed(9_999): a 40-byte view into a larger buffer.
  t.ok(Buffer.from(back.parts![9_998]!.defaultChecksum!.sealedChecksums!.sealed).equals(Buffer.alloc(40, 40)), 'a part\'s sealed default checksum, the view\'s bytes only');
  t.same(back.parts![9_999]!.defaultChecksum, { checksums: { CRC64NVME: 'AAAAAAAAAAA=' } }, 'the last part\'s default checksum');
  // Listings walk the stored map and skip `parts` by its length (listed-record.ts).
  const listed = m.listObjectsWithoutData('b', { prefix: '', delimiter: '', after: '', maxKeys: 10 }).contents;
  t.equal(listed.length, 1, 'listed');
  const entry = listed[0]!.record as unknown as Record<string, unknown>;
  t.equal(entry['parts'], undefined, 'without its parts');
  t.same([entry['size'], entry['etag'], entry['legalHold'], Object.keys(entry['userMeta'] as object)], [2 ** 40 + 3, rec.etag, 'ON', Object.keys(userMeta)], 'with every other field');
});

// The record's bytes are written inside the completion's transaction: one that fails after them
// (here its in-transaction hook) leaves the key, its versions and the upload as they were, and
// the upload completes again.
t.test('a completion whose transaction fails after the record is written changes nothing; completed again', async (t) => {
  const m = openStore(t);
  const enc = encoderOf(m);
  await m.createBucket('b');
  await versioned(m, 'b', 'Enabled');
  const raw = rawObjects(m);
  await m.createUpload(upload('old', 'k'));
  await m.putPart('old', part(1));
  const oldRead = await m.partsOfUpload('old');
  const old = await m.completeUpload(upload('old', 'k'), record(oldRead.parts, { uploadId: 'old' }), undefined, undefined, oldRead);
  const before = Buffer.from(raw.getBinary(objectKey('b', 'k'))!);
  await m.createUpload(upload('u', 'k'));
  const parts = Array.from({ length: 1_200 }, (_, i) => part(i + 1));
  await Promise.all(parts.map((p) => m.putPart('u', p)));
  const read = await m.partsOfUpload('u');
  const rec = record(read.parts, { uploadId: 'u' });
  await t.rejects(m.completeUpload(upload('u', 'k'), rec, undefined, () => { throw new Error('hook failed'); }, read), /hook failed/);
  t.ok(Buffer.from(raw.getBinary(objectKey('b', 'k'))!).equals(before), 'the current record is the one before, byte for byte');
  t.equal(m.getObject('b', 'k')!.versionId, old.versionId, 'the version before is current');
  t.ok(m.getUpload('u'), 'the upload is still in progress');
  t.equal(m.listParts('u').length, 1_200, 'with its parts');
  const stored = await m.completeUpload(upload('u', 'k'), rec, undefined, undefined, read);
  t.ok(Buffer.from(raw.getBinary(objectKey('b', 'k'))!).equals(Buffer.from(enc.encode(stored))), 'completed again: the encoder\'s bytes');
  t.equal(m.getObject('b', 'k')!.parts!.length, 1_200, 'with its parts');
  t.equal(m.getUpload('u'), undefined, 'the upload is gone');
});
