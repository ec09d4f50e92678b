// One s3d per data directory. A second daemon started on a directory in use (by hand beside the
// service, a second container on the same volume) used to run its start-up sweep first, which
// deleted the data file of an upload the first daemon was still receiving (its record not yet
// committed): the upload was then answered 200 and could never be read. Now the second daemon
// stops at once with exit 2 and touches nothing; after the first one dies, even by SIGKILL, the
// directory is free again.
import t from 'tap';
import { execFile } from 'node:child_process';
import { MAIN, startDaemon, testBytes } from '../helpers/daemon.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { md5Hex } from '../helpers/hash.js';
import { raw } from '../helpers/http.js';

function runSecond(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'server', dataDir, '--dev'], { env: { PATH: process.env.PATH, S3_ADDRESS: '127.0.0.1:0' }, timeout: 20_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
    });
  });
}

t.test('a second daemon on a directory in use stops with exit 2 and harms no upload in flight', async (t) => {
  const a = await startDaemon();
  t.teardown(() => a.cleanup());
  const s3 = a.s3();
  const bucket = await createBucket(s3, 'lock');
  // A 24 MiB upload sent slowly enough that the second daemon starts while it is in flight.
  const body = testBytes(24 * 1024 * 1024, 7);
  async function* slow(): AsyncGenerator<Buffer> {
    for (let off = 0; off < body.length; off += 1024 * 1024) {
      yield body.subarray(off, off + 1024 * 1024);
      await new Promise((r) => setTimeout(r, 40));
    }
  }
  const upload = raw(a.port, { method: 'PUT', path: `/${bucket}/in-flight`, body: slow(), headers: { 'content-length': String(body.length) }, sign: { payloadHash: 'UNSIGNED-PAYLOAD' } });
  await new Promise((r) => setTimeout(r, 150));
  const second = await runSecond(a.dataDir);
  t.equal(second.code, 2, 'the second daemon exits 2 (a configuration matter: systemd does not restart it)');
  t.match(second.stderr, /data directory .* is in use by another s3d/, 'and says why');
  const put = await upload;
  t.equal(put.status, 200, 'the upload in flight completes');
  t.equal(put.headers.etag, `"${md5Hex(body)}"`, 'with its MD5 ETag');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'in-flight' })).equals(body), 'and reads back whole: its file was not swept');

  // SIGKILL: no stale lock is left behind.
  await a.stop('SIGKILL');
  const b = await startDaemon({ dataDir: a.dataDir });
  t.teardown(() => b.stop());
  t.ok((await getBytes(b.s3(), { Bucket: bucket, Key: 'in-flight' })).equals(body), 'after the first one died, a daemon starts on the directory and serves it');
  const third = await runSecond(a.dataDir);
  t.equal(third.code, 2, 'and holds the lock in turn');
});
