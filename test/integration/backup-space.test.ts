// `s3d backup` checks DEST's free space before it copies, on real filesystems too small for the
// backup (tmpfs mounts; the file is skipped where mount is not permitted, i.e. not root):
//  - DEST on another filesystem without room for the data files: exit 1 before any data file is
//    copied, with a message naming what is needed and what is free; DEST (or the new directory
//    under --into ROOT) is removed and the hold released;
//  - DEST on the data directory's own filesystem: a warning that one failing disk takes both, and
//    the daemon's S3_MIN_FREE_DISK reserve (read from the environment, as the server reads it) is
//    kept free: a backup that would fit only by eating into it is refused, with the reserve named;
//    --no-space-check skips the check (for filesystems whose copies share blocks) and the backup
//    completes; a bad S3_MIN_FREE_DISK is exit 2;
//  - the record of the last backup that ended well (DIR/.s3d/last-backup), which the daemon
//    serving DIR exports as s3d_backup_last_* metrics: 0 before the first good backup and after
//    failed ones, then the newest good one's time, duration and bytes.
// Before the check, the first case failed only once copy_file_range met ENOSPC, and the second
// filled the daemon's disk past its reserve.

import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { runS3d, startDaemon, testBytes, type S3dRun } from '../helpers/daemon.js';
import { clientFor, createBucket, getBytes } from '../helpers/s3.js';
import { mountTmpfs, tmpfsUnavailable, type Tmpfs } from '../helpers/tmpfs.js';
import { holdFile } from '../../daemon/storage/backup-hold.js';
import { lastBackupFile } from '../../daemon/storage/run-records.js';
import { send } from '../helpers/http.js';

const MiB = 1024 * 1024;
const SKIP = tmpfsUnavailable();

/** A gauge's value in a metrics text, undefined when it has no sample. */
function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

function backup(args: string[], env: Record<string, string> = {}): Promise<S3dRun> {
  return runS3d(['backup', ...args], env);
}

function mount(bytes: number): Tmpfs {
  const m = mountTmpfs(bytes);
  if (typeof m === 'string') throw new Error(m);
  return m;
}

t.test('a backup checks the free space of DEST before it copies', { skip: SKIP }, async (t) => {
  // The data directory's filesystem: 64 MiB holding 18 MiB of data files.
  const home = mount(64 * MiB);
  const small = mount(8 * MiB);
  const dataDir = join(home.dir, 'data');
  const d = await startDaemon({ dataDir, dev: true, kms: false });
  t.teardown(async () => {
    await d.stop();
    home.unmount();
    small.unmount();
  });
  const s3 = clientFor(d);
  const scrape = async (): Promise<string> => (await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster' })).body.toString();
  const bucket = await createBucket(s3, 'space');
  const bodies = Array.from({ length: 6 }, (_, i) => testBytes(3 * MiB, i + 1));
  for (const [i, body] of bodies.entries()) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `obj-${i}`, Body: body }));

  t.test('another filesystem without room: refused before any data file is copied', async (t) => {
    const dest = join(small.dir, 'dest');
    const r = await backup([dataDir, dest]);
    t.equal(r.code, 1, `exit 1 (${r.stderr.trim()})`);
    t.match(r.stderr, /not enough free space for the backup in .*: the 6 data file\(s\): 18\.\d MiB needed, \d+\.\d MiB free;/, 'the error names what is needed and what is free');
    t.notMatch(r.stderr, /S3_MIN_FREE_DISK keeps/, 'no reserve on a filesystem the daemon does not write');
    t.notMatch(r.stderr, /ENOSPC/, 'found by the check, not by running out of space');
    t.notMatch(r.stdout, /copied \d+\/\d+ data file|data file\(s\) copied/, 'no data file was copied');
    t.notMatch(r.stdout, /warning: .* is on the filesystem of/, 'no same-disk warning');
    t.same(readdirSync(small.dir), [], 'DEST was removed');
    t.notOk(existsSync(lastBackupFile(dataDir)), 'a failed backup records no last backup');
    t.equal(metric(await scrape(), 's3d_backup_last_success_timestamp_seconds'), 0, 'and the daemon reports no backup yet (0)');
    t.notOk(existsSync(holdFile(dataDir)), 'the hold was released');

    // A DEST this user may not write (a read-only filesystem): refused before anything is made.
    const ro = mountTmpfs(MiB, ',ro');
    if (typeof ro === 'string') throw new Error(ro);
    t.teardown(() => ro.unmount());
    const readOnly = await backup([dataDir, join(ro.dir, 'dest')]);
    t.equal(readOnly.code, 2, `a read-only DEST: exit 2 (${readOnly.stderr.trim()})`);
    t.match(readOnly.stderr, /cannot write in DEST .*\/dest \(EROFS: a read-only filesystem\): give a directory this user may write/, 'says so');
    t.notMatch(readOnly.stderr, /was removed/, 'and claims no removal of what it never wrote');

    const root = join(small.dir, 'backups');
    const r2 = await backup([dataDir, '--into', root, '--keep', '2']);
    t.equal(r2.code, 1, `--into: exit 1 as well (${r2.stderr.trim()})`);
    t.match(r2.stderr, /not enough free space for the backup in .*backups\/\d{8}T\d{6}Z: the 6 data file\(s\): 18\.\d MiB needed/, 'naming the new directory');
    t.same(readdirSync(root), [], 'whose new directory is removed');
  });

  t.test("DIR's own filesystem: the daemon's reserve is kept free; --no-space-check skips the check", async (t) => {
    const dest = join(home.dir, 'dest');
    // ~46 MiB free: 18 MiB of data files fit, but not beside a 32 MiB reserve.
    const refused = await backup([dataDir, dest], { S3_MIN_FREE_DISK: '32MiB' });
    t.equal(refused.code, 1, `exit 1 (${refused.stderr.trim()})`);
    t.match(refused.stdout, /warning: .*\/dest is on the filesystem of .*\/data: a failing disk takes both/, 'it warns that DEST shares the data disk');
    t.match(refused.stderr, /the 6 data file\(s\): 18\.\d MiB needed, \d+\.\d MiB free, and on the data directory's own filesystem S3_MIN_FREE_DISK keeps 32\.0 MiB free for the daemon; .*--no-space-check/, 'the reserve is named, and the way around the check');
    t.notOk(existsSync(dest), 'DEST was removed');

    const bad = await backup([dataDir, dest], { S3_MIN_FREE_DISK: 'lots' });
    t.equal(bad.code, 2, 'a bad S3_MIN_FREE_DISK: exit 2');
    t.match(bad.stderr, /S3_MIN_FREE_DISK must be a size/, 'naming the variable');

    const skipped = await backup([dataDir, dest, '--no-space-check'], { S3_MIN_FREE_DISK: '32MiB' });
    t.equal(skipped.code, 0, `--no-space-check: the backup completes (${skipped.stderr.trim()})`);
    t.match(skipped.stdout, /warning: .* is on the filesystem of/, 'still warning about the shared disk');
    t.match(skipped.stdout, /done: 6 object\(s\).* 6 data file\(s\) \(18\.0 MiB\)/, 'every data file copied');

    // With the default reserve (1 % of 64 MiB) the rest fits: a second backup is accepted.
    const dest2 = join(home.dir, 'dest2');
    const fits = await backup([dataDir, dest2]);
    t.equal(fits.code, 0, `the default reserve leaves room for a second backup (${fits.stderr.trim()})`);
    t.match(fits.stdout, /the data files take 18\.0 MiB; \d+\.\d MiB is free in .*\/dest2\n/, 'and says what the data files take and what is free');

    // The last good backup, for monitoring: dest2's.
    const rec = JSON.parse(readFileSync(lastBackupFile(dataDir), 'utf8')) as Record<string, unknown>;
    t.match(rec, { dest: dest2, files: 6, objects: 6 }, 'DIR/.s3d/last-backup names the newest good backup');
    t.ok((rec.bytes as number) > 18 * MiB, `with the bytes it copied, data and metadata (${String(rec.bytes)})`);
    t.equal(statSync(lastBackupFile(dataDir)).mode & 0o777, 0o644, 'readable by a daemon running as another user');
    t.notOk(existsSync(join(dest2, '.s3d', 'last-backup')), 'and not copied into the backup');
    const metrics = await scrape();
    const at = metric(metrics, 's3d_backup_last_success_timestamp_seconds');
    t.ok(at !== undefined && Math.abs(at * 1000 - Date.parse(rec.finished as string)) < 1 && Date.now() / 1000 - at < 60, `the daemon exports its time (${String(at)})`);
    t.equal(metric(metrics, 's3d_backup_last_bytes'), rec.bytes, 'its bytes');
    t.equal(metric(metrics, 's3d_backup_last_duration_seconds'), rec.seconds, 'and its duration');
    t.notMatch(skipped.stdout, /the data files take/, 'which --no-space-check did not measure');

    const d2 = await startDaemon({ dataDir: dest, dev: true, kms: false });
    t.teardown(() => d2.stop());
    const s3b = clientFor(d2);
    for (const [i, body] of bodies.entries()) t.ok((await getBytes(s3b, { Bucket: bucket, Key: `obj-${i}` })).equals(body), `obj-${i} reads back from the backup`);
  });
});
