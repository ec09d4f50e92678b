// Which records name a data file: the object versions and multipart parts, as `s3d verify` names
// them (bucket/key version ID [part N], bucket/key upload ID part N). A diagnostic for failures
// (s3d backup, on a data file missing or of the wrong size): it reads every record once.

import type { Database } from 'lmdb';
import { SEP } from './keys.js';
import { storedFilesOf, type ObjectRecord, type PartRecord, type UploadRecord } from './records.js';
import { clientVersionId } from './versions.js';

export interface FileOwner {
  /** The data file id. */
  file: string;
  /** The length the record gives it. */
  stored: number;
  /** Undefined for a part of an upload whose record is gone (completed or aborted, its part records not yet removed). */
  bucket?: string;
  key?: string;
  versionId?: string;
  uploadId?: string;
  part?: number;
}

export interface OwnerTables {
  objects: Database<ObjectRecord, Buffer>;
  versions: Database<ObjectRecord, Buffer>;
  parts: Database<PartRecord, Buffer>;
  upload(id: string): UploadRecord | undefined;
}

/** `bucket NUL key [NUL …]` (objects and versions tables): bucket and key (keys hold no NUL). */
function nameOf(k: Buffer): { bucket: string; key: string } {
  const a = k.indexOf(SEP);
  const b = k.indexOf(SEP, a + 1);
  return { bucket: k.toString('utf8', 0, a), key: k.toString('utf8', a + 1, b === -1 ? k.length : b) };
}

export function recordsNaming(files: ReadonlySet<string>, tables: OwnerTables): FileOwner[] {
  const out: FileOwner[] = [];
  if (files.size === 0) return out;
  for (const table of [tables.objects, tables.versions]) {
    for (const { key, value } of table.getRange({})) {
      const parts = value.parts;
      for (const f of storedFilesOf(value)) {
        if (!files.has(f.file)) continue;
        const part = parts?.find((p) => 'file' in p.data && p.data.file === f.file)?.n;
        out.push({ ...f, ...nameOf(key), versionId: clientVersionId(value), ...(part !== undefined ? { part } : {}) });
      }
    }
  }
  const uploads = new Map<string, UploadRecord | undefined>();
  for (const { key, value } of tables.parts.getRange({})) {
    const [f] = storedFilesOf({ parts: [value] });
    if (f === undefined || !files.has(f.file)) continue;
    // `uploadId NUL n` (keys.ts partKey).
    const uploadId = key.toString('utf8', 0, key.length - 5);
    if (!uploads.has(uploadId)) uploads.set(uploadId, tables.upload(uploadId));
    const u = uploads.get(uploadId);
    out.push({ ...f, ...(u !== undefined ? { bucket: u.bucket, key: u.key } : {}), uploadId, part: value.n });
  }
  return out;
}

/** As s3d verify's PROBLEM lines name it: `bucket/key version ID [part N]`, `bucket/key upload ID part N`. */
export function describeOwner(o: FileOwner): string {
  if (o.uploadId === undefined) return `${o.bucket}/${o.key} version ${o.versionId}${o.part !== undefined ? ` part ${o.part}` : ''}`;
  if (o.bucket === undefined) return `upload ${o.uploadId} part ${o.part} (completed or aborted; its part record not yet removed)`;
  return `${o.bucket}/${o.key} upload ${o.uploadId} part ${o.part}`;
}
