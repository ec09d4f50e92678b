// writeXml (ops/xml-writer.ts) writes the bytes toXml (fast-xml-parser's builder) writes, for the
// answers moved off the builder because they can be large: S3 clients parse them. Random documents
// of toXml's object form (lists, nested and empty elements, numbers, booleans, XML's special
// characters and C0 controls) and random lifecycle configurations (every rule shape lifecycleXml
// writes) are compared with toXml's output.
import t from 'tap';
import { toXml, type XmlObject, type XmlValue } from '../../../../daemon/ops/xml.js';
import { writeXml } from '../../../../daemon/ops/xml-writer.js';
import { lifecycleBody, lifecycleXml, type StoredLifecycleRule } from '../../../../daemon/ops/lifecycle.js';
import type { TagSet } from '../../../../daemon/meta/records.js';
import { prng } from '../../../helpers/seeded.js';

// Seeded: a failure repeats.
const { next: rand, int, pick } = prng(0x1b873593);

const PIECES = ['a', 'z', '/', ' ', '&', '<', '>', '"', "'", '&amp;', '\t', '\n', '\r', '\x01', '\x0b', '\x1f', '\x7f', '\u0085', '\u2028', 'é', '한글', '😀', 'x'.repeat(20)];
function text(max: number): string {
  let s = '';
  for (let n = int(max + 1); n > 0; n--) s += pick(PIECES);
  return s;
}

const TAGS = ['Key', 'Value', 'Name', 'Part', 'Owner', 'ID', 'Rule', 'Filter', 'And', 'Tag'];

function value(depth: number): XmlValue {
  const r = rand();
  if (r < 0.3) return text(4);
  if (r < 0.4) return pick([0, 1, -3, 1.5, 5_497_558_138_880, Number.MAX_SAFE_INTEGER]);
  if (r < 0.45) return rand() < 0.5;
  if (r < 0.5) return undefined;
  if (r < 0.7 && depth > 0) return Array.from({ length: int(4) }, () => (depth > 1 ? object(depth - 1) : text(3)));
  return depth > 0 ? object(depth - 1) : text(3);
}

function object(depth: number): XmlObject {
  const o: XmlObject = {};
  for (let n = int(5); n > 0; n--) o[pick(TAGS) + (rand() < 0.3 ? int(3) : '')] = value(depth);
  return o;
}

t.test('writeXml writes what toXml writes', async (t) => {
  for (let i = 0; i < 3000; i++) {
    const body = object(4);
    const want = toXml('Root', body);
    if (writeXml('Root', body) !== want) t.fail(`document ${i}: ${JSON.stringify(body)}`);
  }
  t.equal(writeXml('ListAllMyBucketsResult', { Owner: { ID: 'a&b' }, Buckets: { Bucket: [] } }), toXml('ListAllMyBucketsResult', { Owner: { ID: 'a&b' }, Buckets: { Bucket: [] } }), 'an empty list in an element');
  t.equal(writeXml('R', { A: [{}, '', 0, false] }), toXml('R', { A: [{}, '', 0, false] }), 'empty items');
});

t.test('writeXml refuses what the builders write differently', async (t) => {
  t.throws(() => writeXml('R', { A: null }), TypeError);
  t.throws(() => writeXml('R', { A: [[1]] }), TypeError);
  t.throws(() => writeXml('R', { A: { '@_x': '1' } }), TypeError);
  t.throws(() => writeXml('R', { '#text': 'x' }), TypeError);
});

function tags(): TagSet {
  return Array.from({ length: pick([0, 0, 1, 2, 5]) }, () => [text(3), text(2)] as const);
}

function rule(i: number): StoredLifecycleRule {
  const r: Record<string, unknown> = { id: `${text(3)}-${i}`, enabled: rand() < 0.7, prefix: pick(['', 'logs/', text(4)]), tags: tags() };
  if (rand() < 0.3) r.sizeGreaterThan = int(1e9);
  if (rand() < 0.3) r.sizeLessThan = int(1e12);
  const shape = rand();
  if (shape < 0.2) r.legacyPrefix = true;
  else if (shape < 0.3) r.emptyFilter = true;
  else if (shape < 0.6) r.andFilter = { prefix: rand() < 0.5 };
  const action = rand();
  if (action < 0.4) r.expirationDays = 1 + int(3650);
  else if (action < 0.6) r.expirationDate = Date.UTC(2030, int(12), 1 + int(28));
  else if (action < 0.7) r.expiredObjectDeleteMarker = rand() < 0.5;
  if (rand() < 0.5) {
    r.noncurrentDays = 1 + int(100);
    if (rand() < 0.5) r.newerNoncurrentVersions = 1 + int(100);
  }
  if (rand() < 0.4) r.abortIncompleteDays = 1 + int(30);
  return r as unknown as StoredLifecycleRule;
}

t.test('lifecycleXml writes what toXml writes of its configuration', async (t) => {
  for (let i = 0; i < 200; i++) {
    const rules = Array.from({ length: 1 + int(30) }, (_, j) => rule(j));
    const want = toXml('LifecycleConfiguration', lifecycleBody(rules));
    if (lifecycleXml(rules) !== want) t.fail(`configuration ${i}: ${JSON.stringify(rules)}`);
  }
  const big = Array.from({ length: 1000 }, (_, j) => rule(j));
  t.equal(lifecycleXml(big), toXml('LifecycleConfiguration', lifecycleBody(big)), '1,000 rules');
});

t.test("ListMultipartUploads' and ListBuckets' shapes", async (t) => {
  const owner = { ID: 'root&<user>', DisplayName: 'root&<user>' };
  for (let i = 0; i < 100; i++) {
    const uploads: XmlObject = {
      Bucket: 'b',
      KeyMarker: text(3),
      UploadIdMarker: '',
      NextKeyMarker: text(3),
      NextUploadIdMarker: '',
      ...(rand() < 0.5 ? { Prefix: text(2) } : {}),
      MaxUploads: int(1001),
      IsTruncated: rand() < 0.5,
      Upload: Array.from({ length: int(20) }, () => ({ Key: text(5), UploadId: 'id', Initiator: owner, Owner: owner, StorageClass: 'STANDARD', Initiated: '2026-01-01T00:00:00.000Z', ...(rand() < 0.5 ? { ChecksumAlgorithm: 'CRC32', ChecksumType: 'COMPOSITE' } : {}) })),
      CommonPrefixes: Array.from({ length: int(3) }, () => ({ Prefix: text(3) })),
    };
    t.equal(writeXml('ListMultipartUploadsResult', uploads), toXml('ListMultipartUploadsResult', uploads));
    const buckets: XmlObject = {
      Owner: owner,
      Buckets: { Bucket: Array.from({ length: int(20) }, (_, j) => ({ Name: `b-${j}`, CreationDate: '2026-01-01T00:00:00.000Z', BucketRegion: 'us-east-1' })) },
      ...(rand() < 0.5 ? { ContinuationToken: 'YS0x' } : {}),
      ...(rand() < 0.5 ? { Prefix: text(2) } : {}),
    };
    t.equal(writeXml('ListAllMyBucketsResult', buckets), toXml('ListAllMyBucketsResult', buckets));
  }
});
