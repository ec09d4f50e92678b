// A completion's parts checked a slice at a time (completedParts, ops/multipart-complete.ts): 10,000 parts
// of an encrypted upload, each part's checksum sealed under its part key, opened and compared
// with the listed ones, and the object's multipart ETag hashed with them. Opened in one stretch
// they held the event loop ~70-160 ms; the loop turns between slices now, and the parts, their
// checksums, the ETag and the InvalidPart of a wrong one are as before. So are the parts' hidden S3 defaults combined into a completion's answer.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { completedParts, multipartETag } from '../../../../daemon/ops/multipart-complete.js';
import { defaultObjectChecksum, hasDefaultChecksums, listedDefault, objectChecksum } from '../../../../daemon/ops/multipart-checksums.js';
import type { RequestedPart } from '../../../../daemon/ops/multipart-complete-body.js';
import { RECORD_VERSION, type PartRecord } from '../../../../daemon/meta/records.js';
import { partChecksumFields } from '../../../../daemon/sse/checksums.js';
import { isS3Error } from '../../../../daemon/errors.js';
import { turnsDuring } from '../../../helpers/wait.js';

const PARTS = 10_000;
const objectKey = randomBytes(32);
const crc = (n: number): string => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).toString('base64');
const listed: PartRecord[] = Array.from({ length: PARTS }, (_, i) => ({
  v: RECORD_VERSION,
  n: i + 1,
  size: 5 * 1024 * 1024,
  stored: 5 * 1024 * 1024,
  etag: (i + 1).toString(16).padStart(32, '0'),
  data: { inline: new Uint8Array(0) },
  mtime: 0,
  ...partChecksumFields({ CRC32: crc(i + 1) }, objectKey, i + 1),
}));
const requested: RequestedPart[] = listed.map((p) => ({ n: p.n, etag: p.etag, checksums: { CRC32: crc(p.n) } }));
const uc = { algorithm: 'CRC32', type: 'COMPOSITE' } as const;

t.test('10,000 sealed part checksums: opened and compared while the event loop turns', async (t) => {
  const { result, turns } = await turnsDuring(() => completedParts(requested, listed, 'up', uc, objectKey));
  t.ok(turns >= 10, `the event loop turned ${turns} times meanwhile`);
  t.equal(result.parts.length, PARTS, 'every part');
  t.same([result.partSums[0], result.partSums[PARTS - 1]], [{ CRC32: crc(1) }, { CRC32: crc(PARTS) }], 'each one\u2019s checksums, opened');
  t.ok(result.parts.every((p, i) => p === listed[i]), 'the parts as stored (already sealed)');
  // Hashed a slice at a time with the parts (10,000 in one go held the event loop ~18-26 ms).
  t.equal(result.etag, multipartETag(listed.map((p) => p.etag)), 'the multipart ETag of their ETags');
  t.match(result.etag, /^[0-9a-f]{32}-10000$/, 'MD5 of them, then the count');
});

t.test('a wrong checksum late in the list: InvalidPart naming that part', async (t) => {
  const wrong = requested.map((r) => (r.n === 9_001 ? { ...r, checksums: { CRC32: crc(1) } } : r));
  const err = await completedParts(wrong, listed, 'up', uc, objectKey).catch((e: unknown) => e);
  t.same(isS3Error(err) ? [err.code, err.fields.PartNumber, err.fields.UploadId] : err, ['InvalidPart', '9001', 'up'], 'InvalidPart, part 9001');
});

// S3's hidden default CRC64NVME of the parts of an upload without an algorithm (PartRecord.defaultChecksum).
const crc64 = (n: number): string => Buffer.from([0, 0, 0, 0, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).toString('base64');
const withDefaults: PartRecord[] = listed.map(({ sealedChecksums: _s, ...p }) => ({ ...p, defaultChecksum: partChecksumFields({ CRC64NVME: crc64(p.n) }, objectKey, p.n) }));

t.test('10,000 sealed part defaults: the completion answer combined while the event loop turns', async (t) => {
  const { result, turns } = await turnsDuring(() => defaultObjectChecksum(withDefaults, objectKey));
  t.ok(turns >= 10, `the event loop turned ${turns} times meanwhile`);
  const clear = await objectChecksum({ algorithm: 'CRC64NVME', type: 'FULL_OBJECT' }, listed, listed.map((p) => ({ CRC64NVME: crc64(p.n) })));
  t.same(result, { CRC64NVME: clear }, 'the FULL_OBJECT CRC64NVME of the parts\u2019 defaults');
  t.equal(await defaultObjectChecksum(withDefaults, undefined), undefined, 'no key to open them (SSE-C without it): none');
  t.equal(await defaultObjectChecksum([...withDefaults.slice(1), listed[0]!], objectKey), undefined, 'a part without one: none');
  t.notOk(hasDefaultChecksums([]), 'no part: none');
});

t.test('the part defaults a completion of an upload without an algorithm lists', async (t) => {
  const noAlg = withDefaults.slice(0, 3);
  const asAnswered = noAlg.map((p) => ({ n: p.n, etag: p.etag, checksums: { CRC64NVME: crc64(p.n) } }));
  const { parts } = await completedParts(asAnswered, noAlg, 'up', undefined, objectKey);
  t.equal(parts.length, 3, 'taken as UploadPart answered them');
  for (const [what, checksums] of [['another value', { CRC64NVME: crc64(99) }], ['another algorithm', { CRC32: crc(1) }], ['two', { CRC64NVME: crc64(1), CRC32: crc(1) }]] as const) {
    const err = await completedParts([{ ...asAnswered[0]!, checksums }], noAlg.slice(0, 1), 'up', undefined, objectKey).catch((e: unknown) => e);
    t.equal(isS3Error(err) ? err.code : err, 'InvalidPart', `${what}: InvalidPart`);
  }
  const noDefault = await completedParts([{ ...asAnswered[0]!, n: 1 }], [listed[0]!], 'up', undefined, objectKey).catch((e: unknown) => e);
  t.equal(isS3Error(noDefault) ? noDefault.code : noDefault, 'InvalidPart', 'a part without a default: InvalidPart, as before');
  t.ok(listedDefault({ CRC64NVME: crc64(99) }, noAlg[0]!, undefined), 'sealed and no key to open it (SSE-C without it): not compared');
});
