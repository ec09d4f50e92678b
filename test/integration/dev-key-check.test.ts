// The start-up check of a static KMS key against a stored object's data key (cli.ts), under --dev
// without S3_KMS_SECRET_KEY: the key is the generated file .s3d/kms-dev.key, and the warning asked
// "was S3_KMS_SECRET_KEY changed?" of an operator who never set it.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MetaStore } from '../../daemon/meta/store.js';
import { startDaemon } from '../helpers/daemon.js';
import { createBucket } from '../helpers/s3.js';

t.test('--dev: a replaced development key file is named in the start-up warning, not S3_KMS_SECRET_KEY', async (t) => {
  const first = await startDaemon({ dev: true, kms: false });
  t.teardown(() => first.cleanup());
  const s3 = first.s3();
  const bucket = await createBucket(s3, 'devkey');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sealed', Body: 'under the dev key', ServerSideEncryption: 'AES256' }));
  await first.stop();
  // Empty buckets before it by name, more than the check reads at once (sse/key-check.ts pages
  // them): the object is still found behind them.
  const fill = new MetaStore(join(first.dataDir, '.s3d'));
  await Promise.all(Array.from({ length: 250 }, (_, i) => fill.createBucket(`a-empty-${String(i).padStart(3, '0')}`)));
  await fill.close();
  // Another key under the same name: as after the file was deleted and generated anew.
  writeFileSync(join(first.dataDir, '.s3d', 'kms-dev.key'), `s3d-dev-key:${Buffer.alloc(32, 9).toString('base64')}\n`, { mode: 0o600 });
  const d = await startDaemon({ dev: true, kms: false, dataDir: first.dataDir });
  t.teardown(() => d.stop());
  const warned = await d.waitForLog((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('does not open the data key'));
  t.equal(warned.key, 'sealed', 'names the stored object');
  t.match(String(warned.msg), /^KMS: the development key \(\.s3d\/kms-dev\.key\) does not open the data key of stored object /, 'names the key in use');
  t.match(String(warned.msg), /was \.s3d\/kms-dev\.key replaced or deleted\?/, 'and asks about its file');
  t.notMatch(String(warned.msg), /S3_KMS_SECRET_KEY/, 'not about a variable that is not set');
});
