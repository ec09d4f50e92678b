// A completion's parts checked a slice at a time (completedParts, ops/multipart.ts): 10,000 parts
// of an encrypted upload, each part's checksum sealed under its part key, opened and compared
// with the listed ones. Opened in one stretch they held the event loop ~70-160 ms; the loop turns
// between slices now, and the parts, their checksums and the InvalidPart of a wrong one are as
// before.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { completedParts } from '../../../../daemon/ops/multipart.js';
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
});

t.test('a wrong checksum late in the list: InvalidPart naming that part', async (t) => {
  const wrong = requested.map((r) => (r.n === 9_001 ? { ...r, checksums: { CRC32: crc(1) } } : r));
  const err = await completedParts(wrong, listed, 'up', uc, objectKey).catch((e: unknown) => e);
  t.same(isS3Error(err) ? [err.code, err.fields.PartNumber, err.fields.UploadId] : err, ['InvalidPart', '9001', 'up'], 'InvalidPart, part 9001');
});
