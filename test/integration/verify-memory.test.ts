// `s3d verify` keeps no finding in memory: each is printed and counted. A store that lost its data
// files (a restore that missed .s3d/objects) has a finding per object version, millions on a large
// store; they were all kept in an array until the end (~570 bytes each: a store of 10 million
// objects would have needed ~5.7 GB of heap, past the ~4 GB V8 stops at). Checked in process, on a real LMDB
// store of 50,000 records whose data files are missing: the heap does not grow with them. The
// limit is 100 bytes a finding (4.8 MiB): kept, they take ~28 MiB; not kept, the heap grows by
// less than 1 MiB. (100,000 records and 10 MiB, the same bytes a finding, cost twice the CPU: the
// check stats each missing file, and each stat's ENOENT is an Error.) The data file names are
// the records' numbers in hex, not random: the same distinct 32-digit names, without 50,000 calls
// to the CSPRNG.

import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MetaStore } from '../../daemon/meta/store.js';
import { FileStore } from '../../daemon/storage/files.js';
import { verifyStore } from '../../daemon/verify.js';

const RECORDS = 50_000;
/** The most the heap may grow: 100 bytes a finding (kept, one takes ~570). */
const LIMIT_MIB = (RECORDS * 100) / 2 ** 20;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMiB = (): number => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const dir = mkdtempSync(join(tmpdir(), 's3d-verify-memory-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, '.s3d', 'objects'), { recursive: true });
{
  const meta = new MetaStore(join(dir, '.s3d'));
  await meta.createBucket('lost');
  let pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < RECORDS; i++) {
    const record = { v: 1, size: 200_000, etag: 'a'.repeat(32), mtime: Date.now(), headers: {}, userMeta: {}, stored: 200_000, data: { file: i.toString(16).padStart(32, '0') } };
    pending.push(meta.putObject('lost', `key/${String(i).padStart(6, '0')}`, record as never));
    if (pending.length >= 2000) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await meta.close();
}

t.test('findings are printed and counted, not kept', async (t) => {
  const meta = new MetaStore(join(dir, '.s3d'), { readOnly: true });
  t.teardown(() => meta.close());
  let found = 0;
  const before = heapMiB();
  const report = await verifyStore({ meta, files: new FileStore(dir), pool: null, kms: null }, { deep: false, onProblem: (p) => void (found += p.kind === 'missing' ? 1 : 0) });
  const grown = heapMiB() - before;
  t.equal(found, RECORDS, 'every version is reported missing');
  t.equal(report.versions, RECORDS);
  t.ok(grown < LIMIT_MIB, `the heap grew by ${grown.toFixed(1)} MiB for ${RECORDS} findings, less than ${LIMIT_MIB.toFixed(1)} (kept, they took ~28)`);
});
