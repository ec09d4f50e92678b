// A fan-out directory of the data files (.s3d/objects/xx) that goes away under a serving daemon
// (removed by hand, a restore of objects/ from elsewhere) is made again by the next upload whose
// file lands in it. The daemon remembered each directory it had made or found: an upload into one
// that had gone opened its new file in a missing directory, ENOENT, and was answered 500 until
// the daemon restarted (one upload in 256 for each such directory).
import t from 'tap';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { createBucket, getBytes, putMany, s3Code } from '../helpers/s3.js';

t.test('uploads into fan-out directories removed under the daemon succeed and stay readable', async (t) => {
  // Every object in a data file, however small: many directories in use with small bodies.
  const d = await startDaemonFor(t, { env: { S3_INLINE_THRESHOLD: '0' } });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'fanout');
  // ~400 files: most of the 256 directories are made (and remembered) by the daemon.
  await putMany(d, bucket, Array.from({ length: 400 }, (_, i) => `before-${i}`));
  const objects = join(d.dataDir, '.s3d', 'objects');
  const dirs = readdirSync(objects);
  t.ok(dirs.length > 150, `the uploads made ${dirs.length} fan-out directories`);
  for (const sub of dirs) rmSync(join(objects, sub), { recursive: true, force: true });

  const codes: string[] = [];
  for (let i = 0; i < 40; i++) {
    codes.push(await s3Code(s3.send(new PutObjectCommand({ Bucket: bucket, Key: `after-${i}`, Body: `body of after-${i}` }))));
  }
  t.same(
    codes.filter((c) => c !== 'ok'),
    [],
    'every upload after the removal is answered 200',
  );
  for (let i = 0; i < 40; i++) {
    if (codes[i] !== 'ok') continue;
    t.equal((await getBytes(s3, { Bucket: bucket, Key: `after-${i}` })).toString(), `body of after-${i}`, `after-${i} reads back`);
  }
});
