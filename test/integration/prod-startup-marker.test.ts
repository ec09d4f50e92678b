// A start that fails after it read the clean-shutdown marker (storage/clean-shutdown.ts) served
// nothing and wrote no data file: the next start, once the fault is fixed, must still skip its
// scan of every record for unreferenced data files (minutes on a large store). The marker used to
// be removed as soon as it was read, so a configuration error found later in the start-up (here
// S3_KMS_AUTO_ENCRYPTION=on without a KMS; a webhook target's unreadable client key, an HTTP
// server that would not build) cost the next start that scan.
import t from 'tap';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemon, testBytes } from '../helpers/daemon.js';
import { createBucket, getBytes } from '../helpers/s3.js';

const SKIPPED = 'the last shutdown was clean: start-up sweep skipped its scan for unreferenced data files';
const SCANNING = /^start-up scan for unreferenced data files runs in the background/;

const first = await startDaemon();
const dataDir = first.dataDir;
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
const bucket = await createBucket(first.s3(), 'marker');
const body = testBytes(300_000, 3);
await first.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: body }));
t.equal(await first.stop(), 0, 'the first run stopped cleanly');
const markerFile = join(dataDir, '.s3d', 'clean-shutdown');
t.ok(existsSync(markerFile), 'and left its clean-shutdown marker');

t.test('a start that fails after reading the marker leaves it; the next start skips the scan', async (t) => {
  const failed = await startDaemon({ dataDir, kms: false, env: { S3_KMS_AUTO_ENCRYPTION: 'on' } }).then(
    async (d) => {
      await d.stop();
      return 'it started';
    },
    (err: Error) => err.message,
  );
  t.match(failed, /S3_KMS_AUTO_ENCRYPTION=on needs a KMS/, 'the start failed on its configuration, after the store was opened');
  t.ok(existsSync(markerFile), 'the marker is still there');

  const d = await startDaemon({ dataDir });
  t.teardown(() => d.stop());
  t.ok(d.jsonLogs().some((l) => l.msg === SKIPPED), 'the next start skipped its scan');
  // The scan's line follows 'listening' (cli.ts): looked for a while, not only at once.
  const scanning = await d.waitForLog((l) => typeof l.msg === 'string' && SCANNING.test(l.msg), 1_500).then(
    () => true,
    () => false,
  );
  t.notOk(scanning, 'no scan runs');
  t.notOk(existsSync(markerFile), 'the start that serves removed the marker');
  t.ok((await getBytes(d.s3(), { Bucket: bucket, Key: 'obj' })).equals(body), 'the object reads back');
});
