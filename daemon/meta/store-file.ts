// A first look at the metadata store's file before LMDB maps it. LMDB trusts its two meta pages:
// a data.mdb that is garbage (a bad restore, a disk that returned zeros) or cut short (a copy
// that stopped midway) crashes the process inside lmdb-js with SIGSEGV or SIGBUS, no message, and
// under systemd a restart loop. The daemon, `s3d verify` and `s3d backup` ask here first and
// refuse such a file by name. Only what LMDB itself would trip over is looked at (the meta
// pages' magic, the page size, the root pages of its trees); a file in a layout this does not
// know is left to LMDB. Read-only; safe on a store a daemon is writing (meta pages keep their
// magic and page size, and a committed meta page names no tree page past the file's end).
//
// A file may end before the last page its meta page names: LMDB writes only the pages a commit
// keeps, and pages a transaction took at the end and freed again (a batch that wrote records and
// deleted them) are counted in that last page but never written. LMDB opens such a store and never
// reads those pages: the length alone does not say a store was cut short (refusing it kept a
// healthy store from starting after a clean stop). A cut copy loses pages its trees still use:
// their roots, which LMDB reads first, are looked for within the file.

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
/** An MDB_db (48 bytes): its md_root at 40. The meta holds the free DB's, then the main DB's. */
const DB_ROOT_AT = 40;
const FREE_ROOT_AT = PSIZE_AT + DB_ROOT_AT;
const MAIN_ROOT_AT = PSIZE_AT + 48 + DB_ROOT_AT;
/** The root of an empty tree. */
const NO_PAGE = 0xffffffffffffffffn;
/** Page flags (at 18 in the page header), node flags and the header's size (nodes are placed after it). */
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const F_SUBDATA = 0x02;
const PAGE_HEADER = 24;
/** The main DB holds the named databases' records (a dozen): a walk of more pages is no store of s3d's. */
const MAX_MAIN_PAGES = 64;

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
    if (pages * BigInt(psize) <= BigInt(size)) return undefined;
    // Shorter than the last page named: healthy when every tree's root is within the file.
    const inFile = BigInt(Math.floor(size / psize));
    const { roots, bad } = treeRoots(fd, psize, meta, inFile);
    if (bad !== undefined) return `${path} is damaged (page ${bad}, in its main tree, is no tree page)`;
    const past = roots.find((root) => root >= inFile);
    if (past !== undefined) return `${path} is cut short (${size} bytes; its last transaction wrote ${pages} pages of ${psize} bytes, and a tree's root is page ${past})`;
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * The root pages of the store's trees: the free DB's, the main DB's and those of the named
 * databases the main DB records (read from its pages; a main-DB page past the file's end, at
 * `inFile` or later, is returned as such and not read). `bad`: a main-tree page that is neither a
 * branch nor a leaf, or whose node list runs past its end (garbage: reading on would throw).
 */
function treeRoots(fd: number, psize: number, meta: Buffer, inFile: bigint): { roots: bigint[]; bad?: bigint } {
  const roots = [meta.readBigUInt64LE(FREE_ROOT_AT), meta.readBigUInt64LE(MAIN_ROOT_AT)].filter((r) => r !== NO_PAGE);
  const main = meta.readBigUInt64LE(MAIN_ROOT_AT);
  const todo = main === NO_PAGE ? [] : [main];
  for (let read = 0; todo.length > 0 && read < MAX_MAIN_PAGES; read++) {
    const pgno = todo.pop()!;
    if (pgno >= inFile) {
      roots.push(pgno);
      continue;
    }
    const page = readAt(fd, Number(pgno) * psize, psize);
    const flags = page.readUInt16LE(18);
    const keys = page.readUInt16LE(20) >> 1;
    if ((flags & (P_BRANCH | P_LEAF)) === 0 || PAGE_HEADER + 2 * keys > psize) return { roots, bad: pgno };
    for (let i = 0; i < keys; i++) {
      const node = PAGE_HEADER + page.readUInt16LE(PAGE_HEADER + 2 * i);
      if (node + 8 > page.length) break;
      const lo = page.readUInt16LE(node);
      const hi = page.readUInt16LE(node + 2);
      const nodeFlags = page.readUInt16LE(node + 4);
      const ksize = page.readUInt16LE(node + 6);
      if (flags & P_BRANCH) todo.push(BigInt(lo) | (BigInt(hi) << 16n) | (BigInt(nodeFlags) << 32n));
      else if (flags & P_LEAF && nodeFlags & F_SUBDATA && node + 8 + ksize + 48 <= page.length) {
        const root = page.readBigUInt64LE(node + 8 + ksize + DB_ROOT_AT);
        if (root !== NO_PAGE) roots.push(root);
      }
    }
  }
  return { roots };
}
