// A restart after a crash serves at once. The scan for data files no record references (crash
// leftovers) reads every object, version and part record (seconds for a large store, minutes for
// one of many GB) and used to run before the daemon listened. It now runs while the daemon serves
// (storage/orphan-scan.ts), from a snapshot of the records taken before it listens:
//   - requests are answered during the scan;
//   - a data file written during the scan (no record names it until its upload ends) is never
//     taken for a leftover;
//   - the leftovers are still removed;
//   - a graceful stop in the middle of the scan leaves no clean-shutdown marker, so the next start
//     scans again.
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MetaStore } from '../../daemon/meta/store.js';
import { startDaemon, testBytes } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { openPut } from '../helpers/http.js';
import { createBucket, getBytes } from '../helpers/s3.js';

/** Enough records that the scan lasts well over a second on this machine (~8 µs each). */
const RECORDS = 80_000;
const FINISHED = 'start-up scan for unreferenced data files finished';

const first = await startDaemon();
const dataDir = first.dataDir;
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
const bucket = await createBucket(first.s3(), 'scan');
const big = testBytes(300_000, 7);
await first.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'big', Body: big }));
const firstStop = await first.stop();

// Many small objects, their data inline in LMDB as small PUTs store it, written straight into the store.
const smallBody = (i: number): Buffer => Buffer.from(`small object ${i} `.padEnd(700, '.'));
{
  const meta = new MetaStore(join(dataDir, '.s3d'));
  let pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < RECORDS; i++) {
    const body = smallBody(i);
    const etag = createHash('md5').update(body).digest('hex');
    pending.push(meta.putObject(bucket, `small/${String(i).padStart(6, '0')}`, { v: 1, size: body.length, etag, mtime: Date.now(), headers: {}, userMeta: {}, stored: body.length, data: { inline: body } }));
    if (pending.length >= 2000) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await meta.close();
}

/** Unreferenced data files, as a crash leaves them; and the marker gone, as a crash leaves it. */
function crashLeftovers(n: number): string[] {
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomBytes(16).toString('hex');
    mkdirSync(join(dataDir, '.s3d', 'objects', id.slice(0, 2)), { recursive: true });
    const path = join(dataDir, '.s3d', 'objects', id.slice(0, 2), id);
    writeFileSync(path, `leftover ${id}`);
    paths.push(path);
  }
  rmSync(join(dataDir, '.s3d', 'clean-shutdown'), { force: true });
  return paths;
}

t.test('after a crash the daemon serves while it scans; files written meanwhile are kept, leftovers removed', async (t) => {
  t.equal(firstStop, 0, 'the first run stopped cleanly');
  const leftovers = crashLeftovers(3);
  const before = new Set(dataFilePaths(dataDir).map((p) => basename(p)));
  const d = await startDaemon({ dataDir });
  t.teardown(() => d.stop());
  const finished = d.waitForLog((l) => l.msg === FINISHED, 120_000);

  t.ok((await getBytes(d.s3(), { Bucket: bucket, Key: 'big' })).equals(big), 'a GET is answered');
  const answeredAt = Date.now();

  // An upload whose data file is made during the scan and named by a record only after it.
  const body = testBytes(600_000, 8);
  const put = openPut(d.port, `/${bucket}/written-during-scan`, body.length);
  await put.write(body.subarray(0, 300_000));
  let madeAt = 0;
  for (let i = 0; i < 500 && madeAt === 0; i++) {
    if (dataFilePaths(dataDir).some((p) => !before.has(basename(p)))) madeAt = Date.now();
    else await new Promise((r) => setTimeout(r, 5));
  }
  t.ok(madeAt > 0, "the upload's data file exists");

  const line = await finished;
  t.ok(answeredAt < (line.time as number), `the GET was answered before the scan ended (${(line.time as number) - answeredAt} ms before)`);
  t.ok(madeAt < (line.time as number), `the upload's data file was made before the scan ended (${(line.time as number) - madeAt} ms before)`);
  t.ok((line.records as number) > RECORDS, `the scan read every record (${String(line.records)} in ${String(line.ms)} ms)`);
  t.equal(line.orphans, leftovers.length, 'it found the leftovers');
  for (const p of leftovers) t.notOk(existsSync(p), `${basename(p)} removed`);

  put.end(body.subarray(300_000));
  t.equal((await put.response).status, 200, 'the upload ends after the scan');
  t.ok((await getBytes(d.s3(), { Bucket: bucket, Key: 'written-during-scan' })).equals(body), 'and reads back whole');
  t.ok((await getBytes(d.s3(), { Bucket: bucket, Key: 'small/041234' })).equals(smallBody(41234)), 'a small object reads back');

  t.equal(await d.stop(), 0, 'stopped cleanly');
  t.ok(existsSync(join(dataDir, '.s3d', 'clean-shutdown')), 'a finished scan lets the stop leave its marker');
});

t.test('a stop in the middle of the scan leaves no marker: the next start scans again, allowing for two crashes\' leftovers', async (t) => {
  const leftovers = crashLeftovers(2);
  const d = await startDaemon({ dataDir });
  t.equal(await d.stop(), 0, 'stopped cleanly right after it listened');
  t.ok(d.jsonLogs().some((l) => typeof l.msg === 'string' && l.msg.startsWith('start-up scan for unreferenced data files stopped before its end')), 'the scan was cut short, and the log says so');
  t.notOk(d.jsonLogs().some((l) => l.msg === FINISHED), 'it did not finish');
  t.notOk(existsSync(join(dataDir, '.s3d', 'clean-shutdown')), 'no clean-shutdown marker');
  for (const p of leftovers) t.ok(existsSync(p), `${basename(p)} is still there`);

  // Writes ran while that scan did: a crash then leaves its leftovers beside the ones not yet
  // swept. More than one crash leaves (256 here) are not taken for the sign of a wrong metadata
  // store while they stay within one crash's worth per start whose scan did not end.
  const more = crashLeftovers(300);
  const again = await startDaemon({ dataDir });
  t.teardown(() => again.stop());
  const line = await again.waitForLog((l) => l.msg === FINISHED, 120_000);
  t.equal(line.orphans, leftovers.length + more.length, 'the next start scans and finds them all');
  t.notOk(again.jsonLogs().some((l) => typeof l.msg === 'string' && l.msg.startsWith('start-up sweep found far more data files')), 'no alarm about the metadata store');
  t.same([...leftovers, ...more].filter((p) => existsSync(p)), [], 'every one removed');
  t.notOk(existsSync(join(dataDir, '.s3d', 'orphans')), 'nothing moved aside');
});
