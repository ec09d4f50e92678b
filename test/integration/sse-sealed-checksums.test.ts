// What the metadata store keeps of encrypted objects: their checksums (of the plaintext) sealed
// under the object key (a part's under its part key), as MinIO keeps them, and nothing of an SSE-C
// customer key. After PUTs, copies and multipart uploads (SHA256 and CRC32; UploadPart and
// UploadPartCopy) under SSE-S3, SSE-KMS and SSE-C, no byte of `.s3d/meta` holds a checksum value
// (base64, raw or hex) or the key's MD5, while an unencrypted object's checksum is there in clear.
// Every read path still gives the checksums: HEAD and GET with checksum mode (whole and per part),
// GetObjectAttributes, ListParts, Complete and its retry, CopyObject; SSE-C only with the key.
// Records an earlier version wrote (plain checksums, the key's MD5) serve as before, and are
// sealed when rewritten. With KES: checksum mode costs an SSE-S3/SSE-KMS HEAD the unseal of its
// key (cached), none without it; while KES is down it fails as a GET does.
// One daemon serves all but the KES test (which starts two, with and without key caching): it is
// stopped to read or edit its store, and started again on it.

import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MetaStore } from '../../daemon/meta/store.js';
import { derivePartKey, unsealMetadata, unsealObjectKey } from '../../daemon/sse/object-key.js';
import type { ObjectRecord, PartRecord } from '../../daemon/meta/records.js';
import { startDaemon, startDaemonFor, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { filesContaining } from '../helpers/files.js';
import { md5Base64 } from '../helpers/hash.js';
import { KES_TEST_KEY, keyCalls, kesEnv, kesServer, requestDelta, waitReady, wideS3Client } from '../helpers/kes.js';
import { bodyBytes, createBucket, s3Code } from '../helpers/s3.js';
import { ssec, sseCopySourceInput, sseReadInput, sseWriteInput, type SseKind } from '../helpers/sse.js';
import { createTestPki } from '../fixtures/kes-server/certs.js';

const MiB = 1024 * 1024;
const KINDS = ['SSE-S3', 'SSE-KMS', 'SSE-C', 'none'] as const satisfies readonly SseKind[];
type Kind = (typeof KINDS)[number];
type Alg = 'SHA256' | 'CRC32';
const ALGS: readonly Alg[] = ['SHA256', 'CRC32'];
const customerKey = randomBytes(32);
const otherKey = randomBytes(32);

function digest(alg: Alg, data: Buffer): Buffer {
  if (alg === 'SHA256') return createHash('sha256').update(data).digest();
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data));
  return out;
}
const b64 = (alg: Alg, data: Buffer): string => digest(alg, data).toString('base64');
/** COMPOSITE: the algorithm over the concatenated binary part checksums, then -N. */
const composite = (alg: Alg, parts: Buffer[]): string => `${b64(alg, Buffer.concat(parts.map((p) => digest(alg, p))))}-${parts.length}`;
const field = (alg: Alg): `Checksum${Alg}` => `Checksum${alg}`;
const sumOf = (out: object, alg: Alg): string | undefined => (out as Record<string, string | undefined>)[field(alg)];
const other = (alg: Alg): Alg => (alg === 'SHA256' ? 'CRC32' : 'SHA256');
const seed = (kind: Kind, n: number): number => KINDS.indexOf(kind) * 100 + n;

/** The forms a checksum value could take in the store: its base64 (with and without "-N"), and for SHA-256 its raw bytes and hex. */
function forms(value: string): Array<[string, Buffer]> {
  const bare = value.replace(/-\d+$/, '');
  const raw = Buffer.from(bare, 'base64');
  const out: Array<[string, Buffer]> = [[`base64 ${value}`, Buffer.from(value)], [`base64 ${bare}`, Buffer.from(bare)]];
  // A 4-byte CRC could turn up anywhere in megabytes by chance; 32 bytes cannot.
  if (raw.length >= 16) out.push([`raw ${bare}`, raw], [`hex ${bare}`, Buffer.from(raw.toString('hex'))]);
  return out;
}

/** Expected checksums, by key: what every read path must give back. */
interface Expected {
  kind: Kind;
  alg: Alg;
  value: string;
  body: Buffer;
  /** Multipart objects: each part's checksum. */
  parts?: string[];
}
const objects = new Map<string, Expected>();
/** Checksum values of encrypted objects and parts (must not be in the store) and of unencrypted ones (must be). */
const secret = new Set<string>();
const control = new Set<string>();
const note = (kind: Kind, value: string): void => void (kind === 'none' ? control : secret).add(value);

/** Only SSE-C needs the key to read. */
const readInput = (kind: Kind, key = customerKey): Record<string, string> => sseReadInput(kind, key);

let d: TestDaemon;
let s3: S3Client;
let bucket: string;
const pending: Array<{ kind: Kind; key: string; id: string; value: string; body: Buffer }> = [];

t.before(async () => {
  d = await startDaemon({ tls: true });
  s3 = d.s3();
  bucket = await createBucket(s3, 'sealed');
});
t.teardown(async () => {
  await d?.stop();
  d?.cleanup();
});

// Before the first t.test: a top-level await between two subtests lets tap end the root test
// (and run its teardown) when it takes longer than the subtest before it (openssl under load).
const pki = await createTestPki();

t.test('encrypted objects\u2019 checksums are sealed in the store, and every read path gives them back', async (t) => {
  // PutObject (inline and file-backed), CopyObject (the source's checksum, and a recomputed one).
  for (const kind of KINDS) {
    for (const [i, alg] of ALGS.entries()) {
      const body = testBytes(alg === 'SHA256' ? 300_000 : 3_000, seed(kind, i));
      const value = b64(alg, body);
      const key = `put/${kind}/${alg}`;
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, [field(alg)]: value, ...sseWriteInput(kind, customerKey) }));
      t.equal(sumOf(put, alg), value, `PUT ${key}: the checksum echoed`);
      if (kind === 'SSE-C') t.equal(put.SSECustomerKeyMD5, md5Base64(customerKey), `PUT ${key}: the key MD5 echoed`);
      objects.set(key, { kind, alg, value, body });
      note(kind, value);

      const copy = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: `copy/${kind}/${alg}`, CopySource: `${bucket}/${key}`, ...sseWriteInput(kind, customerKey), ...sseCopySourceInput(kind, customerKey) }));
      t.equal(sumOf(copy.CopyObjectResult!, alg), value, `CopyObject ${key}: the source's checksum`);
      if (kind === 'SSE-C') t.equal(copy.SSECustomerKeyMD5, md5Base64(customerKey), `CopyObject ${key}: the key MD5 echoed`);
      objects.set(`copy/${kind}/${alg}`, { kind, alg, value, body });
      const o = other(alg);
      const recopy = await s3.send(
        new CopyObjectCommand({ Bucket: bucket, Key: `recopy/${kind}/${alg}`, CopySource: `${bucket}/${key}`, ChecksumAlgorithm: o, ...sseWriteInput(kind, customerKey), ...sseCopySourceInput(kind, customerKey) }),
      );
      t.equal(sumOf(recopy.CopyObjectResult!, o), b64(o, body), `CopyObject ${key} with ${o}: computed`);
      objects.set(`recopy/${kind}/${alg}`, { kind, alg: o, value: b64(o, body), body });
      note(kind, b64(o, body));
    }
  }

  // Multipart: UploadPart with the client's checksums, COMPOSITE SHA256 and FULL_OBJECT CRC32.
  for (const kind of KINDS) {
    const p1 = testBytes(5 * MiB, seed(kind, 10));
    const p2 = testBytes(4_000, seed(kind, 11));
    for (const alg of ALGS) {
      const key = `mp/${kind}/${alg}`;
      const type = alg === 'CRC32' ? 'FULL_OBJECT' : 'COMPOSITE';
      const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: alg, ChecksumType: type, ...sseWriteInput(kind, customerKey) }));
      const done: CompletedPart[] = [];
      for (const [i, body] of [p1, p2].entries()) {
        const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, PartNumber: i + 1, Body: body, [field(alg)]: b64(alg, body), ...readInput(kind) }));
        t.equal(sumOf(r, alg), b64(alg, body), `UploadPart ${key} #${i + 1}: the checksum echoed`);
        done.push({ PartNumber: i + 1, ETag: r.ETag, [field(alg)]: b64(alg, body) });
        note(kind, b64(alg, body));
      }
      const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, ...readInput(kind) }));
      t.same(listed.Parts?.map((p) => sumOf(p, alg)), [b64(alg, p1), b64(alg, p2)], `ListParts ${key}: the part checksums`);
      if (kind === 'SSE-C') {
        const without = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId }));
        t.same(without.Parts?.map((p) => sumOf(p, alg)), [undefined, undefined], `ListParts ${key} without the key: no checksums`);
      }
      const whole = Buffer.concat([p1, p2]);
      const value = alg === 'CRC32' ? b64(alg, whole) : composite(alg, [p1, p2]);
      const complete = (): CompleteMultipartUploadCommand =>
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: done }, [field(alg)]: value, ChecksumType: type, ...readInput(kind) });
      const fin = await s3.send(complete());
      t.same([sumOf(fin, alg), fin.ChecksumType], [value, type], `Complete ${key}: the object checksum`);
      const again = await s3.send(complete());
      t.same([sumOf(again, alg), again.ChecksumType], [value, type], `Complete ${key} again (a retry): the same answer`);
      objects.set(key, { kind, alg, value, body: whole, parts: [b64(alg, p1), b64(alg, p2)] });
      note(kind, value);
    }
  }

  // UploadPartCopy: the part checksum computed from the copied bytes.
  for (const kind of KINDS) {
    const key = `upc/${kind}`;
    const src = objects.get(`put/${kind}/SHA256`)!;
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'SHA256', ...sseWriteInput(kind, customerKey) }));
    const r = await s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, PartNumber: 1, CopySource: `${bucket}/put/${kind}/SHA256`, ...readInput(kind), ...sseCopySourceInput(kind, customerKey) }));
    t.equal(r.CopyPartResult?.ChecksumSHA256, src.value, `UploadPartCopy ${key}: the part checksum`);
    const value = composite('SHA256', [src.body]);
    const fin = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: r.CopyPartResult!.ETag, ChecksumSHA256: r.CopyPartResult!.ChecksumSHA256 }] }, ...readInput(kind) }));
    t.equal(fin.ChecksumSHA256, value, `Complete ${key}: the object checksum`);
    objects.set(key, { kind, alg: 'SHA256', value, body: src.body, parts: [src.value] });
    note(kind, value);
  }

  // Uploads left in progress (one small part each): the compat test turns them into old records.
  for (const kind of ['SSE-S3', 'SSE-C'] as const) {
    const key = `open/${kind}`;
    const body = testBytes(2_000, seed(kind, 20));
    const c = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'SHA256', ...sseWriteInput(kind, customerKey) }));
    await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: c.UploadId, PartNumber: 1, Body: body, ChecksumSHA256: b64('SHA256', body), ...readInput(kind) }));
    pending.push({ kind, key, id: c.UploadId!, value: b64('SHA256', body), body });
    note(kind, b64('SHA256', body));
  }

  // The read paths.
  for (const [key, e] of objects) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...readInput(e.kind) }));
    t.equal(sumOf(head, e.alg), e.value, `HEAD ${key} (checksum mode)`);
    const plainHead = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...readInput(e.kind) }));
    t.equal(sumOf(plainHead, e.alg), undefined, `HEAD ${key} without checksum mode: none`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...readInput(e.kind) }));
    t.equal(sumOf(got, e.alg), e.value, `GET ${key} (checksum mode)`);
    t.ok((await bodyBytes(got)).equals(e.body), `GET ${key}: the bytes`);
    if (e.kind === 'SSE-C') {
      t.equal(head.SSECustomerKeyMD5, md5Base64(customerKey), `HEAD ${key}: the key MD5 echoed`);
      t.equal(got.SSECustomerKeyMD5, md5Base64(customerKey), `GET ${key}: the key MD5 echoed`);
      t.match(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }))), /\/400$/, `HEAD ${key} without the key: 400`);
      t.match(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...ssec(otherKey) }))), /\/403$/, `HEAD ${key} with another key: 403`);
      t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...ssec(otherKey) }))), 'AccessDenied/403', `GET ${key} with another key: AccessDenied`);
      t.equal(await s3Code(s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: key, ObjectAttributes: ['Checksum'] }))), 'InvalidRequest/400', `GetObjectAttributes ${key} without the key`);
    }
    const a = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: key, ObjectAttributes: ['Checksum', 'ObjectParts'], ...readInput(e.kind) }));
    t.equal(sumOf(a.Checksum ?? {}, e.alg), e.value.replace(/-\d+$/, ''), `GetObjectAttributes ${key}: Checksum`);
    if (e.parts) {
      // A COMPOSITE object's parts show their own checksums; a FULL_OBJECT object's of two parts
      // none (GetObjectAttributes answers its part count alone), as on S3.
      const composed = /-\d+$/.test(e.value);
      t.same(a.ObjectParts?.Parts?.map((p) => sumOf(p, e.alg)), composed ? e.parts : undefined, `GetObjectAttributes ${key}: ${composed ? 'the part checksums' : 'no parts (FULL_OBJECT)'}`);
      // The last part: the 4,000 bytes of part 2 (5 MiB in part 1, read for a header only, cost
      // 40 MiB of TLS and decryption over the eight two-part objects); UploadPartCopy's has one.
      const n = e.parts.length;
      const lastPart = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, PartNumber: n, ChecksumMode: 'ENABLED', ...readInput(e.kind) }));
      t.equal(sumOf(lastPart, e.alg), composed ? e.parts[n - 1] : undefined, `GET ${key} partNumber=${n}: ${composed ? 'the part\'s checksum' : 'no checksum (FULL_OBJECT)'}`);
      await bodyBytes(lastPart);
    }
  }
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  let listedChecked = 0;
  for (const o of listing.Contents ?? []) {
    const e = objects.get(o.Key!);
    if (e === undefined) continue;
    listedChecked++;
    t.same(o.ChecksumAlgorithm, [e.alg], `ListObjectsV2 ${o.Key}: the algorithm, without a key`);
  }
  t.equal(listedChecked, objects.size, 'ListObjectsV2 lists every object checked above');

  t.equal(await d.stop(), 0, 'stopped cleanly');
  const meta = join(d.dataDir, '.s3d', 'meta');
  const found = [...control].filter((v) => filesContaining(meta, Buffer.from(v)).length > 0);
  t.same(found, [...control], `control: the ${control.size} checksums of unencrypted objects are in the store, in clear`);
  const leaked: string[] = [];
  for (const v of secret) for (const [what, needle] of forms(v)) if (filesContaining(meta, needle).length > 0) leaked.push(what);
  for (const [what, needle] of [['the SSE-C key MD5 (base64)', Buffer.from(md5Base64(customerKey))], ['the SSE-C key MD5 (raw)', createHash('md5').update(customerKey).digest()]] as const) {
    if (filesContaining(meta, needle).length > 0) leaked.push(what);
  }
  t.same(leaked, [], `none of the ${secret.size} checksums of encrypted objects and parts, nor the SSE-C key MD5, is in the store`);
});

/** Rewrites records of the stopped daemon's store as an earlier version wrote them: checksums in clear, the SSE-C key MD5. */
async function makeOld(dataDir: string): Promise<void> {
  const m = new MetaStore(join(dataDir, '.s3d'));
  try {
    const oldPart = (p: PartRecord, alg: Alg, value: string): PartRecord => {
      const { sealedChecksums: _s, ...rest } = p;
      return { ...rest, checksums: { [alg]: value } };
    };
    for (const key of ['put/SSE-C/SHA256', 'put/SSE-S3/CRC32', 'mp/SSE-KMS/SHA256', 'mp/SSE-C/CRC32']) {
      const e = objects.get(key)!;
      await m.updateObject(bucket, key, (r) => {
        const { sealedChecksums: _s, ...rest } = r;
        const old: ObjectRecord = {
          ...rest,
          checksums: { [e.alg]: e.value },
          ...(r.parts ? { parts: r.parts.map((p, i) => oldPart(p, e.alg, e.parts![i]!)) } : {}),
          ...(r.sse?.kind === 'SSE-C' ? { sse: { ...r.sse, customerKeyMd5: md5Base64(customerKey) } } : {}),
        };
        return old;
      });
    }
    for (const p of pending) {
      const up = m.getUpload(p.id)!;
      if (up.sse?.kind === 'SSE-C') await m.createUpload({ ...up, sse: { ...up.sse, customerKeyMd5: md5Base64(customerKey) } });
      // A small part is inline: rewriting it queues no data file.
      const [part] = m.listParts(p.id);
      await m.putPart(p.id, oldPart(part!, 'SHA256', p.value));
    }
  } finally {
    await m.close();
  }
}

t.test('records an earlier version wrote (checksums in clear, the SSE-C key MD5) serve as before; rewritten, they are sealed', async (t) => {
  await makeOld(d.dataDir);
  {
    const m = new MetaStore(join(d.dataDir, '.s3d'));
    const r = m.getObject(bucket, 'put/SSE-C/SHA256')!;
    t.same([r.checksums, r.sealedChecksums, r.sse?.customerKeyMd5], [{ SHA256: objects.get('put/SSE-C/SHA256')!.value }, undefined, md5Base64(customerKey)], 'the old record is in place');
    await m.close();
  }
  d = await startDaemon({ dataDir: d.dataDir, tls: true });
  s3 = d.s3();
  for (const key of ['put/SSE-C/SHA256', 'put/SSE-S3/CRC32', 'mp/SSE-KMS/SHA256', 'mp/SSE-C/CRC32']) {
    const e = objects.get(key)!;
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...readInput(e.kind) }));
    t.equal(sumOf(head, e.alg), e.value, `old ${key}: HEAD gives its checksum`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...readInput(e.kind) }));
    t.equal(sumOf(got, e.alg), e.value, `old ${key}: GET gives its checksum`);
    t.ok((await bodyBytes(got)).equals(e.body), `old ${key}: and its bytes`);
    const a = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: key, ObjectAttributes: ['Checksum', 'ObjectParts'], ...readInput(e.kind) }));
    t.equal(sumOf(a.Checksum ?? {}, e.alg), e.value.replace(/-\d+$/, ''), `old ${key}: GetObjectAttributes`);
    if (e.parts) t.same(a.ObjectParts?.Parts?.map((p) => sumOf(p, e.alg)), /-\d+$/.test(e.value) ? e.parts : undefined, `old ${key}: the part checksums (a FULL_OBJECT object: none)`);
    if (e.kind === 'SSE-C') {
      t.equal(head.SSECustomerKeyMD5, md5Base64(customerKey), `old ${key}: the key MD5`);
      t.match(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))), /\/400$/, `old ${key}: HEAD without the key, 400`);
      t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...ssec(otherKey) }))), 'AccessDenied/403', `old ${key}: GET with another key, AccessDenied`);
    }
  }
  const copy = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy/old', CopySource: `${bucket}/put/SSE-C/SHA256`, ...sseCopySourceInput('SSE-C', customerKey), ServerSideEncryption: 'AES256' }));
  t.equal(copy.CopyObjectResult?.ChecksumSHA256, objects.get('put/SSE-C/SHA256')!.value, 'an old SSE-C record copied: its checksum');
  // SSE-C key rotation in place of the old records (the same object key, a new customer key).
  for (const key of ['put/SSE-C/SHA256', 'mp/SSE-C/CRC32']) {
    const e = objects.get(key)!;
    const rot = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/${key}`, ...sseCopySourceInput('SSE-C', customerKey), ...ssec(otherKey) }));
    t.equal(sumOf(rot.CopyObjectResult!, e.alg), e.value, `old ${key} rotated: its checksum`);
    t.equal(rot.SSECustomerKeyMD5, md5Base64(otherKey), `old ${key} rotated: the new key's MD5`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...ssec(otherKey) }));
    t.same([sumOf(head, e.alg), head.SSECustomerKeyMD5], [e.value, md5Base64(otherKey)], `old ${key} rotated: HEAD with the new key`);
  }
  // Uploads in progress with old parts: ListParts, then Complete.
  for (const p of pending) {
    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: p.key, UploadId: p.id, ...readInput(p.kind) }));
    t.same(listed.Parts?.map((x) => x.ChecksumSHA256), [p.value], `old upload ${p.key}: ListParts`);
    const fin = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: p.key, UploadId: p.id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: listed.Parts![0]!.ETag, ChecksumSHA256: p.value }] }, ...readInput(p.kind) }),
    );
    t.equal(fin.ChecksumSHA256, composite('SHA256', [p.body]), `old upload ${p.key}: Complete`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: p.key, ChecksumMode: 'ENABLED', ...readInput(p.kind) }));
    t.equal(head.ChecksumSHA256, composite('SHA256', [p.body]), `old upload ${p.key}: HEAD after Complete`);
  }
  // Read beside the serving daemon (as `s3d verify` reads), which the last test goes on using.
  const m = new MetaStore(join(d.dataDir, '.s3d'), { readOnly: true });
  try {
    const shape = (r: ObjectRecord | undefined): string =>
      JSON.stringify({
        checksums: r?.checksums !== undefined,
        sealed: r?.sealedChecksums !== undefined,
        partsInClear: (r?.parts ?? []).filter((p) => p.checksums !== undefined).length,
        partsSealed: (r?.parts ?? []).filter((p) => p.sealedChecksums !== undefined).length,
        keyMd5: r?.sse?.customerKeyMd5 !== undefined,
      });
    const sealed = (parts: number): string => JSON.stringify({ checksums: false, sealed: true, partsInClear: 0, partsSealed: parts, keyMd5: false });
    t.equal(shape(m.getObject(bucket, 'put/SSE-C/SHA256')), sealed(0), 'the rotated old SSE-C object: checksums sealed, no key MD5');
    t.equal(shape(m.getObject(bucket, 'mp/SSE-C/CRC32')), sealed(2), 'the rotated old multipart SSE-C object: its and its parts\u2019 checksums sealed, no key MD5');
    t.equal(shape(m.getObject(bucket, 'copy/old')), sealed(0), 'the copy of an old record: sealed');
    for (const p of pending) t.equal(shape(m.getObject(bucket, p.key)), sealed(1), `the old upload ${p.key}, completed: sealed, its old part too`);
    t.equal(shape(m.getObject(bucket, 'put/SSE-S3/CRC32')), JSON.stringify({ checksums: true, sealed: false, partsInClear: 0, partsSealed: 0, keyMd5: false }), 'an old record nobody rewrote stays as it was');
  } finally {
    await m.close();
  }
});

t.test('with KES: checksum mode unseals an SSE-S3/SSE-KMS key (cached), nothing else does; while KES is down it fails as a GET does', async (t) => {
  const kes = await kesServer(t, { pki });
  // Caches off: every unseal is a KES decrypt, so each is counted.
  const cold = await startDaemonFor(t, { env: kesEnv([kes], { extra: { S3_KMS_CACHE_TTL: '0' } }), tls: true });
  const warm = await startDaemonFor(t, { env: kesEnv([kes]), tls: true });
  await waitReady(cold.endpoint, 200, 30_000, cold.caCert);
  await waitReady(warm.endpoint, 200, 30_000, warm.caCert);
  const body = testBytes(70_000, 77);
  const value = b64('SHA256', body);
  const kinds = { s3: { ServerSideEncryption: 'AES256' as const }, kms: { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: KES_TEST_KEY } };

  const ws3 = wideS3Client(warm);
  const wb = await createBucket(ws3, 'kescache');
  await ws3.send(new PutObjectCommand({ Bucket: wb, Key: 'k', Body: body, ChecksumSHA256: value, ...kinds.s3 }));
  const beforeWarm = kes.counters();
  for (let i = 0; i < 3; i++) t.equal((await ws3.send(new HeadObjectCommand({ Bucket: wb, Key: 'k', ChecksumMode: 'ENABLED' }))).ChecksumSHA256, value, `default cache: HEAD ${i + 1} with checksum mode`);
  t.ok(keyCalls(requestDelta(beforeWarm, kes.counters())) <= 1, `default cache: three HEADs with checksum mode cost at most one KES call (${JSON.stringify(requestDelta(beforeWarm, kes.counters()))})`);

  const cs3 = wideS3Client(cold);
  const cb = await createBucket(cs3, 'kescold');
  for (const [key, sse] of Object.entries(kinds)) await cs3.send(new PutObjectCommand({ Bucket: cb, Key: key, Body: body, ChecksumSHA256: value, ...sse }));
  for (const key of Object.keys(kinds)) {
    const before = kes.counters();
    const head = await cs3.send(new HeadObjectCommand({ Bucket: cb, Key: key }));
    t.equal(head.ChecksumSHA256, undefined, `${key}: HEAD without checksum mode`);
    await cs3.send(new GetObjectAttributesCommand({ Bucket: cb, Key: key, ObjectAttributes: ['ObjectSize', 'ETag'] }));
    t.equal(keyCalls(requestDelta(before, kes.counters())), 0, `${key}: HEAD without checksum mode and GetObjectAttributes without Checksum: no KES call`);
    const mid = kes.counters();
    t.equal((await cs3.send(new HeadObjectCommand({ Bucket: cb, Key: key, ChecksumMode: 'ENABLED' }))).ChecksumSHA256, value, `${key}: HEAD with checksum mode`);
    t.same(requestDelta(mid, kes.counters()), { decrypt: 1 }, `${key}: HEAD with checksum mode costs one decrypt`);
    const a = await cs3.send(new GetObjectAttributesCommand({ Bucket: cb, Key: key, ObjectAttributes: ['Checksum'] }));
    t.equal(a.Checksum?.ChecksumSHA256, value, `${key}: GetObjectAttributes Checksum`);
  }

  // A multipart object without a checksum of its own, whose part has one (sealed): checksum mode
  // has nothing to show, of the object or of that part (partNumber), and nothing to open.
  const mp = await cs3.send(new CreateMultipartUploadCommand({ Bucket: cb, Key: 'mp', ...kinds.s3 }));
  const mpPart = await cs3.send(new UploadPartCommand({ Bucket: cb, Key: 'mp', UploadId: mp.UploadId, PartNumber: 1, Body: body, ChecksumAlgorithm: 'CRC32' }));
  await cs3.send(new CompleteMultipartUploadCommand({ Bucket: cb, Key: 'mp', UploadId: mp.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: mpPart.ETag! }] } }));
  const beforeMp = kes.counters();
  t.equal((await cs3.send(new HeadObjectCommand({ Bucket: cb, Key: 'mp', ChecksumMode: 'ENABLED' }))).ChecksumCRC32, undefined, 'a multipart object without an object checksum: HEAD with checksum mode shows none');
  t.equal(keyCalls(requestDelta(beforeMp, kes.counters())), 0, 'and costs no KES call');
  const midMp = kes.counters();
  t.equal((await cs3.send(new HeadObjectCommand({ Bucket: cb, Key: 'mp', PartNumber: 1, ChecksumMode: 'ENABLED' }))).ChecksumCRC32, undefined, 'HEAD of its part 1 with checksum mode shows none either');
  t.equal(keyCalls(requestDelta(midMp, kes.counters())), 0, 'and costs no KES call');
  // A part of a COMPOSITE object shows its own checksum (partNumber): that unseals the key.
  const mpc = await cs3.send(new CreateMultipartUploadCommand({ Bucket: cb, Key: 'mpc', ChecksumAlgorithm: 'CRC32', ...kinds.s3 }));
  const mpcPart = await cs3.send(new UploadPartCommand({ Bucket: cb, Key: 'mpc', UploadId: mpc.UploadId, PartNumber: 1, Body: body, ChecksumAlgorithm: 'CRC32' }));
  await cs3.send(new CompleteMultipartUploadCommand({ Bucket: cb, Key: 'mpc', UploadId: mpc.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: mpcPart.ETag!, ChecksumCRC32: mpcPart.ChecksumCRC32! }] } }));
  const midMpc = kes.counters();
  t.equal((await cs3.send(new HeadObjectCommand({ Bucket: cb, Key: 'mpc', PartNumber: 1, ChecksumMode: 'ENABLED' }))).ChecksumCRC32, b64('CRC32', body), 'HEAD of a COMPOSITE object\u2019s part 1 with checksum mode shows the part\u2019s');
  t.same(requestDelta(midMpc, kes.counters()), { decrypt: 1 }, 'and costs one decrypt');
  // Partial answers of a single-part object show no checksum: nothing to unseal for them.
  const partial = kes.counters();
  const p1 = await cs3.send(new HeadObjectCommand({ Bucket: cb, Key: 's3', PartNumber: 1, ChecksumMode: 'ENABLED' }));
  const ranged = await cs3.send(new HeadObjectCommand({ Bucket: cb, Key: 's3', Range: 'bytes=0-9', ChecksumMode: 'ENABLED' }));
  t.same([p1.ChecksumSHA256, ranged.ChecksumSHA256], [undefined, undefined], 'a single-part object’s HEAD with partNumber=1 or a Range shows no checksum');
  t.equal(keyCalls(requestDelta(partial, kes.counters())), 0, 'and costs no KES call');

  await kes.stop();
  await waitReady(cold.endpoint, 503, 10_000, cold.caCert);
  for (const key of Object.keys(kinds)) {
    t.equal(await s3Code(cs3.send(new HeadObjectCommand({ Bucket: cb, Key: key }))), 'ok', `KES down, ${key}: HEAD without checksum mode still answers`);
    const get = await s3Code(cs3.send(new GetObjectCommand({ Bucket: cb, Key: key })));
    t.equal(get, 'ServiceUnavailable/503', `KES down, ${key}: GET fails (${get})`);
    t.match(await s3Code(cs3.send(new HeadObjectCommand({ Bucket: cb, Key: key, ChecksumMode: 'ENABLED' }))), /\/503$/, `KES down, ${key}: HEAD with checksum mode fails with 503, as GET`);
    t.equal(await s3Code(cs3.send(new GetObjectCommand({ Bucket: cb, Key: key, ChecksumMode: 'ENABLED' }))), get, `KES down, ${key}: GET with checksum mode, the same error`);
    t.equal(await s3Code(cs3.send(new GetObjectAttributesCommand({ Bucket: cb, Key: key, ObjectAttributes: ['Checksum'] }))), get, `KES down, ${key}: GetObjectAttributes Checksum, the same error`);
    t.equal(await s3Code(cs3.send(new GetObjectAttributesCommand({ Bucket: cb, Key: key, ObjectAttributes: ['ObjectSize'] }))), 'ok', `KES down, ${key}: GetObjectAttributes without Checksum still answers`);
  }
});

t.test('the sealing scheme, tampered values, and SSE-C completions with and without the key', async (t) => {
  // The daemon of the tests above (a bucket of its own): it is stopped to edit its store either
  // way, and a daemon of its own cost a start more.
  let c = s3;
  const b = await createBucket(c, 'scheme');
  const p1 = testBytes(5 * MiB, 501);
  const p2 = testBytes(20_000, 502);
  // An SSE-C upload with SHA256: the object's checksum and each part's, opened here on their own.
  const up = await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mp', ChecksumAlgorithm: 'SHA256', ...ssec(customerKey) }));
  const done: CompletedPart[] = [];
  for (const [i, body] of [p1, p2].entries()) {
    const r = await c.send(new UploadPartCommand({ Bucket: b, Key: 'mp', UploadId: up.UploadId, PartNumber: i + 1, Body: body, ChecksumSHA256: b64('SHA256', body), ...ssec(customerKey) }));
    done.push({ PartNumber: i + 1, ETag: r.ETag!, ChecksumSHA256: r.ChecksumSHA256! });
  }
  await c.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'mp', UploadId: up.UploadId, MultipartUpload: { Parts: done }, ...ssec(customerKey) }));
  // Tamper candidates: single-part SSE-S3 objects with SHA256 checksums.
  for (const k of ['empty', 'types', 'notypes', 'swap', 'donor', 'plain']) {
    const body = testBytes(2_000, 510 + k.length);
    await c.send(new PutObjectCommand({ Bucket: b, Key: `t/${k}`, Body: body, ChecksumSHA256: b64('SHA256', body), ...(k === 'plain' ? {} : { ServerSideEncryption: 'AES256' as const }) }));
  }

  // SSE-C completions: an upload without a checksum algorithm (its parts still have the SDK's
  // CRC32s, sealed) completes without the key; a list naming part checksums is InvalidPart there,
  // as on S3 for any upload without an algorithm; one with an algorithm needs the key (400
  // without it, as S3 requires); a wrong key is refused (403).
  const noAlg = await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'c/noalg', ...ssec(customerKey) }));
  const crc = await c.send(new UploadPartCommand({ Bucket: b, Key: 'c/noalg', UploadId: noAlg.UploadId, PartNumber: 1, Body: p2, ChecksumAlgorithm: 'CRC32', ...ssec(customerKey) }));
  t.equal(crc.ChecksumCRC32, b64('CRC32', p2), 'a part of an SSE-C upload without an algorithm, with a CRC32');
  t.equal(await s3Code(c.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'c/noalg', UploadId: noAlg.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: crc.ETag!, ChecksumCRC32: crc.ChecksumCRC32! }] } }))), 'InvalidPart/400', 'its completion listing the part checksum: InvalidPart, as on S3');
  const fin = await c.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'c/noalg', UploadId: noAlg.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: crc.ETag! }] } }));
  t.ok(fin.ETag, 'its completion without the key, listing no checksum, succeeds');
  const withAlg = await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'c/alg', ChecksumAlgorithm: 'SHA256', ...ssec(customerKey) }));
  const part = await c.send(new UploadPartCommand({ Bucket: b, Key: 'c/alg', UploadId: withAlg.UploadId, PartNumber: 1, Body: p2, ChecksumSHA256: b64('SHA256', p2), ...ssec(customerKey) }));
  const parts = { Parts: [{ PartNumber: 1, ETag: part.ETag!, ChecksumSHA256: part.ChecksumSHA256! }] };
  t.equal(await s3Code(c.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'c/alg', UploadId: withAlg.UploadId, MultipartUpload: parts }))), 'InvalidRequest/400', 'with an algorithm, a completion without the key: InvalidRequest');
  t.equal(await s3Code(c.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'c/alg', UploadId: withAlg.UploadId, MultipartUpload: parts, ...ssec(otherKey) }))), 'InvalidRequest/400', 'with another key: 400 InvalidRequest, as S3 answers an upload\'s requests');
  t.equal(await s3Code(c.send(new HeadObjectCommand({ Bucket: b, Key: 'c/alg', ...ssec(customerKey) }))), 'NotFound/404', 'and neither committed an object');
  const listed = await c.send(new ListPartsCommand({ Bucket: b, Key: 'c/alg', UploadId: withAlg.UploadId, ...ssec(customerKey) }));
  t.equal(listed.Parts?.[0]?.ChecksumSHA256, b64('SHA256', p2), 'the upload is still there, its part intact');
  const ok = await c.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'c/alg', UploadId: withAlg.UploadId, MultipartUpload: parts, ...ssec(customerKey) }));
  t.equal(ok.ChecksumSHA256, composite('SHA256', [p2]), 'with the key it completes');

  t.equal(await d.stop(), 0);
  const m = new MetaStore(join(d.dataDir, '.s3d'));
  try {
    const rec = m.getObject(b, 'mp')!;
    const sse = rec.sse!;
    const objectKey = unsealObjectKey(sse.sealedKey, customerKey, 'SSE-C', b, 'mp', sse.iv);
    const open = (key: Buffer, sealed: Uint8Array): unknown => JSON.parse(unsealMetadata(key, 'object-checksum', sealed).toString('utf8'));
    t.same(open(objectKey, rec.sealedChecksums!.sealed), { SHA256: composite('SHA256', [p1, p2]) }, 'the object\u2019s checksum opens under HMAC(object key, "object-checksum")');
    for (const [i, body] of [p1, p2].entries()) {
      const p = rec.parts![i]!;
      const partKey = derivePartKey(objectKey, p.n);
      t.same(open(partKey, p.sealedChecksums!.sealed), { SHA256: b64('SHA256', body) }, `part ${p.n}\u2019s opens under its part key`);
      t.throws(() => open(objectKey, p.sealedChecksums!.sealed), `part ${p.n}\u2019s does not open under the object key`);
    }
    t.same(rec.sealedChecksums!.types, { SHA256: 'COMPOSITE' }, 'the algorithm and type in clear');
    // Tampering: an empty sealed value, an algorithm added in clear, another object's sealed value.
    const donor = m.getObject(b, 't/donor')!.sealedChecksums!;
    const edit = (k: string, f: (s: NonNullable<ObjectRecord['sealedChecksums']>) => NonNullable<ObjectRecord['sealedChecksums']>): Promise<unknown> =>
      m.updateObject(b, `t/${k}`, (r) => ({ ...r, sealedChecksums: f(r.sealedChecksums!) }));
    await edit('empty', (s) => ({ ...s, sealed: new Uint8Array(0) }));
    await edit('types', (s) => ({ ...s, types: { ...s.types, CRC32: 'FULL_OBJECT' } }));
    await edit('swap', () => donor);
    await edit('notypes', (s) => ({ sealed: s.sealed }) as unknown as NonNullable<ObjectRecord['sealedChecksums']>);
    // Sealed checksums on an unencrypted object's record: s3d never writes that.
    await m.updateObject(b, 't/plain', (r) => ({ ...r, checksums: undefined, sealedChecksums: donor }));
  } finally {
    await m.close();
  }
  d = await startDaemon({ dataDir: d.dataDir, tls: true });
  c = d.s3();
  for (const k of ['empty', 'types', 'notypes', 'swap', 'plain']) {
    t.equal(await s3Code(c.send(new HeadObjectCommand({ Bucket: b, Key: `t/${k}` }))), 'ok', `tampered ${k}: HEAD without checksum mode answers`);
    const code = await s3Code(c.send(new GetObjectAttributesCommand({ Bucket: b, Key: `t/${k}`, ObjectAttributes: ['Checksum'] })));
    t.match(code, /^XMinioObjectTampered\//, `tampered ${k}: its checksums are refused as tampered (${code})`);
  }
  // A copy that keeps no checksum of its source never opens them: a part copied from it works.
  const cp = await c.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'c/partcopy', ServerSideEncryption: 'AES256' }));
  t.equal(await s3Code(c.send(new UploadPartCopyCommand({ Bucket: b, Key: 'c/partcopy', UploadId: cp.UploadId, PartNumber: 1, CopySource: `${b}/t/swap` }))), 'ok', 'UploadPartCopy from a source with tampered checksums still copies its data');
  t.equal(d.jsonLogs().filter((l) => l.msg === 'internal error').length, 0, 'no internal error logged');
});
