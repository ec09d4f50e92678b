// DataWriter.write (storage/files.ts) with O_DIRECT sends a batch in two pieces: its whole pages
// on the direct descriptor, the partial page at its end through a buffered one. It must settle
// only once both have: the caller then hands the buffer (a crypto slot) to its next user, and a
// piece still queued or being written would copy that user's bytes (another object's plaintext,
// opened into the slot by a GET) into this file. Here the buffered piece fails at once (its
// descriptor cannot be opened, as with EMFILE) while the direct piece waits for a thread of
// libuv's pool, all of which are held by reads of an empty FIFO until the test lets them go.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, read, readFileSync, rmSync, stat, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatePageAligned } from '../../../../daemon/storage/aligned.js';
import { DataWriter } from '../../../../daemon/storage/files.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 's3d-writer-pieces-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('a write settles only after every piece of it, also when one piece fails', async (t) => {
  const mem = allocatePageAligned(2 * MiB);
  if (mem === undefined) {
    t.comment('no page-aligned memory here: nothing is split into pieces');
    return;
  }
  const buf = new Uint8Array(mem, 0, MiB + 100);
  for (let i = 0; i < buf.length; i++) buf[i] = i % 200;
  const path = join(dir, 'data');
  const fd = openSync(path, constants.O_CREAT | constants.O_WRONLY, 0o600);
  // The buffered descriptor is opened by this path, which does not exist: that piece fails at once.
  const writer = new DataWriter('0'.repeat(32), join(dir, 'missing', 'data'), fd, Promise.resolve(), true);

  // Hold every thread of libuv's pool with a read of an empty FIFO.
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const pipe = openSync(fifo, constants.O_RDWR);
  const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const held = Array.from({ length: threads }, () => new Promise<void>((resolve) => read(pipe, Buffer.alloc(1), 0, 1, null, () => resolve())));
  const probe = new Promise<boolean>((resolve) => {
    let done = false;
    stat(dir, () => (done = true));
    setTimeout(() => resolve(done), 100);
  });
  t.equal(await probe, false, 'the thread pool is held (a stat waits)');

  let released = false;
  setTimeout(() => {
    released = true;
    writeSync(pipe, Buffer.alloc(threads));
  }, 300);
  const outcome = await writer.write(buf).then(
    () => 'resolved',
    (err: NodeJS.ErrnoException) => err.code ?? 'error',
  );
  const settledAfterRelease = released;
  // The buffer's next user writes into it as soon as the write settled.
  buf.fill(0xee);
  await Promise.all(held);
  closeSync(pipe);
  t.equal(outcome, 'ENOENT', 'the failed piece is reported');
  t.ok(settledAfterRelease, 'the write settled only after its queued piece could run');
  // Let the direct piece finish, however late.
  for (let i = 0; i < 100 && statSync(path).size < MiB; i++) await new Promise((r) => setTimeout(r, 20));
  const written = readFileSync(path);
  closeSync(fd);
  t.equal(written.length, MiB, 'the whole pages were written');
  t.notOk(written.includes(0xee), 'with this write\'s bytes, none of the buffer\'s next user');
});
