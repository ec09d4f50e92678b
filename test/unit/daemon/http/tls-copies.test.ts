// The nameless copies of the checked certificate and key that uWS reads (http/tls.ts unlinkedCopy):
// a directory that fills up while the bytes are written (a full /dev/shm) is passed over for the
// next one, not taken for a bad certificate (exit 2 at start-up, which systemd does not restart).
// The full directory is a real tmpfs (mounting needs root: skipped without).

import t from 'tap';
import { closeSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unlinkedCopy } from '../../../../daemon/http/tls.js';
import { mountTmpfs, tmpfsUnavailable } from '../../../helpers/tmpfs.js';

const bytes = Buffer.alloc(64 * 1024, 'certificate bytes ');

t.test('a copy lands in the first directory, nameless, and reads back exactly', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-tls-copy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fd = unlinkedCopy(bytes, [dir]);
  t.teardown(() => closeSync(fd));
  t.strictSame(readdirSync(dir), [], 'no name left in the directory');
  t.ok(readFileSync(`/proc/self/fd/${fd}`).equals(bytes), 'read through /proc/self/fd: the same bytes');
});

t.test('a directory that fills up while the copy is written: the next one takes it', { skip: tmpfsUnavailable() }, async (t) => {
  const full = mountTmpfs(64 * 1024);
  if (typeof full === 'string') return t.fail(full);
  t.teardown(() => full.unmount());
  // Room for a name but not for the bytes: the open succeeds, the write meets ENOSPC.
  writeFileSync(join(full.dir, 'filler'), Buffer.alloc(60 * 1024));
  const next = mkdtempSync(join(tmpdir(), 's3d-tls-copy-'));
  t.teardown(() => rmSync(next, { recursive: true, force: true }));
  const fd = unlinkedCopy(bytes, [full.dir, next]);
  t.teardown(() => closeSync(fd));
  t.ok(readFileSync(`/proc/self/fd/${fd}`).equals(bytes), 'the copy in the next directory holds every byte');
  t.strictSame(readdirSync(full.dir), ['filler'], 'nothing left in the full one');
  t.throws(() => unlinkedCopy(bytes, [full.dir]), /no directory to hand the certificate to uWebSockets\.js through \(.*ENOSPC\)/, 'with no other directory: refused, naming why');
});
