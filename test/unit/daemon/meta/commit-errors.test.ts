// meta/commit-errors.ts commitFailure against errors shaped as lmdb-js 3.5 rejects the writes of a
// failed commit (write.js rejectCommit: a generic Error whose `commitError` promise is rejected
// with the cause by the write thread's report, in that callback or some event-loop turns later):
// the cause becomes a MetaCommitError of its errno whenever it comes, a cause that never comes is
// UNKNOWN after a bounded wait, and nothing is left for Node to call an unhandled rejection.

import t from 'tap';
import { constants as osConstants } from 'node:os';
import { commitFailure, MetaCommitError } from '../../../../daemon/meta/commit-errors.js';

/** lmdb-js's shape: the commit promise, the writes' error, and what lmdbError(28) throws. */
function failedCommit(): { err: Error; reject(cause: unknown): void } {
  let reject!: (e: unknown) => void;
  const commitError = new Promise((_, r) => (reject = r));
  return { err: Object.assign(new Error('Commit failed (see commitError for details)'), { commitError }), reject };
}
const enospc = (): Error => Object.assign(new Error('No space left on device'), { code: osConstants.errno.ENOSPC });

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
t.teardown(() => void process.off('unhandledRejection', onUnhandled));

t.test('a cause named in the same callback as the writes', async (t) => {
  const c = failedCommit();
  c.reject(enospc());
  const e = await commitFailure(c.err);
  t.ok(e instanceof MetaCommitError && e.code === 'ENOSPC', `ENOSPC (${String(e)})`);
});

t.test('a cause named event-loop turns after the writes were rejected (a 500 before: one setImmediate was waited)', async (t) => {
  for (const turns of [1, 2, 5]) {
    const c = failedCommit();
    const out = commitFailure(c.err);
    for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
    c.reject(enospc());
    const e = await out;
    t.ok(e instanceof MetaCommitError && e.code === 'ENOSPC', `${turns} turns and 5 ms later: ENOSPC (${String(e)})`);
  }
});

t.test('a cause never named: UNKNOWN after a bounded wait; one named later is handled', async (t) => {
  const c = failedCommit();
  const started = Date.now();
  const e = await commitFailure(c.err);
  const waited = Date.now() - started;
  t.ok(e instanceof MetaCommitError && e.code === 'UNKNOWN', `UNKNOWN (${String(e)})`);
  t.ok(waited >= 1500 && waited < 10_000, `after a bounded wait (${waited} ms)`);
  c.reject(enospc());
  await new Promise((r) => setTimeout(r, 20));
  t.same(unhandled, [], 'no unhandled rejection');
});

t.test('an error without lmdb-js\'s commitError is returned as it is', async (t) => {
  const plain = new Error('boom');
  t.equal(await commitFailure(plain), plain);
});
