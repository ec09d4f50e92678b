// ops/storage-full.ts around a stub dispatcher and a DiskSpace with a scripted statfs: uploads are
// refused with 507 XMinioStorageFull below the reserve while reads, listings, deletes and aborts
// run; ENOSPC/EDQUOT from any handler, and an LMDB commit's EIO (or a cause never named) when statfs
// shows the disk (nearly) full, become XMinioStorageFull with a warning; other failures pass through
// unchanged.

import t from 'tap';
import type { Logger } from 'pino';
import { S3Error } from '../../../../daemon/errors.js';
import type { Operation } from '../../../../daemon/http/router.js';
import { MetaCommitError } from '../../../../daemon/meta/store.js';
import { guardStorage } from '../../../../daemon/ops/storage-full.js';
import type { RequestContext, Result } from '../../../../daemon/ops/types.js';
import { DiskSpace } from '../../../../daemon/storage/disk-space.js';

const MiB = 1024 * 1024;

function setup(free: number) {
  const warnings: string[] = [];
  const log = { info: () => undefined, warn: (_f: unknown, msg: string) => warnings.push(msg), error: () => undefined } as unknown as Logger;
  const usage = { free, total: 100 * MiB };
  const disk = new DiskSpace('/data', { minFree: { bytes: 10 * MiB, percent: Infinity }, log, statfs: async () => ({ ...usage }) });
  let failWith: unknown;
  const ran: Operation[] = [];
  const dispatch = async (ctx: RequestContext): Promise<Result> => {
    ran.push(ctx.op);
    if (failWith !== undefined) throw failWith;
    return { status: 200 };
  };
  const guarded = guardStorage(dispatch, disk);
  const call = async (op: Operation): Promise<string> => {
    try {
      return String((await guarded({ op } as RequestContext)).status);
    } catch (err) {
      return err instanceof S3Error ? `${err.code}/${err.status}` : `raw:${(err as Error).message}`;
    }
  };
  return {
    disk,
    usage,
    ran,
    warnings,
    call,
    fail(err: unknown) {
      failWith = err;
    },
  };
}

t.test('below the reserve: uploads are refused before the handler runs; reads, deletes and aborts run', async (t) => {
  const s = setup(5 * MiB);
  await s.disk.refresh();
  for (const op of ['PutObject', 'CopyObject', 'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload'] as const) {
    t.equal(await s.call(op), 'XMinioStorageFull/507', `${op} refused`);
  }
  t.same(s.ran, [], 'no handler ran');
  for (const op of ['GetObject', 'HeadObject', 'ListObjectsV2', 'DeleteObject', 'DeleteObjects', 'AbortMultipartUpload', 'PostObject', 'PutObjectTagging'] as const) {
    t.equal(await s.call(op), '200', `${op} runs`);
  }
  s.usage.free = 50 * MiB;
  await new Promise((r) => setTimeout(r, 120));
  t.equal(await s.call('PutObject'), '200', 'space freed meanwhile is seen at once (statfs asked before refusing)');
});

t.test('below the reserve: a CompleteMultipartUpload of an upload no longer in progress runs (it writes nothing: a retry is answered as the completion it repeats)', async (t) => {
  const warnings: string[] = [];
  const log = { info: () => undefined, warn: (_f: unknown, msg: string) => warnings.push(msg), error: () => undefined } as unknown as Logger;
  const disk = new DiskSpace('/data', { minFree: { bytes: 10 * MiB, percent: Infinity }, log, statfs: async () => ({ free: 5 * MiB, total: 100 * MiB }) });
  await disk.refresh();
  const guarded = guardStorage(async () => ({ status: 200 }), disk, undefined, (id) => id === 'open');
  const call = (op: Operation, uploadId: string): Promise<string> =>
    guarded({ op, query: new URLSearchParams({ uploadId }) } as unknown as RequestContext).then(
      (r) => String(r.status),
      (err: unknown) => (err instanceof S3Error ? `${err.code}/${err.status}` : 'raw'),
    );
  t.equal(await call('CompleteMultipartUpload', 'open'), 'XMinioStorageFull/507', 'an upload in progress: refused');
  t.equal(await call('CompleteMultipartUpload', 'finished'), '200', 'one no longer in progress: runs');
  t.equal(await call('UploadPart', 'finished'), 'XMinioStorageFull/507', 'UploadPart is refused whatever its upload');
});

t.test('a handler that meets a full disk: XMinioStorageFull, with a warning', async (t) => {
  const s = setup(50 * MiB);
  await s.disk.refresh();
  s.fail(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
  t.equal(await s.call('PutObject'), 'XMinioStorageFull/507', 'ENOSPC');
  s.fail(Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { code: 'EDQUOT' }));
  t.equal(await s.call('UploadPart'), 'XMinioStorageFull/507', 'EDQUOT');
  s.fail(new MetaCommitError('ENOSPC', new Error('No space left on device')));
  t.equal(await s.call('PutObjectTagging'), 'XMinioStorageFull/507', 'an LMDB commit with ENOSPC, whatever the operation');
  await new Promise((r) => setImmediate(r));
  t.equal(s.warnings.filter((w) => /data disk is full/.test(w)).length, 1, 'warned once');
});

for (const [code, what, message] of [
  ['EIO', 'failed with EIO', 'Input/output error'],
  ['UNKNOWN', 'whose cause lmdb-js never named', 'Commit failed (see commitError for details)'],
] as const) {
  t.test(`an LMDB commit ${what} is a full disk only when statfs says so`, async (t) => {
    const s = setup(100 * MiB);
    await s.disk.refresh();
    s.fail(new MetaCommitError(code, new Error(message)));
    t.equal(await s.call('PutObject'), `raw:metadata commit failed (${code})`, 'plenty of space: passed on (InternalError)');
    s.usage.free = 3 * MiB;
    t.equal(await s.call('CreateMultipartUpload'), 'XMinioStorageFull/507', 'nearly no space: a full disk (a short write, or a failure on it)');
  });
}

t.test('other failures pass through unchanged', async (t) => {
  const s = setup(50 * MiB);
  await s.disk.refresh();
  s.fail(new S3Error('NoSuchBucket'));
  t.equal(await s.call('PutObject'), 'NoSuchBucket/404');
  s.fail(Object.assign(new Error('boom'), { code: 'EACCES' }));
  t.equal(await s.call('PutObject'), 'raw:boom');
});
