// Multipart uploads with flexible checksums, as S3 has them, against the built daemon with the AWS
// SDK: the upload's algorithm and type (COMPOSITE: the hash of the binary part checksums and
// "-N"; FULL_OBJECT: the whole object's CRC, combined from the parts') on Create, ListParts,
// ListMultipartUploads, Complete, HEAD, GET (whole and per part, by partNumber or by a Range that
// is exactly a part: a COMPOSITE object's part shows its own checksum, typed COMPOSITE; a
// FULL_OBJECT object's part none, unless it is the whole object) and GetObjectAttributes; part checksums s3d computes when the client sends none
// (UploadPart of a FULL_OBJECT upload, UploadPartCopy); what is refused (types an algorithm does
// not have, a part of another algorithm or, in a COMPOSITE upload, without a checksum, a part
// checksum in Complete that is not the part's, a wrong object checksum on Complete, which leaves
// the upload whole); and all of it after a restart. Expected values are computed here from the
// bytes.

import t from 'tap';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import {
  CopyObjectCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type ChecksumType,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startDaemon, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { md5Base64 } from '../helpers/hash.js';
import { bodyBytes, clientFor, createBucket, expectS3Error, expectSdkError, rawBodyClient, sdkFailure, withHeaders, type S3Failure } from '../helpers/s3.js';

const MiB = 1024 * 1024;
const d = await startDaemonFor(t);
const s3 = d.s3();
// Sends no checksum unless the operation requires one (or is given an algorithm): s3d computes
// what S3 would (FULL_OBJECT part checksums, copies), and refuses a COMPOSITE part sent without.
const bare = clientFor(d, { requestChecksumCalculation: 'WHEN_REQUIRED' });
const BUCKET = await createBucket(s3, 'mpc');

const P1 = testBytes(5 * MiB, 31);
const P2 = testBytes(5 * MiB + 17, 32);
const P3 = testBytes(70_001, 33);

type Alg = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

/** The binary digest of `data`, as S3 sends it (base64 of the big-endian value). */
async function digest(alg: Alg, data: Buffer): Promise<Buffer> {
  switch (alg) {
    case 'CRC32': {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(crc32(data));
      return out;
    }
    case 'CRC32C':
    case 'CRC64NVME': {
      const h = alg === 'CRC32C' ? new Crc32c() : new Crc64Nvme();
      h.update(data);
      return Buffer.from(await h.digest());
    }
    case 'SHA1':
    case 'SHA256':
      return createHash(alg.toLowerCase()).update(data).digest();
  }
}

const b64 = async (alg: Alg, data: Buffer): Promise<string> => (await digest(alg, data)).toString('base64');

/** S3's COMPOSITE checksum: the algorithm over the concatenated binary part checksums, then -N. */
async function composite(alg: Alg, parts: Buffer[]): Promise<string> {
  const raw = Buffer.concat(await Promise.all(parts.map((p) => digest(alg, p))));
  return `${await b64(alg, raw)}-${parts.length}`;
}

/** The SDK's field for an algorithm's checksum (ChecksumCRC32, …). */
function field(alg: Alg): `Checksum${Alg}` {
  return `Checksum${alg}`;
}

function sum(out: object, alg: Alg): string | undefined {
  return (out as Record<string, string | undefined>)[field(alg)];
}

async function create(key: string, alg: ChecksumAlgorithm, type?: ChecksumType, client: S3Client = s3): Promise<{ id: string; type: string | undefined; alg: string | undefined }> {
  const r = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: alg, ...(type ? { ChecksumType: type } : {}) }));
  return { id: r.UploadId!, type: r.ChecksumType, alg: r.ChecksumAlgorithm };
}

async function upload(key: string, id: string, n: number, body: Buffer, alg?: Alg, client: S3Client = s3): Promise<CompletedPart> {
  const r = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: n, Body: body, ...(alg ? { ChecksumAlgorithm: alg } : {}) }));
  return { PartNumber: n, ETag: r.ETag, ...Object.fromEntries(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'].flatMap((a) => (sum(r, a as Alg) ? [[field(a as Alg), sum(r, a as Alg)]] : []))) };
}

function complete(key: string, id: string, parts: CompletedPart[], extra: Record<string, string | number> = {}): CompleteMultipartUploadCommand {
  return new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id, MultipartUpload: { Parts: parts }, ...extra });
}

async function partCount(key: string, id: string): Promise<number> {
  return (await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id }))).Parts?.length ?? 0;
}

t.test('COMPOSITE CRC32: part checksums, the object checksum on Complete, HEAD, GET and GetObjectAttributes', async (t) => {
  const key = 'composite/crc32';
  const parts = [P1, P2, P3];
  const up = await create(key, 'CRC32');
  t.same([up.alg, up.type], ['CRC32', 'COMPOSITE'], 'Create answers the algorithm and its default type, COMPOSITE');
  const done: CompletedPart[] = [];
  for (const [i, p] of parts.entries()) done.push(await upload(key, up.id, i + 1, p, 'CRC32'));
  t.same(done.map((p) => p.ChecksumCRC32), await Promise.all(parts.map((p) => b64('CRC32', p))), 'each part has its CRC32');

  const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: up.id }));
  t.same([listed.ChecksumAlgorithm, listed.ChecksumType], ['CRC32', 'COMPOSITE'], 'ListParts: the upload\u2019s algorithm and type');
  t.same(listed.Parts?.map((p) => p.ChecksumCRC32), done.map((p) => p.ChecksumCRC32), 'ListParts: each part\u2019s checksum');
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
  t.same(uploads.Uploads?.map((u) => [u.ChecksumAlgorithm, u.ChecksumType]), [['CRC32', 'COMPOSITE']], 'ListMultipartUploads too');

  const expected = await composite('CRC32', parts);
  const wrongPart = done.map((p, i) => (i === 1 ? { ...p, ChecksumCRC32: 'AAAAAA==' } : p));
  await expectS3Error(t, s3.send(complete(key, up.id, wrongPart)), 'InvalidPart', 400, 'a part checksum in Complete that is not the part\u2019s');
  // S3 forms a COMPOSITE checksum of the part checksums the client lists, and requires each.
  const missing = await expectSdkError(t, s3.send(complete(key, up.id, done.map((p, i) => (i === 2 ? { PartNumber: p.PartNumber, ETag: p.ETag } : p)))), 'InvalidRequest', 400, 'a part listed without its checksum');
  t.equal(missing?.message, 'The upload was created using a crc32 checksum. The complete request must include the checksum for each part. It was missing for part 3 in the request.');
  const malformed: Array<[string, CompletedPart[]]> = [
    ['a part checksum that is no base64 CRC32', done.map((p, i) => (i === 0 ? { ...p, ChecksumCRC32: 'invalid_checksum' } : p))],
    ['two checksums on one part', done.map((p, i) => (i === 0 ? { ...p, ChecksumSHA1: 'L9ThxnotKPzthJ7hu3bnORuT6xI=' } : p))],
  ];
  for (const [what, list] of malformed) await expectS3Error(t, s3.send(complete(key, up.id, list)), 'InvalidArgument', 400, what);
  await expectS3Error(t, s3.send(complete(key, up.id, done.map((p, i) => (i === 0 ? { ...p, PartNumber: -4 } : p)))), 'InvalidArgument', 400, 'PartNumber -4 (S3: "PartNumber must be >= 1")');
  await expectS3Error(t, s3.send(complete(key, up.id, done, { MpuObjectSize: -1 })), 'InvalidRequest', 400, 'x-amz-mp-object-size -1');
  const wrongSum = { ChecksumCRC32: `AAAAAA==-3`, ChecksumType: 'COMPOSITE' };
  await expectS3Error(t, s3.send(complete(key, up.id, done, wrongSum)), 'BadDigest', 400, 'a wrong expected object checksum');
  t.equal(await partCount(key, up.id), 3, 'the refused Completes left the upload and its parts');

  const fin = await s3.send(complete(key, up.id, done, { ChecksumCRC32: expected, ChecksumType: 'COMPOSITE' }));
  t.same([fin.ChecksumCRC32, fin.ChecksumType], [expected, 'COMPOSITE'], `Complete: the composite checksum ${expected} (the same value expected on the request)`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
  t.same([head.ChecksumCRC32, head.ChecksumType], [expected, 'COMPOSITE'], 'HEAD');
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
  t.equal(got.ChecksumCRC32, expected, 'GET');
  t.ok((await bodyBytes(got)).equals(Buffer.concat(parts)), 'GET: the bytes');
  const part2 = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: 2, ChecksumMode: 'ENABLED' }));
  t.same([part2.ChecksumCRC32, part2.ChecksumType], [done[1]!.ChecksumCRC32, 'COMPOSITE'], 'GET partNumber=2: that part\u2019s checksum (the SDK validates the body against it), typed COMPOSITE as S3 types it');
  t.ok((await bodyBytes(part2)).equals(P2), 'GET partNumber=2: the bytes');
  const headPart = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: 3, ChecksumMode: 'ENABLED' }));
  t.same([headPart.ChecksumCRC32, headPart.ChecksumType], [done[2]!.ChecksumCRC32, 'COMPOSITE'], 'HEAD partNumber=3 likewise');

  const a = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: key, ObjectAttributes: ['Checksum', 'ObjectParts'] }));
  t.same(a.Checksum, { ChecksumCRC32: expected.replace(/-3$/, ''), ChecksumType: 'COMPOSITE' }, 'GetObjectAttributes: the checksum of checksums, without -N, and its type');
  t.same(a.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.ChecksumCRC32]), done.map((p) => [p.PartNumber, p.ChecksumCRC32]), 'GetObjectAttributes: the part checksums');

  // A copy is a single-part object: it gets the FULL_OBJECT checksum of the source's algorithm
  // (it used to get none), as on S3.
  const copy = await bare.send(new CopyObjectCommand({ Bucket: BUCKET, Key: `${key}-copy`, CopySource: `${BUCKET}/${key}` }));
  const whole = await b64('CRC32', Buffer.concat(parts));
  t.equal(copy.CopyObjectResult?.ChecksumCRC32, whole, 'CopyObject of a COMPOSITE CRC32 object: the CRC32 of the whole copy');
  const copyHead = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${key}-copy`, ChecksumMode: 'ENABLED' }));
  t.same([copyHead.ChecksumCRC32, copyHead.ChecksumType], [whole, 'FULL_OBJECT'], 'HEAD of the copy: FULL_OBJECT');
});

t.test('COMPOSITE SHA256: a part sent without a checksum, or of another algorithm, is refused; s3d checksums UploadPartCopy parts', async (t) => {
  const key = 'composite/sha256';
  const up = await create(key, 'SHA256');
  t.equal(up.type, 'COMPOSITE');
  const mismatch = await sdkFailure(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: up.id, PartNumber: 1, Body: P3, ChecksumAlgorithm: 'CRC32' })));
  t.same([mismatch.name, mismatch.status], ['InvalidRequest', 400], 'a CRC32 part in a SHA256 upload');
  t.match(mismatch.message, 'Checksum Type mismatch occurred, expected checksum Type: sha256, actual checksum Type: crc32', 'S3\u2019s message');
  t.equal(await partCount(key, up.id), 0, 'nothing stored');
  // S3 forms a COMPOSITE checksum from the part checksums the client sent, and refuses a part
  // without one (OpenStack Swift's test_mpu_upload_part_requires_checksum_composite, run against
  // AWS); s3d computed the SHA-256 and stored the part.
  const missing = await sdkFailure(bare.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: up.id, PartNumber: 1, Body: P3 })));
  t.same([missing.name, missing.status], ['InvalidRequest', 400], 'a part sent without a checksum');
  t.match(missing.message, 'Checksum Type mismatch occurred, expected checksum Type: sha256, actual checksum Type: null', 'S3\u2019s message');
  t.equal(await partCount(key, up.id), 0, 'nothing stored');

  const p1 = await upload(key, up.id, 1, P1, 'SHA256', bare);
  t.equal(p1.ChecksumSHA256, await b64('SHA256', P1), 'UploadPart with its SHA-256');
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy-source', Body: P2 }));
  const copied = await s3.send(
    new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: up.id, PartNumber: 2, CopySource: `${BUCKET}/copy-source`, CopySourceRange: 'bytes=100-200099' }),
  );
  const range = P2.subarray(100, 200_100);
  t.equal(copied.CopyPartResult?.ChecksumSHA256, await b64('SHA256', range), 'UploadPartCopy: the SHA-256 of the copied range');
  const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: up.id }));
  t.same(listed.Parts?.map((p) => p.ChecksumSHA256), [p1.ChecksumSHA256, copied.CopyPartResult?.ChecksumSHA256], 'ListParts: both');

  const parts = [p1, { PartNumber: 2, ETag: copied.CopyPartResult?.ETag, ChecksumSHA256: copied.CopyPartResult?.ChecksumSHA256 }];
  const fin = await bare.send(complete(key, up.id, parts));
  const expected = await composite('SHA256', [P1, range]);
  t.same([fin.ChecksumSHA256, fin.ChecksumType], [expected, 'COMPOSITE'], `Complete: ${expected}`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
  t.equal(head.ChecksumSHA256, expected, 'HEAD');
});

for (const [alg, type] of [
  ['CRC32C', 'FULL_OBJECT'],
  ['CRC64NVME', undefined],
] as const) {
  t.test(`FULL_OBJECT ${alg}: the whole object's CRC from the part CRCs; the value expected on Complete is the object's`, async (t) => {
    const key = `full/${alg}`;
    const up = await create(key, alg, type);
    t.equal(up.type, 'FULL_OBJECT', type ? 'the type asked for' : 'CRC64NVME\u2019s only type, by default');
    const done = [await upload(key, up.id, 1, P1, alg), await upload(key, up.id, 2, P3, alg)];
    t.same(done.map((p) => sum(p, alg)), [await b64(alg, P1), await b64(alg, P3)], 'the part CRCs');
    const whole = Buffer.concat([P1, P3]);
    const expected = await b64(alg, whole);

    const typed = { ChecksumType: 'FULL_OBJECT' };
    await expectS3Error(t, s3.send(complete(key, up.id, done, { ...typed, [field(alg)]: await b64(alg, P1) })), 'BadDigest', 400, 'an expected object CRC that is not the object\u2019s');
    // Content-MD5 on Complete still describes the XML body.
    await expectS3Error(t, s3.send(withHeaders(complete(key, up.id, done), { 'content-md5': md5Base64('another body') })), 'BadDigest', 400, 'a Content-MD5 that is not the body\u2019s');
    await expectS3Error(t, s3.send(complete(key, up.id, done, { ChecksumType: 'COMPOSITE' })), 'InvalidRequest', 400, 'Complete with the other checksum type');
    t.equal(await partCount(key, up.id), 2, 'the refused Completes left the upload and its parts');

    const fin = await s3.send(complete(key, up.id, done, { ...typed, [field(alg)]: expected }));
    t.same([sum(fin, alg), fin.ChecksumType], [expected, 'FULL_OBJECT'], `Complete with the object's CRC (not the XML body's): ${expected}`);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
    t.same([sum(got, alg), got.ChecksumType], [expected, 'FULL_OBJECT'], 'GET: the CRC of the whole body (the SDK validated it)');
    t.ok((await bodyBytes(got)).equals(whole), 'GET: the bytes');
    const a = await s3.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: key, ObjectAttributes: ['Checksum', 'ObjectParts'] }));
    t.same(a.Checksum, { [field(alg)]: expected, ChecksumType: 'FULL_OBJECT' }, 'GetObjectAttributes');
    // The part count alone, as S3 answers it for a FULL_OBJECT object (LocalStack's AWS-checked
    // tests): its parts and their CRCs are not listed, as GET partNumber shows none of them.
    t.same(a.ObjectParts, { TotalPartsCount: 2 }, 'GetObjectAttributes ObjectParts: the part count alone');
    // A part of a FULL_OBJECT object: S3 shows no checksum (its part CRCs are not the object's,
    // and S3 keeps none to show); s3d sent the part's CRC, untyped.
    for (const n of [1, 2]) {
      const part = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: n, ChecksumMode: 'ENABLED' }));
      t.same([sum(part, alg), part.ChecksumType], [undefined, undefined], `GET partNumber=${n}: no checksum`);
      t.ok((await bodyBytes(part)).equals(n === 1 ? P1 : P3), `GET partNumber=${n}: the bytes`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: n, ChecksumMode: 'ENABLED' }));
      t.same([sum(head, alg), head.ChecksumType], [undefined, undefined], `HEAD partNumber=${n}: no checksum`);
    }
    const ranged = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: `bytes=0-${P1.length - 1}`, ChecksumMode: 'ENABLED' }));
    t.same([sum(ranged, alg), ranged.ChecksumType], [undefined, undefined], 'GET of a Range that is exactly part 1: no checksum either');
    t.ok((await bodyBytes(ranged)).equals(P1), 'GET of that Range: the bytes');
  });
}

// S3's user guide: "you can get an individual part's checksum by using the GetObject or HeadObject
// operations and specifying a part number or byte range that aligns with a single part". The aws
// CLI and boto3 download an object they uploaded in ranges of the part size they uploaded it with
// (8 MiB by default, the last range open-ended) and validate each against the part checksum S3
// sends; the AWS SDKs' transfer managers do the same. s3d sent no checksum for any Range short of
// the whole object, so none of those ranges was validated.
t.test('a Range that is exactly one part of a COMPOSITE object shows that part\u2019s checksum, as partNumber does; other ranges none', async (t) => {
  const key = 'composite/ranges';
  const parts = [P1, P2, P3];
  const up = await create(key, 'CRC32C');
  const done: CompletedPart[] = [];
  for (const [i, p] of parts.entries()) done.push(await upload(key, up.id, i + 1, p, 'CRC32C'));
  await s3.send(complete(key, up.id, done));
  const whole = Buffer.concat(parts);
  const [s1, s2, s3start] = [0, P1.length, P1.length + P2.length];
  const aligned: Array<[string, number]> = [
    [`bytes=${s1}-${s2 - 1}`, 0],
    [`bytes=${s2}-${s3start - 1}`, 1],
    // s3transfer's last range: open-ended.
    [`bytes=${s3start}-`, 2],
    [`bytes=-${P3.length}`, 2],
  ];
  for (const [range, i] of aligned) {
    // The default client validates the body against the checksum it is sent.
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range, ChecksumMode: 'ENABLED' }));
    t.same([got.ChecksumCRC32C, got.ChecksumType], [done[i]!.ChecksumCRC32C, 'COMPOSITE'], `GET ${range}: part ${i + 1}\u2019s checksum, typed COMPOSITE`);
    t.ok((await bodyBytes(got)).equals(parts[i]!), `GET ${range}: the part\u2019s bytes`);
  }
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, Range: `bytes=${s2}-${s3start - 1}`, ChecksumMode: 'ENABLED' }));
  t.same([head.ChecksumCRC32C, head.ChecksumType], [done[1]!.ChecksumCRC32C, 'COMPOSITE'], 'HEAD with the Range of part 2 likewise');
  for (const range of [`bytes=0-${s2 - 2}`, `bytes=1-${s2 - 1}`, `bytes=0-${s3start - 1}`, `bytes=${s2}-${s3start}`, `bytes=-${P3.length - 1}`]) {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range, ChecksumMode: 'ENABLED' }));
    t.same([got.ChecksumCRC32C, got.ChecksumType], [undefined, undefined], `GET ${range}: no part\u2019s bytes, no checksum`);
    const [, a, b] = /^bytes=(\d*)-(\d*)$/.exec(range)!;
    t.ok((await bodyBytes(got)).equals(a === '' ? whole.subarray(whole.length - Number(b)) : whole.subarray(Number(a), Number(b) + 1)), `GET ${range}: the bytes`);
  }
});

t.test('refused at Create and Complete, as S3 refuses them', async (t) => {
  for (const [alg, type] of [
    ['SHA1', 'FULL_OBJECT'],
    ['SHA256', 'FULL_OBJECT'],
    ['CRC64NVME', 'COMPOSITE'],
  ] as const) {
    await expectS3Error(t, create('refused', alg, type), 'InvalidRequest', 400, `${type} with ${alg}`);
  }
  await expectS3Error(t, create('refused', 'CRC16' as ChecksumAlgorithm), 'InvalidRequest', 400, 'an algorithm S3 does not have');
  // S3's newer algorithms are a missing feature here, as their value headers on PutObject are.
  for (const alg of ['MD5', 'sha512', 'XXHASH64']) {
    await expectS3Error(t, create('refused', alg as ChecksumAlgorithm), 'NotImplemented', 501, `${alg}, which S3 computes and s3d does not`);
  }
  const typeOnly = withHeaders(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'refused' }), { 'x-amz-checksum-type': 'COMPOSITE' });
  await expectS3Error(t, s3.send(typeOnly), 'InvalidRequest', 400, 'x-amz-checksum-type without an algorithm');
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'refused' }));
  t.equal(listed.Uploads, undefined, 'no upload was created');

  // CRC32 with an explicit FULL_OBJECT, and a single part: the object's CRC32 is the part's.
  const key = 'full/crc32-one-part';
  const up = await create(key, 'CRC32', 'FULL_OBJECT');
  const part = await upload(key, up.id, 1, P3, 'CRC32');
  await expectS3Error(t, s3.send(complete(key, up.id, [part], { ChecksumSHA256: await b64('SHA256', P3) })), 'InvalidRequest', 400, 'an object checksum of another algorithm');
  await expectS3Error(t, s3.send(complete(key, up.id, [{ ...part, ChecksumCRC32: undefined, ChecksumSHA1: await b64('SHA1', P3) }])), 'InvalidPart', 400, 'a part checksum of another algorithm');
  // S3's newer algorithms (the SDKs' CompletedPart has them) were ignored: the part completed as if
  // listed without them. No upload here has one, so they are the part checksum of another algorithm.
  const sha512 = createHash('sha512').update(P3).digest('base64');
  await expectS3Error(t, s3.send(complete(key, up.id, [{ ...part, ChecksumCRC32: undefined, ChecksumSHA512: sha512 }])), 'InvalidPart', 400, 'a part ChecksumSHA512');
  await expectS3Error(t, s3.send(complete(key, up.id, [{ ...part, ChecksumCRC32: undefined, ChecksumXXHASH64: 'AAAAAAAAAAA=' }])), 'InvalidPart', 400, 'a part ChecksumXXHASH64');
  await expectS3Error(t, s3.send(complete(key, up.id, [{ ...part, ChecksumSHA512: sha512 }])), 'InvalidArgument', 400, 'a part ChecksumSHA512 beside its CRC32: multiple checksums');
  // A Part's checksum elements as written by hand: each named, once, one per Part.
  const crc = part.ChecksumCRC32!;
  const raw = async (elements: string): Promise<S3Failure> => {
    const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.ETag}</ETag>${elements}</Part></CompleteMultipartUpload>`;
    return sdkFailure(rawBodyClient(d, body).send(complete(key, up.id, [part])));
  };
  const cases: Array<[string, string, string, string]> = [
    [`<ChecksumCRC32>${crc}</ChecksumCRC32><ChecksumCRC32>${crc}</ChecksumCRC32>`, 'MalformedXML', "A Part's ChecksumCRC32 must be a single value.", 'ChecksumCRC32 twice'],
    [`<ChecksumSHA512>${sha512}</ChecksumSHA512><ChecksumSHA512>${sha512}</ChecksumSHA512>`, 'MalformedXML', "A Part's ChecksumSHA512 must be a single value.", 'ChecksumSHA512 twice'],
    [`<ChecksumXXHASH64>AAAAAAAAAAA=</ChecksumXXHASH64><ChecksumMD5>AAAAAAAAAAAAAAAAAAAAAA==</ChecksumMD5>`, 'InvalidArgument', 'Invalid Base64 or multiple checksums present in request', 'two of S3\u2019s newer checksums'],
    [`<ChecksumCRC32>${crc}</ChecksumCRC32><ChecksumCRC32C>${crc}</ChecksumCRC32C>`, 'InvalidArgument', 'Invalid Base64 or multiple checksums present in request', 'a CRC32 and a CRC32C'],
    ['<ChecksumCRC32>not base64!</ChecksumCRC32>', 'InvalidArgument', 'Invalid Base64 or multiple checksums present in request', 'a CRC32 that is not base64'],
    [`<ChecksumCRC32C>${crc}</ChecksumCRC32C>`, 'InvalidPart', '', 'a CRC32C where the part has a CRC32'],
  ];
  for (const [elements, name, message, what] of cases) {
    const got = await raw(elements);
    t.same([got.name, got.status], [name, 400], `${what}: ${name} 400`);
    if (message !== '') t.equal(got.message, message, `${what}: S3's words`);
  }
  const fin = await s3.send(complete(key, up.id, [part], { ChecksumCRC32: await b64('CRC32', P3) }));
  t.same([fin.ChecksumCRC32, fin.ChecksumType], [await b64('CRC32', P3), 'FULL_OBJECT'], 'the right object CRC32 completes');
  // The only part is the whole object: partNumber=1 shows the object's CRC32 and its type, as S3 does.
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: 1, ChecksumMode: 'ENABLED' }));
  t.same([got.ChecksumCRC32, got.ChecksumType], [await b64('CRC32', P3), 'FULL_OBJECT'], 'GET partNumber=1 of a one-part FULL_OBJECT object: the object\u2019s CRC32, FULL_OBJECT');
  t.ok((await bodyBytes(got)).equals(P3), 'GET partNumber=1: the bytes');
});

t.test('an upload created without a checksum algorithm: a completion listing part checksums is InvalidPart, as on S3', async (t) => {
  // S3 answers InvalidPart even when the listed value is the part's own (aws-sdk-go-v2#3005,
  // aws-sdk-java-v2#6518, CloudServer's AWS-checked tests); s3d took a matching one.
  const key = 'noalg/listed';
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: P3, ChecksumAlgorithm: 'CRC32' }));
  t.ok(part.ChecksumCRC32, 'the part was sent with the SDK\'s CRC32');
  for (const listed of [{ ChecksumCRC32: part.ChecksumCRC32! }, { ChecksumSHA256: createHash('sha256').update(P3).digest('base64') }, { ChecksumMD5: createHash('md5').update(P3).digest('base64') }]) {
    const err = await sdkFailure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag!, ...listed }] } })));
    t.same([err.name, err.status], ['InvalidPart', 400], `listing ${Object.keys(listed)[0]}: InvalidPart`);
  }
  await expectSdkError(t, s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })), 'NotFound', 404, 'no object was made');
  // An object checksum header is ignored there, right or wrong (S3 completes; Swift's AWS-checked
  // tests): s3d answered 400 "Checksum Type mismatch … expected checksum Type: null".
  const fin = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, ChecksumCRC32: 'AAAAAA==', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }));
  t.ok(fin.ETag, 'the same completion without the part checksums succeeds, a wrong object CRC32 header ignored');
  t.equal(fin.ChecksumCRC32, undefined, '… and no object checksum is claimed');
  t.equal(Buffer.compare(await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))), P3), 0, 'the bytes');
  // Its part keeps the CRC32 it was sent with, but the object has no checksum: a part of it shows
  // none, as a part of a FULL_OBJECT object shows none (s3d showed the part's CRC32, untyped).
  const part1 = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: 1, ChecksumMode: 'ENABLED' }));
  t.same([part1.ChecksumCRC32, part1.ChecksumType], [undefined, undefined], 'GET partNumber=1: no checksum');
  t.equal(Buffer.compare(await bodyBytes(part1), P3), 0, 'GET partNumber=1: the bytes');
  const headPart = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: 1, ChecksumMode: 'ENABLED' }));
  t.same([headPart.ChecksumCRC32, headPart.ChecksumType], [undefined, undefined], 'HEAD partNumber=1: no checksum');
});

t.test('a restart keeps the upload\u2019s algorithm, type and part checksums, and the objects\u2019 checksums', async (t) => {
  const key = 'restart/crc32';
  const up = await create(key, 'CRC32', 'FULL_OBJECT');
  const p1 = await upload(key, up.id, 1, P1, 'CRC32');
  await d.stop();
  const d2 = await startDaemon({ dataDir: d.dataDir });
  t.teardown(() => d2.stop());
  const s3b = d2.s3();
  const listed = await s3b.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: up.id }));
  t.same([listed.ChecksumAlgorithm, listed.ChecksumType, listed.Parts?.[0]?.ChecksumCRC32], ['CRC32', 'FULL_OBJECT', p1.ChecksumCRC32], 'ListParts after the restart');
  const p2 = await upload(key, up.id, 2, P3, undefined, clientFor(d2, { requestChecksumCalculation: 'WHEN_REQUIRED' }));
  t.equal(p2.ChecksumCRC32, await b64('CRC32', P3), 'a part sent without a checksum gets the upload\u2019s CRC32');
  const fin = await s3b.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.id, MultipartUpload: { Parts: [p1, p2] } }));
  t.same([fin.ChecksumCRC32, fin.ChecksumType], [await b64('CRC32', Buffer.concat([P1, P3])), 'FULL_OBJECT'], 'Complete: the CRC32 of the whole object');
  const head = await s3b.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'composite/crc32', ChecksumMode: 'ENABLED' }));
  t.same([head.ChecksumCRC32, head.ChecksumType], [await composite('CRC32', [P1, P2, P3]), 'COMPOSITE'], 'an object completed before the restart keeps its composite checksum');
});
