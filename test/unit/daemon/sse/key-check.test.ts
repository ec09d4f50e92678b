// The start-up check of the built-in KMS key (sse/key-check.ts) runs once the daemon serves: it
// must give the event loop back while it looks through a store of many buckets. Proved by a
// visible effect of the bound (turns of the event loop while it runs), not by timing.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION } from '../../../../daemon/meta/records.js';
import { checkStoredKey } from '../../../../daemon/sse/key-check.js';
import { turnsDuring } from '../../../helpers/wait.js';

t.test('many empty buckets: the check serves the event loop between pages of buckets', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-key-check-'));
  const m = new MetaStore(dir);
  t.teardown(async () => {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const N = 3000;
  for (let i = 0; i < N; i += 1000) await Promise.all(Array.from({ length: 1000 }, (_, j) => m.createBucket(`empty-${String(i + j).padStart(5, '0')}`)));
  // The last bucket by name holds an unencrypted object: nothing to unseal, no KMS asked.
  await m.createBucket('zz-plain');
  await m.putObject('zz-plain', 'o', { v: RECORD_VERSION, size: 1, etag: 'e', mtime: 1, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1 });
  // Every bucket looked into, one after the other without a turn in between, held every request
  // back for as long (~0.5 s per 100,000 empty buckets; the promise settled without a single turn).
  const { result: found, turns } = await turnsDuring(() => checkStoredKey({ kms: null }, m));
  t.equal(found, undefined, 'no SSE-S3/SSE-KMS object: nothing to check');
  t.ok(turns >= 10, `the event loop turned while the check went through ${N + 1} buckets (${turns} turns)`);
});
