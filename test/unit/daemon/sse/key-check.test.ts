// The start-up check of the built-in KMS key (sse/key-check.ts) runs once the daemon serves: it
// must give the event loop back while it looks through a store of many buckets. Proved by a
// visible effect of the bound (turns of the event loop while it runs), not by timing.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { checkStoredKey } from '../../../../daemon/sse/key-check.js';
import { turnsDuring } from '../../../helpers/wait.js';
import { decodedBytes } from '../../../helpers/meta-decoded.js';

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

t.test('the check reads records without their inline data, and finds a multipart object\'s sealed key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-key-check-'));
  const m = new MetaStore(dir);
  t.teardown(async () => {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await m.createBucket('b');
  const plain = (): ObjectRecord => ({ v: RECORD_VERSION, size: 65536, etag: 'e', mtime: 1, headers: {}, userMeta: {}, data: { inline: new Uint8Array(65536).fill(1) }, stored: 65536 });
  for (let i = 0; i < 20; i++) await m.putObject('b', `plain-${String(i).padStart(2, '0')}`, plain());
  // Its key sealed in the record, not in its parts (a part's key derives from the object's).
  const sse = { kind: 'SSE-S3' as const, algorithm: 'AES256', iv: new Uint8Array(32).fill(1), sealedKey: new Uint8Array(64).fill(2), kmsKey: 'k', kmsCiphertext: new Uint8Array(64).fill(3) };
  const part = { v: RECORD_VERSION, n: 1, size: 5 << 20, stored: 5 << 20, etag: 'p', data: { file: '0'.repeat(32) }, mtime: 1 };
  await m.putObject('b', 'sealed', { v: RECORD_VERSION, size: 5 << 20, etag: 'm-1', mtime: 1, headers: {}, userMeta: {}, stored: 5 << 20, parts: [part], sse });
  const decoded = decodedBytes(m);
  // No KMS: the unseal fails, and says why; the object it tried is the one with a sealed key.
  const found = await checkStoredKey({ kms: null }, m);
  t.equal(found?.key, 'sealed', 'the SSE-S3 object is found past the plain ones');
  t.ok(found?.error !== undefined, 'its unseal was tried');
  t.ok(decoded() < 65536, `20 inline objects of 64 KiB looked through by their metadata alone (${decoded()} bytes decoded)`);
});
