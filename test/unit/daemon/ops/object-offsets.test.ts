// Offsets of large objects, up to S3's 5 TiB and 10,000 parts: which parts a range touches
// and where in each, a GET's partNumber range, Range and x-amz-copy-source-range past 2^32 and
// near 2^42. Sizes past 2^31 and 2^32 must stay exact (no 32-bit arithmetic on the way).
import t from 'tap';
import { S3Error } from '../../../../daemon/errors.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord } from '../../../../daemon/meta/records.js';
import { partsInRange } from '../../../../daemon/ops/object-data.js';
import { parseCopySourceRange, parseRange } from '../../../../daemon/ops/object-headers.js';
import { partRange } from '../../../../daemon/ops/object.js';

const GiB = 1024 ** 3;
const MAX_OBJECT = 5 * 1024 ** 4;

function part(n: number, size: number): PartRecord {
  return { v: RECORD_VERSION, n, size, stored: size, etag: 'e'.repeat(32), data: { file: `f${n}` }, mtime: 0 };
}

const PART = 512 * 1024 ** 2;
/** 10,000 parts of 512 MiB: 5,000 GiB, just under 5 TiB... */
const maxParts = Array.from({ length: 10_000 }, (_, i) => part(i + 1, PART));
const LAST = 10_000 * PART;
/** ...and 4.5 GiB in parts of 1.5 GiB, with part boundaries at 1.5, 3 (past 2^31) and 4.5 GiB (past 2^32). */
const overFour = [part(1, 1.5 * GiB), part(2, 1.5 * GiB), part(3, 1.5 * GiB), part(4, 100)];

function record(parts: PartRecord[]): ObjectRecord {
  const size = parts.reduce((a, p) => a + p.size, 0);
  return { v: RECORD_VERSION, size, stored: size, etag: `${'e'.repeat(32)}-${parts.length}`, mtime: 0, headers: {}, userMeta: {}, parts };
}

function code(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
}

t.test('partsInRange: ranges across part boundaries past 2^31 and 2^32, and at the end of 10,000 parts', async (t) => {
  const touched = (parts: PartRecord[], offset: number, length: number): Array<[number, number, number]> => [...partsInRange(parts, offset, length)].map(({ part: p, from, to }) => [p.n, from, to]);
  t.same(touched(overFour, 3 * GiB - 10, 20), [[2, 1.5 * GiB - 10, 1.5 * GiB], [3, 0, 10]], 'across the boundary at 3 GiB');
  t.same(touched(overFour, 2 ** 32, 10), [[3, 2 ** 32 - 3 * GiB, 2 ** 32 - 3 * GiB + 10]], '2^32 inside part 3');
  t.same(touched(overFour, 4.5 * GiB - 1, 101), [[3, 1.5 * GiB - 1, 1.5 * GiB], [4, 0, 100]], 'across the boundary at 4.5 GiB to the end');
  t.same(touched(overFour, 0, 4.5 * GiB + 100).map(([n, from, to]) => [n, to - from]), [[1, 1.5 * GiB], [2, 1.5 * GiB], [3, 1.5 * GiB], [4, 100]], 'the whole object');
  t.same(touched(maxParts, LAST - PART - 3, 10), [[9999, PART - 3, PART], [10_000, 0, 7]], 'across the last boundary of 10,000 parts');
  t.same(touched(maxParts, LAST - 1, 1), [[10_000, PART - 1, PART]], 'the last byte of 10,000 parts');
});

t.test("partRange: a GET's partNumber range past 2^32 and at part 10,000", async (t) => {
  t.same(partRange(record(overFour), '3'), { start: 3 * GiB, end: 4.5 * GiB - 1, count: 4 });
  t.same(partRange(record(overFour), '4'), { start: 4.5 * GiB, end: 4.5 * GiB + 99, count: 4 });
  t.same(partRange(record(maxParts), '10000'), { start: LAST - PART, end: LAST - 1, count: 10_000 });
  t.same(partRange(record(maxParts), '00010000'), { start: LAST - PART, end: LAST - 1, count: 10_000 }, 'leading zeros');
  t.equal(code(() => partRange(record(maxParts), '10001')), 'InvalidArgument');
  t.equal(code(() => partRange(record(maxParts), '4294967297')), 'InvalidArgument', '2^32 + 1 is not part 1');
  t.equal(code(() => partRange(record(overFour), '5')), 'InvalidPartNumber');
});

t.test('Range and x-amz-copy-source-range past 2^32 and near 5 TiB stay exact', async (t) => {
  const size = 4.5 * GiB + 100;
  t.same(parseRange(`bytes=${2 ** 32}-${2 ** 32 + 9}`, size), { start: 2 ** 32, end: 2 ** 32 + 9 });
  t.same(parseRange(`bytes=${2 ** 32 - 1}-`, size), { start: 2 ** 32 - 1, end: size - 1 });
  t.same(parseRange('bytes=-4294967297', size), { start: size - 2 ** 32 - 1, end: size - 1 }, 'a suffix past 2^32');
  t.same(parseRange(`bytes=${MAX_OBJECT - 1}-${MAX_OBJECT * 2}`, MAX_OBJECT), { start: MAX_OBJECT - 1, end: MAX_OBJECT - 1 });
  t.same(parseRange(`bytes=000${2 ** 32}-`, size), { start: 2 ** 32, end: size - 1 }, 'leading zeros');
  t.equal(code(() => parseRange(`bytes=${size}-`, size)), 'InvalidRange');
  t.equal(code(() => parseRange(`bytes=${size + 2 ** 32}-`, size)), 'InvalidRange', 'no wrap modulo 2^32');
  t.same(parseCopySourceRange(`bytes=${2 ** 32 - 5}-${2 ** 32 + 5 * GiB - 6}`, MAX_OBJECT), { start: 2 ** 32 - 5, end: 2 ** 32 + 5 * GiB - 6 }, 'a 5 GiB copy range across 2^32');
  t.same(parseCopySourceRange(`bytes=${MAX_OBJECT - 10}-${MAX_OBJECT - 1}`, MAX_OBJECT), { start: MAX_OBJECT - 10, end: MAX_OBJECT - 1 });
  t.equal(code(() => parseCopySourceRange(`bytes=${size}-${size}`, size)), 'InvalidRequest', 'starting at the end');
  t.equal(code(() => parseCopySourceRange(`bytes=0-${size}`, size)), 'InvalidArgument', 'reaching past the end');
  t.equal(code(() => parseCopySourceRange(`bytes=${size + 2 ** 32}-${size + 2 ** 32}`, size)), 'InvalidRequest', 'no wrap modulo 2^32');
});
