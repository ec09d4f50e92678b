// A versioned key's current record, overwritten or hidden by a delete marker, moves to the
// versions table as the bytes the objects table holds (store-key-writes.ts putVersion): both
// tables encode a record the same way. It was encoded again in the commit, and for a record of
// 10,000 parts (~1.6 MB) that held the event loop ~30-50 ms (every other request waiting; the
// overwrite's commit ~90-120 ms in all, ~20-40 ms now). Counted here on a real store by the
// records of many parts the versions table's encoder is given; the version read back is the same.
import t from 'tap';
import { openStore } from '../../../helpers/meta-versions.js';
import { RECORD_VERSION, type ObjectRecord, type PartRecord } from '../../../../daemon/meta/records.js';
import { clientVersionId } from '../../../../daemon/meta/versions.js';
import type { MetaStore } from '../../../../daemon/meta/store.js';

const PARTS = 10_000;
const part = (n: number): PartRecord => ({ v: RECORD_VERSION, n, size: 5 << 20, stored: (5 << 20) + 32, etag: `"${n.toString(16).padStart(32, 'a')}"`, data: { file: n.toString(16).padStart(32, '0') }, mtime: 1_765_000_000_000 + n, ...(n % 3 === 0 ? { checksums: { CRC32: 'AAAAAA==' } } : {}) });
const big = (): ObjectRecord => ({ v: RECORD_VERSION, size: PARTS * (5 << 20), etag: `"${'f'.repeat(32)}-${PARTS}"`, mtime: 1_765_000_000_123, headers: { 'content-type': 'x/y' }, userMeta: { ü: 'välue' }, stored: 1, parts: Array.from({ length: PARTS }, (_, i) => part(i + 1)), tags: [['a', 'b']] });
const small = (): ObjectRecord => ({ v: RECORD_VERSION, size: 1, etag: 'd41d8cd98f00b204e9800998ecf8427e', mtime: 1_765_000_001_000, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 0 });

/** How many records of many parts the versions table's encoder encodes while `run` runs. */
async function manyPartEncodes(m: MetaStore, run: () => Promise<unknown>): Promise<number> {
  const enc = (m as unknown as { versions: { encoder: { encode: (v: unknown, ...rest: unknown[]) => unknown } } }).versions.encoder;
  const encode = enc.encode;
  let n = 0;
  enc.encode = function (this: unknown, v: unknown, ...rest: unknown[]) {
    if ((v as ObjectRecord | undefined)?.parts?.length === PARTS) n++;
    return encode.call(this, v, ...rest);
  };
  try {
    await run();
  } finally {
    enc.encode = encode;
  }
  return n;
}

for (const [what, replace] of [
  ['overwritten', (m: MetaStore) => m.putObject('vb', 'k', small())],
  ['hidden by a delete marker (DeleteObjects)', (m: MetaStore) => m.deleteObjects('vb', [{ key: 'k' }])],
  ['hidden by a delete marker (DeleteObject)', (m: MetaStore) => m.deleteObject('vb', 'k')],
] as const) {
  t.test(`a current record of 10,000 parts ${what}: moved as its bytes, not encoded again; read back the same`, async (t) => {
    const m = openStore(t);
    await m.createBucket('vb');
    await m.updateBucket('vb', (b) => ({ ...b, versioning: 'Enabled' as const }));
    await m.putObject('vb', 'k', big());
    const before = m.getObject('vb', 'k')!;
    t.equal(await manyPartEncodes(m, () => replace(m)), 0, 'the versions table encoded no record of 10,000 parts');
    const back = m.getVersion('vb', 'k', clientVersionId(before));
    t.equal(back?.isLatest, false, 'a noncurrent version now');
    t.same(back?.record, before, 'field for field the record that was current');
    // And an older version becomes current again as it was.
    await m.deleteObject('vb', 'k', undefined, clientVersionId(m.keyVersions('vb', 'k')[0]!.record));
    t.same(m.getObject('vb', 'k'), before, 'current again, the same');
  });
}
