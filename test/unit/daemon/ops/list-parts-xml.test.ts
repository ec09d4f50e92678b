// ListPartsResult (ops/multipart.ts, written by xml-writer.ts writeXml) is byte for byte what
// toXml wrote when the page was built as one object with a `Part` list: S3 clients parse it. Random
// pages (empty, one part, many; keys and owners with XML's special characters and C0 controls;
// checksums of parts and of the upload; markers of 0 and past the end) are compared with toXml.
import t from 'tap';
import { writeXml } from '../../../../daemon/ops/xml-writer.js';
import { toXml, type XmlObject } from '../../../../daemon/ops/xml.js';
import { prng } from '../../../helpers/seeded.js';

// Seeded: a failure repeats.
const { next: rand, int, pick } = prng(0x1b873593);
const PIECES = ['a', '/', ' ', '&', '<', '>', '"', "'", '&amp;', ']]>', '\t', '\n', '\r', '\x01', '\x1f', '\x7f', '\u0085', '\u2028', '\ufffe', 'é', '😀', ''];
const text = (max: number): string => Array.from({ length: int(max + 1) }, () => pick(PIECES)).join('');

function page(): { head: XmlObject; parts: XmlObject[] } {
  const user = pick(['root', text(4), '']);
  const parts = Array.from({ length: pick([0, 1, 2, int(50)]) }, (_, i) => ({
    PartNumber: i + 1,
    LastModified: '2026-12-06T08:11:10.000Z',
    ETag: pick(['"d41d8cd98f00b204e9800998ecf8427e"', `"${text(3)}"`]),
    Size: pick([0, 5, 5_368_709_120]),
    ...(rand() < 0.3 ? { ChecksumCRC32: 'AAAAAA==' } : {}),
    ...(rand() < 0.2 ? { ChecksumSHA256: text(2), ChecksumCRC64NVME: '' } : {}),
  }));
  const head: XmlObject = {
    Bucket: 'b',
    Key: text(6),
    UploadId: text(2) || 'u',
    Initiator: { ID: user, DisplayName: user },
    Owner: { ID: user, DisplayName: user },
    StorageClass: 'STANDARD',
    PartNumberMarker: pick([0, 1, 2_147_483_647]),
    NextPartNumberMarker: parts.length,
    MaxParts: pick([0, 1, 1000]),
    IsTruncated: rand() < 0.5,
    ...(rand() < 0.4 ? { ChecksumAlgorithm: 'CRC32', ChecksumType: pick(['COMPOSITE', 'FULL_OBJECT']) } : {}),
  };
  return { head, parts };
}

t.test('random pages: the bytes toXml wrote', async (t) => {
  let differ = 0;
  for (let i = 0; i < 2000; i++) {
    const { head, parts } = page();
    const want = toXml('ListPartsResult', { ...head, Part: parts });
    const got = writeXml('ListPartsResult', { ...head, Part: parts });
    if (got !== want && differ++ < 3) t.equal(got, want, `page ${i}`);
  }
  t.equal(differ, 0, 'no page differs');
});
