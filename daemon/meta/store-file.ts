// A first look at the metadata store's file before LMDB maps it. LMDB trusts its two meta pages:
// a data.mdb that is garbage (a bad restore, a disk that returned zeros) or cut short (a copy
// that stopped midway) crashes the process inside lmdb-js with SIGSEGV or SIGBUS, no message, and
// under systemd a restart loop. The daemon, `s3d verify` and `s3d backup` ask here first and
// refuse such a file by name. Only what LMDB itself would trip over is looked at (the meta
// pages' magic, the page size, the last page they name); a file in a layout this does not know
// is left to LMDB. Read-only; safe on a store a daemon is writing (meta pages keep their magic
// and page size, and the file never ends before the last page a committed meta page names).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const MDB_MAGIC = 0xbeefc0de;
/** lmdb-js's LMDB: a 24-byte page header (page number, transaction id, flags, bounds). */
const META_AT = 24;
/** The page header of LMDB 0.9 (16 bytes): a layout this does not read further. */
const LMDB09_META_AT = 16;
/** Within the meta: the free DB's md_pad (the page size), then mm_last_pg and mm_txnid. */
const PSIZE_AT = META_AT + 24;
const LAST_PG_AT = META_AT + 120;
const TXNID_AT = META_AT + 128;
const META_BYTES = TXNID_AT + 8;

function readAt(fd: number, at: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  const got = readSync(fd, b, 0, n, at);
  return b.subarray(0, got);
}

/**
 * What is wrong with the metadata store file at `path` that would crash LMDB, or undefined when
 * nothing is (or the file is missing or empty: the callers judge those, and LMDB makes a new store).
 */
export function storeFileDamage(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return undefined;
    const first = readAt(fd, 0, META_BYTES);
    if (first.length >= LMDB09_META_AT + 4 && first.readUInt32LE(LMDB09_META_AT) === MDB_MAGIC) return undefined;
    if (first.length < META_BYTES || first.readUInt32LE(META_AT) !== MDB_MAGIC) return `${path} is not an LMDB store (its first page holds no LMDB meta page: ${size} bytes of something else)`;
    const psize = first.readUInt32LE(PSIZE_AT);
    if (psize < 512 || psize > 65536 || (psize & (psize - 1)) !== 0) return `${path} is damaged (its meta page names a page size of ${psize} bytes)`;
    if (size < 2 * psize) return `${path} is cut short (${size} bytes: less than its two meta pages of ${psize} bytes)`;
    const second = readAt(fd, psize, META_BYTES);
    if (second.length < META_BYTES || second.readUInt32LE(META_AT) !== MDB_MAGIC) return `${path} is damaged (its second meta page holds no LMDB meta page)`;
    // LMDB opens the meta page of the later transaction: every page it names must be in the file.
    const meta = second.readBigUInt64LE(TXNID_AT) > first.readBigUInt64LE(TXNID_AT) ? second : first;
    const pages = meta.readBigUInt64LE(LAST_PG_AT) + 1n;
    if (pages * BigInt(psize) > BigInt(size)) return `${path} is cut short (${size} bytes; its last transaction wrote ${pages} pages of ${psize} bytes)`;
    return undefined;
  } finally {
    closeSync(fd);
  }
}
