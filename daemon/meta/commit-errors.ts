// The metadata store's errors: conflicts a write finds inside its transaction (MetaConflict), and
// commits LMDB could not write (MetaCommitError), with the workarounds for how lmdb-js reports a
// failed commit. meta/store.ts re-exports the two error classes.

import { constants as osConstants } from 'node:os';

export class MetaConflict extends Error {
  readonly code: 'NoSuchBucket' | 'BucketNotEmpty' | 'BucketAlreadyOwnedByYou' | 'NoSuchUpload' | 'NoSuchKey' | 'NoSuchVersion' | 'MethodNotAllowed' | 'PreconditionFailed' | 'InvalidPart' | 'ObjectLocked';
  /** InvalidPart: the number of the part that is no longer the one the completion was given. */
  readonly part: number | undefined;
  constructor(code: MetaConflict['code'], part?: number) {
    super(code);
    this.code = code;
    this.part = part;
  }
}

/**
 * A commit LMDB could not write; nothing of it became visible. `code` names lmdb-js's error: an
 * errno (ENOSPC, EDQUOT; EIO when the disk took only part of a page write) or an MDB_ code;
 * UNKNOWN when lmdb-js did not say (commitFailure).
 */
export class MetaCommitError extends Error {
  readonly code: string;
  constructor(code: string, cause: unknown) {
    super(`metadata commit failed (${code})`, { cause });
    this.name = 'MetaCommitError';
    this.code = code;
  }
}

const MDB_CODES: Readonly<Record<number, string>> = { [-30792]: 'MDB_MAP_FULL', [-30791]: 'MDB_DBS_FULL', [-30788]: 'MDB_TXN_FULL' };

function lmdbCode(code: unknown): string {
  if (typeof code === 'string') return code;
  if (typeof code !== 'number') return 'UNKNOWN';
  for (const [name, n] of Object.entries(osConstants.errno)) if (n === code) return name;
  return MDB_CODES[code] ?? String(code);
}

/** How long a failed commit's cause is waited for before it is given up as unknown. */
const CAUSE_WAIT_MS = 2000;

/**
 * lmdb-js rejects every write of a failed commit with a generic Error whose `commitError` is a
 * second promise that nothing handles (lmdb-js#368), rejected with the real failure (its errno)
 * when the failed commit's write thread reports its end to the event loop. The writes are
 * rejected by whatever first sees the commit's failed flag: often that report, but under
 * concurrent writes another of lmdb-js's callbacks (a progress report queued before it: the stack
 * is resolveWrites under startWriting's callback) or a later write's poll may see it first, and
 * the cause then comes one or more event-loop turns later (a single setImmediate, waited before,
 * missed it: a full disk answered 500). It is waited for (a handler attached in the same
 * microtask run, before Node would call it unhandled and end the process), at most
 * CAUSE_WAIT_MS: then the failure is a MetaCommitError of code UNKNOWN.
 */
export async function commitFailure(err: unknown): Promise<unknown> {
  const detail = (err as { commitError?: unknown } | undefined)?.commitError;
  if (!(detail instanceof Promise)) return err;
  let timer: NodeJS.Timeout | undefined;
  const cause = await Promise.race([
    detail.then(
      () => undefined,
      (e: unknown) => e,
    ),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, CAUSE_WAIT_MS, undefined);
    }),
  ]);
  clearTimeout(timer);
  return cause === undefined ? new MetaCommitError('UNKNOWN', err) : new MetaCommitError(lmdbCode((cause as { code?: unknown }).code), cause);
}

/**
 * lmdb-js also makes a commit promise per event-turn batch that nothing awaits: when that commit
 * fails (a full disk), the rejection is unhandled, although every write in the batch was rejected
 * to its caller too, and Node would end the process. Those rejections are dropped; any other still
 * ends the process, as Node's default does.
 */
let orphanCommitsTolerated = false;
export function tolerateOrphanCommitRejections(): void {
  if (orphanCommitsTolerated) return;
  orphanCommitsTolerated = true;
  process.on('unhandledRejection', (reason) => {
    const detail = (reason as { commitError?: unknown } | undefined)?.commitError;
    if (reason instanceof Error && detail instanceof Promise) {
      detail.catch(() => undefined);
      return;
    }
    throw reason;
  });
}
