// The usage scan (meta/usage.ts) over a real MetaStore: its figures (objects and bytes, noncurrent
// versions and theirs, delete markers, versions per KMS key, multipart objects among them) come
// from the records' metadata, read without their inline data (meta/listed-record.ts): a page of
// inline objects read whole copied their data out, ~20 ms of the event loop per 1,000 of 64 KiB.

import t from 'tap';
import type { Logger } from 'pino';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { UsageScanner } from '../../../../daemon/meta/usage.js';
import { openStore, versioned } from '../../../helpers/meta-versions.js';
import { decodedBytes } from '../../../helpers/meta-decoded.js';

const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;

function inline(over: Partial<ObjectRecord> = {}): ObjectRecord {
  return { v: RECORD_VERSION, size: 65536, etag: 'e', mtime: 1, headers: {}, userMeta: {}, data: { inline: new Uint8Array(65536).fill(1) }, stored: 65536, ...over };
}

t.test('usage figures from records read without their data', async (t) => {
  const m = openStore(t);
  await versioned(m, 'vb', 'Enabled');
  const sse = { kind: 'SSE-S3' as const, algorithm: 'AES256', iv: new Uint8Array(32), sealedKey: new Uint8Array(64), kmsKey: 'key-a', kmsCiphertext: new Uint8Array(64) };
  for (let i = 0; i < 10; i++) await m.putObject('vb', `k${i}`, inline());
  for (let i = 0; i < 5; i++) await m.putObject('vb', `k${i}`, inline({ size: 100, sse }));
  await m.deleteObject('vb', 'k9');
  // A multipart object: its key sealed in the record, its parts not read.
  const part = { v: RECORD_VERSION, n: 1, size: 5 << 20, stored: 5 << 20, etag: 'p', data: { file: '0'.repeat(32) }, mtime: 1 };
  const { data: _d, ...noData } = inline({ size: 5 << 20, stored: 5 << 20, sse, parts: [part] });
  await m.putObject('vb', 'mp', noData as ObjectRecord);
  const decoded = decodedBytes(m);
  const usage = new UsageScanner(m, log, 0);
  await usage.scan();
  t.same(usage.usage.get('vb'), { objects: 10, bytes: 5 * 100 + 4 * 65536 + (5 << 20), versions: 6, versionBytes: 6 * 65536, deleteMarkers: 1 });
  t.same([...usage.kmsKeys], [['key-a', 6]], 'the versions each KMS key seals');
  t.ok(decoded() < 65536, `16 records of 64 KiB read by their metadata alone (${decoded()} bytes decoded)`);
});
