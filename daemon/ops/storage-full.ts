// A full data disk as clients see it: 507 XMinioStorageFull. While the data filesystem has less
// free space than the S3_MIN_FREE_DISK reserve, operations that store new object data are refused
// before they read a byte (reads, listings, deletes and aborts go on, so space can be freed); a
// write that meets a full disk anyway (ENOSPC, EDQUOT, an LMDB commit that could not grow its
// file) gets the same answer instead of a 500, and has left nothing behind (object-data.ts
// removes its data file; a failed commit changes nothing). A write the data directory refuses
// (a filesystem remounted read-only, EROFS; permissions changed, EACCES) is answered 503
// ServiceUnavailable, retryable and saying why, and noted by the write probe for one warning.

import { S3Error, isS3Error } from '../errors.js';
import type { Operation } from '../http/router.js';
import { MetaCommitError } from '../meta/store.js';
import { isNoSpaceError, type DiskSpace } from '../storage/disk-space.js';
import { notWritableCode, type WriteProbe } from '../storage/write-probe.js';
import type { Handler } from './types.js';

/**
 * Operations that add object data (Complete writes only metadata, but makes a new object). POST
 * Object is absent: its signed policy is checked first, then its write path refuses it
 * (object-data.ts), so an unsigned form learns nothing about the disk.
 */
const NEW_DATA: ReadonlySet<Operation> = new Set<Operation>(['PutObject', 'CopyObject', 'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload']);

export function storageFull(cause?: unknown): S3Error {
  return new S3Error('XMinioStorageFull', undefined, cause === undefined ? undefined : { cause });
}

/**
 * Whether a handler's failure means the disk is full: ENOSPC and the like; an LMDB commit that
 * failed with EIO, or whose cause lmdb-js never named, only when statfs agrees.
 */
async function diskWasFull(disk: DiskSpace, err: unknown): Promise<boolean> {
  if (isS3Error(err)) return false;
  if (isNoSpaceError(err)) return true;
  return err instanceof MetaCommitError && (err.code === 'EIO' || err.code === 'UNKNOWN') && (await disk.nearlyFull());
}

/** The answer to a write the data directory refused with `code`. */
export function notWritable(code: string, cause: unknown): S3Error {
  const what = code === 'EROFS' ? 'EROFS: a read-only filesystem' : code;
  return new S3Error('ServiceUnavailable', `The server cannot write to its data directory (${what}); please retry later.`, { cause });
}

/**
 * Wraps the dispatcher: the up-front reserve check, full-disk failures as XMinioStorageFull, and
 * writes the data directory refuses as ServiceUnavailable. `uploadInProgress` (MetaStore.getUpload):
 * a CompleteMultipartUpload of an upload no longer in progress writes nothing, it is answered as
 * the completion it repeats (a retry whose answer was lost) or NoSuchUpload, so it is not refused
 * for the reserve: a 507, which no SDK retries, told such a client that its completed upload failed.
 */
export function guardStorage(dispatch: Handler, disk: DiskSpace, probe?: WriteProbe, uploadInProgress?: (id: string) => boolean): Handler {
  const failed = async (err: unknown, op: Operation): Promise<never> => {
    if (await diskWasFull(disk, err)) {
      disk.noteFull(err, op);
      throw storageFull(err);
    }
    const refused = probe !== undefined && !isS3Error(err) ? notWritableCode(err) : undefined;
    if (refused !== undefined) {
      probe!.noteFailure(refused, op);
      throw notWritable(refused, err);
    }
    throw err;
  };
  const run: Handler = (ctx) => dispatch(ctx).catch((err: unknown) => failed(err, ctx.op));
  const runIfRoom: Handler = async (ctx) => {
    if (!(await disk.admitsNow(0))) throw storageFull();
    return run(ctx);
  };
  return (ctx) => {
    // Reads write nothing: the hottest paths go straight through.
    if (ctx.op === 'GetObject' || ctx.op === 'HeadObject') return dispatch(ctx);
    // The usual answer is known synchronously; only a likely refusal waits for a fresh statfs.
    const adds = NEW_DATA.has(ctx.op) && !(ctx.op === 'CompleteMultipartUpload' && uploadInProgress !== undefined && !uploadInProgress(ctx.query.get('uploadId') ?? ''));
    return adds && !disk.admits(0) ? runIfRoom(ctx) : run(ctx);
  };
}
