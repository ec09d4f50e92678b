// Background-pass intervals longer than Node's timers hold (2^31-1 ms, about 24.8 days), which the
// duration settings allow (up to 3650d): S3_USAGE_SCAN_INTERVAL, S3_LIFECYCLE_SCAN_INTERVAL and
// S3_API_STALE_UPLOADS_CLEANUP_INTERVAL of 30d ran their pass every millisecond (Node turns an
// overlong delay into 1 ms, with a TimeoutOverflowWarning on stderr): a busy loop, and stale
// uploads aborted at once rather than at the next pass.

import t from 'tap';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { createBucket } from '../helpers/s3.js';
import { sleep } from '../helpers/wait.js';

t.test('intervals of 30 days and more wait that long: no pass every millisecond', async (t) => {
  const d = await startDaemonFor(t, {
    env: { S3_USAGE_SCAN_INTERVAL: '30d', S3_LIFECYCLE_SCAN_INTERVAL: '3650d', S3_API_STALE_UPLOADS_CLEANUP_INTERVAL: '30d', S3_API_STALE_UPLOADS_EXPIRY: '1s' },
  });
  // The first usage scan runs 5 s after start-up, and then every 30 days.
  t.equal(metricSample(await scrape(d.endpoint), 's3d_usage_scan_timestamp_seconds'), 0, 'no usage scan yet');
  const s3 = d.s3();
  const Bucket = await createBucket(s3, 'long-intervals');
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'abandoned' }));
  // Older than the expiry now, but the next look for stale uploads is 30 days away.
  await sleep(2000);
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
  t.same((uploads.Uploads ?? []).map((u) => u.UploadId), [up.UploadId], 'the upload is still there: stale uploads were looked for at start-up only');
  t.notOk(d.logs.some((l) => l.includes('TimeoutOverflowWarning')), 'no timer was cut to 1 ms');
});
