// `s3d backup` and `s3d verify` time what they report (their last line, and the run records the
// daemon exports as s3d_backup_last_duration_seconds) on the monotonic clock: under a wall clock
// that steps back an hour between any two reads (a preload replaces Date.now), the durations stay
// small and positive. Before, they came out hours negative.

import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { runS3d, startDaemon, testBytes } from '../helpers/daemon.js';
import { clientFor, createBucket } from '../helpers/s3.js';
import { runRecordFile } from '../../daemon/storage/run-records.js';

const work = mkdtempSync(join(tmpdir(), 's3d-clock-durations-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
// Each process that loads the preload says so in this file: without it (its NODE_OPTIONS lost on
// the way to the child) the durations are small and positive anyway, and the tests would pass.
const loaded = join(work, 'preloaded');
const STEPPING = `
import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(loaded)}, process.pid + '\\n');
const realNow = Date.now;
let steps = 0;
Date.now = () => realNow() - 3_600_000 * ++steps;
`;
const preload = join(work, 'stepping-clock.mjs');
writeFileSync(preload, STEPPING);
/** Whether the preload ran in the command just run (and forgets it for the next). */
const preloaded = (): boolean => {
  const was = existsSync(loaded);
  rmSync(loaded, { force: true });
  return was;
};
const env = { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` };

const d = await startDaemon({ dataDir: join(work, 'data') });
const s3 = clientFor(d);
const bucket = await createBucket(s3, 'clock');
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big', Body: testBytes(300_000, 3) }));
await d.stop();
t.teardown(() => d.cleanup());

/** The seconds of a "... in N s" line. */
const saidSeconds = (stdout: string): number => Number(/ in (-?[\d.]+) s\b/.exec(stdout)?.[1]);

t.test('s3d backup: its duration is not skewed by the wall clock', async (t) => {
  const run = await runS3d(['backup', d.dataDir, join(work, 'dest')], env);
  t.equal(run.code, 0, `backup ok (${run.stderr.trim()})`);
  t.ok(preloaded(), 'it ran under the stepping clock');
  const said = saidSeconds(run.stdout);
  t.ok(said >= 0 && said < 60, `said ${said} s`);
  const rec = JSON.parse(readFileSync(runRecordFile(d.dataDir, 'last-backup'), 'utf8')) as { seconds: number };
  t.ok(rec.seconds >= 0 && rec.seconds < 60, `recorded ${rec.seconds} s`);
});

t.test('s3d verify: its duration is not skewed by the wall clock', async (t) => {
  const run = await runS3d(['verify', d.dataDir], { ...env, S3_CRYPTO_WORKERS: '1' });
  t.equal(run.code, 0, `verify ok (${run.stderr.trim()})`);
  t.ok(preloaded(), 'it ran under the stepping clock');
  const said = saidSeconds(run.stdout);
  t.ok(said >= 0 && said < 60, `said ${said} s`);
  const rec = JSON.parse(readFileSync(runRecordFile(d.dataDir, 'last-verify'), 'utf8')) as { seconds: number };
  t.ok(rec.seconds >= 0 && rec.seconds < 60, `recorded ${rec.seconds} s`);
});
