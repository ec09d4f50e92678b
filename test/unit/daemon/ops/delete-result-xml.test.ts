// DeleteObjects' answer (deleteResultXml, written by ops/xml-writer.ts a slice of entries at a
// time) is byte for byte what toXml wrote: random Deleted and Error entries of every shape the
// handler makes, keys of XML's special characters, C0 controls, CR, NEL, LS and astral characters,
// lists of every length around the slice size, none included.
import t from 'tap';
import { deleteResultXml } from '../../../../daemon/ops/delete-objects.js';
import { toXml, type XmlObject } from '../../../../daemon/ops/xml.js';

let seed = 0x1b873593;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

const CHARS = ['a', 'Z', '0', '/', ' ', '&', '<', '>', '"', "'", '\u0001', '\u001f', '\t', '\n', '\r', '\u0085', '\u2028', '\ud83d\ude00', 'é', ']]>'];
const key = (): string => Array.from({ length: 1 + rand(12) }, () => CHARS[rand(CHARS.length)]).join('');
const vid = (): string => (rand(4) === 0 ? 'null' : `0192e0c4-${rand(1e6)}`);

function deletedEntry(): XmlObject {
  switch (rand(4)) {
    case 0: return { Key: key() };
    case 1: return { Key: key(), VersionId: vid() };
    case 2: return { Key: key(), VersionId: vid(), DeleteMarker: true, DeleteMarkerVersionId: vid() };
    default: return { Key: key(), DeleteMarker: true, DeleteMarkerVersionId: vid() };
  }
}

function errorEntry(): XmlObject {
  const [code, message] = [['AccessDenied', 'Access Denied'], ['NoSuchVersion', 'The specified version does not exist.'], ['PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'], ['KeyTooLongError', 'Your key is too long.']][rand(4)]!;
  return { Key: key(), ...(rand(2) === 0 ? { VersionId: vid() } : {}), Code: code, Message: message };
}

t.test('deleteResultXml writes what toXml wrote', async (t) => {
  const lengths = [0, 1, 2, 99, 100, 101, 250, 1000];
  let same = 0;
  const differ: string[] = [];
  for (const nd of lengths) {
    for (const ne of lengths) {
      if (nd + ne > 1000) continue;
      const deleted = Array.from({ length: nd }, deletedEntry);
      const errors = Array.from({ length: ne }, errorEntry);
      const want = toXml('DeleteResult', { Deleted: deleted, Error: errors });
      if ((await deleteResultXml(deleted, errors)) === want) same++;
      else differ.push(`${nd} Deleted, ${ne} Error`);
    }
  }
  t.same(differ, [], `${same} documents alike`);
});
