// A daemon's data dir as the tests see it: data files under .s3d/objects/<xx>/<id>, temp files in
// .s3d/tmp, waiting for the deletion reaper (it deletes queued files ~5 s after a commit), and a
// full consistency check of a stopped daemon's files against its LMDB records.

import type { Test } from 'tap';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { MetaStore } from '../../daemon/meta/store.js';
import { pollUntil } from './wait.js';

/** Flips the bits of `mask` in the byte at `offset` of a file (simulated corruption on disk). */
export function flipByte(file: string, offset: number, mask = 0x01): void {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    b[0]! ^= mask;
    writeSync(fd, b, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

export function objectsDir(dataDir: string): string {
  return join(dataDir, '.s3d', 'objects');
}

export function tempDir(dataDir: string): string {
  return join(dataDir, '.s3d', 'tmp');
}

/** Every regular file under `dir`, recursively: absolute paths, or relative to `dir`. */
export function filesUnder(dir: string, opts: { relative?: boolean } = {}): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(opts.relative ? relative(dir, p) : p);
    }
  };
  walk(dir);
  return out;
}

/** Paths of every data file (.s3d/objects/<xx>/<id>). */
export function dataFilePaths(dataDir: string): string[] {
  const dir = objectsDir(dataDir);
  return readdirSync(dir).flatMap((sub) => readdirSync(join(dir, sub)).map((f) => join(dir, sub, f)));
}

/** Names of the files in .s3d/tmp (a finished or rejected upload leaves none). */
export function tempFiles(dataDir: string): string[] {
  return readdirSync(tempDir(dataDir));
}

export interface FileCounts {
  temp: number;
  data: number;
}

export function countFiles(dataDir: string): FileCounts {
  return { temp: tempFiles(dataDir).length, data: dataFilePaths(dataDir).length };
}

/**
 * Polls the file counts every 250 ms until `done` holds (the reaper deletes a commit's replaced
 * files after a ~5 s grace) or `timeoutMs` passed; returns the last counts.
 */
export function waitForFileCounts(dataDir: string, done: (c: FileCounts) => boolean, timeoutMs: number): Promise<FileCounts> {
  return pollUntil(() => countFiles(dataDir), done, timeoutMs, 250);
}

/** Asserts .s3d/tmp empties within 3 s (temp files of a failed upload are removed as it ends). */
export async function expectNoTempFiles(t: Test, dataDir: string, what: string): Promise<void> {
  await pollUntil(() => tempFiles(dataDir), (f) => f.length === 0, 3000, 20);
  t.strictSame(tempFiles(dataDir), [], `${what}: no temp file left`);
}

export interface DataDirState {
  /** Files in .s3d/tmp. */
  temp: string[];
  /** Data file ids under .s3d/objects. */
  data: string[];
  /** Ids LMDB records (objects and pending parts) point at. */
  referenced: Set<string>;
  /** Ids still in the deletion queue. */
  queued: string[];
  /** Data files no record points at. */
  orphans: string[];
  /** Referenced ids with no file. */
  missing: string[];
}

/** Inspects a stopped daemon's data dir (opens its LMDB read-mostly; never while it runs). */
export async function inspectDataDir(dataDir: string): Promise<DataDirState> {
  const temp = existsSync(tempDir(dataDir)) ? tempFiles(dataDir) : [];
  const data = existsSync(objectsDir(dataDir)) ? dataFilePaths(dataDir).map((p) => basename(p)) : [];
  const meta = new MetaStore(join(dataDir, '.s3d'));
  try {
    const referenced = meta.referencedFiles();
    const queued = meta.queuedFiles(100_000);
    const onDisk = new Set(data);
    return {
      temp,
      data,
      referenced,
      queued,
      orphans: data.filter((f) => !referenced.has(f)),
      missing: [...referenced].filter((f) => !onDisk.has(f)),
    };
  } finally {
    await meta.close();
  }
}

/** filesContaining's read buffer, kept for every call (they are synchronous). */
let searchBuffer = Buffer.alloc(0);

/**
 * Files under dir containing needle (read in chunks with overlap: LMDB files may be large). A file
 * deleted between the listing and its open (the reaper at work) contains nothing.
 */
export function filesContaining(dir: string, needle: Buffer): string[] {
  const hits: string[] = [];
  const CHUNK = 4 * 1024 * 1024;
  // (A new zeroed 4 MiB buffer per call cost sse-sealed-checksums ~0.25 s of CPU.)
  if (searchBuffer.length < CHUNK + needle.length) searchBuffer = Buffer.allocUnsafe(CHUNK + needle.length);
  const buf = searchBuffer;
  for (const f of filesUnder(dir)) {
    let fd: number;
    try {
      fd = openSync(f, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    try {
      let carry = 0;
      let pos = 0;
      for (;;) {
        const n = readSync(fd, buf, carry, CHUNK, pos);
        if (n === 0) break;
        pos += n;
        const view = buf.subarray(0, carry + n);
        if (view.indexOf(needle) >= 0) {
          hits.push(f);
          break;
        }
        carry = Math.min(needle.length - 1, view.length);
        view.copy(buf, 0, view.length - carry);
      }
    } finally {
      closeSync(fd);
    }
  }
  return hits;
}

/** Relative path → bytes of every file under `dir`. */
export function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (p: string): void => {
    for (const name of readdirSync(p)) {
      const full = join(p, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.set(relative(dir, full), readFileSync(full));
    }
  };
  walk(dir);
  return out;
}
