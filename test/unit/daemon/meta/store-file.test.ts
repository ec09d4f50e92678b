// storeFileDamage over stores MetaStore wrote: a healthy store whose file ends before the last
// page its meta page names (pages a batched commit took and freed again are never written) is
// not refused, and LMDB opens it; a copy cut short is still refused.

import t, { type Test } from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { storeFileDamage } from '../../../../daemon/meta/store-file.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';

function obj(): ObjectRecord {
  return { v: RECORD_VERSION, size: 64, etag: 'e', mtime: 1, headers: {}, userMeta: {}, data: { inline: new Uint8Array(64) }, stored: 64 };
}

/** The pages the newer meta page of `file` names (its last page + 1). */
function namedPages(file: string): number {
  const b = readFileSync(file);
  const psize = b.readUInt32LE(48);
  const [m0, m1] = [0, psize].map((at) => ({ txn: b.readBigUInt64LE(at + 152), last: b.readBigUInt64LE(at + 144) }));
  return Number((m1!.txn > m0!.txn ? m1! : m0!).last) + 1;
}

/**
 * A store written by MetaStore whose file ends before its last named page: one client's 1,000
 * small writes and another's DeleteObjects of them, batched into one commit (the pages that commit
 * took at the end of the file and freed again are never written). Closed; the object `kept` stays.
 */
async function shortStore(t: Test): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 's3d-store-file-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const m = new MetaStore(dir);
  await m.createBucket('b');
  await m.putObject('b', 'kept', obj());
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < 1000; i++) writes.push(m.putObject('b', `tmp/${i}`, obj()));
  writes.push(m.deleteObjects('b', Array.from({ length: 1000 }, (_, i) => ({ key: `tmp/${i}` }))));
  await Promise.all(writes);
  await m.close();
  return { dir, file: join(dir, 'meta', 'data.mdb') };
}

t.test('a store whose file ends before its last named page: healthy, not refused', async (t) => {
  const { dir, file } = await shortStore(t);
  const size = statSync(file).size;
  t.ok(size < namedPages(file) * 4096, `the file (${size} bytes) ends before the ${namedPages(file)} pages its meta page names`);
  t.equal(storeFileDamage(file), undefined, 'not called damaged');
  const again = new MetaStore(dir);
  t.equal(again.getObject('b', 'kept')?.etag, 'e', 'LMDB opens it and reads it back');
  t.equal(again.listObjects('b', { prefix: '', delimiter: '', after: '', maxKeys: 10 }).contents.length, 1, 'only the kept object is listed');
  await again.close();
});

t.test('a main-tree page that is no tree page: called damaged, not a thrown RangeError', async (t) => {
  const { file } = await shortStore(t);
  t.equal(storeFileDamage(file), undefined, 'healthy first');
  t.ok(statSync(file).size < namedPages(file) * 4096, 'the file ends before its last named page (the roots are looked at)');
  // The newer meta page's main-DB root: its nodes zeroed, its mp_lower (at 20) past the page's end.
  const b = readFileSync(file);
  const [m0, m1] = [0, 4096].map((at) => ({ at, txn: b.readBigUInt64LE(at + 152) }));
  const meta = m1!.txn > m0!.txn ? m1!.at : m0!.at;
  const root = Number(b.readBigUInt64LE(meta + 136));
  t.ok(root >= 2 && (root + 1) * 4096 <= b.length, `the main root (page ${root}) is in the file`);
  b.fill(0, root * 4096 + 24, (root + 1) * 4096);
  b.writeUInt16LE(0xfffe, root * 4096 + 20);
  writeFileSync(file, b);
  let got: string | undefined;
  t.doesNotThrow(() => (got = storeFileDamage(file)));
  t.match(got, /is damaged/);
});

t.test('a copy cut short is still refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-store-file-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const m = new MetaStore(dir);
  for (const b of ['a', 'b', 'c']) await m.createBucket(b);
  for (let r = 0; r < 10; r++) await Promise.all(Array.from({ length: 200 }, (_, i) => m.putObject('b', `k${r}-${i}`, obj())));
  await m.close();
  const file = join(dir, 'meta', 'data.mdb');
  const size = statSync(file).size;
  let cuts = 0;
  for (let cut = 2 * 4096; cut < size; cut += 4 * 4096) {
    const copy = join(dir, `cut-${cut}.mdb`);
    cpSync(file, copy);
    truncateSync(copy, cut);
    t.match(storeFileDamage(copy), /is cut short/, `cut to ${cut} of ${size} bytes: refused`);
    cuts++;
  }
  t.ok(cuts >= 5, 'several cuts tried');
});
