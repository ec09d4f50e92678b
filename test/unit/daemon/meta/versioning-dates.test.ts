// A key's versions newest first never go up in Last-Modified (s3-versioning-model.test.ts checks
// it over the wire), however the writes interleave; a completed multipart upload's excepted, dated
// at its initiation on purpose (ops/multipart-complete.ts). A PUT is dated when its request asks for the
// commit, and its commit is queued in that order; a delete marker was dated inside its transaction,
// when lmdb-js got to it: a DELETE queued before a PUT was dated and committed after it got a later
// date than the PUT, which became the newer version (seen in the model test under load, once).
// Every delete marker (DeleteObject, DeleteObjects, lifecycle expirations) is now dated when its
// commit is asked for, as the writes are.
import t from 'tap';
import { keyVersionDates, obj, openStore, versioned } from '../../../helpers/meta-versions.js';

/** Holds the thread for `ms`: time passes while nothing else runs (the queued transaction waits). */
function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() <= end);
}

t.test('a delete marker asked for before a PUT is dated no later than the PUT', async (t) => {
  const m = openStore(t);
  await versioned(m, 'vb');
  await m.putObject('vb', 'k', obj({ mtime: Date.now() - 1000 }));
  const deleted = m.deleteObject('vb', 'k');
  spin(3);
  const put = m.putObject('vb', 'k', obj({ mtime: Date.now() }));
  spin(3);
  await Promise.all([deleted, put]);
  const dates = keyVersionDates(m, 'vb', 'k');
  t.equal(dates.length, 3, 'the object, the marker and the new object');
  t.ok(dates.every((d, i) => i === 0 || d <= dates[i - 1]!), `newest first, never a later date after an earlier one (${dates.map((d) => d - dates[2]!).join(', ')} ms after the first)`);
});

t.test('DeleteObjects and lifecycle expirations: their markers dated before a PUT asked for after them', async (t) => {
  const m = openStore(t);
  await versioned(m, 'vb');
  await m.putObject('vb', 'a', obj({ mtime: Date.now() - 1000 }));
  await m.putObject('vb', 'b', obj({ mtime: Date.now() - 1000 }));
  const many = m.deleteObjects('vb', [{ key: 'a' }]);
  const expired = m.deleteObjectsIfUnchanged('vb', [{ key: 'b', etag: 'e', mtime: m.getObject('vb', 'b')!.mtime }]);
  spin(3);
  const puts = [m.putObject('vb', 'a', obj({ mtime: Date.now() })), m.putObject('vb', 'b', obj({ mtime: Date.now() }))];
  spin(3);
  await Promise.all([many, expired, ...puts]);
  for (const key of ['a', 'b']) {
    const dates = keyVersionDates(m, 'vb', key);
    t.equal(dates.length, 3, `${key}: the object, the marker and the new object`);
    t.ok(dates.every((d, i) => i === 0 || d <= dates[i - 1]!), `${key}: newest first, never a later date after an earlier one`);
  }
});
