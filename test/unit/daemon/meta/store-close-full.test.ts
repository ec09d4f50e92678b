// MetaStore.close() after a commit that failed on a full disk: LMDB is closed all the same, and the
// failure is the commit's cause (MetaCommitError with its errno), not lmdb-js's generic "Commit
// failed". The store's close stopped at the rejected `flushed` of the failed commit and left the
// environment open: the daemon's shutdown reported a failure whose cause it did not name, and LMDB
// was closed only by lmdb-js's cleanup hook in Node's teardown of the exiting process. The store
// is on a small tmpfs (mounting needs root: skipped otherwise).

import t from 'tap';
import { statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetaCommitError, MetaStore } from '../../../../daemon/meta/store.js';
import { mountTmpfs, tmpfsUnavailable } from '../../../helpers/tmpfs.js';

const SKIP = tmpfsUnavailable();

t.test('a close after a commit failed on a full disk closes LMDB and names the cause', { skip: SKIP }, async (t) => {
  const m = mountTmpfs(4 * 1024 * 1024);
  if (typeof m === 'string') throw new Error(m);
  t.teardown(() => m.unmount());
  const store = new MetaStore(join(m.dir, 'data'));
  await store.createBucket('kept');
  const free = statfsSync(m.dir);
  try {
    writeFileSync(join(m.dir, 'ballast'), Buffer.alloc(free.bavail * free.bsize));
  } catch {
    // ENOSPC at the end: the filesystem is full, which is the point.
  }
  // LMDB grows its file in steps: the first commits may still find room in it.
  let failure: unknown;
  for (let i = 0; i < 500 && failure === undefined; i++) {
    await store.createBucket(`b-${i}-${'x'.repeat(40)}`).catch((err: unknown) => (failure = err));
  }
  t.ok(failure instanceof MetaCommitError, `a commit failed on the full disk (${String(failure)})`);
  const closed = await store.close().then(
    () => undefined,
    (err: unknown) => err,
  );
  t.ok(closed instanceof MetaCommitError && /^(ENOSPC|EIO)$/.test(closed.code), `close() rejects with the failed commit's cause (${String(closed)})`);
  t.throws(() => store.getBucket('kept'), 'and LMDB is closed: a read throws');
});
